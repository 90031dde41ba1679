/*
 * runtime.h — the public runtime API of actc (libactrt): load weights, run a
 * compiled model, query its shapes.  Used by JIT callers (through
 * actc_jit_* in actc.h) and by generated AOT code.  libactrt never links
 * LLVM.  Every function returns an actc_status code (0 = ACTC_OK) and keeps
 * a message for actrt_last_error().  See docs/api.md.
 */
#ifndef ACTC_RUNTIME_H
#define ACTC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "actc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ACTRT_API __attribute__((visibility("default")))
#else
#define ACTRT_API
#endif

/* An allocator for the runtime, in the style of lua_Alloc (see
 * actc_set_allocator).  NULL restores the C library's. */
typedef void *(*actrt_alloc_fn)(void *ud, void *ptr, size_t size);
ACTRT_API void actrt_set_allocator(actrt_alloc_fn fn, void *ud);

/* ---- the description of a compiled model (the ABI between generated code
 * and the runtime; the compiler fills it, JIT or AOT) ---- */

#define ACTRT_ABI_VERSION 9u

/* Ranks of tensors and ports: 1 to ACTRT_MAX_RANK; unused dims are 0. */
#define ACTRT_MAX_RANK 4
/* A port's batch dimension (shape[0]) when the model takes any batch. */
#define ACTRT_DIM_BATCH (-1)

/* Element types.  Tensors, ports and the arrays a host passes are f32;
 * a packed weight (actrt_weight_desc.elem) may be stored compact: bf16 or
 * f16 (IEEE binary16), which the kernels widen exactly (docs/language.md,
 * "Weight types"). */
enum { ACTRT_ELEM_F32 = 0, ACTRT_ELEM_BF16 = 1, ACTRT_ELEM_F16 = 2, ACTRT_ELEM_I8 = 3 };
/* ACTRT_ELEM_I8: int8 values q with one f32 scale s per output unit and
 * group of ACTRT_I8_GROUP consecutive k (docs/language.md, "Weight
 * types"); the weight is fl(q * s).  A PANEL slot of it holds, per panel,
 * q as [k][panel] int8 then s as [ceil(k / ACTRT_I8_GROUP)][panel] f32. */
#define ACTRT_I8_GROUP 32

/* A learned tensor the model reads, with PyTorch's name and shape. */
typedef struct actrt_tensor_desc {
    const char *name;        /* e.g. "layers.0.mlp.gate_proj.weight" */
    int32_t elem;            /* ACTRT_ELEM_*: the type the model reads it as */
    int32_t rank;            /* 1 .. ACTRT_MAX_RANK */
    int64_t shape[ACTRT_MAX_RANK]; /* e.g. [out, in] for an nn.Linear weight */
    const char *declared_at; /* "model.act:12", for error messages */
} actrt_tensor_desc;

enum {
    ACTRT_LAYOUT_KN = 0,     /* rows [lo, lo + n) of a [*, k] matrix, stored transposed: [k][n] */
    ACTRT_LAYOUT_VEC = 1,    /* elements [lo, lo + n) of a vector */
    ACTRT_LAYOUT_PANEL = 2   /* rows [lo, lo + n) of a [*, k] matrix in panels of `panel` rows:
                              * [ceil(n / panel)][k][panel], the last panel zero-padded */
};

/* A tensor computed when the weights are loaded, from tensors the model
 * reads (docs/api.md §8 "Folded tensors"): a batchnorm or affine layer
 * folded into the weight and bias of an adjacent dense layer, or a
 * batchnorm's per-feature scale and shift.  With the per-feature affine
 * y = x * s + t of the layer (affine: s = weight, t = bias; batchnorm:
 * s = weight / sqrt(running_var + eps), t = bias - running_mean * s) and
 * the dense layer's W [N, K] and b [N] (0 without bias):
 *   SCALE  [n]    s                  SHIFT  [n]    t
 *   W_ROWS [N, K] s_j W_jk           B_ROWS [N]    s_j b_j + t_j        (affine after dense)
 *   W_COLS [N, K] W_jk s_k           B_COLS [N]    b_j + sum_k W_jk t_k (affine before dense)
 * each computed in f64 from the f32 tensors and rounded once.  A weight
 * slot reads derived tensor i as tensor ntensors + i. */
