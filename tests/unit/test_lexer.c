/*
 * test_lexer.c — the scanner on its own (through lex_dump): tokens, spans,
 * newline rules, contextual keywords, numbers, strings and lexical errors.
 */
#include "helpers.h"

#include "front/front.h"

/* Token kinds of `src`, space-separated, with identifier/number text. */
static char *tokens(const char *src, int *nerrors) {
    Session s;
    session_init(&s);
    Boundary b;
    cr_assert_eq(BOUNDARY_ENTER(&b), 0);
    Source *so = source_new(&s.perm, "t.act", src, strlen(src));
    const char *d = lex_dump(&s, so);
    boundary_pop(&b);
    /* keep only "kind [text]" of each line, joined by '|' */
    char *out = calloc(1, strlen(d) + 1);
    const char *line = d;
    while (*line) {
        const char *nl = strchr(line, '\n');
        const char *sp = strchr(line, ' ');
        if (*out)
            strcat(out, "|");
        strncat(out, sp + 1, (size_t)(nl - sp - 1));
        line = nl + 1;
    }
    if (nerrors)
        *nerrors = s.diag.nerrors;
    session_release(&s);
    return out;
}

static char *positions(const char *src) {
    Session s;
    session_init(&s);
    Boundary b;
    cr_assert_eq(BOUNDARY_ENTER(&b), 0);
    Source *so = source_new(&s.perm, "t.act", src, strlen(src));
    char *out = strdup(lex_dump(&s, so));
    boundary_pop(&b);
    session_release(&s);
    return out;
}

#define EXPECT_TOKENS(src, want)                                                  \
    do {                                                                          \
        int ne_;                                                                  \
        char *got_ = tokens(src, &ne_);                                           \
        cr_expect_str_eq(got_, want);                                             \
        cr_expect_eq(ne_, 0);                                                     \
        free(got_);                                                               \
    } while (0)

Test(lexer, declaration_keywords) {
    EXPECT_TOKENS("const D = 4", "'const'|identifier D|'='|number 4|newline|end of file");
    EXPECT_TOKENS("activation f(x) = x", "'activation'|identifier f|'('|identifier x|')'|'='|"
                                         "identifier x|newline|end of file");
}

Test(lexer, keywords_are_contextual_inside_models) {
    /* language.md §2.2: a variable may be called gate or model in a body */
    EXPECT_TOKENS("{ gate = model }", "'{'|identifier gate|'='|identifier model|'}'|newline|end of file");
    EXPECT_TOKENS("x; gate", "identifier x|';'|'gate'|newline|end of file");
    EXPECT_TOKENS("a gate", "identifier a|identifier gate|newline|end of file");
}

Test(lexer, return_true_false_are_keywords) {
    EXPECT_TOKENS("return true, false", "'return'|'true'|','|'false'|newline|end of file");
}

Test(lexer, newlines_ignored_inside_brackets) {
    EXPECT_TOKENS("f(a,\n b)\n[1,\n2]\n", "identifier f|'('|identifier a|','|identifier b|')'|newline|"
                                          "'['|number 1|','|number 2|']'|newline|end of file");
}

Test(lexer, blank_lines_and_comments_collapse) {
    EXPECT_TOKENS("\n\n# c\na // d\n\n\nb", "identifier a|newline|identifier b|newline|end of file");
}

Test(lexer, no_extra_newline_at_eof) {
    EXPECT_TOKENS("a\n", "identifier a|newline|end of file");
    EXPECT_TOKENS("", "end of file");
}

Test(lexer, numbers) {
    EXPECT_TOKENS("1 2.5 1e-5 .5 3. 6E+2", "number 1|number 2.5|number 1e-5|number .5|number 3.|"
                                          "number 6E+2|newline|end of file");
}

Test(lexer, operators) {
    EXPECT_TOKENS("-> == != <= >= < > + - * /",
                  "'->'|'=='|'!='|'<='|'>='|'<'|'>'|'+'|'-'|'*'|'/'|newline|end of file");
}

Test(lexer, strings_keep_quotes_for_the_parser) {
    EXPECT_TOKENS("name = \"layers.0.mlp\"", "identifier name|'='|string \"layers.0.mlp\"|newline|end of file");
    EXPECT_TOKENS("\"a\\\"b\"", "string \"a\\\"b\"|newline|end of file");
}

Test(lexer, pytorch_qualified_names_are_one_token) {
    /* language.md §10: the checker says what to write instead */
    EXPECT_TOKENS("F.gelu(x) torch.nn.functional.silu nn.functional.relu",
                  "qualified name F.gelu|'('|identifier x|')'|qualified name torch.nn.functional.silu|"
                  "qualified name nn.functional.relu|newline|end of file");
    EXPECT_TOKENS("torch.sigmoid nn.Linear torch.nn.GELU",
                  "qualified name torch.sigmoid|qualified name nn.Linear|qualified name torch.nn.GELU|newline|"
                  "end of file");
    /* only PyTorch's namespaces: names called F or nn, and ranges, are as before */
    EXPECT_TOKENS("F..G nn F", "identifier F|'..'|identifier G|identifier nn|identifier F|newline|end of file");
}

Test(lexer, single_quoted_strings_are_repaired_to_double_quotes) {
    /* language.md §10: one error each, the token is the string meant */
    int ne;
    char *t = tokens("name = 'fc1' 'it\\'s \"x\"'", &ne);
    cr_expect_str_eq(t, "identifier name|'='|string \"fc1\"|string \"it's \\\"x\\\"\"|newline|end of file");
    cr_expect_eq(ne, 2);
    free(t);
    t = tokens("'fc1)\nx", &ne);
    cr_expect_str_eq(t, "string 'fc1)|newline|identifier x|newline|end of file");
    cr_expect_eq(ne, 1);
    free(t);
}

Test(lexer, python_power_is_one_token) {
    /* the grammar reports it (language.md §10) */
    EXPECT_TOKENS("x**2 * *", "identifier x|'**'|number 2|'*'|'*'|newline|end of file");
}

Test(lexer, spans_are_line_and_byte_column) {
    char *p = positions("a\n\tbb  cc");
    cr_expect_str_eq(p, "1:1 identifier a\n1:2 newline\n2:2 identifier bb\n2:6 identifier cc\n"
                        "2:8 newline\n2:8 end of file\n");
    free(p);
}

Test(lexer, lexical_errors_are_reported_and_scanning_continues) {
    int ne;
    char *t = tokens("a @ b", &ne);
    cr_expect_str_eq(t, "identifier a|identifier b|newline|end of file");
    cr_expect_eq(ne, 1);
    free(t);
    t = tokens("x = \"abc\ny", &ne);
    cr_expect_str_eq(t, "identifier x|'='|string \"abc|newline|identifier y|newline|end of file");
    cr_expect_eq(ne, 1);
    free(t);
    t = tokens("12abc 1.2.3", &ne);
    cr_expect_str_eq(t, "number 0|number 0|newline|end of file");
    cr_expect_eq(ne, 2);
    free(t);
}

Test(lexer, nul_and_control_bytes) {
    int ne;
    Session s;
    session_init(&s);
    Boundary b;
    cr_assert_eq(BOUNDARY_ENTER(&b), 0);
    Source *so = source_new(&s.perm, "t.act", "a\0b\x01", 4);
    lex_dump(&s, so);
    boundary_pop(&b);
    ne = s.diag.nerrors;
    cr_expect_eq(ne, 2);
    cr_expect(strstr(s.diag.items[0].message, "0x00") != NULL, "%s", s.diag.items[0].message);
    session_release(&s);
}
