/* ow_client: authorized calls to an OpenWhisk controller (see ow_client.h).
 *
 * A call is copied into a pending record (the caller's arguments are valid
 * only during the call) and handed to the HTTP engine with its
 * Authorization header: the credentials' Basic one at once, or an IAM
 * bearer token (ow_iam) at once when one is cached, else once the token
 * exchange answers (the call's method and body are then copied into the
 * record to wait). The record lives until the engine answers, and the
 * answer becomes an ow_reply: the body parsed, OpenWhisk's {"error",
 * "code"} read, and one sentence written for the user. The header's text
 * is wiped as soon as the engine has copied it. */
#include "ow_client.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ow_credentials.h"
#include "ow_iam.h"
#include "retry.h"

struct ow_client {
    struct reactor *reactor;
    struct http_engine *engine;
    char *apihost, *ns;                    /* the user's settings, NULL when unset */
    char *iam_apikey_file, *iam_endpoint;  /* likewise, for an IAM-based namespace */
    struct ow_credentials *credentials;    /* found at the first call, dropped when the settings change */
    struct ow_iam *iam;                    /* the bearer tokens, with an IBM Cloud API key */
    char *base;                            /* "APIHOST/api/v1/namespaces/NS", with the credentials */
};

struct ow_pending {
    struct ow_client *client;
    ow_reply_fn done;
    void *ctx;
    char *url;
    size_t path_at;                        /* where the path under the namespace starts in URL */
    int put;                               /* a PUT: a 404 can only be the namespace's */
    char *method;                          /* while it waits for a bearer token: the call's own */
    void *body;
    size_t body_size;
    long timeout_ms;
};

struct ow_client *ow_client_new(struct reactor *reactor)
{
    struct ow_client *client = calloc(1, sizeof *client);
    if (client != NULL)
        client->reactor = reactor;
    return client;
}

static void ow_client_forget(struct ow_client *client)
{
    struct ow_iam *iam = client->iam; /* its waiters are answered "cancelled" with the client consistent */
    client->iam = NULL;
    ow_iam_free(iam);
    ow_credentials_free(client->credentials);
    client->credentials = NULL;
    free(client->base);
    client->base = NULL;
}

void ow_client_free(struct ow_client *client)
{
    if (client == NULL)
        return;
    ow_client_forget(client);
    http_engine_free(client->engine); /* answers every call in flight with "cancelled" */
    free(client->apihost);
    free(client->ns);
    free(client->iam_apikey_file);
    free(client->iam_endpoint);
    free(client);
}

