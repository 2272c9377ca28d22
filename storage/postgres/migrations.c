/* PostgreSQL backend: schema migrations (SQL files and CSV seeds) recorded in schema_migrations. */
#include "storage/postgres/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every migrating transaction takes this advisory lock ("coi-migr" as a 64-bit integer), so
 * instances starting together apply each step once and read a consistent list. */
#define LOCK_SQL "SELECT pg_advisory_xact_lock(7165061175999817586)"

#define CREATE_TABLE_SQL                                                                           \
    "CREATE TABLE IF NOT EXISTS schema_migrations ("                                               \
    " number integer PRIMARY KEY,"                                                                 \
    " name text NOT NULL,"                                                                         \
    " checksum text NOT NULL,"                                                                     \
    " applied_at timestamptz NOT NULL DEFAULT now())"

#define TABLE_EXISTS_SQL "SELECT to_regclass('schema_migrations') IS NOT NULL"

/* Columns of an applied row, in this order: number, checksum, applied_at. */
#define APPLIED_SQL "SELECT number, checksum, " PG_ISO_UTC("applied_at") " FROM schema_migrations"

#define APPLIED_ONE_SQL APPLIED_SQL " WHERE number = $1::integer"
#define APPLIED_ALL_SQL APPLIED_SQL " ORDER BY number"

#define RECORD_SQL                                                                                 \
    "INSERT INTO schema_migrations (number, name, checksum) VALUES ($1::integer, $2, $3)"          \
    " RETURNING " PG_ISO_UTC("applied_at")

/* Re-sets the current error as a failure of step `m`, with the server's message for the
 * operator (the text comes from our own migration files, not from clients). A lost database
 * stays COI_EUNAVAILABLE; everything else becomes COI_EMIGRATION. */
static int step_error(PGconn *conn, PGresult *res, const struct coi_migration *m, const char *where)
{
    int rc = pg_error(conn, res);
    const char *msg = pg_error_message(conn, res);
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    return coi_error_set(rc == COI_EUNAVAILABLE ? rc : COI_EMIGRATION, NULL,
                         "migration %s failed%s: %.*s (%s)", m->name, where,
                         (int)strcspn(msg, "\n"), msg, state != NULL ? state : "no SQLSTATE");
}

/* Re-sets the current error (from a pg_* helper) as a failure of step `m`. */
static int step_wrap(int rc, const struct coi_migration *m)
{
    char why[256]; /* coi_error_set must not read the buffer it writes */
    snprintf(why, sizeof why, "%s", coi_error_detail());
    return coi_error_set(rc == COI_EUNAVAILABLE || rc == COI_ENOMEM ? rc : COI_EMIGRATION, NULL,
                         "migration %s failed: %s", m->name, why);
}

/* Row index of step `number` in `applied` (which may be NULL: nothing applied), or -1. */
static int find_applied(const PGresult *applied, int number)
{
    for (int i = 0; applied != NULL && i < PQntuples(applied); i++)
        if (atoi(PQgetvalue(applied, i, 0)) == number)
            return i;
    return -1;
}

static const struct coi_migration *find_step(const struct coi_migration *steps, size_t n,
                                             int number)
{
    for (size_t i = 0; i < n; i++)
        if (steps[i].number == number)
            return &steps[i];
    return NULL;
}

/* COI_EMIGRATION when the database holds a step this build lacks or one whose file changed. */
static int verify_applied(const PGresult *applied, const struct coi_migration *steps, size_t n)
{
    for (int i = 0; applied != NULL && i < PQntuples(applied); i++) {
        int number = atoi(PQgetvalue(applied, i, 0));
        const struct coi_migration *m = find_step(steps, n, number);
        if (m == NULL)
            return coi_error_set(COI_EMIGRATION, NULL,
                                 "database has migration %04d that this build does not know",
                                 number);
        if (strcmp(m->checksum, PQgetvalue(applied, i, 1)) != 0)
            return coi_error_set(COI_EMIGRATION, NULL,
                                 "migration %s has changed since it was applied", m->name);
    }
    return COI_OK;
}

/* Opens a migration transaction holding the lock. Migrations may legitimately run longer than
 * the service's statement_timeout (index builds, or waiting for another instance's step), so
 * the timeout is lifted for this transaction only. */
static int begin_locked(PGconn *conn, int read_only)
{
    int rc;
    if ((rc = pg_exec(conn, read_only ? "BEGIN READ ONLY" : "BEGIN")) != COI_OK ||
        (rc = pg_exec(conn, "SET LOCAL statement_timeout = 0")) != COI_OK)
        return rc;
    return pg_exec(conn, LOCK_SQL);
}

