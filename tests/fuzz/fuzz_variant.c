/*
 * fuzz_variant.c — the variant choice of runtime/cpu.h (docs/aot.md,
 * "Variants") over hostile ACTC_CPU_VARIANT values and made-up CPUs: the
 * input's first 8 bytes are the CPU's features, the rest the variable's
 * value.  The choice must be a variant the CPU runs or -1 with a
 * NUL-terminated message, and never read or write out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

static const actrt_desc desc = {.abi_version = ACTRT_ABI_VERSION};
static const actrt_variant vars[] = {
    {"x86-64-v2", ACTRT_CPU(SSE4_2) | ACTRT_CPU(POPCNT), &desc, NULL},
    {"x86-64-v3", ACTRT_CPU(SSE4_2) | ACTRT_CPU(POPCNT) | ACTRT_CPU(AVX2) | ACTRT_CPU(FMA), &desc, NULL},
    {"x86-64-v4", ACTRT_CPU(SSE4_2) | ACTRT_CPU(AVX2) | ACTRT_CPU(FMA) | ACTRT_CPU(AVX512F) | ACTRT_CPU(AVX512BW), &desc,
     NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t have = 0;
    size_t k = size < 8 ? size : 8;
    memcpy(&have, data, k);
    char *env = malloc(size - k + 1);
    if (!env)
        return 0;
    memcpy(env, data + k, size - k);
    env[size - k] = 0;
    char msg[512];
    msg[0] = 0;
    for (int n = 1; n <= 3; n++) {
        RtMsg m = rt_msg(msg, sizeof msg);
        int v = rt_choose_variant(vars, n, have, env, &m);
        if (v >= 0 && ((vars[v].needs & ~have) || v >= n))
            abort(); /* a variant the CPU cannot run */
        if (v < 0 && memchr(msg, 0, sizeof msg) == NULL)
            abort();
    }
    free(env);
    return 0;
}
