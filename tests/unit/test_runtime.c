/*
 * test_runtime.c — libactrt through its public header alone
 * (include/actc/runtime.h), with a description written by hand (no
 * compiler): actrt_model_read_tensors reads a model's tensors from sharded
 * safetensors files as f32, with the lookup, checks and messages of
 * actrt_model_load_weights — each error case is compared with what the
 * load reports for the same files — and leaves the model as it was.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actc/runtime.h"

/* ---- a model described by hand: fc.weight [2, 3], fc.bias [2], ln.weight [3] ---- */

static void no_kernel(const float *const *w, const float *const *in, float *const *out, float *scratch,
                      int64_t batch, int64_t r0, int64_t r1, int64_t c0, int64_t c1, void *stats, const int64_t *table) {
    (void)w, (void)in, (void)out, (void)scratch, (void)batch, (void)r0, (void)r1, (void)c0, (void)c1, (void)stats;
    (void)table;
}

static const actrt_port_desc ports[] = {{.name = "x", .rank = 2, .shape = {ACTRT_DIM_BATCH, 3}, .n = 3},
                                        {.name = "y", .rank = 2, .shape = {ACTRT_DIM_BATCH, 2}, .n = 2}};
static const actrt_tensor_desc tensors[] = {
    {.name = "fc.weight", .rank = 2, .shape = {2, 3}, .declared_at = "t.act:2"},
    {.name = "fc.bias", .rank = 1, .shape = {2}, .declared_at = "t.act:2"},
    {.name = "ln.weight", .rank = 1, .shape = {3}, .declared_at = "t.act:3"}};
static const actrt_weight_desc weights[] = {
    {.tensor = 0, .layout = ACTRT_LAYOUT_KN, .lo = 0, .n = 2, .k = 3},
    {.tensor = 1, .layout = ACTRT_LAYOUT_VEC, .lo = 0, .n = 2},
    {.tensor = 2, .layout = ACTRT_LAYOUT_VEC, .lo = 0, .n = 3}};
static const actrt_kernel_fn kernels[] = {no_kernel};
static const int64_t no_table[1] = {0};
static const int64_t *const tables[] = {no_table};
static const actrt_desc desc = {.abi_version = ACTRT_ABI_VERSION, .name = "t", .ninputs = 1, .noutputs = 1,
                                .inputs = &ports[0], .outputs = &ports[1], .ntensors = 3, .nweights = 3,
                                .nkernels = 1, .tensors = tensors, .weights = weights, .kernels = kernels,
                                .scratch_per_row = 0, .row_tile = 6, .kernel_tables = tables};

static const float fc_w[6] = {1, -2, 3, 0.5f, -0.25f, 8}, fc_b[2] = {-1, 2}, ln_w[3] = {1.5f, 0, -3};

/* ---- safetensors files ---- */

typedef struct Entry {
    const char *name, *dtype;
    int rank;
    int64_t shape[3];
    const void *bytes;
    size_t n;
} Entry;

static char dir[64];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/actc-test-runtime-XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Write a safetensors file dir/name holding the entries; returns its path (static per slot). */
static const char *write_st(int slot, const char *name, const Entry *e, int n) {
    static char paths[4][128];
    char hdr[2048];
    size_t hl = 0, off = 0;
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "{");
    for (int i = 0; i < n; i++) {
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "",
                               e[i].name, e[i].dtype);
        for (int k = 0; k < e[i].rank; k++)
            hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s%lld", k ? "," : "", (long long)e[i].shape[k]);
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "],\"data_offsets\":[%zu,%zu]}", off, off + e[i].n);
        off += e[i].n;
    }
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "}");
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", dir, name);
    FILE *f = fopen(paths[slot], "wb");
    cr_assert(f);
    for (int k = 0; k < 8; k++)
        fputc((int)(((uint64_t)hl >> (8 * k)) & 0xff), f);
    fwrite(hdr, 1, hl, f);
    for (int i = 0; i < n; i++)
        fwrite(e[i].bytes, 1, e[i].n, f);
    cr_assert_eq(fclose(f), 0);
    return paths[slot];
}

/* The checkpoint as two shards under the prefix "model.", ln.weight as F16
 * (1.5, 0, -3 are exact), plus a tensor the model does not read. */
static const uint16_t ln_f16[3] = {0x3e00, 0x0000, 0xc200};
static const float unused[4] = {9, 9, 9, 9};

static void two_shards(const char *paths[2]) {
    Entry a[] = {{"model.fc.bias", "F32", 1, {2}, fc_b, sizeof fc_b},
                 {"model.other.weight", "F32", 2, {2, 2}, unused, sizeof unused}};
    Entry b[] = {{"model.ln.weight", "F16", 1, {3}, ln_f16, sizeof ln_f16},
                 {"model.fc.weight", "F32", 2, {2, 3}, fc_w, sizeof fc_w}};
    paths[0] = write_st(0, "ckpt-00001-of-00002.safetensors", a, 2);
    paths[1] = write_st(1, "ckpt-00002-of-00002.safetensors", b, 2);
}

