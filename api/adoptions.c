/* Adoptions: organisations taking a case up (/v1/cases/{id}/adoptions, /v1/adoptions/{id}). */
#include <stdio.h>
#include <string.h>

#include "api/cases.h"
#include "api/cursor.h"
#include "api/problem.h"
#include "api/routes.h"
#include "api/validate.h"
#include "auth/policy.h"

static const char *const adoption_statuses[] = {"considering", "adapting", "implemented",
                                                "discontinued", NULL};
static const char *const writable[] = {"organisation_code", "status", "started_on", "notes", NULL};
static const char *const read_only[] = {"id",         "case_id",    "version",
                                        "created_at", "updated_at", NULL};

/* The shown adoption, fields in the contract's order (new reference). */
static json_t *present(const json_t *record)
{
    json_t *out = json_object();
    static const char *const order[] = {"id",         "case_id",    "organisation_code",
                                        "status",     "started_on", "notes",
                                        "created_at", "updated_at", NULL};
    for (const char *const *f = order; *f != NULL; f++) {
        json_t *v = json_object_get(record, *f);
        json_object_set(out, *f, v ? v : json_null());
    }
    return out;
}

static void check(json_t *errors, const json_t *doc)
{
    validate_code(errors, doc, "organisation_code", 1, 0);
    validate_enum(errors, doc, "status", adoption_statuses, 1);
    validate_date(errors, doc, "started_on", 0);
    validate_prose(errors, doc, "notes", 5000);
}

/* Loads adoption `id` and its case when the caller may see the case; else sends 404. */
static int load_visible(struct api_ctx *c, json_t **out, json_t **out_case, const char *id)
{
    json_t *record = NULL;
    int rc = id != NULL && strlen(id) == 36 ? c->storage->adoption_get(c->storage, &record, id)
                                            : COI_ENOTFOUND;
    if (rc == COI_ENOTFOUND)
        coi_error_set(rc, NULL, "no adoption with id %s", id ? id : "");
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        return -1;
    }
    /* An adoption of a case the caller may not see does not exist for them either. */
    json_t *kase = NULL;
    if (case_load_visible(c, &kase, json_string_value(json_object_get(record, "case_id"))) != 0) {
        json_decref(record);
        return -1;
    }
    *out = record;
    *out_case = kase;
    return 0;
}

void adoptions_create(struct api_ctx *c)
{
    json_t *errors = json_array(), *kase = NULL, *doc = NULL, *record = NULL;
    const char *case_id = api_path_param(c, "id");

    if (case_load_visible(c, &kase, case_id) != 0)
        goto out;
    if (!json_is_object(c->body)) {
        problem_add_error(errors, "", "the body must be a JSON object");
        problem_send_errors(c, json_incref(errors), "the adoption has errors");
        goto out;
    }
    validate_fields(errors, c->body, writable, read_only);
    doc = json_deep_copy(c->body);
    json_t *org = json_object_get(doc, "organisation_code");
    if (c->who.role == ROLE_PARTNER) {
        if (org == NULL || json_is_null(org))
            json_object_set_new(doc, "organisation_code", json_string(c->who.org));
        else if (!json_is_string(org) || strcmp(json_string_value(org), c->who.org) != 0)
            problem_add_error(errors, "organisation_code",
                              "a partner records adoptions for its own organisation (%s) only",
                              c->who.org);
    }
    check(errors, doc);
    const char *code = json_string_value(json_object_get(doc, "organisation_code"));
    json_t *partner;
    size_t i;
    int runs = code != NULL && json_equal(json_object_get(doc, "organisation_code"),
                                          json_object_get(kase, "organisation_code"));
    json_array_foreach(json_object_get(kase, "partner_organisation_codes"), i, partner) runs |=
        code != NULL && json_equal(json_object_get(doc, "organisation_code"), partner);
    if (runs)
        problem_add_error(errors, "organisation_code",
                          "%s runs the case already (as its lead or a partner)", code);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the adoption has errors");
        goto out;
    }
    if (!policy_may_write_adoption(&c->who, code)) {
        problem_send(c, 403, "the role %s may not record adoptions", auth_role_name(c->who.role));
        goto out;
    }
    int rc = c->storage->adoption_create(c->storage, &record, case_id, doc);
    if (rc == COI_EEXISTS)
        coi_error_set(rc, "organisation_code", "%s has already taken this case up", code);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    char location[64];
    snprintf(location, sizeof location, "/v1/adoptions/%s",
             json_string_value(json_object_get(record, "id")));
    api_set_header(c, "Location", location);
    api_send_resource(c, 201, present(record));
