/*
 * sites.c — activation sites (docs/stats.md §1–2): recorded by the
 * lowering for every application of an activation in a model, named once
 * the model is lowered, and classified: relu-like (dead units), saturating,
 * or "never positive" (a diagnostic).  The fuser finds each site's nodes in
 * the kernels (pass_fuse.c); the code generator counts there.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* ---- the relu-like test: interval analysis of a body over x <= 0 ---- */

/* [lo, hi], and whether a value may be NaN.  Infinite bounds are values
 * the expression may take (x itself may be -inf). */
typedef struct Iv {
    double lo, hi;
    bool nan;
} Iv;

static const Iv TOP = {-INFINITY, INFINITY, true};

static Iv iv(double lo, double hi) { return (Iv){lo, hi, false}; }
static bool finite_iv(Iv a) { return !a.nan && isfinite(a.lo) && isfinite(a.hi); }
static bool zero_iv(Iv a) { return !a.nan && a.lo == 0 && a.hi == 0; }

/* a * b: exact endpoints products (an infinite times zero is NaN) */
static Iv iv_mul(Iv a, Iv b) {
    if (zero_iv(a) && finite_iv(b))
        return iv(0, 0);
    if (zero_iv(b) && finite_iv(a))
        return iv(0, 0);
    if (a.nan || b.nan || !finite_iv(a) || !finite_iv(b))
        return TOP;
    double c[4] = {a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi};
    Iv r = iv(c[0], c[0]);
    for (int i = 1; i < 4; i++)
        r.lo = fmin(r.lo, c[i]), r.hi = fmax(r.hi, c[i]);
    return r;
}

/* a comparison known true (1), false (0) or undecided (-1) */
static int iv_cmp(Op op, Iv a, Iv b) {
    if (a.nan || b.nan)
        return -1;
    switch (op) {
    case OP_GT: return a.lo > b.hi ? 1 : a.hi <= b.lo ? 0 : -1;
    case OP_GE: return a.lo >= b.hi ? 1 : a.hi < b.lo ? 0 : -1;
    case OP_LT: return a.hi < b.lo ? 1 : a.lo >= b.hi ? 0 : -1;
    case OP_LE: return a.hi <= b.lo ? 1 : a.lo > b.hi ? 0 : -1;
    default: return -1;
    }
}

static Iv iv_op(const Node *n, const Iv *in) {
    switch (n->op) {
    case OP_CONST: return isnan(n->p[0]) ? TOP : iv(n->p[0], n->p[0]);
    case OP_RELU:
        if (in[0].nan)
            return TOP;
        return iv(0, fmax(0, in[0].hi));
    case OP_MAX:
    case OP_MIN: /* IEEE max/min: NaN operands make no promise here */
        if (in[0].nan || in[1].nan)
            return TOP;
        return n->op == OP_MAX ? iv(fmax(in[0].lo, in[1].lo), fmax(in[0].hi, in[1].hi))
                               : iv(fmin(in[0].lo, in[1].lo), fmin(in[0].hi, in[1].hi));
    case OP_MUL: return iv_mul(in[0], in[1]);
    case OP_NEG: return (Iv){-in[0].hi, -in[0].lo, in[0].nan};
    case OP_ADD:
        if (!finite_iv(in[0]) || !finite_iv(in[1]))
            return TOP;
        return iv(in[0].lo + in[1].lo, in[0].hi + in[1].hi);
    case OP_SIGMOID: return in[0].nan ? TOP : iv(0, 1);
    case OP_TANH: return in[0].nan ? TOP : iv(-1, 1);
    case OP_GT:
    case OP_GE:
    case OP_LT:
    case OP_LE: {
        int c = iv_cmp(n->op, in[0], in[1]);
        return c < 0 ? iv(0, 1) : iv(c, c);
    }
    case OP_SELECT: {
        if (in[0].lo == in[0].hi && !in[0].nan)
            return in[0].lo != 0 ? in[1] : in[2];
        Iv r = {fmin(in[1].lo, in[2].lo), fmax(in[1].hi, in[2].hi), in[1].nan || in[2].nan};
        return r;
    }
    default: return TOP;
    }
}

bool body_zero_below(const Body *b) {
    if (!b || !b->g || !b->result)
        return false;
    const Graph *t = b->g;
    Iv *v = NEW_ARRAY(&t->s->scratch, Iv, (size_t)t->next_id + 1);
    for (int i = 0; i < t->next_id; i++)
        v[i] = TOP;
    for (int i = 0; i < t->nnodes; i++) {
        const Node *n = t->nodes[i];
        if (n->op == OP_INPUT) {
            v[n->id] = n->index == 0 ? (Iv){-INFINITY, 0, false} : TOP;
            continue;
        }
        Iv in[3] = {TOP, TOP, TOP};
        for (int j = 0; j < n->nin && j < 3; j++)
            in[j] = v[n->in[j]->id];
        v[n->id] = iv_op(n, in);
    }
    return zero_iv(v[b->result->id]);
}

