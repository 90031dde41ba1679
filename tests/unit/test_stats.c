/*
 * test_stats.c — activation statistics counted in the kernels
 * (docs/stats.md) against an exact oracle: the same model returns its
 * pre-activations (and, for saturating sites, the activation's values) as
 * extra outputs, whose f32 values are what the kernels counted; the test
 * recomputes every count, set, minimum, maximum and histogram bin from
 * them and requires equality, for several batch sizes and thread counts.
 * Also: outputs of a statistics build are bitwise those of a plain build;
 * reset; the API's errors.
 */
#include <math.h>
#include <stdio.h>

#include "actc/actc.h"
#include "actc/runtime.h"
#include "driver/internal.h"
#include "ir_helpers.h"
#include "rt_helpers.h"

typedef struct Built {
    actc_session *s;
    actc_jit_model *j;
    actrt_model *m;
    float **w;
    int nw;
} Built;

static const char *cpu; /* NULL: the host; else a variant's CPU (x86-64-v2: SSE, no scatter) */

static Built build(const char *src, bool stats, uint64_t seed, double scale) {
    Built b = {0};
    cr_assert_eq(actc_session_new(&b.s), ACTC_OK);
    cr_assert_eq(actc_check_source(b.s, "t.act", src, strlen(src)), ACTC_OK, "%s\n%s", actc_last_error(b.s), src);
    actc_options o = {.stats = stats, .cpu = cpu};
    cr_assert_eq(actc_jit_compile(b.s, NULL, &o, &b.j), ACTC_OK, "%s", actc_last_error(b.s));
    const actrt_desc *d = actc_jit_desc(b.j);
    cr_assert_eq(actrt_model_create(&b.m, d), ACTC_OK, "%s", actrt_last_error(NULL));
    b.nw = d->ntensors;
    b.w = calloc((size_t)b.nw + 1, sizeof(float *));
    uint64_t g = seed;
    for (int i = 0; i < b.nw; i++) {
        int64_t n = actrt_tensor_numel(&d->tensors[i]);
        b.w[i] = malloc(sizeof(float) * (size_t)n);
        /* biases spread wide: some units always negative (dead), some saturate */
        bool bias = d->tensors[i].rank == 1;
        for (int64_t q = 0; q < n; q++)
            b.w[i][q] = (float)(bias ? rng_uniform(&g, -6, 3) : rng_uniform(&g, -scale, scale));
    }
    cr_assert_eq(rt_load_desc_tensors(b.m, d, b.w), ACTC_OK, "%s", actrt_last_error(b.m));
    return b;
}

static void built_free(Built *b) {
    actrt_model_free(b->m);
    actc_jit_free(b->j);
    actc_session_free(b->s);
    for (int i = 0; i < b->nw; i++)
        free(b->w[i]);
    free(b->w);
}

/* The bin of x (docs/stats.md §3), from its encoding. */
static int bin_of(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    uint32_t mag = bits & 0x7fffffffu;
    int q = (int)(mag >> 22) - 238;
    bool neg = bits >> 31, nan = mag > 0x7f800000u;
    if (q < 0)
        return 32;
    if (q > 31)
        return neg && !nan ? ACTRT_STATS_BINS : ACTRT_STATS_BINS + 1;
    return neg ? 31 - q : 33 + q;
}

