/*
 * main.c — the actc command line (design.md §4, docs/cli.md).  The only file
 * that prints to stdout/stderr on its own account and the only one that
 * turns status codes into exit codes: 0 ok, 1 user error (bad model,
 * weights, arguments, I/O), 2 internal error.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actc/actc.h"
#include "actc/runtime.h"
#include "driver/cli.h"
#include "driver/internal.h"

static int exit_code(int st) { return st == ACTC_OK ? 0 : st == ACTC_ERR_INTERNAL ? 2 : 1; }

/* Does the -i/-o argument name port `name`? */
static bool port_is(const NamedFile *f, const char *name) {
    size_t n = strlen(name);
    return f->name && strncmp(f->name, name, n) == 0 && f->name[n] == '=';
}

/* Print a session's diagnostics to stderr in the chosen format. */
static void print_diagnostics(actc_session *s, const Options *o) {
    if (o->quiet && actc_diag_count(s) > 0) {
        for (size_t i = 0; i < actc_diag_count(s); i++) {
            actc_diagnostic d;
            if (actc_diag_get(s, i, &d) == ACTC_OK && d.severity == ACTC_SEV_ERROR)
                fprintf(stderr, "%s:%u:%u: error: %s\n", d.file, d.line, d.column, d.message);
        }
        return;
    }
    const char *text = actc_diag_render(s, o->json ? ACTC_DIAG_JSON : ACTC_DIAG_TEXT);
    if (text)
        fputs(text, stderr);
}

/* Warnings recorded after the check (a tuning profile that cannot be
 * used): diagnostics from index `from` on. */
static void print_late_warnings(actc_session *s, const Options *o, size_t from) {
    for (size_t i = from; !o->quiet && i < actc_diag_count(s); i++) {
        actc_diagnostic d;
        if (actc_diag_get(s, i, &d) == ACTC_OK && d.severity == ACTC_SEV_WARNING)
            fprintf(stderr, "actc: warning: %s\n", d.message);
    }
}

static void report(actc_session *s, int st) {
    if (st == ACTC_ERR_IO || st == ACTC_ERR_NOMEM || st == ACTC_ERR_INTERNAL || st == ACTC_ERR_ARG ||
        st == ACTC_ERR_WEIGHTS)
        fprintf(stderr, "actc: %s: %s\n", st == ACTC_ERR_INTERNAL ? "internal error" : "error", actc_last_error(s));
}

/* Check one file in a fresh session; print its diagnostics. */
static int check_one(const char *path, const Options *o, actc_session **keep) {
    actc_session *s;
    int st = actc_session_new(&s);
    if (st) {
        fprintf(stderr, "actc: error: %s\n", actc_status_string(st));
        return st;
    }
    st = actc_check_file(s, path);
    print_diagnostics(s, o);
    report(s, st);
    if (keep && st == ACTC_OK)
        *keep = s;
    else
        actc_session_free(s);
    return st;
}

static int cmd_check(const Options *o) {
    if (o->nfiles == 0)
        return cli_arg_error(o->command, "%s", "'check' needs at least one FILE");
    int worst = 0;
    for (int i = 0; i < o->nfiles; i++) {
        int code = exit_code(check_one(o->files[i], o, NULL));
        if (code > worst)
            worst = code;
    }
    return worst;
}

static int cmd_dump(const Options *o) {
    if (o->nfiles != 1)
        return cli_arg_error(o->command, "%s", "'dump' needs exactly one FILE");
    if (!o->dump)
        return cli_arg_error(o->command, "%s", "'dump' needs a stage: --ast, --graph, --fused, --dot, --llvm or --asm");
    actc_session *s = NULL;
    int st = check_one(o->files[0], o, &s);
    if (st)
        return exit_code(st);
    const char *out = NULL;
    if (strcmp(o->dump, "ast") == 0)
        st = actc_dump_ast(s, &out);
    else if (strcmp(o->dump, "llvm") == 0 || strcmp(o->dump, "asm") == 0)
        st = actc_dump_code(s, o->model, &o->codegen, o->dump[0] == 'l' ? ACTC_DUMP_LLVM : ACTC_DUMP_ASM, &out);
    else
        st = actc_dump(s, o->model, strcmp(o->dump, "graph") == 0   ? ACTC_DUMP_GRAPH
                                    : strcmp(o->dump, "fused") == 0 ? ACTC_DUMP_FUSED
                                                                    : ACTC_DUMP_DOT,
                       o->stage, &out);
    if (st == ACTC_OK) {
        fputs(out, stdout);
        if (strcmp(o->dump, "fused") == 0 && o->codegen.weights) /* compact weights: their type and path */
            printf("\nweights: every dense matrix stored as %s, %s by each kernel's weight loads (in registers, "
                   "or once per K block into an L1 buffer where a row block has two full tiles; --weights)\n",
                   cli_weight_names[o->codegen.weights],
                   o->codegen.weights == ACTC_WEIGHTS_INT8
                       ? "in groups of 32 with f32 scales, dequantised to the f32 value fl(q * s)"
                       : "widened exactly to f32");
    } else {
        report(s, st);
    }
    actc_session_free(s);
    return exit_code(st);
}

