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

/* Ends a write transaction begun with sqlite_begin: when rc is COI_OK commits and hands
 * `record` (owned) to *out (unless out is NULL), otherwise, or when the commit fails, rolls
 * back and drops `record`. Releases `db` (which may be NULL) either way. Returns the final
 * code. */
int sqlite_write_end(struct sqlite_storage *st, sqlite3 *db, int rc, json_t **out, json_t *record);

/* Prepares static SQL text `sql` into *out (finalize it). COI_OK or a mapped error. */
int sqlite_prepare(sqlite3 *db, sqlite3_stmt **out, const char *sql);

/* Binds values[0..n-1] to ?1..?n as text (NULL binds SQL NULL). The strings are borrowed:
 * they must outlive the statement's last step. COI_OK or a mapped error. */
int sqlite_bind_texts(sqlite3 *db, sqlite3_stmt *stmt, const char *const *values, int n);

/* Steps a statement that returns no rows (or whose rows are not needed) to the end. COI_OK or
 * the mapped error, with `field` recorded for constraint failures. */
int sqlite_step_done(sqlite3 *db, sqlite3_stmt *stmt, const char *field, const char *what);

/* The text of column `i` as a JSON string, or JSON null for SQL NULL. NULL when out of
 * memory. New reference. */
json_t *sqlite_column_string(sqlite3_stmt *stmt, int i);

/* The current time as the schema writes it (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) into
 * out[40], so that one write stamps every row it touches with the same instant. */
int sqlite_now(sqlite3 *db, char out[40]);

/* Shared by the case and adoption writes (cases.c), run inside their transaction: the record
 * of case `id` (new reference; COI_ENOTFOUND when absent), and the recomputation of its
 * government_levels, regions_reached and adoption_count from its lead, partners and
 * adoptions. */
int sqlite_case_read(sqlite3 *db, json_t **out, const char *id);
int sqlite_case_derive(sqlite3 *db, const char *id);

/* The callbacks implemented in migrate.c, organisations.c, cases.c, case_writes.c and
 * adoptions.c. */
int sqlite_migrate(struct coi_storage *s, struct coi_migration_report *out,
                   const struct coi_migration *steps, size_t n, enum coi_migrate_mode mode);
int sqlite_organisation_list(struct coi_storage *s, json_t **out, const struct coi_org_query *q);
int sqlite_organisation_get(struct coi_storage *s, json_t **out, const char *code);
int sqlite_organisation_create(struct coi_storage *s, json_t **out, const json_t *org);
int sqlite_organisation_update(struct coi_storage *s, json_t **out, const char *code,
                               const json_t *org, int64_t expected_version);
int sqlite_case_list(struct coi_storage *s, json_t **out, const struct coi_case_query *q);
int sqlite_case_get(struct coi_storage *s, json_t **out, const char *id);
int sqlite_case_get_by_external_id(struct coi_storage *s, json_t **out,
                                   const char *organisation_code, const char *external_id);
int sqlite_case_history(struct coi_storage *s, json_t **out, const char *id, int64_t before_version,
                        int limit);
int sqlite_case_create(struct coi_storage *s, json_t **out, const json_t *c,
                       const struct coi_actor *actor, const json_t *changed_fields);
int sqlite_case_update(struct coi_storage *s, json_t **out, const char *id, const json_t *c,
                       int64_t expected_version, const struct coi_actor *actor,
                       const json_t *changed_fields);
int sqlite_case_transition(struct coi_storage *s, json_t **out, const char *id, const char *to,
                           const char *note, int64_t expected_version,
                           const struct coi_actor *actor);
int sqlite_adoption_create(struct coi_storage *s, json_t **out, const char *case_id,
                           const json_t *a);
int sqlite_adoption_get(struct coi_storage *s, json_t **out, const char *id);
int sqlite_adoption_list(struct coi_storage *s, json_t **out, const char *case_id,
                         const char *after_id, int limit);
int sqlite_adoption_update(struct coi_storage *s, json_t **out, const char *id, const json_t *a,
                           int64_t expected_version);
int sqlite_adoption_delete(struct coi_storage *s, const char *id, int64_t expected_version);

#endif
