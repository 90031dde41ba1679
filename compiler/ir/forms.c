/*
 * forms.c — the builtins' formulas over the primitives (forms.def): one
 * table that the simplify pass matches (pass_simplify.c) and that the fast
 * and exact tiers evaluate (cg_vmath.c).  Trees are static compound
 * literals; nothing here allocates.
 */
#include <math.h>

#include "ir.h"

#define NONE NAN

#define X (&(const Form){.leaf = FL_X})
#define K(v) (&(const Form){.leaf = FL_K, .k = (v)})
#define P(i) (&(const Form){.leaf = FL_P, .k = (i)})
#define F1(o, x) (&(const Form){.op = OP_##o, .a = {x}})
#define F2(o, x, y) (&(const Form){.op = OP_##o, .a = {x, y}})
#define F3(o, x, y, z) (&(const Form){.op = OP_##o, .a = {x, y, z}})
#define F1P(o, x, p0, p1, n) (&(const Form){.op = OP_##o, .a = {x}, .p = {p0, p1}, .np = n})

#define ADD(a, b) F2(ADD, a, b)
#define SUB(a, b) F2(SUB, a, b)
#define MUL(a, b) F2(MUL, a, b)
#define DIV(a, b) F2(DIV, a, b)
#define MIN(a, b) F2(MIN, a, b)
#define MAX(a, b) F2(MAX, a, b)
#define LT(a, b) F2(LT, a, b)
#define GT(a, b) F2(GT, a, b)
#define SEL(c, a, b) F3(SELECT, c, a, b)
#define NEG(a) F1(NEG, a)
#define ABS(a) F1(ABS, a)
#define EXP(a) F1(EXP, a)
#define EXPM1(a) F1(EXPM1, a)
#define LOG(a) F1(LOG, a)
#define LOG1P(a) F1(LOG1P, a)
#define TANH(a) F1(TANH, a)
#define SIGMOID(a) F1(SIGMOID, a)
#define ERF(a) F1(ERF, a)
#define ERFC(a) F1(ERFC, a)
#define RELU(a) F1(RELU, a)
#define RELU6(a) F1(RELU6, a)
#define CLAMP(a, lo, hi) F1P(CLAMP, a, lo, hi, 2)
#define POW(a, c) F1P(POW, a, c, 0, 1)
#define SOFTPLUS(a, beta, threshold) F1P(SOFTPLUS, a, beta, threshold, 2)

static const OpForm rows[] = {
#define FORM(o, f, lo, hi) {OP_##o, f, lo, hi, true},
#define ALSO(o, f) {OP_##o, f, NONE, NONE, false},
#include "forms.def"
#undef FORM
#undef ALSO
};

const OpForm *form_rows(int *n) {
    *n = (int)(sizeof rows / sizeof rows[0]);
    return rows;
}

const OpForm *op_form(Op op) {
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].op == op && rows[i].eval)
            return &rows[i];
    return NULL;
}

int form_nparams(const Form *f) {
    if (f->leaf == FL_P)
        return (int)f->k + 1;
    int n = 0;
    for (int i = 0; i < 3 && f->leaf == FL_NODE && f->a[i]; i++) {
        int m = form_nparams(f->a[i]);
        n = m > n ? m : n;
    }
    return n;
}
