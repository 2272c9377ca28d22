/* PostgreSQL backend: adoptions of cases by other organisations, and the counts they drive. */
#include "storage/postgres/pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The adoption record of the row aliased `a`, as JSON text (laid out by hand, see cases.c). */
/* clang-format off */
#define ADOPTION_RECORD                                                                            \
    "jsonb_build_object('id', a.id, 'case_id', a.case_id, 'organisation_code',"                    \
    " a.organisation_code, 'status', a.status,"                                                    \
    " 'started_on', to_char(a.started_on::timestamp, 'YYYY-MM-DD'), 'notes', a.notes,"             \
    " 'version', a.version,"                                                                       \
    " 'created_at', " PG_ISO_UTC("a.created_at") ","                                               \
    " 'updated_at', " PG_ISO_UTC("a.updated_at") ")::text"
/* clang-format on */

static const char GET_SQL[] = "SELECT " ADOPTION_RECORD " FROM adoptions a WHERE a.id = $1::text";

/* No row: the case is absent; one row with a NULL record: no adoptions in range. */
static const char LIST_SQL[] =
    "SELECT a.record FROM cases c LEFT JOIN LATERAL (SELECT a.id, " ADOPTION_RECORD " AS record"
    " FROM adoptions a WHERE a.case_id = c.id AND ($2::text IS NULL OR a.id > $2::text)"
    " ORDER BY a.id LIMIT $3::bigint) a ON true WHERE c.id = $1::text ORDER BY a.id";

/* Every adoption write takes the case row's lock first, as the case writes do, so that the
 * recomputed counts see every committed adoption and writers never deadlock. */
static const char LOCK_CASE_SQL[] = "SELECT 1 FROM cases WHERE id = $1::text FOR UPDATE";

/* The same for an adoption named by its id: locks its case, returns the case id. */
static const char LOCK_CASE_OF_SQL[] =
    "SELECT c.id FROM cases c WHERE c.id = (SELECT case_id FROM adoptions WHERE id = $1::text)"
    " FOR UPDATE";

static const char LOCK_SQL[] = "SELECT version FROM adoptions WHERE id = $1::text FOR UPDATE";

/* $1 id, $2 case, $3 organisation, $4 status, $5 started_on, $6 notes. No row: the
 * organisation does not exist. */
static const char CREATE_SQL[] =
    "INSERT INTO adoptions AS a (id, case_id, organisation_code, status, started_on, notes)"
    " SELECT $1::text, $2::text, $3::text, $4::text, $5::date, $6::text"
    " WHERE EXISTS (SELECT 1 FROM organisations WHERE code = $3::text)"
    " RETURNING " ADOPTION_RECORD;

/* $1 id, $2 status, $3 started_on, $4 notes. */
static const char UPDATE_SQL[] =
    "UPDATE adoptions a SET status = $2::text, started_on = $3::date, notes = $4::text,"
    " version = version + 1, updated_at = date_trunc('milliseconds', now())"
    " WHERE a.id = $1::text RETURNING " ADOPTION_RECORD;

static const char DELETE_SQL[] = "DELETE FROM adoptions WHERE id = $1::text RETURNING version";

/* The fields an adoption write takes, borrowed from the input object. */
struct adoption_fields {
    const char *organisation_code, *status, *started_on, *notes;
};

/* Reads `a`; organisation_code is required only when `need_org`. started_on and notes may be
 * absent or null. COI_EINVALID (with the field) for a missing or mistyped field. */
static int adoption_fields_read(struct adoption_fields *out, const json_t *a, int need_org)
{
    static const char *const optional[] = {"started_on", "notes"};

    out->organisation_code = json_string_value(json_object_get(a, "organisation_code"));
    out->status = json_string_value(json_object_get(a, "status"));
    out->started_on = json_string_value(json_object_get(a, "started_on"));
    out->notes = json_string_value(json_object_get(a, "notes"));
    if (need_org && out->organisation_code == NULL)
        return coi_error_set(COI_EINVALID, "organisation_code", "organisation_code is required");
    if (out->status == NULL)
        return coi_error_set(COI_EINVALID, "status", "status is required");
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) {
        const json_t *v = json_object_get(a, optional[i]);
        if (v != NULL && !json_is_null(v) && !json_is_string(v))
            return coi_error_set(COI_EINVALID, optional[i], "%s must be a string or null",
                                 optional[i]);
    }
    return COI_OK;
}

