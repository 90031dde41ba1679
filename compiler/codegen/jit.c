/*
 * jit.c — ORC LLJIT (style.md §7): a JIT per Target, a resource tracker per
 * added module so that it can be unloaded, modules handed over as
 * thread-safe modules and never touched again.  LLJIT maps code pages
 * read+execute, never writable and executable at once.
 */
#include <llvm-c/LLJIT.h>
#include <stdio.h>
#include <string.h>

#include "codegen.h"

struct Jit {
    LLVMOrcLLJITRef jit;
};

static int fail_error(LLVMErrorRef e, const char *what, char *err, size_t errlen) {
    char *m = LLVMGetErrorMessage(e);
    snprintf(err, errlen, "%s: %.400s", what, m);
    LLVMDisposeErrorMessage(m);
    return ACTC_ERR_INTERNAL;
}

int jit_create(Jit **out, const Target *t, char *err, size_t errlen) {
    *out = NULL;
    if (!t->is_host) {
        snprintf(err, errlen, "cannot JIT code for '%s' on this machine", t->triple);
        return ACTC_ERR_ARG;
    }
    LLVMTargetMachineRef tm = target_clone_tm(t);
    if (!tm) {
        snprintf(err, errlen, "cannot create a target machine for the JIT");
        return ACTC_ERR_INTERNAL;
    }
    /* consumes tm */
    LLVMOrcJITTargetMachineBuilderRef jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm);
    LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(b, jtmb); /* consumes jtmb */
    LLVMOrcLLJITRef jit;
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&jit, b); /* consumes b */
    if (e)
        return fail_error(e, "cannot create the JIT", err, errlen);
    Jit *j = mem_alloc(sizeof *j);
    if (!j) {
        LLVMOrcDisposeLLJIT(jit);
        return ACTC_ERR_NOMEM;
    }
    j->jit = jit;
    *out = j;
    return ACTC_OK;
}

void jit_dispose(Jit *j) {
    if (!j)
        return;
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->jit);
    if (e)
        LLVMConsumeError(e);
    mem_free(j);
}

int jit_add(Jit *j, CG *cg, void **tracker, char *err, size_t errlen) {
    LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(j->jit);
    LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(jd);
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(cg->mod, cg->tsc);
    cg->mod = NULL; /* owned by tsm now */
    LLVMOrcDisposeThreadSafeContext(cg->tsc); /* tsm keeps the context alive */
    cg->tsc = NULL;
    LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModuleWithRT(j->jit, rt, tsm); /* consumes tsm, even on error */
    if (e) {
        LLVMOrcReleaseResourceTracker(rt);
        return fail_error(e, "cannot add the module to the JIT", err, errlen);
    }
    *tracker = rt;
    return ACTC_OK;
}

int jit_lookup(Jit *j, const char *name, void **addr, char *err, size_t errlen) {
    LLVMOrcExecutorAddress a = 0;
    LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &a, name);
    if (e)
        return fail_error(e, "symbol lookup failed", err, errlen);
    *addr = (void *)(uintptr_t)a;
    return ACTC_OK;
}

void jit_remove(Jit *j, void *tracker) {
    (void)j;
    LLVMOrcResourceTrackerRef rt = tracker;
    LLVMErrorRef e = LLVMOrcResourceTrackerRemove(rt);
    if (e)
        LLVMConsumeError(e);
    LLVMOrcReleaseResourceTracker(rt);
}
