/*
 * front.h — the front end: source text -> AST (grammar/ + parse.c + ast.c)
 * -> checked AST with types and shapes (check_*.c, check.h), driven by one table of
 * builtins (builtins.c).  Consumes base.h; produces the Program that the IR
 * layer lowers.  docs/language.md is the specification; sections are cited
 * as "language.md §N".
 */
#ifndef ACTC_FRONT_H
#define ACTC_FRONT_H

#include "base/base.h"

/* ---- session (session.c): one compilation's memory and diagnostics ---- */

typedef struct Session {
    Arena perm;    /* everything that lives as long as the session */
    Arena scratch; /* reset after every pass (ArenaMark) */
    Diag diag;
} Session;

void session_init(Session *s);
void session_release(Session *s);

/* ---- builtins.c: the one table of builtin functions ---- */

typedef enum {
    BK_PRIM,  /* elementwise primitive: exp, tanh, min, clamp, pow, where, ... */
    BK_ACT,   /* builtin scalar activation (language.md §5) */
    BK_GATE,  /* builtin gated activation (language.md §6) */
    BK_ROW,   /* row-wise op: softmax, log_softmax, layernorm, rmsnorm */
    BK_LAYER, /* dense */
    BK_SPLIT  /* split(t, k) */
} BuiltinKind;

typedef enum { PT_NUM, PT_INT, PT_BOOL, PT_STR } ParamType;

typedef struct BuiltinParam {
    const char *name;
    ParamType type;
    bool required;
    double dflt;       /* PT_NUM / PT_INT / PT_BOOL default */
    const char *sdflt; /* PT_STR default */
} BuiltinParam;

/* Identifiers of builtins; the order is the table's order in builtins.c. */
typedef enum {
#define BI(id, name, kind, nin) BI_##id,
#include "builtins.def"
#undef BI
    BI_COUNT
} BuiltinId;

typedef struct Builtin {
    BuiltinId id;
    const char *name;
    BuiltinKind kind;
    int ninputs;     /* tensor (or, in bodies, elementwise) operands, positional first */
    bool learned;    /* has parameters (weights): a layer of layers.def; needs a layer name */
    int nparams;     /* constant parameters after the inputs */
    BuiltinParam params[4];
} Builtin;

const Builtin *builtin_find(const char *name);
const Builtin *builtin_get(BuiltinId id);
const char *builtin_kind_name(BuiltinKind k);

/* ---- shapes ---- */

/* A tensor shape of rank 1..4 (language.md §3.1).  The first dimension of
 * a model value is the batch (DIM_BATCH); inside a function body the width
 * is not known (DIM_ANY).  Every tensor of the language is [batch, n] today;
 * the rank is here so that rank-3 and rank-4 tensors need no new field. */
enum { SHAPE_MAX_RANK = 4 };
#define DIM_BATCH ((int64_t)-2)
#define DIM_ANY ((int64_t)-1)

typedef struct Shape {
    int rank;
    int64_t dim[SHAPE_MAX_RANK];
} Shape;

/* [batch, n] (n may be DIM_ANY). */
static inline Shape shape_rows(int64_t n) { return (Shape){.rank = 2, .dim = {DIM_BATCH, n}}; }
/* Elements of one batch row of a batch-first shape: the product of the
 * dimensions after the first, DIM_ANY when one of them is not known, 0 for
 * rank 0 (no shape: a port whose type had an error). */
static inline int64_t shape_width(Shape s) {
    if (s.rank == 0)
        return 0;
    int64_t w = 1;
    for (int i = 1; i < s.rank; i++) {
        if (s.dim[i] < 0)
            return DIM_ANY;
        w *= s.dim[i];
    }
    return w;
}

/* ---- layers.c: the layer table (layers.def) ---- */

typedef enum {
#define LAYER(id, bi, name) LAYER_##id,
#include "layers.def"
#undef LAYER
    LAYER_COUNT
} LayerId;

typedef enum { ELEM_F32 } ElemType; /* element type of a learned tensor */

typedef struct LayerTensorSpec {
    const char *suffix; /* the tensor is <layer name>.<suffix> */
    int rank;           /* 1 or 2 today; up to SHAPE_MAX_RANK */
    int dims[SHAPE_MAX_RANK]; /* per dimension: -1 = the operand's features, k = constant parameter k */
    int when;           /* constant parameter that switches it on (bias = true), or -1: always */
    ElemType elem;
} LayerTensorSpec;

typedef struct LayerKind {
    LayerId id;
    BuiltinId builtin;
    const char *name;
    int ntensors;
    LayerTensorSpec tensors[4];
    int result;         /* the result's features: -1 = the operand's, k = constant parameter k */
} LayerKind;

