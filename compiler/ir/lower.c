/*
 * lower.c — checked AST -> graph IR (docs/ir.md §3).
 *
 * Every builtin call becomes nodes whose meaning is the opcode table: dense
 * is matmul (+ add of the bias vector), gates are written out by their
 * definition (glu(a, b) = sigmoid(a) * b, swiglu(a, b) = silu(a) * b, ...),
 * so that the fusion pass recognises builtin and user-written gates alike.
 * A user activation or gate is lowered once per instance (the values of its
 * constant parameters, made by the checker) into a body graph; a call in the
 * model is an OP_CALL node that points at it, which pass_inline replaces by
 * a copy of the body.  The AST is read, never written.
 * Every node keeps the span of the source it came from.
 */
#include <string.h>

#include "ir.h"

/* The OP_PARAM node of tensor t (0, 1: in the order the layer table lists
 * the present ones) of layer call e, as the checker declared it. */
static Node *layer_param(LowerEnv *env, const Expr *e, int t) {
    Graph *g = env->g;
    int ti = e->first_tensor + t;
    const ParamTensor *pt = &g->model->tensors[ti];
    Node *p = node_new(g, OP_PARAM, e->span, 0, NULL, NULL, NULL);
    p->name = pt->name;
    p->tensor = ti;
    p->elem = pt->elem;
    p->rows = pt->shape.dim[0];
    p->cols = pt->shape.rank == 2 ? pt->shape.dim[1] : 0;
    p->lo = 0;
    p->cnt = p->rows;
    node_set_shape(p, SH_VEC, p->rows);
    return p;
}

static Node *unary(Graph *g, Op op, Span sp, Node *x, const double *p, int np) {
    Node *n = node_new(g, op, sp, 1, x, NULL, NULL);
    for (int i = 0; i < np; i++)
        n->p[i] = p[i];
    n->np = np;
    return n;
}

static Op bin_op(BinOp op) {
    static const Op map[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE};
    return map[op];
}

/* Op of a unary builtin (primitive or activation). */
static Op builtin_op(BuiltinId id) {
    for (int op = 0; op < OP_COUNT; op++)
        if (op_info[op].bi == id && op_info[op].cls == OC_UNARY)
            return (Op)op;
    return OP_COUNT;
}

/* language.md §6: the gates by their definition; a is activated. */
static Node *lower_gate(Graph *g, BuiltinId id, Span sp, Node *a, Node *b) {
    Op act;
    switch (id) {
    case BI_GLU: act = OP_SIGMOID; break;
    case BI_REGLU: act = OP_RELU; break;
    case BI_GEGLU: act = OP_GELU; break;
    case BI_GEGLU_TANH: act = OP_GELU_TANH; break;
    case BI_SWIGLU: act = OP_SILU; break;
    default: act = OP_COUNT; break; /* bilinear */
    }
    Node *fa = act == OP_COUNT ? a : unary(g, act, sp, a, NULL, 0);
    Node *r = node_new(g, OP_MUL, sp, 2, fa, b, NULL);
    r->origin = builtin_get(id)->name;
    if (fa != a)
        fa->origin = r->origin;
    return r;
}

static Node *split_part(Graph *g, Span sp, Node *t, int parts, int index) {
    Node *s = node_new(g, OP_SPLIT, sp, 1, t, NULL, NULL);
    s->p[0] = parts;
    s->p[1] = index;
    s->np = 2;
    node_set_shape(s, t->shape, node_width(t) / parts);
    return s;
}

/* ---- layers (front/layers.def): one lowering per kind ---- */

/* language.md §7.2: x W^T (+ b) */
static Node *lower_dense(LowerEnv *env, Expr *e, Node *x, const double *consts) {
    Graph *g = env->g;
    Node *w = layer_param(env, e, 0);
    Node *mm = node_new(g, OP_MATMUL, e->span, 2, x, w, NULL);
    node_set_shape(mm, SH_ROWS, w->rows);
    if (consts[1] == 0)
        return mm;
    return node_new(g, OP_ADD, e->span, 2, mm, layer_param(env, e, 1), NULL);
}

