/* Unit tests for cloud_options: a `%%cloud_function key=value ...` line split
 * into its options (quotes, comments, tokens without '='), the defaults,
 * every option read from the line's strings and from the decorator's JSON
 * values, errors for bad values that name the key and say what is allowed,
 * and suggest_nearest's suggestions for misspelt keys. Each case parses a
 * line or a small JSON object and compares the fields or the error text. */
#include <string.h>

#include "check.h"
#include "cloud_options.h"
#include "suggest.h"

/* Parses LINE as a magic line's options into O; returns cloud_options_parse's
 * result (or -2 when the line itself does not split). O must be freed. */
static int parse_line(const char *line, struct cloud_options *o, char *err, size_t err_size)
{
    json_t *raw = cloud_options_from_line(line, err, err_size);
    if (raw == NULL) {
        memset(o, 0, sizeof *o);
        return -2;
    }
    int rc = cloud_options_parse(raw, "aws", o, err, err_size);
    json_decref(raw);
    return rc;
}

/* 1 when parsing LINE fails with an error holding every one of the NULL-terminated WORDS. */
static int fails_with(const char *line, const char *const *words)
{
    struct cloud_options o;
    char err[512] = "";
    int rc = parse_line(line, &o, err, sizeof err);
    cloud_options_free(&o);
    if (rc != -1) {
        fprintf(stderr, "  '%s' did not fail as expected (rc %d)\n", line, rc);
        return 0;
    }
    for (size_t i = 0; words[i] != NULL; i++) {
        if (strstr(err, words[i]) == NULL) {
            fprintf(stderr, "  '%s': error \"%s\" lacks \"%s\"\n", line, err, words[i]);
            return 0;
        }
    }
    return 1;
}

#define FAILS_WITH(line, ...) fails_with(line, (const char *const[]){__VA_ARGS__, NULL})

static void test_from_line(void)
{
    char err[256] = "";
    json_t *raw = cloud_options_from_line("  memory=256\tname=\"a b\" env='X=1;Y=2'  # a comment=1", err, sizeof err);
    CHECK(raw != NULL);
    CHECK(json_object_size(raw) == 3);
    CHECK(strcmp(json_string_value(json_object_get(raw, "memory")), "256") == 0);
    CHECK(strcmp(json_string_value(json_object_get(raw, "name")), "a b") == 0);
    CHECK(strcmp(json_string_value(json_object_get(raw, "env")), "X=1;Y=2") == 0);
    json_decref(raw);

    raw = cloud_options_from_line("", err, sizeof err); /* no options at all */
    CHECK(raw != NULL && json_object_size(raw) == 0);
    json_decref(raw);
    raw = cloud_options_from_line("deploy= run=local\nmemory=512", err, sizeof err); /* ends at the line break */
    CHECK(raw != NULL && json_object_size(raw) == 2);
    CHECK(strcmp(json_string_value(json_object_get(raw, "deploy")), "") == 0);
    CHECK(json_object_get(raw, "memory") == NULL);
    json_decref(raw);

    err[0] = '\0';
    CHECK(cloud_options_from_line("memory=256 verbose", err, sizeof err) == NULL);
    CHECK(strstr(err, "'verbose' is not key=value") != NULL);
    err[0] = '\0';
    CHECK(cloud_options_from_line("name=\"unclosed", err, sizeof err) == NULL);
    CHECK(strstr(err, "name") != NULL && strstr(err, "no closing \"") != NULL);
}

