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
    char options[256];        /* "-c statement_timeout=N -c TimeZone=UTC ..." */
    unsigned claims;          /* idempotency claims made, for the occasional purge (atomic) */
};

/* Formats a timestamptz column as ISO 8601 UTC with milliseconds, e.g. 2024-05-01T09:30:00.000Z.
 * Sessions run with TimeZone=UTC, but the explicit AT TIME ZONE keeps the text independent
 * of that setting. */
#define PG_ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The case record of the row aliased `c`, as a jsonb object: the content fields of `doc`
 * plus the columns, partners in the order the writer gave them (PG_CASE_OBJECT_WITH: taken
 * from `partners`, a jsonb array, instead). (clang-format would break the lines around each
 * PG_ISO_UTC: kept one per column by hand.) */
/* clang-format off */
#define PG_CASE_OBJECT_WITH(partners)                                                              \
    "(c.doc || jsonb_build_object('id', c.id, 'organisation_code', c.organisation_code,"           \
    " 'external_id', c.external_id, 'partner_organisation_codes', " partners ","                   \
    " 'status', c.status,"                                                                         \
    " 'government_levels', to_jsonb(c.government_levels), 'adoption_count', c.adoption_count,"     \
    " 'regions_reached', to_jsonb(c.regions_reached), 'version', c.version,"                       \
    " 'published_at', " PG_ISO_UTC("c.published_at") ","                                           \
    " 'updated_at', " PG_ISO_UTC("c.updated_at") ","                                               \
    " 'created_at', " PG_ISO_UTC("c.created_at") "))"
#define PG_CASE_OBJECT                                                                             \
    PG_CASE_OBJECT_WITH("COALESCE((SELECT jsonb_agg(p.organisation_code ORDER BY p.position)"      \
                        " FROM case_partners p WHERE p.case_id = c.id), '[]'::jsonb)")
/* clang-format on */

/* The organisations that may see the case row `c` although it is not published: its lead, then
 * its partners in the writer's order, as a text[]. Also what the derived columns start from. */
#define PG_CASE_ORGS(c)                                                                            \
    "(ARRAY[" c ".organisation_code] || ARRAY(SELECT p.organisation_code FROM case_partners p"     \
    " WHERE p.case_id = " c ".id ORDER BY p.position))"

/* The derived columns of cases (see struct coi_storage) from `codes`, a relation of (key,
 * code, adopter): per case (key), its lead and partners (adopter false) and the organisations
 * of its live adoptions (true). One row per key: key, government_levels, adoption_count,
 * regions_reached. Set-based, so that a batch looks its organisations up in one join; sorted
 * with COLLATE "C" (by bytes whatever the database's collation, as SQLite does). */
#define PG_DERIVED(codes)                                                                          \
    "SELECT x.key, COALESCE(array_agg(DISTINCT l.level ORDER BY l.level)"                          \
    " FILTER (WHERE NOT x.adopter AND l.level IS NOT NULL), '{}') AS government_levels,"           \
    " count(*) FILTER (WHERE x.adopter) AS adoption_count,"                                        \
    " COALESCE(array_agg(DISTINCT l.region ORDER BY l.region)"                                     \
    " FILTER (WHERE l.region IS NOT NULL), '{}') AS regions_reached"                               \
    " FROM (" codes ") x JOIN organisations o ON o.code = x.code"                                  \
    " CROSS JOIN LATERAL (SELECT (CASE o.kind WHEN 'municipality' THEN 'municipal'"                \
    " WHEN 'region' THEN 'regional' WHEN 'state' THEN 'state' END) COLLATE \"C\" AS level,"        \
    " (CASE WHEN o.kind = 'region' THEN o.code ELSE o.region_code END) COLLATE \"C\" AS region) l" \
    " GROUP BY x.key"

/* Whether the adoption aliased `a` counts (adoption_count, regions_reached). */
#define PG_ADOPTION_LIVE "a.status <> 'discontinued'"

/* A history entry (of a case or an evaluation) of the row aliased `h`, as JSON text. */
#define PG_HISTORY_ENTRY                                                                           \
    "jsonb_build_object('version', h.version, 'actor', h.actor, 'action', h.action,"               \
    " 'from_status', h.from_status, 'to_status', h.to_status, 'note', h.note,"                     \
    " 'changed_fields', h.changed_fields, 'at', " PG_ISO_UTC("h.at") ")::text"

