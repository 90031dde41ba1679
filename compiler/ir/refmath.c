/*
 * refmath.c — double-precision scalar math for the reference interpreter,
 * the oracle of every generated kernel (refmath.h).  Definitions are
 * torch.nn.functional's (language.md §5, §6); the formulations are chosen for
 * accuracy, not speed: sigmoid and softplus through exp(-|x|), tails without
 * cancellation, and rounded arguments (beta*x, x/sqrt(2), the GELU-tanh cubic)
 * carried as double-double and fed to a first-order correction.  Signed
 * zeros: x * act(x) forms keep the sign of x (silu(-0) = -0, gelu(-inf) =
 * -0, hardswish(-5) = -0); relu gives +0 for x <= 0, and min, max, clamp,
 * relu6 and hardtanh order -0 below +0 (relu6(-0) = +0, hardtanh(-0) = -0).
 */
#include <math.h>
#include <stdbool.h>

#include "ir/refmath.h"

/* Constants as double-double (hi + lo), from 300-bit evaluations. */
#define RSQRT2_HI 0x1.6a09e667f3bcdp-1  /* 1/sqrt(2) */
#define RSQRT2_LO -0x1.bdd3413b26456p-55
#define TWO_OVER_SQRTPI 0x1.20dd750429b6dp+0 /* 2/sqrt(pi), only in corrections */
#define SQRT_8_PI_HI 0x1.9884533d43651p+0 /* sqrt(8/pi) = 2 * sqrt(2/pi) */
#define SQRT_8_PI_LO -0x1.cbc0d30ebfd15p-54
#define KAPPA_HI 0x1.6e4e26d4801f7p-5 /* 0.044715, the GELU-tanh cubic coefficient */
#define KAPPA_LO 0x1.441355475a31ap-59
#define QUICK_HI 0x1.b3b645a1cac08p+0 /* 1.702, quick_gelu's sigmoid scale */
#define QUICK_LO 0x1.89374bc6a7efap-55
/* SELU: scale = 1.0507009873554804934193349852946 and scale * alpha with
 * alpha = 1.6732632423543772848170429916717 (torch.nn.SELU). */
#define SELU_SCALE_HI 0x1.0cfabd6a91132p+0
#define SELU_SCALE_LO 0x1.6fc7d272f2695p-55
#define SELU_SA_HI 0x1.c212cc640f031p+0
#define SELU_SA_LO 0x1.05161b045a1fep-56

#define LN2_HI 0x1.62e42feep-1 /* ln 2 = LN2_HI + LN2_LO; k * LN2_HI is exact */
#define LN2_LO 0x1.a39ef35793c76p-33
#define INV_LN2 0x1.71547652b82fep+0

/* Below this, exp(z) is subnormal: products x * exp(z) go through
 * mul_exp_scaled() so that a normal result keeps its precision. */
#define EXP_SUBNORMAL (-708.0)

/* ---- error-free transformations ---- */

/* a * b = *hi + *lo exactly (for finite products; *lo = 0 otherwise). */
static void two_prod(double a, double b, double *hi, double *lo) {
    *hi = a * b;
    *lo = isfinite(*hi) ? fma(a, b, -*hi) : 0.0;
}

/* a + b = *hi + *lo exactly (Knuth's TwoSum, any magnitudes). */
static void two_sum(double a, double b, double *hi, double *lo) {
    double s = a + b;
    double bb = s - a;
    *hi = s;
    *lo = isfinite(s) ? (a - (s - bb)) + (b - bb) : 0.0;
}

/* x * exp(zh + zl) for finite x and zh < EXP_SUBNORMAL, where exp(zh)
 * alone would be subnormal or zero: exp(z) = 2^-k exp(z + k ln 2) with
 * z + k ln 2 near -600, so only the final scaling can round into the
 * subnormal range. */
