/*
 * peak.c — the machine's FMA peak, measured: 12 independent chains of
 * 16-lane (zmm) fused multiply-adds, enough to cover the FMA latency on
 * every AVX-512 core we know of.  Built with -O2 -mavx512f -mfma
 * -ffp-contract=fast (the Makefile), so each statement is one vfmadd.
 */
#include "bench_gemm.h"

typedef float v16 __attribute__((vector_size(64)));

#define FLOPS_PER_ITER (12.0 * 16.0 * 2.0)

/* Run `iters` iterations; returns a value that depends on every chain. */
float peak_fma_loop(long iters, float seed) {
    v16 m = {0}, c = {0};
    v16 a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
    for (int l = 0; l < 16; l++) {
        m[l] = 0.9999999f;
        c[l] = 1e-7f * seed;
    }
    a0 = c * 1.0f; a1 = c * 2.0f; a2 = c * 3.0f; a3 = c * 4.0f;
    a4 = c * 5.0f; a5 = c * 6.0f; a6 = c * 7.0f; a7 = c * 8.0f;
    a8 = c * 9.0f; a9 = c * 10.0f; a10 = c * 11.0f; a11 = c * 12.0f;
    for (long i = 0; i < iters; i++) {
        a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
        a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
        a8 = a8 * m + c; a9 = a9 * m + c; a10 = a10 * m + c; a11 = a11 * m + c;
    }
    v16 s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
    float r = 0.0f;
    for (int l = 0; l < 16; l++)
        r += s[l];
    return r;
}

double peak_flops_per_iter(void) { return FLOPS_PER_ITER; }