static int ow_client_replace(char **slot, const char *value)
{
    char *copy = NULL;
    if (value != NULL && *value && (copy = strdup(value)) == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

int ow_client_set(struct ow_client *client, const struct ow_client_settings *settings, char *err, size_t err_size)
{
    static const struct ow_client_settings none = {NULL, NULL, NULL, NULL};
    const struct ow_client_settings *s = settings != NULL ? settings : &none;
    if (ow_client_replace(&client->apihost, s->apihost) < 0 || ow_client_replace(&client->ns, s->ns) < 0 ||
        ow_client_replace(&client->iam_apikey_file, s->iam_apikey_file) < 0 ||
        ow_client_replace(&client->iam_endpoint, s->iam_endpoint) < 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    ow_client_forget(client);
    return 0;
}

int ow_client_ready(struct ow_client *client, char *err, size_t err_size)
{
    if (client->base != NULL)
        return 0;
    if (client->credentials == NULL) {
        struct ow_credentials_options options = {client->apihost, NULL, client->ns, client->iam_apikey_file,
                                                 client->iam_endpoint};
        if (ow_credentials_load(&options, &client->credentials, err, err_size) < 0)
            return -1;
    }
    const char *apikey = ow_credentials_apikey(client->credentials);
    if (apikey != NULL && client->iam == NULL &&
        (client->iam = ow_iam_new(ow_credentials_token_url(client->credentials), apikey,
                                  ow_credentials_apikey_from(client->credentials))) == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    if (asprintf(&client->base, "%s/api/v1/namespaces/%s", ow_credentials_apihost(client->credentials),
                 ow_credentials_namespace(client->credentials)) < 0) {
        client->base = NULL;
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

void ow_client_describe(struct ow_client *client, char *buf, size_t size)
{
    if (ow_client_ready(client, buf, size) == 0)
        ow_credentials_describe(client->credentials, buf, size);
}

const char *ow_client_apihost(const struct ow_client *client)
{
    return client->credentials != NULL ? ow_credentials_apihost(client->credentials) : "";
}

/* ---- errors ---- */

/* One sentence for an error answer: what happened and what to do. */
static void ow_client_explain(const struct ow_client *client, long status, const char *text, const char *path,
                              int put, char *type, size_t type_size, char *out, size_t size)
{
    char who[600] = "key";
    if (client->credentials == NULL) { /* the settings changed while the call was out */
        snprintf(out, size, "OpenWhisk answered HTTP %ld (%.300s) to a call made before the settings changed: run it "
                 "again", status, text);
        snprintf(type, type_size, "HTTP%ld", status);
        return;
    }
    ow_credentials_describe(client->credentials, who, sizeof who);
    char *semicolon = strchr(who, ';'); /* the key's UUID and where it came from */
    if (semicolon != NULL)
        *semicolon = '\0';
    const char *host = ow_client_apihost(client);
    const char *ns = ow_credentials_namespace(client->credentials);
    const char *apikey_from = ow_credentials_apikey_from(client->credentials);
    if (status == 401 && apikey_from != NULL) {
        snprintf(type, type_size, "Unauthenticated");
        snprintf(out, size, "IBM Cloud Functions at %s did not accept the IAM token of the API key from %s for "
                 "namespace %s (%.200s): namespace= must be an IAM-based namespace's ID (a Cloud Foundry-based one "
                 "takes the UUID:KEY of `ibmcloud fn property get --auth` in ~/.wskprops instead)", host, apikey_from,
                 ns, text);
    } else if (status == 403 && apikey_from != NULL) {
        snprintf(type, type_size, "Forbidden");
        snprintf(out, size, "the API key from %s may not use the namespace %s at %s (%.200s): give its identity a "
                 "role on the namespace in IBM Cloud IAM (Reader to call, Writer to deploy), or set %%platform ibm "
                 "namespace= to one it may use", apikey_from, ns, host, text);
    } else if (status == 401) {
        snprintf(type, type_size, "Unauthenticated");
        snprintf(out, size, "OpenWhisk at %s did not accept the %s (%.200s): check AUTH in ~/.wskprops (or the file "
                 "WSK_CONFIG_FILE names, or __OW_API_KEY) against `wsk property get --auth` or IBM Cloud's "
                 "namespace settings", host, who, text);
    } else if (status == 403) {
        snprintf(type, type_size, "Forbidden");
        snprintf(out, size, "the %s may not use the namespace %s at %s (%.200s): set %%platform ibm namespace= to the "
                 "key's own namespace, or leave it out (_ is the key's own)", who, ns, host, text);
    } else if (status == 404 && (put || strchr(path, '/') == NULL)) { /* a listing or a create: the namespace */
        snprintf(type, type_size, "NamespaceNotFound");
        snprintf(out, size, "OpenWhisk at %s has no namespace %s: check %%platform ibm namespace= (or NAMESPACE in "
                 "~/.wskprops), or leave it out to use the key's own (_)", host, ns);
    } else if (status == 404) {
        snprintf(type, type_size, "NotFound");
        snprintf(out, size, "%s: %.300s", path, text);
    } else if (status == 400 && strstr(text, "allowed threshold") != NULL) {
        snprintf(type, type_size, "LimitRefused");
        snprintf(out, size, "OpenWhisk at %s refused the limits (%.300s): choose memory= and timeout= within them; a "
                 "self-hosted OpenWhisk can say its own with %%platform ibm max_memory=MB max_timeout=S", host, text);
    } else if (status == 413) {
        snprintf(type, type_size, "RequestTooLarge");
        snprintf(out, size, "OpenWhisk at %s refused the request as too large (%.300s): actions take code up to 48 MB "
                 "and parameters up to 1 MB", host, text);
    } else if (status == 429) {
        snprintf(type, type_size, "TooManyRequests");
        snprintf(out, size, "OpenWhisk at %s is throttling namespace %s (%.300s): fewer calls at once, or ask for a "
                 "higher concurrency limit", host, ns, text);
    } else if (status == 409) {
        snprintf(type, type_size, "Conflict");
        snprintf(out, size, "%s: %.300s", path, text);
    } else {
        snprintf(type, type_size, "HTTP%ld", status);
        snprintf(out, size, "OpenWhisk at %s answered HTTP %ld: %.500s", host, status, text);
    }
}

/* ---- sending ---- */

static void ow_pending_free(struct ow_pending *pending)
{
    free(pending->url);
    free(pending->method);
    free(pending->body);
    free(pending);
}

/* Answers PENDING with an error that is not an answer from OpenWhisk (STATUS: IAM's, or 0), and frees it. */
static void ow_pending_fail(struct ow_pending *pending, const char *type, const char *message, long status)
{
    struct ow_reply reply = {.status = status, .error_type = type, .message = message, .error = ""};
    pending->done(pending->ctx, &reply);
    ow_pending_free(pending);
}

static void ow_client_on_http(void *ctx, const struct http_response *response)
{
    struct ow_pending *pending = ctx;
    struct ow_client *client = pending->client;
    json_t *body = NULL;
    if (response->error == NULL && response->body_size > 0 &&
        (response->body[0] == '{' || response->body[0] == '['))
        body = json_loadb(response->body, response->body_size, 0, NULL);
    struct ow_reply reply = {.status = response->status, .json = body, .http = response,
                             .activation_id = http_response_header(response, "x-openwhisk-activation-id")};
    char type[64] = "", message[1600] = "", raw[400];
    const char *path = pending->url + pending->path_at;
    path += *path == '/';
    if (response->error != NULL) {
        snprintf(type, sizeof type, "%s", response->timed_out ? "RequestTimeout" : "NetworkError");
        snprintf(message, sizeof message, "no answer from OpenWhisk at %.300s: %.900s", ow_client_apihost(client),
                 response->error);
        reply.error = "";
    } else if (response->status >= 200 && response->status <= 299) {
        reply.ok = 1;
    } else {
        const char *text = json_string_value(json_object_get(body, "error"));
        if (text == NULL) { /* an HTML page from a proxy, or another shape */
            snprintf(raw, sizeof raw, "%.*s", (int)(response->body_size < 300 ? response->body_size : 300),
                     response->body);
            for (char *p = raw; *p; p++)
                if (*p == '\n' || *p == '\r')
                    *p = ' ';
            text = raw;
        }
        char shown_path[200];
        snprintf(shown_path, sizeof shown_path, "%.*s", (int)strcspn(path, "?"), path);
        ow_client_explain(client, response->status, text[0] ? text : "no message", shown_path, pending->put, type,
                          sizeof type, message, sizeof message);
        reply.error = text;
        if (response->status == 401 && client->iam != NULL)
            ow_iam_forget(client->iam); /* refused: the next call buys a new one */
        if (response->status == 429 || response->status == 503)
            reply.retry_after_ms = retry_after_header_ms(http_response_header(response, "Retry-After"));
    }
    if (!reply.ok) {
        reply.error_type = type;
        reply.message = message;
    }
    pending->done(pending->ctx, &reply);
    json_decref(body);
    ow_pending_free(pending);
}

static int ow_client_engine(struct ow_client *client, char *err, size_t err_size)
{
    if (ow_client_ready(client, err, err_size) < 0)
        return -1;
    if (client->engine == NULL && (client->engine = http_engine_new(client->reactor)) == NULL) {
        snprintf(err, err_size, "cannot start the HTTP engine");
        return -1;
    }
    return 0;
}

/* Hands PENDING's request to the engine with AUTHORIZATION ("Basic ..." or
 * "Bearer ..."). 0, or -1 (PENDING still the caller's). */
static int ow_client_dispatch(struct ow_client *client, struct ow_pending *pending, const char *method,
                              const void *body, size_t body_size, long timeout_ms, const char *authorization)
{
    char *header = NULL;
    if (asprintf(&header, "Authorization: %s", authorization) < 0)
        return -1;
    const char *headers[] = {"Accept: application/json", header, body != NULL ? "Content-Type: application/json" : NULL,
                             NULL};
    struct http_request request = {.method = method, .url = pending->url, .headers = headers, .body = body,
                                   .body_size = body_size, .timeout_ms = timeout_ms};
    int rc = http_send(client->engine, &request, ow_client_on_http, pending);
    sodium_memzero(header, strlen(header));
    free(header);
    return rc;
}

/* The bearer token a waiting call asked for has come, or why not: IAM
 * refused the key (its 400 or 401, not worth retrying), gave no answer or
 * was cancelled (status 0), or failed otherwise (its status: 5xx is
 * retried like OpenWhisk's). */
static void ow_client_on_token(void *ctx, const char *authorization, const char *error, long status)
{
    struct ow_pending *pending = ctx;
    if (authorization == NULL) {
        ow_pending_fail(pending, status == 400 || status == 401 ? "IamRefused" : status == 0 ? "NetworkError"
                                                                                            : "IamUnavailable",
                        error, status);
        return;
    }
    if (ow_client_dispatch(pending->client, pending, pending->method, pending->body, pending->body_size,
                           pending->timeout_ms, authorization) < 0) {
        char message[600];
        snprintf(message, sizeof message, "cannot send the request to %.300s", pending->url);
        ow_pending_fail(pending, "NetworkError", message, 0);
        return;
    }
    free(pending->body); /* the engine has its copy */
    pending->body = NULL;
}

/* Keeps CALL's method and body in PENDING while it waits for a token. 0, or -1 when out of memory. */
static int ow_pending_keep(struct ow_pending *pending, const struct ow_call *call)
{
    pending->method = strdup(call->method);
    pending->body_size = call->body != NULL ? call->body_size : 0;
    pending->body = call->body != NULL ? malloc(call->body_size > 0 ? call->body_size : 1) : NULL;
    pending->timeout_ms = call->timeout_ms;
    if (pending->method == NULL || (call->body != NULL && pending->body == NULL))
        return -1;
    if (call->body_size > 0)
        memcpy(pending->body, call->body, call->body_size);
    return 0;
}

int ow_client_send(struct ow_client *client, const struct ow_call *call, ow_reply_fn done, void *ctx, char *err,
                   size_t err_size)
{
    if (ow_client_engine(client, err, err_size) < 0)
        return -1;
    struct ow_pending *pending = calloc(1, sizeof *pending);
    if (pending != NULL && asprintf(&pending->url, "%s%s", client->base, call->path) < 0) {
        free(pending); /* asprintf leaves the pointer undefined on failure */
        pending = NULL;
    }
    if (pending == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    *pending = (struct ow_pending){.client = client, .done = done, .ctx = ctx, .url = pending->url,
                                   .path_at = strlen(client->base), .put = strcmp(call->method, "PUT") == 0};
    const char *authorization = ow_credentials_authorization(client->credentials);
    if (client->iam != NULL && (authorization = ow_iam_cached(client->iam, client->engine)) == NULL) {
        if (ow_pending_keep(pending, call) < 0) {
            snprintf(err, err_size, "out of memory");
            ow_pending_free(pending);
            return -1;
        }
        if (ow_iam_wait(client->iam, client->engine, ow_client_on_token, pending, err, err_size) < 0) {
            ow_pending_free(pending);
            return -1;
        }
        return 0;
    }
    if (ow_client_dispatch(client, pending, call->method, call->body, call->body_size, call->timeout_ms,
                           authorization) < 0) {
        snprintf(err, err_size, "cannot send the request to %.300s", pending->url);
        ow_pending_free(pending);
        return -1;
    }
    return 0;
}

size_t ow_client_prepare(struct ow_client *client, size_t count)
{
    char err[512];
    if (ow_client_engine(client, err, sizeof err) < 0)
        return 0; /* the calls will say why */
    if (client->iam != NULL)
        ow_iam_prefetch(client->iam, client->engine); /* the pass waits for the token as for its connections */
    size_t waiting = client->iam != NULL && ow_iam_waiting(client->iam);
    return http_prepare(client->engine, client->base, NULL, count) + waiting;
}

size_t ow_client_preparing(struct ow_client *client)
{
    if (client->engine == NULL || client->base == NULL)
        return 0;
    size_t waiting = client->iam != NULL && ow_iam_waiting(client->iam);
    return http_preparing(client->engine, client->base, NULL) + waiting;
}
