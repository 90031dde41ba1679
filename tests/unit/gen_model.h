/*
 * gen_model.h — a seeded generator of random well-typed models (random
 * chains of builtin activations, gates on two projections or on a split,
 * residuals, user functions, row-wise ops, elementwise expressions; widths
 * 1..33), shared by the property tests.  gen_model(seed, &nout) returns the
 * .act source (malloc'ed).
 */
#ifndef ACTC_TEST_GEN_MODEL_H
#define ACTC_TEST_GEN_MODEL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir_helpers.h"

typedef struct Gen {
    uint64_t rng;
    char *src;
    size_t len, cap;
    struct {
        char name[16];
        int64_t n;
    } t[64];
    int nt;
    int layer;
} Gen;

static void emit(Gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(Gen *g, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(g->src + g->len, g->cap - g->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < g->cap - g->len) {
            g->len += (size_t)n;
            return;
        }
        g->cap *= 2;
        g->src = realloc(g->src, g->cap);
    }
}

static int pick(Gen *g, int n) { return (int)(rng_next(&g->rng) % (uint64_t)n); }

static const int64_t widths[] = {1, 2, 3, 4, 5, 8, 17, 31, 33, 100, 257};

static const char *acts[] = {
    "relu(%s)", "relu6(%s)", "leaky_relu(%s, negative_slope = 0.2)", "elu(%s, alpha = 0.7)", "selu(%s)",
    "celu(%s, alpha = 1.5)", "gelu(%s)", "gelu_tanh(%s)", "quick_gelu(%s)", "silu(%s)", "swish(%s, beta = 1.3)",
    "mish(%s)", "softplus(%s, beta = 2.0, threshold = 3.0)", "softsign(%s)", "sigmoid(%s)", "hardsigmoid(%s)",
    "hardswish(%s)", "hardtanh(%s, min_val = -0.5, max_val = 0.7)", "tanh(%s)", "logsigmoid(%s)",
    "tanhshrink(%s)", "softshrink(%s, lambd = 0.3)", "hardshrink(%s, lambd = 0.3)", "identity(%s)",
    "my_act(%s)", "my_act(%s, k = 0.5)", "%s * sigmoid(%s)", "clamp(%s * 1.5 + 0.25, -1.0, 2.0)",
    "where(%s > 0.0, %s, %s * 0.1)", "exp(-abs(%s))", "pow(%s, 2)", "%s",
};

static const char *gates[] = {"glu", "bilinear", "reglu", "geglu", "geglu_tanh", "swiglu", "my_gate"};

/* Format an activation template that may mention its operand several times. */
static void act_of(Gen *g, char *out, size_t n, const char *operand) {
    const char *tpl;
    do /* a layer written twice would be two layers: repeat only names */
        tpl = acts[pick(g, (int)ARRAY_LEN(acts))];
    while (strchr(operand, '(') && strstr(strstr(tpl, "%s") + 2, "%s"));
    char buf[512];
    snprintf(buf, sizeof buf, tpl, operand, operand, operand);
    snprintf(out, n, "%s", buf);
}

static int add_tensor(Gen *g, int64_t n) {
    int i = g->nt++;
    snprintf(g->t[i].name, sizeof g->t[i].name, "t%d", i);
    g->t[i].n = n;
    return i;
}

static int tensor_of_width(Gen *g, int64_t n) {
    int cands[64], k = 0;
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].n == n)
            cands[k++] = i;
    return k ? cands[pick(g, k)] : -1;
}