static float *sentinel[1]; /* *data before a call that must clear it */

static actrt_model *new_model(void) {
    actrt_model *m = NULL;
    cr_assert_eq(actrt_model_create(&m, &desc), ACTC_OK, "%s", actrt_last_error(NULL));
    return m;
}

/* The read fails with status st and exactly the message load_weights gives
 * for the same arguments (and `want`, when given); *data stays NULL. */
static void expect_same_failure(const char *const *paths, int n, const char *prefix, int st, const char *want) {
    actrt_model *m = new_model();
    float **data = sentinel;
    cr_assert_eq(actrt_model_read_tensors(m, paths, n, prefix, &data), st, "%s", actrt_last_error(m));
    cr_expect_null(data);
    char got[512];
    snprintf(got, sizeof got, "%s", actrt_last_error(m));
    if (want)
        cr_expect_str_eq(got, want);
    cr_assert_eq(actrt_model_load_weights(m, paths, n, prefix), st);
    cr_expect_str_eq(got, actrt_last_error(m), "read_tensors and load_weights disagree");
    actrt_model_free(m);
}

TestSuite(runtime, .init = setup, .fini = teardown);

Test(runtime, read_tensors_from_two_shards_in_descriptor_order) {
    const char *paths[2];
    two_shards(paths);
    actrt_model *m = new_model();
    float **data = NULL;
    cr_assert_eq(actrt_model_read_tensors(m, paths, 2, "model.", &data), ACTC_OK, "%s", actrt_last_error(m));
    cr_assert_not_null(data);
    cr_expect_eq(memcmp(data[0], fc_w, sizeof fc_w), 0);
    cr_expect_eq(memcmp(data[1], fc_b, sizeof fc_b), 0);
    cr_expect_eq(memcmp(data[2], ln_w, sizeof ln_w), 0, "F16 converted: %g %g %g", data[2][0], data[2][1],
                 data[2][2]);
    /* the model is unchanged: still without weights */
    float x[3] = {0}, y[2];
    cr_expect_eq(actrt_model_run(m, 1, (const float *const[]){x}, (float *const[]){y}), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "model 't' has no weights: call actrt_model_load_weights first");
    cr_expect_null(actrt_model_packed_weight(m, 1, NULL));
    /* shards in the other order give the same values; loading packs them */
    const char *rev[2] = {paths[1], paths[0]};
    float **again = NULL;
    cr_assert_eq(actrt_model_read_tensors(m, rev, 2, "model.", &again), ACTC_OK, "%s", actrt_last_error(m));
    for (int t = 0; t < 3; t++)
        cr_expect_eq(memcmp(again[t], data[t], sizeof(float) * (size_t)actrt_tensor_numel(&tensors[t])),
                     0, "tensor %d", t);
    actrt_free(again);
    cr_assert_eq(actrt_model_load_weights(m, paths, 2, "model."), ACTC_OK, "%s", actrt_last_error(m));
    int64_t count;
    const float *bias = actrt_model_packed_weight(m, 1, &count);
    cr_assert_eq(count, 2);
    cr_expect_eq(memcmp(bias, data[1], sizeof fc_b), 0);
    for (int i = 0; i < 3; i++) /* every packed weight on a cache line: no vector load spans two */
        cr_expect_eq((uintptr_t)actrt_model_packed_weight(m, i, NULL) % 64, 0, "weight %d", i);
    actrt_free(data);
    actrt_model_free(m);
}

Test(runtime, read_tensors_missing_tensor) {
    const char *paths[2];
    two_shards(paths);
    char want[512];
    /* without the prefix: named with a hint */
    snprintf(want, sizeof want,
             "missing tensor 'fc.weight' (declared at t.act:2) in %s and the other shards; the file has "
             "'model.fc.weight': use the weights prefix 'model.'; 3 tensors missing in all",
             paths[0]);
    expect_same_failure(paths, 2, NULL, ACTC_ERR_WEIGHTS, want);
    /* one shard only: the other shard's tensor is missing */
    snprintf(want, sizeof want, "missing tensor 'model.fc.weight' (declared at t.act:2) in %s; 2 tensors missing in "
             "all, also 'model.ln.weight' (declared at t.act:3)", paths[0]);
    expect_same_failure(paths, 1, "model.", ACTC_ERR_WEIGHTS, want);
}

