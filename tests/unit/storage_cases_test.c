/* Storage conformance, run on every backend: cases and their history. */
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

/* ---- create and read -------------------------------------------------------------------- */

STORAGE_TEST(storage_cases_create_returns_version_1_draft_with_derived_fields)
{
    json_t *in = case_new("0101", "ext-1", "1084", "Digital post"), *got = NULL;
    json_object_set_new(in, "inspired_by_case_id", json_null());
    json_object_set_new(in, "not_a_content_field", json_true());
    json_t *c = case_create_ok(s, in);
    json_decref(in);
    if (c == NULL)
        return;
    CHECK_INT(strlen(field(c, "id")), 36);
    CHECK_STR(field(c, "organisation_code"), "0101");
    CHECK_STR(field(c, "external_id"), "ext-1");
    CHECK_STR(field(c, "status"), "draft");
    CHECK_INT(version_of(c), 1);
    CHECK_STRINGS(c, "partner_organisation_codes", "1084");
    CHECK_STRINGS(c, "government_levels", "municipal regional");
    CHECK_STRINGS(c, "regions_reached", "1084");
    CHECK_COUNT(c, 0);
    CHECK(json_is_null(json_object_get(c, "published_at")));
    CHECK(is_rfc3339(field(c, "created_at")));
    CHECK_STR(field(c, "updated_at"), field(c, "created_at"));
    CHECK_STR(field(c, "title"), "Digital post");
    CHECK_STR(field(c, "summary"), "Kort resum\xc3\xa9");
    CHECK_STRINGS(c, "tags", "velf\xc3\xa6rd digital");
    CHECK(json_is_true(json_object_get(c, "employee_driven")));
    CHECK_INT(json_integer_value(json_object_get(c, "spread_potential_rating")), 3);
    CHECK(json_is_null(json_object_get(c, "inspired_by_case_id")));
    CHECK(json_object_get(c, "not_a_content_field") == NULL);
    CHECK(json_object_get(c, "problem") == NULL); /* absent content stays absent */
    CHECK_INT(json_object_size(c), 18);           /* 6 content fields + 12 of the record */
    CHECK_INT(s->case_get(s, &got, field(c, "id")), COI_OK);
    CHECK(json_equal(got, c));
    json_decref(got);
    json_decref(c);

    in = case_new("0101", NULL, NULL, "Uden ekstern id");
    json_t *second = case_create_ok(s, in), *third = case_create_ok(s, in);
    CHECK(json_is_null(json_object_get(second, "external_id")));
    CHECK_STRINGS(second, "partner_organisation_codes", "");
    CHECK_STRINGS(second, "government_levels", "municipal");
    CHECK(third != NULL); /* null external ids never collide */
    CHECK_INT(case_count(s), 3);
    json_decref(third);
    json_decref(second);
    json_decref(in);
}

STORAGE_TEST(storage_cases_derived_fields_cover_state_other_regions_and_partner_order)
{
    json_t *orgs[] = {org_new("9001", "Styrelsen", "state", NULL),
                      org_new("9002", "Forening", "other", NULL),
                      org_new("9003", "Sygehus", "other", "1083")};
    for (size_t i = 0; i < 3; i++) {
        json_t *out = NULL;
        CHECK_INT(s->organisation_create(s, &out, orgs[i]), COI_OK);
        json_decref(out);
        json_decref(orgs[i]);
    }
    json_t *in = case_new("0851", NULL, "9003 9002 0101 9001", "Blandet"), *c;
    c = case_create_ok(s, in);
    CHECK_STRINGS(c, "partner_organisation_codes", "9003 9002 0101 9001");
    CHECK_STRINGS(c, "government_levels", "municipal state");
    CHECK_STRINGS(c, "regions_reached", "1081 1083 1084");
    json_decref(c);
    json_decref(in);

    in = case_new("1085", NULL, NULL, "Regionalt");
    c = case_create_ok(s, in);
    CHECK_STRINGS(c, "government_levels", "regional");
    CHECK_STRINGS(c, "regions_reached", "1085");
    json_decref(c);
    json_decref(in);

    in = case_new("9002", NULL, NULL, "Ingen niveauer");
    c = case_create_ok(s, in);
    CHECK_STRINGS(c, "government_levels", "");
    CHECK_STRINGS(c, "regions_reached", "");
    json_decref(c);
    json_decref(in);
}

