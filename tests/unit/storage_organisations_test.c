/* Storage conformance, run on every backend: listing, reading and writing organisations. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "storage/storage.h"
#include "tests/unit/test.h"
#include "tests/unit/storage_helpers.h"

/* ---- listing ---------------------------------------------------------------------------- */

STORAGE_TEST(storage_list_filters_by_region_code_and_kind)
{
    json_t *rows = list_all(s, &(struct coi_org_query){.region_code = "1084"}, 50), *org;
    size_t i;
    CHECK_INT(json_array_size(rows), 29);
    json_array_foreach(rows, i, org)
    {
        CHECK_STR(field(org, "region_code"), "1084");
    }
    json_decref(rows);
    CHECK_INT(
        count_where(s, &(struct coi_org_query){.kind = "municipality", .region_code = "1083"}), 22);
    CHECK_INT(count_where(s, &(struct coi_org_query){.kind = "region", .region_code = "1084"}), 0);
    CHECK_INT(count_where(s, &(struct coi_org_query){.kind = "nonsense"}), 0);
    CHECK_INT(count_where(s, &(struct coi_org_query){.region_code = "9999"}), 0);
}

STORAGE_TEST(storage_list_name_contains_ignores_case_of_danish_letters)
{
    char codes[256];
    codes_named(s,
                "K\xc3\x98"
                "BEN",
                codes, sizeof codes); /* "KØBEN" */
    CHECK_STR(codes, "0101");
    codes_named(s,
                "k\xc3\xb8"
                "bEN",
                codes, sizeof codes); /* "købEN" */
    CHECK_STR(codes, "0101");
    codes_named(s, "\xc3\x86R\xc3\x98", codes, sizeof codes); /* "ÆRØ" */
    CHECK_STR(codes, "0492");
    codes_named(s, "aarhus", codes, sizeof codes);
    CHECK_STR(codes, "0751");
    codes_named(s, "REGION H", codes, sizeof codes);
    CHECK_STR(codes, "1084");
}

STORAGE_TEST(storage_list_name_contains_takes_percent_underscore_and_backslash_literally)
{
    static const char *const names[][2] = {
        {"9101", "100% digital"}, {"9102", "1000 digital"}, {"9103", "Alpha_Beta"},
        {"9104", "AlphaXBeta"},   {"9105", "C:\\sti"},      {"9106", "C:sti"},
    };
    char codes[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *org = org_new(names[i][0], names[i][1], "other", NULL), *out = NULL;
        CHECK_INT(s->organisation_create(s, &out, org), COI_OK);
        json_decref(org);
        json_decref(out);
    }
    codes_named(s, "%", codes, sizeof codes);
    CHECK_STR(codes, "9101");
    codes_named(s, "0%", codes, sizeof codes);
    CHECK_STR(codes, "9101");
    codes_named(s, "_", codes, sizeof codes);
    CHECK_STR(codes, "9103");
    codes_named(s, "a_b", codes, sizeof codes);
    CHECK_STR(codes, "9103");
    codes_named(s, "\\", codes, sizeof codes);
    CHECK_STR(codes, "9105");
    codes_named(s, "digital", codes, sizeof codes);
    CHECK_STR(codes, "9101 9102");
}

STORAGE_TEST(storage_list_keyset_paging_yields_every_row_once_in_code_order)
{
    json_t *whole = list_all(s, &(struct coi_org_query){0}, 1000);
    int sizes[] = {1, 7, 50, 103, 104};
    char expected[2048], got[2048];

    CHECK_INT(json_array_size(whole), SEED_TOTAL);
    codes_of(expected, sizeof expected, whole);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        json_t *paged = list_all(s, &(struct coi_org_query){0}, sizes[k]);
        codes_of(got, sizeof got, paged);
        if (strcmp(got, expected) != 0)
            test_fail(__FILE__, __LINE__, "pages of %d give %zu rows: %.80s...", sizes[k],
                      json_array_size(paged), got);
        json_decref(paged);
    }
    json_decref(whole);
    json_t *muni =
        list_all(s, &(struct coi_org_query){.kind = "municipality", .region_code = "1081"}, 3);
    CHECK_INT(json_array_size(muni), 11);
    json_decref(muni);
}

