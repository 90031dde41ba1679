/*
 * cg_stats.c — activation statistics in the kernels (docs/stats.md): the
 * layout of a thread's statistics block (actrt_site_layout, runtime.h)
 * and the code that counts one vector of a site's values.  Only a model
 * compiled with statistics (CG.stats) has any of it; cg_model.c calls
 * cg_stats_count from its site hook for every vector (or scalar) of a
 * site's value, with the pre-activation beside it.
 */
#include "codegen.h"

#define B (cg->b)

int64_t cg_stats_layout(const KGraph *kg, ModelCode *mc, Arena *a) {
    mc->site_offset = NEW_ARRAY(a, int64_t, (size_t)kg->nsites + 1);
    int64_t at = 0;
    for (int i = 0; i < kg->nsites; i++) {
        const Site *st = &kg->sites[i];
        mc->site_offset[i] = -1;
        if (st->same_as >= 0 || !st->counted || st->units <= 0)
            continue;
        int64_t lay[8];
        actrt_site_layout(st->units, (int32_t)st->kind, lay);
        mc->site_offset[i] = at;
        at += lay[7];
    }
    for (int i = 0; i < kg->nsites; i++) /* a shared site reads its twin's counters */
        if (kg->sites[i].same_as >= 0)
            mc->site_offset[i] = -1;
    mc->stats_bytes = at > 0 ? at : 64;
    return mc->stats_bytes;
}

static LLVMValueRef splat_int(VM *vm, LLVMTypeRef t, long long v) {
    return vm_splat(vm, LLVMConstInt(t, (unsigned long long)v, 1));
}

static LLVMValueRef splat_f64(VM *vm, double v) { return vm_splat(vm, LLVMConstReal(vm->cg->t_f64, v)); }

/* The element of ty at byte offset `off` of block, index j: a pointer. */
static LLVMValueRef at(CG *cg, LLVMTypeRef elem, LLVMValueRef block, int64_t off, LLVMValueRef j) {
    LLVMValueRef o = LLVMConstInt(cg->t_i64, (unsigned long long)off, 0);
    LLVMValueRef base = LLVMBuildGEP2(B, LLVMInt8TypeInContext(cg->ctx), block, &o, 1, "");
    return LLVMBuildGEP2(B, elem, base, &j, 1, "");
}

static LLVMValueRef load(CG *cg, LLVMTypeRef t, LLVMValueRef p, unsigned align) {
    LLVMValueRef v = LLVMBuildLoad2(B, t, p, "");
    LLVMSetAlignment(v, align);
    return v;
}

static void store(CG *cg, LLVMValueRef v, LLVMValueRef p, unsigned align) {
    LLVMSetAlignment(LLVMBuildStore(B, v, p), align);
}

/* counts[j ..] += mask (an i1 per lane) */
static void add_mask(CG *cg, VM *vm, LLVMValueRef block, int64_t off, LLVMValueRef j, LLVMValueRef mask) {
    LLVMValueRef p = at(cg, cg->t_i64, block, off, j);
    store(cg, LLVMBuildAdd(B, load(cg, vm->ti64, p, 8), LLVMBuildZExt(B, mask, vm->ti64, ""), ""), p, 8);
}

