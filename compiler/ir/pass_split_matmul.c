/*
 * pass_split_matmul.c — split(dense(x), k) becomes k dense layers that share
 * the weight: part i of split(x @ W^T + b, k) is x @ W[i]^T + b[i], where
 * W[i] is the i-th block of rows of W (docs/ir.md §4.5).  This is what lets
 * `g, u = split(dense(x, 2*H, name = "gate_up_proj"), 2)` fuse into one
 * gated kernel, exactly like two separate projections.
 *
 * Requires: use counts are recomputed here.  Applies only when every user of
 * the matmul (or of its bias add) is a SPLIT, so no full-width result is
 * needed.  A sweep only rewrites matmuls that existed when it started (their
 * users are all resolved); sweeps repeat until nothing changes, so nested
 * splits compose.  Mutates: replaces those SPLIT nodes; the full matmul
 * becomes dead.
 */
#include "ir.h"

static Node *slice_param(Graph *g, Node *p, int parts, int index) {
    Node *s = node_new(g, OP_PARAM, p->span, 0, NULL, NULL, NULL);
    *s = *p;
    s->id = g->next_id - 1; /* node_new numbered it */
    s->repl = NULL;
    s->cnt = p->cnt / parts;
    s->lo = p->lo + s->cnt * index;
    node_set_shape(s, SH_VEC, s->cnt);
    return s;
}

static bool only_split_users(Graph *g, Node *t) {
    for (int i = 0; i < g->nnodes; i++)
        for (int j = 0; j < g->nodes[i]->nin; j++)
            if (g->nodes[i]->in[j] == t && g->nodes[i]->op != OP_SPLIT)
                return false;
    return true;
}

/* One sweep; returns true if it rewrote a split. */
static bool split_once(Graph *g) {
    bool changed = false;
    int first_new = g->next_id;
    graph_resolve_outputs(g);
    graph_count_uses(g);
    int count;
    Node **old = graph_begin_rewrite(g, &count);
    /* users are looked up in the old list */
    Graph view = *g;
    view.nodes = old;
    view.nnodes = count;
    for (int i = 0; i < count; i++) {
        Node *n = old[i];
        graph_resolve_operands(n);
        Node *t = n->op == OP_SPLIT ? n->in[0] : NULL;
        Node *mm = t && t->op == OP_ADD && t->in[0]->op == OP_MATMUL && t->in[0]->uses == 1 &&
                           t->in[1]->op == OP_PARAM
                       ? t->in[0]
                       : t && t->op == OP_MATMUL ? t : NULL;
        if (!mm || mm->id >= first_new || !only_split_users(&view, t)) {
            graph_emit(g, n);
            continue;
        }
        changed = true;
        int parts = (int)n->p[0], index = (int)n->p[1];
        Node *w = slice_param(g, mm->in[1], parts, index);
        Node *part = node_new(g, OP_MATMUL, n->span, 2, mm->in[0], w, NULL);
        node_set_shape(part, n->shape, node_width(n));
        part->origin = "split";
        if (t != mm) {
            Node *b = slice_param(g, t->in[1], parts, index);
            part = node_new(g, OP_ADD, n->span, 2, part, b, NULL);
        }
        node_replace(n, part);
    }
    graph_resolve_outputs(g);
    pass_dce(g);
    return changed;
}

void pass_split_matmul(Graph *g) {
    for (int i = 0; i < 64 && split_once(g); i++)
        ;
}
