/*
 * pass_fuse.c — graph -> kernel graph (docs/ir.md §5).
 *
 * Materialisation points ("roots") are the values that must exist in memory:
 * the input of every matmul and row-wise op, every row-wise result, every
 * model output and the operand of a split that is not a matmul.  Every other
 * elementwise node and matmul belongs to the expression tree of the root that
 * consumes it, which becomes one kernel:
 *   0 matmuls in the tree -> elementwise kernel,
 *   1 matmul              -> fused_dense (bias, activation, residual, ... in
 *                            the epilogue),
 *   2 matmuls on the same input with the same K -> fused_gated_dense.
 * A matmul (or an expression containing one) reached from two roots, or a
 * third matmul, or two matmuls on different inputs, becomes a root itself so
 * that no matmul is computed twice.  Cheap elementwise expressions shared by
 * two roots are recomputed in both.
 *
 * Then: an elementwise kernel that only reads the results of one matmul
 * kernel (and values ready before it) is merged into that kernel as another
 * output — so a pre-activation that is also used elsewhere still gets its
 * activation fused; a row-wise op absorbs an elementwise kernel that only it
 * reads (prologue); every activation left outside a matmul kernel gets a note
 * saying why.
 *
 * Requires: passes through split-matmul (no OP_CALL).  Produces a KGraph whose
 * kernels carry their own epilogue expressions (Ep): code generation and the
 * kernel interpreter never look at the graph again.
 */
#include <string.h>

#include "ir.h"

typedef struct Info {
    bool root;
    int owner;       /* root id that claimed this node, -1 none */
    bool has_mm;     /* its tree (through non-roots) contains a matmul */
    Value *val;      /* for roots and inputs: the buffer */
} Info;

typedef struct Fuser {
    Graph *g;
    KGraph *kg;
    Info *info;      /* by node id */
    Session *s;
} Fuser;

static Info *I(Fuser *f, const Node *n) { return &f->info[n->id]; }

static bool is_leaf_node(Fuser *f, const Node *n) {
    return n->op == OP_INPUT || n->op == OP_PARAM || n->op == OP_CONST || I(f, n)->root ||
           op_info[n->op].cls == OC_ROW;
}

/* ---- choosing roots ---- */

static void mark_required_roots(Fuser *f) {
    Graph *g = f->g;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        switch (op_info[n->op].cls) {
        case OC_MATMUL: I(f, n->in[0])->root = true; break;
        case OC_ROW:
            I(f, n->in[0])->root = true;
            I(f, n)->root = true;
            break;
        case OC_OUTPUT:
        case OC_SPLIT: I(f, n->in[0])->root = true; break;
        default: break;
        }
    }
    for (int i = 0; i < g->ninputs; i++)
        I(f, g->inputs[i])->root = false; /* inputs are buffers, not kernels */
}

static void compute_has_mm(Fuser *f) {
    Graph *g = f->g;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        Info *in = I(f, n);
        in->has_mm = n->op == OP_MATMUL;
        if (op_is_elementwise(n->op))
            for (int j = 0; j < n->nin; j++)
                if (!is_leaf_node(f, n->in[j]) && n->in[j]->op != OP_SPLIT && I(f, n->in[j])->has_mm)
                    in->has_mm = true;
    }
}

/* Claim the tree of root r; returns true if a new root had to be made. */
static bool claim(Fuser *f, Node *r, Node *n, Node **mms, int *nmm) {
    bool changed = false;
    for (int j = 0; j < n->nin; j++) {
        Node *o = n->in[j];
        if (is_leaf_node(f, o) || o->op == OP_SPLIT)
            continue;
        Info *oi = I(f, o);
        if (oi->owner >= 0 && oi->owner != r->id && oi->has_mm) {
            oi->root = true; /* shared by two roots: compute it once */
            changed = true;
            continue;
        }
        if (oi->has_mm)
            oi->owner = r->id;
        if (o->op == OP_MATMUL) {
            bool seen = false;
            for (int k = 0; k < *nmm; k++)
                seen = seen || mms[k] == o;
            if (!seen && *nmm < 64)
                mms[(*nmm)++] = o;
            continue;
        }
        changed |= claim(f, r, o, mms, nmm);
    }
    return changed;
}

/* The matmuls under a node, through non-roots: what one kernel may hold is
 * one matmul, or two on the same input with the same K (a gate). */
typedef struct MMSet {
    int n;          /* distinct matmuls, capped at 3 ("too many") */
    Node *m[2];
} MMSet;

