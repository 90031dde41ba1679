/*
 * test_jit.c — JIT-compiled kernels against the double-precision
 * interpreter (docs/codegen.md §5): every example and 200 random models
 * (seeded; widths 1, 2, 3, 4, 5, 8, 17, 31, 33, 100, 257 and twice those, so
 * most are not multiples of the vector width; batch 1..67; weights scaled to
 * keep activations O(1), as trained networks do), through the public API
 * (actc_jit_compile, actrt_model_*).
 *
 * Bound: |jit - ref| <= 2e-5 * (1 + |ref|) * sqrt(K) where K is the largest
 * reduction length in the model.  Why: a dot product of K f32 products
 * accumulated with FMA has error <= K u sum|x w| (u = 2^-24) in the worst
 * case and ~sqrt(K) u sum|x w| typically; inputs are O(1) and weights
 * O(0.5), so sum|x w| is O(sqrt K) relative to |ref| + 1 ... each builtin adds
 * <= 1 ULP, parameters are rounded to f32 (2^-24 relative), and a few layers
 * compound it.  2e-5 sqrt(K) leaves ~3x headroom over the worst observed
 * error (6.3e-6, printed by the test) while still catching any wrong
 * formula, wrong operand or wrong slice (errors of order 1).
 *
 * That bound assumes a well-conditioned model.  A random model can compute
 * by cancellation (x^3 - 0.5 near its root, products of sums of squares),
 * where f32 rounding alone moves the result by far more; 2 of the first
 * 8,000 models of the long differential run did (docs/reliability.md).  So
 * a model over the plain bound gets a second, conditioning-aware check: the
 * kernel interpreter is run MCA_TRIALS times in Monte Carlo arithmetic
 * (every rounding point perturbed by 2^-24 U[-1, 1], interp_kernels_mca),
 * and an element passes if |jit - ref| <= MCA_FACTOR * spread, spread being
 * the largest |mca - ref| seen at that element.  The JIT's own f32 rounding
 * is one more such sample, so its error is ~1x the spread (1.04x and 1.44x on
 * those two models); 16x leaves room for an unlucky draw (six trials all
 * under 1/16 of a typical deviation: < 1e-7) and still catches a wrong
 * formula anywhere the spread is small.
 */
#include <stdio.h>

#include "actc/actc.h"
#include "actc/runtime.h"
#include "driver/internal.h"
#include "gen_model.h"
#include "rt_helpers.h"

#define BOUND 2e-5
#define MCA_TRIALS 6
#define MCA_FACTOR 16.0

typedef struct Outcome {
    double worst;      /* max |jit - ref| / ((1 + |ref|) sqrt K) */
    bool conditioned;  /* worst > BOUND: the conditioning-aware check ran */
    double worst_cond; /* then: the same with MCA_FACTOR * spread as an alternative tolerance */
} Outcome;

static int64_t max_k(KGraph *kg) {
    int64_t k = 1;
    for (int i = 0; i < kg->nkernels; i++) {
        if (kg->kernels[i]->k > k)
            k = kg->kernels[i]->k;
        if (kg->kernels[i]->kind == K_ROW && kg->kernels[i]->n > k)
            k = kg->kernels[i]->n;
    }
    return k;
}

