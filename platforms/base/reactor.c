/* reactor: an epoll set for the watchers, and timers in an unsorted array
 * scanned for the earliest (there are few: one deadline per busy worker,
 * per HTTP engine shard and per runner) (see reactor.h).
 *
 * One dispatch round takes up to REACTOR_BATCH ready fds from epoll, enough
 * for a whole wave of answers to the thousands of requests an experiment
 * keeps in flight: the HTTP engine reads them all in one round and runs
 * their callbacks afterwards, so no answer waits for the others' callbacks
 * to be read. A watcher's record is found from epoll by its fd through a
 * table indexed by fd; removing a watcher frees its slot at once, and epoll
 * events already fetched for it are skipped because the slot is then empty
 * (or belongs to a newer watcher with a higher generation: the fd was
 * closed and reused by a callback earlier in the round). */
#include "reactor.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define REACTOR_BATCH 4096 /* the round's events and generations take 80 KiB of stack */

struct reactor_watcher {
    reactor_fd_fn fn;
    void *ctx;
    unsigned long generation;   /* 0 = no watcher */
};

struct reactor_timer_entry {
    unsigned long id;
    long long due_ms;
    reactor_timer_fn fn;
    void *ctx;
};

struct reactor {
    int epoll_fd;
    struct reactor_watcher *watchers;   /* indexed by fd */
    size_t watcher_capacity;
    unsigned long next_generation;
    struct reactor_timer_entry *timers;
    size_t timer_count, timer_capacity;
    unsigned long next_timer_id;
};

struct reactor *reactor_new(void)
{
    struct reactor *reactor = calloc(1, sizeof *reactor);
    if (reactor == NULL)
        return NULL;
    reactor->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (reactor->epoll_fd < 0) {
        free(reactor);
        return NULL;
    }
    return reactor;
}

void reactor_free(struct reactor *reactor)
{
    if (reactor == NULL)
        return;
    close(reactor->epoll_fd);
    free(reactor->watchers);
    free(reactor->timers);
    free(reactor);
}

int reactor_fd(const struct reactor *reactor)
{
    return reactor->epoll_fd;
}

static uint32_t reactor_epoll_events(int wanted)
{
    return (wanted & REACTOR_READ ? EPOLLIN : 0) | (wanted & REACTOR_WRITE ? EPOLLOUT : 0);
}

int reactor_watch(struct reactor *reactor, int fd, int wanted, reactor_fd_fn fn, void *ctx)
{
    if (fd < 0)
        return -1;
    if ((size_t)fd >= reactor->watcher_capacity) {
        size_t capacity = reactor->watcher_capacity ? reactor->watcher_capacity : 64;
        while (capacity <= (size_t)fd)
            capacity *= 2;
        struct reactor_watcher *grown = realloc(reactor->watchers, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        memset(grown + reactor->watcher_capacity, 0, (capacity - reactor->watcher_capacity) * sizeof *grown);
        reactor->watchers = grown;
        reactor->watcher_capacity = capacity;
    }
    struct reactor_watcher *watcher = &reactor->watchers[fd];
    struct epoll_event event = {.events = reactor_epoll_events(wanted)};
    event.data.u64 = (uint64_t)fd;
    int op = watcher->generation ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(reactor->epoll_fd, op, fd, &event) < 0 &&
        !(op == EPOLL_CTL_ADD && errno == EEXIST && epoll_ctl(reactor->epoll_fd, EPOLL_CTL_MOD, fd, &event) == 0))
        return -1;
    watcher->fn = fn;
    watcher->ctx = ctx;
    if (watcher->generation == 0)
        watcher->generation = ++reactor->next_generation;
    return 0;
}

void reactor_unwatch(struct reactor *reactor, int fd)
{
    if (fd < 0 || (size_t)fd >= reactor->watcher_capacity || reactor->watchers[fd].generation == 0)
        return;
    epoll_ctl(reactor->epoll_fd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly if FD was closed already */
    memset(&reactor->watchers[fd], 0, sizeof reactor->watchers[fd]);
}

void reactor_dispatch(struct reactor *reactor)
{
    struct epoll_event events[REACTOR_BATCH];
    unsigned long generations[REACTOR_BATCH];
    int ready = epoll_wait(reactor->epoll_fd, events, REACTOR_BATCH, 0);
    for (int i = 0; i < ready; i++) {
        int fd = (int)events[i].data.u64;
        generations[i] = (size_t)fd < reactor->watcher_capacity ? reactor->watchers[fd].generation : 0;
    }
    for (int i = 0; i < ready; i++) {
        int fd = (int)events[i].data.u64;
        if ((size_t)fd >= reactor->watcher_capacity)
            continue;
        struct reactor_watcher watcher = reactor->watchers[fd];
        if (watcher.generation == 0 || watcher.generation != generations[i])
            continue; /* removed, or replaced, by an earlier callback in this batch */
        uint32_t e = events[i].events;
        int what = (e & (EPOLLERR | EPOLLHUP)) ? REACTOR_READ | REACTOR_WRITE
                                               : (e & EPOLLIN ? REACTOR_READ : 0) | (e & EPOLLOUT ? REACTOR_WRITE : 0);
        watcher.fn(watcher.ctx, fd, what);
    }
}

static int reactor_grow_timers(struct reactor *reactor)
{
    if (reactor->timer_count < reactor->timer_capacity)
        return 0;
    size_t capacity = reactor->timer_capacity ? reactor->timer_capacity * 2 : 16;
    struct reactor_timer_entry *grown = realloc(reactor->timers, capacity * sizeof *grown);
    if (grown == NULL)
        return -1;
    reactor->timers = grown;
    reactor->timer_capacity = capacity;
    return 0;
}

unsigned long reactor_timer(struct reactor *reactor, long long delay_ms, reactor_timer_fn fn, void *ctx)
{
    if (reactor_grow_timers(reactor) < 0)
        return 0;
    unsigned long id = ++reactor->next_timer_id;
    reactor->timers[reactor->timer_count++] = (struct reactor_timer_entry){id, clock_mono_ms() + delay_ms, fn, ctx};
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

int reactor_run_timers(struct reactor *reactor)
{
    long long now = clock_mono_ms();
    /* Timers set by the callbacks run here wait for the next call, after
     * the loop has read its fds: a 0 ms timer means "after this round". */
    unsigned long newest = reactor->next_timer_id;
    for (size_t i = 0; i < reactor->timer_count;) {
        if (reactor->timers[i].due_ms <= now && reactor->timers[i].id <= newest) {
            struct reactor_timer_entry due = reactor->timers[i];
            reactor->timers[i] = reactor->timers[--reactor->timer_count];
            due.fn(due.ctx); /* may add or cancel timers: rescan from the start */
            i = 0;
            now = clock_mono_ms();
        } else {
            i++;
        }
    }
    if (reactor->timer_count == 0)
        return -1;
    long long next = reactor->timers[0].due_ms - now;
    for (size_t i = 1; i < reactor->timer_count; i++)
        if (reactor->timers[i].due_ms - now < next)
            next = reactor->timers[i].due_ms - now;
    return next > 0 ? (int)next : 0; /* a timer set while this ran may be due already */
}

int reactor_wait(struct reactor *reactor, int timeout_ms)
{
    struct pollfd ready = {.fd = reactor->epoll_fd, .events = POLLIN};
    if (poll(&ready, 1, timeout_ms) < 0)
        return -1;
    reactor_dispatch(reactor);
    return 0;
}
