/*
 * cg_vmath_fast.c — the fast tier of the elementwise math (--fast-math,
 * docs/accuracy.md §6).
 */
#include <string.h>

#include "vmath.h"
#include "vmath_coeffs.h"

/* ---- the fast tier (--fast-math, docs/accuracy.md section 6) ----
 *
 * Everything in f32, full vector width: the same formulations as the f64
 * kernels above, with polynomials cut to what f32 needs and no widening.
 * Documented bound: relative error <= 4e-6 where |ref| > 1e-5, else
 * absolute <= 4e-6 (4e-5 for tanh, gelu_tanh, mish, tanhshrink); NaN in
 * gives NaN out; the +-inf limits are those of the precise tier.  pow keeps
 * its f64 form. */



/* exp(x) = 2^k e^r, x clamped to [-104, 89] (NaN passes), |r| <= ln2/2,
 * Taylor to r^6 (2.1e-7); 2^k rounded once, so that results down to the
 * subnormals are right: vscalefps in 16-lane AVX-512 code, else two exact
 * power-of-two factors. */
static LLVMValueRef exp_f(VM *vm, LLVMValueRef x) {
    static const double c[] = {1, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720};
    x = clamp_f(vm, x, -104.0, 89.0);
    const double shifter = 12582912.0; /* 1.5 * 2^23 */
    LLVMValueRef t = fma_(vm, x, cf(vm, LOG2E), cf(vm, shifter));
    LLVMValueRef kf = sub(vm, t, cf(vm, shifter));
    LLVMValueRef r = fma_(vm, kf, cf(vm, -LN2F_HI), x);
    r = fma_(vm, kf, cf(vm, -LN2F_LO), r);
    LLVMValueRef p = horner_f(vm, r, c, 7);
    return scale2f(vm, p, LLVMBuildSub(B, as_i32(vm, t), as_i32(vm, cf(vm, shifter)), ""), kf);
}

/* expm1: Taylor to x^8 for |x| < 0.5, exp - 1 beyond */
static LLVMValueRef expm1_f(VM *vm, LLVMValueRef x) {
    static const double c[] = {1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320};
    LLVMValueRef small = mul(vm, x, horner_f(vm, x, c, 8));
    return sel(vm, cmpf(vm, LLVMRealOLT, fabs_(vm, x), 0.5), small, sub(vm, exp_f(vm, x), cf(vm, 1)));
}

/* e ln 2 + log m for m in [sqrt(1/2), sqrt 2): 2 atanh(s), s = (m-1)/(m+1),
 * to s^9 */
static LLVMValueRef log_core_f(VM *vm, LLVMValueRef m, LLVMValueRef ef) {
    static const double c[] = {2.0, 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9};
    LLVMValueRef s = fdiv(vm, sub(vm, m, cf(vm, 1)), add(vm, m, cf(vm, 1)));
    LLVMValueRef lm = mul(vm, s, horner_f(vm, mul(vm, s, s), c, 5));
    return fma_(vm, ef, cf(vm, LN2F_HI), fma_(vm, ef, cf(vm, LN2F_LO), lm));
}

