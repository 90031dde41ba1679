/*
 * aot.c — ahead-of-time objects (docs/aot.md): the model's description
 * (actrt_desc, the ABI libactrt reads) as constant data in the object, the
 * functions of the generated header as thin LLVM wrappers around libactrt,
 * and the object file itself.  Kernels and the description get internal
 * linkage: the header's functions are the only symbols the object exports.
 */
#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Linker.h>
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
    LLVMTypeRef info_t = named_struct(cg, "actrt_kernel_info", (LLVMTypeRef[]){I32, I64, I64, P, I64}, 5);
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
            v[i] = st(cg, info_t,
                      (LLVMValueRef[]){i32c(cg, k->kind), i64c(cg, k->n), i64c(cg, k->k), cstr(cg, k->lines),
                                       i64c(cg, k->col_step)},
                      5);
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

int aot_link_write(CG *dst, CG *const *srcs, int n, const char *path, char *err, size_t errlen) {
    for (int i = 0; i < n; i++) {
        /* modules live in their own contexts: move each through bitcode */
        LLVMMemoryBufferRef buf = LLVMWriteBitcodeToMemoryBuffer(srcs[i]->mod);
        LLVMModuleRef m = NULL;
        if (!buf || LLVMParseBitcodeInContext2(dst->ctx, buf, &m)) {
            if (buf)
                LLVMDisposeMemoryBuffer(buf);
            snprintf(err, errlen, "internal error: cannot move model %d's module into the object", i + 2);
            return ACTC_ERR_INTERNAL;
        }
        LLVMDisposeMemoryBuffer(buf);
        if (LLVMLinkModules2(dst->mod, m)) { /* consumes m */
            snprintf(err, errlen, "internal error: cannot link model %d into the object (a symbol clash)", i + 2);
            return ACTC_ERR_INTERNAL;
        }
    }
    int vst = cg_verify(dst, "the linked object", err, errlen);
    if (vst)
        return vst;
    return aot_write_object(dst, path, err, errlen);
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
    int vst = cg_verify(cg, "the object", err, errlen);
    if (vst)
        return vst;
    return path ? aot_write_object(cg, path, err, errlen) : ACTC_OK;
}

/* ---- embedded weights: a self-contained object (libc only) ----
 *
 * The packed weights are read-only data in the object; PREFIX_create(&m,
 * NULL) allocates a small instance and copies no weights.  Runs validate
 * their arguments, keep scratch in a thread-local buffer that grows only for
 * a larger batch (steady state allocates nothing), and run the kernels
 * serially or through the host's parallel-for hook.  libactrt is referenced
 * only weakly: when the host links it, a non-NULL weights path loads and
 * replaces the embedded weights through it; otherwise the object needs
 * nothing but malloc, realloc and free. */

typedef struct Emb {
    CG *cg;
    const actrt_desc *d;
    LLVMTypeRef inst_t, ctx_t, task_t;
    LLVMValueRef weights, desc, entry, tls_err, tls_buf, tls_cap, task;
    LLVMValueRef fn_malloc, fn_realloc, fn_free;
    LLVMTypeRef ty_malloc, ty_realloc, ty_free;
    Arena *a;
} Emb;

enum { I_TAG, I_THREADS, I_RT, I_ERR, I_PF, I_PFUSER };

static LLVMValueRef field(Emb *e, LLVMValueRef inst, int i) {
    return LLVMBuildStructGEP2(e->cg->b, e->inst_t, inst, (unsigned)i, "");
}

static LLVMValueRef weak_rt(Emb *e, const char *name, LLVMTypeRef ret, LLVMTypeRef *args, unsigned n, LLVMTypeRef *ty) {
    LLVMValueRef f = rt_fn(e->cg, name, ret, args, n, ty);
    LLVMSetLinkage(f, LLVMExternalWeakLinkage);
    return f;
}

static LLVMValueRef tls_global(CG *cg, LLVMTypeRef ty, const char *name) {
    LLVMValueRef g = LLVMAddGlobal(cg->mod, ty, name);
    LLVMSetInitializer(g, LLVMConstNull(ty));
    LLVMSetLinkage(g, LLVMInternalLinkage);
    LLVMSetThreadLocal(g, 1);
    return g;
}

