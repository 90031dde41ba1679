#!/usr/bin/python3
"""make_corpus.py - regenerate the malformed-input corpora for the runtime's
safetensors and .npy readers (tests/unit/test_safetensors.c, test_npy.c).

    /usr/bin/python3 tests/corpus/make_corpus.py

Writes tests/corpus/safetensors/*.safetensors and tests/corpus/npy/*.npy,
one small file per validation rule, named after the rule, plus an EXPECTED
file in each directory: `filename<TAB>substring the error must contain`.
Both directories also hold files of other formats given to the reader
(runtime/sniff.c names them): a NumPy .npz, a pickle, faithful headers of
an ONNX model, an HDF5 file, a GGUF file, a Keras .keras and another zip,
and each reader's format given to the other.  Standard library only.  If numpy can be imported, it also writes reference
files made by numpy itself (tests/corpus/npy/numpy-*.npy, read by the tests
as valid input, with numpy's own f32 conversion in *.f4.npy); without numpy
those committed files are left as they are.  If torch can be imported
and they are missing, it writes real torch.save files (zip, and the
legacy pickle; torch.save's output is not byte-stable, so committed ones
are kept).  Large hostile inputs (a 100 MB
header claim, 10^5-deep JSON, 10^6 tensors) are built by the tests in memory.
"""
import io
import json
import os
import pickle
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ST_DIR = os.path.join(HERE, "safetensors")
NPY_DIR = os.path.join(HERE, "npy")


def q64(n):
    return struct.pack("<Q", n)


def st(header, data=b"", hlen=None):
    """A safetensors file from a header (dict or raw bytes) and data."""
    if not isinstance(header, bytes):
        header = json.dumps(header, separators=(",", ":")).encode()
    return q64(len(header) if hlen is None else hlen) + header + data