static bool mmset_valid(const MMSet *s) {
    return s->n == 1 || (s->n == 2 && s->m[0]->in[0] == s->m[1]->in[0]);
}

static void mmset_add(MMSet *s, Node *m) {
    for (int i = 0; i < s->n && i < 2; i++)
        if (s->m[i] == m)
            return;
    if (s->n < 2)
        s->m[s->n] = m;
    if (s->n < 3)
        s->n++;
}

/* Matmul set of n's subtree; when a node's set is too big, each operand
 * whose own set is a valid kernel becomes a root: activations stay with
 * their matmul and only the combination is left outside. */
static MMSet split_tree(Fuser *f, Node *n, bool is_top, bool *changed) {
    MMSet s = {0};
    if (n->op == OP_MATMUL) {
        mmset_add(&s, n);
        return s;
    }
    if (!is_top && (is_leaf_node(f, n) || n->op == OP_SPLIT))
        return s;
    MMSet part[3];
    for (int j = 0; j < n->nin; j++) {
        part[j] = split_tree(f, n->in[j], false, changed);
        for (int i = 0; i < part[j].n && i < 2; i++)
            mmset_add(&s, part[j].m[i]);
        if (part[j].n > 2)
            s.n = 3;
    }
    if (s.n <= 1 || mmset_valid(&s))
        return s;
    for (int j = 0; j < n->nin; j++)
        if (part[j].n > 0 && mmset_valid(&part[j]) && !is_leaf_node(f, n->in[j])) {
            I(f, n->in[j])->root = true;
            *changed = true;
        }
    return s;
}

static void choose_roots(Fuser *f) {
    Graph *g = f->g;
    mark_required_roots(f);
    for (int iter = 0; iter < 1000; iter++) {
        compute_has_mm(f);
        for (int i = 0; i < g->nnodes; i++)
            I(f, g->nodes[i])->owner = -1;
        bool changed = false;
        for (int i = 0; i < g->nnodes; i++) {
            Node *r = g->nodes[i];
            if (!I(f, r)->root || op_info[r->op].cls == OC_ROW)
                continue;
            Node *mms[64];
            int nmm = r->op == OP_MATMUL ? 1 : 0;
            mms[0] = r;
            changed |= claim(f, r, r, mms, &nmm);
            if (!changed && nmm > 1)
                split_tree(f, r, true, &changed);
        }
        if (!changed)
            return;
    }
    ACTC_BUG("fusion did not converge");
}

/* ---- building kernels ---- */

static Value *new_value(Fuser *f, int64_t n, const char *name) {
    Value *v = NEW(&f->s->perm, Value);
    v->id = f->kg->nvalues;
    v->kind = V_TEMP;
    v->n = n;
    v->name = name;
    VEC_PUSH(&f->s->perm, f->kg->values, f->kg->nvalues, f->kg->capvalues, v);
    return v;
}

static Kernel *new_kernel(Fuser *f, KernelKind kind, int64_t n) {
    Kernel *k = NEW(&f->s->perm, Kernel);
    k->kind = kind;
    k->n = n;
    k->line_lo = UINT32_MAX;
    VEC_PUSH(&f->s->perm, f->kg->kernels, f->kg->nkernels, f->kg->capkernels, k);
    return k;
}

/* Source lines of the model's body that the kernel covers (inlined bodies
 * of user functions keep their own spans, outside the model: not counted). */
static void cover(Fuser *f, Kernel *k, Span sp) {
    Span m = f->g->model->span;
    if (sp.file >= (uint32_t)f->s->diag.nsources || sp.end == 0 || sp.file != m.file || sp.start < m.start ||
        sp.end > m.end)
        return;
    uint32_t line, col;
    source_line_col(f->s->diag.sources[sp.file], sp.start, &line, &col);
    if (line < k->line_lo)
        k->line_lo = line;
    if (line > k->line_hi)
        k->line_hi = line;
}

/* Provenance: k absorbed a node from `sp` with call chain `prov`.  Kept in
 * node order; a (span, chain) already listed keeps the earlier node. */
static void add_src(Fuser *f, Kernel *k, KSource src) {
    for (int i = 0; i < k->nsrcs; i++) {
        KSource *o = &k->srcs[i];
        if (o->span.file == src.span.file && o->span.start == src.span.start && o->span.end == src.span.end &&
            prov_equal(o->prov, src.prov)) {
            if (src.node >= o->node)
                return;
            memmove(o, o + 1, sizeof *o * (size_t)(k->nsrcs - i - 1));
            k->nsrcs--;
            break;
        }
    }
    VEC_PUSH(&f->s->perm, k->srcs, k->nsrcs, k->capsrcs, src);
    int i = k->nsrcs - 1;
    for (; i > 0 && k->srcs[i - 1].node > src.node; i--)
        k->srcs[i] = k->srcs[i - 1];
    k->srcs[i] = src;
}

