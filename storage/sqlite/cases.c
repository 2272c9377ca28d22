/* SQLite cases, read side: the case record, get, history and the derived fields (lists,
 * counts and facets are in case_search.c). */
#include "storage/sqlite/sqlite_internal.h"

#include <stdlib.h>

/* Every read of a case is this one statement, so a record (partners included) always comes
 * from one snapshot. The partners come as [position, code] pairs and are put in position
 * order in C: SQLite 3.40 does not promise the order in which json_group_array sees rows. */
#define CASE_SELECT "SELECT " SQLITE_CASE_COLUMNS " FROM cases c"

enum {
    COL_ID,
    COL_ORGANISATION,
    COL_EXTERNAL_ID,
    COL_DOC,
    COL_STATUS,
    COL_LEVELS,
    COL_ADOPTION_COUNT,
    COL_REGIONS,
    COL_VERSION,
    COL_CREATED,
    COL_UPDATED,
    COL_PUBLISHED,
    COL_PARTNERS,
};

static const char GET_SQL[] = CASE_SELECT " WHERE c.id = ?1";

static const char GET_BY_EXTERNAL_ID_SQL[] =
    CASE_SELECT " WHERE c.organisation_code = ?1 AND c.external_id = ?2";

/* ?2 is a JSON array of external ids: one statement for any number of them, each looked up
 * in the (organisation_code, external_id) index. */
static const char GET_BY_EXTERNAL_IDS_SQL[] =
    CASE_SELECT " WHERE c.organisation_code = ?1"
                " AND c.external_id IN (SELECT value FROM json_each(?2))";

/* The LEFT JOIN yields one all-NULL history row for a case without matching entries, and no
 * row at all for a missing case: one statement tells both apart. */
static const char HISTORY_SQL[] =
    "SELECT h.version, h.at, h.actor, h.action, h.from_status, h.to_status, h.note,"
    " h.changed_fields FROM cases c LEFT JOIN case_history h ON h.case_id = c.id"
    " AND (?2 <= 0 OR h.version < ?2) WHERE c.id = ?1 ORDER BY h.version DESC LIMIT ?3";

/* Lead, partners and active adopters of case ?1, and what each contributes: a government
 * level (lead and partners only) and a region. UNION makes both sets distinct; ORDER BY sorts
 * them (binary collation, which is also the sort the records promise). */
static const char DERIVE_SQL[] =
    "WITH members (code, adopter) AS ("
    "  SELECT organisation_code, 0 FROM cases WHERE id = ?1"
    "  UNION ALL SELECT organisation_code, 0 FROM case_partners WHERE case_id = ?1"
    "  UNION ALL SELECT organisation_code, 1 FROM adoptions"
    "            WHERE case_id = ?1 AND status <> 'discontinued')"
    " SELECT 1, CASE o.kind WHEN 'municipality' THEN 'municipal' WHEN 'region' THEN 'regional'"
    "           ELSE 'state' END"
    " FROM members m JOIN organisations o ON o.code = m.code"
    " WHERE m.adopter = 0 AND o.kind IN ('municipality', 'region', 'state')"
    " UNION"
    " SELECT 2, CASE o.kind WHEN 'region' THEN o.code ELSE o.region_code END"
    " FROM members m JOIN organisations o ON o.code = m.code"
    " WHERE o.kind = 'region' OR o.region_code IS NOT NULL"
    " ORDER BY 1, 2";

static const char DERIVE_UPDATE_SQL[] =
    "UPDATE cases SET government_levels = ?2, regions_reached = ?3, adoption_count = ("
    " SELECT count(*) FROM adoptions WHERE case_id = ?1 AND status <> 'discontinued')"
    " WHERE id = ?1";

static int compare_position(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_array_get(*(json_t *const *)a, 0));
    json_int_t y = json_integer_value(json_array_get(*(json_t *const *)b, 0));
    return (x > y) - (x < y);
}

/* The partner codes in position order from the [position, code] pairs of column `i`. New
 * reference, NULL on failure. */
