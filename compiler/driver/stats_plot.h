/*
 * stats_plot.h — `actc stats --plot DIR` (docs/stats.md): one SVG per site of
 * a statistics report (§4, as jansson values) and an index.html showing them
 * all.  Part of the CLI (driver/), not of libactc: it reads only the JSON.
 */
#ifndef ACTC_DRIVER_STATS_PLOT_H
#define ACTC_DRIVER_STATS_PLOT_H

#include <stddef.h>

#include <jansson.h>

/* The activation's curve for the plots: y = op(x) (op as in the report's "op"
 * field, e.g. "relu", "swiglu" meaning its activation silu, a user function's
 * name); returns NaN when unknown (the plot then has no curve). */
typedef double (*stats_curve_fn)(void *ud, int site, double x);

/* Write DIR/site-N.svg for every site of `report` and DIR/index.html showing
 * them all (creates DIR if missing, one level). 0 on success; else 1 with a
 * message in err naming the file or directory and the reason (strerror).
 * `curve` may be NULL (no curves).  The report is checked before anything is
 * written: a malformed one (no "sites" array, a site without its 65
 * histogram counts, a site number twice) writes nothing. */
int stats_plot_write(const json_t *report, const char *dir, stats_curve_fn curve, void *ud, char *err,
                     size_t errlen);

#endif
