/*
 * ceiling.c — what one AVX-512 register tile reaches on this machine,
 * written by hand: the control for actc's generated matmul (docs/performance.md,
 * "Where the rest goes").  The tile is actc's measured choice on AVX-512
 * (8 rows x 3 vectors of 16 columns, 24 accumulators, x broadcast, weights
 * panel [k][48]); the harness runs it
 *   l1      over one tile's x (8 x K) and one weights panel (K x 48), both
 *           resident in L1: the register tile alone;
 *   matmul  over a whole relu layer y = max(x W + b, 0), M x K by K x N,
 *           row blocks of mc rows, panel after panel, the tile's epilogue
 *           (bias, relu, store into y) after its k loop; K unblocked.
 * and reports medians of GFLOP/s and their share of the FMA peak loop
 * (peak.c), measured in the same rounds.  No K blocking, no remainder tiles: M a multiple of
 * mc, mc of 8, N of 48.
 *
 *   ./ceiling [--m M] [--k K] [--n N] [--mc MC] [--reps R]
 */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_gemm.h"

enum { MR = 8, P = 48 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One tile: rows x[0..8) (row stride ldx), panel w (K x 48), then
 * y[i][0..48) = max(acc + b, 0) (row stride ldy).  Spelled out row by row
 * (no arrays of vectors), so that every compiler keeps the 24
 * accumulators in registers. */
#define ROW_DECL(i) __m512 a##i##0 = _mm512_setzero_ps(), a##i##1 = a##i##0, a##i##2 = a##i##0;
#define ROW_FMA(i)                                          \
    {                                                       \
        __m512 xb = _mm512_set1_ps(x[(i) * ldx + kk]);      \
        a##i##0 = _mm512_fmadd_ps(xb, w0, a##i##0);         \
        a##i##1 = _mm512_fmadd_ps(xb, w1, a##i##1);         \
        a##i##2 = _mm512_fmadd_ps(xb, w2, a##i##2);         \
    }
#define OUT(i, v) _mm512_storeu_ps(y + (i) * ldy + (v) * 16, _mm512_max_ps(_mm512_add_ps(a##i##v, b##v), z));
#define ROW_OUT(i) OUT(i, 0) OUT(i, 1) OUT(i, 2)
#define ROWS(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7)

__attribute__((noinline)) static void tile(const float *x, long ldx, const float *w, long k, const float *b,
                                           float *y, long ldy) {
    ROWS(ROW_DECL)
    for (long kk = 0; kk < k; kk++) {
        __m512 w0 = _mm512_loadu_ps(w + kk * P), w1 = _mm512_loadu_ps(w + kk * P + 16),
               w2 = _mm512_loadu_ps(w + kk * P + 32);
        ROWS(ROW_FMA)
    }
    __m512 z = _mm512_setzero_ps(), b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16),
           b2 = _mm512_loadu_ps(b + 32);
    ROWS(ROW_OUT)
}

static double median(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

static double peak(void) {
    long iters = 10000000;
    double t = now();
    volatile float r = peak_fma_loop(iters, 1.0f);
    (void)r;
    return (double)iters * peak_flops_per_iter() / (now() - t) * 1e-9;
}

int main(int argc, char **argv) {
    long m = 256, k = 128, n = 4080, mc = 256; /* 85 panels of 48 */
    int reps = 9;
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = atol(argv[i + 1]);
        if (!strcmp(argv[i], "--m")) m = v;
        else if (!strcmp(argv[i], "--k")) k = v;
        else if (!strcmp(argv[i], "--n")) n = v;
        else if (!strcmp(argv[i], "--mc")) mc = v;
        else if (!strcmp(argv[i], "--reps")) reps = (int)v;
        else {
            fprintf(stderr, "ceiling: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (argc % 2 == 0 || m <= 0 || k <= 0 || n <= 0 || mc <= 0 || mc % MR || m % mc || n % P || reps < 1 || reps > 99) {
        fprintf(stderr, "ceiling: need M a multiple of MC, MC of %d, N of %d, K > 0, 1 <= R <= 99\n", MR, P);
        return 2;
    }
    float *x = aligned_alloc(64, (size_t)(m * k) * 4), *w = aligned_alloc(64, (size_t)(k * n) * 4);
    float *b = aligned_alloc(64, (size_t)n * 4), *y = aligned_alloc(64, (size_t)(m * n) * 4);
    if (!x || !w || !b || !y) {
        fprintf(stderr, "ceiling: out of memory\n");
        return 1;
    }
    for (long i = 0; i < m * k; i++) x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (long i = 0; i < k * n; i++) w[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
    for (long i = 0; i < n; i++) b[i] = 0.01f * (float)(i % 7);
    memset(y, 0, (size_t)(m * n) * 4);
    double pks[99], l1[99], mm[99];
    double l1flops = 2.0 * MR * P * (double)k, mmflops = 2.0 * (double)m * (double)n * (double)k;
    long l1calls = (long)(2e9 / l1flops) + 1, mmcalls = (long)(1e9 / mmflops) + 1;
    for (int r = 0; r < reps; r++) { /* interleaved rounds: the peak loop, the tile in L1, the matmul */
        pks[r] = peak();
        double t = now();
        for (long c = 0; c < l1calls; c++)
            tile(x, k, w, k, b, y, P);
        l1[r] = (double)l1calls * l1flops / (now() - t) * 1e-9;
        t = now();
        for (long c = 0; c < mmcalls; c++)
            for (long rb = 0; rb < m; rb += mc)
                for (long p = 0; p < n / P; p++)
                    for (long i = rb; i < rb + mc; i += MR)
                        tile(x + i * k, k, w + p * k * P, k, b + p * P, y + i * n + p * P, n);
        mm[r] = (double)mmcalls * mmflops / (now() - t) * 1e-9;
    }
    double pk = median(pks, reps), a = median(l1, reps), c = median(mm, reps);
    printf("hand-written 8x3 AVX-512 tile, median of %d rounds; FMA peak %.1f GFLOP/s\n", reps, pk);
    printf("  l1      K=%ld (x and one panel in L1)          %7.1f GFLOP/s  %5.1f%%\n", k, a, 100 * a / pk);
    printf("  matmul  M=%ld K=%ld N=%ld mc=%ld, bias+relu   %7.1f GFLOP/s  %5.1f%%\n", m, k, n, mc, c, 100 * c / pk);
    printf("(y[0] = %g)\n", (double)y[0]);
    free(x), free(w), free(b), free(y);
    return 0;
}
