/*
 * api.c — the public actc_* functions of libactc (include/actc/actc.h).
 * Every entry point validates its arguments, installs a setjmp boundary so
 * that out-of-memory and internal errors deep in a phase come back here as
 * status codes, and records a message for actc_last_error().  This is the
 * only layer that knows about both the public handles and the phases.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "front/front.h"
#include "ir/ir.h"

#ifndef ACTC_VERSION
#define ACTC_VERSION "0.0.0"
#endif

/* Largest source file accepted (bytes). */
enum { MAX_SOURCE = 256 << 20 };

struct actc_session {
    Session s;
    Program *prog;
    bool has_source;
    char error[512];
};

const char *actc_version(void) { return ACTC_VERSION; }

const char *actc_status_string(int st) {
    switch (st) {
    case ACTC_OK: return "ok";
    case ACTC_ERR_SYNTAX: return "syntax error";
    case ACTC_ERR_CHECK: return "invalid model";
    case ACTC_ERR_IO: return "input/output error";
    case ACTC_ERR_ARG: return "invalid argument";
    case ACTC_ERR_NOMEM: return "out of memory";
    case ACTC_ERR_WEIGHTS: return "invalid weights";
    case ACTC_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

static int fail(actc_session *a, int st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(actc_session *a, int st, const char *fmt, ...) {
    if (a) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->error, sizeof a->error, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* After a longjmp to an entry's boundary: keep its message. */
static int caught(actc_session *a, Boundary *b, int st) {
    if (b->message[0])
        return fail(a, st, "%s", b->message);
    return fail(a, st, "%s", actc_status_string(st));
}

int actc_session_new(actc_session **out) {
    if (!out)
        return ACTC_ERR_ARG;
    *out = NULL;
    actc_session *a = mem_alloc(sizeof *a);
    if (!a)
        return ACTC_ERR_NOMEM;
    memset(a, 0, sizeof *a);
    session_init(&a->s);
    *out = a;
    return ACTC_OK;
}

void actc_session_free(actc_session *a) {
    if (!a)
        return;
    session_release(&a->s);
    mem_free(a);
}

const char *actc_last_error(const actc_session *a) { return a ? a->error : "session is NULL"; }

int actc_check_source(actc_session *a, const char *name, const char *text, size_t len) {
    if (!a)
        return ACTC_ERR_ARG;
    if (!name || (!text && len))
        return fail(a, ACTC_ERR_ARG, "actc_check_source: %s is NULL", !name ? "name" : "text");
    if (a->has_source)
        return fail(a, ACTC_ERR_ARG, "actc_check_source: this session already holds a program; use a new session");
    if (len > MAX_SOURCE)
        return fail(a, ACTC_ERR_ARG, "%s: source is too large (%zu bytes; the limit is %d)", name, len, MAX_SOURCE);
    a->error[0] = '\0';
    Boundary b;
    int st = BOUNDARY_ENTER(&b);
    if (st)
        return caught(a, &b, st);
    a->has_source = true;
    Source *src = source_new(&a->s.perm, name, text ? text : "", len);
    a->prog = parse_source(&a->s, src);
    if (a->s.diag.nerrors) {
        st = ACTC_ERR_SYNTAX;
    } else if (!check_program(&a->s, a->prog)) {
        st = ACTC_ERR_CHECK;
    }
    boundary_pop(&b);
    if (st)
        return fail(a, st, "%s: %d error%s", name, a->s.diag.nerrors, a->s.diag.nerrors == 1 ? "" : "s");
    return ACTC_OK;
}

int actc_check_file(actc_session *a, const char *path) {
    if (!a)
        return ACTC_ERR_ARG;
    if (!path)
        return fail(a, ACTC_ERR_ARG, "actc_check_file: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(a, ACTC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int st = ACTC_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= (size_t)MAX_SOURCE + 1) {
                st = fail(a, ACTC_ERR_ARG, "%s: source is too large (the limit is %d bytes)", path, MAX_SOURCE);
                break;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = mem_realloc(buf, ncap);
            if (!nb) {
                st = fail(a, ACTC_ERR_NOMEM, "out of memory reading '%s'", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                st = fail(a, ACTC_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == ACTC_OK)
        st = actc_check_source(a, path, buf ? buf : "", len);
    mem_free(buf);
    return st;
}

size_t actc_diag_count(const actc_session *a) { return a ? (size_t)a->s.diag.len : 0; }

static void fill_record(const actc_session *a, Severity sev, Span sp, bool has_span, const char *msg, int nnotes,
                        actc_diagnostic *out) {
    memset(out, 0, sizeof *out);
    out->severity = sev == SEV_ERROR ? ACTC_SEV_ERROR : sev == SEV_WARNING ? ACTC_SEV_WARNING : ACTC_SEV_NOTE;
    out->message = msg;
    out->nnotes = nnotes;
    out->file = "";
    if (has_span && sp.file < (uint32_t)a->s.diag.nsources) {
        const Source *src = a->s.diag.sources[sp.file];
        out->file = src->name;
        source_line_col(src, sp.start, &out->line, &out->column);
        source_line_col(src, sp.end, &out->end_line, &out->end_column);
    }
}

int actc_diag_get(const actc_session *a, size_t i, actc_diagnostic *out) {
    if (!a || !out || i >= (size_t)a->s.diag.len)
        return ACTC_ERR_ARG;
    const Diagnostic *dg = &a->s.diag.items[i];
    fill_record(a, dg->severity, dg->span, dg->has_span, dg->message, dg->nnotes, out);
    return ACTC_OK;
}

int actc_diag_note(const actc_session *a, size_t i, int j, actc_diagnostic *out) {
    if (!a || !out || i >= (size_t)a->s.diag.len)
        return ACTC_ERR_ARG;
    const Diagnostic *dg = &a->s.diag.items[i];
    if (j < 0 || j >= dg->nnotes)
        return ACTC_ERR_ARG;
    fill_record(a, SEV_NOTE, dg->notes[j].span, true, dg->notes[j].message, 0, out);
    return ACTC_OK;
}

const char *actc_diag_render(actc_session *a, actc_diag_format fmt) {
    if (!a)
        return NULL;
    Boundary b;
    if (BOUNDARY_ENTER(&b))
        return NULL;
    const char *r = fmt == ACTC_DIAG_JSON ? diag_render_json(&a->s.diag) : diag_render_text(&a->s.diag);
    boundary_pop(&b);
    return r;
}

/* ---- internal API for the CLI and tests (driver/internal.h) ---- */

#include "driver/internal.h"

int actc_dump_ast(actc_session *a, const char **out) {
    if (!a || !out || !a->prog)
        return ACTC_ERR_ARG;
    Boundary b;
    int st = BOUNDARY_ENTER(&b);
    if (st)
        return caught(a, &b, st);
    *out = ast_dump(&a->s, a->prog);
    boundary_pop(&b);
    return ACTC_OK;
}

/* The model to work on, or an ACTC_ERR_ARG message naming the choices. */
static Decl *pick_model(actc_session *a, const char *name) {
    Decl *m = program_find_model(a->prog, name);
    if (m)
        return m;
    StrBuf sb;
    sb_init(&sb, &a->s.perm);
    int n = 0;
    for (int i = 0; i < a->prog->ndecls; i++)
        if (a->prog->decls[i]->kind == DECL_MODEL)
            sb_printf(&sb, "%s'%s'", n++ ? ", " : "", a->prog->decls[i]->name);
    if (name)
        fail(a, ACTC_ERR_ARG, "no model named '%s' (models: %s)", name, n ? sb_str(&sb) : "none");
    else if (n == 0)
        fail(a, ACTC_ERR_ARG, "the file defines no model");
    else
        fail(a, ACTC_ERR_ARG, "the file defines %d models (%s); choose one with --model", n, sb_str(&sb));
    return NULL;
}

int actc_dump(actc_session *a, const char *model, actc_dump_kind kind, const char *stage, const char **out) {
    if (!a || !out)
        return ACTC_ERR_ARG;
    if (!a->prog || a->s.diag.nerrors)
        return fail(a, ACTC_ERR_ARG, "actc_dump: no checked program in this session");
    Boundary b;
    int st = BOUNDARY_ENTER(&b);
    if (st)
        return caught(a, &b, st);
    Decl *m = pick_model(a, model);
    if (!m) {
        boundary_pop(&b);
        return ACTC_ERR_ARG;
    }
    Graph *g = lower_model(&a->s, m);
    if (kind == ACTC_DUMP_GRAPH && stage && strcmp(stage, "lowered") == 0) {
        *out = graph_print(g);
    } else if (kind == ACTC_DUMP_GRAPH) {
        if (!passes_run(g, stage)) {
            boundary_pop(&b);
            StrBuf sb;
            sb_init(&sb, &a->s.perm);
            for (int i = 0; i < ir_npasses; i++)
                sb_printf(&sb, ", %s", ir_passes[i].name);
            return fail(a, ACTC_ERR_ARG, "unknown pass '%s' (stages: lowered%s)", stage, sb_str(&sb));
        }
        *out = graph_print(g);
    } else {
        passes_run(g, NULL);
        KGraph *kg = fuse_graph(g);
        *out = kind == ACTC_DUMP_FUSED ? kgraph_report(kg) : kgraph_dot(kg);
    }
    boundary_pop(&b);
    return ACTC_OK;
}
