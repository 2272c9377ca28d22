/* The review workflow of cases: POST /v1/cases/{id}/transitions and GET /v1/cases/{id}/history,
 * through the shared handlers of api/reviews.c. */
#include "api/case_fields.h"
#include "api/cases.h"
#include "api/reviews.h"
#include "api/routes.h"
#include "auth/policy.h"

static int load_case(struct api_ctx *c, json_t **out, json_t **out_case, const char **out_owner,
                     const char *id)
{
    if (case_load_visible(c, out, id) != 0)
        return -1;
    *out_case = NULL;
    *out_owner = json_string_value(json_object_get(*out, "organisation_code"));
    return 0;
}

static void send_case(struct api_ctx *c, int status, const json_t *record, const json_t *kase)
{
    (void)kase;
    case_send(c, status, record);
}

static json_t *present_case(struct api_ctx *c, const json_t *record, const json_t *kase)
{
    (void)kase;
    return case_represent(c, record);
}

static int may_see_history(const struct identity *who, const json_t *record, const json_t *kase)
{
    (void)kase;
    return policy_may_see_history(who, record);
}

static const struct reviewed cases = {
    .load = load_case,
    .send = send_case,
    .present = present_case,
    .may_see_history = may_see_history,
    .noun = "case",
};

void case_transitions_create(struct api_ctx *c)
{
    struct reviewed r = cases;
    r.transition = c->storage->case_transition;
    r.history = c->storage->case_history;
    review_transition(c, &r);
}

void case_history_list(struct api_ctx *c)
{
    struct reviewed r = cases;
    r.transition = c->storage->case_transition;
    r.history = c->storage->case_history;
    review_history(c, &r);
}
