/*
 * ast.c — constructors for the syntax tree, called from one-line grammar
 * actions, and a printer for `actc dump --ast`.  Nodes live in the session
 * arena.  Expression depth is capped (language.md §2.6): a node that would
 * exceed EXPR_MAX_DEPTH becomes EX_ERROR after one diagnostic, and every
 * ancestor of an EX_ERROR node is EX_ERROR, so later phases never recurse
 * deeper than the cap.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "parse_glue.h"

static Expr *new_expr(Parser *p, ExprKind k, Span sp) {
    Expr *e = NEW(&p->s->perm, Expr);
    e->kind = k;
    e->span = sp;
    e->depth = 1;
    e->param_index = -1;
    return e;
}

Name ast_ident(Parser *p, Span sp, const char *text, size_t len) {
    return (Name){arena_strndup(&p->s->perm, text, len), sp};
}

Expr *ast_num(Parser *p, Span sp, const char *text, size_t len) {
    Expr *e = new_expr(p, EX_NUM, sp);
    bool is_int = strspn(text, "0123456789") == len;
    errno = 0;
    if (is_int) {
        char *end;
        long long v = strtoll(text, &end, 10);
        if (errno == ERANGE || v > (1LL << 53)) {
            parse_lex_error(p, sp, "integer literal '%.*s' is too large (the limit is 2^53 = %lld)",
                            len > 40 ? 40 : (int)len, text, 1LL << 53);
            v = 0;
        }
        e->num_is_int = true;
        e->ival = v;
        e->num = (double)v;
    } else {
        double v = strtod(text, NULL);
        if (isinf(v)) {
            parse_lex_error(p, sp, "number '%.*s' is too large for a floating-point value",
                            len > 40 ? 40 : (int)len, text);
            v = 0;
        }
        e->num = v;
    }
    return e;
}

/* text is the token including its quotes; escapes \" \\ \n \t are decoded. */
Expr *ast_str(Parser *p, Span sp, const char *text, size_t len) {
    Expr *e = new_expr(p, EX_STR, sp);
    char *out = arena_alloc(&p->s->perm, len + 1, 1);
    size_t k = 0;
    size_t end = len >= 2 && text[len - 1] == '"' ? len - 1 : len;
    for (size_t i = 1; i < end; i++) {
        char c = text[i];
        if (c == '\\' && i + 1 < end) {
            char n = text[++i];
            c = n == 'n' ? '\n' : n == 't' ? '\t' : n;
        }
        out[k++] = c;
    }
    out[k] = '\0';
    e->str = out;
    return e;
}

Expr *ast_bool(Parser *p, Span sp, bool b) {
    Expr *e = new_expr(p, EX_BOOL, sp);
    e->b = b;
    return e;
}

Expr *ast_name(Parser *p, Span sp, const char *name) {
    Expr *e = new_expr(p, EX_NAME, sp);
    e->str = name;
    return e;
}

/* Depth bookkeeping: returns an EX_ERROR node when the cap is exceeded or a
 * child is already an error. */
static Expr *nest(Parser *p, Expr *e, int child_depth, bool child_error) {
    if (child_error) {
        e->kind = EX_ERROR;
        e->depth = 1;
        return e;
    }
    e->depth = child_depth + 1;
    if (e->depth > EXPR_MAX_DEPTH) {
        if (e->kind == EX_BIN && e->lhs->kind == EX_BIN && e->lhs->depth >= e->rhs->depth)
            diag_error(&p->s->diag, e->span, "expression is too long: more than %d operators in a chain; "
                       "split it into several statements", EXPR_MAX_DEPTH);
        else
            diag_error(&p->s->diag, e->span, "expression is nested too deeply (the limit is %d levels)",
                       EXPR_MAX_DEPTH);
        e->kind = EX_ERROR;
        e->depth = 1;
    }
    return e;
}

Expr *ast_neg(Parser *p, Span sp, Expr *x) {
    Expr *e = new_expr(p, EX_NEG, sp);
    e->lhs = x;
    return nest(p, e, x->depth, x->kind == EX_ERROR);
}

