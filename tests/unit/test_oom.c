/*
 * test_oom.c — out of memory is a status, not a crash (style.md §4).  For
 * every example, fail the N-th allocation for N = 1, 2, ... until checking
 * succeeds: each failing run must return ACTC_ERR_NOMEM (from session_new
 * or check), free everything it allocated (live count back to zero), and the
 * next attempt must work.  The runtime likewise: a JIT-compiled gated model
 * is created, bound (from arrays, and from safetensors bytes parsed by
 * jansson through the same funnel, and from two safetensors shards on disk,
 * whose tensors are also read back with actrt_model_read_tensors), run on
 * two threads and freed with the
 * N-th runtime allocation failing: ACTC_ERR_NOMEM, nothing leaked, and the
 * first run that succeeds is bitwise equal to an unrestricted one.  And the
 * compiler to the end (check, lower, fuse, codegen; JIT and AOT object +
 * header) for a gated model and examples/ffn.act: NOMEM, nothing leaked, no
 * partial output file, and the JIT code of the first success computes the
 * same bits.  An integer .npy input read with actrt_npy_read and run
 * likewise, and a rejected .npy and a weights file of another format.
 * LLVM's own allocations are outside the funnel (it treats out of
 * memory as fatal), so these loops fail actc's allocations only.
 */
#include <dirent.h>
#include <stdio.h>

#include "helpers.h"

#include "base/base.h"

static long countdown; /* allocations left before the injected failure; < 0: never fail */
static long live;      /* blocks currently allocated through the funnel */

static void *failing_alloc(void *ud, void *p, size_t size) {
    (void)ud;
    if (size == 0) {
        if (p)
            live--;
        free(p);
        return NULL;
    }
    if (countdown == 0)
        return NULL;
    if (countdown > 0)
        countdown--;
    void *q = realloc(p, size);
    if (q && !p)
        live++;
    return q;
}

static int check_with_limit(const char *path, long n) {
    countdown = n;
    actc_session *s = NULL;
    int st = actc_session_new(&s);
    if (st == ACTC_OK) {
        st = actc_check_file(s, path);
        if ((st == ACTC_OK || st == ACTC_ERR_CHECK || st == ACTC_ERR_SYNTAX) && !actc_diag_render(s, ACTC_DIAG_TEXT))
            st = ACTC_ERR_NOMEM;
    } else {
        cr_assert_null(s);
    }
    actc_session_free(s);
    countdown = -1;
    return st;
}

static void oom_loop(const char *path, int final) {
    actc_set_allocator(failing_alloc, NULL);
    arena_set_min_block(512); /* many small blocks: many failure points */
    long n;
    for (n = 0; n < 100000; n++) {
        int st = check_with_limit(path, n);
        cr_assert_eq(live, 0, "%s: %ld blocks leaked after failing allocation %ld", path, live, n);
        if (st == final)
            break;
        cr_assert_eq(st, ACTC_ERR_NOMEM, "%s: allocation %ld failed with status %d", path, n, st);
    }
    cr_expect_gt(n, 0);
    fprintf(stderr, "%s: %ld failure points\n", path, n);
    cr_assert_lt(n, 100000, "%s never succeeded", path);
    /* and once more with no failure at all */
    cr_expect_eq(check_with_limit(path, -1), final);
    actc_set_allocator(NULL, NULL);
    arena_set_min_block(0);
}

Test(oom, every_example_fails_cleanly_at_every_allocation) {
    DIR *d = opendir(ACTC_SOURCE_DIR "/examples");
    cr_assert(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".act") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/examples/%s", ACTC_SOURCE_DIR, e->d_name);
        oom_loop(path, ACTC_OK);
        n++;
    }
    closedir(d);
    cr_expect_geq(n, 6);
}

Test(oom, erroneous_program_fails_cleanly) {
    oom_loop(ACTC_SOURCE_DIR "/examples/errors/typo.act", ACTC_ERR_CHECK);
}

Test(oom, pytorch_habits_fail_cleanly) {
    /* habits.c: its diagnostics and fix-its, the scanner's repaired strings,
     * the checking of a repaired parse, and '**' parsed on as pow */
    oom_loop(ACTC_SOURCE_DIR "/tests/errors/pytorch-habits-all-at-once.act", ACTC_ERR_CHECK);
    oom_loop(ACTC_SOURCE_DIR "/tests/errors/pytorch-power-operator.act", ACTC_ERR_SYNTAX);
}

/* ---- the runtime: create, bind weights (arrays, safetensors bytes
 * through jansson, shard files), read tensors, run, free — failing the N-th
 * allocation ---- */

