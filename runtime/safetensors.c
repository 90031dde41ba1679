/*
 * safetensors.c — the safetensors reader: map a file (or borrow a buffer),
 * validate it completely, and convert tensors to f32 on request.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * (an object: tensor name -> {dtype, shape, data_offsets}, plus an optional
 * "__metadata__" object of strings), then the data section.  Validation is
 * strict (the reference implementation's rules and more): the header is
 * RFC 8259 JSON with no duplicate keys, parsed by a small schema-directed
 * parser below (not jansson: see "JSON"), and the tensors must cover the
 * data section exactly, with no overlap, gap or trailing byte.  After a
 * successful open every StTensor is consistent: its byte range lies in the
 * data section and matches shape x element size; f->tensors is sorted by
 * name (st_find is a binary search).  On failure *f is zeroed and owns
 * nothing.  All arithmetic on sizes from the file is overflow-checked, and
 * every allocation goes through rt_alloc.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The host must be little-endian: F32/F64 data is copied as is. */
#if !defined(__BYTE_ORDER__) || !defined(__ORDER_LITTLE_ENDIAN__) ||                               \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif
_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE binary32/binary64 expected");

static const struct {
    const char *name;
    unsigned size;
} dtypes[ST_DTYPE_COUNT] = {
    [ST_BOOL] = {"BOOL", 1}, [ST_U8] = {"U8", 1},           [ST_I8] = {"I8", 1},
    [ST_I16] = {"I16", 2},   [ST_U16] = {"U16", 2},         [ST_F16] = {"F16", 2},
    [ST_BF16] = {"BF16", 2}, [ST_I32] = {"I32", 4},         [ST_U32] = {"U32", 4},
    [ST_F32] = {"F32", 4},   [ST_F64] = {"F64", 8},         [ST_I64] = {"I64", 8},
    [ST_U64] = {"U64", 8},   [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *st_dtype_name(StDtype d) { return (unsigned)d < ST_DTYPE_COUNT ? dtypes[d].name : "?"; }

/* ---- error messages ---- */

static int fail(int status, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(int status, char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* A tensor name for a message: control bytes escaped, quotes escaped, at
 * most ~80 bytes (cut at a UTF-8 boundary).  The header is valid UTF-8. */
static const char *show_name(char out[128], const char *s) {
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (o >= 80 && (*p & 0xC0) != 0x80) {
            memcpy(out + o, "...", 4);
            return out;
        }
        if (*p < 0x20 || *p == 0x7f || *p == '\'' || *p == '\\')
            o += (size_t)snprintf(out + o, 8, "\\x%02x", *p);
        else
            out[o++] = (char)*p;
    }
    out[o] = '\0';
    return out;
}

/* "[2, 3]" */
static const char *show_shape(char out[256], const int64_t *shape, int rank) {
    size_t o = 0;
    out[o++] = '[';
    for (int i = 0; i < rank; i++)
        o += (size_t)snprintf(out + o, 256 - o, "%s%" PRId64, i ? ", " : "", shape[i]);
    snprintf(out + o, 256 - o, "]");
    return out;
}

/* ---- the 8-byte prefix and the header's encoding ---- */

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF).
 * Returns the offset of the first bad byte, or len. */
static size_t utf8_check(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i], lo = 0x80, hi = 0xBF; /* the range of the second byte */
        size_t n;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return i;
        }
        if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += n + 1;
    }
    return len;
}

static uint64_t load_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The 8-byte length prefix and the header's UTF-8.  On success *hlen is
 * the header length. */
static int check_prefix(const StFile *f, uint64_t *hlen, char *err, size_t errlen) {
    if (f->size < 8)
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: file is too short for a safetensors header: %zu bytes, need at least 8",
                    f->name, f->size);
    uint64_t n = load_le64(f->base), end;
    if (n == 0)
        return fail(ACTC_ERR_WEIGHTS, err, errlen, "%s: header length is 0", f->name);
    if (__builtin_add_overflow(n, (uint64_t)8, &end))
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: header length %" PRIu64 " overflows 64-bit file offsets", f->name, n);
    if (n > ST_MAX_HEADER)
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: header length %" PRIu64 " exceeds the limit of %" PRIu64 " bytes", f->name,
                    n, ST_MAX_HEADER);
    if (end > f->size)
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: header length %" PRIu64
                    " extends beyond the end of the file (%zu bytes after the length)",
                    f->name, n, f->size - 8);
    size_t bad = utf8_check(f->base + 8, (size_t)n);
    if (bad != n)
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: header is not valid UTF-8 (bad byte 0x%02x at header offset %zu)", f->name,
                    f->base[8 + bad], bad);
    *hlen = n;
    return ACTC_OK;
}

