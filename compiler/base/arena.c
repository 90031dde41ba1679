/*
 * arena.c — bump allocation over a chain of blocks, plus growable arrays and
 * string builders that live in an arena.  An arena has one owner (a session,
 * or a pass through a mark); nothing in it is freed individually.  When a
 * block cannot be allocated the arena longjmps to the current boundary with
 * ACTC_ERR_NOMEM, so callers never see NULL.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

/* Minimum block size.  Tests lower it (arena_set_min_block) so that
 * out-of-memory injection hits many more points inside the phases. */
static size_t block_min = 64 * 1024;

void arena_set_min_block(size_t n) { block_min = n ? n : 64 * 1024; }

struct ArenaBlock {
    ArenaBlock *prev;
    char *cur, *end;
    _Alignas(max_align_t) char data[];
};

size_t size_mul_or_die(size_t a, size_t b) {
    size_t r;
    if (__builtin_mul_overflow(a, b, &r))
        boundary_throw(ACTC_ERR_NOMEM, "out of memory (size overflow)");
    return r;
}

static ArenaBlock *new_block(ArenaBlock *prev, size_t need) {
    size_t size = need + sizeof(ArenaBlock) + 64;
    if (size < need)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory");
    if (size < block_min)
        size = block_min;
    ArenaBlock *b = mem_alloc(size);
    if (!b)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory");
    b->prev = prev;
    b->cur = b->data;
    b->end = (char *)b + size;
    return b;
}

void *arena_alloc(Arena *a, size_t size, size_t align) {
    ArenaBlock *b = a->head;
    if (b) {
        uintptr_t p = ((uintptr_t)b->cur + align - 1) & ~(uintptr_t)(align - 1);
        if (p <= (uintptr_t)b->end && size <= (size_t)((uintptr_t)b->end - p)) {
            b->cur = (char *)p + size;
            memset((void *)p, 0, size);
            return (void *)p;
        }
    }
    if (size > SIZE_MAX - align)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory (size overflow)");
    b = new_block(a->head, size + align);
    a->head = b;
    a->total += (size_t)(b->end - (char *)b);
    uintptr_t p = ((uintptr_t)b->cur + align - 1) & ~(uintptr_t)(align - 1);
    b->cur = (char *)p + size;
    memset((void *)p, 0, size);
    return (void *)p;
}

void *arena_realloc(Arena *a, void *old, size_t old_size, size_t new_size, size_t align) {
    void *p = arena_alloc(a, new_size, align);
    if (old && old_size)
        memcpy(p, old, old_size < new_size ? old_size : new_size);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
    if (n == SIZE_MAX)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory (size overflow)");
    char *p = arena_alloc(a, n + 1, 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_vprintf(Arena *a, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        ACTC_BUG("bad format string '%s'", fmt);
    char *p = arena_alloc(a, (size_t)n + 1, 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_printf(Arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

ArenaMark arena_mark(Arena *a) {
    return (ArenaMark){a->head, a->head ? a->head->cur : NULL};
}

void arena_reset(Arena *a, ArenaMark m) {
    while (a->head && a->head != m.blk) {
        ArenaBlock *prev = a->head->prev;
        a->total -= (size_t)(a->head->end - (char *)a->head);
        mem_free(a->head);
        a->head = prev;
    }
    if (a->head)
        a->head->cur = m.cur;
}

void arena_free(Arena *a) {
    arena_reset(a, (ArenaMark){NULL, NULL});
    a->total = 0;
}

void *vec_grow(Arena *a, void *items, int len, int *cap, size_t elem, size_t align) {
    if (*cap > INT32_MAX / 2)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory (array too large)");
    int ncap = *cap ? *cap * 2 : 8;
    void *p = arena_alloc(a, size_mul_or_die(elem, (size_t)ncap), align);
    if (len)
        memcpy(p, items, elem * (size_t)len);
    *cap = ncap;
    return p;
}

/* ---- string builder ---- */

void sb_init(StrBuf *sb, Arena *a) { *sb = (StrBuf){.arena = a}; }

static void sb_reserve(StrBuf *sb, size_t extra) {
    if (sb->len + extra + 1 <= sb->cap)
        return;
    size_t ncap = sb->cap ? sb->cap : 64;
    while (ncap < sb->len + extra + 1) {
        if (ncap > SIZE_MAX / 2)
            boundary_throw(ACTC_ERR_NOMEM, "out of memory");
        ncap *= 2;
    }
    sb->data = arena_realloc(sb->arena, sb->data, sb->len, ncap, 1);
    sb->cap = ncap;
}

void sb_putn(StrBuf *sb, const char *s, size_t n) {
    sb_reserve(sb, n);
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void sb_puts(StrBuf *sb, const char *s) { sb_putn(sb, s, strlen(s)); }

void sb_putc(StrBuf *sb, char c) { sb_putn(sb, &c, 1); }

void sb_printf(StrBuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        ACTC_BUG("bad format string '%s'", fmt);
    if ((size_t)n < sizeof tmp) {
        sb_putn(sb, tmp, (size_t)n);
    } else {
        sb_reserve(sb, (size_t)n);
        vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
        sb->len += (size_t)n;
    }
    va_end(ap);
}

const char *sb_str(StrBuf *sb) {
    sb_reserve(sb, 0);
    return sb->data;
}

void sb_put_double(StrBuf *sb, double v, bool real) {
    char buf[40];
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, sizeof buf, real ? "%.1f" : "%.0f", v);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (isnan(v) || strtod(buf, NULL) == v)
                break;
        }
    }
    sb_puts(sb, buf);
}
