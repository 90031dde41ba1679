/*
 * ir_equal.c — whether two generated kernel bodies are the same code
 * (cg_model.c shares one body among kernels identical up to their tensors,
 * docs/codegen.md "Shared kernels").
 *
 * Two functions are equal when they have the same type, attributes and
 * linkage, and their blocks and instructions correspond one to one: same
 * opcode, result type, flags (nsw/nuw/exact/disjoint/nneg, fast-math,
 * alignment, volatility, ordering, predicates, GEP source type and
 * inbounds, alloca type, shuffle masks, call type, tail-call kind, calling
 * convention, call-site attributes, phi incoming blocks, metadata kinds),
 * and operands that are the corresponding argument, block or instruction,
 * the same constant or global (both uniqued in the context: pointer
 * equality is value equality), or corresponding epilogue functions (named
 * BODY_..., compared the same way).  An opcode this file does not know
 * makes two bodies unequal: never a false "equal", at worst a kernel not
 * shared.  Metadata nodes are compared by kind only: the kernels attach
 * only fixed nodes (a loop's llvm.loop.unroll.disable, which LLVM makes
 * distinct per loop, and invariant.load's empty node).
 *
 * This replaces comparing printed IR, which cost 45% of a 32-layer stack's
 * compile time (performance.md "Shared kernels").
 */
#include "codegen.h"

#include <stdlib.h>
#include <string.h>

bool cg_body_part(LLVMValueRef g, LLVMValueRef body) {
    size_t gl, len;
    const char *gn = LLVMGetValueName2(g, &gl);
    const char *name = LLVMGetValueName2(body, &len);
    return g != body && gl > len && strncmp(gn, name, len) == 0 && gn[len] == '_';
}

/* ---- numbering: a function's arguments, blocks and instructions ---- */

typedef struct Num {
    LLVMValueRef v;
    int64_t id;
} Num;

typedef struct Numbering {
    Num *n;
    int len, cap;
} Numbering;

static int num_cmp(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)((const Num *)a)->v, y = (uintptr_t)((const Num *)b)->v;
    return x < y ? -1 : x > y;
}

static void number(Numbering *nb, Arena *a, LLVMValueRef fn) {
    int64_t id = 0;
    unsigned np = LLVMCountParams(fn);
    for (unsigned i = 0; i < np; i++)
        VEC_PUSH(a, nb->n, nb->len, nb->cap, ((Num){LLVMGetParam(fn, i), id++}));
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
        VEC_PUSH(a, nb->n, nb->len, nb->cap, ((Num){LLVMBasicBlockAsValue(bb), id++}));
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in))
            VEC_PUSH(a, nb->n, nb->len, nb->cap, ((Num){in, id++}));
    }
    qsort(nb->n, (size_t)nb->len, sizeof(Num), num_cmp);
}