#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "actc/runtime.h"
#include "driver/internal.h"

static const char RT_SRC[] = "model m(x: f32[batch, 24]) -> (y: f32[batch, 8], p: f32[batch, 8]) {\n"
                             "    h = swiglu(dense(x, 40, name = \"g\"), dense(x, 40, name = \"u\"))\n"
                             "    y = gelu(dense(h, 8, name = \"o\"))\n"
                             "    return y, softmax(y)\n"
                             "}\n";
enum { RT_NT = 6, RT_BATCH = 37 };
static const char *const rt_names[RT_NT] = {"g.weight", "g.bias", "u.weight", "u.bias", "o.weight", "o.bias"};
static const int64_t rt_shapes[RT_NT][2] = {{40, 24}, {40, 0}, {40, 24}, {40, 0}, {8, 40}, {8, 0}};

/* Deterministic weights for the RT_SRC model: w[i][k] = 0.3 sin(k * step + i). */
static void rt_make_weights(float **w, size_t step) {
    for (int i = 0; i < RT_NT; i++) {
        size_t n = (size_t)(rt_shapes[i][0] * (rt_shapes[i][1] ? rt_shapes[i][1] : 1));
        w[i] = malloc(4 * n);
        for (size_t k = 0; k < n; k++)
            w[i][k] = 0.3f * sinf((float)(k * step + (size_t)i));
    }
}

/* The weights w as actrt_model_load_tensors takes them. */
static void rt_arrays(float *const *w, actrt_tensor *out) {
    for (int i = 0; i < RT_NT; i++)
        out[i] = (actrt_tensor){.name = rt_names[i], .elem = ACTRT_ELEM_F32, .rank = rt_shapes[i][1] ? 2 : 1,
                                .shape = {rt_shapes[i][0], rt_shapes[i][1]}, .data = w[i]};
}

static int load_arrays(actrt_model *m, float *const *w) {
    actrt_tensor ts[RT_NT];
    rt_arrays(w, ts);
    return actrt_model_load_tensors(m, ts, RT_NT);
}

/* Weights lo .. hi-1 as safetensors bytes (F32, little-endian host). */
static uint8_t *rt_safetensors(float *const *w, int lo, int hi, size_t *len) {
    char hdr[1024];
    size_t hl = 0, off = 0;
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "{");
    for (int i = lo; i < hi; i++) {
        size_t n = (size_t)(rt_shapes[i][0] * (rt_shapes[i][1] ? rt_shapes[i][1] : 1));
        if (rt_shapes[i][1])
            hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],"
                                   "\"data_offsets\":[%zu,%zu]}", i > lo ? "," : "", rt_names[i],
                                   (long long)rt_shapes[i][0], (long long)rt_shapes[i][1], off, off + 4 * n);
        else
            hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld],"
                                   "\"data_offsets\":[%zu,%zu]}", i > lo ? "," : "", rt_names[i],
                                   (long long)rt_shapes[i][0], off, off + 4 * n);
        off += 4 * n;
    }
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "}");
    uint8_t *buf = malloc(8 + hl + off);
    for (int k = 0; k < 8; k++)
        buf[k] = (uint8_t)((uint64_t)hl >> (8 * k));
    memcpy(buf + 8, hdr, hl);
    size_t o = 8 + hl;
    for (int i = lo; i < hi; i++) {
        size_t n = (size_t)(rt_shapes[i][0] * (rt_shapes[i][1] ? rt_shapes[i][1] : 1));
        memcpy(buf + o, w[i], 4 * n);
        o += 4 * n;
    }
    *len = o;
    return buf;
}

enum { RT_ARRAYS, RT_BYTES, RT_FILES };
static const char *const rt_source_name[] = {"arrays", "safetensors bytes", "shard files + read_tensors"};

/* One create + bind + run + free under an allocation limit.  RT_FILES binds
 * from the shard files and reads the tensors back with
 * actrt_model_read_tensors, which must give exactly w. */
