/*
 * check_expr.c — names and expressions (docs/language.md §3.4, §4.1–§4.4).
 *
 * Types every expression node (Expr.type), resolves every name through the
 * scope chain (Expr.ref, Expr.param_index, Expr.const_name) and folds the
 * constant sub-expressions with consteval.c.  Operands broadcast [batch, n]
 * with [n]-free numbers (§4.2); a comparison is only a where() condition.
 * An error gives TY_ERROR, which silences follow-on errors.
 */
#include <string.h>

#include "check.h"

/* Render a type for messages. */
const char *ty_str(Checker *c, const Env *env, Type t) {
    switch (t.kind) {
    case TY_NUM: return "a number";
    case TY_BOOL: return "a boolean";
    case TY_STR: return "a string";
    case TY_COND: return "a comparison";
    case TY_TUPLE: return arena_printf(&c->s->perm, "%d tensors", t.count);
    case TY_TENSOR: {
        if (ty_width(t) < 0)
            return "a tensor";
        StrBuf sb;
        sb_init(&sb, &c->s->perm);
        if (env && env->model && env->model->batch_name)
            sb_printf(&sb, "f32[%s", env->model->batch_name);
        else if (env && env->model && env->model->batch_value > 0)
            sb_printf(&sb, "f32[%lld", (long long)env->model->batch_value);
        else
            sb_puts(&sb, "f32[batch");
        for (int i = 1; i < t.shape.rank; i++)
            sb_printf(&sb, ", %lld", (long long)t.shape.dim[i]);
        sb_putc(&sb, ']');
        return sb_str(&sb);
    }
    case TY_ERROR: return "an error";
    }
    return "?";
}

/* ---- lookup ---- */

/* A declaration checked before this point (a constant, function or model). */
Decl *lookup_decl(Checker *c, const char *name) {
    const Symbol *sym = scope_lookup_here(&c->file, name);
    return sym ? sym->decl : NULL;
}

/* Any declaration of the file, also a later one (for "used before its
 * definition"). */
Decl *find_in_program(Checker *c, const char *name) {
    for (int i = 0; i < c->prog->ndecls; i++) {
        Decl *d = c->prog->decls[i];
        if (d->name && strcmp(d->name, name) == 0)
            return d;
    }
    return NULL;
}

Binding *lookup_binding(const Env *env, const char *name) {
    const Symbol *sym = scope_lookup(env->scope, name);
    return sym && sym->kind == SYM_BINDING ? sym->binding : NULL;
}

int lookup_param(const Env *env, const char *name) {
    const Symbol *sym = scope_lookup(env->scope, name);
    return sym && sym->kind == SYM_PARAM ? sym->param : -1;
}

void suggest(Suggest *sg, const char *cand) {
    if (!cand || strcmp(cand, sg->target) == 0)
        return;
    int cap = ((int)strlen(sg->target) + 1) / 3;
    if (cap > 3)
        cap = 3;
    int dist = edit_distance(sg->target, cand, cap);
    if (dist <= cap && dist < sg->dist) {
        sg->best = cand;
        sg->dist = dist;
    }
}

/* Closest name to `target` among the values (want_values) or the functions
 * visible from env, innermost scope first, then the builtins. */
const char *suggest_name(const Env *env, const char *target, bool want_values) {
    Suggest sg = {NULL, 1 << 30, target};
    for (const Scope *sc = env->scope; sc; sc = sc->up)
        for (int i = 0; i < sc->nsyms; i++) {
            const Symbol *sym = &sc->syms[i];
            Decl *d = sym->decl;
            bool is_value = sym->kind != SYM_DECL || d->kind == DECL_CONST;
            bool is_func = sym->kind == SYM_DECL && (d->kind == DECL_ACT || d->kind == DECL_GATE);
            if ((want_values && is_value) || (!want_values && is_func))
                suggest(&sg, sym->name);
        }
    if (!want_values)
        for (int i = 0; i < BI_COUNT; i++)
            suggest(&sg, builtin_get((BuiltinId)i)->name);
    return sg.best;
}