static void absorb(Fuser *f, Kernel *k, const Node *n) {
    cover(f, k, node_site(n).end ? node_site(n) : n->span);
    add_src(f, k, (KSource){.span = n->span, .prov = n->prov, .node = n->id});
}

/* dst takes over src's sources (src is merged into dst) */
static void take_srcs(Fuser *f, Kernel *dst, const Kernel *src) {
    for (int i = 0; i < src->nsrcs; i++)
        add_src(f, dst, src->srcs[i]);
}

static int add_leaf(Fuser *f, Kernel *k, Leaf lf) {
    for (int i = 0; i < k->nleaves; i++) {
        Leaf *o = &k->leaves[i];
        if (o->kind == lf.kind && o->acc == lf.acc && o->val == lf.val && o->col0 == lf.col0 &&
            (lf.kind != LF_VEC || (strcmp(o->vec.name, lf.vec.name) == 0 && o->vec.lo == lf.vec.lo)))
            return i;
    }
    VEC_PUSH(&f->s->perm, k->leaves, k->nleaves, k->capleaves, lf);
    return k->nleaves - 1;
}

static WeightRef weight_of(const Node *p) {
    return (WeightRef){.name = p->name, .tensor = p->tensor, .elem = p->elem, .lo = p->lo, .rows = p->cnt, .cols = p->cols, .full_rows = p->rows,
                       .span = p->span};
}

static Ep *ep_new(Fuser *f, Op op, Span sp) {
    Ep *e = NEW(&f->s->perm, Ep);
    e->op = op;
    e->span = sp;
    e->site = sp;
    return e;
}

static Ep *ep_leaf(Fuser *f, Kernel *k, Leaf lf, Span sp) {
    Ep *e = ep_new(f, OP_LEAF, sp);
    e->leaf = add_leaf(f, k, lf);
    return e;
}

typedef struct Memo {
    const Node **keys;
    Ep **vals;
    int n, cap;
} Memo;

static Ep *build_ep(Fuser *f, Kernel *k, Memo *m, Node *r, const Node *n);
static Ep *build_ep_node(Fuser *f, Kernel *k, Memo *m, Node *r, const Node *n);

static Ep *build_operand(Fuser *f, Kernel *k, Memo *m, Node *r, const Node *o) {
    for (int i = 0; i < m->n; i++)
        if (m->keys[i] == o)
            return m->vals[i];
    Ep *e = build_ep(f, k, m, r, o);
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->keys = arena_realloc(&f->s->scratch, m->keys, sizeof(*m->keys) * (size_t)m->n,
                                sizeof(*m->keys) * (size_t)m->cap, _Alignof(const Node *));
        m->vals = arena_realloc(&f->s->scratch, m->vals, sizeof(*m->vals) * (size_t)m->n,
                                sizeof(*m->vals) * (size_t)m->cap, _Alignof(Ep *));
    }
    m->keys[m->n] = o;
    m->vals[m->n++] = e;
    return e;
}

static Ep *build_ep(Fuser *f, Kernel *k, Memo *m, Node *r, const Node *n) {
    if (n == r || !is_leaf_node(f, n))
        absorb(f, k, n);
    Ep *e = build_ep_node(f, k, m, r, n);
    e->prov = n->prov;
    return e;
}

