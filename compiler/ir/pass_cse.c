/*
 * pass_cse.c — common-subexpression elimination by hash-consing: two nodes
 * with the same opcode, operands, constants and names compute the same
 * value; the later one is replaced by the earlier.  Operands of commutative
 * ops are compared as a set.  Inputs and outputs are never merged.
 *
 * Requires: nothing.  Mutates: operands (resolved), g->nodes (duplicates
 * dropped).  Invalidates: use counts.
 */
#include <string.h>

#include "ir.h"

static bool commutative(Op op) {
    return op == OP_ADD || op == OP_MUL || op == OP_MIN || op == OP_MAX || op == OP_EQ || op == OP_NE;
}

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static uint64_t node_hash(const Node *n) {
    uint64_t h = mix(0, (uint64_t)n->op);
    uint64_t ops = 0;
    for (int i = 0; i < n->nin; i++)
        ops = commutative(n->op) ? ops + (uint64_t)n->in[i]->id * 0x100000001b3ull
                                 : mix(ops, (uint64_t)n->in[i]->id);
    h = mix(h, ops);
    for (int i = 0; i < n->np; i++) {
        uint64_t bits;
        memcpy(&bits, &n->p[i], sizeof bits);
        h = mix(h, bits);
    }
    h = mix(h, hash_str(n->name));
    h = mix(h, (uint64_t)n->lo);
    return mix(h, (uint64_t)n->cnt);
}

static bool same_operands(const Node *a, const Node *b) {
    if (a->nin != b->nin)
        return false;
    bool same = true;
    for (int i = 0; i < a->nin; i++)
        same = same && a->in[i] == b->in[i];
    if (same || !commutative(a->op) || a->nin != 2)
        return same;
    return a->in[0] == b->in[1] && a->in[1] == b->in[0];
}

static bool node_equal(const Node *a, const Node *b) {
    if (a->op != b->op || a->np != b->np || a->shape != b->shape || node_width(a) != node_width(b) || !same_operands(a, b))
        return false;
    /* bitwise: -0.0 and 0.0 differ, NaN constants are equal to themselves */
    if (memcmp(a->p, b->p, sizeof(double) * (size_t)a->np) != 0)
        return false;
    if ((a->name == NULL) != (b->name == NULL) || (a->name && strcmp(a->name, b->name) != 0))
        return false;
    return a->lo == b->lo && a->cnt == b->cnt && a->rows == b->rows && a->cols == b->cols;
}

void pass_cse(Graph *g) {
    int n;
    Node **old = graph_begin_rewrite(g, &n);
    size_t cap = 16;
    while (cap < (size_t)n * 2)
        cap *= 2;
    Node **table = NEW_ARRAY(&g->s->scratch, Node *, cap);
    for (int i = 0; i < n; i++) {
        Node *node = old[i];
        graph_resolve_operands(node);
        if (node->op == OP_INPUT || node->op == OP_OUTPUT) {
            graph_emit(g, node);
            continue;
        }
        size_t k = (size_t)node_hash(node) & (cap - 1);
        while (table[k] && !node_equal(table[k], node))
            k = (k + 1) & (cap - 1);
        if (table[k]) {
            node_replace(node, table[k]);
            continue;
        }
        table[k] = node;
        graph_emit(g, node);
    }
    graph_resolve_outputs(g);
}
