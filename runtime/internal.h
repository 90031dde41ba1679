/*
 * internal.h — the runtime layer (libactrt) seen from inside: the allocation
 * funnel, the safetensors reader, the .npy reader/writer, the file-type
 * sniffer for files that are neither, weight binding and the run path.  libactrt never links LLVM; generated code (JIT or AOT) calls
 * into it only through include/actc/runtime.h.
 */
#ifndef ACTC_RUNTIME_INTERNAL_H
#define ACTC_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actc/runtime.h"

/* ---- alloc.c: every runtime allocation goes through here ---- */

void *rt_realloc(void *p, size_t size); /* NULL on failure; size 0 frees */
void *rt_alloc(size_t size);            /* NULL on failure */
void *rt_calloc(size_t n, size_t size); /* zeroed; NULL on failure or overflow */
void rt_free(void *p);
void *rt_calloc_aligned(size_t n, size_t size); /* zeroed, 64-byte aligned; NULL on failure */
void rt_free_aligned(void *p);                   /* of rt_calloc_aligned */
char *rt_strdup(const char *s);
/* jansson allocates through this funnel too (process-global, installed at
 * the first parse).  Bracket a parse: rt_json_end tells whether one of
 * jansson's allocations failed (then every later one in the parse fails). */
void rt_json_begin(void);
bool rt_json_end(void);

/* ---- fold.c: tensors computed at load (actrt_derived_desc) ---- */

/* The name of tensor ti, or of derived tensor ti - ntensors; where it (or
 * the tensor it is derived from) was declared. */
const char *rt_tensor_name(const actrt_desc *d, int ti);
const char *rt_tensor_declared(const actrt_desc *d, int ti);
/* Derived tensor i's description is consistent with the tensors'. */
bool rt_derived_ok(const actrt_desc *d, int i);
/* Compute derived tensor i (row-major, numel of its shape) from the
 * model's tensors t[0 .. ntensors) (those it reads non-NULL); an error
 * (a non-finite value, running_var + eps <= 0, out of memory) in err. */
int rt_derive(const actrt_desc *d, int i, const float *const *t, float *out, char *err, size_t errlen);

/* ---- safetensors.c ---- */

/* Element types of the safetensors format (the spec's names). */
typedef enum {
    ST_BOOL, ST_U8, ST_I8, ST_I16, ST_U16, ST_F16, ST_BF16, ST_I32, ST_U32, ST_F32, ST_F64, ST_I64, ST_U64,
    ST_F8_E4M3, ST_F8_E5M2, ST_DTYPE_COUNT
} StDtype;

enum { ST_MAX_RANK = 8 };
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000) /* 100 MB, as the reference implementation */

typedef struct StTensor {
    char *name;
    StDtype dtype;
    int rank;
    int64_t shape[ST_MAX_RANK];
    uint64_t begin, end;    /* byte offsets in the data section */
    const uint8_t *data;    /* points into the mapping */
} StTensor;

typedef struct StFile {
    char *name;             /* path, or the name given for a memory buffer */
    const uint8_t *base;    /* whole file */
    size_t size;
    bool mapped;            /* base is an mmap of the file (else borrowed memory) */
    StTensor *tensors;
    int ntensors;
} StFile;

/* Open and fully validate a safetensors file (mmap'ed) or memory buffer
 * (borrowed: must outlive the StFile).  Errors name the file and, where
 * there is one, the tensor: "w.safetensors: tensor 'fc1.weight': ...". */
int st_open(StFile *f, const char *path, char *err, size_t errlen);
int st_open_memory(StFile *f, const void *data, size_t len, const char *name, char *err, size_t errlen);
const StTensor *st_find(const StFile *f, const char *name);
int64_t st_numel(const StTensor *t);
/* Convert the tensor to f32 (F32, F16, BF16 and F64 are accepted; other
 * dtypes are an error naming the tensor). dst holds st_numel(t) floats. */
int st_read_f32(const StFile *f, const StTensor *t, float *dst, char *err, size_t errlen);
const char *st_dtype_name(StDtype d);
/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF):
 * the offset of the first bad byte, or len (safetensors and .npy headers). */
size_t rt_utf8_check(const uint8_t *s, size_t len);
void st_close(StFile *f);

/* ---- sniff.c: what a file is when it is not the expected format ---- */

typedef enum {
    SNIFF_UNKNOWN,      /* none of these: the reader's own message stands */
    SNIFF_SAFETENSORS,  /* an 8-byte length that fits, then '{' (perhaps broken inside) */
    SNIFF_NPY,          /* "\x93NUMPY" */
    SNIFF_NPZ,          /* a zip whose first entry ends in .npy (numpy.savez) */
    SNIFF_TORCH_ZIP,    /* a zip whose first entry is .../data.pkl (torch.save, PyTorch >= 1.6) */
    SNIFF_KERAS_ZIP,    /* a zip whose first entry is metadata.json or config.json (.keras) */
    SNIFF_ZIP,          /* another zip ("PK\3\4") */
    SNIFF_TORCH_PICKLE, /* a pickle of torch.save's magic number (legacy torch.save) */
    SNIFF_PICKLE,       /* "\x80" and protocol 2..5 */
    SNIFF_ONNX,         /* a protobuf whose first fields are ONNX ModelProto's (a heuristic) */
    SNIFF_HDF5,         /* "\x89HDF\r\n\x1a\n" (Keras .h5) */
    SNIFF_GGUF,         /* "GGUF" and a version (llama.cpp) */
} SniffKind;

/* The format the first bytes of b[0 .. len) show. */
SniffKind sniff_kind(const uint8_t *b, size_t len);
/* For a file `name` that failed to parse as `expected` (SNIFF_SAFETENSORS
 * or SNIFF_NPY): when b is another format sniff_kind knows, write a message
 * naming the file, what it is and how to save the expected format into
 * err and return true; else leave err alone and return false.  Call it
 * only after the parse failed: a valid file is never reclassified. */
bool sniff_explain(const uint8_t *b, size_t len, const char *name, SniffKind expected, char *err,
                   size_t errlen);

/* ---- npy.c ---- */

/* Set actrt_last_error(NULL) of this thread (model.c). */
void rt_set_global_error(const char *msg);

enum { NPY_MAX_RANK = 8 };

/* Read a .npy file (format versions 1, 2 and 3; C order; dtype <f4, <f8,
 * <f2, <i1 .. <i8, <u1 .. <u8 or |b1, converted to f32: integers exactly,
 * one beyond +-2^24 is an error naming the element).  *data is allocated
 * with rt_alloc.  Errors name the file. */
int npy_read(const char *path, float **data, int64_t *shape, int *rank, char *err, size_t errlen);
int npy_read_memory(const void *buf, size_t len, const char *name, float **data, int64_t *shape, int *rank, char *err,
                    size_t errlen);
/* Write f32 data as a version-1 .npy file (C order). */
int npy_write(const char *path, const float *data, const int64_t *shape, int rank, char *err, size_t errlen);

#endif
