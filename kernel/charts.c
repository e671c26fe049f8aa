/* charts: Vega-Lite specs and hand-drawn SVG (see charts.h). The SVG is a
 * 640 x 260 plot: axes with five ticks from zero (or the data's minimum
 * when it is negative) to a rounded maximum, then a polyline of steps,
 * circles, or bars. Numbers are printed with %g, text is escaped. */
#include "charts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

#define CHART_WIDTH 640
#define CHART_HEIGHT 260
#define CHART_LEFT 60
#define CHART_RIGHT 20
#define CHART_TOP 30
#define CHART_BOTTOM 40
#define CHART_COLOR "#3b82f6"

static void chart_escaped(struct buffer *t, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '<')
            buffer_printf(t, "&lt;");
        else if (*c == '>')
            buffer_printf(t, "&gt;");
        else if (*c == '&')
            buffer_printf(t, "&amp;");
        else
            buffer_printf(t, "%c", *c);
    }
}

/* A round upper bound for the axis: 1, 2 or 5 times a power of ten. */
static double chart_nice(double value)
{
    if (value <= 0)
        return 1;
    double power = pow(10, floor(log10(value)));
    double steps[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if (value <= steps[i] * power)
            return steps[i] * power;
    return 10 * power;
}

static double chart_x(const json_t *point) { return json_number_value(json_array_get(point, 0)); }
static double chart_y(const json_t *point) { return json_number_value(json_array_get(point, 1)); }

static void chart_axes(struct buffer *t, const struct chart *chart, double x_max, double y_min, double y_max,
                       int categorical)
{
    int plot_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT, plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM;
    buffer_printf(t, "<text x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"bold\">", CHART_LEFT);
    chart_escaped(t, chart->title);
    buffer_printf(t, "</text>");
    buffer_printf(t, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>", CHART_LEFT, CHART_TOP + plot_h,
                 CHART_LEFT + plot_w, CHART_TOP + plot_h);
    buffer_printf(t, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>", CHART_LEFT, CHART_TOP, CHART_LEFT,
                 CHART_TOP + plot_h);
    for (int i = 0; i <= 4; i++) {
        double value = y_min + (y_max - y_min) * i / 4.0;
        double y = CHART_TOP + plot_h - plot_h * i / 4.0;
        buffer_printf(t, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>", CHART_LEFT, y,
                     CHART_LEFT + plot_w, y);
        buffer_printf(t, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.3g</text>", CHART_LEFT - 4,
                     y + 3, value);
        if (!categorical) {
            double x = CHART_LEFT + plot_w * i / 4.0;
            buffer_printf(t, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%g</text>", x,
                         CHART_TOP + plot_h + 14, x_max * i / 4.0);
        }
    }
    buffer_printf(t, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">", CHART_LEFT + plot_w / 2,
                 CHART_HEIGHT - 6);
    chart_escaped(t, chart->x_label);
    buffer_printf(t, "</text><text x=\"12\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 12 %d)\">",
                 CHART_TOP + plot_h / 2, CHART_TOP + plot_h / 2);
    chart_escaped(t, chart->y_label);
    buffer_printf(t, "</text>");
}

static char *chart_svg(const struct chart *chart, char *summary, size_t summary_size)
{
    struct buffer t = {0};
    size_t count = json_array_size(chart->points);
    double x_max = 0, y_max = 0, y_min = 0, y_sum = 0;
    for (size_t i = 0; i < count; i++) {
        const json_t *point = json_array_get(chart->points, i);
        x_max = fmax(x_max, chart_x(point));
        y_max = fmax(y_max, chart_y(point));
        y_min = fmin(y_min, chart_y(point));
        y_sum += chart_y(point);
    }
    snprintf(summary, summary_size, "%s: %zu points, max %s %g, mean %g", chart->title, count, chart->y_label, y_max,
             count ? y_sum / (double)count : 0);
    x_max = chart_nice(x_max);
    y_max = chart_nice(y_max);
    /* a little below zero (latency from whole-ms runtimes) stays on the axis */
    y_min = y_min < -0.05 * y_max ? -chart_nice(-y_min) : 0;
    int plot_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT, plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM;
    buffer_printf(&t, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                     "font-family=\"sans-serif\">", CHART_WIDTH, CHART_HEIGHT, CHART_WIDTH, CHART_HEIGHT);
    buffer_printf(&t, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>");
    chart_axes(&t, chart, x_max, y_min, y_max, chart->kind == CHART_BARS);
#define PX(x) (CHART_LEFT + plot_w * ((x) / x_max))
#define PY(y) (CHART_TOP + plot_h - plot_h * ((fmax((y), y_min) - y_min) / (y_max - y_min)))
    if (chart->kind == CHART_STEPS && count > 0) {
        buffer_printf(&t, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", CHART_COLOR);
        double previous_y = chart_y(json_array_get(chart->points, 0));
        for (size_t i = 0; i < count; i++) {
            const json_t *point = json_array_get(chart->points, i);
            buffer_printf(&t, "%.1f,%.1f %.1f,%.1f ", PX(chart_x(point)), PY(previous_y), PX(chart_x(point)),
                         PY(chart_y(point)));
            previous_y = chart_y(point);
        }
        buffer_printf(&t, "\"/>");
    } else if (chart->kind == CHART_POINTS) {
        for (size_t i = 0; i < count; i++) {
            const json_t *point = json_array_get(chart->points, i);
            buffer_printf(&t, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\" fill-opacity=\"0.6\"/>",
                         PX(chart_x(point)), PY(chart_y(point)), CHART_COLOR);
        }
    } else if (chart->kind == CHART_BARS) {
        double slot = count ? plot_w / (double)count : plot_w;
        for (size_t i = 0; i < count; i++) {
            const json_t *point = json_array_get(chart->points, i);
            double top = PY(chart_y(point)), base = PY(0);
            buffer_printf(&t, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                         CHART_LEFT + slot * i + slot * 0.15, fmin(top, base), slot * 0.7, fabs(base - top),
                         CHART_COLOR);
            buffer_printf(&t, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%g</text>",
                         CHART_LEFT + slot * (i + 0.5), CHART_TOP + plot_h + 14, chart_x(point));
        }
    }
#undef PX
#undef PY
    buffer_printf(&t, "</svg>");
    return t.data;
}

static json_t *chart_vegalite(const struct chart *chart)
{
    json_t *values = json_array();
    size_t i;
    json_t *point;
    json_array_foreach(chart->points, i, point)
        json_array_append_new(values, json_pack("{s:O, s:O}", "x", json_array_get(point, 0), "y",
                                                json_array_get(point, 1)));
    const char *mark = chart->kind == CHART_BARS ? "bar" : chart->kind == CHART_POINTS ? "point" : "line";
    json_t *spec = json_pack("{s:s, s:s, s:i, s:i, s:{s:o}, s:{s:s}, s:{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}}",
                             "$schema", "https://vega.github.io/schema/vega-lite/v5.json", "title", chart->title,
                             "width", 560, "height", 200, "data", "values", values, "mark", "type", mark, "encoding",
                             "x", "field", "x", "type", chart->kind == CHART_BARS ? "ordinal" : "quantitative",
                             "title", chart->x_label, "y", "field", "y", "type", "quantitative", "title",
                             chart->y_label);
    if (chart->kind == CHART_STEPS)
        json_object_set_new(json_object_get(spec, "mark"), "interpolate", json_string("step-after"));
    return spec;
}

json_t *chart_bundle(const struct chart *chart)
{
    char summary[256];
    char *svg = chart_svg(chart, summary, sizeof summary);
    json_t *bundle = json_pack("{s:{s:o, s:s, s:s}, s:{}}", "data", "application/vnd.vegalite.v5+json",
                               chart_vegalite(chart), "image/svg+xml", svg ? svg : "<svg/>", "text/plain", summary,
                               "metadata");
    free(svg);
    return bundle;
}
