/* Storage conformance, run on every backend: registration, migrations and the seeded data. */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "storage/storage.h"
#include "tests/unit/test.h"
#include "tests/unit/storage_helpers.h"

/* ---- backend, registration -------------------------------------------------------------- */

STORAGE_TEST(storage_ping_is_ok_and_backend_names_itself)
{
    CHECK_INT(s->ping(s), COI_OK);
    CHECK(strcmp(s->backend, "sqlite") == 0 || strcmp(s->backend, "postgres") == 0);
}

STORAGE_TEST(storage_register_rejects_wrong_version_and_each_null_callback)
{
    struct coi_storage copy = *s;
    CHECK_INT(storage_register(&copy), COI_OK);
    copy.version = COI_STORAGE_VERSION + 1;
    CHECK_INT(storage_register(&copy), COI_EINVALID);
    copy.version = 0;
    CHECK_INT(storage_register(&copy), COI_EINVALID);

    /* Each callback in turn set to NULL (all-bits-zero is the null pointer on every
     * platform this builds on). */
    static const size_t callbacks[] = {
        offsetof(struct coi_storage, close),
        offsetof(struct coi_storage, ping),
        offsetof(struct coi_storage, migrate),
        offsetof(struct coi_storage, organisation_list),
        offsetof(struct coi_storage, organisation_get),
        offsetof(struct coi_storage, organisation_create),
        offsetof(struct coi_storage, organisation_update),
        offsetof(struct coi_storage, case_list),
        offsetof(struct coi_storage, case_count),
        offsetof(struct coi_storage, case_facets),
        offsetof(struct coi_storage, case_get),
        offsetof(struct coi_storage, case_get_by_external_id),
        offsetof(struct coi_storage, case_create),
        offsetof(struct coi_storage, case_update),
        offsetof(struct coi_storage, case_transition),
        offsetof(struct coi_storage, case_history),
        offsetof(struct coi_storage, adoption_create),
        offsetof(struct coi_storage, adoption_get),
        offsetof(struct coi_storage, adoption_list),
        offsetof(struct coi_storage, adoption_update),
        offsetof(struct coi_storage, adoption_delete),
        offsetof(struct coi_storage, evaluation_create),
        offsetof(struct coi_storage, evaluation_get),
        offsetof(struct coi_storage, evaluation_list),
        offsetof(struct coi_storage, evaluation_update),
        offsetof(struct coi_storage, evaluation_transition),
        offsetof(struct coi_storage, evaluation_history),
        offsetof(struct coi_storage, evaluation_delete),
        offsetof(struct coi_storage, evaluation_summaries),
    };
    for (size_t i = 0; i < sizeof callbacks / sizeof callbacks[0]; i++) {
        copy = *s;
        memset((char *)&copy + callbacks[i], 0, sizeof copy.ping);
        if (storage_register(&copy) != COI_EINVALID)
            test_fail(__FILE__, __LINE__, "callback %zu set to NULL was accepted", i);
    }
    copy = *s;
    copy.backend = NULL;
    CHECK_INT(storage_register(&copy), COI_EINVALID);
    CHECK_INT(storage_register(NULL), COI_EINVALID);
}

/* ---- migrations ------------------------------------------------------------------------- */

/* Checks that `r` lists `steps` in order, each applied (not now when `now` is 0). */
static void check_report(const struct coi_migration_report *r, const struct coi_migration *steps,
                         size_t n, int applied_now)
{
    CHECK_INT(r->count, n);
    for (size_t i = 0; i < r->count && i < n; i++) {
        CHECK_INT(r->steps[i].number, steps[i].number);
        CHECK_STR(r->steps[i].name, steps[i].name);
        CHECK_INT(r->steps[i].applied, 1);
        CHECK_INT(r->steps[i].applied_now, applied_now);
        CHECK(is_rfc3339(r->steps[i].applied_at));
    }
}

STORAGE_TEST(storage_migrate_again_applies_nothing_and_reports_every_step_applied)
{
    size_t n;
    const struct coi_migration *steps = storage_migrations(s->backend, &n);
    struct coi_migration_report r = {0};

    CHECK(n >= 2);
    CHECK_INT(storage_migrate(s, &r, COI_MIGRATE_APPLY), COI_OK);
    check_report(&r, steps, n, 0);
    storage_migration_report_free(&r);
    CHECK_INT(count_where(s, &(struct coi_org_query){0}), SEED_TOTAL);
}

