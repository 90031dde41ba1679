/*
 * pipeline.c — the one path from a checked model to its kernel graph
 * (docs/ir.md §2): lower -> the passes of passes.c, in order -> fuse.
 * Every consumer (JIT, AOT, dumps, the reference run, the fuzzers) goes
 * through ir_pipeline(), so a stage added here is seen by all of them.
 * Requires a model that check_program() accepted.
 */
#include <string.h>

#include "ir.h"

/* "file:line" of a span */
static const char *where(Session *s, Span sp) {
    if (sp.file >= (uint32_t)s->diag.nsources)
        return "?";
    const Source *src = s->diag.sources[sp.file];
    uint32_t line, col;
    source_line_col(src, sp.start, &line, &col);
    return arena_printf(&s->perm, "%s:%u", src->name, line);
}

static IrPort *ports(Session *s, const Port *b, int n, int64_t fixed) {
    IrPort *p = NEW_ARRAY(&s->perm, IrPort, (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        p[i] = (IrPort){b[i].name, b[i].type->shape};
        if (fixed > 0 && p[i].shape.rank > 0)
            p[i].shape.dim[0] = fixed;
    }
    return p;
}

/* The interface of a checked model (IrSignature), in s->perm. */
static IrSignature signature(Session *s, const Decl *m) {
    IrSignature sig = {.name = m->name, .fixed_batch = m->batch_name ? 0 : m->batch_value};
    sig.ninputs = m->ninputs;
    sig.noutputs = m->noutputs;
    sig.inputs = ports(s, m->inputs, m->ninputs, sig.fixed_batch);
    sig.outputs = ports(s, m->outputs, m->noutputs, sig.fixed_batch);
    sig.ntensors = m->ntensors;
    sig.tensors = NEW_ARRAY(&s->perm, IrTensor, (size_t)m->ntensors + 1);
    for (int i = 0; i < m->ntensors; i++) {
        const ParamTensor *p = &m->tensors[i];
        sig.tensors[i] = (IrTensor){p->name, p->shape, p->elem, where(s, p->span)};
    }
    return sig;
}

bool ir_pipeline(Session *s, Decl *model, const char *stop, Pipeline *out) {
    *out = (Pipeline){.model = model};
    out->graph = lower_model(s, model);
    if (stop && strcmp(stop, "lowered") == 0)
        return true;
    if (!passes_run(out->graph, stop))
        return false;
    if (!stop) {
        out->kernels = fuse_graph(out->graph);
        out->kernels->sig = signature(s, model);
        out->kernels->sig.derived = out->graph->derived;
        out->kernels->sig.nderived = out->graph->nderived;
    }
    return true;
}
