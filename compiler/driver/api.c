/*
 * api.c — the public actc_* functions of libactc (include/actc/actc.h).
 * Every entry point validates its arguments, installs a setjmp boundary so
 * that out-of-memory and internal errors deep in a phase come back here as
 * status codes, and records a message for actc_last_error().  This is the
 * only layer that knows about both the public handles and the phases.
 */
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
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
    if (!parse_checkable(&a->s, a->prog)) {
        st = ACTC_ERR_SYNTAX;
    } else if (!check_program(&a->s, a->prog)) {
        st = ACTC_ERR_CHECK;
    } else if (a->s.diag.nerrors) { /* only errors the parser repaired (language.md §10) */
        st = ACTC_ERR_SYNTAX;
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
    Pipeline pl;
    /* --graph without a stage: after the last pass, before fusion */
    const char *stop = kind != ACTC_DUMP_GRAPH ? NULL : stage ? stage : ir_passes[ir_npasses - 1].name;
    if (!ir_pipeline(&a->s, m, stop, &pl)) {
        boundary_pop(&b);
        StrBuf sb;
        sb_init(&sb, &a->s.perm);
        for (int i = 0; i < ir_npasses; i++)
            sb_printf(&sb, ", %s", ir_passes[i].name);
        return fail(a, ACTC_ERR_ARG, "unknown pass '%s' (stages: lowered%s)", stage, sb_str(&sb));
    }
    if (kind == ACTC_DUMP_GRAPH)
        *out = graph_print(pl.graph);
    else
        *out = kind == ACTC_DUMP_FUSED ? kgraph_report(pl.kernels) : kgraph_dot(pl.kernels);
    boundary_pop(&b);
    return ACTC_OK;
}

/* ---- code generation and the JIT ---- */

#include "codegen/codegen.h"

struct actc_jit_model {
    Arena arena;          /* names, descriptions, kernel tables */
    Target target;        /* JIT: the code's; AOT: the baseline the shared code (create, runtime) runs on */
    bool has_target;
    Target *variants;     /* AOT: one target per ISA variant (mem_alloc) */
    int nvariants;
    CG cg;
    bool has_cg;
    Jit *jit;
    void *tracker;
    actrt_desc desc;
};

static void jit_model_release(actc_jit_model *j) {
    if (j->has_cg)
        cg_dispose(&j->cg);
    if (j->jit) {
        if (j->tracker)
            jit_remove(j->jit, j->tracker);
        jit_dispose(j->jit);
    }
    if (j->has_target)
        target_dispose(&j->target);
    for (int i = 0; i < j->nvariants; i++)
        target_dispose(&j->variants[i]);
    mem_free(j->variants);
    arena_free(&j->arena);
    mem_free(j);
}

void actc_jit_free(actc_jit_model *j) {
    if (j)
        jit_model_release(j);
}

const struct actrt_desc *actc_jit_desc(const actc_jit_model *j) { return j ? &j->desc : NULL; }

/* The kernel parameters of t (params.c): explicit, a profile, the host's
 * cached profile (use_cache), else the built-in choice; a profile that
 * cannot be used is a warning in the session's diagnostics. */
static int apply_params(actc_session *a, Target *t, const actc_options *o, ParamsMode mode, bool *applied, char *err,
                        size_t errlen) {
    const char *warning = NULL;
    bool dummy;
    int st = params_apply(t, o ? o->kernel_params : NULL, o ? o->profile : NULL, mode, &a->s.scratch, &warning,
                          applied ? applied : &dummy, err, errlen);
    if (st)
        return fail(a, st, "%s", err);
    if (warning)
        diag_warning_nospan(&a->s.diag, "%s", warning);
    return ACTC_OK;
}

static int32_t weight_elem(const actc_options *o);

/* A checked program and options that make sense (generate, generate_variants) */
static int check_options(actc_session *a, const actc_options *o) {
    if (!a->prog || a->s.diag.nerrors)
        return fail(a, ACTC_ERR_ARG, "no checked program in this session: call actc_check_file first");
    if (o && (o->weights < ACTC_WEIGHTS_F32 || o->weights > ACTC_WEIGHTS_INT8))
        return fail(a, ACTC_ERR_ARG, "actc_options.weights: %d is not a weight type (ACTC_WEIGHTS_F32, _BF16, _F16, _INT8)",
                    o->weights);
    if (o && o->fast_math && o->exact_math)
        return fail(a, ACTC_ERR_ARG, "actc_options: fast_math and exact_math exclude each other (one tier per model)");
    return ACTC_OK;
}

