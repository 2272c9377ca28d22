/* The SQLite backend: opening the store, its connection pool, coi_fold, errors and transactions. */
#include "storage/sqlite/sqlite_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_POOL_SIZE 4
#define DEFAULT_TIMEOUT_MS 5000

unsigned sqlite_fold_code_point(unsigned c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) /* À..Þ except × */
        return c + 32;
    if (c == 0x130) /* İ */
        return 'i';
    if (c == 0x178) /* Ÿ */
        return 0xFF;
    if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
        return c % 2 == 0 ? c + 1 : c;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
        return c % 2 == 1 ? c + 1 : c;
    return c;
}

/* SQL function coi_fold(text): `text` lowercased by sqlite_fold_code_point, NULL for NULL.
 * Every code point that changes is one or two bytes long in UTF-8, so only those sequences are
 * decoded; every other byte (longer sequences, invalid bytes) is copied unchanged. The result
 * is never longer than the input. */
static void sql_coi_fold(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const unsigned char *in = sqlite3_value_text(argv[0]);
    if (in == NULL) {
        if (sqlite3_value_type(argv[0]) != SQLITE_NULL)
            sqlite3_result_error_nomem(ctx);
        else
            sqlite3_result_null(ctx);
        return;
    }
    int n = sqlite3_value_bytes(argv[0]);
    unsigned char *buf = sqlite3_malloc(n + 1);
    if (buf == NULL) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    int o = 0;
    for (int i = 0; i < n;) {
        unsigned char b = in[i];
        if (b >= 0xC2 && b <= 0xDF && i + 1 < n && (in[i + 1] & 0xC0) == 0x80) {
            unsigned c = sqlite_fold_code_point(((unsigned)(b & 0x1F) << 6) | (in[i + 1] & 0x3F));
            if (c < 0x80) {
                buf[o++] = (unsigned char)c;
            } else {
                buf[o++] = (unsigned char)(0xC0 | (c >> 6));
                buf[o++] = (unsigned char)(0x80 | (c & 0x3F));
            }
            i += 2;
        } else {
            buf[o++] = b < 0x80 ? (unsigned char)sqlite_fold_code_point(b) : b;
            i++;
        }
    }
    sqlite3_result_text(ctx, (const char *)buf, o, sqlite3_free);
}

int sqlite_fail(sqlite3 *db, int rc, const char *field, const char *what)
{
    const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return coi_error_set(COI_EEXISTS, field, "%s: already exists", what);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
        return coi_error_set(COI_EINVALID, field, "%s: %s", what, msg);
    }
    switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return coi_error_set(COI_EUNAVAILABLE, NULL, "%s: the database is busy", what);
    case SQLITE_NOMEM:
        return coi_error_set(COI_ENOMEM, NULL, "%s: out of memory", what);
    default:
        return coi_error_set(COI_ERROR, NULL, "%s: %s", what, msg);
    }
}

int sqlite_prepare(sqlite3 *db, sqlite3_stmt **out, const char *sql)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return sqlite_fail(db, rc, NULL, "cannot prepare statement");
    }
    return COI_OK;
}

int sqlite_bind_texts(sqlite3 *db, sqlite3_stmt *stmt, const char *const *values, int n)
{
    for (int i = 0; i < n; i++) {
        int rc = sqlite3_bind_text(stmt, i + 1, values[i], -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return sqlite_fail(db, rc, NULL, "cannot bind a parameter");
    }
    return COI_OK;
}

int sqlite_step_done(sqlite3 *db, sqlite3_stmt *stmt, const char *field, const char *what)
{
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    return step == SQLITE_DONE ? COI_OK : sqlite_fail(db, step, field, what);
}

json_t *sqlite_column_string(sqlite3_stmt *stmt, int i)
{
    const char *v = (const char *)sqlite3_column_text(stmt, i);
    return v != NULL ? json_stringn(v, (size_t)sqlite3_column_bytes(stmt, i)) : json_null();
}

json_t *sqlite_column_json(sqlite3_stmt *stmt, int i)
{
    const char *text = (const char *)sqlite3_column_text(stmt, i);
    if (text == NULL)
        return NULL;
    return json_loadb(text, (size_t)sqlite3_column_bytes(stmt, i), JSON_ALLOW_NUL, NULL);
}

/* 1 when a string in `v` (at any depth) holds a NUL character. */
static int has_nul(const json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
    case JSON_ARRAY:
        json_array_foreach(v, i, item)
        {
            if (has_nul(item))
                return 1;
        }
        return 0;
    case JSON_OBJECT:
        json_object_foreach((json_t *)v, key, item)
        {
            if (has_nul(item))
                return 1;
        }
        return 0;
    default:
        return 0;
    }
}

