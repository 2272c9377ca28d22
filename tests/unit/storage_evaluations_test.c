/* Storage conformance, run on every backend: evaluations, their history, list and summaries. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storage/storage.h"
#include "tests/unit/test.h"
#include "tests/unit/storage_helpers.h"

static const char NO_ID[] = "00000000-0000-7000-8000-000000000000";

/* The number of content fields evaluation_new writes, and the fields a record adds. */
#define CONTENT_FIELDS 16
#define RECORD_FIELDS 7

/* A new case led by `org` with partners `partners`, moved to `status` unless that is draft;
 * its id into id[40] ("?" after recording a failure). */
static void case_add(struct coi_storage *s, char id[40], const char *org, const char *partners,
                     const char *status)
{
    json_t *in = case_new(org, NULL, partners, "Evalueret sag"), *c = case_create_ok(s, in);
    snprintf(id, 40, "%s", c ? field(c, "id") : "?");
    if (c != NULL && strcmp(status, "draft") != 0)
        case_move(s, id, status);
    json_decref(c);
    json_decref(in);
}

/* evaluation_new + evaluation_add; the new id into id[40] ("?" after a failure). Pauses
 * 2 ms first: ids are time-ordered to the millisecond only, and tests list in creation
 * order. */
static void evaluation_put(struct coi_storage *s, char id[40], const char *case_id,
                           const char *title, const char *method, int level, const char *status)
{
    json_t *in = evaluation_new(title, method, level, "external"), *e;
    sleep_ms(2);
    e = evaluation_add(s, case_id, in, status);
    snprintf(id, 40, "%s", e ? field(e, "id") : "?");
    json_decref(e);
    json_decref(in);
}

/* The titles of every evaluation `filter` lists (evaluation_list_all), in list order. */
static void titles_listed(struct coi_storage *s, const struct coi_evaluation_query *filter,
                          int page, char *out, size_t size)
{
    json_t *all = evaluation_list_all(s, filter, page);
    join_key(out, size, all, "title");
    json_decref(all);
}

/* ---- create, get, update ---------------------------------------------------------------- */

STORAGE_TEST(storage_evaluations_create_returns_version_1_draft_with_content_and_history)
{
    char case_id[40];
    json_t *in =
        evaluation_new("M\xc3\xa5ling af effekt \xf0\x9f\x93\x88", "survey", 3, "external");
    json_t *fields = json_pack("[s, s]", "title", "method"), *e = NULL, *got = NULL;
    case_add(s, case_id, "0101", NULL, "draft");
    json_object_set_new(in, "case_id", json_string(case_id));
    CHECK_INT(s->evaluation_create(s, &e, case_id, in, &TEST_ACTOR, fields), COI_OK);
    if (e == NULL)
        goto out;
    CHECK_INT(strlen(field(e, "id")), 36);
    CHECK_STR(field(e, "case_id"), case_id);
    CHECK_STR(field(e, "status"), "draft");
    CHECK_INT(version_of(e), 1);
    CHECK(is_rfc3339(field(e, "created_at")));
    CHECK_STR(field(e, "updated_at"), field(e, "created_at"));
    CHECK(json_is_null(json_object_get(e, "published_at")));
    CHECK_INT(json_object_size(e), CONTENT_FIELDS + RECORD_FIELDS);
    const char *key;
    json_t *value;
    json_object_foreach(in, key, value)
    {
        if (!json_equal(json_object_get(e, key), value))
            test_fail(__FILE__, __LINE__, "content field %s did not round-trip", key);
    }
    CHECK(json_is_null(json_object_get(e, "published_on")));
    CHECK_INT(s->evaluation_get(s, &got, field(e, "id")), COI_OK);
    CHECK(json_equal(got, e));
    json_decref(got);

    json_t *history = evaluation_history_of(s, field(e, "id")), *h = json_array_get(history, 0);
    CHECK_INT(json_array_size(history), 1);
    CHECK_INT(version_of(h), 1);
    CHECK_STR(field(h, "action"), "created");
    CHECK(json_is_null(json_object_get(h, "from_status")));
    CHECK_STR(field(h, "to_status"), "draft");
    CHECK(json_is_null(json_object_get(h, "note")));
    CHECK(json_equal(json_object_get(h, "changed_fields"), fields));
    CHECK_STR(field(h, "at"), field(e, "created_at"));
    json_t *actor = json_pack("{s:s, s:s, s:s, s:s}", "sub", "editor-1", "role", "editor", "party",
                              "partner-system", "org", "0101");
    CHECK(json_equal(json_object_get(h, "actor"), actor));
    CHECK_INT(json_object_size(h), 8);
    json_decref(actor);
    json_decref(history);

    /* the case's own history does not record its evaluations */
    history = history_of(s, case_id);
    CHECK_INT(json_array_size(history), 1);
    json_decref(history);

    got = NULL;
    CHECK_INT(s->evaluation_create(s, &got, NO_ID, in, &TEST_ACTOR, fields), COI_ENOTFOUND);
    CHECK(got == NULL);
    CHECK_INT(s->evaluation_get(s, &got, NO_ID), COI_ENOTFOUND);
    CHECK_INT(s->evaluation_history(s, &got, NO_ID, 0, 10), COI_ENOTFOUND);
    CHECK(got == NULL);
    char titles[128];
    titles_listed(s, &(struct coi_evaluation_query){.see_all = 1}, 10, titles, sizeof titles);
    CHECK_STR(titles, field(e, "title"));
out:
    json_decref(e);
    json_decref(fields);
    json_decref(in);
}

