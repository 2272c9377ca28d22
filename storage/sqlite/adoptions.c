/* SQLite adoptions: organisations taking up a case; each write refreshes the case's reach and
 * appends a change row. */
#include "storage/sqlite/sqlite_internal.h"

#include <stdio.h>

#define ADOPTION_COLUMNS                                                                           \
    "id, case_id, organisation_code, status, started_on, notes, version, created_at,"              \
    " updated_at"

static const char GET_SQL[] = "SELECT " ADOPTION_COLUMNS " FROM adoptions WHERE id = ?1";

/* The LEFT JOIN keeps one all-NULL row for a case without (further) adoptions and none for a
 * missing case, so one statement answers both. */
static const char LIST_SQL[] =
    "SELECT a.id, a.case_id, a.organisation_code, a.status, a.started_on, a.notes, a.version,"
    " a.created_at, a.updated_at FROM cases c LEFT JOIN adoptions a ON a.case_id = c.id"
    " AND (?2 IS NULL OR a.id > ?2) WHERE c.id = ?1 ORDER BY a.id LIMIT ?3";

static const char INSERT_SQL[] =
    "INSERT INTO adoptions (id, case_id, organisation_code, status, started_on, notes,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
    " RETURNING " ADOPTION_COLUMNS;

static const char UPDATE_SQL[] =
    "UPDATE adoptions SET status = ?2, started_on = ?3, notes = ?4, version = version + 1,"
    " updated_at = ?5 WHERE id = ?1 RETURNING " ADOPTION_COLUMNS;

/* The record of the current row of a statement selecting ADOPTION_COLUMNS (new reference). */
static int adoption_from_row(json_t **out, sqlite3_stmt *stmt)
{
    static const char *const keys[] = {"id",     "case_id",    "organisation_code",
                                       "status", "started_on", "notes"};
    json_t *a = json_object();
    *out = NULL;
    if (a == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    for (int i = 0; i < 6; i++)
        if (json_object_set_new(a, keys[i], sqlite_column_string(stmt, i)) != 0)
            goto fail;
    if (json_object_set_new(a, "version", json_integer(sqlite3_column_int64(stmt, 6))) ||
        json_object_set_new(a, "created_at", sqlite_column_string(stmt, 7)) ||
        json_object_set_new(a, "updated_at", sqlite_column_string(stmt, 8)))
        goto fail;
    *out = a;
    return COI_OK;
fail:
    json_decref(a);
    return coi_error_set(COI_ERROR, NULL, "cannot build the adoption record");
}

/* Steps a statement yielding at most one adoption to the end: *out is its record or NULL. */
static int step_one(json_t **out, sqlite3 *db, sqlite3_stmt *stmt, const char *field,
                    const char *what)
{
    json_t *a = NULL;
    int step, rc;
    *out = NULL;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
        if (a == NULL && (rc = adoption_from_row(&a, stmt)) != COI_OK)
            return rc;
    if (step != SQLITE_DONE) {
        json_decref(a);
        return sqlite_fail(db, step, field, what);
    }
    *out = a;
    return COI_OK;
}

/* The writable fields of an adoption, borrowed from the input object. */
struct adoption_input {
    const char *organisation_code, *status, *started_on, *notes;
};

static void adoption_input_from(struct adoption_input *out, const json_t *a)
{
    out->organisation_code = json_string_value(json_object_get(a, "organisation_code"));
    out->status = json_string_value(json_object_get(a, "status"));
    out->started_on = json_string_value(json_object_get(a, "started_on"));
    out->notes = json_string_value(json_object_get(a, "notes"));
}

/* COI_OK when `sql` with `value` bound to ?1 returns a row; else `missing` with the detail. */
static int require_row(sqlite3 *db, const char *sql, const char *value, int missing,
                       const char *field, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, sql);
    if (rc != COI_OK || (rc = sqlite_bind_texts(db, stmt, &value, 1)) != COI_OK)
        goto out;
    int step = sqlite3_step(stmt);
    if (step == SQLITE_DONE)
        rc = coi_error_set(missing, field, "%s %s", what, value ? value : "(none)");
    else if (step != SQLITE_ROW)
        rc = sqlite_fail(db, step, NULL, "cannot check a reference");
out:
    sqlite3_finalize(stmt);
    return rc;
}

/* The case and version of adoption `id` (case_id into case_id[40]), checked against
 * `expected_version` (-1: any). COI_ENOTFOUND, COI_ECONFLICT or COI_OK. */
static int check_version(sqlite3 *db, const char *id, int64_t expected_version, char case_id[40])
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, "SELECT case_id, version FROM adoptions WHERE id = ?1");
    if (rc != COI_OK || (rc = sqlite_bind_texts(db, stmt, &id, 1)) != COI_OK)
        goto out;
    int step = sqlite3_step(stmt);
    if (step == SQLITE_DONE) {
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no adoption with id %s", id);
    } else if (step != SQLITE_ROW) {
        rc = sqlite_fail(db, step, NULL, "cannot read the adoption");
    } else {
        int64_t version = sqlite3_column_int64(stmt, 1);
        snprintf(case_id, 40, "%s", (const char *)sqlite3_column_text(stmt, 0));
        if (expected_version != -1 && expected_version != version)
            rc = coi_error_set(COI_ECONFLICT, NULL, "adoption %s is at version %lld, not %lld", id,
                               (long long)version, (long long)expected_version);
    }
out:
    sqlite3_finalize(stmt);
    return rc;
}

/* Runs an INSERT_SQL or UPDATE_SQL prepared in `stmt` (bound) to its returned record. A
 * unique violation can only be (case_id, organisation_code); once the references are
 * checked, any other refusal is the status CHECK / NOT NULL. */