/* ---- run ---- */

typedef struct Run {
    const char *path; /* the model file */
    const actrt_desc *d;
    float **in, **out;
    int64_t batch;
    bool vector; /* every input was 1-D ([n], one row): so are the outputs, as F.linear gives */
} Run;

/* "[4, 2, 13]" */
static const char *shape_text(const int64_t *shape, int rank) {
    static char buf[8 * 24 + 4];
    size_t n = (size_t)snprintf(buf, sizeof buf, "[");
    for (int k = 0; k < rank; k++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%lld", k ? ", " : "", (long long)shape[k]);
    snprintf(buf + n, sizeof buf - n, "]");
    return buf;
}

/* Which -i/-o file is port i (by name, or by position when unnamed). */
static const NamedFile *port_file(const NamedFile *files, int nfiles, const actrt_port_desc *p, int i) {
    bool any_named = false;
    for (int k = 0; k < nfiles; k++)
        any_named |= files[k].name != NULL;
    if (!any_named)
        return i < nfiles ? &files[i] : NULL;
    for (int k = 0; k < nfiles; k++)
        if (port_is(&files[k], p->name))
            return &files[k];
    return NULL;
}

/* "x, r": the names of the ports */
static const char *port_list(const actrt_port_desc *ports, int nports) {
    static char buf[512];
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < nports && n < sizeof buf; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? ", " : "", ports[i].name);
    return buf;
}

/* -i NAME=... naming no input (or -o no output): the model's real names,
 * and the nearest one when it is close. */
static int no_such_port(const Run *r, const NamedFile *f, const actrt_port_desc *ports, int nports, const char *what) {
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(strchr(f->name, '=') - f->name), f->name);
    const char *names[CLI_MAX_FILES];
    int n = 0;
    for (int i = 0; i < nports && n < CLI_MAX_FILES; i++)
        names[n++] = ports[i].name;
    const char *near = actc_closest_name(name, names, n);
    fprintf(stderr, "actc: error: no %s named '%s' in %s", what, name, r->path);
    if (near)
        fprintf(stderr, " (did you mean '%s'?)", near);
    fprintf(stderr, "; its %ss are: %s\n", what, port_list(ports, nports));
    return 1;
}

/* -i / -o files against the model's ports: all positional (one per port,
 * in order) or all named (any subset of outputs; every input). */
static int check_port_names(const Run *r, const NamedFile *files, int nfiles, const actrt_port_desc *ports, int nports,
                            const char *what, bool subset_ok) {
    int nnamed = 0;
    for (int k = 0; k < nfiles; k++) {
        if (!files[k].name)
            continue;
        nnamed++;
        bool found = false;
        for (int i = 0; i < nports; i++)
            found |= port_is(&files[k], ports[i].name);
        if (!found)
            return no_such_port(r, &files[k], ports, nports, what);
    }
    if (nnamed && nnamed != nfiles) {
        fprintf(stderr, "actc: error: give every %s as NAME=FILE, or none\n", what);
        return 1;
    }
    if (nnamed && subset_ok)
        return 0;
    if (nfiles != nports) {
        fprintf(stderr, "actc: error: %s has %d %s%s (%s) but %d %s given\n", r->path, nports, what,
                nports == 1 ? "" : "s", port_list(ports, nports), nfiles, nfiles == 1 ? "was" : "were");
        return 1;
    }
    return 0;
}

/* An input file of the wrong shape: what was seen, what is expected
 * ([batch, n], or [n] for one row) and, where one is clear, the fix. */