def ent(dtype="F32", shape=(1,), offsets=(0, 4)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


GOOD = ent()  # one F32 at [0, 4)
Z4 = b"\0" * 4

# (file name, contents, expected error substring) - one rule each.
SAFETENSORS = [
    ("empty-file", b"", "file is too short for a safetensors header: 0 bytes"),
    ("file-shorter-than-8-bytes", b"\x02\0\0\0\0", "file is too short for a safetensors header: 5 bytes"),
    ("header-length-zero", q64(0) + b"{}", "header length is 0"),
    ("header-length-overflow", q64(2**64 - 1) + b"{}", "overflows 64-bit file offsets"),
    ("header-length-over-limit", q64(100_000_001) + b"{}", "exceeds the limit of 100000000 bytes"),
    ("header-length-beyond-file", q64(100) + b"{}", "header length 100 extends beyond the end of the file"),
    ("header-length-one-past-file", st(b"{}", hlen=3), "header length 3 extends beyond the end of the file"),
    ("header-invalid-utf8", st(b'{"a\xff":1}'), "header is not valid UTF-8 (bad byte 0xff"),
    ("header-overlong-utf8", st(b'{"\xc0\xaf":1}'), "header is not valid UTF-8 (bad byte 0xc0"),
    ("header-utf8-surrogate", st(b'{"\xed\xa0\x80":1}'), "header is not valid UTF-8 (bad byte 0xed"),
    ("header-truncated-utf8", st(b'{"a":1}    \xe2\x82'), "header is not valid UTF-8"),
    ("header-not-json", st(b'{"a": nope}'), "header is not valid JSON: invalid token near 'nope' (line 1, column 10)"),
    ("header-truncated-json", st(b'{"a": {"dtype"'), "header is not valid JSON: ':' expected near end of file (line 1, column 14)"),
    ("header-nul-byte", st(b'{"a":\0}'), "header is not valid JSON: NUL byte (line 1, column 6)"),
    ("header-trailing-garbage", st(b"{} x"), "header is not valid JSON: end of file expected near 'x' (line 1, column 4)"),
    ("header-padded-with-nul", st(b"{}\0\0"), "header is not valid JSON: NUL byte (line 1, column 3)"),
    ("header-utf8-bom", st(b"\xef\xbb\xbf{}"), "header is not valid JSON: invalid token near '"),
    ("header-integer-too-big", st(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}', Z4),
     "header is not valid JSON: too big integer near '99999999999999999999' (line 1, column 70)"),
    # jansson refuses nesting deeper than 2048 (JSON_PARSER_MAX_DEPTH); below that the schema reports the kind
    ("json-too-deep", st(b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}"),
     "header is not valid JSON: maximum parsing depth reached near '[' (line 1, column 2053)"),
    ("json-too-deep-in-shape", st(b'{"a":{"dtype":"F32","shape":' + b"[" * 3000 + b"]" * 3000 + b',"data_offsets":[0,0]}}'),
     "header is not valid JSON: maximum parsing depth reached near '[' (line 1, column 2075)"),
    ("json-deep-below-limit", st(b'{"a":' + b"[" * 2040 + b"]" * 2040 + b"}"), "tensor 'a': entry must be an object, found an array"),
    ("json-deep-below-limit-in-shape", st(b'{"a":{"dtype":"F32","shape":' + b"[" * 2040 + b"]" * 2040 + b',"data_offsets":[0,0]}}'),
     "tensor 'a': 'shape' element 0 must be a non-negative integer, found an array"),
    ("duplicate-tensor-name", st(b'{"a":' + json.dumps(GOOD).encode() + b',"a":' + json.dumps(GOOD).encode() + b"}", Z4),
     "header has a duplicate key 'a': duplicate object key near '\"a\"' (line 1, column 63)"),
    ("duplicate-tensor-name-escaped", st(b'{"ab":' + json.dumps(GOOD).encode() + b',"a\\u0062":' + json.dumps(GOOD).encode() + b"}", Z4),
     "header has a duplicate key 'ab': duplicate object key near '\"a\\u0062\"' (line 1, column 70)"),
    ("duplicate-tensor-name-long", st(b'{"' + b"model.layers.0.mlp.down_proj.weight" + b'":' + json.dumps(GOOD).encode() + b',"'
                                      + b"model.layers.0.mlp.down_proj.weight" + b'":' + json.dumps(GOOD).encode() + b"}", Z4),
     "header has a duplicate key 'model.layers.0.mlp.down_proj.weight': duplicate object key (line 1, column 131)"),
    ("duplicate-key-in-entry", st(b'{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', Z4),
     "header has a duplicate key 'dtype': duplicate object key near '\"dtype\"' (line 1, column 27)"),
    ("duplicate-metadata", st(b'{"__metadata__":{},"__metadata__":{}}'), "header has a duplicate key '__metadata__': duplicate object key near '\"__metadata__\"' (line 1, column 33)"),
    ("duplicate-metadata-key", st(b'{"__metadata__":{"k":"1","j":"2","k":"3"}}'), "header has a duplicate key 'k': duplicate object key near '\"k\"' (line 1, column 36)"),
    ("string-invalid-escape", st(b'{"a\\x41":1}'), "header is not valid JSON: invalid escape near '\"a\\x' (line 1, column 5)"),
    ("string-unpaired-surrogate", st(b'{"\\ud800x":1}'), "header is not valid JSON: invalid Unicode '\\uD800' near '\"\\ud800x\"' (line 1, column 10)"),
    ("string-lone-low-surrogate", st(b'{"\\udc00":1}'), "header is not valid JSON: invalid Unicode '\\uDC00'"),
    ("string-nul-escape", st(b'{"a\\u0000":1}'), "header is not valid JSON: NUL byte in object key not supported"),
    ("string-nul-escape-in-value", st(b'{"__metadata__":{"k":"a\\u0000"}}'),
     "header is not valid JSON: \\u0000 is not allowed without JSON_ALLOW_NUL"),
    ("string-bad-hex-escape", st(b'{"\\u12g4":1}'), "header is not valid JSON: invalid escape near '\"\\u12g'"),
    ("string-control-character", st(b'{"a\tb":1}'), "header is not valid JSON: control character 0x9 near '\"a' (line 1, column 3)"),
    ("string-unterminated", st(b'{"abc'), "header is not valid JSON: premature end of input near '\"abc' (line 1, column 5)"),
    ("trailing-comma-in-object", st(b'{"a":' + json.dumps(GOOD).encode() + b',}', Z4),
     "header is not valid JSON: string or '}' expected near '}'"),
    ("trailing-comma-in-array", st({"a": ent()}).replace(b"[1]", b"[1,]"), "header is not valid JSON: unexpected token near ']'"),
    ("missing-colon", st(b'{"a" {}}'), "header is not valid JSON: ':' expected near '{' (line 1, column 6)"),
    ("missing-comma", st(b'{"a":{"dtype":"F32" "shape":[1]}}'), "header is not valid JSON: '}' expected near '\"shape\"'"),
    ("number-leading-zero", st({"a": ent()}, Z4).replace(b"[0,4]", b"[00,4]"), "header is not valid JSON: invalid token near '0'"),
    ("number-bad-fraction", st({"a": ent()}, Z4).replace(b"[0,4]", b"[0,4.]"), "header is not valid JSON: invalid token near '4.'"),
    ("header-multiline-error-position", st(b'{\n  "a":\n    nope}'), "header is not valid JSON: invalid token near 'nope' (line 3, column 8)"),
    ("header-top-level-string", st(b'"abc"'), "header must be a JSON object, found a string"),
    ("entry-empty-object", st({"a": {}}), "tensor 'a': missing key 'dtype'"),
    ("header-top-level-array", st(b"[]"), "header must be a JSON object, found an array"),
    ("header-leading-whitespace", st(b' {"a":' + json.dumps(GOOD).encode() + b"}", Z4),
     "header must start with '{'"),
    ("entry-not-object", st({"a": [1]}), "tensor 'a': entry must be an object, found an array"),
    ("missing-dtype", st({"a": {"shape": [1], "data_offsets": [0, 4]}}, Z4), "tensor 'a': missing key 'dtype'"),
    ("missing-shape", st({"a": {"dtype": "F32", "data_offsets": [0, 4]}}, Z4), "tensor 'a': missing key 'shape'"),
    ("missing-data-offsets", st({"a": {"dtype": "F32", "shape": [1]}}, Z4), "tensor 'a': missing key 'data_offsets'"),
    ("extra-key", st({"a": dict(GOOD, extra=1)}, Z4), "tensor 'a': unexpected key 'extra'"),
    ("dtype-not-string", st({"a": dict(GOOD, dtype=7)}, Z4), "tensor 'a': 'dtype' must be a string, found a number"),
    ("unknown-dtype", st({"a": dict(GOOD, dtype="F128")}, Z4), "tensor 'a': unknown dtype 'F128'"),
    ("dtype-lowercase", st({"a": dict(GOOD, dtype="f32")}, Z4), "tensor 'a': unknown dtype 'f32'"),
    ("shape-not-array", st({"a": dict(GOOD, shape=1)}, Z4), "tensor 'a': 'shape' must be an array of non-negative integers, found a number"),
    ("shape-negative-dim", st({"a": ent(shape=(-1,))}, Z4), "tensor 'a': 'shape' element 0 is negative (-1)"),
    ("shape-float-dim", st({"a": ent(shape=(1.0,))}, Z4),
     "tensor 'a': 'shape' element 0 must be a non-negative integer, found a number with a fraction or exponent"),
    ("shape-string-dim", st({"a": ent(shape=(1, "1"))}, Z4),
     "tensor 'a': 'shape' element 1 must be a non-negative integer, found a string"),
    ("shape-rank-too-large", st({"a": ent(shape=(1,) * 9)}, Z4), "tensor 'a': rank 9 exceeds the maximum of 8"),
    ("data-offsets-not-array", st({"a": dict(GOOD, data_offsets="0-4")}, Z4),
     "tensor 'a': 'data_offsets' must be an array of non-negative integers, found a string"),
    ("data-offsets-wrong-length", st({"a": dict(GOOD, data_offsets=[0, 4, 8])}, Z4),
     "tensor 'a': 'data_offsets' must be [begin, end], found 3 elements"),
    ("data-offsets-negative", st({"a": ent(offsets=(-4, 0))}, Z4),
     "tensor 'a': 'data_offsets' element 0 is negative (-4)"),
    ("data-offsets-not-integer", st({"a": ent(offsets=(0, 4.0))}, Z4),
     "tensor 'a': 'data_offsets' element 1 must be a non-negative integer, found a number with a fraction or exponent"),
    ("data-offsets-begin-after-end", st({"a": ent(offsets=(4, 0))}, Z4),
     "tensor 'a': data_offsets [4, 0] have begin > end"),
    ("shape-size-overflow", st({"a": ent(dtype="F64", shape=(2**32, 2**32), offsets=(0, 0))}),
     "tensor 'a': shape [4294967296, 4294967296] of F64 overflows a 64-bit byte size"),
    ("size-mismatch", st({"fc1.weight": ent(shape=(2, 3), offsets=(0, 12))}, b"\0" * 12),
     "tensor 'fc1.weight': data_offsets [0, 12] do not match shape [2, 3] of F32 (24 bytes)"),
    ("size-mismatch-bf16", st({"a": ent(dtype="BF16", shape=(3,), offsets=(0, 4))}, Z4),
     "tensor 'a': data_offsets [0, 4] do not match shape [3] of BF16 (6 bytes)"),
    ("size-mismatch-f16", st({"fc.weight": ent(dtype="F16", shape=(2, 3), offsets=(0, 10))}, b"\0" * 10),
     "tensor 'fc.weight': data_offsets [0, 10] do not match shape [2, 3] of F16 (12 bytes)"),
    ("size-mismatch-i8", st({"fc.weight": ent(dtype="I8", shape=(4, 8), offsets=(0, 31))}, b"\0" * 31),
     "tensor 'fc.weight': data_offsets [0, 31] do not match shape [4, 8] of I8 (32 bytes)"),
    ("end-beyond-data", st({"a": ent(shape=(2,), offsets=(0, 8))}, Z4),
     "tensor 'a': data_offsets [0, 8] extend beyond the data section (4 bytes)"),
    ("overlapping-tensors", st({"a": ent(shape=(2,), offsets=(0, 8)), "b": ent(shape=(2,), offsets=(4, 12))}, b"\0" * 12),
     "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]"),
    ("same-offsets-twice", st({"a": ent(), "b": ent()}, Z4), "tensor 'b': data_offsets [0, 4] overlap tensor 'a' [0, 4]"),
    ("zero-size-inside-tensor", st({"a": ent(shape=(2,), offsets=(0, 8)), "z": ent(shape=(0,), offsets=(4, 4))}, b"\0" * 8),
     "tensor 'z': data_offsets [4, 4] overlap tensor 'a' [0, 8]"),
    ("gap-between-tensors", st({"a": ent(), "b": ent(offsets=(8, 12))}, b"\0" * 12),
     "gap in the data section: bytes [4, 8) between tensor 'a' and tensor 'b'"),
    ("gap-at-start", st({"a": ent(offsets=(4, 8))}, b"\0" * 8), "gap in the data section: bytes [0, 4) before tensor 'a'"),
    ("trailing-bytes", st({"a": ent()}, b"\0" * 8), "4 trailing bytes after the last tensor"),
    ("trailing-bytes-no-tensors", st({}, Z4), "4 trailing bytes in the data section, which holds no tensor"),
    ("metadata-not-object", st({"__metadata__": "x", "a": GOOD}, Z4), "'__metadata__' must be an object of strings, found a string"),
    ("metadata-non-string-value", st({"__metadata__": {"format": "pt", "n": 1}, "a": GOOD}, Z4),
     "'__metadata__' entry 'n' must be a string, found a number"),
    ("metadata-nested-object", st({"__metadata__": {"k": {}}}), "'__metadata__' entry 'k' must be a string, found an object"),
    ("tensor-name-with-control-chars", st({"a\nb'": ent(dtype="X")}, Z4), "tensor 'a\\x0ab\\x27': unknown dtype 'X'"),
]

# ---- .npy ----

MAGIC = b"\x93NUMPY"


def npy(header, data=b"", version=(1, 0), pad=True, hlen=None):
    """A .npy file: header text (str) padded like numpy's (to 64 bytes with
    spaces and a final newline) unless pad is False."""
    h = header.encode("utf-8") if isinstance(header, str) else header
    pre = 10 if version[0] == 1 else 12
    if pad:
        total = (pre + len(h) + 1 + 63) // 64 * 64
        h = h + b" " * (total - pre - len(h) - 1) + b"\n"
    n = len(h) if hlen is None else hlen
    ln = struct.pack("<H", n) if version[0] == 1 else struct.pack("<I", n)
    return MAGIC + bytes(version) + ln + h + data


def d(descr="'<f4'", fortran="False", shape="(2,)"):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


F8 = b"\0" * 8

NPY = [
    ("empty-file", b"", "file is too short for a .npy header: 0 bytes"),
    ("bad-magic", b"\x93NUMPX\x01\x00" + b"\0" * 8, "not a .npy file"),
    ("truncated-magic", b"\x93NUM", "file is too short for a .npy header: 4 bytes"),
    ("version-4-0", npy(d(), F8, version=(4, 0)), "unsupported .npy format version 4.0"),
    ("version-1-1", npy(d(), F8, version=(1, 1)), "unsupported .npy format version 1.1"),
    ("version-0-0", npy(d(), F8, version=(0, 0)), "unsupported .npy format version 0.0"),
    ("v2-truncated-length", MAGIC + b"\x02\x00\x10\x00", "file is too short for a .npy header: 10 bytes"),
    ("header-length-zero", npy(b"", version=(1, 0), pad=False), "header length is 0"),
    ("header-length-beyond-file", npy(d(), F8, hlen=1000), "header length 1000 extends beyond the end of the file"),
    ("header-non-ascii-v1", npy(d(descr="'<f4\u00e9'"), F8), "is not ASCII"),
    ("header-invalid-utf8-v3", npy(d(descr="'<f4\xff'").encode("latin-1"), F8, version=(3, 0)), "header is not valid UTF-8"),
    ("header-no-newline", npy(d() + "    ", F8, pad=False), "header does not end with a newline"),
    ("header-not-dict", npy("[1, 2]", F8), "expected '{' (the header is a Python dict), found '['"),
    ("missing-descr", npy("{'fortran_order': False, 'shape': (2,), }", F8), "missing key 'descr'"),
    ("missing-fortran-order", npy("{'descr': '<f4', 'shape': (2,), }", F8), "missing key 'fortran_order'"),
    ("missing-shape", npy("{'descr': '<f4', 'fortran_order': False, }", F8), "missing key 'shape'"),
    ("extra-key", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", F8),
     "unexpected key 'extra'"),
    ("duplicate-key", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (2,)}", F8),
     "duplicate key 'shape'"),
    ("fortran-order-true", npy(d(fortran="True", shape="(2, 1)"), F8),
     "Fortran-order arrays are not supported; save with np.ascontiguousarray"),
    ("fortran-order-not-bool", npy(d(fortran="0"), F8), "'fortran_order' must be True or False, found '0'"),
    ("fortran-order-lowercase", npy(d(fortran="false"), F8), "'fortran_order' must be True or False"),
    ("big-endian-f4", npy(d(descr="'>f4'"), F8), "big-endian dtype '>f4' is not supported"),
    ("big-endian-f8", npy(d(descr="'>f8'"), F8 * 2), "big-endian dtype '>f8' is not supported"),
    ("big-endian-i8", npy(d(descr="'>i8'"), F8 * 2), "big-endian dtype '>i8' is not supported; save with arr.astype('<i8')"),
    ("dtype-i16-wide", npy(d(descr="'<i16'"), F8 * 4), "unsupported dtype '<i16'"),
    ("dtype-u3", npy(d(descr="'<u3'"), b"\0" * 6), "unsupported dtype '<u3'"),
    ("dtype-bool-wide", npy(d(descr="'|b2'"), b"\0" * 4), "unsupported dtype '|b2'"),
    ("dtype-complex", npy(d(descr="'<c8'"), F8 * 2), "unsupported dtype '<c8'"),
    ("dtype-f16-wide", npy(d(descr="'<f16'"), F8 * 4), "unsupported dtype '<f16'"),
    ("dtype-object", npy(d(descr="'|O'"), F8 * 2), "unsupported dtype '|O'"),
    ("structured-dtype", npy(d(descr="[('a', '<f4')]"), F8), "structured dtypes (a list for 'descr') are not supported"),
    ("descr-not-string", npy(d(descr="4"), F8), "expected a quoted string, found '4'"),
    ("shape-integer-not-tuple", npy(d(shape="(2)"), F8), "(2) is an integer, a 1-d shape is written (2,)"),
    ("shape-list", npy(d(shape="[2]"), F8), "expected a tuple for 'shape', found '['"),
    ("shape-negative", npy(d(shape="(-2,)"), F8), "shape dimensions must be non-negative"),
    ("shape-rank-9", npy(d(shape="(1, 1, 1, 1, 1, 1, 1, 1, 2)"), F8), "rank exceeds the maximum of 8"),
    ("shape-dim-overflow", npy(d(shape="(99999999999999999999,)"), F8), "shape dimension is too large"),
    ("shape-product-overflow", npy(d(shape="(1099511627776, 1099511627776)"), F8),
     "shape (1099511627776, 1099511627776) of '<f4' is too large"),
    ("shape-leading-zero", npy(d(shape="(02,)"), F8), "an integer with a leading zero"),
    ("shape-double-comma", npy(d(shape="(2,,)"), F8), "expected an integer or ')' in the shape, found ','"),
    ("shape-missing-comma", npy(d(shape="(1 2)"), F8), "expected ',' or ')' in the shape, found '2'"),
    ("shape-float", npy(d(shape="(2.0,)"), F8), "expected ',' or ')' in the shape, found '.'"),
    ("data-truncated", npy(d(shape="(2, 3)"), b"\0" * 20),
     "data is truncated: shape (2, 3) of '<f4' needs 24 bytes, the file has 20"),
    ("data-truncated-0d", npy(d(shape="()"), b""), "data is truncated: shape () of '<f4' needs 4 bytes, the file has 0"),
    ("trailing-data", npy(d(shape="(2,)"), b"\0" * 12), "4 trailing bytes after the array data (shape (2,) of '<f4'"),
    ("trailing-data-empty-array", npy(d(shape="(0,)"), b"\0"), "1 trailing bytes after the array data"),
    # integers and bools: the data against the shape, and values f32 cannot hold exactly
    ("int-data-truncated", npy(d(descr="'<i8'", shape="(2, 3)"), b"\0" * 40),
     "data is truncated: shape (2, 3) of '<i8' needs 48 bytes, the file has 40"),
    ("bool-data-truncated", npy(d(descr="'|b1'", shape="(5,)"), b"\1" * 4),
     "data is truncated: shape (5,) of '|b1' needs 5 bytes, the file has 4"),
    ("u1-trailing-data", npy(d(descr="'|u1'", shape="(3,)"), b"\0" * 4), "1 trailing bytes after the array data (shape (3,) of '|u1'"),
    ("int-shape-product-overflow", npy(d(descr="'<i2'", shape="(4294967296, 4294967296)"), F8),
     "shape (4294967296, 4294967296) of '<i2' is too large"),
    ("u1-shape-absurd", npy(d(descr="'|u1'", shape="(1000000000000000000,)")),
     "data is truncated: shape (1000000000000000000,) of '|u1' needs 1000000000000000000 bytes, the file has 0"),
    ("bool-shape-absurd-rank8", npy(d(descr="'|b1'", shape="(1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000)"), b"\1"),
     "shape (1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000) of '|b1' is too large"),
    ("int-beyond-2-24", npy(d(descr="'<i8'", shape="(6, 5)"), struct.pack("<30q", *([0] * 17 + [16777217] + [0] * 12))),
     "element 17 (row 3, column 2) is 16777217, beyond 2^24, which f32 cannot hold exactly"),
    ("int-below-minus-2-24", npy(d(descr="'<i4'", shape="(3,)"), struct.pack("<3i", 0, -16777217, 0)),
     "element 1 is -16777217, beyond -2^24, which f32 cannot hold exactly"),
    ("int64-min", npy(d(descr="'<i8'", shape="(1,)"), struct.pack("<q", -2**63)),
     "element 0 is -9223372036854775808, beyond -2^24"),
    ("u8-max", npy(d(descr="'<u8'", shape="(2, 2, 2)"), struct.pack("<8Q", *([1] * 7 + [2**64 - 1]))),
     "element 7 (index [1, 1, 1]) is 18446744073709551615, beyond 2^24"),
    ("u4-beyond-2-24", npy(d(descr="'<u4'", shape="(1, 2)"), struct.pack("<2I", 16777216, 16777217)),
     "element 1 (row 0, column 1) is 16777217, beyond 2^24"),
    ("bool-byte-2", npy(d(descr="'|b1'", shape="(3,)"), b"\1\0\2"), "element 2 is byte 0x02, not a bool (0 or 1)"),
    ("escape-in-string", npy(d(descr="'<f\\x34'"), F8), "a backslash in a string is not supported"),
    ("unterminated-string", npy("{'descr': '<f4", pad=True), "unterminated string"),
    ("garbage-after-dict", npy(d() + " x", F8), "unexpected 'x' after the dict"),
    ("missing-colon", npy("{'descr' '<f4', 'fortran_order': False, 'shape': (2,), }", F8), "expected ':' after a key"),
    ("missing-comma", npy("{'descr': '<f4' 'fortran_order': False, 'shape': (2,), }", F8),
     "expected ',' or '}', found a quote"),
    ("unclosed-dict", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", F8),
     "expected a quoted string, found the end of the header"),
    ("nul-in-header", npy(d() + "\0", F8), "unexpected byte 0x00 after the dict"),
]


