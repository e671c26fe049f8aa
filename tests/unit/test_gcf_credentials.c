/* Unit tests for gcf_credentials against the Cloud Functions stand-in
 * (tests/gcf/gcf_standin.py, which verifies the JWT's RS256 signature with
 * the public half of a key made here): Google's order of places, an access
 * token that the API accepts, an ID token for an audience, the cache and
 * its background refresh (the stand-in gives tokens of 200 s, inside the
 * refresh window), one exchange shared by concurrent requests, the
 * authorized-user refresh grant, and the one-sentence errors (no
 * credentials, a file that does not parse, a refused grant), none of which
 * shows a secret. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "gcf_credentials.h"
#include "http.h"
#include "http_test_client.h"
#include "http_test_server.h"
#include "reactor.h"

#define DEADLINE_S 90
#define PROJECT "faaset-test"
#define EMAIL "deployer@faaset-test.iam.gserviceaccount.com"
#define REFRESH_TOKEN "1//refresh-token-for-the-unit-test"
#define CLIENT_SECRET "client-secret-for-the-unit-test"

static char folder[256];
static int port;

struct answer {
    int done;
    char token[4096], error[1024];
};

static void on_token(void *ctx, const char *token, const char *error)
{
    struct answer *a = ctx;
    a->done = 1;
    snprintf(a->token, sizeof a->token, "%s", token ? token : "");
    snprintf(a->error, sizeof a->error, "%s", error ? error : "");
}

/* A token now or after the exchange; 1 when it came from the cache. */
static int token(struct reactor *reactor, struct http_engine *engine, struct gcf_credentials *c,
                 const char *audience, struct answer *a)
{
    memset(a, 0, sizeof *a);
    const char *cached = NULL;
    int rc = gcf_credentials_token(c, engine, audience, &cached, on_token, a, a->error, sizeof a->error);
    if (rc == 1)
        snprintf(a->token, sizeof a->token, "%s", cached);
    else if (rc == 0)
        http_test_wait(reactor, &a->done, 10000);
    return rc;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* An RSA key: its private PEM into PEM (JSON-escaped newlines), its public PEM to PUBLIC_PATH. */
static void make_key(char *pem, size_t size, const char *public_path)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    CHECK(key != NULL);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    size_t used = 0;
    for (long i = 0; i < length && used + 3 < size; i++) {
        if (data[i] == '\n') {
            pem[used++] = '\\';
            pem[used++] = 'n';
        } else {
            pem[used++] = data[i];
        }
    }
    pem[used] = '\0';
    BIO_free(bio);
    FILE *f = fopen(public_path, "w");
    CHECK(f != NULL && PEM_write_PUBKEY(f, key) == 1);
    fclose(f);
    EVP_PKEY_free(key);
}

static void write_key_file(const char *path, const char *pem)
{
    char text[8192];
    snprintf(text, sizeof text,
             "{\"type\": \"service_account\", \"project_id\": \"" PROJECT "\", \"private_key_id\": \"key-1\", "
             "\"private_key\": \"%s\", \"client_email\": \"" EMAIL "\", \"token_uri\": "
             "\"http://127.0.0.1:%d/token\"}",
             pem, port);
    write_file(path, text);
}

/* GET the function list with TOKEN as the bearer: the HTTP status. */
struct listed {
    int done;
    long status;
};

static void on_listed(void *ctx, const struct http_response *r)
{
    struct listed *l = ctx;
    l->done = 1;
    l->status = r->status;
}

