/*
 * ir.h — the graph IR layer (docs/ir.md).  Consumes the checked AST of the
 * front end; produces
 *   - a Graph per model: a DAG of Nodes in topological order (lower.c),
 *     rewritten in place by the passes listed in passes.c;
 *   - a KGraph: the kernel graph that code generation consumes, where every
 *     kernel is a fused dense / gated dense / elementwise / row-wise kernel
 *     with self-contained epilogue expressions (pass_fuse.c);
 *   - double-precision reference interpreters over both (interp.c), the
 *     oracle for generated code.
 * No LLVM here.
 */
#ifndef ACTC_IR_H
#define ACTC_IR_H

#include "actc/runtime.h"
#include "front/front.h"

/* ---- ops.def: the opcode table ---- */

typedef enum {
    OC_SOURCE, OC_MATMUL, OC_SPLIT, OC_CALL, OC_UNARY, OC_BINARY, OC_CMP, OC_SELECT, OC_ROW, OC_OUTPUT
} OpClass;

typedef enum {
#define OP(id, name, cls, nin, bi) OP_##id,
#include "ops.def"
#undef OP
    OP_COUNT
} Op;

typedef struct OpInfo {
    const char *name;
    OpClass cls;
    int nin;        /* -1: variable */
    BuiltinId bi;   /* reference math, or BI_COUNT */
} OpInfo;

extern const OpInfo op_info[OP_COUNT];
bool op_is_elementwise(Op op); /* OC_UNARY, OC_BINARY, OC_CMP, OC_SELECT */
bool op_is_activation(Op op);  /* a builtin scalar activation (language.md §5) */

enum { NODE_MAX_PARAMS = 8 };

/* ---- forms.c: the builtins' formulas (forms.def) ---- */

/* SELU's constants (Klambauer et al. 2017), as PyTorch gives them */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

typedef enum { FL_NODE, FL_X, FL_K, FL_P } FormLeaf;
typedef struct Form Form;
struct Form {
    FormLeaf leaf;
    Op op;             /* FL_NODE: the op applied to a[] */
    double k;          /* FL_K: the constant; FL_P: the parameter's index */
    double p[2];       /* FL_NODE: the op's own constants (clamp's bounds, pow's exponent, softplus's) */
    int np;
    const Form *a[3];
};
typedef struct OpForm {
    Op op;
    const Form *f;
    double at_neg_inf, at_pos_inf; /* the op's limits where f gives NaN; NaN: f needs none */
    bool eval;                     /* a FORM row (the definition); false: a further pattern (ALSO) */
} OpForm;
const OpForm *form_rows(int *n); /* every row, in match order */
const OpForm *op_form(Op op);    /* op's definition, or NULL (a primitive, arithmetic) */
int form_nparams(const Form *f); /* 1 + the largest P index in f, 0 if none */

/* ---- graph.c: nodes and graphs ---- */

typedef enum {
    SH_ROWS,   /* f32[batch, n] */
    SH_VEC,    /* f32[n], broadcast over rows (bias, prelu weight); n == 1 broadcasts everywhere */
    SH_SCALAR  /* a number, broadcast everywhere */
} ShapeKind;

/* Provenance: the chain of user-function calls a node was inlined through,
 * innermost call first, ending at the call in the model (docs/ir.md
 * "Provenance").  Chains live in the session's perm arena and are never
 * changed once made; nodes and epilogue expressions share them.  NULL: the
 * node was written directly in the model (or, in a Body, directly in that
 * body). */
typedef struct Prov Prov;
struct Prov {
    Span call;            /* the call's span */
    const Prov *up;       /* the call that call came from, or NULL */
    const char *block;    /* a block's call (language.md §3.7): the block; NULL: a user function's */
};
/* chain followed by tail: a fresh copy of chain's links ending in tail */
const Prov *prov_append(Arena *a, const Prov *chain, const Prov *tail);
int prov_depth(const Prov *p);
bool prov_equal(const Prov *a, const Prov *b); /* same calls, compared by span */

