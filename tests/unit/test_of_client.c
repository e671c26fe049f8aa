/* Unit tests for of_client against the OpenFaaS gateway stand-in
 * (tests/openfaas/of_standin.py, run by Debian's Python): calls under
 * /system carry the Basic auth, calls to functions carry none, answers are
 * read (JSON, or the gateway's plain text), the X-Call-Id is passed on,
 * and every error is one sentence that says what to do and never holds
 * the password: a password refused (401, with the user and where it came
 * from), a function that does not exist (404), a deployment refused (400),
 * no credentials (where it looked) before anything is sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "home_sandbox.h"
#include "http_test_client.h"
#include "http_test_server.h"
#include "of_client.h"
#include "reactor.h"

#define DEADLINE_S 60
#define PASSWORD "gateway-pa55-s3cr3t"
#define WRONG_PASSWORD "wrong-pa55-s3cr3t"

struct answer {
    int done, ok;
    long status;
    char type[64], message[1600], call_id[80], text[2000];
    int listed;                  /* the body was a JSON array */
};

static void on_reply(void *ctx, const struct of_reply *reply)
{
    struct answer *answer = ctx;
    answer->done = 1;
    answer->ok = reply->ok;
    answer->status = reply->status;
    answer->listed = json_is_array(reply->json);
    snprintf(answer->type, sizeof answer->type, "%s", reply->error_type ? reply->error_type : "");
    snprintf(answer->message, sizeof answer->message, "%s", reply->message ? reply->message : "");
    snprintf(answer->call_id, sizeof answer->call_id, "%s", reply->call_id ? reply->call_id : "");
    snprintf(answer->text, sizeof answer->text, "%s", reply->text);
}

/* Sends METHOD PATH (with BODY) and runs the loop until the answer comes (or 10 s pass); -1 with ERR when refused. */
static int call(struct reactor *reactor, struct of_client *client, const char *method, const char *path,
                const char *body, struct answer *answer)
{
    memset(answer, 0, sizeof *answer);
    struct of_call request = {method, path, body, body ? strlen(body) : 0, 10000};
    if (of_client_send(client, &request, on_reply, answer, answer->message, sizeof answer->message) < 0)
        return -1;
    return http_test_wait(reactor, &answer->done, 10000);
}

static void check_no_password(const char *text)
{
    CHECK(strstr(text, "s3cr3t") == NULL);
}

/* The stand-in's count of calls to functions that carried an Authorization header. */
static long credentials_sent_to_functions(struct reactor *reactor, struct of_client *client)
{
    struct answer a;
    CHECK(call(reactor, client, "GET", "/_standin/stats", NULL, &a) == 0 && a.ok);
    const char *at = strstr(a.text, "\"credentials_to_functions\": ");
    return at != NULL ? strtol(at + strlen("\"credentials_to_functions\": "), NULL, 10) : -1;
}

static void test_calls(struct reactor *reactor, struct of_client *client)
{
    struct answer a;
    CHECK(call(reactor, client, "GET", "/system/functions", NULL, &a) == 0 && a.ok && a.status == 200 && a.listed);

    CHECK(call(reactor, client, "GET", "/system/function/nothing", NULL, &a) == 0 && !a.ok && a.status == 404);
    CHECK(strcmp(a.type, "NotFound") == 0 && strstr(a.message, "/system/function/nothing") != NULL);

    static const char bad[] = "{\"service\": \"Bad_Name\", \"image\": \"127.0.0.1:1/x:1\"}";
    CHECK(call(reactor, client, "POST", "/system/functions", bad, &a) == 0 && a.status == 400);
    CHECK(strcmp(a.type, "InvalidDeployment") == 0 && strstr(a.message, "refused the deployment") != NULL);
    CHECK(strstr(a.message, "must be a valid DNS entry") != NULL);

    CHECK(call(reactor, client, "POST", "/function/nothing", "{}", &a) == 0 && a.status == 404);
    CHECK(strlen(a.call_id) == 32 && strstr(a.text, "Cannot find service: nothing.") != NULL);
    CHECK(call(reactor, client, "POST", "/async-function/nothing", "{}", &a) == 0 && a.status == 202);
    CHECK(strlen(a.call_id) == 32);
    CHECK(credentials_sent_to_functions(reactor, client) == 0);
}

static void test_errors(struct reactor *reactor, struct of_client *client, const char *gateway)
{
    struct answer a;
    char err[512];
    setenv("OPENFAAS_PASSWORD", WRONG_PASSWORD, 1);
    CHECK(of_client_set(client, NULL, err, sizeof err) == 0);
    CHECK(call(reactor, client, "GET", "/system/functions", NULL, &a) == 0 && a.status == 401);
    CHECK(strcmp(a.type, "Unauthenticated") == 0);
    CHECK(strstr(a.message, "did not accept the password of the user admin from OPENFAAS_PASSWORD") != NULL);
    CHECK(strstr(a.message, gateway) != NULL && strstr(a.message, "faas-cli login") != NULL);
    check_no_password(a.message);

    unsetenv("OPENFAAS_PASSWORD");
    CHECK(of_client_set(client, NULL, err, sizeof err) == 0);
    CHECK(call(reactor, client, "GET", "/system/functions", NULL, &a) == -1 && !a.done); /* refused before sending */
    CHECK(strstr(a.message, "no credentials for the OpenFaaS gateway") != NULL);
    CHECK(strstr(a.message, "OPENFAAS_PASSWORD") != NULL && strstr(a.message, "faas-cli login") != NULL);

    setenv("OPENFAAS_PASSWORD", PASSWORD, 1);
    CHECK(of_client_set(client, "http://127.0.0.1:1", err, sizeof err) == 0); /* nothing listens there */
    CHECK(call(reactor, client, "GET", "/system/functions", NULL, &a) == 0 && a.status == 0);
    CHECK(strcmp(a.type, "NetworkError") == 0 && strstr(a.message, "no answer from the OpenFaaS gateway "
                                                                    "http://127.0.0.1:1") != NULL);
}

int main(void)
{
    http_test_server_deadline("test_of_client", DEADLINE_S);
    char config_path[512], gateway[64];
    const char *home = home_sandbox_start("test_of_client");
    home_sandbox_write("gateway.json", "{\"user\": \"admin\", \"password\": \"" PASSWORD "\", \"registries\": {}}");
    snprintf(config_path, sizeof config_path, "%s/gateway.json", home);
    const char *argv[] = {OF_STANDIN, "--config", config_path, "--watch-stdin", NULL};
    CHECK(http_test_server_start_argv(argv) == 0);
    snprintf(gateway, sizeof gateway, "http://127.0.0.1:%d", http_test_server_port);
    unsetenv("OPENFAAS_CONFIG");
    unsetenv("OPENFAAS_USERNAME");
    setenv("OPENFAAS_URL", gateway, 1);
    setenv("OPENFAAS_PASSWORD", PASSWORD, 1);
    struct reactor *reactor = reactor_new();
    struct of_client *client = reactor ? of_client_new(reactor) : NULL;
    CHECK(client != NULL);
    if (client != NULL && http_test_server_port > 0) {
        char described[600];
        of_client_describe(client, described, sizeof described);
        CHECK(strstr(described, "user admin from OPENFAAS_PASSWORD") != NULL && strstr(described, gateway) != NULL);
        check_no_password(described);
        test_calls(reactor, client);
        test_errors(reactor, client, gateway);
    }
    of_client_free(client);
    reactor_free(reactor);
    http_test_server_stop();
    home_sandbox_remove();
    return check_report();
}
