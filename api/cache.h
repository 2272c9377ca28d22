/* An in-memory cache of finished responses (body and ETag), bounded in bytes, invalidated by
 * the change feed (api/cache_sync.c) so that several coi processes sharing one database never
 * serve a response older than the last change they have read.
 *
 * Correctness rests on the generation: every invalidation bumps it. A reader takes
 * cache_generation() BEFORE it reads the database, and cache_put refuses the entry when the
 * generation has moved since, because an invalidation may have come between the read and the
 * put (the read may predate the change that invalidated it). */
#ifndef COI_CACHE_H
#define COI_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* One cached response; read-only for its holders, freed when the last one lets go. */
struct cache_entry {
    char *key;
    char *tag;  /* what the owner groups entries by (e.g. the case id), for cache_evict_tag */
    char *body; /* NUL-terminated */
    size_t length;
    char etag[40];  /* "" when the response has none */
    char *link;     /* the Link header to send again, or NULL */
    char owner[40]; /* what the owner of the entry says about it (e.g. a case's lead), or "" */
    long long expires_ms;     /* CLOCK_MONOTONIC ms after which the entry is not used; 0: never */
    int refs;                 /* guarded by the shard's lock */
    struct cache_entry *next; /* hash chain */
    struct cache_entry *older, *newer; /* the shard's LRU list */
};

/* Sets the byte bound (0 disables the cache: every get misses, every put is refused). Call
 * once before the server starts; the cache starts empty. */
void cache_configure(size_t max_bytes);

/* The current generation (see above). */
uint64_t cache_generation(void);

/* The entry for `key` with a reference the caller must give back with cache_release, or NULL. */
struct cache_entry *cache_get(const char *key);

/* cache_get that lets one request compute a missing answer while the others for the same key
 * wait for it, up to `wait_ms` (a crowd arriving at an empty or just emptied entry asks the
 * database once). On a miss, *claimed is 1 when this caller is the one to compute it: it then
 * calls cache_unclaim(key) after its cache_put (or instead of it, on failure), which wakes the
 * waiters. A waiter that times out gets NULL with *claimed 0 and computes it itself. */
struct cache_entry *cache_lookup(const char *key, int wait_ms, int *claimed);
void cache_unclaim(const char *key);
void cache_release(struct cache_entry *e);

/* What a response is stored with besides its body. */
struct cache_meta {
    const char *etag;  /* NULL: none */
    const char *link;  /* NULL: none */
    int ttl_ms;        /* 0: until evicted */
    const char *owner; /* NULL: none */
};

/* Stores a response under `key` unless the generation differs from `generation` (taken before
 * the data was read) or the entry alone exceeds an eighth of the bound. Replaces an entry of
 * the same key. Evicts the least recently used entries of the shard to stay within the bound.
 * Returns 1 when stored. */
int cache_put(const char *key, const char *tag, const char *body, size_t length,
              const struct cache_meta *meta, uint64_t generation);

/* Drops every entry whose tag is `tag`, and bumps the generation. */
void cache_evict_tag(const char *tag);

/* Drops everything, and bumps the generation. */
void cache_clear(void);

/* Entries and bytes held now (for tests and the benchmark). */
void cache_stats(size_t *entries, size_t *bytes);

#endif
