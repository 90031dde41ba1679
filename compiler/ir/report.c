/*
 * report.c — the fusion report (actc dump --fused) and the Graphviz view of
 * the kernel graph (actc dump --dot).  Read-only over a KGraph.  The report
 * is what users read to learn what was fused and why something was not
 * (anchors.md: oneDNN users cannot tell, #1074): one block per kernel with
 * the source lines it covers, its inputs, weights and epilogue expressions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static void put_weight(StrBuf *sb, const WeightRef *w) {
    sb_puts(sb, w->name);
    if (w->cols)
        sb_printf(sb, " [%lld, %lld]", (long long)w->full_rows, (long long)w->cols);
    else
        sb_printf(sb, " [%lld]", (long long)w->full_rows);
    if (w->lo != 0 || w->rows != w->full_rows)
        sb_printf(sb, " rows %lld..%lld", (long long)w->lo, (long long)(w->lo + w->rows));
}

static void put_leaf(StrBuf *sb, const Kernel *k, const Leaf *lf) {
    switch (lf->kind) {
    case LF_ACC: sb_puts(sb, k->kind == K_DENSE ? "acc" : lf->acc == 0 ? "a" : "b"); break;
    case LF_TENSOR:
        sb_puts(sb, lf->val->name);
        if (lf->col0 || lf->val->n != k->n)
            sb_printf(sb, "[:, %lld:%lld]", (long long)lf->col0, (long long)(lf->col0 + k->n));
        break;
    case LF_VEC:
        sb_puts(sb, lf->vec.name);
        if (lf->vec.lo != 0 || lf->vec.rows != lf->vec.full_rows)
            sb_printf(sb, "[%lld:%lld]", (long long)lf->vec.lo, (long long)(lf->vec.lo + lf->vec.rows));
        break;
    }
}

/* An expression; nodes listed in `named` print as their temporary name. */
static void put_ep(StrBuf *sb, const Kernel *k, const Ep *e, const bool *named, bool top) {
    if (!top && named[e->id]) {
        sb_printf(sb, "$%d", e->id);
        return;
    }
    switch (e->op) {
    case OP_LEAF: put_leaf(sb, k, &k->leaves[e->leaf]); return;
    case OP_CONST: sb_put_double(sb, e->p[0], false); return;
    default: break;
    }
    sb_printf(sb, "%s(", op_info[e->op].name);
    for (int j = 0; j < e->nin; j++) {
        if (j)
            sb_puts(sb, ", ");
        put_ep(sb, k, e->in[j], named, false);
    }
    for (int j = 0; j < e->np; j++) {
        sb_puts(sb, j || e->nin ? ", " : "");
        sb_put_double(sb, e->p[j], false);
    }
    sb_putc(sb, ')');
}

/* Shared (non-leaf) epilogue nodes get a temporary: returns the flags. */
static bool *shared_nodes(Session *s, const Kernel *k, Ep **list, int n) {
    int *refs = NEW_ARRAY(&s->scratch, int, (size_t)k->neps + 2);
    bool *named = NEW_ARRAY(&s->scratch, bool, (size_t)k->neps + 2);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < list[i]->nin; j++)
            refs[list[i]->in[j]->id]++;
    for (int j = 0; j < k->nouts; j++)
        refs[k->outs[j]->id]++;
    for (int i = 0; i < n; i++)
        named[list[i]->id] = refs[list[i]->id] > 1 && list[i]->op != OP_LEAF && list[i]->op != OP_CONST;
    return named;
}

const char *ep_print(Session *s, const Kernel *k, const Ep *e) {
    int n;
    Ep **list = ep_postorder(&s->scratch, k, &n);
    bool *named = shared_nodes(s, k, list, n);
    StrBuf sb;
    sb_init(&sb, &s->perm);
    put_ep(&sb, k, e, named, true);
    return sb_str(&sb);
}

static void put_value(StrBuf *sb, KGraph *kg, const Value *v) {
    Graph *g = kg->g;
    if (g->batch_name)
        sb_printf(sb, "%s [%s, %lld]", v->name, g->batch_name, (long long)v->n);
    else
        sb_printf(sb, "%s [%lld, %lld]", v->name, (long long)g->batch_value, (long long)v->n);
}

