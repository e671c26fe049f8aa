/* http: the shared HTTP engine (see http.h), libcurl's multi interface on
 * the kernel's reactor, beside the engine's own client for http:// and
 * https:// (http_direct: at ten thousand requests in flight, libcurl was
 * half of the CPU time per answer, and over TLS it built an SSL_CTX and
 * loaded the CA store per connection). http_send routes each request: to
 * http_direct when it takes the URL (and neither FAASET_HTTP_DIRECT=0 nor
 * a proxy in the environment for that scheme says otherwise), else to
 * libcurl; both end in the same completion queue below, so
 * callers see one engine. libcurl itself is loaded, and the engine's
 * share made, when the first request needs it (curl_api.h), so a kernel
 * that never uses a proxy never maps libcurl and its twenty libraries.
 * What follows is about the libcurl side.
 *
 * Shards: libcurl 7.88 walks a multi handle's whole connection cache at
 * least twice per transfer (looking for a connection to reuse, and again
 * when the transfer is removed), so one multi handle with ten thousand
 * connections costs far more per answer than the answer itself. The engine
 * therefore spreads its transfers over several multi handles, the shards,
 * each holding at most HTTP_SHARD_TRANSFERS of them: a transfer goes to the
 * first shard with room, else to a new shard (up to HTTP_MAX_SHARDS), else
 * to the least busy one. Filling the first shards first keeps a
 * request-after-request client on one shard and a wave that follows a wave
 * on the shards whose idle connections it can reuse. Shards never share
 * connections (that would bring the long walk back); they share one CURLSH
 * for DNS (so a name looked up by one shard serves all, see below) and TLS
 * sessions. Shards are made on demand and live as long as the engine.
 *
 * Each shard tells the engine which sockets to wait for (socket callback →
 * reactor_watch / reactor_unwatch) and when to call it back at the latest
 * (timer callback → one reactor timer per shard, replaced on each change);
 * the engine hands readiness and timer expiry back to that shard with
 * curl_multi_socket_action and then collects what it reports done.
 * http_send also lets the shard start its new transfer at once (connect,
 * or write the request on an idle connection) instead of from the shard's
 * 0 ms timer, which would fire only after the rest of the loop round: a
 * wave of callbacks that each send the next request would otherwise hold
 * every request back until the last callback ran, and the request's send
 * time would not be when it went out. When that opened a new connection,
 * http_send hands libcurl the new socket as writable right away: on
 * loopback or a near host the connection is already up, and the request
 * goes out now, not after the thousands of other requests of a launch.
 * (Measured: a launch of 1000 requests to a loopback server had every
 * request wait about 30 ms for the last one to be handed over.)
 *
 * Completion: a transfer libcurl reports done is taken out of its multi
 * handle at once (its connection is free for the next request), stamped
 * with the time (so its receive time is when its answer was read, not when
 * its callback got its turn) and queued; the queue runs from a 0 ms reactor
 * timer, after every socket that was ready in the same loop round has been
 * read. So callbacks never run inside libcurl or inside http_send, and a
 * callback can start requests (curl_multi_add_handle is never called from
 * inside libcurl) and, through a depth counter, even free the engine:
 * http_engine_free cancels what is left, queued answers included, and the
 * last engine entry point on the stack releases the memory. At most
 * HTTP_DONE_PER_ROUND callbacks run per round; the rest wait for the next
 * one, after the loop has read its sockets again, so answers that arrive
 * while a burst of callbacks sends the next requests are read (and
 * stamped) without waiting for the whole burst (measured at 1000 in
 * flight: client overhead p99 9.4 -> 3.7 ms).
 *
 * Name lookups: libcurl's resolver runs one thread per lookup, so a burst
 * of ten thousand requests to a new host would start ten thousand threads
 * and DNS queries. Per host:port, one request (the probe) looks the name
 * up while the others of the burst wait in the engine; once the probe opens
 * a socket the address is in the shared DNS cache and they all start, on
 * whichever shards. The cache never expires by itself: every
 * HTTP_DNS_FRESH_MS the next probe removes the host's entry first, so
 * addresses are renewed that often. A probe that reused a connection (no
 * lookup) hands the role to the next waiting request; one that failed
 * releases them all. Hosts given as IP addresses are not gated. Sockets are
 * opened close-on-exec: the kernel's worker processes must not inherit
 * connections.
 *
 * A failure libcurl cannot report itself is recorded on the transfer (a
 * socket the reactor could not watch, a response over the size cap, a
 * released request libcurl refused) and the transfer completed with it
 * after the current libcurl call, never from inside one. Each transfer
 * holds its copied body, its header list, libcurl's error buffer and two
 * growing buffers for the response: a few hundred bytes beside what libcurl
 * needs for the handle and the connection. A finished transfer's easy
 * handle is reset and kept for the next request (up to HTTP_IDLE_HANDLES
 * of them), and the host gate of the last URL is remembered, so a request
 * after a request to the same URL costs neither a new handle nor a URL
 * parse. */
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "curl_api.h"
#include "http_direct.h"
#include "http_reply.h"
#include "list.h"
#include "log.h"

#ifndef FAASET_VERSION
#define FAASET_VERSION "0"
#endif

#define HTTP_MAX_METHOD 16
#define HTTP_SHARD_TRANSFERS 128 /* transfers a shard takes while another shard can be made */
#define HTTP_MAX_SHARDS 256      /* 32,768 transfers before shards take more than their share */
#define HTTP_IDLE_HANDLES 64     /* easy handles kept for the next requests */
#define HTTP_DONE_PER_ROUND 16   /* callbacks run before the loop reads its sockets again */
/* Connections a shard keeps open (idle ones beyond it are closed, oldest first). */
#define HTTP_SHARD_CONNECTIONS (2L * HTTP_SHARD_TRANSFERS)
#ifndef HTTP_DNS_FRESH_MS
#define HTTP_DNS_FRESH_MS 60000.0 /* how long an address found by a probe is used */
#endif

