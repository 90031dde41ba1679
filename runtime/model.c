/*
 * model.c — runnable models (include/actc/runtime.h): weights are loaded
 * from safetensors, checked against the description and packed once into
 * the kernels' layouts; a run validates its arguments, takes a scratch
 * buffer from the model's pool (grown only for a larger batch, so steady
 * state allocates nothing) and calls the kernels in order.
 */
#ifdef _OPENMP
#include <omp.h>
#else /* built without OpenMP (ACTC_OPENMP=OFF, the TSan build): serial */
#include <time.h>
static int omp_get_max_threads(void) { return 1; }
static int omp_in_parallel(void) { return 0; }
static int omp_get_thread_num(void) { return 0; }
static int omp_get_num_threads(void) { return 1; }
static double omp_get_wtime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#endif
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "pack.h"
#include "internal.h"
#include "run_checks.h"
#include "stats.h"

typedef struct Scratch {
    float *buf;
    int64_t cap;   /* floats */
    char *stats;   /* models with statistics: nstats blocks of stats_bytes, one per thread of a run */
    int nstats;
    struct Scratch *next;
} Scratch;

struct actrt_model {
    const actrt_desc *d;
    const char *variant;  /* actrt_model_create_variant: the variant's name */
    float **packed;       /* per weight */
    bool loaded;
    int threads;          /* 0: OpenMP's default (OMP_NUM_THREADS) */
    double row_work;      /* multiply-adds per batch row, all kernels */
    pthread_mutex_t lock; /* guards the scratch pool */
    Scratch *pool;
    /* statistics (d->nsites > 0): runs hold it shared, a read or reset
     * exclusive, so that they see every scratch buffer in the pool */
    pthread_rwlock_t stats_lock;
    int64_t samples;      /* rows run since create or reset (atomic) */
    int rounded;          /* tensors rounded into compact weights at the last load */
    /* actrt_model_set_strict: tensors of the source the model does not read
     * are an error unless a glob of ignore matches them (NULL: the default,
     * "*.num_batches_tracked") */
    bool strict;
    char **ignore;
    int nignore;
    char error[2048];
};

/* This thread's last failure: for create (m == NULL) and for calls with a
 * NULL model, and a private copy for calls on a model, so that two threads
 * failing on one model at once each read their own message. */
static _Thread_local char create_error[2048];
static _Thread_local struct {
    const actrt_model *m;
    char msg[2048];
} last;

static int fail(actrt_model *m, int st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(actrt_model *m, int st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m ? last.msg : create_error, sizeof create_error, fmt, ap);
    va_end(ap);
    if (m) {
        last.m = m;
        memcpy(m->error, last.msg, sizeof m->error); /* also visible from other threads */
    }
    return st;
}

void rt_set_global_error(const char *msg) { snprintf(create_error, sizeof create_error, "%s", msg); }

const char *actrt_last_error(const actrt_model *m) {
    if (!m)
        return create_error;
    return last.m == m ? last.msg : m->error;
}

static const actrt_kernel_kind kernel_kinds[] = {
#define ACTRT_KERNEL(id, name, projections, row_ops) {name, projections, row_ops},
#include "actc/kernels.def"
#undef ACTRT_KERNEL
};

const actrt_kernel_kind *actrt_kernel_kind_of(int kind) {
    return kind >= 0 && kind < ACTRT_KERNEL_COUNT ? &kernel_kinds[kind] : NULL;
}

double actrt_kernel_row_work(const actrt_kernel_info *ki) {
    const actrt_kernel_kind *kk = ki ? actrt_kernel_kind_of(ki->kind) : NULL;
    if (!kk)
        return 0;
    return (double)ki->n * ((double)kk->projections * (double)(ki->k > 0 ? ki->k : 0) + (double)kk->row_ops);
}

static bool desc_ok(const actrt_desc *d, char *why, size_t n) {
    if (d->abi_version != ACTRT_ABI_VERSION) {
        snprintf(why, n, "the model was compiled for runtime ABI %u, this libactrt is ABI %u", d->abi_version,
                 ACTRT_ABI_VERSION);
        return false;
    }
    if (d->ninputs < 0 || d->noutputs < 1 || d->ntensors < 0 || d->nweights < 0 || d->nkernels < 1 ||
        d->scratch_per_row < 0 || d->row_tile < 1 || d->nsites < 0 || (d->nsites > 0 && (!d->sites || d->stats_bytes <= 0))) {
        snprintf(why, n, "the model description is malformed");
        return false;
    }
    for (int i = 0; i < d->ninputs + d->noutputs; i++) {
        const actrt_port_desc *p = i < d->ninputs ? &d->inputs[i] : &d->outputs[i - d->ninputs];
        int64_t per_row = 1;
        bool ok = p->elem == ACTRT_ELEM_F32 && p->rank >= 2 && p->rank <= ACTRT_MAX_RANK &&
                  (p->shape[0] == ACTRT_DIM_BATCH || p->shape[0] == d->fixed_batch);
        for (int k = 1; ok && k < p->rank; k++)
            ok = p->shape[k] >= 0 && !__builtin_mul_overflow(per_row, p->shape[k], &per_row);
        if (!ok || per_row != p->n) {
            snprintf(why, n, "the model description is malformed (%s %d)", i < d->ninputs ? "input" : "output",
                     i < d->ninputs ? i : i - d->ninputs);
            return false;
        }
    }
    for (int i = 0; i < d->ntensors; i++)
        if (d->tensors[i].elem != ACTRT_ELEM_F32 || actrt_tensor_numel(&d->tensors[i]) < 0) {
            snprintf(why, n, "the model description is malformed (tensor %d)", i);
            return false;
        }
    for (int k = 0; d->kernel_info && k < d->nkernels; k++)
        if (!actrt_kernel_kind_of(d->kernel_info[k].kind)) {
            snprintf(why, n, "the model description is malformed (kernel %d has kind %d)", k, d->kernel_info[k].kind);
            return false;
        }
    for (int i = 0; i < d->nsites; i++) {
        const actrt_site_desc *st = &d->sites[i];
        int64_t lay[8];
        actrt_site_layout(st->units, st->kind, lay);
        if (st->kind < ACTRT_SITE_NEVER_POSITIVE || st->kind > ACTRT_SITE_SATURATING || st->units < 0 ||
            st->same_as >= i || st->same_as < -1 ||
            (st->offset >= 0 && (st->offset % 64 || st->units > d->stats_bytes || st->offset > d->stats_bytes - lay[7]))) {
            snprintf(why, n, "the model description is malformed (site %d)", i);
            return false;
        }
    }
    if (d->nderived < 0 || (d->nderived > 0 && !d->derived)) {
        snprintf(why, n, "the model description is malformed (derived tensors)");
        return false;
    }
    for (int i = 0; i < d->nderived; i++)
        if (!rt_derived_ok(d, i)) {
            snprintf(why, n, "the model description is malformed (derived tensor %d)", i);
            return false;
        }
    for (int i = 0; i < d->nweights; i++) {
        const actrt_weight_desc *w = &d->weights[i];
        if (w->tensor < 0 || w->tensor >= d->ntensors + d->nderived || rt_elem_size(w->elem) == 0 ||
            (w->elem != ACTRT_ELEM_F32 && w->layout != ACTRT_LAYOUT_PANEL) || actrt_weight_bytes(w) < 0 ||
            (w->layout == ACTRT_LAYOUT_PANEL && w->panel <= 0)) {
            snprintf(why, n, "the model description is malformed (weight %d)", i);
            return false;
        }
    }
    return true;
}

