/* PostgreSQL backend: cases (get, history, transition) and derived data; create and update
 * are in case_writes.c, the list, count and facets in case_search.c. */
#include "storage/postgres/pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The case record (pg_internal.h) as JSON text. */
#define CASE_RECORD PG_CASE_OBJECT "::text"

/* Recomputes the derived columns of case $1 from its lead, partners and adoptions, inside a
 * write that locked the case (an adoption's: pg_commit_adoption_change). No row: no case. */
/* clang-format off */
const char pg_case_recompute_sql[] =
    "UPDATE cases c SET government_levels = d.government_levels,"
    " adoption_count = d.adoption_count, regions_reached = d.regions_reached"
    " FROM (" PG_DERIVED("SELECT k.id AS key, x.code, false AS adopter"
                         " FROM cases k, unnest(" PG_CASE_ORGS("k") ") AS x(code)"
                         " WHERE k.id = $1::text UNION ALL SELECT a.case_id, a.organisation_code,"
                         " true FROM adoptions a WHERE a.case_id = $1::text"
                         " AND " PG_ADOPTION_LIVE) ") d"
    " WHERE c.id = $1::text AND d.key = c.id RETURNING c.id";
/* clang-format on */

const char pg_case_get_sql[] = "SELECT " CASE_RECORD " FROM cases c WHERE c.id = $1::text";

static const char GET_BY_EXTERNAL_ID_SQL[] =
    "SELECT " CASE_RECORD " FROM cases c"
    " WHERE c.organisation_code = $1::text AND c.external_id = $2::text";

/* One object mapping each external id ($2, a text[]) of organisation $1 found to its record. */
/* clang-format off */
static const char GET_BY_EXTERNAL_IDS_SQL[] =
    "SELECT COALESCE(jsonb_object_agg(c.external_id, " PG_CASE_OBJECT "), '{}'::jsonb)::text"
    " FROM cases c WHERE c.organisation_code = $1::text AND c.external_id = ANY ($2::text[])";
/* clang-format on */

/* No row: the case is absent; one row with a NULL entry: it has no entries in range. */
static const char HISTORY_SQL[] =
    "SELECT h.entry FROM cases c LEFT JOIN LATERAL (SELECT h.version, " PG_HISTORY_ENTRY " AS entry"
    " FROM case_history h WHERE h.case_id = c.id AND ($2::bigint <= 0 OR h.version < $2::bigint)"
    " ORDER BY h.version DESC LIMIT $3::bigint) h ON true"
    " WHERE c.id = $1::text ORDER BY h.version DESC";

/* Runs a read of one record (JSON text in column 0) on a pooled connection: *out is the first
 * row's, or COI_ENOTFOUND with `missing` as detail when there is none. */
static int read_one(struct coi_storage *s, json_t **out, const char *sql, int nparams,
                    const char *const *params, const char *missing)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_query(&res, conn, sql, nparams, params)) == COI_OK)
        rc = PQntuples(res) == 0 ? coi_error_set(COI_ENOTFOUND, NULL, "%s", missing)
                                 : pg_json_value(out, res, 0, 0);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

int pg_case_get(struct coi_storage *s, json_t **out, const char *id)
{
    const char *params[1] = {id};
    return read_one(s, out, pg_case_get_sql, 1, params, "no such case");
}

int pg_case_get_by_external_id(struct coi_storage *s, json_t **out, const char *organisation_code,
                               const char *external_id)
{
    const char *params[2] = {organisation_code, external_id};
    return read_one(s, out, GET_BY_EXTERNAL_ID_SQL, 2, params,
                    "no case with that external_id for that organisation");
}

int pg_case_history(struct coi_storage *s, json_t **out, const char *id, int64_t before_version,
                    int limit)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    char before[24], count[24];
    const char *params[3] = {id, before, limit > 0 ? count : NULL};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    snprintf(before, sizeof before, "%" PRId64, before_version);
    snprintf(count, sizeof count, "%d", limit);
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_query(&res, conn, HISTORY_SQL, 3, params)) != COI_OK)
        goto out;
    if (PQntuples(res) == 0)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no such case");
    else
        rc = pg_json_rows(out, res);
out:
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

/* Locks the case row so that concurrent writers of the case (and of its adoptions) queue. */
static const char LOCK_SQL[] = "SELECT version, status FROM cases WHERE id = $1::text FOR UPDATE";

/* $1 id, $2 new status, $3 old status, $4 actor, $5 note. What a transition changes is the
 * status. */
static const char TRANSITION_SQL[] =
    "WITH u AS (UPDATE cases SET status = $2::text, version = version + 1,"
    " updated_at = date_trunc('milliseconds', now()),"
    " published_at = CASE WHEN $2::text = 'published' THEN date_trunc('milliseconds', now())"
    " ELSE published_at END WHERE id = $1::text RETURNING id, version)"
    " INSERT INTO case_history (case_id, version, actor, action, from_status, to_status, note,"
    " changed_fields) SELECT u.id, u.version, $4::jsonb, 'transition', $3::text, $2::text,"
    " $5::text, '[\"status\"]'::jsonb FROM u";

static json_t *string_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

