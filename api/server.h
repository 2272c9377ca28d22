/* The HTTP server: ulfius on libmicrohttpd, a front door for oversized bodies, clean shutdown. */
#ifndef COI_SERVER_H
#define COI_SERVER_H

#include "api/config.h"
#include "auth/verify.h"
#include "storage/storage.h"

/* Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight requests finish (up to
 * cfg->shutdown_timeout_ms) and returns 0. The caller must have blocked SIGTERM and SIGINT in
 * every thread (server_block_signals before any thread starts). Returns 1 when the server
 * cannot start (the reason is logged). Does not close `storage`. */
int server_run(const struct config *cfg, const struct auth_keys *keys, struct coi_storage *storage);

/* Blocks SIGTERM/SIGINT (to be taken with sigwait) and ignores SIGPIPE; call first in main. */
void server_block_signals(void);

#endif
