/*
 * codegen.h — the backend boundary (style.md §1): everything that knows about
 * LLVM lives in compiler/codegen/ and is reached only through this header.
 * Consumes the IR layer's ops (ir.h); produces LLVM modules, target
 * machines and JIT-compiled functions.
 *
 *   target.c   the target machine: host CPU by default, or --target/--cpu/
 *              --features; its vector width and feature facts
 *   cg.c       one LLVM context + module per compilation, verify, optimise
 *   cg_vmath.c vectorised elementwise math (every builtin activation and
 *              primitive) as inline LLVM IR, docs/accuracy.md
 *   jit.c      ORC LLJIT: add a module, look up symbols, unload
 */
#ifndef ACTC_CODEGEN_H
#define ACTC_CODEGEN_H

#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>
#include <llvm-c/TargetMachine.h>

#include "actc/runtime.h"
#include "ir/ir.h"

/* ---- target.c ---- */

/* The parameters of a matmul kernel's loop nest (cg_model.c, docs/codegen.md
 * "Kernel parameters").  None changes any output's order of additions (one
 * chain per output, K blocks in order), so results are bitwise the same
 * under every choice: parameters are a matter of speed only.
 *   mr, nr  the register tile: mr rows x nr vectors of columns (the weight
 *           panel is nr * vlen columns wide); remainder rows get a tile of
 *           their own height (1 .. mr - 1)
 *   kc      K block: a reduction longer than kc runs in blocks of kc rows of
 *           the weight panel, all row tiles per block, partial sums in
 *           scratch (0: never blocked)
 *   mc      row block: rows per sweep over the panels (0: all rows of a call)
 *   pf      prefetch distance, in k rows of the weight panel (0: none) */
typedef struct KernelParams {
    int mr, nr, kc, mc, pf;
} KernelParams;

/* Where a target's kernel parameters came from (params.c). */
typedef enum ParamsFrom { PARAMS_ANALYTICAL, PARAMS_TABLE, PARAMS_PROFILE, PARAMS_EXPLICIT } ParamsFrom;

/* The target descriptor: everything the code generator and the math
 * library may assume about the machine.  target.c owns it; no pass and no
 * math function tests an ISA name or feature string. */
typedef struct Target {
    LLVMTargetMachineRef tm;
    char *triple, *cpu, *features; /* owned copies (mem_alloc) */
    int vlen;                      /* f32 lanes of the widest useful vector: 16, 8, 4 (or 1) */
    int nregs;                     /* vector registers of that width */
    KernelParams kp[K_COUNT];      /* loop-nest parameters per matmul kind ({0} for the others) */
    ParamsFrom kp_from;            /* and where they came from */
    const char *kp_entry;          /* the table entry or profile path (static or owned: kp_owned) */
    char *kp_owned;
    int row_tile;                  /* rows a thread's share should be a multiple of */
    struct {
        bool fma;                  /* fused multiply-add in hardware */
        int scalef_lanes;          /* lanes of an exact x * 2^k instruction (vscalefps), 0: none */
        bool f16;                  /* f16 -> f32 conversion in hardware (F16C, AArch64) */
    } caps;
    bool is_host;                  /* code may run in this process */
    bool host_cpu;                 /* the host's CPU and features (no --cpu) */
} Target;

/* Build a target machine.  NULL triple: the host; NULL cpu: the host CPU
 * (only when the triple is the host's), else "generic"; features appended
 * to the CPU's.  vlen_cap > 0 limits the vector width (1 = scalar code).
 * Returns ACTC_OK or ACTC_ERR_ARG with a message in err. */
int target_init(Target *t, const char *triple, const char *cpu, const char *features, int vlen_cap, char *err,
                size_t errlen);
void target_dispose(Target *t);
/* The ACTRT_CPU features code for t may use (0 for a target without
 * variants, e.g. AArch64); the name a variant for t is known by. */
uint64_t target_needs(const Target *t);
const char *target_variant_name(const Target *t);
/* The names of the ACTRT_CPU features in bits, "avx2, fma", in `a` ("" for none). */
const char *target_feature_list(Arena *a, uint64_t bits);
/* A second, identical target machine (LLJIT consumes the one it is given). */
LLVMTargetMachineRef target_clone_tm(const Target *t);

/* ---- params.c ---- */

/* The built-in choice for t (its CPU and vector width): a table entry,
 * else analytical.  Called by target_init. */
void params_default(Target *t);
/* Parse "dense=8x3,kc=128,mc=0,pf=0;gated=6x2,kc=96" over kp (kinds and
 * fields not named keep their values); ACTC_ERR_ARG with a message. */
