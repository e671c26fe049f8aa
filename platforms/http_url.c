/* http_url: the URL reader of the engine's own client (see http_url.h).
 * scheme "://" authority [path] ["#" fragment]: the authority is a host
 * (an IPv4 address, a bracketed IPv6 one, or a name of letters, digits,
 * '-', '_' and '.') and an optional port of 1 to 65535. */
#include "http_url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The host of AUTHORITY (LENGTH bytes) into PARSED; returns where the
 * host ends, or NULL. */
static const char *http_url_host(const char *authority, size_t length, struct http_url *parsed)
{
    const char *end;
    const char *text = authority;
    size_t text_length;
    if (authority[0] == '[') {
        end = memchr(authority, ']', length);
        if (end == NULL)
            return NULL;
        text = authority + 1;
        text_length = (size_t)(end - text);
        end++;
    } else {
        end = memchr(authority, ':', length);
        if (end == NULL)
            end = authority + length;
        text_length = (size_t)(end - authority);
    }
    if (text_length == 0 || text_length >= sizeof parsed->host)
        return NULL;
    for (size_t i = 0; i < text_length; i++)
        parsed->host[i] = (char)tolower((unsigned char)text[i]);
    parsed->host[text_length] = '\0';

    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&parsed->address;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&parsed->address;
    if (authority[0] == '[') {
        if (inet_pton(AF_INET6, parsed->host, &v6->sin6_addr) != 1)
            return NULL; /* a zone id, say: libcurl's */
        v6->sin6_family = AF_INET6;
        parsed->address_size = sizeof *v6;
        parsed->host_is_address = 1;
    } else if (inet_pton(AF_INET, parsed->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        parsed->address_size = sizeof *v4;
        parsed->host_is_address = 1;
    } else {
        for (size_t i = 0; i < text_length; i++) {
            char c = parsed->host[i];
            if (!(isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.'))
                return NULL; /* percent-encoded, non-ASCII, ...: libcurl's */
        }
        if (parsed->host[0] == '.' || strstr(parsed->host, "..") != NULL)
            return NULL;
    }
    return end;
}

int http_url_parse(const char *url, struct http_url *parsed)
{
    if (url == NULL)
        return 0;
    memset(parsed, 0, sizeof *parsed);
    const char *authority;
    if (strncasecmp(url, "http://", 7) == 0) {
        authority = url + 7;
        parsed->port = 80;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        authority = url + 8;
        parsed->tls = 1;
        parsed->port = 443;
    } else {
        return 0;
    }
    size_t authority_length = strcspn(authority, "/?#");
    if (authority_length == 0 || memchr(authority, '@', authority_length) != NULL)
        return 0;
    const char *authority_end = authority + authority_length;
    const char *host_end = http_url_host(authority, authority_length, parsed);
    if (host_end == NULL)
        return 0;
    int default_port = parsed->port;
    if (host_end < authority_end) {
        if (*host_end != ':')
            return 0;
        const char *port_text = host_end + 1;
        if (port_text == authority_end || authority_end - port_text > 5)
            return 0;
        int port = 0;
        for (const char *digit = port_text; digit < authority_end; digit++) {
            if (*digit < '0' || *digit > '9')
                return 0;
            port = port * 10 + (*digit - '0');
        }
        if (port < 1 || port > 65535)
            return 0;
        parsed->port = port;
    }
    if (parsed->host_is_address) {
        if (parsed->address.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&parsed->address)->sin6_port = htons((unsigned short)parsed->port);
        else
            ((struct sockaddr_in *)&parsed->address)->sin_port = htons((unsigned short)parsed->port);
    }
    int bracket = parsed->address.ss_family == AF_INET6;
    if (parsed->port == default_port)
        snprintf(parsed->authority, sizeof parsed->authority, "%s%s%s", bracket ? "[" : "", parsed->host,
                 bracket ? "]" : "");
    else
        snprintf(parsed->authority, sizeof parsed->authority, "%s%s%s:%d", bracket ? "[" : "", parsed->host,
                 bracket ? "]" : "", parsed->port);
    parsed->path = authority_end;
    parsed->path_length = strcspn(authority_end, "#");
    for (size_t i = 0; i < parsed->path_length; i++)
        if (parsed->path[i] <= ' ' || parsed->path[i] > '~')
            return 0; /* spaces, controls, raw UTF-8: libcurl's to refuse or encode */
    return 1;
}
