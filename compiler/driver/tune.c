/*
 * tune.c — `actc tune` (docs/tuning.md): measure candidate kernel parameters
 * on this machine for the shapes given and write a profile that the JIT
 * uses from then on (and `actc compile --profile`).  Part of the CLI: it
 * uses the public API and the driver's internal entry points only.
 *
 * The search, per matmul kind (dense, gated), is coordinate descent from the
 * built-in choice: register tiles, then the K block, the prefetch distance
 * and the row block.  Every candidate is timed against the incumbent in interleaved
 * rounds on every case (shape x batch); it replaces the incumbent only when
 * the geometric mean of the ratios of medians beats 1 by more than the
 * incumbent's own spread between rounds (and at least 2%).  Parameters never
 * change results (params.c), so nothing here checks values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actc/actc.h"
#include "actc/runtime.h"
#include "driver/cli.h"
#include "driver/internal.h"

enum { MAX_CASES = 16, ROUNDS = 5, MAX_CANDS = 48 };

typedef struct Case {
    long long k, n, m;
} Case;

typedef struct Kind {
    const char *key, *name; /* "dense", the profile's and the report's */
    int nacc;
} Kind;

static const Kind kinds[] = {{"dense", "fused_dense (relu)", 1}, {"gated", "fused_gated_dense (swiglu)", 2}};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One compiled case: the model, its runtime instance and buffers. */
typedef struct Bench {
    actc_session *s;
    actc_jit_model *j;
    actrt_model *m;
    float *in, *out;
    long long m_rows;
} Bench;

static void bench_free(Bench *b) {
    actrt_model_free(b->m);
    actc_jit_free(b->j);
    actc_session_free(b->s);
    free(b->in), free(b->out);
    memset(b, 0, sizeof *b);
}

static int bench_open(Bench *b, const Kind *kd, const Case *c, const actc_options *base, const char *params,
                      char *err, size_t errlen) {
    memset(b, 0, sizeof *b);
    char src[512];
    if (kd->nacc == 1)
        snprintf(src, sizeof src, "model t(x: f32[batch, %lld]) -> f32[batch, %lld] {\n"
                 "    return relu(dense(x, %lld, name = \"fc\"))\n}\n", c->k, c->n, c->n);
    else
        snprintf(src, sizeof src, "model t(x: f32[batch, %lld]) -> f32[batch, %lld] {\n"
                 "    return swiglu(dense(x, %lld, bias = false, name = \"gate\"), "
                 "dense(x, %lld, bias = false, name = \"up\"))\n}\n", c->k, c->n, c->n, c->n);
    actc_options o = *base;
    o.kernel_params = params;
    int st = actc_session_new(&b->s);
    if (!st && !(st = actc_check_source(b->s, "<tune>", src, strlen(src))) &&
        !(st = actc_jit_compile(b->s, NULL, &o, &b->j))) {
        const actrt_desc *d = actc_jit_desc(b->j);
        if (!(st = actrt_model_create(&b->m, d)) && !(st = cli_random_weights(b->m, d)) &&
            !(st = actrt_model_set_threads(b->m, 1))) {
            b->m_rows = c->m;
            b->in = malloc(sizeof(float) * (size_t)(c->m * c->k));
            b->out = malloc(sizeof(float) * (size_t)(c->m * c->n));
            if (!b->in || !b->out)
                st = ACTC_ERR_NOMEM;
            for (long long q = 0; b->in && q < c->m * c->k; q++)
                b->in[q] = (float)sin(0.1 * (double)q);
        }
        if (st)
            snprintf(err, errlen, "%s", b->m ? actrt_last_error(b->m) : actc_status_string(st));
    } else if (st) {
        snprintf(err, errlen, "%s", actc_last_error(b->s));
    }
    if (st)
        bench_free(b);
    return st;
}

/* Seconds per run: as many runs as fill ~25 ms, after one warm-up. */
static double bench_time(Bench *b) {
    const float *in[1] = {b->in};
    float *out[1] = {b->out};
    actrt_model_run(b->m, b->m_rows, in, out);
    int n = 0;
    double t0 = now_s(), t;
    do {
        actrt_model_run(b->m, b->m_rows, in, out);
        n++;
        t = now_s() - t0;
    } while (t < 0.025);
    return t / n;
}

