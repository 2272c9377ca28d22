/* SQLite idempotency keys: claiming a key for a request, storing its response, releasing it. */
#include "storage/sqlite/sqlite_internal.h"

#include <stdlib.h>

/* The instants ?3 (the ttl) and ?4 (stale_seconds) seconds ago, in the format of created_at
 * (so that text order is time order). */
#define TTL_AGO "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d seconds', ?3))"
#define STALE_AGO "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d seconds', ?4))"

/* A record past its time is forgotten before the claim: older than the ttl, or still in
 * progress after stale_seconds (its request died without completing or releasing it). */
static const char FORGET_SQL[] =
    "DELETE FROM idempotency_keys WHERE sub = ?1 AND key = ?2"
    " AND (created_at < " TTL_AGO " OR (status IS NULL AND created_at < " STALE_AGO "))";

/* The record of (?1, ?2) while it is in force: exactly when FORGET_SQL would keep it. */
static const char VALID_SQL[] =
    "SELECT request_hash, coalesce(status, 0), headers, body FROM idempotency_keys"
    " WHERE sub = ?1 AND key = ?2 AND created_at >= " TTL_AGO
    " AND (status IS NOT NULL OR created_at >= " STALE_AGO ")";

static const char INSERT_SQL[] =
    "INSERT INTO idempotency_keys (sub, key, request_hash) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (sub, key) DO NOTHING";

static const char GET_SQL[] =
    "SELECT request_hash, coalesce(status, 0), headers, body FROM idempotency_keys"
    " WHERE sub = ?1 AND key = ?2";

/* Each new claim purges at most PURGE_LIMIT records older than the ttl (the oldest, through
 * the created_at index): a claim adds one record, so the table never grows past a ttl's
 * worth of keys, and no claim pays for a large purge. The record just claimed (?1, ?2) is
 * spared: with a ttl shorter than the time since its insert it would purge itself. */
#define PURGE_LIMIT "100"
static const char PURGE_SQL[] =
    "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys"
    " WHERE created_at < " TTL_AGO " AND NOT (sub = ?1 AND key = ?2)"
    " ORDER BY created_at LIMIT " PURGE_LIMIT ")";

static const char COMPLETE_SQL[] =
    "UPDATE idempotency_keys SET status = ?3, headers = ?4, body = ?5"
    " WHERE sub = ?1 AND key = ?2 AND status IS NULL";

static const char RELEASE_SQL[] = "DELETE FROM idempotency_keys WHERE sub = ?1 AND key = ?2";

/* Runs static `sql` with texts[0..n-1] bound to ?1..?n, then the integers ints[0..m-1] to
 * the parameters after them, to its end. */
static int run(sqlite3 *db, const char *sql, const char *const *texts, int n, const int *ints,
               int m, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, sql);
    if (rc == COI_OK && (rc = sqlite_bind_texts(db, stmt, texts, n)) == COI_OK) {
        for (int i = 0; i < m; i++)
            sqlite3_bind_int(stmt, n + 1 + i, ints[i]);
        rc = sqlite_step_done(db, stmt, NULL, what);
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Runs `sql` (GET_SQL, or VALID_SQL with the ages) for key[0..1] = (sub, key): *out is the
 * record as claim returns it (new reference), or NULL when there is none. */
static int read_record(sqlite3 *db, json_t **out, const char *sql, const char *const key[2],
                       const int *ages)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, sql), step;

    *out = NULL;
    if (rc != COI_OK || (rc = sqlite_bind_texts(db, stmt, key, 2)) != COI_OK)
        goto out;
    for (int i = 0; ages != NULL && i < 2; i++)
        sqlite3_bind_int(stmt, 3 + i, ages[i]);
    if ((step = sqlite3_step(stmt)) != SQLITE_ROW) {
        if (step != SQLITE_DONE)
            rc = sqlite_fail(db, step, NULL, "cannot read the idempotency record");
        goto out;
    }
    json_t *headers = sqlite_column_json(stmt, 2);
    *out =
        json_pack("{s:o, s:i, s:o, s:o}", "request_hash", sqlite_column_string(stmt, 0), "status",
                  sqlite3_column_int(stmt, 1), "headers", headers != NULL ? headers : json_null(),
                  "body", sqlite_column_string(stmt, 3));
    if (*out == NULL)
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
out:
    sqlite3_finalize(stmt);
    return rc;
}

int sqlite_idempotency_claim(struct coi_storage *s, json_t **out, const char *sub, const char *key,
                             const char *request_hash, int ttl_seconds, int stale_seconds)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    const char *params[] = {sub, key, request_hash};
    const int ages[] = {ttl_seconds, stale_seconds};
    sqlite3 *db = NULL;
    int rc;

    *out = NULL;
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK)
        goto out;
    /* A record in force is answered from a read, which in WAL mode waits for no writer: a
     * retry arriving while its first request holds the write lock (a batch) learns at once
     * that it is in progress. */
    if ((rc = read_record(db, out, VALID_SQL, params, ages)) != COI_OK || *out != NULL) {
        if (rc == COI_OK)
            rc = coi_error_set(COI_EEXISTS, NULL, "idempotency key %s is taken", key);
        goto out;
    }
    /* Else one write transaction: two requests with the same key cannot both insert. */
    if ((rc = sqlite_begin(db)) != COI_OK ||
        (rc = run(db, FORGET_SQL, params, 2, ages, 2, "cannot forget an old key")) != COI_OK ||
        (rc = run(db, INSERT_SQL, params, 3, NULL, 0, "cannot claim the key")) != COI_OK)
        goto out;
    if (sqlite3_changes(db) == 0) {
        /* Taken: nothing was written (else the insert would have found the key free), so
         * the transaction is rolled back and the record handed over. */
        if ((rc = read_record(db, out, GET_SQL, params, NULL)) == COI_OK)
            rc = *out != NULL ? coi_error_set(COI_EEXISTS, NULL, "idempotency key %s is taken", key)
                              : coi_error_set(COI_ERROR, NULL, "the idempotency record vanished");
        goto out;
    }
    rc = run(db, PURGE_SQL, params, 2, &ttl_seconds, 1, "cannot purge expired keys");
out:
    return sqlite_write_end(st, db, rc, NULL, NULL);
}

int sqlite_idempotency_complete(struct coi_storage *s, const char *sub, const char *key, int status,
                                const json_t *headers, const char *body)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    char *headers_text = headers != NULL && !json_is_null(headers)
                             ? json_dumps(headers, JSON_COMPACT | JSON_ENCODE_ANY)
                             : NULL;
    const char *params[] = {sub, key, NULL, headers_text, body};
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (headers != NULL && !json_is_null(headers) && headers_text == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK ||
        (rc = sqlite_prepare(db, &stmt, COMPLETE_SQL)) != COI_OK ||
        (rc = sqlite_bind_texts(db, stmt, params, 5)) != COI_OK)
        goto out;
    sqlite3_bind_int(stmt, 3, status);
    if ((rc = sqlite_step_done(db, stmt, NULL, "cannot store the response")) == COI_OK &&
        sqlite3_changes(db) == 0)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "idempotency key %s is not claimed", key);
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    free(headers_text);
    return rc;
}

int sqlite_idempotency_release(struct coi_storage *s, const char *sub, const char *key)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    const char *params[] = {sub, key};
    sqlite3 *db = NULL;
    int rc = sqlite_conn_acquire(st, &db);
    if (rc == COI_OK)
        rc = run(db, RELEASE_SQL, params, 2, NULL, 0, "cannot release the key");
    sqlite_conn_release(st, db);
    return rc;
}