STORAGE_TEST(storage_cases_create_writes_one_created_history_entry)
{
    json_t *in = case_new("0101", "h-1", NULL, "Historik"), *c = NULL;
    json_t *fields = json_pack("[s, s]", "title", "summary");
    CHECK_INT(s->case_create(s, &c, in, &TEST_ACTOR, fields), COI_OK);
    json_t *history = history_of(s, field(c, "id")), *e = json_array_get(history, 0);
    CHECK_INT(json_array_size(history), 1);
    CHECK_INT(version_of(e), 1);
    CHECK_STR(field(e, "action"), "created");
    CHECK(json_is_null(json_object_get(e, "from_status")));
    CHECK_STR(field(e, "to_status"), "draft");
    CHECK(json_is_null(json_object_get(e, "note")));
    CHECK(json_equal(json_object_get(e, "changed_fields"), fields));
    CHECK_STR(field(e, "at"), field(c, "created_at"));
    json_t *actor = json_pack("{s:s, s:s, s:s, s:s}", "sub", "editor-1", "role", "editor", "party",
                              "partner-system", "org", "0101");
    CHECK(json_equal(json_object_get(e, "actor"), actor));
    CHECK_INT(json_object_size(e), 8);
    json_decref(actor);
    json_decref(history);
    json_decref(c);

    /* party and org are left out of the actor when they are NULL */
    const struct coi_actor admin = {.sub = "admin-1", .role = "admin"};
    json_object_set_new(in, "external_id", json_string("h-2"));
    CHECK_INT(s->case_create(s, &c, in, &admin, fields), COI_OK);
    history = history_of(s, field(c, "id"));
    actor = json_pack("{s:s, s:s}", "sub", "admin-1", "role", "admin");
    CHECK(json_equal(json_object_get(json_array_get(history, 0), "actor"), actor));
    json_decref(actor);
    json_decref(history);
    json_decref(c);
    json_decref(fields);
    json_decref(in);
}

STORAGE_TEST(storage_cases_get_by_external_id_looks_within_one_organisation)
{
    json_t *in = case_new("0101", "sag-A", NULL, "A"), *a = case_create_ok(s, in), *got = NULL;
    json_decref(in);
    in = case_new("0851", "sag-A", NULL, "B"); /* the same external id, another organisation */
    json_t *b = case_create_ok(s, in);
    json_decref(in);
    CHECK_INT(s->case_get_by_external_id(s, &got, "0101", "sag-A"), COI_OK);
    CHECK(json_equal(got, a));
    json_decref(got);
    CHECK_INT(s->case_get_by_external_id(s, &got, "0851", "sag-A"), COI_OK);
    CHECK_STR(field(got, "id"), field(b, "id"));
    json_decref(got);
    got = NULL;
    CHECK_INT(s->case_get_by_external_id(s, &got, "0147", "sag-A"), COI_ENOTFOUND);
    CHECK_INT(s->case_get_by_external_id(s, &got, "0101", "sag-B"), COI_ENOTFOUND);
    CHECK_INT(s->case_get(s, &got, NO_CASE), COI_ENOTFOUND);
    CHECK(got == NULL);
    json_decref(a);
    json_decref(b);
}

/* ---- refused writes --------------------------------------------------------------------- */

