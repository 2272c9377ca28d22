/* Helpers shared by the storage conformance tests. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "storage/storage.h"
#include "tests/unit/test.h"
#include "tests/unit/storage_helpers.h"

/* A new organisation object as create/update take it (caller decrefs). */
json_t *org_new(const char *code, const char *name, const char *kind, const char *region)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "code", code, "name", name, "kind", kind,
                     "region_code", region ? json_string(region) : json_null());
}

const char *field(const json_t *org, const char *key)
{
    return json_string_value(json_object_get(org, key));
}

long long version_of(const json_t *org)
{
    json_t *v = json_object_get(org, "version");
    return json_is_integer(v) ? (long long)json_integer_value(v) : -100;
}

/* One page of organisation_list; an empty array (after recording a failure) on error. */
json_t *list_page(struct coi_storage *s, const struct coi_org_query *q)
{
    json_t *out = NULL;
    int rc = s->organisation_list(s, &out, q);
    CHECK_INT(rc, COI_OK);
    if (rc != COI_OK || !json_is_array(out)) {
        CHECK(json_is_array(out));
        json_decref(out);
        return json_array();
    }
    return out;
}

/* Every row matching `filter`, fetched by keyset paging `page` rows at a time. Also checks
 * that no page is larger than asked and that codes rise strictly across pages. */
json_t *list_all(struct coi_storage *s, const struct coi_org_query *filter, int page)
{
    json_t *all = json_array();
    struct coi_org_query q = *filter;
    char after[128] = "";

    q.limit = page;
    for (int guard = 0; guard < 10000; guard++) {
        q.after_code = after[0] ? after : NULL;
        json_t *rows = list_page(s, &q);
        size_t n = json_array_size(rows), i;
        json_t *row;
        CHECK(n <= (size_t)page);
        json_array_foreach(rows, i, row)
        {
            const char *code = field(row, "code");
            CHECK(code != NULL);
            if (code == NULL)
                break;
            if (after[0] && strcmp(code, after) <= 0)
                test_fail(__FILE__, __LINE__, "code %s comes after %s", code, after);
            snprintf(after, sizeof after, "%s", code);
            json_array_append(all, row);
        }
        json_decref(rows);
        if (n < (size_t)page || n == 0)
            break;
    }
    return all;
}

size_t count_where(struct coi_storage *s, const struct coi_org_query *filter)
{
    json_t *all = list_all(s, filter, 50);
    size_t n = json_array_size(all);
    json_decref(all);
    return n;
}

/* The codes of every row whose name contains `needle`, space-separated, in order. */
void codes_named(struct coi_storage *s, const char *needle, char *out, size_t size)
{
    struct coi_org_query q = {.name_contains = needle};
    json_t *rows = list_all(s, &q, 50);
    codes_of(out, size, rows);
    json_decref(rows);
}

/* The values of `key` (strings) of each object of `rows`, joined with spaces. */
void join_key(char *out, size_t size, const json_t *rows, const char *key)
{
    size_t i, used = 0;
    json_t *row;
    out[0] = '\0';
    json_array_foreach(rows, i, row)
    {
        const char *v = field(row, key);
        int w = snprintf(out + used, size - used, "%s%s", i ? " " : "", v ? v : "?");
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}

/* The codes of `rows` joined with spaces, for comparing a whole list at once. */
void codes_of(char *out, size_t size, const json_t *rows)
{
    join_key(out, size, rows, "code");
}

/* RFC 3339 date-time, as the API's "format: date-time" needs: YYYY-MM-DDTHH:MM:SS[.f](Z|±hh:mm). */
int is_rfc3339(const char *t)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (t == NULL || strlen(t) < sizeof shape - 1)
        return 0;
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? t[i] < '0' || t[i] > '9' : t[i] != shape[i])
            return 0;
    t += sizeof shape - 1;
    if (*t == '.') {
        if (t[1] < '0' || t[1] > '9')
            return 0;
        for (t++; *t >= '0' && *t <= '9'; t++)
            ;
    }
    if (strcmp(t, "Z") == 0)
        return 1;
    return (t[0] == '+' || t[0] == '-') && strlen(t) == 6 && t[3] == ':';
}