/* Compile src twice: the interpreter's pipeline and the JIT; run both. */
static Outcome check_source_opts(const char *src, int64_t batch, uint64_t seed, const actc_options *opts) {
    Outcome o = {0};
    Compiled c = compile_string(src);
    cr_assert(c.ok, "does not check:\n%s\n%s", src, diag_render_text(&c.s->diag));
    Decl *m = c.model;
    TestWeights tw = make_weights(m, seed, 0.5);
    /* the JIT side, through the public API */
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_assert_eq(actc_check_source(s, "t.act", src, strlen(src)), ACTC_OK);
    actc_jit_model *j;
    int st = actc_jit_compile(s, NULL, opts, &j);
    cr_assert_eq(st, ACTC_OK, "%s\n%s", actc_last_error(s), src);
    actrt_model *rm;
    cr_assert_eq(actrt_model_create(&rm, actc_jit_desc(j)), ACTC_OK, "%s", actrt_last_error(NULL));
    float **wf = calloc((size_t)tw.w.count + 1, sizeof(float *));
    for (int i = 0; i < tw.w.count; i++) {
        int64_t n = tw.shapes[i][0] * (tw.shapes[i][1] ? tw.shapes[i][1] : 1);
        wf[i] = malloc(sizeof(float) * (size_t)n);
        for (int64_t q = 0; q < n; q++)
            wf[i][q] = (float)tw.bufs[i][q];
    }
    actrt_tensor *ts = calloc((size_t)tw.w.count + 1, sizeof *ts);
    for (int i = 0; i < tw.w.count; i++)
        ts[i] = rt_tensor_2d(tw.w.names[i], tw.shapes[i][0], tw.shapes[i][1], wf[i]);
    cr_assert_eq(actrt_model_load_tensors(rm, ts, tw.w.count), ACTC_OK, "%s", actrt_last_error(rm));
    free(ts);
    /* inputs */
    uint64_t r = seed | 1;
    double **ind = calloc((size_t)m->ninputs + 1, sizeof(double *));
    float **inf = calloc((size_t)m->ninputs + 1, sizeof(float *));
    for (int i = 0; i < m->ninputs; i++) {
        int64_t n = batch * shape_width(m->inputs[i].type->shape);
        ind[i] = malloc(sizeof(double) * (size_t)n);
        inf[i] = malloc(sizeof(float) * (size_t)n);
        for (int64_t q = 0; q < n; q++)
            inf[i][q] = (float)rng_uniform(&r, -3, 3), ind[i][q] = inf[i][q];
    }
    double **outd = calloc((size_t)m->noutputs + 1, sizeof(double *));
    float **outf = calloc((size_t)m->noutputs + 1, sizeof(float *));
    for (int i = 0; i < m->noutputs; i++) {
        int64_t n = batch * shape_width(m->outputs[i].type->shape);
        outd[i] = calloc((size_t)n, sizeof(double));
        outf[i] = calloc((size_t)n, sizeof(float));
    }
    char err[256];
    Boundary b;
    cr_assert_eq(BOUNDARY_ENTER(&b), 0);
    cr_assert_eq(interp_kernels(c.kg, &tw.w, batch, (const double *const *)ind, outd, err, sizeof err), ACTC_OK);
    boundary_pop(&b);
    cr_assert_eq(actrt_model_run(rm, batch, (const float *const *)inf, outf), ACTC_OK, "%s", actrt_last_error(rm));
    /* three threads (columns split below 18 rows, rows above): the same bits */
    cr_assert_eq(actrt_model_set_threads(rm, 3), ACTC_OK);
    float **out3 = calloc((size_t)m->noutputs + 1, sizeof(float *));
    for (int i = 0; i < m->noutputs; i++)
        out3[i] = calloc((size_t)(batch * shape_width(m->outputs[i].type->shape)), sizeof(float));
    cr_assert_eq(actrt_model_run(rm, batch, (const float *const *)inf, out3), ACTC_OK, "%s", actrt_last_error(rm));
    for (int i = 0; i < m->noutputs; i++) {
        cr_expect_eq(memcmp(out3[i], outf[i], sizeof(float) * (size_t)(batch * shape_width(m->outputs[i].type->shape))), 0,
                     "3 threads differ from 1 (output %d, batch %lld)\n%s", i, (long long)batch, src);
        free(out3[i]);
    }
    free(out3);
    double sk = sqrt((double)max_k(c.kg));
    /* spread[i][q]: max |mca - ref| over MCA_TRIALS runs, computed only for
     * a model that exceeds the plain bound somewhere */
    double **spread = calloc((size_t)m->noutputs + 1, sizeof(double *));
    for (int pass = 0; pass < 2; pass++) {
        double worst = 0;
        for (int i = 0; i < m->noutputs; i++) {
            int64_t n = batch * shape_width(m->outputs[i].type->shape);
            for (int64_t q = 0; q < n; q++) {
                double ref = outd[i][q], got = outf[i][q];
                if (isnan(ref) || isinf(ref) || fabs(ref) > 3e38) {
                    if (pass == 0)
                        cr_expect(isnan(ref) ? isnan(got) : got == (float)ref, "output %d[%lld]: %g vs %g\n%s", i,
                                  (long long)q, got, ref, src);
                    continue;
                }
                double tol = (1 + fabs(ref)) * sk, e = fabs(got - ref);
                if (pass == 1 && MCA_FACTOR * spread[i][q] > BOUND * tol)
                    tol = MCA_FACTOR * spread[i][q] / BOUND; /* e / tol <= BOUND iff e <= MCA_FACTOR * spread */
                if (e / tol > worst)
                    worst = e / tol;
            }
        }
        if (pass == 0)
            o.worst = worst;
        else
            o.worst_cond = worst, o.conditioned = true;
        if (pass == 1 || worst <= BOUND)
            break;
        /* over the plain bound: measure the model's conditioning here */
        double **mc = calloc((size_t)m->noutputs + 1, sizeof(double *));
        for (int i = 0; i < m->noutputs; i++) {
            int64_t n = batch * shape_width(m->outputs[i].type->shape);
            spread[i] = calloc((size_t)n, sizeof(double));
            mc[i] = calloc((size_t)n, sizeof(double));
        }
        for (int t = 0; t < MCA_TRIALS; t++) {
            cr_assert_eq(BOUNDARY_ENTER(&b), 0);
            cr_assert_eq(interp_kernels_mca(c.kg, &tw.w, batch, (const double *const *)ind, mc, 0x1p-24,
                                            seed * 31 + (uint64_t)t, err, sizeof err),
                         ACTC_OK);
            boundary_pop(&b);
            for (int i = 0; i < m->noutputs; i++)
                for (int64_t q = 0; q < batch * shape_width(m->outputs[i].type->shape); q++)
                    if (fabs(mc[i][q] - outd[i][q]) > spread[i][q])
                        spread[i][q] = fabs(mc[i][q] - outd[i][q]);
        }
        for (int i = 0; i < m->noutputs; i++)
            free(mc[i]);
        free(mc);
    }
    for (int i = 0; i < m->noutputs; i++)
        free(outd[i]), free(outf[i]), free(spread[i]);
    free(spread);
    for (int i = 0; i < m->ninputs; i++)
        free(ind[i]), free(inf[i]);
    for (int i = 0; i < tw.w.count; i++)
        free(wf[i]);
    free(wf), free(ind), free(inf), free(outd), free(outf);
    free_weights(&tw);
    actrt_model_free(rm);
    actc_jit_free(j);
    actc_session_free(s);
    compiled_free(&c);
    return o;
}

