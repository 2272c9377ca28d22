/* Storage conformance, run on every backend: adoptions and what they derive on the case. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storage/storage.h"
#include "tests/unit/test.h"
#include "tests/unit/storage_helpers.h"

/* Checks that array `key` of `obj` holds exactly the space-separated `expected`. */
#define CHECK_STRINGS(obj, key, expected)                                                          \
    do {                                                                                           \
        char got_[512];                                                                            \
        json_t *arr_ = json_object_get((obj), (key));                                              \
        if (!json_is_array(arr_))                                                                  \
            test_fail(__FILE__, __LINE__, "%s is not an array", (key));                            \
        join_strings(got_, sizeof got_, arr_);                                                     \
        CHECK_STR(got_, (expected));                                                               \
    } while (0)

#define CHECK_COUNT(c, n) CHECK_INT(json_integer_value(json_object_get((c), "adoption_count")), n)

static const char NO_CASE[] = "00000000-0000-7000-8000-000000000000";

static json_t *case_now(struct coi_storage *s, const char *id)
{
    json_t *c = NULL;
    CHECK_INT(s->case_get(s, &c, id), COI_OK);
    return c;
}

/* ---- adoptions -------------------------------------------------------------------------- */

static json_t *adoption_new(const char *org, const char *status)
{
    return json_pack("{s:s, s:s, s:n, s:n}", "organisation_code", org, "status", status,
                     "started_on", "notes");
}

/* Creates an adoption of `case_id` by `org`; its record or NULL after recording a failure. */
static json_t *adopt(struct coi_storage *s, const char *case_id, const char *org,
                     const char *status)
{
    json_t *in = adoption_new(org, status), *out = NULL;
    int rc = s->adoption_create(s, &out, case_id, in);
    if (rc != COI_OK)
        test_fail(__FILE__, __LINE__, "adoption_create %s: %s (%s)", org, coi_error_name(rc),
                  coi_error_detail());
    json_decref(in);
    return out;
}