static Ep *build_ep_node(Fuser *f, Kernel *k, Memo *m, Node *r, const Node *n) {
    if (n->op == OP_CONST) {
        Ep *e = ep_new(f, OP_CONST, n->span);
        e->p[0] = n->p[0];
        e->np = 1;
        return e;
    }
    if (n->op == OP_PARAM)
        return ep_leaf(f, k, (Leaf){.kind = LF_VEC, .vec = weight_of(n)}, n->span);
    if (n->op == OP_SPLIT) {
        const Node *t = n->in[0];
        return ep_leaf(f, k, (Leaf){.kind = LF_TENSOR, .val = I(f, t)->val, .col0 = (int64_t)n->p[1] * node_width(n)},
                       n->span);
    }
    if (n != r && is_leaf_node(f, n))
        return ep_leaf(f, k, (Leaf){.kind = LF_TENSOR, .val = I(f, n)->val}, n->span);
    if (n->op == OP_MATMUL) {
        int a = k->nacc;
        for (int i = 0; i < k->nacc; i++)
            if (strcmp(k->w[i].name, n->in[1]->name) == 0 && k->w[i].lo == n->in[1]->lo)
                a = i;
        if (a == k->nacc) {
            if (k->nacc == 2)
                ACTC_BUG("more than two matmuls in one kernel");
            k->w[a] = weight_of(n->in[1]);
            k->x = I(f, n->in[0])->val;
            k->k = node_width(n->in[0]);
            k->nacc++;
        }
        return ep_leaf(f, k, (Leaf){.kind = LF_ACC, .acc = a}, n->span);
    }
    Ep *e = ep_new(f, n->op, n->span);
    if (node_site(n).end)
        e->site = node_site(n);
    e->nin = n->nin;
    e->np = n->np;
    memcpy(e->p, n->p, sizeof e->p);
    e->origin = n->origin;
    for (int j = 0; j < n->nin; j++)
        e->in[j] = build_operand(f, k, m, r, n->in[j]);
    /* the value of an activation site: its statistics are counted here,
     * on this node and its pre-activation (an operand, built already) */
    Site *sites = f->g->sites;
    for (int i = 0; i < f->g->nsites; i++)
        if (sites[i].same_as < 0 && sites[i].out == n && sites[i].units == k->n && !sites[i].counted) {
            e->stat = i + 1;
            e->stat_pre = build_operand(f, k, m, r, sites[i].pre);
            sites[i].counted = true;
            break;
        }
    return e;
}

static void add_out(Fuser *f, Kernel *k, Ep *e, Value *v) {
    VEC_PUSH(&f->s->perm, k->outs, k->nouts, k->capouts, e);
    int cap = k->capouts; /* out_vals grows in step with outs */
    (void)cap;
    Value **nv = arena_alloc(&f->s->perm, sizeof(Value *) * (size_t)k->capouts, _Alignof(Value *));
    if (k->nouts > 1)
        memcpy(nv, k->out_vals, sizeof(Value *) * (size_t)(k->nouts - 1));
    nv[k->nouts - 1] = v;
    k->out_vals = nv;
    v->producer = k;
}

static void build_row_kernel(Fuser *f, Node *r) {
    Kernel *k = new_kernel(f, K_ROW, node_width(r));
    k->row_op = r->op;
    k->eps = r->np ? r->p[0] : 0;
    absorb(f, k, r);
    if (r->nin > 1) {
        k->gamma = weight_of(r->in[1]);
        k->has_gamma = true;
    }
    if (r->nin > 2) {
        k->beta = weight_of(r->in[2]);
        k->has_beta = true;
    }
    Ep *in = ep_leaf(f, k, (Leaf){.kind = LF_TENSOR, .val = I(f, r->in[0])->val}, r->in[0]->span);
    in->prov = r->in[0]->prov;
    add_out(f, k, in, I(f, r)->val);
}

static void build_kernels(Fuser *f) {
    Graph *g = f->g;
    for (int i = 0; i < g->ninputs; i++) {
        Value *v = new_value(f, node_width(g->inputs[i]), g->inputs[i]->name);
        v->kind = V_INPUT;
        v->index = i;
        I(f, g->inputs[i])->val = v;
        f->kg->inputs[i] = v;
    }
    for (int i = 0; i < g->nnodes; i++) {
        Node *r = g->nodes[i];
        if (I(f, r)->root)
            /* unnamed values print as %N, which no identifier can spell */
            I(f, r)->val = new_value(f, node_width(r), r->hint ? r->hint : arena_printf(&f->s->perm, "%%%d", r->id));
    }
    for (int i = 0; i < g->nnodes; i++) {
        Node *r = g->nodes[i];
        if (!I(f, r)->root)
            continue;
        if (op_info[r->op].cls == OC_ROW) {
            build_row_kernel(f, r);
            continue;
        }
        Kernel *k = new_kernel(f, K_ELEMENTWISE, node_width(r));
        Memo m = {0};
        Ep *e = build_ep(f, k, &m, r, r);
        k->kind = k->nacc == 2 ? K_GATED : k->nacc == 1 ? K_DENSE : K_ELEMENTWISE; /* by its matmuls found */
        add_out(f, k, e, I(f, r)->val);
    }
}

/* ---- outputs ---- */