static int rt_attempt(const actrt_desc *d, long n, int source, float *const *w, const uint8_t *st, size_t stlen,
                      const char *const *shards, const float *x, float *y, float *p) {
    countdown = n;
    actrt_set_allocator(failing_alloc, NULL);
    actrt_model *m = NULL;
    int s = actrt_model_create(&m, d);
    static const char *const globs[] = {"*.num_batches_tracked", "unused.*"};
    if (s == ACTC_OK) /* strict, with its own globs: they are copied */
        s = actrt_model_set_strict(m, 1, globs, 2);
    if (s == ACTC_OK)
        s = source == RT_BYTES   ? actrt_model_load_weights_memory(m, st, stlen, NULL)
            : source == RT_FILES ? actrt_model_load_weights(m, shards, 2, NULL)
                                 : load_arrays(m, w);
    if (s == ACTC_OK && source == RT_FILES) {
        float **data = NULL;
        s = actrt_model_read_tensors(m, shards, 2, NULL, &data);
        cr_assert(s == ACTC_OK ? data != NULL : data == NULL);
        for (int i = 0; s == ACTC_OK && i < RT_NT; i++)
            cr_assert_eq(memcmp(data[i], w[i], 4 * (size_t)(rt_shapes[i][0] * (rt_shapes[i][1] ? rt_shapes[i][1] : 1))),
                         0, "tensor %d read back differs", i);
        actrt_free(data);
    }
    if (s == ACTC_OK)
        s = actrt_model_set_threads(m, 2);
    if (s == ACTC_OK)
        s = actrt_model_run(m, RT_BATCH, (const float *const[]){x}, (float *const[]){y, p});
    actrt_model_free(m);
    actrt_set_allocator(NULL, NULL);
    countdown = -1;
    return s;
}

Test(oom, runtime_fails_cleanly_at_every_allocation) {
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_assert_eq(actc_check_source(s, "rt.act", RT_SRC, strlen(RT_SRC)), ACTC_OK, "%s",
                 actc_diag_render(s, ACTC_DIAG_TEXT));
    actc_jit_model *j;
    cr_assert_eq(actc_jit_compile(s, NULL, NULL, &j), ACTC_OK, "%s", actc_last_error(s));
    float *w[RT_NT];
    rt_make_weights(w, 7);
    size_t stlen;
    uint8_t *st = rt_safetensors(w, 0, RT_NT, &stlen);
    /* the same weights as two shards on disk: o.*, then g.* and u.* */
    char shard_path[2][64];
    const char *shards[2] = {shard_path[0], shard_path[1]};
    for (int k = 0; k < 2; k++) {
        snprintf(shard_path[k], sizeof shard_path[k], "/tmp/actc-oom-%d-%d.safetensors", (int)getpid(), k);
        size_t len;
        uint8_t *bytes = k == 0 ? rt_safetensors(w, 4, RT_NT, &len) : rt_safetensors(w, 0, 4, &len);
        FILE *f = fopen(shard_path[k], "wb");
        cr_assert(f);
        cr_assert_eq(fwrite(bytes, 1, len, f), len);
        cr_assert_eq(fclose(f), 0);
        free(bytes);
    }
    static float x[RT_BATCH * 24], y0[RT_BATCH * 8], p0[RT_BATCH * 8], y[RT_BATCH * 8], p[RT_BATCH * 8];
    for (int i = 0; i < RT_BATCH * 24; i++)
        x[i] = cosf(0.1f * (float)i);
    cr_assert_eq(rt_attempt(actc_jit_desc(j), -1, RT_ARRAYS, w, st, stlen, shards, x, y0, p0), ACTC_OK);
    for (int source = RT_ARRAYS; source <= RT_FILES; source++) {
        long n;
        for (n = 0; n < 100000; n++) {
            memset(y, 0, sizeof y);
            int r = rt_attempt(actc_jit_desc(j), n, source, w, st, stlen, shards, x, y, p);
            cr_assert_eq(live, 0, "%ld blocks leaked after failing allocation %ld (%s)", live, n,
                         rt_source_name[source]);
            if (r == ACTC_OK)
                break;
            cr_assert_eq(r, ACTC_ERR_NOMEM, "allocation %ld failed with status %d: %s", n, r, actrt_last_error(NULL));
        }
        cr_assert_gt(n, 2, "too few failure points (%ld)", n);
        cr_assert_lt(n, 100000);
        cr_assert_eq(memcmp(y, y0, sizeof y), 0, "outputs after the OOM loop differ");
        cr_assert_eq(memcmp(p, p0, sizeof p), 0);
        fprintf(stderr, "runtime (%s): %ld failure points\n", rt_source_name[source], n);
    }
    unlink(shard_path[0]), unlink(shard_path[1]);
    free(st);
    for (int i = 0; i < RT_NT; i++)
        free(w[i]);
    actc_jit_free(j);
    actc_session_free(s);
}

/* ---- the compiler to the end: check, lower, fuse, codegen (JIT and an
 * AOT object + header) under an allocation limit.  actc's own allocations
 * (front end, IR, passes, fusion, the codegen's tables and names, the JIT
 * wrapper, the AOT header text) go through the funnel and fail here; LLVM's
 * allocations do not (LLVM treats out of memory as fatal by design,
 * docs/reliability.md). ---- */

