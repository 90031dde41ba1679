/*
 * actc.h — the public compiler API of actc (libactc).
 *
 * A session holds one compilation: the sources it read, the diagnostics it
 * produced and everything derived from them.  Every function returns an
 * actc_status (0 = ACTC_OK); on failure the session keeps a message for
 * actc_last_error() and, for user errors, diagnostics.  No function exits
 * or aborts the process; out of memory is reported as ACTC_ERR_NOMEM and the
 * session stays usable (and freeable).
 *
 * See docs/api.md for the full contract.
 */
#ifndef ACTC_ACTC_H
#define ACTC_ACTC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ACTC_API __attribute__((visibility("default")))
#else
#define ACTC_API
#endif

#include "actc/status.h"

/* The version of actc, as "MAJOR.MINOR.PATCH". */
ACTC_API const char *actc_version(void);

/* Human-readable name of a status code ("syntax error", ...). */
ACTC_API const char *actc_status_string(int status);

/* ---- memory ---- */

/* An allocator in the style of lua_Alloc: realloc(ptr, size) semantics, where
 * size == 0 frees ptr and returns NULL, and NULL on failure.  It must be
 * thread-safe if actc is used from several threads.  Passing fn == NULL
 * restores the default (the C library's realloc/free).  Set it before any
 * session exists: memory must be freed by the allocator that made it. */
typedef void *(*actc_alloc_fn)(void *ud, void *ptr, size_t size);
ACTC_API void actc_set_allocator(actc_alloc_fn fn, void *ud);

/* ---- sessions ---- */

typedef struct actc_session actc_session;

/* Create a session.  On failure *out is NULL and ACTC_ERR_NOMEM is returned. */
ACTC_API int actc_session_new(actc_session **out);
/* Free a session and everything it owns.  NULL is allowed. */
ACTC_API void actc_session_free(actc_session *s);

/* Message of the last failed call on this session ("" if none). */
ACTC_API const char *actc_last_error(const actc_session *s);

/* Parse and check a model file.  Returns ACTC_OK, ACTC_ERR_SYNTAX,
 * ACTC_ERR_CHECK (diagnostics in the session), ACTC_ERR_IO, ACTC_ERR_NOMEM or
 * ACTC_ERR_ARG.  A session checks one source; call it once per session. */
ACTC_API int actc_check_file(actc_session *s, const char *path);
/* The same for source text in memory; `name` is used in diagnostics. */
ACTC_API int actc_check_source(actc_session *s, const char *name, const char *text,
                               size_t len);

/* ---- compiling ---- */

struct actrt_desc; /* include/actc/runtime.h */

/* Code generation options (all may be NULL: the host). */
typedef struct actc_options {
    const char *target;   /* LLVM target triple, e.g. "aarch64-linux-gnu" */
    const char *cpu;      /* e.g. "znver5", "x86-64-v3", "generic" */
    const char *features; /* e.g. "+avx2,-avx512f" */
    int fast_math;        /* nonzero: the fast tier of the activations (f32
                           * arithmetic; relative error <= 4e-6, 4e-5 for
                           * the tanh family; docs/accuracy.md section 6)
                           * instead of the precise one (f32 with
                           * error-free transformations: primitives <= 1
                           * ULP, activations <= 4 ULP) */
    /* The matmul kernels' loop-nest parameters (docs/tuning.md); none of
     * them changes a result bit.  kernel_params: explicit, e.g.
     * "dense=8x3,kc=128,mc=0,pf=0;gated=6x2,kc=96" (an error when
     * malformed).  profile: a file written by `actc tune` (a profile that
     * cannot be used is a warning and the built-in choice).  Both NULL: the
     * JIT on the host uses the host's profile in $XDG_CACHE_HOME/actc/ if
     * there is one, everything else the built-in table or the analytical
     * choice.  AOT objects apply a profile to the variants of its vector
     * width. */
    const char *kernel_params;
    const char *profile;
    /* nonzero: the kernels count activation statistics (dead and
     * saturated units, pre-activation histograms; docs/stats.md), read
     * with actrt_model_stats_read.  Outputs are bitwise those without. */
    int stats;
    /* the storage type of every dense weight matrix (docs/language.md,
     * "Weight types"): ACTC_WEIGHTS_F32 (0, the default), _BF16, _F16 or
     * _INT8 (groups of 32 with f32 scales); widened / dequantised exactly
     * in the kernels, f32 arithmetic.  Biases and norm parameters stay f32. */
    int weights;
    /* nonzero: the exact tier of the activations (f64 inside, rounded once:
     * every builtin within 0.51 ULP, at about half the precise tier's
     * speed; docs/accuracy.md section 2); not with fast_math */
    int exact_math;
    /* nonzero: actc_compile_object's embed_weights must hold only tensors
     * the model reads, except those matching one of the nignore_tensors
     * fnmatch(3) globs of ignore_tensors (NULL: "*.num_batches_tracked");
     * docs/api.md, "Checkpoint names".  JIT models: actrt_model_set_strict. */
    int strict;
    const char *const *ignore_tensors;
    int nignore_tensors;
} actc_options;

