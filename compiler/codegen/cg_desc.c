/*
 * cg_desc.c — the one builder of the runtime's model description
 * (actrt_desc, include/actc/runtime.h, docs/api.md §8) from the kernel
 * graph's signature, the generated code (ModelCode) and the target.  The
 * JIT model points libactrt at it; aot.c serialises the same struct into
 * the object (aot_emit_desc), so JIT and AOT describe a model identically.
 */
#include "codegen.h"

_Static_assert((int)DV_SCALE == ACTRT_DERIVE_SCALE && (int)DV_SHIFT == ACTRT_DERIVE_SHIFT &&
                   (int)DV_W_ROWS == ACTRT_DERIVE_W_ROWS && (int)DV_B_ROWS == ACTRT_DERIVE_B_ROWS &&
                   (int)DV_W_COLS == ACTRT_DERIVE_W_COLS && (int)DV_B_COLS == ACTRT_DERIVE_B_COLS,
               "IrDerived kinds are the runtime's");

static int32_t elem_abi(ElemType e) {
    switch (e) {
    case ELEM_F32: return ACTRT_ELEM_F32;
    }
    ACTC_BUG("element type %d has no ABI value", (int)e);
}

static void port(Arena *a, const IrPort *p, actrt_port_desc *out) {
    *out = (actrt_port_desc){.name = arena_strdup(a, p->name), .elem = ACTRT_ELEM_F32, .rank = p->shape.rank,
                             .n = shape_width(p->shape)};
    for (int i = 0; i < p->shape.rank && i < ACTRT_MAX_RANK; i++)
        out->shape[i] = p->shape.dim[i] == DIM_BATCH ? ACTRT_DIM_BATCH : p->shape.dim[i];
}

/* Source lines of a kernel: "12" or "12-14". */
static const char *lines(Arena *a, const Kernel *k) {
    return k->line_lo == k->line_hi ? arena_printf(a, "%u", k->line_lo) : arena_printf(a, "%u-%u", k->line_lo, k->line_hi);
}

void cg_build_desc(Arena *a, const KGraph *kg, const ModelCode *mc, const Target *t, actrt_desc *d) {
    const IrSignature *sig = &kg->sig;
    *d = (actrt_desc){.abi_version = ACTRT_ABI_VERSION, .name = arena_strdup(a, sig->name)};
    d->ninputs = sig->ninputs;
    d->noutputs = sig->noutputs;
    actrt_port_desc *in = NEW_ARRAY(a, actrt_port_desc, (size_t)sig->ninputs + 1);
    actrt_port_desc *out = NEW_ARRAY(a, actrt_port_desc, (size_t)sig->noutputs + 1);
    for (int i = 0; i < sig->ninputs; i++)
        port(a, &sig->inputs[i], &in[i]);
    for (int i = 0; i < sig->noutputs; i++)
        port(a, &sig->outputs[i], &out[i]);
    d->inputs = in;
    d->outputs = out;
    d->fixed_batch = sig->fixed_batch;
    actrt_tensor_desc *td = NEW_ARRAY(a, actrt_tensor_desc, (size_t)sig->ntensors + 1);
    for (int i = 0; i < sig->ntensors; i++) {
        const IrTensor *p = &sig->tensors[i];
        td[i] = (actrt_tensor_desc){.name = arena_strdup(a, p->name), .elem = elem_abi(p->elem), .rank = p->shape.rank,
                                    .declared_at = arena_strdup(a, p->declared_at)};
        for (int k = 0; k < p->shape.rank && k < ACTRT_MAX_RANK; k++)
            td[i].shape[k] = p->shape.dim[k];
    }
    d->ntensors = sig->ntensors;
    d->tensors = td;
    actrt_derived_desc *dv = NEW_ARRAY(a, actrt_derived_desc, (size_t)sig->nderived + 1);
    for (int i = 0; i < sig->nderived; i++) { /* DerivedKind is ACTRT_DERIVE_* in the same order */
        const IrDerived *v = &sig->derived[i];
        dv[i] = (actrt_derived_desc){.name = arena_strdup(a, v->name), .kind = (int32_t)v->kind,
                                     .rank = v->shape.rank, .matrix = v->matrix, .bias = v->bias,
                                     .weight = v->weight, .shift = v->shift, .mean = v->mean, .var = v->var,
                                     .eps = v->eps};
        for (int k = 0; k < v->shape.rank && k < ACTRT_MAX_RANK; k++)
            dv[i].shape[k] = v->shape.dim[k];
    }
    d->nderived = sig->nderived;
    d->derived = dv;
    actrt_weight_desc *w = NEW_ARRAY(a, actrt_weight_desc, (size_t)mc->nweights + 1);
    for (int i = 0; i < mc->nweights; i++) {
        const WeightSlot *ws = &mc->weights[i];
        w[i] = (actrt_weight_desc){.tensor = ws->ref.tensor, .layout = ws->layout, .elem = ws->elem,
                                   .lo = ws->ref.lo, .n = ws->ref.rows, .k = ws->ref.cols, .panel = ws->panel};
    }
    d->nweights = mc->nweights;
    d->weights = w;
    d->nkernels = mc->nkernels;
    d->scratch_per_row = mc->scratch_per_row;
    actrt_kernel_info *ki = NEW_ARRAY(a, actrt_kernel_info, (size_t)kg->nkernels + 1);
    for (int i = 0; i < kg->nkernels; i++) {
        const Kernel *k = kg->kernels[i];
        ki[i] = (actrt_kernel_info){(int32_t)k->kind, k->n, k->k, lines(a, k), mc->col_step[i]};
    }
    d->kernel_info = ki;
    d->row_tile = t->row_tile;
    if (mc->site_offset) { /* compiled with statistics */
        actrt_site_desc *sd = NEW_ARRAY(a, actrt_site_desc, (size_t)kg->nsites + 1);
        for (int i = 0; i < kg->nsites; i++) {
            const Site *st = &kg->sites[i];
            sd[i] = (actrt_site_desc){.op = arena_strdup(a, st->op), .layer = arena_strdup(a, st->layer),
                                      .call_lines = arena_strdup(a, st->call_lines), .kind = (int32_t)st->kind,
                                      .line = (int32_t)st->line, .same_as = st->same_as, .units = st->units,
                                      .offset = mc->site_offset[i], .sat_lo = st->sat_lo, .sat_hi = st->sat_hi};
        }
        d->nsites = kg->nsites;
        d->sites = sd;
        d->stats_bytes = mc->stats_bytes;
    }
}
