/*
 * pipeline.c — the one path from a checked model to its kernel graph
 * (docs/ir.md §2): lower -> the passes of passes.c, in order -> fuse.
 * Every consumer (JIT, AOT, dumps, the reference run, the fuzzers) goes
 * through ir_pipeline(), so a stage added here is seen by all of them.
 * Requires a model that check_program() accepted.
 */
#include <string.h>

#include "ir.h"

bool ir_pipeline(Session *s, Decl *model, const char *stop, Pipeline *out) {
    *out = (Pipeline){.model = model};
    out->graph = lower_model(s, model);
    if (stop && strcmp(stop, "lowered") == 0)
        return true;
    if (!passes_run(out->graph, stop))
        return false;
    if (!stop)
        out->kernels = fuse_graph(out->graph);
    return true;
}
