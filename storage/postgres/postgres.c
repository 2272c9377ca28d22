/* PostgreSQL backend: open/close, the connection pool, ping, query helpers and error mapping. */
#include "storage/postgres/pg_internal.h"

#if __has_include(<libpq-events.h>)
#include <libpq-events.h>
#else
#include <postgresql/libpq-events.h>
#endif
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_POOL_SIZE 4
#define DEFAULT_ACQUIRE_TIMEOUT_MS 5000
#define DEFAULT_STATEMENT_TIMEOUT_MS 5000
#define DEFAULT_CONNECT_TIMEOUT_S 5

void pg_log(const char *level, const char *msg, const char *key, const char *value)
{
    json_t *line = json_object();
    char *text = NULL;

    if (line == NULL)
        return;
    json_object_set_new(line, "level", json_string(level));
    json_object_set_new(line, "msg", json_string(msg));
    if (key != NULL && value != NULL) /* json_string refuses invalid UTF-8: keep the line */
        json_object_set_new(line, key, json_string(value));
    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text != NULL)
        fprintf(stderr, "%s\n", text);
    free(text);
    json_decref(line);
}

const char *pg_error_message(PGconn *conn, const PGresult *res)
{
    const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (msg == NULL && conn != NULL)
        msg = PQerrorMessage(conn);
    return msg != NULL && msg[0] != '\0' ? msg : "no message from the database";
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int pg_error(PGconn *conn, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    /* A lost connection first: libpq reports it without a SQLSTATE (or as class 08). */
    if (PQstatus(conn) == CONNECTION_BAD)
        return coi_error_set(COI_EUNAVAILABLE, NULL, "database connection lost");
    if (state == NULL) {
        pg_log("error", "database call failed", "message", pg_error_message(conn, res));
        return coi_error_set(COI_ERROR, NULL, "database call failed");
    }
    if (strcmp(state, "23505") == 0)
        return coi_error_set(COI_EEXISTS, NULL, "already exists");
    if (strcmp(state, "23503") == 0)
        return coi_error_set(COI_EINVALID, NULL, "refers to a record that does not exist");
    if (strcmp(state, "23514") == 0)
        return coi_error_set(COI_EINVALID, NULL, "value not allowed");
    if (strcmp(state, "57014") == 0)
        return coi_error_set(COI_EUNAVAILABLE, NULL, "statement timed out");
    if (starts_with(state, "08") || strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
        strcmp(state, "57P03") == 0)
        return coi_error_set(COI_EUNAVAILABLE, NULL, "database unavailable (%s)", state);
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        return coi_error_set(COI_ECONFLICT, NULL, "concurrent update, try again (%s)", state);
    pg_log("error", pg_error_message(conn, res), "sqlstate", state);
    return coi_error_set(COI_ERROR, NULL, "database error %s", state);
}

/* Keeps the result when it succeeded, else maps and clears it. */
static int take_result(PGresult **out, PGconn *conn, PGresult *res)
{
    ExecStatusType st = PQresultStatus(res); /* PGRES_FATAL_ERROR for a NULL result */
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *out = res;
        return COI_OK;
    }
    int rc = pg_error(conn, res);
    PQclear(res);
    return rc;
}

/* The statements prepared on demand (pg_internal.h), by their SQL; statement i is named
 * "coi_<i>". Which ones a connection has prepared, and when it prepared the first of them, is
 * kept with it by libpq in its instance data for conn_event: a PREPARED_COUNT-bit mask, and
 * above it a CLOCK_MONOTONIC time in ms. */
static const char *const PREPARED[] = {pg_case_check_sql,        pg_case_write_sql,
                                       pg_case_recompute_sql,    pg_case_changes_sql,
                                       pg_evaluation_change_sql, pg_adoption_change_sql,
                                       pg_case_get_sql,          pg_evaluation_summaries_sql};
#define PREPARED_COUNT (int)(sizeof PREPARED / sizeof PREPARED[0])
#define MASK_BITS 16
_Static_assert(PREPARED_COUNT <= MASK_BITS, "PREPARED outgrew the instance data's mask");
_Static_assert(sizeof(uintptr_t) >= 8, "the instance data holds a time in ms above the mask");

/* libpq's event procedure, registered on every connection so that it carries instance data;
 * the data is a plain integer, so no event needs handling. */