/* language.md §5: max(0, x) + weight * min(0, x) */
static Node *lower_prelu(LowerEnv *env, Expr *e, Node *x, const double *consts) {
    (void)consts;
    return node_new(env->g, OP_PRELU, e->span, 2, x, layer_param(env, e, 0), NULL);
}

static Node *lower_norm(LowerEnv *env, Expr *e, Op op, Node *x, double eps, bool bias) {
    Node *w = layer_param(env, e, 0);
    Node *b = bias ? layer_param(env, e, 1) : NULL;
    Node *r = node_new(env->g, op, e->span, b ? 3 : 2, x, w, b);
    r->p[0] = eps;
    r->np = 1;
    return r;
}

/* language.md §8 */
static Node *lower_layernorm(LowerEnv *env, Expr *e, Node *x, const double *consts) {
    return lower_norm(env, e, OP_LAYERNORM, x, consts[0], consts[1] != 0);
}

static Node *lower_rmsnorm(LowerEnv *env, Expr *e, Node *x, const double *consts) {
    return lower_norm(env, e, OP_RMSNORM, x, consts[0], false);
}

/* x * s + t per feature, recorded for pass_fold_affine (which folds it
 * into an adjacent dense layer when it can; else it stays in the
 * neighbouring kernel's epilogue). */
static Node *lower_per_feature(LowerEnv *env, Expr *e, Node *x, Node *s, Node *t, const IrAffine *rec) {
    Graph *g = env->g;
    Node *mul = node_new(g, OP_MUL, e->span, 2, x, s, NULL);
    Node *add = node_new(g, OP_ADD, e->span, 2, mul, t, NULL);
    mul->origin = add->origin = rec->op;
    IrAffine a = *rec;
    a.mul = mul;
    a.add = add;
    VEC_PUSH(&g->s->perm, g->affines, g->naffines, g->capaffines, a);
    return add;
}

/* language.md §7.4: x * weight + bias */
static Node *lower_affine(LowerEnv *env, Expr *e, Node *x, const double *consts) {
    (void)consts;
    int t0 = e->first_tensor;
    IrAffine rec = {.layer = e->layer, .op = "affine", .weight = t0, .shift = t0 + 1, .mean = -1, .var = -1};
    return lower_per_feature(env, e, x, layer_param(env, e, 0), layer_param(env, e, 1), &rec);
}

/* language.md §7.3: nn.BatchNorm1d in eval mode, x * s + t with
 * s = weight / sqrt(running_var + eps), t = bias - running_mean * s,
 * computed when the weights are loaded */
static Node *lower_batchnorm(LowerEnv *env, Expr *e, Node *x, const double *consts) {
    Graph *g = env->g;
    int t0 = e->first_tensor;
    int64_t n = g->model->tensors[t0].shape.dim[0];
    IrAffine rec = {.layer = e->layer, .op = "batchnorm", .weight = t0, .shift = t0 + 1, .mean = t0 + 2,
                    .var = t0 + 3, .eps = consts[0]};
    IrDerived d = {.kind = DV_SCALE, .shape = {.rank = 1, .dim = {n}}, .matrix = -1, .bias = -1, .weight = t0,
                   .shift = t0 + 1, .mean = t0 + 2, .var = t0 + 3, .eps = consts[0]};
    d.name = arena_printf(&g->s->perm, "%s.scale", e->layer);
    Node *s = derived_param(g, e->span, &d);
    d.kind = DV_SHIFT;
    d.name = arena_printf(&g->s->perm, "%s.shift", e->layer);
    Node *t = derived_param(g, e->span, &d);
    return lower_per_feature(env, e, x, s, t, &rec);
}

typedef Node *LowerLayerFn(LowerEnv *env, Expr *e, Node *x, const double *consts);

