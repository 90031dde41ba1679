/*
 * bench_act.c — elementwise activation throughput on one core: actc's JIT
 * code (precise and fast tiers) against glibc's libm, SLEEF, gcc's
 * libmvec vectorisation and oneDNN's eltwise primitive, in one process
 * (issue 8).
 *
 * A benchmark, not a test: nothing in CI or `make test` runs it.  It prints
 * markdown (the machine, one table per size: Gelem/s and the max error of
 * every implementation, and the ratios actc-precise/sleef-u10,
 * actc-precise/onednn, actc-fast/onednn) and, with --csv, one CSV row per
 * (size, activation, implementation).
 *
 * Implementations (columns)
 *   actc-precise  a model `return act(x)` over x: f32[batch, 1024], checked
 *                 (actc_check_source), JIT-compiled (actc_jit_compile with
 *                 actc_options {0}), actrt_model_set_threads(m, 1), timed
 *                 actrt_model_run(m, n / 1024, {x}, {y}).  Public API only.
 *   actc-fast     the same with actc_options.fast_math = 1
 *   actc-exact    the same with actc_options.exact_math = 1 (the f64 tier)
 *   libm          act_scalar.h's loops (PyTorch's definitions over glibc's
 *                 expf, tanhf, erfcf, log1pf, expm1f), plain -O2
 *   sleef-u10     the same formulas on SLEEF 3.5's AVX-512 u10 functions
 *                 (erfc: u15), 16 lanes per step (peer_sleef.c)
 *   gcc-fastmath  act_scalar.h again, -O3 -ffast-math -march=native: gcc
 *                 vectorises through glibc's libmvec (_ZGVeN16v_expf ...)
 *   onednn        oneDNN 2.6 eltwise forward_inference on a 1-D f32 tensor
 *                 of n elements, one primitive per (activation, size),
 *                 created untimed; OpenMP held to 1 thread
 *
 * Activations (rows): relu, gelu_tanh, gelu (erf), silu, mish, tanh,
 * sigmoid, elu (alpha 1), softplus (beta 1, threshold 20).
 *
 * Method: input x uniform in [-8, 8) (splitmix64, --seed), one buffer for
 * every implementation, each implementation writing its own output buffer;
 * every page is written before timing.  Per (size, activation) each
 * implementation runs once (warm-up) and its output is compared with a
 * float64 evaluation of the PyTorch definition on a sample (every element
 * up to --sample, default 1 Mi; a strided sample beyond): the max over the
 * sample of |y - ref| / |ref| where |ref| > 1e-5, else |y - ref|.  If
 * |y - ref| / max(|ref|, 1e-3) exceeds --gross (1e-2) anywhere, the
 * implementation (or this harness) is wrong: the row is aborted with a
 * message and the exit status is 3 (sample_error says why the floor of
 * that check is 1e-3).  Then each
 * implementation is calibrated so that one repetition lasts >= --min-ms
 * (50 ms), and --reps (7) repetitions are timed with the implementations
 * alternating round-robin, the first one rotating.  Reported: n / (median
 * time per call), in Gelem/s.
 *
 * Usage: bench_act [--quick] [--sizes LIST] [--acts LIST] [--impls LIST]
 *                  [--reps R] [--min-ms X] [--sample N] [--gross E]
 *                  [--csv FILE] [--seed S] [--note TEXT]... [--verbose]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <gnu/libc-version.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "actc/actc.h"
#include "actc/runtime.h"

#include "bench_act.h"

/* ------------------------------------------------------------------ names */

/* the actc tiers first, in the order of Actc's index (precise, fast, exact) */
enum { I_PRECISE, I_FAST, I_EXACT, I_LIBM, I_SLEEF, I_FASTMATH, I_ONEDNN, NIMPLS };
static const char *const impl_names[NIMPLS] = {"actc-precise", "actc-fast",    "actc-exact", "libm",
                                               "sleef-u10",    "gcc-fastmath", "onednn"};
static const char *const tier_names[3] = {"precise", "fast", "exact"};
static const char *const act_names[NACTS] = {"relu", "gelu_tanh", "gelu", "silu", "mish",
                                             "tanh", "sigmoid",   "elu",  "softplus"};

#define ROW_LEN 1024 /* features per row of the actc model: x: f32[batch, 1024] */
#define MAXSIZES 8

static struct {
    int reps, verbose, quick;
    double min_ms, gross;
    size_t sizes[MAXSIZES];
    int nsizes;
    int act_on[NACTS], impl_on[NIMPLS];
    size_t sample;
    const char *csv;
    unsigned long long seed;
    const char *notes[8];
    int nnotes;
} opt;

static const char *self = "bench_act";