static int conn_event(PGEventId id, void *info, void *arg)
{
    (void)id;
    (void)info;
    (void)arg;
    return 1;
}

/* The name statement `i` of PREPARED is prepared under, into name[16]. */
static void prepared_name(int i, char name[16])
{
    snprintf(name, 16, "coi_%d", i);
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* The mask of statements `conn` has prepared, and since when (ms). */
static uint64_t prepared_mask(PGconn *conn, uint64_t *since)
{
    uint64_t data = (uint64_t)(uintptr_t)PQinstanceData(conn, conn_event);
    if (since != NULL)
        *since = data >> MASK_BITS;
    return data & (((uint64_t)1 << MASK_BITS) - 1);
}

static void set_prepared(PGconn *conn, uint64_t mask, uint64_t since)
{
    PQsetInstanceData(conn, conn_event, (void *)(uintptr_t)(since << MASK_BITS | mask));
}

int pg_plan_refresh(PGconn *conn, int max_age_ms)
{
    uint64_t since, mask = prepared_mask(conn, &since);

    if (mask == 0 || now_ms() - since <= (uint64_t)max_age_ms)
        return COI_OK;
    set_prepared(conn, 0, 0); /* prepare_all prepares them again at the next need */
    return pg_exec(conn, "DEALLOCATE ALL");
}

/* The index of `sql` among PREPARED, or -1. */
static int prepared_index(const char *sql)
{
    for (int i = 0; i < PREPARED_COUNT; i++)
        if (sql == PREPARED[i])
            return i;
    return -1;
}

/* Prepares on `conn` every statement of PREPARED that it lacks: all at the first need, so that
 * a write prepares them before its transaction begins. NULL on success, else the failed
 * result (caller PQclears). Must not run in pipeline mode. */
static PGresult *prepare_all(PGconn *conn)
{
    uint64_t since, mask = prepared_mask(conn, &since);
    char name[16];

    if (mask == 0)
        since = now_ms();
    for (int i = 0; i < PREPARED_COUNT; i++) {
        if (mask & ((uint64_t)1 << i))
            continue;
        prepared_name(i, name);
        PGresult *res = PQprepare(conn, name, PREPARED[i], 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            return res;
        PQclear(res);
        mask |= (uint64_t)1 << i;
        set_prepared(conn, mask, since);
    }
    return NULL;
}

/* Runs `sql` planned for the values of its parameters. Connections plan generically (see
 * pg_open), which the prepared statements want; a statement built per request, whose best plan
 * depends on its values (how many cases a search word matches, which filters are given, the
 * limit), is run between two set_config calls in one pipeline: one round trip, and a failure
 * rolls the setting back with the transaction it failed in. The result is the statement's (or
 * the first failed one's; NULL when the connection is gone). */
static PGresult *exec_custom_plan(PGconn *conn, const char *sql, int nparams,
                                  const char *const *params)
{
    static const char custom[] = "SELECT set_config('plan_cache_mode', 'force_custom_plan', false)";
    static const char generic[] =
        "SELECT set_config('plan_cache_mode', 'force_generic_plan', false)";
    PGresult *res[3] = {NULL, NULL, NULL}, *out = NULL, *r;

    if (!PQenterPipelineMode(conn))
        return NULL;
    if (PQsendQueryParams(conn, custom, 0, NULL, NULL, NULL, NULL, 0) &&
        PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0) &&
        PQsendQueryParams(conn, generic, 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(conn)) {
        for (int i = 0; i < 3 && (res[i] = PQgetResult(conn)) != NULL; i++)
            while ((r = PQgetResult(conn)) != NULL)
                PQclear(r);
        if ((r = PQgetResult(conn)) != NULL) /* the sync */
            PQclear(r);
    }
    PQexitPipelineMode(conn);
    /* The first failure (those after it are PGRES_PIPELINE_ABORTED), else the statement's. */
    for (int i = 0; i < 3 && out == NULL && res[i] != NULL; i++)
        if (PQresultStatus(res[i]) != PGRES_TUPLES_OK && PQresultStatus(res[i]) != PGRES_COMMAND_OK)
            out = res[i];
    if (out == NULL && res[2] != NULL)
        out = res[1];
    for (int i = 0; i < 3; i++)
        if (res[i] != out)
            PQclear(res[i]);
    return out;
}

PGresult *pg_exec_params(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    int i = prepared_index(sql);
    char name[16];
    PGresult *failed;

    /* A plain INSERT, UPDATE or DELETE (the audit entry of every write, for one) has no plan
     * worth choosing by its values: only reads pay for exec_custom_plan's two statements. */
    if (i < 0 && nparams > 0 && (strncmp(sql, "SELECT", 6) == 0 || strncmp(sql, "WITH", 4) == 0))
        return exec_custom_plan(conn, sql, nparams, params);
    if (i < 0)
        return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if ((failed = prepare_all(conn)) != NULL)
        return failed;
    prepared_name(i, name);
    return PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0);
}

int pg_query(PGresult **out, PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    *out = NULL;
    return take_result(out, conn, pg_exec_params(conn, sql, nparams, params));
}

/* Reads the results of `n` pipelined statements and the closing sync into res[] (see
 * pg_pipeline). Each statement's results end with a NULL; a lost connection ends them all. */
static int pipeline_read(PGconn *conn, size_t n, PGresult **res)
{
    int rc = COI_OK;
    PGresult *r;

    for (size_t i = 0; i < n; i++) {
        if ((r = PQgetResult(conn)) == NULL)
            return rc != COI_OK ? rc : pg_error(conn, NULL);
        if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK) {
            res[i] = r;
        } else {
            /* After the first failure the server skips the rest: PGRES_PIPELINE_ABORTED. */
            if (rc == COI_OK)
                rc = pg_error(conn, r);
            PQclear(r);
        }
        while ((r = PQgetResult(conn)) != NULL)
            PQclear(r);
    }
    if ((r = PQgetResult(conn)) == NULL || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
        PQclear(r);
        return rc != COI_OK ? rc : pg_error(conn, NULL);
    }
    PQclear(r);
    return rc;
}

