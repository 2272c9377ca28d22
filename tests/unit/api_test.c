/* Unit tests of the API helpers: cursors, percent-decoding, UTF-8, ETags, routes, config. */
#include <stdlib.h>
#include <string.h>

#include "api/config.h"
#include "api/cursor.h"
#include "api/http.h"
#include "api/routes.h"
#include "storage/search.h"
#include "storage/storage.h"
#include "tests/unit/test.h"

TEST(cursor_round_trips_key_for_same_filters)
{
    char token[256], fp[17];
    const char *filters[] = {"municipality", NULL, "køb"};
    cursor_fingerprint(fp, filters, 3);
    json_t *key = json_string("0173"), *back = NULL;
    CHECK_INT(cursor_encode(token, sizeof token, key, fp), COI_OK);
    CHECK(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          strlen(token));
    CHECK_INT(cursor_decode(&back, token, fp), COI_OK);
    CHECK_STR(json_string_value(back), "0173");
    json_decref(key);
    json_decref(back);
}

TEST(cursor_from_other_filters_is_refused)
{
    char token[256], fp1[17], fp2[17];
    const char *a[] = {"municipality", NULL, NULL}, *b[] = {"region", NULL, NULL};
    cursor_fingerprint(fp1, a, 3);
    cursor_fingerprint(fp2, b, 3);
    CHECK(strcmp(fp1, fp2) != 0);
    json_t *key = json_string("0101"), *back = NULL;
    cursor_encode(token, sizeof token, key, fp1);
    CHECK_INT(cursor_decode(&back, token, fp2), COI_EINVALID);
    CHECK_STR(coi_error_field(), "cursor");
    CHECK(back == NULL);
    json_decref(key);
}

TEST(cursor_absent_filter_differs_from_empty_filter)
{
    char fp1[17], fp2[17];
    const char *a[] = {NULL, "x"}, *b[] = {"", "x"};
    cursor_fingerprint(fp1, a, 2);
    cursor_fingerprint(fp2, b, 2);
    CHECK(strcmp(fp1, fp2) != 0);
}

TEST(cursor_tampered_or_garbage_is_refused)
{
    const char *bad[] = {"", "!!!!", "a", "eyJ2IjoxfQ", "AAAA", "eyJ2IjoyLCJrIjoiMSIsImYiOiJ4In0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *back = NULL;
        CHECK_INT(cursor_decode(&back, bad[i], "0000000000000000"), COI_EINVALID);
        CHECK(back == NULL);
    }
}

TEST(percent_decode_handles_utf8_plus_and_rejects_broken_input)
{
    char *s = api_percent_decode("K%C3%B8benhavn+By", 17, 1);
    CHECK_STR(s, "København By");
    free(s);
    s = api_percent_decode("a+b", 3, 0);
    CHECK_STR(s, "a+b");
    free(s);
    CHECK(api_percent_decode("%", 1, 1) == NULL);
    CHECK(api_percent_decode("%4", 2, 1) == NULL);
    CHECK(api_percent_decode("%zz", 3, 1) == NULL);
    CHECK(api_percent_decode("%00", 3, 1) == NULL);       /* NUL */
    CHECK(api_percent_decode("%C3", 3, 1) == NULL);       /* truncated UTF-8 */
    CHECK(api_percent_decode("%ED%A0%80", 9, 1) == NULL); /* lone surrogate */
}

TEST(utf8_validation_rejects_overlong_and_out_of_range)
{
    CHECK(api_utf8_valid("æøå 😀", strlen("æøå 😀")));
    CHECK(!api_utf8_valid("\xC0\xAF", 2));
    CHECK(!api_utf8_valid("\xF4\x90\x80\x80", 4));
    CHECK(!api_utf8_valid("\xFF", 1));
    CHECK_INT(api_utf8_length("æøå"), 3);
}

