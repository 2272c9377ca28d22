/* The review workflow over HTTP, shared by cases and evaluations: moves and history. */
#include "api/reviews.h"

#include <stdio.h>
#include <string.h>

#include "api/cases.h"
#include "api/cursor.h"
#include "api/problem.h"
#include "api/validate.h"
#include "auth/policy.h"

static const char *const statuses[] = {
    "draft", "submitted", "in_review", "published", "changes_requested", "archived", NULL};

/* Answers 409 naming the moves the workflow has from `from`. */
static void illegal_move(struct api_ctx *c, const struct reviewed *r, const char *from,
                         const char *to)
{
    json_t *allowed = workflow_moves_from(from), *m;
    char list[256] = "", detail[512];
    size_t i;
    json_array_foreach(allowed, i, m)
    {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, json_string_value(m), sizeof list - strlen(list) - 1);
    }
    snprintf(detail, sizeof detail, "a %s %s cannot move to %s; allowed: %s", from, r->noun, to,
             list[0] ? list : "none");
    json_t *p = problem_body(409, detail, c->req->url_path, c->request_id);
    json_object_set_new(p, "allowed_moves", allowed);
    problem_send_json(c, 409, p);
}

void review_transition(struct api_ctx *c, const struct reviewed *r)
{
    static const char *const fields[] = {"to", "note", NULL};
    const char *id = api_path_param(c, "id"), *owner = NULL;
    json_t *errors = json_array(), *current = NULL, *kase = NULL, *record = NULL;
    int rc = COI_OK;

    if (!json_is_object(c->body)) {
        problem_add_error(errors, "", "the body must be a JSON object {to, note}");
        problem_send_errors(c, json_incref(errors), "the transition has errors");
        goto out;
    }
    validate_fields(errors, c->body, fields, NULL);
    const char *to = validate_enum(errors, c->body, "to", statuses, 1);
    const char *note = validate_prose(errors, c->body, "note", 2000);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the transition has errors");
        goto out;
    }
    /* Read, check, move with the version read; a concurrent writer makes the move fail with
     * ECONFLICT: 412 with If-Match, else the checks are made again on the new state. */
    for (int attempt = 0; attempt < 3; attempt++) {
        json_decref(current);
        json_decref(kase);
        current = kase = NULL;
        if (r->load(c, &current, &kase, &owner, id) != 0)
            goto out;
        json_t *rep = r->present(c, current, kase);
        if (rep == NULL)
            goto out;
        int holds = api_if_match_holds(c, rep);
        json_decref(rep);
        if (!holds) {
            rc = COI_ECONFLICT;
            break;
        }
        const char *from = json_string_value(json_object_get(current, "status"));
        if (!workflow_has_move(from, to)) {
            illegal_move(c, r, from, to);
            goto out;
        }
        if (!policy_may_move(&c->who, owner, from, to)) {
            problem_send(c, 403, "the role %s may not move a %s from %s to %s",
                         auth_role_name(c->who.role), r->noun, from, to);
            goto out;
        }
        if (workflow_needs_note(to) && (note == NULL || note[strspn(note, " \t\r\n")] == '\0')) {
            problem_add_error(errors, "note", "is required when requesting changes");
            problem_send_errors(c, json_incref(errors), "the transition has errors");
            goto out;
        }
        struct coi_actor actor = case_actor(c);
        rc = r->transition(c->storage, &record, id, to, note,
                           json_integer_value(json_object_get(current, "version")), &actor);
        if (rc != COI_ECONFLICT || api_header(c, "If-Match") != NULL)
            break;
    }
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    r->send(c, 200, record, kase);
out:
    json_decref(errors);
    json_decref(current);
    json_decref(kase);
    json_decref(record);
}

void review_history(struct api_ctx *c, const struct reviewed *r)
{
    static const char *const allowed[] = {"limit", "cursor", NULL};
    json_t *errors = json_array(), *current = NULL, *kase = NULL, *entries = NULL, *after = NULL;
    const char *id = api_path_param(c, "id"), *owner = NULL;
    json_int_t before = 0;
    int limit;

    if (api_query_check(c, allowed) != 0 || r->load(c, &current, &kase, &owner, id) != 0)
        goto out;
    if (!r->may_see_history(&c->who, current, kase)) {
        problem_send(c, 403,
                     "the history is shown to the owner organisation, the centre's staff "
                     "and steering members");
        goto out;
    }
    validate_limit(errors, api_query(c, "limit"), 50, 200, &limit);
    char fingerprint[17];
    const char *bound[] = {r->noun, id};
    cursor_fingerprint(fingerprint, bound, 2);
    cursor_take(&after, errors, api_query(c, "cursor"), fingerprint, JSON_INTEGER);
    if (after != NULL && json_integer_value(after) < 1)
        problem_add_error(errors, "cursor", "the cursor is not one this API issued");
    before = json_integer_value(after);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the query string has errors");
        goto out;
    }
    int rc = r->history(c->storage, &entries, id, before, limit + 1);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    char token[256];
    const char *next =
        cursor_next_page(token, sizeof token, entries, limit, "version", fingerprint);
    api_send_page(c, json_incref(entries), next);
out:
    json_decref(errors);
    json_decref(current);
    json_decref(kase);
    json_decref(entries);
    json_decref(after);
}
