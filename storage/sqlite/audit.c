/* SQLite audit log: appending an entry per write request, reading it newest first. */
#include "storage/sqlite/sqlite_internal.h"

#include <stdint.h>

static const char INSERT_SQL[] =
    "INSERT INTO audit_log (request_id, sub, role, party, org, method, path, outcome,"
    " object_type, object_id, detail, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
    " ?11, ?12)";

/* A list is driven by the filter with an index (sub, else object_id, else the seq itself), so
 * that a page reads only the rows it returns; the other filters narrow it. ?4 is the keyset:
 * entries below it. */
#define LIST_SELECT                                                                                \
    "SELECT seq, at, request_id, sub, role, party, org, method, path, status, outcome,"            \
    " object_type, object_id, detail FROM audit_log WHERE "
#define LIST_FILTERS                                                                               \
    " AND (?1 IS NULL OR sub = ?1) AND (?2 IS NULL OR object_id = ?2)"                             \
    " AND (?3 IS NULL OR outcome = ?3) AND seq < ?4 ORDER BY seq DESC LIMIT ?5"
static const char LIST_BY_SUB_SQL[] = LIST_SELECT "sub = ?1" LIST_FILTERS;
static const char LIST_BY_OBJECT_SQL[] = LIST_SELECT "object_id = ?2" LIST_FILTERS;
static const char LIST_ALL_SQL[] = LIST_SELECT "1" LIST_FILTERS;

enum {
    COL_SEQ,
    COL_AT,
    COL_REQUEST_ID,
    COL_SUB, /* then role, party, org */
    COL_METHOD = COL_SUB + 4,
    COL_PATH,
    COL_STATUS,
    COL_OUTCOME,
    COL_OBJECT_TYPE,
    COL_OBJECT_ID,
    COL_DETAIL,
};

/* 1 when each of texts[0..n-1] is NULL or valid UTF-8 (as json_string checks it). An entry
 * with other text could not be listed as JSON, so it is refused, as PostgreSQL refuses it. */
static int all_utf8(const char *const *texts, int n)
{
    for (int i = 0; i < n; i++) {
        json_t *t = texts[i] != NULL ? json_string(texts[i]) : json_null();
        if (t == NULL)
            return 0;
        json_decref(t);
    }
    return 1;
}

int sqlite_audit_append(struct coi_storage *s, const struct coi_audit_entry *e)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    const char *params[] = {e->request_id,  e->sub,       e->role,  e->party,
                            e->org,         e->method,    e->path,  e->outcome,
                            e->object_type, e->object_id, e->detail};
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (!all_utf8(params, 11))
        return coi_error_set(COI_EINVALID, NULL, "an audit entry must be UTF-8 text");
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, INSERT_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 11)) != COI_OK)
        goto out;
    sqlite3_bind_int(stmt, 12, e->status);
    rc = sqlite_step_done(db, stmt, NULL, "cannot write the audit entry");
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    return rc;
}

/* The actor of an audit row: {sub?, role?, party?, org?} without the unknown keys. */
static json_t *actor_from_row(sqlite3_stmt *stmt)
{
    static const char *const keys[] = {"sub", "role", "party", "org"};
    json_t *actor = json_object();
    for (int i = 0; actor != NULL && i < 4; i++) {
        if (sqlite3_column_type(stmt, COL_SUB + i) == SQLITE_NULL)
            continue;
        if (json_object_set_new(actor, keys[i], sqlite_column_string(stmt, COL_SUB + i)) != 0) {
            json_decref(actor);
            actor = NULL;
        }
    }
    return actor;
}

/* The entry of the current row of a list statement (new reference, NULL when out of memory). */
static json_t *entry_from_row(sqlite3_stmt *stmt)
{
    json_t *actor = actor_from_row(stmt);
    if (actor == NULL)
        return NULL;
    return json_pack(
        "{s:I, s:o, s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:o, s:o}", "seq",
        (json_int_t)sqlite3_column_int64(stmt, COL_SEQ), "at", sqlite_column_string(stmt, COL_AT),
        "request_id", sqlite_column_string(stmt, COL_REQUEST_ID), "actor", actor, "method",
        sqlite_column_string(stmt, COL_METHOD), "path", sqlite_column_string(stmt, COL_PATH),
        "status", sqlite3_column_int(stmt, COL_STATUS), "outcome",
        sqlite_column_string(stmt, COL_OUTCOME), "object_type",
        sqlite_column_string(stmt, COL_OBJECT_TYPE), "object_id",
        sqlite_column_string(stmt, COL_OBJECT_ID), "detail",
        sqlite_column_string(stmt, COL_DETAIL));
}

int sqlite_audit_list(struct coi_storage *s, json_t **out, const struct coi_audit_query *q)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    const char *sql = q->sub != NULL         ? LIST_BY_SUB_SQL
                      : q->object_id != NULL ? LIST_BY_OBJECT_SQL
                                             : LIST_ALL_SQL;
    const char *params[] = {q->sub, q->object_id, q->outcome};
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *list = NULL;
    int rc, step;

    *out = NULL;
    if (q->limit < 1)
        return coi_error_set(COI_EINVALID, "limit", "limit must be at least 1");
    if ((list = json_array()) == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, sql)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 3)) != COI_OK)
        goto out;
    sqlite3_bind_int64(stmt, 4, q->before_seq > 0 ? q->before_seq : INT64_MAX);
    sqlite3_bind_int(stmt, 5, q->limit);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
        if (json_array_append_new(list, entry_from_row(stmt)) != 0) {
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
            goto out;
        }
    if (step != SQLITE_DONE) {
        rc = sqlite_fail(db, step, NULL, "cannot read the audit log");
        goto out;
    }
    *out = list;
    list = NULL;
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    json_decref(list);
    return rc;
}