static int generate(actc_session *a, const char *model, const actc_options *o, actc_jit_model *j, Decl **mout,
                    ModelCode *mc, KGraph **kgout, char *err, size_t errlen) {
    int st0 = check_options(a, o);
    if (st0)
        return st0;
    Decl *m = pick_model(a, model);
    if (!m)
        return ACTC_ERR_ARG;
    Pipeline pl;
    ir_pipeline(&a->s, m, NULL, &pl);
    KGraph *kg = pl.kernels;
    *kgout = kg;
    int st = target_init(&j->target, o ? o->target : NULL, o ? o->cpu : NULL, o ? o->features : NULL, 0, err,
                         errlen);
    if (st)
        return fail(a, st, "%s", err);
    j->has_target = true;
    /* the host's own profile only for host code (no --target/--cpu/--features) */
    bool host = o ? !o->target && !o->cpu && !o->features : true;
    if ((st = apply_params(a, &j->target, o, host ? PARAMS_HOST : PARAMS_EXACT, NULL, err, errlen)))
        return st;
    cg_init(&j->cg, &j->target, m->name);
    j->cg.fast_math = o && o->fast_math;
    j->cg.exact_math = o && o->exact_math;
    j->cg.stats = o && o->stats;
    j->cg.weights = weight_elem(o);
    j->has_cg = true;
    /* codegen's tables and names: session scratch, under the caller's mark */
    cg_model(&j->cg, kg, arena_printf(&a->s.scratch, "actc_%s", m->name), mc, &a->s.scratch);
    st = cg_finish(&j->cg, err, errlen);
    if (st)
        return fail(a, st, "%s", err);
    *mout = m;
    return ACTC_OK;
}

/* actc_options.weights as the ABI's element type (checked by options_ok). */
static int32_t weight_elem(const actc_options *o) {
    int w = o ? o->weights : ACTC_WEIGHTS_F32;
    return w == ACTC_WEIGHTS_BF16   ? ACTRT_ELEM_BF16
           : w == ACTC_WEIGHTS_F16  ? ACTRT_ELEM_F16
           : w == ACTC_WEIGHTS_INT8 ? ACTRT_ELEM_I8
                                    : ACTRT_ELEM_F32;
}

/* The JIT runs its code here: a --cpu this CPU cannot run is an error
 * naming what it lacks (never a SIGILL later). */
static int check_runs_here(actc_session *a, const Target *t) {
    uint64_t lacks = t->is_host ? target_needs(t) & ~actrt_cpu_features() : 0;
    if (!lacks)
        return ACTC_OK;
    return fail(a, ACTC_ERR_ARG, "cannot JIT code for cpu '%s' on this machine: this CPU lacks %s (actc compile "
                "builds objects for other CPUs)", t->cpu, target_feature_list(&a->s.scratch, lacks));
}

static actc_jit_model *jit_model_new(void) {
    actc_jit_model *j = mem_alloc(sizeof *j);
    if (j)
        memset(j, 0, sizeof *j);
    return j;
}

int actc_jit_compile(actc_session *a, const char *model, const actc_options *o, actc_jit_model **out) {
    if (!a)
        return ACTC_ERR_ARG;
    if (!out)
        return fail(a, ACTC_ERR_ARG, "actc_jit_compile: out is NULL");
    *out = NULL;
    actc_jit_model *j = jit_model_new();
    if (!j)
        return fail(a, ACTC_ERR_NOMEM, "out of memory");
    char err[512];
    const ArenaMark mark = arena_mark(&a->s.scratch); /* codegen temporaries: released on every path */
    Boundary b;
    int st = BOUNDARY_ENTER(&b);
    if (st) {
        arena_reset(&a->s.scratch, mark);
        jit_model_release(j);
        return caught(a, &b, st);
    }
    Decl *m = NULL;
    ModelCode mc;
    KGraph *kg = NULL;
    st = generate(a, model, o, j, &m, &mc, &kg, err, sizeof err);
    if (!st && (st = check_runs_here(a, &j->target)) != ACTC_OK) {
        boundary_pop(&b);
        arena_reset(&a->s.scratch, mark);
        jit_model_release(j);
        return st;
    }
    if (!st) {
        st = jit_create(&j->jit, &j->target, err, sizeof err);
        if (!st) {
            st = jit_add(j->jit, &j->cg, &j->tracker, err, sizeof err); /* consumes the module */
            if (!st) {
                cg_build_desc(&j->arena, kg, &mc, &j->target, &j->desc);
                actrt_kernel_fn *k = NEW_ARRAY(&j->arena, actrt_kernel_fn, (size_t)mc.nkernels + 1);
                const int64_t **tabs = NEW_ARRAY(&j->arena, const int64_t *, (size_t)mc.nkernels + 1);
                for (int i = 0; i < mc.nkernels && !st; i++) {
                    void *addr;
                    st = jit_lookup(j->jit, mc.kernel_names[i], &addr, err, sizeof err);
                    memcpy(&k[i], &addr, sizeof addr); /* object to function pointer: POSIX, not ISO C */
                    if (!st)
                        st = jit_lookup(j->jit, mc.table_names[i], &addr, err, sizeof err);
                    tabs[i] = addr;
                }
                j->desc.kernels = k;
                j->desc.kernel_tables = (const int64_t *const *)tabs;
            }
        }
        if (st)
            fail(a, st, "%s", err);
    }
    boundary_pop(&b);
    arena_reset(&a->s.scratch, mark); /* j->arena holds only what j->desc points at */
    if (st) {
        jit_model_release(j);
        return st;
    }
    *out = j;
    return ACTC_OK;
}

