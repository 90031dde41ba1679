/*
 * test_npy.c — runtime/npy.c: npy_write -> npy_read round trips (ranks 0 to
 * 8, empty arrays, every float bit pattern class), the exact header
 * npy_write produces, hand-built version 1/2/3 headers in every accepted
 * spelling, integer and bool dtypes (exact up to +-2^24, an error naming
 * the element beyond), reference files written by numpy
 * (tests/corpus/npy/numpy-*.npy, with numpy's own f32 conversion of <f8,
 * <f2, integer and bool data), the malformed corpus
 * (tests/corpus/npy/EXPECTED) and allocation failure.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define CORPUS ACTC_SOURCE_DIR "/tests/corpus/npy"

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static char *tmp_path(void) {
    const char *dir = getenv("TMPDIR");
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/actc_npy_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    return path;
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* A .npy file in memory from a header text (padded numpy-style to 64
 * bytes with a final newline) and data. */
static uint8_t *make_npy(int major, const char *header, const void *data, size_t dlen,
                         size_t *len) {
    size_t pre = major == 1 ? 10 : 12, hl = strlen(header);
    size_t total = (pre + hl + 1 + 63) / 64 * 64;
    uint8_t *buf = calloc(1, total + dlen + 1);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    size_t n = total - pre;
    buf[8] = (uint8_t)n;
    buf[9] = (uint8_t)(n >> 8);
    memcpy(buf + pre, header, hl);
    memset(buf + pre + hl, ' ', total - pre - hl - 1);
    buf[total - 1] = '\n';
    if (dlen)
        memcpy(buf + total, data, dlen);
    *len = total + dlen;
    return buf;
}

/* Read from memory, expecting success. */
static float *read_ok(const uint8_t *buf, size_t len, int64_t *shape, int *rank) {
    float *data = NULL;
    char err[512] = "";
    int rc = npy_read_memory(buf, len, "t.npy", &data, shape, rank, err, sizeof err);
    cr_assert_eq(rc, 0, "npy_read_memory failed: %s", err);
    cr_assert_not_null(data);
    return data;
}

/* ---- write, then read ---- */

