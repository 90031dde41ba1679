/*
 * aot.c — ahead-of-time objects (docs/aot.md): the model's description
 * (actrt_desc, the ABI libactrt reads) as constant data in the object, the
 * functions of the generated header as thin LLVM wrappers around libactrt
 * or, with embedded weights, around the embedded runtime (runtime/embedded.c
 * as bitcode, linked in here), and the object file itself.  Kernels, the
 * description and the runtime get internal linkage: the header's functions
 * are the only symbols the object exports.
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

/* The header's functions as thin wrappers around libactrt; create picks
 * the variant (actrt_model_create_variant). */
static void emit_api(CG *cg, const actrt_desc *d, LLVMValueRef variants, int nvariants, const char *prefix, Arena *a) {
    LLVMTypeRef P = cg->t_ptr, I32 = cg->t_i32, I64 = cg->t_i64, VOID = LLVMVoidTypeInContext(cg->ctx);
    LLVMTypeRef ty;
    LLVMValueRef nv = i32c(cg, nvariants);
    /* int P_create(P_model **out, const char *weights_path) */
    LLVMValueRef f = begin_fn(cg, arena_printf(a, "%s_create", prefix), I32, (LLVMTypeRef[]){P, P}, 2);
    LLVMValueRef cl = rt_fn(cg, "actrt_model_create_variant", I32, (LLVMTypeRef[]){P, P, I32, P, P, I64}, 6, &ty);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, cl,
                                   (LLVMValueRef[]){LLVMGetParam(f, 0), variants, nv, LLVMGetParam(f, 1),
                                                    LLVMConstNull(P), i64c(cg, 0)}, 6, ""));
    /* int P_create_from_memory(P_model **out, const void *data, size_t len) */
    f = begin_fn(cg, arena_printf(a, "%s_create_from_memory", prefix), I32, (LLVMTypeRef[]){P, P, I64}, 3);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, cl,
                                   (LLVMValueRef[]){LLVMGetParam(f, 0), variants, nv, LLVMConstNull(P),
                                                    LLVMGetParam(f, 1), LLVMGetParam(f, 2)}, 6, ""));
    /* const char *P_variant(const P_model *m) */
    f = begin_fn(cg, arena_printf(a, "%s_variant", prefix), P, (LLVMTypeRef[]){P}, 1);
    LLVMValueRef vf = rt_fn(cg, "actrt_model_variant", P, (LLVMTypeRef[]){P}, 1, &ty);
    LLVMBuildRet(B, LLVMBuildCall2(B, ty, vf, (LLVMValueRef[]){LLVMGetParam(f, 0)}, 1, ""));
    /* int P_run(P_model *m, int64_t batch, const float *in..., float *out...) */
    int nports = d->ninputs + d->noutputs;
    LLVMTypeRef *args = NEW_ARRAY(a, LLVMTypeRef, (size_t)nports + 2); /* no heap temporary across throws */
    args[0] = P, args[1] = I64;
    for (int i = 0; i < nports; i++)
        args[2 + i] = P;
    f = begin_fn(cg, arena_printf(a, "%s_run", prefix), I32, args, (unsigned)nports + 2);
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
    if (d->nsites > 0) { /* compiled with statistics (docs/stats.md): P_site_stats is actrt_site_stats */
        /* int P_stats_read(P_model *m, int site, P_site_stats *out) */
        f = begin_fn(cg, arena_printf(a, "%s_stats_read", prefix), I32, (LLVMTypeRef[]){P, I32, P}, 3);
        LLVMValueRef rd = rt_fn(cg, "actrt_model_stats_read", I32, (LLVMTypeRef[]){P, I32, P}, 3, &ty);
        LLVMBuildRet(B, LLVMBuildCall2(B, ty, rd,
                                       (LLVMValueRef[]){LLVMGetParam(f, 0), LLVMGetParam(f, 1), LLVMGetParam(f, 2)}, 3,
                                       ""));
        /* int P_stats_reset(P_model *m) */
        f = begin_fn(cg, arena_printf(a, "%s_stats_reset", prefix), I32, (LLVMTypeRef[]){P}, 1);
        LLVMValueRef rs = rt_fn(cg, "actrt_model_stats_reset", I32, (LLVMTypeRef[]){P}, 1, &ty);
        LLVMBuildRet(B, LLVMBuildCall2(B, ty, rs, (LLVMValueRef[]){LLVMGetParam(f, 0)}, 1, ""));
    }
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

