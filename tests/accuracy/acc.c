/*
 * acc.c — see acc.h.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "acc.h"
#include "ir/refmath.h"

const float acc_edges[] = {
    0.0f, -0.0f, 0x1p-149f, -0x1p-149f, FLT_MIN, -FLT_MIN, 1.0f, -1.0f, FLT_MAX, -FLT_MAX, INFINITY, -INFINITY,
    NAN, -NAN, 88.72f, -88.72f, 89.0f, -89.0f, 103.97f, -103.97f, -11.15f, -13.0f, -2.70f, 20.0f, -20.0f, 17.0f,
    -17.0f, 1e-8f, -1e-8f, 1e-30f, -1e-30f, 0.5f, -0.5f, 3.0f, -3.0f, 6.0f, 0.2f, -0.2f, 9.0f, -9.0f, 10.0f,
    -10.0f, 26.0f, 27.5f, -0.3f, 0.3f, 1.702f, 700.0f, -700.0f, 1e30f, -1e30f,
    3.23862215e38f /* selu rounds to FLT_MAX, not inf: found by the exhaustive no-FMA sweep */};
const int acc_nedges = (int)(sizeof acc_edges / sizeof acc_edges[0]);

#define F32(v) ((double)(float)(v))

/* language.md §5: every activation at its PyTorch default and two other
 * parameter values; primitives; gates as products over pairs. */
static const AccFunc table[] = {
    {"exp", OP_EXP, {0}, true, OP_COUNT},
    {"expm1", OP_EXPM1, {0}, true, OP_COUNT},
    {"log", OP_LOG, {0}, true, OP_COUNT},
    {"log1p", OP_LOG1P, {0}, true, OP_COUNT},
    {"tanh", OP_TANH, {0}, true, OP_COUNT},
    {"sigmoid", OP_SIGMOID, {0}, true, OP_COUNT},
    {"erf", OP_ERF, {0}, true, OP_COUNT},
    {"erfc", OP_ERFC, {0}, true, OP_COUNT},
    {"sqrt", OP_SQRT, {0}, true, OP_COUNT},
    {"rsqrt", OP_RSQRT, {0}, true, OP_COUNT},
    {"pow(x,2)", OP_POW, {2}, true, OP_COUNT},
    {"pow(x,3)", OP_POW, {3}, true, OP_COUNT},
    {"pow(x,0.5)", OP_POW, {0.5}, true, OP_COUNT},
    {"pow(x,-1.5)", OP_POW, {-1.5}, true, OP_COUNT},
    {"relu", OP_RELU, {0}, false, OP_COUNT},
    {"relu6", OP_RELU6, {0}, false, OP_COUNT},
    {"leaky_relu", OP_LEAKY_RELU, {F32(0.01)}, false, OP_COUNT},
    {"leaky_relu(0.2)", OP_LEAKY_RELU, {F32(0.2)}, false, OP_COUNT},
    {"leaky_relu(0.3)", OP_LEAKY_RELU, {F32(0.3)}, false, OP_COUNT},
    {"elu", OP_ELU, {1}, false, OP_COUNT},
    {"elu(0.5)", OP_ELU, {0.5}, false, OP_COUNT},
    {"elu(1.7)", OP_ELU, {F32(1.7)}, false, OP_COUNT},
    {"selu", OP_SELU, {0}, false, OP_COUNT},
    {"celu", OP_CELU, {1}, false, OP_COUNT},
    {"celu(0.5)", OP_CELU, {0.5}, false, OP_COUNT},
    {"celu(2)", OP_CELU, {2}, false, OP_COUNT},
    {"gelu", OP_GELU, {0}, false, OP_COUNT},
    {"gelu_tanh", OP_GELU_TANH, {0}, false, OP_COUNT},
    {"quick_gelu", OP_QUICK_GELU, {0}, false, OP_COUNT},
    {"silu", OP_SILU, {0}, false, OP_COUNT},
    {"swish", OP_SWISH, {1}, false, OP_COUNT},
    {"swish(0.5)", OP_SWISH, {0.5}, false, OP_COUNT},
    {"swish(1.5)", OP_SWISH, {1.5}, false, OP_COUNT},
    {"mish", OP_MISH, {0}, false, OP_COUNT},
    {"softplus", OP_SOFTPLUS, {1, 20}, false, OP_COUNT},
    {"softplus(2,10)", OP_SOFTPLUS, {2, 10}, false, OP_COUNT},
    {"softplus(0.5,5)", OP_SOFTPLUS, {0.5, 5}, false, OP_COUNT},
    {"softsign", OP_SOFTSIGN, {0}, false, OP_COUNT},
    {"hardsigmoid", OP_HARDSIGMOID, {0}, false, OP_COUNT},
    {"hardswish", OP_HARDSWISH, {0}, false, OP_COUNT},
    {"hardtanh", OP_HARDTANH, {-1, 1}, false, OP_COUNT},
    {"hardtanh(-2,3)", OP_HARDTANH, {-2, 3}, false, OP_COUNT},
    {"hardtanh(0,6)", OP_HARDTANH, {0, 6}, false, OP_COUNT},
    {"logsigmoid", OP_LOGSIGMOID, {0}, false, OP_COUNT},
    {"tanhshrink", OP_TANHSHRINK, {0}, false, OP_COUNT},
    {"softshrink", OP_SOFTSHRINK, {0.5}, false, OP_COUNT},
    {"softshrink(0.1)", OP_SOFTSHRINK, {F32(0.1)}, false, OP_COUNT},
    {"softshrink(2)", OP_SOFTSHRINK, {2}, false, OP_COUNT},
    {"hardshrink", OP_HARDSHRINK, {0.5}, false, OP_COUNT},
    {"hardshrink(0.1)", OP_HARDSHRINK, {F32(0.1)}, false, OP_COUNT},
    {"hardshrink(2)", OP_HARDSHRINK, {2}, false, OP_COUNT},
    {"glu: sigmoid(a)*b", OP_MUL, {0}, false, OP_SIGMOID},
    {"bilinear: a*b", OP_MUL, {0}, false, OP_COUNT + 1},
    {"reglu: relu(a)*b", OP_MUL, {0}, false, OP_RELU},
    {"geglu: gelu(a)*b", OP_MUL, {0}, false, OP_GELU},
    {"geglu_tanh: gelu_tanh(a)*b", OP_MUL, {0}, false, OP_GELU_TANH},
    {"swiglu: silu(a)*b", OP_MUL, {0}, false, OP_SILU},
};

