/*
 * check.c — semantic analysis of a parsed Program (docs/language.md §3–§8).
 *
 * Consumes the AST from parse.c; fills in Expr.type, call resolution
 * (Expr.callee, Expr.bound, Expr.consts, Expr.layer), model bindings, the
 * batch dimension and the list of learned tensors of each model.  Reports
 * every problem it can find to the diagnostic sink and keeps going: an
 * erroneous sub-expression has type TY_ERROR, which silences follow-on
 * errors.  Names must be defined before use, so declarations are checked in
 * order and recursion between user functions cannot arise except a function
 * calling itself, which is rejected.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "front.h"

typedef struct Env {
    Scope *scope;      /* names visible here (scope.c) */
    Decl *func;        /* activation or gate whose body is checked, or NULL */
    Decl *model;       /* model whose statements are checked, or NULL */
    const Expr *outer; /* the outermost call of `v = call(...)`: it may be named v */
    const char *outer_name;
} Env;

typedef struct Checker {
    Session *s;
    Diag *d;
    Program *prog;
    Scope file;  /* the declarations checked so far */
    int cur; /* index of the declaration being checked */
    const char **early; /* names used before their definition (already reported) */
    int nearly, capearly;
} Checker;

static const Type ty_error = {.kind = TY_ERROR};

/* Largest feature dimension; keeps every size product far from overflow. */
enum { MAX_DIM = 1 << 30, NODE_PARAMS_MAX = 8 };
/* Largest weight matrix (elements): 64 GiB of f32. */
#define MAX_WEIGHTS ((int64_t)1 << 34)

static Type ty_num(double v, bool is_int) {
    return (Type){.kind = TY_NUM, .known = true, .is_int = is_int, .value = v};
}
static Type ty_tensor(int64_t n) { return (Type){.kind = TY_TENSOR, .n = n}; }

/* Render a type for messages. */
static const char *ty_str(Checker *c, const Env *env, Type t) {
    switch (t.kind) {
    case TY_NUM: return "a number";
    case TY_BOOL: return "a boolean";
    case TY_STR: return "a string";
    case TY_COND: return "a comparison";
    case TY_TUPLE: return arena_printf(&c->s->perm, "%d tensors", t.count);
    case TY_TENSOR:
        if (t.n < 0)
            return "a tensor";
        if (env && env->model && env->model->batch_name)
            return arena_printf(&c->s->perm, "f32[%s, %lld]", env->model->batch_name, (long long)t.n);
        if (env && env->model && env->model->batch_value > 0)
            return arena_printf(&c->s->perm, "f32[%lld, %lld]", (long long)env->model->batch_value, (long long)t.n);
        return arena_printf(&c->s->perm, "f32[batch, %lld]", (long long)t.n);
    case TY_ERROR: return "an error";
    }
    return "?";
}

/* ---- lookup ---- */

/* A declaration checked before this point (a constant, function or model). */
static Decl *lookup_decl(Checker *c, const char *name) {
    const Symbol *sym = scope_lookup_here(&c->file, name);
    return sym ? sym->decl : NULL;
}

/* Any declaration of the file, also a later one (for "used before its
 * definition"). */
static Decl *find_in_program(Checker *c, const char *name) {
    for (int i = 0; i < c->prog->ndecls; i++) {
        Decl *d = c->prog->decls[i];
        if (d->name && strcmp(d->name, name) == 0)
            return d;
    }
    return NULL;
}

static Binding *lookup_binding(const Env *env, const char *name) {
    const Symbol *sym = scope_lookup(env->scope, name);
    return sym && sym->kind == SYM_BINDING ? sym->binding : NULL;
}

static int lookup_param(const Env *env, const char *name) {
    const Symbol *sym = scope_lookup(env->scope, name);
    return sym && sym->kind == SYM_PARAM ? sym->param : -1;
}

typedef struct Suggest {
    const char *best;
    int dist;
    const char *target;
} Suggest;

