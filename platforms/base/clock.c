/* clock: monotonic and wall-clock time (see clock.h). */
#include "clock.h"

#include <stdio.h>
#include <time.h>

long long clock_mono_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

double clock_mono_ms_precise(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

double clock_epoch_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

void clock_iso8601_now(char out[32])
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t used = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + used, 32 - used, ".%06dZ", (int)(now.tv_nsec / 1000L) % 1000000);
}