static json_t *partners_from(sqlite3_stmt *stmt, int i)
{
    json_t *pairs = sqlite_column_json(stmt, i), *codes = NULL, **sorted = NULL;
    size_t n = json_array_size(pairs);

    if (!json_is_array(pairs) || (sorted = calloc(n + 1, sizeof *sorted)) == NULL ||
        (codes = json_array()) == NULL)
        goto out;
    for (size_t k = 0; k < n; k++)
        sorted[k] = json_array_get(pairs, k);
    qsort(sorted, n, sizeof *sorted, compare_position);
    for (size_t k = 0; k < n; k++)
        if (json_array_append(codes, json_array_get(sorted[k], 1)) != 0) {
            json_decref(codes);
            codes = NULL;
            goto out;
        }
out:
    free(sorted);
    json_decref(pairs);
    return codes;
}

/* The record of the current row of a statement selecting SQLITE_CASE_COLUMNS first: the stored
 * document plus the columns. */
int sqlite_case_from_row(json_t **out, sqlite3_stmt *stmt)
{
    static const struct {
        const char *key;
        int column;
    } strings[] = {
        {"id", COL_ID},
        {"organisation_code", COL_ORGANISATION},
        {"external_id", COL_EXTERNAL_ID},
        {"status", COL_STATUS},
        {"created_at", COL_CREATED},
        {"updated_at", COL_UPDATED},
        {"published_at", COL_PUBLISHED},
    };
    json_t *c = sqlite_column_json(stmt, COL_DOC);

    *out = NULL;
    if (!json_is_object(c))
        goto fail;
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if (json_object_set_new(c, strings[i].key, sqlite_column_string(stmt, strings[i].column)) !=
            0)
            goto fail;
    if (json_object_set_new(c, "partner_organisation_codes", partners_from(stmt, COL_PARTNERS)) ||
        json_object_set_new(c, "government_levels", sqlite_column_json(stmt, COL_LEVELS)) ||
        json_object_set_new(c, "regions_reached", sqlite_column_json(stmt, COL_REGIONS)) ||
        json_object_set_new(c, "adoption_count",
                            json_integer(sqlite3_column_int64(stmt, COL_ADOPTION_COUNT))) ||
        json_object_set_new(c, "version", json_integer(sqlite3_column_int64(stmt, COL_VERSION))))
        goto fail;
    *out = c;
    return COI_OK;
fail:
    json_decref(c);
    return coi_error_set(COI_ERROR, NULL, "cannot build the record of case %s",
                         (const char *)sqlite3_column_text(stmt, COL_ID));
}

/* Steps a CASE_SELECT statement to the end, appending each record to `list`. */
static int collect_cases(json_t *list, sqlite3 *db, sqlite3_stmt *stmt)
{
    json_t *c;
    int step, rc;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if ((rc = sqlite_case_from_row(&c, stmt)) != COI_OK)
            return rc;
        if (json_array_append_new(list, c) != 0)
            return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    }
    return step == SQLITE_DONE ? COI_OK : sqlite_fail(db, step, NULL, "cannot read cases");
}

/* Runs a prepared, bound CASE_SELECT that matches at most one case: *out is its record (new
 * reference) or NULL when none matched. Finalizes `stmt`. */
static int read_one(json_t **out, sqlite3 *db, sqlite3_stmt *stmt)
{
    json_t *list = json_array();
    int rc = list != NULL ? collect_cases(list, db, stmt)
                          : coi_error_set(COI_ENOMEM, NULL, "out of memory");
    *out = NULL;
    if (rc == COI_OK && json_array_size(list) > 0)
        *out = json_incref(json_array_get(list, 0));
    json_decref(list);
    sqlite3_finalize(stmt);
    return rc;
}

int sqlite_case_read(sqlite3 *db, json_t **out, const char *id)
{
    sqlite3_stmt *stmt = NULL;
    int rc;
    *out = NULL;
    if ((rc = sqlite_prepare(db, &stmt, GET_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, &id, 1)) != COI_OK) {
        sqlite3_finalize(stmt);
        return rc;
    }
    if ((rc = read_one(out, db, stmt)) == COI_OK && *out == NULL)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no case with id %s", id);
    return rc;
}

int sqlite_case_get(struct coi_storage *s, json_t **out, const char *id)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    int rc;
    *out = NULL;
    if ((rc = sqlite_conn_acquire(st, &db)) == COI_OK)
        rc = sqlite_case_read(db, out, id);
    sqlite_conn_release(st, db);
    return rc;
}

