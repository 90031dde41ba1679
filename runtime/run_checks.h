/*
 * run_checks.h — the contract of a run, shared by libactrt (model.c) and the
 * embedded runtime of self-contained objects (embedded.c): the argument
 * checks with their messages, the scratch size, and how the batch is split
 * into row chunks.  A change to any of them is made here, once.
 *
 * Freestanding (stddef/stdint/stdbool and the public headers only), and no
 * printf: embedded.c is compiled to bitcode for objects that link with libc's
 * malloc, realloc and free alone, so messages are built by the small
 * appenders below.  Everything is static (inline): each includer gets its
 * copy.
 */
#ifndef ACTRT_RUN_CHECKS_H
#define ACTRT_RUN_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actc/runtime.h"

/* ---- the row tile ----
 *
 * Rows of the kernels' register tile (actrt_desc.row_tile, from the target
 * descriptor): threads (libactrt) and parallel-for tasks (embedded objects)
 * take whole multiples of it, so no tile is split between two of them. */
static inline int64_t rt_row_tile(const actrt_desc *d) { return d->row_tile; }

/* Rows per chunk when `batch` rows are shared among at most `parts` threads
 * or tasks: a multiple of the row tile (the last chunk may be shorter). */
static inline int64_t rt_chunk_rows(const actrt_desc *d, int64_t batch, int64_t parts) {
    int64_t tile = rt_row_tile(d);
    int64_t chunk = (batch + parts - 1) / parts;
    return (chunk + tile - 1) / tile * tile;
}

/* ---- messages without printf ---- */

/* A message being built into buf[cap] (cap >= 1); always NUL-terminated
 * once something was appended, truncated at cap - 1 bytes.  Creating one
 * writes nothing, so it may point at a buffer holding an older message. */
typedef struct RtMsg {
    char *buf;
    size_t cap, len;
} RtMsg;

static inline RtMsg rt_msg(char *buf, size_t cap) {
    RtMsg m = {buf, cap, 0};
    return m;
}

/* Cold and out of line: they run on error paths only, and inlined copies
 * (with unrolled loops) would triple the size of the embedded runtime. */
__attribute__((cold, noinline, unused)) static void rt_puts(RtMsg *m, const char *s) {
    for (; *s && m->len + 1 < m->cap; s++)
        m->buf[m->len++] = *s;
    m->buf[m->len] = 0;
}

/* v in decimal, as printf's %lld. */
__attribute__((cold, noinline, unused)) static void rt_puti(RtMsg *m, int64_t v) {
    char rev[24], s[24];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int n = 0, k = 0;
    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        s[k++] = '-';
    while (n)
        s[k++] = rev[--n];
    s[k] = 0;
    rt_puts(m, s);
}

/* ---- checks: each returns ACTC_OK, or a status with the message in msg ---- */

/* Bytes of scratch one run of `batch` rows uses (per calling thread): 0
 * for no rows, -1 for a negative batch or when the size overflows. */
static inline int64_t rt_workspace_bytes(const actrt_desc *d, int64_t batch) {
    int64_t n;
    if (batch < 0 || __builtin_mul_overflow(d->scratch_per_row, batch, &n) ||
        __builtin_mul_overflow(n, (int64_t)sizeof(float), &n))
        return -1;
    return n;
}

/* The batch of a run: not negative, and the model's fixed batch if it has
 * one.  0 rows is a run that computes nothing (empty outputs, as PyTorch
 * gives for a [0, n] tensor); the callers return before any kernel. */
static inline int rt_check_batch(const actrt_desc *d, int64_t batch, RtMsg *msg) {
    if (batch < 0) {
        rt_puts(msg, "batch must not be negative, got ");
        rt_puti(msg, batch);
        return ACTC_ERR_ARG;
    }
    if (d->fixed_batch > 0 && batch != d->fixed_batch) {
        rt_puts(msg, "model '");
        rt_puts(msg, d->name);
        rt_puts(msg, "' has a fixed batch of ");
        rt_puti(msg, d->fixed_batch);
        rt_puts(msg, ", got ");
        rt_puti(msg, batch);
        return ACTC_ERR_ARG;
    }
    return ACTC_OK;
}

static inline int rt_null_port(RtMsg *msg, const char *what, int i, const char *name) {
    rt_puts(msg, what);
    rt_puts(msg, " ");
    rt_puti(msg, i);
    rt_puts(msg, " ('");
    rt_puts(msg, name);
    rt_puts(msg, "') is NULL");
    return ACTC_ERR_ARG;
}

/* The input and output arrays of a run of `batch` rows (checked by
 * rt_check_batch): present, no NULL buffer (with 0 rows a buffer is empty
 * and may be NULL, as malloc(0) may return), and every buffer's size in
 * bytes representable.  *need: the scratch the run takes, in floats (one
 * more than the workspace, so that it is never empty). */
static inline int rt_check_buffers(const actrt_desc *d, int64_t batch, const float *const *inputs,
                                   float *const *outputs, int64_t *need, RtMsg *msg) {
    if ((d->ninputs && !inputs) || !outputs) {
        rt_puts(msg, !outputs ? "outputs array is NULL" : "inputs array is NULL");
        return ACTC_ERR_ARG;
    }
    for (int i = 0; i < d->ninputs; i++)
        if (!inputs[i] && batch > 0)
            return rt_null_port(msg, "input", i, d->inputs[i].name);
    for (int i = 0; i < d->noutputs; i++)
        if (!outputs[i] && batch > 0)
            return rt_null_port(msg, "output", i, d->outputs[i].name);
    int64_t bytes = rt_workspace_bytes(d, batch);
    for (int i = 0; i < d->ninputs + d->noutputs && bytes >= 0; i++) {
        int64_t n = i < d->ninputs ? d->inputs[i].n : d->outputs[i - d->ninputs].n, b;
        if (__builtin_mul_overflow(n, batch, &b) || __builtin_mul_overflow(b, (int64_t)sizeof(float), &b))
            bytes = -1;
    }
    if (bytes < 0) {
        rt_puts(msg, "batch ");
        rt_puti(msg, batch);
        rt_puts(msg, " is too large: buffer sizes overflow");
        return ACTC_ERR_ARG;
    }
    *need = bytes / (int64_t)sizeof(float) + 1;
    return ACTC_OK;
}

/* The scratch of a run (`need` floats) could not be allocated. */
static inline int rt_scratch_oom(RtMsg *msg, int64_t need) {
    rt_puts(msg, "out of memory for ");
    rt_puti(msg, need * (int64_t)sizeof(float));
    rt_puts(msg, " bytes of scratch");
    return ACTC_ERR_NOMEM;
}

#endif
