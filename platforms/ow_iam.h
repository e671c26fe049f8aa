/* ow_iam: IBM Cloud IAM access tokens for the IAM-based namespaces of IBM
 * Cloud Functions, bought with an IBM Cloud API key, cached and refreshed.
 *
 * The exchange is IAM's API-key grant: POST TOKEN_URL (IBM's is
 * https://iam.cloud.ibm.com/identity/token) with the form
 * grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=KEY; the answer
 * is {"access_token", "token_type": "Bearer", "expires_in", "expiration",
 * ...}. An IAM-based namespace takes "Authorization: Bearer TOKEN" (and is
 * named by its ID in the path); Basic auth is for the others.
 *
 * One token is kept. It is handed out while more than a quarter of its
 * life (at most a minute) is left, so no call leaves with a token about to
 * expire; in the second half of its life (its last five minutes at most) a
 * call that gets it also starts one new exchange in the background, so
 * calls never wait for a refresh while the token is good. Requests that
 * find no good token wait for the same single exchange.
 *
 * IAM's refusals (400 or 401 with {"errorCode": "BXNIM...",
 * "errorMessage"}) become one sentence naming where the key came from,
 * IAM's code and message and what to do; never the key. The key is copied
 * into memory wiped when freed, as are the tokens and the request's form.
 * Use from the reactor's thread. */
#ifndef FAASET_OW_IAM_H
#define FAASET_OW_IAM_H

#include <stddef.h>

#include "http.h"

struct ow_iam;

/* A token source for APIKEY (from APIKEY_FROM, e.g. "IBMCLOUD_API_KEY",
 * for messages) at TOKEN_URL. NULL when out of memory. */
struct ow_iam *ow_iam_new(const char *token_url, const char *apikey, const char *apikey_from);

/* Wipes and frees; requests waiting for a token get ERROR "cancelled"
 * (their callbacks run before this returns). NULL is fine. */
void ow_iam_free(struct ow_iam *iam);

/* AUTHORIZATION is the header's value ("Bearer ..."), valid only during
 * the call; ERROR is one sentence, or NULL when AUTHORIZATION is set, and
 * STATUS IAM's HTTP status then (400 or 401: the key refused; 0: no
 * answer, or cancelled). */
typedef void (*ow_iam_fn)(void *ctx, const char *authorization, const char *error, long status);

/* A good token's Authorization value ("Bearer ..."), valid until the next
 * call into IAM, starting a refresh in the background when it is due; NULL
 * when there is none (then ow_iam_wait). */
const char *ow_iam_cached(struct ow_iam *iam, struct http_engine *engine);

/* Calls DONE once, later, from the reactor, with a new token or why there
 * is none (one exchange serves every waiter). 0, or -1 with ERR (out of
 * memory, an engine that refuses the request) without calling DONE. */
int ow_iam_wait(struct ow_iam *iam, struct http_engine *engine, ow_iam_fn done, void *ctx, char *err,
                size_t err_size);

/* Starts an exchange now unless a good token is cached or one is under
 * way (ahead of an experiment's pass). */
void ow_iam_prefetch(struct ow_iam *iam, struct http_engine *engine);

/* Whether an exchange is under way with no good token cached. */
int ow_iam_waiting(const struct ow_iam *iam);

/* Drops the cached token (the platform refused it), so the next call
 * makes a new exchange. */
void ow_iam_forget(struct ow_iam *iam);

#endif
