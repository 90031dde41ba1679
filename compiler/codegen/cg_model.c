/*
 * cg_model.c — the kernel graph -> LLVM functions (docs/codegen.md).
 *
 * Every kernel becomes  void PREFIX_kI(w, in, out, scratch, batch, r0, r1, c0, c1)
 * (actrt_kernel_fn) computing rows [r0, r1) x columns [c0, c1); PREFIX_run(w, in, out,
 * scratch, batch) runs them all in order.  Buffers: model inputs and
 * outputs are the caller's; intermediates live at fixed per-row offsets in
 * the scratch buffer (offset * batch floats).  Weights are packed by the
 * runtime: a matmul slice as [K][N] (so a row of N output columns is one
 * vector load per k), vectors as they are.
 *
 * Loop nest of a fused (gated) dense kernel, per row r and per block of V
 * output columns (V = the target's f32 lanes, then 1 for the tail):
 *     acc_a = acc_b = 0;  for k: acc += x[r][k] * W[k][j..j+V]   (fmuladd)
 *     epilogue on the accumulators in registers, one store per output.
 * The epilogue is the kernel's Ep expression, evaluated with vm_op.  Loop
 * variables and accumulators are allocas that SROA/mem2reg turn into SSA.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/DebugInfo.h> /* LLVMTemporaryMDNode: self-referential loop IDs */

#include "codegen.h"

#define B (cg->b)

typedef struct KC KC;

/* The generator's named hooks: where later features plug in without
 * forking the loop nests (internals.md §7).
 *   load_weights  the V weights of projection a at reduction index kk,
 *                 columns off .. off + V of the current panel, as f32
 *                 lanes (compact element types widen here);
 *   site_value    every vector of an activation site's value y (Ep.stat)
 *                 with its pre-activation, columns j ..: activation
 *                 statistics count here (cg_stats.c); NULL in a build
 *                 without them. */
typedef struct KernelHooks {
    LLVMValueRef (*load_weights)(KC *kc, VM *vm, int a, LLVMValueRef panel, LLVMValueRef kk, int off);
    void (*site_value)(KC *kc, VM *vm, const Ep *e, LLVMValueRef pre, LLVMValueRef y, LLVMValueRef j);
} KernelHooks;

struct KC {
    const KernelHooks *hooks;
    CG *cg;
    KGraph *kg;
    Kernel *k;
    ModelCode *mc;
    LLVMValueRef fn, p_w, p_in, p_out, p_scratch, p_batch, p_stats;
    LLVMBasicBlockRef entry;
    LLVMValueRef *vbase;   /* per Value id: its float* (NULL if unused here) */
    LLVMValueRef *lbase;   /* per leaf: float* of LF_VEC / LF_TENSOR base */
    LLVMValueRef wbase[2]; /* packed matmul weights */
    LLVMValueRef acc[2];   /* the accumulators the epilogue reads (allocas or spill slots) */
    LLVMValueRef r;        /* i64 row */
    KernelParams kp;       /* the loop nest's parameters (target's, per kind) */
    int mr, nr;            /* register tile: mr rows x nr vectors of columns */
    LLVMValueRef rlo, rhi; /* the rows of the current row block */
    int index;             /* the kernel's number in the model */
    LLVMValueRef c0, c1;   /* the column range parameters */
    LLVMValueRef partial;  /* K-blocked matmuls: this call's [batch][P * nacc] partial sums in scratch */
    bool whole_row;        /* emitting the all-columns copy of an elementwise kernel */
    const char *name;      /* the kernel function's name */
    LLVMValueRef epi[2];   /* matmul kernels: the tile epilogue functions (full panel, last panel) */
    LLVMValueRef pfp[2];   /* with from_buffer: the compact panels the tiles prefetch from */
    bool from_buffer;      /* the tiles load f32 from a widened block (widen_block), not the panels */
    LLVMValueRef i8_scales[2][8]; /* int8: the current group's scales per projection and vector, */
    int i8_vec;                   /* for vectors of this width (0: none loaded) */
    Arena *scratch;
    LLVMValueRef p_tab;    /* the instance's table (KTab): the kernel body's last parameter */
    struct KTab *tab;
};

/* The per-instance constants a kernel body reads from its table instead of
 * holding them in its code (weight slots, the indices of model inputs and
 * outputs, scratch offsets), so that kernels identical up to their tensors
 * share one body (emit_kernel).  Entries are numbered in the order the code
 * first asks for them; an entry asked for again (the same key) is reused. */
typedef struct KTab {
    char *keys;            /* per entry: 'W' weight slot, 'V' a value's place (value_base) */
    int64_t *vals;
    int n, capkeys, capvals;
} KTab;

/* K blocking: a matmul with K > kc (the target's KernelParams) runs its
 * reduction in blocks of kc, all row tiles of a panel per block, so that
 * the panel's kc x P block of weights stays in L1 while every row tile
 * uses it (params.c sizes kc for that) and a tile's rows of x stay close.
 * Partial sums go to scratch between blocks; the order of the additions is
 * unchanged, so the result is bitwise that of the unblocked loop. */
static bool blocked_k(const Target *t, const Kernel *k) {
    return kernel_is_matmul(k->kind) && t->kp[k->kind].kc > 0 && k->k > t->kp[k->kind].kc;
}

static LLVMValueRef ci(CG *cg, long long v) { return LLVMConstInt(cg->t_i64, (unsigned long long)v, 1); }

/* An alloca in the entry block (so mem2reg promotes it). */
static LLVMValueRef var(KC *kc, LLVMTypeRef ty, LLVMValueRef init) {
    CG *cg = kc->cg;
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(B);
    LLVMValueRef first = LLVMGetFirstInstruction(kc->entry);
    if (first)
        LLVMPositionBuilderBefore(B, first);
    else
        LLVMPositionBuilderAtEnd(B, kc->entry);
    LLVMValueRef a = LLVMBuildAlloca(B, ty, "");
    LLVMPositionBuilderAtEnd(B, cur);
    if (init)
        LLVMBuildStore(B, init, a);
    return a;
}

typedef struct Loop {
    LLVMValueRef var, end;
    long long step;
    LLVMBasicBlockRef head, body, exit;
} Loop;

/* for (; var + step <= end; var += step): positions the builder in the body
 * and returns the counter's value there. */
static LLVMValueRef loop_open(KC *kc, Loop *l, LLVMValueRef v, LLVMValueRef end, long long step) {
    CG *cg = kc->cg;
    l->var = v;
    l->end = end;
    l->step = step;
    l->head = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "head");
    l->body = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "body");
    l->exit = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "exit");
    LLVMBuildBr(B, l->head);
    LLVMPositionBuilderAtEnd(B, l->head);
    LLVMValueRef i = LLVMBuildLoad2(B, cg->t_i64, v, "");
    LLVMValueRef next = LLVMBuildAdd(B, i, ci(cg, step), "");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLE, next, end, ""), l->body, l->exit);
    LLVMPositionBuilderAtEnd(B, l->body);
    return LLVMBuildLoad2(B, cg->t_i64, v, "");
}

/* Closes the loop; returns its back edge (for loop metadata). */
static LLVMValueRef loop_close(KC *kc, Loop *l) {
    CG *cg = kc->cg;
    LLVMValueRef i = LLVMBuildLoad2(B, cg->t_i64, l->var, "");
    LLVMBuildStore(B, LLVMBuildAdd(B, i, ci(cg, l->step), ""), l->var);
    LLVMValueRef br = LLVMBuildBr(B, l->head);
    LLVMPositionBuilderAtEnd(B, l->exit);
    return br;
}

/* llvm.loop.unroll.disable on a loop's back edge.  The full tile's k loop
 * keeps LLVM's unrolling (2-7% on gated kernels); the remainder tiles,
 * which run a few rows per call, do not: 100 -> 90 ms of JIT time for
 * examples/ffn.act. */
static void no_unroll(CG *cg, LLVMValueRef back_edge) {
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(cg->ctx, NULL, 0);
    LLVMMetadataRef dis = LLVMMDStringInContext2(cg->ctx, "llvm.loop.unroll.disable", 24);
    LLVMMetadataRef inner = LLVMMDNodeInContext2(cg->ctx, &dis, 1);
    LLVMMetadataRef ops[2] = {tmp, inner};
    LLVMMetadataRef id = LLVMMDNodeInContext2(cg->ctx, ops, 2);
    LLVMMetadataReplaceAllUsesWith(tmp, id); /* the loop ID refers to itself */
    LLVMSetMetadata(back_edge, LLVMGetMDKindIDInContext(cg->ctx, "llvm.loop", 9), LLVMMetadataAsValue(cg->ctx, id));
}

static LLVMValueRef gep(CG *cg, LLVMValueRef base, LLVMValueRef idx) {
    return LLVMBuildGEP2(B, cg->t_f32, base, &idx, 1, "");
}

static LLVMValueRef load_v(VM *vm, LLVMValueRef ptr) {
    CG *cg = vm->cg;
    LLVMValueRef v = LLVMBuildLoad2(B, vm->tf, ptr, "");
    LLVMSetAlignment(v, 1); /* caller buffers: no alignment is assumed */
    return v;
}

static void store_v(VM *vm, LLVMValueRef v, LLVMValueRef ptr) {
    CG *cg = vm->cg;
    LLVMSetAlignment(LLVMBuildStore(B, v, ptr), 1);
}

