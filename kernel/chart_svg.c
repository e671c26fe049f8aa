/* chart_svg: hand-drawn SVG (see chart_svg.h). A 760 x 320 picture: the
 * title and subtitle on top, the plot at the left, the legend in a column
 * on the right. Values map to pixels through axis_fraction, which clamps,
 * so a value outside the axis (a latency below zero) sits on its edge
 * instead of outside the picture. Marks: a step polyline per series,
 * circles for warm starts (and unreported ones, smaller), open triangles
 * for cold starts, and for distributions a whisker from min to max, a box
 * from p50 to p90 and ticks at p50, p90 and p99 with their numbers (the
 * numbers moved apart when the ticks are close). A chart of one step
 * series has no legend. Every
 * text goes through chart_svg_text, which escapes it. */
#include "chart_svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

#define SVG_WIDTH 760
#define SVG_HEIGHT 320
#define SVG_LEFT 70
#define SVG_TOP 58
#define SVG_PLOT_W 500
#define SVG_PLOT_H 210
#define SVG_LEGEND_X (SVG_LEFT + SVG_PLOT_W + 24)

struct chart_svg {
    struct buffer out;
    const struct chart *chart;
    struct chart_frame frame;
};

/* <text> at X, Y with ATTRS, holding TEXT (escaped). */
static void chart_svg_text(struct buffer *out, double x, double y, const char *attrs, const char *text)
{
    buffer_printf(out, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
    buffer_puts_html(out, text);
    buffer_printf(out, "</text>");
}

static double chart_svg_px(const struct chart_svg *s, double x)
{
    return SVG_LEFT + SVG_PLOT_W * axis_fraction(&s->frame.x, x);
}

static double chart_svg_py(const struct chart_svg *s, double y)
{
    return SVG_TOP + SVG_PLOT_H - SVG_PLOT_H * axis_fraction(&s->frame.y, y);
}

/* The centre of category I of N (CHART_RANGES). */
static double chart_svg_slot(int i, int n)
{
    return SVG_LEFT + SVG_PLOT_W * (i + 0.5) / (n > 0 ? n : 1);
}

static void chart_svg_axes(struct chart_svg *s)
{
    struct buffer *out = &s->out;
    const struct chart *chart = s->chart;
    char label[64];
    chart_svg_text(out, 12, 20, "font-size=\"15\" font-weight=\"bold\"", chart->title);
    chart_svg_text(out, 12, 38, "font-size=\"11\" fill=\"#555\"", chart->subtitle);
    for (int i = 0; i < s->frame.y.ticks; i++) {
        double value = axis_tick(&s->frame.y, i), y = chart_svg_py(s, value);
        buffer_printf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>", SVG_LEFT, y,
                      SVG_LEFT + SVG_PLOT_W, y);
        chart_svg_text(out, SVG_LEFT - 6, y + 3.5, "font-size=\"10\" text-anchor=\"end\"",
                       axis_format(value, s->frame.y.decimals, label, sizeof label));
    }
    if (chart->kind == CHART_RANGES) {
        for (int i = 0; i < s->frame.series_count; i++)
            chart_svg_text(out, chart_svg_slot(i, s->frame.series_count), SVG_TOP + SVG_PLOT_H + 15,
                           "font-size=\"10\" text-anchor=\"middle\"", s->frame.series[i]);
    } else {
        for (int i = 0; i < s->frame.x.ticks; i++) {
            double value = axis_tick(&s->frame.x, i), x = chart_svg_px(s, value);
            buffer_printf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>", x,
                          SVG_TOP + SVG_PLOT_H, x, SVG_TOP + SVG_PLOT_H + 4);
            chart_svg_text(out, x, SVG_TOP + SVG_PLOT_H + 15, "font-size=\"10\" text-anchor=\"middle\"",
                           axis_format(value, s->frame.x.decimals, label, sizeof label));
        }
    }
    buffer_printf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>", SVG_LEFT,
                  SVG_TOP + SVG_PLOT_H, SVG_LEFT + SVG_PLOT_W, SVG_TOP + SVG_PLOT_H);
    buffer_printf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>", SVG_LEFT, SVG_TOP, SVG_LEFT,
                  SVG_TOP + SVG_PLOT_H);
    chart_svg_text(out, SVG_LEFT + SVG_PLOT_W / 2.0, SVG_HEIGHT - 8, "font-size=\"11\" text-anchor=\"middle\"",
                   chart->x_label);
    buffer_printf(out, "<g transform=\"translate(16 %d) rotate(-90)\">", SVG_TOP + SVG_PLOT_H / 2);
    chart_svg_text(out, 0, 0, "font-size=\"11\" text-anchor=\"middle\"", chart->y_label);
    buffer_printf(out, "</g>");
}

