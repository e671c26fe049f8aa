/* az_client: authorized calls to ARM, Kudu and a function app (see
 * az_client.h).
 *
 * A call is copied into a pending record (the caller's arguments are valid
 * only during the call). An ARM call, or a Kudu call without a publish
 * profile, first asks the credentials for the bearer token: a cached one
 * sends it at once, otherwise the record waits for the exchange's answer.
 * The answer becomes an az_reply: the body parsed, the error read, and one
 * sentence written. Header texts holding secrets are wiped as soon as the
 * engine has copied them. */
#include "az_client.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retry.h"

struct az_client {
    struct reactor *reactor;
    struct http_engine *engine;
    char *settings[7];                     /* the options' strings, NULL when unset */
    struct az_credentials *credentials;    /* found at the first call, dropped when the settings change */
    unsigned generation;                   /* counts the settings' changes: a reply from before is told so */
};

struct az_pending {
    struct az_client *client;
    az_reply_fn done;
    void *ctx;
    enum az_service service;
    char *method, *url, *content_type, *function_key;
    void *body;
    size_t body_size;
    long timeout_ms;
    unsigned generation;
};

struct az_client *az_client_new(struct reactor *reactor)
{
    struct az_client *client = calloc(1, sizeof *client);
    if (client != NULL)
        client->reactor = reactor;
    return client;
}

static void az_client_forget(struct az_client *client)
{
    az_credentials_free(client->credentials); /* calls waiting for a token get "cancelled" */
    client->credentials = NULL;
    client->generation++;
}

void az_client_free(struct az_client *client)
{
    if (client == NULL)
        return;
    az_client_forget(client);
    http_engine_free(client->engine); /* answers every call in flight with "cancelled" */
    for (size_t i = 0; i < sizeof client->settings / sizeof client->settings[0]; i++)
        free(client->settings[i]);
    free(client);
}

int az_client_set(struct az_client *client, const struct az_credentials_options *o, char *err, size_t err_size)
{
    const char *values[7] = {o->subscription, o->resource_group, o->app, o->publish_profile, o->management,
                             o->app_url, o->scm_url};
    char *copies[7] = {0};
    for (size_t i = 0; i < 7; i++)
        if (values[i] != NULL && values[i][0] != '\0' && (copies[i] = strdup(values[i])) == NULL) {
            for (size_t j = 0; j < i; j++)
                free(copies[j]);
            snprintf(err, err_size, "out of memory");
            return -1;
        }
    for (size_t i = 0; i < 7; i++) {
        free(client->settings[i]);
        client->settings[i] = copies[i];
    }
    az_client_forget(client);
    return 0;
}

int az_client_ready(struct az_client *client, char *err, size_t err_size)
{
    if (client->credentials != NULL)
        return 0;
    char **s = client->settings;
    struct az_credentials_options options = {s[0], s[1], s[2], s[3], s[4], s[5], s[6]};
    return az_credentials_load(&options, &client->credentials, err, err_size);
}

void az_client_describe(struct az_client *client, char *buf, size_t size)
{
    if (az_client_ready(client, buf, size) == 0)
        az_credentials_describe(client->credentials, buf, size);
}

struct az_credentials *az_client_credentials(const struct az_client *client)
{
    return client->credentials;
}

/* ---- errors ---- */

