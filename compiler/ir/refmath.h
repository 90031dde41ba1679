/*
 * refmath.h — the scalar math of the reference interpreter (interp.c), the
 * double-precision oracle that every generated kernel is tested against
 * (design.md §3).  Each function evaluates one builtin primitive, activation
 * (language.md §5) or gate (§6) exactly as torch.nn.functional defines it,
 * in double precision and as accurately as double allows (a couple of ULP
 * at most, also in the tails).  NaN in gives NaN out for every activation
 * and gate; ±inf give the function's limits.  Pure functions, thread-safe.
 */
#ifndef ACTC_REFMATH_H
#define ACTC_REFMATH_H

#include <stdbool.h>

#include "front/front.h"

/* True for the builtins that ref_unary() evaluates: the one-operand
 * primitives (exp expm1 log log1p sqrt rsqrt abs tanh sigmoid erf erfc clamp
 * pow) and every BK_ACT activation. */
bool ref_is_unary(BuiltinId id);

/* True for the BK_GATE builtins, which ref_gate() evaluates. */
bool ref_is_gate(BuiltinId id);

/* True for the two-operand primitives min and max, which ref_binary()
 * evaluates. */
bool ref_is_binary(BuiltinId id);

/* Number of constant parameters ref_unary() reads from p for id: clamp 2,
 * pow 1, prelu 1 (the slope), softplus 2, hardtanh 2, leaky_relu / elu /
 * celu / swish / softshrink / hardshrink 1, everything else 0. */
int ref_unary_nparams(BuiltinId id);

/* id(x) for a unary builtin (ref_is_unary(id)); p holds its constant
 * parameters in builtins.c order and may be NULL when it has none:
 *   clamp      p[0] = min, p[1] = max        pow        p[0] = exponent
 *   leaky_relu p[0] = negative_slope         prelu      p[0] = this element's slope
 *   elu, celu  p[0] = alpha                  swish      p[0] = beta
 *   softplus   p[0] = beta, p[1] = threshold hardtanh   p[0] = min_val, p[1] = max_val
 *   softshrink, hardshrink  p[0] = lambd
 * gelu ignores p: it is always the erf form; the checker maps
 * approximate = "tanh" to BI_GELU_TANH.  For prelu the caller looks up the
 * learned weight (one per channel, or one in all) and passes it as p[0].
 * An id that is not unary gives NaN. */
double ref_unary(BuiltinId id, double x, const double *p);

/* id(a, b) for a gate (ref_is_gate(id)); a is the activated operand
 * (language.md §6): glu sigmoid(a)*b, bilinear a*b, reglu relu(a)*b,
 * geglu gelu(a)*b, geglu_tanh gelu_tanh(a)*b, swiglu silu(a)*b.
 * Any NaN operand gives NaN; 0 * inf gives NaN as in PyTorch.  An id that is
 * not a gate gives NaN. */
double ref_gate(BuiltinId id, double a, double b);

/* min(a, b) or max(a, b) like torch.minimum / torch.maximum: a NaN operand
 * gives NaN, and -0 orders below +0 (IEEE 754-2019 minimum / maximum, the
 * semantics of LLVM's llvm.minimum / llvm.maximum).  Other ids give NaN. */
double ref_binary(BuiltinId id, double a, double b);

#endif
