/* Who may do what: the one place that decides access (route table + object rules). */
#ifndef COI_POLICY_H
#define COI_POLICY_H

#include <jansson.h>

#include "auth/identity.h"

#define ALLOW(role) (1u << (role))

/* A route marked NO_TOKEN is open to everyone and never reads the Authorization header or the
 * query: probes and the API document must answer whatever a caller sends, and must not depend
 * on the storage that checking a partner's organisation needs. */
#define NO_TOKEN (1u << 31)

struct policy_rule {
    const char *method;
    const char *path; /* the route template, as in api/routes.c */
    unsigned roles;   /* ALLOW(ROLE_...) bits of the roles that may call the route */
};

extern const struct policy_rule policy_rules[];
extern const unsigned policy_rule_count;

/* The rule for a route, or NULL: a route without a rule is denied to everyone. */
const struct policy_rule *policy_find(const char *method, const char *path);

/* 1 when the route of `rule` is NO_TOKEN. */
int policy_ignores_token(const struct policy_rule *rule);

/* 1 when `who` may call the route of `rule` (0 for a NULL rule). */
int policy_allows(const struct policy_rule *rule, const struct identity *who);

/* ---- Object rules (the object is passed as its storage record) ---- */

/* Cases: the public sees published cases; a partner also every case its organisation leads or
 * takes part in; editors, admins and steering members see all. A case a caller may not see is
 * answered 404 (no existence leak). */
int policy_may_see_case(const struct identity *who, const json_t *record);

/* Partners create cases only for their own organisation; editors and admins for any. */
int policy_may_create_case(const struct identity *who, const char *organisation_code);

/* Editors and admins edit at any time; a partner its own organisation's cases while draft or
 * changes_requested. */
int policy_may_edit_case(const struct identity *who, const json_t *record);

/* History: the owner organisation (partner), editors, admins and steering members. */
int policy_may_see_history(const struct identity *who, const json_t *record);

/* Adoptions are recorded by editors and admins for anyone, by a partner for its own
 * organisation only. */
int policy_may_write_adoption(const struct identity *who, const char *organisation_code);

/* Evaluations (each with the case it belongs to): editors, admins and steering members see
 * all; others see an evaluation of a case they may see when it is published, and the case's
 * own organisation (partner) sees all of its case's evaluations. */
int policy_may_see_evaluation(const struct identity *who, const json_t *evaluation,
                              const json_t *kase);

/* Editors and admins add evaluations to any case; a partner to its own organisation's cases. */
int policy_may_add_evaluation(const struct identity *who, const json_t *kase);

/* Editors and admins edit and delete at any time; the case's organisation (partner) while the
 * evaluation is not yet published (nor archived). */
int policy_may_edit_evaluation(const struct identity *who, const json_t *evaluation,
                               const json_t *kase);

/* ---- The review workflow, shared by every reviewed resource ---- */

/* 1 when the workflow has a move from `from` to `to`. */
int workflow_has_move(const char *from, const char *to);

/* 1 when the move needs a note (changes_requested). */
int workflow_needs_note(const char *to);

/* 1 when `who` may make the move on an object owned by `owner_org`. */
int policy_may_move(const struct identity *who, const char *owner_org, const char *from,
                    const char *to);

/* The moves the workflow has from `from`, as a JSON array of status names (new reference). */
json_t *workflow_moves_from(const char *from);

/* Prints the rule of each route as a JSON array of {method, path, roles: [names],
 * reads_token}. */
void policy_print(void);

#endif
