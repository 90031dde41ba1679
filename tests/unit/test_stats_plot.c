/*
 * test_stats_plot.c — compiler/driver/stats_plot.c (`actc stats --plot DIR`,
 * docs/stats.md) on a report built by hand: a relu site with dead units and
 * a sigmoid site with saturated ones, layer names and advice holding XML
 * markup.  The files exist, each SVG has its 67 bars (class "bar") and the
 * curve, user text is escaped, index.html shows every site and the advice;
 * an unwritable directory and malformed reports fail with a message.
 *
 * ACTC_TEST_PLOT_DIR=DIR writes the plots of `plots.two_sites` to DIR and
 * keeps them (for tests/stats/check_plots.py DIR by hand).
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/stats_plot.h"

#define LAYER0 "fc<&\">1"
#define LAYER0_XML "fc&lt;&amp;&quot;&gt;1"
#define LAYER1 "gate<&\">"
#define LAYER1_XML "gate&lt;&amp;&quot;&gt;"

/* ---- the report ---- */

/* 65 counts: a bump of height `peak` around bin `centre`. */
static json_t *counts(int centre, double peak) {
    json_t *a = json_array();
    for (int k = 0; k < 65; k++) {
        double d = (k - centre) / 4.0;
        json_array_append_new(a, json_integer((json_int_t)llround(peak * exp(-d * d))));
    }
    return a;
}

static json_t *edges(void) {
    json_t *a = json_array();
    for (int e = 0; e < 66; e++) {
        int k = e <= 32 ? 32 - e : e - 33;
        double m = ldexp(k % 2 ? 1.5 : 1.0, -8 + k / 2);
        json_array_append_new(a, json_real(e <= 32 ? -m : m));
    }
    return a;
}

static json_t *histogram(int centre, double peak, int under, int over) {
    return json_pack("{s:o, s:o, s:i, s:i}", "edges", edges(), "counts", counts(centre, peak), "underflow", under,
                     "overflow", over);
}

static json_t *report(void) {
    json_t *relu = json_pack("{s:i, s:s, s:i, s:[], s:s, s:i, s:[i,i,i], s:f, s:f, s:{s:f, s:f, s:f, s:f}, s:o}",
                             "site", 0, "op", "relu", "line", 3, "call_lines", "layer", LAYER0, "units", 64, "dead",
                             3, 17, 40, "dead_fraction", 3 / 64.0, "mean_active_fraction", 0.41, "preact", "min",
                             -4.25, "max", 3.5, "mean", -0.3, "std", 1.1, "histogram", histogram(45, 900, 0, 2));
    json_t *sig = json_pack("{s:i, s:s, s:i, s:[i,i], s:s, s:i, s:[i,i,i,i,i], s:f, s:f, s:{s:f, s:f, s:n, s:n}, s:o}",
                            "site", 1, "op", "sigmoid", "line", 7, "call_lines", 12, 15, "layer", LAYER1, "units", 16,
                            "saturated", 0, 1, 2, 5, 9, "saturated_fraction", 5 / 16.0, "mean_active_fraction", 0.55,
                            "preact", "min", -300.0, "max", 12.0, "mean", "std", "histogram",
                            histogram(58, 40000, 7, 0));
    json_t *r = json_pack("{s:s, s:i, s:[o,o], s:[{s:i, s:s, s:f, s:s}, {s:i, s:s, s:f, s:s}]}", "model", "m<l>p",
                          "samples", 1024, "sites", relu, sig, "advice", "site", 0, "rule", "dead > 10%", "figure",
                          0.047, "message", "site 0: fine (dead 4.7% < 10% & falling)", "site", 1, "rule",
                          "saturated > 10%", "figure", 0.3125, "message",
                          "site 1: 31% saturated: consider a non-saturating activation");
    cr_assert_not_null(r, "json_pack failed");
    return r;
}

static double curve(void *ud, int site, double x) {
    (void)ud;
    return site == 0 ? fmax(x, 0) : 1 / (1 + exp(-x));
}

static double no_curve(void *ud, int site, double x) {
    (void)ud, (void)site, (void)x;
    return NAN;
}

/* ---- files ---- */

