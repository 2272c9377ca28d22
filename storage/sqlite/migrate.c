/* SQLite schema migrations: checks the steps recorded in schema_migrations, applies the rest. */
#include "storage/sqlite/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char CREATE_SCHEMA_MIGRATIONS[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " number INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"
    " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))";

static const struct coi_migration *find_step(const struct coi_migration *steps, size_t n,
                                             int number, size_t *index)
{
    for (size_t i = 0; i < n; i++)
        if (steps[i].number == number) {
            *index = i;
            return &steps[i];
        }
    return NULL;
}

/* Sets *out to 1 when schema_migrations exists (VERIFY must not create it). */
static int schema_table_exists(sqlite3 *db, int *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt,
                            "SELECT 1 FROM sqlite_master"
                            " WHERE type = 'table' AND name = 'schema_migrations'");
    if (rc != COI_OK)
        return rc;
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW || step == SQLITE_DONE) {
        *out = step == SQLITE_ROW;
        rc = COI_OK;
    } else {
        rc = sqlite_fail(db, step, NULL, "cannot read the schema");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Checks every recorded step against `steps` and marks it applied in `r` (one entry per
 * step). COI_EMIGRATION when a recorded step is unknown or its checksum differs. */
static int verify_recorded(sqlite3 *db, const struct coi_migration *steps, size_t n,
                           struct coi_migration_report *r)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt,
                            "SELECT number, checksum, applied_at FROM schema_migrations"
                            " ORDER BY number");
    if (rc != COI_OK)
        return rc;
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        int number = sqlite3_column_int(stmt, 0);
        const char *checksum = (const char *)sqlite3_column_text(stmt, 1);
        const char *applied_at = (const char *)sqlite3_column_text(stmt, 2);
        size_t i;
        const struct coi_migration *m = find_step(steps, n, number, &i);
        if (m == NULL) {
            rc = coi_error_set(COI_EMIGRATION, NULL,
                               "database has migration %04d that this build does not know", number);
            goto out;
        }
        if (checksum == NULL || strcmp(checksum, m->checksum) != 0) {
            rc = coi_error_set(COI_EMIGRATION, NULL,
                               "migration %s has changed since it was applied", m->name);
            goto out;
        }
        r->steps[i].applied = 1;
        snprintf(r->steps[i].applied_at, sizeof r->steps[i].applied_at, "%s",
                 applied_at != NULL ? applied_at : "");
    }
    if (step != SQLITE_DONE)
        rc = sqlite_fail(db, step, NULL, "cannot read schema_migrations");
out:
    sqlite3_finalize(stmt);
    return rc;
}

/* Builds INSERT INTO "<table>" ("<col>", ...) VALUES (?1, ...) from the seed's header row.
 * The names come from files embedded at build time; they are quoted as identifiers all the
 * same (%w doubles any "). On success *out is sqlite3_malloc'd (free with sqlite3_free). */
static int csv_insert_sql(char **out, sqlite3 *db, const struct coi_migration *m,
                          const json_t *header)
{
    sqlite3_str *sql = sqlite3_str_new(db);
    *out = NULL;
    sqlite3_str_appendf(sql, "INSERT INTO \"%w\" (", m->csv_table);
    for (size_t i = 0; i < json_array_size(header); i++) {
        const char *column = json_string_value(json_array_get(header, i));
        if (column == NULL || column[0] == '\0') {
            sqlite3_free(sqlite3_str_finish(sql));
            return coi_error_set(COI_EMIGRATION, NULL, "migration %s: column %zu has no name",
                                 m->name, i + 1);
        }
        sqlite3_str_appendf(sql, "%s\"%w\"", i > 0 ? ", " : "", column);
    }
    sqlite3_str_appendall(sql, ") VALUES (");
    for (size_t i = 0; i < json_array_size(header); i++)
        sqlite3_str_appendf(sql, "%s?%d", i > 0 ? ", " : "", (int)i + 1);
    sqlite3_str_appendall(sql, ")");
    if (sqlite3_str_errcode(sql) != SQLITE_OK) {
        sqlite3_free(sqlite3_str_finish(sql));
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    }
    *out = sqlite3_str_finish(sql);
    return COI_OK;
}

/* Inserts the rows of CSV step `m` into m->csv_table with one prepared statement reused per
 * row; empty fields become NULL. COI_EMIGRATION naming the file on failure. */
static int apply_csv(sqlite3 *db, const struct coi_migration *m)
{
    json_t *rows = NULL;
    char *sql = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (m->csv_table == NULL || m->csv_table[0] == '\0')
        return coi_error_set(COI_EMIGRATION, NULL,
                             "migration %s: a seed must be named NNNN_seed_<table>.csv", m->name);
    if (storage_csv_parse(&rows, m->text, m->length) != COI_OK) {
        char why[256]; /* the detail is rewritten below: copy it out first */
        snprintf(why, sizeof why, "%s", coi_error_detail());
        return coi_error_set(COI_EMIGRATION, NULL, "migration %s: %s", m->name, why);
    }
    const json_t *header = json_array_get(rows, 0);
    if (json_array_size(header) == 0) {
        rc = coi_error_set(COI_EMIGRATION, NULL, "migration %s has no header row", m->name);
        goto out;
    }
    if ((rc = csv_insert_sql(&sql, db, m, header)) != COI_OK)
        goto out;
    int prep = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (prep != SQLITE_OK) {
        rc = coi_error_set(COI_EMIGRATION, NULL, "migration %s failed: %s", m->name,
                           sqlite3_errmsg(db));
        goto out;
    }
    for (size_t r = 1; r < json_array_size(rows); r++) {
        const json_t *row = json_array_get(rows, r);
        int step = SQLITE_OK;
        for (size_t c = 0; c < json_array_size(row) && step == SQLITE_OK; c++)
            step = sqlite3_bind_text(stmt, (int)c + 1, json_string_value(json_array_get(row, c)),
                                     -1, SQLITE_STATIC);
        if (step == SQLITE_OK)
            step = sqlite3_step(stmt);
        if (step != SQLITE_DONE) {
            rc = coi_error_set(COI_EMIGRATION, NULL, "migration %s failed at row %zu: %s", m->name,
                               r + 1, sqlite3_errmsg(db));
            goto out;
        }
        sqlite3_reset(stmt);
    }
    rc = COI_OK;
out:
    sqlite3_finalize(stmt);
    sqlite3_free(sql);
    json_decref(rows);
    return rc;
}

