/*
 * cg_vmath.c — elementwise math as inline LLVM IR, for any vector width
 * (docs/accuracy.md).  No libm calls: every function is range reduction plus
 * polynomial (or Chebyshev) evaluation written in the tiers' files
 * (vmath.h).  Here: the lanes' types, and vm_op, which emits the exact or
 * single-rounding ops (arithmetic, compares, piecewise-linear activations:
 * relu, hardtanh, clamp, shrink) itself and hands the rest to the tier.
 */
#include "vmath.h"

/* ---- constants and types ---- */

LLVMValueRef vm_splat(VM *vm, LLVMValueRef c) {
    if (vm->n == 1)
        return c;
    LLVMValueRef v[64];
    for (int i = 0; i < vm->n; i++)
        v[i] = c;
    return LLVMConstVector(v, (unsigned)vm->n);
}


LLVMValueRef vm_splat_f32(VM *vm, double v) { return cf(vm, v); }

void vm_init(VM *vm, CG *cg, int n) {
    vm->cg = cg;
    vm->n = n;
    vm->tf = vec_of(vm, cg->t_f32);
    vm->td = vec_of(vm, cg->t_f64);
    vm->ti64 = vec_of(vm, cg->t_i64);
    vm->ti32 = vec_of(vm, cg->t_i32);
    vm->tb = vec_of(vm, cg->t_i1);
    vm->fast = cg->fast_math;
    vm->exact = cg->exact_math;
    vm->act = false;
}

LLVMValueRef vm_op(VM *vm, Op op, const double *p, LLVMValueRef *a) {
    LLVMValueRef x = a[0];
    switch (op) {
    /* exact or single-rounding in f32 */
    case OP_NEG: return neg(vm, x);
    case OP_ADD: return add(vm, x, a[1]);
    case OP_SUB: return sub(vm, x, a[1]);
    case OP_MUL: return mul(vm, x, a[1]);
    case OP_DIV: return fdiv(vm, x, a[1]);
    case OP_MIN: return call2(vm, "llvm.minimum", vm->tf, x, a[1]); /* NaN-propagating, -0 < +0 */
    case OP_MAX: return call2(vm, "llvm.maximum", vm->tf, x, a[1]);
    case OP_LT: return cmp(vm, LLVMRealOLT, x, a[1]);
    case OP_LE: return cmp(vm, LLVMRealOLE, x, a[1]);
    case OP_GT: return cmp(vm, LLVMRealOGT, x, a[1]);
    case OP_GE: return cmp(vm, LLVMRealOGE, x, a[1]);
    case OP_EQ: return cmp(vm, LLVMRealOEQ, x, a[1]);
    case OP_NE: return cmp(vm, LLVMRealUNE, x, a[1]);
    case OP_SELECT: return sel(vm, x, a[1], a[2]); /* the condition is an ordered compare: NaN is false */
    case OP_ABS: return fabs_(vm, x);
    case OP_SQRT: return call1(vm, "llvm.sqrt", vm->tf, x);
    case OP_RELU: return sel(vm, cmpf(vm, LLVMRealOLE, x, 0), cf(vm, 0), x);
    case OP_RELU6: return sel(vm, cmpf(vm, LLVMRealOLE, x, 0), cf(vm, 0), sel(vm, cmpf(vm, LLVMRealOGE, x, 6), cf(vm, 6), x));
    case OP_LEAKY_RELU: {
        LLVMValueRef neg_part = p[0] == 0 ? copysign_(vm, cf(vm, 0), x) : mul(vm, x, cf(vm, p[0]));
        return sel(vm, cmpf(vm, LLVMRealOLT, x, 0), neg_part, x);
    }
    case OP_PRELU: return sel(vm, cmpf(vm, LLVMRealOLT, x, 0), mul(vm, x, a[1]), x);
    case OP_CLAMP:
    case OP_HARDTANH: /* IEEE maximum/minimum: NaN propagates and max(-0, +0) = +0 */
        return call2(vm, "llvm.minimum", vm->tf, call2(vm, "llvm.maximum", vm->tf, x, cf(vm, p[0])), cf(vm, p[1]));
    case OP_SOFTSHRINK:
        return sel(vm, cmpf(vm, LLVMRealOGT, x, p[0]), sub(vm, x, cf(vm, p[0])),
                   sel(vm, cmpf(vm, LLVMRealOLT, x, -p[0]), add(vm, x, cf(vm, p[0])), mul(vm, x, cf(vm, 0))));
    case OP_HARDSHRINK: return sel(vm, cmpf(vm, LLVMRealOLE, fabs_(vm, x), p[0]), cf(vm, 0), x);
    default: break;
    }
    LLVMValueRef r = vm->fast ? vm_fast_op(vm, op, p, x) : vm->exact ? NULL : vm_precise_op(vm, op, p, x);
    if (!r)
        r = vm_exact_op(vm, op, p, x);
    if (!r)
        ACTC_BUG("no vector code for op '%s'", op_info[op].name);
    return r;
}
