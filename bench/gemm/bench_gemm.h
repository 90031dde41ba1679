/* bench_gemm.h — shared between the harness and its separately compiled parts. */
#ifndef BENCH_GEMM_H
#define BENCH_GEMM_H

/* Epilogues.  The first four are activations of one projection (with bias);
 * the last two are gates of two projections (no bias): act(x W^T) * (x V^T). */
enum { ACT_RELU, ACT_GELU_TANH, ACT_GELU, ACT_SILU, GATE_SWIGLU, GATE_GEGLU, NACTS };

/* peer_passes.c (built with -O3 -march=native -ffast-math: libmvec) */
void peer_bias_act(float *c, const float *bias, long m, long n, int act, int nthreads);
void peer_gate(float *out, const float *c2, long m, long n, int gate, int nthreads);

/* peak.c (built with -O2 -mavx512f -mfma) */
float peak_fma_loop(long iters, float seed);
double peak_flops_per_iter(void);

#endif
