/*
 * test_provenance.c — call chains (Node.prov, Ep.prov, Kernel.srcs): a node
 * inlined from a user function keeps every call it came through, innermost
 * first, so two calls of one function stay distinguishable after fusion.
 */
#include "ir_helpers.h"

/* line 3: the activation; line 4: the gate, which calls it; lines 6 and 7:
 * the two model calls of the gate */
static const char *SRC = "const D = 8\nconst H = 12\n"
                         "activation act(x) = x * sigmoid(x)\n"
                         "gate g(a, b) = act(a) * b\n"
                         "model m(x: f32[b, D]) -> f32[b, H] {\n"
                         " u = g(dense(x, H, name = \"g1\"), dense(x, H, name = \"u1\"))\n"
                         " v = g(dense(x, H, name = \"g2\"), dense(x, H, name = \"u2\"))\n"
                         " return u + v * 2.0\n"
                         "}\n";

static uint32_t line(Compiled *c, Span sp) {
    uint32_t l = 0, col;
    source_line_col(c->s->diag.sources[sp.file], sp.start, &l, &col);
    return l;
}

/* every epilogue node of op `op` in the kernel graph */
static int find_eps(Compiled *c, Op op, const Ep **out, int max) {
    int n = 0;
    for (int i = 0; i < c->kg->nkernels; i++) {
        int m;
        Ep **list = ep_postorder(&c->s->scratch, c->kg->kernels[i], &m);
        for (int j = 0; j < m; j++)
            if (list[j]->op == op && n < max)
                out[n++] = list[j];
    }
    return n;
}

Test(provenance, nested_calls_keep_the_whole_chain) {
    Compiled c = compile_string(SRC);
    cr_assert(c.ok, "program does not check:\n%s", diag_render_text(&c.s->diag));
    /* simplify rewrites act's x * sigmoid(x) into silu(x), which inherits
     * the replaced mul's chain (node_replace) */
    const Ep *sig[4];
    int n = find_eps(&c, OP_SILU, sig, 4);
    cr_assert_eq(n, 2, "one silu per model call");
    uint32_t outer[2];
    for (int i = 0; i < 2; i++) {
        const Prov *p = sig[i]->prov;
        cr_assert_eq(prov_depth(p), 2, "act inside g inside the model: two calls");
        cr_expect_eq(line(&c, p->call), 4, "innermost: the call of act in g's body");
        cr_expect_eq(line(&c, sig[i]->span), 3, "its own span: in act's body");
        outer[i] = line(&c, p->up->call);
        cr_expect_eq(line(&c, sig[i]->site), outer[i], "Ep.site is the outermost call");
    }
    cr_expect((outer[0] == 6 && outer[1] == 7) || (outer[0] == 7 && outer[1] == 6), "model calls: lines %u, %u",
              outer[0], outer[1]);
    cr_expect(!prov_equal(sig[0]->prov, sig[1]->prov));
    compiled_free(&c);
}

Test(provenance, model_nodes_have_no_chain) {
    Compiled c = compile_string(SRC);
    cr_assert(c.ok);
    const Ep *adds[16];
    int n = find_eps(&c, OP_ADD, adds, 16);
    cr_assert_geq(n, 1);
    for (int i = 0; i < n; i++) /* biases and u + v: written in the model */
        cr_expect_null(adds[i]->prov, "add at line %u", line(&c, adds[i]->span));
    const Ep *muls[16];
    int nm = find_eps(&c, OP_MUL, muls, 16), twice = 0;
    for (int i = 0; i < nm; i++)
        if (muls[i]->in[1]->op == OP_CONST && muls[i]->in[1]->p[0] == 2.0) { /* v * 2.0 */
            cr_expect_null(muls[i]->prov);
            twice++;
        }
    cr_expect_eq(twice, 1);
    for (int i = 0; i < c.opt->nnodes; i++) {
        const Node *nd = c.opt->nodes[i];
        if (nd->op == OP_MATMUL || nd->op == OP_INPUT || nd->op == OP_PARAM)
            cr_expect_null(nd->prov);
        if (nd->op == OP_SILU)
            cr_expect_eq(prov_depth(nd->prov), 2);
        if (nd->op == OP_MUL && nd->in[0]->op == OP_SILU) /* g's `* b` */
            cr_expect_eq(prov_depth(nd->prov), 1);
    }
    compiled_free(&c);
}

Test(provenance, kernels_list_their_sources) {
    Compiled c = compile_string(SRC);
    cr_assert(c.ok);
    int chains[8] = {0}; /* kernels' sources by (depth, outer line) */
    for (int i = 0; i < c.kg->nkernels; i++) {
        const Kernel *k = c.kg->kernels[i];
        for (int j = 0; j < k->nsrcs; j++) {
            const KSource *a = &k->srcs[j];
            if (j)
                cr_expect_lt(k->srcs[j - 1].node, a->node, "node order");
            for (int q = 0; q < j; q++) /* distinct */
                cr_expect(!(k->srcs[q].span.start == a->span.start && prov_equal(k->srcs[q].prov, a->prov)));
            if (prov_depth(a->prov) == 2 && line(&c, a->span) == 3 && line(&c, a->prov->call) == 4) {
                uint32_t l = line(&c, a->prov->up->call);
                cr_assert(l == 6 || l == 7);
                chains[l - 6]++;
            }
        }
    }
    /* act's body (silu after simplify) once per model call */
    cr_expect_eq(chains[0], 1);
    cr_expect_eq(chains[1], 1);
    compiled_free(&c);
}
