/* Unit tests of https through the HTTP engine's own client (tls.c,
 * http_direct.c) against tls_server.py, which makes a CA and certificates
 * of its own: a good chain by host name (looked up) and by IP address; the
 * CA given per request (as AWS_CA_BUNDLE does), in SSL_CERT_FILE and in
 * SSL_CERT_DIR; the system's store, which does not know the CA; each bad
 * case with the sentence it must give (untrusted, self-signed, wrong host,
 * expired, a server that offers only TLS 1.0/1.1, one that closes in the
 * handshake or never finishes it, an http server behind an https URL, CA
 * settings that name nothing usable); keep-alive reuse, session
 * resumption (the server says how each connection's handshake went; a
 * burst to a new origin waits for one probe's ticket), servers that drop
 * idle TLS connections with and without close_notify, and a hundred
 * requests in flight. The whole run is bounded
 * by an alarm that also kills the server. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http.h"
#include "http_test_client.h"
#include "http_test_server.h"
#include "reactor.h"

#define DEADLINE_S 120
#define IN_FLIGHT 100

static struct reactor *reactor;
static json_t *server;                  /* what tls_server.py printed */

static const char *server_path(const char *key)
{
    return json_string_value(json_object_get(server, key));
}

static char *url_to(const char *port_name, const char *host, const char *path)
{
    static char buffers[4][256];
    static int next;
    char *buffer = buffers[next++ % 4];
    int port = (int)json_integer_value(json_object_get(json_object_get(server, "ports"), port_name));
    snprintf(buffer, sizeof buffers[0], "https://%s:%d%s", host, port, path);
    return buffer;
}

/* One GET through a new engine (so the environment's CA settings are read
 * again); RESULT holds the answer. */
static void get_once(const char *url, const char *ca_file, struct http_test_result *result)
{
    struct http_engine *engine = http_engine_new(reactor);
    CHECK(engine != NULL);
    if (engine == NULL)
        return;
    struct http_request request = {.method = "GET", .url = url, .ca_file = ca_file, .ca_source = "the test"};
    CHECK(http_test_fetch(reactor, engine, &request, result) == 0);
    http_engine_free(engine);
}

static int error_has(const struct http_test_result *result, const char *part)
{
    int has = result->error != NULL && strstr(result->error, part) != NULL;
    if (!has)
        fprintf(stderr, "expected an error with \"%s\", got: %s\n", part,
                result->error != NULL ? result->error : "(no error)");
    return has;
}

static void test_good_chain(void)
{
    struct http_test_result result = {0};
    const char *ca = server_path("ca");
    get_once(url_to("good", "localhost", "/hello"), ca, &result);
    CHECK(result.status == 200 && result.error == NULL && strcmp(result.body, "hello world") == 0);
    http_test_result_clear(&result);
    get_once(url_to("good", "127.0.0.1", "/hello"), ca, &result); /* the certificate names the address too */
    CHECK(result.status == 200 && result.error == NULL);
    http_test_result_clear(&result);

    setenv("SSL_CERT_FILE", ca, 1);
    get_once(url_to("good", "localhost", "/hello"), NULL, &result);
    CHECK(result.status == 200 && result.error == NULL);
    http_test_result_clear(&result);
    unsetenv("SSL_CERT_FILE");

    setenv("SSL_CERT_DIR", server_path("ca_dir"), 1);
    get_once(url_to("good", "localhost", "/hello"), NULL, &result);
    CHECK(result.status == 200 && result.error == NULL);
    http_test_result_clear(&result);
    unsetenv("SSL_CERT_DIR");
}

static void test_bad_certificates(void)
{
    struct http_test_result result = {0};
    const char *ca = server_path("ca");

    /* The system's store does not know the test's CA: never a silent pass. */
    get_once(url_to("good", "localhost", "/hello"), NULL, &result);
    CHECK(result.status == 0 && error_has(&result, "localhost:") && error_has(&result, "is not trusted") &&
          error_has(&result, "SSL_CERT_FILE") && error_has(&result, "AWS_CA_BUNDLE"));
    http_test_result_clear(&result);

    get_once(url_to("self_signed", "localhost", "/hello"), ca, &result);
    CHECK(result.status == 0 && error_has(&result, "is not trusted") && error_has(&result, "self-signed"));
    http_test_result_clear(&result);

    get_once(url_to("wrong_host", "localhost", "/hello"), ca, &result);
    CHECK(result.status == 0 && error_has(&result, "does not name localhost") &&
          error_has(&result, "host name"));
    http_test_result_clear(&result);

    get_once(url_to("wrong_host", "127.0.0.1", "/hello"), ca, &result); /* the address is not in the certificate */
    CHECK(result.status == 0 && error_has(&result, "does not name 127.0.0.1"));
    http_test_result_clear(&result);

    get_once(url_to("expired", "localhost", "/hello"), ca, &result);
    CHECK(result.status == 0 && error_has(&result, "has expired"));
    http_test_result_clear(&result);
}

