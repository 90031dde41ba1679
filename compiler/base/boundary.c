/*
 * boundary.c — setjmp boundaries.  A public entry point pushes a Boundary
 * before calling into the phases; an arena that cannot grow, a flex fatal
 * error or an internal bug longjmps back to it with a status code.  The stack
 * of boundaries is per thread, so sessions on different threads do not mix.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base.h"

static _Thread_local Boundary *top;

void boundary_push(Boundary *b) {
    b->prev = top;
    b->message[0] = '\0';
    top = b;
}

void boundary_pop(Boundary *b) {
    if (top == b)
        top = b->prev;
}

_Noreturn void boundary_throw(int status, const char *fmt, ...) {
    Boundary *b = top;
    if (!b) {
        /* No entry point below us: a bug in the library's own structure.
         * There is no way to return; this is the only place that stops. */
        fputs("actc: internal error: failure outside any API boundary\n", stderr);
        _Exit(2);
    }
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->message, sizeof b->message, fmt, ap);
        va_end(ap);
    }
    top = b->prev;
    longjmp(b->env, status);
}

_Noreturn void bug_report(const char *file, int line, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    boundary_throw(ACTC_ERR_INTERNAL, "internal error at %s:%d: %s", file, line, msg);
}
