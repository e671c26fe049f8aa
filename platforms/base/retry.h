/* retry: the one policy for trying again after throttling or a service
 * error, used by deploys (the platforms' own calls), notebook calls and
 * the experiment runner. The wait before retry N (0 for the first) is
 * what the platform asked for in Retry-After when it said (it knows when
 * it will have room), else exponential backoff with full jitter: a random
 * time up to min(cap, base * 2^N), so many clients throttled together do
 * not come back together. After max_retries the caller gives up (the
 * budget). */
#ifndef FAASET_RETRY_H
#define FAASET_RETRY_H

struct retry_policy {
    double base_ms;      /* the first retry waits up to this */
    double cap_ms;       /* no wait is drawn from a range above this */
    int max_retries;     /* the budget: retries after the first try */
};

/* The wait in ms before retry ATTEMPT (0-based): RETRY_AFTER_MS when the
 * platform gave one (> 0), else the jittered backoff; -1 when the budget
 * is spent. */
double retry_delay_ms(const struct retry_policy *policy, int attempt, double retry_after_ms);

/* A Retry-After header's value in ms: delay-seconds (what FaaS platforms
 * send), 0 when VALUE is NULL, not a number, negative or over an hour. */
double retry_after_header_ms(const char *value);

#endif
