/*
 * test_sniff.c — runtime/sniff.c: each format from its first bytes (built
 * here, and the corpus files of tests/corpus written by make_corpus.py),
 * the near misses that must stay unknown (a safetensors file whose length
 * bytes look like a pickle, protobuf-like bytes that are not ONNX, short
 * buffers), every valid file of both corpora classified as its own format
 * (so a reader would never replace its message for one), and the messages:
 * the file named first, the fix's file name derived from the path.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define CORPUS ACTC_SOURCE_DIR "/tests/corpus"

static SniffKind kind_of(const char *bytes, size_t len) { return sniff_kind((const uint8_t *)bytes, len); }

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

static SniffKind kind_of_file(const char *path) {
    size_t len;
    uint8_t *b = slurp(path, &len);
    SniffKind k = sniff_kind(b, len);
    free(b);
    return k;
}

Test(sniff, magic_numbers) {
    cr_assert_eq(kind_of("\x93NUMPY\x01\x00", 8), SNIFF_NPY);
    cr_assert_eq(kind_of("\x89HDF\r\n\x1a\n\0\0\0\0", 12), SNIFF_HDF5);
    cr_assert_eq(kind_of("GGUF\x03\0\0\0\0\0\0\0", 12), SNIFF_GGUF);
    cr_assert_eq(kind_of("GGUF\0\0\0\0", 8), SNIFF_UNKNOWN, "GGUF version 0 is no GGUF file");
    cr_assert_eq(kind_of("\x80\x02}q\x00.", 6), SNIFF_PICKLE);
    cr_assert_eq(kind_of("\x80\x05\x95\x10\0\0\0", 7), SNIFF_PICKLE);
    cr_assert_eq(kind_of("\x80\x06\x95", 3), SNIFF_UNKNOWN, "no pickle protocol 6");
    cr_assert_eq(kind_of("\x80\x01}", 3), SNIFF_UNKNOWN, "protocol 1 has no PROTO opcode");
    cr_assert_eq(kind_of("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15), SNIFF_TORCH_PICKLE);
    cr_assert_eq(kind_of("", 0), SNIFF_UNKNOWN);
    cr_assert_eq(kind_of("\x89HDF", 4), SNIFF_UNKNOWN, "a cut signature is not HDF5");
}

/* A local file header whose entry is `name`. */
static size_t zip_header(uint8_t *out, const char *name) {
    size_t n = strlen(name);
    memset(out, 0, 30);
    memcpy(out, "PK\x03\x04", 4);
    out[26] = (uint8_t)n;
    memcpy(out + 30, name, n);
    return 30 + n;
}

Test(sniff, zip_first_entry) {
    uint8_t b[128];
    cr_assert_eq(sniff_kind(b, zip_header(b, "arr_0.npy")), SNIFF_NPZ);
    cr_assert_eq(sniff_kind(b, zip_header(b, "model/data.pkl")), SNIFF_TORCH_ZIP);
    cr_assert_eq(sniff_kind(b, zip_header(b, "archive/data.pkl")), SNIFF_TORCH_ZIP);
    cr_assert_eq(sniff_kind(b, zip_header(b, "metadata.json")), SNIFF_KERAS_ZIP);
    cr_assert_eq(sniff_kind(b, zip_header(b, "readme.txt")), SNIFF_ZIP);
    cr_assert_eq(sniff_kind(b, zip_header(b, "mydata.pkl")), SNIFF_ZIP, "not torch.save's name");
    size_t n = zip_header(b, "arr_0.npy");
    cr_assert_eq(sniff_kind(b, n - 1), SNIFF_ZIP, "a name cut by the end of the file");
    b[26] = 0;
    cr_assert_eq(sniff_kind(b, n), SNIFF_ZIP, "an empty name");
    cr_assert_eq(kind_of("PK\x03\x04", 4), SNIFF_ZIP);
}

/* The 8-byte length comes first: a safetensors file (perhaps broken
 * inside) whose length bytes spell another magic stays safetensors. */
