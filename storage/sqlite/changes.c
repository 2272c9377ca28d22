/* SQLite change feed: the change rows every write appends, and reading them per viewer.
 *
 * Seq order is commit order because SQLite has one writer at a time: every write holds the
 * write lock from its BEGIN IMMEDIATE to its COMMIT, so no transaction can draw a seq while
 * another one that drew a lower seq is still open. */
#include "storage/sqlite/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The organisations that may see a case aliased `c` even when it is not public: its lead and
 * its partners (policy.c), as a JSON array text (in no particular order). */
#define CASE_ORGS                                                                                  \
    "(SELECT json_group_array(m.code) FROM (SELECT c.organisation_code AS code"                    \
    " UNION ALL SELECT p.organisation_code FROM case_partners p WHERE p.case_id = c.id) m)"

/* Per type, the visibility of object ?1: case id, version, public (0/1), orgs, the case's
 * lead. The rule of auth/policy.c: an evaluation is public when it and its case are published,
 * and seen by the case's partners only when published; an adoption goes with its case. */
static const char CASE_VISIBILITY_SQL[] =
    "SELECT c.id, c.version, c.status = 'published', " CASE_ORGS ", c.organisation_code"
    " FROM cases c WHERE c.id = ?1";
static const char EVALUATION_VISIBILITY_SQL[] =
    "SELECT e.case_id, e.version, e.status = 'published' AND c.status = 'published',"
    " CASE WHEN e.status = 'published' THEN " CASE_ORGS " ELSE json_array(c.organisation_code)"
    " END, c.organisation_code FROM evaluations e JOIN cases c ON c.id = e.case_id"
    " WHERE e.id = ?1";
static const char ADOPTION_VISIBILITY_SQL[] =
    "SELECT a.case_id, a.version, c.status = 'published', " CASE_ORGS ", c.organisation_code"
    " FROM adoptions a JOIN cases c ON c.id = a.case_id WHERE a.id = ?1";

static const char INSERT_SQL[] =
    "INSERT INTO changes (at, type, object_id, case_id, action, version, public_before,"
    " orgs_before, public_after, orgs_after)"
    " VALUES (coalesce(?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
    " ?9, ?10)";

/* Whether JSON arrays `a` and `b` hold different sets of values. */
#define DIFFERENT_SETS(a, b)                                                                       \
    "(EXISTS (SELECT value FROM json_each(" a ") EXCEPT SELECT value FROM json_each(" b "))"       \
    " OR EXISTS (SELECT value FROM json_each(" b ") EXCEPT SELECT value FROM json_each(" a ")))"

/* Case ?1 was written at ?2 (NULL: now); before the write it was public ?3 (0/1) to orgs ?4
 * (JSON array) led by ?5. An "updated" row for each evaluation and adoption of it whose
 * visibility differs between then and now: a published evaluation and any adoption are
 * visible as the case is (public with it, to its lead and partners), any other evaluation
 * only to the case's lead. Evaluations, then adoptions, each by id; versions unchanged. */
static const char CASCADE_SQL[] =
    "WITH v AS (SELECT ?3 AS pb, ?4 AS ob, json_array(?5) AS lb, c.status = 'published' AS pa,"
    " " CASE_ORGS " AS oa, json_array(c.organisation_code) AS la FROM cases c WHERE c.id = ?1),"
    " x AS (SELECT o.k, o.t, o.id, o.version, v.pb AND o.shared AS pb,"
    " CASE WHEN o.shared THEN v.ob ELSE v.lb END AS ob, v.pa AND o.shared AS pa,"
    " CASE WHEN o.shared THEN v.oa ELSE v.la END AS oa"
    " FROM v, (SELECT 0 AS k, 'evaluation' AS t, id, version, status = 'published' AS shared"
    " FROM evaluations WHERE case_id = ?1"
    " UNION ALL SELECT 1, 'adoption', id, version, 1 FROM adoptions WHERE case_id = ?1) o)"
    " INSERT INTO changes (at, type, object_id, case_id, action, version, public_before,"
    " orgs_before, public_after, orgs_after)"
    " SELECT coalesce(?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), x.t, x.id, ?1, 'updated',"
    " x.version, x.pb, x.ob, x.pa, x.oa FROM x"
    " WHERE x.pb <> x.pa OR " DIFFERENT_SETS("x.ob", "x.oa") " ORDER BY x.k, x.id";