static void test_defaults_and_values(void)
{
    struct cloud_options o;
    char err[512] = "";
    CHECK(parse_line("", &o, err, sizeof err) == 0);
    CHECK(o.platform_count == 1 && strcmp(o.platforms[0], "aws") == 0); /* the default platform */
    CHECK(o.memory_mb == 128 && o.timeout_s == 30 && o.deploy == 1 && o.force == 0);
    CHECK(strcmp(o.arch, "x86_64") == 0 && strcmp(o.runtime, "python3.12") == 0 && strcmp(o.run, "cloud") == 0);
    CHECK(o.name[0] == '\0' && o.remote[0] == '\0' && o.image == NULL && o.requirements == NULL);
    CHECK(json_object_size(o.env) == 0);
    cloud_options_free(&o);

    CHECK(parse_line("platforms=local,gcf,local memory=10240 timeout=900 arch=arm64 runtime=python3.8 name=_f1 "
                     "deploy=False force=true run=none env=A=1;B_2=x=y remote=arn:aws:lambda:us-east-1:1:function:f "
                     "image=1.dkr.ecr.us-east-1.amazonaws.com/repo:tag role=arn:aws:iam::123456789012:role/faaset",
                     &o, err, sizeof err) == 0);
    CHECK(o.platform_count == 2 && strcmp(o.platforms[0], "local") == 0 && strcmp(o.platforms[1], "gcf") == 0);
    CHECK(o.memory_mb == 10240 && o.timeout_s == 900);
    CHECK(strcmp(o.arch, "arm64") == 0 && strcmp(o.runtime, "python3.8") == 0 && strcmp(o.name, "_f1") == 0);
    CHECK(o.deploy == 0 && o.force == 1 && strcmp(o.run, "none") == 0);
    CHECK(json_object_size(o.env) == 2);
    CHECK(strcmp(json_string_value(json_object_get(o.env, "A")), "1") == 0);
    CHECK(strcmp(json_string_value(json_object_get(o.env, "B_2")), "x=y") == 0); /* the value keeps its '=' */
    CHECK(strcmp(o.remote, "arn:aws:lambda:us-east-1:1:function:f") == 0);
    CHECK(o.image != NULL && strcmp(o.image, "1.dkr.ecr.us-east-1.amazonaws.com/repo:tag") == 0);
    CHECK(o.role != NULL && strcmp(o.role, "arn:aws:iam::123456789012:role/faaset") == 0);
    cloud_options_free(&o);
    CHECK(o.env == NULL && o.image == NULL && o.role == NULL); /* freed and cleared */

    /* containerize: image_base= implies it; registry= goes with it. */
    CHECK(parse_line("containerize=true registry=1.dkr.ecr.us-east-1.amazonaws.com/team", &o, err, sizeof err) == 0);
    CHECK(o.containerize == 1 && o.image_base == NULL && strcmp(o.registry, "1.dkr.ecr.us-east-1.amazonaws.com/team") == 0);
    cloud_options_free(&o);
    CHECK(o.registry == NULL);
    CHECK(parse_line("image_base=public.ecr.aws/lambda/python:3.12", &o, err, sizeof err) == 0);
    CHECK(o.containerize == 1 && strcmp(o.image_base, "public.ecr.aws/lambda/python:3.12") == 0);
    cloud_options_free(&o);
    CHECK(o.image_base == NULL);

    /* The lowest values are accepted too. */
    CHECK(parse_line("memory=128 timeout=1 runtime=python3.13 platforms=\" aws, openwhisk\"", &o, err, sizeof err) == 0);
    CHECK(o.memory_mb == 128 && o.timeout_s == 1 && strcmp(o.runtime, "python3.13") == 0);
    CHECK(o.platform_count == 2 && strcmp(o.platforms[1], "ibm") == 0); /* the alias is kept under its platform's name */
    cloud_options_free(&o);
}

static void test_decorator_values(void)
{
    struct cloud_options o;
    char err[512] = "";
    json_t *raw = json_pack("{s:i, s:i, s:b, s:[s, s], s:{s:s}, s:s, s:n, s:n}", "memory", 512, "timeout", 60, "force",
                            1, "platforms", "azure", "ibm", "env", "KEY", "v", "requirements", "numpy==2.0\n", "name",
                            "image");
    CHECK(cloud_options_parse(raw, "local", &o, err, sizeof err) == 0);
    CHECK(o.memory_mb == 512 && o.timeout_s == 60 && o.force == 1);
    CHECK(o.platform_count == 2 && strcmp(o.platforms[0], "azure") == 0 && strcmp(o.platforms[1], "ibm") == 0);
    CHECK(strcmp(json_string_value(json_object_get(o.env, "KEY")), "v") == 0);
    CHECK(o.requirements != NULL && strcmp(o.requirements, "numpy==2.0\n") == 0);
    CHECK(o.name[0] == '\0' && o.image == NULL); /* None: unset */
    cloud_options_free(&o);
    json_decref(raw);

    raw = json_pack("{s:f}", "memory", 256.0); /* a float is not a whole number */
    CHECK(cloud_options_parse(raw, "local", &o, err, sizeof err) < 0 && strstr(err, "memory must be a whole number") != NULL);
    cloud_options_free(&o);
    json_decref(raw);
    raw = json_pack("{s:[s, i]}", "platforms", "aws", 3);
    CHECK(cloud_options_parse(raw, "local", &o, err, sizeof err) < 0 &&
          strstr(err, "platforms must be a list of platform names") != NULL);
    cloud_options_free(&o);
    json_decref(raw);
    raw = json_pack("{s:{s:i}}", "env", "KEY", 1);
    CHECK(cloud_options_parse(raw, "local", &o, err, sizeof err) < 0 && strstr(err, "env: 'KEY'") != NULL &&
          strstr(err, "string value") != NULL);
    cloud_options_free(&o);
    json_decref(raw);
    raw = json_pack("{s:i}", "requirements", 3);
    CHECK(cloud_options_parse(raw, "local", &o, err, sizeof err) < 0 && strstr(err, "requirements must be text") != NULL);
    cloud_options_free(&o);
    json_decref(raw);
    raw = json_pack("[s]", "memory=256");
    CHECK(cloud_options_parse(raw, "local", &o, err, sizeof err) < 0 && strstr(err, "key=value") != NULL);
    cloud_options_free(&o);
    json_decref(raw);
}

