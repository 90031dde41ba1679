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

/* Names are found through an open-addressing index over syms (slot =
 * symbol index + 1, 0 empty), holding the first symbol of each name, so a
 * model of 10^4 statements checks in linear time. */
static uint32_t name_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int *slot_of(const Scope *s, const char *name) {
    uint32_t mask = (uint32_t)s->nslots - 1;
    for (uint32_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
        int *slot = &s->slots[i];
        if (*slot == 0 || strcmp(s->syms[*slot - 1].name, name) == 0)
            return slot;
    }
}

static void reindex(Arena *a, Scope *s) {
    s->nslots = s->nslots ? s->nslots * 2 : 16;
    s->slots = NEW_ARRAY(a, int, (size_t)s->nslots);
    for (int i = 0; i < s->nsyms; i++) {
        int *slot = slot_of(s, s->syms[i].name);
        if (*slot == 0)
            *slot = i + 1;
    }
}

void scope_add(Arena *a, Scope *s, Symbol sym) {
    VEC_PUSH(a, s->syms, s->nsyms, s->capsyms, sym);
    if (2 * s->nsyms > s->nslots) {
        reindex(a, s);
        return;
    }
    int *slot = slot_of(s, sym.name);
    if (*slot == 0) /* the first symbol of a name stays the one found */
        *slot = s->nsyms;
}

const Symbol *scope_lookup_here(const Scope *s, const char *name) {
    if (s->nslots == 0)
        return NULL;
    int slot = *slot_of(s, name);
    return slot ? &s->syms[slot - 1] : NULL;
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

bool scope_rebind(Scope *s, const char *name, Binding *b) {
    for (; s; s = s->up) {
        const Symbol *sym = scope_lookup_here(s, name);
        if (sym) {
            if (sym->kind != SYM_BINDING)
                return false;
            s->syms[sym - s->syms].binding = b;
            return true;
        }
    }
    return false;
}