enum {
    ACTRT_DERIVE_SCALE = 0, ACTRT_DERIVE_SHIFT = 1, ACTRT_DERIVE_W_ROWS = 2, ACTRT_DERIVE_B_ROWS = 3,
    ACTRT_DERIVE_W_COLS = 4, ACTRT_DERIVE_B_COLS = 5
};
typedef struct actrt_derived_desc {
    const char *name;        /* for messages, e.g. "fc1.weight+bn1" */
    int32_t kind;            /* ACTRT_DERIVE_* */
    int32_t rank;            /* 1 or 2 */
    int64_t shape[ACTRT_MAX_RANK];
    int32_t matrix, bias;    /* the dense layer's tensors (-1: none) */
    int32_t weight, shift;   /* the affine's weight and bias tensors */
    int32_t mean, var;       /* batchnorm's running_mean and running_var; -1 for affine */
    double eps;              /* batchnorm's eps */
} actrt_derived_desc;

/* A packed weight the kernels read: a slice of one tensor in one layout. */
typedef struct actrt_weight_desc {
    int32_t tensor;          /* index into actrt_desc.tensors, or ntensors + i: derived tensor i */
    int32_t layout;
    int32_t elem;            /* ACTRT_ELEM_*: how the packed values are stored */
    int32_t reserved;        /* 0 */
    int64_t lo, n, k;        /* slice start and length; k = columns (KN, PANEL) */
    int64_t panel;           /* PANEL: rows per panel */
} actrt_weight_desc;

/* Bytes of one panel of a PANEL slot (all of it for the other layouts is
 * actrt_weight_bytes): k x panel values, and for int8 their scales. */
static inline int64_t actrt_panel_bytes(const actrt_weight_desc *w) {
    int64_t groups = (w->k + ACTRT_I8_GROUP - 1) / ACTRT_I8_GROUP;
    return w->elem == ACTRT_ELEM_I8 ? w->k * w->panel + groups * w->panel * 4
                                    : w->k * w->panel * (w->elem == ACTRT_ELEM_F32 ? 4 : 2);
}

/* Bytes of a packed weight slot. */
static inline int64_t actrt_weight_bytes(const actrt_weight_desc *w) {
    if (w->layout == ACTRT_LAYOUT_PANEL)
        return (w->n + w->panel - 1) / w->panel * actrt_panel_bytes(w);
    return (w->layout == ACTRT_LAYOUT_KN ? w->n * w->k : w->n) * (w->elem == ACTRT_ELEM_F32 ? 4 : 2);
}

/* A model input or output: row-major, shape[0] the batch (ACTRT_DIM_BATCH,
 * or the fixed batch), n the elements of one batch row (the product of
 * shape[1 .. rank)). */
typedef struct actrt_port_desc {
    const char *name;
    int32_t elem;            /* ACTRT_ELEM_* */
    int32_t rank;            /* 2 .. ACTRT_MAX_RANK (f32[batch, n] is 2) */
    int64_t shape[ACTRT_MAX_RANK];
    int64_t n;               /* features per batch row */
} actrt_port_desc;

/* A kernel computes rows [r0, r1) x columns [c0, min(c1, n)) of its
 * outputs (n: its output width).  c0 must be a multiple of the kernel's
 * col_step (actrt_kernel_info); a kernel whose col_step is 0 (row-wise ops)
 * always computes whole rows.  Every element is computed the same way
 * whatever the ranges, so any split gives the same bits.  w: the packed
 * weights; in / out: the model's inputs and outputs; scratch:
 * scratch_per_row * batch floats for intermediates. */
typedef void (*actrt_kernel_fn)(const float *const *w, const float *const *in, float *const *out, float *scratch,
                                int64_t batch, int64_t r0, int64_t r1, int64_t c0, int64_t c1, void *stats,
                                const int64_t *table);
/* table: the kernel's own constants (actrt_desc.kernel_tables[k]): kernels
 * identical up to their tensors share one function and differ only in it
 * (docs/codegen.md §3). */
/* stats: for a model compiled with statistics (actrt_desc.nsites > 0),
 * the calling thread's statistics block of actrt_desc.stats_bytes bytes
 * (64-byte aligned, set up by actrt_stats_block_init); ignored otherwise. */

/* ---- activation statistics (docs/stats.md) ---- */