const LayerKind *layer_kind(LayerId id);
const LayerKind *layer_of_builtin(BuiltinId bi); /* NULL: not a layer */
/* Whether tensor t of a layer of kind k exists, and its shape (rank 1 for
 * a vector), for an operand with in_features and the call's constant
 * parameters. */
bool layer_tensor_present(const LayerKind *k, int t, const double *consts);
Shape layer_tensor_shape(const LayerKind *k, int t, int64_t in_features, const double *consts);
int64_t layer_result_features(const LayerKind *k, int64_t in_features, const double *consts);

/* ---- ast.c: the syntax tree (arena-owned, never freed singly) ---- */

typedef enum { EX_NUM, EX_STR, EX_BOOL, EX_NAME, EX_NEG, EX_BIN, EX_CALL, EX_ERROR } ExprKind;

typedef enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_LT, BIN_LE, BIN_GT, BIN_GE, BIN_EQ, BIN_NE }
    BinOp;

typedef struct Expr Expr;
typedef struct Decl Decl;

typedef struct Arg {
    Span span;
    const char *name; /* NULL for a positional argument */
    Span name_span;
    Expr *value;
} Arg;

/* Types (the checker).  Tensors are f32[batch, n] (language.md §4); inside an
 * activation or gate body the operand is elementwise with unknown width
 * (n == -1).  A number is known when its value is a compile-time constant. */
typedef enum { TY_ERROR, TY_NUM, TY_BOOL, TY_STR, TY_COND, TY_TENSOR, TY_TUPLE } TyKind;


typedef struct Type {
    TyKind kind;
    bool known;    /* TY_NUM: value known at compile time */
    bool is_int;   /* TY_NUM: value is an integer */
    bool inexact;  /* TY_NUM: came from an integer division with a remainder */
    double value;  /* TY_NUM */
    Shape shape;   /* TY_TENSOR; TY_COND: its tensor operand's (width DIM_ANY for numbers); TY_TUPLE: each part's */
    int count;     /* TY_TUPLE: number of parts */
    const char *str; /* TY_STR */
} Type;

/* What a call resolved to (check_call.c). */
typedef struct Callee {
    const Builtin *builtin; /* or */
    Decl *user;             /* a user activation or gate */
} Callee;

typedef struct Binding Binding;

struct Expr {
    ExprKind kind;
    Span span;
    int depth;       /* nesting depth, capped (language.md §2.6) */
    /* EX_NUM */
    double num;
    bool num_is_int;
    int64_t ival;
    /* EX_STR, EX_NAME, EX_CALL (callee name; a PyTorch-qualified name such
     * as "F.gelu" keeps its prefix until the checker reports it, habits.c) */
    const char *str;
    bool b; /* EX_BOOL */
    /* EX_BIN, EX_NEG (lhs only) */
    BinOp op;
    Expr *lhs, *rhs;
    /* EX_CALL */
    Span name_span; /* the callee's name */
    Arg *args;
    int nargs, capargs;
    /* filled in by the checker */
    Type type;
    Callee callee;
    Arg **bound;           /* EX_CALL: argument bound to each input then parameter, or NULL */
    double *consts;        /* EX_CALL: value of each constant parameter (builtin order) */
    const char *layer;     /* EX_CALL of a learned builtin: the layer name */
    int first_tensor;      /* EX_CALL of a layer: index of its first tensor in Decl.tensors */
    bool tied;             /* EX_CALL of a layer with shared = true that reuses an earlier call's tensors */
    Binding *ref;          /* EX_NAME in a model: the binding it reads */
    int param_index;       /* EX_NAME in a body: index of the parameter, or -1 */
    const char *const_name;/* EX_NAME naming a const */
    int call_index;        /* EX_CALL in a function body: its index among the body's calls */
    struct Instance *inst; /* EX_CALL of a user function in a model: the instance called */
    Binding **block_results; /* EX_CALL of a block with several outputs: the bindings of its values */
    int nblock_results;
};

typedef struct Param {
    const char *name;
    Span span;
    Expr *dflt; /* NULL: no default (required) */
    Type type;  /* the checker: default's value */
} Param;

typedef struct TypeExpr {
    Span span;
    const char *elem;
    Span elem_span;
    Expr **dims;
    int ndims, capdims;
    /* the checker */
    Shape shape;         /* [DIM_BATCH, features] once checked (rank 0 while not) */
    const char *batch;   /* symbolic batch name, or NULL when constant */
    int64_t batch_value; /* constant batch, when batch == NULL */
} TypeExpr;

