/* oci_push: build an image on a base and push it (see oci_push.h).
 *
 * One push is one record walking its steps, each step one registry call
 * whose answer (oci_push_on_reply) decides the next: ECR tokens when
 * needed, the base's manifest (and its platform's, from an index), the
 * base's config, then for each blob in turn HEAD / mount / copy or upload,
 * and the manifest last. The layers are built before the first call, so
 * what is pushed is fixed when the push starts. The push owns its HTTP
 * engine and its registries (one when base and target share a host, so
 * one token carries both repositories' scopes). */
#include "oci_push.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "credfile.h"
#include "http.h"
#include "oci_credentials.h"
#include "oci_image.h"
#include "oci_registry.h"
#include "package.h"

#define OCI_ECR_TOKEN_LIFE_S (11 * 3600)    /* ECR's are good for 12 hours */
#define OCI_ECR_CACHE 8
#define OCI_MAX_BLOBS 256
/* A blob larger than this is sent in chunks of this size (a ranged GET of
 * the base's registry, a PATCH into the target's upload), so memory stays
 * bounded whatever the layer's size; a base layer is always copied so. */
#define OCI_CHUNK_BYTES (8UL * 1024 * 1024)

enum oci_step {
    OCI_STEP_CREDENTIAL_HELPER,
    OCI_STEP_ECR_TOKEN,
    OCI_STEP_ECR_REPOSITORY,
    OCI_STEP_BASE_MANIFEST,
    OCI_STEP_BASE_PLATFORM,
    OCI_STEP_BASE_CONFIG,
    OCI_STEP_BLOB_HEAD,
    OCI_STEP_BLOB_MOUNT,
    OCI_STEP_BLOB_START,
    OCI_STEP_CHUNK_GET,
    OCI_STEP_CHUNK_PATCH,
    OCI_STEP_BLOB_PUT,
    OCI_STEP_MANIFEST,
};

struct oci_blob {
    char digest[80];
    size_t size;
    const unsigned char *data;          /* ours (a layer or the config); NULL for a base layer */
};

struct oci_push {
    struct reactor *reactor;
    struct http_engine *engine;
    struct oci_registry *target, *base;  /* BASE == TARGET when they share a host */
    struct oci_reference target_ref, base_ref;
    struct aws_client *ecr_client;
    int finding;                          /* whose credentials are looked up: 0 the target's, 1 the base's, 2 done */
    struct oci_helper_run *helper;        /* a credential helper running for it, or NULL */
    struct oci_helper_answer answer;      /* the last helper's answer (answered), for the lookup made again */
    int answered;
    struct oci_registry *ecr_pending;    /* the registry the ECR token in flight is for */
    int repository_created;
    char arch[16];
    struct oci_layer deps_layer, code_layer;
    int has_deps;
    json_t *spec;                         /* {"title","code_hash","entrypoint","cmd","env"}: the request's copy */
    json_t *base_manifest, *base_config;
    char *config_text, *manifest_text;
    char config_digest[72], manifest_digest[72];
    struct oci_blob blobs[OCI_MAX_BLOBS];
    size_t blob_count, blob_at;
    char *upload_url;                     /* the target's upload of the blob in hand, as its last Location gave it */
    size_t chunk_offset, chunk_size;      /* the chunk in hand: where in the blob, how long */
    crypto_hash_sha256_state copied_hash; /* a base layer's bytes so far, checked against its digest at the end */
    enum oci_step step;
    unsigned long long bytes_sent;
    unsigned blobs_sent, blobs_mounted, blobs_present;
    oci_push_fn done;
    void *ctx;
    int starting;                         /* inside oci_push_start: a failure is returned, not reported */
    char start_error[1024];
};

/* ECR's tokens, kept for the kernel's life (one process, the loop's thread). */
static struct {
    char host[256];
    char *password;
    time_t expires;
} oci_ecr_tokens[OCI_ECR_CACHE];

static int oci_repository_ok(const char *repository)
{
    if (!*repository)
        return 0;
    for (const char *c = repository; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || strchr("._-/", *c)))
            return 0;
    return repository[0] != '/' && repository[strlen(repository) - 1] != '/' && strstr(repository, "//") == NULL;
}

/* "sha256:" and 64 lower-case hex digits. */
static int oci_digest_ok(const char *digest)
{
    if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
        return 0;
    for (const char *c = digest + 7; *c; c++)
        if (!isxdigit((unsigned char)*c) || isupper((unsigned char)*c))
            return 0;
    return 1;
}

