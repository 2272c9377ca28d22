/* json_text writes what json_dumps writes, for the values a user could send and more. */
#include <stdint.h>
#include <stdlib.h>

#include "storage/json_text.h"
#include "test.h"

#define FLAGS JSON_REAL_PRECISION(15)

/* Whether json_text(v) is byte for byte json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | FLAGS),
 * its length included; reports the first difference. */
static int same_as_jansson(const json_t *v)
{
    size_t len = 0;
    char *ours = json_text(v, FLAGS, &len);
    char *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | FLAGS);
    int same = ours != NULL && theirs != NULL && len == strlen(theirs) &&
               memcmp(ours, theirs, len + 1) == 0;
    if (!same)
        test_fail(__FILE__, __LINE__, "json_text wrote %s, json_dumps %s", ours ? ours : "NULL",
                  theirs ? theirs : "NULL");
    free(ours);
    free(theirs);
    return same;
}

TEST(json_text_writes_what_json_dumps_writes_for_awkward_values)
{
    const char *docs[] = {
        "{}",
        "[]",
        "[[[]], {}, [{}]]",
        "{\"a\": \"\\u0000 \\u0001\\u001f \\\" \\\\ / \\b\\f\\n\\r\\t \\u007f\"}",
        "{\"ældre\": \"hjemmeplejen i Ærø — 𝄞 ✓\", \"\\n key\": [1, -1, 0]}",
        "[9223372036854775807, -9223372036854775808, 0, -0]",
        "[1.5, -0.25, 1e300, 3.0, 0.1, 123456789.123456789, 2.5e-8]",
        "[true, false, null, \"\"]",
        "{\"title\": \"Hjemmepleje\", \"tags\": [\"a\", \"b\"], \"n\": null, \"o\": {\"x\": {\"y\": [1]}}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_error_t err;
        json_t *v = json_loads(docs[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        CHECK(v != NULL);
        if (v != NULL)
            same_as_jansson(v);
        json_decref(v);
    }
    json_t *nul = json_stringn("a\0b", 3), *key = json_object();
    json_object_setn(key, "k\0ey", 4, json_true()); /* a key holding NUL */
    same_as_jansson(nul);
    same_as_jansson(key);
    json_decref(nul);
    json_decref(key);
    CHECK(json_text(NULL, FLAGS, NULL) == NULL);
}

/* A deterministic pseudo-random generator (xorshift64). */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A random valid UTF-8 string of up to 12 code points: ASCII, controls, Latin-1, BMP and
 * astral characters. */
static json_t *random_string(uint64_t *s)
{
    char text[64];
    size_t n = 0, count = rnd(s) % 13;
    for (size_t i = 0; i < count; i++) {
        static const uint32_t from[] = {0, 0x20, 0x80, 0x800, 0x10000, 0x110000};
        unsigned k = (unsigned)(rnd(s) % 5);
        uint32_t cp = from[k] + (uint32_t)(rnd(s) % (from[k + 1] - from[k]));
        if (cp >= 0xD800 && cp < 0xE000)
            cp = 'x'; /* surrogates are not characters */
        if (cp < 0x80) {
            text[n++] = (char)cp;
        } else if (cp < 0x800) {
            text[n++] = (char)(0xC0 | cp >> 6);
            text[n++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            text[n++] = (char)(0xE0 | cp >> 12);
            text[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
            text[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            text[n++] = (char)(0xF0 | cp >> 18);
            text[n++] = (char)(0x80 | (cp >> 12 & 0x3F));
            text[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
            text[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return json_stringn(text, n);
}

static json_t *random_value(uint64_t *s, int depth)
{
    switch (rnd(s) % (depth < 4 ? 8 : 6)) {
    case 0:
        return random_string(s);
    case 1:
        return json_integer((json_int_t)rnd(s));
    case 2:
        return json_real((double)(int64_t)rnd(s) / (double)(1 + rnd(s) % 100000));
    case 3:
        return json_boolean(rnd(s) % 2);
    case 4:
        return json_null();
    case 5:
        return json_integer((json_int_t)(rnd(s) % 1000) - 500);
    case 6: {
        json_t *a = json_array();
        for (uint64_t i = rnd(s) % 6; i > 0; i--)
            json_array_append_new(a, random_value(s, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint64_t i = rnd(s) % 6; i > 0; i--) {
            json_t *k = random_string(s);
            json_object_setn_new(o, json_string_value(k), json_string_length(k),
                                 random_value(s, depth + 1));
            json_decref(k);
        }
        return o;
    }
    }
}

TEST(json_text_writes_what_json_dumps_writes_for_random_values)
{
    uint64_t seed = 0x9E3779B97F4A7C15u;
    int differ = 0;
    for (int i = 0; i < 2000 && differ < 3; i++) {
        json_t *v = random_value(&seed, 0);
        differ += !same_as_jansson(v);
        json_decref(v);
    }
    CHECK_INT(differ, 0);
}
