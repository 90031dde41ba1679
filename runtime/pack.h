/*
 * pack.h — the packed-weight layouts of runtime.h (ACTRT_LAYOUT_*) as index
 * arithmetic, shared by libactrt (model.c, which packs from row-major
 * tensors) and the embedded runtime (embedded.c, which repacks one
 * variant's packed weights into another variant's layouts at create).
 * Freestanding.
 */
#ifndef ACTC_RUNTIME_PACK_H
#define ACTC_RUNTIME_PACK_H

#include <stdbool.h>
#include <stdint.h>

#include "actc/runtime.h"

/* Bytes of one element of a packed weight stored as elem (ACTRT_ELEM_*), 0 for an unknown type. */
static inline int rt_elem_size(int32_t elem) {
    return elem == ACTRT_ELEM_F32 ? 4 : elem == ACTRT_ELEM_BF16 || elem == ACTRT_ELEM_F16 ? 2
                                    : elem == ACTRT_ELEM_I8                                ? 1
                                                                                           : 0;
}

/* An int8 PANEL slot: the byte offsets of q (r, c) and of the f32 scale of
 * row r, group g (runtime.h, ACTRT_ELEM_I8). */
static inline int64_t rt_i8_q_at(const actrt_weight_desc *w, int64_t r, int64_t c) {
    return (r / w->panel) * actrt_panel_bytes(w) + c * w->panel + r % w->panel;
}
static inline int64_t rt_i8_s_at(const actrt_weight_desc *w, int64_t r, int64_t g) {
    return (r / w->panel) * actrt_panel_bytes(w) + w->k * w->panel + (g * w->panel + r % w->panel) * 4;
}

/* Elements in packed weight slot w (a PANEL slot is padded to whole panels). */
static inline int64_t rt_packed_count(const actrt_weight_desc *w) {
    if (w->layout == ACTRT_LAYOUT_KN)
        return w->n * w->k;
    if (w->layout == ACTRT_LAYOUT_PANEL)
        return (w->n + w->panel - 1) / w->panel * w->panel * w->k;
    return w->n;
}

/* Where element (r, c) of the slice (row r of n, column c of k; c = 0 for
 * a vector) is in the packed slot. */
static inline int64_t rt_packed_index(const actrt_weight_desc *w, int64_t r, int64_t c) {
    if (w->layout == ACTRT_LAYOUT_KN)
        return c * w->n + r;
    if (w->layout == ACTRT_LAYOUT_PANEL)
        return (r / w->panel) * w->panel * w->k + c * w->panel + r % w->panel;
    return r;
}

/* Do two slots hold the same slice of the same tensor (in any layout)? */
static inline bool rt_same_slice(const actrt_weight_desc *a, const actrt_weight_desc *b) {
    return a->tensor == b->tensor && a->lo == b->lo && a->n == b->n && a->k == b->k && a->elem == b->elem;
}

/* ... and in the same layout, so that one packed array serves both? */
static inline bool rt_same_packing(const actrt_weight_desc *a, const actrt_weight_desc *b) {
    return rt_same_slice(a, b) && a->layout == b->layout && (a->layout != ACTRT_LAYOUT_PANEL || a->panel == b->panel);
}

/* dst (rt_packed_count(dw) elements, the padding zeroed here) from the
 * same slice packed as sw in src, in the same element type (rt_same_slice). */
static inline void rt_repack(const actrt_weight_desc *dw, void *dst, const actrt_weight_desc *sw, const void *src) {
    int64_t count = rt_packed_count(dw), k = dw->layout == ACTRT_LAYOUT_VEC ? 1 : dw->k;
    if (dw->elem == ACTRT_ELEM_I8) { /* values and scales (both slots PANEL) */
        char *d = (char *)dst;
        const char *s = (const char *)src;
        int64_t bytes = actrt_weight_bytes(dw), groups = (k + ACTRT_I8_GROUP - 1) / ACTRT_I8_GROUP;
        for (int64_t i = 0; i < bytes; i++)
            d[i] = 0;
        for (int64_t r = 0; r < dw->n; r++) {
            for (int64_t c = 0; c < k; c++)
                d[rt_i8_q_at(dw, r, c)] = s[rt_i8_q_at(sw, r, c)];
            for (int64_t g = 0; g < groups; g++)
                for (int b = 0; b < 4; b++)
                    d[rt_i8_s_at(dw, r, g) + b] = s[rt_i8_s_at(sw, r, g) + b];
        }
        return;
    }
    if (rt_elem_size(dw->elem) == 2) {
        uint16_t *d = (uint16_t *)dst;
        const uint16_t *s = (const uint16_t *)src;
        for (int64_t i = 0; i < count; i++)
            d[i] = 0;
        for (int64_t r = 0; r < dw->n; r++)
            for (int64_t c = 0; c < k; c++)
                d[rt_packed_index(dw, r, c)] = s[rt_packed_index(sw, r, c)];
        return;
    }
    float *d = (float *)dst;
    const float *s = (const float *)src;
    for (int64_t i = 0; i < count; i++)
        d[i] = 0;
    for (int64_t r = 0; r < dw->n; r++)
        for (int64_t c = 0; c < k; c++)
            d[rt_packed_index(dw, r, c)] = s[rt_packed_index(sw, r, c)];
}

#endif