struct http_buffer {
    char *data;                 /* NUL-terminated once allocated */
    size_t size, capacity;
};

struct http_host;
struct http_engine;

/* One libcurl multi handle and its reactor timer (see the top). */
struct http_shard {
    struct http_engine *engine;
    CURLM *multi;
    unsigned long timer_id;     /* the reactor timer standing for libcurl's, or 0 */
    size_t transfers;           /* in MULTI */
};

struct http_transfer {
    struct http_engine *engine;
    struct http_shard *shard;       /* the multi handle it is in, or NULL (waiting, or finished) */
    CURL *easy;                     /* libcurl's, or NULL when DIRECT carries it */
    struct http_direct_call *direct;
    struct curl_slist *headers;
    struct curl_slist *resolve;     /* a probe's "-host:port": renew the cached address */
    http_done_fn done;
    void *ctx;
    struct list_node node;          /* in the engine's transfers, until its callback has run */
    struct http_host *host;         /* its host's name lookup gate, or NULL */
    struct list_node waiting_node;  /* in its host's waiting list */
    struct list_node done_node;     /* in the engine's completion queue */
    int finished;                   /* out of libcurl for good: its callback is queued or running */
    int probing;                    /* the probe of HOST, until it opens a socket */
    int opened_fd;                  /* the socket it opened for a new connection, or -1 */
    long timeout_ms;
    struct http_buffer head;    /* "Name: value\0" lines, then one more NUL */
    struct http_buffer body;
    const char *failure;        /* set by the engine's own callbacks: overrides libcurl's error */
    CURLcode result;            /* libcurl's, once finished */
    double sent_real_ms, sent_mono_ms;
    double received_real_ms, received_mono_ms;  /* when it finished */
    char error[CURL_ERROR_SIZE];
    char method[HTTP_MAX_METHOD + 1];
    char request_body[];        /* body_size + 1 bytes */
};

/* A host:port whose name lookups the engine serialises (see the top). */
struct http_host {
    struct http_host *next;
    double fresh_until;             /* monotonic ms: its address is in libcurl's cache until then */
    struct http_transfer *probe;    /* the one request that may look the name up, or NULL */
    struct list_node waiting;       /* transfers waiting for the probe, oldest first */
    int release;                    /* HTTP_RELEASE_*: what to do with WAITING once out of libcurl */
    char key[];                     /* "host:port", lower case */
};

enum { HTTP_RELEASE_NONE, HTTP_RELEASE_ONE, HTTP_RELEASE_ALL };

struct http_engine {
    struct reactor *reactor;
    struct http_direct *direct; /* the own client, or NULL (FAASET_HTTP_DIRECT=0) */
    int proxy_http, proxy_https; /* the environment names a proxy for http:// or https:// (then libcurl's) */
    CURLSH *share;              /* DNS and TLS sessions, for every shard */
    struct http_shard *shards[HTTP_MAX_SHARDS];
    size_t shard_count;
    struct list_node done;      /* finished, callbacks to run, oldest first */
    unsigned long done_timer;   /* the reactor timer that runs them, or 0 */
    struct list_node transfers;
    size_t in_flight;
    int depth;                  /* engine entry points on the stack that may run callbacks */
    int closing;                /* http_engine_free was called */
    int failures;               /* some transfer has a failure to complete it with */
    int releases;               /* some host has a release to do */
    struct http_host *hosts;
    CURL *idle[HTTP_IDLE_HANDLES];  /* easy handles of finished transfers, reset, for the next ones */
    size_t idle_count;
    char *last_url;             /* the URL of the last request, LAST_HOST its gate (NULL: none) */
    struct http_host *last_host;
};

static void http_engine_destroy(struct http_engine *engine);
static struct http_shard *http_shard_new(struct http_engine *engine);

/* libcurl's functions, once a request has needed them (curl_api.h). */
static const struct curl_api *http_curl;

/* ---- time and process-wide setup ---- */

/* Raises the open file limit once per process: every request in flight
 * holds a socket, so allow as many as the hard limit. */
static void http_raise_file_limit(void)
{
    static int raised;
    struct rlimit limit;
    if (raised || getrlimit(RLIMIT_NOFILE, &limit) < 0)
        return;
    raised = 1;
    if (limit.rlim_cur < limit.rlim_max) {
        rlim_t was = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
            log_warn("http: cannot raise the open file limit above %llu", (unsigned long long)was);
    }
}

/* The libcurl side of ENGINE, made when a request first needs it (see
 * curl_api.h): libcurl loaded, the share and the first shard. 0, or -1
 * (logged) when libcurl cannot serve. */
static int http_curl_ready(struct http_engine *engine)
{
    if (engine->share != NULL)
        return 0;
    char error[256];
    if (http_curl == NULL && (http_curl = curl_api_load(error, sizeof error)) == NULL) {
        log_error("http: %s", error);
        return -1;
    }
    CURLSH *share = http_curl->share_init();
    int bad = share == NULL;
    if (!bad) {
        /* Name lookups and TLS sessions serve every shard; connections stay in theirs. */
        bad |= http_curl->share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK;
        bad |= http_curl->share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK;
    }
    if (bad) {
        if (share != NULL)
            http_curl->share_cleanup(share);
        log_error("http: cannot set up libcurl's share");
        return -1;
    }
    engine->share = share;
    return 0;
}

/* ---- response buffers ---- */

