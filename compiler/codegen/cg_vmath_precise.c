/*
 * cg_vmath_precise.c — the precise tier of the elementwise math
 * (docs/accuracy.md §1–2): f32 arithmetic at full vector width, with
 * error-free transformations where a step needs more than 24 bits.
 *
 * Values that must carry more than an f32 are double-f32 pairs (DF: hi +
 * lo, |lo| <= ulp(hi)), built from two_sum / fast_two_sum and two_prod (an
 * FMA where the target has one, Dekker's product otherwise: the x86-64-v2
 * variant and plain scalar code).  Each primitive's core returns such a
 * pair with a relative error near 2^-28 or better, and an activation is
 * composed from the cores in DF and rounded to f32 once, so the results are
 * within ~0.5 ULP plus a few hundredths.  Exponentials are kept unscaled
 * (m 2^k with m in [0.7, 1.42]) until that final rounding, so products such
 * as x * sigmoid(x) keep their relative accuracy where e^x is subnormal.
 *
 * Functions this file does not define (vm_precise_op returns NULL) are
 * evaluated by the f64 tier (cg_vmath_exact.c).
 */
#include "vmath.h"
#include "vmath_coeffs.h"

typedef struct DF {
    LLVMValueRef h, l;
} DF;

static bool has_fma(VM *vm) { return vm->cg->t->caps.fma; }

/* a*b + c with a single rounding (only where the target has an FMA) */
static LLVMValueRef fma_x(VM *vm, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMTypeRef fnty;
    LLVMValueRef fn = cg_intrinsic(vm->cg, "llvm.fma", LLVMTypeOf(a), &fnty);
    LLVMValueRef args[3] = {a, b, c};
    return LLVMBuildCall2(B, fnty, fn, args, 3, "");
}

static DF df(LLVMValueRef h, LLVMValueRef l) { return (DF){h, l}; }
static DF dfc(VM *vm, double v) { /* a constant as hi + lo */
    float h = (float)v;
    return df(cf(vm, h), cf(vm, (float)(v - h)));
}
/* hi + lo rounded; a zero keeps hi's sign (-0 + +0 would be +0) */
static LLVMValueRef df_round(VM *vm, DF a) {
    LLVMValueRef r = add(vm, a.h, a.l);
    return sel(vm, cmpf(vm, LLVMRealOEQ, r, 0), a.h, r);
}

/* s + e = a + b exactly, |a| >= |b| (or a = 0) */
static DF fast_two_sum(VM *vm, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef s = add(vm, a, b);
    return df(s, sub(vm, b, sub(vm, s, a)));
}

/* s + e = a + b exactly (Knuth) */
static DF two_sum(VM *vm, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef s = add(vm, a, b);
    LLVMValueRef bb = sub(vm, s, a);
    return df(s, add(vm, sub(vm, a, sub(vm, s, bb)), sub(vm, b, bb)));
}

/* a = ah + al with 12-bit halves (Veltkamp; |a| < 2^115) */
static DF split(VM *vm, LLVMValueRef a) {
    LLVMValueRef c = mul(vm, a, cf(vm, 4097.0));
    LLVMValueRef ah = sub(vm, c, sub(vm, c, a));
    return df(ah, sub(vm, a, ah));
}

/* p + e = a * b exactly: an FMA, or Dekker's product; e = 0 where the
 * product overflows.  Without FMA, an |a| >= 2^100 (beyond the splitting's
 * range) is split as a 2^-64 and the parts scaled back; where |b| is that
 * large too, e = 0 (the product is then rounded once more). */
static DF two_prod(VM *vm, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef p = mul(vm, a, b);
    LLVMValueRef e;
    if (has_fma(vm)) {
        e = fma_x(vm, a, b, neg(vm, p));
        return df(p, sel(vm, cmpf(vm, LLVMRealOEQ, fabs_(vm, p), INFINITY), cf(vm, 0), e));
    }
    LLVMValueRef abig = cmpf(vm, LLVMRealOGE, fabs_(vm, a), 0x1p100);
    LLVMValueRef as = sel(vm, abig, mul(vm, a, cf(vm, 0x1p-64)), a);
    LLVMValueRef ps = mul(vm, as, b);
    DF x = split(vm, as), y = split(vm, b);
    e = sub(vm, mul(vm, x.h, y.h), ps);
    e = add(vm, add(vm, e, mul(vm, x.h, y.l)), mul(vm, x.l, y.h));
    e = add(vm, e, mul(vm, x.l, y.l));
    e = sel(vm, abig, mul(vm, e, cf(vm, 0x1p64)), e);
    LLVMValueRef bad = LLVMBuildOr(B, cmpf(vm, LLVMRealOGE, fabs_(vm, b), 0x1p100),
                                   cmpf(vm, LLVMRealOEQ, fabs_(vm, p), INFINITY), "");
    return df(p, sel(vm, bad, cf(vm, 0), e));
}

/* a - q*b, exact when q is close to a/b (the residual of a division) */
static LLVMValueRef residual(VM *vm, LLVMValueRef a, LLVMValueRef q, LLVMValueRef b) {
    if (has_fma(vm))
        return fma_x(vm, neg(vm, q), b, a);
    DF p = two_prod(vm, q, b);
    return sub(vm, sub(vm, a, p.h), p.l);
}

static DF df_add(VM *vm, DF a, DF b) {
    DF s = two_sum(vm, a.h, b.h);
    return df(s.h, add(vm, s.l, add(vm, a.l, b.l)));
}

static DF df_mul(VM *vm, DF a, DF b) {
    DF p = two_prod(vm, a.h, b.h);
    return df(p.h, add(vm, p.l, fma_(vm, a.h, b.l, mul(vm, a.l, b.h))));
}

static DF df_mul_f(VM *vm, DF a, LLVMValueRef b) {
    DF p = two_prod(vm, a.h, b);
    return df(p.h, fma_(vm, a.l, b, p.l));
}