STORAGE_TEST(storage_evaluations_update_replaces_content_bumps_version_and_records_history)
{
    char case_id[40];
    json_t *in = evaluation_new("F\xc3\xb8rste udgave", "survey", 2, "internal");
    json_t *fields = json_pack("[s, s]", "method", "conclusion"), *out = NULL, *got = NULL;
    case_add(s, case_id, "0101", NULL, "draft");
    json_t *e = evaluation_add(s, case_id, in, NULL);
    if (e == NULL)
        goto out;
    const char *id = field(e, "id");
    sleep_ms(5);
    json_object_set_new(in, "method", json_string("register"));
    json_object_set_new(in, "evidence_level", json_integer(4));
    json_object_del(in, "conclusion");
    CHECK_INT(s->evaluation_update(s, &out, id, in, 1, &TEST_ACTOR, fields), COI_OK);
    CHECK_INT(version_of(out), 2);
    CHECK_STR(field(out, "method"), "register");
    CHECK_INT(json_integer_value(json_object_get(out, "evidence_level")), 4);
    CHECK(json_object_get(out, "conclusion") == NULL); /* a field left out is gone */
    CHECK_INT(json_object_size(out), CONTENT_FIELDS - 1 + RECORD_FIELDS);
    CHECK_STR(field(out, "status"), "draft");
    CHECK_STR(field(out, "case_id"), case_id);
    CHECK_STR(field(out, "created_at"), field(e, "created_at"));
    if (strcmp(field(out, "updated_at"), field(e, "updated_at")) <= 0)
        test_fail(__FILE__, __LINE__, "updated_at did not move on");
    CHECK_INT(s->evaluation_get(s, &got, id), COI_OK);
    CHECK(json_equal(got, out));
    json_decref(got);

    json_t *history = evaluation_history_of(s, id), *h = json_array_get(history, 0);
    CHECK_INT(json_array_size(history), 2);
    CHECK_INT(version_of(h), 2);
    CHECK_STR(field(h, "action"), "updated");
    CHECK_STR(field(h, "from_status"), "draft");
    CHECK_STR(field(h, "to_status"), "draft");
    CHECK(json_equal(json_object_get(h, "changed_fields"), fields));
    CHECK_STR(field(h, "at"), field(out, "updated_at"));
    json_decref(history);

    /* a stale version changes nothing; -1 skips the check */
    json_t *before = out;
    out = NULL;
    CHECK_INT(s->evaluation_update(s, &out, id, in, 1, &TEST_ACTOR, fields), COI_ECONFLICT);
    CHECK_INT(s->evaluation_update(s, &out, id, in, 0, &TEST_ACTOR, fields), COI_ECONFLICT);
    CHECK(out == NULL);
    CHECK_INT(s->evaluation_get(s, &got, id), COI_OK);
    CHECK(json_equal(got, before));
    json_decref(got);
    history = evaluation_history_of(s, id);
    CHECK_INT(json_array_size(history), 2);
    json_decref(history);
    CHECK_INT(s->evaluation_update(s, &out, id, in, -1, &TEST_ACTOR, fields), COI_OK);
    CHECK_INT(version_of(out), 3);
    json_decref(out);
    out = NULL;
    CHECK_INT(s->evaluation_update(s, &out, NO_ID, in, -1, &TEST_ACTOR, fields), COI_ENOTFOUND);
    CHECK_INT(s->evaluation_update(s, &out, NO_ID, in, 1, &TEST_ACTOR, fields), COI_ENOTFOUND);
    CHECK(out == NULL);
    json_decref(before);
out:
    json_decref(e);
    json_decref(fields);
    json_decref(in);
}

