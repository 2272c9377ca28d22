/* Storage conformance, run on every backend: finding cases with struct coi_case_query — every
 * filter alone and combined, case_count and case_facets against what the list shows, and each
 * sort paged through "_sort_key" while cases are added between pages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storage/search.h"
#include "storage/storage.h"
#include "tests/unit/test.h"
#include "tests/unit/storage_helpers.h"

/* Adds an adoption of case `id` by `org` (status implemented). */
static void adopt(struct coi_storage *s, const char *id, const char *org)
{
    json_t *in = json_pack("{s:s, s:s, s:n, s:n}", "organisation_code", org, "status",
                           "implemented", "started_on", "notes"),
           *out = NULL;
    int rc = s->adoption_create(s, &out, id, in);
    if (rc != COI_OK)
        test_fail(__FILE__, __LINE__, "adoption_create: %s (%s)", coi_error_name(rc),
                  coi_error_detail());
    json_decref(out);
    json_decref(in);
}

/* The cases the filter tests look at (seed organisations: 0101 and 0147 lie in region 1084,
 * 0851 in 1081, 1084 and 1085 are regions; 9001 is a state body made here):
 *   F1 published, lead 0101, partner 0147 (one region twice), adopted by 0851 (an adopter's
 *      region is no region of the case)
 *   F2 draft, lead 0851, partner 1084
 *   F3 published, lead 0147, partner 0851, no sector, implementation status or started_on
 *   F4 in_review, lead 1085
 *   F5 published, lead 9001 */
static void make_cases(struct coi_storage *s)
{
    json_t *state = org_new("9001", "Digitaliseringsstyrelsen", "state", NULL), *out = NULL;
    CHECK_INT(s->organisation_create(s, &out, state), COI_OK);
    json_decref(out);
    json_decref(state);

    json_t *f1 =
        case_make(s, "0101", "0147", "published",
                  "{\"title\": \"F1\", \"innovation_types\": [\"workflow\", \"work_tool\"],"
                  " \"sector\": \"elderly_care\", \"implementation_status\": \"implemented\","
                  " \"effect_types\": [\"economy\"], \"spread_potential_rating\": \"high\","
                  " \"origin\": \"original\", \"tags\": [\"hjemmepleje\", \"ruter\"],"
                  " \"started_on\": \"2021-03-01\"}");
    if (f1 != NULL)
        adopt(s, field(f1, "id"), "0851");
    json_decref(f1);
    json_decref(case_make(
        s, "0851", "1084", "draft",
        "{\"title\": \"F2\", \"innovation_types\": [\"collaboration\"], \"sector\": \"health\","
        " \"implementation_status\": \"piloting\", \"effect_types\": [\"quality\", \"economy\"],"
        " \"spread_potential_rating\": \"medium\", \"origin\": \"adapted\","
        " \"tags\": [\"sundhed\"], \"started_on\": \"2022-06-15\"}"));
    json_decref(case_make(s, "0147", "0851", "published",
                          "{\"title\": \"F3\", \"innovation_types\": [\"task\"],"
                          " \"effect_types\": [], \"spread_potential_rating\": \"low\","
                          " \"origin\": \"copied\", \"tags\": []}"));
    json_decref(case_make(
        s, "1085", NULL, "in_review",
        "{\"title\": \"F4\", \"innovation_types\": [\"vision\", \"workflow\"],"
        " \"sector\": \"social\", \"implementation_status\": \"implementing\","
        " \"effect_types\": [\"employee_satisfaction\"], \"spread_potential_rating\": null,"
        " \"origin\": \"original\", \"tags\": [\"hjemmepleje\"], \"started_on\": \"2023-01-10\"}"));
    json_decref(
        case_make(s, "9001", NULL, "published",
                  "{\"title\": \"F5\", \"innovation_types\": [\"role\"],"
                  " \"sector\": \"elderly_care\", \"effect_types\": [\"citizen_involvement\"],"
                  " \"spread_potential_rating\": null, \"started_on\": \"2020-12-31\"}"));
}

