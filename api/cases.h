/* Helpers shared by the case handlers (api/cases.c, api/case_reviews.c, api/adoptions.c). */
#ifndef COI_CASES_H
#define COI_CASES_H

#include "api/http.h"

/* The storage actor for the caller (borrowing c->who). */
struct coi_actor case_actor(const struct api_ctx *c);

/* Loads case `id` into *out when it exists and the caller may see it; otherwise sends 404 (or
 * the storage error) and returns -1. */
int case_load_visible(struct api_ctx *c, json_t **out, const char *id);

#endif
