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
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "llvm_cpus.h"

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;

static void init_llvm(void) {
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
    LLVMInitializeAllAsmParsers();
}

/* A funnel copy of s, or NULL when out of memory (target_init then returns
 * ACTC_ERR_NOMEM rather than throwing: LLVM's messages must be disposed). */
static char *dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = mem_alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int out_of_memory(Target *t, char *err, size_t errlen) {
    snprintf(err, errlen, "out of memory");
    target_dispose(t);
    return ACTC_ERR_NOMEM;
}

/* What the feature string says of `feat`, its last mention winning: +1
 * for "+feat", -1 for "-feat", 0 when it is not mentioned. */
static int feature_state(const char *features, const char *feat) {
    int state = 0;
    size_t n = strlen(feat);
    for (const char *p = features; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n + 1 && strncmp(p + 1, feat, n) == 0)
            state = p[0] == '+' ? 1 : -1;
        p = end ? end + 1 : p + len;
    }
    return state;
}

/* Does the feature string enable `feat` ("+avx512f" present, no later "-")? */
static bool has_feature(const char *features, const char *feat) { return feature_state(features, feat) > 0; }

/* The vector facts an x86 CPU name implies.  The C API cannot ask LLVM for a
 * named CPU's features, so the families are listed here (LLVM 19 names);
 * explicit --features override them. */
static int x86_cpu_lanes(const char *cpu, bool *fma) {
    static const char *const avx512[] = {"x86-64-v4", "skylake-avx512", "cascadelake", "cooperlake", "cannonlake",
                                         "icelake-client", "icelake-server", "tigerlake", "rocketlake",
                                         "sapphirerapids", "graniterapids", "graniterapids-d", "emeraldrapids",
                                         "znver4", "znver5", "knl", "knm"};
    static const char *const avx2[] = {"x86-64-v3", "haswell", "broadwell", "skylake", "alderlake", "raptorlake",
                                       "meteorlake", "arrowlake", "arrowlake-s", "lunarlake", "gracemont",
                                       "pantherlake", "sierraforest", "grandridge", "clearwaterforest", "znver1",
                                       "znver2", "znver3", "bdver2", "bdver3", "bdver4"};
    static const char *const avx[] = {"sandybridge", "ivybridge", "bdver1", "btver2"};
    for (size_t i = 0; i < ARRAY_LEN(avx512); i++)
        if (strcmp(cpu, avx512[i]) == 0)
            return *fma = true, 16;
    for (size_t i = 0; i < ARRAY_LEN(avx2); i++)
        if (strcmp(cpu, avx2[i]) == 0)
            return *fma = true, 8;
    for (size_t i = 0; i < ARRAY_LEN(avx); i++)
        if (strcmp(cpu, avx[i]) == 0)
            return *fma = false, 8;
    return *fma = false, 4;
}

/* The name in list (NULL-terminated) closest to name, or NULL. */
static const char *closest(const char *const *list, const char *name) {
    const char *best = NULL;
    int bd = 4;
    for (int i = 0; list[i]; i++) {
        int d = edit_distance(name, list[i], bd - 1);
        if (d < bd)
            bd = d, best = list[i];
    }
    return best;
}

/* Where a CPU name's trailing generation number starts ("znver5": 5,
 * "skylake-avx512": 11); the length when it has none. */
static size_t stem_len(const char *s) {
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] >= '0' && s[n - 1] <= '9')
        n--;
    return n;
}

/* The CPU of list nearest to name.  A name with a trailing number is taken
 * as a generation of its family (the name before the number: "znver",
 * "skylake-avx", "cortex-a"): the family's generation with as many digits
 * and the nearest number, the newer one on a tie (znver9 -> znver5, not
 * znver1 as the edit distance ties say), or its newest when the number is
 * beyond all of them (znver10 -> znver5).  Else the edit distance
 * decides (sapphirerapidz -> sapphirerapids). */
