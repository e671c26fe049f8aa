/* gcf_credentials: Google credentials and their tokens (see
 * gcf_credentials.h).
 *
 * Loading reads one JSON file (the key, or the gcloud user's file) and
 * keeps only what the grants need: a service account's private key is
 * parsed into an OpenSSL key at once (so a key that does not parse is a
 * load error naming the file), an authorized user's client secret and
 * refresh token are copied into memory that is wiped when freed, and the
 * file's text is wiped before it is freed. (jansson's own copies of the
 * parsed strings are released by json_decref without wiping.)
 *
 * Tokens live in a small list, one entry per audience ("" is the access
 * token). An entry holds its token_cache (the value, when it is handed
 * out, refreshed or waited for) and at most one exchange in flight. The
 * exchange's context is allocated apart from the entry, so freeing the
 * credentials while an exchange is in flight only detaches it: its answer
 * then frees the context and nothing else. */
#include "gcf_credentials.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buffer.h"
#include "credfile.h"
#include "fsutil.h"
#include "gcf_metadata.h"
#include "token_cache.h"

#define GCF_SCOPE "https://www.googleapis.com/auth/cloud-platform"
#define GCF_TOKEN_URI "https://oauth2.googleapis.com/token"
#define GCF_JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define GCF_JWT_SECONDS 3600
#define GCF_TOKEN_TIMEOUT_MS 30000L
#define GCF_METADATA_TIMEOUT_MS 3000L  /* the metadata server is on the host's own link: its first answer is the probe */
#define GCF_METADATA_ACCOUNT "/computeMetadata/v1/instance/service-accounts/default"

enum gcf_kind { GCF_SERVICE_ACCOUNT, GCF_AUTHORIZED_USER, GCF_METADATA };

struct gcf_exchange;

struct gcf_token {
    struct gcf_token *next;
    char *audience;                 /* "" for the access token */
    struct token_cache cache;       /* the token, and the calls waiting for it */
    struct gcf_exchange *exchange;  /* the one in flight, or NULL */
};

struct gcf_exchange {
    struct gcf_credentials *owner;  /* NULL once the credentials are freed */
    struct gcf_token *token;
};

struct gcf_credentials {
    enum gcf_kind kind;
    char *file, *file_from;         /* the JSON file and what named it; the metadata server's address and why */
    char *email;                    /* client_email, or NULL for a user */
    char *key_id, *token_uri;
    EVP_PKEY *key;                  /* service account */
    char *client_id, *client_secret, *refresh_token;  /* authorized user */
    char *project, *project_from;
    struct gcf_token *tokens;
};

static char *gcf_strdup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* The string member NAME of OBJ, or NULL when absent, empty or not a string. */
static const char *gcf_member(const json_t *obj, const char *name)
{
    const char *value = json_string_value(json_object_get(obj, name));
    return value != NULL && value[0] != '\0' ? value : NULL;
}

/* The gcloud user's file: $CLOUDSDK_CONFIG/..., else ~/.config/gcloud/... (NULL without a home). */
static char *gcf_user_file(void)
{
    const char *config = credfile_env("CLOUDSDK_CONFIG");
    char *home = config == NULL ? credfile_home() : NULL;
    if (config == NULL && home == NULL)
        return NULL;
    char *path = NULL;
    int failed = config != NULL ? asprintf(&path, "%s/application_default_credentials.json", config)
                                : asprintf(&path, "%s/.config/gcloud/application_default_credentials.json", home);
    free(home);
    return failed < 0 ? NULL : path;
}

static int gcf_load_service_account(struct gcf_credentials *c, const json_t *json, char *err, size_t err_size)
{
    const char *email = gcf_member(json, "client_email"), *pem = gcf_member(json, "private_key");
    if (email == NULL || pem == NULL) {
        snprintf(err, err_size, "the service-account key file %s (%s) has no %s: download a new JSON key for the "
                 "account", c->file, c->file_from, email == NULL ? "client_email" : "private_key");
        return -1;
    }
    BIO *bio = BIO_new_mem_buf(pem, -1);
    c->key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (c->key == NULL || EVP_PKEY_base_id(c->key) != EVP_PKEY_RSA) {
        snprintf(err, err_size, "the private_key in the service-account key file %s (%s) is not an RSA key in PEM: "
                 "download a new JSON key for the account", c->file, c->file_from);
        return -1;
    }
    c->email = strdup(email);
    c->key_id = gcf_strdup_or_null(gcf_member(json, "private_key_id"));
    const char *project = gcf_member(json, "project_id");
    if (c->project == NULL && project != NULL) {
        c->project = strdup(project);
        c->project_from = strdup("the key file");
    }
    return c->email != NULL ? 0 : -1;
}

