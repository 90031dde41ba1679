/*
 * test_parser.c — the grammar: precedence, calls with named arguments,
 * tuple bindings, several outputs, statement separators, and recovery from
 * syntax errors at statement boundaries.
 */
#include <stdio.h>

#include "helpers.h"

#include "driver/internal.h"

/* Parse + check `src` and return the AST dump (caller frees), or NULL. */
static char *ast_of(const char *src, int *status) {
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    *status = actc_check_source(s, "t.act", src, strlen(src));
    const char *out = NULL;
    char *r = NULL;
    if (actc_dump_ast(s, &out) == ACTC_OK)
        r = strdup(out);
    actc_session_free(s);
    return r;
}

#define MODEL_OF(body) "model m(x: f32[batch, 4]) -> f32[batch, 4] {\n" body "\n}\n"

static void expect_return_expr(const char *expr, const char *want) {
    char src[512];
    snprintf(src, sizeof src, MODEL_OF("return %s"), expr);
    int st;
    char *ast = ast_of(src, &st);
    cr_assert(ast);
    char *ret = strstr(ast, "return ");
    cr_assert(ret, "%s", ast);
    char *nl = strchr(ret, '\n');
    *nl = '\0';
    cr_expect_str_eq(ret + 7, want, "for '%s'", expr);
    free(ast);
}

Test(parser, precedence_and_associativity) {
    expect_return_expr("x + x * x", "(x + (x * x))");
    expect_return_expr("x - x - x", "((x - x) - x)");
    expect_return_expr("x / x / x", "((x / x) / x)");
    expect_return_expr("-x * x", "((-x) * x)");
    expect_return_expr("- -x", "(-(-x))");
    expect_return_expr("(x + x) * x", "((x + x) * x)");
    expect_return_expr("where(x < 0, x * 2, x)", "where((x < 0), (x * 2), x)");
}

Test(parser, calls_with_named_arguments_and_trailing_comma) {
    expect_return_expr("leaky_relu(x, negative_slope = 0.2,)", "leaky_relu(x, negative_slope = 0.2)");
    expect_return_expr("dense(x, 4, bias = false, name = \"a.b\")", "dense(x, 4, bias = false, name = \"a.b\")");
}

Test(parser, statements_separated_by_semicolons) {
    int st;
    char *ast = ast_of("const A = 4; const B = A * 2\n"
                       "model m(x: f32[batch, A]) -> f32[batch, A] { h = relu(x); return h }",
                       &st);
    cr_expect_eq(st, ACTC_OK);
    cr_expect(strstr(ast, "const B = (A * 2)"));
    cr_expect(strstr(ast, "h = relu(x)\n    return h"));
    free(ast);
}

Test(parser, multi_line_calls_and_brace_on_next_line) {
    EXPECT_OK("model m(\n  x: f32[batch, 4],\n  y: f32[batch, 4]\n) -> f32[batch, 4]\n{\n"
              "  return swiglu(\n    x,\n    y\n  )\n}\n");
}

Test(parser, tuple_binding_and_several_outputs) {
    int st;
    char *ast = ast_of("model m(x: f32[b, 8]) -> (lo: f32[b, 4], hi: f32[b, 4]) {\n"
                       "  g, u = split(x, 2)\n  return g, u\n}\n", &st);
    cr_expect_eq(st, ACTC_OK);
    cr_expect(strstr(ast, "model m(x: f32[b, 8]) -> (lo: f32[b, 4], hi: f32[b, 4])"), "%s", ast);
    cr_expect(strstr(ast, "g, u = split(x, 2)"), "%s", ast);
    free(ast);
}

Test(parser, several_syntax_errors_in_one_run) {
    CheckResult r = check_string("const A = \nconst B = 2 2\n"
                                 "model m(x: f32[batch, 4]) -> f32[batch, 4] {\n"
                                 "  h = relu(x\n  k = = 3\n  return h\n}\n");
    cr_expect_eq(r.status, ACTC_ERR_SYNTAX);
    cr_expect(strstr(r.text, "t.act:1:11: error: expected an expression, saw newline"), "%s", r.text);
    cr_expect(strstr(r.text, "t.act:2:13: error: expected newline or ';', saw number '2'"), "%s", r.text);
    /* inside an unclosed '(' newlines are ignored: the error shows up on the
     * next line, with a note pointing at the bracket */
    cr_expect(strstr(r.text, "t.act:5:3: error: expected '=', '(', ')' or ',', saw identifier 'k'"), "%s", r.text);
    cr_expect(strstr(r.text, "t.act:4:11: note: to match this '('"), "%s", r.text);
    cr_expect(strstr(r.text, "3 errors generated."), "%s", r.text);
    free(r.text);
}

Test(parser, error_at_end_of_file) {
    EXPECT_DIAG("model m(x: f32[batch, 4]) -> f32[batch, 4] {\n  return x\n", ACTC_ERR_SYNTAX,
                "t.act:3:1: error: expected '}', saw end of file");
}

Test(parser, missing_arrow) {
    CheckResult r = check_string("model m(x: f32[batch, 4]) f32[batch, 4] {\n  return x\n}\n");
    cr_expect_eq(r.status, ACTC_ERR_SYNTAX);
    cr_expect(strstr(r.text, "t.act:1:27: error: expected '->', saw identifier 'f32'"), "%s", r.text);
    /* recovery skips the header to '{' and parses the body: no cascade */
    cr_expect(strstr(r.text, "1 error generated."), "%s", r.text);
    free(r.text);
}