void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Checks that `code` is stored exactly as `expected` (all fields, version and timestamps). */
void check_unchanged(struct coi_storage *s, const char *code, const json_t *expected)
{
    json_t *now = NULL;
    CHECK_INT(s->organisation_get(s, &now, code), COI_OK);
    if (!json_equal(now, expected)) {
        char *a = json_dumps(now, JSON_SORT_KEYS), *b = json_dumps(expected, JSON_SORT_KEYS);
        test_fail(__FILE__, __LINE__, "%s changed: %s, was %s", code, a ? a : "null",
                  b ? b : "null");
        free(a);
        free(b);
    }
    json_decref(now);
}

/* ---- cases ------------------------------------------------------------------------------ */

const struct coi_actor TEST_ACTOR = {
    .sub = "editor-1", .role = "editor", .party = "partner-system", .org = "0101"};

json_t *case_new(const char *org, const char *external_id, const char *partners, const char *title)
{
    json_t *codes = json_array();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", partners ? partners : "");
    for (char *save = NULL, *code = strtok_r(buf, " ", &save); code != NULL;
         code = strtok_r(NULL, " ", &save))
        json_array_append_new(codes, json_string(code));
    return json_pack("{s:s, s:o, s:o, s:s, s:s, s:[s, s], s:b, s:i}", "organisation_code", org,
                     "external_id", external_id ? json_string(external_id) : json_null(),
                     "partner_organisation_codes", codes, "title", title, "summary",
                     "Kort resum\xc3\xa9", "tags", "velf\xc3\xa6rd", "digital", "employee_driven",
                     1, "spread_potential_rating", 3);
}

json_t *case_create_ok(struct coi_storage *s, const json_t *in)
{
    json_t *fields = json_pack("[s]", "title"), *out = NULL;
    int rc = s->case_create(s, &out, in, &TEST_ACTOR, fields);
    json_decref(fields);
    if (rc != COI_OK || !json_is_object(out))
        test_fail(__FILE__, __LINE__, "case_create: %s (%s)", coi_error_name(rc),
                  coi_error_detail());
    return rc == COI_OK ? out : NULL;
}

/* strcmp, with NULL (a JSON null) below every string. */
static int compare_nullable(const char *a, const char *b)
{
    return a == NULL || b == NULL ? (a != NULL) - (b != NULL) : strcmp(a, b);
}

int case_order(const json_t *a, const json_t *b, enum coi_case_sort sort)
{
    int by_id = compare_nullable(field(a, "id"), field(b, "id")), cmp = 0;
    json_int_t x, y;
    switch (sort) {
    case COI_SORT_UPDATED_DESC:
        cmp = -compare_nullable(field(a, "updated_at"), field(b, "updated_at"));
        return cmp != 0 ? cmp : -by_id;
    case COI_SORT_UPDATED_ASC:
        cmp = compare_nullable(field(a, "updated_at"), field(b, "updated_at"));
        return cmp != 0 ? cmp : by_id;
    case COI_SORT_TITLE:
        cmp = compare_nullable(field(a, "title"), field(b, "title"));
        return cmp != 0 ? cmp : by_id;
    case COI_SORT_ADOPTIONS_DESC:
        x = json_integer_value(json_object_get(a, "adoption_count"));
        y = json_integer_value(json_object_get(b, "adoption_count"));
        return x != y ? (x > y ? -1 : 1) : -by_id;
    case COI_SORT_PUBLISHED_DESC:
        cmp = -compare_nullable(field(a, "published_at"), field(b, "published_at"));
        return cmp != 0 ? cmp : -by_id;
    case COI_SORT_RELEVANCE:
        return 0;
    }
    return 0;
}

json_t *case_page(struct coi_storage *s, const struct coi_case_query *q)
{
    json_t *rows = NULL, *row;
    size_t i;
    int rc = s->case_list(s, &rows, q);
    if (rc != COI_OK || !json_is_array(rows)) {
        test_fail(__FILE__, __LINE__, "case_list: %s (%s)", coi_error_name(rc), coi_error_detail());
        json_decref(rows);
        return json_array();
    }
    if (q->limit > 0 && json_array_size(rows) > (size_t)q->limit)
        test_fail(__FILE__, __LINE__, "case_list gave %zu rows, limit %d", json_array_size(rows),
                  q->limit);
    json_array_foreach(rows, i, row)
    {
        if (!json_is_array(json_object_get(row, "_sort_key")))
            test_fail(__FILE__, __LINE__, "case %s has no _sort_key array", field(row, "id"));
    }
    return rows;
}