Expr *ast_bin(Parser *p, Span sp, BinOp op, Expr *l, Expr *r) {
    Expr *e = new_expr(p, EX_BIN, sp);
    e->op = op;
    e->lhs = l;
    e->rhs = r;
    int d = l->depth > r->depth ? l->depth : r->depth;
    return nest(p, e, d, l->kind == EX_ERROR || r->kind == EX_ERROR);
}

Expr *ast_args_new(Parser *p) { return new_expr(p, EX_CALL, (Span){p->file, 0, 0}); }

Expr *ast_args_add(Parser *p, Expr *list, Span sp, Name *name, Expr *value) {
    Arg a = {.span = sp, .value = value};
    if (name) {
        a.name = name->name;
        a.name_span = name->span;
    }
    VEC_PUSH(&p->s->perm, list->args, list->nargs, list->capargs, a);
    if (value->depth > list->depth)
        list->depth = value->depth;
    if (value->kind == EX_ERROR)
        list->kind = EX_ERROR;
    return list;
}

Expr *ast_call(Parser *p, Span sp, Name callee, Expr *args) {
    bool err = args->kind == EX_ERROR;
    int d = args->depth;
    args->kind = EX_CALL;
    args->span = sp;
    args->str = callee.name;
    args->name_span = callee.span;
    args->lhs = NULL;
    args->depth = 1;
    return nest(p, args, d, err);
}

/* ---- declarations ---- */

static Decl *new_decl(Parser *p, DeclKind k, Span sp, Name name) {
    Decl *d = NEW(&p->s->perm, Decl);
    d->kind = k;
    d->span = sp;
    d->name = name.name;
    d->name_span = name.span;
    return d;
}

Decl *ast_const(Parser *p, Span sp, Name name, Expr *value) {
    Decl *d = new_decl(p, DECL_CONST, sp, name);
    d->value = value;
    return d;
}

Decl *ast_params_new(Parser *p) { return new_decl(p, DECL_ACT, (Span){p->file, 0, 0}, (Name){0}); }

Decl *ast_params_add(Parser *p, Decl *list, Name name, Expr *dflt) {
    Param pr = {.name = name.name, .span = name.span, .dflt = dflt};
    VEC_PUSH(&p->s->perm, list->params, list->nparams, list->capparams, pr);
    return list;
}

Decl *ast_func(Parser *p, Span sp, DeclKind kind, Name name, Decl *params, Expr *body) {
    Decl *d = new_decl(p, kind, sp, name);
    d->params = params->params;
    d->nparams = params->nparams;
    d->capparams = params->capparams;
    d->value = body;
    return d;
}

Decl *ast_ports_new(Parser *p) { return new_decl(p, DECL_MODEL, (Span){p->file, 0, 0}, (Name){0}); }

Decl *ast_ports_add(Parser *p, Decl *list, Name name, TypeExpr *t) {
    Port port = {name.name, name.span, t};
    VEC_PUSH(&p->s->perm, list->inputs, list->ninputs, list->capinputs, port);
    return list;
}

Decl *ast_outputs_single(Parser *p, Span sp, TypeExpr *t) {
    Decl *list = ast_ports_new(p);
    list->span = sp;
    /* language.md §3.2: a single unnamed output is called "output" */
    return ast_ports_add(p, list, (Name){"output", t->span}, t);
}

Decl *ast_outputs_named(Parser *p, Span sp, Decl *ports) {
    (void)p;
    ports->span = sp;
    ports->outputs_named = true;
    return ports;
}

Decl *ast_model(Parser *p, Span sp, Name name, Decl *ports, Decl *outs, Decl *body) {
    Decl *d = new_decl(p, DECL_MODEL, sp, name);
    d->inputs = ports->inputs;
    d->ninputs = ports->ninputs;
    d->outputs = outs->inputs;
    d->noutputs = outs->ninputs;
    d->outputs_named = outs->outputs_named;
    d->outputs_span = outs->span;
    d->stmts = body->stmts;
    d->nstmts = body->nstmts;
    return d;
}

/* block NAME(x: f32[batch, D], ..., H = 1376) -> outputs { body }: tensor
 * parameters are its inputs, constants its params (language.md §3.7) */