/* The evaluation record of the row aliased `e`, as JSON text: the content fields of `doc`
 * plus the columns (laid out by hand, see cases.c). */
/* clang-format off */
#define PG_EVALUATION_RECORD                                                                       \
    "(e.doc || jsonb_build_object('id', e.id, 'case_id', e.case_id, 'status', e.status,"           \
    " 'version', e.version,"                                                                       \
    " 'published_at', " PG_ISO_UTC("e.published_at") ","                                           \
    " 'updated_at', " PG_ISO_UTC("e.updated_at") ","                                               \
    " 'created_at', " PG_ISO_UTC("e.created_at") "))::text"
/* clang-format on */

/* Whether the evaluation aliased `e` of the case aliased `c` is visible under $1 (see_all,
 * boolean) and $2 (viewer_org, text): the rule of struct coi_evaluation_query. A case its
 * viewer leads is visible to it, so that half needs no case check of its own. */
#define PG_EVALUATION_VISIBLE                                                                      \
    "($1::boolean OR c.organisation_code = $2::text OR (e.status = 'published'"                    \
    " AND (c.status = 'published' OR EXISTS (SELECT 1 FROM case_partners p"                        \
    " WHERE p.case_id = c.id AND p.organisation_code = $2::text))))"

/* Takes a connection from the pool (COI_EUNAVAILABLE when none can be had in time). */
int pg_acquire(struct pg_storage *pg, PGconn **out);

/* Gives `conn` back: to the pool when it is healthy and outside any transaction, otherwise
 * closed (the pool opens a fresh one on a later acquire). */
void pg_release(struct pg_storage *pg, PGconn *conn);

/* Statements that a connection prepares (all of them) the first time it needs one, and then
 * runs by name (pg_exec_params, pg_pipeline): the large ones that writes run, whose planning
 * took longer than their execution for one row (about 1.5 ms each), and the two reads of a
 * single case (the record and its evaluation summary), where parsing and planning were most
 * of the database's time. Defined in case_writes.c, changes.c, cases.c and evaluations.c. */
extern const char pg_case_check_sql[], pg_case_write_sql[], pg_case_recompute_sql[];
extern const char pg_case_changes_sql[], pg_evaluation_change_sql[], pg_adoption_change_sql[];
extern const char pg_case_get_sql[], pg_evaluation_summaries_sql[];

/* Makes `conn` prepare the statements above again (and so plan them again) at their next use
 * when it prepared them more than max_age_ms ago. A prepared statement keeps the generic plan
 * made at its first run, with the tables as they were then: in a bulk load into an empty
 * table, a plan made at the start looked up each write's external_id among all the
 * organisation's cases, and a push of 100 000 cases slowed down as it went. Batches refresh
 * (case_writes.c); planning them every time cost more than a tenth of the push. */
int pg_plan_refresh(PGconn *conn, int max_age_ms);

/* PQexecParams, or PQexecPrepared when `sql` is one of the prepared statements above. The
 * result is libpq's (NULL or failed: see pg_error). */
PGresult *pg_exec_params(PGconn *conn, const char *sql, int nparams, const char *const *params);

/* Runs one parameterised statement (`params` are text, NULL = SQL NULL). On success *out holds
 * the result (PGRES_TUPLES_OK or PGRES_COMMAND_OK) and the caller PQclears it; on failure
 * *out is NULL and the return value is the mapped error (see pg_error). */
int pg_query(PGresult **out, PGconn *conn, const char *sql, int nparams, const char *const *params);

/* Locks a reviewed object (case or evaluation) inside the open transaction with static `sql`
 * ($1 the id; SELECT version, status ... FOR UPDATE) and checks `expected_version` (-1: any):
 * COI_ENOTFOUND ("no <what> with id ..."), COI_ECONFLICT, or COI_OK with status[32] set. */
int pg_lock_version(PGconn *conn, const char *sql, const char *what, const char *id,
                    int64_t expected_version, char status[32]);

/* One statement of a pipeline: static SQL and its text parameters (NULL = SQL NULL). */
struct pg_statement {
    const char *sql;
    int nparams;
    const char *const *params;
};

/* Runs the `n` statements in one round trip (libpq pipeline mode). On success res[i] holds the
 * result of statement i (caller PQclears each). On failure every res[i] is NULL and the
 * return value is the mapped error of the first statement that failed (the server skips the
 * ones after it); a transaction the statements were in is left for pg_rollback. */
