/*
 * safetensors.c — the safetensors reader: map a file (or borrow a buffer),
 * validate it completely, and convert tensors to f32 on request.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * (an object: tensor name -> {dtype, shape, data_offsets}, plus an optional
 * "__metadata__" object of strings), then the data section.  Validation is
 * strict (the reference implementation's rules and more): the header is
 * RFC 8259 JSON with no duplicate keys, parsed by jansson and then checked
 * against the schema (see "the header's JSON"), and the tensors must cover
 * the data section exactly, with no overlap, gap or trailing byte.  After a
 * successful open every StTensor is consistent: its byte range lies in the
 * data section and matches shape x element size; f->tensors is sorted by
 * name (st_find is a binary search).  On failure *f is zeroed and owns
 * nothing.  All arithmetic on sizes from the file is overflow-checked, and
 * every allocation goes through rt_alloc (jansson's too: alloc.c).  A file
 * that fails and is another format (sniff.c) gets a message saying which.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
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

size_t rt_utf8_check(const uint8_t *s, size_t len) {
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
    size_t bad = rt_utf8_check(f->base + 8, (size_t)n);
    if (bad != n)
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: header is not valid UTF-8 (bad byte 0x%02x at header offset %zu)", f->name,
                    f->base[8 + bad], bad);
    *hlen = n;
    return ACTC_OK;
}

/* ---- the header's JSON ----
 * jansson parses the header: json_loadb with JSON_REJECT_DUPLICATES (a key
 * twice in one object is an error: a tensor name, a key of an entry or of
 * "__metadata__") and JSON_DECODE_ANY (so that a top-level string or array
 * parses and is reported by its kind below).  No JSON_DISABLE_EOF_CHECK:
 * jansson already allows whitespace after the top-level value, which is
 * all the safetensors spec allows (headers are padded with spaces), and
 * rejects any other trailing text.  It refuses nesting deeper than
 * JSON_PARSER_MAX_DEPTH (2048), so deep input cannot exhaust the stack.
 * The tree is then walked by the schema:
 *   header   := { name: entry, ..., ["__metadata__": metadata] }
 *   entry    := { "dtype": string, "shape": [int, ...], "data_offsets": [int, int] }  (any order)
 *   metadata := { string: string, ... }
 * jansson keeps keys in insertion order, so members are checked in header
 * order and the first bad one is reported.  The tree costs ~1 KB and ~20
 * allocations per tensor (all through rt_alloc: see alloc.c), and jansson
 * reads the text a byte at a time: 10^6 tensors (a 69 MB header) open in
 * 6-7 s with a peak RSS of 1.2 GB, against a budget of 10 s and 2 GB
 * (test_safetensors.c, million_tensors); the hand-written parser this
 * replaced took 0.7 s. */

/* Defined in alloc.c (the declarations belong in internal.h): bracket a
 * jansson parse; rt_json_end tells whether an allocation made by jansson
 * failed (jansson does not always say so itself). */

typedef struct Ctx {
    const StFile *f;
    char *err;
    size_t errlen;
} Ctx;

/* The 1-based line and column of header byte `off`, counted as jansson
 * counts them (columns in characters, not bytes). */
static void text_pos(const char *s, size_t off, size_t *line, size_t *col) {
    *line = 1;
    *col = 1;
    for (size_t k = 0; k < off; k++) {
        if (s[k] == '\n')
            ++*line, *col = 1;
        else if (((unsigned char)s[k] & 0xC0) != 0x80)
            ++*col;
    }
}

/* jansson's error text for a message, control bytes escaped (its "near
 * '...'" context quotes raw header bytes). */
static const char *show_text(char out[4 * JSON_ERROR_TEXT_LENGTH + 1], const char *s) {
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s;
         *p && o + 4 < 4 * JSON_ERROR_TEXT_LENGTH; p++) {
        if (*p < 0x20 || *p == 0x7f)
            o += (size_t)snprintf(out + o, 5, "\\x%02x", *p);
        else
            out[o++] = (char)*p;
    }
    out[o] = '\0';
    return out;
}

/* The key jansson found twice, decoded, for the message (jansson quotes the
 * raw token only when it is at most 20 bytes).  jansson stops right after
 * the key's closing quote, at header byte `end`; the key's opening quote is
 * the nearest earlier '"' preceded by an even number of backslashes (inside
 * the string every '"' is escaped).  jansson decodes the token.  NULL if the
 * key cannot be recovered. */
