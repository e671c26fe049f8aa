/* token_cache: a bearer token and the calls waiting for it (see
 * token_cache.h). The waiters are a FIFO list; settling takes the whole
 * list off the cache before calling anyone, so a callback that asks for
 * the token again finds the cache consistent. */
#include "token_cache.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "credfile.h"

struct token_cache_waiter {
    struct token_cache_waiter *next;
    token_cache_fn done;
    void *ctx;
};

void token_cache_init(struct token_cache *cache)
{
    memset(cache, 0, sizeof *cache);
    cache->waiters_tail = &cache->waiters;
}

const char *token_cache_fresh(const struct token_cache *cache, int *refresh)
{
    long long left = cache->value != NULL ? cache->expires_ms - clock_mono_ms() : 0;
    *refresh = left < TOKEN_CACHE_REFRESH_MS;
    return left > TOKEN_CACHE_EXPIRED_MS ? cache->value : NULL;
}

int token_cache_wait(struct token_cache *cache, token_cache_fn done, void *ctx)
{
    struct token_cache_waiter *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -1;
    w->done = done;
    w->ctx = ctx;
    *cache->waiters_tail = w;
    cache->waiters_tail = &w->next;
    return 0;
}

void token_cache_settle(struct token_cache *cache, const char *value, long long seconds, const char *error)
{
    char *copy = value != NULL ? strdup(value) : NULL;
    if (copy != NULL) {
        credfile_wipe_free(cache->value);
        cache->value = copy;
        cache->expires_ms = clock_mono_ms() + seconds * 1000;
    } else if (error == NULL)
        error = "out of memory";
    struct token_cache_waiter *w = cache->waiters;
    cache->waiters = NULL;
    cache->waiters_tail = &cache->waiters;
    while (w != NULL) { /* each gets its own copy: a callback may ask again and replace the token */
        struct token_cache_waiter *next = w->next;
        char *token = copy != NULL ? strdup(copy) : NULL;
        w->done(w->ctx, token, token != NULL ? NULL : error != NULL ? error : "out of memory");
        credfile_wipe_free(token);
        free(w);
        w = next;
    }
}

void token_cache_clear(struct token_cache *cache)
{
    struct token_cache_waiter *w = cache->waiters;
    cache->waiters = NULL;
    cache->waiters_tail = &cache->waiters;
    while (w != NULL) {
        struct token_cache_waiter *next = w->next;
        w->done(w->ctx, NULL, "cancelled");
        free(w);
        w = next;
    }
    credfile_wipe_free(cache->value);
    cache->value = NULL;
}