typedef struct Port {
    const char *name;
    Span span;
    TypeExpr *type;
} Port;

typedef struct Name {
    const char *name;
    Span span;
} Name;

typedef enum { ST_ASSIGN, ST_RETURN, ST_FOR } StmtKind;

/* The block calls a statement was elaborated from (check_block.c),
 * innermost first, ending at the call in the model. */
typedef struct CallChain {
    Span call;
    const char *block;           /* the block called */
    const struct CallChain *up;
} CallChain;

typedef struct Stmt Stmt;
struct Stmt {
    StmtKind kind;
    Span span;
    Name *targets; /* ST_ASSIGN */
    int ntargets, captargets;
    Expr **values; /* ST_ASSIGN: one; ST_RETURN: one per output */
    int nvalues, capvalues;
    bool replaced; /* the checker: elaborated into other statements (a block's several outputs) */
    const CallChain *calls; /* the checker: the block calls it comes from, or NULL */
    /* ST_FOR: for var in lo .. hi { body } (language.md §3.6) */
    Name var;
    Expr *lo, *hi;
    Stmt **body;
    int nbody;
};

/* A value bound in a model: an input, or a target of an assignment. */
struct Binding {
    const char *name;
    Span span;
    Shape shape;   /* of its value: [DIM_BATCH, features] */
    bool is_input;
    bool error;    /* its value had an error: uses stay silent */
    int index;     /* input index, or the part of a tuple assignment */
    Stmt *stmt;    /* the defining statement for assignments */
    int uses;
    int index_in_model; /* position in Decl.bindings */
};

/* A learned tensor the model reads from the weights (language.md §7). */
typedef struct ParamTensor {
    const char *name; /* e.g. "layers.0.mlp.gate_proj.weight" */
    const char *layer;/* the layer it belongs to, e.g. "layers.0.mlp.gate_proj" */
    ElemType elem;
    Shape shape;      /* [rows, cols] for a matrix, [n] for a vector */
    Span span;        /* the call that declared it */
    const char *kind; /* the layer kind that declared it ("dense") */
    int uses;         /* calls that read it: 1, more for a shared layer (language.md §7.5) */
} ParamTensor;

typedef enum { DECL_CONST, DECL_ACT, DECL_GATE, DECL_MODEL, DECL_BLOCK } DeclKind;

struct Decl {
    DeclKind kind;
    Span span;
    const char *name;
    Span name_span;
    Expr *value; /* const value; activation / gate body */
    Param *params;
    int nparams, capparams;
    Port *inputs, *outputs;
    int ninputs, capinputs, noutputs, capoutputs;
    bool outputs_named;
    Span outputs_span;
    Stmt **stmts;
    int nstmts, capstmts;
    Stmt **flat;         /* DECL_MODEL, the checker: the statements with every loop elaborated */
    int nflat, capflat;
    /* the checker */
    Type const_value;    /* DECL_CONST */
    bool checked, ok;
    int ninputs_elem;    /* DECL_ACT: 1, DECL_GATE: 2 — elementwise operands */
    Binding **bindings;  /* DECL_MODEL: all bindings, inputs first */
    int nbindings, capbindings;
    Expr **returns;      /* DECL_MODEL: the returned expressions, one per output */
    ParamTensor *tensors;
    int ntensors, captensors;
    const char *batch_name; /* symbolic batch name, or NULL */
    int64_t batch_value;    /* constant batch when batch_name == NULL */
    int ncalls;             /* DECL_ACT / DECL_GATE: calls in the body (Expr.call_index) */
    struct Instance **instances; /* DECL_ACT / DECL_GATE: instances made so far (check_instance.c) */
    int ninstances, capinstances;
};

/* A user activation or gate at one set of values of its constant parameters
 * (language.md §3.5), made once by the checker for every distinct set of
 * values it is called with, and lowered once (lower.c). */
typedef struct InstanceError {
    const char *message; /* reported at every model call that reaches this instance */
    Span blame;          /* the argument in the body */
    const char *func;    /* the function whose body holds it */
} InstanceError;

typedef struct Instance {
    Decl *func;
    const double *consts;       /* values of its constant parameters */
    const double **call_consts; /* per call of the body (Expr.call_index): its constant parameters here */
    struct Instance **calls;    /* per call of the body: the instance of a user callee, else NULL */
    InstanceError *errors;      /* parameter rules broken here or in a callee */
    int nerrors, caperrors;
} Instance;

typedef struct Program {
    Decl **decls;
    int ndecls, capdecls;
    uint32_t file;
    int nrepaired; /* errors of the parse whose fix was certain and applied (habits.c) */
} Program;