void cg_stats_count(CG *cg, VM *vm, LLVMValueRef block, const Site *st, int64_t offset, LLVMValueRef pre,
                    LLVMValueRef y, LLVMValueRef j) {
    if (offset < 0)
        return;
    int64_t lay[8];
    actrt_site_layout(st->units, (int32_t)st->kind, lay);
    for (int i = 0; i < 7; i++)
        lay[i] += offset;
    /* a block only when the caller passed one (the serial PREFIX_run does not) */
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    LLVMBasicBlockRef count = LLVMAppendBasicBlockInContext(cg->ctx, fn, "site_count");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, fn, "site_counted");
    LLVMBuildCondBr(B, LLVMBuildIsNotNull(B, block, ""), count, done);
    LLVMPositionBuilderAtEnd(B, count);
    LLVMValueRef zero = vm_splat_f32(vm, 0);
    add_mask(cg, vm, block, lay[0], j, LLVMBuildFCmp(B, LLVMRealOGT, pre, zero, "")); /* active: > 0 */
    if (st->kind == SITE_SATURATING) {
        /* in f64: y <= 0.01 compares with the double nearest 0.01, not with an f32 rounding of it */
        LLVMValueRef yd = LLVMBuildFPExt(B, y, vm->td, "");
        LLVMValueRef lo = LLVMBuildFCmp(B, LLVMRealOLE, yd, splat_f64(vm, st->sat_lo), "");
        LLVMValueRef hi = LLVMBuildFCmp(B, LLVMRealOGE, yd, splat_f64(vm, st->sat_hi), "");
        add_mask(cg, vm, block, lay[1], j, LLVMBuildOr(B, lo, hi, ""));
    }
    /* min and max of the f32 values (a NaN compares false: left out) */
    LLVMValueRef pmin = at(cg, cg->t_f32, block, lay[3], j), pmax = at(cg, cg->t_f32, block, lay[4], j);
    LLVMValueRef mn = load(cg, vm->tf, pmin, 4), mx = load(cg, vm->tf, pmax, 4);
    store(cg, LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealOLT, pre, mn, ""), pre, mn, ""), pmin, 4);
    store(cg, LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealOGT, pre, mx, ""), pre, mx, ""), pmax, 4);
    /* sums in f64, per unit */
    LLVMValueRef pd = LLVMBuildFPExt(B, pre, vm->td, "");
    LLVMValueRef ps = at(cg, cg->t_f64, block, lay[5], j), pq = at(cg, cg->t_f64, block, lay[6], j);
    store(cg, LLVMBuildFAdd(B, load(cg, vm->td, ps, 8), pd, ""), ps, 8);
    store(cg, LLVMBuildFAdd(B, load(cg, vm->td, pq, 8), LLVMBuildFMul(B, pd, pd, ""), ""), pq, 8);
    /* the histogram bin from the encoding: |x|'s exponent and first
     * mantissa bit give two bins per octave (docs/stats.md §3) */
    LLVMValueRef bits = LLVMBuildBitCast(B, pre, vm->ti32, "");
    LLVMValueRef mag = LLVMBuildAnd(B, bits, splat_int(vm, cg->t_i32, 0x7fffffff), "");
    LLVMValueRef q = LLVMBuildSub(B, LLVMBuildLShr(B, mag, splat_int(vm, cg->t_i32, 22), ""),
                                  splat_int(vm, cg->t_i32, 2 * (127 - 8)), "");
    LLVMValueRef neg = LLVMBuildICmp(B, LLVMIntSLT, bits, splat_int(vm, cg->t_i32, 0), "");
    LLVMValueRef nan = LLVMBuildICmp(B, LLVMIntUGT, mag, splat_int(vm, cg->t_i32, 0x7f800000), "");
    LLVMValueRef in_range = LLVMBuildSelect(B, neg, LLVMBuildSub(B, splat_int(vm, cg->t_i32, 31), q, ""),
                                            LLVMBuildAdd(B, splat_int(vm, cg->t_i32, 33), q, ""), "");
    LLVMValueRef outside = LLVMBuildSelect(B, LLVMBuildAnd(B, neg, LLVMBuildNot(B, nan, ""), ""),
                                           splat_int(vm, cg->t_i32, ACTRT_STATS_BINS),
                                           splat_int(vm, cg->t_i32, ACTRT_STATS_BINS + 1), "");
    LLVMValueRef bin = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, q, splat_int(vm, cg->t_i32, 31), ""), outside,
                                       in_range, "");
    bin = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, q, splat_int(vm, cg->t_i32, 0), ""),
                          splat_int(vm, cg->t_i32, 32), bin, "");
    /* lane l counts into copy l of the histogram: a vector's increments
     * never collide, so they are one gather, add and scatter (scalar
     * increments cost 25-35% at K = 512; LLVM scalarizes where the ISA has
     * no scatter) */
    LLVMValueRef idx = LLVMBuildZExt(B, bin, vm->ti64, "");
    if (vm->n > 1) {
        LLVMValueRef lane[64];
        for (int l = 0; l < vm->n; l++)
            lane[l] = LLVMConstInt(cg->t_i64, (unsigned long long)(l % ACTRT_STATS_HIST_COPIES) * (ACTRT_STATS_BINS + 2), 0);
        idx = LLVMBuildAdd(B, idx, LLVMConstVector(lane, (unsigned)vm->n), "");
        LLVMValueRef o = LLVMConstInt(cg->t_i64, (unsigned long long)lay[2], 0);
        LLVMValueRef base = LLVMBuildGEP2(B, LLVMInt8TypeInContext(cg->ctx), block, &o, 1, "");
        LLVMValueRef ptrs = LLVMBuildGEP2(B, cg->t_i64, base, &idx, 1, ""); /* a vector of pointers */
        LLVMTypeRef pv = LLVMTypeOf(ptrs);
        LLVMValueRef all = LLVMConstAllOnes(vm->tb);
        LLVMTypeRef ovl[2] = {vm->ti64, pv}, gty, sty;
        unsigned gid = LLVMLookupIntrinsicID("llvm.masked.gather", 18), sid = LLVMLookupIntrinsicID("llvm.masked.scatter", 19);
        gty = LLVMIntrinsicGetType(cg->ctx, gid, ovl, 2);
        sty = LLVMIntrinsicGetType(cg->ctx, sid, ovl, 2);
        LLVMValueRef gfn = LLVMGetIntrinsicDeclaration(cg->mod, gid, ovl, 2);
        LLVMValueRef sfn = LLVMGetIntrinsicDeclaration(cg->mod, sid, ovl, 2);
        LLVMValueRef gargs[4] = {ptrs, LLVMConstInt(cg->t_i32, 8, 0), all, LLVMGetUndef(vm->ti64)};
        LLVMValueRef c = LLVMBuildCall2(B, gty, gfn, gargs, 4, "");
        c = LLVMBuildAdd(B, c, splat_int(vm, cg->t_i64, 1), "");
        LLVMValueRef sargs[4] = {c, ptrs, LLVMConstInt(cg->t_i32, 8, 0), all};
        LLVMBuildCall2(B, sty, sfn, sargs, 4, "");
    } else {
        LLVMValueRef p = at(cg, cg->t_i64, block, lay[2], idx);
        store(cg, LLVMBuildAdd(B, load(cg, cg->t_i64, p, 8), LLVMConstInt(cg->t_i64, 1, 0), ""), p, 8);
    }
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, done);
}
