/*
 * bench_gemm.c — actc's fused dense + activation and gated (dual-GEMM)
 * kernels against OpenBLAS and oneDNN, in one process (issue 6).
 *
 * A benchmark, not a test: it prints GFLOP/s, actc/peer ratios and the
 * fraction of the FMA peak measured in the same run.  It uses only actc's
 * public API (actc.h, runtime.h): a model's .act text is generated per case,
 * JIT-compiled once (compile time reported, not timed), given random weights
 * with actrt_model_load_tensors and timed through actrt_model_run.
 *
 * Cases: batch M x (K, N) x epilogue, where the epilogue is
 *   relu, gelu_tanh, gelu (erf), silu:  y = act(x W^T + b),   W [N, K], b [N]
 *   swiglu, geglu:                      y = act(x W^T) * (x V^T), W, V [N, K]
 * FLOPs counted: 2*M*N*K per projection (the epilogue is not counted).
 *
 * Peers
 *   actc         the JIT-compiled model, with actrt_model_set_threads(--threads)
 *   openblas     cblas_sgemm(RowMajor, NoTrans, Trans) on W as given, then a
 *                separate bias + activation pass (peer_passes.c, libmvec);
 *                gates: one sgemm on [W; V] (2N x K) and a combine pass
 *   dnnl         oneDNN matmul, weights plain row-major ([N, K] = tag ba of
 *                the {K, N} matrix), bias, eltwise post-op; gates: two
 *                matmuls, the first with the activation post-op, the second
 *                with a binary_mul post-op on the first's result
 *   dnnl-packed  the same with weights reordered (untimed) to the layout
 *                oneDNN picks for format_tag::any at this M
 *
 * Method: per case, every peer runs once and its output is compared with
 * the reference's (actc's, or the first peer selected): max |y - ref| /
 * max |ref|, which must stay below --tol (1e-3).  Then each peer is
 * calibrated to a repetition of >= --min-ms (50 ms; >= 3 calls whenever a
 * call is shorter than a third of that; a call longer than --min-ms is one
 * repetition alone) and --reps (5) repetitions are timed, the peers
 * alternating within each round (the starting peer rotates).  Reported:
 * the median time per call.
 *
 * --scaling T: thread scaling instead of the peer comparison.  Every
 * selected peer runs each case at 1 and at T threads, in one process, the
 * (peer, threads) variants alternating as above; reported: both GF/s and the
 * speedup.  Default grid: M in {256, 1024}, the three 2^22-multiply-add
 * shapes.  Run one peer per process (run.sh --scaling T does): OpenBLAS's
 * pthreads and the OpenMP pool of actc and oneDNN must not share a process.
 *
 * Usage: bench_gemm [--quick] [--fast-math] [--m 1,8,...] [--shapes KxN,...] [--acts LIST]
 *                   [--peers LIST] [--threads T | --scaling T] [--reps R]
 *                   [--min-ms X] [--tol E] [--csv FILE] [--seed S] [--verbose]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "actc/actc.h"
#include "actc/runtime.h"

#include "bench_gemm.h"

/* ------------------------------------------------------------------ options */

enum { P_ACTC, P_OPENBLAS, P_DNNL, P_DNNL_PACKED, NPEERS };
static const char *const peer_names[NPEERS] = {"actc", "openblas", "dnnl", "dnnl-packed"};
static const char *const act_names[NACTS] = {"relu", "gelu_tanh", "gelu", "silu", "swiglu", "geglu"};

#define MAXLIST 16

static struct {
    int threads, reps, verbose, quick, fast_math;
    int weights; /* --weights: 0 f32, 1 bf16, 2 f16 (actc's stored weights; oneDNN's src and weights) */
    const char *cpu; /* --cpu: actc's code for this CPU (a variant of an object: docs/aot.md) */
    const char *kernel_params, *profile; /* --kernel-params, --profile: actc's loop nests (docs/tuning.md) */
    int scaling; /* > 1: measure every peer at 1 and at `scaling` threads */
    double min_ms, tol;
    int ms[MAXLIST], nm;
    int shapes[MAXLIST][2], nshapes; /* (K, N) */
    int acts[NACTS], nacts;
    int peer_on[NPEERS];
    const char *csv;
    unsigned long long seed;
} opt;

static const int full_ms[] = {1, 8, 64, 256, 1024};
static const int full_shapes[][2] = {{512, 2048}, {1024, 4096}, {4096, 1024}, {2048, 2048}};
/* --quick: about a minute with today's actc; see bench/README.md */
static const int quick_ms[] = {1, 8, 64};
static const int quick_shapes[][2] = {{1024, 4096}, {4096, 1024}};
static const int quick_acts[] = {ACT_GELU_TANH, ACT_SILU, GATE_SWIGLU};
/* --scaling: batch >= 256 on the large shapes (K*N = 2^22) */
static const int scaling_ms[] = {256, 1024};
static const int scaling_shapes[][2] = {{1024, 4096}, {4096, 1024}, {2048, 2048}};
static const int scaling_quick_shapes[][2] = {{1024, 4096}, {4096, 1024}};

/* The thread count the peer being run uses now (--threads, or 1 / T under
 * --scaling). */
static int cur_threads = 1;
static long fma_iters; /* --scaling's control: iterations of peak.c's loop for ~4 ms */

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_gemm [options]\n"
            "  --quick            M in {1,8,64}, (K,N) in {(1024,4096),(4096,1024)}, gelu_tanh silu swiglu\n"
            "  --m LIST           batch sizes (default 1,8,64,256,1024)\n"
            "  --shapes LIST      KxN pairs (default 512x2048,1024x4096,4096x1024,2048x2048)\n"
            "  --acts LIST        relu,gelu_tanh,gelu,silu,swiglu,geglu (default all)\n"
            "  --fast-math        compile actc's models in the fast tier (docs/accuracy.md section 6)\n"
            "  --peers LIST       actc,openblas,dnnl,dnnl-packed (default all)\n"
            "  --threads T        threads for every peer (default 1)\n"
            "  --scaling T        thread scaling: every peer at 1 and at T threads, speedups; default grid\n"
            "                     M 256,1024, shapes 1024x4096,4096x1024,2048x2048 (--quick: the first two)\n"
            "                     and the --quick activations; run one peer per process\n"
            "  --reps R           timed repetitions per peer and case, median reported (default 5, >= 5)\n"
            "  --min-ms X         minimum length of one repetition (default 50)\n"
            "  --tol E            max relative error against the reference (default 1e-3)\n"
            "  --csv FILE         also write every measurement as CSV\n"
            "  --seed S           random seed of inputs and weights (default 1)\n"
            "  --kernel-params S  actc: the matmul kernels' parameters (docs/tuning.md), e.g.\n"
            "                     dense=8x3,kc=128;gated=6x2,kc=96\n"
            "  --profile FILE     actc: a tuning profile from actc tune\n"
            "  --weights T        f32 (default), bf16, f16 or int8: actc's stored weights (--weights) and oneDNN's\n"
            "                     matmul in that type (its input converted once, untimed; int8: s8 x s8 with a\n"
            "                     scale per column); weights rounded for every peer; --tol at least 3e-2 (0.2)\n"
            "  --cpu NAME         actc: generate code for this CPU (e.g. x86-64-v3, the AVX2 variant of\n"
            "                     an object; with ONEDNN_MAX_CPU_ISA=AVX2 for a like-for-like peer)\n"
            "  --verbose          oneDNN implementation and weight layout, calls per repetition\n");
}

static int parse_ints(const char *s, int *out, int max) {
    int n = 0;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v <= 0 || v > 1 << 20 || n == max)
            return -1;
        out[n++] = (int)v;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return n;
}

static int parse_shapes(const char *s) {
    int n = 0;
    while (*s) {
        char *end;
        long k = strtol(s, &end, 10);
        if (end == s || (*end != 'x' && *end != 'X') || k <= 0 || k > 1 << 16 || n == MAXLIST)
            return -1;
        s = end + 1;
        long nn = strtol(s, &end, 10);
        if (end == s || nn <= 0 || nn > 1 << 16)
            return -1;
        opt.shapes[n][0] = (int)k;
        opt.shapes[n][1] = (int)nn;
        n++;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return n;
}

/* Comma-separated names from `names` (count n); sets flags[i] = 1, returns
 * how many or -1 on an unknown name. */
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
            fprintf(stderr, "bench_gemm: unknown name '%s' (one of:", tok);
            for (int j = 0; j < n; j++)
                fprintf(stderr, " %s", names[j]);
            fprintf(stderr, ")\n");
            return -1;
        }
        if (!flags[i])
            count++;
        flags[i] = 1;
    }
    return count;
}

