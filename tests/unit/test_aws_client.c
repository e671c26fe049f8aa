/* Unit tests for aws_client against the loopback server (http_server.py):
 * every call is signed (AWS4-HMAC-SHA256, with the token signed when there
 * is one), answers are read as the SDKs read them (the code from
 * x-amzn-ErrorType cut at ':', else the body's __type cut at '#'; the
 * message from "message" or "Message"; a 429's Retry-After), the session
 * token a service message quotes is masked, and missing credentials are an
 * error before anything is sent. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_client.h"
#include "check.h"
#include "http_test_client.h"
#include "http_test_server.h"
#include "reactor.h"

#define DEADLINE_S 60
#define TOKEN "session-token-for-the-test-0123456789"

struct answer {
    int done, ok;
    long status;
    char code[96], message[1024], signed_with[256];
    double retry_after_ms;
};

static void on_reply(void *ctx, const struct aws_reply *reply)
{
    struct answer *answer = ctx;
    answer->done = 1;
    answer->ok = reply->ok;
    answer->status = reply->status;
    answer->retry_after_ms = reply->retry_after_ms;
    snprintf(answer->code, sizeof answer->code, "%s", reply->error_code ? reply->error_code : "");
    snprintf(answer->message, sizeof answer->message, "%s", reply->message ? reply->message : "");
    const char *signed_with = reply->http ? http_response_header(reply->http, "X-Signed") : NULL;
    snprintf(answer->signed_with, sizeof answer->signed_with, "%s", signed_with ? signed_with : "");
}

/* Sends PATH and runs the loop until the answer comes (or 10 s pass). */
static int call(struct reactor *reactor, struct aws_client *client, const char *path, struct answer *answer)
{
    memset(answer, 0, sizeof *answer);
    char err[512];
    struct aws_call request = {"POST", path, NULL, NULL, "{}", 2, 5000};
    if (aws_client_send(client, &request, on_reply, answer, err, sizeof err) < 0) {
        snprintf(answer->message, sizeof answer->message, "%s", err);
        return -1;
    }
    return http_test_wait(reactor, &answer->done, 10000);
}

static void test_answers(struct reactor *reactor, struct aws_client *client)
{
    struct answer a;
    CHECK(call(reactor, client, "/aws/ok", &a) == 0 && a.ok && a.status == 200);
    CHECK(strcmp(a.signed_with, "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date;x-amz-security-token") == 0);

    CHECK(call(reactor, client, "/aws/header", &a) == 0 && !a.ok && a.status == 404);
    CHECK(strcmp(a.code, "ResourceNotFoundException") == 0);
    CHECK(strcmp(a.message, "Function not found: arn:aws:lambda:us-east-1:1:function:f") == 0);

    CHECK(call(reactor, client, "/aws/body", &a) == 0 && a.status == 400);
    CHECK(strcmp(a.code, "InvalidParameterValueException") == 0 && strcmp(a.message, "bad") == 0);

    CHECK(call(reactor, client, "/aws/throttle", &a) == 0 && a.status == 429);
    CHECK(strcmp(a.code, "HTTP429") == 0 && a.retry_after_ms == 3000.0 && strcmp(a.message, "Rate Exceeded.") == 0);

    CHECK(call(reactor, client, "/aws/quote", &a) == 0 && a.status == 403);
    CHECK(strcmp(a.code, "InvalidSignatureException") == 0);
    CHECK(strstr(a.message, TOKEN) == NULL);
    CHECK(strcmp(a.message, "should have been x-amz-security-token:**** and ****") == 0);

    CHECK(call(reactor, client, "/nowhere", &a) == 0 && a.status == 404 && strcmp(a.code, "HTTP404") == 0);
}

static void test_no_answer(struct reactor *reactor, struct aws_client *client)
{
    char err[512];
    CHECK(aws_client_set(client, NULL, "us-east-1", "http://127.0.0.1:9", err, sizeof err) == 0);
    struct answer a;
    CHECK(call(reactor, client, "/aws/ok", &a) == 0 && !a.ok && a.status == 0);
    CHECK(strcmp(a.code, "NetworkError") == 0 && strstr(a.message, "no answer from http://127.0.0.1:9") != NULL);
    CHECK(aws_client_set(client, NULL, NULL, "ftp://example.com", err, sizeof err) == -1);
    CHECK(strstr(err, "http:// or https://") != NULL);
}

static void test_no_credentials(struct reactor *reactor)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    struct aws_client *client = aws_client_new(reactor, "lambda");
    struct answer a;
    char err[512];
    CHECK(client != NULL && aws_client_ready(client, err, sizeof err) == -1);
    CHECK(strstr(err, "AWS_ACCESS_KEY_ID") != NULL);
    CHECK(call(reactor, client, "/aws/ok", &a) == -1 && !a.done && strstr(a.message, "AWS_ACCESS_KEY_ID") != NULL);
    aws_client_free(client);
}

int main(void)
{
    http_test_server_deadline("test_aws_client", DEADLINE_S);
    signal(SIGPIPE, SIG_IGN);
    if (http_test_server_start(HTTP_TEST_SERVER) < 0) {
        fprintf(stderr, "test_aws_client: the server (%s) did not start\n", HTTP_TEST_SERVER);
        http_test_server_stop();
        CHECK(0);
        return check_report();
    }
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", http_test_server_port);
    setenv("AWS_ACCESS_KEY_ID", "AKIDTESTCLIENT000001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "client/secret/for/the/test", 1);
    setenv("AWS_SESSION_TOKEN", TOKEN, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ENDPOINT_URL", endpoint, 1);
    struct reactor *reactor = reactor_new();
    struct aws_client *client = reactor ? aws_client_new(reactor, "lambda") : NULL;
    CHECK(client != NULL);
    if (client != NULL) {
        test_answers(reactor, client);
        test_no_answer(reactor, client);
        aws_client_free(client);
    }
    test_no_credentials(reactor);
    reactor_free(reactor);
    http_test_server_stop();
    return check_report();
}
