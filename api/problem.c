/* RFC 9457 problem+json responses and the mapping from error codes to HTTP statuses. */
#include "api/problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/http.h"
#include "api/log.h"
#include "storage/error.h"

struct problem_kind {
    int status;
    const char *slug;
    const char *title;
};

static const struct problem_kind kinds[] = {
    {400, "bad-request", "Bad request"},
    {401, "unauthorized", "Authentication required"},
    {403, "forbidden", "Forbidden"},
    {404, "not-found", "Not found"},
    {405, "method-not-allowed", "Method not allowed"},
    {409, "conflict", "Conflict"},
    {412, "precondition-failed", "Precondition failed"},
    {413, "payload-too-large", "Payload too large"},
    {415, "unsupported-media-type", "Unsupported media type"},
    {422, "validation", "Validation failed"},
    {422, "idempotency-key-reused", "Idempotency key reused"},
    {503, "unavailable", "Service unavailable"},
    {500, "internal", "Internal server error"},
};

static const struct problem_kind *kind_for(int status)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].status == status)
            return &kinds[i];
    return &kinds[sizeof kinds / sizeof kinds[0] - 1];
}

static json_t *kind_body(const struct problem_kind *k, int status, const char *detail,
                         const char *instance, const char *request_id)
{
    char type[96];
    snprintf(type, sizeof type, "urn:problem:coi:%s", k->slug);
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", k->title, "status", status,
                          "detail", detail ? detail : k->title);
    if (p != NULL && instance != NULL)
        json_object_set_new(p, "instance", json_string(instance));
    if (p != NULL && request_id != NULL)
        json_object_set_new(p, "request_id", json_string(request_id));
    return p;
}

json_t *problem_body(int status, const char *detail, const char *instance, const char *request_id)
{
    return kind_body(kind_for(status), status, detail, instance, request_id);
}

static json_t *context_problem(struct api_ctx *c, int status, const char *detail)
{
    return problem_body(status, detail, c->req->url_path, c->request_id);
}

void problem_send(struct api_ctx *c, int status, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (status == 503)
        api_set_header(c, "Retry-After", "1");
    problem_send_json(c, status, context_problem(c, status, detail));
}

void problem_send_kind(struct api_ctx *c, const char *slug, const char *fmt, ...)
{
    const struct problem_kind *k = &kinds[sizeof kinds / sizeof kinds[0] - 1];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].slug, slug) == 0)
            k = &kinds[i];
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    problem_send_json(c, k->status,
                      kind_body(k, k->status, detail, c->req->url_path, c->request_id));
}

void problem_send_errors(struct api_ctx *c, json_t *errors, const char *detail)
{
    json_t *p = context_problem(c, 422, detail);
    json_object_set_new(p, "errors", errors);
    problem_send_json(c, 422, p);
}

void problem_add_error(json_t *errors, const char *field, const char *fmt, ...)
{
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", message));
}

int problem_status_for_error(int rc)
{
    switch (rc) {
    case COI_ENOTFOUND:
        return 404;
    case COI_EEXISTS:
        return 409;
    case COI_EINVALID:
        return 422;
    case COI_ECONFLICT:
        return 412;
    case COI_EUNAVAILABLE:
        return 503;
    default:
        return 500;
    }
}

void problem_from_error(struct api_ctx *c, int rc)
{
    int status = problem_status_for_error(rc);
    const char *detail = coi_error_detail();
    const char *field = coi_error_field();

    if (status == 500) {
        json_t *f = json_pack("{s:s, s:s, s:s}", "request_id", c->request_id, "error",
                              coi_error_name(rc), "detail", detail);
        log_event(LOG_ERROR, "request failed", f);
        json_decref(f);
        problem_send(c, 500, "an internal error occurred; quote the request id when reporting it");
        return;
    }
    if (status == 503) {
        json_t *f = json_pack("{s:s, s:s}", "request_id", c->request_id, "detail", detail);
        log_event(LOG_WARN, "storage unavailable", f);
        json_decref(f);
        problem_send(c, 503, "storage is unavailable; retry shortly");
        return;
    }
    if (status == 422) {
        json_t *errors = json_array();
        problem_add_error(errors, field ? field : "", "%s", detail);
        problem_send_errors(c, errors, detail);
        return;
    }
    if (status == 412) {
        problem_send(c, 412, "the resource has changed since the given ETag; fetch it again");
        return;
    }
    problem_send(c, status, "%s", detail);
}
