/*
 * test_refmath.c — the reference interpreter's scalar math (ir/refmath.c)
 * against independent values: MPFR at 200 bits (more for tanhshrink's
 * cancellation) for finite points, hard-coded exact values for NaN, ±inf,
 * signed zeros and piecewise-linear functions.  Every primitive, activation
 * and gate is checked at a negative value, zero, a large value, NaN and
 * ±inf, plus a seeded sweep of 150 points per function and range.  The
 * tolerance is 4e-16 relative (about two ULP) except where tol() says why.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <mpfr.h>
#include <stdint.h>

#include "ir/refmath.h"

#define PREC 200
/* Relative tolerance.  refmath rounds once after its libm call (exp, expm1,
 * log1p, erf: glibc is within 1 ULP there), and a 100,000-point run of the
 * sweep below (glibc 2.36, x86-64) found every function within 1 ULP of the
 * correctly rounded value except those listed in tol().  One ULP is at most
 * 2^-52 = 2.2e-16 relative. */
#define REL_TOL 4e-16
#define TOL_2ULP 4.5e-16 /* 2 ULP <= 2^-51 relative */
#define TOL_3ULP 6.7e-16
#define TOL_4ULP 9e-16

/* Tolerance per builtin, from the same sweep (numbers are ULP from the
 * correctly rounded result). */
static double tol(BuiltinId id) {
    switch (id) {
    case BI_ERFC: /* glibc's erfc: 3 ULP (x = 1.1789219178422883) */
    case BI_GELU: /* erfc's 3 ULP carried through (x = -10.273939976652585) */
        return TOL_3ULP;
    case BI_GEGLU: /* gelu's 3 ULP, then the product with b rounds */
        return TOL_4ULP;
    case BI_TANH:     /* glibc's tanh: 2 ULP (x = -0.34836176758738535) */
    case BI_SOFTPLUS: /* exp and log1p both round before / beta: 2 ULP */
    case BI_CELU:     /* expm1, then alpha * (...): 2 ULP */
    case BI_GLU:      /* gates: a 1-ULP activation, then the product with b */
    case BI_GEGLU_TANH:
    case BI_SWIGLU:
        return TOL_2ULP;
    default:
        return REL_TOL;
    }
}

/* XS(a, b, ...) expands to an array of points and its length. */
#define XS(...)                                                                \
    (const double[]){__VA_ARGS__}, sizeof((const double[]){__VA_ARGS__}) / sizeof(double)
#define PS(...) ((const double[]){__VA_ARGS__})

/* ---- MPFR references ---- */

/* r = 1 / (1 + exp(-z)) */
static void mp_sigmoid(mpfr_t r, const mpfr_t z) {
    mpfr_neg(r, z, MPFR_RNDN);
    mpfr_exp(r, r, MPFR_RNDN);
    mpfr_add_ui(r, r, 1, MPFR_RNDN);
    mpfr_ui_div(r, 1, r, MPFR_RNDN);
}

/* r = x * sigmoid(c * x) with c given as a decimal string */
static void mp_x_sigmoid(mpfr_t r, const mpfr_t x, const char *c) {
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(r));
    mpfr_set_str(t, c, 10, MPFR_RNDN);
    mpfr_mul(t, t, x, MPFR_RNDN);
    mp_sigmoid(t, t);
    mpfr_mul(r, t, x, MPFR_RNDN);
    mpfr_clear(t);
}

/* r = x/2 * erfc(-x / sqrt(2)) */
static void mp_gelu(mpfr_t r, const mpfr_t x) {
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(r));
    mpfr_sqrt_ui(t, 2, MPFR_RNDN);
    mpfr_div(t, x, t, MPFR_RNDN);
    mpfr_neg(t, t, MPFR_RNDN);
    mpfr_erfc(t, t, MPFR_RNDN);
    mpfr_mul(t, t, x, MPFR_RNDN);
    mpfr_div_2ui(r, t, 1, MPFR_RNDN);
    mpfr_clear(t);
}

/* r = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), evaluated through
 * the identity 1 + tanh(u) = 2 / (1 + exp(-2u)), which does not cancel. */
static void mp_gelu_tanh(mpfr_t r, const mpfr_t x) {
    mpfr_t u, k;
    mpfr_inits2(mpfr_get_prec(r), u, k, (mpfr_ptr)0);
    mpfr_pow_ui(u, x, 3, MPFR_RNDN);
    mpfr_set_str(k, "0.044715", 10, MPFR_RNDN);
    mpfr_mul(u, u, k, MPFR_RNDN);
    mpfr_add(u, u, x, MPFR_RNDN);
    mpfr_const_pi(k, MPFR_RNDN);
    mpfr_ui_div(k, 8, k, MPFR_RNDN);
    mpfr_sqrt(k, k, MPFR_RNDN); /* 2 sqrt(2/pi) */
    mpfr_mul(u, u, k, MPFR_RNDN);
    mp_sigmoid(u, u);
    mpfr_mul(r, u, x, MPFR_RNDN);
    mpfr_clears(u, k, (mpfr_ptr)0);
}

/* r = log1p(exp(z)) */
static void mp_softplus1(mpfr_t r, const mpfr_t z) {
    mpfr_exp(r, z, MPFR_RNDN);
    mpfr_log1p(r, r, MPFR_RNDN);
}

/* r = relu6(x + 3) / 6 */
static void mp_hardsigmoid(mpfr_t r, const mpfr_t x) {
    mpfr_add_ui(r, x, 3, MPFR_RNDN);
    if (mpfr_cmp_ui(r, 0) < 0)
        mpfr_set_ui(r, 0, MPFR_RNDN);
    if (mpfr_cmp_ui(r, 6) > 0)
        mpfr_set_ui(r, 6, MPFR_RNDN);
    mpfr_div_ui(r, r, 6, MPFR_RNDN);
}

/* r = alpha * expm1(x / alpha), the negative branch of elu and celu */
static void mp_elu_neg(mpfr_t r, const mpfr_t x, const mpfr_t alpha) {
    mpfr_div(r, x, alpha, MPFR_RNDN);
    mpfr_expm1(r, r, MPFR_RNDN);
    mpfr_mul(r, r, alpha, MPFR_RNDN);
}