static int bad_input_shape(const Run *r, const char *path, int i, const int64_t *shape, int rank) {
    const actrt_port_desc *p = &r->d->inputs[i];
    long long n = (long long)p->n, rows = 1;
    char want[96], fix[160] = "";
    if (r->d->fixed_batch > 0)
        snprintf(want, sizeof want, "[%lld, %lld]", (long long)r->d->fixed_batch, n);
    else
        snprintf(want, sizeof want, "[batch, %lld] (or [%lld] for one row)", n, n);
    for (int k = 0; k < rank - 1; k++)
        rows *= (long long)shape[k];
    if (rank >= 3 && shape[rank - 1] == p->n)
        snprintf(fix, sizeof fix, "; to run its %lld rows, flatten the leading dimensions (numpy: x.reshape(-1, %lld))", rows, n);
    else if (rank >= 3 && shape[0] > 0 && rows / shape[0] * shape[rank - 1] == n)
        snprintf(fix, sizeof fix, "; to run its %lld rows, flatten each one (numpy: x.reshape(%lld, -1))", (long long)shape[0],
                 (long long)shape[0]);
    else if (rank == 2 && shape[0] == p->n && shape[1] != p->n)
        snprintf(fix, sizeof fix, "; transposed? (numpy: x.T has shape [%lld, %lld])", (long long)shape[1], n);
    else if (rank == 1 && shape[0] > 0 && shape[0] % p->n == 0)
        snprintf(fix, sizeof fix, "; for %lld rows of %lld (numpy: x.reshape(-1, %lld))", (long long)shape[0] / n, n, n);
    else if (rank == 0)
        snprintf(fix, sizeof fix, "; a scalar is not a row");
    fprintf(stderr, "actc: error: %s: input '%s' must have shape %s, got %s%s\n", path, p->name, want,
            shape_text(shape, rank), fix);
    return 1;
}

static int read_inputs(const Options *o, Run *r) {
    const actrt_desc *d = r->d;
    if (check_port_names(r, o->in, o->nin, d->inputs, d->ninputs, "input", false))
        return 1;
    r->in = calloc((size_t)d->ninputs + 1, sizeof(float *));
    r->batch = -1;
    r->vector = d->ninputs > 0;
    const char *first = NULL;
    for (int i = 0; i < d->ninputs; i++) {
        const NamedFile *f = port_file(o->in, o->nin, &d->inputs[i], i);
        if (!f) {
            fprintf(stderr, "actc: error: no file for input '%s' (use -i %s=FILE)\n", d->inputs[i].name, d->inputs[i].name);
            return 1;
        }
        int64_t shape[ACTRT_NPY_MAX_RANK];
        int rank;
        if (actrt_npy_read(f->path, &r->in[i], shape, &rank) != ACTC_OK) {
            fprintf(stderr, "actc: error: %s\n", actrt_last_error(NULL));
            return 1;
        }
        /* [batch, n] rows, or [n]: one row (F.linear's 1-D input) */
        if (!((rank == 2 && shape[1] == d->inputs[i].n) || (rank == 1 && shape[0] == d->inputs[i].n)))
            return bad_input_shape(r, f->path, i, shape, rank);
        int64_t rows = rank == 2 ? shape[0] : 1;
        r->vector &= rank == 1;
        if (r->batch >= 0 && rows != r->batch) {
            fprintf(stderr, "actc: error: %s: input '%s' has %lld row%s, but %s has %lld\n", f->path, d->inputs[i].name,
                    (long long)rows, rows == 1 ? "" : "s", first, (long long)r->batch);
            return 1;
        }
        r->batch = rows, first = f->path;
    }
    if (d->ninputs == 0)
        r->batch = d->fixed_batch > 0 ? d->fixed_batch : 1;
    return 0;
}

static int write_outputs(const Options *o, Run *r) {
    const actrt_desc *d = r->d;
    for (int i = 0; i < d->noutputs; i++) {
        const NamedFile *f = port_file(o->out, o->nout, &d->outputs[i], i);
        if (!f)
            continue; /* an output nobody asked for */
        int64_t shape[2] = {r->batch, d->outputs[i].n};
        int st = r->vector ? actrt_npy_write(f->path, r->out[i], shape + 1, 1) /* [n]: one row */
                           : actrt_npy_write(f->path, r->out[i], shape, 2);
        if (st != ACTC_OK) {
            fprintf(stderr, "actc: error: %s\n", actrt_last_error(NULL));
            return 1;
        }
    }
    return 0;
}

/* ---- run without -o: the outputs on stdout (docs/cli.md §4) ---- */

enum { SHOW_ROWS = 5, SHOW_EDGE = 3 }; /* rows shown; values shown at each end of a longer row */

/* Column k of the columns shown of a row of n (-1: the "..." between). */
static int64_t shown_column(int64_t n, int k) {
    if (n <= 2 * SHOW_EDGE)
        return k;
    return k < SHOW_EDGE ? k : k == SHOW_EDGE ? -1 : n - (2 * SHOW_EDGE + 1 - k);
}

/* Output i: its name and shape, then its first rows the way numpy prints
 * an array: "[[a b c ... x y z]" rows, each value as %.6g right-aligned to
 * the widest one shown, " ...]" when rows are left out. */
