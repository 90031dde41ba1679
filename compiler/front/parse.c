/*
 * parse.c — glue between the session and the generated scanner/parser.
 * parse_source() checks that the text is UTF-8, runs the pure parser over a
 * reentrant scanner, and returns the Program (possibly partial when syntax
 * errors were reported).  Scanner and parser memory comes from the session
 * arena, so a longjmp out of the parser (out of memory) leaks nothing.
 */
#include <stdio.h>
#include <string.h>

#include "parse_glue.h"
#include "parser.h"
#define YYSTYPE ACTC_YYSTYPE
#define YYLTYPE Span
#include "lexer.h"

/* The parser being run on this thread: flex and bison allocate without a
 * parser argument we control, so their memory hooks find the arena here. */
static _Thread_local Parser *current;

typedef struct {
    size_t size;
    _Alignas(max_align_t) char data[];
} Chunk;

void *parse_alloc(Parser *p, size_t size) {
    if (!p)
        p = current;
    if (!p)
        ACTC_BUG("scanner allocation outside parse_source");
    if (size > SIZE_MAX - sizeof(Chunk))
        boundary_throw(ACTC_ERR_NOMEM, "out of memory");
    Chunk *c = arena_alloc(&p->s->perm, sizeof(Chunk) + size, _Alignof(Chunk));
    c->size = size;
    return c->data;
}

void *parse_realloc(Parser *p, void *ptr, size_t size) {
    void *n = parse_alloc(p, size);
    if (ptr) {
        Chunk *c = (Chunk *)((char *)ptr - offsetof(Chunk, data));
        memcpy(n, ptr, c->size < size ? c->size : size);
    }
    return n;
}

_Noreturn void parse_fatal(const char *msg) {
    ACTC_BUG("scanner: %s", msg);
}

/* bison's stack growth (YYMALLOC/YYFREE in the generated parser) */
void *parse_stack_alloc(size_t size);
void parse_stack_free(void *p);
void *parse_stack_alloc(size_t size) { return parse_alloc(NULL, size); }
void parse_stack_free(void *p) { (void)p; }

void parse_open_bracket(Parser *p, Span loc) {
    if (p->depth < (int)ARRAY_LEN(p->open_at))
        p->open_at[p->depth] = loc.start;
    p->depth++;
}

void parse_close_bracket(Parser *p) {
    if (p->depth > 0)
        p->depth--;
}

/* The innermost open '(' / '[' or '{', for "to match this" notes. */
static bool innermost_open(const Parser *p, bool brace, Span *out) {
    int d = brace ? p->braces : p->depth;
    int cap = brace ? (int)ARRAY_LEN(p->brace_at) : (int)ARRAY_LEN(p->open_at);
    if (d <= 0 || d > cap)
        return false;
    uint32_t at = brace ? p->brace_at[d - 1] : p->open_at[d - 1];
    *out = (Span){p->file, at, at + 1};
    return true;
}

void parse_syntax_error(Parser *p, Span loc, const char *msg) {
    p->nsyntax++;
    /* A lexical error earlier in this statement already explains it. */
    Diagnostic *dg = p->lex_error ? NULL : diag_error(&p->s->diag, loc, "%s", msg);
    Span open;
    if (innermost_open(p, false, &open)) {
        /* Inside brackets newlines are ignored, so an unclosed '(' makes the
         * error appear lines later: point at it. */
        uint32_t l1, l2, c;
        source_line_col(p->src, open.start, &l1, &c);
        source_line_col(p->src, loc.start, &l2, &c);
        if (l2 > l1)
            diag_note(&p->s->diag, dg, open, "to match this '%c'", p->src->text[open.start]);
    } else if (loc.start >= p->src->len && innermost_open(p, true, &open)) {
        diag_note(&p->s->diag, dg, open, "to match this '{'");
    }
    /* Let newlines end statements again so that recovery finds the next one. */
    p->depth = 0;
}

