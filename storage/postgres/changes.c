/* PostgreSQL backend: the change feed. Writes end by inserting their change rows and
 * committing (pg_commit_*_change); change_list reads the feed for one viewer.
 *
 * Why seq order is commit order: a bigserial alone is not, since a transaction may draw seq 7,
 * then another draw 8 and commit first; a reader polling then would move past 7 and never see
 * it. So every writer takes one transaction-level advisory lock before drawing its seqs, and
 * holds it until its COMMIT (the lock is released only after the commit is visible). Draws and
 * commits therefore happen in the same order, and a snapshot that sees seq N sees every
 * committed seq below N. The lock is taken only in the round trip that also commits (the
 * statements after all the write's work), so writers queue for it only briefly.
 *
 * The lock comes in a statement of its own before the insert: the insert's snapshot, taken
 * after the lock is granted, then sees every write that drew a lower seq, so the visibility
 * computed from objects this transaction did not lock (the case of an evaluation, the
 * evaluations of a case) is as of the change's place in the feed. */
#include "storage/postgres/pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "coi-chng" as a 64-bit integer (migrations.c uses "coi-migr"). */
static const char LOCK_SQL[] = "SELECT pg_advisory_xact_lock(7165061175831981671)";

#define INSERT_CHANGES                                                                             \
    "INSERT INTO changes (type, object_id, case_id, action, version, public_before, orgs_before,"  \
    " public_after, orgs_after)"

/* $1: the entries (see pg_commit_case_changes). Per entry, the case's row, then one row for
 * each evaluation and adoption of the case whose visibility differs between the case as it
 * was before the entry's write (public_before, orgs_before) and after it (public_after,
 * orgs_after): a transition that changes the case's publication, or an update that changes
 * its lead or partners. What an entry leaves out (null) is read from the case as this
 * transaction left it. A published evaluation and any adoption are visible as the case is
 * (public with it, to its lead and partners); any other evaluation only to the case's lead,
 * the first of the case's organisations (PG_CASE_ORGS and W_ORGS of case_writes.c put it
 * first). Organisations are compared as sets, so a reordering of partners is no change. A
 * child's row keeps its version. The ORDER BY keeps the subquery whole, so the seqs are drawn
 * in that order: per entry the case, then its evaluations, then its adoptions, each by id. */
/* clang-format off */
const char pg_case_changes_sql[] =
    "WITH v AS (SELECT w.i, w.action, c.id, COALESCE(w.version, c.version) AS version,"
    " w.public_before AS pb, COALESCE(w.orgs_before, " PG_CASE_ORGS("c") ") AS ob,"
    " COALESCE(w.public_after, c.status = 'published') AS pa,"
    " COALESCE(w.orgs_after, " PG_CASE_ORGS("c") ") AS oa"
    " FROM jsonb_to_recordset($1::jsonb) AS w(i integer, id text, action text, version bigint,"
    " public_before boolean, orgs_before text[], public_after boolean, orgs_after text[])"
    " JOIN cases c ON c.id = w.id) " INSERT_CHANGES
    " SELECT x.type, x.object_id, x.case_id, x.action, x.version, x.pb, x.ob, x.pa, x.oa FROM ("
    "SELECT v.i, 0 AS k, v.id AS sort, 'case' AS type, v.id AS object_id, v.id AS case_id,"
    " v.action, v.version, v.pb, v.ob, v.pa, v.oa FROM v"
    " UNION ALL SELECT v.i, o.k, o.id, o.type, o.id, v.id, 'updated', o.version,"
    " v.pb AND o.shared, CASE WHEN o.shared THEN v.ob ELSE v.ob[1:1] END,"
    " v.pa AND o.shared, CASE WHEN o.shared THEN v.oa ELSE v.oa[1:1] END"
    " FROM v CROSS JOIN LATERAL (SELECT 1 AS k, e.id, 'evaluation' AS type, e.version,"
    " e.status = 'published' AS shared FROM evaluations e WHERE e.case_id = v.id"
    " UNION ALL SELECT 2, a.id, 'adoption', a.version, true FROM adoptions a"
    " WHERE a.case_id = v.id) o) x"
    " WHERE x.k = 0 OR x.pb IS DISTINCT FROM x.pa OR NOT (x.ob @> x.oa AND x.oa @> x.ob)"
    " ORDER BY x.i, x.k, x.sort";
