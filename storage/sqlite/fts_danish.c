/* SQLite full-text search in Danish: the FTS5 tokenizer "danish" and the rank function
 * coi_rank, registered on every connection. */
#include "storage/sqlite/sqlite_internal.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>

/* Words longer than this many bytes are not indexed (PostgreSQL skips them too). */
#define MAX_WORD 2047

/* PostgreSQL's Danish stop words (tsearch_data/danish.stop), in byte order for bsearch. */
static const char *const STOP_WORDS[] = {"ad",
                                         "af",
                                         "alle",
                                         "alt",
                                         "anden",
                                         "at",
                                         "blev",
                                         "blive",
                                         "bliver",
                                         "da",
                                         "de",
                                         "dem",
                                         "den",
                                         "denne",
                                         "der",
                                         "deres",
                                         "det",
                                         "dette",
                                         "dig",
                                         "din",
                                         "disse",
                                         "dog",
                                         "du",
                                         "efter",
                                         "eller",
                                         "en",
                                         "end",
                                         "er",
                                         "et",
                                         "for",
                                         "fra",
                                         "ham",
                                         "han",
                                         "hans",
                                         "har",
                                         "havde",
                                         "have",
                                         "hende",
                                         "hendes",
                                         "her",
                                         "hos",
                                         "hun",
                                         "hvad",
                                         "hvis",
                                         "hvor",
                                         "i",
                                         "ikke",
                                         "ind",
                                         "jeg",
                                         "jer",
                                         "jo",
                                         "kunne",
                                         "man",
                                         "mange",
                                         "med",
                                         "meget",
                                         "men",
                                         "mig",
                                         "min",
                                         "mine",
                                         "mit",
                                         "mod",
                                         "ned",
                                         "noget",
                                         "nogle",
                                         "nu",
                                         "n\xc3\xa5r",
                                         "og",
                                         "ogs\xc3\xa5",
                                         "om",
                                         "op",
                                         "os",
                                         "over",
                                         "p\xc3\xa5",
                                         "selv",
                                         "sig",
                                         "sin",
                                         "sine",
                                         "sit",
                                         "skal",
                                         "skulle",
                                         "som",
                                         "s\xc3\xa5"
                                         "dan",
                                         "thi",
                                         "til",
                                         "ud",
                                         "under",
                                         "var",
                                         "vi",
                                         "vil",
                                         "ville",
                                         "vor",
                                         "v\xc3\xa6re",
                                         "v\xc3\xa6ret"};

static int compare_word(const void *key, const void *item)
{
    return strcmp(key, *(const char *const *)item);
}

static int is_stop_word(const char *word)
{
    return bsearch(word, STOP_WORDS, sizeof STOP_WORDS / sizeof STOP_WORDS[0], sizeof STOP_WORDS[0],
                   compare_word) != NULL;
}

/* The code points outside ASCII that separate words, as PostgreSQL's parser does: the
 * punctuation, spaces and symbols of Latin-1, general punctuation (dashes, quotes, spaces),
 * currency, arrows to dingbats, CJK punctuation, the byte order mark and emoji. Every other
 * non-ASCII code point counts as a letter. (storage/search.c keeps every non-ASCII byte in a
 * query word; FTS5 passes query words through this tokenizer, so they split like the text.) */
