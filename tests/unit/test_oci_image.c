/* Unit tests for oci_image: picking linux/ARCH from an image index (and
 * the sentence when it is missing), the config (PYTHONPATH before the
 * base's, other Env kept, WorkingDir, labels, entry point, diff_ids and
 * history appended) and the manifest (base layers kept, Docker media types
 * renamed, new layers after), both byte-identical for one input. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "oci_image.h"

int main(void)
{
    char err[256];
    json_t *index = json_loads("{\"mediaType\":\"" OCI_MEDIA_INDEX "\",\"manifests\":["
                               "{\"digest\":\"sha256:aaa\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                               "{\"digest\":\"sha256:att\",\"annotations\":{}},"
                               "{\"digest\":\"sha256:bbb\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}}]}",
                               0, NULL);
    CHECK(oci_image_is_index(index));
    const char *digest = oci_image_pick(index, "x86_64", err, sizeof err);
    CHECK(digest != NULL && strcmp(digest, "sha256:aaa") == 0);
    digest = oci_image_pick(index, "arm64", err, sizeof err);
    CHECK(digest != NULL && strcmp(digest, "sha256:bbb") == 0);
    CHECK(oci_image_pick(index, "s390x", err, sizeof err) == NULL);
    CHECK(strcmp(err, "the base image has no linux/s390x manifest (it has linux/amd64, linux/arm64): pick a base "
                      "built for s390x") == 0);
    json_decref(index);

    json_t *base_config = json_loads(
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/bin\",\"PYTHONPATH=/opt/x\"],"
        "\"Entrypoint\":[\"/lambda-entrypoint.sh\"],\"Cmd\":[\"old.handler\"],\"Labels\":{\"keep\":\"me\"}},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:base\"]},\"history\":[{\"created_by\":\"base\"}]}",
        0, NULL);
    const char *cmd[] = {"faaset_handler.handle", NULL};
    const char *env[] = {"PORT=8080", "PATH=/bin", NULL};
    struct oci_image_spec spec = {"hello", "c0de", NULL, cmd, env};
    struct oci_image_layer layers[] = {{"sha256:blob1", "sha256:tar1", 100, "faaset: dependencies"},
                                       {"sha256:blob2", "sha256:tar2", 20, "faaset: code"}};
    char *config = oci_image_config(base_config, &spec, layers, 2, err, sizeof err);
    char *again = oci_image_config(base_config, &spec, layers, 2, err, sizeof err);
    CHECK(config != NULL && again != NULL && strcmp(config, again) == 0);
    json_t *parsed = json_loads(config, 0, NULL);
    json_t *settings = json_object_get(parsed, "config");
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(settings, "Env"), 0)), "PATH=/bin") == 0);
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(settings, "Env"), 1)),
                 "PYTHONPATH=/function/deps:/function:/opt/x") == 0);
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(settings, "Env"), 2)), "PORT=8080") == 0);
    CHECK(strcmp(json_string_value(json_object_get(settings, "WorkingDir")), "/function") == 0);
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(settings, "Entrypoint"), 0)), "/lambda-entrypoint.sh") == 0);
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(settings, "Cmd"), 0)), "faaset_handler.handle") == 0);
    json_t *labels = json_object_get(settings, "Labels");
    CHECK(strcmp(json_string_value(json_object_get(labels, "keep")), "me") == 0);
    CHECK(strcmp(json_string_value(json_object_get(labels, "org.opencontainers.image.title")), "hello") == 0);
    CHECK(strcmp(json_string_value(json_object_get(labels, "dev.faaset.code")), "c0de") == 0);
    json_t *diff_ids = json_object_get(json_object_get(parsed, "rootfs"), "diff_ids");
    CHECK(json_array_size(diff_ids) == 3 && strcmp(json_string_value(json_array_get(diff_ids, 2)), "sha256:tar2") == 0);
    CHECK(json_array_size(json_object_get(parsed, "history")) == 3);
    json_decref(parsed);
    free(again);

    /* An empty Entrypoint list replaces the base's; a base without Env gets one. */
    const char *empty[] = {NULL};
    json_t *bare = json_loads("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", 0, NULL);
    struct oci_image_spec http = {"f", "h", (const char *[]){"python3", "/function/faaset_http.py", NULL}, empty, NULL};
    char *bare_config = oci_image_config(bare, &http, layers + 1, 1, err, sizeof err);
    CHECK(bare_config != NULL && strstr(bare_config, "\"Cmd\":[]") != NULL &&
          strstr(bare_config, "\"Env\":[\"PYTHONPATH=/function/deps:/function\"]") != NULL &&
          strstr(bare_config, "history") == NULL);
    free(bare_config);
    json_decref(bare);
    CHECK(oci_image_config(json_object_get(base_config, "config"), &spec, layers, 2, err, sizeof err) == NULL &&
          strstr(err, "not an image config") != NULL);

    json_t *base_manifest = json_loads(
        "{\"schemaVersion\":2,\"mediaType\":\"" OCI_DOCKER_MANIFEST "\",\"config\":{},\"layers\":["
        "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"sha256:base\",\"size\":5}]}",
        0, NULL);
    char *manifest = oci_image_manifest(base_manifest, "sha256:cfg", 321, layers, 2, err, sizeof err);
    CHECK(manifest != NULL);
    CHECK(manifest != NULL &&
          strcmp(manifest, "{\"config\":{\"digest\":\"sha256:cfg\",\"mediaType\":\"" OCI_MEDIA_CONFIG "\",\"size\":321},"
                           "\"layers\":[{\"digest\":\"sha256:base\",\"mediaType\":\"" OCI_MEDIA_LAYER "\",\"size\":5},"
                           "{\"digest\":\"sha256:blob1\",\"mediaType\":\"" OCI_MEDIA_LAYER "\",\"size\":100},"
                           "{\"digest\":\"sha256:blob2\",\"mediaType\":\"" OCI_MEDIA_LAYER "\",\"size\":20}],"
                           "\"mediaType\":\"" OCI_MEDIA_MANIFEST "\",\"schemaVersion\":2}") == 0);
    CHECK(!oci_image_is_index(base_manifest));
    CHECK(oci_image_manifest(base_config, "sha256:cfg", 1, NULL, 0, err, sizeof err) == NULL &&
          strstr(err, "no layers") != NULL);
    free(manifest);
    free(config);
    json_decref(base_manifest);
    json_decref(base_config);
    return check_report();
}
