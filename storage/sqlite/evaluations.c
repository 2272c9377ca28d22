/* SQLite evaluations, read side: the evaluation record, get, list, history and summaries. */
#include "storage/sqlite/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#define EVALUATION_SELECT                                                                          \
    "SELECT e.id, e.case_id, e.doc, e.status, e.version, e.created_at, e.updated_at,"              \
    " e.published_at FROM evaluations e"

enum {
    COL_ID,
    COL_CASE,
    COL_DOC,
    COL_STATUS,
    COL_VERSION,
    COL_CREATED,
    COL_UPDATED,
    COL_PUBLISHED,
};

static const char GET_SQL[] = EVALUATION_SELECT " WHERE e.id = ?1";

/* Visibility as struct coi_evaluation_query documents it (?1, ?2); every filter is optional
 * (NULL or 0: none). */
static const char LIST_SQL[] =
    EVALUATION_SELECT " JOIN cases c ON c.id = e.case_id"
                      " WHERE " SQLITE_CASE_VISIBLE " AND " SQLITE_EVALUATION_SHOWN
                      " AND (?3 IS NULL OR e.case_id = ?3)"
                      " AND (?4 IS NULL OR e.method = ?4)"
                      " AND (?5 <= 0 OR e.evidence_level = ?5)"
                      " AND (?6 IS NULL OR e.evaluator_kind = ?6)"
                      " AND (?7 IS NULL OR e.status = ?7)"
                      " AND (?8 IS NULL OR e.id > ?8)"
                      " ORDER BY e.id LIMIT ?9";

/* See sqlite_history_read for the shape (one all-NULL row: the evaluation has no match). */
static const char HISTORY_SQL[] =
    "SELECT h.version, h.at, h.actor, h.action, h.from_status, h.to_status, h.note,"
    " h.changed_fields FROM evaluations e LEFT JOIN evaluation_history h"
    " ON h.evaluation_id = e.id AND (?2 <= 0 OR h.version < ?2)"
    " WHERE e.id = ?1 ORDER BY h.version DESC LIMIT ?3";

/* One row per distinct case id of the JSON array ?3, with what its visible evaluations
 * document; the LEFT JOIN keeps ids without any. The methods come unordered (SQLite 3.40
 * does not promise the order json_group_array sees rows in) and are sorted in C. */
static const char SUMMARIES_SQL[] =
    "WITH wanted (case_id) AS (SELECT DISTINCT value FROM json_each(?3)),"
    " shown AS (SELECT e.case_id, e.status, e.evidence_level, e.method,"
    "  json_extract(e.doc, '$.economic.annual_savings_dkk') AS savings"
    "  FROM evaluations e JOIN cases c ON c.id = e.case_id"
    "  WHERE e.case_id IN (SELECT case_id FROM wanted)"
    "  AND " SQLITE_CASE_VISIBLE " AND " SQLITE_EVALUATION_SHOWN ")"
    " SELECT w.case_id, count(s.case_id), coalesce(sum(s.status = 'published'), 0),"
    " max(s.evidence_level), coalesce(sum(s.savings), 0),"
    " json_group_array(DISTINCT s.method) FILTER (WHERE s.method IS NOT NULL)"
    " FROM wanted w LEFT JOIN shown s ON s.case_id = w.case_id GROUP BY w.case_id";

/* The record of the current row of an EVALUATION_SELECT statement: the stored document plus
 * the columns, which win over keys of the same name in the document. *out is a new
 * reference. */
static int evaluation_from_row(json_t **out, sqlite3_stmt *stmt)
{
    static const struct {
        const char *key;
        int column;
    } strings[] = {
        {"id", COL_ID},
        {"case_id", COL_CASE},
        {"status", COL_STATUS},
        {"created_at", COL_CREATED},
        {"updated_at", COL_UPDATED},
        {"published_at", COL_PUBLISHED},
    };
    json_t *e = sqlite_column_json(stmt, COL_DOC);

    *out = NULL;
    if (!json_is_object(e))
        goto fail;
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if (json_object_set_new(e, strings[i].key, sqlite_column_string(stmt, strings[i].column)) !=
            0)
            goto fail;
    if (json_object_set_new(e, "version", json_integer(sqlite3_column_int64(stmt, COL_VERSION))))
        goto fail;
    *out = e;
    return COI_OK;
fail:
    json_decref(e);
    return coi_error_set(COI_ERROR, NULL, "cannot build the record of evaluation %s",
                         (const char *)sqlite3_column_text(stmt, COL_ID));
}

/* Steps an EVALUATION_SELECT statement to the end, appending each record to `list`. */
static int collect_evaluations(json_t *list, sqlite3 *db, sqlite3_stmt *stmt)
{
    json_t *e;
    int step, rc;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if ((rc = evaluation_from_row(&e, stmt)) != COI_OK)
            return rc;
        if (json_array_append_new(list, e) != 0)
            return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    }
    return step == SQLITE_DONE ? COI_OK : sqlite_fail(db, step, NULL, "cannot read evaluations");
}

int sqlite_evaluation_read(sqlite3 *db, json_t **out, const char *id)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array();
    int rc;

    *out = NULL;
    if (list == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if ((rc = sqlite_prepare(db, &stmt, GET_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, &id, 1)) != COI_OK ||
        (rc = collect_evaluations(list, db, stmt)) != COI_OK)
        goto out;
    if (json_array_size(list) == 0)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no evaluation with id %s", id);
    else
        *out = json_incref(json_array_get(list, 0));
out:
    sqlite3_finalize(stmt);
    json_decref(list);
    return rc;
}

