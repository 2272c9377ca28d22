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

/* Lowercases one code point of the ranges Danish text uses: ASCII, Latin-1 Supplement and
 * Latin Extended-A (simple one-to-one Unicode mappings). Other code points are returned as is.
 * The UTF-8 encoding of the result is never longer than that of `c`. */
unsigned sqlite_fold_code_point(unsigned c);

/* Registers the FTS5 tokenizer "danish" and the rank function coi_rank on `db` (fts_danish.c):
 * words are runs of ASCII letters and digits and of non-ASCII letters, lowercased, without
 * PostgreSQL's Danish stop words, stemmed by Snowball's Danish stemmer. COI_OK or
 * COI_EUNAVAILABLE. */
int sqlite_fts_register(sqlite3 *db);

/* 1 when `text` holds a word the tokenizer indexes (one that is not a stop word). */
int sqlite_fts_indexes(const char *text);

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

/* BEGIN (deferred): a read transaction, whose snapshot is taken by its first read and kept
 * until sqlite_rollback, so that several statements see the same committed state. */
int sqlite_begin_read(sqlite3 *db);

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

/* Column `i` parsed as JSON text (new reference), NULL when it is NULL or does not parse. */
json_t *sqlite_column_json(sqlite3_stmt *stmt, int i);

/* COI_EINVALID when a string anywhere in input `v` holds a NUL character, else COI_OK.
 * PostgreSQL can store no NUL in text or jsonb; refusing it here too keeps both backends
 * accepting the same data. */
int sqlite_check_no_nul(const json_t *v);

/* The current time as the schema writes it (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) into
 * out[40], so that one write stamps every row it touches with the same instant. */
int sqlite_now(sqlite3 *db, char out[40]);

/* Shared by the case and adoption writes (cases.c), run inside their transaction: the record
 * of case `id` (new reference; COI_ENOTFOUND when absent), and the recomputation of its
 * government_levels, regions_reached and adoption_count from its lead, partners and
 * adoptions. */
int sqlite_case_read(sqlite3 *db, json_t **out, const char *id);
int sqlite_case_derive(sqlite3 *db, const char *id);

/* What every read of a case selects (cases.c), from a case aliased `c`: SQLITE_CASE_COLUMN_COUNT
 * columns that sqlite_case_from_row turns into the record (new reference in *out). */
#define SQLITE_CASE_COLUMNS                                                                        \
    "c.id, c.organisation_code, c.external_id, c.doc, c.status, c.government_levels,"              \
    " c.adoption_count, c.regions_reached, c.version, c.created_at, c.updated_at,"                 \
    " c.published_at, (SELECT json_group_array(json_array(p.position, p.organisation_code))"       \
    " FROM case_partners p WHERE p.case_id = c.id)"
#define SQLITE_CASE_COLUMN_COUNT 13
int sqlite_case_from_row(json_t **out, sqlite3_stmt *stmt);

/* The visibility rule of struct coi_case_query and struct coi_evaluation_query as SQL
 * conditions on a case aliased `c` and one of its evaluations aliased `e`, with ?1 bound to
 * see_all (0/1) and ?2 to viewer_org (text or NULL). SQLITE_EVALUATION_SHOWN is the
 * evaluation's own part, which is only complete combined with SQLITE_CASE_VISIBLE. */
#define SQLITE_CASE_VISIBLE                                                                        \
    "(?1 OR c.status = 'published' OR (?2 IS NOT NULL AND (c.organisation_code = ?2 OR EXISTS ("   \
    " SELECT 1 FROM case_partners v WHERE v.case_id = c.id AND v.organisation_code = ?2))))"
#define SQLITE_EVALUATION_SHOWN                                                                    \
    "(?1 OR e.status = 'published' OR (?2 IS NOT NULL AND c.organisation_code = ?2))"

/* The record of evaluation `id` (evaluations.c), read inside the caller's transaction: new
 * reference, COI_ENOTFOUND when absent. */
int sqlite_evaluation_read(sqlite3 *db, json_t **out, const char *id);

/* One history entry (history.c), of a case or an evaluation: `id` is the owner's id; `from`,
 * `note` may be NULL and `changed_fields` NULL means none. Strings are borrowed. */
struct sqlite_history_entry {
    const char *id;
    int64_t version;
    const char *at;
    const struct coi_actor *actor;
    const char *action, *from, *to, *note;
    const json_t *changed_fields;
};

/* Appends `e` inside the caller's transaction with static INSERT `sql`, whose ?1..?9 are the
 * owner id, version, at, actor (stored as {sub, role, party?, org?}), action, from_status,
 * to_status, note and changed_fields. */
int sqlite_history_append(sqlite3 *db, const char *sql, const struct sqlite_history_entry *e);

/* The stored version and status (into status[32]) of a reviewed object, read with static `sql`
 * (?1 the id; selecting version, status), checked against `expected_version` (-1: any).
 * COI_ENOTFOUND ("no <what> with id ..."), COI_ECONFLICT or COI_OK. */
int sqlite_check_version(sqlite3 *db, const char *sql, const char *what, const char *id,
                         int64_t expected_version, int64_t *version, char status[32]);

/* One page of history into *out (new reference): runs static `sql`, which takes ?1 the owner
 * id, ?2 before_version (<= 0: from the newest), ?3 the limit (-1: none) and selects version,
 * at, actor, action, from_status, to_status, note, changed_fields from the owner LEFT JOINed
 * to its history, so that an owner without matching entries gives one all-NULL row and a
 * missing owner none (COI_ENOTFOUND "no <what> with id ..."). */
int sqlite_history_read(sqlite3 *db, json_t **out, const char *sql, const char *id,
                        int64_t before_version, int limit, const char *what);

