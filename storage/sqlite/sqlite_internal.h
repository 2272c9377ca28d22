/* Shared internals of the SQLite backend: the backend struct, connection and error helpers. */
#ifndef COI_STORAGE_SQLITE_INTERNAL_H
#define COI_STORAGE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "storage/pool.h"
#include "storage/storage.h"

/* The backend: `base` comes first so callbacks cast a `struct coi_storage *` back to this. */
struct sqlite_storage {
    struct coi_storage base;
    struct pool pool;
    char *path;          /* database file, owned */
    int busy_timeout_ms; /* how long a statement waits for a lock held by another connection */
};

static inline struct sqlite_storage *sqlite_storage_from(struct coi_storage *s)
{
    return (struct sqlite_storage *)s;
}

/* Takes a connection from the pool (COI_EUNAVAILABLE on timeout). Give it back with
 * sqlite_conn_release, which closes it if a transaction was left open. */
int sqlite_conn_acquire(struct sqlite_storage *st, sqlite3 **out);
void sqlite_conn_release(struct sqlite_storage *st, sqlite3 *db);

/* Maps a failed SQLite result code `rc` to a coi_error and records the detail: unique/primary
 * key -> COI_EEXISTS, foreign key/check/not null -> COI_EINVALID, busy/locked (after the busy
 * timeout) -> COI_EUNAVAILABLE, no memory -> COI_ENOMEM, anything else COI_ERROR with
 * "<what>: <SQLite message>". `field` is recorded for the constraint cases. Returns the code. */
int sqlite_fail(sqlite3 *db, int rc, const char *field, const char *what);

/* BEGIN IMMEDIATE (takes the write lock up front, so a transaction never has to upgrade a read
 * lock and fail with SQLITE_BUSY half-way), COMMIT and ROLLBACK. begin/commit return COI_OK or
 * a mapped error; commit rolls back when it fails. rollback is a no-op outside a transaction. */
int sqlite_begin(sqlite3 *db);
int sqlite_commit(sqlite3 *db);
void sqlite_rollback(sqlite3 *db);

/* Prepares static SQL text `sql` into *out (finalize it). COI_OK or a mapped error. */
int sqlite_prepare(sqlite3 *db, sqlite3_stmt **out, const char *sql);

/* The callbacks implemented in migrate.c and organisations.c. */
int sqlite_migrate(struct coi_storage *s, struct coi_migration_report *out,
                   const struct coi_migration *steps, size_t n, enum coi_migrate_mode mode);
int sqlite_organisation_list(struct coi_storage *s, json_t **out, const struct coi_org_query *q);
int sqlite_organisation_get(struct coi_storage *s, json_t **out, const char *code);
int sqlite_organisation_create(struct coi_storage *s, json_t **out, const json_t *org);
int sqlite_organisation_update(struct coi_storage *s, json_t **out, const char *code,
                               const json_t *org, int64_t expected_version);

#endif
