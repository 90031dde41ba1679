/*
 * test_interp.c — the reference interpreters on values worked out by hand:
 * a dense layer, split, where with a NaN condition, the row-wise ops; and
 * every activation op's limits at +-inf and NaN propagation through
 * ir_eval_op (the values at finite points are checked against MPFR in
 * test_refmath.c).
 */
#include <stdio.h>

#include "ir_helpers.h"

/* Evaluate a one-input model on given weights and input rows (both graphs). */
static void run(const char *src, const char **names, const double **data, const int64_t (*shape)[2], int nw,
                const double *in, int64_t batch, double *out_graph, double *out_kernels) {
    Compiled c = compile_string(src);
    cr_assert(c.ok, "%s", diag_render_text(&c.s->diag));
    IrWeights w = {nw, names, data, shape};
    char err[200];
    Boundary b;
    cr_assert_eq(BOUNDARY_ENTER(&b), 0);
    cr_assert_eq(interp_graph(c.ref, &w, batch, &in, &out_graph, err, sizeof err), ACTC_OK, "%s", err);
    cr_assert_eq(interp_kernels(c.kg, &w, batch, &in, &out_kernels, err, sizeof err), ACTC_OK, "%s", err);
    boundary_pop(&b);
    compiled_free(&c);
}

Test(interp, dense_relu_by_hand) {
    /* y = relu(x W^T + b), W = [[1, 2], [-1, 0.5], [0, -3]], b = [0.5, 0, 1] */
    const double W[] = {1, 2, -1, 0.5, 0, -3}, B[] = {0.5, 0, 1};
    const char *names[] = {"p.weight", "p.bias"};
    const double *data[] = {W, B};
    const int64_t shape[][2] = {{3, 2}, {3, 0}};
    const double x[] = {1, 1, -2, 4};
    double g[6], k[6];
    run("model m(x: f32[b, 2]) -> f32[b, 3] { return relu(dense(x, 3, name = \"p\")) }", names, data, shape, 2, x,
        2, g, k);
    const double want[] = {3.5, 0, 0, 6.5, 4, 0}; /* row 2: (6.5, 4, -11) */
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(g[i], want[i], "graph[%d] = %g", i, g[i]);
        cr_expect_eq(k[i], want[i], "kernels[%d] = %g", i, k[i]);
    }
}

Test(interp, split_halves_and_glu) {
    /* glu(t) = t[:, :2] * sigmoid(t[:, 2:]) with t = x (identity weights) */
    const double W[] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    const char *names[] = {"p.weight"};
    const double *data[] = {W};
    const int64_t shape[][2] = {{4, 4}};
    const double x[] = {2, -3, 0, 1e9};
    double g[2], k[2];
    run("model m(x: f32[b, 4]) -> f32[b, 2] { return glu(dense(x, 4, bias = false, name = \"p\")) }", names, data,
        shape, 1, x, 1, g, k);
    cr_expect_float_eq(g[0], 1.0, 1e-15); /* 2 * sigmoid(0) */
    cr_expect_float_eq(g[1], -3.0, 1e-15); /* -3 * sigmoid(1e9) */
    cr_expect_eq(k[0], g[0]);
    cr_expect_eq(k[1], g[1]);
}

Test(interp, where_with_nan_condition_takes_the_else_branch) {
    const double x[] = {NAN, 1, -1};
    double g[3], k[3];
    run("model m(x: f32[b, 3]) -> f32[b, 3] { return where(x > 0.0, x * 2, x - 10) }", NULL, NULL, NULL, 0, x, 1, g,
        k);
    cr_expect(isnan(g[0]) && isnan(k[0])); /* NaN > 0 is false: x - 10 = NaN */
    cr_expect_eq(g[1], 2);
    cr_expect_eq(g[2], -11);
    cr_expect_eq(k[1], 2);
    cr_expect_eq(k[2], -11);
}

