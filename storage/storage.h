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

#define COI_STORAGE_VERSION 2

enum coi_migrate_mode {
    COI_MIGRATE_APPLY,  /* verify applied steps, then apply pending ones */
    COI_MIGRATE_VERIFY, /* verify applied steps and report pending ones; change nothing */
};

/* One migration step, built from the files embedded at build time (storage/migrate.c). */
struct coi_migration {
    int number;       /* NNNN of the file name */
    const char *name; /* file name, e.g. "0001_organisations.sql" */
    const char *text; /* file content (NUL-terminated) */
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
    } * steps;
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

/* Who made a change, as recorded in a case's history. Strings are borrowed; party and org may
 * be NULL. */
struct coi_actor {
    const char *sub;
    const char *role;
    const char *party;
    const char *org;
};

/* A list of accepted values: a row matches when its value is any of them. n == 0: no filter. */
struct coi_strings {
    const char *const *items;
    size_t n;
};

/* A parsed text search (storage/search.h): every term must match. */
struct coi_search;

/* The orders a case list can come in. Every order ends with id (descending for the DESC
 * orders, ascending otherwise) so that it is total, and pages are keyset pages. */
enum coi_case_sort {
    COI_SORT_UPDATED_DESC = 0, /* updated_at DESC, id DESC (the default) */
    COI_SORT_UPDATED_ASC,      /* updated_at ASC, id ASC */
    COI_SORT_TITLE,            /* title ASC (byte order of the title), id ASC */
    COI_SORT_ADOPTIONS_DESC,   /* adoption_count DESC, id DESC */
    COI_SORT_PUBLISHED_DESC,   /* published_at DESC with never-published cases last, id DESC */
    COI_SORT_RELEVANCE,        /* text-search rank, best first, then id DESC; needs `search` */
};

/* Filters for listing cases. Visibility: `see_all` shows every status; otherwise only
 * published cases, plus every case whose lead or partner organisation is `viewer_org` (when
 * not NULL). Every filter narrows (AND); each list filter is any-of:
 *   statuses, organisation_codes (lead organisation), region_codes (the lead or a partner
 *   organisation lies in the region: is the region itself or has it as region_code),
 *   government_levels, innovation_types, effect_types, tags (the case's array contains any of
 *   them), sectors, implementation_statuses, spread_potential_ratings, origins (the field is
 *   any of them); updated_since (ISO timestamp: updated_at >= it); started_from/started_to
 *   (dates: started_on within, inclusive; cases without started_on do not match);
 *   has_evaluation / min_evidence_level (evaluations of the case that the same viewer may see,
 *   the visibility rule of struct coi_evaluation_query); search (text search on title,
 *   summary, problem, solution, lessons_learned and tags, Danish stemming).
 * Each listed record carries "_sort_key": the JSON array that, passed back as `after`,
 * continues the list after it (opaque to the API), and with `highlight` and a search,
 * "_snippet": a short extract of the best matching text with matches wrapped in <mark>
 * and </mark> (everything else in it is plain text, not HTML). */
struct coi_case_query {
    int see_all;
    const char *viewer_org;
    struct coi_strings statuses, organisation_codes, region_codes, government_levels,
        innovation_types, sectors, implementation_statuses, effect_types, spread_potential_ratings,
        origins, tags;
    const char *updated_since;
    const char *started_from, *started_to;
    int has_evaluation;              /* 0: any case, 1: with one at least, 2: with none */
    int min_evidence_level;          /* 0: any, else 1..5: with one at least at this level */
    const struct coi_search *search; /* NULL: no text search */
    enum coi_case_sort sort;
    const json_t *after; /* NULL: from the start; else a "_sort_key" of this query */
    int highlight;
    int limit; /* >= 1 */
};

/* Filters for listing evaluations, in creation order (id ascending; ids are time-ordered),
 * keyset after_id. NULL/0 = no filter. Visibility (the same rule as auth/policy.c): see_all
 * shows every evaluation; otherwise an evaluation is shown when its case is visible (case
 * published, or led by or partnered with viewer_org) AND (the evaluation is published OR its
 * case is led by viewer_org). */
struct coi_evaluation_query {
    int see_all;
    const char *viewer_org;
    const char *case_id;
    const char *method;
    int evidence_level; /* 1..5, 0 = any */
    const char *evaluator_kind;
    const char *status;
    const char *after_id;
    int limit; /* >= 1 */
};

/* One write of a batch (case_write_batch). The caller fills the inputs; the backend fills
 * `out` (a NEW reference to the case record written, as case_create/case_update return it;
 * with `brief`, an object holding at least its id and version, which a backend may give
 * instead so as not to build and parse records the caller does not show) on success, or rc
 * (a negative enum coi_error) with the detail and field of the failure copied into `message`
 * and `field` ("" when none). */
