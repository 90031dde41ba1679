/*
 * pass_inline.c — expand every OP_CALL of a user activation or gate into the
 * expression tree of its body, with the operands bound to the call's operand
 * nodes and the constant parameters substituted as constants
 * (language.md §5.2).  Calls inside bodies are expanded recursively; there
 * is no recursion between user functions (check.c rejects it), so this
 * terminates.
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
        LowerEnv env = {.g = g, .inline_calls = true};
        Node *args[3] = {node->in[0], node->in[1], node->in[2]};
        int first = g->nnodes;
        node_replace(node, lower_call_user(&env, node->callee, node->span, args, node->p));
        for (int j = first; j < g->nnodes; j++) /* the body's nodes: remember the call */
            if (g->nodes[j]->site.end == 0)
                g->nodes[j]->site = node->site.end ? node->site : node->span;
    }
    graph_resolve_outputs(g);
}
