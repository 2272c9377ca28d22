/* PostgreSQL backend: cases (get, history, create, update, transition) and derived data; the
 * list, count and facets are in case_search.c. */
#include "storage/postgres/pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The case record (pg_internal.h) as JSON text. */
#define CASE_RECORD PG_CASE_OBJECT "::text"

/* The lead and partner organisations of the case row `c`. */
#define CASE_ORGS                                                                                  \
    "(o.code = c.organisation_code OR o.code IN (SELECT p.organisation_code FROM case_partners p"  \
    " WHERE p.case_id = c.id))"

/* Adoptions that count: every status but discontinued. */
#define LIVE_ADOPTIONS "adoptions a WHERE a.case_id = c.id AND a.status <> 'discontinued'"

/* Derived columns, recomputed from the current rows. Sorting with COLLATE "C" orders by bytes
 * whatever the database's collation, as SQLite does. */
#define RECOMPUTE_SQL                                                                              \
    "UPDATE cases c SET government_levels = ARRAY(SELECT l FROM (SELECT CASE o.kind"               \
    " WHEN 'municipality' THEN 'municipal' WHEN 'region' THEN 'regional'"                          \
    " WHEN 'state' THEN 'state' END AS l FROM organisations o WHERE " CASE_ORGS ") k"              \
    " WHERE l IS NOT NULL GROUP BY l ORDER BY l COLLATE \"C\"),"                                   \
    " adoption_count = (SELECT count(*) FROM " LIVE_ADOPTIONS "),"                                 \
    " regions_reached = ARRAY(SELECT r FROM (SELECT CASE WHEN o.kind = 'region' THEN o.code"       \
    " ELSE o.region_code END AS r FROM organisations o WHERE " CASE_ORGS                           \
    " OR o.code IN (SELECT a.organisation_code FROM " LIVE_ADOPTIONS ")) k"                        \
    " WHERE r IS NOT NULL GROUP BY r ORDER BY r COLLATE \"C\")"                                    \
    " WHERE c.id = $1::text"

static const char RECOMPUTE_ONLY_SQL[] = RECOMPUTE_SQL " RETURNING c.id";
static const char RECOMPUTE_RECORD_SQL[] = RECOMPUTE_SQL " RETURNING " CASE_RECORD;

static const char GET_SQL[] = "SELECT " CASE_RECORD " FROM cases c WHERE c.id = $1::text";

static const char GET_BY_EXTERNAL_ID_SQL[] =
    "SELECT " CASE_RECORD " FROM cases c"
    " WHERE c.organisation_code = $1::text AND c.external_id = $2::text";

/* No row: the case is absent; one row with a NULL entry: it has no entries in range. */
static const char HISTORY_SQL[] =
    "SELECT h.entry FROM cases c LEFT JOIN LATERAL (SELECT h.version, " PG_HISTORY_ENTRY " AS entry"
    " FROM case_history h WHERE h.case_id = c.id AND ($2::bigint <= 0 OR h.version < $2::bigint)"
    " ORDER BY h.version DESC LIMIT $3::bigint) h ON true"
    " WHERE c.id = $1::text ORDER BY h.version DESC";

int pg_case_recompute(PGconn *conn, const char *case_id, json_t **out)
{
    const char *params[1] = {case_id};
    PGresult *res = NULL;
    int rc;

    if (out != NULL)
        *out = NULL;
    rc = pg_query(&res, conn, out != NULL ? RECOMPUTE_RECORD_SQL : RECOMPUTE_ONLY_SQL, 1, params);
    if (rc != COI_OK)
        return rc;
    if (PQntuples(res) == 0)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no case with id %s", case_id);
    else if (out != NULL)
        rc = pg_json_value(out, res, 0, 0);
    PQclear(res);
    return rc;
}

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
    return read_one(s, out, GET_SQL, 1, params, "no such case");
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

/* Columns a history entry is written with, shared by the three writes. */
#define HISTORY_INSERT "INSERT INTO case_history (case_id, version, actor, action, from_status,"

/* The references a write names: the lead ($1), the partners ($2, a JSON array, read in
 * order) and inspired_by_case_id ($3, NULL when not a string). One row: whether the lead
 * exists, the first partner that does not (NULL: none), whether the inspiring case exists. */
