/*
 * check_rules.c — what is particular to one builtin (docs/language.md §5–§8):
 * layer names (§7.1) and the learned tensors each layer declares, the result
 * type of each builtin kind, and the parameter rules PyTorch enforces on
 * the same values (hardtanh min <= max, celu alpha != 0, ...).
 */
#include <string.h>

#include "check.h"

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

static bool shape_eq(Shape a, Shape b) {
    if (a.rank != b.rank)
        return false;
    for (int i = 0; i < a.rank; i++)
        if (a.dim[i] != b.dim[i])
            return false;
    return true;
}

/* "[3, 16]" */
static const char *shape_str(Arena *a, Shape s) {
    StrBuf b;
    sb_init(&b, a);
    sb_putc(&b, '[');
    for (int i = 0; i < s.rank; i++)
        sb_printf(&b, "%s%lld", i ? ", " : "", (long long)s.dim[i]);
    sb_putc(&b, ']');
    return sb_str(&b);
}

/* Whether tensor spec t of layer kind k for this call matches tensor ti of
 * the earlier call it shares (language.md §7.5); else an error naming the
 * difference, with a note at the definition. */
static bool tied_tensor_ok(Checker *c, Env *env, Expr *e, const LayerKind *k, int t, int ti, int64_t in_features) {
    const ParamTensor *def = &env->model->tensors[ti];
    Shape want = layer_tensor_shape(k, t, in_features, e->consts);
    if (shape_eq(want, def->shape))
        return true;
    Diagnostic *dg = diag_error(c->d, e->span, "shared layer '%s' needs '%s' of shape %s here, but its definition "
                                "declares %s", e->layer, def->name, shape_str(&c->s->perm, want),
                                shape_str(&c->s->perm, def->shape));
    diag_note(c->d, dg, def->span, "'%s' is defined here", e->layer);
    return false;
}

/* A call with shared = true of a layer already defined: the same kind,
 * the same tensors of the same shapes; it reads them (e->first_tensor on). */
static bool tie_layer(Checker *c, Env *env, Expr *e, const LayerKind *k, int64_t in_features) {
    Decl *m = env->model;
    const ParamTensor *def = &m->tensors[e->first_tensor];
    if (strcmp(def->kind, k->name) != 0) {
        Diagnostic *dg = diag_error(c->d, e->span, "shared layer '%s' is a %s layer, not %s", e->layer, def->kind,
                                    k->name);
        diag_note(c->d, dg, def->span, "'%s' is defined here", e->layer);
        return false;
    }
    int ti = e->first_tensor;
    for (int t = 0; t < k->ntensors; t++) {
        const char *suffix = k->tensors[t].suffix;
        bool here = layer_tensor_present(k, t, e->consts);
        bool there = ti < m->ntensors && strcmp(m->tensors[ti].layer, e->layer) == 0 &&
                     strcmp(m->tensors[ti].name + strlen(e->layer) + 1, suffix) == 0;
        if (here != there) {
            Diagnostic *dg = diag_error(c->d, e->span, "shared layer '%s' %s '%s.%s' here but %s at its definition",
                                        e->layer, here ? "needs" : "has no", e->layer, suffix,
                                        here ? "has none" : "has one");
            diag_note(c->d, dg, def->span, "'%s' is defined here", e->layer);
            return false;
        }
        if (here && !tied_tensor_ok(c, env, e, k, t, ti++, in_features))
            return false;
    }
    for (int i = e->first_tensor; i < ti; i++)
        m->tensors[i].uses++;
    return true;
}

/* Declare the learned tensors of layer call e (named e->layer, operand
 * features in_features) from the layer table, once: lowering and the
 * runtime descriptor read them from Decl.tensors (e->first_tensor on).
 * A shared call declares nothing and reads its definition's. */
static bool declare_layer(Checker *c, Env *env, Expr *e, int64_t in_features) {
    Decl *m = env->model;
    const LayerKind *k = layer_of_builtin(e->callee.builtin->id);
    if (e->tied)
        return tie_layer(c, env, e, k, in_features);
    e->first_tensor = m->ntensors;
    for (int i = 0; i < k->ntensors; i++) {
        if (!layer_tensor_present(k, i, e->consts))
            continue;
        const LayerTensorSpec *ts = &k->tensors[i];
        ParamTensor t = {.name = arena_printf(&c->s->perm, "%s.%s", e->layer, ts->suffix), .layer = e->layer,
                         .elem = ts->elem, .shape = layer_tensor_shape(k, i, in_features, e->consts),
                         .span = e->span, .kind = k->name, .uses = 1};
        VEC_PUSH(&c->s->perm, m->tensors, m->ntensors, m->captensors, t);
    }
    return true;
}

