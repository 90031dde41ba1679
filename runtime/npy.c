/*
 * npy.c — the .npy reader and writer for model inputs and outputs.
 *
 * Format (numpy's NEP 1 / numpy.lib.format): the magic "\x93NUMPY", a major
 * and minor version byte (1.0: u16 header length; 2.0 and 3.0: u32; 3.0
 * headers are UTF-8, older ones ASCII), then the header: a Python dict
 * literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} padded with
 * spaces and ending in '\n', then the raw C-order array data.  The header is
 * parsed by hand with a small fixed grammar (below) and anything else is
 * rejected.  Reading accepts <f4, <f8 and <f2, the integers <i1 .. <i8 and
 * <u1 .. <u8, and |b1 (also '=' and '|'; '>' only for one-byte types),
 * converted to f32: floats rounded (f8), integers exactly, so an integer
 * beyond +-2^24 is an error naming the element; the data must be exactly
 * as long as the shape says.  A file without the magic that is another
 * format (sniff.c) gets a message saying which.  Writing produces version
 * 1.0, '<f4', the data 64-byte aligned (as numpy does).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#if !defined(__BYTE_ORDER__) || !defined(__ORDER_LITTLE_ENDIAN__) ||                               \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

/* Status: a malformed or unsupported file is ACTC_ERR_IO ("could not be
 * read"), bad arguments ACTC_ERR_ARG, allocation failure ACTC_ERR_NOMEM. */
static const char magic[6] = "\x93NUMPY";

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

/* "(2, 3)", "(3,)", "()": numpy's spelling */
static const char *show_shape(char out[256], const int64_t *shape, int rank) {
    size_t o = 0;
    out[o++] = '(';
    for (int i = 0; i < rank; i++)
        o += (size_t)snprintf(out + o, 256 - o, "%s%" PRId64, i ? ", " : "", shape[i]);
    snprintf(out + o, 256 - o, rank == 1 ? ",)" : ")");
    return out;
}

/* ---- the header grammar ----
 *   header := ws '{' ws [ entry { ws ',' ws entry } [ ws ',' ] ] ws '}' ws '\n' (spaces or newlines
 * after) entry  := string ws ':' ws value string := "'" chars "'" | '"' chars '"'      (no
 * backslash, no newline) value  := string | 'True' | 'False' | tuple tuple  := '(' ws ')' | '(' ws
 * int ws ',' ws ')' | '(' ws int { ws ',' ws int } [ ws ',' ] ws ')' int    := '0' | [1-9][0-9]*  [
 * 'L' ]         (Python 2 numpy wrote 3L) Keys: exactly 'descr', 'fortran_order' and 'shape', each
 * once. */

typedef struct Hdr {
    const char *s; /* header text */
    size_t n, i;   /* length, cursor */
    const char *file;
    char *err;
    size_t errlen;
    /* results */
    const char *descr;
    size_t descr_len;
    int fortran; /* -1 unset */
    int rank;    /* -1 unset */
    int64_t shape[NPY_MAX_RANK];
} Hdr;