json_t *case_list_all(struct coi_storage *s, const struct coi_case_query *filter, int page)
{
    json_t *all = json_array(), *after = NULL;
    struct coi_case_query q = *filter;

    q.limit = page;
    for (int guard = 0; guard < 10000; guard++) {
        json_t *rows, *row;
        size_t i;
        q.after = after;
        rows = case_page(s, &q);
        size_t n = json_array_size(rows);
        json_array_foreach(rows, i, row)
        {
            json_t *last = json_array_get(all, json_array_size(all) - 1);
            if (last != NULL && q.sort != COI_SORT_RELEVANCE && case_order(last, row, q.sort) >= 0)
                test_fail(__FILE__, __LINE__, "case %s \"%s\" comes after %s \"%s\" in sort %d",
                          field(row, "id"), field(row, "title"), field(last, "id"),
                          field(last, "title"), (int)q.sort);
            for (size_t j = 0; j < json_array_size(all); j++)
                if (json_equal(json_object_get(json_array_get(all, j), "id"),
                               json_object_get(row, "id")))
                    test_fail(__FILE__, __LINE__, "case %s listed twice", field(row, "id"));
            json_array_append(all, row);
        }
        json_decref(after);
        after = n > 0 ? json_deep_copy(json_object_get(json_array_get(rows, n - 1), "_sort_key"))
                      : NULL;
        json_decref(rows);
        if (n < (size_t)page || n == 0)
            break;
    }
    json_decref(after);
    return all;
}