/* Reads the applied steps under the lock (creating the table first when `create`). *out is
 * NULL when the table does not exist yet; otherwise the caller PQclears it. */
static int read_applied(PGresult **out, PGconn *conn, int create)
{
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = begin_locked(conn, !create)) != COI_OK)
        goto out;
    if (create) {
        if ((rc = pg_exec(conn, CREATE_TABLE_SQL)) != COI_OK)
            goto out;
    } else {
        if ((rc = pg_query(&res, conn, TABLE_EXISTS_SQL, 0, NULL)) != COI_OK)
            goto out;
        if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
            rc = pg_exec(conn, "COMMIT");
            goto out;
        }
        PQclear(res);
        res = NULL;
    }
    if ((rc = pg_query(&res, conn, APPLIED_ALL_SQL, 0, NULL)) != COI_OK ||
        (rc = pg_exec(conn, "COMMIT")) != COI_OK)
        goto out;
    *out = res;
    res = NULL;
out:
    PQclear(res);
    return rc;
}

/* Appends `name` to `f` as a quoted identifier. */
static int put_identifier(FILE *f, PGconn *conn, const struct coi_migration *m, const char *name)
{
    char *ident = PQescapeIdentifier(conn, name, strlen(name));
    if (ident == NULL)
        return coi_error_set(COI_EMIGRATION, NULL, "migration %s: cannot quote a name: %.*s",
                             m->name, (int)strcspn(PQerrorMessage(conn), "\n"),
                             PQerrorMessage(conn));
    fputs(ident, f);
    PQfreemem(ident);
    return COI_OK;
}

/* The INSERT for a seed: quoted table and column names from our own files, values as
 * parameters. On success *out is malloc'd (caller frees). */