/* Parser state shared by the grammar actions (grammar/parser.y). */
typedef struct Parser {
    Session *s;
    Program *prog;
    uint32_t file;
    const Source *src;
    int nsyntax;       /* syntax errors so far */
    int nrepaired;     /* errors whose certain fix was applied: the tree is as meant */
    int depth;         /* bracket depth, maintained by the lexer */
    uint32_t open_at[64]; /* offsets of the innermost open '(' / '[' (depth <= 64) */
    uint32_t brace_at[8]; /* offsets of the innermost open '{' */
    bool lex_error;    /* a lexical error in the current statement: mute syntax errors */
    uint32_t offset;   /* running byte offset, maintained by the lexer */
    int braces;        /* brace depth, maintained by the lexer */
    bool at_line_start;/* last token emitted was a newline (or none yet) */
    bool at_stmt_start;/* a declaration may start here */
    int for_state;     /* 1: after 'for', 2: after 'for NAME' (where 'in' is a keyword) */
    bool eof_nl_sent;
} Parser;

enum { EXPR_MAX_DEPTH = 1000 };

Expr *ast_num(Parser *p, Span sp, const char *text, size_t len);
Expr *ast_str(Parser *p, Span sp, const char *text, size_t len);
Expr *ast_bool(Parser *p, Span sp, bool b);
Expr *ast_name(Parser *p, Span sp, const char *name);
Expr *ast_neg(Parser *p, Span sp, Expr *e);
Expr *ast_bin(Parser *p, Span sp, BinOp op, Expr *l, Expr *r);
Expr *ast_call(Parser *p, Span sp, Name callee, Expr *args);
Expr *ast_args_new(Parser *p);
Expr *ast_args_add(Parser *p, Expr *list, Span sp, Name *name, Expr *value);
Name ast_ident(Parser *p, Span sp, const char *text, size_t len);

Decl *ast_const(Parser *p, Span sp, Name name, Expr *value);
Decl *ast_func(Parser *p, Span sp, DeclKind kind, Name name, Decl *params, Expr *body);
Decl *ast_params_new(Parser *p);
Decl *ast_params_add(Parser *p, Decl *list, Name name, Expr *dflt);
Decl *ast_model(Parser *p, Span sp, Name name, Decl *ports, Decl *outs, Decl *body);
Decl *ast_block(Parser *p, Span sp, Name name, Decl *params, Decl *outs, Decl *body);
Decl *ast_ports_new(Parser *p);
Decl *ast_ports_add(Parser *p, Decl *list, Name name, TypeExpr *t);
Decl *ast_outputs_single(Parser *p, Span sp, TypeExpr *t);
Decl *ast_outputs_named(Parser *p, Span sp, Decl *ports);
TypeExpr *ast_type(Parser *p, Span sp, Name elem, TypeExpr *dims);
TypeExpr *ast_dims_new(Parser *p);
TypeExpr *ast_dims_add(Parser *p, TypeExpr *list, Expr *e);
Decl *ast_body_new(Parser *p);
Decl *ast_body_add(Parser *p, Decl *body, Stmt *st);
Stmt *ast_assign(Parser *p, Span sp, Stmt *targets, Expr *value);
Stmt *ast_targets_new(Parser *p, Name n);
Stmt *ast_targets_add(Parser *p, Stmt *list, Name n);
Stmt *ast_return(Parser *p, Span sp, Stmt *values);
Stmt *ast_for(Parser *p, Span sp, Name var, Expr *lo, Expr *hi, Decl *body);
Stmt *ast_values_new(Parser *p, Expr *e);
Stmt *ast_values_add(Parser *p, Stmt *list, Expr *e);
void ast_program_add(Parser *p, Decl *d);

const char *binop_str(BinOp op);
/* Print the AST (actc dump --ast; golden tests). */
const char *ast_dump(Session *s, const Program *prog);

/* ---- parse.c: the glue to the generated scanner and parser ---- */

/* Parse one source; syntax errors go to s->diag.  Never NULL. */
Program *parse_source(Session *s, Source *src);
/* Whether the checker may run on prog: the parse reported no error, or only
 * errors it repaired (language.md §10), so the tree is the program meant.
 * The run still fails; the checker's errors are reported with them. */
bool parse_checkable(const Session *s, const Program *prog);
/* The token stream, one "LINE:COL kind [text]" per line (actc dump --tokens). */
const char *lex_dump(Session *s, Source *src);

/* ---- habits.c: PyTorch habits and what to write instead (language.md §10) ---- */