/* a / b: one division (1/b.h), the quotient's residual folded in; b must
 * be normalised (|b.l| <= ulp(b.h)): the correction is scaled by 1/b.h */
static DF df_div(VM *vm, DF a, DF b) {
    LLVMValueRef inv = fdiv(vm, cf(vm, 1), b.h);
    LLVMValueRef q = mul(vm, a.h, inv);
    LLVMValueRef r = residual(vm, a.h, q, b.h);
    r = add(vm, r, sub(vm, a.l, mul(vm, q, b.l)));
    return df(q, mul(vm, r, inv));
}

/* a DF times 2^k, each part (for sums with other terms; exact where normal) */
static DF df_scale(VM *vm, DF a, LLVMValueRef k, LLVMValueRef kf) {
    return df(scale2f(vm, a.h, k, kf), scale2f(vm, a.l, k, kf));
}

/* ---- exp: e^x = m 2^k ---- */

typedef struct Exp {
    DF m;            /* e^r, r = x - k ln 2, |r| <= 0.35: m in [0.7, 1.42] */
    LLVMValueRef k;  /* i32 */
    LLVMValueRef kf; /* k as f32 */
} Exp;

/* The exponentials' range reduction for an x already clamped: k = round(x /
 * ln 2) (as i32 and f32) and rh = x - k LN2F_HI, exact (k has 8 bits,
 * LN2F_HI 15); with r and its rounding error r_l for x - k ln 2 and q =
 * e^r - 1 - r = r^2 P(r) (Taylor to r^7/7!, truncation 2^-27), for the
 * forms that need them. */
typedef struct Red {
    LLVMValueRef k, kf, rh; /* always */
    LLVMValueRef r, rl, q;  /* exp_red only */
} Red;

static Red exp_k(VM *vm, LLVMValueRef xh) {
    const double shifter = 12582912.0; /* 1.5 * 2^23: adding it rounds to an integer */
    LLVMValueRef t = fma_(vm, xh, cf(vm, LOG2E), cf(vm, shifter));
    Red e = {0};
    e.kf = sub(vm, t, cf(vm, shifter));
    e.k = LLVMBuildSub(B, as_i32(vm, t), as_i32(vm, cf(vm, shifter)), "");
    e.rh = fma_(vm, e.kf, cf(vm, -LN2F_HI), xh);
    return e;
}

static Red exp_red(VM *vm, LLVMValueRef xh) {
    static const double c[] = {1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040};
    Red e = exp_k(vm, xh);
    e.r = fma_(vm, e.kf, cf(vm, -LN2F_LO), e.rh);
    e.rl = fma_(vm, e.kf, cf(vm, -LN2F_LO), sub(vm, e.rh, e.r)); /* rh - r exact */
    e.q = mul(vm, mul(vm, e.r, e.r), horner_f(vm, e.r, c, 6));
    return e;
}

/* x (a DF) clamped to [-150, 89] (NaN passes); k = round(x / ln 2); r = x -
 * k ln 2 as r_h + r_l (k ln 2's high part exact, its low part and x's
 * rounded into one f32: 2^-35 relative); e^r = 1 + r_h + r_h^2/2 + r_h^3 P(r_h) + r_l (1
 * + r_h), Taylor to r^8 (truncation 2e-10), the two leading sums exact. */
static Exp exp_core(VM *vm, DF x) {
    static const double c[] = {1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320};
    LLVMValueRef xh = clamp_f(vm, x.h, -150.0, 89.0);
    Red kr = exp_k(vm, xh);
    Exp e;
    e.kf = kr.kf;
    e.k = kr.k;
    LLVMValueRef rh = kr.rh;
    /* x's low part joins k ln 2's low part before the sum: r_l stays below ulp(r_h) */
    LLVMValueRef xl = sel(vm, cmp(vm, LLVMRealOEQ, xh, x.h), x.l, cf(vm, 0)); /* none once clamped */
    DF r = two_sum(vm, rh, fma_(vm, e.kf, cf(vm, -LN2F_LO), xl));
    LLVMValueRef sq = mul(vm, r.h, r.h);
    LLVMValueRef tail = mul(vm, mul(vm, sq, r.h), horner_f(vm, r.h, c, 6));
    tail = add(vm, tail, fma_(vm, r.l, r.h, r.l));
    if (has_fma(vm)) /* the rounding of r_h^2 */
        tail = fma_(vm, fma_x(vm, r.h, r.h, neg(vm, sq)), cf(vm, 0.5), tail);
    DF s1 = fast_two_sum(vm, cf(vm, 1), r.h);
    DF s2 = fast_two_sum(vm, s1.h, mul(vm, cf(vm, 0.5), sq));
    e.m = fast_two_sum(vm, s2.h, add(vm, add(vm, s1.l, s2.l), tail)); /* normalised: a divisor in sigmoid */
    return e;
}


/* ---- single-rounding forms for the hot activations ----
 *
 * e^z = 2^k (1 + p) for a DF z clamped to [-150, 150], without the DF
 * core: k = round(z / ln 2), r = z - k ln 2 rounded once (its error below
 * 0.35 u relative in e^z), p = r + r^2 P(r) by one FMA (P: Taylor to r^5 /
 * 7!, truncation 2^-27).  Callers keep 1 + p unrounded and 2^k apart, so
 * that each of their steps rounds once. */
typedef struct Em {
    LLVMValueRef p;  /* e^r - 1 */
    LLVMValueRef k;  /* i32, in [-217, 217] */
    LLVMValueRef kf; /* k as f32 */
} Em;

