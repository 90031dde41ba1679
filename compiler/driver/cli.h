/*
 * cli.h — what the files of the actc command line share (main.c, args.c,
 * tune.c, stats.c).
 */
#ifndef ACTC_DRIVER_CLI_H
#define ACTC_DRIVER_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "actc/actc.h"
#include "actc/runtime.h"

/* ---- args.c: the commands and options (options.def) ---- */

/* The commands, in options.def's order. */
typedef enum CliCommand {
#define CMD(id, name, synopsis, summary) CLI_##id,
#define OPT(id, name, alias, value, commands, help)
#define OPT_ALSO(id, name, alias, value, commands, help)
#include "driver/options.def"
#undef CMD
#undef OPT
#undef OPT_ALSO
    CLI_NCOMMANDS,
    CLI_NONE = -1
} CliCommand;

enum { CLI_MAX_FILES = 64 };

typedef struct NamedFile {
    const char *name; /* NULL: positional; else "NAME=..." (the name ends at '=') */
    const char *path;
} NamedFile;

/* The command line, parsed. */
typedef struct Options {
    CliCommand command;
    const char **files;
    int nfiles;
    bool json, quiet, reference;
    const char *dump, *stage, *model, *prefix;
    const char *weights[CLI_MAX_FILES];
    int nweights;
    const char *ignore[CLI_MAX_FILES]; /* --ignore-tensors */
    int nignore;
    NamedFile in[CLI_MAX_FILES], out[CLI_MAX_FILES];
    int nin, nout;
    actc_options codegen;
    long long batch, threads, reps;
    const char *header, *prefix_sym, *embed;
    bool no_header, list_variants, show;
    const char *shapes, *batches;
    double budget;
    const char *json_out, *plot_dir; /* stats */
} Options;

/* --weights: the names of ACTC_WEIGHTS_* (0 .. 3), in the order of their values */
extern const char *const cli_weight_names[4];

/* Parse argv into *o (zeroed by the caller): 0, or 1 with the error
 * printed.  Every option is checked against the command (options.def);
 * o->files is allocated (free it). */
int cli_parse_args(int argc, char **argv, Options *o);
/* If argv asks for help (-h, --help, `actc help [COMMAND]`), print it to
 * stdout (the command's own, or the whole usage) and return true. */
bool cli_help_asked(int argc, char **argv);
/* "actc: error: MESSAGE" (printf's format), then where to read the usage
 * (the command's help when known).  Returns 1, the exit status. */
int cli_arg_error(CliCommand cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The name of a command ("run"). */
const char *cli_command_name(CliCommand cmd);

/* ---- main.c ---- */

/* Random weights for every tensor of d (uniform +-sqrt(3 / fan-in) for
 * matrices, +-0.1 otherwise; a fixed sequence). */
int cli_random_weights(actrt_model *m, const actrt_desc *d);

/* ---- tune.c ---- */

/* actc tune: the exit status. */
int cli_tune(const actc_options *o, const char *shapes, const char *batches, double budget, const char *profile,
             bool show, bool quiet);

/* ---- stats.c ---- */

/* actc stats: every row of the inputs in[] (rows of them) through m in
 * batches of `batch` (a fixed batch model: its own), then the table on
 * stdout, the JSON report to json_path ("-": stdout, instead of the
 * table), plots into plot_dir (NULL: none).  The exit status. */
int cli_stats(actrt_model *m, const actrt_desc *d, float *const *in, int64_t rows, int64_t batch, const char *json_path,
              const char *plot_dir);

#endif
