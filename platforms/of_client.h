/* of_client: calls to an OpenFaaS gateway for the `openfaas` adapter, and
 * the gateway's errors turned into sentences that say what to do.
 *
 * A client holds the user's gateway setting, finds the credentials
 * (of_credentials.h) the first time a call needs them and keeps them until
 * the setting changes. Calls go through the shared HTTP engine (http.h);
 * those under /system carry the gateway's Basic auth, those to
 * /function and /async-function carry none (the gateway does not ask for
 * it there, and a function never sees the password).
 *
 * The gateway answers errors as plain text (Go's http.Error); the client
 * writes one sentence naming the gateway and, for a refusal of the
 * credentials (401), the user and where the password came from. The
 * gateway's X-Call-Id is passed on.
 *
 * Nothing secret leaves the client: the password goes only into the
 * Authorization header, whose text is wiped once the engine has copied
 * it. Use from the loop's thread. */
#ifndef FAASET_OF_CLIENT_H
#define FAASET_OF_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "http.h"
#include "reactor.h"

struct of_client;

/* NULL when out of memory. The HTTP engine is made at the first call. */
struct of_client *of_client_new(struct reactor *reactor);
/* Ends the calls in flight (their callbacks get "cancelled") and frees. */
void of_client_free(struct of_client *client);

/* Sets the gateway (NULL or "" = from the environment or the default);
 * the credentials are found again at the next call. 0, or -1 with ERR. */
int of_client_set(struct of_client *client, const char *gateway, char *err, size_t err_size);

/* Finds the credentials now if not yet found. 0, or -1 with ERR saying
 * where it looked and what to set. */
int of_client_ready(struct of_client *client, char *err, size_t err_size);

/* Which user and gateway are used and where they came from, safe to show,
 * or why they cannot be found. */
void of_client_describe(struct of_client *client, char *buf, size_t size);

/* Valid only during the callback. */
struct of_reply {
    int ok;                              /* a 2xx status */
    long status;                         /* HTTP status, 0 when no answer came */
    const char *error_type;              /* when !ok: "Unauthenticated", "NotFound", "InvalidDeployment",
                                            "TooManyRequests", "Unavailable", "NetworkError",
                                            "RequestTimeout", "HTTP<status>" */
    const char *message;                 /* when !ok: one sentence saying what happened and what to do */
    const char *text;                    /* the body as the gateway sent it ("" when none) */
    const char *call_id;                 /* the gateway's X-Call-Id, or NULL */
    double retry_after_ms;               /* a 429's or 503's Retry-After, 0 when none */
    const json_t *json;                  /* the body parsed as JSON, or NULL */
    const struct http_response *http;    /* the raw answer */
};

typedef void (*of_reply_fn)(void *ctx, const struct of_reply *reply);

struct of_call {
    const char *method;
    const char *path;                    /* "/system/functions", "/function/NAME", ... */
    const void *body;                    /* JSON, or NULL */
    size_t body_size;
    long timeout_ms;
};

/* Sends CALL. Returns 0 and calls DONE once, later (never before
 * returning), or -1 with ERR (no credentials, out of memory) without
 * calling it. */
int of_client_send(struct of_client *client, const struct of_call *call, of_reply_fn done, void *ctx, char *err,
                   size_t err_size);

/* Opens connections to the gateway ahead of COUNT calls at once (an
 * experiment's pass), and how many are not up yet (see http_prepare). */
size_t of_client_prepare(struct of_client *client, size_t count);
size_t of_client_preparing(struct of_client *client);

#endif