static void parse_args(int argc, char **argv) {
    int m_set = 0, shapes_set = 0, acts_set = 0, peers_set = 0;
    int act_flags[NACTS] = {0};
    opt.threads = 1;
    opt.reps = 5;
    opt.min_ms = 50.0;
    opt.tol = 1e-3;
    opt.seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                                  \
    do {                                                                                                              \
        if (!v) {                                                                                                     \
            fprintf(stderr, "bench_gemm: %s needs a value\n", a);                                                     \
            exit(1);                                                                                                  \
        }                                                                                                             \
        i++;                                                                                                          \
    } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--quick")) {
            opt.quick = 1;
        } else if (!strcmp(a, "--fast-math")) {
            opt.fast_math = 1;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            opt.verbose = 1;
        } else if (!strcmp(a, "--m")) {
            NEED_VALUE();
            if ((opt.nm = parse_ints(v, opt.ms, MAXLIST)) <= 0) {
                fprintf(stderr, "bench_gemm: bad --m '%s'\n", v);
                exit(1);
            }
            m_set = 1;
        } else if (!strcmp(a, "--shapes")) {
            NEED_VALUE();
            if ((opt.nshapes = parse_shapes(v)) <= 0) {
                fprintf(stderr, "bench_gemm: bad --shapes '%s' (want KxN,KxN,...)\n", v);
                exit(1);
            }
            shapes_set = 1;
        } else if (!strcmp(a, "--acts")) {
            NEED_VALUE();
            if (parse_names(v, act_names, NACTS, act_flags) <= 0)
                exit(1);
            acts_set = 1;
        } else if (!strcmp(a, "--peers")) {
            NEED_VALUE();
            if (parse_names(v, peer_names, NPEERS, opt.peer_on) <= 0)
                exit(1);
            peers_set = 1;
        } else if (!strcmp(a, "--threads")) {
            NEED_VALUE();
            opt.threads = atoi(v);
            if (opt.threads < 1 || opt.threads > 1024) {
                fprintf(stderr, "bench_gemm: bad --threads '%s'\n", v);
                exit(1);
            }
        } else if (!strcmp(a, "--scaling")) {
            NEED_VALUE();
            opt.scaling = atoi(v);
            if (opt.scaling < 2 || opt.scaling > 1024) {
                fprintf(stderr, "bench_gemm: bad --scaling '%s' (a thread count >= 2)\n", v);
                exit(1);
            }
        } else if (!strcmp(a, "--reps")) {
            NEED_VALUE();
            opt.reps = atoi(v);
            if (opt.reps < 1 || opt.reps > 1000) {
                fprintf(stderr, "bench_gemm: bad --reps '%s'\n", v);
                exit(1);
            }
        } else if (!strcmp(a, "--min-ms")) {
            NEED_VALUE();
            opt.min_ms = atof(v);
            if (!(opt.min_ms > 0)) {
                fprintf(stderr, "bench_gemm: bad --min-ms '%s'\n", v);
                exit(1);
            }
        } else if (!strcmp(a, "--tol")) {
            NEED_VALUE();
            opt.tol = atof(v);
        } else if (!strcmp(a, "--csv")) {
            NEED_VALUE();
            opt.csv = v;
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE();
            opt.seed = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--cpu")) {
            NEED_VALUE();
            opt.cpu = v;
        } else if (!strcmp(a, "--kernel-params")) {
            NEED_VALUE();
            opt.kernel_params = v;
        } else if (!strcmp(a, "--weights")) {
            NEED_VALUE();
            opt.weights = !strcmp(v, "f32") ? 0 : !strcmp(v, "bf16") ? 1 : !strcmp(v, "f16") ? 2 : !strcmp(v, "int8") ? 3 : -1;
            if (opt.weights < 0) {
                fprintf(stderr, "bench_gemm: --weights '%s': expected f32, bf16, f16 or int8\n", v);
                exit(2);
            }
            if (opt.weights && opt.tol < (opt.weights == 3 ? 0.2 : 3e-2))
                opt.tol = opt.weights == 3 ? 0.2 : 3e-2; /* oneDNN rounds its input to the type too */
        } else if (!strcmp(a, "--profile")) {
            NEED_VALUE();
            opt.profile = v;
        } else {
            fprintf(stderr, "bench_gemm: unknown option '%s'\n", a);
            usage(stderr);
            exit(1);
        }
#undef NEED_VALUE
    }
    if (opt.scaling && opt.threads != 1) {
        fprintf(stderr, "bench_gemm: --scaling and --threads exclude each other\n");
        exit(1);
    }
    if (opt.scaling && !m_set) {
        opt.nm = (int)(sizeof scaling_ms / sizeof *scaling_ms);
        memcpy(opt.ms, scaling_ms, sizeof scaling_ms);
        m_set = 1;
    }
    if (opt.scaling && !shapes_set) {
        if (opt.quick) {
            opt.nshapes = (int)(sizeof scaling_quick_shapes / sizeof *scaling_quick_shapes);
            memcpy(opt.shapes, scaling_quick_shapes, sizeof scaling_quick_shapes);
        } else {
            opt.nshapes = (int)(sizeof scaling_shapes / sizeof *scaling_shapes);
            memcpy(opt.shapes, scaling_shapes, sizeof scaling_shapes);
        }
        shapes_set = 1;
    }
    if (opt.scaling && !acts_set) {
        for (size_t i = 0; i < sizeof quick_acts / sizeof *quick_acts; i++)
            act_flags[quick_acts[i]] = 1;
        acts_set = 1;
    }
    if (!m_set) {
        const int *src = opt.quick ? quick_ms : full_ms;
        opt.nm = opt.quick ? (int)(sizeof quick_ms / sizeof *quick_ms) : (int)(sizeof full_ms / sizeof *full_ms);
        memcpy(opt.ms, src, sizeof(int) * (size_t)opt.nm);
    }
    if (!shapes_set) {
        opt.nshapes = opt.quick ? (int)(sizeof quick_shapes / sizeof *quick_shapes)
                                : (int)(sizeof full_shapes / sizeof *full_shapes);
        memcpy(opt.shapes, opt.quick ? quick_shapes : full_shapes, sizeof(int[2]) * (size_t)opt.nshapes);
    }
    if (!acts_set) {
        if (opt.quick)
            for (size_t i = 0; i < sizeof quick_acts / sizeof *quick_acts; i++)
                act_flags[quick_acts[i]] = 1;
        else
            for (int i = 0; i < NACTS; i++)
                act_flags[i] = 1;
    }
    opt.nacts = 0;
    for (int i = 0; i < NACTS; i++)
        if (act_flags[i])
            opt.acts[opt.nacts++] = i;
    if (!peers_set)
        for (int i = 0; i < NPEERS; i++)
            opt.peer_on[i] = 1;
}

