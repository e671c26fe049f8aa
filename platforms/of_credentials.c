/* of_credentials: an OpenFaaS gateway's URL and Basic-auth credentials,
 * found where faas-cli finds them (see of_credentials.h).
 *
 * The gateway is settled first (explicit, OPENFAAS_URL, the default),
 * since faas-cli's config file keeps credentials per gateway. Then
 * OPENFAAS_PASSWORD, else the config file: its text is read whole, parsed
 * line by line into the entries of `auths:` (only the entry for our
 * gateway is kept), and wiped. A line that fits none of the forms
 * faas-cli writes is an error naming the file and the line number, never
 * the line's text (it may hold the token).
 *
 * The credentials are kept only as the ready Authorization header and the
 * user's name (for the description); the header is wiped before it is
 * freed. */
#include "of_credentials.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credfile.h"
#include "fsutil.h"

#define OF_DEFAULT_GATEWAY "http://127.0.0.1:8080"
#define OF_DEFAULT_USER "admin"
#define OF_VALUE_MAX 4096

struct of_credentials {
    char *gateway, *authorization, *user;
    const char *gateway_from, *auth_from;  /* static texts, or AUTH_WHERE */
    char *auth_where;                      /* "FILE (auths)" when the credentials came from the file */
};

/* The fields of the config file's entry for our gateway. */
struct of_entry {
    char gateway[OF_VALUE_MAX], auth[64], token[OF_VALUE_MAX];
};

static void of_entry_wipe(struct of_entry *entry)
{
    sodium_memzero(entry, sizeof *entry);
}

/* GIVEN as faas-cli makes a gateway URL: http:// unless a scheme is given, no trailing '/'. */
static char *of_normalise_gateway(const char *given)
{
    char *url = NULL;
    int has_scheme = strncmp(given, "https://", 8) == 0 || strncmp(given, "http://", 7) == 0;
    if (asprintf(&url, "%s%s", has_scheme ? "" : "http://", given) < 0)
        return NULL;
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    return url;
}

/* Printable ASCII without spaces. */
static int of_plain(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s <= ' ' || *s >= 0x7f)
            return 0;
    return 1;
}

/* A scalar's text: S trimmed, its quotes (single or double) taken off. */
static char *of_scalar(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    if (end - s >= 2 && (*s == '"' || *s == '\'') && end[-1] == *s) {
        end[-1] = '\0';
        s++;
    }
    return s;
}

/* Splits "key: value" (value may be empty); 0, or -1 when LINE is not that form. */
static int of_key_value(char *line, char **key, char **value)
{
    char *colon = strchr(line, ':');
    if (colon == NULL || colon == line || (colon[1] != '\0' && colon[1] != ' '))
        return -1;
    *colon = '\0';
    *key = line;
    *value = of_scalar(colon + 1);
    return strchr(*key, ' ') != NULL ? -1 : 0;
}

/* Keeps an entry's field KEY: VALUE in ENTRY (other fields are faas-cli's own). */
static void of_entry_set(struct of_entry *entry, const char *key, const char *value)
{
    if (strcmp(key, "gateway") == 0)
        snprintf(entry->gateway, sizeof entry->gateway, "%s", value);
    else if (strcmp(key, "auth") == 0)
        snprintf(entry->auth, sizeof entry->auth, "%s", value);
    else if (strcmp(key, "token") == 0)
        snprintf(entry->token, sizeof entry->token, "%s", value);
}

/* Whether ENTRY is for GATEWAY (both as faas-cli normalises them). */
static int of_entry_matches(const struct of_entry *entry, const char *gateway)
{
    char *url = entry->gateway[0] ? of_normalise_gateway(entry->gateway) : NULL;
    int matches = url != NULL && strcmp(url, gateway) == 0;
    free(url);
    return matches;
}

/* Parses faas-cli's config TEXT (modified) and copies the entry for GATEWAY into FOUND (*HAS set).
 * 0, or -1 with ERR naming the line. */