Test(runtime, read_tensors_wrong_shape_and_dtype) {
    Entry bad[] = {{"fc.weight", "F32", 2, {3, 2}, fc_w, sizeof fc_w},
                   {"fc.bias", "F32", 1, {2}, fc_b, sizeof fc_b},
                   {"ln.weight", "F32", 1, {3}, ln_w, sizeof ln_w}};
    const char *p = write_st(0, "shape.safetensors", bad, 3);
    char want[512];
    snprintf(want, sizeof want,
             "%s: tensor 'fc.weight' has shape [3, 2], expected [2, 3] (declared at t.act:2)", p);
    expect_same_failure(&p, 1, NULL, ACTC_ERR_WEIGHTS, want);
    /* [1, 2] does not bind to [2] */
    bad[0].shape[0] = 2, bad[0].shape[1] = 3;
    bad[1].rank = 2, bad[1].shape[0] = 1, bad[1].shape[1] = 2;
    p = write_st(0, "rank.safetensors", bad, 3);
    snprintf(want, sizeof want, "%s: tensor 'fc.bias' has shape [1, 2], expected [2] (declared at t.act:2)", p);
    expect_same_failure(&p, 1, NULL, ACTC_ERR_WEIGHTS, want);
    /* an integer tensor */
    static const int32_t ints[3] = {1, 2, 3};
    bad[1].rank = 1, bad[1].shape[0] = 2;
    bad[2].dtype = "I32", bad[2].bytes = ints, bad[2].n = sizeof ints;
    p = write_st(0, "dtype.safetensors", bad, 3);
    snprintf(want, sizeof want,
             "%s: tensor 'ln.weight' has dtype I32; weights must be F32, F16, BF16 or F64 (declared at t.act:3)", p);
    expect_same_failure(&p, 1, NULL, ACTC_ERR_WEIGHTS, want);
    /* a file that is not there */
    char nope[128];
    snprintf(nope, sizeof nope, "%s/nope.safetensors", dir);
    const char *np = nope;
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", nope);
    expect_same_failure(&np, 1, NULL, ACTC_ERR_IO, want);
}

Test(runtime, read_tensors_bad_arguments) {
    const char *paths[2];
    two_shards(paths);
    actrt_model *m = new_model();
    float **data = sentinel;
    cr_expect_eq(actrt_model_read_tensors(NULL, paths, 2, NULL, &data), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "actrt_model_read_tensors: model is NULL");
    cr_expect_eq(actrt_model_read_tensors(m, paths, 2, NULL, NULL), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "actrt_model_read_tensors: data is NULL");
    cr_expect_eq(actrt_model_read_tensors(m, NULL, 2, NULL, &data), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "actrt_model_read_tensors: paths is NULL");
    cr_expect_null(data);
    data = sentinel;
    cr_expect_eq(actrt_model_read_tensors(m, paths, -1, NULL, &data), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "actrt_model_read_tensors: npaths must be at least 1, got -1");
    cr_expect_null(data);
    cr_expect_eq(actrt_model_read_tensors(m, paths, 0, NULL, &data), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "actrt_model_read_tensors: npaths must be at least 1, got 0");
    const char *with_null[2] = {paths[0], NULL};
    cr_expect_eq(actrt_model_read_tensors(m, with_null, 2, "model.", &data), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "actrt_model_read_tensors: path 1 is NULL");
    cr_expect_null(data);
    actrt_model_free(m);
}

Test(runtime, read_tensors_of_a_model_without_tensors) {
    const char *paths[2];
    two_shards(paths);
    actrt_desc none = desc;
    none.ntensors = 0, none.nweights = 0;
    actrt_model *m = NULL;
    cr_assert_eq(actrt_model_create(&m, &none), ACTC_OK, "%s", actrt_last_error(NULL));
    float **data = NULL;
    cr_expect_eq(actrt_model_read_tensors(m, paths, 2, NULL, &data), ACTC_OK, "%s", actrt_last_error(m));
    cr_expect_not_null(data);
    actrt_free(data);
    actrt_model_free(m);
}

/* The argument checks of a run (runtime/run_checks.h, shared with the
 * embedded runtime of self-contained objects) and their messages. */