int oci_reference_parse(const char *text, struct oci_reference *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    if (text == NULL || *text == '\0' || strpbrk(text, " \t\r\n") != NULL) {
        snprintf(err, err_size, "'%.200s' is not an image reference: write HOST/REPOSITORY:TAG", text ? text : "");
        return -1;
    }
    const char *rest = text, *scheme = "";
    if (strncmp(rest, "http://", 7) == 0) {
        scheme = "http://";
        rest += 7;
    } else if (strncmp(rest, "https://", 8) == 0) {
        rest += 8;
    }
    const char *slash = strchr(rest, '/');
    size_t first = slash ? (size_t)(slash - rest) : 0;
    if (slash != NULL && (memchr(rest, '.', first) || memchr(rest, ':', first) || strncmp(rest, "localhost", first) == 0)) {
        if (strncmp(rest, "docker.io/", 10) == 0)
            snprintf(out->host, sizeof out->host, "registry-1.docker.io");
        else
            snprintf(out->host, sizeof out->host, "%s%.*s", scheme, (int)first, rest);
        rest = slash + 1;
    } else {
        snprintf(out->host, sizeof out->host, "registry-1.docker.io");
    }
    const char *at = strchr(rest, '@');
    const char *last_slash = strrchr(rest, '/');
    const char *colon = strchr(last_slash ? last_slash : rest, ':');
    size_t name_length = at ? (size_t)(at - rest) : colon ? (size_t)(colon - rest) : strlen(rest);
    if (at != NULL && colon != NULL && colon < at)
        name_length = (size_t)(colon - rest); /* NAME:TAG@DIGEST: the digest decides */
    int library = strchr(rest, '/') == NULL && strcmp(out->host, "registry-1.docker.io") == 0;
    int written = snprintf(out->repository, sizeof out->repository, "%s%.*s", library ? "library/" : "",
                           (int)name_length, rest);
    if (at != NULL)
        snprintf(out->reference, sizeof out->reference, "%s", at + 1);
    else if (colon != NULL)
        snprintf(out->reference, sizeof out->reference, "%s", colon + 1);
    else
        snprintf(out->reference, sizeof out->reference, "latest");
    if (written < 0 || (size_t)written >= sizeof out->repository || !oci_repository_ok(out->repository) ||
        !*out->reference || (at != NULL && !oci_digest_ok(at + 1))) {
        snprintf(err, err_size, "'%.200s' is not an image reference: write HOST/REPOSITORY:TAG or "
                 "HOST/REPOSITORY@sha256:DIGEST, the repository in lower case", text);
        return -1;
    }
    return 0;
}

static void oci_push_free(struct oci_push *push)
{
    oci_credentials_helper_cancel(push->helper);
    oci_helper_answer_clear(&push->answer);
    if (push->base != push->target)
        oci_registry_free(push->base);
    oci_registry_free(push->target);
    http_engine_free(push->engine);
    oci_layer_free(&push->deps_layer);
    oci_layer_free(&push->code_layer);
    json_decref(push->spec);
    json_decref(push->base_manifest);
    json_decref(push->base_config);
    free(push->config_text);
    free(push->manifest_text);
    free(push->upload_url);
    free(push);
}

void oci_push_cancel(struct oci_push *push)
{
    if (push != NULL)
        oci_push_free(push);
}

static void oci_push_finish(struct oci_push *push, const char *error_type, const char *message)
{
    if (push->starting) {
        snprintf(push->start_error, sizeof push->start_error, "%.1000s", message ? message : "the push failed");
        return;
    }
    char uri[800] = "";
    if (error_type == NULL) {
        const char *host = oci_registry_host(push->target);
        snprintf(uri, sizeof uri, "%s/%s@%s", host, push->target_ref.repository, push->manifest_digest);
    }
    struct oci_push_result result = {.ok = error_type == NULL, .error_type = error_type, .message = message,
                                     .digest = error_type ? NULL : push->manifest_digest,
                                     .uri = error_type ? NULL : uri, .bytes_sent = push->bytes_sent,
                                     .blobs_sent = push->blobs_sent, .blobs_mounted = push->blobs_mounted,
                                     .blobs_present = push->blobs_present,
                                     .repository_created = push->repository_created};
    push->done(push->ctx, &result);
    oci_push_free(push);
}

static void oci_push_on_reply(void *ctx, const struct oci_reply *reply);

/* Sends a call to REGISTRY for the push's current step; a failure to send ends the push. */
static void oci_push_call(struct oci_push *push, struct oci_registry *registry, const char *method, const char *path,
                          const char *const *headers, const void *body, size_t size, const char *what)
{
    char err[256];
    struct oci_call call = {method, path, headers, body, size, what};
    if (oci_registry_send(registry, &call, oci_push_on_reply, push, err, sizeof err) < 0)
        oci_push_finish(push, "ImageError", err);
}

static void oci_push_next_blob(struct oci_push *push);
static void oci_push_base_manifest(struct oci_push *push);

/* ECR's GetAuthorizationToken for the registry waiting for it, or the next step. */
static void oci_push_credentials(struct oci_push *push);