static void gen_stmt(Gen *g) {
    int src = pick(g, g->nt);
    const char *s = g->t[src].name;
    int64_t w = widths[pick(g, (int)ARRAY_LEN(widths))];
    char dense[128], act[640], rhs[1400];
    snprintf(dense, sizeof dense, "dense(%s, %lld, name = \"l%d\"%s)", s, (long long)w, g->layer++,
             pick(g, 3) == 0 ? ", bias = false" : "");
    switch (pick(g, 8)) {
    case 0: /* dense + activation */
        act_of(g, act, sizeof act, dense);
        emit(g, "    %s = %s\n", g->t[add_tensor(g, w)].name, act);
        break;
    case 1: { /* a gate on two projections of the same input */
        char d2[128];
        snprintf(d2, sizeof d2, "dense(%s, %lld, name = \"l%d\")", s, (long long)w, g->layer++);
        emit(g, "    %s = %s(%s, %s)\n", g->t[add_tensor(g, w)].name, gates[pick(g, 7)], dense, d2);
        break;
    }
    case 2: { /* fused gate_up_proj + split */
        int a = add_tensor(g, w), b = add_tensor(g, w);
        emit(g, "    %s, %s = split(dense(%s, %lld, name = \"l%d\"), 2)\n", g->t[a].name, g->t[b].name, s,
             (long long)(2 * w), g->layer++);
        emit(g, "    %s = %s(%s, %s)\n", g->t[add_tensor(g, w)].name, gates[pick(g, 7)], g->t[a].name,
             g->t[b].name);
        break;
    }
    case 3: { /* residual: an existing tensor + a projection to its width */
        int r = pick(g, g->nt);
        snprintf(rhs, sizeof rhs, "%s + dense(%s, %lld, name = \"l%d\")", g->t[r].name, s, (long long)g->t[r].n,
                 g->layer++);
        emit(g, "    %s = %s\n", g->t[add_tensor(g, g->t[r].n)].name, rhs);
        break;
    }
    case 4: { /* an activation of an existing tensor, possibly combined with a peer */
        act_of(g, act, sizeof act, s);
        int peer = tensor_of_width(g, g->t[src].n);
        if (peer >= 0 && pick(g, 2))
            emit(g, "    %s = %s * %s - 0.5\n", g->t[add_tensor(g, g->t[src].n)].name, act, g->t[peer].name);
        else
            emit(g, "    %s = %s\n", g->t[add_tensor(g, g->t[src].n)].name, act);
        break;
    }
    case 5: { /* row-wise */
        static const char *rows[] = {"softmax(%s)", "log_softmax(%s)", "layernorm(%s, name = \"n%d\")",
                                     "rmsnorm(%s, eps = 1e-5, name = \"n%d\")"};
        snprintf(rhs, sizeof rhs, rows[pick(g, 4)], s, g->layer++);
        emit(g, "    %s = %s\n", g->t[add_tensor(g, g->t[src].n)].name, rhs);
        break;
    }
    case 6: /* one-argument glu */
        snprintf(dense, sizeof dense, "dense(%s, %lld, name = \"l%d\")", s, (long long)(2 * w), g->layer++);
        emit(g, "    %s = glu(%s)\n", g->t[add_tensor(g, w)].name, dense);
        break;
    default: /* a chain: dense -> activation -> dense -> activation */
        act_of(g, act, sizeof act, dense);
        {
            int mid = add_tensor(g, w);
            emit(g, "    %s = %s\n", g->t[mid].name, act);
            char d3[128];
            snprintf(d3, sizeof d3, "dense(%s, %lld, name = \"l%d\")", g->t[mid].name, (long long)w, g->layer++);
            act_of(g, act, sizeof act, d3);
            emit(g, "    %s = %s\n", g->t[add_tensor(g, w)].name, act);
        }
        break;
    }
}

static const char *second_input(int64_t w) {
    static char buf[64];
    snprintf(buf, sizeof buf, ", t1: f32[batch, %lld]", (long long)w);
    return buf;
}

static char *gen_model(uint64_t seed, int *nout) {
    Gen g = {.rng = seed * 0x9E3779B97F4A7C15ull + 1, .cap = 4096};
    g.src = malloc(g.cap);
    g.src[0] = '\0';
    emit(&g, "activation my_act(x, k = 1.25) = x * sigmoid(k * x) + 0.1 * tanh(x)\n");
    emit(&g, "gate my_gate(a, b) = my_act(a, k = 0.75) * b + 0.5 * a\n");
    int64_t w0 = widths[pick(&g, (int)ARRAY_LEN(widths))];
    bool two = pick(&g, 3) == 0;
    int64_t w1 = pick(&g, 2) ? w0 : widths[pick(&g, (int)ARRAY_LEN(widths))];
    add_tensor(&g, w0);
    if (two)
        add_tensor(&g, w1);
    size_t header_at = g.len;
    emit(&g, "%200s\n", ""); /* placeholder for the header, filled below */
    int nstmt = 2 + pick(&g, 6);
    for (int i = 0; i < nstmt && g.nt < 56; i++)
        gen_stmt(&g);
    int last = g.nt - 1, other = pick(&g, g.nt);
    *nout = pick(&g, 3) == 0 ? 2 : 1;
    if (*nout == 2)
        emit(&g, "    return %s, %s\n}\n", g.t[last].name, g.t[other].name);
    else
        emit(&g, "    return %s\n}\n", g.t[last].name);
    char head[256];
    if (*nout == 2)
        snprintf(head, sizeof head, "model rnd(t0: f32[batch, %lld]%s) -> (o1: f32[batch, %lld], o2: f32[batch, %lld]) {",
                 (long long)w0, two ? second_input(w1) : "", (long long)g.t[last].n, (long long)g.t[other].n);
    else
        snprintf(head, sizeof head, "model rnd(t0: f32[batch, %lld]%s) -> f32[batch, %lld] {", (long long)w0,
                 two ? second_input(w1) : "", (long long)g.t[last].n);
    memset(g.src + header_at, ' ', 200);
    memcpy(g.src + header_at, head, strlen(head));
    return g.src;
}

