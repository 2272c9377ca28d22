/* PostgreSQL backend: organisation records (list, get, create, update). */
#include "storage/postgres/pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A record's columns, in the order org_from_row reads them. */
#define ORG_COLUMNS                                                                                \
    "code, name, kind, region_code, " PG_ISO_UTC("created_at") ", " PG_ISO_UTC(                    \
        "updated_at") ", version"

/* True when $N is NULL or names an organisation of kind region. */
#define REGION_OK(n)                                                                               \
    "(" n "::text IS NULL OR EXISTS (SELECT 1 FROM organisations r"                                \
    " WHERE r.code = " n "::text AND r.kind = 'region'))"

/* One static statement for every combination of filters: a NULL parameter disables its
 * condition, a NULL limit means no limit. strpos instead of LIKE keeps % and _ literal. */
static const char LIST_SQL[] = "SELECT " ORG_COLUMNS " FROM organisations"
                               " WHERE ($1::text IS NULL OR kind = $1::text)"
                               " AND ($2::text IS NULL OR region_code = $2::text)"
                               " AND ($3::text IS NULL OR strpos(lower(name), lower($3::text)) > 0)"
                               " AND ($4::text IS NULL OR code > $4::text)"
                               " ORDER BY code LIMIT $5::bigint";

static const char GET_SQL[] = "SELECT " ORG_COLUMNS " FROM organisations WHERE code = $1";

/* Zero rows when the region check fails: the check and the insert are one statement. */
static const char CREATE_SQL[] = "INSERT INTO organisations (code, name, kind, region_code)"
                                 " SELECT $1::text, $2::text, $3::text, $4::text"
                                 " WHERE " REGION_OK("$4") " RETURNING " ORG_COLUMNS;

static const char UPDATE_SQL[] =
    "UPDATE organisations SET name = $2::text, kind = $3::text, region_code = $4::text,"
    " version = version + 1, updated_at = now()"
    " WHERE code = $1::text AND ($5::bigint = -1 OR version = $5::bigint)"
    " AND " REGION_OK("$4") " RETURNING " ORG_COLUMNS;

/* Why an update matched no row: the stored version (no row: absent) and the region check. */
static const char UPDATE_WHY_SQL[] =
    "SELECT version, " REGION_OK("$2") " FROM organisations WHERE code = $1::text";

/* The fields create and update take. Strings are borrowed from the input object. */
struct org_fields {
    const char *code, *name, *kind, *region_code;
};

/* Reads `org`; code is required only when `need_code`. COI_EINVALID (with the field) when a
 * field is missing or of the wrong type. */
static int org_fields_read(struct org_fields *out, const json_t *org, int need_code)
{
    const json_t *region = json_object_get(org, "region_code");

    out->code = json_string_value(json_object_get(org, "code"));
    out->name = json_string_value(json_object_get(org, "name"));
    out->kind = json_string_value(json_object_get(org, "kind"));
    out->region_code = json_string_value(region);
    if (need_code && out->code == NULL)
        return coi_error_set(COI_EINVALID, "code", "code must be a string");
    if (out->name == NULL)
        return coi_error_set(COI_EINVALID, "name", "name must be a string");
    if (out->kind == NULL)
        return coi_error_set(COI_EINVALID, "kind", "kind must be a string");
    if (region != NULL && !json_is_null(region) && out->region_code == NULL)
        return coi_error_set(COI_EINVALID, "region_code", "region_code must be a string or null");
    return COI_OK;
}

static int set_column(json_t *o, const char *key, const PGresult *res, int row, int col)
{
    json_t *v = PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
    return json_object_set_new(o, key, v); /* -1 for a NULL v */
}

/* A record from row `row` of a result selecting ORG_COLUMNS. *out is a new reference. */
static int org_from_row(json_t **out, const PGresult *res, int row)
{
    json_t *o = json_object();

    *out = NULL;
    if (o == NULL || set_column(o, "code", res, row, 0) != 0 ||
        set_column(o, "name", res, row, 1) != 0 || set_column(o, "kind", res, row, 2) != 0 ||
        set_column(o, "region_code", res, row, 3) != 0 ||
        set_column(o, "created_at", res, row, 4) != 0 ||
        set_column(o, "updated_at", res, row, 5) != 0 ||
        json_object_set_new(o, "version",
                            json_integer(strtoll(PQgetvalue(res, row, 6), NULL, 10))) != 0) {
        json_decref(o);
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    }
    *out = o;
    return COI_OK;
}

/* Runs a create or update: on success *out holds the result (caller PQclears); a refused
 * write becomes an error naming the field concerned. */
