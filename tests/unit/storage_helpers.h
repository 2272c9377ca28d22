/* Helpers shared by the storage conformance tests (tests/unit/storage_*_test.c). */
#ifndef COI_STORAGE_HELPERS_H
#define COI_STORAGE_HELPERS_H

#include <jansson.h>
#include <stddef.h>

#include "storage/storage.h"

#define SEED_TOTAL 103
#define SEED_MUNICIPALITIES 98
#define SEED_REGIONS 5

/* A new organisation object as create/update take it (caller decrefs). */
json_t *org_new(const char *code, const char *name, const char *kind, const char *region);

const char *field(const json_t *org, const char *key);

long long version_of(const json_t *org);

/* One page of organisation_list; an empty array (after recording a failure) on error. */
json_t *list_page(struct coi_storage *s, const struct coi_org_query *q);

/* Every row matching `filter`, fetched by keyset paging `page` rows at a time. Also checks
 * that no page is larger than asked and that codes rise strictly across pages. */
json_t *list_all(struct coi_storage *s, const struct coi_org_query *filter, int page);

size_t count_where(struct coi_storage *s, const struct coi_org_query *filter);

/* The codes of `rows` joined with spaces, for comparing a whole list at once. */
void codes_of(char *out, size_t size, const json_t *rows);

/* The codes of every row whose name contains `needle`, space-separated, in order. */
void codes_named(struct coi_storage *s, const char *needle, char *out, size_t size);

/* RFC 3339 date-time, as the API's "format: date-time" needs: YYYY-MM-DDTHH:MM:SS[.f](Z|±hh:mm). */
int is_rfc3339(const char *t);

void sleep_ms(long ms);

/* Checks that `code` is stored exactly as `expected` (all fields, version and timestamps). */
void check_unchanged(struct coi_storage *s, const char *code, const json_t *expected);

/* ---- cases ------------------------------------------------------------------------------ */

/* The actor the case tests write as: an editor of 0101 with a party. */
extern const struct coi_actor TEST_ACTOR;

/* A new case object as create/update take it (caller decrefs): lead `org`, `external_id`
 * (NULL: JSON null), `partners` as space-separated codes (NULL or "": none), and the content
 * fields title, summary, tags, employee_driven and spread_potential_rating. */
json_t *case_new(const char *org, const char *external_id, const char *partners, const char *title);

/* case_create as TEST_ACTOR with changed_fields ["title"]; the record, or NULL after recording
 * a failure. Caller decrefs. */
json_t *case_create_ok(struct coi_storage *s, const json_t *in);

/* A struct coi_strings of the string literals given: STRINGS("0101", "0851"). */
#define STRINGS(...)                                                                               \
    ((struct coi_strings){(const char *const[]){__VA_ARGS__},                                      \
                          sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)})

/* Where case `a` stands against case `b` in `sort`, from their records: negative when `a`
 * comes first, 0 when they are the same case. COI_SORT_RELEVANCE (the rank is not in the
 * record) compares as 0. */
int case_order(const json_t *a, const json_t *b, enum coi_case_sort sort);

/* One page of case_list (new reference): an empty array, after recording a failure, when the
 * call fails. Checks that every record carries a "_sort_key" array and the page is no larger
 * than q->limit. */
json_t *case_page(struct coi_storage *s, const struct coi_case_query *q);

/* Every case matching `filter` fetched by keyset paging `page` rows at a time, each page
 * continuing after the last row's "_sort_key". Checks that no page is larger than asked, that
 * no case comes twice and that the rows are strictly in the order of filter->sort. */
json_t *case_list_all(struct coi_storage *s, const struct coi_case_query *filter, int page);

/* Creates a case led by `org` with `partners` (space-separated; NULL: none): case_new's fields
 * with those of the JSON object text `fields` laid over them (a null value removes a field;
 * NULL: none), then moves it to `status` unless that is NULL or "draft". The stored record
 * (caller decrefs), or NULL after recording a failure. */
json_t *case_make(struct coi_storage *s, const char *org, const char *partners, const char *status,
                 const char *fields);

/* The titles of every case `q` lists (paged two at a time) joined with " | ": in list order,
 * or sorted bytewise when `sorted` (for tests about which cases are listed, not their order). */
void case_titles(struct coi_storage *s, const struct coi_case_query *q, int sorted, char *out,
                 size_t size);

/* The number of cases stored (all statuses). */
size_t case_count(struct coi_storage *s);

/* The history of `id` (all entries, newest first); an empty array after a failure. */
json_t *history_of(struct coi_storage *s, const char *id);

/* The values of `key` (strings) of each object of `rows`, joined with spaces. */
void join_key(char *out, size_t size, const json_t *rows, const char *key);

/* The strings of array `a` joined with spaces ("" for an empty array, "?" for non-strings). */
void join_strings(char *out, size_t size, const json_t *a);

/* Checks that case `id` is stored exactly as `expected` and its history has `entries`. */
void check_case_unchanged(struct coi_storage *s, const char *id, const json_t *expected,
                          size_t entries);

/* ---- evaluations ------------------------------------------------------------------------ */

/* A new evaluation object as create/update take it (caller decrefs): every content field the
 * API sends, with `title`, `method`, `evidence_level` and `evaluator_kind` as given, economic
 * {investment_dkk 500000, annual_savings_dkk 120000, annual_running_costs_dkk 20000}, two
 * quality effects and some nulls. */
json_t *evaluation_new(const char *title, const char *method, int evidence_level,
                       const char *evaluator_kind);

/* evaluation_create of `in` for `case_id` as TEST_ACTOR with changed_fields ["title"], then,
 * unless `status` is NULL or "draft", a transition straight to `status`. The record, or NULL
 * after recording a failure. Caller decrefs. */
json_t *evaluation_add(struct coi_storage *s, const char *case_id, const json_t *in,
                       const char *status);

/* Moves case `id` to `status` (any version); records a failure when that fails. */
void case_move(struct coi_storage *s, const char *id, const char *status);

/* Every evaluation matching `filter` fetched by keyset paging `page` rows at a time. Checks that
 * no page is larger than asked and that ids rise strictly across all rows. */
json_t *evaluation_list_all(struct coi_storage *s, const struct coi_evaluation_query *filter,
                            int page);

/* The history of evaluation `id` (all entries, newest first); an empty array after a failure. */
json_t *evaluation_history_of(struct coi_storage *s, const char *id);

#endif
