/* cloud_options: parsing and validation of cloud function options (see
 * cloud_options.h). Values may be strings (a magic line) or JSON values (the
 * decorator); each reader accepts both. */
#include "cloud_options.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "suggest.h"
#include "platform.h"

const char *const cloud_option_keys[] = {
    "platforms", "memory", "timeout", "arch", "runtime", "name", "deploy", "force", "run", "env", "remote", "image",
    "max_instances", "allow_unauthenticated", "role", "architecture", "requirements", "requirements_file",
    "containerize", "image_base", "registry", NULL,
};

/* Integer from a JSON integer or a decimal string, within [MIN, MAX]. */
static int cloud_read_int(const char *key, const json_t *value, int min, int max, const char *unit, int *out, char *err,
                          size_t err_size)
{
    long long n = 0;
    int ok = 0;
    if (json_is_integer(value)) {
        n = json_integer_value(value);
        ok = 1;
    } else if (json_is_string(value) && *json_string_value(value)) {
        char *end = NULL;
        n = strtoll(json_string_value(value), &end, 10);
        ok = *end == '\0';
    }
    if (!ok || n < min || n > max) {
        snprintf(err, err_size, "%s must be a whole number of %s from %d to %d", key, unit, min, max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int cloud_read_bool(const char *key, const json_t *value, int *out, char *err, size_t err_size)
{
    const char *text = json_string_value(value);
    if (json_is_boolean(value))
        *out = json_is_true(value);
    else if (text != NULL && (strcmp(text, "true") == 0 || strcmp(text, "True") == 0))
        *out = 1;
    else if (text != NULL && (strcmp(text, "false") == 0 || strcmp(text, "False") == 0))
        *out = 0;
    else {
        snprintf(err, err_size, "%s must be true or false", key);
        return -1;
    }
    return 0;
}

static int cloud_read_choice(const char *key, const json_t *value, const char *const *choices, char *out,
                             size_t out_size, char *err, size_t err_size)
{
    const char *text = json_string_value(value);
    for (size_t i = 0; text != NULL && choices[i] != NULL; i++) {
        if (strcmp(text, choices[i]) == 0) {
            snprintf(out, out_size, "%s", text);
            return 0;
        }
    }
    snprintf(err, err_size, "%s must be one of", key);
    for (size_t i = 0; choices[i] != NULL; i++)
        buffer_appendf_fixed(err, err_size, "%s %s", i ? "," : "", choices[i]);
    return -1;
}

static int cloud_add_platform(struct cloud_options *o, const char *name, size_t len, char *err, size_t err_size)
{
    char platform[32];
    snprintf(platform, sizeof platform, "%.*s", (int)(len < 31 ? len : 31), name);
    if (!platforms_is_known(platform) || len >= sizeof o->platforms[0]) {
        char names[128];
        platforms_name_list(names, sizeof names);
        snprintf(err, err_size, "platforms: unknown platform '%s'; choose from %s", platform, names);
        return -1;
    }
    const char *canonical = platforms_canonical(platform); /* "openwhisk" is kept as "ibm" */
    if (canonical != platform)
        snprintf(platform, sizeof platform, "%s", canonical);
    len = strlen(platform);
    for (int i = 0; i < o->platform_count; i++)
        if (strcmp(o->platforms[i], platform) == 0)
            return 0;
    if (o->platform_count == CLOUD_MAX_PLATFORMS) {
        snprintf(err, err_size, "platforms: at most %d platforms", CLOUD_MAX_PLATFORMS);
        return -1;
    }
    memcpy(o->platforms[o->platform_count++], platform, len + 1); /* len < sizeof o->platforms[0], checked above */
    return 0;
}

static int cloud_read_platforms(const json_t *value, struct cloud_options *o, char *err, size_t err_size)
{
    if (json_is_string(value)) {
        const char *text = json_string_value(value);
        while (*text) {
            size_t len = strcspn(text, ",");
            while (len > 0 && *text == ' ')
                text++, len--;
            if (len > 0 && cloud_add_platform(o, text, len, err, err_size) < 0)
                return -1;
            text += len + (text[len] == ',');
        }
    } else if (json_is_array(value)) {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item) {
            if (!json_is_string(item) ||
                cloud_add_platform(o, json_string_value(item), json_string_length(item), err, err_size) < 0) {
                if (!json_is_string(item))
                    snprintf(err, err_size, "platforms must be a list of platform names");
                return -1;
            }
        }
    }
    if (o->platform_count == 0) {
        char names[128];
        platforms_name_list(names, sizeof names);
        snprintf(err, err_size, "platforms must name at least one of %s", names);
        return -1;
    }
    return 0;
}

static int cloud_env_key_ok(const char *key, size_t len)
{
    if (len == 0 || !(isalpha((unsigned char)key[0]) || key[0] == '_'))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)key[i]) || key[i] == '_'))
            return 0;
    return 1;
}