/* What a site counts (docs/stats.md §2). */
enum { ACTRT_SITE_NEVER_POSITIVE = 0, ACTRT_SITE_DEAD = 1, ACTRT_SITE_SATURATING = 2 };
/* Histogram bins of the pre-activation (docs/stats.md §3), then
 * underflow and overflow. */
#define ACTRT_STATS_BINS 65

/* One activation site of a model compiled with statistics. */
typedef struct actrt_site_desc {
    const char *op;          /* "relu", "swiglu", a user function's name */
    const char *layer;       /* the layer it reads, e.g. "fc1" */
    const char *call_lines;  /* the lines of the calls it sits inside, outermost first: "" or "7,12" */
    int32_t kind;            /* ACTRT_SITE_* */
    int32_t line;
    int32_t same_as;         /* -1, or the site whose counts it shares (the same values) */
    int32_t reserved;        /* 0 */
    int64_t units;
    int64_t offset;          /* its bytes in a thread's statistics block; -1: not counted (no kernel computes it) */
    double sat_lo, sat_hi;   /* ACTRT_SITE_SATURATING: saturated when y <= sat_lo or y >= sat_hi */
} actrt_site_desc;

/* Copies of a site's histogram in a block: lane l of a vector counts into
 * copy l (so that increments of one bin in a row do not wait for each
 * other); a read sums them. */
#define ACTRT_STATS_HIST_COPIES 16

/* A site's arrays in a statistics block, as byte offsets from its
 * actrt_site_desc.offset, each 64-byte aligned: int64 active[units],
 * int64 saturated[units] (saturating sites; else 0 bytes), int64
 * hist[ACTRT_STATS_HIST_COPIES][ACTRT_STATS_BINS + 2], float min[units],
 * float max[units], double sum[units], double sumsq[units]; out[7] is the
 * site's total size.  The compiler and the runtime both lay blocks out
 * with this function. */
static inline void actrt_site_layout(int64_t units, int32_t kind, int64_t out[8]) {
    int64_t sizes[7] = {8 * units, kind == ACTRT_SITE_SATURATING ? 8 * units : 0,
                        8 * (ACTRT_STATS_BINS + 2) * ACTRT_STATS_HIST_COPIES,
                        4 * units, 4 * units, 8 * units, 8 * units};
    int64_t at = 0;
    for (int i = 0; i < 7; i++) {
        out[i] = at;
        at += (sizes[i] + 63) / 64 * 64;
    }
    out[7] = at;
}

/* Kernel kinds (actrt_kernel_info.kind), from actc/kernels.def. */
typedef enum actrt_kernel_kind_id {
#define ACTRT_KERNEL(id, name, projections, row_ops) ACTRT_KERNEL_##id,
#include "actc/kernels.def"
#undef ACTRT_KERNEL
    ACTRT_KERNEL_COUNT
} actrt_kernel_kind_id;

/* What a kernel computes, for profiles, reports and column splits. */
typedef struct actrt_kernel_info {
    int32_t kind;            /* ACTRT_KERNEL_* */
    int64_t n, k;            /* output columns; reduction length (matmuls) */
    const char *lines;       /* source lines it covers, e.g. "12-14" */
    int64_t col_step;        /* columns may be split at multiples of it; 0: whole rows only */
} actrt_kernel_info;

typedef struct actrt_desc {
    uint32_t abi_version;    /* ACTRT_ABI_VERSION */
    const char *name;
    int32_t ninputs, noutputs;
    const actrt_port_desc *inputs, *outputs;
    int64_t fixed_batch;     /* > 0: the batch must equal it; 0: any batch */
    int32_t ntensors, nweights, nkernels;
    const actrt_tensor_desc *tensors;
    const actrt_weight_desc *weights;
    const actrt_kernel_fn *kernels;
    int64_t scratch_per_row; /* floats of scratch per batch row */
    const actrt_kernel_info *kernel_info; /* nkernels entries, or NULL */
    int32_t row_tile;        /* rows of the kernels' register tile: a thread's
                              * share of rows is a multiple of it (>= 1) */
    int32_t nsites;          /* activation sites: > 0 when compiled with statistics */
    const actrt_site_desc *sites;
    int64_t stats_bytes;     /* a thread's statistics block */
    const int64_t *const *kernel_tables; /* nkernels entries: the table each kernel is called with */
    int32_t nderived;        /* tensors computed at load (actrt_derived_desc) */
    const actrt_derived_desc *derived;
} actrt_desc;

