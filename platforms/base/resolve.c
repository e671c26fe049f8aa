/* resolve: one thread per lookup, an eventfd to say it is done (see
 * resolve.h).
 *
 * The lookup record is shared by the loop and the thread and freed by
 * whichever lets go of it last (an atomic count of two): the thread after
 * it stored the result and signalled the eventfd, the loop once it read
 * the result or cancelled. So a cancelled lookup whose thread is still in
 * getaddrinfo costs nothing more than that thread, which then cleans up.
 * The thread is detached and blocks every signal, so SIGINT and SIGCHLD
 * keep going to the loop's thread. */
#include "resolve.h"

#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct resolve_lookup {
    struct reactor *reactor;
    resolve_done_fn done;
    void *ctx;
    int fd;                             /* the eventfd the thread signals */
    atomic_int holders;
    struct resolve_result result;       /* written by the thread before it signals */
    char error[160];
    int port;
    char host[];
};

static void resolve_let_go(struct resolve_lookup *lookup)
{
    if (atomic_fetch_sub(&lookup->holders, 1) == 1) {
        close(lookup->fd);
        free(lookup);
    }
}

static void *resolve_thread(void *arg)
{
    struct resolve_lookup *lookup = arg;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    char service[8];
    snprintf(service, sizeof service, "%d", lookup->port);
    struct addrinfo *found = NULL;
    int code = getaddrinfo(lookup->host, service, &hints, &found);
    struct resolve_result *result = &lookup->result;
    if (code != 0) {
        snprintf(lookup->error, sizeof lookup->error, "%s", gai_strerror(code));
        result->error = lookup->error;
    }
    for (struct addrinfo *entry = found; entry != NULL && result->count < RESOLVE_MAX_ADDRESSES;
         entry = entry->ai_next) {
        if (entry->ai_addrlen > sizeof result->addresses[0])
            continue;
        memcpy(&result->addresses[result->count], entry->ai_addr, entry->ai_addrlen);
        result->sizes[result->count++] = entry->ai_addrlen;
    }
    if (found != NULL)
        freeaddrinfo(found);
    if (code == 0 && result->count == 0)
        result->error = "no address";
    uint64_t one = 1;
    (void)!write(lookup->fd, &one, sizeof one);
    resolve_let_go(lookup);
    return NULL;
}

static void resolve_on_done(void *ctx, int fd, int events)
{
    (void)events;
    struct resolve_lookup *lookup = ctx;
    uint64_t count;
    if (read(fd, &count, sizeof count) != (ssize_t)sizeof count)
        return; /* spurious: the thread has not written yet */
    reactor_unwatch(lookup->reactor, fd);
    lookup->done(lookup->ctx, &lookup->result);
    resolve_let_go(lookup);
}

struct resolve_lookup *resolve_start(struct reactor *reactor, const char *host, int port, resolve_done_fn done,
                                     void *ctx)
{
    size_t host_size = strlen(host) + 1;
    struct resolve_lookup *lookup = calloc(1, sizeof *lookup + host_size);
    if (lookup == NULL)
        return NULL;
    memcpy(lookup->host, host, host_size);
    lookup->reactor = reactor;
    lookup->done = done;
    lookup->ctx = ctx;
    lookup->port = port;
    atomic_init(&lookup->holders, 2);
    lookup->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (lookup->fd < 0) {
        free(lookup);
        return NULL;
    }
    if (reactor_watch(reactor, lookup->fd, REACTOR_READ, resolve_on_done, lookup) < 0) {
        close(lookup->fd);
        free(lookup);
        return NULL;
    }
    pthread_attr_t attributes;
    sigset_t all, previous;
    sigfillset(&all);
    pthread_t thread;
    int started = pthread_attr_init(&attributes) == 0;
    if (started) {
        (void)pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        (void)pthread_attr_setstacksize(&attributes, 256 * 1024);
        pthread_sigmask(SIG_SETMASK, &all, &previous); /* the thread inherits the mask */
        started = pthread_create(&thread, &attributes, resolve_thread, lookup) == 0;
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        pthread_attr_destroy(&attributes);
    }
    if (!started) {
        reactor_unwatch(reactor, lookup->fd);
        close(lookup->fd);
        free(lookup);
        return NULL;
    }
    return lookup;
}

void resolve_cancel(struct resolve_lookup *lookup)
{
    if (lookup == NULL)
        return;
    reactor_unwatch(lookup->reactor, lookup->fd);
    resolve_let_go(lookup);
}