static Em exp_split(VM *vm, DF z) {
    static const double c[] = {1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040};
    LLVMValueRef xh = clamp_f(vm, z.h, -150.0, 150.0);
    LLVMValueRef xl = sel(vm, cmp(vm, LLVMRealOEQ, xh, z.h), z.l, cf(vm, 0));
    Red kr = exp_k(vm, xh);
    Em e;
    e.kf = kr.kf;
    e.k = kr.k;
    LLVMValueRef r = add(vm, fma_(vm, e.kf, cf(vm, -LN2F_LO), kr.rh), xl);
    e.p = fma_(vm, mul(vm, r, r), horner_f(vm, r, c, 6), r);
    return e;
}

/* 2^k as f32 for k <= 127 (i32 k, and kf the same as f32): vscalefps on
 * 16-lane AVX-512 (subnormal powers exact, 0 below -149), else from the
 * exponent bits (0 below -126) */
static LLVMValueRef pow2f(VM *vm, LLVMValueRef k, LLVMValueRef kf) {
    if (vm->n == vm->cg->t->caps.scalef_lanes)
        return scale2f(vm, cf(vm, 1), k, kf);
    LLVMValueRef kb = LLVMBuildShl(B, LLVMBuildAdd(B, k, ci32(vm, 127), ""), ci32(vm, 23), "");
    return sel(vm, LLVMBuildICmp(B, LLVMIntSLT, k, ci32(vm, -126), ""), cf(vm, 0), as_f32(vm, kb));
}

/* x * sigmoid(y) = x / (1 + e^-y), e^-y = 2^k (1 + p): with j = max(k, 0)
 * the denominator is 2^j ((2^-j + 2^(k-j)) + 2^(k-j) p) — the sum of the
 * two powers exact (k within 24 of j), the FMA one rounding, the division
 * one, 2^-j applied last (so a subnormal e^y keeps x e^y normal).  -0 where
 * y < -150 (the product underflows there for any |beta| >= 1e-18; x = -inf
 * included). */
static LLVMValueRef x_sigmoid(VM *vm, LLVMValueRef x, DF y) {
    Em e = exp_split(vm, df(neg(vm, y.h), neg(vm, y.l)));
    LLVMValueRef kpos = LLVMBuildICmp(B, LLVMIntSGT, e.k, ci32(vm, 0), "");
    LLVMValueRef j = LLVMBuildSelect(B, kpos, e.k, ci32(vm, 0), "");
    LLVMValueRef jf = call2(vm, "llvm.maxnum", vm->tf, e.kf, cf(vm, 0)); /* kf is an integer, never NaN */
    LLVMValueRef nj = LLVMBuildNeg(B, j, ""), njf = neg(vm, jf);
    LLVMValueRef t1 = pow2f(vm, nj, njf);
    LLVMValueRef t2 = pow2f(vm, LLVMBuildSub(B, e.k, j, ""), sub(vm, e.kf, jf));
    LLVMValueRef den = fma_(vm, t2, e.p, add(vm, t1, t2));
    /* from k = 24 on, 1 + 2^-k is no longer exact (a tie at 24): 1 + (p + 2^-k)
     * instead, the inner sum's error below 2^-26 */
    LLVMValueRef kbig = cmpf(vm, LLVMRealOGE, e.kf, 24); /* on kf: the integer k stays dead with vscalefps */
    den = sel(vm, kbig, add(vm, cf(vm, 1), add(vm, e.p, t1)), den);
    LLVMValueRef q = fdiv(vm, x, den);
    LLVMValueRef r = scale2f(vm, q, nj, njf);
    return sel(vm, cmpf(vm, LLVMRealOLT, y.h, -150), cf(vm, -0.0), r);
}

/* expm1(x) for x <= 0 (the elu family's negative side): e^x - 1 = (2^k -
 * 1) + 2^k p, the first sum exact for k >= -24, the FMA one rounding; p
 * itself where k = 0 (|x| < 0.35); -0 at -0 */
static LLVMValueRef expm1_neg(VM *vm, LLVMValueRef x) {
    Em e = exp_split(vm, df(x, cf(vm, 0)));
    LLVMValueRef t = pow2f(vm, e.k, e.kf);
    LLVMValueRef r = fma_(vm, t, e.p, sub(vm, t, cf(vm, 1)));
    return sel(vm, cmpf(vm, LLVMRealOEQ, x, 0), x, r);
}

/* c * expm1(x) for x <= 0, c a DF constant: one FMA over the rounded expm1 */
static LLVMValueRef c_expm1_neg(VM *vm, DF c, LLVMValueRef x) {
    LLVMValueRef em = expm1_neg(vm, x);
    return fma_(vm, c.h, em, mul(vm, c.l, em));
}

/* gelu(x) = x Phi(x), Phi(-t) = Q(t) = e^(-t^2/2) erfcx(t / sqrt 2) / 2 for t
 * = |x| <= 14.5 (gelu underflows below -14.5): erfcx by its degree-14 fit
 * in u = (z - 3) / (z + 3) (vmath_coeffs.h), Horner in f32 with the last
 * two steps in pairs; t^2 exact (two_prod) into the exponential; (1 + p)
 * erfcx as a pair.  x < 0: x Q 2^k, rounded once, 2^k last; x >= 0: x (1 -
 * Q 2^k) with 1 - Q a pair (no cancellation: Q <= 1/2).  x beyond 8: x. */