int actrt_model_create(actrt_model **out, const actrt_desc *desc) {
    if (!out)
        return fail(NULL, ACTC_ERR_ARG, "actrt_model_create: out is NULL");
    *out = NULL;
    if (!desc)
        return fail(NULL, ACTC_ERR_ARG, "actrt_model_create: desc is NULL");
    char why[200];
    if (!desc_ok(desc, why, sizeof why))
        return fail(NULL, ACTC_ERR_ARG, "%s", why);
    actrt_model *m = rt_calloc(1, sizeof *m);
    if (!m)
        return fail(NULL, ACTC_ERR_NOMEM, "out of memory");
    m->packed = rt_calloc((size_t)desc->nweights + 1, sizeof(float *));
    if (!m->packed) {
        rt_free(m);
        return fail(NULL, ACTC_ERR_NOMEM, "out of memory");
    }
    m->d = desc;
    m->loaded = desc->nweights == 0;
    for (int k = 0; k < desc->nkernels; k++) {
        const actrt_kernel_info *ki = desc->kernel_info ? &desc->kernel_info[k] : NULL;
        m->row_work += ki ? actrt_kernel_row_work(ki) : 1e4;
    }
    pthread_mutex_init(&m->lock, NULL);
    pthread_rwlock_init(&m->stats_lock, NULL);
    *out = m;
    return ACTC_OK;
}

static void free_packed(float **p, int n) {
    for (int i = 0; i < n; i++)
        rt_free_aligned(p[i]);
}

void actrt_model_free(actrt_model *m) {
    if (!m)
        return;
    for (int i = 0; i < m->nignore; i++)
        rt_free(m->ignore[i]);
    rt_free(m->ignore);
    free_packed(m->packed, m->d->nweights);
    rt_free(m->packed);
    for (Scratch *s = m->pool; s;) {
        Scratch *n = s->next;
        rt_free_aligned(s->buf);
        rt_free_aligned(s->stats);
        rt_free(s);
        s = n;
    }
    pthread_mutex_destroy(&m->lock);
    pthread_rwlock_destroy(&m->stats_lock);
    rt_free(m);
}

/* ---- weights ---- */

int64_t actrt_tensor_numel(const actrt_tensor_desc *t) {
    if (!t || t->rank < 1 || t->rank > ACTRT_MAX_RANK)
        return -1;
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        if (t->shape[i] < 0 || __builtin_mul_overflow(n, t->shape[i], &n))
            return -1;
    return n;
}


static void shape_str(char *buf, size_t n, const int64_t *shape, int rank) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}