STORAGE_TEST(storage_cases_duplicate_external_id_is_eexists_and_writes_nothing)
{
    json_t *in = case_new("0101", "dup", NULL, "Original"), *out = NULL;
    json_t *a = case_create_ok(s, in);
    coi_error_clear();
    CHECK_INT(s->case_create(s, &out, in, &TEST_ACTOR, NULL), COI_EEXISTS);
    CHECK_STR(coi_error_field(), "external_id");
    CHECK(out == NULL);
    CHECK_INT(case_count(s), 1);
    json_decref(in);

    in = case_new("0101", "other", NULL, "Anden");
    json_t *b = case_create_ok(s, in);
    json_decref(in);
    in = case_new("0101", "dup", NULL, "Anden");
    coi_error_clear();
    CHECK_INT(s->case_update(s, &out, field(b, "id"), in, 1, &TEST_ACTOR, NULL), COI_EEXISTS);
    CHECK_STR(coi_error_field(), "external_id");
    CHECK(out == NULL);
    check_case_unchanged(s, field(b, "id"), b, 1);
    check_case_unchanged(s, field(a, "id"), a, 1);
    json_decref(in);
    json_decref(a);
    json_decref(b);
}

STORAGE_TEST(storage_cases_unknown_or_repeated_references_are_einvalid_and_write_nothing)
{
    static const struct {
        const char *lead, *partners, *inspired_by, *field;
    } bad[] = {
        {"9999", NULL, NULL, "organisation_code"},
        {"0101", "1084 9999", NULL, "partner_organisation_codes"},
        {"0101", "0101", NULL, "partner_organisation_codes"},
        {"0101", "1084 0147 1084", NULL, "partner_organisation_codes"},
        {"0101", "1084", NO_CASE, "inspired_by_case_id"},
    };
    json_t *in = case_new("0147", "ok", "1084", "Gyldig"), *ok = case_create_ok(s, in), *out;
    json_decref(in);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in = case_new(bad[i].lead, "bad", bad[i].partners, "Ugyldig");
        if (bad[i].inspired_by)
            json_object_set_new(in, "inspired_by_case_id", json_string(bad[i].inspired_by));
        out = NULL;
        coi_error_clear();
        CHECK_INT(s->case_create(s, &out, in, &TEST_ACTOR, NULL), COI_EINVALID);
        CHECK_STR(coi_error_field(), bad[i].field);
        CHECK(out == NULL);
        coi_error_clear();
        CHECK_INT(s->case_update(s, &out, field(ok, "id"), in, 1, &TEST_ACTOR, NULL), COI_EINVALID);
        CHECK_STR(coi_error_field(), bad[i].field);
        CHECK(out == NULL);
        json_decref(in);
    }
    CHECK_INT(case_count(s), 1);
    check_case_unchanged(s, field(ok, "id"), ok, 1);

    in = case_new("0101", NULL, NULL, "Inspireret");
    json_object_set_new(in, "inspired_by_case_id", json_string(field(ok, "id")));
    out = case_create_ok(s, in);
    CHECK_STR(field(out, "inspired_by_case_id"), field(ok, "id"));
    json_decref(out);
    json_decref(in);
    json_decref(ok);
}

/* The stored case `id` (new reference; NULL after recording a failure). */
static json_t *case_now(struct coi_storage *s, const char *id)
{
    json_t *c = NULL;
    CHECK_INT(s->case_get(s, &c, id), COI_OK);
    return c;
}

/* ---- update and transition -------------------------------------------------------------- */