/* ---- JSON ----
 * A streaming parser for RFC 8259 JSON directed by the safetensors schema:
 *   header := '{' [ member { ',' member } ] '}'         (no leading whitespace)
 *   member := string ':' ( entry | metadata )           ("__metadata__" at most once)
 *   entry  := '{' "dtype": string, "shape": [int...], "data_offsets": [int, int] '}'  (any order)
 *   metadata := '{' [ string ':' string { ',' string ':' string } ] '}'
 * A value of the wrong type is reported by its kind ("found an array")
 * without being parsed, so nesting is bounded by the schema: deep JSON
 * cannot exhaust the stack, and nothing is allocated per value except the
 * tensor names.  (jansson's DOM took ~1 KB and 15 allocations per tensor:
 * 8 s and 1 GB for 10^6 tensors.)  Duplicate keys are rejected. */

typedef struct Json {
    const StFile *f;
    const char *s; /* the header text (valid UTF-8) */
    size_t n, i;   /* its length, the cursor */
    char *str;     /* the last string read: decoded, NUL-terminated (rt_alloc) */
    size_t strcap;
    char *err;
    size_t errlen;
} Json;

/* A JSON syntax error at the cursor, with its 1-based line and column
 * (in bytes, as jansson and clang count). */
static int jsyntax(const Json *j, const char *what) {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < j->i && k < j->n; k++) {
        if (j->s[k] == '\n')
            line++, col = 1;
        else
            col++;
    }
    return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                "%s: header is not valid JSON: %s (line %zu, column %zu)", j->f->name, what, line,
                col);
}