/* Queues statement `st` in the pipeline, by the name it was prepared under (`name`) if any. */
static int pipeline_send(PGconn *conn, const struct pg_statement *st, const char *name)
{
    if (name[0] != '\0')
        return PQsendQueryPrepared(conn, name, st->nparams, st->params, NULL, NULL, 0);
    return PQsendQueryParams(conn, st->sql, st->nparams, NULL, st->params, NULL, NULL, 0);
}

/* The names the statements of st[] run under ("" for those run by their SQL), into names[];
 * prepares them first when some are to run by name. */
static int pipeline_prepare(PGconn *conn, const struct pg_statement *st, size_t n,
                            char (*names)[16])
{
    PGresult *failed = NULL;
    int rc = COI_OK;

    for (size_t i = 0; i < n; i++) {
        int k = prepared_index(st[i].sql);
        names[i][0] = '\0';
        if (k >= 0 && failed == NULL && (failed = prepare_all(conn)) == NULL)
            prepared_name(k, names[i]);
    }
    if (failed != NULL) {
        rc = pg_error(conn, failed);
        PQclear(failed);
    }
    return rc;
}

int pg_pipeline(PGconn *conn, const struct pg_statement *st, size_t n, PGresult **res)
{
    char names[8][16];
    int rc = COI_OK;
    size_t sent = 0;

    for (size_t i = 0; i < n; i++)
        res[i] = NULL;
    if (n > sizeof names / sizeof names[0])
        return coi_error_set(COI_ERROR, NULL, "pipeline of %zu statements is too long", n);
    if ((rc = pipeline_prepare(conn, st, n, names)) != COI_OK)
        return rc;
    if (!PQenterPipelineMode(conn))
        return pg_error(conn, NULL);
    while (sent < n && pipeline_send(conn, &st[sent], names[sent]))
        sent++;
    if (sent < n || !PQpipelineSync(conn))
        rc = pg_error(conn, NULL); /* the connection is gone: pg_release closes it */
    else
        rc = pipeline_read(conn, n, res);
    PQexitPipelineMode(conn);
    if (rc != COI_OK)
        for (size_t i = 0; i < n; i++) {
            PQclear(res[i]);
            res[i] = NULL;
        }
    return rc;
}

