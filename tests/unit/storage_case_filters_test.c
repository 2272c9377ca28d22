/* Storage conformance, run on every backend: case_list filters on the cases' evaluations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storage/storage.h"
#include "tests/unit/test.h"
#include "tests/unit/storage_helpers.h"

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The titles of every case `q` lists (paged two at a time), sorted and joined with spaces:
 * these tests are about which cases are listed, not their order. */
static void titles_listed(struct coi_storage *s, const struct coi_case_query *q, char *out,
                          size_t size)
{
    json_t *rows = case_list_all(s, q, 2), *row;
    size_t n = json_array_size(rows), i, used = 0;
    const char **titles = calloc(n + 1, sizeof *titles);
    out[0] = '\0';
    if (titles == NULL) {
        test_fail(__FILE__, __LINE__, "out of memory");
        json_decref(rows);
        return;
    }
    json_array_foreach(rows, i, row)
    {
        titles[i] = field(row, "title") ? field(row, "title") : "?";
    }
    qsort(titles, n, sizeof *titles, compare_text);
    for (i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? " " : "", titles[i]);
    free(titles);
    json_decref(rows);
}

/* Adds an evaluation at `level` in `status` to case `case_id`. */
static void evaluate(struct coi_storage *s, const char *case_id, int level, const char *status)
{
    json_t *in = evaluation_new("Evaluering", "survey", level, "external");
    json_decref(evaluation_add(s, case_id, in, status));
    json_decref(in);
}

/* Cases, titled by letter, and their evaluations (level/status):
 *   A published, lead 0101                  3/published 4/published
 *   B published, lead 0851                  5/draft
 *   C published, lead 0147                  none
 *   D draft,     lead 0101                  2/published
 *   E published, lead 0101, partner 0851    2/published 5/in_review */
static void make_cases(struct coi_storage *s)
{
    static const struct {
        const char *title, *lead, *partners, *status;
    } spec[] = {
        {"A", "0101", NULL, "published"},   {"B", "0851", NULL, "published"},
        {"C", "0147", NULL, "published"},   {"D", "0101", NULL, "draft"},
        {"E", "0101", "0851", "published"},
    };
    char ids[5][40];
    for (int i = 0; i < 5; i++) {
        json_t *in = case_new(spec[i].lead, NULL, spec[i].partners, spec[i].title),
               *c = case_create_ok(s, in);
        snprintf(ids[i], sizeof ids[i], "%s", c ? field(c, "id") : "?");
        if (c != NULL && strcmp(spec[i].status, "draft") != 0)
            case_move(s, ids[i], spec[i].status);
        json_decref(c);
        json_decref(in);
    }
    evaluate(s, ids[0], 3, "published");
    evaluate(s, ids[0], 4, "published");
    evaluate(s, ids[1], 5, "draft");
    evaluate(s, ids[3], 2, "published");
    evaluate(s, ids[4], 2, "published");
    evaluate(s, ids[4], 5, "in_review");
}

static const struct {
    int see_all;
    const char *viewer;
    int has_evaluation, min_evidence_level;
    const char *titles;
} EXPECTED[] = {
    /* editors and admins see every case and every evaluation */
    {1, NULL, 0, 0, "A B C D E"},
    {1, NULL, 1, 0, "A B D E"},
    {1, NULL, 2, 0, "C"},
    {1, NULL, 0, 4, "A B E"},
    {1, NULL, 0, 5, "B E"},
    {1, NULL, 1, 3, "A B E"},
    {1, NULL, 2, 3, ""},
    /* the public: published cases, and only their published evaluations count */
    {0, NULL, 0, 0, "A B C E"},
    {0, NULL, 1, 0, "A E"},
    {0, NULL, 2, 0, "B C"},
    {0, NULL, 0, 2, "A E"},
    {0, NULL, 0, 4, "A"},
    {0, NULL, 0, 5, ""},
    /* 0101 leads A, D and E: it counts every evaluation of those, published ones of B */
    {0, "0101", 0, 0, "A B C D E"},
    {0, "0101", 1, 0, "A D E"},
    {0, "0101", 2, 0, "B C"},
    {0, "0101", 0, 5, "E"},
    {0, "0101", 1, 4, "A E"},
    /* 0851 leads B and is only a partner of E: E's draft evaluation does not count for it */
    {0, "0851", 1, 0, "A B E"},
    {0, "0851", 2, 0, "C"},
    {0, "0851", 0, 5, "B"},
    {0, "0851", 0, 3, "A B"},
    /* 0147 leads C, which has none */
    {0, "0147", 1, 0, "A E"},
    {0, "0147", 2, 0, "B C"},
};

STORAGE_TEST(storage_case_filters_has_evaluation_and_min_evidence_level_follow_visibility)
{
    char titles[64];
    make_cases(s);
    for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++) {
        struct coi_case_query q = {.see_all = EXPECTED[i].see_all,
                                   .viewer_org = EXPECTED[i].viewer,
                                   .has_evaluation = EXPECTED[i].has_evaluation,
                                   .min_evidence_level = EXPECTED[i].min_evidence_level};
        titles_listed(s, &q, titles, sizeof titles);
        if (strcmp(titles, EXPECTED[i].titles) != 0)
            test_fail(__FILE__, __LINE__,
                      "see_all %d viewer %s has_evaluation %d min_evidence_level %d lists \"%s\","
                      " expected \"%s\"",
                      EXPECTED[i].see_all, EXPECTED[i].viewer ? EXPECTED[i].viewer : "(none)",
                      EXPECTED[i].has_evaluation, EXPECTED[i].min_evidence_level, titles,
                      EXPECTED[i].titles);
    }
}

STORAGE_TEST(storage_case_filters_combine_with_the_other_filters)
{
    char titles[64];
    make_cases(s);
    titles_listed(s,
                  &(struct coi_case_query){
                      .see_all = 1, .organisation_codes = STRINGS("0101"), .has_evaluation = 1},
                  titles, sizeof titles);
    CHECK_STR(titles, "A D E");
    titles_listed(s,
                  &(struct coi_case_query){.see_all = 1,
                                           .organisation_codes = STRINGS("0101"),
                                           .statuses = STRINGS("published"),
                                           .min_evidence_level = 3},
                  titles, sizeof titles);
    CHECK_STR(titles, "A E");
    titles_listed(
        s,
        &(struct coi_case_query){.see_all = 1, .statuses = STRINGS("draft"), .has_evaluation = 2},
        titles, sizeof titles);
    CHECK_STR(titles, "");

    /* one case per page: the cursor and the filters work together */
    json_t *rows = case_list_all(s, &(struct coi_case_query){.see_all = 1, .has_evaluation = 1}, 1);
    CHECK_INT(json_array_size(rows), 4);
    json_decref(rows);
}