/* f32 -> bf16, rounded to nearest even; a NaN stays a (quiet) NaN. */
static uint16_t to_bf16(float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

/* f32 -> IEEE binary16, rounded to nearest even (subnormals included); a
 * NaN stays a (quiet) NaN.  *overflow: a finite |v| > 65504. */
static uint16_t to_f16(float v, bool *overflow) {
    uint32_t u;
    memcpy(&u, &v, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00 | ((a >> 13) & 0x3ff));
    if (a == 0x7f800000u)
        return (uint16_t)(sign | 0x7c00);
    if (fabsf(v) > 65504.0f) {
        *overflow = true;
        return (uint16_t)(sign | 0x7c00);
    }
    if (a < 0x38800000u) { /* below 2^-14: a subnormal f16 (or 0), m * 2^-24 */
        float m = fabsf(v) * 16777216.0f; /* exact: a power-of-two scaling of an f32 below 2^-14 */
        return (uint16_t)(sign | (uint16_t)nearbyintf(m)); /* the default rounding: to nearest even */
    }
    uint32_t r = a - 0x38000000u; /* rebias 127 -> 15 */
    r = (r + 0xfffu + ((r >> 13) & 1)) >> 13;
    return (uint16_t)(sign | r);
}

/* The f32 value of a compact element (for "did packing change it?"). */
static float widen(int32_t elem, uint16_t h) {
    uint32_t u;
    if (elem == ACTRT_ELEM_BF16) {
        u = (uint32_t)h << 16;
    } else {
        uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, mant = h & 0x3ffu;
        if (e == 0) {
            float f = (float)mant / 16777216.0f;
            memcpy(&u, &f, 4);
            u |= sign;
        } else {
            u = sign | (e == 0x1f ? 0x7f800000u | mant << 13 : (e + 112) << 23 | mant << 13);
        }
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* int8 quantisation of one row of k values (docs/language.md, "Weight
 * types"): per group of ACTRT_I8_GROUP, s = fl(max |w| / 127) (1 for an
 * all-zero group), q = the nearest even integer to w / s (the quotient in
 * f64) clamped to [-127, 127].  false for a NaN or infinite value. */
static bool quantize_row(const float *w, int64_t k, int8_t *q, float *s) {
    for (int64_t g0 = 0; g0 < k; g0 += ACTRT_I8_GROUP) {
        int64_t g1 = g0 + ACTRT_I8_GROUP < k ? g0 + ACTRT_I8_GROUP : k;
        float mx = 0;
        for (int64_t c = g0; c < g1; c++) {
            if (!isfinite(w[c]))
                return false;
            mx = fabsf(w[c]) > mx ? fabsf(w[c]) : mx;
        }
        /* at least the smallest subnormal: a group of tiny weights never gets a zero
         * scale (w / 0); below 127 * 2^-149 they are then exact multiples of it */
        float sc = mx > 0 ? fmaxf(mx / 127.0f, 0x1p-149f) : 1.0f;
        s[g0 / ACTRT_I8_GROUP] = sc;
        for (int64_t c = g0; c < g1; c++) {
            double v = nearbyint((double)w[c] / (double)sc);
            q[c] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
    return true;
}

int actrt_int8_dequantized(const float *src, int64_t rows, int64_t cols, float *dst) {
    if (!src || !dst || rows < 0 || cols < 0)
        return fail(NULL, ACTC_ERR_ARG, "actrt_int8_dequantized: invalid arguments");
    for (int64_t i = 0; i < rows * cols; i++) /* first, so that dst (maybe src) stays unchanged on error */
        if (!isfinite(src[i]))
            return fail(NULL, ACTC_ERR_WEIGHTS, "actrt_int8_dequantized: row %lld has a NaN or infinite value",
                        (long long)(i / cols));
    int64_t groups = (cols + ACTRT_I8_GROUP - 1) / ACTRT_I8_GROUP;
    int8_t *q = rt_alloc((size_t)(cols ? cols : 1));
    float *sc = rt_calloc((size_t)(groups ? groups : 1), sizeof(float));
    int st = q && sc ? ACTC_OK : fail(NULL, ACTC_ERR_NOMEM, "out of memory");
    for (int64_t r = 0; r < rows && st == ACTC_OK; r++) {
        quantize_row(src + r * cols, cols, q, sc);
        for (int64_t c = 0; c < cols; c++)
            dst[r * cols + c] = (float)q[c] * sc[c / ACTRT_I8_GROUP];
    }
    rt_free(q);
    rt_free(sc);
    return st;
}

/* Pack tensor t (f32, row-major) into every weight slot that reads it, in
 * the slot's element type; *changed: some value of it was rounded. */
static int pack_tensor(actrt_model *m, float **packed, int ti, const float *src, bool *changed) {
    const actrt_desc *d = m->d;
    for (int i = 0; i < d->nweights; i++) {
        const actrt_weight_desc *w = &d->weights[i];
        if (w->tensor != ti)
            continue;
        int64_t k = w->layout == ACTRT_LAYOUT_VEC ? 1 : w->k;
        int esz = rt_elem_size(w->elem);
        int64_t bytes = actrt_weight_bytes(w);
        void *p = rt_calloc_aligned((size_t)(bytes ? bytes : 1), 1); /* zero padding from calloc */
        if (!p)
            return fail(m, ACTC_ERR_NOMEM, "out of memory packing '%s'", rt_tensor_name(d, ti));
        if (w->elem == ACTRT_ELEM_I8) { /* per row: values and group scales */
            int64_t groups = (k + ACTRT_I8_GROUP - 1) / ACTRT_I8_GROUP;
            int8_t *q = rt_alloc((size_t)k);
            float *sc = rt_calloc((size_t)groups, sizeof(float));
            bool ok = q && sc;
            for (int64_t r = 0; r < w->n && ok; r++) {
                if (!quantize_row(src + (w->lo + r) * k, k, q, sc)) {
                    rt_free(q), rt_free(sc), rt_free_aligned(p);
                    return fail(m, ACTC_ERR_WEIGHTS,
                                "tensor '%s' (declared at %s): a NaN or infinite value cannot be quantised to int8",
                                rt_tensor_name(d, ti), rt_tensor_declared(d, ti));
                }
                for (int64_t c = 0; c < k; c++)
                    ((int8_t *)p)[rt_i8_q_at(w, r, c)] = q[c];
                for (int64_t g = 0; g < groups; g++)
                    memcpy((char *)p + rt_i8_s_at(w, r, g), &sc[g], 4);
            }
            rt_free(q), rt_free(sc);
            if (!ok) {
                rt_free_aligned(p);
                return fail(m, ACTC_ERR_NOMEM, "out of memory packing '%s'", rt_tensor_name(d, ti));
            }
            packed[i] = p;
            continue;
        }
        bool overflow = false;
        for (int64_t r = 0; r < w->n; r++)
            for (int64_t c = 0; c < k; c++) {
                float v = src[(w->lo + r) * k + c];
                int64_t at = rt_packed_index(w, r, c);
                if (esz == 4) {
                    ((float *)p)[at] = v;
                    continue;
                }
                uint16_t h = w->elem == ACTRT_ELEM_BF16 ? to_bf16(v) : to_f16(v, &overflow);
                ((uint16_t *)p)[at] = h;
                float back = widen(w->elem, h);
                if (memcmp(&back, &v, 4) != 0 && !(back != back && v != v))
                    *changed = true;
            }
        if (overflow) {
            rt_free_aligned(p);
            return fail(m, ACTC_ERR_WEIGHTS,
                        "tensor '%s' (declared at %s): a value beyond the f16 range (|x| > 65504) for f16 weights",
                        rt_tensor_name(d, ti), rt_tensor_declared(d, ti));
        }
        packed[i] = p;
    }
    return ACTC_OK;
}

/* Where tensors come from: safetensors files, or arrays in memory. */
typedef struct Source {
    StFile *files;
    int nfiles;
    const actrt_tensor *arrays;
    int narrays;
} Source;

/* Find `name`; fill rank/shape and a description of where it is. */
static bool source_find(const Source *src, const char *name, int *rank, int64_t *shape, const StFile **ff,
                        const StTensor **st, const float **arr) {
    for (int f = 0; f < src->nfiles; f++) {
        const StTensor *t = st_find(&src->files[f], name);
        if (t) {
            *ff = &src->files[f], *st = t, *arr = NULL;
            *rank = t->rank;
            for (int i = 0; i < t->rank; i++)
                shape[i] = t->shape[i];
            return true;
        }
    }
    for (int i = 0; i < src->narrays; i++)
        if (strcmp(src->arrays[i].name, name) == 0) {
            *ff = NULL, *st = NULL, *arr = src->arrays[i].data;
            *rank = src->arrays[i].rank;
            for (int k = 0; k < src->arrays[i].rank; k++)
                shape[k] = src->arrays[i].shape[k];
            return true;
        }
    return false;
}

/* A hint for a missing tensor: the file holds it under another prefix
 * (`module.fc1.weight` for `fc1.weight`), or without the prefix given. */
static void prefix_hint(const Source *src, const char *bare, const char *prefix, char *out, size_t n) {
    out[0] = 0;
    size_t lb = strlen(bare);
    for (int f = 0; f < src->nfiles; f++)
        for (int i = 0; i < src->files[f].ntensors; i++) {
            const char *tn = src->files[f].tensors[i].name;
            size_t lt = strlen(tn);
            if (prefix && *prefix && strcmp(tn, bare) == 0) {
                snprintf(out, n, "; the file has '%s' without the prefix '%s'", tn, prefix);
                return;
            }
            if (lt > lb && tn[lt - lb - 1] == '.' && strcmp(tn + lt - lb, bare) == 0) {
                snprintf(out, n, "; the file has '%s': use the weights prefix '%.*s'", tn, (int)(lt - lb), tn);
                return;
            }
        }
}

/* Where tensor ti of the description was found in a source. */
typedef struct Found {
    char name[1024];     /* prefix + the tensor's name: what was looked up */
    const StFile *file;  /* the file that holds it (with st), or NULL: */
    const StTensor *st;
    const float *arr;    /* an array in memory */
} Found;

/* The one lookup behind every load and actrt_model_read_tensors: tensor ti
 * of the description as prefix + its name, in the first file that holds it,
 * then among the arrays, with its shape checked.  A missing tensor (with a
 * prefix hint) or a wrong shape is an error naming the tensor, the file and
 * the model line that declared it. */
static int find_tensor(actrt_model *m, const Source *src, const char *prefix, int ti, Found *f) {
    const actrt_tensor_desc *t = &m->d->tensors[ti];
    snprintf(f->name, sizeof f->name, "%s%s", prefix ? prefix : "", t->name);
    int64_t have_shape[ST_MAX_RANK];
    int have_rank;
    const char *where = src->nfiles ? src->files[0].name : "the tensors given";
    if (!source_find(src, f->name, &have_rank, have_shape, &f->file, &f->st, &f->arr)) {
        char hint[600];
        prefix_hint(src, t->name, prefix, hint, sizeof hint);
        return fail(m, ACTC_ERR_WEIGHTS, "missing tensor '%s' (declared at %s) in %s%s%s", f->name, t->declared_at,
                    where, src->nfiles > 1 ? " and the other shards" : "", hint);
    }
    bool same = have_rank == t->rank;
    for (int i = 0; same && i < t->rank; i++)
        same = have_shape[i] == t->shape[i];
    if (!same) {
        char have[128], need[128];
        shape_str(have, sizeof have, have_shape, have_rank);
        shape_str(need, sizeof need, t->shape, t->rank);
        return fail(m, ACTC_ERR_WEIGHTS, "%s: tensor '%s' has shape %s, expected %s (declared at %s)",
                    f->file ? f->file->name : where, f->name, have, need, t->declared_at);
    }
    return ACTC_OK;
}

/* ---- the checkpoint's names as a whole ---- */

/* Levenshtein distance of a and b, or limit + 1 once it exceeds limit
 * (names longer than 255 bytes are compared by length only). */
static int name_distance(const char *a, const char *b, int limit) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 255 || lb > 255 || abs(la - lb) > limit)
        return abs(la - lb) > limit ? limit + 1 : abs(la - lb);
    int row[256];
    for (int j = 0; j <= lb; j++)
        row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0], best = row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j];
            int v = diag + (a[i - 1] != b[j - 1]);
            v = up + 1 < v ? up + 1 : v;
            v = row[j - 1] + 1 < v ? row[j - 1] + 1 : v;
            row[j] = v;
            diag = up;
            best = v < best ? v : best;
        }
        if (best > limit)
            return limit + 1;
    }
    return row[lb];
}