/* Applies step `m` and records it, in one transaction; on success marks report entry `e`
 * applied (applied_now unless another process recorded the step meanwhile, in which case only
 * its checksum is checked). COI_EMIGRATION naming the file on failure, all rolled back. */
static int apply_step(sqlite3 *db, const struct coi_migration *m, struct coi_migration_report *r,
                      size_t e)
{
    sqlite3_stmt *stmt = NULL;
    char *msg = NULL, applied_at[sizeof r->steps[e].applied_at] = "";
    int rc, step, now = 0;

    if ((rc = sqlite_begin(db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt,
                             "SELECT checksum, applied_at FROM schema_migrations"
                             " WHERE number = ?1")) != COI_OK)
        goto out;
    sqlite3_bind_int(stmt, 1, m->number);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (strcmp((const char *)sqlite3_column_text(stmt, 0), m->checksum) != 0)
            rc = coi_error_set(COI_EMIGRATION, NULL,
                               "migration %s has changed since it was applied", m->name);
        snprintf(applied_at, sizeof applied_at, "%s", (const char *)sqlite3_column_text(stmt, 1));
        goto out;
    }
    if (step != SQLITE_DONE) {
        rc = sqlite_fail(db, step, NULL, "cannot read schema_migrations");
        goto out;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;

    if (m->is_csv) {
        if ((rc = apply_csv(db, m)) != COI_OK)
            goto out;
    } else if (sqlite3_exec(db, m->text, NULL, NULL, &msg) != SQLITE_OK) {
        rc = coi_error_set(COI_EMIGRATION, NULL, "migration %s failed: %s", m->name,
                           msg != NULL ? msg : sqlite3_errmsg(db));
        goto out;
    }
    if ((rc = sqlite_prepare(db, &stmt,
                             "INSERT INTO schema_migrations (number, name, checksum)"
                             " VALUES (?1, ?2, ?3) RETURNING applied_at")) != COI_OK)
        goto out;
    sqlite3_bind_int(stmt, 1, m->number);
    sqlite3_bind_text(stmt, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, m->checksum, -1, SQLITE_STATIC);
    if ((step = sqlite3_step(stmt)) != SQLITE_ROW) {
        rc = sqlite_fail(db, step, NULL, "cannot record the migration");
        goto out;
    }
    snprintf(applied_at, sizeof applied_at, "%s", (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    stmt = NULL;
    if ((rc = sqlite_commit(db)) != COI_OK)
        goto out;
    now = 1;
out:
    sqlite3_finalize(stmt);
    sqlite3_free(msg);
    sqlite_rollback(db);
    if (rc == COI_OK) {
        r->steps[e].applied = 1;
        r->steps[e].applied_now = now;
        snprintf(r->steps[e].applied_at, sizeof r->steps[e].applied_at, "%s", applied_at);
    } else if (rc != COI_EMIGRATION) {
        /* A database error around the step's own SQL: keep its text, name the file. */
        char why[256];
        snprintf(why, sizeof why, "%s", coi_error_detail());
        rc = coi_error_set(COI_EMIGRATION, NULL, "migration %s failed: %s", m->name, why);
    }
    return rc;
}

int sqlite_migrate(struct coi_storage *s, struct coi_migration_report *out,
                   const struct coi_migration *steps, size_t n, enum coi_migrate_mode mode)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct coi_migration_report r = {.count = n, .steps = calloc(n > 0 ? n : 1, sizeof *r.steps)};
    sqlite3 *db = NULL;
    int rc, exists = 0;

    if (out != NULL)
        *out = (struct coi_migration_report){0};
    if (r.steps == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        r.steps[i].number = steps[i].number;
        snprintf(r.steps[i].name, sizeof r.steps[i].name, "%s", steps[i].name);
    }
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK)
        goto out;
    if (mode == COI_MIGRATE_APPLY) {
        int ex = sqlite3_exec(db, CREATE_SCHEMA_MIGRATIONS, NULL, NULL, NULL);
        if (ex != SQLITE_OK) {
            rc = sqlite_fail(db, ex, NULL, "cannot create schema_migrations");
            goto out;
        }
        exists = 1;
    } else if ((rc = schema_table_exists(db, &exists)) != COI_OK) {
        goto out;
    }
    if (exists && (rc = verify_recorded(db, steps, n, &r)) != COI_OK)
        goto out;
    if (mode == COI_MIGRATE_APPLY)
        for (size_t i = 0; i < n; i++)
            if (!r.steps[i].applied && (rc = apply_step(db, &steps[i], &r, i)) != COI_OK)
                goto out;
out:
    sqlite_conn_release(st, db);
    if (out != NULL)
        *out = r;
    else
        free(r.steps);
    return rc;
}
