/* GET /v1/changes: the change feed of cases, evaluations and adoptions, oldest first, that a
 * partner system polls from the cursor it was last given. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/cursor.h"
#include "api/problem.h"
#include "api/routes.h"
#include "api/validate.h"

#define FEED_DEFAULT_LIMIT 100
#define FEED_MAX_LIMIT 1000

static const struct {
    const char *name;
    unsigned bit;
} feed_types[] = {
    {"case", COI_CHANGE_CASE},
    {"evaluation", COI_CHANGE_EVALUATION},
    {"adoption", COI_CHANGE_ADOPTION},
};

/* The check value written next to a seq in a cursor: it catches a cursor whose seq was edited
 * by hand (it is no signature; a cursor only ever moves the caller within what it may see). */
static void seq_check(char out[17], int64_t seq)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, seq);
    const char *values[] = {"changes", text};
    cursor_fingerprint(out, values, 2);
}

/* A cursor for position `seq` of the feed read with `fingerprint` into token. */
static int encode_since(char *token, size_t len, int64_t seq, const char *fingerprint)
{
    char check[17];
    seq_check(check, seq);
    json_t *key = json_pack("[I, s]", (json_int_t)seq, check);
    int rc = cursor_encode(token, len, key, fingerprint);
    json_decref(key);
    return rc;
}

/* Reads ?since= (NULL: from the beginning) into *out; errors go to `errors`. */
static void decode_since(json_t *errors, const char *text, const char *fingerprint, int64_t *out)
{
    json_t *key = NULL;
    *out = 0;
    if (text == NULL)
        return;
    if (cursor_decode(&key, text, fingerprint) != COI_OK) {
        problem_add_error(errors, "since", "%s", coi_error_detail());
        return;
    }
    json_t *seq = json_array_get(key, 0);
    char check[17];
    if (json_is_integer(seq))
        seq_check(check, json_integer_value(seq));
    if (!json_is_array(key) || json_array_size(key) != 2 || !json_is_integer(seq) ||
        json_integer_value(seq) < 0 ||
        strcmp(json_string_value(json_array_get(key, 1)) ? json_string_value(json_array_get(key, 1))
                                                         : "",
               check) != 0)
        problem_add_error(errors, "since", "the cursor is not one this API issued");
    else
        *out = json_integer_value(seq);
    json_decref(key);
}

/* The query: since and limit at most once, types any number of times (each a comma list). */
static unsigned read_query(struct api_ctx *c, json_t *errors)
{
    unsigned types = 0;
    for (size_t i = 0; i < c->query_count; i++) {
        const char *name = c->query[i].name, *value = c->query[i].value;
        if (strcmp(name, "types") == 0) {
            for (const char *p = value;; p++) {
                size_t n = strcspn(p, ","), t;
                for (t = 0; t < sizeof feed_types / sizeof feed_types[0]; t++)
                    if (strlen(feed_types[t].name) == n && strncmp(feed_types[t].name, p, n) == 0)
                        break;
                if (t < sizeof feed_types / sizeof feed_types[0])
                    types |= feed_types[t].bit;
                else
                    problem_add_error(errors, "types",
                                      "unknown type \"%.*s\"; use case, evaluation or adoption",
                                      (int)(n > 64 ? 64 : n), p);
                p += n;
                if (*p == '\0')
                    break;
            }
            continue;
        }
        if (strcmp(name, "since") != 0 && strcmp(name, "limit") != 0) {
            problem_add_error(errors, name, "unknown query parameter");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->query[j].name, name) == 0) {
                problem_add_error(errors, name, "given more than once");
                break;
            }
    }
    return types;
}

void changes_list(struct api_ctx *c)
{
    json_t *errors = json_array(), *rows = NULL;
    struct coi_change_query q = {0};
    int limit;

    q.types = read_query(c, errors);
    validate_limit(errors, api_query(c, "limit"), FEED_DEFAULT_LIMIT, FEED_MAX_LIMIT, &limit);
    /* A cursor is a position in what one viewer sees of some types: changes hidden from it
     * are skipped for good, so it is bound to the types and the viewer. */
    char fingerprint[17], types[4];
    snprintf(types, sizeof types, "%u", q.types);
    const char *bound[] = {"changes", types, auth_role_name(c->who.role), c->who.org};
    cursor_fingerprint(fingerprint, bound, 4);
    decode_since(errors, api_query(c, "since"), fingerprint, &q.after_seq);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the query string has errors");
        goto out;
    }
    q.see_all =
        c->who.role == ROLE_ADMIN || c->who.role == ROLE_EDITOR || c->who.role == ROLE_STEERING;
    q.viewer_org = c->who.role == ROLE_PARTNER ? c->who.org : NULL;
    q.limit = limit;
    int64_t next_seq = 0;
    int rc = c->storage->change_list(c->storage, &rows, &next_seq, &q);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    json_t *items = json_array(), *row;
    size_t i;
    char token[256];
    json_array_foreach(rows, i, row)
    {
        int64_t seq = json_integer_value(json_object_get(row, "seq"));
        encode_since(token, sizeof token, seq, fingerprint);
        json_array_append_new(
            items, json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:O}", "cursor", token, "type",
                             json_object_get(row, "type"), "id", json_object_get(row, "id"),
                             "case_id", json_object_get(row, "case_id"), "action",
                             json_object_get(row, "action"), "at", json_object_get(row, "at"),
                             "version", json_object_get(row, "version")));
    }
    encode_since(token, sizeof token, next_seq, fingerprint);
    api_set_next_link_as(c, "since", token);
    api_send_json(c, 200, json_pack("{s:o, s:s}", "items", items, "next_cursor", token));
out:
    json_decref(errors);
    json_decref(rows);
}