STORAGE_TEST(storage_cases_update_bumps_version_replaces_partners_and_doc)
{
    json_t *in = case_new("0101", "u-1", "1084 0147", "F\xc3\xb8rst"), *c = case_create_ok(s, in);
    json_t *out = NULL, *got = NULL, *fields = json_pack("[s, s]", "title", "summary");
    json_decref(in);
    if (c == NULL)
        return;
    sleep_ms(5);
    in = case_new("0101", "u-1", "0851", "Siden");
    json_object_del(in, "summary");
    json_object_set_new(in, "problem", json_string("Ventetid"));
    CHECK_INT(s->case_update(s, &out, field(c, "id"), in, 1, &TEST_ACTOR, fields), COI_OK);
    CHECK_INT(version_of(out), 2);
    CHECK_STR(field(out, "title"), "Siden");
    CHECK(json_object_get(out, "summary") == NULL);
    CHECK_STR(field(out, "problem"), "Ventetid");
    CHECK_STR(field(out, "status"), "draft");
    CHECK_STRINGS(out, "partner_organisation_codes", "0851");
    CHECK_STRINGS(out, "government_levels", "municipal");
    CHECK_STRINGS(out, "regions_reached", "1081 1084");
    CHECK_STR(field(out, "created_at"), field(c, "created_at"));
    if (strcmp(field(out, "updated_at"), field(c, "updated_at")) <= 0)
        test_fail(__FILE__, __LINE__, "updated_at did not move on");
    CHECK_INT(s->case_get(s, &got, field(c, "id")), COI_OK);
    CHECK(json_equal(got, out));
    json_decref(got);

    json_t *history = history_of(s, field(c, "id")), *e = json_array_get(history, 0);
    CHECK_INT(json_array_size(history), 2);
    CHECK_INT(version_of(e), 2);
    CHECK_STR(field(e, "action"), "updated");
    CHECK_STR(field(e, "from_status"), "draft");
    CHECK_STR(field(e, "to_status"), "draft");
    CHECK(json_equal(json_object_get(e, "changed_fields"), fields));
    CHECK_STR(field(e, "at"), field(out, "updated_at"));
    json_decref(history);
    json_decref(out);

    /* -1 skips the version check; an empty partner list removes every partner */
    json_object_set_new(in, "partner_organisation_codes", json_array());
    CHECK_INT(s->case_update(s, &out, field(c, "id"), in, -1, &TEST_ACTOR, fields), COI_OK);
    CHECK_INT(version_of(out), 3);
    CHECK_STRINGS(out, "partner_organisation_codes", "");
    CHECK_STRINGS(out, "regions_reached", "1084");
    json_decref(out);
    json_decref(fields);
    json_decref(in);
    json_decref(c);
}

STORAGE_TEST(storage_cases_stale_or_unknown_version_is_econflict_or_enotfound_and_changes_nothing)
{
    json_t *in = case_new("0101", "s-1", "1084", "Stabil"), *c = case_create_ok(s, in);
    json_t *other = case_new("0101", "s-1", "0851", "Forandret"), *out = NULL;
    if (c == NULL)
        goto out;
    const char *id = field(c, "id");
    CHECK_INT(s->case_update(s, &out, id, other, 2, &TEST_ACTOR, NULL), COI_ECONFLICT);
    CHECK_INT(s->case_update(s, &out, id, other, 0, &TEST_ACTOR, NULL), COI_ECONFLICT);
    CHECK_INT(s->case_transition(s, &out, id, "submitted", NULL, 2, &TEST_ACTOR), COI_ECONFLICT);
    CHECK(out == NULL);
    check_case_unchanged(s, id, c, 1);
    CHECK_INT(s->case_update(s, &out, NO_CASE, other, -1, &TEST_ACTOR, NULL), COI_ENOTFOUND);
    CHECK_INT(s->case_update(s, &out, NO_CASE, other, 1, &TEST_ACTOR, NULL), COI_ENOTFOUND);
    CHECK_INT(s->case_transition(s, &out, NO_CASE, "submitted", NULL, 1, &TEST_ACTOR),
              COI_ENOTFOUND);
    CHECK(out == NULL);
    CHECK_INT(case_count(s), 1);
out:
    json_decref(other);
    json_decref(in);
    json_decref(c);
}

