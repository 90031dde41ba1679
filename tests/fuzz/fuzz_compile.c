/*
 * fuzz_compile.c — libFuzzer harness (b): source text -> full compilation
 * to LLVM IR in memory: check, lower, passes, fuse, code generation, the
 * LLVM verifier and the O3 pipeline (docs/reliability.md).  Nothing is
 * written to disk and nothing is JIT-linked.
 *
 * Uses the public API (actc_check_source) and the internal dump entry
 * actc_dump_code (driver/internal.h), which runs exactly the code path of
 * actc_jit_compile and actc_compile_object up to the finished module.  The
 * target is a function of the input's bytes (FNV-1a hash), so a reproducer
 * replays on the same target: the host CPU, x86-64 (SSE2, 4 lanes),
 * x86-64-v3 (AVX2, 8 lanes) or aarch64 (NEON), and so are the weights'
 * storage type (f32, bf16, f16: their loaders) and, one input in four,
 * activation statistics.  One input in four also runs the backend to
 * assembly (instruction selection for the chosen target).
 *
 * Findings: sanitizer reports, hangs, leaks, and ACTC_ERR_INTERNAL (the
 * verifier rejecting the module, an ACTC_BUG, an LLVM error) for a program
 * that checked without errors.
 */
#include <stdio.h>
#include <stdlib.h>

#include "driver/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const actc_options targets[] = {
    {NULL, NULL, NULL},
    {NULL, "x86-64", NULL},
    {NULL, "x86-64-v3", NULL},
    {"aarch64-linux-gnu", "generic", NULL},
};

/* How many inputs got how far, printed at exit: most mutants of a program
 * do not check, so this says how much code generation was exercised. */
static unsigned long n_inputs, n_checked, n_compiled;

static void print_counts(void) {
    fprintf(stderr, "fuzz_compile: %lu inputs, %lu checked, %lu compiled\n", n_inputs, n_checked, n_compiled);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (n_inputs++ == 0)
        atexit(print_counts);
    actc_session *s;
    if (actc_session_new(&s) != ACTC_OK)
        return 0;
    int st = actc_check_source(s, "fuzz.act", (const char *)data, size);
    if (st == ACTC_OK) {
        n_checked++;
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < size; i++)
            h = (h ^ data[i]) * 16777619u;
        actc_options opt = targets[h % 4];
        opt.weights = (int)((h >> 4) % 4); /* the matrices as f32, bf16, f16 or int8 (their loaders) */
        opt.stats = (h >> 6) % 4 == 0;      /* and, one input in four, with statistics */
        opt.exact_math = (h >> 8) % 4 == 0; /* the exact tier, one in four; the fast one, one in eight */
        opt.fast_math = !opt.exact_math && (h >> 10) % 8 == 0;
        const actc_options *o = &opt;
        actc_dump_kind kind = (h >> 2) % 4 == 0 ? ACTC_DUMP_ASM : ACTC_DUMP_LLVM;
        const char *out = NULL;
        st = actc_dump_code(s, NULL, o, kind, &out);
        /* ACTC_ERR_ARG: the file has no model or several (no name given) */
        if (st != ACTC_OK && st != ACTC_ERR_ARG && st != ACTC_ERR_NOMEM) {
            fprintf(stderr, "fuzz_compile: status %d (%s) for a checked program (cpu %s): %s\n", st,
                    actc_status_string(st), o->cpu ? o->cpu : "host", actc_last_error(s));
            abort();
        }
        if (st == ACTC_OK && !out)
            abort();
        n_compiled += st == ACTC_OK;
    } else if (st == ACTC_ERR_INTERNAL) {
        fprintf(stderr, "fuzz_compile: internal error while checking: %s\n", actc_last_error(s));
        abort();
    }
    actc_session_free(s);
    return 0;
}
