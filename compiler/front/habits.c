/*
 * habits.c — PyTorch habits and what to write in actc instead
 * (docs/language.md §10, "Coming from PyTorch").  The one place that knows
 * PyTorch's spellings: qualified names (F.gelu, torch.sigmoid, nn.Linear),
 * Python's True, False and None, single-quoted strings and '**'.
 * The scanner and the checker call in here.  Each habit is one error at
 * the habit's own span; where the fix is certain the caller goes on as if
 * the actc spelling had been written, so one run reports every error and
 * none of them follows from the habit.
 */
#include <ctype.h>
#include <string.h>

#include "front.h"

/* ---- qualified names: F.gelu, torch.sigmoid, nn.Linear ---- */

typedef enum { NS_FUNCTIONAL, NS_TORCH, NS_MODULES } Namespace;

/* The PyTorch namespaces the scanner accepts before a name (lexer.l QUAL),
 * longest first. */
static const struct {
    const char *prefix;
    Namespace ns;
} prefixes[] = {
    {"torch.nn.functional.", NS_FUNCTIONAL}, {"nn.functional.", NS_FUNCTIONAL}, {"torch.nn.", NS_MODULES},
    {"torch.", NS_TORCH},                    {"nn.", NS_MODULES},               {"F.", NS_FUNCTIONAL},
};

/* PyTorch names that are not the lower-case actc name: what they are
 * called here (BI_COUNT: nothing in actc does what they do). */
static const struct {
    const char *torch;
    BuiltinId bi;
    const char *usage; /* when the builtin's own signature would mislead */
} renamed[] = {
    {"Linear", BI_DENSE, NULL},          {"LazyLinear", BI_DENSE, NULL},      {"linear", BI_DENSE, NULL},
    {"BatchNorm1d", BI_BATCHNORM, NULL}, {"batch_norm", BI_BATCHNORM, NULL},  {"layer_norm", BI_LAYERNORM, NULL},
    {"rms_norm", BI_RMSNORM, NULL},      {"LeakyReLU", BI_LEAKY_RELU, NULL},  {"LogSoftmax", BI_LOG_SOFTMAX, NULL},
    {"GLU", BI_GLU, "glu(t)"},           {"chunk", BI_SPLIT, NULL},           {"minimum", BI_MIN, NULL},
    {"maximum", BI_MAX, NULL},           {"clip", BI_CLAMP, NULL},
    /* Hugging Face's names of the tanh approximation (ACT2FN) */
    {"gelu_new", BI_GELU_TANH, NULL},    {"gelu_pytorch_tanh", BI_GELU_TANH, NULL},
    /* nn.Bilinear is a learned x1ᵀ·A·x2, not the gate bilinear(a, b) */
    {"Bilinear", BI_COUNT, NULL},
};

bool habit_is_qualified(const char *name) { return strchr(name, '.') != NULL; }

const char *habit_base_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

/* How builtin b is called, as the signature reads in language.md:
 * dense(x, units, name = ...), gelu(x), swiglu(a, b). */
static const char *usage(Arena *a, const Builtin *b) {
    StrBuf sb;
    sb_init(&sb, a);
    sb_printf(&sb, "%s(", b->name);
    if (b->kind == BK_GATE)
        sb_puts(&sb, "a, b");
    else if (b->id == BI_WHERE)
        sb_puts(&sb, "cond, a, b");
    else
        sb_puts(&sb, b->ninputs == 2 ? "x, y" : "x");
    for (int i = 0; i < b->nparams; i++)
        if (b->params[i].required)
            sb_printf(&sb, ", %s", b->params[i].name);
    if (b->learned)
        sb_puts(&sb, ", name = ...");
    sb_putc(&sb, ')');
    return sb_str(&sb);
}

/* What PyTorch's `base` is in actc: its usage, or NULL when there is no
 * such builtin. */
static const char *actc_spelling(Arena *a, const char *base) {
    for (size_t i = 0; i < ARRAY_LEN(renamed); i++)
        if (strcmp(renamed[i].torch, base) == 0) {
            if (renamed[i].bi == BI_COUNT)
                return NULL;
            return renamed[i].usage ? renamed[i].usage : usage(a, builtin_get(renamed[i].bi));
        }
    char lower[64];
    size_t n = strlen(base);
    if (n >= sizeof lower)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)tolower((unsigned char)base[i]);
    const Builtin *b = builtin_find(lower);
    return b ? usage(a, b) : NULL;
}

