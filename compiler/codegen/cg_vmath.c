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

/* ---- the formulas of forms.def in a tier ---- */

static LLVMValueRef kconst(VM *vm, const VmTier *t, double v) { return t->f64 ? cd(vm, v) : cf(vm, v); }

static bool is_value(const Form *f) { return f->leaf == FL_K || f->leaf == FL_P; }
static double value(const Form *f, const double *p) { return f->leaf == FL_K ? f->k : p[(int)f->k]; }

static LLVMValueRef form_eval(VM *vm, const VmTier *t, const Form *f, const double *p, LLVMValueRef x) {
    if (f->leaf == FL_X)
        return x;
    if (is_value(f))
        return kconst(vm, t, value(f, p));
#define E(i) form_eval(vm, t, f->a[i], p, x)
    /* a*b + c contracts to one multiply-add where the target fuses (as C's FP_CONTRACT on) */
    if (f->op == OP_ADD && f->a[0]->leaf == FL_NODE && f->a[0]->op == OP_MUL) {
        const Form *m = f->a[0];
        LLVMValueRef a = form_eval(vm, t, m->a[0], p, x), b = form_eval(vm, t, m->a[1], p, x);
        return fma_(vm, a, b, E(1));
    }
    if (f->op == OP_DIV && t->recip && is_value(f->a[1]))
        return mul(vm, E(0), kconst(vm, t, 1 / value(f->a[1], p)));
    LLVMValueRef a = E(0);
    switch (f->op) {
    case OP_ADD: return add(vm, a, E(1));
    case OP_SUB: return sub(vm, a, E(1));
    case OP_MUL: return mul(vm, a, E(1));
    case OP_DIV: return fdiv(vm, a, E(1));
    case OP_MIN: return call2(vm, "llvm.minimum", LLVMTypeOf(a), a, E(1));
    case OP_MAX: return call2(vm, "llvm.maximum", LLVMTypeOf(a), a, E(1));
    case OP_LT: return cmp(vm, LLVMRealOLT, a, E(1));
    case OP_GT: return cmp(vm, LLVMRealOGT, a, E(1));
    case OP_SELECT: {
        LLVMValueRef b = E(1);
        return sel(vm, a, b, E(2));
    }
    case OP_NEG: return neg(vm, a);
    case OP_ABS: return fabs_(vm, a);
    case OP_CLAMP: return t->f64 ? clamp_d(vm, a, f->p[0], f->p[1]) : clamp_f(vm, a, f->p[0], f->p[1]);
    default: {
        LLVMValueRef r = vm_form(vm, t, f->op, f->p, a);
        if (!r && !t->f64)
            r = vm_exact_op(vm, f->op, f->p, a);
        if (!r)
            ACTC_BUG("no form for op '%s' in a formula", op_info[f->op].name);
        return r;
    }
    }
#undef E
}

LLVMValueRef vm_form(VM *vm, const VmTier *t, Op op, const double *p, LLVMValueRef x) {
    LLVMValueRef r = t->own(vm, op, p, x);
    if (r)
        return r;
    const OpForm *of = op_form(op);
    if (!of)
        return NULL;
    r = form_eval(vm, t, of->f, p, x);
    double lo = of->at_neg_inf, hi = of->at_pos_inf;
    if (!isnan(lo) && !isnan(hi) && lo == -hi) /* odd limits: +-hi */
        return sel(vm, cmp(vm, LLVMRealOEQ, fabs_(vm, x), kconst(vm, t, INFINITY)), copysign_(vm, kconst(vm, t, hi), x), r);
    if (!isnan(lo))
        r = sel(vm, cmp(vm, LLVMRealOEQ, x, kconst(vm, t, -INFINITY)), kconst(vm, t, lo), r);
    if (!isnan(hi))
        r = sel(vm, cmp(vm, LLVMRealOEQ, x, kconst(vm, t, INFINITY)), kconst(vm, t, hi), r);
    return r;
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
