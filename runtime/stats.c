/*
 * stats.c — activation statistics blocks (docs/stats.md): set up, merged
 * into a caller's actrt_site_stats, and the histogram's bin edges.  The
 * block layout is actrt_site_layout's (runtime.h), the one the compiler
 * generates the counting code for; model.c owns the blocks (one per
 * thread and scratch buffer) and the locking.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

void actrt_stats_block_init(const actrt_desc *d, void *block) {
    if (!d || !block || d->nsites <= 0)
        return;
    memset(block, 0, (size_t)d->stats_bytes);
    for (int i = 0; i < d->nsites; i++) {
        const actrt_site_desc *s = &d->sites[i];
        if (s->offset < 0)
            continue;
        int64_t lay[8];
        actrt_site_layout(s->units, s->kind, lay);
        float *mn = (float *)((char *)block + s->offset + lay[3]), *mx = (float *)((char *)block + s->offset + lay[4]);
        for (int64_t j = 0; j < s->units; j++)
            mn[j] = INFINITY, mx[j] = -INFINITY;
    }
}

double actrt_stats_edge(int i) {
    if (i < 0 || i > ACTRT_STATS_BINS)
        return NAN;
    int half = ACTRT_STATS_BINS / 2;  /* 32: the centre bin lies between edges 32 and 33 */
    int m = i > half ? i - half - 1 : half - i; /* magnitude index 0 .. 32 */
    double mag = ldexp(1.0 + 0.5 * (m % 2), m / 2 - 8);
    return i > half ? mag : -mag;
}

void rt_stats_begin(actrt_site_stats *out, int site, int64_t units, int64_t samples) {
    int64_t *active = out->active, *saturated = out->saturated;
    uint32_t size = out->size;
    memset(out, 0, sizeof *out);
    out->size = size, out->active = active, out->saturated = saturated;
    out->site = site, out->units = units, out->samples = samples;
    out->min = INFINITY, out->max = -INFINITY;
    if (active)
        memset(active, 0, sizeof(int64_t) * (size_t)units);
    if (saturated)
        memset(saturated, 0, sizeof(int64_t) * (size_t)units);
}

void rt_stats_add(const actrt_site_desc *s, const void *block, actrt_site_stats *out, double *sum, double *sumsq) {
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

void rt_stats_end(actrt_site_stats *out, double sum, double sumsq) {
    double n = (double)out->samples * (double)out->units;
    if (n <= 0) {
        out->mean = out->std = NAN;
        return;
    }
    out->mean = sum / n;
    double var = sumsq / n - out->mean * out->mean;
    out->std = sqrt(var > 0 ? var : 0);
    if (isnan(var))
        out->std = NAN;
}
