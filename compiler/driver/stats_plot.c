/*
 * stats_plot.c — `actc stats --plot DIR` (docs/stats.md): consumes the JSON
 * report of §4 and writes DIR/site-N.svg for every site and DIR/index.html.
 *
 * Each SVG is the site's pre-activation histogram — the 65 bins of §3 as
 * equal-width bars (they are equal width on their logarithmic scale), the
 * underflow and overflow as two bars set apart at the ends — and the
 * activation's curve y = op(x) over it on a secondary axis, x placed on the
 * same scale (linear in log2|x| between two edges, linear across the centre
 * bin).  Plain SVG 1.1: no script, no external resource.  Every string of
 * the report (op, layer, advice) is escaped for XML; numbers are printf'd,
 * and the CLI never calls setlocale, so they are the C locale's.
 *
 * The report is checked before anything is written.  Each file is built in
 * memory and written in one go, so an error names the one path it concerns.
 */
#include "driver/stats_plot.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* §3: 65 bins between 66 edges, 33 magnitudes per sign, centre bin 32. */
enum { NBINS = 65, NMAG = 33, CENTRE = 32, PER_BIN = 8, NSAMPLES = NBINS * PER_BIN + 1 };

/* The canvas and the plot area, in px. */
#define SVG_W 640.0
#define SVG_H 360.0
#define PLOT_L 64.0
#define PLOT_R 576.0
#define PLOT_T 40.0
#define PLOT_B 266.0
#define GAP 0.6 /* slots between an outer bar (underflow, overflow) and the bins */
#define C_BIN "#4a78b5"
#define C_OUT "#9a9a9a"
#define C_CURVE "#c0392b"
#define C_GRID "#e4e4e4"
#define DOT " &#183; "

/* ---- a growable text buffer: allocations checked, failure sticky ---- */

typedef struct Buf {
    char *p;
    size_t len, cap;
    bool failed; /* out of memory (or an encoding error of vsnprintf) */
} Buf;

static bool buf_reserve(Buf *b, size_t extra) {
    if (b->failed)
        return false;
    if (b->cap - b->len > extra)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void buf_add(Buf *b, const char *s, size_t n) {
    if (!buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_puts(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }

__attribute__((format(printf, 2, 3))) static void buf_printf(Buf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
    } else if ((size_t)n < sizeof tmp) {
        buf_add(b, tmp, (size_t)n);
    } else if (buf_reserve(b, (size_t)n)) {
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
    }
}

/* The length of the well-formed UTF-8 sequence at p if XML 1.0 allows its
 * character (no surrogates, U+FFFE or U+FFFF), else 0. */
static size_t utf8_len(const unsigned char *p) {
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n;
    unsigned cp;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, cp = p[0] & 0x1fu;
    else if ((p[0] & 0xf0) == 0xe0)
        n = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, cp = p[0] & 0x07u;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* the terminating NUL stops here too */
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
        return 0;
    return n;
}

/* s as XML character data or attribute value: markup escaped, what XML
 * cannot hold (control characters, malformed UTF-8) replaced by '?'. */
static void buf_esc(Buf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_len(p);
        const char *rep = NULL;
        if (n == 0)
            rep = "?", n = 1;
        else if (*p == '<')
            rep = "&lt;";
        else if (*p == '>')
            rep = "&gt;";
        else if (*p == '&')
            rep = "&amp;";
        else if (*p == '"')
            rep = "&quot;";
        else if (*p == '\'')
            rep = "&#39;";
        else if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            rep = "?";
        if (rep)
            buf_puts(b, rep);
        else
            buf_add(b, (const char *)p, n);
        p += n;
    }
}

/* A coordinate rounded to 1/100 px (and never "-0"). */
static double px(double v) { return round(v * 100) / 100 + 0.0; }

/* ---- the report ---- */

typedef struct Site {
    const json_t *j;
    int num;                  /* its "site" */
    double counts[NBINS + 2]; /* underflow, the 65 bins, overflow */
} Site;

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return 1;
}