static void print_output(const Run *r, int i) {
    const actrt_port_desc *p = &r->d->outputs[i];
    int64_t rows = r->vector ? 1 : r->batch, n = p->n, shown = rows < SHOW_ROWS ? rows : SHOW_ROWS;
    int ncols = n <= 2 * SHOW_EDGE ? (int)n : 2 * SHOW_EDGE + 1, w = 1;
    char v[32];
    if (r->vector)
        printf("%s: [%lld]\n", p->name, (long long)n);
    else
        printf("%s: [%lld, %lld]%s\n", p->name, (long long)rows, (long long)n,
               rows > SHOW_ROWS ? ", the first 5 rows" : "");
    if (rows == 0) {
        printf("[]\n");
        return;
    }
    for (int64_t q = 0; q < shown; q++)
        for (int k = 0; k < ncols; k++)
            if (shown_column(n, k) >= 0) {
                int len = snprintf(v, sizeof v, "%.6g", (double)r->out[i][q * n + shown_column(n, k)]);
                w = len > w ? len : w;
            }
    for (int64_t q = 0; q < shown; q++) {
        fputs(r->vector ? "[" : q == 0 ? "[[" : " [", stdout);
        for (int k = 0; k < ncols; k++) {
            int64_t c = shown_column(n, k);
            snprintf(v, sizeof v, "%.6g", c >= 0 ? (double)r->out[i][q * n + c] : 0.0);
            printf("%s%*s", k ? " " : "", c >= 0 ? w : 3, c >= 0 ? v : "...");
        }
        fputs("]", stdout);
        if (!r->vector && q == shown - 1)
            fputs(rows > shown ? "\n ...]" : "]", stdout);
        fputs("\n", stdout);
    }
}

/* Tensor desc t's data in memory, for actrt_model_load_tensors. */
static actrt_tensor tensor_of(const actrt_tensor_desc *t, const float *data) {
    actrt_tensor a = {.name = t->name, .elem = ACTRT_ELEM_F32, .rank = t->rank, .data = data};
    memcpy(a.shape, t->shape, sizeof a.shape);
    return a;
}

/* --reference: every tensor of the model as f32 arrays, read by the runtime
 * with the lookup and checks of actrt_model_load_weights (which has already
 * accepted them into m). */
static int reference_run(actc_session *s, actrt_model *m, const Options *o, Run *r) {
    const actrt_desc *d = r->d;
    float **data = NULL;
    actrt_tensor *ts = calloc((size_t)d->ntensors + 1, sizeof *ts);
    int st = 0;
    if (!ts) {
        fprintf(stderr, "actc: error: out of memory\n");
        st = 1;
    } else if (o->nweights && actrt_model_read_tensors(m, o->weights, o->nweights, o->prefix, &data)) {
        fprintf(stderr, "actc: error: %s\n", actrt_last_error(m));
        st = 1;
    }
    for (int t = 0; t < d->ntensors && !st; t++) {
        ts[t] = tensor_of(&d->tensors[t], data ? data[t] : NULL);
        /* --weights int8: the model the kernels run is the dequantised one (docs/language.md §7.2.1) */
        if (o->codegen.weights == ACTC_WEIGHTS_INT8 && data && d->tensors[t].rank == 2 &&
            actrt_int8_dequantized(data[t], d->tensors[t].shape[0], d->tensors[t].shape[1], data[t])) {
            fprintf(stderr, "actc: error: %s: %s\n", d->tensors[t].name, actrt_last_error(NULL));
            st = 1;
        }
    }
    int rs = st ? ACTC_OK : actc_reference_run(s, o->model, ts, d->ntensors, r->batch, (const float *const *)r->in, r->out);
    if (rs) {
        fprintf(stderr, "actc: error: %s\n", actc_last_error(s));
        st = exit_code(rs); /* 2 for an internal error, as every command */
    }
    actrt_free(data);
    free(ts);
    return st;
}

/* --strict and --ignore-tensors on a model about to load its weights */
static int set_strict(actrt_model *m, const Options *o) {
    if (!o->codegen.strict && !o->nignore)
        return ACTC_OK;
    return actrt_model_set_strict(m, o->codegen.strict, o->codegen.ignore_tensors, o->codegen.nignore_tensors);
}

/* The JIT model of o->files[0] compiled with opts, created and with its
 * weights loaded: 0, or the exit status with the error printed (what was
 * made so far is in *s, *j, *m and r->d for the caller to free). */