TEST(etag_lists_match_exact_weak_and_star)
{
    CHECK(api_etag_listed("\"ab\"", "\"ab\""));
    CHECK(api_etag_listed("\"x\", \"ab\"", "\"ab\""));
    CHECK(api_etag_listed("W/\"ab\"", "\"ab\""));
    CHECK(api_etag_listed("*", "\"ab\""));
    CHECK(!api_etag_listed("\"abc\"", "\"ab\""));
    CHECK(!api_etag_listed("\"a\"", "\"ab\""));
    CHECK(!api_etag_listed("", "\"ab\""));
}

TEST(etag_follows_the_representation)
{
    char a[24], b[24], c[24];
    json_t *x = json_pack("{s:s}", "name", "København"), *y = json_pack("{s:s}", "name", "Kbh");
    api_etag_of(a, sizeof a, x);
    api_etag_of(b, sizeof b, x);
    api_etag_of(c, sizeof c, y);
    CHECK_STR(a, b);
    CHECK(strcmp(a, c) != 0);
    CHECK(a[0] == '"' && strlen(a) == 18);
    json_decref(x);
    json_decref(y);
}

TEST(route_templates_match_whole_segments_only)
{
    const struct route *one = NULL;
    for (size_t i = 0; i < route_count; i++)
        if (strcmp(routes[i].path, "/v1/organisations/{code}") == 0)
            one = &routes[i];
    CHECK(one != NULL);
    if (one == NULL)
        return;
    CHECK(route_match_path(one, "/v1/organisations/0101", NULL));
    CHECK(!route_match_path(one, "/v1/organisations/", NULL));
    CHECK(!route_match_path(one, "/v1/organisations/0101/x", NULL));
    CHECK(!route_match_path(one, "/v1/organisationsX/0101", NULL));
    char buf[64];
    route_ulfius_path(one, buf, sizeof buf);
    CHECK_STR(buf, "/v1/organisations/:code");
}

TEST(config_rejects_bad_values_naming_the_variable)
{
    struct config cfg;
    char err[512];
    setenv("COI_MAX_BODY_BYTES", "abc", 1);
    CHECK(config_load(&cfg, err, sizeof err) != 0);
    CHECK(strstr(err, "COI_MAX_BODY_BYTES") == err);
    unsetenv("COI_MAX_BODY_BYTES");

    setenv("COI_JWT_SECRET", "short", 1);
    CHECK(config_load(&cfg, err, sizeof err) != 0);
    CHECK(strstr(err, "COI_JWT_SECRET") == err);
    unsetenv("COI_JWT_SECRET");

    setenv("COI_LISTEN", "nowhere", 1);
    CHECK(config_load(&cfg, err, sizeof err) != 0);
    CHECK(strstr(err, "COI_LISTEN") == err);
    unsetenv("COI_LISTEN");

    setenv("COI_DATABASE", "mysql://x", 1);
    CHECK(config_load(&cfg, err, sizeof err) != 0);
    CHECK(strstr(err, "COI_DATABASE") == err);
    unsetenv("COI_DATABASE");

    setenv("COI_LOG_LEVEL", "loud", 1);
    CHECK(config_load(&cfg, err, sizeof err) != 0);
    CHECK(strstr(err, "COI_LOG_LEVEL") == err);
    unsetenv("COI_LOG_LEVEL");
}

TEST(config_defaults_and_environment_values)
{
    struct config cfg;
    char err[512] = "";
    CHECK_INT(config_load(&cfg, err, sizeof err), 0);
    CHECK_STR(cfg.listen, "127.0.0.1:8080");
    CHECK_STR(cfg.database, "sqlite:var/coi.db");
    CHECK_INT(cfg.max_body_bytes, 1048576);
    setenv("COI_DB_POOL_SIZE", "3", 1);
    setenv("COI_LISTEN", "[::1]:9090", 1);
    CHECK_INT(config_load(&cfg, err, sizeof err), 0);
    CHECK_INT(cfg.db_pool_size, 3);
    CHECK_INT(cfg.listen_addr.ss_family, AF_INET6);
    unsetenv("COI_DB_POOL_SIZE");
    unsetenv("COI_LISTEN");
}

