/*
 * interp.c — the reference interpreters, in double precision (docs/ir.md §6).
 *
 * interp_graph() evaluates the graph IR node by node; interp_kernels()
 * evaluates the kernel graph kernel by kernel, reading nothing but the
 * kernels' own matmul descriptions and epilogue expressions.  The two share
 * only ir_eval_op(), the scalar meaning of one op (refmath.c for every
 * builtin, PyTorch's definitions), so comparing them checks the fusion.  Both
 * are the oracle that generated code is tested against.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"
#include "refmath.h"

double ir_eval_op(Op op, const double *p, double a, double b, double c) {
    switch (op) {
    case OP_NEG: return -a;
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_GT: return a > b;
    case OP_GE: return a >= b;
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    case OP_SELECT: return a != 0 && !isnan(a) ? b : c; /* language.md §4.3: a NaN condition is false */
    case OP_PRELU: return ref_unary(BI_PRELU, a, &b);
    case OP_MIN:
    case OP_MAX: return ref_binary(op_info[op].bi, a, b);
    case OP_CONST: return p[0];
    default: break;
    }
    if (op_info[op].cls == OC_UNARY && op_info[op].bi != BI_COUNT)
        return ref_unary(op_info[op].bi, a, p);
    ACTC_BUG("no scalar semantics for op '%s'", op_info[op].name);
}

/* ---- weights ---- */

static const double *find_weight(const IrWeights *w, const WeightRef *ref, char *err, size_t errlen) {
    for (int i = 0; w && i < w->count; i++) {
        if (strcmp(w->names[i], ref->name) != 0)
            continue;
        if (w->shape[i][0] != ref->full_rows || w->shape[i][1] != ref->cols) {
            snprintf(err, errlen, "weight '%s' has shape [%lld, %lld], expected [%lld, %lld]", ref->name,
                     (long long)w->shape[i][0], (long long)w->shape[i][1], (long long)ref->full_rows,
                     (long long)ref->cols);
            return NULL;
        }
        return w->data[i] + ref->lo * (ref->cols ? ref->cols : 1);
    }
    snprintf(err, errlen, "missing weight '%s'", ref->name);
    return NULL;
}

/* A buffer of n doubles in the session's scratch arena: the interpreters
 * take a mark on entry and release everything on return, and a failed
 * allocation throws to the caller's boundary with nothing to free. */
static double *alloc_doubles(Session *s, int64_t rows, int64_t cols) {
    size_t n = size_mul_or_die((size_t)(rows > 0 ? rows : 1), (size_t)(cols > 0 ? cols : 1));
    return NEW_ARRAY(&s->scratch, double, n);
}

/* ---- Monte Carlo arithmetic (interp_kernels_mca) ----
 *
 * With rel > 0 every rounding point of an f32 evaluation -- each step of a
 * dot product, each epilogue op, each constant, each intermediate of a row
 * op -- is multiplied by (1 + rel * r), r uniform in [-1, 1] (Parker's Monte
 * Carlo arithmetic, random rounding at precision t = 24 for rel = 2^-24).
 * The spread of a few such runs around the exact result measures how much
 * the model amplifies rounding errors at that input; it is the conditioning
 * part of the JIT's test bound (docs/ir.md section 6.5). */
typedef struct Mca {
    double rel; /* 0: exact */
    uint64_t rng;
} Mca;

static double mca(Mca *m, double v) {
    if (!m || m->rel == 0)
        return v;
    m->rng ^= m->rng << 13, m->rng ^= m->rng >> 7, m->rng ^= m->rng << 17; /* xorshift64 */
    double r = (double)(m->rng >> 11) * 0x1p-52 - 1; /* [-1, 1) */
    return v * (1 + m->rel * r);
}

/* ---- row-wise ops (PyTorch's definitions) ---- */

static void row_op(Op op, const double *x, double *y, int64_t n, double eps, const double *gamma,
                   const double *beta, Mca *m) {
    switch (op) {
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX: {
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < n; j++)
            mx = x[j] > mx || isnan(x[j]) ? x[j] : mx;
        for (int64_t j = 0; j < n; j++)
            sum = mca(m, sum + mca(m, exp(mca(m, x[j] - mx))));
        double lsum = mca(m, log(sum));
        for (int64_t j = 0; j < n; j++)
            y[j] = mca(m, op == OP_SOFTMAX ? mca(m, exp(mca(m, x[j] - mx))) / sum : mca(m, x[j] - mx) - lsum);
        break;
    }
    case OP_LAYERNORM: {
        double mean = 0, var = 0;
        for (int64_t j = 0; j < n; j++)
            mean = mca(m, mean + x[j]);
        mean = mca(m, mean / (double)n);
        for (int64_t j = 0; j < n; j++) {
            double d = mca(m, x[j] - mean);
            var = mca(m, var + d * d);
        }
        var = mca(m, var / (double)n); /* biased, as torch.nn.LayerNorm */
        double inv = mca(m, 1 / sqrt(mca(m, var + eps)));
        for (int64_t j = 0; j < n; j++)
            y[j] = mca(m, mca(m, mca(m, x[j] - mean) * inv) * gamma[j] + (beta ? beta[j] : 0));
        break;
    }
    case OP_RMSNORM: {
        double ms = 0;
        for (int64_t j = 0; j < n; j++)
            ms = mca(m, ms + x[j] * x[j]);
        double inv = mca(m, 1 / sqrt(mca(m, ms / (double)n + eps)));
        for (int64_t j = 0; j < n; j++)
            y[j] = mca(m, mca(m, x[j] * inv) * gamma[j]);
        break;
    }
    default: ACTC_BUG("not a row op");
    }
}

