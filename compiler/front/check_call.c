/*
 * check_call.c — calls (docs/language.md §4.5, §3.5): resolve the callee
 * (a builtin from builtins.def or an earlier user function), bind the
 * arguments to the callee's operands and parameters (Expr.bound), check
 * each constant argument (Expr.consts, defaults filled in), then hand the
 * builtin-specific rules to check_rules.c and a user call's instance to
 * check_instance.c.
 */
#include <string.h>

#include "check.h"

/* ---- calls ---- */

static Sig sig_builtin(const Builtin *b) {
    Sig s = {.name = b->name, .ninputs = b->ninputs, .nparams = b->nparams, .bi = b};
    for (int i = 0; i < b->nparams; i++) {
        s.pnames[i] = b->params[i].name;
        s.required[i] = b->params[i].required;
    }
    return s;
}

const char *sig_str(Checker *c, const Sig *s) {
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

/* language.md §4.5: no function is called e->str; say what the name is. */
static void unknown_callee(Checker *c, Env *env, Expr *e) {
    if (env->func && strcmp(env->func->name, e->str) == 0) {
        diag_error(c->d, e->name_span, "%s '%s' calls itself; recursion is not allowed",
                   env->func->kind == DECL_ACT ? "activation" : "gate", e->str);
    } else if (env->model && lookup_binding(env, e->str)) {
        Binding *b = lookup_binding(env, e->str);
        b->uses++;
        if (b->error) /* its value was reported (fc = nn.Linear(...); fc(x)): nothing to add */
            return;
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
        if (later && (later->kind == DECL_ACT || later->kind == DECL_GATE || later->kind == DECL_BLOCK)) {
            Diagnostic *dg = diag_error(c->d, e->name_span, "'%s' is used before its definition", e->str);
            diag_note(c->d, dg, later->name_span, "'%s' is defined here", e->str);
        } else {
            const char *hint = suggest_name(env, e->str, false);
            if (hint)
                diag_error(c->d, e->name_span, "unknown function '%s'; did you mean '%s'?", e->str, hint);
            else
                diag_error(c->d, e->name_span, "unknown function '%s'", e->str);
        }
    }
}

/* language.md §10: F.gelu(x), torch.sigmoid(x), nn.Linear(...).  True when
 * the prefix was dropped (the fix is certain) and the call is checked on. */
static bool qualified_callee(Checker *c, Env *env, Expr *e) {
    const char *base = habit_base_name(e->str);
    Decl *d = lookup_decl(c, base);
    bool known = builtin_find(base) || (d && (d->kind == DECL_ACT || d->kind == DECL_GATE || d->kind == DECL_BLOCK));
    return habit_qualified(c->s, e, known, known ? NULL : suggest_name(env, base, false));
}

static Sig sig_user(Decl *user) {
    Sig sig = {.name = user->name, .ninputs = user->ninputs_elem, .user = user};
    sig.nparams = user->nparams - user->ninputs_elem;
    if (sig.nparams > 8)
        sig.nparams = 8;
    for (int j = 0; j < sig.nparams; j++) {
        sig.pnames[j] = user->params[user->ninputs_elem + j].name;
        sig.required[j] = user->params[user->ninputs_elem + j].dflt == NULL;
    }
    return sig;
}

/* The operands of call e (the first ninputs_used slots) into in[]; false if
 * one is wrong (reported). */
static bool check_operands(Checker *c, Env *env, Expr *e, const Sig *sig, int ninputs_used, Type *in) {
    const Builtin *bi = sig->bi;
    bool ok = true;
    for (int i = 0; i < ninputs_used; i++) {
        Expr *v = e->bound[i]->value;
        in[i] = check_expr(c, env, v);
        if (bi && bi->id == BI_WHERE && i == 0) {
            if (in[0].kind == TY_ERROR)
                ok = false;
            continue;
        }
        if (!arith_operand(c, env, v, in[i], sig->name))
            ok = false;
        else if (in[i].kind == TY_NUM && bi && (bi->kind == BK_ROW || bi->kind == BK_LAYER || bi->kind == BK_SPLIT ||
                                                  bi->learned || (bi->id == BI_GLU && ninputs_used == 1))) {
            diag_error(c->d, v->span, "the operand of '%s' must be a tensor, got a number", bi->name);
            ok = false;
        }
    }
    return ok;
}

/* language.md §10: Python's None given for constant parameter j (bias =
 * None, eps = None), reported with what to write for that parameter. */
static bool none_argument(Checker *c, Env *env, const Sig *sig, int j, const Arg *a) {
    const Expr *v = a->value;
    if (v->kind != EX_NAME || strcmp(v->str, "None") != 0 || scope_lookup(env->scope, v->str) ||
        lookup_decl(c, v->str))
        return false;
    BuiltinParam up;
    const BuiltinParam *bp = &up;
    if (sig->bi) {
        bp = &sig->bi->params[j];
    } else {
        const Param *pr = &sig->user->params[sig->user->ninputs_elem + j];
        up = (BuiltinParam){pr->name, PT_NUM, !pr->dflt, pr->type.value, NULL};
    }
    return habit_none(c->s, v, bp);
}

/* The constant parameters of call e into e->consts, defaults filled in;
 * *all_known is false when one is known per call only (a parameter of the
 * enclosing function).  False if one is wrong (reported). */
static bool check_consts(Checker *c, Env *env, Expr *e, const Sig *sig, bool *all_known) {
    bool ok = true;
    e->consts = NEW_ARRAY(&c->s->perm, double, (size_t)sig->nparams + 1);
    *all_known = true;
    for (int j = 0; j < sig->nparams; j++) {
        Arg *a = e->bound[sig->ninputs + j];
        if (!a) {
            if (sig->bi)
                e->consts[j] = sig->bi->params[j].dflt;
            else
                e->consts[j] = sig->user->params[sig->user->ninputs_elem + j].type.value;
            continue;
        }
        if (none_argument(c, env, sig, j, a)) {
            ok = false;
            continue;
        }
        Type t = check_expr(c, env, a->value);
        if (!check_const_arg(c, env, sig, j, a, t))
            ok = false;
        else
            e->consts[j] = t.value;
        if (t.kind == TY_NUM && !t.known)
            *all_known = false;
    }
    return ok;
}

/* Type of a call of user function `user` with operands in[]. */
static Type user_result(Checker *c, Env *env, Expr *e, Decl *user, const Type *in) {
    if (user->kind == DECL_GATE && in[0].kind == TY_TENSOR && in[1].kind == TY_TENSOR &&
        ty_width(in[0]) >= 0 && ty_width(in[1]) >= 0 && ty_width(in[0]) != ty_width(in[1])) {
        Diagnostic *dg = diag_error(c->d, e->span, "operands of gate '%s' must have the same shape: %s and %s",
                                    user->name, ty_str(c, env, in[0]), ty_str(c, env, in[1]));
        diag_note(c->d, dg, user->name_span, "'%s' is defined here", user->name);
        note_width_origins(c, env, dg, e->bound[0]->value, in[0], e->bound[1]->value, in[1]);
        return ty_error;
    }
    Type r = user->kind == DECL_GATE ? broadcast(c, env, e->span, user->name, in[0], in[1]) : in[0];
    return r.kind == TY_NUM ? (Type){.kind = TY_NUM} : r;
}

/* language.md §4.5: check call e (any callee) and give its type. */
Type check_call(Checker *c, Env *env, Expr *e) {
    if (env->func)
        e->call_index = env->func->ncalls++;
    if (habit_is_qualified(e->str) && !qualified_callee(c, env, e)) {
        for (int i = 0; i < e->nargs; i++) /* still resolve names inside */
            check_expr(c, env, e->args[i].value);
        return ty_error;
    }
    /* Resolve the callee. */
    Decl *user = lookup_decl(c, e->str);
    if (user && user->kind == DECL_BLOCK)
        return check_block_call(c, env, e, user);
    if (user && user->kind != DECL_ACT && user->kind != DECL_GATE)
        user = NULL;
    const Builtin *bi = user ? NULL : builtin_find(e->str);
    if (!user && !bi) {
        unknown_callee(c, env, e);
        for (int i = 0; i < e->nargs; i++) /* still resolve names inside */
            check_expr(c, env, e->args[i].value);
        return ty_error;
    }
    e->callee = (Callee){bi, user};
    Sig sig = bi ? sig_builtin(bi) : sig_user(user);

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

    Type in[3] = {ty_error, ty_error, ty_error};
    bool all_known;
    bool ok = check_operands(c, env, e, &sig, ninputs_used, in);
    ok = check_consts(c, env, e, &sig, &all_known) && ok;
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

    if (user)
        return user_result(c, env, e, user, in);
    /* gelu(x, approximate = "tanh") is gelu_tanh. */
    if (bi->id == BI_GELU && e->bound[1] && strcmp(e->bound[1]->value->str, "tanh") == 0)
        e->callee.builtin = builtin_get(BI_GELU_TANH);
    return builtin_result(c, env, e, bi, in, ninputs_used);
}