STORAGE_TEST(storage_evaluations_transition_sets_status_published_at_and_history_note)
{
    char case_id[40];
    json_t *in = evaluation_new("Forl\xc3\xb8"
                                "b",
                                "survey", 3, "external"),
           *out = NULL;
    case_add(s, case_id, "0101", NULL, "published");
    json_t *e = evaluation_add(s, case_id, in, NULL);
    json_decref(in);
    if (e == NULL)
        return;
    const char *id = field(e, "id");
    static const char *const steps[] = {"submitted", "in_review"};
    for (int i = 0; i < 2; i++) {
        CHECK_INT(s->evaluation_transition(s, &out, id, steps[i], NULL, i + 1, &TEST_ACTOR),
                  COI_OK);
        CHECK_STR(field(out, "status"), steps[i]);
        CHECK(json_is_null(json_object_get(out, "published_at")));
        json_decref(out);
    }
    CHECK_INT(s->evaluation_transition(s, &out, id, "published", "Godkendt \xf0\x9f\x91\x8d", 3,
                                       &TEST_ACTOR),
              COI_OK);
    CHECK_INT(version_of(out), 4);
    CHECK_STR(field(out, "status"), "published");
    CHECK(is_rfc3339(field(out, "published_at")));
    CHECK_STR(field(out, "published_at"), field(out, "updated_at"));
    CHECK_STR(field(out, "title"), field(e, "title"));
    char first_published[64];
    snprintf(first_published, sizeof first_published, "%s", field(out, "published_at"));
    json_decref(out);

    json_t *history = evaluation_history_of(s, id), *h = json_array_get(history, 0);
    CHECK_INT(json_array_size(history), 4);
    CHECK_INT(version_of(h), 4);
    CHECK_STR(field(h, "action"), "transition");
    CHECK_STR(field(h, "from_status"), "in_review");
    CHECK_STR(field(h, "to_status"), "published");
    CHECK_STR(field(h, "note"), "Godkendt \xf0\x9f\x91\x8d");
    json_t *status_only = json_pack("[s]", "status");
    CHECK(json_equal(json_object_get(h, "changed_fields"), status_only));
    json_decref(status_only);
    CHECK(json_is_null(json_object_get(json_array_get(history, 1), "note")));
    json_decref(history);

    /* leaving published keeps published_at; publishing again stamps it anew */
    CHECK_INT(s->evaluation_transition(s, &out, id, "changes_requested", NULL, 4, &TEST_ACTOR),
              COI_OK);
    CHECK_STR(field(out, "published_at"), first_published);
    json_decref(out);
    sleep_ms(5);
    CHECK_INT(s->evaluation_transition(s, &out, id, "published", NULL, -1, &TEST_ACTOR), COI_OK);
    if (strcmp(field(out, "published_at"), first_published) <= 0)
        test_fail(__FILE__, __LINE__, "published_at was not stamped again");
    json_t *before = out;

    /* stale versions, unknown statuses and unknown ids change nothing */
    out = NULL;
    CHECK_INT(s->evaluation_transition(s, &out, id, "archived", NULL, 5, &TEST_ACTOR),
              COI_ECONFLICT);
    CHECK_INT(s->evaluation_transition(s, &out, id, "lost", NULL, 6, &TEST_ACTOR), COI_EINVALID);
    CHECK_INT(s->evaluation_transition(s, &out, NO_ID, "archived", NULL, -1, &TEST_ACTOR),
              COI_ENOTFOUND);
    CHECK(out == NULL);
    CHECK_INT(s->evaluation_get(s, &out, id), COI_OK);
    CHECK(json_equal(out, before));
    json_decref(out);
    history = evaluation_history_of(s, id);
    CHECK_INT(json_array_size(history), 6);
    json_decref(history);
    json_decref(before);
    json_decref(e);
}

/* ---- history and delete ----------------------------------------------------------------- */

