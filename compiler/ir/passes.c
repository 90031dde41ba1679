/*
 * passes.c — the pass pipeline over the graph IR, in order (docs/ir.md §4).
 * Each pass is a function in its own file with a contract comment; this
 * table is the only place that decides their order.
 */
#include <string.h>

#include "ir.h"

const Pass ir_passes[] = {
    {"inline", pass_inline, "expand user-defined activations and gates into expression trees"},
    {"simplify", pass_simplify, "constant folding, algebraic identities, activation patterns"},
    {"cse", pass_cse, "common-subexpression elimination"},
    {"dce", pass_dce, "dead-code elimination"},
    {"fold-affine", pass_fold_affine, "batchnorm / affine folded into an adjacent dense layer's weight and bias"},
    {"split-matmul", pass_split_matmul, "split(dense(x)) -> one dense per part, sharing the weight"},
};
const int ir_npasses = (int)ARRAY_LEN(ir_passes);

bool passes_run(Graph *g, const char *stop) {
    for (int i = 0; i < ir_npasses; i++) {
        ArenaMark m = arena_mark(&g->s->scratch);
        ir_passes[i].run(g);
        arena_reset(&g->s->scratch, m);
        if (stop && strcmp(stop, ir_passes[i].name) == 0)
            return true;
    }
    return stop == NULL;
}
