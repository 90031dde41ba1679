/*
 * accuracy_main.c — actc-accuracy: the accuracy table of every builtin
 * (docs/accuracy.md).
 *
 *   actc-accuracy [--samples N] [--seed S] [--isa avx512|avx2|sse4.2|scalar] [--func NAME]
 *   actc-accuracy --exhaustive [--state FILE] [--isa ...] [--func NAME]
 *   actc-accuracy --check FUNC X.bin Y.bin [--label NAME] [--exact]
 *
 * Sampled mode: N random f32 bit patterns (all exponents, signs, NaNs and
 * infinities) plus the edge table; gates on pairs.  Exhaustive mode: all
 * 2^32 inputs of each unary function, in chunks of 2^24; after each chunk
 * the position and the statistics so far are written to FILE, so a run that
 * is stopped resumes where it was.  Prints: function, ISA, max ULP, where,
 * mean ULP, special-value mismatches; exit status 1 if a bound is exceeded.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acc.h"

static uint64_t rng;
static uint32_t next_bits(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static float bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void print_row(const Acc *a, int fi, int s, const AccStat *st) {
    const AccFunc *f = &a->funcs[fi];
    double bound = acc_bound(a, fi);
    bool ok = st->max_ulp <= bound && st->special == 0;
    char where[96];
    if (f->gate_act != OP_COUNT)
        snprintf(where, sizeof where, "a=%.9g b=%.9g", st->worst_x, st->worst_b);
    else
        snprintf(where, sizeof where, "x=%.9g", st->worst_x);
    if (st->special) /* where the first special-value mismatch was */
        snprintf(where + strlen(where), sizeof where - strlen(where), "; special at x=%.9g", st->special_x);
    if (a->fast)
        printf("| %-28s | %-6s | %9.3g | %-32s | %.3g | %" PRIu64 " | %s (%.0e) |\n", f->name, a->isas[s].name,
               st->max_ulp, where, st->n ? st->sum_ulp / (double)st->n : 0, st->special, ok ? "ok" : "FAIL", bound);
    else
        printf("| %-28s | %-6s | %8.3f | %-32s | %.4f | %" PRIu64 " | %s |\n", f->name, a->isas[s].name, st->max_ulp,
               where, st->n ? st->sum_ulp / (double)st->n : 0, st->special, ok ? "ok" : "FAIL");
}

static bool selected(const Acc *a, int fi, const char *func) {
    return !func || strcmp(a->funcs[fi].name, func) == 0;
}

static int sampled(Acc *a, uint64_t samples, const char *func) {
    enum { CHUNK = 1 << 20 };
    float *x = malloc(sizeof(float) * CHUNK), *b = malloc(sizeof(float) * CHUNK), *y = malloc(sizeof(float) * CHUNK);
    int bad = 0;
    for (int fi = 0; fi < a->nfuncs; fi++) {
        if (!selected(a, fi, func))
            continue;
        AccStat st[ACC_MAX_ISAS] = {0};
        rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)fi;
        /* the edge table, against itself for gates */
        for (int i = 0; i < acc_nedges; i++)
            for (int j = 0; j < acc_nedges; j++)
                x[i * acc_nedges + j] = acc_edges[i], b[i * acc_nedges + j] = acc_edges[j];
        acc_run(a, fi, x, b, acc_nedges * acc_nedges, st, y);
        for (uint64_t done = 0; done < samples; done += CHUNK) {
            int64_t n = samples - done < CHUNK ? (int64_t)(samples - done) : CHUNK;
            for (int64_t i = 0; i < n; i++) {
                x[i] = bits_to_float(next_bits());
                /* gate partners: random bits too, but mostly moderate values */
                uint32_t bb = next_bits();
                b[i] = (bb & 3) ? (float)((int32_t)bb) * 0x1p-28f : bits_to_float(bb);
            }
            acc_run(a, fi, x, b, n, st, y);
        }
        for (int s = 0; s < a->nisas; s++) {
            print_row(a, fi, s, &st[s]);
            bad += st[s].max_ulp > acc_bound(a, fi) || st[s].special;
        }
        fflush(stdout);
    }
    free(x), free(b), free(y);
    return bad;
}