static const char *get_str(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool get_int(const json_t *o, const char *key, long long *out) {
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return false;
    *out = (long long)json_integer_value(v);
    return true;
}

static bool get_num(const json_t *o, const char *key, double *out) {
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

static bool as_count(const json_t *v, double *out) {
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return *out >= 0 && isfinite(*out);
}

/* sites[i]: its number and histogram (what the plot cannot do without). */
static int read_site(const json_t *j, size_t i, Site *s, char *err, size_t errlen) {
    long long num;
    if (!json_is_object(j))
        return fail(err, errlen, "stats report: sites[%zu] is not an object", i);
    if (!get_int(j, "site", &num) || num < 0 || num > INT_MAX)
        return fail(err, errlen, "stats report: sites[%zu] has no \"site\" number", i);
    s->j = j;
    s->num = (int)num;
    const json_t *h = json_object_get(j, "histogram"), *c = json_object_get(h, "counts");
    if (!json_is_array(c) || json_array_size(c) != NBINS)
        return fail(err, errlen, "stats report: site %d: \"histogram\" has no \"counts\" array of %d counts",
                    s->num, NBINS);
    for (int k = 0; k < NBINS; k++)
        if (!as_count(json_array_get(c, (size_t)k), &s->counts[k + 1]))
            return fail(err, errlen, "stats report: site %d: histogram counts[%d] is not a count", s->num, k);
    if (!as_count(json_object_get(h, "underflow"), &s->counts[0]))
        return fail(err, errlen, "stats report: site %d: histogram \"underflow\" is not a count", s->num);
    if (!as_count(json_object_get(h, "overflow"), &s->counts[NBINS + 1]))
        return fail(err, errlen, "stats report: site %d: histogram \"overflow\" is not a count", s->num);
    return 0;
}

static int read_sites(const json_t *sites, Site *v, size_t n, char *err, size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        if (read_site(json_array_get(sites, i), i, &v[i], err, errlen))
            return 1;
        for (size_t k = 0; k < i; k++) /* one file per site number */
            if (v[k].num == v[i].num)
                return fail(err, errlen, "stats report: site %d appears twice", v[i].num);
    }
    return 0;
}

/* ---- text shared by the SVG and the page (escaped) ---- */

/* "site N · op · layer · U units · line L (in calls at lines a, b)" */
static void put_title(Buf *b, const Site *s) {
    const char *op = get_str(s->j, "op"), *layer = get_str(s->j, "layer");
    long long v;
    buf_printf(b, "site %d" DOT, s->num);
    buf_esc(b, op ? op : "?");
    if (layer) {
        buf_puts(b, DOT);
        buf_esc(b, layer);
    }
    if (get_int(s->j, "units", &v))
        buf_printf(b, DOT "%lld unit%s", v, v == 1 ? "" : "s");
    if (get_int(s->j, "line", &v))
        buf_printf(b, DOT "line %lld", v);
    const json_t *calls = json_object_get(s->j, "call_lines");
    size_t nc = json_array_size(calls);
    for (size_t i = 0; i < nc; i++) {
        const json_t *c = json_array_get(calls, i);
        buf_puts(b, i ? ", " : nc > 1 ? " (in calls at lines " : " (in a call at line ");
        buf_printf(b, "%lld", json_is_integer(c) ? (long long)json_integer_value(c) : -1LL);
        if (i + 1 == nc)
            buf_puts(b, ")");
    }
}

/* "K dead (P%); mean active fraction F" with the parts that apply; false
 * when none does. */
static bool put_figures(Buf *b, const Site *s) {
    static const char *const kinds[][2] = {
        {"dead", "dead"}, {"never_positive", "never positive"}, {"saturated", "saturated"}};
    bool any = false;
    long long units = 0;
    double f;
    get_int(s->j, "units", &units);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const json_t *list = json_object_get(s->j, kinds[k][0]);
        if (!json_is_array(list))
            continue;
        char key[32];
        snprintf(key, sizeof key, "%s_fraction", kinds[k][0]);
        size_t count = json_array_size(list);
        buf_printf(b, "%s%zu %s", any ? "; " : "", count, kinds[k][1]);
        if (!get_num(s->j, key, &f))
            f = units > 0 ? (double)count / (double)units : NAN;
        if (isfinite(f))
            buf_printf(b, " (%.3g%%)", 100 * f);
        any = true;
    }
    if (get_num(s->j, "mean_active_fraction", &f)) {
        buf_printf(b, "%smean active fraction %.3g", any ? "; " : "", f);
        any = true;
    }
    return any;
}

/* "pre-activation min A, max B, mean C, std D" (null or absent: "n/a"); false
 * without "preact". */