int actc_dump_code(actc_session *a, const char *model, const actc_options *o, actc_dump_kind kind, const char **out) {
    if (!a || !out)
        return ACTC_ERR_ARG;
    actc_jit_model *j = jit_model_new();
    if (!j)
        return fail(a, ACTC_ERR_NOMEM, "out of memory");
    char err[512];
    const ArenaMark mark = arena_mark(&a->s.scratch);
    Boundary b;
    int st = BOUNDARY_ENTER(&b);
    if (st) {
        arena_reset(&a->s.scratch, mark);
        jit_model_release(j);
        return caught(a, &b, st);
    }
    Decl *m;
    ModelCode mc;
    KGraph *kg;
    st = generate(a, model, o, j, &m, &mc, &kg, err, sizeof err);
    if (!st) {
        *out = kind == ACTC_DUMP_ASM ? cg_print_asm(&j->cg, &a->s.perm) : cg_print_module(&j->cg, &a->s.perm);
        if (!*out)
            st = fail(a, ACTC_ERR_INTERNAL, "cannot print the generated code");
    }
    boundary_pop(&b);
    arena_reset(&a->s.scratch, mark);
    jit_model_release(j);
    return st;
}

int actc_reference_run(actc_session *a, const char *model, const actrt_tensor *tensors, int ntensors, int64_t batch,
                       const float *const *inputs, float *const *outputs) {
    if (!a || batch <= 0 || ntensors < 0 || (ntensors && !tensors))
        return a ? fail(a, ACTC_ERR_ARG, "actc_reference_run: invalid arguments") : ACTC_ERR_ARG;
    for (int i = 0; i < ntensors; i++) {
        const actrt_tensor *t = &tensors[i];
        if (!t->name || !t->data || t->elem != ACTRT_ELEM_F32 || t->rank < 1 || t->rank > 2 || t->shape[0] < 0 ||
            (t->rank == 2 && t->shape[1] < 0))
            return fail(a, ACTC_ERR_ARG, "actc_reference_run: tensor %d: %s", i,
                        !t->name ? "name is NULL" : !t->data ? "data is NULL" : t->elem != ACTRT_ELEM_F32 ? "not f32"
                                                                                   : "not a vector or matrix");
    }
    if (!a->prog || a->s.diag.nerrors)
        return fail(a, ACTC_ERR_ARG, "no checked program in this session");
    if (!inputs || !outputs)
        return fail(a, ACTC_ERR_ARG, "actc_reference_run: %s is NULL", !inputs ? "inputs" : "outputs");
    /* the f64 copies and the interpreter's buffers: session scratch, released
     * on every path (a failed allocation throws to the boundary below) */
    const ArenaMark mark = arena_mark(&a->s.scratch);
    Arena *tmp = &a->s.scratch;
    Boundary b;
    int st = BOUNDARY_ENTER(&b);
    if (st) {
        arena_reset(tmp, mark);
        return caught(a, &b, st);
    }
    Decl *m = pick_model(a, model);
    if (!m) {
        boundary_pop(&b);
        return ACTC_ERR_ARG;
    }
    for (int i = 0; i < m->ninputs + m->noutputs; i++)
        if (i < m->ninputs ? !inputs[i] : !outputs[i - m->ninputs]) {
            boundary_pop(&b);
            return fail(a, ACTC_ERR_ARG, "actc_reference_run: %s %d is NULL", i < m->ninputs ? "input" : "output",
                        i < m->ninputs ? i : i - m->ninputs);
        }
    Pipeline pl;
    ir_pipeline(&a->s, m, NULL, &pl);
    KGraph *kg = pl.kernels;
    /* f32 arrays -> f64 for the interpreter ([rows, cols], cols 0 for a vector) */
    typedef int64_t Dims2[2];
    int nall = ntensors + kg->sig.nderived; /* and the tensors computed at load (derived.c) */
    Dims2 *shapes = NEW_ARRAY(tmp, Dims2, (size_t)nall + 1);
    IrWeights w = {ntensors, NEW_ARRAY(tmp, const char *, (size_t)nall + 1),
                   NEW_ARRAY(tmp, const double *, (size_t)nall + 1), (const int64_t(*)[2])shapes};
    for (int i = 0; i < ntensors; i++) {
        const actrt_tensor *t = &tensors[i];
        shapes[i][0] = t->shape[0];
        shapes[i][1] = t->rank == 2 ? t->shape[1] : 0;
        int64_t n = shapes[i][0] * (shapes[i][1] ? shapes[i][1] : 1);
        double *d = NEW_ARRAY(tmp, double, (size_t)n + 1);
        const float *src = t->data;
        for (int64_t k = 0; k < n; k++)
            d[k] = src[k];
        w.names[i] = t->name;
        w.data[i] = d;
    }
    char err[256];
    for (int i = 0; i < kg->sig.nderived; i++) {
        const IrDerived *v = &kg->sig.derived[i];
        int64_t n = v->shape.dim[0] * (v->shape.rank == 2 ? v->shape.dim[1] : 1);
        double *d = NEW_ARRAY(tmp, double, (size_t)n + 1);
        if (!derived_values(&kg->sig, i, &w, d, err, sizeof err)) {
            boundary_pop(&b);
            arena_reset(tmp, mark);
            return fail(a, ACTC_ERR_WEIGHTS, "actc_reference_run: %s", err);
        }
        shapes[ntensors + i][0] = v->shape.dim[0];
        shapes[ntensors + i][1] = v->shape.rank == 2 ? v->shape.dim[1] : 0;
        w.names[ntensors + i] = v->name;
        w.data[ntensors + i] = d;
    }
    w.count = nall;
    const double **in = NEW_ARRAY(tmp, const double *, (size_t)m->ninputs + 1);
    double **out = NEW_ARRAY(tmp, double *, (size_t)m->noutputs + 1);
    for (int i = 0; i < m->ninputs; i++) {
        int64_t n = batch * shape_width(m->inputs[i].type->shape);
        double *d = NEW_ARRAY(tmp, double, (size_t)n + 1);
        for (int64_t k = 0; k < n; k++)
            d[k] = inputs[i][k];
        in[i] = d;
    }
    for (int i = 0; i < m->noutputs; i++)
        out[i] = NEW_ARRAY(tmp, double, (size_t)(batch * shape_width(m->outputs[i].type->shape)) + 1);
    st = interp_kernels(kg, &w, batch, in, out, err, sizeof err);
    if (st == ACTC_OK)
        for (int i = 0; i < m->noutputs; i++)
            for (int64_t k = 0; k < batch * shape_width(m->outputs[i].type->shape); k++)
                outputs[i][k] = (float)out[i][k];
    boundary_pop(&b);
    arena_reset(tmp, mark);
    return st ? fail(a, st, "%s", err) : ACTC_OK;
}