int pg_lock_version(PGconn *conn, const char *sql, const char *what, const char *id,
                    int64_t expected_version, char status[32])
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    int rc = pg_query(&res, conn, sql, 1, params);

    if (rc != COI_OK)
        return rc;
    if (PQntuples(res) == 0)
        rc = coi_error_set(COI_ENOTFOUND, NULL, "no %s with id %s", what, id);
    else if (expected_version != -1 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) != expected_version)
        rc = coi_error_set(COI_ECONFLICT, NULL, "%s %s is at version %s, not %" PRId64, what, id,
                           PQgetvalue(res, 0, 0), expected_version);
    else
        snprintf(status, 32, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return rc;
}

int pg_exec(PGconn *conn, const char *sql)
{
    PGresult *res = NULL;
    int rc = take_result(&res, conn, PQexec(conn, sql));
    PQclear(res);
    return rc;
}

int pg_read_query(PGresult **out, PGconn *conn, const char *sql, int nparams,
                  const char *const *params)
{
    PGresult *res = pg_exec_params(conn, sql, nparams, params);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    int rc;

    *out = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        *out = res;
        return COI_OK;
    }
    if (PQstatus(conn) == CONNECTION_OK && state != NULL && strncmp(state, "22", 2) == 0)
        rc = coi_error_set(COI_EINVALID, NULL, "value not accepted: %s",
                           pg_error_message(conn, res));
    else
        rc = pg_error(conn, res);
    PQclear(res);
    return rc;
}

int pg_text_array(char **out, const char *const *items, size_t n, const char *field)
{
    size_t size = 3, used = 0;
    char *text;

    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (items[i] == NULL)
            return coi_error_set(COI_EINVALID, field, "a value of %s is missing", field);
        size += 2 * strlen(items[i]) + 3; /* every byte escaped, quotes, comma */
    }
    if ((text = malloc(size)) == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    text[used++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            text[used++] = ',';
        text[used++] = '"';
        for (const char *p = items[i]; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\')
                text[used++] = '\\';
            text[used++] = *p;
        }
        text[used++] = '"';
    }
    text[used++] = '}';
    text[used] = '\0';
    *out = text;
    return COI_OK;
}

void pg_rollback(PGconn *conn)
{
    if (conn != NULL && PQstatus(conn) == CONNECTION_OK &&
        PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
}

int pg_json_value(json_t **out, const PGresult *res, int row, int col)
{
    json_error_t err;

    *out = json_loads(PQgetvalue(res, row, col), 0, &err);
    if (*out != NULL)
        return COI_OK;
    if (json_error_code(&err) == json_error_out_of_memory)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    pg_log("error", "database returned JSON that does not parse", "reason", err.text);
    return coi_error_set(COI_ERROR, NULL, "database returned JSON that does not parse");
}

int pg_json_rows(json_t **out, const PGresult *res)
{
    json_t *list = json_array(), *item = NULL;
    int rc = COI_OK;

    *out = NULL;
    if (list == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    for (int i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, 0))
            continue;
        if ((rc = pg_json_value(&item, res, i, 0)) != COI_OK)
            goto out;
        if (json_array_append_new(list, item) != 0) {
            rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
            goto out;
        }
    }
    *out = list;
    list = NULL;
out:
    json_decref(list);
    return rc;
}

/* Server notices: NOTICE and below are chatter ("relation already exists, skipping"); warnings
 * and worse go to the log as JSON lines instead of libpq's plain text on stderr. */
static void notice_receiver(void *arg, const PGresult *res)
{
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    (void)arg;
    if (sev == NULL || strcmp(sev, "NOTICE") == 0 || strcmp(sev, "INFO") == 0 ||
        strcmp(sev, "LOG") == 0 || strcmp(sev, "DEBUG") == 0)
        return;
    pg_log("warning", pg_error_message(NULL, res), "severity", sev);
}

/* pool_ops.open: one new session. COI_EUNAVAILABLE with the first line of libpq's message
 * (which names host and user, never the password). */
