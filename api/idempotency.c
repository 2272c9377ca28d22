/* Idempotency-Key: a POST's answer kept per (sub, key) and sent again to a retry. */
#include "api/idempotency.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/log.h"
#include "api/problem.h"

#define IDEMPOTENCY_KEY_MAX 255

/* The response headers a replay repeats (the others are made anew for each request). */
static const char *const replayed_headers[] = {"Content-Type", "Location", "ETag", NULL};

/* 1 when `key` is 1..255 visible ASCII characters (RFC 5234 VCHAR). */
static int key_is_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > IDEMPOTENCY_KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return 0;
    return 1;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Hashes one field as its length and its bytes, so that field boundaries count. */
static uint64_t fnv1a_field(uint64_t h, const void *data, size_t len)
{
    uint64_t n = len;
    return fnv1a(fnv1a(h, &n, sizeof n), data, len);
}

/* The request's fingerprint (16 hex digits): FNV-1a 64 of the method, the raw path, the query
 * string, the Content-Type and the body bytes. */
static void fingerprint(char out[17], const struct api_ctx *c)
{
    const char *query = strchr(c->req->http_url, '?');
    const char *type = api_header(c, "Content-Type");
    uint64_t h = 1469598103934665603ULL;
    h = fnv1a_field(h, c->req->http_verb, strlen(c->req->http_verb));
    h = fnv1a_field(h, c->req->url_path, strlen(c->req->url_path));
    h = fnv1a_field(h, query ? query + 1 : "", query ? strlen(query + 1) : 0);
    h = fnv1a_field(h, type ? type : "", type ? strlen(type) : 0);
    h = fnv1a_field(h, c->req->binary_body, c->req->binary_body_length);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* Sends a stored answer {status, headers, body} (borrowed) again. */
static void replay(struct api_ctx *c, const json_t *stored)
{
    int status = (int)json_integer_value(json_object_get(stored, "status"));
    const char *body = json_string_value(json_object_get(stored, "body"));
    json_t *headers = json_object_get(stored, "headers");
    for (const char *const *name = replayed_headers; *name != NULL; name++) {
        const char *value = json_string_value(json_object_get(headers, *name));
        if (value != NULL)
            api_set_header(c, *name, value);
    }
    api_set_header(c, "Idempotent-Replayed", "true");
    if (body != NULL) {
        ulfius_set_binary_body_response(c->res, (unsigned int)status, body, strlen(body));
        c->status = status;
    } else {
        api_send_empty(c, status);
    }
}

int idempotency_begin(struct api_ctx *c, const char **claimed_key)
{
    const char *key = api_header(c, "Idempotency-Key");
    json_t *stored = NULL;
    char hash[17];

    *claimed_key = NULL;
    if (key == NULL || strcmp(c->req->http_verb, "POST") != 0 || c->who.sub[0] == '\0')
        return 0;
    if (!key_is_valid(key)) {
        problem_send(c, 400, "Idempotency-Key must be 1 to %d visible ASCII characters",
                     IDEMPOTENCY_KEY_MAX);
        return -1;
    }
    fingerprint(hash, c);
    int rc = c->storage->idempotency_claim(c->storage, &stored, c->who.sub, key, hash,
                                           IDEMPOTENCY_TTL_SECONDS, IDEMPOTENCY_STALE_SECONDS);
    if (rc == COI_OK) {
        *claimed_key = key;
        return 0;
    }
    if (rc != COI_EEXISTS) {
        problem_from_error(c, rc);
        return -1;
    }
    const char *first = json_string_value(json_object_get(stored, "request_hash"));
    if (first == NULL || strcmp(first, hash) != 0) {
        problem_send_kind(c, "idempotency-key-reused",
                          "this Idempotency-Key was used for a different request in the last "
                          "%d hours; use a new key for a new request",
                          IDEMPOTENCY_TTL_SECONDS / 3600);
    } else if (json_integer_value(json_object_get(stored, "status")) == 0) {
        api_set_header(c, "Retry-After", "1");
        problem_send(c, 409, "a request with this Idempotency-Key is still being answered");
    } else {
        replay(c, stored);
    }
    json_decref(stored);
    return -1;
}

/* Logs a failure to store or release the answer of `key`. */
static void log_failure(const struct api_ctx *c, const char *what, int rc)
{
    json_t *f = json_pack("{s:s, s:s, s:s}", "request_id", c->request_id, "error",
                          coi_error_name(rc), "detail", coi_error_detail());
    log_event(LOG_WARN, what, f);
    json_decref(f);
}

void idempotency_end(struct api_ctx *c, const char *claimed_key)
{
    if (claimed_key == NULL)
        return;
    int rc;
    if (c->status == 0 || c->status >= 500) {
        rc = c->storage->idempotency_release(c->storage, c->who.sub, claimed_key);
        if (rc != COI_OK)
            log_failure(c, "idempotency key not released", rc);
        return;
    }
    json_t *headers = json_object();
    for (const char *const *name = replayed_headers; *name != NULL; name++) {
        const char *value = u_map_get_case(c->res->map_header, *name);
        if (value != NULL)
            json_object_set_new(headers, *name, json_string(value));
    }
    char *body = c->res->binary_body_length > 0
                     ? strndup(c->res->binary_body, c->res->binary_body_length)
                     : NULL;
    rc = c->storage->idempotency_complete(c->storage, c->who.sub, claimed_key, c->status, headers,
                                          body);
    if (rc != COI_OK)
        log_failure(c, "idempotency answer not stored", rc);
    free(body);
    json_decref(headers);
}
