/*
 * embedded.c — the runtime of a self-contained AOT object (docs/aot.md,
 * "Embedded weights"): create, run, last_error, destroy, set_threads,
 * set_parallel_for and workspace_size for a model whose packed weights are
 * constant data in the object.  Not part of libactrt: the build compiles
 * this file with clang-19 to LLVM bitcode for each supported triple
 * (cmake/EmbeddedRuntime.cmake), libactc carries the bitcode as data, and
 * aot.c links it into every object compiled with --embed-weights, with
 * internal linkage for everything here.  The object's PREFIX_* functions are
 * thin wrappers: create passes the model's description (the actrt_desc the
 * object embeds) and its packed weights; everything model-specific (names,
 * fixed batch, scratch per row, kernels) is read from that description.
 *
 * Freestanding: the object links with libc's malloc and free alone
 * (declared here by hand: the build has no target headers), plus weak
 * references to libactrt, which loads other weights when the host links it.
 * Argument checks and their messages are libactrt's (run_checks.h).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actc/runtime.h"
#include "actc/status.h"
#include "cpu.h"
#include "pack.h"
#include "run_checks.h"
#include "stats.h"

char *getenv(const char *name);
void *malloc(size_t size);
void free(void *p);

/* libactrt when the host links it, else these are NULL: replacing the
 * embedded weights (a non-NULL path) needs it, nothing else does. */
#pragma weak actrt_model_create_loaded
#pragma weak actrt_last_error
#pragma weak actrt_model_run
#pragma weak actrt_model_free
#pragma weak actrt_model_stats_read
#pragma weak actrt_model_stats_reset

/* The host's parallel-for hook (the header's PREFIX_parallel_for_fn). */
typedef void (*emb_task_fn)(void *arg, int64_t i);
typedef void (*emb_pfor_fn)(void *user, int64_t ntasks, emb_task_fn task, void *arg);

/* An instance: what PREFIX_create returns as PREFIX_model *. */
typedef struct Instance Instance;

/* The interface to aot.c, which calls these from the PREFIX_* wrappers (and
 * checks their LLVM types against its own when it links this file). */
int actc_emb_create(const actrt_variant *variants, int nvariants, Instance **out, const char *path,
                    const void *data, size_t len);
const char *actc_emb_variant(const Instance *m);
int actc_emb_run(Instance *m, int64_t batch, const float *const *inputs, float *const *outputs);
const char *actc_emb_last_error(const Instance *m);
void actc_emb_destroy(Instance *m);
int actc_emb_set_threads(Instance *m, int threads);
int actc_emb_set_parallel_for(Instance *m, emb_pfor_fn fn, void *user);
int64_t actc_emb_workspace_size(const Instance *m, int64_t batch);
int actc_emb_stats_read(Instance *m, int site, actrt_site_stats *out);
int actc_emb_stats_reset(Instance *m);

enum {
    ERR_MAX = 512, /* bytes of a message, as libactrt's */
    MAX_TASKS = 16 /* tasks a parallel run is split into, at most */
};

struct Instance {
    const char *variant;   /* the variant chosen at create (cpu.h) */
    const actrt_desc *d;
    const float *const *w; /* the packed weights: in the object, or `own` */
    float **own;           /* weights packed at create (a variant whose layouts differ), else NULL */
    actrt_model *rt;       /* non-NULL: weights libactrt loaded, and runs go there */
    int threads;           /* recorded; threads come from the parallel-for hook */
    emb_pfor_fn pfor;
    void *pfor_user;
    char error[ERR_MAX];   /* the last failed call's message, for any thread */
    /* activation statistics (d->nsites > 0; docs/stats.md): one block per
     * task of a run, merged on read.  `busy` is a spin lock (no pthreads
     * here) that a run, a read and a reset each hold: with statistics, runs
     * on one instance take turns. */
    char *stats;
    int nstats;
    int64_t samples;
    int busy;
};

/* Messages, kept as libactrt keeps them: this thread's last failed create
 * (or call with a NULL model), and a private copy of the last failed call on
 * a model, so that two threads failing on one model at once each read their
 * own message.  Scratch: one buffer per thread, grown only for a larger
 * batch, so a steady state allocates nothing.  aot.c links one copy of this
 * file per model: each model has its own. */