/* Adds `n` to facet[value] of `facets`. */
static void bump(json_t *facets, const char *facet, const char *value)
{
    json_t *counts = json_object_get(facets, facet);
    if (value == NULL)
        return;
    if (counts == NULL)
        json_object_set_new(facets, facet, counts = json_object());
    json_t *n = json_object_get(counts, value);
    json_object_set_new(counts, value, json_integer(n ? json_integer_value(n) + 1 : 1));
}

/* Bumps facet[v] once for each distinct string v of array `a`. */
static void bump_each(json_t *facets, const char *facet, const json_t *a)
{
    size_t i, j;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        int seen = 0;
        for (j = 0; j < i; j++)
            seen |= json_equal(v, json_array_get(a, j));
        if (!seen)
            bump(facets, facet, json_string_value(v));
    }
}

/* The region of organisation `code`: itself when it is a region, else its region_code. New
 * reference: a string, or NULL when it lies in none. */
static json_t *region_of(struct coi_storage *s, const char *code)
{
    json_t *org = NULL, *region = NULL;
    CHECK_INT(s->organisation_get(s, &org, code), COI_OK);
    if (org != NULL && strcmp(field(org, "kind"), "region") == 0)
        region = json_string(code);
    else if (org != NULL && field(org, "region_code") != NULL)
        region = json_string(field(org, "region_code"));
    json_decref(org);
    return region;
}

/* The facets of what `q` lists, counted from the records. New reference. */
static json_t *facets_by_listing(struct coi_storage *s, const struct coi_case_query *q)
{
    json_t *rows = case_list_all(s, q, 50), *facets = json_object(), *row;
    size_t i, j;
    json_array_foreach(rows, i, row)
    {
        json_t *regions = json_array(), *code;
        bump_each(facets, "innovation_type", json_object_get(row, "innovation_types"));
        bump(facets, "sector", field(row, "sector"));
        bump_each(facets, "government_level", json_object_get(row, "government_levels"));
        json_array_append_new(regions, region_of(s, field(row, "organisation_code")));
        json_array_foreach(json_object_get(row, "partner_organisation_codes"), j, code)
        {
            json_array_append_new(regions, region_of(s, json_string_value(code)));
        }
        bump_each(facets, "region_code", regions);
        bump(facets, "implementation_status", field(row, "implementation_status"));
        bump(facets, "status", field(row, "status"));
        bump_each(facets, "effect_type", json_object_get(row, "effect_types"));
        json_decref(regions);
    }
    json_decref(rows);
    return facets;
}

/* Checks that case_count and case_facets of `q` agree with what case_list lists. A facet that
 * counts nothing may be left out or be empty. */
