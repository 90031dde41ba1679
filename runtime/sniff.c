/*
 * sniff.c — what a file is when it failed to parse as the format a reader
 * expected (safetensors for weights, .npy for inputs): a PyTorch
 * checkpoint (zip or pickle), a NumPy .npz or .npy, an ONNX model, an HDF5
 * (Keras) or GGUF file, or a safetensors file.  The readers call it only
 * after their own parse failed, so a valid file is never reclassified, and
 * then replace their message with one that names the file, what it is and
 * how to save the expected format.  It reads only the buffer's first bytes
 * (the magic numbers, a zip's first entry name, a protobuf's first fields),
 * every read bounds-checked against len; it allocates nothing.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ---- recognising the formats ---- */

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static bool ends_with(const uint8_t *s, size_t n, const char *suffix) {
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* A zip's first local file header names its first entry: "a.npy" for
 * numpy.savez, "<stem>/data.pkl" for torch.save (PyTorch >= 1.6, also
 * torch.jit.save), "metadata.json" for Keras 3's .keras. */
static SniffKind zip_kind(const uint8_t *b, size_t len) {
    if (len < 30)
        return SNIFF_ZIP;
    size_t n = (size_t)le(b + 26, 2);
    if (n == 0 || n > len - 30)
        return SNIFF_ZIP;
    const uint8_t *name = b + 30;
    if (ends_with(name, n, ".npy"))
        return SNIFF_NPZ;
    if (ends_with(name, n, "/data.pkl") || (n == 8 && memcmp(name, "data.pkl", 8) == 0))
        return SNIFF_TORCH_ZIP;
    if ((n == 13 && memcmp(name, "metadata.json", 13) == 0) ||
        (n == 11 && memcmp(name, "config.json", 11) == 0))
        return SNIFF_KERAS_ZIP;
    return SNIFF_ZIP;
}

/* A protobuf varint at b[*pos]; false if it runs past len or 10 bytes. */
static bool varint(const uint8_t *b, size_t len, size_t *pos, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 70 && *pos < len; shift += 7) {
        uint8_t c = b[(*pos)++];
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return true;
    }
    return false;
}

/* ONNX's ModelProto, conservatively: field 1 (ir_version, a varint 1..15)
 * first, then fields of ModelProto only (onnx.proto: 2-4 producer name,
 * version and domain, 5 model_version, 6 doc_string, 7 graph, 8
 * opset_import, 14 metadata_props, 20 training_info, 25 functions), each
 * with its wire type, in non-decreasing field order as serialisers write
 * them, every length within the file and the names printable.  Two fields
 * at least (or the whole file) must parse. */
static bool is_onnx(const uint8_t *b, size_t len) {
    static const signed char wire[26] = {-1, 0,  2,  2,  2,  0,  2,  2,  2,  -1, -1, -1, -1,
                                         -1, 2,  -1, -1, -1, -1, -1, 2,  -1, -1, -1, -1, 2};
    size_t pos = 0;
    uint64_t last = 0;
    int fields = 0;
    while (pos < len && fields < 4) {
        uint64_t tag, v;
        if (!varint(b, len, &pos, &tag))
            return false;
        uint64_t field = tag >> 3, wt = tag & 7;
        if (field >= 26 || wire[field] < 0 || (uint64_t)wire[field] != wt || field < last)
            return false;
        if (fields == 0 && field != 1)
            return false;
        if (!varint(b, len, &pos, &v))
            return false;
        if (field == 1 && (v < 1 || v > 15))
            return false;
        if (wt == 2) {
            if (v > len - pos)
                return false;
            for (uint64_t i = 0; field <= 4 && i < v; i++)
                if (b[pos + i] < 0x20 || b[pos + i] > 0x7e)
                    return false;
            pos += (size_t)v;
        }
        last = field;
        fields++;
    }
    return fields >= 2 || (fields == 1 && pos == len);
}