static int cloud_read_env(const json_t *value, struct cloud_options *o, char *err, size_t err_size)
{
    if (json_is_object(value)) {
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)value, key, item) {
            if (!cloud_env_key_ok(key, strlen(key)) || !json_is_string(item)) {
                snprintf(err, err_size, "env: '%s' must be a variable name with a string value", key);
                return -1;
            }
            json_object_set(o->env, key, item);
        }
    } else if (json_is_string(value)) {
        const char *text = json_string_value(value);
        while (*text) {
            size_t len = strcspn(text, ";");
            const char *equals = memchr(text, '=', len);
            if (len > 0 && (equals == NULL || !cloud_env_key_ok(text, (size_t)(equals - text)))) {
                snprintf(err, err_size, "env must look like KEY=VALUE;KEY2=VALUE2 (at '%.*s')", (int)len, text);
                return -1;
            }
            if (len > 0) {
                char key[256];
                snprintf(key, sizeof key, "%.*s", (int)(equals - text), text);
                json_object_set_new(o->env, key, json_stringn(equals + 1, len - (size_t)(equals - text) - 1));
            }
            text += len + (text[len] == ';');
        }
    } else {
        snprintf(err, err_size, "env must be KEY=VALUE;KEY2=VALUE2 or a dict of strings");
        return -1;
    }
    char *dumped = json_dumps(o->env, JSON_COMPACT);
    size_t size = dumped ? strlen(dumped) : 0;
    free(dumped);
    if (size > 4096) {
        snprintf(err, err_size, "env is %zu bytes; platforms allow at most 4 KB of environment variables", size);
        return -1;
    }
    return 0;
}

static int cloud_read_name(const json_t *value, struct cloud_options *o, char *err, size_t err_size)
{
    const char *text = json_string_value(value);
    size_t len = text ? strlen(text) : 0;
    int ok = len > 0 && len < sizeof o->name && (isalpha((unsigned char)text[0]) || text[0] == '_');
    for (size_t i = 1; ok && i < len; i++)
        ok = isalnum((unsigned char)text[i]) || text[i] == '_';
    if (!ok) {
        snprintf(err, err_size, "name must be a Python identifier of at most %zu characters (letters, digits, _)",
                 sizeof o->name - 1);
        return -1;
    }
    snprintf(o->name, sizeof o->name, "%s", text);
    return 0;
}

/* remote=: a platform's function name or ARN (letters, digits, - _ : / . $). */
static int cloud_read_remote(const json_t *value, struct cloud_options *o, char *err, size_t err_size)
{
    const char *text = json_string_value(value);
    size_t len = text ? strlen(text) : 0;
    int ok = len > 0 && len < sizeof o->remote;
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)text[i]) || strchr("-_:/.$", text[i]) != NULL;
    if (!ok) {
        snprintf(err, err_size, "remote must be the platform's name or ARN for the function, at most %zu characters "
                 "(letters, digits, - _ : / . $)", sizeof o->remote - 1);
        return -1;
    }
    snprintf(o->remote, sizeof o->remote, "%s", text);
    return 0;
}