/* The longest builtin name that `base` extends by '_' or a digit (gelu for
 * gelu_10), or NULL: a hint where edit distance finds none. */
static const char *builtin_stem(const char *base) {
    const char *best = NULL;
    for (int i = 0; i < BI_COUNT; i++) {
        const char *n = builtin_get((BuiltinId)i)->name;
        size_t len = strlen(n);
        if (strncmp(base, n, len) == 0 && (base[len] == '_' || isdigit((unsigned char)base[len])) &&
            (!best || len > strlen(best)))
            best = n;
    }
    return best;
}

/* "dense, prelu, ... and affine": the layer table's names. */
static const char *layer_list(Arena *a) {
    StrBuf sb;
    sb_init(&sb, a);
    for (int i = 0; i < LAYER_COUNT; i++)
        sb_printf(&sb, "%s%s", i == 0 ? "" : i == LAYER_COUNT - 1 ? " and " : ", ", layer_kind((LayerId)i)->name);
    return sb_str(&sb);
}

/* A module (nn.Linear, torch.nn.GELU): never a certain fix, the
 * constructor's arguments are not the layer's. */
static void module_error(Session *s, Span sp, const char *name, const char *base) {
    Arena *a = &s->perm;
    const char *write = actc_spelling(a, base);
    if (strncmp(base, "Dropout", 7) == 0 || strcmp(base, "AlphaDropout") == 0)
        diag_error(&s->diag, sp, "'%s' does nothing at inference; leave it out", name);
    else if (strcmp(base, "Sequential") == 0)
        diag_error(&s->diag, sp, "'%s' has no actc equivalent; write its layers one statement each", name);
    else if (write)
        diag_error(&s->diag, sp, "'%s' is a PyTorch module; write %s", name, write);
    else
        diag_error(&s->diag, sp, "'%s' is a PyTorch module with no actc equivalent; actc's layers are %s", name,
                   layer_list(a));
}

bool habit_qualified(Session *s, Expr *e, bool known, const char *hint) {
    const char *name = e->str, *base = habit_base_name(name);
    size_t plen = (size_t)(base - name);
    Namespace ns = NS_FUNCTIONAL;
    for (size_t i = 0; i < ARRAY_LEN(prefixes); i++)
        if (strlen(prefixes[i].prefix) == plen && strncmp(prefixes[i].prefix, name, plen) == 0) {
            ns = prefixes[i].ns;
            break;
        }
    Span full = e->kind == EX_CALL ? e->name_span : e->span;
    if (ns == NS_MODULES && isupper((unsigned char)base[0])) {
        module_error(s, full, name, base);
        return false;
    }
    const Builtin *bi = builtin_find(base);
    if (known && e->kind == EX_NAME && bi) { /* F.relu not called: one error, not two */
        diag_error(&s->diag, full, "'%s' is a builtin %s; call it as %s(...)", name, builtin_kind_name(bi->kind),
                   base);
        return false;
    }
    if (known) { /* certain: drop the prefix and go on */
        Span prefix = {full.file, full.start, full.start + (uint32_t)plen};
        Diagnostic *dg = diag_error(&s->diag, prefix, "'%s': write '%s'; actc uses %s names without a prefix", name,
                                    base, ns == NS_TORCH ? "torch's" : "torch.nn.functional's");
        diag_fixit(&s->diag, dg, prefix, "");
        e->str = base;
        if (e->kind == EX_CALL)
            e->name_span.start = prefix.end;
        return true;
    }
    const char *write = actc_spelling(&s->perm, base);
    if (!hint)
        hint = builtin_stem(base);
    if (strncmp(base, "dropout", 7) == 0)
        diag_error(&s->diag, full, "'%s' does nothing at inference; leave it out", name);
    else if (write)
        diag_error(&s->diag, full, "'%s' is called %.*s in actc: write %s", name, (int)strcspn(write, "("), write,
                   write);
    else if (hint)
        diag_error(&s->diag, full, "'%s': '%s' is not an actc builtin; did you mean '%s'?", name, base, hint);
    else
        diag_error(&s->diag, full, "'%s': '%s' is not an actc builtin", name, base);
    return false;
}

/* ---- Python's constants: True, False, None ---- */

int habit_bool(Session *s, const Expr *e) {
    if (e->kind != EX_NAME || (strcmp(e->str, "True") != 0 && strcmp(e->str, "False") != 0))
        return -1;
    const char *word = e->str[0] == 'T' ? "true" : "false";
    Diagnostic *dg = diag_error(&s->diag, e->span, "use of undeclared identifier '%s'; did you mean '%s'?", e->str,
                                word);
    diag_fixit(&s->diag, dg, e->span, word);
    return e->str[0] == 'T';
}

