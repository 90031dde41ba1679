/*
 * derived.c — tensors computed when the weights are loaded (IrDerived,
 * docs/ir.md §4.6): creating them in a graph, and their exact values for
 * the reference interpreter.  The runtime computes the same formulas
 * (runtime/fold.c) in f64 and rounds once to f32; here nothing is
 * rounded, so the reference run is the unfolded layer's math up to the
 * order of f64 operations.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

Node *derived_param(Graph *g, Span sp, const IrDerived *d) {
    int index = g->nderived;
    VEC_PUSH(&g->s->perm, g->derived, g->nderived, g->capderived, *d);
    Node *p = node_new(g, OP_PARAM, sp, 0, NULL, NULL, NULL);
    p->name = d->name;
    p->tensor = g->model->ntensors + index;
    p->elem = ELEM_F32;
    p->rows = d->shape.dim[0];
    p->cols = d->shape.rank == 2 ? d->shape.dim[1] : 0;
    p->lo = 0;
    p->cnt = p->rows;
    node_set_shape(p, SH_VEC, p->rows);
    return p;
}

static const double *tensor(const IrSignature *sig, int ti, const IrWeights *w, char *err, size_t errlen) {
    const char *name = sig->tensors[ti].name;
    for (int i = 0; i < w->count; i++)
        if (strcmp(w->names[i], name) == 0)
            return w->data[i];
    snprintf(err, errlen, "missing weight '%s'", name);
    return NULL;
}

bool derived_values(const IrSignature *sig, int i, const IrWeights *w, double *out, char *err, size_t errlen) {
    const IrDerived *v = &sig->derived[i];
    bool cols = v->kind == DV_W_COLS || v->kind == DV_B_COLS;
    int64_t N = v->shape.dim[0], K = v->matrix >= 0 ? sig->tensors[v->matrix].shape.dim[1] : 0;
    int64_t n = cols ? K : N; /* the affine's features */
    const double *ws = tensor(sig, v->weight, w, err, errlen), *sh = tensor(sig, v->shift, w, err, errlen);
    const double *mean = v->mean >= 0 ? tensor(sig, v->mean, w, err, errlen) : NULL;
    const double *var = v->var >= 0 ? tensor(sig, v->var, w, err, errlen) : NULL;
    const double *W = v->matrix >= 0 ? tensor(sig, v->matrix, w, err, errlen) : NULL;
    const double *b = v->bias >= 0 ? tensor(sig, v->bias, w, err, errlen) : NULL;
    if (!ws || !sh || (v->mean >= 0 && (!mean || !var)) || (v->matrix >= 0 && !W) || (v->bias >= 0 && !b))
        return false;
    /* s_k, t_k of feature k */
#define S(k) (var ? ws[k] / sqrt(var[k] + v->eps) : ws[k])
#define T(k) (var ? sh[k] - mean[k] * S(k) : sh[k])
    for (int64_t k = 0; var && k < n; k++)
        if (!(var[k] + v->eps > 0)) {
            snprintf(err, errlen, "tensor '%s': running_var + eps is not positive at element %lld",
                     sig->tensors[v->var].name, (long long)k);
            return false;
        }
    for (int64_t j = 0; j < N; j++)
        switch (v->kind) {
        case DV_SCALE: out[j] = S(j); break;
        case DV_SHIFT: out[j] = T(j); break;
        case DV_W_ROWS:
            for (int64_t k = 0; k < K; k++)
                out[j * K + k] = S(j) * W[j * K + k];
            break;
        case DV_B_ROWS: out[j] = S(j) * (b ? b[j] : 0.0) + T(j); break;
        case DV_W_COLS:
            for (int64_t k = 0; k < K; k++)
                out[j * K + k] = W[j * K + k] * S(k);
            break;
        case DV_B_COLS: {
            double acc = b ? b[j] : 0.0;
            for (int64_t k = 0; k < K; k++)
                acc += W[j * K + k] * T(k);
            out[j] = acc;
            break;
        }
        }
#undef S
#undef T
    return true;
}
