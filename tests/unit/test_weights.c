/*
 * test_weights.c — compact weights (actc_options.weights: bf16, f16;
 * docs/language.md "Weight types"): a run with bf16 or f16 weights is
 * bitwise a run of the f32 model whose weights are the rounded values,
 * widened (exact widening, f32 arithmetic in the same order), for dense,
 * gated and K-blocked kernels, ragged sizes, 1 / 7 / 37 rows and every x86
 * variant (x86-64-v2 widens f16 with integer operations: no F16C).  The
 * rounding the test expects is its own (gcc's _Float16 for f16, the
 * textbook bias trick for bf16), independent of libactrt's.
 */
#include <math.h>
#include <stdio.h>

#include "actc/actc.h"
#include "actc/runtime.h"
#include "ir_helpers.h"
#include "rt_helpers.h"

static float round_bf16(float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1)) & 0xffff0000u;
    memcpy(&v, &u, 4);
    return v;
}

static float round_f16(float v) { return (float)(_Float16)v; }

/* The test's own int8 quantiser (docs/language.md §7.2.1): per row and
 * group of 32, s = max(fl(max|w| / 127), 2^-149) (1 if all zero), q = rint(w / s) in f64
 * clamped to +-127; the weight is fl(q * s).  scales[] gets s per group. */
static void dequant_row(const float *w, int64_t k, float *out, float *scales) {
    for (int64_t g0 = 0; g0 < k; g0 += 32) {
        int64_t g1 = g0 + 32 < k ? g0 + 32 : k;
        float mx = 0;
        for (int64_t c = g0; c < g1; c++)
            mx = fmaxf(mx, fabsf(w[c]));
        float sc = mx > 0 ? fmaxf(mx / 127.0f, 0x1p-149f) : 1.0f;
        if (scales)
            scales[g0 / 32] = sc;
        for (int64_t c = g0; c < g1; c++) {
            double q = rint((double)w[c] / (double)sc);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            out[c] = (float)(int)q * sc; /* q an integer: a zero is +0 */
        }
    }
}

typedef struct M {
    actc_session *s;
    actc_jit_model *j;
    actrt_model *m;
} M;

static M make(const char *src, int weights, const char *cpu) {
    M r = {0};
    cr_assert_eq(actc_session_new(&r.s), ACTC_OK);
    cr_assert_eq(actc_check_source(r.s, "w.act", src, strlen(src)), ACTC_OK, "%s", actc_last_error(r.s));
    actc_options o = {.weights = weights, .cpu = cpu};
    cr_assert_eq(actc_jit_compile(r.s, NULL, &o, &r.j), ACTC_OK, "%s", actc_last_error(r.s));
    cr_assert_eq(actrt_model_create(&r.m, actc_jit_desc(r.j)), ACTC_OK, "%s", actrt_last_error(NULL));
    return r;
}

static void unmake(M *r) {
    actrt_model_free(r->m);
    actc_jit_free(r->j);
    actc_session_free(r->s);
}

static const char *const models[] = {
    /* dense, ragged N and K, an activation */
    "model m(x: f32[batch, 45]) -> f32[batch, 67] {\n  return gelu(dense(x, 67, name = \"fc\"))\n}\n",
    /* gated, and a second dense on its output */
    "model m(x: f32[batch, 33]) -> f32[batch, 19] {\n"
    "  h = swiglu(dense(x, 50, name = \"g\"), dense(x, 50, name = \"u\"))\n"
    "  return dense(h, 19, name = \"o\")\n}\n",
    /* K blocked (K > the K block) and N = 1 */
    "model m(x: f32[batch, 300]) -> (y: f32[batch, 130], z: f32[batch, 1]) {\n"
    "  return relu(dense(x, 130, name = \"a\")), dense(x, 1, name = \"b\")\n}\n",
};

/* Weights of d: matrices with a spread of magnitudes (f16 subnormals and
 * values near 65504 included), biases f32. */