/* log: x = m 2^e (subnormals scaled first), then log_core_f */
static LLVMValueRef log_f(VM *vm, LLVMValueRef x) {
    LLVMValueRef tiny = cmpf(vm, LLVMRealOLT, x, 0x1p-126);
    LLVMValueRef xs = sel(vm, tiny, mul(vm, x, cf(vm, 0x1p23)), x);
    LLVMValueRef bits = as_i32(vm, xs);
    LLVMValueRef e = LLVMBuildSub(B, LLVMBuildAnd(B, LLVMBuildLShr(B, bits, ci32(vm, 23), ""), ci32(vm, 0xff), ""),
                                  ci32(vm, 127), "");
    e = sel(vm, tiny, LLVMBuildSub(B, e, ci32(vm, 23), ""), e);
    LLVMValueRef m = as_f32(vm, LLVMBuildOr(B, LLVMBuildAnd(B, bits, ci32(vm, 0x007FFFFF), ""), ci32(vm, 0x3F800000), ""));
    LLVMValueRef big = cmpf(vm, LLVMRealOGT, m, 1.41421356);
    m = sel(vm, big, mul(vm, m, cf(vm, 0.5)), m);
    e = sel(vm, big, LLVMBuildAdd(B, e, ci32(vm, 1), ""), e);
    LLVMValueRef r = log_core_f(vm, m, LLVMBuildSIToFP(B, e, vm->tf, ""));
    r = sel(vm, cmpf(vm, LLVMRealOEQ, x, 0), cf(vm, -INFINITY), r);
    r = sel(vm, cmpf(vm, LLVMRealOLT, x, 0), cf(vm, NAN), r);
    r = sel(vm, cmpf(vm, LLVMRealOEQ, x, INFINITY), x, r);
    return sel(vm, isnan_(vm, x), x, r);
}

static LLVMValueRef log1p_f(VM *vm, LLVMValueRef x) {
    LLVMValueRef u = add(vm, cf(vm, 1), x);
    LLVMValueRef d = sub(vm, u, cf(vm, 1));
    LLVMValueRef r = mul(vm, log_f(vm, u), fdiv(vm, x, d));
    r = sel(vm, cmpf(vm, LLVMRealOEQ, d, 0), x, r);
    return sel(vm, cmpf(vm, LLVMRealOEQ, x, INFINITY), x, r);
}

/* tanh: odd Taylor to x^9 below 0.4, 1 - 2/(e^2|x| + 1) above */
static LLVMValueRef tanh_f(VM *vm, LLVMValueRef x) {
    static const double c[] = {-1.0 / 3, 2.0 / 15, -17.0 / 315, 62.0 / 2835};
    LLVMValueRef a = fabs_(vm, x), x2 = mul(vm, x, x);
    LLVMValueRef small = fma_(vm, mul(vm, x, x2), horner_f(vm, x2, c, 4), x);
    LLVMValueRef a10 = sel(vm, cmpf(vm, LLVMRealOGT, a, 10), cf(vm, 10), a); /* tanh(10) rounds to 1 */
    LLVMValueRef big = sub(vm, cf(vm, 1), fdiv(vm, cf(vm, 2), add(vm, exp_f(vm, add(vm, a10, a10)), cf(vm, 1))));
    return copysign_(vm, sel(vm, cmpf(vm, LLVMRealOLT, a, 0.4), small, big), x); /* tanh(-0) = -0 */
}

/* e = exp(-|x|): 1/(1+e) for x >= 0, e/(1+e) below (subnormal results
 * down to x = -103 stay nonzero; exp never overflows) */
static LLVMValueRef sigmoid_f(VM *vm, LLVMValueRef x) {
    LLVMValueRef e = exp_f(vm, neg(vm, fabs_(vm, x)));
    LLVMValueRef r = fdiv(vm, cf(vm, 1), add(vm, cf(vm, 1), e));
    return sel(vm, cmpf(vm, LLVMRealOLT, x, 0), mul(vm, e, r), r);
}

/* erfc for a >= 0: exp(-a^2) erfcx(a), erfcx by the first 12 terms of the
 * precise tier's Chebyshev series (truncation < 7e-8 relative), turned
 * into a polynomial in t for Horner (its coefficients sum to 1.0 in
 * magnitude: no cancellation on [-1, 1]) */
