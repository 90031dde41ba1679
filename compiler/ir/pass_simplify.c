/*
 * pass_simplify.c — local rewrites (docs/ir.md §4.2):
 *   - constant folding of elementwise ops whose operands are all constants
 *     (evaluated in double with the interpreter's semantics);
 *   - identities: x*1, 1*x, x/1, x-0, -(-x) and x*(-1) -> -x are exact in
 *     IEEE arithmetic; x+0 -> x and 0-x -> -x are exact except for the sign
 *     of a zero result (-0 + 0 is +0, 0 - 0 is +0), as with clang's
 *     -fno-signed-zeros; docs/ir.md §4.2 says so;
 *   - the builtins' formulas (forms.def), so a hand-written formula runs
 *     the builtin's accurate kernel: x*sigmoid(x) -> silu, x*sigmoid(c*x) ->
 *     swish(c), 0.5*x*(1 + erf(x/sqrt 2)) -> gelu, exp(x) - 1 -> expm1,
 *     max(x, 0) -> relu, ... (the table lists them all).  (A gate needs no
 *     pattern: fusion recognises sigmoid(a)*b and every other product of
 *     two projections structurally.)
 *
 * Requires: no OP_CALL (after inline).  Mutates: replaces nodes; operands
 * left without users are removed by dce.
 */
#include <math.h>

#include "ir.h"

static bool is_const(const Node *n, double v) { return n->op == OP_CONST && n->p[0] == v; }
/* +0 exactly (not -0): max(x, -0) is not relu and x - (-0) is not x at -0 */
static bool is_pos_zero(const Node *n) { return is_const(n, 0) && !signbit(n->p[0]); }

/* ---- the formulas of forms.def as patterns ---- */

typedef struct Bind {
    Node *x;
    double p[NODE_MAX_PARAMS];
    bool have[NODE_MAX_PARAMS];
} Bind;

/* a constant of the pattern against a constant node: equal to 1e-15
 * relative (a literal such as 0.7071067811865476 or 1 / sqrt(2.0) folded);
 * zero only with its sign (max(x, -0) is not relu) */
static bool same_const(double c, double v) {
    if (v == 0)
        return c == 0 && signbit(c) == signbit(v);
    return fabs(c - v) <= 1e-15 * fabs(v);
}

static bool match(const Form *f, Node *n, Bind *b);

/* a constant leaf (K or P) against the value v */
static bool match_value(const Form *f, double v, Bind *b) {
    if (f->leaf == FL_K)
        return same_const(v, f->k);
    int i = (int)f->k;
    if (b->have[i])
        return same_const(v, b->p[i]);
    b->have[i] = true;
    b->p[i] = v;
    return true;
}

static bool match_in_order(const Form *f, Node *n, int i0, int i1, Bind *b) {
    Bind save = *b;
    if (match(f->a[0], n->in[i0], b) && match(f->a[1], n->in[i1], b))
        return true;
    *b = save;
    return false;
}

static bool commutes(Op op) { return op == OP_ADD || op == OP_MUL || op == OP_MIN || op == OP_MAX; }

static bool match(const Form *f, Node *n, Bind *b) {
    switch (f->leaf) {
    case FL_X:
        if (b->x)
            return b->x == n;
        b->x = n;
        return true;
    case FL_K:
    case FL_P: return n->op == OP_CONST && match_value(f, n->p[0], b);
    case FL_NODE: break;
    }
    /* y * c also as y / (1 / c) */
    if (f->op == OP_MUL && n->op == OP_DIV && n->in[1]->op == OP_CONST)
        for (int i = 0; i < 2; i++)
            if (f->a[1 - i]->leaf == FL_K || f->a[1 - i]->leaf == FL_P) {
                Bind save = *b;
                if (match_value(f->a[1 - i], 1 / n->in[1]->p[0], b) && match(f->a[i], n->in[0], b))
                    return true;
                *b = save;
            }
    if (n->op != f->op)
        return false;
    for (int i = 0; i < f->np; i++)
        if (i >= n->np || n->p[i] != f->p[i])
            return false;
    if (n->nin == 2)
        return match_in_order(f, n, 0, 1, b) || (commutes(n->op) && match_in_order(f, n, 1, 0, b));
    Bind save = *b;
    for (int i = 0; i < n->nin; i++)
        if (!match(f->a[i], n->in[i], b)) {
            *b = save;
            return false;
        }
    return true;
}

/* n as the builtin whose formula (forms.def) it is, or NULL */
static Node *match_forms(Graph *g, Node *n) {
    int nrows;
    const OpForm *rows = form_rows(&nrows);
    for (int r = 0; r < nrows; r++) {
        Bind b = {0};
        if (rows[r].f->op != n->op || !match(rows[r].f, n, &b) || b.x->op == OP_CONST)
            continue;
        Node *m = node_new(g, rows[r].op, n->span, 1, b.x, NULL, NULL);
        m->np = form_nparams(rows[r].f);
        for (int i = 0; i < m->np; i++)
            m->p[i] = b.p[i];
        m->origin = n->origin;
        return m;
    }
    return NULL;
}

static Node *fold(Graph *g, Node *n) {
    double v[3] = {0, 0, 0};
    for (int i = 0; i < n->nin; i++)
        v[i] = n->in[i]->p[0];
    Node *c = node_const(g, n->span, ir_eval_op(n->op, n->p, v[0], v[1], v[2]));
    return c;
}

/* One rewrite of n, or n itself. */
static Node *simplify(Graph *g, Node *n) {
    if (!op_is_elementwise(n->op))
        return n;
    bool all_const = n->nin > 0;
    for (int i = 0; i < n->nin; i++)
        all_const = all_const && n->in[i]->op == OP_CONST;
    if (all_const && n->op != OP_PRELU)
        return fold(g, n);
    Node *a = n->in[0], *b = n->nin > 1 ? n->in[1] : NULL;
    switch (n->op) {
    case OP_ADD:
        if (is_const(b, 0) && a->shape <= b->shape)
            return a;
        if (is_const(a, 0) && b->shape <= a->shape)
            return b;
        break;
    case OP_SUB:
        if (is_pos_zero(b))
            return a;
        if (is_const(a, 0))
            return node_new(g, OP_NEG, n->span, 1, b, NULL, NULL);
        break;
    case OP_MUL: {
        if (is_const(b, 1))
            return a;
        if (is_const(a, 1))
            return b;
        if (is_const(b, -1))
            return node_new(g, OP_NEG, n->span, 1, a, NULL, NULL);
        if (is_const(a, -1))
            return node_new(g, OP_NEG, n->span, 1, b, NULL, NULL);
        break;
    }
    case OP_DIV:
        if (is_const(b, 1))
            return a;
        break;
    case OP_NEG:
        if (a->op == OP_NEG)
            return a->in[0];
        break;
    default: break;
    }
    Node *r = match_forms(g, n);
    return r ? r : n;
}

void pass_simplify(Graph *g) {
    int count;
    Node **old = graph_begin_rewrite(g, &count);
    for (int i = 0; i < count; i++) {
        Node *n = old[i];
        graph_resolve_operands(n);
        int first_new = g->next_id;
        Node *r = simplify(g, n);
        /* a rewrite may enable another on the node it just made (never on an
         * older node: its users were emitted already) */
        for (int k = 0; k < 4 && r != n && r->id >= first_new && r->op != OP_CONST; k++) {
            Node *r2 = simplify(g, r);
            if (r2 == r)
                break;
            node_replace(r, r2);
            r = r2;
        }
        if (r == n)
            graph_emit(g, n);
        else
            node_replace(n, r);
    }
    graph_resolve_outputs(g);
}