static LLVMValueRef splat_scalar(VM *vm, LLVMValueRef s) {
    CG *cg = vm->cg;
    if (vm->n == 1)
        return s;
    LLVMValueRef v = LLVMBuildInsertElement(B, LLVMGetUndef(vm->tf), s, ci(cg, 0), "");
    LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(cg->t_i32, (unsigned)vm->n));
    return LLVMBuildShuffleVector(B, v, LLVMGetUndef(vm->tf), zeros, "");
}

/* ---- buffers ---- */

/* array[i] (an array of pointers), i an i64 value */
static LLVMValueRef ptr_at(CG *cg, LLVMValueRef array, LLVMValueRef i) {
    LLVMValueRef p = LLVMBuildGEP2(B, cg->t_ptr, array, &i, 1, "");
    return LLVMBuildLoad2(B, cg->t_ptr, p, "");
}

/* The instance's constant `val` of kind `key`, loaded from its table. */
static LLVMValueRef tab_entry(KC *kc, char key, int64_t val) {
    CG *cg = kc->cg;
    KTab *t = kc->tab;
    int i = 0;
    while (i < t->n && !(t->keys[i] == key && t->vals[i] == val))
        i++;
    if (i == t->n) {
        int n = t->n;
        VEC_PUSH(kc->scratch, t->keys, n, t->capkeys, key);
        VEC_PUSH(kc->scratch, t->vals, t->n, t->capvals, val);
    }
    LLVMValueRef idx = ci(cg, i);
    LLVMValueRef at = LLVMBuildGEP2(B, cg->t_i64, kc->p_tab, &idx, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(B, cg->t_i64, at, "");
    LLVMSetMetadata(v, LLVMGetMDKindIDInContext(cg->ctx, "invariant.load", 14), LLVMMDNodeInContext(cg->ctx, NULL, 0));
    return v;
}

/* A value's float*: model input `index`, output `index` or scratch +
 * offset * batch.  Which one is data (the table's entry: where << 40 |
 * index or offset), not code, so that a layer reading the model's input
 * and one reading an intermediate share a body; the choice is two selects
 * per kernel call (in[0] and out[0] always exist: a model has at least one
 * of each). */
enum { VB_INPUT = 0, VB_OUTPUT = 1, VB_SCRATCH = 2 };
static LLVMValueRef value_base(KC *kc, Value *v) {
    CG *cg = kc->cg;
    if (kc->vbase[v->id])
        return kc->vbase[v->id];
    int64_t where = v->kind == V_INPUT ? VB_INPUT : v->kind == V_OUTPUT ? VB_OUTPUT : VB_SCRATCH;
    int64_t at = v->kind == V_TEMP ? kc->mc->offset[v->id] : v->index;
    LLVMValueRef e = tab_entry(kc, 'V', where << 40 | at);
    LLVMValueRef kind = LLVMBuildLShr(B, e, ci(cg, 40), "");
    LLVMValueRef idx = LLVMBuildAnd(B, e, ci(cg, ((int64_t)1 << 40) - 1), "");
    LLVMValueRef is_in = LLVMBuildICmp(B, LLVMIntEQ, kind, ci(cg, VB_INPUT), "");
    LLVMValueRef is_out = LLVMBuildICmp(B, LLVMIntEQ, kind, ci(cg, VB_OUTPUT), "");
    LLVMValueRef pin = ptr_at(cg, kc->p_in, LLVMBuildSelect(B, is_in, idx, ci(cg, 0), ""));
    LLVMValueRef pout = ptr_at(cg, kc->p_out, LLVMBuildSelect(B, is_out, idx, ci(cg, 0), ""));
    LLVMValueRef psc = gep(cg, kc->p_scratch, LLVMBuildMul(B, idx, kc->p_batch, ""));
    LLVMValueRef p = LLVMBuildSelect(B, is_in, pin, LLVMBuildSelect(B, is_out, pout, psc, ""), "");
    return kc->vbase[v->id] = p;
}

/* Index of the packed weight for ref in layout (created on first use). */
static int weight_slot(ModelCode *mc, Arena *a, const WeightRef *ref, int layout, int64_t panel, int32_t elem) {
    for (int i = 0; i < mc->nweights; i++) {
        WeightSlot *w = &mc->weights[i];
        if (w->layout == layout && strcmp(w->ref.name, ref->name) == 0 && w->ref.lo == ref->lo &&
            w->ref.rows == ref->rows && w->panel == panel && w->elem == elem)
            return i;
    }
    WeightSlot w = {*ref, layout, panel, elem};
    VEC_PUSH(a, mc->weights, mc->nweights, mc->capweights, w);
    return mc->nweights - 1;
}

/* ---- epilogue ---- */

/* Evaluate the kernel's expressions at (r, j) for V = vm->n columns; stores
 * every output unless `row_in` is set (row kernels: return the prologue). */
static LLVMValueRef emit_epilogue(KC *kc, VM *vm, LLVMValueRef j, Arena *scratch) {
    CG *cg = kc->cg;
    Kernel *k = kc->k;
    int n;
    Ep **list = ep_postorder(scratch, k, &n);
    LLVMValueRef *val = NEW_ARRAY(scratch, LLVMValueRef, (size_t)k->neps + 2);
    for (int i = 0; i < n; i++) {
        Ep *e = list[i];
        if (e->op == OP_CONST) {
            val[e->id] = vm_splat_f32(vm, (double)(float)e->p[0]);
        } else if (e->op == OP_LEAF) {
            Leaf *lf = &k->leaves[e->leaf];
            switch (lf->kind) {
            case LF_ACC: /* a slot of the tile buffer: f32 alignment only */
                val[e->id] = LLVMBuildLoad2(B, vm->tf, kc->acc[lf->acc], "");
                LLVMSetAlignment(val[e->id], 4);
                break;
            case LF_TENSOR: {
                LLVMValueRef off = LLVMBuildAdd(B, LLVMBuildMul(B, kc->r, ci(cg, lf->val->n), ""),
                                                LLVMBuildAdd(B, j, ci(cg, lf->col0), ""), "");
                val[e->id] = load_v(vm, gep(cg, kc->lbase[e->leaf], off));
                break;
            }
            case LF_VEC:
                if (lf->vec.rows == 1)
                    val[e->id] = splat_scalar(vm, LLVMBuildLoad2(B, cg->t_f32, kc->lbase[e->leaf], ""));
                else
                    val[e->id] = load_v(vm, gep(cg, kc->lbase[e->leaf], j));
                break;
            }
        } else {
            double p[NODE_MAX_PARAMS];
            for (int q = 0; q < NODE_MAX_PARAMS; q++) /* user parameters are f32 constants */
                p[q] = (double)(float)e->p[q];
            LLVMValueRef args[3] = {NULL, NULL, NULL};
            for (int q = 0; q < e->nin; q++)
                args[q] = val[e->in[q]->id];
            val[e->id] = vm_op(vm, e->op, p, args);
            if (e->stat && kc->hooks->site_value)
                kc->hooks->site_value(kc, vm, e, val[e->stat_pre->id], val[e->id], j);
        }
    }
    if (k->kind == K_ROW)
        return val[k->outs[0]->id];
    for (int o = 0; o < k->nouts; o++) {
        Value *v = k->out_vals[o];
        LLVMValueRef off = LLVMBuildAdd(B, LLVMBuildMul(B, kc->r, ci(cg, v->n), ""), j, "");
        store_v(vm, val[k->outs[o]->id], gep(cg, value_base(kc, v), off));
    }
    return NULL;
}

/* ---- dense, gated and elementwise kernels ---- */

/* min(c1, n): the end of the kernel's column range */
static LLVMValueRef col_end(KC *kc) {
    CG *cg = kc->cg;
    LLVMValueRef n = ci(cg, kc->k->n);
    if (kc->whole_row)
        return n;
    return LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, kc->c1, n, ""), kc->c1, n, "");
}

static void emit_columns(KC *kc, VM *vm, LLVMValueRef jvar, Arena *scratch) {
    Loop lj;
    LLVMValueRef j = loop_open(kc, &lj, jvar, col_end(kc), vm->n);
    emit_epilogue(kc, vm, j, scratch);
    loop_close(kc, &lj);
}

static void emit_map_kernel(KC *kc, Arena *scratch) {
    CG *cg = kc->cg;
    VM vv, vs;
    vm_init(&vv, cg, cg->t->vlen);
    vm_init(&vs, cg, 1);
    LLVMValueRef jvar = var(kc, cg->t_i64, NULL);
    /* Two copies: all columns with constant bounds (what every call but a
     * column split asks for; LLVM unrolls and schedules it better: 6% on
     * tanh), and the range [c0, min(c1, n)). */
    LLVMBasicBlockRef whole = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "whole");
    LLVMBasicBlockRef part = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "part");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "done");
    LLVMValueRef all = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntEQ, kc->c0, ci(cg, 0), ""),
                                    LLVMBuildICmp(B, LLVMIntSGE, kc->c1, ci(cg, kc->k->n), ""), "");
    LLVMBuildCondBr(B, all, whole, part);
    for (int copy = 0; copy < 2; copy++) {
        LLVMPositionBuilderAtEnd(B, copy == 0 ? whole : part);
        kc->whole_row = copy == 0;
        LLVMBuildStore(B, copy == 0 ? ci(cg, 0) : kc->c0, jvar); /* c0 is a multiple of the vector width */
        if (vv.n > 1)
            emit_columns(kc, &vv, jvar, scratch);
        emit_columns(kc, &vs, jvar, scratch); /* the tail, from where the vector loop stopped */
        LLVMBuildBr(B, done);
    }
    kc->whole_row = false;
    LLVMPositionBuilderAtEnd(B, done);
}