static double mul_exp_scaled(double x, double zh, double zl) {
    if (zh < -1e5) /* below 2^-144000: zero even for x = DBL_MAX */
        return x * 0.0;
    double k = floor((-600.0 - zh) * INV_LN2);
    double sh, sl, rh, rl;
    two_sum(zh, k * LN2_HI, &sh, &sl);
    two_sum(sh, sl + k * LN2_LO + zl, &sh, &sl); /* |sl| <= ulp(sh) / 2 */
    two_prod(x, exp(sh), &rh, &rl);
    return ldexp(rh + (rl + rh * sl), -(int)k);
}

/* ---- NaN-propagating min / max (IEEE 754-2019 minimum / maximum) ---- */

static double max_prop(double a, double b) {
    if (isnan(a) || isnan(b))
        return a + b;
    if (a == b) /* only zeros of different sign differ: +0 wins */
        return signbit(a) ? b : a;
    return a > b ? a : b;
}

static double min_prop(double a, double b) {
    if (isnan(a) || isnan(b))
        return a + b;
    if (a == b)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}

/* torch.clamp: min(max(x, lo), hi), so lo > hi gives hi everywhere. */
static double clamp(double x, double lo, double hi) { return min_prop(max_prop(x, lo), hi); }

/* (nh + nl) / (dh + dl), where nl and dl are the rounding errors of nh and
 * dh: one correction step, so only the final rounding is left. */
static double dd_div(double nh, double nl, double dh, double dl) {
    double q = nh / dh;
    if (q == 0 || !isfinite(q))
        return q;
    return q + (fma(-q, dh, nh) + nl - q * dl) / dh;
}

/* ---- sigmoid family ---- */

/* 1 / (1 + exp(-z)) through e = exp(-|z|) <= 1, so nothing overflows:
 * 1 / (1 + e) for z >= 0, e / (1 + e) below, with 1 + e exact as
 * double-double.  NaN: z >= 0 is false and e is NaN. */
static double sigmoid(double z) {
    double e = exp(-fabs(z));
    double dh, dl;
    two_sum(1.0, e, &dh, &dl);
    return dd_div(z >= 0 ? 1.0 : e, 0.0, dh, dl);
}

/* x * sigmoid(zh + zl) for finite x, |zl| <= ulp(zh) (zl to first order).
 * x * e is double-double, so the result is rounded once after exp.  In the
 * far negative tail sigmoid(z) = exp(z) to double precision. */
static double mul_sigmoid(double x, double zh, double zl) {
    if (zh < EXP_SUBNORMAL)
        return mul_exp_scaled(x, zh, zl);
    double e = exp(-fabs(zh));
    double dh, dl, nh = x, nl = 0.0;
    two_sum(1.0, e, &dh, &dl);
    if (!(zh >= 0))
        two_prod(x, e, &nh, &nl);
    if (zl != 0) /* d/dz log sigmoid(z) = 1 - sigmoid(z) */
        nl += nh * ((zh >= 0 ? e : 1.0) / dh) * zl;
    return dd_div(nh, nl, dh, dl);
}

/* The limit of x * sigmoid(z) for x = ±inf, where z has the sign of the
 * growing argument (+inf, -inf, 0 or NaN): x, ±0 (the sign of x) or NaN. */
static double inf_mul_sigmoid(double x, double z) {
    if (isnan(z))
        return z;
    return z < 0 ? copysign(0.0, x) : x;
}

/* log(1 + exp(zh + zl)) / beta = (max(z, 0) + log1p(exp(-|z|))) / beta,
 * first order in zl, rounded once after the libm calls. */
static double softplus_div(double zh, double zl, double beta) {
    double sh, sl;
    two_sum(zh > 0 ? zh : 0.0, log1p(exp(-fabs(zh))), &sh, &sl);
    if (zl != 0)
        sl += sigmoid(zh) * zl;
    return dd_div(sh, sl, beta, 0.0);
}

/* ---- activations (language.md §5) ---- */

/* leaky_relu and prelu: x > 0 ? x : slope * x.  A zero slope at x = -inf
 * gives the limit (-0 for +0) where PyTorch's product would give NaN. */
static double leaky_relu(double x, double slope) {
    if (x > 0)
        return x;
    if (x == -INFINITY && slope == 0)
        return -slope;
    return x * slope;
}

