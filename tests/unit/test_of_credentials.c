/* Unit tests for of_credentials: the gateway (explicit, OPENFAAS_URL,
 * faas-cli's default, normalised as faas-cli does), the credentials from
 * OPENFAAS_PASSWORD / OPENFAAS_USERNAME or faas-cli's config.yml (in
 * ~/.openfaas or OPENFAAS_CONFIG; the entry for our gateway among several,
 * quoted values, comments, other keys, nested options), which wins, and
 * the errors (no credentials, oauth2, a bad token, a line faas-cli would
 * not write). HOME and every variable are this process's own (setenv); the
 * files live in a temporary folder. Every password holds "s3cr3t": no
 * error and no description may contain it, nor its base64 form. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "home_sandbox.h"
#include "of_credentials.h"

#define ADMIN_TOKEN "YWRtaW46cGE1NS1zM2NyM3Q="   /* admin:pa55-s3cr3t */
#define ALICE_TOKEN "YWxpY2U6b3RoZXItczNjcjN0"   /* alice:other-s3cr3t */

static const char *home;
static char err[1024], description[1024];
static struct of_credentials *loaded;

static const char *const variables[] = {"OPENFAAS_URL", "OPENFAAS_PASSWORD", "OPENFAAS_USERNAME", "OPENFAAS_CONFIG",
                                        NULL};

static void clean(void)
{
    home_sandbox_unset(variables);
    char path[160];
    snprintf(path, sizeof path, "%s/.openfaas/config.yml", home);
    unlink(path);
    snprintf(path, sizeof path, "%s/elsewhere/config.yml", home);
    unlink(path);
}

static int load_with(const char *gateway)
{
    of_credentials_free(loaded);
    loaded = NULL;
    err[0] = description[0] = '\0';
    int status = of_credentials_load(gateway, &loaded, err, sizeof err);
    if (status == 0)
        of_credentials_describe(loaded, description, sizeof description);
    CHECK(strstr(err, "s3cr3t") == NULL && strstr(description, "s3cr3t") == NULL);
    CHECK(strstr(err, ADMIN_TOKEN) == NULL && strstr(err, ALICE_TOKEN) == NULL);
    if (status != 0 && getenv("TEST_VERBOSE"))
        fprintf(stderr, "error: %s\n", err);
    return status;
}

static const char *gateway_of(void)
{
    return loaded ? of_credentials_gateway(loaded) : "(not loaded)";
}

static const char *authorization_of(void)
{
    return loaded ? of_credentials_authorization(loaded) : "(not loaded)";
}

static void test_nothing_anywhere(void)
{
    clean();
    CHECK(load_with(NULL) == -1);
    CHECK(strstr(err, "no credentials for the OpenFaaS gateway http://127.0.0.1:8080 (from faas-cli's default)"));
    CHECK(strstr(err, "faas-cli login") != NULL && strstr(err, "OPENFAAS_PASSWORD") != NULL);
}

static void test_the_environment(void)
{
    clean();
    setenv("OPENFAAS_PASSWORD", "pa55-s3cr3t", 1);
    CHECK(load_with(NULL) == 0);
    CHECK(strcmp(gateway_of(), "http://127.0.0.1:8080") == 0);
    CHECK(strcmp(authorization_of(), "Basic " ADMIN_TOKEN) == 0);
    CHECK(strcmp(description, "user admin from OPENFAAS_PASSWORD; gateway http://127.0.0.1:8080 from faas-cli's "
                              "default") == 0);
    setenv("OPENFAAS_URL", "gateway.example:31112/", 1);
    setenv("OPENFAAS_USERNAME", "ops", 1);
    setenv("OPENFAAS_PASSWORD", "env-s3cr3t", 1);
    CHECK(load_with(NULL) == 0);
    CHECK(strcmp(gateway_of(), "http://gateway.example:31112") == 0);
    CHECK(strcmp(authorization_of(), "Basic b3BzOmVudi1zM2NyM3Q=") == 0);
    CHECK(strstr(description, "user ops from OPENFAAS_PASSWORD; gateway http://gateway.example:31112 from "
                              "OPENFAAS_URL") != NULL);
    CHECK(load_with("https://explicit.example//") == 0); /* the explicit setting wins over OPENFAAS_URL */
    CHECK(strcmp(gateway_of(), "https://explicit.example") == 0);
    CHECK(strstr(description, "from the explicit setting") != NULL);
}

