/* az_credentials: Azure credentials for the Functions work, found where
 * Azure's users keep them, and the Entra ID tokens they buy.
 *
 * Two kinds, either or both:
 *   - an Entra ID service principal from AZURE_CLIENT_ID,
 *     AZURE_CLIENT_SECRET and AZURE_TENANT_ID (the variables Azure's SDKs'
 *     EnvironmentCredential reads), for Azure Resource Manager (ARM) and,
 *     without a publish profile, for Kudu; its token comes from the
 *     client-credentials flow at AUTHORITY/TENANT/oauth2/v2.0/token, where
 *     AUTHORITY is AZURE_AUTHORITY_HOST as the SDKs honour it (default
 *     https://login.microsoftonline.com), for the scope AUDIENCE/.default,
 *     AUDIENCE being ARM's (https://management.azure.com) unless
 *     FAASET_AZURE_AUDIENCE names a sovereign cloud's;
 *   - a publish profile (the .PublishSettings file the portal's "Get
 *     publish profile" downloads) from `%platform azure
 *     publish_profile=PATH` or AZURE_PUBLISH_PROFILE: its MSDeploy
 *     profile's userName and userPWD are Kudu's Basic credentials, and its
 *     msdeploySite, publishUrl and destinationAppUrl name the app, its
 *     Kudu (scm) host and its own host.
 * Where the function lives: the subscription (explicit, else
 * AZURE_SUBSCRIPTION_ID), the resource group (explicit, else
 * AZURE_RESOURCE_GROUP) and the function app (explicit, else the publish
 * profile's site, else none: each function then has the app of its own
 * name). Endpoints: management (ARM, default https://management.azure.com,
 * else FAASET_AZURE_MANAGEMENT_URL), and the app's and Kudu's URLs as
 * patterns where {app} stands for the app's name (default
 * https://{app}.azurewebsites.net and https://{app}.scm.azurewebsites.net,
 * else FAASET_AZURE_APP_URL / FAASET_AZURE_SCM_URL, else the publish
 * profile's hosts for its own app), for sovereign clouds and stand-ins.
 *
 * Tokens: cached until a minute before they expire; in their last five
 * minutes still handed out while one new exchange runs in the background;
 * concurrent requests for a token that is not there wait for the same
 * single exchange (as gcf_credentials does).
 *
 * Secrets: the client secret, the profile's password, tokens and Basic
 * headers never appear in an error or a description (which name where each
 * setting came from, the client ID and the profile's user only); they are
 * wiped when released, as is the profile's text. Use from the reactor's
 * thread. */
#ifndef FAASET_AZ_CREDENTIALS_H
#define FAASET_AZ_CREDENTIALS_H

#include <stddef.h>

#include "http.h"

#define AZ_DEFAULT_MANAGEMENT "https://management.azure.com"
#define AZ_DEFAULT_AUDIENCE "https://management.azure.com"
#define AZ_DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define AZ_DEFAULT_APP_URL "https://{app}.azurewebsites.net"
#define AZ_DEFAULT_SCM_URL "https://{app}.scm.azurewebsites.net"

struct az_credentials;

struct az_credentials_options {
    const char *subscription;      /* explicit values, or NULL */
    const char *resource_group;
    const char *app;
    const char *publish_profile;   /* a path */
    const char *management;        /* URLs */
    const char *app_url;           /* patterns with {app} */
    const char *scm_url;
};

/* Finds the credentials and settings (no network). Returns 0 with *OUT
 * set, or -1 with ERR: what is missing and where it looked, or why the
 * publish profile does not parse (never its text). OPTIONS may be NULL. */
int az_credentials_load(const struct az_credentials_options *options, struct az_credentials **out, char *err,
                        size_t err_size);

/* Wipes and frees; requests waiting for a token get ERROR "cancelled".
 * Not from inside a token callback. NULL is fine. */
void az_credentials_free(struct az_credentials *credentials);

/* 1 when a service principal was found (ARM can be called). */
int az_credentials_has_principal(const struct az_credentials *credentials);
/* The Basic header value from the publish profile, or NULL when none. A secret. */
const char *az_credentials_kudu_basic(const struct az_credentials *credentials);

/* The subscription, resource group and app, or NULL when not found. */
const char *az_credentials_subscription(const struct az_credentials *credentials);
const char *az_credentials_resource_group(const struct az_credentials *credentials);
const char *az_credentials_app(const struct az_credentials *credentials);
/* The management endpoint without a trailing '/'. */
const char *az_credentials_management(const struct az_credentials *credentials);

/* The URL of APP's own host, or of its Kudu, without a trailing '/', as a
 * new string (NULL when out of memory). */
char *az_credentials_app_url(const struct az_credentials *credentials, const char *app);
char *az_credentials_scm_url(const struct az_credentials *credentials, const char *app);

/* One line safe to show and log, naming where every setting came from,
 * e.g. "service principal 0f1e... of tenant contoso.onmicrosoft.com
 * (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID) at
 * https://login.microsoftonline.com; subscription ... from
 * AZURE_SUBSCRIPTION_ID; ...". Never a secret. */
void az_credentials_describe(const struct az_credentials *credentials, char *buf, size_t size);

/* TOKEN is valid only during the call; ERROR is one sentence saying what
 * was refused and what to do, or NULL when TOKEN is set. */
typedef void (*az_token_fn)(void *ctx, const char *token, const char *error);

/* ARM's bearer token. Returns 1 with *CACHED set to a live token (valid
 * until the next call into these credentials: copy it) without calling
 * DONE; 0 when DONE will be called once, later, from the reactor; -1 with
 * ERR (no service principal, out of memory, a request the engine refuses). */
int az_credentials_token(struct az_credentials *credentials, struct http_engine *engine, const char **cached,
                         az_token_fn done, void *ctx, char *err, size_t err_size);

/* Entra ID's error answer (RESPONSE to the token request) as one sentence
 * into OUT: an AADSTS code named with what it means for the user (a wrong
 * secret, an unknown tenant or application, ...). Public for the tests. */
void az_credentials_explain_refusal(const struct az_credentials *credentials, const struct http_response *response,
                                    char *out, size_t size);

#endif
