/* tls: TLS links for the HTTP engine's own client (see tls.h).
 *
 * A trust is an SSL_CTX: client method, TLS 1.2 at least, peer
 * verification on, buffers released while idle, partial writes (the
 * caller keeps its place in the request), and a client session cache that
 * stores nothing itself: the new-session callback hands a copy of each ticket to the
 * link's struct tls_resume, which keeps the newest one for the next link
 * to that origin (OpenSSL servers and nginx accept a ticket more than
 * once, so a burst of reconnects can all resume from it).
 *
 * A link is an SSL on a small BIO of our own over the caller's socket:
 * send with MSG_NOSIGNAL (a peer that went away must not raise SIGPIPE in
 * a command-line run that does not ignore it) and recv, with the retry
 * flags OpenSSL needs for a non-blocking socket. SNI and the host name
 * check use the name; an IP address is checked against the certificate's
 * addresses instead.
 *
 * Errors: OpenSSL's error queue is per thread, so it is cleared before each
 * call into OpenSSL and read right after a failure, and the failure is
 * turned into one sentence: the verification result when the chain or the
 * name did not pass, the socket error, a close during the handshake, or
 * OpenSSL's reason (a protocol version or cipher the server refused). */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TLS_ERROR_SIZE 768
#define TLS_SEND_FRAGMENT 4096

/* How to trust a CA of one's own, the end of every "not trusted" message. */
#define TLS_TRUST_HINT                                                                                        \
    "if a CA of your own signed it, name that CA's PEM file in SSL_CERT_FILE (or its folder in SSL_CERT_DIR; " \
    "for the aws platform AWS_CA_BUNDLE, or ca_bundle in the AWS config file)"

struct tls_trust {
    SSL_CTX *context;
    char source[160];                   /* where the CA certificates come from, for messages */
};

struct tls_resume {
    SSL_SESSION *session;               /* the newest resumable session, or NULL */
};

struct tls_link {
    SSL *ssl;
    struct tls_trust *trust;
    struct tls_resume *resume;
    int established;
    int system_error;                   /* errno of a failed socket call, or 0 */
    char host[256];
    int port;
    char error[TLS_ERROR_SIZE];
};

/* ---- the socket BIO ---- */

static BIO_METHOD *tls_bio_method;     /* made once, kept for the process */

static int tls_bio_fd(BIO *bio)
{
    return (int)(intptr_t)BIO_get_data(bio);
}

