/* Idempotency-Key on POST routes: a retried request gets the first answer again instead of
 * running twice. */
#ifndef COI_IDEMPOTENCY_H
#define COI_IDEMPOTENCY_H

#include "api/http.h"

/* How long a stored answer is replayed. */
#define IDEMPOTENCY_TTL_SECONDS (24 * 60 * 60)
/* How long a claimed key may stay in progress before a retry may take it over (the first
 * request is then taken to have died without an answer). */
#define IDEMPOTENCY_STALE_SECONDS 60

/* Runs before the handler of a POST route, for a caller with a sub that sent an
 * Idempotency-Key. Returns 0 when the handler is to run; *claimed_key is then the key claimed
 * for this request (borrowed from the request headers) or NULL when there is none. Returns -1
 * when an answer was sent instead: the stored answer of an earlier request with the same key
 * and fingerprint (with Idempotent-Replayed: true), 400 for a malformed key, 409 (Retry-After)
 * while the first request with the key is still running, 422 when the key was used for a
 * different request, or the storage error's status. */
int idempotency_begin(struct api_ctx *c, const char **claimed_key);

/* Runs after the handler: stores the answer under `claimed_key` (NULL: nothing to do) when its
 * status is below 500, else releases the key so that a retry runs again. A storage failure is
 * logged; the answer is sent as it is. */
void idempotency_end(struct api_ctx *c, const char *claimed_key);

#endif