SniffKind sniff_kind(const uint8_t *b, size_t len) {
    /* an 8-byte length that fits the file, then '{': safetensors, perhaps
     * broken inside; first, as its length's low bytes can be anything */
    if (len >= 10 && b[8] == '{' && le(b, 8) >= 2 && le(b, 8) <= len - 8)
        return SNIFF_SAFETENSORS;
    if (len >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        return SNIFF_NPY;
    if (len >= 4 && memcmp(b, "PK\x03\x04", 4) == 0)
        return zip_kind(b, len);
    if (len >= 8 && memcmp(b, "\x89HDF\r\n\x1a\n", 8) == 0)
        return SNIFF_HDF5;
    if (len >= 8 && memcmp(b, "GGUF", 4) == 0 && le(b + 4, 4) >= 1 && le(b + 4, 4) <= 15)
        return SNIFF_GGUF;
    /* pickle protocols 2 to 5 open with PROTO; torch.save before 1.6 (and
     * with _use_new_zipfile_serialization=False) pickles its magic number
     * 0x1950a86a20f9469cfc6c first, as LONG1 */
    if (len >= 3 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5) {
        static const uint8_t torch_magic[12] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                                0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
        if (len >= 14 && memcmp(b + 2, torch_magic, 12) == 0)
            return SNIFF_TORCH_PICKLE;
        return SNIFF_PICKLE;
    }
    if (len >= 4 && is_onnx(b, len))
        return SNIFF_ONNX;
    return SNIFF_UNKNOWN;
}

/* ---- the messages ---- */

/* A path that can go in a Python string literal as is (not "<memory>"). */
static bool is_plain(const char *path) {
    size_t n = strlen(path);
    if (n == 0 || n >= 400 || path[0] == '<')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)path[i] < 0x20 || path[i] == '"' || path[i] == '\\' || path[i] == 0x7f)
            return false;
    return true;
}

/* The file to suggest in a fix: path with its extension replaced by ext
 * ("model.pt" -> "model.safetensors"), or `fallback` when the path is not
 * plain. */
static const char *renamed(char out[512], const char *path, const char *ext, const char *fallback) {
    if (!is_plain(path))
        return fallback;
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot > base ? (size_t)(dot - path) : n;
    snprintf(out, 512, "%.*s%s", (int)stem, path, ext);
    return out;
}

/* The weights reader (safetensors.c) was given `name`, which is `k`;
 * false if there is nothing to say. */
