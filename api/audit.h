/* The audit log: who wrote what, allowed or refused (written by the request pipeline). */
#ifndef COI_AUDIT_H
#define COI_AUDIT_H

#include "api/http.h"

/* Appends the audit entry of an answered request (c->status set) whose method is not GET or
 * HEAD: when the caller was authenticated (any status), or when the answer is 401 and the
 * request carried an Authorization header (then without the untrusted identity). One storage
 * round trip; a failure is logged and changes nothing else. */
void audit_log_record(struct api_ctx *c);

#endif
