/* The request pipeline that every route runs: guard -> parse -> handler -> log. */
#ifndef COI_DISPATCH_H
#define COI_DISPATCH_H

#include <ulfius.h>

#include "api/config.h"
#include "api/routes.h"
#include "auth/verify.h"
#include "storage/storage.h"

/* What every request needs from the running service. */
struct api_runtime {
    struct coi_storage *storage;
    const struct config *cfg;
    const struct auth_keys *keys;
};

/* The user data of one registered ulfius endpoint. */
struct api_binding {
    const struct route *route;
    const struct api_runtime *rt;
};

/* ulfius callback for a route (user_data: struct api_binding *). Always completes. */
int api_dispatch(const struct _u_request *req, struct _u_response *res, void *user_data);

/* ulfius default endpoint (user_data: struct api_runtime *): 405 with Allow when the path
 * exists under another method, else 404. */
int api_fallback(const struct _u_request *req, struct _u_response *res, void *user_data);

/* Copies the client's X-Request-Id when it is 1..128 of [A-Za-z0-9._-], else makes a new
 * random one (32 hex digits). `out` holds at least 129 bytes. */
void api_request_id(char *out, size_t len, const char *client);

/* Logs the access line {request_id, method, path, status, duration_ms, role, sub}; `who` may
 * be NULL (before authentication). */
void api_log_access(const char *request_id, const char *method, const char *path, int status,
                    double duration_ms, const struct identity *who);

#endif
