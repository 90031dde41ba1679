/*
 * alloc.c — the runtime's allocation funnel (style.md §4): every allocation
 * of libactrt goes through one function pointer, so tests can fail the N-th
 * one and hosts can plug in their own allocator.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* jansson's allocations (below).  These two belong in internal.h next to
 * the funnel; safetensors.c repeats them. */

static void *default_alloc(void *ud, void *p, size_t size) {
    (void)ud;
    if (size == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, size);
}

static actrt_alloc_fn alloc_fn = default_alloc;
static void *alloc_ud;

void actrt_set_allocator(actrt_alloc_fn fn, void *ud) {
    alloc_fn = fn ? fn : default_alloc;
    alloc_ud = fn ? ud : NULL;
}

void *rt_realloc(void *p, size_t size) { return alloc_fn(alloc_ud, p, size); }

void *rt_alloc(size_t size) { return alloc_fn(alloc_ud, NULL, size ? size : 1); }

void *rt_calloc(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return NULL;
    void *p = rt_alloc(total);
    if (p)
        memset(p, 0, total ? total : 1);
    return p;
}

void rt_free(void *p) {
    if (p)
        alloc_fn(alloc_ud, p, 0);
}

/* Zeroed, 64-byte aligned (a cache line: a vector load of a packed weight
 * panel never spans two lines; glibc's large blocks sit 16 bytes past a
 * page, which split every AVX-512 load in two).  Over the current
 * allocator: the block it returned is kept just below the aligned one. */
void *rt_calloc_aligned(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total) || __builtin_add_overflow(total, 64 + sizeof(void *), &total))
        return NULL;
    char *raw = rt_alloc(total);
    if (!raw)
        return NULL;
    uintptr_t a = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
    void **p = (void **)a;
    p[-1] = raw;
    memset(p, 0, total - (size_t)(a - (uintptr_t)raw));
    return p;
}

void rt_free_aligned(void *p) {
    if (p)
        rt_free(((void **)p)[-1]);
}

char *rt_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = rt_alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- jansson ----
 * The safetensors reader parses its header with jansson, so jansson must
 * allocate through the funnel too: json_set_alloc_funcs with two wrappers
 * around rt_alloc / rt_free (jansson's free gets no size; rt_free needs
 * none).  jansson's allocator is PROCESS-GLOBAL: once installed it serves
 * every jansson caller in the process (libactc's JSON diagnostics, a host's
 * own jansson use), which then allocate through the runtime's allocator.
 * It is installed once, lazily, before the first parse (pthread_once);
 * actrt_set_allocator need not reinstall it, because the wrappers call
 * rt_alloc / rt_free, which follow the current allocator.
 *
 * A parse is bracketed by rt_json_begin / rt_json_end, which tells whether
 * an allocation made by jansson failed (jansson does not report them all:
 * some paths return NULL with no error, or carry on with a truncated
 * token).  Within a parse a failure latches: every later jansson
 * allocation in the thread fails too, until rt_json_end.  jansson 2.14's
 * lexer ignores a failed append to its token buffer (akheron/jansson#362);
 * if a later allocation then succeeded it would decode a string past the
 * end of that buffer.  The latch closes that path; the other consequence
 * of the bug, an assert in jansson when a number or word longer than 15
 * bytes loses a byte, remains possible under memory exhaustion. */

static _Thread_local struct {
    bool active; /* inside rt_json_begin .. rt_json_end */
    bool failed; /* a jansson allocation failed since rt_json_begin */
} json_parse;

static void *json_alloc(size_t size) {
    if (json_parse.failed)
        return NULL;
    void *p = rt_alloc(size);
    if (!p && json_parse.active)
        json_parse.failed = true;
    return p;
}

static void json_release(void *p) { rt_free(p); }

static pthread_once_t json_once = PTHREAD_ONCE_INIT;

static void json_install(void) { json_set_alloc_funcs(json_alloc, json_release); }

void rt_json_begin(void) {
    pthread_once(&json_once, json_install);
    json_parse.active = true;
    json_parse.failed = false;
}

bool rt_json_end(void) {
    bool failed = json_parse.failed;
    json_parse.active = json_parse.failed = false;
    return failed;
}