/* ------------------------------------------------------------------ options */

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_act [options]\n"
            "  --quick          1 Mi floats only; gelu_tanh, gelu, silu, mish\n"
            "  --sizes LIST     element counts, multiples of 1024; suffixes Ki, Mi (default 1Mi,64Mi)\n"
            "  --acts LIST      relu,gelu_tanh,gelu,silu,mish,tanh,sigmoid,elu,softplus (default all)\n"
            "  --impls LIST     actc-precise,actc-fast,libm,sleef-u10,gcc-fastmath,onednn (default all)\n"
            "  --reps R         timed repetitions per implementation, median reported (default 7; >= 7)\n"
            "  --min-ms X       minimum length of one repetition (default 50)\n"
            "  --sample N       elements checked against float64 (default 1Mi; all of a smaller size)\n"
            "  --gross E        abort a row when an implementation has |y - ref| / max(|ref|, 1e-3) > E\n"
            "                   anywhere in the sample (default 1e-2): a harness or implementation bug\n"
            "  --csv FILE       also write every measurement as CSV\n"
            "  --seed S         seed of the input (default 1)\n"
            "  --note TEXT      a line for the header (run.sh: the actc build); repeatable\n"
            "  --verbose        calls per repetition, min/max per implementation, worst inputs\n");
}

static int parse_size(const char *s, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno)
        return -1;
    if (!strncmp(end, "Mi", 2) || !strncmp(end, "M", 1))
        v <<= 20, end += end[1] == 'i' ? 2 : 1;
    else if (!strncmp(end, "Ki", 2) || !strncmp(end, "K", 1))
        v <<= 10, end += end[1] == 'i' ? 2 : 1;
    if (*end || v == 0 || v % ROW_LEN || v > (1ull << 30))
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_sizes(const char *s) {
    char buf[256];
    int n = 0;
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == MAXSIZES || parse_size(tok, &opt.sizes[n]))
            return -1;
        n++;
    }
    return n;
}

/* Comma-separated names from `names` (count n): flags[i] = 1; the count, or
 * -1 on an unknown name. */
static int parse_names(const char *s, const char *const *names, int n, int *flags) {
    int count = 0;
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int i = 0;
        while (i < n && strcmp(tok, names[i]) != 0)
            i++;
        if (i == n) {
            fprintf(stderr, "%s: unknown name '%s' (one of:", self, tok);
            for (int j = 0; j < n; j++)
                fprintf(stderr, " %s", names[j]);
            fprintf(stderr, ")\n");
            return -1;
        }
        count += !flags[i];
        flags[i] = 1;
    }
    return count;
}

static void parse_args(int argc, char **argv) {
    int sizes_set = 0, acts_set = 0, impls_set = 0;
    opt.reps = 7;
    opt.min_ms = 50.0;
    opt.gross = 1e-2;
    opt.sample = (size_t)1 << 20;
    opt.seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                                  \
    do {                                                                                                              \
        if (!v) {                                                                                                     \
            fprintf(stderr, "%s: %s needs a value\n", self, a);                                                       \
            exit(1);                                                                                                  \
        }                                                                                                             \
        i++;                                                                                                          \
    } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--quick")) {
            opt.quick = 1;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            opt.verbose = 1;
        } else if (!strcmp(a, "--sizes")) {
            NEED_VALUE();
            if ((opt.nsizes = parse_sizes(v)) <= 0) {
                fprintf(stderr, "%s: bad --sizes '%s' (multiples of 1024, e.g. 1Mi,64Mi)\n", self, v);
                exit(1);
            }
            sizes_set = 1;
        } else if (!strcmp(a, "--acts")) {
            NEED_VALUE();
            if (parse_names(v, act_names, NACTS, opt.act_on) <= 0)
                exit(1);
            acts_set = 1;
        } else if (!strcmp(a, "--impls")) {
            NEED_VALUE();
            if (parse_names(v, impl_names, NIMPLS, opt.impl_on) <= 0)
                exit(1);
            impls_set = 1;
        } else if (!strcmp(a, "--reps")) {
            NEED_VALUE();
            opt.reps = atoi(v);
            if (opt.reps < 1 || opt.reps > 1000) {
                fprintf(stderr, "%s: bad --reps '%s'\n", self, v);
                exit(1);
            }
        } else if (!strcmp(a, "--min-ms")) {
            NEED_VALUE();
            opt.min_ms = atof(v);
            if (!(opt.min_ms > 0)) {
                fprintf(stderr, "%s: bad --min-ms '%s'\n", self, v);
                exit(1);
            }
        } else if (!strcmp(a, "--sample")) {
            NEED_VALUE();
            if (parse_size(v, &opt.sample)) {
                fprintf(stderr, "%s: bad --sample '%s' (a multiple of 1024)\n", self, v);
                exit(1);
            }
        } else if (!strcmp(a, "--gross")) {
            NEED_VALUE();
            opt.gross = atof(v);
            if (!(opt.gross > 0)) {
                fprintf(stderr, "%s: bad --gross '%s'\n", self, v);
                exit(1);
            }
        } else if (!strcmp(a, "--csv")) {
            NEED_VALUE();
            opt.csv = v;
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE();
            opt.seed = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--note")) {
            NEED_VALUE();
            if (opt.nnotes == (int)(sizeof opt.notes / sizeof *opt.notes)) {
                fprintf(stderr, "%s: too many --note\n", self);
                exit(1);
            }
            opt.notes[opt.nnotes++] = v;
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", self, a);
            usage(stderr);
            exit(1);
        }
