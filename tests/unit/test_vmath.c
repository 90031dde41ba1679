/*
 * test_vmath.c — the accuracy contract of cg_vmath.c (docs/accuracy.md),
 * for every ISA this machine runs (AVX-512, AVX2, scalar, SSE4.2 and scalar
 * without FMA):
 *   - 10^6 random f32 inputs (all exponents, signs, NaN, inf) plus the edge
 *     table per function: primitives within 1 ULP, activations and gate
 *     products within 4 ULP of the double reference, no special-value
 *     mismatch (NaN, +-inf, zero and its sign where the true result is);
 *   - NaN through every gate and clamp;
 *   - the generated code calls no library function;
 *   - the fast tier: its bound and the same special values;
 *   - the exact tier (--exact): within 0.51 ULP.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "acc.h"

static Acc acc;
static Boundary bd;

/* every tier's harness is built and released the same way */
static void open_tier(Acc *a, int tier) {
    char err[512];
    cr_assert_eq(BOUNDARY_ENTER(&bd), 0, "%s", bd.message);
    cr_assert_eq(acc_init(a, NULL, tier, err, sizeof err), ACTC_OK, "%s", err);
}

static void close_tier(Acc *a) {
    acc_free(a);
    boundary_pop(&bd);
}

static void setup(void) { open_tier(&acc, ACC_PRECISE); }
static void teardown(void) { close_tier(&acc); }