STORAGE_TEST(storage_evaluations_history_pages_newest_first_below_before_version)
{
    char case_id[40], versions[64];
    json_t *in = evaluation_new("Mange versioner", "survey", 1, "internal"), *out = NULL;
    json_t *page = NULL;
    case_add(s, case_id, "0101", NULL, "draft");
    json_t *e = evaluation_add(s, case_id, in, NULL);
    if (e == NULL)
        goto out;
    const char *id = field(e, "id");
    for (int v = 1; v <= 4; v++) {
        CHECK_INT(s->evaluation_update(s, &out, id, in, v, &TEST_ACTOR, NULL), COI_OK);
        json_decref(out);
    }
    static const struct {
        int64_t before;
        int limit;
        const char *versions;
    } pages[] = {{0, 2, "5 4"}, {4, 2, "3 2"},         {2, 2, "1"},
                 {1, 10, ""},   {0, 100, "5 4 3 2 1"}, {3, 100, "2 1"}};
    for (size_t k = 0; k < sizeof pages / sizeof pages[0]; k++) {
        CHECK_INT(s->evaluation_history(s, &page, id, pages[k].before, pages[k].limit), COI_OK);
        size_t i, used = 0;
        json_t *h;
        versions[0] = '\0';
        json_array_foreach(page, i, h)
        {
            used += (size_t)snprintf(versions + used, sizeof versions - used, "%s%lld",
                                     i ? " " : "", version_of(h));
            CHECK(is_rfc3339(field(h, "at")));
        }
        CHECK_STR(versions, pages[k].versions);
        json_decref(page);
        page = NULL;
    }
    /* an update without changed_fields records an empty list */
    page = evaluation_history_of(s, id);
    CHECK_INT(json_array_size(json_object_get(json_array_get(page, 0), "changed_fields")), 0);
    CHECK(json_is_array(json_object_get(json_array_get(page, 0), "changed_fields")));
    json_decref(page);
out:
    json_decref(e);
    json_decref(in);
}

STORAGE_TEST(storage_evaluations_delete_matches_version_and_removes_evaluation_and_history)
{
    char case_id[40], kept[40], gone[40], titles[128];
    json_t *got = NULL;
    case_add(s, case_id, "0101", NULL, "published");
    evaluation_put(s, kept, case_id, "Bliver", "survey", 2, "published");
    evaluation_put(s, gone, case_id, "Slettes", "survey", 3, "published");
    CHECK_INT(s->evaluation_delete(s, gone, 1), COI_ECONFLICT);
    CHECK_INT(s->evaluation_delete(s, gone, 3), COI_ECONFLICT);
    CHECK_INT(s->evaluation_get(s, &got, gone), COI_OK);
    CHECK_INT(version_of(got), 2);
    json_decref(got);
    got = evaluation_history_of(s, gone);
    CHECK_INT(json_array_size(got), 2);
    json_decref(got);
    got = NULL;

    CHECK_INT(s->evaluation_delete(s, gone, 2), COI_OK);
    CHECK_INT(s->evaluation_get(s, &got, gone), COI_ENOTFOUND);
    CHECK(got == NULL);
    json_decref(got);
    got = NULL;
    CHECK_INT(s->evaluation_history(s, &got, gone, 0, 10), COI_ENOTFOUND);
    CHECK(got == NULL);
    json_decref(got);
    CHECK_INT(s->evaluation_delete(s, gone, -1), COI_ENOTFOUND);
    CHECK_INT(s->evaluation_delete(s, NO_ID, 1), COI_ENOTFOUND);
    titles_listed(s, &(struct coi_evaluation_query){.see_all = 1}, 10, titles, sizeof titles);
    CHECK_STR(titles, "Bliver");

    /* the other evaluation of the case keeps its record and history; -1 deletes it too */
    got = evaluation_history_of(s, kept);
    CHECK_INT(json_array_size(got), 2);
    json_decref(got);
    CHECK_INT(s->evaluation_delete(s, kept, -1), COI_OK);
    titles_listed(s, &(struct coi_evaluation_query){.see_all = 1}, 10, titles, sizeof titles);
    CHECK_STR(titles, "");
    got = NULL;
    CHECK_INT(s->case_get(s, &got, case_id), COI_OK); /* the case stays */
    json_decref(got);
}

/* ---- list ------------------------------------------------------------------------------- */

