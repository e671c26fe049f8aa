/* axis: the numbers along a chart's axis, as a researcher would draw them.
 * Pure functions, no allocation: the SVG renderer and the Vega-Lite
 * builder both ask here, so the two forms of a chart have the same ticks.
 *
 * Ticks step by 1, 2 or 5 times a power of ten, about TARGET of them; the
 * axis starts at the first tick at or below the data and ends at the first
 * tick at or above it (28.3 s of data: 0, 5, ..., 30, not 50). A caller
 * that wants the axis to start at zero (times, counts, latencies) passes
 * 0 as the low end and clamps what lies below. Labels have thousands
 * separators and as many decimals as the step needs ("5,000", "0.5",
 * "12"), never an exponent below 1e15; beyond that (data no clock makes)
 * they fall back to "%.3g". Non-finite or reversed input gives a sensible
 * axis (0 to 1, or the two swapped). */
#ifndef FAASET_AXIS_H
#define FAASET_AXIS_H

#include <stddef.h>

struct axis {
    double min, max, step;
    int ticks;       /* min, min + step, ..., max */
    int decimals;    /* what the step needs */
};

/* The axis over [LO, HI] with about TARGET ticks (2 to 20). */
struct axis axis_nice(double lo, double hi, int target);

/* Tick I (0 .. ticks - 1), computed from min and the step (no drift). */
double axis_tick(const struct axis *axis, int i);

/* VALUE as a label with DECIMALS decimals into OUT; returns OUT. */
char *axis_format(double value, int decimals, char *out, size_t size);

/* Where VALUE falls on the axis, 0 at min and 1 at max, clamped to [0, 1]
 * (non-finite values to 0). */
double axis_fraction(const struct axis *axis, double value);

#endif
