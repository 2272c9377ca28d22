/* /v1/cases and /v1/organisations/{code}/cases/{external_id}: the knowledge base of cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/cache.h"
#include "api/cache_sync.h"
#include "api/case_fields.h"
#include "api/cases.h"
#include "api/problem.h"
#include "api/routes.h"
#include "api/validate.h"
#include "auth/policy.h"

/* The fields a merge patch may not remove (null). */
static const char *const required[] = {"organisation_code", "title", "summary", "innovation_types",
                                       NULL};

struct coi_actor case_actor(const struct api_ctx *c)
{
    return (struct coi_actor){c->who.sub, auth_role_name(c->who.role),
                              c->who.party[0] ? c->who.party : NULL,
                              c->who.org[0] ? c->who.org : NULL};
}

/* 1 when `id` looks like an id this service makes (a UUID's 36 characters). */
static int is_case_id(const char *id)
{
    if (id == NULL || strlen(id) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        char ch = id[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0;
    }
    return 1;
}

int case_load_visible(struct api_ctx *c, json_t **out, const char *id)
{
    json_t *record = NULL;
    int rc = is_case_id(id) ? c->storage->case_get(c->storage, &record, id) : COI_ENOTFOUND;
    if (rc == COI_OK && !policy_may_see_case(&c->who, record)) {
        json_decref(record);
        record = NULL;
        rc = COI_ENOTFOUND;
    }
    if (rc != COI_OK) {
        if (rc == COI_ENOTFOUND)
            coi_error_set(rc, NULL, "no case with id %s", id ? id : "");
        problem_from_error(c, rc);
        return -1;
    }
    *out = record;
    return 0;
}

struct coi_evaluation_query case_viewer(const struct api_ctx *c)
{
    struct coi_evaluation_query q = {0};
    q.see_all =
        c->who.role == ROLE_ADMIN || c->who.role == ROLE_EDITOR || c->who.role == ROLE_STEERING;
    q.viewer_org = c->who.role == ROLE_PARTNER ? c->who.org : NULL;
    return q;
}

json_t *case_summaries(struct api_ctx *c, const json_t *records)
{
    size_t n = json_array_size(records), i;
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    json_t *item, *out = NULL;
    json_array_foreach(records, i, item) ids[i] = json_string_value(json_object_get(item, "id"));
    struct coi_evaluation_query q = case_viewer(c);
    int rc = c->storage->evaluation_summaries(c->storage, &out, ids, n, &q);
    free(ids);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        return NULL;
    }
    return out;
}

json_t *case_represent(struct api_ctx *c, const json_t *record)
{
    json_t *one = json_pack("[O]", record);
    json_t *summaries = case_summaries(c, one);
    json_decref(one);
    if (summaries == NULL)
        return NULL;
    json_t *rep = case_present(
        record, json_object_get(summaries, json_string_value(json_object_get(record, "id"))));
    json_decref(summaries);
    return rep;
}

void case_send(struct api_ctx *c, int status, const json_t *record)
{
    json_t *rep = case_represent(c, record);
    if (rep == NULL)
        return;
    if (status == 200 && api_not_modified(c, rep)) {
        json_decref(rep);
        return;
    }
    api_send_resource(c, status, rep);
}

/* The write preconditions (If-Match, If-None-Match) against the case's representation for the
 * caller: 1 hold, 0 fail (412), -1 the representation could not be made (a problem was sent). */
static int case_preconditions_hold(struct api_ctx *c, const json_t *current)
{
    json_t *rep = case_represent(c, current);
    if (rep == NULL)
        return -1;
    int holds = api_if_match_holds(c, rep);
    json_decref(rep);
    return holds;
}

/* Checks a partner's organisation_code in `doc` (setting it to the partner's own when absent).
 * Property rule: a partner writes only its own organisation's cases. */
static void own_organisation(struct api_ctx *c, json_t *errors, json_t *doc)
{
    if (c->who.role != ROLE_PARTNER)
        return;
    json_t *org = json_object_get(doc, "organisation_code");
    if (org == NULL || json_is_null(org))
        json_object_set_new(doc, "organisation_code", json_string(c->who.org));
    else if (!json_is_string(org) || strcmp(json_string_value(org), c->who.org) != 0)
        problem_add_error(errors, "organisation_code",
                          "a partner writes only cases of its own organisation (%s)", c->who.org);
}