TEST(csv_parser_reads_quotes_and_empty_fields)
{
    const char text[] = "code,name,region_code\n0101,\"Køben, \"\"havn\"\"\",1084\n1081,Nord,\n";
    json_t *rows = NULL;
    CHECK_INT(storage_csv_parse(&rows, text, strlen(text)), COI_OK);
    CHECK_INT(json_array_size(rows), 3);
    CHECK_STR(json_string_value(json_array_get(json_array_get(rows, 1), 1)), "Køben, \"havn\"");
    CHECK(json_is_null(json_array_get(json_array_get(rows, 2), 2)));
    json_decref(rows);

    const char ragged[] = "a,b\n1\n";
    CHECK_INT(storage_csv_parse(&rows, ragged, strlen(ragged)), COI_EINVALID);
}

TEST(embedded_migrations_are_numbered_and_seed_names_its_table)
{
    size_t n;
    const struct coi_migration *m = storage_migrations("postgres", &n);
    CHECK(n >= 2);
    for (size_t i = 1; i < n; i++)
        CHECK(m[i].number > m[i - 1].number);
    int seen_seed = 0;
    for (size_t i = 0; i < n; i++)
        if (m[i].is_csv) {
            seen_seed = 1;
            CHECK_STR(m[i].csv_table, "organisations");
        }
    CHECK(seen_seed);
}

TEST(ids_are_uuid_v7_and_rise_within_one_millisecond)
{
    char prev[37] = "", id[37];
    for (int i = 0; i < 2000; i++) {
        storage_new_id(id);
        CHECK_INT(strlen(id), 36);
        CHECK(id[14] == '7');
        CHECK(strchr("89ab", id[19]) != NULL);
        if (strcmp(prev, id) >= 0) {
            test_fail(__FILE__, __LINE__, "id %s does not follow %s", id, prev);
            break;
        }
        memcpy(prev, id, sizeof id);
    }
}

TEST(search_parses_words_phrases_and_prefixes_and_renders_both_languages)
{
    struct coi_search s;
    CHECK_INT(storage_search_parse(&s, "Hjemmeplejen \"ældre borgere\" rehab*"), COI_OK);
    CHECK_INT(s.n_terms, 3);
    CHECK_STR(s.terms[0].words[0], "hjemmeplejen");
    CHECK_INT(s.terms[1].n_words, 2);
    CHECK_INT(s.terms[2].prefix, 1);
    char *ts = storage_search_tsquery(&s), *fts = storage_search_fts5(&s);
    CHECK_STR(ts, "('hjemmeplejen') & ('ældre' <-> 'borgere') & ('rehab':*)");
    CHECK_STR(fts, "\"hjemmeplejen\" AND \"ældre\" + \"borgere\" AND \"rehab\"*");
    free(ts);
    free(fts);
    storage_search_free(&s);
}

TEST(search_operators_and_quotes_of_either_backend_are_plain_separators)
{
    const char *hostile[] = {"a' | b", "x & !y",  "NEAR(a b)", "a:* <-> b", "\\\"'",
                             "a OR b", "col:val", "(((a",      "a\"b\"c\"", "--; DROP TABLE cases"};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        struct coi_search s;
        if (storage_search_parse(&s, hostile[i]) != COI_OK)
            continue; /* nothing to search for is a refusal, not a crash */
        char *ts = storage_search_tsquery(&s), *fts = storage_search_fts5(&s);
        for (size_t t = 0; t < s.n_terms; t++)
            for (size_t w = 0; w < s.terms[t].n_words; w++)
                for (const char *p = s.terms[t].words[w]; *p; p++)
                    CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                          (unsigned char)*p >= 0x80);
        free(ts);
        free(fts);
        storage_search_free(&s);
    }
    struct coi_search s;
    CHECK_INT(storage_search_parse(&s, "!!! *** \"\""), COI_EINVALID);
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_INT(storage_search_parse(&s, big), COI_EINVALID);
    CHECK_INT(storage_search_parse(&s, "a b c d e f g h i j k l m n o p q"), COI_EINVALID);
}
