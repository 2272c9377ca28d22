/* Evaluations: the documented effects of a case (/v1/evaluations, /v1/cases/{id}/evaluations),
 * reviewed through the same workflow as cases. */
#include <stdio.h>
#include <string.h>

#include "api/cases.h"
#include "api/cursor.h"
#include "api/evaluation_fields.h"
#include "api/problem.h"
#include "api/reviews.h"
#include "api/routes.h"
#include "api/validate.h"
#include "auth/policy.h"

static const char *const statuses[] = {
    "draft", "submitted", "in_review", "published", "changes_requested", "archived", NULL};
static const char *const required[] = {"title", "evaluator_kind", "method", "evidence_level", NULL};

/* Loads evaluation `id` and its case when the caller may see the evaluation; else sends 404
 * (or the storage error) and returns -1. */
static int load_visible(struct api_ctx *c, json_t **out, json_t **out_case, const char *id)
{
    json_t *record = NULL, *kase = NULL;
    int rc = id != NULL && strlen(id) == 36 ? c->storage->evaluation_get(c->storage, &record, id)
                                            : COI_ENOTFOUND;
    if (rc == COI_OK)
        rc = c->storage->case_get(c->storage, &kase,
                                  json_string_value(json_object_get(record, "case_id")));
    if (rc == COI_OK && !policy_may_see_evaluation(&c->who, record, kase))
        rc = COI_ENOTFOUND;
    if (rc != COI_OK) {
        json_decref(record);
        json_decref(kase);
        if (rc == COI_ENOTFOUND)
            coi_error_set(rc, NULL, "no evaluation with id %s", id ? id : "");
        problem_from_error(c, rc);
        return -1;
    }
    *out = record;
    *out_case = kase;
    return 0;
}

static void send_evaluation(struct api_ctx *c, int status, const json_t *record, const json_t *kase)
{
    (void)kase;
    json_t *rep = evaluation_present(record);
    if (status == 200 && api_not_modified(c, rep)) {
        json_decref(rep);
        return;
    }
    api_send_resource(c, status, rep);
}

/* Lists evaluations; `case_id` (from the path) fixes the case, else ?case_id= may. */
static void list(struct api_ctx *c, const char *case_id)
{
    static const char *const everywhere[] = {
        "case_id", "method", "evidence_level", "evaluator_kind", "status", "limit", "cursor", NULL};
    static const char *const in_case[] = {
        "method", "evidence_level", "evaluator_kind", "status", "limit", "cursor", NULL};
    json_t *errors = json_array(), *params = json_object(), *after = NULL, *items = NULL;
    struct coi_evaluation_query q = case_viewer(c);
    int limit;

    if (api_query_check(c, case_id ? in_case : everywhere) != 0)
        goto out;
    q.case_id = case_id ? case_id : api_query(c, "case_id");
    q.method = api_query(c, "method");
    q.evaluator_kind = api_query(c, "evaluator_kind");
    q.status = api_query(c, "status");
    const char *level = api_query(c, "evidence_level");
    for (const char *const *f = (const char *const[]){"method", "evaluator_kind", "status", NULL};
         *f != NULL; f++)
        json_object_set_new(params, *f,
                            api_query(c, *f) ? json_string(api_query(c, *f)) : json_null());
    static const char *const methods[] = {"rct",
                                          "quasi_experimental",
                                          "before_after",
                                          "cost_benefit",
                                          "qualitative",
                                          "mixed",
                                          "self_assessment",
                                          "other",
                                          NULL};
    static const char *const kinds[] = {"internal", "external", "research", NULL};
    validate_enum(errors, params, "method", methods, 0);
    validate_enum(errors, params, "evaluator_kind", kinds, 0);
    validate_enum(errors, params, "status", statuses, 0);
    if (q.case_id != NULL && strlen(q.case_id) != 36)
        problem_add_error(errors, "case_id", "is not a case id");
    if (level != NULL && (strlen(level) != 1 || level[0] < '1' || level[0] > '5'))
        problem_add_error(errors, "evidence_level", "must be an integer from 1 to 5");
    else if (level != NULL)
        q.evidence_level = level[0] - '0';
    validate_limit(errors, api_query(c, "limit"), 50, 200, &limit);
    char fingerprint[17];
    const char *bound[] = {q.case_id, q.method, q.evaluator_kind,
                           q.status,  level,    auth_role_name(c->who.role),
                           c->who.org};
    cursor_fingerprint(fingerprint, bound, 7);
    cursor_take(&after, errors, api_query(c, "cursor"), fingerprint, JSON_STRING);
    q.after_id = json_string_value(after);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the query string has errors");
        goto out;
    }
    q.limit = limit + 1;
    int rc = c->storage->evaluation_list(c->storage, &items, &q);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    char token[256];
    const char *next = cursor_next_page(token, sizeof token, items, limit, "id", fingerprint);
    json_t *shown = json_array(), *item;
    size_t i;
    json_array_foreach(items, i, item) json_array_append_new(shown, evaluation_present(item));
    api_send_page(c, shown, next);
