/* Text search expressions: what a user types in ?q= parsed once, rendered by each backend in
 * its own query language (PostgreSQL tsquery, SQLite FTS5 MATCH). */
#ifndef COI_SEARCH_H
#define COI_SEARCH_H

#include <stddef.h>

#define SEARCH_MAX_TERMS 16
#define SEARCH_MAX_WORDS 16  /* per phrase */
#define SEARCH_MAX_QUERY 500 /* bytes of q */

/* One term: a word, or a phrase of words in order ("hjemme pleje"); `prefix` (word*) makes
 * the last word match any word it begins. Words are runs of letters and digits (any
 * non-ASCII UTF-8 counts as a letter), lowercased for ASCII; all other characters separate
 * words and carry no meaning, so no operator of either backend can be injected. */
struct coi_search_term {
    char *words[SEARCH_MAX_WORDS];
    size_t n_words;
    int prefix;
};

struct coi_search {
    struct coi_search_term terms[SEARCH_MAX_TERMS];
    size_t n_terms;
};

/* Parses `q` (valid UTF-8): words, "quoted phrases" and word* prefixes, all of which must
 * match. COI_OK, or COI_EINVALID (field "q") when it is too long, has no word, or has too many
 * terms or words. Free with storage_search_free. */
int storage_search_parse(struct coi_search *out, const char *q);
void storage_search_free(struct coi_search *s);

/* The expression in PostgreSQL to_tsquery syntax (for to_tsquery('danish', $n)):
 * terms joined by &, phrases with <->, prefixes as word:*, every word single-quoted.
 * Caller frees. */
char *storage_search_tsquery(const struct coi_search *s);

/* The expression in SQLite FTS5 syntax: terms joined by AND, each word double-quoted, phrases
 * as "a" + "b", prefixes as "word"*. Caller frees. */
char *storage_search_fts5(const struct coi_search *s);

#endif
