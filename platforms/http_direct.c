/* http_direct: plain HTTP/1.1 over the engine's own sockets (see
 * http_direct.h).
 *
 * A call holds its whole request, head and body, serialised once into one
 * allocation with the call, so a retry on a new connection sends the same
 * bytes. It takes the newest idle connection of its origin (address and
 * port) or opens one: a non-blocking socket, connect, and the request
 * written at once; on loopback or a near host the connection is already up
 * and the request leaves now, otherwise the socket is watched for writing
 * until it is. A request on a kept-alive connection waits instead for the
 * end of the loop round (http_direct_flush, called by the engine after a
 * batch of callbacks, or a 0 ms timer), so the requests a batch of answers
 * sends go out back to back: on loopback each write wakes the server, and
 * writes spread out between callbacks woke it once each (measured at ten
 * thousand in flight: mean in flight 9,509 -> 9,613, client CPU 0.84 ->
 * 0.71 s). Connections opened ahead (http_direct_prepare) wait on the idle
 * list, perhaps still connecting: their first request is written once
 * they are up. Every connection is watched for reading from its start to
 * its end, so a kept-alive connection costs no epoll change per request.
 * A request whose kept-alive connection turns out dead before any answer
 * byte goes out once more on a new connection. A read event takes up to
 * HTTP_DIRECT_READ bytes into the engine's one scratch buffer and feeds
 * them to the call's http_reply; reading stops when the answer is complete
 * (no extra call to learn there is nothing more) or the buffer was not
 * filled (the level-triggered watch says if more comes). A complete answer that allows it returns the connection to
 * its origin's idle list; anything odd (extra bytes, Connection: close, a
 * body up to the close, a request not fully sent) closes it.
 *
 * Deadlines: calls with a timeout sit in one list sorted by deadline,
 * inserted from the late end (requests of one experiment share their
 * timeout, so that is one step), with one reactor timer for the earliest.
 * A call that ends early leaves the timer as it is; when it fires it
 * expires what is due and sets itself for the new earliest. Idle
 * connections are swept every HTTP_DIRECT_SWEEP_MS while there are any. */
#include "http_direct.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "list.h"

#ifndef FAASET_VERSION
#define FAASET_VERSION "0"
#endif

#define HTTP_DIRECT_READ 65536          /* bytes read per receive */
#define HTTP_DIRECT_IDLE_MS 118000.0    /* an idle connection older than this is closed (libcurl's age) */
#define HTTP_DIRECT_SWEEP_MS 10000      /* how often idle connections are checked for age */
#define HTTP_DIRECT_MAX_IDLE 32768      /* idle connections kept at most; more are closed */
#define HTTP_DIRECT_MAX_HOST 64         /* "[v6 address]:port" */

struct http_direct_conn;

/* Where requests go: an address and port, and its idle connections. */
struct http_direct_origin {
    struct http_direct_origin *next;
    struct sockaddr_storage address;
    socklen_t address_size;
    struct list_node idle_conns;       /* idle connections, newest first */
    size_t idle;
    int port;
    char name[INET6_ADDRSTRLEN];                /* the address as text, for messages */
    char host[HTTP_DIRECT_MAX_HOST];            /* the Host header's value */
};

struct http_direct_conn {
    struct http_direct *direct;
    struct http_direct_origin *origin;
    struct http_direct_call *call;      /* the request on it, or NULL when idle */
    struct list_node idle_node;        /* in the origin's idle list */
    double idle_since;                  /* monotonic ms */
    int fd;
    int connecting;                     /* connect() not known to have finished */
    int writing;                        /* watched for writing too */
    int reused;                         /* waited idle before its request: the server may have closed it */
};

struct http_direct_call {
    struct http_direct *direct;
    void *owner;
    struct http_direct_origin *origin;
    struct http_direct_conn *conn;
    struct list_node deadline_node;     /* in the deadline list, when it has a deadline */
    struct list_node unsent_node;       /* in the list of requests to write this round */
    double deadline;                    /* monotonic ms, 0 = none */
    long timeout_ms;
    int ended, timed_out, retried;
    const char *error;
    char error_text[192];
    struct http_reply reply;
    size_t sent, request_size;
    char request[];
};

