/* PostgreSQL backend: idempotency keys (claim a key for a request, store its response, release
 * it). */
#include "storage/postgres/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* A record past its time is forgotten before the claim: older than the ttl $3, or still in
 * progress after $4 seconds (its request died without completing or releasing it). */
static const char FORGET_SQL[] =
    "DELETE FROM idempotency_keys WHERE sub = $1::text AND key = $2::text"
    " AND (created_at < now() - $3::integer * interval '1 second' OR (status IS NULL"
    " AND created_at < now() - $4::integer * interval '1 second'))";

/* No row: the key is taken. */
static const char INSERT_SQL[] =
    "INSERT INTO idempotency_keys (sub, key, request_hash) VALUES ($1::text, $2::text, $3::text)"
    " ON CONFLICT (sub, key) DO NOTHING RETURNING 1";

/* No row: the record was released (or forgotten) since the insert found it. */
static const char RECORD_SQL[] =
    "SELECT jsonb_build_object('request_hash', request_hash, 'status', COALESCE(status, 0),"
    " 'headers', headers, 'body', body)::text FROM idempotency_keys"
    " WHERE sub = $1::text AND key = $2::text";

/* Expired records, the oldest first through the created_at index, a bounded number per purge
 * so that no claim pays for a large one. $1: the ttl. */
static const char PURGE_SQL[] =
    "DELETE FROM idempotency_keys WHERE (sub, key) IN (SELECT sub, key FROM idempotency_keys"
    " WHERE created_at < now() - $1::integer * interval '1 second' ORDER BY created_at"
    " LIMIT 1000)";

/* Every PURGE_EVERY-th claim of a process purges (the first one too: after a pause). */
#define PURGE_EVERY 256u

static const char COMPLETE_SQL[] =
    "UPDATE idempotency_keys SET status = $3::integer, headers = $4::jsonb, body = $5::text"
    " WHERE sub = $1::text AND key = $2::text AND status IS NULL";

static const char RELEASE_SQL[] =
    "DELETE FROM idempotency_keys WHERE sub = $1::text AND key = $2::text";

/* A claim's parameters, as text. */
struct claim {
    const char *sub, *key, *hash;
    char ttl[16], stale[16];
    int purge; /* 1: this claim also purges expired records */
};

/* Tries the claim once, in one round trip: the statements of a pipeline run in one implicit
 * transaction, each with a fresh snapshot, so an insert that finds the key taken has waited
 * for the claimer that took it, and the read after it sees its record. *claimed: 1 when the
 * key was claimed, 0 when *out holds the record, -1 when the record vanished meanwhile. */
static int claim_once(PGconn *conn, json_t **out, const struct claim *c, int *claimed)
{
    const char *forget[4] = {c->sub, c->key, c->ttl, c->stale},
               *insert[3] = {c->sub, c->key, c->hash};
    const char *purge[1] = {c->ttl};
    struct pg_statement st[4] = {{FORGET_SQL, 4, forget},
                                 {INSERT_SQL, 3, insert},
                                 {RECORD_SQL, 2, insert},
                                 {PURGE_SQL, 1, purge}};
    size_t n = c->purge ? 4 : 3;
    PGresult *res[4];
    int rc = pg_pipeline(conn, st, n, res);

    if (rc != COI_OK)
        return rc;
    if (PQntuples(res[1]) == 1)
        *claimed = 1;
    else if (PQntuples(res[2]) == 0)
        *claimed = -1;
    else if ((rc = pg_json_value(out, res[2], 0, 0)) == COI_OK)
        *claimed = 0;
    for (size_t i = 0; i < n; i++)
        PQclear(res[i]);
    return rc;
}

int pg_idempotency_claim(struct coi_storage *s, json_t **out, const char *sub, const char *key,
                         const char *request_hash, int ttl_seconds, int stale_seconds)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    struct claim c = {sub, key, request_hash, "", "", 0};
    PGconn *conn = NULL;
    int rc, claimed = -1;

    *out = NULL;
    if (sub == NULL || key == NULL || request_hash == NULL)
        return coi_error_set(COI_EINVALID, NULL, "a claim needs sub, key and request_hash");
    snprintf(c.ttl, sizeof c.ttl, "%d", ttl_seconds);
    snprintf(c.stale, sizeof c.stale, "%d", stale_seconds);
    c.purge = __atomic_add_fetch(&pg->claims, 1, __ATOMIC_RELAXED) % PURGE_EVERY == 1;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    /* A record released between the insert and the read: claim again (it is free now). */
    for (int attempt = 0; rc == COI_OK && claimed < 0 && attempt < 3; attempt++)
        rc = claim_once(conn, out, &c, &claimed);
    pg_release(pg, conn);
    if (rc == COI_OK && claimed < 0)
        rc = coi_error_set(COI_ECONFLICT, NULL, "idempotency key %s keeps changing", key);
    else if (rc == COI_OK && claimed == 0)
        rc = coi_error_set(COI_EEXISTS, NULL, "idempotency key %s is taken", key);
    return rc;
}

/* Runs a write of (sub, key) with `params` ($1 sub, $2 key, ...); *changed: rows it changed. */
static int key_write(struct pg_storage *pg, const char *sql, int nparams, const char *const *params,
                     int *changed)
{
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    if (params[0] == NULL || params[1] == NULL)
        return coi_error_set(COI_EINVALID, NULL, "an idempotency key needs sub and key");
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        return rc;
    if ((rc = pg_query(&res, conn, sql, nparams, params)) == COI_OK)
        *changed = atoi(PQcmdTuples(res));
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

int pg_idempotency_complete(struct coi_storage *s, const char *sub, const char *key, int status,
                            const json_t *headers, const char *body)
{
    char code[16], *headers_text = NULL;
    const char *params[5] = {sub, key, code, NULL, body};
    int rc, changed = 0;

    snprintf(code, sizeof code, "%d", status);
    if (headers != NULL && !json_is_null(headers) &&
        (headers_text = json_dumps(headers, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    params[3] = headers_text;
    rc = key_write((struct pg_storage *)s, COMPLETE_SQL, 5, params, &changed);
    free(headers_text);
    if (rc == COI_OK && changed == 0)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "idempotency key %s is not claimed", key);
    return rc;
}

int pg_idempotency_release(struct coi_storage *s, const char *sub, const char *key)
{
    const char *params[2] = {sub, key};
    int changed = 0;
    return key_write((struct pg_storage *)s, RELEASE_SQL, 2, params, &changed);
}