/* A valid C identifier prefix for generated symbols. */
static bool valid_prefix(const char *p) {
    if (!*p || (*p >= '0' && *p <= '9'))
        return false;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

/* Load and pack the weights now, through libactrt, for an embedded object:
 * *rm owns the packed arrays until the caller frees it. */
static int pack_for_embedding(actc_session *a, actc_jit_model *j, const actc_options *o, const char *path,
                              actrt_model **rm, const float ***packed) {
    int st = actrt_model_create(rm, &j->desc);
    if (st)
        return fail(a, st, "%s", actrt_last_error(NULL));
    if (o && (o->strict || o->ignore_tensors) &&
        (st = actrt_model_set_strict(*rm, o->strict, o->ignore_tensors, o->nignore_tensors)))
        return fail(a, st, "actc_options: %s", actrt_last_error(*rm));
    if ((st = actrt_model_load_weights(*rm, &path, 1, NULL)))
        return fail(a, st, "%s", actrt_last_error(*rm));
    *packed = NEW_ARRAY(&a->s.scratch, const float *, (size_t)j->desc.nweights + 1);
    for (int i = 0; i < j->desc.nweights; i++)
        (*packed)[i] = actrt_model_packed_weight(*rm, i, NULL);
    return ACTC_OK;
}

/* The ISA variants of an AOT object: --cpu's comma-separated list
 * ("native" = this machine), else for x86-64 the fixed default list (the
 * same object from the same command on any machine), else the one CPU. */
static const char DEFAULT_X86_VARIANTS[] = "x86-64-v2,x86-64-v3,x86-64-v4";

static int variant_targets(actc_session *a, const actc_options *o, actc_jit_model *j, char *err, size_t errlen) {
    const char *triple = o ? o->target : NULL, *cpu = o ? o->cpu : NULL, *features = o ? o->features : NULL;
    /* the baseline for the object's shared code */
    int st = target_init(&j->target, triple, "generic", NULL, 0, err, errlen);
    if (st)
        return fail(a, st, "%s", err);
    j->has_target = true;
    bool x86 = strncmp(j->target.triple, "x86_64", 6) == 0;
    const char *list = cpu ? cpu : x86 ? DEFAULT_X86_VARIANTS : NULL;
    int n = 1;
    for (const char *p = list; p && *p; p++)
        n += *p == ',';
    j->variants = mem_alloc(sizeof *j->variants * (size_t)n);
    if (!j->variants)
        return fail(a, ACTC_ERR_NOMEM, "out of memory");
    int napplied = 0, nwarn_before = a->s.diag.nwarnings;
    actc_options nopro;
    const actc_options *po = o;
    for (int i = 0; i < n; i++) {
        char name[128] = "";
        const char *p = list;
        for (int k = 0; p && k < i; k++)
            p = strchr(p, ',') + 1;
        if (p) {
            size_t len = strcspn(p, ",");
            if (len == 0 || len >= sizeof name)
                return fail(a, ACTC_ERR_ARG, "--cpu: '%s' has an empty or overlong name in position %d", list, i + 1);
            memcpy(name, p, len);
            name[len] = 0;
            for (int k = 0; k < j->nvariants; k++)
                if (strcmp(j->variants[k].cpu, name) == 0)
                    return fail(a, ACTC_ERR_ARG, "--cpu: '%s' is listed twice", name);
        }
        st = target_init(&j->variants[i], triple, *name ? name : NULL, features, 0, err, errlen);
        if (st)
            return fail(a, st, "%s", err);
        j->nvariants++;
        /* AOT: the built-in choice unless asked (a profile applies to the
         * variants of its vector width: params.c checks it) */
        bool applied = false;
        if ((st = apply_params(a, &j->variants[i], po, PARAMS_BY_WIDTH, &applied, err, errlen)))
            return st;
        napplied += applied;
        if (a->s.diag.nwarnings > nwarn_before && po == o) { /* warned once: the other variants keep the table */
            nopro = *o;
            nopro.profile = NULL;
            po = &nopro;
        }
    }
    if (o && o->profile && !o->kernel_params && !napplied && a->s.diag.nwarnings == nwarn_before)
        diag_warning_nospan(&a->s.diag, "tuning profile '%s' is for another vector width than every variant of the "
                            "object; using the built-in parameters", o->profile);
    return ACTC_OK;
}

/* Every variant of the model into one module (j->cg, on the baseline
 * target), each function marked with its variant's CPU; descs[i] and
 * mcs[i] describe variant i. */
static int generate_variants(actc_session *a, const char *model, const actc_options *o, actc_jit_model *j, Decl **mout,
                             ModelCode **mcs, actrt_desc **descs, char *err, size_t errlen) {
    int st0 = check_options(a, o);
    if (st0)
        return st0;
    Decl *m = pick_model(a, model);
    if (!m)
        return ACTC_ERR_ARG;
    int st = variant_targets(a, o, j, err, errlen);
    if (st)
        return st;
    Pipeline pl;
    ir_pipeline(&a->s, m, NULL, &pl);
    Arena *tmp = &a->s.scratch;
    cg_init(&j->cg, &j->target, m->name);
    j->cg.fast_math = o && o->fast_math;
    j->cg.exact_math = o && o->exact_math;
    j->cg.stats = o && o->stats;
    j->cg.weights = weight_elem(o);
    j->has_cg = true;
    *mcs = NEW_ARRAY(tmp, ModelCode, (size_t)j->nvariants);
    *descs = NEW_ARRAY(&j->arena, actrt_desc, (size_t)j->nvariants);
    for (int i = 0; i < j->nvariants; i++) {
        const char *prefix = arena_printf(tmp, "actc_%s_v%d", m->name, i);
        j->cg.t = &j->variants[i]; /* the kernels' decisions: this variant's */
        cg_model(&j->cg, pl.kernels, prefix, &(*mcs)[i], tmp);
        cg_mark_target(&j->cg, prefix, &j->variants[i]);
        cg_build_desc(&j->arena, pl.kernels, &(*mcs)[i], &j->variants[i], &(*descs)[i]);
    }
    j->cg.t = &j->target;
    st = cg_finish(&j->cg, err, errlen);
    if (st)
        return fail(a, st, "%s", err);
    *mout = m;
    return ACTC_OK;
}

int actc_list_variants(const actc_options *o, char *out, size_t len) {
    if (!out || len == 0)
        return ACTC_ERR_ARG;
    out[0] = 0;
    actc_session *a = NULL;
    int st = actc_session_new(&a);
    if (st)
        return st;
    actc_jit_model *j = jit_model_new();
    if (!j) {
        actc_session_free(a);
        return ACTC_ERR_NOMEM;
    }
    char err[512];
    Boundary b;
    st = BOUNDARY_ENTER(&b);
    if (st) {
        snprintf(out, len, "%s", b.message[0] ? b.message : actc_status_string(st));
    } else {
        st = variant_targets(a, o, j, err, sizeof err);
        if (st) {
            snprintf(out, len, "%s", a->error);
        } else {
            StrBuf sb;
            sb_init(&sb, &a->s.perm);
            uint64_t have = actrt_cpu_features();
            sb_printf(&sb, "%s: %d variant%s, baseline first (create picks the last this CPU runs)\n",
                      j->target.triple, j->nvariants, j->nvariants == 1 ? "" : "s");
            for (int i = 0; i < j->nvariants; i++) {
                const Target *t = &j->variants[i];
                uint64_t needs = target_needs(t);
                sb_printf(&sb, "%-16s %2d lanes  needs %s", target_variant_name(t), t->vlen,
                          needs ? target_feature_list(&a->s.perm, needs) : "nothing beyond the baseline");
                sb_printf(&sb, "  [%s]\n", !j->target.is_host ? "another architecture"
                                           : needs & ~have   ? "this CPU cannot run it"
                                                             : "runs here");
            }
            if ((size_t)snprintf(out, len, "%s", sb_str(&sb)) >= len)
                st = ACTC_ERR_ARG;
        }
        boundary_pop(&b);
    }
    jit_model_release(j);
    actc_session_free(a);
    return st;
}

/* One model into j's module, finished and verified but not written; its
 * header text in *header. */
static int compile_one(actc_session *a, const char *model, const actc_options *o, const char *prefix,
                       const char *embed_weights, actc_jit_model *j, const char **header, char *err, size_t errlen) {
    Decl *m = NULL;
    ModelCode *mcs = NULL;
    actrt_desc *descs = NULL;
    int st = generate_variants(a, model, o, j, &m, &mcs, &descs, err, errlen);
    if (st)
        return st; /* generate_variants() recorded the message */
    const char *P = prefix ? prefix : m->name;
    Arena *tmp = &a->s.scratch; /* under actc_compile_object's mark */
    int n = j->nvariants;
    AotVariant *v = NEW_ARRAY(tmp, AotVariant, (size_t)n);
    for (int i = 0; i < n; i++)
        v[i] = (AotVariant){&j->variants[i], &descs[i], mcs[i].kernel_names, mcs[i].table_names,
                            arena_printf(tmp, "actc_%s_v%d_run", m->name, i)};
    j->desc = descs[n - 1];
    if (embed_weights) {
        actrt_model *rm = NULL;
        const float **packed = NULL;
        st = pack_for_embedding(a, j, o, embed_weights, &rm, &packed); /* j->desc: the last variant's */
        if (!st && (st = aot_compile_embedded(&j->cg, v, n, P, packed, NULL, tmp, err, errlen)))
            fail(a, st, "%s", err);
        actrt_model_free(rm);
    } else if ((st = aot_compile(&j->cg, v, n, P, NULL, tmp, err, errlen))) {
        fail(a, st, "%s", err);
    }
    if (!st) {
        const Source *src = a->s.diag.sources[m->span.file];
        *header = aot_header(&j->arena, v, n, P, src->name, actc_version(), embed_weights != NULL,
                              o && o->fast_math ? 1 : o && o->exact_math ? 2 : 0);
    }
    return st;
}

int actc_compile_object(actc_session *a, const char *model, const actc_options *o, const char *prefix,
                        const char *object_path, const char *header_path, const char *embed_weights) {
    if (!a)
        return ACTC_ERR_ARG;
    if (!object_path)
        return fail(a, ACTC_ERR_ARG, "actc_compile_object: object_path is NULL");
    if (prefix && !valid_prefix(prefix))
        return fail(a, ACTC_ERR_ARG, "invalid prefix '%s': use a C identifier", prefix);
    if (!a->prog || a->s.diag.nerrors)
        return fail(a, ACTC_ERR_ARG, "no checked program in this session: call actc_check_file first");
    /* model NULL: every model of the file, each under its own name */
    int nmodels = 0;
    for (int i = 0; i < a->prog->ndecls; i++)
        nmodels += a->prog->decls[i]->kind == DECL_MODEL;
    if (model || nmodels < 2)
        nmodels = 1;
    else if (prefix)
        return fail(a, ACTC_ERR_ARG, "--prefix names one model, but the file defines %d: choose one with --model",
                    nmodels);
    actc_jit_model **js = mem_alloc(sizeof *js * (size_t)nmodels);
    const char **headers = mem_alloc(sizeof *headers * (size_t)nmodels);
    if (!js || !headers) {
        mem_free(js);
        mem_free(headers);
        return fail(a, ACTC_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < nmodels; i++)
        js[i] = NULL;
    char err[512];
    int st = ACTC_OK;
    const ArenaMark mark = arena_mark(&a->s.scratch);
    Boundary b;
    int thrown = BOUNDARY_ENTER(&b);
    if (thrown) {
        st = caught(a, &b, thrown);
        goto out;
    }
    for (int i = 0, k = 0; i < nmodels && !st; i++) {
        const char *name = model;
        if (!model && nmodels > 1) {
            while (a->prog->decls[k]->kind != DECL_MODEL)
                k++;
            name = a->prog->decls[k++]->name;
        }
        if (!(js[i] = jit_model_new())) {
            st = fail(a, ACTC_ERR_NOMEM, "out of memory");
            break;
        }
        st = compile_one(a, name, o, prefix, embed_weights, js[i], &headers[i], err, sizeof err);
        arena_reset(&a->s.scratch, mark); /* the module and the header text live in js[i] */
    }
    if (!st) {
        CG **rest = NEW_ARRAY(&js[0]->arena, CG *, (size_t)nmodels);
        for (int i = 1; i < nmodels; i++)
            rest[i - 1] = &js[i]->cg;
        if ((st = aot_link_write(&js[0]->cg, rest, nmodels - 1, object_path, err, sizeof err)))
            fail(a, st, "%s", err);
    }
    if (!st && header_path) {
        FILE *f = fopen(header_path, "w");
        bool ok = f != NULL;
        for (int i = 0; ok && i < nmodels; i++)
            ok = fputs(headers[i], f) >= 0 && (i + 1 == nmodels || fputs("\n", f) >= 0);
        if (f && fclose(f) != 0)
            ok = false;
        if (!ok)
            st = fail(a, ACTC_ERR_IO, "cannot write '%s': %s", header_path, strerror(errno));
    }
    boundary_pop(&b);
out:
    arena_reset(&a->s.scratch, mark);
    for (int i = 0; i < nmodels; i++)
        if (js[i])
            jit_model_release(js[i]);
    mem_free(js);
    mem_free(headers);
    return st;
}

/* ---- kernel parameters and tuning profiles (docs/tuning.md) ---- */

/* The host target for o (no --target: profiles are for this machine), with
 * its parameters as the JIT would choose them. */
static int host_params(actc_session *a, const actc_options *o, bool builtin, Target *t, char *err, size_t errlen) {
    if (o && o->target)
        return fail(a, ACTC_ERR_ARG, "tuning profiles are for this machine: --target is not allowed");
    int st = target_init(t, NULL, o ? o->cpu : NULL, o ? o->features : NULL, 0, err, errlen);
    if (st)
        return fail(a, st, "%s", err);
    bool host = o ? !o->cpu && !o->features : true;
    if (!builtin && (st = apply_params(a, t, o, host ? PARAMS_HOST : PARAMS_EXACT, NULL, err, errlen))) {
        target_dispose(t);
        return st;
    }
    return ACTC_OK;
}

/* Run fn on the host target for o inside a boundary; the target is
 * disposed on every path (an allocation failure in fn included). */
typedef int (*HostFn)(actc_session *a, Target *t, void *ud);

static int with_host_target(actc_session *a, const actc_options *o, bool builtin, HostFn fn, void *ud) {
    char err[512];
    Target t;
    memset(&t, 0, sizeof t);
    Boundary b;
    int st = BOUNDARY_ENTER(&b);
    if (st) {
        target_dispose(&t);
        return caught(a, &b, st);
    }
    st = host_params(a, o, builtin, &t, err, sizeof err);
    if (!st) {
        st = fn(a, &t, ud);
        target_dispose(&t);
    }
    boundary_pop(&b);
    return st;
}

typedef struct ParamsOut {
    const char **params, **from, **cache_path;
    int *nregs;
} ParamsOut;

static int describe_params(actc_session *a, Target *t, void *ud) {
    ParamsOut *po = ud;
    *po->params = params_format(&a->s.perm, t);
    *po->from = params_from_text(&a->s.perm, t);
    *po->cache_path = params_cache_path(&a->s.perm, t);
    *po->nregs = t->nregs;
    return ACTC_OK;
}

int actc_kernel_params(actc_session *a, const actc_options *o, const char **params, const char **from,
                       const char **cache_path, int *nregs, bool builtin) {
    if (!a || !params || !from || !cache_path || !nregs)
        return ACTC_ERR_ARG;
    ParamsOut po = {params, from, cache_path, nregs};
    return with_host_target(a, o, builtin, describe_params, &po);
}

/* mkdir -p of path's directory. */
static int make_dirs(actc_session *a, const char *path) {
    char *p = arena_strdup(&a->s.scratch, path);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return fail(a, ACTC_ERR_IO, "cannot create the directory '%s': %s", p, strerror(errno));
        *q = '/';
    }
    return ACTC_OK;
}

typedef struct ProfileOut {
    const char *path, *measured_json;
} ProfileOut;

static int write_profile(actc_session *a, Target *t, void *ud) {
    ProfileOut *po = ud;
    char err[512];
    const char *dest = po->path ? po->path : params_cache_path(&a->s.scratch, t);
    if (!dest)
        return fail(a, ACTC_ERR_ARG, "neither XDG_CACHE_HOME nor HOME is set: give --profile FILE");
    int st = po->path ? ACTC_OK : make_dirs(a, dest); /* the cache's directories only */
    if (!st && (st = params_write_profile(dest, t, &a->s.scratch, po->measured_json, err, sizeof err)))
        fail(a, st, "%s", err);
    return st;
}

int actc_write_profile(actc_session *a, const actc_options *o, const char *params, const char *path,
                       const char *measured_json) {
    if (!a || !params)
        return ACTC_ERR_ARG;
    actc_options plain = o ? *o : (actc_options){0};
    plain.kernel_params = params;
    plain.profile = NULL;
    ProfileOut po = {path, measured_json};
    return with_host_target(a, &plain, false, write_profile, &po);
}

double actc_activation_value(const char *op, double x) {
    if (!op)
        return NAN;
    static const char *const gates[][2] = {
        {"glu", "sigmoid"}, {"reglu", "relu"}, {"geglu", "gelu"}, {"geglu_tanh", "gelu_tanh"}, {"swiglu", "silu"}};
    for (size_t i = 0; i < sizeof gates / sizeof gates[0]; i++)
        if (!strcmp(op, gates[i][0]))
            op = gates[i][1];
    for (int k = 0; k < OP_COUNT; k++) {
        const OpInfo *oi = &op_info[k];
        if (oi->cls != OC_UNARY || oi->bi == BI_COUNT || strcmp(oi->name, op) != 0)
            continue;
        if (builtin_get(oi->bi)->nparams > 0)
            return NAN; /* its parameters are not in the site's description */
        double p[NODE_MAX_PARAMS] = {0};
        return ir_eval_op((Op)k, p, x, 0, 0);
    }
    return NAN;
}