struct http_direct {
    struct reactor *reactor;
    http_direct_ended_fn ended;
    struct http_direct_origin *origins;
    struct list_node deadlines;         /* calls with a deadline, the soonest first */
    unsigned long deadline_timer;
    double deadline_armed;              /* when DEADLINE_TIMER fires */
    unsigned long sweep_timer;
    struct list_node unsent;            /* calls to write at the end of the round */
    unsigned long flush_timer;
    size_t connections, idle;
    char scratch[HTTP_DIRECT_READ];
};

/* What a URL taken by this client names. */
struct http_direct_target {
    struct sockaddr_storage address;
    socklen_t address_size;
    int port;
    char name[INET6_ADDRSTRLEN];
    char host[HTTP_DIRECT_MAX_HOST];
    const char *path;                   /* from '/' or '?' up to '#' or the end, or "" */
    size_t path_length;
};

static void http_direct_on_ready(void *ctx, int fd, int events);
static void http_direct_on_flush(void *ctx);
static void http_direct_start(struct http_direct_call *call);

/* ---- URLs ---- */

static int http_direct_parse(const char *url, struct http_direct_target *target)
{
    if (url == NULL || strncasecmp(url, "http://", 7) != 0)
        return 0;
    const char *authority = url + 7;
    size_t authority_length = strcspn(authority, "/?#");
    if (authority_length == 0 || memchr(authority, '@', authority_length) != NULL)
        return 0;
    const char *host = authority, *host_end, *port_text = NULL;
    memset(target, 0, sizeof *target);
    char text[INET6_ADDRSTRLEN];
    if (host[0] == '[') {
        host_end = memchr(host, ']', authority_length);
        if (host_end == NULL || (size_t)(host_end - host - 1) >= sizeof text)
            return 0;
        memcpy(text, host + 1, (size_t)(host_end - host - 1));
        text[host_end - host - 1] = '\0';
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&target->address;
        if (inet_pton(AF_INET6, text, &v6->sin6_addr) != 1)
            return 0; /* a zone id, say: libcurl's */
        v6->sin6_family = AF_INET6;
        target->address_size = sizeof *v6;
        host_end++;
    } else {
        host_end = memchr(host, ':', authority_length);
        if (host_end == NULL)
            host_end = authority + authority_length;
        if ((size_t)(host_end - host) >= sizeof text)
            return 0;
        memcpy(text, host, (size_t)(host_end - host));
        text[host_end - host] = '\0';
        struct sockaddr_in *v4 = (struct sockaddr_in *)&target->address;
        if (inet_pton(AF_INET, text, &v4->sin_addr) != 1)
            return 0; /* a host name: libcurl's */
        v4->sin_family = AF_INET;
        target->address_size = sizeof *v4;
    }
    const char *authority_end = authority + authority_length;
    int port = 80;
    if (host_end < authority_end) {
        if (*host_end != ':')
            return 0;
        port_text = host_end + 1;
        if (port_text == authority_end || authority_end - port_text > 5)
            return 0;
        port = 0;
        for (const char *digit = port_text; digit < authority_end; digit++) {
            if (*digit < '0' || *digit > '9')
                return 0;
            port = port * 10 + (*digit - '0');
        }
        if (port < 1 || port > 65535)
            return 0;
    } else if (host_end != authority_end) {
        return 0;
    }
    if (target->address.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&target->address)->sin6_port = htons((unsigned short)port);
    else
        ((struct sockaddr_in *)&target->address)->sin_port = htons((unsigned short)port);
    target->port = port;
    snprintf(target->name, sizeof target->name, "%s", text);
    int bracket = target->address.ss_family == AF_INET6;
    if (port == 80)
        snprintf(target->host, sizeof target->host, "%s%s%s", bracket ? "[" : "", text, bracket ? "]" : "");
    else
        snprintf(target->host, sizeof target->host, "%s%s%s:%d", bracket ? "[" : "", text, bracket ? "]" : "",
                 port);
    target->path = authority_end;
    target->path_length = strcspn(authority_end, "#");
    for (size_t i = 0; i < target->path_length; i++)
        if (target->path[i] <= ' ' || target->path[i] > '~')
            return 0; /* spaces, controls, raw UTF-8: libcurl's to refuse or encode */
    return 1;
}

int http_direct_takes(const char *url)
{
    struct http_direct_target target;
    return http_direct_parse(url, &target);
}

