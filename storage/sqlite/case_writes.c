/* SQLite cases, write side: create, update and transition, each with its history entry (and
 * create and update with the case's text search row). */
#include "storage/sqlite/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* search_key is the case's row in cases_fts: a stable integer of its own, since the rowid of a
 * table keyed by text may change on VACUUM. The write lock is held, so max + 1 is free. */
static const char INSERT_SQL[] =
    "INSERT INTO cases (id, organisation_code, external_id, doc, created_at, updated_at,"
    " search_key) VALUES (?1, ?2, ?3, ?4, ?5, ?5,"
    " (SELECT coalesce(max(search_key), 0) + 1 FROM cases))";

static const char UPDATE_SQL[] =
    "UPDATE cases SET organisation_code = ?2, external_id = ?3, doc = ?4, version = version + 1,"
    " updated_at = ?5 WHERE id = ?1";

/* published_at is stamped on every move to published, so it tells when the case last went
 * public. */
static const char TRANSITION_SQL[] =
    "UPDATE cases SET status = ?2, version = version + 1, updated_at = ?3,"
    " published_at = CASE WHEN ?2 = 'published' THEN ?3 ELSE published_at END WHERE id = ?1";

/* The searchable text of case ?1, replaced in cases_fts (migrations/sqlite/0005): the row goes
 * and comes back whole, as FTS5 needs the old text to take its words out of the index. */
static const char UNINDEX_SQL[] =
    "DELETE FROM cases_fts WHERE rowid = (SELECT search_key FROM cases WHERE id = ?1)";
static const char INDEX_SQL[] =
    "INSERT INTO cases_fts (rowid, title, summary, problem, solution, lessons_learned, tags)"
    " SELECT search_key, json_extract(doc, '$.title'), json_extract(doc, '$.summary'),"
    " json_extract(doc, '$.problem'), json_extract(doc, '$.solution'),"
    " json_extract(doc, '$.lessons_learned'),"
    " (SELECT group_concat(value, ' ') FROM json_each(doc, '$.tags'))"
    " FROM cases WHERE id = ?1";

static const char HISTORY_SQL[] =
    "INSERT INTO case_history (case_id, version, at, actor, action, from_status, to_status,"
    " note, changed_fields) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/* What a create or update writes, taken from the input object `c` (strings borrowed from it;
 * `doc` owned: the content fields of `c` as compact JSON text). */
struct case_input {
    const char *organisation_code;
    const char *external_id;
    const json_t *partners;  /* array, or NULL for none */
    const char *inspired_by; /* inspired_by_case_id when it is a string */
    char *doc;
};

static void case_input_free(struct case_input *in)
{
    free(in->doc);
    in->doc = NULL;
}

static int case_input_from(struct case_input *out, const json_t *c)
{
    json_t *doc = NULL, *v;

    memset(out, 0, sizeof *out);
    out->organisation_code = json_string_value(json_object_get(c, "organisation_code"));
    out->external_id = json_string_value(json_object_get(c, "external_id"));
    out->inspired_by = json_string_value(json_object_get(c, "inspired_by_case_id"));
    out->partners = json_object_get(c, "partner_organisation_codes");
    if (!json_is_object(c))
        return coi_error_set(COI_EINVALID, NULL, "a case must be an object");
    if (sqlite_check_no_nul(c) != COI_OK)
        return COI_EINVALID;
    if (out->organisation_code == NULL)
        return coi_error_set(COI_EINVALID, "organisation_code", "organisation_code is required");
    if (json_is_null(out->partners))
        out->partners = NULL;
    if (out->partners != NULL && !json_is_array(out->partners))
        return coi_error_set(COI_EINVALID, "partner_organisation_codes",
                             "partner_organisation_codes must be an array");
    if ((doc = json_object()) == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    for (const char *const *key = CASE_CONTENT; *key != NULL; key++)
        if ((v = json_object_get(c, *key)) != NULL && json_object_set(doc, *key, v) != 0)
            goto nomem;
    if ((out->doc = json_dumps(doc, JSON_COMPACT)) == NULL)
        goto nomem;
    json_decref(doc);
    return COI_OK;
nomem:
    json_decref(doc);
    return coi_error_set(COI_ENOMEM, NULL, "out of memory");
}

/* COI_OK when static query `sql` with `value` bound to ?1 returns a row, COI_EINVALID naming
 * `field` with `message` when it returns none. */
static int check_exists(sqlite3 *db, const char *sql, const char *value, const char *field,
                        const char *message)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, sql);
    if (rc != COI_OK || (rc = sqlite_bind_texts(db, stmt, &value, 1)) != COI_OK)
        goto out;
    int step = sqlite3_step(stmt);
    if (step == SQLITE_DONE)
        rc = coi_error_set(COI_EINVALID, field, "%s: %s", message, value);
    else if (step != SQLITE_ROW)
        rc = sqlite_fail(db, step, NULL, "cannot check a reference");