void cases_create(struct api_ctx *c)
{
    json_t *errors = json_array(), *doc = NULL, *record = NULL, *blank = NULL, *changed = NULL;

    if (!json_is_object(c->body)) {
        problem_add_error(errors, "", "the body must be a JSON object");
        problem_send_errors(c, json_incref(errors), "the case has errors");
        goto out;
    }
    validate_fields(errors, c->body, CASE_WRITABLE, CASE_READ_ONLY);
    doc = case_writable(c->body);
    own_organisation(c, errors, doc);
    case_check(errors, doc);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the case has errors");
        goto out;
    }
    const char *org = json_string_value(json_object_get(doc, "organisation_code"));
    if (!policy_may_create_case(&c->who, org)) {
        problem_send(c, 403, "the role %s may not create cases for %s", auth_role_name(c->who.role),
                     org);
        goto out;
    }
    blank = json_object();
    json_t *empty = case_writable(blank);
    changed = case_changed_fields(empty, doc);
    json_decref(empty);
    struct coi_actor actor = case_actor(c);
    int rc = c->storage->case_create(c->storage, &record, doc, &actor, changed);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    char location[64];
    snprintf(location, sizeof location, "/v1/cases/%s",
             json_string_value(json_object_get(record, "id")));
    api_set_header(c, "Location", location);
    case_send(c, 201, record);
out:
    json_decref(errors);
    json_decref(doc);
    json_decref(record);
    json_decref(blank);
    json_decref(changed);
}

/* The response cache's key for case `id` as the caller sees it: callers who see the same
 * representation share it (the public, every staff and steering member, each partner
 * organisation). The case id comes first: it is the tag that evicts all of them. */
static void case_cache_key(const struct api_ctx *c, const char *id, char *out, size_t size)
{
    struct coi_evaluation_query v = case_viewer(c);
    if (v.see_all)
        snprintf(out, size, "%s|all", id);
    else if (v.viewer_org != NULL)
        snprintf(out, size, "%s|org:%s", id, v.viewer_org);
    else
        snprintf(out, size, "%s|public", id);
}

/* How long a request waits for another computing the same answer (cache_lookup). */
#define CACHE_WAIT_MS 2500

static void send_cached(struct api_ctx *c, struct cache_entry *e)
{
    api_set_header(c, "X-Cache", "hit");
    api_send_text_resource(c, 200, e->body, e->length, e->etag);
    cache_release(e);
}

/* A case is answered from the response cache (api/cache.h) when it holds the caller's view;
 * else it is read and, when the feed follower is in step, kept there. The generation is taken
 * before the read (see cache.h). A partner sees a published case it does not lead exactly as
 * the public does (its evaluation summary differs only for its own cases), so it shares the
 * public entry, which carries the case's lead as its owner. */
void cases_get(struct api_ctx *c)
{
    const char *id = api_path_param(c, "id");
    int cacheable = is_case_id(id) && cache_sync_active(), claimed = 0;
    uint64_t generation = cache_generation();
    json_t *record = NULL, *rep;
    char key[128], public_key[128], etag[24], *text;
    struct cache_entry *e;

    if (cacheable) {
        case_cache_key(c, id, key, sizeof key);
        snprintf(public_key, sizeof public_key, "%s|public", id);
        if (c->who.role == ROLE_PARTNER && (e = cache_get(public_key)) != NULL) {
            if (strcmp(e->owner, c->who.org) != 0) {
                send_cached(c, e);
                return;
            }
            cache_release(e);
        }
        if ((e = cache_lookup(key, CACHE_WAIT_MS, &claimed)) != NULL) {
            send_cached(c, e);
            return;
        }
    }
    if (case_load_visible(c, &record, id) != 0)
        goto out;
    rep = case_represent(c, record);
    if (rep == NULL)
        goto out;
    text = api_json_text(rep);
    json_decref(rep);
    if (text == NULL) {
        problem_send(c, 500, "out of memory");
        goto out;
    }
    api_etag_of_text(etag, sizeof etag, text);
    if (cacheable) {
        const char *lead = json_string_value(json_object_get(record, "organisation_code"));
        const char *status = json_string_value(json_object_get(record, "status"));
        int as_public = c->who.role == ROLE_PARTNER && status != NULL &&
                        strcmp(status, "published") == 0 && lead != NULL &&
                        strcmp(lead, c->who.org) != 0;
        struct cache_meta meta = {.etag = etag, .owner = lead};
        cache_put(as_public ? public_key : key, id, text, strlen(text), &meta, generation);
    }
    api_set_header(c, "X-Cache", "miss");
    api_send_text_resource(c, 200, text, strlen(text), etag);
    free(text);
out:
    json_decref(record);
    if (claimed)
        cache_unclaim(key);
}