static void test_errors(void)
{
    CHECK(FAILS_WITH("memory=64", "memory", "whole number of MB", "128", "10240"));
    CHECK(FAILS_WITH("memory=10241", "memory", "128 to 10240"));
    CHECK(FAILS_WITH("memory=256MB", "memory must be a whole number"));
    CHECK(FAILS_WITH("memory=", "memory must be a whole number"));
    CHECK(FAILS_WITH("timeout=0", "timeout", "seconds", "1 to 900"));
    CHECK(FAILS_WITH("timeout=901", "timeout", "1 to 900"));
    CHECK(FAILS_WITH("arch=x86", "arch must be one of", "x86_64", "arm64"));
    CHECK(FAILS_WITH("run=remote", "run must be one of", "cloud", "local", "none"));
    CHECK(FAILS_WITH("runtime=python3.7", "runtime must be python3.8 to python3.13"));
    CHECK(FAILS_WITH("runtime=python3.14", "runtime must be"));
    CHECK(FAILS_WITH("runtime=python3.12x", "runtime must be"));
    CHECK(FAILS_WITH("runtime=node18", "runtime must be"));
    CHECK(FAILS_WITH("deploy=yes", "deploy must be true or false"));
    CHECK(FAILS_WITH("force=1", "force must be true or false"));
    CHECK(FAILS_WITH("name=1abc", "name must be a Python identifier", "64"));
    CHECK(FAILS_WITH("name=a-b", "name must be a Python identifier"));
    CHECK(FAILS_WITH("name=", "name must be"));
    CHECK(FAILS_WITH("remote=a;b", "remote must be the platform's name or ARN"));
    CHECK(FAILS_WITH("image=\"a b\"", "image must be a container image URI"));
    CHECK(FAILS_WITH("role=admin", "role must be an IAM role ARN"));
    CHECK(FAILS_WITH("containerize=maybe", "containerize must be true or false"));
    CHECK(FAILS_WITH("image_base=\"a b\"", "image_base must be an image reference"));
    CHECK(FAILS_WITH("containerize=true registry=\"x y\"", "registry must be a registry, HOST[:PORT][/NAMESPACE]"));
    CHECK(FAILS_WITH("containerize=true image=1.dkr.ecr.us-east-1.amazonaws.com/r:t", "give image= ", "not both"));
    CHECK(FAILS_WITH("registry=1.dkr.ecr.us-east-1.amazonaws.com", "registry= is where containerize=True pushes"));
    CHECK(FAILS_WITH("role=arn:aws:iam::1:user/u", "role must be an IAM role ARN"));
    /* FaaSET's decorator arguments are the runtime's to map: not options */
    CHECK(FAILS_WITH("config=x", "unknown option 'config'", "known options"));
    CHECK(FAILS_WITH("references=f", "unknown option 'references'"));
    CHECK(FAILS_WITH("platforms=lambda", "platforms: unknown platform 'lambda'", "aws", "openfaas"));
    CHECK(FAILS_WITH("platforms=", "platforms must name at least one of", "local"));
    CHECK(FAILS_WITH("platforms=local,aws,gcf,openwhisk,ibm,azure,openfaas,aws,bogus", "unknown platform 'bogus'"));
    CHECK(FAILS_WITH("env=A", "env must look like KEY=VALUE", "'A'"));
    CHECK(FAILS_WITH("env=1A=x", "env must look like KEY=VALUE", "'1A=x'"));
    CHECK(FAILS_WITH("memroy=256", "unknown option 'memroy'", "did you mean 'memory'?", "known options"));
    CHECK(FAILS_WITH("zzzzzzzz=1", "unknown option 'zzzzzzzz'", "known options"));
    /* An unknown key longer than the error buffer (the decorator's keys have
     * no length limit): the message is cut, never written past the buffer
     * (it once was: a stack buffer overflow). */
    char long_key[300];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    json_t *raw = json_pack("{s:i}", long_key, 1);
    struct cloud_options long_options;
    char small_err[256];
    CHECK(cloud_options_parse(raw, "local", &long_options, small_err, sizeof small_err) < 0);
    CHECK(strncmp(small_err, "unknown option 'kkk", 19) == 0 && strlen(small_err) == sizeof small_err - 1);
    cloud_options_free(&long_options);
    json_decref(raw);

    /* Too much environment for a platform: {"A":"x...x"} is 4098 bytes. */
    char line[6000] = "env=A=";
    memset(line + 6, 'x', 4090);
    line[4096] = '\0';
    CHECK(FAILS_WITH(line, "env is", "at most 4 KB"));
}