out:
    json_decref(errors);
    json_decref(params);
    json_decref(after);
    json_decref(items);
}

void evaluations_list(struct api_ctx *c)
{
    list(c, NULL);
}

void case_evaluations_list(struct api_ctx *c)
{
    json_t *kase = NULL;
    if (case_load_visible(c, &kase, api_path_param(c, "id")) != 0)
        return;
    list(c, json_string_value(json_object_get(kase, "id")));
    json_decref(kase);
}

void case_evaluations_create(struct api_ctx *c)
{
    json_t *errors = json_array(), *kase = NULL, *doc = NULL, *record = NULL;
    json_t *blank = NULL, *changed = NULL;

    if (case_load_visible(c, &kase, api_path_param(c, "id")) != 0)
        goto out;
    if (!policy_may_add_evaluation(&c->who, kase)) {
        problem_send(c, 403,
                     "only the case's own organisation and the centre's staff add "
                     "evaluations to it");
        goto out;
    }
    if (!json_is_object(c->body)) {
        problem_add_error(errors, "", "the body must be a JSON object");
        problem_send_errors(c, json_incref(errors), "the evaluation has errors");
        goto out;
    }
    validate_fields(errors, c->body, EVALUATION_WRITABLE, EVALUATION_READ_ONLY);
    doc = evaluation_writable(c->body);
    evaluation_check(errors, doc);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the evaluation has errors");
        goto out;
    }
    blank = json_object();
    json_t *empty = evaluation_writable(blank);
    changed = evaluation_changed_fields(empty, doc);
    json_decref(empty);
    struct coi_actor actor = case_actor(c);
    int rc = c->storage->evaluation_create(
        c->storage, &record, json_string_value(json_object_get(kase, "id")), doc, &actor, changed);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    char location[64];
    snprintf(location, sizeof location, "/v1/evaluations/%s",
             json_string_value(json_object_get(record, "id")));
    api_set_header(c, "Location", location);
    send_evaluation(c, 201, record, kase);
out:
    json_decref(errors);
    json_decref(kase);
    json_decref(doc);
    json_decref(record);
    json_decref(blank);
    json_decref(changed);
}

void evaluations_get(struct api_ctx *c)
{
    json_t *record = NULL, *kase = NULL;
    if (load_visible(c, &record, &kase, api_path_param(c, "id")) != 0)
        return;
    send_evaluation(c, 200, record, kase);
    json_decref(record);
    json_decref(kase);
}

/* Loads for a write: visible, editable by the caller, If-Match holding. Else sends the
 * refusal and returns -1. */
static int load_for_write(struct api_ctx *c, json_t **out, json_t **out_case, const char *id)
{
    if (load_visible(c, out, out_case, id) != 0)
        return -1;
    const char *refusal = NULL;
    if (!policy_may_edit_evaluation(&c->who, *out, *out_case))
        refusal = "a partner changes its case's evaluations only until they are published";
    json_t *rep = refusal ? NULL : evaluation_present(*out);
    int holds = refusal || api_if_match_holds(c, rep);
    json_decref(rep);
    if (refusal == NULL && holds)
        return 0;
    if (refusal)
        problem_send(c, 403, "%s", refusal);
    else
        problem_from_error(c, COI_ECONFLICT);
    json_decref(*out);
    json_decref(*out_case);
    *out = *out_case = NULL;
    return -1;
}