static const char *closest_cpu(const char *const *list, const char *name) {
    size_t sl = stem_len(name), digits = strlen(name) - sl;
    const char *best = NULL, *newest = NULL;
    long long want = digits && digits <= 9 ? strtoll(name + sl, NULL, 10) : -1, bd = 0, bn = 0, nn = -1;
    for (int i = 0; want >= 0 && sl > 0 && list[i]; i++) {
        size_t cl = stem_len(list[i]);
        if (cl != sl || strncmp(list[i], name, sl) != 0 || !list[i][cl] || strlen(list[i] + cl) > 9)
            continue;
        long long n = strtoll(list[i] + cl, NULL, 10), d = n > want ? n - want : want - n;
        if (n > nn)
            nn = n, newest = list[i];
        if (strlen(list[i] + cl) == digits && (!best || d < bd || (d == bd && n > bn)))
            best = list[i], bd = d, bn = n;
    }
    if (best)
        return best;
    if (newest && want > nn)
        return newest;
    return closest(list, name);
}

static bool listed(const char *const *list, const char *name, size_t len) {
    for (int i = 0; list[i]; i++)
        if (strlen(list[i]) == len && strncmp(list[i], name, len) == 0)
            return true;
    return false;
}

/* Check --cpu and --features against LLVM's own tables for x86-64 and
 * AArch64 (cmake/LlvmCpus.cmake): LLVM itself only warns about an unknown
 * name, and on x86-64 an unknown CPU then aborts the process. */
static int check_cpu_features(const char *triple, const char *cpu, const char *features, char *err, size_t errlen) {
    const char *const *cpus = NULL, *const *feats = NULL;
    if (strncmp(triple, "x86_64", 6) == 0 || strncmp(triple, "i686", 4) == 0)
        cpus = llvm_x86_cpus, feats = llvm_x86_features;
    else if (strncmp(triple, "aarch64", 7) == 0 || strncmp(triple, "arm64", 5) == 0)
        cpus = llvm_aarch64_cpus, feats = llvm_aarch64_features;
    if (!cpus || !cpus[0])
        return ACTC_OK; /* another target, or no table: LLVM decides */
    if (cpu && !listed(cpus, cpu, strlen(cpu))) {
        const char *c = closest_cpu(cpus, cpu);
        if (c)
            snprintf(err, errlen, "unknown CPU '%s' for %s; did you mean '%s'? (llc-19 -mtriple=%s -mcpu=help lists them)",
                     cpu, triple, c, triple);
        else
            snprintf(err, errlen, "unknown CPU '%s' for %s (llc-19 -mtriple=%s -mcpu=help lists them)", cpu, triple,
                     triple);
        return ACTC_ERR_ARG;
    }
    for (const char *p = features; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len < 2 || (p[0] != '+' && p[0] != '-')) {
            snprintf(err, errlen, "--features: '%.*s' must be +NAME or -NAME (e.g. +avx2,-avx512f)", (int)len, p);
            return ACTC_ERR_ARG;
        }
        if (!listed(feats, p + 1, len - 1)) {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(len - 1 < 127 ? len - 1 : 127), p + 1);
            const char *c = closest(feats, name);
            snprintf(err, errlen, "unknown CPU feature '%s' for %s%s%s%s", name, triple, c ? "; did you mean '" : "",
                     c ? c : "", c ? "'?" : "");
            return ACTC_ERR_ARG;
        }
        p = end ? end + 1 : p + len;
    }
    return ACTC_OK;
}

/* The register count, the kernels' parameters (params.c: a table entry
 * for the CPU kinds measured, else the analytical choice) and the
 * runtime's row tile (the tallest register tile).  A tile of mr x nr
 * vectors keeps mr * nr * projections accumulators, the nr * projections
 * weight vectors and one broadcast in the registers: 32 with AVX-512 and
 * NEON, 16 with AVX2 and SSE. */
