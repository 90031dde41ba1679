/*
 * source.c — source buffers.  A Source owns a NUL-terminated copy of the text
 * and a table of line starts, so that spans (byte offsets) turn into
 * line:column only when a diagnostic is printed.
 */
#include <string.h>

#include "base.h"

Source *source_new(Arena *a, const char *name, const char *text, size_t len) {
    if (len >= UINT32_MAX - 1)
        return NULL; /* caller reports "file too large" */
    Source *s = NEW(a, Source);
    s->name = arena_strdup(a, name);
    s->text = arena_strndup(a, text, len);
    s->len = (uint32_t)len;
    uint32_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    s->line_starts = NEW_ARRAY(a, uint32_t, n);
    s->nlines = n;
    uint32_t k = 0;
    s->line_starts[k++] = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n')
            s->line_starts[k++] = (uint32_t)i + 1;
    return s;
}

void source_line_col(const Source *s, uint32_t off, uint32_t *line, uint32_t *col) {
    if (off > s->len)
        off = s->len;
    uint32_t lo = 0, hi = s->nlines; /* last line start <= off */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->line_starts[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    *line = lo + 1;
    *col = off - s->line_starts[lo] + 1;
}

const char *source_line(const Source *s, uint32_t line, uint32_t *len) {
    if (line == 0 || line > s->nlines) {
        *len = 0;
        return "";
    }
    uint32_t start = s->line_starts[line - 1];
    uint32_t end = line < s->nlines ? s->line_starts[line] - 1 : s->len;
    if (end > start && s->text[end - 1] == '\r')
        end--;
    *len = end - start;
    return s->text + start;
}

uint32_t source_check_utf8(const Source *s) {
    const unsigned char *t = (const unsigned char *)s->text;
    uint32_t i = 0, n = s->len;
    while (i < n) {
        unsigned c = t[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int k;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) k = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) k = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) k = 3, cp = c & 0x07, min = 0x10000;
        else return i;
        if (n - i <= (uint32_t)k)
            return i;
        for (int j = 1; j <= k; j++) {
            if ((t[i + j] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (t[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += (uint32_t)k + 1;
    }
    return UINT32_MAX;
}