static void jws(Json *j) {
    while (j->i < j->n &&
           (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static int jpeek(const Json *j) { return j->i < j->n ? (unsigned char)j->s[j->i] : -1; }

static bool jliteral(const Json *j, const char *w) {
    size_t n = strlen(w);
    return j->n - j->i >= n && memcmp(j->s + j->i, w, n) == 0;
}

/* The kind of the value at the cursor for "found ..." messages, or NULL
 * when no value starts there. */
static const char *jkind(const Json *j) {
    int c = jpeek(j);
    if (c == '{')
        return "an object";
    if (c == '[')
        return "an array";
    if (c == '"')
        return "a string";
    if (c == '-' || (c >= '0' && c <= '9'))
        return "a number";
    if (jliteral(j, "true") || jliteral(j, "false"))
        return "a boolean";
    if (jliteral(j, "null"))
        return "null";
    return NULL;
}

/* "<file>: <what>, found <kind>" for a value of the wrong type. */
static int jwrong(const Json *j, const char *what) {
    const char *k = jkind(j);
    if (!k)
        return jsyntax(j, j->i < j->n ? "invalid token" : "unexpected end of the header");
    return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen, "%s: %s, found %s", j->f->name, what, k);
}

static int jexpect(Json *j, char c, const char *what) {
    jws(j);
    if (jpeek(j) != c)
        return jsyntax(j, what);
    j->i++;
    jws(j);
    return ACTC_OK;
}

static bool jreserve(Json *j, size_t need) {
    if (need <= j->strcap)
        return true;
    size_t cap = j->strcap ? j->strcap : 64;
    while (cap < need)
        cap *= 2;
    char *p = rt_realloc(j->str, cap);
    if (!p)
        return false;
    j->str = p;
    j->strcap = cap;
    return true;
}

static int hexval(int c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Four hex digits at s[i..i+4) as a code unit, or -1. */
static long jhex4(const Json *j, size_t i) {
    if (j->n - i < 4)
        return -1;
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval((unsigned char)j->s[i + k]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* The \uXXXX escape at the cursor (after the 'u'), a surrogate pair if
 * needed, appended to j->str[*o] as UTF-8. */
static int jescape_u(Json *j, size_t *o) {
    long cp = jhex4(j, j->i);
    if (cp < 0)
        return jsyntax(j, "invalid \\u escape");
    j->i += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return jsyntax(j, "unpaired surrogate in a \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = jliteral(j, "\\u") ? jhex4(j, j->i + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return jsyntax(j, "unpaired surrogate in a \\u escape");
        j->i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0)
        return jsyntax(j, "\\u0000 in a string is not supported");
    char *p = j->str + *o;
    if (cp < 0x80) {
        p[0] = (char)cp, *o += 1;
    } else if (cp < 0x800) {
        p[0] = (char)(0xC0 | cp >> 6), p[1] = (char)(0x80 | (cp & 0x3F)), *o += 2;
    } else if (cp < 0x10000) {
        p[0] = (char)(0xE0 | cp >> 12), p[1] = (char)(0x80 | (cp >> 6 & 0x3F)),
        p[2] = (char)(0x80 | (cp & 0x3F));
        *o += 3;
    } else {
        p[0] = (char)(0xF0 | cp >> 18), p[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        p[2] = (char)(0x80 | (cp >> 6 & 0x3F)), p[3] = (char)(0x80 | (cp & 0x3F)), *o += 4;
    }
    return ACTC_OK;
}

/* The string at the cursor (which is at '"') into j->str; *len its length. */
static int jstring(Json *j, size_t *len) {
    size_t o = 0;
    j->i++;
    for (;;) {
        if (j->i >= j->n)
            return jsyntax(j, "unterminated string");
        if (!jreserve(j, o + 5))
            return fail(ACTC_ERR_NOMEM, j->err, j->errlen, "%s: out of memory reading the header",
                        j->f->name);
        unsigned char c = (unsigned char)j->s[j->i];
        if (c == '"')
            break;
        if (c < 0x20)
            return jsyntax(j, "control character in a string");
        j->i++;
        if (c != '\\') {
            j->str[o++] = (char)c;
            continue;
        }
        int e = jpeek(j);
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *hit = e > 0 ? strchr(from, e) : NULL;
        j->i++;
        int st;
        if (hit)
            j->str[o++] = to[hit - from];
        else if (e == 'u') {
            if ((st = jescape_u(j, &o)))
                return st;
        } else {
            j->i -= 2;
            return jsyntax(j, "invalid escape in a string");
        }
    }
    j->i++;
    j->str[o] = '\0';
    *len = o;
    return ACTC_OK;
}

/* A number at the cursor (RFC 8259 grammar).  *is_int: no fraction and no
 * exponent; then *v is its value, which must fit in int64. */
static int jnumber(Json *j, int64_t *v, bool *is_int) {
    size_t i = j->i;
    const char *s = j->s;
    bool neg = i < j->n && s[i] == '-', frac = false, exp = false, big = false;
    uint64_t mag = 0;
    i += neg;
    if (i >= j->n || s[i] < '0' || s[i] > '9')
        return jsyntax(j, "invalid number");
    if (s[i] == '0')
        i++;
    else
        for (; i < j->n && s[i] >= '0' && s[i] <= '9'; i++)
            big |= __builtin_mul_overflow(mag, 10, &mag) ||
                   __builtin_add_overflow(mag, (uint64_t)(s[i] - '0'), &mag);
    if (i < j->n && s[i] == '.') {
        frac = true;
        if (++i >= j->n || s[i] < '0' || s[i] > '9')
            return j->i = i, jsyntax(j, "invalid number");
        while (i < j->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < j->n && (s[i] == 'e' || s[i] == 'E')) {
        exp = true;
        i++;
        if (i < j->n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= j->n || s[i] < '0' || s[i] > '9')
            return j->i = i, jsyntax(j, "invalid number");
        while (i < j->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    *is_int = !frac && !exp;
    if (*is_int && (big || mag > (uint64_t)INT64_MAX + neg))
        return jsyntax(j, "integer out of the 64-bit range");
    if (*is_int)
        *v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    j->i = i;
    return ACTC_OK;
}

/* "tensor 'x': 'shape'", for messages about an integer array. */
static const char *array_what(char out[200], const char *tname, const char *key) {
    char nb[128];
    snprintf(out, 200, "tensor '%s': '%s'", show_name(nb, tname), key);
    return out;
}

/* '[' int { ',' int } ']' of non-negative integers: the first `max` go to
 * vals, *count is the number of elements.  tname and key name the array
 * in messages, which are formatted only on the error paths. */
static int jint_array(Json *j, const char *tname, const char *key, int64_t *vals, int max,
                      size_t *count) {
    char msg[320], what[200];
    if (jpeek(j) != '[') {
        snprintf(msg, sizeof msg, "%s must be an array of non-negative integers",
                 array_what(what, tname, key));
        return jwrong(j, msg);
    }
    int st;
    size_t n = 0;
    j->i++;
    jws(j);
    while (jpeek(j) != ']') {
        if (n && (st = jexpect(j, ',', "expected ',' or ']' in an array")))
            return st;
        bool num = jpeek(j) == '-' || (jpeek(j) >= '0' && jpeek(j) <= '9'), is_int = false;
        int64_t v = 0;
        if (num && (st = jnumber(j, &v, &is_int)))
            return st;
        if (!is_int) {
            snprintf(msg, sizeof msg, "%s element %zu must be a non-negative integer",
                     array_what(what, tname, key), n);
            if (!num)
                return jwrong(j, msg);
            return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                        "%s: %s, found a number with a fraction or exponent", j->f->name, msg);
        }
        if (v < 0)
            return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                        "%s: %s element %zu is negative (%" PRId64 ")", j->f->name,
                        array_what(what, tname, key), n, v);
        if (n < (size_t)max)
            vals[n] = v;
        n++;
        jws(j);
    }
    j->i++;
    *count = n;
    return ACTC_OK;
}

/* After a member: ',' (then *more) or the closing '}'. */
static int jnext(Json *j, bool *more) {
    jws(j);
    int c = jpeek(j);
    if (c != ',' && c != '}')
        return jsyntax(j, "expected ',' or '}' after an object member");
    j->i++;
    *more = c == ',';
    return ACTC_OK;
}

/* An object key at the cursor into j->str, and the ':' after it. */
static int jkey(Json *j) {
    size_t len;
    int st;
    jws(j);
    if (jpeek(j) != '"')
        return jsyntax(j, "expected a string (an object key)");
    if ((st = jstring(j, &len)))
        return st;
    return jexpect(j, ':', "expected ':' after an object key");
}

/* ---- the schema ---- */

static int free_keys(char **keys, size_t n, int st) {
    for (size_t i = 0; i < n; i++)
        rt_free(keys[i]);
    rt_free(keys);
    return st;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "__metadata__": an object of strings, keys unique. */
static int jmetadata(Json *j) {
    char msg[256], nb[128];
    if (jpeek(j) != '{')
        return jwrong(j, "'__metadata__' must be an object of strings");
    j->i++;
    jws(j);
    char **keys = NULL;
    size_t n = 0, cap = 0;
    int st = ACTC_OK;
    for (bool more = jpeek(j) != '}'; more && !st;) {
        if ((st = jkey(j)))
            break;
        if (n == cap) {
            char **k = rt_realloc(keys, (cap = cap ? 2 * cap : 16) * sizeof *keys);
            if (!k)
                return free_keys(
                    keys, n,
                    fail(ACTC_ERR_NOMEM, j->err, j->errlen, "%s: out of memory", j->f->name));
            keys = k;
        }
        if (!(keys[n] = rt_strdup(j->str)))
            return free_keys(
                keys, n, fail(ACTC_ERR_NOMEM, j->err, j->errlen, "%s: out of memory", j->f->name));
        n++;
        size_t len;
        if (jpeek(j) != '"') {
            snprintf(msg, sizeof msg, "'__metadata__' entry '%s' must be a string",
                     show_name(nb, j->str));
            st = jwrong(j, msg);
        } else if (!(st = jstring(j, &len)))
            st = jnext(j, &more);
    }
    if (!st && !n)
        j->i++; /* the '}' of an empty object */
    if (!st && n) {
        qsort(keys, n, sizeof *keys, cmp_str);
        for (size_t i = 1; i < n && !st; i++)
            if (strcmp(keys[i - 1], keys[i]) == 0)
                st = fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                          "%s: '__metadata__' has a duplicate key '%s'", j->f->name,
                          show_name(nb, keys[i]));
    }
    return free_keys(keys, n, st);
}

static int jdtype(Json *j, const char *tname, StDtype *out) {
    char msg[256], nb[128], db[128];
    if (jpeek(j) != '"') {
        snprintf(msg, sizeof msg, "tensor '%s': 'dtype' must be a string", show_name(nb, tname));
        return jwrong(j, msg);
    }
    size_t len;
    int st = jstring(j, &len);
    if (st)
        return st;
    for (int d = 0; d < ST_DTYPE_COUNT; d++) {
        if (strcmp(j->str, dtypes[d].name) == 0) {
            *out = (StDtype)d;
            return ACTC_OK;
        }
    }
    return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                "%s: tensor '%s': unknown dtype '%s' (expected BOOL, U8, I8, I16, U16, F16, BF16, "
                "I32, U32, F32, "
                "F64, I64, U64, F8_E4M3 or F8_E5M2)",
                j->f->name, show_name(nb, tname), show_name(db, j->str));
}

/* One member of a tensor entry: the key is in j->str. */
static int jentry_member(Json *j, const char *tname, StTensor *t, unsigned *seen) {
    static const char *const keys[] = {"dtype", "shape", "data_offsets"};
    char nb[128], kb[128];
    int k = 0;
    while (k < 3 && strcmp(j->str, keys[k]))
        k++;
    if (k == 3 || *seen & 1u << k)
        show_name(nb, tname);
    if (k == 3)
        return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                    "%s: tensor '%s': unexpected key '%s' (expected only 'dtype', 'shape' and "
                    "'data_offsets')",
                    j->f->name, nb, show_name(kb, j->str));
    if (*seen & 1u << k)
        return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen, "%s: tensor '%s': duplicate key '%s'",
                    j->f->name, nb, keys[k]);
    *seen |= 1u << k;
    size_t count;
    int st;
    if (k == 0)
        return jdtype(j, tname, &t->dtype);
    if (k == 1) {
        if ((st = jint_array(j, tname, keys[k], t->shape, ST_MAX_RANK, &count)))
            return st;
        if (count > ST_MAX_RANK)
            return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                        "%s: tensor '%s': rank %zu exceeds the maximum of %d", j->f->name,
                        show_name(nb, tname), count, ST_MAX_RANK);
        t->rank = (int)count;
        return ACTC_OK;
    }
    int64_t off[2];
    if ((st = jint_array(j, tname, keys[k], off, 2, &count)))
        return st;
    if (count != 2)
        return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                    "%s: tensor '%s': 'data_offsets' must be [begin, end], found %zu elements",
                    j->f->name, show_name(nb, tname), count);
    t->begin = (uint64_t)off[0];
    t->end = (uint64_t)off[1];
    return ACTC_OK;
}

/* Byte size from shape and dtype; false on 64-bit overflow.  A zero
 * dimension makes the size 0 whatever the other dimensions are. */
static bool tensor_bytes(const StTensor *t, uint64_t *out) {
    uint64_t n = dtypes[t->dtype].size;
    for (int i = 0; i < t->rank; i++)
        if (t->shape[i] == 0) {
            *out = 0;
            return true;
        }
    for (int i = 0; i < t->rank; i++)
        if (__builtin_mul_overflow(n, (uint64_t)t->shape[i], &n))
            return false;
    *out = n;
    return true;
}

/* A complete entry's offsets against its shape and the data section. */
static int check_entry(const Json *j, const StTensor *t, uint64_t datalen) {
    char nb[128], sb[256];
    const char *file = j->f->name, *dt = dtypes[t->dtype].name;
    uint64_t bytes;
    show_name(nb, t->name);
    if (t->begin > t->end)
        return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                    "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] have begin > end",
                    file, nb, t->begin, t->end);
    if (!tensor_bytes(t, &bytes))
        return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                    "%s: tensor '%s': shape %s of %s overflows a 64-bit byte size", file, nb,
                    show_shape(sb, t->shape, t->rank), dt);
    if (bytes != t->end - t->begin)
        return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                    "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                    "] do not match shape %s of %s (%" PRIu64 " bytes)",
                    file, nb, t->begin, t->end, show_shape(sb, t->shape, t->rank), dt, bytes);
    if (t->end > datalen)
        return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                    "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                    "] extend beyond the data section (%" PRIu64 " bytes)",
                    file, nb, t->begin, t->end, datalen);
    return ACTC_OK;
}

