/* clock: the process's clocks, in one place. Monotonic milliseconds time
 * intervals and timers (they never jump); epoch milliseconds and ISO 8601
 * stamps are what rows, state files and Jupyter headers record. */
#ifndef FAASET_CLOCK_H
#define FAASET_CLOCK_H

/* Monotonic time in ms: whole, and with the sub-millisecond part. */
long long clock_mono_ms(void);
double clock_mono_ms_precise(void);

/* Wall-clock time: ms since the epoch (with sub-millisecond part). */
double clock_epoch_ms(void);

/* Now as "2026-01-31T12:34:56.123456Z" (UTC, microseconds). */
void clock_iso8601_now(char out[32]);

#endif