/* requirements=: text, one magic line of several, a list; comments alone name nothing; architecture= is arch=. */
static void test_requirements(void)
{
    struct cloud_options o;
    char err[512] = "";
    CHECK(parse_line("requirements=\"pkg==1.0 other requests >= 2.0 ,<3 old ; python_version < '3.9'\" "
                     "architecture=arm64 requirements_file=reqs.txt", &o, err, sizeof err) == 0);
    CHECK(o.requirements != NULL &&
          strcmp(o.requirements, "pkg==1.0\nother\nrequests >= 2.0 ,<3\nold ; python_version < '3.9'") == 0);
    CHECK(strcmp(o.arch, "arm64") == 0);
    CHECK(o.requirements_file != NULL && strcmp(o.requirements_file, "reqs.txt") == 0);
    cloud_options_free(&o);
    CHECK(o.requirements_file == NULL);

    json_t *raw = json_pack("{s:[s, s]}", "requirements", "a==1", "b");
    CHECK(cloud_options_parse(raw, "local", &o, err, sizeof err) == 0);
    CHECK(o.requirements != NULL && strcmp(o.requirements, "a==1\nb\n") == 0);
    cloud_options_free(&o);
    json_decref(raw);
    raw = json_pack("{s:s}", "requirements", "# nothing yet\n\n   \n");
    CHECK(cloud_options_parse(raw, "local", &o, err, sizeof err) == 0 && o.requirements == NULL);
    cloud_options_free(&o);
    json_decref(raw);
    raw = json_pack("{s:[s, i]}", "requirements", "a", 1);
    CHECK(cloud_options_parse(raw, "local", &o, err, sizeof err) < 0 && strstr(err, "list of strings") != NULL);
    cloud_options_free(&o);
    json_decref(raw);
    CHECK(cloud_options_names_requirements("  # c\nx\n") == 1 && cloud_options_names_requirements("# c") == 0);
}

static void test_nearest(void)
{
    static const char *const words[] = {"memory", "timeout", "platforms", "run", NULL};
    CHECK(suggest_nearest("memory", words) == words[0]);           /* itself */
    CHECK(suggest_nearest("MEMORY", words) == words[0]);           /* case does not count */
    CHECK(suggest_nearest("timout", words) == words[1]);           /* one edit */
    CHECK(suggest_nearest("platfroms", words) == words[2]);        /* two edits (a swap) */
    CHECK(suggest_nearest("rum", words) == words[3]);
    CHECK(suggest_nearest("xyz", words) == NULL);                  /* three edits from "run": too far */
    CHECK(suggest_nearest("memoryyyy", words) == NULL);
    CHECK(suggest_nearest("", words) == NULL);                     /* "run" is three insertions away */
    CHECK(suggest_nearest("memory", (const char *const[]){NULL}) == NULL);
    CHECK(strcmp(suggest_nearest("requirement", cloud_option_keys), "requirements") == 0);
    CHECK(strcmp(suggest_nearest("imgae", cloud_option_keys), "image") == 0);
}

int main(void)
{
    test_from_line();
    test_defaults_and_values();
    test_decorator_values();
    test_errors();
    test_requirements();
    test_nearest();
    return check_report();
}