out:
    sqlite3_finalize(stmt);
    return rc;
}

static const char ORG_EXISTS_SQL[] = "SELECT 1 FROM organisations WHERE code = ?1";

/* The references of `in`, checked inside the writing transaction: the lead and each partner
 * exist, no partner is the lead or listed twice, inspired_by_case_id names a case. */
static int check_input(sqlite3 *db, const struct case_input *in)
{
    static const char partners[] = "partner_organisation_codes";
    size_t i, j;
    json_t *p;
    int rc;

    if ((rc = check_exists(db, ORG_EXISTS_SQL, in->organisation_code, "organisation_code",
                           "no organisation with code")) != COI_OK)
        return rc;
    json_array_foreach(in->partners, i, p)
    {
        const char *code = json_string_value(p);
        if (code == NULL)
            return coi_error_set(COI_EINVALID, partners, "partner codes must be strings");
        if (strcmp(code, in->organisation_code) == 0)
            return coi_error_set(COI_EINVALID, partners,
                                 "the lead organisation %s cannot also be a partner", code);
        for (j = 0; j < i; j++)
            if (json_equal(p, json_array_get(in->partners, j)))
                return coi_error_set(COI_EINVALID, partners, "partner %s is listed twice", code);
        if ((rc = check_exists(db, ORG_EXISTS_SQL, code, partners, "no organisation with code")) !=
            COI_OK)
            return rc;
    }
    if (in->inspired_by != NULL)
        return check_exists(db, "SELECT 1 FROM cases WHERE id = ?1", in->inspired_by,
                            "inspired_by_case_id", "no case with id");
    return COI_OK;
}

/* Runs INSERT_SQL or UPDATE_SQL for case `id` with `in` and timestamp `now`. The only unique
 * key a write can hit is (organisation_code, external_id). */
static int write_case(sqlite3 *db, const char *sql, const char *id, const struct case_input *in,
                      const char *now)
{
    sqlite3_stmt *stmt = NULL;
    const char *params[] = {id, in->organisation_code, in->external_id, in->doc, now};
    int rc = sqlite_prepare(db, &stmt, sql);
    if (rc == COI_OK && (rc = sqlite_bind_texts(db, stmt, params, 5)) == COI_OK)
        rc = sqlite_step_done(db, stmt, NULL, "cannot write the case");
    if (rc == COI_EEXISTS)
        rc = coi_error_set(COI_EEXISTS, "external_id",
                           "organisation %s already has a case with external_id %s",
                           in->organisation_code, in->external_id);
    sqlite3_finalize(stmt);
    return rc;
}

/* Brings the text search row of case `id` up to date with its stored document. */
static int index_text(sqlite3 *db, const char *id)
{
    static const char *const steps[] = {UNINDEX_SQL, INDEX_SQL};
    int rc = COI_OK;
    for (size_t i = 0; i < 2 && rc == COI_OK; i++) {
        sqlite3_stmt *stmt = NULL;
        if ((rc = sqlite_prepare(db, &stmt, steps[i])) == COI_OK &&
            (rc = sqlite_bind_texts(db, stmt, &id, 1)) == COI_OK)
            rc = sqlite_step_done(db, stmt, NULL, "cannot index the case's text");
        sqlite3_finalize(stmt);
    }
    return rc;
}

