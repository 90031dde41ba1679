/*
 * fuzz_front.c — libFuzzer harness (a): source text -> parse -> check ->
 * lower -> passes -> fuse, no code generation (docs/reliability.md).
 *
 * Drives the internal API the way driver/api.c does, inside one Boundary:
 * an arena that cannot grow or an ACTC_BUG longjmps back here.  Every model
 * of a program that checks is lowered, optimised and fused, and the
 * printers (AST, graph, fusion report, dot, diagnostics as text and JSON)
 * run too, since they walk every structure the phases build.
 *
 * What counts as a finding: anything the sanitizers report, a hang
 * (-timeout), a leak (LSan at the end of an input), and an internal error
 * (ACTC_ERR_INTERNAL): user input must give diagnostics, never a bug
 * report, so the harness aborts with the boundary's message.
 */
#include <stdio.h>
#include <stdlib.h>

#include "front/front.h"
#include "ir/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Session s;
    session_init(&s);
    Boundary b;
    int st = BOUNDARY_ENTER(&b);
    if (st == 0) {
        Source *src = source_new(&s.perm, "fuzz.act", (const char *)data, size);
        Program *prog = parse_source(&s, src);
        (void)ast_dump(&s, prog);
        /* a parse with repaired errors only is checked too, and not lowered */
        if (parse_checkable(&s, prog) && check_program(&s, prog) && s.diag.nerrors == 0) {
            for (int i = 0; i < prog->ndecls; i++) {
                Decl *d = prog->decls[i];
                if (d->kind != DECL_MODEL)
                    continue;
                Pipeline pl;
                if (!ir_pipeline(&s, d, "lowered", &pl))
                    abort(); /* "lowered" is a valid stop */
                (void)graph_print(pl.graph);
                if (!ir_pipeline(&s, d, NULL, &pl))
                    abort(); /* NULL means the whole pipeline: cannot fail */
                (void)graph_print(pl.graph);
                (void)kgraph_report(pl.kernels);
                (void)kgraph_dot(pl.kernels);
            }
        }
        (void)diag_render_text(&s.diag);
        (void)diag_render_json(&s.diag);
        boundary_pop(&b);
    }
    session_release(&s);
    if (st == ACTC_ERR_INTERNAL) {
        fprintf(stderr, "fuzz_front: internal error on user input: %s\n", b.message);
        abort();
    }
    if (st != 0 && st != ACTC_ERR_NOMEM) {
        fprintf(stderr, "fuzz_front: unexpected status %d: %s\n", st, b.message);
        abort();
    }
    return 0;
}