/* A tensor entry: an object with exactly dtype, shape and data_offsets. */
static int jentry(Json *j, StTensor *t, uint64_t datalen) {
    static const char *const keys[] = {"dtype", "shape", "data_offsets"};
    char msg[256], nb[128];
    if (jpeek(j) != '{') {
        snprintf(msg, sizeof msg, "tensor '%s': entry must be an object", show_name(nb, t->name));
        return jwrong(j, msg);
    }
    j->i++;
    jws(j);
    unsigned seen = 0;
    int st;
    for (bool more = jpeek(j) != '}'; more;)
        if ((st = jkey(j)) || (st = jentry_member(j, t->name, t, &seen)) || (st = jnext(j, &more)))
            return st;
    if (!seen)
        j->i++; /* the '}' of an empty object */
    for (int k = 0; k < 3; k++)
        if (!(seen & 1u << k))
            return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen, "%s: tensor '%s': missing key '%s'",
                        j->f->name, show_name(nb, t->name), keys[k]);
    return check_entry(j, t, datalen);
}

/* A new tensor named j->str at the end of f->tensors. */
static StTensor *add_tensor(Json *j, StFile *f, int *cap) {
    if (f->ntensors == *cap) {
        if (*cap > INT32_MAX / 2)
            return NULL;
        int nc = *cap ? 2 * *cap : 16;
        StTensor *t = rt_realloc(f->tensors, (size_t)nc * sizeof *t);
        if (!t)
            return NULL;
        f->tensors = t;
        *cap = nc;
    }
    StTensor *t = &f->tensors[f->ntensors];
    memset(t, 0, sizeof *t);
    if (!(t->name = rt_strdup(j->str)))
        return NULL;
    f->ntensors++; /* owned by f from here: st_close frees the name */
    return t;
}

