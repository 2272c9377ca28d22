/* The request pipeline against a fake backend that counts calls: refused input never reaches
 * storage, and storage errors become the right statuses. */
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

#include "api/dispatch.h"
#include "auth/token.h"
#include "storage/storage.h"
#include "tests/unit/test.h"

struct fake {
    struct coi_storage base;
    int calls, writes;
    int result;      /* what every operation returns */
    int audits;      /* audit entries written (not counted in calls) */
    char audit[512]; /* the last one: "outcome status type id|detail" */
};

static json_t *fake_record(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "code", "0101", "name", "København",
                     "kind", "municipality", "region_code", "1084", "created_at",
                     "2026-01-01T00:00:00.000Z", "updated_at", "2026-01-01T00:00:00.000Z",
                     "version", (json_int_t)4);
}

static void fake_close(struct coi_storage *s)
{
    (void)s;
}

static int fake_ping(struct coi_storage *s)
{
    struct fake *f = (struct fake *)s;
    f->calls++;
    return f->result;
}

static int fake_migrate(struct coi_storage *s, struct coi_migration_report *out,
                        const struct coi_migration *steps, size_t n, enum coi_migrate_mode mode)
{
    (void)s, (void)out, (void)steps, (void)n, (void)mode;
    return COI_OK;
}

static int fake_list(struct coi_storage *s, json_t **out, const struct coi_org_query *q)
{
    struct fake *f = (struct fake *)s;
    (void)q;
    f->calls++;
    *out = f->result == COI_OK ? json_pack("[o]", fake_record()) : NULL;
    return f->result;
}

static int fake_get(struct coi_storage *s, json_t **out, const char *code)
{
    struct fake *f = (struct fake *)s;
    (void)code;
    f->calls++;
    *out = f->result == COI_OK ? fake_record() : NULL;
    return f->result == COI_OK ? COI_OK : coi_error_set(f->result, NULL, "fake failure");
}

static int fake_create(struct coi_storage *s, json_t **out, const json_t *org)
{
    struct fake *f = (struct fake *)s;
    (void)org;
    f->calls++;
    f->writes++;
    *out = f->result == COI_OK ? fake_record() : NULL;
    return f->result == COI_OK ? COI_OK : coi_error_set(f->result, "region_code", "fake failure");
}

static int fake_update(struct coi_storage *s, json_t **out, const char *code, const json_t *org,
                       int64_t expected_version)
{
    struct fake *f = (struct fake *)s;
    (void)code, (void)org, (void)expected_version;
    f->calls++;
    f->writes++;
    *out = f->result == COI_OK ? fake_record() : NULL;
    return f->result;
}

static int fake_audit_append(struct coi_storage *s, const struct coi_audit_entry *e)
{
    struct fake *f = (struct fake *)s;
    f->audits++;
    snprintf(f->audit, sizeof f->audit, "%s %d %s %s|%s", e->outcome, e->status,
             e->object_type ? e->object_type : "-", e->object_id ? e->object_id : "-",
             e->detail ? e->detail : "-");
    return COI_OK;
}

static struct fake fake_backend(int result)
{
    struct fake f = {.base = {COI_STORAGE_VERSION, "fake", fake_close, fake_ping, fake_migrate,
                              fake_list, fake_get, fake_create, fake_update},
                     .result = result};
    f.base.audit_append = fake_audit_append;
    return f;
}

#define SECRET "unit-test-secret-0123456789abcdefghij"

/* Sends one request through api_dispatch for the route `method path_template`, as an admin;
 * returns the status and copies the body. */
static int call(struct fake *f, const char *method, const char *template, const char *url,
                const char *content_type, const char *body, char *out_body, size_t out_len)
{
    struct config cfg = {.max_body_bytes = 64, .jwt_secret = SECRET};
    struct auth_keys keys;
    char err[128], *token = NULL, bearer[1024];
    struct token_claims admin = {.sub = "unit", .role = "admin", .ttl_seconds = 60};
    if (auth_keys_load(&keys, &cfg, err, sizeof err) != 0 || token_mint(&token, &cfg, &admin) != 0)
        return -1;
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    free(token);
    struct api_runtime rt = {&f->base, &cfg, &keys};
    const struct route *route = NULL;
    for (size_t i = 0; i < route_count; i++)
        if (strcmp(routes[i].method, method) == 0 && strcmp(routes[i].path, template) == 0)
            route = &routes[i];
    if (route == NULL) {
        auth_keys_free(&keys);
        return -1;
    }
    struct api_binding b = {route, &rt};
    struct _u_request req;
    struct _u_response res;
    ulfius_init_request(&req);
    ulfius_init_response(&res);
    req.http_verb = strdup(method);
    req.http_url = strdup(url);
    req.url_path = strndup(url, strcspn(url, "?"));
    u_map_put(req.map_header, "Authorization", bearer);
    if (content_type != NULL)
        u_map_put(req.map_header, "Content-Type", content_type);
    if (body != NULL) {
        req.binary_body = strdup(body);
        req.binary_body_length = strlen(body);
    }
    api_dispatch(&req, &res, &b);
    int status = (int)res.status;
    if (out_body != NULL) {
        size_t n = res.binary_body_length < out_len - 1 ? res.binary_body_length : out_len - 1;
        memcpy(out_body, res.binary_body ? res.binary_body : "", n);
        out_body[n] = '\0';
    }
    CHECK(u_map_get(res.map_header, "X-Request-Id") != NULL);
    ulfius_clean_request(&req);
    ulfius_clean_response(&res);
    auth_keys_free(&keys);
    return status;
}