static LowerLayerFn *const lower_layer[LAYER_COUNT] = {
#define LAYER(id, bi, name) [LAYER_##id] = lower_##name,
#include "layers.def"
#undef LAYER
};

/* The activation site of a builtin's application r in a model (sites.c;
 * not inside a user function's body, whose call is the site). */
static Node *builtin_site(LowerEnv *env, Expr *e, Node **in, const double *consts, Node *r) {
    const Builtin *b = e->callee.builtin;
    bool act = b->kind == BK_ACT || (b->kind == BK_PRIM && (b->id == BI_TANH || b->id == BI_SIGMOID));
    /* in a user activation's body: its call is the site; in a user gate's
     * body: a site of the body, copied with each call (graph_inline) */
    if ((env->inst && env->inst->func->ninputs_elem == 1) || r == in[0])
        return r;
    if (act)
        site_add(env->g, b->name, r->op, NULL, consts, e->span, in[0], r);
    else if (b->kind == BK_GATE && b->id != BI_BILINEAR && r->op == OP_MUL) {
        Node *fa = r->in[0]->op == OP_SPLIT ? r->in[1] : r->in[0]; /* glu(t): a * sigmoid(h) */
        site_add(env->g, b->name, fa->op, NULL, consts, e->span, fa->in[0], fa);
    }
    return r;
}

static Node *lower_builtin_node(LowerEnv *env, Expr *e, Node **in, const double *consts);

static Node *lower_builtin(LowerEnv *env, Expr *e, Node **in, const double *consts) {
    return builtin_site(env, e, in, consts, lower_builtin_node(env, e, in, consts));
}

static Node *lower_builtin_node(LowerEnv *env, Expr *e, Node **in, const double *consts) {
    Graph *g = env->g;
    const Builtin *b = e->callee.builtin;
    Span sp = e->span;
    const LayerKind *lk = layer_of_builtin(b->id);
    if (lk)
        return lower_layer[lk->id](env, e, in[0], consts);
    switch (b->kind) {
    case BK_PRIM:
        if (b->id == BI_WHERE)
            return node_new(g, OP_SELECT, sp, 3, in[0], in[1], in[2]);
        if (b->id == BI_MIN || b->id == BI_MAX)
            return node_new(g, b->id == BI_MIN ? OP_MIN : OP_MAX, sp, 2, in[0], in[1], NULL);
        return unary(g, builtin_op(b->id), sp, in[0], consts, b->nparams);
    case BK_ACT:
        if (b->id == BI_IDENTITY)
            return in[0];
        if (b->id == BI_GELU) /* approximate = "none" (the checker rewrote "tanh") */
            return unary(g, OP_GELU, sp, in[0], NULL, 0);
        return unary(g, builtin_op(e->callee.builtin->id), sp, in[0], consts, b->nparams);
    case BK_GATE:
        if (e->bound[1] == NULL || in[1] == NULL) { /* glu(t): torch.nn.functional.glu */
            Node *a = split_part(g, sp, in[0], 2, 0), *h = split_part(g, sp, in[0], 2, 1);
            Node *r = node_new(g, OP_MUL, sp, 2, a, unary(g, OP_SIGMOID, sp, h, NULL, 0), NULL);
            r->origin = "glu";
            return r;
        }
        return lower_gate(g, b->id, sp, in[0], in[1]);
    case BK_ROW:
        return node_new(g, b->id == BI_SOFTMAX ? OP_SOFTMAX : OP_LOG_SOFTMAX, sp, 1, in[0], NULL, NULL);
    case BK_LAYER: break; /* lower_layer */
    case BK_SPLIT: break; /* handled by the assignment */
    }
    ACTC_BUG("cannot lower builtin '%s' here", b->name);
}

/* The body of instance `in` lowered once into its own graph, whose inputs
 * stand for the operands (pass_inline copies it into every call).  Calls of
 * user functions in the body are copies of their own bodies already. */
