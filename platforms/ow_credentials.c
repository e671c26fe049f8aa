/* ow_credentials: OpenWhisk's API host, key and namespace, found where
 * wsk and the openwhisk client libraries find them (see ow_credentials.h).
 *
 * Each setting is looked up on its own: explicit, then environment, then
 * the properties file, which is read only when a setting is still missing
 * after the first two. The file is wsk's format: "KEY=VALUE" lines (both
 * sides trimmed, a later value replaces an earlier one), blank lines and
 * "#" comments. A line that is none of these is an error naming the file
 * and the line number, never the line's text (it may hold the key).
 *
 * The key is kept only as the ready Authorization header and its UUID part
 * (for the description); the header, and the file's text, are wiped
 * before they are freed. An IBM Cloud API key is kept as it is (ow_iam
 * exchanges it), wiped too; its file is read only when named, and is
 * either the bare key or ibmcloud's JSON with "apikey". */
#include "ow_credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credfile.h"
#include "fsutil.h"

#define OW_FILE_MAX (1u << 20)
#define OW_APIKEY_FILE_MAX (64u * 1024)
#define OW_NAMESPACE_MAX 256
#define OW_IAM_DEFAULT "https://iam.cloud.ibm.com"
#define OW_IAM_TOKEN_PATH "/identity/token"

struct ow_credentials {
    char *apihost, *ns, *authorization, *uuid;
    char *apikey, *token_url;                       /* an IBM Cloud API key and IAM's token URL, or NULL */
    const char *apihost_from, *auth_from, *ns_from; /* static texts or the *_where strings below */
    char *file_shown;                               /* the properties file, for people */
    char *apihost_where, *auth_where, *ns_where;    /* "FILE (KEY)" when a setting came from the file */
};

/* The settings of the properties file. */
struct ow_props {
    char *apihost, *auth, *ns;
};

static void ow_props_free(struct ow_props *p)
{
    free(p->apihost);
    credfile_wipe_free(p->auth);
    free(p->ns);
    memset(p, 0, sizeof *p);
}

static const char *ow_given(const char *value)
{
    return value != NULL && value[0] != '\0' ? value : NULL;
}

static char *ow_trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

static int ow_set(char **slot, const char *value, int secret)
{
    char *copy = strdup(value);
    if (copy == NULL)
        return -1;
    if (secret)
        credfile_wipe_free(*slot);
    else
        free(*slot);
    *slot = copy;
    return 0;
}