static int64_t lookup(const Numbering *nb, LLVMValueRef v) {
    int lo = 0, hi = nb->len - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        uintptr_t m = (uintptr_t)nb->n[mid].v;
        if (m == (uintptr_t)v)
            return nb->n[mid].id;
        if (m < (uintptr_t)v)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* ---- comparison ---- */

typedef struct Pair {
    LLVMValueRef a, b;
} Pair;

typedef struct Cmp {
    Arena *arena;
    LLVMValueRef body_a, body_b; /* the two bodies whose epilogue functions correspond */
    Pair *seen;                  /* function pairs equal or being compared */
    int nseen, capseen;
} Cmp;

static bool fn_equal(Cmp *c, LLVMValueRef fa, LLVMValueRef fb);

/* The suffix of an epilogue function's name after its body's name. */
static const char *part_suffix(LLVMValueRef g, LLVMValueRef body) {
    size_t len, gl;
    LLVMGetValueName2(body, &len);
    return LLVMGetValueName2(g, &gl) + len;
}

static bool attrs_equal(LLVMValueRef a, LLVMValueRef b, LLVMAttributeIndex idx, bool call, Arena *ar) {
    unsigned na = call ? LLVMGetCallSiteAttributeCount(a, idx) : LLVMGetAttributeCountAtIndex(a, idx);
    unsigned nb = call ? LLVMGetCallSiteAttributeCount(b, idx) : LLVMGetAttributeCountAtIndex(b, idx);
    if (na != nb)
        return false;
    if (na == 0)
        return true;
    LLVMAttributeRef *xa = NEW_ARRAY(ar, LLVMAttributeRef, na), *xb = NEW_ARRAY(ar, LLVMAttributeRef, na);
    if (call) {
        LLVMGetCallSiteAttributes(a, idx, xa);
        LLVMGetCallSiteAttributes(b, idx, xb);
    } else {
        LLVMGetAttributesAtIndex(a, idx, xa);
        LLVMGetAttributesAtIndex(b, idx, xb);
    }
    for (unsigned i = 0; i < na; i++) /* attribute sets are kept sorted; attributes are uniqued */
        if (xa[i] != xb[i])
            return false;
    return true;
}

static bool all_attrs_equal(LLVMValueRef a, LLVMValueRef b, unsigned nargs, bool call, Arena *ar) {
    if (!attrs_equal(a, b, LLVMAttributeFunctionIndex, call, ar) ||
        !attrs_equal(a, b, LLVMAttributeReturnIndex, call, ar))
        return false;
    for (unsigned i = 1; i <= nargs; i++)
        if (!attrs_equal(a, b, i, call, ar))
            return false;
    return true;
}

static bool operand_equal(Cmp *c, const Numbering *na, const Numbering *nb, LLVMValueRef x, LLVMValueRef y) {
    int64_t ix = lookup(na, x), iy = lookup(nb, y);
    if (ix >= 0 || iy >= 0)
        return ix == iy; /* an argument, block or instruction of each */
    if (x == y)
        return true; /* the same constant, global or declaration */
    if (!LLVMIsAFunction(x) || !LLVMIsAFunction(y))
        return false;
    if (x == c->body_a || y == c->body_b)
        return x == c->body_a && y == c->body_b;
    if (!cg_body_part(x, c->body_a) || !cg_body_part(y, c->body_b) ||
        strcmp(part_suffix(x, c->body_a), part_suffix(y, c->body_b)) != 0)
        return false;
    return fn_equal(c, x, y);
}

static bool metadata_equal(LLVMValueRef a, LLVMValueRef b) {
    size_t na, nb;
    LLVMValueMetadataEntry *ma = LLVMInstructionGetAllMetadataOtherThanDebugLoc(a, &na);
    LLVMValueMetadataEntry *mb = LLVMInstructionGetAllMetadataOtherThanDebugLoc(b, &nb);
    bool eq = na == nb;
    for (unsigned i = 0; eq && i < na; i++)
        eq = LLVMValueMetadataEntriesGetKind(ma, i) == LLVMValueMetadataEntriesGetKind(mb, i);
    if (ma)
        LLVMDisposeValueMetadataEntries(ma);
    if (mb)
        LLVMDisposeValueMetadataEntries(mb);
    return eq;
}

/* The properties of a and b (same opcode) beyond type and operands;
 * false for an opcode not known here. */
static bool flags_equal(Cmp *c, const Numbering *na, const Numbering *nb, LLVMValueRef a, LLVMValueRef b,
                        LLVMOpcode op) {
    if (LLVMCanValueUseFastMathFlags(a) && LLVMGetFastMathFlags(a) != LLVMGetFastMathFlags(b))
        return false;
    switch (op) {
    case LLVMAdd:
    case LLVMSub:
    case LLVMMul:
    case LLVMShl: return LLVMGetNSW(a) == LLVMGetNSW(b) && LLVMGetNUW(a) == LLVMGetNUW(b);
    case LLVMSDiv:
    case LLVMUDiv:
    case LLVMLShr:
    case LLVMAShr: return LLVMGetExact(a) == LLVMGetExact(b);
    case LLVMOr: return LLVMGetIsDisjoint(a) == LLVMGetIsDisjoint(b);
    case LLVMZExt: return LLVMGetNNeg(a) == LLVMGetNNeg(b);
    case LLVMSRem:
    case LLVMURem:
    case LLVMAnd:
    case LLVMXor:
    case LLVMFAdd:
    case LLVMFSub:
    case LLVMFMul:
    case LLVMFDiv:
    case LLVMFRem:
    case LLVMFNeg:
    case LLVMTrunc:
    case LLVMSExt:
    case LLVMFPToUI:
    case LLVMFPToSI:
    case LLVMUIToFP:
    case LLVMSIToFP:
    case LLVMFPTrunc:
    case LLVMFPExt:
    case LLVMPtrToInt:
    case LLVMIntToPtr:
    case LLVMBitCast:
    case LLVMSelect:
    case LLVMExtractElement:
    case LLVMInsertElement:
    case LLVMBr:
    case LLVMSwitch:
    case LLVMRet:
    case LLVMUnreachable: return true;
    case LLVMICmp: return LLVMGetICmpPredicate(a) == LLVMGetICmpPredicate(b);
    case LLVMFCmp: return LLVMGetFCmpPredicate(a) == LLVMGetFCmpPredicate(b);
    case LLVMLoad:
    case LLVMStore:
        return LLVMGetAlignment(a) == LLVMGetAlignment(b) && LLVMGetVolatile(a) == LLVMGetVolatile(b) &&
               LLVMGetOrdering(a) == LLVMGetOrdering(b);
    case LLVMAlloca:
        return LLVMGetAllocatedType(a) == LLVMGetAllocatedType(b) && LLVMGetAlignment(a) == LLVMGetAlignment(b);
    case LLVMGetElementPtr:
        return LLVMGetGEPSourceElementType(a) == LLVMGetGEPSourceElementType(b) &&
               LLVMIsInBounds(a) == LLVMIsInBounds(b);
    case LLVMShuffleVector: {
        unsigned n = LLVMGetNumMaskElements(a);
        if (n != LLVMGetNumMaskElements(b))
            return false;
        for (unsigned i = 0; i < n; i++)
            if (LLVMGetMaskValue(a, i) != LLVMGetMaskValue(b, i))
                return false;
        return true;
    }
    case LLVMExtractValue:
    case LLVMInsertValue: {
        unsigned n = LLVMGetNumIndices(a);
        return n == LLVMGetNumIndices(b) && memcmp(LLVMGetIndices(a), LLVMGetIndices(b), n * sizeof(unsigned)) == 0;
    }
    case LLVMPHI: {
        unsigned n = LLVMCountIncoming(a);
        if (n != LLVMCountIncoming(b))
            return false;
        for (unsigned i = 0; i < n; i++)
            if (lookup(na, LLVMBasicBlockAsValue(LLVMGetIncomingBlock(a, i))) !=
                lookup(nb, LLVMBasicBlockAsValue(LLVMGetIncomingBlock(b, i))))
                return false;
        return true;
    }
    case LLVMCall:
        return LLVMGetCalledFunctionType(a) == LLVMGetCalledFunctionType(b) &&
               LLVMGetTailCallKind(a) == LLVMGetTailCallKind(b) &&
               LLVMGetInstructionCallConv(a) == LLVMGetInstructionCallConv(b) &&
               all_attrs_equal(a, b, LLVMGetNumArgOperands(a), true, c->arena);
    default: return false;
    }
}

static bool fn_equal(Cmp *c, LLVMValueRef fa, LLVMValueRef fb) {
    for (int i = 0; i < c->nseen; i++)
        if (c->seen[i].a == fa && c->seen[i].b == fb)
            return true; /* equal, or being compared (then its result decides) */
    VEC_PUSH(c->arena, c->seen, c->nseen, c->capseen, ((Pair){fa, fb}));
    if (LLVMGlobalGetValueType(fa) != LLVMGlobalGetValueType(fb) || LLVMGetLinkage(fa) != LLVMGetLinkage(fb) ||
        LLVMGetFunctionCallConv(fa) != LLVMGetFunctionCallConv(fb) ||
        LLVMCountBasicBlocks(fa) != LLVMCountBasicBlocks(fb) ||
        !all_attrs_equal(fa, fb, LLVMCountParams(fa), false, c->arena))
        return false;
    Numbering na = {0}, nb = {0};
    number(&na, c->arena, fa);
    number(&nb, c->arena, fb);
    if (na.len != nb.len)
        return false;
    LLVMBasicBlockRef ba = LLVMGetFirstBasicBlock(fa), bb = LLVMGetFirstBasicBlock(fb);
    for (; ba && bb; ba = LLVMGetNextBasicBlock(ba), bb = LLVMGetNextBasicBlock(bb)) {
        LLVMValueRef x = LLVMGetFirstInstruction(ba), y = LLVMGetFirstInstruction(bb);
        for (; x && y; x = LLVMGetNextInstruction(x), y = LLVMGetNextInstruction(y)) {
            LLVMOpcode op = LLVMGetInstructionOpcode(x);
            if (op != LLVMGetInstructionOpcode(y) || LLVMTypeOf(x) != LLVMTypeOf(y))
                return false;
            int n = LLVMGetNumOperands(x);
            if (n != LLVMGetNumOperands(y) || !flags_equal(c, &na, &nb, x, y, op) || !metadata_equal(x, y))
                return false;
            for (int i = 0; i < n; i++)
                if (!operand_equal(c, &na, &nb, LLVMGetOperand(x, (unsigned)i), LLVMGetOperand(y, (unsigned)i)))
                    return false;
        }
        if (x || y)
            return false;
    }
    return true;
}

bool cg_body_equal(LLVMValueRef a, LLVMValueRef b, Arena *scratch) {
    ArenaMark m = arena_mark(scratch);
    Cmp c = {.arena = scratch, .body_a = a, .body_b = b};
    bool eq = fn_equal(&c, a, b);
    arena_reset(scratch, m);
    return eq;
}

/* FNV-1a over each instruction's opcode, operand count and type, and the
 * epilogue functions' in turn: equal bodies hash equal (types are uniqued
 * in the context). */
uint64_t cg_body_hash(LLVMValueRef body) {
    uint64_t h = 14695981039346656037u;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 1099511628211u)
    LLVMModuleRef mod = LLVMGetGlobalParent(body);
    for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
        if (f != body && !cg_body_part(f, body))
            continue;
        MIX(f == body ? 0 : strlen(part_suffix(f, body)) + 1);
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
            for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) {
                MIX(LLVMGetInstructionOpcode(in));
                MIX(LLVMGetNumOperands(in));
                MIX((uintptr_t)LLVMTypeOf(in));
            }
    }
#undef MIX
    return h;
}