static int hdr_fail(Hdr *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int hdr_fail(Hdr *h, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail(ACTC_ERR_IO, h->err, h->errlen, "%s: malformed header: %s (at header offset %zu)",
                h->file, msg, h->i);
}

/* A description of the text at the cursor, for "expected X, found Y". */
static const char *hdr_seen(const Hdr *h, char out[32]) {
    if (h->i >= h->n)
        return "the end of the header";
    unsigned char c = (unsigned char)h->s[h->i];
    if (c == '\n')
        return "a newline";
    if (c == '\'')
        return "a quote";
    if (c >= 0x20 && c < 0x7f)
        snprintf(out, 32, "'%c'", c);
    else
        snprintf(out, 32, "byte 0x%02x", c);
    return out;
}

static void hdr_ws(Hdr *h) {
    while (h->i < h->n &&
           (h->s[h->i] == ' ' || h->s[h->i] == '\t' || h->s[h->i] == '\n' || h->s[h->i] == '\r'))
        h->i++;
}

static bool hdr_peek(const Hdr *h, char c) { return h->i < h->n && h->s[h->i] == c; }

static int hdr_expect(Hdr *h, char c, const char *what) {
    char b[32];
    hdr_ws(h);
    if (!hdr_peek(h, c))
        return hdr_fail(h, "expected %s, found %s", what, hdr_seen(h, b));
    h->i++;
    return ACTC_OK;
}

static int hdr_string(Hdr *h, const char **s, size_t *len) {
    char b[32];
    hdr_ws(h);
    if (!hdr_peek(h, '\'') && !hdr_peek(h, '"'))
        return hdr_fail(h, "expected a quoted string, found %s", hdr_seen(h, b));
    char q = h->s[h->i++];
    size_t start = h->i;
    while (h->i < h->n && h->s[h->i] != q && h->s[h->i] != '\n') {
        if (h->s[h->i] == '\\')
            return hdr_fail(h, "a backslash in a string is not supported");
        h->i++;
    }
    if (h->i >= h->n || h->s[h->i] != q) {
        h->i = start - 1;
        return hdr_fail(h, "unterminated string");
    }
    *s = h->s + start;
    *len = h->i - start;
    h->i++;
    return ACTC_OK;
}

static bool hdr_word(Hdr *h, const char *w) {
    size_t n = strlen(w);
    if (h->n - h->i < n || memcmp(h->s + h->i, w, n) != 0)
        return false;
    /* a whole identifier: 'Truex' is not 'True' */
    if (h->i + n < h->n) {
        char c = h->s[h->i + n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            return false;
    }
    h->i += n;
    return true;
}

static int hdr_int(Hdr *h, int64_t *out) {
    char b[32];
    if (hdr_peek(h, '-'))
        return hdr_fail(h, "shape dimensions must be non-negative");
    if (h->i >= h->n || h->s[h->i] < '0' || h->s[h->i] > '9')
        return hdr_fail(h, "expected an integer or ')' in the shape, found %s", hdr_seen(h, b));
    size_t start = h->i;
    int64_t v = 0;
    for (; h->i < h->n && h->s[h->i] >= '0' && h->s[h->i] <= '9'; h->i++) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, h->s[h->i] - '0', &v)) {
            h->i = start;
            return hdr_fail(h, "shape dimension is too large");
        }
    }
    if (h->s[start] == '0' && h->i - start > 1) {
        h->i = start;
        return hdr_fail(h, "an integer with a leading zero");
    }
    if (hdr_peek(h, 'L'))
        h->i++;
    *out = v;
    return ACTC_OK;
}

static int hdr_tuple(Hdr *h) {
    char b[32];
    int st, rank = 0;
    bool comma = false; /* a comma followed the last element */
    if ((st = hdr_expect(h, '(', "a tuple for 'shape'")))
        return st;
    for (;;) {
        hdr_ws(h);
        if (hdr_peek(h, ')'))
            break;
        if (rank && !comma)
            return hdr_fail(h, "expected ',' or ')' in the shape, found %s", hdr_seen(h, b));
        if (rank == NPY_MAX_RANK)
            return hdr_fail(h, "rank exceeds the maximum of %d", NPY_MAX_RANK);
        if ((st = hdr_int(h, &h->shape[rank])))
            return st;
        rank++;
        hdr_ws(h);
        comma = hdr_peek(h, ',');
        if (comma)
            h->i++;
    }
    if (rank == 1 && !comma)
        return hdr_fail(h,
                        "'shape' must be a tuple: (%" PRId64
                        ") is an integer, a 1-d shape is written (%" PRId64 ",)",
                        h->shape[0], h->shape[0]);
    h->i++;
    h->rank = rank;
    return ACTC_OK;
}