static void round_trip(const int64_t *shape, int rank, const float *v, size_t n) {
    char *path = tmp_path();
    char err[512] = "";
    cr_assert_eq(npy_write(path, v, shape, rank, err, sizeof err), 0, "%s", err);
    /* the header: numpy's exact spelling, data 64-byte aligned */
    size_t len;
    uint8_t *raw = slurp(path, &len);
    cr_assert(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hl = raw[8] | (size_t)raw[9] << 8;
    cr_assert_eq((10 + hl) % 64, 0);
    cr_assert_eq(len, 10 + hl + n * 4);
    cr_assert_eq(raw[10 + hl - 1], '\n');
    cr_assert(memcmp(raw + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (", 51) == 0);
    free(raw);
    float *out = NULL;
    int64_t sh[NPY_MAX_RANK];
    int r = -1;
    cr_assert_eq(npy_read(path, &out, sh, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r, rank);
    for (int i = 0; i < rank; i++)
        cr_assert_eq(sh[i], shape[i]);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(fbits(out[i]), fbits(v[i]), "element %zu", i);
    rt_free(out);
    unlink(path);
    free(path);
}

Test(npy, round_trip_ranks_0_to_8) {
    float v[256];
    for (int i = 0; i < 256; i++)
        v[i] = (float)i * 0.25f - 3;
    round_trip(NULL, 0, v, 1);
    round_trip((int64_t[]){7}, 1, v, 7);
    round_trip((int64_t[]){3, 5}, 2, v, 15);
    round_trip((int64_t[]){2, 3, 4}, 3, v, 24);
    round_trip((int64_t[]){2, 2, 2, 2, 2, 2, 2, 2}, 8, v, 256);
    round_trip((int64_t[]){0}, 1, NULL, 0);
    round_trip((int64_t[]){4, 0, 1000000000000LL}, 3, v, 0);
}

Test(npy, round_trip_special_values) {
    const uint32_t bits[] = {0x00000000, 0x80000000, 0x00000001, 0x807fffff,
                             0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000,
                             0x7f800001, 0xffc12345, 0x3f800000, 0x3eaaaaab};
    float v[12];
    memcpy(v, bits, sizeof v);
    round_trip((int64_t[]){12}, 1, v, 12);
    round_trip((int64_t[]){1, 12}, 2, v, 12);
}

Test(npy, header_lengths_for_long_shapes) {
    /* the longest header: 8 dimensions of 19 digits (written, not read back) */
    int64_t shape[8] = {0,
                        1000000000000000000LL,
                        1000000000000000000LL,
                        1000000000000000000LL,
                        1000000000000000000LL,
                        1000000000000000000LL,
                        1000000000000000000LL,
                        1000000000000000000LL};
    char *path = tmp_path();
    char err[256];
    cr_assert_eq(npy_write(path, NULL, shape, 8, err, sizeof err), 0, "%s", err);
    float *out;
    int64_t sh[8];
    int r;
    cr_assert_eq(npy_read(path, &out, sh, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r, 8);
    cr_assert_eq(sh[7], 1000000000000000000LL);
    rt_free(out);
    unlink(path);
    free(path);
}

Test(npy, write_errors) {
    char err[512];
    float v = 1;
    cr_assert_eq(npy_write("/nonexistent/dir/y.npy", &v, (int64_t[]){1}, 1, err, sizeof err),
                 ACTC_ERR_IO);
    cr_assert_str_eq(err, "/nonexistent/dir/y.npy: cannot create: No such file or directory");
    cr_assert_eq(npy_write("/tmp/x.npy", &v, (int64_t[]){1}, 9, err, sizeof err), ACTC_ERR_ARG);
    cr_assert(strstr(err, "cannot write rank 9 (at most 8)"), "%s", err);
    cr_assert_eq(npy_write("/tmp/x.npy", &v, (int64_t[]){-1}, 1, err, sizeof err), ACTC_ERR_ARG);
    cr_assert(strstr(err, "shape dimension 0 is negative (-1)"), "%s", err);
    cr_assert_eq(npy_write("/tmp/x.npy", NULL, (int64_t[]){2}, 1, err, sizeof err), ACTC_ERR_ARG);
    cr_assert_eq(npy_write("/tmp/x.npy", &v, (int64_t[]){1LL << 40, 1LL << 40}, 2, err, sizeof err),
                 ACTC_ERR_ARG);
    cr_assert(strstr(err, "too large"), "%s", err);
    cr_assert_eq(npy_write(NULL, &v, (int64_t[]){1}, 1, err, sizeof err), ACTC_ERR_ARG);
    if (access("/dev/full", W_OK) == 0) {
        float big[4096] = {0};
        cr_assert_eq(npy_write("/dev/full", big, (int64_t[]){4096}, 1, err, sizeof err),
                     ACTC_ERR_IO);
        cr_assert(strstr(err, "/dev/full: cannot write: No space left on device"), "%s", err);
    }
}

/* ---- accepted spellings ---- */

Test(npy, header_spellings) {
    static const char *const headers[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3,)}",
        "{'shape': (2,3), 'fortran_order': False, 'descr': '=f4'}",
        "{'fortran_order':False,'descr':'|f4','shape':(2L, 3L),}",
        "  {\t'descr' : '<f4' ,\n 'fortran_order' : False , 'shape' : ( 2 , 3 ) }",
    };
    const float v[6] = {1, 2, 3, 4, 5, 6};
    for (int major = 1; major <= 3; major++) {
        for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
            size_t len;
            uint8_t *buf = make_npy(major, headers[i], v, sizeof v, &len);
            int64_t sh[8];
            int r;
            float *out = read_ok(buf, len, sh, &r);
            cr_assert(r == 2 && sh[0] == 2 && sh[1] == 3, "header %zu", i);
            cr_assert_eq(memcmp(out, v, sizeof v), 0);
            rt_free(out);
            free(buf);
        }
    }
}

Test(npy, shapes_0d_1d_empty) {
    float v = 2.5f;
    size_t len;
    int64_t sh[8];
    int r;
    uint8_t *buf =
        make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &v, 4, &len);
    float *out = read_ok(buf, len, sh, &r);
    cr_assert_eq(r, 0);
    cr_assert_eq(out[0], 2.5f);
    rt_free(out);
    free(buf);
    buf = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", &v, 4, &len);
    out = read_ok(buf, len, sh, &r);
    cr_assert(r == 1 && sh[0] == 1 && out[0] == 2.5f);
    rt_free(out);
    free(buf);
    buf = make_npy(3, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }", NULL, 0, &len);
    out = read_ok(buf, len, sh, &r);
    cr_assert(r == 2 && sh[0] == 0 && sh[1] == 5);
    rt_free(out);
    free(buf);
}

Test(npy, f8_and_f2_conversion) {
    const double d[] = {1.0 / 3,         -0.0,     1e300, 1e-50,    1 + 0x1p-24,
                        1 + 3 * 0x1p-24, 0x1p-149, NAN,   -INFINITY};
    const float want[] = {0.333333343f, -0.0f,     INFINITY, 0.0f,     1.0f,
                          1 + 0x1p-22f, 0x1p-149f, NAN,      -INFINITY};
    size_t len;
    int64_t sh[8];
    int r;
    uint8_t *buf =
        make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (9,), }", d, sizeof d, &len);
    float *out = read_ok(buf, len, sh, &r);
    for (int i = 0; i < 9; i++) {
        if (isnan(want[i]))
            cr_assert(isnan(out[i]));
        else
            cr_assert_eq(fbits(out[i]), fbits(want[i]), "f8 element %d: %a", i, (double)out[i]);
    }
    rt_free(out);
    free(buf);
    const uint16_t h[] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400,
                          0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555};
    const float hw[] = {1,        -2,        65504, 0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f,
                        INFINITY, -INFINITY, NAN,   -0.0f,    0.333251953125f};
    buf = make_npy(2, "{'descr': '<f2', 'fortran_order': False, 'shape': (11,), }", h, sizeof h,
                   &len);
    out = read_ok(buf, len, sh, &r);
    for (int i = 0; i < 11; i++) {
        if (isnan(hw[i]))
            cr_assert_eq(fbits(out[i]), 0x7fc00000u);
        else
            cr_assert_eq(fbits(out[i]), fbits(hw[i]), "f2 element %d: %a", i, (double)out[i]);
    }
    rt_free(out);
    free(buf);
}