static LLVMValueRef erfc_pos_f(VM *vm, LLVMValueRef a) {
    enum { N = 12 };
    double poly[N] = {0}, tk[N] = {1}, tk1[N] = {0}, tmp[N]; /* T_k and T_{k-1} as power series */
    for (int k = 0; k < N; k++) {
        for (int i = 0; i < N; i++)
            poly[i] += erfcx_cheb[k] * tk[i];
        for (int i = 0; i < N; i++) /* T_{k+1} = 2t T_k - T_{k-1} (T_1 = t) */
            tmp[i] = (k == 0 ? 1 : 2) * (i ? tk[i - 1] : 0) - tk1[i];
        memcpy(tk1, tk, sizeof tk);
        memcpy(tk, tmp, sizeof tk);
    }
    a = sel(vm, cmpf(vm, LLVMRealOGT, a, 10.5), cf(vm, 10.5), a);
    LLVMValueRef t = fdiv(vm, sub(vm, a, cf(vm, ERFCX_K)), add(vm, a, cf(vm, ERFCX_K)));
    LLVMValueRef y = horner_f(vm, t, poly, N);
    /* exp(-a^2) from the rounded a^2: a relative error of a^2 u (7e-7 at
     * a = 3.5, where gelu's value reaches the 1e-5 floor of the bound) */
    return mul(vm, exp_f(vm, neg(vm, mul(vm, a, a))), y);
}

/* erf for |x| < 1: Taylor in x^2 to x^19 */
static LLVMValueRef erf_small_f(VM *vm, LLVMValueRef x) {
    double c[10];
    double f = 1;
    for (int n = 0; n < 10; n++) {
        if (n)
            f *= n;
        c[n] = (n % 2 ? -1 : 1) * 1.1283791670955126 / (f * (2 * n + 1));
    }
    return mul(vm, x, horner_f(vm, mul(vm, x, x), c, 10));
}

/* erfc = exp(-x^2) erfcx(|x|) everywhere (no cancellation near 0 either),
 * 2 - erfc(-x) for x < 0 */
static LLVMValueRef erfc_f(VM *vm, LLVMValueRef x) {
    LLVMValueRef r = erfc_pos_f(vm, fabs_(vm, x));
    return sel(vm, cmpf(vm, LLVMRealOLT, x, 0), sub(vm, cf(vm, 2), r), r);
}

static LLVMValueRef erf_f(VM *vm, LLVMValueRef x) {
    LLVMValueRef a = fabs_(vm, x);
    LLVMValueRef big = copysign_(vm, sub(vm, cf(vm, 1), erfc_pos_f(vm, a)), x);
    return sel(vm, cmpf(vm, LLVMRealOLT, a, 1), erf_small_f(vm, x), big);
}

/* log1p(e) for e in [0, 1] (NaN passes): log(u) + c/u with u = 1 + e and
 * c = e - (u - 1) the rounding error of u (exact); c/u as c (2 - u), which
 * is accurate where c matters (u near 1) and negligible elsewhere */
static LLVMValueRef log1p_unit_f(VM *vm, LLVMValueRef e) {
    LLVMValueRef u = add(vm, cf(vm, 1), e);
    LLVMValueRef c = sub(vm, e, sub(vm, u, cf(vm, 1)));
    /* log u for u in [1, 2]: no exponent extraction, no special cases */
    LLVMValueRef big = cmpf(vm, LLVMRealOGT, u, 1.41421356);
    LLVMValueRef m = sel(vm, big, mul(vm, u, cf(vm, 0.5)), u);
    LLVMValueRef lu = log_core_f(vm, m, sel(vm, big, cf(vm, 1), cf(vm, 0)));
    return fma_(vm, c, sub(vm, cf(vm, 2), u), lu);
}

static LLVMValueRef softplus_f(VM *vm, LLVMValueRef z) {
    LLVMValueRef m = sel(vm, cmpf(vm, LLVMRealOGT, z, 0), z, cf(vm, 0));
    return add(vm, m, log1p_unit_f(vm, exp_f(vm, neg(vm, fabs_(vm, z)))));
}

static LLVMValueRef minus_zero_at_neg_inf_f(VM *vm, LLVMValueRef x, LLVMValueRef r) {
    return sel(vm, cmpf(vm, LLVMRealOEQ, x, -INFINITY), cf(vm, -0.0), r);
}