int pg_actor_text(char **out, const struct coi_actor *actor)
{
    json_t *o = json_object();
    int failed;

    *out = NULL;
    if (actor == NULL) {
        json_decref(o);
        return coi_error_set(COI_EINVALID, NULL, "a write needs an actor");
    }
    failed =
        o == NULL || json_object_set_new(o, "sub", string_or_null(actor->sub)) != 0 ||
        json_object_set_new(o, "role", string_or_null(actor->role)) != 0 ||
        (actor->party != NULL && json_object_set_new(o, "party", json_string(actor->party)) != 0) ||
        (actor->org != NULL && json_object_set_new(o, "org", json_string(actor->org)) != 0);
    if (!failed)
        *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (*out == NULL) /* json_string also refuses text that is not UTF-8 */
        return coi_error_set(COI_EINVALID, NULL, "actor is not valid UTF-8 text");
    return COI_OK;
}

int pg_case_exec(PGresult **out, PGconn *conn, const char *sql, int nparams,
                 const char *const *params, const char *org, const char *ext)
{
    PGresult *res = pg_exec_params(conn, sql, nparams, params);
    ExecStatusType st = PQresultStatus(res);
    const char *state, *constraint;
    int rc;

    *out = NULL;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *out = res;
        return COI_OK;
    }
    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (constraint == NULL)
        constraint = "";
    /* A data exception is input the database refuses (e.g. \u0000 in a jsonb string): a
     * client's mistake, so it is answered without an error log line. */
    if (PQstatus(conn) == CONNECTION_OK && state != NULL && strncmp(state, "22", 2) == 0)
        rc = coi_error_set(COI_EINVALID, NULL, "value not accepted: %s",
                           pg_error_message(conn, res));
    else if ((rc = pg_error(conn, res)) == COI_EEXISTS && org != NULL &&
             strstr(constraint, "external_id") != NULL)
        rc = coi_error_set(rc, "external_id",
                           "organisation %s already has a case with external_id %s", org,
                           ext != NULL ? ext : "");
    else if (rc == COI_EINVALID && strstr(constraint, "case_partners") != NULL)
        rc = coi_error_set(rc, "partner_organisation_codes", "no such partner organisation");
    else if (rc == COI_EINVALID && strstr(constraint, "organisation_code") != NULL)
        rc = coi_error_set(rc, "organisation_code", "no such organisation");
    else if (rc == COI_EINVALID && strstr(constraint, "status") != NULL)
        rc = coi_error_set(rc, "status", "no such status");
    PQclear(res);
    return rc;
}

/* The change entry of a transition of case `id` out of `status` (see pg_commit_case_changes),
 * JSON text (caller frees; NULL: out of memory). A transition leaves the organisations as
 * they were. */
static char *transition_entry(const char *id, const char *status)
{
    json_t *e = json_pack("[{s:i, s:s, s:s, s:b, s:n}]", "i", 0, "id", id, "action", "transition",
                          "public_before", strcmp(status, "published") == 0, "orgs_before");
    char *text = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    return text;
}

int pg_case_transition(struct coi_storage *s, json_t **out, const char *id, const char *to,
                       const char *note, int64_t expected_version, const struct coi_actor *actor)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    const char *params[5] = {id, to, NULL, NULL, note}, *get[1] = {id};
    struct pg_statement read = {pg_case_get_sql, 1, get};
    char status[32], *actor_json = NULL, *entry = NULL;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = pg_actor_text(&actor_json, actor)) != COI_OK)
        goto out;
    if (to == NULL) {
        rc = coi_error_set(COI_EINVALID, "status", "a transition needs a status to move to");
        goto out;
    }
    if ((rc = pg_acquire(pg, &conn)) != COI_OK || (rc = pg_exec(conn, "BEGIN")) != COI_OK ||
        (rc = pg_lock_version(conn, LOCK_SQL, "case", id, expected_version, status)) != COI_OK)
        goto out;
    params[2] = status;
    params[3] = actor_json;
    if ((rc = pg_case_exec(&res, conn, TRANSITION_SQL, 5, params, NULL, NULL)) != COI_OK)
        goto out;
    PQclear(res);
    res = NULL;
    if ((entry = transition_entry(id, status)) == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    if ((rc = pg_commit_case_changes(conn, &read, &res, entry)) == COI_OK)
        rc = pg_json_value(out, res, 0, 0); /* the row was locked: it is there */
out:
    PQclear(res);
    if (conn != NULL) {
        pg_rollback(conn);
        pg_release(pg, conn);
    }
    free(entry);
    free(actor_json);
    return rc;
}

int pg_case_get_by_external_ids(struct coi_storage *s, json_t **out, const char *organisation_code,
                                const char *const *external_ids, size_t n)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    char *ids = NULL;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if (organisation_code == NULL)
        return coi_error_set(COI_EINVALID, "organisation_code", "organisation_code is required");
    if (n == 0)
        return (*out = json_object()) != NULL ? COI_OK
                                              : coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if ((rc = pg_text_array(&ids, external_ids, n, "external_id")) != COI_OK)
        return rc;
    const char *params[2] = {organisation_code, ids};
    if ((rc = pg_acquire(pg, &conn)) == COI_OK) {
        if ((rc = pg_read_query(&res, conn, GET_BY_EXTERNAL_IDS_SQL, 2, params)) == COI_OK)
            rc = pg_json_value(out, res, 0, 0);
        PQclear(res);
        pg_release(pg, conn);
    }
    free(ids);
    return rc;
}
