/* A bounded connection pool: lazily opened, mutex + condition variable, acquisition timeout. */
#include "storage/pool.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "storage/error.h"

int pool_init(struct pool *p, const struct pool_ops *ops, void *ctx, int size, int timeout_ms)
{
    p->idle = calloc((size_t)size, sizeof *p->idle);
    if (p->idle == NULL)
        return COI_ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->available, &attr);
    pthread_condattr_destroy(&attr);
    p->ops = *ops;
    p->ctx = ctx;
    p->idle_count = 0;
    p->size = size;
    p->open_count = 0;
    p->timeout_ms = timeout_ms;
    p->closed = 0;
    return COI_OK;
}

int pool_acquire(struct pool *p, void **out)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += p->timeout_ms / 1000;
    deadline.tv_nsec += (long)(p->timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->closed) {
            pthread_mutex_unlock(&p->lock);
            return coi_error_set(COI_EUNAVAILABLE, NULL, "storage is shutting down");
        }
        if (p->idle_count > 0) {
            void *conn = p->idle[--p->idle_count];
            pthread_mutex_unlock(&p->lock);
            if (p->ops.usable(conn, p->ctx)) {
                *out = conn;
                return COI_OK;
            }
            /* Stale (for example the server restarted): replace it outside the lock. */
            p->ops.close(conn, p->ctx);
            int rc = p->ops.open(out, p->ctx);
            if (rc != COI_OK) {
                pthread_mutex_lock(&p->lock);
                p->open_count--;
                pthread_cond_signal(&p->available);
                pthread_mutex_unlock(&p->lock);
            }
            return rc;
        }
        if (p->open_count < p->size) {
            p->open_count++;
            pthread_mutex_unlock(&p->lock);
            int rc = p->ops.open(out, p->ctx);
            if (rc != COI_OK) {
                pthread_mutex_lock(&p->lock);
                p->open_count--;
                pthread_cond_signal(&p->available);
                pthread_mutex_unlock(&p->lock);
            }
            return rc;
        }
        if (pthread_cond_timedwait(&p->available, &p->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->lock);
            return coi_error_set(COI_EUNAVAILABLE, NULL, "no database connection free within %d ms",
                                 p->timeout_ms);
        }
    }
}

void pool_release(struct pool *p, void *conn, int broken)
{
    if (broken) {
        p->ops.close(conn, p->ctx);
        pthread_mutex_lock(&p->lock);
        p->open_count--;
    } else {
        pthread_mutex_lock(&p->lock);
        p->idle[p->idle_count++] = conn;
    }
    pthread_cond_signal(&p->available);
    pthread_mutex_unlock(&p->lock);
}

void pool_destroy(struct pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->closed = 1;
    pthread_cond_broadcast(&p->available);
    while (p->idle_count > 0) {
        p->ops.close(p->idle[--p->idle_count], p->ctx);
        p->open_count--;
    }
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&p->available);
    pthread_mutex_destroy(&p->lock);
    free(p->idle);
}
