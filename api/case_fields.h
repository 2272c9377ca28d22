/* The case resource's fields: what a writer may send, how it is checked, how it is shown. */
#ifndef COI_CASE_FIELDS_H
#define COI_CASE_FIELDS_H

#include <jansson.h>

/* Fields a writer may send (content plus organisation_code, external_id,
 * partner_organisation_codes) and fields only the service sets. NULL-terminated. */
extern const char *const CASE_WRITABLE[];
extern const char *const CASE_READ_ONLY[];

/* The values the enumerated fields take (NULL-terminated): for checks and for filters. */
extern const char *const CASE_INNOVATION_TYPES[],
    *const CASE_SECTORS[], *const CASE_IMPLEMENTATION_STATUSES[],
                               *const CASE_ORIGINS[], *const CASE_RATINGS[],
                                                          *const CASE_EFFECT_TYPES[];

/* Checks a complete case document (every writable field it has; absent optional fields are
 * fine) and the rules between its fields. Errors go to `errors`. */
void case_check(json_t *errors, const json_t *doc);

/* The representation of a storage record, fields in the contract's order, absent optional
 * fields as null (or [] for lists), with `summary` (borrowed; NULL: nothing documented) as
 * evaluation_summary. Returns a new object whose values are shared with `record` and
 * `summary` (change a field by setting it, never a value in place). */
json_t *case_present(const json_t *record, const json_t *summary);

/* The writable part of a storage record (what a writer would send to recreate it), with
 * absent fields filled as case_present shows them. Returns a new object whose values are
 * shared with `record` (change a field by setting it, never a value in place). */
json_t *case_writable(const json_t *record);

/* The names of writable fields whose values differ between `before` and `after` (both as
 * case_writable shows them), sorted. Returns a new array. */
json_t *case_changed_fields(const json_t *before, const json_t *after);

#endif