STORAGE_TEST(storage_list_limit_bounds_rows_and_after_code_is_exclusive)
{
    char codes[256];
    json_t *rows = list_page(s, &(struct coi_org_query){.limit = 3});
    codes_of(codes, sizeof codes, rows);
    CHECK_STR(codes, "0101 0147 0151");
    json_decref(rows);
    rows = list_page(s, &(struct coi_org_query){.after_code = "0147", .limit = 2});
    codes_of(codes, sizeof codes, rows);
    CHECK_STR(codes, "0151 0153");
    json_decref(rows);
    rows = list_page(s, &(struct coi_org_query){.after_code = "1085", .limit = 10});
    CHECK_INT(json_array_size(rows), 0);
    json_decref(rows);
}

/* ---- get, create, update ---------------------------------------------------------------- */

STORAGE_TEST(storage_get_unknown_code_is_enotfound)
{
    json_t *org = NULL;
    CHECK_INT(s->organisation_get(s, &org, "9999"), COI_ENOTFOUND);
    CHECK(org == NULL);
    CHECK_INT(s->organisation_get(s, &org, ""), COI_ENOTFOUND);
    CHECK(org == NULL);
}

STORAGE_TEST(storage_create_returns_version_1_and_timestamps)
{
    json_t *in = org_new("9001", "Digitaliseringsstyrelsen", "state", NULL), *out = NULL,
           *again = NULL;
    CHECK_INT(s->organisation_create(s, &out, in), COI_OK);
    CHECK_STR(field(out, "code"), "9001");
    CHECK_STR(field(out, "name"), "Digitaliseringsstyrelsen");
    CHECK_STR(field(out, "kind"), "state");
    CHECK(json_is_null(json_object_get(out, "region_code")));
    CHECK_INT(version_of(out), 1);
    CHECK(is_rfc3339(field(out, "created_at")));
    CHECK(is_rfc3339(field(out, "updated_at")));
    CHECK_INT(s->organisation_get(s, &again, "9001"), COI_OK);
    CHECK(json_equal(out, again));
    CHECK_INT(count_where(s, &(struct coi_org_query){0}), SEED_TOTAL + 1);
    json_decref(again);
    json_decref(out);
    json_decref(in);
}

STORAGE_TEST(storage_create_municipality_keeps_its_region_code)
{
    json_t *in = org_new("9002", "Ny Kommune", "municipality", "1085"), *out = NULL;
    CHECK_INT(s->organisation_create(s, &out, in), COI_OK);
    CHECK_STR(field(out, "region_code"), "1085");
    CHECK_INT(count_where(s, &(struct coi_org_query){.region_code = "1085"}), 18);
    json_decref(out);
    json_decref(in);
}

STORAGE_TEST(storage_create_duplicate_code_is_eexists_and_keeps_the_original)
{
    json_t *before = NULL, *out = NULL, *in = org_new("0101", "Impostor", "other", NULL);
    CHECK_INT(s->organisation_get(s, &before, "0101"), COI_OK);
    CHECK_INT(s->organisation_create(s, &out, in), COI_EEXISTS);
    CHECK(out == NULL);
    check_unchanged(s, "0101", before);
    json_decref(before);
    json_decref(in);
}

static void check_create_refused_for_region(struct coi_storage *s, const char *region)
{
    json_t *in = org_new("9003", "Forkert Region", "municipality", region), *out = NULL;
    coi_error_clear();
    CHECK_INT(s->organisation_create(s, &out, in), COI_EINVALID);
    CHECK(out == NULL);
    CHECK_STR(coi_error_field(), "region_code");
    CHECK_INT(s->organisation_get(s, &out, "9003"), COI_ENOTFOUND);
    CHECK_INT(count_where(s, &(struct coi_org_query){0}), SEED_TOTAL);
    json_decref(in);
}

STORAGE_TEST(storage_create_region_code_naming_a_municipality_is_einvalid_and_writes_nothing)
{
    check_create_refused_for_region(s, "0101");
}

STORAGE_TEST(storage_create_region_code_missing_is_einvalid_and_writes_nothing)
{
    check_create_refused_for_region(s, "9999");
}

