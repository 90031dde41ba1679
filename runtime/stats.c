/*
 * stats.c — libactrt's entry points for activation statistics that need no
 * model (docs/stats.md): setting a block up, and the histogram's bin edges.
 * The blocks' helpers are runtime/stats.h's, shared with the embedded
 * runtime; model.c owns the blocks of a model and the locking.
 */
#include <math.h>

#include "internal.h"
#include "stats.h"

void actrt_stats_block_init(const actrt_desc *d, void *block) { rt_stats_block_init(d, block); }

double actrt_stats_edge(int i) {
    if (i < 0 || i > ACTRT_STATS_BINS)
        return NAN;
    int half = ACTRT_STATS_BINS / 2;  /* 32: the centre bin lies between edges 32 and 33 */
    int m = i > half ? i - half - 1 : half - i; /* magnitude index 0 .. 32 */
    double mag = ldexp(1.0 + 0.5 * (m % 2), m / 2 - 8);
    return i > half ? mag : -mag;
}