/* image=, image_base= and registry=: a container image URI or reference,
 * or a registry host with an optional namespace; oci_push parses the
 * latter two whole when it builds. Printable, no quotes or backslashes. */
static int cloud_read_image_text(const char *key, const json_t *value, char **out, char *err, size_t err_size)
{
    const char *text = json_string_value(value);
    size_t len = text ? strlen(text) : 0;
    int ok = len > 0 && len < 512;
    for (size_t i = 0; ok && i < len; i++)
        ok = isgraph((unsigned char)text[i]) && text[i] != '"' && text[i] != '\\';
    if (!ok) {
        snprintf(err, err_size, "%s must be %s", key,
                 strcmp(key, "image") == 0
                     ? "a container image URI such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag"
                 : strcmp(key, "registry") == 0
                     ? "a registry, HOST[:PORT][/NAMESPACE], such as 123456789012.dkr.ecr.us-east-1.amazonaws.com"
                     : "an image reference such as public.ecr.aws/lambda/python:3.12");
        return -1;
    }
    free(*out);
    *out = strdup(text);
    return 0;
}

/* role=: an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME); the aws adapter checks it whole. */
static int cloud_read_role(const json_t *value, struct cloud_options *o, char *err, size_t err_size)
{
    const char *text = json_string_value(value);
    size_t len = text ? strlen(text) : 0;
    int ok = len > 4 && len < 2048 && strncmp(text, "arn:", 4) == 0 && strstr(text, ":role/") != NULL;
    for (size_t i = 0; ok && i < len; i++)
        ok = isgraph((unsigned char)text[i]) && text[i] != '"' && text[i] != '\\';
    if (!ok) {
        snprintf(err, err_size, "role must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME");
        return -1;
    }
    free(o->role);
    o->role = strdup(text);
    return 0;
}

static int cloud_read_runtime(const json_t *value, struct cloud_options *o, char *err, size_t err_size)
{
    const char *text = json_string_value(value);
    int minor = -1, used = 0;
    if (text == NULL || sscanf(text, "python3.%d%n", &minor, &used) != 1 || text[used] != '\0' || minor < 8 ||
        minor > 13) {
        snprintf(err, err_size, "runtime must be python3.8 to python3.13, such as python3.12");
        return -1;
    }
    snprintf(o->runtime, sizeof o->runtime, "%s", text);
    return 0;
}

/* 1 when TEXT has a line that is not blank or a comment. */
int cloud_options_names_requirements(const char *text)
{
    while (text != NULL && *text) {
        size_t len = strcspn(text, "\n");
        size_t skip = strspn(text, " \t\r");
        if (skip < len && text[skip] != '#')
            return 1;
        text += len + (text[len] == '\n');
    }
    return 0;
}

/* Several requirements on one magic line (requirements="a==1.0 b"): the
 * blanks between them become line breaks, while a blank next to an
 * operator or marker ("a >= 1.0", "a ; python_version < '3.9'", "a @ URL")
 * stays inside its requirement. */
static void cloud_split_requirement_line(char *line)
{
    static const char joins[] = "<>=!~,;@[(";
    for (char *p = line; *p; p++) {
        if (*p != ' ' && *p != '\t')
            continue;
        char *before = p, *after = p;
        while (before > line && (before[-1] == ' ' || before[-1] == '\t'))
            before--;
        while (*after == ' ' || *after == '\t')
            after++;
        if (before > line && *after && strchr(joins, before[-1]) == NULL && strchr(joins, *after) == NULL)
            *p = '\n';
        p = after - 1;
    }
}