typedef struct Node Node;
struct Node {
    Op op;
    int id;
    Span span;
    Node *in[3];
    int nin;
    ShapeKind shape;
    Shape dims;                    /* SH_ROWS: [batch, ...]; SH_VEC: [n]; SH_SCALAR: rank 0 (node_width) */
    double p[NODE_MAX_PARAMS];     /* op constants; CONST: p[0]; SPLIT: p[0] = parts, p[1] = index */
    int np;                        /* number of meaningful p[] */
    const char *name;              /* INPUT / OUTPUT / PARAM name; CALL callee name */
    int index;                     /* INPUT / OUTPUT index */
    int64_t rows, cols;            /* PARAM: full shape (cols == 0: a vector) */
    int tensor;                    /* PARAM: index in the model's Decl.tensors */
    ElemType elem;                 /* PARAM: its element type */
    int64_t lo, cnt;               /* PARAM: visible rows [lo, lo + cnt) */
    const struct Body *body;       /* CALL: the callee's body at this instance (lower.c) */
    const char *origin;            /* what the user wrote, when it differs (gate or user function) */
    const char *hint;              /* the model variable bound to this value, if any */
    const Prov *prov;              /* inlined from user functions: the calls, innermost first */
    /* pass bookkeeping */
    Node *repl;                    /* forwarding: this node was replaced */
    int uses;
    bool mark;
};

/* An activation site (docs/stats.md §1): one source-level application of
 * a builtin activation, a gate (its activated operand) or a user-defined
 * activation in a model, recorded at lowering (sites.c).  pre / out are
 * the nodes of its pre-activation and of its value; passes replace nodes,
 * so the fuser follows them (node_resolve) after the passes. */
typedef enum { SITE_NEVER_POSITIVE, SITE_DEAD, SITE_SATURATING } SiteKind;

typedef struct Site {
    const char *op;       /* "relu", "swiglu", a user function's name */
    SiteKind kind;
    double sat_lo, sat_hi;/* SITE_SATURATING: saturated when y <= sat_lo or y >= sat_hi */
    Span span;            /* the application */
    const Prov *prov;     /* the calls it sits inside (NULL in a model's body) */
    Node *pre, *out;
    const char *layer;    /* the layer it reads (its parameter prefix), else a variable's name */
    int64_t units;
    uint32_t line;        /* of the application */
    const char *call_lines; /* the lines of the calls it sits inside, outermost first: "" or "7,12" */
    int same_as;          /* the site whose counts it shares (CSE merged them), or -1 */
    bool counted;         /* the fuser found its nodes in a kernel */
} Site;

/* A tensor the runtime computes when it loads the weights, from tensors
 * the model reads (actrt_derived_desc, same kinds and formulas): a
 * batchnorm's scale and shift, or an affine layer folded into a dense
 * layer's weight and bias (pass_fold_affine.c).  An OP_PARAM reads derived
 * tensor i as tensor model->ntensors + i. */
typedef enum { DV_SCALE, DV_SHIFT, DV_W_ROWS, DV_B_ROWS, DV_W_COLS, DV_B_COLS } DerivedKind;
typedef struct IrDerived {
    const char *name;      /* "fc1.weight+bn1", "bn1.scale" */
    DerivedKind kind;
    Shape shape;
    int matrix, bias;      /* the dense layer's tensors (-1: none) */
    int weight, shift;     /* the affine's weight and bias */
    int mean, var;         /* batchnorm's running statistics; -1 for affine */
    double eps;
} IrDerived;

/* A per-feature affine layer as lowered: add = x * s + t (nodes mul, add),
 * s and t parameters (affine: its tensors; batchnorm: derived). */
typedef struct IrAffine {
    Node *mul, *add;
    const char *layer;     /* "bn1" */
    const char *op;        /* "batchnorm", "affine" */
    int weight, shift, mean, var; /* as IrDerived */
    double eps;
    const char *folded_into; /* pass_fold_affine: the dense layer(s) it folded into ("'fc1'"), or NULL */
    bool before;           /* folded into the layers that read it (else into the one it reads) */
    const char *kept_because; /* not folded although a dense layer is next to it: why */
} IrAffine;

typedef struct Graph {
    Session *s;
    Decl *model;
    const char *name;
    const char *batch_name;        /* symbolic batch, or NULL */
    int64_t batch_value;
    Node **nodes;                  /* topological order */
    int nnodes, capnodes;
    Node **inputs, **outputs;
    int ninputs, noutputs;
    int next_id;
    Site *sites;                   /* in source order (sites.c) */
    int nsites, capsites;
    IrDerived *derived;            /* derived.c */
    int nderived, capderived;
    IrAffine *affines;             /* lowered affine layers, for pass_fold_affine */
    int naffines, capaffines;
} Graph;

/* Elements per row (SH_ROWS), length (SH_VEC) or 1 (SH_SCALAR): the width
 * that every pass and the kernel graph work with. */
