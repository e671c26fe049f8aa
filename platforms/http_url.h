/* http_url: what the HTTP engine's own client (http_direct) reads from a
 * URL: the scheme (http or https), the host (a name, or an IP address
 * literal), the port, the Host header's value and the request target.
 * URLs it cannot take whole (user names, percent-encoded or non-ASCII
 * host names, zone ids, other schemes, raw spaces or UTF-8 in the path)
 * are left to libcurl, which refuses or encodes them. */
#ifndef FAASET_HTTP_URL_H
#define FAASET_HTTP_URL_H

#include <stddef.h>
#include <sys/socket.h>

#define HTTP_URL_MAX_HOST 254           /* a DNS name is at most 253 characters */

struct http_url {
    int tls;                            /* https */
    char host[HTTP_URL_MAX_HOST];       /* lower case; an IPv6 address without its brackets */
    int host_is_address;                /* then ADDRESS holds it, with the port */
    struct sockaddr_storage address;
    socklen_t address_size;
    int port;                           /* given, or the scheme's */
    char authority[HTTP_URL_MAX_HOST + 8]; /* the Host header: brackets for IPv6, the port unless the scheme's */
    const char *path;                   /* from '/' or '?' up to '#' or the end, or "" (points into the URL) */
    size_t path_length;
};

/* 1 when URL is one the own client takes, filling *PARSED; else 0. */
int http_url_parse(const char *url, struct http_url *parsed);

#endif