int sqlite_check_no_nul(const json_t *v)
{
    return has_nul(v) ? coi_error_set(COI_EINVALID, NULL, "text must not contain NUL characters")
                      : COI_OK;
}

int sqlite_now(sqlite3 *db, char out[40])
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_prepare(db, &stmt, "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
    if (rc != COI_OK)
        return rc;
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(stmt, 0);
        snprintf(out, 40, "%s", t != NULL ? t : "");
    } else {
        rc = sqlite_fail(db, step, NULL, "cannot read the clock");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int sqlite_begin(sqlite3 *db)
{
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    return rc == SQLITE_OK ? COI_OK : sqlite_fail(db, rc, NULL, "cannot start transaction");
}

int sqlite_begin_read(sqlite3 *db)
{
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    return rc == SQLITE_OK ? COI_OK : sqlite_fail(db, rc, NULL, "cannot start transaction");
}

int sqlite_commit(sqlite3 *db)
{
    int rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return COI_OK;
    int err = sqlite_fail(db, rc, NULL, "cannot commit transaction");
    sqlite_rollback(db);
    return err;
}

void sqlite_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int sqlite_write_end(struct sqlite_storage *st, sqlite3 *db, int rc, json_t **out, json_t *record)
{
    if (rc == COI_OK)
        rc = sqlite_commit(db);
    if (db != NULL)
        sqlite_rollback(db);
    sqlite_conn_release(st, db);
    if (rc == COI_OK && out != NULL)
        *out = record;
    else
        json_decref(record);
    return rc;
}

/* Runs one setup statement on a new connection; COI_EUNAVAILABLE naming the file if it fails
 * (the first statement is where SQLite actually opens the file). */
static int conn_setup(sqlite3 *db, const char *path, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return COI_OK;
    int rc = coi_error_set(COI_EUNAVAILABLE, NULL, "cannot open SQLite database %s: %s", path,
                           msg != NULL ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return rc;
}

/* pool_ops.open: a connection with WAL, busy timeout, foreign keys, coi_fold and the Danish
 * text search set up (before anything, migrations included, touches the search table). */
static int conn_open(void **out, void *ctx)
{
    struct sqlite_storage *st = ctx;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        st->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = coi_error_set(COI_EUNAVAILABLE, NULL, "cannot open SQLite database %s: %s", st->path,
                           db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, st->busy_timeout_ms);
    if ((rc = conn_setup(db, st->path, "PRAGMA journal_mode=WAL")) != COI_OK ||
        (rc = conn_setup(db, st->path, "PRAGMA foreign_keys=ON")) != COI_OK ||
        (rc = conn_setup(db, st->path, "PRAGMA synchronous=NORMAL")) != COI_OK)
        goto out;
    if (sqlite3_create_function_v2(db, "coi_fold", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                   sql_coi_fold, NULL, NULL, NULL) != SQLITE_OK) {
        rc = coi_error_set(COI_EUNAVAILABLE, NULL, "cannot register coi_fold: %s",
                           sqlite3_errmsg(db));
        goto out;
    }
    if ((rc = sqlite_fts_register(db)) != COI_OK)
        goto out;
    *out = db;
    db = NULL;
    rc = COI_OK;
out:
    sqlite3_close(db);
    return rc;
}

/* pool_ops.usable: only a connection outside any transaction may be handed out again. */
static int conn_usable(void *conn, void *ctx)
{
    (void)ctx;
    return sqlite3_get_autocommit(conn) != 0;
}

static void conn_close(void *conn, void *ctx)
{
    (void)ctx;
    sqlite3_close(conn);
}

int sqlite_conn_acquire(struct sqlite_storage *st, sqlite3 **out)
{
    void *conn;
    int rc = pool_acquire(&st->pool, &conn);
    *out = rc == COI_OK ? conn : NULL;
    return rc;
}

void sqlite_conn_release(struct sqlite_storage *st, sqlite3 *db)
{
    if (db != NULL)
        pool_release(&st->pool, db, !sqlite3_get_autocommit(db));
}

static int sqlite_ping(struct coi_storage *s)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite_conn_acquire(st, &db);
    if (rc != COI_OK)
        goto out;
    if ((rc = sqlite_prepare(db, &stmt, "SELECT 1")) != COI_OK)
        goto out;
    int step = sqlite3_step(stmt);
    rc = step == SQLITE_ROW ? COI_OK : sqlite_fail(db, step, NULL, "ping failed");
out:
    sqlite3_finalize(stmt);
    sqlite_conn_release(st, db);
    return rc;
}

static void sqlite_close(struct coi_storage *s)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    pool_destroy(&st->pool);
    free(st->path);
    free(st);
}

