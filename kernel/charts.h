/* charts: a chart as one Jupyter display bundle with three forms of the
 * same picture: `application/vnd.vegalite.v5+json` (interactive in
 * JupyterLab and VS Code), `image/svg+xml` drawn here (the classic
 * notebook, nbconvert, GitHub), and `text/plain` (a one-line summary).
 * The experiment charts: concurrency over time (the FaaSET paper's
 * Figure 4, a step line), latency over time (Figure 5, points), and
 * runtime by memory setting (bars). */
#ifndef FAASET_CHARTS_H
#define FAASET_CHARTS_H

#include <jansson.h>

enum chart_kind { CHART_STEPS, CHART_POINTS, CHART_BARS };

struct chart {
    enum chart_kind kind;
    const char *title;
    const char *x_label;
    const char *y_label;
    const json_t *points;        /* [[x, y], ...]; for bars x is the category */
};

/* {"data": {...three forms...}, "metadata": {}}, ready for display_data. */
json_t *chart_bundle(const struct chart *chart);

#endif
