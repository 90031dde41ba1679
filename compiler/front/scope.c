/*
 * scope.c — the scope chain (docs/language.md §3, §3.5).
 *
 * A Scope holds the names bound at one level, in the order they were bound:
 * the file's declarations (only those checked so far: names are defined
 * before use), a function's parameters, a model's inputs and assignments.
 * Each scope points at the one around it; a lookup tries the innermost scope
 * first and, within a scope, returns the first symbol of that name (a
 * redefinition is reported and never shadows the original).  A scope also
 * carries the prefix that layer names given inside it receive.  The checker
 * is the only writer; every name it resolves goes through here.
 */
#include <string.h>

#include "front.h"

void scope_add(Arena *a, Scope *s, Symbol sym) { VEC_PUSH(a, s->syms, s->nsyms, s->capsyms, sym); }

const Symbol *scope_lookup_here(const Scope *s, const char *name) {
    for (int i = 0; i < s->nsyms; i++)
        if (strcmp(s->syms[i].name, name) == 0)
            return &s->syms[i];
    return NULL;
}

const Symbol *scope_lookup(const Scope *s, const char *name) {
    for (; s; s = s->up) {
        const Symbol *sym = scope_lookup_here(s, name);
        if (sym)
            return sym;
    }
    return NULL;
}

const Scope *scope_file(const Scope *s) {
    while (s->up)
        s = s->up;
    return s;
}

const char *scope_layer_name(Arena *a, const Scope *s, const char *name) {
    for (; s; s = s->up)
        if (s->prefix)
            return arena_printf(a, "%s.%s", s->prefix, name);
    return name;
}
