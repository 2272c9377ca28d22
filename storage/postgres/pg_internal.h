/* Internals shared by the PostgreSQL backend's files: the backend struct and query helpers. */
#ifndef COI_STORAGE_PG_INTERNAL_H
#define COI_STORAGE_PG_INTERNAL_H

/* Debian installs libpq's headers under postgresql/ and the Makefile adds no -I for it. */
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif
#include <stddef.h>

#include "storage/pool.h"
#include "storage/storage.h"

/* The backend: `base` first, so a `struct coi_storage *` handed to a callback casts back. */
struct pg_storage {
    struct coi_storage base;
    struct pool pool;
    char *conninfo;           /* the URL as given; expanded by libpq (expand_dbname) */
    char connect_timeout[16]; /* seconds, as libpq wants it: a string */
    char options[96];         /* "-c statement_timeout=N -c TimeZone=UTC" */
};

/* Formats a timestamptz column as ISO 8601 UTC with milliseconds, e.g. 2024-05-01T09:30:00.000Z.
 * Sessions run with TimeZone=UTC, but the explicit AT TIME ZONE keeps the text independent
 * of that setting. */
#define PG_ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Takes a connection from the pool (COI_EUNAVAILABLE when none can be had in time). */
int pg_acquire(struct pg_storage *pg, PGconn **out);

/* Gives `conn` back: to the pool when it is healthy and outside any transaction, otherwise
 * closed (the pool opens a fresh one on a later acquire). */
void pg_release(struct pg_storage *pg, PGconn *conn);

/* Runs one parameterised statement (`params` are text, NULL = SQL NULL). On success *out holds
 * the result (PGRES_TUPLES_OK or PGRES_COMMAND_OK) and the caller PQclears it; on failure
 * *out is NULL and the return value is the mapped error (see pg_error). */
int pg_query(PGresult **out, PGconn *conn, const char *sql, int nparams, const char *const *params);

/* Runs a statement without parameters (it may hold several statements, e.g. a migration
 * file) and discards its result. COI_OK or the mapped error. */
int pg_exec(PGconn *conn, const char *sql);

/* Maps a failed result (or NULL when libpq returned none) on `conn` to a coi error, sets the
 * thread's error detail and returns the code. Unexpected errors are logged to stderr. */
int pg_error(PGconn *conn, const PGresult *res);

/* The server's primary message of a failed result, or a short fallback; borrowed from `res`. */
const char *pg_error_message(PGconn *conn, const PGresult *res);

/* Writes one JSON log line {"level":..., "msg":..., <key>:<value>} to stderr. */
void pg_log(const char *level, const char *msg, const char *key, const char *value);

/* Callbacks implemented in migrations.c and organisations.c. */
int pg_migrate(struct coi_storage *s, struct coi_migration_report *out,
               const struct coi_migration *steps, size_t n, enum coi_migrate_mode mode);
int pg_organisation_list(struct coi_storage *s, json_t **out, const struct coi_org_query *q);
int pg_organisation_get(struct coi_storage *s, json_t **out, const char *code);
int pg_organisation_create(struct coi_storage *s, json_t **out, const json_t *org);
int pg_organisation_update(struct coi_storage *s, json_t **out, const char *code, const json_t *org,
                           int64_t expected_version);

#endif