static void check_count_and_facets(struct coi_storage *s, const struct coi_case_query *q,
                                   const char *what)
{
    static const char *const names[] = {
        "innovation_type",       "sector", "government_level", "region_code",
        "implementation_status", "status", "effect_type"};
    int64_t count = -1;
    json_t *facets = NULL, *expected = facets_by_listing(s, q), *all = case_list_all(s, q, 50);
    CHECK_INT(s->case_count(s, &count, q), COI_OK);
    if (count != (int64_t)json_array_size(all))
        test_fail(__FILE__, __LINE__, "%s: case_count %lld, listed %zu", what, (long long)count,
                  json_array_size(all));
    CHECK_INT(s->case_facets(s, &facets, q), COI_OK);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *want = json_object_get(expected, names[i]),
               *got = json_object_get(facets, names[i]);
        if (json_object_size(want) == 0 && json_object_size(got) == 0 &&
            (got == NULL || json_is_object(got)))
            continue;
        if (!json_equal(want, got)) {
            char *a = json_dumps(got, JSON_SORT_KEYS), *b = json_dumps(want, JSON_SORT_KEYS);
            test_fail(__FILE__, __LINE__, "%s: facet %s is %s, listing counts %s", what, names[i],
                      a ? a : "(none)", b ? b : "(none)");
            free(a);
            free(b);
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach(facets, key, v)
    {
        size_t k;
        for (k = 0; k < sizeof names / sizeof names[0] && strcmp(names[k], key) != 0; k++)
            ;
        if (k == sizeof names / sizeof names[0])
            test_fail(__FILE__, __LINE__, "%s: unknown facet %s", what, key);
    }
    json_decref(facets);
    json_decref(expected);
    json_decref(all);
}

STORAGE_TEST(storage_case_find_each_filter_alone_and_combined)
{
    make_cases(s);
    const struct {
        struct coi_case_query q;
        const char *titles;
    } cases[] = {
        {{.see_all = 1}, "F1 | F2 | F3 | F4 | F5"},
        {{.see_all = 1, .statuses = STRINGS("published")}, "F1 | F3 | F5"},
        {{.see_all = 1, .statuses = STRINGS("draft", "in_review")}, "F2 | F4"},
        {{.see_all = 1, .organisation_codes = STRINGS("0851", "1085")}, "F2 | F4"},
        {{.see_all = 1, .region_codes = STRINGS("1084")}, "F1 | F2 | F3"},
        {{.see_all = 1, .region_codes = STRINGS("1081")}, "F2 | F3"},
        {{.see_all = 1, .region_codes = STRINGS("1085", "1083")}, "F4"},
        {{.see_all = 1, .government_levels = STRINGS("regional")}, "F2 | F4"},
        {{.see_all = 1, .government_levels = STRINGS("state", "regional")}, "F2 | F4 | F5"},
        {{.see_all = 1, .innovation_types = STRINGS("workflow")}, "F1 | F4"},
        {{.see_all = 1, .innovation_types = STRINGS("workflow", "task")}, "F1 | F3 | F4"},
        {{.see_all = 1, .sectors = STRINGS("elderly_care")}, "F1 | F5"},
        {{.see_all = 1, .sectors = STRINGS("health", "social")}, "F2 | F4"},
        {{.see_all = 1, .implementation_statuses = STRINGS("implemented", "piloting")}, "F1 | F2"},
        {{.see_all = 1, .effect_types = STRINGS("economy")}, "F1 | F2"},
        {{.see_all = 1, .effect_types = STRINGS("quality", "citizen_involvement")}, "F2 | F5"},
        {{.see_all = 1, .spread_potential_ratings = STRINGS("high", "low")}, "F1 | F3"},
        {{.see_all = 1, .origins = STRINGS("adapted", "copied")}, "F2 | F3"},
        {{.see_all = 1, .tags = STRINGS("hjemmepleje")}, "F1 | F4"},
        {{.see_all = 1, .tags = STRINGS("sundhed", "ruter")}, "F1 | F2"},
        {{.see_all = 1, .tags = STRINGS("Hjemmepleje")}, ""}, /* tags match exactly */
        {{.see_all = 1, .started_from = "2021-03-01"}, "F1 | F2 | F4"},
        {{.see_all = 1, .started_to = "2021-03-01"}, "F1 | F5"},
        {{.see_all = 1, .started_from = "2021-01-01", .started_to = "2022-12-31"}, "F1 | F2"},
        {{.see_all = 1, .updated_since = "2000-01-01T00:00:00Z"}, "F1 | F2 | F3 | F4 | F5"},
        {{.see_all = 1, .updated_since = "2999-01-01T00:00:00.000Z"}, ""},
        /* combined */
        {{.see_all = 1, .statuses = STRINGS("published"), .sectors = STRINGS("elderly_care")},
         "F1 | F5"},
        {{.see_all = 1, .region_codes = STRINGS("1084"), .innovation_types = STRINGS("workflow")},
         "F1"},
        {{.see_all = 1,
          .tags = STRINGS("hjemmepleje"),
          .statuses = STRINGS("in_review"),
          .government_levels = STRINGS("regional")},
         "F4"},
        {{.see_all = 1, .organisation_codes = STRINGS("0101"), .origins = STRINGS("copied")}, ""},
        /* the filters narrow what the viewer may see */
        {{0}, "F1 | F3 | F5"},
        {{.region_codes = STRINGS("1084")}, "F1 | F3"},
        {{.viewer_org = "0851", .region_codes = STRINGS("1084")}, "F1 | F2 | F3"},
        {{.viewer_org = "1085", .tags = STRINGS("hjemmepleje")}, "F1 | F4"},
    };
    char titles[256], what[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        case_titles(s, &cases[i].q, 1, titles, sizeof titles);
        if (strcmp(titles, cases[i].titles) != 0)
            test_fail(__FILE__, __LINE__, "query %zu lists \"%s\", expected \"%s\"", i, titles,
                      cases[i].titles);
        snprintf(what, sizeof what, "query %zu", i);
        check_count_and_facets(s, &cases[i].q, what);
    }
}

STORAGE_TEST(storage_case_find_updated_since_includes_its_instant)
{
    char titles[64];
    make_cases(s);
    sleep_ms(5);
    json_t *f3 = NULL, *changed = NULL;
    CHECK_INT(s->case_list(
                  s, &f3,
                  &(struct coi_case_query){.see_all = 1, .origins = STRINGS("copied"), .limit = 1}),
              COI_OK);
    json_t *in = case_new("0147", NULL, "0851", "F3 igen");
    CHECK_INT(
        s->case_update(s, &changed, field(json_array_get(f3, 0), "id"), in, -1, &TEST_ACTOR, NULL),
        COI_OK);
    case_titles(
        s, &(struct coi_case_query){.see_all = 1, .updated_since = field(changed, "updated_at")}, 1,
        titles, sizeof titles);
    CHECK_STR(titles, "F3 igen");
    json_decref(in);
    json_decref(changed);
    json_decref(f3);
}

STORAGE_TEST(storage_case_find_count_and_facets_follow_search_and_evaluations)
{
    make_cases(s);
    struct coi_search search;
    CHECK_INT(storage_search_parse(&search, "hjemmepleje"), COI_OK); /* the tags of F1 and F4 */
    struct coi_case_query q = {.see_all = 1, .search = &search};
    char titles[64];
    case_titles(s, &q, 1, titles, sizeof titles);
    CHECK_STR(titles, "F1 | F4");
    check_count_and_facets(s, &q, "search");
    check_count_and_facets(s, &(struct coi_case_query){.search = &search}, "public search");
    check_count_and_facets(s, &(struct coi_case_query){.viewer_org = "0851"}, "0851");

    json_t *rows = case_list_all(s, &(struct coi_case_query){.see_all = 1}, 10), *row;
    size_t i;
    json_array_foreach(rows, i, row)
    {
        if (strcmp(field(row, "title"), "F2") == 0 || strcmp(field(row, "title"), "F3") == 0) {
            json_t *e = evaluation_new("Evaluering", "survey", 4, "external");
            json_decref(evaluation_add(s, field(row, "id"), e, "published"));
            json_decref(e);
        }
    }
    json_decref(rows);
    check_count_and_facets(s, &(struct coi_case_query){.see_all = 1, .has_evaluation = 1},
                           "has_evaluation");
    check_count_and_facets(s, &(struct coi_case_query){.has_evaluation = 2}, "no evaluation");
    check_count_and_facets(s, &(struct coi_case_query){.see_all = 1, .min_evidence_level = 4},
                           "min_evidence_level");
    storage_search_free(&search);

    /* the facet counts of everything, spelled out */
    json_t *facets = NULL;
    CHECK_INT(s->case_facets(s, &facets, &(struct coi_case_query){.see_all = 1}), COI_OK);
    json_t *want = json_pack("{s:i, s:i, s:i}", "1084", 3, "1081", 2, "1085", 1);
    CHECK(json_equal(json_object_get(facets, "region_code"), want));
    json_decref(want);
    want = json_pack("{s:i, s:i, s:i}", "municipal", 3, "regional", 2, "state", 1);
    CHECK(json_equal(json_object_get(facets, "government_level"), want));
    json_decref(want);
    want = json_pack("{s:i, s:i, s:i}", "elderly_care", 2, "health", 1, "social", 1);
    CHECK(json_equal(json_object_get(facets, "sector"), want));
    json_decref(want);
    CHECK_INT(
        json_integer_value(json_object_get(json_object_get(facets, "innovation_type"), "workflow")),
        2);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(facets, "status"), "published")),
              3);
    json_decref(facets);
}

