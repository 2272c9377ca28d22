/* The evaluation resource's fields: checks of what a writer sends, the shown representation
 * with its derived economic and quality figures. */
#ifndef COI_EVALUATION_FIELDS_H
#define COI_EVALUATION_FIELDS_H

#include <jansson.h>

extern const char *const EVALUATION_WRITABLE[];
extern const char *const EVALUATION_READ_ONLY[];

/* Checks a complete evaluation document (its writable fields) and the rules between them. */
void evaluation_check(json_t *errors, const json_t *doc);

/* The writable part of a record or body, absent fields as null (new reference). */
json_t *evaluation_writable(const json_t *record);

/* The representation of a storage record, in the contract's order, with the derived
 * net_annual_effect_dkk, payback_years and each quality effect's change and improved. */
json_t *evaluation_present(const json_t *record);

/* Writable fields whose values differ, sorted (new array). */
json_t *evaluation_changed_fields(const json_t *before, const json_t *after);

#endif