/* The mark of one point: an open triangle for a cold start, a dot otherwise. */
static void chart_svg_point(struct buffer *out, double x, double y, const char *color, const char *start)
{
    if (start != NULL && strcmp(start, CHART_COLD) == 0)
        buffer_printf(out, "<path d=\"M%.1f %.1fl4 7h-8z\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.3\"/>", x,
                      y - 4.5, color);
    else
        buffer_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\" fill-opacity=\"0.7\"/>", x, y,
                      start != NULL && strcmp(start, CHART_WARM) == 0 ? "2.5" : "2", color);
}

static void chart_svg_marks(struct chart_svg *s)
{
    struct buffer *out = &s->out;
    const json_t *values = s->chart->values;
    size_t i;
    const json_t *value;
    if (s->chart->kind == CHART_STEPS) {
        for (int series = 0; series < s->frame.series_count; series++) {
            buffer_printf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
                          chart_model_color(series));
            double previous = NAN;
            json_array_foreach(values, i, value) {
                double x = chart_model_number(value, "x"), y = chart_model_number(value, "y");
                if (chart_model_series_index(&s->frame, json_string_value(json_object_get(value, "series"))) != series ||
                    isnan(x) || isnan(y))
                    continue;
                if (!isnan(previous))
                    buffer_printf(out, "%.1f,%.1f ", chart_svg_px(s, x), chart_svg_py(s, previous));
                buffer_printf(out, "%.1f,%.1f ", chart_svg_px(s, x), chart_svg_py(s, y));
                previous = y;
            }
            buffer_printf(out, "\"/>");
        }
    } else if (s->chart->kind == CHART_POINTS) {
        json_array_foreach(values, i, value) {
            double x = chart_model_number(value, "x"), y = chart_model_number(value, "y");
            if (isnan(x) || isnan(y))
                continue;
            int series = chart_model_series_index(&s->frame, json_string_value(json_object_get(value, "series")));
            chart_svg_point(out, chart_svg_px(s, x), chart_svg_py(s, y), chart_model_color(series),
                            json_string_value(json_object_get(value, "start")));
        }
    } else {
        char label[64], number[64];
        json_array_foreach(values, i, value) {
            int series = chart_model_series_index(&s->frame, json_string_value(json_object_get(value, "series")));
            double x = chart_svg_slot(series, s->frame.series_count);
            const char *color = chart_model_color(series);
            double min = chart_model_number(value, "min"), max = chart_model_number(value, "max");
            double p50 = chart_model_number(value, "p50"), p90 = chart_model_number(value, "p90");
            if (!isnan(min) && !isnan(max))
                buffer_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", x,
                              chart_svg_py(s, min), x, chart_svg_py(s, max), color);
            if (!isnan(p50) && !isnan(p90))
                buffer_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"28\" height=\"%.1f\" fill=\"%s\" "
                                   "fill-opacity=\"0.35\" stroke=\"%s\"/>",
                              x - 14, chart_svg_py(s, p90), chart_svg_py(s, p50) - chart_svg_py(s, p90), color, color);
            static const char *const percentiles[] = {"p50", "p90", "p99"};
            double label_y = INFINITY; /* labels climb: each at least 10 px above the one before */
            for (size_t p = 0; p < 3; p++) {
                double v = chart_model_number(value, percentiles[p]);
                if (isnan(v))
                    continue;
                double y = chart_svg_py(s, v);
                buffer_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222\" "
                                   "stroke-width=\"%s\"/>", x - 16, y, x + 16, y, p == 0 ? "2" : "1");
                snprintf(label, sizeof label, "%s %s", percentiles[p], axis_format(v, 1, number, sizeof number));
                label_y = fmin(y + 3, label_y - 10);
                chart_svg_text(out, x + 19, label_y, "font-size=\"9\"", label);
            }
        }
    }
}

