/* curl_api: libcurl, loaded the first time the HTTP engine needs it.
 *
 * The engine's own client (http_direct) carries http:// and https://, so
 * libcurl serves only proxies and the URLs that client does not take. Linked
 * at start, libcurl brought about twenty libraries into every kernel (GnuTLS
 * through librtmp, p11-kit, Kerberos, LDAP, SSH, ...: 3.8 MB of resident
 * memory in a kernel of 12.3 MB); loaded with dlopen when a request first
 * needs it, a kernel that never uses a proxy never maps them. The table
 * holds the functions http.c calls, with libcurl's own prototypes. */
#ifndef FAASET_CURL_API_H
#define FAASET_CURL_API_H

#include <stddef.h>

#include <curl/curl.h>

struct curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *easy);
    void (*easy_reset)(CURL *easy);
    CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *multi);
    CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
    CURLMcode (*multi_add_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_socket_action)(CURLM *multi, curl_socket_t fd, int events, int *running);
    CURLMsg *(*multi_info_read)(CURLM *multi, int *left);
    const char *(*multi_strerror)(CURLMcode code);
    CURLSH *(*share_init)(void);
    CURLSHcode (*share_cleanup)(CURLSH *share);
    CURLSHcode (*share_setopt)(CURLSH *share, CURLSHoption option, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *url);
    CURLUcode (*url_set)(CURLU *url, CURLUPart part, const char *content, unsigned int flags);
    CURLUcode (*url_get)(const CURLU *url, CURLUPart part, char **content, unsigned int flags);
    void (*free)(void *pointer);
};

/* The table, libcurl loaded and its global state set up (once per process;
 * a failure is tried again at the next call); NULL with a sentence in ERROR
 * when libcurl cannot be loaded. Call from one thread at a time. */
const struct curl_api *curl_api_load(char *error, size_t error_size);

#endif
