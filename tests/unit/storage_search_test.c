/* Storage conformance, run on every backend: text search of cases (Danish stemming, phrases,
 * prefixes, stop words), relevance order and snippets. What is asserted is what PostgreSQL's
 * `danish` text search configuration and the SQLite tokenizer agree on: words are stemmed by
 * Snowball's Danish stemmer ("hjemmeplejen", "hjemmeplejens" -> hjemmeplej; "ældre", "ældres"
 * -> ældr; but "ældreplejen" -> ældreplej), a prefix is stemmed too, stop words are dropped. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storage/search.h"
#include "storage/storage.h"
#include "tests/unit/test.h"
#include "tests/unit/storage_helpers.h"

/* Adds a case led by `org` in `status` with the JSON fields given; returns nothing. */
static void add(struct coi_storage *s, const char *org, const char *status, const char *fields)
{
    json_decref(case_make(s, org, NULL, status, fields));
}

/* The titles (sorted, joined with " | ") of the cases `q` finds searching for `text`. Also
 * checks that case_count agrees with the list. */
static void found(struct coi_storage *s, struct coi_case_query q, const char *text, char *out,
                  size_t size)
{
    struct coi_search search;
    int64_t count = -1;
    out[0] = '\0';
    if (storage_search_parse(&search, text) != COI_OK) {
        test_fail(__FILE__, __LINE__, "cannot parse the search %s: %s", text, coi_error_detail());
        return;
    }
    q.search = &search;
    case_titles(s, &q, 1, out, size);
    CHECK_INT(s->case_count(s, &count, &q), COI_OK);
    json_t *all = case_list_all(s, &q, 100);
    if (count != (int64_t)json_array_size(all))
        test_fail(__FILE__, __LINE__, "search %s: case_count %lld, listed %zu", text,
                  (long long)count, json_array_size(all));
    json_decref(all);
    storage_search_free(&search);
}

#define CHECK_FOUND(q, text, expected)                                                             \
    do {                                                                                           \
        char got_[1024];                                                                           \
        found(s, (q), (text), got_, sizeof got_);                                                  \
        if (strcmp(got_, (expected)) != 0)                                                         \
            test_fail(__FILE__, __LINE__, "searching %s finds \"%s\", expected \"%s\"", (text),    \
                      got_, (expected));                                                           \
    } while (0)

static const struct coi_case_query ALL = {.see_all = 1};

STORAGE_TEST(storage_search_matches_danish_inflections_by_their_stem)
{
    add(s, "0101", "published", "{\"title\": \"Hjemmeplejen planl\xc3\xa6gger ruter\"}");
    add(s, "0101", "published",
        "{\"title\": \"Aftensmad\", \"problem\": \"Mange \xc3\xa6ldre borgere spiser for lidt\"}");
    add(s, "0101", "published", "{\"title\": \"\xc3\x86ldreplejen f\xc3\xa5r robotter\"}");

    CHECK_FOUND(ALL, "hjemmepleje", "Hjemmeplejen planl\xc3\xa6gger ruter");
    CHECK_FOUND(ALL, "hjemmeplejens", "Hjemmeplejen planl\xc3\xa6gger ruter");
    CHECK_FOUND(ALL, "HJEMMEPLEJE", "Hjemmeplejen planl\xc3\xa6gger ruter");
    CHECK_FOUND(ALL, "\xc3\xa6ldres", "Aftensmad");
    CHECK_FOUND(ALL, "\xc3\x86LDRES", "Aftensmad"); /* non-ASCII capitals are folded too */
    /* a compound has a stem of its own: "ældre" does not find "Ældreplejen" */
    CHECK_FOUND(ALL, "\xc3\xa6ldre", "Aftensmad");
    CHECK_FOUND(ALL, "\xc3\xa6ldrepleje", "\xc3\x86ldreplejen f\xc3\xa5r robotter");
    CHECK_FOUND(ALL, "robot", "\xc3\x86ldreplejen f\xc3\xa5r robotter");
    CHECK_FOUND(ALL, "borgerne spise", "Aftensmad");
    CHECK_FOUND(ALL, "hjemmepleje \xc3\xa6ldre", ""); /* every term must match */
    CHECK_FOUND(ALL, "skolemad", "");
    /* punctuation outside ASCII separates words like any other */
    add(s, "0101", "published",
        "{\"title\": \"Natholdet\", \"problem\": \"\xc2\xbbNattevagten\xc2\xab \xe2\x80\x93"
        " ogs\xc3\xa5 kaldet \xe2\x80\x99natholdet\xe2\x80\x99\xe2\x80\xa6 ringer\"}");
    CHECK_FOUND(ALL, "nattevagt", "Natholdet");
    CHECK_FOUND(ALL, "\"kaldet natholdet\" ringer", "Natholdet");
    add(s, "0101", "draft",
        "{\"title\": \"Caf\xc3\xa9"
        "en p\xc3\xa5 plejehjemmet\"}");
    CHECK_FOUND(ALL, "CAF\xc3\x89",
                "Caf\xc3\xa9"
                "en p\xc3\xa5 plejehjemmet");
    CHECK_FOUND(ALL, "caf", ""); /* é is a letter, not the end of a word */
    /* tags are searched too: case_new tags every case "velfærd" and "digital" */
    CHECK_FOUND(ALL, "velf\xc3\xa6rd",
                "Aftensmad | Caf\xc3\xa9"
                "en p\xc3\xa5 plejehjemmet | "
                "Hjemmeplejen planl\xc3\xa6gger ruter | Natholdet | "
                "\xc3\x86ldreplejen f\xc3\xa5r robotter");
}

