/* az_credentials: Azure's service principal, publish profile and settings,
 * and ARM's tokens (see az_credentials.h).
 *
 * Each setting is taken from the first place that has it (explicit, then
 * the environment, then the publish profile) and remembers where, for the
 * description. The publish profile is XML: every <publishProfile .../>
 * element's attributes are read (values in double or single quotes, the
 * five named entities and numeric ones decoded); the one whose
 * publishMethod is MSDeploy is used, else the first with a userName. A
 * file that is not a publish profile is an error naming the file, never
 * its text, which is wiped before it is freed.
 *
 * The token is one token_cache (when it is handed out, refreshed, waited
 * for); this file makes its exchange, at most one in flight, whose context
 * is allocated apart so that freeing the credentials while it runs only
 * detaches it. */
#include "az_credentials.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "credfile.h"
#include "fsutil.h"
#include "token_cache.h"

#define AZ_TOKEN_TIMEOUT_MS 30000L
#define AZ_PROFILE_MAX (1u << 20)

struct az_exchange {
    struct az_credentials *owner;   /* NULL once the credentials are freed */
};

struct az_credentials {
    char *client_id, *client_secret, *tenant, *authority;
    char *profile_file, *profile_from, *profile_user, *profile_site, *profile_scm, *profile_app, *kudu_basic;
    char *subscription, *resource_group, *app, *management, *app_url, *scm_url;
    const char *subscription_from, *resource_group_from, *app_from, *authority_from, *management_from,
        *app_url_from, *scm_url_from;
    struct token_cache token;
    struct az_exchange *exchange;   /* the exchange in flight, or NULL */
};

static const char *az_given(const char *value)
{
    return value != NULL && value[0] != '\0' ? value : NULL;
}

/* ---- the publish profile ---- */

/* Decodes the XML attribute value [START, END) into a new string; NULL when out of memory. */
static char *az_xml_value(const char *start, const char *end)
{
    static const struct { const char *name; char c; } entities[] = {
        {"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    char *out = malloc((size_t)(end - start) + 1), *at = out;
    if (out == NULL)
        return NULL;
    for (const char *p = start; p < end;) {
        if (*p != '&') {
            *at++ = *p++;
            continue;
        }
        size_t i, left = (size_t)(end - p - 1);
        for (i = 0; i < sizeof entities / sizeof entities[0]; i++)
            if (strlen(entities[i].name) <= left && strncmp(p + 1, entities[i].name, strlen(entities[i].name)) == 0)
                break;
        if (i < sizeof entities / sizeof entities[0]) {
            *at++ = entities[i].c;
            p += 1 + strlen(entities[i].name);
        } else if (left > 1 && p[1] == '#') {
            char *stop = NULL;
            long code = p[2] == 'x' ? strtol(p + 3, &stop, 16) : strtol(p + 2, &stop, 10);
            if (stop == NULL || stop >= end || *stop != ';' || code <= 0 || code > 0x7e) {
                *at++ = *p++; /* not one we decode: kept as written */
                continue;
            }
            *at++ = (char)code;
            p = stop + 1;
        } else
            *at++ = *p++;
    }
    *at = '\0';
    return out;
}

/* The value of attribute NAME in the element [START, END), as a new string, or NULL. */
static char *az_xml_attribute(const char *start, const char *end, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = start; p + n + 2 < end; p++) {
        if (strncmp(p, name, n) != 0 || (p > start && p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n' &&
                                         p[-1] != '\r'))
            continue;
        const char *q = p + n;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q >= end || *q != '=')
            continue;
        q++;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q >= end || (*q != '"' && *q != '\''))
            continue;
        const char *close = memchr(q + 1, *q, (size_t)(end - q - 1));
        if (close == NULL)
            return NULL;
        return az_xml_value(q + 1, close);
    }
    return NULL;
}

