/* sigv4_tool: signs requests read as JSON lines on stdin, for comparing
 * sigv4 with another signer (tests/aws compares it with botocore). Each
 * line: {"method", "host", "path", "query", "headers": {name: value},
 * "body_b64", "region", "service", "amz_date", "access_key", "secret_key",
 * "token"}, or "url" instead of host/path/query; optional "double_encode"
 * and "normalize" (default true), "content_sha256" (default false). Prints
 * one line per request: the Authorization value, or with --json an object
 * {"authorization", "canonical_request", "string_to_sign", "headers"};
 * "ERROR: ..." when the request cannot be signed. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

static const char *text(const json_t *object, const char *key)
{
    const json_t *value = json_object_get(object, key);
    return json_is_string(value) ? json_string_value(value) : NULL;
}

static int flag(const json_t *object, const char *key, int fallback)
{
    const json_t *value = json_object_get(object, key);
    return json_is_boolean(value) ? json_is_true(value) : fallback;
}

/* Signs the request in LINE; prints one line. */
static void sign_line(const char *line, int as_json)
{
    json_error_t error;
    json_t *in = json_loads(line, 0, &error);
    if (!json_is_object(in)) {
        printf("ERROR: not a JSON object: %s\n", error.text);
        json_decref(in);
        return;
    }
    const json_t *headers_in = json_object_get(in, "headers");
    size_t count = json_is_object(headers_in) ? json_object_size(headers_in) : 0;
    char **headers = calloc(count + 1, sizeof *headers);
    unsigned char *body = NULL;
    size_t body_size = 0;
    const char *body_b64 = text(in, "body_b64");
    int ok = headers != NULL;
    if (ok && json_is_object(headers_in)) {
        const char *name;
        json_t *value;
        size_t i = 0;
        json_object_foreach((json_t *)headers_in, name, value) {
            if (!json_is_string(value) || asprintf(&headers[i], "%s: %s", name, json_string_value(value)) < 0) {
                headers[i] = NULL;
                ok = 0;
                break;
            }
            i++;
        }
    }
    if (ok && body_b64 != NULL && body_b64[0] != '\0') {
        size_t max = strlen(body_b64) / 4 * 3 + 3;
        body = malloc(max);
        ok = body != NULL && sodium_base642bin(body, max, body_b64, strlen(body_b64), NULL, &body_size, NULL,
                                               sodium_base64_VARIANT_ORIGINAL) == 0;
    }
    if (!ok) {
        printf("ERROR: bad headers or body_b64\n");
    } else {
        struct sigv4_request request = {
            .method = text(in, "method"),
            .url = text(in, "url"),
            .host = text(in, "host"),
            .path = text(in, "path"),
            .query = text(in, "query"),
            .headers = (const char *const *)headers,
            .body = body,
            .body_size = body_size,
            .region = text(in, "region"),
            .service = text(in, "service"),
            .amz_date = text(in, "amz_date"),
            .double_encode_path = flag(in, "double_encode", 1),
            .normalize_path = flag(in, "normalize", 1),
            .sign_content_sha256 = flag(in, "content_sha256", 0),
        };
        struct sigv4_credentials credentials = {text(in, "access_key"), text(in, "secret_key"), text(in, "token")};
        struct sigv4_result result;
        char err[512];
        if (sigv4_sign(&request, &credentials, &result, err, sizeof err) < 0) {
            printf("ERROR: %s\n", err);
        } else if (as_json) {
            json_t *added = json_array();
            for (int i = 0; result.headers[i] != NULL; i++)
                json_array_append_new(added, json_string(result.headers[i]));
            json_t *out = json_pack("{s:s, s:s, s:s, s:o}", "authorization", result.authorization,
                                    "canonical_request", result.canonical_request, "string_to_sign",
                                    result.string_to_sign, "headers", added);
            char *dumped = out ? json_dumps(out, JSON_COMPACT) : NULL;
            printf("%s\n", dumped ? dumped : "ERROR: out of memory");
            free(dumped);
            json_decref(out);
            sigv4_result_free(&result);
        } else {
            printf("%s\n", result.authorization);
            sigv4_result_free(&result);
        }
    }
    for (size_t i = 0; headers != NULL && i < count; i++)
        free(headers[i]);
    free(headers);
    free(body);
    json_decref(in);
}

int main(int argc, char **argv)
{
    int as_json = argc > 1 && strcmp(argv[1], "--json") == 0;
    if (argc > 2 || (argc == 2 && !as_json)) {
        fprintf(stderr, "usage: sigv4_tool [--json] < requests.jsonl\n");
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "sigv4_tool: libsodium failed to start\n");
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (n == 1 && line[0] == '\n')
            continue;
        sign_line(line, as_json);
        fflush(stdout);
    }
    free(line);
    return 0;
}
