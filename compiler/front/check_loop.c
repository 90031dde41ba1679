/*
 * check_loop.c — loops and layer-name templates (docs/language.md §3.6).
 * A loop `for i in A .. B { ... }` is elaborated while the model is checked:
 * each iteration checks its own copy of the body in a scope of its own,
 * where i is a constant, and the copies join the model's flat statement
 * list (Decl.flat) that lowering reads, so passes and fusion see the model
 * as if the body were written out.  A name bound before the loop may be
 * reassigned once per iteration (check_decl.c: bind); a name first bound
 * in the body lives for one iteration.  Layer names are strings whose
 * {expr} parts are constant integer expressions over constants and loop
 * variables ("model.layers.{i}.mlp").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ---- copies of a body ---- */

static Expr *clone_expr(Checker *c, const Expr *e) {
    if (!e)
        return NULL;
    Expr *n = NEW(&c->s->perm, Expr);
    /* the syntax only: the checker's annotations start afresh */
    *n = (Expr){.kind = e->kind, .span = e->span, .depth = e->depth, .num = e->num, .num_is_int = e->num_is_int,
                .ival = e->ival, .str = e->str, .b = e->b, .op = e->op, .name_span = e->name_span,
                .param_index = -1};
    n->lhs = clone_expr(c, e->lhs);
    n->rhs = clone_expr(c, e->rhs);
    if (e->nargs) {
        n->args = NEW_ARRAY(&c->s->perm, Arg, (size_t)e->nargs);
        n->nargs = n->capargs = e->nargs;
        for (int i = 0; i < e->nargs; i++) {
            n->args[i] = e->args[i];
            n->args[i].value = clone_expr(c, e->args[i].value);
        }
    }
    return n;
}

Stmt *clone_stmt(Checker *c, const Stmt *st) {
    Stmt *n = NEW(&c->s->perm, Stmt);
    *n = *st; /* targets, spans and a loop's body are shared: never changed by the checker */
    if (st->nvalues) {
        n->values = NEW_ARRAY(&c->s->perm, Expr *, (size_t)st->nvalues);
        n->capvalues = st->nvalues;
        for (int i = 0; i < st->nvalues; i++)
            n->values[i] = clone_expr(c, st->values[i]);
    }
    return n;
}

/* ---- loops ---- */

/* Statements of the body other than loops (a nested loop counts its own
 * when it is elaborated): what one iteration adds to the flat list. */
static int64_t body_size(const Stmt *const *body, int n) {
    int64_t k = 0;
    for (int i = 0; i < n; i++)
        k += body[i]->kind != ST_FOR;
    return k;
}

/* A loop bound: a constant integer (or an error, reported: false). */
static bool loop_bound(Checker *c, Env *env, Expr *e, const char *which, int64_t *out) {
    Type t = check_expr(c, env, e);
    if (t.kind == TY_ERROR)
        return false;
    if (t.kind != TY_NUM || !t.known || !t.is_int || t.inexact) {
        diag_error(c->d, e->span, "the %s of a loop's range must be a constant integer, got %s", which,
                   t.kind == TY_NUM && t.known ? arena_printf(&c->s->perm, "%.17g", t.value) : ty_str(c, env, t));
        return false;
    }
    if (t.value < -(double)MAX_ELABORATED * 1024 || t.value > (double)MAX_ELABORATED * 1024) {
        diag_error(c->d, e->span, "the %s of a loop's range, %.17g, is out of range", which, t.value);
        return false;
    }
    *out = (int64_t)t.value;
    return true;
}