static const actc_options *oom_opts; /* NULL, or options with a tuning profile */

static int compile_attempt(const char *src, long n, bool aot, const char *obj, const char *hdr, const float *x,
                           float *y, float *p, float *const *w) {
    countdown = n;
    actc_session *s = NULL;
    actc_jit_model *j = NULL;
    int st = actc_session_new(&s);
    if (st == ACTC_OK)
        st = actc_check_source(s, "c.act", src, strlen(src));
    if (st == ACTC_OK)
        st = aot ? actc_compile_object(s, NULL, oom_opts, "oomt", obj, hdr, NULL) : actc_jit_compile(s, NULL, oom_opts, &j);
    if (st == ACTC_OK && oom_opts && actc_diag_count(s) > 0)
        st = ACTC_ERR_INTERNAL; /* a good profile read under memory pressure must not turn into a warning */
    countdown = -1;
    if (st == ACTC_OK && !aot && w) { /* the compiled code works: run it, unrestricted */
        actrt_model *m = NULL;
        cr_assert_eq(actrt_model_create(&m, actc_jit_desc(j)), ACTC_OK);
        cr_assert_eq(load_arrays(m, w), ACTC_OK);
        cr_assert_eq(actrt_model_run(m, RT_BATCH, (const float *const[]){x}, (float *const[]){y, p}), ACTC_OK);
        actrt_model_free(m);
    }
    countdown = n; /* freeing allocates nothing, and must not need to */
    actc_jit_free(j);
    actc_session_free(s);
    countdown = -1;
    return st;
}

static void compile_oom_loop(const char *src, bool aot, const float *x, float *const *w, const float *y0,
                             const float *p0) {
    char obj[64], hdr[64];
    snprintf(obj, sizeof obj, "/tmp/actc-oom-%d.o", (int)getpid());
    snprintf(hdr, sizeof hdr, "/tmp/actc-oom-%d.h", (int)getpid());
    static float y[RT_BATCH * 8], p[RT_BATCH * 8];
    actc_set_allocator(failing_alloc, NULL);
    arena_set_min_block(512); /* many small blocks: many failure points */
    long n;
    for (n = 0; n < 200000; n++) {
        memset(y, 0, sizeof y);
        int st = compile_attempt(src, n, aot, obj, hdr, x, y, p, w);
        cr_assert_eq(live, 0, "%s: %ld blocks leaked after failing allocation %ld", aot ? "AOT" : "JIT", live, n);
        if (st == ACTC_OK)
            break;
        cr_assert_eq(st, ACTC_ERR_NOMEM, "%s: allocation %ld failed with status %d", aot ? "AOT" : "JIT", n, st);
        if (aot) /* a failed compile leaves no partial output behind */
            cr_assert(access(obj, F_OK) != 0 && access(hdr, F_OK) != 0, "allocation %ld: partial output left", n);
    }
    actc_set_allocator(NULL, NULL);
    arena_set_min_block(0);
    cr_assert_lt(n, 200000);
    cr_assert_gt(n, 50, "too few failure points (%ld)", n);
    if (aot) {
        cr_assert(access(obj, F_OK) == 0 && access(hdr, F_OK) == 0);
        unlink(obj), unlink(hdr);
    } else if (w) {
        cr_assert_eq(memcmp(y, y0, sizeof y), 0, "outputs after the OOM loop differ");
        cr_assert_eq(memcmp(p, p0, sizeof p), 0);
    }
    fprintf(stderr, "compile (%s): %ld failure points\n", aot ? "AOT object + header" : "JIT", n);
}

/* A tuning profile (docs/tuning.md) read at every allocation failure: out
 * of memory, never a misleading warning about the file. */
Test(oom, tuning_profile_read_fails_cleanly_at_every_allocation, .timeout = 300) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/actc-oom-profile-%d.json", (int)getpid());
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_assert_eq(actc_write_profile(s, NULL, "dense=4x2,kc=64;gated=3x2,kc=32", path, NULL), ACTC_OK, "%s",
                 actc_last_error(s));
    actc_session_free(s);
    actc_options o = {.profile = path};
    oom_opts = &o;
    compile_oom_loop(RT_SRC, false, NULL, NULL, NULL, NULL);
    compile_oom_loop(RT_SRC, true, NULL, NULL, NULL, NULL);
    oom_opts = NULL;
    unlink(path);
}

/* actc tune's entry points (describe the parameters, write a profile) at
 * every allocation failure: out of memory, nothing leaked, no file half
 * written. */