Test(runtime, run_argument_messages) {
    const actrt_tensor ts[] = {{.name = "fc.weight", .rank = 2, .shape = {2, 3}, .data = fc_w},
                               {.name = "fc.bias", .rank = 1, .shape = {2}, .data = fc_b},
                               {.name = "ln.weight", .rank = 1, .shape = {3}, .data = ln_w}};
    float x[3 * 2] = {0}, y[2 * 2];
    const float *in[] = {x}, *no_in[] = {NULL};
    float *out[] = {y}, *no_out[] = {NULL};
    actrt_model *m;
    cr_assert_eq(actrt_model_create(&m, &desc), ACTC_OK);
    cr_expect_eq(actrt_model_run(m, 1, in, out), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "model 't' has no weights: call actrt_model_load_weights first");
    cr_assert_eq(actrt_model_load_tensors(m, ts, 3), ACTC_OK);
    cr_expect_eq(actrt_model_run(m, -7, in, out), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "batch must not be negative, got -7");
    cr_expect_eq(actrt_model_run(m, INT64_MIN, in, out), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "batch must not be negative, got -9223372036854775808");
    cr_expect_eq(actrt_model_run(m, 2, in, NULL), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "outputs array is NULL");
    cr_expect_eq(actrt_model_run(m, 2, NULL, out), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "inputs array is NULL");
    cr_expect_eq(actrt_model_run(m, 2, no_in, out), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "input 0 ('x') is NULL");
    cr_expect_eq(actrt_model_run(m, 2, in, no_out), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "output 0 ('y') is NULL");
    cr_expect_eq(actrt_model_run(m, INT64_MAX / 2, in, out), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "batch 4611686018427387903 is too large: buffer sizes overflow");
    cr_expect_eq(actrt_model_run(m, 2, in, out), ACTC_OK);
    cr_expect_eq(actrt_model_workspace_size(m, 2), 0);
    cr_expect_eq(actrt_model_workspace_size(m, 0), 0);
    cr_expect_eq(actrt_model_workspace_size(m, -1), -1);
    actrt_model_free(m);
    actrt_desc fixed = desc;
    fixed.fixed_batch = 4;
    cr_assert_eq(actrt_model_create(&m, &fixed), ACTC_OK);
    cr_assert_eq(actrt_model_load_tensors(m, ts, 3), ACTC_OK);
    cr_expect_eq(actrt_model_run(m, 5, in, out), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "model 't' has a fixed batch of 4, got 5");
    cr_expect_eq(actrt_model_run(m, 0, in, out), ACTC_ERR_ARG); /* a fixed batch is exactly that many rows */
    cr_expect_str_eq(actrt_last_error(m), "model 't' has a fixed batch of 4, got 0");
    actrt_model_free(m);
}

/* ---- batch 0: an empty run (PyTorch's [0, n] tensors) ---- */

static int kernel_calls; /* how often counting_kernel ran, and over how many rows */
static int64_t kernel_rows_seen;

static void counting_kernel(const float *const *w, const float *const *in, float *const *out, float *scratch,
                            int64_t batch, int64_t r0, int64_t r1, int64_t c0, int64_t c1, void *stats,
                            const int64_t *table) {
    (void)w, (void)in, (void)out, (void)scratch, (void)batch, (void)c0, (void)c1, (void)stats, (void)table;
    __atomic_fetch_add(&kernel_calls, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&kernel_rows_seen, r1 - r0, __ATOMIC_RELAXED);
}

/* Batch 0 succeeds without calling a kernel (serially, with threads and
 * in the column split, which a kernel table enables), reads and writes
 * nothing (NULL buffers are accepted, a marked output stays), and
 * profiles as zero seconds; the row count still reaches the kernels
 * for a real batch. */
Test(runtime, batch_zero_runs_no_kernel) {
    const actrt_tensor ts[] = {{.name = "fc.weight", .rank = 2, .shape = {2, 3}, .data = fc_w},
                               {.name = "fc.bias", .rank = 1, .shape = {2}, .data = fc_b},
                               {.name = "ln.weight", .rank = 1, .shape = {3}, .data = ln_w}};
    static const actrt_kernel_fn counting[] = {counting_kernel};
    static const actrt_kernel_info info[] = {{.kind = 0, .n = 2, .k = 3, .lines = "2", .col_step = 1}};
    actrt_desc d = desc;
    d.kernels = counting;
    d.scratch_per_row = 5;
    float x[3 * 13] = {0}, y[2 * 13], mark = 42.0f;
    const float *in[] = {x}, *no_in[] = {NULL};
    float *out[] = {&mark}, *no_out[] = {NULL}, *full[] = {y};
    for (int mode = 0; mode < 3; mode++) { /* serial, 4 threads, 4 threads with the column split */
        d.kernel_info = mode == 2 ? info : NULL;
        actrt_model *m;
        cr_assert_eq(actrt_model_create(&m, &d), ACTC_OK, "%s", actrt_last_error(NULL));
        cr_assert_eq(actrt_model_load_tensors(m, ts, 3), ACTC_OK, "%s", actrt_last_error(m));
        cr_assert_eq(actrt_model_set_threads(m, mode ? 4 : 1), ACTC_OK);
        kernel_calls = 0, kernel_rows_seen = 0;
        cr_expect_eq(actrt_model_run(m, 0, in, out), ACTC_OK, "mode %d: %s", mode, actrt_last_error(m));
        cr_expect_eq(actrt_model_run(m, 0, no_in, no_out), ACTC_OK, "mode %d: %s", mode, actrt_last_error(m));
        double secs[1] = {-1};
        cr_expect_eq(actrt_model_profile(m, 0, in, out, secs), ACTC_OK, "mode %d: %s", mode, actrt_last_error(m));
        cr_expect_eq(secs[0], 0.0);
        cr_expect_eq(kernel_calls, 0, "mode %d: a kernel ran for 0 rows", mode);
        cr_expect_eq(mark, 42.0f, "mode %d: a 0-row run wrote its output", mode);
        cr_expect_eq(actrt_model_workspace_size(m, 0), 0);
        /* the same model at 13 rows: every row reaches the kernel */
        cr_expect_eq(actrt_model_run(m, 13, in, full), ACTC_OK, "%s", actrt_last_error(m));
        cr_expect(kernel_calls >= 1);
        cr_expect_eq(kernel_rows_seen, mode == 2 ? 13 * kernel_calls : 13, "mode %d: %lld rows", mode,
                     (long long)kernel_rows_seen);
        /* the arrays themselves are still required */
        cr_expect_eq(actrt_model_run(m, 0, in, NULL), ACTC_ERR_ARG);
        cr_expect_str_eq(actrt_last_error(m), "outputs array is NULL");
        actrt_model_free(m);
    }
}

