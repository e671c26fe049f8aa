/* retry: backoff with full jitter and Retry-After (see retry.h). The
 * jitter comes from rand(): it spreads waits, it protects nothing. */
#include "retry.h"

#include <math.h>
#include <stdlib.h>

double retry_delay_ms(const struct retry_policy *policy, int attempt, double retry_after_ms)
{
    if (attempt < 0 || attempt >= policy->max_retries)
        return -1;
    if (retry_after_ms > 0)
        return retry_after_ms;
    double ceiling = fmin(policy->cap_ms, policy->base_ms * pow(2.0, attempt));
    return ceiling * ((double)rand() / RAND_MAX);
}

double retry_after_header_ms(const char *value)
{
    if (value == NULL)
        return 0;
    char *end = NULL;
    double seconds = strtod(value, &end);
    if (end == value || !(seconds >= 0) || seconds > 3600)
        return 0;
    return seconds * 1000.0;
}