STORAGE_TEST(storage_update_bumps_version_and_updated_at_keeps_created_at)
{
    json_t *in = org_new("9004", "Gammelt navn", "other", NULL), *created = NULL, *out = NULL,
           *again = NULL;
    CHECK_INT(s->organisation_create(s, &created, in), COI_OK);
    json_decref(in);
    sleep_ms(20);
    in = org_new("9004", "Nyt navn", "municipality", "1082");
    CHECK_INT(s->organisation_update(s, &out, "9004", in, 1), COI_OK);
    CHECK_STR(field(out, "name"), "Nyt navn");
    CHECK_STR(field(out, "kind"), "municipality");
    CHECK_STR(field(out, "region_code"), "1082");
    CHECK_INT(version_of(out), 2);
    CHECK_STR(field(out, "created_at"), field(created, "created_at"));
    CHECK(is_rfc3339(field(out, "updated_at")));
    const char *was = field(created, "updated_at"), *now = field(out, "updated_at");
    if (was == NULL || now == NULL || strcmp(now, was) <= 0)
        test_fail(__FILE__, __LINE__, "updated_at %s is not after %s", now ? now : "null",
                  was ? was : "null");
    CHECK_INT(s->organisation_get(s, &again, "9004"), COI_OK);
    CHECK(json_equal(out, again));
    json_decref(again);
    json_decref(out);
    json_decref(in);

    in = org_new("9004", "Tredje navn", "municipality", "1082");
    CHECK_INT(s->organisation_update(s, &out, "9004", in, 2), COI_OK);
    CHECK_INT(version_of(out), 3);
    json_decref(out);
    json_decref(in);
    json_decref(created);
}

STORAGE_TEST(storage_update_with_stale_version_is_econflict_and_changes_nothing)
{
    json_t *before = NULL, *out = NULL, *in = org_new("0101", "Kbh", "municipality", "1084");
    CHECK_INT(s->organisation_get(s, &before, "0101"), COI_OK);
    CHECK_INT(s->organisation_update(s, &out, "0101", in, 2), COI_ECONFLICT);
    CHECK(out == NULL);
    CHECK_INT(s->organisation_update(s, &out, "0101", in, 0), COI_ECONFLICT);
    CHECK(out == NULL);
    check_unchanged(s, "0101", before);
    json_decref(before);
    json_decref(in);
}

STORAGE_TEST(storage_update_with_version_minus_one_skips_the_check)
{
    json_t *in = org_new("0147", "Frederiksberg Kommune", "municipality", "1084"), *out = NULL;
    CHECK_INT(s->organisation_update(s, &out, "0147", in, -1), COI_OK);
    CHECK_INT(version_of(out), 2);
    json_decref(out);
    CHECK_INT(s->organisation_update(s, &out, "0147", in, -1), COI_OK);
    CHECK_INT(version_of(out), 3);
    json_decref(out);
    json_decref(in);
}

STORAGE_TEST(storage_update_unknown_code_is_enotfound)
{
    json_t *in = org_new("9999", "Ingen", "other", NULL), *out = NULL;
    CHECK_INT(s->organisation_update(s, &out, "9999", in, -1), COI_ENOTFOUND);
    CHECK_INT(s->organisation_update(s, &out, "9999", in, 1), COI_ENOTFOUND);
    CHECK(out == NULL);
    CHECK_INT(s->organisation_get(s, &out, "9999"), COI_ENOTFOUND);
    json_decref(in);
}

STORAGE_TEST(storage_update_region_code_naming_a_municipality_is_einvalid_and_changes_nothing)
{
    json_t *before = NULL, *out = NULL;
    const char *bad[] = {"0147", "9999"};
    CHECK_INT(s->organisation_get(s, &before, "0101"), COI_OK);
    for (size_t i = 0; i < 2; i++) {
        json_t *in = org_new("0101", "Kbh", "municipality", bad[i]);
        coi_error_clear();
        CHECK_INT(s->organisation_update(s, &out, "0101", in, 1), COI_EINVALID);
        CHECK(out == NULL);
        CHECK_STR(coi_error_field(), "region_code");
        json_decref(in);
    }
    check_unchanged(s, "0101", before);
    json_decref(before);
}

STORAGE_TEST(storage_utf8_names_round_trip_byte_exactly)
{
    /* æøå ÆØÅ, a fox emoji (4 bytes), a combining ring and a mathematical letter outside the BMP */
    static const char name[] = "\xc3\xa6\xc3\xb8\xc3\xa5 \xc3\x86\xc3\x98\xc3\x85 "
                               "\xf0\x9f\xa6\x8a a\xcc\x8a \xf0\x9d\x94\x98";
    static const char renamed[] = "Bl\xc3\xa5 \xf0\x9f\x8c\x8a \xc3\x86rligt";
    json_t *in = org_new("9005", name, "other", NULL), *out = NULL, *got = NULL;
    CHECK_INT(s->organisation_create(s, &out, in), COI_OK);
    json_decref(out);
    json_decref(in);
    CHECK_INT(s->organisation_get(s, &got, "9005"), COI_OK);
    json_t *v = json_object_get(got, "name");
    CHECK_INT(json_string_length(v), sizeof name - 1);
    CHECK(json_string_length(v) == sizeof name - 1 &&
          memcmp(json_string_value(v), name, sizeof name - 1) == 0);
    json_decref(got);

    char codes[64];
    codes_named(s, "\xf0\x9f\xa6\x8a", codes, sizeof codes);
    CHECK_STR(codes, "9005");

    in = org_new("9005", renamed, "other", NULL);
    CHECK_INT(s->organisation_update(s, &out, "9005", in, 1), COI_OK);
    CHECK_STR(field(out, "name"), renamed);
    json_decref(out);
    json_decref(in);
}