STORAGE_TEST(storage_cases_adoption_create_checks_case_organisation_and_duplicates)
{
    json_t *in = case_new("0101", NULL, NULL, "Adopteres"), *c = case_create_ok(s, in);
    json_t *a = NULL, *got = NULL, *now;
    json_decref(in);
    if (c == NULL)
        return;
    const char *case_id = field(c, "id");
    in = json_pack("{s:s, s:s, s:s, s:s}", "organisation_code", "0851", "status", "implemented",
                   "started_on", "2024-03-01", "notes",
                   "Godt \xc3\xa6\xc3\xb8\xc3\xa5 \xf0\x9f\x9a\x80");
    CHECK_INT(s->adoption_create(s, &a, case_id, in), COI_OK);
    CHECK_INT(strlen(field(a, "id")), 36);
    CHECK_STR(field(a, "case_id"), case_id);
    CHECK_STR(field(a, "organisation_code"), "0851");
    CHECK_STR(field(a, "status"), "implemented");
    CHECK_STR(field(a, "started_on"), "2024-03-01");
    CHECK_STR(field(a, "notes"), "Godt \xc3\xa6\xc3\xb8\xc3\xa5 \xf0\x9f\x9a\x80");
    CHECK_INT(version_of(a), 1);
    CHECK(is_rfc3339(field(a, "created_at")));
    CHECK_STR(field(a, "updated_at"), field(a, "created_at"));
    CHECK_INT(json_object_size(a), 9);
    CHECK_INT(s->adoption_get(s, &got, field(a, "id")), COI_OK);
    CHECK(json_equal(got, a));
    json_decref(got);
    got = NULL;
    json_decref(in);

    static const struct {
        const char *org, *status, *case_id;
        int rc;
        const char *field;
    } bad[] = {
        {"0851", "considering", NULL, COI_EEXISTS, "organisation_code"},
        {"9999", "considering", NULL, COI_EINVALID, "organisation_code"},
        {"0147", "bogus", NULL, COI_EINVALID, "status"},
        {"0147", "considering", NO_CASE, COI_ENOTFOUND, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in = adoption_new(bad[i].org, bad[i].status);
        coi_error_clear();
        CHECK_INT(s->adoption_create(s, &got, bad[i].case_id ? bad[i].case_id : case_id, in),
                  bad[i].rc);
        CHECK(got == NULL);
        if (bad[i].field)
            CHECK_STR(coi_error_field(), bad[i].field);
        json_decref(in);
    }
    CHECK_INT(s->adoption_list(s, &got, case_id, NULL, 10), COI_OK);
    CHECK_INT(json_array_size(got), 1);
    json_decref(got);
    got = NULL;
    CHECK_INT(s->adoption_get(s, &got, NO_CASE), COI_ENOTFOUND);

    /* the case gains the count and the region, but not a version or history entry */
    now = case_now(s, case_id);
    CHECK_COUNT(now, 1);
    CHECK_STRINGS(now, "regions_reached", "1081 1084");
    CHECK_STRINGS(now, "government_levels", "municipal");
    CHECK_INT(version_of(now), 1);
    CHECK_STR(field(now, "updated_at"), field(c, "updated_at"));
    json_t *history = history_of(s, case_id);
    CHECK_INT(json_array_size(history), 1);
    json_decref(history);
    json_decref(now);
    json_decref(a);
    json_decref(c);
}

STORAGE_TEST(storage_cases_adoption_writes_recompute_count_and_regions)
{
    json_t *in = case_new("0101", NULL, NULL, "Spredes"), *c = case_create_ok(s, in), *now;
    json_t *out = NULL;
    json_decref(in);
    if (c == NULL)
        return;
    const char *case_id = field(c, "id");
    json_t *aalborg = adopt(s, case_id, "0851", "implemented");
    json_t *syd = adopt(s, case_id, "1083", "considering");
    json_t *frb = adopt(s, case_id, "0147", "adapting"); /* same region as the lead */
    now = case_now(s, case_id);
    CHECK_COUNT(now, 3);
    CHECK_STRINGS(now, "regions_reached", "1081 1083 1084");
    json_decref(now);

    in = adoption_new("0851", "discontinued");
    CHECK_INT(s->adoption_update(s, &out, field(aalborg, "id"), in, 1), COI_OK);
    CHECK_STR(field(out, "status"), "discontinued");
    CHECK_INT(version_of(out), 2);
    json_decref(out);
    json_decref(in);
    now = case_now(s, case_id);
    CHECK_COUNT(now, 2);
    CHECK_STRINGS(now, "regions_reached", "1083 1084");
    json_decref(now);

    CHECK_INT(s->adoption_delete(s, field(syd, "id"), 1), COI_OK);
    now = case_now(s, case_id);
    CHECK_COUNT(now, 1);
    CHECK_STRINGS(now, "regions_reached", "1084");
    CHECK_INT(version_of(now), 1);
    CHECK_STRINGS(now, "government_levels", "municipal");
    json_decref(now);

    in = adoption_new("0851", "implemented"); /* back from discontinued */
    CHECK_INT(s->adoption_update(s, &out, field(aalborg, "id"), in, 2), COI_OK);
    json_decref(out);
    json_decref(in);
    now = case_now(s, case_id);
    CHECK_COUNT(now, 2);
    CHECK_STRINGS(now, "regions_reached", "1081 1084");
    json_decref(now);
    json_decref(frb);
    json_decref(syd);
    json_decref(aalborg);
    json_decref(c);
}

STORAGE_TEST(storage_cases_adoption_list_orders_by_id_and_pages_after_id)
{
    static const char *const orgs[] = {"0147", "0151", "0153", "0155", "0157"};
    json_t *in = case_new("0101", NULL, NULL, "Liste"), *c = case_create_ok(s, in);
    json_t *all = NULL, *page = NULL, *empty_case = case_create_ok(s, in);
    char whole[512], paged[512];
    json_decref(in);
    if (c == NULL)
        goto out;
    for (int i = 0; i < 5; i++)
        json_decref(adopt(s, field(c, "id"), orgs[i], "considering"));
    CHECK_INT(s->adoption_list(s, &all, field(c, "id"), NULL, 100), COI_OK);
    CHECK_INT(json_array_size(all), 5);
    for (size_t i = 1; i < json_array_size(all); i++)
        CHECK(strcmp(field(json_array_get(all, i - 1), "id"), field(json_array_get(all, i), "id")) <
              0);
    join_key(whole, sizeof whole, all, "id");

    json_t *pages = json_array();
    char after[40] = "";
    for (int round = 0; round < 4; round++) {
        CHECK_INT(s->adoption_list(s, &page, field(c, "id"), after[0] ? after : NULL, 2), COI_OK);
        size_t n = json_array_size(page);
        CHECK_INT(n, round < 2 ? 2 : round == 2 ? 1 : 0);
        if (n > 0)
            snprintf(after, sizeof after, "%s", field(json_array_get(page, n - 1), "id"));
        json_array_extend(pages, page);
        json_decref(page);
        page = NULL;
    }
    join_key(paged, sizeof paged, pages, "id");
    json_decref(pages);
    CHECK_STR(paged, whole);
    CHECK_INT(s->adoption_list(s, &page, field(empty_case, "id"), NULL, 10), COI_OK);
    CHECK_INT(json_array_size(page), 0);
    json_decref(page);
    page = NULL;
    CHECK_INT(s->adoption_list(s, &page, NO_CASE, NULL, 10), COI_ENOTFOUND);
    CHECK(page == NULL);
out:
    json_decref(all);
    json_decref(empty_case);
    json_decref(c);
}

STORAGE_TEST(storage_cases_adoption_update_and_delete_match_expected_version)
{
    json_t *in = case_new("0101", NULL, NULL, "Versioner"), *c = case_create_ok(s, in);
    json_t *a = NULL, *out = NULL, *got = NULL;
    json_decref(in);
    if (c == NULL || (a = adopt(s, field(c, "id"), "0851", "considering")) == NULL)
        goto out;
    const char *id = field(a, "id");
    in = adoption_new("0851", "adapting");
    CHECK_INT(s->adoption_update(s, &out, id, in, 2), COI_ECONFLICT);
    CHECK(out == NULL);
    CHECK_INT(s->adoption_delete(s, id, 2), COI_ECONFLICT);
    CHECK_INT(s->adoption_get(s, &got, id), COI_OK);
    CHECK(json_equal(got, a));
    json_decref(got);
    got = NULL;
    CHECK_INT(s->adoption_update(s, &out, id, in, -1), COI_OK);
    CHECK_INT(version_of(out), 2);
    CHECK_STR(field(out, "status"), "adapting");
    CHECK_STR(field(out, "created_at"), field(a, "created_at"));
    json_decref(out);
    out = NULL;
    CHECK_INT(s->adoption_delete(s, id, 2), COI_OK);
    CHECK_INT(s->adoption_get(s, &got, id), COI_ENOTFOUND);
    CHECK_INT(s->adoption_delete(s, id, -1), COI_ENOTFOUND);
    CHECK_INT(s->adoption_update(s, &out, id, in, -1), COI_ENOTFOUND);
    CHECK(out == NULL && got == NULL);
    json_t *now = case_now(s, field(c, "id"));
    CHECK_COUNT(now, 0);
    json_decref(now);
    json_decref(in);
out:
    json_decref(a);
    json_decref(c);
}