static const char CHECK_REFS_SQL[] =
    "SELECT EXISTS (SELECT 1 FROM organisations WHERE code = $1::text),"
    " (SELECT e.code FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS e(code, pos)"
    " WHERE NOT EXISTS (SELECT 1 FROM organisations o WHERE o.code = e.code)"
    " ORDER BY e.pos LIMIT 1),"
    " $3::text IS NULL OR EXISTS (SELECT 1 FROM cases WHERE id = $3::text)";

/* Locks the case row so that concurrent writers of the case (and of its adoptions) queue. */
static const char LOCK_SQL[] = "SELECT version, status FROM cases WHERE id = $1::text FOR UPDATE";

/* $1 id, $2 lead, $3 external_id, $4 doc, $5 actor, $6 changed_fields. */
static const char CREATE_SQL[] =
    "WITH c AS (INSERT INTO cases (id, organisation_code, external_id, doc)"
    " VALUES ($1::text, $2::text, $3::text, $4::jsonb) RETURNING id) " HISTORY_INSERT
    " to_status, changed_fields) SELECT c.id, 1, $5::jsonb, 'created', NULL, 'draft', $6::jsonb"
    " FROM c";

/* Same parameters; the partners are written afresh by PARTNERS_SQL afterwards. */
static const char UPDATE_SQL[] =
    "WITH u AS (UPDATE cases SET organisation_code = $2::text, external_id = $3::text,"
    " doc = $4::jsonb, version = version + 1, updated_at = date_trunc('milliseconds', now())"
    " WHERE id = $1::text RETURNING id, version, status),"
    " d AS (DELETE FROM case_partners WHERE case_id = $1::text) " HISTORY_INSERT
    " to_status, changed_fields) SELECT u.id, u.version, $5::jsonb, 'updated', u.status,"
    " u.status, $6::jsonb FROM u";

/* $1 id, $2 the partners as a JSON array; position is the index in it, from 1. */
static const char PARTNERS_SQL[] =
    "INSERT INTO case_partners (case_id, organisation_code, position)"
    " SELECT $1::text, e.code, e.pos::integer"
    " FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS e(code, pos)";

/* $1 id, $2 new status, $3 old status, $4 actor, $5 note. What a transition changes is the
 * status. */
static const char TRANSITION_SQL[] =
    "WITH u AS (UPDATE cases SET status = $2::text, version = version + 1,"
    " updated_at = date_trunc('milliseconds', now()),"
    " published_at = CASE WHEN $2::text = 'published' THEN date_trunc('milliseconds', now())"
    " ELSE published_at END WHERE id = $1::text RETURNING id, version) " HISTORY_INSERT
    " to_status, note, changed_fields) SELECT u.id, u.version, $4::jsonb, 'transition',"
    " $3::text, $2::text, $5::text, '[\"status\"]'::jsonb FROM u";

/* What create and update take from `c`. Strings and `partners` are borrowed from `c`; the
 * texts are owned (case_input_free). */
struct case_input {
    const char *organisation_code, *external_id, *inspired_by;
    const json_t *partners; /* array, NULL when absent */
    char *doc;              /* the content fields present in `c`, as JSON text */
    char *partners_text;    /* the partner codes, as a JSON array */
    char *actor;            /* {sub, role, party?, org?} */
    char *changed;          /* changed_fields as given, [] when NULL */
};

static void case_input_free(struct case_input *in)
{
    free(in->doc);
    free(in->partners_text);
    free(in->actor);
    free(in->changed);
}

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

/* Checks the partners against the lead and each other: no partner is the lead, none is
 * listed twice, all are strings. COI_EINVALID, field "partner_organisation_codes". */
static int partners_check(const struct case_input *in)
{
    size_t i, j;
    json_t *p;

    json_array_foreach(in->partners, i, p)
    {
        const char *code = json_string_value(p);
        if (code == NULL)
            return coi_error_set(COI_EINVALID, "partner_organisation_codes",
                                 "partner organisation codes must be strings");
        if (strcmp(code, in->organisation_code) == 0)
            return coi_error_set(COI_EINVALID, "partner_organisation_codes",
                                 "the lead organisation %s cannot also be a partner", code);
        for (j = 0; j < i; j++)
            if (strcmp(code, json_string_value(json_array_get(in->partners, j))) == 0)
                return coi_error_set(COI_EINVALID, "partner_organisation_codes",
                                     "partner %s is listed twice", code);
    }
    return COI_OK;
}

