/*
 * diag.c — the diagnostic sink.  Phases record errors, warnings and notes
 * with spans; nothing is printed here.  Rendering produces the contract
 * format (design.md §4, docs/language.md §9):
 *
 *   FILE:LINE:COL: error: message
 *   <source line>
 *   <caret line: '^' at the start, '~' under the rest of the span>
 *
 *   <fix-it line: the replacement text under the span, when certain>
 *
 * or one JSON object per diagnostic for editors (--diagnostics=json).
 * After DIAG_MAX_ERRORS errors further errors are dropped and one final
 * "too many errors" line is rendered, as clang does.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

void diag_init(Diag *d, Arena *a) { *d = (Diag){.arena = a}; }

uint32_t diag_add_source(Diag *d, Source *s) {
    VEC_PUSH(d->arena, d->sources, d->nsources, d->capsources, s);
    return (uint32_t)(d->nsources - 1);
}

bool diag_full(const Diag *d) { return d->nerrors >= DIAG_MAX_ERRORS; }

static Diagnostic *add(Diag *d, Severity sev, Span sp, bool has_span, const char *fmt,
                       va_list ap) {
    if (sev == SEV_ERROR) {
        if (diag_full(d)) {
            d->too_many = true;
            return NULL;
        }
        d->nerrors++;
    } else {
        d->nwarnings++;
    }
    Diagnostic dg = {.severity = sev, .span = sp, .has_span = has_span};
    dg.message = arena_vprintf(d->arena, fmt, ap);
    VEC_PUSH(d->arena, d->items, d->len, d->cap, dg);
    return &d->items[d->len - 1];
}

Diagnostic *diag_error(Diag *d, Span sp, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    Diagnostic *r = add(d, SEV_ERROR, sp, true, fmt, ap);
    va_end(ap);
    return r;
}

Diagnostic *diag_warning(Diag *d, Span sp, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    Diagnostic *r = add(d, SEV_WARNING, sp, true, fmt, ap);
    va_end(ap);
    return r;
}

Diagnostic *diag_error_nospan(Diag *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    Diagnostic *r = add(d, SEV_ERROR, (Span){0}, false, fmt, ap);
    va_end(ap);
    return r;
}

Diagnostic *diag_warning_nospan(Diag *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    Diagnostic *r = add(d, SEV_WARNING, (Span){0}, false, fmt, ap);
    va_end(ap);
    return r;
}

void diag_note(Diag *d, Diagnostic *dg, Span sp, const char *fmt, ...) {
    if (!dg)
        return;
    va_list ap;
    va_start(ap, fmt);
    DiagNote n = {sp, arena_vprintf(d->arena, fmt, ap)};
    va_end(ap);
    VEC_PUSH(d->arena, dg->notes, dg->nnotes, dg->capnotes, n);
}

void diag_fixit(Diag *d, Diagnostic *dg, Span sp, const char *text) {
    if (!dg)
        return;
    DiagFixit f = {sp, arena_strdup(d->arena, text)};
    VEC_PUSH(d->arena, dg->fixits, dg->nfixits, dg->capfixits, f);
}

static const char *sev_name(Severity s) {
    return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "note";
}

/* Display of one byte sequence of a source line: printable text as is, a
 * tab as a tab, other control bytes as a space, bytes that are not valid
 * UTF-8 as <XX> (as clang does).  Returns the number of bytes consumed and
 * the display width through *width (a tab counts as one, kept as a tab in
 * the caret line). */
static uint32_t display_unit(const char *s, uint32_t len, char *out, int *width) {
    unsigned char c = (unsigned char)s[0];
    if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
        out[0] = (char)c, out[1] = '\0';
        *width = 1;
        return 1;
    }
    if (c < 0x20 || c == 0x7f) {
        strcpy(out, " ");
        *width = 1;
        return 1;
    }
    int k = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    bool ok = k > 0 && (uint32_t)k < len;
    for (int j = 1; ok && j <= k; j++)
        ok = ((unsigned char)s[j] & 0xC0) == 0x80;
    if (!ok) {
        snprintf(out, 8, "<%02X>", c);
        *width = 4;
        return 1;
    }
    memcpy(out, s, (size_t)k + 1);
    out[k + 1] = '\0';
    *width = 1;
    return (uint32_t)k + 1;
}