static void bind_outputs(Fuser *f) {
    Graph *g = f->g;
    for (int i = 0; i < g->noutputs; i++) {
        Node *o = g->outputs[i];
        Value *v = I(f, o->in[0])->val;
        if (v->kind != V_TEMP) {
            /* an input, or a value already returned: copy it */
            Kernel *k = new_kernel(f, K_ELEMENTWISE, v->n);
            Value *copy = new_value(f, v->n, o->name);
            add_out(f, k, ep_leaf(f, k, (Leaf){.kind = LF_TENSOR, .val = v}, o->span), copy);
            absorb(f, k, o);
            v = copy;
        }
        v->kind = V_OUTPUT;
        v->index = i;
        v->name = o->name;
        f->kg->outputs[i] = v;
    }
}

/* ---- merging ---- */

static int kernel_index(KGraph *kg, const Kernel *k) {
    for (int i = 0; i < kg->nkernels; i++)
        if (kg->kernels[i] == k)
            return i;
    return -1;
}

static void remove_kernel(KGraph *kg, Kernel *k) {
    int i = kernel_index(kg, k);
    memmove(&kg->kernels[i], &kg->kernels[i + 1], sizeof(Kernel *) * (size_t)(kg->nkernels - i - 1));
    kg->nkernels--;
}

/* Number of leaves, over all kernels, that read value v. */
static int value_reads(KGraph *kg, const Value *v) {
    int n = 0;
    for (int i = 0; i < kg->nkernels; i++) {
        Kernel *k = kg->kernels[i];
        n += k->x == v;
        for (int j = 0; j < k->nleaves; j++)
            n += k->leaves[j].kind == LF_TENSOR && k->leaves[j].val == v;
    }
    return n;
}

/* Copy src's expression e into dst; leaves that read target's outputs
 * become target's expressions; accumulator a of src becomes acc_base + a. */
static Ep *copy_ep(Fuser *f, Kernel *dst, const Kernel *src, const Ep *e, const Kernel *target, int acc_base,
                   Ep ***memo) {
    if ((*memo)[e->id])
        return (*memo)[e->id];
    Ep *c;
    if (e->op == OP_LEAF) {
        Leaf lf = src->leaves[e->leaf];
        if (lf.kind == LF_ACC)
            lf.acc += acc_base;
        c = NULL;
        if (lf.kind == LF_TENSOR && lf.val->producer == target)
            for (int j = 0; j < target->nouts; j++)
                if (target->out_vals[j] == lf.val)
                    c = target->outs[j];
        if (!c) {
            c = ep_leaf(f, dst, lf, e->span);
            c->prov = e->prov;
        }
    } else {
        c = ep_new(f, e->op, e->span);
        *c = *e;
        for (int j = 0; j < e->nin; j++)
            c->in[j] = copy_ep(f, dst, src, e->in[j], target, acc_base, memo);
        if (e->stat_pre)
            c->stat_pre = copy_ep(f, dst, src, e->stat_pre, target, acc_base, memo);
    }
    (*memo)[e->id] = c;
    return c;
}

static _Thread_local unsigned ep_generation;

static void postorder(Ep *e, unsigned gen, Ep **list, int *n) {
    if (e->stamp == gen)
        return;
    e->stamp = gen;
    for (int j = 0; j < e->nin; j++)
        postorder(e->in[j], gen, list, n);
    if (e->stat_pre) /* a site's pre-activation: evaluated before its value */
        postorder(e->stat_pre, gen, list, n);
    if (list)
        list[*n] = e;
    (*n)++;
}

Ep **ep_postorder(Arena *a, const Kernel *k, int *n) {
    unsigned gen = ++ep_generation;
    *n = 0;
    for (int j = 0; j < k->nouts; j++)
        postorder(k->outs[j], gen, NULL, n);
    Ep **list = NEW_ARRAY(a, Ep *, (size_t)*n + 1);
    gen = ++ep_generation;
    *n = 0;
    for (int j = 0; j < k->nouts; j++)
        postorder(k->outs[j], gen, list, n);
    return list;
}

/* Number a kernel's epilogue nodes 1..neps (operands before users). */
static void number_kernel(Arena *scratch, Kernel *k) {
    int n;
    Ep **list = ep_postorder(scratch, k, &n);
    for (int i = 0; i < n; i++)
        list[i]->id = i + 1;
    k->neps = n;
}

/* Can elementwise kernel e be computed inside matmul kernel k? */
static bool can_merge(KGraph *kg, Kernel *e, Kernel *k) {
    if (e->n != k->n)
        return false;
    int ki = kernel_index(kg, k);
    bool reads_k = false;
    for (int j = 0; j < e->nleaves; j++) {
        Leaf *lf = &e->leaves[j];
        if (lf->kind != LF_TENSOR)
            continue;
        if (lf->val->producer == k) {
            if (lf->col0 != 0 || lf->val->n != k->n)
                return false;
            reads_k = true;
        } else if (lf->val->producer && kernel_index(kg, lf->val->producer) > ki) {
            return false; /* not ready when k runs */
        }
    }
    return reads_k;
}