static bool for_weights(SniffKind k, const char *name, char *err, size_t errlen) {
    char sb[512];
    const char *st = renamed(sb, name, ".safetensors", "model.safetensors");
    switch (k) {
    case SNIFF_TORCH_ZIP:
        snprintf(err, errlen,
                 "%s is a PyTorch checkpoint (zip), not safetensors: save it with "
                 "safetensors.torch.save_file(model.state_dict(), \"%s\") (docs/guide.md §3)",
                 name, st);
        break;
    case SNIFF_TORCH_PICKLE:
        snprintf(err, errlen,
                 "%s is a legacy PyTorch checkpoint (pickle, torch.save before PyTorch 1.6), not "
                 "safetensors: load it with torch.load and save it with "
                 "safetensors.torch.save_file(model.state_dict(), \"%s\") (docs/guide.md §3)",
                 name, st);
        break;
    case SNIFF_PICKLE:
        snprintf(err, errlen,
                 "%s is a Python pickle, not safetensors: load it in Python and save the tensors "
                 "with safetensors.torch.save_file(state_dict, \"%s\") (docs/guide.md §3)",
                 name, st);
        break;
    case SNIFF_NPY:
        snprintf(err, errlen,
                 "%s is a .npy array, not safetensors: weights are named tensors; save them with "
                 "safetensors.numpy.save_file({\"fc1.weight\": a, ...}, \"%s\") (docs/guide.md §3)",
                 name, st);
        break;
    case SNIFF_NPZ:
        snprintf(err, errlen,
                 "%s is a NumPy .npz archive, not safetensors: save its arrays by name with "
                 "safetensors.numpy.save_file(dict(numpy.load(\"%s\")), \"%s\") (docs/guide.md §3)",
                 name, is_plain(name) ? name : "x.npz", st);
        break;
    case SNIFF_KERAS_ZIP:
    case SNIFF_HDF5:
        snprintf(err, errlen,
                 "%s is %s, not safetensors: actc reads safetensors with PyTorch's tensor names "
                 "and nn.Linear's [out, in] weight layout; save the weights with "
                 "safetensors.numpy.save_file (docs/guide.md §3)",
                 name,
                 k == SNIFF_HDF5 ? "an HDF5 file (Keras .h5)" : "a Keras .keras archive (zip)");
        break;
    case SNIFF_ZIP:
        snprintf(err, errlen,
                 "%s is a zip archive, not safetensors: actc reads safetensors; for a PyTorch "
                 "model, save it with safetensors.torch.save_file(model.state_dict(), \"%s\") "
                 "(docs/guide.md §3)",
                 name, st);
        break;
    case SNIFF_ONNX:
        snprintf(err, errlen,
                 "%s looks like an ONNX model (protobuf), not safetensors: actc reads the weights "
                 "as safetensors; save them from the PyTorch model with "
                 "safetensors.torch.save_file(model.state_dict(), \"%s\") (docs/guide.md §3)",
                 name, st);
        break;
    case SNIFF_GGUF:
        snprintf(err, errlen,
                 "%s is a GGUF file (llama.cpp), not safetensors: actc reads safetensors; use the "
                 "original checkpoint's .safetensors files (Hugging Face model repositories have "
                 "them)",
                 name);
        break;
    default:
        return false;
    }
    return true;
}

/* The .npy reader (npy.c) was given `name`, which is `k`; false if there
 * is nothing to say. */
static bool for_inputs(SniffKind k, const char *name, char *err, size_t errlen) {
    char nb[512];
    const char *npy = renamed(nb, name, ".npy", "x.npy");
    const char *what = NULL;
    switch (k) {
    case SNIFF_NPZ:
        snprintf(err, errlen,
                 "%s is a NumPy .npz archive, not .npy: save one array with numpy.save(\"%s\", a)",
                 name, npy);
        return true;
    case SNIFF_SAFETENSORS:
        snprintf(err, errlen,
                 "%s is a safetensors file, not .npy: an input is one array; save it with "
                 "numpy.save(\"%s\", a)",
                 name, npy);
        return true;
    case SNIFF_TORCH_ZIP:
    case SNIFF_TORCH_PICKLE:
        snprintf(err, errlen,
                 "%s is a PyTorch file (torch.save), not .npy: save the tensor with "
                 "numpy.save(\"%s\", t.numpy())",
                 name, npy);
        return true;
    case SNIFF_PICKLE: what = "a Python pickle"; break;
    case SNIFF_KERAS_ZIP:
    case SNIFF_ZIP: what = "a zip archive"; break;
    case SNIFF_HDF5: what = "an HDF5 file"; break;
    case SNIFF_GGUF: what = "a GGUF file (llama.cpp)"; break;
    case SNIFF_ONNX: what = "an ONNX model (protobuf)"; break;
    default: return false;
    }
    snprintf(err, errlen, "%s %s %s, not .npy: save the array with numpy.save(\"%s\", a)", name,
             k == SNIFF_ONNX ? "looks like" : "is", what, npy);
    return true;
}

bool sniff_explain(const uint8_t *b, size_t len, const char *name, SniffKind expected, char *err,
                   size_t errlen) {
    SniffKind k = sniff_kind(b, len);
    if (k == SNIFF_UNKNOWN || k == expected || !err || !errlen)
        return false;
    if (expected == SNIFF_SAFETENSORS)
        return for_weights(k, name, err, errlen);
    if (expected == SNIFF_NPY)
        return for_inputs(k, name, err, errlen);
    return false;
}
