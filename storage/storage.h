/* The storage interface: a versioned table of operations that each backend implements. */
#ifndef COI_STORAGE_H
#define COI_STORAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/error.h"

/* A backend is a struct that starts with this one (libgit2 style): the implementation embeds
 * `struct coi_storage` as its FIRST member and casts back in its callbacks. `version` must be
 * COI_STORAGE_VERSION; storage_register refuses a wrong version or a missing callback.
 *
 * Records cross the interface as jansson objects whose keys are the API's field names, plus
 * an integer "version" (bumped on every write, used for ETags and If-Match). Every `json_t **out`
 * receives a NEW reference that the caller must json_decref. Inputs are borrowed.
 *
 * All callbacks are safe to call from many threads at once (each backend pools connections).
 * They return COI_OK or a negative enum coi_error, with coi_error_set describing the failure;
 * COI_EUNAVAILABLE means "try again later" (the database is down or the pool is exhausted). */

#define COI_STORAGE_VERSION 1

enum coi_migrate_mode {
    COI_MIGRATE_APPLY,  /* verify applied steps, then apply pending ones */
    COI_MIGRATE_VERIFY, /* verify applied steps and report pending ones; change nothing */
};

/* One migration step, built from the files embedded at build time (storage/migrate.c). */
struct coi_migration {
    int number;            /* NNNN of the file name */
    const char *name;      /* file name, e.g. "0001_organisations.sql" */
    const char *text;      /* file content (NUL-terminated) */
    size_t length;
    char checksum[17];     /* FNV-1a 64 of the content, hex */
    int is_csv;            /* 1: NNNN_seed_<table>.csv rows inserted into <table> */
    const char *csv_table; /* for CSV steps: the table name taken from the file name */
};

/* What migrate found, one entry per known step. Caller frees with storage_migration_report_free. */
struct coi_migration_report {
    size_t count;
    struct {
        int number;
        char name[96];
        int applied;         /* 1 when recorded in schema_migrations */
        int applied_now;     /* 1 when this call applied it */
        char applied_at[40]; /* ISO 8601, "" when pending */
    } *steps;
};

/* Filters for listing organisations. NULL/0 means "no filter". Rows come ordered by code;
 * `after_code` is the keyset cursor (exclusive). At most `limit` rows are returned. */
struct coi_org_query {
    const char *kind;
    const char *region_code;
    const char *name_contains; /* case-insensitive substring of name */
    const char *after_code;
    int limit;
};

struct coi_storage {
    unsigned int version;
    const char *backend; /* "sqlite" or "postgres" */

    /* Releases every resource; `s` is invalid afterwards. */
    void (*close)(struct coi_storage *s);

    /* COI_OK when the database answers a trivial query now. */
    int (*ping)(struct coi_storage *s);

    /* Applies or verifies `steps` (sorted by number) inside transactions, recording each in
     * schema_migrations with its checksum. COI_EMIGRATION when an applied step's checksum
     * differs or the database knows a step this binary does not. `out` may be NULL. */
    int (*migrate)(struct coi_storage *s, struct coi_migration_report *out,
                   const struct coi_migration *steps, size_t n, enum coi_migrate_mode mode);

    /* Organisations. A record: {code, name, kind, region_code|null, created_at, updated_at,
     * version}. create/update take an object with code, name, kind, region_code (already
     * validated for shape); they check that region_code names an organisation of kind
     * "region" (COI_EINVALID, field "region_code"). update matches expected_version unless it
     * is -1 (COI_ECONFLICT when the stored version differs). */
    int (*organisation_list)(struct coi_storage *s, json_t **out, const struct coi_org_query *q);
    int (*organisation_get)(struct coi_storage *s, json_t **out, const char *code);
    int (*organisation_create)(struct coi_storage *s, json_t **out, const json_t *org);
    int (*organisation_update)(struct coi_storage *s, json_t **out, const char *code,
                               const json_t *org, int64_t expected_version);
};

/* Opens the backend named by the URL scheme: "sqlite:PATH" or "postgresql://..." /
 * "postgres://...". `pool_size` bounds concurrent connections; `acquire_timeout_ms` bounds
 * the wait for one; `statement_timeout_ms` bounds each statement (PostgreSQL).
 * On success *out owns the backend (free with storage_close). */
struct coi_storage_options {
    int pool_size;
    int acquire_timeout_ms;
    int statement_timeout_ms;
    int connect_timeout_s;
};
int storage_open(struct coi_storage **out, const char *url, const struct coi_storage_options *o);
void storage_close(struct coi_storage *s);

/* Checks a backend's version and required callbacks. COI_EINVALID when incomplete. */
int storage_register(const struct coi_storage *s);

/* Backend constructors, called by storage_open. */
int storage_sqlite_open(struct coi_storage **out, const char *path,
                        const struct coi_storage_options *o);
int storage_postgres_open(struct coi_storage **out, const char *conninfo,
                          const struct coi_storage_options *o);

/* The embedded migration steps of a backend ("sqlite" or "postgres"), sorted by number.
 * The returned array is static; do not free. */
const struct coi_migration *storage_migrations(const char *backend, size_t *count);

/* Runs s->migrate with this binary's steps for s's backend. */
int storage_migrate(struct coi_storage *s, struct coi_migration_report *out,
                    enum coi_migrate_mode mode);
void storage_migration_report_free(struct coi_migration_report *r);

/* Parses a CSV step into rows: a header row naming the columns, then values; empty fields
 * become NULL. Quoted fields ("a,b" and "" escapes) are supported. On success *out is a JSON
 * array of arrays of strings/null, row 0 the header (caller decrefs). */
int storage_csv_parse(json_t **out, const char *text, size_t length);

#endif