static void set_tiles(Target *t, bool x86) {
    t->nregs = (x86 && t->vlen < 16) ? 16 : 32;
    params_default(t);
    t->row_tile = t->kp[K_DENSE].mr > t->kp[K_GATED].mr ? t->kp[K_DENSE].mr : t->kp[K_GATED].mr;
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
    if (!t->triple)
        return out_of_memory(t, err, errlen);
    LLVMTargetRef tgt;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(t->triple, &tgt, &msg)) {
        snprintf(err, errlen, "unknown target '%s': %s", t->triple, msg ? msg : "");
        LLVMDisposeMessage(msg);
        target_dispose(t);
        return ACTC_ERR_ARG;
    }
    /* The architectures the kernels are generated and tested for; LLVM knows
     * more, but on some (riscv64 without its float extensions) it aborts the
     * process inside instruction selection instead of reporting an error. */
    if (strncmp(t->triple, "x86_64", 6) != 0 && strncmp(t->triple, "i686", 4) != 0 &&
        strncmp(t->triple, "i386", 4) != 0 && strncmp(t->triple, "aarch64", 7) != 0 &&
        strncmp(t->triple, "arm64", 5) != 0) {
        snprintf(err, errlen, "unsupported target '%s': actc generates code for x86_64 (and i686) and aarch64",
                 t->triple);
        target_dispose(t);
        return ACTC_ERR_ARG;
    }
    if (cpu && strcmp(cpu, "native") == 0) /* as clang: this machine's CPU and features */
        cpu = NULL;
    int cst = check_cpu_features(t->triple, cpu, features, err, errlen);
    if (cst) {
        target_dispose(t);
        return cst;
    }
    /* CPU and features: the host's only for a host build without --cpu. */
    char *host_cpu = NULL, *host_feat = NULL;
    if (t->is_host && !cpu) {
        t->host_cpu = true;
        host_cpu = LLVMGetHostCPUName();
        host_feat = LLVMGetHostCPUFeatures();
        t->cpu = dup(host_cpu);
        t->features = dup(host_feat);
    } else {
        t->cpu = dup(cpu ? cpu : "generic");
        t->features = dup("");
    }
    if (host_cpu)
        LLVMDisposeMessage(host_cpu);
    if (host_feat)
        LLVMDisposeMessage(host_feat);
    if (!t->cpu || !t->features)
        return out_of_memory(t, err, errlen);
    if (features && *features) {
        size_t n = strlen(t->features) + strlen(features) + 2;
        char *all = mem_alloc(n);
        if (!all)
            return out_of_memory(t, err, errlen);
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
    if (x86 && t->is_host && !cpu) {
        t->vlen = has_feature(t->features, "avx512f") ? 16 : has_feature(t->features, "avx") ? 8 : 4;
        t->caps.fma = has_feature(t->features, "fma");
    } else if (x86) {
        t->vlen = x86_cpu_lanes(t->cpu, &t->caps.fma);
        if (has_feature(t->features, "avx512f"))
            t->vlen = 16;
        else if (has_feature(t->features, "avx") && t->vlen < 8)
            t->vlen = 8;
        if (strstr(t->features, "-avx512f") && t->vlen > 8)
            t->vlen = 8;
        if (strstr(t->features, "-avx") && !strstr(t->features, "-avx512") && t->vlen > 4)
            t->vlen = 4;
        t->caps.fma = t->caps.fma || has_feature(t->features, "fma");
    } else {
        t->vlen = arm ? 4 : 1;
        t->caps.fma = arm;
    }
    t->caps.scalef_lanes = x86 && t->vlen == 16 ? 16 : 0;
    /* F16C: named in the features, or implied (every x86 CPU with FMA or
     * AVX-512 has it; AVX alone does not: Sandy Bridge); AArch64's base ISA */
    t->caps.f16 = arm || (x86 && (has_feature(t->features, "f16c") || t->caps.fma || t->vlen == 16) &&
                          !strstr(t->features, "-f16c"));
    if (vlen_cap > 0 && t->vlen > vlen_cap)
        t->vlen = vlen_cap;
    set_tiles(t, x86);
    return ACTC_OK;
}

