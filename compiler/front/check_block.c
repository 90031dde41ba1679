/*
 * check_block.c — reusable blocks (docs/language.md §3.7).  A block is
 * defined once:
 *     block swiglu_mlp(x: f32[batch, D], H = 5632) -> f32[batch, D] { ... }
 * and every call of it in a model is elaborated while the model is checked,
 * as loops are (check_loop.c): the call's arguments become bindings of the
 * block's tensor parameters, its constants are constants of a scope of its
 * own, whose layer-name prefix is the call's name (layers inside are
 * <instance>.<inner name>), and a copy of the body is checked there and
 * joins the model's flat statement list; the call itself becomes a
 * reference to the binding of the value the block returns.  So lowering,
 * fusion (across the block's boundary) and the report see the model as if
 * the body were written out.
 */
#include <string.h>

#include "check.h"

/* ---- the definition ---- */

/* Parameter k of block b, tensors first, then constants. */
static const char *param_name(const Decl *b, int k, Span *sp) {
    *sp = k < b->ninputs ? b->inputs[k].span : b->params[k - b->ninputs].span;
    return k < b->ninputs ? b->inputs[k].name : b->params[k - b->ninputs].name;
}

void check_block_decl(Checker *c, Decl *b) {
    Env env = {.scope = &c->file};
    for (int k = 0; k < b->ninputs + b->nparams; k++) {
        Span sp, prev;
        const char *name = param_name(b, k, &sp);
        for (int j = 0; j < k; j++)
            if (strcmp(param_name(b, j, &prev), name) == 0) {
                Diagnostic *dg = diag_error(c->d, sp, "duplicate parameter '%s'", name);
                diag_note(c->d, dg, prev, "previous parameter is here");
            }
    }
    for (int i = 0; i < b->nparams; i++) {
        Param *p = &b->params[i];
        Type t = check_expr(c, &env, p->dflt);
        if (t.kind == TY_ERROR)
            continue;
        if (t.kind != TY_NUM || !t.known) {
            diag_error(c->d, p->dflt->span, "the default of the block's constant '%s' must be a constant number",
                       p->name);
            continue;
        }
        p->type = t;
    }
    if (b->ninputs == 0)
        diag_error(c->d, b->name_span, "block '%s' has no tensor parameter", b->name);
}

/* ---- calls ---- */

/* Whether the block's body (or a block it calls) has learned parameters. */
static bool block_has_layers(Checker *c, const Decl *b, int depth);

static bool expr_has_layers(Checker *c, const Expr *e, int depth) {
    if (!e)
        return false;
    if (e->kind == EX_CALL) {
        const Builtin *bi = builtin_find(e->str);
        Decl *d = lookup_decl(c, e->str);
        if ((bi && bi->learned) || (d && d->kind == DECL_BLOCK && block_has_layers(c, d, depth + 1)))
            return true;
        for (int i = 0; i < e->nargs; i++)
            if (expr_has_layers(c, e->args[i].value, depth))
                return true;
        return false;
    }
    return expr_has_layers(c, e->lhs, depth) || expr_has_layers(c, e->rhs, depth);
}

static bool stmts_have_layers(Checker *c, Stmt *const *st, int n, int depth) {
    for (int i = 0; i < n; i++) {
        if (st[i]->kind == ST_FOR && stmts_have_layers(c, st[i]->body, st[i]->nbody, depth))
            return true;
        for (int j = 0; j < st[i]->nvalues; j++)
            if (expr_has_layers(c, st[i]->values[j], depth))
                return true;
    }
    return false;
}

static bool block_has_layers(Checker *c, const Decl *b, int depth) {
    return depth < 64 && stmts_have_layers(c, b->stmts, b->nstmts, depth);
}

/* A hidden binding of the model for value e (shape): the statement
 * `name = e` joins the flat list; bindings and statements stay in order. */
Binding *hoist(Checker *c, Decl *m, const char *name, Expr *e, Shape shape) {
    Stmt *st = NEW(&c->s->perm, Stmt);
    *st = (Stmt){.kind = ST_ASSIGN, .span = e->span, .calls = c->blocks ? c->blocks->chain : NULL};
    VEC_PUSH(&c->s->perm, st->targets, st->ntargets, st->captargets, ((Name){name, e->span}));
    VEC_PUSH(&c->s->perm, st->values, st->nvalues, st->capvalues, e);
    Binding *b = NEW(&c->s->perm, Binding);
    *b = (Binding){.name = name, .span = e->span, .shape = shape, .stmt = st, .index_in_model = m->nbindings,
                   .uses = 1};
    VEC_PUSH(&c->s->perm, m->bindings, m->nbindings, m->capbindings, b);
    VEC_PUSH(&c->s->perm, m->flat, m->nflat, m->capflat, st);
    return b;
}

