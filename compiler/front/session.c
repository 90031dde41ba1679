/*
 * session.c — a Session is one compilation's memory (two arenas) and its
 * diagnostic sink.  Created and freed by the public API in driver/api.c.
 */
#include "front.h"

void session_init(Session *s) {
    *s = (Session){0};
    diag_init(&s->diag, &s->perm);
}

void session_release(Session *s) {
    arena_free(&s->scratch);
    arena_free(&s->perm);
}
