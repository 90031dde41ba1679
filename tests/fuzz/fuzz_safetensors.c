/*
 * fuzz_safetensors.c — libFuzzer harness (c): safetensors bytes -> the
 * loader (runtime/safetensors.c), docs/reliability.md.
 *
 * st_open_memory validates the whole file; when it accepts, every tensor is
 * converted with st_read_f32 (a dtype it does not convert must be refused
 * with a message, never read) and looked up again with st_find.  The
 * harness also asserts the loader's contract on what it accepted: offsets
 * inside the data section, byte size = elements x dtype size, unique
 * names, and on failure a message that names the file and an empty StFile.
 * libFuzzer hands over a heap copy of exactly `size` bytes, so any read past
 * the end is an ASan report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                 \
    do {                                                                                            \
        if (!(cond)) {                                                                              \
            fprintf(stderr, "fuzz_safetensors: %s:%d: contract violated: %s\n", __FILE__, __LINE__, \
                    #cond);                                                                         \
            abort();                                                                                \
        }                                                                                           \
    } while (0)

static size_t dtype_size(StDtype d) {
    switch (d) {
    case ST_BOOL: case ST_U8: case ST_I8: case ST_F8_E4M3: case ST_F8_E5M2: return 1;
    case ST_I16: case ST_U16: case ST_F16: case ST_BF16: return 2;
    case ST_I32: case ST_U32: case ST_F32: return 4;
    case ST_F64: case ST_I64: case ST_U64: return 8;
    case ST_DTYPE_COUNT: break;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char name[] = "fuzz.safetensors";
    StFile f;
    char err[512];
    err[0] = '\0';
    if (st_open_memory(&f, data, size, name, err, sizeof err) != 0) {
        /* "fuzz.safetensors: what is wrong", or "fuzz.safetensors is a ..." (sniff.c) */
        CHECK(strncmp(err, name, sizeof name - 1) == 0 &&
              (err[sizeof name - 1] == ':' || err[sizeof name - 1] == ' '));
        CHECK(f.ntensors == 0 && f.tensors == NULL && f.name == NULL);
        return 0;
    }
    CHECK(size >= 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | data[i];
    CHECK(hlen <= size - 8);
    const uint8_t *section = data + 8 + hlen;
    uint64_t section_size = size - 8 - hlen;
    CHECK(f.ntensors >= 0);
    for (int i = 0; i < f.ntensors; i++) {
        const StTensor *t = &f.tensors[i];
        CHECK(t->name != NULL);
        CHECK(t->dtype >= 0 && t->dtype < ST_DTYPE_COUNT && st_dtype_name(t->dtype) != NULL);
        CHECK(t->rank >= 0 && t->rank <= ST_MAX_RANK);
        CHECK(t->begin <= t->end && t->end <= section_size);
        CHECK(t->data == section + t->begin);
        int64_t n = st_numel(t);
        CHECK(n >= 0);
        CHECK((uint64_t)n * dtype_size(t->dtype) == t->end - t->begin);
        CHECK(st_find(&f, t->name) == t);
        float *dst = malloc((size_t)n * sizeof(float) + 1);
        CHECK(dst != NULL);
        err[0] = '\0';
        int rc = st_read_f32(&f, t, dst, err, sizeof err);
        if (rc == 0) {
            CHECK(t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16 || t->dtype == ST_F64);
            volatile float sink = 0;
            for (int64_t k = 0; k < n; k++)
                sink += dst[k]; /* every element was written (MSan would say; ASan checks the bounds) */
            (void)sink;
        } else {
            CHECK(err[0] != '\0');
        }
        free(dst);
    }
    st_close(&f);
    return 0;
}
