/* tls: TLS for the HTTP engine's own client (http_direct), on OpenSSL,
 * over non-blocking sockets the caller owns and watches.
 *
 * A trust (struct tls_trust) is one SSL_CTX for one trust configuration:
 * the CA store is loaded once and shared by every connection made with it,
 * which is what makes a thousand connections cheap (one SSL_CTX and CA
 * store per connection, as libcurl 7.88 with OpenSSL 3 builds them, cost
 * about half a megabyte and several milliseconds of CPU each). Every link
 * verifies the server's chain and its host name (or IP address), speaks
 * TLS 1.2 or later, and releases its buffers while it is idle.
 *
 * Resumption: a link made with a struct tls_resume (one per origin) offers
 * the newest session ticket that origin's server gave, and keeps the
 * tickets it receives there, so a reconnect is an abbreviated handshake.
 *
 * Failures come as one sentence that names the host, the reason, and how
 * to fix it (which variable names a CA); there is no way to turn
 * verification off. */
#ifndef FAASET_TLS_H
#define FAASET_TLS_H

#include <stddef.h>

struct tls_trust;
struct tls_resume;
struct tls_link;

/* The outcome of a step of a link. */
enum tls_step {
    TLS_DONE,          /* the handshake is over, or bytes moved */
    TLS_WANT_READ,     /* call again once the socket is readable */
    TLS_WANT_WRITE,    /* call again once the socket is writable */
    TLS_CLOSED,        /* the peer ended the connection (close_notify or end of stream) */
    TLS_FAILED         /* see tls_link_error */
};

/* A trust whose CA certificates are the PEM file CA_FILE, named by SOURCE
 * for messages ("AWS_CA_BUNDLE", say), or, when CA_FILE is NULL or empty,
 * OpenSSL's convention: SSL_CERT_FILE and SSL_CERT_DIR when set, the
 * system's store otherwise. NULL with a sentence in ERROR when a named
 * file or folder cannot be used or out of memory. */
struct tls_trust *tls_trust_new(const char *ca_file, const char *source, char *error, size_t error_size);
void tls_trust_free(struct tls_trust *trust);

/* Where an origin's session tickets are kept. NULL when out of memory. */
struct tls_resume *tls_resume_new(void);
void tls_resume_free(struct tls_resume *resume);

/* Whether RESUME holds a session a new link can resume. */
int tls_resume_ready(const struct tls_resume *resume);

/* A client link on the connected (or connecting) socket FD, to HOST (a
 * name, or an IP address: then no SNI, and the certificate must name the
 * address), reached as PORT (for messages); RESUME may be NULL. NULL when
 * out of memory. */
struct tls_link *tls_link_new(struct tls_trust *trust, struct tls_resume *resume, int fd, const char *host,
                              int port);

/* Sends close_notify when the handshake was done (without waiting for
 * anything) and frees the link; the caller closes the socket. */
void tls_link_free(struct tls_link *link);

/* Drives the handshake. */
enum tls_step tls_link_handshake(struct tls_link *link);
int tls_link_established(const struct tls_link *link);

/* Whether the handshake resumed a session. */
int tls_link_resumed(const struct tls_link *link);

/* Writes up to SIZE bytes (*WRITTEN says how many on TLS_DONE), or reads
 * up to SIZE (*GOT on TLS_DONE; TLS_CLOSED at the end), driving the
 * handshake first if needed. */
enum tls_step tls_link_write(struct tls_link *link, const void *data, size_t size, size_t *written);
enum tls_step tls_link_read(struct tls_link *link, void *buffer, size_t size, size_t *got);

/* Decrypted bytes waiting inside the link (the socket will not say). */
size_t tls_link_pending(const struct tls_link *link);

/* After TLS_FAILED: the sentence (host, reason, fix); and the system error
 * when the socket itself failed (0 otherwise). */
const char *tls_link_error(const struct tls_link *link);
int tls_link_errno(const struct tls_link *link);

#endif