int pg_pipeline(PGconn *conn, const struct pg_statement *st, size_t n, PGresult **res);

/* pg_query for reads whose parameters come from clients: a value the database refuses
 * (class 22, e.g. text that is not UTF-8, a malformed timestamp in a filter or cursor) is the
 * caller's input, answered COI_EINVALID without an error log line. */
int pg_read_query(PGresult **out, PGconn *conn, const char *sql, int nparams,
                  const char *const *params);

/* The `n` strings as a PostgreSQL array literal, {"a","b"} with " and \ escaped, into *out
 * (caller frees). COI_EINVALID naming `field` for a NULL item. */
int pg_text_array(char **out, const char *const *items, size_t n, const char *field);

/* Runs a statement without parameters (it may hold several statements, e.g. a migration
 * file) and discards its result. COI_OK or the mapped error. */
int pg_exec(PGconn *conn, const char *sql);

/* Maps a failed result (or NULL when libpq returned none) on `conn` to a coi error, sets the
 * thread's error detail and returns the code. Unexpected errors are logged to stderr. */
int pg_error(PGconn *conn, const PGresult *res);

/* The server's primary message of a failed result, or a short fallback; borrowed from `res`. */
const char *pg_error_message(PGconn *conn, const PGresult *res);

/* Ends the transaction open on `conn`, if any, by rolling it back (errors ignored: a
 * connection left outside idle is closed by pg_release). */
void pg_rollback(PGconn *conn);

/* Parses the JSON text in column `col` of row `row` into *out (a new reference). COI_ERROR
 * when it does not parse, COI_ENOMEM. */
int pg_json_value(json_t **out, const PGresult *res, int row, int col);

/* The JSON texts in column 0 of every row of `res`, parsed, as a new array in *out (rows
 * where the column is NULL are skipped). */
int pg_json_rows(json_t **out, const PGresult *res);

/* Writes one JSON log line {"level":..., "msg":..., <key>:<value>} to stderr. */
void pg_log(const char *level, const char *msg, const char *key, const char *value);

/* Runs a statement that writes a case; on success *out holds its result (caller PQclears). A
 * refused write becomes an error naming the field concerned: a value the database refuses
 * (class 22) without an error log line; a taken (organisation_code, external_id) names
 * `org` and `ext` when given. Implemented in cases.c. */
int pg_case_exec(PGresult **out, PGconn *conn, const char *sql, int nparams,
                 const char *const *params, const char *org, const char *ext);

/* The actor as history stores it ({sub, role, party?, org?}; party and org only when set),
 * JSON text into *out (caller frees). COI_EINVALID when `actor` is NULL or not UTF-8.
 * Implemented in cases.c. */
int pg_actor_text(char **out, const struct coi_actor *actor);

/* ---- The change feed (changes.c) --------------------------------------------------------
 *
 * Every write ends with one of these instead of COMMIT: in one round trip it takes the feed's
 * lock, inserts the write's change rows and commits. On failure the transaction is left for
 * pg_rollback. */

/* Case writes: `entries` is a JSON array of {i (order), id, action, public_before, orgs_before,
 * and optionally version, public_after, orgs_after} (visibility as in storage.h; orgs as
 * arrays, the lead first); what an entry leaves out or sets to null is read from the case as
 * the transaction left it. Each entry's case row is followed by an "updated" row for each
 * evaluation and adoption of the case whose visibility differs between the entry's before and
 * after (its publication changed, or its lead or partners). `read` (may be NULL) runs first in the
 * same round trip; its result goes to *read_out (caller PQclears). */
int pg_commit_case_changes(PGconn *conn, const struct pg_statement *read, PGresult **read_out,
                           const char *entries);

/* An evaluation write: its status before (NULL for a create) and after (NULL for a delete). */
int pg_commit_evaluation_change(PGconn *conn, const char *id, const char *case_id,
                                const char *action, const char *version, const char *status_before,
                                const char *status_after);

/* An adoption write (action created, updated or deleted): also recomputes the derived columns
 * of its case, whose row the write has locked. */
int pg_commit_adoption_change(PGconn *conn, const char *id, const char *case_id, const char *action,
                              const char *version);

/* Callbacks implemented in migrations.c, organisations.c, cases.c, case_writes.c,
 * case_search.c, adoptions.c, evaluations.c, evaluation_writes.c, changes.c, audit.c and
 * idempotency.c. */