/* if (cond) { body: returns } — positions after; returns the body block */
static void if_then(CG *cg, LLVMValueRef fn, LLVMValueRef cond, LLVMBasicBlockRef *then_bb) {
    LLVMBasicBlockRef t = LLVMAppendBasicBlockInContext(cg->ctx, fn, "then");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(cg->ctx, fn, "next");
    LLVMBuildCondBr(cg->b, cond, t, next);
    *then_bb = next;
    LLVMPositionBuilderAtEnd(cg->b, t);
}

static void end_then(CG *cg, LLVMBasicBlockRef next) { LLVMPositionBuilderAtEnd(cg->b, next); }

/* return status after storing msg into *slot */
static void ret_err(Emb *e, LLVMValueRef slot, int status, const char *msg) {
    CG *cg = e->cg;
    LLVMBuildStore(B, cstr(cg, msg), slot);
    LLVMBuildRet(B, i32c(cg, status));
}

static void emit_task(Emb *e, const char *prefix, const char *const *kernel_names) {
    CG *cg = e->cg;
    LLVMTypeRef P = cg->t_ptr, I64 = cg->t_i64;
    e->task_t = LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), (LLVMTypeRef[]){P, I64}, 2, 0);
    e->task = LLVMAddFunction(cg->mod, arena_printf(e->a, "%s_task", prefix), e->task_t);
    LLVMSetLinkage(e->task, LLVMInternalLinkage);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(cg->ctx, e->task, "entry"));
    LLVMValueRef ctx = LLVMGetParam(e->task, 0), i = LLVMGetParam(e->task, 1);
    LLVMValueRef v[6];
    for (int k = 0; k < 6; k++)
        v[k] = LLVMBuildLoad2(B, k < 4 ? P : I64, LLVMBuildStructGEP2(B, e->ctx_t, ctx, (unsigned)k, ""), "");
    LLVMValueRef r0 = LLVMBuildMul(B, i, v[5], "");
    LLVMValueRef r1 = LLVMBuildAdd(B, r0, v[5], "");
    r1 = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, r1, v[4], ""), r1, v[4], "");
    for (int k = 0; k < e->d->nkernels; k++) /* whole rows: every column */
        LLVMBuildCall2(B, cg_kernel_type(cg), LLVMGetNamedFunction(cg->mod, kernel_names[k]),
                       (LLVMValueRef[]){v[0], v[1], v[2], v[3], v[4], r0, r1, i64c(cg, 0), i64c(cg, INT64_MAX)}, 9, "");
    LLVMBuildRetVoid(B);
}