/* ---- integers and bools ---- */

/* n little-endian integers of `size` bytes from v as a .npy of `descr`. */
static uint8_t *make_int_npy(const char *descr, const char *shape, int size, const int64_t *v, size_t n,
                             size_t *len) {
    char header[256];
    snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    uint8_t *data = malloc(n * (size_t)size + 1);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < size; k++)
            data[i * (size_t)size + (size_t)k] = (uint8_t)((uint64_t)v[i] >> (8 * k));
    uint8_t *buf = make_npy(1, header, data, n * (size_t)size, len);
    free(data);
    return buf;
}

/* Read v as `descr` and expect every value back exactly as a float. */
static void int_round_trip(const char *descr, int size, const int64_t *v, size_t n) {
    char shape[32];
    snprintf(shape, sizeof shape, "(%zu,)", n);
    size_t len;
    uint8_t *buf = make_int_npy(descr, shape, size, v, n, &len);
    int64_t sh[8];
    int r;
    float *out = read_ok(buf, len, sh, &r);
    cr_assert(r == 1 && sh[0] == (int64_t)n, "%s", descr);
    for (size_t i = 0; i < n; i++) {
        /* unsigned 8-byte values come as their bit patterns: read them so */
        double want = descr[1] == 'u' ? (double)(uint64_t)v[i] : (double)v[i];
        cr_assert_eq((double)out[i], want, "%s element %zu: %.17g, want %.17g", descr, i, (double)out[i], want);
    }
    rt_free(out);
    free(buf);
}

