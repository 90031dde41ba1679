/*
 * vmath.h — internal to the elementwise math (cg_vmath*.c): instruction
 * helpers over a VM's lanes, shared by the tiers (docs/accuracy.md):
 *   cg_vmath.c          the dispatcher (vm_op) and the exact piecewise ops
 *   cg_vmath_exact.c    the f64 tier (--exact): widen, evaluate, round once
 *   cg_vmath_fast.c     the fast tier (--fast-math)
 *   cg_vmath_precise.c  the precise tier (the default): f32 with error-free
 *                       transformations
 */
#ifndef ACTC_VMATH_H
#define ACTC_VMATH_H

#include <math.h>

#include "codegen.h"

#define B (vm->cg->b)

static inline LLVMValueRef cd(VM *vm, double v) { return vm_splat(vm, LLVMConstReal(vm->cg->t_f64, v)); }
static inline LLVMValueRef cf(VM *vm, double v) { return vm_splat(vm, LLVMConstReal(vm->cg->t_f32, v)); }
static inline LLVMValueRef ci64(VM *vm, long long v) { return vm_splat(vm, LLVMConstInt(vm->cg->t_i64, (unsigned long long)v, 1)); }
static inline LLVMTypeRef vec_of(VM *vm, LLVMTypeRef t) { return vm->n == 1 ? t : LLVMVectorType(t, (unsigned)vm->n); }

/* ---- instruction helpers ---- */

static inline LLVMValueRef add(VM *vm, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(B, a, b, ""); }
static inline LLVMValueRef sub(VM *vm, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(B, a, b, ""); }
static inline LLVMValueRef mul(VM *vm, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(B, a, b, ""); }
static inline LLVMValueRef fdiv(VM *vm, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFDiv(B, a, b, ""); }
static inline LLVMValueRef neg(VM *vm, LLVMValueRef a) { return LLVMBuildFNeg(B, a, ""); }
static inline LLVMValueRef sel(VM *vm, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildSelect(B, c, a, b, ""); }
static inline LLVMValueRef cmp(VM *vm, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildFCmp(B, p, a, b, "");
}
static inline LLVMValueRef ext(VM *vm, LLVMValueRef x) { return LLVMBuildFPExt(B, x, vm->td, ""); }
static inline LLVMValueRef trunc_(VM *vm, LLVMValueRef x) { return LLVMBuildFPTrunc(B, x, vm->tf, ""); }

static inline LLVMValueRef call1(VM *vm, const char *name, LLVMTypeRef ty, LLVMValueRef a) {
    LLVMTypeRef fnty;
    LLVMValueRef fn = cg_intrinsic(vm->cg, name, ty, &fnty);
    return LLVMBuildCall2(B, fnty, fn, &a, 1, "");
}

static inline LLVMValueRef call2(VM *vm, const char *name, LLVMTypeRef ty, LLVMValueRef a, LLVMValueRef b) {
    LLVMTypeRef fnty;
    LLVMValueRef fn = cg_intrinsic(vm->cg, name, ty, &fnty);
    LLVMValueRef args[2] = {a, b};
    return LLVMBuildCall2(B, fnty, fn, args, 2, "");
}

/* a*b + c, fused where the target has FMA (llvm.fmuladd never calls libm) */
static inline LLVMValueRef fma_(VM *vm, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMTypeRef fnty;
    LLVMValueRef fn = cg_intrinsic(vm->cg, "llvm.fmuladd", LLVMTypeOf(a), &fnty);
    LLVMValueRef args[3] = {a, b, c};
    return LLVMBuildCall2(B, fnty, fn, args, 3, "");
}

static inline LLVMValueRef fabs_(VM *vm, LLVMValueRef x) { return call1(vm, "llvm.fabs", LLVMTypeOf(x), x); }
static inline LLVMValueRef copysign_(VM *vm, LLVMValueRef mag, LLVMValueRef sgn) {
    return call2(vm, "llvm.copysign", LLVMTypeOf(mag), mag, sgn);
}
static inline LLVMValueRef isnan_(VM *vm, LLVMValueRef x) { return cmp(vm, LLVMRealUNO, x, x); }

static inline LLVMValueRef as_i64(VM *vm, LLVMValueRef x) { return LLVMBuildBitCast(B, x, vm->ti64, ""); }
static inline LLVMValueRef as_f64(VM *vm, LLVMValueRef x) { return LLVMBuildBitCast(B, x, vm->td, ""); }

/* Inside an activation (vm->act) the f64 kernels use shorter polynomials:
 * an activation's f64 core only needs ~1e-11 relative accuracy (its f32
 * result is rounded once and may be off by 4 ULP), against 1e-13 for the
 * primitives (1 ULP, exhaustively checked at 0.500).  (vscalefpd for 2^k
 * was tried: 12% faster in elementwise kernels, but it halved the speed of
 * dense + silu epilogues on Zen 4; vrcp14 plus Newton steps instead of
 * divisions was slower everywhere.) */

