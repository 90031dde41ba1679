/*
 * test_wx.c — W^X for JIT-compiled code (issue 9, docs/reliability.md): no
 * mapping of the process is ever writable and executable at once.
 *
 * examples/ffn.act is JIT-compiled through the public API while a thread
 * scans /proc/self/maps in a loop (LLJIT links into writable pages, then
 * makes them read+execute: the scan must never catch a page that is both);
 * the maps are scanned once more right after actc_jit_compile, where every
 * kernel's address must lie in a mapping that is executable and not
 * writable; then the model runs from two threads (each with OpenMP workers)
 * while the scanner keeps going.  Both threads run the same batch, so their
 * outputs must also be bitwise identical.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_helpers.h"
#include "actc/actc.h"
#include "actc/runtime.h"

#define EXAMPLE ACTC_SOURCE_DIR "/examples/ffn.act"

enum { BATCH = 24, RUNS_PER_THREAD = 40 };

/* ---- /proc/self/maps ---- */

typedef struct Mapping {
    uintptr_t lo, hi;
    char perms[5];
} Mapping;

/* What the scans saw: the first writable+executable line, if any. */
typedef struct ScanResult {
    long scans;
    long max_exec;    /* most executable mappings seen in one scan */
    char bad[512];    /* first offending line */
} ScanResult;

/* One pass over /proc/self/maps.  With `find` != 0, also store the mapping
 * that contains address `find` in *hit (hit->perms[0] == 0 when none). */
static void scan_once(ScanResult *r, uintptr_t find, Mapping *hit) {
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f, "cannot open /proc/self/maps");
    char line[1024];
    long nexec = 0;
    if (hit)
        memset(hit, 0, sizeof *hit);
    while (fgets(line, sizeof line, f)) {
        Mapping m = {0};
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s", &m.lo, &m.hi, m.perms) != 3)
            continue;
        bool w = m.perms[1] == 'w', x = m.perms[2] == 'x';
        nexec += x;
        if (w && x && !r->bad[0])
            snprintf(r->bad, sizeof r->bad, "%s", line);
        if (hit && find >= m.lo && find < m.hi)
            *hit = m;
    }
    fclose(f);
    r->scans++;
    if (nexec > r->max_exec)
        r->max_exec = nexec;
}

typedef struct Scanner {
    pthread_t th;
    atomic_bool stop;
    ScanResult res; /* written by the scanner thread only, read after join */
} Scanner;

static void *scanner_main(void *arg) {
    Scanner *s = arg;
    do
        scan_once(&s->res, 0, NULL);
    while (!atomic_load(&s->stop));
    return NULL;
}

static void scanner_start(Scanner *s) {
    memset(&s->res, 0, sizeof s->res);
    atomic_store(&s->stop, false);
    cr_assert_eq(pthread_create(&s->th, NULL, scanner_main, s), 0);
}

static ScanResult scanner_stop(Scanner *s) {
    atomic_store(&s->stop, true);
    cr_assert_eq(pthread_join(s->th, NULL), 0);
    return s->res;
}

/* ---- running the model ---- */

typedef struct Runner {
    pthread_t th;
    actrt_model *m;
    const float *in;
    float *out;
    int st;
} Runner;

static void *runner_main(void *arg) {
    Runner *r = arg;
    for (int i = 0; i < RUNS_PER_THREAD && r->st == ACTC_OK; i++)
        r->st = actrt_model_run(r->m, BATCH, &r->in, &r->out);
    return NULL;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static float uniform(float lo, float hi) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return lo + (hi - lo) * (float)(rng >> 40) / (float)(1u << 24);
}

