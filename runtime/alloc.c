/*
 * alloc.c — the runtime's allocation funnel (style.md §4): every allocation
 * of libactrt goes through one function pointer, so tests can fail the N-th
 * one and hosts can plug in their own allocator.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* jansson's allocations (below).  These two belong in internal.h next to
 * the funnel; safetensors.c repeats them. */
void rt_json_begin(void);        /* before json_load*: install the funnel, clear the flag */
bool rt_json_alloc_failed(void); /* did a jansson allocation fail since rt_json_begin? */

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
 * none).  jansson's allocator is PROCESS-GLOBAL: once installed it is used
 * by every jansson caller in the process (libactc's JSON diagnostics, and
 * the host's own jansson use), which then allocate through the runtime's
 * allocator.  It is installed once, lazily, before the first parse
 * (pthread_once); actrt_set_allocator need not reinstall it because the
 * wrappers call rt_alloc / rt_free, which follow the current allocator.
 * jansson does not report every allocation failure (some paths return NULL
 * with no error, or carry on with a truncated token), so the wrapper
 * records a failure in a per-thread flag: rt_json_begin clears it before a
 * parse, rt_json_alloc_failed tells afterwards whether any allocation made
 * by jansson in this thread failed. */

static _Thread_local bool json_alloc_failed;

static void *json_alloc(size_t size) {
    void *p = rt_alloc(size);
    if (!p)
        json_alloc_failed = true;
    return p;
}

static void json_release(void *p) { rt_free(p); }

static pthread_once_t json_once = PTHREAD_ONCE_INIT;

static void json_install(void) { json_set_alloc_funcs(json_alloc, json_release); }

void rt_json_begin(void) {
    pthread_once(&json_once, json_install);
    json_alloc_failed = false;
}

bool rt_json_alloc_failed(void) { return json_alloc_failed; }
