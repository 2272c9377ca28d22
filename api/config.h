/* Service configuration: defaults, then an optional file (COI_CONFIG), then the environment. */
#ifndef COI_CONFIG_H
#define COI_CONFIG_H

#include <stddef.h>
#include <sys/socket.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

struct config {
    char listen[128]; /* COI_LISTEN as given, e.g. "127.0.0.1:8080" */
    struct sockaddr_storage listen_addr;
    socklen_t listen_addr_len;
    char database[1024];           /* COI_DATABASE: sqlite:PATH or postgresql://... */
    char jwt_secret[512];          /* COI_JWT_SECRET (HS256), "" when unset */
    char jwt_public_key_path[512]; /* COI_JWT_PUBLIC_KEY (RS256/ES256), "" when unset */
    char jwt_issuer[256];          /* COI_JWT_ISSUER, "" when unset */
    char jwt_audience[256];        /* COI_JWT_AUDIENCE, "" when unset */
    size_t max_body_bytes;         /* COI_MAX_BODY_BYTES, default 1 MiB */
    size_t batch_max_body_bytes;   /* COI_BATCH_MAX_BODY_BYTES (batch routes), default 32 MiB */
    int db_pool_size;              /* COI_DB_POOL_SIZE, default 8 */
    int db_acquire_timeout_ms;     /* COI_DB_ACQUIRE_TIMEOUT_MS, default 2000 */
    int db_statement_timeout_ms;   /* COI_DB_STATEMENT_TIMEOUT_MS, default 5000 */
    int shutdown_timeout_ms;       /* COI_SHUTDOWN_TIMEOUT_MS, default 10000 */
    size_t cache_max_bytes;        /* COI_CACHE_MAX_BYTES, default 32 MiB, 0: no cache */
    int http_threads;              /* COI_HTTP_THREADS, 0: a thread per connection */
    int cache_sync_ms;             /* COI_CACHE_SYNC_MS, default 100 (10..1000) */
    enum log_level log_level;      /* COI_LOG_LEVEL: debug, info, warn, error */
};

/* Fills `out` from defaults, the file named by COI_CONFIG (KEY=VALUE lines, # comments) and
 * the environment, then checks every value. On a bad value returns -1 and writes one line
 * naming the variable into `err`. */
int config_load(struct config *out, char *err, size_t err_len);

#endif
