/* PostgreSQL backend: evaluations of cases, write side (create, update, transition, delete),
 * each write with its history entry and its change row in the same transaction. */
#include "storage/postgres/pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Columns a history entry is written with, shared by the three writes. */
#define HISTORY_INSERT                                                                             \
    "INSERT INTO evaluation_history (evaluation_id, version, actor, action, from_status,"

/* $1 id, $2 case, $3 doc, $4 actor, $5 changed_fields. No row: the case does not exist. One
 * statement, so the check and the insert are atomic: the foreign key holds the case row while
 * the transaction lasts. */
static const char CREATE_SQL[] =
    "WITH ins AS (INSERT INTO evaluations (id, case_id, doc) SELECT $1::text, c.id, $3::jsonb"
    " FROM cases c WHERE c.id = $2::text RETURNING *),"
    " h AS (" HISTORY_INSERT " to_status, changed_fields) SELECT ins.id, ins.version, $4::jsonb,"
    " 'created', NULL, ins.status, $5::jsonb FROM ins)"
    " SELECT " PG_EVALUATION_RECORD " FROM ins e";

/* Locks the evaluation row so that concurrent writers of it queue behind this transaction. */
static const char LOCK_SQL[] =
    "SELECT version, status FROM evaluations WHERE id = $1::text FOR UPDATE";

/* $1 id, $2 doc, $3 actor, $4 changed_fields. The evaluation stays with its case. */
static const char UPDATE_SQL[] =
    "WITH u AS (UPDATE evaluations SET doc = $2::jsonb, version = version + 1,"
    " updated_at = date_trunc('milliseconds', now()) WHERE id = $1::text RETURNING *),"
    " h AS (" HISTORY_INSERT " to_status, changed_fields) SELECT u.id, u.version, $3::jsonb,"
    " 'updated', u.status, u.status, $4::jsonb FROM u)"
    " SELECT " PG_EVALUATION_RECORD " FROM u e";

/* $1 id, $2 new status, $3 old status, $4 actor, $5 note. published_at is stamped on every
 * move to published, as for cases. */
static const char TRANSITION_SQL[] =
    "WITH u AS (UPDATE evaluations SET status = $2::text, version = version + 1,"
    " updated_at = date_trunc('milliseconds', now()),"
    " published_at = CASE WHEN $2::text = 'published' THEN date_trunc('milliseconds', now())"
    " ELSE published_at END WHERE id = $1::text RETURNING *),"
    " h AS (" HISTORY_INSERT " to_status, note, changed_fields) SELECT u.id, u.version,"
    " $4::jsonb, 'transition', $3::text, $2::text, $5::text, '[\"status\"]'::jsonb FROM u)"
    " SELECT " PG_EVALUATION_RECORD " FROM u e";

/* The history goes with it (ON DELETE CASCADE). */
static const char DELETE_SQL[] =
    "DELETE FROM evaluations WHERE id = $1::text RETURNING case_id, version";

/* What create and update write, serialised (each text owned; evaluation_input_free). */
struct evaluation_input {
    char *doc;     /* every member of `e` but case_id */
    char *actor;   /* {sub, role, party?, org?} */
    char *changed; /* changed_fields as given, [] when NULL */
};

static void evaluation_input_free(struct evaluation_input *in)
{
    free(in->doc);
    free(in->actor);
    free(in->changed);
}

/* Refuses what the database derives from the content and could not compute with later:
 * evidence_level (an integer column) and economic.annual_savings_dkk (summed as a bigint)
 * must be integers or null. The API validates the rest. */
static int doc_check(const json_t *doc)
{
    const json_t *level = json_object_get(doc, "evidence_level");
    const json_t *savings = json_object_get(json_object_get(doc, "economic"), "annual_savings_dkk");

    if (level != NULL && !json_is_null(level) &&
        (!json_is_integer(level) || json_integer_value(level) < INT32_MIN ||
         json_integer_value(level) > INT32_MAX))
        return coi_error_set(COI_EINVALID, "evidence_level",
                             "evidence_level must be an integer or null");
    if (savings != NULL && !json_is_null(savings) && !json_is_integer(savings))
        return coi_error_set(COI_EINVALID, "economic.annual_savings_dkk",
                             "economic.annual_savings_dkk must be an integer or null");
    return COI_OK;
}