static void oci_push_on_ecr(void *ctx, const struct aws_reply *reply)
{
    struct oci_push *push = ctx;
    struct oci_registry *registry = push->ecr_pending;
    push->ecr_pending = NULL;
    if (!reply->ok) {
        char message[700];
        snprintf(message, sizeof message, "ECR gave no token for %s (%s: %.300s): check the AWS credentials and their "
                 "ecr:GetAuthorizationToken permission", oci_registry_host(registry), reply->error_code,
                 reply->message);
        oci_push_finish(push, reply->error_code, message);
        return;
    }
    json_t *data = json_array_get(json_object_get(reply->json, "authorizationData"), 0);
    const char *token = json_string_value(json_object_get(data, "authorizationToken"));
    struct oci_credentials decoded = {0};
    if (token == NULL || oci_credentials_from_base64(&decoded, token) < 0) {
        oci_push_finish(push, "ImageError", "ECR's GetAuthorizationToken answered without a token");
        return;
    }
    size_t slot = 0;
    for (size_t i = 0; i < OCI_ECR_CACHE; i++) {
        if (strcmp(oci_ecr_tokens[i].host, oci_registry_host(registry)) == 0 ||
            oci_ecr_tokens[i].expires < oci_ecr_tokens[slot].expires) {
            slot = i;
            if (strcmp(oci_ecr_tokens[i].host, oci_registry_host(registry)) == 0)
                break;
        }
    }
    credfile_wipe_free(oci_ecr_tokens[slot].password);
    snprintf(oci_ecr_tokens[slot].host, sizeof oci_ecr_tokens[slot].host, "%s", oci_registry_host(registry));
    oci_ecr_tokens[slot].password = strdup(decoded.password);
    oci_ecr_tokens[slot].expires = time(NULL) + OCI_ECR_TOKEN_LIFE_S;
    oci_registry_set_basic(registry, decoded.username, decoded.password, "ECR's GetAuthorizationToken");
    oci_credentials_clear(&decoded);
    oci_push_credentials(push);
}

/* 1 when REGISTRY is ECR's and needs a token from the API, after using a cached one if there is one. */
static int oci_push_needs_ecr(struct oci_registry *registry)
{
    char account[64], region[64];
    if (oci_registry_has_credentials(registry) ||
        !oci_credentials_is_ecr(oci_registry_host(registry), account, sizeof account, region, sizeof region))
        return 0;
    for (size_t i = 0; i < OCI_ECR_CACHE; i++) {
        if (strcmp(oci_ecr_tokens[i].host, oci_registry_host(registry)) == 0 && oci_ecr_tokens[i].password != NULL &&
            oci_ecr_tokens[i].expires > time(NULL)) {
            oci_registry_set_basic(registry, "AWS", oci_ecr_tokens[i].password, "ECR's GetAuthorizationToken (cached)");
            return 0;
        }
    }
    return 1;
}

static void oci_push_on_repository(void *ctx, const struct aws_reply *reply)
{
    struct oci_push *push = ctx;
    const char *code = reply->error_code ? reply->error_code : "";
    if (reply->ok) {
        push->repository_created = 1;
    } else if (strcmp(code, "RepositoryAlreadyExistsException") != 0 && strcmp(code, "AccessDeniedException") != 0) {
        /* Denied: the credentials may push to a repository made by someone else; the push will say if it is missing. */
        char message[700];
        snprintf(message, sizeof message, "ECR could not create the repository %s (%s: %.300s): create it yourself, "
                 "or check the AWS credentials", push->target_ref.repository, code, reply->message);
        oci_push_finish(push, code[0] ? code : "ImageError", message);
        return;
    }
    oci_push_base_manifest(push);
}

/* An ECR target: its repository is created if missing (ECR does not create one on push). */
static void oci_push_repository(struct oci_push *push)
{
    char account[64], region[64], err[512];
    if (push->ecr_client == NULL || !oci_credentials_is_ecr(oci_registry_host(push->target), account, sizeof account,
                                                            region, sizeof region)) {
        oci_push_base_manifest(push);
        return;
    }
    json_t *body = json_pack("{s:s,s:s}", "repositoryName", push->target_ref.repository, "registryId", account);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        oci_push_finish(push, "ImageError", "out of memory");
        return;
    }
    const char *headers[] = {"X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.CreateRepository",
                             "Content-Type: application/x-amz-json-1.1", NULL};
    struct aws_call call = {"POST", "/", NULL, headers, text, strlen(text), 60000};
    push->step = OCI_STEP_ECR_REPOSITORY;
    int rc = aws_client_send(push->ecr_client, &call, oci_push_on_repository, push, err, sizeof err);
    free(text);
    if (rc < 0)
        oci_push_finish(push, "ImageError", err);
}