void check_for(Checker *c, Scope *s, Stmt *st) {
    Decl *m = s->owner;
    Env env = {.scope = s, .model = m};
    int64_t lo, hi;
    bool ok_lo = loop_bound(c, &env, st->lo, "start", &lo), ok_hi = loop_bound(c, &env, st->hi, "end", &hi);
    if (!ok_lo || !ok_hi)
        return;
    if (hi < lo) {
        diag_error(c->d, (Span){st->lo->span.file, st->lo->span.start, st->hi->span.end},
                   "the loop's range %lld .. %lld is empty and backwards: its end is before its start "
                   "(a range is half-open: %lld .. %lld runs 0 times)", (long long)lo, (long long)hi, (long long)lo,
                   (long long)lo);
        return;
    }
    const char *var = st->var.name;
    bool anon = strcmp(var, "_") == 0;
    if (!anon) {
        const Symbol *sym = scope_lookup(s, var);
        if (sym || builtin_find(var)) {
            Span at = sym && sym->kind == SYM_BINDING ? sym->binding->span : sym && sym->decl ? sym->decl->name_span
                                                                                          : st->var.span;
            Diagnostic *dg = diag_error(c->d, st->var.span, "the loop variable '%s' would hide %s", var,
                                        !sym ? "a builtin" : sym->kind == SYM_BINDING ? "a value of the model"
                                                                                      : "a declaration");
            if (sym)
                diag_note(c->d, dg, at, "'%s' is defined here", var);
            return;
        }
    }
    int64_t per = body_size((const Stmt *const *)st->body, st->nbody);
    if (hi - lo > MAX_ELABORATED || per > MAX_ELABORATED || c->elaborated + (hi - lo) * per > MAX_ELABORATED) {
        diag_error(c->d, st->span, "this loop makes the model more than %d statements long once elaborated "
                   "(%lld iterations of %lld)", MAX_ELABORATED, (long long)(hi - lo), (long long)per);
        return;
    }
    c->elaborated += (hi - lo) * per;
    for (int64_t i = lo; i < hi && !diag_full(c->d); i++) {
        Scope is = {.up = s, .owner = m};
        if (!anon) {
            Decl *d = NEW(&c->s->perm, Decl);
            *d = (Decl){.kind = DECL_CONST, .span = st->var.span, .name = var, .name_span = st->var.span,
                        .const_value = (Type){.kind = TY_NUM, .known = true, .is_int = true, .value = (double)i},
                        .checked = true, .ok = true};
            scope_add(&c->s->perm, &is, (Symbol){.name = var, .kind = SYM_DECL, .decl = d});
        }
        Loop lp = {.up = c->loop, .st = st, .iterations = hi - lo};
        c->loop = &lp;
        int errors = c->d->nerrors;
        bool returned = false;
        check_stmts(c, &is, st->body, st->nbody, &returned);
        c->loop = lp.up;
        if (c->d->nerrors > errors)
            break; /* the next iterations would repeat them */
    }
}

/* ---- layer-name templates ---- */

typedef struct Tpl {
    Checker *c;
    Env *env;
    const Expr *str;  /* the string literal */
    const char *text; /* its value */
    size_t pos, end;  /* the {expr} being read: text[pos .. end) */
    bool exact_spans; /* the literal has no escapes: text offset k is source offset start + 1 + k */
    bool failed;
} Tpl;

static Span tpl_span(const Tpl *t, size_t from, size_t to) {
    if (!t->exact_spans)
        return t->str->span;
    uint32_t base = t->str->span.start + 1;
    return (Span){t->str->span.file, base + (uint32_t)from, base + (uint32_t)(to > from ? to : from + 1)};
}

static void tpl_error(Tpl *t, size_t from, size_t to, const char *msg, const char *arg) {
    if (!t->failed)
        diag_error(t->c->d, tpl_span(t, from, to), msg, arg);
    t->failed = true;
}

static void tpl_space(Tpl *t) {
    while (t->pos < t->end && (t->text[t->pos] == ' ' || t->text[t->pos] == '\t'))
        t->pos++;
}

enum { TPL_LIMIT = 1 << 30 }; /* |values| stay far from overflow */

static int64_t tpl_sum(Tpl *t);

static int64_t tpl_factor(Tpl *t) {
    tpl_space(t);
    if (t->pos >= t->end) {
        tpl_error(t, t->pos, t->pos, "expected a number or a name in the layer name template%s", "");
        return 0;
    }
    char ch = t->text[t->pos];
    size_t at = t->pos;
    if (ch == '-') {
        t->pos++;
        return -tpl_factor(t);
    }
    if (ch == '(') {
        t->pos++;
        int64_t v = tpl_sum(t);
        tpl_space(t);
        if (t->pos >= t->end || t->text[t->pos] != ')')
            tpl_error(t, at, t->pos, "expected ')' in the layer name template%s", "");
        else
            t->pos++;
        return v;
    }
    if (ch >= '0' && ch <= '9') {
        int64_t v = 0;
        while (t->pos < t->end && t->text[t->pos] >= '0' && t->text[t->pos] <= '9') {
            v = v * 10 + (t->text[t->pos++] - '0');
            if (v > TPL_LIMIT) {
                tpl_error(t, at, t->pos, "number too large in the layer name template%s", "");
                return 0;
            }
        }
        return v;
    }
    if (ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
        while (t->pos < t->end && (t->text[t->pos] == '_' || (t->text[t->pos] >= 'a' && t->text[t->pos] <= 'z') ||
                                   (t->text[t->pos] >= 'A' && t->text[t->pos] <= 'Z') ||
                                   (t->text[t->pos] >= '0' && t->text[t->pos] <= '9')))
            t->pos++;
        const char *name = arena_strndup(&t->c->s->perm, t->text + at, t->pos - at);
        const Symbol *sym = scope_lookup(t->env->scope, name);
        Decl *d = sym && sym->kind == SYM_DECL ? sym->decl : NULL;
        if (!d || d->kind != DECL_CONST) {
            tpl_error(t, at, t->pos, "'%s' in a layer name template is not a loop variable or a constant", name);
            return 0;
        }
        Type v = d->const_value;
        if (v.kind != TY_NUM || !v.known || !v.is_int || v.inexact || v.value > TPL_LIMIT || v.value < -TPL_LIMIT) {
            tpl_error(t, at, t->pos, "'%s' in a layer name template is not an integer (of at most 2^30)", name);
            return 0;
        }
        return (int64_t)v.value;
    }
    char bad[2] = {ch, 0};
    tpl_error(t, at, at + 1, "unexpected '%s' in the layer name template: use integers, names, + - * / and ( )",
              bad);
    return 0;
}