/* The bins agree with the published edges: a value just inside each edge. */
Test(stats, bins_match_the_edges) {
    for (int i = 0; i <= ACTRT_STATS_BINS; i++) {
        double e = actrt_stats_edge(i);
        if (i > 0)
            cr_expect(actrt_stats_edge(i - 1) < e, "edges ascend at %d", i);
        float x = (float)e;
        if (e > 0) { /* [lo, hi): an edge belongs to the bin above it */
            cr_expect_eq(bin_of(x), i == ACTRT_STATS_BINS ? ACTRT_STATS_BINS + 1 : i, "edge %d = %g", i, e);
            cr_expect_eq(bin_of(nextafterf(x, 0)), i - 1, "below edge %d", i);
        } else { /* (-hi, -lo]: a negative edge belongs to the bin below it */
            cr_expect_eq(bin_of(x), i == 0 ? ACTRT_STATS_BINS : i - 1, "edge %d = %g", i, e);
            cr_expect_eq(bin_of(nextafterf(x, 0)), i, "above edge %d", i);
        }
    }
    cr_expect_eq(actrt_stats_edge(32), -1.0 / 256);
    cr_expect_eq(actrt_stats_edge(33), 1.0 / 256);
    cr_expect_eq(bin_of(0.0f), 32);
    cr_expect_eq(bin_of(-0.0f), 32);
    cr_expect_eq(bin_of(1e-30f), 32);
    cr_expect_eq(bin_of(INFINITY), ACTRT_STATS_BINS + 1);
    cr_expect_eq(bin_of(-INFINITY), ACTRT_STATS_BINS);
    cr_expect_eq(bin_of(NAN), ACTRT_STATS_BINS + 1);
    cr_expect_eq(bin_of(-NAN), ACTRT_STATS_BINS + 1);
    cr_expect(isnan(actrt_stats_edge(-1)) && isnan(actrt_stats_edge(ACTRT_STATS_BINS + 1)));
}

/* One case: a model whose outputs are (y, pre[, act]) for one site. */
typedef struct Case {
    const char *name;
    const char *src;
    int kind;
    double lo, hi;   /* saturating */
    int act_out;     /* output index of the activation's values, or -1 */
} Case;

#define D "model m(x: f32[batch, 24]) -> (y: f32[batch, 37], pre: f32[batch, 37]"
static const Case cases[] = {
    {"relu", D ") {\n  pre = dense(x, 37, name = \"fc1\")\n  y = relu(pre)\n  return y, pre\n}\n", ACTRT_SITE_DEAD, 0, 0, -1},
    {"gelu", D ") {\n  pre = dense(x, 37, name = \"fc1\")\n  y = gelu(pre)\n  return y, pre\n}\n",
     ACTRT_SITE_NEVER_POSITIVE, 0, 0, -1},
    {"sigmoid", D ", a: f32[batch, 37]) {\n  pre = dense(x, 37, name = \"fc1\")\n  y = sigmoid(pre)\n  return y, pre, y\n}\n",
     ACTRT_SITE_SATURATING, 0.01, 0.99, 2},
    {"tanh", D ", a: f32[batch, 37]) {\n  pre = dense(x, 37, name = \"fc1\")\n  y = tanh(pre)\n  return y, pre, y\n}\n",
     ACTRT_SITE_SATURATING, -0.98, 0.98, 2},
    {"hardtanh", D ", a: f32[batch, 37]) {\n  pre = dense(x, 37, name = \"fc1\")\n  y = hardtanh(pre, min_val = -2, max_val = 3)\n"
                   "  return y, pre, y\n}\n",
     ACTRT_SITE_SATURATING, -2 + 0.05, 3 - 0.05, 2},
    {"swiglu", D ") {\n  pre = dense(x, 37, name = \"gate\")\n  y = swiglu(pre, dense(x, 37, name = \"up\"))\n  return y, pre\n}\n",
     ACTRT_SITE_NEVER_POSITIVE, 0, 0, -1},
    {"reglu", D ") {\n  pre = dense(x, 37, name = \"gate\")\n  y = reglu(pre, dense(x, 37, name = \"up\"))\n  return y, pre\n}\n",
     ACTRT_SITE_DEAD, 0, 0, -1},
    {"user relu-like",
     "activation halfrelu(x) = where(x > 0, x * 0.5, 0)\n" D ") {\n  pre = dense(x, 37, name = \"fc1\")\n  y = halfrelu(pre)\n"
     "  return y, pre\n}\n",
     ACTRT_SITE_DEAD, 0, 0, -1},
};