# ---- other formats, given where safetensors or .npy is expected ----


def zip_of(entries):
    """A zip archive, stored, with fixed timestamps (byte-stable)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def pb_varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def pb(field, value):
    """One protobuf field: an int (varint) or bytes (length-delimited)."""
    if isinstance(value, int):
        return pb_varint(field << 3) + pb_varint(value)
    return pb_varint(field << 3 | 2) + pb_varint(len(value)) + value


# An ONNX ModelProto as torch.onnx.export writes it: ir_version 8, producer
# pytorch 1.13.0, a graph with one Relu node, opset 17 (onnx.proto).
ONNX = (pb(1, 8) + pb(2, b"pytorch") + pb(3, b"1.13.0")
        + pb(7, pb(1, pb(1, b"x") + pb(2, b"y") + pb(3, b"/Relu") + pb(4, b"Relu")) + pb(2, b"torch_jit")
             + pb(11, pb(1, b"x")) + pb(12, pb(1, b"y")))
        + pb(8, pb(2, 17)))
# HDF5 superblock version 0 (Keras .h5): signature, versions, offset and
# length sizes 8, leaf and internal node K, flags, base/free/EOF/driver addresses.
HDF5 = (b"\x89HDF\r\n\x1a\n" + bytes([0, 0, 0, 0, 0, 8, 8, 0]) + struct.pack("<HHI", 4, 16, 0)
        + struct.pack("<QQQQ", 0, 2**64 - 1, 800, 2**64 - 1) + b"\0" * 40)
# GGUF version 3: no tensors, one key general.architecture = "llama" (type 8, a string).
GGUF = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 20) + b"general.architecture"
        + struct.pack("<IQ", 8, 5) + b"llama")
PICKLE = pickle.dumps({"fc.weight": [[0.0, 1.0], [2.0, 3.0]]}, protocol=4)
NPZ = zip_of([("a.npy", npy(d(shape="(2,)"), F8)), ("b.npy", npy(d(shape="(1,)"), b"\0" * 4))])
KERAS = zip_of([("metadata.json", b'{"keras_version": "3.0.0"}'), ("config.json", b"{}"),
                ("model.weights.h5", HDF5)])
OTHER_ZIP = zip_of([("readme.txt", b"not a model\n")])
ST_VALID = st({"fc.weight": ent(shape=(2,), offsets=(0, 8))}, F8)
NPY_VALID = npy(d(shape="(2,)"), F8)

# Given where safetensors is expected (weights): what the message says.
ST_FOREIGN = [
    ("numpy-savez.npz", NPZ,
     "numpy-savez.npz is a NumPy .npz archive, not safetensors: save its arrays by name with safetensors.numpy.save_file("),
    ("array.npy", NPY_VALID,
     "array.npy is a .npy array, not safetensors: weights are named tensors; save them with safetensors.numpy.save_file("),
    ("pickle-dumps.pkl", PICKLE,
     "pickle-dumps.pkl is a Python pickle, not safetensors: load it in Python and save the tensors with safetensors.torch.save_file("),
    ("onnx-model.onnx", ONNX, "onnx-model.onnx looks like an ONNX model (protobuf), not safetensors: "),
    ("keras-weights.h5", HDF5, "keras-weights.h5 is an HDF5 file (Keras .h5), not safetensors: "),
    ("llama.gguf", GGUF, "llama.gguf is a GGUF file (llama.cpp), not safetensors: "),
    ("keras-model.keras", KERAS, "keras-model.keras is a Keras .keras archive (zip), not safetensors: "),
    ("other.zip", OTHER_ZIP, "other.zip is a zip archive, not safetensors: "),
    # a safetensors header length of 640 starts with the bytes of a pickle's
    # PROTO 2: broken safetensors, reported as such, not as a pickle
    ("pickle-like-length", st(b'{"a": nope}' + b" " * 629), "header is not valid JSON: invalid token near 'nope'"),
]

# Given where .npy is expected (inputs).
NPY_FOREIGN = [
    ("numpy-savez.npz", NPZ,
     "numpy-savez.npz is a NumPy .npz archive, not .npy: save one array with numpy.save(\""),
    ("weights.safetensors", ST_VALID,
     "weights.safetensors is a safetensors file, not .npy: an input is one array; save it with numpy.save(\""),
    ("pickle-dumps.pkl", PICKLE, "pickle-dumps.pkl is a Python pickle, not .npy: save the array with numpy.save(\""),
    ("onnx-model.onnx", ONNX, "onnx-model.onnx looks like an ONNX model (protobuf), not .npy: "),
    ("keras-weights.h5", HDF5, "keras-weights.h5 is an HDF5 file, not .npy: "),
    ("llama.gguf", GGUF, "llama.gguf is a GGUF file (llama.cpp), not .npy: "),
    ("other.zip", OTHER_ZIP, "other.zip is a zip archive, not .npy: "),
]


def write_corpus(directory, cases, ext):
    os.makedirs(directory, exist_ok=True)
    names = set()
    lines = []
    for name, data, expect in cases:
        assert name not in names, name
        names.add(name)
        assert "\t" not in expect and "\n" not in expect
        fn = name if "." in name else name + ext
        with open(os.path.join(directory, fn), "wb") as f:
            f.write(data)
        lines.append("%s\t%s\n" % (fn, expect))
    with open(os.path.join(directory, "EXPECTED"), "w", encoding="utf-8") as f:
        f.write("# file<TAB>substring the reader's error message must contain (make_corpus.py)\n")
        f.writelines(lines)
    print("%s: %d files" % (directory, len(cases)))


def write_torch_files():
    """torch.save files, zip and legacy pickle, if torch is there and they
    are missing (torch.save's bytes vary from run to run: keep them)."""
    want = [os.path.join(dd, fn) for dd in (ST_DIR, NPY_DIR) for fn in ("torch-save.pt", "torch-save-legacy.pt")]
    if all(os.path.exists(p) for p in want):
        return
    try:
        import torch
    except ImportError:
        print("torch not available: no torch.save files")
        return
    sd = {"fc.weight": torch.arange(6.0).reshape(2, 3), "fc.bias": torch.zeros(2)}
    for dd in (ST_DIR, NPY_DIR):
        torch.save(sd, os.path.join(dd, "torch-save.pt"))
        torch.save(sd, os.path.join(dd, "torch-save-legacy.pt"), _use_new_zipfile_serialization=False)
    print("torch %s: torch.save files written" % torch.__version__)


# torch.save files: (directory, file, expected), appended to EXPECTED when
# the file exists.
TORCH_FILES = [
    (ST_DIR, "torch-save.pt",
     "torch-save.pt is a PyTorch checkpoint (zip), not safetensors: save it with "
     "safetensors.torch.save_file(model.state_dict(), \""),
    (ST_DIR, "torch-save-legacy.pt",
     "torch-save-legacy.pt is a legacy PyTorch checkpoint (pickle, torch.save before PyTorch 1.6), not safetensors: "),
    (NPY_DIR, "torch-save.pt", "torch-save.pt is a PyTorch file (torch.save), not .npy: save the tensor with numpy.save(\""),
    (NPY_DIR, "torch-save-legacy.pt", "torch-save-legacy.pt is a PyTorch file (torch.save), not .npy: "),
]


def write_numpy_references():
    """Valid files written by numpy, and numpy's own conversion to f32."""
    try:
        import numpy as np
    except ImportError:
        print("numpy not available: keeping the committed numpy-*.npy files")
        return
    out = lambda n: os.path.join(NPY_DIR, n)
    f4 = (np.arange(6, dtype=np.float32).reshape(2, 3) * np.float32(0.5) - np.float32(1)).astype("<f4")
    np.save(out("numpy-f4-2x3.npy"), f4)
    np.save(out("numpy-f4-0d.npy"), np.array(3.5, dtype="<f4"))
    np.save(out("numpy-f4-1d.npy"), np.array([1, -2, 3.25, 1e-45, -0.0], dtype="<f4"))
    np.save(out("numpy-f4-empty.npy"), np.zeros((0, 3), dtype="<f4"))
    np.save(out("numpy-f4-rank8.npy"), np.arange(16, dtype="<f4").reshape(1, 2, 1, 2, 1, 2, 1, 2))
    with open(out("numpy-f4-v2.npy"), "wb") as f:
        np.lib.format.write_array(f, f4, version=(2, 0))
    with open(out("numpy-f4-v3.npy"), "wb") as f:
        np.lib.format.write_array(f, f4, version=(3, 0))
    # f64: rounding ties, f32 subnormals, overflow to inf, specials
    f8 = np.array([0.0, -0.0, 1 / 3, -2 / 3, 1e-40, 1e-46, 1.4e-45, 1e300, -1e300, np.inf, -np.inf, np.nan,
                   3.4028235677973366e38, 3.4028235e38 * (1 + 2**-25), 1 + 2**-24, 1 + 3 * 2**-24,
                   np.pi, 16777217.0, 123456789.123], dtype="<f8")
    np.save(out("numpy-f8-specials.npy"), f8.reshape(1, -1))
    with np.errstate(over="ignore"):
        np.save(out("numpy-f8-specials.f4.npy"), f8.astype("<f4").reshape(1, -1))
    # f16: every bit pattern, and numpy's f32 value for each
    f2 = np.arange(65536, dtype=np.uint32).astype(np.uint16).view("<f2").reshape(256, 256)
    np.save(out("numpy-f2-all.npy"), f2)
    np.save(out("numpy-f2-all.f4.npy"), f2.astype("<f4"))
    # rejected, but written by numpy
    fort = np.asfortranarray(f4)
    assert fort.flags.f_contiguous and not fort.flags.c_contiguous
    np.save(out("numpy-fortran.npy"), fort)
    np.save(out("numpy-big-endian.npy"), f4.astype(">f4"))
    # integers and bools, numpy's astype('<f4') beside each
    for dt, v in INTS.items():
        a = np.array(v, dtype=dt)
        np.save(out("numpy-int-%s.npy" % dt[1:]), a)
        np.save(out("numpy-int-%s.f4.npy" % dt[1:]), a.astype("<f4"))
    print("%s: numpy %s reference files written" % (NPY_DIR, np.__version__))


# Rejected files that numpy wrote; appended to npy/EXPECTED (they exist
# only when numpy generated them at some point).
NUMPY_REJECTED = [
    ("numpy-fortran.npy", "Fortran-order arrays are not supported; save with np.ascontiguousarray"),
    ("numpy-big-endian.npy", "big-endian dtype '>f4' is not supported"),
]

# Integer and bool arrays numpy writes, read as f32 exactly (|u1 and |i1 every
# value, the others around 0 and +-2^24, the limit of exact f32 integers).
E24 = 2**24
INTS = {
    "<i1": list(range(-128, 128)),
    "|u1": list(range(256)),
    "<i2": [-32768, -32767, -1, 0, 1, 255, 256, 32767],
    "<u2": [0, 1, 255, 256, 32768, 65535],
    "<i4": [-E24, -E24 + 1, -1, 0, 1, 65536, E24 - 1, E24],
    "<u4": [0, 1, 65536, E24 - 1, E24],
    "<i8": [[-E24, -E24 + 1, -1], [0, E24 - 1, E24]],
    "<u8": [0, 1, E24 - 1, E24],
    "|b1": [[True, False, True], [False, False, True]],
}


def main():
    write_corpus(ST_DIR, SAFETENSORS + ST_FOREIGN, ".safetensors")
    write_corpus(NPY_DIR, NPY + NPY_FOREIGN, ".npy")
    write_numpy_references()
    write_torch_files()
    with open(os.path.join(NPY_DIR, "EXPECTED"), "a", encoding="utf-8") as f:
        for fn, expect in NUMPY_REJECTED:
            if os.path.exists(os.path.join(NPY_DIR, fn)):
                f.write("%s\t%s\n" % (fn, expect))
    for dd, fn, expect in TORCH_FILES:
        if os.path.exists(os.path.join(dd, fn)):
            with open(os.path.join(dd, "EXPECTED"), "a", encoding="utf-8") as f:
                f.write("%s\t%s\n" % (fn, expect))
    return 0


if __name__ == "__main__":
    sys.exit(main())