/* ------------------------------------------------------------------ utilities */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *xalloc(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        fprintf(stderr, "bench_gemm: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    memset(p, 0, rounded ? rounded : 64);
    return p;
}

static uint64_t rng_state;
static uint64_t splitmix(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* uniform in [-a, a) */
static void fill_uniform(float *p, size_t n, float a) {
    for (size_t i = 0; i < n; i++)
        p[i] = a * (float)((double)(splitmix() >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

/* Round to bf16 (type 1) or f16 (2), nearest even, in place. */
static void round_to(float *p, size_t n, int type) {
    for (size_t i = 0; i < n; i++) {
        if (type == 2) {
            p[i] = (float)(_Float16)p[i];
            continue;
        }
        uint32_t u;
        memcpy(&u, &p[i], 4);
        u = (u + 0x7fffu + ((u >> 16) & 1)) & 0xffff0000u;
        memcpy(&p[i], &u, 4);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* max |y - ref| / max |ref| */
static double max_rel_err(const float *y, const float *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)y[i] - (double)ref[i]);
        if (d > num || d != d)
            num = d != d ? INFINITY : d;
        if (fabs((double)ref[i]) > den)
            den = fabs((double)ref[i]);
    }
    return den > 0 ? num / den : num;
}

/* The float64 reference of rows `rows` (nrows of them): ref[i * N + j]. */
static double act64(int act, double v) {
    switch (act) {
    case ACT_RELU:
        return v > 0 ? v : 0;
    case ACT_GELU_TANH:
        return 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    case ACT_GELU:
    case GATE_GEGLU:
        return 0.5 * v * (1 + erf(v * 0.7071067811865476));
    default: /* silu, swiglu */
        return v / (1 + exp(-v));
    }
}

static void reference64(double *ref, const int *rows, int nrows, int K, int N, int act, const float *X,
                        const float *W, const float *V, const float *b) {
    for (int i = 0; i < nrows; i++) {
        const float *x = X + (size_t)rows[i] * (size_t)K;
        for (int j = 0; j < N; j++) {
            const float *w = W + (size_t)j * (size_t)K, *v = V + (size_t)j * (size_t)K;
            double a = 0, g = 0;
            for (int k = 0; k < K; k++)
                a += (double)x[k] * (double)w[k];
            if (act == GATE_SWIGLU || act == GATE_GEGLU) {
                for (int k = 0; k < K; k++)
                    g += (double)x[k] * (double)v[k];
                ref[(size_t)i * (size_t)N + (size_t)j] = act64(act, a) * g;
            } else {
                ref[(size_t)i * (size_t)N + (size_t)j] = act64(act, a + (double)b[j]);
            }
        }
    }
}

/* max |y - ref| / max |ref| over the sampled rows */
static double max_rel_err64(const float *y, const double *ref, const int *rows, int nrows, int N) {
    double num = 0, den = 0;
    for (int i = 0; i < nrows; i++)
        for (int j = 0; j < N; j++) {
            double r = ref[(size_t)i * (size_t)N + (size_t)j];
            double d = fabs((double)y[(size_t)rows[i] * (size_t)N + (size_t)j] - r);
            num = d != d ? INFINITY : d > num ? d : num;
            den = fabs(r) > den ? fabs(r) : den;
        }
    return den > 0 ? num / den : num;
}

/* ------------------------------------------------------------------ FMA peak */

/* The FMA peak: the best of 40 runs of ~4 ms.  The peak is what the core can
 * do; short runs keep a neighbour on this shared machine (a time slice is a
 * few ms) from pulling it down, so a loaded machine shows as a low %peak of
 * the kernels rather than as a low peak. */
static double measure_peak_gflops(int threads) {
    long iters = 1 << 12;
    double t = 0;
    float sink = 0;
    for (;;) { /* calibrate one run to ~4 ms on one thread */
        double t0 = now();
        sink += peak_fma_loop(iters, 1.0f);
        t = now() - t0;
        if (t > 0.002)
            break;
        iters *= 2;
    }
    iters = (long)((double)iters * 0.004 / t) + 1;
    if (!fma_iters)
        fma_iters = iters;
    double best = 0;
    for (int r = 0; r < 40; r++) {
        double t0 = now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += peak_fma_loop(iters, 1.0f + (float)omp_get_thread_num());
        t = now() - t0;
        double g = peak_flops_per_iter() * (double)iters * threads / t * 1e-9;
        best = g > best ? g : best;
    }
    if (sink == 12345.678f) /* keeps the loops alive */
        printf("#");
    return best;
}

/* ------------------------------------------------------------------ oneDNN */

static dnnl_engine_t eng;
static dnnl_stream_t strm;

typedef struct Dmm {
    dnnl_primitive_t prim;
    dnnl_primitive_desc_t pd;
    dnnl_memory_t mems[6];
    int nmems;
    dnnl_exec_arg_t args[6];
    int nargs;
    char impl[64], wfmt[64];
    void *own[3]; /* int8: the quantised input and weights, the output scales */
} Dmm;

/* A 2-D memory descriptor's layout in oneDNN's tag notation ("ba",
 * "BA16a64b": outer dimensions by decreasing stride, upper case when
 * blocked, then the inner blocks), since 2.6 has no public printer. */
static void md_format(char *buf, size_t n, const dnnl_memory_desc_t *md) {
    if (md->format_kind != dnnl_blocked || md->ndims != 2) {
        snprintf(buf, n, "format kind %d", (int)md->format_kind);
        return;
    }
    const dnnl_blocking_desc_t *bd = &md->format_desc.blocking;
    int blocked[2] = {0, 0}, outer0 = bd->strides[0] >= bd->strides[1] ? 0 : 1;
    for (int i = 0; i < bd->inner_nblks; i++)
        blocked[bd->inner_idxs[i] & 1] = 1;
    size_t len = 0;
    for (int j = 0; j < 2 && len + 1 < n; j++) {
        int d = j == 0 ? outer0 : 1 - outer0;
        buf[len++] = (char)((blocked[d] ? 'A' : 'a') + d);
    }
    buf[len] = 0;
    for (int i = 0; i < bd->inner_nblks && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%lld%c", (long long)bd->inner_blks[i],
                                (char)('a' + bd->inner_idxs[i]));
}

static void dmm_free(Dmm *d) {
    if (d->prim)
        dnnl_primitive_destroy(d->prim);
    if (d->pd)
        dnnl_primitive_desc_destroy(d->pd);
    for (int i = 0; i < d->nmems; i++)
        dnnl_memory_destroy(d->mems[i]);
    for (int i = 0; i < 3; i++)
        free(d->own[i]);
    memset(d, 0, sizeof *d);
}

#define DN(call)                                                                                                      \
    do {                                                                                                              \
        dnnl_status_t s_ = (call);                                                                                    \
        if (s_ != dnnl_success) {                                                                                     \
            snprintf(why, 256, "%s: %s", #call, dnnl_status2str(s_));                                                 \
            goto fail;                                                                                                \
        }                                                                                                             \
    } while (0)

static int dmm_add(Dmm *d, int arg, const dnnl_memory_desc_t *md, const void *ptr, char *why) {
    dnnl_memory_t m;
    DN(dnnl_memory_create(&m, md, eng, (void *)ptr));
    d->mems[d->nmems++] = m;
    d->args[d->nargs].arg = arg;
    d->args[d->nargs].memory = m;
    d->nargs++;
    return 0;
fail:
    return -1;
}

/* The primitive of d: a matmul smd x wmd (+ bmd) -> dmd with output scales
 * (NULL: none, else one per column), the eltwise post-op `elt` and a
 * binary_mul post-op (mul); its implementation's name into d->impl. */
static int dmm_primitive(Dmm *d, const dnnl_memory_desc_t *smd, const dnnl_memory_desc_t *wmd,
                         const dnnl_memory_desc_t *bmd, const dnnl_memory_desc_t *dmd, const float *scales, int N,
                         dnnl_alg_kind_t elt, float alpha, int mul, char *why) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_matmul_desc_t mmd;
    DN(dnnl_matmul_desc_init(&mmd, smd, wmd, bmd, dmd));
    DN(dnnl_primitive_attr_create(&attr));
    if (scales)
        DN(dnnl_primitive_attr_set_output_scales(attr, N, 1 << 1, scales));
    DN(dnnl_post_ops_create(&po));
    if (elt != dnnl_alg_kind_undef)
        DN(dnnl_post_ops_append_eltwise(po, 1.0f, elt, alpha, 0.0f));
    if (mul)
        DN(dnnl_post_ops_append_binary(po, dnnl_binary_mul, dmd));
    DN(dnnl_primitive_attr_set_post_ops(attr, po));
    DN(dnnl_primitive_desc_create(&d->pd, &mmd, attr, eng, NULL));
    DN(dnnl_primitive_create(&d->prim, d->pd));
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(d->pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
        snprintf(d->impl, sizeof d->impl, "%s", impl);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return 0;
fail:
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return -1;
}

/* `from` (the user's memory at ptr) converted by a reorder into memory of
 * `to` that d owns, as argument arg (the weights in the primitive's own
 * layout; an input in the compute type).  Not timed. */
static int dmm_add_reordered(Dmm *d, int arg, const dnnl_memory_desc_t *from, const void *ptr,
                             const dnnl_memory_desc_t *to, char *why) {
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t rprim = NULL;
    dnnl_memory_t user = NULL, mem = NULL;
    DN(dnnl_memory_create(&user, from, eng, (void *)ptr));
    DN(dnnl_memory_create(&mem, to, eng, DNNL_MEMORY_ALLOCATE));
    DN(dnnl_reorder_primitive_desc_create(&rpd, from, eng, to, eng, NULL));
    DN(dnnl_primitive_create(&rprim, rpd));
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, mem}};
    DN(dnnl_primitive_execute(rprim, strm, 2, rargs));
    DN(dnnl_stream_wait(strm));
    d->mems[d->nmems++] = mem;
    d->args[d->nargs].arg = arg;
    d->args[d->nargs].memory = mem;
    d->nargs++;
    dnnl_primitive_destroy(rprim);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(user);
    return 0;
fail:
    if (rprim)
        dnnl_primitive_destroy(rprim);
    if (rpd)
        dnnl_primitive_desc_destroy(rpd);
    if (user)
        dnnl_memory_destroy(user);
    if (mem)
        dnnl_memory_destroy(mem);
    return -1;
}

/* The weights (user layout wumd at W): as they are, or packed into the
 * layout the primitive chose; then bias, destination and the binary
 * post-op's operand. */
static int dmm_add_rest(Dmm *d, const dnnl_memory_desc_t *wumd, const void *W, int pack, const dnnl_memory_desc_t *bmd,
                        const float *b, const dnnl_memory_desc_t *dmd, float *Y, dnnl_alg_kind_t elt, const float *mul,
                        char *why) {
    const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(d->pd, dnnl_query_weights_md, 0);
    md_format(d->wfmt, sizeof d->wfmt, pack ? pmd : wumd);
    if (pack ? dmm_add_reordered(d, DNNL_ARG_WEIGHTS, wumd, W, pmd, why) : dmm_add(d, DNNL_ARG_WEIGHTS, wumd, W, why))
        return -1;
    if (b && dmm_add(d, DNNL_ARG_BIAS, bmd, b, why))
        return -1;
    if (dmm_add(d, DNNL_ARG_DST, dmd, Y, why))
        return -1;
    if (mul && dmm_add(d, DNNL_ARG_ATTR_MULTIPLE_POST_OP(elt != dnnl_alg_kind_undef ? 1 : 0) | DNNL_ARG_SRC_1, dmd,
                       mul, why))
        return -1;
    return 0;
}

static int dmm_create_int8(Dmm *d, int M, int K, int N, const float *X, const float *W, const float *b,
                           dnnl_alg_kind_t elt, float alpha, const float *mul, float *Y, char *why);

/* Y[M, N] = X[M, K] W^T (+ b) with an optional eltwise post-op `elt` and an
 * optional binary_mul post-op by `mul` [M, N].  W is [N, K] row-major.
 * --weights bf16 / f16: oneDNN's matmul in that type (src and weights; its
 * input is converted once, outside the timing); int8: dmm_create_int8. */
static int dmm_create(Dmm *d, int M, int K, int N, const float *X, const float *W, const float *b,
                      dnnl_alg_kind_t elt, float alpha, const float *mul, float *Y, int packed, char *why) {
    if (opt.weights == 3)
        return dmm_create_int8(d, M, K, N, X, W, b, elt, alpha, mul, Y, why);
    memset(d, 0, sizeof *d);
    dnnl_dims_t sd = {M, K}, wd = {K, N}, bd = {1, N}, dd = {M, N};
    dnnl_memory_desc_t smd, sumd, wumd, wmd, bmd, dmd;
    dnnl_data_type_t ct = opt.weights == 1 ? dnnl_bf16 : opt.weights == 2 ? dnnl_f16 : dnnl_f32;
    int pack = packed || ct != dnnl_f32;
    DN(dnnl_memory_desc_init_by_tag(&sumd, 2, sd, dnnl_f32, dnnl_ab));
    DN(dnnl_memory_desc_init_by_tag(&smd, 2, sd, ct, dnnl_ab));
    DN(dnnl_memory_desc_init_by_tag(&wumd, 2, wd, dnnl_f32, dnnl_ba)); /* [N, K] row-major */
    DN(dnnl_memory_desc_init_by_tag(&wmd, 2, wd, ct, pack ? dnnl_format_tag_any : dnnl_ba));
    DN(dnnl_memory_desc_init_by_tag(&bmd, 2, bd, dnnl_f32, dnnl_ab));
    DN(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_f32, dnnl_ab));
    if (dmm_primitive(d, &smd, &wmd, b ? &bmd : NULL, &dmd, NULL, N, elt, alpha, mul != NULL, why))
        goto fail;
    if (ct != dnnl_f32 ? dmm_add_reordered(d, DNNL_ARG_SRC, &sumd, X, &smd, why) : dmm_add(d, DNNL_ARG_SRC, &smd, X, why))
        goto fail;
    if (dmm_add_rest(d, &wumd, W, pack, &bmd, b, &dmd, Y, elt, mul, why))
        goto fail;
    return 0;
fail:
    dmm_free(d);
    return -1;
}

/* --weights int8: oneDNN's int8 matmul, the fastest 8-bit-weight path it
 * has: s8 input (one scale, converted untimed) times s8 weights (a scale per
 * output column, over all of K: oneDNN 2.6 has no group scales), output
 * scales 1 / (sx sw[n]), then the same bias and post-ops. */
static int dmm_create_int8(Dmm *d, int M, int K, int N, const float *X, const float *W, const float *b,
                           dnnl_alg_kind_t elt, float alpha, const float *mul, float *Y, char *why) {
    memset(d, 0, sizeof *d);
    int8_t *xq = malloc((size_t)M * K), *wq = malloc((size_t)N * K);
    float *os = malloc(sizeof(float) * (size_t)N);
    d->own[0] = xq, d->own[1] = wq, d->own[2] = os;
    if (!xq || !wq || !os) {
        snprintf(why, 256, "out of memory");
        goto fail;
    }
    float xmax = 0;
    for (size_t i = 0; i < (size_t)M * K; i++)
        xmax = fmaxf(xmax, fabsf(X[i]));
    float sx = xmax > 0 ? 127.0f / xmax : 1.0f;
    for (size_t i = 0; i < (size_t)M * K; i++)
        xq[i] = (int8_t)lrintf(X[i] * sx);
    for (int n = 0; n < N; n++) {
        float wmax = 0;
        for (int k = 0; k < K; k++)
            wmax = fmaxf(wmax, fabsf(W[(size_t)n * K + k]));
        float sw = wmax > 0 ? 127.0f / wmax : 1.0f;
        for (int k = 0; k < K; k++)
            wq[(size_t)n * K + k] = (int8_t)lrintf(W[(size_t)n * K + k] * sw);
        os[n] = 1.0f / (sx * sw);
    }
    dnnl_dims_t sd = {M, K}, wd = {K, N}, bd = {1, N}, dd = {M, N};
    dnnl_memory_desc_t smd, wumd, wmd, bmd, dmd;
    DN(dnnl_memory_desc_init_by_tag(&smd, 2, sd, dnnl_s8, dnnl_ab));
    DN(dnnl_memory_desc_init_by_tag(&wumd, 2, wd, dnnl_s8, dnnl_ba));
    DN(dnnl_memory_desc_init_by_tag(&wmd, 2, wd, dnnl_s8, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&bmd, 2, bd, dnnl_f32, dnnl_ab));
    DN(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_f32, dnnl_ab));
    if (dmm_primitive(d, &smd, &wmd, b ? &bmd : NULL, &dmd, os, N, elt, alpha, mul != NULL, why) ||
        dmm_add(d, DNNL_ARG_SRC, &smd, xq, why) || dmm_add_rest(d, &wumd, wq, 1, &bmd, b, &dmd, Y, elt, mul, why))
        goto fail;
    return 0;
fail:
    dmm_free(d);
    return -1;
}

static void dmm_run(Dmm *d) {
    dnnl_primitive_execute(d->prim, strm, d->nargs, d->args);
    dnnl_stream_wait(strm);
}

static dnnl_alg_kind_t dnnl_alg(int act) {
    switch (act) {
    case ACT_RELU:
        return dnnl_eltwise_relu;
    case ACT_GELU_TANH:
        return dnnl_eltwise_gelu_tanh;
    case ACT_GELU:
    case GATE_GEGLU:
        return dnnl_eltwise_gelu_erf;
    default: /* silu, swiglu: swish with alpha = 1 */
        return dnnl_eltwise_swish;
    }
}

/* ------------------------------------------------------------------ actc */

static int is_gate(int act) { return act == GATE_SWIGLU || act == GATE_GEGLU; }

typedef struct ActcModel {
    actc_session *s;
    actc_jit_model *j;
    actrt_model *m;
    double compile_ms, load_ms;
    int nkernels;
    char err[512];
} ActcModel;

static void actc_model_free(ActcModel *a) {
    actrt_model_free(a->m);
    actc_jit_free(a->j);
    actc_session_free(a->s);
    a->m = NULL;
    a->j = NULL;
    a->s = NULL;
}

/* The .act source of one case. */
static void actc_source(char *buf, size_t n, int K, int N, int act) {
    if (is_gate(act))
        snprintf(buf, n,
                 "# bench/gemm: %s gate, K = %d, N = %d\n"
                 "model m(x: f32[batch, %d]) -> f32[batch, %d] {\n"
                 "    return %s(dense(x, %d, bias = false, name = \"w\"), dense(x, %d, bias = false, name = \"v\"))\n"
                 "}\n",
                 act_names[act], K, N, K, N, act_names[act], N, N);
    else
        snprintf(buf, n,
                 "# bench/gemm: dense + %s, K = %d, N = %d\n"
                 "model m(x: f32[batch, %d]) -> f32[batch, %d] {\n"
                 "    return %s(dense(x, %d, name = \"p\"))\n"
                 "}\n",
                 act_names[act], K, N, K, N, act_names[act], N);
}

static int actc_model_make(ActcModel *a, int K, int N, int act, const float *W, const float *V, const float *b) {
    char src[1024];
    int st;
    memset(a, 0, sizeof *a);
    actc_source(src, sizeof src, K, N, act);
    double t0 = now();
    if ((st = actc_session_new(&a->s)) != ACTC_OK) {
        snprintf(a->err, sizeof a->err, "actc_session_new: %s", actc_status_string(st));
        return -1;
    }
    st = actc_check_source(a->s, "bench.act", src, strlen(src));
    if (st != ACTC_OK) {
        const char *d = actc_diag_render(a->s, ACTC_DIAG_TEXT);
        snprintf(a->err, sizeof a->err, "check: %s\n%s%s", actc_last_error(a->s), d ? d : "", src);
        return -1;
    }
    actc_options co = {.fast_math = opt.fast_math, .cpu = opt.cpu, .kernel_params = opt.kernel_params,
                       .profile = opt.profile, .weights = opt.weights};
    st = actc_jit_compile(a->s, NULL, &co, &a->j);
    if (st != ACTC_OK) {
        snprintf(a->err, sizeof a->err, "jit: %s (%s)", actc_last_error(a->s), actc_status_string(st));
        return -1;
    }
    a->compile_ms = (now() - t0) * 1e3;
    const actrt_desc *desc = actc_jit_desc(a->j);
    a->nkernels = desc->nkernels;
    if (actrt_model_create(&a->m, desc) != ACTC_OK) {
        snprintf(a->err, sizeof a->err, "actrt_model_create: %s", actrt_last_error(NULL));
        return -1;
    }
    actrt_model_set_threads(a->m, opt.threads); /* the same thread count as the peers (--scaling: set per run) */
    actrt_tensor ts[2];
    int nt = 2;
    if (is_gate(act)) {
        ts[0] = (actrt_tensor){.name = "w.weight", .rank = 2, .shape = {N, K}, .data = W};
        ts[1] = (actrt_tensor){.name = "v.weight", .rank = 2, .shape = {N, K}, .data = V};
    } else {
        ts[0] = (actrt_tensor){.name = "p.weight", .rank = 2, .shape = {N, K}, .data = W};
        ts[1] = (actrt_tensor){.name = "p.bias", .rank = 1, .shape = {N}, .data = b};
    }
    t0 = now();
    if (actrt_model_load_tensors(a->m, ts, nt) != ACTC_OK) {
        snprintf(a->err, sizeof a->err, "actrt_model_load_tensors: %s", actrt_last_error(a->m));
        return -1;
    }
    a->load_ms = (now() - t0) * 1e3;
    return 0;
}

/* ------------------------------------------------------------------ one case */

typedef struct Case {
    int M, K, N, act;
    const float *X, *W, *V, *b, *WV;
    ActcModel *actc;
    float *out[NPEERS];
    float *c2;     /* openblas gates: [M, 2N] */
    float *tmp[2]; /* dnnl gates: act(x W^T), plain and packed */
    Dmm d[2][2];   /* [plain, packed][first, second matmul] */
    int ok[NPEERS];
} Case;

static void run_peer(Case *c, int p) {
    switch (p) {
    case P_ACTC: {
        const float *in[1] = {c->X};
        if (opt.scaling)
            actrt_model_set_threads(c->actc->m, cur_threads);
        float *out[1] = {c->out[P_ACTC]};
        actrt_model_run(c->actc->m, c->M, in, out);
        break;
    }
    case P_OPENBLAS:
        if (is_gate(c->act)) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->M, 2 * c->N, c->K, 1.0f, c->X, c->K, c->WV, c->K,
                        0.0f, c->c2, 2 * c->N);
            peer_gate(c->out[p], c->c2, c->M, c->N, c->act, cur_threads);
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->M, c->N, c->K, 1.0f, c->X, c->K, c->W, c->K, 0.0f,
                        c->out[p], c->N);
            peer_bias_act(c->out[p], c->b, c->M, c->N, c->act, cur_threads);
        }
        break;
    default: { /* dnnl, dnnl-packed */
        Dmm *d = c->d[p - P_DNNL];
        dmm_run(&d[0]);
        if (d[1].prim)
            dmm_run(&d[1]);
        break;
    }
    }
}