Decl *ast_block(Parser *p, Span sp, Name name, Decl *params, Decl *outs, Decl *body) {
    Decl *d = ast_model(p, sp, name, params, outs, body);
    d->kind = DECL_BLOCK;
    d->params = params->params;
    d->nparams = params->nparams;
    return d;
}

TypeExpr *ast_dims_new(Parser *p) { return NEW(&p->s->perm, TypeExpr); }

TypeExpr *ast_dims_add(Parser *p, TypeExpr *list, Expr *e) {
    VEC_PUSH(&p->s->perm, list->dims, list->ndims, list->capdims, e);
    return list;
}

TypeExpr *ast_type(Parser *p, Span sp, Name elem, TypeExpr *dims) {
    (void)p;
    dims->span = sp;
    dims->elem = elem.name;
    dims->elem_span = elem.span;
    return dims;
}

Decl *ast_body_new(Parser *p) { return ast_ports_new(p); }

Decl *ast_body_add(Parser *p, Decl *body, Stmt *st) {
    VEC_PUSH(&p->s->perm, body->stmts, body->nstmts, body->capstmts, st);
    return body;
}

Stmt *ast_for(Parser *p, Span sp, Name var, Expr *lo, Expr *hi, Decl *body) {
    Stmt *st = NEW(&p->s->perm, Stmt);
    *st = (Stmt){.kind = ST_FOR, .span = sp, .var = var, .lo = lo, .hi = hi, .body = body->stmts,
                 .nbody = body->nstmts};
    return st;
}

Stmt *ast_targets_new(Parser *p, Name n) {
    Stmt *st = NEW(&p->s->perm, Stmt);
    st->kind = ST_ASSIGN;
    return ast_targets_add(p, st, n);
}

Stmt *ast_targets_add(Parser *p, Stmt *list, Name n) {
    VEC_PUSH(&p->s->perm, list->targets, list->ntargets, list->captargets, n);
    return list;
}

Stmt *ast_assign(Parser *p, Span sp, Stmt *targets, Expr *value) {
    targets->span = sp;
    VEC_PUSH(&p->s->perm, targets->values, targets->nvalues, targets->capvalues, value);
    return targets;
}

Stmt *ast_values_new(Parser *p, Expr *e) {
    Stmt *st = NEW(&p->s->perm, Stmt);
    st->kind = ST_RETURN;
    return ast_values_add(p, st, e);
}

Stmt *ast_values_add(Parser *p, Stmt *list, Expr *e) {
    VEC_PUSH(&p->s->perm, list->values, list->nvalues, list->capvalues, e);
    return list;
}

Stmt *ast_return(Parser *p, Span sp, Stmt *values) {
    (void)p;
    values->span = sp;
    return values;
}

void ast_program_add(Parser *p, Decl *d) {
    if (!d) /* a declaration whose header had a syntax error */
        return;
    VEC_PUSH(&p->s->perm, p->prog->decls, p->prog->ndecls, p->prog->capdecls, d);
}

/* ---- printing ---- */

const char *binop_str(BinOp op) {
    static const char *s[] = {"+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!="};
    return s[op];
}

static void dump_expr(StrBuf *sb, const Expr *e) {
    switch (e->kind) {
    case EX_NUM:
        if (e->num_is_int)
            sb_printf(sb, "%lld", (long long)e->ival);
        else
            sb_put_double(sb, e->num, true);
        break;
    case EX_STR: sb_printf(sb, "\"%s\"", e->str); break;
    case EX_BOOL: sb_puts(sb, e->b ? "true" : "false"); break;
    case EX_NAME: sb_puts(sb, e->str); break;
    case EX_NEG:
        sb_puts(sb, "(-");
        dump_expr(sb, e->lhs);
        sb_putc(sb, ')');
        break;
    case EX_BIN:
        sb_putc(sb, '(');
        dump_expr(sb, e->lhs);
        sb_printf(sb, " %s ", binop_str(e->op));
        dump_expr(sb, e->rhs);
        sb_putc(sb, ')');
        break;
    case EX_CALL:
        sb_printf(sb, "%s(", e->str);
        for (int i = 0; i < e->nargs; i++) {
            if (i)
                sb_puts(sb, ", ");
            if (e->args[i].name)
                sb_printf(sb, "%s = ", e->args[i].name);
            dump_expr(sb, e->args[i].value);
        }
        sb_putc(sb, ')');
        break;
    case EX_ERROR: sb_puts(sb, "<error>"); break;
    }
}

