/* Runs the unit tests, then the storage conformance tests once per backend URL given in
 * COI_TEST_STORAGE_URLS (space-separated); ends with "unit: N passed, N failed". */
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/storage.h"
#include "tests/unit/test.h"

#define MAX_TESTS 512

static struct {
    const char *name;
    test_fn fn;
    storage_test_fn storage_fn;
} tests[MAX_TESTS];
static int test_count, current_failures;

static void add_test(const char *name, test_fn fn, storage_test_fn storage_fn)
{
    if (test_count == MAX_TESTS) {
        fprintf(stderr, "too many tests (raise MAX_TESTS in tests/unit/main.c)\n");
        exit(2);
    }
    tests[test_count].name = name;
    tests[test_count].fn = fn;
    tests[test_count].storage_fn = storage_fn;
    test_count++;
}

void test_register(const char *name, test_fn fn)
{
    add_test(name, fn, NULL);
}

void test_register_storage(const char *name, storage_test_fn fn)
{
    add_test(name, NULL, fn);
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    __atomic_add_fetch(&current_failures, 1, __ATOMIC_SEQ_CST);
    flockfile(stdout);
    fprintf(stdout, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    funlockfile(stdout);
}

static void report(const char *name, const char *suffix, int *passed, int *failed)
{
    if (current_failures == 0) {
        (*passed)++;
        printf("ok %s%s\n", name, suffix);
    } else {
        (*failed)++;
        printf("FAIL %s%s\n", name, suffix);
    }
    fflush(stdout);
}

/* Writes `template` into `out` with every "%d" replaced by `n` (the template comes from the
 * environment, so it is never used as a printf format). 0, or -1 when it does not fit. */
static int expand_template(char *out, size_t size, const char *template, int n)
{
    size_t used = 0;
    for (const char *p = template; *p != '\0';) {
        int w;
        if (p[0] == '%' && p[1] == 'd') {
            w = snprintf(out + used, size - used, "%d", n);
            p += 2;
        } else {
            w = snprintf(out + used, size - used, "%c", *p);
            p++;
        }
        if (w < 0 || (size_t)w >= size - used)
            return -1;
        used += (size_t)w;
    }
    if (used == 0 && size > 0)
        out[0] = '\0';
    return 0;
}

static int is_sqlite(const char *url)
{
    return strncmp(url, "sqlite:", 7) == 0;
}

/* Removes a SQLite database file and its companions. */
static void sqlite_remove(const char *url)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char path[1100];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(path, sizeof path, "%s%s", url + 7, suffixes[i]);
        unlink(path);
    }
}

/* Drops NOTICEs such as "database ... does not exist, skipping". */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Connects to the "postgres" database of the server that `url` names (same host, port, user
 * and other options) and stores the database name of `url` in `dbname`. NULL (with a message)
 * on failure; the caller PQfinishes the connection. */
static PGconn *pg_admin_connect(const char *url, char *dbname, size_t dbname_size)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    const char *keys[64], *values[64];
    int n = 0;
    PGconn *conn = NULL;

    if (opts == NULL) {
        printf("    cannot parse %s: %s", url, err ? err : "out of memory\n");
        PQfreemem(err);
        return NULL;
    }
    dbname[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword != NULL && n < 63; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "dbname") == 0) {
            snprintf(dbname, dbname_size, "%s", o->val);
            continue;
        }
        keys[n] = o->keyword;
        values[n++] = o->val;
    }
    keys[n] = "dbname";
    values[n++] = "postgres";
    keys[n] = NULL;
    values[n] = NULL;
    if (dbname[0] == '\0' || strcmp(dbname, "postgres") == 0)
        printf("    %s must name a test database of its own (postgresql:///coi_unit_%%d?...)\n",
               url);
    else
        conn = PQconnectdbParams(keys, values, 0);
    if (conn != NULL && PQstatus(conn) != CONNECTION_OK) {
        printf("    cannot connect to the server of %s: %s", url, PQerrorMessage(conn));
        PQfinish(conn);
        conn = NULL;
    }
    if (conn != NULL)
        PQsetNoticeProcessor(conn, ignore_notice, NULL);
    PQconninfoFree(opts);
    return conn;
}

