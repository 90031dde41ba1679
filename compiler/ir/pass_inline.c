/*
 * pass_inline.c — replace every OP_CALL of a user activation or gate by a
 * copy of the callee's body (language.md §5.2): the Body that lower.c made
 * once for the call's instance, with the constant parameters already
 * substituted and the calls inside it already copied in.  IR into IR: the
 * pass does not look at the AST.
 *
 * Requires: the graph from lower_model().  Mutates: replaces every OP_CALL;
 * afterwards the graph has no OC_CALL node.  Dead CALL nodes are dropped.
 */
#include "ir.h"

void pass_inline(Graph *g) {
    int n;
    Node **old = graph_begin_rewrite(g, &n);
    for (int i = 0; i < n; i++) {
        Node *node = old[i];
        graph_resolve_operands(node);
        if (node->op != OP_CALL) {
            graph_emit(g, node);
            continue;
        }
        Node *args[3] = {node->in[0], node->in[1], node->in[2]};
        /* the body's nodes remember the call (Node.prov) */
        node_replace(node, graph_inline(g, node->body, args, node->span, node->prov));
    }
    graph_resolve_outputs(g);
    sites_sort(g); /* the copies of gate bodies' sites came at the end */
}
