/*
 * abi.c — the runtime ABI's structs (include/actc/runtime.h) as one table
 * of fields, with their C offsets (offsetof) and kinds.  The LLVM types of
 * the structs and the constant data of a description in an object are both
 * generated from it, so an object's description is laid out exactly as the
 * C compiler lays out runtime.h; tests/unit/test_abi.c checks LLVM's layout
 * of each type against the table's offsets and sizes for every target.
 * Adding a field to a struct in runtime.h means adding its row here.
 */
#include <stddef.h>
#include <string.h>

#include "codegen.h"

#define F(S, f, kind) {#f, offsetof(S, f), kind, 0, NULL, 0}
#define FA(S, f, n) {#f, offsetof(S, f), AF_I64S, n, NULL, 0}
#define FP(S, f, kind, elem, countf) {#f, offsetof(S, f), kind, 0, elem, offsetof(S, countf)}
#define STRUCT(S, fields) {#S, sizeof(S), fields, (int)(sizeof fields / sizeof fields[0])}

static const AbiField port_fields[] = {
    F(actrt_port_desc, name, AF_STR),
    F(actrt_port_desc, elem, AF_I32),
    F(actrt_port_desc, rank, AF_I32),
    FA(actrt_port_desc, shape, ACTRT_MAX_RANK),
    F(actrt_port_desc, n, AF_I64),
};
const AbiStruct abi_port = STRUCT(actrt_port_desc, port_fields);

static const AbiField tensor_fields[] = {
    F(actrt_tensor_desc, name, AF_STR),
    F(actrt_tensor_desc, elem, AF_I32),
    F(actrt_tensor_desc, rank, AF_I32),
    FA(actrt_tensor_desc, shape, ACTRT_MAX_RANK),
    F(actrt_tensor_desc, declared_at, AF_STR),
};
const AbiStruct abi_tensor = STRUCT(actrt_tensor_desc, tensor_fields);

static const AbiField weight_fields[] = {
    F(actrt_weight_desc, tensor, AF_I32), F(actrt_weight_desc, layout, AF_I32),
    F(actrt_weight_desc, elem, AF_I32),   F(actrt_weight_desc, reserved, AF_I32),
    F(actrt_weight_desc, lo, AF_I64),     F(actrt_weight_desc, n, AF_I64),
    F(actrt_weight_desc, k, AF_I64),      F(actrt_weight_desc, panel, AF_I64),
};
const AbiStruct abi_weight = STRUCT(actrt_weight_desc, weight_fields);

static const AbiField info_fields[] = {
    F(actrt_kernel_info, kind, AF_I32), F(actrt_kernel_info, n, AF_I64),        F(actrt_kernel_info, k, AF_I64),
    F(actrt_kernel_info, lines, AF_STR), F(actrt_kernel_info, col_step, AF_I64),
};
const AbiStruct abi_kernel_info = STRUCT(actrt_kernel_info, info_fields);

static const AbiField site_fields[] = {
    F(actrt_site_desc, op, AF_STR),         F(actrt_site_desc, layer, AF_STR),
    F(actrt_site_desc, call_lines, AF_STR), F(actrt_site_desc, kind, AF_I32),
    F(actrt_site_desc, line, AF_I32),       F(actrt_site_desc, same_as, AF_I32),
    F(actrt_site_desc, reserved, AF_I32),   F(actrt_site_desc, units, AF_I64),
    F(actrt_site_desc, offset, AF_I64),     F(actrt_site_desc, sat_lo, AF_F64),
    F(actrt_site_desc, sat_hi, AF_F64),
};
const AbiStruct abi_site = STRUCT(actrt_site_desc, site_fields);

static const AbiField derived_fields[] = {
    F(actrt_derived_desc, name, AF_STR),   F(actrt_derived_desc, kind, AF_I32),
    F(actrt_derived_desc, rank, AF_I32),   FA(actrt_derived_desc, shape, ACTRT_MAX_RANK),
    F(actrt_derived_desc, matrix, AF_I32), F(actrt_derived_desc, bias, AF_I32),
    F(actrt_derived_desc, weight, AF_I32), F(actrt_derived_desc, shift, AF_I32),
    F(actrt_derived_desc, mean, AF_I32),   F(actrt_derived_desc, var, AF_I32),
    F(actrt_derived_desc, eps, AF_F64),
};
const AbiStruct abi_derived = STRUCT(actrt_derived_desc, derived_fields);

