#!/usr/bin/env python3
"""make_weights.py — write a safetensors file for examples/ffn.act.

Uses only the Python standard library (struct, json, random, array), so it
runs on a bare Debian python3.  The model needs (PyTorch names, [out, in]):

    gate_proj.weight  [1376, 512]   F32
    up_proj.weight    [1376, 512]   F32
    down_proj.weight  [512, 1376]   F32

Values are random.gauss(0, 1) * 0.02 from a fixed seed, so the file is the
same on every run.

usage: make_weights.py OUT.safetensors [--seed N] [--prefix P] [--shards K]

    --prefix P   store the tensors as P + name, as in a whole checkpoint
                 ("model.layers.0.mlp." -> "model.layers.0.mlp.up_proj.weight");
                 bind them with --weights-prefix P / actrt_model_load_weights
    --shards K   split the tensors over K files, Hugging Face style:
                 OUT-00001-of-0000K.safetensors, ... (pass every one with -w)

The safetensors format
----------------------
    8 bytes      little-endian unsigned 64-bit N: the length of the header
    N bytes      a UTF-8 JSON object:
                   {"NAME": {"dtype": "F32", "shape": [rows, cols],
                             "data_offsets": [begin, end]}, ...,
                    "__metadata__": {"k": "v"}}          (optional)
                 offsets are relative to the start of the data section;
                 the header may be padded with spaces (here: to a multiple
                 of 8 so the tensors are 8-byte aligned)
    the rest     the raw tensors, little-endian, C (row-major) order

Writing the same file from PyTorch without the `safetensors` package
(UNTESTED with real torch: torch is not installed where this was written;
the five-line body was checked with numpy arrays standing in for tensors):

    import json, struct, torch
    def save(tensors, path):          # {name: torch.Tensor} -> an F32 safetensors file
        blobs = {k: t.detach().float().contiguous().cpu().numpy().tobytes() for k, t in tensors.items()}
        hdr, off = {}, 0
        for k, b in blobs.items(): hdr[k] = {"dtype": "F32", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(b)]}; off += len(b)
        h = json.dumps(hdr).encode(); h += b" " * (-len(h) % 8)
        open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs.values()))

    save(mlp.state_dict(), "W.safetensors")   # e.g. a LLaMA-style MLP module
    # numpy's tobytes() is native order: little-endian on x86-64 and aarch64.
"""
import array
import json
import random
import struct
import sys

D = 512
H = 1376

TENSORS = [  # (name, shape) in the order they are written
    ("gate_proj.weight", (H, D)),
    ("up_proj.weight", (H, D)),
    ("down_proj.weight", (D, H)),
]


def tensor_bytes(rng, shape, scale=0.02):
    """rows*cols F32 values, little-endian, row-major."""
    n = 1
    for s in shape:
        n *= s
    a = array.array("f", (rng.gauss(0.0, 1.0) * scale for _ in range(n)))
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def write_safetensors(path, tensors):
    """tensors: list of (name, shape, raw little-endian F32 bytes)."""
    header, offset = {}, 0
    for name, shape, raw in tensors:
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    header["__metadata__"] = {"format": "pt", "generator": "actc examples/host/make_weights.py"}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)  # pad so the data section starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, raw in tensors:
            f.write(raw)


def main(argv):
    args = argv[1:]
    opts = {"--seed": "1234", "--prefix": "", "--shards": "1"}
    for key in opts:
        if key in args:
            i = args.index(key)
            if i + 1 >= len(args):
                sys.exit("make_weights.py: %s needs a value" % key)
            opts[key] = args[i + 1]
            del args[i:i + 2]
    if len(args) != 1 or args[0].startswith("-"):
        sys.exit("usage: make_weights.py OUT.safetensors [--seed N] [--prefix P] [--shards K]")
    seed, prefix, shards = int(opts["--seed"]), opts["--prefix"], int(opts["--shards"])
    if not 1 <= shards <= len(TENSORS):
        sys.exit("make_weights.py: --shards must be between 1 and %d" % len(TENSORS))
    rng = random.Random(seed)
    tensors = [(prefix + name, shape, tensor_bytes(rng, shape)) for name, shape in TENSORS]
    if shards == 1:
        files = [(args[0], tensors)]
    else:
        stem = args[0][:-len(".safetensors")] if args[0].endswith(".safetensors") else args[0]
        files = [("%s-%05d-of-%05d.safetensors" % (stem, k + 1, shards), tensors[k::shards]) for k in range(shards)]
    for path, part in files:
        write_safetensors(path, part)
        total = sum(len(raw) for _, _, raw in part)
        print("wrote %s: %d tensors, %d bytes of F32 data (seed %d)" % (path, len(part), total, seed))


if __name__ == "__main__":
    main(sys.argv)