static int source_count(const Source *src) {
    int n = src->narrays;
    for (int f = 0; f < src->nfiles; f++)
        n += src->files[f].ntensors;
    return n;
}
static const char *source_name(const Source *src, int i) {
    for (int f = 0; f < src->nfiles; f++) {
        if (i < src->files[f].ntensors)
            return src->files[f].tensors[i].name;
        i -= src->files[f].ntensors;
    }
    return src->arrays[i].name;
}

/* The source's name nearest to `want` (within a quarter of its length, at
 * least 2 edits), or NULL. */
static const char *nearest_name(const Source *src, const char *want) {
    int limit = (int)strlen(want) / 4, best = -1;
    limit = limit < 2 ? 2 : limit;
    const char *near = NULL;
    for (int i = 0, n = source_count(src); i < n; i++) {
        int dist = name_distance(want, source_name(src, i), best >= 0 ? best - 1 : limit);
        if (dist <= (best >= 0 ? best - 1 : limit))
            best = dist, near = source_name(src, i);
    }
    return near;
}

static bool ignored(const actrt_model *m, const char *name) {
    if (!m->ignore)
        return fnmatch("*.num_batches_tracked", name, 0) == 0;
    for (int i = 0; i < m->nignore; i++)
        if (fnmatch(m->ignore[i], name, 0) == 0)
            return true;
    return false;
}

enum { NAMES_LISTED = 8 }; /* names listed in one message */

/* Every tensor the model reads must be in the source: one message lists up
 * to NAMES_LISTED missing names, each with the line that declared it and
 * the nearest name present (or a prefix hint for the first).  Strict: every
 * tensor of the source must be read (or ignored). */
static int check_names(actrt_model *m, const Source *src, const char *prefix) {
    const actrt_desc *d = m->d;
    const char *where = src->nfiles ? src->files[0].name : "the tensors given";
    char msg[2048], name[1024];
    int nmissing = 0, len = 0, first = -1;
    msg[0] = 0;
    for (int ti = 0; ti < d->ntensors; ti++) {
        int rank;
        int64_t shape[ST_MAX_RANK];
        const StFile *ff;
        const StTensor *st;
        const float *arr;
        snprintf(name, sizeof name, "%s%s", prefix ? prefix : "", d->tensors[ti].name);
        if (source_find(src, name, &rank, shape, &ff, &st, &arr))
            continue;
        if (nmissing++ == 0) {
            first = ti;
            continue;
        }
        if (nmissing > NAMES_LISTED || len >= (int)sizeof msg - 200)
            continue;
        const char *near = nearest_name(src, name);
        len += snprintf(msg + len, sizeof msg - (size_t)len, "%s'%s' (declared at %s%s%s%s)", nmissing == 2 ? "" : ", ",
                        name, d->tensors[ti].declared_at, near ? "; nearest: '" : "", near ? near : "",
                        near ? "'" : "");
    }
    if (nmissing) {
        const actrt_tensor_desc *t = &d->tensors[first];
        char hint[700], more[2100] = "";
        snprintf(name, sizeof name, "%s%s", prefix ? prefix : "", t->name);
        prefix_hint(src, t->name, prefix, hint, sizeof hint);
        if (!hint[0]) {
            const char *near = nearest_name(src, name);
            if (near)
                snprintf(hint, sizeof hint, "; nearest: '%s'", near);
        }
        if (nmissing > 1 && strncmp(hint, "; the file has", 14) == 0) /* a prefix: the same for them all */
            snprintf(more, sizeof more, "; %d tensors missing in all", nmissing);
        else if (nmissing > 1)
            snprintf(more, sizeof more, "; %d tensors missing in all, also %s%s", nmissing, msg,
                     nmissing > NAMES_LISTED ? ", ..." : "");
        return fail(m, ACTC_ERR_WEIGHTS, "missing tensor '%s' (declared at %s) in %s%s%s%s", name, t->declared_at,
                    where, src->nfiles > 1 ? " and the other shards" : "", hint, more);
    }
    if (!m->strict)
        return ACTC_OK;
    int nextra = 0;
    len = 0;
    msg[0] = 0;
    const char *first_extra = NULL;
    for (int i = 0, n = source_count(src); i < n; i++) {
        const char *sn = source_name(src, i);
        bool read = false;
        size_t lp = prefix ? strlen(prefix) : 0;
        if (!prefix || strncmp(sn, prefix, lp) == 0)
            for (int ti = 0; ti < d->ntensors && !read; ti++)
                read = strcmp(sn + lp, d->tensors[ti].name) == 0;
        if (read || ignored(m, sn))
            continue;
        if (nextra++ == 0)
            first_extra = sn;
        else if (nextra <= NAMES_LISTED && len < (int)sizeof msg - 300)
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s'%.250s'", nextra == 2 ? "" : ", ", sn);
    }
    if (nextra) {
        char count[64] = "";
        if (nextra > 1)
            snprintf(count, sizeof count, "; %d such tensors in all, also ", nextra);
        return fail(m, ACTC_ERR_WEIGHTS, "%s has tensor '%s' that the model does not read (strict)%s%s%s; "
                    "allow such tensors with --ignore-tensors GLOB", where, first_extra, count, msg,
                    nextra > NAMES_LISTED ? ", ..." : "");
    }
    return ACTC_OK;
}