/* language.md §3.2: fold a op b when both are known, reporting the errors. */
static Type fold_arith(Checker *c, Span sp, BinOp op, Type a, Type b) {
    if (!a.known || !b.known)
        return (Type){.kind = TY_NUM};
    Type r;
    switch (const_arith(op, a, b, &r)) {
    case CE_OK: return r;
    case CE_DIV_ZERO: diag_error(c->d, sp, "division by zero in constant expression"); break;
    case CE_INT_OVERFLOW: diag_error(c->d, sp, "integer overflow in constant expression"); break;
    case CE_OVERFLOW: diag_error(c->d, sp, "constant expression overflows"); break;
    }
    return ty_error;
}

/* ---- expressions ---- */


/* The loop among stmts (or nested in them) whose body binds `name`, or NULL. */
static const Stmt *loop_binding(Stmt *const *stmts, int n, const char *name) {
    for (int i = 0; i < n; i++) {
        const Stmt *st = stmts[i];
        if (st->kind != ST_FOR)
            continue;
        for (int j = 0; j < st->nbody; j++)
            for (int k = 0; k < st->body[j]->ntargets; k++)
                if (strcmp(st->body[j]->targets[k].name, name) == 0)
                    return st;
        const Stmt *inner = loop_binding(st->body, st->nbody, name);
        if (inner)
            return inner;
    }
    return NULL;
}

static Type check_name(Checker *c, Env *env, Expr *e) {
    if (habit_is_qualified(e->str)) { /* language.md §10: F.relu, torch.sigmoid as values */
        const char *base = habit_base_name(e->str);
        bool known = builtin_find(base) || lookup_decl(c, base);
        if (!habit_qualified(c->s, e, known, known ? NULL : suggest_name(env, base, false)))
            return ty_error;
    }
    if (env->func) {
        int i = lookup_param(env, e->str);
        if (i >= 0) {
            e->param_index = i;
            if (i < env->func->ninputs_elem)
                return ty_tensor(-1);
            return (Type){.kind = TY_NUM}; /* a constant parameter: value known per call */
        }
    }
    if (env->model) {
        Binding *b = lookup_binding(env, e->str);
        if (b) {
            b->uses++;
            e->ref = b;
            return b->error ? ty_error : (Type){.kind = TY_TENSOR, .shape = b->shape};
        }
    }
    /* a loop's variable or a block's constant: declarations of an inner scope */
    const Symbol *loop_var = env->scope ? scope_lookup(env->scope, e->str) : NULL;
    Decl *g = loop_var && loop_var->kind == SYM_DECL ? loop_var->decl : lookup_decl(c, e->str);
    if (g && g->kind == DECL_CONST) {
        e->const_name = g->name;
        return g->const_value;
    }
    if (g && (g->kind == DECL_ACT || g->kind == DECL_GATE || g->kind == DECL_BLOCK)) {
        diag_error(c->d, e->span, "'%s' is %s; call it as %s(...)", e->str,
                   g->kind == DECL_ACT ? "an activation" : g->kind == DECL_GATE ? "a gate" : "a block", e->str);
        return ty_error;
    }
    const Builtin *bi = builtin_find(e->str);
    if (bi) {
        diag_error(c->d, e->span, "'%s' is a builtin %s; call it as %s(...)", e->str,
                   builtin_kind_name(bi->kind), e->str);
        return ty_error;
    }
    Decl *later = find_in_program(c, e->str);
    if (later && later->kind == DECL_CONST) {
        Diagnostic *dg = diag_error(c->d, e->span, "'%s' is used before its definition", e->str);
        diag_note(c->d, dg, later->name_span, "'%s' is defined here", e->str);
        return ty_error;
    }
    const Stmt *loop = env->model ? c->blocks ? loop_binding(c->blocks->blk->stmts, c->blocks->blk->nstmts, e->str)
                                              : loop_binding(env->model->stmts, env->model->nstmts, e->str)
                                  : NULL;
    for (const Loop *lp = c->loop; lp && loop; lp = lp->up)
        if (lp->st == loop)
            loop = NULL; /* a use inside that loop: before its definition (below) */
    if (loop && !lookup_binding(env, e->str)) {
        Diagnostic *dg = diag_error(c->d, e->span, "'%s' is local to a loop: a name first bound in a loop's body "
                                    "lives for one iteration; bind it before the loop to carry it out", e->str);
        diag_note(c->d, dg, loop->span, "the loop is here");
        return ty_error;
    }
    if (env->model) {
        /* assigned by a later statement (or by this one) */
        Stmt *const *list = c->loop     ? c->loop->st->body /* this body's statements */
                            : c->blocks ? c->blocks->blk->stmts
                                        : env->model->stmts;
        int nlist = c->loop ? c->loop->st->nbody : c->blocks ? c->blocks->blk->nstmts : env->model->nstmts;
        for (int i = 0; i < nlist; i++) {
            Stmt *st = list[i];
            for (int j = 0; j < st->ntargets; j++)
                if (strcmp(st->targets[j].name, e->str) == 0) {
                    Diagnostic *dg = diag_error(c->d, e->span, "'%s' is used before its definition", e->str);
                    diag_note(c->d, dg, st->targets[j].span, "'%s' is defined here", e->str);
                    VEC_PUSH(&c->s->perm, c->early, c->nearly, c->capearly, e->str);
                    return ty_error;
                }
        }
    }
    int py = habit_bool(c->s, e); /* language.md §10: True, False, None */
    if (py >= 0)
        return (Type){.kind = TY_BOOL, .value = py};
    if (habit_none(c->s, e, NULL))
        return ty_error;
    const char *hint = suggest_name(env, e->str, true);
    if (hint) {
        diag_error(c->d, e->span, "use of undeclared identifier '%s'; did you mean '%s'?", e->str, hint);
        Binding *b = env->model ? lookup_binding(env, hint) : NULL;
        if (b)
            b->uses++; /* the user meant it: no "never used" warning on top */
    } else {
        diag_error(c->d, e->span, "use of undeclared identifier '%s'", e->str);
    }
    return ty_error;
}