TEST(dispatch_refused_writes_never_reach_storage)
{
    struct fake f = fake_backend(COI_OK);
    const char *post = "/v1/organisations";
    CHECK_INT(call(&f, "POST", post, post, "text/plain", "{}", NULL, 0), 415);
    CHECK_INT(call(&f, "POST", post, post, NULL, "{}", NULL, 0), 415);
    CHECK_INT(call(&f, "POST", post, post, "application/json", "{\"a\":", NULL, 0), 400);
    CHECK_INT(call(&f, "POST", post, post, "application/json", "{\"a\":1,\"a\":1}", NULL, 0), 400);
    CHECK_INT(call(&f, "POST", post, post, "application/json", "", NULL, 0), 400);
    CHECK_INT(call(&f, "POST", post, post, "application/json", "[1]", NULL, 0), 422);
    CHECK_INT(call(&f, "POST", post, post, "application/json", "{\"code\":1}", NULL, 0), 422);
    /* 65 bytes: one past the limit that ulfius lets through for chunked bodies. */
    char big[66];
    memset(big, ' ', 65);
    big[65] = '\0';
    CHECK_INT(call(&f, "POST", post, post, "application/json", big, NULL, 0), 413);
    CHECK_INT(f.calls, 0);
}

TEST(dispatch_patch_accepts_merge_patch_media_type_and_rejects_others)
{
    struct fake f = fake_backend(COI_OK);
    const char *t = "/v1/organisations/{code}", *u = "/v1/organisations/0101";
    CHECK_INT(
        call(&f, "PATCH", t, u, "application/merge-patch+json", "{\"name\":\"Kbh\"}", NULL, 0),
        200);
    CHECK_INT(
        call(&f, "PATCH", t, u, "application/json; charset=utf-8", "{\"name\":\"Kbh\"}", NULL, 0),
        200);
    CHECK_INT(f.writes, 2);
    CHECK_INT(call(&f, "PATCH", t, u, "application/json; charset=latin1", "{}", NULL, 0), 415);
    CHECK_INT(f.writes, 2);
}

TEST(dispatch_maps_storage_errors_to_statuses)
{
    static const struct {
        int rc, status;
    } cases[] = {{COI_ENOTFOUND, 404}, {COI_EUNAVAILABLE, 503}, {COI_ERROR, 500}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake f = fake_backend(cases[i].rc);
        char body[1024];
        CHECK_INT(call(&f, "GET", "/v1/organisations/{code}", "/v1/organisations/0101", NULL, NULL,
                       body, sizeof body),
                  cases[i].status);
        CHECK(strstr(body, "\"type\":\"urn:problem:coi:") != NULL);
        /* Internal details stay in the log, not in the answer. */
        CHECK(strstr(body, "fake failure") == NULL || cases[i].status == 404);
    }
}

TEST(dispatch_create_conflict_and_invalid_region_statuses)
{
    char body[1024];
    const char *p = "/v1/organisations";
    const char *org = "{\"code\":\"X\",\"name\":\"X\",\"kind\":\"state\"}";
    struct fake exists = fake_backend(COI_EEXISTS);
    CHECK_INT(call(&exists, "POST", p, p, "application/json", org, body, sizeof body), 409);
    struct fake invalid = fake_backend(COI_EINVALID);
    CHECK_INT(call(&invalid, "POST", p, p, "application/json", org, body, sizeof body), 422);
    CHECK(strstr(body, "\"field\":\"region_code\"") != NULL);
}

TEST(dispatch_list_rejects_bad_query_without_storage_call)
{
    struct fake f = fake_backend(COI_OK);
    const char *t = "/v1/organisations";
    const char *bad[] = {"?limit=0",         "?limit=201", "?limit=x",
                         "?kind=city",       "?foo=1",     "?kind=region&kind=region",
                         "?cursor=abc",      "?q=%FF",     "?q=%00",
                         "?region_code=../x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char url[128];
        snprintf(url, sizeof url, "%s%s", t, bad[i]);
        int status = call(&f, "GET", t, url, NULL, NULL, NULL, 0);
        CHECK(status == 422 || status == 400);
    }
    CHECK_INT(f.calls, 0);
    CHECK_INT(call(&f, "GET", t, "/v1/organisations?limit=200&kind=region", NULL, NULL, NULL, 0),
              200);
    CHECK_INT(f.calls, 1);
}

TEST(dispatch_writes_one_audit_entry_per_write_and_none_per_read)
{
    struct fake f = fake_backend(COI_OK);
    const char *p = "/v1/organisations", *t = "/v1/organisations/{code}";
    const char *org = "{\"code\":\"X\",\"name\":\"X\",\"kind\":\"state\"}";
    CHECK_INT(call(&f, "POST", p, p, "application/json", org, NULL, 0), 201);
    CHECK_INT(f.audits, 1);
    CHECK_STR(f.audit, "succeeded 201 organisation 0101|-"); /* the created record's code */
    CHECK_INT(call(&f, "PATCH", t, "/v1/organisations/0147", "application/json", "{}", NULL, 0),
              200);
    CHECK_STR(f.audit, "succeeded 200 organisation 0147|-");
    CHECK_INT(call(&f, "POST", p, p, "text/plain", "{}", NULL, 0), 415);
    CHECK_STR(f.audit, "failed 415 organisation -|send the body as application/json");
    CHECK_INT(call(&f, "GET", t, "/v1/organisations/0101", NULL, NULL, NULL, 0), 200);
    CHECK_INT(f.audits, 3);
}
