/*
 * pass_fold_affine.c — a per-feature affine layer (batchnorm, affine:
 * y = x * s + t, lowered by lower.c and recorded in Graph.affines) folds
 * into an adjacent dense layer's weight and bias (docs/ir.md §4.6):
 *
 *   after:  (x W^T + b) * s + t  =  x (s . W)^T + (s * b + t)         W_ROWS, B_ROWS
 *   before: (x * s + t) W^T + b  =  x (W . s)^T + (b + W t)           W_COLS, B_COLS
 *
 * The folded weight and bias are derived tensors (derived.c) that the
 * runtime computes when it loads the weights, in f64 rounded once.
 *
 * Requires: use counts (recomputed here); before split-matmul (weights
 * whole).  Applies "after" when the affine reads a dense layer's result
 * (with or without its bias add) that nothing else reads; else "before"
 * when everything that reads the affine is a dense layer's matmul (each
 * is folded; a gated pair sharing one input folds both).  A dense weight
 * that is already derived (an affine on each side) folds once; the other
 * stays.  What does not fold stays x * s + t, which the fuser puts in the
 * epilogue of the kernel that computes x (or the prologue-free elementwise
 * kernel when x is a model input read by no matmul).  Mutates: replaces
 * the affine's add (after) or the matmuls and their bias adds (before);
 * the rest becomes dead (pass_dce).  Sets IrAffine.folded_into.
 */
#include "ir.h"

/* A whole, checkpoint-read weight or bias parameter. */
static bool whole_param(const Graph *g, const Node *p, bool vec) {
    return p->op == OP_PARAM && p->tensor < g->model->ntensors && p->lo == 0 && p->cnt == p->rows &&
           (vec ? p->cols == 0 : p->cols > 0);
}

/* The dense layer (matmul, and its bias add or NULL) whose result x is. */
static Node *dense_of(const Graph *g, Node *x, Node **bias_add) {
    *bias_add = NULL;
    if (x->op == OP_ADD && x->in[0]->op == OP_MATMUL && x->in[0]->uses == 1 && whole_param(g, x->in[1], true)) {
        *bias_add = x;
        x = x->in[0];
    }
    return x->op == OP_MATMUL && whole_param(g, x->in[1], false) ? x : NULL;
}

static const char *layer_of(const Graph *g, int tensor) { return g->model->tensors[tensor].layer; }

static Node *derived(Graph *g, Span sp, DerivedKind kind, const IrAffine *a, int matrix, int bias, int64_t n,
                     int64_t k, const char *name) {
    IrDerived d = {.name = name, .kind = kind, .shape = {.rank = k ? 2 : 1, .dim = {n, k}}, .matrix = matrix,
                   .bias = bias, .weight = a->weight, .shift = a->shift, .mean = a->mean, .var = a->var,
                   .eps = a->eps};
    return derived_param(g, sp, &d);
}

typedef enum { F_NONE, F_AFTER, F_BEFORE_MM, F_BEFORE_BIAS } FoldRole;

typedef struct Plan {
    FoldRole role;
    IrAffine *a;
    Node *mm, *bias_add; /* F_AFTER: the dense layer; F_BEFORE_BIAS: the matmul */
    Node *new_mm;        /* F_BEFORE_BIAS: the folded matmul made at the matmul */
} Plan;

