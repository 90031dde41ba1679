/*
 * check_decl.c — declarations and models (docs/language.md §3): constants,
 * user activation and gate signatures and bodies, model ports and the batch
 * dimension (§3.1), statements and bindings (§3.4), returns (§3.2), and the
 * program-level driver check_program().  Declarations are checked in order,
 * each added to the file scope after its check, so names are defined before
 * use and functions cannot recurse through each other.
 */
#include <string.h>

#include "check.h"

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

bool check_tensor_form(Checker *c, const TypeExpr *t) {
    if (strcmp(t->elem, "f32") != 0) {
        diag_error(c->d, t->elem_span, "unsupported element type '%s'; tensors are f32", t->elem);
        return false;
    }
    if (t->ndims != 2) {
        diag_error(c->d, t->span, "tensors are two-dimensional, f32[batch, features]; this one has %d dimension%s",
                   t->ndims, t->ndims == 1 ? "" : "s");
        return false;
    }
    return true;
}

/* language.md §3.1: f32[batch, n]; all ports share one batch dimension. */
static bool check_port_type(Checker *c, Decl *m, Port *port, Span *batch_span, bool *have_batch) {
    TypeExpr *t = port->type;
    Env env = {.scope = &c->file};
    if (!check_tensor_form(c, t))
        return false;
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
    int64_t n;
    if (!check_dim(c, &env, f, &n))
        return false;
    t->shape = shape_rows(n);
    return true;
}