STORAGE_TEST(storage_cases_transition_sets_status_published_at_and_history_note)
{
    json_t *in = case_new("0101", "t-1", NULL,
                          "Forl\xc3\xb8"
                          "b"),
           *c = case_create_ok(s, in);
    json_t *out = NULL;
    json_decref(in);
    if (c == NULL)
        return;
    const char *id = field(c, "id");
    static const char *const steps[] = {"submitted", "in_review"};
    for (int i = 0; i < 2; i++) {
        CHECK_INT(s->case_transition(s, &out, id, steps[i], NULL, i + 1, &TEST_ACTOR), COI_OK);
        CHECK_STR(field(out, "status"), steps[i]);
        CHECK(json_is_null(json_object_get(out, "published_at")));
        json_decref(out);
    }
    CHECK_INT(
        s->case_transition(s, &out, id, "published", "Godkendt \xf0\x9f\x91\x8d", 3, &TEST_ACTOR),
        COI_OK);
    CHECK_INT(version_of(out), 4);
    CHECK_STR(field(out, "status"), "published");
    CHECK(is_rfc3339(field(out, "published_at")));
    CHECK_STR(field(out, "published_at"), field(out, "updated_at"));
    char first_published[64];
    snprintf(first_published, sizeof first_published, "%s", field(out, "published_at"));
    json_decref(out);

    json_t *history = history_of(s, id), *e = json_array_get(history, 0);
    CHECK_INT(json_array_size(history), 4);
    CHECK_INT(version_of(e), 4);
    CHECK_STR(field(e, "action"), "transition");
    CHECK_STR(field(e, "from_status"), "in_review");
    CHECK_STR(field(e, "to_status"), "published");
    CHECK_STR(field(e, "note"), "Godkendt \xf0\x9f\x91\x8d");
    CHECK_STRINGS(e, "changed_fields", "status");
    CHECK(json_is_null(json_object_get(json_array_get(history, 1), "note")));
    json_decref(history);

    /* leaving published keeps published_at; publishing again stamps it anew */
    CHECK_INT(s->case_transition(s, &out, id, "changes_requested", NULL, 4, &TEST_ACTOR), COI_OK);
    CHECK_STR(field(out, "published_at"), first_published);
    json_decref(out);
    sleep_ms(5);
    CHECK_INT(s->case_transition(s, &out, id, "published", NULL, 5, &TEST_ACTOR), COI_OK);
    if (strcmp(field(out, "published_at"), first_published) <= 0)
        test_fail(__FILE__, __LINE__, "published_at was not stamped again");
    json_decref(out);

    /* a status the schema does not know is refused without a trace */
    json_t *before = case_now(s, id);
    out = NULL;
    CHECK_INT(s->case_transition(s, &out, id, "lost", NULL, 6, &TEST_ACTOR), COI_EINVALID);
    CHECK(out == NULL);
    check_case_unchanged(s, id, before, 6);
    json_decref(before);
    json_decref(c);
}

/* ---- listing ---------------------------------------------------------------------------- */

/* Five cases, a few ms apart so that their order is known: A 0101 draft, B 0851 draft with
 * partner 0101, C 0147 published, D 0851 published, E 0851 draft. ids[] gets their ids. */
static void make_five(struct coi_storage *s, char ids[5][40])
{
    static const char *const spec[5][2] = {
        {"0101", NULL}, {"0851", "0101"}, {"0147", NULL}, {"0851", NULL}, {"0851", NULL}};
    for (int i = 0; i < 5; i++) {
        char title[8] = {(char)('A' + i), '\0'};
        json_t *in = case_new(spec[i][0], NULL, spec[i][1], title), *c = case_create_ok(s, in);
        snprintf(ids[i], 40, "%s", c ? field(c, "id") : "?");
        json_decref(c);
        json_decref(in);
        sleep_ms(3);
    }
    for (int i = 2; i <= 3; i++) {
        json_t *out = NULL;
        CHECK_INT(s->case_transition(s, &out, ids[i], "published", NULL, 1, &TEST_ACTOR), COI_OK);
        json_decref(out);
        sleep_ms(3);
    }
}

/* The titles of the cases `q` lists, in list order, joined with spaces. */
static void titles_listed(struct coi_storage *s, const struct coi_case_query *q, char *out,
                          size_t size)
{
    json_t *rows = case_list_all(s, q, 2);
    join_key(out, size, rows, "title");
    json_decref(rows);
}