/* ---- sorts and pages -------------------------------------------------------------------- */

/* Seven cases for the sorts, each mentioning "hjemmepleje" (for the relevance sort) more or
 * less prominently, with shared titles and adoption counts (ties), three published. */
static void make_sortable(struct coi_storage *s)
{
    static const struct {
        const char *fields, *status;
        int adoptions;
    } spec[] = {
        {"{\"title\": \"B\xc3\xb8lle\", \"problem\": \"Hjemmeplejen mangler folk.\"}", "published",
         2},
        {"{\"title\": \"Abe\", \"summary\": \"Et nyt tilbud i hjemmeplejen.\"}", NULL, 1},
        {"{\"title\": \"abe\", \"solution\": \"Hjemmeplejen og hjemmeplejens ledere.\"}",
         "published", 1},
        {"{\"title\": \"Hjemmeplejen i Zebra\"}", NULL, 0},
        {"{\"title\": \"\xc3\x86"
         "ble\", \"lessons_learned\": \"Sp\xc3\xb8rg hjemmeplejen.\"}",
         "published", 0},
        {"{\"title\": \"Abe\", \"problem\": \"Hjemmepleje\", \"tags\": [\"hjemmepleje\"]}", NULL,
         0},
        {"{\"title\": \"\xc3\x98rn i hjemmeplejen\"}", "in_review", 0},
    };
    static const char *const adopters[] = {"0851", "0147"};
    for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
        json_t *c = case_make(s, "0101", NULL, spec[i].status, spec[i].fields);
        for (int a = 0; c != NULL && a < spec[i].adoptions; a++)
            adopt(s, field(c, "id"), adopters[a]);
        json_decref(c);
        sleep_ms(2);
    }
}

