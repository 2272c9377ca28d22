/* Field validators: each appends {field, message} to an error list (empty list = valid). */
#ifndef COI_VALIDATE_H
#define COI_VALIDATE_H

#include <jansson.h>

/* Flags every key of `obj` that is neither in `writable` nor in `read_only` as unknown, and
 * every key in `read_only` as read-only (both lists NULL-terminated). */
void validate_fields(json_t *errors, const json_t *obj, const char *const *writable,
                     const char *const *read_only);

/* A string of min..max code points without control characters; must not be blank when
 * min > 0. `required`: absence (or null) is an error. Returns the string or NULL. */
const char *validate_text(json_t *errors, const json_t *obj, const char *field, size_t min,
                          size_t max, int required);

/* A string that is one of the NULL-terminated `allowed` values. */
const char *validate_enum(json_t *errors, const json_t *obj, const char *field,
                          const char *const *allowed, int required);

/* 1 when `s` is one of the NULL-terminated `allowed` values. */
int validate_in(const char *s, const char *const *allowed);

/* 1 when `s` is an organisation code: 1..32 of [A-Za-z0-9_-], starting with a letter or digit. */
int validate_is_code(const char *s);

/* An organisation code, or null when `nullable`. Returns the code or NULL. */
const char *validate_code(json_t *errors, const json_t *obj, const char *field, int required,
                          int nullable);

/* Optional long text (null allowed): at most `max` code points; newlines and tabs allowed,
 * other control characters not. */
const char *validate_prose(json_t *errors, const json_t *obj, const char *field, size_t max);

/* An array of unique values from `allowed`, min..max items. Absent/null is an error when
 * `required`, else fine. */
void validate_enum_list(json_t *errors, const json_t *obj, const char *field,
                        const char *const *allowed, size_t min, size_t max, int required);

/* An array of at most `max_items` unique one-line strings of 1..max_len code points. */
void validate_string_list(json_t *errors, const json_t *obj, const char *field, size_t max_items,
                          size_t max_len);

/* An array of at most `max_items` unique organisation codes. */
void validate_code_list(json_t *errors, const json_t *obj, const char *field, size_t max_items);

/* true, false or null. */
void validate_bool(json_t *errors, const json_t *obj, const char *field);

/* A calendar date "YYYY-MM-DD" (a real one), or null unless `required`. Returns it or NULL. */
const char *validate_date(json_t *errors, const json_t *obj, const char *field, int required);

/* 1 when `s` is a real calendar date written YYYY-MM-DD. */
int validate_is_date(const char *s);

/* An e-mail address (local@domain.tld, at most 254 characters) or null. */
void validate_email(json_t *errors, const json_t *obj, const char *field);

/* 1 when `s` is an absolute http(s) URL with a host and no spaces or control characters. */
int validate_is_http_url(const char *s);

/* Reads ?limit= (1..max, default `def`) into *out; appends an error when invalid. */
void validate_limit(json_t *errors, const char *value, int def, int max, int *out);

#endif
