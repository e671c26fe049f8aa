/* chart_vegalite: a chart (chart_model.h) as a Vega-Lite v5 spec, the
 * interactive form JupyterLab and VS Code render (tooltips, legend).
 * The spec carries the chart's values as they are, the axes of
 * chart_model_frame (domain and tick values, so it shows the same ticks as
 * the SVG), the same palette, and the rules as a layer of their own. */
#ifndef FAASET_CHART_VEGALITE_H
#define FAASET_CHART_VEGALITE_H

#include <jansson.h>

#include "chart_model.h"

/* A new spec (a reference the caller owns), or NULL when out of memory. */
json_t *chart_vegalite_spec(const struct chart *chart);

#endif