STORAGE_TEST(storage_cases_list_shows_published_plus_own_and_partner_cases_unless_see_all)
{
    char ids[5][40], titles[64];
    make_five(s, ids);
    titles_listed(s, &(struct coi_case_query){0}, titles, sizeof titles);
    CHECK_STR(titles, "D C");
    titles_listed(s, &(struct coi_case_query){.viewer_org = "0101"}, titles, sizeof titles);
    CHECK_STR(titles, "D C B A");
    titles_listed(s, &(struct coi_case_query){.viewer_org = "0851"}, titles, sizeof titles);
    CHECK_STR(titles, "D C E B");
    titles_listed(s, &(struct coi_case_query){.viewer_org = "0147"}, titles, sizeof titles);
    CHECK_STR(titles, "D C");
    titles_listed(s, &(struct coi_case_query){.see_all = 1}, titles, sizeof titles);
    CHECK_STR(titles, "D C E B A");

    json_t *out = NULL; /* only published, not every status past draft, is public */
    CHECK_INT(s->case_transition(s, &out, ids[0], "in_review", NULL, 1, &TEST_ACTOR), COI_OK);
    json_decref(out);
    titles_listed(s, &(struct coi_case_query){0}, titles, sizeof titles);
    CHECK_STR(titles, "D C");
    titles_listed(s, &(struct coi_case_query){.viewer_org = "0101"}, titles, sizeof titles);
    CHECK_STR(titles, "A D C B");
}

STORAGE_TEST(storage_cases_list_filters_by_lead_organisation_and_status)
{
    char ids[5][40], titles[64];
    make_five(s, ids);
    titles_listed(s, &(struct coi_case_query){.see_all = 1, .organisation_codes = STRINGS("0851")},
                  titles, sizeof titles);
    CHECK_STR(titles, "D E B");
    titles_listed(s, &(struct coi_case_query){.see_all = 1, .statuses = STRINGS("published")},
                  titles, sizeof titles);
    CHECK_STR(titles, "D C");
    titles_listed(s,
                  &(struct coi_case_query){.see_all = 1,
                                           .organisation_codes = STRINGS("0851"),
                                           .statuses = STRINGS("draft")},
                  titles, sizeof titles);
    CHECK_STR(titles, "E B");
    titles_listed(s, &(struct coi_case_query){.organisation_codes = STRINGS("0101")}, titles,
                  sizeof titles);
    CHECK_STR(titles, ""); /* A is a draft: anonymous readers do not see it */
    titles_listed(s, &(struct coi_case_query){.viewer_org = "0101", .statuses = STRINGS("draft")},
                  titles, sizeof titles);
    CHECK_STR(titles, "B A");
    json_t *rows = NULL;
    CHECK_INT(s->case_list(s, &rows, &(struct coi_case_query){.see_all = 1, .limit = 2}), COI_OK);
    join_key(titles, sizeof titles, rows, "title");
    CHECK_STR(titles, "D C");
    json_decref(rows);
}