static bool is_gate(const AccFunc *f) { return f->gate_act != OP_COUNT; }

typedef struct Emit {
    const AccFunc *f;
} Emit;

static LLVMValueRef emit_fn(VM *vm, LLVMValueRef *ins, void *ud) {
    const AccFunc *f = ((Emit *)ud)->f;
    if (!is_gate(f))
        return vm_op(vm, f->op, f->p, ins);
    LLVMValueRef a = f->gate_act == OP_COUNT + 1 ? ins[0] : vm_op(vm, f->gate_act, f->p, ins);
    LLVMValueRef args[2] = {a, ins[1]};
    return vm_op(vm, OP_MUL, NULL, args);
}

double acc_reference(const AccFunc *f, float x, float b) {
    if (is_gate(f)) {
        double a = f->gate_act == OP_COUNT + 1 ? x : ref_unary(op_info[f->gate_act].bi, x, f->p);
        /* the kernel rounds act(a) to f32, then multiplies: so does the reference */
        return (double)(float)a * (double)b;
    }
    return ref_unary(op_info[f->op].bi, x, f->p);
}

/* NaN, an infinite result or a zero on both sides: no error to measure;
 * *special says whether y is the wrong special value (both tiers). */
static bool special_value(float y, double ref, bool *special) {
    *special = false;
    if (isnan(ref) || isnan(y)) {
        *special = !(isnan(ref) && isnan(y));
        return true;
    }
    float rf = (float)ref;
    if (isinf(rf) || isinf(y)) { /* beyond the f32 range is +-inf, and inf only there */
        *special = y != rf;
        return true;
    }
    if (ref == 0 && y == 0) {
        *special = !signbit(ref) != !signbit(y); /* signbit returns any nonzero value */
        return true;
    }
    return false;
}

