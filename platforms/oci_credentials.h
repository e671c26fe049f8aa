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
 * A credential helper may take seconds (a keychain asking, a cloud call),
 * so it never runs inside the lookup: oci_credentials_find says which
 * helper is needed, oci_credentials_helper_start runs it on the kernel's
 * loop (its stdout watched by the reactor, 30 seconds at most), and the
 * lookup is made again with its answer.
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

#include "reactor.h"

#define OCI_CREDENTIALS_HELPER 2  /* oci_credentials_find: run the helper named in HELPER, then ask again */

struct oci_credentials {
    char source[256];             /* "~/.docker/config.json", "docker-credential-pass (credHelpers of ...)", ... */
    char *username;               /* NULL when none */
    char *password;               /* secret, NULL when none */
    char *identity_token;         /* secret: an OAuth refresh token for the token service, NULL when none */
    char helper[160];             /* OCI_CREDENTIALS_HELPER: "docker-credential-NAME", the helper to run */
};

/* What a credential helper answered, for oci_credentials_find to read. */
struct oci_helper_answer {
    char program[160];            /* "docker-credential-NAME" */
    char host[256];               /* the host it was asked about */
    int ran;                      /* 0: it could not be started (ERROR says why) */
    int timed_out;                /* it did not answer in 30 seconds and was killed */
    int status;                   /* its wait status */
    char *output;                 /* secret: its stdout; wiped by oci_helper_answer_clear */
    char error[300];
};

/* Finds HOST's credentials ("registry.example.com:5000"). Returns 1 with
 * *OUT filled, 0 when there are none (OUT->source lists where it looked),
 * OCI_CREDENTIALS_HELPER when the helper OUT->helper must answer first
 * (pass its ANSWER in the next call; NULL at first), or -1 with ERR (a file
 * that cannot be parsed, a helper that failed). */
int oci_credentials_find(const char *host, const struct oci_helper_answer *answer, struct oci_credentials *out,
                         char *err, size_t err_size);

typedef void (*oci_helper_fn)(void *ctx, struct oci_helper_answer *answer);
struct oci_helper_run;

/* Runs `PROGRAM get` with HOST on its stdin on REACTOR's loop; DONE gets
 * the answer once, later (it owns it: oci_helper_answer_clear). NULL only
 * when out of memory. */
struct oci_helper_run *oci_credentials_helper_start(struct reactor *reactor, const char *program, const char *host,
                                                    oci_helper_fn done, void *ctx);
/* Stops a helper still running (killed); DONE is not called. */
void oci_credentials_helper_cancel(struct oci_helper_run *run);
/* Wipes and frees ANSWER's output; the struct may be reused. */
void oci_helper_answer_clear(struct oci_helper_answer *answer);

/* Sets user and password from a base64 "user:password" (ECR's and
 * config.json's `auth`). 0, or -1 when it is not such a text. */
int oci_credentials_from_base64(struct oci_credentials *credentials, const char *encoded);

/* 1 when HOST is an ECR registry, with its account and region copied out. */
int oci_credentials_is_ecr(const char *host, char *account, size_t account_size, char *region, size_t region_size);

/* Wipes and frees the secrets; the struct may be reused. */
void oci_credentials_clear(struct oci_credentials *credentials);

#endif
