/* The access policy, readable in one sitting.
 *
 * Roles (from the token's `role` claim; no token = anonymous):
 *   admin     the centre's administrators: everything.
 *   editor    the centre's staff: run the knowledge base (review, edit, publish).
 *   steering  a steering-group member (with a `party`): reads everything, writes only its own
 *             party's decisions.
 *   partner   a partner organisation's system (with an `org`): writes only its own
 *             organisation's objects.
 *   anonymous the public: reads what is public.
 *
 * Route rules: each route of api/routes.c has exactly one row below (a test holds the two
 * tables together); a route without a row is denied to everyone. Handlers ask nothing about
 * roles themselves. */
#include "auth/policy.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define ANONYMOUS ALLOW(ROLE_ANONYMOUS)
#define ADMIN ALLOW(ROLE_ADMIN)
#define EDITOR ALLOW(ROLE_EDITOR)
#define STEERING ALLOW(ROLE_STEERING)
#define PARTNER ALLOW(ROLE_PARTNER)
#define EVERYONE (ANONYMOUS | ADMIN | EDITOR | STEERING | PARTNER)

const struct policy_rule policy_rules[] = {
    /* method  path                          who may call it */
    {"GET", "/healthz", EVERYONE | NO_TOKEN},
    {"GET", "/readyz", EVERYONE | NO_TOKEN},
    {"GET", "/openapi.json", EVERYONE | NO_TOKEN},
    {"GET", "/openapi.yaml", EVERYONE | NO_TOKEN},
    /* Organisations are reference data: everyone reads; only admins add or correct them. */
    {"GET", "/v1/organisations", EVERYONE},
    {"GET", "/v1/organisations/{code}", EVERYONE},
    {"POST", "/v1/organisations", ADMIN},
    {"PATCH", "/v1/organisations/{code}", ADMIN},
    /* Cases: everyone reads (the object rules below decide which cases); the centre's staff
     * and partner systems write; steering members write nothing here. */
    {"GET", "/v1/cases", EVERYONE},
    {"GET", "/v1/cases/facets", EVERYONE},
    {"POST", "/v1/cases", ADMIN | EDITOR | PARTNER},
    {"GET", "/v1/cases/{id}", EVERYONE},
    {"PATCH", "/v1/cases/{id}", ADMIN | EDITOR | PARTNER},
    {"PUT", "/v1/organisations/{code}/cases/{external_id}", ADMIN | EDITOR | PARTNER},
    {"POST", "/v1/organisations/{code}/cases:batch", ADMIN | EDITOR | PARTNER},
    {"POST", "/v1/cases/{id}/transitions", ADMIN | EDITOR | PARTNER},
    {"GET", "/v1/cases/{id}/history", ADMIN | EDITOR | STEERING | PARTNER},
    {"GET", "/v1/cases/{id}/adoptions", EVERYONE},
    {"POST", "/v1/cases/{id}/adoptions", ADMIN | EDITOR | PARTNER},
    {"GET", "/v1/adoptions/{id}", EVERYONE},
    {"PATCH", "/v1/adoptions/{id}", ADMIN | EDITOR | PARTNER},
    {"DELETE", "/v1/adoptions/{id}", ADMIN | EDITOR | PARTNER},
    /* Evaluations follow their case: the object rules below decide which ones. */
    {"GET", "/v1/evaluations", EVERYONE},
    {"GET", "/v1/evaluations/{id}", EVERYONE},
    {"PATCH", "/v1/evaluations/{id}", ADMIN | EDITOR | PARTNER},
    {"DELETE", "/v1/evaluations/{id}", ADMIN | EDITOR | PARTNER},
    {"GET", "/v1/cases/{id}/evaluations", EVERYONE},
    {"POST", "/v1/cases/{id}/evaluations", ADMIN | EDITOR | PARTNER},
    {"POST", "/v1/evaluations/{id}/transitions", ADMIN | EDITOR | PARTNER},
    {"GET", "/v1/evaluations/{id}/history", ADMIN | EDITOR | STEERING | PARTNER},
    /* The change feed: everyone; storage shows each caller only what it may see. */
    {"GET", "/v1/changes", EVERYONE},
    /* The audit log names callers and what they tried: for the centre's administrators and the
     * steering group that oversees it. */
    {"GET", "/v1/audit", ADMIN | STEERING},
};
const unsigned policy_rule_count = sizeof policy_rules / sizeof policy_rules[0];

const struct policy_rule *policy_find(const char *method, const char *path)
{
    for (unsigned i = 0; i < policy_rule_count; i++)
        if (strcmp(policy_rules[i].method, method) == 0 && strcmp(policy_rules[i].path, path) == 0)
            return &policy_rules[i];
    return NULL;
}

int policy_ignores_token(const struct policy_rule *rule)
{
    return rule != NULL && (rule->roles & NO_TOKEN) != 0;
}

int policy_allows(const struct policy_rule *rule, const struct identity *who)
{
    return rule != NULL && (rule->roles & ALLOW(who->role)) != 0;
}

/* ---- Object rules -------------------------------------------------------------------------- */

