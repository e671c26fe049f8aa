/* reactor: watchers in a small array (the loop rebuilds its poll set each
 * turn, so a few hundred workers cost a few hundred entries) and timers in
 * an unsorted array scanned for the earliest (see reactor.h). */
#include "reactor.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct reactor_watcher {
    int fd;
    reactor_fd_fn fn;
    void *ctx;
};

struct reactor_timer_entry {
    unsigned long id;
    long long due_ms;
    reactor_timer_fn fn;
    void *ctx;
};

struct reactor {
    struct reactor_watcher *watchers;
    size_t watcher_count, watcher_capacity;
    struct reactor_timer_entry *timers;
    size_t timer_count, timer_capacity;
    unsigned long next_timer_id;
};

long long reactor_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

double reactor_now_ms_precise(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

struct reactor *reactor_new(void)
{
    return calloc(1, sizeof(struct reactor));
}

void reactor_free(struct reactor *reactor)
{
    if (reactor == NULL)
        return;
    free(reactor->watchers);
    free(reactor->timers);
    free(reactor);
}

static int reactor_grow(void **items, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity)
        return 0;
    size_t grown_capacity = *capacity ? *capacity * 2 : 16;
    void *grown = realloc(*items, grown_capacity * size);
    if (grown == NULL)
        return -1;
    *items = grown;
    *capacity = grown_capacity;
    return 0;
}

int reactor_watch(struct reactor *reactor, int fd, reactor_fd_fn fn, void *ctx)
{
    reactor_unwatch(reactor, fd);
    if (reactor_grow((void **)&reactor->watchers, &reactor->watcher_capacity, reactor->watcher_count,
                     sizeof *reactor->watchers) < 0)
        return -1;
    reactor->watchers[reactor->watcher_count++] = (struct reactor_watcher){fd, fn, ctx};
    return 0;
}

void reactor_unwatch(struct reactor *reactor, int fd)
{
    for (size_t i = 0; i < reactor->watcher_count; i++) {
        if (reactor->watchers[i].fd == fd) {
            reactor->watchers[i] = reactor->watchers[--reactor->watcher_count];
            return;
        }
    }
}

unsigned long reactor_timer(struct reactor *reactor, long long delay_ms, reactor_timer_fn fn, void *ctx)
{
    if (reactor_grow((void **)&reactor->timers, &reactor->timer_capacity, reactor->timer_count,
                     sizeof *reactor->timers) < 0)
        return 0;
    unsigned long id = ++reactor->next_timer_id;
    reactor->timers[reactor->timer_count++] = (struct reactor_timer_entry){id, reactor_now_ms() + delay_ms, fn, ctx};
    return id;
}

void reactor_cancel(struct reactor *reactor, unsigned long timer_id)
{
    for (size_t i = 0; i < reactor->timer_count; i++) {
        if (reactor->timers[i].id == timer_id) {
            reactor->timers[i] = reactor->timers[--reactor->timer_count];
            return;
        }
    }
}

size_t reactor_fd_count(const struct reactor *reactor)
{
    return reactor->watcher_count;
}

size_t reactor_fds(const struct reactor *reactor, int *fds, size_t max)
{
    size_t n = reactor->watcher_count < max ? reactor->watcher_count : max;
    for (size_t i = 0; i < n; i++)
        fds[i] = reactor->watchers[i].fd;
    return n;
}

void reactor_ready(struct reactor *reactor, int fd)
{
    for (size_t i = 0; i < reactor->watcher_count; i++) {
        if (reactor->watchers[i].fd == fd) {
            struct reactor_watcher watcher = reactor->watchers[i];
            watcher.fn(watcher.ctx, fd);
            return;
        }
    }
}

int reactor_run_timers(struct reactor *reactor)
{
    long long now = reactor_now_ms();
    for (size_t i = 0; i < reactor->timer_count;) {
        if (reactor->timers[i].due_ms <= now) {
            struct reactor_timer_entry due = reactor->timers[i];
            reactor->timers[i] = reactor->timers[--reactor->timer_count];
            due.fn(due.ctx); /* may add or cancel timers: rescan from the start */
            i = 0;
            now = reactor_now_ms();
        } else {
            i++;
        }
    }
    long long next = -1;
    for (size_t i = 0; i < reactor->timer_count; i++)
        if (next < 0 || reactor->timers[i].due_ms - now < next)
            next = reactor->timers[i].due_ms - now;
    return next < 0 ? -1 : (int)(next > 0 ? next : 0);
}
