/* SQLite evaluations, write side: create, update, transition and delete, with their history
 * and change rows. */
#include "storage/sqlite/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>

static const char INSERT_SQL[] =
    "INSERT INTO evaluations (id, case_id, doc, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?4)";

static const char UPDATE_SQL[] =
    "UPDATE evaluations SET doc = ?2, version = version + 1, updated_at = ?3 WHERE id = ?1";

/* As for cases, published_at is stamped on every move to published. */
static const char TRANSITION_SQL[] =
    "UPDATE evaluations SET status = ?2, version = version + 1, updated_at = ?3,"
    " published_at = CASE WHEN ?2 = 'published' THEN ?3 ELSE published_at END WHERE id = ?1";

static const char HISTORY_SQL[] =
    "INSERT INTO evaluation_history (evaluation_id, version, at, actor, action, from_status,"
    " to_status, note, changed_fields) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/* The history goes with the evaluation (ON DELETE CASCADE; every connection enables foreign
 * keys). */
static const char DELETE_SQL[] = "DELETE FROM evaluations WHERE id = ?1";

/* The content document of input `e`: every key but case_id, as compact JSON text into *out
 * (free()). */
static int doc_from(char **out, const json_t *e)
{
    json_t *doc;

    *out = NULL;
    if (!json_is_object(e))
        return coi_error_set(COI_EINVALID, NULL, "an evaluation must be an object");
    if (sqlite_check_no_nul(e) != COI_OK)
        return COI_EINVALID;
    if ((doc = json_copy((json_t *)e)) == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    json_object_del(doc, "case_id");
    *out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return *out != NULL ? COI_OK : coi_error_set(COI_ENOMEM, NULL, "out of memory");
}

/* Runs static `sql` with `params[0..n-1]` bound as text to its end. */
static int run(sqlite3 *db, const char *sql, const char *const *params, int n, const char *field,
               const char *what)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, sql);
    if (rc == COI_OK && (rc = sqlite_bind_texts(db, stmt, params, n)) == COI_OK)
        rc = sqlite_step_done(db, stmt, field, what);
    sqlite3_finalize(stmt);
    return rc;
}

/* COI_OK when case `case_id` exists, else COI_ENOTFOUND. */
static int check_case(sqlite3 *db, const char *case_id)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, "SELECT 1 FROM cases WHERE id = ?1");
    if (rc != COI_OK || (rc = sqlite_bind_texts(db, stmt, &case_id, 1)) != COI_OK)
        goto out;
    int step = sqlite3_step(stmt);
    if (step == SQLITE_DONE)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no case with id %s", case_id);
    else if (step != SQLITE_ROW)
        rc = sqlite_fail(db, step, NULL, "cannot check the case");
out:
    sqlite3_finalize(stmt);
    return rc;
}

/* The version and status of evaluation `id`, checked against `expected_version`. */
static int check_version(sqlite3 *db, const char *id, int64_t expected_version, int64_t *version,
                         char status[32])
{
    return sqlite_check_version(db, "SELECT version, status FROM evaluations WHERE id = ?1",
                                "evaluation", id, expected_version, version, status);
}

int sqlite_evaluation_create(struct coi_storage *s, json_t **out, const char *case_id,
                             const json_t *e, const struct coi_actor *actor,
                             const json_t *changed_fields)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct sqlite_visibility before = {0}; /* a new evaluation: nobody saw it */
    sqlite3 *db = NULL;
    json_t *record = NULL;
    char id[37], now[40], *doc = NULL;
    int rc;

    *out = NULL;
    if ((rc = doc_from(&doc, e)) != COI_OK)
        goto out;
    storage_new_id(id);
    const char *params[] = {id, case_id, doc, now};
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK || (rc = sqlite_begin(db)) != COI_OK ||
        (rc = check_case(db, case_id)) != COI_OK || (rc = sqlite_now(db, now)) != COI_OK ||
        (rc = run(db, INSERT_SQL, params, 4, NULL, "cannot write the evaluation")) != COI_OK)
        goto out;
    struct sqlite_history_entry h = {.id = id,
                                     .version = 1,
                                     .at = now,
                                     .actor = actor,
                                     .action = "created",
                                     .to = "draft",
                                     .changed_fields = changed_fields};
    if ((rc = sqlite_history_append(db, HISTORY_SQL, &h)) == COI_OK &&
        (rc = sqlite_change_append(db, COI_CHANGE_EVALUATION, id, "created", now, &before)) ==
            COI_OK)
        rc = sqlite_evaluation_read(db, &record, id);