static bool put_preact(Buf *b, const Site *s) {
    static const char *const keys[] = {"min", "max", "mean", "std"};
    const json_t *p = json_object_get(s->j, "preact");
    if (!json_is_object(p))
        return false;
    buf_puts(b, "pre-activation");
    for (size_t k = 0; k < 4; k++) {
        const json_t *v = json_object_get(p, keys[k]);
        buf_printf(b, "%s %s ", k ? "," : "", keys[k]);
        if (json_is_number(v))
            buf_printf(b, "%.6g", json_number_value(v));
        else if (json_is_string(v)) /* a writer's spelling of NaN or inf */
            buf_esc(b, json_string_value(v));
        else
            buf_puts(b, "n/a");
    }
    return true;
}

/* ---- the SVG of one site ---- */

/* The k-th magnitude of §3 (2^-8, 1.5·2^-8, 2^-7, ..., 2^8) and its log2. */
static double mag(int k) { return ldexp(k % 2 ? 1.5 : 1.0, -8 + k / 2); }
static double mag_log2(int k) { return -8 + k / 2 + (k % 2 ? log2(1.5) : 0.0); }

/* Bin edge e, 0..65 ascending: the report's "edges". */
static double edge(int e) { return e <= CENTRE ? -mag(CENTRE - e) : mag(e - CENTRE - 1); }

/* The pre-activation at position u of the bin axis (edge e at u = e):
 * linear in log2|x| between two edges, linear across the centre bin. */
static double x_at(double u) {
    if (u >= CENTRE && u <= CENTRE + 1)
        return mag(0) * (2 * (u - CENTRE) - 1);
    double t = u > CENTRE ? u - (CENTRE + 1) : CENTRE - u; /* in magnitudes, 0..32 */
    int k = (int)t;
    double m = k >= NMAG - 1 ? mag(NMAG - 1) : exp2(mag_log2(k) + (t - k) * (mag_log2(k + 1) - mag_log2(k)));
    return u > CENTRE ? m : -m;
}

/* The width of a bar's slot; the canvas x of bin-axis position u. */
static double slot_w(void) { return (PLOT_R - PLOT_L) / (NBINS + 2 + 2 * GAP); }
static double u_px(double u) { return PLOT_L + (1 + GAP + u) * slot_w(); }

/* A step of 1, 2 or 5 times a power of ten giving at most n intervals over range > 0. */
static double nice_step(double range, int n) {
    double raw = range / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/* Bar k's values (0 underflow, 1..65 the bins, 66 overflow), §3's half-open sides. */
static void put_range(Buf *b, int k) {
    int i = k - 1;
    if (k == 0)
        buf_puts(b, "x &lt;= -256, -inf");
    else if (k == NBINS + 1)
        buf_puts(b, "x &gt;= 256, +inf, NaN");
    else
        buf_printf(b, "%s%.6g, %.6g%s", i <= CENTRE ? "(" : "[", edge(i), edge(i + 1), i < CENTRE ? "]" : ")");
}

static void svg_head(Buf *b, const Site *s) {
    buf_printf(b,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%g\" height=\"%g\" "
               "viewBox=\"0 0 %g %g\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
               "font-size=\"10\">\n<title>",
               SVG_W, SVG_H, SVG_W, SVG_H);
    put_title(b, s);
    buf_printf(b, "</title>\n<rect x=\"0\" y=\"0\" width=\"%g\" height=\"%g\" fill=\"#ffffff\"/>\n", SVG_W, SVG_H);
    buf_printf(b, "<text x=\"%g\" y=\"22\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">",
               SVG_W / 2);
    put_title(b, s);
    buf_puts(b, "</text>\n");
}

/* The x axis: a few edges labelled at their positions, grid lines under the
 * bars, the outer bars' labels and the axis title below. */
static void svg_x_axis(Buf *b) {
    static const struct {
        double u;
        const char *text;
    } labels[] = {{0, "-256"}, {8, "-16"}, {16, "-1"}, {24, "-1/16"}, {CENTRE + 0.5, "0"},
                  {41, "1/16"}, {49, "1"},  {57, "16"}, {65, "256"}};
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
        double x = px(u_px(labels[i].u));
        buf_printf(b, "<line x1=\"%.6g\" y1=\"%g\" x2=\"%.6g\" y2=\"%g\" stroke=\"" C_GRID "\"/>\n", x, PLOT_T, x,
                   PLOT_B);
        buf_printf(b, "<line x1=\"%.6g\" y1=\"%g\" x2=\"%.6g\" y2=\"%g\" stroke=\"#000000\"/>\n", x, PLOT_B, x,
                   PLOT_B + 4);
        buf_printf(b, "<text x=\"%.6g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", x, PLOT_B + 14,
                   labels[i].text);
    }
    buf_printf(b, "<text x=\"%g\" y=\"%g\">&lt;= -256</text>\n", PLOT_L, PLOT_B + 28);
    buf_printf(b, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">&gt;= 256 / NaN</text>\n", PLOT_R, PLOT_B + 28);
    buf_printf(b, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">pre-activation x (log scale in |x|)</text>\n",
               (PLOT_L + PLOT_R) / 2, PLOT_B + 28);
}

