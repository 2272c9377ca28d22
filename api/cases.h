/* Helpers shared by the case handlers (api/cases.c, api/case_reviews.c, api/adoptions.c). */
#ifndef COI_CASES_H
#define COI_CASES_H

#include "api/http.h"

/* The storage actor for the caller (borrowing c->who). */
struct coi_actor case_actor(const struct api_ctx *c);

/* Loads case `id` into *out when it exists and the caller may see it; otherwise sends 404 (or
 * the storage error) and returns -1. */
int case_load_visible(struct api_ctx *c, json_t **out, const char *id);

/* The visibility fields (see_all, viewer_org) of an evaluation query for the caller. */
struct coi_evaluation_query case_viewer(const struct api_ctx *c);

/* The evaluation summaries of the cases in `records` (an array), for the caller: an object by
 * case id (new reference), or NULL when storage fails (a problem was sent). */
json_t *case_summaries(struct api_ctx *c, const json_t *records);

/* The case's representation for the caller (with its evaluation_summary), a new reference;
 * NULL when the summary cannot be read (a problem was sent). */
json_t *case_represent(struct api_ctx *c, const json_t *record);

/* Sends the case (a storage record, borrowed) with its ETag; for 200, answers 304 when
 * If-None-Match lists it. */
void case_send(struct api_ctx *c, int status, const json_t *record);

#endif