json_t *case_make(struct coi_storage *s, const char *org, const char *partners, const char *status,
                  const char *fields)
{
    json_t *in = case_new(org, NULL, partners, "Uden titel"), *c = NULL, *over = NULL, *v;
    const char *key;
    if (fields != NULL && (over = json_loads(fields, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
        test_fail(__FILE__, __LINE__, "bad JSON in a test: %s", fields);
        goto out;
    }
    json_object_foreach(over, key, v)
    {
        if (json_is_null(v))
            json_object_del(in, key);
        else
            json_object_set(in, key, v);
    }
    if ((c = case_create_ok(s, in)) == NULL || status == NULL || strcmp(status, "draft") == 0)
        goto out;
    json_t *moved = NULL;
    int rc = s->case_transition(s, &moved, field(c, "id"), status, NULL, 1, &TEST_ACTOR);
    if (rc != COI_OK)
        test_fail(__FILE__, __LINE__, "case_transition to %s: %s (%s)", status, coi_error_name(rc),
                  coi_error_detail());
    json_decref(c);
    c = rc == COI_OK ? moved : NULL;
out:
    json_decref(over);
    json_decref(in);
    return c;
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void case_titles(struct coi_storage *s, const struct coi_case_query *q, int sorted, char *out,
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
    if (sorted)
        qsort(titles, n, sizeof *titles, compare_text);
    for (i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? " | " : "", titles[i]);
    free(titles);
    json_decref(rows);
}

size_t case_count(struct coi_storage *s)
{
    json_t *all = case_list_all(s, &(struct coi_case_query){.see_all = 1}, 100);
    size_t n = json_array_size(all);
    json_decref(all);
    return n;
}

json_t *history_of(struct coi_storage *s, const char *id)
{
    json_t *out = NULL;
    int rc = s->case_history(s, &out, id, 0, 1000);
    CHECK_INT(rc, COI_OK);
    if (rc != COI_OK || !json_is_array(out)) {
        json_decref(out);
        return json_array();
    }
    return out;
}

void join_strings(char *out, size_t size, const json_t *a)
{
    size_t i, used = 0;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(a, i, v)
    {
        const char *t = json_string_value(v);
        int w = snprintf(out + used, size - used, "%s%s", i ? " " : "", t ? t : "?");
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}

void check_case_unchanged(struct coi_storage *s, const char *id, const json_t *expected,
                          size_t entries)
{
    json_t *now = NULL, *history = history_of(s, id);
    CHECK_INT(s->case_get(s, &now, id), COI_OK);
    if (!json_equal(now, expected)) {
        char *a = json_dumps(now, JSON_SORT_KEYS), *b = json_dumps(expected, JSON_SORT_KEYS);
        test_fail(__FILE__, __LINE__, "case %s changed: %s, was %s", id, a ? a : "null",
                  b ? b : "null");
        free(a);
        free(b);
    }
    CHECK_INT(json_array_size(history), entries);
    json_decref(history);
    json_decref(now);
}

/* ---- evaluations ------------------------------------------------------------------------ */

json_t *evaluation_new(const char *title, const char *method, int evidence_level,
                       const char *evaluator_kind)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:i,"
        " s:{s:I, s:I, s:I}, s:[{s:s, s:s}, {s:s, s:s}], s:s, s:n, s:s, s:s, s:s}",
        "title", title, "evaluator_kind", evaluator_kind, "evaluator_name",
        "Analyse og Tal \xc3\x86\xc3\x98\xc3\x85", "method", method, "period_start", "2023-01-01",
        "period_end", "2023-12-31", "published_on", "report_url", "evidence_level", evidence_level,
        "economic", "investment_dkk", (json_int_t)500000, "annual_savings_dkk", (json_int_t)120000,
        "annual_running_costs_dkk", (json_int_t)20000, "quality_effects", "dimension", "ventetid",
        "direction", "better", "dimension", "tilfredshed", "direction", "same", "employee_effects",
        "Mindre dobbeltarbejde", "user_effects", "conclusion", "Det virker", "lessons_learned",
        "Start sm\xc3\xa5t", "risks_and_pitfalls", "Afh\xc3\xa6ngig af n\xc3\xb8glepersoner");
}

json_t *evaluation_add(struct coi_storage *s, const char *case_id, const json_t *in,
                       const char *status)
{
    json_t *fields = json_pack("[s]", "title"), *out = NULL, *moved = NULL;
    int rc = s->evaluation_create(s, &out, case_id, in, &TEST_ACTOR, fields);
    json_decref(fields);
    if (rc != COI_OK || !json_is_object(out)) {
        test_fail(__FILE__, __LINE__, "evaluation_create: %s (%s)", coi_error_name(rc),
                  coi_error_detail());
        json_decref(out);
        return NULL;
    }
    if (status == NULL || strcmp(status, "draft") == 0)
        return out;
    rc = s->evaluation_transition(s, &moved, field(out, "id"), status, NULL, 1, &TEST_ACTOR);
    json_decref(out);
    if (rc != COI_OK) {
        test_fail(__FILE__, __LINE__, "evaluation_transition to %s: %s (%s)", status,
                  coi_error_name(rc), coi_error_detail());
        json_decref(moved);
        return NULL;
    }
    return moved;
}

void case_move(struct coi_storage *s, const char *id, const char *status)
{
    json_t *out = NULL;
    int rc = s->case_transition(s, &out, id, status, NULL, -1, &TEST_ACTOR);
    if (rc != COI_OK)
        test_fail(__FILE__, __LINE__, "case_transition to %s: %s (%s)", status, coi_error_name(rc),
                  coi_error_detail());
    json_decref(out);
}

json_t *evaluation_list_all(struct coi_storage *s, const struct coi_evaluation_query *filter,
                            int page)
{
    struct coi_evaluation_query q = *filter;
    json_t *all = json_array();
    char after[40] = "";

    q.limit = page;
    for (int guard = 0; guard < 1000; guard++) {
        json_t *rows = NULL, *row;
        size_t i;
        q.after_id = after[0] ? after : NULL;
        int rc = s->evaluation_list(s, &rows, &q);
        CHECK_INT(rc, COI_OK);
        if (rc != COI_OK || !json_is_array(rows)) {
            json_decref(rows);
            break;
        }
        size_t n = json_array_size(rows);
        CHECK(n <= (size_t)page);
        json_array_foreach(rows, i, row)
        {
            const char *id = field(row, "id");
            if (id == NULL || (after[0] && strcmp(id, after) <= 0)) {
                test_fail(__FILE__, __LINE__, "evaluation %s comes after %s", id ? id : "?", after);
                break;
            }
            snprintf(after, sizeof after, "%s", id);
            json_array_append(all, row);
        }
        json_decref(rows);
        if (n < (size_t)page || n == 0)
            break;
    }
    return all;
}

json_t *evaluation_history_of(struct coi_storage *s, const char *id)
{
    json_t *out = NULL;
    int rc = s->evaluation_history(s, &out, id, 0, 1000);
    CHECK_INT(rc, COI_OK);
    if (rc != COI_OK || !json_is_array(out)) {
        json_decref(out);
        return json_array();
    }
    return out;
}