/* Runs an adoption write; on success *out holds the result (caller PQclears). A refused write
 * becomes an error naming the field concerned. */
static int adoption_exec(PGresult **out, PGconn *conn, const char *sql, int nparams,
                         const char *const *params, const struct adoption_fields *f)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    const char *state, *constraint;
    int rc;

    *out = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK) {
        *out = res;
        return COI_OK;
    }
    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (constraint == NULL)
        constraint = "";
    /* A data exception here is a started_on the calendar lacks (2023-02-30): a client's
     * mistake, so it is answered without an error log line. */
    if (PQstatus(conn) == CONNECTION_OK && state != NULL && strncmp(state, "22", 2) == 0)
        rc = coi_error_set(COI_EINVALID, "started_on", "started_on is not a valid date");
    else if ((rc = pg_error(conn, res)) == COI_EEXISTS)
        rc = coi_error_set(rc, "organisation_code", "organisation %s already adopts this case",
                           f->organisation_code != NULL ? f->organisation_code : "");
    else if (rc == COI_EINVALID && strstr(constraint, "status") != NULL)
        rc = coi_error_set(rc, "status", "no such adoption status: %s", f->status);
    else if (rc == COI_EINVALID && strstr(constraint, "organisation_code") != NULL)
        rc = coi_error_set(rc, "organisation_code", "no such organisation");
    PQclear(res);
    return rc;
}

/* Runs a one-row lookup `sql` with one parameter; COI_ENOTFOUND (detail `missing`) when it
 * returns no row. On success *out holds the result (caller PQclears). */
static int lookup(PGresult **out, PGconn *conn, const char *sql, const char *param,
                  const char *missing)
{
    const char *params[1] = {param};
    int rc = pg_query(out, conn, sql, 1, params);

    if (rc == COI_OK && PQntuples(*out) == 0) {
        PQclear(*out);
        *out = NULL;
        rc = coi_error_set(COI_ENOTFOUND, NULL, "%s", missing);
    }
    return rc;
}

/* Opens the transaction of a write to adoption `id`: locks its case (copied into
 * `case_id`), then the adoption, and checks the adoption's version (-1: any). */
static int adoption_lock(PGconn *conn, const char *id, int64_t expected_version, char case_id[64])
{
    PGresult *res = NULL;
    int rc;

    if ((rc = pg_exec(conn, "BEGIN")) != COI_OK ||
        (rc = lookup(&res, conn, LOCK_CASE_OF_SQL, id, "no such adoption")) != COI_OK)
        return rc;
    snprintf(case_id, 64, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if ((rc = lookup(&res, conn, LOCK_SQL, id, "no such adoption")) != COI_OK)
        return rc;
    if (expected_version != -1 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) != expected_version)
        rc = coi_error_set(COI_ECONFLICT, NULL, "adoption %s is at version %s, not %" PRId64, id,
                           PQgetvalue(res, 0, 0), expected_version);
    PQclear(res);
    return rc;
}

/* Ends a write of adoption `id` (`action` as the change feed has it; `version` after the
 * write, or for a delete the last): on success recomputes the case's counts and commits with
 * the change row (pg_commit_adoption_change); otherwise rolls back and drops *out (when not
 * NULL). Gives the connection back; returns the final code. */
static int adoption_write_end(struct pg_storage *pg, PGconn *conn, const char *case_id, int rc,
                              json_t **out, const char *id, const char *action, const char *version)
{
    if (rc == COI_OK && conn != NULL)
        rc = pg_commit_adoption_change(conn, id, case_id, action, version);
    if (rc != COI_OK && out != NULL) {
        json_decref(*out);
        *out = NULL;
    }
    if (conn != NULL) {
        pg_rollback(conn);
        pg_release(pg, conn);
    }
    return rc;
}