/* selu(x) = scale * (x > 0 ? x : alpha * expm1(x)), constants as
 * double-double so only expm1 and the final fma round. */
static double selu(double x) {
    if (x > 0)
        return fma(SELU_SCALE_HI, x, SELU_SCALE_LO * x);
    double e = expm1(x);
    return fma(SELU_SA_HI, e, SELU_SA_LO * e);
}

/* celu(x) = x > 0 ? x : alpha * expm1(x / alpha); the rounding error r of
 * x / alpha is added back as expm1(q + r) = expm1(q) + exp(q) * r. */
static double celu(double x, double alpha) {
    if (!(x < 0)) /* x > 0, zeros (celu(-0) = -0) and NaN */
        return x;
    double q = x / alpha;
    double r = isfinite(q) ? fma(-q, alpha, x) / alpha : 0.0;
    double e = expm1(q);
    if (isinf(e)) /* a negative alpha: x / alpha is large */
        return alpha * e;
    return fma(alpha, e, alpha * ((1.0 + e) * r));
}

/* gelu(x) = x/2 * erfc(-x/sqrt(2)): accurate for negative x, where
 * erf's form 1 + erf(...) cancels.  erfc's condition number there is about
 * x^2, so -x/sqrt(2) = th + tl is double-double and
 * erfc(th + tl) = erfc(th) - 2/sqrt(pi) exp(-th^2) tl. */
static double gelu(double x) {
    if (isnan(x))
        return x;
    if (isinf(x))
        return x > 0 ? x : -0.0;
    double ph, pl;
    two_prod(x, RSQRT2_HI, &ph, &pl);
    pl += x * RSQRT2_LO;
    double th = -ph, tl = -pl;
    double e = erfc(th) - TWO_OVER_SQRTPI * exp(-th * th) * tl;
    return x * (0.5 * e); /* 0.5 * e <= 1 for x >= 0: no overflow */
}

/* gelu_tanh(x) = x/2 * (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3),
 * evaluated as x * sigmoid(2u): 1 + tanh(u) cancels for negative x.  The
 * sigmoid's condition number is |2u| (~70 at x = -10), so 2u is carried as
 * double-double, with 0.044715 and sqrt(8/pi) as double-double constants. */
static double gelu_tanh(double x) {
    if (isnan(x))
        return x;
    if (fabs(x) > 0x1p100) /* x^3 would overflow; sigmoid(2u) is 0 or 1 */
        return x > 0 ? x : -0.0;
    double yh, yl, ch, cl, mh, ml, sh, sl, vh, vl;
    two_prod(x, x, &yh, &yl);
    two_prod(yh, x, &ch, &cl);
    cl += yl * x; /* x^3 = ch + cl */
    two_prod(KAPPA_HI, ch, &mh, &ml);
    ml += KAPPA_HI * cl + KAPPA_LO * ch; /* 0.044715 x^3 = mh + ml */
    two_sum(x, mh, &sh, &sl);
    sl += ml; /* x + 0.044715 x^3 = sh + sl */
    two_prod(SQRT_8_PI_HI, sh, &vh, &vl);
    vl += SQRT_8_PI_HI * sl + SQRT_8_PI_LO * sh; /* 2u = vh + vl */
    return mul_sigmoid(x, vh, vl);
}

/* x * sigmoid(x * c) for silu (c = 1), swish (c = beta) and quick_gelu
 * (c = 1.702 = chi + clo): the product x * c is carried as double-double,
 * since sigmoid's condition number is |x c|. */
static double x_sigmoid_scaled(double x, double chi, double clo) {
    if (isnan(x))
        return x;
    if (isinf(x))
        return inf_mul_sigmoid(x, chi == 0 ? 0.0 : chi * x);
    double zh, zl;
    two_prod(chi, x, &zh, &zl);
    zl += clo * x;
    return mul_sigmoid(x, zh, zl);
}