static int is_staff(const struct identity *who)
{
    return who->role == ROLE_ADMIN || who->role == ROLE_EDITOR;
}

static const char *text(const json_t *record, const char *key)
{
    const char *v = json_string_value(json_object_get(record, key));
    return v ? v : "";
}

/* 1 when the partner's organisation leads the case. */
static int owns(const struct identity *who, const json_t *record)
{
    return who->role == ROLE_PARTNER && strcmp(text(record, "organisation_code"), who->org) == 0;
}

int policy_may_see_case(const struct identity *who, const json_t *record)
{
    size_t i;
    json_t *code;
    if (is_staff(who) || who->role == ROLE_STEERING ||
        strcmp(text(record, "status"), "published") == 0)
        return 1;
    if (who->role != ROLE_PARTNER)
        return 0;
    if (owns(who, record))
        return 1;
    json_array_foreach(json_object_get(record, "partner_organisation_codes"), i,
                       code) if (strcmp(json_string_value(code) ? json_string_value(code) : "",
                                        who->org) == 0) return 1;
    return 0;
}

int policy_may_create_case(const struct identity *who, const char *organisation_code)
{
    return is_staff(who) || (who->role == ROLE_PARTNER && strcmp(organisation_code, who->org) == 0);
}

int policy_may_edit_case(const struct identity *who, const json_t *record)
{
    const char *status = text(record, "status");
    return is_staff(who) || (owns(who, record) && (strcmp(status, "draft") == 0 ||
                                                   strcmp(status, "changes_requested") == 0));
}

int policy_may_see_history(const struct identity *who, const json_t *record)
{
    return is_staff(who) || who->role == ROLE_STEERING || owns(who, record);
}

int policy_may_write_adoption(const struct identity *who, const char *organisation_code)
{
    return is_staff(who) || (who->role == ROLE_PARTNER && strcmp(organisation_code, who->org) == 0);
}

int policy_may_see_evaluation(const struct identity *who, const json_t *evaluation,
                              const json_t *kase)
{
    if (is_staff(who) || who->role == ROLE_STEERING)
        return 1;
    return policy_may_see_case(who, kase) &&
           (strcmp(text(evaluation, "status"), "published") == 0 || owns(who, kase));
}

int policy_may_add_evaluation(const struct identity *who, const json_t *kase)
{
    return is_staff(who) || owns(who, kase);
}

int policy_may_edit_evaluation(const struct identity *who, const json_t *evaluation,
                               const json_t *kase)
{
    const char *status = text(evaluation, "status");
    return is_staff(who) ||
           (owns(who, kase) && strcmp(status, "published") != 0 && strcmp(status, "archived") != 0);
}

/* ---- The review workflow ----------------------------------------------------------------------
 *
 *   draft -> submitted -> in_review -> published | changes_requested
 *   changes_requested -> submitted;  published -> archived;  archived -> published (admin)
 *
 * OWNER is the partner organisation that owns the object (its lead organisation). */
#define OWNER (1u << 30)

static const struct move {
    const char *from, *to;
    unsigned who;
} moves[] = {
    {"draft", "submitted", ADMIN | EDITOR | OWNER},
    {"submitted", "in_review", ADMIN | EDITOR},
    {"in_review", "published", ADMIN | EDITOR},
    {"in_review", "changes_requested", ADMIN | EDITOR},
    {"changes_requested", "submitted", ADMIN | EDITOR | OWNER},
    {"published", "archived", ADMIN | EDITOR},
    {"archived", "published", ADMIN},
};

static const struct move *find_move(const char *from, const char *to)
{
    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++)
        if (strcmp(moves[i].from, from) == 0 && strcmp(moves[i].to, to) == 0)
            return &moves[i];
    return NULL;
}

int workflow_has_move(const char *from, const char *to)
{
    return find_move(from, to) != NULL;
}

int workflow_needs_note(const char *to)
{
    return strcmp(to, "changes_requested") == 0;
}

int policy_may_move(const struct identity *who, const char *owner_org, const char *from,
                    const char *to)
{
    const struct move *m = find_move(from, to);
    if (m == NULL)
        return 0;
    if (m->who & ALLOW(who->role))
        return 1;
    return (m->who & OWNER) && who->role == ROLE_PARTNER && strcmp(owner_org, who->org) == 0;
}

json_t *workflow_moves_from(const char *from)
{
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++)
        if (strcmp(moves[i].from, from) == 0)
            json_array_append_new(list, json_string(moves[i].to));
    return list;
}

void policy_print(void)
{
    json_t *list = json_array();
    for (unsigned i = 0; i < policy_rule_count; i++) {
        json_t *roles = json_array();
        for (int r = 0; r < ROLE_COUNT; r++)
            if (policy_rules[i].roles & ALLOW(r))
                json_array_append_new(roles, json_string(auth_role_name((enum auth_role)r)));
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:o, s:b}", "method", policy_rules[i].method,
                                        "path", policy_rules[i].path, "roles", roles, "reads_token",
                                        !policy_ignores_token(&policy_rules[i])));
    }
    json_dumpf(list, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(list);
}