static const char *dup_key(char out[128], const char *s, size_t n, int end) {
    if (end < 2 || (size_t)end > n || s[end - 1] != '"')
        return NULL;
    size_t q = (size_t)end - 1;
    for (;;) {
        if (q == 0)
            return NULL;
        if (s[--q] != '"')
            continue;
        size_t bs = 0;
        while (bs < q && s[q - 1 - bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            break;
    }
    rt_json_begin();
    json_t *k = json_loadb(s + q, (size_t)end - q, JSON_DECODE_ANY, NULL);
    const char *r =
        !rt_json_end() && json_is_string(k) ? show_name(out, json_string_value(k)) : NULL;
    json_decref(k);
    return r;
}

/* Parse the header text s[0, n) (valid UTF-8); on success *root is the
 * top-level value, of any type. */
static int parse_json(const StFile *f, const char *s, size_t n, json_t **root, char *err,
                      size_t errlen) {
    *root = NULL;
    if (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r')
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: header must start with '{' (found leading whitespace)", f->name);
    /* A NUL byte is never valid JSON; jansson would call it "end of file". */
    const char *nul = memchr(s, '\0', n);
    if (nul) {
        size_t line, col;
        text_pos(s, (size_t)(nul - s), &line, &col);
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: header is not valid JSON: NUL byte (line %zu, column %zu)", f->name, line,
                    col);
    }
    json_error_t je;
    rt_json_begin();
    json_t *v = json_loadb(s, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    /* jansson's own signs of a failed allocation count too (an empty text:
     * some paths return NULL without setting an error), in case a host has
     * replaced jansson's process-global allocator since alloc.c set it. */
    if (rt_json_end() ||
        (!v && (json_error_code(&je) == json_error_out_of_memory || !je.text[0]))) {
        json_decref(v); /* a tree built after a failed allocation may be wrong */
        return fail(ACTC_ERR_NOMEM, err, errlen, "%s: out of memory reading the header", f->name);
    }
    if (!v) {
        char tb[4 * JSON_ERROR_TEXT_LENGTH + 1], kb[128];
        show_text(tb, je.text);
        if (json_error_code(&je) == json_error_duplicate_key) {
            const char *key = dup_key(kb, s, n, je.position);
            return fail(ACTC_ERR_WEIGHTS, err, errlen,
                        "%s: header has a duplicate key%s%s%s: %s (line %d, column %d)", f->name,
                        key ? " '" : "", key ? key : "", key ? "'" : "", tb, je.line, je.column);
        }
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: header is not valid JSON: %s (line %d, column %d)", f->name, tb, je.line,
                    je.column);
    }
    *root = v;
    return ACTC_OK;
}

/* ---- the schema ---- */

/* The kind of a value of the wrong type, for "found ..." messages. */
static const char *kind(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown value";
}

/* "<file>: <what>, found <kind>" for a value of the wrong type. */
static int wrong(const Ctx *c, const char *what, const json_t *v) {
    return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen, "%s: %s, found %s", c->f->name, what, kind(v));
}

/* "tensor 'x': 'shape'", for messages about an integer array. */
static const char *array_what(char out[200], const char *tname, const char *key) {
    char nb[128];
    snprintf(out, 200, "tensor '%s': '%s'", show_name(nb, tname), key);
    return out;
}

/* An array of non-negative integers: the first `max` go to vals, *count is
 * the number of elements.  tname and key name the array in messages, which
 * are formatted only on the error paths. */
static int int_array(const Ctx *c, const json_t *a, const char *tname, const char *key,
                     int64_t *vals, int max, size_t *count) {
    char msg[320], what[200];
    if (!json_is_array(a)) {
        snprintf(msg, sizeof msg, "%s must be an array of non-negative integers",
                 array_what(what, tname, key));
        return wrong(c, msg, a);
    }
    size_t n = json_array_size(a);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_integer(v)) {
            snprintf(msg, sizeof msg, "%s element %zu must be a non-negative integer",
                     array_what(what, tname, key), i);
            if (json_is_real(v))
                return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen,
                            "%s: %s, found a number with a fraction or exponent", c->f->name, msg);
            return wrong(c, msg, v);
        }
        json_int_t x = json_integer_value(v); /* long long: jansson rejects what does not fit */
        if (x < 0)
            return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen,
                        "%s: %s element %zu is negative (%lld)", c->f->name,
                        array_what(what, tname, key), i, (long long)x);
        if (i < (size_t)max)
            vals[i] = (int64_t)x;
    }
    *count = n;
    return ACTC_OK;
}