/* ---- recording ---- */

void site_add(Graph *g, const char *name, Op op, const Body *fn_body, const double *p, Span sp, Node *pre,
              Node *out) {
    Site st = {.op = name, .kind = SITE_NEVER_POSITIVE, .span = sp, .prov = NULL, .pre = pre, .out = out,
               .same_as = -1};
    (void)op;
    if (fn_body) {
        st.kind = body_zero_below(fn_body) ? SITE_DEAD : SITE_NEVER_POSITIVE;
    } else if (!strcmp(name, "relu") || !strcmp(name, "relu6") || !strcmp(name, "reglu")) {
        st.kind = SITE_DEAD;
    } else if (!strcmp(name, "sigmoid") || !strcmp(name, "hardsigmoid") || !strcmp(name, "glu")) {
        st.kind = SITE_SATURATING, st.sat_lo = 0.01, st.sat_hi = 0.99;
    } else if (!strcmp(name, "tanh") || !strcmp(name, "softsign")) {
        st.kind = SITE_SATURATING, st.sat_lo = -0.98, st.sat_hi = 0.98;
    } else if (!strcmp(name, "hardtanh")) {
        double lo = p ? p[0] : -1, hi = p ? p[1] : 1;
        st.kind = SITE_SATURATING, st.sat_lo = lo + 0.01 * (hi - lo), st.sat_hi = hi - 0.01 * (hi - lo);
    }
    VEC_PUSH(&g->s->perm, g->sites, g->nsites, g->capsites, st);
}

/* The layer a pre-activation reads: the prefix of the weight of the
 * matmul (or row op) that computes it, looking through a bias and a
 * split; else the name of a variable bound to it. */
static const char *layer_of(Graph *g, const Node *pre, const Node *out) {
    const Node *n = pre;
    if (n->op == OP_SPLIT)
        n = n->in[0];
    if (n->op == OP_ADD && n->in[0]->op == OP_MATMUL)
        n = n->in[0];
    const Node *w = NULL;
    if (n->op == OP_MATMUL)
        w = n->in[1];
    else if ((n->op == OP_LAYERNORM || n->op == OP_RMSNORM) && n->nin > 1)
        w = n->in[1];
    if (w && w->op == OP_PARAM && w->name) {
        const char *dot = strrchr(w->name, '.');
        return dot ? arena_strndup(&g->s->perm, w->name, (size_t)(dot - w->name)) : w->name;
    }
    if (pre->hint)
        return pre->hint;
    if (pre->op == OP_INPUT && pre->name) /* a model input is a variable too */
        return pre->name;
    return out->hint ? out->hint : "";
}

static uint32_t line_of(Session *s, Span sp) {
    uint32_t line = 0, col;
    if (sp.file < (uint32_t)s->diag.nsources && sp.end)
        source_line_col(s->diag.sources[sp.file], sp.start, &line, &col);
    return line;
}

void sites_name(Graph *g) {
    for (int i = 0; i < g->nsites; i++)
        site_name(g, &g->sites[i]);
}

void site_name(Graph *g, Site *st) {
    {
        st->layer = layer_of(g, st->pre, st->out);
        st->units = st->pre->shape == SH_ROWS ? node_width(st->pre) : 0;
        st->line = line_of(g->s, st->span);
        StrBuf sb; /* the chain is innermost first; the lines go outermost first */
        sb_init(&sb, &g->s->perm);
        int depth = prov_depth(st->prov);
        for (int d = depth - 1; d >= 0; d--) {
            const Prov *p = st->prov;
            for (int k = 0; k < d; k++)
                p = p->up;
            sb_printf(&sb, "%s%u", d == depth - 1 ? "" : ",", line_of(g->s, p->call));
        }
        st->call_lines = sb_str(&sb);
    }
}

/* Source order: by the position of the model-level call a site sits in
 * (its own position for a site in the model's body), then by its own. */
static uint32_t outer_start(const Site *st) {
    const Prov *p = st->prov;
    if (!p)
        return st->span.start;
    while (p->up)
        p = p->up;
    return p->call.start;
}

static int site_cmp(const void *a, const void *b) {
    const Site *x = a, *y = b;
    uint32_t ox = outer_start(x), oy = outer_start(y);
    if (ox != oy)
        return ox < oy ? -1 : 1;
    int dx = prov_depth(x->prov), dy = prov_depth(y->prov);
    if (dx != dy) /* a call's own site (depth 0 at its position) before those inside it */
        return dx < dy ? -1 : 1;
    return x->span.start < y->span.start ? -1 : x->span.start > y->span.start;
}

void sites_sort(Graph *g) {
    if (g->nsites > 1)
        qsort(g->sites, (size_t)g->nsites, sizeof *g->sites, site_cmp);
}