int params_parse(const char *spec, int nregs, KernelParams kp[K_COUNT], char *err, size_t errlen);
/* t's parameters in params_parse's syntax; where they came from, as text. */
const char *params_format(Arena *a, const Target *t);
const char *params_from_text(Arena *a, const Target *t);
/* How a profile is matched to a target: PARAMS_HOST (JIT code for the
 * host: the profile's CPU must be t's; without a profile file, the host's
 * profile in the cache directory if there is one), PARAMS_EXACT (the
 * profile's CPU must be t's, no cache), PARAMS_BY_WIDTH (AOT variants: a
 * profile applies to the variants of its vector width, whatever their
 * CPU name, and is skipped silently by the others). */
typedef enum ParamsMode { PARAMS_HOST, PARAMS_EXACT, PARAMS_BY_WIDTH } ParamsMode;
/* Override t's parameters: an explicit spec (an error when malformed), else
 * the profile.  A profile that cannot be used leaves t as it was and sets
 * *warning (in a) naming the file, the reason and the fallback; *applied
 * says whether t's parameters changed. */
int params_apply(Target *t, const char *spec, const char *profile, ParamsMode mode, Arena *a, const char **warning,
                 bool *applied, char *err, size_t errlen);
/* $XDG_CACHE_HOME/actc/profile-CPU-VLEN.json (or ~/.cache/...); NULL when neither is set. */
const char *params_cache_path(Arena *a, const Target *t);
const char *params_llvm_version(Arena *a);
/* Write t's parameters as a profile for t's CPU (atomically: a sibling
 * file, then rename); extra_json (NULL: none) is kept as "measured". */
int params_write_profile(const char *path, const Target *t, Arena *a, const char *extra_json, char *err,
                         size_t errlen);

/* ---- cg.c ---- */

typedef struct CG {
    LLVMOrcThreadSafeContextRef tsc; /* owns ctx */
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    const Target *t;
    LLVMTypeRef t_f32, t_f64, t_i1, t_i32, t_i64, t_ptr;
    Arena *arena_for_slots; /* cg_model: where the weight table grows */
    bool fast_math;         /* elementwise math in the fast tier (cg_vmath_fast.c) */
    bool exact_math;        /* elementwise math in the f64 tier (cg_vmath_exact.c) */
    bool stats;             /* count activation statistics in the kernels (docs/stats.md) */
    int32_t weights;        /* ACTRT_ELEM_*: the storage type of the matmul weights (PANEL slots) */
} CG;

void cg_init(CG *cg, const Target *t, const char *module_name);
void cg_dispose(CG *cg); /* disposes what was not handed over */
/* Run LLVM's verifier on cg's module: ACTC_ERR_INTERNAL naming `what`
 * ("the object", ...) with LLVM's message, else ACTC_OK. */
int cg_verify(CG *cg, const char *what, char *err, size_t errlen);
/* Verify and run default<O3> with the target machine; ACTC_OK or an
 * internal error with the verifier's message in err. */
int cg_finish(CG *cg, char *err, size_t errlen);
/* A private, unnamed_addr constant global holding `init`; its address. */
LLVMValueRef cg_const_global(CG *cg, LLVMValueRef init, const char *name);
/* Compile the functions PREFIX_* defined in the module for target t (its
 * CPU and features as function attributes): one module, and one object,
 * holds the variants of a model for several CPUs, and cg_finish's passes
 * and the code generator take each function's own subtarget. */
void cg_mark_target(CG *cg, const char *prefix, const Target *t);
/* The module as text (after cg_finish), in `a`. */
const char *cg_print_module(CG *cg, Arena *a);
/* The module as target assembly (after cg_finish), in `a`; NULL on error. */
const char *cg_print_asm(CG *cg, Arena *a);
/* Look up (or declare) an LLVM intrinsic overloaded on `ty` (NULL: one that
 * is not overloaded). */
LLVMValueRef cg_intrinsic(CG *cg, const char *name, LLVMTypeRef ty, LLVMTypeRef *fnty);

/* ---- cg_vmath.c ---- */

/* A vector shape for elementwise code: n lanes (1 = scalar types). */
typedef struct VM {
    CG *cg;
    int n;
    LLVMTypeRef tf, td, ti64, ti32, tb; /* f32, f64, i64, i32, i1 of n lanes */
    bool fast;                          /* the fast tier (cg->fast_math) */
    bool exact;                         /* the f64 tier (cg->exact_math) */
    bool act;                           /* inside a precise-tier activation (cg_vmath.c) */
} VM;