static void oci_push_credentials(struct oci_push *push)
{
    struct oci_registry *registry = oci_push_needs_ecr(push->target) ? push->target
                                    : oci_push_needs_ecr(push->base) ? push->base
                                                                     : NULL;
    if (registry == NULL || push->ecr_client == NULL) {
        oci_push_repository(push);
        return;
    }
    char account[64], region[64], err[512];
    oci_credentials_is_ecr(oci_registry_host(registry), account, sizeof account, region, sizeof region);
    char body[128];
    snprintf(body, sizeof body, "{\"registryIds\":[\"%s\"]}", account);
    const char *headers[] = {"X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
                             "Content-Type: application/x-amz-json-1.1", NULL};
    struct aws_call call = {"POST", "/", NULL, headers, body, strlen(body), 60000};
    push->step = OCI_STEP_ECR_TOKEN;
    push->ecr_pending = registry;
    if (aws_client_send(push->ecr_client, &call, oci_push_on_ecr, push, err, sizeof err) < 0)
        oci_push_finish(push, "ImageError", err);
}

static void oci_push_find_credentials(struct oci_push *push);

static void oci_push_on_helper(void *ctx, struct oci_helper_answer *answer)
{
    struct oci_push *push = ctx;
    push->helper = NULL;
    oci_helper_answer_clear(&push->answer);
    push->answer = *answer;
    push->answered = 1;
    oci_push_find_credentials(push);
}

/* Looks up the target's credentials, then the base's (when on another
 * registry); a credential helper named for one runs on the loop and the
 * lookup is made again with its answer. Then the ECR steps. */
static void oci_push_find_credentials(struct oci_push *push)
{
    char err[600];
    for (; push->finding < 2; push->finding++) {
        struct oci_registry *registry = push->finding == 0 ? push->target : push->base;
        if (push->finding == 1 && push->base == push->target)
            continue;
        struct oci_credentials found;
        int rc = oci_credentials_find(oci_registry_host(registry), push->answered ? &push->answer : NULL, &found, err,
                                      sizeof err);
        if (rc == OCI_CREDENTIALS_HELPER) {
            push->step = OCI_STEP_CREDENTIAL_HELPER;
            push->helper = oci_credentials_helper_start(push->reactor, found.helper, oci_registry_host(registry),
                                                        oci_push_on_helper, push);
            if (push->helper == NULL)
                oci_push_finish(push, "ImageError", "out of memory starting a credential helper");
            return;
        }
        if (rc < 0) {
            oci_push_finish(push, "ImageError", err);
            return;
        }
        oci_registry_set_credentials(registry, &found, rc);
    }
    oci_helper_answer_clear(&push->answer);
    push->answered = 0;
    oci_push_credentials(push);
}

static void oci_push_base_manifest(struct oci_push *push)
{
    char path[700], what[600];
    snprintf(path, sizeof path, "/v2/%s/manifests/%s", push->base_ref.repository, push->base_ref.reference);
    snprintf(what, sizeof what, "the base image %s%c%s", push->base_ref.repository,
             strncmp(push->base_ref.reference, "sha256:", 7) == 0 ? '@' : ':', push->base_ref.reference);
    const char *headers[] = {"Accept: " OCI_ACCEPT_MANIFESTS, NULL};
    push->step = OCI_STEP_BASE_MANIFEST;
    oci_push_call(push, push->base, "GET", path, headers, NULL, 0, what);
}

static const char *const *oci_spec_list(const json_t *array, const char **out, size_t size)
{
    if (!json_is_array(array))
        return NULL;
    size_t n = 0;
    for (; n < json_array_size(array) && n + 1 < size; n++)
        out[n] = json_string_value(json_array_get(array, n));
    out[n] = NULL;
    return out;
}

static void oci_push_add_blob(struct oci_push *push, const char *digest, size_t size, const unsigned char *data)
{
    struct oci_blob *blob = &push->blobs[push->blob_count++];
    snprintf(blob->digest, sizeof blob->digest, "%s", digest);
    blob->size = size;
    blob->data = data;
}