/* The fast tier's own algorithm for op on f32 lanes x, or NULL: the op's
 * formula (forms.def) over these primitives, or (an op the tier has no
 * primitive for) the f64 tier. */
static LLVMValueRef fast_own(VM *vm, Op op, const double *p, LLVMValueRef x) {
    LLVMValueRef pos = cmpf(vm, LLVMRealOGT, x, 0);
    switch (op) {
    case OP_EXP: return exp_f(vm, x);
    case OP_EXPM1: return expm1_f(vm, x);
    case OP_LOG: return log_f(vm, x);
    case OP_LOG1P: return log1p_f(vm, x);
    case OP_TANH: return tanh_f(vm, x);
    case OP_SIGMOID: return sigmoid_f(vm, x);
    case OP_ERF: return erf_f(vm, x);
    case OP_ERFC: return erfc_f(vm, x);
    case OP_RSQRT: return fdiv(vm, cf(vm, 1), call1(vm, "llvm.sqrt", vm->tf, x));
    case OP_SELU: { /* scale x as (x/2 s_hi + x/2 s_lo) 2: no overflow before the low part near FLT_MAX */
        float sh = (float)SELU_SCALE, sl = (float)(SELU_SCALE - sh);
        LLVMValueRef h = mul(vm, x, cf(vm, 0.5));
        LLVMValueRef pp = mul(vm, fma_(vm, h, cf(vm, sh), mul(vm, h, cf(vm, sl))), cf(vm, 2));
        pp = sel(vm, cmpf(vm, LLVMRealOEQ, x, INFINITY), x, pp); /* inf s_hi + (-inf) */
        return sel(vm, pos, pp, mul(vm, cf(vm, SELU_SCALE * SELU_ALPHA), expm1_f(vm, x)));
    }
    case OP_MISH: { /* tanh(log1p(e)) = n / (n + 2), n = e (e + 2); x beyond 20: tanh(...) is 1 in f32 */
        LLVMValueRef e = exp_f(vm, x);
        LLVMValueRef n = mul(vm, e, add(vm, e, cf(vm, 2)));
        LLVMValueRef r = mul(vm, x, fdiv(vm, n, add(vm, n, cf(vm, 2))));
        return minus_zero_at_neg_inf_f(vm, x, sel(vm, cmpf(vm, LLVMRealOGT, x, 20), x, r));
    }
    case OP_SOFTPLUS: {
        LLVMValueRef z = mul(vm, cf(vm, p[0]), x);
        LLVMValueRef r = mul(vm, softplus_f(vm, z), cf(vm, 1 / p[0]));
        return sel(vm, cmpf(vm, LLVMRealOGT, z, p[1]), x, r);
    }
    case OP_LOGSIGMOID: {
        LLVMValueRef l = log1p_unit_f(vm, exp_f(vm, neg(vm, fabs_(vm, x))));
        return sel(vm, pos, neg(vm, l), sub(vm, x, l));
    }
    case OP_TANHSHRINK: { /* x^3/3 - 2x^5/15 + ... to x^13 below 0.5, x - tanh(x) above */
        static const double c[] = {1.0 / 3, -2.0 / 15, 17.0 / 315, -62.0 / 2835, 1382.0 / 155925, -21844.0 / 6081075};
        LLVMValueRef x2 = mul(vm, x, x);
        LLVMValueRef small = mul(vm, mul(vm, x, x2), horner_f(vm, x2, c, 6));
        return sel(vm, cmpf(vm, LLVMRealOLT, fabs_(vm, x), 0.5), small, sub(vm, x, tanh_f(vm, x)));
    }
    default: return NULL;
    }
}

LLVMValueRef vm_fast_op(VM *vm, Op op, const double *p, LLVMValueRef x) {
    static const VmTier fast = {.f64 = false, .recip = true, .own = fast_own};
    return vm_form(vm, &fast, op, p, x);
}
