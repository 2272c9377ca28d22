/* /openapi.json and /openapi.yaml: the API's contract, compiled into the binary. */
#include <string.h>

#include "api/routes.h"
#include "storage/embedded.h"

static void send_document(struct api_ctx *c, const char *path, const char *content_type)
{
    const struct coi_embedded_file *f = coi_embedded_find(path);
    ulfius_set_binary_body_response(c->res, 200, f->data, f->length);
    api_set_header(c, "Content-Type", content_type);
    api_set_header(c, "Cache-Control", "public, max-age=300");
    c->status = 200;
}

void docs_openapi_json(struct api_ctx *c)
{
    send_document(c, "openapi/openapi.json", "application/json");
}

void docs_openapi_yaml(struct api_ctx *c)
{
    send_document(c, "openapi/openapi.yaml", "application/yaml");
}