/* Adds two cases that match the search between two pages: one meant to sort before the
 * cursor, one after (which is which depends on the sort; the test only needs both kinds). */
static void add_between_pages(struct coi_storage *s, int round)
{
    char fields[160];
    snprintf(fields, sizeof fields, "{\"title\": \"AAA hjemmeplejen %d\"}", round);
    json_decref(case_make(s, "0101", NULL, "published", fields));
    snprintf(fields, sizeof fields,
             "{\"title\": \"\xc3\x98\xc3\xb8\xc3\xb8 %d\", \"problem\": \"hjemmeplejen\"}", round);
    json_decref(case_make(s, "0101", NULL, NULL, fields));
}

STORAGE_TEST(storage_case_find_every_sort_pages_without_skips_or_repeats_while_cases_are_added)
{
    static const char *const names[] = {"updated_at DESC",     "updated_at ASC",    "title",
                                        "adoption_count DESC", "published_at DESC", "relevance"};
    struct coi_search search;
    CHECK_INT(storage_search_parse(&search, "hjemmepleje"), COI_OK);
    make_sortable(s);
    for (int sort = COI_SORT_UPDATED_DESC; sort <= COI_SORT_RELEVANCE; sort++) {
        struct coi_case_query q = {.see_all = 1,
                                   .sort = (enum coi_case_sort)sort,
                                   .search = sort == COI_SORT_RELEVANCE ? &search : NULL};
        /* the order at the start, checked by case_list_all, in one page and page by page */
        json_t *whole = case_list_all(s, &q, 100), *small = case_list_all(s, &q, 1);
        char whole_ids[2048], small_ids[2048];
        join_key(whole_ids, sizeof whole_ids, whole, "id");
        join_key(small_ids, sizeof small_ids, small, "id");
        if (strcmp(whole_ids, small_ids) != 0)
            test_fail(__FILE__, __LINE__, "%s: one row a page lists another order", names[sort]);
        json_decref(small);

        /* pages of two with new cases added after each page */
        json_t *seen = json_array(), *page, *after = NULL;
        q.limit = 2;
        for (int round = 0; round < 20; round++) {
            q.after = after;
            page = case_page(s, &q);
            json_array_extend(seen, page);
            json_decref(after);
            size_t n = json_array_size(page);
            after = n > 0 ? json_incref(json_object_get(json_array_get(page, n - 1), "_sort_key"))
                          : NULL;
            json_decref(page);
            if (n < 2)
                break;
            if (round < 3)
                add_between_pages(s, round);
        }
        json_decref(after);

        /* every case there at the start exactly once, in the same order; no case twice */
        size_t i, j, at = 0;
        json_t *row;
        json_array_foreach(seen, i, row)
        {
            for (j = 0; j < i; j++)
                if (strcmp(field(json_array_get(seen, j), "id"), field(row, "id")) == 0)
                    test_fail(__FILE__, __LINE__, "%s: case %s listed twice", names[sort],
                              field(row, "id"));
            if (i > 0 && sort != COI_SORT_RELEVANCE &&
                case_order(json_array_get(seen, i - 1), row, q.sort) >= 0)
                test_fail(__FILE__, __LINE__, "%s: \"%s\" listed after \"%s\"", names[sort],
                          field(row, "title"), field(json_array_get(seen, i - 1), "title"));
            if (at < json_array_size(whole) &&
                strcmp(field(row, "id"), field(json_array_get(whole, at), "id")) == 0)
                at++;
        }
        if (at != json_array_size(whole))
            test_fail(__FILE__, __LINE__, "%s: \"%s\" skipped (or out of order) while paging",
                      names[sort], field(json_array_get(whole, at), "title"));
        json_decref(seen);
        json_decref(whole);
    }
    storage_search_free(&search);
}