/* The activations, each from its torch.nn.functional definition. */
static void mp_activation(BuiltinId id, mpfr_t r, const mpfr_t X, const double *p) {
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(r));
    switch (id) {
    case BI_SIGMOID: mp_sigmoid(r, X); break;
    case BI_ELU:
    case BI_CELU:
        mpfr_set_d(t, id == BI_ELU ? 1.0 : p[0], MPFR_RNDN);
        mp_elu_neg(r, X, t);
        if (id == BI_ELU)
            mpfr_mul_d(r, r, p[0], MPFR_RNDN);
        if (mpfr_sgn(X) > 0)
            mpfr_set(r, X, MPFR_RNDN);
        break;
    case BI_SELU:
        mpfr_set_str(t, "1.6732632423543772848170429916717", 10, MPFR_RNDN);
        mpfr_expm1(r, X, MPFR_RNDN);
        mpfr_mul(r, r, t, MPFR_RNDN);
        if (mpfr_sgn(X) > 0)
            mpfr_set(r, X, MPFR_RNDN);
        mpfr_set_str(t, "1.0507009873554804934193349852946", 10, MPFR_RNDN);
        mpfr_mul(r, r, t, MPFR_RNDN);
        break;
    case BI_GELU: mp_gelu(r, X); break;
    case BI_GELU_TANH: mp_gelu_tanh(r, X); break;
    case BI_QUICK_GELU: mp_x_sigmoid(r, X, "1.702"); break;
    case BI_SILU: mp_x_sigmoid(r, X, "1"); break;
    case BI_SWISH:
        mpfr_mul_d(t, X, p[0], MPFR_RNDN);
        mp_sigmoid(t, t);
        mpfr_mul(r, t, X, MPFR_RNDN);
        break;
    case BI_MISH:
        mp_softplus1(t, X);
        mpfr_tanh(t, t, MPFR_RNDN);
        mpfr_mul(r, t, X, MPFR_RNDN);
        break;
    case BI_SOFTPLUS: /* PyTorch: x where beta x > threshold */
        mpfr_mul_d(t, X, p[0], MPFR_RNDN);
        if (mpfr_cmp_d(t, p[1]) > 0) {
            mpfr_set(r, X, MPFR_RNDN);
        } else {
            mp_softplus1(r, t);
            mpfr_div_d(r, r, p[0], MPFR_RNDN);
        }
        break;
    case BI_SOFTSIGN:
        mpfr_abs(t, X, MPFR_RNDN);
        mpfr_add_ui(t, t, 1, MPFR_RNDN);
        mpfr_div(r, X, t, MPFR_RNDN);
        break;
    case BI_HARDSIGMOID: mp_hardsigmoid(r, X); break;
    case BI_HARDSWISH:
        mp_hardsigmoid(t, X);
        mpfr_mul(r, t, X, MPFR_RNDN);
        break;
    case BI_LOGSIGMOID: /* -log1p(exp(-x)) */
        mpfr_neg(t, X, MPFR_RNDN);
        mp_softplus1(r, t);
        mpfr_neg(r, r, MPFR_RNDN);
        break;
    case BI_TANHSHRINK:
        mpfr_tanh(t, X, MPFR_RNDN);
        mpfr_sub(r, X, t, MPFR_RNDN);
        break;
    default: cr_assert_fail("no MPFR reference for builtin %d", (int)id);
    }
    mpfr_clear(t);
}

/* id(x) from MPFR, rounded to double. */
static double mp_unary(BuiltinId id, double x, const double *p) {
    mpfr_prec_t prec = PREC;
    int ex = 0;
    frexp(x, &ex);
    if (id == BI_TANHSHRINK && ex < 0) /* x - tanh x ~ x^3/3 loses 2*|ex| bits */
        prec += 3 * (mpfr_prec_t)-ex;
    mpfr_t r, X;
    mpfr_inits2(prec, r, X, (mpfr_ptr)0);
    mpfr_set_d(X, x, MPFR_RNDN);
    switch (id) {
    case BI_EXP: mpfr_exp(r, X, MPFR_RNDN); break;
    case BI_EXPM1: mpfr_expm1(r, X, MPFR_RNDN); break;
    case BI_LOG: mpfr_log(r, X, MPFR_RNDN); break;
    case BI_LOG1P: mpfr_log1p(r, X, MPFR_RNDN); break;
    case BI_SQRT: mpfr_sqrt(r, X, MPFR_RNDN); break;
    case BI_RSQRT: mpfr_rec_sqrt(r, X, MPFR_RNDN); break;
    case BI_TANH: mpfr_tanh(r, X, MPFR_RNDN); break;
    case BI_ERF: mpfr_erf(r, X, MPFR_RNDN); break;
    case BI_ERFC: mpfr_erfc(r, X, MPFR_RNDN); break;
    case BI_POW: {
        mpfr_t e;
        mpfr_init2(e, prec);
        mpfr_set_d(e, p[0], MPFR_RNDN);
        mpfr_pow(r, X, e, MPFR_RNDN);
        mpfr_clear(e);
        break;
    }
    default: mp_activation(id, r, X, p); break;
    }
    double d = mpfr_get_d(r, MPFR_RNDN);
    mpfr_clears(r, X, (mpfr_ptr)0);
    return d;
}

/* act(a) * b for a gate, from MPFR. */
static double mp_gate(BuiltinId id, double a, double b) {
    mpfr_t r, A;
    mpfr_inits2(PREC, r, A, (mpfr_ptr)0);
    mpfr_set_d(A, a, MPFR_RNDN);
    switch (id) {
    case BI_GLU: mp_sigmoid(r, A); break;
    case BI_BILINEAR: mpfr_set(r, A, MPFR_RNDN); break;
    case BI_REGLU:
        mpfr_set(r, A, MPFR_RNDN);
        if (mpfr_sgn(r) < 0)
            mpfr_set_ui(r, 0, MPFR_RNDN);
        break;
    case BI_GEGLU: mp_gelu(r, A); break;
    case BI_GEGLU_TANH: mp_gelu_tanh(r, A); break;
    case BI_SWIGLU: mp_x_sigmoid(r, A, "1"); break;
    default: cr_assert_fail("not a gate: %d", (int)id);
    }
    mpfr_mul_d(r, r, b, MPFR_RNDN);
    double d = mpfr_get_d(r, MPFR_RNDN);
    mpfr_clears(r, A, (mpfr_ptr)0);
    return d;
}