/* The bars (class "bar", one per bin and the two outer ones, each with its
 * range and count as a tooltip) and the count axis on the left.  Heights are
 * linear in the counts; a non-zero count is at least 1 px high. */
static void svg_bars(Buf *b, const Site *s) {
    double maxc = 0, w = slot_w();
    for (int k = 0; k < NBINS + 2; k++)
        maxc = fmax(maxc, s->counts[k]);
    double step = maxc > 0 ? fmax(1, nice_step(maxc, 4)) : 1, top = fmax(step, ceil(maxc / step) * step);
    for (int k = 0; k <= 20 && k * step <= top * (1 + 1e-9); k++) {
        double y = px(PLOT_B - k * step / top * (PLOT_B - PLOT_T));
        buf_printf(b, "<line x1=\"%g\" y1=\"%.6g\" x2=\"%g\" y2=\"%.6g\" stroke=\"#000000\"/>\n", PLOT_L - 4, y,
                   PLOT_L, y);
        buf_printf(b, "<text x=\"%g\" y=\"%.6g\" text-anchor=\"end\">%.6g</text>\n", PLOT_L - 6, px(y + 3.5),
                   k * step);
    }
    buf_printf(b, "<text x=\"12\" y=\"%g\" transform=\"rotate(-90 12 %g)\" text-anchor=\"middle\" fill=\"" C_BIN
                  "\">count</text>\n",
               (PLOT_T + PLOT_B) / 2, (PLOT_T + PLOT_B) / 2);
    buf_puts(b, "<g stroke=\"none\">\n");
    for (int k = 0; k < NBINS + 2; k++) {
        double x0 = k == 0 ? PLOT_L : k == NBINS + 1 ? PLOT_R - w : u_px(k - 1);
        double h = s->counts[k] / top * (PLOT_B - PLOT_T);
        if (s->counts[k] > 0 && h < 1)
            h = 1;
        buf_printf(b, "<rect class=\"bar\" x=\"%.6g\" y=\"%.6g\" width=\"%.6g\" height=\"%.6g\" fill=\"%s\"><title>",
                   px(x0 + 0.5), px(PLOT_B - h), px(w - 1), px(h), k == 0 || k == NBINS + 1 ? C_OUT : C_BIN);
        put_range(b, k);
        buf_printf(b, ": %.0f</title></rect>\n", s->counts[k]);
    }
    buf_puts(b, "</g>\n");
    buf_printf(b, "<path d=\"M%g %gV%gH%g\" fill=\"none\" stroke=\"#000000\"/>\n", PLOT_L, PLOT_T, PLOT_B, PLOT_R);
}

/* The curve's axis on the right: ticks over [lo, hi] (multiples of step), a
 * dashed line at y = 0 when it is inside, the axis title. */
static void svg_curve_axis(Buf *b, const Site *s, double k0, double k1, double step) {
    double lo = k0 * step, hi = k1 * step;
    for (double k = k0; k <= k1 && k <= k0 + 20; k++) {
        double y = px(PLOT_B - (k * step - lo) / (hi - lo) * (PLOT_B - PLOT_T));
        buf_printf(b, "<line x1=\"%g\" y1=\"%.6g\" x2=\"%g\" y2=\"%.6g\" stroke=\"" C_CURVE "\"/>\n", PLOT_R, y,
                   PLOT_R + 4, y);
        buf_printf(b, "<text x=\"%g\" y=\"%.6g\" fill=\"" C_CURVE "\">%.6g</text>\n", PLOT_R + 6, px(y + 3.5),
                   k * step + 0.0);
        if (k == 0 && k0 < 0 && k1 > 0)
            buf_printf(b, "<line x1=\"%g\" y1=\"%.6g\" x2=\"%g\" y2=\"%.6g\" stroke=\"" C_CURVE
                          "\" stroke-opacity=\"0.4\" stroke-dasharray=\"3 3\"/>\n",
                       PLOT_L, y, PLOT_R, y);
    }
    buf_printf(b, "<path d=\"M%g %gV%g\" fill=\"none\" stroke=\"" C_CURVE "\"/>\n", PLOT_R, PLOT_T, PLOT_B);
    buf_printf(b, "<text x=\"628\" y=\"%g\" transform=\"rotate(90 628 %g)\" text-anchor=\"middle\" fill=\"" C_CURVE
                  "\">",
               (PLOT_T + PLOT_B) / 2, (PLOT_T + PLOT_B) / 2);
    const char *op = get_str(s->j, "op");
    buf_esc(b, op ? op : "y");
    buf_puts(b, "(x)</text>\n");
}