Test(sniff, safetensors_length_first) {
    uint8_t b[700];
    memset(b, ' ', sizeof b);
    memcpy(b, "\x80\x02\0\0\0\0\0\0{", 9); /* length 640: "\x80\x02" is also pickle's PROTO 2 */
    cr_assert_eq(sniff_kind(b, 648), SNIFF_SAFETENSORS);
    cr_assert_eq(sniff_kind(b, 647), SNIFF_PICKLE, "a length past the end: not safetensors");
    memcpy(b, "\x08\x07\0\0\0\0\0\0{", 9); /* length 1800, and ONNX-like bytes */
    cr_assert_eq(sniff_kind(b, 700), SNIFF_UNKNOWN);
    memcpy(b, "\x02\0\0\0\0\0\0\0{}", 10);
    cr_assert_eq(sniff_kind(b, 10), SNIFF_SAFETENSORS);
    b[8] = '[';
    cr_assert_eq(sniff_kind(b, 10), SNIFF_UNKNOWN);
}

Test(sniff, onnx_heuristic) {
    /* ir_version 8, producer_name "pytorch", producer_version "1.13.0" */
    static const char model[] = "\x08\x08\x12\x07pytorch\x1a\x06" "1.13.0";
    cr_assert_eq(kind_of(model, sizeof model - 1), SNIFF_ONNX);
    cr_assert_eq(kind_of("\x08\x07\x3a\x02\x0a\x00", 6), SNIFF_ONNX, "ir_version then a graph");
    cr_assert_eq(kind_of("\x08\x08", 2), SNIFF_UNKNOWN, "too short to tell");
    cr_assert_eq(kind_of("\x08\x00\x12\x01x", 5), SNIFF_UNKNOWN, "ir_version 0");
    cr_assert_eq(kind_of("\x08\x10\x12\x01x", 5), SNIFF_UNKNOWN, "ir_version 16");
    cr_assert_eq(kind_of("\x08\x08\x12\x07pyt\x01rch", 11), SNIFF_UNKNOWN, "a control byte in a name");
    cr_assert_eq(kind_of("\x08\x08\x12\x09pytorch", 11), SNIFF_UNKNOWN, "a length past the end");
    cr_assert_eq(kind_of("\x08\x08\x4a\x01x", 5), SNIFF_UNKNOWN, "field 9 is not ModelProto's");
    cr_assert_eq(kind_of("\x08\x08\x10\x01", 4), SNIFF_UNKNOWN, "field 2 as a varint: the wrong wire type");
    cr_assert_eq(kind_of("\x08\x08\x3a\x00\x12\x01x", 7), SNIFF_UNKNOWN, "fields out of order");
    cr_assert_eq(kind_of("\x12\x07pytorch\x08\x08", 11), SNIFF_UNKNOWN, "ir_version not first");
    cr_assert_eq(kind_of("hello, world\n", 13), SNIFF_UNKNOWN);
    cr_assert_eq(kind_of("\x08\x08\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 14), SNIFF_UNKNOWN,
                 "an 11-byte varint");
}

/* Every valid file of the corpora is its own format, so the readers (which
 * sniff only after failing) would keep their message even if they did. */
static void valid_files_are_their_format(const char *dir, const char *prefix, const char *ext, SniffKind want) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    struct dirent *e;
    int count = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || n < strlen(ext) ||
            strcmp(e->d_name + n - strlen(ext), ext) != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        cr_expect_eq(kind_of_file(path), want, "%s", path);
        count++;
    }
    closedir(d);
    cr_assert_gt(count, 0, "no %s*%s files in %s", prefix, ext, dir);
}

Test(sniff, valid_files_keep_their_format) {
    valid_files_are_their_format(CORPUS "/npy", "numpy-", ".npy", SNIFF_NPY);
    valid_files_are_their_format(ACTC_SOURCE_DIR "/tests/fuzz/corpus/safetensors", "valid-", ".safetensors",
                                 SNIFF_SAFETENSORS);
}

