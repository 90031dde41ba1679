/*
 * target.c — target machines (style.md §7).  The host by default, with the
 * host CPU and its features; with --target / --cpu / --features exactly what
 * was asked (host features never leak into a cross or --cpu build).  The
 * vector width follows the features: AVX-512 16 f32 lanes, AVX 8, SSE and
 * NEON 4; vlen_cap narrows it (the accuracy tool builds AVX2 and scalar
 * variants on an AVX-512 machine).
 */
#include <llvm-c/Target.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "codegen.h"

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;

static void init_llvm(void) {
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
    LLVMInitializeAllAsmParsers();
}

static char *dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = mem_alloc(n);
    if (!p)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory");
    memcpy(p, s, n);
    return p;
}

/* Does the feature string enable `feat` ("+avx512f" present, no later "-")? */
static bool has_feature(const char *features, const char *feat) {
    bool on = false;
    size_t n = strlen(feat);
    for (const char *p = features; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n + 1 && strncmp(p + 1, feat, n) == 0)
            on = p[0] == '+';
        p = end ? end + 1 : p + len;
    }
    return on;
}

/* Features a CPU name implies, as LLVM sees them: ask a temporary TM. */
static char *cpu_features(LLVMTargetRef tgt, const char *triple, const char *cpu) {
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(tgt, triple, cpu, "", LLVMCodeGenLevelNone, LLVMRelocDefault,
                                                      LLVMCodeModelDefault);
    char *f = tm ? LLVMGetTargetMachineFeatureString(tm) : NULL;
    char *r = dup(f ? f : "");
    if (f)
        LLVMDisposeMessage(f);
    if (tm)
        LLVMDisposeTargetMachine(tm);
    return r;
}

int target_init(Target *t, const char *triple, const char *cpu, const char *features, int vlen_cap, char *err,
                size_t errlen) {
    pthread_once(&llvm_once, init_llvm);
    memset(t, 0, sizeof *t);
    char *host_triple = LLVMGetDefaultTargetTriple();
    char *norm = LLVMNormalizeTargetTriple(triple ? triple : host_triple);
    t->is_host = !triple || strcmp(norm, host_triple) == 0;
    t->triple = dup(norm);
    LLVMDisposeMessage(norm);
    LLVMDisposeMessage(host_triple);
    LLVMTargetRef tgt;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(t->triple, &tgt, &msg)) {
        snprintf(err, errlen, "unknown target '%s': %s", t->triple, msg ? msg : "");
        LLVMDisposeMessage(msg);
        target_dispose(t);
        return ACTC_ERR_ARG;
    }
    /* CPU and features: the host's only for a host build without --cpu. */
    char *host_cpu = NULL, *host_feat = NULL;
    if (t->is_host && !cpu) {
        host_cpu = LLVMGetHostCPUName();
        host_feat = LLVMGetHostCPUFeatures();
        t->cpu = dup(host_cpu);
        t->features = dup(host_feat);
    } else {
        t->cpu = dup(cpu ? cpu : "generic");
        t->features = cpu_features(tgt, t->triple, t->cpu);
    }
    if (host_cpu)
        LLVMDisposeMessage(host_cpu);
    if (host_feat)
        LLVMDisposeMessage(host_feat);
    if (features && *features) {
        size_t n = strlen(t->features) + strlen(features) + 2;
        char *all = mem_alloc(n);
        if (!all)
            boundary_throw(ACTC_ERR_NOMEM, "out of memory");
        snprintf(all, n, "%s%s%s", t->features, *t->features ? "," : "", features);
        mem_free(t->features);
        t->features = all;
    }
    t->tm = LLVMCreateTargetMachine(tgt, t->triple, t->cpu, t->features, LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                    LLVMCodeModelDefault);
    if (!t->tm) {
        snprintf(err, errlen, "cannot create a target machine for '%s' (cpu '%s')", t->triple, t->cpu);
        target_dispose(t);
        return ACTC_ERR_ARG;
    }
    bool x86 = strncmp(t->triple, "x86_64", 6) == 0 || strncmp(t->triple, "i686", 4) == 0;
    bool arm = strncmp(t->triple, "aarch64", 7) == 0 || strncmp(t->triple, "arm64", 5) == 0;
    if (x86)
        t->vlen = has_feature(t->features, "avx512f") ? 16 : has_feature(t->features, "avx") ? 8 : 4;
    else
        t->vlen = arm ? 4 : 1;
    t->has_fma = arm || has_feature(t->features, "fma") || has_feature(t->features, "avx512f");
    if (vlen_cap > 0 && t->vlen > vlen_cap)
        t->vlen = vlen_cap;
    return ACTC_OK;
}

LLVMTargetMachineRef target_clone_tm(const Target *t) {
    LLVMTargetRef tgt;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(t->triple, &tgt, &msg)) {
        LLVMDisposeMessage(msg);
        return NULL;
    }
    return LLVMCreateTargetMachine(tgt, t->triple, t->cpu, t->features, LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                   LLVMCodeModelDefault);
}

void target_dispose(Target *t) {
    if (t->tm)
        LLVMDisposeTargetMachine(t->tm);
    mem_free(t->triple);
    mem_free(t->cpu);
    mem_free(t->features);
    memset(t, 0, sizeof *t);
}