Test(wx, jit_code_is_never_writable_and_executable, .timeout = 300) {
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_assert_eq(actc_check_file(s, EXAMPLE), ACTC_OK, "%s", actc_last_error(s));

    /* 1: while LLJIT compiles and links */
    Scanner sc;
    scanner_start(&sc);
    actc_jit_model *j;
    int st = actc_jit_compile(s, NULL, NULL, &j);
    ScanResult during_compile = scanner_stop(&sc);
    cr_assert_eq(st, ACTC_OK, "%s", actc_last_error(s));
    cr_assert_gt(during_compile.scans, 0);
    cr_assert_eq(during_compile.bad[0], '\0', "writable and executable during JIT compilation: %s",
                 during_compile.bad);

    /* 2: right after: no W+X, and every kernel in an r-x mapping */
    const actrt_desc *d = actc_jit_desc(j);
    cr_assert_gt(d->nkernels, 0);
    ScanResult after = {0};
    for (int k = 0; k < d->nkernels; k++) {
        Mapping hit;
        uintptr_t addr;
        memcpy(&addr, &d->kernels[k], sizeof addr); /* function to object pointer: POSIX */
        scan_once(&after, addr, &hit);
        cr_assert_neq(hit.perms[0], '\0', "kernel %d at %#" PRIxPTR " is in no mapping", k, addr);
        cr_assert(hit.perms[2] == 'x' && hit.perms[1] != 'w', "kernel %d at %#" PRIxPTR " is in a '%s' mapping", k,
                  addr, hit.perms);
    }
    cr_assert_eq(after.bad[0], '\0', "writable and executable after actc_jit_compile: %s", after.bad);

    /* 3: weights, then runs from two threads (2 OpenMP threads each) while the scanner runs */
    actrt_model *m;
    cr_assert_eq(actrt_model_create(&m, d), ACTC_OK, "%s", actrt_last_error(NULL));
    cr_assert_eq(actrt_model_set_threads(m, 2), ACTC_OK);
    int nt = d->ntensors;
    float **data = calloc((size_t)nt + 1, sizeof *data);
    for (int i = 0; i < nt; i++) {
        const actrt_tensor_desc *t = &d->tensors[i];
        int64_t n = actrt_tensor_numel(t);
        data[i] = malloc((size_t)n * sizeof(float));
        float scale = 1.0f / (float)(t->rank == 2 ? t->shape[1] : 1);
        for (int64_t q = 0; q < n; q++)
            data[i][q] = uniform(-scale, scale);
    }
    cr_assert_eq(rt_load_desc_tensors(m, d, data), ACTC_OK, "%s", actrt_last_error(m));
    cr_assert_eq(d->ninputs, 1);
    cr_assert_eq(d->noutputs, 1);
    int64_t nin = d->inputs[0].n, nout = d->outputs[0].n;
    float *in = malloc((size_t)(BATCH * nin) * sizeof(float));
    for (int64_t q = 0; q < BATCH * nin; q++)
        in[q] = uniform(-2, 2);

    Runner r[2];
    scanner_start(&sc);
    for (int t = 0; t < 2; t++) {
        r[t] = (Runner){.m = m, .in = in, .out = calloc((size_t)(BATCH * nout), sizeof(float)), .st = ACTC_OK};
        cr_assert_eq(pthread_create(&r[t].th, NULL, runner_main, &r[t]), 0);
    }
    for (int t = 0; t < 2; t++)
        cr_assert_eq(pthread_join(r[t].th, NULL), 0);
    ScanResult during_runs = scanner_stop(&sc);
    for (int t = 0; t < 2; t++)
        cr_assert_eq(r[t].st, ACTC_OK, "thread %d: %s", t, actrt_last_error(m));
    cr_assert_gt(during_runs.scans, 1);
    cr_assert_eq(during_runs.bad[0], '\0', "writable and executable while running: %s", during_runs.bad);
    cr_assert_eq(memcmp(r[0].out, r[1].out, (size_t)(BATCH * nout) * sizeof(float)), 0,
                 "two threads, same batch, different outputs");
    cr_log_info("scans: %ld during compilation, %ld after, %ld during %d runs; up to %ld executable mappings",
                during_compile.scans, after.scans, during_runs.scans, 2 * RUNS_PER_THREAD, during_runs.max_exec);

    for (int t = 0; t < 2; t++)
        free(r[t].out);
    free(in);
    for (int i = 0; i < nt; i++)
        free(data[i]);
    free(data);
    actrt_model_free(m);
    actc_jit_free(j);
    actc_session_free(s);
}