/* Reads `e` (an object) into `in`: the content is every member but case_id. */
static int evaluation_input_read(struct evaluation_input *in, const json_t *e,
                                 const struct coi_actor *actor, const json_t *changed_fields)
{
    json_t *doc = NULL;
    int rc;

    memset(in, 0, sizeof *in);
    if (!json_is_object(e))
        return coi_error_set(COI_EINVALID, NULL, "an evaluation must be an object");
    if ((rc = doc_check(e)) != COI_OK || (rc = pg_actor_text(&in->actor, actor)) != COI_OK)
        return rc;
    if ((doc = json_copy((json_t *)e)) == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    json_object_del(doc, "case_id");
    in->doc = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    in->changed = changed_fields != NULL
                      ? json_dumps(changed_fields, JSON_COMPACT | JSON_ENCODE_ANY)
                      : strdup("[]");
    if (in->doc == NULL || in->changed == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    return COI_OK;
}

/* Runs one write statement; on success *out holds its result (caller PQclears). A refused
 * write becomes COI_EINVALID: a value the database refuses (class 22, e.g. \u0000 in a jsonb
 * string) without an error log line, a status the table does not know with field "status". */
static int evaluation_exec(PGresult **out, PGconn *conn, const char *sql, int nparams,
                           const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
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
    if (PQstatus(conn) == CONNECTION_OK && state != NULL && strncmp(state, "22", 2) == 0)
        rc = coi_error_set(COI_EINVALID, NULL, "value not accepted: %s",
                           pg_error_message(conn, res));
    else if ((rc = pg_error(conn, res)) == COI_EINVALID && constraint != NULL &&
             strstr(constraint, "status") != NULL)
        rc = coi_error_set(rc, "status", "no such status");
    PQclear(res);
    return rc;
}

/* Opens the transaction of a write to evaluation `id`, locks the evaluation and checks its
 * version (-1: any). Copies its status into `status`. */
static int evaluation_lock(PGconn *conn, const char *id, int64_t expected_version, char status[32])
{
    int rc = pg_exec(conn, "BEGIN");
    return rc != COI_OK
               ? rc
               : pg_lock_version(conn, LOCK_SQL, "evaluation", id, expected_version, status);
}

/* Commits the write of `record` (action as the change feed has it; status_before NULL for a
 * create) with its change row. */
static int commit_record(PGconn *conn, const json_t *record, const char *action,
                         const char *status_before)
{
    char version[24];

    snprintf(version, sizeof version, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(record, "version")));
    return pg_commit_evaluation_change(conn, json_string_value(json_object_get(record, "id")),
                                       json_string_value(json_object_get(record, "case_id")),
                                       action, version, status_before,
                                       json_string_value(json_object_get(record, "status")));
}

/* Runs a write that returns the record (JSON text in column 0) inside the open transaction
 * and commits it (see commit_record); *out receives the record. */
static int write_record(json_t **out, PGconn *conn, const char *sql, int nparams,
                        const char *const *params, const char *action, const char *status_before)
{
    PGresult *res = NULL;
    int rc = evaluation_exec(&res, conn, sql, nparams, params);

    if (rc == COI_OK)
        rc = pg_json_value(out, res, 0, 0); /* the row is locked: the write found it */
    PQclear(res);
    if (rc == COI_OK && (rc = commit_record(conn, *out, action, status_before)) != COI_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* Gives the connection back, rolling back a transaction left open by a failure. */
static int write_end(struct pg_storage *pg, PGconn *conn, int rc)
{
    if (conn != NULL) {
        pg_rollback(conn);
        pg_release(pg, conn);
    }
    return rc;
}

int pg_evaluation_create(struct coi_storage *s, json_t **out, const char *case_id, const json_t *e,
                         const struct coi_actor *actor, const json_t *changed_fields)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    struct evaluation_input in;
    const char *params[5];
    char id[37];
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = evaluation_input_read(&in, e, actor, changed_fields)) != COI_OK)
        goto out;
    storage_new_id(id);
    params[0] = id;
    params[1] = case_id;
    params[2] = in.doc;
    params[3] = in.actor;
    params[4] = in.changed;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK || (rc = pg_exec(conn, "BEGIN")) != COI_OK ||
        (rc = evaluation_exec(&res, conn, CREATE_SQL, 5, params)) != COI_OK)
        goto out;
    rc = PQntuples(res) == 0 ? coi_error_set(COI_ENOTFOUND, NULL, "no case with id %s", case_id)
                             : pg_json_value(out, res, 0, 0);
    if (rc == COI_OK && (rc = commit_record(conn, *out, "created", NULL)) != COI_OK) {
        json_decref(*out);
        *out = NULL;
    }