/* The top-level object: tensors into f->tensors (header order). */
static int jheader(Json *j, StFile *f, uint64_t datalen) {
    int c = jpeek(j), st, cap = 0;
    if (c != '{') {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen,
                        "%s: header must start with '{' (found leading whitespace)", f->name);
        return jwrong(j, "header must be a JSON object");
    }
    j->i++;
    jws(j);
    bool meta = false;
    for (bool more = jpeek(j) != '}'; more;) {
        if ((st = jkey(j)))
            return st;
        if (strcmp(j->str, "__metadata__") == 0) {
            if (meta)
                return fail(ACTC_ERR_WEIGHTS, j->err, j->errlen, "%s: duplicate key '__metadata__'",
                            f->name);
            meta = true;
            st = jmetadata(j);
        } else {
            StTensor *t = add_tensor(j, f, &cap);
            if (!t)
                return fail(ACTC_ERR_NOMEM, j->err, j->errlen,
                            "%s: out of memory reading the header", f->name);
            if (!(st = jentry(j, t, datalen)))
                t->data = f->base + (f->size - datalen) + t->begin;
        }
        if (st || (st = jnext(j, &more)))
            return st;
    }
    if (!meta && f->ntensors == 0)
        j->i++; /* the '}' of an empty object */
    jws(j);
    if (j->i != j->n)
        return jsyntax(j, "unexpected text after the top-level object");
    return ACTC_OK;
}

