/* SQLite organisations: list, get, create and update, with the region rule and versioning. */
#include "storage/sqlite/sqlite_internal.h"

#define ORG_COLUMNS "code, name, kind, region_code, created_at, updated_at, version"

static const char LIST_SQL[] = "SELECT " ORG_COLUMNS " FROM organisations"
                               " WHERE (?1 IS NULL OR kind = ?1)"
                               " AND (?2 IS NULL OR region_code = ?2)"
                               " AND (?3 IS NULL OR instr(coi_fold(name), coi_fold(?3)) > 0)"
                               " AND (?4 IS NULL OR code > ?4)"
                               " ORDER BY code LIMIT ?5";

static const char GET_SQL[] = "SELECT " ORG_COLUMNS " FROM organisations WHERE code = ?1";

static const char INSERT_SQL[] = "INSERT INTO organisations (code, name, kind, region_code)"
                                 " VALUES (?1, ?2, ?3, ?4) RETURNING " ORG_COLUMNS;

static const char UPDATE_SQL[] =
    "UPDATE organisations SET name = ?2, kind = ?3, region_code = ?4, version = version + 1,"
    " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    " WHERE code = ?1 RETURNING " ORG_COLUMNS;

/* A record from the current row of a statement selecting ORG_COLUMNS. *out is a new
 * reference (caller decrefs). */
static int org_from_row(json_t **out, sqlite3_stmt *stmt)
{
    static const char *const keys[] = {"code",        "name",       "kind",
                                       "region_code", "created_at", "updated_at"};
    json_t *org = json_object();
    *out = NULL;
    if (org == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    for (int i = 0; i < 6; i++)
        if (json_object_set_new(org, keys[i], sqlite_column_string(stmt, i)) != 0)
            goto fail;
    if (json_object_set_new(org, "version", json_integer(sqlite3_column_int64(stmt, 6))) != 0)
        goto fail;
    *out = org;
    return COI_OK;
fail:
    json_decref(org);
    return coi_error_set(COI_ERROR, NULL, "cannot build the organisation record");
}

/* Steps a statement that yields at most one record: *out is the record (new reference) or
 * NULL when there was no row. Steps to the end so a write statement completes. */
static int step_one(json_t **out, sqlite3 *db, sqlite3_stmt *stmt, const char *field,
                    const char *what)
{
    json_t *org = NULL;
    int step, rc = COI_OK;
    *out = NULL;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
        if (org == NULL && (rc = org_from_row(&org, stmt)) != COI_OK)
            return rc;
    if (step != SQLITE_DONE) {
        json_decref(org);
        return sqlite_fail(db, step, field, what);
    }
    *out = org;
    return COI_OK;
}

/* The organisation's fields taken from `org` (borrowed; region_code NULL when null/absent). */
struct org_input {
    const char *code, *name, *kind, *region_code;
};

static int org_input_from(struct org_input *out, const json_t *org, const char *code)
{
    out->code = code != NULL ? code : json_string_value(json_object_get(org, "code"));
    out->name = json_string_value(json_object_get(org, "name"));
    out->kind = json_string_value(json_object_get(org, "kind"));
    out->region_code = json_string_value(json_object_get(org, "region_code"));
    if (out->code == NULL)
        return coi_error_set(COI_EINVALID, "code", "code is required");
    if (out->name == NULL)
        return coi_error_set(COI_EINVALID, "name", "name is required");
    if (out->kind == NULL)
        return coi_error_set(COI_EINVALID, "kind", "kind is required");
    return COI_OK;
}

/* Binds code, name, kind, region_code to ?1..?4 (borrowed: `in` must outlive the step). */
static int bind_input(sqlite3 *db, sqlite3_stmt *stmt, const struct org_input *in)
{
    const char *values[] = {in->code, in->name, in->kind, in->region_code};
    for (int i = 0; i < 4; i++) {
        int rc = sqlite3_bind_text(stmt, i + 1, values[i], -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return sqlite_fail(db, rc, NULL, "cannot bind a parameter");
    }
    return COI_OK;
}

/* COI_OK when region_code is NULL or names an organisation of kind "region"; COI_EINVALID
 * (field "region_code") otherwise. Run inside the writing transaction. */
static int check_region(sqlite3 *db, const char *region_code)
{
    sqlite3_stmt *stmt = NULL;
    int rc;
    if (region_code == NULL)
        return COI_OK;
    if ((rc = sqlite_prepare(db, &stmt,
                             "SELECT 1 FROM organisations"
                             " WHERE code = ?1 AND kind = 'region'")) != COI_OK)
        return rc;
    sqlite3_bind_text(stmt, 1, region_code, -1, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        rc = COI_OK;
    else if (step == SQLITE_DONE)
        rc = coi_error_set(COI_EINVALID, "region_code", "no region with code %s", region_code);
    else
        rc = sqlite_fail(db, step, NULL, "cannot check the region");
    sqlite3_finalize(stmt);
    return rc;
}

int sqlite_organisation_list(struct coi_storage *s, json_t **out, const struct coi_org_query *q)
{
    static const struct coi_org_query all = {0};
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array(), *org;
    int rc, step;

    *out = NULL;
    if (q == NULL)
        q = &all;
    if (list == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, LIST_SQL)) != COI_OK)
        goto out;
    const char *params[] = {q->kind, q->region_code, q->name_contains, q->after_code};
    for (int i = 0; i < 4; i++)
        if ((step = sqlite3_bind_text(stmt, i + 1, params[i], -1, SQLITE_STATIC)) != SQLITE_OK) {
            rc = sqlite_fail(db, step, NULL, "cannot bind a parameter");
            goto out;
        }
    sqlite3_bind_int(stmt, 5, q->limit > 0 ? q->limit : -1); /* a negative LIMIT: no limit */
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if ((rc = org_from_row(&org, stmt)) != COI_OK)
            goto out;
        if (json_array_append_new(list, org) != 0) {
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = sqlite_fail(db, step, NULL, "cannot list organisations");
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

int sqlite_organisation_get(struct coi_storage *s, json_t **out, const char *code)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc;

    *out = NULL;
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, GET_SQL)) != COI_OK)
        goto out;
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    if ((rc = step_one(out, db, stmt, NULL, "cannot read the organisation")) == COI_OK &&
        *out == NULL)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no organisation with code %s", code);
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    return rc;
}