/* Shape of an elementwise combination of a and b, or TY_ERROR (reported). */
Type broadcast(Checker *c, Env *env, Span sp, const char *what, Type a, Type b) {
    if (a.kind == TY_ERROR || b.kind == TY_ERROR)
        return ty_error;
    if (a.kind == TY_NUM && b.kind == TY_NUM)
        return (Type){.kind = TY_NUM};
    /* the result has the tensor operand's shape (the known one, in a body) */
    if (a.kind == TY_NUM)
        return (Type){.kind = TY_TENSOR, .shape = b.shape};
    if (b.kind == TY_NUM)
        return (Type){.kind = TY_TENSOR, .shape = a.shape};
    if (ty_width(a) == ty_width(b) || ty_width(a) < 0 || ty_width(b) < 0)
        return (Type){.kind = TY_TENSOR, .shape = ty_width(a) >= 0 ? a.shape : b.shape};
    diag_error(c->d, sp, "shape mismatch in %s: %s and %s", what, ty_str(c, env, a),
               ty_str(c, env, b));
    return ty_error;
}

/* The operand of checked call e that carries its width: the first tensor
 * operand (else a comparison's, for where), or NULL. */
static const Expr *width_operand(const Expr *e) {
    int n = e->callee.builtin ? e->callee.builtin->ninputs : e->callee.user ? e->callee.user->ninputs_elem : 0;
    const Expr *cond = NULL;
    for (int i = 0; e->bound && i < n; i++) {
        const Expr *v = e->bound[i] ? e->bound[i]->value : NULL;
        if (v && v->type.kind == TY_TENSOR)
            return v;
        if (v && v->type.kind == TY_COND && !cond)
            cond = v;
    }
    return cond;
}

/* Where the width of checked tensor expression e was set: the units of
 * its dense layer, a split, a one-operand glu or a model input's type;
 * elementwise operations, layers that keep the width and bindings are
 * followed back (a loop, so a long residual chain costs no stack). */
