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

#endif
