/* /healthz (the process answers) and /readyz (the storage answers too). */
#include "api/problem.h"
#include "api/routes.h"

void health_live(struct api_ctx *c)
{
    api_send_json(c, 200, json_pack("{s:s}", "status", "ok"));
}

void health_ready(struct api_ctx *c)
{
    int rc = c->storage->ping(c->storage);
    if (rc != COI_OK) {
        problem_from_error(c, rc == COI_EUNAVAILABLE ? rc : COI_EUNAVAILABLE);
        return;
    }
    api_send_json(c, 200,
                  json_pack("{s:s, s:s}", "status", "ready", "storage", c->storage->backend));
}