static int setup_peer(Case *c, int p, char *why) {
    size_t mn = (size_t)c->M * (size_t)c->N;
    c->out[p] = xalloc(mn * sizeof(float));
    switch (p) {
    case P_ACTC:
        if (!c->actc || !c->actc->m) {
            snprintf(why, 256, "not compiled");
            return -1;
        }
        return 0;
    case P_OPENBLAS:
        if (is_gate(c->act))
            c->c2 = xalloc(2 * mn * sizeof(float));
        return 0;
    default: {
        int packed = p == P_DNNL_PACKED;
        Dmm *d = c->d[packed];
        if (is_gate(c->act)) {
            c->tmp[packed] = xalloc(mn * sizeof(float));
            if (dmm_create(&d[0], c->M, c->K, c->N, c->X, c->W, NULL, dnnl_alg(c->act), 1.0f, NULL, c->tmp[packed],
                           packed, why))
                return -1;
            return dmm_create(&d[1], c->M, c->K, c->N, c->X, c->V, NULL, dnnl_alg_kind_undef, 0.0f, c->tmp[packed],
                              c->out[p], packed, why);
        }
        return dmm_create(&d[0], c->M, c->K, c->N, c->X, c->W, c->b, dnnl_alg(c->act),
                          c->act == ACT_RELU ? 0.0f : 1.0f, NULL, c->out[p], packed, why);
    }
    }
}

