/*
 * peer_passes.c — the unfused epilogues of the BLAS peer: bias + activation
 * over the sgemm's output, and the gate combine act(a) * b over the output
 * of one sgemm on the concatenated [W; V].
 *
 * This is what a user of a BLAS writes, compiled as well as gcc allows: its
 * own translation unit, built with -O3 -march=native -ffast-math so that the
 * loops vectorise and expf / erff / tanhf go to glibc's libmvec (AVX-512
 * variants _ZGVeN16v_*).  Rows are split over OpenMP threads when the bench
 * runs with --threads > 1.
 */
#include <math.h>
#include <stddef.h>

#include "bench_gemm.h"

static inline float act1(int act, float v) {
    switch (act) {
    case ACT_RELU:
        return v > 0.0f ? v : 0.0f;
    case ACT_GELU_TANH:
        return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case ACT_GELU:
        return 0.5f * v * (1.0f + erff(v * 0.7071067811865476f));
    default: /* ACT_SILU */
        return v / (1.0f + expf(-v));
    }
}

/* One loop per activation, so that each vectorises on its own. */
#define ROW_LOOP(ACT)                                                                                                 \
    _Pragma("omp parallel for schedule(static) if (nthreads > 1) num_threads(nthreads)") for (long i = 0; i < m;     \
                                                                                              i++) {                  \
        float *restrict r = c + (size_t)i * (size_t)n;                                                                \
        for (long j = 0; j < n; j++)                                                                                  \
            r[j] = act1(ACT, r[j] + (bias ? bias[j] : 0.0f));                                                         \
    }

void peer_bias_act(float *restrict c, const float *restrict bias, long m, long n, int act, int nthreads) {
    switch (act) {
    case ACT_RELU:
        ROW_LOOP(ACT_RELU);
        break;
    case ACT_GELU_TANH:
        ROW_LOOP(ACT_GELU_TANH);
        break;
    case ACT_GELU:
        ROW_LOOP(ACT_GELU);
        break;
    default:
        ROW_LOOP(ACT_SILU);
        break;
    }
}

#define GATE_LOOP(ACT)                                                                                                \
    _Pragma("omp parallel for schedule(static) if (nthreads > 1) num_threads(nthreads)") for (long i = 0; i < m;     \
                                                                                              i++) {                  \
        const float *restrict a = c2 + (size_t)i * 2 * (size_t)n;                                                     \
        float *restrict o = out + (size_t)i * (size_t)n;                                                              \
        for (long j = 0; j < n; j++)                                                                                  \
            o[j] = act1(ACT, a[j]) * a[n + j];                                                                        \
    }

void peer_gate(float *restrict out, const float *restrict c2, long m, long n, int gate, int nthreads) {
    if (gate == GATE_GEGLU) {
        GATE_LOOP(ACT_GELU);
    } else {
        GATE_LOOP(ACT_SILU);
    }
}
