/* The SQLite backend's Danish text search on its own (storage/sqlite/fts_danish.c): which words
 * the tokenizer indexes, as what and where they are in the text, and the migration that builds
 * the index for cases already stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "storage/search.h"
#include "storage/sqlite/sqlite_internal.h"
#include "tests/unit/test.h"

/* The rows of `sql` on `db`, each row's columns joined with ",", rows with " | ". */
static void rows_of(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *stmt = NULL;
    size_t used = 0;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        test_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
        return;
    }
    for (int row = 0; sqlite3_step(stmt) == SQLITE_ROW; row++)
        for (int i = 0; i < sqlite3_column_count(stmt) && used < size; i++) {
            const char *v = (const char *)sqlite3_column_text(stmt, i);
            used += (size_t)snprintf(out + used, size - used, "%s%s",
                                     i     ? ","
                                     : row ? " | "
                                           : "",
                                     v ? v : "NULL");
        }
    sqlite3_finalize(stmt);
}

/* A new in-memory database with the tokenizer and table t(a) holding `text` in row 1. */
static sqlite3 *table_with(const char *text)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK || sqlite_fts_register(db) != COI_OK ||
        sqlite3_exec(db,
                     "CREATE VIRTUAL TABLE t USING fts5 (a, tokenize = 'danish');"
                     "CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance');",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO t (rowid, a) VALUES (1, ?1)", -1, &stmt, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_DONE)
        test_fail(__FILE__, __LINE__, "cannot set up the table: %s", sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    return db;
}

TEST(sqlite_fts_danish_indexes_folded_stems_without_stop_words_in_text_order)
{
    char got[512];
    sqlite3 *db = table_with("\xc2\xbbHjemmeplejen\xc2\xab \xe2\x80\x93 og \xc3\x86LDRE"
                             " borgere_i_2024, \xc3\x98STERBRO!");
    rows_of(db, "SELECT term, offset FROM v ORDER BY offset", got, sizeof got);
    CHECK_STR(got, "hjemmeplej,0 | \xc3\xa6ldr,1 | borg,2 | 2024,3 | \xc3\xb8sterbro,4");
    rows_of(db, "SELECT highlight(t, 0, '[', ']') FROM t WHERE t MATCH '\"\xc3\xa6ldres\"'", got,
            sizeof got);
    CHECK_STR(got, "\xc2\xbbHjemmeplejen\xc2\xab \xe2\x80\x93 og [\xc3\x86LDRE]"
                   " borgere_i_2024, \xc3\x98STERBRO!");
    rows_of(db, "SELECT highlight(t, 0, '[', ']') FROM t WHERE t MATCH '\"hjemme\"*'", got,
            sizeof got);
    CHECK_STR(got, "\xc2\xbb[Hjemmeplejen]\xc2\xab \xe2\x80\x93 og \xc3\x86LDRE"
                   " borgere_i_2024, \xc3\x98STERBRO!");
    sqlite3_close(db);
}

TEST(sqlite_fts_danish_skips_overlong_words_and_keeps_invalid_bytes_as_letters)
{
    char *text = malloc(3100), got[512];
    if (text == NULL)
        return;
    strcpy(text, "start ");
    memset(text + 6, 'a', 3000);
    strcpy(text + 3006, " slut x\xff y");
    sqlite3 *db = table_with(text);
    rows_of(db, "SELECT term, offset FROM v ORDER BY offset", got, sizeof got);
    CHECK_STR(got, "start,0 | slut,1 | x\xff,2 | y,3");
    sqlite3_close(db);
    free(text);
}

TEST(sqlite_fts_indexes_tells_stop_words_from_words)
{
    CHECK_INT(sqlite_fts_indexes("hjemmeplejen"), 1);
    CHECK_INT(sqlite_fts_indexes("og"), 0);
    CHECK_INT(sqlite_fts_indexes("OG"), 0);
    CHECK_INT(sqlite_fts_indexes("p\xc3\xa5"), 0);
    CHECK_INT(sqlite_fts_indexes("\xc2\xbbog\xc2\xab"), 0);
    CHECK_INT(sqlite_fts_indexes("\xc2\xbbog\xc2\xab\xc3\xa6"
                                 "ble"),
              1);
    CHECK_INT(sqlite_fts_indexes(""), 0);
}

TEST(sqlite_fts_migration_indexes_the_cases_written_before_it)
{
    char dir[] = "/tmp/coi-fts-XXXXXX", url[96], path[64];
    struct coi_storage *s = NULL;
    sqlite3 *db = NULL;
    size_t n = 0;
    if (mkdtemp(dir) == NULL) {
        test_fail(__FILE__, __LINE__, "mkdtemp failed");
        return;
    }
    snprintf(path, sizeof path, "%s/coi.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", path);
    const struct coi_migration *steps = storage_migrations("sqlite", &n);
    size_t before = 0; /* the steps before 0005_case_search.sql */
    while (before < n && steps[before].number < 5)
        before++;
    CHECK_INT(storage_open(&s, url, NULL), COI_OK);
    if (s == NULL)
        goto out;
    CHECK_INT(s->migrate(s, NULL, steps, before, COI_MIGRATE_APPLY), COI_OK);
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db,
                           "INSERT INTO cases (id, organisation_code, doc, status) VALUES"
                           " ('00000000-0000-7000-8000-000000000001', '0101',"
                           " '{\"title\": \"Gammel sag\", \"tags\": [\"\xc3\xa6ldrepleje\"]}',"
                           " 'published')",
                           NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
    CHECK_INT(storage_migrate(s, NULL, COI_MIGRATE_APPLY), COI_OK);

    json_t *in = json_pack("{s:s, s:[], s:s, s:s}", "organisation_code", "0101",
                           "partner_organisation_codes", "title", "Ny sag om \xc3\xa6ldrepleje",
                           "summary", "Kort"),
           *c = NULL, *rows = NULL;
    const struct coi_actor actor = {.sub = "test", .role = "admin"};
    CHECK_INT(s->case_create(s, &c, in, &actor, NULL), COI_OK);
    struct coi_search search;
    CHECK_INT(storage_search_parse(&search, "\xc3\xa6ldreplejen"), COI_OK);
    CHECK_INT(
        s->case_list(s, &rows,
                     &(struct coi_case_query){
                         .see_all = 1, .search = &search, .sort = COI_SORT_TITLE, .limit = 10}),
        COI_OK);
    CHECK_INT(json_array_size(rows), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(rows, 0), "title")), "Gammel sag");
    storage_search_free(&search);
    json_decref(rows);
    json_decref(c);
    json_decref(in);
out:
    storage_close(s);
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char file[96];
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        unlink(file);
    }
    rmdir(dir);
}