static void test_bad_servers_and_settings(void)
{
    struct http_test_result result = {0};
    const char *ca = server_path("ca");

    get_once(url_to("closer", "localhost", "/hello"), ca, &result);
    CHECK(result.status == 0 && error_has(&result, "TLS handshake with localhost:") &&
          error_has(&result, "closed the connection"));
    http_test_result_clear(&result);

    struct http_engine *engine = http_engine_new(reactor); /* a handshake that never ends: the timeout ends it */
    struct http_request stalled = {.method = "GET", .url = url_to("staller", "localhost", "/hello"), .ca_file = ca,
                                   .timeout_ms = 1500};
    CHECK(engine != NULL && http_test_fetch(reactor, engine, &stalled, &result) == 0);
    CHECK(result.status == 0 && result.timed_out && error_has(&result, "Timeout was reached"));
    http_test_result_clear(&result);
    http_engine_free(engine);

    get_once(url_to("old", "localhost", "/hello"), ca, &result); /* TLS 1.1 at most: refused */
    CHECK(result.status == 0 && error_has(&result, "TLS handshake with localhost:") &&
          error_has(&result, "TLS 1.2 or later"));
    http_test_result_clear(&result);

    get_once(url_to("plain", "localhost", "/hello"), ca, &result); /* https:// to an http server */
    CHECK(result.status == 0 && error_has(&result, "TLS handshake with localhost:"));
    http_test_result_clear(&result);

    get_once(url_to("good", "localhost", "/hello"), server_path("bad_pem"), &result);
    CHECK(result.status == 0 && error_has(&result, "not-a-ca.pem") && error_has(&result, "the test") &&
          error_has(&result, "PEM"));
    http_test_result_clear(&result);

    setenv("SSL_CERT_FILE", "/nonexistent/ca.pem", 1);
    get_once(url_to("good", "localhost", "/hello"), NULL, &result);
    CHECK(result.status == 0 && error_has(&result, "SSL_CERT_FILE names /nonexistent/ca.pem"));
    http_test_result_clear(&result);
    unsetenv("SSL_CERT_FILE");
}

/* A burst to an origin with no ticket yet: the first handshake is a probe
 * the others wait for, so all but one resume its session. */
static void test_probe(void)
{
    struct http_engine *engine = http_engine_new(reactor);
    CHECK(engine != NULL);
    if (engine == NULL)
        return;
    static struct http_test_result results[IN_FLIGHT];
    struct http_request request = {.method = "GET", .url = url_to("good", "localhost", "/session"),
                                   .ca_file = server_path("ca")};
    http_test_completed = 0;
    for (int i = 0; i < IN_FLIGHT; i++)
        CHECK(http_send(engine, &request, http_test_on_done, &results[i]) == 0);
    CHECK(http_test_run_until(reactor, IN_FLIGHT, 60000) == 0);
    int resumed = 0, full = 0;
    for (int i = 0; i < IN_FLIGHT; i++) {
        resumed += results[i].status == 200 && strcmp(results[i].body, "resumed") == 0;
        full += results[i].status == 200 && strcmp(results[i].body, "full") == 0;
        http_test_result_clear(&results[i]);
    }
    printf("a burst of %d to a new origin: %d full handshake(s), %d resumed\n", IN_FLIGHT, full, resumed);
    CHECK(full >= 1 && full + resumed == IN_FLIGHT && resumed >= IN_FLIGHT - 10);
    http_engine_free(engine);
}

/* Connections opened ahead of a burst (as an experiment's pass does):
 * the probe first, then the rest resuming its session, all ready before
 * the burst goes out on them. */
static void test_prepared(void)
{
    enum { AHEAD = 300 }; /* more than the handshakes made at once (256): the rest follow as they end */
    setenv("SSL_CERT_FILE", server_path("ca"), 1); /* opened ahead: the environment's trust */
    struct http_engine *engine = http_engine_new(reactor);
    CHECK(engine != NULL);
    if (engine != NULL) {
        const char *session = url_to("good", "localhost", "/session");
        http_prepare(engine, session, NULL, AHEAD);
        CHECK(http_preparing(engine, session, NULL) > 0);
        for (int waited = 0; waited < 400 && http_preparing(engine, session, NULL) > 0; waited++)
            http_test_run_for(reactor, 50);
        CHECK(http_preparing(engine, session, NULL) == 0);
        static struct http_test_result results[AHEAD];
        struct http_request request = {.method = "GET", .url = session};
        http_test_completed = 0;
        for (int i = 0; i < AHEAD; i++)
            CHECK(http_send(engine, &request, http_test_on_done, &results[i]) == 0);
        CHECK(http_test_run_until(reactor, AHEAD, 60000) == 0);
        int resumed = 0;
        for (int i = 0; i < AHEAD; i++) {
            resumed += results[i].status == 200 && strcmp(results[i].body, "resumed") == 0;
            http_test_result_clear(&results[i]);
        }
        printf("%d connections opened ahead: %d resumed the probe's session\n", AHEAD, resumed);
        CHECK(resumed >= AHEAD - 3); /* the probe's own connection was a full handshake */
        http_engine_free(engine);
    }
    unsetenv("SSL_CERT_FILE");
}