/* ---- comparisons ---- */

static const char *bname(BuiltinId id) { return builtin_get(id)->name; }

/* got within tol(id) of want (want finite and normal, or exactly 0). */
static bool close_rel(BuiltinId id, double got, double want) {
    if (want == 0 || isinf(want))
        return got == want;
    return fabs(got - want) <= tol(id) * fabs(want);
}

/* Bitwise-meaningful equality: NaN matches NaN, zeros must agree in sign. */
static bool same(double got, double want) {
    if (isnan(want))
        return isnan(got);
    return got == want && signbit(got) == signbit(want);
}

static void check_mp(BuiltinId id, const double *p, const double *xs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double got = ref_unary(id, xs[i], p), want = mp_unary(id, xs[i], p);
        cr_expect(close_rel(id, got, want), "%s(%.17g) = %.17g, MPFR %.17g (rel %.3g)", bname(id),
                  xs[i], got, want, fabs(got - want) / fabs(want));
    }
}

/* Exact expectations: special values and piecewise-linear functions. */
static void check_exact(BuiltinId id, const double *p, double x, double want) {
    double got = ref_unary(id, x, p);
    cr_expect(same(got, want), "%s(%.17g) = %.17g, expected %.17g", bname(id), x, got, want);
}

/* NaN, +inf and -inf for a unary function. */
static void check_specials(BuiltinId id, const double *p, double at_pinf, double at_ninf) {
    check_exact(id, p, NAN, NAN);
    check_exact(id, p, INFINITY, at_pinf);
    check_exact(id, p, -INFINITY, at_ninf);
}

static void check_gate_mp(BuiltinId id, const double *ab, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) {
        double got = ref_gate(id, ab[i], ab[i + 1]), want = mp_gate(id, ab[i], ab[i + 1]);
        cr_expect(close_rel(id, got, want), "%s(%.17g, %.17g) = %.17g, MPFR %.17g", bname(id),
                  ab[i], ab[i + 1], got, want);
    }
}

static void check_gate_exact(BuiltinId id, double a, double b, double want) {
    double got = ref_gate(id, a, b);
    cr_expect(same(got, want), "%s(%.17g, %.17g) = %.17g, expected %.17g", bname(id), a, b,
              got, want);
}

/* ---- primitives ---- */

Test(refmath, exp) {
    check_mp(BI_EXP, NULL, XS(-700.5, -1.5, -1e-300, 0.0, 1e-10, 0.693, 1.0, 709.5));
    check_specials(BI_EXP, NULL, INFINITY, 0.0);
    check_exact(BI_EXP, NULL, 710.0, INFINITY);
}

Test(refmath, expm1) {
    check_mp(BI_EXPM1, NULL, XS(-40.0, -1.5, -1e-20, 1e-20, 0.3, 1.0, 709.0));
    check_exact(BI_EXPM1, NULL, -0.0, -0.0);
    check_specials(BI_EXPM1, NULL, INFINITY, -1.0);
}

Test(refmath, log) {
    check_mp(BI_LOG, NULL, XS(1e-300, 0.5, 0.999999, 1.000001, 2.0, 1e300, 5e-324));
    check_exact(BI_LOG, NULL, 1.0, 0.0);
    check_exact(BI_LOG, NULL, 0.0, -INFINITY);
    check_exact(BI_LOG, NULL, -1.0, NAN);
    check_specials(BI_LOG, NULL, INFINITY, NAN);
}

Test(refmath, log1p) {
    check_mp(BI_LOG1P, NULL, XS(-0.999999, -0.5, -1e-20, 1e-20, 0.5, 3.0, 1e300));
    check_exact(BI_LOG1P, NULL, 0.0, 0.0);
    check_exact(BI_LOG1P, NULL, -1.0, -INFINITY);
    check_exact(BI_LOG1P, NULL, -2.0, NAN);
    check_specials(BI_LOG1P, NULL, INFINITY, NAN);
}

Test(refmath, sqrt) {
    check_mp(BI_SQRT, NULL, XS(5e-324, 1e-300, 0.5, 2.0, 3.0, 1e300));
    check_exact(BI_SQRT, NULL, 0.0, 0.0);
    check_exact(BI_SQRT, NULL, -0.0, -0.0);
    check_exact(BI_SQRT, NULL, 4.0, 2.0);
    check_exact(BI_SQRT, NULL, -1.0, NAN);
    check_specials(BI_SQRT, NULL, INFINITY, NAN);
}

Test(refmath, rsqrt) {
    check_mp(BI_RSQRT, NULL, XS(1e-300, 0.5, 2.0, 3.0, 7.0, 1e300));
    check_exact(BI_RSQRT, NULL, 4.0, 0.5);
    check_exact(BI_RSQRT, NULL, 0.0, INFINITY);
    check_exact(BI_RSQRT, NULL, -0.0, -INFINITY); /* 1 / sqrt(-0) = 1 / -0, as torch */
    check_exact(BI_RSQRT, NULL, -1.0, NAN);
    check_specials(BI_RSQRT, NULL, 0.0, NAN);
}

Test(refmath, abs) {
    check_exact(BI_ABS, NULL, -2.5, 2.5);
    check_exact(BI_ABS, NULL, -0.0, 0.0);
    check_exact(BI_ABS, NULL, 3.0, 3.0);
    check_exact(BI_ABS, NULL, -1e308, 1e308);
    check_specials(BI_ABS, NULL, INFINITY, INFINITY);
}

