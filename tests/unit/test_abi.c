/*
 * test_abi.c — the tables behind the runtime ABI agree with their users:
 * the kernel table (include/actc/kernels.def) with the IR's KernelKind, the
 * report, the public ACTRT_KERNEL_* enum, the descriptions the code
 * generator fills, and the runtime's work estimate.
 */
#include <stdio.h>
#include <string.h>

#include "ir_helpers.h"

/* Every row: the IR kind has the public value, the name is unique and is
 * what the report prints. */
Test(abi, kernel_table_agrees_with_the_ir_and_the_runtime) {
    int ids[] = {
#define ACTRT_KERNEL(id, name, projections, row_ops) K_##id,
#include "actc/kernels.def"
#undef ACTRT_KERNEL
    };
    int pub[] = {
#define ACTRT_KERNEL(id, name, projections, row_ops) ACTRT_KERNEL_##id,
#include "actc/kernels.def"
#undef ACTRT_KERNEL
    };
    const char *names[] = {
#define ACTRT_KERNEL(id, name, projections, row_ops) name,
#include "actc/kernels.def"
#undef ACTRT_KERNEL
    };
    int n = (int)(sizeof ids / sizeof ids[0]);
    cr_assert_eq(n, K_COUNT);
    cr_assert_eq(n, ACTRT_KERNEL_COUNT);
    for (int i = 0; i < n; i++) {
        cr_expect_eq(ids[i], i, "kind %s", names[i]);
        cr_expect_eq(pub[i], i, "kind %s", names[i]);
        const actrt_kernel_kind *k = actrt_kernel_kind_of(i);
        cr_assert(k, "kind %d has no row", i);
        cr_expect_str_eq(k->name, names[i]);
        cr_expect_str_eq(kernel_kind_name((KernelKind)i), names[i]);
        for (int j = 0; j < i; j++)
            cr_expect_str_neq(names[j], names[i]);
    }
    cr_expect_null(actrt_kernel_kind_of(-1));
    cr_expect_null(actrt_kernel_kind_of(n));
    cr_expect_eq(kernel_projections(K_DENSE), 1);
    cr_expect_eq(kernel_projections(K_GATED), 2);
    cr_expect(!kernel_is_matmul(K_ELEMENTWISE) && !kernel_is_matmul(K_ROW));
}

/* Each kind built by fusion: its accumulator count is the table's
 * projections, and the report names it by the table's name. */
Test(abi, fused_kernels_have_their_kinds_projections) {
    Compiled c = compile_string("const D = 8\nconst H = 12\n"
                                "model m(x: f32[b, D]) -> f32[b, D] {\n"
                                "  h = swiglu(dense(x, H, name = \"g\"), dense(x, H, name = \"u\"))\n"
                                "  y = dense(h, D, name = \"d\") + x\n"
                                "  z = relu(layernorm(y, name = \"n\"))\n"
                                "  return softmax(z * 2.0 + x) \n}");
    cr_assert(c.ok, "%s", diag_render_text(&c.s->diag));
    int seen[K_COUNT] = {0};
    const char *report = kgraph_report(c.kg);
    for (int i = 0; i < c.kg->nkernels; i++) {
        const Kernel *k = c.kg->kernels[i];
        cr_assert(k->kind >= 0 && k->kind < K_COUNT);
        seen[k->kind]++;
        cr_expect_eq(k->nacc, kernel_projections(k->kind), "kernel %d (%s)", i, kernel_kind_name(k->kind));
        char line[64];
        snprintf(line, sizeof line, "kernel %d: %s", k->id, kernel_kind_name(k->kind));
        cr_expect(strstr(report, line), "report lacks '%s':\n%s", line, report);
    }
    cr_expect(seen[K_GATED] >= 1 && seen[K_DENSE] >= 1 && seen[K_ROW] >= 1, "%s", report);
    compiled_free(&c);
}

