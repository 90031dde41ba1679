/*
 * tests/tsan/concurrency.c — the concurrency test as a plain C program, for
 * the ThreadSanitizer build (Criterion's runner does not survive TSan; see
 * docs/reliability.md).  16 threads run one JIT-compiled gated model 10^4
 * times each on their own buffers while 4 threads compile, bind, run and
 * unload other models; every run must be bitwise identical to a run made
 * before the threads start.  Then a statistics build of the same model
 * (docs/stats.md) runs on 8 threads while another reads its statistics:
 * every read sees whole runs, and the final counts are exactly those of
 * every run.  Exit status 0 on success; TSan reports make the process exit
 * non-zero (halt_on_error / exitcode).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actc/actc.h"
#include "actc/runtime.h"
#include "../unit/rt_helpers.h"

enum { RUNNERS = 16, RUNS = 10000, COMPILERS = 4, COMPILES = 4, BATCH = 9, D = 48 };

static const char FFN[] = "const D = 48\nconst H = 100\n"
                          "model ffn(x: f32[batch, D]) -> f32[batch, D] {\n"
                          "    g = dense(x, H, bias = false)\n    u = dense(x, H, bias = false)\n"
                          "    return x + dense(swiglu(g, u), D, bias = false, name = \"down\")\n}\n";

static atomic_int failures, mismatches, next_id;

/* Compile src and bind deterministic weights; NULL on failure. */
static actrt_model *build_opts(const char *src, const actc_options *o, actc_session **s, actc_jit_model **j) {
    actrt_model *m = NULL;
    *s = NULL, *j = NULL;
    if (actc_session_new(s) || actc_check_source(*s, "t.act", src, strlen(src)) || actc_jit_compile(*s, NULL, o, j) ||
        actrt_model_create(&m, actc_jit_desc(*j)))
        return NULL;
    const actrt_desc *d = actc_jit_desc(*j);
    float *w[16];
    int nt = d->ntensors < 16 ? d->ntensors : 16;
    for (int i = 0; i < nt; i++) {
        int64_t n = actrt_tensor_numel(&d->tensors[i]);
        w[i] = malloc(sizeof(float) * (size_t)n);
        for (int64_t q = 0; q < n; q++)
            w[i][q] = 0.01f * (float)((q * 7 + i) % 21 - 10);
    }
    int st = nt == d->ntensors ? rt_load_desc_tensors(m, d, w) : ACTC_ERR_ARG;
    for (int i = 0; i < nt; i++)
        free(w[i]);
    if (st) {
        actrt_model_free(m);
        return NULL;
    }
    return m;
}

static actrt_model *build(const char *src, actc_session **s, actc_jit_model **j) { return build_opts(src, NULL, s, j); }

typedef struct Shared {
    actrt_model *m;
    const float *in, *want;
} Shared;

static void *runner(void *arg) {
    Shared *sh = arg;
    float out[BATCH * D];
    for (int it = 0; it < RUNS; it++) {
        if (actrt_model_run(sh->m, BATCH, (const float *const[]){sh->in}, (float *const[]){out}) != ACTC_OK)
            failures++;
        else if (memcmp(out, sh->want, sizeof out) != 0)
            mismatches++;
    }
    return NULL;
}

static void *compiler(void *arg) {
    (void)arg;
    for (int k = 0; k < COMPILES; k++) {
        int id = next_id++;
        char src[512];
        int in = 8 + id, out = 5 + id % 7, h = 16 + 3 * id;
        snprintf(src, sizeof src,
                 "model m%d(x: f32[batch, %d]) -> f32[batch, %d] {\n"
                 "    return gelu(dense(swiglu(dense(x, %d, name = \"a\"), dense(x, %d, name = \"b\")), %d, name = \"o\"))\n}\n",
                 id, in, out, h, h, out);
        actc_session *s;
        actc_jit_model *j;
        actrt_model *m = build(src, &s, &j);
        float x[13 * 64], y1[13 * 16], y2[13 * 16];
        for (int q = 0; q < 13 * in; q++)
            x[q] = 0.01f * (float)(q % 97) - 0.4f;
        if (!m || actrt_model_run(m, 13, (const float *const[]){x}, (float *const[]){y1}) ||
            actrt_model_run(m, 13, (const float *const[]){x}, (float *const[]){y2}) ||
            memcmp(y1, y2, sizeof(float) * (size_t)(13 * out)) != 0)
            failures++;
        actrt_model_free(m);
        actc_jit_free(j);
        actc_session_free(s);
    }
    return NULL;
}

