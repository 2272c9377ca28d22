/* PostgreSQL backend: evaluations of cases, read side (get, list, history, summaries). */
#include "storage/postgres/pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char GET_SQL[] =
    "SELECT " PG_EVALUATION_RECORD " FROM evaluations e WHERE e.id = $1::text";

/* Visibility ($1 see_all, $2 viewer_org), filters ($3 case, $4 method, $5 evidence level, <= 0:
 * any, $6 evaluator kind, $7 status), the keyset cursor ($8 id) and the limit ($9, NULL:
 * none) in one static statement. */
static const char LIST_SQL[] =
    "SELECT " PG_EVALUATION_RECORD " FROM evaluations e JOIN cases c ON c.id = e.case_id"
    " WHERE " PG_EVALUATION_VISIBLE " AND ($3::text IS NULL OR e.case_id = $3::text)"
    " AND ($4::text IS NULL OR e.method = $4::text)"
    " AND ($5::integer <= 0 OR e.evidence_level = $5::integer)"
    " AND ($6::text IS NULL OR e.evaluator_kind = $6::text)"
    " AND ($7::text IS NULL OR e.status = $7::text)"
    " AND ($8::text IS NULL OR e.id > $8::text) ORDER BY e.id LIMIT $9::bigint";

/* No row: the evaluation is absent; one row with a NULL entry: no entries in range. */
static const char HISTORY_SQL[] =
    "SELECT h.entry FROM evaluations e LEFT JOIN LATERAL (SELECT h.version, " PG_HISTORY_ENTRY
    " AS entry FROM evaluation_history h WHERE h.evaluation_id = e.id"
    " AND ($2::bigint <= 0 OR h.version < $2::bigint) ORDER BY h.version DESC LIMIT $3::bigint)"
    " h ON true WHERE e.id = $1::text ORDER BY h.version DESC";

/* One object {case id: summary} over the case ids $3 (a text[]), with the evaluations visible
 * under $1 and $2. An aggregate without GROUP BY always yields a row, so every id gets its
 * entry, zeros included. Methods sort by bytes (COLLATE "C"), as SQLite does. */
const char pg_evaluation_summaries_sql[] =
    "SELECT COALESCE(jsonb_object_agg(k.id, jsonb_build_object('count', s.count,"
    " 'published_count', s.published_count, 'best_evidence_level', s.best,"
    " 'documented_annual_savings_dkk', s.savings, 'methods', s.methods)), '{}'::jsonb)::text"
    " FROM unnest($3::text[]) AS k(id) CROSS JOIN LATERAL (SELECT count(*) AS count,"
    " count(*) FILTER (WHERE e.status = 'published') AS published_count,"
    " max(e.evidence_level) AS best,"
    " COALESCE(sum((e.doc -> 'economic' ->> 'annual_savings_dkk')::bigint), 0) AS savings,"
    " COALESCE(jsonb_agg(DISTINCT e.method COLLATE \"C\" ORDER BY e.method COLLATE \"C\")"
    " FILTER (WHERE e.method IS NOT NULL), '[]'::jsonb) AS methods"
    " FROM evaluations e JOIN cases c ON c.id = e.case_id"
    " WHERE e.case_id = k.id AND " PG_EVALUATION_VISIBLE ") s";

int pg_evaluation_get(struct coi_storage *s, json_t **out, const char *id)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    const char *params[1] = {id};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_read_query(&res, conn, GET_SQL, 1, params)) == COI_OK)
        rc = PQntuples(res) == 0 ? coi_error_set(COI_ENOTFOUND, NULL, "no such evaluation")
                                 : pg_json_value(out, res, 0, 0);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

int pg_evaluation_list(struct coi_storage *s, json_t **out, const struct coi_evaluation_query *q)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    static const struct coi_evaluation_query all = {.see_all = 1};
    char level[24], limit[24];
    const char *params[9];
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if (q == NULL)
        q = &all;
    snprintf(level, sizeof level, "%d", q->evidence_level);
    snprintf(limit, sizeof limit, "%d", q->limit);
    params[0] = q->see_all ? "true" : "false";
    params[1] = q->viewer_org;
    params[2] = q->case_id;
    params[3] = q->method;
    params[4] = level;
    params[5] = q->evaluator_kind;
    params[6] = q->status;
    params[7] = q->after_id;
    params[8] = q->limit > 0 ? limit : NULL;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_read_query(&res, conn, LIST_SQL, 9, params)) == COI_OK)
        rc = pg_json_rows(out, res);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

int pg_evaluation_history(struct coi_storage *s, json_t **out, const char *id,
                          int64_t before_version, int limit)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    char before[24], count[24];
    const char *params[3] = {id, before, limit > 0 ? count : NULL};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    snprintf(before, sizeof before, "%" PRId64, before_version);
    snprintf(count, sizeof count, "%d", limit);
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_read_query(&res, conn, HISTORY_SQL, 3, params)) == COI_OK)
        rc = PQntuples(res) == 0 ? coi_error_set(COI_ENOTFOUND, NULL, "no such evaluation")
                                 : pg_json_rows(out, res);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

int pg_evaluation_summaries(struct coi_storage *s, json_t **out, const char *const *case_ids,
                            size_t n, const struct coi_evaluation_query *q)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    static const struct coi_evaluation_query all = {.see_all = 1};
    const char *params[3];
    char *ids = NULL;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    if (q == NULL)
        q = &all;
    if ((rc = pg_text_array(&ids, case_ids, n, "case_id")) != COI_OK)
        return rc;
    params[0] = q->see_all ? "true" : "false";
    params[1] = q->viewer_org;
    params[2] = ids;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        goto out;
    if ((rc = pg_read_query(&res, conn, pg_evaluation_summaries_sql, 3, params)) == COI_OK)
        rc = pg_json_value(out, res, 0, 0);
    PQclear(res);
    pg_release(pg, conn);
out:
    free(ids);
    return rc;
}