int64_t node_width(const Node *n);
/* Make n a value of kind k and width w: [batch, w], [w] or a scalar. */
void node_set_shape(Node *n, ShapeKind k, int64_t w);
Node *node_new(Graph *g, Op op, Span sp, int nin, Node *a, Node *b, Node *c);
Node *node_const(Graph *g, Span sp, double v);
Node *node_resolve(Node *n);       /* follow repl */
/* Inlined from a user function: the call in the model it came from (the
 * outermost call of n->prov); else an empty span. */
Span node_site(const Node *n);
/* old is replaced by new: forwards its users, keeps its variable name, origin
 * and provenance. */
void node_replace(Node *old, Node *new_node);
/* Rewriting: passes visit the old list in order and re-emit; nodes created
 * while visiting are emitted at that point, so order stays topological. */
Node **graph_begin_rewrite(Graph *g, int *count);
void graph_emit(Graph *g, Node *n);
/* A copy of body b in g, after g's last node, with its operands bound to
 * args; returns the node of its value.  Only elementwise nodes and
 * constants occur in bodies.  `call` is the span of the call being expanded
 * and `up` that call's own provenance: every copied node's chain is its
 * chain in the body followed by {call, up}. */
Node *graph_inline(Graph *g, const struct Body *b, Node *const *args, Span call, const Prov *up);
void graph_resolve_operands(Node *n);
void graph_resolve_outputs(Graph *g);
void graph_count_uses(Graph *g);
const char *graph_print(Graph *g);
const char *graph_type_str(Graph *g, const Node *n);

/* ---- lower.c: checked AST -> graph ---- */

/* Lower one checked model.  Calls of user functions stay OP_CALL nodes
 * that point at the callee's Body (pass_inline copies it in). */
Graph *lower_model(Session *s, Decl *model);

/* A user function's body lowered once for one instance: a graph whose
 * OP_INPUT nodes stand for the operands, and the node of its value. */
typedef struct Body {
    const Instance *inst;
    Graph *g;
    Node *result;
} Body;

typedef struct Bodies {
    Body **items;
    int n, cap;
} Bodies;

/* Expression lowering: in a body (inst != NULL), operands are `args` and
 * constant parameters take the instance's values. */
typedef struct LowerEnv {
    Graph *g;
    const Instance *inst;  /* the instance whose body is lowered, or NULL in a model */
    Node **args;           /* its operands */
    Node **bindings;       /* model: node of each Binding (Binding.index_in_model) */
    Bodies *bodies;        /* bodies lowered so far (one per instance) */
} LowerEnv;
Node *lower_expr(LowerEnv *env, Expr *e);

/* ---- sites.c: activation sites (docs/stats.md) ---- */

/* Record a site of builtin `op` (or user function `fn` when op is
 * OP_COUNT) at span sp: pre-activation pre, value out.  fn_body: the
 * user function's body, for the relu-like test.  p: the op's constants
 * (hardtanh's bounds). */
void site_add(Graph *g, const char *name, Op op, const struct Body *fn_body, const double *p, Span sp, Node *pre,
              Node *out);
/* After lowering: each site's layer, units, line and call lines from its
 * nodes and chain (site_name: one site). */
void sites_name(Graph *g);
void site_name(Graph *g, Site *st);
/* In source order (after inlining: the sites of user gates' bodies come
 * at their calls). */
void sites_sort(Graph *g);
/* Is a user-defined activation exactly 0 for every x <= 0?  A sound
 * interval analysis of its body: true only when proved. */
bool body_zero_below(const struct Body *b);

/* ---- passes.c and pass_*.c ---- */

typedef struct Pass {
    const char *name;
    void (*run)(Graph *g);
    const char *summary;
} Pass;

extern const Pass ir_passes[];
extern const int ir_npasses;
/* Run the passes in order, stopping after the one named `stop` (NULL: all). */
bool passes_run(Graph *g, const char *stop);

void pass_inline(Graph *g);
void pass_simplify(Graph *g);
void pass_cse(Graph *g);
void pass_dce(Graph *g);
void pass_split_matmul(Graph *g);
void pass_fold_affine(Graph *g);


/* ---- pass_fuse.c: graph -> kernel graph ---- */

/* Kernel kinds: one per row of include/actc/kernels.def, with the values of
 * the public ACTRT_KERNEL_* (they cross the ABI as actrt_kernel_info.kind). */