static int gcf_load_user(struct gcf_credentials *c, const json_t *json, char *err, size_t err_size)
{
    const char *id = gcf_member(json, "client_id"), *secret = gcf_member(json, "client_secret");
    const char *refresh = gcf_member(json, "refresh_token");
    if (id == NULL || secret == NULL || refresh == NULL) {
        snprintf(err, err_size, "the authorized-user credentials file %s (%s) lacks client_id, client_secret or "
                 "refresh_token: run `gcloud auth application-default login` again", c->file, c->file_from);
        return -1;
    }
    c->client_id = strdup(id);
    c->client_secret = strdup(secret);
    c->refresh_token = strdup(refresh);
    const char *project = gcf_member(json, "quota_project_id");
    if (c->project == NULL && project != NULL) {
        c->project = strdup(project);
        c->project_from = strdup("the quota project of the credentials file");
    }
    return c->client_id != NULL && c->client_secret != NULL && c->refresh_token != NULL ? 0 : -1;
}

/* Reads and parses the credentials file C->file. */
static int gcf_load_file(struct gcf_credentials *c, char *err, size_t err_size)
{
    size_t size = 0;
    char *text = fsutil_read(c->file, &size);
    if (text == NULL) {
        snprintf(err, err_size, "cannot read the Google credentials file %s (%s): %s", c->file, c->file_from,
                 strerror(errno));
        return -1;
    }
    json_error_t parse;
    json_t *json = json_loadb(text, size, 0, &parse);
    sodium_memzero(text, size);
    free(text);
    if (!json_is_object(json)) {
        /* jansson's text may quote the file: only the line is named */
        snprintf(err, err_size, "the Google credentials file %s (%s) is not a JSON object (line %d): download the "
                 "key again or run `gcloud auth application-default login`", c->file, c->file_from, parse.line);
        json_decref(json);
        return -1;
    }
    const char *type = gcf_member(json, "type");
    const char *uri = gcf_member(json, "token_uri");
    c->token_uri = strdup(uri != NULL ? uri : GCF_TOKEN_URI);
    int rc;
    if (type != NULL && strcmp(type, "service_account") == 0) {
        c->kind = GCF_SERVICE_ACCOUNT;
        rc = gcf_load_service_account(c, json, err, err_size);
    } else if (type != NULL && strcmp(type, "authorized_user") == 0) {
        c->kind = GCF_AUTHORIZED_USER;
        rc = gcf_load_user(c, json, err, err_size);
    } else {
        snprintf(err, err_size, "the Google credentials file %s (%s) is of type '%.40s', which faaset does not "
                 "support: use a service-account key or `gcloud auth application-default login`", c->file,
                 c->file_from, type != NULL ? type : "(none)");
        rc = -1;
    }
    json_decref(json);
    if (rc == 0 && c->token_uri == NULL)
        rc = -1;
    return rc;
}