STORAGE_TEST(storage_evaluations_list_filters_by_case_method_level_kind_and_status)
{
    char a[40], b[40], id[40], titles[128];
    case_add(s, a, "0101", NULL, "published");
    case_add(s, b, "0851", NULL, "published");
    static const struct {
        int on_b, level;
        const char *title, *method, *kind, *status;
    } spec[] = {
        {0, 3, "E1", "survey", "external", "published"},
        {0, 4, "E2", "register", "internal", "draft"},
        {1, 3, "E3", "survey", "internal", "published"},
        {1, 5, "E4", "experiment", "external", "submitted"},
        {0, 3, "E5", "survey", "external", "draft"},
    };
    for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
        sleep_ms(2); /* ids are time-ordered to the millisecond */
        json_t *in = evaluation_new(spec[i].title, spec[i].method, spec[i].level, spec[i].kind),
               *e = evaluation_add(s, spec[i].on_b ? b : a, in, spec[i].status);
        json_decref(e);
        json_decref(in);
    }
    static const struct {
        struct coi_evaluation_query q;
        const char *titles;
    } cases[] = {
        {{.see_all = 1}, "E1 E2 E3 E4 E5"},
        {{.see_all = 1, .method = "survey"}, "E1 E3 E5"},
        {{.see_all = 1, .evidence_level = 3}, "E1 E3 E5"},
        {{.see_all = 1, .evidence_level = 5}, "E4"},
        {{.see_all = 1, .evaluator_kind = "internal"}, "E2 E3"},
        {{.see_all = 1, .status = "draft"}, "E2 E5"},
        {{.see_all = 1, .status = "submitted"}, "E4"},
        {{.see_all = 1, .method = "survey", .evaluator_kind = "external", .status = "published"},
         "E1"},
        {{.see_all = 1, .method = "interview"}, ""},
        {{.see_all = 1, .evidence_level = 1}, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        titles_listed(s, &cases[i].q, 2, titles, sizeof titles);
        if (strcmp(titles, cases[i].titles) != 0)
            test_fail(__FILE__, __LINE__, "filter %zu lists \"%s\", expected \"%s\"", i, titles,
                      cases[i].titles);
    }
    titles_listed(s, &(struct coi_evaluation_query){.see_all = 1, .case_id = a}, 2, titles,
                  sizeof titles);
    CHECK_STR(titles, "E1 E2 E5");
    titles_listed(s, &(struct coi_evaluation_query){.see_all = 1, .case_id = b, .method = "survey"},
                  2, titles, sizeof titles);
    CHECK_STR(titles, "E3");
    titles_listed(s, &(struct coi_evaluation_query){.see_all = 1, .case_id = NO_ID}, 2, titles,
                  sizeof titles);
    CHECK_STR(titles, "");

    /* an evaluation created later lists last, ids rise in creation order */
    evaluation_put(s, id, a, "E6", "survey", 3, "draft");
    titles_listed(s, &(struct coi_evaluation_query){.see_all = 1, .case_id = a}, 100, titles,
                  sizeof titles);
    CHECK_STR(titles, "E1 E2 E5 E6");
}

STORAGE_TEST(storage_evaluations_list_keyset_paging_neither_skips_nor_repeats)
{
    char case_id[40], id[40], whole[256], paged[256];
    case_add(s, case_id, "0101", NULL, "published");
    for (int i = 0; i < 7; i++) {
        char title[16];
        snprintf(title, sizeof title, "V%d", i);
        evaluation_put(s, id, case_id, title, "survey", 1 + i % 5, "draft");
    }
    titles_listed(s, &(struct coi_evaluation_query){.see_all = 1}, 100, whole, sizeof whole);
    CHECK_STR(whole, "V0 V1 V2 V3 V4 V5 V6");
    int sizes[] = {1, 2, 3, 6, 7, 8};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        titles_listed(s, &(struct coi_evaluation_query){.see_all = 1}, sizes[k], paged,
                      sizeof paged);
        CHECK_STR(paged, whole);
    }
    json_t *page = NULL;
    struct coi_evaluation_query q = {.see_all = 1, .limit = 3};
    CHECK_INT(s->evaluation_list(s, &page, &q), COI_OK);
    CHECK_INT(json_array_size(page), 3);
    json_decref(page);
    q.after_id = id; /* the last one */
    page = NULL;
    CHECK_INT(s->evaluation_list(s, &page, &q), COI_OK);
    CHECK_INT(json_array_size(page), 0);
    json_decref(page);
}

