/*
 * builtins.c — the one table of builtin functions.  check.c uses it for
 * arity, named arguments and defaults; the IR layer maps BuiltinId to
 * opcodes.  Parameter names and defaults follow torch.nn.functional
 * (language.md §5), so PyTorch code reads across unchanged.
 */
#include <pthread.h>
#include <string.h>

#include "front.h"

#define NUM(n, d) {n, PT_NUM, false, d, NULL}
#define INT(n, d) {n, PT_INT, false, d, NULL}
#define REQ_INT(n) {n, PT_INT, true, 0, NULL}
#define REQ_NUM(n) {n, PT_NUM, true, 0, NULL}
#define BOOL(n, d) {n, PT_BOOL, false, d, NULL}
#define STR(n, d) {n, PT_STR, false, 0, d}
#define NAME_PARAM {"name", PT_STR, false, 0, NULL}
/* language.md §7.5: reuse the weights of the layer of the same name */
#define SHARED_PARAM BOOL("shared", 0)

/* Parameters per builtin, by id; entries not listed have none. */
static const struct {
    BuiltinId id;
    int n;
    BuiltinParam p[4];
} param_table[] = {
    {BI_CLAMP, 2, {REQ_NUM("min"), REQ_NUM("max")}},
    {BI_POW, 1, {REQ_NUM("exponent")}},
    {BI_LEAKY_RELU, 1, {NUM("negative_slope", 0.01)}},
    {BI_PRELU, 3, {INT("num_parameters", 1), NAME_PARAM, SHARED_PARAM}},
    {BI_ELU, 1, {NUM("alpha", 1.0)}},
    {BI_CELU, 1, {NUM("alpha", 1.0)}},
    {BI_GELU, 1, {STR("approximate", "none")}},
    {BI_SWISH, 1, {NUM("beta", 1.0)}},
    {BI_SOFTPLUS, 2, {NUM("beta", 1.0), NUM("threshold", 20.0)}},
    {BI_HARDTANH, 2, {NUM("min_val", -1.0), NUM("max_val", 1.0)}},
    {BI_SOFTSHRINK, 1, {NUM("lambd", 0.5)}},
    {BI_HARDSHRINK, 1, {NUM("lambd", 0.5)}},
    {BI_LAYERNORM, 4, {NUM("eps", 1e-5), BOOL("bias", 1), NAME_PARAM, SHARED_PARAM}},
    /* PyTorch's nn.RMSNorm eps=None means finfo(float32).eps */
    {BI_RMSNORM, 3, {NUM("eps", 1.1920928955078125e-07), NAME_PARAM, SHARED_PARAM}},
    {BI_DENSE, 4, {REQ_INT("units"), BOOL("bias", 1), NAME_PARAM, SHARED_PARAM}},
    {BI_BATCHNORM, 3, {NUM("eps", 1e-5), NAME_PARAM, SHARED_PARAM}}, /* nn.BatchNorm1d in eval mode */
    {BI_AFFINE, 2, {NAME_PARAM, SHARED_PARAM}},
    {BI_SPLIT, 1, {REQ_INT("sections")}},
};

static Builtin table[BI_COUNT];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
    static const struct {
        const char *name;
        BuiltinKind kind;
        int nin;
    } base[] = {
#define BI(id, name, kind, nin) {name, kind, nin},
#include "builtins.def"
#undef BI
    };
    for (int i = 0; i < BI_COUNT; i++) {
        Builtin *b = &table[i];
        b->id = (BuiltinId)i;
        b->name = base[i].name;
        b->kind = base[i].kind;
        b->ninputs = base[i].nin;
        b->learned = layer_of_builtin((BuiltinId)i) != NULL; /* the layer table owns it */
    }
    for (size_t i = 0; i < ARRAY_LEN(param_table); i++) {
        Builtin *b = &table[param_table[i].id];
        b->nparams = param_table[i].n;
        memcpy(b->params, param_table[i].p, sizeof b->params);
    }
}

static void ensure_table(void) { pthread_once(&table_once, build_table); }

const Builtin *builtin_get(BuiltinId id) {
    ensure_table();
    return (unsigned)id < BI_COUNT ? &table[id] : NULL;
}

const Builtin *builtin_find(const char *name) {
    ensure_table();
    for (int i = 0; i < BI_COUNT; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const char *builtin_kind_name(BuiltinKind k) {
    switch (k) {
    case BK_PRIM: return "primitive";
    case BK_ACT: return "activation";
    case BK_GATE: return "gate";
    case BK_ROW: return "row-wise op";
    case BK_LAYER: return "layer";
    case BK_SPLIT: return "function";
    }
    return "builtin";
}