static bool width_origin(const Env *env, const Expr *e, Span *out) {
    for (long steps = 0; e && steps < (1L << 22); steps++) {
        const Builtin *bi = e->kind == EX_CALL ? e->callee.builtin : NULL;
        switch (e->kind) {
        case EX_NAME: {
            const Binding *b = e->ref;
            if (b && b->is_input && env->model && b->index < env->model->ninputs &&
                env->model->inputs[b->index].type->ndims == 2) {
                *out = env->model->inputs[b->index].type->dims[1]->span;
                return true;
            }
            e = b && !b->is_input && b->stmt && b->stmt->nvalues > 0 ? b->stmt->values[0] : NULL;
            break;
        }
        case EX_NEG: e = e->lhs; break;
        case EX_BIN: e = e->lhs->type.kind == TY_TENSOR || e->lhs->type.kind == TY_COND ? e->lhs : e->rhs; break;
        case EX_CALL:
            if (bi && bi->id == BI_DENSE && e->bound && e->bound[1]) {
                *out = e->bound[1]->value->span; /* the units */
                return true;
            }
            if (bi && (bi->id == BI_SPLIT || (bi->id == BI_GLU && e->bound && !e->bound[1]))) {
                *out = e->span;
                return true;
            }
            e = width_operand(e);
            break;
        default: return false;
        }
    }
    return false;
}

void note_width_origins(Checker *c, const Env *env, Diagnostic *dg, const Expr *a, Type ta, const Expr *b, Type tb) {
    Span sa, sb;
    bool has_a = width_origin(env, a, &sa);
    if (has_a)
        diag_note(c->d, dg, sa, "width %lld set here", (long long)ty_width(ta));
    if (width_origin(env, b, &sb) && !(has_a && sa.start == sb.start && sa.end == sb.end))
        diag_note(c->d, dg, sb, "width %lld set here", (long long)ty_width(tb));
}

/* An operand of arithmetic must be a number or a tensor. */
bool arith_operand(Checker *c, Env *env, const Expr *e, Type t, const char *op) {
    switch (t.kind) {
    case TY_NUM:
    case TY_TENSOR: return true;
    case TY_ERROR: return false;
    case TY_COND:
        diag_error(c->d, e->span, "a comparison can only be used as the condition of where()");
        return false;
    case TY_TUPLE:
        diag_error(c->d, e->span,
                   "this expression produces %d tensors; bind them first, e.g. 'a, b = ...'",
                   t.count);
        return false;
    default:
        diag_error(c->d, e->span, "invalid operand to '%s': %s", op, ty_str(c, env, t));
        return false;
    }
}

static Type check_bin(Checker *c, Env *env, Expr *e) {
    Type a = check_expr(c, env, e->lhs);
    Type b = check_expr(c, env, e->rhs);
    const char *op = binop_str(e->op);
    bool ok = arith_operand(c, env, e->lhs, a, op);
    ok = arith_operand(c, env, e->rhs, b, op) && ok;
    if (!ok)
        return ty_error;
    const char *what = arena_printf(&c->s->perm, "'%s'", op);
    Type r = broadcast(c, env, e->span, what, a, b);
    if (r.kind == TY_ERROR)
        return r;
    if (e->op >= BIN_LT)
        return (Type){.kind = TY_COND, .shape = r.kind == TY_TENSOR ? r.shape : shape_rows(DIM_ANY)};
    if (r.kind == TY_NUM)
        return fold_arith(c, e->span, e->op, a, b);
    return r;
}


Type check_expr(Checker *c, Env *env, Expr *e) {
    Type t = ty_error;
    switch (e->kind) {
    case EX_NUM: t = ty_num(e->num, e->num_is_int); break;
    case EX_STR: t = (Type){.kind = TY_STR, .str = e->str}; break;
    case EX_BOOL: t = (Type){.kind = TY_BOOL, .value = e->b}; break;
    case EX_NAME: t = check_name(c, env, e); break;
    case EX_NEG: {
        Type a = check_expr(c, env, e->lhs);
        if (!arith_operand(c, env, e->lhs, a, "-"))
            break;
        t = a;
        if (a.kind == TY_NUM && a.known)
            t.value = -a.value;
        break;
    }
    case EX_BIN: t = check_bin(c, env, e); break;
    case EX_CALL: t = check_call(c, env, e); break;
    case EX_ERROR: break;
    }
    e->type = t;
    return t;
}
