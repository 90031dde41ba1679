/*
 * aot.c — ahead-of-time objects (docs/aot.md): the model's description
 * (actrt_desc, the ABI libactrt reads) as constant data in the object, the
 * functions of the generated header as thin LLVM wrappers around libactrt,
 * and the object file itself.  Kernels and the description get internal
 * linkage: the header's functions are the only symbols the object exports.
 */
#include <llvm-c/Analysis.h>
#include <stdio.h>
#include <string.h>

#include "codegen.h"

#define B (cg->b)

static LLVMValueRef i32c(CG *cg, long long v) { return LLVMConstInt(cg->t_i32, (unsigned long long)v, 1); }
static LLVMValueRef i64c(CG *cg, long long v) { return LLVMConstInt(cg->t_i64, (unsigned long long)v, 1); }

/* A private constant global holding `init`; returns its address. */
static LLVMValueRef const_global(CG *cg, LLVMValueRef init, const char *name) {
    LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    return g;
}

static LLVMValueRef cstr(CG *cg, const char *s) {
    if (!s)
        return LLVMConstNull(cg->t_ptr);
    return const_global(cg, LLVMConstStringInContext(cg->ctx, s, (unsigned)strlen(s), 0), ".str");
}

/* An array global of structs of type ty built from vals (n elements). */
static LLVMValueRef array_of(CG *cg, LLVMTypeRef ty, LLVMValueRef *vals, int n, const char *name) {
    if (n == 0)
        return LLVMConstNull(cg->t_ptr);
    return const_global(cg, LLVMConstArray2(ty, vals, (uint64_t)n), name);
}

static LLVMValueRef st(CG *cg, LLVMTypeRef ty, LLVMValueRef *f, unsigned n) {
    (void)cg;
    return LLVMConstNamedStruct(ty, f, n);
}

static LLVMTypeRef named_struct(CG *cg, const char *name, LLVMTypeRef *fields, unsigned n) {
    LLVMTypeRef t = LLVMStructCreateNamed(cg->ctx, name);
    LLVMStructSetBody(t, fields, n, 0); /* natural alignment: the C layout on LP64 targets */
    return t;
}

LLVMValueRef aot_emit_desc(CG *cg, const actrt_desc *d, const char *const *kernel_names, const char *symbol) {
    LLVMTypeRef P = cg->t_ptr, I32 = cg->t_i32, I64 = cg->t_i64;
    LLVMTypeRef port_t = named_struct(cg, "actrt_port_desc", (LLVMTypeRef[]){P, I64}, 2);
    LLVMTypeRef tensor_t = named_struct(cg, "actrt_tensor_desc", (LLVMTypeRef[]){P, I64, I64, P}, 4);
    LLVMTypeRef weight_t = named_struct(cg, "actrt_weight_desc", (LLVMTypeRef[]){I32, I32, I64, I64, I64, I64}, 6);
    LLVMTypeRef info_t = named_struct(cg, "actrt_kernel_info", (LLVMTypeRef[]){I32, I64, I64, P}, 4);
    LLVMTypeRef desc_t = named_struct(
        cg, "actrt_desc", (LLVMTypeRef[]){I32, P, I32, I32, P, P, I64, I32, I32, I32, P, P, P, I64, P}, 15);
    int n = d->ninputs + d->noutputs + d->ntensors + d->nweights + d->nkernels + 4;
    LLVMValueRef *v = mem_alloc(sizeof(LLVMValueRef) * (size_t)n);
    if (!v)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < d->ninputs; i++)
        v[i] = st(cg, port_t, (LLVMValueRef[]){cstr(cg, d->inputs[i].name), i64c(cg, d->inputs[i].n)}, 2);
    LLVMValueRef inputs = array_of(cg, port_t, v, d->ninputs, ".inputs");
    for (int i = 0; i < d->noutputs; i++)
        v[i] = st(cg, port_t, (LLVMValueRef[]){cstr(cg, d->outputs[i].name), i64c(cg, d->outputs[i].n)}, 2);
    LLVMValueRef outputs = array_of(cg, port_t, v, d->noutputs, ".outputs");
    for (int i = 0; i < d->ntensors; i++) {
        const actrt_tensor_desc *t = &d->tensors[i];
        v[i] = st(cg, tensor_t,
                  (LLVMValueRef[]){cstr(cg, t->name), i64c(cg, t->rows), i64c(cg, t->cols), cstr(cg, t->declared_at)}, 4);
    }
    LLVMValueRef tensors = array_of(cg, tensor_t, v, d->ntensors, ".tensors");
    for (int i = 0; i < d->nweights; i++) {
        const actrt_weight_desc *w = &d->weights[i];
        v[i] = st(cg, weight_t,
                  (LLVMValueRef[]){i32c(cg, w->tensor), i32c(cg, w->layout), i64c(cg, w->lo), i64c(cg, w->n),
                                   i64c(cg, w->k), i64c(cg, w->panel)}, 6);
    }
    LLVMValueRef weights = array_of(cg, weight_t, v, d->nweights, ".weights");
    for (int i = 0; i < d->nkernels; i++) {
        LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, kernel_names[i]);
        if (!fn)
            ACTC_BUG("kernel %s not in the module", kernel_names[i]);
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        v[i] = fn;
    }
    LLVMValueRef kernels = const_global(cg, LLVMConstArray2(P, v, (uint64_t)d->nkernels), ".kernels");
    LLVMValueRef info = LLVMConstNull(P);
    if (d->kernel_info) {
        for (int i = 0; i < d->nkernels; i++) {
            const actrt_kernel_info *k = &d->kernel_info[i];
            v[i] = st(cg, info_t, (LLVMValueRef[]){i32c(cg, k->kind), i64c(cg, k->n), i64c(cg, k->k), cstr(cg, k->lines)},
                      4);
        }
        info = array_of(cg, info_t, v, d->nkernels, ".kernel_info");
    }
    LLVMValueRef f[15] = {i32c(cg, d->abi_version), cstr(cg, d->name), i32c(cg, d->ninputs), i32c(cg, d->noutputs),
                          inputs, outputs, i64c(cg, d->fixed_batch), i32c(cg, d->ntensors), i32c(cg, d->nweights),
                          i32c(cg, d->nkernels), tensors, weights, kernels, i64c(cg, d->scratch_per_row), info};
    mem_free(v);
    LLVMValueRef g = const_global(cg, LLVMConstNamedStruct(desc_t, f, 15), symbol);
    LLVMSetLinkage(g, LLVMInternalLinkage);
    return g;
}