enum { ECHO_MAX = 160, ECHO_BEFORE = 60 };

/* Echo the source line and the caret line under [col, col + ncols), then,
 * with fix_text, clang's fix-it line: the text at column fix_col.  Long
 * lines are shown as a window around the caret, with "..." marks. */
static void render_source(StrBuf *sb, const char *line, uint32_t len, uint32_t col, uint32_t ncols,
                          uint32_t fix_col, const char *fix_text) {
    uint32_t start = col - 1 > len ? len : col - 1;
    uint32_t from = 0, to = len;
    if (len > ECHO_MAX) {
        from = start > ECHO_BEFORE ? start - ECHO_BEFORE : 0;
        while (from > 0 && ((unsigned char)line[from] & 0xC0) == 0x80)
            from--;
        to = from + ECHO_MAX < len ? from + ECHO_MAX : len;
    }
    StrBuf caret, fix;
    sb_init(&caret, sb->arena);
    sb_init(&fix, sb->arena);
    uint32_t fix_start = fix_col ? fix_col - 1 : 0;
    bool has_fix = fix_text && fix_text[0] && fix_col && fix_start >= from && fix_start <= to;
    if (from > 0) {
        sb_puts(sb, "...");
        sb_puts(&caret, "   ");
        sb_puts(&fix, "   ");
    }
    uint32_t span_end = start + (ncols ? ncols : 1);
    bool marked = false;
    for (uint32_t i = from; i < to;) {
        char unit[16];
        int w;
        uint32_t used = display_unit(line + i, to - i, unit, &w);
        sb_puts(sb, unit);
        for (int j = 0; j < w; j++) {
            char m = ' ';
            if (i >= start && i < span_end)
                m = marked ? '~' : '^', marked = true;
            else if (unit[0] == '\t' && i < start)
                m = '\t';
            if (i < span_end)
                sb_putc(&caret, m);
            if (has_fix && i < fix_start)
                sb_putc(&fix, unit[0] == '\t' ? '\t' : ' ');
        }
        i += used;
    }
    if (to < len)
        sb_puts(sb, "...");
    if (!marked) /* the span starts at the end of the line */
        sb_putc(&caret, '^');
    sb_putc(sb, '\n');
    sb_puts(sb, sb_str(&caret));
    sb_putc(sb, '\n');
    if (has_fix) {
        for (const char *t = fix_text; *t; t++) /* control bytes shown as spaces, as in the source line */
            sb_putc(&fix, (unsigned char)*t < 0x20 && *t != '\t' ? ' ' : *t == 0x7f ? ' ' : *t);
        sb_puts(sb, sb_str(&fix));
        sb_putc(sb, '\n');
    }
}

static void render_one(Diag *d, StrBuf *sb, Severity sev, Span sp, bool has_span,
                       const char *msg, const DiagFixit *fix) {
    if (!has_span || sp.file >= (uint32_t)d->nsources) {
        sb_printf(sb, "actc: %s: %s\n", sev_name(sev), msg);
        return;
    }
    const Source *src = d->sources[sp.file];
    uint32_t line, col, eline, ecol;
    source_line_col(src, sp.start, &line, &col);
    source_line_col(src, sp.end, &eline, &ecol);
    sb_printf(sb, "%s:%u:%u: %s: %s\n", src->name, line, col, sev_name(sev), msg);
    uint32_t len;
    const char *text = source_line(src, line, &len);
    uint32_t ncols = eline == line && ecol > col ? ecol - col : (eline > line ? len + 1 - col : 1);
    uint32_t fline = 0, fcol = 0;
    if (fix && fix->span.file == sp.file)
        source_line_col(src, fix->span.start, &fline, &fcol);
    /* a fix-it is shown under the line it is on, as clang does */
    render_source(sb, text, len, col, ncols, fline == line ? fcol : 0, fix ? fix->text : NULL);
}

/* The fix-it to show under a diagnostic's source line: the first one that
 * writes something (a deletion is shown by the caret range alone). */
static const DiagFixit *shown_fixit(const Diagnostic *dg) {
    for (int i = 0; i < dg->nfixits; i++)
        if (dg->fixits[i].text[0])
            return &dg->fixits[i];
    return NULL;
}