/* ---- ISA variants: one model compiled for several CPUs (docs/aot.md) ---- */

/* CPU features a variant's code may use (x86-64; an AArch64 variant needs
 * nothing beyond armv8-a, so its mask is 0). */
#define ACTRT_CPU_FEATURES(X)                                                                                     \
    X(SSE3, "sse3") X(SSSE3, "ssse3") X(SSE4_1, "sse4.1") X(SSE4_2, "sse4.2") X(POPCNT, "popcnt")               \
    X(AVX, "avx") X(AVX2, "avx2") X(FMA, "fma") X(F16C, "f16c") X(BMI1, "bmi") X(BMI2, "bmi2")                   \
    X(LZCNT, "lzcnt") X(MOVBE, "movbe") X(AVX512F, "avx512f") X(AVX512BW, "avx512bw")                           \
    X(AVX512DQ, "avx512dq") X(AVX512VL, "avx512vl") X(AVX512CD, "avx512cd")
enum {
#define ACTRT_CPU_BIT_(id, name) ACTRT_CPU_BIT_##id,
    ACTRT_CPU_FEATURES(ACTRT_CPU_BIT_)
#undef ACTRT_CPU_BIT_
    ACTRT_CPU_NFEATURES
};
#define ACTRT_CPU(id) ((uint64_t)1 << ACTRT_CPU_BIT_##id)

/* One variant of a model: the code for one CPU and the features it needs.
 * An object lists its variants baseline first; create picks the last one
 * this CPU runs (or the one ACTC_CPU_VARIANT names). */
typedef struct actrt_variant {
    const char *name;              /* the CPU it was compiled for: "x86-64-v3", "skylake-avx512" */
    uint64_t needs;                /* ACTRT_CPU(...) bits */
    const actrt_desc *desc;        /* the model compiled for it */
    const float *const *weights;   /* embedded objects: packed weights in its layouts, or NULL (packed at create) */
} actrt_variant;

/* A runnable model (section "models" below). */
typedef struct actrt_model actrt_model;

/* The features of this CPU that the OS has enabled (ACTRT_CPU bits). */
ACTRT_API uint64_t actrt_cpu_features(void);
/* For generated AOT code: choose the variant this CPU runs (or the one the
 * environment variable ACTC_CPU_VARIANT names), then create it and load
 * its weights as actrt_model_create_loaded.  A CPU that runs none, an
 * unknown or unrunnable ACTC_CPU_VARIANT: ACTC_ERR_ARG with a message
 * naming what is missing; never a signal. */
ACTRT_API int actrt_model_create_variant(actrt_model **out, const actrt_variant *variants, int n,
                                         const char *path, const void *data, size_t len);
/* The variant m was created for; NULL for a model made by actrt_model_create. */
ACTRT_API const char *actrt_model_variant(const actrt_model *m);

/* Elements of a tensor (the product of its shape); -1 if malformed. */
ACTRT_API int64_t actrt_tensor_numel(const actrt_tensor_desc *t);

/* A kernel kind's row of actc/kernels.def: its name ("fused_dense", ...)
 * and weight matrices per output; NULL for an unknown kind. */
typedef struct actrt_kernel_kind {
    const char *name;
    int32_t projections;     /* matmuls feeding the epilogue (0: none) */
    int32_t row_ops;         /* other arithmetic per output, for estimates */
} actrt_kernel_kind;
ACTRT_API const actrt_kernel_kind *actrt_kernel_kind_of(int kind);
/* Multiply-adds per batch row of one kernel: n * (projections * k + row_ops). */
ACTRT_API double actrt_kernel_row_work(const actrt_kernel_info *ki);

/* ---- models ---- */

/* A runnable model (actrt_model, declared above): compiled code (a
 * description that must outlive it) plus bound weights and per-thread
 * scratch. */

/* Create a model from a description.  On failure *out is NULL and
 * actrt_last_error(NULL) says why (per thread). */
ACTRT_API int actrt_model_create(actrt_model **out, const actrt_desc *desc);
/* Load and pack every tensor the model needs from safetensors files (a
 * sharded checkpoint is several files).  Tensor names are prefix + the
 * layer's name (prefix may be NULL).  Extra tensors are ignored (unless
 * actrt_model_set_strict); a missing
 * tensor, a wrong shape or dtype is an error naming the tensor, the file
 * and the line of the model that declared it.  On error nothing changes. */