/* ---- register-blocked matmul kernels ---- */

/* The LLVM type a matmul weight is stored as (CG.weights). */
static int weight_size(CG *cg);

static LLVMTypeRef weight_type(CG *cg) {
    return cg->weights == ACTRT_ELEM_F32  ? cg->t_f32
           : cg->weights == ACTRT_ELEM_I8 ? LLVMInt8TypeInContext(cg->ctx)
                                          : LLVMInt16TypeInContext(cg->ctx);
}

/* Bytes of one stored matrix weight (the scales of int8 aside). */
static int weight_size(CG *cg) {
    return cg->weights == ACTRT_ELEM_F32 ? 4 : cg->weights == ACTRT_ELEM_I8 ? 1 : 2;
}

/* The default weight loader: f32 panels of P = nr * V columns, [k][P]. */
static LLVMValueRef load_weights_f32(KC *kc, VM *vm, int a, LLVMValueRef panel, LLVMValueRef kk, int off) {
    (void)a;
    CG *cg = kc->cg;
    int64_t P = (int64_t)kc->nr * vm->n;
    return load_v(vm, gep(cg, panel, LLVMBuildAdd(B, LLVMBuildMul(B, kk, ci(cg, P), ""), ci(cg, off), "")));
}

/* The V stored values of a compact panel at (kk, off), as integer lanes
 * of the stored width (i16: bf16, f16; i8: int8), aligned as one element. */
static LLVMValueRef load_stored(KC *kc, VM *vm, LLVMValueRef panel, LLVMValueRef kk, int off) {
    CG *cg = kc->cg;
    int64_t P = (int64_t)kc->nr * vm->n;
    LLVMTypeRef et = weight_type(cg), vt = vm->n == 1 ? et : LLVMVectorType(et, (unsigned)vm->n);
    LLVMValueRef idx = LLVMBuildAdd(B, LLVMBuildMul(B, kk, ci(cg, P), ""), ci(cg, off), "");
    LLVMValueRef v = LLVMBuildLoad2(B, vt, LLVMBuildGEP2(B, et, panel, &idx, 1, ""), "");
    LLVMSetAlignment(v, (unsigned)weight_size(cg));
    return v;
}

/* int8: the scales of group g, columns off .. off + V, of a panel (after
 * its k x P values; runtime.h, ACTRT_ELEM_I8). */
static LLVMValueRef load_i8_scales(KC *kc, VM *vm, LLVMValueRef panel, LLVMValueRef g, int off) {
    CG *cg = kc->cg;
    int64_t P = (int64_t)kc->nr * vm->n;
    LLVMValueRef so = ci(cg, kc->k->k * P);
    LLVMValueRef scales = LLVMBuildGEP2(B, LLVMInt8TypeInContext(cg->ctx), panel, &so, 1, "");
    return load_v(vm, gep(cg, scales, LLVMBuildAdd(B, LLVMBuildMul(B, g, ci(cg, P), ""), ci(cg, off), "")));
}

/* k index -> its int8 group (k / ACTRT_I8_GROUP, a power of two), and back */
static LLVMValueRef i8_group(CG *cg, LLVMValueRef k) {
    return LLVMBuildLShr(B, k, ci(cg, __builtin_ctz(ACTRT_I8_GROUP)), "");
}

/* bf16 panels: the f32 whose top half the value is (exact). */
static LLVMValueRef load_weights_bf16(KC *kc, VM *vm, int a, LLVMValueRef panel, LLVMValueRef kk, int off) {
    (void)a;
    CG *cg = kc->cg;
    LLVMValueRef w = LLVMBuildZExt(B, load_stored(kc, vm, panel, kk, off), vm->ti32, "");
    w = LLVMBuildShl(B, w, vm_splat(vm, LLVMConstInt(cg->t_i32, 16, 0)), "");
    return LLVMBuildBitCast(B, w, vm->tf, "");
}

/* f16 panels: widened exactly, by the hardware's conversion (F16C,
 * AArch64) or, without it (x86-64-v2), with integer operations: a normal
 * value rebiased, infinities and NaNs kept, a subnormal m as m * 2^-24. */
static LLVMValueRef load_weights_f16(KC *kc, VM *vm, int a, LLVMValueRef panel, LLVMValueRef kk, int off) {
    (void)a;
    CG *cg = kc->cg;
    LLVMValueRef h = load_stored(kc, vm, panel, kk, off);
    if (cg->t->caps.f16) {
        LLVMTypeRef half = LLVMHalfTypeInContext(cg->ctx), hv = vm->n == 1 ? half : LLVMVectorType(half, (unsigned)vm->n);
        return LLVMBuildFPExt(B, LLVMBuildBitCast(B, h, hv, ""), vm->tf, "");
    }
#define K32(v) vm_splat(vm, LLVMConstInt(cg->t_i32, (v), 0))
    LLVMValueRef x = LLVMBuildZExt(B, h, vm->ti32, "");
    LLVMValueRef sign = LLVMBuildShl(B, LLVMBuildAnd(B, x, K32(0x8000), ""), K32(16), "");
    LLVMValueRef e = LLVMBuildAnd(B, LLVMBuildLShr(B, x, K32(10), ""), K32(0x1f), "");
    LLVMValueRef mant = LLVMBuildAnd(B, x, K32(0x3ff), "");
    LLVMValueRef norm = LLVMBuildOr(B, LLVMBuildShl(B, LLVMBuildAdd(B, e, K32(112), ""), K32(23), ""),
                                    LLVMBuildShl(B, mant, K32(13), ""), "");
    LLVMValueRef special = LLVMBuildOr(B, K32(0x7f800000), LLVMBuildShl(B, mant, K32(13), ""), "");
    LLVMValueRef sub = LLVMBuildBitCast(B, LLVMBuildFMul(B, LLVMBuildUIToFP(B, mant, vm->tf, ""),
                                                         vm_splat_f32(vm, 1.0 / 16777216.0), ""),
                                        vm->ti32, ""); /* exact: mant < 2^10 */
    LLVMValueRef bits = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, e, K32(0x1f), ""), special, norm, "");
    bits = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, e, K32(0), ""), sub, bits, "");
#undef K32
    return LLVMBuildBitCast(B, LLVMBuildOr(B, bits, sign, ""), vm->tf, "");
}

/* int8 panels (runtime.h, ACTRT_ELEM_I8): q as [k][P] int8, then the
 * scales as [ceil(k / 32)][P] f32; the weight is fl(q * s), a product the
 * FMA after it does not absorb (no contraction of separate operations). */
static LLVMValueRef load_weights_int8(KC *kc, VM *vm, int a, LLVMValueRef panel, LLVMValueRef kk, int off) {
    CG *cg = kc->cg;
    LLVMValueRef q = load_stored(kc, vm, panel, kk, off);
    /* the tile's k loop runs by groups: its scales are loaded (emit_tile_acc) */
    LLVMValueRef s = kc->i8_vec == vm->n ? kc->i8_scales[a][off / vm->n]
                                         : load_i8_scales(kc, vm, panel, i8_group(cg, kk), off);
    return LLVMBuildFMul(B, LLVMBuildSIToFP(B, q, vm->tf, ""), s, "");
}

/* The statistics hook: count the site's vector in the calling thread's block. */
static void count_site(KC *kc, VM *vm, const Ep *e, LLVMValueRef pre, LLVMValueRef y, LLVMValueRef j) {
    cg_stats_count(kc->cg, vm, kc->p_stats, &kc->kg->sites[e->stat - 1], kc->mc->site_offset[e->stat - 1], pre, y, j);
}

static const KernelHooks default_hooks = {load_weights_f32, NULL};
static const KernelHooks stats_hooks = {load_weights_f32, count_site};

/* The partial-sum slot of accumulator a, row r + i, column off of the
 * current panel.  The region is [batch][partial_width] for every blocked
 * kernel (row r is the thread's that runs row r, whatever the kernel); a
 * call works on one panel at a time, so it needs one panel's worth of each
 * row, P * nacc floats at column (c0 / P) * P * nacc, which keeps
 * concurrent calls on other columns apart. */
static LLVMValueRef partial_at(KC *kc, int a, LLVMValueRef r, int i, int off) {
    CG *cg = kc->cg;
    int64_t P = (int64_t)kc->nr * cg->t->vlen;
    LLVMValueRef row = LLVMBuildMul(B, LLVMBuildAdd(B, r, ci(cg, i), ""), ci(cg, kc->mc->partial_width), "");
    return gep(cg, kc->partial, LLVMBuildAdd(B, row, ci(cg, a * P + off), ""));
}

/* The accumulation of one register tile: rows [r, r + m) x the panel
 * (base pointers wp[]; a last partial panel is zero-padded), over k in [kbeg, kend),
 * in registers; then the sums go back to the partial-sum slots (a block
 * before the last) or to the tile buffer buf[] for the shared epilogue.
 * first / last (i1): this K block starts the sums (else they come from the
 * partial-sum slots) / ends them.  Constant true for an unblocked kernel:
 * LLVM folds the other paths away.  One such loop per tile height; the
 * epilogue after them exists once per panel shape. */