/* Room for EXTRA more bytes and a NUL after them. */
static int http_buffer_reserve(struct http_buffer *buffer, size_t extra)
{
    size_t need = buffer->size + extra + 1;
    if (need <= buffer->capacity)
        return 0;
    size_t capacity = buffer->capacity ? buffer->capacity : 256;
    while (capacity < need)
        capacity *= 2;
    char *grown = realloc(buffer->data, capacity);
    if (grown == NULL)
        return -1;
    buffer->data = grown;
    buffer->capacity = capacity;
    return 0;
}

/* One header line from libcurl (CRLF included). A status line starts a new
 * response (after a 100 Continue, say): only the last one's headers stay. */
static size_t http_on_header(char *line, size_t size, size_t count, void *userdata)
{
    struct http_transfer *transfer = userdata;
    size_t n = size * count, len = n;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        transfer->head.size = 0;
        if (transfer->head.data != NULL)
            transfer->head.data[0] = '\0';
        return n;
    }
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    int added = http_reply_add_header(&transfer->head.data, &transfer->head.size, &transfer->head.capacity, line, len);
    if (added < 0) {
        transfer->failure = added == -1 ? "response too large" : "out of memory";
        return 0;
    }
    return n;
}

static size_t http_on_body(char *data, size_t size, size_t count, void *userdata)
{
    struct http_transfer *transfer = userdata;
    size_t n = size * count;
    if (n > HTTP_REPLY_MAX_BODY - transfer->body.size) {
        transfer->failure = "response too large";
        return 0;
    }
    if (transfer->body.capacity == 0) {
        /* Announced length: one allocation of the right size. */
        curl_off_t length = -1;
        if (http_curl->easy_getinfo(transfer->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
            length > (curl_off_t)n && (size_t)length <= HTTP_REPLY_MAX_BODY &&
            http_buffer_reserve(&transfer->body, (size_t)length) < 0) {
            transfer->failure = "out of memory";
            return 0;
        }
    }
    if (http_buffer_reserve(&transfer->body, n) < 0) {
        transfer->failure = "out of memory";
        return 0;
    }
    memcpy(transfer->body.data + transfer->body.size, data, n);
    transfer->body.size += n;
    transfer->body.data[transfer->body.size] = '\0';
    return n;
}

/* ---- name lookup gates ---- */

/* TRANSFER, the probe of its host, has looked the name up (RELEASE_ALL
 * with FRESH), reused a connection (RELEASE_ONE: the next waiting request
 * probes) or failed (RELEASE_ALL). The waiting requests start once out of
 * libcurl. */
static void http_probe_done(struct http_engine *engine, struct http_transfer *transfer, int release, int fresh)
{
    struct http_host *host = transfer->host;
    transfer->probing = 0;
    host->probe = NULL;
    if (fresh)
        host->fresh_until = clock_mono_ms_precise() + HTTP_DNS_FRESH_MS;
    if (release > host->release)
        host->release = release;
    engine->releases = 1;
}

static int http_is_address(const char *host)
{
    struct in_addr address;
    return host[0] == '[' || inet_pton(AF_INET, host, &address) == 1;
}

/* Remembers HOST as URL's gate (see http_host_for). */
static struct http_host *http_host_remember(struct http_engine *engine, const char *url, struct http_host *host)
{
    char *copy = strdup(url);
    if (copy != NULL) {
        free(engine->last_url);
        engine->last_url = copy;
        engine->last_host = host;
    }
    return host;
}

/* The gate of URL's host:port, created on first use, or NULL when it needs
 * none (an IP address, a URL libcurl will refuse) or memory runs out. The
 * last URL's answer is kept: an experiment sends to one URL over and over. */
static struct http_host *http_host_for(struct http_engine *engine, const char *url)
{
    if (engine->last_url != NULL && strcmp(engine->last_url, url) == 0)
        return engine->last_host;
    CURLU *parsed = http_curl->url();
    if (parsed == NULL)
        return NULL;
    char *scheme = NULL, *name = NULL, *port = NULL;
    char key[300];
    int gated = http_curl->url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
                http_curl->url_get(parsed, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
                (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0) &&
                http_curl->url_get(parsed, CURLUPART_HOST, &name, 0) == CURLUE_OK &&
                http_curl->url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
                !http_is_address(name);
    if (gated) {
        int length = snprintf(key, sizeof key, "%s:%s", name, port);
        gated = length > 0 && (size_t)length < sizeof key;
        for (char *c = key; *c != '\0'; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
    }
    http_curl->free(scheme);
    http_curl->free(name);
    http_curl->free(port);
    http_curl->url_cleanup(parsed);
    if (!gated)
        return http_host_remember(engine, url, NULL);
    for (struct http_host *host = engine->hosts; host != NULL; host = host->next)
        if (strcmp(host->key, key) == 0)
            return http_host_remember(engine, url, host);
    struct http_host *host = calloc(1, sizeof *host + strlen(key) + 1);
    if (host == NULL)
        return NULL;
    strcpy(host->key, key);
    list_init(&host->waiting);
    host->next = engine->hosts;
    engine->hosts = host;
    return http_host_remember(engine, url, host);
}

/* The shard for a new transfer: the first with room, else a new one, else
 * (all HTTP_MAX_SHARDS made, or out of memory) the least busy. */
static struct http_shard *http_pick_shard(struct http_engine *engine)
{
    struct http_shard *least = NULL;
    for (size_t i = 0; i < engine->shard_count; i++) {
        struct http_shard *shard = engine->shards[i];
        if (shard->transfers < HTTP_SHARD_TRANSFERS)
            return shard;
        if (least == NULL || shard->transfers < least->transfers)
            least = shard;
    }
    struct http_shard *fresh = http_shard_new(engine);
    return fresh != NULL ? fresh : least;
}

/* Hands TRANSFER to libcurl on a shard, with what is left of its timeout
 * after waiting. */
static int http_start(struct http_engine *engine, struct http_transfer *transfer)
{
    if (transfer->timeout_ms > 0) {
        long left = transfer->timeout_ms - (long)(clock_mono_ms_precise() - transfer->sent_mono_ms);
        if (http_curl->easy_setopt(transfer->easy, CURLOPT_TIMEOUT_MS, left > 0 ? left : 1L) != CURLE_OK)
            return -1;
    }
    struct http_shard *shard = http_pick_shard(engine);
    if (shard == NULL)
        return -1;
    CURLMcode code = http_curl->multi_add_handle(shard->multi, transfer->easy);
    if (code != CURLM_OK) {
        log_warn("http: libcurl refuses a transfer: %s", http_curl->multi_strerror(code));
        return -1;
    }
    transfer->shard = shard;
    shard->transfers++;
    return 0;
}

/* Starts the requests that waited for a probe. No callback runs here: a
 * request that cannot start is failed later by http_harvest. */
static void http_release(struct http_engine *engine)
{
    engine->releases = 0;
    for (struct http_host *host = engine->hosts; host != NULL; host = host->next) {
        int release = host->release;
        host->release = HTTP_RELEASE_NONE;
        while (release != HTTP_RELEASE_NONE && !list_is_empty(&host->waiting) &&
               (release == HTTP_RELEASE_ALL || host->probe == NULL)) {
            struct http_transfer *transfer = list_entry(list_first(&host->waiting), struct http_transfer, waiting_node);
            list_remove(&transfer->waiting_node);
            if (release == HTTP_RELEASE_ONE) {
                transfer->probing = 1;
                host->probe = transfer;
            }
            if (http_start(engine, transfer) < 0) {
                transfer->probing = 0;
                if (host->probe == transfer)
                    host->probe = NULL;
                transfer->failure = "out of memory";
                engine->failures = 1;
            }
        }
    }
}

/* ---- completing transfers ---- */

static void http_transfer_free(struct http_transfer *transfer)
{
    struct http_engine *engine = transfer->engine;
    if (transfer->easy != NULL && !engine->closing && engine->idle_count < HTTP_IDLE_HANDLES) {
        http_curl->easy_reset(transfer->easy); /* every option back to its default; its buffers stay */
        engine->idle[engine->idle_count++] = transfer->easy;
    } else if (transfer->easy != NULL) {
        http_curl->easy_cleanup(transfer->easy);
    }
    http_direct_release(transfer->direct);
    if (transfer->headers != NULL) /* libcurl's lists: a direct transfer has none (and libcurl may not be loaded) */
        http_curl->slist_free_all(transfer->headers);
    if (transfer->resolve != NULL)
        http_curl->slist_free_all(transfer->resolve);
    free(transfer->head.data);
    free(transfer->body.data);
    free(transfer);
}

static void http_unlink(struct http_engine *engine, struct http_transfer *transfer)
{
    list_remove(&transfer->node);
    engine->in_flight--;
}

/* Takes TRANSFER out of libcurl (and out of its host's gate) and notes
 * the time: its answer, or its end, is in. */
static void http_detach(struct http_engine *engine, struct http_transfer *transfer)
{
    struct http_shard *shard = transfer->shard;
    if (shard != NULL) {
        CURLMcode removed = http_curl->multi_remove_handle(shard->multi, transfer->easy);
        if (removed != CURLM_OK)
            log_warn("http: cannot remove a transfer from libcurl: %s", http_curl->multi_strerror(removed));
        shard->transfers--;
        transfer->shard = NULL;
    }
    /* (A waiting transfer ends only when the engine is freed: its host's queue goes too.) */
    if (transfer->probing && !engine->closing)
        http_probe_done(engine, transfer, HTTP_RELEASE_ALL, 0); /* failed before a socket: no more waiting */
    transfer->finished = 1;
    transfer->received_real_ms = clock_epoch_ms();
    transfer->received_mono_ms = clock_mono_ms_precise();
}

static void http_on_done_timer(void *ctx);

/* TRANSFER is over (RESULT is libcurl's verdict): out of libcurl now, its
 * callback queued for the engine's 0 ms timer. */
static void http_complete(struct http_engine *engine, struct http_transfer *transfer, CURLcode result)
{
    http_detach(engine, transfer);
    transfer->result = result;
    list_push_back(&engine->done, &transfer->done_node);
    if (engine->done_timer == 0) /* 0 when out of memory: http_drive runs the queue itself */
        engine->done_timer = reactor_timer(engine->reactor, 0, http_on_done_timer, engine);
}

/* Takes TRANSFER out of the engine, runs its callback and frees it. CANCEL
 * (or the transfer's own failure) overrides libcurl's result. */
static void http_finish(struct http_engine *engine, struct http_transfer *transfer, const char *cancel)
{
    http_unlink(engine, transfer);
    if (!transfer->finished)
        http_detach(engine, transfer);
    CURLcode result = transfer->result;
    struct http_response response = {0};
    char message[2 * CURL_ERROR_SIZE];
    const char *failure = cancel != NULL ? cancel : transfer->failure;
    const struct http_reply *reply = transfer->direct != NULL ? http_direct_reply(transfer->direct) : NULL;
    if (failure != NULL) {
        response.error = failure;
    } else if (reply != NULL) {
        response.error = http_direct_error(transfer->direct, &response.timed_out);
        response.status = response.error == NULL ? reply->status : 0;
    } else if (result != CURLE_OK) {
        const char *summary = http_curl->easy_strerror(result);
        if (transfer->error[0] == '\0' || strcmp(transfer->error, summary) == 0)
            snprintf(message, sizeof message, "%s", summary);
        else if (strstr(transfer->error, summary) != NULL)
            snprintf(message, sizeof message, "%s", transfer->error);
        else
            snprintf(message, sizeof message, "%s: %s", summary, transfer->error);
        long os_errno = 0;
        if ((result == CURLE_COULDNT_CONNECT || result == CURLE_SEND_ERROR || result == CURLE_RECV_ERROR) &&
            http_curl->easy_getinfo(transfer->easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0 &&
            strstr(message, strerror((int)os_errno)) == NULL) {
            size_t used = strlen(message);
            snprintf(message + used, sizeof message - used, " (%s)", strerror((int)os_errno));
        }
        response.error = message;
        response.timed_out = result == CURLE_OPERATION_TIMEDOUT;
    } else {
        long status = 0;
        http_curl->easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
        response.status = status;
    }
    if (reply != NULL) {
        response.body = reply->body != NULL ? reply->body : "";
        response.body_size = reply->body_size;
        response.headers = reply->head != NULL ? reply->head : "";
    } else {
        response.body = transfer->body.data != NULL ? transfer->body.data : "";
        response.body_size = transfer->body.size;
        response.headers = transfer->head.data != NULL ? transfer->head.data : "";
    }
    response.sent_ms = transfer->sent_real_ms;
    response.received_ms = transfer->received_real_ms;
    response.total_ms = transfer->received_mono_ms - transfer->sent_mono_ms;
    transfer->done(transfer->ctx, &response);
    http_transfer_free(transfer);
}

/* Runs the queued callbacks, oldest first, until none is left, LIMIT have
 * run (0: no limit) or one of them frees the engine (which cancels the rest). */
static void http_run_done(struct http_engine *engine, int limit)
{
    for (int ran = 0; !engine->closing && !list_is_empty(&engine->done) && (limit == 0 || ran < limit); ran++) {
        struct http_transfer *transfer = list_entry(list_first(&engine->done), struct http_transfer, done_node);
        list_remove(&transfer->done_node);
        http_finish(engine, transfer, NULL);
    }
}

static void http_on_done_timer(void *ctx)
{
    struct http_engine *engine = ctx;
    engine->done_timer = 0;
    engine->depth++;
    http_run_done(engine, HTTP_DONE_PER_ROUND);
    if (engine->direct != NULL && !engine->closing)
        http_direct_flush(engine->direct); /* the requests those callbacks sent, together */
    if (!engine->closing && !list_is_empty(&engine->done) && engine->done_timer == 0) /* the rest next round */
        engine->done_timer = reactor_timer(engine->reactor, 0, http_on_done_timer, engine);
    if (--engine->depth == 0 && engine->closing)
        http_engine_destroy(engine);
}

/* Collects what SHARD reports done and what failed on the engine's side,
 * and starts the requests that no longer wait for a name lookup. Runs no
 * callback. */
static void http_harvest(struct http_engine *engine, struct http_shard *shard)
{
    int left;
    CURLMsg *msg;
    while ((msg = http_curl->multi_info_read(shard->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURLcode result = msg->data.result; /* the message dies with the handle's removal */
        char *private_data = NULL;
        http_curl->easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private_data);
        if (private_data != NULL)
            http_complete(engine, (struct http_transfer *)(void *)private_data, result);
    }
    while (engine->releases || engine->failures) {
        if (engine->releases) {
            http_release(engine); /* may record failures */
            continue;
        }
        engine->failures = 0;
        struct list_node *node, *next;
        list_for_each_safe(node, next, &engine->transfers) {
            struct http_transfer *transfer = list_entry(node, struct http_transfer, node);
            if (transfer->failure != NULL && !transfer->finished)
                http_complete(engine, transfer, CURLE_OK); /* may release a failed probe's host */
        }
    }
}

/* Hands an event to SHARD's libcurl and collects what finished; frees the
 * engine if a callback asked for that. */
static void http_drive(struct http_shard *shard, curl_socket_t fd, int mask)
{
    struct http_engine *engine = shard->engine;
    int running;
    engine->depth++;
    CURLMcode code = http_curl->multi_socket_action(shard->multi, fd, mask, &running);
    if (code != CURLM_OK)
        log_warn("http: libcurl: %s", http_curl->multi_strerror(code));
    http_harvest(engine, shard);
    if (!list_is_empty(&engine->done) && engine->done_timer == 0)
        http_run_done(engine, 0); /* no timer to defer them to (out of memory): now, out of libcurl */
    if (--engine->depth == 0 && engine->closing)
        http_engine_destroy(engine);
}

/* Lets the shard of TRANSFER, just added, start it now rather than from
 * its 0 ms timer, after whatever else the loop round holds: with FD
 * CURL_SOCKET_TIMEOUT libcurl connects, or writes the request on an idle
 * connection; with the socket of the connection it just opened (MASK
 * CURL_CSELECT_OUT) it checks whether the connection is up, as a near
 * server's already is, and writes the request. A wave of callbacks each
 * sending the next request, or a launch of thousands, would otherwise hold
 * every request back until the last one was handed over. Safe from
 * http_send: collecting runs no callback. */
static void http_kick(struct http_transfer *transfer, curl_socket_t fd, int mask)
{
    struct http_shard *shard = transfer->shard;
    int running;
    CURLMcode code = http_curl->multi_socket_action(shard->multi, fd, mask, &running);
    if (code != CURLM_OK)
        log_warn("http: libcurl: %s", http_curl->multi_strerror(code));
    http_harvest(shard->engine, shard);
}

/* ---- libcurl on the reactor ---- */

static void http_on_ready(void *ctx, int fd, int events)
{
    int mask = (events & REACTOR_READ ? CURL_CSELECT_IN : 0) | (events & REACTOR_WRITE ? CURL_CSELECT_OUT : 0);
    http_drive(ctx, fd, mask);
}

static void http_on_timer(void *ctx)
{
    struct http_shard *shard = ctx;
    shard->timer_id = 0;
    http_drive(shard, CURL_SOCKET_TIMEOUT, 0);
}

static int http_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)socketp;
    struct http_shard *shard = userp;
    struct http_engine *engine = shard->engine;
    if (what == CURL_POLL_REMOVE) {
        reactor_unwatch(engine->reactor, fd);
        return 0;
    }
    if (engine->closing)
        return 0;
    int wanted = (what & CURL_POLL_IN ? REACTOR_READ : 0) | (what & CURL_POLL_OUT ? REACTOR_WRITE : 0);
    if (reactor_watch(engine->reactor, fd, wanted, http_on_ready, shard) == 0)
        return 0;
    /* Failing here would abort every transfer: fail only this one, after libcurl returns. */
    char *private_data = NULL;
    if (easy != NULL && http_curl->easy_getinfo(easy, CURLINFO_PRIVATE, &private_data) == CURLE_OK &&
        private_data != NULL) {
        ((struct http_transfer *)(void *)private_data)->failure = "cannot watch a socket";
        engine->failures = 1;
    }
    reactor_unwatch(engine->reactor, fd);
    return 0;
}

static int http_on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct http_shard *shard = userp;
    struct http_engine *engine = shard->engine;
    if (shard->timer_id != 0) {
        reactor_cancel(engine->reactor, shard->timer_id);
        shard->timer_id = 0;
    }
    if (timeout_ms < 0 || engine->closing)
        return 0;
    /* 0 means "now": the reactor's next round, not a call back into libcurl from here. */
    shard->timer_id = reactor_timer(engine->reactor, timeout_ms, http_on_timer, shard);
    if (shard->timer_id != 0)
        return 0;
    log_error("http: out of memory for a timer: every transfer in flight on a shard fails");
    return -1;
}

/* Every connection's socket: close-on-exec, and the sign that a probe's
 * name lookup is done. */
static curl_socket_t http_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
    (void)purpose;
    struct http_transfer *transfer = clientp;
    if (transfer->probing)
        http_probe_done(transfer->engine, transfer, HTTP_RELEASE_ALL, 1);
    int fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    transfer->opened_fd = fd;
    return fd >= 0 ? fd : CURL_SOCKET_BAD;
}

/* Called before the request goes out on a connection: a probe that gets
 * here without opening a socket reused one and looked nothing up. */
static int http_on_prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    struct http_transfer *transfer = clientp;
    if (transfer->probing)
        http_probe_done(transfer->engine, transfer, HTTP_RELEASE_ONE, 0);
    return CURL_PREREQFUNC_OK;
}

