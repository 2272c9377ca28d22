/* SQLite change history, shared by cases and evaluations: appending an entry, reading a page. */
#include "storage/sqlite/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The actor as stored: {sub, role, party?, org?} (party and org left out when NULL). */
static json_t *actor_json(const struct coi_actor *a)
{
    json_t *o = json_object();
    if (o == NULL ||
        json_object_set_new(o, "sub", a && a->sub ? json_string(a->sub) : json_null()) ||
        json_object_set_new(o, "role", a && a->role ? json_string(a->role) : json_null()) ||
        (a && a->party && json_object_set_new(o, "party", json_string(a->party))) ||
        (a && a->org && json_object_set_new(o, "org", json_string(a->org)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int sqlite_history_append(sqlite3 *db, const char *sql, const struct sqlite_history_entry *e)
{
    sqlite3_stmt *stmt = NULL;
    json_t *actor = actor_json(e->actor);
    char *actor_text = actor ? json_dumps(actor, JSON_COMPACT) : NULL;
    char *fields_text =
        e->changed_fields ? json_dumps(e->changed_fields, JSON_COMPACT) : strdup("[]");
    int rc;

    if (actor_text == NULL || fields_text == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    const char *params[] = {e->id,   NULL,  e->at,   actor_text, e->action,
                            e->from, e->to, e->note, fields_text};
    if ((rc = sqlite_prepare(db, &stmt, sql)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 9)) != COI_OK)
        goto out;
    sqlite3_bind_int64(stmt, 2, e->version);
    rc = sqlite_step_done(db, stmt, NULL, "cannot write the history");
out:
    sqlite3_finalize(stmt);
    json_decref(actor);
    free(actor_text);
    free(fields_text);
    return rc;
}

/* The history entry of the current row of a history page statement (new reference, NULL when
 * out of memory or a stored JSON column does not parse). */
static json_t *history_from_row(sqlite3_stmt *stmt)
{
    json_t *actor = sqlite_column_json(stmt, 2), *fields = sqlite_column_json(stmt, 7);
    if (actor == NULL || fields == NULL) {
        json_decref(actor);
        json_decref(fields);
        return NULL;
    }
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "version",
                     (json_int_t)sqlite3_column_int64(stmt, 0), "at", sqlite_column_string(stmt, 1),
                     "actor", actor, "action", sqlite_column_string(stmt, 3), "from_status",
                     sqlite_column_string(stmt, 4), "to_status", sqlite_column_string(stmt, 5),
                     "note", sqlite_column_string(stmt, 6), "changed_fields", fields);
}

int sqlite_history_read(sqlite3 *db, json_t **out, const char *sql, const char *id,
                        int64_t before_version, int limit, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array(), *entry;
    int rc, step, rows = 0;

    *out = NULL;
    if (list == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if ((rc = sqlite_prepare(db, &stmt, sql)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, &id, 1)) != COI_OK)
        goto out;
    sqlite3_bind_int64(stmt, 2, before_version);
    sqlite3_bind_int(stmt, 3, limit > 0 ? limit : -1);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        rows++;
        if (sqlite3_column_type(stmt, 0) == SQLITE_NULL)
            continue; /* the owner exists, but no entry matches */
        if ((entry = history_from_row(stmt)) == NULL || json_array_append_new(list, entry)) {
            rc = coi_error_set(COI_ERROR, NULL, "cannot build the history of %s %s", what, id);
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = sqlite_fail(db, step, NULL, "cannot read the history");
        goto out;
    }
    if (rows == 0) {
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no %s with id %s", what, id);
        goto out;
    }
    *out = list;
    list = NULL;
out:
    sqlite3_finalize(stmt);
    json_decref(list);
    return rc;
}

int sqlite_check_version(sqlite3 *db, const char *sql, const char *what, const char *id,
                         int64_t expected_version, int64_t *version, char status[32])
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, sql);
    if (rc != COI_OK || (rc = sqlite_bind_texts(db, stmt, &id, 1)) != COI_OK)
        goto out;
    int step = sqlite3_step(stmt);
    if (step == SQLITE_DONE) {
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no %s with id %s", what, id);
    } else if (step != SQLITE_ROW) {
        rc = sqlite_fail(db, step, NULL, "cannot read the version");
    } else {
        *version = sqlite3_column_int64(stmt, 0);
        snprintf(status, 32, "%s", (const char *)sqlite3_column_text(stmt, 1));
        if (expected_version != -1 && expected_version != *version)
            rc = coi_error_set(COI_ECONFLICT, NULL, "%s %s is at version %lld, not %lld", what, id,
                               (long long)*version, (long long)expected_version);
    }
out:
    sqlite3_finalize(stmt);
    return rc;
}
