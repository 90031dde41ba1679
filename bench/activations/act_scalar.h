/*
 * act_scalar.h — the activations as a PyTorch user writes them in C: each
 * one from its PyTorch definition, on floats, with glibc's libm.  Included
 * by two translation units that differ only in their compiler flags:
 *
 *   peer_libm.c      -O2                               (scalar libm calls)
 *   peer_fastmath.c  -O3 -ffast-math -march=native     (libmvec, if gcc can)
 *
 * The includer defines PEER_NAME(act) (the loop functions' names) and
 * PEER_TABLE (the name of the act_loop_fn table).  One loop per activation,
 * so that each vectorises (or not) on its own.
 */
#include <math.h>
#include <stddef.h>

#include "bench_act.h"

/* PyTorch's softplus threshold (beta = 1): x itself above it */
#define SOFTPLUS_THRESHOLD 20.0f

static inline float s_relu(float x) { return x > 0.0f ? x : 0.0f; }

/* F.gelu(x, approximate="tanh") */
static inline float s_gelu_tanh(float x) {
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

/* F.gelu(x): 0.5 x (1 + erf(x/sqrt2)), written as 0.5 x erfc(-x/sqrt2) */
static inline float s_gelu(float x) { return 0.5f * x * erfcf(-x * 0.7071067811865476f); }

static inline float s_silu(float x) { return x / (1.0f + expf(-x)); }

static inline float s_softplus(float x) { return x > SOFTPLUS_THRESHOLD ? x : log1pf(expf(x)); }

static inline float s_mish(float x) { return x * tanhf(s_softplus(x)); }

static inline float s_tanh(float x) { return tanhf(x); }

static inline float s_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* F.elu(x, alpha = 1): alpha (e^x - 1) for x <= 0 */
static inline float s_elu(float x) { return x > 0.0f ? x : expm1f(x); }

#define ACT_LOOP(name)                                                                                                \
    static void PEER_NAME(name)(const float *restrict x, float *restrict y, size_t n) {                               \
        for (size_t i = 0; i < n; i++)                                                                                \
            y[i] = s_##name(x[i]);                                                                                    \
    }

ACT_LOOP(relu)
ACT_LOOP(gelu_tanh)
ACT_LOOP(gelu)
ACT_LOOP(silu)
ACT_LOOP(mish)
ACT_LOOP(tanh)
ACT_LOOP(sigmoid)
ACT_LOOP(elu)
ACT_LOOP(softplus)

const act_loop_fn PEER_TABLE[NACTS] = {
    [A_RELU] = PEER_NAME(relu),       [A_GELU_TANH] = PEER_NAME(gelu_tanh), [A_GELU] = PEER_NAME(gelu),
    [A_SILU] = PEER_NAME(silu),       [A_MISH] = PEER_NAME(mish),           [A_TANH] = PEER_NAME(tanh),
    [A_SIGMOID] = PEER_NAME(sigmoid), [A_ELU] = PEER_NAME(elu),             [A_SOFTPLUS] = PEER_NAME(softplus),
};