int sqlite_case_get_by_external_id(struct coi_storage *s, json_t **out,
                                   const char *organisation_code, const char *external_id)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    const char *params[] = {organisation_code, external_id};
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc;

    *out = NULL;
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, GET_BY_EXTERNAL_ID_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 2)) != COI_OK) {
        sqlite3_finalize(stmt);
        goto out;
    }
    if ((rc = read_one(out, db, stmt)) == COI_OK && *out == NULL)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "organisation %s has no case with external_id %s",
                           organisation_code, external_id);
out:
    sqlite_conn_release(st, db);
    return rc;
}

/* The external ids[0..n-1] as a JSON array text into *out (free()). */
static int ids_json(char **out, const char *const *ids, size_t n)
{
    json_t *list = json_array();
    *out = NULL;
    for (size_t i = 0; list != NULL && i < n; i++)
        if (json_array_append_new(list, json_string(ids[i] != NULL ? ids[i] : "")) != 0)
            break;
    if (list != NULL && json_array_size(list) == n)
        *out = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return *out != NULL ? COI_OK
                        : coi_error_set(COI_EINVALID, NULL, "external ids must be UTF-8 strings");
}

int sqlite_case_get_by_external_ids(struct coi_storage *s, json_t **out,
                                    const char *organisation_code, const char *const *external_ids,
                                    size_t n)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array(), *found = json_object(), *c;
    char *ids = NULL;
    size_t i;
    int rc;

    *out = NULL;
    if (list == NULL || found == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    if ((rc = ids_json(&ids, external_ids, n)) != COI_OK)
        goto out;
    const char *params[] = {organisation_code, ids};
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, GET_BY_EXTERNAL_IDS_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 2)) != COI_OK ||
        (rc = collect_cases(list, db, stmt)) != COI_OK)
        goto out;
    json_array_foreach(list, i, c)
    {
        if (json_object_set(found, json_string_value(json_object_get(c, "external_id")), c)) {
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
            goto out;
        }
    }
    *out = found;
    found = NULL;
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    free(ids);
    json_decref(list);
    json_decref(found);
    return rc;
}

int sqlite_case_history(struct coi_storage *s, json_t **out, const char *id, int64_t before_version,
                        int limit)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    int rc;

    *out = NULL;
    if ((rc = sqlite_conn_acquire(st, &db)) == COI_OK)
        rc = sqlite_history_read(db, out, HISTORY_SQL, id, before_version, limit, "case");
    sqlite_conn_release(st, db);
    return rc;
}

/* Runs DERIVE_SQL for case `id` into two new JSON arrays (levels, regions), dumped compactly
 * into *levels and *regions (free()). */
static int derive_arrays(sqlite3 *db, const char *id, char **levels, char **regions)
{
    sqlite3_stmt *stmt = NULL;
    json_t *sets[2] = {json_array(), json_array()};
    int rc, step;

    *levels = *regions = NULL;
    if (sets[0] == NULL || sets[1] == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    if ((rc = sqlite_prepare(db, &stmt, DERIVE_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, &id, 1)) != COI_OK)
        goto out;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        int set = sqlite3_column_int(stmt, 0) == 1 ? 0 : 1;
        if (json_array_append_new(sets[set], sqlite_column_string(stmt, 1)) != 0) {
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = sqlite_fail(db, step, NULL, "cannot derive the case's levels and regions");
        goto out;
    }
    *levels = json_dumps(sets[0], JSON_COMPACT);
    *regions = json_dumps(sets[1], JSON_COMPACT);
    if (*levels == NULL || *regions == NULL) {
        free(*levels);
        free(*regions);
        *levels = *regions = NULL;
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
    }
out:
    sqlite3_finalize(stmt);
    json_decref(sets[0]);
    json_decref(sets[1]);
    return rc;
}

int sqlite_case_derive(sqlite3 *db, const char *id)
{
    sqlite3_stmt *stmt = NULL;
    char *levels = NULL, *regions = NULL;
    int rc;

    if ((rc = derive_arrays(db, id, &levels, &regions)) != COI_OK)
        return rc;
    const char *params[] = {id, levels, regions};
    if ((rc = sqlite_prepare(db, &stmt, DERIVE_UPDATE_SQL)) == COI_OK &&
        (rc = sqlite_bind_texts(db, stmt, params, 3)) == COI_OK)
        rc = sqlite_step_done(db, stmt, NULL, "cannot store the case's derived fields");
    sqlite3_finalize(stmt);
    free(levels);
    free(regions);
    return rc;
}