/* mish(x) = x * tanh(softplus(x)).  tanh(log1p(e^x)) is the ratio
 * (1 + 2q) / (1 + 2q + 2q^2) with q = exp(-x) for x > 0, and
 * (e^2 + 2e) / (e^2 + 2e + 2) with e = exp(x) for x < 0: no overflow, no
 * cancellation.  Numerator (times x) and denominator are double-double. */
static double mish(double x) {
    if (isnan(x) || x == 0) /* mish(-0) = -0 */
        return x;
    if (isinf(x))
        return x > 0 ? x : -0.0;
    if (x < EXP_SUBNORMAL) /* tanh(softplus(x)) = e^x to double precision */
        return mul_exp_scaled(x, x, 0.0);
    double nh, nl, ph, pl, dh, dl, mh, ml;
    if (x > 0) {
        double q = exp(-x);
        two_sum(1.0, 2.0 * q, &nh, &nl);
        two_prod(2.0 * q, q, &ph, &pl);
        two_sum(nh, ph, &dh, &dl);
        dl += nl + pl;
    } else {
        double e = exp(x);
        two_prod(e, e, &ph, &pl);
        two_sum(2.0 * e, ph, &nh, &nl);
        nl += pl;
        two_sum(2.0, nh, &dh, &dl);
        dl += nl;
    }
    two_prod(x, nh, &mh, &ml);
    ml += x * nl;
    return dd_div(mh, ml, dh, dl);
}

/* softplus(x, beta, threshold) = x if beta x > threshold, else
 * log1p(exp(beta x)) / beta (PyTorch's rule); beta x is double-double. */
static double softplus(double x, double beta, double threshold) {
    double zh, zl;
    two_prod(beta, x, &zh, &zl);
    if (zh > threshold)
        return x;
    if (zh < EXP_SUBNORMAL)
        return mul_exp_scaled(1.0 / beta, zh, zl);
    if (zh < -37) { /* log1p(e) = e - e^2/2 to double precision */
        double e = exp(zh);
        return dd_div(e, e * (zl - 0.5 * e), beta, 0.0);
    }
    return softplus_div(zh, zl, beta);
}

/* softsign(x) = x / (1 + |x|), the rounding of 1 + |x| corrected. */
static double softsign(double x) {
    if (isinf(x))
        return copysign(1.0, x);
    double dh, dl;
    two_sum(1.0, fabs(x), &dh, &dl);
    return dd_div(x, 0.0, dh, dl);
}

/* hardsigmoid(x) = relu6(x + 3) / 6, with x + 3 = h + e exact. */
static double hardsigmoid(double x) {
    if (isnan(x))
        return x;
    if (x <= -3)
        return 0.0;
    if (x >= 3)
        return 1.0;
    double h, e;
    two_sum(x, 3.0, &h, &e);
    double q = h / 6.0;
    return q + (fma(-q, 6.0, h) + e) / 6.0;
}

/* hardswish(x) = x * relu6(x + 3) / 6; x <= -3 gives x * 0 = -0, x >= 3
 * gives x itself (no overflow), between them x (x + 3) is formed by one fma. */
static double hardswish(double x) {
    if (isnan(x))
        return x;
    if (x <= -3)
        return -0.0;
    if (x >= 3)
        return x;
    double h, e;
    two_sum(x, 3.0, &h, &e);
    return fma(x, h, x * e) / 6.0;
}

/* logsigmoid(x) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)); both terms
 * have the same sign, so nothing cancels.  logsigmoid(+inf) = -0. */
static double logsigmoid(double x) {
    if (x < 0)
        return x - log1p(exp(x));
    return -log1p(exp(-x));
}

/* Depth of Lambert's continued fraction in tanhshrink; for |x| < 1 the
 * truncation error is below 2e-33 relative. */
#define TANHSHRINK_CF_DEPTH 14

/* tanhshrink(x) = x - tanh(x), which cancels for small |x|.  For |x| < 1,
 * Lambert's continued fraction tanh x = x / (1 + y/(3 + y/(5 + ...))),
 * y = x^2, turns it into x^3 / (3 + y + y/(5 + y/(7 + ...))): positive
 * terms only; x^3 and 3 + y are double-double.  For |x| >= 1,
 * x - tanh x = (x - 1) + 2q / (1 + q) with q = exp(-2x): again two terms
 * of the same sign, and x - 1 is exact. */
