/* Unit tests for reactor: readiness through the epoll fd, write watching,
 * a callback that removes another watcher of the same batch, timers in
 * order, cancelled timers, and a 0 ms timer set by a timer callback, which
 * waits for the next round but is reported as due now. */
#include <poll.h>
#include <unistd.h>

#include "check.h"
#include "reactor.h"

static int calls_a, calls_b, last_events;
static struct reactor *shared;
static int pipe_b_read = -1;

static void on_a(void *ctx, int fd, int events)
{
    (void)ctx;
    char byte;
    (void)!read(fd, &byte, 1);
    calls_a++;
    last_events = events;
    reactor_unwatch(shared, pipe_b_read); /* B was ready in the same batch: it must not run */
}

static void on_b(void *ctx, int fd, int events)
{
    (void)ctx;
    (void)fd;
    (void)events;
    calls_b++;
}

static int order[4], fired;
static void on_timer(void *ctx) { order[fired++] = (int)(long)ctx; }

static int chained;
static void on_chained(void *ctx)
{
    (void)ctx;
    chained++;
}

static void on_chain(void *ctx)
{
    (void)ctx;
    reactor_timer(shared, 0, on_chained, NULL); /* for the next round, not this one */
    usleep(3000);                               /* so it is overdue when this round ends */
}

static int wait_ready(struct reactor *reactor)
{
    struct pollfd p = {.fd = reactor_fd(reactor), .events = POLLIN};
    return poll(&p, 1, 1000);
}

int main(void)
{
    struct reactor *reactor = shared = reactor_new();
    int a[2], b[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    pipe_b_read = b[0];
    CHECK(reactor_watch(reactor, a[0], REACTOR_READ, on_a, NULL) == 0);
    CHECK(reactor_watch(reactor, b[0], REACTOR_READ, on_b, NULL) == 0);
    CHECK(write(a[1], "x", 1) == 1 && write(b[1], "y", 1) == 1);
    CHECK(wait_ready(reactor) == 1);
    reactor_dispatch(reactor);
    /* epoll may report A and B in either order: B runs only if it came first */
    CHECK(calls_a == 1 && calls_b <= 1 && last_events == REACTOR_READ);

    CHECK(reactor_watch(reactor, a[1], REACTOR_WRITE, on_b, NULL) == 0); /* an empty pipe is writable */
    int before = calls_b;
    CHECK(wait_ready(reactor) == 1);
    reactor_dispatch(reactor);
    CHECK(calls_b == before + 1);
    reactor_unwatch(reactor, a[1]);

    unsigned long late = reactor_timer(reactor, 30, on_timer, (void *)3L);
    reactor_timer(reactor, 10, on_timer, (void *)2L);
    reactor_timer(reactor, 0, on_timer, (void *)1L);
    unsigned long cancelled = reactor_timer(reactor, 5, on_timer, (void *)9L);
    reactor_cancel(reactor, cancelled);
    (void)late;
    while (fired < 3) {
        int wait = reactor_run_timers(reactor);
        if (wait > 0)
            poll(NULL, 0, wait);
    }
    CHECK(order[0] == 1 && order[1] == 2 && order[2] == 3);
    CHECK(reactor_run_timers(reactor) == -1);

    reactor_timer(reactor, 0, on_chain, NULL);
    CHECK(reactor_run_timers(reactor) == 0); /* the chained timer is due: poll must not block */
    CHECK(chained == 0);
    CHECK(reactor_run_timers(reactor) == -1);
    CHECK(chained == 1);
    reactor_free(reactor);
    return check_report();
}