static uint64_t rng = 88172645463325252ull;
static uint32_t next_bits(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

Test(vmath, sampled_bounds_every_function_and_isa, .init = setup, .fini = teardown, .timeout = 300) {
    enum { N = 1000000 };
    static float x[N], b[N], y[N];
    for (int fi = 0; fi < acc.nfuncs; fi++) {
        AccStat st[ACC_MAX_ISAS] = {0};
        for (int i = 0; i < N; i++) {
            uint32_t u = next_bits(), v = next_bits();
            memcpy(&x[i], &u, 4);
            b[i] = (v & 3) ? (float)(int32_t)v * 0x1p-28f : 0;
            if (!(v & 3))
                memcpy(&b[i], &v, 4);
        }
        for (int i = 0; i < acc_nedges; i++)
            x[i] = acc_edges[i];
        acc_run(&acc, fi, x, b, N, st, y);
        double bound = acc.funcs[fi].primitive ? 1.0 : 4.0;
        for (int s = 0; s < acc.nisas; s++) {
            cr_expect_leq(st[s].max_ulp, bound, "%s on %s: %.3f ULP at x = %.9g (b = %.9g): got %.9g, reference %.17g",
                          acc.funcs[fi].name, acc.isas[s].name, st[s].max_ulp, st[s].worst_x, st[s].worst_b,
                          st[s].worst_y, st[s].worst_ref);
            cr_expect_eq(st[s].special, 0, "%s on %s: %llu special-value mismatches, first at x = %.9g",
                         acc.funcs[fi].name, acc.isas[s].name, (unsigned long long)st[s].special, st[s].special_x);
        }
    }
}

Test(vmath, special_values_table, .init = setup, .fini = teardown) {
    /* every edge against every edge (gates), for each function and ISA */
    enum { M = 64 * 64 };
    static float x[M], b[M], y[M];
    int n = 0;
    for (int i = 0; i < acc_nedges; i++)
        for (int j = 0; j < acc_nedges && n < M; j++, n++)
            x[n] = acc_edges[i], b[n] = acc_edges[j];
    for (int fi = 0; fi < acc.nfuncs; fi++) {
        AccStat st[ACC_MAX_ISAS] = {0};
        acc_run(&acc, fi, x, b, n, st, y);
        for (int s = 0; s < acc.nisas; s++)
            cr_expect_eq(st[s].special, 0, "%s on %s: special mismatch at x = %.9g", acc.funcs[fi].name,
                         acc.isas[s].name, st[s].special_x);
    }
}

Test(vmath, nan_propagates_through_gates_and_clamps, .init = setup, .fini = teardown) {
    float a[4] = {NAN, 1.5f, NAN, -2.0f}, b[4] = {2.0f, NAN, NAN, 0.0f}, y[4];
    for (int fi = 0; fi < acc.nfuncs; fi++) {
        const AccFunc *f = &acc.funcs[fi];
        bool gate = f->gate_act != OP_COUNT;
        bool clamp = f->op == OP_HARDTANH || f->op == OP_CLAMP || f->op == OP_RELU6 || f->op == OP_RELU;
        if (!gate && !clamp)
            continue;
        for (int s = 0; s < acc.nisas; s++) {
            if (gate)
                ((void (*)(const float *, const float *, float *, int64_t))acc.isas[s].fns[fi])(a, b, y, 4);
            else
                ((void (*)(const float *, float *, int64_t))acc.isas[s].fns[fi])(a, y, 4);
            cr_expect(isnan(y[0]), "%s on %s: NaN operand a gave %g", f->name, acc.isas[s].name, y[0]);
            if (gate) {
                cr_expect(isnan(y[1]), "%s on %s: NaN operand b gave %g", f->name, acc.isas[s].name, y[1]);
                cr_expect(isnan(y[2]), "%s on %s", f->name, acc.isas[s].name);
            }
        }
    }
}

Test(vmath, generated_code_calls_no_library_function, .init = setup, .fini = teardown) {
    for (int s = 0; s < acc.nisas; s++) {
        CG cg;
        char err[512];
        cr_assert_eq(acc_build_module(&cg, &acc.isas[s].target, ACC_PRECISE, err, sizeof err), ACTC_OK, "%s", err);
        Arena a = {0};
        const char *asm_text = cg_print_asm(&cg, &a);
        cr_assert(asm_text);
        const char *call = strstr(asm_text, "\tcall");
        cr_expect_null(call, "%s: the generated code calls a function: %.80s", acc.isas[s].name, call);
        cr_expect(strstr(asm_text, s == 0 && acc.isas[s].target.vlen == 16 ? "zmm" : "") != NULL);
        arena_free(&a);
        cg_dispose(&cg);
    }
}

/* ---- the fast tier (--fast-math, docs/accuracy.md section 6): its own
 * bound (4e-6 relative where |ref| > 1e-5, else absolute; 4e-5 for the
 * tanh family; gate products: the activated part's error times |b|), and
 * the same special values as the precise tier: the edge table against
 * itself and 2^18 random inputs per function and ISA.  Findings kept
 * here: tanh(-0) was +0 (the odd polynomial times a negative coefficient),
 * sigmoid(-89) * inf was NaN (1/(1 + exp(89)) flushed to 0). ---- */

static Acc fast;

static void setup_fast(void) { open_tier(&fast, ACC_FAST); }
static void teardown_fast(void) { close_tier(&fast); }

Test(vmath, fast_tier_bounds_and_special_values, .init = setup_fast, .fini = teardown_fast, .timeout = 300) {
    enum { N = 1 << 18, M = 64 * 64 };
    static float x[N], b[N], y[N];
    for (int fi = 0; fi < fast.nfuncs; fi++) {
        AccStat st[ACC_MAX_ISAS] = {0};
        int n = 0;
        for (int i = 0; i < acc_nedges; i++)
            for (int j = 0; j < acc_nedges && n < M; j++, n++)
                x[n] = acc_edges[i], b[n] = acc_edges[j];
        for (; n < N; n++) {
            uint32_t u = next_bits(), v = next_bits();
            memcpy(&x[n], &u, 4);
            b[n] = (v & 3) ? (float)(int32_t)v * 0x1p-28f : 0;
            if (!(v & 3))
                memcpy(&b[n], &v, 4);
            if (n % 2) /* half of them where activations are not trivial */
                x[n] = (float)(int32_t)u * 0x1p-27f;
        }
        acc_run(&fast, fi, x, b, N, st, y);
        double bound = acc_bound(&fast, fi);
        for (int s = 0; s < fast.nisas; s++) {
            cr_expect_leq(st[s].max_ulp, bound, "fast %s on %s: error %.3g at x = %.9g (b = %.9g): got %.9g, reference %.17g",
                          fast.funcs[fi].name, fast.isas[s].name, st[s].max_ulp, st[s].worst_x, st[s].worst_b,
                          st[s].worst_y, st[s].worst_ref);
            cr_expect_eq(st[s].special, 0, "fast %s on %s: %llu special-value mismatches, first at x = %.9g",
                         fast.funcs[fi].name, fast.isas[s].name, (unsigned long long)st[s].special, st[s].special_x);
        }
    }
}

/* ---- the exact tier (--exact, docs/accuracy.md §2.2): the f64 code, whose
 * published figure is 0.51 ULP for every builtin (0.500 for the
 * primitives, 0.508 for tanhshrink on all 2^32 inputs), 2^18 samples per
 * function and ISA plus the edge table; gates in ULP of the activation. ---- */

static Acc exact;

static void setup_exact(void) { open_tier(&exact, ACC_EXACT); }
static void teardown_exact(void) { close_tier(&exact); }

Test(vmath, exact_tier_within_half_an_ulp, .init = setup_exact, .fini = teardown_exact, .timeout = 300) {
    enum { N = 1 << 18 };
    static float x[N], b[N], y[N];
    for (int fi = 0; fi < exact.nfuncs; fi++) {
        AccStat st[ACC_MAX_ISAS] = {0};
        for (int i = 0; i < N; i++) {
            uint32_t u = next_bits(), v = next_bits();
            memcpy(&x[i], &u, 4);
            if (i % 2) /* half of them where activations are not trivial */
                x[i] = (float)(int32_t)u * 0x1p-27f;
            b[i] = (float)(int32_t)v * 0x1p-28f;
        }
        for (int i = 0; i < acc_nedges; i++)
            x[i] = acc_edges[i];
        acc_run(&exact, fi, x, b, N, st, y);
        for (int s = 0; s < exact.nisas; s++) {
            cr_expect_leq(st[s].max_ulp, 0.51, "exact %s on %s: %.3f ULP at x = %.9g (b = %.9g)", exact.funcs[fi].name,
                          exact.isas[s].name, st[s].max_ulp, st[s].worst_x, st[s].worst_b);
            cr_expect_eq(st[s].special, 0, "exact %s on %s: %llu special-value mismatches, first at x = %.9g",
                         exact.funcs[fi].name, exact.isas[s].name, (unsigned long long)st[s].special, st[s].special_x);
        }
    }
}
