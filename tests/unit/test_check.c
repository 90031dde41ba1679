/*
 * test_check.c — semantic rules of the checker (check_*.c) (language.md §3–§8): shapes,
 * constants, layer naming and the learned tensors each model declares.
 */
#include <stdio.h>

#include "helpers.h"

#include "front/front.h"

/* Check `src` with the internal API and return the session (caller frees). */
static Session *checked(const char *src, Program **prog, bool *ok) {
    Session *s = calloc(1, sizeof *s);
    session_init(s);
    Boundary b;
    cr_assert_eq(BOUNDARY_ENTER(&b), 0);
    Source *so = source_new(&s->perm, "t.act", src, strlen(src));
    *prog = parse_source(s, so);
    *ok = s->diag.nerrors == 0 && check_program(s, *prog);
    boundary_pop(&b);
    return s;
}

static void release(Session *s) {
    session_release(s);
    free(s);
}

#define M(body) "const D = 8\nmodel m(x: f32[batch, D]) -> f32[batch, D] {\n" body "\n}\n"

Test(check, learned_tensors_have_pytorch_names_and_shapes) {
    Program *prog;
    bool ok;
    Session *s = checked("const D = 6\nconst H = 10\n"
                         "model m(x: f32[n, D]) -> f32[n, D] {\n"
                         "  g, u = split(dense(x, 2 * H, bias = false, name = \"mlp.gate_up_proj\"), 2)\n"
                         "  h = rmsnorm(swiglu(g, u), name = \"norm\")\n"
                         "  down = dense(h, D)\n"
                         "  return layernorm(x + down, name = \"ln\")\n}\n",
                         &prog, &ok);
    cr_assert(ok, "%s", diag_render_text(&s->diag));
    Decl *m = program_find_model(prog, NULL);
    cr_assert(m);
    cr_expect_str_eq(m->batch_name, "n");
    const char *want[] = {"mlp.gate_up_proj.weight", "norm.weight", "down.weight", "down.bias",
                          "ln.weight", "ln.bias"};
    int64_t shapes[][2] = {{20, 6}, {10, 0}, {6, 10}, {6, 0}, {6, 0}, {6, 0}};
    cr_assert_eq(m->ntensors, 6);
    for (int i = 0; i < 6; i++) {
        cr_expect_str_eq(m->tensors[i].name, want[i]);
        const Shape *sh = &m->tensors[i].shape;
        cr_expect_eq(sh->rank, shapes[i][1] ? 2 : 1, "%s", want[i]);
        cr_expect_eq(sh->dim[0], shapes[i][0], "%s", want[i]);
        cr_expect_eq(sh->rank == 2 ? sh->dim[1] : 0, shapes[i][1], "%s", want[i]);
    }
    release(s);
}

Test(check, constants_fold_with_exact_integer_division) {
    Program *prog;
    bool ok;
    Session *s = checked("const A = 12\nconst B = A / 4 * 3 - 1\nconst C = 1.5e1 / 2\n"
                         "model m(x: f32[batch, B]) -> f32[batch, B] { return x }\n", &prog, &ok);
    cr_assert(ok, "%s", diag_render_text(&s->diag));
    cr_expect_eq(prog->decls[1]->const_value.value, 8);
    cr_expect(prog->decls[1]->const_value.is_int);
    cr_expect_eq(prog->decls[2]->const_value.value, 7.5);
    cr_expect(!prog->decls[2]->const_value.is_int);
    release(s);
}

Test(check, constant_batch_dimension) {
    Program *prog;
    bool ok;
    Session *s = checked("model m(x: f32[4, 3]) -> f32[4, 3] { return x }\n", &prog, &ok);
    cr_assert(ok);
    Decl *m = program_find_model(prog, NULL);
    cr_expect_null(m->batch_name);
    cr_expect_eq(m->batch_value, 4);
    release(s);
}

Test(check, call_resolution_and_defaults) {
    Program *prog;
    bool ok;
    Session *s = checked("activation sw(x, beta = 2.0) = x * sigmoid(beta * x)\n"
                         "model m(x: f32[b, 4]) -> f32[b, 4] {\n"
                         "  h = softplus(x, threshold = 5.0)\n  return sw(h)\n}\n", &prog, &ok);
    cr_assert(ok, "%s", diag_render_text(&s->diag));
    Decl *m = program_find_model(prog, NULL);
    Expr *sp = m->flat[0]->values[0]; /* the checked copy (check_stmts) */;
    cr_expect_eq(sp->callee.builtin->id, BI_SOFTPLUS);
    cr_expect_eq(sp->consts[0], 1.0); /* beta default */
    cr_expect_eq(sp->consts[1], 5.0);
    Expr *call = m->returns[0];
    cr_expect_eq(call->callee.user, prog->decls[0]);
    cr_expect_eq(call->consts[0], 2.0);
    release(s);
}