static int tls_bio_write(BIO *bio, const char *data, int size)
{
    BIO_clear_retry_flags(bio);
    ssize_t n;
    do
        n = send(tls_bio_fd(bio), data, (size_t)size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_write(bio);
    return (int)n;
}

static int tls_bio_read(BIO *bio, char *buffer, int size)
{
    BIO_clear_retry_flags(bio);
    ssize_t n;
    do
        n = recv(tls_bio_fd(bio), buffer, (size_t)size, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_read(bio);
    return (int)n;
}

/* Only a flush is asked of a socket BIO that matters here; it has nothing to do. */
static long tls_bio_ctrl(BIO *bio, int command, long number, void *pointer)
{
    (void)bio;
    (void)number;
    (void)pointer;
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}

/* A BIO over FD (not closed with it), or NULL. */
static BIO *tls_bio_new(int fd)
{
    if (tls_bio_method == NULL) {
        BIO_METHOD *method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "faaset socket");
        if (method == NULL || !BIO_meth_set_write(method, tls_bio_write) ||
            !BIO_meth_set_read(method, tls_bio_read) || !BIO_meth_set_ctrl(method, tls_bio_ctrl)) {
            BIO_meth_free(method);
            return NULL;
        }
        tls_bio_method = method;
    }
    BIO *bio = BIO_new(tls_bio_method);
    if (bio != NULL) {
        BIO_set_data(bio, (void *)(intptr_t)fd);
        BIO_set_init(bio, 1);
    }
    return bio;
}

/* ---- trust ---- */

static int tls_link_index = -1;        /* the SSL ex_data slot that holds the link */

/* A new ticket on a link: a copy is kept in the link's resume store. A
 * copy, because OpenSSL marks a connection's own session object as not
 * resumable when that connection ends badly (a fatal alert, a close
 * without close_notify), and the ticket must outlive such an end. */
static int tls_on_new_session(SSL *ssl, SSL_SESSION *session)
{
    struct tls_link *link = SSL_get_ex_data(ssl, tls_link_index);
    if (link == NULL || link->resume == NULL || !SSL_SESSION_is_resumable(session))
        return 0;
    SSL_SESSION *copy = SSL_SESSION_dup(session);
    if (copy != NULL) {
        SSL_SESSION_free(link->resume->session);
        link->resume->session = copy;
    }
    return 0; /* OpenSSL keeps its reference */
}

/* OpenSSL's reason for the last failure, or FALLBACK. */
static const char *tls_reason(unsigned long code, const char *fallback)
{
    const char *reason = code != 0 ? ERR_reason_error_string(code) : NULL;
    return reason != NULL ? reason : fallback;
}

struct tls_trust *tls_trust_new(const char *ca_file, const char *source, char *error, size_t error_size)
{
    if (tls_link_index < 0 && (tls_link_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL)) < 0) {
        snprintf(error, error_size, "TLS cannot start: OpenSSL has no room for its data");
        return NULL;
    }
    struct tls_trust *trust = calloc(1, sizeof *trust);
    if (trust == NULL || (trust->context = SSL_CTX_new(TLS_client_method())) == NULL) {
        free(trust);
        snprintf(error, error_size, "TLS cannot start: out of memory");
        return NULL;
    }
    SSL_CTX *context = trust->context;
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(context, SSL_OP_IGNORE_UNEXPECTED_EOF); /* HTTP's framing says whether an answer is whole */
    /* AES-128 first: the cheapest of TLS 1.3's three per handshake and record. */
    SSL_CTX_set_ciphersuites(context, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384");
    /* Requests are small: records of 4 KiB keep a connection's write buffer
     * (held while a handshake or a write is under way) at 4 KiB, not 16. */
    SSL_CTX_set_max_send_fragment(context, TLS_SEND_FRAGMENT);
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(context, tls_on_new_session);

    ERR_clear_error();
    if (ca_file != NULL && ca_file[0] != '\0') {
        snprintf(trust->source, sizeof trust->source, "%s (from %s)", ca_file, source ? source : "the settings");
        if (SSL_CTX_load_verify_locations(context, ca_file, NULL) != 1) {
            snprintf(error, error_size,
                     "cannot use the CA bundle %s named by %s: %s; it must be a readable PEM file of CA certificates",
                     ca_file, source ? source : "the settings", tls_reason(ERR_peek_last_error(), strerror(errno)));
            tls_trust_free(trust);
            return NULL;
        }
        return trust;
    }
    static const char *const variables[] = {"SSL_CERT_FILE", "SSL_CERT_DIR"};
    for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++) {
        const char *named = getenv(variables[i]);
        if (named != NULL && named[0] != '\0' && access(named, R_OK) != 0) {
            snprintf(error, error_size, "%s names %s, which cannot be read (%s): point it at the CA certificates to trust",
                     variables[i], named, strerror(errno));
            tls_trust_free(trust);
            return NULL;
        }
    }
    const char *file = getenv("SSL_CERT_FILE");
    snprintf(trust->source, sizeof trust->source, "%s",
             file != NULL && file[0] != '\0' ? "SSL_CERT_FILE" : "the system's CA store");
    if (SSL_CTX_set_default_verify_paths(context) != 1) {
        snprintf(error, error_size, "cannot load %s: %s", trust->source,
                 tls_reason(ERR_peek_last_error(), "unknown reason"));
        tls_trust_free(trust);
        return NULL;
    }
    return trust;
}

void tls_trust_free(struct tls_trust *trust)
{
    if (trust == NULL)
        return;
    SSL_CTX_free(trust->context);
    free(trust);
}

struct tls_resume *tls_resume_new(void)
{
    return calloc(1, sizeof(struct tls_resume));
}

void tls_resume_free(struct tls_resume *resume)
{
    if (resume == NULL)
        return;
    SSL_SESSION_free(resume->session);
    free(resume);
}

int tls_resume_ready(const struct tls_resume *resume)
{
    return resume != NULL && resume->session != NULL && SSL_SESSION_is_resumable(resume->session);
}

/* ---- links ---- */

static int tls_is_address(const char *host)
{
    unsigned char address[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, address) == 1 || inet_pton(AF_INET6, host, address) == 1;
}

struct tls_link *tls_link_new(struct tls_trust *trust, struct tls_resume *resume, int fd, const char *host,
                              int port)
{
    struct tls_link *link = calloc(1, sizeof *link);
    if (link == NULL)
        return NULL;
    link->trust = trust;
    link->resume = resume;
    link->port = port;
    snprintf(link->host, sizeof link->host, "%s", host);
    ERR_clear_error();
    BIO *bio = NULL;
    if ((link->ssl = SSL_new(trust->context)) == NULL || (bio = tls_bio_new(fd)) == NULL) {
        SSL_free(link->ssl);
        free(link);
        return NULL;
    }
    SSL_set_bio(link->ssl, bio, bio);
    SSL_set_ex_data(link->ssl, tls_link_index, link);
    SSL_set_connect_state(link->ssl);
    int named;
    if (tls_is_address(host))
        named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(link->ssl), host) == 1;
    else
        named = SSL_set_tlsext_host_name(link->ssl, host) == 1 && SSL_set1_host(link->ssl, host) == 1;
    if (!named) {
        SSL_free(link->ssl);
        free(link);
        return NULL;
    }
    if (resume != NULL && resume->session != NULL) {
        SSL_SESSION *offered = SSL_SESSION_dup(resume->session); /* its own, for the reason above */
        if (offered != NULL) {
            SSL_set_session(link->ssl, offered);
            SSL_SESSION_free(offered);
        }
    }
    return link;
}