/* The description's version and fields are checked before anything is
 * read from it: another ABI version is refused naming both versions. */
Test(runtime, descriptions_of_another_abi_or_malformed_are_refused) {
    actrt_model *m = (actrt_model *)1;
    actrt_desc d = desc;
    d.abi_version = 2;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_null(m);
    char want[128];
    snprintf(want, sizeof want, "the model was compiled for runtime ABI 2, this libactrt is ABI %u", ACTRT_ABI_VERSION);
    cr_expect_str_eq(actrt_last_error(NULL), want);
    cr_expect_eq(ACTRT_ABI_VERSION, 9u);
    d = desc;
    d.row_tile = 0;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed");
    /* statistics: sites without a block, a site of an unknown kind, one past the block, misaligned, sharing a later one */
    d = desc;
    d.nsites = 1;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed");
    actrt_site_desc site = {.op = "relu", .layer = "fc", .call_lines = "", .kind = ACTRT_SITE_DEAD, .line = 2,
                            .same_as = -1, .units = 2, .offset = 0};
    int64_t lay[8];
    actrt_site_layout(2, ACTRT_SITE_DEAD, lay);
    d.sites = &site, d.stats_bytes = lay[7];
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_OK, "%s", actrt_last_error(NULL));
    actrt_model_free(m);
    const actrt_site_desc bad[] = {{.kind = 7, .same_as = -1, .units = 2}, {.kind = 1, .same_as = -1, .units = 2, .offset = 64},
                                   {.kind = 1, .same_as = -1, .units = 2, .offset = 8}, {.kind = 1, .same_as = 0, .units = 2}};
    /* a compact weight element type only in a PANEL slot; an unknown one never */
    d = desc;
    actrt_weight_desc wbad[3];
    memcpy(wbad, desc.weights, sizeof wbad);
    wbad[0].elem = 9;
    d.weights = wbad;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed (weight 0)");
    wbad[0].elem = ACTRT_ELEM_BF16; /* a KN or VEC slot of bf16 */
    cr_expect_eq(actrt_model_create(&m, &d), wbad[0].layout == ACTRT_LAYOUT_PANEL ? ACTC_OK : ACTC_ERR_ARG);
    if (m)
        actrt_model_free(m), m = NULL;
    d = desc;
    d.nsites = 1;
    d.sites = &site, d.stats_bytes = lay[7];
    for (int i = 0; i < 4; i++) {
        d.sites = &bad[i];
        cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG, "bad site %d", i);
        cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed (site 0)");
    }
    /* a port whose n is not the product of its dimensions */
    actrt_port_desc bad_ports[2] = {ports[0], ports[1]};
    bad_ports[0].n = 4;
    d = desc;
    d.inputs = &bad_ports[0];
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed (input 0)");
    /* a tensor of an element type this version does not have, or rank 0 */
    actrt_tensor_desc bad_t[3] = {tensors[0], tensors[1], tensors[2]};
    bad_t[1].elem = 5;
    d = desc;
    d.tensors = bad_t;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed (tensor 1)");
    bad_t[1] = tensors[1];
    bad_t[2].rank = 0;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed (tensor 2)");
    /* a packed weight stored as another element type */
    actrt_weight_desc bad_w[3] = {weights[0], weights[1], weights[2]};
    bad_w[0].elem = 1;
    d = desc;
    d.weights = bad_w;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed (weight 0)");
    /* an unknown kernel kind */
    actrt_kernel_info info = {.kind = ACTRT_KERNEL_COUNT, .n = 2};
    d = desc;
    d.kernel_info = &info;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed (kernel 0 has kind 4)");
    /* derived tensors (runtime/fold.c): consistent with the tensors they read, or refused */
    d = desc;
    d.nderived = 1;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed (derived tensors)");
    actrt_derived_desc dv = {.name = "ln.scale", .kind = ACTRT_DERIVE_SCALE, .rank = 1, .shape = {3}, .matrix = -1,
                             .bias = -1, .weight = 2, .shift = 2, .mean = -1, .var = -1};
    d.derived = &dv;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_OK, "%s", actrt_last_error(NULL));
    actrt_model_free(m);
    const actrt_derived_desc dbad[] = {
        {.name = "a", .kind = ACTRT_DERIVE_SCALE, .rank = 1, .shape = {3}, .matrix = -1, .bias = -1, .weight = 2,
         .shift = 1, .mean = -1, .var = -1}, /* a shift of another width */
        {.name = "b", .kind = 9, .rank = 1, .shape = {3}, .matrix = -1, .bias = -1, .weight = 2, .shift = 2,
         .mean = -1, .var = -1}, /* an unknown kind */
        {.name = "c", .kind = ACTRT_DERIVE_W_ROWS, .rank = 2, .shape = {2, 4}, .matrix = 0, .bias = -1, .weight = 1,
         .shift = 1, .mean = -1, .var = -1}, /* not the matrix's shape */
        {.name = "d", .kind = ACTRT_DERIVE_SCALE, .rank = 1, .shape = {3}, .matrix = -1, .bias = -1, .weight = 2,
         .shift = 2, .mean = 2, .var = -1}, /* a mean without a variance */
        {.name = "e", .kind = ACTRT_DERIVE_SCALE, .rank = 1, .shape = {3}, .matrix = -1, .bias = -1, .weight = 2,
         .shift = 2, .mean = 2, .var = 2, .eps = 0}, /* batchnorm with eps 0 */
        {.name = "f", .kind = ACTRT_DERIVE_B_COLS, .rank = 1, .shape = {2}, .matrix = 7, .bias = 1, .weight = 2,
         .shift = 2, .mean = -1, .var = -1}, /* a tensor index out of range */
    };
    for (int i = 0; i < (int)(sizeof dbad / sizeof dbad[0]); i++) {
        d.derived = &dbad[i];
        cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG, "bad derived tensor %d", i);
        cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed (derived tensor 0)");
    }
    /* a slot may read derived tensor 0 as tensor ntensors, not beyond */
    d.derived = &dv;
    memcpy(bad_w, weights, sizeof bad_w);
    bad_w[2].tensor = 4;
    d.weights = bad_w;
    cr_expect_eq(actrt_model_create(&m, &d), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "the model description is malformed (weight 2)");
}