typedef struct Score {
    double ratio;  /* geometric mean over cases of incumbent time / candidate time */
    double noise;  /* the incumbent's spread between rounds (geometric mean of (max - min) / median) */
    double gflops; /* the candidate's geometric mean */
} Score;

/* Time candidate against incumbent on every case, ROUNDS interleaved rounds. */
static int compare(const Kind *kd, const Case *cs, int nc, const actc_options *o, const char *inc, const char *cand,
                   Score *sc, char *err, size_t errlen) {
    double lr = 0, ln = 0, lg = 0;
    for (int c = 0; c < nc; c++) {
        Bench bi, bc;
        int st = bench_open(&bi, kd, &cs[c], o, inc, err, errlen);
        if (st)
            return st;
        if ((st = bench_open(&bc, kd, &cs[c], o, cand, err, errlen))) {
            bench_free(&bi);
            return st;
        }
        double ti[ROUNDS], tc[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            ti[r] = bench_time(&bi);
            tc[r] = bench_time(&bc);
        }
        bench_free(&bi);
        bench_free(&bc);
        double mi = median_of(ti, ROUNDS), mc = median_of(tc, ROUNDS);
        lr += log(mi / mc);
        ln += log(1e-4 + (ti[ROUNDS - 1] - ti[0]) / mi); /* sorted by median_of */
        lg += log(2.0 * (double)cs[c].m * (double)cs[c].k * (double)cs[c].n * kd->nacc / mc * 1e-9);
    }
    sc->ratio = exp(lr / nc);
    sc->noise = exp(ln / nc);
    sc->gflops = exp(lg / nc);
    return ACTC_OK;
}

/* The candidates of one coordinate around the incumbent p. */
static int candidates(int stage, const int p[5], int nregs, int nacc, int out[][5]) {
    int n = 0;
    if (stage == 0) { /* tiles with at least 3/4 of the most accumulators that fit */
        int most = 0;
        for (int nr = 1; nr <= 4; nr++)
            for (int mr = 1; mr <= 8; mr++)
                if (mr * nr * nacc + nr * nacc + 1 <= nregs && mr * nr * nacc > most)
                    most = mr * nr * nacc;
        for (int nr = 1; nr <= 4; nr++)
            for (int mr = 1; mr <= 8; mr++) {
                int acc = mr * nr * nacc;
                if (acc + nr * nacc + 1 <= nregs && 4 * acc >= 3 * most && (mr != p[0] || nr != p[1]) && n < MAX_CANDS)
                    memcpy(out[n++], (int[5]){mr, nr, p[2], p[3], p[4]}, sizeof out[0]);
            }
    } else if (stage == 1) { /* K blocks (the prefetch distance, in rows, stays) */
        static const int kcs[] = {0, 64, 96, 128, 192, 256, 512};
        for (size_t i = 0; i < sizeof kcs / sizeof kcs[0]; i++)
            if (kcs[i] != p[2])
                memcpy(out[n++], (int[5]){p[0], p[1], kcs[i], p[3], p[4]}, sizeof out[0]);
    } else if (stage == 2) { /* prefetch distance: none, the next block, two blocks */
        int b = p[2] ? p[2] : 64;
        int pfs[] = {0, b, 2 * b};
        for (int i = 0; i < 3; i++)
            if (pfs[i] != p[4])
                memcpy(out[n++], (int[5]){p[0], p[1], p[2], p[3], pfs[i]}, sizeof out[0]);
    } else { /* row blocks: the rows of x one sweep over the panels reads (L2) */
        static const int mcs[] = {0, 32, 64, 128, 256};
        for (size_t i = 0; i < sizeof mcs / sizeof mcs[0]; i++)
            if (mcs[i] != p[3])
                memcpy(out[n++], (int[5]){p[0], p[1], p[2], mcs[i], p[4]}, sizeof out[0]);
    }
    return n;
}