int actrt_model_set_strict(actrt_model *m, int strict, const char *const *ignore, int nignore) {
    static const char who[] = "actrt_model_set_strict";
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "%s: model is NULL", who);
    if (nignore < 0 || (nignore > 0 && !ignore))
        return fail(m, ACTC_ERR_ARG, "%s: %s", who, nignore < 0 ? "nignore must be >= 0" : "ignore is NULL");
    for (int i = 0; i < nignore; i++)
        if (!ignore[i])
            return fail(m, ACTC_ERR_ARG, "%s: ignore[%d] is NULL", who, i);
    char **copy = NULL;
    int n = 0;
    if (ignore) {
        copy = rt_calloc((size_t)nignore + 1, sizeof(char *));
        for (; copy && n < nignore; n++) {
            size_t l = strlen(ignore[n]) + 1;
            if (!(copy[n] = rt_calloc(l, 1)))
                break;
            memcpy(copy[n], ignore[n], l);
        }
        if (!copy || n < nignore) { /* nothing changes on error */
            for (int i = 0; copy && i < n; i++)
                rt_free(copy[i]);
            rt_free(copy);
            return fail(m, ACTC_ERR_NOMEM, "%s: out of memory", who);
        }
    }
    for (int i = 0; i < m->nignore; i++)
        rt_free(m->ignore[i]);
    rt_free(m->ignore);
    m->strict = strict != 0;
    m->ignore = copy;
    m->nignore = n;
    return ACTC_OK;
}

/* A tensor find_tensor found in a file, as f32 into dst (numel floats); a
 * dtype that does not convert is an error naming the tensor and the line. */
static int read_tensor(actrt_model *m, const Found *f, int ti, float *dst) {
    char err[512];
    int st = st_read_f32(f->file, f->st, dst, err, sizeof err);
    return st == ACTC_OK ? ACTC_OK : fail(m, st, "%s (declared at %s)", err, m->d->tensors[ti].declared_at);
}

/* Whether a derived tensor reads tensor ti. */
static bool derive_reads(const actrt_desc *d, int ti) {
    for (int i = 0; i < d->nderived; i++) {
        const actrt_derived_desc *v = &d->derived[i];
        if (v->matrix == ti || v->bias == ti || v->weight == ti || v->shift == ti || v->mean == ti || v->var == ti)
            return true;
    }
    return false;
}

/* Compute and pack the derived tensors from the kept tensors. */
static int derive_all(actrt_model *m, float **packed, const float *const *kept, int *rounded) {
    const actrt_desc *d = m->d;
    for (int i = 0; i < d->nderived; i++) {
        const actrt_derived_desc *v = &d->derived[i];
        int64_t numel = v->shape[0] * (v->rank == 2 ? v->shape[1] : 1);
        float *tmp = rt_calloc((size_t)numel, sizeof(float));
        if (!tmp)
            return fail(m, ACTC_ERR_NOMEM, "out of memory folding '%s'", v->name);
        char err[512];
        int st = rt_derive(d, i, kept, tmp, err, sizeof err);
        bool changed = false;
        st = st != ACTC_OK ? fail(m, st, "%s", err) : pack_tensor(m, packed, d->ntensors + i, tmp, &changed);
        *rounded += changed;
        rt_free(tmp);
        if (st != ACTC_OK)
            return st;
    }
    return ACTC_OK;
}

/* Bind every tensor of the description from the source: pack each one,
 * keeping those a derived tensor reads until the derived ones are packed. */
static int bind_all(actrt_model *m, const Source *src, const char *prefix) {
    const actrt_desc *d = m->d;
    float **packed = rt_calloc((size_t)d->nweights + 1, sizeof(float *));
    const float **kept = rt_calloc((size_t)d->ntensors + 1, sizeof(float *));
    bool *owned = rt_calloc((size_t)d->ntensors + 1, sizeof(bool));
    if (!packed || !kept || !owned) {
        rt_free(packed), rt_free(kept), rt_free(owned);
        return fail(m, ACTC_ERR_NOMEM, "out of memory");
    }
    int st = check_names(m, src, prefix), rounded = 0;
    for (int ti = 0; ti < d->ntensors && st == ACTC_OK; ti++) {
        const actrt_tensor_desc *t = &d->tensors[ti];
        Found f;
        if ((st = find_tensor(m, src, prefix, ti, &f)) != ACTC_OK)
            break;
        bool changed = false, keep = derive_reads(d, ti);
        if (f.arr) { /* arrays in memory: pack straight from them */
            st = pack_tensor(m, packed, ti, f.arr, &changed);
            rounded += changed;
            if (keep)
                kept[ti] = f.arr;
            continue;
        }
        float *tmp = rt_calloc((size_t)(actrt_tensor_numel(t) ? actrt_tensor_numel(t) : 1), sizeof(float));
        if (!tmp) {
            st = fail(m, ACTC_ERR_NOMEM, "out of memory reading '%s'", f.name);
            break;
        }
        st = read_tensor(m, &f, ti, tmp);
        if (st == ACTC_OK)
            st = pack_tensor(m, packed, ti, tmp, &changed);
        rounded += changed;
        if (keep && st == ACTC_OK)
            kept[ti] = tmp, owned[ti] = true;
        else
            rt_free(tmp);
    }
    if (st == ACTC_OK)
        st = derive_all(m, packed, kept, &rounded);
    for (int ti = 0; ti < d->ntensors; ti++)
        if (owned[ti])
            rt_free((void *)kept[ti]);
    rt_free(kept), rt_free(owned);
    if (st != ACTC_OK) { /* nothing changes on error */
        free_packed(packed, d->nweights);
        rt_free(packed);
        return st;
    }
    free_packed(m->packed, d->nweights);
    rt_free(m->packed);
    m->packed = packed;
    m->loaded = true;
    m->rounded = rounded;
    return ACTC_OK;
}

/* Open (and validate) the safetensors files paths[0 .. npaths) as the
 * source's files; `who` names the public function in messages.  The caller
 * has checked paths and npaths.  On failure nothing stays open. */
static int open_files(actrt_model *m, const char *who, const char *const *paths, int npaths, Source *src) {
    *src = (Source){0};
    StFile *files = rt_calloc((size_t)npaths, sizeof(StFile));
    if (!files)
        return fail(m, ACTC_ERR_NOMEM, "out of memory");
    int st = ACTC_OK, opened = 0;
    char err[512];
    for (; opened < npaths && st == ACTC_OK; opened++) {
        if (!paths[opened]) {
            st = fail(m, ACTC_ERR_ARG, "%s: path %d is NULL", who, opened);
            break;
        }
        int ost = st_open(&files[opened], paths[opened], err, sizeof err); /* IO, NOMEM or WEIGHTS */
        if (ost != ACTC_OK) {
            st = fail(m, ost, "%s", err);
            break;
        }
    }
    if (st != ACTC_OK) {
        for (int i = 0; i < opened; i++)
            st_close(&files[i]);
        rt_free(files);
        return st;
    }
    *src = (Source){.files = files, .nfiles = npaths};
    return ACTC_OK;
}

static void close_files(Source *src) {
    for (int i = 0; i < src->nfiles; i++)
        st_close(&src->files[i]);
    rt_free(src->files);
    *src = (Source){0};
}

int actrt_model_load_weights(actrt_model *m, const char *const *paths, int npaths, const char *prefix) {
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "actrt_model_load_weights: model is NULL");
    if (!paths || npaths <= 0)
        return fail(m, ACTC_ERR_ARG, "actrt_model_load_weights: no weights file given");
    Source src;
    int st = open_files(m, "actrt_model_load_weights", paths, npaths, &src);
    if (st != ACTC_OK)
        return st;
    st = bind_all(m, &src, prefix);
    close_files(&src);
    return st;
}