static void teardown_case(Case *c) {
    for (int p = 0; p < NPEERS; p++)
        free(c->out[p]);
    free(c->c2);
    for (int i = 0; i < 2; i++) {
        free(c->tmp[i]);
        dmm_free(&c->d[i][0]);
        dmm_free(&c->d[i][1]);
    }
}

/* ------------------------------------------------------------------ results */

typedef struct Result {
    int M, K, N, act;
    double gflops[NPEERS]; /* 0: not run */
    double err[NPEERS];   /* against the reference peer (actc if run), all elements */
    double err64[NPEERS]; /* against float64, sampled rows */
    double median_s[NPEERS];
    int ref_peer;
    char dnnl_impl[2][160]; /* "impl, weights fmt" of plain and packed */
} Result;

static Result *results;
static int nresults, cap_results;
static double peak_gflops;
static FILE *csv;
static int mismatches;

static void print_table_header(void) {
    printf("\n|    M |    K |    N | act       | actc GF/s | openblas | dnnl     | dnnl-pk  | actc/ob | actc/dnnl "
           "| actc/pk | actc %%pk | best %%pk | rel err: peers / f64 |\n");
    printf("|-----:|-----:|-----:|-----------|----------:|---------:|---------:|---------:|--------:|----------:"
           "|--------:|---------:|---------:|-------------------:|\n");
}

static void fmt_gf(char *buf, size_t n, double g) {
    if (g > 0)
        snprintf(buf, n, "%.1f", g);
    else
        snprintf(buf, n, "-");
}
static void fmt_ratio(char *buf, size_t n, double a, double b) {
    if (a > 0 && b > 0)
        snprintf(buf, n, "%.3f", a / b);
    else
        snprintf(buf, n, "-");
}

static void print_row(const Result *r) {
    char g[NPEERS][16], q[3][16], pk[2][16], e[32];
    double best = 0, err = -1, err64 = 0;
    int bad = 0;
    for (int p = 0; p < NPEERS; p++) {
        fmt_gf(g[p], sizeof g[p], r->gflops[p]);
        if (p != P_ACTC && r->gflops[p] > best)
            best = r->gflops[p];
        if (r->gflops[p] > 0 && r->err[p] > err && p != r->ref_peer)
            err = r->err[p];
        if (r->err64[p] > err64)
            err64 = r->err64[p];
        bad |= !(r->err[p] <= opt.tol) || !(r->err64[p] <= opt.tol);
    }
    if (err >= 0)
        snprintf(e, sizeof e, "%.1e / %.1e", err, err64);
    else
        snprintf(e, sizeof e, "- / %.1e", err64);
    for (int p = P_OPENBLAS; p < NPEERS; p++)
        fmt_ratio(q[p - 1], sizeof q[p - 1], r->gflops[P_ACTC], r->gflops[p]);
    if (r->gflops[P_ACTC] > 0)
        snprintf(pk[0], sizeof pk[0], "%.1f%%", 100 * r->gflops[P_ACTC] / peak_gflops);
    else
        snprintf(pk[0], sizeof pk[0], "-");
    if (best > 0)
        snprintf(pk[1], sizeof pk[1], "%.1f%%", 100 * best / peak_gflops);
    else
        snprintf(pk[1], sizeof pk[1], "-");
    printf("| %4d | %4d | %4d | %-9s | %9s | %8s | %8s | %8s | %7s | %9s | %7s | %8s | %8s | %17s%s|\n", r->M, r->K,
           r->N, act_names[r->act], g[0], g[1], g[2], g[3], q[0], q[1], q[2], pk[0], pk[1], e, bad ? "!" : " ");
    fflush(stdout);
}

