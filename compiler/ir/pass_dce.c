/*
 * pass_dce.c — dead-code elimination: keep the nodes that an output depends
 * on, and the inputs (they are part of the model's signature).
 *
 * Requires: operands resolved (no repl chains).  Mutates: g->nodes.
 */
#include "ir.h"

void pass_dce(Graph *g) {
    graph_resolve_outputs(g);
    for (int i = 0; i < g->nnodes; i++)
        g->nodes[i]->mark = false;
    for (int i = 0; i < g->noutputs; i++)
        g->outputs[i]->mark = true;
    /* reverse topological order: a marked node marks its operands */
    for (int i = g->nnodes - 1; i >= 0; i--) {
        Node *n = g->nodes[i];
        if (n->mark || n->op == OP_INPUT)
            for (int j = 0; j < n->nin; j++)
                n->in[j]->mark = true;
    }
    int n;
    Node **old = graph_begin_rewrite(g, &n);
    for (int i = 0; i < n; i++)
        if (old[i]->mark || old[i]->op == OP_INPUT)
            graph_emit(g, old[i]);
}