static int conn_open(void **out, void *ctx)
{
    struct pg_storage *pg = ctx;
    /* dbname first: the URL is expanded there, and the entries after it override its values,
     * so the service's timeouts and session settings always apply. */
    const char *const keys[] = {"dbname",          "connect_timeout", "application_name",
                                "client_encoding", "options",         NULL};
    const char *const values[] = {pg->conninfo, pg->connect_timeout, "coi",
                                  "UTF8",       pg->options,         NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);

    *out = NULL;
    if (conn == NULL)
        return coi_error_set(COI_EUNAVAILABLE, NULL, "database unreachable: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(conn);
        int len = (int)strcspn(msg, "\n");
        int rc = coi_error_set(COI_EUNAVAILABLE, NULL, "database unreachable: %.*s",
                               len > 200 ? 200 : len, msg);
        PQfinish(conn);
        return rc;
    }
    PQsetNoticeReceiver(conn, notice_receiver, NULL);
    if (!PQregisterEventProc(conn, conn_event, "coi", NULL)) {
        PQfinish(conn);
        return coi_error_set(COI_ERROR, NULL, "cannot register a libpq event procedure");
    }
    *out = conn;
    return COI_OK;
}

/* pool_ops.usable: healthy and outside any transaction. Reading what the server sent while
 * the connection sat idle notices a restart here (a FATAL message, then end of file: two
 * reads), so the pool replaces the connection instead of failing the next query. Never
 * blocks: the socket is polled with a zero timeout. */
static int conn_usable(void *c, void *ctx)
{
    PGconn *conn = c;
    (void)ctx;
    for (int reads = 0; reads < 4; reads++) {
        struct pollfd pfd = {PQsocket(conn), POLLIN, 0};
        if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)
            return 0;
        if (poll(&pfd, 1, 0) == 0)
            return 1; /* nothing pending */
        if (!PQconsumeInput(conn))
            return 0;
    }
    return PQstatus(conn) == CONNECTION_OK; /* still chatty: let the query find out */
}

static void conn_close(void *c, void *ctx)
{
    (void)ctx;
    PQfinish(c);
}

int pg_acquire(struct pg_storage *pg, PGconn **out)
{
    void *conn = NULL;
    int rc = pool_acquire(&pg->pool, &conn);
    *out = rc == COI_OK ? conn : NULL;
    return rc;
}

void pg_release(struct pg_storage *pg, PGconn *conn)
{
    int broken = PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE;
    pool_release(&pg->pool, conn, broken);
}

static int pg_ping(struct coi_storage *s)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc = pg_acquire(pg, &conn);

    if (rc != COI_OK)
        return rc;
    rc = pg_query(&res, conn, "SELECT 1", 0, NULL);
    PQclear(res);
    pg_release(pg, conn);
    return rc;
}

static void pg_close(struct coi_storage *s)
{
    struct pg_storage *pg = (struct pg_storage *)s;
    pool_destroy(&pg->pool);
    free(pg->conninfo);
    free(pg);
}

/* COI_OK when libpq can parse `conninfo` (a URL or key=value string). The parser's message is
 * not passed on: it may quote the URL, password included. */
static int check_conninfo(const char *conninfo)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    if (opts == NULL) {
        int rc = err != NULL ? COI_EINVALID : COI_ENOMEM;
        PQfreemem(err);
        return coi_error_set(rc, NULL, "invalid PostgreSQL connection URL");
    }
    PQconninfoFree(opts);
    return COI_OK;
}

/* Opens the backend and one connection, so that start-up reports an unreachable database at
 * once (COI_EUNAVAILABLE). Afterwards connections come and go with the server. On success
 * *out is owned by the caller (storage_close). `o` may be NULL for defaults. */
