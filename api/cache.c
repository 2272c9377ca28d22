/* The response cache: shards chosen by tag, each a hash table with an LRU list under a mutex. */
#include "api/cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHARDS 16
#define BUCKETS 1024 /* per shard; chains stay short for tens of thousands of entries */

/* A key whose answer one request is computing (see cache_lookup). */
struct pending {
    char *key;
    struct pending *next;
};

struct shard {
    pthread_mutex_t lock;
    pthread_cond_t filled; /* broadcast when a pending key is put or given up */
    struct cache_entry *buckets[BUCKETS];
    struct cache_entry *oldest, *newest;
    size_t bytes, entries;
    struct pending *pending;
};

static struct shard shards[SHARDS];
static size_t shard_limit; /* bytes per shard; 0: disabled */
static atomic_uint_fast64_t generation = 1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_locks(void)
{
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&shards[i].lock, NULL);
        pthread_cond_init(&shards[i].filled, NULL);
    }
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* What an entry costs against the bound: its strings and its bookkeeping. */
static size_t cost(const struct cache_entry *e)
{
    return sizeof *e + strlen(e->key) + strlen(e->tag) + e->length + 3 +
           (e->link ? strlen(e->link) + 1 : 0);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void entry_free(struct cache_entry *e)
{
    free(e->key);
    free(e->tag);
    free(e->body);
    free(e->link);
    free(e);
}

static void unref(struct cache_entry *e)
{
    if (--e->refs == 0)
        entry_free(e);
}

void cache_configure(size_t max_bytes)
{
    pthread_once(&once, init_locks);
    cache_clear();
    shard_limit = max_bytes / SHARDS;
}

uint64_t cache_generation(void)
{
    return atomic_load(&generation);
}

/* Unlinks `e` from its shard (hash chain and LRU list) and drops the shard's reference.
 * The shard is locked. */
static void unlink_entry(struct shard *sh, struct cache_entry *e)
{
    struct cache_entry **p = &sh->buckets[fnv(e->key) % BUCKETS];
    while (*p != e)
        p = &(*p)->next;
    *p = e->next;
    if (e->older)
        e->older->newer = e->newer;
    else
        sh->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        sh->newest = e->older;
    sh->bytes -= cost(e);
    sh->entries--;
    unref(e);
}

static struct cache_entry *find(struct shard *sh, const char *key)
{
    struct cache_entry *e = sh->buckets[fnv(key) % BUCKETS];
    while (e != NULL && strcmp(e->key, key) != 0)
        e = e->next;
    return e;
}

/* Keys carry their tag first ("<tag>|..."), so a key alone names its shard. */
static struct shard *shard_of_tag(const char *tag)
{
    return &shards[fnv(tag) % SHARDS];
}

static struct shard *shard_of_key(const char *key)
{
    size_t n = strcspn(key, "|");
    char tag[256];
    if (n >= sizeof tag)
        n = sizeof tag - 1;
    memcpy(tag, key, n);
    tag[n] = '\0';
    return shard_of_tag(tag);
}

/* The live entry of `key` with a new reference, or NULL. The shard is locked. */
static struct cache_entry *take(struct shard *sh, const char *key)
{
    struct cache_entry *e;
    if ((e = find(sh, key)) != NULL && e->expires_ms != 0 && now_ms() >= e->expires_ms) {
        unlink_entry(sh, e);
        e = NULL;
    }
    if (e != NULL) {
        e->refs++;
        if (sh->newest != e) { /* move to the newest end */
            if (e->older)
                e->older->newer = e->newer;
            else
                sh->oldest = e->newer;
            e->newer->older = e->older;
            e->older = sh->newest;
            e->newer = NULL;
            sh->newest->newer = e;
            sh->newest = e;
        }
    }
    return e;
}

struct cache_entry *cache_get(const char *key)
{
    struct shard *sh;
    struct cache_entry *e;

    if (shard_limit == 0)
        return NULL;
    sh = shard_of_key(key);
    pthread_mutex_lock(&sh->lock);
    e = take(sh, key);
    pthread_mutex_unlock(&sh->lock);
    return e;
}

static struct pending **pending_of(struct shard *sh, const char *key)
{
    struct pending **p = &sh->pending;
    while (*p != NULL && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

struct cache_entry *cache_lookup(const char *key, int wait_ms, int *claimed)
{
    struct shard *sh;
    struct cache_entry *e;
    struct timespec until;

    *claimed = 0;
    if (shard_limit == 0)
        return NULL;
    sh = shard_of_key(key);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    until.tv_sec += wait_ms / 1000 + until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&sh->lock);
    for (;;) {
        if ((e = take(sh, key)) != NULL)
            break;
        if (*pending_of(sh, key) == NULL) {
            struct pending *p = malloc(sizeof *p);
            if (p != NULL && (p->key = strdup(key)) != NULL) {
                p->next = sh->pending;
                sh->pending = p;
                *claimed = 1;
            } else
                free(p);
            break;
        }
        if (pthread_cond_timedwait(&sh->filled, &sh->lock, &until) != 0)
            break; /* waited long enough: compute it without the cache */
    }
    pthread_mutex_unlock(&sh->lock);
    return e;
}

void cache_unclaim(const char *key)
{
    struct shard *sh = shard_of_key(key);
    pthread_mutex_lock(&sh->lock);
    struct pending **p = pending_of(sh, key);
    if (*p != NULL) {
        struct pending *gone = *p;
        *p = gone->next;
        free(gone->key);
        free(gone);
        pthread_cond_broadcast(&sh->filled);
    }
    pthread_mutex_unlock(&sh->lock);
}

void cache_release(struct cache_entry *e)
{
    if (e == NULL)
        return;
    struct shard *sh = shard_of_key(e->key);
    pthread_mutex_lock(&sh->lock);
    unref(e);
    pthread_mutex_unlock(&sh->lock);
}

int cache_put(const char *key, const char *tag, const char *body, size_t length,
              const struct cache_meta *meta, uint64_t gen)
{
    struct cache_entry *e, *old;
    struct shard *sh;
    size_t n = strcspn(key, "|");
    const char *etag = meta->etag ? meta->etag : "";

    /* The key must start with its tag (see shard_of_key). */
    if (shard_limit == 0 || n != strlen(tag) || strncmp(key, tag, n) != 0 || n >= 256 ||
        strlen(etag) >= sizeof e->etag)
        return 0;
    if ((e = calloc(1, sizeof *e)) == NULL)
        return 0;
    e->key = strdup(key);
    e->tag = strdup(tag);
    e->body = malloc(length + 1);
    e->link = meta->link ? strdup(meta->link) : NULL;
    if (e->key == NULL || e->tag == NULL || e->body == NULL || (meta->link && e->link == NULL)) {
        entry_free(e);
        return 0;
    }
    memcpy(e->body, body, length);
    e->body[length] = '\0';
    e->length = length;
    strcpy(e->etag, etag);
    snprintf(e->owner, sizeof e->owner, "%s", meta->owner ? meta->owner : "");
    e->expires_ms = meta->ttl_ms > 0 ? now_ms() + meta->ttl_ms : 0;
    e->refs = 1;
    if (cost(e) > shard_limit / 8) {
        entry_free(e);
        return 0;
    }
    sh = shard_of_tag(tag);
    pthread_mutex_lock(&sh->lock);
    /* Checked under the lock: an eviction of this tag takes the same lock after bumping. */
    if (atomic_load(&generation) != gen) {
        pthread_mutex_unlock(&sh->lock);
        entry_free(e);
        return 0;
    }
    if ((old = find(sh, key)) != NULL)
        unlink_entry(sh, old);
    struct cache_entry **bucket = &sh->buckets[fnv(key) % BUCKETS];
    e->next = *bucket;
    *bucket = e;
    e->older = sh->newest;
    if (sh->newest)
        sh->newest->newer = e;
    else
        sh->oldest = e;
    sh->newest = e;
    sh->bytes += cost(e);
    sh->entries++;
    while (sh->bytes > shard_limit && sh->oldest != NULL)
        unlink_entry(sh, sh->oldest);
    pthread_mutex_unlock(&sh->lock);
    return 1;
}

void cache_evict_tag(const char *tag)
{
    struct shard *sh = shard_of_tag(tag);
    pthread_mutex_lock(&sh->lock);
    /* Bumped under the lock, so a put that checked the old generation has finished, and its
     * entry is dropped here; a later put sees the new generation and refuses. */
    atomic_fetch_add(&generation, 1);
    for (struct cache_entry *e = sh->oldest, *next; e != NULL; e = next) {
        next = e->newer;
        if (strcmp(e->tag, tag) == 0)
            unlink_entry(sh, e);
    }
    pthread_mutex_unlock(&sh->lock);
}

void cache_clear(void)
{
    pthread_once(&once, init_locks);
    for (int i = 0; i < SHARDS; i++) {
        struct shard *sh = &shards[i];
        pthread_mutex_lock(&sh->lock);
        atomic_fetch_add(&generation, 1);
        while (sh->oldest != NULL)
            unlink_entry(sh, sh->oldest);
        pthread_mutex_unlock(&sh->lock);
    }
}

void cache_stats(size_t *entries, size_t *bytes)
{
    *entries = 0;
    *bytes = 0;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&shards[i].lock);
        *entries += shards[i].entries;
        *bytes += shards[i].bytes;
        pthread_mutex_unlock(&shards[i].lock);
    }
}