Test(npy, every_integer_dtype) {
    static const int64_t i1[] = {-128, -127, -1, 0, 1, 126, 127};
    static const int64_t u1[] = {0, 1, 127, 128, 254, 255};
    static const int64_t i2[] = {-32768, -32767, -256, -1, 0, 1, 255, 256, 32767};
    static const int64_t u2[] = {0, 1, 255, 256, 32767, 32768, 65535};
    static const int64_t i4[] = {-16777216, -16777215, -65536, -1, 0, 1, 65535, 16777215, 16777216};
    static const int64_t u4[] = {0, 1, 65536, 16777215, 16777216};
    static const int64_t i8[] = {-16777216, -16777215, -1, 0, 1, 16777215, 16777216};
    static const int64_t u8[] = {0, 1, 4294967, 16777215, 16777216};
#define N(a) (sizeof a / sizeof a[0])
    /* '<', '=' and '|' (numpy writes '|' for one-byte types); '>' too for those */
    static const char *const one_byte[] = {"|i1", "<i1", "=i1", ">i1"};
    for (int k = 0; k < 4; k++)
        int_round_trip(one_byte[k], 1, i1, N(i1));
    int_round_trip("|u1", 1, u1, N(u1));
    int_round_trip(">u1", 1, u1, N(u1));
    int_round_trip("<i2", 2, i2, N(i2));
    int_round_trip("=i2", 2, i2, N(i2));
    int_round_trip("<u2", 2, u2, N(u2));
    int_round_trip("<i4", 4, i4, N(i4));
    int_round_trip("<u4", 4, u4, N(u4));
    int_round_trip("<i8", 8, i8, N(i8));
    int_round_trip("|i8", 8, i8, N(i8));
    int_round_trip("<u8", 8, u8, N(u8));
#undef N
}

/* Read one value of `descr` and return the status, with the message. */
static int read_one(const char *descr, int size, int64_t v, char *err, size_t errlen) {
    size_t len;
    uint8_t *buf = make_int_npy(descr, "(1,)", size, &v, 1, &len);
    float *data = (float *)buf;
    int64_t sh[8];
    int r;
    int rc = npy_read_memory(buf, len, "x.npy", &data, sh, &r, err, errlen);
    if (rc == 0)
        rt_free(data);
    else
        cr_assert_null(data);
    free(buf);
    return rc;
}

/* 2^24 is the last integer of a run f32 holds without a gap: +-16777216
 * are read, +-16777217 (and beyond) are errors, at every width that has them. */
Test(npy, integer_boundary_2_24) {
    char err[512];
    static const char *const wide[] = {"<i4", "<i8", "<u4", "<u8"};
    static const int sizes[] = {4, 8, 4, 8};
    for (int k = 0; k < 4; k++) {
        cr_assert_eq(read_one(wide[k], sizes[k], 16777216, err, sizeof err), 0, "%s: %s", wide[k], err);
        cr_assert_eq(read_one(wide[k], sizes[k], 16777217, err, sizeof err), ACTC_ERR_IO, "%s", wide[k]);
        cr_assert_str_eq(err, "x.npy: element 0 is 16777217, beyond 2^24, which f32 cannot hold exactly");
        if (wide[k][1] == 'i') {
            cr_assert_eq(read_one(wide[k], sizes[k], -16777216, err, sizeof err), 0, "%s: %s", wide[k], err);
            cr_assert_eq(read_one(wide[k], sizes[k], -16777217, err, sizeof err), ACTC_ERR_IO, "%s", wide[k]);
            cr_assert_str_eq(err, "x.npy: element 0 is -16777217, beyond -2^24, which f32 cannot hold exactly");
        }
    }
    /* 16777218 is a float, but beyond the exact range all the same */
    cr_assert_eq(read_one("<i8", 8, 16777218, err, sizeof err), ACTC_ERR_IO);
    cr_assert_eq(read_one("<i8", 8, INT64_MAX, err, sizeof err), ACTC_ERR_IO);
    cr_assert(strstr(err, "is 9223372036854775807, beyond 2^24"), "%s", err);
    cr_assert_eq(read_one("<i8", 8, INT64_MIN, err, sizeof err), ACTC_ERR_IO);
    cr_assert(strstr(err, "is -9223372036854775808, beyond -2^24"), "%s", err);
    cr_assert_eq(read_one("<u8", 8, -1, err, sizeof err), ACTC_ERR_IO, "2^64 - 1, not -1");
    cr_assert(strstr(err, "is 18446744073709551615, beyond 2^24"), "%s", err);
    cr_assert_eq(read_one("<u4", 4, 0xffffffff, err, sizeof err), ACTC_ERR_IO);
    cr_assert(strstr(err, "is 4294967295, beyond 2^24"), "%s", err);
    cr_assert_eq(read_one("<i4", 4, INT32_MIN, err, sizeof err), ACTC_ERR_IO);
    cr_assert(strstr(err, "is -2147483648, beyond -2^24"), "%s", err);
}

