/*
 * stats.h — activation statistics blocks (docs/stats.md), shared by
 * libactrt (model.c, stats.c) and the embedded runtime of AOT objects
 * (embedded.c), as run_checks.h is: set a block up, and merge blocks into a
 * caller's actrt_site_stats.  The layout is actrt_site_layout's
 * (runtime.h), the one the compiler generates the counting code for.
 * Freestanding C: loops instead of memset, compiler builtins instead of
 * <math.h> (the embedded runtime links with libc's malloc and free alone).
 */
#ifndef ACTC_RUNTIME_STATS_H
#define ACTC_RUNTIME_STATS_H

#include <stdint.h>

#include "actc/runtime.h"

/* Counters 0, minima +inf, maxima -inf. */
static inline void rt_stats_block_init(const actrt_desc *d, void *block) {
    if (!d || !block || d->nsites <= 0)
        return;
    char *b = (char *)block;
    for (int64_t i = 0; i < d->stats_bytes; i++)
        b[i] = 0;
    for (int i = 0; i < d->nsites; i++) {
        const actrt_site_desc *s = &d->sites[i];
        if (s->offset < 0)
            continue;
        int64_t lay[8];
        actrt_site_layout(s->units, s->kind, lay);
        float *mn = (float *)(b + s->offset + lay[3]), *mx = (float *)(b + s->offset + lay[4]);
        for (int64_t j = 0; j < s->units; j++)
            mn[j] = __builtin_inff(), mx[j] = -__builtin_inff();
    }
}

/* Merging the blocks of a site into *out: begin (counters and the
 * caller's arrays zeroed), add each block (with the f64 sums), end (mean
 * and std from the sums). */
static inline void rt_stats_begin(actrt_site_stats *out, int site, int64_t units, int64_t samples) {
    int64_t *active = out->active, *saturated = out->saturated;
    uint32_t size = out->size;
    out->size = size, out->site = site, out->samples = samples, out->units = units; /* field by field: no memset */
    out->active = active, out->saturated = saturated;
    out->min = __builtin_inf(), out->max = -__builtin_inf(), out->mean = out->std = 0;
    for (int i = 0; i < ACTRT_STATS_BINS + 2; i++)
        out->hist[i] = 0;
    for (int64_t j = 0; j < units; j++) {
        if (active)
            active[j] = 0;
        if (saturated)
            saturated[j] = 0;
    }
}

static inline void rt_stats_add(const actrt_site_desc *s, const void *block, actrt_site_stats *out, double *sum,
                                double *sumsq) {
    int64_t lay[8];
    actrt_site_layout(s->units, s->kind, lay);
    const char *b = (const char *)block + s->offset;
    const int64_t *act = (const int64_t *)(b + lay[0]), *sat = (const int64_t *)(b + lay[1]);
    const int64_t *hist = (const int64_t *)(b + lay[2]);
    const float *mn = (const float *)(b + lay[3]), *mx = (const float *)(b + lay[4]);
    const double *su = (const double *)(b + lay[5]), *sq = (const double *)(b + lay[6]);
    for (int64_t j = 0; j < s->units; j++) {
        if (out->active)
            out->active[j] += act[j];
        if (out->saturated && s->kind == ACTRT_SITE_SATURATING)
            out->saturated[j] += sat[j];
        if (mn[j] < out->min)
            out->min = mn[j];
        if (mx[j] > out->max)
            out->max = mx[j];
        *sum += su[j];
        *sumsq += sq[j];
    }
    for (int c = 0; c < ACTRT_STATS_HIST_COPIES; c++)
        for (int i = 0; i < ACTRT_STATS_BINS + 2; i++)
            out->hist[i] += hist[c * (ACTRT_STATS_BINS + 2) + i];
}

static inline void rt_stats_end(actrt_site_stats *out, double sum, double sumsq) {
    double n = (double)out->samples * (double)out->units;
    if (n <= 0) {
        out->mean = out->std = __builtin_nan("");
        return;
    }
    out->mean = sum / n;
    double var = sumsq / n - out->mean * out->mean;
    out->std = var != var ? var : __builtin_sqrt(var > 0 ? var : 0); /* NaN stays NaN */
}

#endif