typedef struct Expect {
    int64_t active[64], saturated[64], hist[ACTRT_STATS_BINS + 2];
    double min, max;
} Expect;

static void expect_from(const Case *c, const float *pre, const float *act, int64_t rows, Expect *e) {
    memset(e, 0, sizeof *e);
    e->min = INFINITY, e->max = -INFINITY;
    for (int64_t r = 0; r < rows; r++)
        for (int j = 0; j < 37; j++) {
            float p = pre[r * 37 + j];
            e->active[j] += p > 0;
            e->hist[bin_of(p)]++;
            if (p < e->min)
                e->min = p;
            if (p > e->max)
                e->max = p;
            if (act) {
                double y = act[r * 37 + j];
                e->saturated[j] += y <= c->lo || y >= c->hi;
            }
        }
}

static void check_case(const Case *c) {
    Built st = build(c->src, true, 5, 0.6), plain = build(c->src, false, 5, 0.6);
    const actrt_desc *d = actc_jit_desc(st.j);
    cr_assert_eq(d->nsites, 1, "%s: %d sites", c->name, d->nsites);
    const actrt_site_desc *sd = actrt_model_site(st.m, 0);
    cr_assert_not_null(sd);
    cr_expect_eq(sd->kind, c->kind, "%s: kind %d", c->name, sd->kind);
    cr_expect_eq(sd->units, 37);
    cr_expect_eq(sd->line, strncmp(c->src, "activation", 10) == 0 ? 4 : 3, "%s: line %d", c->name, sd->line);
    cr_expect_str_eq(sd->layer, strstr(c->src, "\"gate\"") ? "gate" : "fc1", "%s", c->name);
    if (c->kind == ACTRT_SITE_SATURATING)
        cr_expect(fabs(sd->sat_lo - c->lo) < 1e-12 && fabs(sd->sat_hi - c->hi) < 1e-12, "%s: %g %g", c->name,
                  sd->sat_lo, sd->sat_hi);
    int nout = c->act_out >= 0 ? 3 : 2;
    enum { ROWS = 300 };
    float *x = malloc(sizeof(float) * ROWS * 24), *o[3], *q[3];
    for (int i = 0; i < nout; i++)
        o[i] = malloc(sizeof(float) * ROWS * 37), q[i] = malloc(sizeof(float) * ROWS * 37);
    uint64_t g = 99;
    for (int i = 0; i < ROWS * 24; i++)
        x[i] = (float)rng_uniform(&g, -3, 3);
    x[5] = NAN; /* one NaN row: counted in overflow, left out of min and max */
    const int64_t batches[] = {1, 7, 256, ROWS};
    actrt_site_stats ref = {.size = sizeof ref};
    int64_t ref_active[64], ref_sat[64];
    for (int t = 1; t <= 2; t++)
        for (int bi = 0; bi < 4; bi++) {
            int64_t bs = batches[bi];
            cr_assert_eq(actrt_model_stats_reset(st.m), ACTC_OK);
            cr_assert_eq(actrt_model_set_threads(st.m, t), ACTC_OK);
            cr_assert_eq(actrt_model_set_threads(plain.m, t), ACTC_OK);
            for (int64_t r0 = 0; r0 < ROWS; r0 += bs) {
                int64_t n = r0 + bs <= ROWS ? bs : ROWS - r0;
                const float *in[1] = {x + r0 * 24};
                float *out[3], *pout[3];
                for (int i = 0; i < nout; i++)
                    out[i] = o[i] + r0 * 37, pout[i] = q[i] + r0 * 37;
                cr_assert_eq(actrt_model_run(st.m, n, in, out), ACTC_OK, "%s", actrt_last_error(st.m));
                cr_assert_eq(actrt_model_run(plain.m, n, in, pout), ACTC_OK, "%s", actrt_last_error(plain.m));
            }
            for (int i = 0; i < nout; i++) {
                int at = 0;
                while (at < ROWS * 37 && (!memcmp(&o[i][at], &q[i][at], 4) || (isnan(o[i][at]) && isnan(q[i][at]))))
                    at++; /* bitwise, but a NaN's sign may differ (LLVM orders a product's operands its way) */
                cr_expect_eq(at, ROWS * 37, "%s: output %d differs from a plain build at %d: %a vs %a", c->name, i, at,
                             at < ROWS * 37 ? o[i][at] : 0.0, at < ROWS * 37 ? q[i][at] : 0.0);
            }
            Expect e;
            expect_from(c, o[1], c->act_out >= 0 ? o[c->act_out] : NULL, ROWS, &e);
            int64_t active[64], sat[64];
            actrt_site_stats s = {.size = sizeof s, .active = active, .saturated = sat};
            cr_assert_eq(actrt_model_stats_read(st.m, 0, &s), ACTC_OK, "%s", actrt_last_error(st.m));
            cr_expect_eq(s.samples, ROWS);
            cr_expect_eq(memcmp(active, e.active, sizeof(int64_t) * 37), 0, "%s: active counts (batch %lld, %d threads)",
                         c->name, (long long)bs, t);
            if (c->kind == ACTRT_SITE_SATURATING)
                cr_expect_eq(memcmp(sat, e.saturated, sizeof(int64_t) * 37), 0, "%s: saturated counts", c->name);
            cr_expect_eq(memcmp(s.hist, e.hist, sizeof e.hist), 0, "%s: histogram (batch %lld, %d threads)", c->name,
                         (long long)bs, t);
            cr_expect(s.min == e.min && s.max == e.max, "%s: min %g max %g, expected %g %g", c->name, s.min, s.max, e.min,
                      e.max);
            if (t == 1 && bi == 0) {
                ref = s;
                memcpy(ref_active, active, sizeof active), memcpy(ref_sat, sat, sizeof sat);
            } else { /* mean and std: rounding-dependent, to a few ULP of f64 */
                cr_expect(fabs(s.mean - ref.mean) <= 1e-12 * (1 + fabs(ref.mean)) || (isnan(s.mean) && isnan(ref.mean)),
                          "%s: mean %.17g vs %.17g", c->name, s.mean, ref.mean);
            }
        }
    free(x);
    for (int i = 0; i < nout; i++)
        free(o[i]), free(q[i]);
    built_free(&st);
    built_free(&plain);
}