ACTRT_API int actrt_model_load_weights(actrt_model *m, const char *const *paths, int npaths, const char *prefix);
/* The same from safetensors bytes in memory (copied while packing). */
ACTRT_API int actrt_model_load_weights_memory(actrt_model *m, const void *data, size_t len, const char *prefix);
/* A tensor in memory, for actrt_model_load_tensors: row-major data of
 * element type elem (ACTRT_ELEM_F32, the only one accepted today). */
typedef struct actrt_tensor {
    const char *name;
    int32_t elem;
    int32_t rank;            /* 1 .. ACTRT_MAX_RANK */
    int64_t shape[ACTRT_MAX_RANK];
    const void *data;
} actrt_tensor;
/* The same from n tensors in memory (copied while packing). */
ACTRT_API int actrt_model_load_tensors(actrt_model *m, const actrt_tensor *tensors, int n);
/* Read the tensors the model reads (desc->tensors, in that order) from
 * safetensors files as f32, without packing them or changing the model:
 * the same lookup, checks and messages as actrt_model_load_weights.
 * (*data)[t] holds tensor t's actrt_tensor_numel floats, row-major;
 * *data is one block from the runtime's allocator: release it with
 * actrt_free.  On failure *data is NULL and actrt_last_error(m) says why. */
ACTRT_API int actrt_model_read_tensors(actrt_model *m, const char *const *paths, int npaths, const char *prefix,
                                       float ***data);
/* How the loads above treat tensors of the source that the model does not
 * read (docs/api.md, "Checkpoint names"): ignored (the default), or, with
 * strict nonzero, an error listing them — except those matching one of the
 * nignore fnmatch(3) globs of ignore (copied; ignore NULL: the default list,
 * "*.num_batches_tracked").  Names the model reads and the source lacks
 * are always an error, listing up to 8 with the nearest names present. */
ACTRT_API int actrt_model_set_strict(actrt_model *m, int strict, const char *const *ignore, int nignore);
/* For generated AOT code: create a model and load its weights from a file
 * (path != NULL) or from safetensors bytes (data != NULL), in one call.  On
 * failure *out is NULL and actrt_last_error(NULL) says why. */
ACTRT_API int actrt_model_create_loaded(actrt_model **out, const actrt_desc *desc, const char *path,
                                        const void *data, size_t len);
/* Packed weight i as the kernels read it (for the compiler's embedded
 * weights): its data (floats, or 2-byte bf16 / f16 values as its
 * actrt_weight_desc.elem says) and their count; NULL before weights are
 * loaded. */
ACTRT_API const float *actrt_model_packed_weight(const actrt_model *m, int i, int64_t *count);
/* Tensors whose values changed when they were packed into a compact weight
 * type (rounded to nearest even: an f32 tensor for bf16 or f16 weights), at
 * the last successful load; 0 for f32 weights. */
ACTRT_API int actrt_model_rounded_tensors(const actrt_model *m);
/* The values int8 weights stand for (docs/language.md, "Weight types"):
 * dst[r][c] = fl(q * s) of src, a rows x cols row-major matrix, quantised
 * per row and group of ACTRT_I8_GROUP columns; ACTC_ERR_WEIGHTS for a NaN
 * or infinite value (dst unchanged). */
ACTRT_API int actrt_int8_dequantized(const float *src, int64_t rows, int64_t cols, float *dst);
/* Run `batch` rows: inputs then outputs in declaration order, row-major
 * f32[batch, n].  Safe to call from several threads at once; allocates
 * nothing once each calling thread has run a batch this large. */
ACTRT_API int actrt_model_run(actrt_model *m, int64_t batch, const float *const *inputs, float *const *outputs);
/* Threads a run uses: 0 (the default) follows OpenMP (OMP_NUM_THREADS,
 * else the number of cores) for runs of more than ~2^22 multiply-adds and
 * stays on the calling thread below; T > 0 uses T threads whenever the
 * batch has at least 12 rows.  Work is split over batch rows; results are
 * bitwise identical for any count. */