static int hdr_value(Hdr *h, const char *key, size_t klen) {
    char b[32];
    hdr_ws(h);
    if (klen == 5 && memcmp(key, "descr", 5) == 0) {
        if (hdr_peek(h, '['))
            return hdr_fail(h, "structured dtypes (a list for 'descr') are not supported");
        return hdr_string(h, &h->descr, &h->descr_len);
    }
    if (klen == 13 && memcmp(key, "fortran_order", 13) == 0) {
        if (hdr_word(h, "True"))
            h->fortran = 1;
        else if (hdr_word(h, "False"))
            h->fortran = 0;
        else
            return hdr_fail(h, "'fortran_order' must be True or False, found %s", hdr_seen(h, b));
        return ACTC_OK;
    }
    return hdr_tuple(h);
}

/* One 'key': value pair; keys are checked for being known and unique. */
static int hdr_entry(Hdr *h) {
    const char *k;
    size_t kl;
    int st;
    size_t at = h->i;
    if ((st = hdr_string(h, &k, &kl)))
        return st;
    bool dup;
    if (kl == 5 && memcmp(k, "descr", 5) == 0)
        dup = h->descr != NULL;
    else if (kl == 13 && memcmp(k, "fortran_order", 13) == 0)
        dup = h->fortran >= 0;
    else if (kl == 5 && memcmp(k, "shape", 5) == 0)
        dup = h->rank >= 0;
    else {
        h->i = at;
        hdr_ws(h);
        return hdr_fail(h, "unexpected key '%.*s' (expected 'descr', 'fortran_order' and 'shape')",
                        (int)(kl > 40 ? 40 : kl), k);
    }
    if (dup) {
        h->i = at;
        hdr_ws(h);
        return hdr_fail(h, "duplicate key '%.*s'", (int)kl, k);
    }
    if ((st = hdr_expect(h, ':', "':' after a key")))
        return st;
    return hdr_value(h, k, kl);
}

static int hdr_parse(Hdr *h) {
    char b[32];
    int st;
    if ((st = hdr_expect(h, '{', "'{' (the header is a Python dict)")))
        return st;
    hdr_ws(h);
    while (!hdr_peek(h, '}')) {
        if ((st = hdr_entry(h)))
            return st;
        hdr_ws(h);
        if (hdr_peek(h, ','))
            h->i++;
        else if (!hdr_peek(h, '}'))
            return hdr_fail(h, "expected ',' or '}', found %s", hdr_seen(h, b));
        hdr_ws(h);
    }
    h->i++;
    while (h->i < h->n && (h->s[h->i] == ' ' || h->s[h->i] == '\n'))
        h->i++;
    if (h->i < h->n)
        return hdr_fail(h, "unexpected %s after the dict", hdr_seen(h, b));
    h->i = h->n;
    if (!h->descr || h->fortran < 0 || h->rank < 0)
        return hdr_fail(h, "missing key '%s'",
                        !h->descr        ? "descr"
                        : h->fortran < 0 ? "fortran_order"
                                         : "shape");
    return ACTC_OK;
}

/* ---- reading ---- */

/* An element type: numpy's kind ('f' IEEE float, 'i' signed and 'u'
 * unsigned integer, 'b' bool) and size in bytes, little-endian. */
typedef struct Dtype {
    char kind;
    int size;
} Dtype;

/* The element type from descr: f2, f4, f8; i1, i2, i4, i8; u1 .. u8; b1. */
static int descr_type(const Hdr *h, Dtype *dt) {
    char d[48];
    snprintf(d, sizeof d, "%.*s", (int)(h->descr_len > 40 ? 40 : h->descr_len), h->descr);
    bool known = h->descr_len == 3 && strchr("<=|>", d[0]) && d[1] && strchr("fiub", d[1]) &&
                 d[2] && strchr(d[1] == 'f' ? "248" : d[1] == 'b' ? "1" : "1248", d[2]);
    if (!known)
        return fail(ACTC_ERR_IO, h->err, h->errlen,
                    "%s: unsupported dtype '%s' (expected a float '<f4', '<f8' or '<f2', an "
                    "integer '<i1' .. '<i8' or '<u1' .. '<u8', or a bool '|b1')",
                    h->file, d);
    if (d[0] == '>' && d[2] != '1')
        return fail(ACTC_ERR_IO, h->err, h->errlen,
                    "%s: big-endian dtype '%s' is not supported; save with arr.astype('<%c%c')",
                    h->file, d, d[1], d[2]);
    *dt = (Dtype){.kind = d[1], .size = d[2] - '0'};
    return ACTC_OK;
}

