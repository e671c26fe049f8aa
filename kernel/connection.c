/* connection: parsing and validation of the connection file (see connection.h).
 * Every field is checked for type and range, and errors name the field, so a
 * broken file written by a frontend gives one clear line instead of a bind
 * failure later. */
#include "connection.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

static const char *const port_keys[CHANNEL_COUNT] = {
    "shell_port", "control_port", "stdin_port", "iopub_port", "hb_port",
};

const char *connection_channel_name(enum connection_channel channel)
{
    static const char *const names[CHANNEL_COUNT] = {"shell", "control", "stdin", "iopub", "hb"};
    return names[channel];
}

static int copy_string_field(json_t *root, const char *field, const char *fallback, char *out,
                             size_t out_size, char *err, size_t err_size)
{
    json_t *value = json_object_get(root, field);
    const char *text = fallback;
    if (value != NULL) {
        if (!json_is_string(value)) {
            snprintf(err, err_size, "\"%s\" must be a string", field);
            return -1;
        }
        text = json_string_value(value);
    }
    if (strlen(text) >= out_size) {
        snprintf(err, err_size, "\"%s\" is too long (at most %zu characters)", field, out_size - 1);
        return -1;
    }
    strcpy(out, text);
    return 0;
}

static int read_fields(json_t *root, struct connection_info *info, char *err, size_t err_size)
{
    if (copy_string_field(root, "transport", "tcp", info->transport, sizeof info->transport, err, err_size) < 0 ||
        copy_string_field(root, "ip", "127.0.0.1", info->ip, sizeof info->ip, err, err_size) < 0)
        return -1;
    if (strcmp(info->transport, "tcp") != 0 && strcmp(info->transport, "ipc") != 0) {
        snprintf(err, err_size, "\"transport\" must be \"tcp\" or \"ipc\", not \"%s\"", info->transport);
        return -1;
    }
    for (int c = 0; c < CHANNEL_COUNT; c++) {
        json_t *port = json_object_get(root, port_keys[c]);
        if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535) {
            snprintf(err, err_size, "\"%s\" must be an integer from 1 to 65535", port_keys[c]);
            return -1;
        }
        info->ports[c] = (int)json_integer_value(port);
    }
    json_t *scheme = json_object_get(root, "signature_scheme");
    if (scheme != NULL && !json_is_string(scheme)) {
        snprintf(err, err_size, "\"signature_scheme\" must be a string");
        return -1;
    }
    const char *scheme_text = scheme ? json_string_value(scheme) : "hmac-sha256";
    json_t *key = json_object_get(root, "key");
    if (key != NULL && !json_is_string(key)) {
        snprintf(err, err_size, "\"key\" must be a string");
        return -1;
    }
    info->key_len = key ? json_string_length(key) : 0;
    if (info->key_len > 0 && strcmp(scheme_text, "hmac-sha256") != 0) {
        snprintf(err, err_size, "\"signature_scheme\" \"%s\" is not supported; use \"hmac-sha256\"", scheme_text);
        return -1;
    }
    info->key = malloc(info->key_len + 1);
    if (info->key == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    memcpy(info->key, key ? json_string_value(key) : "", info->key_len + 1);
    return 0;
}

int connection_load(const char *path, struct connection_info *info, char *err, size_t err_size)
{
    memset(info, 0, sizeof *info);
    char why[1200];
    json_t *root = fsutil_load_json(path, why, sizeof why);
    if (root == NULL) {
        snprintf(err, err_size, "cannot read connection file %s: %s", path, why);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root))
        snprintf(err, err_size, "connection file %s must hold a JSON object", path);
    else if (read_fields(root, info, err, err_size) == 0)
        rc = 0;
    else {
        size_t used = strlen(err);
        snprintf(err + used, err_size - used, " (in connection file %s)", path);
    }
    json_decref(root);
    if (rc != 0)
        connection_free(info);
    return rc;
}

void connection_endpoint(const struct connection_info *info, enum connection_channel channel,
                         char *out, size_t out_size)
{
    if (strcmp(info->transport, "ipc") == 0)
        snprintf(out, out_size, "ipc://%s-%d", info->ip, info->ports[channel]);
    else
        snprintf(out, out_size, "tcp://%s:%d", info->ip, info->ports[channel]);
}

void connection_free(struct connection_info *info)
{
    if (info->key != NULL) {
        sodium_memzero(info->key, info->key_len);
        free(info->key);
        info->key = NULL;
    }
    info->key_len = 0;
}
