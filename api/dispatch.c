/* The request pipeline every route runs: request id, body guard, parameters, identity, policy,
 * body, Idempotency-Key, handler, audit entry, access log. */
#include "api/dispatch.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "api/audit.h"
#include "api/idempotency.h"
#include "api/cache.h"
#include "api/cache_sync.h"
#include "api/log.h"
#include "api/problem.h"
#include "auth/policy.h"

void api_request_id(char *out, size_t len, const char *client)
{
    size_t n = client ? strlen(client) : 0;
    int ok = n >= 1 && n <= 128 && n < len;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = client[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '_' || ch == '-';
    }
    if (ok) {
        memcpy(out, client, n + 1);
        return;
    }
    unsigned char bytes[16];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(bytes, &ts, sizeof bytes < sizeof ts ? sizeof bytes : sizeof ts);
    }
    for (size_t i = 0; i < sizeof bytes && 2 * i + 2 < len; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

void api_log_access(const char *request_id, const char *method, const char *path, int status,
                    double duration_ms, const struct identity *who)
{
    json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:f}", "request_id", request_id, "method",
                          method ? method : "", "path", path ? path : "", "status", status,
                          "duration_ms", duration_ms);
    if (who != NULL && who->role != ROLE_ANONYMOUS) {
        json_object_set_new(f, "role", json_string(auth_role_name(who->role)));
        json_object_set_new(f, "sub", json_string(who->sub));
    }
    log_event(status >= 500 ? LOG_ERROR : LOG_INFO, "request", f);
    json_decref(f);
}

static double elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* Checks the body's size and media type and parses it as JSON into c->body. Returns 0, or -1
 * when a problem was sent. */
static int read_body(struct api_ctx *c)
{
    const char *type = api_header(c, "Content-Type");
    int ok = type != NULL && api_media_type_is(type, "application/json");
    if (c->route->body == BODY_MERGE_PATCH && type != NULL)
        ok |= api_media_type_is(type, "application/merge-patch+json");
    if (!ok) {
        problem_send(c, 415, "send the body as %s",
                     c->route->body == BODY_MERGE_PATCH
                         ? "application/merge-patch+json or application/json"
                         : "application/json");
        return -1;
    }
    if (c->req->binary_body_length == 0) {
        problem_send(c, 400, "a JSON request body is required");
        return -1;
    }
    json_error_t err;
    c->body =
        json_loadb(c->req->binary_body, c->req->binary_body_length, JSON_REJECT_DUPLICATES, &err);
    if (c->body == NULL) {
        problem_send(c, 400, "malformed JSON at line %d, column %d: %s", err.line, err.column,
                     err.text);
        return -1;
    }
    return 0;
}

/* Answers 401 with a WWW-Authenticate challenge (RFC 6750); `error` may be NULL (no token). */
static void unauthorized(struct api_ctx *c, const char *error, const char *why)
{
    char challenge[320];
    if (error == NULL)
        snprintf(challenge, sizeof challenge, "Bearer realm=\"coi\"");
    else
        snprintf(challenge, sizeof challenge,
                 "Bearer realm=\"coi\", error=\"%s\", error_description=\"%s\"", error, why);
    api_set_header(c, "WWW-Authenticate", challenge);
    problem_send(c, 401, "%s", why);
}

/* Organisation codes known to exist. Organisations are never deleted, so once found a code
 * stays valid, and a partner's token is checked against the database only the first time its
 * organisation is seen. (A code not found is asked again each time: it may be added.) */
#define KNOWN_ORGS 1024
static char known_orgs[KNOWN_ORGS][sizeof((struct identity *)0)->org];
static size_t known_org_count;
static pthread_rwlock_t known_orgs_lock = PTHREAD_RWLOCK_INITIALIZER;

static int org_known(const char *code)
{
    int found = 0;
    pthread_rwlock_rdlock(&known_orgs_lock);
    for (size_t i = 0; i < known_org_count && !found; i++)
        found = strcmp(known_orgs[i], code) == 0;
    pthread_rwlock_unlock(&known_orgs_lock);
    return found;
}

static void org_remember(const char *code)
{
    pthread_rwlock_wrlock(&known_orgs_lock);
    if (known_org_count < KNOWN_ORGS && strlen(code) < sizeof known_orgs[0]) {
        int found = 0;
        for (size_t i = 0; i < known_org_count && !found; i++)
            found = strcmp(known_orgs[i], code) == 0;
        if (!found)
            strcpy(known_orgs[known_org_count++], code);
    }
    pthread_rwlock_unlock(&known_orgs_lock);
}

/* Sets c->who from the Authorization header (anonymous without one). Returns 0, or -1 when a
 * problem was sent: 401 for a bad token or one in the query string, 503 when the partner's
 * organisation cannot be looked up. */
