/* ow_credentials: where an Apache OpenWhisk (IBM Cloud Functions) API
 * host, key and namespace come from, found where OpenWhisk's users keep
 * them.
 *
 * Each of the three settings is taken from the first place that has it:
 *   1. the explicit value (`%platform openwhisk apihost=… auth=…
 *      namespace=…`);
 *   2. the environment: __OW_API_HOST, __OW_API_KEY, __OW_NAMESPACE (what
 *      OpenWhisk sets inside an action, and what the openwhisk npm client
 *      reads);
 *   3. the wsk CLI's properties file: WSK_CONFIG_FILE when set (it must
 *      exist then), else ~/.wskprops; its APIHOST, AUTH and NAMESPACE lines
 *      (KEY=VALUE, blank lines and # comments; other keys are wsk's own and
 *      are ignored).
 * The key is "UUID:KEY" (wsk's AUTH) and is sent as HTTP Basic auth. The
 * namespace defaults to "_", the key's own. The API host is normalised as
 * wsk does it: a bare host (or host:port) means https://host; http:// and
 * https:// are kept; a trailing '/' is dropped.
 *
 * IBM Cloud's IAM-based namespaces take an IBM Cloud API key instead,
 * exchanged for bearer tokens (ow_iam.h). The key is looked up in the same
 * order as wsk's: the explicit `iam_apikey_file=` (a file holding the key,
 * or the JSON `ibmcloud iam api-key-create --file` writes, whose "apikey"
 * it is), then __OW_API_KEY (Basic), then IBMCLOUD_API_KEY and IC_API_KEY
 * (the variables IBM's tools read), then AUTH in the properties file
 * (Basic). An IAM namespace is named by its ID, so with an API key the
 * namespace must be set (there is no "_"). IAM's token endpoint is
 * `iam_endpoint=`, else IBMCLOUD_IAM_API_ENDPOINT, else
 * https://iam.cloud.ibm.com, with /identity/token added.
 *
 * Secrets: the key appears in no error and no description (the description
 * names where it came from and the key's UUID part only, or for an API key
 * only where it came from); the loaded copies and the files' text are
 * wiped when released. */
#ifndef FAASET_OW_CREDENTIALS_H
#define FAASET_OW_CREDENTIALS_H

#include <stddef.h>

struct ow_credentials;

struct ow_credentials_options {
    const char *apihost;   /* explicit API host (bare, http:// or https://), or NULL */
    const char *auth;      /* explicit "UUID:KEY", or NULL */
    const char *ns;        /* explicit namespace, or NULL */
    const char *iam_apikey_file;  /* explicit file holding an IBM Cloud API key ("~/" the home's), or NULL */
    const char *iam_endpoint;     /* explicit IAM endpoint (https://iam.cloud.ibm.com), or NULL */
};

/* Finds the API host, key and namespace (no network). Returns 0 with *OUT
 * set, or -1 with ERR saying what is missing and where it looked, or which
 * file line is wrong (never the line's text). OPTIONS may be NULL. */
int ow_credentials_load(const struct ow_credentials_options *options, struct ow_credentials **out, char *err,
                        size_t err_size);

/* Wipes and frees; NULL is fine. */
void ow_credentials_free(struct ow_credentials *credentials);

/* The API host URL without a trailing '/', e.g. "https://us-south.functions.cloud.ibm.com". */
const char *ow_credentials_apihost(const struct ow_credentials *credentials);

/* The namespace: "_" (the key's own) unless one was set. */
const char *ow_credentials_namespace(const struct ow_credentials *credentials);

/* The Authorization header's value, "Basic <base64 of UUID:KEY>", valid
 * until CREDENTIALS is freed; NULL with an IBM Cloud API key. A secret:
 * send it, never show it. */
const char *ow_credentials_authorization(const struct ow_credentials *credentials);

/* With an IBM Cloud API key (an IAM-based namespace): the key (a secret),
 * where it came from ("IBMCLOUD_API_KEY", "~/key.json (iam_apikey_file=)")
 * and IAM's token URL; all NULL with a UUID:KEY. */
const char *ow_credentials_apikey(const struct ow_credentials *credentials);
const char *ow_credentials_apikey_from(const struct ow_credentials *credentials);
const char *ow_credentials_token_url(const struct ow_credentials *credentials);

/* One line safe to show and log, e.g. "key 23bc46b1-71f6-4ed5-8c54-816aa4f8c502
 * from ~/.wskprops (AUTH); API host https://openwhisk.example from
 * __OW_API_HOST; namespace _ (the key's own)", or "IBM Cloud API key from
 * IBMCLOUD_API_KEY (IAM at https://iam.cloud.ibm.com/identity/token); ...".
 * Never the key. */
void ow_credentials_describe(const struct ow_credentials *credentials, char *buf, size_t size);

#endif
