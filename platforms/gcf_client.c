/* gcf_client: authorized calls to Cloud Functions (see gcf_client.h).
 *
 * A call is copied into a pending record at once (the caller's arguments
 * are valid only during the call), waits for its token when it needs one,
 * and is then handed to the HTTP engine with the token in its
 * Authorization header; the header's text is wiped once the engine has
 * copied it. The record lives until the engine answers, and the answer is
 * turned into a gcf_reply: Google's error body read, its reason
 * (ErrorInfo) looked at, and one sentence written for the user. */
#include "gcf_client.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcf_credentials.h"
#include "retry.h"

struct gcf_client {
    struct reactor *reactor;
    struct http_engine *engine;
    char *project, *region, *endpoint;     /* the user's settings, NULL when unset */
    struct gcf_credentials *credentials;   /* found at the first call, dropped when the settings change */
    char *parent;                          /* "projects/P/locations/R", with the credentials */
};

struct gcf_pending {
    struct gcf_client *client;
    gcf_reply_fn done;
    void *ctx;
    char *method, *url, *content_type;
    void *body;
    size_t body_size;
    long timeout_ms;
};

static const char *gcf_client_env(const char *name)
{
    const char *value = getenv(name);
    return value != NULL && *value ? value : NULL;
}

struct gcf_client *gcf_client_new(struct reactor *reactor)
{
    struct gcf_client *client = calloc(1, sizeof *client);
    if (client != NULL)
        client->reactor = reactor;
    return client;
}

static void gcf_client_forget(struct gcf_client *client)
{
    gcf_credentials_free(client->credentials); /* a token request waiting gets "cancelled" */
    client->credentials = NULL;
    free(client->parent);
    client->parent = NULL;
}

void gcf_client_free(struct gcf_client *client)
{
    if (client == NULL)
        return;
    gcf_client_forget(client);
    http_engine_free(client->engine); /* answers every call in flight with "cancelled" */
    free(client->project);
    free(client->region);
    free(client->endpoint);
    free(client);
}