Test(refmath, tanh) {
    check_mp(BI_TANH, NULL, XS(-20.0, -0.7, -1e-10, 1e-300, 0.3, 1.5, 18.0));
    check_exact(BI_TANH, NULL, -0.0, -0.0);
    check_exact(BI_TANH, NULL, 1e300, 1.0);
    check_specials(BI_TANH, NULL, 1.0, -1.0);
}

Test(refmath, sigmoid) {
    check_mp(BI_SIGMOID, NULL, XS(-708.0, -700.0, -30.0, -1.0, -1e-20, 0.5, 3.0, 36.0));
    check_exact(BI_SIGMOID, NULL, 0.0, 0.5);
    check_exact(BI_SIGMOID, NULL, -1e308, 0.0);
    check_exact(BI_SIGMOID, NULL, 1e308, 1.0);
    check_specials(BI_SIGMOID, NULL, 1.0, 0.0);
}

Test(refmath, erf) {
    check_mp(BI_ERF, NULL, XS(-5.0, -0.5, -1e-300, 1e-10, 0.9, 2.0, 5.5));
    check_exact(BI_ERF, NULL, 0.0, 0.0);
    check_exact(BI_ERF, NULL, -0.0, -0.0);
    check_exact(BI_ERF, NULL, 1e300, 1.0);
    check_specials(BI_ERF, NULL, 1.0, -1.0);
}

Test(refmath, erfc) {
    check_mp(BI_ERFC, NULL, XS(-5.0, -0.5, 0.0, 1e-10, 0.9, 3.0, 10.0, 26.0));
    check_exact(BI_ERFC, NULL, -1e300, 2.0);
    check_exact(BI_ERFC, NULL, 1e300, 0.0);
    check_specials(BI_ERFC, NULL, 0.0, 2.0);
}

Test(refmath, clamp) {
    const double *p = PS(-1.5, 2.0);
    check_exact(BI_CLAMP, p, -3.0, -1.5);
    check_exact(BI_CLAMP, p, 0.25, 0.25);
    check_exact(BI_CLAMP, p, -0.0, -0.0);
    check_exact(BI_CLAMP, p, 1e308, 2.0);
    check_specials(BI_CLAMP, p, 2.0, -1.5);
    check_exact(BI_CLAMP, PS(3.0, 1.0), 2.0, 1.0); /* min > max: torch gives max */
    check_exact(BI_CLAMP, PS(0.0, 1.0), -0.0, 0.0);  /* -0 orders below +0 */
}

Test(refmath, pow) {
    check_mp(BI_POW, PS(2.5), XS(1e-100, 0.3, 2.0, 7.0, 1e100));
    check_mp(BI_POW, PS(3.0), XS(-7.5, -1e-50, 1.1, 1e100));
    check_mp(BI_POW, PS(-0.5), XS(1e-300, 0.5, 3.0, 1e300));
    check_exact(BI_POW, PS(2.0), 0.0, 0.0);
    check_exact(BI_POW, PS(2.0), -3.0, 9.0);
    check_exact(BI_POW, PS(2.5), -1.0, NAN);
    check_exact(BI_POW, PS(0.0), NAN, 1.0); /* C and torch: x^0 = 1, even for NaN */
    check_specials(BI_POW, PS(3.0), INFINITY, -INFINITY);
    check_specials(BI_POW, PS(-1.0), 0.0, -0.0);
}

Test(refmath, min_max) {
    const struct { double a, b, mn, mx; } c[] = {
        {1.0, 2.0, 1.0, 2.0},
        {-3.0, -1e308, -1e308, -3.0},
        {-0.0, 0.0, -0.0, 0.0},
        {0.0, -0.0, -0.0, 0.0},
        {NAN, 1.0, NAN, NAN},
        {1.0, NAN, NAN, NAN},
        {-INFINITY, 5.0, -INFINITY, 5.0},
        {INFINITY, -INFINITY, -INFINITY, INFINITY},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        double mn = ref_binary(BI_MIN, c[i].a, c[i].b), mx = ref_binary(BI_MAX, c[i].a, c[i].b);
        cr_expect(same(mn, c[i].mn), "min(%g, %g) = %g", c[i].a, c[i].b, mn);
        cr_expect(same(mx, c[i].mx), "max(%g, %g) = %g", c[i].a, c[i].b, mx);
    }
    cr_expect(isnan(ref_binary(BI_EXP, 1.0, 2.0)));
}

/* ---- piecewise-linear activations: exact values ---- */

Test(refmath, relu) {
    check_exact(BI_RELU, NULL, -2.0, 0.0);
    check_exact(BI_RELU, NULL, -0.0, 0.0); /* relu(-0) = +0 */
    check_exact(BI_RELU, NULL, 0.0, 0.0);
    check_exact(BI_RELU, NULL, 3.5, 3.5);
    check_exact(BI_RELU, NULL, 1e308, 1e308);
    check_specials(BI_RELU, NULL, INFINITY, 0.0); /* relu(NaN) = NaN as in torch */
}

Test(refmath, relu6) {
    check_exact(BI_RELU6, NULL, -2.0, 0.0);
    check_exact(BI_RELU6, NULL, 0.0, 0.0);
    check_exact(BI_RELU6, NULL, 5.5, 5.5);
    check_exact(BI_RELU6, NULL, 6.5, 6.0);
    check_exact(BI_RELU6, NULL, 1e308, 6.0);
    check_specials(BI_RELU6, NULL, 6.0, 0.0);
}

Test(refmath, leaky_relu_prelu) {
    for (BuiltinId id = BI_LEAKY_RELU; id <= BI_PRELU; id++) {
        check_exact(id, PS(0.01), -2.0, -2.0 * 0.01);
        check_exact(id, PS(0.01), -0.0, -0.0);
        check_exact(id, PS(0.01), 0.0, 0.0);
        check_exact(id, PS(0.01), 1e308, 1e308);
        check_exact(id, PS(0.25), -1e308, -0.25e308);
        check_exact(id, PS(-0.5), -3.0, 1.5);
        check_specials(id, PS(0.01), INFINITY, -INFINITY);
        check_specials(id, PS(0.0), INFINITY, -0.0); /* the limit, not inf * 0 */
    }
}

