/* Unit tests for ow_iam against the OpenWhisk stand-in's IBM Cloud IAM
 * token endpoint (tests/openwhisk/ow_standin.py, run by Debian's Python,
 * with 8-second tokens): waiters share one exchange, the token is cached
 * (counted by the stand-in's stats), refreshed in the background in the
 * second half of its life while it is still handed out, never handed out
 * in its last quarter (a call waits for a new one), a key IAM does not know
 * is one sentence with IAM's code and where the key came from (never the
 * key), an unreachable endpoint says so, and freeing answers the waiters
 * "cancelled". */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "home_sandbox.h"
#include "http.h"
#include "http_test_client.h"
#include "http_test_server.h"
#include "ow_iam.h"
#include "reactor.h"

#define DEADLINE_S 90
#define APIKEY "Ab3xYz-0123456789_abcdefghIJKLMNOP-s3cr3t"
#define WRONG_APIKEY "Zz9xYz-0123456789_abcdefghIJKLMNOP-s3cr3t"
#define TOKEN_SECONDS 8

struct token {
    int done;
    long status;
    char authorization[400], error[1200];
};

static struct reactor *reactor;
static struct http_engine *engine;
static char base[64];

static void on_token(void *ctx, const char *authorization, const char *error, long status)
{
    struct token *t = ctx;
    t->done++;
    t->status = status;
    snprintf(t->authorization, sizeof t->authorization, "%s", authorization ? authorization : "");
    snprintf(t->error, sizeof t->error, "%s", error ? error : "");
}

struct stats {
    int done;
    long long tokens;
};

static void on_stats(void *ctx, const struct http_response *r)
{
    struct stats *s = ctx;
    json_t *body = json_loadb(r->body, r->body_size, 0, NULL);
    s->tokens = json_integer_value(json_object_get(body, "iam_tokens"));
    json_decref(body);
    s->done = 1;
}

/* How many tokens the stand-in's IAM has granted. */
static long long granted(void)
{
    char url[128];
    snprintf(url, sizeof url, "%s/_standin/stats", base);
    struct stats s = {0, -1};
    struct http_request request = {.method = "GET", .url = url, .timeout_ms = 10000};
    CHECK(http_send(engine, &request, on_stats, &s) == 0);
    http_test_wait(reactor, &s.done, 10000);
    return s.tokens;
}

static void check_no_key(const char *text)
{
    CHECK(strstr(text, "s3cr3t") == NULL);
}

static void test_cache_and_refresh(const char *token_url)
{
    struct ow_iam *iam = ow_iam_new(token_url, APIKEY, "IBMCLOUD_API_KEY");
    CHECK(iam != NULL);
    if (iam == NULL)
        return;
    char err[512];
    CHECK(ow_iam_cached(iam, engine) == NULL && !ow_iam_waiting(iam));
    struct token first = {0}, second = {0};
    CHECK(ow_iam_wait(iam, engine, on_token, &first, err, sizeof err) == 0);
    CHECK(ow_iam_wait(iam, engine, on_token, &second, err, sizeof err) == 0);
    CHECK(ow_iam_waiting(iam));
    CHECK(!first.done); /* never before returning */
    http_test_wait(reactor, &second.done, 10000);
    long long bought = clock_mono_ms();
    CHECK(first.done == 1 && second.done == 1 && first.error[0] == '\0');
    CHECK(strncmp(first.authorization, "Bearer iam-", 11) == 0);
    CHECK(strcmp(first.authorization, second.authorization) == 0);
    CHECK(granted() == 1); /* one exchange for both */

    const char *cached = ow_iam_cached(iam, engine);
    CHECK(cached != NULL && strcmp(cached, first.authorization) == 0);
    CHECK(granted() == 1 && !ow_iam_waiting(iam));

    /* In the second half of its life: still handed out, and one refresh runs in the background. */
    http_test_wait(reactor, NULL, bought + TOKEN_SECONDS * 1000 / 2 + 400 - clock_mono_ms());
    cached = ow_iam_cached(iam, engine);
    CHECK(cached != NULL && strcmp(cached, first.authorization) == 0);
    CHECK(ow_iam_cached(iam, engine) != NULL); /* the one exchange under way serves */
    long long tokens = 0;
    for (int i = 0; i < 100 && (tokens = granted()) < 2; i++)
        http_test_wait(reactor, NULL, 50);
    CHECK(tokens == 2);
    http_test_wait(reactor, NULL, 200);
    cached = ow_iam_cached(iam, engine);
    CHECK(cached != NULL && strcmp(cached, first.authorization) != 0);

    /* Its last quarter, or past: not handed out; a call waits for a new one. */
    ow_iam_forget(iam);
    CHECK(ow_iam_cached(iam, engine) == NULL);
    struct token third = {0};
    CHECK(ow_iam_wait(iam, engine, on_token, &third, err, sizeof err) == 0);
    http_test_wait(reactor, &third.done, 10000);
    bought = clock_mono_ms();
    CHECK(third.done == 1 && strncmp(third.authorization, "Bearer iam-", 11) == 0 && granted() == 3);
    http_test_wait(reactor, NULL, bought + TOKEN_SECONDS * 1000 * 3 / 4 + 300 - clock_mono_ms());
    CHECK(ow_iam_cached(iam, engine) == NULL);

    /* Freed with a waiter: it is answered "cancelled". */
    struct token cancelled = {0};
    CHECK(ow_iam_wait(iam, engine, on_token, &cancelled, err, sizeof err) == 0);
    ow_iam_free(iam);
    CHECK(cancelled.done == 1 && strcmp(cancelled.error, "cancelled") == 0);
    http_test_wait(reactor, NULL, 300); /* the detached exchange's answer frees only its context */
}

