/* aws_client: signed calls to one AWS service (see aws_client.h). Each call
 * is signed just before it goes to the HTTP engine, so a call that waited
 * (a retry, a state poll) never carries a stale date; the request record
 * lives until the engine answers and is then turned into an aws_reply. */
#include "aws_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_credentials.h"
#include "sigv4.h"
#include "retry.h"

#define AWS_CLIENT_MAX_HEADERS 8

struct aws_client {
    struct reactor *reactor;
    struct http_engine *engine;
    char *service;
    char *profile, *region, *endpoint;      /* the user's settings, NULL when unset */
    struct aws_credentials *credentials;    /* found at the first call, dropped when the settings change */
};

struct aws_pending {
    struct aws_client *client;
    aws_reply_fn done;
    void *ctx;
};

struct aws_client *aws_client_new(struct reactor *reactor, const char *service)
{
    struct aws_client *client = calloc(1, sizeof *client);
    if (client == NULL || (client->service = strdup(service)) == NULL) {
        free(client);
        return NULL;
    }
    client->reactor = reactor;
    return client;
}

void aws_client_free(struct aws_client *client)
{
    if (client == NULL)
        return;
    http_engine_free(client->engine); /* answers every pending call with "cancelled" */
    aws_credentials_free(client->credentials);
    free(client->service);
    free(client->profile);
    free(client->region);
    free(client->endpoint);
    free(client);
}

