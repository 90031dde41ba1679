/*
 * args.c — the arguments of the actc command line (design.md §4,
 * docs/cli.md): the table of commands and options (options.def), argv
 * parsed into Options, and the help texts.  The parser accepts an option
 * only for the commands the table lists, and both help texts are printed
 * from the same table, so what `actc CMD --help` shows is what `actc CMD`
 * takes.  Output: errors on stderr, help on stdout; main.c turns the
 * result into an exit status.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/cli.h"
#include "driver/internal.h"

/* An option's set of commands: one bit per command. */
enum {
#define CMD(id, name, synopsis, summary) C_##id = 1u << CLI_##id,
#define OPT(id, name, alias, value, commands, help)
#define OPT_ALSO(id, name, alias, value, commands, help)
#include "driver/options.def"
#undef CMD
#undef OPT
#undef OPT_ALSO
    C_ALL = (1u << CLI_NCOMMANDS) - 1
};

typedef enum OptionId {
#define CMD(id, name, synopsis, summary)
#define OPT(id, name, alias, value, commands, help) O_##id,
#define OPT_ALSO(id, name, alias, value, commands, help)
#include "driver/options.def"
#undef CMD
#undef OPT
#undef OPT_ALSO
    O_COUNT
} OptionId;

typedef struct OptionSpec {
    OptionId id;
    const char *name, *alias, *value; /* value: options.def's forms */
    unsigned commands;
    const char *help;
} OptionSpec;

static const OptionSpec options[] = {
#define CMD(id, name, synopsis, summary)
#define OPT(id, name, alias, value, commands, help) {O_##id, name, alias, value, commands, help},
#define OPT_ALSO(id, name, alias, value, commands, help) {O_##id, name, alias, value, commands, help},
#include "driver/options.def"
#undef CMD
#undef OPT
#undef OPT_ALSO
};

typedef struct CommandSpec {
    const char *name, *synopsis, *summary;
} CommandSpec;

static const CommandSpec commands[] = {
#define CMD(id, name, synopsis, summary) {name, synopsis, summary},
#define OPT(id, name, alias, value, commands, help)
#define OPT_ALSO(id, name, alias, value, commands, help)
#include "driver/options.def"
#undef CMD
#undef OPT
#undef OPT_ALSO
};

enum { NOPTIONS = sizeof options / sizeof options[0], HELP_COL = 27 };

const char *const cli_weight_names[4] = {"f32", "bf16", "f16", "int8"};

const char *cli_command_name(CliCommand cmd) {
    return cmd >= 0 && cmd < CLI_NCOMMANDS ? commands[cmd].name : "?";
}

static CliCommand command_of(const char *word) {
    for (int c = 0; c < CLI_NCOMMANDS; c++)
        if (strcmp(word, commands[c].name) == 0)
            return (CliCommand)c;
    return CLI_NONE;
}

int cli_arg_error(CliCommand cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "actc: error: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd == CLI_NONE)
        fprintf(stderr, "\nRun 'actc --help' for usage.\n");
    else
        fprintf(stderr, "\nRun 'actc %s --help' for usage.\n", cli_command_name(cmd));
    return 1;
}

/* ---- the table ---- */

/* Does any entry of option id list command c? */
static bool takes(OptionId id, CliCommand c) {
    for (int i = 0; i < NOPTIONS; i++)
        if (options[i].id == id && (options[i].commands & (1u << c)))
            return true;
    return false;
}

/* A value in the next argument ("X", not "=X" or "[=X]"). */
static bool value_follows(const OptionSpec *sp) {
    return sp->value && sp->value[0] != '=' && strncmp(sp->value, "[=", 2) != 0;
}

/* The entry for argument a (NAME, ALIAS, or --NAME=VALUE for an option with
 * a value), preferring one that command c takes; *attached: the text after
 * '=' (else NULL).  NULL: no such option. */
static const OptionSpec *find_option(const char *a, CliCommand c, const char **attached) {
    const OptionSpec *found = NULL;
    for (int i = 0; i < NOPTIONS; i++) {
        const OptionSpec *sp = &options[i];
        size_t n = strlen(sp->name);
        const char *v = NULL;
        bool match = strcmp(a, sp->name) == 0 || (sp->alias && strcmp(a, sp->alias) == 0);
        if (!match && sp->value && sp->name[1] == '-' && strncmp(a, sp->name, n) == 0 && a[n] == '=')
            match = true, v = a + n + 1;
        if (match && (!found || (c != CLI_NONE && (sp->commands & (1u << c))))) {
            found = sp, *attached = v;
            if (c == CLI_NONE || (sp->commands & (1u << c)))
                break;
        }
    }
    return found;
}