/* A name written with a PyTorch prefix (F.gelu, torch.sigmoid, nn.Linear):
 * the scanner's qualified-name token.  No actc identifier has a dot. */
bool habit_is_qualified(const char *name);
/* The name after the prefix: "gelu" for "F.gelu". */
const char *habit_base_name(const char *name);
/* Report the qualified name of e (EX_CALL or EX_NAME).  `known`: the name
 * after the prefix is a builtin or a function of the file; `hint`: else the
 * nearest one, or NULL.  True when the fix is certain (drop the prefix):
 * e->str (and an EX_CALL's name_span) are then the plain name, and checking
 * goes on as if it had been written so. */
bool habit_qualified(Session *s, Expr *e, bool known, const char *hint);
/* e, a name that is not declared, is Python's True or False: reported with
 * the fix-it 'true' / 'false'; returns the boolean meant, with which the
 * caller goes on (certain), or -1 when e is neither. */
int habit_bool(Session *s, const Expr *e);
/* e, a name that is not declared, is Python's None: reported, with what to
 * write for parameter p when it is the argument of one (NULL: elsewhere).
 * False when e is not None. */
bool habit_none(Session *s, const Expr *e, const BuiltinParam *p);
/* The scanner saw 'text' (len bytes, quotes included): reported with the
 * fix-it "text"; returns that double-quoted string token (certain: it
 * counts in Parser.nrepaired). */
Name habit_single_quoted(Parser *p, Span sp, const char *text, size_t len);
/* The grammar saw `base ** exponent` (the operator at op): reported, and
 * parsed on as pow(base, exponent) so that the rest of the file is parsed;
 * not repaired, so the checker does not run. */
Expr *habit_power(Parser *p, Span sp, Span op, Expr *base, Expr *exponent);

/* ---- consteval.c: the one constant evaluator ---- */

typedef enum { CE_OK, CE_DIV_ZERO, CE_INT_OVERFLOW, CE_OVERFLOW } ConstStatus;

/* a op b (+ - * /) for known numbers with the language's rules; *out holds
 * the IEEE result even when the status is an error. */
ConstStatus const_arith(BinOp op, Type a, Type b, Type *out);
/* A checked number expression built only from numbers, constants,
 * parameters and + - * / (what const_eval can evaluate). */
bool const_expr_plain(const Expr *e);
/* Value of checked constant expression e inside function f whose constant
 * parameters have the values `consts` (f NULL: no parameters).  False if e
 * is not a plain constant expression. */
bool const_eval(const Expr *e, const Decl *f, const double *consts, double *out);

/* ---- scope.c: the scope chain ---- */

typedef enum { SYM_DECL, SYM_PARAM, SYM_BINDING } SymbolKind;

typedef struct Symbol {
    const char *name;
    SymbolKind kind;
    Decl *decl;       /* SYM_DECL: a constant, function or model of the file */
    int param;        /* SYM_PARAM: index in the function's parameters */
    Binding *binding; /* SYM_BINDING: a model's input or assigned value */
} Symbol;

typedef struct Scope {
    struct Scope *up;   /* the enclosing scope; NULL for the file's */
    Decl *owner;        /* the function or model of this scope; NULL for the file */
    const char *prefix; /* layer names given here become PREFIX.NAME; NULL: none */
    Symbol *syms;       /* in binding order */
    int nsyms, capsyms;
    int *slots;         /* scope.c's index: symbol index + 1 by name hash, 0 empty */
    int nslots;         /* a power of two, > 2 * nsyms */
} Scope;

void scope_add(Arena *a, Scope *s, Symbol sym);
/* The first symbol called `name` in s itself, or NULL. */
const Symbol *scope_lookup_here(const Scope *s, const char *name);
/* The innermost symbol called `name` in s or around it, or NULL. */
const Symbol *scope_lookup(const Scope *s, const char *name);
/* The outermost scope (the file's). */
const Scope *scope_file(const Scope *s);
/* Make the innermost symbol `name` of s's chain, a binding, name b instead
 * (a loop-carried reassignment, language.md §3.6); false if there is none. */
bool scope_rebind(Scope *s, const char *name, Binding *b);
/* Layer `name` given inside s, with the innermost prefix around it. */
const char *scope_layer_name(Arena *a, const Scope *s, const char *name);

/* ---- the checker (check_*.c): names, arity, constants, shapes, layer names ---- */

/* Check the whole program; errors go to s->diag.  Returns true if clean. */
bool check_program(Session *s, Program *prog);
/* The model named `name`, or the only model when name is NULL. */
Decl *program_find_model(const Program *prog, const char *name);

#endif