/* The feature width of a block's port type in scope s (the block's
 * constants visible), or -1 after an error (reported). */
static int64_t port_width(Checker *c, Scope *s, const Port *p) {
    TypeExpr *t = p->type;
    if (!check_tensor_form(c, t))
        return -1;
    if (t->dims[0]->kind != EX_NAME || scope_lookup(s, t->dims[0]->str)) {
        diag_error(c->d, t->dims[0]->span, "a block's tensors have the caller's batch: write a name such as "
                   "'batch' as the first dimension");
        return -1;
    }
    Env env = {.scope = s};
    Type w = check_expr(c, &env, t->dims[1]);
    if (w.kind == TY_ERROR)
        return -1;
    if (w.kind != TY_NUM || !w.known || !w.is_int || w.value <= 0 || w.value > MAX_DIM) {
        diag_error(c->d, t->dims[1]->span, "a dimension must be an integer between 1 and %d", MAX_DIM);
        return -1;
    }
    return (int64_t)w.value;
}

/* The enclosing scopes' layer-name prefix, or NULL. */
static const char *prefix_of(const Scope *s) {
    for (; s; s = s->up)
        if (s->prefix)
            return s->prefix;
    return NULL;
}

/* The block's return: each value's binding (hoisted unless it is one). */
void check_block_return(Checker *c, Scope *s, Stmt *st) {
    BlockCall *bc = c->blocks;
    Decl *b = bc->blk, *m = s->owner;
    if (st->nvalues != b->noutputs) {
        Diagnostic *dg = diag_error(c->d, st->span, "block '%s' returns %d value%s but declares %d output%s", b->name,
                                    st->nvalues, st->nvalues == 1 ? "" : "s", b->noutputs, b->noutputs == 1 ? "" : "s");
        diag_note(c->d, dg, b->outputs_span, "outputs are declared here");
        return;
    }
    bc->results = NEW_ARRAY(&c->s->perm, Binding *, (size_t)st->nvalues);
    for (int i = 0; i < st->nvalues; i++) {
        Expr *v = st->values[i];
        Env env = {.scope = s, .model = m};
        Type t = check_expr(c, &env, v);
        if (t.kind == TY_ERROR)
            return;
        if (t.kind != TY_TENSOR) {
            diag_error(c->d, v->span, "output '%s' of block '%s' must be a tensor, got %s", b->outputs[i].name,
                       b->name, ty_str(c, &env, t));
            return;
        }
        int64_t want = port_width(c, s, &b->outputs[i]);
        if (want < 0)
            return;
        if (ty_width(t) != want) {
            Diagnostic *dg = diag_error(c->d, v->span, "output '%s' of block '%s' is declared %s but the value "
                                        "returned is %s", b->outputs[i].name, b->name,
                                        ty_str(c, &env, ty_tensor(want)), ty_str(c, &env, t));
            diag_note(c->d, dg, b->outputs[i].type->span, "declared here");
            return;
        }
        bc->results[i] = v->kind == EX_NAME && v->ref
                             ? v->ref
                             : hoist(c, m, arena_printf(&c->s->perm, "%s.%s", bc->inst ? bc->inst : b->name,
                                                        b->outputs[i].name), v, t.shape);
    }
    bc->nresults = st->nvalues;
}