/* Every variant's description, and the variants table pointing at them
 * (weights[i]: variant i's embedded packed weights, or NULL). */
static LLVMValueRef emit_variants(CG *cg, const AotVariant *v, int n, const LLVMValueRef *weights, const char *prefix,
                                  Arena *a) {
    AbiVariant *av = NEW_ARRAY(a, AbiVariant, (size_t)n);
    for (int i = 0; i < n; i++) {
        /* the runtime calls the kernels through the description */
        LLVMValueRef e = v[i].entry ? LLVMGetNamedFunction(cg->mod, v[i].entry) : NULL;
        if (e)
            LLVMDeleteFunction(e);
        av[i] = (AbiVariant){target_variant_name(v[i].t), target_needs(v[i].t),
                             abi_emit_desc(cg, a, v[i].desc, v[i].kernel_names, v[i].table_names,
                                           arena_printf(a, "%s_desc_v%d", prefix, i)),
                             weights ? weights[i] : NULL};
    }
    return abi_emit_variants(cg, a, av, n, arena_printf(a, "%s_variants", prefix));
}

int aot_compile(CG *cg, const AotVariant *v, int n, const char *prefix, const char *path, Arena *a, char *err,
                size_t errlen) {
    /* everything but the header's functions is internal to the object */
    LLVMValueRef variants = emit_variants(cg, v, n, NULL, prefix, a);
    cg->b = LLVMCreateBuilderInContext(cg->ctx);
    emit_api(cg, v[0].desc, variants, n, prefix, a);
    LLVMDisposeBuilder(cg->b);
    cg->b = NULL;
    int vst = cg_verify(cg, "the object", err, errlen);
    if (vst)
        return vst;
    return path ? aot_write_object(cg, path, err, errlen) : ACTC_OK;
}

/* ---- embedded weights: a self-contained object (libc only) ----
 *
 * The packed weights are read-only data in the object, next to the
 * description.  The header's functions are runtime/embedded.c, compiled to
 * LLVM bitcode when actc was built (one module per supported triple, carried
 * by libactc as data: cmake/EmbeddedRuntime.cmake) and linked into the
 * model's module here; the PREFIX_* functions are wrappers that call it,
 * create passing the description and the weights.  Every runtime definition
 * gets internal linkage, so the object exports exactly the header's
 * functions, and each model of a several-model object keeps its own copy
 * (with its own thread-local scratch and messages). */

/* The bitcode for each supported architecture (Linux only); keep in step
 * with ACTC_EMBEDDED_TRIPLES in cmake/EmbeddedRuntime.cmake. */
static const struct {
    const char *arch;
    const unsigned char *bitcode;
    const size_t *len;
} embedded_runtimes[] = {
    {"x86_64", actc_embedded_runtime_x86_64, &actc_embedded_runtime_x86_64_len},
    {"aarch64", actc_embedded_runtime_aarch64, &actc_embedded_runtime_aarch64_len},
};
#define EMBEDDED_TRIPLES "x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu (or -linux-musl)"

/* Appended to the names of the runtime's definitions before they are
 * linked: a '.' cannot occur in a prefix (a C identifier), so no PREFIX_*
 * function or kernel can clash with them. */
#define RT_SUFFIX ".actc_rt"

/* The index in embedded_runtimes of the bitcode for a normalized triple
 * (arch-vendor-os[-env]): x86_64 or aarch64 Linux with the LP64 C library
 * ABI; -1 for any other. */
static int runtime_for(const char *triple) {
    const char *vendor = strchr(triple, '-'), *os = vendor ? strchr(vendor + 1, '-') : NULL;
    if (!os)
        return -1;
    os++;
    const char *env = strchr(os, '-');
    size_t oslen = env ? (size_t)(env - os) : strlen(os);
    if (oslen != 5 || strncmp(os, "linux", 5) != 0)
        return -1;
    if (env && strcmp(env + 1, "gnu") != 0 && strcmp(env + 1, "musl") != 0) /* not gnux32, gnu_ilp32, android */
        return -1;
    for (size_t i = 0; i < ARRAY_LEN(embedded_runtimes); i++)
        if (strlen(embedded_runtimes[i].arch) == (size_t)(vendor - triple) &&
            strncmp(triple, embedded_runtimes[i].arch, (size_t)(vendor - triple)) == 0)
            return (int)i;
    return -1;
}