/* The case `current` would become with the merge patch applied: its writable fields with the
 * patched values. Errors for fields the patch may not set go to `errors`. */
static json_t *merge(struct api_ctx *c, json_t *errors, const json_t *current, const json_t *patch)
{
    json_t *doc = case_writable(current), *value;
    const char *key;
    validate_fields(errors, patch, CASE_WRITABLE, CASE_READ_ONLY);
    json_object_foreach((json_t *)patch, key, value)
    {
        if (!validate_in(key, CASE_WRITABLE))
            continue;
        if (json_is_null(value) && validate_in(key, required)) {
            problem_add_error(errors, key, "cannot be removed");
            continue;
        }
        json_object_set(doc, key, value);
    }
    if (c->who.role == ROLE_PARTNER && !json_equal(json_object_get(doc, "organisation_code"),
                                                   json_object_get(current, "organisation_code")))
        problem_add_error(errors, "organisation_code",
                          "a partner cannot move a case to another organisation");
    /* Merge-patch null on a list means "none". */
    json_t *fixed = case_writable(doc);
    json_decref(doc);
    return fixed;
}

/* The rules between a changed case and the rest: the organisations running it (lead and
 * partners) are not among its adopters, and it is not its own inspiration. Errors go to
 * `errors`; returns a storage code when the adoptions cannot be read. */
static int check_against_case(struct api_ctx *c, json_t *errors, const json_t *current,
                              const json_t *doc)
{
    const char *id = json_string_value(json_object_get(current, "id"));
    const char *inspired = json_string_value(json_object_get(doc, "inspired_by_case_id"));
    if (inspired != NULL && strcmp(inspired, id) == 0)
        problem_add_error(errors, "inspired_by_case_id", "a case cannot be its own inspiration");
    if (json_equal(json_object_get(doc, "organisation_code"),
                   json_object_get(current, "organisation_code")) &&
        json_equal(json_object_get(doc, "partner_organisation_codes"),
                   json_object_get(current, "partner_organisation_codes")))
        return COI_OK;
    json_t *adoptions = NULL, *a;
    size_t i;
    /* At most one adoption per organisation: a page of 1000 holds them all. */
    int rc = c->storage->adoption_list(c->storage, &adoptions, id, NULL, 1000);
    json_array_foreach(adoptions, i, a)
    {
        json_t *org = json_object_get(a, "organisation_code"), *p;
        size_t j;
        if (json_equal(org, json_object_get(doc, "organisation_code")))
            problem_add_error(errors, "organisation_code",
                              "%s has adopted this case; an adopter cannot lead it",
                              json_string_value(org));
        json_array_foreach(json_object_get(doc, "partner_organisation_codes"), j,
                           p) if (json_equal(org, p))
            problem_add_error(errors, "partner_organisation_codes",
                              "%s has adopted this case; an adopter cannot be a partner",
                              json_string_value(org));
    }
    json_decref(adoptions);
    return rc;
}

/* Writes `doc` over the case `current` (version checked) as one update with its history
 * entry; sends the result. Returns the storage code (ECONFLICT lets the caller retry). */