int sqlite_evaluation_get(struct coi_storage *s, json_t **out, const char *id)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    int rc;
    *out = NULL;
    if ((rc = sqlite_conn_acquire(st, &db)) == COI_OK)
        rc = sqlite_evaluation_read(db, out, id);
    sqlite_conn_release(st, db);
    return rc;
}

int sqlite_evaluation_list(struct coi_storage *s, json_t **out,
                           const struct coi_evaluation_query *q)
{
    static const struct coi_evaluation_query published = {0};
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array();
    int rc;

    *out = NULL;
    if (q == NULL)
        q = &published;
    if (list == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    const char *params[] = {NULL, q->viewer_org,     q->case_id, q->method,
                            NULL, q->evaluator_kind, q->status,  q->after_id};
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, LIST_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 8)) != COI_OK)
        goto out;
    sqlite3_bind_int(stmt, 1, q->see_all != 0);
    sqlite3_bind_int(stmt, 5, q->evidence_level);
    sqlite3_bind_int(stmt, 9, q->limit > 0 ? q->limit : -1); /* a negative LIMIT: no limit */
    if ((rc = collect_evaluations(list, db, stmt)) != COI_OK)
        goto out;
    *out = list;
    list = NULL;
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    json_decref(list);
    return rc;
}

int sqlite_evaluation_history(struct coi_storage *s, json_t **out, const char *id,
                              int64_t before_version, int limit)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    int rc;

    *out = NULL;
    if ((rc = sqlite_conn_acquire(st, &db)) == COI_OK)
        rc = sqlite_history_read(db, out, HISTORY_SQL, id, before_version, limit, "evaluation");
    sqlite_conn_release(st, db);
    return rc;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* Sorts the strings of array `a` in place (byte order). COI_OK or COI_ENOMEM. */
static int sort_strings(json_t *a)
{
    size_t n = json_array_size(a);
    json_t **items = calloc(n + 1, sizeof *items);
    int rc = COI_OK;

    if (items == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    for (size_t k = 0; k < n; k++)
        items[k] = json_incref(json_array_get(a, k));
    qsort(items, n, sizeof *items, compare_strings);
    for (size_t k = 0; k < n; k++)
        if (rc == COI_OK && json_array_set(a, k, items[k]) != 0)
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
    for (size_t k = 0; k < n; k++)
        json_decref(items[k]);
    free(items);
    return rc;
}

/* The summary of the current SUMMARIES_SQL row (new reference, NULL on failure). The savings
 * sum is an integer unless a stored amount has a fraction. */
static json_t *summary_from_row(sqlite3_stmt *stmt)
{
    json_t *methods = sqlite_column_json(stmt, 5), *savings, *best;

    if (!json_is_array(methods) || sort_strings(methods) != COI_OK) {
        json_decref(methods);
        return NULL;
    }
    savings = sqlite3_column_type(stmt, 4) == SQLITE_FLOAT
                  ? json_real(sqlite3_column_double(stmt, 4))
                  : json_integer(sqlite3_column_int64(stmt, 4));
    best = sqlite3_column_type(stmt, 3) == SQLITE_NULL
               ? json_null()
               : json_integer(sqlite3_column_int64(stmt, 3));
    return json_pack("{s:I, s:I, s:o, s:o, s:o}", "count",
                     (json_int_t)sqlite3_column_int64(stmt, 1), "published_count",
                     (json_int_t)sqlite3_column_int64(stmt, 2), "best_evidence_level", best,
                     "documented_annual_savings_dkk", savings, "methods", methods);
}

/* The case ids as JSON array text into *out (free()). */
static int ids_text(char **out, const char *const *case_ids, size_t n)
{
    json_t *ids = json_array();
    int rc = COI_OK;

    *out = NULL;
    for (size_t i = 0; ids != NULL && rc == COI_OK && i < n; i++)
        if (case_ids[i] == NULL)
            rc = coi_error_set(COI_EINVALID, NULL, "case id %zu is NULL", i);
        else if (json_array_append_new(ids, json_string(case_ids[i])) != 0)
            break;
    if (rc == COI_OK && (ids == NULL || json_array_size(ids) != n ||
                         (*out = json_dumps(ids, JSON_COMPACT)) == NULL))
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
    json_decref(ids);
    return rc;
}

int sqlite_evaluation_summaries(struct coi_storage *s, json_t **out, const char *const *case_ids,
                                size_t n, const struct coi_evaluation_query *q)
{
    static const struct coi_evaluation_query published = {0};
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *summaries = json_object(), *one;
    char *ids = NULL;
    int rc, step;

    *out = NULL;
    if (q == NULL)
        q = &published;
    if (summaries == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if ((rc = ids_text(&ids, case_ids, n)) != COI_OK)
        goto out;
    const char *params[] = {NULL, q->viewer_org, ids};
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, SUMMARIES_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 3)) != COI_OK)
        goto out;
    sqlite3_bind_int(stmt, 1, q->see_all != 0);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *case_id = (const char *)sqlite3_column_text(stmt, 0);
        if (case_id == NULL || (one = summary_from_row(stmt)) == NULL ||
            json_object_set_new(summaries, case_id, one) != 0) {
            rc = coi_error_set(COI_ERROR, NULL, "cannot build the evaluation summaries");
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = sqlite_fail(db, step, NULL, "cannot summarise evaluations");
        goto out;
    }
    *out = summaries;
    summaries = NULL;
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    json_decref(summaries);
    free(ids);
    return rc;
}
