/* Text search expressions: parsed once from ?q=, rendered for PostgreSQL and for SQLite. */
#include "storage/search.h"

#include <stdlib.h>
#include <string.h>

#include "storage/error.h"

static int is_word_byte(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch >= 0x80;
}

/* Adds the word q[start..end) to `t`. */
static int add_word(struct coi_search_term *t, const char *start, const char *end)
{
    if (t->n_words == SEARCH_MAX_WORDS)
        return coi_error_set(COI_EINVALID, "q", "a phrase has more than %d words",
                             SEARCH_MAX_WORDS);
    char *w = strndup(start, (size_t)(end - start));
    if (w == NULL)
        return COI_ENOMEM;
    for (char *p = w; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    t->words[t->n_words++] = w;
    return COI_OK;
}

void storage_search_free(struct coi_search *s)
{
    for (size_t i = 0; i < s->n_terms; i++)
        for (size_t j = 0; j < s->terms[i].n_words; j++)
            free(s->terms[i].words[j]);
    s->n_terms = 0;
}

int storage_search_parse(struct coi_search *out, const char *q)
{
    const char *p = q;
    int rc = COI_OK;

    memset(out, 0, sizeof *out);
    if (strlen(q) > SEARCH_MAX_QUERY)
        return coi_error_set(COI_EINVALID, "q", "the search is longer than %d bytes",
                             SEARCH_MAX_QUERY);
    while (*p != '\0') {
        if (*p == '"') {
            /* A phrase: the words up to the closing quote (or the end). */
            struct coi_search_term t = {0};
            const char *end = strchr(p + 1, '"');
            if (end == NULL)
                end = p + strlen(p);
            for (const char *w = p + 1; w < end;) {
                while (w < end && !is_word_byte((unsigned char)*w))
                    w++;
                const char *s = w;
                while (w < end && is_word_byte((unsigned char)*w))
                    w++;
                if (w > s && (rc = add_word(&t, s, w)) != COI_OK)
                    break;
            }
            int added = 0;
            if (rc == COI_OK && t.n_words > 0) {
                if (out->n_terms == SEARCH_MAX_TERMS)
                    rc = coi_error_set(COI_EINVALID, "q", "the search has more than %d terms",
                                       SEARCH_MAX_TERMS);
                else
                    out->terms[out->n_terms++] = t, added = 1;
            }
            if (!added)
                for (size_t j = 0; j < t.n_words; j++)
                    free(t.words[j]);
            if (rc != COI_OK)
                goto fail;
            p = *end ? end + 1 : end;
        } else if (is_word_byte((unsigned char)*p)) {
            struct coi_search_term t = {0};
            const char *s = p;
            while (is_word_byte((unsigned char)*p))
                p++;
            if ((rc = add_word(&t, s, p)) != COI_OK)
                goto fail;
            if (*p == '*') {
                t.prefix = 1;
                p++;
            }
            if (out->n_terms == SEARCH_MAX_TERMS) {
                free(t.words[0]);
                rc = coi_error_set(COI_EINVALID, "q", "the search has more than %d terms",
                                   SEARCH_MAX_TERMS);
                goto fail;
            }
            out->terms[out->n_terms++] = t;
        } else {
            p++;
        }
    }
    if (out->n_terms == 0)
        return coi_error_set(COI_EINVALID, "q", "the search has no word to look for");
    return COI_OK;
fail:
    storage_search_free(out);
    return rc;
}

/* A growing string. */
struct buf {
    char *s;
    size_t len, cap;
};

static void put(struct buf *b, const char *text)
{
    size_t n = strlen(text);
    if (b->s == NULL && b->cap == (size_t)-1)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            free(b->s);
            b->s = NULL;
            b->cap = (size_t)-1; /* out of memory: the result is NULL */
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

char *storage_search_tsquery(const struct coi_search *s)
{
    struct buf b = {0};
    for (size_t i = 0; i < s->n_terms; i++) {
        const struct coi_search_term *t = &s->terms[i];
        put(&b, i ? " & (" : "(");
        for (size_t j = 0; j < t->n_words; j++) {
            put(&b, j ? " <-> '" : "'");
            put(&b, t->words[j]); /* letters and digits only: nothing to escape */
            put(&b, "'");
        }
        if (t->prefix)
            put(&b, ":*");
        put(&b, ")");
    }
    return b.s;
}

char *storage_search_fts5(const struct coi_search *s)
{
    struct buf b = {0};
    for (size_t i = 0; i < s->n_terms; i++) {
        const struct coi_search_term *t = &s->terms[i];
        put(&b, i ? " AND " : "");
        for (size_t j = 0; j < t->n_words; j++) {
            put(&b, j ? " + \"" : "\"");
            put(&b, t->words[j]);
            put(&b, "\"");
        }
        if (t->prefix)
            put(&b, "*");
    }
    return b.s;
}
