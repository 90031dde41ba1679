/*
 * graph.c — graph IR nodes: the opcode table, construction, the rewrite
 * protocol used by every pass, and the printer (actc dump --graph).
 *
 * Invariant: g->nodes is in topological order (operands before users).
 * Passes keep it by rewriting: they take the old list, visit it in order and
 * emit the nodes that stay; nodes created while visiting are emitted at that
 * point, before the users that will be redirected to them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

const OpInfo op_info[OP_COUNT] = {
#define OP(id, name, cls, nin, bi) {name, cls, nin, bi},
#include "ops.def"
#undef OP
};

bool op_is_elementwise(Op op) {
    OpClass c = op_info[op].cls;
    return c == OC_UNARY || c == OC_BINARY || c == OC_CMP || c == OC_SELECT;
}

bool op_is_activation(Op op) {
    /* tanh and sigmoid are primitives in the language and activations in
     * PyTorch's list: both count */
    BuiltinId bi = op_info[op].bi;
    return op == OP_TANH || op == OP_SIGMOID || (bi != BI_COUNT && builtin_get(bi)->kind == BK_ACT);
}

int64_t node_width(const Node *n) {
    switch (n->shape) {
    case SH_ROWS: return shape_width(n->dims);
    case SH_VEC: return n->dims.dim[0];
    case SH_SCALAR: break;
    }
    return 1;
}

void node_set_shape(Node *n, ShapeKind k, int64_t w) {
    n->shape = k;
    n->dims = k == SH_ROWS ? shape_rows(w) : k == SH_VEC ? (Shape){.rank = 1, .dim = {w}} : (Shape){.rank = 0};
}

Node *node_new(Graph *g, Op op, Span sp, int nin, Node *a, Node *b, Node *c) {
    Node *n = NEW(&g->s->perm, Node);
    n->op = op;
    n->id = g->next_id++;
    n->span = sp;
    n->nin = nin;
    n->in[0] = a;
    n->in[1] = b;
    n->in[2] = c;
    /* Shape: the widest operand; rows win over vectors over scalars. */
    node_set_shape(n, SH_SCALAR, 1);
    for (int i = 0; i < nin; i++) {
        Node *o = n->in[i];
        if (o->shape < n->shape || (o->shape == n->shape && node_width(o) > node_width(n))) {
            n->shape = o->shape;
            n->dims = o->dims;
        }
    }
    graph_emit(g, n);
    return n;
}

Node *node_const(Graph *g, Span sp, double v) {
    Node *n = node_new(g, OP_CONST, sp, 0, NULL, NULL, NULL);
    n->p[0] = v;
    n->np = 1;
    return n;
}

Node *node_resolve(Node *n) {
    while (n && n->repl)
        n = n->repl;
    return n;
}

/* ---- provenance ---- */

int prov_depth(const Prov *p) {
    int n = 0;
    for (; p; p = p->up)
        n++;
    return n;
}

bool prov_equal(const Prov *a, const Prov *b) {
    for (; a && b; a = a->up, b = b->up)
        if (a->call.file != b->call.file || a->call.start != b->call.start || a->call.end != b->call.end)
            return false;
    return a == b; /* both NULL */
}

Span node_site(const Node *n) {
    const Prov *p = n->prov;
    if (!p)
        return (Span){0};
    while (p->up)
        p = p->up;
    return p->call;
}

/* chain followed by tail: a fresh copy of chain's links ending in tail */
const Prov *prov_append(Arena *a, const Prov *chain, const Prov *tail) {
    if (!chain)
        return tail;
    Prov *p = NEW(a, Prov);
    p->call = chain->call;
    p->block = chain->block;
    p->up = prov_append(a, chain->up, tail);
    return p;
}

void node_replace(Node *old, Node *new_node) {
    if (old == new_node)
        return;
    old->repl = new_node;
    if (!new_node->hint)
        new_node->hint = old->hint;
    /* Where the code came from passes only to a node made to replace old,
     * never to an older operand it folds into (x*1 -> x keeps x's line). */
    if (new_node->id > old->id) {
        if (!new_node->prov)
            new_node->prov = old->prov;
        if (!new_node->origin)
            new_node->origin = old->origin;
    }
}

Node **graph_begin_rewrite(Graph *g, int *count) {
    Node **old = g->nodes;
    *count = g->nnodes;
    g->nodes = NULL;
    g->nnodes = g->capnodes = 0;
    return old;
}

void graph_emit(Graph *g, Node *n) { VEC_PUSH(&g->s->perm, g->nodes, g->nnodes, g->capnodes, n); }