static struct http_direct_origin *http_direct_origin_for(struct http_direct *direct,
                                                         const struct http_direct_target *target)
{
    for (struct http_direct_origin *origin = direct->origins; origin != NULL; origin = origin->next)
        if (origin->address_size == target->address_size &&
            memcmp(&origin->address, &target->address, target->address_size) == 0)
            return origin;
    struct http_direct_origin *origin = calloc(1, sizeof *origin);
    if (origin == NULL)
        return NULL;
    origin->address = target->address;
    origin->address_size = target->address_size;
    origin->port = target->port;
    memcpy(origin->name, target->name, sizeof origin->name);
    memcpy(origin->host, target->host, sizeof origin->host);
    list_init(&origin->idle_conns);
    origin->next = direct->origins;
    direct->origins = origin;
    return origin;
}

/* ---- requests ---- */

/* The length of HEADER's name (up to ':' or ';'), or 0 when it has neither. */
static size_t http_direct_header_name(const char *header)
{
    size_t length = strcspn(header, ":;");
    return header[length] != '\0' ? length : 0;
}

static int http_direct_header_is(const char *header, size_t name_length, const char *name)
{
    return strlen(name) == name_length && strncasecmp(header, name, name_length) == 0;
}

/* Only blanks after the ':' or ';' at NAME_LENGTH. */
static int http_direct_header_empty(const char *header, size_t name_length)
{
    for (const char *c = header + name_length + 1; *c != '\0'; c++)
        if (*c != ' ' && *c != '\t')
            return 0;
    return 1;
}

static char *http_direct_put(char *at, const char *text, size_t length)
{
    memcpy(at, text, length);
    return at + length;
}

#define HTTP_DIRECT_PUTS(at, literal) http_direct_put((at), (literal), sizeof(literal) - 1)

/* The call with REQUEST serialised (see http.h for what is sent), or NULL. */
static struct http_direct_call *http_direct_call_new(const struct http_request *request,
                                                     const struct http_direct_target *target)
{
    const char *method = request->method;
    int no_body = strcmp(method, "HEAD") == 0;
    int always_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
    int with_body = !no_body && (always_body || request->body_size > 0);
    int given_host = 0, given_agent = 0, given_accept = 0, given_length = 0;
    size_t size = strlen(method) + target->path_length + sizeof " / HTTP/1.1\r\n" + sizeof "Host: \r\n" +
                  strlen(target->host) + sizeof "User-Agent: faaset/" FAASET_VERSION "\r\n" +
                  sizeof "Accept: */*\r\n" + sizeof "Content-Length: 18446744073709551615\r\n" + 2;
    for (size_t i = 0; request->headers != NULL && request->headers[i] != NULL; i++)
        size += strlen(request->headers[i]) + 2;
    if (with_body)
        size += request->body_size;
    struct http_direct_call *call = calloc(1, sizeof *call + size);
    if (call == NULL)
        return NULL;
    http_reply_init(&call->reply, no_body);

    char *at = call->request;
    at = http_direct_put(at, method, strlen(method));
    at = HTTP_DIRECT_PUTS(at, " ");
    if (target->path_length == 0 || target->path[0] == '?')
        at = HTTP_DIRECT_PUTS(at, "/");
    at = http_direct_put(at, target->path, target->path_length);
    at = HTTP_DIRECT_PUTS(at, " HTTP/1.1\r\n");
    for (size_t i = 0; request->headers != NULL && request->headers[i] != NULL; i++) {
        const char *header = request->headers[i];
        size_t name = http_direct_header_name(header);
        if (name == 0)
            continue; /* not a header: libcurl skips it too */
        given_host |= http_direct_header_is(header, name, "Host");
        given_agent |= http_direct_header_is(header, name, "User-Agent");
        given_accept |= http_direct_header_is(header, name, "Accept");
        given_length |= http_direct_header_is(header, name, "Content-Length");
        int empty = http_direct_header_empty(header, name);
        if (header[name] == ':' && empty)
            continue; /* "Name:" removes a header the engine would send */
        if (header[name] == ';' && !empty)
            continue; /* "Name;value" is not a header */
        at = http_direct_put(at, header, name);
        at = HTTP_DIRECT_PUTS(at, ":");
        at = http_direct_put(at, header + name + 1, strlen(header + name + 1));
        at = HTTP_DIRECT_PUTS(at, "\r\n");
    }
    if (!given_host) {
        at = HTTP_DIRECT_PUTS(at, "Host: ");
        at = http_direct_put(at, target->host, strlen(target->host));
        at = HTTP_DIRECT_PUTS(at, "\r\n");
    }
    if (!given_agent)
        at = HTTP_DIRECT_PUTS(at, "User-Agent: faaset/" FAASET_VERSION "\r\n");
    if (!given_accept)
        at = HTTP_DIRECT_PUTS(at, "Accept: */*\r\n");
    if (with_body && !given_length)
        at += sprintf(at, "Content-Length: %zu\r\n", request->body_size);
    at = HTTP_DIRECT_PUTS(at, "\r\n");
    if (with_body && request->body_size > 0)
        at = http_direct_put(at, request->body, request->body_size);
    call->request_size = (size_t)(at - call->request);
    return call;
}