enum coi_case_write_kind { COI_CASE_WRITE_CREATE, COI_CASE_WRITE_UPDATE };
struct coi_case_write {
    enum coi_case_write_kind kind;
    const char *id;               /* UPDATE: the case to update */
    const json_t *c;              /* as for case_create / case_update */
    int64_t expected_version;     /* UPDATE: as for case_update (-1: no check) */
    const json_t *changed_fields; /* as for case_create / case_update */
    int brief;                    /* `out` may hold only the id and version */
    json_t *out;
    int rc;
    char field[64];
    char message[256];
};

/* The kinds of object in the change feed (bit mask). */
enum { COI_CHANGE_CASE = 1, COI_CHANGE_EVALUATION = 2, COI_CHANGE_ADOPTION = 4 };

/* Reading the change feed. Visibility: see_all shows every change; otherwise a change is
 * shown when the object was visible to the viewer before or after it (public, or viewer_org
 * among the organisations that may see it); see change_list for the action shown. */
struct coi_change_query {
    int see_all;
    const char *viewer_org; /* NULL: the anonymous public */
    int64_t after_seq;      /* 0: from the beginning */
    unsigned types;         /* COI_CHANGE_* bits; 0 means all */
    int limit;              /* >= 1 */
};

/* One audit log entry, written after a write request was answered. Strings are borrowed;
 * NULL where unknown. outcome: "succeeded" (2xx), "refused" (401/403), "failed" (else). */
struct coi_audit_entry {
    const char *request_id;
    const char *sub, *role, *party, *org;
    const char *method, *path;
    int status;
    const char *outcome;
    const char *object_type, *object_id;
    const char *detail;
};

/* Filters for reading the audit log, newest first, keyset before_seq (0: from the newest).
 * NULL/0 = no filter. */
struct coi_audit_query {
    const char *sub;
    const char *object_id;
    const char *outcome;
    int64_t before_seq;
    int limit; /* >= 1 */
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

    /* Cases. A case record is an object holding the case's content fields exactly as they
     * were written (see CASE_CONTENT below) plus: id, organisation_code, external_id (string or
     * null), partner_organisation_codes (array), status, government_levels (array, sorted:
     * "municipal", "regional", "state" derived from the kinds of the lead and partner
     * organisations), adoption_count (adoptions whose status is not "discontinued"),
     * regions_reached (sorted region codes of the lead, the partners and those adopters:
     * a region's own code, else the organisation's region_code), version, created_at,
     * updated_at, published_at (null until first published). Key order is not significant.
     *
     * create/update take `c`: the content fields plus organisation_code, external_id (string
     * or null) and partner_organisation_codes (array of codes, without the lead) — validated
     * for shape by the API. They check, in the same transaction as the write:
     * organisation_code and every partner exist (COI_EINVALID, field "organisation_code" /
     * "partner_organisation_codes"), inspired_by_case_id (when a string) names a case
     * (COI_EINVALID, field "inspired_by_case_id"), (organisation_code, external_id) is unique
     * (COI_EEXISTS, field "external_id"). Each write of a case appends one history entry
     * {version, at, actor {sub, role, party?, org?}, action, from_status, to_status, note,
     * changed_fields} in the same transaction: "created" (version 1, status draft),
     * "updated" or "transition". `changed_fields` (array of names, borrowed) is recorded as
     * given. update and transition bump version and updated_at and match expected_version
     * (COI_ECONFLICT when it differs; COI_ENOTFOUND when the case is absent). */
    int (*case_list)(struct coi_storage *s, json_t **out, const struct coi_case_query *q);
    /* How many cases the query matches (sort, after, highlight and limit ignored). */
    int (*case_count)(struct coi_storage *s, int64_t *out, const struct coi_case_query *q);
    /* Counts of the cases the query matches (sort, after, highlight, limit ignored) per value
     * of innovation_type, sector, government_level, region_code (regions of the lead and
     * partner organisations), implementation_status, status and effect_type, in one round
     * trip: {"innovation_type": {"workflow": 12, ...}, "sector": {...}, ...}; a value with no
     * case is left out; cases without a value (sector null) are not counted in that facet. */
    int (*case_facets)(struct coi_storage *s, json_t **out, const struct coi_case_query *q);
    int (*case_get)(struct coi_storage *s, json_t **out, const char *id);
    int (*case_get_by_external_id)(struct coi_storage *s, json_t **out,
                                   const char *organisation_code, const char *external_id);
    int (*case_create)(struct coi_storage *s, json_t **out, const json_t *c,
                       const struct coi_actor *actor, const json_t *changed_fields);
    int (*case_update)(struct coi_storage *s, json_t **out, const char *id, const json_t *c,
                       int64_t expected_version, const struct coi_actor *actor,
                       const json_t *changed_fields);
    /* Sets status to `to` (published_at = now when `to` is "published"); `note` may be NULL.
     * The API has checked that the move is allowed. */
    int (*case_transition)(struct coi_storage *s, json_t **out, const char *id, const char *to,
                           const char *note, int64_t expected_version,
                           const struct coi_actor *actor);
    /* History entries newest first: versions below `before_version` (0: from the newest), at
     * most `limit`. COI_ENOTFOUND when the case is absent. */
    int (*case_history)(struct coi_storage *s, json_t **out, const char *id, int64_t before_version,
                        int limit);