static _Thread_local char create_error[ERR_MAX];
static _Thread_local struct {
    const Instance *m;
    char msg[ERR_MAX];
} last;
static _Thread_local struct {
    float *buf;
    int64_t cap; /* floats */
} scratch;

/* An explicit loop: -ffreestanding leaves no memcpy/strcpy to call. */
static void copy_str(char *dst, const char *src, size_t cap) {
    size_t i = 0;
    for (; src && src[i] && i + 1 < cap; i++)
        dst[i] = src[i];
    dst[i] = 0;
}

/* Where a message about m goes (see failed). */
static RtMsg msg_for(const Instance *m) { return rt_msg(m ? last.msg : create_error, ERR_MAX); }

/* Publish the message built by msg_for(m) as m's last error; returns st. */
static int failed(Instance *m, int st) {
    if (m) {
        last.m = m;
        copy_str(m->error, last.msg, sizeof m->error);
    }
    return st;
}

static int fail(Instance *m, int st, const char *text) {
    RtMsg msg = msg_for(m);
    rt_puts(&msg, text);
    return failed(m, st);
}

/* 64-byte aligned blocks over malloc (a vector load of a weight panel or a
 * partial sum never spans two cache lines; libactrt's rt_calloc_aligned):
 * the block malloc returned sits just below the aligned one. */