/* ---- deadlines ---- */

static void http_direct_on_deadline(void *ctx);

static void http_direct_arm_deadline(struct http_direct *direct)
{
    struct list_node *soonest = list_first(&direct->deadlines);
    struct http_direct_call *first = soonest ? list_entry(soonest, struct http_direct_call, deadline_node) : NULL;
    if (first == NULL || (direct->deadline_timer != 0 && direct->deadline_armed <= first->deadline))
        return;
    if (direct->deadline_timer != 0)
        reactor_cancel(direct->reactor, direct->deadline_timer);
    double wait = first->deadline - clock_mono_ms_precise();
    direct->deadline_timer = reactor_timer(direct->reactor, wait > 0 ? (long long)wait + 1 : 0,
                                           http_direct_on_deadline, direct);
    direct->deadline_armed = first->deadline;
    /* (Out of memory for a timer: the deadline is checked again when the next call is added.) */
}

static void http_direct_add_deadline(struct http_direct_call *call)
{
    struct http_direct *direct = call->direct;
    /* from the end: calls mostly come with the same timeout, so in order */
    struct list_node *before = direct->deadlines.prev;
    while (before != &direct->deadlines &&
           list_entry(before, struct http_direct_call, deadline_node)->deadline > call->deadline)
        before = before->prev;
    list_insert_after(before, &call->deadline_node);
    http_direct_arm_deadline(direct);
}

/* ---- connections ---- */

static void http_direct_sweep_later(struct http_direct *direct);

/* Closes CONN's socket and frees it (it is in no list). */
static void http_direct_drop(struct http_direct_conn *conn)
{
    struct http_direct *direct = conn->direct;
    reactor_unwatch(direct->reactor, conn->fd);
    close(conn->fd);
    direct->connections--;
    free(conn);
}

/* Closes CONN: an idle one leaves its origin's list, a busy one its call. */
static void http_direct_close(struct http_direct_conn *conn)
{
    if (conn->call == NULL) {
        struct http_direct_origin *origin = conn->origin;
        list_remove(&conn->idle_node);
        origin->idle--;
        conn->direct->idle--;
    } else {
        conn->call->conn = NULL;
    }
    http_direct_drop(conn);
}

/* CONN, carrying no request, waits on its origin's idle list (newest first). */
static void http_direct_park(struct http_direct_conn *conn)
{
    struct http_direct *direct = conn->direct;
    struct http_direct_origin *origin = conn->origin;
    conn->reused = 1;
    conn->idle_since = clock_mono_ms_precise();
    list_push_front(&origin->idle_conns, &conn->idle_node);
    origin->idle++;
    direct->idle++;
    http_direct_sweep_later(direct);
}

/* CONN's request is answered and the connection may carry the next one. */
static void http_direct_keep(struct http_direct_conn *conn)
{
    conn->call->conn = NULL;
    conn->call = NULL;
    if (conn->direct->idle >= HTTP_DIRECT_MAX_IDLE)
        http_direct_drop(conn);
    else
        http_direct_park(conn);
}

static void http_direct_on_sweep(void *ctx)
{
    struct http_direct *direct = ctx;
    direct->sweep_timer = 0;
    double now = clock_mono_ms_precise();
    for (struct http_direct_origin *origin = direct->origins; origin != NULL; origin = origin->next) {
        struct list_node *oldest;
        while ((oldest = list_last(&origin->idle_conns)) != NULL &&
               now - list_entry(oldest, struct http_direct_conn, idle_node)->idle_since >= HTTP_DIRECT_IDLE_MS)
            http_direct_close(list_entry(oldest, struct http_direct_conn, idle_node));
    }
    http_direct_sweep_later(direct);
}

