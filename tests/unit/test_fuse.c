/*
 * test_fuse.c — the fusion rules of pass_fuse.c, positive and negative, each
 * checked structurally (kernel kinds, accumulators, outputs) and by running
 * the fused kernels against the unfused graph.
 */
#include <stdio.h>

#include "ir_helpers.h"

#define HEAD "const D = 8\nconst H = 12\n"

static Compiled fuse(const char *src) {
    Compiled c = compile_string(src);
    cr_assert(c.ok, "program does not check:\n%s", diag_render_text(&c.s->diag));
    TestWeights w = make_weights(c.model, 42, 0.5);
    double err = compare_interpreters(&c, &w, 5, 7);
    cr_expect_leq(err, 1e-12, "fused and unfused interpreters differ by %g\n%s", err, kgraph_report(c.kg));
    free_weights(&w);
    return c;
}

static int count_kind(KGraph *kg, KernelKind k) {
    int n = 0;
    for (int i = 0; i < kg->nkernels; i++)
        n += kg->kernels[i]->kind == k;
    return n;
}

Test(fuse, dense_bias_activation_is_one_kernel) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> f32[b, H] { return gelu(dense(x, H, name = \"p\")) * 2.0 }");
    cr_expect_eq(c.kg->nkernels, 1);
    Kernel *k = c.kg->kernels[0];
    cr_expect_eq(k->kind, K_DENSE);
    cr_expect_str_eq(ep_print(c.s, k, k->outs[0]), "mul(gelu(add(acc, p.bias)), 2)");
    compiled_free(&c);
}

Test(fuse, residual_add_in_epilogue) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> f32[b, D] {\n h = relu(dense(x, H, name = \"i\"))\n"
                           " return x + dense(h, D, name = \"o\")\n}");
    cr_expect_eq(c.kg->nkernels, 2);
    Kernel *k = c.kg->kernels[1];
    cr_expect_eq(k->kind, K_DENSE);
    cr_expect_str_eq(ep_print(c.s, k, k->outs[0]), "add(x, add(acc, o.bias))");
    compiled_free(&c);
}

Test(fuse, gate_on_two_projections_of_one_input) {
    const char *gates[] = {"glu", "bilinear", "reglu", "geglu", "geglu_tanh", "swiglu"};
    const char *want[] = {"mul(sigmoid(a), b)", "mul(a, b)", "mul(relu(a), b)", "mul(gelu(a), b)",
                          "mul(gelu_tanh(a), b)", "mul(silu(a), b)"};
    for (int i = 0; i < 6; i++) {
        char src[512];
        snprintf(src, sizeof src, HEAD "model m(x: f32[b, D]) -> f32[b, H] {\n"
                 " up = dense(x, H, bias = false)\n gate = dense(x, H, bias = false)\n"
                 " return %s(gate, up)\n}", gates[i]);
        Compiled c = fuse(src);
        cr_expect_eq(c.kg->nkernels, 1, "%s", gates[i]);
        Kernel *k = c.kg->kernels[0];
        cr_expect_eq(k->kind, K_GATED, "%s", gates[i]);
        /* the activated operand is a, whatever order the layers were written in */
        cr_expect_str_eq(k->w[0].name, "gate.weight", "%s", gates[i]);
        cr_expect_str_eq(k->w[1].name, "up.weight", "%s", gates[i]);
        cr_expect_str_eq(ep_print(c.s, k, k->outs[0]), want[i]);
        compiled_free(&c);
    }
}

Test(fuse, split_of_one_dense_is_a_gated_kernel_on_row_slices) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> f32[b, H] {\n"
                           " g, u = split(dense(x, 2 * H, name = \"gate_up\"), 2)\n return swiglu(g, u)\n}");
    cr_expect_eq(c.kg->nkernels, 1);
    Kernel *k = c.kg->kernels[0];
    cr_expect_eq(k->kind, K_GATED);
    cr_expect_eq(k->w[0].lo, 0);
    cr_expect_eq(k->w[1].lo, 12);
    cr_expect_eq(k->w[0].rows, 12);
    cr_expect_str_eq(ep_print(c.s, k, k->outs[0]), "mul(silu(add(a, gate_up.bias[0:12])), add(b, gate_up.bias[12:24]))");
    compiled_free(&c);
}

Test(fuse, one_argument_glu_on_dense) {
    /* torch.nn.functional.glu: first half * sigmoid(second half) */
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> f32[b, H] { return glu(dense(x, 2 * H, name = \"p\")) }");
    cr_expect_eq(c.kg->nkernels, 1);
    Kernel *k = c.kg->kernels[0];
    cr_expect_eq(k->kind, K_GATED);
    cr_expect_eq(k->w[0].lo, 12); /* a, the activated (sigmoid) half */
    cr_expect_eq(k->w[1].lo, 0);
    compiled_free(&c);
}

Test(fuse, projections_of_different_inputs_are_not_one_kernel) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D], y: f32[b, D]) -> f32[b, H] {\n"
                           " return swiglu(dense(x, H, name = \"p\"), dense(y, H, name = \"q\"))\n}");
    cr_expect_eq(count_kind(c.kg, K_GATED), 0);
    cr_expect_eq(count_kind(c.kg, K_DENSE), 2);
    compiled_free(&c);
}