static void emit_tile_acc(KC *kc, VM *vm, int m, LLVMValueRef *wp, LLVMValueRef r, LLVMValueRef kbeg,
                          LLVMValueRef kend, LLVMValueRef first, LLVMValueRef last, LLVMValueRef *buf) {
    CG *cg = kc->cg;
    Kernel *k = kc->k;
    int V = vm->n, nvec = kc->nr, P = kc->nr * V;
    LLVMValueRef acc[2][16][8];
    for (int a = 0; a < k->nacc; a++)
        for (int i = 0; i < m; i++)
            for (int v = 0; v < nvec; v++) {
                acc[a][i][v] = var(kc, vm->tf, NULL);
                LLVMValueRef init = vm_splat_f32(vm, 0);
                if (kc->partial) /* (a first block reads a slot it ignores) */
                    init = LLVMBuildSelect(B, first, init, load_v(vm, partial_at(kc, a, r, i, v * V)), "");
                LLVMBuildStore(B, init, acc[a][i][v]);
            }
    /* int8 from the panels: the k loop in groups of 32, each group's scales
     * loaded once (kc->i8_scales) for the loader (runtime.h, ACTRT_ELEM_I8) */
    bool groups = cg->weights == ACTRT_ELEM_I8 && !kc->from_buffer;
    Loop lg;
    LLVMValueRef kvar = var(kc, cg->t_i64, kbeg), gend = kend;
    if (groups) {
        LLVMValueRef gvar = var(kc, cg->t_i64, i8_group(cg, kbeg));
        LLVMValueRef ng = i8_group(cg, LLVMBuildAdd(B, kend, ci(cg, ACTRT_I8_GROUP - 1), ""));
        LLVMValueRef g = loop_open(kc, &lg, gvar, ng, 1);
        LLVMValueRef g0 = LLVMBuildMul(B, g, ci(cg, ACTRT_I8_GROUP), ""), g1 = LLVMBuildAdd(B, g0, ci(cg, ACTRT_I8_GROUP), "");
        LLVMBuildStore(B, LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, kbeg, g0, ""), kbeg, g0, ""), kvar);
        gend = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, kend, g1, ""), kend, g1, "");
        for (int a = 0; a < k->nacc; a++)
            for (int v = 0; v < nvec; v++)
                kc->i8_scales[a][v] = load_i8_scales(kc, vm, wp[a], g, v * V);
        kc->i8_vec = vm->n;
    }
    Loop lk;
    LLVMValueRef kk = loop_open(kc, &lk, kvar, gend, 1);
    LLVMValueRef wv[2][8];
    for (int a = 0; a < k->nacc; a++)
        for (int v = 0; v < nvec; v++)
            wv[a][v] = kc->from_buffer ? load_weights_f32(kc, vm, a, wp[a], kk, v * V)
                                       : kc->hooks->load_weights(kc, vm, a, wp[a], kk, v * V);
    if (kc->kp.pf > 0) { /* the weights pf rows of the panel ahead, into L2 (a prefetch never faults) */
        int esz = weight_size(cg);
        LLVMTypeRef pty;
        LLVMValueRef pfn = cg_intrinsic(cg, "llvm.prefetch", cg->t_ptr, &pty);
        for (int a = 0; a < k->nacc; a++)
            for (int v = 0; v < nvec; v += 64 / (esz * V) > 1 ? 64 / (esz * V) : 1) { /* one per cache line */
                LLVMValueRef idx = LLVMBuildAdd(B, LLVMBuildMul(B, kk, ci(cg, P), ""),
                                                ci(cg, (long long)kc->kp.pf * P + v * V), "");
                LLVMValueRef args[4] = {LLVMBuildGEP2(B, weight_type(cg), kc->from_buffer ? kc->pfp[a] : wp[a], &idx, 1, ""),
                                        LLVMConstInt(cg->t_i32, 0, 0), LLVMConstInt(cg->t_i32, 2, 0),
                                        LLVMConstInt(cg->t_i32, 1, 0)};
                LLVMBuildCall2(B, pty, pfn, args, 4, "");
            }
    }
    LLVMValueRef xb = value_base(kc, k->x);
    LLVMTypeRef fnty;
    LLVMValueRef fma = cg_intrinsic(cg, "llvm.fmuladd", vm->tf, &fnty);
    for (int i = 0; i < m; i++) {
        LLVMValueRef row = LLVMBuildAdd(B, r, ci(cg, i), "");
        LLVMValueRef xs = LLVMBuildLoad2(B, cg->t_f32, gep(cg, xb, LLVMBuildAdd(B, LLVMBuildMul(B, row, ci(cg, k->k), ""), kk, "")), "");
        LLVMSetAlignment(xs, 1);
        LLVMValueRef xv = splat_scalar(vm, xs);
        for (int a = 0; a < k->nacc; a++)
            for (int v = 0; v < nvec; v++) {
                LLVMValueRef args[3] = {xv, wv[a][v], LLVMBuildLoad2(B, vm->tf, acc[a][i][v], "")};
                LLVMBuildStore(B, LLVMBuildCall2(B, fnty, fma, args, 3, ""), acc[a][i][v]);
            }
    }
    LLVMValueRef back = loop_close(kc, &lk);
    if (m < kc->mr) /* a remainder tile: rare, not worth LLVM's unrolling time */
        no_unroll(cg, back);
    if (groups) {
        loop_close(kc, &lg);
        kc->i8_vec = 0;
    }
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "tile_acc_done");
    LLVMBasicBlockRef tobuf = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "to_buffer");
    if (kc->partial) { /* a block before the last: keep the sums */
        LLVMBasicBlockRef keep = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "keep");
        LLVMBuildCondBr(B, last, tobuf, keep);
        LLVMPositionBuilderAtEnd(B, keep);
        for (int a = 0; a < k->nacc; a++)
            for (int i = 0; i < m; i++)
                for (int v = 0; v < nvec; v++)
                    store_v(vm, LLVMBuildLoad2(B, vm->tf, acc[a][i][v], ""), partial_at(kc, a, r, i, v * V));
        LLVMBuildBr(B, done);
    } else {
        LLVMBuildBr(B, tobuf);
    }
    LLVMPositionBuilderAtEnd(B, tobuf);
    for (int a = 0; a < k->nacc; a++)
        for (int i = 0; i < m; i++)
            for (int v = 0; v < nvec; v++) {
                LLVMValueRef st = LLVMBuildStore(B, LLVMBuildLoad2(B, vm->tf, acc[a][i][v], ""),
                                                 gep(cg, buf[a], ci(cg, i * P + v * V)));
                LLVMSetAlignment(st, 4);
            }
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, done);
}

/* The epilogue of a tile of m (i64, at most mr) rows from the tile buffer:
 * the (vector, then scalar) epilogue over rows and columns, so its code
 * exists once per panel shape, not once per tile height or register. */
static void emit_tile_epilogue(KC *kc, VM *vm, VM *vs, LLVMValueRef m, int ncols, LLVMValueRef j0, LLVMValueRef r,
                               LLVMValueRef *buf, Arena *scratch) {
    CG *cg = kc->cg;
    Kernel *k = kc->k;
    int V = vm->n, P = kc->nr * V, full = ncols / V * V;
    LLVMValueRef ivar = var(kc, cg->t_i64, ci(cg, 0));
    Loop li;
    LLVMValueRef i = loop_open(kc, &li, ivar, m, 1);
    kc->r = LLVMBuildAdd(B, r, i, "");
    LLVMValueRef rowoff = LLVMBuildMul(B, i, ci(cg, P), "");
    LLVMValueRef jvar = var(kc, cg->t_i64, ci(cg, 0));
    for (int pass = 0; pass < 2; pass++) { /* full vectors, then the remaining columns one by one */
        VM *w = pass == 0 ? vm : vs;
        if ((pass == 0 && full == 0) || (pass == 1 && full == ncols))
            continue;
        Loop lj;
        LLVMValueRef j = loop_open(kc, &lj, jvar, ci(cg, pass == 0 ? full : ncols), w->n);
        for (int a = 0; a < k->nacc; a++)
            kc->acc[a] = gep(cg, buf[a], LLVMBuildAdd(B, rowoff, j, ""));
        emit_epilogue(kc, w, LLVMBuildAdd(B, j0, j, ""), scratch);
        loop_close(kc, &lj);
    }
    LLVMBuildStore(B, ci(cg, 0), jvar);
    loop_close(kc, &li);
}

/* The largest power of two below n (n >= 2): the tallest remainder tile. */
static int pow2_below(int n) {
    int h = 1;
    while (h * 2 < n)
        h *= 2;
    return h;
}

/* void NAME_epiI(w, in, out, scratch, batch, r, m, j0, buf_a, buf_b, stats, table) */
static LLVMTypeRef epilogue_type(CG *cg) {
    LLVMTypeRef args[12] = {cg->t_ptr, cg->t_ptr, cg->t_ptr, cg->t_ptr, cg->t_i64, cg->t_i64,
                            cg->t_i64, cg->t_i64, cg->t_ptr, cg->t_ptr, cg->t_ptr, cg->t_ptr};
    return LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), args, 12, 0);
}

static void kernel_bases(KC *kc);