STORAGE_TEST(storage_search_phrase_needs_its_words_next_to_each_other_in_order)
{
    add(s, "0101", "published", "{\"title\": \"Ruteplanl\xc3\xa6gning i hjemmeplejen\"}");
    add(s, "0101", "published",
        "{\"title\": \"Hjemmeplejen f\xc3\xa5r ny ruteplanl\xc3\xa6gning\"}");

    CHECK_FOUND(ALL, "\"ruteplanl\xc3\xa6gning i hjemmeplejen\"",
                "Ruteplanl\xc3\xa6gning i hjemmeplejen");
    CHECK_FOUND(ALL, "\"ny ruteplanl\xc3\xa6gning\"",
                "Hjemmeplejen f\xc3\xa5r ny ruteplanl\xc3\xa6gning");
    CHECK_FOUND(ALL, "\"ruteplanl\xc3\xa6gning ny\"", "");
    CHECK_FOUND(ALL, "\"hjemmeplejen f\xc3\xa5r\" ruteplanl\xc3\xa6gning",
                "Hjemmeplejen f\xc3\xa5r ny ruteplanl\xc3\xa6gning");
    CHECK_FOUND(ALL, "ruteplanl\xc3\xa6gning hjemmeplejen",
                "Hjemmeplejen f\xc3\xa5r ny ruteplanl\xc3\xa6gning | "
                "Ruteplanl\xc3\xa6gning i hjemmeplejen");
}

STORAGE_TEST(storage_search_prefix_matches_the_beginning_of_stemmed_words)
{
    add(s, "0101", "published", "{\"title\": \"Hjemmeplejen planl\xc3\xa6gger ruter\"}");
    add(s, "0101", "published", "{\"title\": \"Mange \xc3\xa6ldre venter\"}");
    add(s, "0101", "published", "{\"title\": \"\xc3\x86ldreplejen f\xc3\xa5r robotter\"}");

    CHECK_FOUND(ALL, "hjemme*", "Hjemmeplejen planl\xc3\xa6gger ruter");
    CHECK_FOUND(ALL, "hjemmepl*", "Hjemmeplejen planl\xc3\xa6gger ruter");
    CHECK_FOUND(ALL, "rute*", "Hjemmeplejen planl\xc3\xa6gger ruter");
    CHECK_FOUND(ALL, "robot*", "\xc3\x86ldreplejen f\xc3\xa5r robotter");
    CHECK_FOUND(ALL, "\xc3\xa6ldre*",
                "Mange \xc3\xa6ldre venter | \xc3\x86ldreplejen f\xc3\xa5r robotter");
    CHECK_FOUND(ALL, "\xc3\xa6ldre* robot*", "\xc3\x86ldreplejen f\xc3\xa5r robotter");
    CHECK_FOUND(ALL, "skole*", "");
}

