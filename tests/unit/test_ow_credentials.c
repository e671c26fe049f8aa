/* Unit tests for ow_credentials: ~/.wskprops and WSK_CONFIG_FILE, the
 * __OW_* environment, explicit settings, the order between them (per
 * setting), the API host made an https URL as wsk makes it, the default
 * namespace, the Basic header, the file's syntax, and the errors; an IBM
 * Cloud API key (iam_apikey_file=, IBMCLOUD_API_KEY, IC_API_KEY) in its
 * place in that order, its namespace ID required and IAM's token URL. HOME and
 * every variable are this process's own (setenv); the files live in a
 * temporary folder. Every key used holds "s3cr3t": no error and no
 * description may contain it. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "home_sandbox.h"
#include "ow_credentials.h"

#define UUID "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
#define KEY UUID ":123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP-s3cr3t"
#define KEY_BASE64                                                                                             \
    "MjNiYzQ2YjEtNzFmNi00ZWQ1LThjNTQtODE2YWE0ZjhjNTAyOjEyM3pPM3haQ0xyTU42djJCS0sxZFhZRnBYbFBrY2NPRnFtMTJDZEFzTWdS" \
    "VTRWck5aOWx5R1ZDR3VNREdJd1AtczNjcjN0"
#define OTHER_KEY "0b9e5a2c-0000-4000-8000-000000000001:other-s3cr3t-key"

static const char *home;
static char err[1024], description[1024];
static struct ow_credentials *loaded;

#define APIKEY "Ab3xYz-0123456789_abcdefghIJKLMNOP-s3cr3t"

static const char *const variables[] = {"__OW_API_HOST", "__OW_API_KEY", "__OW_NAMESPACE", "WSK_CONFIG_FILE",
                                        "IBMCLOUD_API_KEY", "IC_API_KEY", "IBMCLOUD_IAM_API_ENDPOINT", NULL};

static void clean(void)
{
    home_sandbox_unset(variables);
    char path[128];
    snprintf(path, sizeof path, "%s/.wskprops", home);
    unlink(path);
    snprintf(path, sizeof path, "%s/other.props", home);
    unlink(path);
    snprintf(path, sizeof path, "%s/apikey.json", home);
    unlink(path);
}

static int load_options(const struct ow_credentials_options *options)
{
    ow_credentials_free(loaded);
    loaded = NULL;
    err[0] = description[0] = '\0';
    int status = ow_credentials_load(options, &loaded, err, sizeof err);
    if (status == 0)
        ow_credentials_describe(loaded, description, sizeof description);
    CHECK(strstr(err, "s3cr3t") == NULL);
    CHECK(strstr(description, "s3cr3t") == NULL);
    if (status != 0 && getenv("TEST_VERBOSE"))
        fprintf(stderr, "error: %s\n", err);
    return status;
}

static int load_with(const char *apihost, const char *auth, const char *ns)
{
    struct ow_credentials_options options = {apihost, auth, ns, NULL, NULL};
    return load_options(&options);
}

static int load(void)
{
    return load_with(NULL, NULL, NULL);
}

/* Accessors that survive a failed load, so that a failure is reported, not a crash. */
static const char *apihost_of(void)
{
    return loaded ? ow_credentials_apihost(loaded) : "(not loaded)";
}

static const char *namespace_of(void)
{
    return loaded ? ow_credentials_namespace(loaded) : "(not loaded)";
}

static const char *authorization_of(void)
{
    return loaded ? ow_credentials_authorization(loaded) : "(not loaded)";
}

static void test_nothing_anywhere(void)
{
    clean();
    CHECK(load() == -1);
    CHECK(strstr(err, "no OpenWhisk API host") != NULL);
    CHECK(strstr(err, "__OW_API_HOST") != NULL && strstr(err, "~/.wskprops") != NULL);
    home_sandbox_write(".wskprops", "APIHOST=openwhisk.example\n");
    CHECK(load() == -1);
    CHECK(strstr(err, "no OpenWhisk key") != NULL && strstr(err, "__OW_API_KEY") != NULL);
}

static void test_wskprops(void)
{
    clean();
    home_sandbox_write(".wskprops", "# written by wsk\n\nAPIHOST = us-south.functions.cloud.ibm.com \r\n"
                                    "AUTH=" OTHER_KEY "\nAPIGW_ACCESS_TOKEN=not-used\nAUTH=" KEY "\n");
    CHECK(load() == 0);
    CHECK(strcmp(apihost_of(), "https://us-south.functions.cloud.ibm.com") == 0);
    CHECK(strcmp(namespace_of(), "_") == 0);
    CHECK(strcmp(authorization_of(), "Basic " KEY_BASE64) == 0);
    CHECK(strstr(description, "key " UUID " from ~/.wskprops (AUTH)") != NULL);
    CHECK(strstr(description, "from ~/.wskprops (APIHOST)") != NULL);
    CHECK(strstr(description, "namespace _ from the default") != NULL);
    CHECK(strstr(description, "123zO3x") == NULL);

    home_sandbox_write(".wskprops", "APIHOST=http://127.0.0.1:3233/\nAUTH=" KEY "\nNAMESPACE=guest\n");
    CHECK(load() == 0);
    CHECK(strcmp(apihost_of(), "http://127.0.0.1:3233") == 0);
    CHECK(strcmp(namespace_of(), "guest") == 0);
    CHECK(strstr(description, "namespace guest from ~/.wskprops (NAMESPACE)") != NULL);

    home_sandbox_write(".wskprops", "APIHOST=https://openwhisk.example:8443\nAUTH=" KEY "\n");
    CHECK(load() == 0);
    CHECK(strcmp(apihost_of(), "https://openwhisk.example:8443") == 0);
}

