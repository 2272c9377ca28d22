/* Opaque keyset cursors: the last row's sort key plus a fingerprint of the query's filters. */
#ifndef COI_CURSOR_H
#define COI_CURSOR_H

#include <jansson.h>
#include <stddef.h>

/* A fingerprint (16 hex digits + NUL) of the filter values that a cursor is bound to; NULL
 * entries count as absent. */
void cursor_fingerprint(char out[17], const char *const *values, size_t n);

/* Encodes `key` (borrowed) and `fingerprint` as base64url text into out. COI_OK, or COI_ERROR
 * when out is too small. */
int cursor_encode(char *out, size_t len, const json_t *key, const char *fingerprint);

/* Decodes `text`: COI_OK with *out_key (new reference) when it is well formed and was made for
 * the same fingerprint; COI_EINVALID (field "cursor") with the reason otherwise. */
int cursor_decode(json_t **out_key, const char *text, const char *fingerprint);

/* Reads the request's cursor `text` (NULL: none) for a list: on success *out_key (new
 * reference, or NULL without a cursor) holds its key, which must be of JSON type `type`;
 * otherwise an error for the field "cursor" is appended to `errors` and *out_key is NULL. */
void cursor_take(json_t **out_key, json_t *errors, const char *text, const char *fingerprint,
                 json_type type);

/* The end of a keyset page: storage was asked for limit + 1 rows; when `rows` holds more than
 * `limit`, drops the extra one and writes into `token` the cursor made of the last kept row's
 * `key_field` and `fingerprint`. Returns token, or NULL when there is no next page. */
const char *cursor_next_page(char *token, size_t len, json_t *rows, int limit,
                             const char *key_field, const char *fingerprint);

#endif
