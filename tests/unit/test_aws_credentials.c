/* Unit tests for aws_credentials: the SDKs' order (environment, shared
 * credentials file, config file), profiles named explicitly, by AWS_PROFILE
 * or by default, region and endpoint precedence, the files' syntax, and the
 * errors. HOME and every AWS_* variable are this process's own (setenv), the
 * files live in a temporary folder. Every secret and token used holds
 * "s3cr3t": no error and no description may contain it. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws_credentials.h"
#include "check.h"
#include "home_sandbox.h"

#define KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define KEY_ID_2 "AKIAI44QH8DHBEXAMPLE"

static const char *home;
static char err[2048], description[1024];
static struct aws_credentials *loaded;

static const char *const variables[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_S3", NULL,
};

static void clean(void)
{
    home_sandbox_unset(variables);
    char path[128];
    snprintf(path, sizeof path, "%s/.aws/credentials", home);
    unlink(path);
    snprintf(path, sizeof path, "%s/.aws/config", home);
    unlink(path);
}

/* Loads with the given explicit values; fills err or description. */
static int load_with(const char *profile, const char *region, const char *endpoint, const char *service)
{
    aws_credentials_free(loaded);
    loaded = NULL;
    err[0] = description[0] = '\0';
    struct aws_credentials_options options = {profile, region, endpoint, service};
    int status = aws_credentials_load(&options, &loaded, err, sizeof err);
    if (status == 0)
        aws_credentials_describe(loaded, description, sizeof description);
    CHECK(strstr(err, "s3cr3t") == NULL);
    CHECK(strstr(description, "s3cr3t") == NULL);
    if (status != 0 && getenv("TEST_VERBOSE"))
        fprintf(stderr, "error: %s\n", err);
    return status;
}

static int load(void)
{
    return load_with(NULL, NULL, NULL, NULL);
}

/* Accessors that survive a failed load, so that a failure is reported, not a crash. */
static const char *region_of(void)
{
    return loaded ? aws_credentials_region(loaded) : "(not loaded)";
}

static const char *endpoint_of(void)
{
    return loaded ? aws_credentials_endpoint(loaded) : "(not loaded)";
}

static const char *profile_of(void)
{
    return loaded ? aws_credentials_profile(loaded) : "(not loaded)";
}

static int secret_is(const char *secret, const char *token)
{
    struct sigv4_credentials keys;
    if (loaded == NULL)
        return 0;
    aws_credentials_signing(loaded, &keys);
    if (strcmp(keys.secret_access_key, secret) != 0)
        return 0;
    if (token == NULL)
        return keys.session_token == NULL;
    return keys.session_token != NULL && strcmp(keys.session_token, token) == 0;
}

static void test_nothing(void)
{
    clean();
    CHECK(load() < 0);
    CHECK(strstr(err, "AWS_ACCESS_KEY_ID") != NULL && strstr(err, "AWS_SECRET_ACCESS_KEY") != NULL);
    CHECK(strstr(err, "~/.aws/credentials (no such file)") != NULL);
    CHECK(strstr(err, "~/.aws/config (no such file)") != NULL);
    CHECK(strstr(err, "profile 'default'") != NULL && strstr(err, "AWS_PROFILE") != NULL);
    CHECK(strstr(err, "%platform aws profile=NAME") != NULL);

    /* Files that exist without the profile's keys. */
    home_sandbox_write(".aws/credentials",
                       "[other]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = s3cr3t1\n");
    home_sandbox_write(".aws/config", "[default]\nregion = us-east-1\n");
    CHECK(load() < 0);
    CHECK(strstr(err, "~/.aws/credentials (no [default] section)") != NULL);
    CHECK(strstr(err, "~/.aws/config ([default] has no aws_access_key_id)") != NULL);
}