    /* Adoptions: {id, case_id, organisation_code, status, started_on (string or null), notes
     * (string or null), version, created_at, updated_at}. One per (case, organisation):
     * COI_EEXISTS (field "organisation_code"). create checks that the case exists
     * (COI_ENOTFOUND) and the organisation exists (COI_EINVALID, field "organisation_code").
     * Every adoption write recomputes the case's adoption_count and regions_reached in the
     * same transaction (the case's version and history are not touched). Lists are ordered
     * by id (ids are time-ordered), keyset after_id. update/delete match expected_version
     * unless -1. */
    int (*adoption_create)(struct coi_storage *s, json_t **out, const char *case_id,
                           const json_t *a);
    int (*adoption_get)(struct coi_storage *s, json_t **out, const char *id);
    int (*adoption_list)(struct coi_storage *s, json_t **out, const char *case_id,
                         const char *after_id, int limit);
    int (*adoption_update)(struct coi_storage *s, json_t **out, const char *id, const json_t *a,
                           int64_t expected_version);
    int (*adoption_delete)(struct coi_storage *s, const char *id, int64_t expected_version);

    /* Evaluations of cases. A record holds the content fields exactly as written (everything
     * in `e` except case_id) plus id, case_id, status, version, created_at, updated_at,
     * published_at (null until first published). Writes append history entries exactly like
     * cases ("created" version 1 status draft, "updated", "transition" with changed_fields
     * ["status"]) in the same transaction, in the evaluation's own history. create checks the
     * case exists (COI_ENOTFOUND). update/transition/delete match expected_version (-1: no
     * check; COI_ECONFLICT / COI_ENOTFOUND). delete removes the evaluation and its history. */
    int (*evaluation_create)(struct coi_storage *s, json_t **out, const char *case_id,
                             const json_t *e, const struct coi_actor *actor,
                             const json_t *changed_fields);
    int (*evaluation_get)(struct coi_storage *s, json_t **out, const char *id);
    int (*evaluation_list)(struct coi_storage *s, json_t **out,
                           const struct coi_evaluation_query *q);
    int (*evaluation_update)(struct coi_storage *s, json_t **out, const char *id, const json_t *e,
                             int64_t expected_version, const struct coi_actor *actor,
                             const json_t *changed_fields);
    int (*evaluation_transition)(struct coi_storage *s, json_t **out, const char *id,
                                 const char *to, const char *note, int64_t expected_version,
                                 const struct coi_actor *actor);
    int (*evaluation_history)(struct coi_storage *s, json_t **out, const char *id,
                              int64_t before_version, int limit);
    int (*evaluation_delete)(struct coi_storage *s, const char *id, int64_t expected_version);
    /* For each of the `n` case ids, what the evaluations visible under `q`'s visibility
     * fields (see_all, viewer_org; other fields ignored) document: an object mapping each
     * case id to {count, published_count, best_evidence_level (int or null),
     * documented_annual_savings_dkk (sum of economic.annual_savings_dkk, 0 when none),
     * methods (sorted distinct)}. One round trip. */
    int (*evaluation_summaries)(struct coi_storage *s, json_t **out, const char *const *case_ids,
                                size_t n, const struct coi_evaluation_query *q);
    /* ---- Partner systems at scale (batch writes, change feed, audit, idempotency) ---------
     *
     * Every write of a case, evaluation or adoption (create, update, transition, delete, and
     * each write of case_write_batch) appends one row to the change feed IN THE SAME
     * TRANSACTION: {type, object_id, case_id, action (created|updated|transition|deleted),
     * version (the object's version after the write; for a delete the last version), and the
     * object's visibility before and after the write}. An adoption write records only the
     * adoption's own row (not one for its case, whose version it does not change). When a
     * case write changes who may see the case's evaluations and adoptions (a transition that
     * changes whether the case is published, or an update, also in case_write_batch, that
     * changes its lead or partners), each evaluation and adoption of the case whose
     * visibility (public or the set of orgs) differs before and after gets an "updated" row
     * (its version unchanged) in the same transaction, after the case's row (evaluations,
     * then adoptions, each by id), so that feed readers learn that they appeared or vanished:
     * a partner added learns of the adoptions and published evaluations, and one taken off
     * sees them "removed" (unless they stay public).
     *
     * Visibility per type (auth/policy.c): case: public when published; orgs = lead and
     * partners. evaluation: public when it and its case are published; orgs = the case's lead,
     * plus the case's partners when the evaluation is published. adoption: public when its
     * case is published; orgs = the case's lead and partners. Before a create nothing sees it
     * (public false, orgs empty); after a delete likewise.
     *
     * The seq of a change is strictly increasing in commit order: a reader that has seen seq
     * N will never later see a new change below N. */

