/* aws_credentials: where the AWS adapter's keys, region and endpoint come
 * from, found the way the AWS SDKs and CLI find them.
 *
 * Keys: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
 * then the profile's aws_access_key_id / aws_secret_access_key /
 * aws_session_token in the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials, section [NAME])
 * and then in the config file (AWS_CONFIG_FILE, default ~/.aws/config,
 * section [profile NAME], or [default]). The profile is the explicit one
 * (`%platform aws profile=NAME`), else AWS_PROFILE, else AWS_DEFAULT_PROFILE,
 * else "default". As in the SDKs, an explicit profile outranks the
 * environment's keys; AWS_PROFILE does not. A named profile that neither
 * file has is an error. Role assumption, SSO and credential_process are not
 * supported: a profile that uses them gets an error saying so.
 *
 * Region: the explicit one, AWS_REGION, AWS_DEFAULT_REGION, then the
 * profile's `region` (the credentials file's over the config file's).
 * Endpoint: the explicit one, AWS_ENDPOINT_URL_<SERVICE> (LAMBDA for
 * Lambda), AWS_ENDPOINT_URL, else https://SERVICE.REGION.amazonaws.com.
 *
 * Secrets: the secret key and session token never appear in an error or a
 * description; the loaded copies, and the files' text, are wiped when
 * released. */
#ifndef FAASET_AWS_CREDENTIALS_H
#define FAASET_AWS_CREDENTIALS_H

#include <stddef.h>

#include "sigv4.h"

struct aws_credentials;

struct aws_credentials_options {
    const char *profile;   /* explicit profile name, or NULL */
    const char *region;    /* explicit region, or NULL */
    const char *endpoint;  /* explicit endpoint URL (http or https), or NULL */
    const char *service;   /* signing name and endpoint prefix; NULL = "lambda" */
};

/* Finds keys, region and endpoint. Returns 0 with *OUT set, or -1 with
 * ERR saying what was looked at (variables, files, profile) and what to set.
 * OPTIONS may be NULL. */
int aws_credentials_load(const struct aws_credentials_options *options, struct aws_credentials **out, char *err,
                         size_t err_size);

/* Wipes and frees; NULL is fine. */
void aws_credentials_free(struct aws_credentials *credentials);

/* The keys for sigv4_sign, pointing into CREDENTIALS (valid until freed). */
void aws_credentials_signing(const struct aws_credentials *credentials, struct sigv4_credentials *out);

const char *aws_credentials_region(const struct aws_credentials *credentials);
const char *aws_credentials_service(const struct aws_credentials *credentials);
/* The endpoint URL without a trailing '/', e.g. "https://lambda.us-east-1.amazonaws.com". */
const char *aws_credentials_endpoint(const struct aws_credentials *credentials);
/* The PEM file of CAs to trust for https instead of the system's, as
 * botocore takes it: AWS_CA_BUNDLE, else ca_bundle in the profile's section
 * of the config file; NULL when neither. *FROM (when FROM is not NULL)
 * says which, for messages. */
const char *aws_credentials_ca_bundle(const struct aws_credentials *credentials, const char **from);
/* The profile the keys came from, or NULL when they came from the environment. */
const char *aws_credentials_profile(const struct aws_credentials *credentials);

/* One line safe to show and log: where the keys, region and endpoint came
 * from, the access key id masked (its first 4 and last 4 characters), e.g.
 * "access key AKID...MPLE from profile 'dev' in ~/.aws/credentials; region
 * us-west-2 from profile 'dev' in ~/.aws/config; endpoint
 * https://lambda.us-west-2.amazonaws.com". Never the secret or the token. */
void aws_credentials_describe(const struct aws_credentials *credentials, char *buf, size_t size);

/* KEY masked for display into OUT (at least 16 bytes): "AKID...MPLE", or
 * "****" when KEY is shorter than 12 characters. */
void aws_credentials_mask(const char *key, char *out, size_t size);

#endif
