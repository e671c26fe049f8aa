/* aws_credentials: keys, region and endpoint, found as the SDKs find them
 * (see aws_credentials.h).
 *
 * The two files are INI files as botocore reads them: "[section]" lines,
 * "key = value" or "key: value" lines (keys case-insensitive, both sides
 * trimmed), "#" and ";" comment lines, and lines indented deeper than the
 * setting above, which continue it (nested settings such as `s3 =`; they
 * are skipped).
 * Only the wanted profile's section is kept; a later value of a key
 * replaces an earlier one. A line that is none of these is an error that
 * names the file and the line number, never the line's text, since it may
 * hold a key.
 *
 * Everything secret (the keys and token, the files' text) lives in memory
 * that is wiped before it is freed. */
#include "aws_credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credfile.h"

#define AWS_FILE_MAX (1u << 20)

struct aws_credentials {
    char *access_key_id, *secret_access_key, *session_token;
    char *profile;      /* NULL when the keys came from the environment */
    char *service, *region, *endpoint;
    char *keys_from, *region_from, *endpoint_from;
    char *ca_bundle, *ca_bundle_from;  /* a PEM file of CAs to trust for https, or NULL */
};

/* What one file's section of the wanted profile holds. */
struct aws_section {
    int found;
    char *key_id, *secret, *token, *region, *ca_bundle;
    int role, process, sso, web_identity; /* ways to get keys that faaset does not support */
};

static void aws_section_free(struct aws_section *s)
{
    credfile_wipe_free(s->key_id);
    credfile_wipe_free(s->secret);
    credfile_wipe_free(s->token);
    free(s->region);
    free(s->ca_bundle);
    memset(s, 0, sizeof *s);
}

/* The file named by ENV_NAME (with ~ expanded), else HOME/DEFAULT_REL.
 * NULL when out of memory, or when there is no home to put it in (then
 * *NO_HOME is set). */
static char *aws_file_path(const char *env_name, const char *default_rel, const char *home, int *no_home)
{
    const char *given = credfile_env(env_name);
    char *path = NULL;
    *no_home = 0;
    if (given != NULL && (given[0] != '~' || (given[1] != '\0' && given[1] != '/')))
        return strdup(given);
    const char *rest = given != NULL ? given + 1 : default_rel;
    if (home == NULL) {
        *no_home = 1;
        return NULL;
    }
    if (asprintf(&path, "%s%s%s", home, given != NULL ? "" : "/", rest) < 0)
        return NULL;
    return path;
}

static char *aws_trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

static int aws_section_matches(const char *name, int config, const char *profile)
{
    if (!config)
        return strcmp(name, profile) == 0;
    if (strcmp(name, "default") == 0)
        return strcmp(profile, "default") == 0;
    if (strncmp(name, "profile", 7) == 0 && (name[7] == ' ' || name[7] == '\t')) {
        const char *rest = name + 8;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        return strcmp(rest, profile) == 0;
    }
    return 0;
}

static int aws_set(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (copy == NULL)
        return -1;
    credfile_wipe_free(*slot);
    *slot = copy;
    return 0;
}