static int open_model(const Options *o, const actc_options *opts, actc_session **s, actc_jit_model **j,
                      actrt_model **m, Run *r) {
    int st = check_one(o->files[0], o, s);
    if (st)
        return exit_code(st);
    size_t nd = actc_diag_count(*s);
    st = actc_jit_compile(*s, o->model, opts, j);
    print_late_warnings(*s, o, nd);
    if (st) {
        report(*s, st);
        return exit_code(st);
    }
    r->d = actc_jit_desc(*j);
    if (o->nweights == 0 && r->d->ntensors > 0) {
        fprintf(stderr, "actc: error: model '%s' has %d learned tensors: give the weights with -w FILE\n", r->d->name,
                r->d->ntensors);
        return 1;
    }
    if ((st = actrt_model_create(m, r->d)) || (st = set_strict(*m, o)) ||
        (o->nweights && (st = actrt_model_load_weights(*m, o->weights, o->nweights, o->prefix))) ||
        (st = actrt_model_set_threads(*m, (int)o->threads))) {
        fprintf(stderr, "actc: error: %s\n", actrt_last_error(*m));
        return exit_code(st);
    }
    int rounded = actrt_model_rounded_tensors(*m);
    if (rounded > 0 && !o->quiet && opts->weights != ACTC_WEIGHTS_INT8) /* int8: quantised by definition */
        fprintf(stderr, "actc: warning: --weights %s: %d tensor%s rounded to nearest even (their values are not all %s)\n",
                cli_weight_names[opts->weights], rounded, rounded == 1 ? "" : "s", cli_weight_names[opts->weights]);
    return 0;
}

static int cmd_run(const Options *o) {
    if (o->nfiles != 1)
        return cli_arg_error(o->command, "%s", "'run' needs exactly one FILE");
    actc_session *s = NULL;
    actc_jit_model *j = NULL;
    actrt_model *m = NULL;
    Run r = {0};
    int rc = open_model(o, &o->codegen, &s, &j, &m, &r), st;
    if (rc)
        goto done;
    rc = 1;
    r.path = o->files[0];
    if (read_inputs(o, &r) ||
        (o->nout && check_port_names(&r, o->out, o->nout, r.d->outputs, r.d->noutputs, "output", true)))
        goto done;
    r.out = calloc((size_t)r.d->noutputs + 1, sizeof(float *));
    for (int i = 0; i < r.d->noutputs; i++)
        if (!r.out || !(r.out[i] = calloc((size_t)(r.batch * r.d->outputs[i].n) + 1, sizeof(float)))) {
            fprintf(stderr, "actc: error: out of memory\n");
            goto done;
        }
    if (o->reference) {
        if ((rc = reference_run(s, m, o, &r)) != 0)
            goto done;
    } else if ((st = actrt_model_run(m, r.batch, (const float *const *)r.in, r.out))) {
        fprintf(stderr, "actc: error: %s\n", actrt_last_error(m));
        rc = exit_code(st);
        goto done;
    }
    if (o->nout == 0) { /* no -o: show them */
        for (int i = 0; i < r.d->noutputs; i++) {
            if (i)
                fputs("\n", stdout);
            print_output(&r, i);
        }
        rc = 0;
    } else {
        rc = write_outputs(o, &r);
    }
done:
    if (r.d) {
        for (int i = 0; r.in && i < r.d->ninputs; i++)
            actrt_free(r.in[i]);
        for (int i = 0; r.out && i < r.d->noutputs; i++)
            free(r.out[i]);
    }
    free(r.in), free(r.out);
    actrt_model_free(m);
    actc_jit_free(j);
    actc_session_free(s);
    return rc;
}

/* ---- stats ---- */

static int cmd_stats(const Options *o) {
    if (o->nfiles != 1)
        return cli_arg_error(o->command, "%s", "'stats' needs exactly one FILE");
    actc_session *s = NULL;
    actc_jit_model *j = NULL;
    actrt_model *m = NULL;
    Run r = {0};
    actc_options opts = o->codegen;
    opts.stats = 1;
    int rc = open_model(o, &opts, &s, &j, &m, &r);
    if (rc)
        goto done;
    rc = 1;
    if (o->batch && r.d->fixed_batch > 0) {
        fprintf(stderr, "actc: error: --batch: model '%s' has a constant batch of %lld\n", r.d->name,
                (long long)r.d->fixed_batch);
        goto done;
    }
    r.path = o->files[0];
    if (read_inputs(o, &r))
        goto done;
    if (r.batch == 0) {
        fprintf(stderr, "actc: error: the inputs have no rows: statistics need at least one sample\n");
        goto done;
    }
    rc = cli_stats(m, r.d, r.in, r.batch, o->batch ? o->batch : 256, o->json_out, o->plot_dir);
done:
    for (int i = 0; r.d && r.in && i < r.d->ninputs; i++)
        actrt_free(r.in[i]);
    free(r.in);
    actrt_model_free(m);
    actc_jit_free(j);
    actc_session_free(s);
    return rc;
}