/* Cases P (published) and D (draft), both led by 0101 with partner 0851, and Q (published)
 * led by 0147; each has a published and a draft evaluation: P1 P2, D1 D2, Q1 Q2. */
static void make_matrix(struct coi_storage *s, char p[40], char d[40], char q[40])
{
    char id[40];
    case_add(s, p, "0101", "0851", "published");
    case_add(s, d, "0101", "0851", "draft");
    case_add(s, q, "0147", NULL, "published");
    evaluation_put(s, id, p, "P1", "survey", 3, "published");
    evaluation_put(s, id, p, "P2", "survey", 5, "draft");
    evaluation_put(s, id, d, "D1", "register", 4, "published");
    evaluation_put(s, id, d, "D2", "register", 2, "in_review");
    evaluation_put(s, id, q, "Q1", "interview", 2, "published");
    evaluation_put(s, id, q, "Q2", "interview", 4, "changes_requested");
}

STORAGE_TEST(storage_evaluations_list_visibility_follows_case_and_lead_organisation)
{
    char p[40], d[40], q[40], titles[128];
    make_matrix(s, p, d, q);
    static const struct {
        int see_all;
        const char *viewer, *titles;
    } matrix[] = {
        {1, NULL, "P1 P2 D1 D2 Q1 Q2"},
        {1, "0147", "P1 P2 D1 D2 Q1 Q2"},
        {0, NULL, "P1 Q1"},            /* anonymous: published evaluations of published cases */
        {0, "0101", "P1 P2 D1 D2 Q1"}, /* lead: everything of its cases */
        {0, "0851", "P1 D1 Q1"},       /* partner only: published ones of the cases it sees */
        {0, "0147", "P1 Q1 Q2"},
        {0, "9999", "P1 Q1"},
    };
    for (size_t i = 0; i < sizeof matrix / sizeof matrix[0]; i++) {
        struct coi_evaluation_query f = {.see_all = matrix[i].see_all,
                                         .viewer_org = matrix[i].viewer};
        titles_listed(s, &f, 2, titles, sizeof titles);
        if (strcmp(titles, matrix[i].titles) != 0)
            test_fail(__FILE__, __LINE__, "see_all %d viewer %s lists \"%s\", expected \"%s\"",
                      matrix[i].see_all, matrix[i].viewer ? matrix[i].viewer : "(none)", titles,
                      matrix[i].titles);
    }
    /* filters narrow what the viewer sees; they never widen it */
    titles_listed(s, &(struct coi_evaluation_query){.viewer_org = "0851", .case_id = d}, 10, titles,
                  sizeof titles);
    CHECK_STR(titles, "D1");
    titles_listed(s, &(struct coi_evaluation_query){.case_id = d}, 10, titles, sizeof titles);
    CHECK_STR(titles, "");
    titles_listed(s, &(struct coi_evaluation_query){.status = "draft"}, 10, titles, sizeof titles);
    CHECK_STR(titles, "");
    titles_listed(s, &(struct coi_evaluation_query){.viewer_org = "0101", .status = "in_review"},
                  10, titles, sizeof titles);
    CHECK_STR(titles, "D2");

    /* publishing the case shows its published evaluation to everyone */
    case_move(s, d, "published");
    titles_listed(s, &(struct coi_evaluation_query){0}, 10, titles, sizeof titles);
    CHECK_STR(titles, "P1 D1 Q1");
}

/* ---- summaries -------------------------------------------------------------------------- */

/* Checks summary `sum`: count, published_count, best_evidence_level (0: null), the savings
 * sum and the methods joined with spaces. */
