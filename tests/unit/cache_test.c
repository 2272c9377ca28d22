/* The response cache: hits, the generation rule, eviction by tag, the byte bound, threads. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/cache.h"
#include "tests/unit/test.h"

static int stored(const char *key)
{
    struct cache_entry *e = cache_get(key);
    cache_release(e);
    return e != NULL;
}

TEST(cache_returns_what_was_put_until_its_tag_is_evicted)
{
    cache_configure(1 << 20);
    uint64_t g = cache_generation();
    CHECK_INT(
        cache_put("c1|public", "c1", "{\"id\":1}", 8, &(struct cache_meta){.etag = "\"abc\""}, g),
        1);
    CHECK_INT(cache_put("c1|all", "c1", "{\"id\":1,\"x\":2}", 14,
                        &(struct cache_meta){.etag = "\"def\""}, g),
              1);
    CHECK_INT(cache_put("c2|public", "c2", "{}", 2, &(struct cache_meta){.etag = "\"x\""}, g), 1);
    struct cache_entry *e = cache_get("c1|public");
    CHECK(e != NULL);
    if (e != NULL) {
        CHECK_STR(e->body, "{\"id\":1}");
        CHECK_INT(e->length, 8);
        CHECK_STR(e->etag, "\"abc\"");
    }
    cache_evict_tag("c1");
    /* A holder keeps its entry readable after the eviction. */
    if (e != NULL)
        CHECK_STR(e->body, "{\"id\":1}");
    cache_release(e);
    CHECK_INT(stored("c1|public"), 0);
    CHECK_INT(stored("c1|all"), 0);
    CHECK_INT(stored("c2|public"), 1);
    cache_configure(0);
}

TEST(cache_refuses_a_put_read_before_an_eviction)
{
    cache_configure(1 << 20);
    uint64_t before = cache_generation();
    cache_evict_tag("other"); /* any change seen between the read and the put */
    CHECK_INT(cache_put("c1|public", "c1", "old", 3, &(struct cache_meta){.etag = "\"o\""}, before),
              0);
    CHECK_INT(stored("c1|public"), 0);
    CHECK_INT(cache_put("c1|public", "c1", "new", 3, &(struct cache_meta){.etag = "\"n\""},
                        cache_generation()),
              1);
    CHECK_INT(stored("c1|public"), 1);
    cache_configure(0);
}

TEST(cache_stays_within_its_bound_dropping_the_least_recently_used)
{
    char key[32], tag[16], body[1024];
    size_t entries, bytes;
    memset(body, 'x', sizeof body);
    cache_configure(256 * 1024); /* 16 KiB per shard */
    for (int i = 0; i < 2000; i++) {
        snprintf(tag, sizeof tag, "c%d", i);
        snprintf(key, sizeof key, "c%d|public", i);
        cache_put(key, tag, body, sizeof body, &(struct cache_meta){.etag = "\"e\""},
                  cache_generation());
    }
    cache_stats(&entries, &bytes);
    CHECK(bytes <= 256 * 1024);
    CHECK(entries > 100);
    CHECK_INT(stored("c1999|public"), 1); /* the newest stay */
    CHECK_INT(stored("c0|public"), 0);
    /* An entry larger than an eighth of its shard is not kept at all. */
    static char big[4096];
    CHECK_INT(cache_put("c5000|public", "c5000", big, sizeof big,
                        &(struct cache_meta){.etag = "\"b\""}, cache_generation()),
              0);
    cache_configure(0);
    CHECK_INT(cache_put("c1|public", "c1", "x", 1, &(struct cache_meta){.etag = "\"x\""},
                        cache_generation()),
              0);
    CHECK(cache_get("c1|public") == NULL);
}

TEST(cache_refuses_a_key_that_does_not_start_with_its_tag)
{
    cache_configure(1 << 20);
    CHECK_INT(cache_put("c1|public", "c2", "x", 1, &(struct cache_meta){.etag = "\"x\""},
                        cache_generation()),
              0);
    CHECK_INT(cache_put("c1public", "c1", "x", 1, &(struct cache_meta){.etag = "\"x\""},
                        cache_generation()),
              0);
    cache_configure(0);
}

static void *hammer(void *arg)
{
    int t = *(int *)arg;
    char key[32], tag[16];
    for (int i = 0; i < 20000; i++) {
        int n = (i * 7 + t) % 50;
        snprintf(tag, sizeof tag, "c%d", n);
        snprintf(key, sizeof key, "c%d|public", n);
        if (i % 5 == 0)
            cache_evict_tag(tag);
        else if (i % 2 == 0)
            cache_put(key, tag, "body", 4, &(struct cache_meta){.etag = "\"e\""},
                      cache_generation());
        else
            cache_release(cache_get(key));
    }
    return NULL;
}

TEST(cache_survives_concurrent_readers_writers_and_evictions)
{
    pthread_t threads[4];
    int ids[4] = {0, 1, 2, 3};
    cache_configure(64 * 1024);
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, hammer, &ids[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    size_t entries, bytes;
    cache_stats(&entries, &bytes);
    CHECK(bytes <= 64 * 1024);
    cache_configure(0);
    cache_stats(&entries, &bytes);
    CHECK_INT(entries, 0);
    CHECK_INT(bytes, 0);
}

TEST(cache_forgets_an_entry_after_its_time_and_keeps_its_link)
{
    cache_configure(1 << 20);
    struct cache_meta meta = {.link = "</v1/cases?cursor=x>; rel=\"next\"", .ttl_ms = 50};
    CHECK_INT(cache_put("lists|a", "lists", "[]", 2, &meta, cache_generation()), 1);
    struct cache_entry *e = cache_get("lists|a");
    CHECK(e != NULL);
    if (e != NULL) {
        CHECK_STR(e->link, meta.link);
        CHECK_STR(e->etag, "");
    }
    cache_release(e);
    struct timespec pause = {0, 80 * 1000000L};
    nanosleep(&pause, NULL);
    CHECK_INT(stored("lists|a"), 0);
    cache_configure(0);
}

static void *late_filler(void *arg)
{
    (void)arg;
    struct timespec pause = {0, 50 * 1000000L};
    nanosleep(&pause, NULL);
    cache_put("c9|public", "c9", "filled", 6, &(struct cache_meta){.etag = "\"f\""},
              cache_generation());
    cache_unclaim("c9|public");
    return NULL;
}

TEST(cache_lookup_lets_one_caller_compute_while_the_others_wait)
{
    int claimed = -1;
    cache_configure(1 << 20);
    CHECK(cache_lookup("c9|public", 100, &claimed) == NULL);
    CHECK_INT(claimed, 1); /* the first one computes */
    pthread_t t;
    pthread_create(&t, NULL, late_filler, NULL);
    int second = -1;
    struct cache_entry *e = cache_lookup("c9|public", 2000, &second);
    CHECK(e != NULL); /* the second waited for it */
    CHECK_INT(second, 0);
    if (e != NULL)
        CHECK_STR(e->body, "filled");
    cache_release(e);
    pthread_join(t, NULL);

    /* A claim given up without an answer lets the next caller compute it. */
    CHECK(cache_lookup("c8|public", 100, &claimed) == NULL);
    CHECK_INT(claimed, 1);
    cache_unclaim("c8|public");
    CHECK(cache_lookup("c8|public", 100, &claimed) == NULL);
    CHECK_INT(claimed, 1);
    /* ... and one who waits too long computes it without the cache. */
    int third = -1;
    CHECK(cache_lookup("c8|public", 30, &third) == NULL);
    CHECK_INT(third, 0);
    cache_unclaim("c8|public");
    cache_configure(0);
}