static void run_case(int M, int K, int N, int act, const float *X, const float *W, const float *V, const float *b,
                     const float *WV, ActcModel *actc) {
    Case c;
    memset(&c, 0, sizeof c);
    c.M = M, c.K = K, c.N = N, c.act = act;
    c.X = X, c.W = W, c.V = V, c.b = b, c.WV = WV, c.actc = actc;
    Result r;
    memset(&r, 0, sizeof r);
    r.M = M, r.K = K, r.N = N, r.act = act;
    double flops = 2.0 * M * (double)N * K * (is_gate(act) ? 2 : 1);
    size_t mn = (size_t)M * (size_t)N;

    int order[NPEERS], np = 0;
    double t1[NPEERS] = {0};
    for (int p = 0; p < NPEERS; p++) {
        if (!opt.peer_on[p])
            continue;
        char why[256] = "";
        if (setup_peer(&c, p, why)) {
            fprintf(stderr, "bench_gemm: %s skipped for M=%d K=%d N=%d %s: %s\n", peer_names[p], M, K, N,
                    act_names[act], why);
            continue;
        }
        /* the first call: warms up, gives the output to check, estimates the time */
        double t0 = now();
        run_peer(&c, p);
        t1[p] = now() - t0;
        c.ok[p] = 1;
        order[np++] = p;
        if (opt.verbose && p >= P_DNNL)
            printf("    %s: impl %s, weights %s%s\n", peer_names[p], c.d[p - P_DNNL][0].impl,
                   c.d[p - P_DNNL][0].wfmt, c.d[p - P_DNNL][1].prim ? " (x2 matmuls)" : "");
    }
    if (np == 0) {
        teardown_case(&c);
        return;
    }

    /* correctness: every peer against float64 on up to 4 rows ... */
    {
        int rows[4] = {0, M / 3, (2 * M) / 3, M - 1}, nrows = M < 4 ? M : 4;
        if (M < 4)
            for (int i = 0; i < M; i++)
                rows[i] = i;
        double *ref64 = xalloc(sizeof(double) * (size_t)nrows * (size_t)N);
        reference64(ref64, rows, nrows, K, N, act, X, W, V, b);
        for (int i = 0; i < np; i++) {
            int p = order[i];
            r.err64[p] = max_rel_err64(c.out[p], ref64, rows, nrows, N);
            if (!(r.err64[p] <= opt.tol)) {
                mismatches++;
                fprintf(stderr, "bench_gemm: MISMATCH M=%d K=%d N=%d %s: %s vs float64 max rel err %.3e > %.1e\n", M,
                        K, N, act_names[act], peer_names[p], r.err64[p], opt.tol);
            }
        }
        free(ref64);
    }
    /* ... and against the reference peer (the first that ran: actc if selected) on every element */
    const float *ref = c.out[order[0]];
    r.ref_peer = order[0];
    for (int i = 1; i < np; i++) {
        int p = order[i];
        r.err[p] = max_rel_err(c.out[p], ref, mn);
        if (!(r.err[p] <= opt.tol)) {
            mismatches++;
            fprintf(stderr, "bench_gemm: MISMATCH M=%d K=%d N=%d %s: %s vs %s max rel err %.3e > %.1e\n", M, K, N,
                    act_names[act], peer_names[p], peer_names[order[0]], r.err[p], opt.tol);
        }
    }

    /* calibration: calls per repetition so that one lasts >= min_ms */
    long calls[NPEERS] = {0}, calls_done[NPEERS] = {0};
    double min_s = opt.min_ms * 1e-3;
    for (int i = 0; i < np; i++) {
        int p = order[i];
        double est = t1[p];
        if (est < min_s) {
            for (long k = 1;; k *= 2) {
                double t0 = now();
                for (long j = 0; j < k; j++)
                    run_peer(&c, p);
                double t = now() - t0;
                if (t >= min_s / 4 || k >= 1L << 24) {
                    est = t / (double)k;
                    break;
                }
            }
        }
        calls[p] = (long)ceil(min_s / est);
        if (calls[p] < 1)
            calls[p] = 1;
    }

    /* timed rounds: peers alternate, the first peer rotates */
    double *times[NPEERS];
    for (int p = 0; p < NPEERS; p++)
        times[p] = calloc((size_t)opt.reps, sizeof(double));
    for (int rep = 0; rep < opt.reps; rep++)
        for (int i = 0; i < np; i++) {
            int p = order[(i + rep) % np];
            double t0 = now();
            for (long j = 0; j < calls[p]; j++)
                run_peer(&c, p);
            double t = now() - t0;
            /* a repetition shorter than min_ms (the calibration guessed low): extend it */
            long done = calls[p];
            while (t < min_s) {
                run_peer(&c, p);
                done++;
                t = now() - t0;
            }
            times[p][rep] = t / (double)done;
            calls_done[p] += done;
        }
    for (int i = 0; i < np; i++) {
        int p = order[i];
        double med = median(times[p], opt.reps);
        r.gflops[p] = flops / med * 1e-9;
        if (opt.verbose)
            printf("    %-11s %.1f calls/rep, median %.3f ms, min %.3f ms, max %.3f ms\n", peer_names[p],
                   (double)calls_done[p] / opt.reps,
                   med * 1e3, times[p][0] * 1e3, times[p][opt.reps - 1] * 1e3);
        r.median_s[p] = med;
    }
    for (int i = 0; csv && i < np; i++) {
        int p = order[i];
        fprintf(csv, "%d,%d,%d,%s,%s,%d,%.9g,%.4f,%.1f,%d,%.4f,%.4f,%.3e,%.3e,%.1f\n", M, K, N, act_names[act],
                peer_names[p], opt.threads, r.median_s[p], r.gflops[p], (double)calls_done[p] / opt.reps, opt.reps,
                r.gflops[p] / peak_gflops, r.gflops[P_ACTC] > 0 ? r.gflops[P_ACTC] / r.gflops[p] : 0.0, r.err[p],
                r.err64[p],
                actc && p == P_ACTC ? actc->compile_ms : 0.0);
    }
    for (int k = 0; k < 2; k++)
        if (c.ok[P_DNNL + k])
            snprintf(r.dnnl_impl[k], sizeof r.dnnl_impl[k], "%.63s, weights %.63s", c.d[k][0].impl, c.d[k][0].wfmt);
    for (int p = 0; p < NPEERS; p++)
        free(times[p]);
    teardown_case(&c);

    if (nresults == cap_results) {
        cap_results = cap_results ? 2 * cap_results : 64;
        results = realloc(results, sizeof *results * (size_t)cap_results);
        if (!results) {
            fprintf(stderr, "bench_gemm: out of memory\n");
            exit(1);
        }
    }
    results[nresults++] = r;
    print_row(&r);
}

/* ------------------------------------------------------------------ --scaling */

static void use_threads(int t) {
    cur_threads = t;
    omp_set_num_threads(t); /* actc and oneDNN (its primitives are created under this count too) */
    openblas_set_num_threads(t);
}

typedef struct ScaleResult {
    int M, K, N, act;
    double gflops[NPEERS + 1][2]; /* [peer or P_FMA][0: 1 thread, 1: T threads]; 0: not run */
} ScaleResult;

/* The control of --scaling: the FMA peak loop (peak.c) on t threads, each
 * running fma_iters iterations (~4 ms), timed in the same rounds as the
 * peers.  Its speedup is what the machine gave T threads at that moment:
 * on a shared machine, a neighbour on the other vCPU caps every speedup. */
#define P_FMA NPEERS
static float fma_sink;
static void fma_call(int t) {
    float sink = 0;
#pragma omp parallel num_threads(t) reduction(+ : sink)
    sink += peak_fma_loop(fma_iters, 1.0f + (float)omp_get_thread_num());
    fma_sink += sink;
}
static void run_variant(Case *c, int p, int t) {
    if (p == P_FMA)
        fma_call(t);
    else
        run_peer(c, p);
}

static ScaleResult *sresults;
static int nsresults, cap_sresults;
static double peak1_gflops; /* --scaling: the 1-thread peak (peak_gflops is the T-thread one) */

static void print_scaling_header(void) {
    printf("\n|    M |    K |    N | act       | peer        | GF/s 1 thr | GF/s %d thr | speedup | %%pk 1 thr | "
           "%%pk %d thr | FMA-loop speedup | rel err: %d thr vs 1 / f64 |\n",
           opt.scaling, opt.scaling, opt.scaling);
    printf("|-----:|-----:|-----:|-----------|-------------|-----------:|-----------:|--------:|----------:|----------:"
           "|-----------------:|--------------------------:|\n");
}

/* One case under --scaling: every selected peer at 1 and at T threads.  The
 * T-thread output is checked against the 1-thread output on every element
 * (actc's must be bitwise identical: runtime.h promises it), the 1-thread
 * output against float64 on sampled rows. */