static double tanhshrink(double x) {
    double a = fabs(x);
    if (a == 0)
        return x; /* tanhshrink(-0) = -0 */
    if (a >= 1) { /* NaN goes to the other branch */
        double q = exp(-2.0 * a);
        double dh, dl, sh, sl;
        two_sum(1.0, q, &dh, &dl);
        double th = 2.0 * q / dh; /* 2q / (1 + q) = th + tl */
        double tl = (fma(-th, dh, 2.0 * q) - th * dl) / dh;
        two_sum(a - 1.0, th, &sh, &sl);
        return copysign(sh + (sl + tl), x);
    }
    double yh, yl, ch, cl, eh, el;
    two_prod(x, x, &yh, &yl);
    two_prod(yh, x, &ch, &cl);
    cl += yl * x; /* x^3 = ch + cl */
    double d = 2 * TANHSHRINK_CF_DEPTH + 1;
    for (int k = TANHSHRINK_CF_DEPTH - 1; k >= 2; k--)
        d = (2 * k + 1) + yh / d;
    two_sum(3.0, yh, &eh, &el);
    two_sum(eh, yh / d + (el + yl), &eh, &el); /* 3 + y + y / (5 + ...) = eh + el */
    return dd_div(ch, cl, eh, el);
}

/* softshrink: x - lambd above lambd, x + lambd below -lambd, else x * 0
 * (PyTorch's form: keeps NaN, and the sign of zero). */
static double softshrink(double x, double lambd) {
    if (x > lambd)
        return x - lambd;
    if (x < -lambd)
        return x + lambd;
    return x * 0.0;
}

/* hardshrink: 0 on [-lambd, lambd], else x (NaN compares false: stays). */
static double hardshrink(double x, double lambd) {
    return (x >= -lambd && x <= lambd) ? 0.0 : x;
}

/* ---- dispatch ---- */

bool ref_is_unary(BuiltinId id) {
    switch (id) {
    case BI_EXP: case BI_EXPM1: case BI_LOG: case BI_LOG1P: case BI_SQRT: case BI_RSQRT:
    case BI_ABS: case BI_TANH: case BI_SIGMOID: case BI_ERF: case BI_ERFC: case BI_CLAMP:
    case BI_POW:
    case BI_RELU: case BI_RELU6: case BI_LEAKY_RELU: case BI_PRELU: case BI_ELU: case BI_SELU:
    case BI_CELU: case BI_GELU: case BI_GELU_TANH: case BI_QUICK_GELU: case BI_SILU:
    case BI_SWISH: case BI_MISH: case BI_SOFTPLUS: case BI_SOFTSIGN: case BI_HARDSIGMOID:
    case BI_HARDSWISH: case BI_HARDTANH: case BI_LOGSIGMOID: case BI_TANHSHRINK:
    case BI_SOFTSHRINK: case BI_HARDSHRINK: case BI_IDENTITY:
        return true;
    default:
        return false;
    }
}

bool ref_is_gate(BuiltinId id) {
    switch (id) {
    case BI_GLU: case BI_BILINEAR: case BI_REGLU: case BI_GEGLU: case BI_GEGLU_TANH:
    case BI_SWIGLU:
        return true;
    default:
        return false;
    }
}

bool ref_is_binary(BuiltinId id) { return id == BI_MIN || id == BI_MAX; }

int ref_unary_nparams(BuiltinId id) {
    switch (id) {
    case BI_CLAMP: case BI_SOFTPLUS: case BI_HARDTANH:
        return 2;
    case BI_POW: case BI_LEAKY_RELU: case BI_PRELU: case BI_ELU: case BI_CELU: case BI_SWISH:
    case BI_SOFTSHRINK: case BI_HARDSHRINK:
        return 1;
    default:
        return 0;
    }
}

