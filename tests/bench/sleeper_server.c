/* sleeper_server: the loopback stand-in for a "sleeper" cloud function, for
 * tests/bench/experiment_bench.py (which compiles it with `cc -O2`; it is
 * not part of the CMake build).
 *
 *   sleeper_server [-p PORT] [-w WORKERS] [-l LOGPREFIX] [-m MAX_SLEEP_S]
 *                  [-k ACCESS_KEY:SECRET_KEY:REGION] [-g PUBLIC_KEY.pem]
 *                  [-o UUID:KEY] [-z CLIENT_SECRET] [-t CERT.pem:KEY.pem]
 *
 * POST / with a JSON body {"sleep": SECONDS} is held open for that long and
 * then answered 200 with a JSON object in SAAF's shape:
 *   {"startTime": epoch ms, "endTime": epoch ms, "runtime": ms,
 *    "uuid": "<this process's id>", "newcontainer": 0, "pid": N, "served": N,
 *    "connection": N}
 * startTime is when the request had fully arrived, endTime when its timer
 * fired (just before the answer is written), runtime = endTime - startTime;
 * served counts this process's answers so far and connection numbers the
 * TCP connection it came on (per process, in accept order), so a client's
 * rows show how many connections it used.
 * A missing or unreadable "sleep" sleeps 0 s; a body that is not a JSON
 * object, an unknown path or method gets 4xx. HTTP/1.1 keep-alive (and
 * HTTP/1.0 with "Connection: keep-alive"); "Connection: close" closes after
 * the answer; requests pipelined on one connection are served in order.
 *
 * No thread per request: each worker process is one epoll loop; sleeping
 * requests wait in a binary min-heap of deadlines, and one timerfd armed at
 * the earliest deadline (absolute CLOCK_MONOTONIC, ns precision) wakes the
 * loop. WORKERS processes (default 1) each have their own listening socket
 * on the same port (SO_REUSEPORT), so the kernel spreads connections over
 * them and each has its own accept queue; the parent binds them all before
 * forking, prints "listening 127.0.0.1 PORT WORKERS" on stdout once every
 * socket listens, and forwards SIGTERM / SIGINT to the workers. Workers die
 * with the parent (PR_SET_PDEATHSIG).
 *
 * With -k it is also a stand-in for Lambda's Invoke API, for the benchmark
 * of the aws platform: POST /2015-03-31/functions/NAME/invocations is
 * served like POST / (answered with X-Amz-Executed-Version and
 * x-amzn-RequestId headers), but only with a valid SigV4 signature by that
 * key for service lambda in that region, dated within 5 minutes: it is
 * recomputed with the project's signer (platforms/sigv4.c, which the tests
 * prove equal to botocore's) over the headers the request lists as signed,
 * and compared in constant time; a bad one gets 403
 * InvalidSignatureException as from AWS. POST / stays unsigned, for the
 * thread-pool client run beside it.
 *
 * With -g it is also a stand-in for Google Cloud Functions, for the
 * benchmark of the gcf platform, with the least of Google a client's calls
 * need: POST /token, Google's OAuth token endpoint for a service account
 * (a jwt-bearer grant whose RS256 assertion verifies with that public key
 * and has not expired) answering an access token for a `scope`, or, for a
 * `target_audience` that is this server's one function URL, an ID token
 * for it (a JWT with that `aud` and an `exp` an hour ahead; 400 for
 * another audience); GET /v2/projects/P/locations/R/functions/sleeper
 * with that access token, answering the function (ACTIVE, GEN_2) and its
 * URL, BASE/fn/sleeper (BASE http://127.0.0.1:PORT, or
 * https://localhost:PORT with -t); and POST to that URL, served like POST
 * / but only with `Authorization: Bearer` and the ID token it issued
 * (compared in constant time; 401 without, 403 with another, in Google's
 * {"error": {"code", "message", "status"}} shape). The tokens are made
 * once, before the workers fork, so any worker accepts them. The
 * assertion's signature is checked for each grant, but an ID token only
 * by comparison: the client's token exchange happens once; what is
 * measured is its calls.
 *
 * With -o it is also a stand-in for an OpenWhisk controller (IBM Cloud
 * Functions), for the benchmark of the ibm platform, with what a blocking
 * call needs: POST /api/v1/namespaces/_/actions/sleeper?blocking=true&
 * result=true is served like POST / (the answer is the action's result, as
 * with result=true, with an x-openwhisk-activation-id header of 32 hex
 * digits), but only with `Authorization: Basic` of that UUID:KEY (compared
 * in constant time with the header made once at start; 401 without it or
 * with another, in OpenWhisk's {"error", "code"} shape) and with both
 * blocking=true and result=true in the query (400 otherwise).
 *
 * With -z it is also a stand-in for Azure Functions, for the benchmark of
 * the azure platform, with the least of Azure a client's calls need (BASE
 * being the authority host, Resource Manager and, under
 * /sleeper.azurewebsites.net, the app's host, as FAASET_AZURE_APP_URL's
 * pattern BASE/{app}.azurewebsites.net makes it): POST
 * /TENANT/oauth2/v2.0/token, Entra ID's client-credentials grant with that
 * client secret (any tenant and client ID), answering an access token (a
 * wrong secret is 401 invalid_client, AADSTS7000215); POST
 * .../sites/sleeper/functions/sleeper/listkeys with that token as a bearer,
 * answering the function's default key; and POST
 * /sleeper.azurewebsites.net/api/sleeper, served like POST / but only with
 * that key in x-functions-key (compared in constant time; 401 with an empty
 * body otherwise, as the Functions host answers). The token and the key are
 * made once, before the workers fork.
 *
 * With -t it speaks HTTPS only, with that certificate and key (OpenSSL,
 * TLS 1.2 and 1.3, session tickets): the TLS end of a cloud endpoint,
 * without a proxy's second hop. The SSL_CTX is made before the workers
 * fork, so they share its ticket keys and any of them resumes a session
 * another began; each connection's handshake and records go through the
 * same epoll loop (a read event drives SSL_accept until it is done, then
 * SSL_read until it wants the socket).
 *
 * With -l PREFIX each worker appends one line per answered request,
 * "startTime endTime pid\n" (epoch ms), to PREFIX.PID, written once per
 * loop round (one write for everything answered in that round), so the
 * server's own record of every request can be compared with the rows the
 * client wrote. The soft limit on open files is raised to the hard one. It
 * binds 127.0.0.1 only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "sigv4.h"

#define MAX_WORKERS 64
#define MAX_REQUEST (1 << 20)          /* head + body of one request */
#define MAX_HEAD 16384
#define EVENT_BATCH 512
#define OUT_SIZE 768