/* Who may see an object of the change feed (changes.c), read inside the caller's transaction
 * before and after a write. `found` is 0 when the object does not exist (before a create,
 * after a delete): nothing sees it then. `orgs` is a JSON array text (owned, NULL = "[]");
 * `lead` the lead organisation of the object's case (owned, NULL when not found). */
struct sqlite_visibility {
    int found;
    char case_id[40];
    int64_t version;
    int is_public;
    char *orgs;
    char *lead;
};

/* Reads the visibility of object `id` of `type` (a COI_CHANGE_* bit) into *out (free it with
 * sqlite_visibility_free, also after a failure). */
int sqlite_visibility_read(sqlite3 *db, unsigned type, const char *id,
                           struct sqlite_visibility *out);
void sqlite_visibility_free(struct sqlite_visibility *v);

/* Appends the change row of a write of object `id` of `type`, inside the writing transaction,
 * after the write: `before` is what sqlite_visibility_read gave before it (found 0 for a
 * create); the visibility after, the case and the version are read now (those of `before`
 * after a delete). `at` is the write's timestamp (NULL: now). */
int sqlite_change_append(sqlite3 *db, unsigned type, const char *id, const char *action,
                         const char *at, const struct sqlite_visibility *before);

/* After a write of case `case_id` (an update, or a transition that changed whether it is
 * published) and its own change row: one "updated" row for each of its evaluations and
 * adoptions whose visibility differs between `before` (what sqlite_visibility_read gave for
 * the case before the write) and the case as it is now. `at` as for sqlite_change_append. */
int sqlite_change_cascade(sqlite3 *db, const char *case_id, const char *at,
                          const struct sqlite_visibility *before);

/* case_create and case_update inside a transaction the caller owns (case_writes.c): the same
 * checks, history and change row; *out is the record written (new reference). On failure the
 * caller must roll back (part of the write may have been done). */
int sqlite_case_create_in(sqlite3 *db, json_t **out, const json_t *c, const struct coi_actor *actor,
                          const json_t *changed_fields);
int sqlite_case_update_in(sqlite3 *db, json_t **out, const char *id, const json_t *c,
                          int64_t expected_version, const struct coi_actor *actor,
                          const json_t *changed_fields);

/* The callbacks implemented in migrate.c, organisations.c, cases.c, case_search.c,
 * case_writes.c, adoptions.c, evaluations.c and evaluation_writes.c. */
int sqlite_migrate(struct coi_storage *s, struct coi_migration_report *out,
                   const struct coi_migration *steps, size_t n, enum coi_migrate_mode mode);
int sqlite_organisation_list(struct coi_storage *s, json_t **out, const struct coi_org_query *q);
int sqlite_organisation_get(struct coi_storage *s, json_t **out, const char *code);
int sqlite_organisation_create(struct coi_storage *s, json_t **out, const json_t *org);
int sqlite_organisation_update(struct coi_storage *s, json_t **out, const char *code,
                               const json_t *org, int64_t expected_version);
int sqlite_case_list(struct coi_storage *s, json_t **out, const struct coi_case_query *q);
int sqlite_case_count(struct coi_storage *s, int64_t *out, const struct coi_case_query *q);
int sqlite_case_facets(struct coi_storage *s, json_t **out, const struct coi_case_query *q);
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
int sqlite_evaluation_get(struct coi_storage *s, json_t **out, const char *id);
int sqlite_evaluation_list(struct coi_storage *s, json_t **out,
                           const struct coi_evaluation_query *q);
int sqlite_evaluation_history(struct coi_storage *s, json_t **out, const char *id,
                              int64_t before_version, int limit);
int sqlite_evaluation_summaries(struct coi_storage *s, json_t **out, const char *const *case_ids,
                                size_t n, const struct coi_evaluation_query *q);
int sqlite_evaluation_create(struct coi_storage *s, json_t **out, const char *case_id,
                             const json_t *e, const struct coi_actor *actor,
                             const json_t *changed_fields);
int sqlite_evaluation_update(struct coi_storage *s, json_t **out, const char *id, const json_t *e,
                             int64_t expected_version, const struct coi_actor *actor,
                             const json_t *changed_fields);
int sqlite_evaluation_transition(struct coi_storage *s, json_t **out, const char *id,
                                 const char *to, const char *note, int64_t expected_version,
                                 const struct coi_actor *actor);
int sqlite_evaluation_delete(struct coi_storage *s, const char *id, int64_t expected_version);

/* The partner-system callbacks: changes.c, cases.c, case_batch.c, audit.c, idempotency.c. */
int sqlite_change_list(struct coi_storage *s, json_t **out, int64_t *next_seq,
                       const struct coi_change_query *q);
int sqlite_change_head(struct coi_storage *s, int64_t *out);
int sqlite_case_get_by_external_ids(struct coi_storage *s, json_t **out,
                                    const char *organisation_code, const char *const *external_ids,
                                    size_t n);
int sqlite_case_write_batch(struct coi_storage *s, struct coi_case_write *ops, size_t n,
                            const struct coi_actor *actor);
int sqlite_audit_append(struct coi_storage *s, const struct coi_audit_entry *e);
int sqlite_audit_list(struct coi_storage *s, json_t **out, const struct coi_audit_query *q);
int sqlite_idempotency_claim(struct coi_storage *s, json_t **out, const char *sub, const char *key,
                             const char *request_hash, int ttl_seconds, int stale_seconds);
int sqlite_idempotency_complete(struct coi_storage *s, const char *sub, const char *key, int status,
                                const json_t *headers, const char *body);
int sqlite_idempotency_release(struct coi_storage *s, const char *sub, const char *key);

#endif
