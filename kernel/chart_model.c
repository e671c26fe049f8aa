/* chart_model: a chart's axes and series (see chart_model.h). One pass
 * over the values finds the largest x and y and the series names; the
 * axes are axis_nice from zero to those, about six ticks on x and five
 * on y. */
#include "chart_model.h"

#include <math.h>
#include <string.h>

#define CHART_PALETTE_SIZE 8

/* Tableau's ten colours, the eight that stay apart in print. */
static const char *const chart_model_palette[CHART_PALETTE_SIZE] = {"#4c78a8", "#f58518", "#54a24b", "#e45756",
                                                                    "#72b7b2", "#b279a2", "#eeca3b", "#9d755d"};

const char *chart_model_color(int i)
{
    return chart_model_palette[(i < 0 ? 0 : i) % CHART_PALETTE_SIZE];
}

double chart_model_number(const json_t *value, const char *key)
{
    const json_t *number = json_object_get(value, key);
    return json_is_number(number) && isfinite(json_number_value(number)) ? json_number_value(number) : NAN;
}

int chart_model_series_index(const struct chart_frame *frame, const char *series)
{
    for (int i = 0; i < frame->series_count; i++)
        if (series != NULL && strcmp(frame->series[i], series) == 0)
            return i;
    return frame->series_count > 0 ? frame->series_count - 1 : 0;
}

static void chart_model_add_series(struct chart_frame *frame, const char *series)
{
    if (series == NULL)
        return;
    for (int i = 0; i < frame->series_count; i++)
        if (strcmp(frame->series[i], series) == 0)
            return;
    if (frame->series_count < (int)(sizeof frame->series / sizeof frame->series[0]))
        frame->series[frame->series_count++] = series;
}

void chart_model_frame(const struct chart *chart, struct chart_frame *frame)
{
    memset(frame, 0, sizeof *frame);
    double x_max = 0, y_max = 0;
    size_t i;
    const json_t *value;
    json_array_foreach(chart->values, i, value) {
        chart_model_add_series(frame, json_string_value(json_object_get(value, "series")));
        if (chart->kind == CHART_RANGES) {
            double top = fmax(chart_model_number(value, "max"), chart_model_number(value, "p99"));
            y_max = isnan(top) ? y_max : fmax(y_max, top); /* fmax skips one NaN, not a NaN y_max */
        } else {
            double x = chart_model_number(value, "x"), y = chart_model_number(value, "y");
            x_max = isnan(x) ? x_max : fmax(x_max, x);
            y_max = isnan(y) ? y_max : fmax(y_max, y);
        }
    }
    for (int r = 0; r < chart->rule_count; r++)
        if (isfinite(chart->rules[r].value))
            y_max = fmax(y_max, chart->rules[r].value);
    frame->x = axis_nice(0, x_max, 6);
    frame->y = axis_nice(0, y_max, 5);
}
