/* SQLite cases, finding them: struct coi_case_query as one statement for a list, a count or
 * the facets. */
#include "storage/sqlite/sqlite_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "storage/search.h"

/* The SQL is assembled from the FIXED fragments below, chosen by the sort and by which filters
 * the query has; every value is bound. Each parameter has one number in every statement:
 *   ?1 see_all, ?2 viewer_org (SQLITE_CASE_VISIBLE), ?3..?13 the list filters (JSON arrays),
 *   ?14 updated_since, ?15 started_from, ?16 started_to, ?17 min_evidence_level,
 *   ?18 the FTS5 expression, ?19 and ?20 the `after` key and id, ?21 the limit. */
enum {
    P_SEE_ALL = 1,
    P_VIEWER = 2,
    P_UPDATED_SINCE = 14,
    P_STARTED_FROM,
    P_STARTED_TO,
    P_MIN_EVIDENCE,
    P_MATCH,
    P_AFTER_KEY,
    P_AFTER_ID,
    P_LIMIT,
};

/* The list filters: the case's value (FILTER), or any value of its JSON array (ANY_FILTER), is
 * one of the JSON array bound to ?n. */
#define IN_LIST(n) " IN (SELECT value FROM json_each(?" #n "))"
#define FILTER(field, n, value)                                                                    \
    {                                                                                              \
        offsetof(struct coi_case_query, field), n, value IN_LIST(n)                                \
    }
#define ANY_FILTER(field, n, array)                                                                \
    {                                                                                              \
        offsetof(struct coi_case_query, field), n,                                                 \
            "EXISTS (SELECT 1 FROM json_each(" array ") j WHERE j.value" IN_LIST(n) ")"            \
    }

static const struct {
    size_t offset; /* of the struct coi_strings in struct coi_case_query */
    int param;
    const char *sql;
} LIST_FILTERS[] = {
    FILTER(statuses, 3, "c.status"),
    FILTER(organisation_codes, 4, "c.organisation_code"),
    /* the lead or a partner is the region itself or lies in it */
    {offsetof(struct coi_case_query, region_codes), 5,
     "EXISTS (SELECT 1 FROM organisations o WHERE o.code IN (SELECT c.organisation_code"
     " UNION ALL SELECT p.organisation_code FROM case_partners p WHERE p.case_id = c.id)"
     " AND (CASE o.kind WHEN 'region' THEN o.code ELSE o.region_code END)" IN_LIST(5) ")"},
    ANY_FILTER(government_levels, 6, "c.government_levels"),
    ANY_FILTER(innovation_types, 7, "c.doc, '$.innovation_types'"),
    FILTER(sectors, 8, "c.sector"),
    FILTER(implementation_statuses, 9, "c.implementation_status"),
    ANY_FILTER(effect_types, 10, "c.doc, '$.effect_types'"),
    FILTER(spread_potential_ratings, 11, "c.spread_potential_rating"),
    FILTER(origins, 12, "c.origin"),
    ANY_FILTER(tags, 13, "c.doc, '$.tags'"),
};
#define N_LIST_FILTERS (sizeof LIST_FILTERS / sizeof LIST_FILTERS[0])

/* A listed case is visible to the viewer, so of the evaluation visibility rule only
 * SQLITE_EVALUATION_SHOWN is left to check. */
#define SHOWN_EVALUATION                                                                           \
    "SELECT 1 FROM evaluations e WHERE e.case_id = c.id AND " SQLITE_EVALUATION_SHOWN

/* The matching cases of a search, and their rank (coi_rank, fts_danish.c) for the relevance
 * sort, which joins them as `h`. */
static const char SEARCH_FILTER[] =
    " AND c.search_key IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH ?18)";
static const char SEARCH_JOIN[] =
    " JOIN (SELECT rowid AS search_key, coi_rank(cases_fts) AS score FROM cases_fts"
    " WHERE cases_fts MATCH ?18) h ON h.search_key = c.search_key";
static const char SNIPPET[] =
    "(SELECT snippet(cases_fts, -1, '<mark>', '</mark>', '\xe2\x80\xa6', 24) FROM cases_fts"
    " WHERE cases_fts MATCH ?18 AND rowid = c.search_key)";

/* The sorts: the first value of "_sort_key" (its JSON type), and the direction; id follows in
 * the same direction. SQLite puts NULL below every value, so published_at DESC lists the
 * never-published last. */
