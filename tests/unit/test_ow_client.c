/* Unit tests for ow_client against the OpenWhisk stand-in
 * (tests/openwhisk/ow_standin.py, run by Debian's Python): calls carry
 * the key as Basic auth under the namespace, answers are read as wsk
 * reads them, and every error is one sentence that says what to do and
 * never holds the key: a key refused (401, with its UUID and where it came
 * from), a namespace the key may not use (403), an action that does not
 * exist (404), limits refused (400 "exceeds allowed threshold"), no
 * credentials (where it looked) before anything is sent. In an IAM-based
 * namespace: calls carry the bearer token the IBM Cloud API key buys at
 * the stand-in's IAM endpoint (the first call waits for it, the next uses
 * it cached), a namespace the key may not use (403) and a key IAM refuses
 * (IamRefused with IAM's 400 and BXNIM code) are sentences without the
 * key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "home_sandbox.h"
#include "http_test_client.h"
#include "http_test_server.h"
#include "ow_client.h"
#include "reactor.h"

#define DEADLINE_S 60
#define UUID "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
#define KEY "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
#define WRONG_KEY "zzzzO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
#define APIKEY "Ab3xYz-0123456789_abcdefghIJKLMNOPqrstuv"
#define IAM_NAMESPACE "0c4e4f4e-1b2c-4d5e-8f90-a1b2c3d4e5f6"
#define OTHER_IAM_NAMESPACE "9f8e7d6c-1b2c-4d5e-8f90-a1b2c3d4e5f6"

struct answer {
    int done, ok;
    long status;
    char type[64], message[1600], activation[80];
    int listed;                  /* the body was a JSON array */
};

static void on_reply(void *ctx, const struct ow_reply *reply)
{
    struct answer *answer = ctx;
    answer->done = 1;
    answer->ok = reply->ok;
    answer->status = reply->status;
    answer->listed = json_is_array(reply->json);
    snprintf(answer->type, sizeof answer->type, "%s", reply->error_type ? reply->error_type : "");
    snprintf(answer->message, sizeof answer->message, "%s", reply->message ? reply->message : "");
    snprintf(answer->activation, sizeof answer->activation, "%s", reply->activation_id ? reply->activation_id : "");
}

/* Sends METHOD PATH (with BODY) and runs the loop until the answer comes (or 10 s pass); -1 with ERR when refused. */
static int call(struct reactor *reactor, struct ow_client *client, const char *method, const char *path,
                const char *body, struct answer *answer)
{
    memset(answer, 0, sizeof *answer);
    struct ow_call request = {method, path, body, body ? strlen(body) : 0, 10000};
    if (ow_client_send(client, &request, on_reply, answer, answer->message, sizeof answer->message) < 0)
        return -1;
    return http_test_wait(reactor, &answer->done, 10000);
}

static void check_no_key(const char *text)
{
    CHECK(strstr(text, KEY) == NULL && strstr(text, WRONG_KEY) == NULL && strstr(text, APIKEY) == NULL);
    CHECK(strstr(text, "Bearer") == NULL && strstr(text, "iam-") == NULL);
}

static void test_calls(struct reactor *reactor, struct ow_client *client)
{
    struct answer a;
    CHECK(call(reactor, client, "GET", "/actions", NULL, &a) == 0 && a.ok && a.status == 200 && a.listed);

    CHECK(call(reactor, client, "GET", "/actions/nothing", NULL, &a) == 0 && !a.ok && a.status == 404);
    CHECK(strcmp(a.type, "NotFound") == 0 && strstr(a.message, "actions/nothing") != NULL);

    static const char action[] = "{\"exec\": {\"kind\": \"python:3.11\", \"code\": \"def main(args):\\n    return "
                                 "{'n': args.get('n', 0) + 1}\\n\"}, \"limits\": {\"memory\": 128}}";
    CHECK(call(reactor, client, "PUT", "/actions/adder?overwrite=true", action, &a) == 0 && a.ok);
    CHECK(call(reactor, client, "POST", "/actions/adder?blocking=true&result=true", "{\"n\": 41}", &a) == 0);
    CHECK(a.ok && a.status == 200 && strlen(a.activation) == 32);

    static const char too_much[] = "{\"limits\": {\"memory\": 4096}}";
    CHECK(call(reactor, client, "PUT", "/actions/adder?overwrite=true", too_much, &a) == 0 && a.status == 400);
    CHECK(strcmp(a.type, "LimitRefused") == 0 && strstr(a.message, "refused the limits") != NULL);
    CHECK(strstr(a.message, "max_memory=") != NULL);
    CHECK(call(reactor, client, "DELETE", "/actions/adder", NULL, &a) == 0 && a.ok);
}

static void test_errors(struct reactor *reactor, struct ow_client *client, const char *apihost)
{
    struct answer a;
    char err[512];
    CHECK(ow_client_set(client, &(struct ow_client_settings){.ns = "someone-else"}, err, sizeof err) == 0);
    CHECK(call(reactor, client, "GET", "/actions", NULL, &a) == 0 && a.status == 403);
    CHECK(strcmp(a.type, "Forbidden") == 0 && strstr(a.message, "may not use the namespace someone-else") != NULL);
    CHECK(strstr(a.message, "key " UUID " from __OW_API_KEY") != NULL);
    check_no_key(a.message);

    setenv("__OW_API_KEY", UUID ":" WRONG_KEY, 1);
    CHECK(ow_client_set(client, NULL, err, sizeof err) == 0);
    CHECK(call(reactor, client, "GET", "/actions", NULL, &a) == 0 && a.status == 401);
    CHECK(strcmp(a.type, "Unauthenticated") == 0 && strstr(a.message, "did not accept the key " UUID) != NULL);
    CHECK(strstr(a.message, apihost) != NULL && strstr(a.message, "~/.wskprops") != NULL);
    check_no_key(a.message);

    unsetenv("__OW_API_KEY");
    CHECK(ow_client_set(client, NULL, err, sizeof err) == 0);
    CHECK(call(reactor, client, "GET", "/actions", NULL, &a) == -1 && !a.done); /* refused before sending */
    CHECK(strstr(a.message, "no OpenWhisk key") != NULL && strstr(a.message, "__OW_API_KEY") != NULL);
    CHECK(strstr(a.message, "~/.wskprops") != NULL);
    setenv("__OW_API_KEY", UUID ":" KEY, 1);
}