/* ---- graph interpreter ---- */

typedef struct Buf {
    double *v;
    int64_t stride; /* elements per row; 0 for vectors and scalars */
    int64_t n;
} Buf;

static double at(const Buf *b, int64_t r, int64_t c) {
    if (b->stride)
        return b->v[r * b->stride + c];
    return b->n == 1 ? b->v[0] : b->v[c];
}

int interp_graph(Graph *g, const IrWeights *w, int64_t batch, const double *const *inputs,
                 double *const *outputs, char *err, size_t errlen) {
    ArenaMark mark = arena_mark(&g->s->scratch);
    Buf *bufs = NEW_ARRAY(&g->s->scratch, Buf, (size_t)g->next_id + 1);
    int st = ACTC_OK;
    for (int i = 0; i < g->nnodes && st == ACTC_OK; i++) {
        Node *n = g->nodes[i];
        Buf *b = &bufs[n->id];
        b->n = node_width(n);
        b->stride = n->shape == SH_ROWS ? node_width(n) : 0;
        if (n->op == OP_INPUT) {
            b->v = (double *)inputs[n->index];
            continue;
        }
        if (n->op == OP_PARAM) {
            WeightRef ref = {.name = n->name, .lo = n->lo, .rows = n->cnt, .cols = n->cols, .full_rows = n->rows};
            b->v = (double *)find_weight(w, &ref, err, errlen);
            if (!b->v)
                st = ACTC_ERR_WEIGHTS;
            continue;
        }
        if (n->op == OP_OUTPUT) {
            const Buf *x = &bufs[n->in[0]->id];
            for (int64_t r = 0; r < batch; r++)
                for (int64_t c = 0; c < node_width(n); c++)
                    outputs[n->index][r * node_width(n) + c] = at(x, r, c);
            continue;
        }
        int64_t rows = n->shape == SH_ROWS ? batch : 1;
        b->v = alloc_doubles(g->s, rows, node_width(n));
        const Buf *a = n->nin > 0 ? &bufs[n->in[0]->id] : NULL;
        switch (op_info[n->op].cls) {
        case OC_SOURCE: b->v[0] = n->p[0]; break; /* CONST */
        case OC_MATMUL: {
            const Buf *wt = &bufs[n->in[1]->id];
            int64_t k = node_width(n->in[0]);
            for (int64_t r = 0; r < batch; r++)
                for (int64_t c = 0; c < node_width(n); c++) {
                    double acc = 0;
                    for (int64_t j = 0; j < k; j++)
                        acc += a->v[r * k + j] * wt->v[c * k + j];
                    b->v[r * node_width(n) + c] = acc;
                }
            break;
        }
        case OC_SPLIT: {
            int64_t off = (int64_t)n->p[1] * node_width(n);
            for (int64_t r = 0; r < batch; r++)
                for (int64_t c = 0; c < node_width(n); c++)
                    b->v[r * node_width(n) + c] = at(a, r, off + c);
            break;
        }
        case OC_ROW:
            for (int64_t r = 0; r < batch; r++)
                row_op(n->op, a->v + r * node_width(n), b->v + r * node_width(n), node_width(n), n->p[0],
                       n->nin > 1 ? bufs[n->in[1]->id].v : NULL, n->nin > 2 ? bufs[n->in[2]->id].v : NULL, NULL);
            break;
        case OC_UNARY:
        case OC_BINARY:
        case OC_CMP:
        case OC_SELECT:
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < node_width(n); c++) {
                    double x[3] = {0, 0, 0};
                    for (int j = 0; j < n->nin; j++)
                        x[j] = at(&bufs[n->in[j]->id], r, c);
                    b->v[(b->stride ? r * b->stride : 0) + c] = ir_eval_op(n->op, n->p, x[0], x[1], x[2]);
                }
            break;
        default: ACTC_BUG("interp_graph: unexpected op '%s'", op_info[n->op].name);
        }
    }
    arena_reset(&g->s->scratch, mark);
    return st;
}

/* ---- kernel interpreter ---- */

typedef struct KState {
    double **vals;     /* by Value id */
    const double **leafp; /* per leaf: base pointer */
    Mca *mca;             /* NULL: exact */
} KState;