/* requirements=: requirements.txt text, or a list of requirement strings (one a line). */
static int cloud_read_requirements(const json_t *value, struct cloud_options *o, char *err, size_t err_size)
{
    struct buffer text = {0};
    if (json_is_string(value)) {
        buffer_puts(&text, json_string_value(value));
    } else if (json_is_array(value)) {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item) {
            if (!json_is_string(item)) {
                buffer_free(&text);
                snprintf(err, err_size, "requirements must be a list of strings such as \"requests==2.31.0\"");
                return -1;
            }
            buffer_printf(&text, "%s\n", json_string_value(item));
        }
    } else {
        snprintf(err, err_size, "requirements must be text in requirements.txt format or a list of requirements");
        return -1;
    }
    buffer_append(&text, "", 1);
    if (text.failed) {
        buffer_free(&text);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    if (json_is_string(value) && strchr(text.data, '\n') == NULL)
        cloud_split_requirement_line(text.data);
    free(o->requirements);
    o->requirements = NULL;
    if (cloud_options_names_requirements(text.data))
        o->requirements = strdup(text.data);
    buffer_free(&text);
    return 0;
}

static int cloud_read_option(const char *key, const json_t *value, struct cloud_options *o, char *err, size_t err_size)
{
    static const char *const arches[] = {"x86_64", "arm64", NULL};
    static const char *const runs[] = {"cloud", "local", "none", NULL};
    if (strcmp(key, "platforms") == 0)
        return cloud_read_platforms(value, o, err, err_size);
    if (strcmp(key, "memory") == 0)
        return cloud_read_int(key, value, CLOUD_MEMORY_MIN, CLOUD_MEMORY_MAX, "MB", &o->memory_mb, err, err_size);
    if (strcmp(key, "timeout") == 0)
        return cloud_read_int(key, value, CLOUD_TIMEOUT_MIN, CLOUD_TIMEOUT_MAX, "seconds", &o->timeout_s, err, err_size);
    if (strcmp(key, "max_instances") == 0)
        return cloud_read_int(key, value, 1, CLOUD_MAX_INSTANCES_MAX, "instances", &o->max_instances, err, err_size);
    if (strcmp(key, "allow_unauthenticated") == 0) {
        int allow = 0;
        if (cloud_read_bool(key, value, &allow, err, err_size) < 0)
            return -1;
        o->allow_unauthenticated = allow ? 1 : -1;
        return 0;
    }
    if (strcmp(key, "arch") == 0 || strcmp(key, "architecture") == 0)
        return cloud_read_choice(key, value, arches, o->arch, sizeof o->arch, err, err_size);
    if (strcmp(key, "run") == 0)
        return cloud_read_choice(key, value, runs, o->run, sizeof o->run, err, err_size);
    if (strcmp(key, "runtime") == 0)
        return cloud_read_runtime(value, o, err, err_size);
    if (strcmp(key, "name") == 0)
        return json_is_null(value) ? 0 : cloud_read_name(value, o, err, err_size);
    if (strcmp(key, "remote") == 0)
        return json_is_null(value) ? 0 : cloud_read_remote(value, o, err, err_size);
    if (strcmp(key, "image") == 0)
        return json_is_null(value) ? 0 : cloud_read_image_text(key, value, &o->image, err, err_size);
    if (strcmp(key, "role") == 0)
        return json_is_null(value) ? 0 : cloud_read_role(value, o, err, err_size);
    if (strcmp(key, "containerize") == 0)
        return json_is_null(value) ? 0 : cloud_read_bool(key, value, &o->containerize, err, err_size);
    if (strcmp(key, "image_base") == 0)
        return json_is_null(value) ? 0 : cloud_read_image_text(key, value, &o->image_base, err, err_size);
    if (strcmp(key, "registry") == 0)
        return json_is_null(value) ? 0 : cloud_read_image_text(key, value, &o->registry, err, err_size);
    if (strcmp(key, "deploy") == 0)
        return cloud_read_bool(key, value, &o->deploy, err, err_size);
    if (strcmp(key, "force") == 0)
        return cloud_read_bool(key, value, &o->force, err, err_size);
    if (strcmp(key, "env") == 0)
        return cloud_read_env(value, o, err, err_size);
    if (strcmp(key, "requirements") == 0)
        return json_is_null(value) ? 0 : cloud_read_requirements(value, o, err, err_size);
    if (strcmp(key, "requirements_file") == 0) {
        if (json_is_null(value))
            return 0;
        if (!json_is_string(value) || json_string_length(value) == 0 || json_string_length(value) > 1024) {
            snprintf(err, err_size, "requirements_file must be the path of a requirements.txt file");
            return -1;
        }
        free(o->requirements_file);
        o->requirements_file = strdup(json_string_value(value));
        return 0;
    }
    const char *nearest = suggest_nearest(key, cloud_option_keys);
    snprintf(err, err_size, "unknown option '%s'", key);
    if (nearest != NULL)
        buffer_appendf_fixed(err, err_size, " (did you mean '%s'?)", nearest);
    buffer_appendf_fixed(err, err_size, "; known options: platforms, memory, timeout, arch, runtime, name, deploy, "
                         "force, run, env, remote, image, max_instances, allow_unauthenticated, role, "
                         "requirements, requirements_file, containerize, image_base, registry");
    return -1;
}