STORAGE_TEST(storage_search_stop_words_are_left_out_of_the_search)
{
    add(s, "0101", "published", "{\"title\": \"Hjemmeplejen og de \xc3\xa6ldre\"}");
    add(s, "0101", "published", "{\"title\": \"Hjemmeplejen\"}");
    add(s, "0101", "published", "{\"title\": \"\xc3\x86ldre\"}");

    CHECK_FOUND(ALL, "hjemmeplejen og de \xc3\xa6ldre", "Hjemmeplejen og de \xc3\xa6ldre");
    CHECK_FOUND(ALL, "hjemmeplejen og", "Hjemmeplejen | Hjemmeplejen og de \xc3\xa6ldre");
    CHECK_FOUND(ALL, "de \xc3\xa6ldre", "Hjemmeplejen og de \xc3\xa6ldre | \xc3\x86ldre");
    CHECK_FOUND(ALL, "\"hjemmeplejen og de \xc3\xa6ldre\"", "Hjemmeplejen og de \xc3\xa6ldre");
    CHECK_FOUND(ALL, "og*", "");

    /* only stop words: nothing to look for, which finds nothing (and is no error) */
    CHECK_FOUND(ALL, "og de", "");
    struct coi_search search;
    json_t *facets = NULL;
    CHECK_INT(storage_search_parse(&search, "\"og de\""), COI_OK);
    struct coi_case_query q = {
        .see_all = 1, .search = &search, .highlight = 1, .sort = COI_SORT_RELEVANCE, .limit = 10};
    json_t *rows = case_page(s, &q);
    CHECK_INT(json_array_size(rows), 0);
    json_decref(rows);
    CHECK_INT(s->case_facets(s, &facets, &q), COI_OK);
    const char *key;
    json_t *values;
    json_object_foreach(facets, key, values)
    {
        if (json_object_size(values) != 0)
            test_fail(__FILE__, __LINE__, "facet %s counts cases for a search of stop words", key);
    }
    json_decref(facets);
    storage_search_free(&search);
}

/* The ids of what `q` lists searching `text`, in order, as one page (new reference). */
static json_t *search_page(struct coi_storage *s, struct coi_case_query q, const char *text)
{
    struct coi_search search;
    if (storage_search_parse(&search, text) != COI_OK) {
        test_fail(__FILE__, __LINE__, "cannot parse the search %s", text);
        return json_array();
    }
    q.search = &search;
    json_t *rows = case_page(s, &q);
    storage_search_free(&search);
    return rows;
}

STORAGE_TEST(storage_search_relevance_puts_a_title_match_before_a_body_match)
{
    /* Made in this order so that the tie-break (id DESC) alone would list the title match
     * last: only the rank can put it first. */
    json_t *title = case_make(s, "0101", NULL, "published",
                              "{\"title\": \"Hjemmeplejen i Aalborg\","
                              " \"problem\": \"Ventetid p\xc3\xa5 bes\xc3\xb8g\"}");
    json_t *body = case_make(s, "0101", NULL, "published",
                             "{\"title\": \"Bes\xc3\xb8g hos borgere\","
                             " \"problem\": \"Kommunens hjemmepleje planl\xc3\xa6gger bes\xc3\xb8g"
                             " med en app, s\xc3\xa5 borgerne ved hvorn\xc3\xa5r der kommer"
                             " nogen.\"}");
    add(s, "0101", "published", "{\"title\": \"Skolemad\"}");
    char ids[256], expected[256];
    snprintf(expected, sizeof expected, "%s %s", field(title, "id"), field(body, "id"));

    json_t *rows = search_page(
        s, (struct coi_case_query){.see_all = 1, .sort = COI_SORT_RELEVANCE, .limit = 10},
        "hjemmepleje");
    join_key(ids, sizeof ids, rows, "id");
    CHECK_STR(ids, expected);
    json_decref(rows);

    /* one at a time through "_sort_key", the same order */
    struct coi_search search;
    CHECK_INT(storage_search_parse(&search, "hjemmepleje"), COI_OK);
    rows = case_list_all(
        s, &(struct coi_case_query){.see_all = 1, .sort = COI_SORT_RELEVANCE, .search = &search},
        1);
    join_key(ids, sizeof ids, rows, "id");
    CHECK_STR(ids, expected);
    json_decref(rows);
    storage_search_free(&search);
    json_decref(title);
    json_decref(body);
}

