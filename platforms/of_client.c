/* of_client: calls to an OpenFaaS gateway (see of_client.h).
 *
 * A call is copied into a pending record (the caller's arguments are valid
 * only during the call) and handed to the HTTP engine at once, with the
 * credentials' Basic Authorization header when its path is under
 * /system; the record lives until the engine answers, and the answer
 * becomes an of_reply: the body parsed when it is JSON, the gateway's
 * text kept, and one sentence written for the user. The header's text is
 * wiped as soon as the engine has copied it. */
#include "of_client.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "of_credentials.h"
#include "retry.h"

struct of_client {
    struct reactor *reactor;
    struct http_engine *engine;
    char *gateway;                         /* the user's setting, NULL when unset */
    struct of_credentials *credentials;    /* found at the first call, dropped when the setting changes */
};

struct of_pending {
    struct of_client *client;
    of_reply_fn done;
    void *ctx;
    char *url;
    size_t path_at;                        /* where the path starts in URL */
};

struct of_client *of_client_new(struct reactor *reactor)
{
    struct of_client *client = calloc(1, sizeof *client);
    if (client != NULL)
        client->reactor = reactor;
    return client;
}

void of_client_free(struct of_client *client)
{
    if (client == NULL)
        return;
    of_credentials_free(client->credentials);
    http_engine_free(client->engine); /* answers every call in flight with "cancelled" */
    free(client->gateway);
    free(client);
}