void tls_link_free(struct tls_link *link)
{
    if (link == NULL)
        return;
    if (link->established && link->system_error == 0) {
        ERR_clear_error();
        (void)SSL_shutdown(link->ssl); /* close_notify, not waiting for the peer's */
    }
    ERR_clear_error();
    SSL_free(link->ssl);
    free(link);
}

/* The sentence for a certificate that did not verify. */
static void tls_describe_verify(struct tls_link *link, long result)
{
    const char *why = X509_verify_cert_error_string(result);
    switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        snprintf(link->error, sizeof link->error,
                 "TLS: the certificate of %.120s:%d is not trusted (%s; CA certificates from %s): " TLS_TRUST_HINT,
                 link->host, link->port, why, link->trust->source);
        break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        snprintf(link->error, sizeof link->error,
                 "TLS: the certificate of %.120s:%d does not name %.120s (%s): use the host name the certificate was made "
                 "for, or give the server a certificate for %.120s",
                 link->host, link->port, link->host, why, link->host);
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        snprintf(link->error, sizeof link->error,
                 "TLS: the certificate of %.120s:%d has expired: the server needs a renewed certificate (or this "
                 "machine's clock is wrong)",
                 link->host, link->port);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        snprintf(link->error, sizeof link->error,
                 "TLS: the certificate of %.120s:%d is not valid yet: check this machine's clock", link->host,
                 link->port);
        break;
    default:
        snprintf(link->error, sizeof link->error, "TLS: the certificate of %.120s:%d did not verify: %s", link->host,
                 link->port, why);
        break;
    }
}

/* What RESULT (an SSL call's return) means; fills the error on failure. */
static enum tls_step tls_outcome(struct tls_link *link, int result, const char *during)
{
    int saved_errno = errno;
    int code = SSL_get_error(link->ssl, result);
    switch (code) {
    case SSL_ERROR_NONE:
        return TLS_DONE;
    case SSL_ERROR_WANT_READ:
        return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        if (link->established)
            return TLS_CLOSED;
        break;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0 && saved_errno != 0 && result < 0) {
            link->system_error = saved_errno;
            snprintf(link->error, sizeof link->error, "TLS %s with %.120s:%d failed: %s", during, link->host,
                     link->port, strerror(saved_errno));
            ERR_clear_error();
            return TLS_FAILED;
        }
        if (link->established && ERR_peek_error() == 0)
            return TLS_CLOSED; /* the end of the stream without close_notify: HTTP knows if it was complete */
        break;
    default:
        break;
    }
    unsigned long last = ERR_peek_last_error();
    long verified = SSL_get_verify_result(link->ssl);
    if (!link->established && verified != X509_V_OK)
        tls_describe_verify(link, verified);
    else if (code == SSL_ERROR_SYSCALL || code == SSL_ERROR_ZERO_RETURN || last == 0)
        snprintf(link->error, sizeof link->error,
                 "TLS %s with %.120s:%d failed: the server closed the connection%s", during, link->host, link->port,
                 link->established ? "" : " (is it an https server, and does it accept TLS 1.2 or later?)");
    else
        snprintf(link->error, sizeof link->error, "TLS %s with %.120s:%d failed: %s%s", during, link->host, link->port,
                 tls_reason(last, "unknown reason"),
                 link->established ? "" : " (the server may not offer TLS 1.2 or later, or a cipher in common)");
    ERR_clear_error();
    return TLS_FAILED;
}

enum tls_step tls_link_handshake(struct tls_link *link)
{
    if (link->established)
        return TLS_DONE;
    ERR_clear_error();
    errno = 0;
    enum tls_step step = tls_outcome(link, SSL_do_handshake(link->ssl), "handshake");
    if (step == TLS_DONE)
        link->established = 1;
    return step;
}

int tls_link_established(const struct tls_link *link)
{
    return link->established;
}

int tls_link_resumed(const struct tls_link *link)
{
    return link->established && SSL_session_reused(link->ssl);
}

enum tls_step tls_link_write(struct tls_link *link, const void *data, size_t size, size_t *written)
{
    enum tls_step step = tls_link_handshake(link);
    if (step != TLS_DONE)
        return step;
    ERR_clear_error();
    errno = 0;
    size_t done = 0;
    int result = SSL_write_ex(link->ssl, data, size, &done);
    step = tls_outcome(link, result > 0 ? 1 : result == 0 ? -1 : result, "send");
    *written = step == TLS_DONE ? done : 0;
    return step;
}

enum tls_step tls_link_read(struct tls_link *link, void *buffer, size_t size, size_t *got)
{
    enum tls_step step = tls_link_handshake(link);
    if (step != TLS_DONE)
        return step;
    ERR_clear_error();
    errno = 0;
    size_t done = 0;
    int result = SSL_read_ex(link->ssl, buffer, size, &done);
    step = tls_outcome(link, result > 0 ? 1 : -1, "receive");
    *got = step == TLS_DONE ? done : 0;
    return step;
}

size_t tls_link_pending(const struct tls_link *link)
{
    return (size_t)SSL_pending(link->ssl);
}

const char *tls_link_error(const struct tls_link *link)
{
    return link->error;
}

int tls_link_errno(const struct tls_link *link)
{
    return link->system_error;
}