Test(refmath, hardtanh) {
    const double *p = PS(-1.0, 1.0);
    check_exact(BI_HARDTANH, p, -2.0, -1.0);
    check_exact(BI_HARDTANH, p, 0.0, 0.0);
    check_exact(BI_HARDTANH, p, 0.75, 0.75);
    check_exact(BI_HARDTANH, p, 1e308, 1.0);
    check_specials(BI_HARDTANH, p, 1.0, -1.0);
    check_exact(BI_HARDTANH, PS(-2.0, 3.0), 2.5, 2.5);
}

Test(refmath, softshrink) {
    const double *p = PS(0.5);
    check_exact(BI_SOFTSHRINK, p, -2.0, -1.5);
    check_exact(BI_SOFTSHRINK, p, -0.25, -0.0); /* x * 0 keeps the sign */
    check_exact(BI_SOFTSHRINK, p, 0.0, 0.0);
    check_exact(BI_SOFTSHRINK, p, 0.5, 0.0);
    check_exact(BI_SOFTSHRINK, p, 0.75, 0.25);
    check_exact(BI_SOFTSHRINK, p, 1e308, 1e308);
    check_specials(BI_SOFTSHRINK, p, INFINITY, -INFINITY);
    check_exact(BI_SOFTSHRINK, PS(1.0), 1.25, 0.25);
}

Test(refmath, hardshrink) {
    const double *p = PS(0.5);
    check_exact(BI_HARDSHRINK, p, -2.0, -2.0);
    check_exact(BI_HARDSHRINK, p, -0.5, 0.0);
    check_exact(BI_HARDSHRINK, p, 0.0, 0.0);
    check_exact(BI_HARDSHRINK, p, 0.5000001, 0.5000001);
    check_exact(BI_HARDSHRINK, p, 1e308, 1e308);
    check_specials(BI_HARDSHRINK, p, INFINITY, -INFINITY);
    check_exact(BI_HARDSHRINK, PS(2.0), 1.5, 0.0);
}

Test(refmath, identity) {
    check_exact(BI_IDENTITY, NULL, -2.0, -2.0);
    check_exact(BI_IDENTITY, NULL, -0.0, -0.0);
    check_exact(BI_IDENTITY, NULL, 1e308, 1e308);
    check_exact(BI_IDENTITY, NULL, 5e-324, 5e-324);
    check_specials(BI_IDENTITY, NULL, INFINITY, -INFINITY);
}

/* ---- smooth activations: MPFR ---- */

Test(refmath, elu) {
    check_mp(BI_ELU, PS(1.0), XS(-50.0, -1.0, -1e-20, 1e-20, 2.0, 1e308));
    check_mp(BI_ELU, PS(0.3), XS(-3.0, -0.001));
    check_exact(BI_ELU, PS(1.0), -0.0, -0.0);
    check_specials(BI_ELU, PS(1.0), INFINITY, -1.0);
    check_specials(BI_ELU, PS(2.5), INFINITY, -2.5); /* elu(-inf) = -alpha */
}

Test(refmath, selu) {
    check_mp(BI_SELU, NULL, XS(-50.0, -1.0, -1e-20, 1e-20, 2.0, 1e300));
    check_exact(BI_SELU, NULL, 0.0, 0.0);
    check_exact(BI_SELU, NULL, -0.0, -0.0);
    /* -scale * alpha, rounded once */
    check_specials(BI_SELU, NULL, INFINITY, -1.7580993408473768599402175208123);
}

Test(refmath, celu) {
    check_mp(BI_CELU, PS(1.0), XS(-50.0, -1.0, -1e-20, 1e-20, 2.0, 1e308));
    check_mp(BI_CELU, PS(0.3), XS(-3.0, -0.001, -1e-10));
    check_mp(BI_CELU, PS(3.0), XS(-7.0, -0.2));
    check_exact(BI_CELU, PS(1.0), 0.0, 0.0);
    check_specials(BI_CELU, PS(2.0), INFINITY, -2.0);
}

Test(refmath, gelu) {
    check_mp(BI_GELU, NULL, XS(-37.0, -20.0, -6.0, -1.0, -1e-300, 1e-20, 0.5, 3.0, 1e300));
    check_exact(BI_GELU, NULL, 0.0, 0.0);
    check_exact(BI_GELU, NULL, -0.0, -0.0);
    check_exact(BI_GELU, NULL, 1e308, 1e308);
    check_exact(BI_GELU, NULL, -1e308, -0.0);
    check_specials(BI_GELU, NULL, INFINITY, -0.0);
}

Test(refmath, gelu_tanh) {
    check_mp(BI_GELU_TANH, NULL,
             XS(-21.15, -20.0, -12.0, -5.0, -1.0, -1e-300, 1e-20, 0.5, 3.0, 1e6));
    check_exact(BI_GELU_TANH, NULL, 0.0, 0.0);
    check_exact(BI_GELU_TANH, NULL, -0.0, -0.0);
    check_exact(BI_GELU_TANH, NULL, 1e308, 1e308);
    check_exact(BI_GELU_TANH, NULL, -1e308, -0.0);
    check_exact(BI_GELU_TANH, NULL, -1e30, -0.0);
    check_specials(BI_GELU_TANH, NULL, INFINITY, -0.0);
}

Test(refmath, quick_gelu) {
    check_mp(BI_QUICK_GELU, NULL,
             XS(-417.0, -415.0, -40.0, -3.0, -1e-300, 1e-20, 0.5, 30.0, 1e300));
    check_exact(BI_QUICK_GELU, NULL, 0.0, 0.0);
    check_exact(BI_QUICK_GELU, NULL, -1e308, -0.0);
    check_exact(BI_QUICK_GELU, NULL, 1.7e308, 1.7e308); /* 1.702 x overflows; no NaN */
    check_specials(BI_QUICK_GELU, NULL, INFINITY, -0.0);
}

