/* aws_client: signed calls to one AWS service's REST API, for the adapters.
 *
 * A client holds the user's settings (profile, region, endpoint), finds
 * the credentials the first time a call needs them (aws_credentials.h) and
 * keeps them until the settings change; it sends each call through the
 * shared HTTP engine (http.h, connections kept alive and reused), signed
 * with SigV4 (sigv4.h) at the moment it is sent. Answers are read the way
 * the AWS SDKs read them: a 2xx status is success, anything else an error
 * whose code comes from the `x-amzn-ErrorType` header (cut at ':'), else
 * the body's `__type` / `code` (cut at '#'), and whose message is the
 * body's `message` / `Message`; a 429's `Retry-After` is kept.
 *
 * Nothing secret leaves the client: error texts name where credentials
 * were looked for, never their values, and a service message that quotes
 * the session token (a signature mismatch quotes the canonical request)
 * has it masked. Use from the kernel's loop thread. */
#ifndef FAASET_AWS_CLIENT_H
#define FAASET_AWS_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "http.h"
#include "reactor.h"

struct aws_client;

/* SERVICE is the signing name and endpoint prefix ("lambda"). The HTTP
 * engine is made at the first call (it starts libcurl). NULL when out of memory. */
struct aws_client *aws_client_new(struct reactor *reactor, const char *service);
void aws_client_free(struct aws_client *client);

/* Sets profile, region or endpoint (NULL or "" clears one); the
 * credentials are found again at the next call. Returns 0, or -1 with ERR
 * (a bad endpoint URL). */
int aws_client_set(struct aws_client *client, const char *profile, const char *region, const char *endpoint,
                   char *err, size_t err_size);

/* Finds the credentials now if not yet found. Returns 0, or -1 with ERR
 * saying where it looked and what to set. */
int aws_client_ready(struct aws_client *client, char *err, size_t err_size);

/* The region calls go to ("us-east-1"), finding the credentials first if
 * needed; NULL when they cannot be found (aws_client_ready says why). */
const char *aws_client_region(struct aws_client *client);

/* Where the credentials, region and endpoint come from, secrets masked
 * (aws_credentials_describe), or why they cannot be found. */
void aws_client_describe(struct aws_client *client, char *buf, size_t size);

/* Valid only during the callback. */
struct aws_reply {
    int ok;                              /* a 2xx status */
    long status;                         /* HTTP status, 0 when no answer came */
    const char *error_code;              /* when !ok: "ResourceNotFoundException", "NetworkError", ... */
    const char *message;                 /* when !ok: the service's message or why no answer came */
    double retry_after_ms;               /* a 429's Retry-After, 0 when none */
    const json_t *json;                  /* the body parsed as a JSON object, or NULL */
    const struct http_response *http;    /* the raw answer (headers, body, times), NULL when never sent */
};

typedef void (*aws_reply_fn)(void *ctx, const struct aws_reply *reply);

struct aws_call {
    const char *method;                  /* "GET", "POST", ... */
    const char *path;                    /* as sent, already percent-encoded: "/2015-03-31/functions/f%3A1" */
    const char *query;                   /* without '?', or NULL */
    const char *const *headers;          /* extra "Name: value" lines, NULL-terminated, or NULL */
    const void *body;
    size_t body_size;
    long timeout_ms;                     /* 0 = none */
};

/* Opens connections to the endpoint for COUNT calls at once (found
 * credentials needed; 0 when there are none), and how many are not up
 * yet (see http_prepare). */
size_t aws_client_prepare(struct aws_client *client, size_t count);
size_t aws_client_preparing(struct aws_client *client);

/* Signs and sends CALL. Returns 0 and calls DONE once, later (never before
 * returning), or -1 with ERR (no credentials, a call the signer refuses,
 * out of memory) without calling it. */
int aws_client_send(struct aws_client *client, const struct aws_call *call, aws_reply_fn done, void *ctx, char *err,
                    size_t err_size);

#endif