void vm_init(VM *vm, CG *cg, int n);
/* The value of one elementwise op on f32 lanes (docs/accuracy.md):
 * builtins evaluate in f64 internally and round once.  `args` are f32
 * vectors, except the condition of OP_SELECT (an i1 vector from a compare).
 * Compares return i1 vectors.  `p` are the op's constants (f32 values). */
LLVMValueRef vm_op(VM *vm, Op op, const double *p, LLVMValueRef *args);
LLVMValueRef vm_splat_f32(VM *vm, double v);
/* The constant c (a scalar of any type) in each of vm's lanes. */
LLVMValueRef vm_splat(VM *vm, LLVMValueRef c);

/* ---- cg_kernels.c ---- */

/* Emit the per-lane expression of a map kernel for one vector shape. */
typedef LLVMValueRef (*MapFn)(VM *vm, LLVMValueRef *ins, void *ud);
/* void NAME(const float *in0 .. in{nin-1}, float *out, int64_t n): a vector
 * loop of vlen lanes, then a scalar tail. */
LLVMValueRef cg_emit_map(CG *cg, const char *name, int nin, int vlen, MapFn fn, void *ud);

/* ---- cg_model.c ---- */

/* A packed weight the kernels read (actrt_weight_desc). */
typedef struct WeightSlot {
    WeightRef ref;
    int layout;                /* ACTRT_LAYOUT_PANEL or ACTRT_LAYOUT_VEC */
    int64_t panel;             /* PANEL: rows per panel (the tile's columns) */
    int32_t elem;              /* ACTRT_ELEM_*: how its values are stored (compact for PANEL only) */
} WeightSlot;

typedef struct ModelCode {
    WeightSlot *weights;
    int nweights, capweights;
    int nkernels;
    int nbodies;               /* distinct kernel bodies: kernels identical up to their tensors share one */
    const char **kernel_names; /* per kernel: its function (a body shared by identical kernels) */
    const char **table_names;  /* per kernel: its table (PREFIX_kI_tab) */
    int64_t scratch_per_row;   /* floats */
    int64_t *offset;           /* per Value id: scratch offset per row, -1 for inputs/outputs */
    int64_t *col_step;         /* per kernel: actrt_kernel_info.col_step */
    int64_t partial_offset;    /* scratch offset per row of the K-blocked matmuls' partial sums, */
    int64_t partial_width;     /* and their floats per row: [batch][partial_width], one region
                                * for all (rows are a thread's own: kernels of one model run
                                * concurrently on different rows) */
    int64_t *site_offset;      /* statistics (CG.stats): per site, its bytes in a thread's block, -1 if none */
    int64_t stats_bytes;       /* the block's size */
} ModelCode;

/* ---- cg_stats.c: activation statistics (docs/stats.md) ---- */

/* Lay out a thread's statistics block: mc->site_offset per site (-1: not
 * counted, or sharing another's) and mc->stats_bytes, which it returns. */
int64_t cg_stats_layout(const KGraph *kg, ModelCode *mc, Arena *a);
/* Count one vector (vm->n lanes, columns j ..) of site st's values y with
 * pre-activations pre into the block (skipped when block is NULL). */
void cg_stats_count(CG *cg, VM *vm, LLVMValueRef block, const Site *st, int64_t offset, LLVMValueRef pre,
                    LLVMValueRef y, LLVMValueRef j);

/* ---- abi.c: the ABI structs of runtime.h as one table ---- */

typedef enum { AF_I32, AF_I64, AF_F64, AF_I64S, AF_STR, AF_ARRAY, AF_KERNELS, AF_TABLES, AF_PTR } AbiFieldKind;
typedef struct AbiStruct AbiStruct;
typedef struct AbiField {
    const char *name;
    size_t offset;          /* offsetof in the C struct */
    AbiFieldKind kind;      /* int32, int64, double, int64[count], string, array of `elem`, kernel functions */
    int count;              /* AF_I64S: elements */
    const AbiStruct *elem;  /* AF_ARRAY: the element struct */
    size_t count_at;        /* AF_ARRAY, AF_KERNELS: offset of the int32 element count in the parent */
} AbiField;
struct AbiStruct {
    const char *name;       /* the C struct's name, also the LLVM type's */
    size_t size;            /* sizeof */
    const AbiField *fields; /* every field, in order */
    int nfields;
};
extern const AbiStruct abi_port, abi_tensor, abi_weight, abi_kernel_info, abi_site, abi_derived, abi_desc, abi_variant;
extern const AbiStruct *const abi_structs[]; /* all of them, NULL-terminated */

/* The LLVM struct type of s in cg's context (created once). */
LLVMTypeRef abi_llvm_type(CG *cg, const AbiStruct *s);
/* The description d as internal constant data named `symbol` (kernels by
 * their names in the module, given internal linkage); returns its address. */
