/* ow_iam: IBM Cloud IAM access tokens from an API key (see ow_iam.h).
 *
 * State: the current "Bearer ..." value with when it was bought and when
 * it expires (monotonic clock), the requests waiting for a token, and at
 * most one exchange in flight. The exchange's context is allocated apart,
 * so freeing the source while an exchange is out only detaches it: its
 * answer then frees the context and nothing else. Waiters are taken off
 * the list before their callbacks run, so a callback may ask again. */
#include "ow_iam.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "clock.h"
#include "credfile.h"
#include "list.h"
#include "sigv4.h"

#define OW_IAM_GRANT "urn:ibm:params:oauth:grant-type:apikey"
#define OW_IAM_TIMEOUT_MS 30000L
#define OW_IAM_MARGIN_MAX_MS 60000LL    /* a token this close to its end is not handed out */
#define OW_IAM_REFRESH_MAX_MS 300000LL  /* a token this close to its end is refreshed in the background */

struct ow_iam_waiter {
    struct list_node node;
    ow_iam_fn done;
    void *ctx;
};

struct ow_iam_exchange {
    struct ow_iam *owner;               /* NULL once the source is freed */
    long long asked_ms;                 /* clock_mono_ms when it was sent: IAM's clock starts no earlier */
};

struct ow_iam {
    char *token_url, *apikey, *apikey_from;
    char *authorization;                /* "Bearer ...", NULL until the first exchange succeeds */
    long long bought_ms, expires_ms;    /* clock_mono_ms */
    struct ow_iam_exchange *exchange;   /* the one in flight, or NULL */
    struct list_node waiters;           /* struct ow_iam_waiter, in the order they asked */
};

struct ow_iam *ow_iam_new(const char *token_url, const char *apikey, const char *apikey_from)
{
    struct ow_iam *iam = calloc(1, sizeof *iam);
    if (iam == NULL)
        return NULL;
    iam->token_url = strdup(token_url);
    iam->apikey = strdup(apikey);
    iam->apikey_from = strdup(apikey_from);
    list_init(&iam->waiters);
    if (iam->token_url == NULL || iam->apikey == NULL || iam->apikey_from == NULL) {
        ow_iam_free(iam);
        return NULL;
    }
    return iam;
}

/* Takes the waiters off IAM and answers each: a copy of AUTHORIZATION, or ERROR and IAM's STATUS. */
static void ow_iam_answer(struct ow_iam *iam, const char *authorization, const char *error, long status)
{
    struct list_node answered, *node;
    list_init(&answered);
    while ((node = list_first(&iam->waiters)) != NULL) {
        list_remove(node);
        list_push_back(&answered, node);
    }
    while ((node = list_first(&answered)) != NULL) {
        struct ow_iam_waiter *w = list_entry(node, struct ow_iam_waiter, node);
        list_remove(node);
        char *copy = authorization != NULL ? strdup(authorization) : NULL; /* a callback may replace IAM's */
        w->done(w->ctx, copy, copy != NULL ? NULL : error != NULL ? error : "out of memory", status);
        credfile_wipe_free(copy);
        free(w);
    }
}

void ow_iam_free(struct ow_iam *iam)
{
    if (iam == NULL)
        return;
    if (iam->exchange != NULL)
        iam->exchange->owner = NULL;
    ow_iam_answer(iam, NULL, "cancelled", 0);
    credfile_wipe_free(iam->authorization);
    credfile_wipe_free(iam->apikey);
    free(iam->token_url);
    free(iam->apikey_from);
    free(iam);
}

/* How long before its end a token of LIFETIME_MS stops being handed out, and starts being refreshed. */
static long long ow_iam_margin(long long lifetime_ms)
{
    return lifetime_ms / 4 < OW_IAM_MARGIN_MAX_MS ? lifetime_ms / 4 : OW_IAM_MARGIN_MAX_MS;
}

static long long ow_iam_refresh_at(long long lifetime_ms)
{
    return lifetime_ms / 2 < OW_IAM_REFRESH_MAX_MS ? lifetime_ms / 2 : OW_IAM_REFRESH_MAX_MS;
}

/* Milliseconds of good life the cached token has left (beyond the margin), 0 when none. */
static long long ow_iam_good_ms(const struct ow_iam *iam)
{
    if (iam->authorization == NULL)
        return 0;
    long long left = iam->expires_ms - clock_mono_ms() - ow_iam_margin(iam->expires_ms - iam->bought_ms);
    return left > 0 ? left : 0;
}

/* IAM's refusal as one sentence into ERR. */
static void ow_iam_refused(const struct ow_iam *iam, const struct http_response *r, char *err, size_t size)
{
    if (r->error != NULL) {
        snprintf(err, size, "could not reach IBM Cloud IAM at %s: %s", iam->token_url, r->error);
        return;
    }
    json_t *body = json_loadb(r->body, r->body_size, 0, NULL);
    const char *code = json_string_value(json_object_get(body, "errorCode"));
    const char *text = json_string_value(json_object_get(body, "errorMessage"));
    char reason[400];
    if (code != NULL)
        snprintf(reason, sizeof reason, "%.40s: %.300s", code, text != NULL ? text : "no message");
    else
        snprintf(reason, sizeof reason, "HTTP %ld", r->status);
    if (r->status == 400 || r->status == 401)
        snprintf(err, size, "IBM Cloud IAM at %s refused the API key from %s (%s): check that the key exists and is "
                 "not disabled (ibmcloud iam api-keys), or create one with `ibmcloud iam api-key-create NAME --file "
                 "key.json` and name that file in %%platform ibm iam_apikey_file=", iam->token_url, iam->apikey_from,
                 reason);
    else
        snprintf(err, size, "IBM Cloud IAM at %s gave no token for the API key from %s (%s): try again later",
                 iam->token_url, iam->apikey_from, reason);
    json_decref(body);
}

