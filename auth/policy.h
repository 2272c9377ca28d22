/* Who may do what: the one place that decides access (route table + object rules). */
#ifndef COI_POLICY_H
#define COI_POLICY_H

#include "auth/identity.h"

#define ALLOW(role) (1u << (role))

/* A route marked NO_TOKEN is open to everyone and never reads the Authorization header or the
 * query: probes and the API document must answer whatever a caller sends, and must not depend
 * on the storage that checking a partner's organisation needs. */
#define NO_TOKEN (1u << 31)

struct policy_rule {
    const char *method;
    const char *path;   /* the route template, as in api/routes.c */
    unsigned roles;     /* ALLOW(ROLE_...) bits of the roles that may call the route */
};

extern const struct policy_rule policy_rules[];
extern const unsigned policy_rule_count;

/* The rule for a route, or NULL: a route without a rule is denied to everyone. */
const struct policy_rule *policy_find(const char *method, const char *path);

/* 1 when the route of `rule` is NO_TOKEN. */
int policy_ignores_token(const struct policy_rule *rule);

/* 1 when `who` may call the route of `rule` (0 for a NULL rule). */
int policy_allows(const struct policy_rule *rule, const struct identity *who);

/* Prints the rule of each route as a JSON array of {method, path, roles: [names],
 * reads_token}. */
void policy_print(void);

#endif