/* ---- the tensor table ---- */

static int cmp_by_offset(const void *a, const void *b) {
    const StTensor *x = *(const StTensor *const *)a, *y = *(const StTensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_by_name(const void *a, const void *b) {
    return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

/* The tensors must tile the data section: sorted by offset, each begins
 * where the previous one ended, and the last ends at datalen. */
static int check_coverage(const StFile *f, uint64_t datalen, char *err, size_t errlen) {
    if (f->ntensors == 0) {
        if (datalen)
            return fail(ACTC_ERR_WEIGHTS, err, errlen,
                        "%s: %" PRIu64 " trailing bytes in the data section, which holds no tensor",
                        f->name, datalen);
        return ACTC_OK;
    }
    const StTensor **order = rt_calloc((size_t)f->ntensors, sizeof *order);
    if (!order)
        return fail(ACTC_ERR_NOMEM, err, errlen, "%s: out of memory checking the tensor offsets",
                    f->name);
    for (int i = 0; i < f->ntensors; i++)
        order[i] = &f->tensors[i];
    qsort(order, (size_t)f->ntensors, sizeof *order, cmp_by_offset);
    char nb[128], pb[128];
    int st = ACTC_OK;
    uint64_t at = 0; /* end of the covered prefix */
    for (int i = 0; i < f->ntensors && !st; i++) {
        const StTensor *t = order[i], *prev = i ? order[i - 1] : NULL;
        if (t->begin < at)
            st = fail(ACTC_ERR_WEIGHTS, err, errlen,
                      "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                      "] overlap tensor '%s' [%" PRIu64 ", %" PRIu64 "]",
                      f->name, show_name(nb, t->name), t->begin, t->end, show_name(pb, prev->name),
                      prev->begin, prev->end);
        else if (t->begin > at && prev)
            st = fail(ACTC_ERR_WEIGHTS, err, errlen,
                      "%s: gap in the data section: bytes [%" PRIu64 ", %" PRIu64
                      ") between tensor '%s' and tensor '%s' belong to no tensor",
                      f->name, at, t->begin, show_name(pb, prev->name), show_name(nb, t->name));
        else if (t->begin > at)
            st = fail(ACTC_ERR_WEIGHTS, err, errlen,
                      "%s: gap in the data section: bytes [0, %" PRIu64
                      ") before tensor '%s' belong to no tensor",
                      f->name, t->begin, show_name(nb, t->name));
        at = t->end;
    }
    if (!st && at != datalen)
        st = fail(ACTC_ERR_WEIGHTS, err, errlen,
                  "%s: %" PRIu64
                  " trailing bytes after the last tensor (the data section is %" PRIu64
                  " bytes, the tensors end at %" PRIu64 ")",
                  f->name, datalen - at, datalen, at);
    rt_free(order);
    return st;
}

/* Sort by name (for st_find); equal neighbours are duplicates. */
static int sort_names(StFile *f, char *err, size_t errlen) {
    char nb[128];
    if (f->ntensors)
        qsort(f->tensors, (size_t)f->ntensors, sizeof *f->tensors, cmp_by_name);
    for (int i = 1; i < f->ntensors; i++)
        if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0)
            return fail(ACTC_ERR_WEIGHTS, err, errlen, "%s: duplicate tensor name '%s'", f->name,
                        show_name(nb, f->tensors[i].name));
    return ACTC_OK;
}

/* Validate f->base[0, f->size); on failure release everything. */
static int validate(StFile *f, char *err, size_t errlen) {
    uint64_t hlen = 0;
    int st = check_prefix(f, &hlen, err, errlen);
    if (!st) {
        Json j = {.f = f,
                  .s = (const char *)f->base + 8,
                  .n = (size_t)hlen,
                  .err = err,
                  .errlen = errlen};
        st = jheader(&j, f, f->size - 8 - hlen);
        rt_free(j.str);
    }
    if (!st)
        st = sort_names(f, err, errlen);
    if (!st)
        st = check_coverage(f, f->size - 8 - hlen, err, errlen);
    if (st)
        st_close(f);
    return st;
}

/* ---- public API ---- */

int st_open_memory(StFile *f, const void *data, size_t len, const char *name, char *err,
                   size_t errlen) {
    memset(f, 0, sizeof *f);
    if (!name)
        name = "<memory>";
    if (!data && len)
        return fail(ACTC_ERR_WEIGHTS, err, errlen, "%s: no data", name);
    if (!(f->name = rt_strdup(name)))
        return fail(ACTC_ERR_NOMEM, err, errlen, "%s: out of memory", name);
    f->base = data ? data : (const uint8_t *)"";
    f->size = len;
    return validate(f, err, errlen);
}

static int sys_fail(const char *path, const char *what, int errnum, char *err, size_t errlen) {
    char buf[128];
    if (strerror_r(errnum, buf, sizeof buf))
        snprintf(buf, sizeof buf, "error %d", errnum);
    return fail(ACTC_ERR_IO, err, errlen, "%s: cannot %s: %s", path, what, buf);
}

int st_open(StFile *f, const char *path, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sys_fail(path, "open", errno, err, errlen);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return sys_fail(path, "stat", e, err, errlen);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return fail(ACTC_ERR_IO, err, errlen, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return fail(ACTC_ERR_IO, err, errlen, "%s: file too large to map", path);
    }
    size_t size = (size_t)sb.st_size;
    void *map = NULL;
    if (size >= 8) { /* mmap of length 0 fails; short files fail validation */
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return sys_fail(path, "map", e, err, errlen);
        }
    }
    close(fd); /* the mapping stays valid */
    if (!(f->name = rt_strdup(path))) {
        if (map)
            munmap(map, size);
        return fail(ACTC_ERR_NOMEM, err, errlen, "%s: out of memory", path);
    }
    f->base = map ? map : (const uint8_t *)"";
    f->size = size;
    f->mapped = map != NULL;
    return validate(f, err, errlen);
}

