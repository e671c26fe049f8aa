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
 * HTTPS: a connection to an https origin carries a TLS link (tls.h) made
 * with the trust of the request's CA settings, one per settings for the
 * whole client, and the origin's ticket store, so connections after the
 * first resume. The link's handshake is driven by the same readiness
 * callbacks (before the request is written, for an idle connection opened
 * ahead too), and reading goes on until the link wants more from the
 * socket, since it may hold decrypted bytes the socket no longer shows.
 * An idle TLS connection that becomes readable is read: session tickets
 * are taken in and it stays; anything else, or a close, drops it.
 *
 * The first handshake of an https origin is a probe: while it runs and no
 * session ticket is kept yet, calls that would open further connections
 * wait for it (with the connections asked for ahead), and start once the
 * probe's ticket is in, so a burst of a thousand resumes one session
 * instead of making a thousand full handshakes (measured on loopback: each
 * full handshake costs the client about 0.5 ms of CPU, most of it reading
 * and verifying the certificate chain). The wait ends too when the probe
 * ends or fails, and HTTP_DIRECT_TICKET_WAIT times its handshake after the
 * handshake (servers that give no ticket); the calls are started from a
 * 0 ms timer, never from inside the probe's own callbacks.
 *
 * Connections opened ahead of a burst (http_direct_prepare) make their TLS
 * handshakes HTTP_DIRECT_HANDSHAKES_AHEAD at a time, the next opened as
 * one ends: each handshake holds about 40 KB of OpenSSL buffers, and ten
 * thousand at once made the client's peak 430 MB where the handshakes,
 * bound by CPU, end no sooner all together. A failed one stops the
 * opening ahead (the calls then open their own and say why they fail).
 *
 * Host names: an origin is a scheme, a host and a port (and for https a
 * trust). An origin named by a host name looks it up once, on a resolver
 * thread (resolve.h), its calls waiting meanwhile; the addresses then
 * serve every connection, as an IP address does, and are looked up again
 * in the background once older than HTTP_DIRECT_FRESH_MS. A connection
 * refused or unreachable at one address tries the next the lookup gave.
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
#include "http_url.h"
#include "list.h"
#include "resolve.h"
#include "tls.h"

#ifndef FAASET_VERSION
#define FAASET_VERSION "0"
#endif

#define HTTP_DIRECT_READ 65536          /* bytes read per receive */
#define HTTP_DIRECT_IDLE_MS 118000.0    /* an idle connection older than this is closed (libcurl's age) */
#define HTTP_DIRECT_SWEEP_MS 10000      /* how often idle connections are checked for age */
#define HTTP_DIRECT_MAX_IDLE 32768      /* idle connections kept at most; more are closed */
#define HTTP_DIRECT_FRESH_MS 60000.0    /* a host name's addresses are looked up again after this */
#define HTTP_DIRECT_TICKET_WAIT 1.5     /* how long after its handshake, in handshake times, a probe's
                                           ticket is waited for */
#define HTTP_DIRECT_TICKET_WAIT_MIN_MS 50.0
#define HTTP_DIRECT_ERROR 512           /* bytes of an error message */
#define HTTP_DIRECT_HANDSHAKES_AHEAD 256 /* TLS handshakes at once of connections opened ahead (see the top) */

struct http_direct_conn;

/* The CA settings of https requests and the TLS trust made from them. */
struct http_direct_trust {
    struct http_direct_trust *next;
    struct tls_trust *trust;            /* NULL when the settings could not be used: then ERROR */
    char *error;
    char *ca_file;                      /* NULL: the environment's (SSL_CERT_FILE, ...) */
};

/* Where requests go: a scheme, host and port (and trust), their addresses
 * and their idle connections. */
