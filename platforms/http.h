/* http: the HTTP engine every cloud platform adapter shares. libcurl multi
 * handles driven by the kernel's reactor, so thousands of requests in
 * flight cost thousands of sockets on the one loop, not threads; the
 * transfers are spread over several multi handles of at most 128 each, as
 * libcurl's cost per transfer grows with the connections of its handle.
 * Requests keep their connections alive for reuse (HTTP/1.1, no limit per
 * host), follow no redirects, speak only http(s), use a proxy only when the
 * environment names one (libcurl's http_proxy / https_proxy / no_proxy),
 * and their sockets are close-on-exec. http:// and https:// to an IP
 * address or a plain host name go over the engine's own HTTP/1.1 client
 * instead (http_direct: fewer system calls per request, one TLS context for
 * all connections, TLS sessions resumed, each host name looked up once;
 * FAASET_HTTP_DIRECT=0 sends everything through libcurl), with the same
 * behaviour as seen from here; libcurl keeps proxies and the URLs the own
 * client does not take. Certificates are always verified, against the
 * request's ca_file, else SSL_CERT_FILE / SSL_CERT_DIR, else the system's
 * store. A burst of requests to a host name waits for the first one's name
 * lookup, so it costs one lookup, not one resolver thread per request.
 *
 * Use an engine from the loop's thread only. Callbacks run there, never
 * before http_send returns, and never while the loop is reading sockets:
 * the answers read in one loop round are time-stamped as they are read and
 * their callbacks run together afterwards, from a reactor timer. A
 * callback may call http_send, and may call http_engine_free: the engine
 * then cancels what is left at once (answers already read but not yet
 * delivered included) and is released when the callback returns. The
 * reactor must outlive the engine. */
#ifndef FAASET_HTTP_H
#define FAASET_HTTP_H

#include <stddef.h>

#include "http_message.h"
#include "reactor.h"

struct http_engine;

/* NULL when out of memory. The first engine raises the soft limit on open
 * files to the hard one. libcurl is loaded (curl_api.h) only when a request
 * first needs it: a proxy, FAASET_HTTP_DIRECT=0, a URL the own client does
 * not take; http_send returns -1 (logged) if it cannot be loaded then. */
struct http_engine *http_engine_new(struct reactor *reactor);

/* Ends every pending request (its callback gets error "cancelled") and
 * frees the engine, or, called from a callback, frees it when that returns. */
void http_engine_free(struct http_engine *engine);

typedef void (*http_done_fn)(void *ctx, const struct http_response *response);

/* Starts a request; returns 0 and calls DONE once, later, or returns -1
 * without calling it: out of memory, an engine being freed, or a request
 * the caller got wrong (NULL method, url or done; a method not in capital
 * letters; an empty header or one with CR or LF; body NULL with a size).
 * What only the transfer can tell (a malformed URL, another scheme) comes
 * as ERROR through DONE. Everything REQUEST points to is copied: it need
 * only be valid during the call. */
int http_send(struct http_engine *engine, const struct http_request *request, http_done_fn done, void *ctx);

/* The value of a response header (NAME case-insensitive, first occurrence,
 * surrounding blanks trimmed), or NULL. Valid as long as RESPONSE. */
const char *http_response_header(const struct http_response *response, const char *name);

/* Opens connections to URL's host ahead of a burst of COUNT requests
 * (with CA_FILE as the requests' ca_file will be), so
 * the burst's requests go out together instead of each after its own
 * connection set-up; returns how many it opened (0 when COUNT are already
 * idle). Only for the requests the engine's own client carries (see
 * http_direct.h; https with the environment's CA settings): elsewhere it
 * opens none, and the requests connect as they go. On loopback or a near
 * host the connections are up when it returns (a host name once it is
 * looked up, TLS handshakes as the sockets allow); elsewhere they finish
 * while the requests wait. */
size_t http_prepare(struct http_engine *engine, const char *url, const char *ca_file, size_t count);

/* How many connections http_prepare opened to URL's host are not ready
 * yet (see http_direct_preparing); 0 for requests libcurl carries. */
size_t http_preparing(struct http_engine *engine, const char *url, const char *ca_file);

/* Requests sent whose callback has not run yet. */
size_t http_engine_in_flight(const struct http_engine *engine);

#endif