static void dump_type(StrBuf *sb, const TypeExpr *t) {
    sb_printf(sb, "%s[", t->elem);
    for (int i = 0; i < t->ndims; i++) {
        if (i)
            sb_puts(sb, ", ");
        dump_expr(sb, t->dims[i]);
    }
    sb_putc(sb, ']');
}

static void dump_stmts(StrBuf *sb, Stmt *const *stmts, int n, int level) {
    for (int i = 0; i < n; i++) {
        const Stmt *st = stmts[i];
        for (int k = 0; k < level; k++)
            sb_puts(sb, "    ");
        if (st->kind == ST_FOR) {
            sb_printf(sb, "for %s in ", st->var.name);
            dump_expr(sb, st->lo);
            sb_puts(sb, " .. ");
            dump_expr(sb, st->hi);
            sb_puts(sb, " {\n");
            dump_stmts(sb, st->body, st->nbody, level + 1);
            for (int k = 0; k < level; k++)
                sb_puts(sb, "    ");
            sb_puts(sb, "}\n");
            continue;
        }
        if (st->kind == ST_RETURN)
            sb_puts(sb, "return ");
        for (int j = 0; j < st->ntargets; j++)
            sb_printf(sb, "%s%s", j ? ", " : "", st->targets[j].name);
        if (st->kind == ST_ASSIGN)
            sb_puts(sb, " = ");
        for (int j = 0; j < st->nvalues; j++) {
            if (j)
                sb_puts(sb, ", ");
            dump_expr(sb, st->values[j]);
        }
        sb_putc(sb, '\n');
    }
}

static void dump_decl(StrBuf *sb, const Decl *d) {
    switch (d->kind) {
    case DECL_CONST:
        sb_printf(sb, "const %s = ", d->name);
        dump_expr(sb, d->value);
        break;
    case DECL_ACT:
    case DECL_GATE:
        sb_printf(sb, "%s %s(", d->kind == DECL_ACT ? "activation" : "gate", d->name);
        for (int i = 0; i < d->nparams; i++) {
            sb_printf(sb, "%s%s", i ? ", " : "", d->params[i].name);
            if (d->params[i].dflt) {
                sb_puts(sb, " = ");
                dump_expr(sb, d->params[i].dflt);
            }
        }
        sb_puts(sb, ") = ");
        dump_expr(sb, d->value);
        break;
    case DECL_MODEL:
    case DECL_BLOCK:
        sb_printf(sb, "%s %s(", d->kind == DECL_MODEL ? "model" : "block", d->name);
        for (int i = 0; i < d->ninputs; i++) {
            sb_printf(sb, "%s%s: ", i ? ", " : "", d->inputs[i].name);
            dump_type(sb, d->inputs[i].type);
        }
        for (int i = 0; d->kind == DECL_BLOCK && i < d->nparams; i++) {
            sb_printf(sb, "%s%s = ", i || d->ninputs ? ", " : "", d->params[i].name);
            dump_expr(sb, d->params[i].dflt);
        }
        sb_puts(sb, ") -> (");
        for (int i = 0; i < d->noutputs; i++) {
            sb_printf(sb, "%s%s: ", i ? ", " : "", d->outputs[i].name);
            dump_type(sb, d->outputs[i].type);
        }
        sb_puts(sb, ") {\n");
        dump_stmts(sb, d->stmts, d->nstmts, 1);
        sb_putc(sb, '}');
        break;
    }
    sb_putc(sb, '\n');
}

const char *ast_dump(Session *s, const Program *prog) {
    StrBuf sb;
    sb_init(&sb, &s->perm);
    for (int i = 0; i < prog->ndecls; i++)
        dump_decl(&sb, prog->decls[i]);
    return sb_str(&sb);
}
