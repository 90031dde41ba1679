/*
 * acc.h — the accuracy harness (docs/accuracy.md): JIT-compiles every
 * builtin primitive, activation and gate for each ISA this machine runs,
 * evaluates them on f32 inputs and measures the error in f32 ULP against
 * the double-precision reference (refmath.c, itself checked against MPFR).
 * Shared by the actc-accuracy tool and tests/unit/test_vmath.c.
 */
#ifndef ACTC_ACC_H
#define ACTC_ACC_H

#include <stdbool.h>
#include <stdint.h>

#include "codegen/codegen.h"

enum { ACC_MAX_ISAS = 5 };

typedef struct AccFunc {
    const char *name;     /* "gelu", "elu(alpha=0.5)", "swiglu product", ... */
    Op op;
    double p[2];          /* constants, already rounded to f32 */
    bool primitive;       /* bound 1 ULP (else 4) */
    Op gate_act;          /* != OP_COUNT: a gate product act(a) * b over pairs */
} AccFunc;

/* The tiers of docs/accuracy.md (actc_options: none, fast_math, exact_math) */
enum { ACC_PRECISE, ACC_FAST, ACC_EXACT };

typedef struct AccIsa {
    const char *name;     /* "avx512", "avx2", "scalar", "sse4.2", "nofma" */
    Target target;
    Jit *jit;
    void *tracker;        /* the module's resource tracker, released by acc_free */
    void **fns;           /* per function: void f(const float *x, [const float *b,] float *y, int64_t n) */
} AccIsa;

/* Errors are in f32 ULP; in the fast tier (Acc.fast) max_ulp and sum_ulp
 * hold its normalised error instead: |y - ref| / |ref| where |ref| > 1e-5,
 * else |y - ref|; for a gate act(a)*b, that of act(a) times |b|
 * (docs/accuracy.md section 6).  (The layout is that of the
 * exhaustive sweep's state files: do not change it.) */
typedef struct AccStat {
    double max_ulp;
    float worst_x, worst_b;
    float worst_y;
    double worst_ref;
    double sum_ulp;
    uint64_t n;
    uint64_t special;     /* wrong NaN / inf / zero / sign where the reference is special */
    float special_x;
} AccStat;

typedef struct Acc {
    AccFunc *funcs;
    int nfuncs;
    AccIsa isas[ACC_MAX_ISAS];
    int nisas;
    int tier;             /* ACC_PRECISE, ACC_FAST or ACC_EXACT */
    bool fast;            /* tier == ACC_FAST */
} Acc;

/* The module of every function for one ISA's target, optimised (for
 * inspecting the generated code); the caller disposes it. */
int acc_build_module(CG *cg, const Target *t, int tier, char *err, size_t errlen);

/* Build every function for every ISA the host can run (or only `isa`), in
 * the tier given (ACC_*). */
int acc_init(Acc *a, const char *isa, int tier, char *err, size_t errlen);
/* Release the last ISA of a (the sweep of the state files leaves sse4.2 out). */
void acc_drop_last_isa(Acc *a);
void acc_free(Acc *a);

/* Error of y against the double reference, in f32 ULP; *special set when
 * the reference or the result is NaN, infinite or zero and they disagree. */
double acc_ulp_error(float y, double ref, bool *special);
/* The fast tier's normalised error (see AccStat); special as above. */
double acc_fast_error(float y, double ref, bool *special);
/* Function fi's bound: 1 ULP for primitives, 4 for activations; in the fast
 * tier 4e-6, or 4e-5 for the tanh family. */
double acc_bound(const Acc *a, int fi);
double acc_reference(const AccFunc *f, float x, float b);

/* Evaluate f on x[0..n) (and b[0..n) for gate products) for each ISA and
 * fold into stats[isa].  A gate product's error is docs/accuracy.md §1's:
 * (|y - A b| - ulp(A b) / 2) / (ulp(A) |b|), A the exact activation, in
 * ULP of A (2^-149 below FLT_MIN): within the activation's bound. */
void acc_run(Acc *a, int fi, const float *x, const float *b, int64_t n, AccStat *stats, float *scratch);
/* Fold outputs y[0..n) of unary function fi, computed elsewhere, into *st. */
void acc_fold(const Acc *a, int fi, const float *x, const float *y, int64_t n, AccStat *st);
/* The function table alone (no ISA built): a->funcs, a->nfuncs. */
void acc_init_table(Acc *a);

/* The edge table of issue 4: signed zeros, subnormals, FLT_MIN, 1, FLT_MAX,
 * inf, NaNs and the known tail points. */
extern const float acc_edges[];
extern const int acc_nedges;

#endif