/* Rename v (a definition of the runtime module) to NAME RT_SUFFIX. */
static void rename_rt(LLVMValueRef v) {
    size_t n;
    const char *name = LLVMGetValueName2(v, &n);
    char buf[256];
    int k = snprintf(buf, sizeof buf, "%.*s%s", (int)n, name, RT_SUFFIX);
    if (k > 0 && (size_t)k < sizeof buf)
        LLVMSetValueName2(v, buf, (size_t)k);
}

static bool is_exported_def(LLVMValueRef v) {
    LLVMLinkage l = LLVMGetLinkage(v);
    return !LLVMIsDeclaration(v) && l != LLVMInternalLinkage && l != LLVMPrivateLinkage;
}

static bool has_rt_suffix(LLVMValueRef v) {
    size_t n, ns = strlen(RT_SUFFIX);
    const char *name = LLVMGetValueName2(v, &n);
    return n > ns && memcmp(name + n - ns, RT_SUFFIX, ns) == 0;
}

/* Link the embedded runtime for cg's triple into cg's module, its
 * definitions internal.  Allocates nothing that could throw while it holds
 * the runtime module (internals.md §3). */
static int link_runtime(CG *cg, char *err, size_t errlen) {
    int r = runtime_for(cg->t->triple);
    if (r < 0) {
        snprintf(err, errlen, "--embed-weights: no embedded runtime for target '%s'; supported targets: %s",
                 cg->t->triple, EMBEDDED_TRIPLES);
        return ACTC_ERR_ARG;
    }
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(
        (const char *)embedded_runtimes[r].bitcode, *embedded_runtimes[r].len, "embedded runtime", 0);
    LLVMModuleRef m = NULL;
    bool bad = LLVMParseBitcodeInContext2(cg->ctx, buf, &m); /* reads it all: buf may go */
    LLVMDisposeMemoryBuffer(buf);
    if (bad) {
        snprintf(err, errlen, "internal error: cannot read the embedded runtime for %s", embedded_runtimes[r].arch);
        return ACTC_ERR_INTERNAL;
    }
    /* compiled for the baseline CPU of the same ABI: the module's triple
     * (vendor, environment) and layout are the ones to keep */
    LLVMSetTarget(m, cg->t->triple);
    LLVMSetDataLayout(m, LLVMGetDataLayoutStr(cg->mod));
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f))
        if (is_exported_def(f))
            rename_rt(f);
    for (LLVMValueRef g = LLVMGetFirstGlobal(m); g; g = LLVMGetNextGlobal(g))
        if (is_exported_def(g))
            rename_rt(g);
    if (LLVMLinkModules2(cg->mod, m)) { /* consumes m, even on error */
        snprintf(err, errlen, "internal error: cannot link the embedded runtime into the object");
        return ACTC_ERR_INTERNAL;
    }
    for (LLVMValueRef f = LLVMGetFirstFunction(cg->mod); f; f = LLVMGetNextFunction(f))
        if (is_exported_def(f) && has_rt_suffix(f))
            LLVMSetLinkage(f, LLVMInternalLinkage);
    for (LLVMValueRef g = LLVMGetFirstGlobal(cg->mod); g; g = LLVMGetNextGlobal(g))
        if (is_exported_def(g) && has_rt_suffix(g))
            LLVMSetLinkage(g, LLVMInternalLinkage);
    return ACTC_OK;
}

/* The runtime's entry points (embedded.c's "interface to aot.c"). */
enum {
    RT_CREATE, RT_RUN, RT_LAST_ERROR, RT_DESTROY, RT_SET_THREADS, RT_SET_PARALLEL_FOR, RT_WORKSPACE_SIZE, RT_VARIANT,
    RT_STATS_READ, RT_STATS_RESET, RT_N
};

typedef struct RtFn {
    LLVMValueRef fn;
    LLVMTypeRef ty;
} RtFn;

/* Find each entry point in the linked module and check its type against
 * the one the wrappers call it with: a change to embedded.c's prototypes
 * that aot.c missed is an internal error at the first object, not a
 * miscompiled call. */