STORAGE_TEST(storage_case_find_published_sort_lists_never_published_cases_last)
{
    make_sortable(s);
    json_t *rows = case_list_all(
               s, &(struct coi_case_query){.see_all = 1, .sort = COI_SORT_PUBLISHED_DESC}, 3),
           *row;
    size_t i;
    char published[16] = "";
    json_array_foreach(rows, i, row)
    {
        size_t used = strlen(published);
        snprintf(published + used, sizeof published - used, "%c",
                 field(row, "published_at") != NULL ? 'P' : '-');
    }
    CHECK_STR(published, "PPP----");
    /* the newest publication first: "Æble" was published last */
    CHECK_STR(field(json_array_get(rows, 0), "title"), "\xc3\x86"
                                                       "ble");
    json_decref(rows);

    char titles[256];
    case_titles(s, &(struct coi_case_query){.see_all = 1, .sort = COI_SORT_TITLE}, 0, titles,
                sizeof titles);
    CHECK_STR(titles, "Abe | Abe | B\xc3\xb8lle | Hjemmeplejen i Zebra | abe | \xc3\x86"
                      "ble | "
                      "\xc3\x98rn i hjemmeplejen");
    case_titles(s, &(struct coi_case_query){.see_all = 1, .sort = COI_SORT_ADOPTIONS_DESC}, 0,
                titles, sizeof titles);
    CHECK(strncmp(titles, "B\xc3\xb8lle | ", strlen("B\xc3\xb8lle | ")) == 0);
}