Test(oom, tuning_entry_points_fail_cleanly_at_every_allocation, .timeout = 300) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/actc-oom-written-%d.json", (int)getpid());
    actc_set_allocator(failing_alloc, NULL);
    arena_set_min_block(512); /* many small blocks: many failure points */
    long n;
    for (int which = 0; which < 2; which++) {
        for (n = 0; n < 100000; n++) {
            countdown = n;
            actc_session *s = NULL;
            int st = actc_session_new(&s);
            if (st == ACTC_OK) {
                const char *p, *f, *c;
                int nregs;
                st = which == 0 ? actc_kernel_params(s, NULL, &p, &f, &c, &nregs, true)
                                : actc_write_profile(s, NULL, "dense=4x2", path, NULL);
            }
            countdown = n;
            actc_session_free(s);
            countdown = -1;
            cr_assert_eq(live, 0, "%s: %ld blocks leaked after failing allocation %ld", which ? "write" : "describe",
                         live, n);
            if (st == ACTC_OK)
                break;
            cr_assert_eq(st, ACTC_ERR_NOMEM, "allocation %ld failed with status %d", n, st);
            if (which)
                cr_assert(access(path, F_OK) != 0, "allocation %ld: a profile written in spite of the failure", n);
        }
        cr_assert_lt(n, 100000);
        fprintf(stderr, "tuning (%s): %ld failure points\n", which ? "write a profile" : "describe parameters", n);
    }
    actc_set_allocator(NULL, NULL);
    arena_set_min_block(0);
    unlink(path);
}

Test(oom, compiler_fails_cleanly_at_every_allocation, .timeout = 600) {
    float *w[RT_NT];
    rt_make_weights(w, 5);
    static float x[RT_BATCH * 24], y0[RT_BATCH * 8], p0[RT_BATCH * 8];
    for (int i = 0; i < RT_BATCH * 24; i++)
        x[i] = sinf(0.07f * (float)i);
    cr_assert_eq(compile_attempt(RT_SRC, -1, false, NULL, NULL, x, y0, p0, w), ACTC_OK);
    compile_oom_loop(RT_SRC, false, x, w, y0, p0);
    compile_oom_loop(RT_SRC, true, x, w, y0, p0);
    for (int i = 0; i < RT_NT; i++)
        free(w[i]);
    /* and an example: the SwiGLU FFN block with its RMSNorm and residual */
    FILE *f = fopen(ACTC_SOURCE_DIR "/examples/ffn.act", "rb");
    cr_assert(f);
    static char src[8192];
    size_t len = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[len] = '\0';
    compile_oom_loop(src, false, NULL, NULL, NULL, NULL);
    compile_oom_loop(src, true, NULL, NULL, NULL, NULL);
}

/* ---- the reference interpreter (actc run --reference) under an allocation
 * limit: its f64 copies and buffers live in the session's scratch under a
 * mark, so a failure at any allocation leaves nothing behind once the
 * session is freed, and the first run that gets through gives the
 * unlimited result. ---- */

static int reference_attempt(long n, const actrt_tensor *ts, const float *x, float *y, float *p) {
    countdown = -1; /* the session and the check: unlimited */
    actc_session *s = NULL;
    int st = actc_session_new(&s);
    if (st == ACTC_OK)
        st = actc_check_source(s, "r.act", RT_SRC, strlen(RT_SRC));
    countdown = n;
    if (st == ACTC_OK)
        st = actc_reference_run(s, NULL, ts, RT_NT, RT_BATCH, (const float *const[]){x}, (float *const[]){y, p});
    countdown = -1;
    if (st != ACTC_OK && n < 0)
        fprintf(stderr, "reference run: %s\n", actc_last_error(s));
    actc_session_free(s);
    return st;
}

Test(oom, reference_run_fails_cleanly_at_every_allocation, .timeout = 300) {
    float *w[RT_NT];
    rt_make_weights(w, 3);
    actrt_tensor ts[RT_NT];
    rt_arrays(w, ts);
    static float x[RT_BATCH * 24], y0[RT_BATCH * 8], p0[RT_BATCH * 8], y[RT_BATCH * 8], p[RT_BATCH * 8];
    for (int i = 0; i < RT_BATCH * 24; i++)
        x[i] = sinf(0.05f * (float)i);
    actc_set_allocator(failing_alloc, NULL);
    cr_assert_eq(reference_attempt(-1, ts, x, y0, p0), ACTC_OK);
    arena_set_min_block(512);
    long n;
    for (n = 0; n < 100000; n++) {
        memset(y, 0, sizeof y);
        int st = reference_attempt(n, ts, x, y, p);
        cr_assert_eq(live, 0, "%ld blocks leaked after failing allocation %ld", live, n);
        if (st == ACTC_OK)
            break;
        cr_assert_eq(st, ACTC_ERR_NOMEM, "allocation %ld failed with status %d", n, st);
    }
    actc_set_allocator(NULL, NULL);
    arena_set_min_block(0);
    cr_assert_gt(n, 20, "too few failure points (%ld)", n);
    cr_assert_lt(n, 100000);
    cr_assert_eq(memcmp(y, y0, sizeof y), 0, "outputs after the OOM loop differ");
    cr_assert_eq(memcmp(p, p0, sizeof p), 0);
    fprintf(stderr, "reference run: %ld failure points\n", n);
    for (int i = 0; i < RT_NT; i++)
        free(w[i]);
}