static int rt_entry_points(CG *cg, RtFn *rt, char *err, size_t errlen) {
    LLVMTypeRef P = cg->t_ptr, I32 = cg->t_i32, I64 = cg->t_i64, VOID = LLVMVoidTypeInContext(cg->ctx);
    struct {
        const char *name;
        LLVMTypeRef ret, params[6];
        unsigned n;
    } sig[RT_N] = {
        [RT_CREATE] = {"actc_emb_create", I32, {P, I32, P, P, P, I64}, 6}, /* variants, n, out, path, data, len */
        [RT_RUN] = {"actc_emb_run", I32, {P, I64, P, P}, 4},
        [RT_LAST_ERROR] = {"actc_emb_last_error", P, {P}, 1},
        [RT_DESTROY] = {"actc_emb_destroy", VOID, {P}, 1},
        [RT_SET_THREADS] = {"actc_emb_set_threads", I32, {P, I32}, 2},
        [RT_SET_PARALLEL_FOR] = {"actc_emb_set_parallel_for", I32, {P, P, P}, 3},
        [RT_WORKSPACE_SIZE] = {"actc_emb_workspace_size", I64, {P, I64}, 2},
        [RT_VARIANT] = {"actc_emb_variant", P, {P}, 1},
        [RT_STATS_READ] = {"actc_emb_stats_read", I32, {P, I32, P}, 3},
        [RT_STATS_RESET] = {"actc_emb_stats_reset", I32, {P}, 1},
    };
    for (int i = 0; i < RT_N; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s%s", sig[i].name, RT_SUFFIX);
        rt[i].ty = LLVMFunctionType(sig[i].ret, sig[i].params, sig[i].n, 0);
        rt[i].fn = LLVMGetNamedFunction(cg->mod, name);
        if (!rt[i].fn || LLVMIsDeclaration(rt[i].fn) || LLVMGlobalGetValueType(rt[i].fn) != rt[i].ty) {
            snprintf(err, errlen, "internal error: the embedded runtime has no %s of the type aot.c calls",
                     sig[i].name);
            return ACTC_ERR_INTERNAL;
        }
    }
    return ACTC_OK;
}

/* return rt(args) from the function being built (a tail call) */
static void ret_call(CG *cg, const RtFn *rt, LLVMValueRef *args, unsigned n, bool tail) {
    LLVMValueRef v = LLVMBuildCall2(B, rt->ty, rt->fn, args, n, "");
    LLVMSetTailCall(v, tail);
    if (LLVMGetReturnType(rt->ty) == LLVMVoidTypeInContext(cg->ctx))
        LLVMBuildRetVoid(B);
    else
        LLVMBuildRet(B, v);
}

/* PREFIX_name(params) { return rt(params); } */
static void forward(CG *cg, Arena *a, const char *prefix, const char *name, const RtFn *rt) {
    unsigned n = LLVMCountParamTypes(rt->ty);
    if (n > 4)
        ACTC_BUG("forward: %u parameters", n);
    LLVMTypeRef params[4];
    LLVMGetParamTypes(rt->ty, params);
    LLVMValueRef f = begin_fn(cg, arena_printf(a, "%s_%s", prefix, name), LLVMGetReturnType(rt->ty), params, n);
    LLVMValueRef args[4];
    for (unsigned i = 0; i < n; i++)
        args[i] = LLVMGetParam(f, i);
    ret_call(cg, rt, args, n, true);
}