static int build_insert(char **out, PGconn *conn, const struct coi_migration *m,
                        const json_t *header)
{
    char *sql = NULL;
    size_t len = 0, ncols = json_array_size(header);
    FILE *f = open_memstream(&sql, &len);
    int rc;

    *out = NULL;
    if (f == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    fputs("INSERT INTO ", f);
    if ((rc = put_identifier(f, conn, m, m->csv_table)) != COI_OK)
        goto out;
    fputs(" (", f);
    for (size_t c = 0; c < ncols; c++) {
        const char *name = json_string_value(json_array_get(header, c));
        if (name == NULL || name[0] == '\0') {
            rc = coi_error_set(COI_EMIGRATION, NULL, "migration %s: column %zu has no name",
                               m->name, c + 1);
            goto out;
        }
        fputs(c > 0 ? ", " : "", f);
        if ((rc = put_identifier(f, conn, m, name)) != COI_OK)
            goto out;
    }
    fputs(") VALUES (", f);
    for (size_t c = 0; c < ncols; c++)
        fprintf(f, "%s$%zu", c > 0 ? ", " : "", c + 1);
    fputs(")", f);
out:
    if (fclose(f) != 0 && rc == COI_OK)
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if (rc == COI_OK)
        *out = sql;
    else
        free(sql);
    return rc;
}

/* Inserts the rows of CSV step `m` (row 0 names the columns; NULL fields become SQL NULL)
 * into m->csv_table, inside the caller's transaction. */
static int apply_csv(PGconn *conn, const struct coi_migration *m)
{
    json_t *rows = NULL;
    char *sql = NULL;
    const char **values = NULL;
    PGresult *res = NULL;
    size_t ncols;
    int rc;

    if (m->csv_table == NULL || m->csv_table[0] == '\0')
        return coi_error_set(COI_EMIGRATION, NULL,
                             "migration %s names no table (expected NNNN_seed_<table>.csv)",
                             m->name);
    if ((rc = storage_csv_parse(&rows, m->text, m->length)) != COI_OK) {
        rc = step_wrap(rc, m);
        goto out;
    }
    ncols = json_array_size(json_array_get(rows, 0));
    if (ncols == 0 || ncols > 1000) {
        rc = coi_error_set(COI_EMIGRATION, NULL, "migration %s needs 1 to 1000 column names",
                           m->name);
        goto out;
    }
    if ((rc = build_insert(&sql, conn, m, json_array_get(rows, 0))) != COI_OK)
        goto out;
    if ((values = calloc(ncols, sizeof *values)) == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    res = PQprepare(conn, "", sql, (int)ncols, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = step_error(conn, res, m, "");
        goto out;
    }
    for (size_t r = 1; r < json_array_size(rows); r++) {
        const json_t *row = json_array_get(rows, r);
        for (size_t c = 0; c < ncols; c++)
            values[c] = json_string_value(json_array_get(row, c)); /* NULL for null */
        PQclear(res);
        res = PQexecPrepared(conn, "", (int)ncols, values, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            char where[48];
            snprintf(where, sizeof where, " at CSV record %zu", r + 1);
            rc = step_error(conn, res, m, where);
            goto out;
        }
    }
out:
    PQclear(res);
    free(values);
    free(sql);
    json_decref(rows);
    return rc;
}

/* Applies step `m` in its own transaction, unless another instance did meanwhile (then its
 * checksum is verified). *applied_now says which; `applied_at` receives the recorded time.
 * On failure the transaction is left for the caller to roll back. */
static int apply_step(int *applied_now, char applied_at[40], PGconn *conn,
                      const struct coi_migration *m)
{
    char number[16];
    const char *params[3] = {number, m->name, m->checksum};
    PGresult *res = NULL;
    int rc;

    *applied_now = 0;
    snprintf(number, sizeof number, "%d", m->number);
    if ((rc = begin_locked(conn, 0)) != COI_OK ||
        (rc = pg_query(&res, conn, APPLIED_ONE_SQL, 1, params)) != COI_OK) {
        rc = step_wrap(rc, m);
        goto out;
    }
    if (PQntuples(res) == 1) {
        if (strcmp(PQgetvalue(res, 0, 1), m->checksum) != 0) {
            rc = coi_error_set(COI_EMIGRATION, NULL,
                               "migration %s has changed since it was applied", m->name);
            goto out;
        }
        snprintf(applied_at, 40, "%s", PQgetvalue(res, 0, 2));
        if ((rc = pg_exec(conn, "COMMIT")) != COI_OK)
            rc = step_wrap(rc, m);
        goto out;
    }
    PQclear(res);
    res = NULL;
    if (m->is_csv) {
        if ((rc = apply_csv(conn, m)) != COI_OK)
            goto out;
    } else {
        res = PQexec(conn, m->text); /* a file may hold several statements */
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = step_error(conn, res, m, "");
            goto out;
        }
        PQclear(res);
        res = NULL;
    }
    res = PQexecParams(conn, RECORD_SQL, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = step_error(conn, res, m, " while recording it");
        goto out;
    }
    snprintf(applied_at, 40, "%s", PQgetvalue(res, 0, 0));
    if ((rc = pg_exec(conn, "COMMIT")) != COI_OK) {
        rc = step_wrap(rc, m);
        goto out;
    }
    *applied_now = 1;
out:
    PQclear(res);
    return rc;
}

/* The storage callback. On success `out` (when non-NULL) holds one entry per step and the
 * caller frees it with storage_migration_report_free; on failure it is left empty. */
int pg_migrate(struct coi_storage *s, struct coi_migration_report *out,
               const struct coi_migration *steps, size_t n, enum coi_migrate_mode mode)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    struct coi_migration_report report = {0, NULL};
    PGconn *conn = NULL;
    PGresult *applied = NULL;
    int rc;

    if (out != NULL) {
        out->count = 0;
        out->steps = NULL;
    }
    if (mode != COI_MIGRATE_APPLY && mode != COI_MIGRATE_VERIFY)
        return coi_error_set(COI_EINVALID, NULL, "unknown migration mode %d", (int)mode);
    if (n > 0 && (report.steps = calloc(n, sizeof *report.steps)) == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    report.count = n;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        goto out;
    if ((rc = read_applied(&applied, conn, mode == COI_MIGRATE_APPLY)) != COI_OK ||
        (rc = verify_applied(applied, steps, n)) != COI_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct coi_migration *m = &steps[i];
        int row = find_applied(applied, m->number);
        report.steps[i].number = m->number;
        snprintf(report.steps[i].name, sizeof report.steps[i].name, "%s", m->name);
        if (row >= 0) {
            report.steps[i].applied = 1;
            snprintf(report.steps[i].applied_at, sizeof report.steps[i].applied_at, "%s",
                     PQgetvalue(applied, row, 2));
        } else if (mode == COI_MIGRATE_APPLY) {
            rc = apply_step(&report.steps[i].applied_now, report.steps[i].applied_at, conn, m);
            if (rc != COI_OK)
                goto out;
            report.steps[i].applied = 1;
        }
    }
    if (out != NULL) {
        *out = report;
        report.steps = NULL;
    }
out:
    if (conn != NULL) {
        if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
            PQclear(PQexec(conn, "ROLLBACK"));
        pg_release(pg, conn);
    }
    PQclear(applied);
    free(report.steps);
    return rc;
}
