/* ow_client: authorized calls to an Apache OpenWhisk controller (IBM
 * Cloud Functions is OpenWhisk) for the `ibm` adapter, and OpenWhisk's
 * errors turned into sentences that say what to do.
 *
 * A client holds the user's settings (API host, namespace), finds the
 * credentials (ow_credentials.h) the first time a call needs them and
 * keeps them until the settings change. Every call is a path under
 * /api/v1/namespaces/NS (NS the namespace, "_" for the key's own), sent
 * with HTTP Basic auth, or for an IAM-based namespace (an IBM Cloud API
 * key) with an IAM bearer token (ow_iam.h: cached, refreshed before it
 * expires, a call waiting only when there is no good one), through the
 * shared HTTP engine (http.h: its own
 * client for http:// and https://, connections kept alive, TLS sessions
 * resumed; the CA is SSL_CERT_FILE / SSL_CERT_DIR, else the system's).
 *
 * Answers are read as wsk reads them: a 2xx status is success (a 202 too:
 * an activation that goes on); anything else carries {"error": "...",
 * "code": "<transaction id>"}, from which the client writes one sentence
 * naming the host, the key's UUID and where it came from, and what to do:
 * a key refused (401), a namespace the key may not use (403), a namespace
 * that does not exist, limits refused (400 "exceeds allowed threshold"),
 * too much code (413), throttling (429, Retry-After kept). The activation
 * id of an invoke (x-openwhisk-activation-id) is passed on.
 *
 * Nothing secret leaves the client: the key goes only into the
 * Authorization header, whose text is wiped once the engine has copied
 * it. Use from the loop's thread. */
#ifndef FAASET_OW_CLIENT_H
#define FAASET_OW_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "http.h"
#include "reactor.h"

struct ow_client;

/* NULL when out of memory. The HTTP engine is made at the first call. */
struct ow_client *ow_client_new(struct reactor *reactor);
/* Ends the calls in flight (their callbacks get "cancelled") and frees. */
void ow_client_free(struct ow_client *client);

/* The user's settings; NULL or "" = from the environment or the
 * properties file. */
struct ow_client_settings {
    const char *apihost, *ns;
    const char *iam_apikey_file;         /* a file holding an IBM Cloud API key */
    const char *iam_endpoint;            /* IAM's base URL (https://iam.cloud.ibm.com) */
};

/* Sets them (SETTINGS NULL: none); the credentials are found again at the
 * next call. 0, or -1 with ERR. */
int ow_client_set(struct ow_client *client, const struct ow_client_settings *settings, char *err, size_t err_size);

/* Finds the credentials now if not yet found. 0, or -1 with ERR saying
 * where it looked and what to set. */
int ow_client_ready(struct ow_client *client, char *err, size_t err_size);

/* Which key (its UUID and where it came from), host and namespace are
 * used, safe to show, or why they cannot be found. */
void ow_client_describe(struct ow_client *client, char *buf, size_t size);

/* The API host URL; valid after ow_client_ready succeeded, until the settings change. */
const char *ow_client_apihost(const struct ow_client *client);

/* Valid only during the callback. */
struct ow_reply {
    int ok;                              /* a 2xx status */
    long status;                         /* HTTP status, 0 when no answer came (IAM's when it gave no token) */
    const char *error_type;              /* when !ok: "Unauthenticated", "Forbidden", "NotFound",
                                            "NamespaceNotFound", "Conflict", "LimitRefused", "RequestTooLarge",
                                            "TooManyRequests", "NetworkError", "RequestTimeout", "IamRefused"
                                            (IAM refused the API key), "IamUnavailable" (IAM failed otherwise),
                                            "HTTP<status>" */
    const char *message;                 /* when !ok: one sentence saying what happened and what to do */
    const char *error;                   /* when !ok: OpenWhisk's own error text, or "" */
    const char *activation_id;           /* an invoke's x-openwhisk-activation-id, or NULL */
    double retry_after_ms;               /* a 429's or 503's Retry-After, 0 when none */
    const json_t *json;                  /* the body parsed as JSON (object or array), or NULL */
    const struct http_response *http;    /* the raw answer, NULL when never sent */
};

typedef void (*ow_reply_fn)(void *ctx, const struct ow_reply *reply);

struct ow_call {
    const char *method;
    const char *path;                    /* under /api/v1/namespaces/NS, e.g. "/actions/hello?overwrite=true" */
    const void *body;                    /* JSON, or NULL */
    size_t body_size;
    long timeout_ms;
};

/* Sends CALL. Returns 0 and calls DONE once, later (never before
 * returning), or -1 with ERR (no credentials, out of memory) without
 * calling it. */
int ow_client_send(struct ow_client *client, const struct ow_call *call, ow_reply_fn done, void *ctx, char *err,
                   size_t err_size);

/* Opens connections to the API host ahead of COUNT calls at once (an
 * experiment's pass), and how many are not up yet (see http_prepare); in
 * an IAM-based namespace also fetches the bearer token, counted as one
 * more until it has come. */
size_t ow_client_prepare(struct ow_client *client, size_t count);
size_t ow_client_preparing(struct ow_client *client);

#endif