static const AbiField desc_fields[] = {
    F(actrt_desc, abi_version, AF_I32),
    F(actrt_desc, name, AF_STR),
    F(actrt_desc, ninputs, AF_I32),
    F(actrt_desc, noutputs, AF_I32),
    FP(actrt_desc, inputs, AF_ARRAY, &abi_port, ninputs),
    FP(actrt_desc, outputs, AF_ARRAY, &abi_port, noutputs),
    F(actrt_desc, fixed_batch, AF_I64),
    F(actrt_desc, ntensors, AF_I32),
    F(actrt_desc, nweights, AF_I32),
    F(actrt_desc, nkernels, AF_I32),
    FP(actrt_desc, tensors, AF_ARRAY, &abi_tensor, ntensors),
    FP(actrt_desc, weights, AF_ARRAY, &abi_weight, nweights),
    FP(actrt_desc, kernels, AF_KERNELS, NULL, nkernels),
    F(actrt_desc, scratch_per_row, AF_I64),
    FP(actrt_desc, kernel_info, AF_ARRAY, &abi_kernel_info, nkernels),
    F(actrt_desc, row_tile, AF_I32),
    F(actrt_desc, nsites, AF_I32),
    FP(actrt_desc, sites, AF_ARRAY, &abi_site, nsites),
    F(actrt_desc, stats_bytes, AF_I64),
    FP(actrt_desc, kernel_tables, AF_TABLES, NULL, nkernels),
    F(actrt_desc, nderived, AF_I32),
    FP(actrt_desc, derived, AF_ARRAY, &abi_derived, nderived),
};
const AbiStruct abi_desc = STRUCT(actrt_desc, desc_fields);

static const AbiField variant_fields[] = {
    F(actrt_variant, name, AF_STR),
    F(actrt_variant, needs, AF_I64),
    F(actrt_variant, desc, AF_PTR),
    F(actrt_variant, weights, AF_PTR),
};
const AbiStruct abi_variant = STRUCT(actrt_variant, variant_fields);

const AbiStruct *const abi_structs[] = {&abi_port, &abi_tensor,  &abi_weight, &abi_kernel_info,
                                        &abi_site, &abi_derived, &abi_desc,   &abi_variant, NULL};

LLVMTypeRef abi_llvm_type(CG *cg, const AbiStruct *s) {
    LLVMTypeRef t = LLVMGetTypeByName2(cg->ctx, s->name);
    if (t)
        return t;
    LLVMTypeRef fields[32];
    if (s->nfields > 32)
        ACTC_BUG("ABI struct %s has %d fields", s->name, s->nfields);
    for (int i = 0; i < s->nfields; i++) {
        const AbiField *f = &s->fields[i];
        switch (f->kind) {
        case AF_I32: fields[i] = cg->t_i32; break;
        case AF_I64: fields[i] = cg->t_i64; break;
        case AF_F64: fields[i] = cg->t_f64; break;
        case AF_I64S: fields[i] = LLVMArrayType2(cg->t_i64, (uint64_t)f->count); break;
        case AF_STR:
        case AF_ARRAY:
        case AF_KERNELS:
        case AF_TABLES:
        case AF_PTR: fields[i] = cg->t_ptr; break;
        }
    }
    t = LLVMStructCreateNamed(cg->ctx, s->name);
    LLVMStructSetBody(t, fields, (unsigned)s->nfields, 0); /* natural alignment, as C (checked by test_abi) */
    return t;
}


static LLVMValueRef cstr(CG *cg, const char *s) {
    if (!s)
        return LLVMConstNull(cg->t_ptr);
    return cg_const_global(cg, LLVMConstStringInContext(cg->ctx, s, (unsigned)strlen(s), 0), ".str");
}

static int32_t get_i32(const void *obj, size_t off) {
    int32_t v;
    memcpy(&v, (const char *)obj + off, sizeof v);
    return v;
}

static int64_t get_i64(const void *obj, size_t off) {
    int64_t v;
    memcpy(&v, (const char *)obj + off, sizeof v);
    return v;
}

static double get_f64(const void *obj, size_t off) {
    double v;
    memcpy(&v, (const char *)obj + off, sizeof v);
    return v;
}

static const void *get_ptr(const void *obj, size_t off) {
    const void *v;
    memcpy(&v, (const char *)obj + off, sizeof v);
    return v;
}

/* The constant value of struct s at obj (its arrays as private globals). */
typedef struct Names {
    const char *const *kernels, *const *tables; /* per kernel: its function and its table, by name */
} Names;