/* actrt_model_load_tensors: N-d shapes checked against the description,
 * bad element types and ranks named by tensor; nothing changes on error. */
Test(runtime, load_tensors_checks_rank_shape_and_type) {
    actrt_model *m;
    cr_assert_eq(actrt_model_create(&m, &desc), ACTC_OK);
    actrt_tensor ts[] = {{.name = "fc.weight", .rank = 2, .shape = {2, 3}, .data = fc_w},
                         {.name = "fc.bias", .rank = 1, .shape = {2}, .data = fc_b},
                         {.name = "ln.weight", .rank = 1, .shape = {3}, .data = ln_w}};
    ts[0].rank = 3, ts[0].shape[2] = 1; /* [2, 3, 1]: the right count, the wrong shape */
    cr_expect_eq(actrt_model_load_tensors(m, ts, 3), ACTC_ERR_WEIGHTS);
    cr_expect_str_eq(actrt_last_error(m), "the tensors given: tensor 'fc.weight' has shape [2, 3, 1], expected [2, 3] "
                                          "(declared at t.act:2)");
    ts[0].rank = 5;
    cr_expect_eq(actrt_model_load_tensors(m, ts, 3), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "actrt_model_load_tensors: tensor 'fc.weight': rank 5 is not in 1..4");
    ts[0].rank = 2, ts[0].shape[2] = 0;
    ts[2].elem = 1;
    cr_expect_eq(actrt_model_load_tensors(m, ts, 3), ACTC_ERR_ARG);
    cr_expect(strstr(actrt_last_error(m), "tensor 'ln.weight': element type 1 is not ACTRT_ELEM_F32"), "%s",
              actrt_last_error(m));
    ts[2].elem = ACTRT_ELEM_F32;
    ts[1].shape[0] = -2;
    cr_expect_eq(actrt_model_load_tensors(m, ts, 3), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "actrt_model_load_tensors: tensor 'fc.bias': dimension 0 is negative (-2)");
    cr_expect_null(actrt_model_packed_weight(m, 0, NULL));
    ts[1].shape[0] = 2;
    cr_expect_eq(actrt_model_load_tensors(m, ts, 3), ACTC_OK, "%s", actrt_last_error(m));
    int64_t count;
    const float *p = actrt_model_packed_weight(m, 2, &count);
    cr_assert(p);
    cr_expect_eq(count, 3);
    cr_expect_eq(memcmp(p, ln_w, sizeof ln_w), 0);
    actrt_model_free(m);
}