static int gcf_client_replace(char **slot, const char *value)
{
    char *copy = NULL;
    if (value != NULL && *value && (copy = strdup(value)) == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* A project ID: 6 to 30 of a-z 0-9 -, starting with a letter (legacy
 * domain-scoped IDs "example.com:p" are allowed too). */
static int gcf_client_valid_project(const char *project)
{
    size_t len = strlen(project);
    if (len < 6 || len > 63 || project[0] < 'a' || project[0] > 'z')
        return 0;
    return strspn(project, "abcdefghijklmnopqrstuvwxyz0123456789-.:") == len;
}

/* A region: lowercase words and digits joined by hyphens ("us-central1"). */
static int gcf_client_valid_region(const char *region)
{
    size_t len = strlen(region);
    return len >= 4 && len <= 40 && strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") == len &&
           strchr(region, '-') != NULL;
}

int gcf_client_set(struct gcf_client *client, const char *project, const char *region, const char *endpoint,
                   char *err, size_t err_size)
{
    if (endpoint != NULL && *endpoint && strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0) {
        snprintf(err, err_size, "endpoint must be an http:// or https:// URL, e.g. https://cloudfunctions.googleapis.com");
        return -1;
    }
    if (project != NULL && *project && !gcf_client_valid_project(project)) {
        snprintf(err, err_size, "project=%.80s is not a Google Cloud project ID (6 to 30 lowercase letters, digits and "
                 "hyphens, starting with a letter): use the ID shown by `gcloud projects list`", project);
        return -1;
    }
    if (region != NULL && *region && !gcf_client_valid_region(region)) {
        snprintf(err, err_size, "region=%.80s is not a Google Cloud region name; use one like us-central1 or "
                 "europe-west1", region);
        return -1;
    }
    if (gcf_client_replace(&client->project, project) < 0 || gcf_client_replace(&client->region, region) < 0 ||
        gcf_client_replace(&client->endpoint, endpoint) < 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    gcf_client_forget(client);
    return 0;
}

const char *gcf_client_region(const struct gcf_client *client)
{
    if (client->region != NULL)
        return client->region;
    const char *region = gcf_client_env("CLOUDSDK_FUNCTIONS_REGION");
    return region != NULL ? region : GCF_DEFAULT_REGION;
}

static const char *gcf_client_endpoint(const struct gcf_client *client)
{
    if (client->endpoint != NULL)
        return client->endpoint;
    const char *endpoint = gcf_client_env("GCF_ENDPOINT_URL");
    return endpoint != NULL ? endpoint : GCF_DEFAULT_ENDPOINT;
}

const char *gcf_client_run_endpoint(const struct gcf_client *client)
{
    const char *endpoint = gcf_client_endpoint(client);
    return strcmp(endpoint, GCF_DEFAULT_ENDPOINT) == 0 ? GCF_DEFAULT_RUN_ENDPOINT : endpoint;
}

const char *gcf_client_project(const struct gcf_client *client)
{
    return client->credentials != NULL ? gcf_credentials_project(client->credentials) : NULL;
}

const char *gcf_client_parent(const struct gcf_client *client)
{
    return client->parent;
}

int gcf_client_ready(struct gcf_client *client, char *err, size_t err_size)
{
    if (client->parent != NULL)
        return 0;
    if (client->credentials == NULL) {
        struct gcf_credentials_options options = {client->project};
        if (gcf_credentials_load(&options, &client->credentials, err, err_size) < 0)
            return -1;
    }
    const char *project = gcf_credentials_project(client->credentials);
    if (project == NULL) {
        snprintf(err, err_size, "no Google Cloud project: the credentials name none; say which with %%platform gcf "
                 "project=PROJECT_ID (or set GOOGLE_CLOUD_PROJECT before starting Jupyter)");
        return -1;
    }
    if (!gcf_client_valid_project(project)) {
        snprintf(err, err_size, "the project '%.80s' is not a Google Cloud project ID: set %%platform gcf "
                 "project=PROJECT_ID", project);
        return -1;
    }
    if (asprintf(&client->parent, "projects/%s/locations/%s", project, gcf_client_region(client)) < 0) {
        client->parent = NULL;
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

void gcf_client_describe(struct gcf_client *client, char *buf, size_t size)
{
    if (gcf_client_ready(client, buf, size) < 0)
        return;
    char credentials[600];
    gcf_credentials_describe(client->credentials, credentials, sizeof credentials);
    snprintf(buf, size, "%s; region %s%s%s", credentials, gcf_client_region(client),
             strcmp(gcf_client_endpoint(client), GCF_DEFAULT_ENDPOINT) != 0 ? "; endpoint " : "",
             strcmp(gcf_client_endpoint(client), GCF_DEFAULT_ENDPOINT) != 0 ? gcf_client_endpoint(client) : "");
}

/* ---- errors ---- */

/* Google's ErrorInfo in DETAILS: its reason, and its metadata's KEY into VALUE. */
static const char *gcf_client_reason(const json_t *details, const char *key, const char **value)
{
    size_t i;
    json_t *item;
    json_array_foreach((json_t *)details, i, item) {
        const char *reason = json_string_value(json_object_get(item, "reason"));
        if (reason != NULL) {
            *value = json_string_value(json_object_get(json_object_get(item, "metadata"), key));
            return reason;
        }
    }
    *value = NULL;
    return NULL;
}

/* "Permission 'cloudfunctions.functions.create' denied on ..." -> the permission into OUT. */
static void gcf_client_permission_in(const char *message, char *out, size_t size)
{
    const char *start = strstr(message, "Permission '");
    out[0] = '\0';
    if (start != NULL) {
        start += strlen("Permission '");
        size_t len = strcspn(start, "'");
        snprintf(out, size, "%.*s", (int)(len < 120 ? len : 120), start);
    }
}

/* One sentence for an error answer of the API. */
static void gcf_client_explain(const struct gcf_client *client, long status, const char *google_status,
                               const char *text, const json_t *details, char *out, size_t size)
{
    const char *project = gcf_client_project(client) ? gcf_client_project(client) : "(none)";
    const char *region = gcf_client_region(client);
    const char *permission = NULL;
    const char *reason = gcf_client_reason(details, "permission", &permission);
    char who[400];
    gcf_credentials_describe(client->credentials, who, sizeof who);
    char *semicolon = strchr(who, ';'); /* the account and its file, without the project */
    if (semicolon != NULL)
        *semicolon = '\0';
    if (reason != NULL && strcmp(reason, "SERVICE_DISABLED") == 0) {
        snprintf(out, size, "the Cloud Functions API is not enabled in project %s: enable it with `gcloud services "
                 "enable cloudfunctions.googleapis.com cloudbuild.googleapis.com run.googleapis.com --project %s` "
                 "(or on the API's page in the console), wait a minute and run the cell again", project, project);
    } else if (status == 401) {
        snprintf(out, size, "Google did not accept the credentials (%s): %.300s; check that the key or login is still "
                 "valid (GOOGLE_APPLICATION_CREDENTIALS, or `gcloud auth application-default login`)", who, text);
    } else if (status == 403 && strstr(text, "scope") != NULL) {
        snprintf(out, size, "the token of %s lacks the cloud-platform scope: use a service-account key or log in again "
                 "with `gcloud auth application-default login`", who);
    } else if (status == 403) {
        char found[128];
        gcf_client_permission_in(text, found, sizeof found);
        if (permission == NULL && found[0])
            permission = found;
        snprintf(out, size, "%s may not do this in project %s (Google: %.300s): grant it %s%s, e.g. with the role "
                 "Cloud Functions Developer (roles/cloudfunctions.developer)", who, project, text,
                 permission ? "the permission " : "the permissions it needs", permission ? permission : "");
    } else if (status == 404 && strstr(text, "Location ") != NULL) {
        snprintf(out, size, "Cloud Functions does not know the region %s in project %s (Google: %.300s): choose "
                 "another with %%platform gcf region=us-central1 (see `gcloud functions regions list`)", region,
                 project, text);
    } else if (status == 429) {
        snprintf(out, size, "Google's quota for Cloud Functions in project %s is used up for now (Google: %.300s): "
                 "wait a minute and try again, or ask for a higher quota in the console", project, text);
    } else {
        snprintf(out, size, "%.700s (%s, HTTP %ld)", text, google_status, status);
    }
}

/* ---- sending ---- */

static void gcf_pending_free(struct gcf_pending *pending)
{
    free(pending->method);
    free(pending->url);
    free(pending->content_type);
    free(pending->body);
    free(pending);
}

static void gcf_client_fail(struct gcf_pending *pending, const char *type, const char *message)
{
    struct gcf_reply reply = {.error_type = type, .message = message};
    pending->done(pending->ctx, &reply);
    gcf_pending_free(pending);
}

static void gcf_client_on_http(void *ctx, const struct http_response *response)
{
    struct gcf_pending *pending = ctx;
    struct gcf_client *client = pending->client;
    json_t *body = NULL;
    if (response->body_size > 0 && response->body[0] == '{')
        body = json_loadb(response->body, response->body_size, 0, NULL);
    if (body != NULL && !json_is_object(body)) {
        json_decref(body);
        body = NULL;
    }
    struct gcf_reply reply = {.status = response->status, .json = body, .http = response};
    char type[64] = "", message[2048] = "";
    if (response->error != NULL) {
        snprintf(type, sizeof type, "%s", response->timed_out ? "RequestTimeout" : "NetworkError");
        snprintf(message, sizeof message, "no answer from %.300s: %.1200s", pending->url, response->error);
    } else if (response->status >= 200 && response->status <= 299) {
        reply.ok = 1;
    } else {
        const json_t *error = json_object_get(body, "error");
        const char *status = json_string_value(json_object_get(error, "status"));
        const char *text = json_string_value(json_object_get(error, "message"));
        if (text == NULL && json_is_string(error)) /* OAuth's and others' {"error": "...", "error_description"} */
            text = json_string_value(error);
        char raw[600];
        if (text == NULL) { /* an HTML page or Cloud Storage's XML */
            snprintf(raw, sizeof raw, "%.*s", (int)(response->body_size < 300 ? response->body_size : 300),
                     response->body);
            for (char *p = raw; *p; p++)
                if (*p == '\n' || *p == '\r')
                    *p = ' ';
            text = raw[0] ? raw : "(no message)";
        }
        if (response->status == 404 && strstr(text, "Location ") != NULL)
            snprintf(type, sizeof type, "LocationNotFound"); /* not the function: the region */
        else if (status != NULL)
            snprintf(type, sizeof type, "%s", status);
        else
            snprintf(type, sizeof type, "HTTP%ld", response->status);
        gcf_client_explain(client, response->status, type, text, json_object_get(error, "details"), message,
                           sizeof message);
        if (response->status == 429 || response->status == 503)
            reply.retry_after_ms = retry_after_header_ms(http_response_header(response, "Retry-After"));
    }
    if (!reply.ok) {
        reply.error_type = type;
        reply.message = message;
    }
    pending->done(pending->ctx, &reply);
    json_decref(body);
    gcf_pending_free(pending);
}

/* Hands PENDING to the engine with TOKEN (or none). 0, or -1 with ERR (PENDING untouched). */
static int gcf_client_start(struct gcf_pending *pending, const char *token, char *err, size_t err_size)
{
    struct gcf_client *client = pending->client;
    char *authorization = NULL, *content_type = NULL;
    const char *headers[4] = {"Accept: application/json", NULL, NULL, NULL};
    size_t count = 1;
    if (token != NULL) {
        if (asprintf(&authorization, "Authorization: Bearer %s", token) < 0) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        headers[count++] = authorization;
    }
    if (pending->content_type != NULL) {
        if (asprintf(&content_type, "Content-Type: %s", pending->content_type) < 0) {
            if (authorization != NULL) {
                sodium_memzero(authorization, strlen(authorization));
                free(authorization);
            }
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        headers[count++] = content_type;
    }
    struct http_request request = {.method = pending->method, .url = pending->url, .headers = headers,
                                   .body = pending->body, .body_size = pending->body_size,
                                   .timeout_ms = pending->timeout_ms};
    int rc = http_send(client->engine, &request, gcf_client_on_http, pending);
    if (authorization != NULL) {
        sodium_memzero(authorization, strlen(authorization));
        free(authorization);
    }
    free(content_type);
    if (rc < 0)
        snprintf(err, err_size, "cannot send the request to %.300s", pending->url);
    return rc;
}

static void gcf_client_on_token(void *ctx, const char *token, const char *error)
{
    struct gcf_pending *pending = ctx;
    char err[512];
    if (token == NULL) {
        gcf_client_fail(pending, "Unauthenticated", error);
        return;
    }
    if (gcf_client_start(pending, token, err, sizeof err) < 0)
        gcf_client_fail(pending, "OutOfMemory", err);
}

int gcf_client_send(struct gcf_client *client, const struct gcf_call *call, gcf_reply_fn done, void *ctx, char *err,
                    size_t err_size)
{
    if (gcf_client_ready(client, err, err_size) < 0)
        return -1;
    if (client->engine == NULL && (client->engine = http_engine_new(client->reactor)) == NULL) {
        snprintf(err, err_size, "cannot start the HTTP engine");
        return -1;
    }
    int absolute = strncmp(call->url, "http://", 7) == 0 || strncmp(call->url, "https://", 8) == 0;
    const char *endpoint = absolute ? "" : gcf_client_endpoint(client);
    size_t endpoint_len = strlen(endpoint);
    while (endpoint_len > 0 && endpoint[endpoint_len - 1] == '/')
        endpoint_len--;
    char *url = NULL;
    if (asprintf(&url, "%.*s%s", (int)endpoint_len, endpoint, call->url) < 0)
        url = NULL;
    struct gcf_pending *pending = calloc(1, sizeof *pending);
    if (pending != NULL) {
        *pending = (struct gcf_pending){.client = client, .done = done, .ctx = ctx, .url = url,
                                        .method = strdup(call->method), .body_size = call->body_size,
                                        .timeout_ms = call->timeout_ms};
        url = NULL;
        if (call->content_type != NULL)
            pending->content_type = strdup(call->content_type);
        if (call->body_size > 0)
            pending->body = malloc(call->body_size);
    }
    if (pending == NULL || pending->url == NULL || pending->method == NULL ||
        (call->content_type != NULL && pending->content_type == NULL) ||
        (call->body_size > 0 && pending->body == NULL)) {
        free(url);
        if (pending != NULL)
            gcf_pending_free(pending);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    if (call->body_size > 0)
        memcpy(pending->body, call->body, call->body_size);
    if (call->auth == GCF_AUTH_NONE) {
        if (gcf_client_start(pending, NULL, err, err_size) < 0) {
            gcf_pending_free(pending);
            return -1;
        }
        return 0;
    }
    const char *cached = NULL;
    int got = gcf_credentials_token(client->credentials, client->engine, call->auth == GCF_AUTH_ID ? pending->url : NULL,
                                    &cached, gcf_client_on_token, pending, err, err_size);
    if (got == 1 && gcf_client_start(pending, cached, err, err_size) == 0)
        return 0;
    if (got != 0) {
        gcf_pending_free(pending);
        return -1;
    }
    return 0;
}