/* Parses TEXT (NUL-terminated, modified) into P. Returns 0, or -1 with ERR. */
static int ow_parse(char *text, const char *shown, struct ow_props *p, char *err, size_t err_size)
{
    unsigned line_number = 0;
    char *line = text;
    while (*line != '\0') {
        line_number++;
        char *end = strchr(line, '\n');
        char *next = end != NULL ? end + 1 : line + strlen(line);
        if (end == NULL)
            end = line + strlen(line);
        char *t = ow_trim(line, end);
        line = next;
        if (*t == '\0' || *t == '#')
            continue;
        char *equals = strchr(t, '=');
        if (equals == NULL || equals == t) {
            snprintf(err, err_size, "%s line %u: expected KEY=VALUE or a # comment", shown, line_number);
            return -1;
        }
        char *key = ow_trim(t, equals);
        char *value = ow_trim(equals + 1, equals + 1 + strlen(equals + 1));
        int failed = 0;
        if (strcmp(key, "APIHOST") == 0)
            failed = ow_set(&p->apihost, value, 0);
        else if (strcmp(key, "AUTH") == 0)
            failed = ow_set(&p->auth, value, 1);
        else if (strcmp(key, "NAMESPACE") == 0)
            failed = ow_set(&p->ns, value, 0);
        if (failed) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Reads PATH into P. Returns 1 when read (a character device like
 * /dev/null reads as empty), 0 when there is no such file, -1 with ERR. */
static int ow_read(const char *path, const char *shown, struct ow_props *p, char *err, size_t err_size)
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
    else if (S_ISCHR(st.st_mode)) {
        close(fd);
        return 1;
    } else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_size > OW_FILE_MAX)
        why = "larger than 1 MiB";
    if (why != NULL) {
        snprintf(err, err_size, "cannot read %s: %s", shown, why);
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size + 1, size = 0;
    char *text = malloc(cap);
    int failed = 0;
    if (text == NULL) {
        close(fd);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
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
        failed = ow_parse(text, shown, p, err, err_size) < 0;
    sodium_memzero(text, cap);
    free(text);
    return failed ? -1 : 1;
}

/* Whether S is printable ASCII without spaces (hosts, keys, namespaces). */
static int ow_plain(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s <= ' ' || *s >= 0x7f)
            return 0;
    return 1;
}

/* The API host as wsk makes it: https:// unless a scheme is given, no trailing '/'. */
static char *ow_normalise_host(const char *host)
{
    char *url = NULL;
    int has_scheme = strncmp(host, "https://", 8) == 0 || strncmp(host, "http://", 7) == 0;
    if (asprintf(&url, "%s%s", has_scheme ? "" : "https://", host) < 0)
        return NULL;
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    return url;
}

/* The "Basic ..." header for AUTH. NULL when out of memory. */
static char *ow_basic(const char *auth)
{
    size_t n = strlen(auth), encoded = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *header = malloc(6 + encoded);
    if (header == NULL)
        return NULL;
    memcpy(header, "Basic ", 6);
    sodium_bin2base64(header + 6, encoded, (const unsigned char *)auth, n, sodium_base64_VARIANT_ORIGINAL);
    return header;
}

/* The IBM Cloud API key in PATH (SHOWN for messages): the file's one
 * word, or the "apikey" of the JSON ibmcloud writes. A new string, or NULL
 * with ERR (never the file's text). */
static char *ow_read_apikey(const char *path, const char *shown, char *err, size_t err_size)
{
    size_t size = 0;
    struct stat st;
    if (stat(path, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_size > OW_APIKEY_FILE_MAX)) {
        snprintf(err, err_size, "iam_apikey_file=%s is not an API key file (a regular file under 64 KiB)", shown);
        return NULL;
    }
    char *text = fsutil_read(path, &size);
    if (text == NULL) {
        snprintf(err, err_size, "cannot read iam_apikey_file=%s: %s", shown, strerror(errno));
        return NULL;
    }
    char *key = NULL;
    char *start = text, *end = text + size;
    while (start < end && (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r'))
        start++;
    if (*start == '{') {
        json_t *json = json_loadb(text, size, 0, NULL);
        const char *value = json_string_value(json_object_get(json, "apikey"));
        if (value != NULL && value[0] != '\0' && ow_plain(value))
            key = strdup(value);
        json_decref(json);
    } else {
        while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
            end--;
        *end = '\0';
        if (*start != '\0' && ow_plain(start))
            key = strdup(start);
    }
    sodium_memzero(text, size);
    free(text);
    if (key == NULL)
        snprintf(err, err_size, "iam_apikey_file=%s holds no API key: it must hold the key alone, or the JSON "
                 "`ibmcloud iam api-key-create NAME --file FILE` writes", shown);
    return key;
}

/* IAM's token URL from the explicit endpoint, IBMCLOUD_IAM_API_ENDPOINT or
 * IBM's, with /identity/token added unless there. NULL with ERR. */
static char *ow_token_url(const char *explicit_endpoint, char *err, size_t err_size)
{
    const char *from = "iam_endpoint=", *endpoint = ow_given(explicit_endpoint);
    if (endpoint == NULL && (endpoint = credfile_env("IBMCLOUD_IAM_API_ENDPOINT")) != NULL)
        from = "IBMCLOUD_IAM_API_ENDPOINT";
    if (endpoint == NULL)
        endpoint = OW_IAM_DEFAULT;
    if ((strncmp(endpoint, "https://", 8) != 0 && strncmp(endpoint, "http://", 7) != 0) || !ow_plain(endpoint)) {
        snprintf(err, err_size, "the IAM endpoint from %s is not an http:// or https:// URL (IBM's is %s)", from,
                 OW_IAM_DEFAULT);
        return NULL;
    }
    size_t n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    size_t path = strlen(OW_IAM_TOKEN_PATH);
    int has_path = n >= path && strncmp(endpoint + n - path, OW_IAM_TOKEN_PATH, path) == 0;
    char *url = NULL;
    if (asprintf(&url, "%.*s%s", (int)n, endpoint, has_path ? "" : OW_IAM_TOKEN_PATH) < 0) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    return url;
}

/* PATH with a leading "~/" made the home's, as a shell reads it; a new string, NULL when out of memory. */
static char *ow_expand_home(const char *path, const char *home)
{
    char *expanded = NULL;
    if (strncmp(path, "~/", 2) != 0 || home == NULL)
        return strdup(path);
    return asprintf(&expanded, "%s%s", home, path + 1) < 0 ? NULL : expanded;
}

/* "FILE (KEY)". NULL when out of memory. */
static char *ow_where(const char *file, const char *key)
{
    char *where = NULL;
    if (asprintf(&where, "%s (%s)", file, key) < 0)
        return NULL;
    return where;
}

/* Picks each setting from explicit, environment or file into C. Returns 0 or -1 with ERR. */
static int ow_choose(struct ow_credentials *c, const struct ow_credentials_options *o, const struct ow_props *p,
                     const char *file, const char *home, char *err, size_t err_size)
{
    const char *apihost = ow_given(o->apihost), *auth = ow_given(o->auth), *ns = ow_given(o->ns);
    const char *apikey_file = ow_given(o->iam_apikey_file);
    c->apihost_from = c->auth_from = c->ns_from = "the explicit setting";
    if (apihost == NULL && (apihost = credfile_env("__OW_API_HOST")) != NULL)
        c->apihost_from = "__OW_API_HOST";
    /* the key: explicit (a file of an API key, or UUID:KEY), then __OW_API_KEY, IBM's variables, the file's AUTH */
    const char *apikey = NULL;
    if (apikey_file != NULL) {
        char *path = ow_expand_home(apikey_file, home);
        char *shown = credfile_shown_path(path, home);
        if (shown == NULL || asprintf(&c->auth_where, "%s (iam_apikey_file=)", shown) < 0) {
            free(path);
            free(shown);
            c->auth_where = NULL;
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        c->apikey = ow_read_apikey(path, shown, err, err_size);
        free(path);
        free(shown);
        if (c->apikey == NULL)
            return -1;
        apikey = c->apikey;
        c->auth_from = c->auth_where;
        auth = NULL;
    }
    if (apikey == NULL && auth == NULL && (auth = credfile_env("__OW_API_KEY")) != NULL)
        c->auth_from = "__OW_API_KEY";
    if (apikey == NULL && auth == NULL) {
        static const char *const ibm_variables[] = {"IBMCLOUD_API_KEY", "IC_API_KEY", NULL};
        for (size_t i = 0; apikey == NULL && ibm_variables[i] != NULL; i++)
            if ((apikey = credfile_env(ibm_variables[i])) != NULL)
                c->auth_from = ibm_variables[i];
    }
    if (ns == NULL && (ns = credfile_env("__OW_NAMESPACE")) != NULL)
        c->ns_from = "__OW_NAMESPACE";
    if (apihost == NULL && p->apihost != NULL && p->apihost[0] != '\0') {
        apihost = p->apihost;
        c->apihost_from = c->apihost_where = ow_where(file, "APIHOST");
    }
    if (apikey == NULL && auth == NULL && p->auth != NULL && p->auth[0] != '\0') {
        auth = p->auth;
        c->auth_from = c->auth_where = ow_where(file, "AUTH");
    }
    if (ns == NULL && p->ns != NULL && p->ns[0] != '\0') {
        ns = p->ns;
        c->ns_from = c->ns_where = ow_where(file, "NAMESPACE");
    }
    if (c->apihost_from == NULL || c->auth_from == NULL || c->ns_from == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    const char *where = file != NULL ? file : "~/.wskprops";
    if (apihost == NULL) {
        snprintf(err, err_size, "no OpenWhisk API host: set apihost= in %%platform ibm, __OW_API_HOST, or APIHOST in "
                 "%s (wsk property set --apihost ...)", where);
        return -1;
    }
    if (apikey == NULL && auth == NULL) {
        snprintf(err, err_size, "no OpenWhisk key: set __OW_API_KEY, or AUTH in %s (wsk property set --auth ...), "
                 "or for an IAM-based namespace an IBM Cloud API key in IBMCLOUD_API_KEY or a file named by "
                 "%%platform ibm iam_apikey_file=", where);
        return -1;
    }
    const char *colon = auth != NULL ? strchr(auth, ':') : NULL;
    if (auth != NULL && (colon == NULL || colon == auth || colon[1] == '\0' || !ow_plain(auth))) {
        snprintf(err, err_size, "the OpenWhisk key from %s is not UUID:KEY (the form of wsk's AUTH)", c->auth_from);
        return -1;
    }
    if (apikey != NULL && !ow_plain(apikey)) {
        snprintf(err, err_size, "the IBM Cloud API key from %s has spaces or other characters no API key has",
                 c->auth_from);
        return -1;
    }
    if (!ow_plain(apihost) || strcmp(apihost, "https://") == 0 || strcmp(apihost, "http://") == 0) {
        snprintf(err, err_size, "the OpenWhisk API host from %s is not a host name or URL", c->apihost_from);
        return -1;
    }
    if (ns == NULL && apikey != NULL) {
        snprintf(err, err_size, "an IAM-based namespace is named by its ID: set %%platform ibm namespace=ID (ibmcloud "
                 "fn namespace get NAME --properties shows it) to use the IBM Cloud API key from %s", c->auth_from);
        return -1;
    }
    if (ns == NULL) {
        ns = "_";
        c->ns_from = "the default (the key's own)";
    }
    if (strlen(ns) > OW_NAMESPACE_MAX || !ow_plain(ns) || strchr(ns, '/') != NULL) {
        snprintf(err, err_size, "the OpenWhisk namespace from %s is not a namespace name (no '/', no spaces)",
                 c->ns_from);
        return -1;
    }
    if (apikey != NULL) {
        if (c->apikey == NULL && (c->apikey = strdup(apikey)) == NULL) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        if ((c->token_url = ow_token_url(o->iam_endpoint, err, err_size)) == NULL)
            return -1;
    }
    c->apihost = ow_normalise_host(apihost);
    c->ns = strdup(ns);
    if (auth != NULL) {
        c->authorization = ow_basic(auth);
        c->uuid = strndup(auth, (size_t)(colon - auth));
    }
    if (c->apihost == NULL || c->ns == NULL || (auth != NULL && (c->authorization == NULL || c->uuid == NULL))) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

/* The properties file: WSK_CONFIG_FILE (*REQUIRED set), else ~/.wskprops;
 * NULL (no error) when there is no home; -1 only when out of memory. */
static int ow_props_path(char **path, int *required)
{
    const char *given = credfile_env("WSK_CONFIG_FILE");
    *path = NULL;
    *required = given != NULL;
    if (given != NULL) {
        *path = strdup(given);
        return *path != NULL ? 0 : -1;
    }
    char *home = credfile_home();
    if (home == NULL)
        return 0;
    int status = asprintf(path, "%s/.wskprops", home) < 0 ? -1 : 0;
    if (status < 0)
        *path = NULL;
    free(home);
    return status;
}

int ow_credentials_load(const struct ow_credentials_options *options, struct ow_credentials **out, char *err,
                        size_t err_size)
{
    static const struct ow_credentials_options none = {NULL, NULL, NULL, NULL, NULL};
    const struct ow_credentials_options *o = options != NULL ? options : &none;
    struct ow_props props = {NULL, NULL, NULL};
    struct ow_credentials *c = calloc(1, sizeof *c);
    char *path = NULL, *home = NULL;
    int status = -1, required = 0;
    *out = NULL;
    if (c == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    int complete = (ow_given(o->apihost) != NULL || credfile_env("__OW_API_HOST") != NULL) &&
                   (ow_given(o->auth) != NULL || ow_given(o->iam_apikey_file) != NULL ||
                    credfile_env("__OW_API_KEY") != NULL || credfile_env("IBMCLOUD_API_KEY") != NULL ||
                    credfile_env("IC_API_KEY") != NULL) &&
                   (ow_given(o->ns) != NULL || credfile_env("__OW_NAMESPACE") != NULL);
    if (!complete) {
        if (ow_props_path(&path, &required) < 0)
            goto oom;
        if (path != NULL) {
            home = credfile_home();
            c->file_shown = credfile_shown_path(path, home);
            if (c->file_shown == NULL)
                goto oom;
            int read = ow_read(path, c->file_shown, &props, err, err_size);
            if (read < 0)
                goto done;
            if (read == 0 && required) {
                snprintf(err, err_size, "WSK_CONFIG_FILE names %s, which does not exist", c->file_shown);
                goto done;
            }
        }
    }
    if (home == NULL)
        home = credfile_home();
    status = ow_choose(c, o, &props, c->file_shown, home, err, err_size);
    goto done;
oom:
    snprintf(err, err_size, "out of memory");
done:
    ow_props_free(&props);
    free(path);
    free(home);
    if (status == 0)
        *out = c;
    else
        ow_credentials_free(c);
    return status;
}

void ow_credentials_free(struct ow_credentials *c)
{
    if (c == NULL)
        return;
    free(c->apihost);
    free(c->ns);
    credfile_wipe_free(c->authorization);
    credfile_wipe_free(c->apikey);
    free(c->token_url);
    free(c->uuid);
    free(c->file_shown);
    free(c->apihost_where);
    free(c->auth_where);
    free(c->ns_where);
    free(c);
}

const char *ow_credentials_apihost(const struct ow_credentials *c)
{
    return c->apihost;
}

const char *ow_credentials_namespace(const struct ow_credentials *c)
{
    return c->ns;
}

const char *ow_credentials_authorization(const struct ow_credentials *c)
{
    return c->authorization;
}

const char *ow_credentials_apikey(const struct ow_credentials *c)
{
    return c->apikey;
}

const char *ow_credentials_apikey_from(const struct ow_credentials *c)
{
    return c->apikey != NULL ? c->auth_from : NULL;
}

const char *ow_credentials_token_url(const struct ow_credentials *c)
{
    return c->token_url;
}

void ow_credentials_describe(const struct ow_credentials *c, char *buf, size_t size)
{
    if (c->apikey != NULL) {
        snprintf(buf, size, "IBM Cloud API key from %s (IAM at %s); API host %s from %s; namespace %s from %s",
                 c->auth_from, c->token_url, c->apihost, c->apihost_from, c->ns, c->ns_from);
        return;
    }
    snprintf(buf, size, "key %s from %s; API host %s from %s; namespace %s from %s", c->uuid, c->auth_from,
             c->apihost, c->apihost_from, c->ns, c->ns_from);
}