int gcf_credentials_load(const struct gcf_credentials_options *options, struct gcf_credentials **out, char *err,
                         size_t err_size)
{
    *out = NULL;
    struct gcf_credentials *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    const char *project = options != NULL && options->project != NULL && options->project[0] != '\0'
                              ? options->project : NULL;
    if (project != NULL || credfile_env("GOOGLE_CLOUD_PROJECT") != NULL) {
        c->project = strdup(project != NULL ? project : credfile_env("GOOGLE_CLOUD_PROJECT"));
        c->project_from = strdup(project != NULL ? "the settings" : "GOOGLE_CLOUD_PROJECT");
    }
    const char *named = credfile_env("GOOGLE_APPLICATION_CREDENTIALS");
    char *user_file = named == NULL ? gcf_user_file() : NULL;
    if (named != NULL) {
        c->file = strdup(named);
        c->file_from = strdup("GOOGLE_APPLICATION_CREDENTIALS");
    } else if (user_file != NULL && access(user_file, F_OK) == 0) {
        c->file = user_file;
        user_file = NULL;
        c->file_from = strdup("gcloud's application-default credentials");
    } else {
        char host[256], why[200];
        if (!gcf_metadata_detect(host, sizeof host, why, sizeof why)) {
            snprintf(err, err_size, "no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not set, %s does not "
                     "exist, and %s; set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file or run "
                     "`gcloud auth application-default login`",
                     user_file != NULL ? user_file : "~/.config/gcloud/application_default_credentials.json", why);
            free(user_file);
            gcf_credentials_free(c);
            return -1;
        }
        free(user_file);
        c->kind = GCF_METADATA;
        if (asprintf(&c->file, "http://%s", host) < 0)
            c->file = NULL;
        c->file_from = strdup(why);
        c->token_uri = c->file != NULL ? strdup(c->file) : NULL;
        if (c->file == NULL || c->file_from == NULL || c->token_uri == NULL) {
            snprintf(err, err_size, "out of memory");
            gcf_credentials_free(c);
            return -1;
        }
        *out = c;
        return 0;
    }
    free(user_file);
    if (c->file == NULL || c->file_from == NULL || gcf_load_file(c, err, err_size) < 0) {
        if (c->file == NULL || c->file_from == NULL)
            snprintf(err, err_size, "out of memory");
        gcf_credentials_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void gcf_credentials_free(struct gcf_credentials *c)
{
    if (c == NULL)
        return;
    while (c->tokens != NULL) {
        struct gcf_token *t = c->tokens;
        c->tokens = t->next;
        if (t->exchange != NULL)
            t->exchange->owner = NULL;
        token_cache_clear(&t->cache);
        free(t->audience);
        free(t);
    }
    EVP_PKEY_free(c->key);
    credfile_wipe_free(c->client_secret);
    credfile_wipe_free(c->refresh_token);
    free(c->client_id);
    free(c->file);
    free(c->file_from);
    free(c->email);
    free(c->key_id);
    free(c->token_uri);
    free(c->project);
    free(c->project_from);
    free(c);
}

const char *gcf_credentials_project(const struct gcf_credentials *c)
{
    return c->project;
}

void gcf_credentials_describe(const struct gcf_credentials *c, char *buf, size_t size)
{
    char project[512];
    if (c->project != NULL)
        snprintf(project, sizeof project, "project %s from %s", c->project, c->project_from);
    else
        snprintf(project, sizeof project, "no project (set GOOGLE_CLOUD_PROJECT or project=)");
    if (c->kind == GCF_SERVICE_ACCOUNT)
        snprintf(buf, size, "service account %s from %s (%s); %s", c->email, c->file, c->file_from, project);
    else if (c->kind == GCF_METADATA)
        snprintf(buf, size, "the default service account of the metadata server %s (%s); %s", c->file, c->file_from,
                 project);
    else
        snprintf(buf, size, "authorized user from %s (%s); %s", c->file, c->file_from, project);
}

/* base64url without padding of DATA into a new string. */
static char *gcf_b64url(const void *data, size_t size)
{
    size_t length = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(length);
    if (out != NULL)
        sodium_bin2base64(out, length, data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static char *gcf_b64url_json(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (text == NULL)
        return NULL;
    char *out = gcf_b64url(text, strlen(text));
    free(text);
    return out;
}

/* The signed assertion for AUDIENCE ("" for the access token), or NULL. */
static char *gcf_jwt(const struct gcf_credentials *c, const char *audience)
{
    long long now = (long long)time(NULL);
    json_t *header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    json_t *claims = json_pack("{s:s, s:s, s:I, s:I}", "iss", c->email, "aud", c->token_uri, "iat", now, "exp",
                               now + GCF_JWT_SECONDS);
    if (header == NULL || claims == NULL) {
        json_decref(header);
        json_decref(claims);
        return NULL;
    }
    if (c->key_id != NULL)
        json_object_set_new(header, "kid", json_string(c->key_id));
    if (audience[0] != '\0')
        json_object_set_new(claims, "target_audience", json_string(audience));
    else
        json_object_set_new(claims, "scope", json_string(GCF_SCOPE));
    char *head = gcf_b64url_json(header), *body = gcf_b64url_json(claims);
    char *jwt = NULL;
    size_t input_size = head != NULL && body != NULL ? strlen(head) + 1 + strlen(body) : 0;
    char *input = input_size > 0 ? malloc(input_size + 1) : NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *signature = NULL;
    size_t signature_size = 0;
    if (input != NULL && md != NULL) {
        snprintf(input, input_size + 1, "%s.%s", head, body);
        if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, c->key) == 1 &&
            EVP_DigestSign(md, NULL, &signature_size, (const unsigned char *)input, input_size) == 1 &&
            (signature = malloc(signature_size)) != NULL &&
            EVP_DigestSign(md, signature, &signature_size, (const unsigned char *)input, input_size) == 1) {
            char *encoded = gcf_b64url(signature, signature_size);
            size_t jwt_size = encoded != NULL ? input_size + 1 + strlen(encoded) + 1 : 0;
            jwt = jwt_size > 0 ? malloc(jwt_size) : NULL;
            if (jwt != NULL)
                snprintf(jwt, jwt_size, "%s.%s", input, encoded);
            free(encoded);
        }
    }
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    free(signature);
    free(input);
    free(head);
    free(body);
    return jwt;
}

/* Appends NAME=VALUE, VALUE percent-encoded as a form does. */
/* Seconds until the `exp` of the JWT TOKEN, or GCF_JWT_SECONDS when it cannot be read. */
static long long gcf_jwt_seconds_left(const char *token)
{
    const char *start = strchr(token, '.'), *end = start != NULL ? strchr(start + 1, '.') : NULL;
    if (end == NULL)
        return GCF_JWT_SECONDS;
    unsigned char payload[4096];
    size_t size = 0;
    if (sodium_base642bin(payload, sizeof payload - 1, start + 1, (size_t)(end - start - 1), NULL, &size, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return GCF_JWT_SECONDS;
    json_t *claims = json_loadb((const char *)payload, size, 0, NULL);
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    json_decref(claims);
    return exp > 0 ? (long long)exp - (long long)time(NULL) : GCF_JWT_SECONDS;
}

/* Why the grant failed, as one sentence, into ERR. */
static void gcf_refused(const struct gcf_credentials *c, const struct http_response *r, char *err, size_t size)
{
    if (r->error != NULL && c->kind == GCF_METADATA) {
        snprintf(err, size, "no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not set, there is no gcloud "
                 "application-default file, and the metadata server %s (asked because %s) did not answer (%s); set "
                 "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file", c->file, c->file_from, r->error);
        return;
    }
    if (r->error != NULL) {
        snprintf(err, size, "could not reach Google's token endpoint %s: %s", c->token_uri, r->error);
        return;
    }
    json_t *body = json_loadb(r->body, r->body_size, 0, NULL);
    const char *code = gcf_member(body, "error"), *why = gcf_member(body, "error_description");
    char reason[320];
    if (code != NULL)
        snprintf(reason, sizeof reason, "%.60s%s%.240s", code, why != NULL ? ": " : "", why != NULL ? why : "");
    else
        snprintf(reason, sizeof reason, "HTTP %ld", r->status);
    if (c->kind == GCF_METADATA)
        snprintf(err, size, "the metadata server %s gave no token for its default service account (HTTP %ld): give "
                 "this machine a service account with the cloud-platform scope, or set GOOGLE_APPLICATION_CREDENTIALS "
                 "to a key file", c->file, r->status);
    else if (c->kind == GCF_SERVICE_ACCOUNT)
        snprintf(err, size, "Google's token endpoint %s refused the service account %s from %s (%s): check that "
                 "the key is not deleted or disabled and that this machine's clock is right", c->token_uri,
                 c->email, c->file, reason);
    else
        snprintf(err, size, "Google's token endpoint %s refused the authorized-user credentials in %s (%s): run "
                 "`gcloud auth application-default login` again", c->token_uri, c->file, reason);
    json_decref(body);
}

static void gcf_on_token(void *ctx, const struct http_response *r)
{
    struct gcf_exchange *exchange = ctx;
    struct gcf_credentials *c = exchange->owner;
    struct gcf_token *t = exchange->token;
    free(exchange);
    if (c == NULL)
        return;
    t->exchange = NULL;
    char err[1024] = "";
    json_t *body = NULL;
    if (r->error == NULL && r->status == 200 && c->kind == GCF_METADATA && t->audience[0] != '\0')
        body = json_pack("{s:s%}", "id_token", r->body, r->body_size);  /* the metadata server's is the bare JWT */
    else if (r->error == NULL && r->status == 200)
        body = json_loadb(r->body, r->body_size, 0, NULL);
    const char *value = gcf_member(body, t->audience[0] != '\0' ? "id_token" : "access_token");
    long long seconds = 0;
    if (value != NULL && t->audience[0] != '\0')
        seconds = gcf_jwt_seconds_left(value);
    else if (value != NULL)
        seconds = (long long)json_integer_value(json_object_get(body, "expires_in"));
    if (r->error != NULL || r->status != 200)
        gcf_refused(c, r, err, sizeof err);
    else if (value == NULL || seconds <= 0)
        snprintf(err, sizeof err, "Google's token endpoint %s answered without a usable %s%s", c->token_uri,
                 t->audience[0] != '\0' ? "ID token" : "access token",
                 c->kind == GCF_AUTHORIZED_USER && t->audience[0] != '\0'
                     ? ": call private functions with a service-account key (GOOGLE_APPLICATION_CREDENTIALS)" : "");
    token_cache_settle(&t->cache, err[0] == '\0' ? value : NULL, seconds, err[0] != '\0' ? err : NULL);
    json_decref(body);
}

/* Starts the grant for T. Returns 0 or -1 with ERR. */
static int gcf_exchange_start(struct gcf_credentials *c, struct gcf_token *t, struct http_engine *engine, char *err,
                              size_t err_size)
{
    struct buffer form = {0};
    char *metadata_url = NULL;
    if (c->kind == GCF_METADATA) {
        /* a GET: the access token, or an ID token for the audience with the account's claims (format=full) */
        if (t->audience[0] != '\0') {
            credfile_form_add(&form, "audience", t->audience);
            credfile_form_add(&form, "format", "full");
        }
        if (!form.failed && asprintf(&metadata_url, "%s%s/%s%s%.*s", c->file, GCF_METADATA_ACCOUNT,
                                     t->audience[0] != '\0' ? "identity" : "token", form.size > 0 ? "?" : "",
                                     (int)form.size, form.data != NULL ? form.data : "") < 0)
            metadata_url = NULL;
        buffer_free(&form);
        if (metadata_url == NULL) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
    } else if (c->kind == GCF_SERVICE_ACCOUNT) {
        char *jwt = gcf_jwt(c, t->audience);
        if (jwt == NULL) {
            snprintf(err, err_size, "could not sign the token request for %s with OpenSSL", c->email);
            return -1;
        }
        credfile_form_add(&form, "grant_type", GCF_JWT_BEARER);
        credfile_form_add(&form, "assertion", jwt);
        credfile_wipe_free(jwt);
    } else {
        credfile_form_add(&form, "grant_type", "refresh_token");
        credfile_form_add(&form, "client_id", c->client_id);
        credfile_form_add(&form, "client_secret", c->client_secret);
        credfile_form_add(&form, "refresh_token", c->refresh_token);
    }
    struct gcf_exchange *exchange = calloc(1, sizeof *exchange);
    if (form.failed || exchange == NULL) {
        credfile_form_wipe(&form);
        free(exchange);
        free(metadata_url);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    exchange->owner = c;
    exchange->token = t;
    static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded",
                                          "Accept: application/json", NULL};
    static const char *const metadata_headers[] = {"Metadata-Flavor: Google", NULL};
    struct http_request request = {.method = "POST", .url = c->token_uri, .headers = headers, .body = form.data,
                                   .body_size = form.size, .timeout_ms = GCF_TOKEN_TIMEOUT_MS};
    if (metadata_url != NULL)
        request = (struct http_request){.method = "GET", .url = metadata_url, .headers = metadata_headers,
                                        .timeout_ms = GCF_METADATA_TIMEOUT_MS};
    int rc = http_send(engine, &request, gcf_on_token, exchange);
    credfile_form_wipe(&form);
    free(metadata_url);
    if (rc < 0) {
        free(exchange);
        snprintf(err, err_size, "could not send the token request to %s", c->token_uri);
        return -1;
    }
    t->exchange = exchange;
    return 0;
}

static struct gcf_token *gcf_token_entry(struct gcf_credentials *c, const char *audience)
{
    for (struct gcf_token *t = c->tokens; t != NULL; t = t->next)
        if (strcmp(t->audience, audience) == 0)
            return t;
    struct gcf_token *t = calloc(1, sizeof *t);
    if (t == NULL || (t->audience = strdup(audience)) == NULL) {
        free(t);
        return NULL;
    }
    token_cache_init(&t->cache);
    t->next = c->tokens;
    c->tokens = t;
    return t;
}

int gcf_credentials_token(struct gcf_credentials *c, struct http_engine *engine, const char *audience,
                          const char **cached, gcf_token_fn done, void *ctx, char *err, size_t err_size)
{
    *cached = NULL;
    struct gcf_token *t = gcf_token_entry(c, audience != NULL ? audience : "");
    if (t == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    int refresh = 0;
    const char *fresh = token_cache_fresh(&t->cache, &refresh);
    if (fresh != NULL) {
        /* A refresh that cannot start now is tried again by the next call; the token is still good. */
        char ignored[256];
        if (refresh && t->exchange == NULL)
            (void)gcf_exchange_start(c, t, engine, ignored, sizeof ignored);
        *cached = fresh;
        return 1;
    }
    if (t->exchange == NULL && gcf_exchange_start(c, t, engine, err, err_size) < 0)
        return -1;
    if (token_cache_wait(&t->cache, done, ctx) < 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}
