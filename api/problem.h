/* RFC 9457 problem responses, and the one place that maps error codes to HTTP statuses. */
#ifndef COI_PROBLEM_H
#define COI_PROBLEM_H

#include <jansson.h>

struct api_ctx;

/* Builds a problem object {type, title, status, detail, instance, request_id} for `status`.
 * `instance` and `request_id` may be NULL. Returns a new reference. */
json_t *problem_body(int status, const char *detail, const char *instance, const char *request_id);

/* Sends a problem for `status` with a printf-style detail. */
void problem_send(struct api_ctx *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends the problem registered under `slug` (e.g. "idempotency-key-reused"), with its own
 * status and title, and a printf-style detail. An unknown slug sends a 500. */
void problem_send_kind(struct api_ctx *c, const char *slug, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends 422 with `errors` (stolen: an array of {field, message}) and `detail`. */
void problem_send_errors(struct api_ctx *c, json_t *errors, const char *detail);

/* Appends {field, message} to an error list. */
void problem_add_error(json_t *errors, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends the problem that a storage/helper error code `rc` (enum coi_error) stands for, using
 * coi_error_detail() and coi_error_field(): ENOTFOUND 404, EEXISTS 409, EINVALID 422,
 * ECONFLICT 412, EUNAVAILABLE 503 with Retry-After, anything else 500 (detail logged, not
 * shown). */
void problem_from_error(struct api_ctx *c, int rc);

/* The HTTP status that an error code stands for. */
int problem_status_for_error(int rc);

/* Sends an already built problem object (stolen) as application/problem+json. */
void problem_send_json(struct api_ctx *c, int status, json_t *body);

#endif
