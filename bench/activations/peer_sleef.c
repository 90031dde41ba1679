/*
 * peer_sleef.c — the activations composed from SLEEF 3.5's AVX-512
 * functions, 16 lanes at a time, as a user of SLEEF writes them: the same
 * PyTorch formulas as act_scalar.h, with each libm call replaced by its
 * SLEEF vector function of 1.0-ULP accuracy (`_u10`; erfc has no u10
 * variant, so gelu uses Sleef_erfcf16_u15, 1.5 ULP).  The `avx512f`-suffixed
 * entry points are called directly (no dispatcher).  Built with -O2
 * -mavx512f: sleef.h declares the __m512 functions only under __AVX512F__.
 * The harness calls these loops only when the CPU has AVX-512F.
 */
#include <immintrin.h>
#include <sleef.h>
#include <stddef.h>

#include "bench_act.h"

#define SOFTPLUS_THRESHOLD 20.0f

static inline __m512 v_relu(__m512 x) { return _mm512_max_ps(x, _mm512_setzero_ps()); }

static inline __m512 v_gelu_tanh(__m512 x) {
    const __m512 k = _mm512_set1_ps(0.7978845608028654f), c = _mm512_set1_ps(0.044715f);
    __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    __m512 t = Sleef_tanhf16_u10avx512f(_mm512_mul_ps(k, _mm512_fmadd_ps(c, x3, x)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), t));
}

static inline __m512 v_gelu(__m512 x) {
    __m512 e = Sleef_erfcf16_u15avx512f(_mm512_mul_ps(x, _mm512_set1_ps(-0.7071067811865476f)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), e);
}

static inline __m512 v_sigmoid(__m512 x) {
    __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

static inline __m512 v_silu(__m512 x) {
    __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

static inline __m512 v_softplus(__m512 x) {
    __m512 s = Sleef_log1pf16_u10avx512f(Sleef_expf16_u10avx512f(x));
    __mmask16 big = _mm512_cmp_ps_mask(x, _mm512_set1_ps(SOFTPLUS_THRESHOLD), _CMP_GT_OQ);
    return _mm512_mask_blend_ps(big, s, x);
}

static inline __m512 v_mish(__m512 x) { return _mm512_mul_ps(x, Sleef_tanhf16_u10avx512f(v_softplus(x))); }

static inline __m512 v_tanh(__m512 x) { return Sleef_tanhf16_u10avx512f(x); }

static inline __m512 v_elu(__m512 x) {
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
    return _mm512_mask_blend_ps(pos, Sleef_expm1f16_u10avx512f(x), x);
}

/* 16 lanes per step; the tail (n % 16) with masked loads and stores */
#define VEC_LOOP(name)                                                                                                \
    static void sleef_##name(const float *restrict x, float *restrict y, size_t n) {                                  \
        size_t i = 0;                                                                                                 \
        for (; i + 16 <= n; i += 16)                                                                                  \
            _mm512_storeu_ps(y + i, v_##name(_mm512_loadu_ps(x + i)));                                                \
        if (i < n) {                                                                                                  \
            __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);                                                          \
            _mm512_mask_storeu_ps(y + i, m, v_##name(_mm512_maskz_loadu_ps(m, x + i)));                               \
        }                                                                                                             \
    }

VEC_LOOP(relu)
VEC_LOOP(gelu_tanh)
VEC_LOOP(gelu)
VEC_LOOP(silu)
VEC_LOOP(mish)
VEC_LOOP(tanh)
VEC_LOOP(sigmoid)
VEC_LOOP(elu)
VEC_LOOP(softplus)

const act_loop_fn sleef_loops[NACTS] = {
    [A_RELU] = sleef_relu,       [A_GELU_TANH] = sleef_gelu_tanh, [A_GELU] = sleef_gelu,
    [A_SILU] = sleef_silu,       [A_MISH] = sleef_mish,           [A_TANH] = sleef_tanh,
    [A_SIGMOID] = sleef_sigmoid, [A_ELU] = sleef_elu,             [A_SOFTPLUS] = sleef_softplus,
};

#define STR_(x) #x
#define STR(x) STR_(x)
const char *sleef_version(void) {
    return STR(SLEEF_VERSION_MAJOR) "." STR(SLEEF_VERSION_MINOR) "." STR(SLEEF_VERSION_PATCHLEVEL);
}