/* Checkpoint names (docs/api.md): every missing name listed with the
 * nearest present; strict mode rejects unread tensors, except ignored
 * globs; actrt_model_set_strict's argument checks. */
Test(runtime, missing_names_listed_and_strict_mode) {
    actrt_model *m;
    cr_assert_eq(actrt_model_create(&m, &desc), ACTC_OK);
    actrt_tensor ts[] = {{.name = "fc.weight", .rank = 2, .shape = {2, 3}, .data = fc_w},
                         {.name = "fc.bias", .rank = 1, .shape = {2}, .data = fc_b},
                         {.name = "ln.weight", .rank = 1, .shape = {3}, .data = ln_w},
                         {.name = "bn.num_batches_tracked", .rank = 1, .shape = {1}, .data = ln_w},
                         {.name = "head.weight", .rank = 1, .shape = {1}, .data = ln_w}};
    ts[0].name = "fc.weights", ts[2].name = "ln.weigh";
    cr_expect_eq(actrt_model_load_tensors(m, ts, 5), ACTC_ERR_WEIGHTS);
    cr_expect_str_eq(actrt_last_error(m), "missing tensor 'fc.weight' (declared at t.act:2) in the tensors given; "
                                          "nearest: 'fc.weights'; 2 tensors missing in all, also 'ln.weight' "
                                          "(declared at t.act:3; nearest: 'ln.weigh')");
    ts[0].name = "fc.weight", ts[2].name = "ln.weight";
    cr_expect_eq(actrt_model_load_tensors(m, ts, 5), ACTC_OK, "%s", actrt_last_error(m)); /* extras ignored */
    cr_expect_eq(actrt_model_set_strict(m, 1, NULL, 0), ACTC_OK);
    cr_expect_eq(actrt_model_load_tensors(m, ts, 5), ACTC_ERR_WEIGHTS);
    cr_expect_str_eq(actrt_last_error(m), "the tensors given has tensor 'head.weight' that the model does not read "
                                          "(strict); allow such tensors with --ignore-tensors GLOB");
    const char *globs[] = {"head.*"};
    cr_expect_eq(actrt_model_set_strict(m, 1, globs, 1), ACTC_OK);
    cr_expect_eq(actrt_model_load_tensors(m, ts, 5), ACTC_ERR_WEIGHTS); /* an explicit list replaces the default */
    cr_expect(strstr(actrt_last_error(m), "'bn.num_batches_tracked'"), "%s", actrt_last_error(m));
    const char *globs2[] = {"head.*", "*.num_batches_tracked"};
    cr_expect_eq(actrt_model_set_strict(m, 1, globs2, 2), ACTC_OK);
    cr_expect_eq(actrt_model_load_tensors(m, ts, 5), ACTC_OK, "%s", actrt_last_error(m));
    cr_expect_eq(actrt_model_set_strict(m, 0, NULL, 0), ACTC_OK);
    cr_expect_eq(actrt_model_load_tensors(m, ts, 5), ACTC_OK, "%s", actrt_last_error(m));
    /* arguments */
    cr_expect_eq(actrt_model_set_strict(NULL, 1, NULL, 0), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "actrt_model_set_strict: model is NULL");
    cr_expect_eq(actrt_model_set_strict(m, 1, NULL, 2), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "actrt_model_set_strict: ignore is NULL");
    cr_expect_eq(actrt_model_set_strict(m, 1, globs, -1), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "actrt_model_set_strict: nignore must be >= 0");
    const char *holes[] = {"a.*", NULL};
    cr_expect_eq(actrt_model_set_strict(m, 1, holes, 2), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(m), "actrt_model_set_strict: ignore[1] is NULL");
    cr_expect_eq(actrt_model_load_tensors(m, ts, 5), ACTC_OK, "a failed set_strict changed the mode: %s",
                 actrt_last_error(m));
    actrt_model_free(m);
}

/* ---- ISA variants (runtime/cpu.h, docs/aot.md "Variants"): the choice,
 * the ACTC_CPU_VARIANT override and their messages, with made-up CPUs ---- */
#include "cpu.h"

#define V2 (ACTRT_CPU(SSE3) | ACTRT_CPU(SSSE3) | ACTRT_CPU(SSE4_1) | ACTRT_CPU(SSE4_2) | ACTRT_CPU(POPCNT))
#define V3 (V2 | ACTRT_CPU(AVX) | ACTRT_CPU(AVX2) | ACTRT_CPU(FMA))
#define V4 (V3 | ACTRT_CPU(AVX512F) | ACTRT_CPU(AVX512BW))

