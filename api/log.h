/* Structured logging: one JSON object per line on stderr. */
#ifndef COI_LOG_H
#define COI_LOG_H

#include <jansson.h>

#include "api/config.h"

void log_set_level(enum log_level level);

/* Writes {"time", "level", "msg", ...fields} as one line; `fields` (may be NULL) is borrowed. */
void log_event(enum log_level level, const char *msg, json_t *fields);

/* Convenience: a message with printf formatting and no extra fields. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current time as ISO 8601 UTC with milliseconds, into buf (at least 32 bytes). */
void log_now_iso(char *buf, size_t len);

#endif