/* "__metadata__": an object of strings (jansson rejected duplicate keys). */
static int metadata(const Ctx *c, json_t *m) {
    char msg[256], nb[128];
    if (!json_is_object(m))
        return wrong(c, "'__metadata__' must be an object of strings", m);
    const char *key;
    json_t *v;
    json_object_foreach(m, key, v) {
        if (!json_is_string(v)) {
            snprintf(msg, sizeof msg, "'__metadata__' entry '%s' must be a string",
                     show_name(nb, key));
            return wrong(c, msg, v);
        }
    }
    return ACTC_OK;
}

static int dtype_of(const Ctx *c, const json_t *v, const char *tname, StDtype *out) {
    char msg[256], nb[128], db[128];
    if (!json_is_string(v)) {
        snprintf(msg, sizeof msg, "tensor '%s': 'dtype' must be a string", show_name(nb, tname));
        return wrong(c, msg, v);
    }
    const char *s = json_string_value(v); /* no NUL inside: jansson rejects \u0000 */
    for (int d = 0; d < ST_DTYPE_COUNT; d++) {
        if (strcmp(s, dtypes[d].name) == 0) {
            *out = (StDtype)d;
            return ACTC_OK;
        }
    }
    return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen,
                "%s: tensor '%s': unknown dtype '%s' (expected BOOL, U8, I8, I16, U16, F16, BF16, "
                "I32, U32, F32, "
                "F64, I64, U64, F8_E4M3 or F8_E5M2)",
                c->f->name, show_name(nb, tname), show_name(db, s));
}

/* One member of a tensor entry: key k of the schema, value v. */
static int entry_member(const Ctx *c, StTensor *t, int k, const json_t *v) {
    char nb[128];
    size_t count;
    int st;
    if (k == 0)
        return dtype_of(c, v, t->name, &t->dtype);
    if (k == 1) {
        if ((st = int_array(c, v, t->name, "shape", t->shape, ST_MAX_RANK, &count)))
            return st;
        if (count > ST_MAX_RANK)
            return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen,
                        "%s: tensor '%s': rank %zu exceeds the maximum of %d", c->f->name,
                        show_name(nb, t->name), count, ST_MAX_RANK);
        t->rank = (int)count;
        return ACTC_OK;
    }
    int64_t off[2];
    if ((st = int_array(c, v, t->name, "data_offsets", off, 2, &count)))
        return st;
    if (count != 2)
        return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen,
                    "%s: tensor '%s': 'data_offsets' must be [begin, end], found %zu elements",
                    c->f->name, show_name(nb, t->name), count);
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
static int check_entry(const Ctx *c, const StTensor *t, uint64_t datalen) {
    char nb[128], sb[256];
    const char *file = c->f->name, *dt = dtypes[t->dtype].name;
    uint64_t bytes;
    show_name(nb, t->name);
    if (t->begin > t->end)
        return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen,
                    "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] have begin > end",
                    file, nb, t->begin, t->end);
    if (!tensor_bytes(t, &bytes))
        return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen,
                    "%s: tensor '%s': shape %s of %s overflows a 64-bit byte size", file, nb,
                    show_shape(sb, t->shape, t->rank), dt);
    if (bytes != t->end - t->begin)
        return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen,
                    "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                    "] do not match shape %s of %s (%" PRIu64 " bytes)",
                    file, nb, t->begin, t->end, show_shape(sb, t->shape, t->rank), dt, bytes);
    if (t->end > datalen)
        return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen,
                    "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                    "] extend beyond the data section (%" PRIu64 " bytes)",
                    file, nb, t->begin, t->end, datalen);
    return ACTC_OK;
}

/* A tensor entry: an object with exactly dtype, shape and data_offsets
 * (each at most once: jansson rejected duplicate keys). */