/* Runs INSERT_SQL or UPDATE_SQL with `in` bound; *out is the record it returns (new
 * reference, NULL when no row matched). Names the field of a refused write: the unique key is
 * code and the only CHECK is on kind. */
static int write_record(json_t **out, sqlite3 *db, const char *sql, const struct org_input *in)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    *out = NULL;
    if ((rc = sqlite_prepare(db, &stmt, sql)) != COI_OK ||
        (rc = bind_input(db, stmt, in)) != COI_OK)
        goto out;
    rc = step_one(out, db, stmt, NULL, "cannot write the organisation");
    if (rc == COI_EEXISTS)
        rc = coi_error_set(COI_EEXISTS, "code", "an organisation with code %s already exists",
                           in->code);
    else if (rc == COI_EINVALID && sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_CHECK)
        rc = coi_error_set(COI_EINVALID, "kind",
                           "kind must be municipality, region, state or other");
out:
    sqlite3_finalize(stmt);
    return rc;
}

int sqlite_organisation_create(struct coi_storage *s, json_t **out, const json_t *org)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct org_input in;
    sqlite3 *db = NULL;
    json_t *created = NULL;
    int rc;

    *out = NULL;
    if ((rc = org_input_from(&in, org, NULL)) != COI_OK)
        return rc;
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK || (rc = sqlite_begin(db)) != COI_OK ||
        (rc = check_region(db, in.region_code)) != COI_OK ||
        (rc = write_record(&created, db, INSERT_SQL, &in)) != COI_OK ||
        (rc = sqlite_commit(db)) != COI_OK)
        goto out;
    *out = created;
    created = NULL;
out:
    if (db != NULL)
        sqlite_rollback(db);
    sqlite_conn_release(st, db);
    json_decref(created);
    return rc;
}

/* Sets *out to the stored version of `code`, COI_ENOTFOUND when there is no such row. */
static int current_version(int64_t *out, sqlite3 *db, const char *code)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, "SELECT version FROM organisations WHERE code = ?1");
    if (rc != COI_OK)
        return rc;
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        *out = sqlite3_column_int64(stmt, 0);
        rc = COI_OK;
    } else if (step == SQLITE_DONE) {
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no organisation with code %s", code);
    } else {
        rc = sqlite_fail(db, step, NULL, "cannot read the organisation");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int sqlite_organisation_update(struct coi_storage *s, json_t **out, const char *code,
                               const json_t *org, int64_t expected_version)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    struct org_input in;
    sqlite3 *db = NULL;
    json_t *updated = NULL;
    int64_t version = 0;
    int rc;

    *out = NULL;
    if ((rc = org_input_from(&in, org, code)) != COI_OK)
        return rc;
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK || (rc = sqlite_begin(db)) != COI_OK ||
        (rc = current_version(&version, db, code)) != COI_OK)
        goto out;
    if (expected_version != -1 && expected_version != version) {
        rc = coi_error_set(COI_ECONFLICT, NULL, "organisation %s is at version %lld, not %lld",
                           code, (long long)version, (long long)expected_version);
        goto out;
    }
    /* The row exists and the write lock is held since BEGIN IMMEDIATE: the UPDATE returns it. */
    if ((rc = check_region(db, in.region_code)) != COI_OK ||
        (rc = write_record(&updated, db, UPDATE_SQL, &in)) != COI_OK ||
        (rc = sqlite_commit(db)) != COI_OK)
        goto out;
    *out = updated;
    updated = NULL;
out:
    if (db != NULL)
        sqlite_rollback(db);
    sqlite_conn_release(st, db);
    json_decref(updated);
    return rc;
}