/* Replaces the partner rows of case `id` with `partners` (array or NULL), keeping their
 * order in `position`. */
static int write_partners(sqlite3 *db, const char *id, const json_t *partners)
{
    sqlite3_stmt *stmt = NULL;
    size_t i;
    json_t *p;
    int rc;

    if ((rc = sqlite_prepare(db, &stmt, "DELETE FROM case_partners WHERE case_id = ?1")) !=
            COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, &id, 1)) != COI_OK ||
        (rc = sqlite_step_done(db, stmt, NULL, "cannot remove the partners")) != COI_OK)
        goto out;
    sqlite3_finalize(stmt);
    if ((rc = sqlite_prepare(db, &stmt,
                             "INSERT INTO case_partners (case_id, organisation_code, position)"
                             " VALUES (?1, ?2, ?3)")) != COI_OK)
        goto out;
    json_array_foreach(partners, i, p)
    {
        const char *params[] = {id, json_string_value(p)};
        sqlite3_reset(stmt);
        if ((rc = sqlite_bind_texts(db, stmt, params, 2)) != COI_OK)
            goto out;
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)i);
        if ((rc = sqlite_step_done(db, stmt, "partner_organisation_codes",
                                   "cannot write a partner")) != COI_OK)
            goto out;
    }
out:
    sqlite3_finalize(stmt);
    return rc;
}

/* The version and status of case `id`, checked against `expected_version`. */
static int check_version(sqlite3 *db, const char *id, int64_t expected_version, int64_t *version,
                         char status[32])
{
    return sqlite_check_version(db, "SELECT version, status FROM cases WHERE id = ?1", "case", id,
                                expected_version, version, status);
}

int sqlite_case_create_in(sqlite3 *db, json_t **out, const json_t *c, const struct coi_actor *actor,
                          const json_t *changed_fields)
{
    struct sqlite_visibility before = {0}; /* a new case: nobody saw it */
    struct case_input in;
    char id[37], now[40];
    int rc;

    *out = NULL;
    storage_new_id(id);
    if ((rc = case_input_from(&in, c)) != COI_OK || (rc = check_input(db, &in)) != COI_OK ||
        (rc = sqlite_now(db, now)) != COI_OK ||
        (rc = write_case(db, INSERT_SQL, id, &in, now)) != COI_OK ||
        (rc = write_partners(db, id, in.partners)) != COI_OK ||
        (rc = index_text(db, id)) != COI_OK || (rc = sqlite_case_derive(db, id)) != COI_OK)
        goto out;
    struct sqlite_history_entry e = {.id = id,
                                     .version = 1,
                                     .at = now,
                                     .actor = actor,
                                     .action = "created",
                                     .to = "draft",
                                     .changed_fields = changed_fields};
    if ((rc = sqlite_history_append(db, HISTORY_SQL, &e)) == COI_OK &&
        (rc = sqlite_change_append(db, COI_CHANGE_CASE, id, "created", now, &before)) == COI_OK)
        rc = sqlite_case_read(db, out, id);
out:
    case_input_free(&in);
    return rc;
}