static void http_direct_sweep_later(struct http_direct *direct)
{
    if (direct->idle > 0 && direct->sweep_timer == 0)
        direct->sweep_timer = reactor_timer(direct->reactor, HTTP_DIRECT_SWEEP_MS, http_direct_on_sweep, direct);
}

/* ---- ending calls ---- */

/* CALL is over: ERROR (NULL when answered) is what the owner reads. */
static void http_direct_end(struct http_direct_call *call, const char *error)
{
    list_remove(&call->deadline_node);
    list_remove(&call->unsent_node);
    if (call->conn != NULL)
        http_direct_close(call->conn);
    if (error != NULL && call->error == NULL) {
        snprintf(call->error_text, sizeof call->error_text, "%s", error);
        call->error = call->error_text;
    }
    call->ended = 1;
    call->direct->ended(call->owner);
}

static void http_direct_open(struct http_direct_call *call);

/* CALL's connection failed with the OS error CODE during WHAT ("Send
 * failure", "Recv failure"): a reused connection that had not answered yet
 * was closed by the server meanwhile, so the request goes out once more
 * on a new connection (not another idle one: a server that dropped one
 * has often dropped them all); otherwise the call fails. */
static void http_direct_broken(struct http_direct_call *call, const char *what, int code)
{
    struct http_direct_conn *conn = call->conn;
    if (conn != NULL && conn->reused && !call->retried && !call->reply.seen_bytes) {
        http_direct_close(conn);
        list_remove(&call->unsent_node);
        call->retried = 1;
        call->sent = 0;
        http_direct_open(call);
        return;
    }
    char message[160];
    if (code == 0)
        snprintf(message, sizeof message, "%s", what);
    else
        snprintf(message, sizeof message, "%s: %s", what, strerror(code));
    http_direct_end(call, message);
}

static void http_direct_connect_failed(struct http_direct_call *call, int code)
{
    char message[160];
    snprintf(message, sizeof message, "Failed to connect to %s port %d: %s", call->origin->name,
             call->origin->port, strerror(code));
    http_direct_end(call, message);
}

/* ---- the exchange ---- */

/* Sends what is left of CALL's request; 1 while the call goes on on its
 * connection, 0 when it ended or moved to another one. */
static int http_direct_write(struct http_direct_call *call)
{
    struct http_direct_conn *conn = call->conn;
    while (call->sent < call->request_size) {
        ssize_t n = send(conn->fd, call->request + call->sent, call->request_size - call->sent, MSG_NOSIGNAL);
        if (n > 0) {
            call->sent += (size_t)n;
            conn->connecting = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!conn->writing && reactor_watch(conn->direct->reactor, conn->fd, REACTOR_READ | REACTOR_WRITE,
                                                http_direct_on_ready, conn) < 0) {
                http_direct_end(call, "cannot watch a socket");
                return 0;
            }
            conn->writing = 1;
            return 1;
        }
        int code = n < 0 ? errno : EPIPE;
        if (conn->connecting)
            http_direct_connect_failed(call, code);
        else
            http_direct_broken(call, "Send failure", code);
        return 0;
    }
    if (conn->writing) {
        conn->writing = 0;
        if (reactor_watch(conn->direct->reactor, conn->fd, REACTOR_READ, http_direct_on_ready, conn) < 0) {
            http_direct_end(call, "cannot watch a socket");
            return 0;
        }
    }
    return 1;
}

/* The answer on CONN is complete; EXTRA: bytes followed it. */
static void http_direct_answered(struct http_direct_conn *conn, int extra)
{
    struct http_direct_call *call = conn->call;
    if (call->reply.keep_alive && !extra && call->sent == call->request_size)
        http_direct_keep(conn);
    else
        http_direct_close(conn);
    http_direct_end(call, NULL);
}