/* The "version" of a record, as text into buf ("" when there is none). */
static const char *version_text(const json_t *record, char buf[24])
{
    const json_t *v = json_object_get(record, "version");
    snprintf(buf, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return json_is_integer(v) ? buf : "";
}

int pg_adoption_create(struct coi_storage *s, json_t **out, const char *case_id, const json_t *a)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    struct adoption_fields f;
    const char *params[6];
    char id[37], version[24];
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = adoption_fields_read(&f, a, 1)) != COI_OK)
        return rc;
    storage_new_id(id);
    params[0] = id;
    params[1] = case_id;
    params[2] = f.organisation_code;
    params[3] = f.status;
    params[4] = f.started_on;
    params[5] = f.notes;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_exec(conn, "BEGIN")) != COI_OK ||
        (rc = lookup(&res, conn, LOCK_CASE_SQL, case_id, "no such case")) != COI_OK)
        goto out;
    PQclear(res);
    res = NULL;
    if ((rc = adoption_exec(&res, conn, CREATE_SQL, 6, params, &f)) != COI_OK)
        goto out;
    if (PQntuples(res) == 0)
        rc = coi_error_set(COI_EINVALID, "organisation_code", "no organisation with code %s",
                           f.organisation_code);
    else
        rc = pg_json_value(out, res, 0, 0);
out:
    PQclear(res);
    return adoption_write_end(pg, conn, case_id, rc, out, id, "created",
                              version_text(*out, version));
}

/* Replaces status, started_on and notes (absent: null). organisation_code in `a` is ignored:
 * an adoption stays the (case, organisation) pair it was made as. */
int pg_adoption_update(struct coi_storage *s, json_t **out, const char *id, const json_t *a,
                       int64_t expected_version)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    struct adoption_fields f;
    const char *params[4];
    char case_id[64] = "", version[24];
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = adoption_fields_read(&f, a, 0)) != COI_OK)
        return rc;
    params[0] = id;
    params[1] = f.status;
    params[2] = f.started_on;
    params[3] = f.notes;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = adoption_lock(conn, id, expected_version, case_id)) != COI_OK ||
        (rc = adoption_exec(&res, conn, UPDATE_SQL, 4, params, &f)) != COI_OK)
        goto out;
    rc = pg_json_value(out, res, 0, 0); /* the row is locked: the update found it */
out:
    PQclear(res);
    return adoption_write_end(pg, conn, case_id, rc, out, id, "updated",
                              version_text(*out, version));
}

int pg_adoption_delete(struct coi_storage *s, const char *id, int64_t expected_version)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    const char *params[1] = {id};
    char case_id[64] = "", version[24] = "";
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = adoption_lock(conn, id, expected_version, case_id)) == COI_OK &&
        (rc = pg_query(&res, conn, DELETE_SQL, 1, params)) == COI_OK)
        snprintf(version, sizeof version, "%s", PQgetvalue(res, 0, 0)); /* locked: it was there */
    PQclear(res);
    return adoption_write_end(pg, conn, case_id, rc, NULL, id, "deleted", version);
}

int pg_adoption_get(struct coi_storage *s, json_t **out, const char *id)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = lookup(&res, conn, GET_SQL, id, "no such adoption")) == COI_OK)
        rc = pg_json_value(out, res, 0, 0);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

int pg_adoption_list(struct coi_storage *s, json_t **out, const char *case_id, const char *after_id,
                     int limit)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    char count[24];
    const char *params[3] = {case_id, after_id, limit > 0 ? count : NULL};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    snprintf(count, sizeof count, "%d", limit);
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_query(&res, conn, LIST_SQL, 3, params)) == COI_OK)
        rc = PQntuples(res) == 0 ? coi_error_set(COI_ENOTFOUND, NULL, "no such case")
                                 : pg_json_rows(out, res);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}
