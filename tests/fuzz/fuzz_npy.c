/*
 * fuzz_npy.c — libFuzzer harness (d): .npy bytes -> the reader
 * (runtime/npy.c, npy_read_memory), docs/reliability.md.
 *
 * On success the harness checks the result: a rank in [0, NPY_MAX_RANK],
 * non-negative dimensions whose product (0 if any is 0) times the smallest
 * dtype size (1: |u1, |i1, |b1) fits in the input, and every one of those floats readable (ASan checks the
 * allocation's bounds).  On failure: a message naming the file and *data
 * NULL.  libFuzzer hands over a heap copy of exactly `size` bytes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                  \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            fprintf(stderr, "fuzz_npy: %s:%d: contract violated: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                                 \
        }                                                                                            \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char name[] = "fuzz.npy";
    float *out = (float *)&out; /* must be overwritten */
    int64_t shape[NPY_MAX_RANK + 1];
    int rank = -1;
    char err[512];
    err[0] = '\0';
    if (npy_read_memory(data, size, name, &out, shape, &rank, err, sizeof err) != 0) {
        CHECK(out == NULL);
        /* "fuzz.npy: what is wrong", or "fuzz.npy is a ..." (another format, sniff.c) */
        CHECK(strncmp(err, name, sizeof name - 1) == 0 &&
              (err[sizeof name - 1] == ':' || err[sizeof name - 1] == ' '));
        return 0;
    }
    CHECK(rank >= 0 && rank <= NPY_MAX_RANK);
    /* elements: 0 if any dimension is 0 (numpy accepts (2**40, 0)), else
     * the product, which must fit: each element takes >= 1 input byte */
    bool empty = false;
    for (int i = 0; i < rank; i++) {
        CHECK(shape[i] >= 0);
        empty |= shape[i] == 0;
    }
    uint64_t n = empty ? 0 : 1;
    for (int i = 0; i < rank && !empty; i++)
        CHECK(!__builtin_mul_overflow(n, (uint64_t)shape[i], &n) && n <= size);
    CHECK(out != NULL || n == 0);
    volatile float sink = 0;
    for (uint64_t k = 0; k < n; k++)
        sink += out[k];
    (void)sink;
    rt_free(out);
    return 0;
}