/* ---- exhaustive, resumable ---- */

/* The layout of the state files (tests/accuracy/exhaustive): three ISAs,
 * as the sweeps of avx512, avx2 and scalar have always written them.  A
 * sweep runs those three (the default) or the one --isa names, whose
 * statistics are then st[0]: the sse4.2 ISA (the x86-64-v2 variant) is
 * swept on its own, with its own --state files. */
enum { STATE_ISAS = 3 };
typedef struct State {
    uint64_t next;                 /* next input (bit pattern) to do, 2^32 = finished */
    AccStat st[STATE_ISAS];
} State;

static void state_path(char *out, size_t n, const char *base, const Acc *a, int fi) {
    /* the tiers never share: the f64 (exact) tier's files have no tag (they predate the others) */
    snprintf(out, n, "%s.%s%s", base, a->tier == ACC_FAST ? "fast." : a->tier == ACC_PRECISE ? "p32." : "",
             a->funcs[fi].name);
    for (char *p = out + strlen(base); *p; p++)
        if (*p == ' ' || *p == ':' || *p == '*' || *p == '(' || *p == ')' || *p == ',')
            *p = '_';
}

static int exhaustive(Acc *a, const char *func, const char *state_base) {
    enum { CHUNK = 1 << 24 };
    float *x = malloc(sizeof(float) * CHUNK), *y = malloc(sizeof(float) * CHUNK);
    int bad = 0;
    /* primitives and activations at their defaults first (the issue-8 set),
     * then the other parameter sets; gates are their activations times b */
    for (int pass = 0; pass < 2; pass++)
    for (int fi = 0; fi < a->nfuncs; fi++) {
        bool variant = !a->funcs[fi].primitive && strchr(a->funcs[fi].name, '(') != NULL;
        if (!selected(a, fi, func) || a->funcs[fi].gate_act != OP_COUNT || variant != (pass == 1))
            continue;
        char path[512];
        State s = {0};
        state_path(path, sizeof path, state_base, a, fi);
        FILE *in = fopen(path, "rb");
        if (in) {
            if (fread(&s, sizeof s, 1, in) != 1)
                memset(&s, 0, sizeof s);
            fclose(in);
        }
        time_t t0 = time(NULL);
        while (s.next < (1ull << 32)) {
            for (int64_t i = 0; i < CHUNK; i++)
                x[i] = bits_to_float((uint32_t)(s.next + (uint64_t)i));
            acc_run(a, fi, x, NULL, CHUNK, s.st, y);
            s.next += CHUNK;
            FILE *out = fopen(path, "wb");
            if (out) {
                fwrite(&s, sizeof s, 1, out);
                fclose(out);
            }
            fprintf(stderr, "\r%s: %5.1f%% (%lds)", a->funcs[fi].name, 100.0 * (double)s.next / 4294967296.0,
                    (long)(time(NULL) - t0));
        }
        fprintf(stderr, "\n");
        for (int i = 0; i < a->nisas; i++) {
            print_row(a, fi, i, &s.st[i]);
            bad += s.st[i].max_ulp > acc_bound(a, fi) || s.st[i].special;
        }
        fflush(stdout);
    }
    free(x), free(y);
    return bad;
}

/* --check: raw f32 inputs and the outputs some other code computed for
 * them (an AArch64 object under qemu: tests/accuracy/neon_qemu.py), against
 * the reference, one row; exit 1 past the tier's bound */