/* The base's manifest and config are in: write ours and list the blobs. */
static void oci_push_compose(struct oci_push *push)
{
    char err[512];
    struct oci_image_layer layers[2];
    size_t count = 0;
    if (push->has_deps)
        layers[count++] = (struct oci_image_layer){push->deps_layer.digest, push->deps_layer.diff_id,
                                                   push->deps_layer.blob_size, "faaset: dependencies (/function/deps)"};
    layers[count++] = (struct oci_image_layer){push->code_layer.digest, push->code_layer.diff_id,
                                               push->code_layer.blob_size, "faaset: function code (/function)"};
    const char *entrypoint[32], *cmd[32], *env[64];
    struct oci_image_spec spec = {
        json_string_value(json_object_get(push->spec, "title")),
        json_string_value(json_object_get(push->spec, "code_hash")),
        oci_spec_list(json_object_get(push->spec, "entrypoint"), entrypoint, 32),
        oci_spec_list(json_object_get(push->spec, "cmd"), cmd, 32),
        oci_spec_list(json_object_get(push->spec, "env"), env, 64),
    };
    push->config_text = oci_image_config(push->base_config, &spec, layers, count, err, sizeof err);
    if (push->config_text == NULL) {
        oci_push_finish(push, "ImageError", err);
        return;
    }
    oci_layer_digest(push->config_text, strlen(push->config_text), push->config_digest);
    push->manifest_text = oci_image_manifest(push->base_manifest, push->config_digest, strlen(push->config_text),
                                             layers, count, err, sizeof err);
    if (push->manifest_text == NULL) {
        oci_push_finish(push, "ImageError", err);
        return;
    }
    oci_layer_digest(push->manifest_text, strlen(push->manifest_text), push->manifest_digest);
    size_t i;
    json_t *layer;
    json_array_foreach(json_object_get(push->base_manifest, "layers"), i, layer) {
        const char *digest = json_string_value(json_object_get(layer, "digest"));
        if (digest == NULL || push->blob_count == OCI_MAX_BLOBS - 3) {
            oci_push_finish(push, "ImageError", "the base image's manifest lists a layer without a digest, or over "
                            "250 layers");
            return;
        }
        oci_push_add_blob(push, digest, (size_t)json_integer_value(json_object_get(layer, "size")), NULL);
    }
    if (push->has_deps)
        oci_push_add_blob(push, push->deps_layer.digest, push->deps_layer.blob_size, push->deps_layer.blob);
    oci_push_add_blob(push, push->code_layer.digest, push->code_layer.blob_size, push->code_layer.blob);
    oci_push_add_blob(push, push->config_digest, strlen(push->config_text), (const unsigned char *)push->config_text);
    push->blob_at = 0;
    oci_push_next_blob(push);
}

static void oci_push_blob_what(struct oci_push *push, char *what, size_t size)
{
    const struct oci_blob *blob = &push->blobs[push->blob_at];
    snprintf(what, size, "the %s blob %.19s in %s", blob->data ? "new" : "base layer's", blob->digest,
             push->target_ref.repository);
}

static void oci_push_next_blob(struct oci_push *push)
{
    char path[700], what[600];
    if (push->blob_at == push->blob_count) {
        const char *headers[] = {"Content-Type: " OCI_MEDIA_MANIFEST, NULL};
        snprintf(path, sizeof path, "/v2/%s/manifests/%s", push->target_ref.repository, push->target_ref.reference);
        snprintf(what, sizeof what, "the manifest of %s:%s", push->target_ref.repository, push->target_ref.reference);
        push->step = OCI_STEP_MANIFEST;
        oci_push_call(push, push->target, "PUT", path, headers, push->manifest_text, strlen(push->manifest_text), what);
        return;
    }
    snprintf(path, sizeof path, "/v2/%s/blobs/%s", push->target_ref.repository, push->blobs[push->blob_at].digest);
    oci_push_blob_what(push, what, sizeof what);
    push->step = OCI_STEP_BLOB_HEAD;
    oci_push_call(push, push->target, "HEAD", path, NULL, NULL, 0, what);
}

/* The blob is missing from the target: mount it, or start its upload. */
static void oci_push_blob_missing(struct oci_push *push)
{
    const struct oci_blob *blob = &push->blobs[push->blob_at];
    char path[900], what[600];
    oci_push_blob_what(push, what, sizeof what);
    if (blob->data == NULL && push->base == push->target) {
        snprintf(path, sizeof path, "/v2/%s/blobs/uploads/?mount=%s&from=%s", push->target_ref.repository,
                 blob->digest, push->base_ref.repository);
        push->step = OCI_STEP_BLOB_MOUNT;
        oci_push_call(push, push->target, "POST", path, NULL, NULL, 0, what);
    } else {
        snprintf(path, sizeof path, "/v2/%s/blobs/uploads/", push->target_ref.repository);
        push->step = OCI_STEP_BLOB_START;
        oci_push_call(push, push->target, "POST", path, NULL, NULL, 0, what);
    }
}

/* An upload is open at LOCATION: PUT the blob's bytes there with its
 * digest (DATA, SIZE), or, its chunks all sent, only the digest. */
static void oci_push_blob_put(struct oci_push *push, const char *location, const unsigned char *data, size_t size)
{
    const struct oci_blob *blob = &push->blobs[push->blob_at];
    char what[600];
    oci_push_blob_what(push, what, sizeof what);
    if (location == NULL) {
        oci_push_finish(push, "ImageError", "the registry opened an upload without a Location");
        return;
    }
    char *url = NULL;
    if (asprintf(&url, "%s%cdigest=%s", location, strchr(location, '?') ? '&' : '?', blob->digest) < 0) {
        oci_push_finish(push, "ImageError", "out of memory");
        return;
    }
    /* the digest's ':' as %3A */
    char *colon = strstr(url, "digest=sha256:");
    if (colon != NULL) {
        char *fixed = NULL;
        if (asprintf(&fixed, "%.*ssha256%%3A%s", (int)(colon + 7 - url), url, colon + 14) >= 0) {
            free(url);
            url = fixed;
        }
    }
    const char *headers[] = {"Content-Type: application/octet-stream", NULL};
    push->step = OCI_STEP_BLOB_PUT;
    push->bytes_sent += size;
    oci_push_call(push, push->target, "PUT", url, headers, data, size, what);
    free(url);
}