static LLVMValueRef gelu_p(VM *vm, LLVMValueRef x) {
    LLVMValueRef t = clamp_f(vm, fabs_(vm, x), 0, 14.5);
    /* u = (t - ks) / (t + ks) = 1 - v, v = 2 ks / (t + ks) in [0.59, 2]: 1 - v is
     * exact (Sterbenz), v a pair (t + ks exact by two_sum, the quotient's
     * residual): near t = 0, erfcx's slope would turn u's rounding into 0.85 u */
    DF ks = dfc(vm, GELU_G_K * 1.4142135623730951), ks2 = dfc(vm, 2 * GELU_G_K * 1.4142135623730951);
    DF d = two_sum(vm, t, ks.h);
    d.l = add(vm, d.l, ks.l);
    LLVMValueRef vq = fdiv(vm, ks2.h, d.h);
    LLVMValueRef vr = add(vm, residual(vm, ks2.h, vq, d.h), sub(vm, ks2.l, mul(vm, vq, d.l)));
    LLVMValueRef vl = mul(vm, vr, mul(vm, vq, cf(vm, 1 / (2 * GELU_G_K * 1.4142135623730951)))); /* r / d */
    DF u = df(sub(vm, cf(vm, 1), vq), neg(vm, vl));
    LLVMValueRef q2 = horner_f(vm, u.h, gelu_g + 2, GELU_G_N - 2);
    DF a = two_prod(vm, u.h, q2), c1 = dfc(vm, gelu_g[1]), c0 = dfc(vm, gelu_g[0]);
    a.l = fma_(vm, u.l, q2, a.l);
    DF s1 = two_sum(vm, c1.h, a.h);
    s1.l = add(vm, s1.l, add(vm, a.l, c1.l));
    DF b = df_mul(vm, u, s1);
    DF g = two_sum(vm, c0.h, b.h);
    g.l = add(vm, g.l, add(vm, b.l, c0.l));
    DF sq = two_prod(vm, t, t);
    Em e = exp_split(vm, df(mul(vm, sq.h, cf(vm, -0.5)), mul(vm, sq.l, cf(vm, -0.5))));
    DF pg = two_prod(vm, e.p, g.h); /* (1 + p) g = g + p g, halved (exact) */
    DF q = two_sum(vm, g.h, pg.h);
    q.l = add(vm, q.l, fma_(vm, e.p, g.l, add(vm, pg.l, g.l)));
    q = df(mul(vm, q.h, cf(vm, 0.5)), mul(vm, q.l, cf(vm, 0.5)));
    LLVMValueRef neg_r = scale2f(vm, df_round(vm, df_mul_f(vm, q, x)), e.k, e.kf);
    DF qs = df_scale(vm, q, e.k, e.kf);
    DF om = fast_two_sum(vm, cf(vm, 1), neg(vm, qs.h)); /* 1 - Q */
    om.l = sub(vm, om.l, qs.l);
    LLVMValueRef pos_r = df_round(vm, df_mul_f(vm, om, x));
    LLVMValueRef r = sel(vm, cmpf(vm, LLVMRealOLT, x, 0), neg_r, pos_r);
    r = sel(vm, cmpf(vm, LLVMRealOGT, x, 8), x, r);
    return sel(vm, cmpf(vm, LLVMRealOLT, x, -14.5), cf(vm, -0.0), r);
}

/* ---- log: log(u) for a DF u > 0 (finite) ---- */

/* log(1 + f) for a DF f in [-0.3, 0.42]: 2 atanh(s), s = f / (2 + f) as a DF,
 * 2s + s^3 (2/3 + 2/5 s^2 + ... 2/11 s^8) (|s| <= 0.18: truncation 3e-11) */
static DF log1p_core(VM *vm, DF f) {
    static const double c[] = {2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11};
    DF d = fast_two_sum(vm, cf(vm, 2), f.h);
    d.l = add(vm, d.l, f.l);
    DF s = df_div(vm, f, d);
    LLVMValueRef s2 = mul(vm, s.h, s.h);
    LLVMValueRef tail = mul(vm, mul(vm, s2, s.h), horner_f(vm, s2, c, 5));
    return fast_two_sum(vm, add(vm, s.h, s.h), fma_(vm, s.l, cf(vm, 2), tail));
}

/* log(u), u = m 2^e with m in [sqrt(1/2), sqrt 2): e ln 2 + log1p(m - 1),
 * u's low part scaled with m; subnormal u.h scaled by 2^24 first. */
static DF log_core(VM *vm, DF u) {
    LLVMValueRef tiny = cmpf(vm, LLVMRealOLT, u.h, 0x1p-126);
    LLVMValueRef xs = sel(vm, tiny, mul(vm, u.h, cf(vm, 0x1p24)), u.h);
    LLVMValueRef bits = as_i32(vm, xs);
    LLVMValueRef e = LLVMBuildSub(B, LLVMBuildAnd(B, LLVMBuildLShr(B, bits, ci32(vm, 23), ""), ci32(vm, 0xff), ""),
                                  ci32(vm, 127), "");
    LLVMValueRef m = as_f32(vm, LLVMBuildOr(B, LLVMBuildAnd(B, bits, ci32(vm, 0x007FFFFF), ""), ci32(vm, 0x3F800000), ""));
    LLVMValueRef big = cmpf(vm, LLVMRealOGT, m, 1.41421356);
    m = sel(vm, big, mul(vm, m, cf(vm, 0.5)), m);
    e = sel(vm, big, LLVMBuildAdd(B, e, ci32(vm, 1), ""), e);
    /* u.l * 2^-e; beyond |e| = 100 u.l is 0 (a subnormal u) or below
     * 2^-124 of u (log1p of a huge x): dropped */
    LLVMValueRef far = LLVMBuildOr(B, LLVMBuildICmp(B, LLVMIntSLT, e, ci32(vm, -100), ""),
                                   LLVMBuildICmp(B, LLVMIntSGT, e, ci32(vm, 100), ""), "");
    LLVMValueRef ec = LLVMBuildSelect(B, far, ci32(vm, 0), e, "");
    LLVMValueRef inv2e = as_f32(vm, LLVMBuildShl(B, LLVMBuildSub(B, ci32(vm, 127), ec, ""), ci32(vm, 23), ""));
    inv2e = sel(vm, far, cf(vm, 0), inv2e);
    e = sel(vm, tiny, LLVMBuildSub(B, e, ci32(vm, 24), ""), e);
    DF lm = log1p_core(vm, df(sub(vm, m, cf(vm, 1)), mul(vm, u.l, inv2e)));
    LLVMValueRef ef = LLVMBuildSIToFP(B, e, vm->tf, "");
    DF r = two_sum(vm, mul(vm, ef, cf(vm, LN2F_HI)), lm.h); /* e LN2F_HI is exact */
    r.l = add(vm, r.l, fma_(vm, ef, cf(vm, LN2F_LO), lm.l));
    return r;
}