enum key_type { KEY_TEXT, KEY_TEXT_OR_NULL, KEY_INTEGER };
static const struct {
    const char *key;
    int desc;
    enum key_type type;
} SORTS[] = {
    [COI_SORT_UPDATED_DESC] = {"c.updated_at", 1, KEY_TEXT},
    [COI_SORT_UPDATED_ASC] = {"c.updated_at", 0, KEY_TEXT},
    [COI_SORT_TITLE] = {"c.title", 0, KEY_TEXT},
    [COI_SORT_ADOPTIONS_DESC] = {"c.adoption_count", 1, KEY_INTEGER},
    [COI_SORT_PUBLISHED_DESC] = {"c.published_at", 1, KEY_TEXT_OR_NULL},
    [COI_SORT_RELEVANCE] = {"h.score", 1, KEY_INTEGER},
};

/* The rows after (?19, ?20) in published_at DESC (NULL last), id DESC order. */
static const char AFTER_PUBLISHED[] =
    " AND (c.published_at < ?19 OR (c.published_at = ?19 AND c.id < ?20)"
    " OR (c.published_at IS NULL AND (?19 IS NOT NULL OR c.id < ?20)))";

/* see_all, viewer, the lists, three dates, a level, the search, `after` and the limit */
#define MAX_BINDINGS (2 + N_LIST_FILTERS + 3 + 1 + 1 + 2 + 1)

/* The value of one parameter: text (borrowed), an integer or NULL. */
struct binding {
    int param;
    const char *text; /* NULL: the integer, unless is_null */
    sqlite3_int64 integer;
    int is_null;
};

/* A statement being assembled: its text and the values of its parameters. */
struct case_sql {
    sqlite3_str *text;
    struct binding bindings[MAX_BINDINGS];
    int n_bindings;
    char *owned[N_LIST_FILTERS + 1]; /* the JSON lists and the FTS5 expression */
    int n_owned;
    int nothing; /* the search holds only stop words: no case matches */
};

static void sql_free(struct case_sql *w)
{
    sqlite3_free(sqlite3_str_finish(w->text));
    for (int i = 0; i < w->n_owned; i++)
        free(w->owned[i]);
}

static void add(struct case_sql *w, const char *fragment)
{
    sqlite3_str_appendall(w->text, fragment);
}

/* Binds borrowed text `value` (NULL: SQL NULL) to ?param. */
static void bind_text(struct case_sql *w, int param, const char *value)
{
    w->bindings[w->n_bindings++] = (struct binding){param, value, 0, value == NULL};
}

static void bind_int(struct case_sql *w, int param, sqlite3_int64 value)
{
    w->bindings[w->n_bindings++] = (struct binding){param, NULL, value, 0};
}

/* `list` as a JSON array text, owned by `w`; NULL when out of memory. */
static const char *json_list(struct case_sql *w, const struct coi_strings *list)
{
    json_t *a = json_array();
    char *text = NULL;
    for (size_t i = 0; a != NULL && i < list->n; i++)
        if (json_array_append_new(a, json_string(list->items[i])) != 0)
            goto out;
    if (a != NULL && (text = json_dumps(a, JSON_COMPACT)) != NULL)
        w->owned[w->n_owned++] = text;
out:
    json_decref(a);
    return text;
}

/* The FTS5 expression of `search` (owned by `w`) without the terms that hold no indexed word:
 * PostgreSQL drops stop words from a tsquery, while FTS5 would match nothing for a phrase left
 * empty. Sets w->nothing when no term is left. */