static int authenticate(struct api_ctx *c)
{
    const char *header = api_header(c, "Authorization");
    char why[160];

    if (api_query(c, "access_token") != NULL) {
        unauthorized(c, "invalid_request",
                     "tokens are accepted only in the Authorization header, never in the URL");
        return -1;
    }
    if (header == NULL)
        return 0;
    const char *token = auth_bearer_token(header);
    if (token == NULL) {
        unauthorized(c, "invalid_request", "use Authorization: Bearer <token>");
        return -1;
    }
    if (auth_verify(&c->who, c->keys, token, time(NULL), why, sizeof why) != 0) {
        unauthorized(c, "invalid_token", why);
        return -1;
    }
    if (c->who.role == ROLE_PARTNER && !org_known(c->who.org)) {
        json_t *org = NULL;
        int rc = c->storage->organisation_get(c->storage, &org, c->who.org);
        json_decref(org);
        if (rc == COI_OK)
            org_remember(c->who.org);
        if (rc == COI_ENOTFOUND) {
            memset(&c->who, 0, sizeof c->who);
            unauthorized(c, "invalid_token", "the token's org is not a known organisation");
            return -1;
        }
        if (rc != COI_OK) {
            problem_from_error(c, rc);
            return -1;
        }
    }
    return 0;
}

/* Asks the policy whether c->who may call the route: 401 for the anonymous public, 403 for a
 * caller whose role may not. Returns 0 when allowed, -1 when a problem was sent. */
static int authorize(struct api_ctx *c)
{
    const struct policy_rule *rule = policy_find(c->route->method, c->route->path);
    if (policy_allows(rule, &c->who))
        return 0;
    if (c->who.role == ROLE_ANONYMOUS)
        unauthorized(c, NULL, "this request needs a bearer token");
    else
        problem_send(c, 403, "the role %s may not %s %s", auth_role_name(c->who.role),
                     c->route->method, c->route->path);
    return -1;
}

static int finish(struct api_ctx *c, const struct timespec *start)
{
    if (c->status == 0)
        problem_send(c, 500, "the handler sent no response");
    audit_log_record(c);
    /* A write that succeeded is in the change feed now: reading it before the response goes
     * out means the next read through this process no longer sees a cached old version. */
    if (c->status >= 200 && c->status < 300 && strcmp(c->req->http_verb, "GET") != 0 &&
        strcmp(c->req->http_verb, "HEAD") != 0)
        cache_sync_now();
    /* An organisation's region shapes region filters and facets, and is not in the feed. */
    if (c->status >= 200 && c->status < 300 && c->route != NULL &&
        strcmp(c->req->http_verb, "GET") != 0 &&
        strncmp(c->route->path, "/v1/organisations", 17) == 0 &&
        strstr(c->route->path, "/cases") == NULL)
        cache_evict_tag("lists");
    api_log_access(c->request_id, c->req->http_verb, c->req->url_path, c->status, elapsed_ms(start),
                   &c->who);
    api_ctx_clear(c);
    return U_CALLBACK_COMPLETE;
}

static void begin(struct api_ctx *c, const struct _u_request *req, struct _u_response *res,
                  const struct api_runtime *rt)
{
    memset(c, 0, sizeof *c);
    c->req = req;
    c->res = res;
    c->storage = rt->storage;
    c->cfg = rt->cfg;
    c->keys = rt->keys;
    api_request_id(c->request_id, sizeof c->request_id, api_header(c, "X-Request-Id"));
    api_set_header(c, "X-Request-Id", c->request_id);
}

int api_dispatch(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    const struct api_binding *b = user_data;
    struct api_ctx c;
    struct timespec start;

    clock_gettime(CLOCK_MONOTONIC, &start);
    begin(&c, req, res, b->rt);
    c.route = b->route;

    /* ulfius keeps at most (the largest limit) + 1 bytes, so a longer (chunked) body shows
     * here. */
    size_t limit = route_body_limit(c.route, c.cfg);
    if (req->binary_body_length > limit) {
        problem_send(&c, 413, "the request body exceeds %zu bytes", limit);
        return finish(&c, &start);
    }
    if (!route_match_path(c.route, req->url_path, &c)) {
        problem_send(&c, 404, "no resource at this path");
        return finish(&c, &start);
    }
    static const char *const no_parameters[] = {NULL};
    if (!policy_ignores_token(policy_find(c.route->method, c.route->path)) &&
        (api_parse_query(&c, req->http_url) != 0 || authenticate(&c) != 0 || authorize(&c) != 0 ||
         (!c.route->takes_query && api_query_check(&c, no_parameters) != 0)))
        return finish(&c, &start);
    if ((c.route->body == BODY_JSON || c.route->body == BODY_MERGE_PATCH) && read_body(&c) != 0)
        return finish(&c, &start);
    const char *idempotency_key = NULL;
    if (idempotency_begin(&c, &idempotency_key) != 0)
        return finish(&c, &start);
    coi_error_clear();
    c.route->handler(&c);
    idempotency_end(&c, idempotency_key);
    return finish(&c, &start);
}

int api_fallback(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    struct api_ctx c;
    struct timespec start;
    char allow[128] = "";

    clock_gettime(CLOCK_MONOTONIC, &start);
    begin(&c, req, res, user_data);
    for (size_t i = 0; i < route_count; i++) {
        if (!route_match_path(&routes[i], req->url_path, NULL))
            continue;
        if (strstr(allow, routes[i].method) == NULL)
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", routes[i].method);
    }
    if (allow[0] != '\0') {
        api_set_header(&c, "Allow", allow);
        problem_send(&c, 405, "%s is not allowed here; allowed: %s", req->http_verb, allow);
    } else {
        problem_send(&c, 404, "no resource at this path");
    }
    return finish(&c, &start);
}
