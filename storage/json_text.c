/* Compact JSON text of a jansson value (json_text.h). */
#include "storage/json_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
    char *p;
    size_t len, cap;
    int failed;
};

/* Room for `n` more bytes (and the final NUL); 0 when out of memory. */
static int reserve(struct buf *b, size_t n)
{
    if (b->failed)
        return 0;
    if (b->len + n + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

static void put(struct buf *b, const char *s, size_t n)
{
    if (reserve(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

static void put_char(struct buf *b, char c)
{
    if (reserve(b, 1))
        b->p[b->len++] = c;
}

/* A string as jansson escapes it: quote, backslash and the control characters; everything
 * else (the value is valid UTF-8) as it is. */
static void put_string(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t start = 0;

    put_char(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        put(b, s + start, i - start);
        start = i + 1;
        switch (ch) {
        case '"':
            put(b, "\\\"", 2);
            break;
        case '\\':
            put(b, "\\\\", 2);
            break;
        case '\b':
            put(b, "\\b", 2);
            break;
        case '\f':
            put(b, "\\f", 2);
            break;
        case '\n':
            put(b, "\\n", 2);
            break;
        case '\r':
            put(b, "\\r", 2);
            break;
        case '\t':
            put(b, "\\t", 2);
            break;
        default: {
            char seq[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            put(b, seq, sizeof seq);
        }
        }
    }
    put(b, s + start, n - start);
    put_char(b, '"');
}

static void put_value(struct buf *b, const json_t *v, size_t real_flags)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        int first = 1;
        put_char(b, '{');
        for (void *it = json_object_iter((json_t *)v); it != NULL && !b->failed;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                put_char(b, ',');
            first = 0;
            put_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
            put_char(b, ':');
            put_value(b, json_object_iter_value(it), real_flags);
        }
        put_char(b, '}');
        break;
    }
    case JSON_ARRAY:
        put_char(b, '[');
        for (size_t i = 0; i < json_array_size(v) && !b->failed; i++) {
            if (i > 0)
                put_char(b, ',');
            put_value(b, json_array_get(v, i), real_flags);
        }
        put_char(b, ']');
        break;
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: {
        char num[24];
        int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put(b, num, (size_t)n);
        break;
    }
    case JSON_REAL: {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | real_flags);
        if (text == NULL)
            b->failed = 1;
        else
            put(b, text, strlen(text));
        free(text);
        break;
    }
    case JSON_TRUE:
        put(b, "true", 4);
        break;
    case JSON_FALSE:
        put(b, "false", 5);
        break;
    case JSON_NULL:
        put(b, "null", 4);
        break;
    }
}

char *json_text(const json_t *v, size_t real_flags, size_t *len)
{
    struct buf b = {NULL, 0, 0, 0};

    if (v == NULL)
        return NULL;
    put_value(&b, v, real_flags);
    if (!reserve(&b, 0)) {
        free(b.p);
        return NULL;
    }
    b.p[b.len] = '\0';
    if (len != NULL)
        *len = b.len;
    return b.p;
}