static void check_summary(const char *file, int line, const json_t *sum, long long count,
                          long long published, long long best, double savings, const char *methods)
{
    char got[256];
    json_t *b = json_object_get(sum, "best_evidence_level"),
           *d = json_object_get(sum, "documented_annual_savings_dkk"),
           *m = json_object_get(sum, "methods");
    join_strings(got, sizeof got, m);
    if (!json_is_object(sum) || json_object_size(sum) != 5 ||
        json_integer_value(json_object_get(sum, "count")) != count ||
        !json_is_integer(json_object_get(sum, "count")) ||
        json_integer_value(json_object_get(sum, "published_count")) != published ||
        !json_is_integer(json_object_get(sum, "published_count")) ||
        (best == 0 ? !json_is_null(b) : !json_is_integer(b) || json_integer_value(b) != best) ||
        !json_is_number(d) || json_number_value(d) != savings || !json_is_array(m) ||
        strcmp(got, methods) != 0) {
        char *text = json_dumps(sum, JSON_SORT_KEYS | JSON_COMPACT);
        test_fail(file, line,
                  "summary %s, expected count %lld published %lld best %lld savings %.0f"
                  " methods [%s]",
                  text ? text : "(none)", count, published, best, savings, methods);
        free(text);
    }
}
#define CHECK_SUMMARY(all, id, ...)                                                                \
    check_summary(__FILE__, __LINE__, json_object_get((all), (id)), __VA_ARGS__)

/* The summaries of `ids` under (see_all, viewer); NULL after recording a failure. */
static json_t *summaries(struct coi_storage *s, const char *const *ids, size_t n, int see_all,
                         const char *viewer)
{
    json_t *out = NULL;
    struct coi_evaluation_query q = {.see_all = see_all, .viewer_org = viewer};
    int rc = s->evaluation_summaries(s, &out, ids, n, &q);
    CHECK_INT(rc, COI_OK);
    CHECK(json_is_object(out));
    CHECK_INT(json_object_size(out), n);
    return out;
}

/* Adds an evaluation with annual savings `savings` (< 0: economic is null, 0: the amount is
 * null). */
static void evaluation_saving(struct coi_storage *s, const char *case_id, const char *method,
                              int level, json_int_t savings, const char *status)
{
    json_t *in = evaluation_new("Besparelse", method, level, "external");
    if (savings < 0)
        json_object_set_new(in, "economic", json_null());
    else
        json_object_set_new(json_object_get(in, "economic"), "annual_savings_dkk",
                            savings ? json_integer(savings) : json_null());
    json_decref(evaluation_add(s, case_id, in, status));
    json_decref(in);
}

STORAGE_TEST(storage_evaluations_summaries_count_best_level_savings_and_methods_per_case)
{
    char a[40], b[40], c[40];
    case_add(s, a, "0101", NULL, "published");
    case_add(s, b, "0851", NULL, "published");
    case_add(s, c, "0147", "0851", "draft");
    evaluation_saving(s, a, "survey", 3, 100000, "published");
    evaluation_saving(s, a, "register", 4, 250000, "published");
    evaluation_saving(s, a, "interview", 5, 1000000, "draft");
    evaluation_saving(s, a, "survey", 2, -1, "published");
    evaluation_saving(s, a, "register", 1, 0, "published");
    evaluation_saving(s, c, "survey", 1, 5, "published");
    const char *ids[] = {a, b, c, NO_ID};

    json_t *all = summaries(s, ids, 4, 1, NULL);
    CHECK_SUMMARY(all, a, 5, 4, 5, 1350000, "interview register survey");
    CHECK_SUMMARY(all, b, 0, 0, 0, 0, "");
    CHECK_SUMMARY(all, c, 1, 1, 1, 5, "survey");
    CHECK_SUMMARY(all, NO_ID, 0, 0, 0, 0, "");
    json_decref(all);

    all = summaries(s, ids, 4, 0, NULL); /* anonymous: C is a draft case */
    CHECK_SUMMARY(all, a, 4, 4, 4, 350000, "register survey");
    CHECK_SUMMARY(all, c, 0, 0, 0, 0, "");
    json_decref(all);

    all = summaries(s, ids, 4, 0, "0101"); /* lead of A */
    CHECK_SUMMARY(all, a, 5, 4, 5, 1350000, "interview register survey");
    CHECK_SUMMARY(all, c, 0, 0, 0, 0, "");
    json_decref(all);

    all = summaries(s, ids, 4, 0, "0851"); /* partner of C, which it therefore sees */
    CHECK_SUMMARY(all, a, 4, 4, 4, 350000, "register survey");
    CHECK_SUMMARY(all, c, 1, 1, 1, 5, "survey");
    json_decref(all);

    all = summaries(s, ids + 1, 1, 1, NULL); /* only the ids asked for */
    CHECK(json_object_get(all, a) == NULL);
    CHECK_SUMMARY(all, b, 0, 0, 0, 0, "");
    json_decref(all);
    all = summaries(s, ids, 0, 1, NULL);
    json_decref(all);
}