/* The tile epilogue of one panel shape as a function of its own, called
 * once per finished tile (the call costs nothing next to a tile's k loop).
 * Out of line because the epilogue's constants (a precise activation
 * holds dozens) would otherwise be hoisted out of it by LICM and held in
 * registers across the whole kernel, spilling the accumulators of every
 * k loop: dense + gelu_tanh ran at 2/3 of dense + relu.  Its own function
 * is also its own register allocation and one copy of its code. */
static LLVMValueRef epilogue_fn(KC *kc, VM *vm, VM *vs, int ncols, int which, Arena *scratch) {
    CG *cg = kc->cg;
    if (kc->epi[which])
        return kc->epi[which];
    LLVMBasicBlockRef here = LLVMGetInsertBlock(B);
    KC saved = *kc;
    LLVMValueRef fn = LLVMAddFunction(cg->mod, arena_printf(scratch, "%s_epi%d", kc->name, which), epilogue_type(cg));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(cg->ctx, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
    if (cg->stats) /* the statistics block: no other pointer reaches it */
        LLVMAddAttributeAtIndex(fn, 11, LLVMCreateEnumAttribute(cg->ctx, LLVMGetEnumAttributeKindForName("noalias", 7), 0));
    kc->fn = fn;
    kc->entry = LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry");
    LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(cg->ctx, fn, "start");
    LLVMPositionBuilderAtEnd(B, start);
    kernel_bases(kc);
    kc->p_stats = LLVMGetParam(fn, 10);
    LLVMValueRef buf[2] = {LLVMGetParam(fn, 8), LLVMGetParam(fn, 9)};
    emit_tile_epilogue(kc, vm, vs, LLVMGetParam(fn, 6), ncols, LLVMGetParam(fn, 7), LLVMGetParam(fn, 5), buf, scratch);
    LLVMBuildRetVoid(B);
    LLVMPositionBuilderAtEnd(B, kc->entry);
    LLVMBuildBr(B, start);
    saved.epi[which] = fn;
    *kc = saved;
    LLVMPositionBuilderAtEnd(B, here);
    return fn;
}

/* All row tiles of the current row block [rlo, rhi) of panel jp: per K
 * block, tiles of mr rows and then power-of-two tiles for the rows left
 * (a switch over the heights), each followed, in the last block, by a
 * call of the epilogue of the panel's columns. */
/* The row tiles of rows [rlo, rhi) over K block [kbeg, kend) of panel jp
 * (its weights at wp[]), each followed, in the last block, by a call of the
 * epilogue of the panel's columns. */
static void emit_rows(KC *kc, VM *vm, VM *vs, LLVMValueRef jp, LLVMValueRef *wp, LLVMValueRef kbeg, LLVMValueRef kend,
                      LLVMValueRef first, LLVMValueRef last, Arena *scratch) {
    CG *cg = kc->cg;
    Kernel *k = kc->k;
    int64_t P = (int64_t)kc->nr * vm->n, nfull = k->n / P, rest = k->n % P;
    LLVMValueRef j0 = LLVMBuildMul(B, jp, ci(cg, P), "");
    /* the tile buffer the epilogue reads, per projection */
    LLVMTypeRef arr = LLVMArrayType(cg->t_f32, (unsigned)(kc->mr * P));
    LLVMValueRef buf[2];
    for (int a = 0; a < k->nacc; a++) {
        buf[a] = var(kc, arr, NULL);
        LLVMSetAlignment(buf[a], 64); /* no vector store into it spans two cache lines */
    }
    LLVMValueRef rvar = var(kc, cg->t_i64, NULL), mvar = var(kc, cg->t_i64, NULL);
    LLVMBuildStore(B, kc->rlo, rvar);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "rows");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "row_tile");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "row_tile_join");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "rows_done");
    LLVMBuildBr(B, head);
    LLVMPositionBuilderAtEnd(B, head);
    LLVMValueRef r = LLVMBuildLoad2(B, cg->t_i64, rvar, "");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, r, kc->rhi, ""), body, exit);
    LLVMPositionBuilderAtEnd(B, body);
    /* m = mr rows, or of the rows left the largest power of two (7 = 4 + 2
     * + 1): log2(mr) remainder tiles, not mr - 1 of them (JIT time) */
    LLVMValueRef left = LLVMBuildSub(B, kc->rhi, r, "");
    LLVMValueRef m = ci(cg, 1);
    for (int h = 2; h < kc->mr; h *= 2)
        m = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGE, left, ci(cg, h), ""), ci(cg, h), m, "");
    m = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGE, left, ci(cg, kc->mr), ""), ci(cg, kc->mr), m, "");
    LLVMBuildStore(B, m, mvar);
    LLVMBasicBlockRef deflt = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "tile_full");
    LLVMValueRef sw = LLVMBuildSwitch(B, m, deflt, 4);
    for (int h = kc->mr; h >= 1; h = h == kc->mr && kc->mr > 1 ? pow2_below(kc->mr) : h / 2) {
        LLVMBasicBlockRef bb = deflt;
        if (h < kc->mr) {
            bb = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "tile_rest");
            LLVMAddCase(sw, ci(cg, h), bb);
        }
        LLVMPositionBuilderAtEnd(B, bb);
        emit_tile_acc(kc, vm, h, wp, r, kbeg, kend, first, last, buf);
        LLVMBuildBr(B, join);
    }
    LLVMPositionBuilderAtEnd(B, join);
    LLVMBasicBlockRef epi = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "epilogue");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "row_tile_next");
    LLVMBuildCondBr(B, last, epi, next);
    LLVMPositionBuilderAtEnd(B, epi);
    LLVMValueRef eargs[12] = {kc->p_w, kc->p_in, kc->p_out, kc->p_scratch, kc->p_batch, r,
                              LLVMBuildLoad2(B, cg->t_i64, mvar, ""), j0, buf[0],
                              k->nacc > 1 ? buf[1] : LLVMConstNull(cg->t_ptr), kc->p_stats, kc->p_tab};
    /* the epilogue of this panel's columns: all P, or the rest of the last */
    LLVMValueRef efn = nfull > 0 ? epilogue_fn(kc, vm, vs, (int)P, 0, scratch) : NULL;
    if (rest) {
        LLVMValueRef erest = epilogue_fn(kc, vm, vs, (int)rest, 1, scratch);
        efn = efn ? LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, jp, ci(cg, nfull), ""), erest, efn, "") : erest;
    }
    LLVMBuildCall2(B, epilogue_type(cg), efn, eargs, 12, "");
    LLVMBuildBr(B, next);
    LLVMPositionBuilderAtEnd(B, next);
    LLVMBuildStore(B, LLVMBuildAdd(B, r, LLVMBuildLoad2(B, cg->t_i64, mvar, ""), ""), rvar);
    LLVMBuildBr(B, head);
    LLVMPositionBuilderAtEnd(B, exit);
}

/* Compact weights of a K block widened once into an L1 buffer of kc x P
 * f32 per projection, which every row tile of the block then reads (the
 * same values as widening in the tiles' registers); returns in lp[] the
 * base pointers that make the tiles' index kk * P + off land in it. */
static void widen_block(KC *kc, VM *vm, LLVMValueRef *wp, LLVMValueRef kbeg, LLVMValueRef kend, LLVMValueRef *lp) {
    CG *cg = kc->cg;
    int64_t P = (int64_t)kc->nr * vm->n;
    LLVMTypeRef barr = LLVMArrayType(cg->t_f32, (unsigned)(kc->kp.kc * P));
    for (int a = 0; a < kc->k->nacc; a++) {
        LLVMValueRef wb = var(kc, barr, NULL);
        LLVMSetAlignment(wb, 64);
        LLVMValueRef kvar = var(kc, cg->t_i64, kbeg);
        Loop lw;
        LLVMValueRef kk = loop_open(kc, &lw, kvar, kend, 1);
        LLVMValueRef row = LLVMBuildMul(B, LLVMBuildSub(B, kk, kbeg, ""), ci(cg, P), "");
        for (int v = 0; v < kc->nr; v++) {
            LLVMValueRef w = kc->hooks->load_weights(kc, vm, a, wp[a], kk, v * vm->n);
            LLVMSetAlignment(LLVMBuildStore(B, w, gep(cg, wb, LLVMBuildAdd(B, row, ci(cg, v * vm->n), ""))), 64);
        }
        loop_close(kc, &lw);
        lp[a] = gep(cg, wb, LLVMBuildNeg(B, LLVMBuildMul(B, kbeg, ci(cg, P), ""), ""));
    }
}

/* All row tiles of the current row block [rlo, rhi) of panel jp, per K
 * block.  Compact weights in K blocks: with two full row tiles or more the
 * block is widened once into an L1 buffer the tiles share (measured on the
 * Intel Xeon: +7..15% at 64-256 rows, -13..21% at 1-8, where widening in
 * the tiles' registers wins); fewer rows widen in registers. */