void pass_fold_affine(Graph *g) {
    if (g->naffines == 0)
        return;
    graph_resolve_outputs(g);
    for (int i = 0; i < g->nnodes; i++)
        graph_resolve_operands(g->nodes[i]);
    graph_count_uses(g);
    Arena *sc = &g->s->scratch;
    Plan *plan = NEW_ARRAY(sc, Plan, (size_t)g->next_id + 1);
    for (int r = 0; r < g->naffines; r++) {
        IrAffine *a = &g->affines[r];
        Node *add = node_resolve(a->add), *mul = node_resolve(a->mul);
        if (add->op != OP_ADD || add->in[0] != mul || mul->op != OP_MUL || mul->uses != 1 || add->uses == 0)
            continue;
        Node *bias_add, *mm = mul->in[0]->uses == 1 ? dense_of(g, mul->in[0], &bias_add) : NULL;
        if (mm && plan[mm->id].role != F_NONE)
            a->kept_because = arena_printf(&g->s->perm, "'%s' before it folds another layer already",
                                           layer_of(g, mm->in[1]->tensor));
        if (mm && plan[mm->id].role == F_NONE && (!bias_add || plan[bias_add->id].role == F_NONE)) {
            plan[add->id] = (Plan){F_AFTER, a, mm, bias_add, NULL};
            plan[mm->id].role = F_AFTER; /* taken */
            a->folded_into = arena_printf(&g->s->perm, "'%s'", layer_of(g, mm->in[1]->tensor));
            continue;
        }
        /* before: every reader of the affine is a dense layer's matmul */
        int readers = 0, mms = 0;
        for (int i = 0; i < g->nnodes; i++)
            for (int j = 0; j < g->nodes[i]->nin; j++)
                if (g->nodes[i]->in[j] == add) {
                    Node *u = g->nodes[i];
                    readers++;
                    mms += u->op == OP_MATMUL && j == 0 && whole_param(g, u->in[1], false) && plan[u->id].role == F_NONE;
                }
        if (readers == 0 || readers != mms)
            continue;
        const char *into = NULL;
        for (int i = 0; i < g->nnodes; i++) {
            Node *u = g->nodes[i];
            if (u->op != OP_MATMUL || u->in[0] != add)
                continue;
            plan[u->id] = (Plan){F_BEFORE_MM, a, NULL, NULL, NULL};
            into = into ? arena_printf(&g->s->perm, "%s, '%s'", into, layer_of(g, u->in[1]->tensor))
                        : arena_printf(&g->s->perm, "'%s'", layer_of(g, u->in[1]->tensor));
            /* its bias add, when it is the matmul's only reader */
            for (int k = 0; u->uses == 1 && k < g->nnodes; k++) {
                Node *b = g->nodes[k];
                if (b->op == OP_ADD && b->in[0] == u && whole_param(g, b->in[1], true) && plan[b->id].role == F_NONE)
                    plan[b->id] = (Plan){F_BEFORE_BIAS, a, u, b, NULL};
            }
        }
        a->folded_into = into;
        a->before = true;
        a->kept_because = NULL;
    }
    int count;
    Node **old = graph_begin_rewrite(g, &count);
    Node **made = NEW_ARRAY(sc, Node *, (size_t)g->next_id + 1); /* BEFORE_MM: the folded matmul */
    for (int i = 0; i < count; i++) {
        Node *n = old[i];
        graph_resolve_operands(n);
        Plan *p = n->id < g->next_id ? &plan[n->id] : NULL;
        if (!p || p->role == F_NONE || (p->role == F_AFTER && n->op != OP_ADD)) {
            graph_emit(g, n);
            continue;
        }
        const IrAffine *a = p->a;
        Node *x = node_resolve(a->mul)->in[0]; /* the affine's input */
        if (p->role == F_AFTER) {
            Node *w = p->mm->in[1], *b = p->bias_add ? p->bias_add->in[1] : NULL;
            const char *L = layer_of(g, w->tensor);
            Node *w2 = derived(g, w->span, DV_W_ROWS, a, w->tensor, -1, w->rows, w->cols,
                               arena_printf(&g->s->perm, "%s+%s", g->model->tensors[w->tensor].name, a->layer));
            Node *mm = node_new(g, OP_MATMUL, p->mm->span, 2, p->mm->in[0], w2, NULL);
            node_set_shape(mm, SH_ROWS, w->rows);
            Node *b2 = derived(g, n->span, DV_B_ROWS, a, -1, b ? b->tensor : -1, w->rows, 0,
                               arena_printf(&g->s->perm, "%s.bias+%s", L, a->layer));
            Node *r = node_new(g, OP_ADD, n->span, 2, mm, b2, NULL);
            node_replace(n, r);
            continue;
        }
        if (p->role == F_BEFORE_MM) {
            Node *w = n->in[1];
            const char *L = layer_of(g, w->tensor);
            Node *w2 = derived(g, w->span, DV_W_COLS, a, w->tensor, -1, w->rows, w->cols,
                               arena_printf(&g->s->perm, "%s+%s", a->layer, g->model->tensors[w->tensor].name));
            Node *mm = node_new(g, OP_MATMUL, n->span, 2, x, w2, NULL);
            node_set_shape(mm, SH_ROWS, w->rows);
            made[n->id] = mm;
            bool has_bias_add = false;
            for (int k = i + 1; k < count; k++)
                has_bias_add |= old[k]->id < g->next_id && plan[old[k]->id].role == F_BEFORE_BIAS &&
                                plan[old[k]->id].mm == n;
            if (!has_bias_add) { /* no bias: W t alone */
                Node *b2 = derived(g, n->span, DV_B_COLS, a, w->tensor, -1, w->rows, 0,
                                   arena_printf(&g->s->perm, "%s+%s.bias", a->layer, L));
                node_replace(n, node_new(g, OP_ADD, n->span, 2, mm, b2, NULL));
            }
            continue;
        }
        /* F_BEFORE_BIAS: b + W t */
        Node *w = p->mm->in[1], *b = n->in[1];
        Node *b2 = derived(g, n->span, DV_B_COLS, a, w->tensor, b->tensor, w->rows, 0,
                           arena_printf(&g->s->perm, "%s+%s", a->layer, g->model->tensors[b->tensor].name));
        node_replace(n, node_new(g, OP_ADD, n->span, 2, made[p->mm->id], b2, NULL));
    }
    graph_resolve_outputs(g);
    pass_dce(g);
}