static void emit_run_arrays(Emb *e, const char *prefix) {
    CG *cg = e->cg;
    const actrt_desc *d = e->d;
    LLVMTypeRef P = cg->t_ptr, I32 = cg->t_i32, I64 = cg->t_i64, ty;
    LLVMValueRef f = begin_fn(cg, arena_printf(e->a, "%s_run_arrays", prefix), I32, (LLVMTypeRef[]){P, I64, P, P}, 4);
    LLVMValueRef m = LLVMGetParam(f, 0), batch = LLVMGetParam(f, 1), ins = LLVMGetParam(f, 2), outs = LLVMGetParam(f, 3);
    LLVMBasicBlockRef nx;
    if_then(cg, f, LLVMBuildIsNull(B, m, ""), &nx);
    ret_err(e, e->tls_err, ACTC_ERR_ARG, "run: model is NULL");
    end_then(cg, nx);
    /* a model whose weights libactrt loaded */
    if_then(cg, f, LLVMBuildICmp(B, LLVMIntEQ, LLVMBuildLoad2(B, I32, field(e, m, I_TAG), ""), i32c(cg, 1), ""), &nx);
    LLVMValueRef run = weak_rt(e, "actrt_model_run", I32, (LLVMTypeRef[]){P, I64, P, P}, 4, &ty);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, run,
                                   (LLVMValueRef[]){LLVMBuildLoad2(B, P, field(e, m, I_RT), ""), batch, ins, outs}, 4, ""));
    end_then(cg, nx);
    LLVMValueRef err = field(e, m, I_ERR);
    if_then(cg, f, LLVMBuildICmp(B, LLVMIntSLE, batch, i64c(cg, 0), ""), &nx);
    ret_err(e, err, ACTC_ERR_ARG, "batch must be positive");
    end_then(cg, nx);
    if (d->fixed_batch > 0) {
        if_then(cg, f, LLVMBuildICmp(B, LLVMIntNE, batch, i64c(cg, d->fixed_batch), ""), &nx);
        ret_err(e, err, ACTC_ERR_ARG, arena_printf(e->a, "model '%s' has a fixed batch of %lld", d->name,
                                                    (long long)d->fixed_batch));
        end_then(cg, nx);
    }
    LLVMValueRef bad = LLVMBuildIsNull(B, outs, "");
    if (d->ninputs)
        bad = LLVMBuildOr(B, bad, LLVMBuildIsNull(B, ins, ""), "");
    if_then(cg, f, bad, &nx);
    ret_err(e, err, ACTC_ERR_ARG, "inputs or outputs array is NULL");
    end_then(cg, nx);
    for (int i = 0; i < d->ninputs + d->noutputs; i++) {
        bool in = i < d->ninputs;
        LLVMValueRef idx = i64c(cg, in ? i : i - d->ninputs);
        LLVMValueRef p = LLVMBuildLoad2(B, P, LLVMBuildGEP2(B, P, in ? ins : outs, &idx, 1, ""), "");
        if_then(cg, f, LLVMBuildIsNull(B, p, ""), &nx);
        ret_err(e, err, ACTC_ERR_ARG, arena_printf(e->a, "%s '%s' is NULL", in ? "input" : "output",
                                                    in ? d->inputs[i].name : d->outputs[i - d->ninputs].name));
        end_then(cg, nx);
    }
    /* scratch floats: batch * per-row (+1), overflow-checked, in bytes */
    LLVMTypeRef oty;
    LLVMValueRef umul = cg_intrinsic(cg, "llvm.umul.with.overflow", I64, &oty);
    LLVMValueRef r = LLVMBuildCall2(B, oty, umul, (LLVMValueRef[]){batch, i64c(cg, (d->scratch_per_row + 1) * 4)}, 2, "");
    if_then(cg, f, LLVMBuildExtractValue(B, r, 1, ""), &nx);
    ret_err(e, err, ACTC_ERR_ARG, "batch is too large: buffer sizes overflow");
    end_then(cg, nx);
    LLVMValueRef need = LLVMBuildExtractValue(B, r, 0, "");
    LLVMBasicBlockRef grow = LLVMAppendBasicBlockInContext(cg->ctx, f, "grow"), ready = LLVMAppendBasicBlockInContext(cg->ctx, f, "ready");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntULT, LLVMBuildLoad2(B, I64, e->tls_cap, ""), need, ""), grow, ready);
    LLVMPositionBuilderAtEnd(B, grow);
    LLVMValueRef nb = LLVMBuildCall2(B, e->ty_realloc, e->fn_realloc, (LLVMValueRef[]){LLVMBuildLoad2(B, P, e->tls_buf, ""), need}, 2, "");
    if_then(cg, f, LLVMBuildIsNull(B, nb, ""), &nx);
    ret_err(e, err, ACTC_ERR_NOMEM, "out of memory for the scratch buffer");
    end_then(cg, nx);
    LLVMBuildStore(B, nb, e->tls_buf);
    LLVMBuildStore(B, need, e->tls_cap);
    LLVMBuildBr(B, ready);
    LLVMPositionBuilderAtEnd(B, ready);
    LLVMValueRef scratch = LLVMBuildLoad2(B, P, e->tls_buf, "");
    /* the host's parallel-for hook, for >= 12 rows: tasks of >= 6 rows */
    LLVMValueRef pf = LLVMBuildLoad2(B, P, field(e, m, I_PF), "");
    LLVMValueRef use_pf = LLVMBuildAnd(B, LLVMBuildIsNotNull(B, pf, ""), LLVMBuildICmp(B, LLVMIntSGE, batch, i64c(cg, 12), ""), "");
    if_then(cg, f, use_pf, &nx);
    {
        LLVMValueRef ctx = LLVMBuildAlloca(B, e->ctx_t, "");
        LLVMValueRef t = LLVMBuildSDiv(B, LLVMBuildAdd(B, batch, i64c(cg, 15), ""), i64c(cg, 16), ""); /* up to 16 tasks */
        LLVMValueRef chunk = LLVMBuildMul(B, LLVMBuildSDiv(B, LLVMBuildAdd(B, t, i64c(cg, 5), ""), i64c(cg, 6), ""), i64c(cg, 6), "");
        LLVMValueRef vals[6] = {e->weights, ins, outs, scratch, batch, chunk};
        for (int k = 0; k < 6; k++)
            LLVMBuildStore(B, vals[k], LLVMBuildStructGEP2(B, e->ctx_t, ctx, (unsigned)k, ""));
        LLVMValueRef ntasks = LLVMBuildSDiv(B, LLVMBuildAdd(B, batch, LLVMBuildSub(B, chunk, i64c(cg, 1), ""), ""), chunk, "");
        LLVMTypeRef pft = LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), (LLVMTypeRef[]){P, I64, P, P}, 4, 0);
        LLVMBuildCall2(B, pft, pf, (LLVMValueRef[]){LLVMBuildLoad2(B, P, field(e, m, I_PFUSER), ""), ntasks, e->task, ctx}, 4, "");
        LLVMBuildRet(B, i32c(cg, 0));
    }
    end_then(cg, nx);
    LLVMTypeRef et = LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), (LLVMTypeRef[]){P, P, P, P, I64}, 5, 0);
    LLVMBuildCall2(B, et, e->entry, (LLVMValueRef[]){e->weights, ins, outs, scratch, batch}, 5, "");
    LLVMBuildRet(B, i32c(cg, 0));
}