const char *diag_render_text(Diag *d) {
    StrBuf sb;
    sb_init(&sb, d->arena);
    for (int i = 0; i < d->len; i++) {
        Diagnostic *dg = &d->items[i];
        render_one(d, &sb, dg->severity, dg->span, dg->has_span, dg->message, shown_fixit(dg));
        for (int j = 0; j < dg->nnotes; j++)
            render_one(d, &sb, SEV_NOTE, dg->notes[j].span, true, dg->notes[j].message, NULL);
    }
    if (d->too_many)
        sb_puts(&sb, "actc: fatal error: too many errors emitted, stopping now\n");
    if (d->nerrors && d->nwarnings)
        sb_printf(&sb, "%d error%s and %d warning%s generated.\n", d->nerrors,
                  d->nerrors == 1 ? "" : "s", d->nwarnings, d->nwarnings == 1 ? "" : "s");
    else if (d->nerrors)
        sb_printf(&sb, "%d error%s generated.\n", d->nerrors, d->nerrors == 1 ? "" : "s");
    else if (d->nwarnings)
        sb_printf(&sb, "%d warning%s generated.\n", d->nwarnings, d->nwarnings == 1 ? "" : "s");
    return sb_str(&sb);
}

/* jansson allocates through malloc; objects are built and freed here, so an
 * allocation failure inside jansson becomes ACTC_ERR_NOMEM below. */
static json_t *json_pos(Diag *d, Span sp, bool has_span, bool with_end) {
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (has_span && sp.file < (uint32_t)d->nsources) {
        const Source *src = d->sources[sp.file];
        uint32_t line, col, eline, ecol;
        source_line_col(src, sp.start, &line, &col);
        source_line_col(src, sp.end, &eline, &ecol);
        json_object_set_new(o, "file", json_string(src->name));
        json_object_set_new(o, "line", json_integer(line));
        json_object_set_new(o, "column", json_integer(col));
        if (with_end) {
            json_t *e = json_object();
            json_object_set_new(e, "line", json_integer(eline));
            json_object_set_new(e, "column", json_integer(ecol));
            json_object_set_new(o, "end", e);
        }
    }
    return o;
}

static json_t *json_diag(Diag *d, const Diagnostic *dg) {
    json_t *o = json_pos(d, dg->span, dg->has_span, true);
    if (!o)
        return NULL;
    json_object_set_new(o, "severity", json_string(sev_name(dg->severity)));
    json_object_set_new(o, "message", json_string(dg->message));
    json_t *notes = json_array();
    for (int j = 0; j < dg->nnotes; j++) {
        json_t *n = json_pos(d, dg->notes[j].span, true, true);
        if (n)
            json_object_set_new(n, "message", json_string(dg->notes[j].message));
        json_array_append_new(notes, n);
    }
    json_object_set_new(o, "notes", notes);
    if (dg->nfixits) { /* only when there are some: older consumers see no change */
        json_t *fixits = json_array();
        for (int j = 0; j < dg->nfixits; j++) {
            json_t *f = json_pos(d, dg->fixits[j].span, true, true);
            if (f)
                json_object_set_new(f, "text", json_string(dg->fixits[j].text));
            json_array_append_new(fixits, f);
        }
        json_object_set_new(o, "fixits", fixits);
    }
    return o;
}

const char *diag_render_json(Diag *d) {
    StrBuf sb;
    sb_init(&sb, d->arena);
    for (int i = 0; i < d->len; i++) {
        json_t *o = json_diag(d, &d->items[i]);
        /* json_dumpb into the arena: no buffer from jansson's allocator to
         * free (a host may have replaced it through libactrt) */
        size_t n = o ? json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_ENSURE_ASCII) : 0;
        char *s = n ? arena_alloc(d->arena, n + 1, 1) : NULL;
        if (s)
            json_dumpb(o, s, n, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(o);
        if (!s)
            boundary_throw(ACTC_ERR_NOMEM, "out of memory rendering diagnostics");
        sb_putn(&sb, s, n);
        sb_putc(&sb, '\n');
    }
    return sb_str(&sb);
}