static void http_direct_read(struct http_direct_conn *conn)
{
    struct http_direct *direct = conn->direct;
    for (;;) {
        ssize_t n = recv(conn->fd, direct->scratch, sizeof direct->scratch, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        struct http_direct_call *call = conn->call;
        if (call == NULL) { /* idle: the server closed it (or sent what nobody asked for) */
            http_direct_close(conn);
            return;
        }
        if (n < 0) {
            if (conn->connecting)
                http_direct_connect_failed(call, errno);
            else
                http_direct_broken(call, "Recv failure", errno);
            return;
        }
        if (n == 0) {
            if (conn->reused && !call->retried && !call->reply.seen_bytes) {
                http_direct_broken(call, "Recv failure", ECONNRESET);
                return;
            }
            if (http_reply_end(&call->reply) == HTTP_REPLY_DONE) {
                http_direct_close(conn);
                http_direct_end(call, NULL);
            } else {
                http_direct_end(call, call->reply.error);
            }
            return;
        }
        size_t used = 0;
        enum http_reply_state state = http_reply_feed(&call->reply, direct->scratch, (size_t)n, &used);
        if (state == HTTP_REPLY_DONE) {
            http_direct_answered(conn, used < (size_t)n);
            return;
        }
        if (state == HTTP_REPLY_FAILED) {
            http_direct_end(call, call->reply.error);
            return;
        }
        if ((size_t)n < sizeof direct->scratch)
            return; /* the rest when it comes */
    }
}

static void http_direct_on_ready(void *ctx, int fd, int events)
{
    (void)fd;
    struct http_direct_conn *conn = ctx;
    struct http_direct_call *call = conn->call;
    if (call != NULL && conn->connecting && (events & REACTOR_WRITE)) {
        int code = 0;
        socklen_t length = sizeof code;
        if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 && code != 0) {
            http_direct_connect_failed(call, code);
            return;
        }
    }
    if (call != NULL && call->sent < call->request_size && (events & REACTOR_WRITE) && !http_direct_write(call))
        return; /* failed, or retried on another connection */
    if (events & REACTOR_READ)
        http_direct_read(conn);
}

/* A connected (or connecting) non-blocking socket to ORIGIN, or -1 with
 * *CODE the error. */
static int http_direct_dial(const struct http_direct_origin *origin, int *code)
{
    int fd = socket(origin->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *code = errno;
        return -1;
    }
    int on = 1, idle = 60, interval = 30;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    /* Idle connections through NATs during long invocations stay open. */
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    if (connect(fd, (const struct sockaddr *)&origin->address, origin->address_size) < 0 && errno != EINPROGRESS) {
        *code = errno;
        close(fd);
        return -1;
    }
    return fd;
}

/* A connection record for FD, watched for reading; NULL (FD closed) when
 * out of memory or the reactor refuses. */
static struct http_direct_conn *http_direct_conn_new(struct http_direct *direct, struct http_direct_origin *origin,
                                                     int fd)
{
    struct http_direct_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL || reactor_watch(direct->reactor, fd, REACTOR_READ, http_direct_on_ready, conn) < 0) {
        free(conn);
        close(fd);
        return NULL;
    }
    conn->direct = direct;
    conn->origin = origin;
    conn->fd = fd;
    conn->connecting = 1;
    direct->connections++;
    return conn;
}

/* A new connection to CALL's origin, the request written if it is up. */
static void http_direct_open(struct http_direct_call *call)
{
    int code = 0;
    int fd = http_direct_dial(call->origin, &code);
    if (fd < 0) {
        http_direct_connect_failed(call, code);
        return;
    }
    struct http_direct_conn *conn = http_direct_conn_new(call->direct, call->origin, fd);
    if (conn == NULL) {
        http_direct_end(call, "out of memory, or cannot watch a socket");
        return;
    }
    conn->call = call;
    call->conn = conn;
    (void)http_direct_write(call);
}

void http_direct_flush(struct http_direct *direct)
{
    struct list_node *first;
    while ((first = list_first(&direct->unsent)) != NULL) {
        struct http_direct_call *call = list_entry(first, struct http_direct_call, unsent_node);
        list_remove(first);
        (void)http_direct_write(call);
    }
}

static void http_direct_on_flush(void *ctx)
{
    struct http_direct *direct = ctx;
    direct->flush_timer = 0;
    http_direct_flush(direct);
}

/* Puts CALL on its origin's newest idle connection, or a new one. */
static void http_direct_start(struct http_direct_call *call)
{
    struct http_direct *direct = call->direct;
    struct http_direct_origin *origin = call->origin;
    struct list_node *newest = list_first(&origin->idle_conns);
    if (newest == NULL) {
        http_direct_open(call);
        return;
    }
    struct http_direct_conn *conn = list_entry(newest, struct http_direct_conn, idle_node);
    list_remove(newest);
    origin->idle--;
    direct->idle--;
    conn->call = call;
    call->conn = conn;
    list_push_back(&direct->unsent, &call->unsent_node); /* written with the others of this round (see the top) */
    if (direct->flush_timer == 0)
        direct->flush_timer = reactor_timer(direct->reactor, 0, http_direct_on_flush, direct);
    if (direct->flush_timer == 0)
        http_direct_flush(direct); /* no timer to wait for */
}