/* Parses TEXT (NUL-terminated, modified). Returns 0, or -1 with ERR. */
static int aws_parse(char *text, const char *shown, int config, const char *profile, struct aws_section *s,
                     char *err, size_t err_size)
{
    int in_section = 0, wanted = 0;
    size_t option_indent = 0;
    int continuable = 0;
    unsigned line_number = 0;
    char *line = text;
    while (*line != '\0') {
        line_number++;
        char *end = strchr(line, '\n');
        char *next = end ? end + 1 : line + strlen(line);
        if (end == NULL)
            end = line + strlen(line);
        size_t indent = strspn(line, " \t");
        char *t = aws_trim(line, end);
        line = next;
        if (*t == '\0' || *t == '#' || *t == ';')
            continue;
        if (continuable && indent > option_indent)
            continue; /* deeper than the setting above: continues it */
        if (*t == '[') {
            size_t n = strlen(t);
            if (n < 3 || t[n - 1] != ']') {
                snprintf(err, err_size, "%s line %u: a section header must be [name]", shown, line_number);
                return -1;
            }
            char *name = aws_trim(t + 1, t + n - 1);
            in_section = 1;
            wanted = aws_section_matches(name, config, profile);
            if (wanted)
                s->found = 1;
            continuable = 0;
            continue;
        }
        size_t key_len = strcspn(t, "=:");
        if (t[key_len] == '\0' || key_len == 0) {
            snprintf(err, err_size, "%s line %u: expected [section], key = value or a # comment", shown,
                     line_number);
            return -1;
        }
        if (!in_section) {
            snprintf(err, err_size, "%s line %u: a setting before any [section]", shown, line_number);
            return -1;
        }
        continuable = 1;
        option_indent = indent;
        if (!wanted)
            continue;
        char *key = aws_trim(t, t + key_len);
        for (char *k = key; *k; k++)
            *k = (char)(*k >= 'A' && *k <= 'Z' ? *k - 'A' + 'a' : *k);
        char *value = aws_trim(t + key_len + 1, t + key_len + 1 + strlen(t + key_len + 1));
        int failed = 0;
        if (strcmp(key, "aws_access_key_id") == 0)
            failed = aws_set(&s->key_id, value);
        else if (strcmp(key, "aws_secret_access_key") == 0)
            failed = aws_set(&s->secret, value);
        else if (strcmp(key, "aws_session_token") == 0)
            failed = aws_set(&s->token, value);
        else if (strcmp(key, "region") == 0)
            failed = aws_set(&s->region, value);
        else if (strcmp(key, "ca_bundle") == 0 && config)
            failed = aws_set(&s->ca_bundle, value);
        else if (strcmp(key, "role_arn") == 0)
            s->role = 1;
        else if (strcmp(key, "credential_process") == 0)
            s->process = 1;
        else if (strncmp(key, "sso_", 4) == 0)
            s->sso = 1;
        else if (strcmp(key, "web_identity_token_file") == 0)
            s->web_identity = 1;
        if (failed) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Reads PATH into S. Returns 1 when read, 0 when there is no such file (or
 * it is a character device like /dev/null, which reads as empty), -1 with ERR. */
static int aws_read(const char *path, const char *shown, int config, const char *profile, struct aws_section *s,
                    char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        snprintf(err, err_size, "cannot read %s: %s", shown, strerror(errno));
        return -1;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) < 0)
        why = strerror(errno);
    else if (S_ISCHR(st.st_mode)) { /* /dev/null, as scripts use to ignore the file: empty */
        close(fd);
        return 0;
    } else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_size > AWS_FILE_MAX)
        why = "larger than 1 MiB";
    if (why != NULL) {
        snprintf(err, err_size, "cannot read %s: %s", shown, why);
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size + 1;
    char *text = malloc(cap);
    if (text == NULL) {
        close(fd);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    size_t size = 0;
    int failed = 0;
    while (size < cap - 1) {
        ssize_t n = read(fd, text + size, cap - 1 - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, err_size, "cannot read %s: %s", shown, strerror(errno));
            failed = 1;
            break;
        }
        if (n == 0)
            break;
        size += (size_t)n;
    }
    close(fd);
    text[size] = '\0';
    if (!failed && memchr(text, '\0', size) != NULL) {
        snprintf(err, err_size, "cannot read %s: it holds a NUL byte", shown);
        failed = 1;
    }
    if (!failed)
        failed = aws_parse(text, shown, config, profile, s, err, err_size) < 0;
    sodium_memzero(text, cap);
    free(text);
    return failed ? -1 : 1;
}

void aws_credentials_mask(const char *key, char *out, size_t size)
{
    size_t n = key ? strlen(key) : 0;
    if (n >= 12)
        snprintf(out, size, "%.4s...%s", key, key + n - 4);
    else
        snprintf(out, size, "****");
}