static void test_environment(void)
{
    clean();
    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/s3cr3tEXAMPLEKEY", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    CHECK(load() == 0);
    CHECK(secret_is("wJalrXUtnFEMI/K7MDENG/s3cr3tEXAMPLEKEY", NULL));
    CHECK(profile_of() == NULL);
    CHECK(strcmp(region_of(), "eu-west-1") == 0);
    CHECK(strcmp(aws_credentials_service(loaded), "lambda") == 0);
    CHECK(strcmp(endpoint_of(), "https://lambda.eu-west-1.amazonaws.com") == 0);
    CHECK(strcmp(description, "access key AKIA...MPLE from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; region "
                              "eu-west-1 from AWS_REGION; endpoint https://lambda.eu-west-1.amazonaws.com") == 0);
    CHECK(strstr(description, KEY_ID) == NULL);

    setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEs3cr3tTOKEN==", 1);
    CHECK(load() == 0 && secret_is("wJalrXUtnFEMI/K7MDENG/s3cr3tEXAMPLEKEY", "FwoGZXIvYXdzEs3cr3tTOKEN=="));
    CHECK(strstr(description, "(with session token)") != NULL);

    /* Empty counts as unset; one without the other is an error. */
    setenv("AWS_SESSION_TOKEN", "", 1);
    CHECK(load() == 0 && secret_is("wJalrXUtnFEMI/K7MDENG/s3cr3tEXAMPLEKEY", NULL));
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK(load() < 0 && strstr(err, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") != NULL);
    setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t", 1);
    unsetenv("AWS_ACCESS_KEY_ID");
    CHECK(load() < 0 && strstr(err, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") != NULL);
    setenv("AWS_ACCESS_KEY_ID", "bad key", 1);
    CHECK(load() < 0 && strstr(err, "access key id") != NULL && strstr(err, "bad key") == NULL);
    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
    setenv("AWS_SESSION_TOKEN", "s3cr3t token", 1);
    CHECK(load() < 0 && strstr(err, "session token from AWS_SESSION_TOKEN") != NULL);
}

static void test_files(void)
{
    clean();
    /* CRLF endings, comments, case, ':' as separator, a nested block, other
     * profiles around. */
    home_sandbox_write(".aws/credentials",
                       "# keys\r\n"
                       "[default]\r\n"
                       "aws_access_key_id=" KEY_ID "\r\n"
                       "aws_secret_access_key = s3cr3t-default\r\n"
                       "\r\n"
                       "[dev]\n"
                       "; the dev keys\n"
                       "  AWS_Access_Key_ID : " KEY_ID_2 "\n"
                       "  aws_secret_access_key   =   s3cr3t/dev+key  \n"
                       "aws_session_token = s3cr3tTokenDev==\n"
                       "[continued]\n"
                       "aws_access_key_id = " KEY_ID_2 "\n"
                       "  aws_secret_access_key = s3cr3t-is-a-continuation\n");
    home_sandbox_write(".aws/config",
                       "[default]\n"
                       "region = eu-central-1\n"
                       "s3 =\n"
                       "    max_concurrent_requests = 20\n"
                       "    region = not-this\n"
                       "[profile dev]\n"
                       "region=ap-southeast-2\n"
                       "output = json\n"
                       "[dev]\n"
                       "region = not-a-config-profile\n");
    CHECK(load() == 0);
    CHECK(secret_is("s3cr3t-default", NULL));
    CHECK(profile_of() != NULL && strcmp(profile_of(), "default") == 0);
    CHECK(strcmp(description, "access key AKIA...MPLE from profile 'default' in ~/.aws/credentials; region "
                              "eu-central-1 from profile 'default' in ~/.aws/config; endpoint "
                              "https://lambda.eu-central-1.amazonaws.com") == 0);

    setenv("AWS_PROFILE", "dev", 1);
    CHECK(load() == 0 && secret_is("s3cr3t/dev+key", "s3cr3tTokenDev==") &&
          strcmp(region_of(), "ap-southeast-2") == 0);
    CHECK(strstr(description, "profile 'dev' in ~/.aws/credentials") != NULL);
    /* As in botocore, a line indented deeper than the one above continues it. */
    CHECK(load_with("continued", NULL, NULL, NULL) < 0 && strstr(err, "no aws_secret_access_key") != NULL);

    /* AWS_PROFILE does not outrank the environment's keys; an explicit
     * profile does. */
    setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-env", 1);
    CHECK(load() == 0 && secret_is("s3cr3t-env", NULL));
    CHECK(strcmp(region_of(), "ap-southeast-2") == 0);
    CHECK(load_with("default", NULL, NULL, NULL) == 0 && secret_is("s3cr3t-default", NULL));
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_PROFILE");
    setenv("AWS_DEFAULT_PROFILE", "dev", 1);
    CHECK(load() == 0 && secret_is("s3cr3t/dev+key", "s3cr3tTokenDev=="));
    unsetenv("AWS_DEFAULT_PROFILE");

    /* Keys in the config file only; the credentials file comes first. */
    home_sandbox_write(".aws/config",
                       "[profile ci]\n"
                       "aws_access_key_id = " KEY_ID_2 "\n"
                       "aws_secret_access_key = s3cr3t-ci\n"
                       "region = us-west-2\n"
                       "[profile  both]\n"
                       "aws_access_key_id = " KEY_ID_2 "\n"
                       "aws_secret_access_key = s3cr3t-config\n"
                       "[profile default]\n"
                       "region = sa-east-1\n");
    home_sandbox_write(".aws/credentials",
                       "[both]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = s3cr3t-credentials\nregion = "
                       "ca-central-1\n"
                       "[default]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = s3cr3t-default\n");
    CHECK(load_with("ci", NULL, NULL, NULL) == 0 && secret_is("s3cr3t-ci", NULL));
    CHECK(strstr(description, "profile 'ci' in ~/.aws/config") != NULL);
    CHECK(load_with("both", NULL, NULL, NULL) == 0 && secret_is("s3cr3t-credentials", NULL));
    CHECK(strcmp(region_of(), "ca-central-1") == 0); /* the credentials file's wins */
    CHECK(load() == 0 && strcmp(region_of(), "sa-east-1") == 0);

    /* Other files, ~ expanded. */
    home_sandbox_write("elsewhere-credentials",
                       "[default]\naws_access_key_id=" KEY_ID_2 "\naws_secret_access_key=s3cr3t-x\n");
    home_sandbox_write("elsewhere-config", "[default]\nregion=us-east-2\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere-credentials", 1);
    char path[128];
    snprintf(path, sizeof path, "%s/elsewhere-config", home);
    setenv("AWS_CONFIG_FILE", path, 1);
    CHECK(load() == 0 && secret_is("s3cr3t-x", NULL));
    CHECK(strstr(description, "from profile 'default' in ~/elsewhere-credentials; region us-east-2 from profile "
                              "'default' in ~/elsewhere-config") != NULL);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    CHECK(load() < 0 && strstr(err, "/nonexistent/credentials (no such file)") != NULL);
    CHECK(strstr(err, "~/elsewhere-config ([default] has no aws_access_key_id)") != NULL);
}

static void test_profile_errors(void)
{
    clean();
    home_sandbox_write(".aws/credentials",
                       "[default]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = s3cr3t-default\n"
                       "[half]\naws_access_key_id = " KEY_ID "\n"
                       "[otherhalf]\naws_secret_access_key = s3cr3t-half\n"
                       "[processed]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = s3cr3t-p\n");
    home_sandbox_write(".aws/config",
                       "[default]\nregion = us-east-1\n"
                       "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = default\n"
                       "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
                       "[profile processed]\ncredential_process = /bin/echo s3cr3t\n"
                       "[profile process-only]\ncredential_process = /bin/echo s3cr3t\naws_access_key_id = " KEY_ID
                       "\naws_secret_access_key = s3cr3t-cfg\n");

    setenv("AWS_PROFILE", "nope", 1);
    CHECK(load() < 0);
    CHECK(strstr(err, "profile 'nope' (from AWS_PROFILE) is in neither ~/.aws/credentials") != NULL);
    unsetenv("AWS_PROFILE");
    CHECK(load_with("nope", NULL, NULL, NULL) < 0 && strstr(err, "named explicitly") != NULL);
    /* Even with the environment's keys: a typo in a profile name is caught. */
    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-env", 1);
    setenv("AWS_PROFILE", "nope", 1);
    CHECK(load() < 0 && strstr(err, "'nope'") != NULL);
    unsetenv("AWS_PROFILE");
    CHECK(load_with("half", NULL, NULL, NULL) < 0);
    CHECK(strstr(err, "[half] of ~/.aws/credentials has aws_access_key_id but no aws_secret_access_key") != NULL);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK(load_with("otherhalf", NULL, NULL, NULL) < 0);
    CHECK(strstr(err, "has aws_secret_access_key but no aws_access_key_id") != NULL);
    CHECK(load_with("role", NULL, NULL, NULL) < 0 && strstr(err, "role_arn") != NULL &&
          strstr(err, "aws configure export-credentials --profile role") != NULL);
    CHECK(load_with("sso", NULL, NULL, NULL) < 0 && strstr(err, "IAM Identity Center") != NULL);
    CHECK(load_with("processed", "us-east-1", NULL, NULL) == 0 && secret_is("s3cr3t-p", NULL));
    CHECK(load_with("process-only", NULL, NULL, NULL) < 0 && strstr(err, "credential_process") != NULL);

    /* Syntax errors name the file and line, never the line. */
    home_sandbox_write(".aws/credentials", "[default]\naws_access_key_id = " KEY_ID "\ns3cr3t-on-a-line-of-its-own\n");
    CHECK(load() < 0 && strstr(err, "~/.aws/credentials line 3") != NULL);
    home_sandbox_write(".aws/credentials", "aws_secret_access_key = s3cr3t\n[default]\n");
    CHECK(load() < 0 && strstr(err, "line 1: a setting before any [section]") != NULL);
    home_sandbox_write(".aws/credentials", "[default\naws_secret_access_key = s3cr3t\n");
    CHECK(load() < 0 && strstr(err, "line 1") != NULL);
    home_sandbox_write(".aws/credentials", "[default]\n= s3cr3t\n");
    CHECK(load() < 0 && strstr(err, "line 2") != NULL);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/a-folder", home);
    mkdir(dir, 0700);
    setenv("AWS_SHARED_CREDENTIALS_FILE", dir, 1);
    CHECK(load() < 0 && strstr(err, "not a regular file") != NULL);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1); /* reads as empty, as in the SDKs */
    setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT1", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t", 1);
    CHECK(load() == 0);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    CHECK(load_with("bad[name]", NULL, NULL, NULL) < 0 && strstr(err, "not a profile name") != NULL);
}

static void test_region_and_endpoint(void)
{
    clean();
    home_sandbox_write(".aws/credentials",
                       "[default]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = s3cr3t\n");
    CHECK(load() < 0 && strstr(err, "no AWS region") != NULL && strstr(err, "AWS_REGION") != NULL &&
          strstr(err, "[default] of ~/.aws/config") != NULL);
    home_sandbox_write(".aws/config", "[default]\nregion = us-west-1\n");
    CHECK(load() == 0 && strcmp(region_of(), "us-west-1") == 0);
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    CHECK(load() == 0 && strcmp(region_of(), "us-west-2") == 0);
    CHECK(strstr(description, "region us-west-2 from AWS_DEFAULT_REGION") != NULL);
    setenv("AWS_REGION", "eu-north-1", 1);
    CHECK(load() == 0 && strcmp(region_of(), "eu-north-1") == 0);
    CHECK(load_with(NULL, "cn-north-1", NULL, NULL) == 0 && strcmp(region_of(), "cn-north-1") == 0);
    CHECK(strcmp(endpoint_of(), "https://lambda.cn-north-1.amazonaws.com.cn") == 0);
    CHECK(strstr(description, "region cn-north-1 from the platform options") != NULL);
    setenv("AWS_REGION", "Not A Region", 1);
    CHECK(load() < 0 && strstr(err, "not a region name") != NULL && strstr(err, "AWS_REGION") != NULL);
    setenv("AWS_REGION", "us-east-1", 1);

    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/", 1);
    CHECK(load() == 0 && strcmp(endpoint_of(), "http://127.0.0.1:5000") == 0);
    CHECK(strstr(description, "endpoint http://127.0.0.1:5000 from AWS_ENDPOINT_URL") != NULL);
    setenv("AWS_ENDPOINT_URL_LAMBDA", "http://localhost:4566", 1);
    CHECK(load() == 0 && strcmp(endpoint_of(), "http://localhost:4566") == 0);
    CHECK(strstr(description, "from AWS_ENDPOINT_URL_LAMBDA") != NULL);
    CHECK(load_with(NULL, NULL, "https://lambda.example.test/", NULL) == 0);
    CHECK(strstr(description, "endpoint https://lambda.example.test from the platform options") != NULL);
    CHECK(strcmp(endpoint_of(), "https://lambda.example.test") == 0);
    /* Another service reads its own variable. */
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000", 1);
    CHECK(load_with(NULL, NULL, NULL, "s3") == 0 && strcmp(endpoint_of(), "http://127.0.0.1:9000") == 0);
    unsetenv("AWS_ENDPOINT_URL_S3");
    CHECK(load_with(NULL, NULL, NULL, "s3") == 0 && strcmp(endpoint_of(), "http://127.0.0.1:5000") == 0);
    unsetenv("AWS_ENDPOINT_URL");
    CHECK(load_with(NULL, NULL, NULL, "s3") == 0 && strcmp(endpoint_of(), "https://s3.us-east-1.amazonaws.com") == 0);
    setenv("AWS_ENDPOINT_URL_LAMBDA", "localhost:4566", 1);
    CHECK(load() < 0 && strstr(err, "AWS_ENDPOINT_URL_LAMBDA") != NULL && strstr(err, "not an http") != NULL);
    CHECK(load_with(NULL, NULL, NULL, "Bad Service") < 0);

    /* The keys the signer gets. */
    unsetenv("AWS_ENDPOINT_URL_LAMBDA");
    CHECK(load() == 0);
    CHECK(loaded != NULL);
    if (loaded == NULL)
        return;
    struct sigv4_credentials keys;
    aws_credentials_signing(loaded, &keys);
    CHECK(strcmp(keys.access_key_id, KEY_ID) == 0 && strcmp(keys.secret_access_key, "s3cr3t") == 0 &&
          keys.session_token == NULL);
    aws_credentials_free(loaded);
    loaded = NULL;
    CHECK(aws_credentials_load(NULL, &loaded, err, sizeof err) == 0);
}

static void test_mask(void)
{
    char out[32];
    aws_credentials_mask("AKIAIOSFODNN7EXAMPLE", out, sizeof out);
    CHECK(strcmp(out, "AKIA...MPLE") == 0);
    aws_credentials_mask("testing", out, sizeof out);
    CHECK(strcmp(out, "****") == 0);
    aws_credentials_mask("ABCDEFGHIJKL", out, sizeof out);
    CHECK(strcmp(out, "ABCD...IJKL") == 0);
    aws_credentials_mask(NULL, out, sizeof out);
    CHECK(strcmp(out, "****") == 0);
}

int main(void)
{
    home = home_sandbox_start("faaset-aws");
    char aws[96];
    snprintf(aws, sizeof aws, "%s/.aws", home);
    CHECK(mkdir(aws, 0700) == 0);

    test_nothing();
    test_environment();
    test_files();
    test_profile_errors();
    test_region_and_endpoint();
    test_mask();
    aws_credentials_free(loaded);
    aws_credentials_free(NULL);
    home_sandbox_remove();
    return check_report();
}