static int of_parse(char *text, const char *shown, const char *gateway, struct of_entry *found, int *has, char *err,
                    size_t err_size)
{
    struct of_entry current;
    int in_auths = 0, in_entry = 0;
    size_t key_indent = 0;
    unsigned number = 0;
    memset(&current, 0, sizeof current);
    *has = 0;
    for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
        number++;
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        size_t indent = strspn(line, " ");
        char *content = line + indent, *key, *value;
        if (*content == '#' || *of_scalar(content) == '\0')
            continue;
        int item = strncmp(content, "- ", 2) == 0;
        if (indent == 0 && !item) { /* a top-level key */
            if (of_key_value(content, &key, &value) < 0)
                goto bad;
            in_auths = strcmp(key, "auths") == 0;
            continue;
        }
        if (!in_auths)
            continue; /* inside another top-level key: faas-cli's own settings */
        if (item) {
            if (in_entry && !*has && of_entry_matches(&current, gateway)) {
                *found = current;
                *has = 1;
            }
            of_entry_wipe(&current);
            in_entry = 1;
            key_indent = indent + 2 + strspn(content + 2, " ");
            content += 2;
        } else if (!in_entry || indent < key_indent) {
            goto bad;
        } else if (indent > key_indent) {
            continue; /* a nested mapping (an entry's options) */
        }
        if (of_key_value(of_scalar(content), &key, &value) < 0)
            goto bad;
        of_entry_set(&current, key, value);
    }
    if (in_entry && !*has && of_entry_matches(&current, gateway)) {
        *found = current;
        *has = 1;
    }
    of_entry_wipe(&current);
    return 0;
bad:
    of_entry_wipe(&current);
    snprintf(err, err_size, "%s line %u: not the YAML faas-cli writes (auths: - gateway: URL, auth: basic, token: "
             "...); run `faas-cli login` again or fix that line", shown, number);
    return -1;
}

/* The config file's path: OPENFAAS_CONFIG/config.yml (*REQUIRED set) or ~/.openfaas/config.yml; NULL when no home. */
static char *of_config_path(int *required)
{
    const char *folder = credfile_env("OPENFAAS_CONFIG");
    char *path = NULL, *home = NULL;
    *required = folder != NULL;
    if (folder == NULL && (home = credfile_home()) == NULL)
        return NULL;
    if (asprintf(&path, "%s/%s", folder != NULL ? folder : home, folder != NULL ? "config.yml" : ".openfaas/config.yml")
        < 0)
        path = NULL;
    free(home);
    return path;
}

/* "Basic <base64 of USER:PASSWORD>"; NULL when out of memory. */
static char *of_basic(const char *user, const char *password)
{
    size_t n = strlen(user) + 1 + strlen(password);
    char *pair = malloc(n + 1);
    size_t encoded = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *header = malloc(6 + encoded);
    if (pair == NULL || header == NULL) {
        free(pair);
        free(header);
        return NULL;
    }
    snprintf(pair, n + 1, "%s:%s", user, password);
    memcpy(header, "Basic ", 6);
    sodium_bin2base64(header + 6, encoded, (const unsigned char *)pair, n, sodium_base64_VARIANT_ORIGINAL);
    credfile_wipe_free(pair);
    return header;
}