int actrt_model_read_tensors(actrt_model *m, const char *const *paths, int npaths, const char *prefix,
                             float ***data) {
    static const char who[] = "actrt_model_read_tensors";
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "%s: model is NULL", who);
    if (!data)
        return fail(m, ACTC_ERR_ARG, "%s: data is NULL", who);
    *data = NULL;
    if (!paths)
        return fail(m, ACTC_ERR_ARG, "%s: paths is NULL", who);
    if (npaths <= 0)
        return fail(m, ACTC_ERR_ARG, "%s: npaths must be at least 1, got %d", who, npaths);
    const actrt_desc *d = m->d;
    /* One block: the ntensors pointers, then every tensor's floats. */
    size_t bytes = sizeof(float *) * (size_t)d->ntensors;
    bool overflow = false;
    for (int ti = 0; ti < d->ntensors; ti++) {
        const actrt_tensor_desc *t = &d->tensors[ti];
        size_t n;
        if (actrt_tensor_numel(t) < 0)
            return fail(m, ACTC_ERR_ARG, "the model description is malformed (tensor %d)", ti);
        overflow |= __builtin_mul_overflow((size_t)actrt_tensor_numel(t), sizeof(float), &n) ||
                    __builtin_add_overflow(bytes, n, &bytes);
    }
    Source src;
    int st = open_files(m, who, paths, npaths, &src);
    if (st != ACTC_OK)
        return st;
    float **out = overflow ? NULL : rt_alloc(bytes);
    if (!out)
        st = fail(m, ACTC_ERR_NOMEM, "out of memory reading the tensors of model '%s'", d->name);
    float *next = out ? (float *)(out + d->ntensors) : NULL;
    if (st == ACTC_OK)
        st = check_names(m, &src, prefix);
    for (int ti = 0; ti < d->ntensors && st == ACTC_OK; ti++) {
        Found f;
        if ((st = find_tensor(m, &src, prefix, ti, &f)) != ACTC_OK)
            break;
        out[ti] = next;
        st = read_tensor(m, &f, ti, next);
        next += actrt_tensor_numel(&d->tensors[ti]);
    }
    close_files(&src);
    if (st != ACTC_OK) {
        rt_free(out);
        return st;
    }
    *data = out;
    return ACTC_OK;
}

int actrt_model_load_weights_memory(actrt_model *m, const void *data, size_t len, const char *prefix) {
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "actrt_model_load_weights_memory: model is NULL");
    if (!data)
        return fail(m, ACTC_ERR_ARG, "actrt_model_load_weights_memory: data is NULL");
    StFile f;
    char err[512];
    int ost = st_open_memory(&f, data, len, "<memory>", err, sizeof err);
    if (ost != ACTC_OK)
        return fail(m, ost, "%s", err);
    Source src = {.files = &f, .nfiles = 1};
    int st = bind_all(m, &src, prefix);
    st_close(&f);
    return st;
}

int actrt_model_load_tensors(actrt_model *m, const actrt_tensor *tensors, int n) {
    static const char who[] = "actrt_model_load_tensors";
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "%s: model is NULL", who);
    if (n < 0)
        return fail(m, ACTC_ERR_ARG, "%s: n must be >= 0, got %d", who, n);
    if (n > 0 && !tensors)
        return fail(m, ACTC_ERR_ARG, "%s: tensors is NULL", who);
    for (int i = 0; i < n; i++) {
        const actrt_tensor *t = &tensors[i];
        if (!t->name || !t->data)
            return fail(m, ACTC_ERR_ARG, "%s: tensor %d: %s is NULL", who, i, !t->name ? "name" : "data");
        if (t->rank < 1 || t->rank > ACTRT_MAX_RANK)
            return fail(m, ACTC_ERR_ARG, "%s: tensor '%s': rank %d is not in 1..%d", who, t->name, t->rank,
                        ACTRT_MAX_RANK);
        if (t->elem != ACTRT_ELEM_F32)
            return fail(m, ACTC_ERR_ARG, "%s: tensor '%s': element type %d is not ACTRT_ELEM_F32 (the only one "
                        "this version accepts)", who, t->name, t->elem);
        for (int k = 0; k < t->rank; k++)
            if (t->shape[k] < 0)
                return fail(m, ACTC_ERR_ARG, "%s: tensor '%s': dimension %d is negative (%lld)", who, t->name, k,
                            (long long)t->shape[k]);
    }
    Source src = {.arrays = tensors, .narrays = n};
    return bind_all(m, &src, NULL);
}

/* ---- running ---- */

static void give_scratch(actrt_model *m, Scratch *s);

/* A scratch buffer of `need` floats (and, with statistics, nth blocks).
 * On failure a buffer taken from the pool goes back to it unchanged: its
 * statistics are kept. */
static Scratch *take_scratch(actrt_model *m, int64_t need, int nth) {
    const actrt_desc *d = m->d;
    int blocks = d->nsites > 0 ? nth : 0;
    pthread_mutex_lock(&m->lock);
    Scratch **pp = &m->pool, *s = NULL;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->cap >= need && (*pp)->nstats >= blocks) {
            s = *pp;
            *pp = s->next;
            break;
        }
    if (!s && m->pool) { /* none large enough: grow one */
        s = m->pool;
        m->pool = s->next;
    }
    pthread_mutex_unlock(&m->lock);
    bool fresh = !s;
    if (!s && !(s = rt_calloc(1, sizeof *s)))
        return NULL;
    if (s->cap < need) {
        /* 64-byte aligned (the partial sums' slots start on cache lines);
         * the contents need not survive */
        float *nb = rt_calloc_aligned((size_t)need, sizeof(float));
        if (!nb)
            goto fail;
        rt_free_aligned(s->buf);
        s->buf = nb;
        s->cap = need;
    }
    if (s->nstats < blocks) { /* more threads than before: the old blocks' counts move along */
        size_t bytes = (size_t)d->stats_bytes;
        char *nb = rt_calloc_aligned((size_t)blocks, bytes);
        if (!nb)
            goto fail;
        if (s->nstats)
            memcpy(nb, s->stats, bytes * (size_t)s->nstats);
        for (int t = s->nstats; t < blocks; t++)
            actrt_stats_block_init(d, nb + bytes * (size_t)t);
        rt_free_aligned(s->stats);
        s->stats = nb;
        s->nstats = blocks;
    }
    return s;
fail:
    if (fresh) {
        rt_free_aligned(s->buf);
        rt_free(s);
    } else {
        give_scratch(m, s);
    }
    return NULL;
}

/* A run's scratch buffer (and, with statistics, the statistics lock held
 * shared until end_run: a read or reset waits for the run); NULL when out
 * of memory, the lock released. */
static Scratch *begin_run(actrt_model *m, int64_t need, int nth) {
    bool stats = m->d->nsites > 0;
    if (stats)
        pthread_rwlock_rdlock(&m->stats_lock);
    Scratch *s = take_scratch(m, need, nth);
    if (!s && stats)
        pthread_rwlock_unlock(&m->stats_lock);
    return s;
}

