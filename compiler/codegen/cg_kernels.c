/*
 * cg_kernels.c — loop skeletons around elementwise code: a "map" kernel
 *     void NAME(const float *in0, ..., float *out, int64_t n)
 * runs a vector body of vlen lanes and a scalar tail, calling back to emit
 * the per-lane expression (vm_op and friends) once for each shape.  Used by
 * the accuracy tool and tests now, and by the elementwise kernels of the
 * code generator.
 */
#include "codegen.h"

/* One loop: for (; i + step <= n; i += step) out[i..] = fn(in[i..]). */
static LLVMValueRef emit_loop(CG *cg, LLVMValueRef f, LLVMValueRef *params, int nin, int step, LLVMValueRef i0,
                              LLVMValueRef n, MapFn fn, void *ud, const char *tag) {
    LLVMBuilderRef b = cg->b;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(cg->ctx, f, tag);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, f, "body");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, f, "done");
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef i = LLVMBuildPhi(b, cg->t_i64, "i");
    LLVMValueRef next = LLVMBuildAdd(b, i, LLVMConstInt(cg->t_i64, (unsigned long long)step, 0), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLE, next, n, ""), body, done);
    LLVMPositionBuilderAtEnd(b, body);
    VM vm;
    vm_init(&vm, cg, step);
    LLVMValueRef ins[4];
    for (int k = 0; k < nin; k++) {
        LLVMValueRef p = LLVMBuildGEP2(b, cg->t_f32, params[k], &i, 1, "");
        ins[k] = LLVMBuildLoad2(b, vm.tf, p, "");
        LLVMSetAlignment(ins[k], 4); /* caller buffers need only f32 alignment */
    }
    LLVMValueRef r = fn(&vm, ins, ud);
    LLVMValueRef q = LLVMBuildGEP2(b, cg->t_f32, params[nin], &i, 1, "");
    LLVMSetAlignment(LLVMBuildStore(b, r, q), 4);
    LLVMBasicBlockRef last = LLVMGetInsertBlock(b);
    LLVMBuildBr(b, head);
    LLVMValueRef in_vals[2] = {i0, next};
    LLVMBasicBlockRef in_blocks[2] = {pre, last};
    LLVMAddIncoming(i, in_vals, in_blocks, 2);
    LLVMPositionBuilderAtEnd(b, done);
    return i;
}

LLVMValueRef cg_emit_map(CG *cg, const char *name, int nin, int vlen, MapFn fn, void *ud) {
    LLVMTypeRef args[6];
    for (int k = 0; k <= nin; k++)
        args[k] = cg->t_ptr;
    args[nin + 1] = cg->t_i64;
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), args, (unsigned)nin + 2, 0);
    LLVMValueRef f = LLVMAddFunction(cg->mod, name, fty);
    LLVMValueRef params[6];
    for (int k = 0; k <= nin + 1; k++)
        params[k] = LLVMGetParam(f, (unsigned)k);
    for (int k = 0; k <= nin; k++) /* buffers do not overlap the output */
        LLVMAddAttributeAtIndex(f, (unsigned)k + 1,
                                LLVMCreateEnumAttribute(cg->ctx, LLVMGetEnumAttributeKindForName("noalias", 7), 0));
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, f, "entry"));
    LLVMValueRef n = params[nin + 1];
    LLVMValueRef i = LLVMConstInt(cg->t_i64, 0, 0);
    if (vlen > 1)
        i = emit_loop(cg, f, params, nin, vlen, i, n, fn, ud, "vec");
    emit_loop(cg, f, params, nin, 1, i, n, fn, ud, "tail");
    LLVMBuildRetVoid(cg->b);
    return f;
}
