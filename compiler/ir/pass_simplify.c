/*
 * pass_simplify.c — local rewrites (docs/ir.md §4.2):
 *   - constant folding of elementwise ops whose operands are all constants
 *     (evaluated in double with the interpreter's semantics);
 *   - identities: x*1, 1*x, x/1, x-0, -(-x) and x*(-1) -> -x are exact in
 *     IEEE arithmetic; x+0 -> x and 0-x -> -x are exact except for the sign
 *     of a zero result (-0 + 0 is +0, 0 - 0 is +0), as with clang's
 *     -fno-signed-zeros; docs/ir.md §4.2 says so;
 *   - activation patterns, so a hand-written formula runs the builtin's
 *     accurate kernel: x*sigmoid(x) -> silu, x*sigmoid(c*x) -> swish(c),
 *     x*tanh(softplus(x)) -> mish, max(x, 0) -> relu, min(relu(x), 6) ->
 *     relu6, x - tanh(x) -> tanhshrink, 0.5*x*(1 + erf(x/sqrt 2)) -> gelu.
 *     (A gate needs no pattern: fusion recognises sigmoid(a)*b and every
 *     other product of two projections structurally.)
 *
 * Requires: no OP_CALL (after inline).  Mutates: replaces nodes; operands
 * left without users are removed by dce.
 */
#include <math.h>

#include "ir.h"

static bool is_const(const Node *n, double v) { return n->op == OP_CONST && n->p[0] == v; }
/* +0 exactly (not -0): max(x, -0) is not relu and x - (-0) is not x at -0 */
static bool is_pos_zero(const Node *n) { return is_const(n, 0) && !signbit(n->p[0]); }

static Node *mk_unary(Graph *g, Op op, Node *like, Node *x, double p0, int np) {
    Node *n = node_new(g, op, like->span, 1, x, NULL, NULL);
    n->p[0] = p0;
    n->np = np;
    n->origin = like->origin;
    return n;
}

/* The other operand of a commutative binary node when one is `x`. */
static Node *other(const Node *n, const Node *x) {
    return n->in[0] == x ? n->in[1] : n->in[1] == x ? n->in[0] : NULL;
}

/* x * f: when f is sigmoid(x) -> silu; sigmoid(c*x) -> swish(c);
 * tanh(softplus(x)) -> mish (PyTorch's mish uses softplus(beta 1, threshold 20)). */
static Node *match_x_times(Graph *g, Node *mul, Node *x, Node *f) {
    if (f->op == OP_SIGMOID && f->in[0] == x)
        return mk_unary(g, OP_SILU, mul, x, 0, 0);
    if (f->op == OP_SIGMOID && f->in[0]->op == OP_MUL) {
        Node *c = other(f->in[0], x);
        if (c && c->op == OP_CONST && c != x)
            return c->p[0] == 1 ? mk_unary(g, OP_SILU, mul, x, 0, 0) : mk_unary(g, OP_SWISH, mul, x, c->p[0], 1);
    }
    if (f->op == OP_TANH && f->in[0]->op == OP_SOFTPLUS && f->in[0]->in[0] == x && f->in[0]->p[0] == 1 &&
        f->in[0]->p[1] == 20)
        return mk_unary(g, OP_MISH, mul, x, 0, 0);
    return NULL;
}

/* s == x / sqrt(2) or x * (1 / sqrt(2)), returning x. */
static Node *scaled_by_rsqrt2(Node *s) {
    const double r2 = 1.4142135623730951, ir2 = 0.70710678118654752;
    if (s->op == OP_DIV && s->in[1]->op == OP_CONST && fabs(s->in[1]->p[0] - r2) <= 1e-15)
        return s->in[0];
    if (s->op == OP_MUL)
        for (int i = 0; i < 2; i++)
            if (s->in[i]->op == OP_CONST && fabs(s->in[i]->p[0] - ir2) <= 1e-15)
                return s->in[1 - i];
    return NULL;
}

/* (0.5 * x) * (1 + erf(x / sqrt 2)), any operand order -> gelu(x). */
static Node *match_gelu(Graph *g, Node *mul) {
    for (int i = 0; i < 2; i++) {
        Node *half = mul->in[i], *one = mul->in[1 - i];
        if (half->op != OP_MUL || one->op != OP_ADD)
            continue;
        Node *x = is_const(half->in[0], 0.5) ? half->in[1] : is_const(half->in[1], 0.5) ? half->in[0] : NULL;
        Node *e = is_const(one->in[0], 1) ? one->in[1] : is_const(one->in[1], 1) ? one->in[0] : NULL;
        if (x && e && e->op == OP_ERF && scaled_by_rsqrt2(e->in[0]) == x)
            return mk_unary(g, OP_GELU, mul, x, 0, 0);
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
        if (b->op == OP_TANH && b->in[0] == a)
            return mk_unary(g, OP_TANHSHRINK, n, a, 0, 0);
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
        Node *r = match_x_times(g, n, a, b);
        if (!r)
            r = match_x_times(g, n, b, a);
        if (!r)
            r = match_gelu(g, n);
        if (r)
            return r;
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
    case OP_MAX:
        if (is_pos_zero(b) && a->op != OP_CONST)
            return mk_unary(g, OP_RELU, n, a, 0, 0);
        if (is_pos_zero(a) && b->op != OP_CONST)
            return mk_unary(g, OP_RELU, n, b, 0, 0);
        break;
    case OP_MIN: {
        Node *r = is_const(b, 6) ? a : is_const(a, 6) ? b : NULL;
        if (r && r->op == OP_RELU)
            return mk_unary(g, OP_RELU6, n, r->in[0], 0, 0);
        break;
    }
    default: break;
    }
    return n;
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