STORAGE_TEST(storage_cases_list_keyset_paging_neither_skips_nor_repeats_when_a_case_moves_up)
{
    char whole_ids[1024], paged_ids[1024];
    for (int i = 0; i < 10; i++) { /* no pause: many share an updated_at, ids break the tie */
        char title[16];
        snprintf(title, sizeof title, "Sag %d", i);
        json_t *in = case_new("0101", NULL, NULL, title), *c = case_create_ok(s, in);
        json_decref(c);
        json_decref(in);
    }
    json_t *whole = case_list_all(s, &(struct coi_case_query){.see_all = 1}, 100);
    CHECK_INT(json_array_size(whole), 10);
    join_key(whole_ids, sizeof whole_ids, whole, "id");
    int sizes[] = {1, 3, 9, 10, 11};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        json_t *paged = case_list_all(s, &(struct coi_case_query){.see_all = 1}, sizes[k]);
        join_key(paged_ids, sizeof paged_ids, paged, "id");
        CHECK_STR(paged_ids, whole_ids);
        json_decref(paged);
    }

    /* the sort key of a row continues right after it, ties on updated_at included */
    json_t *page;
    for (size_t k = 0; k + 1 < json_array_size(whole); k++) {
        struct coi_case_query next = {.see_all = 1,
                                      .limit = 1,
                                      .after =
                                          json_object_get(json_array_get(whole, k), "_sort_key")};
        page = case_page(s, &next);
        CHECK_STR(field(json_array_get(page, 0), "id"), field(json_array_get(whole, k + 1), "id"));
        json_decref(page);
    }

    /* page 1, then the first case seen is updated (moving to the front), then the rest */
    json_t *seen = json_array(), *row, *out = NULL;
    size_t i;
    struct coi_case_query q = {.see_all = 1, .limit = 3};
    page = case_page(s, &q);
    json_array_extend(seen, page);
    json_t *in = case_new("0101", NULL, NULL, "Flyttet op");
    CHECK_INT(
        s->case_update(s, &out, field(json_array_get(page, 0), "id"), in, -1, &TEST_ACTOR, NULL),
        COI_OK);
    json_decref(out);
    json_decref(in);
    for (int guard = 0; guard < 10 && json_array_size(page) == 3; guard++) {
        json_t *after = json_incref(json_object_get(json_array_get(page, 2), "_sort_key"));
        json_decref(page);
        q.after = after;
        page = case_page(s, &q);
        json_array_extend(seen, page);
        json_decref(after);
    }
    json_decref(page);
    CHECK_INT(json_array_size(seen), 10);
    json_array_foreach(seen, i, row)
    {
        char needle[40];
        snprintf(needle, sizeof needle, "%s", field(row, "id"));
        const char *first = strstr(whole_ids, needle);
        if (first == NULL || strstr(first + 1, needle) != NULL)
            test_fail(__FILE__, __LINE__, "case %s listed out of place", needle);
        for (size_t j = 0; j < i; j++)
            if (strcmp(field(json_array_get(seen, j), "id"), needle) == 0)
                test_fail(__FILE__, __LINE__, "case %s listed twice", needle);
    }
    json_decref(seen);
    json_decref(whole);
}

/* ---- history ---------------------------------------------------------------------------- */

STORAGE_TEST(storage_cases_history_pages_newest_first_below_before_version)
{
    json_t *in = case_new("0101", NULL, NULL, "Mange versioner"), *c = case_create_ok(s, in);
    json_t *out = NULL, *page = NULL;
    char versions[64];
    if (c == NULL)
        goto out;
    const char *id = field(c, "id");
    for (int v = 1; v <= 4; v++) {
        CHECK_INT(s->case_update(s, &out, id, in, v, &TEST_ACTOR, NULL), COI_OK);
        json_decref(out);
    }
    static const struct {
        int64_t before;
        int limit;
        const char *versions;
    } pages[] = {{0, 2, "5 4"}, {4, 2, "3 2"},         {2, 2, "1"},
                 {1, 10, ""},   {0, 100, "5 4 3 2 1"}, {3, 100, "2 1"}};
    for (size_t k = 0; k < sizeof pages / sizeof pages[0]; k++) {
        CHECK_INT(s->case_history(s, &page, id, pages[k].before, pages[k].limit), COI_OK);
        size_t i, used = 0;
        json_t *e;
        versions[0] = '\0';
        json_array_foreach(page, i, e)
        {
            used += (size_t)snprintf(versions + used, sizeof versions - used, "%s%lld",
                                     i ? " " : "", version_of(e));
            CHECK(is_rfc3339(field(e, "at")));
        }
        CHECK_STR(versions, pages[k].versions);
        json_decref(page);
        page = NULL;
    }
    CHECK_INT(s->case_history(s, &page, NO_CASE, 0, 10), COI_ENOTFOUND);
    CHECK(page == NULL);
out:
    json_decref(in);
    json_decref(c);
}