static void ow_iam_on_token(void *ctx, const struct http_response *r)
{
    struct ow_iam_exchange *exchange = ctx;
    struct ow_iam *iam = exchange->owner;
    long long asked_ms = exchange->asked_ms;
    free(exchange);
    if (iam == NULL)
        return;
    iam->exchange = NULL;
    char err[1024] = "";
    json_t *body = r->error == NULL && r->status == 200 ? json_loadb(r->body, r->body_size, 0, NULL) : NULL;
    const char *token = json_string_value(json_object_get(body, "access_token"));
    json_int_t seconds = json_integer_value(json_object_get(body, "expires_in"));
    char *authorization = NULL;
    if (r->error != NULL || r->status != 200)
        ow_iam_refused(iam, r, err, sizeof err);
    else if (token == NULL || token[0] == '\0' || seconds <= 0)
        snprintf(err, sizeof err, "IBM Cloud IAM at %s answered without an access token and its expires_in",
                 iam->token_url);
    else if (asprintf(&authorization, "Bearer %s", token) < 0) {
        authorization = NULL;
        snprintf(err, sizeof err, "out of memory");
    }
    json_decref(body); /* jansson's copy of the token is released without wiping, as gcf_credentials' are */
    if (authorization != NULL) {
        credfile_wipe_free(iam->authorization);
        iam->authorization = authorization;
        iam->bought_ms = asked_ms; /* its life counted from before IAM made it: never longer than IAM's */
        iam->expires_ms = iam->bought_ms + (long long)seconds * 1000;
    }
    ow_iam_answer(iam, authorization, err, r->error != NULL ? 0 : r->status);
}

/* Starts the grant. 0, or -1 with ERR. */
static int ow_iam_start(struct ow_iam *iam, struct http_engine *engine, char *err, size_t err_size)
{
    struct buffer form = {0};
    char *key = sigv4_uri_encode(iam->apikey, 0);
    struct ow_iam_exchange *exchange = calloc(1, sizeof *exchange);
    if (key != NULL)
        buffer_printf(&form, "grant_type=%s&apikey=%s", OW_IAM_GRANT, key);
    credfile_wipe_free(key);
    if (key == NULL || form.failed || exchange == NULL) {
        if (form.data != NULL)
            sodium_memzero(form.data, form.capacity);
        buffer_free(&form);
        free(exchange);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    exchange->owner = iam;
    exchange->asked_ms = clock_mono_ms();
    static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded",
                                          "Accept: application/json", NULL};
    struct http_request request = {.method = "POST", .url = iam->token_url, .headers = headers, .body = form.data,
                                   .body_size = form.size, .timeout_ms = OW_IAM_TIMEOUT_MS};
    int rc = http_send(engine, &request, ow_iam_on_token, exchange);
    sodium_memzero(form.data, form.capacity);
    buffer_free(&form);
    if (rc < 0) {
        free(exchange);
        snprintf(err, err_size, "could not send the token request to IBM Cloud IAM at %s", iam->token_url);
        return -1;
    }
    iam->exchange = exchange;
    return 0;
}

const char *ow_iam_cached(struct ow_iam *iam, struct http_engine *engine)
{
    if (ow_iam_good_ms(iam) == 0)
        return NULL;
    char ignored[256]; /* a refresh that cannot start now is tried again by the next call */
    if (iam->expires_ms - clock_mono_ms() < ow_iam_refresh_at(iam->expires_ms - iam->bought_ms) &&
        iam->exchange == NULL)
        (void)ow_iam_start(iam, engine, ignored, sizeof ignored);
    return iam->authorization;
}

int ow_iam_wait(struct ow_iam *iam, struct http_engine *engine, ow_iam_fn done, void *ctx, char *err,
                size_t err_size)
{
    struct ow_iam_waiter *w = calloc(1, sizeof *w);
    if (w == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    if (iam->exchange == NULL && ow_iam_start(iam, engine, err, err_size) < 0) {
        free(w);
        return -1;
    }
    w->done = done;
    w->ctx = ctx;
    list_push_back(&iam->waiters, &w->node);
    return 0;
}

void ow_iam_prefetch(struct ow_iam *iam, struct http_engine *engine)
{
    char ignored[256]; /* the calls will say why */
    if (ow_iam_good_ms(iam) == 0 && iam->exchange == NULL)
        (void)ow_iam_start(iam, engine, ignored, sizeof ignored);
}

int ow_iam_waiting(const struct ow_iam *iam)
{
    return iam->exchange != NULL && ow_iam_good_ms(iam) == 0;
}

void ow_iam_forget(struct ow_iam *iam)
{
    credfile_wipe_free(iam->authorization);
    iam->authorization = NULL;
}