/* The element is named by its flat index and, at rank >= 2, its position. */
Test(npy, integer_error_names_the_element) {
    int64_t v[30] = {0};
    char err[512];
    size_t len;
    float *data;
    int64_t sh[8];
    int r;
    v[17] = 16777217;
    uint8_t *buf = make_int_npy("<i8", "(6, 5)", 8, v, 30, &len);
    cr_assert_eq(npy_read_memory(buf, len, "x.npy", &data, sh, &r, err, sizeof err), ACTC_ERR_IO);
    cr_assert_str_eq(err, "x.npy: element 17 (row 3, column 2) is 16777217, beyond 2^24, which f32 cannot hold exactly");
    free(buf);
    v[17] = 0;
    v[23] = -20000000; /* the last element of (2, 3, 4): [1, 2, 3] */
    buf = make_int_npy("<i4", "(2, 3, 4)", 4, v, 24, &len);
    cr_assert_eq(npy_read_memory(buf, len, "x.npy", &data, sh, &r, err, sizeof err), ACTC_ERR_IO);
    cr_assert_str_eq(err, "x.npy: element 23 (index [1, 2, 3]) is -20000000, beyond -2^24, which f32 cannot hold "
                          "exactly");
    free(buf);
    /* a 0-d array: element 0, no position */
    int64_t one = 1LL << 40;
    buf = make_int_npy("<i8", "()", 8, &one, 1, &len);
    cr_assert_eq(npy_read_memory(buf, len, "x.npy", &data, sh, &r, err, sizeof err), ACTC_ERR_IO);
    cr_assert_str_eq(err, "x.npy: element 0 is 1099511627776, beyond 2^24, which f32 cannot hold exactly");
    free(buf);
}

Test(npy, bool_values) {
    static const int64_t b[] = {1, 0, 0, 1, 1, 0};
    size_t len;
    int64_t sh[8];
    int r;
    uint8_t *buf = make_int_npy("|b1", "(2, 3)", 1, b, 6, &len);
    float *out = read_ok(buf, len, sh, &r);
    cr_assert(r == 2 && sh[0] == 2 && sh[1] == 3);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(fbits(out[i]), fbits(b[i] ? 1.0f : 0.0f), "element %d", i);
    rt_free(out);
    free(buf);
    buf = make_int_npy("<b1", "(0,)", 1, b, 0, &len);
    out = read_ok(buf, len, sh, &r);
    cr_assert(r == 1 && sh[0] == 0);
    rt_free(out);
    free(buf);
    /* a bool is the byte 0 or 1; anything else is a corrupt file */
    char err[512];
    float *data;
    static const int64_t bad[] = {1, 0, 0, 1, 0xff, 1};
    buf = make_int_npy("|b1", "(2, 3)", 1, bad, 6, &len);
    cr_assert_eq(npy_read_memory(buf, len, "b.npy", &data, sh, &r, err, sizeof err), ACTC_ERR_IO);
    cr_assert_null(data);
    cr_assert_str_eq(err, "b.npy: element 4 (row 1, column 1) is byte 0xff, not a bool (0 or 1)");
    free(buf);
}