static void report_kernel(StrBuf *sb, KGraph *kg, Kernel *k) {
    Session *s = kg->g->s;
    sb_printf(sb, "kernel %d: %s", k->id, kernel_kind_name(k->kind));
    if (k->kind == K_ROW)
        sb_printf(sb, " %s", op_info[k->row_op].name);
    if (k->line_lo == k->line_hi)
        sb_printf(sb, "    line %u", k->line_lo);
    else if (k->line_lo <= k->line_hi)
        sb_printf(sb, "    lines %u-%u", k->line_lo, k->line_hi);
    /* a kernel from a block's body (language.md §3.7): the block and its lines there */
    const char *blk = NULL;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < k->nsrcs; i++) {
        const KSource *src = &k->srcs[i];
        if (!src->prov || !src->prov->block || (blk && strcmp(blk, src->prov->block) != 0) ||
            src->span.file >= (uint32_t)s->diag.nsources || src->span.end == 0)
            continue;
        blk = src->prov->block;
        uint32_t line, col;
        source_line_col(s->diag.sources[src->span.file], src->span.start, &line, &col);
        lo = line < lo ? line : lo;
        hi = line > hi ? line : hi;
    }
    if (blk && lo == hi)
        sb_printf(sb, " (block '%s', line %u)", blk, lo);
    else if (blk)
        sb_printf(sb, " (block '%s', lines %u-%u)", blk, lo, hi);
    sb_putc(sb, '\n');
    if (kernel_is_matmul(k->kind)) {
        sb_puts(sb, "  input   ");
        put_value(sb, kg, k->x);
        sb_printf(sb, "  (K = %lld)\n", (long long)k->k);
        for (int a = 0; a < k->nacc; a++) {
            sb_puts(sb, k->kind == K_DENSE ? "  weight  " : a == 0 ? "  a       " : "  b       ");
            put_weight(sb, &k->w[a]);
            sb_putc(sb, '\n');
        }
    }
    int n;
    Ep **list = ep_postorder(&s->scratch, k, &n);
    bool *named = shared_nodes(s, k, list, n);
    for (int i = 0; i < n; i++)
        if (named[list[i]->id]) {
            sb_printf(sb, "  let     $%d = ", list[i]->id);
            put_ep(sb, k, list[i], named, true);
            sb_putc(sb, '\n');
        }
    if (k->kind == K_ROW) {
        sb_puts(sb, "  row in  ");
        put_ep(sb, k, k->outs[0], named, false);
        sb_puts(sb, "\n  out     ");
        put_value(sb, kg, k->out_vals[0]);
        sb_printf(sb, " = %s(row in", op_info[k->row_op].name);
        if (k->has_gamma) {
            sb_puts(sb, ", ");
            put_weight(sb, &k->gamma);
        }
        if (k->has_beta) {
            sb_puts(sb, ", ");
            put_weight(sb, &k->beta);
        }
        if (k->row_op == OP_LAYERNORM || k->row_op == OP_RMSNORM) {
            sb_puts(sb, ", eps ");
            sb_put_double(sb, k->eps, false);
        }
        sb_puts(sb, ")\n");
        return;
    }
    for (int j = 0; j < k->nouts; j++) {
        sb_puts(sb, "  out     ");
        put_value(sb, kg, k->out_vals[j]);
        sb_puts(sb, " = ");
        put_ep(sb, k, k->outs[j], named, false); /* a shared node prints as its temporary */
        sb_putc(sb, '\n');
    }
}

/* When ref reads tensor ti: add line to lines (sorted, distinct) and
 * return 1; else 0. */
static int add_line(const WeightRef *ref, int ti, uint32_t line, uint32_t *lines, int *n, int cap) {
    if (ref->tensor != ti)
        return 0;
    int i = 0;
    while (i < *n && lines[i] < line)
        i++;
    if ((i < *n && lines[i] == line) || *n == cap)
        return 1;
    memmove(lines + i + 1, lines + i, (size_t)(*n - i) * sizeof *lines);
    lines[i] = line;
    (*n)++;
    return 1;
}

/* language.md §7.5: a layer called again with shared = true, the kernels
 * that read its tensors and their first lines. */
