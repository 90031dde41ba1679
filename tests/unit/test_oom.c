/*
 * test_oom.c — out of memory is a status, not a crash (style.md §4).  For
 * every example, fail the N-th allocation for N = 1, 2, ... until checking
 * succeeds: each failing run must return ACTC_ERR_NOMEM (from session_new
 * or check), free everything it allocated (live count back to zero), and the
 * next attempt must work.
 */
#include <dirent.h>
#include <stdio.h>

#include "helpers.h"

#include "base/base.h"

static long countdown; /* allocations left before the injected failure; < 0: never fail */
static long live;      /* blocks currently allocated through the funnel */

static void *failing_alloc(void *ud, void *p, size_t size) {
    (void)ud;
    if (size == 0) {
        if (p)
            live--;
        free(p);
        return NULL;
    }
    if (countdown == 0)
        return NULL;
    if (countdown > 0)
        countdown--;
    void *q = realloc(p, size);
    if (q && !p)
        live++;
    return q;
}

static int check_with_limit(const char *path, long n) {
    countdown = n;
    actc_session *s = NULL;
    int st = actc_session_new(&s);
    if (st == ACTC_OK) {
        st = actc_check_file(s, path);
        if ((st == ACTC_OK || st == ACTC_ERR_CHECK) && !actc_diag_render(s, ACTC_DIAG_TEXT))
            st = ACTC_ERR_NOMEM;
    } else {
        cr_assert_null(s);
    }
    actc_session_free(s);
    countdown = -1;
    return st;
}

static void oom_loop(const char *path, int final) {
    actc_set_allocator(failing_alloc, NULL);
    arena_set_min_block(512); /* many small blocks: many failure points */
    long n;
    for (n = 0; n < 100000; n++) {
        int st = check_with_limit(path, n);
        cr_assert_eq(live, 0, "%s: %ld blocks leaked after failing allocation %ld", path, live, n);
        if (st == final)
            break;
        cr_assert_eq(st, ACTC_ERR_NOMEM, "%s: allocation %ld failed with status %d", path, n, st);
    }
    cr_expect_gt(n, 0);
    fprintf(stderr, "%s: %ld failure points\n", path, n);
    cr_assert_lt(n, 100000, "%s never succeeded", path);
    /* and once more with no failure at all */
    cr_expect_eq(check_with_limit(path, -1), final);
    actc_set_allocator(NULL, NULL);
    arena_set_min_block(0);
}

Test(oom, every_example_fails_cleanly_at_every_allocation) {
    DIR *d = opendir(ACTC_SOURCE_DIR "/examples");
    cr_assert(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".act") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/examples/%s", ACTC_SOURCE_DIR, e->d_name);
        oom_loop(path, ACTC_OK);
        n++;
    }
    closedir(d);
    cr_expect_geq(n, 6);
}

Test(oom, erroneous_program_fails_cleanly) {
    oom_loop(ACTC_SOURCE_DIR "/examples/errors/typo.act", ACTC_ERR_CHECK);
}