static int unknown_option(CliCommand c, const char *a) {
    const char *names[2 * NOPTIONS];
    int n = 0;
    for (int i = 0; i < NOPTIONS; i++) {
        names[n++] = options[i].name;
        if (options[i].alias)
            names[n++] = options[i].alias;
    }
    char stem[64]; /* --name=value: the name */
    snprintf(stem, sizeof stem, "%.*s", (int)strcspn(a, "="), a);
    const char *near = actc_closest_name(stem, names, n);
    if (near)
        return cli_arg_error(c, "unknown option '%s'; did you mean '%s'?", a, near);
    return cli_arg_error(c, "unknown option '%s'", a);
}

/* "'-w' is not an option of 'compile' (it is an option of run, bench, stats)";
 * a is the argument (--NAME=VALUE: the name is shown). */
static int not_an_option(CliCommand c, const OptionSpec *sp, const char *arg) {
    char a[64], list[256] = "";
    snprintf(a, sizeof a, "%.*s", (int)strcspn(arg, "="), arg);
    size_t len = 0;
    for (int k = 0; k < CLI_NCOMMANDS; k++)
        if (takes(sp->id, (CliCommand)k))
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", commands[k].name);
    if (!len)
        return cli_arg_error(c, "'%s' is not an option of '%s' (it takes no command: 'actc %s')", a,
                             cli_command_name(c), sp->name);
    return cli_arg_error(c, "'%s' is not an option of '%s' (it is an option of %s)", a, cli_command_name(c), list);
}

/* ---- values ---- */

/* "NAME=FILE" when NAME is an identifier (a path may contain '='). */
static NamedFile named(const char *arg) {
    const char *eq = strchr(arg, '=');
    bool ident = eq && eq != arg && !(arg[0] >= '0' && arg[0] <= '9');
    for (const char *p = arg; ident && p < eq; p++)
        ident = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (!ident)
        return (NamedFile){NULL, arg};
    return (NamedFile){arg, eq + 1};
}

/* --batch N, --reps R (at least 1) and --threads T (at least 0): a decimal
 * integer in [min, max]. */
static int count_value(CliCommand c, const char *opt, const char *v, long long min, long long max, long long *out) {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    bool number = (v[0] >= '0' && v[0] <= '9') || ((v[0] == '-' || v[0] == '+') && v[1] >= '0' && v[1] <= '9');
    if (number && !*end && (n > max || (errno == ERANGE && n > 0)))
        return cli_arg_error(c, "%s: must be at most %lld, got '%s'", opt, max, v);
    if (!number || *end || errno == ERANGE || n < min)
        return min > 0 ? cli_arg_error(c, "%s: must be a positive integer, got '%s'", opt, v)
                       : cli_arg_error(c, "%s: must be a non-negative integer (0: OpenMP's default), got '%s'", opt, v);
    *out = n;
    return 0;
}

static int add_file(CliCommand c, const char *opt, int *n, int cap) {
    if (*n == cap)
        return cli_arg_error(c, "too many '%s' options", opt);
    return 0;
}