/* ---- shards and the engine ---- */

/* A new shard, or NULL (all HTTP_MAX_SHARDS made, out of memory). */
static struct http_shard *http_shard_new(struct http_engine *engine)
{
    if (engine->shard_count == HTTP_MAX_SHARDS)
        return NULL;
    struct http_shard *shard = calloc(1, sizeof *shard);
    CURLM *multi = shard != NULL ? http_curl->multi_init() : NULL;
    int bad = multi == NULL;
    if (!bad) {
        bad |= http_curl->multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, http_on_socket) != CURLM_OK;
        bad |= http_curl->multi_setopt(multi, CURLMOPT_SOCKETDATA, shard) != CURLM_OK;
        bad |= http_curl->multi_setopt(multi, CURLMOPT_TIMERFUNCTION, http_on_curl_timer) != CURLM_OK;
        bad |= http_curl->multi_setopt(multi, CURLMOPT_TIMERDATA, shard) != CURLM_OK;
        bad |= http_curl->multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L) != CURLM_OK;
        bad |= http_curl->multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L) != CURLM_OK;
        bad |= http_curl->multi_setopt(multi, CURLMOPT_MAXCONNECTS, HTTP_SHARD_CONNECTIONS) != CURLM_OK;
        bad |= http_curl->multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING) != CURLM_OK;
    }
    if (bad) {
        log_warn("http: cannot set up a libcurl multi handle");
        if (multi != NULL)
            http_curl->multi_cleanup(multi);
        free(shard);
        return NULL;
    }
    shard->engine = engine;
    shard->multi = multi;
    engine->shards[engine->shard_count++] = shard;
    return shard;
}