static void run_scaling_case(int M, int K, int N, int act, const float *X, const float *W, const float *V,
                             const float *b, const float *WV, ActcModel *actc) {
    const int th[2] = {1, opt.scaling};
    Case c[2];
    ScaleResult r;
    memset(&r, 0, sizeof r);
    r.M = M, r.K = K, r.N = N, r.act = act;
    double flops = 2.0 * M * (double)N * K * (is_gate(act) ? 2 : 1);
    size_t mn = (size_t)M * (size_t)N;
    for (int k = 0; k < 2; k++) {
        memset(&c[k], 0, sizeof c[k]);
        c[k].M = M, c[k].K = K, c[k].N = N, c[k].act = act;
        c[k].X = X, c[k].W = W, c[k].V = V, c[k].b = b, c[k].WV = WV, c[k].actc = actc;
    }
    int vp[2 * NPEERS + 2], vk[2 * NPEERS + 2], nv = 0; /* variants: (peer or P_FMA, thread index) */
    double t1[2 * NPEERS + 2] = {0}, err[NPEERS][2] = {{0}};
    int same[NPEERS] = {0};
    for (int p = 0; p < NPEERS; p++) {
        if (!opt.peer_on[p])
            continue;
        int ok = 1;
        for (int k = 0; k < 2 && ok; k++) {
            char why[256] = "";
            use_threads(th[k]);
            if (setup_peer(&c[k], p, why)) {
                fprintf(stderr, "bench_gemm: %s skipped for M=%d K=%d N=%d %s at %d thread(s): %s\n", peer_names[p], M,
                        K, N, act_names[act], th[k], why);
                ok = 0;
            }
        }
        if (!ok)
            continue;
        for (int k = 0; k < 2; k++) {
            use_threads(th[k]);
            double t0 = now();
            run_peer(&c[k], p);
            t1[nv] = now() - t0;
            c[k].ok[p] = 1;
            vp[nv] = p, vk[nv] = k, nv++;
            if (opt.verbose && p >= P_DNNL)
                printf("    %s, %d thread(s): impl %s, weights %s%s\n", peer_names[p], th[k],
                       c[k].d[p - P_DNNL][0].impl, c[k].d[p - P_DNNL][0].wfmt,
                       c[k].d[p - P_DNNL][1].prim ? " (x2 matmuls)" : "");
        }
    }
    if (nv == 0) {
        teardown_case(&c[0]);
        teardown_case(&c[1]);
        return;
    }
    for (int k = 0; k < 2; k++) { /* the control */
        double t0 = now();
        fma_call(th[k]);
        t1[nv] = now() - t0;
        vp[nv] = P_FMA, vk[nv] = k, nv++;
    }

    /* correctness */
    {
        int rows[4] = {0, M / 3, (2 * M) / 3, M - 1}, nrows = M < 4 ? M : 4;
        if (M < 4)
            for (int i = 0; i < M; i++)
                rows[i] = i;
        double *ref64 = xalloc(sizeof(double) * (size_t)nrows * (size_t)N);
        reference64(ref64, rows, nrows, K, N, act, X, W, V, b);
        for (int p = 0; p < NPEERS; p++) {
            if (!c[0].ok[p])
                continue;
            err[p][0] = max_rel_err64(c[0].out[p], ref64, rows, nrows, N);
            err[p][1] = max_rel_err(c[1].out[p], c[0].out[p], mn);
            same[p] = memcmp(c[1].out[p], c[0].out[p], mn * sizeof(float)) == 0;
            if (!(err[p][0] <= opt.tol) || !(err[p][1] <= opt.tol)) {
                mismatches++;
                fprintf(stderr,
                        "bench_gemm: MISMATCH M=%d K=%d N=%d %s: %s max rel err %.3e (1 thread vs float64), %.3e (%d "
                        "threads vs 1) > %.1e\n",
                        M, K, N, act_names[act], peer_names[p], err[p][0], err[p][1], opt.scaling, opt.tol);
            }
            if (p == P_ACTC && !same[p]) {
                mismatches++;
                fprintf(stderr,
                        "bench_gemm: MISMATCH M=%d K=%d N=%d %s: actc's %d-thread output is not bitwise identical to "
                        "its 1-thread output (actrt_model_set_threads promises it)\n",
                        M, K, N, act_names[act], opt.scaling);
            }
        }
        free(ref64);
    }

    /* calibration, then timed rounds over the variants (the first rotates) */
    long calls[2 * NPEERS + 2] = {0}, calls_done[2 * NPEERS + 2] = {0};
    double min_s = opt.min_ms * 1e-3;
    for (int v = 0; v < nv; v++) {
        use_threads(th[vk[v]]);
        double est = t1[v];
        if (est < min_s) {
            for (long k = 1;; k *= 2) {
                double t0 = now();
                for (long j = 0; j < k; j++)
                    run_variant(&c[vk[v]], vp[v], th[vk[v]]);
                double t = now() - t0;
                if (t >= min_s / 4 || k >= 1L << 24) {
                    est = t / (double)k;
                    break;
                }
            }
        }
        calls[v] = (long)ceil(min_s / est);
        if (calls[v] < 1)
            calls[v] = 1;
    }
    double *times[2 * NPEERS + 2];
    for (int v = 0; v < nv; v++)
        times[v] = calloc((size_t)opt.reps, sizeof(double));
    for (int rep = 0; rep < opt.reps; rep++)
        for (int i = 0; i < nv; i++) {
            int v = (i + rep) % nv;
            use_threads(th[vk[v]]);
            double t0 = now();
            for (long j = 0; j < calls[v]; j++)
                run_variant(&c[vk[v]], vp[v], th[vk[v]]);
            double t = now() - t0;
            long done = calls[v];
            while (t < min_s) {
                run_variant(&c[vk[v]], vp[v], th[vk[v]]);
                done++;
                t = now() - t0;
            }
            times[v][rep] = t / (double)done;
            calls_done[v] += done;
        }
    use_threads(1);
    for (int v = 0; v < nv; v++) {
        int p = vp[v], k = vk[v];
        double med = median(times[v], opt.reps);
        double fl = p == P_FMA ? peak_flops_per_iter() * (double)fma_iters * th[k] : flops;
        r.gflops[p][k] = fl / med * 1e-9;
        const char *pname = p == P_FMA ? "fma-control" : peer_names[p];
        if (opt.verbose)
            printf("    %-11s %d thr: %.1f calls/rep, median %.3f ms, min %.3f ms, max %.3f ms\n", pname,
                   th[k], (double)calls_done[v] / opt.reps, med * 1e3, times[v][0] * 1e3,
                   times[v][opt.reps - 1] * 1e3);
        if (csv)
            fprintf(csv, "%d,%d,%d,%s,%s,%d,%.9g,%.4f,%.1f,%d,%.4f,%.4f,%.3e,%.3e,%.1f\n", M, K, N, act_names[act],
                    pname, th[k], med, r.gflops[p][k], (double)calls_done[v] / opt.reps, opt.reps,
                    r.gflops[p][k] / (k ? peak_gflops : peak1_gflops), 0.0, p < P_FMA && k ? err[p][1] : 0.0,
                    p < P_FMA && !k ? err[p][0] : 0.0, actc && p == P_ACTC ? actc->compile_ms : 0.0);
        free(times[v]);
    }
    teardown_case(&c[0]);
    teardown_case(&c[1]);

    if (nsresults == cap_sresults) {
        cap_sresults = cap_sresults ? 2 * cap_sresults : 64;
        sresults = realloc(sresults, sizeof *sresults * (size_t)cap_sresults);
        if (!sresults) {
            fprintf(stderr, "bench_gemm: out of memory\n");
            exit(1);
        }
    }
    sresults[nsresults++] = r;
    for (int p = 0; p < NPEERS; p++) {
        if (!(r.gflops[p][0] > 0 && r.gflops[p][1] > 0))
            continue;
        char e[48];
        if (same[p])
            snprintf(e, sizeof e, "bitwise / %.1e", err[p][0]);
        else
            snprintf(e, sizeof e, "%.1e / %.1e", err[p][1], err[p][0]);
        printf("| %4d | %4d | %4d | %-9s | %-11s | %10.1f | %10.1f | %7.3f | %8.1f%% | %8.1f%% | %16.3f | %25s%s|\n",
               M, K, N, act_names[act], peer_names[p], r.gflops[p][0], r.gflops[p][1],
               r.gflops[p][1] / r.gflops[p][0], 100 * r.gflops[p][0] / peak1_gflops,
               100 * r.gflops[p][1] / peak_gflops, r.gflops[P_FMA][1] / r.gflops[P_FMA][0], e,
               !(err[p][0] <= opt.tol) || !(err[p][1] <= opt.tol) ? "!" : " ");
    }
    fflush(stdout);
}

/* Geometric mean of the T-thread / 1-thread speedups per batch and peer. */
static void print_scaling_summary(void) {
    if (nsresults == 0)
        return;
    printf("\nSummary per batch M and peer: speedup %d threads / 1 thread (geometric mean, min..max over the cases "
           "above)\n\n",
           opt.scaling);
    printf("|    M | peer        | cases | speedup | min..max      | FMA-loop speedup, same rounds |\n");
    printf("|-----:|-------------|------:|--------:|---------------|------------------------------:|\n");
    for (int mi = 0; mi < opt.nm; mi++)
        for (int p = 0; p < NPEERS; p++) {
            int n = 0;
            double lg = 0, lo = 1e300, hi = 0, lgc = 0;
            for (int i = 0; i < nsresults; i++) {
                const ScaleResult *r = &sresults[i];
                if (r->M != opt.ms[mi] || !(r->gflops[p][0] > 0 && r->gflops[p][1] > 0))
                    continue;
                double s = r->gflops[p][1] / r->gflops[p][0];
                lg += log(s);
                lgc += log(r->gflops[P_FMA][1] / r->gflops[P_FMA][0]);
                lo = s < lo ? s : lo;
                hi = s > hi ? s : hi;
                n++;
            }
            if (n)
                printf("| %4d | %-11s | %5d | %7.3f | %5.3f..%5.3f | %29.3f |\n", opt.ms[mi], peer_names[p], n,
                       exp(lg / n), lo, hi, exp(lgc / n));
        }
}

/* The oneDNN implementations of results [first, nresults): each distinct
 * one with the batches that used it. */
static void print_dnnl_impls(int first) {
    int n = nresults - first;
    if (n <= 0 || n > 64)
        return;
    for (int k = 0; k < 2; k++) {
        int done[64] = {0};
        for (int i = 0; i < n; i++) {
            const char *impl = results[first + i].dnnl_impl[k];
            if (done[i] || !impl[0])
                continue;
            printf("%s oneDNN %-6s M =", i == 0 && k == 0 ? "\n" : "", k ? "packed" : "plain");
            for (int j = i; j < n; j++)
                if (!strcmp(results[first + j].dnnl_impl[k], impl)) {
                    done[j] = 1;
                    printf(" %d", results[first + j].M);
                }
            printf(": %s\n", impl);
        }
    }
}