static int is_separator(unsigned c)
{
    static const unsigned ranges[][2] = {
        {0x80, 0xA9},     {0xAB, 0xB4},     {0xB6, 0xB9},     {0xBB, 0xBF},
        {0xD7, 0xD7},     {0xF7, 0xF7},     {0x2000, 0x206F}, {0x20A0, 0x20CF},
        {0x2190, 0x2BFF}, {0x3000, 0x303F}, {0xFEFF, 0xFEFF}, {0x1F000, 0x1FAFF},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (c >= ranges[i][0] && c <= ranges[i][1])
            return 1;
    return 0;
}

/* Stands for a byte that does not start a valid UTF-8 sequence: a letter, kept as it is. */
#define INVALID 0x110000u

/* Decodes the code point at s[0..n) into *c and returns its length in bytes (1 for INVALID). */
static int decode(const unsigned char *s, int n, unsigned *c)
{
    int len = s[0] < 0x80                    ? 1
              : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
              : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
              : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                             : 0;
    if (len == 0 || len > n)
        goto invalid;
    *c = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto invalid;
        *c = (*c << 6) | (s[i] & 0x3Fu);
    }
    if ((len == 3 && *c < 0x800) || (len == 4 && (*c < 0x10000 || *c > 0x10FFFF)))
        goto invalid;
    return len;
invalid:
    *c = INVALID;
    return 1;
}

static int is_word_char(unsigned c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return !is_separator(c);
}

/* Appends code point `c` (read from bytes starting with `raw`) lowercased by
 * sqlite_fold_code_point to out[*len], UTF-8 encoded: never more bytes than it was read from,
 * since folding never makes an encoding longer. */