/* clang-format on */

/* Who may see an evaluation of case `c` whose status is `s` (NULL: it does not exist). */
#define EVALUATION_PUBLIC(s) "COALESCE(" s " = 'published' AND c.status = 'published', false)"
#define EVALUATION_ORGS(s)                                                                         \
    "CASE WHEN " s " IS NULL THEN '{}'::text[] WHEN " s                                            \
    " = 'published' THEN " PG_CASE_ORGS("c") " ELSE ARRAY[c.organisation_code] END"

/* $1 id, $2 case, $3 action, $4 version, $5 status before, $6 status after. */
/* clang-format off */
const char pg_evaluation_change_sql[] =
    INSERT_CHANGES " SELECT 'evaluation', $1::text, c.id, $3::text, $4::bigint,"
    " " EVALUATION_PUBLIC("$5::text") ", " EVALUATION_ORGS("$5::text") ","
    " " EVALUATION_PUBLIC("$6::text") ", " EVALUATION_ORGS("$6::text")
    " FROM cases c WHERE c.id = $2::text";
/* clang-format on */

/* $1 id, $2 case, $3 action, $4 version. An adoption exists before the write unless it is
 * its creation, and after it unless it is its deletion. */
#define ADOPTION_EXISTS(when) "$3::text <> '" when "'"
/* clang-format off */
const char pg_adoption_change_sql[] =
    INSERT_CHANGES " SELECT 'adoption', $1::text, c.id, $3::text, $4::bigint,"
    " " ADOPTION_EXISTS("created") " AND c.status = 'published',"
    " CASE WHEN " ADOPTION_EXISTS("created") " THEN " PG_CASE_ORGS("c") " ELSE '{}'::text[] END,"
    " " ADOPTION_EXISTS("deleted") " AND c.status = 'published',"
    " CASE WHEN " ADOPTION_EXISTS("deleted") " THEN " PG_CASE_ORGS("c") " ELSE '{}'::text[] END"
    " FROM cases c WHERE c.id = $2::text";
/* clang-format on */

/* Runs [read,] lock, `change` and COMMIT in one round trip. */
static int commit_change(PGconn *conn, const struct pg_statement *read, PGresult **read_out,
                         const struct pg_statement *change)
{
    struct pg_statement st[4];
    PGresult *res[4];
    size_t n = 0;
    int rc;

    if (read != NULL)
        st[n++] = *read;
    st[n++] = (struct pg_statement){LOCK_SQL, 0, NULL};
    st[n++] = *change;
    st[n++] = (struct pg_statement){"COMMIT", 0, NULL};
    if ((rc = pg_pipeline(conn, st, n, res)) != COI_OK)
        return rc;
    if (read != NULL)
        *read_out = res[0];
    for (size_t i = read != NULL ? 1 : 0; i < n; i++)
        PQclear(res[i]);
    return COI_OK;
}

int pg_commit_case_changes(PGconn *conn, const struct pg_statement *read, PGresult **read_out,
                           const char *entries)
{
    const char *params[1] = {entries};
    struct pg_statement change = {pg_case_changes_sql, 1, params};
    return commit_change(conn, read, read_out, &change);
}

int pg_commit_evaluation_change(PGconn *conn, const char *id, const char *case_id,
                                const char *action, const char *version, const char *status_before,
                                const char *status_after)
{
    const char *params[6] = {id, case_id, action, version, status_before, status_after};
    struct pg_statement change = {pg_evaluation_change_sql, 6, params};
    return commit_change(conn, NULL, NULL, &change);
}