/* Geometric means of actc/peer per batch size. */
static void print_summary(void) {
    if (!opt.peer_on[P_ACTC] || nresults == 0)
        return;
    printf("\nSummary per batch M: geometric mean of actc/peer over the cases above (> 1: actc faster), "
           "actc's fraction of peak\n\n");
    printf("|    M | cases | actc/openblas | actc/dnnl | actc/dnnl-packed | actc %%peak (min..max) |\n");
    printf("|-----:|------:|--------------:|----------:|-----------------:|----------------------|\n");
    for (int mi = 0; mi < opt.nm; mi++) {
        int M = opt.ms[mi], n = 0, cnt[NPEERS] = {0};
        double lg[NPEERS] = {0}, lo = 1e300, hi = 0;
        for (int i = 0; i < nresults; i++) {
            const Result *r = &results[i];
            if (r->M != M || r->gflops[P_ACTC] <= 0)
                continue;
            n++;
            double f = r->gflops[P_ACTC] / peak_gflops;
            lo = f < lo ? f : lo;
            hi = f > hi ? f : hi;
            for (int p = P_OPENBLAS; p < NPEERS; p++)
                if (r->gflops[p] > 0) {
                    lg[p] += log(r->gflops[P_ACTC] / r->gflops[p]);
                    cnt[p]++;
                }
        }
        if (!n)
            continue;
        char q[NPEERS][16];
        for (int p = P_OPENBLAS; p < NPEERS; p++)
            if (cnt[p])
                snprintf(q[p], sizeof q[p], "%.3f", exp(lg[p] / cnt[p]));
            else
                snprintf(q[p], sizeof q[p], "-");
        printf("| %4d | %5d | %13s | %9s | %16s | %6.1f%% .. %6.1f%%     |\n", M, n, q[P_OPENBLAS], q[P_DNNL],
               q[P_DNNL_PACKED], 100 * lo, 100 * hi);
    }
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
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
    printf("# bench_gemm — actc vs OpenBLAS vs oneDNN, one process (medians of %d repetitions, each >= %.0f ms)\n",
           opt.reps, opt.min_ms);
    printf("date:      %s\n", date);
    printf("machine:   %s (%s), %ld online CPUs, kernel %s\n", model, u.machine, sysconf(_SC_NPROCESSORS_ONLN),
           u.release);
    f = fopen("/proc/loadavg", "r");
    if (f) {
        char la[128] = "";
        if (fgets(la, sizeof la, f)) {
            la[strcspn(la, "\n")] = 0;
            printf("load:      %s (/proc/loadavg at the start; a shared machine: numbers are medians)\n", la);
        }
        fclose(f);
    }
    printf("command:  ");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    if (opt.scaling)
        printf("threads:   --scaling: every peer at 1 and at %d threads, alternating in this process (actc %s: "
               "actrt_model_set_threads, batch rows split over OpenMP threads)\n",
               opt.scaling, actc_version());
    else
        printf("threads:   %d for every peer (actc %s: actrt_model_set_threads, batch rows split over OpenMP threads)\n",
               opt.threads, actc_version());
    printf("OpenBLAS:  core %s, config %s\n", openblas_get_corename(), openblas_get_config());
    const dnnl_version_t *v = dnnl_version();
    printf("oneDNN:    %d.%d.%d (%s), CPU runtime %s, effective ISA %s\n", v->major, v->minor, v->patch, v->hash,
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()));
    const char *ct = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    if (ct || l2)
        printf("WARNING:   %s%s%s%s%s set in the environment: it holds OpenBLAS to the core it names (AVX2 here); "
               "run through bench/gemm/run.sh, which unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE\n",
               ct ? "OPENBLAS_CORETYPE=" : "", ct ? ct : "", ct && l2 ? ", " : "", l2 ? "OPENBLAS_L2_SIZE=" : "",
               l2 ? l2 : "");
    if ((opt.threads > 1 || opt.scaling) && opt.peer_on[P_OPENBLAS] &&
        (opt.peer_on[P_ACTC] || opt.peer_on[P_DNNL] || opt.peer_on[P_DNNL_PACKED]))
        printf("WARNING:   %d threads with OpenBLAS (pthreads) and OpenMP (actc, oneDNN) in one process: their thread "
               "pools compete; for clean numbers run the peers in separate processes (--peers, run.sh --separate)\n",
               opt.scaling ? opt.scaling : opt.threads);
    printf("flops:     2*M*N*K per projection (gates: 2 projections); epilogue not counted\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    omp_set_num_threads(opt.threads);
    openblas_set_num_threads(opt.threads);
    if (opt.reps < 5)
        fprintf(stderr, "bench_gemm: note: --reps %d < 5, medians are less robust\n", opt.reps);
    print_machine(argc, argv);

    if (opt.peer_on[P_DNNL] || opt.peer_on[P_DNNL_PACKED]) {
        if (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success ||
            dnnl_stream_create(&strm, eng, dnnl_stream_default_flags) != dnnl_success) {
            fprintf(stderr, "bench_gemm: cannot create a oneDNN CPU engine; oneDNN peers skipped\n");
            opt.peer_on[P_DNNL] = opt.peer_on[P_DNNL_PACKED] = 0;
        }
    }
    if (opt.csv) {
        csv = fopen(opt.csv, "w");
        if (!csv) {
            fprintf(stderr, "bench_gemm: cannot write %s: %s\n", opt.csv, strerror(errno));
            return 1;
        }
        fprintf(csv, "M,K,N,act,peer,threads,median_s,gflops,calls_per_rep,reps,frac_peak,actc_over_peer,rel_err_vs_ref_peer,rel_err_vs_f64,"
                     "compile_ms\n");
    }

    if (opt.scaling) {
        peak1_gflops = measure_peak_gflops(1);
        peak_gflops = measure_peak_gflops(opt.scaling);
        printf("FMA peak:  %.1f GFLOP/s on 1 thread, %.1f on %d threads (x%.2f: the ceiling of any speedup here; "
               "12 chains of 16-lane zmm FMAs, best of 40 runs of 4 ms; again at the end)\n",
               peak1_gflops, peak_gflops, opt.scaling, peak_gflops / peak1_gflops);
    } else {
        peak_gflops = measure_peak_gflops(opt.threads);
        printf("FMA peak:  %.1f GFLOP/s on %d thread%s (12 chains of 16-lane zmm FMAs, best of 40 runs of 4 ms; "
               "again at the end)\n",
               peak_gflops, opt.threads, opt.threads == 1 ? "" : "s");
    }
    cur_threads = opt.threads;

    int mmax = 0;
    for (int i = 0; i < opt.nm; i++)
        mmax = opt.ms[i] > mmax ? opt.ms[i] : mmax;

    for (int si = 0; si < opt.nshapes; si++) {
        int K = opt.shapes[si][0], N = opt.shapes[si][1];
        float *X = xalloc((size_t)mmax * K * sizeof(float));
        float *W = xalloc((size_t)N * K * sizeof(float));
        float *V = xalloc((size_t)N * K * sizeof(float));
        float *WV = xalloc((size_t)2 * N * K * sizeof(float));
        float *b = xalloc((size_t)N * sizeof(float));
        rng_state = opt.seed * 0x100000001b3ull + (uint64_t)si;
        fill_uniform(X, (size_t)mmax * K, 1.0f);
        /* pre-activations ~ unit variance: x ~ U(-1,1), w ~ U(-3/sqrt(K), 3/sqrt(K)) */
        fill_uniform(W, (size_t)N * K, 3.0f / sqrtf((float)K));
        fill_uniform(V, (size_t)N * K, 3.0f / sqrtf((float)K));
        if (opt.weights == 1 || opt.weights == 2) { /* every peer and the reference see the stored values */
            round_to(W, (size_t)N * K, opt.weights);
            round_to(V, (size_t)N * K, opt.weights);
        } else if (opt.weights == 3) { /* actc's int8 values, fl(q s): the reference and the f32 peers see them */
            actrt_int8_dequantized(W, N, K, W);
            actrt_int8_dequantized(V, N, K, V);
        }
        fill_uniform(b, (size_t)N, 0.5f);
        memcpy(WV, W, (size_t)N * K * sizeof(float));
        memcpy(WV + (size_t)N * K, V, (size_t)N * K * sizeof(float));

        for (int ai = 0; ai < opt.nacts; ai++) {
            int act = opt.acts[ai];
            ActcModel am, *amp = NULL;
            if (opt.peer_on[P_ACTC]) {
                if (actc_model_make(&am, K, N, act, W, V, b) == 0) {
                    amp = &am;
                    printf("\nactc: K=%d N=%d %s: compiled in %.1f ms (%d kernel%s), weights packed in %.1f ms\n", K,
                           N, act_names[act], am.compile_ms, am.nkernels, am.nkernels == 1 ? ", fused" : "s",
                           am.load_ms);
                } else {
                    fprintf(stderr, "bench_gemm: actc failed for K=%d N=%d %s: %s\n", K, N, act_names[act], am.err);
                }
            }
            if (opt.scaling) {
                print_scaling_header();
                for (int mi = 0; mi < opt.nm; mi++)
                    run_scaling_case(opt.ms[mi], K, N, act, X, W, V, b, WV, amp);
            } else {
                print_table_header();
                int first = nresults;
                for (int mi = 0; mi < opt.nm; mi++)
                    run_case(opt.ms[mi], K, N, act, X, W, V, b, WV, amp);
                print_dnnl_impls(first);
            }
            if (opt.peer_on[P_ACTC])
                actc_model_free(&am);
        }
        free(X);
        free(W);
        free(V);
        free(WV);
        free(b);
    }
    if (opt.scaling) {
        double p1 = measure_peak_gflops(1), pt = measure_peak_gflops(opt.scaling);
        printf("\nFMA peak at the end: %.1f GFLOP/s on 1 thread, %.1f on %d (start: %.1f, %.1f); %%peak above used "
               "the start's\n",
               p1, pt, opt.scaling, peak1_gflops, peak_gflops);
        print_scaling_summary();
    } else {
        double peak_end = measure_peak_gflops(opt.threads);
        printf("\nFMA peak at the end: %.1f GFLOP/s (start: %.1f); %%peak above used the start's\n", peak_end,
               peak_gflops);
        print_summary();
    }
    {
        FILE *f = fopen("/proc/loadavg", "r");
        char la[128] = "";
        if (f && fgets(la, sizeof la, f)) {
            la[strcspn(la, "\n")] = 0;
            printf("\nload at the end: %s\n", la);
        }
        if (f)
            fclose(f);
    }
    if (csv)
        fclose(csv);
    if (mismatches) {
        fprintf(stderr, "bench_gemm: %d check(s) failed: errors beyond --tol %.1e\n", mismatches, opt.tol);
        return 3;
    }
    return 0;
}