static LLVMValueRef emit_value(CG *cg, Arena *a, const AbiStruct *s, const void *obj, const Names *names) {
    LLVMValueRef *v = NEW_ARRAY(a, LLVMValueRef, (size_t)s->nfields);
    for (int i = 0; i < s->nfields; i++) {
        const AbiField *f = &s->fields[i];
        switch (f->kind) {
        case AF_I32: v[i] = LLVMConstInt(cg->t_i32, (unsigned long long)(int64_t)get_i32(obj, f->offset), 1); break;
        case AF_I64: v[i] = LLVMConstInt(cg->t_i64, (unsigned long long)get_i64(obj, f->offset), 1); break;
        case AF_F64: v[i] = LLVMConstReal(cg->t_f64, get_f64(obj, f->offset)); break;
        case AF_I64S: {
            LLVMValueRef *e = NEW_ARRAY(a, LLVMValueRef, (size_t)f->count);
            for (int k = 0; k < f->count; k++)
                e[k] = LLVMConstInt(cg->t_i64, (unsigned long long)get_i64(obj, f->offset + sizeof(int64_t) * (size_t)k), 1);
            v[i] = LLVMConstArray2(cg->t_i64, e, (uint64_t)f->count);
            break;
        }
        case AF_STR: v[i] = cstr(cg, get_ptr(obj, f->offset)); break;
        case AF_PTR: ACTC_BUG("%s.%s: a pointer to an emitted global (abi_emit_variants)", s->name, f->name);
        case AF_ARRAY: {
            const char *base = get_ptr(obj, f->offset);
            int32_t n = get_i32(obj, f->count_at);
            if (!base || n <= 0) {
                v[i] = LLVMConstNull(cg->t_ptr);
                break;
            }
            LLVMValueRef *e = NEW_ARRAY(a, LLVMValueRef, (size_t)n);
            for (int k = 0; k < n; k++)
                e[k] = emit_value(cg, a, f->elem, base + f->elem->size * (size_t)k, names);
            v[i] = cg_const_global(cg, LLVMConstArray2(abi_llvm_type(cg, f->elem), e, (uint64_t)n),
                                arena_printf(a, ".%s", f->name));
            break;
        }
        case AF_KERNELS: /* the kernels and their tables, by name (their addresses are not known yet) */
        case AF_TABLES: {
            bool fn = f->kind == AF_KERNELS;
            int32_t n = get_i32(obj, f->count_at);
            LLVMValueRef *e = NEW_ARRAY(a, LLVMValueRef, (size_t)n + 1);
            for (int k = 0; k < n; k++) {
                const char *name = fn ? names->kernels[k] : names->tables[k];
                if (!(e[k] = fn ? LLVMGetNamedFunction(cg->mod, name) : LLVMGetNamedGlobal(cg->mod, name)))
                    ACTC_BUG("%s %s not in the module", fn ? "kernel" : "kernel table", name);
                LLVMSetLinkage(e[k], LLVMInternalLinkage);
            }
            v[i] = n > 0 ? cg_const_global(cg, LLVMConstArray2(cg->t_ptr, e, (uint64_t)n), fn ? ".kernels" : ".kernel_tables")
                         : LLVMConstNull(cg->t_ptr);
            break;
        }
        }
    }
    return LLVMConstNamedStruct(abi_llvm_type(cg, s), v, (unsigned)s->nfields);
}

LLVMValueRef abi_emit_desc(CG *cg, Arena *a, const actrt_desc *d, const char *const *kernel_names,
                           const char *const *table_names, const char *symbol) {
    ArenaMark m = arena_mark(a);
    Names names = {kernel_names, table_names};
    LLVMValueRef init = emit_value(cg, a, &abi_desc, d, &names);
    arena_reset(a, m); /* the value arrays were copied into LLVM's constants */
    LLVMValueRef g = cg_const_global(cg, init, symbol);
    LLVMSetLinkage(g, LLVMInternalLinkage);
    return g;
}

LLVMValueRef abi_emit_variants(CG *cg, Arena *a, const AbiVariant *v, int n, const char *symbol) {
    LLVMTypeRef ty = abi_llvm_type(cg, &abi_variant);
    LLVMValueRef *e = NEW_ARRAY(a, LLVMValueRef, (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        LLVMValueRef f[4] = {cstr(cg, v[i].name), LLVMConstInt(cg->t_i64, v[i].needs, 0), v[i].desc,
                             v[i].weights ? v[i].weights : LLVMConstNull(cg->t_ptr)};
        if (abi_variant.nfields != 4)
            ACTC_BUG("abi_emit_variants: actrt_variant has %d fields", abi_variant.nfields);
        e[i] = LLVMConstNamedStruct(ty, f, 4);
    }
    LLVMValueRef g = cg_const_global(cg, LLVMConstArray2(ty, e, (uint64_t)n), symbol);
    LLVMSetLinkage(g, LLVMInternalLinkage);
    return g;
}