/* Many more cases share one rank than a page holds: paging by relevance must still list each
 * exactly once, the better ranked first and the ties by id, descending. */
STORAGE_TEST(storage_search_relevance_pages_through_a_tie_larger_than_a_page)
{
    enum { TIED = 260 };
    json_t *best =
        case_make(s, "0101", NULL, "published",
                  "{\"title\": \"Hjemmepleje\", \"summary\": \"Hjemmepleje om natten\"}");
    for (int i = 0; i < TIED; i++)
        add(s, "0101", "published", "{\"title\": \"Ruter\", \"summary\": \"Hjemmepleje\"}");
    add(s, "0101", "published", "{\"title\": \"Skolemad\"}");

    struct coi_search search;
    CHECK_INT(storage_search_parse(&search, "hjemmeplejen"), COI_OK);
    int pages[] = {20, 7, 250};
    for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
        json_t *rows = case_list_all(
            s,
            &(struct coi_case_query){.see_all = 1, .sort = COI_SORT_RELEVANCE, .search = &search},
            pages[p]);
        CHECK_INT(json_array_size(rows), TIED + 1);
        CHECK_STR(field(json_array_get(rows, 0), "id"), field(best, "id"));
        for (size_t i = 2; i < json_array_size(rows); i++)
            if (strcmp(field(json_array_get(rows, i - 1), "id"),
                       field(json_array_get(rows, i), "id")) <= 0)
                test_fail(__FILE__, __LINE__, "page %d: tied case %zu is not below the one before",
                          pages[p], i);
        json_decref(rows);
    }
    storage_search_free(&search);
    json_decref(best);
}

/* Checks that `snippet` marks at least one word and that every marked word, lowercased,
 * begins with one of the space-separated `stems`. */
static void check_marks(const char *snippet, const char *stems)
{
    int marks = 0;
    if (snippet == NULL) {
        test_fail(__FILE__, __LINE__, "no _snippet");
        return;
    }
    for (const char *p = strstr(snippet, "<mark>"); p != NULL; p = strstr(p, "<mark>")) {
        p += 6;
        const char *end = strstr(p, "</mark>");
        if (end == NULL) {
            test_fail(__FILE__, __LINE__, "unclosed <mark> in %s", snippet);
            return;
        }
        char word[128], list[256];
        size_t n = (size_t)(end - p) < sizeof word - 1 ? (size_t)(end - p) : sizeof word - 1;
        for (size_t i = 0; i < n; i++)
            word[i] = (char)tolower((unsigned char)p[i]);
        word[n] = '\0';
        int ok = 0;
        snprintf(list, sizeof list, "%s", stems);
        for (char *save = NULL, *stem = strtok_r(list, " ", &save); stem != NULL;
             stem = strtok_r(NULL, " ", &save))
            ok |= strncmp(word, stem, strlen(stem)) == 0;
        if (!ok)
            test_fail(__FILE__, __LINE__, "marked \"%s\" in %s", word, snippet);
        marks++;
        p = end;
    }
    if (marks == 0)
        test_fail(__FILE__, __LINE__, "nothing marked in %s", snippet);
}

STORAGE_TEST(storage_search_snippet_wraps_matching_words_in_mark)
{
    add(s, "0101", "published",
        "{\"title\": \"Digital post\", \"problem\": \"Borgerne i hjemmeplejen f\xc3\xa5r"
        " bes\xc3\xb8g oftere, n\xc3\xa5r ruterne planl\xc3\xa6gges med en app.\"}");
    const struct coi_case_query q = {.see_all = 1, .highlight = 1, .limit = 10};

    json_t *rows = search_page(s, q, "hjemmepleje");
    CHECK_INT(json_array_size(rows), 1);
    const char *snippet = field(json_array_get(rows, 0), "_snippet");
    check_marks(snippet, "hjemmeplejen");
    CHECK(snippet != NULL && strstr(snippet, "<mark>hjemmeplejen</mark>") != NULL);
    json_decref(rows);

    rows = search_page(s, q, "hjemmeplejen bes\xc3\xb8g");
    check_marks(field(json_array_get(rows, 0), "_snippet"), "hjemmeplejen bes\xc3\xb8g");
    json_decref(rows);

    rows = search_page(s, q, "rute*");
    check_marks(field(json_array_get(rows, 0), "_snippet"), "rute");
    json_decref(rows);

    rows = search_page(s,
                       (struct coi_case_query){
                           .see_all = 1, .highlight = 1, .sort = COI_SORT_RELEVANCE, .limit = 10},
                       "digital");
    CHECK_INT(json_array_size(rows), 1);
    check_marks(field(json_array_get(rows, 0), "_snippet"), "digital");
    json_decref(rows);
}