int storage_postgres_open(struct coi_storage **out, const char *conninfo,
                          const struct coi_storage_options *o)
{
    static const struct pool_ops ops = {conn_open, conn_usable, conn_close};
    struct coi_storage_options opt = {DEFAULT_POOL_SIZE, DEFAULT_ACQUIRE_TIMEOUT_MS,
                                      DEFAULT_STATEMENT_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_S};
    struct pg_storage *pg = NULL;
    PGconn *conn = NULL;
    int pool_ready = 0, rc;

    *out = NULL;
    if (o != NULL)
        opt = *o;
    if (!PQisthreadsafe())
        return coi_error_set(COI_ERROR, NULL, "libpq is not thread-safe");
    if ((rc = check_conninfo(conninfo)) != COI_OK)
        return rc;
    pg = calloc(1, sizeof *pg);
    if (pg == NULL || (pg->conninfo = strdup(conninfo)) == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    snprintf(pg->connect_timeout, sizeof pg->connect_timeout, "%d",
             opt.connect_timeout_s > 0 ? opt.connect_timeout_s : 0);
    /* extra_float_digits=1 (the default since PostgreSQL 12, pinned here): a float's text reads
     * back to the same float, which the relevance cursor relies on (case_search.c). jit=off:
     * the service's statements are short, and JIT compilation cost more than it saved (41 of
     * 90 ms of a facets query over 100 000 cases, bench/search.sh). plan_cache_mode: the
     * prepared statements (PREPARED) keep one plan per connection (until pg_plan_refresh); left
     * to choose, PostgreSQL
     * kept planning the single-case reads anew (uncached GET /v1/cases/{id}: 3290 -> 3944
     * requests/s). The statements built per request (lists, searches, facets) are planned for
     * their values instead (exec_custom_plan). random_page_cost=1.1: the service's tables are
     * read from memory, not from spinning disks (4, the default, models those); with 4 the
     * planner read all 100 000 cases to rank the 13 000 that matched a search word, 2.5 times
     * slower than through the text index (bench/search.sh). */
    snprintf(pg->options, sizeof pg->options,
             "-c statement_timeout=%d -c TimeZone=UTC -c extra_float_digits=1 -c jit=off"
             " -c random_page_cost=1.1"
             " -c plan_cache_mode=force_generic_plan",
             opt.statement_timeout_ms > 0 ? opt.statement_timeout_ms : 0);
    pg->base.version = COI_STORAGE_VERSION;
    pg->base.backend = "postgres";
    pg->base.close = pg_close;
    pg->base.ping = pg_ping;
    pg->base.migrate = pg_migrate;
    pg->base.organisation_list = pg_organisation_list;
    pg->base.organisation_get = pg_organisation_get;
    pg->base.organisation_create = pg_organisation_create;
    pg->base.organisation_update = pg_organisation_update;
    pg->base.case_list = pg_case_list;
    pg->base.case_count = pg_case_count;
    pg->base.case_facets = pg_case_facets;
    pg->base.case_get = pg_case_get;
    pg->base.case_get_by_external_id = pg_case_get_by_external_id;
    pg->base.case_create = pg_case_create;
    pg->base.case_update = pg_case_update;
    pg->base.case_transition = pg_case_transition;
    pg->base.case_history = pg_case_history;
    pg->base.adoption_create = pg_adoption_create;
    pg->base.adoption_get = pg_adoption_get;
    pg->base.adoption_list = pg_adoption_list;
    pg->base.adoption_update = pg_adoption_update;
    pg->base.adoption_delete = pg_adoption_delete;
    pg->base.evaluation_create = pg_evaluation_create;
    pg->base.evaluation_get = pg_evaluation_get;
    pg->base.evaluation_list = pg_evaluation_list;
    pg->base.evaluation_update = pg_evaluation_update;
    pg->base.evaluation_transition = pg_evaluation_transition;
    pg->base.evaluation_history = pg_evaluation_history;
    pg->base.evaluation_delete = pg_evaluation_delete;
    pg->base.evaluation_summaries = pg_evaluation_summaries;
    pg->base.change_list = pg_change_list;
    pg->base.change_head = pg_change_head;
    pg->base.case_get_by_external_ids = pg_case_get_by_external_ids;
    pg->base.case_write_batch = pg_case_write_batch;
    pg->base.audit_append = pg_audit_append;
    pg->base.audit_list = pg_audit_list;
    pg->base.idempotency_claim = pg_idempotency_claim;
    pg->base.idempotency_complete = pg_idempotency_complete;
    pg->base.idempotency_release = pg_idempotency_release;

    rc = pool_init(&pg->pool, &ops, pg, opt.pool_size > 0 ? opt.pool_size : 1,
                   opt.acquire_timeout_ms > 0 ? opt.acquire_timeout_ms : 0);
    if (rc != COI_OK) {
        coi_error_set(rc, NULL, "out of memory");
        goto out;
    }
    pool_ready = 1;
    if ((rc = pg_acquire(pg, &conn)) != COI_OK)
        goto out;
    pg_release(pg, conn);
    *out = &pg->base;
    pg = NULL;
out:
    if (pg != NULL) {
        if (pool_ready)
            pool_destroy(&pg->pool);
        free(pg->conninfo);
        free(pg);
    }
    return rc;
}