Test(stats, counts_equal_the_kernels_own_values, .timeout = 120) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

/* The same on the narrower variants (AVX2, SSE4.2: no scatter instruction,
 * LLVM spells the histogram's lane by lane). */
Test(stats, counts_on_the_avx2_and_sse_variants, .timeout = 120) {
#if defined(__x86_64__)
    const char *cpus[] = {"x86-64-v3", "x86-64-v2"};
    for (int c = 0; c < 2; c++) {
        cpu = cpus[c];
        check_case(&cases[0]);
        check_case(&cases[2]);
        check_case(&cases[5]);
    }
    cpu = NULL;
#endif
}

/* The mean and std against a direct f64 computation over the probe's values (no NaN here). */
Test(stats, mean_and_std_of_the_pre_activations) {
    Built b = build(cases[0].src, true, 3, 0.6);
    float x[40 * 24], y[40 * 37], pre[40 * 37];
    uint64_t g = 1;
    for (int i = 0; i < 40 * 24; i++)
        x[i] = (float)rng_uniform(&g, -3, 3);
    cr_assert_eq(actrt_model_run(b.m, 40, (const float *const[]){x}, (float *const[]){y, pre}), ACTC_OK);
    double sum = 0, sq = 0;
    for (int i = 0; i < 40 * 37; i++)
        sum += pre[i], sq += (double)pre[i] * pre[i];
    double mean = sum / (40 * 37), sd = sqrt(sq / (40 * 37) - mean * mean);
    actrt_site_stats s = {.size = sizeof s};
    cr_assert_eq(actrt_model_stats_read(b.m, 0, &s), ACTC_OK);
    cr_expect(fabs(s.mean - mean) < 1e-9 * (1 + fabs(mean)) && fabs(s.std - sd) < 1e-9 * (1 + sd), "%g %g vs %g %g",
              s.mean, s.std, mean, sd);
    built_free(&b);
}

