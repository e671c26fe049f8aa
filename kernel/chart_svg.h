/* chart_svg: a chart (chart_model.h) drawn as a static SVG by the kernel,
 * for the frontends that do not run Vega-Lite (the classic notebook,
 * nbconvert, GitHub) and for %results --save. Titles, axes with the
 * model's ticks and labels, grid lines, the marks, dashed reference rules
 * with their labels, and a legend on the right (series colours, and the
 * shapes of cold and warm starts when the chart has them). */
#ifndef FAASET_CHART_SVG_H
#define FAASET_CHART_SVG_H

#include "chart_model.h"

/* The SVG document (malloc'd), or NULL when out of memory. */
char *chart_svg_render(const struct chart *chart);

#endif