/* Magic, version, header length and encoding; on success *hoff and *hlen
 * locate the header text. */
static int check_preamble(const uint8_t *b, size_t len, const char *name, size_t *hoff,
                          size_t *hlen, char *err, size_t errlen) {
    if (memcmp(b, magic, len < 6 ? len : 6) != 0) {
        /* a .npz, a safetensors file, ...: say so */
        if (sniff_explain(b, len, name, SNIFF_NPY, err, errlen))
            return ACTC_ERR_IO;
        return fail(ACTC_ERR_IO, err, errlen,
                    "%s: not a .npy file (it does not start with \"\\x93NUMPY\")", name);
    }
    if (len < 10)
        return fail(ACTC_ERR_IO, err, errlen, "%s: file is too short for a .npy header: %zu bytes",
                    name, len);
    int major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return fail(ACTC_ERR_IO, err, errlen,
                    "%s: unsupported .npy format version %d.%d (expected 1.0, 2.0 or 3.0)", name,
                    major, minor);
    size_t off = major == 1 ? 10 : 12;
    if (len < off)
        return fail(ACTC_ERR_IO, err, errlen, "%s: file is too short for a .npy header: %zu bytes",
                    name, len);
    uint64_t n = major == 1 ? (uint64_t)(b[8] | b[9] << 8)
                            : (uint64_t)b[8] | (uint64_t)b[9] << 8 | (uint64_t)b[10] << 16 |
                                  (uint64_t)b[11] << 24;
    if (n == 0)
        return fail(ACTC_ERR_IO, err, errlen, "%s: header length is 0", name);
    if (n > len - off)
        return fail(ACTC_ERR_IO, err, errlen,
                    "%s: header length %" PRIu64
                    " extends beyond the end of the file (%zu bytes after the length)",
                    name, n, len - off);
    const uint8_t *h = b + off;
    if (major < 3) {
        for (size_t i = 0; i < n; i++)
            if (h[i] >= 0x80)
                return fail(ACTC_ERR_IO, err, errlen,
                            "%s: header byte 0x%02x at offset %zu is not ASCII (only version 3.0 "
                            "headers are UTF-8)",
                            name, h[i], i);
    } else if (rt_utf8_check(h, (size_t)n) != n) {
        return fail(ACTC_ERR_IO, err, errlen, "%s: header is not valid UTF-8 (byte offset %zu)",
                    name, rt_utf8_check(h, (size_t)n));
    }
    if (h[n - 1] != '\n')
        return fail(ACTC_ERR_IO, err, errlen, "%s: header does not end with a newline", name);
    *hoff = off;
    *hlen = (size_t)n;
    return ACTC_OK;
}