/* ---- compile ---- */

static int cmd_compile(const Options *o) {
    if (o->list_variants) {
        static char text[8192];
        int st = actc_list_variants(&o->codegen, text, sizeof text);
        if (st) {
            fprintf(stderr, "actc: error: %s\n", text);
            return exit_code(st);
        }
        fputs(text, stdout);
        return 0;
    }
    if (o->nfiles != 1)
        return cli_arg_error(o->command, "%s", "'compile' needs exactly one FILE");
    if (o->nout != 1 || o->out[0].name)
        return cli_arg_error(o->command, "%s", "'compile' needs one object file: -o MODEL.o");
    if (o->header && o->no_header)
        return cli_arg_error(o->command, "%s", "--header and --no-header exclude each other");
    /* the header: --header FILE, else OBJ.h beside OBJ.o (said on stderr), unless --no-header */
    const char *obj = o->out[0].path, *header = o->header;
    char *beside = NULL;
    if (!header && !o->no_header) {
        size_t n = strlen(obj);
        if (n > 2 && strcmp(obj + n - 2, ".o") == 0)
            n -= 2;
        if (!(beside = malloc(n + 3))) {
            fprintf(stderr, "actc: error: out of memory\n");
            return 1;
        }
        memcpy(beside, obj, n);
        memcpy(beside + n, ".h", 3);
        header = beside;
    }
    actc_session *s = NULL;
    int st = check_one(o->files[0], o, &s);
    if (st) {
        free(beside);
        return exit_code(st);
    }
    size_t nd = actc_diag_count(s);
    st = actc_compile_object(s, o->model, &o->codegen, o->prefix_sym, obj, header, o->embed);
    print_late_warnings(s, o, nd);
    report(s, st);
    if (st == ACTC_OK && beside && !o->quiet)
        fprintf(stderr, "actc: wrote %s (use --header FILE to name it, --no-header to skip it)\n", beside);
    actc_session_free(s);
    free(beside);
    return exit_code(st);
}

/* ---- bench ---- */

#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Random weights (uniform, +-sqrt(3/K) for matrices) for a benchmark. */
int cli_random_weights(actrt_model *m, const actrt_desc *d) {
    actrt_tensor *ts = calloc((size_t)d->ntensors + 1, sizeof *ts);
    float **data = calloc((size_t)d->ntensors + 1, sizeof *data);
    unsigned long long g = 88172645463325252ull;
    int st = ts && data ? ACTC_OK : ACTC_ERR_NOMEM;
    for (int t = 0; t < d->ntensors && !st; t++) {
        const actrt_tensor_desc *td = &d->tensors[t];
        int64_t n = actrt_tensor_numel(td);
        /* matrices: +-sqrt(3 / fan-in), fan-in the last dimension */
        double a = td->rank >= 2 ? sqrt(3.0 / (double)(td->shape[td->rank - 1] ? td->shape[td->rank - 1] : 1)) : 0.1;
        if (n < 0 || !(data[t] = malloc(sizeof(float) * (size_t)(n + 1)))) {
            st = ACTC_ERR_NOMEM;
            break;
        }
        ts[t] = tensor_of(td, data[t]);
        for (int64_t q = 0; q < n; q++) {
            g ^= g << 13, g ^= g >> 7, g ^= g << 17;
            data[t][q] = (float)(a * ((double)(g >> 11) / 4503599627370496.0 - 1));
        }
    }
    if (!st)
        st = actrt_model_load_tensors(m, ts, d->ntensors);
    for (int t = 0; t < d->ntensors && data; t++)
        free(data[t]);
    free(ts), free(data);
    return st;
}

/* Decimals that show v with three significant digits, and at least `least`. */
static int decimals(double v, int least) {
    int d = v > 0 && isfinite(v) ? 2 - (int)floor(log10(v)) : least;
    return d > least ? d : least;
}

/* One buffer of batch rows per port (inputs filled with sin(q)), or NULL
 * when out of memory or the sizes overflow (what was allocated freed). */
static float **bench_buffers(const actrt_port_desc *ports, int n, int64_t batch, bool fill) {
    float **b = calloc((size_t)n + 1, sizeof *b);
    for (int i = 0; b && i < n; i++) {
        int64_t len;
        if (__builtin_mul_overflow(batch, ports[i].n, &len) || len > (int64_t)(SIZE_MAX / sizeof(float)) - 1 ||
            !(b[i] = malloc(sizeof(float) * (size_t)(len + 1)))) {
            for (int k = 0; k < i; k++)
                free(b[k]);
            free(b);
            return NULL;
        }
        for (int64_t q = 0; fill && q < len; q++)
            b[i][q] = (float)sin((double)q);
    }
    return b;
}

