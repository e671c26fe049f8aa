/* oci_registry: calls to one container registry's distribution API
 * (/v2/...) over the shared HTTP engine, authorized as the registry asks.
 *
 * A call goes out with the authorization the registry last accepted (none
 * at first). A 401 is read for its challenge (WWW-Authenticate): `Basic`
 * is answered with the user's credentials (oci_credentials.h); `Bearer
 * realm=…,service=…,scope=…` with a token from the realm (GET with the
 * credentials as Basic, or anonymous when there are none; POST of the
 * identity token as an OAuth refresh grant), the scopes granted so far
 * kept in the request so one token serves the pushes and the base's pulls.
 * The call is then sent again, once. A redirect (a blob GET sent to a CDN
 * or S3) is followed once, with the call's headers (a Range) but without
 * the registry's authorization. Plain
 * http is used for a registry on a loopback address (as Docker treats
 * 127.0.0.0/8 as insecure by default) and when the host is written with
 * http://; https otherwise.
 *
 * Answers are read as the registries write them: a non-2xx status carries
 * {"errors": [{"code", "message"}]}, and the reply gives one sentence
 * naming the registry and its code, and, for a 401, where the credentials
 * came from. Nothing secret leaves: the Authorization text is wiped once
 * the engine has copied it and on free. Use from the loop's thread. */
#ifndef FAASET_OCI_REGISTRY_H
#define FAASET_OCI_REGISTRY_H

#include <stddef.h>

#include "http.h"
#include "oci_credentials.h"

struct oci_registry;

/* HOST is "registry.example.com", "host:5000" or "http://host:5000".
 * It has no credentials until given them (oci_registry_set_credentials,
 * from oci_credentials_find). NULL with ERR when out of memory. */
struct oci_registry *oci_registry_new(struct http_engine *engine, const char *host, char *err, size_t err_size);
/* Calls in flight are not answered after this; free the registry from a callback or when none is in flight. */
void oci_registry_free(struct oci_registry *registry);

/* Takes FOUND (what oci_credentials_find gave: 1 found, 0 none, its source
 * named in messages either way); *FOUND is left empty. */
void oci_registry_set_credentials(struct oci_registry *registry, struct oci_credentials *found, int have);
/* Replaces the credentials (ECR's token: user AWS); SOURCE is what messages name. */
int oci_registry_set_basic(struct oci_registry *registry, const char *username, const char *password,
                           const char *source);
/* 1 when credentials were found for the registry. */
int oci_registry_has_credentials(const struct oci_registry *registry);
/* "registry.example.com" as written by the user, without a scheme. */
const char *oci_registry_host(const struct oci_registry *registry);

/* Valid only during the callback. */
struct oci_reply {
    int ok;                              /* a 2xx status */
    long status;                         /* 0 when no answer came */
    const char *code;                    /* when !ok: the registry's error code ("MANIFEST_INVALID",
                                            "NAME_UNKNOWN", "UNAUTHORIZED", ...), "NetworkError", "HTTP<status>" */
    const char *message;                 /* when !ok: one sentence */
    const struct http_response *http;    /* the raw answer, NULL when none came */
};

typedef void (*oci_reply_fn)(void *ctx, const struct oci_reply *reply);

struct oci_call {
    const char *method;
    const char *path;                    /* "/v2/NAME/..." or an absolute URL (an upload's Location) */
    const char *const *headers;          /* extra "Name: value" lines, NULL-terminated, or NULL */
    const void *body;
    size_t body_size;
    const char *what;                    /* for messages: "the manifest of base/x:1" */
};

/* Sends CALL. 0 and DONE called later, or -1 with ERR and DONE not called. */
int oci_registry_send(struct oci_registry *registry, const struct oci_call *call, oci_reply_fn done, void *ctx,
                      char *err, size_t err_size);

/* The absolute URL of LOCATION (an upload's Location header, maybe a bare
 * path) on this registry, malloc'd. */
char *oci_registry_url(const struct oci_registry *registry, const char *location);

#endif