void aws_credentials_free(struct aws_credentials *c)
{
    if (c == NULL)
        return;
    credfile_wipe_free(c->access_key_id);
    credfile_wipe_free(c->secret_access_key);
    credfile_wipe_free(c->session_token);
    free(c->profile);
    free(c->service);
    free(c->region);
    free(c->endpoint);
    free(c->keys_from);
    free(c->region_from);
    free(c->endpoint_from);
    free(c->ca_bundle);
    free(c->ca_bundle_from);
    free(c);
}

static int aws_valid_region(const char *r)
{
    if (r[0] == '\0' || strlen(r) > 64)
        return 0;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
            return 0;
    return 1;
}

static int aws_valid_service(const char *s)
{
    if (s[0] == '\0' || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return 0;
    return 1;
}

/* What an unsupported profile does, for the error; "" when nothing. */
static const char *aws_unsupported(const struct aws_section *a, const struct aws_section *b)
{
    if (a->role || b->role)
        return "assumes a role (role_arn)";
    if (a->sso || b->sso)
        return "signs in through IAM Identity Center (sso_*)";
    if (a->process || b->process)
        return "runs a credential_process";
    if (a->web_identity || b->web_identity)
        return "uses a web identity token";
    return "";
}

static const char *aws_file_state(int read, const struct aws_section *s, const char *section_form,
                                  char *buf, size_t size)
{
    if (read == 0)
        snprintf(buf, size, "no such file");
    else if (!s->found)
        snprintf(buf, size, "no %s section", section_form);
    else
        snprintf(buf, size, "%s has no aws_access_key_id", section_form);
    return buf;
}

int aws_credentials_load(const struct aws_credentials_options *options, struct aws_credentials **out, char *err,
                         size_t err_size)
{
    static const struct aws_credentials_options none = {0};
    if (options == NULL)
        options = &none;
    *out = NULL;
    int status = -1;
    char *home = NULL, *cred_path = NULL, *conf_path = NULL, *cred_shown = NULL, *conf_shown = NULL;
    struct aws_section cred = {0}, conf = {0};
    struct aws_credentials *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    c->service = strdup(options->service ? options->service : "lambda");
    if (c->service == NULL) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    if (!aws_valid_service(c->service)) {
        snprintf(err, err_size, "'%s' is not an AWS service name", c->service);
        goto done;
    }

    /* The profile and the two files. */
    const char *profile = "default", *profile_from = NULL;
    if (options->profile != NULL && options->profile[0] != '\0') {
        profile = options->profile;
        profile_from = "named explicitly";
    } else if (credfile_env("AWS_PROFILE")) {
        profile = credfile_env("AWS_PROFILE");
        profile_from = "from AWS_PROFILE";
    } else if (credfile_env("AWS_DEFAULT_PROFILE")) {
        profile = credfile_env("AWS_DEFAULT_PROFILE");
        profile_from = "from AWS_DEFAULT_PROFILE";
    }
    if (strpbrk(profile, "[]\r\n") != NULL || strlen(profile) > 128) {
        snprintf(err, err_size, "'%.128s' is not a profile name", profile);
        goto done;
    }
    home = credfile_home();
    int cred_no_home, conf_no_home;
    cred_path = aws_file_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", home, &cred_no_home);
    conf_path = aws_file_path("AWS_CONFIG_FILE", ".aws/config", home, &conf_no_home);
    if ((cred_path == NULL && !cred_no_home) || (conf_path == NULL && !conf_no_home)) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    cred_shown = cred_path ? credfile_shown_path(cred_path, home) : strdup("~/.aws/credentials (HOME is not set)");
    conf_shown = conf_path ? credfile_shown_path(conf_path, home) : strdup("~/.aws/config (HOME is not set)");
    if (cred_shown == NULL || conf_shown == NULL) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    int cred_read = cred_path ? aws_read(cred_path, cred_shown, 0, profile, &cred, err, err_size) : 0;
    if (cred_read < 0)
        goto done;
    int conf_read = conf_path ? aws_read(conf_path, conf_shown, 1, profile, &conf, err, err_size) : 0;
    if (conf_read < 0)
        goto done;
    char cred_form[160], conf_form[170];
    snprintf(cred_form, sizeof cred_form, "[%s]", profile);
    if (strcmp(profile, "default") == 0)
        snprintf(conf_form, sizeof conf_form, "[default]");
    else
        snprintf(conf_form, sizeof conf_form, "[profile %s]", profile);
    if (profile_from != NULL && !cred.found && !conf.found) {
        snprintf(err, err_size,
                 "AWS profile '%s' (%s) is in neither %s (%s) nor %s (%s): create it (`aws configure --profile %s`) "
                 "or name another",
                 profile, profile_from, cred_shown, cred_read ? "no such section" : "no such file", conf_shown,
                 conf_read ? "no such section" : "no such file", profile);
        goto done;
    }

    /* The keys. */
    const char *env_key = credfile_env("AWS_ACCESS_KEY_ID"), *env_secret = credfile_env("AWS_SECRET_ACCESS_KEY");
    int explicit_profile = options->profile != NULL && options->profile[0] != '\0';
    const struct aws_section *from = NULL;
    const char *from_shown = NULL;
    if (!explicit_profile && (env_key || env_secret)) {
        if (!env_key || !env_secret) {
            snprintf(err, err_size,
                     "%s is set but %s is not: set both (and AWS_SESSION_TOKEN for temporary keys), or unset "
                     "both to use profile '%s'",
                     env_key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                     env_key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID", profile);
            goto done;
        }
        if (aws_set(&c->access_key_id, env_key) < 0 || aws_set(&c->secret_access_key, env_secret) < 0 ||
            (credfile_env("AWS_SESSION_TOKEN") && aws_set(&c->session_token, credfile_env("AWS_SESSION_TOKEN")) < 0) ||
            (c->keys_from = strdup("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")) == NULL) {
            snprintf(err, err_size, "out of memory");
            goto done;
        }
    } else {
        /* As in the SDKs: a role, SSO or web identity outranks the
         * profile's keys, a credential_process only the config file's. */
        const char *unsupported = aws_unsupported(&cred, &conf);
        const struct aws_section *files[2] = {&cred, &conf};
        const char *shown[2] = {cred_shown, conf_shown}, *forms[2] = {cred_form, conf_form};
        int outranks = cred.role || conf.role || cred.sso || conf.sso || cred.web_identity || conf.web_identity;
        for (int i = 0; i < 2 && from == NULL && !outranks; i++) {
            if (i == 1 && (cred.process || conf.process))
                break;
            if (files[i]->key_id == NULL && files[i]->secret == NULL)
                continue;
            if (files[i]->key_id == NULL || files[i]->secret == NULL || files[i]->key_id[0] == '\0' ||
                files[i]->secret[0] == '\0') {
                snprintf(err, err_size, "%s of %s has %s but no %s: give both", forms[i], shown[i],
                         files[i]->key_id && files[i]->key_id[0] ? "aws_access_key_id" : "aws_secret_access_key",
                         files[i]->key_id && files[i]->key_id[0] ? "aws_secret_access_key" : "aws_access_key_id");
                goto done;
            }
            from = files[i];
            from_shown = shown[i];
        }
        if (from == NULL && unsupported[0] != '\0') {
            snprintf(err, err_size,
                     "AWS profile '%s' %s, which faaset does not support: export temporary keys with `aws configure "
                     "export-credentials --profile %s --format env` and set them in the environment, or give the "
                     "profile aws_access_key_id and aws_secret_access_key",
                     profile, unsupported, profile);
            goto done;
        }
        if (from == NULL) {
            char cred_state[200], conf_state[200];
            snprintf(err, err_size,
                     "no AWS credentials found: %s, and profile '%s'%s%s%s has no keys in %s (%s) or %s (%s). Set "
                     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), or "
                     "put aws_access_key_id and aws_secret_access_key in %s of %s (`aws configure%s%s` writes "
                     "them), or choose another profile with AWS_PROFILE or `%%platform aws profile=NAME`",
                     explicit_profile ? "the environment's keys are not used for an explicit profile"
                                      : "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
                     profile, profile_from ? " (" : "", profile_from ? profile_from : "", profile_from ? ")" : "",
                     cred_shown, aws_file_state(cred_read, &cred, cred_form, cred_state, sizeof cred_state),
                     conf_shown, aws_file_state(conf_read, &conf, conf_form, conf_state, sizeof conf_state),
                     cred_form, cred_shown, strcmp(profile, "default") ? " --profile " : "",
                     strcmp(profile, "default") ? profile : "");
            goto done;
        }
        if (aws_set(&c->access_key_id, from->key_id) < 0 || aws_set(&c->secret_access_key, from->secret) < 0 ||
            (from->token && from->token[0] && aws_set(&c->session_token, from->token) < 0) ||
            (c->profile = strdup(profile)) == NULL ||
            asprintf(&c->keys_from, "profile '%s' in %s", profile, from_shown) < 0) {
            c->keys_from = NULL;
            snprintf(err, err_size, "out of memory");
            goto done;
        }
    }
    for (const char *k = c->access_key_id; *k; k++) {
        if ((unsigned char)*k <= ' ' || *k == '/' || *k == ',' || *k == ';' || *k == '=' || (unsigned char)*k >= 0x7F) {
            snprintf(err, err_size, "the access key id from %s holds a blank or one of / , ; =", c->keys_from);
            goto done;
        }
    }
    for (const char *k = c->session_token ? c->session_token : ""; *k; k++) {
        if ((unsigned char)*k <= ' ' || (unsigned char)*k == 0x7F) {
            snprintf(err, err_size, "the session token from %s holds a blank or a control character",
                     c->profile ? c->keys_from : "AWS_SESSION_TOKEN");
            goto done;
        }
    }

    /* The region. */
    const char *region = NULL, *region_from = NULL;
    char *region_from_owned = NULL;
    if (options->region != NULL && options->region[0] != '\0') {
        region = options->region;
        region_from = "the platform options";
    } else if (credfile_env("AWS_REGION")) {
        region = credfile_env("AWS_REGION");
        region_from = "AWS_REGION";
    } else if (credfile_env("AWS_DEFAULT_REGION")) {
        region = credfile_env("AWS_DEFAULT_REGION");
        region_from = "AWS_DEFAULT_REGION";
    } else if (cred.region != NULL || conf.region != NULL) {
        region = cred.region ? cred.region : conf.region;
        if (asprintf(&region_from_owned, "profile '%s' in %s", profile, cred.region ? cred_shown : conf_shown) < 0) {
            snprintf(err, err_size, "out of memory");
            goto done;
        }
        region_from = region_from_owned;
    }
    if (region == NULL) {
        snprintf(err, err_size,
                 "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), put region = ... in %s of %s, or give "
                 "`%%platform aws region=NAME`",
                 conf_form, conf_shown);
        goto done;
    }
    if (!aws_valid_region(region)) {
        snprintf(err, err_size, "AWS region '%.64s' (%s) is not a region name such as us-east-1", region, region_from);
        free(region_from_owned);
        goto done;
    }
    c->region = strdup(region);
    c->region_from = region_from_owned ? region_from_owned : strdup(region_from);
    if (c->region == NULL || c->region_from == NULL) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }

    /* The endpoint. */
    char service_var[96];
    int n = snprintf(service_var, sizeof service_var, "AWS_ENDPOINT_URL_%s", c->service);
    for (int i = 17; i < n && i < (int)sizeof service_var; i++) {
        char ch = service_var[i];
        service_var[i] = ch == '-' ? '_' : ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
    }
    const char *endpoint = NULL, *endpoint_from = NULL;
    if (options->endpoint != NULL && options->endpoint[0] != '\0') {
        endpoint = options->endpoint;
        endpoint_from = "the platform options";
    } else if (credfile_env(service_var)) {
        endpoint = credfile_env(service_var);
        endpoint_from = service_var;
    } else if (credfile_env("AWS_ENDPOINT_URL")) {
        endpoint = credfile_env("AWS_ENDPOINT_URL");
        endpoint_from = "AWS_ENDPOINT_URL";
    }
    if (endpoint != NULL) {
        char host[300];
        if (sigv4_host_from_url(endpoint, host, sizeof host) < 0 || strpbrk(endpoint, " \t\r\n") != NULL) {
            snprintf(err, err_size, "the endpoint (%s) is not an http:// or https:// URL: '%.200s'", endpoint_from,
                     endpoint);
            goto done;
        }
        c->endpoint = strdup(endpoint);
        if (c->endpoint != NULL) {
            size_t len = strlen(c->endpoint);
            while (len > 0 && c->endpoint[len - 1] == '/')
                c->endpoint[--len] = '\0';
        }
        c->endpoint_from = strdup(endpoint_from);
    } else {
        if (asprintf(&c->endpoint, "https://%s.%s.amazonaws.com%s", c->service, c->region,
                     strncmp(c->region, "cn-", 3) == 0 ? ".cn" : "") < 0)
            c->endpoint = NULL;
        c->endpoint_from = strdup("the default");
    }
    if (c->endpoint == NULL || c->endpoint_from == NULL) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }

    /* The CA bundle for https, as botocore takes it. */
    if (credfile_env("AWS_CA_BUNDLE")) {
        c->ca_bundle = strdup(credfile_env("AWS_CA_BUNDLE"));
        c->ca_bundle_from = strdup("AWS_CA_BUNDLE");
    } else if (conf.ca_bundle != NULL) {
        c->ca_bundle = strdup(conf.ca_bundle);
        if (asprintf(&c->ca_bundle_from, "ca_bundle of profile '%s' in %s", profile, conf_shown) < 0)
            c->ca_bundle_from = NULL;
    }
    if (c->ca_bundle != NULL && c->ca_bundle_from == NULL) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    status = 0;
    *out = c;
    c = NULL;