static int write_adoption(json_t **out, sqlite3 *db, sqlite3_stmt *stmt,
                          const struct adoption_input *in)
{
    int rc = step_one(out, db, stmt, NULL, "cannot write the adoption");
    if (rc == COI_EEXISTS)
        rc = coi_error_set(COI_EEXISTS, "organisation_code",
                           "organisation %s has already adopted this case", in->organisation_code);
    else if (rc == COI_EINVALID)
        rc = coi_error_set(COI_EINVALID, "status",
                           "status must be considering, adapting, implemented or discontinued");
    return rc;
}

int sqlite_adoption_create(struct coi_storage *s, json_t **out, const char *case_id,
                           const json_t *a)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct sqlite_visibility before = {0}; /* a new adoption: nobody saw it */
    struct adoption_input in;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *record = NULL;
    char id[37], now[40];
    int rc;

    *out = NULL;
    adoption_input_from(&in, a);
    storage_new_id(id);
    const char *params[] = {id,       case_id, in.organisation_code, in.status, in.started_on,
                            in.notes, now};
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK || (rc = sqlite_begin(db)) != COI_OK ||
        (rc = require_row(db, "SELECT 1 FROM cases WHERE id = ?1", case_id, COI_ENOTFOUND, NULL,
                          "no case with id")) != COI_OK ||
        (rc = require_row(db, "SELECT 1 FROM organisations WHERE code = ?1", in.organisation_code,
                          COI_EINVALID, "organisation_code", "no organisation with code")) !=
            COI_OK ||
        (rc = sqlite_now(db, now)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, INSERT_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 7)) != COI_OK ||
        (rc = write_adoption(&record, db, stmt, &in)) != COI_OK ||
        (rc = sqlite_case_derive(db, case_id)) != COI_OK)
        goto out;
    rc = sqlite_change_append(db, COI_CHANGE_ADOPTION, id, "created", now, &before);
out:
    sqlite3_finalize(stmt);
    return sqlite_write_end(st, db, rc, out, record);
}

int sqlite_adoption_get(struct coi_storage *s, json_t **out, const char *id)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc;

    *out = NULL;
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, GET_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, &id, 1)) != COI_OK)
        goto out;
    if ((rc = step_one(out, db, stmt, NULL, "cannot read the adoption")) == COI_OK && *out == NULL)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no adoption with id %s", id);
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    return rc;
}

int sqlite_adoption_list(struct coi_storage *s, json_t **out, const char *case_id,
                         const char *after_id, int limit)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array(), *a;
    const char *params[] = {case_id, after_id};
    int rc, step, rows = 0;

    *out = NULL;
    if (list == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, LIST_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 2)) != COI_OK)
        goto out;
    sqlite3_bind_int(stmt, 3, limit > 0 ? limit : -1);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        rows++;
        if (sqlite3_column_type(stmt, 0) == SQLITE_NULL)
            continue; /* the case exists, but no adoption matches */
        if ((rc = adoption_from_row(&a, stmt)) != COI_OK)
            goto out;
        if (json_array_append_new(list, a) != 0) {
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = sqlite_fail(db, step, NULL, "cannot list adoptions");
        goto out;
    }
    if (rows == 0) {
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no case with id %s", case_id);
        goto out;
    }
    *out = list;
    list = NULL;
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    json_decref(list);
    return rc;
}

int sqlite_adoption_update(struct coi_storage *s, json_t **out, const char *id, const json_t *a,
                           int64_t expected_version)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct sqlite_visibility before = {0};
    struct adoption_input in;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *record = NULL;
    char case_id[40], now[40];
    int rc;

    *out = NULL;
    adoption_input_from(&in, a);
    const char *params[] = {id, in.status, in.started_on, in.notes, now};
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK || (rc = sqlite_begin(db)) != COI_OK ||
        (rc = check_version(db, id, expected_version, case_id)) != COI_OK ||
        (rc = sqlite_visibility_read(db, COI_CHANGE_ADOPTION, id, &before)) != COI_OK ||
        (rc = sqlite_now(db, now)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, UPDATE_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 5)) != COI_OK ||
        (rc = write_adoption(&record, db, stmt, &in)) != COI_OK ||
        (rc = sqlite_case_derive(db, case_id)) != COI_OK)
        goto out;
    rc = sqlite_change_append(db, COI_CHANGE_ADOPTION, id, "updated", now, &before);
out:
    sqlite3_finalize(stmt);
    sqlite_visibility_free(&before);
    return sqlite_write_end(st, db, rc, out, record);
}

int sqlite_adoption_delete(struct coi_storage *s, const char *id, int64_t expected_version)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct sqlite_visibility before = {0};
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    char case_id[40];
    int rc;

    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK || (rc = sqlite_begin(db)) != COI_OK ||
        (rc = check_version(db, id, expected_version, case_id)) != COI_OK ||
        (rc = sqlite_visibility_read(db, COI_CHANGE_ADOPTION, id, &before)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, "DELETE FROM adoptions WHERE id = ?1")) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, &id, 1)) != COI_OK ||
        (rc = sqlite_step_done(db, stmt, NULL, "cannot delete the adoption")) != COI_OK ||
        (rc = sqlite_case_derive(db, case_id)) != COI_OK)
        goto out;
    rc = sqlite_change_append(db, COI_CHANGE_ADOPTION, id, "deleted", NULL, &before);
out:
    sqlite3_finalize(stmt);
    sqlite_visibility_free(&before);
    return sqlite_write_end(st, db, rc, NULL, NULL);
}