static void emit_panel(KC *kc, VM *vm, VM *vs, LLVMValueRef jp, Arena *scratch) {
    CG *cg = kc->cg;
    Kernel *k = kc->k;
    int64_t P = (int64_t)kc->nr * vm->n;
    LLVMValueRef wp[2];
    actrt_weight_desc pd = {.elem = cg->weights, .k = k->k, .panel = P}; /* in bytes of the stored panels */
    LLVMValueRef poff = LLVMBuildMul(B, jp, ci(cg, actrt_panel_bytes(&pd)), "");
    for (int a = 0; a < k->nacc; a++)
        wp[a] = LLVMBuildGEP2(B, LLVMInt8TypeInContext(cg->ctx), kc->wbase[a], &poff, 1, "");
    int64_t kcb = kc->kp.kc, nkb = kc->partial ? (k->k + kcb - 1) / kcb : 1;
    LLVMValueRef kbvar = var(kc, cg->t_i64, ci(cg, 0));
    Loop lb;
    LLVMValueRef kb = loop_open(kc, &lb, kbvar, ci(cg, nkb), 1);
    LLVMValueRef kbeg = nkb == 1 ? ci(cg, 0) : LLVMBuildMul(B, kb, ci(cg, kcb), "");
    LLVMValueRef kend = ci(cg, k->k), first = LLVMConstInt(cg->t_i1, 1, 0), last = first;
    if (nkb > 1) {
        LLVMValueRef e = LLVMBuildAdd(B, kbeg, ci(cg, kcb), "");
        kend = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, e, ci(cg, k->k), ""), e, ci(cg, k->k), "");
        first = LLVMBuildICmp(B, LLVMIntEQ, kb, ci(cg, 0), "");
        last = LLVMBuildICmp(B, LLVMIntEQ, kb, ci(cg, nkb - 1), "");
    }
    if (cg->weights != ACTRT_ELEM_F32 && nkb > 1) {
        LLVMBasicBlockRef bufd = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "block_widened");
        LLVMBasicBlockRef regs = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "block_in_registers");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "block_done");
        LLVMValueRef many = LLVMBuildICmp(B, LLVMIntSGE, LLVMBuildSub(B, kc->rhi, kc->rlo, ""), ci(cg, 2 * kc->mr), "");
        LLVMBuildCondBr(B, many, bufd, regs);
        LLVMPositionBuilderAtEnd(B, bufd);
        LLVMValueRef lp[2];
        widen_block(kc, vm, wp, kbeg, kend, lp);
        kc->pfp[0] = wp[0], kc->pfp[1] = wp[1];
        kc->from_buffer = true;
        emit_rows(kc, vm, vs, jp, lp, kbeg, kend, first, last, scratch);
        kc->from_buffer = false;
        LLVMBuildBr(B, done);
        LLVMPositionBuilderAtEnd(B, regs);
        emit_rows(kc, vm, vs, jp, wp, kbeg, kend, first, last, scratch);
        LLVMBuildBr(B, done);
        LLVMPositionBuilderAtEnd(B, done);
    } else {
        emit_rows(kc, vm, vs, jp, wp, kbeg, kend, first, last, scratch);
    }
    loop_close(kc, &lb);
}

/* Row blocks of mc rows (all rows when mc is 0), and per block the panels
 * of nr vectors of columns in one loop. */
static void emit_matmul_kernel(KC *kc, Arena *scratch) {
    CG *cg = kc->cg;
    Kernel *k = kc->k;
    VM vv, vs;
    vm_init(&vv, cg, cg->t->vlen);
    vm_init(&vs, cg, 1);
    int64_t P = (int64_t)kc->nr * vv.n, nfull = k->n / P, rest = k->n % P;
    LLVMValueRef r0 = LLVMGetParam(kc->fn, 5), r1 = LLVMGetParam(kc->fn, 6);
    Loop lm;
    LLVMValueRef rbvar = NULL;
    if (kc->kp.mc > 0) {
        rbvar = var(kc, cg->t_i64, r0);
        LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "row_blocks");
        lm.body = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "row_block");
        lm.exit = LLVMAppendBasicBlockInContext(cg->ctx, kc->fn, "row_blocks_done");
        lm.head = head;
        LLVMBuildBr(B, head);
        LLVMPositionBuilderAtEnd(B, head);
        LLVMValueRef rb = LLVMBuildLoad2(B, cg->t_i64, rbvar, "");
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, rb, r1, ""), lm.body, lm.exit);
        LLVMPositionBuilderAtEnd(B, lm.body);
        kc->rlo = LLVMBuildLoad2(B, cg->t_i64, rbvar, "");
        LLVMValueRef e = LLVMBuildAdd(B, kc->rlo, ci(cg, kc->kp.mc), "");
        kc->rhi = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, e, r1, ""), e, r1, "");
    } else {
        kc->rlo = r0, kc->rhi = r1;
    }
    /* the panels of columns [c0, min(c1, n)), c0 a multiple of P: one loop
     * (the last, partial panel runs the same tiles over its zero padding;
     * only its epilogue stops at n) */
    int64_t npanels = nfull + (rest > 0);
    LLVMValueRef end = col_end(kc);
    LLVMValueRef jpvar = var(kc, cg->t_i64, LLVMBuildSDiv(B, kc->c0, ci(cg, P), ""));
    LLVMValueRef last = LLVMBuildSDiv(B, LLVMBuildAdd(B, end, ci(cg, P - 1), ""), ci(cg, P), "");
    last = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, last, ci(cg, npanels), ""), last, ci(cg, npanels), "");
    Loop lp;
    LLVMValueRef jp = loop_open(kc, &lp, jpvar, last, 1);
    emit_panel(kc, &vv, &vs, jp, scratch);
    loop_close(kc, &lp);
    if (rbvar) {
        LLVMBuildStore(B, kc->rhi, rbvar);
        LLVMBuildBr(B, lm.head);
        LLVMPositionBuilderAtEnd(B, lm.exit);
    }
}

/* ---- row-wise kernels ---- */

/* Horizontal sum (or IEEE maximum) of a vector, lane by lane: a fixed order. */
static LLVMValueRef reduce(VM *vm, LLVMValueRef v, bool is_max) {
    CG *cg = vm->cg;
    if (vm->n == 1)
        return v;
    LLVMValueRef r = LLVMBuildExtractElement(B, v, ci(cg, 0), "");
    VM s;
    vm_init(&s, cg, 1);
    for (int i = 1; i < vm->n; i++) {
        LLVMValueRef args[2] = {r, LLVMBuildExtractElement(B, v, ci(cg, i), "")};
        r = is_max ? vm_op(&s, OP_MAX, NULL, args) : LLVMBuildFAdd(B, args[0], args[1], "");
    }
    return r;
}

typedef enum { PASS_FIRST, PASS_EXP, PASS_VAR, PASS_FINAL } RowPass;

typedef struct RowState {
    LLVMValueRef acc_v, acc_s;   /* allocas: vector and scalar partial results */
    LLVMValueRef mx, lse, mean, inv, sum; /* scalars from earlier passes */
} RowState;

/* One pass over the columns of row r with lane width vm->n. */
static void row_pass(KC *kc, VM *vm, RowPass pass, RowState *rs, LLVMValueRef jvar, LLVMValueRef acc, Arena *scratch) {
    CG *cg = kc->cg;
    Kernel *k = kc->k;
    Loop lj;
    LLVMValueRef j = loop_open(kc, &lj, jvar, ci(cg, k->n), vm->n);
    Value *ov = k->out_vals[0];
    LLVMValueRef ptr = gep(cg, value_base(kc, ov), LLVMBuildAdd(B, LLVMBuildMul(B, kc->r, ci(cg, k->n), ""), j, ""));
    LLVMValueRef a = LLVMBuildLoad2(B, vm->tf, acc, "");
    LLVMValueRef args[3];
    Op op = k->row_op;
    if (pass == PASS_FIRST) {
        LLVMValueRef v = emit_epilogue(kc, vm, j, scratch);
        store_v(vm, v, ptr);
        args[0] = a, args[1] = op == OP_RMSNORM ? LLVMBuildFMul(B, v, v, "") : v;
        LLVMBuildStore(B, op == OP_SOFTMAX || op == OP_LOG_SOFTMAX ? vm_op(vm, OP_MAX, NULL, args)
                                                                  : LLVMBuildFAdd(B, args[0], args[1], ""), acc);
    } else if (pass == PASS_EXP) { /* softmax family: exp(x - max) */
        LLVMValueRef d = LLVMBuildFSub(B, load_v(vm, ptr), splat_scalar(vm, rs->mx), "");
        LLVMValueRef e = vm_op(vm, OP_EXP, NULL, &d);
        if (op == OP_SOFTMAX)
            store_v(vm, e, ptr);
        LLVMBuildStore(B, LLVMBuildFAdd(B, a, e, ""), acc);
    } else if (pass == PASS_VAR) { /* layernorm: sum of (x - mean)^2 */
        LLVMValueRef d = LLVMBuildFSub(B, load_v(vm, ptr), splat_scalar(vm, rs->mean), "");
        LLVMBuildStore(B, LLVMBuildFAdd(B, a, LLVMBuildFMul(B, d, d, ""), ""), acc);
    } else {
        LLVMValueRef x = load_v(vm, ptr), y;
        if (op == OP_SOFTMAX) {
            y = LLVMBuildFDiv(B, x, splat_scalar(vm, rs->sum), "");
        } else if (op == OP_LOG_SOFTMAX) {
            y = LLVMBuildFSub(B, LLVMBuildFSub(B, x, splat_scalar(vm, rs->mx), ""), splat_scalar(vm, rs->lse), "");
        } else {
            if (op == OP_LAYERNORM)
                x = LLVMBuildFSub(B, x, splat_scalar(vm, rs->mean), "");
            y = LLVMBuildFMul(B, x, splat_scalar(vm, rs->inv), "");
            LLVMValueRef g = load_v(vm, gep(cg, kc->wbase[0], j));
            y = LLVMBuildFMul(B, y, g, "");
            if (k->has_beta)
                y = LLVMBuildFAdd(B, y, load_v(vm, gep(cg, kc->wbase[1], j)), "");
        }
        store_v(vm, y, ptr);
    }
    loop_close(kc, &lj);
}

