/* resolve: host name lookups that do not block the event loop. The C
 * library's getaddrinfo blocks (a slow DNS server holds it for seconds),
 * so each lookup runs on a thread of its own and reports back through the
 * reactor; the HTTP client starts one per host, not one per request. */
#ifndef FAASET_RESOLVE_H
#define FAASET_RESOLVE_H

#include <sys/socket.h>

#include "reactor.h"

#define RESOLVE_MAX_ADDRESSES 4

struct resolve_lookup;

/* The addresses found, in getaddrinfo's order of preference. */
struct resolve_result {
    struct sockaddr_storage addresses[RESOLVE_MAX_ADDRESSES];
    socklen_t sizes[RESOLVE_MAX_ADDRESSES];
    int count;                          /* 0 when the lookup failed: then ERROR says why */
    const char *error;
};

/* Called once from the reactor's loop with the lookup's result (valid
 * during the call); the lookup is over and must not be cancelled. */
typedef void (*resolve_done_fn)(void *ctx, const struct resolve_result *result);

/* Starts looking HOST up for TCP to PORT; NULL when no thread or watch can
 * be had. */
struct resolve_lookup *resolve_start(struct reactor *reactor, const char *host, int port, resolve_done_fn done,
                                     void *ctx);

/* Stops waiting for LOOKUP: DONE will not be called. The thread finishes
 * its getaddrinfo on its own and frees what is left. */
void resolve_cancel(struct resolve_lookup *lookup);

#endif
