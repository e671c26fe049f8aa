/* Unit tests for axis: 1-2-5 steps, axes that end near the data (28.3 s
 * of data ends at 30, not 50), zero kept as the start when asked, labels
 * without exponents ("5,000", not "5e+03"; "0.5", not "5e-01"), and odd
 * input (one value, reversed ends, NaN, infinities, 1e308) giving a
 * finite axis with a few ticks. */
#include <math.h>
#include <string.h>

#include "axis.h"
#include "check.h"

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1, fabs(b));
}

/* 1 when AXIS has exactly the N ticks in EXPECTED. */
static int ticks_are(const struct axis *axis, const double *expected, int n)
{
    if (axis->ticks != n) {
        fprintf(stderr, "  %d ticks, not %d (min %g, max %g, step %g)\n", axis->ticks, n, axis->min, axis->max,
                axis->step);
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!near(axis_tick(axis, i), expected[i])) {
            fprintf(stderr, "  tick %d is %.17g, not %g\n", i, axis_tick(axis, i), expected[i]);
            return 0;
        }
    return 1;
}

static const char *label(double value, int decimals)
{
    static char out[64];
    return axis_format(value, decimals, out, sizeof out);
}

static void test_ticks(void)
{
    /* the time axis: 28.3 s of data */
    struct axis time = axis_nice(0, 28.3, 6);
    const double seconds[] = {0, 5, 10, 15, 20, 25, 30};
    CHECK(ticks_are(&time, seconds, 7));
    CHECK(time.max == 30 && time.decimals == 0);

    /* counts: 0..17 in flight */
    struct axis count = axis_nice(0, 17, 5);
    const double counts[] = {0, 5, 10, 15, 20};
    CHECK(ticks_are(&count, counts, 5));

    /* milliseconds in the thousands: steps of 1,000 */
    struct axis ms = axis_nice(0, 4321, 5);
    const double thousands[] = {0, 1000, 2000, 3000, 4000, 5000};
    CHECK(ticks_are(&ms, thousands, 6));

    /* small values: steps of 0.2 with one decimal */
    struct axis small = axis_nice(0, 0.93, 5);
    const double tenths[] = {0, 0.2, 0.4, 0.6, 0.8, 1.0};
    CHECK(ticks_are(&small, tenths, 6));
    CHECK(small.decimals == 1);

    /* an axis not from zero ends at whole steps on both sides */
    struct axis memory = axis_nice(118, 523, 5);
    CHECK(memory.min == 100 && memory.max == 600 && memory.step == 100);

    /* every step is 1, 2 or 5 times a power of ten, the data inside the axis */
    const double highs[] = {0.003, 0.7, 1, 3, 9.99, 10, 10.01, 47, 99, 101, 999, 12345, 5e6, 7.77e9};
    for (size_t i = 0; i < sizeof highs / sizeof highs[0]; i++) {
        struct axis a = axis_nice(0, highs[i], 6);
        double mantissa = a.step / pow(10, floor(log10(a.step)));
        CHECK(near(mantissa, 1) || near(mantissa, 2) || near(mantissa, 5));
        CHECK(a.min == 0 && a.max >= highs[i] && a.max - a.step < highs[i]);
        CHECK(a.ticks >= 3 && a.ticks <= 13);
    }
}

static void test_labels(void)
{
    CHECK(strcmp(label(5000, 0), "5,000") == 0);
    CHECK(strcmp(label(2000, 0), "2,000") == 0);
    CHECK(strcmp(label(1234567.891, 0), "1,234,568") == 0);
    CHECK(strcmp(label(999, 0), "999") == 0);
    CHECK(strcmp(label(0, 0), "0") == 0);
    CHECK(strcmp(label(0.5, 1), "0.5") == 0);
    CHECK(strcmp(label(12.5, 1), "12.5") == 0);
    CHECK(strcmp(label(-2500, 0), "-2,500") == 0);
    CHECK(strcmp(label(-0.0001, 1), "0.0") == 0);   /* no "-0.0" */
    CHECK(strcmp(label(0.05, 2), "0.05") == 0);
    CHECK(strcmp(label(1e16, 0), "1e+16") == 0);     /* beyond any clock: an exponent is the honest label */
    CHECK(strcmp(label(NAN, 0), "n/a") == 0);
    /* the labels of a whole axis, in the thousands */
    struct axis ms = axis_nice(0, 5000, 5);
    char out[64];
    for (int i = 0; i < ms.ticks; i++)
        CHECK(strchr(axis_format(axis_tick(&ms, i), ms.decimals, out, sizeof out), 'e') == NULL);
    /* a short buffer is cut, never overrun */
    char tiny[4];
    CHECK(strcmp(axis_format(1234567, 0, tiny, sizeof tiny), "1,2") == 0);
}

static void test_odd_input(void)
{
    struct axis one = axis_nice(0, 0, 5);                /* nothing but zeros */
    CHECK(one.min == 0 && one.max >= 1 && one.ticks >= 2);
    struct axis single = axis_nice(42, 42, 5);           /* one value */
    CHECK(single.min <= 42 && single.max >= 42 && single.min >= 0 && single.ticks >= 2);
    struct axis reversed = axis_nice(10, 0, 5);
    CHECK(reversed.min == 0 && reversed.max == 10);
    struct axis nan = axis_nice(NAN, NAN, 5);
    CHECK(isfinite(nan.min) && isfinite(nan.max) && nan.max > nan.min);
    struct axis inf = axis_nice(0, INFINITY, 5);
    CHECK(isfinite(inf.max) && inf.ticks >= 2 && inf.ticks <= 13);
    struct axis huge = axis_nice(-1e308, 1e308, 5);
    CHECK(isfinite(huge.min) && isfinite(huge.max) && huge.ticks >= 2 && huge.ticks <= 13);
    struct axis tight = axis_nice(1e15, 1e15 + 1, 5);    /* a range far below the values' precision */
    CHECK(tight.ticks >= 2 && tight.ticks <= 100);
    struct axis few = axis_nice(0, 10, 0);               /* a target below 2 is 2 */
    CHECK(few.ticks >= 2 && few.ticks <= 4);
    /* fractions clamp */
    struct axis a = axis_nice(0, 10, 5);
    CHECK(axis_fraction(&a, -3) == 0 && axis_fraction(&a, 5) == 0.5 && axis_fraction(&a, 99) == 1);
    CHECK(axis_fraction(&a, NAN) == 0);
}

int main(void)
{
    test_ticks();
    test_labels();
    test_odd_input();
    return check_report();
}