Type check_block_call(Checker *c, Env *env, Expr *e, Decl *b) {
    Decl *m = env->model;
    if (!m || env->func) {
        diag_error(c->d, e->span, "block '%s' can be called in a model or a block, not here", b->name);
        return ty_error;
    }
    if (!b->ok) { /* its definition had errors (reported) */
        for (int i = 0; i < e->nargs; i++)
            check_expr(c, env, e->args[i].value);
        return ty_error;
    }
    for (BlockCall *up = c->blocks; up; up = up->up)
        if (up->blk == b) {
            Diagnostic *dg = diag_error(c->d, e->span, "block '%s' calls itself%s%s%s; recursion is not allowed",
                                        b->name, c->blocks->blk != b ? " through '" : "",
                                        c->blocks->blk != b ? c->blocks->blk->name : "", c->blocks->blk != b ? "'" : "");
            for (BlockCall *k = c->blocks; k; k = k->up) {
                diag_note(c->d, dg, k->call, "in this call of '%s'", k->blk->name);
                if (k == up)
                    break;
            }
            return ty_error;
        }
    /* the arguments: tensors first (positional or by name), then constants and name, by name */
    Arg **tens = NEW_ARRAY(&c->s->perm, Arg *, (size_t)b->ninputs + 1);
    Arg **consts = NEW_ARRAY(&c->s->perm, Arg *, (size_t)b->nparams + 1);
    Arg *name_arg = NULL;
    bool ok = true;
    int pos = 0;
    for (int i = 0; i < e->nargs; i++) {
        Arg *a = &e->args[i];
        Arg **slot = NULL;
        if (!a->name) {
            if (pos < b->ninputs) {
                slot = &tens[pos++];
            } else {
                diag_error(c->d, a->span, "block '%s' takes %d tensor argument%s; give its constants by name",
                           b->name, b->ninputs, b->ninputs == 1 ? "" : "s");
                ok = false;
                continue;
            }
        } else if (strcmp(a->name, "name") == 0) {
            slot = &name_arg;
        } else {
            for (int j = 0; j < b->ninputs && !slot; j++)
                if (strcmp(b->inputs[j].name, a->name) == 0)
                    slot = &tens[j];
            for (int j = 0; j < b->nparams && !slot; j++)
                if (strcmp(b->params[j].name, a->name) == 0)
                    slot = &consts[j];
            if (!slot) {
                Diagnostic *dg = diag_error(c->d, a->name_span, "block '%s' has no parameter '%s'", b->name, a->name);
                diag_note(c->d, dg, b->name_span, "'%s' is defined here", b->name);
                ok = false;
                continue;
            }
        }
        if (*slot) {
            diag_error(c->d, a->span, "parameter '%s' of block '%s' is given twice", a->name ? a->name : "(tensor)",
                       b->name);
            ok = false;
            continue;
        }
        *slot = a;
    }
    for (int j = 0; j < b->ninputs; j++)
        if (!tens[j]) {
            Diagnostic *dg = diag_error(c->d, e->span, "missing tensor argument '%s' of block '%s'", b->inputs[j].name,
                                        b->name);
            diag_note(c->d, dg, b->inputs[j].span, "declared here");
            ok = false;
        }
    Type *tt = NEW_ARRAY(&c->s->perm, Type, (size_t)b->ninputs + 1);
    for (int j = 0; j < b->ninputs; j++) {
        if (!tens[j])
            continue;
        tt[j] = check_expr(c, env, tens[j]->value);
        if (tt[j].kind == TY_ERROR) {
            ok = false;
        } else if (tt[j].kind != TY_TENSOR) {
            diag_error(c->d, tens[j]->value->span, "argument '%s' of block '%s' must be a tensor, got %s",
                       b->inputs[j].name, b->name, ty_str(c, env, tt[j]));
            ok = false;
        }
    }
    double *cval = NEW_ARRAY(&c->s->perm, double, (size_t)b->nparams + 1);
    for (int j = 0; j < b->nparams; j++) {
        if (!consts[j]) {
            cval[j] = b->params[j].type.value;
            continue;
        }
        Type t = check_expr(c, env, consts[j]->value);
        if (t.kind == TY_ERROR) {
            ok = false;
        } else if (t.kind != TY_NUM || !t.known) {
            diag_error(c->d, consts[j]->value->span, "constant '%s' of block '%s' must be a constant number",
                       b->params[j].name, b->name);
            ok = false;
        } else {
            cval[j] = t.value;
        }
    }
    /* the instance's name: the layer-name prefix of everything inside */
    const char *inst = NULL;
    if (name_arg) {
        Type t = check_expr(c, env, name_arg->value);
        if (t.kind != TY_STR) {
            if (t.kind != TY_ERROR)
                diag_error(c->d, name_arg->value->span, "the name of a block call is a string");
            ok = false;
        } else {
            const char *given = layer_name_string(c, env, name_arg->value, false);
            if (!given)
                ok = false;
            else
                inst = scope_layer_name(&c->s->perm, env->scope, given);
        }
    } else if (env->outer == e && env->outer_name && block_has_layers(c, b, 0)) {
        if (c->loop) {
            const char *var = strcmp(c->loop->st->var.name, "_") == 0 ? "i" : c->loop->st->var.name;
            diag_error(c->d, e->span, "this call of block '%s' is named by its variable '%s' inside a loop, which "
                       "would repeat its layers' names in every iteration; add name = \"%s.{%s}\"", b->name,
                       env->outer_name, env->outer_name, var);
            ok = false;
        } else {
            inst = scope_layer_name(&c->s->perm, env->scope, env->outer_name);
        }
    } else if (block_has_layers(c, b, 0)) {
        diag_error(c->d, e->span, "this call of block '%s' has layers with parameters and needs a name; add "
                   "name = \"...\" (its layers are then NAME.<layer>)", b->name);
        ok = false;
    }
    if (!ok)
        return ty_error;

    /* the block's scope: its constants and tensor parameters */
    Scope *bs = NEW(&c->s->perm, Scope);
    *bs = (Scope){.up = &c->file, .owner = m, .prefix = inst ? inst : prefix_of(env->scope)};
    for (int j = 0; j < b->nparams; j++) {
        Decl *d = NEW(&c->s->perm, Decl);
        double v = cval[j];
        *d = (Decl){.kind = DECL_CONST, .span = b->params[j].span, .name = b->params[j].name,
                    .name_span = b->params[j].span,
                    .const_value = (Type){.kind = TY_NUM, .known = true, .is_int = v == (double)(int64_t)v, .value = v},
                    .checked = true, .ok = true};
        scope_add(&c->s->perm, bs, (Symbol){.name = d->name, .kind = SYM_DECL, .decl = d});
    }
    for (int j = 0; j < b->ninputs; j++) {
        int64_t want = port_width(c, bs, &b->inputs[j]);
        if (want < 0)
            return ty_error;
        if (ty_width(tt[j]) != want) {
            Diagnostic *dg = diag_error(c->d, tens[j]->value->span, "argument '%s' of block '%s' is %s but the block "
                                        "declares %s", b->inputs[j].name, b->name, ty_str(c, env, tt[j]),
                                        ty_str(c, env, ty_tensor(want)));
            diag_note(c->d, dg, b->inputs[j].type->span, "declared here");
            return ty_error;
        }
        Expr *a = tens[j]->value;
        Binding *bind = a->kind == EX_NAME && a->ref ? a->ref
                                                     : hoist(c, m, arena_printf(&c->s->perm, "%s.%s", b->name,
                                                                                b->inputs[j].name), a, tt[j].shape);
        scope_add(&c->s->perm, bs, (Symbol){.name = b->inputs[j].name, .kind = SYM_BINDING, .binding = bind});
    }
    /* the body, its own copy, with the loops of the caller out of sight */
    CallChain *chain = NEW(&c->s->perm, CallChain);
    *chain = (CallChain){.call = e->span, .block = b->name, .up = c->blocks ? c->blocks->chain : NULL};
    BlockCall bc = {.up = c->blocks, .blk = b, .call = e->span, .scope = bs, .inst = inst, .chain = chain};
    Loop *loop = c->loop;
    c->blocks = &bc;
    c->loop = NULL;
    int first = c->d->len;
    bool returned = false;
    check_stmts(c, bs, b->stmts, b->nstmts, &returned);
    c->loop = loop;
    c->blocks = bc.up;
    for (int i = first; i < c->d->len; i++)
        if (c->d->items[i].severity == SEV_ERROR)
            diag_note(c->d, &c->d->items[i], e->span, "in this call of block '%s'", b->name);
    if (!returned) {
        Diagnostic *dg = diag_error(c->d, b->name_span, "block '%s' has no return statement", b->name);
        diag_note(c->d, dg, e->span, "in this call of block '%s'", b->name);
        return ty_error;
    }
    if (bc.nresults != b->noutputs)
        return ty_error;
    if (b->noutputs > 1) {
        e->block_results = bc.results;
        e->nblock_results = bc.nresults;
        e->callee = (Callee){NULL, b};
        return (Type){.kind = TY_TUPLE, .count = b->noutputs, .shape = bc.results[0]->shape};
    }
    /* the call is now a name for the value returned */
    Binding *r = bc.results[0];
    r->uses++;
    e->kind = EX_NAME;
    e->ref = r;
    e->nargs = 0;
    return (Type){.kind = TY_TENSOR, .shape = r->shape};
}