/* y = curve(x) sampled PER_BIN times per bin across the bins' range, on the
 * secondary axis; broken where it is not finite, absent where it is never. */
static void svg_curve(Buf *b, const Site *s, stats_curve_fn curve, void *ud) {
    double ys[NSAMPLES], lo = INFINITY, hi = -INFINITY;
    if (!curve)
        return;
    for (int i = 0; i < NSAMPLES; i++) {
        ys[i] = curve(ud, s->num, x_at((double)i / PER_BIN));
        if (isfinite(ys[i]))
            lo = fmin(lo, ys[i]), hi = fmax(hi, ys[i]);
    }
    if (!(lo <= hi))
        return;
    if (hi - lo <= 1e-9 * fmax(1, fabs(hi))) /* flat: centre it */
        lo -= 0.5, hi += 0.5;
    if (!isfinite(hi - lo))
        return;
    double step = nice_step(hi - lo, 4), k0 = floor(lo / step), k1 = ceil(hi / step);
    svg_curve_axis(b, s, k0, k1, step);
    lo = k0 * step;
    hi = k1 * step;
    buf_puts(b, "<path class=\"curve\" d=\"");
    bool pen = false;
    for (int i = 0; i < NSAMPLES; i++) {
        if (!isfinite(ys[i])) {
            pen = false;
            continue;
        }
        double y = PLOT_B - (ys[i] - lo) / (hi - lo) * (PLOT_B - PLOT_T);
        buf_printf(b, "%s%.6g %.6g", pen ? "L" : "M", px(u_px((double)i / PER_BIN)), px(y));
        pen = true;
    }
    buf_puts(b, "\" fill=\"none\" stroke=\"" C_CURVE "\" stroke-width=\"1.5\" stroke-linejoin=\"round\"/>\n");
}

/* One line of text at the foot of the plot, if `put` writes anything. */
static void svg_text_line(Buf *b, double y, bool (*put)(Buf *, const Site *), const Site *s) {
    Buf line = {0};
    if (put(&line, s) && !line.failed) {
        buf_printf(b, "<text x=\"%g\" y=\"%g\" font-size=\"11\">", PLOT_L, y);
        buf_puts(b, line.p);
        buf_puts(b, "</text>\n");
    }
    if (line.failed)
        b->failed = true;
    free(line.p);
}

static void svg_site(Buf *b, const Site *s, stats_curve_fn curve, void *ud) {
    svg_head(b, s);
    svg_x_axis(b);
    svg_bars(b, s);
    svg_curve(b, s, curve, ud);
    svg_text_line(b, SVG_H - 36, put_figures, s);
    svg_text_line(b, SVG_H - 18, put_preact, s);
    buf_puts(b, "</svg>\n");
}

/* ---- index.html: XHTML-style HTML5, the advice first, then every site ---- */

