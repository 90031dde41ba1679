/*
 * internal.h — entry points of libactc used by the CLI and the tests but not
 * (yet) part of the public API: dumps of intermediate stages.  They follow
 * the public conventions (status codes, boundaries, session-owned strings).
 */
#ifndef ACTC_DRIVER_INTERNAL_H
#define ACTC_DRIVER_INTERNAL_H

#include <stdbool.h>

#include "actc/actc.h"
#include "actc/runtime.h"

/* The name of names[0..n) nearest to `name` for a "did you mean" hint (the
 * checker's rule: a few edits, fewer for short names), or NULL. */
const char *actc_closest_name(const char *name, const char *const *names, int n);

/* The parsed program, printed back (actc dump --ast). */
int actc_dump_ast(actc_session *s, const char **out);

typedef enum { ACTC_DUMP_GRAPH, ACTC_DUMP_FUSED, ACTC_DUMP_DOT, ACTC_DUMP_LLVM, ACTC_DUMP_ASM } actc_dump_kind;

/* Lower the model `model` (NULL: the only one), run the passes (for
 * ACTC_DUMP_GRAPH: up to and including the pass named `stage`, "lowered"
 * for none, NULL for all) and print the graph, the fusion report or the
 * Graphviz dot of the kernel graph. */
int actc_dump(actc_session *s, const char *model, actc_dump_kind kind, const char *stage, const char **out);
/* Run the model through the double-precision reference interpreter (the
 * fused kernel graph): tensors by name as f32 arrays (as actrt_model_load_tensors),
 * inputs and outputs f32 [batch, n] in declaration order (batch 0: nothing
 * is computed). */
int actc_reference_run(actc_session *s, const char *model, const actrt_tensor *tensors, int ntensors, int64_t batch,
                       const float *const *inputs, float *const *outputs);

/* The value at x of the activation a statistics site names (docs/stats.md:
 * a builtin without parameters, or a gate's activation); NaN for anything
 * else (a user function, a builtin whose parameters the site does not
 * record).  For plots. */
double actc_activation_value(const char *op, double x);

/* The ISA variants an object compiled with opts would hold (actc compile
 * --list-variants): a line per variant with what it needs and whether this
 * CPU runs it, into out[len]; on failure the message. */
int actc_list_variants(const actc_options *opts, char *out, size_t len);

/* The LLVM IR (after O3) or the target assembly of the model's kernels. */
int actc_dump_code(actc_session *s, const char *model, const actc_options *opts, actc_dump_kind kind,
                   const char **out);

/* The matmul kernels' parameters the JIT would use on this machine with
 * opts (params.c syntax), where they come from, the host's profile path in
 * the cache directory (NULL when neither XDG_CACHE_HOME nor HOME is set;
 * strings owned by the session) and the vector registers the tiles must
 * fit.  builtin: the built-in choice (no profile, no explicit spec).  A
 * profile that cannot be used is a warning in the session's diagnostics. */
int actc_kernel_params(actc_session *s, const actc_options *opts, const char **params, const char **from,
                       const char **cache_path, int *nregs, bool builtin);
/* Write a tuning profile for this machine holding `params` (checked), at
 * path (NULL: the cache path, its directories created; a given path's
 * directory must exist); measured_json (NULL: none) is kept in it as
 * "measured". */
int actc_write_profile(actc_session *s, const actc_options *opts, const char *params, const char *path,
                       const char *measured_json);

#endif