static int64_t tpl_term(Tpl *t) {
    int64_t v = tpl_factor(t);
    for (;;) {
        tpl_space(t);
        if (t->failed || t->pos >= t->end || (t->text[t->pos] != '*' && t->text[t->pos] != '/'))
            return v;
        char op = t->text[t->pos];
        size_t at = t->pos++;
        int64_t w = tpl_factor(t);
        if (t->failed)
            return 0;
        if (op == '/' && (w == 0 || v % w != 0)) {
            tpl_error(t, at, at + 1, w == 0 ? "division by zero in the layer name template%s"
                                            : "the division in the layer name template leaves a remainder%s", "");
            return 0;
        }
        v = op == '*' ? v * w : v / w;
        if (v > TPL_LIMIT || v < -TPL_LIMIT) {
            tpl_error(t, at, at + 1, "the layer name template's value is too large%s", "");
            return 0;
        }
    }
}

static int64_t tpl_sum(Tpl *t) {
    int64_t v = tpl_term(t);
    for (;;) {
        tpl_space(t);
        if (t->failed || t->pos >= t->end || (t->text[t->pos] != '+' && t->text[t->pos] != '-'))
            return v;
        char op = t->text[t->pos++];
        int64_t w = tpl_term(t);
        v = op == '+' ? v + w : v - w;
        if (v > TPL_LIMIT || v < -TPL_LIMIT) {
            tpl_error(t, t->pos, t->pos, "the layer name template's value is too large%s", "");
            return 0;
        }
    }
}

/* Whether an enclosing loop runs more than once (a fixed name would repeat). */
static const Loop *repeating_loop(const Checker *c) {
    for (const Loop *lp = c->loop; lp; lp = lp->up)
        if (lp->iterations > 1)
            return lp;
    return NULL;
}

const char *layer_name_string(Checker *c, Env *env, const Expr *str, bool shared) {
    const char *s = str->str;
    if (!strchr(s, '{') && !strchr(s, '}')) {
        const Loop *lp = shared ? NULL : repeating_loop(c); /* shared: one layer in every iteration */
        if (lp) {
            const char *var = strcmp(lp->st->var.name, "_") == 0 ? "i" : lp->st->var.name;
            diag_error(c->d, str->span, "the layer name \"%s\" is the same in every iteration of the loop; make it "
                       "a template such as \"%s.{%s}\", or add shared = true to use one layer's weights in every "
                       "iteration", s, s, var);
            return NULL;
        }
        return s;
    }
    Tpl t = {.c = c, .env = env, .str = str, .text = s};
    size_t raw = str->span.end - str->span.start;
    t.exact_spans = raw == strlen(s) + 2; /* no escapes between the quotes */
    StrBuf out;
    sb_init(&out, &c->s->perm);
    for (size_t i = 0; s[i] && !t.failed; i++) {
        if (s[i] == '}') {
            tpl_error(&t, i, i + 1, "'}' without '{' in the layer name%s", "");
            break;
        }
        if (s[i] != '{') {
            sb_putc(&out, s[i]);
            continue;
        }
        const char *close = strchr(s + i + 1, '}');
        if (!close) {
            tpl_error(&t, i, strlen(s), "'{' without '}' in the layer name%s", "");
            break;
        }
        t.pos = i + 1;
        t.end = (size_t)(close - s);
        int64_t v = tpl_sum(&t);
        tpl_space(&t);
        if (!t.failed && t.pos < t.end)
            tpl_error(&t, t.pos, t.end, "unexpected '%s' in the layer name template",
                      arena_strndup(&c->s->perm, s + t.pos, t.end - t.pos));
        sb_printf(&out, "%lld", (long long)v);
        i = t.end;
    }
    return t.failed ? NULL : sb_str(&out);
}