enum conn_state { READING, SLEEPING, WRITING };

struct conn {
    int fd;                            /* -1 = free slot */
    uint32_t serial;                   /* bumped per request: stale heap entries are skipped */
    enum conn_state state;
    int close_after;                   /* answer, then close */
    char *in;                          /* received bytes not yet consumed */
    size_t in_size, in_capacity;
    size_t consumed;                   /* bytes of `in` that belong to the request being served */
    unsigned long long connection;     /* this process's accept sequence number */
    double start_epoch_ms;
    int lambda;                        /* a Lambda Invoke request: answered with Lambda's headers */
    int google;                        /* -g: a call of the function URL (its ID token checked) */
    int openwhisk;                     /* -o: a blocking call of the action (answered with its activation id) */
    int azure;                         /* -z: a call of the function host (its key checked) */
    char out[OUT_SIZE];
    size_t out_size, out_done;
    SSL *ssl;                          /* -t: the connection's TLS, NULL otherwise */
    int handshaking;                   /* -t: SSL_accept not done yet */
};

struct timer_entry {
    int64_t due_ns;                    /* CLOCK_MONOTONIC */
    int fd;
    uint32_t serial;
};

static struct conn *conns;             /* indexed by fd */
static size_t conn_capacity;
static struct timer_entry *heap;
static size_t heap_size, heap_capacity;
static int epfd, tfd, sfd, listen_fd;
static int64_t armed_ns = -1;
static char process_uuid[37];
static unsigned long long served, accepted;
static long long in_flight, in_flight_peak;
static double max_sleep_s = 3600;
static int log_fd = -1;
static char *lambda_access_key, *lambda_secret_key, *lambda_region;  /* -k: NULL when not a Lambda stand-in */
static SSL_CTX *tls_context;           /* -t: NULL for plain HTTP */
static EVP_PKEY *gcf_account_key;      /* -g: the service account's public key; NULL when not a Google stand-in */
static const char *az_client_secret;   /* -z: the client secret the token grant takes; NULL when not an Azure stand-in */
static char az_access_token[80], az_function_key[80];
static char gcf_function_url[128];     /* -g: BASE/fn/sleeper */
static char gcf_access_token[64], gcf_id_token[600];
static char *ow_authorization;         /* -o: "Basic <base64 of UUID:KEY>"; NULL when not an OpenWhisk stand-in */
static char *log_buf;
static size_t log_size, log_capacity;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sleeper_server[%d]: ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, ": %s\n", strerror(errno));
    va_end(ap);
    exit(1);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- timers: a min-heap of deadlines, the earliest armed on the timerfd ---- */

static void heap_swap(size_t a, size_t b)
{
    struct timer_entry t = heap[a];
    heap[a] = heap[b];
    heap[b] = t;
}

static void heap_push(struct timer_entry entry)
{
    if (heap_size == heap_capacity) {
        heap_capacity = heap_capacity ? heap_capacity * 2 : 1024;
        heap = realloc(heap, heap_capacity * sizeof *heap);
        if (heap == NULL)
            die("out of memory for timers");
    }
    size_t i = heap_size++;
    heap[i] = entry;
    while (i > 0 && heap[(i - 1) / 2].due_ns > heap[i].due_ns) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct timer_entry heap_pop(void)
{
    struct timer_entry top = heap[0];
    heap[0] = heap[--heap_size];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_size && heap[l].due_ns < heap[m].due_ns)
            m = l;
        if (r < heap_size && heap[r].due_ns < heap[m].due_ns)
            m = r;
        if (m == i)
            break;
        heap_swap(i, m);
        i = m;
    }
    return top;
}

static void arm_timer(void)
{
    int64_t due = heap_size ? heap[0].due_ns : 0; /* 0 disarms */
    if (due == armed_ns)
        return;
    struct itimerspec spec = {0};
    if (due > 0) {
        spec.it_value.tv_sec = due / 1000000000;
        spec.it_value.tv_nsec = due % 1000000000;
    }
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &spec, NULL) < 0)
        die("timerfd_settime");
    armed_ns = due;
}

/* ---- connections ---- */

static void watch(int fd, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(epfd, op, fd, &ev) < 0)
        die("epoll_ctl");
}

static void conn_close(struct conn *c)
{
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
        c->ssl = NULL;
        ERR_clear_error();
    }
    if (c->state == SLEEPING)
        in_flight--;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    c->in = NULL;
    c->in_size = c->in_capacity = 0;
    c->fd = -1;
    c->serial++;
}

static void log_request(double start, double end)
{
    if (log_fd < 0)
        return;
    if (log_size + 96 > log_capacity) {
        log_capacity = log_capacity ? log_capacity * 2 : 65536;
        log_buf = realloc(log_buf, log_capacity);
        if (log_buf == NULL)
            die("out of memory for the log");
    }
    log_size += (size_t)snprintf(log_buf + log_size, 96, "%.3f %.3f %d\n", start, end, (int)getpid());
}