/* softplus(z) = max(z, 0) + log1p(e^-|z|) for a DF z (finite) */
static DF softplus_core(VM *vm, DF z, Exp *eo) {
    LLVMValueRef pos = cmpf(vm, LLVMRealOGT, z.h, 0);
    DF a = df(fabs_(vm, z.h), sel(vm, pos, z.l, neg(vm, z.l)));
    Exp e = exp_core(vm, df(neg(vm, a.h), neg(vm, a.l)));
    *eo = e;
    DF t = df_scale(vm, e.m, e.k, e.kf); /* e^-|z| in (0, 1] */
    /* log1p(t) = j ln 2 + log1p(f): f = t below 1/2 (j = 0), else f = (t - 1) / 2
     * in [-1/4, 0] (j = 1; t - 1 exact by Sterbenz): no exponent extraction */
    LLVMValueRef half = cmpf(vm, LLVMRealOGE, t.h, 0.5);
    DF f = df(sel(vm, half, mul(vm, sub(vm, t.h, cf(vm, 1)), cf(vm, 0.5)), t.h),
              sel(vm, half, mul(vm, t.l, cf(vm, 0.5)), t.l));
    DF lm = log1p_core(vm, f);
    LLVMValueRef jf = sel(vm, half, cf(vm, 1), cf(vm, 0));
    DF l = two_sum(vm, mul(vm, jf, cf(vm, LN2F_HI)), lm.h);
    l.l = add(vm, l.l, fma_(vm, jf, cf(vm, LN2F_LO), lm.l));
    DF zp = df(sel(vm, pos, z.h, cf(vm, 0)), sel(vm, pos, z.l, cf(vm, 0)));
    return df_add(vm, zp, l);
}

/* ---- expm1, tanh ---- */

/* expm1(x) as a DF for f32 x: the Taylor series for |x| < 0.25 (x + x^2/2
 * exact, then x^3 (1/6 + ... x^5/40320): truncation 1e-11), else e^x - 1
 * from the exp core (no cancellation worse than 4x); +inf where e^x
 * overflows, -0 at -0. */
static DF expm1_core(VM *vm, LLVMValueRef x) {
    static const double c[] = {1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320};
    DF sq = two_prod(vm, x, x);
    DF s = fast_two_sum(vm, x, mul(vm, cf(vm, 0.5), sq.h));
    LLVMValueRef tail = fma_(vm, mul(vm, x, sq.h), horner_f(vm, x, c, 6), mul(vm, cf(vm, 0.5), sq.l));
    DF small = df(s.h, add(vm, s.l, tail));
    Exp e = exp_core(vm, df(x, cf(vm, 0)));
    DF E = df_scale(vm, e.m, e.k, e.kf);
    DF d = two_sum(vm, E.h, cf(vm, -1));
    LLVMValueRef inf = cmpf(vm, LLVMRealOEQ, E.h, INFINITY); /* inf - 1 - ... would be NaN */
    DF big = df(sel(vm, inf, E.h, d.h), sel(vm, inf, cf(vm, 0), add(vm, d.l, E.l)));
    LLVMValueRef lt = cmpf(vm, LLVMRealOLT, fabs_(vm, x), 0.25), zero = cmpf(vm, LLVMRealOEQ, x, 0);
    return df(sel(vm, zero, x, sel(vm, lt, small.h, big.h)), sel(vm, zero, cf(vm, 0), sel(vm, lt, small.l, big.l)));
}

static LLVMValueRef expm1_p(VM *vm, LLVMValueRef x) { return df_round(vm, expm1_core(vm, x)); }


/* tanh(|x|) as a DF for |x| >= 0.25: (1 - e) / (1 + e), e = e^-2|x| = t (1
 * + r + q + r_l), t = 2^k <= 1/2: numerator and denominator each the
 * exact 1 -+ t plus t r and t q by fast_two_sum (r's rounding error r_l
 * recovered), one pair division */
static DF tanh_big(VM *vm, LLVMValueRef a) {
    Red e = exp_red(vm, clamp_f(vm, mul(vm, cf(vm, -2), a), -150.0, 0.0));
    LLVMValueRef r = e.r, rl = e.rl, q = e.q;
    LLVMValueRef t = pow2f(vm, e.k, e.kf);
    LLVMValueRef tr = mul(vm, t, r), tq = mul(vm, t, q), trl = mul(vm, t, rl);
    DF n0 = fast_two_sum(vm, cf(vm, 1), neg(vm, t));
    DF n1 = fast_two_sum(vm, n0.h, neg(vm, tr));
    DF n = fast_two_sum(vm, n1.h, neg(vm, tq));
    n.l = add(vm, n.l, sub(vm, add(vm, n0.l, n1.l), trl));
    DF d0 = fast_two_sum(vm, cf(vm, 1), t);
    DF d1 = fast_two_sum(vm, d0.h, tr);
    DF d = fast_two_sum(vm, d1.h, tq);
    d.l = add(vm, d.l, add(vm, add(vm, d0.l, d1.l), trl));
    return df_div(vm, n, d);
}

/* tanh for |x| < 0.25: x + x^3 (-1/3 + 2/15 x^2 - ...), Taylor to x^11 */
static LLVMValueRef tanh_small(VM *vm, LLVMValueRef x) {
    static const double c[] = {-1.0 / 3, 2.0 / 15, -17.0 / 315, 62.0 / 2835, -1382.0 / 155925};
    LLVMValueRef x2 = mul(vm, x, x);
    return fma_(vm, mul(vm, x, x2), horner_f(vm, x2, c, 5), x);
}

