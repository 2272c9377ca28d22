/* Loads and checks the configuration; a bad value stops start-up with one line naming it. */
#include "api/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values read from the optional config file; the environment overrides them. */
struct file_values {
    char *keys[64];
    char *values[64];
    int count;
};

static const char *lookup(const struct file_values *f, const char *key)
{
    const char *v = getenv(key);
    if (v != NULL)
        return v;
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->keys[i], key) == 0)
            return f->values[i];
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static int read_file(struct file_values *f, const char *path, char *err, size_t err_len)
{
    FILE *fp = fopen(path, "r");
    char line[2048];
    int lineno = 0;

    if (fp == NULL) {
        snprintf(err, err_len, "COI_CONFIG: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        lineno++;
        char *s = trim(line), *eq;
        if (*s == '\0' || *s == '#')
            continue;
        if ((eq = strchr(s, '=')) == NULL || f->count == 64) {
            snprintf(err, err_len, "COI_CONFIG: %s:%d: expected KEY=VALUE", path, lineno);
            fclose(fp);
            return -1;
        }
        *eq = '\0';
        f->keys[f->count] = strdup(trim(s));
        f->values[f->count] = strdup(trim(eq + 1));
        f->count++;
    }
    fclose(fp);
    return 0;
}

static void free_file(struct file_values *f)
{
    for (int i = 0; i < f->count; i++) {
        free(f->keys[i]);
        free(f->values[i]);
    }
}

/* Parses an integer in [min, max]; -1 with a message naming `key` otherwise. */
static int parse_int(long long *out, const char *key, const char *v, long long min, long long max,
                     char *err, size_t err_len)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        snprintf(err, err_len, "%s: must be an integer from %lld to %lld (got \"%s\")", key, min,
                 max, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int copy_string(char *dst, size_t dst_len, const char *key, const char *v, char *err,
                       size_t err_len)
{
    if (strlen(v) >= dst_len) {
        snprintf(err, err_len, "%s: longer than %zu bytes", key, dst_len - 1);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* Accepts "HOST:PORT" with an IPv4 host or "[IPv6]:PORT". */
static int parse_listen(struct config *c, const char *v, char *err, size_t err_len)
{
    char host[128];
    const char *colon = strrchr(v, ':');
    long long port;

    if (colon == NULL || (size_t)(colon - v) >= sizeof host || colon == v)
        goto bad;
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = '\0';
    if (parse_int(&port, "COI_LISTEN", colon + 1, 1, 65535, err, err_len) != 0)
        goto bad;
    memset(&c->listen_addr, 0, sizeof c->listen_addr);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&c->listen_addr;
        host[strlen(host) - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            goto bad;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        c->listen_addr_len = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&c->listen_addr;
        if (strcmp(host, "localhost") == 0)
            strcpy(host, "127.0.0.1");
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            goto bad;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        c->listen_addr_len = sizeof *a4;
    }
    return copy_string(c->listen, sizeof c->listen, "COI_LISTEN", v, err, err_len);
bad:
    snprintf(err, err_len,
             "COI_LISTEN: expected HOST:PORT with an IP address, e.g. 127.0.0.1:8080 (got \"%s\")",
             v);
    return -1;
}

int config_load(struct config *out, char *err, size_t err_len)
{
    struct file_values f = {0};
    const char *v;
    long long n;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->max_body_bytes = 1024 * 1024;
    out->batch_max_body_bytes = 32 * 1024 * 1024;
    out->db_pool_size = 8;
    out->db_acquire_timeout_ms = 2000;
    out->db_statement_timeout_ms = 5000;
    out->shutdown_timeout_ms = 10000;
    out->cache_max_bytes = 32 * 1024 * 1024;
    out->cache_sync_ms = 100;
    out->log_level = LOG_INFO;
    strcpy(out->database, "sqlite:var/coi.db");

    if ((v = getenv("COI_CONFIG")) != NULL && read_file(&f, v, err, err_len) != 0)
        goto out;
    if (parse_listen(out, (v = lookup(&f, "COI_LISTEN")) ? v : "127.0.0.1:8080", err, err_len))
        goto out;
    if ((v = lookup(&f, "COI_DATABASE")) != NULL) {
        if (strncmp(v, "sqlite:", 7) != 0 && strncmp(v, "postgresql://", 13) != 0 &&
            strncmp(v, "postgres://", 11) != 0) {
            snprintf(err, err_len,
                     "COI_DATABASE: expected sqlite:PATH or a postgresql:// URL (got \"%.40s\")",
                     v);
            goto out;
        }
        if (strcmp(v, "sqlite:") == 0) {
            snprintf(err, err_len, "COI_DATABASE: sqlite: needs a file path");
            goto out;
        }
        if (copy_string(out->database, sizeof out->database, "COI_DATABASE", v, err, err_len))
            goto out;
    }
    if ((v = lookup(&f, "COI_JWT_SECRET")) != NULL) {
        if (strlen(v) < 32) {
            snprintf(err, err_len, "COI_JWT_SECRET: must be at least 32 bytes (got %zu)",
                     strlen(v));
            goto out;
        }
        if (copy_string(out->jwt_secret, sizeof out->jwt_secret, "COI_JWT_SECRET", v, err, err_len))
            goto out;
    }
    if ((v = lookup(&f, "COI_JWT_PUBLIC_KEY")) != NULL) {
        FILE *fp = fopen(v, "r");
        if (fp == NULL) {
            snprintf(err, err_len, "COI_JWT_PUBLIC_KEY: cannot read %s: %s", v, strerror(errno));
            goto out;
        }
        fclose(fp);
        if (copy_string(out->jwt_public_key_path, sizeof out->jwt_public_key_path,
                        "COI_JWT_PUBLIC_KEY", v, err, err_len))
            goto out;
    }
    if (out->jwt_secret[0] && out->jwt_public_key_path[0]) {
        snprintf(err, err_len, "COI_JWT_SECRET: set either it or COI_JWT_PUBLIC_KEY, not both");
        goto out;
    }
    if ((v = lookup(&f, "COI_JWT_ISSUER")) != NULL &&
        copy_string(out->jwt_issuer, sizeof out->jwt_issuer, "COI_JWT_ISSUER", v, err, err_len))
        goto out;
    if ((v = lookup(&f, "COI_JWT_AUDIENCE")) != NULL &&
        copy_string(out->jwt_audience, sizeof out->jwt_audience, "COI_JWT_AUDIENCE", v, err,
                    err_len))
        goto out;
    if ((v = lookup(&f, "COI_MAX_BODY_BYTES")) != NULL) {
        if (parse_int(&n, "COI_MAX_BODY_BYTES", v, 1, 1LL << 30, err, err_len))
            goto out;
        out->max_body_bytes = (size_t)n;
    }
    if ((v = lookup(&f, "COI_BATCH_MAX_BODY_BYTES")) != NULL) {
        if (parse_int(&n, "COI_BATCH_MAX_BODY_BYTES", v, 1, 1LL << 30, err, err_len))
            goto out;
        out->batch_max_body_bytes = (size_t)n;
    }
    if ((v = lookup(&f, "COI_DB_POOL_SIZE")) != NULL) {
        if (parse_int(&n, "COI_DB_POOL_SIZE", v, 1, 256, err, err_len))
            goto out;
        out->db_pool_size = (int)n;
    }
    if ((v = lookup(&f, "COI_DB_ACQUIRE_TIMEOUT_MS")) != NULL) {
        if (parse_int(&n, "COI_DB_ACQUIRE_TIMEOUT_MS", v, 1, 600000, err, err_len))
            goto out;
        out->db_acquire_timeout_ms = (int)n;
    }
    if ((v = lookup(&f, "COI_DB_STATEMENT_TIMEOUT_MS")) != NULL) {
        if (parse_int(&n, "COI_DB_STATEMENT_TIMEOUT_MS", v, 1, 3600000, err, err_len))
            goto out;
        out->db_statement_timeout_ms = (int)n;
    }
    if ((v = lookup(&f, "COI_SHUTDOWN_TIMEOUT_MS")) != NULL) {
        if (parse_int(&n, "COI_SHUTDOWN_TIMEOUT_MS", v, 0, 600000, err, err_len))
            goto out;
        out->shutdown_timeout_ms = (int)n;
    }
    if ((v = lookup(&f, "COI_HTTP_THREADS")) != NULL) {
        if (parse_int(&n, "COI_HTTP_THREADS", v, 0, 1024, err, err_len))
            goto out;
        out->http_threads = (int)n;
    }
    if ((v = lookup(&f, "COI_CACHE_MAX_BYTES")) != NULL) {
        if (parse_int(&n, "COI_CACHE_MAX_BYTES", v, 0, 1LL << 34, err, err_len))
            goto out;
        out->cache_max_bytes = (size_t)n;
    }
    /* At most a second: a change made through another process shows within one interval. */
    if ((v = lookup(&f, "COI_CACHE_SYNC_MS")) != NULL) {
        if (parse_int(&n, "COI_CACHE_SYNC_MS", v, 10, 1000, err, err_len))
            goto out;
        out->cache_sync_ms = (int)n;
    }
    if ((v = lookup(&f, "COI_LOG_LEVEL")) != NULL) {
        static const char *names[] = {"debug", "info", "warn", "error"};
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(v, names[i]) == 0)
                found = i;
        if (found < 0) {
            snprintf(err, err_len,
                     "COI_LOG_LEVEL: expected debug, info, warn or error (got \"%s\")", v);
            goto out;
        }
        out->log_level = (enum log_level)found;
    }
    rc = 0;
out:
    free_file(&f);
    return rc;
}