static void merge_into(Fuser *f, Kernel *e, Kernel *k) {
    number_kernel(&f->s->scratch, e);
    Ep **memo = NEW_ARRAY(&f->s->scratch, Ep *, (size_t)e->neps + 1);
    int acc_base = 0;
    if (e->kind == K_DENSE) { /* pairing two dense kernels: e's matmul is k's second */
        k->w[1] = e->w[0];
        k->nacc = 2;
        k->kind = K_GATED;
        acc_base = 1;
    }
    for (int j = 0; j < e->nouts; j++) {
        Ep *c = copy_ep(f, k, e, e->outs[j], k, acc_base, &memo);
        add_out(f, k, c, e->out_vals[j]);
    }
    if (e->line_lo < k->line_lo)
        k->line_lo = e->line_lo;
    if (e->line_hi > k->line_hi)
        k->line_hi = e->line_hi;
    take_srcs(f, k, e);
    remove_kernel(f->kg, e);
}

/* Drop outputs of k that nothing reads any more. */
static void drop_dead_outs(KGraph *kg, Kernel *k) {
    for (int j = k->nouts - 1; j >= 0 && k->nouts > 1; j--) {
        Value *v = k->out_vals[j];
        if (v->kind == V_OUTPUT || value_reads(kg, v) > 0)
            continue;
        memmove(&k->outs[j], &k->outs[j + 1], sizeof(Ep *) * (size_t)(k->nouts - j - 1));
        memmove(&k->out_vals[j], &k->out_vals[j + 1], sizeof(Value *) * (size_t)(k->nouts - j - 1));
        k->nouts--;
    }
}

static void merge_elementwise(Fuser *f) {
    KGraph *kg = f->kg;
    for (int i = 0; i < kg->nkernels; i++) {
        Kernel *e = kg->kernels[i];
        if (e->kind != K_ELEMENTWISE)
            continue;
        Kernel *target = NULL;
        for (int j = 0; j < e->nleaves; j++) {
            Leaf *lf = &e->leaves[j];
            Kernel *p = lf->kind == LF_TENSOR ? lf->val->producer : NULL;
            if (p && (p->kind == K_DENSE || p->kind == K_GATED) &&
                (!target || kernel_index(kg, p) > kernel_index(kg, target)))
                target = p;
        }
        if (target && can_merge(kg, e, target)) {
            merge_into(f, e, target);
            drop_dead_outs(kg, target);
            i--;
        }
    }
}

/* Are all tensor leaves of e ready before kernel k runs (or k's own)? */
static bool ready_before(KGraph *kg, const Kernel *e, const Kernel *k) {
    int ki = kernel_index(kg, k);
    for (int j = 0; j < e->nleaves; j++) {
        const Leaf *lf = &e->leaves[j];
        if (lf->kind != LF_TENSOR || !lf->val->producer || lf->val->producer == k)
            continue;
        if (kernel_index(kg, lf->val->producer) > ki)
            return false;
    }
    return true;
}

/* Two fused_dense kernels on the same input (same K and N) become one dual
 * GEMM kernel: the input is read once (a gate whose activated projection is
 * also returned, or independent layers on one input).  The later kernel
 * moves to the earlier one's place, so its other inputs must be ready. */
static void pair_dense(Fuser *f) {
    KGraph *kg = f->kg;
    for (int i = 0; i < kg->nkernels; i++) {
        Kernel *e = kg->kernels[i];
        if (e->kind != K_DENSE)
            continue;
        for (int j = 0; j < i; j++) {
            Kernel *k = kg->kernels[j];
            if (k->kind != K_DENSE || k->x != e->x || k->k != e->k || k->n != e->n || !ready_before(kg, e, k))
                continue;
            bool slices = false;
            for (int l = 0; l < e->nleaves; l++)
                slices |= e->leaves[l].kind == LF_TENSOR && e->leaves[l].val->producer == k &&
                          (e->leaves[l].col0 || e->leaves[l].val->n != k->n);
            if (slices)
                continue;
            merge_into(f, e, k);
            drop_dead_outs(kg, k);
            i = -1; /* kernel list changed: start over */
            break;
        }
    }
}