/* PREFIX_create / _create_from_memory: NULL weights -> the embedded ones;
 * otherwise through libactrt if the host linked it. */
static void emit_create(Emb *e, const char *prefix, bool memory) {
    CG *cg = e->cg;
    LLVMTypeRef P = cg->t_ptr, I32 = cg->t_i32, I64 = cg->t_i64, ty;
    LLVMValueRef f = memory ? begin_fn(cg, arena_printf(e->a, "%s_create_from_memory", prefix), I32, (LLVMTypeRef[]){P, P, I64}, 3)
                            : begin_fn(cg, arena_printf(e->a, "%s_create", prefix), I32, (LLVMTypeRef[]){P, P}, 2);
    LLVMValueRef out = LLVMGetParam(f, 0), src = LLVMGetParam(f, 1);
    LLVMBasicBlockRef nx;
    if_then(cg, f, LLVMBuildIsNull(B, out, ""), &nx);
    ret_err(e, e->tls_err, ACTC_ERR_ARG, "create: out is NULL");
    end_then(cg, nx);
    LLVMBuildStore(B, LLVMConstNull(P), out);
    LLVMValueRef rt = LLVMConstNull(P);
    LLVMBasicBlockRef embedded = LLVMAppendBasicBlockInContext(cg->ctx, f, "embedded"),
                      loaded = LLVMAppendBasicBlockInContext(cg->ctx, f, "via_actrt");
    LLVMBuildCondBr(B, LLVMBuildIsNull(B, src, ""), embedded, loaded);
    /* weights given: libactrt loads them (if linked) */
    LLVMPositionBuilderAtEnd(B, loaded);
    LLVMValueRef cl = weak_rt(e, "actrt_model_create_loaded", I32, (LLVMTypeRef[]){P, P, P, P, I64}, 5, &ty);
    if_then(cg, f, LLVMBuildIsNull(B, cl, ""), &nx);
    ret_err(e, e->tls_err, ACTC_ERR_ARG, "replacing the embedded weights needs libactrt: link it, or pass NULL");
    end_then(cg, nx);
    LLVMValueRef slot = LLVMBuildAlloca(B, P, "");
    LLVMValueRef st = LLVMBuildCall2(B, ty, cl,
                                     (LLVMValueRef[]){slot, e->desc, memory ? LLVMConstNull(P) : src,
                                                      memory ? src : LLVMConstNull(P), memory ? LLVMGetParam(f, 2) : i64c(cg, 0)},
                                     5, "");
    LLVMTypeRef lty;
    LLVMValueRef le = weak_rt(e, "actrt_last_error", P, (LLVMTypeRef[]){P}, 1, &lty);
    if_then(cg, f, LLVMBuildICmp(B, LLVMIntNE, st, i32c(cg, 0), ""), &nx);
    LLVMBuildStore(B, LLVMBuildCall2(B, lty, le, (LLVMValueRef[]){LLVMConstNull(P)}, 1, ""), e->tls_err);
    LLVMBuildRet(B, st);
    end_then(cg, nx);
    rt = LLVMBuildLoad2(B, P, slot, "");
    LLVMBasicBlockRef alloc = LLVMAppendBasicBlockInContext(cg->ctx, f, "alloc");
    LLVMBuildBr(B, alloc);
    LLVMBasicBlockRef from_rt = LLVMGetInsertBlock(B);
    LLVMPositionBuilderAtEnd(B, embedded);
    LLVMBuildBr(B, alloc);
    LLVMPositionBuilderAtEnd(B, alloc);
    LLVMValueRef rtv = LLVMBuildPhi(B, P, "");
    LLVMAddIncoming(rtv, (LLVMValueRef[]){rt, LLVMConstNull(P)}, (LLVMBasicBlockRef[]){from_rt, embedded}, 2);
    LLVMValueRef inst = LLVMBuildCall2(B, e->ty_malloc, e->fn_malloc, (LLVMValueRef[]){i64c(cg, 48)}, 1, "");
    if_then(cg, f, LLVMBuildIsNull(B, inst, ""), &nx);
    ret_err(e, e->tls_err, ACTC_ERR_NOMEM, "out of memory");
    end_then(cg, nx);
    LLVMValueRef tag = LLVMBuildZExt(B, LLVMBuildIsNotNull(B, rtv, ""), I32, "");
    LLVMValueRef vals[6] = {tag, i32c(cg, 0), rtv, LLVMConstNull(P), LLVMConstNull(P), LLVMConstNull(P)};
    for (int k = 0; k < 6; k++)
        LLVMBuildStore(B, vals[k], field(e, inst, k));
    LLVMBuildStore(B, inst, out);
    LLVMBuildRet(B, i32c(cg, 0));
}

