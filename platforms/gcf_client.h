/* gcf_client: authorized calls to Google Cloud Functions for the `gcf`
 * adapter, and Google's errors turned into sentences that say what to do.
 *
 * A client holds the user's settings (project, region, endpoint), finds
 * the credentials the first time a call needs them (gcf_credentials.h)
 * and keeps them until the settings change. Each call names how it is
 * authorized: an access token (the Cloud Functions API), an ID token whose
 * audience is the URL called (a function's own URL), or nothing (the
 * signed upload URL). The token is asked for when the call is made (a
 * cached one is used at once; otherwise the call waits for the one
 * exchange in flight) and the call then goes through the shared HTTP
 * engine (http.h, connections kept alive and reused).
 *
 * Answers are read as Google's clients read them: a 2xx status is
 * success; anything else carries {"error": {"code", "message", "status",
 * "details"}}, from which the client writes one sentence naming the
 * project, region or account and what to do: the API not enabled
 * (SERVICE_DISABLED), a permission missing (which one), the credentials
 * refused, a region Cloud Functions does not know, a quota. A 429's
 * Retry-After is kept.
 *
 * The API's address is https://cloudfunctions.googleapis.com, or the
 * endpoint setting, or GCF_ENDPOINT_URL (tests, emulators). A gen 2
 * function's invoker policy is on its Cloud Run service, at
 * https://run.googleapis.com, or at that same endpoint when one is set. The token URI
 * is the credentials file's token_uri. Nothing secret leaves the client:
 * tokens go only into Authorization headers. Use from the loop's thread. */
#ifndef FAASET_GCF_CLIENT_H
#define FAASET_GCF_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "http.h"
#include "reactor.h"

#define GCF_DEFAULT_REGION "us-central1"
#define GCF_DEFAULT_ENDPOINT "https://cloudfunctions.googleapis.com"
#define GCF_DEFAULT_RUN_ENDPOINT "https://run.googleapis.com"

struct gcf_client;

/* NULL when out of memory. The HTTP engine is made at the first call. */
struct gcf_client *gcf_client_new(struct reactor *reactor);
/* Ends the calls in flight (their callbacks get "cancelled") and frees. */
void gcf_client_free(struct gcf_client *client);

/* Sets project, region and endpoint (NULL or "" = the default); the
 * credentials are found again at the next call. 0, or -1 with ERR. */
int gcf_client_set(struct gcf_client *client, const char *project, const char *region, const char *endpoint,
                   char *err, size_t err_size);

/* Finds the credentials and the project now if not yet found. 0, or -1
 * with ERR saying where it looked and what to set. */
int gcf_client_ready(struct gcf_client *client, char *err, size_t err_size);

/* Which credentials, project, region and endpoint are used, safe to show,
 * or why they cannot be found. */
void gcf_client_describe(struct gcf_client *client, char *buf, size_t size);

/* "projects/P/locations/R", the project and the region; valid after
 * gcf_client_ready succeeded, until the settings change. */
const char *gcf_client_parent(const struct gcf_client *client);
const char *gcf_client_project(const struct gcf_client *client);
const char *gcf_client_region(const struct gcf_client *client);
/* Where Cloud Run's API is (the invoker policy of a gen 2 function's service), without a trailing slash. */
const char *gcf_client_run_endpoint(const struct gcf_client *client);

/* Valid only during the callback. */
struct gcf_reply {
    int ok;                              /* a 2xx status */
    long status;                         /* HTTP status, 0 when no answer came */
    const char *error_type;              /* when !ok: Google's status ("NOT_FOUND", "PERMISSION_DENIED"),
                                            "LocationNotFound" (the region), "NetworkError", "RequestTimeout",
                                            "Unauthenticated" (no token), ... */
    const char *message;                 /* when !ok: one sentence saying what happened and what to do */
    double retry_after_ms;               /* a 429's Retry-After, 0 when none */
    const json_t *json;                  /* the body parsed as a JSON object, or NULL */
    const struct http_response *http;    /* the raw answer, NULL when never sent */
};

typedef void (*gcf_reply_fn)(void *ctx, const struct gcf_reply *reply);

enum gcf_auth { GCF_AUTH_ACCESS, GCF_AUTH_ID, GCF_AUTH_NONE };

struct gcf_call {
    const char *method;
    const char *url;                     /* a path on the API ("/v2/projects/..."), or an absolute URL */
    enum gcf_auth auth;                  /* GCF_AUTH_ID: the audience is URL itself */
    const char *content_type;            /* NULL: none */
    const void *body;
    size_t body_size;
    long timeout_ms;
};

/* Sends CALL. Returns 0 and calls DONE once, later (never before
 * returning), or -1 with ERR (no credentials, out of memory) without
 * calling it. */
int gcf_client_send(struct gcf_client *client, const struct gcf_call *call, gcf_reply_fn done, void *ctx, char *err,
                    size_t err_size);

#endif
