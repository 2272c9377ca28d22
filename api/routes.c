/* The route table and path-template matching. */
#include "api/routes.h"

#include "api/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct route routes[] = {
    {"GET", "/healthz", health_live, BODY_NONE, "Liveness: the process is up", 0},
    {"GET", "/readyz", health_ready, BODY_NONE, "Readiness: storage is reachable", 0},
    {"GET", "/openapi.json", docs_openapi_json, BODY_NONE, "This API's OpenAPI document (JSON)", 0},
    {"GET", "/openapi.yaml", docs_openapi_yaml, BODY_NONE, "This API's OpenAPI document (YAML)", 0},
    {"GET", "/v1/organisations", organisations_list, BODY_NONE, "List organisations", 1},
    {"POST", "/v1/organisations", organisations_create, BODY_JSON, "Add an organisation", 0},
    {"GET", "/v1/organisations/{code}", organisations_get, BODY_NONE, "Get one organisation", 0},
    {"PATCH", "/v1/organisations/{code}", organisations_patch, BODY_MERGE_PATCH,
     "Correct an organisation (JSON Merge Patch)", 0},
    {"GET", "/v1/cases", cases_list, BODY_NONE, "List the cases the caller may see", 1},
    {"POST", "/v1/cases", cases_create, BODY_JSON, "Create a case (as a draft)", 0},
    {"GET", "/v1/cases/facets", cases_facets, BODY_NONE,
     "Counts of matching cases per innovation type, sector, level, region, status and effect", 1},
    {"GET", "/v1/cases/{id}", cases_get, BODY_NONE, "Get one case", 0},
    {"PATCH", "/v1/cases/{id}", cases_patch, BODY_MERGE_PATCH, "Edit a case (JSON Merge Patch)", 0},
    {"PUT", "/v1/organisations/{code}/cases/{external_id}", cases_put_external, BODY_JSON,
     "Create or replace a case by the partner system's own key", 0},
    {"POST", "/v1/organisations/{code}/cases:batch", cases_batch, BODY_BATCH,
     "Create or replace many cases by the partner system's own keys", 0},
    {"POST", "/v1/cases/{id}/transitions", case_transitions_create, BODY_JSON,
     "Move a case through the review workflow", 0},
    {"GET", "/v1/cases/{id}/history", case_history_list, BODY_NONE,
     "Every change of a case, newest first", 1},
    {"GET", "/v1/cases/{id}/adoptions", adoptions_list, BODY_NONE,
     "The organisations that took a case up", 1},
    {"POST", "/v1/cases/{id}/adoptions", adoptions_create, BODY_JSON,
     "Record that an organisation takes a case up", 0},
    {"GET", "/v1/adoptions/{id}", adoptions_get, BODY_NONE, "Get one adoption", 0},
    {"PATCH", "/v1/adoptions/{id}", adoptions_patch, BODY_MERGE_PATCH,
     "Update an adoption (JSON Merge Patch)", 0},
    {"DELETE", "/v1/adoptions/{id}", adoptions_delete, BODY_NONE, "Remove an adoption", 0},
    {"GET", "/v1/evaluations", evaluations_list, BODY_NONE,
     "List the evaluations the caller may see", 1},
    {"GET", "/v1/evaluations/{id}", evaluations_get, BODY_NONE, "Get one evaluation", 0},
    {"PATCH", "/v1/evaluations/{id}", evaluations_patch, BODY_MERGE_PATCH,
     "Edit an evaluation (JSON Merge Patch)", 0},
    {"DELETE", "/v1/evaluations/{id}", evaluations_delete, BODY_NONE, "Remove an evaluation", 0},
    {"GET", "/v1/cases/{id}/evaluations", case_evaluations_list, BODY_NONE,
     "The evaluations of a case", 1},
    {"POST", "/v1/cases/{id}/evaluations", case_evaluations_create, BODY_JSON,
     "Add an evaluation to a case (as a draft)", 0},
    {"POST", "/v1/evaluations/{id}/transitions", evaluation_transitions_create, BODY_JSON,
     "Move an evaluation through the review workflow", 0},
    {"GET", "/v1/evaluations/{id}/history", evaluation_history_list, BODY_NONE,
     "Every change of an evaluation, newest first", 1},
    {"GET", "/v1/changes", changes_list, BODY_NONE,
     "What changed since a cursor: cases, evaluations and adoptions, oldest first", 1},
    {"GET", "/v1/audit", audit_log_list, BODY_NONE, "The audit log of write requests, newest first",
     1},
};
const size_t route_count = sizeof routes / sizeof routes[0];

size_t route_body_limit(const struct route *r, const struct config *cfg)
{
    return r->body == BODY_BATCH ? cfg->batch_max_body_bytes : cfg->max_body_bytes;
}

size_t route_body_limit_for(const char *method, const char *path, const struct config *cfg)
{
    for (size_t i = 0; i < route_count; i++)
        if (routes[i].body == BODY_BATCH && strcmp(routes[i].method, method) == 0 &&
            route_match_path(&routes[i], path, NULL))
            return cfg->batch_max_body_bytes;
    return cfg->max_body_bytes;
}

int route_match_path(const struct route *r, const char *path, struct api_ctx *c)
{
    const char *t = r->path, *p = path;
    size_t captured = 0;

    while (*t != '\0' && *p != '\0') {
        if (*t != '/' || *p != '/')
            return 0;
        t++, p++;
        size_t tlen = strcspn(t, "/"), plen = strcspn(p, "/");
        if (t[0] == '{') {
            if (plen == 0 || captured == API_MAX_PATH_PARAMS)
                return 0;
            char *value = api_percent_decode(p, plen, 0);
            if (value == NULL)
                return 0;
            if (c != NULL) {
                c->path[captured].name = strndup(t + 1, tlen - 2);
                c->path[captured].value = value;
                c->path_count = ++captured;
            } else {
                free(value);
                captured++;
            }
        } else if (tlen != plen || strncmp(t, p, tlen) != 0) {
            return 0;
        }
        t += tlen, p += plen;
    }
    return *t == '\0' && *p == '\0';
}

void route_ulfius_path(const struct route *r, char *buf, size_t len)
{
    size_t n = 0;
    for (const char *t = r->path; *t != '\0' && n + 1 < len; t++) {
        if (*t == '{')
            buf[n++] = ':';
        else if (*t != '}')
            buf[n++] = *t;
    }
    buf[n] = '\0';
}

void routes_print(void)
{
    json_t *list = json_array();
    for (size_t i = 0; i < route_count; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "method", routes[i].method, "path",
                                              routes[i].path, "summary", routes[i].summary));
    json_dumpf(list, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(list);
}