/* Frees SHARD, which has no transfers left. */
static void http_shard_free(struct http_shard *shard)
{
    http_curl->multi_cleanup(shard->multi); /* closes the idle connections: their sockets leave the reactor */
    if (shard->timer_id != 0)
        reactor_cancel(shard->engine->reactor, shard->timer_id);
    free(shard);
}

/* Whether requests the direct client takes should go to it: not when
 * FAASET_HTTP_DIRECT=0 asks for libcurl everywhere. */
static int http_direct_wanted(void)
{
    const char *setting = getenv("FAASET_HTTP_DIRECT");
    return setting == NULL || strcmp(setting, "0") != 0;
}

/* Whether the environment names a proxy libcurl would use for http:// (or,
 * with TLS, https://) URLs: those then go to libcurl, which also applies
 * no_proxy. */
static int http_proxy_named(int tls)
{
    static const char *const plain[] = {"http_proxy", "all_proxy", "ALL_PROXY", NULL};
    static const char *const secure[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL};
    for (const char *const *name = tls ? secure : plain; *name != NULL; name++) {
        const char *proxy = getenv(*name);
        if (proxy != NULL && proxy[0] != '\0')
            return 1;
    }
    return 0;
}

/* Whether the engine's own client carries URL. */
static int http_goes_direct(const struct http_engine *engine, const char *url)
{
    if (engine->direct == NULL || !http_direct_takes(url))
        return 0;
    return strncasecmp(url, "https:", 6) == 0 ? !engine->proxy_https : !engine->proxy_http;
}