static void html_index(Buf *b, const json_t *report, const Site *v, size_t n) {
    const char *model = get_str(report, "model");
    buf_puts(b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
                "<meta charset=\"utf-8\"/>\n<title>actc stats");
    if (model) {
        buf_puts(b, ": ");
        buf_esc(b, model);
    }
    buf_puts(b, "</title>\n<style>body { font-family: sans-serif; margin: 1em 2em; } "
                "p.figures { margin: 0.2em 0; } img { border: 1px solid #ccc; }</style>\n"
                "</head>\n<body>\n<h1>actc stats");
    if (model) {
        buf_puts(b, ": ");
        buf_esc(b, model);
    }
    long long samples;
    buf_puts(b, "</h1>\n<p>");
    if (get_int(report, "samples", &samples))
        buf_printf(b, "%lld samples, ", samples);
    buf_printf(b, "%zu site%s</p>\n", n, n == 1 ? "" : "s");
    const json_t *advice = json_object_get(report, "advice");
    if (json_array_size(advice) > 0) {
        buf_puts(b, "<h2>Advice</h2>\n<ul>\n");
        for (size_t i = 0; i < json_array_size(advice); i++) {
            const char *msg = get_str(json_array_get(advice, i), "message");
            if (!msg)
                continue;
            buf_puts(b, "<li>");
            buf_esc(b, msg);
            buf_puts(b, "</li>\n");
        }
        buf_puts(b, "</ul>\n");
    }
    for (size_t i = 0; i < n; i++) {
        buf_printf(b, "<div class=\"site\" id=\"site-%d\">\n<h2>", v[i].num);
        put_title(b, &v[i]);
        buf_puts(b, "</h2>\n<p class=\"figures\">");
        if (put_figures(b, &v[i]))
            buf_puts(b, "<br/>");
        put_preact(b, &v[i]);
        buf_printf(b, "</p>\n<p><a href=\"site-%d.svg\"><img src=\"site-%d.svg\" width=\"%g\" height=\"%g\" alt=\"",
                   v[i].num, v[i].num, SVG_W, SVG_H);
        put_title(b, &v[i]);
        buf_puts(b, "\"/></a></p>\n</div>\n");
    }
    buf_puts(b, "</body>\n</html>\n");
}

/* ---- files ---- */

/* DIR, created if missing, with its missing parents (as mkdir -p). */
static int make_dir(const char *dir, char *err, size_t errlen) {
    struct stat st;
    size_t n = strlen(dir);
    char *p = malloc(n + 1);
    if (!p)
        return fail(err, errlen, "out of memory creating '%s'", dir);
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i < n; i++) /* the parents first; a failure shows below, at DIR itself */
        if (p[i] == '/' && p[i - 1] != '/') {
            p[i] = '\0';
            if (stat(p, &st) != 0)
                (void)mkdir(p, 0777);
            p[i] = '/';
        }
    free(p);
    if (mkdir(dir, 0777) == 0)
        return 0;
    int e = errno;
    if (e == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (e == EEXIST)
        return fail(err, errlen, "cannot create the directory '%s': it exists and is not a directory", dir);
    return fail(err, errlen, "cannot create the directory '%s': %s", dir, strerror(e));
}

/* DIR/name := b's text. */
static int write_buf(const char *dir, const char *name, const Buf *b, char *err, size_t errlen) {
    size_t dl = strlen(dir), nl = strlen(name);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    char *path = malloc(dl + nl + 2);
    if (!path)
        return fail(err, errlen, "out of memory writing '%s/%s'", dir, name);
    snprintf(path, dl + nl + 2, "%s%s%s", dir, slash ? "" : "/", name);
    int rc = 0;
    FILE *fp = b->failed ? NULL : fopen(path, "w");
    if (b->failed) {
        rc = fail(err, errlen, "out of memory writing '%s'", path);
    } else if (!fp) {
        rc = fail(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    } else {
        int e = 0;
        if (b->len && fwrite(b->p, 1, b->len, fp) != b->len)
            e = errno ? errno : EIO;
        if (fclose(fp) != 0 && !e)
            e = errno ? errno : EIO;
        if (e)
            rc = fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
    }
    free(path);
    return rc;
}

int stats_plot_write(const json_t *report, const char *dir, stats_curve_fn curve, void *ud, char *err,
                     size_t errlen) {
    if (err && errlen)
        err[0] = '\0';
    const json_t *sites = json_object_get(report, "sites");
    if (!json_is_array(sites))
        return fail(err, errlen, "stats report: no \"sites\" array");
    if (!dir)
        return fail(err, errlen, "stats plots: no directory");
    size_t n = json_array_size(sites);
    Site *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return fail(err, errlen, "out of memory reading the stats report");
    Buf b = {0};
    int rc = read_sites(sites, v, n, err, errlen);
    if (!rc)
        rc = make_dir(dir, err, errlen);
    for (size_t i = 0; i < n && !rc; i++) {
        char name[32];
        snprintf(name, sizeof name, "site-%d.svg", v[i].num);
        b.len = 0;
        svg_site(&b, &v[i], curve, ud);
        rc = write_buf(dir, name, &b, err, errlen);
    }
    if (!rc) {
        b.len = 0;
        html_index(&b, report, v, n);
        rc = write_buf(dir, "index.html", &b, err, errlen);
    }
    free(b.p);
    free(v);
    return rc;
}
