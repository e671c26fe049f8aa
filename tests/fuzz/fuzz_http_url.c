/* Fuzz target: the URL reader of the engine's own client (http_url), which
 * reads the endpoints users write in function files and notebooks. The
 * input is one URL; when it is taken, what was read must hang together:
 * the host is non-empty lower case and fits, the port is in range, the
 * path points into the URL and holds only visible ASCII, and the Host
 * header names the host. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (url == NULL)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    struct http_url parsed;
    if (http_url_parse(url, &parsed)) {
        size_t host_length = strlen(parsed.host);
        if (host_length == 0 || host_length >= sizeof parsed.host || parsed.port < 1 || parsed.port > 65535 ||
            parsed.path < url || parsed.path + parsed.path_length > url + strlen(url) ||
            strstr(parsed.authority, parsed.host) == NULL)
            abort();
        for (size_t i = 0; i < host_length; i++)
            if (parsed.host[i] >= 'A' && parsed.host[i] <= 'Z')
                abort();
        for (size_t i = 0; i < parsed.path_length; i++)
            if (parsed.path[i] <= ' ' || parsed.path[i] > '~')
                abort();
    }
    free(url);
    return 0;
}
