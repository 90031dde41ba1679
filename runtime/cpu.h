/*
 * cpu.h — which ISA variant of a model this CPU runs (docs/aot.md,
 * "Variants"), shared by libactrt (model.c) and the embedded runtime of
 * self-contained objects (embedded.c) so that the detection, the choice,
 * the ACTC_CPU_VARIANT override and their messages exist once.
 *
 * Freestanding and baseline-only: this code runs before any variant is
 * chosen, so it is compiled for the baseline CPU of the triple and uses
 * CPUID and XGETBV through inline assembly.  XGETBV is executed only when
 * CPUID.1:ECX.OSXSAVE says the OS enabled it (it faults otherwise, e.g.
 * under qemu -cpu Nehalem); leaf 7 only when the maximum leaf allows it.
 * AVX and AVX-512 count only when XCR0 shows the OS saves their registers.
 */
#ifndef ACTC_RUNTIME_CPU_H
#define ACTC_RUNTIME_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actc/runtime.h"
#include "run_checks.h"

static const char *const rt_cpu_feature_names[ACTRT_CPU_NFEATURES] = {
#define RT_CPU_NAME_(id, name) name,
    ACTRT_CPU_FEATURES(RT_CPU_NAME_)
#undef RT_CPU_NAME_
};

#if defined(__x86_64__) || defined(__i386__)
static inline void rt_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static inline uint64_t rt_xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rt_cpu_detect(void) {
    uint32_t r[4];
    rt_cpuid(0, 0, r);
    uint32_t max = r[0];
    if (max < 1)
        return 0;
    uint64_t f = 0;
    rt_cpuid(1, 0, r);
    uint32_t c1 = r[2];
    if (c1 & (1u << 0)) f |= ACTRT_CPU(SSE3);
    if (c1 & (1u << 9)) f |= ACTRT_CPU(SSSE3);
    if (c1 & (1u << 19)) f |= ACTRT_CPU(SSE4_1);
    if (c1 & (1u << 20)) f |= ACTRT_CPU(SSE4_2);
    if (c1 & (1u << 22)) f |= ACTRT_CPU(MOVBE);
    if (c1 & (1u << 23)) f |= ACTRT_CPU(POPCNT);
    bool ymm = false, zmm = false;
    if (c1 & (1u << 27)) { /* OSXSAVE: XGETBV is available */
        uint64_t xcr0 = rt_xgetbv0();
        ymm = (xcr0 & 0x6) == 0x6;           /* SSE and AVX state */
        zmm = ymm && (xcr0 & 0xe0) == 0xe0;  /* opmask, ZMM_Hi256, Hi16_ZMM */
    }
    if (ymm) {
        if (c1 & (1u << 28)) f |= ACTRT_CPU(AVX);
        if (c1 & (1u << 12)) f |= ACTRT_CPU(FMA);
        if (c1 & (1u << 29)) f |= ACTRT_CPU(F16C);
    }
    if (max >= 7) {
        rt_cpuid(7, 0, r);
        uint32_t b7 = r[1];
        if (b7 & (1u << 3)) f |= ACTRT_CPU(BMI1);
        if (b7 & (1u << 8)) f |= ACTRT_CPU(BMI2);
        if (ymm && (b7 & (1u << 5))) f |= ACTRT_CPU(AVX2);
        if (zmm) {
            if (b7 & (1u << 16)) f |= ACTRT_CPU(AVX512F);
            if (b7 & (1u << 17)) f |= ACTRT_CPU(AVX512DQ);
            if (b7 & (1u << 28)) f |= ACTRT_CPU(AVX512CD);
            if (b7 & (1u << 30)) f |= ACTRT_CPU(AVX512BW);
            if (b7 & (1u << 31)) f |= ACTRT_CPU(AVX512VL);
        }
    }
    rt_cpuid(0x80000000u, 0, r);
    if (r[0] >= 0x80000001u) {
        rt_cpuid(0x80000001u, 0, r);
        if (r[2] & (1u << 5)) f |= ACTRT_CPU(LZCNT);
    }
    return f;
}
#else
/* AArch64: variants need nothing beyond armv8-a (NEON is part of it). */
static inline uint64_t rt_cpu_detect(void) { return 0; }
#endif

/* Once per process (idempotent, so a race only repeats the detection). */
static inline uint64_t rt_cpu_features(void) {
    static uint64_t cached;
    static int done;
    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
        return __atomic_load_n(&cached, __ATOMIC_RELAXED);
    uint64_t f = rt_cpu_detect();
    __atomic_store_n(&cached, f, __ATOMIC_RELAXED);
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    return f;
}

__attribute__((cold, noinline, unused)) static void rt_put_features(RtMsg *m, uint64_t bits) {
    int n = 0;
    for (int i = 0; i < ACTRT_CPU_NFEATURES; i++)
        if (bits & ((uint64_t)1 << i)) {
            if (n++)
                rt_puts(m, ", ");
            rt_puts(m, rt_cpu_feature_names[i]);
        }
}

__attribute__((cold, noinline, unused)) static void rt_put_variants(RtMsg *m, const actrt_variant *v, int n,
                                                                      uint64_t have, bool runnable_only) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!runnable_only || !(v[i].needs & ~have)) {
            if (k++)
                rt_puts(m, ", ");
            rt_puts(m, v[i].name);
        }
    if (!k)
        rt_puts(m, "none");
}

static inline bool rt_streq(const char *a, const char *b) {
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* The variant to run: the one `env` (ACTC_CPU_VARIANT, NULL or "" when
 * unset) names, else the last one the CPU's features `have` cover.  Returns
 * its index, or -1 with the message in msg (the status is ACTC_ERR_ARG). */
static inline int rt_choose_variant(const actrt_variant *v, int n, uint64_t have, const char *env, RtMsg *msg) {
    if (env && *env) {
        for (int i = 0; i < n; i++)
            if (rt_streq(v[i].name, env)) {
                if (!(v[i].needs & ~have))
                    return i;
                rt_puts(msg, "ACTC_CPU_VARIANT=");
                rt_puts(msg, env);
                rt_puts(msg, ": this CPU lacks ");
                rt_put_features(msg, v[i].needs & ~have);
                rt_puts(msg, " (variants it runs: ");
                rt_put_variants(msg, v, n, have, true);
                rt_puts(msg, ")");
                return -1;
            }
        rt_puts(msg, "ACTC_CPU_VARIANT=");
        rt_puts(msg, env);
        rt_puts(msg, ": no such variant in this object (variants: ");
        rt_put_variants(msg, v, n, have, false);
        rt_puts(msg, ")");
        return -1;
    }
    for (int i = n - 1; i >= 0; i--)
        if (!(v[i].needs & ~have))
            return i;
    /* none runs: what each needs and this CPU lacks */
    rt_puts(msg, "this object was compiled for ");
    for (int i = 0; i < n; i++) {
        if (i)
            rt_puts(msg, "; or for ");
        rt_puts(msg, v[i].name);
        rt_puts(msg, " (needs ");
        rt_put_features(msg, v[i].needs);
        rt_puts(msg, ")");
    }
    rt_puts(msg, "; this CPU lacks ");
    rt_put_features(msg, v[0].needs & ~have);
    if (n > 1) {
        rt_puts(msg, " (for ");
        rt_puts(msg, v[0].name);
        rt_puts(msg, ", the least demanding)");
    }
    return -1;
}

#endif