static const actrt_variant vars[] = {{"v2", V2, &desc, NULL}, {"v3", V3, &desc, NULL}, {"v4", V4, &desc, NULL}};

static int choose(uint64_t have, const char *env, char *msg) {
    RtMsg m = rt_msg(msg, 512);
    msg[0] = 0;
    return rt_choose_variant(vars, 3, have, env, &m);
}

Test(runtime, variant_choice_takes_the_last_the_cpu_runs) {
    char msg[512];
    cr_expect_eq(choose(V4 | ACTRT_CPU(AVX512VL), NULL, msg), 2);
    cr_expect_eq(choose(V3, NULL, msg), 1);
    cr_expect_eq(choose(V3 | ACTRT_CPU(AVX512F), NULL, msg), 1); /* v4 needs BW too */
    cr_expect_eq(choose(V2, "", msg), 0);                        /* empty: unset */
    cr_expect_eq(choose(ACTRT_CPU(SSE3) | ACTRT_CPU(SSSE3), NULL, msg), -1);
    cr_expect_str_eq(msg, "this object was compiled for v2 (needs sse3, ssse3, sse4.1, sse4.2, popcnt); or for v3 "
                          "(needs sse3, ssse3, sse4.1, sse4.2, popcnt, avx, avx2, fma); or for v4 (needs sse3, ssse3, "
                          "sse4.1, sse4.2, popcnt, avx, avx2, fma, avx512f, avx512bw); this CPU lacks sse4.1, sse4.2, "
                          "popcnt (for v2, the least demanding)");
}

Test(runtime, variant_override_is_checked) {
    char msg[512];
    cr_expect_eq(choose(V4, "v2", msg), 0);
    cr_expect_eq(choose(V4, "v3", msg), 1);
    cr_expect_eq(choose(V3, "v4", msg), -1);
    cr_expect_str_eq(msg, "ACTC_CPU_VARIANT=v4: this CPU lacks avx512f, avx512bw (variants it runs: v2, v3)");
    cr_expect_eq(choose(0, "v2", msg), -1);
    cr_expect_str_eq(msg, "ACTC_CPU_VARIANT=v2: this CPU lacks sse3, ssse3, sse4.1, sse4.2, popcnt (variants it runs: none)");
    cr_expect_eq(choose(V4, "V3", msg), -1); /* names are exact */
    cr_expect_str_eq(msg, "ACTC_CPU_VARIANT=V3: no such variant in this object (variants: v2, v3, v4)");
    /* a hostile value: long, and not a name; the message is truncated, not overrun */
    char big[4096];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cr_expect_eq(choose(V4, big, msg), -1);
    cr_expect_eq(strlen(msg), 511);
    cr_expect_eq(strncmp(msg, "ACTC_CPU_VARIANT=xxx", 20), 0);
}

/* Through libactrt: the chosen variant is reported; the environment is read
 * at every create. */
Test(runtime, create_variant_reports_and_honours_the_environment) {
    const actrt_variant one[] = {{"base", 0, &desc, NULL}, {"impossible", (uint64_t)1 << 62, &desc, NULL}};
    actrt_model *m;
    unsetenv("ACTC_CPU_VARIANT");
    cr_assert_eq(actrt_model_create_variant(&m, one, 2, NULL, NULL, 0), ACTC_ERR_ARG); /* no weights given */
    cr_expect(strstr(actrt_last_error(NULL), "needs weights"), "%s", actrt_last_error(NULL));
    setenv("ACTC_CPU_VARIANT", "impossible", 1);
    cr_expect_eq(actrt_model_create_variant(&m, one, 2, NULL, NULL, 0), ACTC_ERR_ARG);
    cr_expect(strstr(actrt_last_error(NULL), "ACTC_CPU_VARIANT=impossible: this CPU lacks"), "%s", actrt_last_error(NULL));
    cr_expect_null(m);
    setenv("ACTC_CPU_VARIANT", "nope", 1);
    cr_expect_eq(actrt_model_create_variant(&m, one, 2, NULL, NULL, 0), ACTC_ERR_ARG);
    cr_expect_str_eq(actrt_last_error(NULL), "ACTC_CPU_VARIANT=nope: no such variant in this object (variants: base, impossible)");
    unsetenv("ACTC_CPU_VARIANT");
    cr_expect_eq(actrt_model_create_variant(&m, one, 0, NULL, NULL, 0), ACTC_ERR_ARG);
    cr_expect_eq(actrt_model_create_variant(NULL, one, 2, NULL, NULL, 0), ACTC_ERR_ARG);
    cr_expect_null(actrt_model_variant(NULL));
    actrt_model *plain;
    cr_assert_eq(actrt_model_create(&plain, &desc), ACTC_OK);
    cr_expect_null(actrt_model_variant(plain));
    actrt_model_free(plain);
}
