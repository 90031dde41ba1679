/*
 * cli.h — what the files of the actc command line share (main.c, tune.c).
 */
#ifndef ACTC_DRIVER_CLI_H
#define ACTC_DRIVER_CLI_H

#include <stdbool.h>

#include "actc/actc.h"
#include "actc/runtime.h"

/* Random weights for every tensor of d (uniform +-sqrt(3 / fan-in) for
 * matrices, +-0.1 otherwise; a fixed sequence). */
int cli_random_weights(actrt_model *m, const actrt_desc *d);
/* actc tune (tune.c): the exit status. */
int cli_tune(const actc_options *o, const char *shapes, const char *batches, double budget, const char *profile,
             bool show, bool quiet);

/* actc stats (stats.c): every row of the inputs in[] (rows of them)
 * through m in batches of `batch` (a fixed batch model: its own), then the
 * table on stdout, the JSON report to json_path ("-": stdout, instead of
 * the table), plots into plot_dir (NULL: none).  The exit status. */
int cli_stats(actrt_model *m, const actrt_desc *d, float *const *in, int64_t rows, int64_t batch, const char *json_path,
              const char *plot_dir);

#endif
