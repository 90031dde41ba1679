/*
 * main.c — the actc command line (design.md §4, docs/cli.md).  The only file
 * that prints to stdout/stderr on its own account and the only one that turns
 * status codes into exit codes: 0 ok, 1 user error (bad model, weights,
 * arguments, I/O), 2 internal error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actc/actc.h"
#include "driver/internal.h"

static const char usage[] =
    "usage: actc <command> [options] FILE...\n"
    "\n"
    "commands:\n"
    "  check FILE...            parse and check models; print diagnostics only\n"
    "  dump FILE STAGE          print an intermediate stage of the model:\n"
    "      --ast                the parsed program\n"
    "      --graph[=PASS]       the graph IR after all passes, or after PASS\n"
    "                           (lowered, inline, simplify, cse, dce, split-matmul)\n"
    "      --fused              the fusion report: kernels, what each fused, and why\n"
    "                           an activation was not fused into a matmul\n"
    "      --dot                the kernel graph as Graphviz dot (clusters per kernel)\n"
    "\n"
    "options:\n"
    "  --model NAME             the model to act on, in a file with several\n"
    "  --diagnostics=text|json  diagnostic format (json: one object per line)\n"
    "  -q, --quiet              print errors only (no warnings)\n"
    "  -h, --help               print this help\n"
    "  --version                print the version\n"
    "\n"
    "Exit status: 0 success, 1 error in the input or arguments, 2 internal error.\n";

typedef struct Options {
    const char *command;
    const char **files;
    int nfiles;
    bool json, quiet;
    const char *dump;
    const char *stage;
    const char *model;
} Options;

static int exit_code(int st) {
    return st == ACTC_OK ? 0 : st == ACTC_ERR_INTERNAL ? 2 : 1;
}

static int arg_error(const char *fmt, const char *arg) {
    fprintf(stderr, "actc: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'actc --help' for usage.\n");
    return 1;
}

static int parse_args(int argc, char **argv, Options *o) {
    o->files = calloc((size_t)argc, sizeof *o->files);
    if (!o->files)
        return arg_error("%s", "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--diagnostics=json") == 0)
            o->json = true;
        else if (strcmp(a, "--diagnostics=text") == 0)
            o->json = false;
        else if (strncmp(a, "--diagnostics", 13) == 0)
            return arg_error("invalid option '%s'; expected --diagnostics=text or --diagnostics=json", a);
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
            o->quiet = true;
        else if (strcmp(a, "--ast") == 0 || strcmp(a, "--graph") == 0 || strcmp(a, "--fused") == 0 ||
                 strcmp(a, "--dot") == 0)
            o->dump = a + 2;
        else if (strncmp(a, "--graph=", 8) == 0)
            o->dump = "graph", o->stage = a + 8;
        else if (strcmp(a, "--model") == 0) {
            if (i + 1 >= argc)
                return arg_error("%s", "'--model' needs a NAME");
            o->model = argv[++i];
        } else if (strncmp(a, "--model=", 8) == 0)
            o->model = a + 8;
        else if (a[0] == '-' && a[1] != '\0')
            return arg_error("unknown option '%s'", a);
        else if (!o->command)
            o->command = a;
        else
            o->files[o->nfiles++] = a;
    }
    return 0;
}

/* Print a session's diagnostics to stderr in the chosen format. */
static void print_diagnostics(actc_session *s, const Options *o) {
    if (o->quiet && actc_diag_count(s) > 0) {
        /* errors only: render then filter is simplest through the records */
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
    if (st == ACTC_ERR_IO || st == ACTC_ERR_NOMEM || st == ACTC_ERR_INTERNAL || st == ACTC_ERR_ARG)
        fprintf(stderr, "actc: %s: %s\n", st == ACTC_ERR_INTERNAL ? "internal error" : "error", actc_last_error(s));
    if (keep && st == ACTC_OK)
        *keep = s;
    else
        actc_session_free(s);
    return st;
}

static int cmd_check(const Options *o) {
    if (o->nfiles == 0)
        return arg_error("%s", "'check' needs at least one FILE");
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
        return arg_error("%s", "'dump' needs exactly one FILE");
    if (!o->dump)
        return arg_error("%s", "'dump' needs a stage: --ast, --graph, --fused or --dot");
    actc_session *s = NULL;
    int st = check_one(o->files[0], o, &s);
    if (st)
        return exit_code(st);
    const char *out = NULL;
    if (strcmp(o->dump, "ast") == 0)
        st = actc_dump_ast(s, &out);
    else
        st = actc_dump(s, o->model, strcmp(o->dump, "graph") == 0   ? ACTC_DUMP_GRAPH
                                    : strcmp(o->dump, "fused") == 0 ? ACTC_DUMP_FUSED
                                                                    : ACTC_DUMP_DOT,
                       o->stage, &out);
    if (st == ACTC_OK)
        fputs(out, stdout);
    else
        fprintf(stderr, "actc: error: %s\n", actc_last_error(s));
    actc_session_free(s);
    return exit_code(st);
}

int main(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("actc %s\n", actc_version());
        return 0;
    }
    Options o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc == 0) {
        if (!o.command)
            rc = arg_error("%s", "no command given");
        else if (strcmp(o.command, "check") == 0)
            rc = cmd_check(&o);
        else if (strcmp(o.command, "dump") == 0)
            rc = cmd_dump(&o);
        else
            rc = arg_error("unknown command '%s'", o.command);
    }
    free(o.files);
    return rc;
}