out:
    json_decref(errors);
    json_decref(kase);
    json_decref(doc);
    json_decref(record);
}

void adoptions_list(struct api_ctx *c)
{
    static const char *const allowed[] = {"limit", "cursor", NULL};
    const char *case_id = api_path_param(c, "id");
    json_t *errors = json_array(), *kase = NULL, *items = NULL, *after = NULL;
    const char *after_id = NULL;
    int limit;

    if (api_query_check(c, allowed) != 0 || case_load_visible(c, &kase, case_id) != 0)
        goto out;
    validate_limit(errors, api_query(c, "limit"), 50, 200, &limit);
    char fingerprint[17];
    const char *bound[] = {case_id};
    cursor_fingerprint(fingerprint, bound, 1);
    cursor_take(&after, errors, api_query(c, "cursor"), fingerprint, JSON_STRING);
    after_id = json_string_value(after);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the query string has errors");
        goto out;
    }
    int rc = c->storage->adoption_list(c->storage, &items, case_id, after_id, limit + 1);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    char token[256];
    const char *next = cursor_next_page(token, sizeof token, items, limit, "id", fingerprint);
    json_t *shown = json_array(), *item;
    size_t i;
    json_array_foreach(items, i, item) json_array_append_new(shown, present(item));
    api_send_page(c, shown, next);
out:
    json_decref(errors);
    json_decref(kase);
    json_decref(items);
    json_decref(after);
}

void adoptions_get(struct api_ctx *c)
{
    json_t *record = NULL, *kase = NULL;
    if (load_visible(c, &record, &kase, api_path_param(c, "id")) != 0)
        return;
    json_t *rep = present(record);
    if (!api_not_modified(c, rep))
        api_send_resource(c, 200, json_incref(rep));
    json_decref(rep);
    json_decref(record);
    json_decref(kase);
}

/* Loads the adoption for a write: visible, the caller may write it, If-Match holds. Sends the
 * refusal and returns -1 otherwise. */
static int load_for_write(struct api_ctx *c, json_t **out, const char *id)
{
    json_t *record = NULL, *kase = NULL;
    if (load_visible(c, &record, &kase, id) != 0)
        return -1;
    json_decref(kase);
    const char *org = json_string_value(json_object_get(record, "organisation_code"));
    if (!policy_may_write_adoption(&c->who, org)) {
        problem_send(c, 403, "a partner changes only its own organisation's adoptions");
        json_decref(record);
        return -1;
    }
    json_t *rep = present(record);
    int holds = api_if_match_holds(c, rep);
    json_decref(rep);
    if (!holds) {
        problem_from_error(c, COI_ECONFLICT);
        json_decref(record);
        return -1;
    }
    *out = record;
    return 0;
}

void adoptions_patch(struct api_ctx *c)
{
    const char *id = api_path_param(c, "id");
    json_t *errors = json_array(), *current = NULL, *doc = NULL, *record = NULL, *value;
    const char *key;

    if (!json_is_object(c->body)) {
        problem_add_error(errors, "", "a merge patch must be a JSON object");
        problem_send_errors(c, json_incref(errors), "the patch has errors");
        goto out;
    }
    if (load_for_write(c, &current, id) != 0)
        goto out;
    validate_fields(errors, c->body, writable, read_only);
    doc = json_object();
    for (const char *const *f = writable; *f != NULL; f++)
        json_object_set(doc, *f, json_object_get(current, *f));
    json_object_foreach(c->body, key, value)
    {
        if (!validate_in(key, writable))
            continue;
        if (strcmp(key, "organisation_code") == 0 &&
            !json_equal(value, json_object_get(current, key)))
            problem_add_error(errors, key, "cannot be changed; record a new adoption instead");
        else
            json_object_set(doc, key, value);
    }
    check(errors, doc);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the patch has errors");
        goto out;
    }
    int rc = c->storage->adoption_update(c->storage, &record, id, doc,
                                         json_integer_value(json_object_get(current, "version")));
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    api_send_resource(c, 200, present(record));
out:
    json_decref(errors);
    json_decref(current);
    json_decref(doc);
    json_decref(record);
}

void adoptions_delete(struct api_ctx *c)
{
    const char *id = api_path_param(c, "id");
    json_t *current = NULL;
    if (load_for_write(c, &current, id) != 0)
        return;
    int rc = c->storage->adoption_delete(c->storage, id,
                                         json_integer_value(json_object_get(current, "version")));
    json_decref(current);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        return;
    }
    api_send_empty(c, 204);
}