static void http_on_direct_ended(void *owner);

struct http_engine *http_engine_new(struct reactor *reactor)
{
    if (reactor == NULL)
        return NULL;
    http_raise_file_limit();
    struct http_engine *engine = calloc(1, sizeof *engine);
    if (engine == NULL)
        return NULL;
    engine->reactor = reactor;
    list_init(&engine->done);
    list_init(&engine->transfers);
    engine->proxy_http = http_proxy_named(0);
    engine->proxy_https = http_proxy_named(1);
    if (http_direct_wanted() && (engine->direct = http_direct_new(reactor, http_on_direct_ended)) == NULL) {
        free(engine);
        return NULL;
    }
    return engine;
}

static void http_engine_destroy(struct http_engine *engine)
{
    engine->closing = 1; /* libcurl's timer callbacks set no more timers */
    if (engine->done_timer != 0)
        reactor_cancel(engine->reactor, engine->done_timer);
    while (engine->idle_count > 0)
        http_curl->easy_cleanup(engine->idle[--engine->idle_count]); /* before the share they use */
    for (size_t i = 0; i < engine->shard_count; i++)
        http_shard_free(engine->shards[i]);
    if (engine->share != NULL && http_curl->share_cleanup(engine->share) != CURLSHE_OK)
        log_warn("http: libcurl's share is still in use: leaked");
    while (engine->hosts != NULL) {
        struct http_host *next = engine->hosts->next;
        free(engine->hosts);
        engine->hosts = next;
    }
    http_direct_free(engine->direct); /* its calls were all released: only idle connections are left */
    free(engine->last_url);
    free(engine);
}