/* Sites: one per application in source order; CSE-merged ones share counts;
 * builtins inside a user function are not sites; bilinear and identity are none. */
Test(stats, sites_of_a_model) {
    const char *src = "activation act(x) = relu(x) * sigmoid(x)\n"
                      "model m(x: f32[batch, 16]) -> (a: f32[batch, 8], b: f32[batch, 8], c: f32[batch, 8]) {\n"
                      "  h = dense(x, 8, name = \"fc1\")\n"
                      "  a = relu(h) + relu(h)\n"
                      "  b = act(h) + bilinear(h, h) + identity(h)\n"
                      "  c = glu(dense(x, 16, name = \"g\"))\n"
                      "  return a, b, c\n}\n";
    Built b = build(src, true, 1, 0.5);
    const actrt_desc *d = actc_jit_desc(b.j);
    cr_assert_eq(d->nsites, 4, "%d sites", d->nsites);
    const char *ops[] = {"relu", "relu", "act", "glu"};
    const int lines[] = {4, 4, 5, 6};
    for (int i = 0; i < 4; i++) {
        cr_expect_str_eq(d->sites[i].op, ops[i]);
        cr_expect_eq(d->sites[i].line, lines[i], "site %d line %d", i, d->sites[i].line);
        cr_expect_str_eq(d->sites[i].call_lines, "");
    }
    cr_expect_eq(d->sites[1].same_as, 0, "the two relu(h) are one value after CSE");
    cr_expect_eq(d->sites[2].kind, ACTRT_SITE_DEAD, "relu(x) * sigmoid(x) is 0 for x <= 0");
    cr_expect_eq(d->sites[3].kind, ACTRT_SITE_SATURATING);
    cr_expect_eq(d->sites[3].units, 8, "glu(t): the second half of t");
    cr_expect_str_eq(d->sites[3].layer, "g");
    float x[5 * 16], o[3][5 * 8];
    for (int i = 0; i < 5 * 16; i++)
        x[i] = (float)(i % 7) - 3;
    cr_assert_eq(actrt_model_run(b.m, 5, (const float *const[]){x}, (float *const[]){o[0], o[1], o[2]}), ACTC_OK);
    actrt_site_stats s0 = {.size = sizeof s0}, s1 = {.size = sizeof s1};
    cr_assert_eq(actrt_model_stats_read(b.m, 0, &s0), ACTC_OK);
    cr_assert_eq(actrt_model_stats_read(b.m, 1, &s1), ACTC_OK);
    cr_expect_eq(memcmp(s0.hist, s1.hist, sizeof s0.hist), 0);
    cr_expect_eq(s1.site, 1);
    built_free(&b);
}

Test(stats, api_errors_name_the_problem) {
    Built plain = build(cases[0].src, false, 1, 0.5), st = build(cases[0].src, true, 1, 0.5);
    actrt_site_stats s = {.size = sizeof s};
    cr_expect_eq(actrt_model_num_sites(plain.m), 0);
    cr_expect_eq(actrt_model_stats_read(plain.m, 0, &s), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(plain.m), "model 'm' was compiled without statistics (actc_options.stats)");
    cr_expect_eq(actrt_model_stats_reset(plain.m), ACTC_ERR_ARG);
    cr_expect_eq(actrt_model_stats_read(st.m, 1, &s), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(st.m), "actrt_model_stats_read: site 1 out of range (the model has 1)");
    s.size = 8;
    cr_expect_eq(actrt_model_stats_read(st.m, 0, &s), ACTC_ERR_ARG);
    cr_expect_eq(actrt_model_stats_read(st.m, 0, NULL), ACTC_ERR_ARG);
    cr_expect_eq(actrt_model_stats_read(NULL, 0, &s), ACTC_ERR_ARG);
    cr_expect_eq(actrt_model_stats_reset(NULL), ACTC_ERR_ARG);
    cr_expect_null(actrt_model_site(st.m, 1));
    cr_expect_null(actrt_model_site(NULL, 0));
    /* before any run: zero samples, min +inf, max -inf, mean NaN */
    s.size = sizeof s;
    cr_assert_eq(actrt_model_stats_read(st.m, 0, &s), ACTC_OK);
    cr_expect(s.samples == 0 && s.min == INFINITY && s.max == -INFINITY && isnan(s.mean));
    built_free(&plain);
    built_free(&st);
}