static int aws_client_replace(char **slot, const char *value)
{
    char *copy = NULL;
    if (value != NULL && *value && (copy = strdup(value)) == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

int aws_client_set(struct aws_client *client, const char *profile, const char *region, const char *endpoint,
                   char *err, size_t err_size)
{
    if (endpoint != NULL && *endpoint && strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0) {
        snprintf(err, err_size, "endpoint must be an http:// or https:// URL, e.g. http://localhost:4566");
        return -1;
    }
    if (aws_client_replace(&client->profile, profile) < 0 || aws_client_replace(&client->region, region) < 0 ||
        aws_client_replace(&client->endpoint, endpoint) < 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    aws_credentials_free(client->credentials);
    client->credentials = NULL;
    return 0;
}

int aws_client_ready(struct aws_client *client, char *err, size_t err_size)
{
    if (client->credentials != NULL)
        return 0;
    struct aws_credentials_options options = {client->profile, client->region, client->endpoint, client->service};
    return aws_credentials_load(&options, &client->credentials, err, err_size);
}

const char *aws_client_region(struct aws_client *client)
{
    char err[512];
    return aws_client_ready(client, err, sizeof err) == 0 ? aws_credentials_region(client->credentials) : NULL;
}

void aws_client_describe(struct aws_client *client, char *buf, size_t size)
{
    if (aws_client_ready(client, buf, size) == 0)
        aws_credentials_describe(client->credentials, buf, size);
}

/* "Code:http://internal..." or "namespace#Code" -> "Code" in OUT. */
static void aws_client_error_code(const char *raw, char *out, size_t size)
{
    const char *hash = strrchr(raw, '#');
    const char *start = hash ? hash + 1 : raw;
    size_t len = strcspn(start, ":");
    snprintf(out, size, "%.*s", (int)len, start);
}

/* Masks the session token (and the secret key, never sent but checked
 * anyway) in MESSAGE: AWS quotes the canonical request, token header
 * included, in a signature mismatch's message. */
static void aws_client_scrub(const struct aws_client *client, char *message)
{
    if (client->credentials == NULL)
        return;
    struct sigv4_credentials keys;
    aws_credentials_signing(client->credentials, &keys);
    const char *secrets[] = {keys.session_token, keys.secret_access_key};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        size_t len = secrets[i] ? strlen(secrets[i]) : 0;
        if (len < 4)
            continue;
        for (char *found = strstr(message, secrets[i]); found != NULL; found = strstr(found, secrets[i])) {
            memmove(found + 4, found + len, strlen(found + len) + 1);
            memcpy(found, "****", 4);
        }
    }
}

static void aws_client_on_http(void *ctx, const struct http_response *response)
{
    struct aws_pending *pending = ctx;
    struct aws_client *client = pending->client;
    json_t *body = NULL;
    if (response->body_size > 0 && response->body[0] == '{')
        body = json_loadb(response->body, response->body_size, 0, NULL);
    if (body != NULL && !json_is_object(body)) {
        json_decref(body);
        body = NULL;
    }
    struct aws_reply reply = {.status = response->status, .json = body, .http = response};
    char code[96] = "", message[4096] = "";
    if (response->error != NULL) {
        snprintf(code, sizeof code, "%s", response->timed_out ? "RequestTimeout" : "NetworkError");
        snprintf(message, sizeof message, "no answer from %s: %s",
                 client->credentials ? aws_credentials_endpoint(client->credentials) : "the endpoint", response->error);
    } else if (response->status >= 200 && response->status <= 299) {
        reply.ok = 1;
    } else {
        const char *raw = http_response_header(response, "x-amzn-ErrorType");
        if (raw == NULL)
            raw = json_string_value(json_object_get(body, "__type"));
        if (raw == NULL)
            raw = json_string_value(json_object_get(body, "code"));
        if (raw != NULL)
            aws_client_error_code(raw, code, sizeof code);
        else
            snprintf(code, sizeof code, "HTTP%ld", response->status);
        const char *text = json_string_value(json_object_get(body, "message"));
        if (text == NULL)
            text = json_string_value(json_object_get(body, "Message"));
        if (text == NULL && body == NULL && response->body_size > 0)
            text = response->body;
        snprintf(message, sizeof message, "%s", text ? text : "(no message)");
        if (response->status == 429)
            reply.retry_after_ms = retry_after_header_ms(http_response_header(response, "Retry-After"));
    }
    if (!reply.ok) {
        aws_client_scrub(client, message);
        reply.error_code = code;
        reply.message = message;
    }
    pending->done(pending->ctx, &reply);
    json_decref(body);
    free(pending);
}

size_t aws_client_prepare(struct aws_client *client, size_t count)
{
    char err[512];
    if (aws_client_ready(client, err, sizeof err) < 0)
        return 0; /* the calls will say why */
    if (client->engine == NULL && (client->engine = http_engine_new(client->reactor)) == NULL)
        return 0;
    return http_prepare(client->engine, aws_credentials_endpoint(client->credentials),
                        aws_credentials_ca_bundle(client->credentials, NULL), count);
}

size_t aws_client_preparing(struct aws_client *client)
{
    if (client->engine == NULL || client->credentials == NULL)
        return 0;
    return http_preparing(client->engine, aws_credentials_endpoint(client->credentials),
                          aws_credentials_ca_bundle(client->credentials, NULL));
}

int aws_client_send(struct aws_client *client, const struct aws_call *call, aws_reply_fn done, void *ctx, char *err,
                    size_t err_size)
{
    if (aws_client_ready(client, err, err_size) < 0)
        return -1;
    if (client->engine == NULL && (client->engine = http_engine_new(client->reactor)) == NULL) {
        snprintf(err, err_size, "cannot start the HTTP engine (libcurl)");
        return -1;
    }
    const char *endpoint = aws_credentials_endpoint(client->credentials);
    char *url = NULL;
    int has_query = call->query != NULL && *call->query;
    if (asprintf(&url, "%s%s%s%s", endpoint, call->path, has_query ? "?" : "", has_query ? call->query : "") < 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    const char *headers[AWS_CLIENT_MAX_HEADERS + SIGV4_MAX_HEADERS + 1];
    size_t count = 0;
    for (size_t i = 0; call->headers != NULL && call->headers[i] != NULL; i++) {
        if (count == AWS_CLIENT_MAX_HEADERS) {
            snprintf(err, err_size, "too many headers");
            free(url);
            return -1;
        }
        headers[count++] = call->headers[i];
    }
    headers[count] = NULL;
    struct sigv4_credentials keys;
    aws_credentials_signing(client->credentials, &keys);
    struct sigv4_request request = {.method = call->method,
                                    .url = url,
                                    .headers = headers,
                                    .body = call->body,
                                    .body_size = call->body_size,
                                    .region = aws_credentials_region(client->credentials),
                                    .service = aws_credentials_service(client->credentials),
                                    .double_encode_path = 1,
                                    .normalize_path = 1};
    struct sigv4_result signature;
    if (sigv4_sign(&request, &keys, &signature, err, err_size) < 0) {
        free(url);
        return -1;
    }
    for (size_t i = 0; signature.headers[i] != NULL; i++)
        headers[count++] = signature.headers[i];
    headers[count] = NULL;
    struct aws_pending *pending = malloc(sizeof *pending);
    int rc = -1;
    if (pending != NULL) {
        *pending = (struct aws_pending){client, done, ctx};
        const char *ca_source = NULL;
        const char *ca_file = aws_credentials_ca_bundle(client->credentials, &ca_source);
        struct http_request http = {.method = call->method,
                                    .url = url,
                                    .headers = headers,
                                    .body = call->body,
                                    .body_size = call->body_size,
                                    .timeout_ms = call->timeout_ms,
                                    .ca_file = ca_file,
                                    .ca_source = ca_source};
        rc = http_send(client->engine, &http, aws_client_on_http, pending);
        if (rc < 0)
            free(pending);
    }
    if (rc < 0)
        snprintf(err, err_size, "cannot send the request (out of memory)");
    sigv4_result_free(&signature);
    free(url);
    return rc;
}