/* The runtime's estimate, from the table: n * (projections * k + row_ops). */
Test(abi, work_estimate_follows_the_table) {
    actrt_kernel_info d = {.kind = ACTRT_KERNEL_DENSE, .n = 100, .k = 30};
    actrt_kernel_info g = {.kind = ACTRT_KERNEL_GATED, .n = 100, .k = 30};
    actrt_kernel_info e = {.kind = ACTRT_KERNEL_ELEMENTWISE, .n = 100};
    actrt_kernel_info bad = {.kind = 77, .n = 100, .k = 30};
    cr_expect_eq(actrt_kernel_row_work(&d), 3000.0);
    cr_expect_eq(actrt_kernel_row_work(&g), 6000.0);
    cr_expect_eq(actrt_kernel_row_work(&e), 800.0);
    cr_expect_eq(actrt_kernel_row_work(&bad), 0.0);
    cr_expect_eq(actrt_kernel_row_work(NULL), 0.0);
}

/* The target descriptor (target.c) reproduces the tiles the kernels were
 * tuned with, per ISA, and carries the math library's capabilities. */
#include "codegen/codegen.h"

static Target target_for(const char *triple, const char *cpu) {
    Target t;
    char err[256];
    cr_assert_eq(target_init(&t, triple, cpu, NULL, 0, err, sizeof err), ACTC_OK, "%s", err);
    return t;
}

Test(abi, target_descriptor_tiles_per_isa) {
    struct {
        const char *triple, *cpu;
        int vlen, nregs, dense_mr, dense_nr, gated_mr, gated_nr, row_tile, scalef;
        bool fma;
    } want[] = {
        /* params.c: v4 and v3 from the table (measured), v2 and aarch64
         * analytical (the most accumulators that leave room for the weight
         * vectors and a broadcast, taller tiles among equals) */
        {"x86_64-unknown-linux-gnu", "x86-64-v4", 16, 32, 8, 3, 6, 2, 8, 16, true},
        {"x86_64-unknown-linux-gnu", "x86-64-v3", 8, 16, 4, 3, 6, 1, 6, 0, true}, /* the table */
        {"x86_64-unknown-linux-gnu", "x86-64-v2", 4, 16, 6, 2, 6, 1, 6, 0, false},
        {"aarch64-unknown-linux-gnu", "generic", 4, 32, 8, 3, 6, 2, 8, 0, true},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        Target t = target_for(want[i].triple, want[i].cpu);
        cr_expect_eq(t.vlen, want[i].vlen, "%s", want[i].cpu);
        cr_expect_eq(t.nregs, want[i].nregs, "%s", want[i].cpu);
        cr_expect_eq(t.kp[K_DENSE].mr, want[i].dense_mr, "%s", want[i].cpu);
        cr_expect_eq(t.kp[K_DENSE].nr, want[i].dense_nr, "%s", want[i].cpu);
        cr_expect_eq(t.kp[K_GATED].mr, want[i].gated_mr, "%s", want[i].cpu);
        cr_expect_eq(t.kp[K_GATED].nr, want[i].gated_nr, "%s", want[i].cpu);
        cr_expect_eq(t.kp[K_ELEMENTWISE].mr, 0);
        cr_expect_eq(t.row_tile, want[i].row_tile, "%s", want[i].cpu);
        cr_expect_eq(t.caps.scalef_lanes, want[i].scalef, "%s", want[i].cpu);
        cr_expect_eq(t.caps.fma, want[i].fma, "%s", want[i].cpu);
        /* the accumulators and the broadcast fit the registers (weight
         * vectors may be memory operands of the FMAs) */
        for (int k = K_DENSE; k <= K_GATED; k++) {
            int p = kernel_projections((KernelKind)k);
            cr_expect_leq(t.kp[k].mr * t.kp[k].nr * p + t.kp[k].nr * p + 1, t.nregs, "%s kind %d", want[i].cpu, k);
        }
        target_dispose(&t);
    }
}

/* The LLVM types aot.c emits descriptions with (abi.c) have the C layout of
 * runtime.h on every target an object can be built for: each field at its
 * offsetof, each struct of its sizeof.  A field added to runtime.h but not
 * to the table moves a later offset or the size. */