/* IEEE binary16 -> binary32, exact. */
static float half_to_float(uint16_t x) {
    uint32_t sign = (uint32_t)(x & 0x8000u) << 16, exp = (x >> 10) & 0x1fu, man = x & 0x3ffu, bits;
    if (exp == 0) { /* zero or subnormal: man * 2^-24 */
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 0x1f) /* inf or NaN, payload kept */
        bits = sign | 0x7f800000u | man << 13;
    else
        bits = sign | (exp + 112) << 23 | man << 13;
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

static void convert_float(float *dst, const uint8_t *p, size_t n, int size) {
    if (size == 4) {
        if (n)
            memcpy(dst, p, n * 4);
    } else if (size == 8) {
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d; /* Annex F: round to nearest even, overflow to inf */
        }
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = half_to_float((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
    }
}

/* Where flat element i is, for a message: " (row 3, column 2)" in a
 * matrix, " (index [1, 0, 2])" at higher ranks, nothing at rank 0 or 1. */
static const char *show_index(char out[256], size_t i, const int64_t *shape, int rank) {
    int64_t idx[NPY_MAX_RANK];
    out[0] = '\0';
    if (rank < 2)
        return out;
    for (int k = rank - 1; k >= 0; k--) { /* no zero dimension: the array has element i */
        idx[k] = (int64_t)(i % (uint64_t)shape[k]);
        i /= (uint64_t)shape[k];
    }
    if (rank == 2) {
        snprintf(out, 256, " (row %" PRId64 ", column %" PRId64 ")", idx[0], idx[1]);
        return out;
    }
    size_t o = (size_t)snprintf(out, 256, " (index [");
    for (int k = 0; k < rank; k++)
        o += (size_t)snprintf(out + o, 256 - o, "%s%" PRId64, k ? ", " : "", idx[k]);
    snprintf(out + o, 256 - o, "])");
    return out;
}

/* f32 holds every integer of magnitude <= 2^24 exactly, and not all above. */
#define NPY_EXACT_INT ((int64_t)1 << 24)

/* The size-byte two's-complement integer whose bits are u (size 1..8),
 * without implementation-defined shifts or conversions. */
static int64_t sign_extend(uint64_t u, int size) {
    if (size == 8) {
        int64_t v;
        memcpy(&v, &u, 8);
        return v;
    }
    uint64_t m = (uint64_t)1 << (8 * size - 1); /* the sign bit */
    return (int64_t)(u ^ m) - (int64_t)m;
}

/* Integers and bools to f32, exactly; an element f32 cannot hold exactly
 * (beyond +-2^24), or a bool byte other than 0 and 1, is an error naming
 * it.  Little-endian, any alignment. */
static int convert_int(const Hdr *h, float *dst, const uint8_t *p, size_t n, Dtype dt) {
    char ib[256];
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = p + (size_t)dt.size * i;
        uint64_t u = 0;
        for (int k = dt.size - 1; k >= 0; k--)
            u = u << 8 | e[k];
        if (dt.kind == 'b') {
            if (u > 1)
                return fail(ACTC_ERR_IO, h->err, h->errlen,
                            "%s: element %zu%s is byte 0x%02x, not a bool (0 or 1)", h->file, i,
                            show_index(ib, i, h->shape, h->rank), (unsigned)u);
            dst[i] = (float)u;
            continue;
        }
        if (dt.kind == 'u') {
            if (u > (uint64_t)NPY_EXACT_INT)
                return fail(ACTC_ERR_IO, h->err, h->errlen,
                            "%s: element %zu%s is %" PRIu64
                            ", beyond 2^24, which f32 cannot hold exactly",
                            h->file, i, show_index(ib, i, h->shape, h->rank), u);
            dst[i] = (float)u;
            continue;
        }
        int64_t v = sign_extend(u, dt.size);
        if (v > NPY_EXACT_INT || v < -NPY_EXACT_INT)
            return fail(ACTC_ERR_IO, h->err, h->errlen,
                        "%s: element %zu%s is %" PRId64 ", beyond %s2^24, which f32 cannot hold "
                        "exactly",
                        h->file, i, show_index(ib, i, h->shape, h->rank), v, v < 0 ? "-" : "");
        dst[i] = (float)v;
    }
    return ACTC_OK;
}

/* The data length against the shape; *numel on success. */
static int check_data(const Hdr *h, int size, size_t have, size_t *numel) {
    char sb[256];
    uint64_t n = 1, bytes;
    bool zero = false, over = false;
    for (int i = 0; i < h->rank; i++) {
        zero |= h->shape[i] == 0;
        over |= __builtin_mul_overflow(n, (uint64_t)h->shape[i], &n);
    }
    if (zero)
        n = 0, over = false;
    if (over || __builtin_mul_overflow(n, (uint64_t)size, &bytes) || n > SIZE_MAX / sizeof(float))
        return fail(ACTC_ERR_IO, h->err, h->errlen, "%s: shape %s of '%.*s' is too large", h->file,
                    show_shape(sb, h->shape, h->rank), (int)h->descr_len, h->descr);
    if (bytes > have)
        return fail(
            ACTC_ERR_IO, h->err, h->errlen,
            "%s: data is truncated: shape %s of '%.*s' needs %" PRIu64 " bytes, the file has %zu",
            h->file, show_shape(sb, h->shape, h->rank), (int)h->descr_len, h->descr, bytes, have);
    if (bytes < have)
        return fail(ACTC_ERR_IO, h->err, h->errlen,
                    "%s: %" PRIu64
                    " trailing bytes after the array data (shape %s of '%.*s' needs %" PRIu64
                    " bytes)",
                    h->file, (uint64_t)have - bytes, show_shape(sb, h->shape, h->rank),
                    (int)h->descr_len, h->descr, bytes);
    *numel = (size_t)n;
    return ACTC_OK;
}

int npy_read_memory(const void *buf, size_t len, const char *name, float **data, int64_t *shape,
                    int *rank, char *err, size_t errlen) {
    const uint8_t *b = buf ? buf : (const uint8_t *)"";
    if (!name)
        name = "<memory>";
    if (data)
        *data = NULL;
    if (!data || !shape || !rank || (!buf && len))
        return fail(ACTC_ERR_ARG, err, errlen, "%s: npy_read_memory: missing argument", name);
    size_t hoff = 0, hlen = 0, numel = 0;
    int st;
    Dtype dt = {0};
    if ((st = check_preamble(b, len, name, &hoff, &hlen, err, errlen)))
        return st;
    Hdr h = {.s = (const char *)b + hoff,
             .n = hlen,
             .file = name,
             .err = err,
             .errlen = errlen,
             .fortran = -1,
             .rank = -1};
    if ((st = hdr_parse(&h)) || (st = descr_type(&h, &dt)))
        return st;
    if (h.fortran)
        return fail(ACTC_ERR_IO, err, errlen,
                    "%s: Fortran-order arrays are not supported; save with np.ascontiguousarray",
                    name);
    if ((st = check_data(&h, dt.size, len - hoff - hlen, &numel)))
        return st;
    float *out = rt_alloc(numel * sizeof(float));
    if (!out)
        return fail(ACTC_ERR_NOMEM, err, errlen, "%s: out of memory for %zu floats", name, numel);
    if (dt.kind == 'f')
        convert_float(out, b + hoff + hlen, numel, dt.size);
    else if ((st = convert_int(&h, out, b + hoff + hlen, numel, dt))) {
        rt_free(out);
        return st;
    }
    *data = out;
    memcpy(shape, h.shape, sizeof(int64_t) * (size_t)h.rank);
    *rank = h.rank;
    return ACTC_OK;
}

static int sys_fail(const char *path, const char *what, int errnum, char *err, size_t errlen) {
    char buf[128];
    if (strerror_r(errnum, buf, sizeof buf))
        snprintf(buf, sizeof buf, "error %d", errnum);
    return fail(ACTC_ERR_IO, err, errlen, "%s: cannot %s: %s", path, what, buf);
}

int npy_read(const char *path, float **data, int64_t *shape, int *rank, char *err, size_t errlen) {
    if (data)
        *data = NULL;
    if (!path)
        return fail(ACTC_ERR_ARG, err, errlen, "npy_read: no path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sys_fail(path, "open", errno, err, errlen);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return sys_fail(path, "stat", e, err, errlen);
    }
    if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return fail(ACTC_ERR_IO, err, errlen, "%s: %s", path,
                    S_ISREG(sb.st_mode) ? "file too large to map" : "not a regular file");
    }
    size_t size = (size_t)sb.st_size;
    void *map = NULL;
    if (size) { /* mmap of length 0 fails; an empty file fails validation */
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return sys_fail(path, "map", e, err, errlen);
        }
    }
    close(fd);
    int st = npy_read_memory(map ? map : "", size, path, data, shape, rank, err, errlen);
    if (map)
        munmap(map, size);
    return st;
}

