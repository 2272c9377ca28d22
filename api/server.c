/* The HTTP server: ulfius on libmicrohttpd, with a front door that answers 413 to an oversized
 * Content-Length before the body is read, and a drain on shutdown. */
#include "api/server.h"

#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ulfius.h>
#include <unistd.h>

#include "api/dispatch.h"
#include "api/log.h"
#include "api/problem.h"

/* ulfius hands its own dispatcher to MHD_start_daemon and offers no hook that runs before the
 * body is read. This program therefore defines MHD_start_daemon itself (the dynamic linker
 * prefers the executable's definition), keeps ulfius' dispatcher, and installs front_door in
 * its place; front_door looks at the headers first and then hands every call to ulfius. */
static MHD_AccessHandlerCallback ulfius_dispatcher;
static void *ulfius_dispatcher_cls;
static const struct config *front_door_cfg;
static atomic_int in_flight;

static enum MHD_Result front_door(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls);

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    va_list ap;
    va_start(ap, dh_cls);
    ulfius_dispatcher = dh;
    ulfius_dispatcher_cls = dh_cls;
    struct MHD_Daemon *d = MHD_start_daemon_va(flags, port, apc, apc_cls, front_door, NULL, ap);
    va_end(ap);
    return d;
}

/* Answers 413 problem+json directly through MHD (the request never reaches ulfius). */
static enum MHD_Result refuse_too_large(struct MHD_Connection *conn, const char *method,
                                        const char *url, size_t limit)
{
    char request_id[132], detail[96];
    const char *client = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    api_request_id(request_id, sizeof request_id, client);
    snprintf(detail, sizeof detail, "the request body exceeds %zu bytes", limit);
    json_t *p = problem_body(413, detail, url, request_id);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (text == NULL)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/problem+json");
    MHD_add_response_header(r, "X-Request-Id", request_id);
    MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(conn, 413, r);
    MHD_destroy_response(r);
    api_log_access(request_id, method, url, 413, 0.0, NULL);
    return ret;
}

/* Counts the request in flight and refuses an oversized Content-Length before any of the body
 * is read; everything else goes to ulfius unchanged. */
static enum MHD_Result front_door(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    struct connection_info_struct *ci = *con_cls;
    if (ci != NULL && ci->callback_first_iteration) {
        atomic_fetch_add(&in_flight, 1);
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (length != NULL) {
            char *end;
            unsigned long long n = strtoull(length, &end, 10);
            size_t limit = route_body_limit_for(method, url, front_door_cfg);
            if (*end == '\0' && n > limit)
                return refuse_too_large(conn, method, url, limit);
        }
    }
    return ulfius_dispatcher(ulfius_dispatcher_cls, conn, url, method, version, upload_data,
                             upload_data_size, con_cls);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    mhd_request_completed(cls, conn, con_cls, toe);
    atomic_fetch_sub(&in_flight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    (void)cls;
    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    /* ulfius passes its own options before ours, so MHD notes at every start that this logger
     * is not the first option; nothing is lost, since it is set before MHD logs anything else. */
    if (strstr(buf, "is not the first option") != NULL)
        return;
    log_msg(LOG_WARN, "http: %s", buf);
}

void server_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int server_run(const struct config *cfg, const struct auth_keys *keys, struct coi_storage *storage)
{
    struct _u_instance instance;
    struct api_runtime rt = {storage, cfg, keys};
    struct api_binding *bindings = calloc(route_count, sizeof *bindings);
    int rc = 1;

    if (bindings == NULL || ulfius_init_instance(&instance, 8080, NULL, NULL) != U_OK) {
        log_msg(LOG_ERROR, "cannot initialise the HTTP server");
        free(bindings);
        return 1;
    }
    /* Keep one byte past the limit so that an oversized chunked body is detectable. */
    instance.max_post_body_size =
        (cfg->batch_max_body_bytes > cfg->max_body_bytes ? cfg->batch_max_body_bytes
                                                         : cfg->max_body_bytes) +
        1;
    instance.check_utf8 = 0;
    front_door_cfg = cfg;
    for (size_t i = 0; i < route_count; i++) {
        char path[256];
        bindings[i] = (struct api_binding){&routes[i], &rt};
        route_ulfius_path(&routes[i], path, sizeof path);
        /* ulfius runs the first matching endpoint by priority: a literal segment
         * (/v1/cases/facets) must win over a parameter (/v1/cases/{id}), so routes with fewer
         * parameters come first. */
        unsigned priority = 0;
        for (const char *p = routes[i].path; *p; p++)
            priority += *p == '{';
        ulfius_add_endpoint_by_val(&instance, routes[i].method, NULL, path, priority, api_dispatch,
                                   &bindings[i]);
    }
    ulfius_set_default_endpoint(&instance, api_fallback, &rt);

    struct MHD_OptionItem options[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_completed, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)ulfius_uri_logger, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, (void *)&cfg->listen_addr},
        {MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 1000, NULL},
        {cfg->http_threads > 0 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, cfg->http_threads,
         NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned int flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
        (cfg->http_threads > 0 ? MHD_USE_EPOLL : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL);
    if (cfg->listen_addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (ulfius_start_framework_with_mhd_options(&instance, flags, options) != U_OK) {
        log_msg(LOG_ERROR, "cannot listen on %s", cfg->listen);
        goto out;
    }
    json_t *f = json_pack("{s:s, s:s}", "listen", cfg->listen, "storage", storage->backend);
    log_event(LOG_INFO, "listening", f);
    json_decref(f);

    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigwait(&set, &sig);

    /* Stop accepting, then let the requests in flight finish within the bound. */
    log_msg(LOG_INFO, "shutting down on signal %d", sig);
    MHD_quiesce_daemon(instance.mhd_daemon);
    long long deadline = now_ms() + cfg->shutdown_timeout_ms;
    while (atomic_load(&in_flight) > 0 && now_ms() < deadline)
        usleep(10000);
    if (atomic_load(&in_flight) > 0)
        log_msg(LOG_WARN, "%d requests still running at the shutdown deadline",
                atomic_load(&in_flight));
    ulfius_stop_framework(&instance);
    rc = 0;
out:
    ulfius_clean_instance(&instance);
    free(bindings);
    return rc;
}