static LLVMValueRef tanh_p(VM *vm, LLVMValueRef x) {
    LLVMValueRef a = fabs_(vm, x);
    LLVMValueRef big = df_round(vm, tanh_big(vm, a));
    return copysign_(vm, sel(vm, cmpf(vm, LLVMRealOLT, a, 0.25), tanh_small(vm, x), big), x);
}

/* x - tanh x: x^3 P(x^2) below |x| = 1 (P a degree-8 fit, vmath_coeffs.h;
 * its last Horner step and x^3 as pairs), x - tanh x beyond (the
 * cancellation at most 4x, tanh a pair) */
static LLVMValueRef tanhshrink_p(VM *vm, LLVMValueRef x) {
    LLVMValueRef a = fabs_(vm, x);
    DF x2 = two_prod(vm, x, x);
    LLVMValueRef q = horner_f(vm, x2.h, tanhshrink_c + 1, TANHSHRINK_N - 1);
    DF sq = two_prod(vm, x2.h, q), c0 = dfc(vm, tanhshrink_c[0]);
    sq.l = fma_(vm, x2.l, q, sq.l);
    DF pc = fast_two_sum(vm, c0.h, sq.h); /* 1/3 >= |s q| */
    pc.l = add(vm, pc.l, add(vm, sq.l, c0.l));
    LLVMValueRef small = df_round(vm, df_mul(vm, df_mul_f(vm, x2, x), pc));
    DF th = tanh_big(vm, a);
    LLVMValueRef xneg = cmpf(vm, LLVMRealOLT, x, 0);
    th = df(sel(vm, xneg, neg(vm, th.h), th.h), sel(vm, xneg, neg(vm, th.l), th.l)); /* tanh(x), odd */
    DF d = two_sum(vm, x, neg(vm, th.h));
    LLVMValueRef big = add(vm, d.h, sub(vm, d.l, th.l));
    big = sel(vm, cmpf(vm, LLVMRealOEQ, a, INFINITY), x, big);
    return sel(vm, cmpf(vm, LLVMRealOLT, a, 1), small, big);
}

/* ---- the primitives and activations ---- */

/* 1/sqrt(x): s = sqrt(x) and q = 1/s each rounded once, then one correction
 * with both residuals, 1 - q s (the division's) and x - s^2 (the square
 * root's, exact by two_prod): q (1 + (1 - q s) - (x - s^2) q^2 / 2).  0 -> inf
 * with x's sign, inf -> 0, negative -> NaN (the square root's). */
static LLVMValueRef rsqrt_p(VM *vm, LLVMValueRef xin) {
    /* below 2^-60, x 2^64 (the result times 2^32), above 2^100 x 2^-64 (times 2^-32):
     * q^2, s^2 and the residuals stay normal and finite */
    LLVMValueRef small = cmpf(vm, LLVMRealOLT, fabs_(vm, xin), 0x1p-60);
    LLVMValueRef large = LLVMBuildAnd(B, cmpf(vm, LLVMRealOGT, xin, 0x1p100), cmpf(vm, LLVMRealONE, xin, INFINITY), "");
    LLVMValueRef x = sel(vm, small, mul(vm, xin, cf(vm, 0x1p64)), sel(vm, large, mul(vm, xin, cf(vm, 0x1p-64)), xin));
    LLVMValueRef sq = call1(vm, "llvm.sqrt", vm->tf, x);
    LLVMValueRef q = fdiv(vm, cf(vm, 1), sq);
    DF p2 = two_prod(vm, sq, sq);
    LLVMValueRef d = sub(vm, sub(vm, x, p2.h), p2.l);
    LLVMValueRef t = sub(vm, residual(vm, cf(vm, 1), q, sq), mul(vm, mul(vm, cf(vm, 0.5), d), mul(vm, q, q)));
    LLVMValueRef r = mul(vm, fma_(vm, q, t, q), sel(vm, small, cf(vm, 0x1p32), sel(vm, large, cf(vm, 0x1p-32), cf(vm, 1))));
    r = sel(vm, cmpf(vm, LLVMRealOEQ, x, 0), q, r);          /* 1/(+-0) = +-inf */
    return sel(vm, cmpf(vm, LLVMRealOEQ, x, INFINITY), q, r); /* 1/inf = 0 */
}

static LLVMValueRef exp_p(VM *vm, LLVMValueRef x) {
    Exp e = exp_core(vm, df(x, cf(vm, 0)));
    return scale2f(vm, df_round(vm, e.m), e.k, e.kf);
}

static LLVMValueRef log_p(VM *vm, LLVMValueRef x) {
    LLVMValueRef r = df_round(vm, log_core(vm, df(x, cf(vm, 0))));
    r = sel(vm, cmpf(vm, LLVMRealOEQ, x, 0), cf(vm, -INFINITY), r);
    r = sel(vm, cmpf(vm, LLVMRealOLT, x, 0), cf(vm, NAN), r);
    r = sel(vm, cmpf(vm, LLVMRealOEQ, x, INFINITY), x, r);
    return sel(vm, isnan_(vm, x), x, r);
}

/* log1p(x), x > -1: the log of the exact 1 + x (two_sum) */
static LLVMValueRef log1p_p(VM *vm, LLVMValueRef x) {
    LLVMValueRef r = df_round(vm, log_core(vm, two_sum(vm, cf(vm, 1), x)));
    /* below 2^-24, x - x^2/2 rounds to x (and the DF route would halve a subnormal x) */
    r = sel(vm, cmpf(vm, LLVMRealOLT, fabs_(vm, x), 0x1p-24), x, r);
    r = sel(vm, cmpf(vm, LLVMRealOEQ, x, -1), cf(vm, -INFINITY), r);
    r = sel(vm, cmpf(vm, LLVMRealOLT, x, -1), cf(vm, NAN), r);
    r = sel(vm, cmpf(vm, LLVMRealOEQ, x, INFINITY), x, r);
    return sel(vm, isnan_(vm, x), x, r);
}

