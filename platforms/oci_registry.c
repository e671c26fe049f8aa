/* oci_registry: authorized distribution API calls (see oci_registry.h).
 *
 * A call is copied into a pending record, which lives until its answer is
 * handed on. The record may go out up to three times: as asked; again
 * after a 401, once the challenge is answered (for Bearer, a token request
 * goes out first, on the same record); and to a redirect's Location. The
 * registry keeps its pending records in a list so that freeing it cuts
 * them loose: their answers are then dropped. */
#include "oci_registry.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credfile.h"
#include "oci_credentials.h"

#define OCI_TIMEOUT_MS (10L * 60 * 1000)   /* a call, blob uploads included */
#define OCI_MAX_HEADERS 8
#define OCI_MAX_SCOPES 16

struct oci_pending;

struct oci_registry {
    struct http_engine *engine;
    char *host;                            /* as shown: no scheme */
    char *base;                            /* "https://host" or "http://host" */
    struct oci_credentials credentials;
    int have_credentials;
    char *authorization;                   /* "Authorization: ..." the registry last asked for, or NULL */
    char *scopes[OCI_MAX_SCOPES];          /* granted so far, asked again with each token */
    size_t scope_count;
    struct oci_pending *pending;           /* in flight */
};

enum oci_phase { OCI_PHASE_CALL, OCI_PHASE_TOKEN, OCI_PHASE_REDIRECT };

struct oci_pending {
    struct oci_registry *registry;         /* NULL once the registry is freed */
    struct oci_pending *next;
    oci_reply_fn done;
    void *ctx;
    char *method, *url, *what;
    char *headers[OCI_MAX_HEADERS];
    size_t header_count;
    void *body;
    size_t body_size;
    enum oci_phase phase;
    int authorized_again;                  /* a 401 was answered once already */
};

static int oci_is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost", 9) == 0 || strncmp(host, "[::1]", 5) == 0;
}

