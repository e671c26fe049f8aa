/* log: timestamped, levelled lines on stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level log_threshold = LOG_WARN;

void log_init_from_env(void)
{
    const char *level = getenv("FAASET_LOG_LEVEL");
    if (level == NULL)
        return;
    if (strcmp(level, "debug") == 0)
        log_threshold = LOG_DEBUG;
    else if (strcmp(level, "info") == 0)
        log_threshold = LOG_INFO;
    else if (strcmp(level, "warn") == 0)
        log_threshold = LOG_WARN;
    else if (strcmp(level, "error") == 0)
        log_threshold = LOG_ERROR;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    if (level < log_threshold)
        return;
    struct timespec now;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);

    char line[2048];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    fprintf(stderr, "[faaset %s.%03ld %s] %s\n", stamp, now.tv_nsec / 1000000L, names[level], line);
}