struct http_direct_origin {
    struct http_direct_origin *next;
    struct http_direct *direct;
    int tls;
    struct http_direct_trust *trust;    /* https only */
    struct tls_resume *resume;          /* https only: the server's newest session ticket */
    int port;
    char host[HTTP_URL_MAX_HOST];       /* as in the URL: for SNI, verification and messages */
    struct sockaddr_storage addresses[RESOLVE_MAX_ADDRESSES];
    socklen_t address_sizes[RESOLVE_MAX_ADDRESSES];
    int address_count;                  /* 0 until the first lookup answers */
    int address_at;                     /* the address new connections go to */
    double resolved_at;                 /* monotonic ms; 0 for an IP address (never looked up) */
    struct resolve_lookup *lookup;      /* a lookup under way, or NULL */
    struct list_node waiting;           /* calls waiting for the first lookup, or for the TLS probe */
    struct http_direct_conn *probe;     /* https: the handshake the others wait for (see the top), or NULL */
    unsigned long release_timer;        /* ends the wait for the probe */
    int probed;                         /* the origin had its probe (there is only one) */
    size_t handshakes_ahead;            /* TLS handshakes under way of connections opened ahead */
    size_t wanted_ahead;                /* connections to open ahead once it answers (http_direct_prepare) */
    struct list_node idle_conns;        /* idle connections, newest first */
    size_t idle;
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
    struct tls_link *tls;               /* https: the connection's TLS */
    double opened_at;                   /* monotonic ms, for the probe's handshake time */
    int ahead;                          /* opened ahead, its TLS handshake under way */
};

struct http_direct_call {
    struct http_direct *direct;
    void *owner;
    struct http_direct_origin *origin;
    struct http_direct_conn *conn;
    struct list_node deadline_node;     /* in the deadline list, when it has a deadline */
    struct list_node unsent_node;       /* in the list of requests to write this round, or of those
                                           waiting for their origin's name lookup */
    double deadline;                    /* monotonic ms, 0 = none */
    long timeout_ms;
    int ended, timed_out, retried;
    int addresses_tried;                /* addresses that refused a connection */
    const char *error;                  /* why it failed, or NULL */
    char *error_copy;                   /* ERROR when it could be copied */
    struct http_reply reply;
    size_t sent, request_size;
    char request[];
};

struct http_direct {
    struct reactor *reactor;
    http_direct_ended_fn ended;
    struct http_direct_origin *origins;
    struct http_direct_trust *trusts;
    struct list_node deadlines;         /* calls with a deadline, the soonest first */
    unsigned long deadline_timer;
    double deadline_armed;              /* when DEADLINE_TIMER fires */
    unsigned long sweep_timer;
    struct list_node unsent;            /* calls to write at the end of the round */
    unsigned long flush_timer;
    size_t connections, idle;
    char scratch[HTTP_DIRECT_READ];
};

static void http_direct_on_ready(void *ctx, int fd, int events);
static void http_direct_on_flush(void *ctx);
static void http_direct_start(struct http_direct_call *call);

/* ---- origins ---- */

int http_direct_takes(const char *url)
{
    struct http_url parsed;
    return http_url_parse(url, &parsed);
}

/* The trust for CA_FILE (NULL: the environment's), made on first use; NULL
 * when out of memory. One whose settings cannot be used holds the error. */
static struct http_direct_trust *http_direct_trust_for(struct http_direct *direct, const char *ca_file,
                                                       const char *ca_source)
{
    if (ca_file != NULL && ca_file[0] == '\0')
        ca_file = NULL;
    for (struct http_direct_trust *trust = direct->trusts; trust != NULL; trust = trust->next)
        if (ca_file == NULL ? trust->ca_file == NULL : trust->ca_file != NULL && strcmp(trust->ca_file, ca_file) == 0)
            return trust;
    struct http_direct_trust *trust = calloc(1, sizeof *trust);
    if (trust == NULL || (ca_file != NULL && (trust->ca_file = strdup(ca_file)) == NULL)) {
        free(trust);
        return NULL;
    }
    char error[HTTP_DIRECT_ERROR];
    trust->trust = tls_trust_new(ca_file, ca_source, error, sizeof error);
    if (trust->trust == NULL && (trust->error = strdup(error)) == NULL) {
        free(trust->ca_file);
        free(trust);
        return NULL;
    }
    trust->next = direct->trusts;
    direct->trusts = trust;
    return trust;
}

/* ORIGIN's current address as text, for messages. */
static const char *http_direct_address_text(const struct http_direct_origin *origin, char *text, size_t size)
{
    const struct sockaddr_storage *address = &origin->addresses[origin->address_at];
    const void *raw = address->ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)address)->sin6_addr
                                                     : (const void *)&((const struct sockaddr_in *)address)->sin_addr;
    if (inet_ntop(address->ss_family, raw, text, (socklen_t)size) == NULL)
        snprintf(text, size, "?");
    return text;
}