Node *graph_inline(Graph *g, const Body *b, Node *const *args, Span call, const Prov *up) {
    const Graph *t = b->g;
    Prov *site = NEW(&g->s->perm, Prov);
    *site = (Prov){.call = call, .up = up};
    ArenaMark mark = arena_mark(&g->s->scratch);
    Node **map = NEW_ARRAY(&g->s->scratch, Node *, (size_t)t->next_id + 1);
    /* body chain -> extended chain, so nodes of one inner call share theirs */
    const Prov **from = NEW_ARRAY(&g->s->scratch, const Prov *, (size_t)t->nnodes + 1);
    const Prov **to = NEW_ARRAY(&g->s->scratch, const Prov *, (size_t)t->nnodes + 1);
    int nchains = 0;
    for (int i = 0; i < t->nnodes; i++) {
        const Node *o = t->nodes[i];
        if (o->op == OP_INPUT) {
            map[o->id] = args[o->index];
            continue;
        }
        if (o->op != OP_CONST && !op_is_elementwise(o->op))
            ACTC_BUG("'%s' node in the body of '%s'", op_info[o->op].name, t->name);
        Node *in[3] = {NULL, NULL, NULL};
        for (int k = 0; k < o->nin; k++)
            in[k] = map[o->in[k]->id];
        Node *n = node_new(g, o->op, o->span, o->nin, in[0], in[1], in[2]);
        memcpy(n->p, o->p, sizeof n->p);
        n->np = o->np;
        n->name = o->name;
        n->origin = o->origin;
        int c = 0;
        while (c < nchains && from[c] != o->prov)
            c++;
        if (c == nchains) {
            from[c] = o->prov;
            to[c] = prov_append(&g->s->perm, o->prov, site);
            nchains++;
        }
        n->prov = to[c];
        map[o->id] = n;
    }
    Node *r = map[b->result->id];
    /* the body's activation sites (a user gate's), one copy per call, with
     * the call appended to their chain and named from their new nodes */
    for (int i = 0; i < t->nsites; i++) {
        Site st = t->sites[i];
        st.pre = map[st.pre->id], st.out = map[st.out->id];
        st.prov = prov_append(&g->s->perm, st.prov, site);
        VEC_PUSH(&g->s->perm, g->sites, g->nsites, g->capsites, st);
        site_name(g, &g->sites[g->nsites - 1]);
    }
    arena_reset(&g->s->scratch, mark);
    return r;
}

void graph_resolve_operands(Node *n) {
    for (int i = 0; i < n->nin; i++)
        n->in[i] = node_resolve(n->in[i]);
}

void graph_resolve_outputs(Graph *g) {
    for (int i = 0; i < g->noutputs; i++)
        g->outputs[i] = node_resolve(g->outputs[i]);
    for (int i = 0; i < g->nnodes; i++)
        graph_resolve_operands(g->nodes[i]);
}

void graph_count_uses(Graph *g) {
    for (int i = 0; i < g->nnodes; i++)
        g->nodes[i]->uses = 0;
    for (int i = 0; i < g->nnodes; i++)
        for (int j = 0; j < g->nodes[i]->nin; j++)
            g->nodes[i]->in[j]->uses++;
}

/* ---- printing ---- */

const char *graph_type_str(Graph *g, const Node *n) {
    switch (n->shape) {
    case SH_ROWS:
        if (g->batch_name)
            return arena_printf(&g->s->perm, "[%s, %lld]", g->batch_name, (long long)node_width(n));
        return arena_printf(&g->s->perm, "[%lld, %lld]", (long long)g->batch_value, (long long)node_width(n));
    case SH_VEC: return arena_printf(&g->s->perm, "[%lld]", (long long)node_width(n));
    case SH_SCALAR: return "scalar";
    }
    return "?";
}

static void print_node(Graph *g, StrBuf *sb, const Node *n) {
    const Source *src = n->span.file < (uint32_t)g->s->diag.nsources ? g->s->diag.sources[n->span.file] : NULL;
    sb_printf(sb, "  %%%d = %s", n->id, op_info[n->op].name);
    switch (n->op) {
    case OP_INPUT: sb_printf(sb, " %s", n->name); break;
    case OP_PARAM:
        sb_printf(sb, " %s", n->name);
        if (n->cols)
            sb_printf(sb, " [%lld, %lld]", (long long)n->rows, (long long)n->cols);
        else
            sb_printf(sb, " [%lld]", (long long)n->rows);
        if (n->lo != 0 || n->cnt != n->rows)
            sb_printf(sb, " rows %lld..%lld", (long long)n->lo, (long long)(n->lo + n->cnt));
        break;
    case OP_CONST:
        sb_putc(sb, ' ');
        sb_put_double(sb, n->p[0], false);
        break;
    case OP_CALL: sb_printf(sb, " %s", n->name); break;
    case OP_OUTPUT: sb_printf(sb, " %s", n->name); break;
    default: break;
    }
    for (int i = 0; i < n->nin; i++)
        sb_printf(sb, "%s%%%d", i ? ", " : " ", n->in[i]->id);
    if (n->op != OP_CONST)
        for (int i = 0; i < n->np; i++) {
            sb_puts(sb, i || n->nin ? ", " : " ");
            sb_put_double(sb, n->p[i], false);
        }
    if (n->op != OP_OUTPUT && n->op != OP_CONST && n->op != OP_PARAM)
        sb_printf(sb, " : %s", graph_type_str(g, n));
    if (src && n->span.end > 0) {
        uint32_t line, col;
        source_line_col(src, n->span.start, &line, &col);
        sb_printf(sb, "    # line %u", line);
        if (n->origin)
            sb_printf(sb, ", from %s", n->origin);
    }
    sb_putc(sb, '\n');
}

const char *graph_print(Graph *g) {
    StrBuf sb;
    sb_init(&sb, &g->s->perm);
    sb_printf(&sb, "graph %s {\n", g->name);
    for (int i = 0; i < g->nnodes; i++)
        print_node(g, &sb, g->nodes[i]);
    sb_puts(&sb, "}\n");
    return sb_str(&sb);
}