double acc_ulp_error(float y, double ref, bool *special) {
    if (special_value(y, ref, special))
        return 0;
    double a = fabs(ref);
    if (a < FLT_MIN)
        return fabs((double)y - ref) * 0x1p149;
    /* 1 / ulp = 2^(23 - ilogb(a)), built from a's exponent bits (ldexp and
     * ilogb were a quarter of an exhaustive sweep's time) */
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    bits = ((uint64_t)(2 * 1023 + 23) << 52) - (bits & 0x7FF0000000000000ull);
    double inv_ulp;
    memcpy(&inv_ulp, &bits, sizeof inv_ulp);
    return fabs((double)y - ref) * inv_ulp;
}

double acc_fast_error(float y, double ref, bool *special) {
    if (special_value(y, ref, special))
        return 0;
    double a = fabs(ref);
    return fabs((double)y - ref) / (a > 1e-5 ? a : 1.0);
}

/* the spacing of f32 numbers at |v| (2^-149 below FLT_MIN; 0 for inf and NaN) */
static double ulp_of(double v) {
    double a = fabs(v);
    if (!isfinite(a))
        return 0;
    return a < FLT_MIN ? 0x1p-149 : ldexp(1.0, ilogb(a) - 23);
}

double acc_bound(const Acc *a, int fi) {
    const AccFunc *f = &a->funcs[fi];
    if (!a->fast)
        return f->primitive ? 1.0 : 4.0;
    Op op = f->gate_act != OP_COUNT && f->gate_act != OP_COUNT + 1 ? f->gate_act : f->op;
    bool tanh_family = op == OP_TANH || op == OP_GELU_TANH || op == OP_MISH || op == OP_TANHSHRINK;
    return tanh_family ? 4e-5 : 4e-6;
}

int acc_build_module(CG *cg, const Target *t, int tier, char *err, size_t errlen) {
    cg_init(cg, t, "accuracy");
    cg->fast_math = tier == ACC_FAST;
    cg->exact_math = tier == ACC_EXACT;
    int nf = (int)(sizeof table / sizeof table[0]);
    for (int i = 0; i < nf; i++) {
        char fname[32];
        snprintf(fname, sizeof fname, "f%d", i);
        Emit e = {&table[i]};
        cg_emit_map(cg, fname, is_gate(&table[i]) ? 2 : 1, t->vlen, emit_fn, &e);
    }
    return cg_finish(cg, err, errlen);
}

static int build_isa(AccIsa *isa, const char *name, const char *cpu, int vlen, int tier, char *err,
                     size_t errlen) {
    isa->name = name;
    int st = target_init(&isa->target, NULL, cpu, NULL, vlen, err, errlen);
    if (st)
        return st;
    CG cg;
    int nf = (int)(sizeof table / sizeof table[0]);
    st = acc_build_module(&cg, &isa->target, tier, err, errlen);
    if (!st)
        st = jit_create(&isa->jit, &isa->target, err, errlen);
    if (!st)
        st = jit_add(isa->jit, &cg, &isa->tracker, err, errlen);
    cg_dispose(&cg);
    if (st)
        return st;
    isa->fns = mem_alloc(sizeof(void *) * (size_t)nf);
    for (int i = 0; i < nf && !st; i++) {
        char fname[32];
        snprintf(fname, sizeof fname, "f%d", i);
        st = jit_lookup(isa->jit, fname, &isa->fns[i], err, errlen);
    }
    return st;
}

void acc_init_table(Acc *a) {
    a->funcs = (AccFunc *)table;
    a->nfuncs = (int)(sizeof table / sizeof table[0]);
}

int acc_init(Acc *a, const char *only, int tier, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    a->tier = tier;
    a->fast = tier == ACC_FAST;
    acc_init_table(a);
    Target host;
    int st = target_init(&host, NULL, NULL, NULL, 0, err, errlen);
    if (st)
        return st;
    bool avx512 = host.vlen >= 16, avx2 = host.vlen >= 8;
    target_dispose(&host);
    struct {
        const char *name, *cpu;
        int vlen;
        bool ok;
    } want[] = {{"avx512", NULL, 16, avx512},
                {"avx2", "haswell", 8, avx2},
                {"scalar", NULL, 1, true},
                {"sse4.2", "x86-64-v2", 4, true}, /* the x86-64-v2 variant: no FMA (Dekker products); after */
                {"nofma", "x86-64", 1, true}};    /* the first three, which keep their positions in state files;
                                                   * nofma: scalar code without FMA (baseline x86-64) */
    for (int i = 0; i < (int)(sizeof want / sizeof want[0]) && !st; i++) {
        if (!want[i].ok || (only && strcmp(only, want[i].name) != 0))
            continue;
        st = build_isa(&a->isas[a->nisas], want[i].name, want[i].cpu, want[i].vlen, tier, err, errlen);
        a->nisas++;
    }
    return st;
}