static struct http_direct_origin *http_direct_origin_for(struct http_direct *direct, const struct http_url *url,
                                                         struct http_direct_trust *trust)
{
    for (struct http_direct_origin *origin = direct->origins; origin != NULL; origin = origin->next)
        if (origin->tls == url->tls && origin->port == url->port && origin->trust == trust &&
            strcmp(origin->host, url->host) == 0)
            return origin;
    struct http_direct_origin *origin = calloc(1, sizeof *origin);
    if (origin == NULL || (url->tls && (origin->resume = tls_resume_new()) == NULL)) {
        free(origin);
        return NULL;
    }
    origin->direct = direct;
    origin->tls = url->tls;
    origin->trust = trust;
    origin->port = url->port;
    memcpy(origin->host, url->host, sizeof origin->host);
    if (url->host_is_address) {
        origin->addresses[0] = url->address;
        origin->address_sizes[0] = url->address_size;
        origin->address_count = 1;
    }
    list_init(&origin->waiting);
    list_init(&origin->idle_conns);
    origin->next = direct->origins;
    direct->origins = origin;
    return origin;
}

static void http_direct_end(struct http_direct_call *call, const char *error);
static size_t http_direct_open_ahead(struct http_direct_origin *origin, size_t count);

/* Opens the connections asked for ahead and starts the calls that waited
 * for ORIGIN (its lookup or its probe); a call that must wait again (for a
 * probe one of them started) goes back to the list, not into this loop. */
static void http_direct_start_waiting(struct http_direct_origin *origin)
{
    if (origin->wanted_ahead > 0) {
        size_t count = origin->wanted_ahead;
        origin->wanted_ahead = 0;
        (void)http_direct_open_ahead(origin, count);
    }
    struct list_node starting;
    list_init(&starting);
    struct list_node *first;
    while ((first = list_first(&origin->waiting)) != NULL) {
        list_remove(first);
        list_push_back(&starting, first);
    }
    while ((first = list_first(&starting)) != NULL) {
        list_remove(first);
        http_direct_start(list_entry(first, struct http_direct_call, unsent_node));
    }
}

/* ---- the TLS probe (see the top) ---- */

static void http_direct_on_release(void *ctx)
{
    struct http_direct_origin *origin = ctx;
    origin->release_timer = 0;
    origin->probe = NULL;
    http_direct_start_waiting(origin);
}

/* Ends the wait for ORIGIN's probe DELAY_MS from now (sooner if already set). */
static void http_direct_release_in(struct http_direct_origin *origin, double delay_ms)
{
    struct reactor *reactor = origin->direct->reactor;
    if (origin->release_timer != 0) {
        if (delay_ms > 0)
            return;
        reactor_cancel(reactor, origin->release_timer);
    }
    origin->release_timer = reactor_timer(reactor, (long long)delay_ms, http_direct_on_release, origin);
    if (origin->release_timer == 0)
        http_direct_on_release(origin); /* no timer to be had: no wait either */
}

/* Whether a new connection to ORIGIN is to be its probe. */
static int http_direct_wants_probe(const struct http_direct_origin *origin)
{
    return origin->tls && !origin->probed && !tls_resume_ready(origin->resume);
}

/* The lookup of ORIGIN's host name answered: new addresses (or, when it
 * failed, the old ones if any) serve new connections, and the calls that
 * waited for it start, or fail when there is no address at all. */
static void http_direct_on_resolved(void *ctx, const struct resolve_result *result)
{
    struct http_direct_origin *origin = ctx;
    origin->lookup = NULL;
    origin->resolved_at = clock_mono_ms_precise();
    if (result->count > 0) {
        for (int i = 0; i < result->count; i++) {
            origin->addresses[i] = result->addresses[i];
            origin->address_sizes[i] = result->sizes[i];
        }
        origin->address_count = result->count;
        origin->address_at = 0;
    }
    struct list_node *first;
    if (origin->address_count == 0) {
        char message[HTTP_DIRECT_ERROR];
        snprintf(message, sizeof message, "Could not resolve host: %s (%s)", origin->host,
                 result->error != NULL ? result->error : "no address");
        while ((first = list_first(&origin->waiting)) != NULL)
            http_direct_end(list_entry(first, struct http_direct_call, unsent_node), message);
        origin->wanted_ahead = 0;
        return;
    }
    http_direct_start_waiting(origin);
}

