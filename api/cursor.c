/* Opaque keyset cursors: base64url of {"v":1,"k":<sort key>,"f":<filter fingerprint>}. */
#include "api/cursor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/problem.h"
#include "auth/base64url.h"
#include "storage/error.h"

void cursor_fingerprint(char out[17], const char *const *values, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        const char *v = values[i] ? values[i] : "";
        /* A marker byte keeps "absent" apart from "" and field boundaries apart. */
        h ^= values[i] ? 1u : 2u;
        h *= 1099511628211ULL;
        for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
            h ^= *p;
            h *= 1099511628211ULL;
        }
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int cursor_encode(char *out, size_t len, const json_t *key, const char *fingerprint)
{
    json_t *doc = json_pack("{s:i, s:O, s:s}", "v", 1, "k", key, "f", fingerprint);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL)
        return COI_ERROR;
    int rc = base64url_encode(out, len, (const unsigned char *)text, strlen(text));
    free(text);
    return rc == 0 ? COI_OK : COI_ERROR;
}

int cursor_decode(json_t **out_key, const char *text, const char *fingerprint)
{
    size_t n = strlen(text), o = 0;
    unsigned char *buf = NULL;
    json_t *doc = NULL;
    int rc = coi_error_set(COI_EINVALID, "cursor", "the cursor is not one this API issued");

    *out_key = NULL;
    if (n == 0 || n > 4096 || (buf = base64url_decode(text, n, &o)) == NULL)
        return rc;
    doc = json_loadb((const char *)buf, o, JSON_REJECT_DUPLICATES, NULL);
    json_t *key = json_object_get(doc, "k");
    const char *f = json_string_value(json_object_get(doc, "f"));
    if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "v")) != 1 || key == NULL ||
        f == NULL)
        goto out;
    if (strcmp(f, fingerprint) != 0) {
        rc = coi_error_set(COI_EINVALID, "cursor",
                           "the cursor was made for other filters; start again without it");
        goto out;
    }
    *out_key = json_incref(key);
    rc = COI_OK;
out:
    json_decref(doc);
    free(buf);
    return rc;
}

const char *cursor_next_page(char *token, size_t len, json_t *rows, int limit,
                             const char *key_field, const char *fingerprint)
{
    if (json_array_size(rows) <= (size_t)limit)
        return NULL;
    json_array_remove(rows, (size_t)limit);
    json_t *key = json_object_get(json_array_get(rows, (size_t)limit - 1), key_field);
    return cursor_encode(token, len, key, fingerprint) == COI_OK ? token : NULL;
}

void cursor_take(json_t **out_key, json_t *errors, const char *text, const char *fingerprint,
                 json_type type)
{
    *out_key = NULL;
    if (text == NULL)
        return;
    if (cursor_decode(out_key, text, fingerprint) != COI_OK) {
        problem_add_error(errors, "cursor", "%s", coi_error_detail());
    } else if (json_typeof(*out_key) != type) {
        json_decref(*out_key);
        *out_key = NULL;
        problem_add_error(errors, "cursor", "the cursor is not one this API issued");
    }
}