static int entry(const Ctx *c, StTensor *t, json_t *e, uint64_t datalen) {
    static const char *const keys[] = {"dtype", "shape", "data_offsets"};
    char msg[256], nb[128], kb[128];
    if (!json_is_object(e)) {
        snprintf(msg, sizeof msg, "tensor '%s': entry must be an object", show_name(nb, t->name));
        return wrong(c, msg, e);
    }
    unsigned seen = 0;
    const char *key;
    json_t *v;
    int st;
    json_object_foreach(e, key, v) {
        int k = 0;
        while (k < 3 && strcmp(key, keys[k]))
            k++;
        if (k == 3)
            return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen,
                        "%s: tensor '%s': unexpected key '%s' (expected only 'dtype', 'shape' and "
                        "'data_offsets')",
                        c->f->name, show_name(nb, t->name), show_name(kb, key));
        seen |= 1u << k;
        if ((st = entry_member(c, t, k, v)))
            return st;
    }
    for (int k = 0; k < 3; k++)
        if (!(seen & 1u << k))
            return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen, "%s: tensor '%s': missing key '%s'",
                        c->f->name, show_name(nb, t->name), keys[k]);
    return check_entry(c, t, datalen);
}

/* The top-level value: tensors into f->tensors (header order). */
static int walk_header(const Ctx *c, StFile *f, json_t *root, uint64_t datalen) {
    if (!json_is_object(root))
        return wrong(c, "header must be a JSON object", root);
    size_t n = json_object_size(root); /* tensors, and "__metadata__" if present */
    if (n > INT_MAX)                   /* cannot happen in a 100 MB header; ntensors is an int */
        return fail(ACTC_ERR_WEIGHTS, c->err, c->errlen, "%s: more than %d tensors", f->name,
                    INT_MAX);
    if (n && !(f->tensors = rt_calloc(n, sizeof *f->tensors)))
        return fail(ACTC_ERR_NOMEM, c->err, c->errlen, "%s: out of memory reading the header",
                    f->name);
    const char *key;
    json_t *v;
    int st;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "__metadata__") == 0) {
            st = metadata(c, v);
        } else {
            StTensor *t = &f->tensors[f->ntensors];
            if (!(t->name = rt_strdup(key)))
                return fail(ACTC_ERR_NOMEM, c->err, c->errlen,
                            "%s: out of memory reading the header", f->name);
            f->ntensors++; /* owned by f from here: st_close frees the name */
            if (!(st = entry(c, t, v, datalen)))
                t->data = f->base + (f->size - datalen) + t->begin;
        }
        if (st)
            return st;
    }
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

/* Sort by name (for st_find).  Equal neighbours cannot occur (jansson
 * rejected duplicate keys, and keys with a NUL byte), but st_find relies on
 * unique names, so the check stays: it is one pass over the sorted table. */
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
        Ctx c = {.f = f, .err = err, .errlen = errlen};
        json_t *root = NULL;
        st = parse_json(f, (const char *)f->base + 8, (size_t)hlen, &root, err, errlen);
        if (!st)
            st = walk_header(&c, f, root, f->size - 8 - hlen);
        json_decref(root);
    }
    if (!st)
        st = sort_names(f, err, errlen);
    if (!st)
        st = check_coverage(f, f->size - 8 - hlen, err, errlen);
    /* not safetensors at all (a torch.save zip, a .npy, ...): say what it
     * is instead (sniff.c).  A file under 8 bytes is not mapped: f->base
     * is "" then, and there is nothing to sniff. */
    if (st && st != ACTC_ERR_NOMEM && f->size >= 8)
        sniff_explain(f->base, f->size, f->name, SNIFF_SAFETENSORS, err, errlen);
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
    case ST_I8:
    case ST_U8: /* a quantised checkpoint: its scales are elsewhere, in a scheme actc does not read */
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: tensor '%s' has dtype %s; weights must be F32, F16, BF16 or F64 (for int8 weights give "
                    "the unquantised tensor and --weights int8: actc quantises it, per 32 with f32 scales)",
                    fname, show_name(nb, t->name), st_dtype_name(t->dtype));
    default:
        return fail(ACTC_ERR_WEIGHTS, err, errlen,
                    "%s: tensor '%s' has dtype %s; weights must be F32, F16, BF16 or F64", fname,
                    show_name(nb, t->name), st_dtype_name(t->dtype));
    }
}