Test(refmath, silu) {
    check_mp(BI_SILU, NULL, XS(-712.0, -710.0, -700.0, -30.0, -1.0, -1e-300, 1e-20, 2.0, 1e300));
    check_exact(BI_SILU, NULL, 0.0, 0.0);
    check_exact(BI_SILU, NULL, -0.0, -0.0);
    check_exact(BI_SILU, NULL, -1000.0, -0.0); /* exp(-1000) underflows: -0, not NaN */
    check_exact(BI_SILU, NULL, 1e308, 1e308);
    check_specials(BI_SILU, NULL, INFINITY, -0.0);
}

Test(refmath, swish) {
    check_mp(BI_SWISH, PS(1.0), XS(-30.0, -1.0, 1e-20, 2.0, 1e300));
    check_mp(BI_SWISH, PS(0.3), XS(-100.0, -2.0, 0.7, 50.0));
    check_mp(BI_SWISH, PS(1.7), XS(-400.0, -3.3, 4.1));
    check_exact(BI_SWISH, PS(1.5), 0.0, 0.0);
    check_specials(BI_SWISH, PS(1.5), INFINITY, -0.0);
    check_specials(BI_SWISH, PS(0.0), INFINITY, -INFINITY); /* x * sigmoid(0) = x / 2 */
    check_specials(BI_SWISH, PS(-1.0), 0.0, -INFINITY);
}

Test(refmath, mish) {
    check_mp(BI_MISH, NULL,
             XS(-712.0, -710.0, -700.0, -30.0, -1.0, -1e-300, 1e-20, 0.3, 2.0, 25.0, 1e300));
    check_exact(BI_MISH, NULL, 0.0, 0.0);
    check_exact(BI_MISH, NULL, -0.0, -0.0);
    check_exact(BI_MISH, NULL, 1e308, 1e308);
    check_specials(BI_MISH, NULL, INFINITY, -0.0);
}

Test(refmath, softplus) {
    const double *p = PS(1.0, 20.0);
    check_mp(BI_SOFTPLUS, p, XS(-700.0, -30.0, -1.0, 0.0, 1.0, 19.9, 20.5, 1e300));
    check_mp(BI_SOFTPLUS, PS(0.3, 20.0), XS(-2000.0, -1.3, 0.0, 5.0, 66.0, 67.0));
    check_mp(BI_SOFTPLUS, PS(2.0, 1e300), XS(-10.0, 10.0, 600.0)); /* no overflow */
    check_exact(BI_SOFTPLUS, p, -1e308, 0.0);
    check_specials(BI_SOFTPLUS, p, INFINITY, 0.0);
}

Test(refmath, softsign) {
    check_mp(BI_SOFTSIGN, NULL, XS(-1e300, -3.0, -1e-300, 0.3, 7.0, 1e10));
    check_exact(BI_SOFTSIGN, NULL, 0.0, 0.0);
    check_exact(BI_SOFTSIGN, NULL, -0.0, -0.0);
    check_exact(BI_SOFTSIGN, NULL, 1.0, 0.5);
    check_exact(BI_SOFTSIGN, NULL, 1e308, 1.0);
    check_specials(BI_SOFTSIGN, NULL, 1.0, -1.0);
}

Test(refmath, hardsigmoid) {
    check_mp(BI_HARDSIGMOID, NULL, XS(-2.9, -1.0, -1e-20, 1e-300, 0.1, 2.999));
    check_exact(BI_HARDSIGMOID, NULL, 0.0, 0.5);
    check_exact(BI_HARDSIGMOID, NULL, -3.0, 0.0);
    check_exact(BI_HARDSIGMOID, NULL, -1e308, 0.0);
    check_exact(BI_HARDSIGMOID, NULL, 1e308, 1.0);
    check_specials(BI_HARDSIGMOID, NULL, 1.0, 0.0);
}

Test(refmath, hardswish) {
    check_mp(BI_HARDSWISH, NULL, XS(-2.9, -1.0, -1e-20, 1e-300, 0.1, 2.999));
    check_exact(BI_HARDSWISH, NULL, 0.0, 0.0);
    check_exact(BI_HARDSWISH, NULL, -0.0, -0.0);
    check_exact(BI_HARDSWISH, NULL, -5.0, -0.0); /* x * 0 */
    check_exact(BI_HARDSWISH, NULL, 3.0, 3.0);
    check_exact(BI_HARDSWISH, NULL, 1e308, 1e308);
    check_specials(BI_HARDSWISH, NULL, INFINITY, -0.0);
}

Test(refmath, logsigmoid) {
    check_mp(BI_LOGSIGMOID, NULL, XS(-700.0, -40.0, -1.0, -1e-20, 0.0, 0.5, 30.0, 700.0));
    check_exact(BI_LOGSIGMOID, NULL, -1e300, -1e300);
    check_exact(BI_LOGSIGMOID, NULL, 1e308, -0.0);
    check_specials(BI_LOGSIGMOID, NULL, -0.0, -INFINITY);
}

Test(refmath, tanhshrink) {
    check_mp(BI_TANHSHRINK, NULL,
             XS(-30.0, -1.0, -0.99, -0.3, -1e-5, 1e-100, 1e-20, 0.5, 0.999, 1.0, 1.5, 1e300));
    check_exact(BI_TANHSHRINK, NULL, 0.0, 0.0);
    check_exact(BI_TANHSHRINK, NULL, -0.0, -0.0);
    check_exact(BI_TANHSHRINK, NULL, 1e308, 1e308 - 1.0);
    check_specials(BI_TANHSHRINK, NULL, INFINITY, -INFINITY);
}

/* ---- gates (language.md §6) ---- */

Test(refmath, glu) {
    check_gate_mp(BI_GLU, XS(-800.0, 1e300, -30.0, 2.0, -1.0, -3.0, 0.0, 1.5, 2.0, 1e300,
                             40.0, -7.0));
    check_gate_exact(BI_GLU, 0.0, 3.0, 1.5);
    check_gate_exact(BI_GLU, NAN, 1.0, NAN);
    check_gate_exact(BI_GLU, 1.0, NAN, NAN);
    check_gate_exact(BI_GLU, INFINITY, 2.0, 2.0);
    check_gate_exact(BI_GLU, -INFINITY, 2.0, 0.0);
    check_gate_exact(BI_GLU, -1000.0, INFINITY, INFINITY); /* sigmoid(-1000) > 0 */
    check_gate_exact(BI_GLU, -INFINITY, INFINITY, NAN);  /* 0 * inf */
}

