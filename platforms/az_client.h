/* az_client: authorized calls to Azure for the `azure` adapter: Azure
 * Resource Manager (ARM), the app's Kudu (the scm site that takes zip
 * deploys) and the function app's own host, and Azure's errors turned into
 * sentences that say what to do.
 *
 * A client holds the user's settings (az_credentials_options), finds the
 * credentials (az_credentials.h) the first time a call needs them and
 * keeps them until the settings change. Each call names its service:
 *   - ARM: a path under the management endpoint (with its api-version),
 *     sent with the service principal's bearer token (a cached one at
 *     once, otherwise after the one exchange in flight);
 *   - Kudu: an absolute URL, sent with the publish profile's Basic
 *     credentials, or the bearer token when there is no profile;
 *   - the app: an absolute URL, sent with the function key as
 *     x-functions-key (no other credential).
 * Everything goes through the shared HTTP engine (http.h: connections
 * kept alive, TLS sessions resumed, the CA from SSL_CERT_FILE /
 * SSL_CERT_DIR, else the system's).
 *
 * Answers: a 2xx status is success; anything else becomes one sentence
 * (az_client_explain): ARM's {"error": {"code", "message"}} with the code
 * named and what to do for the common ones (a role missing, a resource
 * group, app or subscription that does not exist, a token refused), Kudu's
 * {"Message"} or text (credentials refused, a deployment already running),
 * the app host's 401 (the function key); Kudu's 401 to a bearer token says
 * which role the principal needs. A 429's or 503's Retry-After is
 * kept. Nothing secret leaves the client: tokens, passwords and keys go
 * only into headers, whose text is wiped once the engine has copied it.
 * Use from the loop's thread. */
#ifndef FAASET_AZ_CLIENT_H
#define FAASET_AZ_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "az_credentials.h"
#include "http.h"
#include "reactor.h"

#define AZ_API_VERSION "2023-12-01"

struct az_client;

enum az_service { AZ_ARM, AZ_KUDU, AZ_APP };

/* NULL when out of memory. The HTTP engine is made at the first call. */
struct az_client *az_client_new(struct reactor *reactor);
/* Ends the calls in flight (their callbacks get "cancelled") and frees. */
void az_client_free(struct az_client *client);

/* Sets the user's settings (copied; NULL or "" members = from the
 * environment or the publish profile); the credentials are found again at
 * the next call. 0, or -1 with ERR. */
int az_client_set(struct az_client *client, const struct az_credentials_options *options, char *err,
                  size_t err_size);

/* Finds the credentials now if not yet found. 0, or -1 with ERR saying
 * where it looked and what to set. */
int az_client_ready(struct az_client *client, char *err, size_t err_size);

/* Where every setting came from, safe to show, or why they cannot be found. */
void az_client_describe(struct az_client *client, char *buf, size_t size);

/* The credentials, valid after az_client_ready succeeded, until the settings change. */
struct az_credentials *az_client_credentials(const struct az_client *client);

/* Valid only during the callback. */
struct az_reply {
    int ok;                              /* a 2xx status */
    long status;                         /* HTTP status, 0 when no answer came */
    const char *error_type;              /* when !ok: ARM's code ("AuthorizationFailed", "ResourceNotFound",
                                            "ResourceGroupNotFound", ...), "Unauthenticated", "Conflict",
                                            "TooManyRequests", "NetworkError", "RequestTimeout",
                                            "TokenRefused", "HTTP<status>" */
    const char *message;                 /* when !ok: one sentence saying what happened and what to do */
    double retry_after_ms;               /* a 429's or 503's Retry-After, 0 when none */
    const json_t *json;                  /* the body parsed as JSON, or NULL */
    const struct http_response *http;    /* the raw answer, NULL when never sent */
};

typedef void (*az_reply_fn)(void *ctx, const struct az_reply *reply);

struct az_call {
    enum az_service service;
    const char *method;
    const char *url;                     /* ARM: a path ("/subscriptions/..."); Kudu, app: an absolute URL */
    const char *content_type;            /* NULL: none */
    const void *body;
    size_t body_size;
    const char *function_key;            /* AZ_APP: sent as x-functions-key, or NULL */
    long timeout_ms;
};

/* Sends CALL. Returns 0 and calls DONE once, later (never before
 * returning), or -1 with ERR (no credentials, out of memory) without
 * calling it. */
int az_client_send(struct az_client *client, const struct az_call *call, az_reply_fn done, void *ctx, char *err,
                   size_t err_size);

/* Opens connections to URL ahead of COUNT calls at once (an experiment's
 * pass), and how many are not up yet (see http_prepare). */
size_t az_client_prepare(struct az_client *client, const char *url, size_t count);
size_t az_client_preparing(struct az_client *client, const char *url);

/* The one sentence for an error answer of SERVICE (STATUS, BODY) into
 * OUT, and its type into TYPE; WHERE names what was called ("function app
 * hello in resource group rg"). Public for the tests. */
void az_client_explain(enum az_service service, long status, const char *body, size_t body_size, const char *where,
                       char *type, size_t type_size, char *out, size_t size);

#endif