int pg_migrate(struct coi_storage *s, struct coi_migration_report *out,
               const struct coi_migration *steps, size_t n, enum coi_migrate_mode mode);
int pg_organisation_list(struct coi_storage *s, json_t **out, const struct coi_org_query *q);
int pg_organisation_get(struct coi_storage *s, json_t **out, const char *code);
int pg_organisation_create(struct coi_storage *s, json_t **out, const json_t *org);
int pg_organisation_update(struct coi_storage *s, json_t **out, const char *code, const json_t *org,
                           int64_t expected_version);
int pg_case_list(struct coi_storage *s, json_t **out, const struct coi_case_query *q);
int pg_case_count(struct coi_storage *s, int64_t *out, const struct coi_case_query *q);
int pg_case_facets(struct coi_storage *s, json_t **out, const struct coi_case_query *q);
int pg_case_get(struct coi_storage *s, json_t **out, const char *id);
int pg_case_get_by_external_id(struct coi_storage *s, json_t **out, const char *organisation_code,
                               const char *external_id);
int pg_case_history(struct coi_storage *s, json_t **out, const char *id, int64_t before_version,
                    int limit);
int pg_case_create(struct coi_storage *s, json_t **out, const json_t *c,
                   const struct coi_actor *actor, const json_t *changed_fields);
int pg_case_update(struct coi_storage *s, json_t **out, const char *id, const json_t *c,
                   int64_t expected_version, const struct coi_actor *actor,
                   const json_t *changed_fields);
int pg_case_transition(struct coi_storage *s, json_t **out, const char *id, const char *to,
                       const char *note, int64_t expected_version, const struct coi_actor *actor);
int pg_adoption_create(struct coi_storage *s, json_t **out, const char *case_id, const json_t *a);
int pg_adoption_get(struct coi_storage *s, json_t **out, const char *id);
int pg_adoption_list(struct coi_storage *s, json_t **out, const char *case_id, const char *after_id,
                     int limit);
int pg_adoption_update(struct coi_storage *s, json_t **out, const char *id, const json_t *a,
                       int64_t expected_version);
int pg_adoption_delete(struct coi_storage *s, const char *id, int64_t expected_version);
int pg_evaluation_create(struct coi_storage *s, json_t **out, const char *case_id, const json_t *e,
                         const struct coi_actor *actor, const json_t *changed_fields);
int pg_evaluation_get(struct coi_storage *s, json_t **out, const char *id);
int pg_evaluation_list(struct coi_storage *s, json_t **out, const struct coi_evaluation_query *q);
int pg_evaluation_update(struct coi_storage *s, json_t **out, const char *id, const json_t *e,
                         int64_t expected_version, const struct coi_actor *actor,
                         const json_t *changed_fields);
int pg_evaluation_transition(struct coi_storage *s, json_t **out, const char *id, const char *to,
                             const char *note, int64_t expected_version,
                             const struct coi_actor *actor);
int pg_evaluation_history(struct coi_storage *s, json_t **out, const char *id,
                          int64_t before_version, int limit);
int pg_evaluation_delete(struct coi_storage *s, const char *id, int64_t expected_version);
int pg_evaluation_summaries(struct coi_storage *s, json_t **out, const char *const *case_ids,
                            size_t n, const struct coi_evaluation_query *q);
int pg_change_list(struct coi_storage *s, json_t **out, int64_t *next_seq,
                   const struct coi_change_query *q);
int pg_change_head(struct coi_storage *s, int64_t *out);
int pg_case_get_by_external_ids(struct coi_storage *s, json_t **out, const char *organisation_code,
                                const char *const *external_ids, size_t n);
int pg_case_write_batch(struct coi_storage *s, struct coi_case_write *ops, size_t n,
                        const struct coi_actor *actor);
int pg_audit_append(struct coi_storage *s, const struct coi_audit_entry *e);
int pg_audit_list(struct coi_storage *s, json_t **out, const struct coi_audit_query *q);
int pg_idempotency_claim(struct coi_storage *s, json_t **out, const char *sub, const char *key,
                         const char *request_hash, int ttl_seconds, int stale_seconds);
int pg_idempotency_complete(struct coi_storage *s, const char *sub, const char *key, int status,
                            const json_t *headers, const char *body);
int pg_idempotency_release(struct coi_storage *s, const char *sub, const char *key);

#endif
