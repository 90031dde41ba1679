/*
 * test_limits.c — hostile sizes (language.md §2.6): deep nesting must give an
 * error, not a stack overflow; a 1 MB program is checked quickly; huge
 * numbers and long operator chains are rejected with clear messages.  Large
 * inputs are generated here, never committed.
 */
#include <stdio.h>
#include <time.h>

#include "helpers.h"

#define HEAD "model m(x: f32[batch, 4]) -> f32[batch, 4] {\n  return "
#define TAIL "\n}\n"

static char *nested(const char *open, const char *mid, const char *close, int depth) {
    size_t n = strlen(HEAD) + strlen(TAIL) + depth * (strlen(open) + strlen(close)) + strlen(mid) + 1;
    char *s = malloc(n);
    strcpy(s, HEAD);
    for (int i = 0; i < depth; i++)
        strcat(s + strlen(s) - strlen(open) * 0, open);
    strcat(s, mid);
    for (int i = 0; i < depth; i++)
        strcat(s, close);
    strcat(s, TAIL);
    return s;
}

Test(limits, ten_thousand_parentheses) {
    char *src = nested("(", "x", ")", 10000);
    CheckResult r = check_string(src);
    cr_expect_eq(r.status, ACTC_ERR_SYNTAX, "%s", r.text);
    cr_expect(strstr(r.text, "program is nested too deeply (parser stack limit reached)"), "%.300s", r.text);
    free(r.text);
    free(src);
}

Test(limits, ten_thousand_calls) {
    char *src = nested("relu(", "x", ")", 10000);
    CheckResult r = check_string(src);
    cr_expect_neq(r.status, ACTC_OK);
    cr_expect(strstr(r.text, "nested too deeply"), "%.300s", r.text);
    free(r.text);
    free(src);
}

Test(limits, ten_thousand_unary_minus) {
    char *src = nested("-", "x", "", 10000);
    CheckResult r = check_string(src);
    cr_expect_neq(r.status, ACTC_OK);
    cr_expect(strstr(r.text, "nested too deeply"), "%.300s", r.text);
    free(r.text);
    free(src);
}

Test(limits, nesting_within_the_limit_is_fine) {
    char *src = nested("relu(", "x", ")", 900);
    CheckResult r = check_string(src);
    cr_expect_eq(r.status, ACTC_OK, "%.300s", r.text);
    free(r.text);
    free(src);
}

Test(limits, long_operator_chain_hits_depth_cap_once) {
    /* x + x + ... is left-nested: 5000 terms exceed the depth cap; one error */
    size_t n = 5000;
    char *src = malloc(strlen(HEAD) + 4 * n + 16);
    strcpy(src, HEAD);
    char *p = src + strlen(src);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, i ? " + x" : "x");
    strcpy(p, TAIL);
    CheckResult r = check_string(src);
    cr_expect_eq(r.status, ACTC_ERR_SYNTAX);
    cr_expect(strstr(r.text, "error: expression is too long: more than 1000 operators in a chain"), "%.300s", r.text);
    cr_expect(strstr(r.text, "1 error generated."), "%.300s", r.text);
    free(r.text);
    free(src);
}

Test(limits, one_megabyte_program) {
    /* 1 MB of valid statements: checks in well under a second */
    size_t cap = 1200000;
    char *src = malloc(cap);
    char *p = src;
    p += sprintf(p, "const D = 16\nmodel big(x: f32[batch, D]) -> f32[batch, D] {\n  h0 = x\n");
    int i = 1;
    while ((size_t)(p - src) < 1000000)
        p += sprintf(p, "  h%d = silu(h%d) * 0.5 + leaky_relu(h%d, negative_slope = 0.1)  # step %d\n", i, i - 1,
                     i - 1, i), i++;
    p += sprintf(p, "  return h%d\n}\n", i - 1);
    clock_t t0 = clock();
    CheckResult r = check_string(src);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    cr_expect_eq(r.status, ACTC_OK, "%.300s", r.text);
    cr_expect_lt(secs, 5.0, "checking 1 MB took %.2f s", secs);
    free(r.text);
    free(src);
}

Test(limits, empty_and_blank_files) {
    CheckResult r = check_string("");
    cr_expect_eq(r.status, ACTC_OK);
    cr_expect(strstr(r.text, "t.act:1:1: warning: no model in this file"), "%s", r.text);
    free(r.text);
    r = check_string("\n\n   # only a comment\n");
    cr_expect_eq(r.status, ACTC_OK);
    free(r.text);
}

Test(limits, huge_numbers) {
    EXPECT_DIAG("const A = 99999999999999999999\n", ACTC_ERR_SYNTAX, "integer literal '99999999999999999999' is too large");
    EXPECT_DIAG("const A = 1e999\n", ACTC_ERR_SYNTAX, "number '1e999' is too large for a floating-point value");
    EXPECT_DIAG("const A = 1073741825\nmodel m(x: f32[batch, A]) -> f32[batch, A] { return x }\n", ACTC_ERR_CHECK,
                "a dimension must be between 1 and 1073741824, got 1073741825");
}

Test(limits, non_utf8_source) {
    CheckResult r = check_string("const A = 1 # caf\xe9\n");
    cr_expect_eq(r.status, ACTC_ERR_SYNTAX);
    cr_expect(strstr(r.text, "t.act:1:18: error: source is not valid UTF-8 (byte 0xe9)"), "%s", r.text);
    free(r.text);
}