/* declare (once) a libactrt function */
static LLVMValueRef rt_fn(CG *cg, const char *name, LLVMTypeRef ret, LLVMTypeRef *args, unsigned n, LLVMTypeRef *ty) {
    *ty = LLVMFunctionType(ret, args, n, 0);
    LLVMValueRef f = LLVMGetNamedFunction(cg->mod, name);
    return f ? f : LLVMAddFunction(cg->mod, name, *ty);
}

static LLVMValueRef begin_fn(CG *cg, const char *name, LLVMTypeRef ret, LLVMTypeRef *args, unsigned n) {
    LLVMValueRef f = LLVMAddFunction(cg->mod, name, LLVMFunctionType(ret, args, n, 0));
    LLVMSetVisibility(f, LLVMDefaultVisibility);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(cg->ctx, f, "entry"));
    return f;
}

void aot_emit_api(CG *cg, const actrt_desc *d, LLVMValueRef desc, const char *prefix, Arena *a) {
    LLVMTypeRef P = cg->t_ptr, I32 = cg->t_i32, I64 = cg->t_i64, VOID = LLVMVoidTypeInContext(cg->ctx);
    LLVMTypeRef ty;
    /* int P_create(P_model **out, const char *weights_path) */
    LLVMValueRef f = begin_fn(cg, arena_printf(a, "%s_create", prefix), I32, (LLVMTypeRef[]){P, P}, 2);
    LLVMValueRef cl = rt_fn(cg, "actrt_model_create_loaded", I32, (LLVMTypeRef[]){P, P, P, P, I64}, 5, &ty);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, cl,
                                   (LLVMValueRef[]){LLVMGetParam(f, 0), desc, LLVMGetParam(f, 1), LLVMConstNull(P),
                                                    i64c(cg, 0)}, 5, ""));
    /* int P_create_from_memory(P_model **out, const void *data, size_t len) */
    f = begin_fn(cg, arena_printf(a, "%s_create_from_memory", prefix), I32, (LLVMTypeRef[]){P, P, I64}, 3);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, cl,
                                   (LLVMValueRef[]){LLVMGetParam(f, 0), desc, LLVMConstNull(P), LLVMGetParam(f, 1),
                                                    LLVMGetParam(f, 2)}, 5, ""));
    /* int P_run(P_model *m, int64_t batch, const float *in..., float *out...) */
    int nports = d->ninputs + d->noutputs;
    LLVMTypeRef *args = mem_alloc(sizeof(LLVMTypeRef) * (size_t)(nports + 2));
    if (!args)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory");
    args[0] = P, args[1] = I64;
    for (int i = 0; i < nports; i++)
        args[2 + i] = P;
    f = begin_fn(cg, arena_printf(a, "%s_run", prefix), I32, args, (unsigned)nports + 2);
    mem_free(args);
    LLVMValueRef run = rt_fn(cg, "actrt_model_run", I32, (LLVMTypeRef[]){P, I64, P, P}, 4, &ty);
    LLVMValueRef ins = LLVMBuildArrayAlloca(B, P, i32c(cg, d->ninputs + 1), "");
    LLVMValueRef outs = LLVMBuildArrayAlloca(B, P, i32c(cg, d->noutputs + 1), "");
    for (int i = 0; i < nports; i++) {
        bool is_in = i < d->ninputs;
        LLVMValueRef idx = i64c(cg, is_in ? i : i - d->ninputs);
        LLVMBuildStore(B, LLVMGetParam(f, (unsigned)(2 + i)), LLVMBuildGEP2(B, P, is_in ? ins : outs, &idx, 1, ""));
    }
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, run, (LLVMValueRef[]){LLVMGetParam(f, 0), LLVMGetParam(f, 1), ins, outs}, 4, ""));
    /* int P_run_arrays(P_model *m, int64_t batch, const float *const *in, float *const *out) */
    f = begin_fn(cg, arena_printf(a, "%s_run_arrays", prefix), I32, (LLVMTypeRef[]){P, I64, P, P}, 4);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, run,
                                   (LLVMValueRef[]){LLVMGetParam(f, 0), LLVMGetParam(f, 1), LLVMGetParam(f, 2),
                                                    LLVMGetParam(f, 3)}, 4, ""));
    /* const char *P_last_error(const P_model *m) */
    f = begin_fn(cg, arena_printf(a, "%s_last_error", prefix), P, (LLVMTypeRef[]){P}, 1);
    LLVMValueRef le = rt_fn(cg, "actrt_last_error", P, (LLVMTypeRef[]){P}, 1, &ty);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, le, (LLVMValueRef[]){LLVMGetParam(f, 0)}, 1, ""));
    /* void P_destroy(P_model *m) */
    f = begin_fn(cg, arena_printf(a, "%s_destroy", prefix), VOID, (LLVMTypeRef[]){P}, 1);
    LLVMValueRef fr = rt_fn(cg, "actrt_model_free", VOID, (LLVMTypeRef[]){P}, 1, &ty);
    LLVMBuildCall2(B, ty, fr, (LLVMValueRef[]){LLVMGetParam(f, 0)}, 1, "");
    LLVMBuildRetVoid(B);
    /* int P_set_threads(P_model *m, int threads) */
    f = begin_fn(cg, arena_printf(a, "%s_set_threads", prefix), I32, (LLVMTypeRef[]){P, I32}, 2);
    LLVMValueRef thr = rt_fn(cg, "actrt_model_set_threads", I32, (LLVMTypeRef[]){P, I32}, 2, &ty);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, thr, (LLVMValueRef[]){LLVMGetParam(f, 0), LLVMGetParam(f, 1)}, 2, ""));
    /* int64_t P_workspace_size(const P_model *m, int64_t batch) */
    f = begin_fn(cg, arena_printf(a, "%s_workspace_size", prefix), I64, (LLVMTypeRef[]){P, I64}, 2);
    LLVMValueRef ws = rt_fn(cg, "actrt_model_workspace_size", I64, (LLVMTypeRef[]){P, I64}, 2, &ty);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, ws, (LLVMValueRef[]){LLVMGetParam(f, 0), LLVMGetParam(f, 1)}, 2, ""));
}