static int match_expression(struct case_sql *w, const struct coi_search *search, const char **out)
{
    struct coi_search kept = {0}; /* borrows the words of `search` */
    *out = NULL;
    for (size_t i = 0; i < search->n_terms; i++)
        for (size_t j = 0; j < search->terms[i].n_words; j++)
            if (sqlite_fts_indexes(search->terms[i].words[j])) {
                kept.terms[kept.n_terms++] = search->terms[i];
                break;
            }
    if (kept.n_terms == 0) {
        w->nothing = 1;
        return COI_OK;
    }
    char *expression = storage_search_fts5(&kept);
    if (expression == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    w->owned[w->n_owned++] = expression;
    *out = expression;
    return COI_OK;
}

/* Starts `w` with `head` (a fixed fragment) and finds what the search of `q` looks for. */
static int sql_begin(struct case_sql *w, const struct coi_case_query *q, const char *head)
{
    const char *match = NULL;
    memset(w, 0, sizeof *w);
    w->text = sqlite3_str_new(NULL);
    add(w, head);
    if (q->search != NULL) {
        int rc = match_expression(w, q->search, &match);
        if (rc != COI_OK)
            return rc;
        if (match != NULL)
            bind_text(w, P_MATCH, match);
    }
    return COI_OK;
}

/* Appends the WHERE clause of every filter of `q` (the search too unless it is joined). */
static int add_where(struct case_sql *w, const struct coi_case_query *q, int joined)
{
    add(w, " WHERE " SQLITE_CASE_VISIBLE);
    bind_int(w, P_SEE_ALL, q->see_all != 0);
    bind_text(w, P_VIEWER, q->viewer_org);
    for (size_t i = 0; i < N_LIST_FILTERS; i++) {
        const struct coi_strings *list =
            (const struct coi_strings *)((const char *)q + LIST_FILTERS[i].offset);
        if (list->n == 0)
            continue;
        const char *json = json_list(w, list);
        if (json == NULL)
            return coi_error_set(COI_ENOMEM, NULL, "out of memory");
        add(w, " AND ");
        add(w, LIST_FILTERS[i].sql);
        bind_text(w, LIST_FILTERS[i].param, json);
    }
    if (q->updated_since != NULL) {
        add(w, " AND c.updated_at >= strftime('%Y-%m-%dT%H:%M:%fZ', ?14)");
        bind_text(w, P_UPDATED_SINCE, q->updated_since);
    }
    if (q->started_from != NULL) {
        add(w, " AND c.started_on >= ?15");
        bind_text(w, P_STARTED_FROM, q->started_from);
    }
    if (q->started_to != NULL) {
        add(w, " AND c.started_on <= ?16");
        bind_text(w, P_STARTED_TO, q->started_to);
    }
    if (q->has_evaluation == 1)
        add(w, " AND EXISTS (" SHOWN_EVALUATION ")");
    else if (q->has_evaluation == 2)
        add(w, " AND NOT EXISTS (" SHOWN_EVALUATION ")");
    if (q->min_evidence_level > 0) {
        add(w, " AND EXISTS (" SHOWN_EVALUATION " AND e.evidence_level >= ?17)");
        bind_int(w, P_MIN_EVIDENCE, q->min_evidence_level);
    }
    if (q->search != NULL && !joined)
        add(w, SEARCH_FILTER);
    return COI_OK;
}

/* Appends the keyset condition of `after` for `sort`: the rows that come after it. */
static int add_after(struct case_sql *w, const struct coi_case_query *q, int sort)
{
    const json_t *key = json_array_get(q->after, 0), *id = json_array_get(q->after, 1);
    enum key_type type = SORTS[sort].type;
    int ok = json_is_array(q->after) && json_array_size(q->after) == 2 && json_is_string(id) &&
             (type == KEY_INTEGER
                  ? json_is_integer(key)
                  : json_is_string(key) || (type == KEY_TEXT_OR_NULL && json_is_null(key)));
    if (!ok)
        return coi_error_set(COI_EINVALID, "after", "not a sort key of this list");
    if (sort == COI_SORT_PUBLISHED_DESC) {
        add(w, AFTER_PUBLISHED);
    } else {
        add(w, " AND (");
        add(w, SORTS[sort].key);
        add(w, SORTS[sort].desc ? ", c.id) < (?19, ?20)" : ", c.id) > (?19, ?20)");
    }
    if (type == KEY_INTEGER)
        bind_int(w, P_AFTER_KEY, json_integer_value(key));
    else
        bind_text(w, P_AFTER_KEY, json_string_value(key));
    bind_text(w, P_AFTER_ID, json_string_value(id));
    return COI_OK;
}

/* Prepares the assembled statement and binds its parameters. */
static int sql_prepare(sqlite3 *db, sqlite3_stmt **out, struct case_sql *w)
{
    *out = NULL;
    if (sqlite3_str_errcode(w->text) != SQLITE_OK)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    int rc = sqlite_prepare(db, out, sqlite3_str_value(w->text));
    for (int i = 0; rc == COI_OK && i < w->n_bindings; i++) {
        int bound = w->bindings[i].is_null ? sqlite3_bind_null(*out, w->bindings[i].param)
                    : w->bindings[i].text != NULL
                        ? sqlite3_bind_text(*out, w->bindings[i].param, w->bindings[i].text, -1,
                                            SQLITE_STATIC)
                        : sqlite3_bind_int64(*out, w->bindings[i].param, w->bindings[i].integer);
        if (bound != SQLITE_OK)
            rc = sqlite_fail(db, bound, NULL, "cannot bind a parameter");
    }
    return rc;
}

/* The record of the current row of the list statement: the case, "_sort_key" and, when the
 * statement selects one, "_snippet". New reference in *out. */
static int listed_case(json_t **out, sqlite3_stmt *stmt, int with_snippet)
{
    int k = SQLITE_CASE_COLUMN_COUNT, rc = sqlite_case_from_row(out, stmt);
    if (rc != COI_OK)
        return rc;
    json_t *key = sqlite3_column_type(stmt, k) == SQLITE_INTEGER
                      ? json_integer(sqlite3_column_int64(stmt, k))
                      : sqlite_column_string(stmt, k);
    json_t *sort_key = json_pack("[o, O]", key, json_object_get(*out, "id"));
    if (sort_key == NULL || json_object_set_new(*out, "_sort_key", sort_key) != 0 ||
        (with_snippet && sqlite3_column_type(stmt, k + 1) != SQLITE_NULL &&
         json_object_set_new(*out, "_snippet", sqlite_column_string(stmt, k + 1)) != 0)) {
        json_decref(*out);
        *out = NULL;
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    }
    return COI_OK;
}

/* The page is chosen on the sort columns alone; the records (and snippets) are then built for
 * its rows only. */
int sqlite_case_list(struct coi_storage *s, json_t **out, const struct coi_case_query *q)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct case_sql w;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array(), *c;
    int rc, step,
        sort = q->sort >= COI_SORT_UPDATED_DESC && q->sort <= COI_SORT_RELEVANCE
                   ? (int)q->sort
                   : COI_SORT_UPDATED_DESC;
    int joined = sort == COI_SORT_RELEVANCE, with_snippet = q->highlight && q->search != NULL;

    *out = NULL;
    if ((rc = sql_begin(&w, q, "SELECT " SQLITE_CASE_COLUMNS ", page.sort_value, ")) != COI_OK)
        goto out;
    if (list == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    if (joined && q->search == NULL) {
        rc = coi_error_set(COI_EINVALID, "sort", "the relevance sort needs a search");
        goto out;
    }
    if (w.nothing)
        goto done;
    add(&w, with_snippet ? SNIPPET : "NULL");
    add(&w, " FROM (SELECT c.id AS id, ");
    add(&w, SORTS[sort].key);
    add(&w, " AS sort_value FROM cases c");
    if (joined)
        add(&w, SEARCH_JOIN);
    if ((rc = add_where(&w, q, joined)) != COI_OK ||
        (q->after != NULL && (rc = add_after(&w, q, sort)) != COI_OK))
        goto out;
    add(&w, " ORDER BY ");
    add(&w, SORTS[sort].key);
    add(&w, SORTS[sort].desc ? " DESC, c.id DESC LIMIT ?21) page JOIN cases c ON c.id = page.id"
                               " ORDER BY page.sort_value DESC, page.id DESC"
                             : ", c.id LIMIT ?21) page JOIN cases c ON c.id = page.id"
                               " ORDER BY page.sort_value, page.id");
    bind_int(&w, P_LIMIT, q->limit > 0 ? q->limit : -1); /* a negative LIMIT: no limit */
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sql_prepare(db, &stmt, &w)) != COI_OK)
        goto out;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if ((rc = listed_case(&c, stmt, with_snippet)) != COI_OK)
            goto out;
        if (json_array_append_new(list, c) != 0) {
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = sqlite_fail(db, step, NULL, "cannot list cases");
        goto out;
    }
