/*
 * layers.c — the layer table (docs/language.md §7, §5 prelu, §8 norms): for
 * each layer kind, the learned tensors it declares, in order, with the rule
 * that gives each dimension from the operand's features and the constant
 * arguments, the argument that switches an optional tensor on (bias =
 * true), the element type, and the rule for the result's features.  The
 * checker declares a layer's tensors from this table once (check_rules.c);
 * lowering and the runtime descriptor read what it recorded.
 */
#include "front.h"

/* Dimension rules: LD_IN is the operand's features, k >= 0 the value of
 * constant parameter k (builtins.c order). */
enum { LD_IN = -1 };

static const LayerKind kinds[LAYER_COUNT] = {
    [LAYER_DENSE] = {LAYER_DENSE, BI_DENSE, "dense", 2,
                     {{"weight", 2, {0, LD_IN}, -1, ELEM_F32}, {"bias", 1, {0, 0}, 1, ELEM_F32}}, 0},
    [LAYER_PRELU] = {LAYER_PRELU, BI_PRELU, "prelu", 1, {{"weight", 1, {0, 0}, -1, ELEM_F32}}, LD_IN},
    [LAYER_LAYERNORM] = {LAYER_LAYERNORM, BI_LAYERNORM, "layernorm", 2,
                         {{"weight", 1, {LD_IN, 0}, -1, ELEM_F32}, {"bias", 1, {LD_IN, 0}, 1, ELEM_F32}}, LD_IN},
    [LAYER_RMSNORM] = {LAYER_RMSNORM, BI_RMSNORM, "rmsnorm", 1, {{"weight", 1, {LD_IN, 0}, -1, ELEM_F32}}, LD_IN},
    /* nn.BatchNorm1d's state_dict (num_batches_tracked is not read) */
    [LAYER_BATCHNORM] = {LAYER_BATCHNORM, BI_BATCHNORM, "batchnorm", 4,
                         {{"weight", 1, {LD_IN, 0}, -1, ELEM_F32}, {"bias", 1, {LD_IN, 0}, -1, ELEM_F32},
                          {"running_mean", 1, {LD_IN, 0}, -1, ELEM_F32}, {"running_var", 1, {LD_IN, 0}, -1, ELEM_F32}},
                         LD_IN},
    [LAYER_AFFINE] = {LAYER_AFFINE, BI_AFFINE, "affine", 2,
                      {{"weight", 1, {LD_IN, 0}, -1, ELEM_F32}, {"bias", 1, {LD_IN, 0}, -1, ELEM_F32}}, LD_IN},
};

const LayerKind *layer_kind(LayerId id) { return id >= 0 && id < LAYER_COUNT ? &kinds[id] : NULL; }

const LayerKind *layer_of_builtin(BuiltinId bi) {
    for (int i = 0; i < LAYER_COUNT; i++)
        if (kinds[i].builtin == bi)
            return &kinds[i];
    return NULL;
}

static int64_t dim(int rule, int64_t in_features, const double *consts) {
    return rule == LD_IN ? in_features : (int64_t)consts[rule];
}

bool layer_tensor_present(const LayerKind *k, int t, const double *consts) {
    return k->tensors[t].when < 0 || consts[k->tensors[t].when] != 0;
}

Shape layer_tensor_shape(const LayerKind *k, int t, int64_t in_features, const double *consts) {
    const LayerTensorSpec *ts = &k->tensors[t];
    Shape s = {.rank = ts->rank};
    for (int i = 0; i < ts->rank; i++)
        s.dim[i] = dim(ts->dims[i], in_features, consts);
    return s;
}

int64_t layer_result_features(const LayerKind *k, int64_t in_features, const double *consts) {
    return dim(k->result, in_features, consts);
}