    /* Changes after q->after_seq, oldest first, at most q->limit: an array of {seq (integer),
     * type, id, case_id, action, at (ISO 8601 UTC with milliseconds), version}. For a viewer
     * who is not see_all, a change is listed when the object was visible to the viewer before
     * or after it; its action is "deleted" for a delete, the recorded action when the object
     * is visible after the change, and "removed" when it was visible before but not after
     * (e.g. a published case moved to archived, or a partner taken off the case).
     * *next_seq is where the next read continues: the seq of the last change listed when the
     * array is full (limit items), else the highest seq committed when the read was made
     * (so hidden changes are skipped for good), and never below q->after_seq. One snapshot. */
    int (*change_list)(struct coi_storage *s, json_t **out, int64_t *next_seq,
                       const struct coi_change_query *q);
    /* The highest seq committed now (0 when the feed is empty): where a reader that needs
     * only what happens from now on starts. */
    int (*change_head)(struct coi_storage *s, int64_t *out);

    /* The cases of `organisation_code` with these external ids, in one round trip: an object
     * mapping each external id found to its case record (as case_get returns it). */
    int (*case_get_by_external_ids)(struct coi_storage *s, json_t **out,
                                    const char *organisation_code, const char *const *external_ids,
                                    size_t n);
    /* Performs each of the n writes as case_create / case_update would, with the same checks,
     * history and change rows, each write atomic on its own: a write that fails leaves
     * nothing of itself and does not stop the others (its rc, field and message are set).
     * Returns COI_OK when the batch ran (look at each op's rc), or a negative code when none
     * of it was kept (e.g. COI_EUNAVAILABLE; every op's out is then NULL). */
    int (*case_write_batch)(struct coi_storage *s, struct coi_case_write *ops, size_t n,
                            const struct coi_actor *actor);

    /* Appends one audit log entry (its own transaction). */
    int (*audit_append)(struct coi_storage *s, const struct coi_audit_entry *e);
    /* Audit entries newest first: an array of {seq (integer), at, request_id, actor {sub?,
     * role?, party?, org?} (keys with NULL values left out), method, path, status, outcome,
     * object_type (string or null), object_id (string or null), detail (string or null)}. */
    int (*audit_list)(struct coi_storage *s, json_t **out, const struct coi_audit_query *q);

    /* Idempotency keys. claim: atomically, forgets the record of (sub, key) when it is older
     * than ttl_seconds, or still in progress after stale_seconds; then inserts a new
     * in-progress record with request_hash and returns COI_OK (the caller runs the request),
     * or, when a record exists, returns COI_EEXISTS with *out = {request_hash, status (integer,
     * 0 while in progress), headers (object or null), body (string or null)}.
     * complete: stores the response of the claimed record. release: deletes the record (the
     * request's outcome is not to be replayed, e.g. a 5xx). Expired records are purged from
     * time to time by claim. */
    int (*idempotency_claim)(struct coi_storage *s, json_t **out, const char *sub, const char *key,
                             const char *request_hash, int ttl_seconds, int stale_seconds);
    int (*idempotency_complete)(struct coi_storage *s, const char *sub, const char *key, int status,
                                const json_t *headers, const char *body);
    int (*idempotency_release)(struct coi_storage *s, const char *sub, const char *key);
};

/* The content fields of a case: what a writer sends besides organisation_code, external_id
 * and partner_organisation_codes, in the contract's order. Backends store them as one JSON
 * document. The list is a macro so that the API's list of writable fields is built from it. */
#define COI_CASE_CONTENT_FIELDS                                                                    \
    "title", "summary", "problem", "solution", "scope", "innovation_types", "sector", "tags",      \
        "implementation_status", "started_on", "origin", "inspired_by_case_id",                    \
        "implementation_methods", "evaluation_methods", "employee_involvement",                    \
        "user_involvement", "employee_driven", "user_driven", "spread_potential",                  \
        "spread_potential_rating", "effect_types", "effects_summary", "risks_and_pitfalls",        \
        "lessons_learned", "contact_name", "contact_email", "links"
/* The same, NULL-terminated. */
extern const char *const CASE_CONTENT[];

/* A new time-ordered unique id (UUID version 7, lowercase text) into out[37]. */
void storage_new_id(char out[37]);

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