static void *alloc_aligned(size_t bytes) {
    if (bytes > (size_t)-1 - 64 - sizeof(void *))
        return NULL;
    char *raw = malloc(bytes + 64 + sizeof(void *));
    if (!raw)
        return NULL;
    void **p = (void **)(((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63);
    p[-1] = raw;
    return p;
}

static void free_aligned(void *p) {
    if (p)
        free(((void **)p)[-1]);
}

/* The statistics lock (Instance.busy): spin, with a pause, until free. */
static void lock(Instance *m) {
    while (__atomic_exchange_n(&m->busy, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&m->busy, __ATOMIC_RELAXED))
#if defined(__x86_64__)
            __builtin_ia32_pause();
#else
            ;
#endif
}

static void unlock(Instance *m) { __atomic_store_n(&m->busy, 0, __ATOMIC_RELEASE); }

/* The owned weights table of an instance: nweights pointers the kernels
 * read, then nweights pointers to free (NULL where a slot is shared). */
static void free_own(float **own, int nweights) {
    if (!own)
        return;
    for (int i = 0; i < nweights; i++)
        free_aligned(own[nweights + i]);
    free(own);
}

/* Weights for variant v, whose object stores none: each slot of v's
 * layouts from the same slice of the last variant that has weights, shared
 * where the packing is the same, repacked otherwise (docs/aot.md,
 * "Variants": the weights are stored once). */
static int pack_variant(const actrt_variant *variants, int n, int v, float ***out) {
    int s = n - 1;
    while (s >= 0 && !variants[s].weights)
        s--;
    const actrt_desc *d = variants[v].desc;
    if (s < 0)
        return fail(NULL, ACTC_ERR_INTERNAL, "create: this object has no embedded weights for any variant");
    const actrt_desc *sd = variants[s].desc;
    float **own = malloc(sizeof(float *) * (size_t)(2 * d->nweights + 1));
    if (!own)
        return fail(NULL, ACTC_ERR_NOMEM, "out of memory packing the weights of this CPU's variant");
    for (int i = 0; i < 2 * d->nweights; i++)
        own[i] = 0;
    for (int i = 0; i < d->nweights; i++) {
        const actrt_weight_desc *dw = &d->weights[i];
        int j = 0;
        while (j < sd->nweights && !rt_same_packing(dw, &sd->weights[j]))
            j++;
        if (j < sd->nweights) {
            own[i] = (float *)variants[s].weights[j]; /* read only, like every weight */
            continue;
        }
        for (j = 0; j < sd->nweights && !rt_same_slice(dw, &sd->weights[j]); j++)
            ;
        float *p = j < sd->nweights ? alloc_aligned((size_t)actrt_weight_bytes(dw) + 4) : 0;
        if (!p) {
            free_own(own, d->nweights);
            return j < sd->nweights ? fail(NULL, ACTC_ERR_NOMEM, "out of memory packing the weights of this CPU's variant")
                                    : fail(NULL, ACTC_ERR_INTERNAL, "create: a weight slot of the variant has no source");
        }
        rt_repack(dw, p, &sd->weights[j], variants[s].weights[j]);
        own[i] = own[d->nweights + i] = p;
    }
    *out = own;
    return ACTC_OK;
}

/* create: NULL path and data -> the embedded weights; otherwise libactrt
 * loads the file or bytes (if linked) and the runs go through it. */
int actc_emb_create(const actrt_variant *variants, int nvariants, Instance **out, const char *path,
                    const void *data, size_t len) {
    if (!out)
        return fail(NULL, ACTC_ERR_ARG, "create: out is NULL");
    *out = NULL;
    /* the variant first: nothing of a variant runs before the CPU is known to run it */
    RtMsg vmsg = msg_for(NULL);
    int v = rt_choose_variant(variants, nvariants, rt_cpu_features(), getenv("ACTC_CPU_VARIANT"), &vmsg);
    if (v < 0)
        return failed(NULL, ACTC_ERR_ARG);
    const actrt_desc *d = variants[v].desc;
    const float *const *w = variants[v].weights;
    actrt_model *rt = NULL;
    if (path || data) {
        if (!actrt_model_create_loaded)
            return fail(NULL, ACTC_ERR_ARG, "replacing the embedded weights needs libactrt: link it, or pass NULL");
        int st = actrt_model_create_loaded(&rt, d, path, data, len);
        if (st) {
            copy_str(create_error, actrt_last_error(NULL), sizeof create_error);
            return st;
        }
    }
    float **own = NULL;
    if (!rt && !w) {
        int st = pack_variant(variants, nvariants, v, &own);
        if (st)
            return st;
        w = (const float *const *)own;
    }
    Instance *m = malloc(sizeof *m);
    if (!m) {
        if (rt)
            actrt_model_free(rt);
        free_own(own, d->nweights);
        return fail(NULL, ACTC_ERR_NOMEM, "out of memory");
    }
    /* field by field: zeroing the whole struct could become a memset call */
    m->variant = variants[v].name, m->d = d, m->w = w, m->own = own, m->rt = rt, m->threads = 0, m->pfor = NULL,
    m->pfor_user = NULL;
    m->error[0] = 0;
    m->stats = NULL, m->nstats = 0, m->samples = 0, m->busy = 0;
    *out = m;
    return ACTC_OK;
}

/* One run's arguments for its tasks. */
typedef struct Task {
    const actrt_desc *d;
    const float *const *w;
    const float *const *in;
    float *const *out;
    float *scratch;
    int64_t batch, chunk; /* task i computes rows [i * chunk, min((i + 1) * chunk, batch)) */
    char *stats;          /* statistics: task i counts into block i (stats_bytes each), else NULL */
} Task;

/* Every kernel over task i's rows, every column (runtime.h: any split
 * computes the same bits, so serial and parallel runs agree). */
static void run_task(void *arg, int64_t i) {
    const Task *t = arg;
    int64_t r0 = i * t->chunk, r1 = r0 + t->chunk < t->batch ? r0 + t->chunk : t->batch;
    for (int k = 0; k < t->d->nkernels; k++)
        t->d->kernels[k](t->w, t->in, t->out, t->scratch, t->batch, r0, r1, 0, INT64_MAX,
                         t->stats ? t->stats + t->d->stats_bytes * i : NULL, t->d->kernel_tables[k]);
}

int actc_emb_run(Instance *m, int64_t batch, const float *const *inputs, float *const *outputs) {
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "run: model is NULL");
    if (m->rt)
        return actrt_model_run(m->rt, batch, inputs, outputs);
    const actrt_desc *d = m->d;
    RtMsg msg = msg_for(m);
    int64_t need = 0;
    int st = rt_check_batch(d, batch, &msg);
    if (st == ACTC_OK)
        st = rt_check_buffers(d, batch, inputs, outputs, &need, &msg);
    if (st)
        return failed(m, st);
    if (batch == 0) /* no rows: no kernel runs, nothing is read or written */
        return ACTC_OK;
    if (scratch.cap < need) { /* on failure the old buffer stays; 64-byte aligned, like libactrt's */
        float *nb = alloc_aligned((size_t)need * sizeof(float));
        if (!nb)
            return failed(m, rt_scratch_oom(&msg, need));
        free_aligned(scratch.buf);
        scratch.buf = nb, scratch.cap = need;
    }
    Task t = {d, m->w, inputs, outputs, scratch.buf, batch, batch, NULL};
    /* the hook only for two row tiles or more: tasks of whole tiles */
    int64_t ntasks = 1;
    if (m->pfor && batch >= 2 * rt_row_tile(d)) {
        t.chunk = rt_chunk_rows(d, batch, MAX_TASKS);
        ntasks = (batch + t.chunk - 1) / t.chunk;
    }
    if (d->nsites > 0) {
        lock(m);
        if (m->nstats < ntasks) { /* more tasks than before: new blocks, the counts kept */
            size_t bytes = (size_t)d->stats_bytes;
            char *nb = alloc_aligned(bytes * (size_t)ntasks);
            if (!nb) {
                unlock(m);
                return failed(m, rt_scratch_oom(&msg, need));
            }
            for (size_t q = 0; q < bytes * (size_t)m->nstats; q++)
                nb[q] = m->stats[q];
            for (int64_t q = m->nstats; q < ntasks; q++)
                rt_stats_block_init(d, nb + bytes * (size_t)q);
            free_aligned(m->stats);
            m->stats = nb, m->nstats = (int)ntasks;
        }
        t.stats = m->stats;
    }
    if (ntasks > 1)
        m->pfor(m->pfor_user, ntasks, run_task, &t);
    else
        run_task(&t, 0);
    if (d->nsites > 0) {
        m->samples += batch;
        unlock(m);
    }
    return ACTC_OK;
}

int actc_emb_stats_read(Instance *m, int site, actrt_site_stats *out) {
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "stats_read: model is NULL");
    if (m->rt)
        return actrt_model_stats_read(m->rt, site, out);
    const actrt_desc *d = m->d;
    if (site < 0 || site >= d->nsites || !out || out->size != sizeof *out)
        return fail(m, ACTC_ERR_ARG, "stats_read: a site out of range, or out NULL or of another size");
    const actrt_site_desc *sd = &d->sites[site];
    int from = sd->same_as >= 0 ? sd->same_as : site;
    if (d->sites[from].offset < 0)
        return fail(m, ACTC_ERR_ARG, "stats_read: this site is not counted: no kernel computes its value");
    lock(m);
    rt_stats_begin(out, site, sd->units, m->samples);
    double sum = 0, sumsq = 0;
    for (int t = 0; t < m->nstats; t++)
        rt_stats_add(&d->sites[from], m->stats + d->stats_bytes * t, out, &sum, &sumsq);
    unlock(m);
    rt_stats_end(out, sum, sumsq);
    return ACTC_OK;
}

