/* Files compiled into the binary at build time (scripts/embed.py): migrations, OpenAPI. */
#ifndef COI_EMBEDDED_H
#define COI_EMBEDDED_H

#include <stddef.h>

struct coi_embedded_file {
    const char *path; /* relative to the repository root, e.g. "migrations/sqlite/0001_x.sql" */
    const char *data; /* NUL-terminated content */
    size_t length;    /* without the NUL */
};

extern const struct coi_embedded_file coi_embedded_files[];
extern const size_t coi_embedded_count;

/* The embedded file at `path`, or NULL. */
const struct coi_embedded_file *coi_embedded_find(const char *path);

#endif