/* Whether call e says shared = true (language.md §7.5). */
static bool shared_call(const Expr *e, const Sig *sig) {
    for (int j = 0; j < sig->nparams; j++)
        if (strcmp(sig->pnames[j], "shared") == 0)
            return e->consts[j] != 0;
    return false;
}

/* language.md §7.1: a layer is named by name = "..." or by the variable of
 * `v = layer(...)` when it is the outermost call.  §7.5: with shared =
 * true a name already defined is that layer again. */
bool name_layer(Checker *c, Env *env, Expr *e, const Sig *sig) {
    int slot = -1;
    for (int j = 0; j < sig->nparams; j++)
        if (strcmp(sig->pnames[j], "name") == 0)
            slot = sig->ninputs + j;
    Arg *a = slot >= 0 ? e->bound[slot] : NULL;
    bool shared = shared_call(e, sig);
    if (a) {
        if (a->value->type.kind != TY_STR)
            return false;
        const char *given = layer_name_string(c, env, a->value, shared);
        if (!given)
            return false;
        if (!valid_layer_name(given)) {
            StrBuf q;
            sb_init(&q, &c->s->perm);
            for (const char *p = given; *p && q.len < 64; p++)
                if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
                    sb_printf(&q, "\\x%02x", (unsigned char)*p);
                else
                    sb_putc(&q, *p);
            diag_error(c->d, a->value->span,
                       "invalid layer name \"%s\": use letters, digits, '_', '-' and single inner dots",
                       sb_str(&q));
            return false;
        }
        e->layer = scope_layer_name(&c->s->perm, env->scope, given);
    } else if (env->outer == e && env->outer_name && c->loop) {
        const char *var = c->loop->st->var.name;
        diag_error(c->d, e->span, "this '%s' layer is named by its variable '%s' inside a loop, which would repeat "
                   "the name in every iteration; add name = \"%s.{%s}\"", sig->name, env->outer_name,
                   env->outer_name, strcmp(var, "_") == 0 ? "i" : var);
        return false;
    } else if (env->outer == e && env->outer_name) {
        e->layer = scope_layer_name(&c->s->perm, env->scope, env->outer_name);
    } else {
        diag_error(c->d, e->span, "this '%s' layer has parameters and needs a name; add name = \"...\"",
                   sig->name);
        return false;
    }
    Decl *m = env->model;
    for (int i = 0; i < m->ntensors; i++) {
        if (strcmp(m->tensors[i].layer, e->layer) != 0)
            continue;
        if (shared) {
            e->tied = true;
            e->first_tensor = i;
            return true;
        }
        Diagnostic *dg = diag_error(c->d, a ? a->value->span : e->span, "duplicate layer name '%s'", e->layer);
        diag_note(c->d, dg, m->tensors[i].span, "'%s' is first used here; to use its weights again (tied "
                  "weights), add shared = true", e->layer);
        return false;
    }
    return true;
}

