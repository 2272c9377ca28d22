/* /v1/audit: the audit log of write requests, and the entry each one leaves. */
#include "api/audit.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/cursor.h"
#include "api/log.h"
#include "api/problem.h"
#include "api/routes.h"
#include "api/validate.h"

/* The collections of the route paths: the object type each names and the field that
 * identifies one of its objects (in the path after it, or in a created object). */
static const struct {
    const char *segment, *type, *id_field;
} collections[] = {
    {"organisations", "organisation", "code"},
    {"cases", "case", "id"},
    {"cases:batch", "case", NULL},
    {"adoptions", "adoption", "id"},
    {"evaluations", "evaluation", "id"},
};

/* What a route writes: the object type of its last collection, and where the object's id is:
 * the path parameter right after that collection, else the response body's field (a create). */
struct audited_object {
    const char *type;
    const char *path_param;
    const char *body_field;
};

static struct audited_object audited_object(const char *template)
{
    struct audited_object o = {0};
    int after_collection = 0;
    for (const char *p = template; *p == '/';) {
        p++;
        size_t n = strcspn(p, "/");
        int known = 0;
        if (p[0] == '{') {
            if (after_collection && o.body_field != NULL && n == strlen(o.body_field) + 2 &&
                strncmp(p + 1, o.body_field, n - 2) == 0) {
                o.path_param = o.body_field;
                o.body_field = NULL;
            }
        } else {
            for (size_t i = 0; i < sizeof collections / sizeof collections[0]; i++) {
                if (strlen(collections[i].segment) == n &&
                    strncmp(p, collections[i].segment, n) == 0) {
                    o = (struct audited_object){collections[i].type, NULL, collections[i].id_field};
                    known = 1;
                }
            }
        }
        after_collection = known;
        p += n;
    }
    return o;
}

static int media_type_starts(const char *header, const char *type)
{
    return header != NULL && strncasecmp(header, type, strlen(type)) == 0;
}

/* The summary line of a batch answer, read from its "summary" member alone (the items are not
 * parsed). The key cannot occur elsewhere unescaped: strings escape their quotes. */
static void batch_summary(char *out, size_t len, const struct _u_response *res)
{
    static const char key[] = "\"summary\":";
    const char *body = res->binary_body;
    const char *at = body ? memmem(body, res->binary_body_length, key, sizeof key - 1) : NULL;
    out[0] = '\0';
    if (at == NULL)
        return;
    at += sizeof key - 1;
    json_t *s =
        json_loadb(at, res->binary_body_length - (size_t)(at - body), JSON_DISABLE_EOF_CHECK, NULL);
    if (json_is_object(s))
        snprintf(out, len, "created %lld, updated %lld, unchanged %lld, error %lld",
                 (long long)json_integer_value(json_object_get(s, "created")),
                 (long long)json_integer_value(json_object_get(s, "updated")),
                 (long long)json_integer_value(json_object_get(s, "unchanged")),
                 (long long)json_integer_value(json_object_get(s, "error")));
    json_decref(s);
}

static const char *outcome_of(int status)
{
    if (status >= 200 && status < 300)
        return "succeeded";
    return status == 401 || status == 403 ? "refused" : "failed";
}

static const char *nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

void audit_log_record(struct api_ctx *c)
{
    const char *method = c->req->http_verb;
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return;
    int trusted = c->who.role != ROLE_ANONYMOUS && c->status != 401;
    if (!trusted && !(c->status == 401 && api_header(c, "Authorization") != NULL))
        return;

    struct audited_object o =
        c->route ? audited_object(c->route->path) : (struct audited_object){0};
    const char *type = u_map_get_case(c->res->map_header, "Content-Type");
    int ok = c->status >= 200 && c->status < 300;
    json_t *answer = NULL;
    char summary[160] = "";
    const char *detail = NULL, *object_id = o.path_param ? api_path_param(c, o.path_param) : NULL;

    /* The answer is parsed only when it says something the entry needs: a problem's detail or
     * a created object's id. */
    if ((!ok && media_type_starts(type, "application/problem+json")) ||
        (ok && o.body_field != NULL && media_type_starts(type, "application/json")))
        answer = json_loadb(c->res->binary_body, c->res->binary_body_length, 0, NULL);
    if (!ok)
        detail = json_string_value(json_object_get(answer, "detail"));
    else if (o.body_field != NULL)
        object_id = json_string_value(json_object_get(answer, o.body_field));
    else if (c->route != NULL && c->route->body == BODY_BATCH) {
        batch_summary(summary, sizeof summary, c->res);
        detail = nonempty(summary);
    }

    struct coi_audit_entry e = {
        .request_id = c->request_id,
        .sub = trusted ? nonempty(c->who.sub) : NULL,
        .role = trusted ? auth_role_name(c->who.role) : NULL,
        .party = trusted ? nonempty(c->who.party) : NULL,
        .org = trusted ? nonempty(c->who.org) : NULL,
        .method = method,
        .path = c->req->url_path,
        .status = c->status,
        .outcome = outcome_of(c->status),
        .object_type = o.type,
        .object_id = object_id,
        .detail = detail,
    };
    int rc = c->storage->audit_append(c->storage, &e);
    if (rc != COI_OK) {
        json_t *f = json_pack("{s:s, s:s, s:s}", "request_id", c->request_id, "error",
                              coi_error_name(rc), "detail", coi_error_detail());
        log_event(LOG_WARN, "audit entry not written", f);
        json_decref(f);
    }
    json_decref(answer);
}

void audit_log_list(struct api_ctx *c)
{
    static const char *const allowed[] = {"sub", "object_id", "outcome", "limit", "cursor", NULL};
    static const char *const outcomes[] = {"succeeded", "refused", "failed", NULL};
    json_t *errors = json_array(), *params = json_object(), *before = NULL, *items = NULL;
    struct coi_audit_query q = {0};
    int limit;

    if (api_query_check(c, allowed) != 0)
        goto out;
    static const char *const filters[] = {"sub", "object_id", "outcome"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = api_query(c, filters[i]);
        json_object_set_new(params, filters[i], v ? json_string(v) : json_null());
    }
    q.sub = validate_text(errors, params, "sub", 1, 255, 0);
    q.object_id = validate_text(errors, params, "object_id", 1, 255, 0);
    q.outcome = validate_enum(errors, params, "outcome", outcomes, 0);
    validate_limit(errors, api_query(c, "limit"), 50, 200, &limit);

    char fingerprint[17];
    const char *bound[] = {api_query(c, "sub"), api_query(c, "object_id"), api_query(c, "outcome")};
    cursor_fingerprint(fingerprint, bound, 3);
    cursor_take(&before, errors, api_query(c, "cursor"), fingerprint, JSON_INTEGER);
    if (before != NULL && json_integer_value(before) < 1)
        problem_add_error(errors, "cursor", "the cursor is not one this API issued");
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the query string has errors");
        goto out;
    }
    q.before_seq = json_integer_value(before);
    q.limit = limit + 1; /* one more than asked tells whether a next page exists */
    int rc = c->storage->audit_list(c->storage, &items, &q);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    char token[256];
    const char *next = cursor_next_page(token, sizeof token, items, limit, "seq", fingerprint);
    api_send_page(c, json_incref(items), next);
out:
    json_decref(items);
    json_decref(before);
    json_decref(params);
    json_decref(errors);
}