/* The header's functions as wrappers around the runtime. */
static void emit_wrappers(CG *cg, const actrt_desc *d, const RtFn *rt, LLVMValueRef variants, int nvariants,
                          const char *prefix, Arena *a) {
    LLVMTypeRef P = cg->t_ptr, I64 = cg->t_i64;
    LLVMValueRef null = LLVMConstNull(P), nv = i32c(cg, nvariants);
    /* int P_create(P_model **out, const char *weights_path) */
    LLVMValueRef f = begin_fn(cg, arena_printf(a, "%s_create", prefix), cg->t_i32, (LLVMTypeRef[]){P, P}, 2);
    ret_call(cg, &rt[RT_CREATE],
             (LLVMValueRef[]){variants, nv, LLVMGetParam(f, 0), LLVMGetParam(f, 1), null, i64c(cg, 0)}, 6, true);
    /* int P_create_from_memory(P_model **out, const void *data, size_t len) */
    f = begin_fn(cg, arena_printf(a, "%s_create_from_memory", prefix), cg->t_i32, (LLVMTypeRef[]){P, P, I64}, 3);
    ret_call(cg, &rt[RT_CREATE],
             (LLVMValueRef[]){variants, nv, LLVMGetParam(f, 0), null, LLVMGetParam(f, 1), LLVMGetParam(f, 2)}, 6,
             true);
    /* int P_run(P_model *m, int64_t batch, const float *in..., float *out...): the
     * ports into two arrays on the stack (so no tail call) */
    int nports = d->ninputs + d->noutputs;
    LLVMTypeRef *args = NEW_ARRAY(a, LLVMTypeRef, (size_t)nports + 2);
    args[0] = P, args[1] = I64;
    for (int i = 0; i < nports; i++)
        args[2 + i] = P;
    f = begin_fn(cg, arena_printf(a, "%s_run", prefix), cg->t_i32, args, (unsigned)nports + 2);
    LLVMValueRef ins = LLVMBuildArrayAlloca(B, P, i32c(cg, d->ninputs + 1), "");
    LLVMValueRef outs = LLVMBuildArrayAlloca(B, P, i32c(cg, d->noutputs + 1), "");
    for (int i = 0; i < nports; i++) {
        bool in = i < d->ninputs;
        LLVMValueRef idx = i64c(cg, in ? i : i - d->ninputs);
        LLVMBuildStore(B, LLVMGetParam(f, (unsigned)(2 + i)), LLVMBuildGEP2(B, P, in ? ins : outs, &idx, 1, ""));
    }
    ret_call(cg, &rt[RT_RUN], (LLVMValueRef[]){LLVMGetParam(f, 0), LLVMGetParam(f, 1), ins, outs}, 4, false);
    /* the others take the header's parameters as they are */
    forward(cg, a, prefix, "run_arrays", &rt[RT_RUN]);
    forward(cg, a, prefix, "last_error", &rt[RT_LAST_ERROR]);
    forward(cg, a, prefix, "destroy", &rt[RT_DESTROY]);
    forward(cg, a, prefix, "set_threads", &rt[RT_SET_THREADS]);
    forward(cg, a, prefix, "set_parallel_for", &rt[RT_SET_PARALLEL_FOR]);
    forward(cg, a, prefix, "workspace_size", &rt[RT_WORKSPACE_SIZE]);
    forward(cg, a, prefix, "variant", &rt[RT_VARIANT]);
    if (d->nsites > 0) { /* compiled with statistics (docs/stats.md) */
        forward(cg, a, prefix, "stats_read", &rt[RT_STATS_READ]);
        forward(cg, a, prefix, "stats_reset", &rt[RT_STATS_RESET]);
    }
}

/* The packed weights, 64-byte aligned read-only data, and the array of
 * their addresses (what the kernels take as `w`). */
static LLVMValueRef emit_weights(CG *cg, const actrt_desc *d, const float *const *packed,
                                 const char *prefix, Arena *a) {
    LLVMValueRef *ptrs = NEW_ARRAY(a, LLVMValueRef, (size_t)d->nweights + 1);
    for (int i = 0; i < d->nweights; i++) {
        /* size_t length: a packed weight may exceed 4 GiB */
        /* the slot's bytes, in any element type (runtime.h) */
        LLVMValueRef data = LLVMConstStringInContext2(cg->ctx, (const char *)packed[i],
                                                      (size_t)actrt_weight_bytes(&d->weights[i]), 1);
        LLVMValueRef g = cg_const_global(cg, data, arena_printf(a, "%s_w%d", prefix, i));
        LLVMSetAlignment(g, 64);
        ptrs[i] = g;
    }
    return cg_const_global(cg, LLVMConstArray2(cg->t_ptr, ptrs, (uint64_t)d->nweights),
                        arena_printf(a, "%s_weights", prefix));
}

int aot_compile_embedded(CG *cg, const AotVariant *v, int n, const char *prefix, const float *const *packed,
                         const char *path, Arena *a, char *err, size_t errlen) {
    /* the weights once, in the layouts of the last variant: the others pack
     * theirs from these at create (embedded.c) */
    LLVMValueRef *weights = NEW_ARRAY(a, LLVMValueRef, (size_t)n);
    weights[n - 1] = emit_weights(cg, v[n - 1].desc, packed, prefix, a);
    LLVMValueRef variants = emit_variants(cg, v, n, weights, prefix, a);
    int st = link_runtime(cg, err, errlen);
    RtFn rt[RT_N];
    if (st || (st = rt_entry_points(cg, rt, err, errlen)))
        return st;
    cg->b = LLVMCreateBuilderInContext(cg->ctx); /* cg_dispose disposes it if emit_wrappers throws */
    emit_wrappers(cg, v[0].desc, rt, variants, n, prefix, a);
    LLVMDisposeBuilder(cg->b);
    cg->b = NULL;
    int vst = cg_verify(cg, "the object", err, errlen);
    if (vst)
        return vst;
    return path ? aot_write_object(cg, path, err, errlen) : ACTC_OK;
}