/* ir.h: in a gated kernel, a (w[0]) is the activated projection. */
static void orient_gate(Fuser *f, Kernel *k) {
    bool activated[2] = {false, false};
    int n;
    Ep **list = ep_postorder(&f->s->scratch, k, &n);
    for (int i = 0; i < n; i++) /* nonlinear nodes: mark the accumulators under them */
        if ((op_is_activation(list[i]->op) || op_info[list[i]->op].cls == OC_UNARY) && list[i]->op != OP_NEG)
            for (int j = 0; j < list[i]->nin; j++) {
                int m;
                Kernel tmp = *k;
                tmp.outs = &list[i]->in[j];
                tmp.nouts = 1;
                Ep **sub = ep_postorder(&f->s->scratch, &tmp, &m);
                for (int q = 0; q < m; q++)
                    if (sub[q]->op == OP_LEAF && k->leaves[sub[q]->leaf].kind == LF_ACC)
                        activated[k->leaves[sub[q]->leaf].acc] = true;
            }
    if (!activated[1] || activated[0])
        return;
    WeightRef t = k->w[0];
    k->w[0] = k->w[1];
    k->w[1] = t;
    for (int l = 0; l < k->nleaves; l++)
        if (k->leaves[l].kind == LF_ACC)
            k->leaves[l].acc = 1 - k->leaves[l].acc;
}

/* A row-wise op absorbs the elementwise kernel that only it reads. */
static void absorb_prologues(Fuser *f) {
    KGraph *kg = f->kg;
    for (int i = 0; i < kg->nkernels; i++) {
        Kernel *r = kg->kernels[i];
        if (r->kind != K_ROW)
            continue;
        Value *in = r->leaves[0].val;
        Kernel *e = in->producer;
        if (!e || e->kind != K_ELEMENTWISE || e->nouts != 1 || in->kind == V_OUTPUT || value_reads(kg, in) != 1)
            continue;
        /* the row kernel takes over e's leaves and expression */
        r->leaves = e->leaves;
        r->nleaves = e->nleaves;
        r->capleaves = e->capleaves;
        r->outs[0] = e->outs[0];
        if (e->line_lo < r->line_lo)
            r->line_lo = e->line_lo;
        take_srcs(f, r, e);
        remove_kernel(kg, e);
        i = -1;
    }
}

/* ---- why an activation was not fused into a matmul ---- */

static uint32_t line_of(Fuser *f, Span sp) {
    uint32_t line = 0, col;
    if (sp.file < (uint32_t)f->s->diag.nsources && sp.end)
        source_line_col(f->s->diag.sources[sp.file], sp.start, &line, &col);
    return line;
}

/* Note why an activation computed in kernel k is not in a matmul kernel.
 * The reasons, most specific first: it combines several matmul kernels; it
 * reads a slice of a matmul result; it reads a matmul result that had to be
 * stored (needed elsewhere) while it also needs later values; it follows a
 * row-wise op; it reads a model input. */
static void explain(Fuser *f, Kernel *k) {
    int n;
    Ep **list = ep_postorder(&f->s->scratch, k, &n);
    const Ep *act = NULL;
    for (int i = n - 1; i >= 0 && !act; i--)
        if (op_is_activation(list[i]->op) || (list[i]->origin && list[i]->op == OP_MUL))
            act = list[i];
    if (!act)
        return;
    Kernel *mm[2] = {NULL, NULL}, *row = NULL;
    const Leaf *slice = NULL, *input = NULL, *full = NULL;
    int nmm = 0;
    for (int j = 0; j < k->nleaves; j++) {
        const Leaf *lf = &k->leaves[j];
        if (lf->kind != LF_TENSOR)
            continue;
        Kernel *p = lf->val->producer;
        if (!p) {
            input = lf;
        } else if (p->kind == K_ROW) {
            row = p;
        } else if (p->kind == K_DENSE || p->kind == K_GATED) {
            if (mm[0] != p && mm[1] != p && nmm < 2)
                mm[nmm++] = p;
            if (lf->col0 || lf->val->n != k->n)
                slice = lf;
            else
                full = lf;
        }
    }
    const char *why;
    if (nmm >= 2)
        why = arena_printf(&f->s->perm, "it combines the results of kernels %d and %d, matmuls that cannot share "
                                        "one kernel", mm[0]->id, mm[1]->id);
    else if (slice)
        why = arena_printf(&f->s->perm, "it reads a slice of '%s', the output of kernel %d", slice->val->name,
                           slice->val->producer->id);
    else if (full)
        why = arena_printf(&f->s->perm, "'%s' (kernel %d) is also used elsewhere, and this expression needs values "
                                        "computed after it", full->val->name, full->val->producer->id);
    else if (row)
        why = arena_printf(&f->s->perm, "it follows the row-wise op %s (kernel %d)", op_info[row->row_op].name,
                           row->id);
    else if (input)
        why = arena_printf(&f->s->perm, "it reads the model input '%s', which no matmul produces", input->val->name);
    else
        why = "no matmul produces its operand";
    const char *name = act->origin ? act->origin : op_info[act->op].name;
    const char *note = arena_printf(&f->s->perm, "line %u: %s not fused into a matmul (kernel %d): %s",
                                    line_of(f, act->site), name, k->id, why);
    VEC_PUSH(&f->s->perm, f->kg->notes, f->kg->nnotes, f->kg->capnotes, note);
}

