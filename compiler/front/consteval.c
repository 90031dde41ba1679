/*
 * consteval.c — the one constant evaluator (docs/language.md §3.2, §3.5).
 *
 * const_arith() is the language's arithmetic on known numbers: integers stay
 * exact (|v| <= 2^53, overflow is an error), an integer division that does
 * not divide exactly gives a real marked `inexact`, reals must stay finite.
 * The checker folds every constant sub-expression with it as it types the
 * tree; const_eval() evaluates a checked constant expression whose value
 * depends on the constant parameters of a user function, at one instance
 * (the values at a call).  Nothing else in the compiler evaluates constants.
 */
#include <math.h>

#include "front.h"

static Type known(double v, bool is_int) {
    return (Type){.kind = TY_NUM, .known = true, .is_int = is_int, .value = v};
}

static ConstStatus int_arith(BinOp op, int64_t x, int64_t y, Type *out) {
    int64_t r = 0;
    bool ovf = false;
    switch (op) {
    case BIN_ADD: ovf = __builtin_add_overflow(x, y, &r); break;
    case BIN_SUB: ovf = __builtin_sub_overflow(x, y, &r); break;
    case BIN_MUL: ovf = __builtin_mul_overflow(x, y, &r); break;
    case BIN_DIV:
        if (y == 0) {
            *out = known((double)x / (double)y, false);
            return CE_DIV_ZERO;
        }
        if (x % y == 0 && !(x == INT64_MIN && y == -1)) {
            *out = known((double)(x / y), true);
        } else {
            *out = known((double)x / (double)y, false);
            out->inexact = true;
        }
        return CE_OK;
    default: break;
    }
    *out = known((double)r, true);
    if (ovf || r > (int64_t)1 << 53 || r < -((int64_t)1 << 53))
        return CE_INT_OVERFLOW;
    return CE_OK;
}

ConstStatus const_arith(BinOp op, Type a, Type b, Type *out) {
    if (a.is_int && b.is_int)
        return int_arith(op, (int64_t)a.value, (int64_t)b.value, out);
    double x = a.value, y = b.value, r = 0;
    switch (op) {
    case BIN_ADD: r = x + y; break;
    case BIN_SUB: r = x - y; break;
    case BIN_MUL: r = x * y; break;
    case BIN_DIV: r = x / y; break;
    default: break;
    }
    *out = known(r, false);
    if (op == BIN_DIV && y == 0)
        return CE_DIV_ZERO;
    return isfinite(r) ? CE_OK : CE_OVERFLOW;
}

bool const_expr_plain(const Expr *e) {
    switch (e->kind) {
    case EX_NUM: return true;
    case EX_NAME: return e->param_index >= 0 || e->const_name;
    case EX_NEG: return const_expr_plain(e->lhs);
    case EX_BIN: return e->op < BIN_LT && const_expr_plain(e->lhs) && const_expr_plain(e->rhs);
    default: return e->type.kind == TY_NUM && e->type.known;
    }
}

/* Parameters of an instance are reals: their arithmetic is IEEE double
 * arithmetic, as the values are passed on to the kernels. */
bool const_eval(const Expr *e, const Decl *f, const double *consts, double *out) {
    if (e->type.kind == TY_NUM && e->type.known) { /* folded by the checker */
        *out = e->type.value;
        return true;
    }
    double a, b;
    Type r;
    switch (e->kind) {
    case EX_NAME:
        if (!f || e->param_index < f->ninputs_elem)
            return false;
        *out = consts[e->param_index - f->ninputs_elem];
        return true;
    case EX_NEG:
        if (!const_eval(e->lhs, f, consts, &a))
            return false;
        *out = -a;
        return true;
    case EX_BIN:
        if (e->op >= BIN_LT || !const_eval(e->lhs, f, consts, &a) || !const_eval(e->rhs, f, consts, &b))
            return false;
        const_arith(e->op, known(a, false), known(b, false), &r); /* inf or NaN pass on, as in PyTorch */
        *out = r.value;
        return true;
    default: return false;
    }
}