/* Keep-alive, resumption, and servers that drop idle connections. */
static void test_connections(void)
{
    struct http_engine *engine = http_engine_new(reactor);
    CHECK(engine != NULL);
    if (engine == NULL)
        return;
    const char *ca = server_path("ca");
    struct http_test_result first = {0}, again = {0};
    struct http_request request = {.method = "GET", .url = url_to("good", "localhost", "/port"), .ca_file = ca};
    CHECK(http_test_fetch(reactor, engine, &request, &first) == 0 && first.status == 200);
    CHECK(http_test_fetch(reactor, engine, &request, &again) == 0 && again.status == 200);
    CHECK(first.body != NULL && again.body != NULL && strcmp(first.body, again.body) == 0); /* the same connection */
    http_test_result_clear(&first);
    http_test_result_clear(&again);

    /* The server closes after /drop (close_notify) and /cut (none): the
     * next request goes out on a new connection, which resumes. */
    static const char *const closers[] = {"/drop", "/cut"};
    for (size_t i = 0; i < 2; i++) {
        request.url = url_to("good", "localhost", closers[i]);
        CHECK(http_test_fetch(reactor, engine, &request, &first) == 0 && first.status == 200);
        http_test_result_clear(&first);
        http_test_run_for(reactor, 300); /* the idle connection's close is noticed */
        request.url = url_to("good", "localhost", "/session");
        CHECK(http_test_fetch(reactor, engine, &request, &first) == 0 && first.status == 200 &&
              strcmp(first.body, "resumed") == 0);
        http_test_result_clear(&first);
    }

    /* A request right after the server's close, before the loop saw it:
     * it may find the dying connection, and then goes out once more. */
    request.url = url_to("good", "localhost", "/drop");
    CHECK(http_test_fetch(reactor, engine, &request, &first) == 0 && first.status == 200);
    http_test_result_clear(&first);
    request.url = url_to("good", "localhost", "/hello");
    CHECK(http_test_fetch(reactor, engine, &request, &first) == 0 && first.status == 200 && first.error == NULL);
    http_test_result_clear(&first);

    /* A hundred at once: new connections, all resumed from the tickets the
     * earlier ones were given. */
    static struct http_test_result results[IN_FLIGHT];
    request.url = url_to("good", "localhost", "/session");
    struct http_request slow = request;
    slow.url = url_to("good", "localhost", "/sleep?ms=300");
    http_test_completed = 0;
    for (int i = 0; i < IN_FLIGHT; i++)
        CHECK(http_send(engine, &slow, http_test_on_done, &results[i]) == 0);
    CHECK(http_test_run_until(reactor, IN_FLIGHT, 60000) == 0);
    int ok = 0;
    for (int i = 0; i < IN_FLIGHT; i++) {
        ok += results[i].status == 200 && results[i].error == NULL;
        http_test_result_clear(&results[i]);
    }
    CHECK(ok == IN_FLIGHT);
    http_test_completed = 0;
    for (int i = 0; i < IN_FLIGHT; i++)
        CHECK(http_send(engine, &request, http_test_on_done, &results[i]) == 0);
    CHECK(http_test_run_until(reactor, IN_FLIGHT, 60000) == 0);
    int resumed = 0;
    for (int i = 0; i < IN_FLIGHT; i++) {
        resumed += results[i].status == 200 && results[i].body != NULL && strcmp(results[i].body, "resumed") == 0;
        http_test_result_clear(&results[i]);
    }
    printf("%d of %d connections resumed their TLS session\n", resumed, IN_FLIGHT);
    CHECK(resumed == IN_FLIGHT);
    http_engine_free(engine);
}

int main(void)
{
    http_test_server_deadline("test_tls", DEADLINE_S);
    unsetenv("SSL_CERT_FILE");
    unsetenv("SSL_CERT_DIR");
    if (http_test_server_start(TLS_TEST_SERVER) < 0 ||
        (server = json_loads(http_test_server_line, 0, NULL)) == NULL) {
        fprintf(stderr, "test_tls: the server (%s) did not start\n", TLS_TEST_SERVER);
        http_test_server_stop();
        CHECK(0);
        return check_report();
    }
    reactor = reactor_new();
    CHECK(reactor != NULL);
    if (reactor != NULL) {
        test_good_chain();
        test_bad_certificates();
        test_bad_servers_and_settings();
        test_probe();
        test_prepared();
        test_connections();
        reactor_free(reactor);
    }
    json_decref(server);
    http_test_server_stop();
    return check_report();
}