out:
    free(doc);
    return sqlite_write_end(st, db, rc, out, record);
}

int sqlite_evaluation_update(struct coi_storage *s, json_t **out, const char *id, const json_t *e,
                             int64_t expected_version, const struct coi_actor *actor,
                             const json_t *changed_fields)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct sqlite_visibility before = {0};
    sqlite3 *db = NULL;
    json_t *record = NULL;
    char now[40], status[32], *doc = NULL;
    int64_t version = 0;
    int rc;

    *out = NULL;
    if ((rc = doc_from(&doc, e)) != COI_OK)
        goto out;
    const char *params[] = {id, doc, now};
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK || (rc = sqlite_begin(db)) != COI_OK ||
        (rc = check_version(db, id, expected_version, &version, status)) != COI_OK ||
        (rc = sqlite_visibility_read(db, COI_CHANGE_EVALUATION, id, &before)) != COI_OK ||
        (rc = sqlite_now(db, now)) != COI_OK ||
        (rc = run(db, UPDATE_SQL, params, 3, NULL, "cannot write the evaluation")) != COI_OK)
        goto out;
    struct sqlite_history_entry h = {.id = id,
                                     .version = version + 1,
                                     .at = now,
                                     .actor = actor,
                                     .action = "updated",
                                     .from = status,
                                     .to = status,
                                     .changed_fields = changed_fields};
    if ((rc = sqlite_history_append(db, HISTORY_SQL, &h)) == COI_OK &&
        (rc = sqlite_change_append(db, COI_CHANGE_EVALUATION, id, "updated", now, &before)) ==
            COI_OK)
        rc = sqlite_evaluation_read(db, &record, id);
out:
    sqlite_visibility_free(&before);
    free(doc);
    return sqlite_write_end(st, db, rc, out, record);
}

int sqlite_evaluation_transition(struct coi_storage *s, json_t **out, const char *id,
                                 const char *to, const char *note, int64_t expected_version,
                                 const struct coi_actor *actor)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct sqlite_visibility before = {0};
    sqlite3 *db = NULL;
    json_t *record = NULL, *fields = json_pack("[s]", "status");
    char now[40], status[32];
    int64_t version = 0;
    int rc;

    *out = NULL;
    if (fields == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    const char *params[] = {id, to, now};
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK || (rc = sqlite_begin(db)) != COI_OK ||
        (rc = check_version(db, id, expected_version, &version, status)) != COI_OK ||
        (rc = sqlite_visibility_read(db, COI_CHANGE_EVALUATION, id, &before)) != COI_OK ||
        (rc = sqlite_now(db, now)) != COI_OK ||
        (rc = run(db, TRANSITION_SQL, params, 3, "status", "cannot change the status")) != COI_OK)
        goto out;
    struct sqlite_history_entry h = {.id = id,
                                     .version = version + 1,
                                     .at = now,
                                     .actor = actor,
                                     .action = "transition",
                                     .from = status,
                                     .to = to,
                                     .note = note,
                                     .changed_fields = fields};
    if ((rc = sqlite_history_append(db, HISTORY_SQL, &h)) == COI_OK &&
        (rc = sqlite_change_append(db, COI_CHANGE_EVALUATION, id, "transition", now, &before)) ==
            COI_OK)
        rc = sqlite_evaluation_read(db, &record, id);
out:
    sqlite_visibility_free(&before);
    json_decref(fields);
    return sqlite_write_end(st, db, rc, out, record);
}

int sqlite_evaluation_delete(struct coi_storage *s, const char *id, int64_t expected_version)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct sqlite_visibility before = {0};
    sqlite3 *db = NULL;
    char status[32];
    int64_t version = 0;
    int rc;

    if ((rc = sqlite_conn_acquire(st, &db)) == COI_OK && (rc = sqlite_begin(db)) == COI_OK &&
        (rc = check_version(db, id, expected_version, &version, status)) == COI_OK &&
        (rc = sqlite_visibility_read(db, COI_CHANGE_EVALUATION, id, &before)) == COI_OK &&
        (rc = run(db, DELETE_SQL, &id, 1, NULL, "cannot delete the evaluation")) == COI_OK)
        rc = sqlite_change_append(db, COI_CHANGE_EVALUATION, id, "deleted", NULL, &before);
    sqlite_visibility_free(&before);
    return sqlite_write_end(st, db, rc, NULL, NULL);
}