done:
    *out = list;
    list = NULL;
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    sql_free(&w);
    json_decref(list);
    return rc;
}

int sqlite_case_count(struct coi_storage *s, int64_t *out, const struct coi_case_query *q)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct case_sql w;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc, step;

    *out = 0; /* also when the search has nothing to look for (w.nothing) */
    if ((rc = sql_begin(&w, q, "SELECT count(*) FROM cases c")) != COI_OK || w.nothing ||
        (rc = add_where(&w, q, 0)) != COI_OK || (rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sql_prepare(db, &stmt, &w)) != COI_OK)
        goto out;
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    else
        rc = sqlite_fail(db, step, NULL, "cannot count cases");
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    sql_free(&w);
    return rc;
}

/* The facets, in the order case_facets documents them. */
static const char *const FACETS[] = {
    "innovation_type",       "sector", "government_level", "region_code",
    "implementation_status", "status", "effect_type"};

/* Each facet counts the distinct matching cases (`m`) per value; the regions are those of the
 * lead and the partners. json_each yields one NULL row for an array that is null. */
static const char FACETS_SQL[] =
    " SELECT 0, j.value, count(DISTINCT m.id) FROM m, json_each(m.innovation_types) j"
    "  WHERE j.value IS NOT NULL GROUP BY j.value"
    " UNION ALL SELECT 1, m.sector, count(*) FROM m WHERE m.sector IS NOT NULL GROUP BY m.sector"
    " UNION ALL SELECT 2, j.value, count(DISTINCT m.id) FROM m, json_each(m.government_levels) j"
    "  GROUP BY j.value"
    " UNION ALL SELECT 3, r.region, count(DISTINCT r.id) FROM ("
    "  SELECT w.id, CASE o.kind WHEN 'region' THEN o.code ELSE o.region_code END AS region"
    "  FROM (SELECT m.id, m.organisation_code AS code FROM m UNION ALL"
    "        SELECT p.case_id, p.organisation_code FROM m JOIN case_partners p ON p.case_id = m.id)"
    "  w JOIN organisations o ON o.code = w.code) r WHERE r.region IS NOT NULL GROUP BY r.region"
    " UNION ALL SELECT 4, m.implementation_status, count(*) FROM m"
    "  WHERE m.implementation_status IS NOT NULL GROUP BY m.implementation_status"
    " UNION ALL SELECT 5, m.status, count(*) FROM m GROUP BY m.status"
    " UNION ALL SELECT 6, j.value, count(DISTINCT m.id) FROM m, json_each(m.effect_types) j"
    "  WHERE j.value IS NOT NULL GROUP BY j.value";