static bool reserved_name(Checker *c, Span sp, const char *name) {
    Decl *g = lookup_decl(c, name);
    if (g && g->kind != DECL_MODEL) {
        Diagnostic *dg = diag_error(c->d, sp, "'%s' is already defined as %s", name,
                                    g->kind == DECL_CONST ? "a constant" : g->kind == DECL_ACT ? "an activation"
                                                                    : g->kind == DECL_BLOCK ? "a block" : "a gate");
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
static Binding *bind(Checker *c, Scope *ms, const char *name, Span sp, Shape shape, bool is_input, int index,
                     Stmt *st) {
    Decl *m = ms->owner;
    const Symbol *sym = scope_lookup_here(ms, name);
    Binding *prev = sym ? sym->binding : NULL;
    if (sym && sym->kind == SYM_DECL) { /* only loop variables are declarations below the file scope */
        diag_error(c->d, sp, "cannot assign to the loop variable '%s'", name);
        return NULL;
    }
    if (prev) {
        Diagnostic *dg = diag_error(c->d, sp, "redefinition of '%s'", name);
        diag_note(c->d, dg, prev->span, "previous definition is here");
        return NULL;
    }
    /* language.md §3.6: a name bound before a loop may be reassigned in its
     * body once per iteration; the next iteration and the code after the
     * loop see the new value */
    const Symbol *outer = c->loop && ms->up ? scope_lookup(ms->up, name) : NULL;
    bool carried = outer && outer->kind == SYM_BINDING;
    if (carried) {
        Loop *lp = c->loop;
        for (int i = 0; i < lp->ncarried; i++)
            if (strcmp(lp->carried[i], name) == 0) {
                Diagnostic *dg = diag_error(c->d, sp, "'%s' is reassigned twice in one iteration of the loop", name);
                diag_note(c->d, dg, lp->carried_at[i], "first reassigned here; a name bound before a loop may be "
                          "reassigned once per iteration");
                return NULL;
            }
        VEC_PUSH(&c->s->perm, lp->carried, lp->ncarried, lp->capcarried, name);
        int n = lp->ncarried - 1;
        VEC_PUSH(&c->s->perm, lp->carried_at, n, lp->capcarried_at, sp);
    }
    bool reserved = !carried && reserved_name(c, sp, name);
    Binding *b = NEW(&c->s->perm, Binding);
    *b = (Binding){.name = name, .span = sp, .shape = shape, .is_input = is_input, .index = index, .stmt = st,
                   .index_in_model = m->nbindings};
    if (reserved) { /* keep it, so that uses are not reported again */
        b->error = true;
        b->uses = 1;
    }
    for (int i = 0; i < c->nearly; i++)
        if (strcmp(c->early[i], name) == 0)
            b->uses++;
    VEC_PUSH(&c->s->perm, m->bindings, m->nbindings, m->capbindings, b);
    if (carried)
        scope_rebind(ms->up, name, b);
    else
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
    Shape shape = t.kind == TY_TENSOR || t.kind == TY_TUPLE ? t.shape : shape_rows(1);
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
    if (v->kind == EX_CALL && v->block_results && st->ntargets == v->nblock_results) {
        /* a, b = blk(...): one statement per output, each naming the block's value */
        for (int i = 0; i < st->ntargets; i++) {
            Expr *ref = NEW(&c->s->perm, Expr);
            *ref = (Expr){.kind = EX_NAME, .span = v->span, .depth = 1, .str = st->targets[i].name, .param_index = -1,
                          .ref = v->block_results[i], .type = {.kind = TY_TENSOR, .shape = v->block_results[i]->shape}};
            v->block_results[i]->uses++;
            Stmt *one = NEW(&c->s->perm, Stmt);
            *one = (Stmt){.kind = ST_ASSIGN, .span = st->span};
            VEC_PUSH(&c->s->perm, one->targets, one->ntargets, one->captargets, st->targets[i]);
            VEC_PUSH(&c->s->perm, one->values, one->nvalues, one->capvalues, ref);
            if (bind(c, ms, st->targets[i].name, st->targets[i].span, v->block_results[i]->shape, false, 0, one))
                VEC_PUSH(&c->s->perm, ms->owner->flat, ms->owner->nflat, ms->owner->capflat, one);
        }
        st->replaced = true;
        return;
    }
    /* Bind even after errors, so later uses do not cascade. */
    for (int i = 0; i < st->ntargets; i++) {
        Binding *b = bind(c, ms, st->targets[i].name, st->targets[i].span, shape, false, i, st);
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
        } else if (shape_width(o->type->shape) > 0 && ty_width(t) != shape_width(o->type->shape)) {
            Diagnostic *dg = diag_error(c->d, st->values[i]->span, "output '%s' is declared %s but the value returned is %s",
                                        o->name, ty_str(c, &env, ty_tensor(shape_width(o->type->shape))), ty_str(c, &env, t));
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
        Binding *b = bind(c, &ms, p->name, p->span, shape_width(p->type->shape) > 0 ? p->type->shape : shape_rows(1), true, i, NULL);
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
    c->elaborated = 0;
    check_stmts(c, &ms, m->stmts, m->nstmts, &returned);
    if (!returned) {
        diag_error(c->d, m->name_span, "model '%s' has no return statement", m->name);
        return;
    }
    for (int i = 0; i < m->nbindings; i++) {
        Binding *b = m->bindings[i];
        bool again = false; /* the same statement in another iteration of a loop: warned once */
        for (int j = 0; j < i && !again && b->uses == 0; j++)
            again = m->bindings[j]->uses == 0 && m->bindings[j]->span.start == b->span.start;
        if (b->uses == 0 && !again)
            diag_warning(c->d, b->span, b->is_input ? "input '%s' is never used" : "'%s' is assigned but never used",
                         b->name);
    }
}

void check_stmts(Checker *c, Scope *s, Stmt *const *stmts, int n, bool *returned) {
    Decl *m = s->owner;
    for (int i = 0; i < n && !diag_full(c->d); i++) {
        if (*returned) {
            diag_error(c->d, stmts[i]->span, "statement after 'return'");
            break;
        }
        if (stmts[i]->kind == ST_FOR) {
            check_for(c, s, stmts[i]);
            continue;
        }
        if (stmts[i]->kind == ST_RETURN && c->loop) {
            diag_error(c->d, stmts[i]->span, "'return' inside a loop; return after the loop");
            continue;
        }
        /* every statement checked (and read by lowering) is a copy: in a
         * loop or a block each iteration and each call has its own, and the
         * elaboration rewrites it (a block call becomes a name), while the
         * AST stays as written (dump --ast) */
        Stmt *st = clone_stmt(c, stmts[i]);
        st->calls = c->blocks ? c->blocks->chain : NULL;
        if (st->kind == ST_RETURN && c->blocks && c->blocks->scope == s) {
            check_block_return(c, s, st);
            *returned = true;
            continue;
        }
        if (st->kind == ST_ASSIGN) {
            check_assign(c, s, st);
        } else {
            check_return(c, s, st);
            *returned = true;
        }
        if (!st->replaced)
            VEC_PUSH(&c->s->perm, m->flat, m->nflat, m->capflat, st);
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
        case DECL_BLOCK: check_block_decl(&c, d); break;
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