/* Reads `c` (see struct case_input) and serialises what the statements take. */
static int case_input_read(struct case_input *in, const json_t *c, const struct coi_actor *actor,
                           const json_t *changed_fields)
{
    const json_t *external = json_object_get(c, "external_id");
    json_t *doc = NULL;
    int rc;

    memset(in, 0, sizeof *in);
    in->organisation_code = json_string_value(json_object_get(c, "organisation_code"));
    in->external_id = json_string_value(external);
    in->inspired_by = json_string_value(json_object_get(c, "inspired_by_case_id"));
    in->partners = json_object_get(c, "partner_organisation_codes");
    if (in->organisation_code == NULL)
        return coi_error_set(COI_EINVALID, "organisation_code", "organisation_code is required");
    if (external != NULL && !json_is_null(external) && in->external_id == NULL)
        return coi_error_set(COI_EINVALID, "external_id", "external_id must be a string or null");
    if (in->partners != NULL && !json_is_array(in->partners))
        return coi_error_set(COI_EINVALID, "partner_organisation_codes",
                             "partner_organisation_codes must be an array");
    if ((rc = partners_check(in)) != COI_OK || (rc = pg_actor_text(&in->actor, actor)) != COI_OK)
        return rc;
    if ((doc = json_object()) == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    for (const char *const *key = CASE_CONTENT; *key != NULL; key++) {
        json_t *v = json_object_get(c, *key);
        if (v != NULL && json_object_set(doc, *key, v) != 0) {
            json_decref(doc);
            return coi_error_set(COI_ENOMEM, NULL, "out of memory");
        }
    }
    in->doc = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    in->partners_text =
        in->partners != NULL ? json_dumps(in->partners, JSON_COMPACT) : strdup("[]");
    in->changed = changed_fields != NULL
                      ? json_dumps(changed_fields, JSON_COMPACT | JSON_ENCODE_ANY)
                      : strdup("[]");
    if (in->doc == NULL || in->partners_text == NULL || in->changed == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    return COI_OK;
}

/* Checks, inside the writing transaction, that what `in` refers to exists. */
static int refs_check(PGconn *conn, const struct case_input *in)
{
    const char *params[3] = {in->organisation_code, in->partners_text, in->inspired_by};
    PGresult *res = NULL;
    int rc = pg_query(&res, conn, CHECK_REFS_SQL, 3, params);

    if (rc != COI_OK)
        return rc;
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        rc = coi_error_set(COI_EINVALID, "organisation_code", "no organisation with code %s",
                           in->organisation_code);
    else if (!PQgetisnull(res, 0, 1))
        rc = coi_error_set(COI_EINVALID, "partner_organisation_codes",
                           "no organisation with code %s", PQgetvalue(res, 0, 1));
    else if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
        rc = coi_error_set(COI_EINVALID, "inspired_by_case_id", "no case with id %s",
                           in->inspired_by);
    PQclear(res);
    return rc;
}

/* Runs one write statement and discards its result; a refused write becomes an error naming
 * the field concerned (`in` may be NULL for a transition). */
static int case_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
                     const struct case_input *in)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    const char *state, *constraint;
    int rc;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(res);
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
    else if ((rc = pg_error(conn, res)) == COI_EEXISTS && in != NULL &&
             strstr(constraint, "external_id") != NULL)
        rc = coi_error_set(rc, "external_id",
                           "organisation %s already has a case with external_id %s",
                           in->organisation_code, in->external_id);
    else if (rc == COI_EINVALID && strstr(constraint, "case_partners") != NULL)
        rc = coi_error_set(rc, "partner_organisation_codes", "no such partner organisation");
    else if (rc == COI_EINVALID && strstr(constraint, "organisation_code") != NULL)
        rc = coi_error_set(rc, "organisation_code", "no such organisation");
    else if (rc == COI_EINVALID && strstr(constraint, "status") != NULL)
        rc = coi_error_set(rc, "status", "no such status");
    PQclear(res);
    return rc;
}

/* Locks case `id` for the rest of the transaction and checks its version (-1: any). Copies
 * its status into `status`. */