enum { ACTC_WEIGHTS_F32 = 0, ACTC_WEIGHTS_BF16 = 1, ACTC_WEIGHTS_F16 = 2, ACTC_WEIGHTS_INT8 = 3 };

/* A model compiled into this process (ORC LLJIT). */
typedef struct actc_jit_model actc_jit_model;

/* Compile model `model` (NULL: the file's only model) of a checked session
 * and JIT it.  The result describes the code for libactrt
 * (actrt_model_create(&m, actc_jit_desc(j))) and must outlive every
 * actrt_model made from it. */
ACTC_API int actc_jit_compile(actc_session *s, const char *model, const actc_options *opts, actc_jit_model **out);
ACTC_API const struct actrt_desc *actc_jit_desc(const actc_jit_model *j);
/* Unload the code.  NULL is allowed. */
ACTC_API void actc_jit_free(actc_jit_model *j);

/* Compile model `model` ahead of time: an object file with the model's
 * kernels and the functions of a generated C header (PREFIX_create, _run,
 * _last_error, _destroy, ...; design.md §5), and the header itself (if
 * header_path is not NULL).  prefix NULL: the model's name.  Without
 * embed_weights the object needs libactrt at link time; with it (a
 * safetensors file) the weights are packed now into read-only data and the
 * object links with libc alone (docs/aot.md).  model NULL in a file with
 * several models: all of them in one object and one header, each under its
 * own name (prefix must then be NULL). */
ACTC_API int actc_compile_object(actc_session *s, const char *model, const actc_options *opts, const char *prefix,
                                 const char *object_path, const char *header_path, const char *embed_weights);

/* ---- diagnostics ---- */

typedef enum actc_severity { ACTC_SEV_ERROR, ACTC_SEV_WARNING, ACTC_SEV_NOTE } actc_severity;

/* One diagnostic as a structured record.  Lines and columns are 1-based;
 * columns count bytes; the end position is exclusive.  Strings are owned by
 * the session.  line == 0 means the diagnostic has no source position. */
typedef struct actc_diagnostic {
    actc_severity severity;
    const char *file;
    uint32_t line, column, end_line, end_column;
    const char *message;
    int nnotes; /* notes follow as records of severity ACTC_SEV_NOTE */
} actc_diagnostic;

/* Number of diagnostics (errors and warnings; notes are counted with their
 * diagnostic, not here). */
ACTC_API size_t actc_diag_count(const actc_session *s);
/* Diagnostic i (0-based); note j of it with actc_diag_note. */
ACTC_API int actc_diag_get(const actc_session *s, size_t i, actc_diagnostic *out);
ACTC_API int actc_diag_note(const actc_session *s, size_t i, int j, actc_diagnostic *out);

typedef enum actc_diag_format { ACTC_DIAG_TEXT, ACTC_DIAG_JSON } actc_diag_format;
/* All diagnostics rendered as one string: clang-style text (message, source
 * line, caret) or one JSON object per line.  Owned by the session; NULL on
 * out of memory. */
ACTC_API const char *actc_diag_render(actc_session *s, actc_diag_format fmt);

#ifdef __cplusplus
}
#endif
#endif
