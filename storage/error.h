/* Error codes shared by the storage layer and the API, with a per-thread detail message. */
#ifndef COI_STORAGE_ERROR_H
#define COI_STORAGE_ERROR_H

/* Every storage and helper function returns 0 on success or one of these (negative). The API
 * maps them to HTTP statuses in exactly one place: api/problem.c (problem_from_error). */
enum coi_error {
    COI_OK = 0,
    COI_ERROR = -1,        /* unexpected internal failure (500) */
    COI_ENOTFOUND = -2,    /* no such object (404) */
    COI_EEXISTS = -3,      /* unique key taken (409) */
    COI_EINVALID = -4,     /* input refused by a rule the storage enforces (422) */
    COI_ECONFLICT = -5,    /* optimistic concurrency: the object changed meanwhile (412) */
    COI_EUNAVAILABLE = -6, /* storage unreachable or pool exhausted (503 + Retry-After) */
    COI_ENOMEM = -7,       /* out of memory (500) */
    COI_EMIGRATION = -8,   /* schema migrations missing, changed or unknown (start-up refuses) */
};

/* Records the detail of the error being returned, for this thread only. `field` names the
 * input field concerned (NULL when none). Returns `code` so callers can write
 * `return coi_error_set(COI_EINVALID, "region_code", "no such region: %s", rc);`. */
int coi_error_set(int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The detail and field of the last coi_error_set on this thread ("" / NULL when none).
 * The strings live in thread-local storage until the next coi_error_set or coi_error_clear. */
const char *coi_error_detail(void);
const char *coi_error_field(void);
void coi_error_clear(void);

/* Short constant name of a code, for logs ("ENOTFOUND"). */
const char *coi_error_name(int code);

#endif