/* Strips "https://" and a trailing ":443" or '/' from a publishUrl / destinationAppUrl host into a URL. */
static char *az_profile_url(const char *value)
{
    if (value == NULL)
        return NULL;
    const char *host = value;
    if (strncmp(host, "https://", 8) == 0)
        host += 8;
    else if (strncmp(host, "http://", 7) == 0)
        host += 7;
    size_t n = strcspn(host, "/");
    if (n > 4 && strncmp(host + n - 4, ":443", 4) == 0)
        n -= 4;
    char *url = NULL;
    return asprintf(&url, "https://%.*s", (int)n, host) < 0 ? NULL : url;
}

/* Reads the profile at PATH (SHOWN for messages) into C. 0, or -1 with ERR. */
static int az_read_profile(struct az_credentials *c, const char *path, const char *shown, char *err, size_t err_size)
{
    size_t size = 0;
    char *text = fsutil_read(path, &size);
    if (text == NULL) {
        snprintf(err, err_size, "cannot read the publish profile %s (from %s): check the path, or download it again "
                 "from the function app's Overview page (Get publish profile)", shown, c->profile_from);
        return -1;
    }
    int status = -1;
    char *user = NULL, *password = NULL, *site = NULL, *scm = NULL, *app = NULL;
    if (size > AZ_PROFILE_MAX || memchr(text, '\0', size) != NULL) {
        snprintf(err, err_size, "%s (from %s) is not a publish profile (too large, or binary)", shown, c->profile_from);
        goto done;
    }
    for (const char *p = strstr(text, "<publishProfile"); p != NULL; p = strstr(p + 1, "<publishProfile")) {
        const char *end = strchr(p, '>');
        if (end == NULL)
            break;
        char *method = az_xml_attribute(p, end, "publishMethod");
        char *this_user = az_xml_attribute(p, end, "userName");
        int msdeploy = method != NULL && strcmp(method, "MSDeploy") == 0;
        free(method);
        if (this_user == NULL || (user != NULL && !msdeploy)) {
            free(this_user);
            continue;
        }
        free(user);
        credfile_wipe_free(password);
        free(site);
        free(scm);
        free(app);
        char *publish_url = az_xml_attribute(p, end, "publishUrl");
        char *app_host = az_xml_attribute(p, end, "destinationAppUrl");
        user = this_user;
        password = az_xml_attribute(p, end, "userPWD");
        site = az_xml_attribute(p, end, "msdeploySite");
        scm = az_profile_url(publish_url);
        app = az_profile_url(app_host);
        free(publish_url);
        free(app_host);
        if (msdeploy)
            break;
    }
    if (user == NULL || password == NULL || user[0] == '\0' || password[0] == '\0') {
        snprintf(err, err_size, "%s (from %s) is not a publish profile: it has no <publishProfile> with userName and "
                 "userPWD; download it again from the function app's Overview page (Get publish profile)", shown,
                 c->profile_from);
        goto done;
    }
    char *pair = NULL;
    if (asprintf(&pair, "%s:%s", user, password) < 0) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    size_t n = strlen(pair), encoded = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    c->kudu_basic = malloc(6 + encoded);
    if (c->kudu_basic != NULL) {
        memcpy(c->kudu_basic, "Basic ", 6);
        sodium_bin2base64(c->kudu_basic + 6, encoded, (const unsigned char *)pair, n, sodium_base64_VARIANT_ORIGINAL);
    }
    credfile_wipe_free(pair);
    c->profile_user = user;
    c->profile_site = site;
    c->profile_scm = scm;
    c->profile_app = app;
    user = site = scm = app = NULL;
    status = c->kudu_basic != NULL ? 0 : (snprintf(err, err_size, "out of memory"), -1);
done:
    free(user);
    credfile_wipe_free(password);
    free(site);
    free(scm);
    free(app);
    sodium_memzero(text, size);
    free(text);
    return status;
}

/* ---- loading ---- */

/* *SLOT = a copy of the first of EXPLICIT, the variable ENV, FALLBACK that is given; *FROM says which. */
static int az_pick(char **slot, const char **from, const char *explicit_value, const char *env,
                   const char *fallback, const char *fallback_from)
{
    const char *value = az_given(explicit_value);
    *from = "the explicit setting";
    if (value == NULL && env != NULL && (value = credfile_env(env)) != NULL)
        *from = env;
    if (value == NULL && (value = az_given(fallback)) != NULL)
        *from = fallback_from;
    if (value == NULL) {
        *from = NULL;
        return 0;
    }
    *slot = strdup(value);
    return *slot != NULL ? 0 : -1;
}