static void test_faas_cli_config(void)
{
    clean();
    char folder[128];
    snprintf(folder, sizeof folder, "%s/.openfaas", home);
    mkdir(folder, 0700);
    home_sandbox_write(".openfaas/config.yml",
                       "# written by faas-cli login\n"
                       "auths:\n"
                       "- gateway: http://gateway.example:8080\n"
                       "  auth: basic\n"
                       "  token: " ALICE_TOKEN "\n"
                       "- gateway: \"http://127.0.0.1:8080/\"\n"
                       "  auth: 'basic'\n"
                       "  token: " ADMIN_TOKEN "\n"
                       "  options:\n"
                       "    scope: anything\n"
                       "services:\n"
                       "  something: else\n");
    CHECK(load_with(NULL) == 0);
    CHECK(strcmp(authorization_of(), "Basic " ADMIN_TOKEN) == 0);
    CHECK(strcmp(description, "user admin from ~/.openfaas/config.yml (auths); gateway http://127.0.0.1:8080 from "
                              "faas-cli's default") == 0);
    setenv("OPENFAAS_URL", "gateway.example:8080", 1);
    CHECK(load_with(NULL) == 0);
    CHECK(strcmp(authorization_of(), "Basic " ALICE_TOKEN) == 0);
    CHECK(strstr(description, "user alice from ~/.openfaas/config.yml (auths)") != NULL);
    CHECK(load_with("http://unknown.example") == -1); /* no entry for that gateway */
    CHECK(strstr(err, "no credentials for the OpenFaaS gateway http://unknown.example (from the explicit setting)"));
    setenv("OPENFAAS_PASSWORD", "env-s3cr3t", 1); /* the environment wins over the file */
    CHECK(load_with(NULL) == 0);
    CHECK(strcmp(authorization_of(), "Basic YWRtaW46ZW52LXMzY3IzdA==") == 0);
    unsetenv("OPENFAAS_PASSWORD");
    unsetenv("OPENFAAS_URL");

    /* list items indented under auths:, as other YAML writers put them */
    home_sandbox_write(".openfaas/config.yml", "auths:\n    - gateway: http://127.0.0.1:8080\n      auth: basic\n"
                                               "      token: " ADMIN_TOKEN "\n");
    CHECK(load_with(NULL) == 0);
    CHECK(strcmp(authorization_of(), "Basic " ADMIN_TOKEN) == 0);

    snprintf(folder, sizeof folder, "%s/elsewhere", home);
    mkdir(folder, 0700);
    setenv("OPENFAAS_CONFIG", folder, 1);
    CHECK(load_with(NULL) == -1); /* named but missing */
    CHECK(strstr(err, "OPENFAAS_CONFIG names a folder without config.yml") != NULL);
    home_sandbox_write("elsewhere/config.yml", "auths:\n- gateway: http://127.0.0.1:8080\n  auth: basic\n  token: "
                                               ALICE_TOKEN "\n");
    CHECK(load_with(NULL) == 0);
    CHECK(strcmp(authorization_of(), "Basic " ALICE_TOKEN) == 0);
    CHECK(strstr(description, "from ~/elsewhere/config.yml (auths)") != NULL);
    rmdir(folder);
}

static void test_bad_input(void)
{
    clean();
    home_sandbox_write(".openfaas/config.yml", "auths:\n- gateway: http://127.0.0.1:8080\n  auth: oauth2\n  token: "
                                               "eyJ-s3cr3t\n");
    CHECK(load_with(NULL) == -1);
    CHECK(strstr(err, "auth: oauth2") != NULL && strstr(err, "Basic auth only") != NULL);
    home_sandbox_write(".openfaas/config.yml", "auths:\n- gateway: http://127.0.0.1:8080\n  auth: basic\n  token: "
                                               "not*base64*s3cr3t\n");
    CHECK(load_with(NULL) == -1);
    CHECK(strstr(err, "is not base64 of user:password") != NULL);
    home_sandbox_write(".openfaas/config.yml", "auths:\n- gateway: http://127.0.0.1:8080\n  auth: basic\n  token: "
                                               "czNjcjN0\n"); /* "s3cr3t": no user */
            CHECK(load_with(NULL) == -1);
    CHECK(strstr(err, "is not base64 of user:password") != NULL);
    home_sandbox_write(".openfaas/config.yml", "auths:\n- gateway: http://127.0.0.1:8080\ntoken s3cr3t\n");
    CHECK(load_with(NULL) == -1);
    CHECK(strstr(err, "~/.openfaas/config.yml line 3: not the YAML faas-cli writes") != NULL);
    home_sandbox_write(".openfaas/config.yml", "auths:\n  token: s3cr3t\n");
    CHECK(load_with(NULL) == -1);
    CHECK(strstr(err, "line 2: not the YAML faas-cli writes") != NULL);
    setenv("OPENFAAS_URL", "http://a gateway", 1);
    CHECK(load_with(NULL) == -1);
    CHECK(strstr(err, "the OpenFaaS gateway from OPENFAAS_URL is not a URL") != NULL);
    unsetenv("OPENFAAS_URL");
    setenv("OPENFAAS_PASSWORD", "pa55-s3cr3t", 1);
    setenv("OPENFAAS_USERNAME", "a:b", 1);
    CHECK(load_with(NULL) == -1);
    CHECK(strstr(err, "the OpenFaaS user from OPENFAAS_PASSWORD is not a user name") != NULL);
}

int main(void)
{
    home = home_sandbox_start("of-credentials");
    test_nothing_anywhere();
    test_the_environment();
    test_faas_cli_config();
    test_bad_input();
    of_credentials_free(loaded);
    home_sandbox_remove();
    return check_report();
}