static void test_iam(struct reactor *reactor, struct ow_client *client, const char *apihost)
{
    struct answer a;
    char err[512];
    unsetenv("__OW_API_KEY");
    setenv("IBMCLOUD_API_KEY", APIKEY, 1);
    setenv("IBMCLOUD_IAM_API_ENDPOINT", apihost, 1);
    CHECK(ow_client_set(client, &(struct ow_client_settings){.ns = IAM_NAMESPACE}, err, sizeof err) == 0);
    char described[600];
    ow_client_describe(client, described, sizeof described);
    CHECK(strstr(described, "IBM Cloud API key from IBMCLOUD_API_KEY") != NULL);
    CHECK(strstr(described, apihost) != NULL);
    check_no_key(described);
    /* the first call waits for the token, the next has it cached; the stand-in takes nothing else there */
    CHECK(call(reactor, client, "GET", "/actions", NULL, &a) == 0 && a.ok && a.status == 200 && a.listed);
    CHECK(call(reactor, client, "PUT", "/actions/iam?overwrite=true",
               "{\"exec\": {\"kind\": \"python:3.11\", \"code\": \"def main(args):\\n    return {}\\n\"}}", &a) == 0);
    CHECK(a.ok && a.status == 200);
    CHECK(call(reactor, client, "DELETE", "/actions/iam", NULL, &a) == 0 && a.ok);

    CHECK(ow_client_set(client, &(struct ow_client_settings){.ns = OTHER_IAM_NAMESPACE}, err, sizeof err) == 0);
    CHECK(call(reactor, client, "GET", "/actions", NULL, &a) == 0 && a.status == 403);
    CHECK(strcmp(a.type, "Forbidden") == 0);
    CHECK(strstr(a.message, "the API key from IBMCLOUD_API_KEY may not use the namespace " OTHER_IAM_NAMESPACE));
    check_no_key(a.message);

    setenv("IBMCLOUD_API_KEY", "Zz" APIKEY, 1);
    CHECK(ow_client_set(client, &(struct ow_client_settings){.ns = IAM_NAMESPACE}, err, sizeof err) == 0);
    CHECK(call(reactor, client, "GET", "/actions", NULL, &a) == 0 && !a.ok && a.status == 400);
    CHECK(strcmp(a.type, "IamRefused") == 0 && strstr(a.message, "BXNIM0415E") != NULL);
    CHECK(strstr(a.message, "refused the API key from IBMCLOUD_API_KEY") != NULL);
    check_no_key(a.message);
    unsetenv("IBMCLOUD_API_KEY");
    unsetenv("IBMCLOUD_IAM_API_ENDPOINT");
    setenv("__OW_API_KEY", UUID ":" KEY, 1);
}

int main(void)
{
    http_test_server_deadline("test_ow_client", DEADLINE_S);
    char config_path[512], apihost[64];
    const char *home = home_sandbox_start("test_ow_client");
    home_sandbox_write("standin.json",
                       "{\"subjects\": [{\"auth\": \"" UUID ":" KEY "\", \"namespace\": \"faaset\"}, "
                       "{\"auth\": \"0a0a0a0a-0000-4000-8000-000000000000:" WRONG_KEY "x\", "
                       "\"namespace\": \"someone-else\"}], "
                       "\"iam_namespaces\": [{\"id\": \"" IAM_NAMESPACE "\", \"apikeys\": [\"" APIKEY "\"]}, "
                       "{\"id\": \"" OTHER_IAM_NAMESPACE "\", \"apikeys\": [\"someone-elses-key\"]}]}");
    snprintf(config_path, sizeof config_path, "%s/standin.json", home);
    const char *argv[] = {OW_STANDIN, "--config", config_path, "--watch-stdin", NULL};
    CHECK(http_test_server_start_argv(argv) == 0);
    snprintf(apihost, sizeof apihost, "http://127.0.0.1:%d", http_test_server_port);
    unsetenv("WSK_CONFIG_FILE");
    unsetenv("__OW_NAMESPACE");
    unsetenv("IBMCLOUD_API_KEY");
    unsetenv("IC_API_KEY");
    unsetenv("IBMCLOUD_IAM_API_ENDPOINT");
    setenv("__OW_API_HOST", apihost, 1);
    setenv("__OW_API_KEY", UUID ":" KEY, 1);
    struct reactor *reactor = reactor_new();
    struct ow_client *client = reactor ? ow_client_new(reactor) : NULL;
    CHECK(client != NULL);
    if (client != NULL && http_test_server_port > 0) {
        char described[600];
        ow_client_describe(client, described, sizeof described);
        CHECK(strstr(described, "key " UUID " from __OW_API_KEY") != NULL && strstr(described, apihost) != NULL);
        check_no_key(described);
        test_calls(reactor, client);
        test_errors(reactor, client, apihost);
        test_iam(reactor, client, apihost);
    }
    ow_client_free(client);
    reactor_free(reactor);
    http_test_server_stop();
    home_sandbox_remove();
    return check_report();
}