/* Option id with its value v (NULL for a flag or a missing "[=X]") into o. */
static int apply(Options *o, const OptionSpec *sp, const char *a, const char *v) {
    CliCommand c = o->command;
    actc_options *g = &o->codegen;
    switch (sp->id) {
    case O_MODEL: o->model = v; break;
    case O_WEIGHTS_FILE:
        if (add_file(c, a, &o->nweights, CLI_MAX_FILES))
            return 1;
        o->weights[o->nweights++] = v;
        break;
    case O_WEIGHTS_PREFIX: o->prefix = v; break;
    case O_STRICT: g->strict = 1; break;
    case O_IGNORE_TENSORS:
        if (add_file(c, a, &o->nignore, CLI_MAX_FILES - 1))
            return 1;
        if (o->nignore == 0) /* the globs add to the default */
            o->ignore[o->nignore++] = "*.num_batches_tracked";
        o->ignore[o->nignore++] = v;
        g->ignore_tensors = o->ignore, g->nignore_tensors = o->nignore;
        break;
    case O_INPUT:
        if (add_file(c, a, &o->nin, CLI_MAX_FILES))
            return 1;
        o->in[o->nin++] = named(v);
        break;
    case O_OUTPUT:
        if (add_file(c, a, &o->nout, CLI_MAX_FILES))
            return 1;
        o->out[o->nout++] = named(v);
        break;
    case O_REFERENCE: o->reference = true; break;
    case O_HEADER: o->header = v; break;
    case O_NO_HEADER: o->no_header = true; break;
    case O_PREFIX: o->prefix_sym = v; break;
    case O_EMBED_WEIGHTS: o->embed = v; break;
    case O_LIST_VARIANTS: o->list_variants = true; break;
    case O_BATCH: return count_value(c, sp->name, v, 1, 1LL << 40, &o->batch);
    case O_THREADS: return count_value(c, sp->name, v, 0, 1024, &o->threads);
    case O_REPS: return count_value(c, sp->name, v, 1, 1000000, &o->reps);
    case O_JSON: o->json_out = v; break;
    case O_PLOT: o->plot_dir = v; break;
    case O_SHAPES: o->shapes = v; break;
    case O_BATCHES: o->batches = v; break;
    case O_BUDGET: {
        char *end;
        o->budget = strtod(v, &end);
        if (*end || !(o->budget > 0 && o->budget <= 86400))
            return cli_arg_error(c, "invalid --budget '%s': seconds, more than 0 and at most 86400", v);
        break;
    }
    case O_SHOW: o->show = true; break;
    case O_AST: case O_FUSED: case O_DOT: case O_LLVM: case O_ASM: o->dump = sp->name + 2; break;
    case O_GRAPH: o->dump = "graph", o->stage = v; break;
    case O_WEIGHT_TYPE: {
        int w = 0;
        while (w < 4 && strcmp(v, cli_weight_names[w]) != 0)
            w++;
        if (w == 4)
            return cli_arg_error(c, "invalid --weights '%s': expected f32, bf16, f16 or int8", v);
        g->weights = w;
        break;
    }
    case O_STATS: g->stats = 1; break;
    case O_TARGET: g->target = v; break;
    case O_CPU: g->cpu = v; break;
    case O_FEATURES: g->features = v; break;
    case O_KERNEL_PARAMS: g->kernel_params = v; break;
    case O_PROFILE: g->profile = v; break;
    case O_FAST_MATH: g->fast_math = 1; break;
    case O_EXACT: g->exact_math = 1; break;
    case O_DIAGNOSTICS:
        if (!v || (strcmp(v, "json") != 0 && strcmp(v, "text") != 0))
            return cli_arg_error(c, "invalid option '%s'; expected --diagnostics=text or --diagnostics=json", a);
        o->json = v[0] == 'j';
        break;
    case O_QUIET: o->quiet = true; break;
    case O_HELP: case O_VERSION: case O_COUNT: break; /* answered before parsing (main.c) */
    }
    return 0;
}

/* ---- parsing ---- */

int cli_parse_args(int argc, char **argv, Options *o) {
    o->command = CLI_NONE;
    o->files = calloc((size_t)argc, sizeof *o->files);
    if (!o->files)
        return cli_arg_error(CLI_NONE, "%s", "out of memory");
    /* options before the command word: checked once it is known */
    const OptionSpec *early[CLI_MAX_FILES];
    const char *early_arg[CLI_MAX_FILES];
    int nearly = 0;
    bool have_word = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (a[0] != '-' || a[1] == '\0') { /* the command, then files ("-" is a file name) */
            if (have_word) {
                o->files[o->nfiles++] = a;
                continue;
            }
            have_word = true;
            if ((o->command = command_of(a)) == CLI_NONE) {
                const char *names[CLI_NCOMMANDS];
                for (int k = 0; k < CLI_NCOMMANDS; k++)
                    names[k] = commands[k].name;
                const char *near = actc_closest_name(a, names, CLI_NCOMMANDS);
                return near ? cli_arg_error(CLI_NONE, "unknown command '%s'; did you mean '%s'?", a, near)
                            : cli_arg_error(CLI_NONE, "unknown command '%s'", a);
            }
            for (int k = 0; k < nearly; k++)
                if (!takes(early[k]->id, o->command))
                    return not_an_option(o->command, early[k], early_arg[k]);
            continue;
        }
        const OptionSpec *sp = find_option(a, o->command, &v);
        if (!sp)
            return unknown_option(o->command, a);
        if (o->command != CLI_NONE && !takes(sp->id, o->command))
            return not_an_option(o->command, sp, a);
        if (o->command == CLI_NONE) {
            if (nearly == CLI_MAX_FILES)
                return cli_arg_error(CLI_NONE, "%s", "too many options before the command");
            early[nearly] = sp, early_arg[nearly++] = a;
        }
        if (value_follows(sp) && !v) {
            if (i + 1 >= argc)
                return cli_arg_error(o->command, "option '%s' needs a value", a);
            v = argv[++i];
        }
        if (apply(o, sp, a, v))
            return 1;
    }
    return 0;
}