Test(npy, unsupported_integer_spellings) {
    char err[512];
    static const struct {
        const char *descr, *want;
    } cases[] = {
        {">i2", "big-endian dtype '>i2' is not supported; save with arr.astype('<i2')"},
        {">u8", "big-endian dtype '>u8' is not supported; save with arr.astype('<u8')"},
        {"<i3", "unsupported dtype '<i3' (expected a float '<f4', '<f8' or '<f2', an integer '<i1' .. '<i8' "
                "or '<u1' .. '<u8', or a bool '|b1')"},
        {"<i16", "unsupported dtype '<i16'"},
        {"|b2", "unsupported dtype '|b2'"},
        {"<b8", "unsupported dtype '<b8'"},
        {"<I8", "unsupported dtype '<I8'"},
        {"i8", "unsupported dtype 'i8'"},
        {"<q", "unsupported dtype '<q'"},
        {"|?", "unsupported dtype '|?'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(read_one(cases[i].descr, 8, 0, err, sizeof err), ACTC_ERR_IO, "%s", cases[i].descr);
        cr_assert(strstr(err, cases[i].want), "%s: %s", cases[i].descr, err);
    }
}

/* ---- files written by numpy ---- */

static float *read_file(const char *name, int64_t *shape, int *rank) {
    char path[2048], err[512];
    snprintf(path, sizeof path, "%s/%s", CORPUS, name);
    float *data = NULL;
    int rc = npy_read(path, &data, shape, rank, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    return data;
}

static bool have_numpy_files(void) { return access(CORPUS "/numpy-f4-2x3.npy", R_OK) == 0; }

Test(npy, numpy_f4_files) {
    if (!have_numpy_files())
        cr_skip_test("no numpy reference files (run make_corpus.py where numpy is installed)");
    static const char *const same[] = {"numpy-f4-2x3.npy", "numpy-f4-v2.npy", "numpy-f4-v3.npy"};
    for (int k = 0; k < 3; k++) {
        int64_t sh[8];
        int r;
        float *v = read_file(same[k], sh, &r);
        cr_assert(r == 2 && sh[0] == 2 && sh[1] == 3, "%s", same[k]);
        for (int i = 0; i < 6; i++)
            cr_assert_eq(v[i], (float)i * 0.5f - 1, "%s[%d]", same[k], i);
        rt_free(v);
    }
    int64_t sh[8];
    int r;
    float *v = read_file("numpy-f4-0d.npy", sh, &r);
    cr_assert(r == 0 && v[0] == 3.5f);
    rt_free(v);
    v = read_file("numpy-f4-1d.npy", sh, &r);
    cr_assert(r == 1 && sh[0] == 5);
    cr_assert(v[0] == 1 && v[1] == -2 && v[2] == 3.25f && fbits(v[3]) == 1 &&
              fbits(v[4]) == 0x80000000u);
    rt_free(v);
    v = read_file("numpy-f4-empty.npy", sh, &r);
    cr_assert(r == 2 && sh[0] == 0 && sh[1] == 3);
    rt_free(v);
    v = read_file("numpy-f4-rank8.npy", sh, &r);
    cr_assert_eq(r, 8);
    for (int i = 0; i < 16; i++)
        cr_assert_eq(v[i], (float)i);
    rt_free(v);
}

/* numpy's own astype('<f4') of the same data is the oracle, bit for bit. */
static void compare_with_numpy(const char *src, const char *conv, int64_t want_numel) {
    int64_t sa[8], sb[8];
    int ra, rb;
    float *a = read_file(src, sa, &ra), *b = read_file(conv, sb, &rb);
    cr_assert_eq(ra, rb);
    int64_t n = 1;
    for (int i = 0; i < ra; i++) {
        cr_assert_eq(sa[i], sb[i]);
        n *= sa[i];
    }
    cr_assert_eq(n, want_numel);
    for (int64_t i = 0; i < n; i++) {
        if (isnan(b[i]))
            cr_assert(isnan(a[i]), "%s[%lld]", src, (long long)i);
        else
            cr_assert_eq(fbits(a[i]), fbits(b[i]), "%s[%lld]: %a, numpy says %a", src, (long long)i,
                         (double)a[i], (double)b[i]);
    }
    rt_free(a);
    rt_free(b);
}

Test(npy, numpy_f8_and_f2_conversion) {
    if (!have_numpy_files())
        cr_skip_test("no numpy reference files");
    compare_with_numpy("numpy-f8-specials.npy", "numpy-f8-specials.f4.npy", 19);
    compare_with_numpy("numpy-f2-all.npy", "numpy-f2-all.f4.npy", 65536);
}

Test(npy, numpy_integer_and_bool_conversion) {
    if (!have_numpy_files())
        cr_skip_test("no numpy reference files");
    static const struct {
        const char *dt;
        int64_t n;
    } files[] = {{"i1", 256}, {"u1", 256}, {"i2", 8}, {"u2", 6}, {"i4", 8},
                 {"u4", 5},   {"i8", 6},   {"u8", 4}, {"b1", 6}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char src[64], conv[64];
        snprintf(src, sizeof src, "numpy-int-%s.npy", files[i].dt);
        snprintf(conv, sizeof conv, "numpy-int-%s.f4.npy", files[i].dt);
        compare_with_numpy(src, conv, files[i].n);
    }
}

/* ---- the malformed corpus ---- */

Test(npy, malformed_corpus) {
    FILE *fp = fopen(CORPUS "/EXPECTED", "r");
    cr_assert_not_null(fp, "cannot open " CORPUS "/EXPECTED");
    char line[1024];
    int count = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        cr_assert_not_null(tab, "bad EXPECTED line: %s", line);
        *tab = '\0';
        const char *file = line, *needle = tab + 1;
        char path[2048], err[1024] = "";
        snprintf(path, sizeof path, "%s/%s", CORPUS, file);
        float *data = (float *)&count;
        int64_t sh[8];
        int r;
        int rc = npy_read(path, &data, sh, &r, err, sizeof err);
        cr_expect_neq(rc, 0, "%s: npy_read accepted it", file);
        cr_expect_null(data, "%s: data must be NULL on failure", file);
        cr_expect(strstr(err, needle), "%s: expected \"%s\" in \"%s\"", file, needle, err);
        cr_expect(strncmp(err, path, strlen(path)) == 0, "%s: message does not name the file: %s",
                  file, err);
        size_t len;
        uint8_t *buf = slurp(path, &len);
        rc = npy_read_memory(buf, len, file, &data, sh, &r, err, sizeof err);
        cr_expect_neq(rc, 0, "%s: npy_read_memory accepted it", file);
        cr_expect(strstr(err, needle), "%s (memory): expected \"%s\" in \"%s\"", file, needle, err);
        free(buf);
        count++;
    }
    fclose(fp);
    cr_assert_geq(count, 20, "only %d corpus files", count);
}

Test(npy, read_errors) {
    float *data;
    int64_t sh[8];
    int r;
    char err[512];
    cr_assert_eq(npy_read("/nonexistent/x.npy", &data, sh, &r, err, sizeof err), ACTC_ERR_IO);
    cr_assert_str_eq(err, "/nonexistent/x.npy: cannot open: No such file or directory");
    cr_assert_eq(npy_read(ACTC_SOURCE_DIR, &data, sh, &r, err, sizeof err), ACTC_ERR_IO);
    cr_assert(strstr(err, ": not a regular file"), "%s", err);
    cr_assert_eq(npy_read_memory(NULL, 0, NULL, &data, sh, &r, err, sizeof err), ACTC_ERR_IO);
    cr_assert_str_eq(err, "<memory>: file is too short for a .npy header: 0 bytes");
    cr_assert_eq(npy_read_memory("x", 1, "m", NULL, sh, &r, err, sizeof err), ACTC_ERR_ARG);
}

/* Hostile size claims fail before any allocation of that size. */
Test(npy, hostile_claims) {
    float *data;
    int64_t sh[8];
    int r;
    char err[512];
    size_t len;
    uint8_t *buf =
        make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000000), }",
                 NULL, 0, &len);
    cr_assert_eq(npy_read_memory(buf, len, "h.npy", &data, sh, &r, err, sizeof err), ACTC_ERR_IO);
    cr_assert(
        strstr(
            err,
            "data is truncated: shape (1000000000, 1000000000) of '<f8' needs 8000000000000000000 "
            "bytes, the file has 0"),
        "%s", err);
    free(buf);
    uint8_t v2[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0xff, '{'};
    cr_assert_eq(npy_read_memory(v2, sizeof v2, "h.npy", &data, sh, &r, err, sizeof err),
                 ACTC_ERR_IO);
    cr_assert(strstr(err, "header length 4294967295 extends beyond the end of the file"), "%s",
              err);
}

