/* The review workflow over HTTP, shared by every reviewed resource (cases, evaluations):
 * POST .../{id}/transitions and GET .../{id}/history. The rules live in auth/policy.c. */
#ifndef COI_REVIEWS_H
#define COI_REVIEWS_H

#include "api/http.h"

/* What the shared handlers need to know of one reviewed resource. */
struct reviewed {
    /* Loads the object `id` the caller may see (else sends 404 and returns -1); *out_owner
     * gets the organisation code that owns it (borrowed from *out or *out_case). *out_case
     * is the case it belongs to (a new reference, or NULL for a case itself). */
    int (*load)(struct api_ctx *c, json_t **out, json_t **out_case, const char **out_owner,
                const char *id);
    /* Sends the object (borrowed) as the response with `status`. */
    void (*send)(struct api_ctx *c, int status, const json_t *record, const json_t *kase);
    /* The representation used for If-Match (new reference); NULL when it cannot be made (a
     * problem was sent). */
    json_t *(*present)(struct api_ctx *c, const json_t *record, const json_t *kase);
    int (*may_see_history)(const struct identity *who, const json_t *record, const json_t *kase);
    int (*transition)(struct coi_storage *s, json_t **out, const char *id, const char *to,
                      const char *note, int64_t expected_version, const struct coi_actor *actor);
    int (*history)(struct coi_storage *s, json_t **out, const char *id, int64_t before_version,
                   int limit);
    const char *noun; /* "case", "evaluation" */
};

/* POST .../{id}/transitions {"to", "note"}. */
void review_transition(struct api_ctx *c, const struct reviewed *r);

/* GET .../{id}/history. */
void review_history(struct api_ctx *c, const struct reviewed *r);

#endif
