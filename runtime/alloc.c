/*
 * alloc.c — the runtime's allocation funnel (style.md §4): every allocation
 * of libactrt goes through one function pointer, so tests can fail the N-th
 * one and hosts can plug in their own allocator.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