void http_engine_free(struct http_engine *engine)
{
    if (engine == NULL || engine->closing)
        return;
    engine->closing = 1;
    engine->depth++;
    struct list_node *node;
    while ((node = list_first(&engine->done)) != NULL) /* the queued ones are cancelled with the rest */
        list_remove(node);
    while ((node = list_first(&engine->transfers)) != NULL)
        http_finish(engine, list_entry(node, struct http_transfer, node), "cancelled");
    if (--engine->depth == 0)
        http_engine_destroy(engine);
}

size_t http_engine_in_flight(const struct http_engine *engine)
{
    return engine != NULL ? engine->in_flight : 0;
}

/* ---- requests ---- */

static int http_valid_method(const char *method)
{
    size_t len = strlen(method);
    if (len == 0 || len > HTTP_MAX_METHOD)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (method[i] < 'A' || method[i] > 'Z')
            return 0;
    return 1;
}

/* Whether HEADER ("Name: value", "Name:" or "Name;") is named NAME. */
static int http_header_is(const char *header, const char *name)
{
    size_t len = strlen(name);
    return strncasecmp(header, name, len) == 0 && (header[len] == ':' || header[len] == ';');
}

static int http_has_header(const char *const *headers, const char *name)
{
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        if (http_header_is(headers[i], name))
            return 1;
    return 0;
}

static int http_slist_add(struct curl_slist **list, const char *header)
{
    struct curl_slist *grown = http_curl->slist_append(*list, header);
    if (grown == NULL)
        return -1;
    *list = grown;
    return 0;
}

/* The request's headers for libcurl: the caller's, then the engine's
 * removals of libcurl defaults the caller did not set. */
static int http_build_headers(struct http_transfer *transfer, const char *const *headers)
{
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        if (http_slist_add(&transfer->headers, headers[i]) < 0)
            return -1;
    if (!http_has_header(headers, "Expect") && http_slist_add(&transfer->headers, "Expect:") < 0)
        return -1; /* no 100-continue round trip before large bodies */
    if (!http_has_header(headers, "Content-Type") && http_slist_add(&transfer->headers, "Content-Type:") < 0)
        return -1; /* not libcurl's form type for POST */
    return 0;
}

static int http_configure(struct http_transfer *transfer, const struct http_request *request)
{
    CURL *easy = transfer->easy;
    int bad = 0;
    bad |= http_curl->easy_setopt(easy, CURLOPT_PRIVATE, (void *)transfer) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_URL, request->url) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK;
    /* Idle connections through NATs during long invocations stay open. */
    bad |= http_curl->easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 60L) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 30L) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_SHARE, transfer->engine->share) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_USERAGENT, "faaset/" FAASET_VERSION) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_HEADERFUNCTION, http_on_header) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_HEADERDATA, (void *)transfer) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_on_body) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_WRITEDATA, (void *)transfer) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, http_open_socket) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_OPENSOCKETDATA, (void *)transfer) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_PREREQFUNCTION, http_on_prereq) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_PREREQDATA, (void *)transfer) != CURLE_OK;
    bad |= http_curl->easy_setopt(easy, CURLOPT_DNS_CACHE_TIMEOUT, -1L) != CURLE_OK; /* renewed by the probes */
    /* The same trust as the own client's (tls.h): the request's CA file, or OpenSSL's variables. */
    const char *ca_file = request->ca_file != NULL && request->ca_file[0] != '\0' ? request->ca_file
                                                                                 : getenv("SSL_CERT_FILE");
    const char *ca_dir = request->ca_file != NULL && request->ca_file[0] != '\0' ? NULL : getenv("SSL_CERT_DIR");
    if (ca_file != NULL && ca_file[0] != '\0')
        bad |= http_curl->easy_setopt(easy, CURLOPT_CAINFO, ca_file) != CURLE_OK;
    if (ca_dir != NULL && ca_dir[0] != '\0')
        bad |= http_curl->easy_setopt(easy, CURLOPT_CAPATH, ca_dir) != CURLE_OK;

    const char *method = transfer->method;
    int always_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
    int with_body = strcmp(method, "HEAD") != 0 && (always_body || request->body_size > 0);
    if (strcmp(method, "HEAD") == 0)
        bad |= http_curl->easy_setopt(easy, CURLOPT_NOBODY, 1L) != CURLE_OK;
    else if (strcmp(method, "GET") == 0 && !with_body)
        bad |= http_curl->easy_setopt(easy, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    else if (strcmp(method, "POST") == 0)
        bad |= http_curl->easy_setopt(easy, CURLOPT_POST, 1L) != CURLE_OK;
    else
        bad |= http_curl->easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
    if (with_body) {
        bad |= http_curl->easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_size) != CURLE_OK;
        bad |= http_curl->easy_setopt(easy, CURLOPT_POSTFIELDS, (char *)transfer->request_body) != CURLE_OK;
    }
    return bad ? -1 : 0;
}