static float **weights_for(const actrt_desc *d, uint64_t seed) {
    float **w = calloc((size_t)d->ntensors + 1, sizeof(float *));
    uint64_t g = seed;
    for (int i = 0; i < d->ntensors; i++) {
        int64_t n = actrt_tensor_numel(&d->tensors[i]);
        w[i] = malloc(sizeof(float) * (size_t)n);
        for (int64_t q = 0; q < n; q++) {
            double v = rng_uniform(&g, -0.3, 0.3);
            if (q % 97 == 3)
                v *= 1e-5; /* an f16 subnormal */
            if (q % 211 == 5)
                v = q % 2 ? 60000.0 : -65000.0; /* near the f16 limit */
            w[i][q] = (float)v;
        }
    }
    return w;
}

static void check_model(const char *src, int type, const char *cpu) {
    M c = make(src, type, cpu), f = make(src, ACTC_WEIGHTS_F32, cpu);
    const actrt_desc *d = actc_jit_desc(c.j);
    int want = type == ACTC_WEIGHTS_BF16 ? ACTRT_ELEM_BF16 : type == ACTC_WEIGHTS_F16 ? ACTRT_ELEM_F16 : ACTRT_ELEM_I8;
    for (int i = 0; i < d->nweights; i++)
        cr_expect_eq(d->weights[i].elem, d->weights[i].layout == ACTRT_LAYOUT_PANEL ? want : ACTRT_ELEM_F32,
                     "weight %d: elem %d", i, d->weights[i].elem);
    float **w = weights_for(d, 11), **wr = calloc((size_t)d->ntensors + 1, sizeof(float *));
    for (int i = 0; i < d->ntensors; i++) {
        int64_t n = actrt_tensor_numel(&d->tensors[i]);
        wr[i] = malloc(sizeof(float) * (size_t)n);
        bool matrix = d->tensors[i].rank == 2;
        if (matrix && type == ACTC_WEIGHTS_INT8) {
            for (int64_t r = 0; r < d->tensors[i].shape[0]; r++)
                dequant_row(w[i] + r * d->tensors[i].shape[1], d->tensors[i].shape[1], wr[i] + r * d->tensors[i].shape[1],
                            NULL);
            continue;
        }
        for (int64_t q = 0; q < n; q++) /* biases stay f32 */
            wr[i][q] = !matrix ? w[i][q] : type == ACTC_WEIGHTS_BF16 ? round_bf16(w[i][q]) : round_f16(w[i][q]);
    }
    cr_assert_eq(rt_load_desc_tensors(c.m, d, w), ACTC_OK, "%s", actrt_last_error(c.m));
    int matrices = 0;
    for (int i = 0; i < d->ntensors; i++)
        matrices += d->tensors[i].rank == 2;
    if (type != ACTC_WEIGHTS_INT8)
        cr_expect_eq(actrt_model_rounded_tensors(c.m), matrices, "rounded %d of %d", actrt_model_rounded_tensors(c.m),
                     matrices);
    cr_assert_eq(rt_load_desc_tensors(f.m, actc_jit_desc(f.j), wr), ACTC_OK, "%s", actrt_last_error(f.m));
    const int64_t batches[] = {1, 7, 37};
    for (int bi = 0; bi < 3; bi++) {
        int64_t b = batches[bi], nin = d->inputs[0].n;
        float *x = malloc(sizeof(float) * (size_t)(b * nin)), *o1[2], *o2[2];
        uint64_t g = 5;
        for (int64_t q = 0; q < b * nin; q++)
            x[q] = (float)rng_uniform(&g, -2, 2);
        for (int k = 0; k < d->noutputs; k++) {
            o1[k] = calloc((size_t)(b * d->outputs[k].n), sizeof(float));
            o2[k] = calloc((size_t)(b * d->outputs[k].n), sizeof(float));
        }
        cr_assert_eq(actrt_model_run(c.m, b, (const float *const[]){x}, o1), ACTC_OK, "%s", actrt_last_error(c.m));
        cr_assert_eq(actrt_model_run(f.m, b, (const float *const[]){x}, o2), ACTC_OK, "%s", actrt_last_error(f.m));
        for (int k = 0; k < d->noutputs; k++) {
            cr_expect_eq(memcmp(o1[k], o2[k], sizeof(float) * (size_t)(b * d->outputs[k].n)), 0,
                         "%s weights, cpu %s, batch %lld, output %d: differs from f32 with the rounded weights\n%s",
                         type == ACTC_WEIGHTS_BF16 ? "bf16" : type == ACTC_WEIGHTS_F16 ? "f16" : "int8",
                         cpu ? cpu : "host", (long long)b, k, src);
            free(o1[k]), free(o2[k]);
        }
        free(x);
    }
    /* the same weights already rounded: nothing to round (int8 quantises anyway) */
    cr_assert_eq(rt_load_desc_tensors(c.m, d, wr), ACTC_OK);
    if (type != ACTC_WEIGHTS_INT8)
        cr_expect_eq(actrt_model_rounded_tensors(c.m), 0);
    for (int i = 0; i < d->ntensors; i++)
        free(w[i]), free(wr[i]);
    free(w), free(wr);
    unmake(&c);
    unmake(&f);
}

