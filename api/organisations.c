/* /v1/organisations: municipalities, regions, state bodies and other institutions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/cursor.h"
#include "api/problem.h"
#include "api/routes.h"
#include "api/validate.h"

static const char *const kinds[] = {"municipality", "region", "state", "other", NULL};
static const char *const writable[] = {"code", "name", "kind", "region_code", NULL};
static const char *const read_only[] = {"created_at", "updated_at", NULL};

/* Checks a complete organisation {code, name, kind, region_code} and the rules between its
 * fields. Errors go to `errors`. */
static void check_organisation(json_t *errors, const json_t *org)
{
    validate_code(errors, org, "code", 1, 0);
    validate_text(errors, org, "name", 1, 200, 1);
    const char *kind = validate_enum(errors, org, "kind", kinds, 1);
    json_t *region = json_object_get(org, "region_code");
    int has_region = region != NULL && !json_is_null(region);
    validate_code(errors, org, "region_code", 0, 1);
    if (kind != NULL && strcmp(kind, "municipality") == 0 && !has_region)
        problem_add_error(errors, "region_code", "is required for a municipality");
    if (kind != NULL && strcmp(kind, "region") == 0 && has_region)
        problem_add_error(errors, "region_code", "must be null for a region");
}

/* Sends a record (stolen) with its ETag; the storage's version is not part of it. */
static void send_record(struct api_ctx *c, int status, json_t *record)
{
    api_record_take_version(record);
    api_send_resource(c, status, record);
}

void organisations_list(struct api_ctx *c)
{
    static const char *const allowed[] = {"kind", "region_code", "q", "limit", "cursor", NULL};
    json_t *errors = json_array(), *after = NULL, *items = NULL, *params = json_object();
    struct coi_org_query q = {0};
    int limit;

    if (api_query_check(c, allowed) != 0)
        goto out;
    q.kind = api_query(c, "kind");
    q.region_code = api_query(c, "region_code");
    q.name_contains = api_query(c, "q");
    json_object_set_new(params, "kind", q.kind ? json_string(q.kind) : json_null());
    json_object_set_new(params, "region_code",
                        q.region_code ? json_string(q.region_code) : json_null());
    json_object_set_new(params, "q", q.name_contains ? json_string(q.name_contains) : json_null());
    validate_enum(errors, params, "kind", kinds, 0);
    validate_code(errors, params, "region_code", 0, 1);
    validate_text(errors, params, "q", 1, 200, 0);
    validate_limit(errors, api_query(c, "limit"), 50, 200, &limit);

    char fingerprint[17];
    const char *filters[] = {q.kind, q.region_code, q.name_contains};
    cursor_fingerprint(fingerprint, filters, 3);
    const char *cursor = api_query(c, "cursor");
    if (cursor != NULL) {
        if (cursor_decode(&after, cursor, fingerprint) != COI_OK ||
            !validate_is_code(json_string_value(after)))
            problem_add_error(errors, "cursor", "%s",
                              after ? "the cursor is not one this API issued" : coi_error_detail());
        else
            q.after_code = json_string_value(after);
    }
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the query string has errors");
        goto out;
    }

    q.limit = limit + 1; /* one more than asked tells whether a next page exists */
    int rc = c->storage->organisation_list(c->storage, &items, &q);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    char token[512];
    const char *next = cursor_next_page(token, sizeof token, items, limit, "code", fingerprint);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) api_record_take_version(item);
    api_send_page(c, json_incref(items), next);
out:
    json_decref(items);
    json_decref(after);
    json_decref(params);
    json_decref(errors);
}

void organisations_get(struct api_ctx *c)
{
    json_t *record = NULL;
    const char *code = api_path_param(c, "code");
    int rc = validate_is_code(code)
                 ? c->storage->organisation_get(c->storage, &record, code)
                 : coi_error_set(COI_ENOTFOUND, NULL, "no organisation with code %s", code);
    if (rc == COI_ENOTFOUND)
        coi_error_set(COI_ENOTFOUND, NULL, "no organisation with code %s", code);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        return;
    }
    api_record_take_version(record);
    if (api_not_modified(c, record)) {
        json_decref(record);
        return;
    }
    api_send_resource(c, 200, record);
}