static void end_run(actrt_model *m, Scratch *s, int64_t batch) {
    give_scratch(m, s);
    if (m->d->nsites > 0) {
        __atomic_fetch_add(&m->samples, batch, __ATOMIC_RELAXED);
        pthread_rwlock_unlock(&m->stats_lock);
    }
}

/* Thread t's statistics block in s, or NULL without statistics. */
static void *stats_block(const actrt_model *m, const Scratch *s, int t) {
    return m->d->nsites > 0 ? s->stats + (size_t)m->d->stats_bytes * (size_t)t : NULL;
}

static void give_scratch(actrt_model *m, Scratch *s) {
    pthread_mutex_lock(&m->lock);
    s->next = m->pool;
    m->pool = s;
    pthread_mutex_unlock(&m->lock);
}

int64_t actrt_model_workspace_size(const actrt_model *m, int64_t batch) {
    return m ? rt_workspace_bytes(m->d, batch) : -1;
}

/* Check a run's arguments (run_checks.h, shared with the embedded runtime,
 * plus the weights being loaded); the scratch size in floats through *need. */
static int check_run(actrt_model *m, int64_t batch, const float *const *inputs, float *const *outputs, int64_t *need) {
    const actrt_desc *d = m->d;
    char msg[sizeof m->error];
    RtMsg rm = rt_msg(msg, sizeof msg);
    int st = rt_check_batch(d, batch, &rm);
    if (st == ACTC_OK && !m->loaded)
        return fail(m, ACTC_ERR_ARG, "model '%s' has no weights: call actrt_model_load_weights first", d->name);
    if (st == ACTC_OK)
        st = rt_check_buffers(d, batch, inputs, outputs, need, &rm);
    return st == ACTC_OK ? ACTC_OK : fail(m, st, "%s", msg);
}

static int scratch_oom(actrt_model *m, int64_t need) {
    char msg[128];
    RtMsg rm = rt_msg(msg, sizeof msg);
    return fail(m, rt_scratch_oom(&rm, need), "%s", msg);
}

/* Threads for a run: an explicit setting is followed; by default
 * (OpenMP's count) threads are used only for a few hundred microseconds of
 * work, ~2^22 multiply-adds, where they pay off.  Never inside another
 * parallel region.  Fewer rows than a register tile (rt_row_tile) per
 * thread split columns instead (columns_mode), which needs the kernel table. */
static int threads_for(const actrt_model *m, int64_t batch) {
    int nth = m->threads > 0 ? m->threads : omp_get_max_threads();
    if (nth <= 1 || omp_in_parallel() || (m->threads == 0 && m->row_work * (double)batch < 4194304.0) ||
        (batch < 2 * rt_row_tile(m->d) && !m->d->kernel_info))
        return 1;
    return nth;
}

static bool columns_mode(const actrt_model *m, int64_t batch, int nth) {
    return nth > 1 && batch < rt_row_tile(m->d) * nth && m->d->kernel_info;
}

/* Kernel k over rows [r0, r1), every column. */
static void kernel_rows(const actrt_model *m, int k, const float *const *inputs, float *const *outputs, float *buf,
                        int64_t batch, int64_t r0, int64_t r1, void *stats) {
    m->d->kernels[k]((const float *const *)m->packed, inputs, outputs, buf, batch, r0, r1, 0, INT64_MAX, stats,
                     m->d->kernel_tables[k]);
}

/* Thread t of T's share of kernel k over all rows: a contiguous run of its
 * column steps (whole rows on thread 0 for a kernel that cannot split). */
static void kernel_part(const actrt_model *m, int k, const float *const *inputs, float *const *outputs, float *buf,
                        int64_t batch, int t, int T, void *stats) {
    const actrt_desc *d = m->d;
    const actrt_kernel_info *ki = &d->kernel_info[k];
    int64_t c0 = 0, c1 = INT64_MAX;
    if (ki->col_step > 0) {
        int64_t steps = (ki->n + ki->col_step - 1) / ki->col_step;
        c0 = steps * t / T * ki->col_step;
        c1 = steps * (t + 1) / T * ki->col_step;
        if (c0 >= c1)
            return;
    } else if (t != 0) {
        return;
    }
    d->kernels[k]((const float *const *)m->packed, inputs, outputs, buf, batch, 0, batch, c0, c1, stats,
                  d->kernel_tables[k]);
}

int actrt_model_run(actrt_model *m, int64_t batch, const float *const *inputs, float *const *outputs) {
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "actrt_model_run: model is NULL");
    const actrt_desc *d = m->d;
    int64_t need;
    int st = check_run(m, batch, inputs, outputs, &need);
    if (st || batch == 0) /* no rows: no kernel runs, nothing is read or written */
        return st;
    int nth = threads_for(m, batch);
    Scratch *s = begin_run(m, need, nth);
    if (!s)
        return scratch_oom(m, need);
    /* Every kernel computes a row from the same row of earlier results, so
     * the model is row-parallel: each thread runs all kernels on its own
     * rows, with no barrier between kernels.  Chunks are multiples of the
     * register tile's rows (rt_row_tile), and an element's arithmetic does not depend
     * on which chunk holds it: results are bitwise identical for any
     * thread count. */
    if (columns_mode(m, batch, nth)) {
        /* A few rows: every kernel's columns are split among the threads,
         * with a barrier after each kernel (the next reads whole rows). */
#pragma omp parallel num_threads(nth)
        {
            int t = omp_get_thread_num(), T = omp_get_num_threads();
            for (int k = 0; k < d->nkernels; k++) {
                kernel_part(m, k, inputs, outputs, s->buf, batch, t, T, stats_block(m, s, t));
#pragma omp barrier
            }
        }
    } else if (nth > 1) {
        int64_t chunk = rt_chunk_rows(d, batch, nth);
        int nchunks = (int)((batch + chunk - 1) / chunk);
#pragma omp parallel for num_threads(nth) schedule(static)
        for (int c = 0; c < nchunks; c++) {
            int64_t r0 = c * chunk, r1 = r0 + chunk < batch ? r0 + chunk : batch;
            for (int k = 0; k < d->nkernels; k++)
                kernel_rows(m, k, inputs, outputs, s->buf, batch, r0, r1, stats_block(m, s, omp_get_thread_num()));
        }
    } else {
        for (int k = 0; k < d->nkernels; k++)
            kernel_rows(m, k, inputs, outputs, s->buf, batch, 0, batch, stats_block(m, s, 0));
    }
    end_run(m, s, batch);
    return ACTC_OK;
}