/* x86-64 micro-architecture levels (the psABI's), as ACTRT_CPU bits. */
#define NEEDS_V2 (ACTRT_CPU(SSE3) | ACTRT_CPU(SSSE3) | ACTRT_CPU(SSE4_1) | ACTRT_CPU(SSE4_2) | ACTRT_CPU(POPCNT))
#define NEEDS_V3                                                                                                  \
    (NEEDS_V2 | ACTRT_CPU(AVX) | ACTRT_CPU(AVX2) | ACTRT_CPU(FMA) | ACTRT_CPU(F16C) | ACTRT_CPU(BMI1) |           \
     ACTRT_CPU(BMI2) | ACTRT_CPU(LZCNT) | ACTRT_CPU(MOVBE))
#define NEEDS_V4                                                                                                  \
    (NEEDS_V3 | ACTRT_CPU(AVX512F) | ACTRT_CPU(AVX512BW) | ACTRT_CPU(AVX512DQ) | ACTRT_CPU(AVX512VL) |           \
     ACTRT_CPU(AVX512CD))

static const char *const cpu_feature_names[] = {
#define NAME_(id, name) name,
    ACTRT_CPU_FEATURES(NAME_)
#undef NAME_
};

/* The level a named x86 CPU implies (the families of x86_cpu_lanes). */
static uint64_t x86_cpu_level(const char *cpu) {
    static const char *const v2[] = {"x86-64-v2", "nehalem", "corei7", "westmere", "silvermont", "slm", "goldmont",
                                     "goldmont-plus", "tremont", "btver2"};
    bool fma;
    int lanes = x86_cpu_lanes(cpu, &fma);
    if (lanes == 16)
        return strcmp(cpu, "knl") == 0 || strcmp(cpu, "knm") == 0
                   ? NEEDS_V3 | ACTRT_CPU(AVX512F) | ACTRT_CPU(AVX512CD)
                   : NEEDS_V4;
    if (lanes == 8)
        return fma ? NEEDS_V3 : NEEDS_V2 | ACTRT_CPU(AVX);
    for (size_t i = 0; i < ARRAY_LEN(v2); i++)
        if (strcmp(cpu, v2[i]) == 0)
            return NEEDS_V2;
    return 0; /* x86-64, generic, core2, ...: the baseline every x86-64 CPU runs */
}

uint64_t target_needs(const Target *t) {
    bool x86 = strncmp(t->triple, "x86_64", 6) == 0;
    if (!x86)
        return 0;
    /* the host's features as LLVM lists them, else the CPU's level; then
     * --features: +name adds, -name removes */
    uint64_t n = t->is_host && t->host_cpu ? 0 : x86_cpu_level(t->cpu);
    for (int i = 0; i < ACTRT_CPU_NFEATURES; i++) {
        int st = feature_state(t->features, cpu_feature_names[i]);
        if (st > 0)
            n |= (uint64_t)1 << i;
        else if (st < 0)
            n &= ~((uint64_t)1 << i);
    }
    return n;
}

const char *target_variant_name(const Target *t) { return t->cpu; }

const char *target_feature_list(Arena *a, uint64_t bits) {
    StrBuf sb;
    sb_init(&sb, a);
    int n = 0;
    for (int i = 0; i < ACTRT_CPU_NFEATURES; i++)
        if (bits & ((uint64_t)1 << i))
            sb_printf(&sb, "%s%s", n++ ? ", " : "", cpu_feature_names[i]);
    return sb_str(&sb);
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
    mem_free(t->kp_owned);
    memset(t, 0, sizeof *t);
}