/* ---- activation statistics (docs/stats.md): a statistics build compiled
 * at every allocation failure, its runs under the runtime's failing
 * allocator, and a run that fails to grow the statistics blocks (two
 * threads after one) loses none of the counts made before. ---- */

Test(oom, statistics_fail_cleanly_at_every_allocation, .timeout = 300) {
    static const actc_options stats_opts = {.stats = 1};
    float *w[RT_NT];
    rt_make_weights(w, 5);
    static float x[RT_BATCH * 24], y0[RT_BATCH * 8], p0[RT_BATCH * 8], y[RT_BATCH * 8], p[RT_BATCH * 8];
    for (int i = 0; i < RT_BATCH * 24; i++)
        x[i] = sinf(0.07f * (float)i);
    oom_opts = &stats_opts;
    cr_assert_eq(compile_attempt(RT_SRC, -1, false, NULL, NULL, x, y0, p0, w), ACTC_OK);
    compile_oom_loop(RT_SRC, false, x, w, y0, p0);
    oom_opts = NULL;
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_assert_eq(actc_check_source(s, "rt.act", RT_SRC, strlen(RT_SRC)), ACTC_OK);
    actc_jit_model *j;
    cr_assert_eq(actc_jit_compile(s, NULL, &stats_opts, &j), ACTC_OK, "%s", actc_last_error(s));
    const actrt_desc *d = actc_jit_desc(j);
    cr_assert_gt(d->nsites, 0);
    long n;
    for (n = 0; n < 100000; n++) { /* create, load, two runs on one and on two threads, a read */
        countdown = n;
        actrt_set_allocator(failing_alloc, NULL);
        actrt_model *m = NULL;
        int st = actrt_model_create(&m, d);
        if (st == ACTC_OK)
            st = load_arrays(m, w);
        if (st == ACTC_OK)
            st = actrt_model_set_threads(m, 1);
        if (st == ACTC_OK)
            st = actrt_model_run(m, RT_BATCH, (const float *const[]){x}, (float *const[]){y, p});
        int64_t before = -1;
        actrt_site_stats ss = {.size = sizeof ss};
        if (st == ACTC_OK) {
            cr_assert_eq(actrt_model_stats_read(m, 0, &ss), ACTC_OK);
            before = ss.samples;
            st = actrt_model_set_threads(m, 2);
        }
        if (st == ACTC_OK) {
            st = actrt_model_run(m, RT_BATCH, (const float *const[]){x}, (float *const[]){y, p});
            cr_assert_eq(actrt_model_stats_read(m, 0, &ss), ACTC_OK);
            cr_assert_eq(ss.samples, st == ACTC_OK ? 2 * before : before, "counts after a failed run: %lld",
                         (long long)ss.samples);
            int64_t total = 0;
            for (int b = 0; b < ACTRT_STATS_BINS + 2; b++)
                total += ss.hist[b];
            cr_assert_eq(total, ss.samples * d->sites[0].units, "histogram total");
        }
        actrt_model_free(m);
        actrt_set_allocator(NULL, NULL);
        countdown = -1;
        cr_assert_eq(live, 0, "%ld blocks leaked after failing allocation %ld", live, n);
        if (st == ACTC_OK)
            break;
        cr_assert_eq(st, ACTC_ERR_NOMEM, "allocation %ld failed with status %d: %s", n, st, actrt_last_error(NULL));
    }
    cr_assert_lt(n, 100000);
    cr_assert_eq(memcmp(y, y0, sizeof y), 0, "outputs after the OOM loop differ");
    fprintf(stderr, "runtime with statistics: %ld failure points\n", n);
    for (int i = 0; i < RT_NT; i++)
        free(w[i]);
    actc_jit_free(j);
    actc_session_free(s);
}