/* ---- writing ---- */

static bool write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* The version-1.0 preamble and header for a '<f4' array, padded with
 * spaces and a final '\n' so the data starts at a multiple of 64. */
static size_t make_header(char *out, size_t cap, const int64_t *shape, int rank) {
    char sb[256];
    int n = snprintf(out + 10, cap - 10, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                     show_shape(sb, shape, rank));
    size_t total = 10 + (size_t)n + 1;
    total = (total + 63) / 64 * 64;
    memcpy(out, magic, 6);
    out[6] = 1;
    out[7] = 0;
    out[8] = (char)((total - 10) & 0xff);
    out[9] = (char)((total - 10) >> 8);
    memset(out + 10 + n, ' ', total - 10 - (size_t)n - 1);
    out[total - 1] = '\n';
    return total;
}

int npy_write(const char *path, const float *data, const int64_t *shape, int rank, char *err,
              size_t errlen) {
    if (!path)
        return fail(ACTC_ERR_ARG, err, errlen, "npy_write: no path");
    if (rank < 0 || rank > NPY_MAX_RANK || (rank && !shape))
        return fail(ACTC_ERR_ARG, err, errlen, "%s: cannot write rank %d (at most %d)", path, rank,
                    NPY_MAX_RANK);
    uint64_t n = 1;
    bool zero = false, over = false;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0)
            return fail(ACTC_ERR_ARG, err, errlen,
                        "%s: shape dimension %d is negative (%" PRId64 ")", path, i, shape[i]);
        zero |= shape[i] == 0;
        over |= __builtin_mul_overflow(n, (uint64_t)shape[i], &n);
    }
    if (zero)
        n = 0, over = false;
    if (over || n > SIZE_MAX / sizeof(float))
        return fail(ACTC_ERR_ARG, err, errlen, "%s: the array is too large", path);
    if (n && !data)
        return fail(ACTC_ERR_ARG, err, errlen, "%s: npy_write: no data", path);
    char hdr[512];
    size_t hl = make_header(hdr, sizeof hdr, shape, rank);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return sys_fail(path, "create", errno, err, errlen);
    bool ok = write_all(fd, hdr, hl) && write_all(fd, data, (size_t)n * sizeof(float));
    int e = ok ? 0 : errno ? errno : EIO;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(path); /* no partial file left behind */
        return sys_fail(path, "write", e, err, errlen);
    }
    return ACTC_OK;
}