int of_client_set(struct of_client *client, const char *gateway, char *err, size_t err_size)
{
    char *copy = NULL;
    if (gateway != NULL && *gateway && (copy = strdup(gateway)) == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    free(client->gateway);
    client->gateway = copy;
    of_credentials_free(client->credentials);
    client->credentials = NULL;
    return 0;
}

int of_client_ready(struct of_client *client, char *err, size_t err_size)
{
    if (client->credentials != NULL)
        return 0;
    return of_credentials_load(client->gateway, &client->credentials, err, err_size);
}

void of_client_describe(struct of_client *client, char *buf, size_t size)
{
    if (of_client_ready(client, buf, size) == 0)
        of_credentials_describe(client->credentials, buf, size);
}

/* One sentence for an error answer: what happened and what to do. */
static void of_client_explain(const struct of_client *client, long status, const char *text, const char *path,
                              char *type, size_t type_size, char *out, size_t size)
{
    if (client->credentials == NULL) { /* the setting changed while the call was out */
        snprintf(out, size, "the OpenFaaS gateway answered HTTP %ld (%.300s) to a call made before the settings "
                 "changed: run it again", status, text);
        snprintf(type, type_size, "HTTP%ld", status);
        return;
    }
    char who[600];
    of_credentials_describe(client->credentials, who, sizeof who);
    char *semicolon = strchr(who, ';'); /* the user and where the password came from */
    if (semicolon != NULL)
        *semicolon = '\0';
    const char *gateway = of_credentials_gateway(client->credentials);
    if (status == 401) {
        snprintf(type, type_size, "Unauthenticated");
        snprintf(out, size, "the OpenFaaS gateway %s did not accept the password of the %s: log in again with "
                 "`faas-cli login --gateway %s`, or check OPENFAAS_PASSWORD (and OPENFAAS_USERNAME)", gateway, who,
                 gateway);
    } else if (status == 404) {
        snprintf(type, type_size, "NotFound");
        snprintf(out, size, "%s: %.300s", path, text);
    } else if (status == 400) {
        snprintf(type, type_size, "InvalidDeployment");
        snprintf(out, size, "the OpenFaaS gateway %s refused the deployment: %.500s", gateway, text);
    } else if (status == 429) {
        snprintf(type, type_size, "TooManyRequests");
        snprintf(out, size, "the OpenFaaS gateway %s is throttling calls (%.300s): fewer calls at once", gateway, text);
    } else if (status == 502 || status == 503 || status == 504) {
        snprintf(type, type_size, "Unavailable");
        snprintf(out, size, "the OpenFaaS gateway %s answered HTTP %ld (%.300s): the function or the gateway is not "
                 "available now", gateway, status, text);
    } else {
        snprintf(type, type_size, "HTTP%ld", status);
        snprintf(out, size, "the OpenFaaS gateway %s answered HTTP %ld: %.500s", gateway, status, text);
    }
}

static void of_pending_free(struct of_pending *pending)
{
    free(pending->url);
    free(pending);
}

static void of_client_on_http(void *ctx, const struct http_response *response)
{
    struct of_pending *pending = ctx;
    struct of_client *client = pending->client;
    json_t *body = NULL;
    if (response->error == NULL && response->body_size > 0)
        body = json_loadb(response->body, response->body_size, JSON_DECODE_ANY, NULL);
    struct of_reply reply = {.status = response->status, .json = body, .http = response, .text = response->body,
                             .call_id = http_response_header(response, "X-Call-Id")};
    char type[64] = "", message[1600] = "", text[400];
    if (response->error != NULL) {
        snprintf(type, sizeof type, "%s", response->timed_out ? "RequestTimeout" : "NetworkError");
        snprintf(message, sizeof message, "no answer from the OpenFaaS gateway %.300s: %.900s",
                 client->credentials ? of_credentials_gateway(client->credentials) : "", response->error);
        reply.text = "";
    } else if (response->status >= 200 && response->status <= 299) {
        reply.ok = 1;
    } else {
        snprintf(text, sizeof text, "%.*s", (int)(response->body_size < 300 ? response->body_size : 300),
                 response->body);
        for (char *p = text; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        size_t n = strlen(text);
        while (n > 0 && text[n - 1] == ' ')
            text[--n] = '\0';
        char shown_path[200];
        const char *path = pending->url + pending->path_at;
        snprintf(shown_path, sizeof shown_path, "%.*s", (int)strcspn(path, "?"), path);
        of_client_explain(client, response->status, text[0] ? text : "no message", shown_path, type, sizeof type,
                          message, sizeof message);
        if (response->status == 429 || response->status == 503)
            reply.retry_after_ms = retry_after_header_ms(http_response_header(response, "Retry-After"));
    }
    if (!reply.ok) {
        reply.error_type = type;
        reply.message = message;
    }
    pending->done(pending->ctx, &reply);
    json_decref(body);
    of_pending_free(pending);
}

static int of_client_engine(struct of_client *client, char *err, size_t err_size)
{
    if (of_client_ready(client, err, err_size) < 0)
        return -1;
    if (client->engine == NULL && (client->engine = http_engine_new(client->reactor)) == NULL) {
        snprintf(err, err_size, "cannot start the HTTP engine");
        return -1;
    }
    return 0;
}

int of_client_send(struct of_client *client, const struct of_call *call, of_reply_fn done, void *ctx, char *err,
                   size_t err_size)
{
    if (of_client_engine(client, err, err_size) < 0)
        return -1;
    const char *gateway = of_credentials_gateway(client->credentials);
    int system = strncmp(call->path, "/system/", 8) == 0;
    struct of_pending *pending = calloc(1, sizeof *pending);
    char *authorization = NULL;
    if (pending != NULL && asprintf(&pending->url, "%s%s", gateway, call->path) < 0) {
        free(pending); /* asprintf leaves the pointer undefined on failure */
        pending = NULL;
    }
    if (pending == NULL || (system && asprintf(&authorization, "Authorization: %s",
                                               of_credentials_authorization(client->credentials)) < 0)) {
        if (pending != NULL)
            of_pending_free(pending);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    *pending = (struct of_pending){.client = client, .done = done, .ctx = ctx, .url = pending->url,
                                   .path_at = strlen(gateway)};
    const char *headers[] = {"Accept: application/json", call->body != NULL ? "Content-Type: application/json" : NULL,
                             NULL, NULL};
    headers[call->body != NULL ? 2 : 1] = authorization; /* after the others; NULL ends the list when none */
    struct http_request request = {.method = call->method, .url = pending->url, .headers = headers,
                                   .body = call->body, .body_size = call->body_size, .timeout_ms = call->timeout_ms};
    int rc = http_send(client->engine, &request, of_client_on_http, pending);
    if (authorization != NULL) {
        sodium_memzero(authorization, strlen(authorization));
        free(authorization);
    }
    if (rc < 0) {
        snprintf(err, err_size, "cannot send the request to %.300s", pending->url);
        of_pending_free(pending);
    }
    return rc;
}

size_t of_client_prepare(struct of_client *client, size_t count)
{
    char err[512];
    if (of_client_engine(client, err, sizeof err) < 0)
        return 0; /* the calls will say why */
    return http_prepare(client->engine, of_credentials_gateway(client->credentials), NULL, count);
}

size_t of_client_preparing(struct of_client *client)
{
    if (client->engine == NULL || client->credentials == NULL)
        return 0;
    return http_preparing(client->engine, of_credentials_gateway(client->credentials), NULL);
}