/* PATCHes the chunk in hand (DATA) into the upload, at its offset. */
static void oci_push_patch(struct oci_push *push, const void *data, size_t size)
{
    char what[600], range[96];
    oci_push_blob_what(push, what, sizeof what);
    snprintf(range, sizeof range, "Content-Range: %zu-%zu", push->chunk_offset, push->chunk_offset + size - 1);
    const char *headers[] = {"Content-Type: application/octet-stream", range, NULL};
    push->step = OCI_STEP_CHUNK_PATCH;
    push->bytes_sent += size;
    oci_push_call(push, push->target, "PATCH", push->upload_url, headers, data, size, what);
}

/* Sends the blob's next chunk: from memory (ours), or fetched first from
 * the base's registry with a ranged GET (a base layer); once all are in,
 * a base layer's digest is checked and the upload committed. */
static void oci_push_next_chunk(struct oci_push *push)
{
    const struct oci_blob *blob = &push->blobs[push->blob_at];
    char what[600], range[96];
    if (push->chunk_offset == blob->size) {
        if (blob->data == NULL) {
            unsigned char hash[crypto_hash_sha256_BYTES];
            char digest[72] = "sha256:";
            crypto_hash_sha256_final(&push->copied_hash, hash);
            sodium_bin2hex(digest + 7, sizeof digest - 7, hash, sizeof hash);
            if (strcmp(digest, blob->digest) != 0) {
                char err[512];
                snprintf(err, sizeof err, "the base layer %.19s came from %s with other content (%.19s): the "
                         "registry or a proxy changed it", blob->digest, oci_registry_host(push->base), digest);
                oci_push_finish(push, "ImageError", err);
                return;
            }
        }
        char *location = push->upload_url;
        push->upload_url = NULL;
        oci_push_blob_put(push, location, NULL, 0);
        free(location);
        return;
    }
    push->chunk_size = blob->size - push->chunk_offset < OCI_CHUNK_BYTES ? blob->size - push->chunk_offset
                                                                          : OCI_CHUNK_BYTES;
    if (blob->data != NULL) {
        oci_push_patch(push, blob->data + push->chunk_offset, push->chunk_size);
        return;
    }
    char path[700];
    snprintf(path, sizeof path, "/v2/%s/blobs/%s", push->base_ref.repository, blob->digest);
    snprintf(what, sizeof what, "the base layer %.19s of %s", blob->digest, push->base_ref.repository);
    snprintf(range, sizeof range, "Range: bytes=%zu-%zu", push->chunk_offset, push->chunk_offset + push->chunk_size - 1);
    const char *headers[] = {range, NULL};
    push->step = OCI_STEP_CHUNK_GET;
    oci_push_call(push, push->base, "GET", path, headers, NULL, 0, what);
}

/* The upload is open at LOCATION: the blob goes in whole when it is ours
 * and small, else in chunks. */
static void oci_push_blob_upload(struct oci_push *push, const char *location)
{
    const struct oci_blob *blob = &push->blobs[push->blob_at];
    if (location == NULL) {
        oci_push_finish(push, "ImageError", "the registry opened an upload without a Location");
        return;
    }
    if (blob->data != NULL && blob->size <= OCI_CHUNK_BYTES) {
        oci_push_blob_put(push, location, blob->data, blob->size);
        return;
    }
    if (blob->size == 0) {
        oci_push_finish(push, "ImageError", "the base image's manifest gives a layer no size");
        return;
    }
    char *url = strdup(location);
    if (url == NULL) {
        oci_push_finish(push, "ImageError", "out of memory");
        return;
    }
    free(push->upload_url);
    push->upload_url = url;
    push->chunk_offset = 0;
    crypto_hash_sha256_init(&push->copied_hash);
    oci_push_next_chunk(push);
}

