/* gcf_credentials: Google credentials for the Cloud Functions work, found
 * in Google's order, and the OAuth tokens they buy.
 *
 * Where they come from, as Google's client libraries look:
 *   1. GOOGLE_APPLICATION_CREDENTIALS, the path of a JSON file: a
 *      service-account key (`type` "service_account": client_email,
 *      private_key, private_key_id, token_uri, project_id) or an
 *      authorized user (as below);
 *   2. the gcloud user's application-default credentials,
 *      $CLOUDSDK_CONFIG/application_default_credentials.json, else
 *      ~/.config/gcloud/application_default_credentials.json (`type`
 *      "authorized_user": client_id, client_secret, refresh_token,
 *      quota_project_id, and token_uri when not Google's);
 *   3. the metadata server's default service account, only when this
 *      runs on Google (gcf_metadata decides, without the network); its
 *      first token request, with a 3 s timeout, is the probe.
 * Project: the explicit one, GOOGLE_CLOUD_PROJECT, the key file's
 * project_id, the user file's quota_project_id; NULL when none.
 *
 * Tokens: a service account signs an RS256 JWT (OpenSSL, EVP_DigestSign)
 * with `scope` cloud-platform, or `target_audience` for an ID token, and
 * exchanges it at token_uri; an authorized user makes the refresh-token
 * grant (its ID token is the one Google gives with it, for the OAuth
 * client, whatever the audience); on Google, the metadata server's
 * .../service-accounts/default/token and identity?audience= answer with
 * `Metadata-Flavor: Google` sent. The exchange goes over the HTTP engine,
 * on the reactor. Each token (the access token, and one per audience) is
 * cached until a minute before it expires; in its last five minutes it is
 * still handed out while one new exchange runs in the background, so
 * calls in flight never wait for a refresh. Concurrent requests for a
 * token that is not there wait for the same single exchange.
 *
 * Secrets: the private key, client secret, refresh token and tokens never
 * appear in an error or a description (the description names the file and
 * the account's e-mail only); they are wiped when released, as is the
 * file's text. Use from the reactor's thread. */
#ifndef FAASET_GCF_CREDENTIALS_H
#define FAASET_GCF_CREDENTIALS_H

#include <stddef.h>

#include "http.h"

struct gcf_credentials;

struct gcf_credentials_options {
    const char *project;   /* explicit project, or NULL */
};

/* Finds the credentials (no network). Returns 0 with *OUT set, or -1 with
 * ERR: where it looked when nothing is there, or which file does not parse
 * and why (never the file's text). OPTIONS may be NULL. */
int gcf_credentials_load(const struct gcf_credentials_options *options, struct gcf_credentials **out, char *err,
                         size_t err_size);

/* Wipes and frees; requests waiting for a token get ERROR "cancelled".
 * Not from inside a token callback. NULL is fine. */
void gcf_credentials_free(struct gcf_credentials *credentials);

/* The project, or NULL when none was found. */
const char *gcf_credentials_project(const struct gcf_credentials *credentials);

/* One line safe to show and log, e.g. "service account
 * deployer@p.iam.gserviceaccount.com from /home/u/key.json
 * (GOOGLE_APPLICATION_CREDENTIALS); project p from the key file". */
void gcf_credentials_describe(const struct gcf_credentials *credentials, char *buf, size_t size);

/* TOKEN is valid only during the call; ERROR is one sentence saying what
 * was refused and what to do, or NULL when TOKEN is set. */
typedef void (*gcf_token_fn)(void *ctx, const char *token, const char *error);

/* A bearer token: an access token (AUDIENCE NULL) or an ID token for
 * AUDIENCE (a function's URL). Returns 1 with *CACHED set to a live token
 * (valid until the next call into these credentials: copy it) without
 * calling DONE; 0 when DONE will be called once, later, from the reactor;
 * -1 with ERR (out of memory, an engine that refuses the request). */
int gcf_credentials_token(struct gcf_credentials *credentials, struct http_engine *engine, const char *audience,
                          const char **cached, gcf_token_fn done, void *ctx, char *err, size_t err_size);

#endif
