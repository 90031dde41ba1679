/*
 * test_fuse_property.c — property test of the whole IR pipeline: for 200
 * randomly generated models (seeded: random chains of builtin activations,
 * gates on two projections or on a split, residuals, user functions, row-wise
 * ops, elementwise expressions, small and odd widths), the fused kernel graph
 * and the unfused graph (lowered + inlined only) compute the same outputs
 * within 1e-12 * (1 + |ref|).
 *
 * Why 1e-12: both interpreters work in double and run the same matmul loop
 * order; they differ only where the passes rewrote a formula into an
 * equivalent builtin (x*sigmoid(x) -> silu, ...), a few double ULP
 * (~1e-16 relative) amplified at most by the following layers.
 */
#include <stdio.h>

#include "gen_model.h"

Test(property, fused_equals_unfused_on_200_random_models, .timeout = 120) {
    int gated = 0, dense = 0, rows = 0, notes = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        int nout;
        char *src = gen_model(seed, &nout);
        Compiled c = compile_string(src);
        cr_assert(c.ok, "seed %llu: generated program does not check:\n%s\n%s", (unsigned long long)seed, src,
                  diag_render_text(&c.s->diag));
        for (int i = 0; i < c.kg->nkernels; i++) {
            gated += c.kg->kernels[i]->kind == K_GATED;
            dense += c.kg->kernels[i]->kind == K_DENSE;
            rows += c.kg->kernels[i]->kind == K_ROW;
        }
        notes += c.kg->nnotes;
        TestWeights w = make_weights(c.model, seed, 0.5);
        int64_t batch = 1 + (int64_t)(seed % 7);
        double err = compare_interpreters(&c, &w, batch, seed + 1000);
        cr_assert_leq(err, 1e-12, "seed %llu: fused and unfused differ by %g\n%s\n%s", (unsigned long long)seed, err,
                      src, kgraph_report(c.kg));
        free_weights(&w);
        compiled_free(&c);
        free(src);
    }
    /* the generator must actually exercise every kind of kernel */
    cr_expect_geq(gated, 40, "only %d gated kernels", gated);
    cr_expect_geq(dense, 200, "only %d dense kernels", dense);
    cr_expect_geq(rows, 20, "only %d row kernels", rows);
    fprintf(stderr, "property: 200 models, %d fused_dense, %d fused_gated_dense, %d row kernels, %d notes\n", dense,
            gated, rows, notes);
}