static char *tmp_dir(void) {
    const char *t = getenv("TMPDIR");
    char *dir = malloc(4096);
    cr_assert_not_null(dir);
    snprintf(dir, 4096, "%s/actc_plot_XXXXXX", t && *t ? t : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    return dir;
}

static char *join(const char *dir, const char *name) {
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    cr_assert_not_null(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static char *slurp(const char *dir, const char *name) {
    char *path = join(dir, name);
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    free(path);
    return buf;
}

static void remove_in(const char *dir, const char *name) {
    char *p = join(dir, name);
    unlink(p);
    free(p);
}

static void remove_plots(const char *dir) {
    remove_in(dir, "site-0.svg");
    remove_in(dir, "site-1.svg");
    remove_in(dir, "index.html");
    rmdir(dir);
}

static int occurrences(const char *s, const char *what) {
    int n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

/* ---- tests ---- */

static void check_svg(const char *svg, const char *layer_xml, const char *figure) {
    cr_assert(!strncmp(svg, "<?xml", 5) || !strncmp(svg, "<svg", 4), "does not start as XML: %.40s", svg);
    cr_assert(strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
    cr_assert(strstr(svg, "</svg>"));
    cr_assert(strstr(svg, layer_xml), "no escaped layer name %s", layer_xml);
    cr_assert_null(strstr(svg, "<&\">"), "raw markup from the layer name");
    cr_assert_eq(occurrences(svg, "<rect class=\"bar\""), 67, "%d bars", occurrences(svg, "<rect class=\"bar\""));
    cr_assert_eq(occurrences(svg, "class=\"curve\""), 1);
    cr_assert(strstr(svg, figure), "no '%s'", figure);
    cr_assert_null(strstr(svg, "<script"));
    cr_assert_null(strstr(svg, "href"), "an external reference");
}

Test(plots, two_sites) {
    const char *keep = getenv("ACTC_TEST_PLOT_DIR");
    char *dir = keep && *keep ? strdup(keep) : tmp_dir();
    json_t *r = report();
    char err[512] = "x";
    cr_assert_eq(stats_plot_write(r, dir, curve, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_str_empty(err);

    char *svg0 = slurp(dir, "site-0.svg"), *svg1 = slurp(dir, "site-1.svg"), *html = slurp(dir, "index.html");
    check_svg(svg0, LAYER0_XML, "3 dead (4.69%)");
    cr_assert(strstr(svg0, "mean active fraction 0.41"));
    cr_assert(strstr(svg0, "min -4.25, max 3.5, mean -0.3, std 1.1"));
    cr_assert(strstr(svg0, "site 0 &#183; relu &#183; " LAYER0_XML " &#183; 64 units &#183; line 3<"));
    check_svg(svg1, LAYER1_XML, "5 saturated (31.2%)");
    cr_assert(strstr(svg1, "mean n/a, std n/a"));
    cr_assert(strstr(svg1, "line 7 (in calls at lines 12, 15)"));
    cr_assert_null(strstr(svg1, " dead"));

    cr_assert(!strncmp(html, "<!DOCTYPE html>", 15));
    cr_assert(strstr(html, "src=\"site-0.svg\""));
    cr_assert(strstr(html, "src=\"site-1.svg\""));
    cr_assert(strstr(html, LAYER0_XML) && strstr(html, LAYER1_XML));
    cr_assert_null(strstr(html, "<&\">"));
    cr_assert(strstr(html, "<title>actc stats: m&lt;l&gt;p</title>"));
    cr_assert(strstr(html, "<li>site 0: fine (dead 4.7% &lt; 10% &amp; falling)</li>"));
    cr_assert(strstr(html, "<li>site 1: 31% saturated"));
    cr_assert(strstr(html, "</html>"));
    free(svg0), free(svg1), free(html);

    /* again into the existing directory */
    cr_assert_eq(stats_plot_write(r, dir, curve, NULL, err, sizeof err), 0, "%s", err);
    if (!keep || !*keep)
        remove_plots(dir);
    json_decref(r);
    free(dir);
}

Test(plots, no_curve_when_unknown) {
    char *dir = tmp_dir();
    json_t *r = report();
    char err[512];
    cr_assert_eq(stats_plot_write(r, dir, no_curve, NULL, err, sizeof err), 0, "%s", err);
    char *svg = slurp(dir, "site-1.svg");
    cr_assert_null(strstr(svg, "class=\"curve\""));
    cr_assert_eq(occurrences(svg, "<rect class=\"bar\""), 67);
    free(svg);
    cr_assert_eq(stats_plot_write(r, dir, NULL, NULL, err, sizeof err), 0, "%s", err);
    svg = slurp(dir, "site-0.svg");
    cr_assert_null(strstr(svg, "class=\"curve\""));
    free(svg);
    remove_plots(dir);
    json_decref(r);
    free(dir);
}

Test(plots, unwritable_directory) {
    char *dir = tmp_dir(), *file = join(dir, "file"), *under = join(file, "plots");
    FILE *fp = fopen(file, "w");
    cr_assert_not_null(fp);
    fclose(fp);
    json_t *r = report();
    char err[512] = "";
    cr_assert_eq(stats_plot_write(r, under, curve, NULL, err, sizeof err), 1);
    cr_assert(strstr(err, under), "message without the path: %s", err);
    cr_assert(strstr(err, "Not a directory"), "%s", err);
    err[0] = '\0';
    cr_assert_eq(stats_plot_write(r, file, curve, NULL, err, sizeof err), 1); /* exists, not a directory */
    cr_assert(strstr(err, file), "message without the path: %s", err);
    char small[12];
    cr_assert_eq(stats_plot_write(r, under, curve, NULL, small, sizeof small), 1);
    cr_assert_eq(strlen(small), sizeof small - 1); /* truncated, terminated */
    unlink(file);
    rmdir(dir);
    json_decref(r);
    free(dir), free(file), free(under);
}

Test(plots, malformed_reports) {
    char *dir = tmp_dir(), *out = join(dir, "out");
    char err[512] = "";
    json_t *r = json_pack("{s:s, s:i}", "model", "m", "samples", 1);
    cr_assert_eq(stats_plot_write(r, out, curve, NULL, err, sizeof err), 1);
    cr_assert(strstr(err, "sites"), "%s", err);
    json_decref(r);
    cr_assert_eq(stats_plot_write(NULL, out, curve, NULL, err, sizeof err), 1);

    /* one count short: an error naming the site, and nothing written */
    r = report();
    json_t *c = json_object_get(json_object_get(json_array_get(json_object_get(r, "sites"), 1), "histogram"),
                                "counts");
    json_array_remove(c, 0);
    err[0] = '\0';
    cr_assert_eq(stats_plot_write(r, out, curve, NULL, err, sizeof err), 1);
    cr_assert(strstr(err, "site 1") && strstr(err, "counts"), "%s", err);
    struct stat st;
    cr_assert_neq(stat(out, &st), 0, "the directory was created");

    /* the same site number twice */
    json_object_set_new(json_array_get(json_object_get(r, "sites"), 1), "site", json_integer(0));
    json_array_append_new(c, json_integer(0));
    err[0] = '\0';
    cr_assert_eq(stats_plot_write(r, out, curve, NULL, err, sizeof err), 1);
    cr_assert(strstr(err, "site 0 appears twice"), "%s", err);
    json_decref(r);
    rmdir(dir);
    free(dir), free(out);
}

/* Text XML cannot hold (a control character, a malformed UTF-8 byte) is
 * replaced; well-formed UTF-8 is kept. */
Test(plots, unrepresentable_text) {
    char *dir = tmp_dir();
    json_t *r = report();
    json_t *site = json_array_get(json_object_get(r, "sites"), 0);
    json_object_set_new(site, "layer", json_stringn_nocheck("a\x01" "b\xff" "c\xc3\xa9", 7));
    char err[512];
    cr_assert_eq(stats_plot_write(r, dir, curve, NULL, err, sizeof err), 0, "%s", err);
    char *svg = slurp(dir, "site-0.svg"), *html = slurp(dir, "index.html");
    cr_assert(strstr(svg, "a?b?c\xc3\xa9"));
    cr_assert(strstr(html, "a?b?c\xc3\xa9"));
    free(svg), free(html);
    remove_plots(dir);
    json_decref(r);
    free(dir);
}
