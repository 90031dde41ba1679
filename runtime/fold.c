/*
 * fold.c — tensors computed when the weights are loaded (actrt_derived_desc,
 * include/actc/runtime.h; docs/api.md §8 "Folded tensors"): a batchnorm
 * or affine layer folded into an adjacent dense layer's weight and bias,
 * or a batchnorm's per-feature scale and shift.  Everything is computed in
 * f64 from the f32 tensors and rounded to f32 once, so the JIT and an AOT
 * object (whose embedded weights are packed by this code at compile time)
 * hold the same bits.
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"

const char *rt_tensor_name(const actrt_desc *d, int ti) {
    return ti < d->ntensors ? d->tensors[ti].name : d->derived[ti - d->ntensors].name;
}

const char *rt_tensor_declared(const actrt_desc *d, int ti) {
    if (ti < d->ntensors)
        return d->tensors[ti].declared_at;
    const actrt_derived_desc *v = &d->derived[ti - d->ntensors];
    return d->tensors[v->matrix >= 0 ? v->matrix : v->weight].declared_at;
}

/* A vector tensor index of n elements, or -1 where allowed. */
static bool vec_ok(const actrt_desc *d, int ti, int64_t n, bool optional) {
    if (ti == -1)
        return optional;
    return ti >= 0 && ti < d->ntensors && d->tensors[ti].rank == 1 && d->tensors[ti].shape[0] == n;
}

bool rt_derived_ok(const actrt_desc *d, int i) {
    const actrt_derived_desc *v = &d->derived[i];
    bool matrix = v->kind == ACTRT_DERIVE_W_ROWS || v->kind == ACTRT_DERIVE_W_COLS;
    if (!v->name || v->kind < ACTRT_DERIVE_SCALE || v->kind > ACTRT_DERIVE_B_COLS || v->rank != (matrix ? 2 : 1) ||
        v->shape[0] <= 0 || (matrix && v->shape[1] <= 0) || (v->mean == -1) != (v->var == -1))
        return false;
    int64_t rows = v->shape[0];
    /* the dense layer's W [N, K]: the output's shape, or [N, K] with N = rows of a bias */
    int64_t N = rows, K = matrix ? v->shape[1] : 0;
    if (v->kind == ACTRT_DERIVE_B_COLS) {
        if (v->matrix < 0 || v->matrix >= d->ntensors || d->tensors[v->matrix].rank != 2 ||
            d->tensors[v->matrix].shape[0] != N)
            return false;
        K = d->tensors[v->matrix].shape[1];
    } else if (matrix) {
        const actrt_tensor_desc *w = v->matrix >= 0 && v->matrix < d->ntensors ? &d->tensors[v->matrix] : NULL;
        if (!w || w->rank != 2 || w->shape[0] != N || w->shape[1] != K)
            return false;
    } else if (v->matrix != -1) {
        return false;
    }
    int64_t n = v->kind == ACTRT_DERIVE_W_COLS || v->kind == ACTRT_DERIVE_B_COLS ? K : N; /* the affine's width */
    bool has_bias = v->kind == ACTRT_DERIVE_B_ROWS || v->kind == ACTRT_DERIVE_B_COLS;
    return vec_ok(d, v->weight, n, false) && vec_ok(d, v->shift, n, false) && vec_ok(d, v->mean, n, true) &&
           vec_ok(d, v->var, n, true) && (has_bias ? vec_ok(d, v->bias, N, true) : v->bias == -1) &&
           (v->mean == -1 || (v->eps > 0 && isfinite(v->eps)));
}

/* s and t of the affine (n features) into st[0 .. n) and st[n .. 2n); an
 * error names the tensor with a bad value. */
static int affine(const actrt_desc *d, const actrt_derived_desc *v, const float *const *t, int64_t n, double *st,
                  char *err, size_t errlen) {
    int src[4] = {v->weight, v->shift, v->mean, v->var};
    for (int q = 0; q < 4; q++)
        for (int64_t j = 0; src[q] >= 0 && j < n; j++)
            if (!isfinite(t[src[q]][j])) {
                snprintf(err, errlen, "tensor '%s' (declared at %s): element %lld is %g; a folded layer's tensors must be finite",
                         d->tensors[src[q]].name, d->tensors[src[q]].declared_at, (long long)j, (double)t[src[q]][j]);
                return ACTC_ERR_WEIGHTS;
            }
    for (int64_t j = 0; j < n; j++) {
        double s = t[v->weight][j], sh = t[v->shift][j];
        if (v->var >= 0) {
            double var = (double)t[v->var][j] + v->eps;
            if (!(var > 0)) {
                snprintf(err, errlen,
                         "tensor '%s' (declared at %s): element %lld is %g, so running_var + eps = %g is not positive",
                         d->tensors[v->var].name, d->tensors[v->var].declared_at, (long long)j, (double)t[v->var][j],
                         var);
                return ACTC_ERR_WEIGHTS;
            }
            s /= sqrt(var);
            sh -= (double)t[v->mean][j] * s;
        }
        st[j] = s;
        st[n + j] = sh;
    }
    return ACTC_OK;
}

int rt_derive(const actrt_desc *d, int i, const float *const *t, float *out, char *err, size_t errlen) {
    const actrt_derived_desc *v = &d->derived[i];
    bool cols = v->kind == ACTRT_DERIVE_W_COLS || v->kind == ACTRT_DERIVE_B_COLS;
    int64_t N = v->shape[0];
    int64_t K = v->matrix >= 0 ? d->tensors[v->matrix].shape[1] : 0;
    int64_t n = cols ? K : N;
    double *st = rt_calloc((size_t)(2 * n), sizeof(double));
    if (!st) {
        snprintf(err, errlen, "out of memory folding '%s'", v->name);
        return ACTC_ERR_NOMEM;
    }
    int rc = affine(d, v, t, n, st, err, errlen);
    const double *s = st, *sh = st + n;
    const float *W = v->matrix >= 0 ? t[v->matrix] : NULL, *b = v->bias >= 0 ? t[v->bias] : NULL;
    for (int64_t j = 0; j < N && rc == ACTC_OK; j++) {
        switch (v->kind) {
        case ACTRT_DERIVE_SCALE: out[j] = (float)s[j]; break;
        case ACTRT_DERIVE_SHIFT: out[j] = (float)sh[j]; break;
        case ACTRT_DERIVE_W_ROWS:
            for (int64_t k = 0; k < K; k++)
                out[j * K + k] = (float)(s[j] * W[j * K + k]);
            break;
        case ACTRT_DERIVE_B_ROWS: out[j] = (float)(s[j] * (b ? b[j] : 0.0) + sh[j]); break;
        case ACTRT_DERIVE_W_COLS:
            for (int64_t k = 0; k < K; k++)
                out[j * K + k] = (float)((double)W[j * K + k] * s[k]);
            break;
        case ACTRT_DERIVE_B_COLS: {
            double acc = b ? b[j] : 0.0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)W[j * K + k] * sh[k];
            out[j] = (float)acc;
            break;
        }
        }
    }
    rt_free(st);
    return rc;
}