/* sigmoid(x) = 1 / (1 + e^-x), e^-x = 2^k (1 + r + r_l + q): r rounded
 * once with its error r_l recovered, q = r^2 P(r).  With j = max(k, 0) the
 * denominator is 2^j D, D = (1 + 2^-|k|) + 2^(k-j) (r + q + r_l) as a pair
 * (the first sum exact: one term is 1; r and q added by fast_two_sum), then 1/D with its residual folded in
 * and 2^-j last: within 0.5 ULP plus a few hundredths, one division. */
static LLVMValueRef sigmoid_p(VM *vm, LLVMValueRef x) {
    Red e = exp_red(vm, clamp_f(vm, neg(vm, x), -150.0, 150.0));
    LLVMValueRef k = e.k, kf = e.kf, r = e.r, rl = e.rl, q = e.q;
    LLVMValueRef kpos = LLVMBuildICmp(B, LLVMIntSGT, k, ci32(vm, 0), "");
    LLVMValueRef j = LLVMBuildSelect(B, kpos, k, ci32(vm, 0), "");
    LLVMValueRef jf = call2(vm, "llvm.maxnum", vm->tf, kf, cf(vm, 0));
    LLVMValueRef ak = LLVMBuildSelect(B, kpos, k, LLVMBuildNeg(B, k, ""), ""), akf = fabs_(vm, kf);
    LLVMValueRef tmin = pow2f(vm, LLVMBuildNeg(B, ak, ""), neg(vm, akf));  /* 2^-|k| */
    LLVMValueRef t2 = pow2f(vm, LLVMBuildSub(B, k, j, ""), sub(vm, kf, jf)); /* 2^(k-j) */
    DF cc = fast_two_sum(vm, cf(vm, 1), tmin);
    DF d1 = fast_two_sum(vm, cc.h, mul(vm, t2, r));
    DF d = fast_two_sum(vm, d1.h, mul(vm, t2, q)); /* |q| <= 0.07 < d1.h */
    d.l = add(vm, d.l, add(vm, d1.l, fma_(vm, t2, rl, cc.l)));
    LLVMValueRef inv = fdiv(vm, cf(vm, 1), d.h);
    LLVMValueRef rho = sub(vm, residual(vm, cf(vm, 1), inv, d.h), mul(vm, inv, d.l));
    LLVMValueRef su = fma_(vm, inv, rho, inv);
    return scale2f(vm, su, LLVMBuildNeg(B, j, ""), neg(vm, jf));
}

/* beta * x as a DF (beta a constant, rounded to a DF); the low part 0
 * beyond |x| = 2^100, where the callers saturate */
static DF times_const(VM *vm, double beta, LLVMValueRef x) {
    DF b = dfc(vm, beta);
    DF p = two_prod(vm, x, b.h);
    LLVMValueRef l = fma_(vm, x, b.l, p.l);
    return df(p.h, sel(vm, cmpf(vm, LLVMRealOGE, fabs_(vm, x), 0x1p100), cf(vm, 0), l));
}

