/* The route table: one row per operation drives registration, dispatch, `coi routes` and the
 * test that holds the code and openapi/openapi.yaml to the same list. */
#ifndef COI_ROUTES_H
#define COI_ROUTES_H

#include <stddef.h>

#include "api/http.h"

typedef void (*api_handler)(struct api_ctx *c);

enum route_body {
    BODY_NONE,        /* no request body is read */
    BODY_JSON,        /* application/json */
    BODY_MERGE_PATCH, /* application/merge-patch+json or application/json (RFC 7396) */
    BODY_BATCH,       /* a batch (JSON array or NDJSON) that the handler reads from the raw
                         body itself; its size limit is COI_BATCH_MAX_BODY_BYTES */
};

struct route {
    const char *method;
    const char *path; /* OpenAPI form, e.g. "/v1/organisations/{code}" */
    api_handler handler;
    enum route_body body;
    const char *summary;
    int takes_query; /* 1: the handler reads query parameters (and checks them); 0: any query
                        parameter is refused with 422 before the handler runs */
};

extern const struct route routes[];
extern const size_t route_count;

/* 1 when `path` (raw, still percent-encoded) fits the route's template; then, when `c` is not
 * NULL, the decoded template parameters are stored in c->path. A segment that does not decode
 * to valid UTF-8 does not match. */
int route_match_path(const struct route *r, const char *path, struct api_ctx *c);

/* The body size limit of requests to `r` (the batch limit for BODY_BATCH routes). */
struct config;
size_t route_body_limit(const struct route *r, const struct config *cfg);

/* The body size limit of a request for `method` and raw `path`, before routing. */
size_t route_body_limit_for(const char *method, const char *path, const struct config *cfg);

/* The route template in ulfius' form ("/v1/organisations/:code") into buf. */
void route_ulfius_path(const struct route *r, char *buf, size_t len);

/* Prints the table as a JSON array of {method, path, summary} on stdout. */
void routes_print(void);

/* Handlers, one group per file in api/. */
void health_live(struct api_ctx *c);
void health_ready(struct api_ctx *c);
void docs_openapi_json(struct api_ctx *c);
void docs_openapi_yaml(struct api_ctx *c);
void organisations_list(struct api_ctx *c);
void organisations_create(struct api_ctx *c);
void organisations_get(struct api_ctx *c);
void organisations_patch(struct api_ctx *c);
void cases_list(struct api_ctx *c);
void cases_facets(struct api_ctx *c);
void cases_create(struct api_ctx *c);
void cases_get(struct api_ctx *c);
void cases_patch(struct api_ctx *c);
void cases_put_external(struct api_ctx *c);
void cases_batch(struct api_ctx *c);
void case_transitions_create(struct api_ctx *c);
void case_history_list(struct api_ctx *c);
void adoptions_list(struct api_ctx *c);
void adoptions_create(struct api_ctx *c);
void adoptions_get(struct api_ctx *c);
void adoptions_patch(struct api_ctx *c);
void adoptions_delete(struct api_ctx *c);
void evaluations_list(struct api_ctx *c);
void evaluations_get(struct api_ctx *c);
void evaluations_patch(struct api_ctx *c);
void evaluations_delete(struct api_ctx *c);
void case_evaluations_list(struct api_ctx *c);
void case_evaluations_create(struct api_ctx *c);
void evaluation_transitions_create(struct api_ctx *c);
void evaluation_history_list(struct api_ctx *c);
void changes_list(struct api_ctx *c);
void audit_log_list(struct api_ctx *c);

#endif
