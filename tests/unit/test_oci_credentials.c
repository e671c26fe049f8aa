/* Unit tests for oci_credentials: the order of the sources
 * (REGISTRY_AUTH_FILE, DOCKER_CONFIG's config.json, podman's auth.json),
 * `auths` keys written with a scheme or a path, `auth` and
 * `identitytoken`, a credential helper run for the host (and "not found"
 * taken as none), the sentences for a broken file and a missing helper,
 * what "none" says it looked at, ECR host names, and no secret in a
 * source text; a helper runs on the loop: a slow one leaves the loop's
 * timers running while it works. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "oci_credentials.h"
#include "reactor.h"

static char folder[] = "/tmp/faaset-oci-credentials-XXXXXX";
static struct reactor *loop;
static int ticks;                         /* the loop's 10 ms timer, counted while a helper runs */

static void on_answer(void *ctx, struct oci_helper_answer *answer)
{
    struct oci_helper_answer *out = ctx;
    *out = *answer;
}

static void on_tick(void *ctx)
{
    (void)ctx;
    ticks++;
    reactor_timer(loop, 10, on_tick, NULL);
}

/* oci_credentials_find, its helper run on the loop as the kernel runs it. */
static int find(const char *host, struct oci_credentials *out, char *err, size_t err_size)
{
    struct oci_helper_answer answer = {0};
    int rc = oci_credentials_find(host, NULL, out, err, err_size);
    if (rc != OCI_CREDENTIALS_HELPER)
        return rc;
    CHECK(oci_credentials_helper_start(loop, out->helper, host, on_answer, &answer) != NULL);
    long long deadline = clock_mono_ms() + 20000;
    while (answer.program[0] == '\0' && clock_mono_ms() < deadline) {
        int wait = reactor_run_timers(loop);
        reactor_wait(loop, wait < 0 || wait > 50 ? 50 : wait);
    }
    rc = oci_credentials_find(host, &answer, out, err, err_size);
    oci_helper_answer_clear(&answer);
    return rc;
}

static void write_file(const char *name, const char *text, int executable)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, executable ? 0700 : 0600);
}

static void set_path(const char *variable, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s%s", folder, name[0] ? "/" : "", name);
    setenv(variable, path, 1);
}