double ref_unary(BuiltinId id, double x, const double *p) {
    switch (id) {
    /* primitives (language.md §4.3): glibc's libm, within 1 ULP of the
     * correctly rounded result except tanh (2 ULP) and erfc (3 ULP) */
    case BI_EXP: return exp(x);
    case BI_EXPM1: return expm1(x);
    case BI_LOG: return log(x);
    case BI_LOG1P: return log1p(x);
    case BI_SQRT: return sqrt(x);
    case BI_RSQRT: return 1.0 / sqrt(x); /* rsqrt(-0) = -inf, like torch */
    case BI_ABS: return fabs(x);
    case BI_TANH: return tanh(x);
    case BI_SIGMOID: return sigmoid(x);
    case BI_ERF: return erf(x);
    case BI_ERFC: return erfc(x);
    case BI_CLAMP: return clamp(x, p[0], p[1]);
    case BI_POW: return pow(x, p[0]); /* C's pow: pow(NaN, 0) = 1, as torch.pow */
    /* activations (language.md §5) */
    case BI_RELU: return isnan(x) ? x : (x > 0 ? x : 0.0);
    case BI_RELU6: return clamp(x, 0.0, 6.0);
    case BI_LEAKY_RELU: return leaky_relu(x, p[0]);
    case BI_PRELU: return leaky_relu(x, p[0]);
    case BI_ELU: return x > 0 ? x : p[0] * expm1(x);
    case BI_SELU: return selu(x);
    case BI_CELU: return celu(x, p[0]);
    case BI_GELU: return gelu(x);
    case BI_GELU_TANH: return gelu_tanh(x);
    case BI_QUICK_GELU: return x_sigmoid_scaled(x, QUICK_HI, QUICK_LO);
    case BI_SILU: return x_sigmoid_scaled(x, 1.0, 0.0);
    case BI_SWISH: return x_sigmoid_scaled(x, p[0], 0.0);
    case BI_MISH: return mish(x);
    case BI_SOFTPLUS: return softplus(x, p[0], p[1]);
    case BI_SOFTSIGN: return softsign(x);
    case BI_HARDSIGMOID: return hardsigmoid(x);
    case BI_HARDSWISH: return hardswish(x);
    case BI_HARDTANH: return clamp(x, p[0], p[1]);
    case BI_LOGSIGMOID: return logsigmoid(x);
    case BI_TANHSHRINK: return tanhshrink(x);
    case BI_SOFTSHRINK: return softshrink(x, p[0]);
    case BI_HARDSHRINK: return hardshrink(x, p[0]);
    case BI_IDENTITY: return x;
    default: return NAN;
    }
}

/* act(a) * b for a gate whose activation is nonzero for every finite
 * a != 0 and has the sign of a (silu, gelu, gelu_tanh): when b = ±inf the
 * product is ±inf even where act(a) underflows to zero in double. */
static double signed_act_times(double act, double a, double b) {
    if (isinf(b) && isfinite(a) && a != 0)
        return a > 0 ? b : -b;
    return act * b;
}

double ref_gate(BuiltinId id, double a, double b) {
    switch (id) {
    case BI_GLU:
        if (isinf(b)) /* sigmoid(a) > 0 for finite a, exactly 0 at a = -inf */
            return isfinite(a) ? b : sigmoid(a) * b;
        return isinf(a) ? sigmoid(a) * b : mul_sigmoid(b, a, 0.0);
    case BI_BILINEAR: return a * b;
    case BI_REGLU: return ref_unary(BI_RELU, a, NULL) * b;
    case BI_GEGLU: return signed_act_times(gelu(a), a, b);
    case BI_GEGLU_TANH: return signed_act_times(gelu_tanh(a), a, b);
    case BI_SWIGLU: return signed_act_times(ref_unary(BI_SILU, a, NULL), a, b);
    default: return NAN;
    }
}

double ref_binary(BuiltinId id, double a, double b) {
    switch (id) {
    case BI_MIN: return min_prop(a, b);
    case BI_MAX: return max_prop(a, b);
    default: return NAN;
    }
}