Test(interp, row_ops_by_hand) {
    const double x[] = {1, 2, 3};
    double g[3], k[3];
    run("model m(x: f32[b, 3]) -> f32[b, 3] { return softmax(x) }", NULL, NULL, NULL, 0, x, 1, g, k);
    double e1 = exp(-2), e2 = exp(-1), s = e1 + e2 + 1;
    cr_expect_float_eq(g[0], e1 / s, 1e-16);
    cr_expect_float_eq(g[2], 1 / s, 1e-16);
    cr_expect_eq(k[0], g[0]);

    run("model m(x: f32[b, 3]) -> f32[b, 3] { return log_softmax(x) }", NULL, NULL, NULL, 0, x, 1, g, k);
    cr_expect_float_eq(g[0], -2 - log(s), 1e-15);

    /* layernorm: mean 2, biased variance 2/3; gamma = (1, 2, 1), beta = (0, 0, 1) */
    const double G[] = {1, 2, 1}, B[] = {0, 0, 1};
    const char *names[] = {"n.weight", "n.bias"};
    const double *data[] = {G, B};
    const int64_t shape[][2] = {{3, 0}, {3, 0}};
    run("model m(x: f32[b, 3]) -> f32[b, 3] { return layernorm(x, eps = 0.0001, name = \"n\") }", names, data,
        shape, 2, x, 1, g, k);
    double inv = 1 / sqrt(2.0 / 3 + 1e-4);
    cr_expect_float_eq(g[0], -inv, 1e-15);
    cr_expect_float_eq(g[1], 0, 1e-15);
    cr_expect_float_eq(g[2], inv + 1, 1e-15);
    cr_expect_eq(k[2], g[2]);

    /* rmsnorm: mean of squares 14/3 */
    run("model m(x: f32[b, 3]) -> f32[b, 3] { return rmsnorm(x, eps = 1e-300, name = \"n\") }", names, data, shape, 1,
        x, 1, g, k);
    double r = 1 / sqrt(14.0 / 3);
    cr_expect_float_eq(g[0], r, 1e-15);
    cr_expect_float_eq(g[1], 4 * r, 1e-15);
}

Test(interp, missing_and_misshaped_weights_are_errors) {
    Compiled c = compile_string("model m(x: f32[b, 2]) -> f32[b, 3] { return dense(x, 3, name = \"p\") }");
    const double W[6] = {0}, B[3] = {0};
    const char *names[] = {"p.weight", "p.bias"};
    const double *data[] = {W, B};
    const int64_t bad[][2] = {{2, 3}, {3, 0}};
    IrWeights w = {2, names, data, bad};
    double x[2] = {0}, y[3], *out = y;
    const double *in = x;
    char err[200];
    Boundary b;
    cr_assert_eq(BOUNDARY_ENTER(&b), 0);
    cr_expect_eq(interp_graph(c.ref, &w, 1, &in, &out, err, sizeof err), ACTC_ERR_WEIGHTS);
    cr_expect_str_eq(err, "weight 'p.weight' has shape [2, 3], expected [3, 2]");
    w.count = 0;
    cr_expect_eq(interp_kernels(c.kg, &w, 1, &in, &out, err, sizeof err), ACTC_ERR_WEIGHTS);
    cr_expect_str_eq(err, "missing weight 'p.weight'");
    boundary_pop(&b);
    compiled_free(&c);
}

/* Limits at -inf and +inf of every activation op, and NaN propagation.
 * A zero limit is checked with its sign where language.md §5 states it. */
typedef struct Limit {
    Op op;
    double p[2];
    double at_minus_inf, at_plus_inf;
    int minus_zero; /* 1: the -inf limit must be -0 */
} Limit;

