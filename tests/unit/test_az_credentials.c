/* Unit tests for az_credentials: the service principal from AZURE_CLIENT_ID
 * / AZURE_CLIENT_SECRET / AZURE_TENANT_ID, the publish profile (the MSDeploy
 * profile chosen, XML entities decoded, the Basic header, its app and
 * hosts), the settings' order (explicit, environment, profile), the URL
 * patterns, the errors, and Entra ID's refusals as sentences. HOME and
 * every variable are this process's own (setenv); files live in a
 * temporary folder. Every secret holds "s3cr3t": no error and no
 * description may contain it. */
#include <stdlib.h>
#include <string.h>

#include "az_credentials.h"
#include "check.h"
#include "home_sandbox.h"

#define CLIENT "0f1e2d3c-aaaa-4bbb-8ccc-000000000001"
#define TENANT "contoso.onmicrosoft.com"
#define SECRET "client~s3cr3t~value"
/* userPWD "pw&s3cr3t<x" written with entities; user "$hello" */
#define PROFILE                                                                                                 \
    "<publishData>"                                                                                             \
    "<publishProfile profileName=\"hello - Zip Deploy\" publishMethod=\"ZipDeploy\" "                           \
    "publishUrl=\"zip.scm.azurewebsites.net:443\" userName=\"$zipuser\" userPWD=\"zip-s3cr3t\" />"              \
    "<publishProfile profileName=\"hello - Web Deploy\" publishMethod=\"MSDeploy\" "                            \
    "publishUrl=\"hello.scm.azurewebsites.net:443\" msdeploySite=\"hello\" userName=\"$hello\" "                \
    "userPWD='pw&amp;s3cr3t&lt;x' destinationAppUrl=\"http://hello.azurewebsites.net\"><databases /></publishProfile>" \
    "</publishData>"

static const char *home;
static char err[1024], description[2048];
static struct az_credentials *loaded;

static const char *const variables[] = {"AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID",
                                        "AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZURE_PUBLISH_PROFILE",
                                        "AZURE_AUTHORITY_HOST", "FAASET_AZURE_MANAGEMENT_URL", "FAASET_AZURE_APP_URL",
                                        "FAASET_AZURE_SCM_URL", NULL};

static void clean(void)
{
    home_sandbox_unset(variables);
}

static void principal(void)
{
    setenv("AZURE_CLIENT_ID", CLIENT, 1);
    setenv("AZURE_CLIENT_SECRET", SECRET, 1);
    setenv("AZURE_TENANT_ID", TENANT, 1);
}

static int load_with(const struct az_credentials_options *options)
{
    az_credentials_free(loaded);
    loaded = NULL;
    err[0] = description[0] = '\0';
    int status = az_credentials_load(options, &loaded, err, sizeof err);
    if (status == 0)
        az_credentials_describe(loaded, description, sizeof description);
    CHECK(strstr(err, "s3cr3t") == NULL);
    CHECK(strstr(description, "s3cr3t") == NULL);
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "error: %s\ndescription: %s\n", err, description);
    return status;
}

static int load(void)
{
    return load_with(NULL);
}

static void test_nothing_and_incomplete(void)
{
    clean();
    CHECK(load() < 0);
    CHECK(strstr(err, "no Azure credentials") && strstr(err, "AZURE_CLIENT_ID") && strstr(err, "publish_profile="));
    setenv("AZURE_CLIENT_ID", CLIENT, 1);
    setenv("AZURE_CLIENT_SECRET", SECRET, 1);
    CHECK(load() < 0);
    CHECK(strstr(err, "incomplete") && strstr(err, "set AZURE_TENANT_ID too"));
    setenv("AZURE_TENANT_ID", "bad tenant/x", 1);
    CHECK(load() < 0 && strstr(err, "AZURE_TENANT_ID is not a tenant"));
    clean();
}