static void emit_small_fns(Emb *e, const char *prefix) {
    CG *cg = e->cg;
    const actrt_desc *d = e->d;
    LLVMTypeRef P = cg->t_ptr, I32 = cg->t_i32, I64 = cg->t_i64, VOID = LLVMVoidTypeInContext(cg->ctx), ty;
    LLVMBasicBlockRef nx;
    /* P_run(m, batch, ports...) */
    int nports = d->ninputs + d->noutputs;
    LLVMTypeRef *args = mem_alloc(sizeof(LLVMTypeRef) * (size_t)(nports + 2));
    if (!args)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory");
    args[0] = P, args[1] = I64;
    for (int i = 0; i < nports; i++)
        args[2 + i] = P;
    LLVMValueRef f = begin_fn(cg, arena_printf(e->a, "%s_run", prefix), I32, args, (unsigned)nports + 2);
    mem_free(args);
    LLVMValueRef ins = LLVMBuildArrayAlloca(B, P, i32c(cg, d->ninputs + 1), "");
    LLVMValueRef outs = LLVMBuildArrayAlloca(B, P, i32c(cg, d->noutputs + 1), "");
    for (int i = 0; i < nports; i++) {
        bool in = i < d->ninputs;
        LLVMValueRef idx = i64c(cg, in ? i : i - d->ninputs);
        LLVMBuildStore(B, LLVMGetParam(f, (unsigned)(2 + i)), LLVMBuildGEP2(B, P, in ? ins : outs, &idx, 1, ""));
    }
    LLVMValueRef ra = LLVMGetNamedFunction(cg->mod, arena_printf(e->a, "%s_run_arrays", prefix));
    LLVMBuildRet(B, LLVMBuildCall2(B, LLVMFunctionType(I32, (LLVMTypeRef[]){P, I64, P, P}, 4, 0), ra,
                                   (LLVMValueRef[]){LLVMGetParam(f, 0), LLVMGetParam(f, 1), ins, outs}, 4, ""));
    /* const char *P_last_error(const P_model *m) */
    f = begin_fn(cg, arena_printf(e->a, "%s_last_error", prefix), P, (LLVMTypeRef[]){P}, 1);
    LLVMValueRef m = LLVMGetParam(f, 0);
    if_then(cg, f, LLVMBuildIsNull(B, m, ""), &nx);
    LLVMValueRef t = LLVMBuildLoad2(B, P, e->tls_err, "");
    LLVMBuildRet(B, LLVMBuildSelect(B, LLVMBuildIsNull(B, t, ""), cstr(cg, ""), t, ""));
    end_then(cg, nx);
    if_then(cg, f, LLVMBuildICmp(B, LLVMIntEQ, LLVMBuildLoad2(B, I32, field(e, m, I_TAG), ""), i32c(cg, 1), ""), &nx);
    LLVMValueRef le = weak_rt(e, "actrt_last_error", P, (LLVMTypeRef[]){P}, 1, &ty);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, le, (LLVMValueRef[]){LLVMBuildLoad2(B, P, field(e, m, I_RT), "")}, 1, ""));
    end_then(cg, nx);
    t = LLVMBuildLoad2(B, P, field(e, m, I_ERR), "");
    LLVMBuildRet(B, LLVMBuildSelect(B, LLVMBuildIsNull(B, t, ""), cstr(cg, ""), t, ""));
    /* void P_destroy(P_model *m) */
    f = begin_fn(cg, arena_printf(e->a, "%s_destroy", prefix), VOID, (LLVMTypeRef[]){P}, 1);
    m = LLVMGetParam(f, 0);
    if_then(cg, f, LLVMBuildIsNull(B, m, ""), &nx);
    LLVMBuildRetVoid(B);
    end_then(cg, nx);
    LLVMValueRef rt = LLVMBuildLoad2(B, P, field(e, m, I_RT), "");
    if_then(cg, f, LLVMBuildIsNotNull(B, rt, ""), &nx);
    LLVMValueRef fr = weak_rt(e, "actrt_model_free", VOID, (LLVMTypeRef[]){P}, 1, &ty);
    LLVMBuildCall2(B, ty, fr, (LLVMValueRef[]){rt}, 1, "");
    LLVMBuildBr(B, nx);
    end_then(cg, nx);
    LLVMBuildCall2(B, e->ty_free, e->fn_free, (LLVMValueRef[]){m}, 1, "");
    LLVMBuildRetVoid(B);
    /* int P_set_threads(P_model *m, int threads): threads > 1 use the hook */
    f = begin_fn(cg, arena_printf(e->a, "%s_set_threads", prefix), I32, (LLVMTypeRef[]){P, I32}, 2);
    m = LLVMGetParam(f, 0);
    if_then(cg, f, LLVMBuildOr(B, LLVMBuildIsNull(B, m, ""), LLVMBuildICmp(B, LLVMIntSLT, LLVMGetParam(f, 1), i32c(cg, 0), ""), ""), &nx);
    LLVMBuildRet(B, i32c(cg, ACTC_ERR_ARG));
    end_then(cg, nx);
    LLVMBuildStore(B, LLVMGetParam(f, 1), field(e, m, I_THREADS));
    LLVMBuildRet(B, i32c(cg, 0));
    /* int P_set_parallel_for(P_model *m, fn, user) */
    f = begin_fn(cg, arena_printf(e->a, "%s_set_parallel_for", prefix), I32, (LLVMTypeRef[]){P, P, P}, 3);
    m = LLVMGetParam(f, 0);
    if_then(cg, f, LLVMBuildIsNull(B, m, ""), &nx);
    LLVMBuildRet(B, i32c(cg, ACTC_ERR_ARG));
    end_then(cg, nx);
    LLVMBuildStore(B, LLVMGetParam(f, 1), field(e, m, I_PF));
    LLVMBuildStore(B, LLVMGetParam(f, 2), field(e, m, I_PFUSER));
    LLVMBuildRet(B, i32c(cg, 0));
    /* int64_t P_workspace_size(const P_model *m, int64_t batch) */
    f = begin_fn(cg, arena_printf(e->a, "%s_workspace_size", prefix), I64, (LLVMTypeRef[]){P, I64}, 2);
    LLVMValueRef b = LLVMGetParam(f, 1);
    if_then(cg, f, LLVMBuildOr(B, LLVMBuildIsNull(B, LLVMGetParam(f, 0), ""), LLVMBuildICmp(B, LLVMIntSLE, b, i64c(cg, 0), ""), ""), &nx);
    LLVMBuildRet(B, i64c(cg, -1));
    end_then(cg, nx);
    LLVMTypeRef oty;
    LLVMValueRef umul = cg_intrinsic(cg, "llvm.smul.with.overflow", I64, &oty);
    LLVMValueRef r = LLVMBuildCall2(B, oty, umul, (LLVMValueRef[]){b, i64c(cg, d->scratch_per_row * 4)}, 2, "");
    LLVMBuildRet(B, LLVMBuildSelect(B, LLVMBuildExtractValue(B, r, 1, ""), i64c(cg, -1), LLVMBuildExtractValue(B, r, 0, ""), ""));
}