static void suggest(Suggest *sg, const char *cand) {
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
static const char *suggest_name(Checker *c, const Env *env, const char *target, bool want_values) {
    (void)c;
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

static Type check_expr(Checker *c, Env *env, Expr *e);

static Type check_name(Checker *c, Env *env, Expr *e) {
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
            return b->error ? ty_error : ty_tensor(b->n);
        }
    }
    Decl *g = lookup_decl(c, e->str);
    if (g && g->kind == DECL_CONST) {
        e->const_name = g->name;
        return g->const_value;
    }
    if (g && (g->kind == DECL_ACT || g->kind == DECL_GATE)) {
        diag_error(c->d, e->span, "'%s' is %s; call it as %s(...)", e->str,
                   g->kind == DECL_ACT ? "an activation" : "a gate", e->str);
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
    if (env->model) {
        /* assigned by a later statement (or by this one) */
        for (int i = 0; i < env->model->nstmts; i++) {
            Stmt *st = env->model->stmts[i];
            for (int j = 0; j < st->ntargets; j++)
                if (strcmp(st->targets[j].name, e->str) == 0) {
                    Diagnostic *dg = diag_error(c->d, e->span, "'%s' is used before its definition", e->str);
                    diag_note(c->d, dg, st->targets[j].span, "'%s' is defined here", e->str);
                    VEC_PUSH(&c->s->perm, c->early, c->nearly, c->capearly, e->str);
                    return ty_error;
                }
        }
    }
    const char *hint = suggest_name(c, env, e->str, true);
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
static Type broadcast(Checker *c, Env *env, Span sp, const char *what, Type a, Type b) {
    if (a.kind == TY_ERROR || b.kind == TY_ERROR)
        return ty_error;
    if (a.kind == TY_NUM && b.kind == TY_NUM)
        return (Type){.kind = TY_NUM};
    if (a.kind == TY_NUM)
        return ty_tensor(b.n);
    if (b.kind == TY_NUM)
        return ty_tensor(a.n);
    if (a.n == b.n || a.n < 0 || b.n < 0)
        return ty_tensor(a.n >= 0 ? a.n : b.n);
    diag_error(c->d, sp, "shape mismatch in %s: %s and %s", what, ty_str(c, env, a),
               ty_str(c, env, b));
    return ty_error;
}

/* An operand of arithmetic must be a number or a tensor. */
static bool arith_operand(Checker *c, Env *env, const Expr *e, Type t, const char *op) {
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
        return (Type){.kind = TY_COND, .n = r.kind == TY_TENSOR ? r.n : -1};
    if (r.kind == TY_NUM)
        return fold_arith(c, e->span, e->op, a, b);
    return r;
}

static Type check_call(Checker *c, Env *env, Expr *e);

static Type check_expr(Checker *c, Env *env, Expr *e) {
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

/* ---- calls ---- */

/* A uniform view of a callee's signature. */
typedef struct Sig {
    const char *name;
    int ninputs, nparams;
    const char *pnames[8];
    bool required[8];
    const Builtin *bi;
    Decl *user;
} Sig;

static Sig sig_builtin(const Builtin *b) {
    Sig s = {.name = b->name, .ninputs = b->ninputs, .nparams = b->nparams, .bi = b};
    for (int i = 0; i < b->nparams; i++) {
        s.pnames[i] = b->params[i].name;
        s.required[i] = b->params[i].required;
    }
    return s;
}

static const char *sig_str(Checker *c, const Sig *s) {
    StrBuf sb;
    sb_init(&sb, &c->s->perm);
    sb_printf(&sb, "%s(", s->name);
    for (int i = 0; i < s->ninputs; i++) {
        static const char *in_names[] = {"x", "y", "z"};
        const char *n = s->user ? s->user->params[i].name
                      : s->ninputs == 2 && s->bi->kind == BK_GATE ? (i ? "b" : "a")
                      : s->bi->id == BI_WHERE ? (const char *[]){"cond", "a", "b"}[i]
                                              : in_names[i];
        sb_printf(&sb, "%s%s", i ? ", " : "", n);
    }
    for (int i = 0; i < s->nparams; i++) {
        sb_printf(&sb, "%s%s", i || s->ninputs ? ", " : "", s->pnames[i]);
        if (!s->required[i]) {
            if (s->user) {
                sb_puts(&sb, " = ...");
            } else {
                const BuiltinParam *bp = &s->bi->params[i];
                if (bp->type == PT_STR)
                    sb_printf(&sb, " = %s", bp->sdflt ? arena_printf(&c->s->perm, "\"%s\"", bp->sdflt) : "...");
                else if (bp->type == PT_BOOL)
                    sb_printf(&sb, " = %s", bp->dflt ? "true" : "false");
                else
                    sb_printf(&sb, " = %g", bp->dflt);
            }
        }
    }
    sb_putc(&sb, ')');
    return sb_str(&sb);
}

/* Bind the call's arguments to slots: inputs first, then parameters. */
static bool bind_args(Checker *c, Expr *e, const Sig *sig, int ninputs_used) {
    int nslots = sig->ninputs + sig->nparams;
    e->bound = NEW_ARRAY(&c->s->perm, Arg *, (size_t)nslots + 1);
    bool ok = true, seen_named = false;
    int pos = 0;
    for (int i = 0; i < e->nargs; i++) {
        Arg *a = &e->args[i];
        int slot;
        if (!a->name) {
            if (seen_named) {
                diag_error(c->d, a->span, "positional argument after a named argument");
                ok = false;
                continue;
            }
            slot = pos < ninputs_used ? pos : sig->ninputs + (pos - ninputs_used);
            if (pos >= ninputs_used + sig->nparams) {
                Diagnostic *dg = diag_error(c->d, a->span, "too many arguments to '%s': expected at most %d, got %d",
                                            sig->name, ninputs_used + sig->nparams, e->nargs);
                diag_note(c->d, dg, e->span, "'%s' is %s", sig->name, sig_str(c, sig));
                return false;
            }
            pos++;
        } else {
            seen_named = true;
            slot = -1;
            for (int j = 0; j < sig->nparams; j++)
                if (strcmp(sig->pnames[j], a->name) == 0)
                    slot = sig->ninputs + j;
            if (slot < 0) {
                Suggest sg = {NULL, 1 << 30, a->name};
                for (int j = 0; j < sig->nparams; j++)
                    suggest(&sg, sig->pnames[j]);
                Diagnostic *dg = sg.best
                    ? diag_error(c->d, a->name_span, "'%s' has no parameter named '%s'; did you mean '%s'?",
                                 sig->name, a->name, sg.best)
                    : diag_error(c->d, a->name_span, "'%s' has no parameter named '%s'", sig->name, a->name);
                diag_note(c->d, dg, e->span, "'%s' is %s", sig->name, sig_str(c, sig));
                ok = false;
                continue;
            }
            if (e->bound[slot]) {
                Arg *first = e->bound[slot];
                Diagnostic *dg = first->name
                    ? diag_error(c->d, a->name_span, "argument '%s' is given more than once", a->name)
                    : diag_error(c->d, a->name_span, "argument '%s' is given both by position and by name", a->name);
                diag_note(c->d, dg, first->span, "first given here");
                ok = false;
                continue;
            }
        }
        e->bound[slot] = a;
    }
    if (!ok)
        return false;
    if (pos < ninputs_used) {
        Diagnostic *dg = diag_error(c->d, e->span, "too few arguments to '%s': expected %d operand%s, got %d",
                                    sig->name, ninputs_used, ninputs_used == 1 ? "" : "s", pos);
        diag_note(c->d, dg, e->span, "'%s' is %s", sig->name, sig_str(c, sig));
        return false;
    }
    for (int j = 0; j < sig->nparams; j++)
        if (sig->required[j] && !e->bound[sig->ninputs + j]) {
            Diagnostic *dg = diag_error(c->d, e->span, "missing argument '%s' in call to '%s'",
                                        sig->pnames[j], sig->name);
            diag_note(c->d, dg, e->span, "'%s' is %s", sig->name, sig_str(c, sig));
            ok = false;
        }
    return ok;
}

/* Check a constant parameter's argument against its type. */
static bool check_const_arg(Checker *c, Env *env, const Sig *sig, int j, Arg *a, Type t) {
    ParamType pt = sig->bi ? sig->bi->params[j].type : PT_NUM;
    const char *pn = sig->pnames[j];
    if (t.kind == TY_ERROR)
        return false;
    switch (pt) {
    case PT_STR:
        if (t.kind != TY_STR) {
            diag_error(c->d, a->value->span, "argument '%s' of '%s' must be a string, got %s", pn, sig->name, ty_str(c, env, t));
            return false;
        }
        return true;
    case PT_BOOL:
        if (t.kind != TY_BOOL) {
            diag_error(c->d, a->value->span, "argument '%s' of '%s' must be true or false, got %s", pn, sig->name, ty_str(c, env, t));
            return false;
        }
        return true;
    case PT_NUM:
    case PT_INT:
        if (t.kind == TY_TENSOR) {
            diag_error(c->d, a->value->span, "argument '%s' of '%s' must be a constant, not a tensor", pn, sig->name);
            return false;
        }
        if (t.kind != TY_NUM) {
            diag_error(c->d, a->value->span, "argument '%s' of '%s' must be a number, got %s", pn, sig->name, ty_str(c, env, t));
            return false;
        }
        if (!t.known && (env->model || pt == PT_INT)) {
            diag_error(c->d, a->value->span, "argument '%s' of '%s' must be a compile-time constant", pn, sig->name);
            return false;
        }
        if (!t.known && !const_expr_plain(a->value)) { /* language.md §3.5 */
            diag_error(c->d, a->value->span, "argument '%s' of '%s' must be a constant expression of numbers, "
                       "constants and parameters (+ - * /)", pn, sig->name);
            return false;
        }
        if (pt == PT_INT && !t.is_int) {
            if (t.inexact)
                diag_error(c->d, a->value->span, "argument '%s' of '%s' must be an integer; the division does not "
                           "divide exactly (%g)", pn, sig->name, t.value);
            else
                diag_error(c->d, a->value->span, "argument '%s' of '%s' must be an integer, got %g", pn, sig->name,
                           t.value);
            return false;
        }
        return true;
    }
    return false;
}

/* Valid characters of a layer name (language.md §7.1). */
static bool valid_layer_name(const char *s) {
    if (!*s || *s == '.')
        return false;
    for (const char *p = s; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  *p == '_' || *p == '-' || *p == '.';
        if (!ok || (*p == '.' && (p[1] == '.' || p[1] == '\0')))
            return false;
    }
    return true;
}

static void add_tensor(Checker *c, Env *env, Expr *e, const char *suffix, int rank, int64_t d0, int64_t d1) {
    Decl *m = env->model;
    ParamTensor t = {.name = arena_printf(&c->s->perm, "%s.%s", e->layer, suffix),
                     .rank = rank, .shape = {d0, d1}, .span = e->span};
    VEC_PUSH(&c->s->perm, m->tensors, m->ntensors, m->captensors, t);
}

/* language.md §7.1: a layer is named by name = "..." or by the variable of
 * `v = layer(...)` when it is the outermost call. */
static bool name_layer(Checker *c, Env *env, Expr *e, const Sig *sig) {
    int slot = -1;
    for (int j = 0; j < sig->nparams; j++)
        if (strcmp(sig->pnames[j], "name") == 0)
            slot = sig->ninputs + j;
    Arg *a = slot >= 0 ? e->bound[slot] : NULL;
    if (a) {
        if (a->value->type.kind != TY_STR)
            return false;
        if (!valid_layer_name(a->value->str)) {
            StrBuf q;
            sb_init(&q, &c->s->perm);
            for (const char *p = a->value->str; *p && q.len < 64; p++)
                if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
                    sb_printf(&q, "\\x%02x", (unsigned char)*p);
                else
                    sb_putc(&q, *p);
            diag_error(c->d, a->value->span,
                       "invalid layer name \"%s\": use letters, digits, '_', '-' and single inner dots",
                       sb_str(&q));
            return false;
        }
        e->layer = a->value->str;
    } else if (env->outer == e && env->outer_name) {
        e->layer = env->outer_name;
    } else {
        diag_error(c->d, e->span, "this '%s' layer has parameters and needs a name; add name = \"...\"",
                   sig->name);
        return false;
    }
    Decl *m = env->model;
    for (int i = 0; i < m->ntensors; i++) {
        const char *tn = m->tensors[i].name;
        size_t ln = strlen(e->layer);
        if (strncmp(tn, e->layer, ln) == 0 && tn[ln] == '.' && strchr(tn + ln + 1, '.') == NULL) {
            Diagnostic *dg = diag_error(c->d, a ? a->value->span : e->span, "duplicate layer name '%s'", e->layer);
            diag_note(c->d, dg, m->tensors[i].span, "'%s' is first used here", e->layer);
            return false;
        }
    }
    return true;
}

/* Type of a builtin call, once its arguments are checked. */
static Type builtin_result(Checker *c, Env *env, Expr *e, const Builtin *b, Type *in, int nin) {
    const Type x = in[0];
    switch (b->kind) {
    case BK_PRIM:
        if (b->id == BI_WHERE) {
            if (in[0].kind != TY_COND) {
                diag_error(c->d, e->bound[0]->value->span, "the condition of where() must be a comparison, got %s",
                           ty_str(c, env, in[0]));
                return ty_error;
            }
            Type cond = in[0].n >= 0 ? ty_tensor(in[0].n) : (Type){.kind = TY_NUM};
            Type r = broadcast(c, env, e->span, "where()", cond, in[1]);
            return broadcast(c, env, e->span, "where()", r, in[2]);
        }
        if (nin == 2)
            return broadcast(c, env, e->span, arena_printf(&c->s->perm, "%s()", b->name), in[0], in[1]);
        return x.kind == TY_NUM ? (Type){.kind = TY_NUM} : x;
    case BK_ACT:
        if (b->id == BI_PRELU && env->model) {
            int64_t np = (int64_t)e->consts[0];
            if (np != 1 && np != x.n) {
                diag_error(c->d, e->bound[1] ? e->bound[1]->span : e->span,
                           "prelu num_parameters must be 1 or the number of features (%lld), got %lld",
                           (long long)x.n, (long long)np);
                return ty_error;
            }
            add_tensor(c, env, e, "weight", 1, np, 0);
        }
        return x.kind == TY_NUM ? (Type){.kind = TY_NUM} : x;
    case BK_GATE:
        if (nin == 1) { /* glu(t): torch.nn.functional.glu, first half * sigmoid(second) */
            if (x.n < 0) {
                diag_error(c->d, e->span, "glu(t) splits its operand in half; inside an activation use glu(a, b)");
                return ty_error;
            }
            if (x.n % 2) {
                diag_error(c->d, e->span, "glu(t) needs an even number of features, got %s", ty_str(c, env, x));
                return ty_error;
            }
            return ty_tensor(x.n / 2);
        }
        if (in[0].kind == TY_TENSOR && in[1].kind == TY_TENSOR && in[0].n >= 0 && in[1].n >= 0 &&
            in[0].n != in[1].n) {
            diag_error(c->d, e->span, "operands of gate '%s' must have the same shape: %s and %s", b->name,
                       ty_str(c, env, in[0]), ty_str(c, env, in[1]));
            return ty_error;
        }
        return broadcast(c, env, e->span, b->name, in[0], in[1]);
    case BK_ROW:
        if (b->id == BI_LAYERNORM || b->id == BI_RMSNORM) {
            if (!(e->consts[0] > 0)) {
                diag_error(c->d, e->bound[1] ? e->bound[1]->value->span : e->span, "%s eps must be positive, got %g",
                           b->name, e->consts[0]);
                return ty_error;
            }
            add_tensor(c, env, e, "weight", 1, x.n, 0);
            if (b->id == BI_LAYERNORM && e->consts[1] != 0)
                add_tensor(c, env, e, "bias", 1, x.n, 0);
        }
        return x;
    case BK_LAYER: {
        int64_t units = (int64_t)e->consts[0];
        if (units <= 0 || units > MAX_DIM) {
            diag_error(c->d, e->bound[1]->value->span, "dense units must be between 1 and %d, got %lld", MAX_DIM,
                       (long long)units);
            return ty_error;
        }
        if (units > MAX_WEIGHTS / x.n) {
            diag_error(c->d, e->span, "layer '%s' is too large: %lld x %lld weights (the limit is %lld elements)",
                       e->layer, (long long)units, (long long)x.n, (long long)MAX_WEIGHTS);
            return ty_error;
        }
        add_tensor(c, env, e, "weight", 2, units, x.n);
        if (e->consts[1] != 0)
            add_tensor(c, env, e, "bias", 1, units, 0);
        return ty_tensor(units);
    }
    case BK_SPLIT: {
        int64_t k = (int64_t)e->consts[0];
        if (k < 2 || k > 64) {
            diag_error(c->d, e->bound[1]->value->span, "split needs between 2 and 64 sections, got %lld", (long long)k);
            return ty_error;
        }
        if (x.n % k) {
            diag_error(c->d, e->span, "cannot split %s into %lld equal parts", ty_str(c, env, x), (long long)k);
            return ty_error;
        }
        return (Type){.kind = TY_TUPLE, .n = x.n / k, .count = (int)k};
    }
    }
    return ty_error;
}

/* Builtin-specific parameter rules (PyTorch raises on the same values).
 * Returns NULL if `vals` (the constant parameters, builtins.c order) are
 * valid, else the message; *blame is the index of the parameter to point at
 * (-1: the call) and *other the one to mention in a note (-1: none). */
static const char *param_rule(Checker *c, const Builtin *b, const double *vals, const Expr *e, int *blame,
                              int *other) {
    *blame = 0;
    *other = -1;
    switch (b->id) {
    case BI_HARDTANH:
    case BI_CLAMP:
        if (vals[0] > vals[1]) {
            *other = 1;
            return arena_printf(&c->s->perm, "%s %s (%g) must not exceed %s (%g)", b->name, b->params[0].name,
                                vals[0], b->params[1].name, vals[1]);
        }
        return NULL;
    case BI_SOFTSHRINK:
    case BI_HARDSHRINK:
        return vals[0] < 0 ? arena_printf(&c->s->perm, "%s lambd must be non-negative, got %g", b->name, vals[0])
                           : NULL;
    case BI_CELU: return vals[0] == 0 ? "celu alpha must not be zero" : NULL;
    case BI_SOFTPLUS: return vals[0] == 0 ? "softplus beta must not be zero" : NULL;
    case BI_GELU: {
        Arg *a = e->bound[1];
        if (a && a->value->type.kind == TY_STR && strcmp(a->value->str, "none") != 0 &&
            strcmp(a->value->str, "tanh") != 0)
            return arena_printf(&c->s->perm, "gelu approximate must be \"none\" or \"tanh\", got \"%s\"",
                                a->value->str);
        return NULL;
    }
    default: return NULL;
    }
}

/* Span of constant parameter j of call e (its argument, or the call). */
static Span param_span(const Expr *e, const Builtin *b, int j) {
    Arg *a = j >= 0 ? e->bound[b->ninputs + j] : NULL;
    return a ? a->value->span : e->span;
}

static bool check_param_values(Checker *c, Expr *e, const Builtin *b) {
    int blame, other;
    const char *msg = param_rule(c, b, e->consts, e, &blame, &other);
    if (!msg)
        return true;
    Diagnostic *dg = diag_error(c->d, param_span(e, b, blame), "%s", msg);
    if (other >= 0)
        diag_note(c->d, dg, param_span(e, b, other), "%s is %g here", b->params[other].name, e->consts[other]);
    return false;
}

/* ---- instances (language.md §3.5) ---- */

static Instance *instantiate(Checker *c, Decl *f, const double *consts);

static void instance_walk(Checker *c, Instance *in, const Expr *e);

/* Body call e at instance `in`: its constant parameters with in's values,
 * the instance of a user callee, and the parameter rules a builtin breaks
 * with these values (the body check saw only the values it does not take
 * from in's parameters). */
static void instance_call(Checker *c, Instance *in, const Expr *e) {
    const Builtin *b = e->callee.builtin;
    Decl *u = e->callee.user;
    int nin = b ? b->ninputs : u ? u->ninputs_elem : 0;
    int np = b ? b->nparams : u ? u->nparams - u->ninputs_elem : 0;
    for (int i = 0; i < nin; i++)
        if (e->bound[i])
            instance_walk(c, in, e->bound[i]->value);
    double *vals = NEW_ARRAY(&c->s->perm, double, (size_t)np + 1);
    bool depends = false; /* on in's parameters */
    for (int j = 0; j < np; j++) {
        Arg *a = e->bound[nin + j];
        vals[j] = e->consts[j];
        if (!a || a->value->type.kind != TY_NUM || a->value->type.known)
            continue;
        depends = true;
        if (!const_eval(a->value, in->func, in->consts, &vals[j]))
            return; /* not a plain constant: the body check reported it */
    }
    in->call_consts[e->call_index] = vals;
    if (u) {
        Instance *sub = instantiate(c, u, vals);
        in->calls[e->call_index] = sub;
        for (int i = 0; i < sub->nerrors; i++)
            VEC_PUSH(&c->s->perm, in->errors, in->nerrors, in->caperrors, sub->errors[i]);
        return;
    }
    int blame, other;
    const char *msg = depends ? param_rule(c, b, vals, e, &blame, &other) : NULL;
    if (msg) {
        InstanceError err = {msg, param_span(e, b, blame), in->func->name};
        VEC_PUSH(&c->s->perm, in->errors, in->nerrors, in->caperrors, err);
    }
}

static void instance_walk(Checker *c, Instance *in, const Expr *e) {
    if (!e)
        return;
    if (e->kind == EX_NEG || e->kind == EX_BIN) {
        instance_walk(c, in, e->lhs);
        instance_walk(c, in, e->rhs);
    } else if (e->kind == EX_CALL && e->bound && e->consts) {
        instance_call(c, in, e);
    }
}

/* The instance of f at `consts`, made once per distinct set of values.
 * Bodies cannot recurse (check_call), so this terminates. */
static Instance *instantiate(Checker *c, Decl *f, const double *consts) {
    int np = f->nparams - f->ninputs_elem;
    for (int i = 0; i < f->ninstances; i++)
        if (np <= 0 || memcmp(f->instances[i]->consts, consts, sizeof(double) * (size_t)np) == 0)
            return f->instances[i];
    Instance *in = NEW(&c->s->perm, Instance);
    double *v = NEW_ARRAY(&c->s->perm, double, (size_t)(np > 0 ? np : 0) + 1);
    if (np > 0)
        memcpy(v, consts, sizeof(double) * (size_t)np);
    *in = (Instance){.func = f, .consts = v};
    in->call_consts = NEW_ARRAY(&c->s->perm, const double *, (size_t)f->ncalls + 1);
    in->calls = NEW_ARRAY(&c->s->perm, Instance *, (size_t)f->ncalls + 1);
    instance_walk(c, in, f->value);
    VEC_PUSH(&c->s->perm, f->instances, f->ninstances, f->capinstances, in);
    return in;
}

/* Model call e of user function f: its instance, and the rules its values
 * break anywhere in the bodies it reaches, reported at e. */
static void instance_at(Checker *c, Expr *e, Decl *f) {
    e->inst = instantiate(c, f, e->consts);
    for (int i = 0; i < e->inst->nerrors; i++) {
        const InstanceError *err = &e->inst->errors[i];
        Diagnostic *dg = diag_error(c->d, e->span, "in this call of '%s': %s", e->str, err->message);
        diag_note(c->d, dg, err->blame, "in the body of '%s'", err->func);
    }
}

static Type check_call(Checker *c, Env *env, Expr *e) {
    if (env->func)
        e->call_index = env->func->ncalls++;
    /* Resolve the callee. */
    Decl *user = lookup_decl(c, e->str);
    if (user && user->kind != DECL_ACT && user->kind != DECL_GATE)
        user = NULL;
    const Builtin *bi = user ? NULL : builtin_find(e->str);
    if (!user && !bi) {
        if (env->func && strcmp(env->func->name, e->str) == 0) {
            diag_error(c->d, e->name_span, "%s '%s' calls itself; recursion is not allowed",
                       env->func->kind == DECL_ACT ? "activation" : "gate", e->str);
        } else if (env->model && lookup_binding(env, e->str)) {
            Binding *b = lookup_binding(env, e->str);
            b->uses++;
            Diagnostic *dg = diag_error(c->d, e->name_span, "'%s' is a tensor, not a function", e->str);
            diag_note(c->d, dg, b->span, "'%s' is defined here", e->str);
        } else if ((env->func && lookup_param(env, e->str) >= 0) ||
                   (lookup_decl(c, e->str) && lookup_decl(c, e->str)->kind == DECL_CONST)) {
            diag_error(c->d, e->name_span, "'%s' is a value, not a function", e->str);
        } else if (find_in_program(c, e->str) &&
                   find_in_program(c, e->str)->kind == DECL_MODEL) {
            Diagnostic *dg = diag_error(c->d, e->name_span, "'%s' is a model; models cannot be called", e->str);
            diag_note(c->d, dg, find_in_program(c, e->str)->name_span, "'%s' is defined here", e->str);
        } else {
            Decl *later = find_in_program(c, e->str);
            if (later && (later->kind == DECL_ACT || later->kind == DECL_GATE)) {
                Diagnostic *dg = diag_error(c->d, e->name_span, "'%s' is used before its definition", e->str);
                diag_note(c->d, dg, later->name_span, "'%s' is defined here", e->str);
            } else {
                const char *hint = suggest_name(c, env, e->str, false);
                if (hint)
                    diag_error(c->d, e->name_span, "unknown function '%s'; did you mean '%s'?", e->str, hint);
                else
                    diag_error(c->d, e->name_span, "unknown function '%s'", e->str);
            }
        }
        for (int i = 0; i < e->nargs; i++) /* still resolve names inside */
            check_expr(c, env, e->args[i].value);
        return ty_error;
    }
    e->callee = (Callee){bi, user};
    Sig sig;
    if (bi) {
        sig = sig_builtin(bi);
    } else {
        sig = (Sig){.name = user->name, .ninputs = user->ninputs_elem, .user = user};
        sig.nparams = user->nparams - user->ninputs_elem;
        if (sig.nparams > 8)
            sig.nparams = 8;
        for (int j = 0; j < sig.nparams; j++) {
            sig.pnames[j] = user->params[user->ninputs_elem + j].name;
            sig.required[j] = user->params[user->ninputs_elem + j].dflt == NULL;
        }
    }

    /* Structural builtins are not elementwise: not allowed inside bodies. */
    if (bi && env->func && (bi->learned || bi->kind == BK_ROW || bi->kind == BK_SPLIT || bi->kind == BK_LAYER)) {
        Diagnostic *dg = diag_error(c->d, e->span, "'%s' cannot be used inside %s: %s bodies are elementwise",
                                    bi->name, env->func->kind == DECL_ACT ? "an activation" : "a gate",
                                    env->func->kind == DECL_ACT ? "activation" : "gate");
        diag_note(c->d, dg, env->func->name_span, "in the body of '%s'", env->func->name);
        return ty_error;
    }

    /* A split(...) passed straight to a function: say so before arity. */
    for (int i = 0; i < e->nargs; i++) {
        Expr *v = e->args[i].value;
        if (v->kind == EX_CALL && strcmp(v->str, "split") == 0 && !lookup_decl(c, "split")) {
            for (int j = 0; j < e->nargs; j++)
                check_expr(c, env, e->args[j].value);
            diag_error(c->d, v->span, "split(...) produces several tensors; bind them first, e.g. 'g, u = split(...)'");
            return ty_error;
        }
    }

    /* glu(t) is the one-operand form of glu(a, b). */
    int ninputs_used = sig.ninputs;
    if (bi && bi->id == BI_GLU) {
        int npos = 0;
        for (int i = 0; i < e->nargs && !e->args[i].name; i++)
            npos++;
        if (npos == 1)
            ninputs_used = 1;
    }
    if (!bind_args(c, e, &sig, ninputs_used)) {
        for (int i = 0; i < e->nargs; i++)
            check_expr(c, env, e->args[i].value);
        return ty_error;
    }

    /* Operands. */
    Type in[3] = {ty_error, ty_error, ty_error};
    bool ok = true;
    for (int i = 0; i < ninputs_used; i++) {
        Expr *v = e->bound[i]->value;
        in[i] = check_expr(c, env, v);
        if (bi && bi->id == BI_WHERE && i == 0) {
            if (in[0].kind == TY_ERROR)
                ok = false;
            continue;
        }
        if (!arith_operand(c, env, v, in[i], sig.name))
            ok = false;
        else if (in[i].kind == TY_NUM && bi && (bi->kind == BK_ROW || bi->kind == BK_LAYER || bi->kind == BK_SPLIT ||
                                                  bi->learned || (bi->id == BI_GLU && ninputs_used == 1))) {
            diag_error(c->d, v->span, "the operand of '%s' must be a tensor, got a number", bi->name);
            ok = false;
        }
    }

    /* Constant parameters, with defaults filled in. */
    e->consts = NEW_ARRAY(&c->s->perm, double, (size_t)sig.nparams + 1);
    bool all_known = true; /* inside a body, a parameter's value is known per call only */
    for (int j = 0; j < sig.nparams; j++) {
        Arg *a = e->bound[sig.ninputs + j];
        if (!a) {
            if (bi)
                e->consts[j] = bi->params[j].dflt;
            else
                e->consts[j] = user->params[user->ninputs_elem + j].type.value;
            continue;
        }
        Type t = check_expr(c, env, a->value);
        if (!check_const_arg(c, env, &sig, j, a, t))
            ok = false;
        else
            e->consts[j] = t.value;
        if (t.kind == TY_NUM && !t.known)
            all_known = false;
    }
    /* Name learned layers even when an operand is wrong: the name rule is
     * independent and worth reporting in the same run. */
    if (bi && bi->learned && env->model && !name_layer(c, env, e, &sig))
        ok = false;
    if (!ok)
        return ty_error;
    if (bi && all_known && !check_param_values(c, e, bi))
        return ty_error;
    if (user && env->model)
        instance_at(c, e, user);

    if (user) {
        if (user->kind == DECL_GATE && in[0].kind == TY_TENSOR && in[1].kind == TY_TENSOR &&
            in[0].n >= 0 && in[1].n >= 0 && in[0].n != in[1].n) {
            Diagnostic *dg = diag_error(c->d, e->span, "operands of gate '%s' must have the same shape: %s and %s",
                                        user->name, ty_str(c, env, in[0]), ty_str(c, env, in[1]));
            diag_note(c->d, dg, user->name_span, "'%s' is defined here", user->name);
            return ty_error;
        }
        Type r = user->kind == DECL_GATE ? broadcast(c, env, e->span, user->name, in[0], in[1]) : in[0];
        return r.kind == TY_NUM ? (Type){.kind = TY_NUM} : r;
    }
    /* gelu(x, approximate = "tanh") is gelu_tanh. */
    if (bi->id == BI_GELU && e->bound[1] && strcmp(e->bound[1]->value->str, "tanh") == 0)
        e->callee.builtin = builtin_get(BI_GELU_TANH);
    return builtin_result(c, env, e, bi, in, ninputs_used);
}

/* ---- declarations ---- */

static void check_redefinition(Checker *c, Decl *d) {
    Decl *prev = lookup_decl(c, d->name);
    if (prev) {
        Diagnostic *dg = diag_error(c->d, d->name_span, "redefinition of '%s'", d->name);
        diag_note(c->d, dg, prev->name_span, "previous definition is here");
        return;
    }
    const Builtin *bi = builtin_find(d->name);
    if (bi && d->kind != DECL_MODEL) {
        Diagnostic *dg = diag_error(c->d, d->name_span, "'%s' is the name of a builtin %s", d->name,
                                    builtin_kind_name(bi->kind));
        diag_note(c->d, dg, d->name_span, "builtin names cannot be redefined; choose another name, e.g. 'my_%s'",
                  d->name);
    }
}

static void check_const(Checker *c, Decl *d) {
    Env env = {.scope = &c->file};
    Type t = check_expr(c, &env, d->value);
    if (t.kind == TY_NUM && t.known) {
        d->const_value = t;
        return;
    }
    if (t.kind == TY_NUM)
        diag_error(c->d, d->value->span, "the value of constant '%s' must be computable at compile time "
                   "(numbers, other constants and + - * /)", d->name);
    else if (t.kind != TY_ERROR)
        diag_error(c->d, d->value->span, "the value of constant '%s' must be a number, got %s", d->name,
                   ty_str(c, NULL, t));
    d->const_value = (Type){.kind = TY_NUM, .known = true, .is_int = true, .value = 1};
}

static void check_func(Checker *c, Decl *d) {
    int nelem = d->kind == DECL_ACT ? 1 : 2;
    const char *what = d->kind == DECL_ACT ? "an activation" : "a gate";
    d->ninputs_elem = nelem;
    if (d->nparams < nelem) {
        diag_error(c->d, d->name_span, "%s takes %s; '%s' has %d parameter%s", what,
                   nelem == 1 ? "its input as the first parameter" : "two operands (a, b) as its first parameters",
                   d->name, d->nparams, d->nparams == 1 ? "" : "s");
        d->ninputs_elem = d->nparams;
        return;
    }
    if (d->nparams - nelem > 8) {
        diag_error(c->d, d->params[nelem + 8].span, "too many parameters (the limit is 8 constants)");
        return;
    }
    bool seen_default = false;
    for (int i = 0; i < d->nparams; i++) {
        Param *p = &d->params[i];
        for (int j = 0; j < i; j++)
            if (strcmp(d->params[j].name, p->name) == 0) {
                Diagnostic *dg = diag_error(c->d, p->span, "duplicate parameter '%s'", p->name);
                diag_note(c->d, dg, d->params[j].span, "previous parameter is here");
            }
        if (i < nelem) {
            if (p->dflt)
                diag_error(c->d, p->dflt->span, "operand '%s' of %s cannot have a default value", p->name, what);
            continue;
        }
        if (p->dflt) {
            Env env = {.scope = &c->file};
            Type t = check_expr(c, &env, p->dflt);
            if (t.kind == TY_NUM && t.known)
                p->type = t;
            else if (t.kind != TY_ERROR)
                diag_error(c->d, p->dflt->span, "default of parameter '%s' must be a constant number", p->name);
            seen_default = true;
        } else if (seen_default) {
            diag_error(c->d, p->span, "parameter '%s' without a default follows a parameter with one", p->name);
        }
    }
    Scope fs = {.up = &c->file, .owner = d};
    for (int i = 0; i < d->nparams; i++)
        scope_add(&c->s->perm, &fs, (Symbol){.name = d->params[i].name, .kind = SYM_PARAM, .param = i});
    Env env = {.scope = &fs, .func = d};
    Type t = check_expr(c, &env, d->value);
    if (t.kind == TY_COND)
        diag_error(c->d, d->value->span, "the body of '%s' is a comparison; use where(cond, a, b)", d->name);
    else if (t.kind == TY_STR || t.kind == TY_BOOL)
        diag_error(c->d, d->value->span, "the body of '%s' must be an expression over its operands", d->name);
    else if (t.kind == TY_NUM)
        diag_warning(c->d, d->value->span, "the body of '%s' does not depend on its operand%s", d->name,
                     nelem == 1 ? "" : "s");
}

/* ---- models ---- */

static bool check_dim(Checker *c, Env *env, Expr *e, int64_t *out) {
    Type t = check_expr(c, env, e);
    if (t.kind == TY_ERROR)
        return false;
    if (t.kind != TY_NUM || !t.known) {
        diag_error(c->d, e->span, "a dimension must be a constant integer");
        return false;
    }
    if (!t.is_int) {
        if (t.inexact)
            diag_error(c->d, e->span, "a dimension must be an integer; this division does not divide exactly (%g)",
                       t.value);
        else
            diag_error(c->d, e->span, "a dimension must be an integer, got %g", t.value);
        return false;
    }
    if (t.value <= 0 || t.value > MAX_DIM) {
        diag_error(c->d, e->span, "a dimension must be between 1 and %d, got %.0f", MAX_DIM, t.value);
        return false;
    }
    *out = (int64_t)t.value;
    return true;
}

/* language.md §3.1: f32[batch, n]; all ports share one batch dimension. */
static bool check_port_type(Checker *c, Decl *m, Port *port, Span *batch_span, bool *have_batch) {
    TypeExpr *t = port->type;
    Env env = {.scope = &c->file};
    if (strcmp(t->elem, "f32") != 0) {
        diag_error(c->d, t->elem_span, "unsupported element type '%s'; tensors are f32", t->elem);
        return false;
    }
    if (t->ndims != 2) {
        diag_error(c->d, t->span, "tensors are two-dimensional, f32[batch, features]; this one has %d dimension%s",
                   t->ndims, t->ndims == 1 ? "" : "s");
        return false;
    }
    Expr *b = t->dims[0];
    const char *bname = NULL;
    int64_t bval = 0;
    if (b->kind == EX_NAME && !lookup_decl(c, b->str)) {
        bname = b->str;
        b->type = (Type){.kind = TY_NUM};
    } else if (!check_dim(c, &env, b, &bval)) {
        return false;
    }
    if (!*have_batch) {
        *have_batch = true;
        *batch_span = b->span;
        m->batch_name = bname;
        m->batch_value = bval;
    } else if ((bname == NULL) != (m->batch_name == NULL) || (bname && strcmp(bname, m->batch_name) != 0) ||
               (!bname && bval != m->batch_value)) {
        Diagnostic *dg = diag_error(c->d, b->span, "all inputs and outputs must share one batch dimension");
        diag_note(c->d, dg, *batch_span, "the batch dimension is first given here");
        return false;
    }
    t->batch = bname;
    t->batch_value = bval;
    Expr *f = t->dims[1];
    if (f->kind == EX_NAME && !lookup_decl(c, f->str)) {
        Diagnostic *dg = diag_error(c->d, f->span, "use of undeclared identifier '%s'", f->str);
        diag_note(c->d, dg, f->span, "only the first (batch) dimension may be a name; the feature dimension "
                                     "must be a constant");
        return false;
    }
    return check_dim(c, &env, f, &t->n);
}

static bool reserved_name(Checker *c, Span sp, const char *name) {
    Decl *g = lookup_decl(c, name);
    if (g && g->kind != DECL_MODEL) {
        Diagnostic *dg = diag_error(c->d, sp, "'%s' is already defined as %s", name,
                                    g->kind == DECL_CONST ? "a constant" : g->kind == DECL_ACT ? "an activation" : "a gate");
        diag_note(c->d, dg, g->name_span, "'%s' is defined here", name);
        return true;
    }
    const Builtin *bi = builtin_find(name);
    if (bi) {
        diag_error(c->d, sp, "'%s' is the name of a builtin %s; choose another name", name, builtin_kind_name(bi->kind));
        return true;
    }
    return false;
}

/* Bind `name` in model scope ms (language.md §3.4: single assignment). */
static Binding *bind(Checker *c, Scope *ms, const char *name, Span sp, int64_t n, bool is_input, int index,
                     Stmt *st) {
    Decl *m = ms->owner;
    const Symbol *sym = scope_lookup_here(ms, name);
    Binding *prev = sym ? sym->binding : NULL;
    if (prev) {
        Diagnostic *dg = diag_error(c->d, sp, "redefinition of '%s'", name);
        diag_note(c->d, dg, prev->span, "previous definition is here");
        return NULL;
    }
    bool reserved = reserved_name(c, sp, name);
    Binding *b = NEW(&c->s->perm, Binding);
    *b = (Binding){.name = name, .span = sp, .n = n, .is_input = is_input, .index = index, .stmt = st,
                   .index_in_model = m->nbindings};
    if (reserved) { /* keep it, so that uses are not reported again */
        b->error = true;
        b->uses = 1;
    }
    for (int i = 0; i < c->nearly; i++)
        if (strcmp(c->early[i], name) == 0)
            b->uses++;
    VEC_PUSH(&c->s->perm, m->bindings, m->nbindings, m->capbindings, b);
    scope_add(&c->s->perm, ms, (Symbol){.name = name, .kind = SYM_BINDING, .binding = b});
    return b;
}

static void check_assign(Checker *c, Scope *ms, Stmt *st) {
    Expr *v = st->values[0];
    Env env = {.scope = ms, .model = ms->owner};
    if (st->ntargets == 1 && v->kind == EX_CALL) {
        env.outer = v;
        env.outer_name = st->targets[0].name;
    }
    Type t = check_expr(c, &env, v);
    int64_t n = t.kind == TY_TENSOR || t.kind == TY_TUPLE ? t.n : 1;
    bool bad = t.kind != TY_TENSOR && t.kind != TY_TUPLE;
    if (t.kind == TY_TUPLE && st->ntargets != t.count) {
        diag_error(c->d, st->span, "the right side produces %d tensors but %d name%s bound", t.count,
                   st->ntargets, st->ntargets == 1 ? " is" : "s are");
    } else if (t.kind == TY_TENSOR && st->ntargets != 1) {
        diag_error(c->d, st->span, "cannot bind one tensor to %d names", st->ntargets);
    } else if (t.kind == TY_NUM) {
        diag_error(c->d, v->span, "only tensors can be bound in a model; use 'const %s = ...' for a number",
                   st->targets[0].name);
    } else if (t.kind != TY_TENSOR && t.kind != TY_TUPLE && t.kind != TY_ERROR) {
        arith_operand(c, &env, v, t, "=");
    }
    /* Bind even after errors, so later uses do not cascade. */
    for (int i = 0; i < st->ntargets; i++) {
        Binding *b = bind(c, ms, st->targets[i].name, st->targets[i].span, n, false, i, st);
        if (b && bad) {
            b->error = true;
            b->uses = 1; /* its error was reported: no "never used" on top */
        }
    }
}

static void check_return(Checker *c, Scope *ms, Stmt *st) {
    Decl *m = ms->owner;
    m->returns = st->values;
    if (st->nvalues != m->noutputs) {
        Diagnostic *dg = diag_error(c->d, st->span, "model '%s' returns %d value%s but declares %d output%s", m->name,
                                    st->nvalues, st->nvalues == 1 ? "" : "s", m->noutputs, m->noutputs == 1 ? "" : "s");
        diag_note(c->d, dg, m->outputs_span, "outputs are declared here");
    }
    for (int i = 0; i < st->nvalues; i++) {
        Env env = {.scope = ms, .model = m};
        Type t = check_expr(c, &env, st->values[i]);
        if (t.kind == TY_ERROR || i >= m->noutputs)
            continue;
        Port *o = &m->outputs[i];
        if (t.kind != TY_TENSOR) {
            if (arith_operand(c, &env, st->values[i], t, "return"))
                diag_error(c->d, st->values[i]->span, "output '%s' must be a tensor, got %s", o->name, ty_str(c, &env, t));
        } else if (o->type->n > 0 && t.n != o->type->n) {
            Diagnostic *dg = diag_error(c->d, st->values[i]->span, "output '%s' is declared %s but the value returned is %s",
                                        o->name, ty_str(c, &env, ty_tensor(o->type->n)), ty_str(c, &env, t));
            diag_note(c->d, dg, o->type->span, "declared here");
        }
    }
}

static void check_model(Checker *c, Decl *m) {
    Scope ms = {.up = &c->file, .owner = m};
    Span batch_span = {0};
    bool have_batch = false;
    for (int i = 0; i < m->ninputs; i++) {
        Port *p = &m->inputs[i];
        bool ok = check_port_type(c, m, p, &batch_span, &have_batch);
        Binding *b = bind(c, &ms, p->name, p->span, p->type->n > 0 ? p->type->n : 1, true, i, NULL);
        if (b && !ok) {
            b->error = true; /* uses stay silent */
            b->uses = 1;
        }
    }
    for (int i = 0; i < m->noutputs; i++) {
        Port *o = &m->outputs[i];
        check_port_type(c, m, o, &batch_span, &have_batch);
        for (int j = 0; j < i; j++)
            if (strcmp(m->outputs[j].name, o->name) == 0) {
                Diagnostic *dg = diag_error(c->d, o->span, "duplicate output name '%s'", o->name);
                diag_note(c->d, dg, m->outputs[j].span, "previous output is here");
            }
        for (int j = 0; j < m->ninputs; j++)
            if (strcmp(m->inputs[j].name, o->name) == 0) {
                Diagnostic *dg = diag_error(c->d, o->span, "output '%s' has the same name as an input", o->name);
                diag_note(c->d, dg, m->inputs[j].span, "input declared here");
            }
    }
    bool returned = false;
    for (int i = 0; i < m->nstmts && !diag_full(c->d); i++) {
        Stmt *st = m->stmts[i];
        if (returned) {
            diag_error(c->d, st->span, "statement after 'return'");
            break;
        }
        if (st->kind == ST_ASSIGN) {
            check_assign(c, &ms, st);
        } else {
            check_return(c, &ms, st);
            returned = true;
        }
    }
    if (!returned) {
        diag_error(c->d, m->name_span, "model '%s' has no return statement", m->name);
        return;
    }
    for (int i = 0; i < m->nbindings; i++) {
        Binding *b = m->bindings[i];
        if (b->uses == 0)
            diag_warning(c->d, b->span, b->is_input ? "input '%s' is never used" : "'%s' is assigned but never used",
                         b->name);
    }
}

Decl *program_find_model(const Program *prog, const char *name) {
    Decl *only = NULL;
    int n = 0;
    for (int i = 0; i < prog->ndecls; i++) {
        Decl *d = prog->decls[i];
        if (d->kind != DECL_MODEL)
            continue;
        if (name && strcmp(d->name, name) == 0)
            return d;
        only = d;
        n++;
    }
    return !name && n == 1 ? only : NULL;
}

bool check_program(Session *s, Program *prog) {
    Checker c = {.s = s, .d = &s->diag, .prog = prog};
    int before = s->diag.nerrors;
    int nmodels = 0;
    for (c.cur = 0; c.cur < prog->ndecls && !diag_full(c.d); c.cur++) {
        Decl *d = prog->decls[c.cur];
        int before_decl = s->diag.nerrors;
        check_redefinition(&c, d);
        switch (d->kind) {
        case DECL_CONST: check_const(&c, d); break;
        case DECL_ACT:
        case DECL_GATE: check_func(&c, d); break;
        case DECL_MODEL:
            check_model(&c, d);
            nmodels++;
            break;
        }
        d->checked = true;
        d->ok = s->diag.nerrors == before_decl;
        if (d->name)
            scope_add(&s->perm, &c.file, (Symbol){.name = d->name, .kind = SYM_DECL, .decl = d});
    }
    if (diag_full(c.d))
        c.d->too_many = true; /* the rest of the program was not checked */
    if (nmodels == 0 && s->diag.nerrors == before)
        diag_warning(c.d, (Span){prog->file, 0, 0}, "no model in this file");
    return s->diag.nerrors == before;
}