/* ---- the client ---- */

static void http_direct_on_deadline(void *ctx)
{
    struct http_direct *direct = ctx;
    direct->deadline_timer = 0;
    double now = clock_mono_ms_precise();
    struct list_node *soonest;
    while ((soonest = list_first(&direct->deadlines)) != NULL &&
           list_entry(soonest, struct http_direct_call, deadline_node)->deadline <= now) {
        struct http_direct_call *call = list_entry(soonest, struct http_direct_call, deadline_node);
        char message[160];
        snprintf(message, sizeof message,
                 "Timeout was reached: Operation timed out after %ld milliseconds with %zu bytes received",
                 call->timeout_ms, call->reply.body_size);
        call->timed_out = 1;
        http_direct_end(call, message);
    }
    http_direct_arm_deadline(direct);
}

struct http_direct *http_direct_new(struct reactor *reactor, http_direct_ended_fn ended)
{
    struct http_direct *direct = calloc(1, sizeof *direct);
    if (direct != NULL) {
        direct->reactor = reactor;
        direct->ended = ended;
        list_init(&direct->deadlines);
        list_init(&direct->unsent);
    }
    return direct;
}

void http_direct_free(struct http_direct *direct)
{
    if (direct == NULL)
        return;
    while (direct->origins != NULL) {
        struct http_direct_origin *origin = direct->origins;
        struct list_node *newest;
        while ((newest = list_first(&origin->idle_conns)) != NULL)
            http_direct_close(list_entry(newest, struct http_direct_conn, idle_node));
        direct->origins = origin->next;
        free(origin);
    }
    if (direct->deadline_timer != 0)
        reactor_cancel(direct->reactor, direct->deadline_timer);
    if (direct->sweep_timer != 0)
        reactor_cancel(direct->reactor, direct->sweep_timer);
    if (direct->flush_timer != 0)
        reactor_cancel(direct->reactor, direct->flush_timer);
    free(direct);
}

struct http_direct_call *http_direct_send(struct http_direct *direct, const struct http_request *request,
                                          void *owner)
{
    struct http_direct_target target;
    if (!http_direct_parse(request->url, &target))
        return NULL;
    struct http_direct_origin *origin = http_direct_origin_for(direct, &target);
    struct http_direct_call *call = origin != NULL ? http_direct_call_new(request, &target) : NULL;
    if (call == NULL)
        return NULL;
    call->direct = direct;
    call->owner = owner;
    call->origin = origin;
    if (request->timeout_ms > 0) {
        call->timeout_ms = request->timeout_ms;
        call->deadline = clock_mono_ms_precise() + (double)request->timeout_ms;
        http_direct_add_deadline(call);
    }
    http_direct_start(call);
    return call;
}

void http_direct_release(struct http_direct_call *call)
{
    if (call == NULL)
        return;
    if (!call->ended) {
        list_remove(&call->deadline_node);
        list_remove(&call->unsent_node);
        if (call->conn != NULL)
            http_direct_close(call->conn); /* an answer half read cannot be followed by another */
    }
    http_reply_free(&call->reply);
    free(call);
}

const struct http_reply *http_direct_reply(const struct http_direct_call *call)
{
    return &call->reply;
}

const char *http_direct_error(const struct http_direct_call *call, int *timed_out)
{
    if (timed_out != NULL)
        *timed_out = call->timed_out;
    return call->error;
}

size_t http_direct_prepare(struct http_direct *direct, const char *url, size_t count)
{
    struct http_direct_target target;
    if (!http_direct_parse(url, &target))
        return 0;
    struct http_direct_origin *origin = http_direct_origin_for(direct, &target);
    if (origin == NULL)
        return 0;
    size_t opened = 0;
    while (origin->idle < count && direct->idle < HTTP_DIRECT_MAX_IDLE) {
        int code = 0;
        int fd = http_direct_dial(origin, &code);
        struct http_direct_conn *conn = fd >= 0 ? http_direct_conn_new(direct, origin, fd) : NULL;
        if (conn == NULL)
            break; /* out of descriptors, say: the requests open what they need, and say why they cannot */
        http_direct_park(conn);
        opened++;
    }
    return opened;
}