LLVMValueRef abi_emit_desc(CG *cg, Arena *a, const actrt_desc *d, const char *const *kernel_names,
                           const char *const *table_names, const char *symbol);

/* One variant of an object (actrt_variant) as emitted values. */
typedef struct AbiVariant {
    const char *name;
    uint64_t needs;
    LLVMValueRef desc, weights; /* globals of the module; weights NULL: none embedded */
} AbiVariant;
/* The variants table as internal constant data named `symbol`. */
LLVMValueRef abi_emit_variants(CG *cg, Arena *a, const AbiVariant *v, int n, const char *symbol);

/* ---- cg_desc.c ---- */

/* The description of kg's generated code mc for target t, in `a`: every
 * field but kernels (the JIT stores its function addresses; aot.c emits the
 * functions by name). */
void cg_build_desc(Arena *a, const KGraph *kg, const ModelCode *mc, const Target *t, actrt_desc *d);

/* The LLVM type of an actrt_kernel_fn. */
LLVMTypeRef cg_kernel_type(CG *cg);

/* ---- ir_equal.c ---- */

/* Whether g is one of body's epilogue functions (named BODY_...). */
bool cg_body_part(LLVMValueRef g, LLVMValueRef body);
/* Whether two kernel bodies (with their epilogue functions) are the same
 * code up to their names; a hash that equal bodies share.  scratch is
 * restored. */
bool cg_body_equal(LLVMValueRef a, LLVMValueRef b, Arena *scratch);
uint64_t cg_body_hash(LLVMValueRef body);
/* Emit every kernel of kg, and PREFIX_run, into cg's module. */
int cg_model(CG *cg, KGraph *kg, const char *prefix, ModelCode *mc, Arena *a);

/* ---- aot.c ---- */

/* One ISA variant of a model in an object: its target, description and
 * kernels (by name in the module), and its serial entry function (dropped:
 * the runtime calls the kernels through the description). */
typedef struct AotVariant {
    const Target *t;
    const actrt_desc *desc;
    const char *const *kernel_names;
    const char *const *table_names;
    const char *entry;
} AotVariant;

/* Turn the finished module (the kernels of every variant) into an object
 * file at path: the descriptions, the variants table, the header's
 * functions named PREFIX_* (thin wrappers around libactrt), verify, emit.
 * v[0 .. n) are listed baseline first (docs/aot.md, "Variants"). */
int aot_compile(CG *cg, const AotVariant *v, int n, const char *prefix, const char *path, Arena *a, char *err,
                size_t errlen);

/* The same with the packed weights of the last variant embedded (packed[i]
 * of weight slot i of v[n-1].desc, actrt_weight_bytes of it; the other
 * variants pack theirs from them at create) and the embedded runtime
 * linked in: the object links with libc alone.  ACTC_ERR_ARG for a triple
 * without an embedded runtime (other than x86_64 / aarch64 Linux). */
int aot_compile_embedded(CG *cg, const AotVariant *v, int n, const char *prefix, const float *const *packed,
                         const char *path, Arena *a, char *err, size_t errlen);

/* ---- embedded_runtime_<arch>.c (generated at build time) ----
 * runtime/embedded.c as LLVM bitcode for x86_64 and aarch64 Linux
 * (cmake/EmbeddedRuntime.cmake); aot_compile_embedded links it in. */
extern const unsigned char actc_embedded_runtime_x86_64[], actc_embedded_runtime_aarch64[];
extern const size_t actc_embedded_runtime_x86_64_len, actc_embedded_runtime_aarch64_len;

/* With path NULL, aot_compile and aot_compile_embedded finish and verify
 * the module without writing it; aot_link_write then links the modules of
 * srcs (other models, same target) into dst's and writes one object. */
int aot_link_write(CG *dst, CG *const *srcs, int n, const char *path, char *err, size_t errlen);

/* ---- header.c ---- */

/* The text of the C header for an object of variants v[0 .. n). */
const char *aot_header(Arena *a, const AotVariant *v, int n, const char *prefix, const char *source,
                       const char *version, bool embedded, int math);

/* ---- jit.c ---- */

typedef struct Jit Jit;

/* A JIT for code of target t (which must be runnable on this host). */
int jit_create(Jit **out, const Target *t, char *err, size_t errlen);
void jit_dispose(Jit *j);
/* Hand the module over (consumed, even on error); its symbols become
 * callable.  *tracker identifies it for jit_remove. */
int jit_add(Jit *j, CG *cg, void **tracker, char *err, size_t errlen);
int jit_lookup(Jit *j, const char *name, void **addr, char *err, size_t errlen);
void jit_remove(Jit *j, void *tracker);

#endif
