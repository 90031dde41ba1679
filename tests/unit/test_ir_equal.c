/*
 * test_ir_equal.c — the structural comparison that lets identical kernels
 * share one body (compiler/codegen/ir_equal.c): two bodies built the same
 * way are equal and hash equal; each single difference a kernel could have
 * (a constant, a flag, an alignment, a predicate, an operand's order, a
 * loop's incoming block, an epilogue function's code, a metadata kind, one
 * instruction more) makes them unequal.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "base/base.h"
#include "codegen/codegen.h"

typedef enum Mut {
    M_NONE,
    M_CONST,     /* a different constant */
    M_ALIGN,     /* a store's alignment */
    M_PRED,      /* an icmp predicate */
    M_SWAP,      /* fsub operands swapped */
    M_NSW,       /* nsw on the index increment */
    M_INBOUNDS,  /* a non-inbounds GEP */
    M_EPI,       /* the epilogue function multiplies instead of adding */
    M_MD,        /* invariant.load metadata on the load */
    M_EXTRA,     /* one instruction more */
    M_PHI,       /* the phi's incoming blocks exchanged */
    M_FMF,       /* fast-math flags on the fmul */
    M_GEPTYPE,   /* the GEP's source element type */
    M_CALLEE,    /* calls another (shared) function */
    M_COUNT
} Mut;

/* NAME_body(ptr p, i64 n): for i < n: p[i] = NAME_body_epi(p[i] * 2.0 - 1.0) */
static LLVMValueRef build(LLVMModuleRef m, const char *name, Mut mut, LLVMValueRef other_callee) {
    LLVMContextRef cx = LLVMGetModuleContext(m);
    LLVMTypeRef f32 = LLVMFloatTypeInContext(cx), i64 = LLVMInt64TypeInContext(cx),
                ptr = LLVMPointerTypeInContext(cx, 0);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(cx);
    char epi_name[64];
    snprintf(epi_name, sizeof epi_name, "%s_epi0", name);
    LLVMTypeRef ety = LLVMFunctionType(f32, &f32, 1, 0);
    LLVMValueRef epi = LLVMAddFunction(m, epi_name, ety);
    LLVMSetLinkage(epi, LLVMInternalLinkage);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(cx, epi, "e"));
    LLVMValueRef one = LLVMConstReal(f32, 1.0);
    LLVMBuildRet(b, mut == M_EPI ? LLVMBuildFMul(b, LLVMGetParam(epi, 0), one, "")
                                 : LLVMBuildFAdd(b, LLVMGetParam(epi, 0), one, ""));

    LLVMTypeRef args[2] = {ptr, i64};
    LLVMValueRef fn = LLVMAddFunction(m, name, LLVMFunctionType(LLVMVoidTypeInContext(cx), args, 2, 0));
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(cx, fn, "entry");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(cx, fn, "loop");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cx, fn, "done");
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMBuildBr(b, loop);
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
    LLVMValueRef p = LLVMBuildGEP2(b, mut == M_GEPTYPE ? i64 : f32, LLVMGetParam(fn, 0), &i, 1, "");
    if (mut != M_INBOUNDS)
        LLVMSetIsInBounds(p, 1);
    LLVMValueRef x = LLVMBuildLoad2(b, f32, p, "");
    LLVMSetAlignment(x, 4);
    if (mut == M_MD)
        LLVMSetMetadata(x, LLVMGetMDKindIDInContext(cx, "invariant.load", 14),
                        LLVMMetadataAsValue(cx, LLVMMDNodeInContext2(cx, NULL, 0)));
    LLVMValueRef y = LLVMBuildFMul(b, x, LLVMConstReal(f32, mut == M_CONST ? 3.0 : 2.0), "");
    if (mut == M_FMF)
        LLVMSetFastMathFlags(y, LLVMFastMathAllowContract);
    LLVMValueRef z = mut == M_SWAP ? LLVMBuildFSub(b, one, y, "") : LLVMBuildFSub(b, y, one, "");
    if (mut == M_EXTRA)
        z = LLVMBuildFNeg(b, z, "");
    LLVMValueRef callee = mut == M_CALLEE ? other_callee : epi;
    LLVMValueRef r = LLVMBuildCall2(b, ety, callee, &z, 1, "");
    LLVMValueRef st = LLVMBuildStore(b, r, p);
    LLVMSetAlignment(st, mut == M_ALIGN ? 16 : 4);
    LLVMValueRef next = mut == M_NSW ? LLVMBuildNSWAdd(b, i, LLVMConstInt(i64, 1, 0), "")
                                     : LLVMBuildAdd(b, i, LLVMConstInt(i64, 1, 0), "");
    LLVMValueRef c = LLVMBuildICmp(b, mut == M_PRED ? LLVMIntSLE : LLVMIntSLT, next, LLVMGetParam(fn, 1), "");
    LLVMBuildCondBr(b, c, loop, done);
    LLVMValueRef zero = LLVMConstInt(i64, 0, 0);
    LLVMValueRef vals[2] = {zero, next};
    LLVMBasicBlockRef from[2] = {entry, loop};
    if (mut == M_PHI) /* same values, blocks exchanged */
        from[0] = loop, from[1] = entry;
    LLVMAddIncoming(i, vals, from, 2);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    return fn;
}

Test(ir_equal, same_code_is_equal_and_every_difference_is_not) {
    LLVMContextRef cx = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("t", cx);
    Arena a = {0};
    /* a function of neither body, for M_CALLEE: same type as the epilogue */
    LLVMTypeRef f32 = LLVMFloatTypeInContext(cx);
    LLVMValueRef shared = LLVMAddFunction(m, "shared_fn", LLVMFunctionType(f32, &f32, 1, 0));
    LLVMValueRef base = build(m, "k0_body", M_NONE, shared);
    LLVMValueRef same = build(m, "k1_body", M_NONE, shared);
    cr_assert(cg_body_part(LLVMGetNamedFunction(m, "k0_body_epi0"), base));
    cr_assert(!cg_body_part(LLVMGetNamedFunction(m, "k1_body_epi0"), base));
    cr_assert(!cg_body_part(base, base));
    cr_expect(cg_body_equal(base, same, &a));
    cr_expect(cg_body_equal(same, base, &a));
    cr_expect_eq(cg_body_hash(base), cg_body_hash(same));
    for (int mu = M_NONE + 1; mu < M_COUNT; mu++) {
        char name[32];
        snprintf(name, sizeof name, "m%d_body", mu);
        LLVMValueRef f = build(m, name, (Mut)mu, shared);
        cr_expect(!cg_body_equal(base, f, &a), "mutation %d compares equal", mu);
        cr_expect(!cg_body_equal(f, base, &a), "mutation %d compares equal (reversed)", mu);
    }
    arena_free(&a);
    LLVMDisposeModule(m);
    LLVMContextDispose(cx);
}