/* Against the double-precision reference interpreter (an independent
 * oracle of the pre-activations): for every unit whose pre-activations
 * stay more than a margin from 0 on every sample (and, for a saturating
 * site, whose outputs stay that far from both thresholds), the kernels'
 * dead / saturated decision is the reference's.  The margin, 1e-4 (1 +
 * |x|), is ~100x the f32 kernels' error on these K = 24 products. */
Test(stats, decisions_agree_with_the_reference_away_from_thresholds) {
    const int which[] = {0, 2, 3};
    for (int c = 0; c < 3; c++) {
        const Case *cs = &cases[which[c]];
        Built b = build(cs->src, true, 5, 0.6);
        const actrt_desc *d = actc_jit_desc(b.j);
        enum { ROWS = 200 };
        static float x[ROWS * 24], o[3][ROWS * 37], r[3][ROWS * 37];
        uint64_t g = 7;
        for (int i = 0; i < ROWS * 24; i++)
            x[i] = (float)rng_uniform(&g, -3, 3);
        int nout = cs->act_out >= 0 ? 3 : 2;
        float *outs[3] = {o[0], o[1], o[2]}, *refs[3] = {r[0], r[1], r[2]};
        cr_assert_eq(actrt_model_run(b.m, ROWS, (const float *const[]){x}, outs), ACTC_OK);
        actrt_tensor *ts = calloc((size_t)d->ntensors + 1, sizeof *ts);
        for (int i = 0; i < d->ntensors; i++)
            ts[i] = rt_tensor_of(&d->tensors[i], b.w[i]);
        cr_assert_eq(actc_reference_run(b.s, NULL, ts, d->ntensors, ROWS, (const float *const[]){x}, refs), ACTC_OK,
                     "%s", actc_last_error(b.s));
        free(ts);
        int64_t active[64], sat[64];
        actrt_site_stats s = {.size = sizeof s, .active = active, .saturated = sat};
        cr_assert_eq(actrt_model_stats_read(b.m, 0, &s), ACTC_OK);
        int compared = 0;
        for (int j = 0; j < 37; j++) {
            bool clear = true, ref_active = false;
            int64_t ref_sat = 0;
            for (int q = 0; q < ROWS; q++) {
                double p = r[1][q * 37 + j];
                clear &= fabs(p) > 1e-4 * (1 + fabs(p));
                ref_active |= p > 0;
                if (nout == 3) {
                    double y = r[cs->act_out][q * 37 + j];
                    clear &= fabs(y - cs->lo) > 1e-4 && fabs(y - cs->hi) > 1e-4;
                    ref_sat += y <= cs->lo || y >= cs->hi;
                }
            }
            if (!clear)
                continue;
            compared++;
            cr_expect_eq(active[j] == 0, !ref_active, "%s unit %d: dead %d, the reference says %d", cs->name, j,
                         active[j] == 0, !ref_active);
            if (nout == 3)
                cr_expect_eq(sat[j], ref_sat, "%s unit %d: saturated on %lld samples, the reference %lld", cs->name, j,
                             (long long)sat[j], (long long)ref_sat);
        }
        cr_expect_gt(compared, 20, "%s: only %d units clear of the thresholds", cs->name, compared);
        built_free(&b);
    }
}
