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

/* ---- Writing a case by its external key: PUT /v1/organisations/{code}/cases/{external_id}
 * and each item of POST /v1/organisations/{code}/cases:batch decide the same way. ---- */

/* The case document a PUT body (or a batch item) asks for under (code, ext): every writable
 * field (absent ones as null or []), organisation_code and external_id from the key. Every
 * problem with the body goes to `errors` ({field, message}): not an object, unknown or
 * read-only fields, a body organisation_code or external_id other than the key, invalid
 * fields. Returns a new reference, or NULL when `body` is not an object. */
json_t *case_put_document(json_t *errors, const json_t *body, const char *code, const char *ext);

enum case_put_result {
    CASE_PUT_ERROR,     /* refused: status, detail, errors say why */
    CASE_PUT_UNCHANGED, /* the stored case is already as asked: no write, no history */
    CASE_PUT_CREATE,    /* create the document (changed: its fields against an empty case) */
    CASE_PUT_UPDATE,    /* replace `current` with the document (changed: what differs) */
};

struct case_put_plan {
    enum case_put_result result;
    int status;       /* ERROR: the status the request would be answered with (403, 422) */
    char detail[256]; /* ERROR: the problem's detail */
    json_t *errors;   /* ERROR: [{field, message}] for a 422, else empty (owned) */
    json_t *changed;  /* CREATE, UPDATE: the history entry's changed_fields (owned) */
};

/* Decides what writing `doc` (from case_put_document, without errors) over `current` (the
 * stored case with the same key, or NULL) comes to for the caller, writing nothing: the rules
 * between the document and the case (adopters, inspiration) and who may edit the case in its
 * status. Returns COI_OK with *p filled (release with case_put_plan_clear), or a storage error
 * code when the case's adoptions cannot be read. */
int case_put_plan(struct api_ctx *c, struct case_put_plan *p, const json_t *doc,
                  const json_t *current);
void case_put_plan_clear(struct case_put_plan *p);

#endif