/* Whether the viewer (?1 see_all, ?2 viewer_org) may see a change's object before / after it. */
#define SEES_BEFORE                                                                                \
    "(?1 OR public_before OR (?2 IS NOT NULL AND EXISTS ("                                         \
    " SELECT 1 FROM json_each(orgs_before) WHERE value = ?2)))"
#define SEES_AFTER                                                                                 \
    "(?1 OR public_after OR (?2 IS NOT NULL AND EXISTS ("                                          \
    " SELECT 1 FROM json_each(orgs_after) WHERE value = ?2)))"

/* The changes after ?3 of the types in mask ?4 that the viewer may see, with the action shown
 * to that viewer; at most ?5. */
static const char LIST_SQL[] =
    "SELECT seq, type, object_id, case_id,"
    " CASE WHEN action = 'deleted' OR " SEES_AFTER " THEN action ELSE 'removed' END,"
    " at, version FROM changes WHERE seq > ?3"
    " AND (?4 & CASE type WHEN 'case' THEN 1 WHEN 'evaluation' THEN 2 ELSE 4 END) <> 0"
    " AND (" SEES_BEFORE " OR " SEES_AFTER ") ORDER BY seq LIMIT ?5";

static const char *type_name(unsigned type)
{
    return type == COI_CHANGE_CASE         ? "case"
           : type == COI_CHANGE_EVALUATION ? "evaluation"
                                           : "adoption";
}

void sqlite_visibility_free(struct sqlite_visibility *v)
{
    free(v->orgs);
    free(v->lead);
    v->orgs = v->lead = NULL;
}

int sqlite_visibility_read(sqlite3 *db, unsigned type, const char *id,
                           struct sqlite_visibility *out)
{
    const char *sql = type == COI_CHANGE_CASE         ? CASE_VISIBILITY_SQL
                      : type == COI_CHANGE_EVALUATION ? EVALUATION_VISIBILITY_SQL
                                                      : ADOPTION_VISIBILITY_SQL;
    sqlite3_stmt *stmt = NULL;
    int rc, step;

    memset(out, 0, sizeof *out);
    if ((rc = sqlite_prepare(db, &stmt, sql)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, &id, 1)) != COI_OK)
        goto out;
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        const char *orgs = (const char *)sqlite3_column_text(stmt, 3);
        const char *lead = (const char *)sqlite3_column_text(stmt, 4);
        out->found = 1;
        snprintf(out->case_id, sizeof out->case_id, "%s",
                 (const char *)sqlite3_column_text(stmt, 0));
        out->version = sqlite3_column_int64(stmt, 1);
        out->is_public = sqlite3_column_int(stmt, 2);
        if ((out->orgs = strdup(orgs != NULL ? orgs : "[]")) == NULL ||
            (out->lead = strdup(lead != NULL ? lead : "")) == NULL)
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
    } else if (step != SQLITE_DONE) {
        rc = sqlite_fail(db, step, NULL, "cannot read who may see the object");
    }
out:
    sqlite3_finalize(stmt);
    return rc;
}

int sqlite_change_append(sqlite3 *db, unsigned type, const char *id, const char *action,
                         const char *at, const struct sqlite_visibility *before)
{
    struct sqlite_visibility after;
    sqlite3_stmt *stmt = NULL;
    int rc;

    if ((rc = sqlite_visibility_read(db, type, id, &after)) != COI_OK)
        goto out;
    /* After a delete only `before` knows the case and the last version. */
    const struct sqlite_visibility *known = after.found ? &after : before;
    const char *params[] = {at, type_name(type), id, known->case_id, action};
    if ((rc = sqlite_prepare(db, &stmt, INSERT_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 5)) != COI_OK)
        goto out;
    sqlite3_bind_int64(stmt, 6, known->version);
    sqlite3_bind_int(stmt, 7, before->found && before->is_public);
    sqlite3_bind_text(stmt, 8, before->orgs != NULL ? before->orgs : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 9, after.found && after.is_public);
    sqlite3_bind_text(stmt, 10, after.orgs != NULL ? after.orgs : "[]", -1, SQLITE_STATIC);
    rc = sqlite_step_done(db, stmt, NULL, "cannot record the change");
out:
    sqlite3_finalize(stmt);
    sqlite_visibility_free(&after);
    return rc;
}