int aot_compile_embedded(CG *cg, const actrt_desc *d, const char *const *kernel_names, const char *entry,
                         const char *prefix, const float *const *packed, const int64_t *counts, const char *path, Arena *a,
                         char *err, size_t errlen) {
    Emb e = {.cg = cg, .d = d, .a = a};
    LLVMTypeRef P = cg->t_ptr, I32 = cg->t_i32, I64 = cg->t_i64;
    e.entry = LLVMGetNamedFunction(cg->mod, entry);
    if (!e.entry)
        ACTC_BUG("no entry function %s", entry);
    LLVMSetLinkage(e.entry, LLVMInternalLinkage);
    e.desc = aot_emit_desc(cg, d, kernel_names, arena_printf(a, "%s_desc", prefix));
    /* the packed weights, 64-byte aligned read-only data */
    LLVMValueRef *ptrs = mem_alloc(sizeof(LLVMValueRef) * (size_t)(d->nweights + 1));
    if (!ptrs)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < d->nweights; i++) {
        LLVMValueRef data = LLVMConstStringInContext(cg->ctx, (const char *)packed[i], (unsigned)(counts[i] * 4), 1);
        LLVMValueRef g = const_global(cg, data, arena_printf(a, "%s_w%d", prefix, i));
        LLVMSetAlignment(g, 64);
        ptrs[i] = g;
    }
    e.weights = const_global(cg, LLVMConstArray2(P, ptrs, (uint64_t)d->nweights), arena_printf(a, "%s_weights", prefix));
    mem_free(ptrs);
    e.tls_err = tls_global(cg, P, arena_printf(a, "%s_tls_error", prefix));
    e.tls_buf = tls_global(cg, P, arena_printf(a, "%s_tls_scratch", prefix));
    e.tls_cap = tls_global(cg, I64, arena_printf(a, "%s_tls_capacity", prefix));
    e.inst_t = named_struct(cg, "instance", (LLVMTypeRef[]){I32, I32, P, P, P, P}, 6);
    e.ctx_t = named_struct(cg, "task_ctx", (LLVMTypeRef[]){P, P, P, P, I64, I64}, 6);
    e.fn_malloc = rt_fn(cg, "malloc", P, (LLVMTypeRef[]){I64}, 1, &e.ty_malloc);
    e.fn_realloc = rt_fn(cg, "realloc", P, (LLVMTypeRef[]){P, I64}, 2, &e.ty_realloc);
    e.fn_free = rt_fn(cg, "free", LLVMVoidTypeInContext(cg->ctx), (LLVMTypeRef[]){P}, 1, &e.ty_free);
    cg->b = LLVMCreateBuilderInContext(cg->ctx);
    emit_task(&e, prefix, kernel_names);
    emit_create(&e, prefix, false);
    emit_create(&e, prefix, true);
    emit_run_arrays(&e, prefix);
    emit_small_fns(&e, prefix);
    LLVMDisposeBuilder(cg->b);
    cg->b = NULL;
    int vst = cg_verify(cg, "the object", err, errlen);
    if (vst)
        return vst;
    return path ? aot_write_object(cg, path, err, errlen) : ACTC_OK;
}
