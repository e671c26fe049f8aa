/* http_direct: the HTTP engine's own HTTP/1.1 client for http:// and
 * https:// to an IP address or a host name, on the reactor, beside libcurl
 * (which keeps proxies and the URLs http_url does not take). It exists for
 * speed: an experiment with ten thousand requests in flight spends its
 * time per request, and this path costs one send and one receive on a
 * kept-alive connection, and socket, connect, send and one epoll
 * registration on a new one, where libcurl makes about twenty system calls
 * and many allocations (see http.c); over TLS it shares one SSL_CTX per
 * trust and resumes sessions (tls.h). Internal to the engine: http.c routes
 * requests here and reports them to its callers as it does libcurl's.
 *
 * Connections are kept alive per origin (scheme, host, port, trust) and
 * reused, newest first; an idle one stays registered for reading, so a
 * server that closes it is noticed and it is dropped. A request that finds
 * its reused connection closed before any answer byte is sent once more on
 * a new one, as libcurl does. Idle connections are closed after
 * HTTP_DIRECT_IDLE_MS. A host name is looked up once per origin
 * (resolve.h), not per request, and again after a minute. */
#ifndef FAASET_HTTP_DIRECT_H
#define FAASET_HTTP_DIRECT_H

#include "http_message.h"
#include "http_reply.h"
#include "reactor.h"

struct http_direct;
struct http_direct_call;

/* Called once per call when it ends (answered, failed or timed out), from
 * the reactor's callbacks or from inside http_direct_send (a connection
 * refused at once): the owner must only note it and act later. */
typedef void (*http_direct_ended_fn)(void *owner);

/* NULL when out of memory. */
struct http_direct *http_direct_new(struct reactor *reactor, http_direct_ended_fn ended);

/* Closes every connection. Calls still open must have been cancelled. */
void http_direct_free(struct http_direct *direct);

/* Whether URL is one this client takes (see http_url.h): http:// or
 * https://, an IP address or a plain host name, an optional port, no user
 * name, a path of visible ASCII. */
int http_direct_takes(const char *url);

/* Starts REQUEST (URL taken by http_direct_takes, method and headers
 * already checked by http.c); OWNER is passed to ENDED. NULL when out of
 * memory. */
struct http_direct_call *http_direct_send(struct http_direct *direct, const struct http_request *request,
                                          void *owner);

/* Writes the requests that wait for the end of the loop round (see
 * http_direct.c); the owner calls it after a batch of callbacks, and a 0 ms
 * timer does otherwise. */
void http_direct_flush(struct http_direct *direct);

/* Ends CALL without calling ENDED (its connection, if it had one, is closed)
 * or, once ended, frees it. */
void http_direct_release(struct http_direct_call *call);

/* Once ended: the response read (status, head, body; see http_reply.h), or
 * the error (then *TIMED_OUT says whether the timeout ran out). */
const struct http_reply *http_direct_reply(const struct http_direct_call *call);
const char *http_direct_error(const struct http_direct_call *call, int *timed_out);

/* Opens connections to URL's origin (a URL http_direct_takes; https with
 * CA_FILE's trust, NULL: the environment's, as for requests) until COUNT are idle, ahead of a burst of COUNT
 * requests; returns how many it opened (0 for a host name not looked up
 * yet: they are opened once it is). Stops early when sockets run out. */
size_t http_direct_prepare(struct http_direct *direct, const char *url, const char *ca_file, size_t count);

/* How many of the connections http_direct_prepare opened to URL's origin
 * are not ready yet (connecting, in their TLS handshake, or waiting for
 * the name lookup or the TLS probe); 0 when all are up or failed. */
size_t http_direct_preparing(struct http_direct *direct, const char *url, const char *ca_file);

#endif