#undef NEED_VALUE
    }
    if (!sizes_set) {
        opt.sizes[0] = (size_t)1 << 20;
        opt.sizes[1] = (size_t)64 << 20;
        opt.nsizes = opt.quick ? 1 : 2;
    }
    if (!acts_set) {
        for (int a = 0; a < NACTS; a++)
            opt.act_on[a] = !opt.quick || a == A_GELU_TANH || a == A_GELU || a == A_SILU || a == A_MISH;
    }
    if (!impls_set)
        for (int i = 0; i < NIMPLS; i++)
            opt.impl_on[i] = 1;
}

/* ------------------------------------------------------------------ utilities */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Page-aligned and written (so every page is mapped before timing). */
static float *falloc(size_t n) {
    size_t bytes = (n * sizeof(float) + 4095) / 4096 * 4096;
    float *p = aligned_alloc(4096, bytes);
    if (!p) {
        fprintf(stderr, "%s: out of memory (%zu bytes)\n", self, bytes);
        exit(1);
    }
    memset(p, 0, bytes);
    return p;
}

static uint64_t rng_state;
static uint64_t splitmix(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* uniform in [-a, a): 24 random bits, so every value is an exact float */
static void fill_uniform(float *p, size_t n, float a) {
    for (size_t i = 0; i < n; i++)
        p[i] = a * ((float)((int64_t)(splitmix() >> 40) - ((int64_t)1 << 23)) * 0x1p-23f);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void fmt_size(char *buf, size_t len, size_t n) {
    if (n % ((size_t)1 << 20) == 0)
        snprintf(buf, len, "%zu Mi", n >> 20);
    else if (n % 1024 == 0)
        snprintf(buf, len, "%zu Ki", n >> 10);
    else
        snprintf(buf, len, "%zu", n);
}

static int proc_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int t = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Threads:", 8))
            t = atoi(line + 8);
    if (f)
        fclose(f);
    return t;
}

static void loadavg(char *buf, size_t n) {
    FILE *f = fopen("/proc/loadavg", "r");
    buf[0] = 0;
    if (f && fgets(buf, (int)n, f))
        buf[strcspn(buf, "\n")] = 0;
    if (f)
        fclose(f);
}

/* ------------------------------------------------------------------ reference */

/* The PyTorch definition of activation `a` in float64 (gelu through erfc, an
 * identity that keeps the negative tail accurate in float64 too). */
static double ref64(int a, double x) {
    switch (a) {
    case A_RELU:
        return x > 0 ? x : 0;
    case A_GELU_TANH:
        return 0.5 * x * (1 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
    case A_GELU:
        return 0.5 * x * erfc(-x * 0.70710678118654752440);
    case A_SILU:
        return x / (1 + exp(-x));
    case A_MISH:
        return x * tanh(x > 20 ? x : log1p(exp(x)));
    case A_TANH:
        return tanh(x);
    case A_SIGMOID:
        return 1 / (1 + exp(-x));
    case A_ELU:
        return x > 0 ? x : expm1(x);
    default: /* A_SOFTPLUS */
        return x > 20 ? x : log1p(exp(x));
    }
}

/* The error of one output against the reference on the sample. */
typedef struct Err {
    double max;   /* reported: max of |y - ref| / |ref| where |ref| > 1e-5, else |y - ref| */
    float x, y;   /* where */
    double ref;
    double gross; /* the sanity check's: max of |y - ref| / max(|ref|, 1e-3) */
    float gx, gy; /* where */
    double gref;
} Err;

#define REL_FLOOR 1e-5
#define GROSS_FLOOR 1e-3

/* The sanity check uses a floor of 1e-3 rather than 1e-5: the float
 * evaluation of PyTorch's own formulas loses up to ~1e-2 relative where
 * they cancel (1 + tanh(u) in gelu_tanh, 1 + erf in oneDNN's gelu_erf,
 * near |ref| = 1e-5).  That is an accuracy result for the table, not a bug;
 * a harness bug (a wrong function, buffer, scale or skipped store) is off
 * by O(1) under either floor. */
static Err sample_error(const float *y, const float *x, const size_t *idx, const double *ref, size_t ns) {
    Err e;
    memset(&e, 0, sizeof e);
    e.max = e.gross = -1;
    for (size_t k = 0; k < ns; k++) {
        size_t i = idx[k];
        double r = ref[k], d = fabs((double)y[i] - r);
        double v = fabs(r) > REL_FLOOR ? d / fabs(r) : d;
        double g = d / (fabs(r) > GROSS_FLOOR ? fabs(r) : GROSS_FLOOR);
        if (v != v)
            v = g = INFINITY;
        if (v > e.max) {
            e.max = v;
            e.x = x[i];
            e.y = y[i];
            e.ref = r;
        }
        if (g > e.gross) {
            e.gross = g;
            e.gx = x[i];
            e.gy = y[i];
            e.gref = r;
        }
    }
    return e;
}

/* ------------------------------------------------------------------ actc */

typedef struct Actc {
    actc_session *s;
    actc_jit_model *j;
    actrt_model *m;
    double compile_ms;
    int nkernels, kind;
} Actc;

static Actc actc[NACTS][3]; /* [act][0 precise, 1 fast, 2 exact] */

static void actc_free(Actc *a) {
    actrt_model_free(a->m);
    actc_jit_free(a->j);
    actc_session_free(a->s);
    memset(a, 0, sizeof *a);
}

static int actc_make(Actc *a, int act, int tier, char *why, size_t whylen) {
    char src[512];
    int st;
    memset(a, 0, sizeof *a);
    snprintf(src, sizeof src,
             "# bench/activations: %s\n"
             "model a(x: f32[batch, %d]) -> f32[batch, %d] {\n"
             "    return %s(x)\n"
             "}\n",
             act_names[act], ROW_LEN, ROW_LEN, act_names[act]);
    double t0 = now();
    if ((st = actc_session_new(&a->s)) != ACTC_OK) {
        snprintf(why, whylen, "actc_session_new: %s", actc_status_string(st));
        return -1;
    }
    if ((st = actc_check_source(a->s, "bench.act", src, strlen(src))) != ACTC_OK) {
        const char *d = actc_diag_render(a->s, ACTC_DIAG_TEXT);
        snprintf(why, whylen, "actc_check_source: %s\n%s%s", actc_last_error(a->s), d ? d : "", src);
        return -1;
    }
    actc_options o = {0};
    o.fast_math = tier == 1;
    o.exact_math = tier == 2;
    if ((st = actc_jit_compile(a->s, NULL, &o, &a->j)) != ACTC_OK) {
        snprintf(why, whylen, "actc_jit_compile: %s (%s)", actc_last_error(a->s), actc_status_string(st));
        return -1;
    }
    a->compile_ms = (now() - t0) * 1e3;
    const actrt_desc *desc = actc_jit_desc(a->j);
    a->nkernels = desc->nkernels;
    a->kind = desc->kernel_info && desc->nkernels > 0 ? desc->kernel_info[0].kind : -1;
    if (actrt_model_create(&a->m, desc) != ACTC_OK) {
        snprintf(why, whylen, "actrt_model_create: %s", actrt_last_error(NULL));
        return -1;
    }
    if ((st = actrt_model_set_threads(a->m, 1)) != ACTC_OK) {
        snprintf(why, whylen, "actrt_model_set_threads: %s", actrt_last_error(a->m));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ oneDNN */

static dnnl_engine_t eng;
static dnnl_stream_t strm;

typedef struct Dnnl {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst;
    dnnl_exec_arg_t args[2];
    char impl[64];
} Dnnl;

static void dnnl_elt_free(Dnnl *d) {
    if (d->prim)
        dnnl_primitive_destroy(d->prim);
    if (d->pd)
        dnnl_primitive_desc_destroy(d->pd);
    if (d->src)
        dnnl_memory_destroy(d->src);
    if (d->dst)
        dnnl_memory_destroy(d->dst);
    memset(d, 0, sizeof *d);
}

/* The oneDNN 2.6 algorithm of each activation (dnnl_types.h) and its alpha. */
static dnnl_alg_kind_t dnnl_alg(int act, float *alpha) {
    *alpha = 0.0f;
    switch (act) {
    case A_RELU:
        return dnnl_eltwise_relu; /* alpha: the negative slope, 0 */
    case A_GELU_TANH:
        return dnnl_eltwise_gelu_tanh;
    case A_GELU:
        return dnnl_eltwise_gelu_erf; /* (dnnl_eltwise_gelu is the tanh form) */
    case A_SILU:
        *alpha = 1.0f;
        return dnnl_eltwise_swish; /* x sigmoid(alpha x) */
    case A_MISH:
        return dnnl_eltwise_mish;
    case A_TANH:
        return dnnl_eltwise_tanh;
    case A_SIGMOID:
        return dnnl_eltwise_logistic;
    case A_ELU:
        *alpha = 1.0f;
        return dnnl_eltwise_elu;
    default: /* A_SOFTPLUS: log(1 + e^x); 2.6 ignores alpha and has no threshold */
        return dnnl_eltwise_soft_relu;
    }
}

#define DN(call)                                                                                                      \
    do {                                                                                                              \
        dnnl_status_t s_ = (call);                                                                                    \
        if (s_ != dnnl_success) {                                                                                     \
            snprintf(why, whylen, "%s: %s", #call, dnnl_status2str(s_));                                              \
            goto fail;                                                                                                \
        }                                                                                                             \
    } while (0)

static int dnnl_elt_make(Dnnl *d, int act, size_t n, const float *x, float *y, char *why, size_t whylen) {
    memset(d, 0, sizeof *d);
    float alpha;
    dnnl_alg_kind_t alg = dnnl_alg(act, &alpha);
    dnnl_dims_t dims = {(dnnl_dim_t)n};
    dnnl_memory_desc_t md;
    dnnl_eltwise_desc_t ed;
    DN(dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_f32, dnnl_a));
    DN(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, alg, &md, alpha, 0.0f));
    DN(dnnl_primitive_desc_create(&d->pd, &ed, NULL, eng, NULL));
    DN(dnnl_primitive_create(&d->prim, d->pd));
    DN(dnnl_memory_create(&d->src, &md, eng, (void *)x));
    DN(dnnl_memory_create(&d->dst, &md, eng, y));
    d->args[0].arg = DNNL_ARG_SRC;
    d->args[0].memory = d->src;
    d->args[1].arg = DNNL_ARG_DST;
    d->args[1].memory = d->dst;
    {
        const char *impl = NULL;
        if (dnnl_primitive_desc_query(d->pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
            snprintf(d->impl, sizeof d->impl, "%s", impl);
    }
    return 0;
fail:
    dnnl_elt_free(d);
    return -1;
}

/* ------------------------------------------------------------------ one row */

typedef struct Row {
    size_t n;
    int act;
    int ran[NIMPLS];      /* measured */
    double gelem[NIMPLS]; /* Gelem/s of the median */
    double med[NIMPLS], lo[NIMPLS], hi[NIMPLS], calls[NIMPLS];
    Err err[NIMPLS];
    int aborted;          /* an implementation was grossly wrong: not timed */
    int wrong[NIMPLS];    /* which */
    char why[NIMPLS][320]; /* and how */
    int fast_same;        /* actc-fast's output bitwise equal to actc-precise's */
    char dnnl_impl[64];
} Row;

typedef struct Ctx {
    size_t n;
    int act;
    const float *x;
    float *y[NIMPLS];
    Dnnl dn;
} Ctx;

static int sleef_ok = 1, fastmath_ok = 1;

/* One call of implementation i; nonzero if it failed (the first call is checked). */
static int run_impl(Ctx *c, int i) {
    switch (i) {
    case I_PRECISE:
    case I_FAST:
    case I_EXACT: {
        actrt_model *m = actc[c->act][i].m;
        return actrt_model_run(m, (int64_t)(c->n / ROW_LEN), (const float *const[]){c->x},
                               (float *const[]){c->y[i]});
    }
    case I_LIBM:
        libm_loops[c->act](c->x, c->y[i], c->n);
        return 0;
    case I_SLEEF:
        sleef_loops[c->act](c->x, c->y[i], c->n);
        return 0;
    case I_FASTMATH:
        fastmath_loops[c->act](c->x, c->y[i], c->n);
        return 0;
    default: /* I_ONEDNN */
        if (dnnl_primitive_execute(c->dn.prim, strm, 2, c->dn.args) != dnnl_success)
            return 1;
        return dnnl_stream_wait(strm) != dnnl_success;
    }
}

static FILE *csv;
static int failures;

static void csv_rows(const Row *r) {
    if (!csv)
        return;
    for (int i = 0; i < NIMPLS; i++) {
        if (!opt.impl_on[i])
            continue;
        const char *status = r->ran[i] ? "ok" : r->aborted ? "aborted" : "not run";
        fprintf(csv, "%zu,%s,%s,%s,%.6f,%.9g,%.9g,%.9g,%.1f,%d,%.3e,%.9g,%.4f,%d\n", r->n, act_names[r->act],
                impl_names[i], status, r->gelem[i], r->med[i], r->lo[i], r->hi[i], r->calls[i], opt.reps,
                r->err[i].max, (double)r->err[i].x,
                r->ran[i] && r->ran[I_ONEDNN] ? r->gelem[i] / r->gelem[I_ONEDNN] : 0.0,
                i == I_FAST ? r->fast_same : 0);
    }
    fflush(csv);
}

static void print_header(size_t n) {
    char sz[32];
    fmt_size(sz, sizeof sz, n);
    char bytes[32];
    fmt_size(bytes, sizeof bytes, n * sizeof(float));
    printf("\n## %s floats (%zu): %sB in + %sB out, %s\n\n", sz, n, bytes, bytes,
           n * 8 <= ((size_t)24 << 20) ? "in cache (L2 + L3)" : "DRAM");
    printf("Gelem/s (median of %d) and, in brackets, the max error against float64 "
           "(relative where |ref| > 1e-5, else absolute); ratios > 1: actc faster.\n\n",
           opt.reps);
    printf("| act |");
    for (int i = 0; i < NIMPLS; i++)
        if (opt.impl_on[i])
            printf(" %s |", impl_names[i]);
    printf(" precise/sleef | precise/onednn | fast/onednn | precise/exact |\n|---|");
    for (int i = 0; i < NIMPLS; i++)
        if (opt.impl_on[i])
            printf("--:|");
    printf("--:|--:|--:|--:|\n");
    fflush(stdout);
}

static void fmt_ratio(char *buf, size_t len, const Row *r, int a, int b) {
    if (r->ran[a] && r->ran[b])
        snprintf(buf, len, "%.2f", r->gelem[a] / r->gelem[b]);
    else
        snprintf(buf, len, "-");
}

static void print_row(const Row *r) {
    printf("| %s |", act_names[r->act]);
    for (int i = 0; i < NIMPLS; i++) {
        if (!opt.impl_on[i])
            continue;
        if (r->ran[i])
            printf(" %.3f (%.1e)%s |", r->gelem[i], r->err[i].max, i == I_FAST && r->fast_same ? " =" : "");
        else if (r->wrong[i])
            printf(" WRONG (%.1e) |", r->err[i].max);
        else
            printf(" - |");
    }
    char q[4][16];
    fmt_ratio(q[0], sizeof q[0], r, I_PRECISE, I_SLEEF);
    fmt_ratio(q[1], sizeof q[1], r, I_PRECISE, I_ONEDNN);
    fmt_ratio(q[2], sizeof q[2], r, I_FAST, I_ONEDNN);
    fmt_ratio(q[3], sizeof q[3], r, I_PRECISE, I_EXACT);
    printf(" %s | %s | %s | %s |\n", q[0], q[1], q[2], q[3]);
    fflush(stdout);
}

static void run_row(Row *r, size_t n, int act, const float *x, float *const *y, const size_t *idx, size_t ns,
                    double *ref) {
    Ctx c;
    memset(&c, 0, sizeof c);
    memset(r, 0, sizeof *r);
    c.n = r->n = n;
    c.act = r->act = act;
    c.x = x;
    for (int i = 0; i < NIMPLS; i++)
        c.y[i] = y[i];
    char sz[32];
    fmt_size(sz, sizeof sz, n);
    fprintf(stderr, "%s: %s %s ...\n", self, sz, act_names[act]);

    /* set-up (untimed) and the first call of each: warm-up, output to check */
    int order[NIMPLS], np = 0;
    double t1[NIMPLS] = {0};
    for (int i = 0; i < NIMPLS; i++) {
        if (!opt.impl_on[i])
            continue;
        char why[512] = "";
        if (i <= I_EXACT && !actc[act][i].m)
            continue; /* compile failure, reported at start */
        if ((i == I_SLEEF && !sleef_ok) || (i == I_FASTMATH && !fastmath_ok))
            continue;
        if (i == I_ONEDNN) {
            if (!eng || dnnl_elt_make(&c.dn, act, n, x, y[i], why, sizeof why)) {
                fprintf(stderr, "%s: onednn skipped for %s %s: %s\n", self, sz, act_names[act],
                        eng ? why : "no engine");
                continue;
            }
            snprintf(r->dnnl_impl, sizeof r->dnnl_impl, "%s", c.dn.impl);
        }
        memset(y[i], 0xff, n * sizeof(float)); /* NaN: a skipped store shows */
        double t0 = now();
        int st = run_impl(&c, i);
        t1[i] = now() - t0;
        if (st) {
            fprintf(stderr, "%s: %s failed for %s %s%s%s\n", self, impl_names[i], sz, act_names[act],
                    i <= I_EXACT ? ": " : "", i <= I_EXACT ? actrt_last_error(actc[act][i].m) : "");
            failures++;
            continue;
        }
        order[np++] = i;
    }

    /* correctness against float64 on the sample */
    for (size_t k = 0; k < ns; k++)
        ref[k] = ref64(act, (double)x[idx[k]]);
    for (int k = 0; k < np; k++) {
        int i = order[k];
        r->err[i] = sample_error(y[i], x, idx, ref, ns);
        if (!(r->err[i].gross <= opt.gross)) {
            snprintf(r->why[i], sizeof r->why[i],
                     "ABORTED ROW %s %s: %s is grossly wrong: |y - ref| / max(|ref|, 1e-3) = %.3e > %.1e at "
                     "x = %.9g (got %.9g, float64 reference %.17g); a bug in that implementation or in this "
                     "harness",
                     sz, act_names[act], impl_names[i], r->err[i].gross, opt.gross, (double)r->err[i].gx,
                     (double)r->err[i].gy, r->err[i].gref);
            fprintf(stderr, "%s: %s\n", self, r->why[i]);
            r->wrong[i] = 1;
            r->aborted = 1;
        }
    }
    if (opt.impl_on[I_PRECISE] && opt.impl_on[I_FAST] && actc[act][0].m && actc[act][1].m)
        r->fast_same = memcmp(y[I_PRECISE], y[I_FAST], n * sizeof(float)) == 0;
    if (r->aborted || np == 0) {
        failures += r->aborted;
        dnnl_elt_free(&c.dn);
        return;
    }
    if (opt.verbose)
        for (int k = 0; k < np; k++) {
            int i = order[k];
            printf("    %-12s worst at x = %.9g: %.9g, float64 %.9g (error %.2e)\n", impl_names[i],
                   (double)r->err[i].x, (double)r->err[i].y, r->err[i].ref, r->err[i].max);
        }

    /* calibration: calls per repetition so that one lasts >= min_ms */
    long calls[NIMPLS] = {0}, done_total[NIMPLS] = {0};
    double min_s = opt.min_ms * 1e-3;
    for (int k = 0; k < np; k++) {
        int i = order[k];
        double est = t1[i];
        if (est < min_s) {
            for (long m = 1;; m *= 2) {
                double t0 = now();
                for (long j = 0; j < m; j++)
                    run_impl(&c, i);
                double t = now() - t0;
                if (t >= min_s / 4 || m >= 1L << 24) {
                    est = t / (double)m;
                    break;
                }
            }
        }
        calls[i] = (long)ceil(min_s / est);
        if (calls[i] < 1)
            calls[i] = 1;
    }

    /* timed rounds: round-robin, the first implementation rotating */
    double *times[NIMPLS] = {0};
    for (int k = 0; k < np; k++)
        times[order[k]] = calloc((size_t)opt.reps, sizeof(double));
    for (int rep = 0; rep < opt.reps; rep++)
        for (int k = 0; k < np; k++) {
            int i = order[(k + rep) % np];
            double t0 = now();
            for (long j = 0; j < calls[i]; j++)
                run_impl(&c, i);
            double t = now() - t0;
            long done = calls[i];
            while (t < min_s) { /* the calibration guessed low */
                run_impl(&c, i);
                done++;
                t = now() - t0;
            }
            times[i][rep] = t / (double)done;
            done_total[i] += done;
        }
    for (int k = 0; k < np; k++) {
        int i = order[k];
        r->med[i] = median(times[i], opt.reps);
        r->lo[i] = times[i][0];
        r->hi[i] = times[i][opt.reps - 1];
        r->calls[i] = (double)done_total[i] / opt.reps;
        r->gelem[i] = (double)n / r->med[i] * 1e-9;
        r->ran[i] = 1;
        free(times[i]);
        if (opt.verbose)
            printf("    %-12s %.1f calls/rep, median %.4f ms, min %.4f, max %.4f\n", impl_names[i], r->calls[i],
                   r->med[i] * 1e3, r->lo[i] * 1e3, r->hi[i] * 1e3);
    }
    dnnl_elt_free(&c.dn);
}

/* ------------------------------------------------------------------ main */

static void print_machine(int argc, char **argv) {
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *colon = strchr(line, ':');
                if (colon) {
                    snprintf(model, sizeof model, "%s", colon + 2);
                    model[strcspn(model, "\n")] = 0;
                }
                break;
            }
        fclose(f);
    }
    struct utsname u;
    uname(&u);
    time_t t = time(NULL);
    char date[64], la[128];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
    loadavg(la, sizeof la);
    printf("# Activation throughput, one core: actc vs libm, SLEEF, gcc/libmvec, oneDNN (bench/activations)\n\n");
    printf("- machine: %s (%s), %ld online CPUs, kernel %s\n", model, u.machine, sysconf(_SC_NPROCESSORS_ONLN),
           u.release);
    printf("- date: %s\n", date);
    printf("- load at the start: %s (/proc/loadavg; a shared machine: numbers are medians)\n", la);
    printf("- command:");
    for (int i = 0; i < argc; i++)
        printf(strchr(argv[i], ' ') ? " '%s'" : " %s", argv[i]);
    printf("\n");
    for (int i = 0; i < opt.nnotes; i++)
        printf("- %s\n", opt.notes[i]);
    const dnnl_version_t *v = dnnl_version();
    printf("- versions: actc %s; oneDNN %d.%d.%d (%s, CPU runtime %s, ISA %s); SLEEF %s; glibc %s; "
           "compiled by gcc %s\n",
           actc_version(), v->major, v->minor, v->patch, v->hash,
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()),
           sleef_version(), gnu_get_libc_version(), __VERSION__);
    printf("- input: x uniform in [-8, 8) (splitmix64, seed %llu), one buffer for all implementations, "
           "each writing its own output buffer; every page written before timing\n",
           opt.seed);
    printf("- method: per (size, activation) every implementation runs once (warm-up, checked), is calibrated "
           "to repetitions >= %.0f ms, then %d repetitions with the implementations round-robin (the first "
           "rotating); Gelem/s = n / median time per call\n",
           opt.min_ms, opt.reps);
    printf("- error: against the PyTorch definition in float64 on up to %zu elements per size (all of them, "
           "or a strided sample): max of |y - ref| / |ref| where |ref| > 1e-5, else |y - ref|; sanity check: "
           "a row is aborted when an implementation has |y - ref| / max(|ref|, 1e-3) > %.0e\n",
           opt.sample, opt.gross);
    fflush(stdout);
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    if (opt.reps < 7)
        fprintf(stderr, "%s: note: --reps %d < 7, medians are less robust\n", self, opt.reps);
    omp_set_num_threads(1); /* oneDNN (OpenMP runtime) and actc: one thread */
    print_machine(argc, argv);

    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        fprintf(stderr, "%s: this CPU has no AVX-512F: sleef-u10 and gcc-fastmath are skipped\n", self);
        sleef_ok = fastmath_ok = 0;
    }

    /* actc: one model per activation and tier, compiled once */
    printf("\nactc models (`return act(x)` over x: f32[batch, %d]), compile time (check + JIT):\n\n", ROW_LEN);
    for (int a = 0; a < NACTS; a++) {
        if (!opt.act_on[a])
            continue;
        double ms[3] = {0, 0, 0};
        int nk = 0, kind = -1;
        for (int t = 0; t < 3; t++) {
            if (!opt.impl_on[t]) /* I_PRECISE, I_FAST, I_EXACT are the tiers' indices */
                continue;
            char why[2048] = "";
            if (actc_make(&actc[a][t], a, t, why, sizeof why)) {
                fprintf(stderr, "%s: actc %s (%s) failed: %s\n", self, act_names[a], tier_names[t], why);
                actc_free(&actc[a][t]);
                failures++;
                continue;
            }
            ms[t] = actc[a][t].compile_ms;
            nk = actc[a][t].nkernels;
            kind = actc[a][t].kind;
        }
        printf("- %s: precise %.0f ms, fast %.0f ms, exact %.0f ms; %d kernel%s%s\n", act_names[a], ms[0], ms[1], ms[2],
               nk, nk == 1 ? "" : "s", kind == ACTRT_KERNEL_ELEMENTWISE ? " (elementwise)" : "");
    }
    fflush(stdout);
    int threads0 = proc_threads(); /* LLVM may have started threads of its own by now */

    if (opt.impl_on[I_ONEDNN]) {
        if (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success ||
            dnnl_stream_create(&strm, eng, dnnl_stream_default_flags) != dnnl_success) {
            fprintf(stderr, "%s: cannot create a oneDNN CPU engine; onednn skipped\n", self);
            eng = NULL;
        }
    }
    if (opt.csv) {
        csv = fopen(opt.csv, "w");
        if (!csv) {
            fprintf(stderr, "%s: cannot write %s: %s\n", self, opt.csv, strerror(errno));
            return 1;
        }
        fprintf(csv, "n,act,impl,status,gelem_per_s,median_s,min_s,max_s,calls_per_rep,reps,max_err,worst_x,"
                     "over_onednn,bitwise_as_precise\n");
    }

    size_t nmax = 0;
    for (int s = 0; s < opt.nsizes; s++)
        nmax = opt.sizes[s] > nmax ? opt.sizes[s] : nmax;
    float *x = falloc(nmax);
    rng_state = opt.seed * 0x100000001b3ull;
    fill_uniform(x, nmax, 8.0f);
    float *y[NIMPLS] = {0};
    for (int i = 0; i < NIMPLS; i++)
        if (opt.impl_on[i])
            y[i] = falloc(nmax);
    size_t nsmax = opt.sample < nmax ? opt.sample : nmax;
    size_t *idx = malloc(nsmax * sizeof *idx);
    double *ref = malloc(nsmax * sizeof *ref);
    if (!idx || !ref) {
        fprintf(stderr, "%s: out of memory\n", self);
        return 1;
    }

    for (int s = 0; s < opt.nsizes; s++) {
        size_t n = opt.sizes[s], ns = opt.sample < n ? opt.sample : n;
        /* the sample: every element, or one per stride at a varying offset (the last element included) */
        size_t stride = n / ns;
        for (size_t k = 0; k < ns; k++)
            idx[k] = stride == 1 ? k : k * stride + (k * 7919u) % stride;
        idx[ns - 1] = n - 1;
        print_header(n);
        Row rows[NACTS];
        int nrows = 0;
        for (int a = 0; a < NACTS; a++) {
            if (!opt.act_on[a])
                continue;
            Row *r = &rows[nrows++];
            run_row(r, n, a, x, y, idx, ns, ref);
            print_row(r);
            csv_rows(r);
        }
        /* notes under the table */
        printf("\n");
        for (int k = 0; k < nrows; k++)
            for (int i = 0; i < NIMPLS; i++)
                if (rows[k].wrong[i])
                    printf("**%s**.\n", rows[k].why[i]);
        int any_same = 0;
        for (int k = 0; k < nrows; k++)
            any_same |= rows[k].fast_same;
        if (any_same) {
            printf("`=`: actc-fast's output is bitwise identical to actc-precise's (no fast tier for:");
            for (int k = 0; k < nrows; k++)
                if (rows[k].fast_same)
                    printf(" %s", act_names[rows[k].act]);
            printf(").\n");
        }
        if (opt.impl_on[I_ONEDNN]) {
            printf("oneDNN implementations:");
            for (int k = 0; k < nrows; k++)
                printf("%s %s %s", k ? "," : "", act_names[rows[k].act],
                       rows[k].dnnl_impl[0] ? rows[k].dnnl_impl : "-");
            printf(".\n");
        }
        int th = proc_threads();
        printf("Threads in this process after this size: %d (%d after compiling the actc models); "
               "omp_get_max_threads() = %d.%s\n",
               th, threads0, omp_get_max_threads(),
               th > threads0 ? " WARNING: threads were created while timing" : "");
        fflush(stdout);
    }

    char la[128];
    loadavg(la, sizeof la);
    printf("\nload at the end: %s\n", la);
    for (int a = 0; a < NACTS; a++)
        for (int f = 0; f < 3; f++)
            actc_free(&actc[a][f]);
    if (strm)
        dnnl_stream_destroy(strm);
    if (eng)
        dnnl_engine_destroy(eng);
    if (csv)
        fclose(csv);
    free(x);
    for (int i = 0; i < NIMPLS; i++)
        free(y[i]);
    free(idx);
    free(ref);
    if (failures) {
        fprintf(stderr, "%s: %d failure(s): see the messages above\n", self, failures);
        return 3;
    }
    return 0;
}