done:
    aws_credentials_free(c);
    aws_section_free(&cred);
    aws_section_free(&conf);
    free(home);
    free(cred_path);
    free(conf_path);
    free(cred_shown);
    free(conf_shown);
    return status;
}

void aws_credentials_signing(const struct aws_credentials *c, struct sigv4_credentials *out)
{
    out->access_key_id = c->access_key_id;
    out->secret_access_key = c->secret_access_key;
    out->session_token = c->session_token;
}

const char *aws_credentials_region(const struct aws_credentials *c)
{
    return c->region;
}

const char *aws_credentials_service(const struct aws_credentials *c)
{
    return c->service;
}

const char *aws_credentials_endpoint(const struct aws_credentials *c)
{
    return c->endpoint;
}

const char *aws_credentials_ca_bundle(const struct aws_credentials *c, const char **from)
{
    if (from != NULL)
        *from = c->ca_bundle_from;
    return c->ca_bundle;
}

const char *aws_credentials_profile(const struct aws_credentials *c)
{
    return c->profile;
}

void aws_credentials_describe(const struct aws_credentials *c, char *buf, size_t size)
{
    char masked[32];
    aws_credentials_mask(c->access_key_id, masked, sizeof masked);
    snprintf(buf, size, "access key %s%s from %s; region %s from %s; endpoint %s%s%s", masked,
             c->session_token ? " (with session token)" : "", c->keys_from, c->region, c->region_from, c->endpoint,
             strcmp(c->endpoint_from, "the default") == 0 ? "" : " from ",
             strcmp(c->endpoint_from, "the default") == 0 ? "" : c->endpoint_from);
}