static Body *lower_body(LowerEnv *env, const Instance *in) {
    Bodies *memo = env->bodies;
    for (int i = 0; i < memo->n; i++)
        if (memo->items[i]->inst == in)
            return memo->items[i];
    Decl *f = in->func;
    Graph *t = NEW(&env->g->s->perm, Graph);
    *t = (Graph){.s = env->g->s, .name = f->name};
    Node *args[3] = {NULL, NULL, NULL};
    for (int i = 0; i < f->ninputs_elem && i < 3; i++) {
        args[i] = node_new(t, OP_INPUT, f->params[i].span, 0, NULL, NULL, NULL);
        args[i]->index = i;
        args[i]->name = f->params[i].name;
    }
    LowerEnv inner = {.g = t, .inst = in, .args = args, .bodies = memo};
    Node *r = lower_expr(&inner, f->value);
    if (r->op != OP_INPUT && r->origin == NULL && r->span.start == f->value->span.start)
        r->origin = f->name;
    Body *b = NEW(&env->g->s->perm, Body);
    *b = (Body){.inst = in, .g = t, .result = r};
    VEC_PUSH(&env->g->s->perm, memo->items, memo->n, memo->cap, b);
    return b;
}

static Node *lower_call(LowerEnv *env, Expr *e) {
    Graph *g = env->g;
    if (e->callee.builtin && e->callee.builtin->id == BI_SPLIT)
        ACTC_BUG("split outside a tuple assignment");
    Node *in[3] = {NULL, NULL, NULL};
    int nin = e->callee.user ? e->callee.user->ninputs_elem : e->callee.builtin->ninputs;
    for (int i = 0; i < nin && i < 3; i++)
        if (e->bound[i])
            in[i] = lower_expr(env, e->bound[i]->value);
    /* constant parameters: the checker's values, or the instance's in a body */
    const double *consts = env->inst ? env->inst->call_consts[e->call_index] : e->consts;
    if (!consts)
        ACTC_BUG("call of '%s' has no constant parameters at this instance", e->str);
    if (e->callee.builtin)
        return lower_builtin(env, e, in, consts);
    Decl *f = e->callee.user;
    if (env->inst) { /* inside a body: a copy of the callee's body (a user activation in a gate's: a site) */
        Body *body = lower_body(env, env->inst->calls[e->call_index]);
        Node *r = graph_inline(g, body, in, e->span, NULL);
        if (f->ninputs_elem == 1 && env->inst->func->ninputs_elem > 1)
            site_add(g, f->name, OP_COUNT, body, NULL, e->span, in[0], r);
        return r;
    }
    int nconst = f->nparams - f->ninputs_elem;
    Node *c = node_new(g, OP_CALL, e->span, nin, in[0], in[1], NULL);
    c->body = lower_body(env, e->inst);
    c->name = f->name;
    for (int i = 0; i < nconst && i < NODE_MAX_PARAMS; i++)
        c->p[i] = consts[i];
    c->np = nconst;
    if (f->ninputs_elem == 1) /* a user-defined activation: a site */
        site_add(g, f->name, OP_COUNT, c->body, NULL, e->span, in[0], c);
    return c;
}

Node *lower_expr(LowerEnv *env, Expr *e) {
    Graph *g = env->g;
    switch (e->kind) {
    case EX_NUM: return node_const(g, e->span, e->num);
    case EX_BOOL: return node_const(g, e->span, e->b ? 1 : 0);
    case EX_NAME:
        if (e->param_index >= 0 && env->inst) {
            int i = e->param_index, nin = env->inst->func->ninputs_elem;
            return i < nin ? env->args[i] : node_const(g, e->span, env->inst->consts[i - nin]);
        }
        if (e->ref)
            return env->bindings[e->ref->index_in_model];
        if (e->const_name)
            return node_const(g, e->span, e->type.value);
        ACTC_BUG("unresolved name '%s'", e->str);
    case EX_NEG: {
        Node *x = lower_expr(env, e->lhs);
        return node_new(g, OP_NEG, e->span, 1, x, NULL, NULL);
    }
    case EX_BIN: {
        Node *a = lower_expr(env, e->lhs);
        Node *b = lower_expr(env, e->rhs);
        return node_new(g, bin_op(e->op), e->span, 2, a, b, NULL);
    }
    case EX_CALL: return lower_call(env, e);
    case EX_STR:
    case EX_ERROR: break;
    }
    ACTC_BUG("cannot lower expression kind %d", e->kind);
}