static void report_shared(StrBuf *sb, const KGraph *kg) {
    const Decl *m = kg->g->model;
    for (int ti = 0; ti < m->ntensors; ti++) {
        const ParamTensor *t = &m->tensors[ti];
        if (t->uses < 2 || (ti > 0 && strcmp(m->tensors[ti - 1].layer, t->layer) == 0))
            continue;
        enum { CAP = 16 };
        uint32_t lines[CAP];
        int n = 0, readers = 0;
        for (int i = 0; i < kg->nkernels; i++) {
            const Kernel *k = kg->kernels[i];
            int reads = 0;
            for (int j = 0; j < (k->kind == K_GATED ? 2 : k->kind == K_DENSE ? 1 : 0); j++)
                reads += add_line(&k->w[j], ti, k->line_lo, lines, &n, CAP);
            if (k->has_gamma)
                reads += add_line(&k->gamma, ti, k->line_lo, lines, &n, CAP);
            if (k->has_beta)
                reads += add_line(&k->beta, ti, k->line_lo, lines, &n, CAP);
            for (int j = 0; j < k->nleaves; j++)
                if (k->leaves[j].kind == LF_VEC)
                    reads += add_line(&k->leaves[j].vec, ti, k->line_lo, lines, &n, CAP);
            readers += reads > 0;
        }
        uint32_t def, col;
        source_line_col(kg->g->s->diag.sources[t->span.file], t->span.start, &def, &col);
        sb_printf(sb, "shared: %s '%s' (line %u), %d calls; its tensors are read once", t->kind, t->layer, def,
                  t->uses);
        if (n) {
            sb_printf(sb, ", by %d kernel%s (line%s ", readers, readers == 1 ? "" : "s", n == 1 ? "" : "s");
            for (int i = 0; i < n; i++)
                sb_printf(sb, "%s%u", i ? ", " : "", lines[i]);
            sb_putc(sb, ')');
        }
        sb_putc(sb, '\n');
    }
}

const char *kgraph_report(KGraph *kg) {
    StrBuf sb;
    sb_init(&sb, &kg->g->s->perm);
    int ndense = 0, ngated = 0;
    for (int i = 0; i < kg->nkernels; i++) {
        ndense += kg->kernels[i]->kind == K_DENSE;
        ngated += kg->kernels[i]->kind == K_GATED;
    }
    sb_printf(&sb, "model %s: %d kernel%s (%d %s, %d %s, %d other)\n", kg->g->name, kg->nkernels,
              kg->nkernels == 1 ? "" : "s", ndense, kernel_kind_name(K_DENSE), ngated, kernel_kind_name(K_GATED),
              kg->nkernels - ndense - ngated);
    for (int i = 0; i < kg->nkernels; i++)
        report_kernel(&sb, kg, kg->kernels[i]);
    for (int i = 0; i < kg->g->naffines; i++) { /* pass_fold_affine's decisions */
        const IrAffine *a = &kg->g->affines[i];
        uint32_t line, col;
        source_line_col(kg->g->s->diag.sources[a->add->span.file], a->add->span.start, &line, &col);
        if (a->folded_into)
            sb_printf(&sb, "folded: %s '%s' (line %u) into the weight and bias of %s %s\n", a->op, a->layer, line,
                      !a->before                     ? "the dense layer before it:"
                      : strchr(a->folded_into, ',') ? "the dense layers after it:"
                                                    : "the dense layer after it:",
                      a->folded_into);
        else
            sb_printf(&sb, "kept: %s '%s' (line %u) as x * scale + shift in a kernel's epilogue (%s)\n", a->op,
                      a->layer, line, a->kept_because ? a->kept_because : "no dense layer next to it to fold into");
    }
    report_shared(&sb, kg);
    if (kg->nnotes == 0) {
        sb_puts(&sb, "every activation is fused into a matmul\n");
    } else {
        sb_puts(&sb, "not fused into a matmul:\n");
        for (int i = 0; i < kg->nnotes; i++)
            sb_printf(&sb, "  %s\n", kg->notes[i]);
    }
    return sb_str(&sb);
}

/* ---- Graphviz ---- */

static void dot_escape(StrBuf *sb, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_putc(sb, '\\');
        sb_putc(sb, *s);
    }
}

