/* chart_model: one chart as data, the one thing both of its pictures (the
 * Vega-Lite spec and the SVG) are drawn from, so the two cannot disagree.
 *
 * A chart is a kind, its words (title, a subtitle that says what was run,
 * axis labels, the legend's title), its values as JSON objects (Vega-Lite
 * takes them as they are) and up to four horizontal rules (reference
 * lines such as "mean 17.4" or "p99 212.0 ms" whose numbers the caller
 * takes from the summary's figures). chart_model_frame works out the axes
 * (axis.h: nice ticks, from zero) and the series in the order they first
 * appear; every renderer calls it.
 *
 * Values by kind:
 *   CHART_STEPS   {"x", "y", "series"}: a step line per series
 *   CHART_POINTS  {"x", "y", "series", "start"}: points; "start" is
 *                 CHART_COLD, CHART_WARM or CHART_UNKNOWN and picks the shape
 *   CHART_RANGES  {"series", "min", "p50", "p90", "p99", "max", "runs"}: one
 *                 distribution per series (min to max, p50 to p90, p99) */
#ifndef FAASET_CHART_MODEL_H
#define FAASET_CHART_MODEL_H

#include <jansson.h>

#include "axis.h"

enum chart_kind { CHART_STEPS, CHART_POINTS, CHART_RANGES };

#define CHART_COLD "cold start"
#define CHART_WARM "warm start"
#define CHART_UNKNOWN "start not reported"
#define CHART_MAX_RULES 4

struct chart_rule {
    double value;
    char label[64];
};

struct chart {
    enum chart_kind kind;
    char name[32];              /* a file name stem: "concurrency" */
    char title[200];            /* what it shows */
    char subtitle[400];         /* what was run */
    char x_label[64], y_label[64];
    char series_title[64];      /* the legend's title */
    json_t *values;             /* owned; see above */
    struct chart_rule rules[CHART_MAX_RULES];
    int rule_count;
    char text[600];             /* the text/plain form */
};

/* The axes and series of a chart. */
struct chart_frame {
    struct axis x, y;           /* x unused for CHART_RANGES (categories) */
    const char *series[16];     /* names, in the order they first appear (valid while the chart's values are) */
    int series_count;           /* more than 16: the rest share the last colour */
};

/* The colour of series I (a fixed palette, the same in both forms). */
const char *chart_model_color(int i);

/* Fills FRAME: x from 0 to the largest x; y from 0 to the largest y, rule
 * or max; numbers that are not finite are left out. */
void chart_model_frame(const struct chart *chart, struct chart_frame *frame);

/* The index of SERIES in FRAME (the last one when not found). */
int chart_model_series_index(const struct chart_frame *frame, const char *series);

/* A value's number at KEY, or NAN. */
double chart_model_number(const json_t *value, const char *key);

#endif
