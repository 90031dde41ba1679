/*
 * test_diag.c — the diagnostic contract (design.md §4, language.md §9):
 * clang's text format with carets under tabs and multi-byte characters,
 * notes, the error cap, JSON records, and the structured API.
 */
#include <jansson.h>

#include "helpers.h"

Test(diag, caret_copies_tabs_and_underlines_span) {
    CheckResult r = check_string("model m(x: f32[batch, 4]) -> f32[batch, 4] {\n\th = \trelux(x)\n\treturn h\n}\n");
    cr_expect_str_eq(r.text, "t.act:2:7: error: unknown function 'relux'; did you mean 'relu'?\n"
                             "\th = \trelux(x)\n"
                             "\t    \t^~~~~\n"
                             "1 error generated.\n");
    free(r.text);
}

Test(diag, caret_counts_utf8_characters_once) {
    /* column is in bytes (like clang); the caret aligns under characters */
    CheckResult r = check_string("# é\nmodel m(x: f32[batch, 4]) -> f32[batch, 4] {\n  h = x # ü\n  return hh # é\n}\n");
    cr_expect(strstr(r.text, "t.act:4:10: error: use of undeclared identifier 'hh'; did you mean 'h'?\n"
                             "  return hh # é\n"
                             "         ^~\n"), "%s", r.text);
    free(r.text);
}

Test(diag, notes_follow_their_error) {
    CheckResult r = check_string("const A = 1\nconst A = 2\n");
    cr_expect(strstr(r.text, "t.act:2:7: error: redefinition of 'A'\nconst A = 2\n      ^\n"
                             "t.act:1:7: note: previous definition is here\nconst A = 1\n      ^\n"), "%s", r.text);
    free(r.text);
}

Test(diag, error_cap_stops_at_twenty) {
    char src[4096] = "model m(x: f32[batch, 4]) -> f32[batch, 4] {\n";
    for (int i = 0; i < 30; i++)
        strcat(src, "  h = ) x\n");
    strcat(src, "  return x\n}\n");
    CheckResult r = check_string(src);
    cr_expect_eq(r.status, ACTC_ERR_SYNTAX);
    cr_expect_eq(r.ndiag, 20);
    cr_expect(strstr(r.text, "actc: fatal error: too many errors emitted, stopping now\n20 errors generated.\n"),
              "%s", r.text);
    free(r.text);
}

Test(diag, json_one_object_per_line) {
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    const char *src = "const A = 1\nconst A = 2\n";
    cr_expect_eq(actc_check_source(s, "t.act", src, strlen(src)), ACTC_ERR_CHECK);
    const char *j = actc_diag_render(s, ACTC_DIAG_JSON);
    cr_assert(j);
    json_error_t err;
    json_t *o = json_loads(j, JSON_DISABLE_EOF_CHECK, &err);
    cr_assert(o, "%s", err.text);
    cr_expect_str_eq(json_string_value(json_object_get(o, "file")), "t.act");
    cr_expect_eq(json_integer_value(json_object_get(o, "line")), 2);
    cr_expect_eq(json_integer_value(json_object_get(o, "column")), 7);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(o, "end"), "column")), 8);
    cr_expect_str_eq(json_string_value(json_object_get(o, "severity")), "error");
    cr_expect_str_eq(json_string_value(json_object_get(o, "message")), "redefinition of 'A'");
    json_t *notes = json_object_get(o, "notes");
    cr_assert_eq(json_array_size(notes), 1);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(notes, 0), "line")), 1);
    json_decref(o);
    actc_session_free(s);
}

Test(diag, structured_records) {
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    const char *src = "const A = 1\nconst A = 2\n";
    actc_check_source(s, "t.act", src, strlen(src));
    cr_assert_eq(actc_diag_count(s), 1);
    actc_diagnostic d;
    cr_assert_eq(actc_diag_get(s, 0, &d), ACTC_OK);
    cr_expect_eq(d.severity, ACTC_SEV_ERROR);
    cr_expect_eq(d.line, 2);
    cr_expect_eq(d.column, 7);
    cr_expect_eq(d.end_column, 8);
    cr_expect_eq(d.nnotes, 1);
    cr_assert_eq(actc_diag_note(s, 0, 0, &d), ACTC_OK);
    cr_expect_eq(d.severity, ACTC_SEV_NOTE);
    cr_expect_eq(d.line, 1);
    cr_expect_eq(actc_diag_get(s, 1, &d), ACTC_ERR_ARG);
    cr_expect_eq(actc_diag_note(s, 0, 1, &d), ACTC_ERR_ARG);
    actc_session_free(s);
}