Test(check, gelu_approximate_tanh_is_gelu_tanh) {
    Program *prog;
    bool ok;
    Session *s = checked(M("return gelu(x, approximate = \"tanh\")"), &prog, &ok);
    cr_assert(ok);
    cr_expect_eq(program_find_model(prog, NULL)->returns[0]->callee.builtin->id, BI_GELU_TANH);
    release(s);
}

Test(check, accepts_valid_programs) {
    EXPECT_OK(M("return glu(dense(x, 2 * D, name = \"p\"))"));
    EXPECT_OK(M("return where(x > 0.0, x, 0.01 * x)"));
    EXPECT_OK(M("return clamp(x, -1.0, 1.0) + pow(x, 2) + min(x, 1.0) + max(x, x)"));
    EXPECT_OK(M("h = x * 2; return -h / 3"));
    EXPECT_OK("gate g(a, b, k = 1.0) = a * sigmoid(k * a) * b\n" M("return g(x, x, k = 2.0)"));
    EXPECT_OK("activation f(x) = bilinear(x, x)\n" M("return f(x)"));
}

Test(check, shape_errors) {
    EXPECT_DIAG(M("return x + dense(x, 4, name = \"d\")"), ACTC_ERR_CHECK,
                "shape mismatch in '+': f32[batch, 8] and f32[batch, 4]");
    EXPECT_DIAG(M("return swiglu(x, dense(x, 4, name = \"d\"))"), ACTC_ERR_CHECK,
                "operands of gate 'swiglu' must have the same shape");
    EXPECT_DIAG(M("a, b = split(x, 3)\nreturn a"), ACTC_ERR_CHECK, "cannot split f32[batch, 8] into 3 equal parts");
    EXPECT_DIAG(M("return dense(x, 4, name = \"d\")"), ACTC_ERR_CHECK,
                "output 'output' is declared f32[batch, 8] but the value returned is f32[batch, 4]");
}

Test(check, naming_rules) {
    EXPECT_DIAG(M("return relu(dense(x, D))"), ACTC_ERR_CHECK,
                "this 'dense' layer has parameters and needs a name; add name = \"...\"");
    EXPECT_DIAG(M("a = dense(x, D)\nb = dense(a, D, name = \"a\")\nreturn b"), ACTC_ERR_CHECK,
                "duplicate layer name 'a'");
    EXPECT_DIAG(M("return dense(x, D, name = \"a..b\")"), ACTC_ERR_CHECK, "invalid layer name \"a..b\"");
    EXPECT_DIAG("activation relu(x) = x\n" M("return x"), ACTC_ERR_CHECK,
                "'relu' is the name of a builtin activation");
}

Test(check, constant_errors) {
    EXPECT_DIAG("const H = 10 / 3\n" M("return dense(x, H, name = \"d\")"), ACTC_ERR_CHECK,
                "argument 'units' of 'dense' must be an integer");
    EXPECT_DIAG("const H = 9007199254740992 * 2\n" M("return x"), ACTC_ERR_CHECK,
                "integer overflow in constant expression");
    EXPECT_DIAG("const H = 1 / 0\n" M("return x"), ACTC_ERR_CHECK, "division by zero in constant expression");
    EXPECT_DIAG("model m(x: f32[batch, 0]) -> f32[batch, 1] { return x }", ACTC_ERR_CHECK,
                "a dimension must be between 1 and 1073741824, got 0");
}

Test(check, did_you_mean) {
    EXPECT_DIAG(M("return relux(x)"), ACTC_ERR_CHECK, "unknown function 'relux'; did you mean 'relu'?");
    EXPECT_DIAG(M("return leaky_relu(x, negative_slop = 0.1)"), ACTC_ERR_CHECK,
                "'leaky_relu' has no parameter named 'negative_slop'; did you mean 'negative_slope'?");
    EXPECT_DIAG(M("h = relu(x)\nreturn hh"), ACTC_ERR_CHECK, "use of undeclared identifier 'hh'; did you mean 'h'?");
}

Test(check, error_does_not_cascade) {
    CheckResult r = check_string(M("h = relux(x)\ng = relu(h) + h\nreturn g * 2"));
    cr_expect_eq(r.status, ACTC_ERR_CHECK);
    cr_expect(strstr(r.text, "1 error generated."), "%s", r.text);
    free(r.text);
}

Test(check, unused_bindings_warn) {
    CheckResult r = check_string(M("h = relu(x)\nreturn x"));
    cr_expect_eq(r.status, ACTC_OK);
    cr_expect(strstr(r.text, "t.act:3:1: warning: 'h' is assigned but never used"), "%s", r.text);
    free(r.text);
}