ACTRT_API int actrt_model_set_threads(actrt_model *m, int threads);
/* Run like actrt_model_run, with a barrier after each kernel, and store
 * each kernel's wall time in seconds[k] (nkernels entries). */
ACTRT_API int actrt_model_profile(actrt_model *m, int64_t batch, const float *const *inputs, float *const *outputs,
                                  double *seconds);
/* Message of the last failed call on m; m == NULL: this thread's last
 * failed actrt_model_create. */
/* ---- activation statistics of a model compiled with them ----
 * (actc_options.stats; docs/stats.md).  Counters are per thread and per
 * scratch buffer, merged on read.  A read or a reset waits for the runs in
 * flight to finish (a lock), and sees every run that finished before it. */
typedef struct actrt_site_stats {
    uint32_t size;           /* sizeof(actrt_site_stats): set by the caller (the struct's version) */
    int32_t site;            /* set by read */
    int64_t samples;         /* rows run since the model was created or reset */
    int64_t units;
    int64_t *active;         /* the caller's array of `units` counts (or NULL): samples on which
                              * unit j's pre-activation was > 0 */
    int64_t *saturated;      /* the same for saturated outputs (saturating sites; or NULL) */
    double min, max;         /* of the pre-activations (NaN excluded); +inf, -inf before any sample */
    double mean, std;        /* over samples and units (rounding-dependent: docs/stats.md §3) */
    int64_t hist[ACTRT_STATS_BINS + 2]; /* the bins, then underflow and overflow */
} actrt_site_stats;
/* Sites of the model (its description's); 0 without statistics. */
ACTRT_API int actrt_model_num_sites(const actrt_model *m);
ACTRT_API const actrt_site_desc *actrt_model_site(const actrt_model *m, int site);
/* Zero every counter; ACTC_ERR_ARG for a model without statistics. */
ACTRT_API int actrt_model_stats_reset(actrt_model *m);
/* The statistics of `site` (a site that shares another's counts reads
 * those) into *out, whose size field the caller sets; no allocation. */
ACTRT_API int actrt_model_stats_read(actrt_model *m, int site, actrt_site_stats *out);
/* Edge i (0 .. ACTRT_STATS_BINS) of the histogram's bins, ascending. */
ACTRT_API double actrt_stats_edge(int i);
/* Set up a statistics block of desc d (counters 0, minima +inf, maxima -inf). */
ACTRT_API void actrt_stats_block_init(const actrt_desc *d, void *block);

ACTRT_API const char *actrt_last_error(const actrt_model *m);
ACTRT_API void actrt_model_free(actrt_model *m);

/* ---- .npy files (numpy.save's format), for host programs ----
 * actrt_npy_read reads a C-order array of dtype <f4, <f8 or <f2, an integer
 * (<i1 .. <i8, <u1 .. <u8; |magnitude| <= 2^24, else an error) or |b1,
 * converted to f32, rank <= ACTRT_NPY_MAX_RANK; *data is allocated by the runtime's
 * allocator and released with actrt_free.  actrt_npy_write writes f32 data as
 * a version-1 .npy file.  Both return an actc_status; on failure
 * actrt_last_error(NULL) says why, naming the file. */
#define ACTRT_NPY_MAX_RANK 8
ACTRT_API int actrt_npy_read(const char *path, float **data, int64_t shape[ACTRT_NPY_MAX_RANK], int *rank);
ACTRT_API int actrt_npy_write(const char *path, const float *data, const int64_t *shape, int rank);
ACTRT_API void actrt_free(void *p);

/* Shape queries.  actrt_model_fixed_batch: > 0 when the model was declared
 * with a constant batch (runs must use it), 0 when any batch works. */
ACTRT_API int64_t actrt_model_fixed_batch(const actrt_model *m);
ACTRT_API int actrt_model_num_inputs(const actrt_model *m);
ACTRT_API int actrt_model_num_outputs(const actrt_model *m);
/* Name and features of input / output i (NULL name: bad index). */
ACTRT_API const char *actrt_model_input(const actrt_model *m, int i, int64_t *features);
ACTRT_API const char *actrt_model_output(const actrt_model *m, int i, int64_t *features);
/* Bytes of scratch one run of `batch` rows uses (per calling thread). */
ACTRT_API int64_t actrt_model_workspace_size(const actrt_model *m, int64_t batch);

#ifdef __cplusplus
}
#endif
#endif