/* Starts looking ORIGIN's host name up unless a lookup is under way; 0, or
 * -1 when no lookup can be started. */
static int http_direct_resolve(struct http_direct_origin *origin)
{
    if (origin->lookup != NULL)
        return 0;
    origin->lookup = resolve_start(origin->direct->reactor, origin->host, origin->port, http_direct_on_resolved,
                                   origin);
    return origin->lookup != NULL ? 0 : -1;
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
                                                     const struct http_url *target)
{
    const char *method = request->method;
    int no_body = strcmp(method, "HEAD") == 0;
    int always_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
    int with_body = !no_body && (always_body || request->body_size > 0);
    int given_host = 0, given_agent = 0, given_accept = 0, given_length = 0;
    size_t size = strlen(method) + target->path_length + sizeof " / HTTP/1.1\r\n" + sizeof "Host: \r\n" +
                  strlen(target->authority) + sizeof "User-Agent: faaset/" FAASET_VERSION "\r\n" +
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
        at = http_direct_put(at, target->authority, strlen(target->authority));
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

/* CONN, opened ahead, ended its handshake (SUCCEEDED, or not): the next
 * connections ahead are opened from the release timer, or, after a
 * failure, none more. */
static void http_direct_ahead_done(struct http_direct_conn *conn, int succeeded)
{
    struct http_direct_origin *origin = conn->origin;
    if (!conn->ahead)
        return;
    conn->ahead = 0;
    origin->handshakes_ahead--;
    if (!succeeded)
        origin->wanted_ahead = 0;
    else if (origin->wanted_ahead > 0 && origin->probe != conn) /* (the probe's end has its own wait) */
        http_direct_release_in(origin, 0);
}

/* Closes CONN's socket and frees it (it is in no list). */
static void http_direct_drop(struct http_direct_conn *conn)
{
    struct http_direct *direct = conn->direct;
    http_direct_ahead_done(conn, 0);
    if (conn->origin->probe == conn) {
        conn->origin->probe = NULL;
        http_direct_release_in(conn->origin, 0);
    }
    reactor_unwatch(direct->reactor, conn->fd);
    tls_link_free(conn->tls);
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
    if (error != NULL && call->error == NULL) { /* copied first: it may live in the connection */
        call->error_copy = strdup(error);
        call->error = call->error_copy != NULL ? call->error_copy : "out of memory";
    }
    list_remove(&call->deadline_node);
    list_remove(&call->unsent_node);
    if (call->conn != NULL)
        http_direct_close(call->conn);
    call->ended = 1;
    call->direct->ended(call->owner);
}

static void http_direct_open(struct http_direct_call *call);

/* CALL's connection failed during WHAT ("Send failure", "Recv failure", or
 * a TLS sentence), with the OS error CODE (or 0): a reused connection that
 * had not answered yet was closed by the server meanwhile, so the request
 * goes out once more on a new connection (not another idle one: a server
 * that dropped one has often dropped them all); otherwise the call fails. */
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
    char message[HTTP_DIRECT_ERROR];
    if (code == 0)
        snprintf(message, sizeof message, "%s", what);
    else
        snprintf(message, sizeof message, "%s: %s", what, strerror(code));
    http_direct_end(call, message);
}

/* Errors of connect() itself, after which another address may answer. */
static int http_direct_connect_error(int code)
{
    return code == ECONNREFUSED || code == ENETUNREACH || code == EHOSTUNREACH || code == EADDRNOTAVAIL ||
           code == EAFNOSUPPORT || code == ETIMEDOUT;
}

/* CALL could not connect (error CODE): the next address of its origin, if
 * the lookup gave one not yet tried, else the call fails. */