/* The layer table (front/layers.def, layers.c) and the builtin table agree:
 * a builtin has learned parameters exactly when it is a layer kind, every
 * layer kind names its builtin and declares at least one tensor, and only
 * optional tensors follow the first. */
Test(check, layer_table_agrees_with_builtins) {
    for (int i = 0; i < BI_COUNT; i++) {
        const Builtin *b = builtin_get((BuiltinId)i);
        const LayerKind *k = layer_of_builtin(b->id);
        cr_expect_eq(b->learned, k != NULL, "builtin '%s': learned %d, layer kind %p", b->name, b->learned,
                     (const void *)k);
        if (k)
            cr_expect_str_eq(k->name, b->name);
    }
    for (int i = 0; i < LAYER_COUNT; i++) {
        const LayerKind *k = layer_kind((LayerId)i);
        cr_assert(k);
        cr_expect_eq(k->id, (LayerId)i);
        cr_expect(k->ntensors >= 1 && k->tensors[0].when < 0, "layer '%s'", k->name);
        for (int t = 0; t < k->ntensors; t++) {
            const LayerTensorSpec *ts = &k->tensors[t];
            cr_expect(ts->rank == 1 || ts->rank == 2, "%s.%s", k->name, ts->suffix);
            for (int d = 0; d < ts->rank; d++)
                cr_expect(ts->dims[d] < builtin_get(k->builtin)->nparams, "%s.%s", k->name, ts->suffix);
        }
    }
}

/* Each layer call records its first tensor; an optional tensor switched off
 * is not declared (layernorm bias = false, dense bias = false). */
Test(check, layer_calls_record_their_tensors) {
    Program *prog;
    bool ok;
    Session *s = checked("model m(x: f32[b, 4]) -> f32[b, 3] {\n"
                         "  p = prelu(x, num_parameters = 4)\n"
                         "  n = layernorm(p, bias = false)\n"
                         "  return dense(n, 3, bias = false, name = \"out\")\n}\n",
                         &prog, &ok);
    cr_assert(ok, "%s", diag_render_text(&s->diag));
    Decl *m = program_find_model(prog, NULL);
    const char *want[] = {"p.weight", "n.weight", "out.weight"};
    const char *layer[] = {"p", "n", "out"};
    cr_assert_eq(m->ntensors, 3);
    for (int i = 0; i < 3; i++) {
        cr_expect_str_eq(m->tensors[i].name, want[i]);
        cr_expect_str_eq(m->tensors[i].layer, layer[i]);
        cr_expect_eq(m->tensors[i].elem, ELEM_F32);
    }
    cr_expect_eq(m->tensors[0].shape.dim[0], 4);
    cr_expect_eq(m->tensors[2].shape.rank, 2);
    cr_expect_eq(m->tensors[2].shape.dim[0], 3);
    cr_expect_eq(m->tensors[2].shape.dim[1], 4);
    Expr *ret = m->returns[0];
    cr_expect_eq(ret->first_tensor, 2);
    release(s);
}

/* language.md §10: Python's names are only habits when they name nothing */
Test(check, python_constants_declared_by_the_file_are_ordinary_names) {
    EXPECT_OK("const None = 8\nconst True = 2\nmodel m(x: f32[batch, 8]) -> f32[batch, 8] {\n"
              "  return dense(x, None, name = \"fc\") * True\n}\n");
    EXPECT_DIAG(M("  return relu(False)"), ACTC_ERR_CHECK,
                "use of undeclared identifier 'False'; did you mean 'false'?");
    /* a user function's constant parameter: its default, or that it needs one */
    EXPECT_DIAG("activation f(x, beta = 2.0) = x * beta\n" M("  return f(x, beta = None)"), ACTC_ERR_CHECK,
                "actc has no None: omit 'beta' for its default, 2");
    EXPECT_DIAG("activation f(x, beta) = x * beta\n" M("  return f(x, None)"), ACTC_ERR_CHECK,
                "actc has no None; 'beta' needs a value");
}

/* language.md §10: a parse whose errors were all repaired is checked on */
Test(check, repaired_parse_errors_are_checked_on) {
    EXPECT_DIAG(M("  return dense(x, D, name = 'fc')"), ACTC_ERR_SYNTAX, "strings use double quotes: write \"fc\"");
    EXPECT_DIAG(M("  return dense(x, D, name = 'f c')"), ACTC_ERR_CHECK, "invalid layer name \"f c\"");
    /* an error the parser could not repair: no checking, as before */
    CheckResult r = check_string(M("  h = dense(x, D, name = 'fc') @ x\n  return relux(h)"));
    cr_expect_eq(r.status, ACTC_ERR_SYNTAX);
    cr_expect(strstr(r.text, "unexpected character '@'") && !strstr(r.text, "relux"), "%s", r.text);
    free(r.text);
}
