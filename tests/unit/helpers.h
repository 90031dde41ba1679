/*
 * helpers.h — shared helpers for the Criterion unit tests: check a program
 * given as a string through the public API and get back the status and the
 * rendered diagnostics.
 */
#ifndef ACTC_TEST_HELPERS_H
#define ACTC_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "actc/actc.h"

typedef struct CheckResult {
    int status;
    char *text; /* rendered diagnostics (malloc'ed copy) */
    size_t ndiag;
} CheckResult;

static inline CheckResult check_string(const char *src) {
    CheckResult r = {0};
    actc_session *s;
    cr_assert_eq(actc_session_new(&s), ACTC_OK);
    r.status = actc_check_source(s, "t.act", src, strlen(src));
    const char *t = actc_diag_render(s, ACTC_DIAG_TEXT);
    r.text = strdup(t ? t : "");
    r.ndiag = actc_diag_count(s);
    actc_session_free(s);
    return r;
}

/* Assert a program checks with status `st` and its diagnostics contain `needle`. */
#define EXPECT_DIAG(src, st, needle)                                                     \
    do {                                                                                 \
        CheckResult r_ = check_string(src);                                              \
        cr_expect_eq(r_.status, (st), "status %d, expected %d; diagnostics:\n%s",        \
                     r_.status, (st), r_.text);                                          \
        cr_expect(strstr(r_.text, (needle)) != NULL, "expected '%s' in:\n%s", (needle),  \
                  r_.text);                                                              \
        free(r_.text);                                                                   \
    } while (0)

#define EXPECT_OK(src)                                                                   \
    do {                                                                                 \
        CheckResult r_ = check_string(src);                                              \
        cr_expect_eq(r_.status, ACTC_OK, "expected success; diagnostics:\n%s", r_.text); \
        free(r_.text);                                                                   \
    } while (0)

#endif