/* ---- concurrency ------------------------------------------------------------------------ */

struct create_job {
    struct coi_storage *s;
    int thread;
    int ok;
};

static void *create_twenty(void *arg)
{
    struct create_job *job = arg;
    for (int i = 0; i < 20; i++) {
        char code[32], name[64];
        snprintf(code, sizeof code, "T%d%02d", job->thread, i);
        snprintf(name, sizeof name,
                 "Tr\xc3\xa5"
                 "d %d nr %d",
                 job->thread, i);
        json_t *in = org_new(code, name, i % 2 ? "other" : "municipality", i % 2 ? NULL : "1081"),
               *out = NULL;
        int rc = job->s->organisation_create(job->s, &out, in);
        if (rc == COI_OK && version_of(out) == 1)
            job->ok++;
        else
            test_fail(__FILE__, __LINE__, "create %s: %s (%s)", code, coi_error_name(rc),
                      coi_error_detail());
        json_decref(out);
        json_decref(in);
    }
    return NULL;
}

STORAGE_TEST(storage_create_from_8_threads_20_each_all_succeed)
{
    pthread_t threads[8];
    struct create_job jobs[8];
    for (int t = 0; t < 8; t++) {
        jobs[t] = (struct create_job){.s = s, .thread = t};
        CHECK_INT(pthread_create(&threads[t], NULL, create_twenty, &jobs[t]), 0);
    }
    int ok = 0;
    for (int t = 0; t < 8; t++) {
        pthread_join(threads[t], NULL);
        ok += jobs[t].ok;
    }
    CHECK_INT(ok, 160);
    CHECK_INT(count_where(s, &(struct coi_org_query){0}), SEED_TOTAL + 160);
    CHECK_INT(count_where(s, &(struct coi_org_query){.region_code = "1081"}), 11 + 80);
}

struct race_job {
    struct coi_storage *s;
    pthread_barrier_t *start;
    long long expected_version;
    char name[64];
    int rc;
};

static void *race_update(void *arg)
{
    struct race_job *job = arg;
    json_t *in = org_new("0101", job->name, "municipality", "1084"), *out = NULL;
    pthread_barrier_wait(job->start);
    job->rc = job->s->organisation_update(job->s, &out, "0101", in, job->expected_version);
    json_decref(out);
    json_decref(in);
    return NULL;
}

STORAGE_TEST(storage_racing_updates_with_same_version_exactly_one_wins)
{
    for (int round = 0; round < 10; round++) {
        pthread_barrier_t start;
        pthread_t threads[2];
        struct race_job jobs[2];
        json_t *org = NULL;
        long long version = round + 1;

        pthread_barrier_init(&start, NULL, 2);
        for (int t = 0; t < 2; t++) {
            jobs[t] = (struct race_job){.s = s, .start = &start, .expected_version = version};
            snprintf(jobs[t].name, sizeof jobs[t].name,
                     "Runde %d tr\xc3\xa5"
                     "d %d",
                     round, t);
            CHECK_INT(pthread_create(&threads[t], NULL, race_update, &jobs[t]), 0);
        }
        for (int t = 0; t < 2; t++)
            pthread_join(threads[t], NULL);
        pthread_barrier_destroy(&start);

        int winner = jobs[0].rc == COI_OK ? 0 : 1;
        if (jobs[winner].rc != COI_OK || jobs[1 - winner].rc != COI_ECONFLICT) {
            test_fail(__FILE__, __LINE__, "round %d: results %s and %s", round,
                      coi_error_name(jobs[0].rc), coi_error_name(jobs[1].rc));
            return;
        }
        CHECK_INT(s->organisation_get(s, &org, "0101"), COI_OK);
        CHECK_INT(version_of(org), version + 1);
        CHECK_STR(field(org, "name"), jobs[winner].name);
        json_decref(org);
    }
}
