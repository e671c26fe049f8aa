/* chart_vegalite: the Vega-Lite spec of a chart (see chart_vegalite.h).
 * Every spec is a layer: the marks of the chart's kind, then the rules
 * (dashed lines and their labels) from their own inline data. The axes
 * are given as explicit domains with tick values and a d3 format of as
 * many decimals as the ticks need (",.0f": "5,000"), with clamping, so
 * nothing is drawn below zero and the axis ends where the SVG's does.
 * Distributions fold p50 / p90 / p99 into ticks over a whisker and a box. */
#include "chart_vegalite.h"

#include <math.h>
#include <stdio.h>

/* {"domain": [min, max], "nice": false, "zero": true, "clamp": true} and
 * the axis with AXIS's ticks, titled TITLE. */
static json_t *chart_vegalite_channel(const char *field, const struct axis *axis, const char *title)
{
    json_t *ticks = json_array();
    for (int i = 0; i < axis->ticks; i++)
        json_array_append_new(ticks, json_real(axis_tick(axis, i)));
    char format[16];
    snprintf(format, sizeof format, ",.%df", axis->decimals);
    return json_pack("{s:s, s:s, s:s, s:{s:[f, f], s:b, s:b}, s:{s:o, s:s}}", "field", field, "type", "quantitative",
                     "title", title, "scale", "domain", axis->min, axis->max, "nice", 0, "clamp", 1, "axis", "values",
                     ticks, "format", format);
}

static json_t *chart_vegalite_color(const struct chart *chart, const struct chart_frame *frame)
{
    json_t *domain = json_array(), *range = json_array();
    for (int i = 0; i < frame->series_count; i++) {
        json_array_append_new(domain, json_string(frame->series[i]));
        json_array_append_new(range, json_string(chart_model_color(i)));
    }
    return json_pack("{s:s, s:s, s:s, s:{s:o, s:o}}", "field", "series", "type", "nominal", "title",
                     chart->series_title, "scale", "domain", domain, "range", range);
}

static json_t *chart_vegalite_rules(const struct chart *chart, const struct axis *y, const char *y_title)
{
    json_t *values = json_array();
    for (int r = 0; r < chart->rule_count; r++)
        if (isfinite(chart->rules[r].value))
            json_array_append_new(values, json_pack("{s:f, s:s}", "value", chart->rules[r].value, "label",
                                                    chart->rules[r].label));
    json_t *rule_y = chart_vegalite_channel("value", y, y_title);
    return json_pack("{s:{s:o}, s:[{s:{s:s, s:[i, i], s:s}, s:{s:o}}, {s:{s:s, s:s, s:s, s:i, s:i}, s:{s:o, s:{s:s}}}]}",
                     "data", "values", values, "layer", "mark", "type", "rule", "strokeDash", 5, 3, "color", "#333",
                     "encoding", "y", json_incref(rule_y), "mark", "type", "text", "align", "right", "x", "width",
                     "dx", -2, "dy", -5, "encoding", "y", rule_y, "text", "field", "label");
}

/* The marks of STEPS and POINTS: x and y over the values, colour by series. */
static json_t *chart_vegalite_xy(const struct chart *chart, const struct chart_frame *frame)
{
    json_t *encoding = json_pack("{s:o, s:o, s:o, s:[{s:s}, {s:s}, {s:s}]}", "x",
                                 chart_vegalite_channel("x", &frame->x, chart->x_label), "y",
                                 chart_vegalite_channel("y", &frame->y, chart->y_label), "color",
                                 chart_vegalite_color(chart, frame), "tooltip", "field", "x", "field", "y", "field",
                                 "series");
    json_t *mark;
    if (chart->kind == CHART_STEPS) {
        mark = json_pack("{s:s, s:s}", "type", "line", "interpolate", "step-after");
    } else {
        mark = json_pack("{s:s, s:b, s:f}", "type", "point", "filled", 1, "opacity", 0.7);
        json_object_set_new(encoding, "shape",
                            json_pack("{s:s, s:s, s:s, s:{s:[s, s, s], s:[s, s, s]}}", "field", "start", "type",
                                      "nominal", "title", "start", "scale", "domain", CHART_WARM, CHART_COLD,
                                      CHART_UNKNOWN, "range", "circle", "triangle-up", "square"));
        json_array_append_new(json_object_get(encoding, "tooltip"), json_pack("{s:s}", "field", "start"));
    }
    return json_pack("{s:o, s:o}", "mark", mark, "encoding", encoding);
}

/* A distribution per series: whisker min..max, box p50..p90, ticks at p50 / p90 / p99. */
static json_t *chart_vegalite_ranges(const struct chart *chart, const struct chart_frame *frame)
{
    json_t *x = json_pack("{s:s, s:s, s:s, s:{s:i}}", "field", "series", "type", "nominal", "title", chart->x_label,
                          "axis", "labelAngle", 0);
    json_t *y = chart_vegalite_channel("min", &frame->y, chart->y_label);
    json_t *color = chart_vegalite_color(chart, frame);
    json_t *tooltip = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}, {s:s}, {s:s}]", "field", "series", "field", "runs",
                                "field", "min", "field", "p50", "field", "p90", "field", "p99", "field", "max");
    json_t *p50_y = json_deep_copy(y), *tick_y = json_deep_copy(y);
    json_object_set_new(p50_y, "field", json_string("p50"));
    json_object_set_new(tick_y, "field", json_string("ms"));
    json_t *layers = json_pack(
        "[{s:{s:s}, s:{s:O, s:o, s:{s:s}, s:O, s:O}},"
        " {s:{s:s, s:i, s:f}, s:{s:O, s:o, s:{s:s}, s:O, s:O}},"
        " {s:[{s:[s, s, s], s:[s, s]}], s:{s:s, s:s, s:i}, s:{s:O, s:o, s:{s:s, s:s}, s:[{s:s}, {s:s}, {s:s}]}}]",
        "mark", "type", "rule", "encoding", "x", x, "y", y, "y2", "field", "max", "color", color, "tooltip", tooltip,
        "mark", "type", "bar", "size", 28, "opacity", 0.4, "encoding", "x", x, "y", p50_y, "y2", "field", "p90", "color",
        color, "tooltip", tooltip,
        "transform", "fold", "p50", "p90", "p99", "as", "percentile", "ms",
        "mark", "type", "tick", "color", "#222", "size", 32, "encoding", "x", x, "y", tick_y, "detail", "field",
        "percentile", "type", "nominal", "tooltip", "field", "series", "field", "percentile", "field", "ms");
    json_decref(x);
    json_decref(color);
    json_decref(tooltip);
    return layers;
}

json_t *chart_vegalite_spec(const struct chart *chart)
{
    struct chart_frame frame;
    chart_model_frame(chart, &frame);
    json_t *layer = chart->kind == CHART_RANGES ? chart_vegalite_ranges(chart, &frame)
                                                : json_pack("[o]", chart_vegalite_xy(chart, &frame));
    if (layer == NULL)
        return NULL;
    if (chart->rule_count > 0)
        json_array_append_new(layer, chart_vegalite_rules(chart, &frame.y, chart->y_label));
    return json_pack("{s:s, s:{s:s, s:s}, s:i, s:i, s:{s:O}, s:o}", "$schema",
                     "https://vega.github.io/schema/vega-lite/v5.json", "title", "text", chart->title, "subtitle",
                     chart->subtitle, "width", 500, "height", 220, "data", "values", chart->values, "layer", layer);
}