/* Keep the values something reads or writes: merged-away kernels leave
 * theirs behind.  Renumbers Value.id densely. */
static void compact_values(KGraph *kg) {
    int n = 0;
    for (int i = 0; i < kg->nvalues; i++) {
        Value *v = kg->values[i];
        bool live = v->kind != V_TEMP; /* a temporary lives while a kernel writes it */
        for (int k = 0; k < kg->nkernels && !live; k++)
            for (int j = 0; j < kg->kernels[k]->nouts && !live; j++)
                live = kg->kernels[k]->out_vals[j] == v;
        if (live) {
            v->id = n;
            kg->values[n++] = v;
        }
    }
    kg->nvalues = n;
}

/* The sites' nodes after the passes (they replace nodes: follow them);
 * a site whose value the passes removed, or that is not a row-wise value,
 * is not counted; two sites on the same nodes (CSE) share the counts. */
static void resolve_sites(Graph *g) {
    bool *in = NEW_ARRAY(&g->s->scratch, bool, (size_t)g->next_id + 1);
    for (int i = 0; i < g->nnodes; i++)
        in[g->nodes[i]->id] = true;
    for (int i = 0; i < g->nsites; i++) {
        Site *st = &g->sites[i];
        st->pre = node_resolve(st->pre);
        st->out = node_resolve(st->out);
        st->counted = false;
        if (!in[st->out->id] || !in[st->pre->id] || st->pre->shape != SH_ROWS || st->out->shape != SH_ROWS)
            st->units = 0;
        for (int j = 0; j < i && st->same_as < 0; j++)
            if (g->sites[j].same_as < 0 && g->sites[j].out == st->out && g->sites[j].pre == st->pre)
                st->same_as = j;
    }
}

/* Which sites the final kernels count (an expression a merge dropped
 * counts nothing): Site.counted. */
static void find_counted(KGraph *kg, Arena *scratch) {
    for (int i = 0; i < kg->nsites; i++)
        kg->sites[i].counted = false;
    for (int i = 0; i < kg->nkernels; i++) {
        int n;
        Ep **list = ep_postorder(scratch, kg->kernels[i], &n);
        for (int j = 0; j < n; j++)
            if (list[j]->stat)
                kg->sites[list[j]->stat - 1].counted = true;
    }
}

KGraph *fuse_graph(Graph *g) {
    Session *s = g->s;
    KGraph *kg = NEW(&s->perm, KGraph);
    kg->g = g;
    kg->ninputs = g->ninputs;
    kg->noutputs = g->noutputs;
    kg->inputs = NEW_ARRAY(&s->perm, Value *, (size_t)g->ninputs + 1);
    kg->outputs = NEW_ARRAY(&s->perm, Value *, (size_t)g->noutputs + 1);
    Fuser f = {.g = g, .kg = kg, .s = s};
    f.info = NEW_ARRAY(&s->scratch, Info, (size_t)g->next_id + 1);
    resolve_sites(g);
    kg->sites = g->sites;
    kg->nsites = g->nsites;
    choose_roots(&f);
    build_kernels(&f);
    bind_outputs(&f);
    merge_elementwise(&f);
    pair_dense(&f);
    merge_elementwise(&f);
    absorb_prologues(&f);
    compact_values(kg);
    for (int i = 0; i < kg->nkernels; i++) {
        kg->kernels[i]->id = i;
        if (kg->kernels[i]->kind == K_GATED)
            orient_gate(&f, kg->kernels[i]);
        number_kernel(&s->scratch, kg->kernels[i]);
    }
    for (int i = 0; i < kg->nkernels; i++)
        if (kg->kernels[i]->kind == K_ELEMENTWISE || kg->kernels[i]->kind == K_ROW)
            explain(&f, kg->kernels[i]);
    find_counted(kg, &s->scratch);
    return kg;
}