/* The first line of TEXT (at most 300 characters) into OUT, blanks for line breaks. */
static void az_first_line(const char *text, size_t n, char *out, size_t size)
{
    snprintf(out, size, "%.*s", (int)(n < 300 ? n : 300), text);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

void az_client_explain(enum az_service service, long status, const char *body, size_t body_size, const char *where,
                       char *type, size_t type_size, char *out, size_t size)
{
    json_t *json = body_size > 0 && (body[0] == '{' || body[0] == '[') ? json_loadb(body, body_size, 0, NULL) : NULL;
    const json_t *error = json_object_get(json, "error");
    const char *code = json_string_value(json_object_get(error, "code"));
    const char *text = json_string_value(json_object_get(error, "message"));
    if (text == NULL) /* Kudu's and the host's {"Message": ...} */
        text = json_string_value(json_object_get(json, "Message"));
    if (text == NULL)
        text = json_string_value(json_object_get(json, "message"));
    char raw[320];
    if (text == NULL) {
        az_first_line(body_size > 0 ? body : "no message", body_size > 0 ? body_size : 10, raw, sizeof raw);
        text = raw;
    }
    const char *service_name = service == AZ_ARM ? "Azure Resource Manager" : service == AZ_KUDU ? "Kudu"
                                                                                                 : "the function app";
    snprintf(type, type_size, "%s", code != NULL ? code : "");
    if (service == AZ_ARM && code != NULL && strcmp(code, "AuthorizationFailed") == 0)
        snprintf(out, size, "the service principal may not do this on %s (%.400s): give it the role Contributor, or "
                 "Website Contributor, on the function app or its resource group", where, text);
    else if (service == AZ_ARM && code != NULL && strcmp(code, "ResourceGroupNotFound") == 0)
        snprintf(out, size, "%s (%.300s): set %%platform azure resource_group= (or AZURE_RESOURCE_GROUP) to the "
                 "group the function app is in", where, text);
    else if (service == AZ_ARM && code != NULL && (strcmp(code, "SubscriptionNotFound") == 0 ||
                                                   strcmp(code, "InvalidSubscriptionId") == 0))
        snprintf(out, size, "Azure has no such subscription for this service principal (%.300s): set %%platform azure "
                 "subscription= (or AZURE_SUBSCRIPTION_ID) to the ID `az account show` gives", text);
    else if (service == AZ_ARM && status == 404 && code != NULL && strcmp(code, "ResourceNotFound") == 0)
        snprintf(out, size, "%s does not exist (%.300s): create the function app (portal, or `az functionapp "
                 "create`), or set %%platform azure app= to one that does", where, text);
    else if (service == AZ_ARM && status == 401)
        snprintf(out, size, "Azure Resource Manager did not accept the service principal's token (%s: %.300s): check "
                 "AZURE_TENANT_ID is the subscription's tenant", code ? code : "HTTP 401", text);
    else if (service == AZ_KUDU && status == 401)
        snprintf(out, size, "Kudu of %s did not accept the credentials (%.200s): download the publish profile again "
                 "(it changes when it is reset), or give the service principal the role Website Contributor",
                 where, text);
    else if (service == AZ_KUDU && status == 409)
        snprintf(out, size, "Kudu of %s is busy with another deployment (%.300s): wait for it to end and run the "
                 "cell again", where, text);
    else if (status == 429)
        snprintf(out, size, "%s is throttling the calls to %s (%.300s): fewer at once", service_name, where, text);
    else if (code != NULL)
        snprintf(out, size, "%s refused a call for %s: %s: %.500s", service_name, where, code, text);
    else
        snprintf(out, size, "%s answered HTTP %ld for %s: %.500s", service_name, status, where, text);
    if (type[0] == '\0') {
        if (status == 401)
            snprintf(type, type_size, "Unauthenticated");
        else if (status == 409)
            snprintf(type, type_size, "Conflict");
        else if (status == 429)
            snprintf(type, type_size, "TooManyRequests");
        else
            snprintf(type, type_size, "HTTP%ld", status);
    }
    json_decref(json);
}

/* ---- sending ---- */

static void az_pending_free(struct az_pending *pending)
{
    free(pending->method);
    free(pending->url);
    free(pending->content_type);
    if (pending->function_key != NULL)
        sodium_memzero(pending->function_key, strlen(pending->function_key));
    free(pending->function_key);
    free(pending->body);
    free(pending);
}

/* What the call was about, for its error sentence: the app in its group, else the URL. */
static void az_pending_where(const struct az_pending *pending, char *out, size_t size)
{
    const struct az_credentials *c = pending->client->credentials;
    const char *sites = strstr(pending->url, "/sites/");
    if (pending->service == AZ_ARM && sites != NULL && c != NULL)
        snprintf(out, size, "function app %.*s in resource group %.90s", (int)strcspn(sites + 7, "/?"), sites + 7,
                 az_credentials_resource_group(c) ? az_credentials_resource_group(c) : "(none)");
    else if (pending->service == AZ_ARM && c != NULL)
        snprintf(out, size, "resource group %.90s", az_credentials_resource_group(c) ? az_credentials_resource_group(c)
                                                                                    : "(none)");
    else
        snprintf(out, size, "%.*s", (int)strcspn(pending->url, "?"), pending->url);
}

static void az_reply_finish(struct az_pending *pending, struct az_reply *reply)
{
    pending->done(pending->ctx, reply);
    az_pending_free(pending);
}

static void az_client_on_http(void *ctx, const struct http_response *response)
{
    struct az_pending *pending = ctx;
    json_t *body = NULL;
    if (response->error == NULL && response->body_size > 0 &&
        (response->body[0] == '{' || response->body[0] == '['))
        body = json_loadb(response->body, response->body_size, 0, NULL);
    struct az_reply reply = {.status = response->status, .json = body, .http = response};
    char type[64] = "", message[1600] = "", where[300];
    az_pending_where(pending, where, sizeof where);
    if (response->error != NULL) {
        snprintf(type, sizeof type, "%s", response->timed_out ? "RequestTimeout" : "NetworkError");
        snprintf(message, sizeof message, "no answer from %.300s: %.900s", where, response->error);
    } else if (response->status >= 200 && response->status <= 299) {
        reply.ok = 1;
    } else if (pending->generation != pending->client->generation) {
        snprintf(type, sizeof type, "HTTP%ld", response->status);
        snprintf(message, sizeof message, "Azure answered HTTP %ld to a call made before the settings changed: run it "
                 "again", response->status);
    } else if (pending->service == AZ_KUDU && response->status == 401 &&
               az_credentials_kudu_basic(pending->client->credentials) == NULL) {
        snprintf(type, sizeof type, "Unauthenticated");
        snprintf(message, sizeof message, "Kudu of %.300s did not accept the service principal's token: give it the "
                 "role Website Contributor (or Contributor) on the app, or deploy with the app's publish profile "
                 "(%%platform azure publish_profile=PATH)", where);
    } else {
        az_client_explain(pending->service, response->status, response->body, response->body_size, where, type,
                          sizeof type, message, sizeof message);
        if (response->status == 429 || response->status == 503)
            reply.retry_after_ms = retry_after_header_ms(http_response_header(response, "Retry-After"));
    }
    if (!reply.ok) {
        reply.error_type = type;
        reply.message = message;
    }
    az_reply_finish(pending, &reply);
    json_decref(body);
}

/* Sends PENDING with AUTHORIZATION ("Bearer ..." or "Basic ...", or NULL). 0, or -1 (out of memory, the
 * engine refused it) with PENDING still the caller's. */
static int az_pending_send(struct az_pending *pending, const char *authorization)
{
    struct az_client *client = pending->client;
    char *auth_header = NULL, *key_header = NULL, *type_header = NULL, *url = NULL;
    int oom = 0;
    if (pending->service == AZ_ARM) {
        if (asprintf(&url, "%s%s", az_credentials_management(client->credentials), pending->url) < 0)
            url = NULL, oom = 1;
    }
    if (authorization != NULL && asprintf(&auth_header, "Authorization: %s", authorization) < 0)
        auth_header = NULL, oom = 1;
    if (pending->function_key != NULL && asprintf(&key_header, "x-functions-key: %s", pending->function_key) < 0)
        key_header = NULL, oom = 1;
    if (pending->content_type != NULL && asprintf(&type_header, "Content-Type: %s", pending->content_type) < 0)
        type_header = NULL, oom = 1;
    const char *headers[5] = {"Accept: application/json"};
    size_t n = 1;
    if (auth_header != NULL)
        headers[n++] = auth_header;
    if (key_header != NULL)
        headers[n++] = key_header;
    if (type_header != NULL)
        headers[n++] = type_header;
    headers[n] = NULL;
    struct http_request request = {.method = pending->method, .url = url != NULL ? url : pending->url,
                                   .headers = headers, .body = pending->body, .body_size = pending->body_size,
                                   .timeout_ms = pending->timeout_ms};
    int rc = oom ? -1 : http_send(client->engine, &request, az_client_on_http, pending);
    if (auth_header != NULL)
        sodium_memzero(auth_header, strlen(auth_header));
    if (key_header != NULL)
        sodium_memzero(key_header, strlen(key_header));
    free(auth_header);
    free(key_header);
    free(type_header);
    free(url);
    return rc;
}

/* Sends PENDING from a token's callback, where a failure is answered through it. */
static void az_pending_send_later(struct az_pending *pending, const char *authorization)
{
    if (az_pending_send(pending, authorization) < 0) {
        struct az_reply reply = {.error_type = "NetworkError", .message = "cannot send the request (out of memory)"};
        az_reply_finish(pending, &reply);
    }
}

static void az_client_on_token(void *ctx, const char *token, const char *error)
{
    struct az_pending *pending = ctx;
    if (token == NULL) {
        struct az_reply reply = {.error_type = strcmp(error, "cancelled") == 0 ? "NetworkError" : "TokenRefused",
                                 .message = error};
        az_reply_finish(pending, &reply);
        return;
    }
    char *bearer = NULL;
    if (asprintf(&bearer, "Bearer %s", token) < 0) {
        struct az_reply reply = {.error_type = "NetworkError", .message = "out of memory"};
        az_reply_finish(pending, &reply);
        return;
    }
    az_pending_send_later(pending, bearer);
    sodium_memzero(bearer, strlen(bearer));
    free(bearer);
}

static int az_client_engine(struct az_client *client, char *err, size_t err_size)
{
    if (az_client_ready(client, err, err_size) < 0)
        return -1;
    if (client->engine == NULL && (client->engine = http_engine_new(client->reactor)) == NULL) {
        snprintf(err, err_size, "cannot start the HTTP engine");
        return -1;
    }
    return 0;
}

static char *az_dup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

int az_client_send(struct az_client *client, const struct az_call *call, az_reply_fn done, void *ctx, char *err,
                   size_t err_size)
{
    if (az_client_engine(client, err, err_size) < 0)
        return -1;
    struct az_pending *pending = calloc(1, sizeof *pending);
    if (pending == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    *pending = (struct az_pending){.client = client, .done = done, .ctx = ctx, .service = call->service,
                                   .method = strdup(call->method), .url = strdup(call->url),
                                   .content_type = az_dup(call->content_type),
                                   .function_key = az_dup(call->function_key), .body_size = call->body_size,
                                   .timeout_ms = call->timeout_ms, .generation = client->generation};
    if (call->body_size > 0 && (pending->body = malloc(call->body_size)) != NULL)
        memcpy(pending->body, call->body, call->body_size);
    if (pending->method == NULL || pending->url == NULL || (call->content_type && !pending->content_type) ||
        (call->function_key && !pending->function_key) || (call->body_size > 0 && pending->body == NULL)) {
        az_pending_free(pending);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    const char *basic = az_credentials_kudu_basic(client->credentials);
    const char *cached = NULL;
    char *bearer = NULL;
    int rc = 1;
    if (call->service == AZ_APP || (call->service == AZ_KUDU && basic != NULL))
        cached = call->service == AZ_KUDU ? basic : NULL;
    else {
        rc = az_credentials_token(client->credentials, client->engine, &cached, az_client_on_token, pending, err,
                                  err_size);
        if (rc == 1 && asprintf(&bearer, "Bearer %s", cached) < 0) {
            bearer = NULL;
            snprintf(err, err_size, "out of memory");
            rc = -1;
        }
        cached = bearer;
    }
    if (rc == 1 && az_pending_send(pending, cached) < 0) { /* sent now, answered later (never before returning) */
        snprintf(err, err_size, "cannot send the request to %.300s", pending->url);
        rc = -1;
    }
    if (bearer != NULL)
        sodium_memzero(bearer, strlen(bearer));
    free(bearer);
    if (rc < 0)
        az_pending_free(pending);
    return rc < 0 ? -1 : 0;
}

size_t az_client_prepare(struct az_client *client, const char *url, size_t count)
{
    char err[512];
    if (az_client_engine(client, err, sizeof err) < 0)
        return 0; /* the calls will say why */
    return http_prepare(client->engine, url, NULL, count);
}

size_t az_client_preparing(struct az_client *client, const char *url)
{
    if (client->engine == NULL)
        return 0;
    return http_preparing(client->engine, url, NULL);
}