void acc_drop_last_isa(Acc *a) {
    AccIsa *i = &a->isas[--a->nisas];
    if (i->tracker)
        jit_remove(i->jit, i->tracker);
    jit_dispose(i->jit);
    target_dispose(&i->target);
    mem_free(i->fns);
}

void acc_free(Acc *a) {
    for (int i = 0; i < a->nisas; i++) {
        if (a->isas[i].tracker)
            jit_remove(a->isas[i].jit, a->isas[i].tracker);
        jit_dispose(a->isas[i].jit);
        target_dispose(&a->isas[i].target);
        mem_free(a->isas[i].fns);
    }
}

/* The error of one output y for input x (and b for gates) against ref, in
 * the tier's measure (AccStat); *special: a wrong special value */
static double elem_error(const Acc *a, const AccFunc *f, float x, float b, float y, double ref, bool *special) {
    if (!a->fast && !is_gate(f))
        return acc_ulp_error(y, ref, special);
    if (!a->fast) { /* the gate bound of docs/accuracy.md §1, in ULP of the activation */
        acc_ulp_error(y, ref, special);
        double A = f->gate_act == OP_COUNT + 1 ? x : ref_unary(op_info[f->gate_act].bi, x, f->p);
        double P = A * (double)b, d = fabs((double)y - P) - 0.5 * ulp_of(P);
        double ua = ulp_of(A) * fabs((double)b);
        return *special || !isfinite(P) || !isfinite(d) || !(d > 0) || !(ua > 0) ? 0 : d / ua;
    }
    if (!is_gate(f))
        return acc_fast_error(y, ref, special);
    /* the activated part's error, times |b| (the product adds one rounding) */
    acc_fast_error(y, ref, special);
    double act = f->gate_act == OP_COUNT + 1 ? x : ref_unary(op_info[f->gate_act].bi, x, f->p);
    double scale = fabs((double)b) * (fabs(act) > 1e-5 ? fabs(act) : 1.0);
    double d = fabs((double)y - ref), r = fabs(ref);
    if (isfinite(r)) /* the product's own rounding */
        d -= r < FLT_MIN ? 0x1p-149 : ldexp(1.0, ilogb(r) - 23);
    return *special || !(d > 0) || isinf(d) ? 0 : d / scale;
}

static void stat_add(AccStat *st, double e, bool special, float x, float b, float y, double ref) {
    st->n++;
    st->sum_ulp += e;
    if (special && st->special++ == 0)
        st->special_x = x;
    if (e > st->max_ulp) {
        st->max_ulp = e;
        st->worst_x = x;
        st->worst_b = b;
        st->worst_y = y;
        st->worst_ref = ref;
    }
}

void acc_run(Acc *a, int fi, const float *x, const float *b, int64_t n, AccStat *stats, float *y) {
    const AccFunc *f = &a->funcs[fi];
    double *ref = mem_alloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        ref[i] = acc_reference(f, x[i], b ? b[i] : 0);
    for (int s = 0; s < a->nisas; s++) {
        if (is_gate(f))
            ((void (*)(const float *, const float *, float *, int64_t))a->isas[s].fns[fi])(x, b, y, n);
        else
            ((void (*)(const float *, float *, int64_t))a->isas[s].fns[fi])(x, y, n);
        for (int64_t i = 0; i < n; i++) {
            bool special;
            float bi = b ? b[i] : 0;
            double e = elem_error(a, f, x[i], bi, y[i], ref[i], &special);
            stat_add(&stats[s], e, special, x[i], bi, y[i], ref[i]);
        }
    }
    mem_free(ref);
}

void acc_fold(const Acc *a, int fi, const float *x, const float *y, int64_t n, AccStat *st) {
    const AccFunc *f = &a->funcs[fi];
    for (int64_t i = 0; i < n; i++) {
        bool special;
        double ref = acc_reference(f, x[i], 0);
        double e = elem_error(a, f, x[i], 0, y[i], ref, &special);
        stat_add(st, e, special, x[i], 0, y[i], ref);
    }
}