out:
    PQclear(res);
    evaluation_input_free(&in);
    return write_end(pg, conn, rc);
}

/* Replaces the content with `e` (members left out are gone); case_id in `e` is ignored. */
int pg_evaluation_update(struct coi_storage *s, json_t **out, const char *id, const json_t *e,
                         int64_t expected_version, const struct coi_actor *actor,
                         const json_t *changed_fields)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    struct evaluation_input in;
    const char *params[4];
    char status[32];
    PGconn *conn = NULL;
    int rc;

    *out = NULL;
    if ((rc = evaluation_input_read(&in, e, actor, changed_fields)) != COI_OK)
        goto out;
    params[0] = id;
    params[1] = in.doc;
    params[2] = in.actor;
    params[3] = in.changed;
    if ((rc = pg_acquire(pg, &conn)) == COI_OK &&
        (rc = evaluation_lock(conn, id, expected_version, status)) == COI_OK)
        rc = write_record(out, conn, UPDATE_SQL, 4, params, "updated", status);
out:
    evaluation_input_free(&in);
    return write_end(pg, conn, rc);
}

int pg_evaluation_transition(struct coi_storage *s, json_t **out, const char *id, const char *to,
                             const char *note, int64_t expected_version,
                             const struct coi_actor *actor)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    const char *params[5];
    char status[32], *actor_json = NULL;
    PGconn *conn = NULL;
    int rc;

    *out = NULL;
    if ((rc = pg_actor_text(&actor_json, actor)) != COI_OK)
        return rc;
    if (to == NULL) {
        rc = coi_error_set(COI_EINVALID, "status", "a transition needs a status to move to");
        goto out;
    }
    if ((rc = pg_acquire(pg, &conn)) != COI_OK ||
        (rc = evaluation_lock(conn, id, expected_version, status)) != COI_OK)
        goto out;
    params[0] = id;
    params[1] = to;
    params[2] = status;
    params[3] = actor_json;
    params[4] = note;
    rc = write_record(out, conn, TRANSITION_SQL, 5, params, "transition", status);
out:
    free(actor_json);
    return write_end(pg, conn, rc);
}

int pg_evaluation_delete(struct coi_storage *s, const char *id, int64_t expected_version)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    const char *params[1] = {id};
    char status[32];
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    /* The row is locked: the delete finds it, and its last version is the one checked. */
    if ((rc = pg_acquire(pg, &conn)) == COI_OK &&
        (rc = evaluation_lock(conn, id, expected_version, status)) == COI_OK &&
        (rc = evaluation_exec(&res, conn, DELETE_SQL, 1, params)) == COI_OK)
        rc = pg_commit_evaluation_change(conn, id, PQgetvalue(res, 0, 0), "deleted",
                                         PQgetvalue(res, 0, 1), status, NULL);
    PQclear(res);
    return write_end(pg, conn, rc);
}