Test(fuse, pre_activation_also_returned_is_a_second_output) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> (pre: f32[b, H], post: f32[b, H]) {\n"
                           " pre = dense(x, H)\n return pre, silu(pre)\n}");
    cr_expect_eq(c.kg->nkernels, 1);
    Kernel *k = c.kg->kernels[0];
    cr_expect_eq(k->kind, K_DENSE);
    cr_expect_eq(k->nouts, 2);
    cr_expect_eq(c.kg->nnotes, 0);
    compiled_free(&c);
}

Test(fuse, matmul_result_used_twice_is_computed_once) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> (a: f32[b, H], c: f32[b, H]) {\n"
                           " h = dense(x, H)\n return relu(h), gelu(h)\n}");
    cr_expect_eq(c.kg->nkernels, 1);
    cr_expect_eq(c.kg->kernels[0]->nouts, 2);
    /* h itself is not stored: nothing reads it */
    for (int j = 0; j < c.kg->kernels[0]->nouts; j++)
        cr_expect_eq(c.kg->kernels[0]->out_vals[j]->kind, V_OUTPUT);
    compiled_free(&c);
}

Test(fuse, activation_on_an_input_is_elementwise_with_a_note) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> f32[b, D] { return mish(x) }");
    cr_expect_eq(c.kg->nkernels, 1);
    cr_expect_eq(c.kg->kernels[0]->kind, K_ELEMENTWISE);
    cr_assert_eq(c.kg->nnotes, 1);
    cr_expect(strstr(c.kg->notes[0], "mish not fused into a matmul"), "%s", c.kg->notes[0]);
    cr_expect(strstr(c.kg->notes[0], "model input 'x'"), "%s", c.kg->notes[0]);
    compiled_free(&c);
}

Test(fuse, activation_after_softmax_has_a_note) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> f32[b, D] { return tanh(softmax(dense(x, D, name = \"p\"))) }");
    cr_expect_eq(c.kg->nkernels, 3);
    cr_assert_eq(c.kg->nnotes, 1);
    cr_expect(strstr(c.kg->notes[0], "follows the row-wise op softmax"), "%s", c.kg->notes[0]);
    compiled_free(&c);
}

/* q is on another input: each activation stays with its own matmul and the
 * sum joins the last kernel (r cannot pair with p: it needs q's result,
 * computed after p); nothing is left unfused. */
Test(fuse, three_matmuls_keep_activations_with_their_matmul) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D], y: f32[b, D]) -> f32[b, H] {\n"
                           " return relu(dense(x, H, name = \"p\")) + gelu(dense(y, H, name = \"q\"))"
                           " + silu(dense(x, H, name = \"r\"))\n}");
    cr_expect_eq(c.kg->nkernels, 3);
    cr_expect_eq(count_kind(c.kg, K_DENSE), 3);
    cr_expect_eq(c.kg->nnotes, 0, "%s", kgraph_report(c.kg));
    compiled_free(&c);
}

Test(fuse, row_op_absorbs_its_elementwise_prologue) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> f32[b, D] { return softmax(x * 0.5 + 1.0) }");
    cr_expect_eq(c.kg->nkernels, 1);
    cr_expect_eq(c.kg->kernels[0]->kind, K_ROW);
    compiled_free(&c);
}

Test(fuse, returning_an_input_copies_it) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> (a: f32[b, D], c: f32[b, D]) { return x, x }");
    cr_expect_eq(c.kg->nkernels, 2);
    cr_expect_neq(c.kg->outputs[0], c.kg->outputs[1]);
    compiled_free(&c);
}

Test(fuse, split_of_an_activated_tensor_reads_slices) {
    Compiled c = fuse(HEAD "model m(x: f32[b, D]) -> f32[b, H] {\n"
                           " t = relu(dense(x, 2 * H, name = \"p\"))\n g, u = split(t, 2)\n return g * u\n}");
    /* the split is of an activation, not of the matmul: t is stored */
    cr_expect_eq(c.kg->nkernels, 2);
    compiled_free(&c);
}