static void log_flush(void)
{
    size_t done = 0;
    while (done < log_size) {
        ssize_t n = write(log_fd, log_buf + done, log_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    log_size = 0;
}

static void serve(struct conn *c);

/* send() or SSL_write(): bytes sent, or -1 with errno (EAGAIN when the
 * socket, or TLS, must wait; EPIPE for a TLS failure). */
static ssize_t conn_send(struct conn *c, const void *data, size_t size)
{
    if (c->ssl == NULL)
        return send(c->fd, data, size, MSG_NOSIGNAL);
    size_t done = 0;
    ERR_clear_error();
    if (SSL_write_ex(c->ssl, data, size, &done) == 1)
        return (ssize_t)done;
    int code = SSL_get_error(c->ssl, 0);
    errno = code == SSL_ERROR_WANT_WRITE || code == SSL_ERROR_WANT_READ ? EAGAIN : EPIPE;
    return -1;
}

/* recv() or SSL_read() (with the handshake first): as recv, 0 at the end. */
static ssize_t conn_recv(struct conn *c, void *buffer, size_t size)
{
    if (c->ssl == NULL)
        return recv(c->fd, buffer, size, 0);
    ERR_clear_error();
    if (c->handshaking) {
        int done = SSL_accept(c->ssl);
        if (done != 1) {
            int code = SSL_get_error(c->ssl, done);
            errno = code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE ? EAGAIN : ECONNRESET;
            return -1;
        }
        c->handshaking = 0;
    }
    size_t got = 0;
    if (SSL_read_ex(c->ssl, buffer, size, &got) == 1)
        return (ssize_t)got;
    int code = SSL_get_error(c->ssl, 0);
    if (code == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE ? EAGAIN : ECONNRESET;
    return -1;
}

/* Writes what is left of the answer; back to reading (and serving a
 * pipelined request) when it is all out. */
static void conn_write(struct conn *c)
{
    while (c->out_done < c->out_size) {
        ssize_t n = conn_send(c, c->out + c->out_done, c->out_size - c->out_done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->state != WRITING) {
                c->state = WRITING;
                watch(c->fd, EPOLLOUT, EPOLL_CTL_MOD);
            }
            return;
        }
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->out_done += (size_t)n;
    }
    int was_writing = c->state == WRITING;
    if (c->close_after) {
        conn_close(c);
        return;
    }
    c->state = READING;
    if (was_writing)
        watch(c->fd, EPOLLIN, EPOLL_CTL_MOD);
    serve(c); /* a request may already be waiting behind this one */
}

static void answer(struct conn *c, int status, const char *reason, const char *body)
{
    char extra[160] = "";
    if (c->openwhisk && status == 200)
        snprintf(extra, sizeof extra, "x-openwhisk-activation-id: %08x%024llx\r\n", (unsigned)getpid(), served);
    else if (c->lambda)
        snprintf(extra, sizeof extra, "X-Amz-Executed-Version: $LATEST\r\nx-amzn-RequestId: %s-%llu\r\n%s",
                 process_uuid, served, status == 403 ? "x-amzn-ErrorType: InvalidSignatureException\r\n" : "");
    int n = snprintf(c->out, sizeof c->out,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "%sConnection: %s\r\n\r\n%s",
                     status, reason, strlen(body), extra, c->close_after ? "close" : "keep-alive", body);
    c->out_size = n > 0 && (size_t)n < sizeof c->out ? (size_t)n : 0;
    c->out_done = 0;
    /* drop the request's bytes */
    memmove(c->in, c->in + c->consumed, c->in_size - c->consumed);
    c->in_size -= c->consumed;
    c->consumed = 0;
    conn_write(c);
}

static void answer_error(struct conn *c, int status, const char *reason)
{
    char body[128];
    snprintf(body, sizeof body, "{\"error\": \"%s\"}", reason);
    c->close_after = 1;
    c->consumed = c->in_size;
    answer(c, status, reason, body);
}

/* The timer of C's request fired: the answer. */
static void wake(struct conn *c)
{
    double end = epoch_ms();
    char body[512];
    in_flight--;
    served++;
    snprintf(body, sizeof body,
             "{\"startTime\": %.3f, \"endTime\": %.3f, \"runtime\": %.3f, \"uuid\": \"%s\", "
             "\"newcontainer\": 0, \"pid\": %d, \"served\": %llu, \"connection\": %llu}",
             c->start_epoch_ms, end, end - c->start_epoch_ms, process_uuid, (int)getpid(), served, c->connection);
    log_request(c->start_epoch_ms, end);
    c->state = READING; /* conn_write switches to WRITING if the socket is full */
    answer(c, 200, "OK", body);
}

/* The value of header NAME in HEAD (lines after the request line), or NULL; *LEN its length. */
static const char *header_value(const char *head, size_t head_len, const char *name, size_t *len)
{
    size_t name_len = strlen(name);
    const char *line = memchr(head, '\n', head_len);
    const char *end = head + head_len;
    while (line != NULL && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - line) > name_len && strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *len = (size_t)(ve - v);
            return v;
        }
        line = eol;
    }
    return NULL;
}

static int value_has_token(const char *v, size_t len, const char *token)
{
    size_t t = strlen(token);
    for (size_t i = 0; i + t <= len; i++)
        if (strncasecmp(v + i, token, t) == 0)
            return 1;
    return 0;
}

/* "sleep" of a JSON object body: seconds, 0 when absent; -1 when the body is not an object. */
static double parse_sleep(const char *body, size_t len)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i >= len || body[i] != '{')
        return -1;
    char tmp[4096];
    size_t n = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
    memcpy(tmp, body, n);
    tmp[n] = '\0';
    const char *key = strstr(tmp, "\"sleep\"");
    if (key == NULL)
        return 0;
    const char *p = key + 7;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p != ':')
        return 0;
    char *stop;
    double seconds = strtod(p + 1, &stop);
    if (stop == p + 1 || seconds != seconds || seconds < 0)
        return 0;
    return seconds > max_sleep_s ? max_sleep_s : seconds;
}

