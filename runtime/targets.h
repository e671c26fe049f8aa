/* targets: what an experiment calls, as runner targets (see runner.h): a
 * function deployed on a platform (through cloud.c, so local workers or a
 * cloud adapter), or FaaS Runner's `HTTP` platform: a POST of the payload
 * as JSON to an endpoint, whose JSON answer is the result. HTTP 429 is
 * throttling (retried, honouring Retry-After); another status is a failed
 * run named "HTTP <status>". A platform function's successful runs are
 * billed (prices.h): its rows get billedDuration (ms), billedMemory (MB),
 * cost (USD) and billedFrom, what was billed: "platform" (on aws, Lambda's
 * own Billed Duration from the REPORT line of the log tail, which its
 * calls ask for), else the measure rounded as the platform rounds it: the
 * function's SAAF "runtime", else the client's "roundTripTime". */
#ifndef FAASET_TARGETS_H
#define FAASET_TARGETS_H

#include "cloud.h"
#include "http.h"
#include "prices.h"
#include "runner.h"

struct target;

/* FUNCTION where it is deployed (PLATFORM, or NULL for where calls go),
 * its runs billed at PRICE (NULL: not billed) for its deployed memory
 * (MEMORY_MB, 0 when unknown) or the pass's memory setting. */
struct target *target_function(struct cloud *cloud, const char *function, const char *platform,
                               const struct price *price, int memory_mb);

/* Bills a platform function's runs at PRICE (NULL: not billed) for
 * MEMORY_MB (0 when unknown), when the prices are read after it was made. */
void target_bill(struct target *target, const struct price *price, int memory_mb);

/* The platform a target's calls go to ("" for an HTTP endpoint). */
const char *target_platform(const struct target *target);

/* POST to ENDPOINT; FUNCTION names it in rows. */
struct target *target_http(struct http_engine *engine, const char *function, const char *endpoint);

const struct runner_target *target_runner(const struct target *target);
void target_free(struct target *target);

#endif