static void spec_of(const Kind *kd, const int p[5], char *buf, size_t n) {
    snprintf(buf, n, "%s=%dx%d,kc=%d,mc=%d,pf=%d", kd->key, p[0], p[1], p[2], p[3], p[4]);
}

/* "dense=8x3,kc=128,mc=0,pf=0;gated=..." -> the five numbers of kind key */
static bool params_of(const char *all, const char *key, int p[5]) {
    const char *q = strstr(all, key);
    return q && sscanf(q + strlen(key), "=%dx%d,kc=%d,mc=%d,pf=%d", &p[0], &p[1], &p[2], &p[3], &p[4]) == 5;
}

static int parse_cases(const char *shapes, const char *batches, Case *cs, int *nc) {
    *nc = 0;
    for (const char *s = shapes; *s;) {
        long long k, n;
        int used;
        if (sscanf(s, "%lldx%lld%n", &k, &n, &used) != 2 || k < 1 || n < 1 || k > 65536 || n > 65536)
            return -1;
        for (const char *b = batches; *b;) {
            long long m;
            int u2;
            if (sscanf(b, "%lld%n", &m, &u2) != 1 || m < 1 || m > 65536 || *nc == MAX_CASES)
                return -2;
            cs[(*nc)++] = (Case){k, n, m};
            b += u2;
            if (*b == ',')
                b++;
            else if (*b)
                return -2;
        }
        s += used;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return 0;
}

int cli_tune(const actc_options *o, const char *shapes, const char *batches, double budget, const char *profile,
             bool show, bool quiet) {
    actc_session *s = NULL;
    if (actc_session_new(&s)) {
        fprintf(stderr, "actc: error: out of memory\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines as they come, also into a file */
    const char *params, *from, *cache;
    int nregs = 0;
    /* --show: what the JIT uses (the cached or given profile included);
     * tuning: start from the built-in choice, and --profile is the output */
    actc_options start = *o;
    if (!show)
        start.profile = NULL, start.kernel_params = NULL;
    int st = actc_kernel_params(s, &start, &params, &from, &cache, &nregs, !show);
    for (size_t i = 0; i < actc_diag_count(s); i++) {
        actc_diagnostic d;
        if (actc_diag_get(s, i, &d) == ACTC_OK && d.severity == ACTC_SEV_WARNING)
            fprintf(stderr, "actc: warning: %s\n", d.message);
    }
    if (st) {
        fprintf(stderr, "actc: error: %s\n", actc_last_error(s));
        actc_session_free(s);
        return st == ACTC_ERR_INTERNAL ? 2 : 1;
    }
    if (show) {
        printf("kernel parameters: %s\nfrom: %s\nhost profile: %s\n", params, from, cache ? cache : "(no cache directory)");
        printf("syntax: KIND=ROWSxVECTORS,kc=K block,mc=row block,pf=prefetch rows (docs/tuning.md)\n");
        actc_session_free(s);
        return 0;
    }
    Case cs[MAX_CASES];
    int nc;
    int pr = parse_cases(shapes ? shapes : "1024x4096,4096x1024", batches ? batches : "8,64,256,1024", cs, &nc);
    if (pr) {
        fprintf(stderr, "actc: error: %s: expected %s\n", pr == -1 ? "--shapes" : "--batches",
                pr == -1 ? "KxN[,KxN...] with 1 <= K, N <= 65536" : "M[,M...] with 1 <= M <= 65536 (at most 16 cases)");
        actc_session_free(s);
        return 1;
    }
    double t0 = now_s();
    char chosen[2][96], base[2][96], measured[4096];
    int evaluated[2] = {0, 0};
    double gain[2] = {1, 1};
    bool out_of_time = false;
    int rc = 0;
    if (!quiet)
        printf("actc tune: %d cases per kind, budget %.0f s; start: %s (%s)\n", nc, budget, params, from);
    for (int ki = 0; ki < 2 && !rc; ki++) {
        const Kind *kd = &kinds[ki];
        int p[5];
        if (!params_of(params, kd->key, p)) {
            fprintf(stderr, "actc: internal error: parameters '%s' lack '%s'\n", params, kd->key);
            rc = 2;
            break;
        }
        spec_of(kd, p, base[ki], sizeof base[ki]);
        for (int stage = 0; stage < 4 && !rc; stage++) {
            int cand[MAX_CANDS][5];
            int n = candidates(stage, p, nregs, kd->nacc, cand);
            int best[5];
            memcpy(best, p, sizeof best);
            double best_ratio = 1;
            char inc[96];
            spec_of(kd, p, inc, sizeof inc);
            for (int c = 0; c < n; c++) {
                if (now_s() - t0 > budget) {
                    out_of_time = true;
                    break;
                }
                char cs_spec[96], err[512];
                spec_of(kd, cand[c], cs_spec, sizeof cs_spec);
                Score sc;
                if ((st = compare(kd, cs, nc, &start, inc, cs_spec, &sc, err, sizeof err))) {
                    if (st == ACTC_ERR_ARG) /* a tile this target cannot take: not a candidate */
                        continue;
                    fprintf(stderr, "actc: error: tune %s: %s\n", cs_spec, err);
                    rc = st == ACTC_ERR_INTERNAL ? 2 : 1;
                    break;
                }
                evaluated[ki]++;
                double thr = 1 + (sc.noise > 0.02 ? sc.noise : 0.02);
                if (!quiet)
                    printf("  %-34s %6.1f GFLOP/s  %.3fx %s (noise %.1f%%)%s\n", cs_spec, sc.gflops, sc.ratio, inc,
                           100 * sc.noise, sc.ratio > thr && sc.ratio > best_ratio ? "  <- better" : "");
                if (sc.ratio > thr && sc.ratio > best_ratio) {
                    best_ratio = sc.ratio;
                    memcpy(best, cand[c], sizeof best);
                }
            }
            if (best_ratio > 1) {
                memcpy(p, best, sizeof best);
                gain[ki] *= best_ratio;
            }
            if (out_of_time)
                break;
        }
        spec_of(kd, p, chosen[ki], sizeof chosen[ki]);
        if (out_of_time)
            for (int k2 = ki + 1; k2 < 2; k2++)
                if (params_of(params, kinds[k2].key, p))
                    spec_of(&kinds[k2], p, chosen[k2], sizeof chosen[k2]), spec_of(&kinds[k2], p, base[k2], sizeof base[k2]);
        if (out_of_time)
            break;
    }
    if (!rc) {
        char all[200];
        snprintf(all, sizeof all, "%s;%s", chosen[0], chosen[1]);
        {
            int len = snprintf(measured, sizeof measured, "{\"cases\": [");
            for (int c = 0; c < nc && len < (int)sizeof measured - 64; c++)
                len += snprintf(measured + len, sizeof measured - (size_t)len, "%s\"%lldx%lldx%lld\"", c ? ", " : "",
                                cs[c].m, cs[c].k, cs[c].n);
            snprintf(measured + len, sizeof measured - (size_t)len,
                     "], \"start\": \"%s;%s\", \"start_from\": \"%s\", \"gain\": [%.4f, %.4f], \"candidates\": [%d, %d], "
                     "\"budget_s\": %.0f, \"seconds\": %.1f, \"complete\": %s}",
                     base[0], base[1], from, gain[0], gain[1], evaluated[0], evaluated[1], budget, now_s() - t0,
                     out_of_time ? "false" : "true");
        }
        if ((st = actc_write_profile(s, o, all, profile, measured))) {
            fprintf(stderr, "actc: error: %s\n", actc_last_error(s));
            rc = st == ACTC_ERR_INTERNAL ? 2 : 1;
        } else {
            printf("chosen: %s\n  dense %.3fx, gated %.3fx the start over %d + %d candidates in %.0f s%s\n"
                   "written: %s\n", all, gain[0], gain[1], evaluated[0], evaluated[1], now_s() - t0,
                   out_of_time ? " (the budget ran out: the search is incomplete)" : "", profile ? profile : cache);
        }
    }
    actc_session_free(s);
    return rc;
}