int actrt_model_profile(actrt_model *m, int64_t batch, const float *const *inputs, float *const *outputs,
                        double *seconds) {
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "actrt_model_profile: model is NULL");
    if (!seconds)
        return fail(m, ACTC_ERR_ARG, "actrt_model_profile: seconds is NULL");
    const actrt_desc *d = m->d;
    int64_t need;
    int st = check_run(m, batch, inputs, outputs, &need);
    if (st)
        return st;
    if (batch == 0) { /* no rows: no kernel runs */
        for (int k = 0; k < d->nkernels; k++)
            seconds[k] = 0;
        return ACTC_OK;
    }
    int nth = threads_for(m, batch);
    Scratch *s = begin_run(m, need, nth);
    if (!s)
        return scratch_oom(m, need);
    bool cols = columns_mode(m, batch, nth);
    int64_t chunk = rt_chunk_rows(d, batch, nth);
    int nchunks = (int)((batch + chunk - 1) / chunk);
    for (int k = 0; k < d->nkernels; k++) {
        double t0 = omp_get_wtime();
        if (cols) {
#pragma omp parallel num_threads(nth)
            kernel_part(m, k, inputs, outputs, s->buf, batch, omp_get_thread_num(), omp_get_num_threads(),
                        stats_block(m, s, omp_get_thread_num()));
        } else {
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
            for (int c = 0; c < nchunks; c++) {
                int64_t r0 = c * chunk, r1 = r0 + chunk < batch ? r0 + chunk : batch;
                kernel_rows(m, k, inputs, outputs, s->buf, batch, r0, r1, stats_block(m, s, omp_get_thread_num()));
            }
        }
        seconds[k] = omp_get_wtime() - t0;
    }
    end_run(m, s, batch);
    return ACTC_OK;
}

/* ---- activation statistics (docs/stats.md) ---- */

int actrt_model_num_sites(const actrt_model *m) { return m ? m->d->nsites : 0; }

const actrt_site_desc *actrt_model_site(const actrt_model *m, int site) {
    return m && site >= 0 && site < m->d->nsites ? &m->d->sites[site] : NULL;
}

int actrt_model_stats_reset(actrt_model *m) {
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "actrt_model_stats_reset: model is NULL");
    const actrt_desc *d = m->d;
    if (d->nsites <= 0)
        return fail(m, ACTC_ERR_ARG, "model '%s' was compiled without statistics (actc_options.stats)", d->name);
    pthread_rwlock_wrlock(&m->stats_lock);
    for (Scratch *s = m->pool; s; s = s->next)
        for (int t = 0; t < s->nstats; t++)
            actrt_stats_block_init(d, s->stats + (size_t)d->stats_bytes * (size_t)t);
    m->samples = 0;
    pthread_rwlock_unlock(&m->stats_lock);
    return ACTC_OK;
}

int actrt_model_stats_read(actrt_model *m, int site, actrt_site_stats *out) {
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "actrt_model_stats_read: model is NULL");
    const actrt_desc *d = m->d;
    if (d->nsites <= 0)
        return fail(m, ACTC_ERR_ARG, "model '%s' was compiled without statistics (actc_options.stats)", d->name);
    if (site < 0 || site >= d->nsites)
        return fail(m, ACTC_ERR_ARG, "actrt_model_stats_read: site %d out of range (the model has %d)", site, d->nsites);
    if (!out || out->size != sizeof *out)
        return fail(m, ACTC_ERR_ARG, "actrt_model_stats_read: out is NULL or its size field is not sizeof(actrt_site_stats) (%zu)",
                    sizeof *out);
    const actrt_site_desc *sd = &d->sites[site];
    int from = sd->same_as >= 0 ? sd->same_as : site;
    if (d->sites[from].offset < 0)
        return fail(m, ACTC_ERR_ARG, "site %d ('%s' at line %d) is not counted: no kernel computes its value", site,
                    sd->op, sd->line);
    pthread_rwlock_wrlock(&m->stats_lock);
    rt_stats_begin(out, site, sd->units, m->samples);
    double sum = 0, sumsq = 0;
    for (Scratch *s = m->pool; s; s = s->next)
        for (int t = 0; t < s->nstats; t++)
            rt_stats_add(&d->sites[from], s->stats + (size_t)d->stats_bytes * (size_t)t, out, &sum, &sumsq);
    pthread_rwlock_unlock(&m->stats_lock);
    rt_stats_end(out, sum, sumsq);
    return ACTC_OK;
}

int actrt_model_set_threads(actrt_model *m, int threads) {
    if (!m)
        return fail(NULL, ACTC_ERR_ARG, "actrt_model_set_threads: model is NULL");
    if (threads < 0)
        return fail(m, ACTC_ERR_ARG, "thread count must be >= 0 (0: OpenMP's default), got %d", threads);
    m->threads = threads;
    return ACTC_OK;
}

int64_t actrt_model_fixed_batch(const actrt_model *m) { return m ? m->d->fixed_batch : -1; }

int actrt_model_num_inputs(const actrt_model *m) { return m ? m->d->ninputs : -1; }
int actrt_model_num_outputs(const actrt_model *m) { return m ? m->d->noutputs : -1; }

const char *actrt_model_input(const actrt_model *m, int i, int64_t *features) {
    if (!m || i < 0 || i >= m->d->ninputs)
        return NULL;
    if (features)
        *features = m->d->inputs[i].n;
    return m->d->inputs[i].name;
}

const char *actrt_model_output(const actrt_model *m, int i, int64_t *features) {
    if (!m || i < 0 || i >= m->d->noutputs)
        return NULL;
    if (features)
        *features = m->d->outputs[i].n;
    return m->d->outputs[i].name;
}

int actrt_model_create_loaded(actrt_model **out, const actrt_desc *desc, const char *path, const void *data,
                              size_t len) {
    if (out)
        *out = NULL;
    if (desc && desc->ntensors > 0 && !path && !data)
        return fail(NULL, ACTC_ERR_ARG, "model '%s' needs weights: give a safetensors file (the object was compiled "
                                        "without embedded weights)", desc->name);
    int st = actrt_model_create(out, desc);
    if (st)
        return st;
    actrt_model *m = *out;
    if (path)
        st = actrt_model_load_weights(m, &path, 1, NULL);
    else if (data)
        st = actrt_model_load_weights_memory(m, data, len, NULL);
    if (st) {
        snprintf(create_error, sizeof create_error, "%s", actrt_last_error(m));
        actrt_model_free(m);
        *out = NULL;
    }
    return st;
}


int actrt_model_rounded_tensors(const actrt_model *m) { return m ? m->rounded : 0; }

const float *actrt_model_packed_weight(const actrt_model *m, int i, int64_t *count) {
    if (!m || i < 0 || i >= m->d->nweights || !m->loaded)
        return NULL;
    if (count)
        *count = rt_packed_count(&m->d->weights[i]);
    return m->packed[i];
}

/* ---- variants (cpu.h) ---- */

uint64_t actrt_cpu_features(void) { return rt_cpu_features(); }

const char *actrt_model_variant(const actrt_model *m) { return m ? m->variant : NULL; }

int actrt_model_create_variant(actrt_model **out, const actrt_variant *variants, int n, const char *path,
                               const void *data, size_t len) {
    if (out)
        *out = NULL;
    if (!out || !variants || n < 1)
        return fail(NULL, ACTC_ERR_ARG, "actrt_model_create_variant: %s", !out ? "out is NULL" : "no variants");
    RtMsg msg = rt_msg(create_error, sizeof create_error);
    int v = rt_choose_variant(variants, n, rt_cpu_features(), getenv("ACTC_CPU_VARIANT"), &msg);
    if (v < 0)
        return ACTC_ERR_ARG;
    int st = actrt_model_create_loaded(out, variants[v].desc, path, data, len);
    if (st == ACTC_OK)
        (*out)->variant = variants[v].name;
    return st;
}