/* A random stack (language.md §3.6, §3.7): a block of one of three shapes
 * (dense-act-dense, a gated MLP, a norm with a residual dense) with a random
 * activation or gate, called in a loop of 1..4 iterations (sometimes two
 * nested loops) with a name template, its result added to a loop-carried
 * residual or replacing it, sometimes a final layernorm. */
static char *gen_stack(uint64_t seed) {
    Gen g = {.rng = seed * 0xD1B54A32D192ED03ull + 7, .cap = 4096};
    g.src = malloc(g.cap);
    g.src[0] = '\0';
    static const int64_t dims[] = {1, 3, 8, 17, 33, 64};
    static const char *sacts[] = {"relu", "gelu", "gelu_tanh", "silu", "tanh", "sigmoid", "mish", "elu", "softplus"};
    static const char *sgates[] = {"swiglu", "geglu", "reglu", "bilinear"};
    int64_t d = dims[pick(&g, (int)ARRAY_LEN(dims))], h = dims[pick(&g, (int)ARRAY_LEN(dims))];
    const char *act = sacts[pick(&g, (int)ARRAY_LEN(sacts))], *gate = sgates[pick(&g, (int)ARRAY_LEN(sgates))];
    emit(&g, "const D = %lld\n", (long long)d);
    emit(&g, "block blk(x: f32[batch, D], H = %lld) -> f32[batch, D] {\n", (long long)h);
    int shape = pick(&g, 3);
    switch (shape) {
    case 0: emit(&g, "    a = %s(dense(x, H, name = \"up\"))\n    return dense(a, D, name = \"down\")\n}\n", act); break;
    case 1:
        emit(&g, "    g = dense(x, H, bias = false, name = \"gate_proj\")\n    u = dense(x, H, bias = false, name = \"up_proj\")\n"
                 "    return dense(%s(g, u), D, bias = false, name = \"down_proj\")\n}\n", gate);
        break;
    default:
        emit(&g, "    n = %s(x, name = \"norm\")\n    return x + dense(%s(n), D, name = \"fc\")\n}\n",
             pick(&g, 2) ? "rmsnorm" : "layernorm", act);
        break;
    }
    int layers = 1 + pick(&g, 4), inner = pick(&g, 3) == 0 ? 2 : 0;
    /* a gated block squares its input's scale: stacked, only behind a norm
     * (the residual form), so that deep stacks stay finite */
    bool carried = shape == 1 || pick(&g, 3) != 0, final = pick(&g, 2);
    emit(&g, "model rnd(x: f32[batch, D]) -> f32[batch, D] {\n    h = x\n    for i in 0 .. %d {\n", layers);
    const char *suf = inner ? ".{j}" : "";
    if (inner)
        emit(&g, "        for j in 0 .. %d {\n", inner);
    if (carried)
        emit(&g, "        h = h + blk(rmsnorm(h, name = \"norms.{i}%s\"), H = %lld, name = \"layers.{i}%s\")\n", suf,
             (long long)h, suf);
    else
        emit(&g, "        h = blk(h, H = %lld, name = \"layers.{i}%s\")\n", (long long)h, suf);
    if (inner)
        emit(&g, "        }\n");
    emit(&g, "    }\n    return %s\n}\n", final ? "layernorm(h, name = \"final\")" : "h");
    return g.src;
}

#endif