void parse_lex_error(Parser *p, Span loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const char *msg = arena_vprintf(&p->s->perm, fmt, ap);
    va_end(ap);
    p->nsyntax++;
    p->lex_error = true;
    diag_error(&p->s->diag, loc, "%s", msg);
}

void actc_yyerror(Span *loc, yyscan_t scanner, Parser *p, const char *msg) {
    (void)scanner;
    /* Only reached for bison's own failures: the parser stack limit. */
    if (strstr(msg, "memory exhausted"))
        msg = "program is nested too deeply (parser stack limit reached)";
    parse_syntax_error(p, *loc, msg);
}

Program *parse_source(Session *s, Source *src) {
    Parser p = {.s = s, .src = src, .at_line_start = true, .at_stmt_start = true};
    p.file = diag_add_source(&s->diag, src);
    p.prog = NEW(&s->perm, Program);
    p.prog->file = p.file;

    uint32_t bad = source_check_utf8(src);
    if (bad != UINT32_MAX) {
        diag_error(&s->diag, (Span){p.file, bad, bad + 1},
                   "source is not valid UTF-8 (byte 0x%02x)", (unsigned char)src->text[bad]);
        return p.prog;
    }

    Parser *saved = current;
    current = &p;
    yyscan_t scanner;
    if (actc_yylex_init_extra(&p, &scanner) != 0)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory");
    actc_yy_scan_bytes(src->text, (int)src->len, scanner);
    actc_yyparse(scanner, &p);
    actc_yylex_destroy(scanner); /* arena memory: nothing to free on longjmp */
    current = saved;
    p.prog->nrepaired = p.nrepaired;
    return p.prog;
}

bool parse_checkable(const Session *s, const Program *prog) {
    return !s->diag.too_many && s->diag.nerrors == prog->nrepaired;
}

/* Name of a token for dumps: the symbol's display name from the grammar. */
static const char *token_name(int t, char *buf, size_t n) {
    switch (t) {
    case 0: return "end of file";
    case IDENT: return "identifier";
    case QUALIFIED: return "qualified name";
    case NUMBER: return "number";
    case STRING: return "string";
    case NEWLINE: return "newline";
    case CONST: return "'const'";
    case ACTIVATION: return "'activation'";
    case GATE: return "'gate'";
    case MODEL: return "'model'";
    case BLOCK: return "'block'";
    case FOR: return "'for'";
    case IN: return "'in'";
    case DOTDOT: return "'..'";
    case POW: return "'**'";
    case RETURN: return "'return'";
    case TRUE: return "'true'";
    case FALSE: return "'false'";
    case ARROW: return "'->'";
    case EQEQ: return "'=='";
    case NE: return "'!='";
    case LE: return "'<='";
    case GE: return "'>='";
    default: snprintf(buf, n, "'%c'", t); return buf;
    }
}

const char *lex_dump(Session *s, Source *src) {
    Parser p = {.s = s, .src = src, .at_line_start = true, .at_stmt_start = true};
    p.file = diag_add_source(&s->diag, src);
    StrBuf sb;
    sb_init(&sb, &s->perm);
    Parser *saved = current;
    current = &p;
    yyscan_t scanner;
    if (actc_yylex_init_extra(&p, &scanner) != 0)
        boundary_throw(ACTC_ERR_NOMEM, "out of memory");
    actc_yy_scan_bytes(src->text, (int)src->len, scanner);
    for (;;) {
        ACTC_YYSTYPE v;
        Span loc;
        int t = actc_yylex(&v, &loc, scanner);
        uint32_t line, col;
        char buf[8];
        source_line_col(src, loc.start, &line, &col);
        sb_printf(&sb, "%u:%u %s", line, col, token_name(t, buf, sizeof buf));
        if (t == IDENT || t == QUALIFIED || t == NUMBER || t == STRING)
            sb_printf(&sb, " %s", v.name.name);
        sb_putc(&sb, '\n');
        if (t == 0)
            break;
    }
    actc_yylex_destroy(scanner);
    current = saved;
    return sb_str(&sb);
}
