/* charts: the three forms of a chart in one bundle (see charts.h). The
 * SVG and the spec are each drawn from the same model; when the SVG cannot
 * be made (out of memory) the bundle carries an empty picture rather than
 * none, and the spec and the text are still right. */
#include "charts.h"

#include <stdlib.h>

#include "chart_svg.h"
#include "chart_vegalite.h"

json_t *charts_bundle(const struct chart *chart)
{
    char *svg = chart_svg_render(chart);
    json_t *spec = chart_vegalite_spec(chart);
    json_t *bundle = json_pack("{s:{s:o, s:s, s:s}, s:{}}", "data", "application/vnd.vegalite.v5+json",
                               spec ? spec : json_object(), "image/svg+xml",
                               svg ? svg : "<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "text/plain", chart->text,
                               "metadata");
    free(svg);
    return bundle;
}