int main(void)
{
    CHECK(mkdtemp(folder) != NULL);
    loop = reactor_new();
    unsetenv("REGISTRY_AUTH_FILE");
    unsetenv("XDG_RUNTIME_DIR");
    set_path("HOME", "");
    set_path("DOCKER_CONFIG", "");
    struct oci_credentials c;
    char err[512];

    /* nothing anywhere: none, saying where it looked */
    CHECK(find("registry.example.com", &c, err, sizeof err) == 0);
    CHECK(strcmp(c.source, "looked in DOCKER_CONFIG/config.json") == 0);

    /* auth: base64 of user:password ("alice:s3cret:with:colons"), the key written as a URL */
    write_file("config.json", "{\"auths\": {\"https://registry.example.com/v1/\": "
                              "{\"auth\": \"YWxpY2U6czNjcmV0OndpdGg6Y29sb25z\"}}}", 0);
    CHECK(find("registry.example.com", &c, err, sizeof err) == 1);
    CHECK(strcmp(c.username, "alice") == 0 && strcmp(c.password, "s3cret:with:colons") == 0);
    CHECK(strstr(c.source, "DOCKER_CONFIG's config.json (") == c.source && strstr(c.source, "s3cret") == NULL);
    oci_credentials_clear(&c);
    CHECK(c.username == NULL && c.password == NULL);
    /* another host, or a host that only starts the same, has none */
    CHECK(find("registry.example.co", &c, err, sizeof err) == 0);

    /* identitytoken */
    write_file("config.json", "{\"auths\": {\"registry.example.com\": {\"identitytoken\": \"refresh-me\"}}}", 0);
    CHECK(find("registry.example.com", &c, err, sizeof err) == 1);
    CHECK(c.identity_token != NULL && strcmp(c.identity_token, "refresh-me") == 0 && c.password == NULL);
    oci_credentials_clear(&c);

    /* a credential helper named for the host; "not found" from it is none */
    write_file("docker-credential-faasettest",
               "#!/bin/sh\nread host\n[ \"$host\" = registry.example.com ] || "
               "{ echo 'credentials not found in native keychain'; exit 1; }\n"
               "echo '{\"Username\":\"helper-user\",\"Secret\":\"helper-secret\"}'\n", 1);
    write_file("docker-credential-tokens", "#!/bin/sh\necho '{\"Username\":\"<token>\",\"Secret\":\"tok\"}'\n", 1);
    char path[1024];
    snprintf(path, sizeof path, "%s:%s", folder, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", path, 1);
    write_file("config.json", "{\"credHelpers\": {\"registry.example.com\": \"faasettest\", "
                              "\"other.example.com\": \"faasettest\", \"token.example.com\": \"tokens\"}}", 0);
    CHECK(find("registry.example.com", &c, err, sizeof err) == 1);
    CHECK(strcmp(c.username, "helper-user") == 0 && strcmp(c.password, "helper-secret") == 0);
    CHECK(strstr(c.source, "the credential helper docker-credential-faasettest (named in DOCKER_CONFIG") == c.source);
    oci_credentials_clear(&c);
    CHECK(find("other.example.com", &c, err, sizeof err) == 0);
    CHECK(find("token.example.com", &c, err, sizeof err) == 1);
    CHECK(c.identity_token != NULL && strcmp(c.identity_token, "tok") == 0);
    oci_credentials_clear(&c);
    write_file("config.json", "{\"credsStore\": \"absent-helper\"}", 0);
    CHECK(find("registry.example.com", &c, err, sizeof err) == -1);
    CHECK(strcmp(err, "the Docker config names the credential helper docker-credential-absent-helper, which cannot "
                      "be run (No such file or directory): install it or remove it from the config") == 0);

    /* a broken file, and a bad auth */
    write_file("config.json", "{\"auths\": ", 0);
    CHECK(find("registry.example.com", &c, err, sizeof err) == -1);
    CHECK(strstr(err, "config.json) is not valid JSON (line 1): fix or remove it") != NULL);
    write_file("config.json", "{\"auths\": {\"registry.example.com\": {\"auth\": \"bm9jb2xvbg==\"}}}", 0);
    CHECK(find("registry.example.com", &c, err, sizeof err) == -1);
    CHECK(strstr(err, "has an `auth` for registry.example.com that is not base64 of user:password") != NULL);

    /* REGISTRY_AUTH_FILE comes first, then Docker's, then podman's auth.json */
    write_file("config.json", "{\"auths\": {\"registry.example.com\": {\"auth\": \"ZG9ja2VyOnB3\"}}}", 0);
    write_file("auth.json", "{\"auths\": {\"registry.example.com\": {\"auth\": \"cG9kbWFuOnB3\"}}}", 0);
    set_path("REGISTRY_AUTH_FILE", "auth.json");
    CHECK(find("registry.example.com", &c, err, sizeof err) == 1);
    CHECK(strcmp(c.username, "podman") == 0 && strstr(c.source, "REGISTRY_AUTH_FILE (") == c.source);
    oci_credentials_clear(&c);
    set_path("REGISTRY_AUTH_FILE", "missing.json");
    CHECK(find("registry.example.com", &c, err, sizeof err) == -1);
    CHECK(strstr(err, "missing.json, which does not exist: log in with `podman login` or unset it") != NULL);
    unsetenv("REGISTRY_AUTH_FILE");
    CHECK(find("registry.example.com", &c, err, sizeof err) == 1 && strcmp(c.username, "docker") == 0);
    oci_credentials_clear(&c);
    char runtime[600];
    snprintf(runtime, sizeof runtime, "%s/containers", folder);
    mkdir(runtime, 0700);
    write_file("containers/auth.json", "{\"auths\": {\"xdg.example.com\": {\"auth\": \"eGRnOnB3\"}}}", 0);
    set_path("XDG_RUNTIME_DIR", "");
    CHECK(find("xdg.example.com", &c, err, sizeof err) == 1 && strcmp(c.username, "xdg") == 0);
    CHECK(strcmp(c.source, "${XDG_RUNTIME_DIR}/containers/auth.json") == 0);
    oci_credentials_clear(&c);
    CHECK(find("nobody.example.com", &c, err, sizeof err) == 0);
    CHECK(strcmp(c.source, "looked in DOCKER_CONFIG/config.json, ${XDG_RUNTIME_DIR}/containers/auth.json") == 0);

    /* a slow helper runs while the loop goes on: its timers fire meanwhile */
    write_file("docker-credential-slow", "#!/bin/sh\nsleep 1\necho '{\"Username\":\"slow\",\"Secret\":\"s\"}'\n", 1);
    write_file("config.json", "{\"credsStore\": \"slow\"}", 0);
    unsetenv("XDG_RUNTIME_DIR");
    reactor_timer(loop, 10, on_tick, NULL);
    CHECK(find("slow.example.com", &c, err, sizeof err) == 1 && strcmp(c.username, "slow") == 0);
    CHECK(ticks >= 20);
    oci_credentials_clear(&c);

    /* ECR host names */
    char account[64], region[64];
    CHECK(oci_credentials_is_ecr("123456789012.dkr.ecr.eu-west-1.amazonaws.com", account, sizeof account, region,
                                 sizeof region) == 1);
    CHECK(strcmp(account, "123456789012") == 0 && strcmp(region, "eu-west-1") == 0);
    CHECK(oci_credentials_is_ecr("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", account, sizeof account, region,
                                 sizeof region) == 1);
    CHECK(oci_credentials_is_ecr("public.ecr.aws", account, sizeof account, region, sizeof region) == 0);
    CHECK(oci_credentials_is_ecr("1.dkr.ecr.us-east-1.amazonaws.com.evil.com", account, sizeof account, region,
                                 sizeof region) == 0);

    snprintf(path, sizeof path, "rm -rf '%s'", folder);
    CHECK(system(path) == 0);
    reactor_free(loop);
    return check_report();
}
