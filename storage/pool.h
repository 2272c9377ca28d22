/* A bounded pool of database connections shared by the backends (mutex + condition variable). */
#ifndef COI_STORAGE_POOL_H
#define COI_STORAGE_POOL_H

#include <pthread.h>

/* How a backend opens, checks and closes one connection. `open` returns COI_OK and sets *out,
 * or COI_EUNAVAILABLE when the database cannot be reached. `usable` returns 1 when a connection
 * taken from the pool may be handed out as is (0: the pool closes it and opens a new one). */
struct pool_ops {
    int (*open)(void **out, void *ctx);
    int (*usable)(void *conn, void *ctx);
    void (*close)(void *conn, void *ctx);
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t available;
    struct pool_ops ops;
    void *ctx;
    void **idle; /* idle connections, a stack of up to `size` */
    int idle_count;
    int size; /* bound on open connections */
    int open_count;
    int timeout_ms;
    int closed;
};

/* Sets up an empty pool (connections open lazily). COI_OK or COI_ENOMEM. */
int pool_init(struct pool *p, const struct pool_ops *ops, void *ctx, int size, int timeout_ms);

/* Takes a connection, waiting up to timeout_ms for one to come free. COI_EUNAVAILABLE (with a
 * detail saying why) on timeout or when a new connection cannot be opened. The connection
 * belongs to the caller until pool_release. */
int pool_acquire(struct pool *p, void **out);

/* Gives a connection back. `broken` = 1 closes it instead (after a connection failure or when
 * it is not in a clean state), freeing its slot. */
void pool_release(struct pool *p, void *conn, int broken);

/* Closes idle connections and frees the pool; every connection must have been released. */
void pool_destroy(struct pool *p);

#endif