static int org_write(PGresult **out, PGconn *conn, const char *sql, int nparams,
                     const char *const *params, const struct org_fields *f)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    const char *constraint;
    int rc;

    *out = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        *out = res;
        return COI_OK;
    }
    rc = pg_error(conn, res);
    constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (rc == COI_EEXISTS)
        rc = coi_error_set(rc, "code", "organisation %s already exists", f->code);
    else if (rc == COI_EINVALID && constraint != NULL && strstr(constraint, "kind") != NULL)
        rc = coi_error_set(rc, "kind", "kind must be municipality, region, state or other");
    else if (rc == COI_EINVALID) /* the region vanished between the check and the insert */
        rc = coi_error_set(rc, "region_code", "no region with code %s",
                           f->region_code != NULL ? f->region_code : "");
    PQclear(res);
    return rc;
}

/* Sends the one record of `res` (or ENOTFOUND for none) to *out. */
static int org_single(json_t **out, const PGresult *res, const char *code)
{
    if (PQntuples(res) == 0)
        return coi_error_set(COI_ENOTFOUND, NULL, "no organisation with code %s", code);
    return org_from_row(out, res, 0);
}

int pg_organisation_list(struct coi_storage *s, json_t **out, const struct coi_org_query *q)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    static const struct coi_org_query all = {NULL, NULL, NULL, NULL, 0};
    char limit[24];
    const char *params[5];
    PGconn *conn = NULL;
    PGresult *res = NULL;
    json_t *list = NULL, *org = NULL;
    int rc;

    *out = NULL;
    if (q == NULL)
        q = &all;
    snprintf(limit, sizeof limit, "%d", q->limit);
    params[0] = q->kind;
    params[1] = q->region_code;
    params[2] = q->name_contains;
    params[3] = q->after_code;
    params[4] = q->limit > 0 ? limit : NULL;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_query(&res, conn, LIST_SQL, 5, params)) != COI_OK)
        goto out;
    if ((list = json_array()) == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        if ((rc = org_from_row(&org, res, i)) != COI_OK)
            goto out;
        if (json_array_append_new(list, org) != 0) {
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
            goto out;
        }
    }
    *out = list;
    list = NULL;
out:
    json_decref(list);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

int pg_organisation_get(struct coi_storage *s, json_t **out, const char *code)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    const char *params[1] = {code};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_query(&res, conn, GET_SQL, 1, params)) == COI_OK)
        rc = org_single(out, res, code);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

int pg_organisation_create(struct coi_storage *s, json_t **out, const json_t *org)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    struct org_fields f;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = org_fields_read(&f, org, 1)) != COI_OK)
        return rc;
    const char *params[4] = {f.code, f.name, f.kind, f.region_code};
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = org_write(&res, conn, CREATE_SQL, 4, params, &f)) != COI_OK)
        goto out;
    if (PQntuples(res) == 0)
        rc = coi_error_set(COI_EINVALID, "region_code", "no region with code %s", f.region_code);
    else
        rc = org_from_row(out, res, 0);
out:
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

/* After an update matched no row: says why (absent, other version, bad region). */
static int update_refused(PGconn *conn, const char *code, const struct org_fields *f,
                          int64_t expected_version)
{
    const char *params[2] = {code, f->region_code};
    PGresult *res = NULL;
    int rc = pg_query(&res, conn, UPDATE_WHY_SQL, 2, params);

    if (rc != COI_OK)
        return rc;
    if (PQntuples(res) == 0)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no organisation with code %s", code);
    else if (expected_version != -1 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) != expected_version)
        rc = coi_error_set(COI_ECONFLICT, NULL, "organisation %s is at version %s, not %" PRId64,
                           code, PQgetvalue(res, 0, 0), expected_version);
    else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        rc = coi_error_set(COI_EINVALID, "region_code", "no region with code %s", f->region_code);
    else /* it changed between the two statements */
        rc = coi_error_set(COI_ECONFLICT, NULL, "organisation %s changed meanwhile", code);
    PQclear(res);
    return rc;
}

int pg_organisation_update(struct coi_storage *s, json_t **out, const char *code, const json_t *org,
                           int64_t expected_version)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    struct org_fields f;
    char version[24];
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = org_fields_read(&f, org, 0)) != COI_OK)
        return rc;
    f.code = code;
    snprintf(version, sizeof version, "%" PRId64, expected_version);
    const char *params[5] = {code, f.name, f.kind, f.region_code, version};
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = org_write(&res, conn, UPDATE_SQL, 5, params, &f)) != COI_OK)
        goto out;
    if (PQntuples(res) == 0)
        rc = update_refused(conn, code, &f, expected_version);
    else
        rc = org_from_row(out, res, 0);
out:
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}