static void chart_svg_rules(struct chart_svg *s)
{
    for (int r = 0; r < s->chart->rule_count; r++) {
        const struct chart_rule *rule = &s->chart->rules[r];
        if (!isfinite(rule->value))
            continue;
        double y = chart_svg_py(s, rule->value);
        buffer_printf(&s->out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333\" "
                               "stroke-dasharray=\"5 3\"/>", SVG_LEFT, y, SVG_LEFT + SVG_PLOT_W, y);
        chart_svg_text(&s->out, SVG_LEFT + SVG_PLOT_W - 2, y - 3, "font-size=\"10\" text-anchor=\"end\" fill=\"#333\"",
                       rule->label);
    }
}

static void chart_svg_legend(struct chart_svg *s)
{
    struct buffer *out = &s->out;
    if (s->chart->kind == CHART_STEPS && s->frame.series_count < 2)
        return;
    double y = SVG_TOP + 4;
    chart_svg_text(out, SVG_LEGEND_X, y, "font-size=\"11\" font-weight=\"bold\"", s->chart->series_title);
    for (int i = 0; i < s->frame.series_count; i++) {
        y += 16;
        buffer_printf(out, "<rect x=\"%d\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>", SVG_LEGEND_X, y - 9,
                      chart_model_color(i));
        chart_svg_text(out, SVG_LEGEND_X + 15, y, "font-size=\"10\"", s->frame.series[i]);
    }
    if (s->chart->kind != CHART_POINTS)
        return;
    static const char *const starts[] = {CHART_WARM, CHART_COLD, CHART_UNKNOWN};
    int heading = 0;
    for (size_t k = 0; k < 3; k++) {
        int present = 0;
        size_t i;
        const json_t *value;
        json_array_foreach(s->chart->values, i, value) {
            const char *start = json_string_value(json_object_get(value, "start"));
            present |= start != NULL && strcmp(start, starts[k]) == 0;
        }
        if (!present)
            continue;
        if (!heading++) {
            y += 24;
            chart_svg_text(out, SVG_LEGEND_X, y, "font-size=\"11\" font-weight=\"bold\"", "start");
        }
        y += 16;
        chart_svg_point(out, SVG_LEGEND_X + 5, y - 4, "#555", starts[k]);
        chart_svg_text(out, SVG_LEGEND_X + 15, y, "font-size=\"10\"", starts[k]);
    }
}

char *chart_svg_render(const struct chart *chart)
{
    struct chart_svg s = {.chart = chart};
    chart_model_frame(chart, &s.frame);
    buffer_printf(&s.out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                          "font-family=\"Helvetica, Arial, sans-serif\">", SVG_WIDTH, SVG_HEIGHT, SVG_WIDTH, SVG_HEIGHT);
    buffer_printf(&s.out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>");
    chart_svg_axes(&s);
    chart_svg_marks(&s);
    chart_svg_rules(&s);
    chart_svg_legend(&s);
    buffer_printf(&s.out, "</svg>");
    if (s.out.failed) {
        buffer_free(&s.out);
        return NULL;
    }
    return s.out.data;
}