Test(refmath, bilinear) {
    check_gate_mp(BI_BILINEAR, XS(-3.0, 0.1, 0.0, 2.0, 1e150, 1e150, 7.0, -1e-300));
    check_gate_exact(BI_BILINEAR, -2.0, 1.5, -3.0);
    check_gate_exact(BI_BILINEAR, NAN, 0.0, NAN);
    check_gate_exact(BI_BILINEAR, INFINITY, -1.0, -INFINITY);
    check_gate_exact(BI_BILINEAR, 0.0, INFINITY, NAN);
    check_gate_exact(BI_BILINEAR, -INFINITY, -INFINITY, INFINITY);
}

Test(refmath, reglu) {
    check_gate_exact(BI_REGLU, -3.0, 2.0, 0.0); /* relu(-3) = +0 */
    check_gate_exact(BI_REGLU, 0.0, 2.0, 0.0);
    check_gate_exact(BI_REGLU, 2.5, -2.0, -5.0);
    check_gate_exact(BI_REGLU, 1e300, 1e10, INFINITY);
    check_gate_exact(BI_REGLU, 1e308, 0.5, 0.5e308);
    check_gate_exact(BI_REGLU, NAN, 0.0, NAN);
    check_gate_exact(BI_REGLU, 1.0, NAN, NAN);
    check_gate_exact(BI_REGLU, INFINITY, 2.0, INFINITY);
    check_gate_exact(BI_REGLU, -INFINITY, 2.0, 0.0);
    check_gate_exact(BI_REGLU, -1.0, INFINITY, NAN); /* 0 * inf, as torch */
}

Test(refmath, geglu) {
    check_gate_mp(BI_GEGLU, XS(-30.0, 1e200, -1.0, 3.0, 0.0, 5.0, 0.7, -2.0, 1e300, 0.5));
    check_gate_exact(BI_GEGLU, NAN, 1.0, NAN);
    check_gate_exact(BI_GEGLU, 1.0, NAN, NAN);
    check_gate_exact(BI_GEGLU, INFINITY, 2.0, INFINITY);
    check_gate_exact(BI_GEGLU, -INFINITY, 2.0, -0.0);
    check_gate_exact(BI_GEGLU, -100.0, INFINITY, -INFINITY); /* gelu(-100) < 0 */
    check_gate_exact(BI_GEGLU, 0.0, INFINITY, NAN);
}

Test(refmath, geglu_tanh) {
    check_gate_mp(BI_GEGLU_TANH,
                  XS(-20.0, 1e200, -1.0, 3.0, 0.0, 5.0, 0.7, -2.0, 1e300, 0.5));
    check_gate_exact(BI_GEGLU_TANH, NAN, 1.0, NAN);
    check_gate_exact(BI_GEGLU_TANH, 1.0, NAN, NAN);
    check_gate_exact(BI_GEGLU_TANH, INFINITY, 2.0, INFINITY);
    check_gate_exact(BI_GEGLU_TANH, -INFINITY, 2.0, -0.0);
    check_gate_exact(BI_GEGLU_TANH, 1e-300, -INFINITY, -INFINITY);
}

Test(refmath, swiglu) {
    check_gate_mp(BI_SWIGLU, XS(-700.0, 1e300, -1.0, 3.0, 0.0, 5.0, 0.7, -2.0, 1e300, 0.5));
    check_gate_exact(BI_SWIGLU, NAN, 1.0, NAN);
    check_gate_exact(BI_SWIGLU, 1.0, NAN, NAN);
    check_gate_exact(BI_SWIGLU, INFINITY, 2.0, INFINITY);
    check_gate_exact(BI_SWIGLU, -INFINITY, 2.0, -0.0);
    check_gate_exact(BI_SWIGLU, -1000.0, INFINITY, -INFINITY);
    cr_expect(isnan(ref_gate(BI_RELU, 1.0, 1.0)));
}

/* ---- the table: which ids refmath serves, and parameter order ---- */

Test(refmath, agrees_with_builtin_table) {
    for (int i = 0; i < BI_COUNT; i++) {
        const Builtin *b = builtin_get((BuiltinId)i);
        bool unary = b->kind == BK_ACT || (b->kind == BK_PRIM && b->ninputs == 1);
        cr_expect(ref_is_unary(b->id) == unary, "ref_is_unary(%s)", b->name);
        cr_expect(ref_is_gate(b->id) == (b->kind == BK_GATE), "ref_is_gate(%s)", b->name);
        cr_expect(ref_is_binary(b->id) == (b->kind == BK_PRIM && b->ninputs == 2),
                  "ref_is_binary(%s)", b->name);
        if (!unary || b->id == BI_PRELU)
            continue;
        int nnum = 0; /* numeric constants, in table order, are what p[] holds */
        for (int k = 0; k < b->nparams; k++)
            nnum += b->params[k].type == PT_NUM;
        cr_expect(ref_unary_nparams(b->id) == nnum, "ref_unary_nparams(%s)", b->name);
    }
    cr_expect(ref_unary_nparams(BI_PRELU) == 1);
    static const struct { BuiltinId id; const char *p0, *p1; } order[] = {
        {BI_CLAMP, "min", "max"},        {BI_POW, "exponent", NULL},
        {BI_LEAKY_RELU, "negative_slope", NULL}, {BI_ELU, "alpha", NULL},
        {BI_CELU, "alpha", NULL},        {BI_SWISH, "beta", NULL},
        {BI_SOFTPLUS, "beta", "threshold"}, {BI_HARDTANH, "min_val", "max_val"},
        {BI_SOFTSHRINK, "lambd", NULL},  {BI_HARDSHRINK, "lambd", NULL},
    };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const Builtin *b = builtin_get(order[i].id);
        cr_expect_str_eq(b->params[0].name, order[i].p0);
        if (order[i].p1)
            cr_expect_str_eq(b->params[1].name, order[i].p1);
    }
}