/* {"innovation_type": {}, ...}: every facet, none counted yet. New reference or NULL. */
static json_t *empty_facets(void)
{
    json_t *facets = json_object();
    for (size_t i = 0; facets != NULL && i < sizeof FACETS / sizeof FACETS[0]; i++)
        if (json_object_set_new(facets, FACETS[i], json_object()) != 0) {
            json_decref(facets);
            return NULL;
        }
    return facets;
}

int sqlite_case_facets(struct coi_storage *s, json_t **out, const struct coi_case_query *q)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct case_sql w;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *facets = empty_facets();
    int rc, step;

    *out = NULL;
    if (facets == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if ((rc = sql_begin(&w, q,
                        "WITH m AS MATERIALIZED (SELECT c.id, c.status, c.sector,"
                        " c.implementation_status, c.government_levels, c.organisation_code,"
                        " json_extract(c.doc, '$.innovation_types') AS innovation_types,"
                        " json_extract(c.doc, '$.effect_types') AS effect_types FROM cases c")) !=
        COI_OK)
        goto out;
    if (w.nothing)
        goto done;
    if ((rc = add_where(&w, q, 0)) != COI_OK)
        goto out;
    add(&w, ")");
    add(&w, FACETS_SQL);
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sql_prepare(db, &stmt, &w)) != COI_OK)
        goto out;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        int facet = sqlite3_column_int(stmt, 0);
        const char *value = (const char *)sqlite3_column_text(stmt, 1);
        if (facet < 0 || facet >= (int)(sizeof FACETS / sizeof FACETS[0]) || value == NULL)
            continue;
        if (json_object_set_new(json_object_get(facets, FACETS[facet]), value,
                                json_integer(sqlite3_column_int64(stmt, 2))) != 0) {
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = sqlite_fail(db, step, NULL, "cannot count the facets of cases");
        goto out;
    }
done:
    *out = facets;
    facets = NULL;
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    sql_free(&w);
    json_decref(facets);
    return rc;
}