static void free_tensors(StFile *f) {
    for (int i = 0; i < f->ntensors; i++)
        rt_free(f->tensors[i].name);
    rt_free(f->tensors);
    f->tensors = NULL;
    f->ntensors = 0;
}

void st_close(StFile *f) {
    if (!f)
        return;
    free_tensors(f);
    if (f->mapped)
        munmap((void *)(uintptr_t)f->base, f->size);
    rt_free(f->name);
    memset(f, 0, sizeof *f);
}

const StTensor *st_find(const StFile *f, const char *name) {
    if (!f || !name)
        return NULL;
    int lo = 0, hi = f->ntensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->tensors[mid].name);
        if (c == 0)
            return &f->tensors[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Validated at open: the product fits (it is at most end - begin), but
 * with a zero dimension the others may be huge, so look for it first. */
int64_t st_numel(const StTensor *t) {
    for (int i = 0; i < t->rank; i++)
        if (t->shape[i] == 0)
            return 0;
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->shape[i];
    return n;
}

/* ---- conversion ---- */

/* IEEE binary16 -> binary32, exact (every half is a float). */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0) { /* zero or subnormal: man * 2^-24, exact in f32 */
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 0x1f) /* inf or NaN; the payload (and the quiet bit) moves up */
        bits = sign | 0x7f800000u | man << 13;
    else /* rebias 15 -> 127 */
        bits = sign | (exp + 112) << 23 | man << 13;
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

static float bf16_to_float(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

int st_read_f32(const StFile *f, const StTensor *t, float *dst, char *err, size_t errlen) {
    char nb[128];
    const char *fname = f && f->name ? f->name : "<safetensors>";
    if (!t || (!dst && st_numel(t)))
        return fail(ACTC_ERR_WEIGHTS, err, errlen, "%s: st_read_f32: no tensor or destination",
                    fname);
    size_t n = (size_t)st_numel(t);
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case ST_F32:
        if (n)
            memcpy(dst, p, n * 4); /* the data may be unaligned */
        return ACTC_OK;
    case ST_F16:
    case ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            dst[i] = t->dtype == ST_F16 ? half_to_float(h) : bf16_to_float(h);
        }
        return ACTC_OK;
    case ST_F64:
        /* Annex F conversion: round to nearest even; beyond FLT_MAX -> inf */
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
        }
        return ACTC_OK;
    default:
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: tensor '%s' has dtype %s; weights must be F32, F16, BF16 or F64", fname,
                    show_name(nb, t->name), st_dtype_name(t->dtype));
    }
}