Test(diag, api_argument_errors) {
    actc_session *s;
    cr_expect_eq(actc_session_new(NULL), ACTC_ERR_ARG);
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    cr_expect_eq(actc_check_source(NULL, "a", "", 0), ACTC_ERR_ARG);
    cr_expect_eq(actc_check_source(s, NULL, "", 0), ACTC_ERR_ARG);
    cr_expect(strstr(actc_last_error(s), "name is NULL"));
    cr_expect_eq(actc_check_file(s, "/nonexistent/x.act"), ACTC_ERR_IO);
    cr_expect(strstr(actc_last_error(s), "cannot open '/nonexistent/x.act': No such file or directory"),
              "%s", actc_last_error(s));
    cr_expect_eq(actc_check_file(s, "/"), ACTC_ERR_IO);
    cr_expect_eq(actc_check_source(s, "a", "const A = 1", 11), ACTC_OK);
    cr_expect_eq(actc_check_source(s, "a", "const A = 1", 11), ACTC_ERR_ARG);
    actc_session_free(s);
    actc_session_free(NULL);
}

/* ---- fix-it hints (language.md §9.1): the sink on its own ---- */

#include "base/base.h"

/* Render one error at [start, end) of `text` with a fix-it writing `fix` over
 * [fs, fe); the text or JSON rendering, malloc'ed. */
static char *render_fixit(const char *text, uint32_t start, uint32_t end, uint32_t fs, uint32_t fe,
                          const char *fix, bool json) {
    Arena a = {0};
    Diag d;
    Boundary b;
    cr_assert_eq(BOUNDARY_ENTER(&b), 0);
    diag_init(&d, &a);
    Source *src = source_new(&a, "t.act", text, strlen(text));
    uint32_t f = diag_add_source(&d, src);
    Diagnostic *dg = diag_error(&d, (Span){f, start, end}, "msg");
    diag_fixit(&d, dg, (Span){f, fs, fe}, fix);
    char *out = strdup(json ? diag_render_json(&d) : diag_render_text(&d));
    boundary_pop(&b);
    arena_free(&a);
    return out;
}

Test(diag, fixit_line_under_the_caret) {
    char *t = render_fixit("\tb = False\n", 5, 10, 5, 10, "false", false);
    cr_expect_str_eq(t, "t.act:1:6: error: msg\n"
                        "\tb = False\n"
                        "\t    ^~~~~\n"
                        "\t    false\n"
                        "1 error generated.\n");
    free(t);
}

Test(diag, deletion_fixit_shows_only_the_range) {
    /* clang: removing text needs no replacement line */
    char *t = render_fixit("g = F.gelu(h)\n", 4, 6, 4, 6, "", false);
    cr_expect_str_eq(t, "t.act:1:5: error: msg\ng = F.gelu(h)\n    ^~\n1 error generated.\n");
    free(t);
}

Test(diag, fixits_in_json) {
    char *t = render_fixit("x = 'a'\n", 4, 7, 4, 7, "\"a\"", true);
    cr_expect(strstr(t, ",\"fixits\":[{\"file\":\"t.act\",\"line\":1,\"column\":5,\"end\":{\"line\":1,\"column\":8},"
                        "\"text\":\"\\\"a\\\"\"}]}"), "%s", t);
    free(t);
    /* no fixits: no field, as before */
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    actc_check_source(s, "t.act", "const A = 1\nconst A = 2\n", 24);
    const char *j = actc_diag_render(s, ACTC_DIAG_JSON);
    cr_expect(j && !strstr(j, "fixits"), "%s", j);
    actc_session_free(s);
}