/* Creates the folder that holds `path` (one level) when it is missing. */
static int make_parent_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path)
        return COI_OK;
    char *dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    int rc = COI_OK;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        rc = coi_error_set(COI_EUNAVAILABLE, NULL, "cannot create folder %s for the database: %s",
                           dir, strerror(errno));
    free(dir);
    return rc;
}

int storage_sqlite_open(struct coi_storage **out, const char *path,
                        const struct coi_storage_options *o)
{
    struct sqlite_storage *st = NULL;
    sqlite3 *db = NULL;
    int pool_ready = 0, rc;

    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return coi_error_set(COI_EINVALID, NULL, "the SQLite database path is empty");
    if ((rc = make_parent_folder(path)) != COI_OK)
        return rc;
    st = calloc(1, sizeof *st);
    if (st == NULL || (st->path = strdup(path)) == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
        goto out;
    }
    int timeout_ms =
        o != NULL && o->acquire_timeout_ms > 0 ? o->acquire_timeout_ms : DEFAULT_TIMEOUT_MS;
    int size = o != NULL && o->pool_size > 0 ? o->pool_size : DEFAULT_POOL_SIZE;
    st->busy_timeout_ms = timeout_ms;
    st->base = (struct coi_storage){
        .version = COI_STORAGE_VERSION,
        .backend = "sqlite",
        .close = sqlite_close,
        .ping = sqlite_ping,
        .migrate = sqlite_migrate,
        .organisation_list = sqlite_organisation_list,
        .organisation_get = sqlite_organisation_get,
        .organisation_create = sqlite_organisation_create,
        .organisation_update = sqlite_organisation_update,
        .case_list = sqlite_case_list,
        .case_count = sqlite_case_count,
        .case_facets = sqlite_case_facets,
        .case_get = sqlite_case_get,
        .case_get_by_external_id = sqlite_case_get_by_external_id,
        .case_create = sqlite_case_create,
        .case_update = sqlite_case_update,
        .case_transition = sqlite_case_transition,
        .case_history = sqlite_case_history,
        .adoption_create = sqlite_adoption_create,
        .adoption_get = sqlite_adoption_get,
        .adoption_list = sqlite_adoption_list,
        .adoption_update = sqlite_adoption_update,
        .adoption_delete = sqlite_adoption_delete,
        .evaluation_create = sqlite_evaluation_create,
        .evaluation_get = sqlite_evaluation_get,
        .evaluation_list = sqlite_evaluation_list,
        .evaluation_update = sqlite_evaluation_update,
        .evaluation_transition = sqlite_evaluation_transition,
        .evaluation_history = sqlite_evaluation_history,
        .evaluation_delete = sqlite_evaluation_delete,
        .evaluation_summaries = sqlite_evaluation_summaries,
        .change_list = sqlite_change_list,
        .change_head = sqlite_change_head,
        .case_get_by_external_ids = sqlite_case_get_by_external_ids,
        .case_write_batch = sqlite_case_write_batch,
        .audit_append = sqlite_audit_append,
        .audit_list = sqlite_audit_list,
        .idempotency_claim = sqlite_idempotency_claim,
        .idempotency_complete = sqlite_idempotency_complete,
        .idempotency_release = sqlite_idempotency_release,
    };
    const struct pool_ops ops = {.open = conn_open, .usable = conn_usable, .close = conn_close};
    if ((rc = pool_init(&st->pool, &ops, st, size, timeout_ms)) != COI_OK) {
        coi_error_set(rc, NULL, "out of memory");
        goto out;
    }
    pool_ready = 1;
    /* Open one connection now, so a file that cannot be opened fails here, not on the first
     * request; this also switches a new database to WAL before any other thread uses it. */
    if ((rc = sqlite_conn_acquire(st, &db)) != COI_OK)
        goto out;
    sqlite_conn_release(st, db);
    *out = &st->base;
    st = NULL;
out:
    if (st != NULL) {
        if (pool_ready)
            pool_destroy(&st->pool);
        free(st->path);
        free(st);
    }
    return rc;
}