static void put_folded(char *out, int *len, unsigned c, unsigned char raw)
{
    if (c == INVALID) {
        out[(*len)++] = (char)raw;
        return;
    }
    c = sqlite_fold_code_point(c);
    if (c < 0x80) {
        out[(*len)++] = (char)c;
    } else if (c < 0x800) {
        out[(*len)++] = (char)(0xC0 | (c >> 6));
        out[(*len)++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out[(*len)++] = (char)(0xE0 | (c >> 12));
        out[(*len)++] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[(*len)++] = (char)(0x80 | (c & 0x3F));
    } else {
        out[(*len)++] = (char)(0xF0 | (c >> 18));
        out[(*len)++] = (char)(0x80 | ((c >> 12) & 0x3F));
        out[(*len)++] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[(*len)++] = (char)(0x80 | (c & 0x3F));
    }
}

/* One word of a text: where it is and its lowercased form. */
struct word {
    int start, end;            /* byte offsets in the text */
    char folded[MAX_WORD + 1]; /* NUL-terminated */
    int length;
};

/* Finds the next word of text[*pos..n) that is indexed (not too long, not a stop word) and
 * moves *pos past it. 1 when one was found, 0 at the end of the text. */
static int next_word(const char *text, int n, int *pos, struct word *w)
{
    const unsigned char *s = (const unsigned char *)text;
    int i = *pos, len;
    unsigned c;

    while (i < n) {
        len = decode(s + i, n - i, &c);
        if (!is_word_char(c)) {
            i += len;
            continue;
        }
        int too_long = 0;
        w->start = i;
        w->length = 0;
        while (i < n && is_word_char(c)) {
            if (i + len - w->start > MAX_WORD)
                too_long = 1;
            else
                put_folded(w->folded, &w->length, c, s[i]);
            i += len;
            if (i < n)
                len = decode(s + i, n - i, &c);
        }
        w->end = i;
        w->folded[w->length] = '\0';
        if (!too_long && !is_stop_word(w->folded)) {
            *pos = i;
            return 1;
        }
    }
    *pos = n;
    return 0;
}

int sqlite_fts_indexes(const char *text)
{
    struct word w;
    int pos = 0;
    return next_word(text, (int)strlen(text), &pos, &w);
}

/* The tokenizer: one Snowball stemmer per instance (FTS5 makes one per table and connection,
 * and a connection is used by one thread at a time). */
struct danish_tokenizer {
    struct sb_stemmer *stemmer;
    struct word word;
};

static int danish_create(void *ctx, const char **args, int n_args, Fts5Tokenizer **out)
{
    (void)ctx;
    (void)args;
    *out = NULL;
    if (n_args > 0)
        return SQLITE_ERROR;
    struct danish_tokenizer *t = sqlite3_malloc(sizeof *t);
    if (t == NULL)
        return SQLITE_NOMEM;
    t->stemmer = sb_stemmer_new("danish", "UTF_8");
    if (t->stemmer == NULL) {
        sqlite3_free(t);
        return SQLITE_NOMEM;
    }
    *out = (Fts5Tokenizer *)t;
    return SQLITE_OK;
}

static void danish_delete(Fts5Tokenizer *tokenizer)
{
    struct danish_tokenizer *t = (struct danish_tokenizer *)tokenizer;
    sb_stemmer_delete(t->stemmer);
    sqlite3_free(t);
}

/* Every indexed word of the text, lowercased and stemmed, with its byte offsets in the text
 * (snippet() marks the original text with them). Query words are treated the same way,
 * prefixes included: PostgreSQL's to_tsquery stems a prefix too. */
static int danish_tokenize(Fts5Tokenizer *tokenizer, void *ctx, int flags, const char *text, int n,
                           int (*emit)(void *, int, const char *, int, int, int))
{
    struct danish_tokenizer *t = (struct danish_tokenizer *)tokenizer;
    int pos = 0, rc = SQLITE_OK;
    (void)flags;
    while (rc == SQLITE_OK && next_word(text, n, &pos, &t->word)) {
        const sb_symbol *stem =
            sb_stemmer_stem(t->stemmer, (const sb_symbol *)t->word.folded, t->word.length);
        if (stem == NULL)
            return SQLITE_NOMEM;
        rc = emit(ctx, 0, (const char *)stem, sb_stemmer_length(t->stemmer), t->word.start,
                  t->word.end);
    }
    return rc;
}

/* coi_rank(cases_fts): how well a row matches, the same for a row whatever else the table
 * holds, so that keyset pages in rank order stay stable while cases are written (bm25 moves
 * with every write). Per column, the matches count with diminishing returns (n / (n + 1)),
 * weighted title 10, tags 5, summary 4 and 1 for the longer texts; an integer, higher is
 * better. */
static void coi_rank(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int argc,
                     sqlite3_value **argv)
{
    /* The columns of cases_fts in order: title, summary, problem, solution, lessons_learned,
     * tags (migrations/sqlite/0005_case_search.sql). */
    static const int weights[] = {10, 4, 1, 1, 1, 5};
    enum { COLUMNS = sizeof weights / sizeof weights[0] };
    int counts[COLUMNS] = {0}, n = 0, rc;
    (void)argc;
    (void)argv;

    if ((rc = api->xInstCount(fts, &n)) != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    for (int i = 0; i < n; i++) {
        int phrase, column, offset;
        if ((rc = api->xInst(fts, i, &phrase, &column, &offset)) != SQLITE_OK) {
            sqlite3_result_error_code(ctx, rc);
            return;
        }
        if (column >= 0 && column < COLUMNS)
            counts[column]++;
    }
    sqlite3_int64 score = 0;
    for (int c = 0; c < COLUMNS; c++)
        score += (sqlite3_int64)weights[c] * (1000 * counts[c] / (counts[c] + 1));
    sqlite3_result_int64(ctx, score);
}

/* The FTS5 API of connection `db`, NULL when SQLite was built without FTS5. */
static fts5_api *fts5_api_of(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_pointer(stmt, 1, &api, "fts5_api_ptr", NULL);
    sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return api;
}

int sqlite_fts_register(sqlite3 *db)
{
    static fts5_tokenizer danish = {danish_create, danish_delete, danish_tokenize};
    fts5_api *api = fts5_api_of(db);
    if (api == NULL)
        return coi_error_set(COI_EUNAVAILABLE, NULL, "this SQLite has no FTS5");
    if (api->xCreateTokenizer(api, "danish", NULL, &danish, NULL) != SQLITE_OK ||
        api->xCreateFunction(api, "coi_rank", NULL, coi_rank, NULL) != SQLITE_OK)
        return coi_error_set(COI_EUNAVAILABLE, NULL, "cannot register the Danish text search: %s",
                             sqlite3_errmsg(db));
    return COI_OK;
}
