/* bench_act.h — shared between the activation harness and its separately
 * compiled peers (each peer is its own translation unit with its own flags). */
#ifndef BENCH_ACT_H
#define BENCH_ACT_H

#include <stddef.h>

/* The rows of the tables, in this order. */
enum { A_RELU, A_GELU_TANH, A_GELU, A_SILU, A_MISH, A_TANH, A_SIGMOID, A_ELU, A_SOFTPLUS, NACTS };

/* y[i] = act(x[i]) for i < n; x and y do not overlap. */
typedef void (*act_loop_fn)(const float *x, float *y, size_t n);

/* peer_libm.c: glibc's scalar libm, plain -O2 (no -ffast-math). */
extern const act_loop_fn libm_loops[NACTS];
/* peer_fastmath.c: the same definitions, -O3 -ffast-math -march=native
 * (gcc vectorises through glibc's libmvec where it can). */
extern const act_loop_fn fastmath_loops[NACTS];
/* peer_sleef.c: SLEEF 3.5's AVX-512 u10 functions (erfc: u15, the only
 * one), -O2 -mavx512f. */
extern const act_loop_fn sleef_loops[NACTS];
/* SLEEF's version, "3.5.1" (from sleef.h). */
const char *sleef_version(void);

#endif