static int check_files(int tier, const char *func, const char *xpath, const char *ypath, const char *label) {
    Acc a = {.tier = tier, .fast = tier == ACC_FAST};
    int fi = -1;
    acc_init_table(&a);
    for (int i = 0; i < a.nfuncs; i++)
        if (strcmp(a.funcs[i].name, func) == 0)
            fi = i;
    if (fi < 0 || a.funcs[fi].gate_act != OP_COUNT) {
        fprintf(stderr, "actc-accuracy: --check: no unary function '%s'\n", func);
        return 2;
    }
    FILE *fx = fopen(xpath, "rb"), *fy = fopen(ypath, "rb");
    if (!fx || !fy) {
        fprintf(stderr, "actc-accuracy: --check: cannot open %s\n", !fx ? xpath : ypath);
        if (fx)
            fclose(fx);
        if (fy)
            fclose(fy);
        return 2;
    }
    AccStat st = {0};
    float x[4096], y[4096];
    size_t nx, ny;
    while ((nx = fread(x, sizeof(float), 4096, fx)) > 0) {
        ny = fread(y, sizeof(float), nx, fy);
        if (ny != nx) {
            fprintf(stderr, "actc-accuracy: --check: %s is shorter than %s\n", ypath, xpath);
            fclose(fx), fclose(fy);
            return 2;
        }
        acc_fold(&a, fi, x, y, (int64_t)nx, &st);
    }
    fclose(fx), fclose(fy);
    a.isas[0].name = label;
    a.nisas = 1;
    print_row(&a, fi, 0, &st);
    return st.max_ulp > acc_bound(&a, fi) || st.special ? 1 : 0;
}

int main(int argc, char **argv) {
    uint64_t samples = 10000000;
    const char *isa = NULL, *func = NULL, *state = "accuracy-state";
    bool exh = false;
    int tier = ACC_PRECISE;
    const char *check[3] = {NULL, NULL, NULL}, *label = "file";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0 && i + 3 < argc) {
            check[0] = argv[i + 1], check[1] = argv[i + 2], check[2] = argv[i + 3];
            i += 3;
        } else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
            label = argv[++i];
        else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
            samples = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc)
            isa = argv[++i];
        else if (strcmp(argv[i], "--func") == 0 && i + 1 < argc)
            func = argv[++i];
        else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
            state = argv[++i];
        else if (strcmp(argv[i], "--exhaustive") == 0)
            exh = true;
        else if (strcmp(argv[i], "--fast-math") == 0)
            tier = ACC_FAST;
        else if (strcmp(argv[i], "--exact") == 0)
            tier = ACC_EXACT;
        else {
            fprintf(stderr, "usage: actc-accuracy [--fast-math|--exact] [--samples N] [--isa avx512|avx2|scalar|sse4.2|nofma]\n"
                            "                     [--func NAME]\n"
                            "       actc-accuracy [--fast-math|--exact] --exhaustive [--state FILE] [--isa ...] [--func NAME]\n");
            return 1;
        }
    }
    if (check[0]) {
        printf("| function | ISA | max ULP | where | mean ULP | special mismatches | bound |\n|---|---|---|---|---|---|---|\n");
        return check_files(tier, check[0], check[1], check[2], label);
    }
    Acc a;
    char err[512];
    Boundary bd;
    int st = BOUNDARY_ENTER(&bd);
    if (st == 0)
        st = acc_init(&a, isa, tier, err, sizeof err);
    else
        snprintf(err, sizeof err, "%s", bd.message);
    if (st) {
        fprintf(stderr, "actc-accuracy: %s\n", err);
        return 2;
    }
    if (tier == ACC_FAST)
        printf("| function | ISA | max error | where | mean error | special mismatches | bound |\n");
    else
        printf("| function | ISA | max ULP | where | mean ULP | special mismatches | bound |\n");
    printf("|---|---|---|---|---|---|---|\n");
    if (exh && !isa && a.nisas > STATE_ISAS) {
        while (a.nisas > STATE_ISAS)
            acc_drop_last_isa(&a); /* the default sweep: the ISAs of the state files */
        fprintf(stderr, "exhaustive: sse4.2 and nofma are swept on their own (--isa NAME --state ...)\n");
    }
    int bad = exh ? exhaustive(&a, func, state) : sampled(&a, samples, func);
    boundary_pop(&bd);
    acc_free(&a);
    return bad ? 1 : 0;
}
