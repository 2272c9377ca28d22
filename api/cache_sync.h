/* Keeps the response cache (api/cache.h) in step with the database: a thread reads the change
 * feed every interval and evicts the entries of every case a change names (a case's own
 * changes, and those of its evaluations and adoptions, which show in its representation),
 * and every list and facet answer (tag "lists") when anything changed.
 * Changes made through any coi process sharing the database are seen within one interval.
 * When the feed cannot be read, the cache is emptied and stays off until it can again. */
#ifndef COI_CACHE_SYNC_H
#define COI_CACHE_SYNC_H

#include "storage/storage.h"

/* Starts the thread (the cache is off until the first read of the feed succeeds). Returns 0,
 * or -1 when the thread cannot start (the cache then stays off). */
int cache_sync_start(struct coi_storage *s, int interval_ms);
void cache_sync_stop(void);

/* Reads the feed now, in the calling thread: after a write, so that the next read through this
 * process sees it at once. */
void cache_sync_now(void);

/* 1 when the cache may be used (the feed was read successfully last time). */
int cache_sync_active(void);

#endif