static void test_principal(void)
{
    clean();
    principal();
    setenv("AZURE_SUBSCRIPTION_ID", "00000000-1111-2222-3333-444444444444", 1);
    setenv("AZURE_RESOURCE_GROUP", "envgroup", 1);
    CHECK(load() == 0);
    CHECK(loaded && az_credentials_has_principal(loaded));
    CHECK(loaded && az_credentials_kudu_basic(loaded) == NULL);
    CHECK(loaded && strcmp(az_credentials_subscription(loaded), "00000000-1111-2222-3333-444444444444") == 0);
    CHECK(loaded && strcmp(az_credentials_resource_group(loaded), "envgroup") == 0);
    CHECK(loaded && az_credentials_app(loaded) == NULL);
    CHECK(loaded && strcmp(az_credentials_management(loaded), "https://management.azure.com") == 0);
    CHECK(strstr(description, "service principal " CLIENT " (AZURE_CLIENT_ID) of tenant " TENANT) != NULL);
    CHECK(strstr(description, " at https://login.microsoftonline.com (the default);") != NULL);
    CHECK(strstr(description, "(AZURE_SUBSCRIPTION_ID)") && strstr(description, "envgroup (AZURE_RESOURCE_GROUP)"));
    CHECK(strstr(description, "app (each function's own name)") != NULL);
    char *url = loaded ? az_credentials_app_url(loaded, "hello") : NULL;
    CHECK(url && strcmp(url, "https://hello.azurewebsites.net") == 0);
    free(url);
    url = loaded ? az_credentials_scm_url(loaded, "hello") : NULL;
    CHECK(url && strcmp(url, "https://hello.scm.azurewebsites.net") == 0);
    free(url);
    /* explicit settings win over the environment; the authority and the patterns come from variables */
    setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/", 1);
    setenv("FAASET_AZURE_APP_URL", "http://127.0.0.1:9/{app}.azurewebsites.net/", 1);
    setenv("FAASET_AZURE_SCM_URL", "http://127.0.0.1:9/{app}.scm.azurewebsites.net", 1);
    struct az_credentials_options options = {.subscription = "explicit-sub", .resource_group = "rg", .app = "myapp",
                                             .management = "http://127.0.0.1:9/"};
    CHECK(load_with(&options) == 0);
    CHECK(loaded && strcmp(az_credentials_subscription(loaded), "explicit-sub") == 0);
    CHECK(loaded && strcmp(az_credentials_resource_group(loaded), "rg") == 0);
    CHECK(loaded && strcmp(az_credentials_app(loaded), "myapp") == 0);
    CHECK(loaded && strcmp(az_credentials_management(loaded), "http://127.0.0.1:9") == 0);
    CHECK(strstr(description, "at https://login.microsoftonline.us (AZURE_AUTHORITY_HOST)") != NULL);
    CHECK(strstr(description, "app myapp (the explicit setting)") != NULL);
    CHECK(strstr(description, "; endpoints from the explicit setting, FAASET_AZURE_APP_URL, FAASET_AZURE_SCM_URL") !=
          NULL);
    url = loaded ? az_credentials_app_url(loaded, "myapp") : NULL;
    CHECK(url && strcmp(url, "http://127.0.0.1:9/myapp.azurewebsites.net") == 0);
    free(url);
    url = loaded ? az_credentials_scm_url(loaded, "other") : NULL;
    CHECK(url && strcmp(url, "http://127.0.0.1:9/other.scm.azurewebsites.net") == 0);
    free(url);
    /* a URL that is not one, and a name Azure does not take, are errors naming where they came from */
    setenv("FAASET_AZURE_SCM_URL", "ftp://x", 1);
    CHECK(load() < 0 && strstr(err, "Kudu (scm) URL from FAASET_AZURE_SCM_URL is not an http(s) URL"));
    unsetenv("FAASET_AZURE_SCM_URL");
    struct az_credentials_options bad = {.resource_group = "my group"};
    CHECK(load_with(&bad) < 0 && strstr(err, "resource group from the explicit setting is not a name"));
    clean();
}