static Outcome check_source(const char *src, int64_t batch, uint64_t seed) {
    return check_source_opts(src, batch, seed, NULL);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static const char *const ex[] = {"mlp", "ffn", "gates", "geglu_split", "custom_activation", "residual_rmsnorm",
                                 "activations", "llama_mlp_stack"};

Test(jit, every_example_matches_the_interpreter, .timeout = 120) {
    for (size_t i = 0; i < ARRAY_LEN(ex); i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/examples/%s.act", ACTC_SOURCE_DIR, ex[i]);
        char *src = slurp(path);
        for (int64_t batch = 1; batch <= 17; batch += 8) {
            Outcome o = check_source(src, batch, 100 + i);
            cr_expect_leq(o.worst, BOUND, "%s batch %lld: error %g (bound %g)", ex[i], (long long)batch, o.worst, BOUND);
        }
        free(src);
    }
}

/* A stack of identical layers (a loop, language.md §3.6): every layer after
 * the first shares its kernels' bodies (cg_model.c) and its scratch regions
 * with the others, so the scratch per row does not grow with the depth; and
 * the shared code computes what the interpreter does at every depth. */
Test(jit, stacked_layers_share_scratch_and_match_the_interpreter, .timeout = 120) {
    int64_t scratch[3];
    static const int depth[3] = {2, 5, 12};
    for (int d = 0; d < 3; d++) {
        char src[1024];
        snprintf(src, sizeof src,
                 "const D = 24\nconst H = 40\n"
                 "model stack(x: f32[batch, D]) -> f32[batch, D] {\n"
                 "    h = x\n"
                 "    for i in 0 .. %d {\n"
                 "        n = rmsnorm(h, eps = 1e-6, name = \"layers.{i}.norm\")\n"
                 "        g = dense(n, H, bias = false, name = \"layers.{i}.gate\")\n"
                 "        u = dense(n, H, bias = false, name = \"layers.{i}.up\")\n"
                 "        r = h + dense(swiglu(g, u), D, name = \"layers.{i}.down\")\n"
                 "        h = r + gelu(dense(r, D, name = \"layers.{i}.extra\"))\n"
                 "    }\n"
                 "    return h\n}\n", depth[d]);
        for (int64_t batch = 1; batch <= 9; batch += 8) {
            Outcome o = check_source(src, batch, 700 + (uint64_t)d);
            cr_expect_leq(o.worst, BOUND, "depth %d batch %lld: error %g (bound %g)", depth[d], (long long)batch,
                          o.worst, BOUND);
        }
        actc_session *s;
        cr_assert_eq(actc_session_new(&s), ACTC_OK);
        cr_assert_eq(actc_check_source(s, "stack.act", src, strlen(src)), ACTC_OK);
        actc_jit_model *j;
        cr_assert_eq(actc_jit_compile(s, NULL, NULL, &j), ACTC_OK, "%s", actc_last_error(s));
        scratch[d] = actc_jit_desc(j)->scratch_per_row;
        actc_jit_free(j);
        actc_session_free(s);
    }
    cr_expect_eq(scratch[1], scratch[0], "scratch per row: depth 5 %lld, depth 2 %lld", (long long)scratch[1],
                 (long long)scratch[0]);
    cr_expect_eq(scratch[2], scratch[0], "scratch per row: depth 12 %lld, depth 2 %lld", (long long)scratch[2],
                 (long long)scratch[0]);
}

/* K blocking (cg_model.c; the K block is a kernel parameter, 80..512 by
 * default): K = 1700 and 1800 are many blocks with a short last one for a
 * dense and a gated kernel, partial last panels, 1..13 rows (full tiles
 * and every remainder height) -- against the interpreter, and through the
 * column split on 3 threads (check_source) */
Test(jit, k_blocked_matmuls_match_the_interpreter, .timeout = 120) {
    static const char SRC[] =
        "model kb(x: f32[batch, 1700]) -> (y: f32[batch, 70], z: f32[batch, 40]) {\n"
        "    h = gelu(dense(x, 1800, name = \"a\"))\n"
        "    y = swiglu(dense(h, 70, name = \"w\"), dense(h, 70, name = \"v\"))\n"
        "    return y, silu(dense(x, 40, name = \"o\", bias = false))\n"
        "}\n";
    const int64_t batches[] = {1, 6, 13};
    for (size_t i = 0; i < ARRAY_LEN(batches); i++) {
        Outcome o = check_source(SRC, batches[i], 77 + i);
        cr_expect_leq(o.worst, BOUND, "batch %lld: error %g", (long long)batches[i], o.worst);
    }
}

/* The fast tier (docs/accuracy.md section 6): each builtin within 4e-6
 * relative (4e-5 for the tanh family) instead of 0.5 ULP, well inside the
 * same bound; and 50 random models. */
Test(jit, fast_math_models_match_the_interpreter, .timeout = 300) {
    actc_options o = {.fast_math = 1};
    for (size_t i = 0; i < ARRAY_LEN(ex); i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/examples/%s.act", ACTC_SOURCE_DIR, ex[i]);
        char *src = slurp(path);
        Outcome out = check_source_opts(src, 9, 300 + i, &o);
        cr_expect_leq(out.worst, BOUND, "fast %s: error %g (bound %g)", ex[i], out.worst, BOUND);
        free(src);
    }
    for (uint64_t seed = 5001; seed < 5051; seed++) {
        int nout;
        char *src = gen_model(seed, &nout);
        Outcome out = check_source_opts(src, 1 + (int64_t)(seed % 23), seed, &o);
        double v = out.conditioned ? out.worst_cond : out.worst;
        cr_expect_leq(v, BOUND, "fast, seed %llu: error %g\n%s", (unsigned long long)seed, out.worst, src);
        free(src);
    }
}

/* 200 models in make test; ACTC_JIT_FIRST_SEED / ACTC_JIT_MODELS choose
 * another range (tests/fuzz/run_differential.sh runs long ranges in
 * chunks, docs/reliability.md). */
static uint64_t env_u64(const char *name, uint64_t dflt) {
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

Test(jit, random_models_match_the_interpreter, .timeout = 300) {
    double worst = 0;
    int nconditioned = 0;
    uint64_t first = env_u64("ACTC_JIT_FIRST_SEED", 1), count = env_u64("ACTC_JIT_MODELS", 200);
    for (uint64_t seed = first; seed < first + count; seed++) {
        int nout;
        char *src = gen_model(seed, &nout);
        int64_t batch = 1 + (int64_t)(seed * 7919 % 67);
        Outcome o = check_source(src, batch, seed);
        /* over the plain bound, an element passes if its error is within
         * MCA_FACTOR times what random rounding produces at that input */
        double v = o.conditioned ? o.worst_cond : o.worst;
        cr_expect_leq(v, BOUND, "seed %llu batch %lld: error %g (%g with the conditioning term)\n%s",
                      (unsigned long long)seed, (long long)batch, o.worst, o.worst_cond, src);
        nconditioned += o.conditioned;
        if (v > worst)
            worst = v;
        if (getenv("ACTC_JIT_VERBOSE") && (o.worst > 2e-6 || o.conditioned))
            fprintf(stderr, "seed %llu: %g%s%.3g\n%s\n", (unsigned long long)seed, o.worst,
                    o.conditioned ? "; over the plain bound, worst error / MCA spread " : "",
                    o.conditioned ? o.worst_cond / BOUND * MCA_FACTOR : 0.0, src);
        free(src);
    }
    fprintf(stderr, "jit: random models %llu..%llu, worst error %.3g (bound %g), %d over the plain bound within %g x the MCA spread\n",
            (unsigned long long)first, (unsigned long long)(first + count - 1), worst, BOUND, nconditioned, MCA_FACTOR);
}

/* 60 random stacks (gen_stack: blocks in loops, shared kernel bodies,
 * scratch by liveness) against the interpreter; ACTC_JIT_STACKS changes the
 * count. */
Test(jit, random_stacks_match_the_interpreter, .timeout = 300) {
    uint64_t count = env_u64("ACTC_JIT_STACKS", 60);
    for (uint64_t seed = 1; seed <= count; seed++) {
        char *src = gen_stack(seed);
        int64_t batch = 1 + (int64_t)(seed * 31 % 19);
        Outcome o = check_source(src, batch, seed);
        double v = o.conditioned ? o.worst_cond : o.worst;
        cr_expect_leq(v, BOUND, "stack seed %llu batch %lld: error %g\n%s", (unsigned long long)seed, (long long)batch,
                      o.worst, src);
        free(src);
    }
}


/* ---- concurrency and API misuse ---- */

#include <pthread.h>

typedef struct Shared {
    actrt_model *m;
    const float *in;
    const float *want;
    int64_t batch, n;
    int mismatches, failures;
} Shared;

enum { RUNNERS = 16, RUNS = 10000, COMPILERS = 4, COMPILES = 4 };

static void *worker(void *arg) {
    Shared *sh = arg;
    float *out = malloc(sizeof(float) * (size_t)(sh->batch * sh->n));
    for (int it = 0; it < RUNS; it++) {
        float *outs[1] = {out};
        const float *ins[1] = {sh->in};
        if (actrt_model_run(sh->m, sh->batch, ins, outs) != ACTC_OK)
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
        else if (memcmp(out, sh->want, sizeof(float) * (size_t)(sh->batch * sh->n)) != 0)
            __atomic_add_fetch(&sh->mismatches, 1, __ATOMIC_RELAXED);
    }
    free(out);
    return NULL;
}

/* A compiled ffn block with small random weights, ready to run. */
typedef struct Ready {
    actc_session *s;
    actc_jit_model *j;
    actrt_model *m;
    float **w;
    int nw;
} Ready;

static Ready ready_model_opts(const char *src, const actc_options *o) {
    Ready r = {0};
    cr_assert_eq(actc_session_new(&r.s), ACTC_OK);
    cr_assert_eq(actc_check_source(r.s, "t.act", src, strlen(src)), ACTC_OK);
    cr_assert_eq(actc_jit_compile(r.s, NULL, o, &r.j), ACTC_OK, "%s", actc_last_error(r.s));
    const actrt_desc *d = actc_jit_desc(r.j);
    cr_assert_eq(actrt_model_create(&r.m, d), ACTC_OK);
    r.nw = d->ntensors;
    r.w = calloc((size_t)r.nw + 1, sizeof(float *));
    uint64_t g = 7;
    for (int i = 0; i < r.nw; i++) {
        int64_t n = actrt_tensor_numel(&d->tensors[i]);
        r.w[i] = malloc(sizeof(float) * (size_t)n);
        for (int64_t q = 0; q < n; q++)
            r.w[i][q] = (float)rng_uniform(&g, -0.1, 0.1);
    }
    cr_assert_eq(rt_load_desc_tensors(r.m, d, r.w), ACTC_OK, "%s", actrt_last_error(r.m));
    return r;
}

static Ready ready_model(const char *src) { return ready_model_opts(src, NULL); }

static void ready_free(Ready *r) {
    actrt_model_free(r->m);
    actc_jit_free(r->j);
    actc_session_free(r->s);
    for (int i = 0; i < r->nw; i++)
        free(r->w[i]);
    free(r->w);
}

static const char *FFN = "const D = 48\nconst H = 100\n"
                         "model ffn(x: f32[batch, D]) -> f32[batch, D] {\n"
                         "    g = dense(x, H, bias = false)\n    u = dense(x, H, bias = false)\n"
                         "    return x + dense(swiglu(g, u), D, bias = false, name = \"down\")\n}\n";

/* Compile, bind, run (twice, bitwise equal) and unload COMPILES models of
 * different widths; count failures in *arg. */
static void *compiler_thread(void *arg) {
    int *fails = arg;
    static _Atomic int next;
    for (int k = 0; k < COMPILES; k++) {
        int id = next++;
        char src[512];
        snprintf(src, sizeof src,
                 "model m%d(x: f32[batch, %d]) -> f32[batch, %d] {\n"
                 "    return gelu(dense(swiglu(dense(x, %d, name = \"a\"), dense(x, %d, name = \"b\")), %d, name = \"o\"))\n}\n",
                 id, 8 + id, 5 + id % 7, 16 + 3 * id, 16 + 3 * id, 5 + id % 7);
        actc_session *s = NULL;
        actc_jit_model *j = NULL;
        actrt_model *m = NULL;
        int bad = actc_session_new(&s) || actc_check_source(s, "c.act", src, strlen(src)) ||
                  actc_jit_compile(s, NULL, NULL, &j) || actrt_model_create(&m, actc_jit_desc(j));
        if (!bad) {
            const actrt_desc *d = actc_jit_desc(j);
            float *w[8];
            for (int i = 0; i < d->ntensors; i++) {
                int64_t n = actrt_tensor_numel(&d->tensors[i]);
                w[i] = malloc(sizeof(float) * (size_t)n);
                for (int64_t q = 0; q < n; q++)
                    w[i][q] = 0.05f * (float)((q * 7 + i) % 13 - 6);
            }
            bad = rt_load_desc_tensors(m, d, w) != ACTC_OK;
            for (int i = 0; i < d->ntensors; i++)
                free(w[i]);
            float x[13 * 64], y1[13 * 16], y2[13 * 16];
            for (int q = 0; q < 13 * 64; q++)
                x[q] = 0.01f * (float)(q % 97) - 0.4f;
            bad = bad || actrt_model_run(m, 13, (const float *const[]){x}, (float *const[]){y1}) ||
                  actrt_model_run(m, 13, (const float *const[]){x}, (float *const[]){y2}) ||
                  memcmp(y1, y2, sizeof(float) * (size_t)(13 * (5 + id % 7))) != 0;
        }
        if (bad)
            (*fails)++;
        actrt_model_free(m);
        actc_jit_free(j);
        actc_session_free(s);
    }
    return NULL;
}

Test(jit, concurrent_runs_are_bitwise_identical, .timeout = 120) {
    Ready r = ready_model(FFN);
    int64_t batch = 9, n = 48;
    float *in = malloc(sizeof(float) * (size_t)(batch * n)), *want = malloc(sizeof(float) * (size_t)(batch * n));
    uint64_t g = 3;
    for (int64_t q = 0; q < batch * n; q++)
        in[q] = (float)rng_uniform(&g, -2, 2);
    const float *ins[1] = {in};
    float *outs[1] = {want};
    cr_assert_eq(actrt_model_run(r.m, batch, ins, outs), ACTC_OK);
    Shared sh = {r.m, in, want, batch, n, 0, 0};
    /* 16 threads x 10^4 runs of one model, while 4 threads compile, run
     * and unload other models (sessions, JIT and runtime all at once) */
    pthread_t t[RUNNERS], c[COMPILERS];
    int cfail[COMPILERS] = {0};
    for (int i = 0; i < RUNNERS; i++)
        pthread_create(&t[i], NULL, worker, &sh);
    for (int i = 0; i < COMPILERS; i++)
        pthread_create(&c[i], NULL, compiler_thread, &cfail[i]);
    for (int i = 0; i < RUNNERS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < COMPILERS; i++) {
        pthread_join(c[i], NULL);
        cr_expect_eq(cfail[i], 0, "compiling thread %d: %d failures", i, cfail[i]);
    }
    cr_expect_eq(sh.failures, 0);
    cr_expect_eq(sh.mismatches, 0, "%d of %d runs differ from the single-threaded result", sh.mismatches,
                 RUNNERS * RUNS);
    free(in);
    free(want);
    ready_free(&r);
}

Test(jit, api_misuse_returns_specific_codes) {
    Ready r = ready_model(FFN);
    float in[48 * 2] = {0}, out[48 * 2];
    const float *ins[1] = {in};
    float *outs[1] = {out};
    cr_expect_eq(actrt_model_run(NULL, 2, ins, outs), ACTC_ERR_ARG);
    cr_expect_eq(actrt_model_run(r.m, 0, ins, outs), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(r.m), "batch must be positive, got 0");
    cr_expect_eq(actrt_model_run(r.m, -5, ins, outs), ACTC_ERR_ARG);
    cr_expect_eq(actrt_model_run(r.m, 2, NULL, outs), ACTC_ERR_ARG);
    cr_expect_eq(actrt_model_run(r.m, 2, ins, NULL), ACTC_ERR_ARG);
    const float *nullin[1] = {NULL};
    cr_expect_eq(actrt_model_run(r.m, 2, nullin, outs), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(r.m), "input 0 ('x') is NULL");
    cr_expect_eq(actrt_model_run(r.m, INT64_MAX / 2, ins, outs), ACTC_ERR_ARG);
    cr_expect(strstr(actrt_last_error(r.m), "too large"), "%s", actrt_last_error(r.m));
    /* a model without weights refuses to run */
    actrt_model *bare;
    cr_assert_eq(actrt_model_create(&bare, actc_jit_desc(r.j)), ACTC_OK);
    cr_expect_eq(actrt_model_run(bare, 2, ins, outs), ACTC_ERR_ARG);
    cr_expect(strstr(actrt_last_error(bare), "has no weights"));
    /* wrong shape and missing tensors name the tensor and the line */
    float *big = calloc(100 * 48, sizeof(float));
    actrt_tensor three[3] = {rt_tensor_2d("g.weight", 48, 2, in), rt_tensor_2d("u.weight", 100, 48, big),
                             rt_tensor_2d("down.weight", 48, 100, big)};
    cr_expect_eq(actrt_model_load_tensors(bare, three, 3), ACTC_ERR_WEIGHTS);
    cr_expect_str_eq(actrt_last_error(bare),
                     "the tensors given: tensor 'g.weight' has shape [48, 2], expected [100, 48] (declared at t.act:4)");
    /* every missing name at once (names are checked before shapes) */
    actrt_tensor one = rt_tensor_2d("g.weight", 100, 48, big);
    cr_expect_eq(actrt_model_load_tensors(bare, &one, 1), ACTC_ERR_WEIGHTS);
    cr_expect_str_eq(actrt_last_error(bare), "missing tensor 'u.weight' (declared at t.act:5) in the tensors given; "
                                             "nearest: 'g.weight'; 2 tensors missing in all, also 'down.weight' "
                                             "(declared at t.act:6)");
    free(big);
    actrt_model_free(bare);
    /* create / compile argument checks */
    actrt_model *m2;
    cr_expect_eq(actrt_model_create(&m2, NULL), ACTC_ERR_ARG);
    cr_expect_null(m2);
    cr_expect_eq(actrt_model_create(NULL, actc_jit_desc(r.j)), ACTC_ERR_ARG);
    actrt_desc bad = *actc_jit_desc(r.j);
    bad.abi_version = 99;
    cr_expect_eq(actrt_model_create(&m2, &bad), ACTC_ERR_ARG);
    cr_expect(strstr(actrt_last_error(NULL), "ABI 99"), "%s", actrt_last_error(NULL));
    actc_jit_model *j2;
    cr_expect_eq(actc_jit_compile(r.s, "nosuch", NULL, &j2), ACTC_ERR_ARG);
    cr_expect_str_eq(actc_last_error(r.s), "no model named 'nosuch' (models: 'ffn')");
    actc_options bad_target = {.target = "no-such-triple"};
    cr_expect_eq(actc_jit_compile(r.s, NULL, &bad_target, &j2), ACTC_ERR_ARG);
    cr_expect_eq(actc_jit_compile(NULL, NULL, NULL, &j2), ACTC_ERR_ARG);
    ready_free(&r);
}

Test(jit, misaligned_buffers_run_correctly) {
    Ready r = ready_model(FFN);
    int64_t batch = 3, n = 48;
    char *raw_in = malloc(sizeof(float) * (size_t)(batch * n) + 8), *raw_out = malloc(sizeof(float) * (size_t)(batch * n) + 8);
    float *in = malloc(sizeof(float) * (size_t)(batch * n)), *want = malloc(sizeof(float) * (size_t)(batch * n));
    for (int64_t q = 0; q < batch * n; q++)
        in[q] = (float)q / 17.0f - 1;
    const float *ins[1] = {in};
    float *outs[1] = {want};
    cr_assert_eq(actrt_model_run(r.m, batch, ins, outs), ACTC_OK);
    float *min = (float *)(raw_in + 2), *mout = (float *)(raw_out + 2); /* 2-byte aligned */
    memcpy(min, in, sizeof(float) * (size_t)(batch * n));
    const float *mins[1] = {min};
    float *mouts[1] = {mout};
    cr_assert_eq(actrt_model_run(r.m, batch, mins, mouts), ACTC_OK);
    cr_expect_eq(memcmp(mout, want, sizeof(float) * (size_t)(batch * n)), 0);
    free(raw_in), free(raw_out), free(in), free(want);
    ready_free(&r);
}

/* Batches below 6 rows per thread split every kernel's columns among the
 * threads (panels of 64 columns, vectors for elementwise kernels, row ops
 * whole), with a barrier after each kernel: the same bits as one thread,
 * for widths that are and are not multiples of a panel, and the reference
 * interpreter agrees.  Also through actrt_model_profile. */
Test(jit, few_rows_split_columns_bitwise_for_any_thread_count) {
    static const char SRC[] =
        "model c(x: f32[batch, 40]) -> (y: f32[batch, 40], p: f32[batch, 77]) {\n"
        "    h = gelu(dense(x, 300, name = \"a\"))\n"
        "    g = swiglu(dense(h, 130, name = \"w\"), dense(h, 130, name = \"v\"))\n"
        "    e = tanh(g) * 0.5 + g\n"
        "    p = softmax(dense(e, 77, name = \"q\"))\n"
        "    return x + dense(e, 40, name = \"o\"), p\n"
        "}\n";
    Ready r = ready_model(SRC);
    const actrt_desc *d = actc_jit_desc(r.j);
    cr_assert_not_null(d->kernel_info);
    int splittable = 0;
    for (int k = 0; k < d->nkernels; k++)
        splittable += d->kernel_info[k].col_step > 0 && d->kernel_info[k].n > 2 * d->kernel_info[k].col_step;
    cr_expect_geq(splittable, 2, "the model should have kernels wider than two column steps");
    static float in[11 * 40], y[5][11 * 40], p[5][11 * 77];
    uint64_t g = 5;
    for (int q = 0; q < 11 * 40; q++)
        in[q] = (float)rng_uniform(&g, -2, 2);
    const int64_t batches[] = {1, 2, 5, 7, 11};
    for (size_t bi = 0; bi < ARRAY_LEN(batches); bi++) {
        int64_t batch = batches[bi];
        for (int t = 1; t <= 4; t++) {
            cr_assert_eq(actrt_model_set_threads(r.m, t), ACTC_OK);
            const float *ins[1] = {in};
            float *outs[2] = {y[t], p[t]};
            memset(y[t], 0xff, sizeof y[t]), memset(p[t], 0xff, sizeof p[t]);
            cr_assert_eq(actrt_model_run(r.m, batch, ins, outs), ACTC_OK, "%s", actrt_last_error(r.m));
            if (t > 1) {
                cr_expect_eq(memcmp(y[1], y[t], sizeof(float) * (size_t)(batch * 40)), 0, "batch %lld: %d threads",
                             (long long)batch, t);
                cr_expect_eq(memcmp(p[1], p[t], sizeof(float) * (size_t)(batch * 77)), 0, "batch %lld: %d threads",
                             (long long)batch, t);
            }
        }
        double sec[16];
        float *outs[2] = {y[0], p[0]};
        cr_assert_eq(actrt_model_profile(r.m, batch, (const float *const[]){in}, outs, sec), ACTC_OK);
        cr_expect_eq(memcmp(y[1], y[0], sizeof(float) * (size_t)(batch * 40)), 0, "profile, batch %lld",
                     (long long)batch);
    }
    ready_free(&r);
}

Test(jit, results_are_bitwise_identical_for_any_thread_count) {
    Ready r = ready_model(FFN);
    int64_t batch = 67, n = 48;
    float *in = malloc(sizeof(float) * (size_t)(batch * n));
    float *out[4];
    uint64_t g = 11;
    for (int64_t q = 0; q < batch * n; q++)
        in[q] = (float)rng_uniform(&g, -2, 2);
    const float *ins[1] = {in};
    for (int t = 1; t <= 4; t++) {
        out[t - 1] = malloc(sizeof(float) * (size_t)(batch * n));
        cr_assert_eq(actrt_model_set_threads(r.m, t), ACTC_OK);
        float *outs[1] = {out[t - 1]};
        cr_assert_eq(actrt_model_run(r.m, batch, ins, outs), ACTC_OK, "%s", actrt_last_error(r.m));
        if (t > 1)
            cr_expect_eq(memcmp(out[0], out[t - 1], sizeof(float) * (size_t)(batch * n)), 0,
                         "%d threads differ from 1", t);
    }
    cr_expect_eq(actrt_model_set_threads(r.m, -1), ACTC_ERR_ARG);
    for (int t = 0; t < 4; t++)
        free(out[t]);
    free(in);
    ready_free(&r);
}

/* Kernel parameters (params.c) are a matter of speed only: two extreme sets
 * -- 1x1 tiles with a K block of 1 row and row blocks of 1, and the largest
 * tiles (64 accumulators, spilling) unblocked with a far prefetch -- give
 * bitwise the outputs of the built-in choice, on random models (ragged
 * widths, K = 1, N = 1 ... 514) and a K-blocked model, for 1, 7 and 37 rows
 * (every remainder height of the tiles) on 1 and 3 threads. */
Test(jit, kernel_params_never_change_a_bit, .timeout = 300) {
    static const char *const sets[] = {NULL, "dense=1x1,kc=1,mc=1,pf=0;gated=1x1,kc=1,mc=1,pf=0",
                                       "dense=16x4,kc=0,mc=0,pf=512;gated=8x4,kc=0,mc=0,pf=64",
                                       "dense=5x2,kc=33,mc=9,pf=33;gated=3x3,kc=17,mc=20,pf=0"};
    static const char KB[] = "model kb(x: f32[batch, 300]) -> (y: f32[batch, 70], z: f32[batch, 1]) {\n"
                             "    h = gelu(dense(x, 257, name = \"a\"))\n"
                             "    y = swiglu(dense(h, 70, name = \"w\"), dense(h, 70, name = \"v\"))\n"
                             "    return y, silu(dense(x, 1, name = \"o\", bias = false))\n"
                             "}\n";
    enum { NB = 3, MAXO = 8 };
    const int64_t batches[NB] = {1, 7, 37};
    for (int model = 0; model < 13; model++) {
        int nout;
        char *src = model == 0 ? strdup(KB) : gen_model((uint64_t)model * 17, &nout);
        float *ref[NB][MAXO] = {{0}};
        for (size_t set = 0; set < ARRAY_LEN(sets); set++) {
            actc_options o = {.kernel_params = sets[set]};
            Ready r = ready_model_opts(src, &o);
            const actrt_desc *d = actc_jit_desc(r.j);
            cr_assert_leq(d->noutputs, MAXO);
            for (int bi = 0; bi < NB; bi++)
                for (int th = 1; th <= 3; th += 2) {
                    int64_t batch = batches[bi];
                    float *in[MAXO], *out[MAXO];
                    uint64_t g = 99;
                    for (int i = 0; i < d->ninputs; i++) {
                        in[i] = malloc(sizeof(float) * (size_t)(batch * d->inputs[i].n));
                        for (int64_t q = 0; q < batch * d->inputs[i].n; q++)
                            in[i][q] = (float)rng_uniform(&g, -3, 3);
                    }
                    for (int i = 0; i < d->noutputs; i++)
                        out[i] = calloc((size_t)(batch * d->outputs[i].n), sizeof(float));
                    cr_assert_eq(actrt_model_set_threads(r.m, th), ACTC_OK);
                    cr_assert_eq(actrt_model_run(r.m, batch, (const float *const *)in, out), ACTC_OK, "%s",
                                 actrt_last_error(r.m));
                    for (int i = 0; i < d->noutputs; i++) {
                        if (!ref[bi][i]) { /* the built-in choice on 1 thread: the reference */
                            ref[bi][i] = out[i];
                            continue;
                        }
                        cr_expect_eq(memcmp(out[i], ref[bi][i], sizeof(float) * (size_t)(batch * d->outputs[i].n)), 0,
                                     "parameters '%s', batch %lld, %d threads: output %d differs\n%s",
                                     sets[set] ? sets[set] : "(built-in)", (long long)batch, th, i, src);
                        free(out[i]);
                    }
                    for (int i = 0; i < d->ninputs; i++)
                        free(in[i]);
                }
            ready_free(&r);
        }
        for (int bi = 0; bi < NB; bi++)
            for (int i = 0; i < MAXO; i++)
                free(ref[bi][i]);
        free(src);
    }
}

/* Malformed parameters are an error naming the problem; the session stays usable. */
Test(jit, malformed_kernel_params_are_errors) {
    static const char *const bad[][2] = {
        {"dense=0x3", "out of range"},        {"dense=8x3,kc=-1", "expected KIND"},
        {"dense=17x1", "out of range"},       {"dense=8x9", "out of range"},
        {"gated=8x5,kc=1", "needs 80 accumulators"}, {"dense=8x3,zz=1", "expected KIND"},
        {"conv=1x1", "expected 'dense='"},    {"dense=8x3;", NULL},
        {"dense=8", "expected KIND"},          {"dense=8x3,kc=99999999999", "expected KIND"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        actc_session *s;
        cr_assert_eq(actc_session_new(&s), ACTC_OK);
        cr_assert_eq(actc_check_source(s, "t.act", FFN, strlen(FFN)), ACTC_OK);
        actc_jit_model *j = NULL;
        actc_options o = {.kernel_params = bad[i][0]};
        int st = actc_jit_compile(s, NULL, &o, &j);
        if (!bad[i][1]) {
            cr_expect_eq(st, ACTC_OK, "'%s': %s", bad[i][0], actc_last_error(s));
        } else {
            cr_expect_eq(st, ACTC_ERR_ARG, "'%s'", bad[i][0]);
            cr_expect(strstr(actc_last_error(s), bad[i][1]) != NULL, "'%s': %s", bad[i][0], actc_last_error(s));
            cr_expect_null(j);
        }
        actc_jit_free(j);
        actc_session_free(s);
    }
}

/* Tuning profiles (docs/tuning.md): a good one is used (explicitly and from
 * the cache directory); every kind of bad one is a warning naming the file,
 * the reason and the fallback, and the compile succeeds with the built-in
 * parameters. */
static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strdup(buf);
}

static void write_all(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

/* text with the first `from` replaced by `to` */
static char *replaced(const char *text, const char *from, const char *to) {
    const char *p = strstr(text, from);
    cr_assert(p, "'%s' not in the profile", from);
    char *r = malloc(strlen(text) + strlen(to) + 1);
    sprintf(r, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
    return r;
}

static const char *params_used(const actc_options *o, const char **warning) {
    static char params[256], from[512], warn[1024];
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_assert_eq(actc_check_source(s, "t.act", FFN, strlen(FFN)), ACTC_OK);
    size_t nd = actc_diag_count(s);
    actc_jit_model *j = NULL;
    cr_assert_eq(actc_jit_compile(s, NULL, o, &j), ACTC_OK, "%s", actc_last_error(s));
    actc_jit_free(j);
    warn[0] = 0;
    for (size_t i = nd; i < actc_diag_count(s); i++) {
        actc_diagnostic d;
        if (actc_diag_get(s, i, &d) == ACTC_OK && d.severity == ACTC_SEV_WARNING)
            snprintf(warn, sizeof warn, "%s", d.message);
    }
    const char *p, *f, *c;
    int nregs;
    cr_assert_eq(actc_kernel_params(s, o, &p, &f, &c, &nregs, false), ACTC_OK);
    snprintf(params, sizeof params, "%s", p);
    snprintf(from, sizeof from, "%s", f);
    actc_session_free(s);
    *warning = warn;
    return from;
}

Test(jit, tuning_profiles_good_and_hostile) {
    char dir[] = "/tmp/actc-profile-XXXXXX";
    cr_assert(mkdtemp(dir));
    char good[512], bad[512];
    snprintf(good, sizeof good, "%s/good.json", dir);
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    const char *P = "dense=4x2,kc=64,mc=0,pf=0;gated=3x2,kc=32,mc=0,pf=0";
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_assert_eq(actc_write_profile(s, NULL, P, good, "{\"note\": \"test\"}"), ACTC_OK, "%s", actc_last_error(s));
    actc_session_free(s);
    const char *warning;
    actc_options o = {.profile = good};
    const char *from = params_used(&o, &warning);
    cr_expect(strstr(from, "profile") && strstr(from, good), "%s", from);
    cr_expect_str_empty(warning);
    char *text = read_all(good);
    /* hostile files: each with the reason its warning must give */
    struct {
        char *text;
        const char *reason;
    } cases[] = {
        {NULL, "cannot be read"},
        {strdup("{\"format\": \"actc-profile-1\", "), "is not valid JSON"},
        {strdup("[1, 2, 3]"), "is not an actc profile"},
        {replaced(text, "actc-profile-1", "actc-profile-9"), "is not an actc profile"},
        {replaced(text, "\"checksum\"", "\"checksun\""), "lacks one of"},
        {replaced(text, "\"vlen\": ", "\"vlen\": 1"), "was tuned for"},
        {replaced(text, "\"actc\": \"", "\"actc\": \"0.0.0-"), "is stale"},
        {replaced(text, "dense=4x2", "dense=8x2"), "edited by hand"},
        {replaced(text, "dense=4x2", "dense=0x2"), "edited by hand"},
        {strdup(""), "is not valid JSON"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        remove(bad);
        if (cases[i].text)
            write_all(bad, cases[i].text);
        actc_options ob = {.profile = bad};
        from = params_used(&ob, &warning);
        cr_expect(strstr(warning, bad) && strstr(warning, cases[i].reason) && strstr(warning, "using the"),
                  "case %zu: warning '%s' (want '%s')", i, warning, cases[i].reason);
        cr_expect(!strstr(from, "profile"), "case %zu: parameters from %s", i, from);
        free(cases[i].text);
    }
    free(text);
    /* the JIT on the host finds the profile in the cache directory; a
     * missing one there is silent */
    const char *old = getenv("XDG_CACHE_HOME");
    char *saved = old ? strdup(old) : NULL;
    setenv("XDG_CACHE_HOME", dir, 1);
    actc_options none = {0};
    from = params_used(&none, &warning);
    cr_expect(!strstr(from, "profile"), "%s", from);
    cr_expect_str_empty(warning);
    const char *p, *f, *cache;
    int nregs;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_assert_eq(actc_kernel_params(s, NULL, &p, &f, &cache, &nregs, false), ACTC_OK);
    cr_assert_not_null(cache);
    cr_assert_eq(actc_write_profile(s, NULL, P, NULL, NULL), ACTC_OK, "%s", actc_last_error(s)); /* to the cache */
    actc_session_free(s);
    from = params_used(&none, &warning);
    cr_expect(strstr(from, "profile") != NULL, "%s", from);
    /* explicit parameters win over the cache */
    actc_options ex = {.kernel_params = "dense=2x2"};
    from = params_used(&ex, &warning);
    cr_expect(strstr(from, "explicit") != NULL, "%s", from);
    /* --cpu: not the host's code, so not the host's profile */
    actc_options cpu = {.cpu = "x86-64-v3"};
    from = params_used(&cpu, &warning);
    cr_expect(!strstr(from, "profile"), "%s", from);
    if (saved)
        setenv("XDG_CACHE_HOME", saved, 1), free(saved);
    else
        unsetenv("XDG_CACHE_HOME");
}

/* language.md §7.5: a layer called again with shared = true reads the
 * tensors of its definition: the model declares them once, the kernels
 * that read them share one packed copy (weight slot), and the result is
 * the interpreter's.  A layer shared in every step of a loop likewise. */
Test(jit, shared_layers_declare_and_pack_their_tensors_once, .timeout = 120) {
    static const char *src = "const D = 24\n"
                             "model m(x: f32[batch, D]) -> f32[batch, 5] {\n"
                             "    a = relu(dense(x, D, name = \"enc\"))\n"
                             "    h = gelu(dense(a, D, name = \"enc\", shared = true))\n"
                             "    for i in 0 .. 3 {\n"
                             "        h = h + silu(dense(h, D, bias = false, name = \"mix\", shared = true))\n"
                             "    }\n"
                             "    return dense(h, 5, name = \"head\")\n}\n";
    for (int64_t batch = 1; batch <= 17; batch += 8) {
        Outcome o = check_source(src, batch, 31);
        cr_expect_leq(o.worst, BOUND, "batch %lld: error %g (bound %g)", (long long)batch, o.worst, BOUND);
    }
    Ready r = ready_model(src);
    const actrt_desc *d = actc_jit_desc(r.j);
    cr_assert_eq(d->ntensors, 5, "enc.weight, enc.bias, mix.weight, head.weight, head.bias; got %d", d->ntensors);
    cr_assert_eq(d->nkernels, 6);
    int per_tensor[8] = {0};
    for (int i = 0; i < d->nweights; i++)
        if (d->weights[i].tensor < 8)
            per_tensor[d->weights[i].tensor]++;
    for (int t = 0; t < d->ntensors; t++)
        cr_expect_eq(per_tensor[t], 1, "tensor '%s' packed %d times", d->tensors[t].name, per_tensor[t]);
    ready_free(&r);
}