/* ---- seeded sweeps: a few hundred points per function ---- */

#ifndef SWEEP_N
#define SWEEP_N 150
#endif

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static double rnd01(void) { /* xorshift64*, 53 bits */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545f4914f6cdd1du) >> 11) * 0x1p-53;
}

/* Half the points uniform in [lo, hi], half with a log-uniform magnitude in
 * [1e-8, max(|lo|, |hi|)] (small arguments are where cancellation hides). */
static double sample(int i, double lo, double hi) {
    double u = rnd01();
    if (i % 2 == 0)
        return lo + (hi - lo) * u;
    double big = fmax(fabs(lo), fabs(hi));
    double x = exp(log(1e-8) + (log(big) - log(1e-8)) * u);
    if (rnd01() < 0.5)
        x = -x;
    if (x < lo || x > hi)
        x = -x;
    return (x < lo || x > hi) ? lo + (hi - lo) * u : x;
}

typedef struct {
    double rel, x, b; /* the worst relative error and where */
} Worst;

static void note(Worst *w, double got, double want, double x, double b) {
    double rel = want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
    if (!(rel <= w->rel)) {
        w->rel = rel;
        w->x = x;
        w->b = b;
    }
}

static Worst sweep_unary(BuiltinId id, const double *p, double lo, double hi, int n) {
    Worst w = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        double x = sample(i, lo, hi);
        note(&w, ref_unary(id, x, p), mp_unary(id, x, p), x, 0);
    }
    return w;
}

static Worst sweep_gate(BuiltinId id, double lo, double hi, int n) {
    Worst w = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        double a = sample(i, lo, hi), b = 20 * rnd01() - 10;
        note(&w, ref_gate(id, a, b), mp_gate(id, a, b), a, b);
    }
    return w;
}

/* Ranges whose results are normal doubles (relative error is meaningful). */
static const struct {
    BuiltinId id;
    double p[2], lo, hi;
} sweeps[] = {
    {BI_EXP, {0}, -708, 709},          {BI_EXPM1, {0}, -40, 709},
    {BI_LOG, {0}, 1e-300, 1e300},      {BI_LOG1P, {0}, -0.9999, 1e10},
    {BI_SQRT, {0}, 0, 1e300},          {BI_RSQRT, {0}, 1e-300, 1e300},
    {BI_TANH, {0}, -20, 20},           {BI_SIGMOID, {0}, -708, 40},
    {BI_ERF, {0}, -6, 6},              {BI_ERFC, {0}, -6, 26},
    {BI_POW, {2.5}, 1e-100, 1e100},    {BI_POW, {-1.3}, 1e-100, 1e100},
    {BI_ELU, {1.0}, -40, 10},          {BI_ELU, {0.3}, -40, 10},
    {BI_SELU, {0}, -40, 10},           {BI_CELU, {0.7}, -30, 10},
    {BI_GELU, {0}, -37, 10},           {BI_GELU_TANH, {0}, -21, 10},
    {BI_QUICK_GELU, {0}, -415, 30},    {BI_SILU, {0}, -705, 40},
    {BI_SWISH, {0.37}, -1000, 100},    {BI_MISH, {0}, -705, 40},
    {BI_SOFTPLUS, {1, 20}, -700, 30},  {BI_SOFTPLUS, {0.3, 20}, -2000, 100},
    {BI_SOFTSIGN, {0}, -1e6, 1e6},     {BI_HARDSIGMOID, {0}, -3, 3},
    {BI_HARDSWISH, {0}, -3, 3},        {BI_LOGSIGMOID, {0}, -700, 700},
    {BI_TANHSHRINK, {0}, -5, 5},       {BI_TANHSHRINK, {0}, -1.2, 1.2},
    {BI_CELU, {3.0}, -100, 1},         {BI_SWISH, {12.5}, -56, 10},
    {BI_SWISH, {1e-3}, -1e5, 1e5},     {BI_SOFTPLUS, {3, 5}, -200, 3},
    {BI_HARDSWISH, {0}, -3, -2.9},     {BI_GELU_TANH, {0}, -21.15, -20},
    {BI_SILU, {0}, -712, -700},        {BI_GELU, {0}, -1, 1},
    {BI_MISH, {0}, -2, 2},             {BI_LOGSIGMOID, {0}, -2, 2},
    {BI_SOFTPLUS, {0.3, 20}, -130, 0}, {BI_MISH, {0}, -712, -700},
    {BI_SWISH, {-0.7}, -1000, 1000},
};

static const struct {
    BuiltinId id;
    double lo, hi;
} gate_sweeps[] = {
    {BI_GLU, -700, 40}, {BI_BILINEAR, -1e6, 1e6}, {BI_REGLU, -10, 10},
    {BI_GEGLU, -37, 10}, {BI_GEGLU_TANH, -21, 10}, {BI_SWIGLU, -700, 40},
};

Test(refmath, sweep) {
    for (size_t i = 0; i < sizeof sweeps / sizeof sweeps[0]; i++) {
        Worst w = sweep_unary(sweeps[i].id, sweeps[i].p, sweeps[i].lo, sweeps[i].hi, SWEEP_N);
        cr_expect(w.rel <= tol(sweeps[i].id), "%s: relative error %.3g at x = %.17g",
                  bname(sweeps[i].id), w.rel, w.x);
    }
    for (size_t i = 0; i < sizeof gate_sweeps / sizeof gate_sweeps[0]; i++) {
        const double lo = gate_sweeps[i].lo, hi = gate_sweeps[i].hi;
        Worst w = sweep_gate(gate_sweeps[i].id, lo, hi, SWEEP_N);
        cr_expect(w.rel <= tol(gate_sweeps[i].id), "%s: relative error %.3g at (%.17g, %.17g)",
                  bname(gate_sweeps[i].id), w.rel, w.x, w.b);
    }
}