bool habit_none(Session *s, const Expr *e, const BuiltinParam *p) {
    if (e->kind != EX_NAME || strcmp(e->str, "None") != 0)
        return false;
    const char *no = "use of undeclared identifier 'None'; actc has no None";
    Diag *d = &s->diag;
    if (!p)
        diag_error(d, e->span, "%s", no);
    else if (p->type == PT_BOOL) /* F.linear(x, w, bias=None): no bias */
        diag_error(d, e->span, "%s: write '%s = false'", no, p->name);
    else if (strcmp(p->name, "name") == 0)
        diag_error(d, e->span, "%s: write name = \"...\", or omit it in 'v = layer(...)' to name the layer v", no);
    else if (p->required)
        diag_error(d, e->span, "%s; '%s' needs a value", no, p->name);
    else if (p->type == PT_STR)
        diag_error(d, e->span, "%s: omit '%s' for its default, \"%s\"", no, p->name, p->sdflt ? p->sdflt : "");
    else /* nn.RMSNorm(eps=None) is actc's default eps */
        diag_error(d, e->span, "%s: omit '%s' for its default, %g", no, p->name, p->dflt);
    return true;
}

/* ---- Python's single-quoted strings ---- */

Name habit_single_quoted(Parser *p, Span sp, const char *text, size_t len) {
    /* 'it\'s "x"' is "it's \"x\"": the same string in double quotes */
    StrBuf sb;
    sb_init(&sb, &p->s->perm);
    sb_putc(&sb, '"');
    for (size_t i = 1; i + 1 < len; i++) {
        if (text[i] == '\\' && text[i + 1] == '\'' && i + 2 < len)
            continue; /* \' needs no escape between double quotes */
        if (text[i] == '"')
            sb_putc(&sb, '\\');
        sb_putc(&sb, text[i]);
        if (text[i] == '\\')
            sb_putc(&sb, text[++i]);
    }
    sb_putc(&sb, '"');
    const char *dq = sb_str(&sb);
    Diagnostic *dg = strlen(dq) <= 60
                         ? diag_error(&p->s->diag, sp, "strings use double quotes: write %s", dq)
                         : diag_error(&p->s->diag, sp, "strings use double quotes");
    diag_fixit(&p->s->diag, dg, sp, dq);
    if (dg)
        p->nrepaired++; /* certain: the parser goes on with the string meant */
    return (Name){dq, sp};
}

/* ---- Python's power operator ---- */

/* The source text of operand e as actc spells it (PyTorch prefixes left
 * out) when it is short, on one line and has no '**' itself, else `dflt`. */
static const char *short_text(Parser *p, const Expr *e, const char *dflt) {
    uint32_t n = e->span.end - e->span.start;
    const char *t = p->src->text + e->span.start;
    if (n == 0 || n > 30 || memchr(t, '\n', n))
        return dflt;
    StrBuf sb;
    sb_init(&sb, &p->s->perm);
    for (uint32_t i = 0; i < n; i++) {
        if (t[i] == '*' && i + 1 < n && t[i + 1] == '*')
            return dflt;
        bool at_name = i == 0 || !(isalnum((unsigned char)t[i - 1]) || t[i - 1] == '_' || t[i - 1] == '.');
        for (size_t k = 0; at_name && k < ARRAY_LEN(prefixes); k++) {
            size_t len = strlen(prefixes[k].prefix);
            if (i + len < n && strncmp(t + i, prefixes[k].prefix, len) == 0) {
                i += (uint32_t)len;
                break;
            }
        }
        sb_putc(&sb, t[i]);
    }
    return sb_str(&sb);
}

Expr *habit_power(Parser *p, Span sp, Span op, Expr *base, Expr *exponent) {
    /* not repaired: pow's exponent is a constant, and a call is never one
     * (language.md §4.4), so pow(x, c) is not always what x ** c meant */
    diag_error(&p->s->diag, op, "Python's '**' is not an actc operator; write pow(%s, %s)",
               short_text(p, base, "x"), short_text(p, exponent, "exponent"));
    Expr *args = ast_args_add(p, ast_args_new(p), base->span, NULL, base);
    args = ast_args_add(p, args, exponent->span, NULL, exponent);
    return ast_call(p, sp, (Name){"pow", op}, args);
}