STORAGE_TEST(storage_migrate_verify_after_apply_is_ok)
{
    size_t n;
    const struct coi_migration *steps = storage_migrations(s->backend, &n);
    struct coi_migration_report r = {0};

    CHECK_INT(storage_migrate(s, &r, COI_MIGRATE_VERIFY), COI_OK);
    check_report(&r, steps, n, 0);
    storage_migration_report_free(&r);
}

/* The embedded steps plus one more, number 9000, running `sql` (caller frees). */
static struct coi_migration *steps_plus(struct coi_storage *s, size_t *n, const char *sql,
                                        const char *checksum)
{
    const struct coi_migration *steps = storage_migrations(s->backend, n);
    struct coi_migration *more = calloc(*n + 1, sizeof *more);
    if (more == NULL)
        abort();
    memcpy(more, steps, *n * sizeof *more);
    more[*n] = (struct coi_migration){
        .number = 9000, .name = "9000_conformance_probe.sql", .text = sql, .length = strlen(sql)};
    snprintf(more[*n].checksum, sizeof more[*n].checksum, "%s", checksum);
    (*n)++;
    return more;
}

STORAGE_TEST(storage_migrate_new_step_is_pending_in_verify_then_applied_once)
{
    size_t n;
    struct coi_migration *steps = steps_plus(
        s, &n, "CREATE TABLE conformance_probe (id integer PRIMARY KEY);", "00000000000000aa");
    struct coi_migration_report r = {0};

    CHECK_INT(s->migrate(s, &r, steps, n, COI_MIGRATE_VERIFY), COI_OK);
    CHECK_INT(r.count, n);
    if (r.count == n) {
        CHECK_INT(r.steps[n - 1].number, 9000);
        CHECK_INT(r.steps[n - 1].applied, 0);
        CHECK_INT(r.steps[n - 1].applied_now, 0);
        CHECK_STR(r.steps[n - 1].applied_at, "");
    }
    storage_migration_report_free(&r);

    CHECK_INT(s->migrate(s, &r, steps, n, COI_MIGRATE_APPLY), COI_OK);
    CHECK_INT(r.count, n);
    for (size_t i = 0; i < r.count && i < n; i++) {
        CHECK_INT(r.steps[i].applied, 1);
        CHECK_INT(r.steps[i].applied_now, i == n - 1);
    }
    storage_migration_report_free(&r);

    /* Applied once: a second run would fail on CREATE TABLE if it ran the step again. */
    CHECK_INT(s->migrate(s, &r, steps, n, COI_MIGRATE_APPLY), COI_OK);
    check_report(&r, steps, n, 0);
    storage_migration_report_free(&r);

    /* The database now knows a step this binary does not. */
    CHECK_INT(storage_migrate(s, NULL, COI_MIGRATE_VERIFY), COI_EMIGRATION);
    CHECK_INT(storage_migrate(s, NULL, COI_MIGRATE_APPLY), COI_EMIGRATION);
    free(steps);
}

STORAGE_TEST(storage_migrate_failed_step_is_rolled_back_entirely)
{
    size_t n;
    struct coi_migration *bad = steps_plus(
        s, &n, "CREATE TABLE conformance_half (id integer); THIS IS NOT SQL;", "00000000000000bb");
    struct coi_migration_report r = {0};

    CHECK(s->migrate(s, NULL, bad, n, COI_MIGRATE_APPLY) != COI_OK);
    CHECK_INT(s->migrate(s, &r, bad, n, COI_MIGRATE_VERIFY), COI_OK);
    if (r.count == n)
        CHECK_INT(r.steps[n - 1].applied, 0);
    storage_migration_report_free(&r);
    free(bad);

    /* Had the first statement stayed, creating the same table again would fail. */
    struct coi_migration *good =
        steps_plus(s, &n, "CREATE TABLE conformance_half (id integer);", "00000000000000cc");
    CHECK_INT(s->migrate(s, NULL, good, n, COI_MIGRATE_APPLY), COI_OK);
    free(good);
}

STORAGE_TEST(storage_migrate_refuses_a_changed_checksum)
{
    size_t n;
    const struct coi_migration *steps = storage_migrations(s->backend, &n);
    struct coi_migration *changed = calloc(n, sizeof *changed);
    if (changed == NULL)
        abort();
    memcpy(changed, steps, n * sizeof *changed);
    snprintf(changed[0].checksum, sizeof changed[0].checksum, "%s",
             strcmp(steps[0].checksum, "ffffffffffffffff") ? "ffffffffffffffff"
                                                           : "0000000000000000");
    CHECK_INT(s->migrate(s, NULL, changed, n, COI_MIGRATE_VERIFY), COI_EMIGRATION);
    CHECK_INT(s->migrate(s, NULL, changed, n, COI_MIGRATE_APPLY), COI_EMIGRATION);
    free(changed);
    CHECK_INT(storage_migrate(s, NULL, COI_MIGRATE_VERIFY), COI_OK);
}

