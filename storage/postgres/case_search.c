/* PostgreSQL backend: finding cases (case_list, case_count, case_facets), each one statement
 * assembled from fixed fragments chosen by the query's shape; every value is a parameter. */
#include "storage/postgres/pg_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/search.h"

/* More than any query binds (at most 20: the viewer, 11 lists, 3 dates, the evidence level,
 * the search, the cursor's two values and the limit). */
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
    int joined; /* the search reads case_search as `s` in FROM (put_from), else in EXISTS */
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

/* The any-of filters: a column equal to one of the values, or an array column sharing one
 * with them (&&, which the GIN indexes serve). */
static const struct {
    size_t offset;
    const char *field, *column;
    int overlap;
} LIST_FILTERS[] = {
    {offsetof(struct coi_case_query, statuses), "status", "c.status", 0},
    {offsetof(struct coi_case_query, organisation_codes), "organisation_code",
     "c.organisation_code", 0},
    {offsetof(struct coi_case_query, government_levels), "government_level", "c.government_levels",
     1},
    {offsetof(struct coi_case_query, innovation_types), "innovation_type", "c.innovation_types", 1},
    {offsetof(struct coi_case_query, effect_types), "effect_type", "c.effect_types", 1},
    {offsetof(struct coi_case_query, tags), "tag", "c.tags", 1},
    {offsetof(struct coi_case_query, sectors), "sector", "c.sector", 0},
    {offsetof(struct coi_case_query, implementation_statuses), "implementation_status",
     "c.implementation_status", 0},
    {offsetof(struct coi_case_query, spread_potential_ratings), "spread_potential_rating",
     "c.spread_potential_rating", 0},
    {offsetof(struct coi_case_query, origins), "origin", "c.origin", 0},
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

/* The cases a statement reads: `cases` as `c`. A search ranked by relevance, or counted, reads
 * the vectors (`case_search`, migration 0008) as `s` first, with `cases` LEFT JOINed: so that
 * PostgreSQL leaves `cases` out when nothing reads it (an anonymous or staff search without
 * filters reads only the narrow `case_search`); every case has its row there, so the join
 * never adds a NULL case. Other sorts and the facets test the search in an EXISTS, which lets
 * PostgreSQL walk an index of `cases` in order and look each case up, or start from the text
 * index, whichever the word's frequency makes cheaper. */
static void put_from(struct stmt *st, int joined)
{
    st->joined = st->search != 0 && joined;
    put(st, st->joined ? " FROM case_search s LEFT JOIN cases c ON c.id = s.id" : " FROM cases c");
}

/* The WHERE clause of `q` over put_from's tables: visibility, then every filter given, then
 * the search bound by bind_search. */
static int put_where(struct stmt *st, const struct coi_case_query *q)
{
    int rc = COI_OK, viewer = 0, p;

    put(st, " WHERE true");
    if (!q->see_all && q->viewer_org == NULL)
        put(st, st->joined ? " AND s.status = 'published'" : " AND c.status = 'published'");
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
        /* One value is an equality, which an index on (column, sort key) can serve in order;
         * = ANY cannot. */
        if (list->n == 1 && !LIST_FILTERS[i].overlap && list->items[0] != NULL)
            put(st, " AND %s = $%d::text", LIST_FILTERS[i].column, bind(st, list->items[0], NULL));
        else if ((p = bind_list(st, list, LIST_FILTERS[i].field, &rc)) != 0)
            put(st, " AND %s %s $%d::text[]%s", LIST_FILTERS[i].column,
                LIST_FILTERS[i].overlap ? "&&" : "= ANY(", p, LIST_FILTERS[i].overlap ? "" : ")");
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
    if (st->joined)
        put(st, " AND s.search @@ to_tsquery('danish', $%d::text)", st->search);
    else if (st->search != 0)
        put(st,
            " AND EXISTS (SELECT 1 FROM case_search s WHERE s.id = c.id"
            " AND s.search @@ to_tsquery('danish', $%d::text))",
            st->search);
    return st->failed ? coi_error_set(COI_ENOMEM, NULL, "out of memory") : COI_OK;
}

/* One order of the list. `order` sorts the page query (rows of `c`, the rank as r.rank) and
 * `outer` the same rows once joined again (the rank as k.rank). `key` is the "_sort_key":
 * [value, id], exactly the values the order compares (timestamps as the record shows them, at
 * the ms precision the columns hold). The cursor continues after `row` compared with `cmp`
 * to (cast_before $value cast_after, $id). */
struct sort_spec {
    const char *order, *outer, *row, *cmp;
    const char *cast_before, *cast_after;
    const char *key;
    json_type first;   /* the JSON type of the key's value */
    int first_or_null; /* the value may also be null (never published) */
};

/* clang-format off */
static const struct sort_spec SORTS[] = {
    [COI_SORT_UPDATED_DESC] = {
        "c.updated_at DESC, c.id DESC", "c.updated_at DESC, c.id DESC", "(c.updated_at, c.id)",
        "<", "", "::timestamptz",
        "jsonb_build_array(" PG_ISO_UTC("c.updated_at") ", c.id)", JSON_STRING, 0},
    [COI_SORT_UPDATED_ASC] = {
        "c.updated_at, c.id", "c.updated_at, c.id", "(c.updated_at, c.id)",
        ">", "", "::timestamptz",
        "jsonb_build_array(" PG_ISO_UTC("c.updated_at") ", c.id)", JSON_STRING, 0},
    /* Byte order, whatever the database's collation (as SQLite compares). */
    [COI_SORT_TITLE] = {
        "(c.doc ->> 'title') COLLATE \"C\", c.id", "(c.doc ->> 'title') COLLATE \"C\", c.id",
        "((c.doc ->> 'title') COLLATE \"C\", c.id)", ">", "", "::text COLLATE \"C\"",
        "jsonb_build_array(c.doc ->> 'title', c.id)", JSON_STRING, 0},
    [COI_SORT_ADOPTIONS_DESC] = {
        "c.adoption_count DESC, c.id DESC", "c.adoption_count DESC, c.id DESC",
        "(c.adoption_count, c.id)", "<", "", "::integer",
        "jsonb_build_array(c.adoption_count, c.id)", JSON_INTEGER, 0},
    /* Never published sorts as -infinity: last, and the cursor stays one row comparison. */
    [COI_SORT_PUBLISHED_DESC] = {
        "COALESCE(c.published_at, '-infinity') DESC, c.id DESC",
        "COALESCE(c.published_at, '-infinity') DESC, c.id DESC",
        "(COALESCE(c.published_at, '-infinity'), c.id)", "<",
        "COALESCE(", "::timestamptz, '-infinity')",
        "jsonb_build_array(" PG_ISO_UTC("c.published_at") ", c.id)", JSON_STRING, 1},
    /* ts_rank gives a float4; its text is the shortest that reads back to the same
     * float4, so the cursor compares exactly the rank the page was sorted by. */
    [COI_SORT_RELEVANCE] = {
        "r.rank DESC, s.id DESC", "k.rank DESC, c.id DESC", "(r.rank, s.id)", "<",
        "", "::real", "jsonb_build_array(k.rank::text, c.id)", JSON_STRING, 0},
};
/* clang-format on */

/* Whether `text` is a time as "_sort_key" writes it, YYYY-MM-DDTHH:MM:SS.mmmZ, and a real one
 * (PostgreSQL would refuse 2024-02-30 with an error that names no field). */
static int is_key_time(const char *text)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec;

    if (strlen(text) != sizeof shape - 1)
        return 0;
    for (size_t i = 0; shape[i] != '\0'; i++)
        if (shape[i] == 'd' ? text[i] < '0' || text[i] > '9' : text[i] != shape[i])
            return 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6 || y < 1 ||
        mo < 1 || mo > 12 || d < 1 || d > days[mo - 1] || h > 23 || mi > 59 || sec > 59)
        return 0;
    return mo != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

