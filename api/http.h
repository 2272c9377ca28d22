/* The per-request context handed to handlers, and the helpers they use to read and answer. */
#ifndef COI_HTTP_H
#define COI_HTTP_H

#include <jansson.h>
#include <stdint.h>
#include <ulfius.h>

#include "api/config.h"
#include "auth/identity.h"
#include "storage/storage.h"

struct route;
struct auth_keys;

#define API_MAX_PATH_PARAMS 4
#define API_MAX_QUERY_PARAMS 32

struct api_param {
    char *name;  /* percent-decoded, owned by the context */
    char *value; /* percent-decoded, owned by the context */
};

struct api_ctx {
    const struct _u_request *req;
    struct _u_response *res;
    const struct route *route;
    struct coi_storage *storage;
    const struct config *cfg;
    const struct auth_keys *keys;
    char request_id[132];
    struct api_param path[API_MAX_PATH_PARAMS];
    size_t path_count;
    struct api_param query[API_MAX_QUERY_PARAMS];
    size_t query_count;
    struct identity who; /* the caller (anonymous until a token is verified) */
    json_t *body;        /* the parsed request body for routes that take one, else NULL */
    int status;          /* the status sent, 0 until then */
};

/* Releases what the context owns (parameters, body). */
void api_ctx_clear(struct api_ctx *c);

/* A request header, looked up case-insensitively; NULL when absent. */
const char *api_header(const struct api_ctx *c, const char *name);

/* Adds a response header (copied). */
void api_set_header(struct api_ctx *c, const char *name, const char *value);

/* The value of path parameter `name` (e.g. "code" for /v1/organisations/{code}). */
const char *api_path_param(const struct api_ctx *c, const char *name);

/* The value of query parameter `name`, or NULL. api_query_check has already refused repeats. */
const char *api_query(const struct api_ctx *c, const char *name);

/* Refuses (422, sent) a query with a parameter not in the NULL-terminated `allowed` list or
 * with one given twice. Returns 0 when the query is acceptable, -1 when a problem was sent. */
int api_query_check(struct api_ctx *c, const char *const *allowed);

/* Parses the raw query string of the request into c->query. -1 when it is not valid
 * percent-encoded UTF-8 or has too many parameters (a problem was sent). */
int api_parse_query(struct api_ctx *c, const char *raw_url);

/* Percent-decodes `in[0..len)` into a new string ('+' as space when `plus`); NULL when the
 * encoding is broken or the result is not valid UTF-8 or contains NUL. Caller frees. */
char *api_percent_decode(const char *in, size_t len, int plus);

/* Appends `s` percent-encoded (unreserved characters kept) to `buf`. */
void api_percent_encode(char *buf, size_t buf_len, const char *s);

/* Sets `Link: <this path?same query with cursor=...>; rel="next"`. */
void api_set_next_link(struct api_ctx *c, const char *cursor);

/* The same with the cursor in query parameter `param` (replacing any given). */
void api_set_next_link_as(struct api_ctx *c, const char *param, const char *cursor);

/* Sends a page {items (stolen), next_cursor (string or null)} and the Link header. */
void api_send_page(struct api_ctx *c, json_t *items, const char *next_cursor);

/* Sends `body` (stolen) as application/json with `status`. */
void api_send_json(struct api_ctx *c, int status, json_t *body);

/* Sends a response without a body (204, 304). */
void api_send_empty(struct api_ctx *c, int status);

/* The ETag of a representation: the quoted FNV-1a 64 hash of its compact JSON text, so that
 * any change of what a client sees changes it. out holds at least 20 bytes. */
void api_etag_of(char *out, size_t len, const json_t *representation);
/* The same from the representation's text (as api_json_text writes it). */
void api_etag_of_text(char *out, size_t len, const char *text);

/* The text a representation is sent as (caller frees; NULL when out of memory). */
char *api_json_text(const json_t *representation);

/* Sends `text` (JSON as api_json_text wrote it) as application/json. */
void api_send_text(struct api_ctx *c, int status, const char *text, size_t length);

/* Sends `text` (a representation as api_json_text wrote it) with its `etag`, or 304 when the
 * request is a GET whose If-None-Match lists the etag and `status` is 200. */
void api_send_text_resource(struct api_ctx *c, int status, const char *text, size_t length,
                            const char *etag);

/* 1 when an If-None-Match / If-Match header value lists `etag` (weakly compared) or is "*". */
int api_etag_listed(const char *header, const char *etag);

/* Sends a single resource (stolen) with its ETag. */
void api_send_resource(struct api_ctx *c, int status, json_t *representation);

/* On a GET whose If-None-Match lists the representation's ETag, sends 304 (with the ETag) and
 * returns 1; else 0. The representation is borrowed. */
int api_not_modified(struct api_ctx *c, const json_t *representation);

/* The preconditions of a write on an existing resource: 1 when If-Match (if any) lists the
 * representation's ETag and If-None-Match (if any) does not (nor is "*"). 0 means 412. */
int api_if_match_holds(const struct api_ctx *c, const json_t *representation);

/* Takes the "version" out of a storage record (which the API shows only as the ETag),
 * returning it; the record is changed in place. */
int64_t api_record_take_version(json_t *record);

/* RFC 7396: `patch` applied to `target` (either may be NULL): objects merge member by member
 * (null removes a member), anything else replaces. Returns a new reference. */
json_t *api_merge_patch(const json_t *target, const json_t *patch);

/* The names in `fields` (NULL-terminated) whose values differ between `before` and `after`,
 * sorted by name (new array): the changed_fields of a history entry. */
json_t *api_changed_fields(const json_t *before, const json_t *after, const char *const *fields);

/* 1 when `s` is valid UTF-8 without NUL bytes. */
int api_utf8_valid(const char *s, size_t len);

/* The number of code points in valid UTF-8 `s`. */
size_t api_utf8_length(const char *s);

/* 1 when a Content-Type value's media type (before any ';', case-insensitive) is `type` and any
 * charset parameter is UTF-8. */
int api_media_type_is(const char *header, const char *type);

#endif
