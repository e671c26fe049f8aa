/* axis: nice ticks and labels (see axis.h). The step is the smallest of
 * 1, 2, 5 x 10^k at least (HI - LO) / TARGET; the ends are LO and HI
 * rounded out to whole steps. Inputs are clamped to +-1e300 first, so the
 * range and the rounded ends stay finite. Labels are printed with "%.*f"
 * and get a comma every three digits. */
#include "axis.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define AXIS_LIMIT 1e300
#define AXIS_PLAIN_LIMIT 1e15

static double axis_clamp(double value)
{
    if (!isfinite(value))
        return isnan(value) ? 0 : value > 0 ? AXIS_LIMIT : -AXIS_LIMIT;
    return fmax(-AXIS_LIMIT, fmin(AXIS_LIMIT, value));
}

/* The smallest 1, 2 or 5 x 10^k that is at least RAW (> 0). */
static double axis_step(double raw)
{
    double power = pow(10, floor(log10(raw)));
    static const double multiples[] = {1, 2, 5, 10};
    for (size_t i = 0; i < sizeof multiples / sizeof multiples[0]; i++)
        if (multiples[i] * power >= raw * (1 - 1e-9))
            return multiples[i] * power;
    return 10 * power;
}

struct axis axis_nice(double lo, double hi, int target)
{
    lo = axis_clamp(lo);
    hi = axis_clamp(hi);
    if (lo > hi) {
        double swap = lo;
        lo = hi;
        hi = swap;
    }
    if (hi - lo <= fmax(fabs(hi), fabs(lo)) * 1e-12) { /* one value: a tenth of it either side (zero: 0 to 1) */
        double pad = hi != 0 ? fabs(hi) * 0.1 : 1;
        hi += pad;
        lo = lo >= 0 ? fmax(0, lo - pad) : lo - pad;
    }
    target = target < 2 ? 2 : target > 20 ? 20 : target;
    struct axis axis = {0};
    axis.step = axis_step((hi - lo) / target);
    /* a hair of tolerance: 30.000000001 from sums of floats is still 30 */
    axis.min = floor(lo / axis.step + 1e-9) * axis.step;
    axis.max = ceil(hi / axis.step - 1e-9) * axis.step;
    if (axis.max <= axis.min)
        axis.max = axis.min + axis.step;
    double ticks = round((axis.max - axis.min) / axis.step) + 1;
    axis.ticks = ticks > 100 ? 100 : (int)ticks; /* never more than about 2.5 x TARGET; the cap is for rounding */
    axis.decimals = axis.step >= 1 ? 0 : (int)ceil(-log10(axis.step) - 1e-9);
    return axis;
}

double axis_tick(const struct axis *axis, int i)
{
    double value = axis->min + axis->step * i;
    return i == axis->ticks - 1 ? axis->max : value;
}

char *axis_format(double value, int decimals, char *out, size_t size)
{
    if (size == 0)
        return out;
    if (!isfinite(value) || fabs(value) >= AXIS_PLAIN_LIMIT) {
        snprintf(out, size, isfinite(value) ? "%.3g" : "n/a", value);
        return out;
    }
    decimals = decimals < 0 ? 0 : decimals > 6 ? 6 : decimals;
    char plain[64];
    snprintf(plain, sizeof plain, "%.*f", decimals, value);
    if (strspn(plain, "-0.") == strlen(plain) && plain[0] == '-') /* -0, -0.0: zero has no sign */
        memmove(plain, plain + 1, strlen(plain));
    const char *digits = plain[0] == '-' ? plain + 1 : plain;
    size_t whole = strcspn(digits, ".");
    size_t n = 0;
    if (digits != plain && n + 1 < size)
        out[n++] = '-';
    for (size_t i = 0; i < whole && n + 1 < size; i++) {
        out[n++] = digits[i];
        if ((whole - i - 1) % 3 == 0 && i + 1 < whole && n + 1 < size)
            out[n++] = ',';
    }
    for (const char *rest = digits + whole; *rest && n + 1 < size; rest++)
        out[n++] = *rest;
    out[n] = '\0';
    return out;
}

double axis_fraction(const struct axis *axis, double value)
{
    if (!isfinite(value) || axis->max <= axis->min)
        return 0;
    double fraction = (value - axis->min) / (axis->max - axis->min);
    return fmax(0, fmin(1, fraction));
}