Test(interp, activation_limits_and_nan) {
    const double inf = INFINITY;
    const Limit t[] = {
        {OP_RELU, {0}, 0, inf, 0},
        {OP_RELU6, {0}, 0, 6, 0},
        {OP_LEAKY_RELU, {0.01}, -inf, inf, 0},
        {OP_ELU, {1.0}, -1, inf, 0},
        {OP_SELU, {0}, -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717, inf, 0},
        {OP_CELU, {2.0}, -2, inf, 0},
        {OP_GELU, {0}, 0, inf, 1},
        {OP_GELU_TANH, {0}, 0, inf, 0},
        {OP_QUICK_GELU, {0}, 0, inf, 0},
        {OP_SILU, {0}, 0, inf, 1},
        {OP_SWISH, {1.5}, 0, inf, 0},
        {OP_MISH, {0}, 0, inf, 1},
        {OP_SOFTPLUS, {1, 20}, 0, inf, 0},
        {OP_SOFTSIGN, {0}, -1, 1, 0},
        {OP_SIGMOID, {0}, 0, 1, 0},
        {OP_HARDSIGMOID, {0}, 0, 1, 0},
        {OP_HARDSWISH, {0}, 0, inf, 0},
        {OP_HARDTANH, {-1, 1}, -1, 1, 0},
        {OP_TANH, {0}, -1, 1, 0},
        {OP_LOGSIGMOID, {0}, -inf, 0, 0},
        {OP_TANHSHRINK, {0}, -inf, inf, 0},
        {OP_SOFTSHRINK, {0.5}, -inf, inf, 0},
        {OP_HARDSHRINK, {0.5}, -inf, inf, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(t); i++) {
        const char *nm = op_info[t[i].op].name;
        double lo = ir_eval_op(t[i].op, t[i].p, -inf, 0, 0), hi = ir_eval_op(t[i].op, t[i].p, inf, 0, 0);
        cr_expect(lo == t[i].at_minus_inf || fabs(lo - t[i].at_minus_inf) <= 4e-16 * fabs(t[i].at_minus_inf),
                  "%s(-inf) = %.17g, expected %.17g", nm, lo, t[i].at_minus_inf);
        cr_expect(hi == t[i].at_plus_inf, "%s(+inf) = %g, expected %g", nm, hi, t[i].at_plus_inf);
        if (t[i].minus_zero)
            cr_expect(signbit(lo), "%s(-inf) must be -0", nm);
        cr_expect(isnan(ir_eval_op(t[i].op, t[i].p, NAN, 0, 0)), "%s(NaN) must be NaN", nm);
    }
    /* gates are products: NaN in either operand gives NaN */
    cr_expect(isnan(ir_eval_op(OP_MUL, NULL, NAN, 2, 0)));
    cr_expect(isnan(ir_eval_op(OP_MIN, NULL, NAN, 2, 0)));
    cr_expect(isnan(ir_eval_op(OP_MAX, NULL, 2, NAN, 0)));
    cr_expect(isnan(ir_eval_op(OP_CLAMP, (double[]){-1, 1}, NAN, 0, 0)));
    double w = 0.25;
    cr_expect(isnan(ir_eval_op(OP_PRELU, NULL, NAN, w, 0)));
    cr_expect_eq(ir_eval_op(OP_PRELU, NULL, -4, w, 0), -1);
}

/* Monte Carlo arithmetic: rel = 0 is the exact interpreter, bit for bit; at
 * rel = 2^-24 a well-conditioned output moves by a few u, and an output
 * computed by cancellation (x^3 - 0.5 at x near 0.5^(1/3)) by far more,
 * relative to its size -- the spread the JIT test uses as conditioning. */
Test(interp, monte_carlo_arithmetic_measures_conditioning) {
    const double W[] = {1, -1};
    const char *names[] = {"p.weight", "p.bias"};
    const double Bv[] = {0.25};
    const double *data[] = {W, Bv};
    const int64_t shape[][2] = {{1, 2}, {1, 0}};
    const char *src = "model m(x: f32[b, 2]) -> (y: f32[b, 1], z: f32[b, 2]) {\n"
                      "    return dense(x, 1, name = \"p\"), pow(x, 3) - 0.5\n}";
    Compiled c = compile_string(src);
    cr_assert(c.ok, "%s", diag_render_text(&c.s->diag));
    IrWeights w = {2, names, data, shape};
    const double x[] = {3, 1, 0.7937005259840998, 2}; /* 0.5^(1/3) to 16 digits */
    double y0[2], z0[4], y1[2], z1[4], ys[2] = {0}, zs[4] = {0};
    double *o0[] = {y0, z0}, *o1[] = {y1, z1};
    const double *in[] = {x};
    char err[200];
    Boundary b;
    cr_assert_eq(BOUNDARY_ENTER(&b), 0);
    cr_assert_eq(interp_kernels(c.kg, &w, 2, in, o0, err, sizeof err), ACTC_OK, "%s", err);
    cr_assert_eq(interp_kernels_mca(c.kg, &w, 2, in, o1, 0, 7, err, sizeof err), ACTC_OK, "%s", err);
    for (int i = 0; i < 2; i++)
        cr_expect_eq(y1[i], y0[i]);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(z1[i], z0[i]);
    for (uint64_t t = 0; t < 8; t++) {
        cr_assert_eq(interp_kernels_mca(c.kg, &w, 2, in, o1, 0x1p-24, t, err, sizeof err), ACTC_OK, "%s", err);
        for (int i = 0; i < 2; i++)
            ys[i] = fmax(ys[i], fabs(y1[i] - y0[i]) / fabs(y0[i]));
        for (int i = 0; i < 4; i++)
            zs[i] = fmax(zs[i], fabs(z1[i] - z0[i]) / fabs(z0[i]));
    }
    boundary_pop(&b);
    /* y = 3 - 1 + 0.25 and 0.7937 - 2 + 0.25: two FMA steps and a bias add */
    for (int i = 0; i < 2; i++)
        cr_expect(ys[i] > 0 && ys[i] < 8 * 0x1p-24, "y[%d] relative spread %g", i, ys[i]);
    /* z[1] = 1 - 0.5, z[3] = 8 - 0.5: benign; z[2] ~ 1e-17: the perturbations
     * of x^3 (~0.5 u) dwarf it */
    cr_expect(zs[1] < 8 * 0x1p-24 && zs[3] < 8 * 0x1p-24, "benign spreads %g %g", zs[1], zs[3]);
    cr_expect(zs[2] > 1e6 * 0x1p-24, "cancelling output: relative spread %g", zs[2]);
    compiled_free(&c);
}