static void test_wsk_config_file(void)
{
    clean();
    home_sandbox_write(".wskprops", "APIHOST=home.example\nAUTH=" OTHER_KEY "\n");
    home_sandbox_write("other.props", "APIHOST=other.example\nAUTH=" KEY "\n");
    char path[128];
    snprintf(path, sizeof path, "%s/other.props", home);
    setenv("WSK_CONFIG_FILE", path, 1);
    CHECK(load() == 0);
    CHECK(strcmp(apihost_of(), "https://other.example") == 0);
    CHECK(strcmp(authorization_of(), "Basic " KEY_BASE64) == 0);
    CHECK(strstr(description, "~/other.props (AUTH)") != NULL);
    snprintf(path, sizeof path, "%s/missing.props", home);
    setenv("WSK_CONFIG_FILE", path, 1);
    CHECK(load() == -1);
    CHECK(strstr(err, "WSK_CONFIG_FILE") != NULL && strstr(err, "missing.props") != NULL);
}

static void test_environment_and_explicit(void)
{
    clean();
    home_sandbox_write(".wskprops", "APIHOST=file.example\nAUTH=" OTHER_KEY "\nNAMESPACE=from-file\n");
    setenv("__OW_API_KEY", KEY, 1);
    CHECK(load() == 0);
    CHECK(strcmp(authorization_of(), "Basic " KEY_BASE64) == 0);
    CHECK(strstr(description, "from __OW_API_KEY") != NULL);
    CHECK(strcmp(apihost_of(), "https://file.example") == 0); /* each setting on its own */
    setenv("__OW_API_HOST", "env.example", 1);
    setenv("__OW_NAMESPACE", "from-env", 1);
    CHECK(load() == 0);
    CHECK(strcmp(apihost_of(), "https://env.example") == 0 && strcmp(namespace_of(), "from-env") == 0);
    CHECK(load_with("explicit.example/", NULL, "explicit-ns") == 0);
    CHECK(strcmp(apihost_of(), "https://explicit.example") == 0);
    CHECK(strcmp(namespace_of(), "explicit-ns") == 0);
    CHECK(strstr(description, "from the explicit setting") != NULL);
    CHECK(load_with(NULL, OTHER_KEY, NULL) == 0);
    CHECK(strstr(description, "key 0b9e5a2c-0000-4000-8000-000000000001 from the explicit setting") != NULL);

    /* everything from the environment: the file is not read, so a broken one does not matter */
    home_sandbox_write(".wskprops", "this line is not a setting s3cr3t\n");
    CHECK(load() == 0);
    CHECK(load_with("", "", "") == 0); /* empty explicit values are not given */
    CHECK(strcmp(namespace_of(), "from-env") == 0);
}

static void test_bad_input(void)
{
    clean();
    home_sandbox_write(".wskprops", "APIHOST=openwhisk.example\nAUTH " KEY "\n");
    CHECK(load() == -1);
    CHECK(strstr(err, "~/.wskprops line 2") != NULL);
    home_sandbox_write(".wskprops", "APIHOST=openwhisk.example\nAUTH=no-colon-s3cr3t\n");
    CHECK(load() == -1);
    CHECK(strstr(err, "not UUID:KEY") != NULL && strstr(err, "~/.wskprops (AUTH)") != NULL);
    home_sandbox_write(".wskprops", "APIHOST=openwhisk.example\nAUTH=:s3cr3t\n");
    CHECK(load() == -1);
    home_sandbox_write(".wskprops", "APIHOST=openwhisk.example\nAUTH=" KEY "\nNAMESPACE=a/b\n");
    CHECK(load() == -1);
    CHECK(strstr(err, "namespace") != NULL);
    home_sandbox_write(".wskprops", "APIHOST=https://\nAUTH=" KEY "\n");
    CHECK(load() == -1);
    CHECK(strstr(err, "API host") != NULL);
    home_sandbox_write(".wskprops", "APIHOST=open whisk\nAUTH=" KEY "\n");
    CHECK(load() == -1);
    char folder[128];
    snprintf(folder, sizeof folder, "%s/.wskprops", home);
    unlink(folder);
    CHECK(mkdir(folder, 0700) == 0);
    CHECK(load() == -1);
    CHECK(strstr(err, "not a regular file") != NULL);
    rmdir(folder);
    setenv("WSK_CONFIG_FILE", "/dev/null", 1);
    setenv("__OW_API_HOST", "openwhisk.example", 1);
    setenv("__OW_API_KEY", KEY, 1);
    CHECK(load() == 0);
}