/* ---- text and concurrency --------------------------------------------------------------- */

STORAGE_TEST(storage_cases_utf8_text_round_trips_byte_exactly)
{
    static const char title[] = "\xc3\xa6\xc3\xb8\xc3\xa5 \xc3\x86\xc3\x98\xc3\x85 "
                                "\xf0\x9f\xa6\x8a a\xcc\x8a \xf0\x9d\x94\x98 \"citat\" \\";
    static const char ext[] = "sag-\xc3\xa6\xc3\xb8\xc3\xa5-\xf0\x9f\x8c\x8a";
    json_t *in = case_new("0101", ext, NULL, title), *c = case_create_ok(s, in), *got = NULL;
    json_decref(in);
    if (c == NULL)
        return;
    CHECK_INT(s->case_get_by_external_id(s, &got, "0101", ext), COI_OK);
    json_t *v = json_object_get(got, "title");
    CHECK(json_string_length(v) == sizeof title - 1 &&
          memcmp(json_string_value(v), title, sizeof title - 1) == 0);
    CHECK_STR(field(got, "external_id"), ext);
    CHECK_STRINGS(got, "tags", "velf\xc3\xa6rd digital");
    json_decref(got);

    const struct coi_actor actor = {.sub = "r\xc3\xa5"
                                           "dgiver \xf0\x9f\x98\x80",
                                    .role = "editor",
                                    .org = "0101"};
    CHECK_INT(s->case_transition(s, &got, field(c, "id"), "submitted", title, 1, &actor), COI_OK);
    json_decref(got);
    json_t *history = history_of(s, field(c, "id")), *e = json_array_get(history, 0);
    CHECK_STR(field(e, "note"), title);
    CHECK_STR(field(json_object_get(e, "actor"), "sub"), actor.sub);
    CHECK(json_object_get(json_object_get(e, "actor"), "party") == NULL);
    json_decref(history);
    json_decref(c);
}

struct race_job {
    struct coi_storage *s;
    pthread_barrier_t *start;
    const char *id;
    int rc;
};

static void *race_transition(void *arg)
{
    struct race_job *job = arg;
    json_t *out = NULL;
    pthread_barrier_wait(job->start);
    job->rc = job->s->case_transition(job->s, &out, job->id, "submitted", NULL, 1, &TEST_ACTOR);
    json_decref(out);
    return NULL;
}

STORAGE_TEST(storage_cases_racing_transitions_from_one_version_exactly_one_wins)
{
    for (int round = 0; round < 5; round++) {
        json_t *in = case_new("0101", NULL, NULL,
                              "Kapl\xc3\xb8"
                              "b"),
               *c = case_create_ok(s, in);
        pthread_barrier_t start;
        pthread_t threads[2];
        struct race_job jobs[2];
        json_decref(in);
        if (c == NULL)
            return;
        pthread_barrier_init(&start, NULL, 2);
        for (int t = 0; t < 2; t++) {
            jobs[t] = (struct race_job){.s = s, .start = &start, .id = field(c, "id")};
            CHECK_INT(pthread_create(&threads[t], NULL, race_transition, &jobs[t]), 0);
        }
        for (int t = 0; t < 2; t++)
            pthread_join(threads[t], NULL);
        pthread_barrier_destroy(&start);
        if (!((jobs[0].rc == COI_OK && jobs[1].rc == COI_ECONFLICT) ||
              (jobs[1].rc == COI_OK && jobs[0].rc == COI_ECONFLICT)))
            test_fail(__FILE__, __LINE__, "round %d: results %s and %s", round,
                      coi_error_name(jobs[0].rc), coi_error_name(jobs[1].rc));
        json_t *history = history_of(s, field(c, "id"));
        CHECK_INT(json_array_size(history), 2);
        json_decref(history);
        json_decref(c);
    }
}