Test(weights, compact_runs_are_bitwise_the_widened_f32_run, .timeout = 300) {
    const char *cpus[] = {NULL, "x86-64-v3", "x86-64-v2"};
    for (int t = ACTC_WEIGHTS_BF16; t <= ACTC_WEIGHTS_INT8; t++)
        for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++)
            for (int c = 0; c < 3; c++) {
#if !defined(__x86_64__)
                if (c > 0)
                    continue;
#endif
                check_model(models[mi], t, cpus[c]);
            }
}

Test(weights, f16_overflow_and_bad_options_are_errors) {
    M c = make(models[0], ACTC_WEIGHTS_F16, NULL);
    const actrt_desc *d = actc_jit_desc(c.j);
    float **w = weights_for(d, 3);
    w[0][17] = 70000.0f;
    cr_expect_eq(rt_load_desc_tensors(c.m, d, w), ACTC_ERR_WEIGHTS);
    cr_expect_str_eq(actrt_last_error(c.m),
                     "tensor 'fc.weight' (declared at w.act:2): a value beyond the f16 range (|x| > 65504) for f16 weights");
    w[0][17] = INFINITY; /* an infinity is no overflow: it stays infinite */
    cr_expect_eq(rt_load_desc_tensors(c.m, d, w), ACTC_OK, "%s", actrt_last_error(c.m));
    for (int i = 0; i < d->ntensors; i++)
        free(w[i]);
    free(w);
    unmake(&c);
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_assert_eq(actc_check_source(s, "w.act", models[0], strlen(models[0])), ACTC_OK);
    actc_options o = {.weights = 7};
    actc_jit_model *j = NULL;
    cr_expect_eq(actc_jit_compile(s, NULL, &o, &j), ACTC_ERR_ARG);
    cr_expect_str_eq(actc_last_error(s), "actc_options.weights: 7 is not a weight type (ACTC_WEIGHTS_F32, _BF16, _F16, _INT8)");
    actc_session_free(s);
}

/* int8's bound (docs/accuracy.md): for every output before the activation,
 * |y_int8 - y_f32| <= sum_g (s_g / 2) sum_{k in g} |x_k| + the f32 rounding
 * of both dot products, 2 K 2^-24 sum_k |x_k| (|w_k| + |q_k s_k|) (each
 * accumulation's error is at most K u of its sum of magnitudes), asserted
 * on every output of a random layer at 1 / 7 / 37 rows; and the public
 * dequantiser agrees with the test's own. */
