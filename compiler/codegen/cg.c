/*
 * cg.c — one LLVM context and module per compilation (style.md §7): the
 * context comes from an ORC thread-safe context so that the module can be
 * handed to the JIT; cg_finish() verifies the module and runs default<O3>
 * with the target machine (for its vector cost model).
 */
#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdio.h>
#include <string.h>

#include "codegen.h"

void cg_init(CG *cg, const Target *t, const char *module_name) {
    memset(cg, 0, sizeof *cg);
    cg->t = t;
    cg->tsc = LLVMOrcCreateNewThreadSafeContext();
    cg->ctx = LLVMOrcThreadSafeContextGetContext(cg->tsc);
    cg->mod = LLVMModuleCreateWithNameInContext(module_name, cg->ctx);
    LLVMSetTarget(cg->mod, t->triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(t->tm);
    char *dls = LLVMCopyStringRepOfTargetData(dl);
    LLVMSetDataLayout(cg->mod, dls);
    LLVMDisposeMessage(dls);
    LLVMDisposeTargetData(dl);
    cg->b = LLVMCreateBuilderInContext(cg->ctx);
    cg->t_f32 = LLVMFloatTypeInContext(cg->ctx);
    cg->t_f64 = LLVMDoubleTypeInContext(cg->ctx);
    cg->t_i1 = LLVMInt1TypeInContext(cg->ctx);
    cg->t_i32 = LLVMInt32TypeInContext(cg->ctx);
    cg->t_i64 = LLVMInt64TypeInContext(cg->ctx);
    cg->t_ptr = LLVMPointerTypeInContext(cg->ctx, 0);
}

void cg_dispose(CG *cg) {
    if (cg->b)
        LLVMDisposeBuilder(cg->b);
    if (cg->mod)
        LLVMDisposeModule(cg->mod);
    if (cg->tsc)
        LLVMOrcDisposeThreadSafeContext(cg->tsc);
    memset(cg, 0, sizeof *cg);
}

LLVMValueRef cg_intrinsic(CG *cg, const char *name, LLVMTypeRef ty, LLVMTypeRef *fnty) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    if (!id)
        ACTC_BUG("unknown intrinsic %s", name);
    size_t n = ty ? 1 : 0; /* NULL: not overloaded */
    *fnty = LLVMIntrinsicGetType(cg->ctx, id, ty ? &ty : NULL, n);
    return LLVMGetIntrinsicDeclaration(cg->mod, id, ty ? &ty : NULL, n);
}

int cg_verify(CG *cg, const char *what, char *err, size_t errlen) {
    char *msg = NULL;
    if (LLVMVerifyModule(cg->mod, LLVMReturnStatusAction, &msg)) {
        snprintf(err, errlen, "internal error: %s does not verify: %.400s", what, msg ? msg : "");
        LLVMDisposeMessage(msg);
        return ACTC_ERR_INTERNAL;
    }
    LLVMDisposeMessage(msg);
    return ACTC_OK;
}

int cg_finish(CG *cg, char *err, size_t errlen) {
    if (cg->b) {
        LLVMDisposeBuilder(cg->b);
        cg->b = NULL;
    }
    int st = cg_verify(cg, "generated code", err, errlen);
    if (st)
        return st;
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
    LLVMErrorRef e = LLVMRunPasses(cg->mod, "default<O3>", cg->t->tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (e) {
        char *m = LLVMGetErrorMessage(e);
        snprintf(err, errlen, "internal error: optimisation failed: %.400s", m);
        LLVMDisposeErrorMessage(m);
        return ACTC_ERR_INTERNAL;
    }
    return ACTC_OK;
}

const char *cg_print_module(CG *cg, Arena *a) {
    char *s = LLVMPrintModuleToString(cg->mod);
    const char *r = arena_strdup(a, s);
    LLVMDisposeMessage(s);
    return r;
}

const char *cg_print_asm(CG *cg, Arena *a) {
    LLVMMemoryBufferRef buf = NULL;
    char *msg = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(cg->t->tm, cg->mod, LLVMAssemblyFile, &msg, &buf)) {
        LLVMDisposeMessage(msg);
        return NULL;
    }
    const char *r = arena_strndup(a, LLVMGetBufferStart(buf), LLVMGetBufferSize(buf));
    LLVMDisposeMemoryBuffer(buf);
    return r;
}

void cg_mark_target(CG *cg, const char *prefix, const Target *t) {
    size_t np = strlen(prefix);
    LLVMAttributeRef cpu = LLVMCreateStringAttribute(cg->ctx, "target-cpu", 10, t->cpu, (unsigned)strlen(t->cpu));
    LLVMAttributeRef feat =
        LLVMCreateStringAttribute(cg->ctx, "target-features", 15, t->features, (unsigned)strlen(t->features));
    for (LLVMValueRef f = LLVMGetFirstFunction(cg->mod); f; f = LLVMGetNextFunction(f)) {
        size_t n;
        const char *name = LLVMGetValueName2(f, &n);
        if (LLVMIsDeclaration(f) || n <= np || strncmp(name, prefix, np) != 0 || name[np] != '_')
            continue;
        LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, cpu);
        LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, feat);
    }
}

LLVMValueRef cg_const_global(CG *cg, LLVMValueRef init, const char *name) {
    LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    return g;
}
