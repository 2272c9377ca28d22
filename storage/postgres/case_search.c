/* PostgreSQL backend: finding cases (case_list, case_count, case_facets), each one statement
 * assembled from fixed fragments chosen by the query's shape; every value is a parameter. */
#include "storage/postgres/pg_internal.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/search.h"

/* More than any query can bind: the filters, the search, the cursor and the limit. */
#define MAX_PARAMS 32

/* A statement being assembled. Its text comes from the fragments below and parameter numbers
 * only; the values are in `params` (borrowed from the query, or owned in `owned`). */
struct stmt {
    char *sql;
    size_t len, cap;
    int failed; /* out of memory, or too many parameters */
    const char *params[MAX_PARAMS];
    char *owned[MAX_PARAMS];
    int n;
    int search; /* the parameter holding the tsquery text, 0 when no search */
};

static void stmt_free(struct stmt *st)
{
    free(st->sql);
    for (int i = 0; i < st->n; i++)
        free(st->owned[i]);
}

/* Appends a fragment; `fmt` is always a literal and its arguments parameter numbers. */
__attribute__((format(printf, 2, 3))) static void put(struct stmt *st, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (st->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(st->sql != NULL ? st->sql + st->len : NULL, st->cap - st->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        st->failed = 1;
        return;
    }
    if (st->len + (size_t)n + 1 > st->cap) {
        size_t cap = (st->len + (size_t)n + 1) * 2;
        char *sql = realloc(st->sql, cap);
        if (sql == NULL) {
            st->failed = 1;
            return;
        }
        st->sql = sql;
        st->cap = cap;
        va_start(ap, fmt);
        vsnprintf(st->sql + st->len, st->cap - st->len, fmt, ap);
        va_end(ap);
    }
    st->len += (size_t)n;
}

/* Binds `value` (NULL: SQL NULL) as the next parameter and returns its number. `owned` is
 * freed with the statement. */
static int bind(struct stmt *st, const char *value, char *owned)
{
    if (st->n == MAX_PARAMS) {
        free(owned);
        st->failed = 1;
        return 1;
    }
    st->params[st->n] = owned != NULL ? owned : value;
    st->owned[st->n] = owned;
    return ++st->n;
}

/* The any-of filters whose parameter is a text[]: the condition is `before $n after`. */
static const struct {
    size_t offset;
    const char *field;
    const char *before, *after;
} LIST_FILTERS[] = {
    {offsetof(struct coi_case_query, statuses), "status", "c.status = ANY(", ")"},
    {offsetof(struct coi_case_query, organisation_codes), "organisation_code",
     "c.organisation_code = ANY(", ")"},
    {offsetof(struct coi_case_query, government_levels), "government_level",
     "c.government_levels && ", ""},
    {offsetof(struct coi_case_query, innovation_types), "innovation_type",
     "c.innovation_types && ", ""},
    {offsetof(struct coi_case_query, effect_types), "effect_type", "c.effect_types && ", ""},
    {offsetof(struct coi_case_query, tags), "tag", "c.tags && ", ""},
    {offsetof(struct coi_case_query, sectors), "sector", "c.sector = ANY(", ")"},
    {offsetof(struct coi_case_query, implementation_statuses), "implementation_status",
     "c.implementation_status = ANY(", ")"},
    {offsetof(struct coi_case_query, spread_potential_ratings), "spread_potential_rating",
     "c.spread_potential_rating = ANY(", ")"},
    {offsetof(struct coi_case_query, origins), "origin", "c.origin = ANY(", ")"},
};

/* The region an organisation aliased `o` lies in: its own code for a region. */
#define REGION_OF_O "CASE WHEN o.kind = 'region' THEN o.code ELSE o.region_code END"

/* Binds a copy of `text` (sets `failed` when out of memory). */
static int bind_copy(struct stmt *st, const char *text)
{
    char *copy = strdup(text);
    if (copy == NULL)
        st->failed = 1;
    return bind(st, NULL, copy);
}

/* Binds the list as a text[] parameter; 0 when the list is empty (no filter). */
static int bind_list(struct stmt *st, const struct coi_strings *list, const char *field, int *rc)
{
    char *text = NULL;

    if (list->n == 0)
        return 0;
    if ((*rc = pg_text_array(&text, list->items, list->n, field)) != COI_OK)
        return 0;
    return bind(st, NULL, text);
}

/* Binds the search of `q`, if any, as the tsquery text (storage_search_tsquery) that
 * to_tsquery('danish', $n) reads; first, so that the select list may use it. */
static int bind_search(struct stmt *st, const struct coi_case_query *q)
{
    char *tsquery;

    if (q->search == NULL)
        return COI_OK;
    if ((tsquery = storage_search_tsquery(q->search)) == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    st->search = bind(st, NULL, tsquery);
    return COI_OK;
}

/* The WHERE clause of `q` over cases aliased `c`: visibility, then every filter given, then
 * the search bound by bind_search. */
static int put_where(struct stmt *st, const struct coi_case_query *q)
{
    int rc = COI_OK, viewer = 0, p;

    put(st, " WHERE true");
    if (!q->see_all && q->viewer_org == NULL)
        put(st, " AND c.status = 'published'");
    else if (!q->see_all) {
        viewer = bind(st, q->viewer_org, NULL);
        put(st,
            " AND (c.status = 'published' OR c.organisation_code = $%d::text OR EXISTS (SELECT 1"
            " FROM case_partners p WHERE p.case_id = c.id AND p.organisation_code = $%d::text))",
            viewer, viewer);
    }
    for (size_t i = 0; i < sizeof LIST_FILTERS / sizeof LIST_FILTERS[0]; i++) {
        const struct coi_strings *list =
            (const struct coi_strings *)((const char *)q + LIST_FILTERS[i].offset);
        if ((p = bind_list(st, list, LIST_FILTERS[i].field, &rc)) != 0)
            put(st, " AND %s$%d::text[]%s", LIST_FILTERS[i].before, p, LIST_FILTERS[i].after);
        if (rc != COI_OK)
            return rc;
    }
    if ((p = bind_list(st, &q->region_codes, "region_code", &rc)) != 0)
        put(st,
            " AND (c.organisation_code IN (SELECT o.code FROM organisations o WHERE " REGION_OF_O
            " = ANY($%d::text[])) OR EXISTS (SELECT 1 FROM case_partners p JOIN organisations o"
            " ON o.code = p.organisation_code WHERE p.case_id = c.id AND " REGION_OF_O
            " = ANY($%d::text[])))",
            p, p);
    if (rc != COI_OK)
        return rc;
    if (q->updated_since != NULL)
        put(st, " AND c.updated_at >= $%d::timestamptz", bind(st, q->updated_since, NULL));
    /* started_on holds ISO dates, which order as text. */
    if (q->started_from != NULL)
        put(st, " AND c.started_on >= to_char($%d::date, 'YYYY-MM-DD')",
            bind(st, q->started_from, NULL));
    if (q->started_to != NULL)
        put(st, " AND c.started_on <= to_char($%d::date, 'YYYY-MM-DD')",
            bind(st, q->started_to, NULL));
    if (q->has_evaluation == 1 || q->has_evaluation == 2 || q->min_evidence_level > 0) {
        /* The evaluation rule of struct coi_evaluation_query for a case that is visible (the
         * clause above): published, or the case is the viewer's own. */
        char visible[96];
        if (q->see_all)
            snprintf(visible, sizeof visible, "true");
        else if (viewer == 0)
            snprintf(visible, sizeof visible, "e.status = 'published'");
        else
            snprintf(visible, sizeof visible,
                     "(e.status = 'published' OR c.organisation_code = $%d::text)", viewer);
        if (q->has_evaluation == 1 || q->has_evaluation == 2)
            put(st, " AND %sEXISTS (SELECT 1 FROM evaluations e WHERE e.case_id = c.id AND %s)",
                q->has_evaluation == 2 ? "NOT " : "", visible);
        if (q->min_evidence_level > 0) {
            char level[16];
            snprintf(level, sizeof level, "%d", q->min_evidence_level);
            put(st,
                " AND EXISTS (SELECT 1 FROM evaluations e WHERE e.case_id = c.id"
                " AND e.evidence_level >= $%d::integer AND %s)",
                bind_copy(st, level), visible);
        }
    }
    if (st->search != 0)
        put(st, " AND c.search @@ to_tsquery('danish', $%d::text)", st->search);
    return st->failed ? coi_error_set(COI_ENOMEM, NULL, "out of memory") : COI_OK;
}

/* One order of the list. `order` sorts the page query (rows of `c`, the rank as r.rank) and
 * `outer` the same rows once joined again (the rank as k.rank); the cursor continues after
 * `row` compared with `cmp` to (its first value cast by `cast`, its id). `key` is the
 * "_sort_key" written out: exactly the values the cursor compares, timestamps as the record
 * shows them (ms precision, which is what the columns hold). */
struct sort_spec {
    const char *order, *outer, *row, *cmp;
    const char *cast_before, *cast_after;
    const char *key;
    json_type first; /* the JSON type of the key's first value (a JSON null is also taken
                      * for the published sort: never published) */
};

/* clang-format off */
static const struct sort_spec SORTS[] = {
    [COI_SORT_UPDATED_DESC] = {
        "c.updated_at DESC, c.id DESC", "c.updated_at DESC, c.id DESC", "(c.updated_at, c.id)",
        "<", "", "::timestamptz",
        "jsonb_build_array(" PG_ISO_UTC("c.updated_at") ", c.id)", JSON_STRING},
    [COI_SORT_UPDATED_ASC] = {
        "c.updated_at, c.id", "c.updated_at, c.id", "(c.updated_at, c.id)",
        ">", "", "::timestamptz",
        "jsonb_build_array(" PG_ISO_UTC("c.updated_at") ", c.id)", JSON_STRING},
    /* Byte order, whatever the database's collation (as SQLite compares). */
    [COI_SORT_TITLE] = {
        "(c.doc ->> 'title') COLLATE \"C\", c.id", "(c.doc ->> 'title') COLLATE \"C\", c.id",
        "((c.doc ->> 'title') COLLATE \"C\", c.id)", ">", "", "::text COLLATE \"C\"",
        "jsonb_build_array(c.doc ->> 'title', c.id)", JSON_STRING},
    [COI_SORT_ADOPTIONS_DESC] = {
        "c.adoption_count DESC, c.id DESC", "c.adoption_count DESC, c.id DESC",
        "(c.adoption_count, c.id)", "<", "", "::integer",
        "jsonb_build_array(c.adoption_count, c.id)", JSON_INTEGER},
    /* Never published sorts as -infinity: last, and the cursor stays one row comparison. */
    [COI_SORT_PUBLISHED_DESC] = {
        "COALESCE(c.published_at, '-infinity') DESC, c.id DESC",
        "COALESCE(c.published_at, '-infinity') DESC, c.id DESC",
        "(COALESCE(c.published_at, '-infinity'), c.id)", "<",
        "COALESCE(", "::timestamptz, '-infinity')",
        "jsonb_build_array(" PG_ISO_UTC("c.published_at") ", c.id)", JSON_STRING},
    /* ts_rank_cd gives a float4; its text is the shortest that reads back to the same
     * float4, so the cursor compares exactly the rank the page was sorted by. */
    [COI_SORT_RELEVANCE] = {
        "r.rank DESC, c.id DESC", "k.rank DESC, c.id DESC", "(r.rank, c.id)", "<",
        "", "::real", "jsonb_build_array(k.rank::text, c.id)", JSON_STRING},
};
/* clang-format on */

/* Binds the cursor `after` of sort `s` and appends its condition. */
static int put_after(struct stmt *st, const struct sort_spec *s, const json_t *after)
{
    const json_t *first = json_array_get(after, 0), *id = json_array_get(after, 1);
    char number[32];
    int p0;

    if (!json_is_array(after) || json_array_size(after) != 2 || !json_is_string(id) ||
        !(json_typeof(first) == s->first ||
          (s == &SORTS[COI_SORT_PUBLISHED_DESC] && json_is_null(first))))
        return coi_error_set(COI_EINVALID, "cursor", "the cursor does not fit this sort");
    if (json_is_integer(first)) {
        snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value(first));
        p0 = bind_copy(st, number);
    } else
        p0 = bind(st, json_string_value(first), NULL); /* NULL for a JSON null */
    put(st, " AND %s %s (%s$%d%s, $%d::text)", s->row, s->cmp, s->cast_before, p0, s->cast_after,
        bind(st, json_string_value(id), NULL));
    return COI_OK;
}

/* The snippet of the row `c` for the search in parameter $n: ts_headline over the field that
 * matches best (ts_rank gives a field holding only some terms a tiny rank, one holding none
 * 0), the summary first when fields tie, then the longer texts, the title and the tags. */
#define SNIPPET                                                                                    \
    "(SELECT ts_headline('danish', f.t, to_tsquery('danish', $%d::text),"                          \
    " 'StartSel=<mark>, StopSel=</mark>, MaxWords=20, MinWords=8')"                                \
    " FROM (VALUES (1, c.doc ->> 'summary'), (2, c.doc ->> 'problem'),"                            \
    " (3, c.doc ->> 'solution'), (4, c.doc ->> 'lessons_learned'), (5, c.doc ->> 'title'),"        \
    " (6, array_to_string(c.tags, ', '))) f(n, t) WHERE f.t <> ''"                                 \
    " ORDER BY ts_rank(to_tsvector('danish', f.t), to_tsquery('danish', $%d::text)) DESC, f.n"     \
    " LIMIT 1)"

/* Assembles the list statement: the page of ids (and ranks) in order, then their records,
 * built for the page's rows only. */
static int list_statement(struct stmt *st, const struct coi_case_query *q)
{
    const struct sort_spec *s;
    int rc, by_rank = q->sort == COI_SORT_RELEVANCE;

    if ((unsigned)q->sort >= sizeof SORTS / sizeof SORTS[0])
        return coi_error_set(COI_EINVALID, "sort", "no such sort");
    if (by_rank && q->search == NULL)
        return coi_error_set(COI_EINVALID, "sort", "sorting by relevance needs a search");
    s = &SORTS[q->sort];
    if ((rc = bind_search(st, q)) != COI_OK)
        return rc;
    put(st, "SELECT (" PG_CASE_OBJECT " || jsonb_build_object('_sort_key', %s", s->key);
    if (q->highlight && st->search != 0)
        put(st, ", '_snippet', " SNIPPET, st->search, st->search);
    put(st, "))::text FROM (SELECT c.id%s FROM cases c", by_rank ? ", r.rank" : "");
    if (by_rank)
        put(st,
            " CROSS JOIN LATERAL (SELECT ts_rank_cd(c.search, to_tsquery('danish', $%d::text))"
            " AS rank) r",
            st->search);
    if ((rc = put_where(st, q)) != COI_OK)
        return rc;
    if (q->after != NULL && (rc = put_after(st, s, q->after)) != COI_OK)
        return rc;
    put(st, " ORDER BY %s", s->order);
    if (q->limit > 0) {
        char limit[16];
        snprintf(limit, sizeof limit, "%d", q->limit);
        put(st, " LIMIT $%d::bigint", bind_copy(st, limit));
    }
    put(st, ") k JOIN cases c ON c.id = k.id ORDER BY %s", s->outer);
    return st->failed ? coi_error_set(COI_ENOMEM, NULL, "out of memory") : COI_OK;
}

/* Counts per facet of the cases in `m` (see struct coi_storage's case_facets), one object
 * with every facet present. A case counts once per value: array values are made distinct,
 * and a case's regions are the distinct regions of its lead and partners. */
#define FACETS_OF_M                                                                                \
    ", v (facet, value) AS ("                                                                      \
    "SELECT 'innovation_type', t.value FROM m"                                                     \
    " CROSS JOIN LATERAL (SELECT DISTINCT unnest(m.innovation_types)) t(value)"                    \
    " UNION ALL SELECT 'sector', m.sector FROM m"                                                  \
    " UNION ALL SELECT 'government_level', unnest(m.government_levels) FROM m"                     \
    " UNION ALL SELECT 'region_code', r.region FROM (SELECT m.id, " REGION_OF_O " AS region"       \
    " FROM m JOIN organisations o ON o.code = m.organisation_code UNION SELECT m.id, "             \
    REGION_OF_O " FROM m JOIN case_partners p ON p.case_id = m.id"                                 \
    " JOIN organisations o ON o.code = p.organisation_code) r"                                     \
    " UNION ALL SELECT 'implementation_status', m.implementation_status FROM m"                    \
    " UNION ALL SELECT 'status', m.status FROM m"                                                  \
    " UNION ALL SELECT 'effect_type', t.value FROM m"                                              \
    " CROSS JOIN LATERAL (SELECT DISTINCT unnest(m.effect_types)) t(value))"                       \
    " SELECT (jsonb_build_object('innovation_type', '{}'::jsonb, 'sector', '{}'::jsonb,"           \
    " 'government_level', '{}'::jsonb, 'region_code', '{}'::jsonb,"                                \
    " 'implementation_status', '{}'::jsonb, 'status', '{}'::jsonb, 'effect_type', '{}'::jsonb)"    \
    " || COALESCE(jsonb_object_agg(g.facet, g.counts), '{}'::jsonb))::text"                        \
    " FROM (SELECT n.facet, jsonb_object_agg(n.value, n.count) AS counts FROM (SELECT v.facet,"    \
    " v.value, count(*) AS count FROM v WHERE v.value IS NOT NULL GROUP BY v.facet, v.value) n"    \
    " GROUP BY n.facet) g"

static int count_statement(struct stmt *st, const struct coi_case_query *q)
{
    int rc = bind_search(st, q);
    if (rc != COI_OK)
        return rc;
    put(st, "SELECT count(*) FROM cases c");
    return put_where(st, q);
}

static int facets_statement(struct stmt *st, const struct coi_case_query *q)
{
    int rc = bind_search(st, q);
    if (rc != COI_OK)
        return rc;
    put(st, "WITH m AS MATERIALIZED (SELECT c.id, c.organisation_code, c.status, c.sector,"
            " c.implementation_status, c.innovation_types, c.effect_types, c.government_levels"
            " FROM cases c");
    if ((rc = put_where(st, q)) != COI_OK)
        return rc;
    put(st, ")" FACETS_OF_M);
    return st->failed ? coi_error_set(COI_ENOMEM, NULL, "out of memory") : COI_OK;
}

/* Assembles the statement with `build` and runs it on a pooled connection. On success *out
 * holds the result (caller PQclears). */
static int run(struct coi_storage *s, PGresult **out, const struct coi_case_query *q,
               int (*build)(struct stmt *, const struct coi_case_query *))
{
    static const struct coi_case_query all = {.see_all = 1};
    struct pg_storage *pg = (struct pg_storage *)s;
    struct stmt st = {0};
    PGconn *conn = NULL;
    int rc;

    *out = NULL;
    if ((rc = build(&st, q != NULL ? q : &all)) == COI_OK &&
        (rc = pg_acquire(pg, &conn)) == COI_OK) {
        rc = pg_read_query(out, conn, st.sql, st.n, st.params);
        pg_release(pg, conn);
    }
    stmt_free(&st);
    return rc;
}

int pg_case_list(struct coi_storage *s, json_t **out, const struct coi_case_query *q)
{
    PGresult *res = NULL;
    int rc = run(s, &res, q, list_statement);

    *out = NULL;
    if (rc == COI_OK)
        rc = pg_json_rows(out, res);
    PQclear(res);
    return rc;
}

int pg_case_count(struct coi_storage *s, int64_t *out, const struct coi_case_query *q)
{
    PGresult *res = NULL;
    int rc = run(s, &res, q, count_statement);

    *out = 0;
    if (rc == COI_OK)
        *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

int pg_case_facets(struct coi_storage *s, json_t **out, const struct coi_case_query *q)
{
    PGresult *res = NULL;
    int rc = run(s, &res, q, facets_statement);

    *out = NULL;
    if (rc == COI_OK)
        rc = pg_json_value(out, res, 0, 0);
    PQclear(res);
    return rc;
}
