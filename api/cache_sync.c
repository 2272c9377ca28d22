/* The change-feed follower of the response cache. */
#include "api/cache_sync.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "api/cache.h"
#include "api/log.h"

/* Changes read per page. A reader that finds a full page is far behind (a batch import, a
 * busy minute): it clears the whole cache and goes on from the head instead of reading every
 * change to evict one case at a time, which cost a push of 100 000 cases a few percent of the
 * service's time in reading its own writes back. */
#define PAGE 256

static struct coi_storage *storage;
static int interval;
static pthread_t thread;
static int started;
static atomic_int active;
static int64_t last_seq; /* guarded by `reading` */
static int have_head;    /* guarded by `reading` */
static pthread_mutex_t reading = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t sleeping = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int stopping; /* guarded by `sleeping` */

static void go_inactive(const char *why)
{
    if (atomic_exchange(&active, 0))
        log_msg(LOG_WARN, "response cache off: %s", why);
    cache_clear();
}

/* One read of the feed up to its head. The lock keeps two readers (the thread and a request
 * that just wrote) from moving last_seq past what the other has not evicted yet. */
static void read_feed(void)
{
    pthread_mutex_lock(&reading);
    if (!have_head) {
        /* From now on: what came before is not in the (empty) cache. */
        int64_t head = 0;
        if (storage->change_head(storage, &head) != COI_OK) {
            pthread_mutex_unlock(&reading);
            go_inactive("the change feed cannot be read");
            return;
        }
        cache_clear();
        last_seq = head;
        have_head = 1;
    }
    for (;;) {
        struct coi_change_query q = {.see_all = 1, .after_seq = last_seq, .limit = PAGE};
        json_t *items = NULL, *item;
        int64_t next = last_seq;
        size_t i;
        if (storage->change_list(storage, &items, &next, &q) != COI_OK) {
            json_decref(items);
            /* Start again from the head once the feed answers: whatever happened meanwhile
             * is forgotten with the whole cache. */
            have_head = 0;
            pthread_mutex_unlock(&reading);
            go_inactive("the change feed cannot be read");
            return;
        }
        json_array_foreach(items, i, item)
        {
            const char *case_id = json_string_value(json_object_get(item, "case_id"));
            if (case_id != NULL)
                cache_evict_tag(case_id);
        }
        size_t n = json_array_size(items);
        json_decref(items);
        /* Any change may move a case into, out of or within a list or a facet count. */
        if (n > 0)
            cache_evict_tag("lists");
        if (next < last_seq) { /* the feed went back: another database behind the same URL */
            cache_clear();
            have_head = 0;
            break;
        }
        last_seq = next;
        if (n < PAGE)
            break;
        int64_t head = 0;
        if (storage->change_head(storage, &head) != COI_OK) {
            have_head = 0;
            pthread_mutex_unlock(&reading);
            go_inactive("the change feed cannot be read");
            return;
        }
        cache_clear();
        if (head > last_seq)
            last_seq = head;
        break;
    }
    pthread_mutex_unlock(&reading);
    if (!atomic_exchange(&active, 1))
        log_msg(LOG_INFO, "response cache on");
}

static void *run(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&sleeping);
    while (!stopping) {
        pthread_mutex_unlock(&sleeping);
        read_feed();
        pthread_mutex_lock(&sleeping);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(interval % 1000) * 1000000L;
        until.tv_sec += interval / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (!stopping && pthread_cond_timedwait(&wake, &sleeping, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&sleeping);
    return NULL;
}

int cache_sync_start(struct coi_storage *s, int interval_ms)
{
    storage = s;
    interval = interval_ms > 0 ? interval_ms : 100;
    if (s->change_head == NULL || s->change_list == NULL)
        return -1;
    if (pthread_create(&thread, NULL, run, NULL) != 0)
        return -1;
    started = 1;
    return 0;
}

void cache_sync_stop(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&sleeping);
    stopping = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&sleeping);
    pthread_join(thread, NULL);
    started = 0;
    atomic_store(&active, 0);
    cache_clear();
}

void cache_sync_now(void)
{
    if (started)
        read_feed();
}

int cache_sync_active(void)
{
    return atomic_load(&active);
}