/* ---- help ---- */

/* text, its continuation lines (after each '\n') indented to HELP_COL */
static void print_lines(FILE *f, const char *text) {
    for (const char *p = text; *p; p++) {
        fputc(*p, f);
        if (*p == '\n')
            fprintf(f, "%*s", HELP_COL, "");
    }
}

/* "  LABEL" padded to HELP_COL, or on a line of its own when longer. */
static void print_label(FILE *f, const char *label) {
    int n = fprintf(f, "  %s", label);
    if (n >= HELP_COL)
        fprintf(f, "\n%*s", HELP_COL, "");
    else
        fprintf(f, "%*s", HELP_COL - n, "");
}

static void print_option(FILE *f, const OptionSpec *sp, bool with_commands) {
    char label[96];
    const char *v = sp->value;
    snprintf(label, sizeof label, "%s%s%s%s%s", sp->name, sp->alias ? ", " : "", sp->alias ? sp->alias : "",
             v && value_follows(sp) ? " " : "", v ? v : "");
    print_label(f, label);
    print_lines(f, sp->help);
    if (with_commands) {
        fprintf(f, "\n%*s(", HELP_COL, "");
        if (sp->commands == C_ALL)
            fputs("every command", f);
        else if (!sp->commands)
            fprintf(f, "alone: actc %s", sp->name);
        for (int k = 0, n = 0; sp->commands != C_ALL && k < CLI_NCOMMANDS; k++)
            if (sp->commands & (1u << k))
                fprintf(f, "%s%s", n++ ? ", " : "", commands[k].name);
        fputc(')', f);
    }
    fputc('\n', f);
}

static const char exit_status_text[] =
    "Exit status: 0 success, 1 error in the input or the arguments, 2 internal error.\n";

/* actc --help: every command, every option with the commands that take it. */
static void print_usage(FILE *f) {
    fputs("usage: actc <command> [options] FILE...\n"
          "       actc <command> --help       the options of one command\n\ncommands:\n", f);
    for (int c = 0; c < CLI_NCOMMANDS; c++) {
        print_label(f, commands[c].synopsis);
        print_lines(f, commands[c].summary);
        fputc('\n', f);
    }
    fputs("\noptions (in parentheses: the commands that take each):\n", f);
    for (int i = 0; i < NOPTIONS; i++)
        print_option(f, &options[i], true);
    fprintf(f, "\n%s", exit_status_text);
}

/* "usage: actc SYNOPSIS [options]" in lines of at most 80 columns, broken
 * between words outside brackets, continued under the command. */
static void print_synopsis(FILE *f, const char *synopsis) {
    char text[256];
    snprintf(text, sizeof text, "%s [options]", synopsis);
    int col = fprintf(f, "usage: actc");
    for (const char *p = text; *p;) {
        size_t n = 0;
        for (int depth = 0; p[n] && (p[n] != ' ' || depth > 0); n++)
            depth += (p[n] == '[') - (p[n] == ']');
        if (col + 1 + (int)n > 80) {
            fprintf(f, "\n%*s", 11, "");
            col = 11;
        }
        col += fprintf(f, " %.*s", (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
    fputs("\n\n", f);
}

/* actc COMMAND --help: its synopsis, summary and exactly its options. */
static void print_command_help(FILE *f, CliCommand c) {
    print_synopsis(f, commands[c].synopsis);
    for (const char *p = commands[c].summary; *p; p++)
        fputc(*p, f);
    fputs("\n\noptions:\n", f);
    for (int i = 0; i < NOPTIONS; i++)
        if (options[i].commands & (1u << c))
            print_option(f, &options[i], false);
    fprintf(f, "\n%s", exit_status_text);
}

bool cli_help_asked(int argc, char **argv) {
    bool help = argc >= 2 && strcmp(argv[1], "help") == 0;
    for (int i = 1; !help && i < argc && strcmp(argv[i], "--") != 0; i++)
        help = strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0;
    if (!help)
        return false;
    /* the command: the first word that is neither an option nor its value */
    CliCommand c = CLI_NONE;
    for (int i = 1; i < argc && c == CLI_NONE; i++) {
        const char *v = NULL;
        const OptionSpec *sp = argv[i][0] == '-' ? find_option(argv[i], CLI_NONE, &v) : NULL;
        if (sp && value_follows(sp) && !v)
            i++;
        else if (argv[i][0] != '-' && !(i == 1 && strcmp(argv[i], "help") == 0))
            c = command_of(argv[i]), i = argc;
    }
    if (c == CLI_NONE)
        print_usage(stdout);
    else
        print_command_help(stdout, c);
    return true;
}