struct oci_registry *oci_registry_new(struct http_engine *engine, const char *host, char *err, size_t err_size)
{
    struct oci_registry *registry = calloc(1, sizeof *registry);
    if (registry == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    registry->engine = engine;
    const char *bare = host;
    const char *scheme = "https://";
    if (strncmp(host, "http://", 7) == 0) {
        bare = host + 7;
        scheme = "http://";
    } else if (strncmp(host, "https://", 8) == 0) {
        bare = host + 8;
    } else if (oci_is_loopback(host)) {
        scheme = "http://";
    }
    registry->host = strndup(bare, strcspn(bare, "/"));
    if (registry->host == NULL || asprintf(&registry->base, "%s%s", scheme, registry->host) < 0) {
        registry->base = NULL;
        oci_registry_free(registry);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    snprintf(registry->credentials.source, sizeof registry->credentials.source, "no credentials looked for yet");
    return registry;
}

void oci_registry_free(struct oci_registry *registry)
{
    if (registry == NULL)
        return;
    for (struct oci_pending *p = registry->pending; p != NULL; p = p->next)
        p->registry = NULL;
    oci_credentials_clear(&registry->credentials);
    credfile_wipe_free(registry->authorization);
    for (size_t i = 0; i < registry->scope_count; i++)
        free(registry->scopes[i]);
    free(registry->host);
    free(registry->base);
    free(registry);
}

void oci_registry_set_credentials(struct oci_registry *registry, struct oci_credentials *found, int have)
{
    oci_credentials_clear(&registry->credentials);
    registry->credentials = *found;
    registry->have_credentials = have;
    *found = (struct oci_credentials){0};
    credfile_wipe_free(registry->authorization);
    registry->authorization = NULL;
}

int oci_registry_set_basic(struct oci_registry *registry, const char *username, const char *password,
                           const char *source)
{
    oci_credentials_clear(&registry->credentials);
    registry->credentials.username = strdup(username);
    registry->credentials.password = strdup(password);
    snprintf(registry->credentials.source, sizeof registry->credentials.source, "%s", source);
    registry->have_credentials = registry->credentials.username && registry->credentials.password;
    credfile_wipe_free(registry->authorization);
    registry->authorization = NULL;
    return registry->have_credentials ? 0 : -1;
}

int oci_registry_has_credentials(const struct oci_registry *registry)
{
    return registry->have_credentials;
}

const char *oci_registry_host(const struct oci_registry *registry)
{
    return registry->host;
}

char *oci_registry_url(const struct oci_registry *registry, const char *location)
{
    char *url = NULL;
    if (strncmp(location, "http://", 7) == 0 || strncmp(location, "https://", 8) == 0)
        return strdup(location);
    if (asprintf(&url, "%s%s%s", registry->base, location[0] == '/' ? "" : "/", location) < 0)
        return NULL;
    return url;
}

static void oci_pending_free(struct oci_pending *p)
{
    if (p->registry != NULL) {
        for (struct oci_pending **link = &p->registry->pending; *link != NULL; link = &(*link)->next) {
            if (*link == p) {
                *link = p->next;
                break;
            }
        }
    }
    free(p->method);
    free(p->url);
    free(p->what);
    for (size_t i = 0; i < p->header_count; i++)
        free(p->headers[i]);
    free(p->body);
    free(p);
}

static void oci_on_answer(void *ctx, const struct http_response *response);

/* Sends METHOD URL for P with P's headers (or only EXTRA, when not NULL) and AUTHORIZATION (or none). */
static int oci_pending_send(struct oci_pending *p, const char *method, const char *url, const char *extra,
                            const char *authorization, const void *body, size_t body_size)
{
    const char *headers[OCI_MAX_HEADERS + 2];
    size_t n = 0;
    for (size_t i = 0; extra == NULL && i < p->header_count; i++)
        headers[n++] = p->headers[i];
    if (extra != NULL && *extra)
        headers[n++] = extra;
    if (authorization != NULL)
        headers[n++] = authorization;
    headers[n] = NULL;
    struct http_request request = {.method = method, .url = url, .headers = headers, .body = body,
                                   .body_size = body_size, .timeout_ms = OCI_TIMEOUT_MS};
    return http_send(p->registry->engine, &request, oci_on_answer, p);
}

int oci_registry_send(struct oci_registry *registry, const struct oci_call *call, oci_reply_fn done, void *ctx,
                      char *err, size_t err_size)
{
    struct oci_pending *p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    p->registry = registry;
    p->done = done;
    p->ctx = ctx;
    p->method = strdup(call->method);
    p->url = oci_registry_url(registry, call->path);
    p->what = strdup(call->what ? call->what : call->path);
    int failed = p->method == NULL || p->url == NULL || p->what == NULL;
    for (size_t i = 0; call->headers != NULL && call->headers[i] != NULL && !failed; i++) {
        if (p->header_count == OCI_MAX_HEADERS || (p->headers[p->header_count++] = strdup(call->headers[i])) == NULL)
            failed = 1;
    }
    if (!failed && call->body_size > 0) {
        if ((p->body = malloc(call->body_size)) == NULL)
            failed = 1;
        else
            memcpy(p->body, call->body, call->body_size);
        p->body_size = call->body_size;
    }
    p->next = registry->pending;
    registry->pending = p;
    if (failed || oci_pending_send(p, p->method, p->url, NULL, registry->authorization, p->body, p->body_size) < 0) {
        oci_pending_free(p);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

/* The value of KEY in a challenge's `key="value", ...` list into OUT. */
static int oci_challenge_param(const char *params, const char *key, char *out, size_t size)
{
    const char *p = params;
    size_t key_length = strlen(key);
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *name = p;
        while (*p && *p != '=' && *p != ',')
            p++;
        size_t name_length = (size_t)(p - name);
        if (*p != '=')
            continue;
        p++;
        size_t used = 0;
        int quoted = *p == '"';
        if (quoted)
            p++;
        while (*p && (quoted ? *p != '"' : *p != ',')) {
            if (quoted && *p == '\\' && p[1])
                p++;
            if (used + 1 < size)
                out[used++] = *p;
            p++;
        }
        if (quoted && *p == '"')
            p++;
        out[used] = '\0';
        if (name_length == key_length && strncasecmp(name, key, key_length) == 0)
            return 1;
    }
    return 0;
}

static void oci_percent_encode(char *out, size_t size, const char *text)
{
    size_t used = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c && used + 4 < size; c++) {
        if (isalnum(*c) || strchr("-._~", *c))
            out[used++] = (char)*c;
        else
            used += (size_t)snprintf(out + used, size - used, "%%%02X", *c);
    }
    out[used] = '\0';
}

static void oci_add_scopes(struct oci_registry *registry, const char *scopes)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", scopes);
    char *save = NULL;
    for (char *scope = strtok_r(copy, " ", &save); scope != NULL; scope = strtok_r(NULL, " ", &save)) {
        int known = 0;
        for (size_t i = 0; i < registry->scope_count && !known; i++)
            known = strcmp(registry->scopes[i], scope) == 0;
        if (!known && registry->scope_count < OCI_MAX_SCOPES &&
            (registry->scopes[registry->scope_count] = strdup(scope)) != NULL)
            registry->scope_count++;
    }
}

static char *oci_basic_header(const struct oci_credentials *credentials)
{
    char *pair = NULL, *header = NULL;
    if (asprintf(&pair, "%s:%s", credentials->username, credentials->password) < 0)
        return NULL;
    size_t length = strlen(pair), encoded_size = sodium_base64_ENCODED_LEN(length, sodium_base64_VARIANT_ORIGINAL);
    char *encoded = malloc(encoded_size);
    if (encoded != NULL) {
        sodium_bin2base64(encoded, encoded_size, (const unsigned char *)pair, length, sodium_base64_VARIANT_ORIGINAL);
        if (asprintf(&header, "Authorization: Basic %s", encoded) < 0)
            header = NULL;
    }
    credfile_wipe_free(encoded);
    credfile_wipe_free(pair);
    return header;
}

static void oci_finish(struct oci_pending *p, const struct http_response *response, const char *code,
                       const char *message)
{
    struct oci_reply reply = {.ok = message == NULL, .status = response ? response->status : 0, .code = code,
                              .message = message, .http = response};
    if (p->registry != NULL)
        p->done(p->ctx, &reply);
    oci_pending_free(p);
}

/* The sentence for a refused call, and the registry's code. */
static void oci_fail(struct oci_pending *p, const struct http_response *response)
{
    struct oci_registry *registry = p->registry;
    char message[1024], code_text[64];
    if (response->error != NULL) {
        snprintf(message, sizeof message, "the registry %s cannot be reached for %s (%s): check the address and that "
                 "it is running", registry->host, p->what, response->error);
        oci_finish(p, NULL, "NetworkError", message);
        return;
    }
    json_t *body = json_loads(response->body, 0, NULL);
    json_t *first = json_array_get(json_object_get(body, "errors"), 0);
    const char *code = json_string_value(json_object_get(first, "code"));
    const char *text = json_string_value(json_object_get(first, "message"));
    if (code == NULL)
        snprintf(code_text, sizeof code_text, "HTTP%ld", response->status);
    else
        snprintf(code_text, sizeof code_text, "%s", code);
    char detail[300];
    snprintf(detail, sizeof detail, "%s%s%.200s", code_text, text ? ": " : "", text ? text : "");
    if (response->status == 401 && registry->have_credentials)
        snprintf(message, sizeof message, "the registry %s refused the credentials from %s for %s (%s): log in again "
                 "with `docker login %s` or fix them there", registry->host, registry->credentials.source, p->what,
                 detail, registry->host);
    else if (response->status == 401)
        snprintf(message, sizeof message, "the registry %s needs credentials for %s and none were found (%s): log in "
                 "with `docker login %s`", registry->host, p->what, registry->credentials.source, registry->host);
    else if (response->status == 403)
        snprintf(message, sizeof message, "the registry %s denied %s to the credentials from %s (%s): check their "
                 "permissions", registry->host, p->what, registry->have_credentials ? registry->credentials.source
                 : "nobody (anonymous)", detail);
    else if (response->status == 404)
        snprintf(message, sizeof message, "the registry %s does not have %s (%s): check the image's name and tag",
                 registry->host, p->what, detail);
    else
        snprintf(message, sizeof message, "the registry %s refused %s (HTTP %ld, %s)", registry->host, p->what,
                 response->status, detail);
    oci_finish(p, response, code_text, message);
    json_decref(body);
}

/* A 401: answer its challenge and send the call again; 0 when under way. */
static int oci_answer_challenge(struct oci_pending *p, const struct http_response *response)
{
    struct oci_registry *registry = p->registry;
    const char *challenge = http_response_header(response, "WWW-Authenticate");
    if (challenge == NULL || p->authorized_again)
        return -1;
    p->authorized_again = 1;
    if (strncasecmp(challenge, "Basic", 5) == 0) {
        if (!registry->have_credentials || registry->credentials.username == NULL)
            return -1;
        credfile_wipe_free(registry->authorization);
        registry->authorization = oci_basic_header(&registry->credentials);
        return registry->authorization != NULL &&
                       oci_pending_send(p, p->method, p->url, NULL, registry->authorization, p->body, p->body_size) == 0
                   ? 0
                   : -1;
    }
    if (strncasecmp(challenge, "Bearer", 6) != 0)
        return -1;
    char realm[512], service[256], scope[1024];
    if (!oci_challenge_param(challenge + 6, "realm", realm, sizeof realm))
        return -1;
    if (!oci_challenge_param(challenge + 6, "service", service, sizeof service))
        service[0] = '\0';
    if (oci_challenge_param(challenge + 6, "scope", scope, sizeof scope))
        oci_add_scopes(registry, scope);
    char url[4096], encoded[1100];
    size_t used = (size_t)snprintf(url, sizeof url, "%s", realm);
    char separator = strchr(realm, '?') ? '&' : '?';
    if (service[0]) {
        oci_percent_encode(encoded, sizeof encoded, service);
        used += (size_t)snprintf(url + used, sizeof url - used, "%cservice=%s", separator, encoded);
        separator = '&';
    }
    const struct oci_credentials *c = &registry->credentials;
    if (registry->have_credentials && c->identity_token != NULL) {
        /* The OAuth refresh grant: POST, the token in the form. */
        char *form = NULL, token[4096];
        oci_percent_encode(token, sizeof token, c->identity_token);
        char scopes[4096] = "";
        for (size_t i = 0; i < registry->scope_count; i++) {
            oci_percent_encode(encoded, sizeof encoded, registry->scopes[i]);
            snprintf(scopes + strlen(scopes), sizeof scopes - strlen(scopes), "%s%s", i ? "%20" : "", encoded);
        }
        oci_percent_encode(encoded, sizeof encoded, service);
        int rc = asprintf(&form, "grant_type=refresh_token&client_id=faaset&service=%s&scope=%s&refresh_token=%s",
                          encoded, scopes, token);
        sodium_memzero(token, sizeof token);
        if (rc < 0)
            return -1;
        p->phase = OCI_PHASE_TOKEN;
        rc = oci_pending_send(p, "POST", realm, "Content-Type: application/x-www-form-urlencoded", NULL, form,
                              strlen(form));
        credfile_wipe_free(form);
        return rc;
    }
    for (size_t i = 0; i < registry->scope_count && used < sizeof url; i++) {
        oci_percent_encode(encoded, sizeof encoded, registry->scopes[i]);
        used += (size_t)snprintf(url + used, sizeof url - used, "%cscope=%s", separator, encoded);
        separator = '&';
    }
    char *basic = registry->have_credentials && c->username ? oci_basic_header(c) : NULL;
    p->phase = OCI_PHASE_TOKEN;
    int rc = oci_pending_send(p, "GET", url, "", basic, NULL, 0); /* none of the call's headers */
    credfile_wipe_free(basic);
    return rc;
}

/* The token service answered: keep the token and send the call again. */
static void oci_on_token(struct oci_pending *p, const struct http_response *response)
{
    struct oci_registry *registry = p->registry;
    p->phase = OCI_PHASE_CALL;
    json_t *body = response->status / 100 == 2 ? json_loads(response->body, 0, NULL) : NULL;
    const char *token = json_string_value(json_object_get(body, "token"));
    if (token == NULL)
        token = json_string_value(json_object_get(body, "access_token"));
    if (token == NULL) {
        char message[900];
        if (response->error != NULL)
            snprintf(message, sizeof message, "the token service of the registry %s cannot be reached for %s (%s)",
                     registry->host, p->what, response->error);
        else if (response->status == 401 || response->status == 403)
            snprintf(message, sizeof message, "the registry %s refused the credentials from %s for %s (its token "
                     "service answered HTTP %ld): log in again with `docker login %s`", registry->host,
                     registry->have_credentials ? registry->credentials.source : "nobody (anonymous)", p->what,
                     response->status, registry->host);
        else
            snprintf(message, sizeof message, "the token service of the registry %s gave no token for %s (HTTP %ld)",
                     registry->host, p->what, response->status);
        json_decref(body);
        oci_finish(p, response, response->error ? "NetworkError" : "UNAUTHORIZED", message);
        return;
    }
    char *header = NULL;
    int rc = asprintf(&header, "Authorization: Bearer %s", token);
    sodium_memzero((char *)token, strlen(token));
    json_decref(body);
    if (rc < 0) {
        oci_finish(p, response, "OutOfMemory", "out of memory");
        return;
    }
    credfile_wipe_free(registry->authorization);
    registry->authorization = header;
    if (oci_pending_send(p, p->method, p->url, NULL, registry->authorization, p->body, p->body_size) < 0)
        oci_finish(p, response, "OutOfMemory", "out of memory");
}

static void oci_on_answer(void *ctx, const struct http_response *response)
{
    struct oci_pending *p = ctx;
    if (p->registry == NULL) {
        oci_pending_free(p);
        return;
    }
    if (p->phase == OCI_PHASE_TOKEN) {
        oci_on_token(p, response);
        return;
    }
    if (response->error == NULL && response->status == 401 && p->phase == OCI_PHASE_CALL &&
        oci_answer_challenge(p, response) == 0)
        return;
    const char *location = http_response_header(response, "Location");
    if (response->error == NULL && p->phase == OCI_PHASE_CALL && location != NULL &&
        (response->status == 301 || response->status == 302 || response->status == 303 || response->status == 307 ||
         response->status == 308) &&
        (strcmp(p->method, "GET") == 0 || strcmp(p->method, "HEAD") == 0)) {
        char *url = oci_registry_url(p->registry, location);
        p->phase = OCI_PHASE_REDIRECT;
        int rc = url ? oci_pending_send(p, p->method, url, NULL, NULL, NULL, 0) : -1; /* a Range goes along */
        free(url);
        if (rc == 0)
            return;
    }
    if (response->error == NULL && response->status / 100 == 2)
        oci_finish(p, response, NULL, NULL);
    else
        oci_fail(p, response);
}