/* ---- compact weights (docs/language.md §7.2.1): a bf16, an f16 and an int8 build
 * of the gated model, packed (rounding every value) at every allocation
 * failure; the first run that gets through computes what an unlimited one
 * does. ---- */

Test(oom, compact_weights_fail_cleanly_at_every_allocation, .timeout = 300) {
    float *w[RT_NT];
    rt_make_weights(w, 9);
    static float x[RT_BATCH * 24], y0[RT_BATCH * 8], p0[RT_BATCH * 8], y[RT_BATCH * 8], p[RT_BATCH * 8];
    for (int i = 0; i < RT_BATCH * 24; i++)
        x[i] = cosf(0.05f * (float)i);
    for (int type = ACTC_WEIGHTS_BF16; type <= ACTC_WEIGHTS_INT8; type++) {
        actc_options o = {.weights = type};
        actc_session *s;
        cr_assert_eq(actc_session_new(&s), ACTC_OK);
        cr_assert_eq(actc_check_source(s, "rt.act", RT_SRC, strlen(RT_SRC)), ACTC_OK);
        actc_jit_model *j;
        cr_assert_eq(actc_jit_compile(s, NULL, &o, &j), ACTC_OK, "%s", actc_last_error(s));
        const actrt_desc *d = actc_jit_desc(j);
        cr_assert_eq(rt_attempt(d, -1, RT_ARRAYS, w, NULL, 0, NULL, x, y0, p0), ACTC_OK);
        long n;
        for (n = 0; n < 100000; n++) {
            memset(y, 0, sizeof y);
            int r = rt_attempt(d, n, RT_ARRAYS, w, NULL, 0, NULL, x, y, p);
            cr_assert_eq(live, 0, "%ld blocks leaked after failing allocation %ld", live, n);
            if (r == ACTC_OK)
                break;
            cr_assert_eq(r, ACTC_ERR_NOMEM, "allocation %ld failed with status %d: %s", n, r, actrt_last_error(NULL));
        }
        cr_assert_lt(n, 100000);
        cr_assert_eq(memcmp(y, y0, sizeof y), 0, "outputs after the OOM loop differ");
        fprintf(stderr, "runtime with %s weights: %ld failure points\n",
                type == ACTC_WEIGHTS_BF16 ? "bf16" : type == ACTC_WEIGHTS_F16 ? "f16" : "int8", n);
        actc_jit_free(j);
        actc_session_free(s);
    }
    for (int i = 0; i < RT_NT; i++)
        free(w[i]);
}

/* ---- .npy inputs of integers (runtime/npy.c): an <i2 input read with
 * actrt_npy_read, then the gated model created, bound and run on it, at
 * every allocation failure: NOMEM and nothing leaked until it gets
 * through, and then the same bits as the same values given as floats.  A
 * file the reader rejects after allocating (an integer beyond 2^24) and a
 * weights file of another format (a .npz, named by runtime/sniff.c) fail
 * with NOMEM or their own error, never leaking. ---- */

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* A version-1.0 .npy of `descr` and shape text with n elements of `size` bytes at data. */
static void write_npy_file(const char *path, const char *descr, const char *shape, const void *data, size_t bytes) {
    char h[128];
    int hl = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    size_t total = (10 + (size_t)hl + 1 + 63) / 64 * 64;
    uint8_t *buf = calloc(1, total + bytes);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(total - 10);
    buf[9] = (uint8_t)((total - 10) >> 8);
    memcpy(buf + 10, h, (size_t)hl);
    memset(buf + 10 + hl, ' ', total - 10 - (size_t)hl - 1);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, bytes);
    write_bytes(path, buf, total + bytes);
    free(buf);
}