int cloud_options_parse(const json_t *raw, const char *default_platform, struct cloud_options *o, char *err,
                        size_t err_size)
{
    memset(o, 0, sizeof *o);
    o->memory_mb = 128;
    o->timeout_s = 30;
    o->deploy = 1;
    strcpy(o->arch, "x86_64");
    strcpy(o->runtime, "python3.12");
    strcpy(o->run, "cloud");
    o->env = json_object();
    if (o->env == NULL || !json_is_object(raw)) {
        snprintf(err, err_size, "options must be key=value pairs");
        return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)raw, key, value) {
        if (cloud_read_option(key, value, o, err, err_size) < 0)
            return -1;
    }
    if (o->platform_count == 0) {
        snprintf(o->platforms[0], sizeof o->platforms[0], "%s", default_platform);
        o->platform_count = 1;
    }
    if (o->image_base != NULL)
        o->containerize = 1;
    if (o->containerize && o->image != NULL) {
        snprintf(err, err_size, "give image= (an image you built) or containerize=True / image_base= (the kernel "
                 "builds it), not both");
        return -1;
    }
    if (!o->containerize && o->registry != NULL) {
        snprintf(err, err_size, "registry= is where containerize=True pushes the image it builds: add "
                 "containerize=True, or leave registry= out");
        return -1;
    }
    return 0;
}

void cloud_options_free(struct cloud_options *o)
{
    json_decref(o->env);
    free(o->requirements);
    free(o->requirements_file);
    free(o->image);
    free(o->image_base);
    free(o->registry);
    free(o->role);
    o->image_base = NULL;
    o->registry = NULL;
    o->env = NULL;
    o->requirements = NULL;
    o->requirements_file = NULL;
    o->image = NULL;
    o->role = NULL;
}

json_t *cloud_options_from_line(const char *line, char *err, size_t err_size)
{
    json_t *options = json_object();
    const char *p = line;
    while (options != NULL) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '\n' || *p == '#')
            break;
        const char *key = p;
        while (*p && *p != '=' && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        if (*p != '=') {
            snprintf(err, err_size, "'%.*s' is not key=value", (int)(p - key), key);
            json_decref(options);
            return NULL;
        }
        size_t key_size = (size_t)(p - key);
        p++;
        char quote = (*p == '"' || *p == '\'') ? *p++ : 0;
        const char *value = p;
        while (*p && *p != '\n' && (quote ? *p != quote : (*p != ' ' && *p != '\t')))
            p++;
        size_t value_size = (size_t)(p - value);
        int unclosed = quote && *p != quote;
        if (quote && !unclosed)
            p++;
        json_t *name = json_stringn(key, key_size);
        json_t *text = json_stringn(value, value_size);
        if (name == NULL || text == NULL || unclosed) {
            if (name == NULL)
                snprintf(err, err_size, "an option's name is not valid UTF-8 text");
            else if (text == NULL)
                snprintf(err, err_size, "the value of %s is not valid UTF-8 text", json_string_value(name));
            else
                snprintf(err, err_size, "the value of %s has no closing %c", json_string_value(name), quote);
            json_decref(name);
            json_decref(text);
            json_decref(options);
            return NULL;
        }
        json_object_setn_new(options, key, key_size, text);
        json_decref(name);
    }
    return options;
}
