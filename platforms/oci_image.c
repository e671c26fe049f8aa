/* oci_image: an image's config and manifest built on a base (see
 * oci_image.h). The base's JSON is copied deeply and changed in place;
 * what the kernel does not change (the base's Env entries, ExposedPorts,
 * User, history, created, ...) is kept as the base has it. */
#include "oci_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OCI_PYTHONPATH "/function/deps:/function"

int oci_image_is_index(const json_t *manifest)
{
    const char *media = json_string_value(json_object_get(manifest, "mediaType"));
    if (media != NULL)
        return strcmp(media, OCI_MEDIA_INDEX) == 0 || strcmp(media, OCI_DOCKER_LIST) == 0;
    return json_is_array(json_object_get(manifest, "manifests")) && !json_is_array(json_object_get(manifest, "layers"));
}

/* The OCI name of ARCH. */
static const char *oci_image_arch(const char *arch)
{
    if (arch == NULL || strcmp(arch, "x86_64") == 0 || strcmp(arch, "amd64") == 0)
        return "amd64";
    if (strcmp(arch, "aarch64") == 0)
        return "arm64";
    return arch;
}

const char *oci_image_pick(const json_t *index, const char *arch, char *err, size_t err_size)
{
    const char *wanted = oci_image_arch(arch);
    char found[256] = "";
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(index, "manifests"), i, entry) {
        json_t *platform = json_object_get(entry, "platform");
        const char *os = json_string_value(json_object_get(platform, "os"));
        const char *architecture = json_string_value(json_object_get(platform, "architecture"));
        const char *digest = json_string_value(json_object_get(entry, "digest"));
        if (os == NULL || architecture == NULL)
            continue;  /* attestations and other artifacts */
        if (strcmp(os, "linux") == 0 && strcmp(architecture, wanted) == 0 && digest != NULL)
            return digest;
        size_t used = strlen(found);
        snprintf(found + used, sizeof found - used, "%s%s/%s", used ? ", " : "", os, architecture);
    }
    snprintf(err, err_size, "the base image has no linux/%s manifest (it has %s): pick a base built for %s", wanted,
             found[0] ? found : "none", wanted);
    return NULL;
}

static json_t *oci_string_array(const char *const *values)
{
    json_t *array = json_array();
    for (size_t i = 0; values[i] != NULL; i++)
        json_array_append_new(array, json_string(values[i]));
    return array;
}

/* Sets "KEY=value" in ENV (a JSON array of such strings), replacing KEY's entry. */
static void oci_env_set(json_t *env, const char *assignment)
{
    size_t key_length = strcspn(assignment, "=");
    size_t i;
    json_t *entry;
    json_array_foreach(env, i, entry) {
        const char *text = json_string_value(entry);
        if (text != NULL && strncmp(text, assignment, key_length) == 0 && text[key_length] == '=') {
            json_array_set_new(env, i, json_string(assignment));
            return;
        }
    }
    json_array_append_new(env, json_string(assignment));
}

/* PYTHONPATH=/function/deps:/function, before the base's own. */
static void oci_env_pythonpath(json_t *env)
{
    size_t i;
    json_t *entry;
    json_array_foreach(env, i, entry) {
        const char *text = json_string_value(entry);
        if (text != NULL && strncmp(text, "PYTHONPATH=", 11) == 0) {
            char *value = NULL;
            if (asprintf(&value, "PYTHONPATH=" OCI_PYTHONPATH "%s%s", text[11] ? ":" : "", text + 11) >= 0)
                json_array_set_new(env, i, json_string(value));
            free(value);
            return;
        }
    }
    json_array_append_new(env, json_string("PYTHONPATH=" OCI_PYTHONPATH));
}

char *oci_image_config(const json_t *base_config, const struct oci_image_spec *spec,
                       const struct oci_image_layer *layers, size_t count, char *err, size_t err_size)
{
    if (!json_is_object(base_config) || !json_is_array(json_object_get(json_object_get(base_config, "rootfs"), "diff_ids"))) {
        snprintf(err, err_size, "the base image's config has no rootfs.diff_ids: it is not an image config");
        return NULL;
    }
    json_t *config = json_deep_copy(base_config);
    json_t *settings = json_object_get(config, "config");
    if (!json_is_object(settings)) {
        settings = json_object();
        json_object_set_new(config, "config", settings);
    }
    json_t *env = json_object_get(settings, "Env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(settings, "Env", env);
    }
    oci_env_pythonpath(env);
    for (size_t i = 0; spec->env != NULL && spec->env[i] != NULL; i++)
        oci_env_set(env, spec->env[i]);
    json_object_set_new(settings, "WorkingDir", json_string("/function"));
    json_t *labels = json_object_get(settings, "Labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(settings, "Labels", labels);
    }
    json_object_set_new(labels, "org.opencontainers.image.title", json_string(spec->title ? spec->title : ""));
    json_object_set_new(labels, "dev.faaset.code", json_string(spec->code_hash ? spec->code_hash : ""));
    if (spec->entrypoint != NULL)
        json_object_set_new(settings, "Entrypoint", oci_string_array(spec->entrypoint));
    if (spec->cmd != NULL)
        json_object_set_new(settings, "Cmd", oci_string_array(spec->cmd));
    json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
    json_t *history = json_object_get(config, "history");
    for (size_t i = 0; i < count; i++) {
        json_array_append_new(diff_ids, json_string(layers[i].diff_id));
        if (json_is_array(history))  /* one entry per layer: only where the base keeps them */
            json_array_append_new(history, json_pack("{s:s}", "created_by", layers[i].created_by));
    }
    char *text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(config);
    if (text == NULL)
        snprintf(err, err_size, "out of memory writing the image config");
    return text;
}

/* The OCI media type of a base layer (a Docker one has the same bytes). */
static const char *oci_layer_media(const char *media)
{
    if (media == NULL || strcmp(media, "application/vnd.docker.image.rootfs.diff.tar.gzip") == 0)
        return OCI_MEDIA_LAYER;
    if (strcmp(media, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") == 0)
        return "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    return media;
}

char *oci_image_manifest(const json_t *base_manifest, const char *config_digest, size_t config_size,
                         const struct oci_image_layer *layers, size_t count, char *err, size_t err_size)
{
    json_t *base_layers = json_object_get(base_manifest, "layers");
    if (!json_is_array(base_layers)) {
        snprintf(err, err_size, "the base image's manifest has no layers: it is not an image manifest");
        return NULL;
    }
    json_t *list = json_array();
    size_t i;
    json_t *layer;
    json_array_foreach(base_layers, i, layer) {
        json_t *copy = json_deep_copy(layer);
        json_object_set_new(copy, "mediaType",
                            json_string(oci_layer_media(json_string_value(json_object_get(layer, "mediaType")))));
        json_array_append_new(list, copy);
    }
    for (i = 0; i < count; i++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:I}", "mediaType", OCI_MEDIA_LAYER, "digest",
                                              layers[i].digest, "size", (json_int_t)layers[i].size));
    json_t *manifest = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType", OCI_MEDIA_MANIFEST,
                                 "config", "mediaType", OCI_MEDIA_CONFIG, "digest", config_digest, "size",
                                 (json_int_t)config_size, "layers", list);
    char *text = manifest ? json_dumps(manifest, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(manifest);
    if (text == NULL)
        snprintf(err, err_size, "out of memory writing the image manifest");
    return text;
}