static int write_update(struct api_ctx *c, const json_t *current, json_t *doc, int status)
{
    json_t *before = case_writable(current), *record = NULL;
    json_t *changed = case_changed_fields(before, doc);
    int rc = COI_OK;
    json_decref(before);
    if (json_array_size(changed) == 0) {
        case_send(c, status, current); /* nothing to change: no new version, no history */
        json_decref(changed);
        return COI_OK;
    }
    struct coi_actor actor = case_actor(c);
    rc = c->storage->case_update(
        c->storage, &record, json_string_value(json_object_get(current, "id")), doc,
        json_integer_value(json_object_get(current, "version")), &actor, changed);
    json_decref(changed);
    if (rc == COI_OK)
        case_send(c, status, record);
    json_decref(record);
    return rc;
}

void cases_patch(struct api_ctx *c)
{
    const char *id = api_path_param(c, "id");
    json_t *current = NULL, *errors = NULL, *doc = NULL;
    int rc = COI_OK;

    if (!json_is_object(c->body)) {
        errors = json_array();
        problem_add_error(errors, "", "a merge patch must be a JSON object");
        problem_send_errors(c, errors, "the patch has errors");
        return;
    }
    /* Read, check, write with the version read; a concurrent writer makes the write fail with
     * ECONFLICT: with If-Match that is 412, without it the patch is applied to the new state. */
    for (int attempt = 0; attempt < 3; attempt++) {
        json_decref(current);
        json_decref(errors);
        json_decref(doc);
        current = doc = NULL;
        errors = json_array();
        if (case_load_visible(c, &current, id) != 0)
            goto out;
        int holds = case_preconditions_hold(c, current);
        if (holds < 0)
            goto out;
        if (!holds) {
            rc = COI_ECONFLICT;
            break;
        }
        if (!policy_may_edit_case(&c->who, current)) {
            problem_send(c, 403, "a partner edits its cases only while draft or changes_requested");
            goto out;
        }
        doc = merge(c, errors, current, c->body);
        case_check(errors, doc);
        if ((rc = check_against_case(c, errors, current, doc)) != COI_OK)
            break;
        if (json_array_size(errors) > 0) {
            problem_send_errors(c, json_incref(errors), "the patch has errors");
            goto out;
        }
        rc = write_update(c, current, doc, 200);
        if (rc != COI_ECONFLICT || api_header(c, "If-Match") != NULL)
            break;
    }
    if (rc != COI_OK)
        problem_from_error(c, rc);
out:
    json_decref(current);
    json_decref(errors);
    json_decref(doc);
}

json_t *case_put_document(json_t *errors, const json_t *body, const char *code, const char *ext)
{
    if (!json_is_object(body)) {
        problem_add_error(errors, "", "the body must be a JSON object");
        return NULL;
    }
    validate_fields(errors, body, CASE_WRITABLE, CASE_READ_ONLY);
    json_t *keys = json_pack("{s:s, s:s}", "organisation_code", code, "external_id", ext), *value;
    const char *key;
    json_object_foreach(keys, key, value)
    {
        json_t *given = json_object_get(body, key);
        if (given != NULL && !json_equal(given, value))
            problem_add_error(errors, key, "must match the path (%s)", json_string_value(value));
    }
    json_t *doc = case_writable(body);
    json_object_update(doc, keys);
    json_decref(keys);
    case_check(errors, doc);
    return doc;
}

static void plan_refuse(struct case_put_plan *p, int status, const char *detail)
{
    p->result = CASE_PUT_ERROR;
    p->status = status;
    snprintf(p->detail, sizeof p->detail, "%s", detail);
}

int case_put_plan(struct api_ctx *c, struct case_put_plan *p, const json_t *doc,
                  const json_t *current)
{
    memset(p, 0, sizeof *p);
    p->errors = json_array();
    if (current == NULL) {
        json_t *blank = json_object(), *empty = case_writable(blank);
        p->result = CASE_PUT_CREATE;
        p->changed = case_changed_fields(empty, doc);
        json_decref(blank);
        json_decref(empty);
        return COI_OK;
    }
    json_t *before = case_writable(current);
    if (json_equal(before, doc)) {
        json_decref(before);
        p->result = CASE_PUT_UNCHANGED;
        return COI_OK;
    }
    int rc = check_against_case(c, p->errors, current, doc);
    if (rc != COI_OK) {
        json_decref(before);
        return rc;
    }
    if (json_array_size(p->errors) > 0)
        plan_refuse(p, 422, "the case has errors");
    else if (!policy_may_edit_case(&c->who, current))
        plan_refuse(p, 403, "a partner edits its cases only while draft or changes_requested");
    else {
        p->changed = case_changed_fields(before, doc);
        p->result = json_array_size(p->changed) > 0 ? CASE_PUT_UPDATE : CASE_PUT_UNCHANGED;
    }
    json_decref(before);
    return COI_OK;
}