/* Runs "<verb> <quoted dbname><tail>" on the admin connection; 0 on success. */
static int pg_database_command(PGconn *admin, const char *verb, const char *dbname,
                               const char *tail)
{
    char *ident = PQescapeIdentifier(admin, dbname, strlen(dbname));
    char sql[512];
    int ok;

    if (ident == NULL) {
        printf("    cannot quote %s: %s", dbname, PQerrorMessage(admin));
        return -1;
    }
    snprintf(sql, sizeof sql, "%s %s%s", verb, ident, tail);
    PQfreemem(ident);
    PGresult *res = PQexec(admin, sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        printf("    %s: %s", sql, PQerrorMessage(admin));
    PQclear(res);
    return ok ? 0 : -1;
}

/* Makes a fresh, empty store for `url`: removes a SQLite file, or (re)creates a PostgreSQL
 * database. 0 on success. */
static int store_create(const char *url)
{
    if (is_sqlite(url)) {
        sqlite_remove(url);
        return 0;
    }
    char dbname[256];
    PGconn *admin = pg_admin_connect(url, dbname, sizeof dbname);
    int rc = -1;
    if (admin != NULL &&
        pg_database_command(admin, "DROP DATABASE IF EXISTS", dbname, " WITH (FORCE)") == 0)
        rc = pg_database_command(admin, "CREATE DATABASE", dbname, "");
    PQfinish(admin);
    return rc;
}

/* Removes the store made by store_create. */
static void store_drop(const char *url)
{
    if (is_sqlite(url)) {
        sqlite_remove(url);
        return;
    }
    char dbname[256];
    PGconn *admin = pg_admin_connect(url, dbname, sizeof dbname);
    if (admin != NULL)
        pg_database_command(admin, "DROP DATABASE IF EXISTS", dbname, " WITH (FORCE)");
    PQfinish(admin);
}

/* Opens `url` afresh and migrates it; NULL (with a message) when that fails. */
static struct coi_storage *open_store(const char *url)
{
    struct coi_storage *s;
    struct coi_storage_options o = {.pool_size = 4,
                                    .acquire_timeout_ms = 5000,
                                    .statement_timeout_ms = 10000,
                                    .connect_timeout_s = 5};
    if (storage_open(&s, url, &o) != COI_OK) {
        printf("    cannot open %s: %s\n", url, coi_error_detail());
        return NULL;
    }
    if (storage_migrate(s, NULL, COI_MIGRATE_APPLY) != COI_OK) {
        printf("    cannot migrate %s: %s\n", url, coi_error_detail());
        storage_close(s);
        return NULL;
    }
    return s;
}

/* Runs every storage test whose name contains `only` (all when NULL) against `template`. */
static void run_storage_tests(const char *template, const char *only, int *passed, int *failed)
{
    const char *suffix = is_sqlite(template) ? " [sqlite]" : " [postgres]";

    if (strstr(template, "%d") == NULL)
        printf("    warning: %s has no %%d: the tests share one store\n", template);
    for (int i = 0; i < test_count; i++) {
        if (tests[i].storage_fn == NULL || (only && strstr(tests[i].name, only) == NULL))
            continue;
        char url[1024];
        current_failures = 0;
        coi_error_clear();
        if (expand_template(url, sizeof url, template, i) != 0) {
            printf("    URL too long: %s\n", template);
            current_failures++;
        } else if (store_create(url) != 0) {
            current_failures++;
        } else {
            struct coi_storage *s = open_store(url);
            if (s == NULL) {
                current_failures++;
            } else {
                tests[i].storage_fn(s);
                storage_close(s);
            }
            store_drop(url);
        }
        report(tests[i].name, suffix, passed, failed);
    }
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    const char *only = argc > 1 ? argv[1] : NULL;
    const char *urls = getenv("COI_TEST_STORAGE_URLS");

    for (int i = 0; i < test_count; i++) {
        if (tests[i].fn == NULL || (only && strstr(tests[i].name, only) == NULL))
            continue;
        current_failures = 0;
        coi_error_clear();
        tests[i].fn();
        report(tests[i].name, "", &passed, &failed);
    }

    /* Each backend URL is a template: "%d" becomes the test's number, so that every test gets
     * a fresh store (a new SQLite file, or a PostgreSQL database created here and dropped
     * after the test). */
    char *list = strdup(urls ? urls : "");
    if (list == NULL)
        return 2;
    for (char *save = NULL, *url = strtok_r(list, " ", &save); url != NULL;
         url = strtok_r(NULL, " ", &save))
        run_storage_tests(url, only, &passed, &failed);
    free(list);
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