Test(abi, llvm_layout_of_the_descriptor_structs_is_the_c_layout) {
    const char *triples[] = {"x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"};
    for (size_t ti = 0; ti < sizeof triples / sizeof triples[0]; ti++) {
        Target t = target_for(triples[ti], "generic");
        CG cg;
        cg_init(&cg, &t, "abi");
        LLVMTargetDataRef td = LLVMCreateTargetDataLayout(t.tm);
        int nstructs = 0;
        for (const AbiStruct *const *sp = abi_structs; *sp; sp++, nstructs++) {
            const AbiStruct *s = *sp;
            LLVMTypeRef ty = abi_llvm_type(&cg, s);
            cr_expect_eq(LLVMCountStructElementTypes(ty), (unsigned)s->nfields, "%s", s->name);
            cr_expect_eq(LLVMABISizeOfType(td, ty), s->size, "%s on %s: LLVM %llu bytes, C %zu", s->name,
                         triples[ti], (unsigned long long)LLVMABISizeOfType(td, ty), s->size);
            for (int i = 0; i < s->nfields; i++)
                cr_expect_eq(LLVMOffsetOfElement(td, ty, (unsigned)i), s->fields[i].offset, "%s.%s on %s", s->name,
                             s->fields[i].name, triples[ti]);
        }
        cr_expect_eq(nstructs, 8);
        LLVMDisposeTargetData(td);
        cg_dispose(&cg);
        target_dispose(&t);
    }
    /* the table's sizes are the header's */
    cr_expect_eq(abi_desc.size, sizeof(actrt_desc));
    cr_expect_eq(abi_tensor.size, sizeof(actrt_tensor_desc));
    cr_expect_eq(abi_port.size, sizeof(actrt_port_desc));
    cr_expect_eq(abi_weight.size, sizeof(actrt_weight_desc));
    cr_expect_eq(abi_kernel_info.size, sizeof(actrt_kernel_info));
}

/* The one descriptor builder: a JIT model's description states the
 * model's signature, tensors (rank and shape), element types and the
 * target's row tile. */
#include "actc/actc.h"

Test(abi, jit_description_has_shapes_types_and_row_tile) {
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    const char *src = "model m(x: f32[n, 6]) -> f32[n, 4] {\n  return softmax(gelu(dense(x, 4, name = \"fc\")))\n}\n";
    cr_assert_eq(actc_check_source(s, "d.act", src, strlen(src)), ACTC_OK, "%s", actc_last_error(s));
    actc_jit_model *j;
    cr_assert_eq(actc_jit_compile(s, NULL, NULL, &j), ACTC_OK, "%s", actc_last_error(s));
    const actrt_desc *d = actc_jit_desc(j);
    cr_expect_eq(d->abi_version, ACTRT_ABI_VERSION);
    cr_expect_eq(d->inputs[0].rank, 2);
    cr_expect_eq(d->inputs[0].shape[0], ACTRT_DIM_BATCH);
    cr_expect_eq(d->inputs[0].shape[1], 6);
    cr_expect_eq(d->inputs[0].n, 6);
    cr_expect_eq(d->outputs[0].n, 4);
    cr_assert_eq(d->ntensors, 2);
    cr_expect_str_eq(d->tensors[0].name, "fc.weight");
    cr_expect_eq(d->tensors[0].rank, 2);
    cr_expect_eq(d->tensors[0].shape[0], 4);
    cr_expect_eq(d->tensors[0].shape[1], 6);
    cr_expect_eq(d->tensors[0].elem, ACTRT_ELEM_F32);
    cr_expect_eq(d->tensors[1].rank, 1);
    cr_expect_eq(d->tensors[1].shape[0], 4);
    cr_expect_str_eq(d->tensors[1].declared_at, "d.act:2");
    for (int i = 0; i < d->nweights; i++)
        cr_expect_eq(d->weights[i].elem, ACTRT_ELEM_F32);
    Target host;
    char err[256];
    cr_assert_eq(target_init(&host, NULL, NULL, NULL, 0, err, sizeof err), ACTC_OK);
    cr_expect_eq(d->row_tile, host.row_tile);
    target_dispose(&host);
    cr_expect_eq(d->kernel_info[0].kind, ACTRT_KERNEL_DENSE);
    actc_jit_free(j);
    actc_session_free(s);
}
