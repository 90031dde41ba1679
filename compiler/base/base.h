/*
 * base.h — the lowest layer of the compiler: the allocation funnel, arenas,
 * growable arrays, source files with line tables, and the diagnostic sink.
 * Every other layer includes this header; it includes nothing of actc but the
 * public header (for status codes).
 *
 * Out-of-memory discipline (docs/internals.md): all memory comes from
 * mem_realloc().  An arena that cannot grow longjmps to the boundary that the
 * public entry point installed with BOUNDARY_ENTER(); the entry then returns
 * ACTC_ERR_NOMEM.  Nothing below the boundary checks for NULL.
 */
#ifndef ACTC_BASE_H
#define ACTC_BASE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actc/actc.h"

#define ACTC_BUG(...) bug_report(__FILE__, __LINE__, __VA_ARGS__)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- alloc.c: the one allocation funnel ---- */

void *mem_realloc(void *p, size_t size); /* NULL on failure; size 0 frees */
void *mem_alloc(size_t size);            /* NULL on failure */
void mem_free(void *p);

/* ---- boundary.c: setjmp boundaries at public entry points ---- */

/* Where a failure deep inside a phase jumps to.  One per thread; nested entry
 * points save and restore the previous one. */
typedef struct Boundary {
    jmp_buf env;
    struct Boundary *prev;
    char message[256]; /* for ACTC_ERR_INTERNAL: what went wrong */
} Boundary;

void boundary_push(Boundary *b);
void boundary_pop(Boundary *b);
_Noreturn void boundary_throw(int status, const char *fmt, ...);
_Noreturn void bug_report(const char *file, int line, const char *fmt, ...);

/* Usage:
 *   Boundary b; int st = BOUNDARY_ENTER(&b);
 *   if (st) { ...free what the entry owns...; return st; }
 *   ... work ...
 *   boundary_pop(&b);
 * setjmp must be called in the entry's own frame, hence a macro. */
#define BOUNDARY_ENTER(b) (boundary_push(b), setjmp((b)->env))

/* ---- arena.c: bump allocation with one owner per lifetime ---- */

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
    ArenaBlock *head;
    size_t total; /* bytes held in blocks, for statistics */
} Arena;
typedef struct {
    ArenaBlock *blk;
    char *cur;
} ArenaMark;

void *arena_alloc(Arena *a, size_t size, size_t align); /* zeroed; longjmps on OOM */
void *arena_realloc(Arena *a, void *old, size_t old_size, size_t new_size, size_t align);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(Arena *a, const char *fmt, va_list ap);
ArenaMark arena_mark(Arena *a);
void arena_reset(Arena *a, ArenaMark m);
void arena_free(Arena *a);
size_t size_mul_or_die(size_t a, size_t b);
void arena_set_min_block(size_t n); /* tests only: 0 restores the default */

#define NEW(a, T) ((T *)arena_alloc((a), sizeof(T), _Alignof(T)))
#define NEW_ARRAY(a, T, n) ((T *)arena_alloc((a), size_mul_or_die(sizeof(T), (n)), _Alignof(T)))

/* Growable arrays in an arena: `T *items; int len, cap;` members, grown by
 * VEC_PUSH.  Old storage is left in the arena (it dies with it). */
void *vec_grow(Arena *a, void *items, int len, int *cap, size_t elem, size_t align);
#define VEC_PUSH(a, items, len, cap, x)                                                  \
    do {                                                                                 \
        if ((len) == (cap))                                                              \
            (items) = vec_grow((a), (items), (len), &(cap), sizeof(*(items)),            \
                               _Alignof(__typeof__(*(items))));                          \
        (items)[(len)++] = (x);                                                          \
    } while (0)

/* String builder in an arena. */
typedef struct StrBuf {
    Arena *arena;
    char *data;
    size_t len, cap;
} StrBuf;
void sb_init(StrBuf *sb, Arena *a);
void sb_putn(StrBuf *sb, const char *s, size_t n);
void sb_puts(StrBuf *sb, const char *s);
void sb_putc(StrBuf *sb, char c);
void sb_printf(StrBuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sb_str(StrBuf *sb); /* NUL-terminated; stays valid with the arena */
/* The shortest decimal that reads back as the same double ("10", "0.1",
 * "1e-05"); with `real`, integral values get a ".0" so they read as reals. */
void sb_put_double(StrBuf *sb, double v, bool real);

/* ---- source.c: source buffers, spans and line tables ---- */

/* A byte range [start, end) in source number `file`. */
typedef struct Span {
    uint32_t file, start, end;
} Span;

typedef struct Source {
    const char *name; /* path as given, or "<string>" */
    const char *text; /* NUL-terminated copy; len excludes the NUL */
    uint32_t len;
    uint32_t *line_starts; /* byte offset of each line */
    uint32_t nlines;
} Source;

Source *source_new(Arena *a, const char *name, const char *text, size_t len);
void source_line_col(const Source *s, uint32_t off, uint32_t *line, uint32_t *col);
/* The line containing `off` (without its newline). */
const char *source_line(const Source *s, uint32_t line, uint32_t *len);
/* First invalid UTF-8 byte offset, or UINT32_MAX if the text is valid. */
uint32_t source_check_utf8(const Source *s);

/* ---- diag.c: diagnostics accumulate in a sink; printing is separate ---- */

enum { DIAG_MAX_ERRORS = 20 };

typedef enum { SEV_ERROR, SEV_WARNING, SEV_NOTE } Severity;

typedef struct DiagNote {
    Span span;
    const char *message;
} DiagNote;

/* A fix-it hint (clang's): writing `text` in place of the span repairs the
 * error; an empty text deletes the span. */
typedef struct DiagFixit {
    Span span;
    const char *text;
} DiagFixit;

typedef struct Diagnostic {
    Severity severity;
    Span span;
    bool has_span;
    const char *message;
    DiagNote *notes;
    int nnotes, capnotes;
    DiagFixit *fixits;
    int nfixits, capfixits;
} Diagnostic;

typedef struct Diag {
    Arena *arena;
    Source **sources; /* indexed by Span.file */
    int nsources, capsources;
    Diagnostic *items;
    int len, cap;
    int nerrors, nwarnings;
    bool too_many; /* the error cap was reached; further errors dropped */
} Diag;

void diag_init(Diag *d, Arena *a);
uint32_t diag_add_source(Diag *d, Source *s);
Diagnostic *diag_error(Diag *d, Span sp, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
Diagnostic *diag_warning(Diag *d, Span sp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
Diagnostic *diag_error_nospan(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
Diagnostic *diag_warning_nospan(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Attach a note to the diagnostic returned above (NULL-safe: dropped errors). */
void diag_note(Diag *d, Diagnostic *dg, Span sp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Attach a fix-it to the diagnostic returned above (NULL-safe).  Only a
 * certain repair gets one (language.md §9.1). */
void diag_fixit(Diag *d, Diagnostic *dg, Span sp, const char *text);
bool diag_full(const Diag *d);
/* Render all diagnostics: clang-style text, or one JSON object per line. */
const char *diag_render_text(Diag *d);
const char *diag_render_json(Diag *d);

/* ---- strutil.c ---- */

/* Levenshtein distance, capped: returns > cap when the distance exceeds cap. */
int edit_distance(const char *a, const char *b, int cap);

#endif
