/* of_credentials: where an OpenFaaS gateway's URL and its Basic-auth user
 * and password come from, found where OpenFaaS users keep them.
 *
 * The gateway is the explicit value (`%platform openfaas gateway=URL`),
 * else OPENFAAS_URL (faas-cli's variable), else faas-cli's default
 * http://127.0.0.1:8080; a bare host (or host:port) means http://host, and
 * a trailing '/' is dropped.
 *
 * The user and password (the password never goes in a notebook) are
 * taken from the first place that has them:
 *   1. OPENFAAS_PASSWORD, with OPENFAAS_USERNAME (default "admin", the
 *      gateway's own default user);
 *   2. faas-cli's config file, as `faas-cli login` writes it: config.yml
 *      in the folder OPENFAAS_CONFIG names (it must exist then), else
 *      ~/.openfaas/config.yml; its `auths:` list holds one entry per
 *      gateway (`gateway: URL`, `auth: basic`, `token: base64 of
 *      user:password`), and the entry whose gateway is ours counts.
 * Only the small YAML subset faas-cli writes is read (top-level keys, a
 * list of mappings under `auths:`, plain or quoted scalars, # comments);
 * an entry with `auth: oauth2` is refused with a sentence saying so.
 *
 * Secrets: the password appears in no error and no description (the
 * description names the user and where it came from); the loaded copies
 * and the file's text are wiped when released. */
#ifndef FAASET_OF_CREDENTIALS_H
#define FAASET_OF_CREDENTIALS_H

#include <stddef.h>

struct of_credentials;

/* Finds the gateway and its credentials (no network); GATEWAY is the
 * explicit setting or NULL. Returns 0 with *OUT set, or -1 with ERR saying
 * what is missing and where it looked, or which file line is wrong (never
 * the line's text). */
int of_credentials_load(const char *gateway, struct of_credentials **out, char *err, size_t err_size);

/* Wipes and frees; NULL is fine. */
void of_credentials_free(struct of_credentials *credentials);

/* The gateway URL without a trailing '/', e.g. "http://127.0.0.1:8080". */
const char *of_credentials_gateway(const struct of_credentials *credentials);

/* The Authorization header's value, "Basic <base64 of user:password>",
 * valid until CREDENTIALS is freed. A secret: send it, never show it. */
const char *of_credentials_authorization(const struct of_credentials *credentials);

/* One line safe to show and log, e.g. "user admin from ~/.openfaas/config.yml
 * (auths); gateway http://127.0.0.1:8080 from OPENFAAS_URL". Never the password. */
void of_credentials_describe(const struct of_credentials *credentials, char *buf, size_t size);

#endif