/* Type of a builtin call, once its arguments are checked. */
Type builtin_result(Checker *c, Env *env, Expr *e, const Builtin *b, Type *in, int nin) {
    const Type x = in[0];
    switch (b->kind) {
    case BK_PRIM:
        if (b->id == BI_WHERE) {
            if (in[0].kind != TY_COND) {
                diag_error(c->d, e->bound[0]->value->span, "the condition of where() must be a comparison, got %s",
                           ty_str(c, env, in[0]));
                return ty_error;
            }
            Type cond = ty_width(in[0]) >= 0 ? ty_tensor(ty_width(in[0])) : (Type){.kind = TY_NUM};
            Type r = broadcast(c, env, e->span, "where()", cond, in[1]);
            return broadcast(c, env, e->span, "where()", r, in[2]);
        }
        if (nin == 2)
            return broadcast(c, env, e->span, arena_printf(&c->s->perm, "%s()", b->name), in[0], in[1]);
        return x.kind == TY_NUM ? (Type){.kind = TY_NUM} : x;
    case BK_ACT:
        if (b->id == BI_PRELU && env->model) {
            int64_t np = (int64_t)e->consts[0];
            if (np != 1 && np != ty_width(x)) {
                diag_error(c->d, e->bound[1] ? e->bound[1]->span : e->span,
                           "prelu num_parameters must be 1 or the number of features (%lld), got %lld",
                           (long long)ty_width(x), (long long)np);
                return ty_error;
            }
            if (!declare_layer(c, env, e, ty_width(x)))
                return ty_error;
        }
        return x.kind == TY_NUM ? (Type){.kind = TY_NUM} : x;
    case BK_GATE:
        if (nin == 1) { /* glu(t): torch.nn.functional.glu, first half * sigmoid(second) */
            if (ty_width(x) < 0) {
                diag_error(c->d, e->span, "glu(t) splits its operand in half; inside an activation use glu(a, b)");
                return ty_error;
            }
            if (ty_width(x) % 2) {
                diag_error(c->d, e->span, "glu(t) needs an even number of features, got %s", ty_str(c, env, x));
                return ty_error;
            }
            return ty_tensor(ty_width(x) / 2);
        }
        if (in[0].kind == TY_TENSOR && in[1].kind == TY_TENSOR && ty_width(in[0]) >= 0 && ty_width(in[1]) >= 0 &&
            ty_width(in[0]) != ty_width(in[1])) {
            Diagnostic *dg = diag_error(c->d, e->span, "operands of gate '%s' must have the same shape: %s and %s",
                                        b->name, ty_str(c, env, in[0]), ty_str(c, env, in[1]));
            note_width_origins(c, env, dg, e->bound[0]->value, in[0], e->bound[1]->value, in[1]);
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
            if (!declare_layer(c, env, e, ty_width(x)))
                return ty_error;
        }
        return x;
    case BK_LAYER: {
        if (b->id == BI_BATCHNORM && !(e->consts[0] > 0)) {
            diag_error(c->d, e->bound[1] ? e->bound[1]->value->span : e->span, "%s eps must be positive, got %g",
                       b->name, e->consts[0]);
            return ty_error;
        }
        if (b->id != BI_DENSE) { /* batchnorm, affine: per feature */
            return declare_layer(c, env, e, ty_width(x)) ? x : ty_error;
        }
        int64_t units = (int64_t)e->consts[0];
        if (units <= 0 || units > MAX_DIM) {
            diag_error(c->d, e->bound[1]->value->span, "dense units must be between 1 and %d, got %lld", MAX_DIM,
                       (long long)units);
            return ty_error;
        }
        if (units > MAX_WEIGHTS / ty_width(x)) {
            diag_error(c->d, e->span, "layer '%s' is too large: %lld x %lld weights (the limit is %lld elements)",
                       e->layer, (long long)units, (long long)ty_width(x), (long long)MAX_WEIGHTS);
            return ty_error;
        }
        if (!declare_layer(c, env, e, ty_width(x)))
            return ty_error;
        return ty_tensor(layer_result_features(layer_of_builtin(b->id), ty_width(x), e->consts));
    }
    case BK_SPLIT: {
        int64_t k = (int64_t)e->consts[0];
        if (k < 2 || k > 64) {
            diag_error(c->d, e->bound[1]->value->span, "split needs between 2 and 64 sections, got %lld", (long long)k);
            return ty_error;
        }
        if (ty_width(x) % k) {
            diag_error(c->d, e->span, "cannot split %s into %lld equal parts", ty_str(c, env, x), (long long)k);
            return ty_error;
        }
        return (Type){.kind = TY_TUPLE, .shape = shape_rows(ty_width(x) / k), .count = (int)k};
    }
    }
    return ty_error;
}

/* Builtin-specific parameter rules (PyTorch raises on the same values).
 * Returns NULL if `vals` (the constant parameters, builtins.c order) are
 * valid, else the message; *blame is the index of the parameter to point at
 * (-1: the call) and *other the one to mention in a note (-1: none). */
const char *param_rule(Checker *c, const Builtin *b, const double *vals, const Expr *e, int *blame,
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
Span param_span(const Expr *e, const Builtin *b, int j) {
    Arg *a = j >= 0 ? e->bound[b->ninputs + j] : NULL;
    return a ? a->value->span : e->span;
}

bool check_param_values(Checker *c, Expr *e, const Builtin *b) {
    int blame, other;
    const char *msg = param_rule(c, b, e->consts, e, &blame, &other);
    if (!msg)
        return true;
    Diagnostic *dg = diag_error(c->d, param_span(e, b, blame), "%s", msg);
    if (other >= 0)
        diag_note(c->d, dg, param_span(e, b, other), "%s is %g here", b->params[other].name, e->consts[other]);
    return false;
}