static void test_publish_profile(void)
{
    clean();
    char path[256];
    home_sandbox_write("hello.PublishSettings", PROFILE);
    snprintf(path, sizeof path, "%s/hello.PublishSettings", home);
    struct az_credentials_options options = {.publish_profile = path};
    CHECK(load_with(&options) == 0);
    CHECK(loaded && !az_credentials_has_principal(loaded));
    /* the MSDeploy profile's "$hello:pw&s3cr3t<x", entities decoded */
    CHECK(loaded && strcmp(az_credentials_kudu_basic(loaded), "Basic JGhlbGxvOnB3JnMzY3IzdDx4") == 0);
    CHECK(loaded && strcmp(az_credentials_app(loaded), "hello") == 0);
    CHECK(strstr(description, "publish profile ~/hello.PublishSettings (the explicit setting, user $hello)") != NULL);
    CHECK(strstr(description, "app hello (the publish profile)") != NULL);
    CHECK(strstr(description, "zip") == NULL); /* the ZipDeploy profile was not chosen */
    char *url = loaded ? az_credentials_scm_url(loaded, "hello") : NULL;
    CHECK(url && strcmp(url, "https://hello.scm.azurewebsites.net") == 0);
    free(url);
    url = loaded ? az_credentials_app_url(loaded, "hello") : NULL; /* destinationAppUrl, made https */
    CHECK(url && strcmp(url, "https://hello.azurewebsites.net") == 0);
    free(url);
    /* the variable, and an explicit app= over the profile's */
    setenv("AZURE_PUBLISH_PROFILE", path, 1);
    struct az_credentials_options app = {.app = "other"};
    CHECK(load_with(&app) == 0);
    CHECK(loaded && strcmp(az_credentials_app(loaded), "other") == 0);
    CHECK(strstr(description, "(AZURE_PUBLISH_PROFILE, user $hello)") != NULL);
    /* with a principal too: both described, the principal first */
    principal();
    CHECK(load() == 0);
    CHECK(loaded && az_credentials_has_principal(loaded) && az_credentials_kudu_basic(loaded) != NULL);
    CHECK(strstr(description, "service principal") == description);
    clean();
    /* files that are not publish profiles: the file named, never its text */
    home_sandbox_write("notes.txt", "password=s3cr3t\n<publishProfile userName=\"u\"/>\n");
    snprintf(path, sizeof path, "%s/notes.txt", home);
    struct az_credentials_options notes = {.publish_profile = path};
    CHECK(load_with(&notes) < 0 && strstr(err, "~/notes.txt (from the explicit setting) is not a publish profile"));
    snprintf(path, sizeof path, "%s/missing.PublishSettings", home);
    struct az_credentials_options missing = {.publish_profile = path};
    CHECK(load_with(&missing) < 0 && strstr(err, "cannot read the publish profile ~/missing.PublishSettings"));
    clean();
}

static void refusal(const char *body, long status, char *out, size_t size)
{
    struct http_response response = {.status = status, .body = body, .body_size = strlen(body), .headers = ""};
    az_credentials_explain_refusal(loaded, &response, out, size);
    CHECK(strstr(out, "s3cr3t") == NULL);
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "refusal: %s\n", out);
}

static void test_refusals(void)
{
    clean();
    principal();
    CHECK(load() == 0);
    char out[1024];
    refusal("{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided. "
            "Ensure the secret being sent in the request is the client secret value.\\r\\nTrace ID: 1\","
            "\"error_codes\":[7000215]}", 401, out, sizeof out);
    CHECK(strstr(out, "Entra ID refused the service principal " CLIENT " of tenant " TENANT) != NULL);
    CHECK(strstr(out, "invalid_client: AADSTS7000215: Invalid client secret provided") != NULL);
    CHECK(strstr(out, "Trace ID") == NULL);
    CHECK(strstr(out, "the client secret is wrong or expired") && strstr(out, "AZURE_CLIENT_SECRET"));
    refusal("{\"error\":\"invalid_request\",\"error_description\":\"AADSTS90002: Tenant 'nope' not found.\"}", 400,
            out, sizeof out);
    CHECK(strstr(out, "the tenant does not exist: set AZURE_TENANT_ID") != NULL);
    refusal("{\"error\":\"unauthorized_client\",\"error_description\":\"AADSTS700016: Application with identifier "
            "'x' was not found in the directory.\",\"error_codes\":[700016]}", 400, out, sizeof out);
    CHECK(strstr(out, "no application with this client ID: check AZURE_CLIENT_ID") != NULL);
    refusal("<html>proxy</html>", 502, out, sizeof out);
    CHECK(strstr(out, "HTTP 502, no error code") != NULL);
    struct http_response unreachable = {.error = "Failed to connect", .body = "", .headers = ""};
    az_credentials_explain_refusal(loaded, &unreachable, out, sizeof out);
    CHECK(strstr(out, "could not reach Entra ID's token endpoint at https://login.microsoftonline.com") != NULL);
    /* no principal: no token, and the error says what to set */
    clean();
    char path[256];
    home_sandbox_write("p.PublishSettings", PROFILE);
    snprintf(path, sizeof path, "%s/p.PublishSettings", home);
    struct az_credentials_options options = {.publish_profile = path};
    CHECK(load_with(&options) == 0);
    const char *cached = NULL;
    CHECK(loaded && az_credentials_token(loaded, NULL, &cached, NULL, NULL, err, sizeof err) < 0);
    CHECK(strstr(err, "needs a service principal") && cached == NULL);
    clean();
}

int main(void)
{
    home = home_sandbox_start("faaset-az");
    test_nothing_and_incomplete();
    test_principal();
    test_publish_profile();
    test_refusals();
    az_credentials_free(loaded);
    home_sandbox_remove();
    return check_report();
}
