/* Unit tests for token_cache: no token at first; waiters answered in order,
 * each with its own copy, and a callback that asks again finds the new
 * token; a token handed out until a minute before it expires and marked
 * for refresh in its last five minutes; an exchange's error given to every
 * waiter without touching the token; clearing answers "cancelled". */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "token_cache.h"

static struct token_cache cache;
static char answers[8][64];
static int answered;

static void on_token(void *ctx, const char *token, const char *error)
{
    snprintf(answers[answered++ % 8], sizeof answers[0], "%s:%s", (const char *)ctx, token ? token : error);
}

static void on_token_asking_again(void *ctx, const char *token, const char *error)
{
    int refresh = 0;
    const char *fresh = token_cache_fresh(&cache, &refresh);
    CHECK(token != NULL && error == NULL && fresh != NULL && strcmp(fresh, token) == 0 && fresh != token);
    on_token(ctx, token, error);
}

int main(void)
{
    int refresh = 0;
    token_cache_init(&cache);
    CHECK(token_cache_fresh(&cache, &refresh) == NULL && refresh == 1);
    CHECK(token_cache_wait(&cache, on_token, "first") == 0);
    CHECK(token_cache_wait(&cache, on_token_asking_again, "second") == 0);
    token_cache_settle(&cache, "t1", 3600, NULL);
    CHECK(answered == 2 && strcmp(answers[0], "first:t1") == 0 && strcmp(answers[1], "second:t1") == 0);
    const char *fresh = token_cache_fresh(&cache, &refresh);
    CHECK(fresh != NULL && strcmp(fresh, "t1") == 0 && refresh == 0);

    token_cache_settle(&cache, "t2", 200, NULL); /* under five minutes left: handed out, and due for a refresh */
    fresh = token_cache_fresh(&cache, &refresh);
    CHECK(fresh != NULL && strcmp(fresh, "t2") == 0 && refresh == 1);
    token_cache_settle(&cache, "t3", 30, NULL); /* under a minute left: not handed out */
    CHECK(token_cache_fresh(&cache, &refresh) == NULL && refresh == 1);

    CHECK(token_cache_wait(&cache, on_token, "refused") == 0);
    token_cache_settle(&cache, NULL, 0, "the secret is wrong");
    CHECK(answered == 3 && strcmp(answers[2], "refused:the secret is wrong") == 0);
    CHECK(cache.value != NULL && strcmp(cache.value, "t3") == 0); /* an error leaves the token as it was */

    CHECK(token_cache_wait(&cache, on_token, "late") == 0);
    token_cache_clear(&cache);
    CHECK(answered == 4 && strcmp(answers[3], "late:cancelled") == 0);
    CHECK(token_cache_fresh(&cache, &refresh) == NULL && cache.value == NULL);
    token_cache_settle(&cache, NULL, 0, NULL); /* nobody waiting: nothing happens */
    CHECK(answered == 4);
    return check_report();
}