static void az_trim_slashes(char *url)
{
    size_t n = url != NULL ? strlen(url) : 0;
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
}

/* Whether URL is an http(s) URL without spaces. */
static int az_url_ok(const char *url)
{
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return 0;
    for (const char *p = url; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return 0;
    return 1;
}

/* Azure's names: subscription and tenant IDs, groups, apps: letters, digits and - _ . ( ). */
static int az_name_ok(const char *name)
{
    if (name == NULL)
        return 1;
    if (name[0] == '\0' || strlen(name) > 90)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.' || *p == '(' || *p == ')'))
            return 0;
    return 1;
}

static int az_choose(struct az_credentials *c, const struct az_credentials_options *o, char *err, size_t err_size)
{
    const char *id = credfile_env("AZURE_CLIENT_ID"), *secret = credfile_env("AZURE_CLIENT_SECRET");
    const char *tenant = credfile_env("AZURE_TENANT_ID");
    int principal = id != NULL || secret != NULL || tenant != NULL;
    if (principal && (id == NULL || secret == NULL || tenant == NULL)) {
        snprintf(err, err_size, "the Azure service principal is incomplete: set %s too (AZURE_CLIENT_ID, "
                 "AZURE_CLIENT_SECRET and AZURE_TENANT_ID, as for `az login --service-principal`)",
                 id == NULL ? "AZURE_CLIENT_ID" : secret == NULL ? "AZURE_CLIENT_SECRET" : "AZURE_TENANT_ID");
        return -1;
    }
    if (principal && !az_name_ok(tenant)) {
        snprintf(err, err_size, "AZURE_TENANT_ID is not a tenant ID or domain (letters, digits, - and . only)");
        return -1;
    }
    if (principal && ((c->client_id = strdup(id)) == NULL || (c->client_secret = strdup(secret)) == NULL ||
                      (c->tenant = strdup(tenant)) == NULL))
        goto oom;
    const char *publish_env = "AZURE_PUBLISH_PROFILE";
    if (az_pick(&c->profile_file, (const char **)&c->profile_from, o->publish_profile, publish_env, NULL, NULL) < 0)
        goto oom;
    if (c->profile_from != NULL && (c->profile_from = strdup(c->profile_from)) == NULL)
        goto oom;
    if (c->profile_file != NULL) {
        char *home = credfile_home();
        char *shown = credfile_shown_path(c->profile_file, home);
        free(home);
        if (shown == NULL)
            goto oom;
        int rc = az_read_profile(c, c->profile_file, shown, err, err_size);
        free(c->profile_file);
        c->profile_file = shown;
        if (rc < 0)
            return -1;
    }
    if (!principal && c->kudu_basic == NULL) {
        snprintf(err, err_size, "no Azure credentials: set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID "
                 "(a service principal: `az ad sp create-for-rbac`) before starting Jupyter, or give a publish "
                 "profile with %%platform azure publish_profile=PATH (or AZURE_PUBLISH_PROFILE)");
        return -1;
    }
    if (az_pick(&c->subscription, &c->subscription_from, o->subscription, "AZURE_SUBSCRIPTION_ID", NULL, NULL) < 0 ||
        az_pick(&c->resource_group, &c->resource_group_from, o->resource_group, "AZURE_RESOURCE_GROUP", NULL,
                NULL) < 0 ||
        az_pick(&c->app, &c->app_from, o->app, NULL, c->profile_site, "the publish profile") < 0 ||
        az_pick(&c->authority, &c->authority_from, NULL, "AZURE_AUTHORITY_HOST", AZ_DEFAULT_AUTHORITY,
                "the default") < 0 ||
        az_pick(&c->management, &c->management_from, o->management, "FAASET_AZURE_MANAGEMENT_URL",
                AZ_DEFAULT_MANAGEMENT, "the default") < 0 ||
        az_pick(&c->app_url, &c->app_url_from, o->app_url, "FAASET_AZURE_APP_URL", AZ_DEFAULT_APP_URL,
                "the default") < 0 ||
        az_pick(&c->scm_url, &c->scm_url_from, o->scm_url, "FAASET_AZURE_SCM_URL", AZ_DEFAULT_SCM_URL,
                "the default") < 0)
        goto oom;
    az_trim_slashes(c->authority);
    az_trim_slashes(c->management);
    az_trim_slashes(c->app_url);
    az_trim_slashes(c->scm_url);
    struct { const char *value, *from, *what; } urls[] = {
        {c->authority, c->authority_from, "authority host"}, {c->management, c->management_from, "management endpoint"},
        {c->app_url, c->app_url_from, "app URL"}, {c->scm_url, c->scm_url_from, "Kudu (scm) URL"}};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        if (!az_url_ok(urls[i].value)) {
            snprintf(err, err_size, "the Azure %s from %s is not an http(s) URL", urls[i].what, urls[i].from);
            return -1;
        }
    struct { const char *value, *from, *what; } names[] = {
        {c->subscription, c->subscription_from, "subscription"},
        {c->resource_group, c->resource_group_from, "resource group"}, {c->app, c->app_from, "function app"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!az_name_ok(names[i].value)) {
            snprintf(err, err_size, "the Azure %s from %s is not a name Azure takes (letters, digits, - _ . ( ), at "
                     "most 90)", names[i].what, names[i].from);
            return -1;
        }
    return 0;
oom:
    snprintf(err, err_size, "out of memory");
    return -1;
}

int az_credentials_load(const struct az_credentials_options *options, struct az_credentials **out, char *err,
                        size_t err_size)
{
    static const struct az_credentials_options none = {0};
    struct az_credentials *c = calloc(1, sizeof *c);
    *out = NULL;
    if (c == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    token_cache_init(&c->token);
    if (az_choose(c, options != NULL ? options : &none, err, err_size) < 0) {
        az_credentials_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void az_credentials_free(struct az_credentials *c)
{
    if (c == NULL)
        return;
    if (c->exchange != NULL)
        c->exchange->owner = NULL;
    token_cache_clear(&c->token);
    free(c->client_id);
    credfile_wipe_free(c->client_secret);
    free(c->tenant);
    free(c->authority);
    free(c->profile_file);
    free(c->profile_from);
    free(c->profile_user);
    free(c->profile_site);
    free(c->profile_scm);
    free(c->profile_app);
    credfile_wipe_free(c->kudu_basic);
    free(c->subscription);
    free(c->resource_group);
    free(c->app);
    free(c->management);
    free(c->app_url);
    free(c->scm_url);
    free(c);
}

int az_credentials_has_principal(const struct az_credentials *c)
{
    return c->client_id != NULL;
}

const char *az_credentials_kudu_basic(const struct az_credentials *c)
{
    return c->kudu_basic;
}

const char *az_credentials_subscription(const struct az_credentials *c)
{
    return c->subscription;
}

const char *az_credentials_resource_group(const struct az_credentials *c)
{
    return c->resource_group;
}

const char *az_credentials_app(const struct az_credentials *c)
{
    return c->app;
}

const char *az_credentials_management(const struct az_credentials *c)
{
    return c->management;
}

/* PATTERN with every {app} replaced by APP. */
static char *az_expand(const char *pattern, const char *app)
{
    struct buffer out = {0};
    for (const char *p = pattern; *p;) {
        const char *at = strstr(p, "{app}");
        size_t n = at != NULL ? (size_t)(at - p) : strlen(p);
        buffer_append(&out, p, n);
        p += n;
        if (at != NULL) {
            buffer_puts(&out, app);
            p += 5;
        }
    }
    buffer_append(&out, "", 1);
    if (out.failed) {
        buffer_free(&out);
        return NULL;
    }
    return (char *)out.data;
}

/* The profile's own host for its app when no pattern was set, else the pattern. */
static char *az_url_for(const struct az_credentials *c, const char *pattern, const char *pattern_from,
                        const char *profile_url, const char *app)
{
    if (profile_url != NULL && strcmp(pattern_from, "the default") == 0 && c->profile_site != NULL &&
        strcmp(app, c->profile_site) == 0)
        return strdup(profile_url);
    return az_expand(pattern, app);
}

char *az_credentials_app_url(const struct az_credentials *c, const char *app)
{
    return az_url_for(c, c->app_url, c->app_url_from, c->profile_app, app);
}

char *az_credentials_scm_url(const struct az_credentials *c, const char *app)
{
    return az_url_for(c, c->scm_url, c->scm_url_from, c->profile_scm, app);
}

void az_credentials_describe(const struct az_credentials *c, char *buf, size_t size)
{
    if (size > 0)
        buf[0] = '\0';
    if (c->client_id != NULL)
        buffer_appendf_fixed(buf, size, "service principal %.80s (AZURE_CLIENT_ID) of tenant %.100s at %.120s (%s)",
                             c->client_id, c->tenant, c->authority, c->authority_from);
    if (c->kudu_basic != NULL)
        buffer_appendf_fixed(buf, size, "%spublish profile %.200s (%s, user %.80s)", buf[0] ? "; " : "",
                             c->profile_file, c->profile_from, c->profile_user);
    struct { const char *what, *value, *from, *none; } settings[] = {
        {"subscription", c->subscription, c->subscription_from, "(none)"},
        {"resource group", c->resource_group, c->resource_group_from, "(none)"},
        {"app", c->app, c->app_from, "(each function's own name)"}};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        buffer_appendf_fixed(buf, size, "; %s %.90s%s%s%s", settings[i].what,
                             settings[i].value ? settings[i].value : settings[i].none,
                             settings[i].value ? " (" : "", settings[i].value ? settings[i].from : "",
                             settings[i].value ? ")" : "");
    const char *froms[] = {c->management_from, c->app_url_from, c->scm_url_from};
    int shown = 0;
    for (size_t i = 0; i < 3; i++) /* the endpoints: only where they are not Azure's own */
        if (strcmp(froms[i], "the default") != 0)
            buffer_appendf_fixed(buf, size, "%s%s", shown++ ? ", " : "; endpoints from ", froms[i]);
}

/* ---- tokens ---- */

/* What an AADSTS code means for the user, or NULL when it is not one we explain. */
static const char *az_aadsts_hint(long code)
{
    switch (code) {
    case 7000215:
    case 7000222:
        return "the client secret is wrong or expired: create a new one (`az ad sp credential reset`) and set "
               "AZURE_CLIENT_SECRET to it";
    case 700016:
        return "the tenant has no application with this client ID: check AZURE_CLIENT_ID and AZURE_TENANT_ID";
    case 90002:
    case 900023:
        return "the tenant does not exist: set AZURE_TENANT_ID to the directory (tenant) ID or its domain";
    case 7000112:
    case 7000114:
        return "the application is disabled in the tenant: enable it, or use another service principal";
    case 70011:
        return "the scope is not valid for this application";
    default:
        return NULL;
    }
}

void az_credentials_explain_refusal(const struct az_credentials *c, const struct http_response *r, char *out,
                                    size_t size)
{
    if (r->error != NULL) {
        snprintf(out, size, "could not reach Entra ID's token endpoint at %.200s: %.300s (AZURE_AUTHORITY_HOST "
                 "chooses another authority)", c->authority, r->error);
        return;
    }
    json_t *body = json_loadb(r->body, r->body_size, 0, NULL);
    const char *code = json_string_value(json_object_get(body, "error"));
    const char *description = json_string_value(json_object_get(body, "error_description"));
    long aadsts = json_integer_value(json_array_get(json_object_get(body, "error_codes"), 0));
    char first[300] = "";
    if (description != NULL) { /* Entra's descriptions add "\r\nTrace ID: ...": the first line is the reason */
        snprintf(first, sizeof first, "%.*s", (int)strcspn(description, "\r\n"), description);
        if (aadsts == 0 && strncmp(first, "AADSTS", 6) == 0)
            aadsts = strtol(first + 6, NULL, 10);
    }
    const char *hint = az_aadsts_hint(aadsts);
    snprintf(out, size, "Entra ID refused the service principal %.80s of tenant %.100s (HTTP %ld, %s%s%.280s)%s%s",
             c->client_id ? c->client_id : "(none)", c->tenant ? c->tenant : "(none)", r->status,
             code != NULL ? code : "no error code", first[0] ? ": " : "", first, hint != NULL ? ": " : "",
             hint != NULL ? hint : "");
    json_decref(body);
}

static void az_on_token(void *ctx, const struct http_response *r)
{
    struct az_exchange *exchange = ctx;
    struct az_credentials *c = exchange->owner;
    free(exchange);
    if (c == NULL)
        return;
    c->exchange = NULL;
    char err[1024] = "";
    json_t *body = r->error == NULL && r->status == 200 ? json_loadb(r->body, r->body_size, 0, NULL) : NULL;
    const char *value = json_string_value(json_object_get(body, "access_token"));
    json_t *expires = json_object_get(body, "expires_in"); /* a number, or a string in v1 answers */
    long long seconds = json_is_string(expires) ? strtoll(json_string_value(expires), NULL, 10)
                                                : (long long)json_integer_value(expires);
    if (r->error != NULL || r->status != 200)
        az_credentials_explain_refusal(c, r, err, sizeof err);
    else if (value == NULL || seconds <= 0)
        snprintf(err, sizeof err, "Entra ID's token endpoint at %.200s answered without a usable access token",
                 c->authority);
    token_cache_settle(&c->token, err[0] == '\0' ? value : NULL, seconds, err[0] != '\0' ? err : NULL);
    json_decref(body);
}

static int az_exchange_start(struct az_credentials *c, struct http_engine *engine, char *err, size_t err_size)
{
    struct buffer form = {0};
    char *url = NULL, *scope = NULL;
    struct az_exchange *exchange = calloc(1, sizeof *exchange);
    const char *audience = credfile_env("FAASET_AZURE_AUDIENCE");
    if (exchange == NULL || asprintf(&url, "%s/%s/oauth2/v2.0/token", c->authority, c->tenant) < 0 ||
        asprintf(&scope, "%s/.default", audience != NULL ? audience : AZ_DEFAULT_AUDIENCE) < 0) {
        free(exchange);
        free(url);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    credfile_form_add(&form, "grant_type", "client_credentials");
    credfile_form_add(&form, "client_id", c->client_id);
    credfile_form_add(&form, "client_secret", c->client_secret);
    credfile_form_add(&form, "scope", scope);
    free(scope);
    static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded",
                                          "Accept: application/json", NULL};
    struct http_request request = {.method = "POST", .url = url, .headers = headers, .body = form.data,
                                   .body_size = form.size, .timeout_ms = AZ_TOKEN_TIMEOUT_MS};
    int rc = form.failed ? -1 : http_send(engine, &request, az_on_token, exchange);
    credfile_form_wipe(&form);
    free(url);
    if (rc < 0) {
        free(exchange);
        snprintf(err, err_size, "could not send the token request to %.200s", c->authority);
        return -1;
    }
    exchange->owner = c;
    c->exchange = exchange;
    return 0;
}

int az_credentials_token(struct az_credentials *c, struct http_engine *engine, const char **cached,
                         az_token_fn done, void *ctx, char *err, size_t err_size)
{
    *cached = NULL;
    if (c->client_id == NULL) {
        snprintf(err, err_size, "Azure Resource Manager needs a service principal: set AZURE_CLIENT_ID, "
                 "AZURE_CLIENT_SECRET and AZURE_TENANT_ID before starting Jupyter (a publish profile reaches only "
                 "Kudu)");
        return -1;
    }
    int refresh = 0;
    const char *fresh = token_cache_fresh(&c->token, &refresh);
    if (fresh != NULL) {
        char ignored[256]; /* a refresh that cannot start now is tried by the next call; the token is still good */
        if (refresh && c->exchange == NULL)
            (void)az_exchange_start(c, engine, ignored, sizeof ignored);
        *cached = fresh;
        return 1;
    }
    if (c->exchange == NULL && az_exchange_start(c, engine, err, err_size) < 0)
        return -1;
    if (token_cache_wait(&c->token, done, ctx) < 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}