void case_put_plan_clear(struct case_put_plan *p)
{
    json_decref(p->errors);
    json_decref(p->changed);
    memset(p, 0, sizeof *p);
}

/* PUT /v1/organisations/{code}/cases/{external_id}: creates or replaces the case a partner
 * system knows by its own key. The same body twice changes nothing the second time. */
void cases_put_external(struct api_ctx *c)
{
    const char *code = api_path_param(c, "code"), *ext = api_path_param(c, "external_id");
    json_t *errors = json_array(), *doc = NULL, *current = NULL, *record = NULL;
    struct case_put_plan plan = {0};
    int rc = COI_OK;

    if (c->who.role == ROLE_PARTNER && strcmp(code, c->who.org) != 0) {
        problem_send(c, 403, "a partner writes only cases of its own organisation (%s)",
                     c->who.org);
        goto out;
    }
    doc = case_put_document(errors, c->body, code, ext);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the case has errors");
        goto out;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        json_decref(current);
        current = NULL;
        case_put_plan_clear(&plan);
        rc = c->storage->case_get_by_external_id(c->storage, &current, code, ext);
        if (rc == COI_ENOTFOUND)
            rc = COI_OK;
        if (rc != COI_OK)
            break;
        if (current != NULL && api_header(c, "If-None-Match") != NULL) {
            /* A create-only request (If-None-Match: *) and the case exists: nothing is written.
             * If-Match alone is checked only when the body changes something, so that a
             * retried PUT of the same body succeeds. */
            int holds = case_preconditions_hold(c, current);
            if (holds < 0)
                goto out;
            if (!holds) {
                rc = COI_ECONFLICT;
                break;
            }
        }
        if ((rc = case_put_plan(c, &plan, doc, current)) != COI_OK)
            break;
        if (plan.result == CASE_PUT_ERROR) {
            if (plan.status == 422)
                problem_send_errors(c, json_incref(plan.errors), plan.detail);
            else
                problem_send(c, plan.status, "%s", plan.detail);
            goto out;
        }
        if (plan.result == CASE_PUT_UNCHANGED) {
            case_send(c, 200, current); /* nothing to change: no new version, no history */
            break;
        }
        struct coi_actor actor = case_actor(c);
        if (plan.result == CASE_PUT_CREATE) {
            rc = c->storage->case_create(c->storage, &record, doc, &actor, plan.changed);
            if (rc == COI_EEXISTS &&
                strcmp(coi_error_field() ? coi_error_field() : "", "external_id") == 0)
                continue; /* created meanwhile by a concurrent PUT: replace it instead */
            if (rc == COI_OK) {
                char location[64];
                snprintf(location, sizeof location, "/v1/cases/%s",
                         json_string_value(json_object_get(record, "id")));
                api_set_header(c, "Location", location);
                case_send(c, 201, record);
            }
            break;
        }
        int holds = case_preconditions_hold(c, current);
        if (holds < 0)
            goto out;
        if (!holds) {
            rc = COI_ECONFLICT;
            break;
        }
        rc = c->storage->case_update(
            c->storage, &record, json_string_value(json_object_get(current, "id")), doc,
            json_integer_value(json_object_get(current, "version")), &actor, plan.changed);
        if (rc == COI_OK)
            case_send(c, 200, record);
        if (rc != COI_ECONFLICT || api_header(c, "If-Match") != NULL)
            break;
    }
    if (rc != COI_OK)
        problem_from_error(c, rc);
out:
    case_put_plan_clear(&plan);
    json_decref(errors);
    json_decref(doc);
    json_decref(current);
    json_decref(record);
}