/* Reads the config file's entry for C's gateway into C. 1 when found, 0 when none, -1 with ERR. */
static int of_from_file(struct of_credentials *c, char *err, size_t err_size)
{
    int required = 0, status = -1;
    char *path = of_config_path(&required), *home = credfile_home();
    char *shown = path != NULL ? credfile_shown_path(path, home) : NULL;
    struct of_entry *entry = calloc(1, sizeof *entry);
    unsigned char *pair = NULL;
    size_t size = 0;
    char *text = NULL;
    free(home);
    if (path == NULL || entry == NULL || shown == NULL) {
        status = path == NULL && entry != NULL ? 0 : -1; /* no home: no file */
        if (status < 0)
            snprintf(err, err_size, "out of memory");
        goto done;
    }
    if ((text = fsutil_read(path, &size)) == NULL) {
        if ((errno == ENOENT || errno == ENOTDIR) && !required)
            status = 0;
        else if (errno == ENOENT || errno == ENOTDIR)
            snprintf(err, err_size, "OPENFAAS_CONFIG names a folder without config.yml (%s does not exist)", shown);
        else
            snprintf(err, err_size, "cannot read %s: %s", shown, strerror(errno));
        goto done;
    }
    int has = 0;
    if (strlen(text) != size) {
        snprintf(err, err_size, "cannot read %s: it holds a NUL byte", shown);
        goto done;
    }
    if (of_parse(text, shown, c->gateway, entry, &has, err, err_size) < 0)
        goto done;
    if (!has) {
        status = 0;
        goto done;
    }
    if (entry->auth[0] && strcmp(entry->auth, "basic") != 0) {
        snprintf(err, err_size, "%s has auth: %.40s for %s; faaset speaks the gateway's Basic auth only: log in with "
                 "`faas-cli login --username admin --password-stdin`, or set OPENFAAS_PASSWORD", shown, entry->auth,
                 c->gateway);
        goto done;
    }
    size_t token_length = strlen(entry->token), pair_length = 0;
    pair = malloc(token_length + 1);
    const char *colon = NULL;
    if (pair == NULL || sodium_base642bin(pair, token_length, entry->token, token_length, NULL, &pair_length, NULL,
                                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        (pair[pair_length] = '\0', (colon = strchr((char *)pair, ':')) == NULL) || colon == (char *)pair ||
        strlen((char *)pair) != pair_length) {
        snprintf(err, err_size, "the token for %s in %s is not base64 of user:password (what `faas-cli login` "
                 "writes); log in again", c->gateway, shown);
        goto done;
    }
    if (asprintf(&c->auth_where, "%s (auths)", shown) < 0 ||
        (c->user = strndup((char *)pair, (size_t)(colon - (char *)pair))) == NULL ||
        (c->authorization = of_basic(c->user, colon + 1)) == NULL) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    c->auth_from = c->auth_where;
    status = 1;
done:
    if (pair != NULL) {
        sodium_memzero(pair, strlen(entry->token) + 1);
        free(pair);
    }
    if (entry != NULL) {
        of_entry_wipe(entry);
        free(entry);
    }
    if (text != NULL) {
        sodium_memzero(text, size);
        free(text);
    }
    free(path);
    free(shown);
    return status;
}

int of_credentials_load(const char *gateway, struct of_credentials **out, char *err, size_t err_size)
{
    struct of_credentials *c = calloc(1, sizeof *c);
    *out = NULL;
    if (c == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    const char *given = gateway != NULL && gateway[0] ? gateway : NULL;
    c->gateway_from = "the explicit setting";
    if (given == NULL && (given = credfile_env("OPENFAAS_URL")) != NULL)
        c->gateway_from = "OPENFAAS_URL";
    if (given == NULL) {
        given = OF_DEFAULT_GATEWAY;
        c->gateway_from = "faas-cli's default";
    }
    if (!of_plain(given) || strcmp(given, "http://") == 0 || strcmp(given, "https://") == 0) {
        snprintf(err, err_size, "the OpenFaaS gateway from %s is not a URL (http://HOST:PORT)", c->gateway_from);
        goto fail;
    }
    if ((c->gateway = of_normalise_gateway(given)) == NULL) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    const char *password = credfile_env("OPENFAAS_PASSWORD");
    if (password != NULL) {
        const char *user = credfile_env("OPENFAAS_USERNAME");
        if ((c->user = strdup(user != NULL ? user : OF_DEFAULT_USER)) == NULL ||
            (c->authorization = of_basic(c->user, password)) == NULL) {
            snprintf(err, err_size, "out of memory");
            goto fail;
        }
        c->auth_from = "OPENFAAS_PASSWORD";
    } else {
        int found = of_from_file(c, err, err_size);
        if (found < 0)
            goto fail;
        if (found == 0) {
            snprintf(err, err_size, "no credentials for the OpenFaaS gateway %s (from %s): run `faas-cli login "
                     "--gateway %s` (it writes ~/.openfaas/config.yml, or config.yml in OPENFAAS_CONFIG), or set "
                     "OPENFAAS_PASSWORD (and OPENFAAS_USERNAME when not admin) before starting Jupyter",
                     c->gateway, c->gateway_from, c->gateway);
            goto fail;
        }
    }
    if (!of_plain(c->user) || strchr(c->user, ':') != NULL) {
        snprintf(err, err_size, "the OpenFaaS user from %s is not a user name (no spaces, no ':')", c->auth_from);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    of_credentials_free(c);
    return -1;
}

void of_credentials_free(struct of_credentials *c)
{
    if (c == NULL)
        return;
    free(c->gateway);
    credfile_wipe_free(c->authorization);
    free(c->user);
    free(c->auth_where);
    free(c);
}

const char *of_credentials_gateway(const struct of_credentials *c)
{
    return c->gateway;
}

const char *of_credentials_authorization(const struct of_credentials *c)
{
    return c->authorization;
}

void of_credentials_describe(const struct of_credentials *c, char *buf, size_t size)
{
    snprintf(buf, size, "user %s from %s; gateway %s from %s", c->user, c->auth_from, c->gateway, c->gateway_from);
}