int sqlite_case_update_in(sqlite3 *db, json_t **out, const char *id, const json_t *c,
                          int64_t expected_version, const struct coi_actor *actor,
                          const json_t *changed_fields)
{
    struct sqlite_visibility before = {0};
    struct case_input in;
    char now[40], status[32];
    int64_t version = 0;
    int rc;

    *out = NULL;
    if ((rc = case_input_from(&in, c)) != COI_OK ||
        (rc = check_version(db, id, expected_version, &version, status)) != COI_OK ||
        (rc = check_input(db, &in)) != COI_OK ||
        (rc = sqlite_visibility_read(db, COI_CHANGE_CASE, id, &before)) != COI_OK ||
        (rc = sqlite_now(db, now)) != COI_OK ||
        (rc = write_case(db, UPDATE_SQL, id, &in, now)) != COI_OK ||
        (rc = write_partners(db, id, in.partners)) != COI_OK ||
        (rc = index_text(db, id)) != COI_OK || (rc = sqlite_case_derive(db, id)) != COI_OK)
        goto out;
    struct sqlite_history_entry e = {.id = id,
                                     .version = version + 1,
                                     .at = now,
                                     .actor = actor,
                                     .action = "updated",
                                     .from = status,
                                     .to = status,
                                     .changed_fields = changed_fields};
    if ((rc = sqlite_history_append(db, HISTORY_SQL, &e)) == COI_OK &&
        (rc = sqlite_change_append(db, COI_CHANGE_CASE, id, "updated", now, &before)) == COI_OK &&
        (rc = sqlite_change_cascade(db, id, now, &before)) == COI_OK)
        rc = sqlite_case_read(db, out, id);
out:
    sqlite_visibility_free(&before);
    case_input_free(&in);
    return rc;
}

int sqlite_case_create(struct coi_storage *s, json_t **out, const json_t *c,
                       const struct coi_actor *actor, const json_t *changed_fields)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    json_t *record = NULL;
    int rc;

    *out = NULL;
    if ((rc = sqlite_conn_acquire(st, &db)) == COI_OK && (rc = sqlite_begin(db)) == COI_OK)
        rc = sqlite_case_create_in(db, &record, c, actor, changed_fields);
    return sqlite_write_end(st, db, rc, out, record);
}

int sqlite_case_update(struct coi_storage *s, json_t **out, const char *id, const json_t *c,
                       int64_t expected_version, const struct coi_actor *actor,
                       const json_t *changed_fields)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    json_t *record = NULL;
    int rc;

    *out = NULL;
    if ((rc = sqlite_conn_acquire(st, &db)) == COI_OK && (rc = sqlite_begin(db)) == COI_OK)
        rc = sqlite_case_update_in(db, &record, id, c, expected_version, actor, changed_fields);
    return sqlite_write_end(st, db, rc, out, record);
}

/* 1 when status `a` and status `b` differ in whether the case is published. */
static int publication_changes(const char *a, const char *b)
{
    return (strcmp(a, "published") == 0) != (strcmp(b, "published") == 0);
}

int sqlite_case_transition(struct coi_storage *s, json_t **out, const char *id, const char *to,
                           const char *note, int64_t expected_version,
                           const struct coi_actor *actor)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct sqlite_visibility before = {0};
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *record = NULL, *fields = json_pack("[s]", "status");
    char now[40], status[32];
    int64_t version = 0;
    int rc;

    *out = NULL;
    if (fields == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    const char *params[] = {id, to, now};
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK || (rc = sqlite_begin(db)) != COI_OK ||
        (rc = check_version(db, id, expected_version, &version, status)) != COI_OK ||
        (rc = sqlite_visibility_read(db, COI_CHANGE_CASE, id, &before)) != COI_OK ||
        (rc = sqlite_now(db, now)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, TRANSITION_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 3)) != COI_OK ||
        (rc = sqlite_step_done(db, stmt, "status", "cannot change the status")) != COI_OK)
        goto out;
    struct sqlite_history_entry e = {.id = id,
                                     .version = version + 1,
                                     .at = now,
                                     .actor = actor,
                                     .action = "transition",
                                     .from = status,
                                     .to = to,
                                     .note = note,
                                     .changed_fields = fields};
    if ((rc = sqlite_history_append(db, HISTORY_SQL, &e)) != COI_OK ||
        (rc = sqlite_change_append(db, COI_CHANGE_CASE, id, "transition", now, &before)) !=
            COI_OK ||
        (publication_changes(status, to) &&
         (rc = sqlite_change_cascade(db, id, now, &before)) != COI_OK))
        goto out;
    rc = sqlite_case_read(db, &record, id);
out:
    sqlite3_finalize(stmt);
    sqlite_visibility_free(&before);
    json_decref(fields);
    return sqlite_write_end(st, db, rc, out, record);
}