Test(sniff, corpus_files) {
    static const struct {
        const char *file;
        SniffKind kind;
    } cases[] = {
        {"safetensors/numpy-savez.npz", SNIFF_NPZ},   {"safetensors/array.npy", SNIFF_NPY},
        {"safetensors/pickle-dumps.pkl", SNIFF_PICKLE}, {"safetensors/onnx-model.onnx", SNIFF_ONNX},
        {"safetensors/keras-weights.h5", SNIFF_HDF5}, {"safetensors/llama.gguf", SNIFF_GGUF},
        {"safetensors/keras-model.keras", SNIFF_KERAS_ZIP}, {"safetensors/other.zip", SNIFF_ZIP},
        {"safetensors/pickle-like-length.safetensors", SNIFF_SAFETENSORS},
        {"npy/weights.safetensors", SNIFF_SAFETENSORS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", CORPUS, cases[i].file);
        cr_expect_eq(kind_of_file(path), cases[i].kind, "%s", cases[i].file);
    }
    /* written by torch.save where torch was installed (make_corpus.py) */
    if (access(CORPUS "/safetensors/torch-save.pt", R_OK) == 0) {
        cr_expect_eq(kind_of_file(CORPUS "/safetensors/torch-save.pt"), SNIFF_TORCH_ZIP);
        cr_expect_eq(kind_of_file(CORPUS "/safetensors/torch-save-legacy.pt"), SNIFF_TORCH_PICKLE);
    }
}

static const char *explain(const char *bytes, size_t len, const char *name, SniffKind expected) {
    static char err[512];
    strcpy(err, "unchanged");
    sniff_explain((const uint8_t *)bytes, len, name, expected, err, sizeof err);
    return err;
}

Test(sniff, messages) {
    uint8_t b[64];
    size_t n = zip_header(b, "model/data.pkl");
    cr_assert_str_eq(explain((char *)b, n, "model.pt", SNIFF_SAFETENSORS),
                     "model.pt is a PyTorch checkpoint (zip), not safetensors: save it with "
                     "safetensors.torch.save_file(model.state_dict(), \"model.safetensors\") (docs/guide.md §3)");
    n = zip_header(b, "x.npy");
    cr_assert_str_eq(explain((char *)b, n, "data/x.npz", SNIFF_NPY),
                     "data/x.npz is a NumPy .npz archive, not .npy: save one array with numpy.save(\"data/x.npy\", a)");
    cr_assert_str_eq(explain((char *)b, n, "w.v1/archive", SNIFF_SAFETENSORS),
                     "w.v1/archive is a NumPy .npz archive, not safetensors: save its arrays by name with "
                     "safetensors.numpy.save_file(dict(numpy.load(\"w.v1/archive\")), \"w.v1/archive.safetensors\") "
                     "(docs/guide.md §3)");
    /* a name that cannot go in a Python string as is: a generic one */
    cr_assert(strstr(explain((char *)b, n, "<memory>", SNIFF_SAFETENSORS),
                     "numpy.load(\"x.npz\")), \"model.safetensors\")"),
              "%s", explain((char *)b, n, "<memory>", SNIFF_SAFETENSORS));
    cr_assert(strstr(explain((char *)b, n, "a\"b.npz", SNIFF_NPY), "numpy.save(\"x.npy\", a)"));
    cr_assert(strstr(explain((char *)b, n, ".npz", SNIFF_NPY), "numpy.save(\".npz.npy\", a)"),
              "a leading dot is no extension");
    /* the reader's own format, and unknown bytes: nothing to say */
    cr_assert_str_eq(explain("\x93NUMPY\x01\x00", 8, "x.npy", SNIFF_NPY), "unchanged");
    cr_assert_str_eq(explain("\x02\0\0\0\0\0\0\0{}", 10, "w.safetensors", SNIFF_SAFETENSORS), "unchanged");
    cr_assert_str_eq(explain("hello", 5, "w.safetensors", SNIFF_SAFETENSORS), "unchanged");
    cr_assert_str_eq(explain("hello", 5, "x.npy", SNIFF_NPY), "unchanged");
    cr_assert_str_eq(explain("GGUF\x03\0\0\0", 8, "x", SNIFF_UNKNOWN), "unchanged", "no expected format");
    /* a short buffer: truncated, still NUL-terminated */
    char small[24];
    cr_assert(sniff_explain(b, n, "x.npz", SNIFF_NPY, small, sizeof small));
    cr_assert_str_eq(small, "x.npz is a NumPy .npz a");
}
