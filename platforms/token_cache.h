/* token_cache: one bearer token an owner (gcf_credentials' per audience,
 * az_credentials' for Resource Manager) buys from a token endpoint and
 * hands to its calls, with the rules they share: a token is handed out
 * until a minute before it expires; in its last five minutes it is still
 * handed out while the owner runs one new exchange in the background, so
 * calls in flight never wait for a refresh; calls that find no token wait
 * for the one exchange in flight, and each gets its own copy of its
 * answer (a callback may ask again). The owner makes the exchange (what
 * it sends differs) and says how it ended with token_cache_settle. Values
 * are wiped when replaced or cleared. Use from the reactor's thread. */
#ifndef FAASET_TOKEN_CACHE_H
#define FAASET_TOKEN_CACHE_H

#define TOKEN_CACHE_EXPIRED_MS 60000LL    /* a token with less than this left is not handed out */
#define TOKEN_CACHE_REFRESH_MS 300000LL   /* a token with less than this left is refreshed in the background */

/* TOKEN is valid only during the call; ERROR is one sentence, or NULL when TOKEN is set. */
typedef void (*token_cache_fn)(void *ctx, const char *token, const char *error);

struct token_cache_waiter;

struct token_cache {
    char *value;                            /* NULL until an exchange succeeded */
    long long expires_ms;                   /* clock_mono_ms */
    struct token_cache_waiter *waiters, **waiters_tail;
};

void token_cache_init(struct token_cache *cache);

/* The token when it has more than a minute left (valid until the next call
 * into CACHE), else NULL; *REFRESH is set when it has less than five
 * minutes left: the owner then starts an exchange unless one is in flight. */
const char *token_cache_fresh(const struct token_cache *cache, int *refresh);

/* Queues DONE for the answer of the exchange in flight. 0, or -1 when out of memory. */
int token_cache_wait(struct token_cache *cache, token_cache_fn done, void *ctx);

/* An exchange ended: VALUE (copied), valid for SECONDS, or ERROR. The
 * waiters are taken off the cache, then each is called. */
void token_cache_settle(struct token_cache *cache, const char *value, long long seconds, const char *error);

/* Wipes the token; waiters get ERROR "cancelled". */
void token_cache_clear(struct token_cache *cache);

#endif