Test(weights, int8_outputs_within_their_bound) {
    const char *src = "model m(x: f32[batch, 300]) -> f32[batch, 70] {\n  return dense(x, 70, name = \"fc\")\n}\n";
    M c = make(src, ACTC_WEIGHTS_INT8, NULL), f = make(src, ACTC_WEIGHTS_F32, NULL);
    const actrt_desc *d = actc_jit_desc(c.j);
    float **w = weights_for(d, 21);
    for (int64_t q = 0; q < 70 * 300; q++) /* no f16-range outliers here: a realistic spread */
        if (fabsf(w[0][q]) > 1)
            w[0][q] = 0.01f * (float)(q % 13);
    cr_assert_eq(rt_load_desc_tensors(c.m, d, w), ACTC_OK, "%s", actrt_last_error(c.m));
    cr_assert_eq(rt_load_desc_tensors(f.m, actc_jit_desc(f.j), w), ACTC_OK);
    static float dq[70 * 300], dq2[70 * 300], sc[70][10];
    for (int r = 0; r < 70; r++)
        dequant_row(w[0] + r * 300, 300, dq + r * 300, sc[r]);
    cr_assert_eq(actrt_int8_dequantized(w[0], 70, 300, dq2), ACTC_OK);
    int at = 0;
    while (at < 70 * 300 && !memcmp(&dq[at], &dq2[at], 4))
        at++;
    cr_expect_eq(at, 70 * 300, "actrt_int8_dequantized differs from the test's quantiser at %d: %a vs %a (w %a)", at,
                 at < 70 * 300 ? dq2[at] : 0.0, at < 70 * 300 ? dq[at] : 0.0, at < 70 * 300 ? w[0][at] : 0.0);
    const int64_t batches[] = {1, 7, 37};
    double worst = 0;
    for (int bi = 0; bi < 3; bi++) {
        int64_t b = batches[bi];
        static float x[37 * 300], y8[37 * 70], y32[37 * 70];
        uint64_t g = 9 + (uint64_t)b;
        for (int64_t q = 0; q < b * 300; q++)
            x[q] = (float)rng_uniform(&g, -3, 3);
        cr_assert_eq(actrt_model_run(c.m, b, (const float *const[]){x}, (float *const[]){y8}), ACTC_OK);
        cr_assert_eq(actrt_model_run(f.m, b, (const float *const[]){x}, (float *const[]){y32}), ACTC_OK);
        for (int64_t r = 0; r < b; r++)
            for (int j = 0; j < 70; j++) {
                double bound = 0, mag = 0;
                for (int k = 0; k < 300; k++) {
                    bound += sc[j][k / 32] / 2 * fabs(x[r * 300 + k]);
                    mag += fabs(x[r * 300 + k]) * (fabs(w[0][j * 300 + k]) + fabs(dq[j * 300 + k]));
                }
                bound += 2 * 300 * ldexp(1, -24) * mag;
                double e = fabs((double)y8[r * 70 + j] - y32[r * 70 + j]);
                cr_expect(e <= bound, "row %lld unit %d: |int8 - f32| = %g > bound %g", (long long)r, j, e, bound);
                worst = fmax(worst, e / bound);
            }
    }
    fprintf(stderr, "int8: worst error / bound %.3f\n", worst);
    /* tiny groups: a group of subnormals (max 100 * 2^-149: s = 2^-149, every
     * weight exact), one whose scale is a coarse subnormal (max 2^-130), one
     * of huge values; no zero scale, no NaN, the public dequantiser agrees */
    for (int k = 0; k < 32; k++) {
        w[0][k] = ldexpf((float)(k * 3 % 101) - 50, -149);
        w[0][32 + k] = ldexpf((float)(k + 1) / 32, -130) * (k % 2 ? -1 : 1);
        w[0][64 + k] = 3e38f * ((float)(k - 16) / 16);
    }
    cr_assert_eq(actrt_int8_dequantized(w[0], 1, 300, dq2), ACTC_OK);
    float sc0[10];
    dequant_row(w[0], 300, dq, sc0);
    cr_expect_eq(memcmp(dq, dq2, 300 * sizeof(float)), 0, "the dequantisers disagree on tiny or huge groups");
    cr_expect_eq(sc0[0], 0x1p-149f);
    cr_expect_eq(memcmp(dq, w[0], 32 * sizeof(float)), 0, "subnormal multiples of 2^-149 are exact");
    for (int k = 32; k < 96; k++) {
        double e = fabs((double)dq2[k] - w[0][k]);
        cr_expect(isfinite(dq2[k]) && e <= sc0[k / 32] / 2 + 0x1p-142, "weight %d: %a for %a (s %a)", k, dq2[k], w[0][k],
                  sc0[k / 32]);
    }
    w[0][5] = NAN;
    cr_expect_eq(rt_load_desc_tensors(c.m, d, w), ACTC_ERR_WEIGHTS);
    cr_expect_str_eq(actrt_last_error(c.m),
                     "tensor 'fc.weight' (declared at w.act:2): a NaN or infinite value cannot be quantised to int8");
    cr_expect_eq(actrt_int8_dequantized(w[0], 70, 300, dq2), ACTC_ERR_WEIGHTS);
    for (int i = 0; i < d->ntensors; i++)
        free(w[i]);
    free(w);
    unmake(&c);
    unmake(&f);
}
