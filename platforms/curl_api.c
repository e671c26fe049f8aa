/* curl_api: dlopen of libcurl's soname, each function looked up by name
 * into the table, then curl_global_init (see curl_api.h). The handle is
 * kept for the life of the process: libcurl's global state cannot be
 * unloaded safely while its threads (name lookups) may still run. */
#include "curl_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define CURL_API_LIBRARY "libcurl.so.4"

static struct curl_api curl_api_table;
static int curl_api_ready;

/* One entry of the table: its name in libcurl and where it goes. */
struct curl_api_symbol {
    const char *name;
    void **slot;
};

#define CURL_API_SYMBOL(field, symbol) {symbol, (void **)&curl_api_table.field}

static const struct curl_api_symbol curl_api_symbols[] = {
    CURL_API_SYMBOL(global_init, "curl_global_init"),
    CURL_API_SYMBOL(easy_init, "curl_easy_init"),
    CURL_API_SYMBOL(easy_cleanup, "curl_easy_cleanup"),
    CURL_API_SYMBOL(easy_reset, "curl_easy_reset"),
    CURL_API_SYMBOL(easy_setopt, "curl_easy_setopt"),
    CURL_API_SYMBOL(easy_getinfo, "curl_easy_getinfo"),
    CURL_API_SYMBOL(easy_strerror, "curl_easy_strerror"),
    CURL_API_SYMBOL(multi_init, "curl_multi_init"),
    CURL_API_SYMBOL(multi_cleanup, "curl_multi_cleanup"),
    CURL_API_SYMBOL(multi_setopt, "curl_multi_setopt"),
    CURL_API_SYMBOL(multi_add_handle, "curl_multi_add_handle"),
    CURL_API_SYMBOL(multi_remove_handle, "curl_multi_remove_handle"),
    CURL_API_SYMBOL(multi_socket_action, "curl_multi_socket_action"),
    CURL_API_SYMBOL(multi_info_read, "curl_multi_info_read"),
    CURL_API_SYMBOL(multi_strerror, "curl_multi_strerror"),
    CURL_API_SYMBOL(share_init, "curl_share_init"),
    CURL_API_SYMBOL(share_cleanup, "curl_share_cleanup"),
    CURL_API_SYMBOL(share_setopt, "curl_share_setopt"),
    CURL_API_SYMBOL(slist_append, "curl_slist_append"),
    CURL_API_SYMBOL(slist_free_all, "curl_slist_free_all"),
    CURL_API_SYMBOL(url, "curl_url"),
    CURL_API_SYMBOL(url_cleanup, "curl_url_cleanup"),
    CURL_API_SYMBOL(url_set, "curl_url_set"),
    CURL_API_SYMBOL(url_get, "curl_url_get"),
    CURL_API_SYMBOL(free, "curl_free"),
};

const struct curl_api *curl_api_load(char *error, size_t error_size)
{
    if (curl_api_ready)
        return &curl_api_table;
    void *library = dlopen(CURL_API_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(error, error_size,
                 "libcurl (%s, needed for proxies) cannot be loaded: %s; install it (Debian: libcurl4)",
                 CURL_API_LIBRARY, dlerror());
        return NULL;
    }
    for (size_t i = 0; i < sizeof curl_api_symbols / sizeof curl_api_symbols[0]; i++) {
        void *found = dlsym(library, curl_api_symbols[i].name);
        if (found == NULL) {
            snprintf(error, error_size, "%s has no %s: libcurl 7.62 or later is needed", CURL_API_LIBRARY,
                     curl_api_symbols[i].name);
            return NULL; /* the library stays loaded: dlclose of a half-used libcurl is not safe */
        }
        memcpy(curl_api_symbols[i].slot, &found, sizeof found); /* object to function pointer, as POSIX allows */
    }
    CURLcode code = curl_api_table.global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(error, error_size, "libcurl does not start: %s", curl_api_table.easy_strerror(code));
        return NULL;
    }
    curl_api_ready = 1;
    return &curl_api_table;
}
