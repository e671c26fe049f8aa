/* charts: a chart (chart_model.h) as one Jupyter display bundle with three
 * forms of the same picture: `application/vnd.vegalite.v5+json`
 * (chart_vegalite: interactive in JupyterLab and VS Code), `image/svg+xml`
 * (chart_svg: the classic notebook, nbconvert, GitHub, files) and
 * `text/plain` (the chart's one line of figures). JupyterLab shows the
 * richest form it can render; the others stay in the notebook file. */
#ifndef FAASET_CHARTS_H
#define FAASET_CHARTS_H

#include <jansson.h>

#include "chart_model.h"

/* {"data": {...three forms...}, "metadata": {}}, ready for display_data;
 * NULL when out of memory. */
json_t *charts_bundle(const struct chart *chart);

#endif