/* All columns of one pass: vector lanes, then the tail; returns the reduced
 * partial result (sum or max) of this pass. */
static LLVMValueRef row_sweep(KC *kc, VM *vv, VM *vs, RowPass pass, RowState *rs, double init, Arena *scratch) {
    CG *cg = kc->cg;
    LLVMValueRef jvar = var(kc, cg->t_i64, NULL);
    LLVMBuildStore(B, ci(cg, 0), jvar);
    LLVMValueRef av = var(kc, vv->tf, NULL), as = var(kc, cg->t_f32, NULL);
    LLVMBuildStore(B, vm_splat_f32(vv, init), av);
    LLVMBuildStore(B, LLVMConstReal(cg->t_f32, init), as);
    if (vv->n > 1)
        row_pass(kc, vv, pass, rs, jvar, av, scratch);
    row_pass(kc, vs, pass, rs, jvar, as, scratch);
    bool is_max = pass == PASS_FIRST && (kc->k->row_op == OP_SOFTMAX || kc->k->row_op == OP_LOG_SOFTMAX);
    LLVMValueRef args[2] = {reduce(vv, LLVMBuildLoad2(B, vv->tf, av, ""), is_max), LLVMBuildLoad2(B, cg->t_f32, as, "")};
    return is_max ? vm_op(vs, OP_MAX, NULL, args) : LLVMBuildFAdd(B, args[0], args[1], "");
}

static void emit_row_kernel(KC *kc, Arena *scratch) {
    CG *cg = kc->cg;
    Kernel *k = kc->k;
    VM vv, vs;
    vm_init(&vv, cg, cg->t->vlen);
    vm_init(&vs, cg, 1);
    RowState rs = {0};
    LLVMValueRef nf = LLVMConstReal(cg->t_f32, (double)k->n);
    bool softmax = k->row_op == OP_SOFTMAX || k->row_op == OP_LOG_SOFTMAX;
    LLVMValueRef first = row_sweep(kc, &vv, &vs, PASS_FIRST, &rs, softmax ? -INFINITY : 0, scratch);
    if (softmax) {
        rs.mx = first;
        rs.sum = row_sweep(kc, &vv, &vs, PASS_EXP, &rs, 0, scratch);
        rs.lse = vm_op(&vs, OP_LOG, NULL, &rs.sum);
    } else if (k->row_op == OP_LAYERNORM) {
        rs.mean = LLVMBuildFDiv(B, first, nf, "");
        LLVMValueRef var_ = LLVMBuildFDiv(B, row_sweep(kc, &vv, &vs, PASS_VAR, &rs, 0, scratch), nf, "");
        LLVMValueRef t = LLVMBuildFAdd(B, var_, LLVMConstReal(cg->t_f32, (float)k->eps), "");
        rs.inv = vm_op(&vs, OP_RSQRT, NULL, &t);
    } else {
        LLVMValueRef t = LLVMBuildFAdd(B, LLVMBuildFDiv(B, first, nf, ""), LLVMConstReal(cg->t_f32, (float)k->eps), "");
        rs.inv = vm_op(&vs, OP_RSQRT, NULL, &t);
    }
    row_sweep(kc, &vv, &vs, PASS_FINAL, &rs, 0, scratch);
}

/* ---- functions ---- */

/* (w, in, out, scratch, batch, r0, r1, c0, c1, stats, table): actrt_kernel_fn */
LLVMTypeRef cg_kernel_type(CG *cg) {
    LLVMTypeRef args[11] = {cg->t_ptr, cg->t_ptr, cg->t_ptr, cg->t_ptr, cg->t_i64, cg->t_i64,
                            cg->t_i64, cg->t_i64, cg->t_i64, cg->t_ptr, cg->t_ptr};
    return LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), args, 11, 0);
}

/* The generated bodies of a model so far, to share (emit_kernel). */
typedef struct SharedBody {
    LLVMValueRef fn;
    uint64_t hash; /* cg_body_hash */
} SharedBody;

/* Deletes a body and its epilogue functions. */
static void delete_body(CG *cg, LLVMValueRef fn) {
    for (LLVMValueRef g = LLVMGetFirstFunction(cg->mod), next; g; g = next) {
        next = LLVMGetNextFunction(g);
        if (cg_body_part(g, fn))
            LLVMDeleteFunction(g);
    }
    LLVMDeleteFunction(fn);
}

/* The base pointers the code of kc->fn reads (its first five parameters
 * are w, in, out, scratch, batch): packed weights and the leaves' vectors
 * from w, the leaves' tensors, outputs and input from the buffers.  For a
 * kernel and for its epilogue functions alike (weight_slot finds the
 * slots the kernel created). */
static void kernel_bases(KC *kc) {
    CG *cg = kc->cg;
    Kernel *k = kc->k;
    ModelCode *mc = kc->mc;
    kc->p_w = LLVMGetParam(kc->fn, 0);
    kc->p_in = LLVMGetParam(kc->fn, 1);
    kc->p_out = LLVMGetParam(kc->fn, 2);
    kc->p_scratch = LLVMGetParam(kc->fn, 3);
    kc->p_batch = LLVMGetParam(kc->fn, 4);
    kc->p_tab = LLVMGetParam(kc->fn, LLVMCountParams(kc->fn) - 1);
    kc->vbase = NEW_ARRAY(kc->scratch, LLVMValueRef, (size_t)kc->kg->nvalues + 1);
    kc->lbase = NEW_ARRAY(kc->scratch, LLVMValueRef, (size_t)k->nleaves + 1);
    int64_t P = (int64_t)kc->nr * cg->t->vlen;
    for (int a = 0; a < k->nacc; a++)
        kc->wbase[a] = ptr_at(cg, kc->p_w, tab_entry(kc, 'W', weight_slot(mc, cg->arena_for_slots, &k->w[a], ACTRT_LAYOUT_PANEL, P, cg->weights)));
    if (k->kind == K_ROW) {
        if (k->has_gamma)
            kc->wbase[0] = ptr_at(cg, kc->p_w, tab_entry(kc, 'W', weight_slot(mc, cg->arena_for_slots, &k->gamma, ACTRT_LAYOUT_VEC, 0, ACTRT_ELEM_F32)));
        if (k->has_beta)
            kc->wbase[1] = ptr_at(cg, kc->p_w, tab_entry(kc, 'W', weight_slot(mc, cg->arena_for_slots, &k->beta, ACTRT_LAYOUT_VEC, 0, ACTRT_ELEM_F32)));
    }
    for (int l = 0; l < k->nleaves; l++) {
        Leaf *lf = &k->leaves[l];
        if (lf->kind == LF_VEC)
            kc->lbase[l] = ptr_at(cg, kc->p_w, tab_entry(kc, 'W', weight_slot(mc, cg->arena_for_slots, &lf->vec, ACTRT_LAYOUT_VEC, 0, ACTRT_ELEM_F32)));
        else if (lf->kind == LF_TENSOR)
            kc->lbase[l] = value_base(kc, lf->val);
    }
    for (int o = 0; o < k->nouts; o++)
        value_base(kc, k->out_vals[o]);
    if (k->x)
        value_base(kc, k->x);
}

/* Kernel `index`: its function (named `name`_body) and its table (`name`_tab,
 * which the description passes it).  The function is generated, then kept
 * only if no earlier one of the model has the same IR (a kernel identical
 * up to its tensors: same kind, shapes, epilogue, tier and weight type), so
 * a stack of identical layers has one function per distinct layer;
 * mc->kernel_names[index] names the one kept. */