typedef enum {
#define ACTRT_KERNEL(id, name, projections, row_ops) K_##id = ACTRT_KERNEL_##id,
#include "actc/kernels.def"
#undef ACTRT_KERNEL
    K_COUNT
} KernelKind;
/* The kind's row of the table (kept by libactrt): its name and projections
 * (the matmuls a kernel of the kind runs; Kernel.nacc equals it). */
static inline const char *kernel_kind_name(KernelKind k) { return actrt_kernel_kind_of((int)k)->name; }
static inline int kernel_projections(KernelKind k) { return actrt_kernel_kind_of((int)k)->projections; }
static inline bool kernel_is_matmul(KernelKind k) { return kernel_projections(k) > 0; }
typedef enum { V_INPUT, V_TEMP, V_OUTPUT } ValueKind;

typedef struct Kernel Kernel;

/* One source a kernel was made from: the span of a graph node it absorbed
 * and that node's call chain.  Kernel.srcs lists the distinct (span, chain)
 * pairs in graph node order. */
typedef struct KSource {
    Span span;
    const Prov *prov;
    int node;             /* the graph node's id (the order) */
} KSource;

/* A buffer f32[batch, n] in memory: a model input or output, or an
 * intermediate in the scratch arena. */
typedef struct Value {
    int id;
    ValueKind kind;
    int index;            /* input / output index */
    const char *name;     /* model name for inputs/outputs, else a readable hint */
    int64_t n;
    Kernel *producer;     /* NULL for inputs */
} Value;

/* A slice of a learned tensor: rows [lo, lo + rows) of a [*, cols] matrix,
 * or elements [lo, lo + rows) of a vector (cols == 0). */
typedef struct WeightRef {
    const char *name;
    int tensor;           /* index in the model's Decl.tensors */
    ElemType elem;        /* the tensor's element type (the kernels read f32 today) */
    int64_t lo, rows, cols;
    int64_t full_rows;    /* rows of the whole tensor */
    Span span;
} WeightRef;

typedef enum { LF_ACC, LF_TENSOR, LF_VEC } LeafKind;

typedef struct Leaf {
    LeafKind kind;
    int acc;              /* LF_ACC: which accumulator (0 = a, 1 = b) */
    Value *val;           /* LF_TENSOR: the buffer; element (r, col0 + c) */
    int64_t col0;
    WeightRef vec;        /* LF_VEC: a parameter vector; rows == 1 broadcasts */
} Leaf;

/* Epilogue expression nodes: a kernel's own copy of the elementwise ops,
 * over its leaves (OP_LEAF) and constants (OP_CONST). */
typedef struct Ep Ep;
struct Ep {
    Op op;
    Ep *in[3];
    int nin;
    double p[NODE_MAX_PARAMS];
    int np;
    int leaf;             /* OP_LEAF: index into Kernel.leaves */
    Span span;
    Span site;            /* the model line it came from (node_site() or span) */
    const Prov *prov;     /* its node's call chain (Node.prov) */
    const char *origin;
    int id;               /* 1..Kernel.neps, unique within the kernel */
    unsigned stamp;       /* traversal mark (ep_postorder) */
    int stat;             /* this node is the value of site stat - 1 (0: none; KGraph.sites) */
    Ep *stat_pre;         /* and this its pre-activation */
};

/* The distinct epilogue nodes reachable from the kernel's outputs, operands
 * before users, into an array from `a` (count in *n).  DAG-safe: each node
 * is listed once however often it is shared. */
Ep **ep_postorder(Arena *a, const Kernel *k, int *n);

struct Kernel {
    KernelKind kind;
    int id;
    int64_t n;            /* output columns */
    /* K_DENSE / K_GATED */
    Value *x;             /* the matmul input, f32[batch, k] */
    int64_t k;
    WeightRef w[2];       /* a (activated side) and b */
    int nacc;
    /* every kind */
    Leaf *leaves;
    int nleaves, capleaves;
    Ep **outs;            /* the expression stored into each out_vals[i] */
    Value **out_vals;
    int nouts, capouts;
    /* K_ROW: out = row_op(prologue) with optional gamma / beta */
    Op row_op;
    double eps;
    WeightRef gamma, beta;
    bool has_gamma, has_beta;
    int neps;             /* epilogue nodes are numbered 1..neps (Ep.id) */
    /* report */
    uint32_t line_lo, line_hi;
    const char *fused;    /* what was fused, for the report */
    KSource *srcs;        /* provenance: the distinct sources of its nodes */
    int nsrcs, capsrcs;
};