/* A warm-up run, then reps timed runs (total[r]) and reps profiled runs
 * (per[k * reps + r], kernel k's seconds; per has nkernels more entries
 * for one profile).  A status; the message on m. */
static int bench_measure(actrt_model *m, const actrt_desc *d, int64_t batch, float **in, float **out, int reps,
                         double *total, double *per) {
    double *sec = per + (size_t)d->nkernels * (size_t)reps;
    int st = actrt_model_run(m, batch, (const float *const *)in, out); /* scratch, caches */
    for (int r = 0; r < reps && !st; r++) {
        double a = now_s();
        st = actrt_model_run(m, batch, (const float *const *)in, out);
        total[r] = now_s() - a;
    }
    for (int r = 0; r < reps && !st; r++) {
        st = actrt_model_profile(m, batch, (const float *const *)in, out, sec);
        for (int k = 0; k < d->nkernels && !st; k++)
            per[(size_t)k * (size_t)reps + (size_t)r] = sec[k];
    }
    return st;
}

/* The kernel table of actc bench (docs/cli.md §5): one unit for the time
 * column, chosen so that the fastest kernel shows three significant
 * digits.  Returns the matmuls' flops per run. */
static double bench_table(const actrt_desc *d, int weights, int64_t batch, double *per, int reps) {
    double *t = calloc((size_t)d->nkernels + 1, sizeof *t), fastest = 0, flops_all = 0;
    for (int k = 0; t && k < d->nkernels; k++) {
        t[k] = median(per + (size_t)k * (size_t)reps, reps);
        fastest = t[k] > 0 && (fastest == 0 || t[k] < fastest) ? t[k] : fastest;
    }
    const char *unit = fastest > 0 && fastest < 1e-6 ? "ns" : fastest > 0 && fastest < 1e-3 ? "us" : "ms";
    double scale = unit[0] == 'n' ? 1e9 : unit[0] == 'u' ? 1e6 : 1e3;
    int dec = fastest > 0 ? decimals(fastest * scale, 0) : 4;
    printf("%-6s %-18s %-8s %-10s %-22s %10s %9s\n", "kernel", "kind", "lines", "code", "shape (M x K -> N)", unit,
           "GFLOP/s");
    for (int k = 0; t && k < d->nkernels; k++) {
        const actrt_kernel_info *ki = d->kernel_info ? &d->kernel_info[k] : NULL;
        const actrt_kernel_kind *kind = ki ? actrt_kernel_kind_of(ki->kind) : NULL;
        int proj = kind ? kind->projections : 0;
        double fl = 2.0 * (double)batch * (double)(proj ? ki->n : 0) * (double)(proj ? ki->k : 0) * proj;
        flops_all += fl;
        char shape[64] = "", code[32];
        if (proj)
            snprintf(shape, sizeof shape, "%lld x %lld -> %lld", (long long)batch, (long long)ki->k, (long long)ki->n);
        else if (ki)
            snprintf(shape, sizeof shape, "%lld x %lld", (long long)batch, (long long)ki->n);
        /* the function it runs: kernels identical up to their tensors share
         * the first one's (PREFIX_kI_body in an object) */
        int body = 0;
        while (d->kernels[body] != d->kernels[k])
            body++;
        snprintf(code, sizeof code, "k%d_body", body);
        printf("%-6d %-18s %-8s %-10s %-22s %10.*f", k, kind ? kind->name : "?", ki ? ki->lines : "", code, shape, dec,
               t[k] * scale);
        if (fl > 0) /* and the weights' path: the stored type, widened in registers */
            printf(" %9.1f  %s%s", fl / t[k] * 1e-9, cli_weight_names[weights],
                   weights == ACTC_WEIGHTS_INT8 ? " dequantised (q * s) in the kernel"
                   : weights                    ? " widened in the kernel"
                                                : "");
        printf("\n");
    }
    free(t);
    return flops_all;
}

