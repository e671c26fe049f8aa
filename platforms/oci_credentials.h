/* oci_credentials: the user's credentials for a container registry, found
 * where Docker, podman and skopeo keep them, in this order:
 *   1. REGISTRY_AUTH_FILE (podman's and skopeo's variable; the file must
 *      exist when it is set);
 *   2. Docker's config.json: DOCKER_CONFIG/config.json when DOCKER_CONFIG
 *      is set, else ~/.docker/config.json. For the registry's host, a
 *      `credHelpers` entry runs `docker-credential-NAME get` (the host on
 *      its stdin, {"Username","Secret"} on its stdout, "<token>" as the
 *      user meaning an identity token), as does `credsStore` when `auths`
 *      names the host or no entry does; else the `auths` entry:
 *      `auth` (base64 of user:password) or `identitytoken`;
 *   3. ${XDG_RUNTIME_DIR}/containers/auth.json (podman's login file).
 * An `auths` key matches the host written bare, with a scheme, or with a
 * path ("https://index.docker.io/v1/"). Nothing found is no error: the
 * registry may allow anonymous access, and its 401 names where we looked.
 *
 * Amazon ECR registries (ACCOUNT.dkr.ecr.REGION.amazonaws.com) with no
 * credentials there get a token from ECR's GetAuthorizationToken instead
 * (oci_push does the call: it is asynchronous).
 *
 * Secrets are wiped when released and never appear in messages: a
 * description says where the credentials came from and, at most, the
 * user name. */
#ifndef FAASET_OCI_CREDENTIALS_H
#define FAASET_OCI_CREDENTIALS_H

#include <stddef.h>

struct oci_credentials {
    char source[256];             /* "~/.docker/config.json", "docker-credential-pass (credHelpers of ...)", ... */
    char *username;               /* NULL when none */
    char *password;               /* secret, NULL when none */
    char *identity_token;         /* secret: an OAuth refresh token for the token service, NULL when none */
};

/* Finds HOST's credentials ("registry.example.com:5000"). Returns 1 with
 * *OUT filled, 0 when there are none (OUT->source lists where it looked),
 * -1 with ERR (a file that cannot be parsed, a helper that failed). */
int oci_credentials_find(const char *host, struct oci_credentials *out, char *err, size_t err_size);

/* Sets user and password from a base64 "user:password" (ECR's and
 * config.json's `auth`). 0, or -1 when it is not such a text. */
int oci_credentials_from_base64(struct oci_credentials *credentials, const char *encoded);

/* 1 when HOST is an ECR registry, with its account and region copied out. */
int oci_credentials_is_ecr(const char *host, char *account, size_t account_size, char *region, size_t region_size);

/* Wipes and frees the secrets; the struct may be reused. */
void oci_credentials_clear(struct oci_credentials *credentials);

#endif