/* A chain of block calls as a provenance chain (innermost first). */
static const Prov *prov_of_calls(Arena *a, const CallChain *c) {
    if (!c)
        return NULL;
    Prov *p = NEW(a, Prov);
    *p = (Prov){.call = c->call, .block = c->block, .up = prov_of_calls(a, c->up)};
    return p;
}

/* One statement of the model's flat list; true for the return. */
static bool lower_stmt(LowerEnv *env, Decl *m, Stmt *st, int *next) {
    Graph *g = env->g;
    if (st->kind == ST_RETURN) {
        for (int j = 0; j < st->nvalues; j++) {
            Node *v = lower_expr(env, st->values[j]);
            Node *o = node_new(g, OP_OUTPUT, st->values[j]->span, 1, v, NULL, NULL);
            o->name = m->outputs[j].name;
            o->index = j;
            g->outputs[j] = o;
        }
        return true;
    }
    Expr *v = st->values[0];
    if (st->ntargets == 1) {
        Node *n = lower_expr(env, v);
        if (!n->hint)
            n->hint = st->targets[0].name;
        env->bindings[(*next)++] = n;
        return false;
    }
    /* g, u = split(t, k): one SPLIT node per part */
    Node *t = lower_expr(env, v->bound[0]->value);
    for (int j = 0; j < st->ntargets; j++) {
        Node *part = split_part(g, v->span, t, st->ntargets, j);
        part->hint = st->targets[j].name;
        env->bindings[(*next)++] = part;
    }
    return false;
}

Graph *lower_model(Session *s, Decl *m) {
    Graph *g = NEW(&s->perm, Graph);
    g->s = s;
    g->model = m;
    g->name = m->name;
    g->batch_name = m->batch_name;
    g->batch_value = m->batch_value;
    Bodies bodies = {0};
    LowerEnv env = {.g = g, .bodies = &bodies};
    env.bindings = NEW_ARRAY(&s->perm, Node *, (size_t)m->nbindings + 1);
    g->inputs = NEW_ARRAY(&s->perm, Node *, (size_t)m->ninputs + 1);
    g->outputs = NEW_ARRAY(&s->perm, Node *, (size_t)m->noutputs + 1);
    g->ninputs = m->ninputs;
    g->noutputs = m->noutputs;
    for (int i = 0; i < m->ninputs; i++) {
        Node *n = node_new(g, OP_INPUT, m->inputs[i].span, 0, NULL, NULL, NULL);
        n->name = m->inputs[i].name;
        n->index = i;
        node_set_shape(n, SH_ROWS, shape_width(m->inputs[i].type->shape));
        g->inputs[i] = n;
        env.bindings[i] = n; /* inputs are the first bindings */
    }
    int next = m->ninputs;
    for (int i = 0; i < m->nflat; i++) { /* the statements with the loops elaborated (check_loop.c) */
        Stmt *st = m->flat[i];
        int n0 = g->nnodes, s0 = g->nsites;
        bool ret = lower_stmt(&env, m, st, &next);
        /* a statement of a block: its nodes and sites sit inside the block's calls */
        const Prov *chain = prov_of_calls(&s->perm, st->calls);
        for (int k = n0; chain && k < g->nnodes; k++)
            g->nodes[k]->prov = prov_append(&s->perm, g->nodes[k]->prov, chain);
        for (int k = s0; chain && k < g->nsites; k++)
            g->sites[k].prov = prov_append(&s->perm, g->sites[k].prov, chain);
        if (ret)
            break;
    }
    sites_name(g);
    return g;
}