Test(oom, integer_npy_input_fails_cleanly_at_every_allocation, .timeout = 300) {
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_assert_eq(actc_check_source(s, "rt.act", RT_SRC, strlen(RT_SRC)), ACTC_OK);
    actc_jit_model *j;
    cr_assert_eq(actc_jit_compile(s, NULL, NULL, &j), ACTC_OK, "%s", actc_last_error(s));
    const actrt_desc *d = actc_jit_desc(j);
    float *w[RT_NT];
    rt_make_weights(w, 5);
    static int16_t xi[RT_BATCH * 24];
    static float xf[RT_BATCH * 24], y0[RT_BATCH * 8], p0[RT_BATCH * 8], y[RT_BATCH * 8], p[RT_BATCH * 8];
    for (int i = 0; i < RT_BATCH * 24; i++) {
        xi[i] = (int16_t)(i % 11 - 5);
        xf[i] = (float)xi[i];
    }
    char xpath[64], bad[64], npz[64], shape[32];
    snprintf(xpath, sizeof xpath, "/tmp/actc-oom-x-%d.npy", (int)getpid());
    snprintf(bad, sizeof bad, "/tmp/actc-oom-bad-%d.npy", (int)getpid());
    snprintf(npz, sizeof npz, "/tmp/actc-oom-%d.npz", (int)getpid());
    snprintf(shape, sizeof shape, "(%d, 24)", RT_BATCH);
    write_npy_file(xpath, "<i2", shape, xi, sizeof xi);
    const int64_t big[3] = {0, 0, 16777217};
    write_npy_file(bad, "<i8", "(3,)", big, sizeof big);
    /* numpy.savez's layout: a zip whose first entry is x.npy */
    uint8_t zip[64] = "PK\x03\x04";
    zip[26] = 5; /* the first entry's name length, then the name */
    memcpy(zip + 30, "x.npy", 5);
    write_bytes(npz, zip, sizeof zip);
    cr_assert_eq(rt_attempt(d, -1, RT_ARRAYS, w, NULL, 0, NULL, xf, y0, p0), ACTC_OK);
    long n;
    for (n = 0; n < 100000; n++) {
        float *x = NULL;
        int64_t sh[ACTRT_NPY_MAX_RANK];
        int rank;
        countdown = n;
        actrt_set_allocator(failing_alloc, NULL);
        int st = actrt_npy_read(xpath, &x, sh, &rank);
        long left = countdown; /* what the read left of the budget, for the run */
        actrt_set_allocator(NULL, NULL);
        countdown = -1;
        cr_assert(st == ACTC_OK ? x != NULL : x == NULL);
        if (st == ACTC_OK) {
            cr_assert(rank == 2 && sh[0] == RT_BATCH && sh[1] == 24);
            memset(y, 0, sizeof y);
            st = rt_attempt(d, left, RT_ARRAYS, w, NULL, 0, NULL, x, y, p);
            actrt_set_allocator(failing_alloc, NULL); /* x came from it: free it there (live) */
            actrt_free(x);
            actrt_set_allocator(NULL, NULL);
        }
        cr_assert_eq(live, 0, "%ld blocks leaked after failing allocation %ld", live, n);
        if (st == ACTC_OK)
            break;
        cr_assert_eq(st, ACTC_ERR_NOMEM, "allocation %ld failed with status %d: %s", n, st, actrt_last_error(NULL));
    }
    cr_assert_lt(n, 100000);
    cr_assert_gt(n, 2, "too few failure points (%ld)", n);
    cr_assert_eq(memcmp(y, y0, sizeof y), 0, "the integer input computes what its floats do");
    cr_assert_eq(memcmp(p, p0, sizeof p), 0);
    fprintf(stderr, "integer .npy input + runtime: %ld failure points\n", n);
    /* rejected files: NOMEM while allocations fail, then their own error */
    for (n = 0; n < 1000; n++) {
        float *x = (float *)xf;
        int64_t sh[ACTRT_NPY_MAX_RANK];
        int rank;
        countdown = n;
        actrt_set_allocator(failing_alloc, NULL);
        int st = actrt_npy_read(bad, &x, sh, &rank);
        char rerr[512];
        snprintf(rerr, sizeof rerr, "%s", actrt_last_error(NULL));
        actrt_model *m = NULL;
        int wst = actrt_model_create(&m, d);
        if (wst == ACTC_OK)
            wst = actrt_model_load_weights(m, (const char *const[]){npz}, 1, NULL);
        const char *werr = wst == ACTC_ERR_WEIGHTS ? strstr(actrt_last_error(m), "is a NumPy .npz archive") : "";
        actrt_model_free(m);
        actrt_set_allocator(NULL, NULL);
        countdown = -1;
        cr_assert_null(x);
        cr_assert_eq(live, 0, "%ld blocks leaked after failing allocation %ld", live, n);
        cr_assert(st == ACTC_ERR_NOMEM || (st == ACTC_ERR_IO && strstr(rerr, "element 2 is 16777217, beyond 2^24")),
                  "status %d: %s", st, rerr);
        cr_assert(wst == ACTC_ERR_NOMEM || (wst == ACTC_ERR_WEIGHTS && werr), "status %d", wst);
        if (st == ACTC_ERR_IO && wst == ACTC_ERR_WEIGHTS)
            break;
    }
    cr_assert_lt(n, 1000);
    unlink(xpath), unlink(bad), unlink(npz);
    for (int i = 0; i < RT_NT; i++)
        free(w[i]);
    actc_jit_free(j);
    actc_session_free(s);
}