static void emit_kernel(CG *cg, KGraph *kg, int index, ModelCode *mc, const char *name, Arena *scratch,
                        SharedBody **bodies, int *nbodies, int *capbodies) {
    Kernel *k = kg->kernels[index];
    KTab tab = {0};
    KC kc = {.hooks = cg->stats ? &stats_hooks : &default_hooks, .cg = cg, .kg = kg, .k = k, .mc = mc, .index = index,
             .tab = &tab};
    KernelHooks hooks = *kc.hooks; /* the weight loader of the stored type */
    hooks.load_weights = cg->weights == ACTRT_ELEM_BF16  ? load_weights_bf16
                         : cg->weights == ACTRT_ELEM_F16 ? load_weights_f16
                         : cg->weights == ACTRT_ELEM_I8  ? load_weights_int8
                                                         : load_weights_f32;
    kc.hooks = &hooks;
    kc.name = arena_printf(scratch, "%s_body", name);
    kc.scratch = scratch;
    kc.fn = LLVMAddFunction(cg->mod, kc.name, cg_kernel_type(cg));
    LLVMSetLinkage(kc.fn, LLVMExternalLinkage);
    kc.entry = LLVMAppendBasicBlockInContext(cg->ctx, kc.fn, "entry");
    LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(cg->ctx, kc.fn, "start");
    LLVMPositionBuilderAtEnd(B, start);
    kc.kp = cg->t->kp[k->kind]; /* the target's loop-nest parameters (params.c) */
    kc.mr = kc.kp.mr;
    kc.nr = kc.kp.nr;
    int64_t P = (int64_t)kc.nr * cg->t->vlen; /* panel width */
    /* column splits: at panel boundaries (matmuls), vector boundaries
     * (elementwise), never inside a row op */
    switch (k->kind) {
    case K_DENSE:
    case K_GATED: mc->col_step[kc.index] = P; break;
    case K_ELEMENTWISE: mc->col_step[kc.index] = cg->t->vlen; break;
    case K_ROW:
    case K_COUNT: mc->col_step[kc.index] = 0; break;
    }
    kc.c0 = LLVMGetParam(kc.fn, 7);
    kc.c1 = LLVMGetParam(kc.fn, 8);
    kc.p_stats = LLVMGetParam(kc.fn, 9);
    kernel_bases(&kc);
    if (blocked_k(cg->t, k)) {
        LLVMValueRef slot = LLVMBuildMul(B, LLVMBuildSDiv(B, kc.c0, ci(cg, P), ""), ci(cg, P * k->nacc), "");
        kc.partial = gep(cg, kc.p_scratch,
                         LLVMBuildAdd(B, LLVMBuildMul(B, ci(cg, mc->partial_offset), kc.p_batch, ""), slot, ""));
    }
    if (kernel_is_matmul(k->kind)) {
        emit_matmul_kernel(&kc, scratch);
    } else { /* one row at a time */
        LLVMValueRef rvar = var(&kc, cg->t_i64, LLVMGetParam(kc.fn, 5));
        Loop lr;
        kc.r = loop_open(&kc, &lr, rvar, LLVMGetParam(kc.fn, 6), 1);
        if (k->kind == K_ROW)
            emit_row_kernel(&kc, scratch);
        else
            emit_map_kernel(&kc, scratch);
        loop_close(&kc, &lr);
    }
    LLVMBuildRetVoid(B);
    LLVMPositionBuilderAtEnd(B, kc.entry);
    LLVMBuildBr(B, start);

    /* share: an earlier body with the same code takes this one's place */
    LLVMValueRef body = kc.fn;
    uint64_t hash = cg_body_hash(body);
    for (int i = 0; i < *nbodies; i++)
        if ((*bodies)[i].hash == hash && cg_body_equal((*bodies)[i].fn, body, scratch)) {
            delete_body(cg, body);
            body = (*bodies)[i].fn;
            break;
        }
    if (body == kc.fn)
        VEC_PUSH(scratch, *bodies, *nbodies, *capbodies, ((SharedBody){body, hash}));
    /* the instance's table */
    LLVMTypeRef tty = LLVMArrayType(cg->t_i64, (unsigned)(tab.n > 0 ? tab.n : 1));
    LLVMValueRef *vals = NEW_ARRAY(scratch, LLVMValueRef, (size_t)tab.n + 1);
    for (int i = 0; i < tab.n; i++)
        vals[i] = ci(cg, tab.vals[i]);
    if (tab.n == 0)
        vals[0] = ci(cg, 0);
    LLVMValueRef g = LLVMAddGlobal(cg->mod, tty, mc->table_names[index]);
    LLVMSetInitializer(g, LLVMConstArray(cg->t_i64, vals, (unsigned)(tab.n > 0 ? tab.n : 1)));
    LLVMSetGlobalConstant(g, 1);
    size_t len;
    mc->kernel_names[index] = arena_strdup(cg->arena_for_slots, LLVMGetValueName2(body, &len));
}

/* Scratch offsets of the intermediate tensors.  Value v of n floats per
 * row lives at scratch + offset * batch, row r at + r * n, from the kernel
 * that writes it to the last that reads it (inclusive: a kernel's outputs
 * never share room with its inputs).  A region is reused by a later value
 * of the same width only: the runtime runs its threads over disjoint rows
 * through all kernels without a barrier (runtime/model.c), and only equal
 * widths keep row r of the new value on row r of the old, the same thread's.
 * A stack of identical layers thus needs about one layer's scratch. */
static void assign_scratch(KGraph *kg, ModelCode *mc, Arena *a) {
    int nv = kg->nvalues;
    mc->offset = NEW_ARRAY(a, int64_t, (size_t)nv + 1);
    int *last = NEW_ARRAY(a, int, (size_t)nv + 1);
    for (int i = 0; i < nv; i++)
        mc->offset[kg->values[i]->id] = -1, last[kg->values[i]->id] = -1;
    for (int i = 0; i < kg->nkernels; i++) {
        Kernel *k = kg->kernels[i];
        for (int o = 0; o < k->nouts; o++)
            last[k->out_vals[o]->id] = last[k->out_vals[o]->id] > i ? last[k->out_vals[o]->id] : i;
        for (int l = 0; l < k->nleaves; l++)
            if (k->leaves[l].kind == LF_TENSOR)
                last[k->leaves[l].val->id] = i;
        if (k->x)
            last[k->x->id] = i;
    }
    typedef struct Region { int64_t off, n; int until; } Region; /* until: the last kernel reading it */
    Region *live = NULL;
    int nlive = 0, caplive = 0;
    for (int i = 0; i < kg->nkernels; i++) {
        Kernel *k = kg->kernels[i];
        for (int o = 0; o < k->nouts; o++) {
            Value *v = k->out_vals[o];
            if (v->kind != V_TEMP || mc->offset[v->id] >= 0)
                continue;
            int r = 0;
            while (r < nlive && !(live[r].n == v->n && live[r].until < i))
                r++;
            if (r == nlive) {
                VEC_PUSH(a, live, nlive, caplive, ((Region){mc->scratch_per_row, v->n, -1}));
                mc->scratch_per_row += v->n;
            }
            live[r].until = last[v->id];
            mc->offset[v->id] = live[r].off;
        }
    }
    for (int i = 0; i < nv; i++) /* never written (cannot happen today): a region of its own */
        if (kg->values[i]->kind == V_TEMP && mc->offset[kg->values[i]->id] < 0) {
            mc->offset[kg->values[i]->id] = mc->scratch_per_row;
            mc->scratch_per_row += kg->values[i]->n;
        }
}

int cg_model(CG *cg, KGraph *kg, const char *prefix, ModelCode *mc, Arena *a) {
    memset(mc, 0, sizeof *mc);
    cg->arena_for_slots = a;
    assign_scratch(kg, mc, a);
    /* one region for the partial sums of every K-blocked matmul: on each
     * row a thread runs them one after another (threads on other rows run
     * other kernels at the same time, so a row's place in the region is
     * the same for all: partial_width), the widest, in whole panels */
    int64_t part = 0;
    for (int i = 0; i < kg->nkernels; i++) {
        Kernel *k = kg->kernels[i];
        if (!blocked_k(cg->t, k))
            continue;
        int64_t P = (int64_t)cg->t->kp[k->kind].nr * cg->t->vlen, need = (k->n + P - 1) / P * P * k->nacc;
        part = need > part ? need : part;
    }
    /* at a multiple of 16 floats per row: with a 64-byte aligned scratch
     * (the runtime's) every panel's slot starts on a cache line */
    if (part > 0)
        mc->scratch_per_row = (mc->scratch_per_row + 15) / 16 * 16;
    mc->partial_offset = mc->scratch_per_row;
    /* and one cache line more: rows a multiple of 4 KiB apart would put a
     * tile's sums in one L1 set (K = 4096 ran 5-10% slower) */
    mc->partial_width = part > 0 ? part + 16 : 0;
    mc->scratch_per_row += mc->partial_width;
    if (cg->stats)
        cg_stats_layout(kg, mc, a);
    mc->nkernels = kg->nkernels;
    mc->kernel_names = NEW_ARRAY(a, const char *, (size_t)kg->nkernels + 1);
    mc->col_step = NEW_ARRAY(a, int64_t, (size_t)kg->nkernels + 1);
    SharedBody *bodies = NULL;
    int nbodies = 0, capbodies = 0;
    mc->table_names = NEW_ARRAY(a, const char *, (size_t)kg->nkernels + 1);
    for (int i = 0; i < kg->nkernels; i++) {
        const char *name = arena_printf(a, "%s_k%d", prefix, i);
        mc->table_names[i] = arena_printf(a, "%s_tab", name);
        emit_kernel(cg, kg, i, mc, name, a, &bodies, &nbodies, &capbodies);
    }
    mc->nbodies = nbodies;
    /* PREFIX_run(w, in, out, scratch, batch): every kernel over all rows */
    LLVMTypeRef args[5] = {cg->t_ptr, cg->t_ptr, cg->t_ptr, cg->t_ptr, cg->t_i64};
    LLVMValueRef run = LLVMAddFunction(cg->mod, arena_printf(a, "%s_run", prefix),
                                       LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), args, 5, 0));
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(cg->ctx, run, "entry"));
    for (int i = 0; i < kg->nkernels; i++) {
        LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, mc->kernel_names[i]);
        LLVMValueRef cargs[11] = {LLVMGetParam(run, 0), LLVMGetParam(run, 1), LLVMGetParam(run, 2),
                                  LLVMGetParam(run, 3), LLVMGetParam(run, 4), ci(cg, 0),
                                  LLVMGetParam(run, 4), ci(cg, 0), ci(cg, INT64_MAX), LLVMConstNull(cg->t_ptr),
                                  LLVMGetNamedGlobal(cg->mod, mc->table_names[i])};
        LLVMBuildCall2(B, cg_kernel_type(cg), fn, cargs, 11, "");
    }
    LLVMBuildRetVoid(B);
    return ACTC_OK;
}
