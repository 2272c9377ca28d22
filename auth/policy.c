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

void policy_print(void)
{
    json_t *list = json_array();
    for (unsigned i = 0; i < policy_rule_count; i++) {
        json_t *roles = json_array();
        for (int r = 0; r < ROLE_COUNT; r++)
            if (policy_rules[i].roles & ALLOW(r))
                json_array_append_new(roles, json_string(auth_role_name((enum auth_role)r)));
        json_array_append_new(list, json_pack("{s:s, s:s, s:o, s:b}", "method",
                                              policy_rules[i].method, "path", policy_rules[i].path,
                                              "roles", roles, "reads_token",
                                              !policy_ignores_token(&policy_rules[i])));
    }
    json_dumpf(list, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(list);
}