static int aot_write_object(CG *cg, const char *path, char *err, size_t errlen) {
    char *msg = NULL;
    if (LLVMTargetMachineEmitToFile(cg->t->tm, cg->mod, path, LLVMObjectFile, &msg)) { /* true: failure */
        snprintf(err, errlen, "cannot write '%s': %.300s", path, msg ? msg : "");
        LLVMDisposeMessage(msg);
        return ACTC_ERR_IO;
    }
    return ACTC_OK;
}

int aot_compile(CG *cg, const actrt_desc *d, const char *const *kernel_names, const char *entry, const char *prefix,
                const char *path, Arena *a, char *err, size_t errlen) {
    /* everything but the header's functions is internal to the object */
    LLVMValueRef e = LLVMGetNamedFunction(cg->mod, entry);
    if (e)
        LLVMSetLinkage(e, LLVMInternalLinkage);
    LLVMValueRef desc = aot_emit_desc(cg, d, kernel_names, arena_printf(a, "%s_desc", prefix));
    cg->b = LLVMCreateBuilderInContext(cg->ctx);
    aot_emit_api(cg, d, desc, prefix, a);
    LLVMDisposeBuilder(cg->b);
    cg->b = NULL;
    char *msg = NULL;
    if (LLVMVerifyModule(cg->mod, LLVMReturnStatusAction, &msg)) {
        snprintf(err, errlen, "internal error: the object does not verify: %.300s", msg ? msg : "");
        LLVMDisposeMessage(msg);
        return ACTC_ERR_INTERNAL;
    }
    LLVMDisposeMessage(msg);
    return aot_write_object(cg, path, err, errlen);
}