void evaluations_patch(struct api_ctx *c)
{
    const char *id = api_path_param(c, "id"), *key;
    json_t *errors = json_array(), *current = NULL, *kase = NULL, *doc = NULL, *record = NULL;
    json_t *before = NULL, *changed = NULL, *value;

    if (!json_is_object(c->body)) {
        problem_add_error(errors, "", "a merge patch must be a JSON object");
        problem_send_errors(c, json_incref(errors), "the patch has errors");
        goto out;
    }
    if (load_for_write(c, &current, &kase, id) != 0)
        goto out;
    validate_fields(errors, c->body, EVALUATION_WRITABLE, EVALUATION_READ_ONLY);
    doc = evaluation_writable(current);
    json_object_foreach(c->body, key, value)
    {
        if (!validate_in(key, EVALUATION_WRITABLE))
            continue;
        if (json_is_null(value) && validate_in(key, required))
            problem_add_error(errors, key, "cannot be removed");
        else
            json_object_set_new(doc, key, api_merge_patch(json_object_get(doc, key), value));
    }
    evaluation_check(errors, doc);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the patch has errors");
        goto out;
    }
    before = evaluation_writable(current);
    changed = evaluation_changed_fields(before, doc);
    if (json_array_size(changed) == 0) {
        send_evaluation(c, 200, current, kase);
        goto out;
    }
    struct coi_actor actor = case_actor(c);
    int rc = c->storage->evaluation_update(c->storage, &record, id, doc,
                                           json_integer_value(json_object_get(current, "version")),
                                           &actor, changed);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    send_evaluation(c, 200, record, kase);
out:
    json_decref(errors);
    json_decref(current);
    json_decref(kase);
    json_decref(doc);
    json_decref(record);
    json_decref(before);
    json_decref(changed);
}

void evaluations_delete(struct api_ctx *c)
{
    const char *id = api_path_param(c, "id");
    json_t *current = NULL, *kase = NULL;
    if (load_for_write(c, &current, &kase, id) != 0)
        return;
    int rc = c->storage->evaluation_delete(c->storage, id,
                                           json_integer_value(json_object_get(current, "version")));
    json_decref(current);
    json_decref(kase);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        return;
    }
    api_send_empty(c, 204);
}

/* ---- the review workflow, through api/reviews.c ------------------------------------------- */

static int load_reviewed(struct api_ctx *c, json_t **out, json_t **out_case, const char **out_owner,
                         const char *id)
{
    if (load_visible(c, out, out_case, id) != 0)
        return -1;
    *out_owner = json_string_value(json_object_get(*out_case, "organisation_code"));
    return 0;
}

static json_t *present_reviewed(struct api_ctx *c, const json_t *record, const json_t *kase)
{
    (void)c, (void)kase;
    return evaluation_present(record);
}

static int may_see_history(const struct identity *who, const json_t *record, const json_t *kase)
{
    (void)record;
    return policy_may_see_history(who, kase);
}

static struct reviewed reviewed_evaluations(const struct api_ctx *c)
{
    return (struct reviewed){.load = load_reviewed,
                             .send = send_evaluation,
                             .present = present_reviewed,
                             .may_see_history = may_see_history,
                             .transition = c->storage->evaluation_transition,
                             .history = c->storage->evaluation_history,
                             .noun = "evaluation"};
}

void evaluation_transitions_create(struct api_ctx *c)
{
    struct reviewed r = reviewed_evaluations(c);
    review_transition(c, &r);
}

void evaluation_history_list(struct api_ctx *c)
{
    struct reviewed r = reviewed_evaluations(c);
    review_history(c, &r);
}
