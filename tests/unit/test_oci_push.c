/* Unit tests for oci_push's references (the pushes themselves run against
 * a real registry in tests/images): Docker Hub's short names, hosts with
 * ports and schemes, tags and digests, and the sentence for what is not a
 * reference; and a push that cannot start says why without reporting. */
#include <string.h>

#include "check.h"
#include "oci_push.h"

static int parsed(const char *text, const char *host, const char *repository, const char *reference)
{
    struct oci_reference r;
    char err[256];
    return oci_reference_parse(text, &r, err, sizeof err) == 0 && strcmp(r.host, host) == 0 &&
           strcmp(r.repository, repository) == 0 && strcmp(r.reference, reference) == 0;
}

static void never_called(void *ctx, const struct oci_push_result *result)
{
    (void)result;
    *(int *)ctx = 1;
}

int main(void)
{
    CHECK(parsed("python", "registry-1.docker.io", "library/python", "latest"));
    CHECK(parsed("python:3.12", "registry-1.docker.io", "library/python", "3.12"));
    CHECK(parsed("docker.io/me/app:v1", "registry-1.docker.io", "me/app", "v1"));
    CHECK(parsed("public.ecr.aws/lambda/python:3.12", "public.ecr.aws", "lambda/python", "3.12"));
    CHECK(parsed("127.0.0.1:5000/base/tiny:1", "127.0.0.1:5000", "base/tiny", "1"));
    CHECK(parsed("localhost/x", "localhost", "x", "latest"));
    CHECK(parsed("http://1.dkr.ecr.us-east-1.amazonaws.com/team/f:abc", "http://1.dkr.ecr.us-east-1.amazonaws.com",
                 "team/f", "abc"));
    const char *digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char text[200];
    snprintf(text, sizeof text, "host:5000/a/b:tag@%s", digest);
    CHECK(parsed(text, "host:5000", "a/b", digest));

    struct oci_reference r;
    char err[256];
    const char *bad[] = {"", "Upper/Case", "host/a b", "host/repo@md5:00", "host/repo:", "host//x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK(oci_reference_parse(bad[i], &r, err, sizeof err) == -1 && strstr(err, "is not an image reference") != NULL);
    }

    struct reactor *reactor = reactor_new();
    int called = 0;
    struct oci_push_request request = {.base = "127.0.0.1:1/base:1", .target = "127.0.0.1:1/x@sha256:00",
                                       .source = "def f(request, context):\n    return 1\n", .function = "f"};
    CHECK(oci_push_start(reactor, &request, never_called, &called, err, sizeof err) == NULL);
    CHECK(strstr(err, "is not an image reference") != NULL);
    snprintf(text, sizeof text, "127.0.0.1:1/x@%s", digest);
    request.target = text;
    CHECK(oci_push_start(reactor, &request, never_called, &called, err, sizeof err) == NULL);
    CHECK(strstr(err, "the registry to push to is written with a digest") == err);
    request.target = "127.0.0.1:1/x:1";
    request.deps_dir = "/nonexistent/deps";
    CHECK(oci_push_start(reactor, &request, never_called, &called, err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot read /nonexistent/deps for the image") == err);
    CHECK(called == 0);
    reactor_free(reactor);
    return check_report();
}