static int case_lock(PGconn *conn, const char *id, int64_t expected_version, char status[32])
{
    return pg_lock_version(conn, LOCK_SQL, "case", id, expected_version, status);
}

/* Ends a write: commits when everything succeeded (else rolls back and drops *out), and gives
 * the connection back. Returns the final code. */
static int case_write_end(struct pg_storage *pg, PGconn *conn, int rc, json_t **out)
{
    if (rc == COI_OK && conn != NULL)
        rc = pg_exec(conn, "COMMIT");
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

int pg_case_create(struct coi_storage *s, json_t **out, const json_t *c,
                   const struct coi_actor *actor, const json_t *changed_fields)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    struct case_input in;
    const char *params[6], *partners[2];
    char id[37];
    PGconn *conn = NULL;
    int rc;

    *out = NULL;
    if ((rc = case_input_read(&in, c, actor, changed_fields)) != COI_OK)
        goto out;
    storage_new_id(id);
    params[0] = id;
    params[1] = in.organisation_code;
    params[2] = in.external_id;
    params[3] = in.doc;
    params[4] = in.actor;
    params[5] = in.changed;
    partners[0] = id;
    partners[1] = in.partners_text;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        goto out;
    if ((rc = pg_exec(conn, "BEGIN")) != COI_OK || (rc = refs_check(conn, &in)) != COI_OK ||
        (rc = case_exec(conn, CREATE_SQL, 6, params, &in)) != COI_OK ||
        (rc = case_exec(conn, PARTNERS_SQL, 2, partners, &in)) != COI_OK)
        goto out;
    rc = pg_case_recompute(conn, id, out);
out:
    rc = case_write_end(pg, conn, rc, out);
    case_input_free(&in);
    return rc;
}

int pg_case_update(struct coi_storage *s, json_t **out, const char *id, const json_t *c,
                   int64_t expected_version, const struct coi_actor *actor,
                   const json_t *changed_fields)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    struct case_input in;
    const char *params[6], *partners[2];
    char status[32];
    PGconn *conn = NULL;
    int rc;

    *out = NULL;
    if ((rc = case_input_read(&in, c, actor, changed_fields)) != COI_OK)
        goto out;
    params[0] = id;
    params[1] = in.organisation_code;
    params[2] = in.external_id;
    params[3] = in.doc;
    params[4] = in.actor;
    params[5] = in.changed;
    partners[0] = id;
    partners[1] = in.partners_text;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        goto out;
    if ((rc = pg_exec(conn, "BEGIN")) != COI_OK ||
        (rc = case_lock(conn, id, expected_version, status)) != COI_OK ||
        (rc = refs_check(conn, &in)) != COI_OK ||
        (rc = case_exec(conn, UPDATE_SQL, 6, params, &in)) != COI_OK ||
        (rc = case_exec(conn, PARTNERS_SQL, 2, partners, &in)) != COI_OK)
        goto out;
    rc = pg_case_recompute(conn, id, out);
out:
    rc = case_write_end(pg, conn, rc, out);
    case_input_free(&in);
    return rc;
}

int pg_case_transition(struct coi_storage *s, json_t **out, const char *id, const char *to,
                       const char *note, int64_t expected_version, const struct coi_actor *actor)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    const char *params[5];
    char status[32], *actor_json = NULL;
    PGconn *conn = NULL;
    int rc;

    *out = NULL;
    if ((rc = pg_actor_text(&actor_json, actor)) != COI_OK)
        goto out;
    if (to == NULL) {
        rc = coi_error_set(COI_EINVALID, "status", "a transition needs a status to move to");
        goto out;
    }
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        goto out;
    if ((rc = pg_exec(conn, "BEGIN")) != COI_OK ||
        (rc = case_lock(conn, id, expected_version, status)) != COI_OK)
        goto out;
    params[0] = id;
    params[1] = to;
    params[2] = status;
    params[3] = actor_json;
    params[4] = note;
    if ((rc = case_exec(conn, TRANSITION_SQL, 5, params, NULL)) != COI_OK)
        goto out;
    rc = pg_case_recompute(conn, id, out);
out:
    rc = case_write_end(pg, conn, rc, out);
    free(actor_json);
    return rc;
}
