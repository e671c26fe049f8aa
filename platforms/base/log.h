/* log: the kernel's diagnostics on stderr, which Jupyter servers show in
 * their own log. One line per event, prefixed with the time and level.
 * Never pass secrets (keys, tokens) to these functions. */
#ifndef FAASET_LOG_H
#define FAASET_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Messages below this level (default: warn) are dropped; FAASET_LOG_LEVEL=debug|info|warn|error sets it. */
void log_init_from_env(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