void organisations_create(struct api_ctx *c)
{
    json_t *errors = json_array(), *record = NULL;

    if (!json_is_object(c->body)) {
        problem_add_error(errors, "", "the body must be a JSON object");
    } else {
        validate_fields(errors, c->body, writable, read_only);
        check_organisation(errors, c->body);
    }
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, errors, "the organisation has errors");
        return;
    }
    json_decref(errors);
    int rc = c->storage->organisation_create(c->storage, &record, c->body);
    if (rc == COI_EEXISTS)
        coi_error_set(rc, "code", "an organisation with code %s exists",
                      json_string_value(json_object_get(c->body, "code")));
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        return;
    }
    char location[128] = "/v1/organisations/";
    api_percent_encode(location, sizeof location,
                       json_string_value(json_object_get(record, "code")));
    api_set_header(c, "Location", location);
    send_record(c, 201, record);
}

/* Applies the merge patch to `current` (both objects): a new object holding only the writable
 * fields, with patched values. Fields the patch may not touch are reported in `errors` and
 * left as they were, so that the caller's checks of the result report every other field. */
static json_t *merge(json_t *errors, const json_t *current, const json_t *patch)
{
    const char *key;
    json_t *value;
    json_t *doc = json_object();
    for (const char *const *w = writable; *w != NULL; w++)
        json_object_set(doc, *w, json_object_get(current, *w));

    validate_fields(errors, patch, writable, read_only);
    json_object_foreach((json_t *)patch, key, value)
    {
        if (!validate_in(key, writable))
            continue;
        if (strcmp(key, "code") == 0 && !json_equal(value, json_object_get(current, "code"))) {
            problem_add_error(errors, "code", "cannot be changed");
            continue;
        }
        if (json_is_null(value) && strcmp(key, "region_code") != 0) {
            problem_add_error(errors, key, "cannot be removed");
            continue;
        }
        json_object_set(doc, key, value);
    }
    return doc;
}

/* A region whose kind changes must have no member organisations left (they would point at a
 * non-region). Appends the error; returns a storage error code when the check itself fails. */
static int check_region_kept(struct api_ctx *c, json_t *errors, const json_t *current,
                             const json_t *doc)
{
    const char *was = json_string_value(json_object_get(current, "kind"));
    const char *now = json_string_value(json_object_get(doc, "kind"));
    if (was == NULL || now == NULL || strcmp(was, "region") != 0 || strcmp(now, "region") == 0)
        return COI_OK;
    json_t *members = NULL;
    struct coi_org_query q = {.region_code = json_string_value(json_object_get(current, "code")),
                              .limit = 1};
    int rc = c->storage->organisation_list(c->storage, &members, &q);
    if (rc == COI_OK && json_array_size(members) > 0)
        problem_add_error(errors, "kind",
                          "cannot change while organisations belong to this region");
    json_decref(members);
    return rc;
}

void organisations_patch(struct api_ctx *c)
{
    const char *code = api_path_param(c, "code");
    const char *if_match = api_header(c, "If-Match");
    json_t *current = NULL, *doc = NULL, *record = NULL, *errors = NULL;
    int rc = COI_ENOTFOUND;

    if (!json_is_object(c->body)) {
        errors = json_array();
        problem_add_error(errors, "", "a merge patch must be a JSON object");
        problem_send_errors(c, errors, "the patch has errors");
        return;
    }
    /* Read, merge, write with the version read; a concurrent writer makes the write fail with
     * ECONFLICT, and without If-Match the merge is simply redone on the newer state. */
    for (int attempt = 0; attempt < 3; attempt++) {
        json_decref(current);
        json_decref(doc);
        json_decref(errors);
        current = doc = NULL;
        errors = json_array();
        rc = validate_is_code(code) ? c->storage->organisation_get(c->storage, &current, code)
                                    : COI_ENOTFOUND;
        if (rc != COI_OK)
            break;
        int64_t version = api_record_take_version(current);
        if (!api_if_match_holds(c, current)) {
            rc = COI_ECONFLICT;
            break;
        }
        doc = merge(errors, current, c->body);
        check_organisation(errors, doc);
        if ((rc = check_region_kept(c, errors, current, doc)) != COI_OK)
            break;
        if (json_array_size(errors) > 0) {
            problem_send_errors(c, json_incref(errors), "the patch has errors");
            goto out;
        }
        rc = c->storage->organisation_update(c->storage, &record, code, doc, version);
        if (rc != COI_ECONFLICT || if_match != NULL)
            break;
    }
    if (rc == COI_ENOTFOUND)
        coi_error_set(rc, NULL, "no organisation with code %s", code);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    send_record(c, 200, record);
out:
    json_decref(current);
    json_decref(doc);
    json_decref(errors);
}
