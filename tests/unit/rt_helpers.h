/*
 * rt_helpers.h — arrays in memory as libactrt's actrt_tensor, for tests that
 * load weights with actrt_model_load_tensors (runtime.h only).
 */
#ifndef ACTC_TEST_RT_HELPERS_H
#define ACTC_TEST_RT_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "actc/runtime.h"

/* Tensor t of a description with its f32 data. */
static inline actrt_tensor rt_tensor_of(const actrt_tensor_desc *t, const float *data) {
    actrt_tensor a = {.name = t->name, .elem = ACTRT_ELEM_F32, .rank = t->rank, .data = data};
    memcpy(a.shape, t->shape, sizeof a.shape);
    return a;
}

/* A [rows, cols] matrix, or a [rows] vector when cols == 0. */
static inline actrt_tensor rt_tensor_2d(const char *name, int64_t rows, int64_t cols, const float *data) {
    actrt_tensor a = {.name = name, .elem = ACTRT_ELEM_F32, .rank = cols ? 2 : 1, .shape = {rows, cols}, .data = data};
    return a;
}

/* Load every tensor of m's description from data[i] (in description order). */
static inline int rt_load_desc_tensors(actrt_model *m, const actrt_desc *d, float *const *data) {
    actrt_tensor *ts = calloc((size_t)d->ntensors + 1, sizeof *ts);
    if (!ts)
        return ACTC_ERR_NOMEM;
    for (int i = 0; i < d->ntensors; i++)
        ts[i] = rt_tensor_of(&d->tensors[i], data[i]);
    int st = actrt_model_load_tensors(m, ts, d->ntensors);
    free(ts);
    return st;
}

#endif