LLVMValueRef vm_precise_op(VM *vm, Op op, const double *p, LLVMValueRef x) {
    LLVMValueRef pos = cmpf(vm, LLVMRealOGT, x, 0);
    switch (op) {
    case OP_EXP: return exp_p(vm, x);
    case OP_EXPM1: return expm1_p(vm, x);
    case OP_LOG: return log_p(vm, x);
    case OP_LOG1P: return log1p_p(vm, x);
    case OP_TANH: return tanh_p(vm, x);
    case OP_SIGMOID: return sigmoid_p(vm, x);
    case OP_RSQRT: return rsqrt_p(vm, x);
    case OP_GELU: return gelu_p(vm, x);
    case OP_TANHSHRINK: return tanhshrink_p(vm, x);
    case OP_SILU: return x_sigmoid(vm, x, df(x, cf(vm, 0)));
    case OP_SWISH: return x_sigmoid(vm, x, times_const(vm, p[0], x));
    case OP_QUICK_GELU: return x_sigmoid(vm, x, times_const(vm, 1.702, x));
    case OP_GELU_TANH: { /* x sigmoid(x (c1 + c2 x^2)), c1 = 2 sqrt(2/pi), c2 = 0.044715 c1; the argument
                          * in DF from x clamped to +-20 (sigmoid is 0 or 1 in f32 beyond) */
        LLVMValueRef xc = clamp_f(vm, x, -20, 20);
        DF x2 = two_prod(vm, xc, xc);
        DF g = df_add(vm, dfc(vm, 1.5957691216057307117597842397375), df_mul(vm, dfc(vm, 0.0713548162726008), x2));
        DF y = df_mul_f(vm, g, xc);
        return x_sigmoid(vm, x, y);
    }
    case OP_ELU: return sel(vm, pos, x, mul(vm, cf(vm, p[0]), expm1_neg(vm, x)));
    case OP_CELU: return sel(vm, pos, x, mul(vm, cf(vm, p[0]), expm1_neg(vm, fdiv(vm, x, cf(vm, p[0])))));
    case OP_SELU: { /* scale x or scale alpha expm1(x), the constants as DFs */
        /* scale x rounded once: one FMA over the constant's two parts (no intermediate
         * overflow near FLT_MAX); without FMA a pair product, x scaled by 2^-64
         * above 2^100 so that x s_hi does not overflow before the sum */
        DF sc = dfc(vm, SELU_SCALE);
        LLVMValueRef pos_part;
        if (has_fma(vm)) {
            pos_part = fma_x(vm, x, sc.h, mul(vm, x, sc.l));
        } else {
            LLVMValueRef big = cmpf(vm, LLVMRealOGE, x, 0x1p100);
            LLVMValueRef xs = sel(vm, big, mul(vm, x, cf(vm, 0x1p-64)), x);
            pos_part = mul(vm, df_round(vm, df_mul_f(vm, sc, xs)), sel(vm, big, cf(vm, 0x1p64), cf(vm, 1)));
        }
        pos_part = sel(vm, cmpf(vm, LLVMRealOEQ, x, INFINITY), x, pos_part);
        return sel(vm, pos, pos_part, c_expm1_neg(vm, dfc(vm, SELU_SCALE * SELU_ALPHA), x));
    }
    case OP_SOFTPLUS: { /* PyTorch: x where beta x > threshold, else softplus(beta x) / beta */
        DF z = times_const(vm, p[0], x);
        Exp e;
        DF b = df(cf(vm, p[0]), cf(vm, 0));
        DF sp = softplus_core(vm, df(z.h, sel(vm, cmpf(vm, LLVMRealOEQ, fabs_(vm, z.h), INFINITY), cf(vm, 0), z.l)), &e);
        LLVMValueRef r = df_round(vm, df_div(vm, sp, b));
        /* below z = -25, softplus(z) = e^z (1 - e^z / 2 ...) is e^z to 2^-37: divided by beta before 2^k, so a
         * subnormal result rounds once */
        LLVMValueRef tail = scale2f(vm, df_round(vm, df_div(vm, e.m, b)), e.k, e.kf);
        r = sel(vm, cmpf(vm, LLVMRealOLT, z.h, -25), tail, r);
        return sel(vm, cmpf(vm, LLVMRealOGT, z.h, p[1]), x, r);
    }
    case OP_LOGSIGMOID: { /* -softplus(-x) */
        Exp e;
        DF sp = softplus_core(vm, df(neg(vm, clamp_f(vm, x, -200, 200)), cf(vm, 0)), &e);
        LLVMValueRef r = neg(vm, df_round(vm, sp));
        r = sel(vm, cmpf(vm, LLVMRealOGT, x, 25), neg(vm, scale2f(vm, df_round(vm, e.m), e.k, e.kf)), r); /* -e^-x */
        return sel(vm, cmpf(vm, LLVMRealOLT, x, -200), x, r);
    }
    case OP_MISH: { /* x n / (n + 2), n = e (e + 2), e = e^x = 2^k (1 + p) (tanh(log1p(e)) = n / (n + 2)):
                     * n / 2^k = (t + 2) + p (2t + 2 + t p), t = 2^k, each sum of powers of two exact; 2^k
                     * applied last, so x e^x stays normal where e^x is subnormal; x beyond 20 */
        LLVMValueRef xc = clamp_f(vm, x, -150, 20);
        Em e = exp_split(vm, df(xc, cf(vm, 0)));
        LLVMValueRef t = pow2f(vm, e.k, e.kf);
        LLVMValueRef r;
        if (has_fma(vm)) { /* two FMAs for n / 2^k, one each for n + 2, x n and the quotient: <= 2.5 ULP */
            LLVMValueRef two_t2 = fma_(vm, t, cf(vm, 2), cf(vm, 2));
            LLVMValueRef nu = fma_(vm, e.p, fma_(vm, t, e.p, two_t2), add(vm, t, cf(vm, 2)));
            LLVMValueRef den = fma_(vm, t, nu, cf(vm, 2));
            r = scale2f(vm, fdiv(vm, mul(vm, x, nu), den), e.k, e.kf);
        } else { /* without FMA each of those rounds twice (3.5 ULP): in pairs instead, t p and the
                  * powers' sums exact, so nu's only rounding error is p's (1.6 ULP, 2.3x the time) */
            DF in = fast_two_sum(vm, fma_(vm, t, cf(vm, 2), cf(vm, 2)), mul(vm, t, e.p)); /* 2t + 2 + t p */
            DF pp = df_mul_f(vm, in, e.p);
            DF nu = fast_two_sum(vm, add(vm, t, cf(vm, 2)), pp.h); /* |p in| < t + 2 */
            nu.l = add(vm, nu.l, pp.l);
            DF tn = df(mul(vm, t, nu.h), mul(vm, t, nu.l));
            DF den = two_sum(vm, tn.h, cf(vm, 2));
            den.l = add(vm, den.l, tn.l);
            r = scale2f(vm, df_round(vm, df_mul_f(vm, df_div(vm, nu, den), x)), e.k, e.kf);
        }
        r = sel(vm, cmpf(vm, LLVMRealOGT, x, 20), x, r);
        return sel(vm, cmpf(vm, LLVMRealOLT, x, -150), cf(vm, -0.0), r);
    }
    case OP_HARDSIGMOID:
    case OP_HARDSWISH: { /* relu6(x + 3) / 6 (times x) with x + 3 exact and one rounding; x beyond +-3 exact */
        DF h = df_div(vm, two_sum(vm, x, cf(vm, 3)), df(cf(vm, 6), cf(vm, 0)));
        LLVMValueRef lo = cmpf(vm, LLVMRealOLE, x, -3), hi = cmpf(vm, LLVMRealOGE, x, 3);
        if (op == OP_HARDSIGMOID)
            return sel(vm, lo, cf(vm, 0), sel(vm, hi, cf(vm, 1), df_round(vm, h)));
        return sel(vm, lo, cf(vm, -0.0), sel(vm, hi, x, df_round(vm, df_mul_f(vm, h, x)))); /* -0 for x <= -3 */
    }
    case OP_SOFTSIGN: { /* x / (1 + |x|) with the sum exact; +-1 beyond 2^60 (1 - 2^-60 rounds to 1) */
        LLVMValueRef a = fabs_(vm, x);
        DF d = two_sum(vm, cf(vm, 1), a);
        LLVMValueRef r = df_round(vm, df_div(vm, df(x, cf(vm, 0)), d));
        return sel(vm, cmpf(vm, LLVMRealOGE, a, 0x1p60), copysign_(vm, cf(vm, 1), x), r);
    }
    default: return NULL;
    }
}