/* Whether `text` reads as the finite float4 ("real") that a rank is. */
static int is_key_rank(const char *text)
{
    char *end = NULL;
    float value;

    errno = 0;
    value = strtof(text, &end);
    return end != text && *end == '\0' && isfinite(value) && (errno == 0 || value != 0.0f);
}

/* Binds the cursor `after` of sort `s` and appends its condition. A cursor that no page of
 * this sort could have ended on is COI_EINVALID naming "cursor", before the database sees it. */
static int put_after(struct stmt *st, enum coi_case_sort sort, const json_t *after)
{
    const struct sort_spec *s = &SORTS[sort];
    const json_t *first = json_array_get(after, 0), *id = json_array_get(after, 1);
    const char *text = json_string_value(first);
    char number[32];
    int p0;

    if (!json_is_array(after) || json_array_size(after) != 2 || !json_is_string(id) ||
        !(json_typeof(first) == s->first || (s->first_or_null && json_is_null(first))))
        return coi_error_set(COI_EINVALID, "cursor", "the cursor does not fit this sort");
    if ((text != NULL &&
         (sort == COI_SORT_UPDATED_DESC || sort == COI_SORT_UPDATED_ASC ||
          sort == COI_SORT_PUBLISHED_DESC) &&
         !is_key_time(text)) ||
        (sort == COI_SORT_RELEVANCE && !is_key_rank(text)) ||
        (json_is_integer(first) &&
         (json_integer_value(first) < INT32_MIN || json_integer_value(first) > INT32_MAX)))
        return coi_error_set(COI_EINVALID, "cursor", "the cursor holds no position of this sort");
    if (json_is_integer(first)) {
        snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value(first));
        p0 = bind_copy(st, number);
    } else
        p0 = bind(st, text, NULL); /* NULL for a JSON null */
    put(st, " AND %s %s (%s$%d%s, $%d::text)", s->row, s->cmp, s->cast_before, p0, s->cast_after,
        bind(st, json_string_value(id), NULL));
    return COI_OK;
}

/* The snippet of the row `c` for the search in parameter $n: ts_headline over the field that
 * matches best (ts_rank gives a field holding only some terms a tiny rank, one holding none
 * 0), the summary first when fields tie, then the longer texts, the title and the tags.
 * ts_headline drops what its parser takes for HTML tags (<b>); the text must come back as
 * written, so '<' goes in as chr(1), which no stored text holds (the API refuses control
 * characters other than tab and line breaks), and comes back after. */