int pg_commit_adoption_change(PGconn *conn, const char *id, const char *case_id, const char *action,
                              const char *version)
{
    const char *params[4] = {id, case_id, action, version}, *recompute_params[1] = {case_id};
    struct pg_statement change = {pg_adoption_change_sql, 4, params};
    struct pg_statement recompute = {pg_case_recompute_sql, 1, recompute_params};
    PGresult *res = NULL;
    int rc = commit_change(conn, &recompute, &res, &change);

    PQclear(res); /* the case is locked: it was recomputed */
    return rc;
}

/* ---- Reading the feed ------------------------------------------------------------------- */

/* Whether the viewer ($1 see_all, $2 viewer_org; NULL: the public) saw the change's object
 * before / after it. A NULL org makes "= ANY" NULL, which counts as not seeing. */
#define SEEN(when) "($1::boolean OR ch.public_" when " OR $2::text = ANY (ch.orgs_" when "))"

/* $3 after_seq, $4 the types mask (0: all), $5 limit. One statement, so the page and the
 * highest committed seq come from one snapshot: columns are the page (JSON text), its length,
 * its last seq and the highest seq in the table. */
/* clang-format off */
static const char LIST_SQL[] =
    "WITH page AS (SELECT ch.seq, ch.type, ch.object_id, ch.case_id, ch.version, ch.at,"
    " CASE WHEN ch.action = 'deleted' THEN 'deleted' WHEN " SEEN("after") " THEN ch.action"
    " ELSE 'removed' END AS action FROM changes ch WHERE ch.seq > $3::bigint"
    " AND ($4::integer = 0 OR ($4::integer & CASE ch.type WHEN 'case' THEN 1"
    " WHEN 'evaluation' THEN 2 ELSE 4 END) <> 0)"
    " AND (" SEEN("before") " OR " SEEN("after") ") ORDER BY ch.seq LIMIT $5::bigint)"
    " SELECT (SELECT COALESCE(json_agg(json_build_object('seq', p.seq, 'type', p.type,"
    " 'id', p.object_id, 'case_id', p.case_id, 'action', p.action,"
    " 'at', " PG_ISO_UTC("p.at") ", 'version', p.version) ORDER BY p.seq), '[]')::text"
    " FROM page p), (SELECT count(*) FROM page), (SELECT max(seq) FROM page),"
    " (SELECT max(seq) FROM changes)";
/* clang-format on */

/* Where the next read continues (see change_list in storage.h). */
static int64_t next_seq_of(const PGresult *res, const struct coi_change_query *q)
{
    int64_t seq;

    if (strtoll(PQgetvalue(res, 0, 1), NULL, 10) >= q->limit)
        return strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    seq = PQgetisnull(res, 0, 3) ? 0 : strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    return seq > q->after_seq ? seq : q->after_seq;
}

int pg_change_list(struct coi_storage *s, json_t **out, int64_t *next_seq,
                   const struct coi_change_query *q)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    char after[24], types[16], limit[16];
    const char *params[5] = {q->see_all ? "t" : "f", q->viewer_org, after, types, limit};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    *next_seq = q->after_seq;
    if (q->limit < 1)
        return coi_error_set(COI_EINVALID, "limit", "limit must be at least 1");
    snprintf(after, sizeof after, "%" PRId64, q->after_seq);
    snprintf(types, sizeof types, "%u", q->types & 7u);
    snprintf(limit, sizeof limit, "%d", q->limit);
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_read_query(&res, conn, LIST_SQL, 5, params)) == COI_OK &&
        (rc = pg_json_value(out, res, 0, 0)) == COI_OK)
        *next_seq = next_seq_of(res, q);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

int pg_change_head(struct coi_storage *s, int64_t *out)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    *out = 0;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_query(&res, conn, "SELECT COALESCE(max(seq), 0) FROM changes", 0, NULL)) == COI_OK)
        *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}