const char *kgraph_dot(KGraph *kg) {
    Session *s = kg->g->s;
    StrBuf sb;
    sb_init(&sb, &s->perm);
    sb_puts(&sb, "digraph \"");
    dot_escape(&sb, kg->g->name);
    sb_puts(&sb, "\" {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n");
    for (int i = 0; i < kg->nvalues; i++) {
        Value *v = kg->values[i];
        sb_printf(&sb, "  v%d [shape=%s, label=\"", v->id, v->kind == V_TEMP ? "ellipse" : "doubleoctagon");
        dot_escape(&sb, v->name);
        sb_printf(&sb, "\\n[%lld]\"];\n", (long long)v->n);
    }
    for (int i = 0; i < kg->nkernels; i++) {
        Kernel *k = kg->kernels[i];
        sb_printf(&sb, "  subgraph cluster_k%d {\n    label=\"kernel %d: %s\"; style=rounded; color=blue;\n", k->id,
                  k->id, kernel_kind_name(k->kind));
        for (int a = 0; a < k->nacc; a++) {
            sb_printf(&sb, "    k%d_w%d [shape=box, style=filled, fillcolor=lightyellow, label=\"matmul ", k->id, a);
            dot_escape(&sb, k->w[a].name);
            sb_puts(&sb, "\"];\n");
        }
        int n;
        Ep **list = ep_postorder(&s->scratch, k, &n);
        for (int e = 0; e < n; e++) {
            Ep *ep = list[e];
            if (ep->op == OP_LEAF && k->leaves[ep->leaf].kind == LF_ACC)
                continue;
            StrBuf lb;
            sb_init(&lb, &s->scratch);
            if (ep->op == OP_LEAF)
                put_leaf(&lb, k, &k->leaves[ep->leaf]);
            else if (ep->op == OP_CONST)
                sb_put_double(&lb, ep->p[0], false);
            else
                sb_puts(&lb, op_info[ep->op].name);
            sb_printf(&sb, "    k%d_e%d [shape=%s, label=\"", k->id, ep->id, ep->op == OP_LEAF ? "plaintext" : "box");
            dot_escape(&sb, sb_str(&lb));
            sb_puts(&sb, "\"];\n");
        }
        for (int e = 0; e < n; e++)
            for (int j = 0; j < list[e]->nin; j++) {
                Ep *o = list[e]->in[j];
                if (o->op == OP_LEAF && k->leaves[o->leaf].kind == LF_ACC)
                    sb_printf(&sb, "    k%d_w%d -> k%d_e%d;\n", k->id, k->leaves[o->leaf].acc, k->id, list[e]->id);
                else
                    sb_printf(&sb, "    k%d_e%d -> k%d_e%d;\n", k->id, o->id, k->id, list[e]->id);
            }
        sb_puts(&sb, "  }\n");
        if (k->x)
            for (int a = 0; a < k->nacc; a++)
                sb_printf(&sb, "  v%d -> k%d_w%d;\n", k->x->id, k->id, a);
        for (int l = 0; l < k->nleaves; l++)
            if (k->leaves[l].kind == LF_TENSOR)
                for (int e = 0; e < n; e++)
                    if (list[e]->op == OP_LEAF && list[e]->leaf == l)
                        sb_printf(&sb, "  v%d -> k%d_e%d;\n", k->leaves[l].val->id, k->id, list[e]->id);
        for (int j = 0; j < k->nouts; j++) {
            Ep *o = k->outs[j];
            bool acc = o->op == OP_LEAF && k->leaves[o->leaf].kind == LF_ACC;
            if (acc)
                sb_printf(&sb, "  k%d_w%d -> v%d;\n", k->id, k->leaves[o->leaf].acc, k->out_vals[j]->id);
            else if (k->kind == K_ROW)
                sb_printf(&sb, "  k%d_e%d -> v%d [label=\"%s\"];\n", k->id, o->id, k->out_vals[j]->id,
                          op_info[k->row_op].name);
            else
                sb_printf(&sb, "  k%d_e%d -> v%d;\n", k->id, o->id, k->out_vals[j]->id);
        }
    }
    sb_puts(&sb, "}\n");
    return sb_str(&sb);
}
