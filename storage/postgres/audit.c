/* PostgreSQL backend: the audit log (append, list newest first). */
#include "storage/postgres/pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* RETURNING makes it a read for pg_read_query: a value the database refuses (text that is not
 * UTF-8 in a path) is the request's, answered COI_EINVALID without an error log line. */
static const char APPEND_SQL[] =
    "INSERT INTO audit_log (request_id, sub, role, party, org, method, path, status, outcome,"
    " object_type, object_id, detail) VALUES ($1::text, $2::text, $3::text, $4::text, $5::text,"
    " $6::text, $7::text, $8::integer, $9::text, $10::text, $11::text, $12::text) RETURNING seq";

/* Filters $1 sub, $2 object_id, $3 outcome (NULL: any), the keyset $4 (<= 0: from the newest)
 * and the limit $5. The actor leaves out what is unknown. */
/* clang-format off */
static const char LIST_SQL[] =
    "SELECT jsonb_build_object('seq', a.seq, 'at', " PG_ISO_UTC("a.at") ","
    " 'request_id', a.request_id, 'actor', jsonb_strip_nulls(jsonb_build_object('sub', a.sub,"
    " 'role', a.role, 'party', a.party, 'org', a.org)), 'method', a.method, 'path', a.path,"
    " 'status', a.status, 'outcome', a.outcome, 'object_type', a.object_type,"
    " 'object_id', a.object_id, 'detail', a.detail)::text FROM audit_log a"
    " WHERE ($1::text IS NULL OR a.sub = $1::text)"
    " AND ($2::text IS NULL OR a.object_id = $2::text)"
    " AND ($3::text IS NULL OR a.outcome = $3::text)"
    " AND ($4::bigint <= 0 OR a.seq < $4::bigint) ORDER BY a.seq DESC LIMIT $5::bigint";
/* clang-format on */

int pg_audit_append(struct coi_storage *s, const struct coi_audit_entry *e)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    char status[16];
    const char *params[12] = {e->request_id, e->sub,         e->role,      e->party,
                              e->org,        e->method,      e->path,      status,
                              e->outcome,    e->object_type, e->object_id, e->detail};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    if (e->request_id == NULL || e->method == NULL || e->path == NULL || e->outcome == NULL)
        return coi_error_set(COI_EINVALID, NULL,
                             "an audit entry needs request_id, method, path and outcome");
    snprintf(status, sizeof status, "%d", e->status);
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    rc = pg_read_query(&res, conn, APPEND_SQL, 12, params);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

int pg_audit_list(struct coi_storage *s, json_t **out, const struct coi_audit_query *q)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    char before[24], limit[16];
    const char *params[5] = {q->sub, q->object_id, q->outcome, before, limit};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if (q->limit < 1)
        return coi_error_set(COI_EINVALID, "limit", "limit must be at least 1");
    snprintf(before, sizeof before, "%" PRId64, q->before_seq);
    snprintf(limit, sizeof limit, "%d", q->limit);
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_read_query(&res, conn, LIST_SQL, 5, params)) == COI_OK)
        rc = pg_json_rows(out, res);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}