static void http_direct_connect_failed(struct http_direct_call *call, int code)
{
    struct http_direct_origin *origin = call->origin;
    if (http_direct_connect_error(code) && call->addresses_tried + 1 < origin->address_count) {
        call->addresses_tried++;
        origin->address_at = (origin->address_at + 1) % origin->address_count;
        if (call->conn != NULL)
            http_direct_close(call->conn);
        list_remove(&call->unsent_node);
        call->sent = 0;
        http_direct_open(call);
        return;
    }
    char address[INET6_ADDRSTRLEN];
    http_direct_address_text(origin, address, sizeof address);
    char message[HTTP_DIRECT_ERROR];
    if (strcmp(address, origin->host) == 0)
        snprintf(message, sizeof message, "Failed to connect to %s port %d: %s", origin->host, origin->port,
                 strerror(code));
    else
        snprintf(message, sizeof message, "Failed to connect to %s port %d (%s): %s", origin->host, origin->port,
                 address, strerror(code));
    http_direct_end(call, message);
}

/* CONN's TLS handshake failed: its call fails with the link's sentence (or
 * as a connection failure when the socket never connected); an idle
 * connection opened ahead is dropped (its call-to-be will say why). */
static void http_direct_handshake_failed(struct http_direct_conn *conn)
{
    struct http_direct_call *call = conn->call;
    int code = tls_link_errno(conn->tls);
    if (call == NULL)
        http_direct_close(conn);
    else if (conn->connecting && http_direct_connect_error(code))
        http_direct_connect_failed(call, code);
    else
        http_direct_end(call, tls_link_error(conn->tls));
}

/* ---- the exchange ---- */

/* Watches CONN for reading, and for writing too when WRITING; 1, or 0 when
 * the reactor refused and the connection (and its call) ended. */
static int http_direct_watch(struct http_direct_conn *conn, int writing)
{
    if (conn->writing == writing)
        return 1;
    if (reactor_watch(conn->direct->reactor, conn->fd, writing ? REACTOR_READ | REACTOR_WRITE : REACTOR_READ,
                      http_direct_on_ready, conn) < 0) {
        if (conn->call != NULL)
            http_direct_end(conn->call, "cannot watch a socket");
        else
            http_direct_close(conn);
        return 0;
    }
    conn->writing = writing;
    return 1;
}

/* Drives CONN's TLS handshake; 1 while the connection goes on (the
 * handshake done or waiting for the socket), 0 when it ended. */
static int http_direct_handshake(struct http_direct_conn *conn)
{
    switch (tls_link_handshake(conn->tls)) {
    case TLS_DONE:
        conn->connecting = 0;
        http_direct_ahead_done(conn, 1);
        if (conn->origin->probe == conn) {
            double took = clock_mono_ms_precise() - conn->opened_at;
            double wait = took * HTTP_DIRECT_TICKET_WAIT;
            http_direct_release_in(conn->origin, tls_resume_ready(conn->origin->resume) ? 0
                                                 : wait > HTTP_DIRECT_TICKET_WAIT_MIN_MS ? wait
                                                                                          : HTTP_DIRECT_TICKET_WAIT_MIN_MS);
        }
        return http_direct_watch(conn, 0); /* the request's write watches again if it must */
    case TLS_WANT_READ:
        return http_direct_watch(conn, 0);
    case TLS_WANT_WRITE:
        return http_direct_watch(conn, 1);
    default:
        http_direct_handshake_failed(conn);
        return 0;
    }
}

/* Sends what is left of CALL's request; 1 while the call goes on on its
 * connection, 0 when it ended or moved to another one. */
