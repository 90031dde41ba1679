/*
 * check.h — the checker's internal interface (docs/language.md §3–§8), shared
 * by its files, one per seam:
 *   check_decl.c      declarations, models, statements, check_program()
 *   check_expr.c      names (through scope.c) and expressions, type strings
 *   check_call.c      calls: callee, argument binding, constant arguments
 *   check_rules.c     per-builtin rules: layers and their tensors, result
 *                     types, PyTorch's parameter rules
 *   check_instance.c  instances of user functions (§3.5)
 * Only front.h's check_program() and program_find_model() are seen outside.
 */
#ifndef ACTC_CHECK_H
#define ACTC_CHECK_H

#include "front.h"

/* Where an expression is checked. */
typedef struct Env {
    Scope *scope;      /* names visible here (scope.c) */
    Decl *func;        /* activation or gate whose body is checked, or NULL */
    Decl *model;       /* model whose statements are checked, or NULL */
    const Expr *outer; /* the outermost call of `v = call(...)`: it may be named v */
    const char *outer_name;
} Env;

/* A loop whose body is being checked (check_loop.c): one iteration. */
typedef struct Loop {
    struct Loop *up;        /* the enclosing loop, or NULL */
    const Stmt *st;         /* the ST_FOR */
    int64_t iterations;     /* of this loop */
    const char **carried;   /* names bound before the loop and reassigned in this iteration */
    Span *carried_at;
    int ncarried, capcarried, capcarried_at;
} Loop;

/* A block call being elaborated (check_block.c). */
typedef struct BlockCall {
    struct BlockCall *up;  /* the call it is elaborated in, or NULL */
    Decl *blk;
    Span call;
    Scope *scope;          /* the block's scope for this call */
    const char *inst;      /* the call's name (the prefix of its layers), or NULL */
    const CallChain *chain; /* this call and those it is elaborated in */
    Binding **results;     /* set by its return */
    int nresults;
} BlockCall;

typedef struct Checker {
    Session *s;
    Diag *d;
    Program *prog;
    Scope file;         /* the declarations checked so far */
    int cur;            /* index of the declaration being checked */
    const char **early; /* names used before their definition (already reported) */
    int nearly, capearly;
    Loop *loop;         /* the innermost loop being elaborated, or NULL */
    BlockCall *blocks;  /* the innermost block call being elaborated, or NULL */
    int64_t elaborated; /* statements of the model being checked, loops elaborated */
} Checker;

/* The most statements a model may elaborate to (loops unrolled). */
enum { MAX_ELABORATED = 1 << 16 };

static const Type ty_error = {.kind = TY_ERROR};

/* Largest feature dimension; keeps every size product far from overflow. */
enum { MAX_DIM = 1 << 30 };
/* Largest weight matrix (elements): 64 GiB of f32. */
#define MAX_WEIGHTS ((int64_t)1 << 34)

static inline Type ty_num(double v, bool is_int) {
    return (Type){.kind = TY_NUM, .known = true, .is_int = is_int, .value = v};
}
/* A tensor [batch, n]; n = DIM_ANY inside a body. */
static inline Type ty_tensor(int64_t n) { return (Type){.kind = TY_TENSOR, .shape = shape_rows(n)}; }
/* Elements per row of a tensor type (DIM_ANY: not known, inside a body). */
static inline int64_t ty_width(Type t) { return shape_width(t.shape); }

/* A uniform view of a callee's signature (check_call.c). */
typedef struct Sig {
    const char *name;
    int ninputs, nparams;
    const char *pnames[8];
    bool required[8];
    const Builtin *bi;
    Decl *user;
} Sig;

/* Closest-name search for "did you mean" hints. */
typedef struct Suggest {
    const char *best;
    int dist;
    const char *target;
} Suggest;

/* check_expr.c */
const char *ty_str(Checker *c, const Env *env, Type t);
Decl *lookup_decl(Checker *c, const char *name);
Decl *find_in_program(Checker *c, const char *name);
Binding *lookup_binding(const Env *env, const char *name);
int lookup_param(const Env *env, const char *name);
void suggest(Suggest *sg, const char *cand);
const char *suggest_name(const Env *env, const char *target, bool want_values);
Type check_expr(Checker *c, Env *env, Expr *e);
Type broadcast(Checker *c, Env *env, Span sp, const char *what, Type a, Type b);
bool arith_operand(Checker *c, Env *env, const Expr *e, Type t, const char *op);
/* Notes on dg at the places that set the widths of tensor operands a and b
 * (types ta, tb): "width 256 set here", as clang's "declared here". */
void note_width_origins(Checker *c, const Env *env, Diagnostic *dg, const Expr *a, Type ta, const Expr *b, Type tb);

/* check_call.c */
Type check_call(Checker *c, Env *env, Expr *e);
const char *sig_str(Checker *c, const Sig *s);

/* check_rules.c */
bool name_layer(Checker *c, Env *env, Expr *e, const Sig *sig);
Type builtin_result(Checker *c, Env *env, Expr *e, const Builtin *b, Type *in, int nin);
const char *param_rule(Checker *c, const Builtin *b, const double *vals, const Expr *e, int *blame, int *other);
Span param_span(const Expr *e, const Builtin *b, int j);
bool check_param_values(Checker *c, Expr *e, const Builtin *b);

/* check_decl.c */
/* A port type's form: f32 and two dimensions (reported: false). */
bool check_tensor_form(Checker *c, const TypeExpr *t);
/* Check statements in scope s (a model's, or one iteration's), appending
 * each checked statement, loops elaborated, to the model's flat list. */
void check_stmts(Checker *c, Scope *s, Stmt *const *stmts, int n, bool *returned);

/* check_loop.c */
void check_for(Checker *c, Scope *s, Stmt *st);
Stmt *clone_stmt(Checker *c, const Stmt *st);
/* A layer name given as "..." (str, a checked EX_STR): its {expr}
 * templates evaluated, and inside a loop the rule that the name differs per
 * iteration (unless shared: one layer in every iteration); NULL after an
 * error (reported). */
const char *layer_name_string(Checker *c, Env *env, const Expr *str, bool shared);

/* check_block.c */
void check_block_decl(Checker *c, Decl *b);
Type check_block_call(Checker *c, Env *env, Expr *e, Decl *b);
void check_block_return(Checker *c, Scope *s, Stmt *st);
/* A hidden binding of model m for value e: `name = e` joins the flat list. */
Binding *hoist(Checker *c, Decl *m, const char *name, Expr *e, Shape shape);

/* check_instance.c */
void instance_at(Checker *c, Expr *e, Decl *f);

#endif