/* ---- the public API (include/actc/runtime.h) ---- */

_Static_assert(ACTRT_NPY_MAX_RANK == NPY_MAX_RANK, "public and internal .npy rank limits agree");

int actrt_npy_read(const char *path, float **data, int64_t shape[ACTRT_NPY_MAX_RANK], int *rank) {
    char err[512];
    if (data)
        *data = NULL;
    if (!data || !shape || !rank) {
        rt_set_global_error("actrt_npy_read: data, shape and rank must not be NULL");
        return ACTC_ERR_ARG;
    }
    int st = npy_read(path, data, shape, rank, err, sizeof err);
    if (st != ACTC_OK)
        rt_set_global_error(err);
    return st;
}

int actrt_npy_write(const char *path, const float *data, const int64_t *shape, int rank) {
    char err[512];
    if (!path || !shape || rank < 0 || rank > NPY_MAX_RANK) {
        rt_set_global_error("actrt_npy_write: path and shape must not be NULL and rank must be 0..8");
        return ACTC_ERR_ARG;
    }
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0) {
            rt_set_global_error("actrt_npy_write: negative dimension");
            return ACTC_ERR_ARG;
        }
        if (shape[i] > 0 && n > INT64_MAX / shape[i]) {
            rt_set_global_error("actrt_npy_write: the shape's element count overflows");
            return ACTC_ERR_ARG;
        }
        n *= shape[i];
    }
    if (n > 0 && !data) {
        rt_set_global_error("actrt_npy_write: data must not be NULL");
        return ACTC_ERR_ARG;
    }
    int st = npy_write(path, data, shape, rank, err, sizeof err);
    if (st != ACTC_OK)
        rt_set_global_error(err);
    return st;
}

void actrt_free(void *p) { rt_free(p); }
