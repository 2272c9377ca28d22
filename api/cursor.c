/* Opaque keyset cursors: base64url of {"v":1,"k":<sort key>,"f":<filter fingerprint>}. */
#include "api/cursor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/error.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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
    size_t n = strlen(text), o = 0;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        size_t chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
        if (o + chars + 1 > len) {
            free(text);
            return COI_ERROR;
        }
        for (size_t j = 0; j < chars; j++)
            out[o++] = alphabet[(v >> (18 - 6 * j)) & 63];
    }
    out[o] = '\0';
    free(text);
    return COI_OK;
}

static int decode_char(char ch)
{
    const char *p = ch ? strchr(alphabet, ch) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

int cursor_decode(json_t **out_key, const char *text, const char *fingerprint)
{
    size_t n = strlen(text), o = 0;
    unsigned char *buf;
    json_t *doc = NULL;
    int rc = coi_error_set(COI_EINVALID, "cursor", "the cursor is not one this API issued");

    *out_key = NULL;
    if (n == 0 || n > 4096 || n % 4 == 1 || (buf = malloc(n)) == NULL)
        return rc;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        size_t chars = n - i < 4 ? n - i : 4;
        for (size_t j = 0; j < 4; j++) {
            int d = j < chars ? decode_char(text[i + j]) : 0;
            if (d < 0)
                goto out;
            v = (v << 6) | (uint32_t)d;
        }
        for (size_t j = 0; j + 1 < chars; j++)
            buf[o++] = (unsigned char)(v >> (16 - 8 * j));
    }
    doc = json_loadb((const char *)buf, o, JSON_REJECT_DUPLICATES, NULL);
    json_t *key = json_object_get(doc, "k");
    const char *f = json_string_value(json_object_get(doc, "f"));
    if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "v")) != 1 ||
        key == NULL || f == NULL)
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