int actc_emb_stats_reset(Instance *m) {
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "stats_reset: model is NULL");
    if (m->rt)
        return actrt_model_stats_reset(m->rt);
    lock(m);
    for (int t = 0; t < m->nstats; t++)
        rt_stats_block_init(m->d, m->stats + m->d->stats_bytes * t);
    m->samples = 0;
    unlock(m);
    return ACTC_OK;
}

const char *actc_emb_last_error(const Instance *m) {
    if (!m)
        return create_error;
    if (m->rt)
        return actrt_last_error(m->rt);
    return last.m == m ? last.msg : m->error;
}

void actc_emb_destroy(Instance *m) {
    if (!m)
        return;
    if (m->rt)
        actrt_model_free(m->rt);
    free_own(m->own, m->d->nweights);
    free_aligned(m->stats);
    free(m);
}

int actc_emb_set_threads(Instance *m, int threads) {
    if (!m || threads < 0)
        return ACTC_ERR_ARG;
    m->threads = threads;
    return ACTC_OK;
}

int actc_emb_set_parallel_for(Instance *m, emb_pfor_fn fn, void *user) {
    if (!m)
        return ACTC_ERR_ARG;
    m->pfor = fn, m->pfor_user = user;
    return ACTC_OK;
}

int64_t actc_emb_workspace_size(const Instance *m, int64_t batch) { return m ? rt_workspace_bytes(m->d, batch) : -1; }

const char *actc_emb_variant(const Instance *m) { return m ? m->variant : 0; }