/* The model's interface as the back end sees it, filled by ir_pipeline
 * from the checked model: what the runtime's description (actrt_desc)
 * states besides the kernels. */
typedef struct IrTensor {
    const char *name;        /* PyTorch name, e.g. "fc1.weight" */
    Shape shape;
    ElemType elem;
    const char *declared_at; /* "file.act:12" */
} IrTensor;

typedef struct IrPort {
    const char *name;
    Shape shape;             /* dim[0] the batch: DIM_BATCH, or the fixed batch */
} IrPort;

typedef struct IrSignature {
    const char *name;
    int64_t fixed_batch;     /* > 0: every run uses this batch; 0: any */
    IrPort *inputs, *outputs;
    int ninputs, noutputs;
    IrTensor *tensors;
    int ntensors;
    const IrDerived *derived;  /* the graph's, read as tensors ntensors + i */
    int nderived;
} IrSignature;

typedef struct KGraph {
    Graph *g;
    IrSignature sig;      /* set by ir_pipeline (zero from fuse_graph alone) */
    Kernel **kernels;
    int nkernels, capkernels;
    Value **values;
    int nvalues, capvalues;
    Value **inputs, **outputs;
    int ninputs, noutputs;
    const char **notes;   /* activations not fused into a matmul, and why */
    int nnotes, capnotes;
    Site *sites;          /* the graph's activation sites (Graph.sites) */
    int nsites;
} KGraph;

KGraph *fuse_graph(Graph *g);
const char *kgraph_report(KGraph *kg);
const char *kgraph_dot(KGraph *kg);
const char *ep_print(Session *s, const Kernel *k, const Ep *e);

/* ---- interp.c: double-precision reference interpreters ---- */

typedef struct IrWeights {
    int count;
    const char **names;
    const double **data;  /* row-major */
    const int64_t (*shape)[2]; /* [rows, cols]; cols == 0 for vectors */
} IrWeights;

/* ---- derived.c: tensors computed at load ---- */

/* A new derived tensor of g and an OP_PARAM reading all of it. */
Node *derived_param(Graph *g, Span sp, const IrDerived *d);
/* Its values in f64 (row-major) from the model's tensors in w (by name,
 * sig's tensors); false with a message if one is missing or bad. */
bool derived_values(const IrSignature *sig, int i, const IrWeights *w, double *out, char *err, size_t errlen);

/* Scalar semantics of one elementwise op (shared by both interpreters and
 * constant folding).  c is used by SELECT only. */
double ir_eval_op(Op op, const double *p, double a, double b, double c);

/* Evaluate the graph (after any pass) or the kernel graph over `batch` rows.
 * inputs[i] / outputs[i] are row-major [batch, n].  Returns ACTC_OK, or an
 * error with a message in `err` (missing or mis-shaped weight). */
int interp_graph(Graph *g, const IrWeights *w, int64_t batch, const double *const *inputs,
                 double *const *outputs, char *err, size_t errlen);
int interp_kernels(KGraph *kg, const IrWeights *w, int64_t batch, const double *const *inputs,
                   double *const *outputs, char *err, size_t errlen);
/* interp_kernels in Monte Carlo arithmetic: every rounding point of an f32
 * evaluation is perturbed by a relative rel * U[-1, 1] (seeded); rel = 0 is
 * interp_kernels.  Tests use the spread of a few runs at rel = 2^-24 as the
 * model's conditioning at that input (docs/ir.md section 6.5). */
int interp_kernels_mca(KGraph *kg, const IrWeights *w, int64_t batch, const double *const *inputs,
                       double *const *outputs, double rel, uint64_t seed, char *err, size_t errlen);

/* ---- pipeline.c: checked model -> graph -> kernel graph ---- */

typedef struct Pipeline {
    Decl *model;
    Graph *graph;     /* after the passes run (or after lowering / the pass named `stop`) */
    KGraph *kernels;  /* the fused kernel graph; NULL when stopped early */
} Pipeline;

/* Lower `model`, run the passes and fuse.  `stop`: NULL for the whole
 * pipeline, "lowered" for the graph as lowered, or a pass name to stop after
 * that pass (no kernel graph then).  Returns false for an unknown stop. */
bool ir_pipeline(Session *s, Decl *model, const char *stop, Pipeline *out);

#endif