static long api_status(struct reactor *reactor, struct http_engine *engine, const char *token)
{
    char url[256], authorization[4200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v2/projects/" PROJECT "/locations/us-central1/functions", port);
    snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", token);
    const char *headers[] = {authorization, NULL};
    struct http_request request = {.method = "GET", .url = url, .headers = headers, .timeout_ms = 10000};
    struct listed l = {0};
    CHECK(http_send(engine, &request, on_listed, &l) == 0);
    http_test_wait(reactor, &l.done, 10000);
    return l.status;
}

static void check_no_secret(const char *text, const char *pem)
{
    CHECK(strstr(text, "PRIVATE KEY") == NULL);
    CHECK(strlen(pem) < 80 || strstr(text, pem + 40) == NULL);
    CHECK(strstr(text, REFRESH_TOKEN) == NULL);
    CHECK(strstr(text, CLIENT_SECRET) == NULL);
    CHECK(strstr(text, "ya29.") == NULL);
}

static void test_service_account(struct reactor *reactor, struct http_engine *engine, const char *pem)
{
    char key_path[512], err[1024], described[1024];
    snprintf(key_path, sizeof key_path, "%s/key.json", folder);
    write_key_file(key_path, pem);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", key_path, 1);
    struct gcf_credentials *c = NULL;
    CHECK(gcf_credentials_load(NULL, &c, err, sizeof err) == 0);
    if (c == NULL) {
        fprintf(stderr, "load: %s\n", err);
        return;
    }
    CHECK(strcmp(gcf_credentials_project(c), PROJECT) == 0);
    gcf_credentials_describe(c, described, sizeof described);
    CHECK(strstr(described, EMAIL) != NULL && strstr(described, key_path) != NULL);
    check_no_secret(described, pem);

    /* Two requests before any token: one exchange answers both with the same token. */
    struct answer first, second;
    memset(&first, 0, sizeof first);
    memset(&second, 0, sizeof second);
    const char *cached = NULL;
    CHECK(gcf_credentials_token(c, engine, NULL, &cached, on_token, &first, err, sizeof err) == 0);
    CHECK(gcf_credentials_token(c, engine, NULL, &cached, on_token, &second, err, sizeof err) == 0);
    CHECK(http_engine_in_flight(engine) == 1);
    http_test_wait(reactor, &second.done, 10000);
    CHECK(first.done && second.done && first.error[0] == '\0');
    CHECK(strncmp(first.token, "ya29.", 5) == 0 && strcmp(first.token, second.token) == 0);
    CHECK(api_status(reactor, engine, first.token) == 200);

    /* Cached, and in its last 200 s: handed out while a new one is fetched in the background. */
    struct answer again;
    CHECK(token(reactor, engine, c, NULL, &again) == 1 && strcmp(again.token, first.token) == 0);
    CHECK(http_engine_in_flight(engine) == 1);
    http_test_wait(reactor, NULL, 1500);
    CHECK(http_engine_in_flight(engine) == 0);
    CHECK(token(reactor, engine, c, NULL, &again) == 1 && strcmp(again.token, first.token) != 0);
    CHECK(api_status(reactor, engine, again.token) == 200);

    /* An ID token for an audience: a JWT the API does not take as an access token. */
    struct answer id;
    CHECK(token(reactor, engine, c, "https://example.com/fn", &id) == 0 && id.error[0] == '\0');
    CHECK(strncmp(id.token, "eyJ", 3) == 0);
    CHECK(api_status(reactor, engine, id.token) == 401);
    CHECK(token(reactor, engine, c, "https://example.com/fn", &again) == 1 && strcmp(again.token, id.token) == 0);
    gcf_credentials_free(c);
}

static void test_refused_grant(struct reactor *reactor, struct http_engine *engine)
{
    char pem[4096], public_path[512], key_path[512], err[1024];
    snprintf(public_path, sizeof public_path, "%s/unknown.pub.pem", folder);
    snprintf(key_path, sizeof key_path, "%s/unknown-key.json", folder);
    make_key(pem, sizeof pem, public_path);
    write_key_file(key_path, pem);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", key_path, 1);
    struct gcf_credentials *c = NULL;
    CHECK(gcf_credentials_load(NULL, &c, err, sizeof err) == 0);
    struct answer a;
    CHECK(c != NULL && token(reactor, engine, c, NULL, &a) == 0);
    CHECK(a.done && a.token[0] == '\0');
    CHECK(strstr(a.error, "refused the service account " EMAIL) != NULL);
    CHECK(strstr(a.error, "invalid_grant: Invalid JWT Signature.") != NULL);
    check_no_secret(a.error, pem);
    gcf_credentials_free(c);
}

static void test_authorized_user(struct reactor *reactor, struct http_engine *engine)
{
    char config[512], path[600], err[1024], text[1024];
    snprintf(config, sizeof config, "%s/gcloud", folder);
    mkdir(config, 0700);
    snprintf(path, sizeof path, "%s/application_default_credentials.json", config);
    snprintf(text, sizeof text,
             "{\"type\": \"authorized_user\", \"client_id\": \"1234-unit.apps.googleusercontent.com\", "
             "\"client_secret\": \"" CLIENT_SECRET "\", \"refresh_token\": \"" REFRESH_TOKEN "\", "
             "\"quota_project_id\": \"" PROJECT "\", \"token_uri\": \"http://127.0.0.1:%d/token\"}", port);
    write_file(path, text);
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    setenv("CLOUDSDK_CONFIG", config, 1);
    struct gcf_credentials *c = NULL;
    CHECK(gcf_credentials_load(NULL, &c, err, sizeof err) == 0);
    if (c == NULL)
        return;
    char described[1024];
    gcf_credentials_describe(c, described, sizeof described);
    CHECK(strstr(described, "authorized user from") != NULL && strstr(described, path) != NULL);
    check_no_secret(described, "");
    struct answer a;
    CHECK(token(reactor, engine, c, NULL, &a) == 0 && a.error[0] == '\0' && strncmp(a.token, "ya29.", 5) == 0);
    CHECK(api_status(reactor, engine, a.token) == 200);
    gcf_credentials_free(c);

    /* A refresh token Google does not know. */
    snprintf(text, sizeof text,
             "{\"type\": \"authorized_user\", \"client_id\": \"1234-unit.apps.googleusercontent.com\", "
             "\"client_secret\": \"" CLIENT_SECRET "\", \"refresh_token\": \"1//revoked\", "
             "\"token_uri\": \"http://127.0.0.1:%d/token\"}", port);
    write_file(path, text);
    CHECK(gcf_credentials_load(NULL, &c, err, sizeof err) == 0);
    CHECK(c != NULL && token(reactor, engine, c, NULL, &a) == 0);
    CHECK(strstr(a.error, "refused the authorized-user credentials") != NULL && strstr(a.error, "invalid_grant"));
    CHECK(strstr(a.error, "gcloud auth application-default login") != NULL);
    check_no_secret(a.error, "");
    gcf_credentials_free(c);
}

static void test_load_errors(void)
{
    char err[1024], path[512];
    struct gcf_credentials *c = NULL;
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    char empty[512];
    snprintf(empty, sizeof empty, "%s/empty-gcloud", folder);
    setenv("CLOUDSDK_CONFIG", empty, 1);
    CHECK(gcf_credentials_load(NULL, &c, err, sizeof err) == -1 && c == NULL);
    CHECK(strstr(err, "no Google credentials") && strstr(err, "GOOGLE_APPLICATION_CREDENTIALS is not set"));
    CHECK(strstr(err, empty) != NULL);

    snprintf(path, sizeof path, "%s/broken.json", folder);
    write_file(path, "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIsecret");
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    CHECK(gcf_credentials_load(NULL, &c, err, sizeof err) == -1);
    CHECK(strstr(err, path) != NULL && strstr(err, "is not a JSON object") != NULL);
    CHECK(strstr(err, "MIIsecret") == NULL);

    write_file(path, "{\"type\": \"service_account\", \"client_email\": \"a@b\", \"private_key\": \"MIIsecret\"}");
    CHECK(gcf_credentials_load(NULL, &c, err, sizeof err) == -1);
    CHECK(strstr(err, "is not an RSA key in PEM") != NULL && strstr(err, "MIIsecret") == NULL);

    write_file(path, "{\"type\": \"external_account\"}");
    CHECK(gcf_credentials_load(NULL, &c, err, sizeof err) == -1 && strstr(err, "'external_account'") != NULL);

    snprintf(path, sizeof path, "%s/absent.json", folder);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    CHECK(gcf_credentials_load(NULL, &c, err, sizeof err) == -1 && strstr(err, "cannot read") != NULL);

    /* The explicit project outranks GOOGLE_CLOUD_PROJECT and the file's. */
    snprintf(path, sizeof path, "%s/key.json", folder);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    setenv("GOOGLE_CLOUD_PROJECT", "from-env", 1);
    CHECK(gcf_credentials_load(NULL, &c, err, sizeof err) == 0 && strcmp(gcf_credentials_project(c), "from-env") == 0);
    gcf_credentials_free(c);
    struct gcf_credentials_options options = {.project = "explicit"};
    CHECK(gcf_credentials_load(&options, &c, err, sizeof err) == 0 &&
          strcmp(gcf_credentials_project(c), "explicit") == 0);
    gcf_credentials_free(c);
    unsetenv("GOOGLE_CLOUD_PROJECT");
}

int main(void)
{
    http_test_server_deadline("test_gcf_credentials", DEADLINE_S);
    snprintf(folder, sizeof folder, "/tmp/test_gcf_credentials.XXXXXX");
    CHECK(mkdtemp(folder) != NULL);
    char pem[4096], public_path[512], config_path[512], config[2048];
    snprintf(public_path, sizeof public_path, "%s/deployer.pub.pem", folder);
    make_key(pem, sizeof pem, public_path);
    snprintf(config_path, sizeof config_path, "%s/standin.json", folder);
    snprintf(config, sizeof config,
             "{\"service_accounts\": [{\"client_email\": \"" EMAIL "\", \"public_key_file\": \"%s\", "
             "\"private_key_id\": \"key-1\"}], \"authorized_users\": [{\"client_id\": "
             "\"1234-unit.apps.googleusercontent.com\", \"client_secret\": \"" CLIENT_SECRET "\", "
             "\"refresh_token\": \"" REFRESH_TOKEN "\", \"email\": \"user@example.com\"}], "
             "\"projects\": [\"" PROJECT "\"]}",
             public_path);
    write_file(config_path, config);
    const char *argv[] = {GCF_STANDIN, "--config", config_path, "--token-seconds", "200", "--watch-stdin", NULL};
    CHECK(http_test_server_start_argv(argv) == 0);
    port = http_test_server_port;
    struct reactor *reactor = reactor_new();
    struct http_engine *engine = reactor ? http_engine_new(reactor) : NULL;
    CHECK(engine != NULL);
    if (engine != NULL && port > 0) {
        test_service_account(reactor, engine, pem);
        test_refused_grant(reactor, engine);
        test_authorized_user(reactor, engine);
        test_load_errors();
    }
    http_engine_free(engine);
    reactor_free(reactor);
    http_test_server_stop();
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", folder);
    (void)!system(command);
    return check_report();
}