#define SNIPPET                                                                                    \
    "(SELECT replace(ts_headline('danish', replace(f.t, '<', chr(1)),"                             \
    " to_tsquery('danish', $%d::text),"                                                            \
    " 'StartSel=<mark>, StopSel=</mark>, MaxWords=20, MinWords=8'), chr(1), '<')"                  \
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
    put(st, "))::text FROM (SELECT %s.id%s", by_rank ? "s" : "c", by_rank ? ", r.rank" : "");
    put_from(st, by_rank);
    if (by_rank)
        put(st,
            " CROSS JOIN LATERAL (SELECT ts_rank(s.search, to_tsquery('danish', $%d::text))"
            " AS rank) r",
            st->search);
    if ((rc = put_where(st, q)) != COI_OK)
        return rc;
    if (q->after != NULL && (rc = put_after(st, q->sort, q->after)) != COI_OK)
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
 * with every facet present. A case counts once per value: an array value counts at its first
 * position only, and a case's regions are the distinct regions of its lead and partners. */
#define FIRST_OF(array)                                                                            \
    "FROM m CROSS JOIN LATERAL unnest(" array ") WITH ORDINALITY t(value, n)"                      \
    " WHERE array_position(" array ", t.value) = t.n"
#define FACETS_OF_M                                                                                \
    ", v (facet, value) AS ("                                                                      \
    "SELECT 'innovation_type', t.value " FIRST_OF(                                                 \
        "m.innovation_types") " UNION ALL SELECT 'sector', m.sector FROM m"                        \
                              " UNION ALL SELECT 'government_level', t.value " FIRST_OF(           \
                                  "m.government_levels") " UNION ALL SELECT 'region_code', "       \
                                                         "r.region FROM (SELECT "                  \
                                                         "m.id, " REGION_OF_O " AS region"         \
                                                         " FROM m JOIN organisations o ON o.code " \
                                                         "= m.organisation_code UNION SELECT "     \
                                                         "m.id, " REGION_OF_O                      \
                                                         " FROM m JOIN case_partners p ON "        \
                                                         "p.case_id = m.id"                        \
                                                         " JOIN organisations o ON o.code = "      \
                                                         "p.organisation_code) r"                  \
                                                         " UNION ALL SELECT "                      \
                                                         "'implementation_status', "               \
                                                         "m.implementation_status FROM m"          \
                                                         " UNION ALL SELECT 'status', m.status "   \
                                                         "FROM m"                                  \
                                                         " UNION ALL SELECT 'effect_type', "       \
                                                         "t.value " FIRST_OF(                      \
                                                             "m.effect_types") ")"                 \
                                                                               " SELECT "          \
                                                                               "(jsonb_build_"     \
                                                                               "object('"          \
                                                                               "innovation_type'," \
                                                                               " '{}'::jsonb, "    \
                                                                               "'sector', "        \
                                                                               "'{}'::jsonb,"      \
                                                                               " 'government_"     \
                                                                               "level', "          \
                                                                               "'{}'::jsonb, "     \
                                                                               "'region_code', "   \
                                                                               "'{}'::jsonb,"      \
                                                                               " 'implementation_" \
                                                                               "status', "         \
                                                                               "'{}'::jsonb, "     \
                                                                               "'status', "        \
                                                                               "'{}'::jsonb, "     \
                                                                               "'effect_type', "   \
                                                                               "'{}'::jsonb)"      \
                                                                               " || "              \
                                                                               "COALESCE(jsonb_"   \
                                                                               "object_agg(g."     \
                                                                               "facet, "           \
                                                                               "g.counts), "       \
                                                                               "'{}'::jsonb))::"   \
                                                                               "text"              \
                                                                               " FROM (SELECT "    \
                                                                               "n.facet, "         \
                                                                               "jsonb_object_agg(" \
                                                                               "n.value, "         \
                                                                               "n.count) AS "      \
                                                                               "counts FROM "      \
                                                                               "(SELECT v.facet,"  \
                                                                               " v.value, "        \
                                                                               "count(*) AS "      \
                                                                               "count FROM v "     \
                                                                               "WHERE v.value IS " \
                                                                               "NOT NULL GROUP "   \
                                                                               "BY v.facet, "      \
                                                                               "v.value) n"        \
                                                                               " GROUP BY "        \
                                                                               "n.facet) g"

static int count_statement(struct stmt *st, const struct coi_case_query *q)
{
    int rc = bind_search(st, q);
    if (rc != COI_OK)
        return rc;
    put(st, "SELECT count(*)");
    put_from(st, 1);
    return put_where(st, q);
}

static int facets_statement(struct stmt *st, const struct coi_case_query *q)
{
    int rc = bind_search(st, q);
    if (rc != COI_OK)
        return rc;
    put(st, "WITH m AS MATERIALIZED (SELECT c.id, c.organisation_code, c.status, c.sector,"
            " c.implementation_status, c.innovation_types, c.effect_types, c.government_levels");
    put_from(st, 0);
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