/* Whether every header is non-empty and on one line. */
static int http_valid_headers(const char *const *headers)
{
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        if (headers[i][0] == '\0' || strpbrk(headers[i], "\r\n") != NULL)
            return 0;
    return 1;
}

static void http_link(struct http_engine *engine, struct http_transfer *transfer)
{
    list_push_front(&engine->transfers, &transfer->node);
    engine->in_flight++;
}

/* The direct client ended TRANSFER's call: queued like libcurl's. */
static void http_on_direct_ended(void *owner)
{
    struct http_transfer *transfer = owner;
    http_complete(transfer->engine, transfer, CURLE_OK);
}

/* Sends TRANSFER's request on the engine's own client. */
static int http_send_direct(struct http_engine *engine, struct http_transfer *transfer,
                            const struct http_request *request)
{
    transfer->sent_real_ms = clock_epoch_ms();
    transfer->sent_mono_ms = clock_mono_ms_precise();
    http_link(engine, transfer); /* before: a refused connection ends the call at once */
    struct http_direct_call *call = http_direct_send(engine->direct, request, transfer);
    if (call == NULL) {
        http_unlink(engine, transfer);
        free(transfer);
        return -1;
    }
    transfer->direct = call;
    return 0;
}

int http_send(struct http_engine *engine, const struct http_request *request, http_done_fn done, void *ctx)
{
    if (engine == NULL || engine->closing || request == NULL || done == NULL || request->url == NULL ||
        request->method == NULL || !http_valid_method(request->method) || !http_valid_headers(request->headers) ||
        (request->body == NULL && request->body_size > 0) || request->body_size > SIZE_MAX / 2)
        return -1;
    int direct = http_goes_direct(engine, request->url);
    struct http_transfer *transfer = calloc(1, sizeof *transfer + (direct ? 0 : request->body_size) + 1);
    if (transfer == NULL)
        return -1;
    transfer->engine = engine;
    transfer->done = done;
    transfer->ctx = ctx;
    transfer->opened_fd = -1;
    strcpy(transfer->method, request->method);
    if (direct)
        return http_send_direct(engine, transfer, request);
    if (http_curl_ready(engine) < 0) {
        free(transfer);
        return -1;
    }
    if (request->body_size > 0)
        memcpy(transfer->request_body, request->body, request->body_size);
    transfer->easy = engine->idle_count > 0 ? engine->idle[--engine->idle_count] : http_curl->easy_init();
    if (transfer->easy == NULL || http_build_headers(transfer, request->headers) < 0 ||
        http_configure(transfer, request) < 0) {
        http_transfer_free(transfer);
        return -1;
    }
    transfer->timeout_ms = request->timeout_ms;
    transfer->sent_real_ms = clock_epoch_ms();
    transfer->sent_mono_ms = clock_mono_ms_precise();

    /* The name lookup gate: start now, wait for the host's probe, or be it. */
    struct http_host *host = http_host_for(engine, request->url);
    int waits = 0;
    if (host != NULL && transfer->sent_mono_ms >= host->fresh_until) {
        if (host->probe != NULL) {
            waits = 1;
        } else {
            if (host->fresh_until > 0) {
                char renew[302]; /* "-" and a key of at most 300 */
                snprintf(renew, sizeof renew, "-%s", host->key);
                if (http_slist_add(&transfer->resolve, renew) < 0 ||
                    http_curl->easy_setopt(transfer->easy, CURLOPT_RESOLVE, transfer->resolve) != CURLE_OK) {
                    http_transfer_free(transfer);
                    return -1;
                }
            }
            transfer->probing = 1;
        }
    }
    transfer->host = host;
    if (!waits && http_start(engine, transfer) < 0) {
        http_transfer_free(transfer);
        return -1;
    }
    if (transfer->probing)
        host->probe = transfer;
    if (waits)
        list_push_back(&host->waiting, &transfer->waiting_node);
    http_link(engine, transfer);
    if (transfer->shard != NULL)
        http_kick(transfer, CURL_SOCKET_TIMEOUT, 0);
    if (transfer->shard != NULL && transfer->opened_fd >= 0)
        http_kick(transfer, transfer->opened_fd, CURL_CSELECT_OUT);
    return 0;
}

size_t http_prepare(struct http_engine *engine, const char *url, const char *ca_file, size_t count)
{
    if (engine == NULL || engine->closing || url == NULL || !http_goes_direct(engine, url))
        return 0;
    return http_direct_prepare(engine->direct, url, ca_file, count);
}

size_t http_preparing(struct http_engine *engine, const char *url, const char *ca_file)
{
    if (engine == NULL || engine->closing || url == NULL || !http_goes_direct(engine, url))
        return 0;
    return http_direct_preparing(engine->direct, url, ca_file);
}

const char *http_response_header(const struct http_response *response, const char *name)
{
    if (response == NULL || response->headers == NULL || name == NULL)
        return NULL;
    size_t len = strlen(name);
    for (const char *line = response->headers; *line != '\0'; line += strlen(line) + 1) {
        if (strncasecmp(line, name, len) == 0 && line[len] == ':') {
            const char *value = line + len + 1;
            while (*value == ' ' || *value == '\t')
                value++;
            return value;
        }
    }
    return NULL;
}