static void oci_push_on_reply(void *ctx, const struct oci_reply *reply)
{
    struct oci_push *push = ctx;
    char err[512];
    switch (push->step) {
    case OCI_STEP_BASE_MANIFEST:
    case OCI_STEP_BASE_PLATFORM: {
        if (!reply->ok) {
            oci_push_finish(push, reply->code, reply->message);
            return;
        }
        json_t *manifest = json_loads(reply->http->body, 0, NULL);
        if (manifest != NULL && oci_image_is_index(manifest) && push->step == OCI_STEP_BASE_MANIFEST) {
            const char *digest = oci_image_pick(manifest, push->arch, err, sizeof err);
            if (digest == NULL) {
                json_decref(manifest);
                oci_push_finish(push, "ImageError", err);
                return;
            }
            char path[700];
            snprintf(path, sizeof path, "/v2/%s/manifests/%s", push->base_ref.repository, digest);
            json_decref(manifest);
            const char *headers[] = {"Accept: " OCI_ACCEPT_MANIFESTS, NULL};
            push->step = OCI_STEP_BASE_PLATFORM;
            oci_push_call(push, push->base, "GET", path, headers, NULL, 0, "the base image's platform manifest");
            return;
        }
        const char *config = json_string_value(json_object_get(json_object_get(manifest, "config"), "digest"));
        if (config == NULL || !json_is_array(json_object_get(manifest, "layers"))) {
            json_decref(manifest);
            oci_push_finish(push, "ImageError", "the base image's manifest is not an image manifest (no config or "
                            "layers): give a container image as the base");
            return;
        }
        push->base_manifest = manifest;
        char path[700];
        snprintf(path, sizeof path, "/v2/%s/blobs/%s", push->base_ref.repository, config);
        push->step = OCI_STEP_BASE_CONFIG;
        oci_push_call(push, push->base, "GET", path, NULL, NULL, 0, "the base image's config");
        return;
    }
    case OCI_STEP_BASE_CONFIG:
        if (!reply->ok) {
            oci_push_finish(push, reply->code, reply->message);
            return;
        }
        push->base_config = json_loads(reply->http->body, 0, NULL);
        if (push->base_config == NULL) {
            oci_push_finish(push, "ImageError", "the base image's config is not JSON");
            return;
        }
        oci_push_compose(push);
        return;
    case OCI_STEP_BLOB_HEAD:
        if (reply->ok) {
            push->blobs_present++;
            push->blob_at++;
            oci_push_next_blob(push);
        } else if (reply->status == 404) {
            oci_push_blob_missing(push);
        } else {
            oci_push_finish(push, reply->code, reply->message);
        }
        return;
    case OCI_STEP_BLOB_MOUNT:
        if (!reply->ok) {
            oci_push_finish(push, reply->code, reply->message);
        } else if (reply->status == 201) {
            push->blobs_mounted++;
            push->blob_at++;
            oci_push_next_blob(push);
        } else { /* 202: not mounted, an upload opened instead: copy the blob into it */
            oci_push_blob_upload(push, http_response_header(reply->http, "Location"));
        }
        return;
    case OCI_STEP_BLOB_START:
        if (!reply->ok)
            oci_push_finish(push, reply->code, reply->message);
        else
            oci_push_blob_upload(push, http_response_header(reply->http, "Location"));
        return;
    case OCI_STEP_CHUNK_GET: {
        if (!reply->ok) {
            oci_push_finish(push, reply->code, reply->message);
            return;
        }
        const struct oci_blob *blob = &push->blobs[push->blob_at];
        size_t got = reply->http->body_size;
        /* a registry that ignores Range answers 200 with the whole blob: fine when that is the one chunk */
        if (got != push->chunk_size || (reply->status != 206 && got != blob->size)) {
            snprintf(err, sizeof err, "the registry %s answered a ranged GET of the base layer %.19s with %zu bytes "
                     "(HTTP %ld), not the %zu asked for: it does not serve parts of blobs",
                     oci_registry_host(push->base), blob->digest, got, reply->status, push->chunk_size);
            oci_push_finish(push, "ImageError", err);
            return;
        }
        crypto_hash_sha256_update(&push->copied_hash, (const unsigned char *)reply->http->body, got);
        oci_push_patch(push, reply->http->body, got);
        return;
    }
    case OCI_STEP_CHUNK_PATCH: {
        const char *location = reply->ok ? http_response_header(reply->http, "Location") : NULL;
        char *next = location ? strdup(location) : NULL;
        if (!reply->ok || next == NULL) {
            free(next);
            oci_push_finish(push, reply->ok ? "ImageError" : reply->code,
                            reply->ok ? "the registry took a chunk of an upload without saying where the upload goes "
                                        "on (no Location)" : reply->message);
            return;
        }
        free(push->upload_url);
        push->upload_url = next;
        push->chunk_offset += push->chunk_size;
        oci_push_next_chunk(push);
        return;
    }
    case OCI_STEP_BLOB_PUT:
        if (!reply->ok) {
            oci_push_finish(push, reply->code, reply->message);
            return;
        }
        push->blobs_sent++;
        push->blob_at++;
        oci_push_next_blob(push);
        return;
    case OCI_STEP_MANIFEST: {
        if (!reply->ok) {
            oci_push_finish(push, reply->code, reply->message);
            return;
        }
        const char *digest = http_response_header(reply->http, "Docker-Content-Digest");
        if (digest != NULL && strcmp(digest, push->manifest_digest) != 0) {
            snprintf(err, sizeof err, "the registry %s stored the manifest as %.80s, not %s as sent: it rewrote it",
                     oci_registry_host(push->target), digest, push->manifest_digest);
            oci_push_finish(push, "ImageError", err);
            return;
        }
        oci_push_finish(push, NULL, NULL);
        return;
    }
    case OCI_STEP_CREDENTIAL_HELPER:
    case OCI_STEP_ECR_TOKEN:
    case OCI_STEP_ECR_REPOSITORY:
        return; /* answered by oci_push_on_helper, oci_push_on_ecr and oci_push_on_repository */
    }
}