static const char *apikey_of(void)
{
    return loaded && ow_credentials_apikey(loaded) ? ow_credentials_apikey(loaded) : "(none)";
}

static void test_iam_api_key(void)
{
    clean();
    home_sandbox_write(".wskprops", "APIHOST=us-south.functions.cloud.ibm.com\nAUTH=" KEY "\n");
    setenv("IBMCLOUD_API_KEY", APIKEY, 1);
    CHECK(load() == -1); /* the environment before the file: IAM, which needs the namespace's ID */
    CHECK(strstr(err, "namespace=ID") != NULL && strstr(err, "IBMCLOUD_API_KEY") != NULL);
    setenv("__OW_NAMESPACE", "0c4e4f4e-ns-id", 1);
    CHECK(load() == 0);
    CHECK(strcmp(apikey_of(), APIKEY) == 0 && authorization_of() == NULL);
    CHECK(strcmp(ow_credentials_apikey_from(loaded), "IBMCLOUD_API_KEY") == 0);
    CHECK(strcmp(ow_credentials_token_url(loaded), "https://iam.cloud.ibm.com/identity/token") == 0);
    CHECK(strstr(description, "IBM Cloud API key from IBMCLOUD_API_KEY (IAM at https://iam.cloud.ibm.com/identity/"
                              "token)") != NULL);
    CHECK(strstr(description, "namespace 0c4e4f4e-ns-id from __OW_NAMESPACE") != NULL);

    unsetenv("IBMCLOUD_API_KEY");
    setenv("IC_API_KEY", APIKEY, 1);
    setenv("IBMCLOUD_IAM_API_ENDPOINT", "http://127.0.0.1:9/", 1);
    CHECK(load() == 0 && strcmp(ow_credentials_apikey_from(loaded), "IC_API_KEY") == 0);
    CHECK(strcmp(ow_credentials_token_url(loaded), "http://127.0.0.1:9/identity/token") == 0);
    setenv("__OW_API_KEY", KEY, 1); /* OpenWhisk's own variable first */
    CHECK(load() == 0 && ow_credentials_apikey(loaded) == NULL);
    CHECK(strcmp(authorization_of(), "Basic " KEY_BASE64) == 0);

    /* the explicit file first: ibmcloud's JSON, or the key alone; the explicit endpoint over the variable */
    home_sandbox_write("apikey.json",
                       "{\"name\": \"faaset\", \"description\": \"\", \"createdAt\": \"2026-12-06T04:00+0000\", "
                       "\"apikey\": \"" APIKEY "\"}\n");
    char path[128];
    snprintf(path, sizeof path, "%s/apikey.json", home);
    struct ow_credentials_options options = {NULL, NULL, NULL, path, "https://iam.test.cloud.ibm.com/identity/token"};
    CHECK(load_options(&options) == 0 && strcmp(apikey_of(), APIKEY) == 0);
    CHECK(strcmp(ow_credentials_apikey_from(loaded), "~/apikey.json (iam_apikey_file=)") == 0);
    CHECK(strcmp(ow_credentials_token_url(loaded), "https://iam.test.cloud.ibm.com/identity/token") == 0);
    home_sandbox_write("apikey.json", "\n  " APIKEY "  \n");
    CHECK(load_options(&options) == 0 && strcmp(apikey_of(), APIKEY) == 0);
    options.iam_apikey_file = "~/apikey.json"; /* the home's, as in a shell */
    CHECK(load_options(&options) == 0 && strcmp(apikey_of(), APIKEY) == 0);
    CHECK(strcmp(ow_credentials_apikey_from(loaded), "~/apikey.json (iam_apikey_file=)") == 0);
    options.iam_apikey_file = path;

    /* what is wrong is said without the file's text */
    home_sandbox_write("apikey.json", "{\"apikey\": \"\", \"note\": \"s3cr3t\"}");
    CHECK(load_options(&options) == -1 && strstr(err, "holds no API key") != NULL);
    home_sandbox_write("apikey.json", "two words s3cr3t");
    CHECK(load_options(&options) == -1 && strstr(err, "~/apikey.json") != NULL);
    snprintf(path, sizeof path, "%s/missing.json", home);
    CHECK(load_options(&options) == -1 && strstr(err, "cannot read iam_apikey_file=~/missing.json") != NULL);
    snprintf(path, sizeof path, "%s/apikey.json", home);
    home_sandbox_write("apikey.json", APIKEY);
    options.iam_endpoint = "iam.cloud.ibm.com";
    CHECK(load_options(&options) == -1 && strstr(err, "not an http:// or https:// URL") != NULL);
}

int main(void)
{
    home = home_sandbox_start("ow-credentials");
    test_nothing_anywhere();
    test_wskprops();
    test_wsk_config_file();
    test_environment_and_explicit();
    test_bad_input();
    test_iam_api_key();
    ow_credentials_free(loaded);
    home_sandbox_remove();
    return check_report();
}