/* Horner: c[0] + x*(c[1] + x*(... c[n-1])) */
static inline LLVMValueRef horner(VM *vm, LLVMValueRef x, const double *c, int n) {
    LLVMValueRef r = cd(vm, c[n - 1]);
    for (int i = n - 2; i >= 0; i--)
        r = fma_(vm, r, x, cd(vm, c[i]));
    return r;
}

/* Clamp that keeps NaN (compares with NaN are false, so NaN passes). */
static inline LLVMValueRef clamp_d(VM *vm, LLVMValueRef x, double lo, double hi) {
    x = sel(vm, cmp(vm, LLVMRealOGT, x, cd(vm, hi)), cd(vm, hi), x);
    return sel(vm, cmp(vm, LLVMRealOLT, x, cd(vm, lo)), cd(vm, lo), x);
}

static inline LLVMValueRef cmpf(VM *vm, LLVMRealPredicate p, LLVMValueRef a, double b) { return cmp(vm, p, a, cf(vm, b)); }
static inline LLVMValueRef ci32(VM *vm, int v) { return vm_splat(vm, LLVMConstInt(vm->cg->t_i32, (unsigned long long)(long long)v, 1)); }
static inline LLVMValueRef as_i32(VM *vm, LLVMValueRef x) { return LLVMBuildBitCast(B, x, vm->ti32, ""); }
static inline LLVMValueRef as_f32(VM *vm, LLVMValueRef x) { return LLVMBuildBitCast(B, x, vm->tf, ""); }

static inline LLVMValueRef horner_f(VM *vm, LLVMValueRef x, const double *c, int n) {
    LLVMValueRef r = cf(vm, c[n - 1]);
    for (int i = n - 2; i >= 0; i--)
        r = fma_(vm, r, x, cf(vm, c[i]));
    return r;
}

static inline LLVMValueRef clamp_f(VM *vm, LLVMValueRef x, double lo, double hi) {
    x = sel(vm, cmpf(vm, LLVMRealOGT, x, hi), cf(vm, hi), x);
    return sel(vm, cmpf(vm, LLVMRealOLT, x, lo), cf(vm, lo), x);
}


/* v * 2^k for an integer k in [-252, 254] (kf: k as f32), rounded once:
 * vscalefps on 16 lanes of AVX-512, else two exact power-of-two factors */
static inline LLVMValueRef scale2f(VM *vm, LLVMValueRef v, LLVMValueRef k, LLVMValueRef kf) {
    if (vm->n == vm->cg->t->caps.scalef_lanes) {
        LLVMTypeRef fnty;
        LLVMValueRef fn = cg_intrinsic(vm->cg, "llvm.x86.avx512.mask.scalef.ps.512", NULL, &fnty);
        LLVMValueRef args[5] = {v, kf, LLVMGetUndef(vm->tf), LLVMConstInt(LLVMInt16TypeInContext(vm->cg->ctx), 0xFFFF, 0),
                                LLVMConstInt(vm->cg->t_i32, 4, 0) /* current rounding */};
        return LLVMBuildCall2(B, fnty, fn, args, 5, "");
    }
    LLVMValueRef k1 = LLVMBuildAShr(B, k, ci32(vm, 1), "");
    LLVMValueRef k2 = LLVMBuildSub(B, k, k1, "");
    LLVMValueRef s1 = as_f32(vm, LLVMBuildShl(B, LLVMBuildAdd(B, k1, ci32(vm, 127), ""), ci32(vm, 23), ""));
    LLVMValueRef s2 = as_f32(vm, LLVMBuildShl(B, LLVMBuildAdd(B, k2, ci32(vm, 127), ""), ci32(vm, 23), ""));
    return mul(vm, mul(vm, v, s1), s2);
}

/* ln 2 and log2 e: f64 parts (k * LN2_HI exact for |k| < 2^11) and f32 parts
 * (k * LN2F_HI exact for |k| < 512) */
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double LOG2E = 1.44269504088896338700e+00;
static const double LN2F_HI = 0.693145751953125;
static const double LN2F_LO = 1.428606765330187045e-06;

/* A tier that evaluates forms.def (vm_form): its lanes, its rules for the
 * formulas' arithmetic and its own algorithms. */
typedef struct VmTier {
    bool f64;   /* lanes are f64 (the exact tier): constants and compares too */
    bool recip; /* y / c as y * (1 / c) (the fast tier) */
    /* the tier's own algorithm for op (a primitive, or an activation whose
     * formula it evaluates otherwise), or NULL: then op's form */
    LLVMValueRef (*own)(VM *vm, Op op, const double *p, LLVMValueRef x);
} VmTier;
/* op on lanes x of tier t: t's own algorithm, else op's formula over t's
 * primitives, with the limits at -inf / +inf; NULL if op has neither */
LLVMValueRef vm_form(VM *vm, const VmTier *t, Op op, const double *p, LLVMValueRef x);

/* The tiers: the op's value on f32 lanes x (args: every operand), or NULL
 * where the tier has no form of its own for op. */
LLVMValueRef vm_exact_op(VM *vm, Op op, const double *p, LLVMValueRef x);
LLVMValueRef vm_fast_op(VM *vm, Op op, const double *p, LLVMValueRef x);
LLVMValueRef vm_precise_op(VM *vm, Op op, const double *p, LLVMValueRef x);

#endif