STORAGE_TEST(storage_search_shows_each_viewer_only_what_it_may_see)
{
    add(s, "0101", "published",
        "{\"title\": \"Hjemmeplejen i K\xc3\xb8"
        "benhavn\", \"sector\": \"elderly_care\"}");
    add(s, "0851", "draft", "{\"title\": \"Hjemmeplejen i Aalborg\", \"sector\": \"health\"}");
    add(s, "0147", "published", "{\"title\": \"Skolemad\", \"sector\": \"education\"}");

    CHECK_FOUND((struct coi_case_query){0}, "hjemmepleje",
                "Hjemmeplejen i K\xc3\xb8"
                "benhavn");
    CHECK_FOUND((struct coi_case_query){.viewer_org = "0101"}, "hjemmepleje",
                "Hjemmeplejen i K\xc3\xb8"
                "benhavn");
    CHECK_FOUND((struct coi_case_query){.viewer_org = "0851"}, "hjemmepleje",
                "Hjemmeplejen i Aalborg | Hjemmeplejen i K\xc3\xb8"
                "benhavn");
    CHECK_FOUND(ALL, "hjemmepleje",
                "Hjemmeplejen i Aalborg | Hjemmeplejen i K\xc3\xb8"
                "benhavn");

    struct coi_search search;
    json_t *facets = NULL;
    CHECK_INT(storage_search_parse(&search, "hjemmepleje"), COI_OK);
    CHECK_INT(s->case_facets(s, &facets, &(struct coi_case_query){.search = &search}), COI_OK);
    json_t *sector = json_object_get(facets, "sector");
    CHECK_INT(json_object_size(sector), 1);
    CHECK_INT(json_integer_value(json_object_get(sector, "elderly_care")), 1);
    json_decref(facets);
    CHECK_INT(s->case_facets(s, &facets,
                             &(struct coi_case_query){.viewer_org = "0851", .search = &search}),
              COI_OK);
    sector = json_object_get(facets, "sector");
    CHECK_INT(json_object_size(sector), 2);
    CHECK_INT(json_integer_value(json_object_get(sector, "health")), 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(facets, "status"), "draft")), 1);
    json_decref(facets);
    storage_search_free(&search);
}

STORAGE_TEST(storage_search_finds_a_case_by_its_current_text_only)
{
    json_t *c = case_make(s, "0101", NULL, "published",
                          "{\"title\": \"Skolemad\", \"problem\": \"Eleverne spiser for lidt\"}");
    json_t *out = NULL, *in = case_new("0101", NULL, NULL, "Hjemmeplejen planl\xc3\xa6gger ruter");
    if (c == NULL)
        goto out;
    CHECK_FOUND(ALL, "skolemad", "Skolemad");
    CHECK_INT(s->case_update(s, &out, field(c, "id"), in, -1, &TEST_ACTOR, NULL), COI_OK);
    CHECK_FOUND(ALL, "skolemad", "");
    CHECK_FOUND(ALL, "elever", "");
    CHECK_FOUND(ALL, "hjemmepleje", "Hjemmeplejen planl\xc3\xa6gger ruter");
    json_decref(out);
    out = NULL;
    /* a transition keeps the text searchable */
    CHECK_INT(s->case_transition(s, &out, field(c, "id"), "archived", NULL, -1, &TEST_ACTOR),
              COI_OK);
    CHECK_FOUND(ALL, "ruter", "Hjemmeplejen planl\xc3\xa6gger ruter");
out:
    json_decref(out);
    json_decref(in);
    json_decref(c);
}