enum { STAT_RUNNERS = 8, STAT_RUNS = 1000 };
static atomic_int stat_runners_done, bad_reads;

static void *stat_runner(void *arg) {
    Shared *sh = arg;
    float out[BATCH * D];
    for (int it = 0; it < STAT_RUNS; it++)
        if (actrt_model_run(sh->m, BATCH, (const float *const[]){sh->in}, (float *const[]){out}) != ACTC_OK)
            failures++;
    stat_runners_done++;
    return NULL;
}

/* Reads while the runs go on: each sees a whole number of runs. */
static void *stat_reader(void *arg) {
    Shared *sh = arg;
    while (stat_runners_done < STAT_RUNNERS) {
        actrt_site_stats st = {.size = sizeof st};
        if (actrt_model_stats_read(sh->m, 0, &st) != ACTC_OK || st.samples % BATCH != 0)
            bad_reads++;
        int64_t total = 0;
        for (int b = 0; b < ACTRT_STATS_BINS + 2; b++)
            total += st.hist[b];
        if (total != st.samples * st.units)
            bad_reads++;
    }
    return NULL;
}

static int statistics(const float *in) {
    actc_session *s;
    actc_jit_model *j;
    actc_options o = {.stats = 1};
    actrt_model *m = build_opts(FFN, &o, &s, &j);
    if (!m || actrt_model_num_sites(m) != 1) {
        fprintf(stderr, "concurrency: cannot build the statistics model\n");
        return 1;
    }
    Shared sh = {m, in, NULL};
    pthread_t r[STAT_RUNNERS], reader;
    pthread_create(&reader, NULL, stat_reader, &sh);
    for (int i = 0; i < STAT_RUNNERS; i++)
        pthread_create(&r[i], NULL, stat_runner, &sh);
    for (int i = 0; i < STAT_RUNNERS; i++)
        pthread_join(r[i], NULL);
    pthread_join(reader, NULL);
    actrt_site_stats st = {.size = sizeof st};
    int bad = actrt_model_stats_read(m, 0, &st) != ACTC_OK || st.samples != (int64_t)STAT_RUNNERS * STAT_RUNS * BATCH;
    printf("concurrency: statistics of %lld samples from %d threads (%d bad reads during the runs)\n",
           (long long)st.samples, STAT_RUNNERS, (int)bad_reads);
    actrt_model_free(m);
    actc_jit_free(j);
    actc_session_free(s);
    return bad || bad_reads;
}

int main(void) {
    actc_session *s;
    actc_jit_model *j;
    actrt_model *m = build(FFN, &s, &j);
    if (!m) {
        fprintf(stderr, "concurrency: cannot build the model: %s\n", s ? actc_last_error(s) : "no session");
        return 1;
    }
    static float in[BATCH * D], want[BATCH * D];
    for (int q = 0; q < BATCH * D; q++)
        in[q] = 0.02f * (float)(q % 101) - 1.0f;
    if (actrt_model_run(m, BATCH, (const float *const[]){in}, (float *const[]){want}) != ACTC_OK)
        return 1;
    Shared sh = {m, in, want};
    pthread_t r[RUNNERS], c[COMPILERS];
    for (int i = 0; i < RUNNERS; i++)
        pthread_create(&r[i], NULL, runner, &sh);
    for (int i = 0; i < COMPILERS; i++)
        pthread_create(&c[i], NULL, compiler, NULL);
    for (int i = 0; i < RUNNERS; i++)
        pthread_join(r[i], NULL);
    for (int i = 0; i < COMPILERS; i++)
        pthread_join(c[i], NULL);
    printf("concurrency: %d runs on %d threads (%d differ, %d failed) while %d threads compiled %d models\n",
           RUNNERS * RUNS, RUNNERS, (int)mismatches, (int)failures, COMPILERS, COMPILERS * COMPILES);
    actrt_model_free(m);
    actc_jit_free(j);
    actc_session_free(s);
    int stats_bad = statistics(in);
    return mismatches || failures || stats_bad ? 1 : 0;
}
