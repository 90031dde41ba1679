/*
 * alloc.c — the one allocation funnel of libactc.  Every byte the compiler
 * allocates comes through mem_realloc(), so a test can make the N-th
 * allocation fail (tests/unit/test_oom.c) and a host can plug in its own
 * allocator (actc_set_allocator).
 */
#include <stdlib.h>

#include "base.h"

static void *default_alloc(void *ud, void *p, size_t size) {
    (void)ud;
    if (size == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, size);
}

static actc_alloc_fn alloc_fn = default_alloc;
static void *alloc_ud;

void actc_set_allocator(actc_alloc_fn fn, void *ud) {
    alloc_fn = fn ? fn : default_alloc;
    alloc_ud = fn ? ud : NULL;
}

void *mem_realloc(void *p, size_t size) { return alloc_fn(alloc_ud, p, size); }

void *mem_alloc(size_t size) { return alloc_fn(alloc_ud, NULL, size ? size : 1); }

void mem_free(void *p) {
    if (p)
        alloc_fn(alloc_ud, p, 0);
}