static int http_direct_write(struct http_direct_call *call)
{
    struct http_direct_conn *conn = call->conn;
    while (call->sent < call->request_size) {
        const char *data = call->request + call->sent;
        size_t left = call->request_size - call->sent;
        if (conn->tls != NULL) {
            size_t written = 0;
            switch (tls_link_write(conn->tls, data, left, &written)) {
            case TLS_DONE:
                call->sent += written;
                conn->connecting = 0;
                continue;
            case TLS_WANT_READ:
                return 1; /* reading is always watched */
            case TLS_WANT_WRITE:
                return http_direct_watch(conn, 1);
            default:
                if (!tls_link_established(conn->tls))
                    http_direct_handshake_failed(conn);
                else if (tls_link_errno(conn->tls) != 0)
                    http_direct_broken(call, "Send failure", tls_link_errno(conn->tls));
                else
                    http_direct_broken(call, tls_link_error(conn->tls), 0);
                return 0;
            }
        }
        ssize_t n = send(conn->fd, data, left, MSG_NOSIGNAL);
        if (n > 0) {
            call->sent += (size_t)n;
            conn->connecting = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return http_direct_watch(conn, 1);
        int code = n < 0 ? errno : EPIPE;
        if (conn->connecting)
            http_direct_connect_failed(call, code);
        else
            http_direct_broken(call, "Send failure", code);
        return 0;
    }
    return http_direct_watch(conn, 0);
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

/* One receive on CONN into the scratch buffer: the bytes read, 0 at the
 * end of the stream, -1 with errno on failure, or -2 when there is nothing
 * to read now. A TLS failure without an OS error sets *TLS_FAILURE. */
static ssize_t http_direct_receive(struct http_direct_conn *conn, int *tls_failure)
{
    struct http_direct *direct = conn->direct;
    if (conn->tls == NULL) {
        ssize_t n;
        do
            n = recv(conn->fd, direct->scratch, sizeof direct->scratch, 0);
        while (n < 0 && errno == EINTR);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? -2 : n;
    }
    size_t got = 0;
    enum tls_step step = tls_link_read(conn->tls, direct->scratch, sizeof direct->scratch, &got);
    if (conn->origin->probe == conn && tls_resume_ready(conn->origin->resume))
        http_direct_release_in(conn->origin, 0); /* the ticket is in */
    switch (step) {
    case TLS_DONE:
        return (ssize_t)got;
    case TLS_CLOSED:
        return 0;
    case TLS_WANT_READ:
        return -2;
    case TLS_WANT_WRITE:
        return http_direct_watch(conn, 1) ? -2 : -3;
    default:
        errno = tls_link_errno(conn->tls);
        *tls_failure = errno == 0;
        return -1;
    }
}

static void http_direct_read(struct http_direct_conn *conn)
{
    struct http_direct *direct = conn->direct;
    for (;;) {
        int tls_failure = 0;
        ssize_t n = http_direct_receive(conn, &tls_failure);
        if (n == -2 || n == -3)
            return; /* nothing more now (or the connection ended while asking to write) */
        struct http_direct_call *call = conn->call;
        if (call == NULL) { /* idle: the server closed it (or sent what nobody asked for) */
            http_direct_close(conn);
            return;
        }
        if (n < 0) {
            if (tls_failure)
                http_direct_broken(call, tls_link_error(conn->tls), 0);
            else if (conn->connecting)
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
            http_direct_answered(conn, used < (size_t)n || (conn->tls != NULL && tls_link_pending(conn->tls) > 0));
            return;
        }
        if (state == HTTP_REPLY_FAILED) {
            http_direct_end(call, call->reply.error);
            return;
        }
        if (conn->tls == NULL && (size_t)n < sizeof direct->scratch)
            return; /* the rest when it comes (a TLS link reads on until it wants the socket) */
    }
}

static void http_direct_on_ready(void *ctx, int fd, int events)
{
    (void)fd;
    struct http_direct_conn *conn = ctx;
    struct http_direct_call *call = conn->call;
    if (conn->connecting && (events & REACTOR_WRITE)) {
        int code = 0;
        socklen_t length = sizeof code;
        if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 && code != 0) {
            if (call != NULL)
                http_direct_connect_failed(call, code);
            else
                http_direct_close(conn);
            return;
        }
    }
    if (conn->tls != NULL && !tls_link_established(conn->tls)) {
        if (!http_direct_handshake(conn) || !tls_link_established(conn->tls))
            return; /* ended, or waiting for the socket */
        events |= REACTOR_WRITE; /* the request can go now */
    } else if (conn->connecting && call == NULL && (events & REACTOR_WRITE)) {
        conn->connecting = 0; /* opened ahead, and up: http_direct_preparing counts it ready */
        (void)http_direct_watch(conn, 0);
        return;
    }
    if (call != NULL && call->sent < call->request_size && (events & REACTOR_WRITE || conn->tls != NULL) &&
        !http_direct_write(call))
        return; /* failed, or retried on another connection */
    if (events & REACTOR_READ)
        http_direct_read(conn);
}

/* A connected (or connecting) non-blocking socket to ORIGIN's current
 * address, or -1 with *CODE the error. */
static int http_direct_dial(const struct http_direct_origin *origin, int *code)
{
    const struct sockaddr_storage *address = &origin->addresses[origin->address_at];
    int fd = socket(address->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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
    if (connect(fd, (const struct sockaddr *)address, origin->address_sizes[origin->address_at]) < 0 &&
        errno != EINPROGRESS) {
        *code = errno;
        close(fd);
        return -1;
    }
    return fd;
}

/* A connection record for FD, watched for reading (and for an https
 * origin, with its TLS link, for writing too: the handshake starts once
 * the socket is up); NULL (FD closed) when out of memory or the reactor
 * refuses. */
static struct http_direct_conn *http_direct_conn_new(struct http_direct *direct, struct http_direct_origin *origin,
                                                     int fd)
{
    struct http_direct_conn *conn = calloc(1, sizeof *conn);
    int tls = origin->tls;
    if (conn == NULL ||
        (tls && (conn->tls = tls_link_new(origin->trust->trust, origin->resume, fd, origin->host, origin->port)) ==
                    NULL) ||
        reactor_watch(direct->reactor, fd, tls ? REACTOR_READ | REACTOR_WRITE : REACTOR_READ, http_direct_on_ready,
                      conn) < 0) {
        if (conn != NULL)
            tls_link_free(conn->tls);
        free(conn);
        close(fd);
        return NULL;
    }
    conn->direct = direct;
    conn->origin = origin;
    conn->fd = fd;
    conn->connecting = 1;
    conn->writing = tls;
    conn->opened_at = clock_mono_ms_precise();
    if (http_direct_wants_probe(origin)) {
        origin->probe = conn;
        origin->probed = 1;
    }
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
    if (conn->tls == NULL)
        (void)http_direct_write(call);
    /* (TLS: the handshake starts when the socket says it is up.) */
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

/* Puts CALL on its origin's newest idle connection, or a new one; waits
 * for the origin's first name lookup. */
static void http_direct_start(struct http_direct_call *call)
{
    struct http_direct *direct = call->direct;
    struct http_direct_origin *origin = call->origin;
    if (origin->resolved_at > 0 && origin->lookup == NULL &&
        clock_mono_ms_precise() - origin->resolved_at >= HTTP_DIRECT_FRESH_MS)
        (void)http_direct_resolve(origin); /* in the background: the old addresses serve meanwhile */
    if (origin->address_count == 0) {
        if (http_direct_resolve(origin) < 0) {
            http_direct_end(call, "cannot start a name lookup (out of threads or descriptors)");
            return;
        }
        list_push_back(&origin->waiting, &call->unsent_node);
        return;
    }
    struct list_node *newest = list_first(&origin->idle_conns);
    if (newest == NULL && origin->probe != NULL) {
        list_push_back(&origin->waiting, &call->unsent_node); /* until the probe's ticket is in */
        return;
    }
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
        resolve_cancel(origin->lookup);
        if (origin->release_timer != 0)
            reactor_cancel(direct->reactor, origin->release_timer);
        tls_resume_free(origin->resume);
        direct->origins = origin->next;
        free(origin);
    }
    while (direct->trusts != NULL) {
        struct http_direct_trust *trust = direct->trusts;
        direct->trusts = trust->next;
        tls_trust_free(trust->trust);
        free(trust->error);
        free(trust->ca_file);
        free(trust);
    }
    if (direct->deadline_timer != 0)
        reactor_cancel(direct->reactor, direct->deadline_timer);
    if (direct->sweep_timer != 0)
        reactor_cancel(direct->reactor, direct->sweep_timer);
    if (direct->flush_timer != 0)
        reactor_cancel(direct->reactor, direct->flush_timer);
    free(direct);
}

/* The origin of URL (and REQUEST's CA settings for https), or NULL when
 * out of memory; *TRUST_ERROR is set when those settings cannot be used. */
static struct http_direct_origin *http_direct_origin_of(struct http_direct *direct, const struct http_url *url,
                                                        const struct http_request *request,
                                                        const char **trust_error)
{
    struct http_direct_trust *trust = NULL;
    *trust_error = NULL;
    if (url->tls) {
        trust = http_direct_trust_for(direct, request != NULL ? request->ca_file : NULL,
                                      request != NULL ? request->ca_source : NULL);
        if (trust == NULL)
            return NULL;
        *trust_error = trust->error;
    }
    return http_direct_origin_for(direct, url, trust);
}

struct http_direct_call *http_direct_send(struct http_direct *direct, const struct http_request *request,
                                          void *owner)
{
    struct http_url url;
    if (!http_url_parse(request->url, &url))
        return NULL;
    const char *trust_error;
    struct http_direct_origin *origin = http_direct_origin_of(direct, &url, request, &trust_error);
    struct http_direct_call *call = origin != NULL ? http_direct_call_new(request, &url) : NULL;
    if (call == NULL)
        return NULL;
    call->direct = direct;
    call->owner = owner;
    call->origin = origin;
    if (trust_error != NULL) {
        http_direct_end(call, trust_error);
        return call;
    }
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
    free(call->error_copy);
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

/* Opens connections to ORIGIN (whose addresses are known) until COUNT are
 * idle; returns how many it opened. */
static size_t http_direct_open_ahead(struct http_direct_origin *origin, size_t count)
{
    struct http_direct *direct = origin->direct;
    size_t opened = 0;
    if (origin->probe != NULL || http_direct_wants_probe(origin)) {
        origin->wanted_ahead = count > origin->wanted_ahead ? count : origin->wanted_ahead;
        if (origin->probe != NULL)
            return 0; /* the rest once the probe's ticket is in */
        count = 1;    /* the probe, then the rest */
    }
    while (origin->idle < count && direct->idle < HTTP_DIRECT_MAX_IDLE) {
        if (origin->tls && origin->handshakes_ahead >= HTTP_DIRECT_HANDSHAKES_AHEAD) {
            origin->wanted_ahead = count; /* the rest as handshakes end */
            break;
        }
        int code = 0;
        int fd = http_direct_dial(origin, &code);
        struct http_direct_conn *conn = fd >= 0 ? http_direct_conn_new(direct, origin, fd) : NULL;
        if (conn == NULL)
            break; /* out of descriptors, say: the requests open what they need, and say why they cannot */
        if (origin->tls) {
            conn->ahead = 1;
            origin->handshakes_ahead++;
        }
        http_direct_park(conn);
        if (!http_direct_watch(conn, 1)) /* writable once connected (see http_direct_on_ready) */
            break;
        opened++;
    }
    return opened;
}

/* The origin requests to URL with CA_FILE go to, or NULL (a URL this
 * client does not take, CA settings that cannot be used, out of memory). */
static struct http_direct_origin *http_direct_origin_of_url(struct http_direct *direct, const char *url,
                                                            const char *ca_file)
{
    struct http_url parsed;
    if (!http_url_parse(url, &parsed))
        return NULL;
    const char *trust_error;
    struct http_request like = {.url = url, .ca_file = ca_file};
    struct http_direct_origin *origin = http_direct_origin_of(direct, &parsed, &like, &trust_error);
    return trust_error == NULL ? origin : NULL;
}

size_t http_direct_prepare(struct http_direct *direct, const char *url, const char *ca_file, size_t count)
{
    struct http_direct_origin *origin = http_direct_origin_of_url(direct, url, ca_file);
    if (origin == NULL)
        return 0;
    if (origin->address_count == 0) { /* once the name is looked up */
        origin->wanted_ahead = count > origin->wanted_ahead ? count : origin->wanted_ahead;
        (void)http_direct_resolve(origin);
        return 0;
    }
    return http_direct_open_ahead(origin, count);
}

size_t http_direct_preparing(struct http_direct *direct, const char *url, const char *ca_file)
{
    struct http_direct_origin *origin = http_direct_origin_of_url(direct, url, ca_file);
    if (origin == NULL)
        return 0;
    size_t waiting = origin->wanted_ahead;
    struct list_node *node, *next;
    list_for_each_safe(node, next, &origin->idle_conns) {
        struct http_direct_conn *conn = list_entry(node, struct http_direct_conn, idle_node);
        waiting += conn->connecting || (conn->tls != NULL && !tls_link_established(conn->tls));
    }
    return waiting;
}