static json_t *oci_string_list(const char *const *values)
{
    if (values == NULL)
        return json_null();
    json_t *array = json_array();
    for (size_t i = 0; values[i] != NULL; i++)
        json_array_append_new(array, json_string(values[i]));
    return array;
}

/* The code layer: the package's files and the extra ones, under function/. */
static int oci_push_code_layer(struct oci_push *push, const struct oci_push_request *request, char *err,
                               size_t err_size)
{
    struct zip_entry entries[PACKAGE_MAX_FILES];
    size_t count = 0;
    char *handler = NULL;
    if (package_files(request->source, request->function, request->requirements, entries, &count, &handler, err,
                      err_size) < 0)
        return -1;
    size_t total = count + request->extra_count;
    struct oci_layer_file *files = calloc(total, sizeof *files);
    char **names = calloc(total, sizeof *names);
    int rc = -1;
    if (files != NULL && names != NULL) {
        rc = 0;
        for (size_t i = 0; i < total && rc == 0; i++) {
            const char *name = i < count ? entries[i].name : request->extra_files[i - count].name;
            if (asprintf(&names[i], "function/%s", name) < 0) {
                names[i] = NULL;
                rc = -1;
                snprintf(err, err_size, "out of memory");
                break;
            }
            files[i] = i < count ? (struct oci_layer_file){names[i], entries[i].data, entries[i].size}
                                 : (struct oci_layer_file){names[i], request->extra_files[i - count].data,
                                                           request->extra_files[i - count].size};
        }
        if (rc == 0)
            rc = oci_layer_build(files, total, &push->code_layer, err, err_size);
    } else {
        snprintf(err, err_size, "out of memory");
    }
    for (size_t i = 0; names != NULL && i < total; i++)
        free(names[i]);
    free(names);
    free(files);
    free(handler);
    return rc;
}

struct oci_push *oci_push_start(struct reactor *reactor, const struct oci_push_request *request, oci_push_fn done,
                                void *ctx, char *err, size_t err_size)
{
    struct oci_push *push = calloc(1, sizeof *push);
    if (push == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    push->done = done;
    push->ctx = ctx;
    push->ecr_client = request->ecr_client;
    snprintf(push->arch, sizeof push->arch, "%s", request->arch ? request->arch : "x86_64");
    if (oci_reference_parse(request->base, &push->base_ref, err, err_size) < 0 ||
        oci_reference_parse(request->target, &push->target_ref, err, err_size) < 0)
        goto fail;
    if (strncmp(push->target_ref.reference, "sha256:", 7) == 0) {
        snprintf(err, err_size, "the registry to push to is written with a digest (%.200s): give a repository, with a "
                 "tag or none", request->target);
        goto fail;
    }
    push->spec = json_pack("{s:s,s:s,s:o,s:o,s:o}", "title", request->title ? request->title : "", "code_hash",
                           request->code_hash ? request->code_hash : "", "entrypoint",
                           oci_string_list(request->entrypoint), "cmd", oci_string_list(request->cmd), "env",
                           oci_string_list(request->env));
    if (push->spec == NULL) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    if (request->deps_dir != NULL) {
        if (oci_layer_from_dir(request->deps_dir, "function/deps", &push->deps_layer, err, err_size) < 0)
            goto fail;
        push->has_deps = 1;
    }
    if (oci_push_code_layer(push, request, err, err_size) < 0)
        goto fail;
    push->engine = http_engine_new(reactor);
    if (push->engine == NULL) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    push->target = oci_registry_new(push->engine, push->target_ref.host, err, err_size);
    if (push->target == NULL)
        goto fail;
    if (strcmp(push->base_ref.host, push->target_ref.host) == 0)
        push->base = push->target;
    else if ((push->base = oci_registry_new(push->engine, push->base_ref.host, err, err_size)) == NULL)
        goto fail;
    push->reactor = reactor;
    push->starting = 1;
    oci_push_find_credentials(push);
    push->starting = 0;
    if (push->start_error[0]) {
        snprintf(err, err_size, "%s", push->start_error);
        goto fail;
    }
    return push;
fail:
    oci_push_free(push);
    return NULL;
}
