/*
 * check_instance.c — instances of user functions (docs/language.md §3.5):
 * one per distinct set of constant values a function is called with, made
 * once, with the values of every call in its body and the builtin rules
 * those values break; lower.c lowers each instance once.
 */
#include <string.h>

#include "check.h"

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
void instance_at(Checker *c, Expr *e, Decl *f) {
    e->inst = instantiate(c, f, e->consts);
    for (int i = 0; i < e->inst->nerrors; i++) {
        const InstanceError *err = &e->inst->errors[i];
        Diagnostic *dg = diag_error(c->d, e->span, "in this call of '%s': %s", e->str, err->message);
        diag_note(c->d, dg, err->blame, "in the body of '%s'", err->func);
    }
}