STORAGE_TEST(storage_migrate_refuses_a_step_unknown_to_the_binary)
{
    size_t n;
    const struct coi_migration *steps = storage_migrations(s->backend, &n);
    CHECK_INT(s->migrate(s, NULL, steps, n - 1, COI_MIGRATE_VERIFY), COI_EMIGRATION);
    CHECK_INT(s->migrate(s, NULL, steps, n - 1, COI_MIGRATE_APPLY), COI_EMIGRATION);
}

/* ---- seeded data ------------------------------------------------------------------------ */

STORAGE_TEST(storage_seed_has_103_organisations)
{
    CHECK_INT(count_where(s, &(struct coi_org_query){0}), SEED_TOTAL);
}

STORAGE_TEST(storage_seed_has_98_municipalities_and_5_regions)
{
    CHECK_INT(count_where(s, &(struct coi_org_query){.kind = "municipality"}), SEED_MUNICIPALITIES);
    char codes[256];
    json_t *regions = list_all(s, &(struct coi_org_query){.kind = "region"}, 50);
    codes_of(codes, sizeof codes, regions);
    CHECK_STR(codes, "1081 1082 1083 1084 1085");
    json_decref(regions);
}

STORAGE_TEST(storage_seed_0101_is_koebenhavn_in_region_1084)
{
    json_t *org = NULL;
    CHECK_INT(s->organisation_get(s, &org, "0101"), COI_OK);
    CHECK_STR(field(org, "code"), "0101");
    CHECK_STR(field(org, "name"), "K\xc3\xb8"
                                  "benhavn");
    CHECK_STR(field(org, "kind"), "municipality");
    CHECK_STR(field(org, "region_code"), "1084");
    CHECK_INT(version_of(org), 1);
    CHECK(is_rfc3339(field(org, "created_at")));
    CHECK(is_rfc3339(field(org, "updated_at")));
    json_decref(org);
}

STORAGE_TEST(storage_seed_every_municipality_has_a_region_and_regions_have_none)
{
    json_t *all = list_all(s, &(struct coi_org_query){0}, 50), *org, *parent;
    size_t i;
    json_array_foreach(all, i, org)
    {
        const char *kind = field(org, "kind"), *region = field(org, "region_code");
        if (kind != NULL && strcmp(kind, "municipality") == 0) {
            parent = NULL;
            if (region == NULL || s->organisation_get(s, &parent, region) != COI_OK ||
                strcmp(field(parent, "kind") ? field(parent, "kind") : "", "region") != 0)
                test_fail(__FILE__, __LINE__, "municipality %s has no region (%s)",
                          field(org, "code"), region ? region : "null");
            json_decref(parent);
        } else if (kind != NULL && strcmp(kind, "region") == 0) {
            CHECK(json_is_null(json_object_get(org, "region_code")));
        }
    }
    json_decref(all);
}

STORAGE_TEST(storage_seed_matches_the_embedded_csv_byte_for_byte)
{
    size_t n;
    const struct coi_migration *steps = storage_migrations(s->backend, &n);
    for (size_t k = 0; k < n; k++) {
        json_t *rows = NULL, *row, *org;
        size_t i;
        if (!steps[k].is_csv || strcmp(steps[k].csv_table, "organisations") != 0)
            continue;
        CHECK_INT(storage_csv_parse(&rows, steps[k].text, steps[k].length), COI_OK);
        CHECK_INT(json_array_size(rows), SEED_TOTAL + 1);
        json_array_foreach(rows, i, row)
        {
            if (i == 0)
                continue;
            const char *code = json_string_value(json_array_get(row, 0));
            org = NULL;
            if (s->organisation_get(s, &org, code) != COI_OK) {
                test_fail(__FILE__, __LINE__, "seeded %s not found", code);
                continue;
            }
            CHECK_STR(field(org, "name"), json_string_value(json_array_get(row, 1)));
            CHECK_STR(field(org, "kind"), json_string_value(json_array_get(row, 2)));
            CHECK_STR(field(org, "region_code"), json_string_value(json_array_get(row, 3)));
            json_decref(org);
        }
        json_decref(rows);
    }
}