static long alloc_budget;
static void *failing_alloc(void *ud, void *p, size_t size) {
    (void)ud;
    if (size == 0) {
        free(p);
        return NULL;
    }
    if (alloc_budget-- <= 0)
        return NULL;
    return realloc(p, size);
}

Test(npy, out_of_memory) {
    const float v[3] = {1, 2, 3};
    size_t len;
    uint8_t *buf =
        make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, sizeof v, &len);
    float *data = NULL;
    int64_t sh[8];
    int r;
    char err[256];
    alloc_budget = 0;
    actrt_set_allocator(failing_alloc, NULL);
    int rc = npy_read_memory(buf, len, "t.npy", &data, sh, &r, err, sizeof err);
    actrt_set_allocator(NULL, NULL);
    cr_assert_eq(rc, ACTC_ERR_NOMEM);
    cr_assert_null(data);
    cr_assert_str_eq(err, "t.npy: out of memory for 3 floats");
    free(buf);
}

/* The public API (actrt_npy_read/write/actrt_free): a round trip, and errors
 * that name the file or the argument in actrt_last_error(NULL). */
Test(npy, public_api) {
    char path[] = "/tmp/actc_npy_pub_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    const float v[6] = {1, -2, 3.5f, -0.0f, INFINITY, 1e-40f};
    cr_assert_eq(actrt_npy_write(path, v, (int64_t[]){2, 3}, 2), ACTC_OK, "%s", actrt_last_error(NULL));
    float *out = NULL;
    int64_t sh[ACTRT_NPY_MAX_RANK];
    int rank = -1;
    cr_assert_eq(actrt_npy_read(path, &out, sh, &rank), ACTC_OK, "%s", actrt_last_error(NULL));
    cr_assert_eq(rank, 2);
    cr_assert_eq(sh[0], 2);
    cr_assert_eq(sh[1], 3);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(fbits(out[i]), fbits(v[i]), "element %d", i);
    actrt_free(out);
    unlink(path);

    out = (float *)v;
    cr_assert_eq(actrt_npy_read("/nonexistent/x.npy", &out, sh, &rank), ACTC_ERR_IO);
    cr_assert_null(out);
    cr_assert(strstr(actrt_last_error(NULL), "/nonexistent/x.npy"), "%s", actrt_last_error(NULL));
    cr_assert_eq(actrt_npy_read(path, NULL, sh, &rank), ACTC_ERR_ARG);
    cr_assert(strstr(actrt_last_error(NULL), "actrt_npy_read"));
    cr_assert_eq(actrt_npy_write(path, v, (int64_t[]){2}, 9), ACTC_ERR_ARG);
    cr_assert_eq(actrt_npy_write(path, NULL, (int64_t[]){2}, 1), ACTC_ERR_ARG);
    cr_assert_eq(actrt_npy_write(path, v, (int64_t[]){INT64_MAX, 4}, 2), ACTC_ERR_ARG);
    cr_assert(strstr(actrt_last_error(NULL), "overflows"));
    cr_assert_eq(access(path, F_OK), -1, "a failed write leaves no file");
}
