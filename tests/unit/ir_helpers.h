/*
 * ir_helpers.h — test helpers over the internal IR API: check a program,
 * lower its model, run the passes and the fusion, evaluate with the two
 * interpreters on deterministic pseudo-random weights and inputs.
 */
#ifndef ACTC_TEST_IR_HELPERS_H
#define ACTC_TEST_IR_HELPERS_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

typedef struct Compiled {
    Session *s;
    Program *prog;
    Decl *model;
    Graph *ref;   /* lowered + inlined only: the unfused reference */
    Graph *opt;   /* after every pass */
    KGraph *kg;   /* fused */
    bool ok;
} Compiled;

static inline Compiled compile_string(const char *src) {
    Compiled c = {0};
    c.s = calloc(1, sizeof *c.s);
    session_init(c.s);
    Boundary b;
    int st = BOUNDARY_ENTER(&b);
    cr_assert_eq(st, 0, "longjmp %d: %s", st, b.message);
    Source *so = source_new(&c.s->perm, "t.act", src, strlen(src));
    c.prog = parse_source(c.s, so);
    c.ok = c.s->diag.nerrors == 0 && check_program(c.s, c.prog);
    if (c.ok) {
        c.model = program_find_model(c.prog, NULL);
        c.ref = lower_model(c.s, c.model);
        passes_run(c.ref, "inline");
        c.opt = lower_model(c.s, c.model);
        passes_run(c.opt, NULL);
        c.kg = fuse_graph(c.opt);
    }
    boundary_pop(&b);
    return c;
}

static inline void compiled_free(Compiled *c) {
    session_release(c->s);
    free(c->s);
}

/* xorshift64*: deterministic and identical on every platform */
static inline uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}
static inline double rng_uniform(uint64_t *s, double lo, double hi) {
    return lo + (hi - lo) * (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* Weights for every learned tensor of the model, rounded to float (what a
 * safetensors file can hold): matrices uniform in +-scale*sqrt(3/K) (unit
 * variance of a dot product with unit-variance inputs, as trained networks
 * keep it), vectors in +-scale, norm weights in [0.5, 1.5]. */
typedef struct TestWeights {
    IrWeights w;
    double **bufs;
    int64_t (*shapes)[2];
} TestWeights;

static inline TestWeights make_weights(Decl *m, uint64_t seed, double scale) {
    TestWeights t = {0};
    int n = m->ntensors;
    t.w.count = n;
    t.w.names = calloc((size_t)n + 1, sizeof(char *));
    t.bufs = calloc((size_t)n + 1, sizeof(double *));
    t.shapes = calloc((size_t)n + 1, sizeof *t.shapes);
    t.w.data = (const double **)t.bufs;
    t.w.shape = (const int64_t(*)[2])t.shapes;
    uint64_t s = seed | 1;
    for (int i = 0; i < n; i++) {
        ParamTensor *p = &m->tensors[i];
        t.w.names[i] = p->name;
        t.shapes[i][0] = p->shape.dim[0];
        t.shapes[i][1] = p->shape.rank == 2 ? p->shape.dim[1] : 0;
        int64_t cnt = p->shape.dim[0] * (p->shape.rank == 2 ? p->shape.dim[1] : 1);
        t.bufs[i] = malloc(sizeof(double) * (size_t)cnt);
        bool is_norm = strstr(p->name, "norm") != NULL || (p->shape.rank == 1 && strstr(p->name, ".weight"));
        double a = p->shape.rank == 2 ? 2 * scale * sqrt(3.0 / (double)p->shape.dim[1]) : scale;
        for (int64_t j = 0; j < cnt; j++)
            t.bufs[i][j] = (float)(is_norm ? rng_uniform(&s, 0.5, 1.5) : rng_uniform(&s, -a, a));
    }
    return t;
}

static inline void free_weights(TestWeights *t) {
    for (int i = 0; i < t->w.count; i++)
        free(t->bufs[i]);
    free(t->bufs);
    free(t->shapes);
    free(t->w.names);
}

/* Run both interpreters on the same random inputs; return the largest
 * |fused - ref| / (1 + |ref|) over all outputs (NaN/inf must match exactly). */
static inline double compare_interpreters(Compiled *c, const TestWeights *w, int64_t batch, uint64_t seed) {
    Decl *m = c->model;
    uint64_t s = seed | 1;
    double **in = calloc((size_t)m->ninputs + 1, sizeof(double *));
    double **o1 = calloc((size_t)m->noutputs + 1, sizeof(double *));
    double **o2 = calloc((size_t)m->noutputs + 1, sizeof(double *));
    for (int i = 0; i < m->ninputs; i++) {
        int64_t n = shape_width(m->inputs[i].type->shape);
        cr_assert(n > 0);
        in[i] = malloc(sizeof(double) * (size_t)(batch * n));
        for (int64_t j = 0; j < batch * n; j++)
            in[i][j] = (float)rng_uniform(&s, -3, 3);
    }
    for (int i = 0; i < m->noutputs; i++) {
        int64_t n = shape_width(m->outputs[i].type->shape);
        cr_assert(n > 0);
        o1[i] = calloc((size_t)(batch * n), sizeof(double));
        o2[i] = calloc((size_t)(batch * n), sizeof(double));
    }
    char err[256] = "";
    Boundary b;
    cr_assert_eq(BOUNDARY_ENTER(&b), 0);
    int st1 = interp_graph(c->ref, &w->w, batch, (const double *const *)in, o1, err, sizeof err);
    cr_assert_eq(st1, ACTC_OK, "%s", err);
    int st2 = interp_kernels(c->kg, &w->w, batch, (const double *const *)in, o2, err, sizeof err);
    cr_assert_eq(st2, ACTC_OK, "%s", err);
    boundary_pop(&b);
    double worst = 0;
    for (int i = 0; i < m->noutputs; i++) {
        int64_t n = shape_width(m->outputs[i].type->shape);
        for (int64_t j = 0; j < batch * n; j++) {
            double r = o1[i][j], f = o2[i][j];
            if (isnan(r) || isnan(f) || isinf(r) || isinf(f)) {
                if (!((isnan(r) && isnan(f)) || r == f))
                    worst = INFINITY;
                continue;
            }
            double e = fabs(f - r) / (1 + fabs(r));
            if (e > worst)
                worst = e;
        }
        free(o1[i]);
        free(o2[i]);
    }
    for (int i = 0; i < m->ninputs; i++)
        free(in[i]);
    free(in);
    free(o1);
    free(o2);
    return worst;
}

#endif