/* "20150830T123600Z" -> epoch seconds, or -1. */
static long long amz_date_seconds(const char *v, size_t len)
{
    struct tm tm = {0};
    char text[17];
    if (len != 16)
        return -1;
    memcpy(text, v, 16);
    text[16] = '\0';
    if (sscanf(text, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

/* NULL when the request in C->in (head HEAD_LEN bytes, then BODY_LEN) is
 * signed by the -k key, else why not, in AWS's words. */
static const char *lambda_signature_error(struct conn *c, size_t head_len, size_t body_len, const char *path,
                                          size_t path_len)
{
    const char *head = c->in;
    size_t len, date_len, host_len, token_len;
    const char *auth = header_value(head, head_len, "Authorization", &len);
    const char *date = header_value(head, head_len, "X-Amz-Date", &date_len);
    const char *host = header_value(head, head_len, "Host", &host_len);
    const char *token = header_value(head, head_len, "X-Amz-Security-Token", &token_len);
    if (auth == NULL || date == NULL || host == NULL)
        return "Missing Authentication Token";
    char authorization[1024], credential[256], signed_list[512], signature[65];
    snprintf(authorization, sizeof authorization, "%.*s", (int)len, auth);
    if (sscanf(authorization, "AWS4-HMAC-SHA256 Credential=%255[^,], SignedHeaders=%511[^,], Signature=%64s",
               credential, signed_list, signature) != 3)
        return "Authorization header requires Credential, SignedHeaders and Signature";
    char scope[256];
    snprintf(scope, sizeof scope, "%s/%.8s/%s/lambda/aws4_request", lambda_access_key, date, lambda_region);
    if (strcmp(credential, scope) != 0)
        return "The security token included in the request is invalid (credential scope)";
    long long when = amz_date_seconds(date, date_len), now = (long long)time(NULL);
    if (when < 0 || when < now - 300 || when > now + 300)
        return "Signature expired";
    /* The headers the client signed, but those the signer adds itself. */
    char lines[32][1024];
    const char *headers[33];
    size_t count = 0;
    for (char *name = strtok(signed_list, ";"); name != NULL && count < 32; name = strtok(NULL, ";")) {
        if (strcmp(name, "host") == 0 || strcmp(name, "x-amz-date") == 0 || strcmp(name, "x-amz-security-token") == 0)
            continue;
        const char *value = header_value(head, head_len, name, &len);
        if (value == NULL)
            return "a signed header is missing";
        snprintf(lines[count], sizeof lines[count], "%s: %.*s", name, (int)len, value);
        headers[count] = lines[count];
        count++;
    }
    headers[count] = NULL;
    char host_text[256], date_text[17], path_text[1024], token_text[2048];
    snprintf(host_text, sizeof host_text, "%.*s", (int)host_len, host);
    snprintf(date_text, sizeof date_text, "%.*s", (int)date_len, date);
    snprintf(token_text, sizeof token_text, "%.*s", token ? (int)token_len : 0, token ? token : "");
    const char *query = memchr(path, '?', path_len);
    snprintf(path_text, sizeof path_text, "%.*s", (int)(query ? query - path : (long)path_len), path);
    char query_text[1024] = "";
    if (query != NULL)
        snprintf(query_text, sizeof query_text, "%.*s", (int)(path + path_len - query - 1), query + 1);
    struct sigv4_request request = {.method = "POST", .host = host_text, .path = path_text, .query = query_text,
                                    .headers = headers, .body = c->in + head_len, .body_size = body_len,
                                    .region = lambda_region, .service = "lambda", .amz_date = date_text,
                                    .double_encode_path = 1, .normalize_path = 1};
    struct sigv4_credentials keys = {lambda_access_key, lambda_secret_key, token_text};
    struct sigv4_result expected;
    char err[256];
    if (sigv4_sign(&request, &keys, &expected, err, sizeof err) < 0)
        return "The request signature we calculated does not match the signature you provided.";
    int ok = strlen(signature) == 64 && sodium_memcmp(expected.signature, signature, 64) == 0;
    sigv4_result_free(&expected);
    return ok ? NULL
              : "The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method. Consult the service documentation for details.";
}

/* ---- -g: the least of Google Cloud Functions ---- */

#define GCF_FUNCTION_PATH "/fn/sleeper"

/* The string value of "KEY" in the flat JSON object JSON (no escapes) into OUT; 0 when absent. */
static int gcf_json_string(const char *json, const char *key, char *out, size_t size)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr(json, quoted);
    if (p == NULL)
        return 0;
    p += strlen(quoted);
    while (*p == ' ')
        p++;
    if (*p++ != ':')
        return 0;
    while (*p == ' ')
        p++;
    if (*p++ != '"')
        return 0;
    size_t len = strcspn(p, "\"");
    if (p[len] != '"' || len >= size)
        return 0;
    memcpy(out, p, len);
    out[len] = '\0';
    return 1;
}

/* The number value of "KEY" in JSON, or -1. */
static double gcf_json_number(const char *json, const char *key)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr(json, quoted);
    if (p == NULL)
        return -1;
    p += strlen(quoted);
    while (*p == ' ' || *p == ':')
        p++;
    char *end;
    double value = strtod(p, &end);
    return end == p ? -1 : value;
}

static void gcf_b64url(const unsigned char *data, size_t size, char *out, size_t out_size)
{
    sodium_bin2base64(out, out_size, data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The tokens this server issues, and its function URL (after the port is known). */
static void gcf_make_tokens(int port)
{
    unsigned char random[32];
    char text[33], header[64], claims[256], payload[400], signature[64];
    if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random)
        die("getrandom");
    snprintf(gcf_function_url, sizeof gcf_function_url, "%s:%d" GCF_FUNCTION_PATH,
             tls_context != NULL ? "https://localhost" : "http://127.0.0.1", port);
    sodium_bin2hex(text, sizeof text, random, 16);
    snprintf(gcf_access_token, sizeof gcf_access_token, "ya29.bench-%s", text);
    static const char jwt_header[] = "{\"alg\":\"RS256\",\"kid\":\"bench\",\"typ\":\"JWT\"}";
    gcf_b64url((const unsigned char *)jwt_header, strlen(jwt_header), header, sizeof header);
    long long now = (long long)time(NULL);
    int n = snprintf(claims, sizeof claims, "{\"aud\":\"%s\",\"iss\":\"https://accounts.google.com\",\"iat\":%lld,"
                     "\"exp\":%lld}", gcf_function_url, now, now + 3600);
    gcf_b64url((const unsigned char *)claims, (size_t)n, payload, sizeof payload);
    gcf_b64url(random + 16, 16, signature, sizeof signature);
    snprintf(gcf_id_token, sizeof gcf_id_token, "%s.%s.%s", header, payload, signature);
}

/* Answers with Google's error shape. */
static void gcf_error(struct conn *c, int status, const char *reason, const char *google_status, const char *message)
{
    char body[512];
    snprintf(body, sizeof body, "{\"error\": {\"code\": %d, \"message\": \"%s\", \"status\": \"%s\"}}", status,
             message, google_status);
    answer(c, status, reason, body);
}

/* Whether the request's bearer token is WANTED: 1 yes, 0 another, -1 none. */
static int gcf_bearer(const struct conn *c, size_t head_len, const char *wanted)
{
    size_t len;
    const char *auth = header_value(c->in, head_len, "Authorization", &len);
    if (auth == NULL || len < 7 || strncasecmp(auth, "Bearer ", 7) != 0)
        return -1;
    size_t wanted_len = strlen(wanted);
    return len - 7 == wanted_len && sodium_memcmp(auth + 7, wanted, wanted_len) == 0;
}

/* NULL when the jwt-bearer grant in BODY is valid (its claims into CLAIMS), else OAuth's error description. */
static const char *gcf_grant_error(const char *body, size_t body_len, char *claims, size_t claims_size)
{
    char form[4096];
    if (body_len >= sizeof form)
        return "the request is too large";
    memcpy(form, body, body_len);
    form[body_len] = '\0';
    if (strstr(form, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") == NULL)
        return "grant_type must be urn:ietf:params:oauth:grant-type:jwt-bearer";
    char *assertion = strstr(form, "assertion=");
    if (assertion == NULL)
        return "no assertion";
    assertion += strlen("assertion=");
    assertion[strcspn(assertion, "&")] = '\0';
    char *dot1 = strchr(assertion, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (dot2 == NULL)
        return "the assertion is not a JWT";
    unsigned char signature[512];
    size_t signature_size = 0, claims_len = 0;
    if (sodium_base642bin(signature, sizeof signature, dot2 + 1, strlen(dot2 + 1), NULL, &signature_size, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        sodium_base642bin((unsigned char *)claims, claims_size - 1, dot1 + 1, (size_t)(dot2 - dot1 - 1), NULL,
                          &claims_len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return "the assertion is not base64url";
    claims[claims_len] = '\0';
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int valid = md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, gcf_account_key) == 1 &&
                EVP_DigestVerify(md, signature, signature_size, (const unsigned char *)assertion,
                                 (size_t)(dot2 - assertion)) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    if (!valid)
        return "Invalid JWT Signature.";
    if (gcf_json_number(claims, "exp") < (double)time(NULL))
        return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.";
    return NULL;
}

/* POST /token: an access token or the function URL's ID token. */
static void gcf_token(struct conn *c, size_t head_len, size_t body_len)
{
    char claims[2048], audience[256], scope[256], body[700];
    const char *why = gcf_grant_error(c->in + head_len, body_len, claims, sizeof claims);
    if (why != NULL) {
        snprintf(body, sizeof body, "{\"error\": \"invalid_grant\", \"error_description\": \"%s\"}", why);
        answer(c, 400, "Bad Request", body);
    } else if (gcf_json_string(claims, "target_audience", audience, sizeof audience)) {
        if (strcmp(audience, gcf_function_url) != 0)
            answer(c, 400, "Bad Request", "{\"error\": \"invalid_request\", \"error_description\": \"this stand-in "
                   "issues ID tokens for its one function URL only\"}");
        else {
            snprintf(body, sizeof body, "{\"id_token\": \"%s\"}", gcf_id_token);
            answer(c, 200, "OK", body);
        }
    } else if (gcf_json_string(claims, "scope", scope, sizeof scope)) {
        snprintf(body, sizeof body, "{\"access_token\": \"%s\", \"expires_in\": 3599, \"token_type\": \"Bearer\"}",
                 gcf_access_token);
        answer(c, 200, "OK", body);
    } else {
        answer(c, 400, "Bad Request", "{\"error\": \"invalid_scope\", \"error_description\": \"Invalid OAuth scope "
               "or ID token audience provided.\"}");
    }
}

/* GET /v2/projects/P/locations/R/functions/sleeper: the function and its URL. */
static void gcf_function(struct conn *c, size_t head_len, const char *path, size_t path_len)
{
    static const char suffix[] = "/functions/sleeper";
    if (gcf_bearer(c, head_len, gcf_access_token) != 1) {
        gcf_error(c, 401, "Unauthorized", "UNAUTHENTICATED", "Request had invalid authentication credentials.");
        return;
    }
    if (path_len < sizeof suffix || memcmp(path + path_len - (sizeof suffix - 1), suffix, sizeof suffix - 1) != 0) {
        gcf_error(c, 404, "Not Found", "NOT_FOUND", "this stand-in has one function, sleeper");
        return;
    }
    char body[600];
    snprintf(body, sizeof body, "{\"name\": \"%.*s\", \"state\": \"ACTIVE\", \"environment\": \"GEN_2\", "
             "\"url\": \"%s\", \"serviceConfig\": {\"availableMemory\": \"256M\", \"timeoutSeconds\": 60}}",
             (int)(path_len - 4), path + 4, gcf_function_url);
    answer(c, 200, "OK", body);
}

/* Google's part of a request to -g's server: 1 when answered here, 0 when
 * it is for the sleeper (the function URL with its ID token; C->google
 * set, or any other path, left to the sleeper's own checks). */
static int gcf_serve(struct conn *c, size_t head_len, size_t body_len, const char *method, size_t method_len,
                     const char *path, size_t bare_len)
{
    static const char functions[] = "/v2/projects/";
    c->google = 0;
    if (bare_len == 6 && memcmp(path, "/token", 6) == 0 && method_len == 4 && memcmp(method, "POST", 4) == 0) {
        gcf_token(c, head_len, body_len);
        return 1;
    }
    if (bare_len > sizeof functions && memcmp(path, functions, sizeof functions - 1) == 0 && method_len == 3 &&
        memcmp(method, "GET", 3) == 0) {
        gcf_function(c, head_len, path, bare_len);
        return 1;
    }
    if (bare_len != strlen(GCF_FUNCTION_PATH) || memcmp(path, GCF_FUNCTION_PATH, bare_len) != 0)
        return 0;
    int bearer = gcf_bearer(c, head_len, gcf_id_token);
    if (bearer != 1) {
        gcf_error(c, bearer < 0 ? 401 : 403, bearer < 0 ? "Unauthorized" : "Forbidden",
                  bearer < 0 ? "UNAUTHENTICATED" : "PERMISSION_DENIED",
                  bearer < 0 ? "The request was not authenticated: no ID token" : "The ID token is not for this function");
        return 1;
    }
    c->google = 1;
    return 0;
}

/* ---- -z: the least of Azure Functions ---- */

#define AZ_FUNCTION_PATH "/sleeper.azurewebsites.net/api/sleeper"

/* The token and the key this server issues. */
static void az_make_secrets(void)
{
    unsigned char random[32];
    char text[33];
    if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random)
        die("getrandom");
    sodium_bin2hex(text, sizeof text, random, 16);
    snprintf(az_access_token, sizeof az_access_token, "bench-arm-%s", text);
    sodium_bin2hex(text, sizeof text, random + 16, 16);
    snprintf(az_function_key, sizeof az_function_key, "bench-key-%s", text);
}

/* Whether header NAME of the request is WANTED (constant time). */
static int az_header_is(const struct conn *c, size_t head_len, const char *name, const char *prefix, const char *wanted)
{
    size_t len, prefix_len = strlen(prefix), wanted_len = strlen(wanted);
    const char *value = header_value(c->in, head_len, name, &len);
    return value != NULL && len == prefix_len + wanted_len && strncasecmp(value, prefix, prefix_len) == 0 &&
           sodium_memcmp(value + prefix_len, wanted, wanted_len) == 0;
}

/* Azure's part of a request to -z's server: 1 when answered here, 0 when it is for the sleeper (the function
 * host with its key: C->azure set; any other path is left to the sleeper's own checks). */
static int az_serve(struct conn *c, size_t head_len, size_t body_len, const char *method, size_t method_len,
                    const char *path, size_t bare_len)
{
    static const char token_suffix[] = "/oauth2/v2.0/token", keys_suffix[] = "/functions/sleeper/listkeys";
    char body[300];
    c->azure = 0;
    if (!(method_len == 4 && memcmp(method, "POST", 4) == 0))
        return 0;
    if (bare_len > sizeof token_suffix &&
        memcmp(path + bare_len - (sizeof token_suffix - 1), token_suffix, sizeof token_suffix - 1) == 0) {
        char form[2048], wanted[300];
        snprintf(form, sizeof form, "&%.*s&", (int)(body_len < sizeof form - 3 ? body_len : 0), c->in + head_len);
        snprintf(wanted, sizeof wanted, "&client_secret=%s&", az_client_secret);
        if (strstr(form, "&grant_type=client_credentials&") == NULL || strstr(form, wanted) == NULL) {
            answer(c, 401, "Unauthorized", "{\"error\": \"invalid_client\", \"error_description\": \"AADSTS7000215: "
                   "Invalid client secret provided.\", \"error_codes\": [7000215]}");
            return 1;
        }
        snprintf(body, sizeof body, "{\"token_type\": \"Bearer\", \"expires_in\": 3599, \"access_token\": \"%s\"}",
                 az_access_token);
        answer(c, 200, "OK", body);
        return 1;
    }
    if (bare_len > sizeof keys_suffix &&
        memcmp(path + bare_len - (sizeof keys_suffix - 1), keys_suffix, sizeof keys_suffix - 1) == 0) {
        if (!az_header_is(c, head_len, "Authorization", "Bearer ", az_access_token)) {
            answer(c, 401, "Unauthorized", "{\"error\": {\"code\": \"InvalidAuthenticationToken\", \"message\": "
                   "\"The access token is invalid.\"}}");
            return 1;
        }
        snprintf(body, sizeof body, "{\"default\": \"%s\"}", az_function_key);
        answer(c, 200, "OK", body);
        return 1;
    }
    if (bare_len != strlen(AZ_FUNCTION_PATH) || memcmp(path, AZ_FUNCTION_PATH, bare_len) != 0)
        return 0;
    if (!az_header_is(c, head_len, "x-functions-key", "", az_function_key)) {
        answer(c, 401, "Unauthorized", "");
        return 1;
    }
    c->azure = 1;
    return 0;
}

/* Starts the request at the front of C's input if it has fully arrived. */
/* NULL when C's call of the action is one the controller serves blocking with its result, else OpenWhisk's error. */
static const char *ow_call_error(const struct conn *c, size_t head_len, const char *path, size_t path_len)
{
    size_t len;
    const char *auth = header_value(c->in, head_len, "Authorization", &len);
    if (auth == NULL)
        return "The resource requires authentication, which was not supplied with the request";
    size_t wanted = strlen(ow_authorization);
    if (len != wanted || sodium_memcmp(auth, ow_authorization, wanted) != 0)
        return "The supplied authentication is invalid";
    const char *query = memchr(path, '?', path_len);
    size_t query_len = query != NULL ? path_len - (size_t)(query - path) : 0;
    if (query == NULL || memmem(query, query_len, "blocking=true", 13) == NULL ||
        memmem(query, query_len, "result=true", 11) == NULL)
        return "this stand-in answers blocking calls with their result only (blocking=true&result=true)";
    return NULL;
}

static void serve(struct conn *c)
{
    if (c->fd < 0 || c->state != READING || c->in_size == 0)
        return;
    const char *head_end = memmem(c->in, c->in_size, "\r\n\r\n", 4);
    if (head_end == NULL) {
        if (c->in_size > MAX_HEAD)
            answer_error(c, 431, "Request Header Fields Too Large");
        return;
    }
    size_t head_len = (size_t)(head_end - c->in) + 4;
    const char *sp1 = memchr(c->in, ' ', head_len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', head_len - (size_t)(sp1 + 1 - c->in)) : NULL;
    if (sp1 == NULL || sp2 == NULL) {
        answer_error(c, 400, "Bad Request");
        return;
    }
    size_t vlen;
    const char *v = header_value(c->in, head_len, "Content-Length", &vlen);
    size_t body_len = 0;
    if (v != NULL) {
        char num[32];
        snprintf(num, sizeof num, "%.*s", (int)(vlen < 31 ? vlen : 31), v);
        char *stop;
        unsigned long long n = strtoull(num, &stop, 10);
        if (stop == num || *stop != '\0' || n > MAX_REQUEST) {
            answer_error(c, n > MAX_REQUEST ? 413 : 400, n > MAX_REQUEST ? "Payload Too Large" : "Bad Request");
            return;
        }
        body_len = (size_t)n;
    } else if (header_value(c->in, head_len, "Transfer-Encoding", &vlen) != NULL) {
        answer_error(c, 411, "Length Required");
        return;
    }
    if (c->in_size < head_len + body_len)
        return; /* the body is still coming */
    c->consumed = head_len + body_len;
    int http10 = memmem(sp2, (size_t)(head_end - sp2), "HTTP/1.0", 8) != NULL;
    const char *conn_hdr = header_value(c->in, head_len, "Connection", &vlen);
    c->close_after = conn_hdr ? value_has_token(conn_hdr, vlen, "close") ||
                                    (http10 && !value_has_token(conn_hdr, vlen, "keep-alive"))
                              : http10;
    size_t method_len = (size_t)(sp1 - c->in), path_len = (size_t)(sp2 - sp1 - 1);
    static const char invoke_prefix[] = "/2015-03-31/functions/", invoke_suffix[] = "/invocations";
    const char *path = sp1 + 1;
    const char *path_end = memchr(path, '?', path_len);
    size_t bare_len = path_end ? (size_t)(path_end - path) : path_len;
    c->lambda = lambda_access_key != NULL && bare_len > sizeof invoke_prefix + sizeof invoke_suffix - 2 &&
                memcmp(path, invoke_prefix, sizeof invoke_prefix - 1) == 0 &&
                memcmp(path + bare_len - (sizeof invoke_suffix - 1), invoke_suffix, sizeof invoke_suffix - 1) == 0;
    if (gcf_account_key != NULL && gcf_serve(c, head_len, body_len, c->in, method_len, path, bare_len))
        return;
    if (az_client_secret != NULL && az_serve(c, head_len, body_len, c->in, method_len, path, bare_len))
        return;
    static const char ow_action[] = "/api/v1/namespaces/_/actions/sleeper";
    c->openwhisk = ow_authorization != NULL && bare_len == sizeof ow_action - 1 &&
                   memcmp(path, ow_action, bare_len) == 0;
    if (c->openwhisk) {
        const char *why = ow_call_error(c, head_len, path, path_len);
        if (why != NULL) {
            char body[256];
            snprintf(body, sizeof body, "{\"error\": \"%s\", \"code\": \"%s\"}", why, process_uuid);
            if (strncmp(why, "The supplied", 12) == 0 || strncmp(why, "The resource", 12) == 0)
                answer(c, 401, "Unauthorized", body);
            else
                answer(c, 400, "Bad Request", body);
            return;
        }
    } else if (c->google || c->azure) {
        /* the function URL with its ID token, or the function host with its key, checked */
    } else if (c->lambda) {
        const char *why = lambda_signature_error(c, head_len, body_len, path, path_len);
        if (why != NULL) {
            char body[512];
            snprintf(body, sizeof body, "{\"Type\": \"User\", \"message\": \"%s\"}", why);
            answer(c, 403, "Forbidden", body);
            return;
        }
    } else if (!(path_len == 1 && sp1[1] == '/') && !(path_len > 1 && sp1[1] == '/' && sp1[2] == '?')) {
        char body[64];
        snprintf(body, sizeof body, "{\"error\": \"not found\"}");
        answer(c, 404, "Not Found", body);
        return;
    }
    if (!(method_len == 4 && memcmp(c->in, "POST", 4) == 0)) {
        answer(c, 405, "Method Not Allowed", "{\"error\": \"POST only\"}");
        return;
    }
    double seconds = parse_sleep(c->in + head_len, body_len);
    if (seconds < 0) {
        answer(c, 400, "Bad Request", "{\"error\": \"the body must be a JSON object\"}");
        return;
    }
    c->start_epoch_ms = epoch_ms();
    c->state = SLEEPING;
    c->serial++;
    if (++in_flight > in_flight_peak)
        in_flight_peak = in_flight;
    heap_push((struct timer_entry){mono_ns() + (int64_t)(seconds * 1e9), c->fd, c->serial});
}

static void conn_read(struct conn *c)
{
    for (;;) {
        if (c->in_capacity - c->in_size < 2048) {
            size_t capacity = c->in_capacity ? c->in_capacity * 2 : 4096;
            if (capacity > MAX_REQUEST + MAX_HEAD) {
                answer_error(c, 413, "Payload Too Large");
                return;
            }
            char *grown = realloc(c->in, capacity);
            if (grown == NULL) {
                conn_close(c);
                return;
            }
            c->in = grown;
            c->in_capacity = capacity;
        }
        size_t room = c->in_capacity - c->in_size;
        ssize_t n = conn_recv(c, c->in + c->in_size, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) { /* closed by the client, or reset */
            conn_close(c);
            return;
        }
        c->in_size += (size_t)n;
        if ((size_t)n < room && (c->ssl == NULL || SSL_pending(c->ssl) == 0))
            break; /* a short read: the socket is drained for now (TLS: and the record buffer) */
    }
    serve(c);
}

static void accept_all(void)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fprintf(stderr, "sleeper_server[%d]: accept: %s\n", (int)getpid(), strerror(errno));
            return;
        }
        if ((size_t)fd >= conn_capacity) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = &conns[fd];
        uint32_t serial = c->serial;
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->serial = serial + 1;
        c->state = READING;
        c->connection = ++accepted;
        if (tls_context != NULL) {
            c->ssl = SSL_new(tls_context);
            if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
                SSL_free(c->ssl);
                c->ssl = NULL;
                close(fd);
                c->fd = -1;
                continue;
            }
            SSL_set_accept_state(c->ssl);
            c->handshaking = 1;
        }
        watch(fd, EPOLLIN, EPOLL_CTL_ADD);
    }
}

static void fire_timers(void)
{
    uint64_t ticks;
    while (read(tfd, &ticks, sizeof ticks) < 0 && errno == EINTR) {
    }
    armed_ns = -1; /* the timerfd is spent: arm it again whatever is on top */
    int64_t now = mono_ns();
    while (heap_size > 0 && heap[0].due_ns <= now) {
        struct timer_entry t = heap_pop();
        struct conn *c = &conns[t.fd];
        if (c->fd == t.fd && c->serial == t.serial && c->state == SLEEPING)
            wake(c);
    }
}

static void make_uuid(void)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t x = (uint64_t)mono_ns() ^ ((uint64_t)getpid() << 32);
        memcpy(b, &x, 8);
        memcpy(b + 8, &x, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(process_uuid, sizeof process_uuid,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
             b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static int worker(int fd, const char *log_prefix)
{
    listen_fd = fd;
    make_uuid();
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    conn_capacity = lim.rlim_cur;
    conns = calloc(conn_capacity, sizeof *conns);
    if (conns == NULL)
        die("out of memory for %zu connections", conn_capacity);
    for (size_t i = 0; i < conn_capacity; i++)
        conns[i].fd = -1;
    if (log_prefix != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s.%d", log_prefix, (int)getpid());
        log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0)
            die("cannot open %s", path);
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    if ((sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
        die("signalfd");
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1");
    if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
        die("timerfd_create");
    watch(listen_fd, EPOLLIN, EPOLL_CTL_ADD);
    watch(tfd, EPOLLIN, EPOLL_CTL_ADD);
    watch(sfd, EPOLLIN, EPOLL_CTL_ADD);
    struct epoll_event events[EVENT_BATCH];
    for (;;) {
        arm_timer();
        if (log_size > 0)
            log_flush();
        int n = epoll_wait(epfd, events, EVENT_BATCH, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == listen_fd) {
                accept_all();
            } else if (fd == tfd) {
                fire_timers();
            } else if (fd == sfd) {
                struct signalfd_siginfo info;
                while (read(sfd, &info, sizeof info) == (ssize_t)sizeof info) {
                    if (info.ssi_signo == SIGUSR1) { /* a status line on stderr */
                        fprintf(stderr, "sleeper_server[%d]: served %llu, connections %llu, in flight %lld, "
                                "peak %lld\n", (int)getpid(), served, accepted, in_flight, in_flight_peak);
                        continue;
                    }
                    if (log_size > 0)
                        log_flush();
                    return 0;
                }
            } else if ((size_t)fd < conn_capacity && conns[fd].fd == fd) {
                struct conn *c = &conns[fd];
                if (c->state == WRITING && (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
                    conn_write(c);
                else if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                    conn_read(c);
            }
        }
    }
}

static volatile sig_atomic_t parent_signal;

static void on_parent_signal(int signo)
{
    parent_signal = signo;
}

static int open_listener(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        die("SO_REUSEPORT");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("bind 127.0.0.1:%d", port);
    if (listen(fd, 65535) < 0) /* the kernel caps it at net.core.somaxconn */
        die("listen");
    return fd;
}

int main(int argc, char **argv)
{
    int port = 0, workers = 1, opt;
    const char *log_prefix = NULL;
    const char *tls_files = NULL;
    while ((opt = getopt(argc, argv, "p:w:l:m:k:g:o:z:t:")) != -1) {
        switch (opt) {
        case 'o': {
            size_t n = strlen(optarg), encoded = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
            if (strchr(optarg, ':') == NULL || (ow_authorization = malloc(6 + encoded)) == NULL) {
                fprintf(stderr, "sleeper_server: -o takes UUID:KEY\n");
                return 2;
            }
            memcpy(ow_authorization, "Basic ", 6);
            sodium_bin2base64(ow_authorization + 6, encoded, (const unsigned char *)optarg, n,
                              sodium_base64_VARIANT_ORIGINAL);
            break;
        }
        case 't': tls_files = optarg; break;
        case 'z': az_client_secret = optarg; break;
        case 'g': {
            FILE *pem = fopen(optarg, "r");
            gcf_account_key = pem ? PEM_read_PUBKEY(pem, NULL, NULL, NULL) : NULL;
            if (pem != NULL)
                fclose(pem);
            if (gcf_account_key == NULL) {
                fprintf(stderr, "sleeper_server: -g takes the PEM file of an RSA public key\n");
                return 2;
            }
            break;
        }
        case 'k':
            lambda_access_key = strdup(optarg);
            lambda_secret_key = strchr(lambda_access_key, ':');
            lambda_region = lambda_secret_key ? strchr(lambda_secret_key + 1, ':') : NULL;
            if (lambda_region == NULL) {
                fprintf(stderr, "sleeper_server: -k takes ACCESS_KEY:SECRET_KEY:REGION\n");
                return 2;
            }
            *lambda_secret_key++ = '\0';
            *lambda_region++ = '\0';
            break;
        case 'p': port = atoi(optarg); break;
        case 'w': workers = atoi(optarg); break;
        case 'l': log_prefix = optarg; break;
        case 'm': max_sleep_s = atof(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-p PORT] [-w WORKERS] [-l LOGPREFIX] [-m MAX_SLEEP_S] [-k KEY:SECRET:REGION] "
                    "[-g PUBLIC_KEY.pem] [-o UUID:KEY] "
                    "[-z CLIENT_SECRET] [-t CERT:KEY]\n", argv[0]);
            return 2;
        }
    }
    if (workers < 1 || workers > MAX_WORKERS || port < 0 || port > 65535) {
        fprintf(stderr, "sleeper_server: -w must be 1..%d and -p 0..65535\n", MAX_WORKERS);
        return 2;
    }
    if (tls_files != NULL) {
        char *cert = strdup(tls_files), *key = strchr(cert, ':');
        if (key == NULL) {
            fprintf(stderr, "sleeper_server: -t takes CERT.pem:KEY.pem\n");
            return 2;
        }
        *key++ = '\0';
        tls_context = SSL_CTX_new(TLS_server_method());
        if (tls_context == NULL || SSL_CTX_set_min_proto_version(tls_context, TLS1_2_VERSION) != 1 ||
            SSL_CTX_use_certificate_chain_file(tls_context, cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(tls_context, key, SSL_FILETYPE_PEM) != 1) {
            fprintf(stderr, "sleeper_server: cannot use %s and %s for TLS\n", cert, key);
            return 2;
        }
        SSL_CTX_set_mode(tls_context, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE);
        signal(SIGPIPE, SIG_IGN); /* a client gone mid-write: an error, not the end of the worker */
        free(cert);
    }
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    int fds[MAX_WORKERS];
    fds[0] = open_listener(port);
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    if (getsockname(fds[0], (struct sockaddr *)&bound, &len) < 0)
        die("getsockname");
    port = ntohs(bound.sin_port);
    for (int i = 1; i < workers; i++)
        fds[i] = open_listener(port);
    if (gcf_account_key != NULL)
        gcf_make_tokens(port);
    if (az_client_secret != NULL)
        az_make_secrets();

    struct sigaction sa = {0};
    sa.sa_handler = on_parent_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    pid_t pids[MAX_WORKERS];
    pid_t parent = getpid();
    for (int i = 0; i < workers; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork");
        if (pids[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(0);
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_DFL);
            signal(SIGHUP, SIG_DFL);
            for (int j = 0; j < workers; j++)
                if (j != i)
                    close(fds[j]);
            _exit(worker(fds[i], log_prefix));
        }
    }
    for (int i = 0; i < workers; i++)
        close(fds[i]);
    printf("listening 127.0.0.1 %d %d\n", port, workers);
    fflush(stdout);
    int left = workers, status = 0;
    while (left > 0) {
        if (parent_signal) {
            for (int i = 0; i < workers; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGTERM);
            parent_signal = 0;
        }
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            break;
        for (int i = 0; i < workers; i++)
            if (pids[i] == pid)
                pids[i] = -1;
        left--;
    }
    return 0;
}