static int cmd_bench(const Options *o) {
    if (o->nfiles != 1)
        return cli_arg_error(o->command, "%s", "'bench' needs exactly one FILE");
    if (o->batch <= 0)
        return cli_arg_error(o->command, "%s", "'bench' needs --batch N");
    actc_session *s = NULL;
    int st = check_one(o->files[0], o, &s);
    if (st)
        return exit_code(st);
    actc_jit_model *j = NULL;
    actrt_model *m = NULL;
    float **in = NULL, **out = NULL;
    int rc = 1, reps = o->reps ? (int)o->reps : 20;
    double t0 = now_s();
    size_t nd = actc_diag_count(s);
    st = actc_jit_compile(s, o->model, &o->codegen, &j);
    print_late_warnings(s, o, nd);
    if (st) {
        report(s, st);
        rc = exit_code(st);
        goto done;
    }
    double tcompile = now_s() - t0;
    const actrt_desc *d = actc_jit_desc(j);
    if (d->fixed_batch > 0 && o->batch != d->fixed_batch) {
        fprintf(stderr, "actc: error: model '%s' has a fixed batch of %lld\n", d->name, (long long)d->fixed_batch);
        goto done;
    }
    if ((st = actrt_model_create(&m, d)) || (st = set_strict(m, o)) ||
        (st = o->nweights ? actrt_model_load_weights(m, o->weights, o->nweights, o->prefix) : cli_random_weights(m, d)) ||
        (st = actrt_model_set_threads(m, (int)o->threads))) {
        fprintf(stderr, "actc: error: %s\n", actrt_last_error(m));
        rc = exit_code(st);
        goto done;
    }
    int64_t batch = o->batch;
    if (!(in = bench_buffers(d->inputs, d->ninputs, batch, true)) || !(out = bench_buffers(d->outputs, d->noutputs, batch, false))) {
        fprintf(stderr, "actc: error: --batch %lld: out of memory for the inputs and outputs\n", (long long)batch);
        goto done;
    }
    double *total = calloc((size_t)reps, sizeof(double)), *per = calloc((size_t)(reps + 1) * (size_t)d->nkernels + 1, sizeof(double));
    if (!total || !per || (st = bench_measure(m, d, batch, in, out, reps, total, per))) {
        fprintf(stderr, "actc: error: %s\n", total && per ? actrt_last_error(m) : "out of memory");
        rc = total && per ? exit_code(st) : 1;
        free(total), free(per);
        goto done;
    }
    char thr[32];
    snprintf(thr, sizeof thr, o->threads ? "%lld" : "default", o->threads);
    printf("model %s: batch %lld, %s threads, %s tier, %s weights, compile %.1f ms, %d runs (medians)\n", d->name,
           (long long)batch, thr, o->codegen.fast_math ? "fast" : o->codegen.exact_math ? "exact" : "precise",
           cli_weight_names[o->codegen.weights], tcompile * 1e3, reps);
    double flops = bench_table(d, o->codegen.weights, batch, per, reps);
    double t = median(total, reps);
    printf("total: %.*f ms per run, %.*f us per sample, %.1f GFLOP/s (matmuls)\n", decimals(t * 1e3, 4), t * 1e3,
           decimals(t / (double)batch * 1e6, 2), t / (double)batch * 1e6, flops / t * 1e-9);
    printf("scratch: %lld floats per row, %.1f KiB per run (actrt_model_workspace_size)\n", (long long)d->scratch_per_row,
           (double)actrt_model_workspace_size(m, batch) / 1024);
    free(total), free(per);
    rc = 0;
done:
    if (j) {
        const actrt_desc *dd = actc_jit_desc(j);
        for (int i = 0; in && i < dd->ninputs; i++)
            free(in[i]);
        for (int i = 0; out && i < dd->noutputs; i++)
            free(out[i]);
    }
    free(in), free(out);
    actrt_model_free(m);
    actc_jit_free(j);
    actc_session_free(s);
    return rc;
}

int main(int argc, char **argv) {
    if (cli_help_asked(argc, argv)) /* -h / --help anywhere before a `--`, `actc help [COMMAND]` */
        return 0;
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("actc %s\n", actc_version());
        return 0;
    }
    Options o = {0};
    int rc = cli_parse_args(argc, argv, &o);
    if (rc == 0) {
        switch (o.command) {
        case CLI_NONE: rc = cli_arg_error(o.command, "%s", "no command given"); break;
        case CLI_CHECK: rc = cmd_check(&o); break;
        case CLI_DUMP: rc = cmd_dump(&o); break;
        case CLI_RUN: rc = cmd_run(&o); break;
        case CLI_BENCH: rc = cmd_bench(&o); break;
        case CLI_COMPILE: rc = cmd_compile(&o); break;
        case CLI_STATS: rc = cmd_stats(&o); break;
        case CLI_TUNE:
            rc = o.nfiles ? cli_arg_error(o.command, "%s", "'tune' takes no FILE (it measures its own models)")
                          : cli_tune(&o.codegen, o.shapes, o.batches, o.budget > 0 ? o.budget : 300, o.codegen.profile,
                                     o.show, o.quiet);
            break;
        case CLI_NCOMMANDS: break;
        }
    }
    free(o.files);
    return rc;
}
