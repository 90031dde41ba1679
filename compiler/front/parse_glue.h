/*
 * parse_glue.h — what the generated parser and scanner need from parse.c.
 * Included only by grammar/parser.y, grammar/lexer.l and parse.c.
 */
#ifndef ACTC_PARSE_GLUE_H
#define ACTC_PARSE_GLUE_H

#include "front/front.h"

/* Record a syntax error at `loc` (handles the error cap and the hint for a
 * missing newline before '}' etc.). */
void parse_syntax_error(Parser *p, Span loc, const char *msg);
/* The lexer saw '(' or '[' at `loc`: newlines are ignored until it closes. */
void parse_open_bracket(Parser *p, Span loc);
void parse_close_bracket(Parser *p);
/* A lexical error (stray character, unterminated string, bad number). */
void parse_lex_error(Parser *p, Span loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Memory for flex and bison: from the session arena (freed with it, so an
 * out-of-memory longjmp cannot leak scanner state). */
void *parse_alloc(Parser *p, size_t size);
void *parse_realloc(Parser *p, void *ptr, size_t size);
_Noreturn void parse_fatal(const char *msg);

#endif