static void test_refused(const char *token_url)
{
    struct ow_iam *iam = ow_iam_new(token_url, WRONG_APIKEY, "~/key.json (iam_apikey_file=)");
    CHECK(iam != NULL);
    if (iam == NULL)
        return;
    char err[512];
    struct token t = {0};
    CHECK(ow_iam_wait(iam, engine, on_token, &t, err, sizeof err) == 0);
    http_test_wait(reactor, &t.done, 10000);
    CHECK(t.done == 1 && t.authorization[0] == '\0' && t.status == 400);
    CHECK(strstr(t.error, "refused the API key from ~/key.json (iam_apikey_file=)") != NULL);
    CHECK(strstr(t.error, "BXNIM0415E: Provided API key could not be found.") != NULL);
    CHECK(strstr(t.error, "iam_apikey_file=") != NULL && strstr(t.error, token_url) != NULL);
    check_no_key(t.error);
    ow_iam_free(iam);

    iam = ow_iam_new("http://127.0.0.1:1/identity/token", APIKEY, "IC_API_KEY");
    CHECK(iam != NULL);
    if (iam == NULL)
        return;
    memset(&t, 0, sizeof t);
    CHECK(ow_iam_wait(iam, engine, on_token, &t, err, sizeof err) == 0);
    http_test_wait(reactor, &t.done, 10000);
    CHECK(t.done == 1 && t.status == 0);
    CHECK(strstr(t.error, "could not reach IBM Cloud IAM at http://127.0.0.1:1/identity/token") != NULL);
    check_no_key(t.error);
    ow_iam_free(iam);
}

int main(void)
{
    http_test_server_deadline("test_ow_iam", DEADLINE_S);
    char config_path[512], token_url[128], seconds[16];
    const char *home = home_sandbox_start("test_ow_iam");
    home_sandbox_write("standin.json",
                       "{\"iam_namespaces\": [{\"id\": \"0c4e4f4e-ns\", \"apikeys\": [\"" APIKEY "\"]}]}");
    snprintf(config_path, sizeof config_path, "%s/standin.json", home);
    snprintf(seconds, sizeof seconds, "%d", TOKEN_SECONDS);
    const char *argv[] = {OW_STANDIN, "--config", config_path, "--iam-token-seconds", seconds, "--watch-stdin", NULL};
    CHECK(http_test_server_start_argv(argv) == 0);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", http_test_server_port);
    snprintf(token_url, sizeof token_url, "%s/identity/token", base);
    reactor = reactor_new();
    engine = reactor != NULL ? http_engine_new(reactor) : NULL;
    CHECK(engine != NULL);
    if (engine != NULL && http_test_server_port > 0) {
        test_cache_and_refresh(token_url);
        test_refused(token_url);
    }
    http_engine_free(engine);
    reactor_free(reactor);
    http_test_server_stop();
    home_sandbox_remove();
    return check_report();
}