int sqlite_change_cascade(sqlite3 *db, const char *case_id, const char *at,
                          const struct sqlite_visibility *before)
{
    sqlite3_stmt *stmt = NULL;
    const char *params[] = {case_id, at};
    int rc = sqlite_prepare(db, &stmt, CASCADE_SQL);
    if (rc == COI_OK && (rc = sqlite_bind_texts(db, stmt, params, 2)) == COI_OK) {
        sqlite3_bind_int(stmt, 3, before->found && before->is_public);
        sqlite3_bind_text(stmt, 4, before->orgs != NULL ? before->orgs : "[]", -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, before->lead, -1, SQLITE_STATIC);
        rc = sqlite_step_done(db, stmt, NULL, "cannot record the changes of the case's objects");
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* The listed change of the current row of LIST_SQL (new reference, NULL when out of memory). */
static json_t *change_from_row(sqlite3_stmt *stmt)
{
    return json_pack(
        "{s:I, s:o, s:o, s:o, s:o, s:o, s:I}", "seq", (json_int_t)sqlite3_column_int64(stmt, 0),
        "type", sqlite_column_string(stmt, 1), "id", sqlite_column_string(stmt, 2), "case_id",
        sqlite_column_string(stmt, 3), "action", sqlite_column_string(stmt, 4), "at",
        sqlite_column_string(stmt, 5), "version", (json_int_t)sqlite3_column_int64(stmt, 6));
}

/* Steps LIST_SQL (prepared and bound) into `list`. */
static int collect_changes(json_t *list, sqlite3 *db, sqlite3_stmt *stmt)
{
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
        if (json_array_append_new(list, change_from_row(stmt)) != 0)
            return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    return step == SQLITE_DONE ? COI_OK : sqlite_fail(db, step, NULL, "cannot read the changes");
}

/* The highest seq committed (0 when none) into *out. */
static int last_seq(sqlite3 *db, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, "SELECT coalesce(max(seq), 0) FROM changes");
    if (rc == COI_OK) {
        int step = sqlite3_step(stmt);
        if (step == SQLITE_ROW)
            *out = sqlite3_column_int64(stmt, 0);
        else
            rc = sqlite_fail(db, step, NULL, "cannot read the last change");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int sqlite_change_list(struct coi_storage *s, json_t **out, int64_t *next_seq,
                       const struct coi_change_query *q)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *list = NULL;
    int64_t last = 0;
    int rc;

    *out = NULL;
    *next_seq = q->after_seq;
    if (q->limit < 1)
        return coi_error_set(COI_EINVALID, "limit", "limit must be at least 1");
    if ((list = json_array()) == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    /* The page and the highest seq come from one snapshot: a change committed between them
     * would otherwise be skipped by a reader continuing after the highest seq. */
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK || (rc = sqlite_begin_read(db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, LIST_SQL)) != COI_OK)
        goto out;
    sqlite3_bind_int(stmt, 1, q->see_all != 0);
    sqlite3_bind_text(stmt, 2, q->viewer_org, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, q->after_seq);
    sqlite3_bind_int(stmt, 4, q->types != 0 ? (int)q->types : 7);
    sqlite3_bind_int(stmt, 5, q->limit);
    if ((rc = collect_changes(list, db, stmt)) != COI_OK || (rc = last_seq(db, &last)) != COI_OK)
        goto out;
    if (json_array_size(list) == (size_t)q->limit)
        last = json_integer_value(json_object_get(json_array_get(list, q->limit - 1), "seq"));
    if (last > *next_seq)
        *next_seq = last;
    *out = list;
    list = NULL;
out:
    sqlite3_finalize(stmt);
    if (db != NULL)
        sqlite_rollback(db);
    sqlite_conn_release(st, db);
    json_decref(list);
    return rc;
}

int sqlite_change_head(struct coi_storage *s, int64_t *out)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    int rc;

    *out = 0;
    if ((rc = sqlite_conn_acquire(st, &db)) == COI_OK)
        rc = last_seq(db, out);
    sqlite_conn_release(st, db);
    return rc;
}