static double leaf_value(const Kernel *k, KState *ks, int li, int64_t r, int64_t c, const double *acc) {
    const Leaf *lf = &k->leaves[li];
    switch (lf->kind) {
    case LF_ACC: return acc[lf->acc];
    case LF_TENSOR: return ks->vals[lf->val->id][r * lf->val->n + lf->col0 + c];
    case LF_VEC: return lf->vec.rows == 1 ? ks->leafp[li][0] : ks->leafp[li][c];
    }
    return 0;
}

static int run_kernel(Session *s, const Kernel *k, KState *ks, const IrWeights *w, int64_t batch, char *err,
                      size_t errlen) {
    /* resolve weights */
    const double *wt[2] = {NULL, NULL};
    for (int a = 0; a < k->nacc; a++)
        if (!(wt[a] = find_weight(w, &k->w[a], err, errlen)))
            return ACTC_ERR_WEIGHTS;
    ks->leafp = NEW_ARRAY(&s->scratch, const double *, (size_t)k->nleaves + 1);
    for (int i = 0; i < k->nleaves; i++)
        if (k->leaves[i].kind == LF_VEC && !(ks->leafp[i] = find_weight(w, &k->leaves[i].vec, err, errlen)))
            return ACTC_ERR_WEIGHTS;
    const double *gamma = NULL, *beta = NULL;
    if (k->has_gamma && !(gamma = find_weight(w, &k->gamma, err, errlen)))
        return ACTC_ERR_WEIGHTS;
    if (k->has_beta && !(beta = find_weight(w, &k->beta, err, errlen)))
        return ACTC_ERR_WEIGHTS;
    /* evaluation order of the epilogue */
    int nlist;
    Ep **list = ep_postorder(&s->scratch, k, &nlist);
    double *v = NEW_ARRAY(&s->scratch, double, (size_t)k->neps + 2);
    double *row_in = k->kind == K_ROW ? NEW_ARRAY(&s->scratch, double, (size_t)k->n) : NULL;
    for (int64_t r = 0; r < batch; r++) {
        for (int64_t c = 0; c < k->n; c++) {
            double acc[2] = {0, 0};
            for (int a = 0; a < k->nacc; a++) {
                const double *x = ks->vals[k->x->id] + r * k->k, *wr = wt[a] + c * k->k;
                for (int64_t j = 0; j < k->k; j++)
                    acc[a] = mca(ks->mca, acc[a] + x[j] * wr[j]); /* one FMA step */
            }
            for (int i = 0; i < nlist; i++) {
                Ep *e = list[i];
                if (e->op == OP_LEAF)
                    v[e->id] = leaf_value(k, ks, e->leaf, r, c, acc);
                else if (e->op == OP_CONST)
                    v[e->id] = mca(ks->mca, e->p[0]);
                else
                    v[e->id] = mca(ks->mca, ir_eval_op(e->op, e->p, v[e->in[0]->id], e->nin > 1 ? v[e->in[1]->id] : 0,
                                                       e->nin > 2 ? v[e->in[2]->id] : 0));
            }
            if (k->kind == K_ROW) {
                row_in[c] = v[k->outs[0]->id];
                continue;
            }
            for (int j = 0; j < k->nouts; j++)
                ks->vals[k->out_vals[j]->id][r * k->n + c] = v[k->outs[j]->id];
        }
        if (k->kind == K_ROW)
            row_op(k->row_op, row_in, ks->vals[k->out_vals[0]->id] + r * k->n, k->n, k->eps, gamma, beta, ks->mca);
    }
    return ACTC_OK;
}

int interp_kernels(KGraph *kg, const IrWeights *w, int64_t batch, const double *const *inputs,
                   double *const *outputs, char *err, size_t errlen) {
    return interp_kernels_mca(kg, w, batch, inputs, outputs, 0, 0, err, errlen);
}

int interp_kernels_mca(KGraph *kg, const IrWeights *w, int64_t batch, const double *const *inputs,
                       double *const *outputs, double rel, uint64_t seed, char *err, size_t errlen) {
    Session *s = kg->g->s;
    Mca rounding = {rel, seed * 0x9E3779B97F4A7C15ull | 1};
    KState ks = {.mca = rel > 0 ? &rounding : NULL};
    ArenaMark mark = arena_mark(&s->scratch);
    ks.vals = NEW_ARRAY(&s->scratch, double *, (size_t)kg->nvalues + 1);
    for (int i = 0; i < kg->nvalues; i++) {
        Value *v = kg->values[i];
        if (v->kind == V_INPUT) {
            ks.vals[i] = (double *)inputs[v->index];
        } else if (v->kind == V_OUTPUT) {
            ks.vals[i] = outputs[v->index];
        } else {
            ks.vals[i] = alloc_doubles(s, batch, v->n);
        }
    }
    int st = ACTC_OK;
    for (int i = 0; i < kg->nkernels && st == ACTC_OK; i++) {
        ArenaMark m = arena_mark(&s->scratch);
        st = run_kernel(s, kg->kernels[i], &ks, w, batch, err, errlen);
        arena_reset(&s->scratch, m);
    }
    arena_reset(&s->scratch, mark);
    return st;
}
