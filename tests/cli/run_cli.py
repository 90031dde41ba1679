#!/usr/bin/env python3
"""End-to-end tests of `actc run` (design.md §4), standard library only.

Writes safetensors weights and .npy inputs for examples/mlp.act and
examples/residual_rmsnorm.act, runs the JIT and the --reference
interpreter, compares them, and checks that every bad input gives exit
status 1 and an error naming the tensor, file or argument.

usage: run_cli.py ACTC SOURCE_DIR
"""
import array, json, math, os, random, struct, subprocess, sys, tempfile, zipfile

actc, src = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="actc-cli-")
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def write_safetensors(path, tensors, dtype="F32"):
    header, blobs, off = {}, [], 0
    for name, (shape, values) in tensors.items():
        if dtype == "F32":
            b = array.array("f", values).tobytes()
        elif dtype == "I8":  # a quantised checkpoint's int8 values
            b = array.array("b", values).tobytes()
        else:  # F16 through struct's 'e' format
            b = b"".join(struct.pack("<e", v) for v in values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_npy(path, shape, values, descr="<f4"):
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
    code = {"<f4": "f", "<f8": "d", "<i2": "h", "<i8": "q", "<u4": "I", "|u1": "B", "|b1": "B"}[descr]
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + array.array(code, values).tobytes())


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", path
    n = struct.unpack("<H", data[8:10])[0]
    hdr = data[10:10 + n].decode()
    shape = tuple(int(x) for x in hdr.split("'shape': (")[1].split(")")[0].split(",") if x.strip())
    vals = array.array("f")
    vals.frombytes(data[10 + n:])
    return shape, list(vals)


def run(*args):
    p = subprocess.run([actc, *args], capture_output=True, text=True)
    return p.returncode, p.stderr


rnd = random.Random(5)


def rand(n, scale=0.1):
    return [rnd.uniform(-scale, scale) for _ in range(n)]


# --- mlp: JIT vs reference, named outputs, f64 input ---
mlp = os.path.join(src, "examples", "mlp.act")
w = os.path.join(tmp, "mlp.safetensors")
write_safetensors(w, {"fc1.weight": ([128, 64], rand(128 * 64)), "fc1.bias": ([128], rand(128)),
                      "fc2.weight": ([10, 128], rand(1280)), "fc2.bias": ([10], rand(10)),
                      "not.used": ([2], [1.0, 2.0])})
x = os.path.join(tmp, "x.npy")
write_npy(x, (7, 64), [math.sin(i) for i in range(7 * 64)], "<f8")
outs = {k: os.path.join(tmp, k + ".npy") for k in ("logits", "probs", "logits_ref", "probs_ref")}
rc, err = run("run", mlp, "-w", w, "-i", x, "-o", "logits=" + outs["logits"], "-o", "probs=" + outs["probs"])
check(rc == 0, "mlp run: " + err)
rc, err = run("run", mlp, "-w", w, "-i", "x=" + x, "-o", "logits=" + outs["logits_ref"], "-o",
              "probs=" + outs["probs_ref"], "--reference")
check(rc == 0, "mlp --reference: " + err)
if failures == 0:
    (s1, a), (s2, b) = read_npy(outs["logits"]), read_npy(outs["logits_ref"])
    check(s1 == (7, 10) and s2 == (7, 10), "logits shape %s" % (s1,))
    check(max(abs(p - q) for p, q in zip(a, b)) < 1e-5, "JIT and reference differ")
    _, probs = read_npy(outs["probs"])
    for r in range(7):
        check(abs(sum(probs[r * 10:(r + 1) * 10]) - 1) < 1e-5, "softmax row %d does not sum to 1" % r)

# --- sharded checkpoint, prefix, F16 weights ---
block = os.path.join(src, "examples", "residual_rmsnorm.act")
names = {"layers.0.post_attention_layernorm.weight": ([256], [1.0] * 256),
         "layers.0.mlp.gate_proj.weight": ([688, 256], rand(688 * 256, 0.05)),
         "layers.0.mlp.up_proj.weight": ([688, 256], rand(688 * 256, 0.05)),
         "layers.0.mlp.down_proj.weight": ([256, 688], rand(256 * 688, 0.05))}
items = list(names.items())
s1, s2 = os.path.join(tmp, "model-00001.safetensors"), os.path.join(tmp, "model-00002.safetensors")
write_safetensors(s1, {"model." + k: v for k, v in items[:2]}, "F16")
write_safetensors(s2, {"model." + k: v for k, v in items[2:]}, "F16")
xb = os.path.join(tmp, "xb.npy")
write_npy(xb, (3, 256), [math.cos(i) for i in range(3 * 256)])
yb, yr = os.path.join(tmp, "yb.npy"), os.path.join(tmp, "yr.npy")
rc, err = run("run", block, "-w", s1, "-w", s2, "--weights-prefix", "model.", "-i", xb, "-o", yb)
check(rc == 0, "sharded run: " + err)
rc, err = run("run", block, "-w", s1, "-w", s2, "--weights-prefix", "model.", "-i", xb, "-o", yr, "--reference")
check(rc == 0, "sharded --reference: " + err)
if rc == 0:
    (_, a), (_, b) = read_npy(yb), read_npy(yr)
    check(max(abs(p - q) for p, q in zip(a, b)) < 1e-4, "sharded JIT and reference differ")
# F16 tensors for --weights f16 are taken bit for bit (no rounding, no
# warning, the same outputs as f32 weights: the f16 values widen exactly);
# for --weights bf16 they are rounded, with the warning
yf16 = os.path.join(tmp, "yf16.npy")
rc, err = run("run", block, "-w", s1, "-w", s2, "--weights-prefix", "model.", "-i", xb, "-o", yf16, "--weights", "f16")
check(rc == 0 and "warning" not in err, "F16 tensors, --weights f16: %s" % err)
if rc == 0:
    check(read_npy(yf16)[1] == read_npy(yb)[1], "F16 tensors: --weights f16 differs from f32 weights")
rc, err = run("run", block, "-w", s1, "-w", s2, "--weights-prefix", "model.", "-i", xb, "-o", yf16, "--weights", "bf16")
check(rc == 0 and "tensors rounded to nearest even" in err, "F16 tensors, --weights bf16: %s" % err)

# --- a stack of identical layers shares its kernel bodies (cg_model.c): the
# number of bodies in the generated code does not grow with the depth ---
stack_src = open(os.path.join(src, "examples", "llama_mlp_stack.act")).read()
bodies = {}
for depth in (2, 8):
    sf = os.path.join(tmp, "stack%d.act" % depth)
    open(sf, "w").write(stack_src.replace("const LAYERS = 4", "const LAYERS = %d" % depth))
    p = subprocess.run([actc, "dump", sf, "--llvm"], capture_output=True, text=True)
    check(p.returncode == 0, "dump --llvm of a %d-layer stack: %s" % (depth, p.stderr))
    bodies[depth] = sum(1 for l in p.stdout.splitlines() if l.startswith("define") and "_body(" in l)
    kernels = sum(1 for l in p.stdout.splitlines() if l.startswith("@actc_llama_mlp_stack_k") and "_tab = " in l)
    check(kernels == 3 * depth + 1, "a %d-layer stack has %d kernels, expected %d" % (depth, kernels, 3 * depth + 1))
check(bodies[2] == bodies[8] and bodies[2] <= 6, "kernel bodies: %d at depth 2, %d at depth 8" % (bodies[2], bodies[8]))
# actc bench names each kernel's function: layer 1's kernels run layer 0's
p = subprocess.run([actc, "bench", os.path.join(tmp, "stack2.act"), "--batch", "2", "--reps", "1"], capture_output=True, text=True)
rows = [l.split() for l in p.stdout.splitlines() if l[:1].isdigit()]
codes = [r[3] for r in rows]
check(p.returncode == 0 and codes == ["k0_body", "k1_body", "k2_body", "k0_body", "k1_body", "k2_body", "k0_body"],
      "bench's code column of a 2-layer stack: %r %s" % (codes, p.stderr))

# --- bad inputs: exit 1 and a message naming the culprit ---
def expect_error(args, needle, what):
    rc, err = run(*args)
    check(rc == 1, "%s: exit status %d, expected 1 (%s)" % (what, rc, err.strip()))
    check(needle in err, "%s: expected %r in %r" % (what, needle, err))

o = os.path.join(tmp, "o.npy")
expect_error(["run", mlp, "-w", s1, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o],
             "missing tensor 'fc1.weight' (declared at", "missing tensor")
# checkpoint names (docs/api.md, "Checkpoint names"): every missing name is
# listed (up to 8) with the nearest name present; --strict rejects tensors
# the model does not read, except *.num_batches_tracked and --ignore-tensors
typo = os.path.join(tmp, "typo.safetensors")
write_safetensors(typo, {"fc_1.weight": ([128, 64], rand(128 * 64)), "fc1.bias": ([128], rand(128)),
                         "fc2.weights": ([10, 128], rand(1280)), "fc2.b": ([10], rand(10))})
expect_error(["run", mlp, "-w", typo, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o],
             "missing tensor 'fc1.weight' (declared at", "three tensors missing: the first")
for needle in ("nearest: 'fc_1.weight'", "3 tensors missing in all", "'fc2.weight' (declared at",
               "nearest: 'fc2.weights'", "'fc2.bias' (declared at"):
    expect_error(["run", mlp, "-w", typo, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o], needle,
                 "three tensors missing: %s" % needle)
# w has the extra tensor "not.used": accepted by default, an error with --strict, allowed by a glob
rc, err = run("run", mlp, "-w", w, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--strict")
check(rc == 1 and "has tensor 'not.used' that the model does not read (strict)" in err and "--ignore-tensors" in err,
      "--strict with an unread tensor: %d %s" % (rc, err))
rc, err = run("run", mlp, "-w", w, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--strict", "--ignore-tensors", "not.*")
check(rc == 0, "--strict --ignore-tensors not.*: " + err)
bn = os.path.join(tmp, "bn.safetensors")
write_safetensors(bn, {"fc1.weight": ([128, 64], rand(128 * 64)), "fc1.bias": ([128], rand(128)),
                       "fc2.weight": ([10, 128], rand(1280)), "fc2.bias": ([10], rand(10)),
                       "bn.num_batches_tracked": ([1], [3.0]), "extra.a": ([1], [1.0]), "extra.b": ([1], [1.0])})
rc, err = run("run", mlp, "-w", bn, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--strict",
              "--ignore-tensors", "extra.*")
check(rc == 0, "--strict --ignore-tensors extra.*: *.num_batches_tracked stays ignored: " + err)
rc, err = run("run", mlp, "-w", bn, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--strict")
check(rc == 1 and "2 such tensors in all" in err and "num_batches_tracked" not in err,
      "--strict lists the unread tensors but not num_batches_tracked: %s" % err)
expect_error(["run", mlp, "-w", w, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--strict", "--ignore-tensors"],
             "option '--ignore-tensors' needs a value", "--ignore-tensors without a glob")
rc, err = run("run", mlp, "-w", w, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--strict", "--ignore-tensors", "[")
check(rc == 1 and "'not.used'" in err, "--ignore-tensors '[' (a malformed glob matches nothing): %d %s" % (rc, err))
eo = os.path.join(tmp, "strict.o")
expect_error(["compile", mlp, "-o", eo, "--header", eo + ".h", "--embed-weights", w, "--strict"],
             "has tensor 'not.used' that the model does not read (strict)", "compile --embed-weights --strict")
check(not os.path.exists(eo) and not os.path.exists(eo + ".h"), "a failed --strict compile left files behind")
bad = os.path.join(tmp, "bad.safetensors")
write_safetensors(bad, {"fc1.weight": ([64, 128], rand(128 * 64)), "fc1.bias": ([128], rand(128)),
                        "fc2.weight": ([10, 128], rand(1280)), "fc2.bias": ([10], rand(10))})
expect_error(["run", mlp, "-w", bad, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o],
             "tensor 'fc1.weight' has shape [64, 128], expected [128, 64]", "mis-shaped tensor")
expect_error(["run", mlp, "-w", os.path.join(tmp, "nope.safetensors"), "-i", x, "-o", "logits=" + o, "-o", "probs=" + o],
             "nope.safetensors", "missing weights file")
# --weights (docs/language.md §7.2.1): a bad type names the option; an f16
# overflow names the tensor; f32 weights rounded to bf16 warn once, with
# the count; the run is close to the f32 one (bf16: 8 bits of mantissa)
expect_error(["run", mlp, "-w", w, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--weights", "f8"],
             "invalid --weights 'f8': expected f32, bf16, f16 or int8", "--weights unknown type")
big = os.path.join(tmp, "big.safetensors")
vals = {"fc1.weight": ([128, 64], rand(128 * 64)), "fc1.bias": ([128], rand(128)),
        "fc2.weight": ([10, 128], rand(1280)), "fc2.bias": ([10], rand(10))}
vals["fc2.weight"][1][5] = 70000.0
write_safetensors(big, vals)
expect_error(["run", mlp, "-w", big, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--weights", "f16"],
             "tensor 'fc2.weight' (declared at", "--weights f16 overflow")
o16 = os.path.join(tmp, "o16.npy")
rc, err = run("run", mlp, "-w", w, "-i", x, "-o", "logits=" + o16, "-o", "probs=" + o, "--weights", "bf16")
check(rc == 0 and "actc: warning: --weights bf16: 2 tensors rounded to nearest even" in err, "--weights bf16: %s" % err)
# --weights int8 (docs/language.md §7.2.1): a NaN or an infinity cannot be
# quantised (named, at run and at compile --embed-weights, nothing written);
# an I8 tensor in the file (a checkpoint quantised elsewhere, no scales) says
# what to give instead
for bad_v, what in ((float("nan"), "NaN"), (float("-inf"), "infinity")):
    v8 = {k: (sh_, list(vs)) for k, (sh_, vs) in vals.items()}
    v8["fc2.weight"][1][5] = bad_v
    nanf = os.path.join(tmp, "nan8.safetensors")
    write_safetensors(nanf, v8)
    expect_error(["run", mlp, "-w", nanf, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--weights", "int8"],
                 "tensor 'fc2.weight' (declared at", "--weights int8 with a %s" % what)
    eo = os.path.join(tmp, "nan8.o")
    expect_error(["compile", mlp, "-o", eo, "--header", eo + ".h", "--embed-weights", nanf, "--weights", "int8"],
                 "a NaN or infinite value cannot be quantised to int8", "compile --weights int8 with a %s" % what)
    check(not os.path.exists(eo) and not os.path.exists(eo + ".h"), "a failed int8 compile left files behind")
i8 = os.path.join(tmp, "i8.safetensors")
write_safetensors(i8, {k: (sh_, [1] * len(vs)) for k, (sh_, vs) in vals.items()}, dtype="I8")
expect_error(["run", mlp, "-w", i8, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--weights", "int8"],
             "give the unquantised tensor and --weights int8", "an I8 tensor in the file")
# the tiers: --exact and --fast-math exclude each other (one tier per model);
# --exact runs and its outputs are within 4 ULP-ish of the precise tier's
expect_error(["run", mlp, "-w", w, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--exact", "--fast-math"],
             "fast_math and exact_math exclude each other", "--exact with --fast-math")
oe = os.path.join(tmp, "oe.npy")
rc, err = run("run", mlp, "-w", w, "-i", x, "-o", "logits=" + oe, "-o", "probs=" + o, "--exact")
check(rc == 0, "--exact: " + err)
# the header says which tier the object was compiled in
for flags, fast, exact in (([], 0, 0), (["--fast-math"], 1, 0), (["--exact"], 0, 1)):
    ho = os.path.join(tmp, "tier.o")
    rc, err = run("compile", mlp, "-o", ho, "--header", ho + ".h", "--prefix", "tier", *flags)
    text = open(ho + ".h").read() if rc == 0 else ""
    check(rc == 0 and ("TIER_FAST_MATH = %d," % fast) in text and ("TIER_EXACT_MATH = %d," % exact) in text
          and ("the exact tier" in text) == bool(exact), "compile %s: the header's tier: %s" % (flags, err))
x3 = os.path.join(tmp, "x3.npy")
write_npy(x3, (7, 63), [0.0] * (7 * 63))
expect_error(["run", mlp, "-w", w, "-i", x3, "-o", "logits=" + o, "-o", "probs=" + o],
             "input 'x' must have shape [batch, 64]", "wrong input width")
expect_error(["run", mlp, "-w", w, "-i", x, "-o", "lgts=" + o, "-o", "probs=" + o],
             "the model has no output named 'lgts'", "unknown output name")
expect_error(["run", mlp, "-w", w, "-i", w, "-o", "logits=" + o, "-o", "probs=" + o],
             w + " is a safetensors file, not .npy: an input is one array; save it with numpy.save(", "not npy")
# other formats are named, with the call that saves the right one (runtime/sniff.c)
pt = os.path.join(tmp, "model.pt")  # torch.save's layout: a zip whose first entry is <stem>/data.pkl
with zipfile.ZipFile(pt, "w") as z:
    z.writestr("model/data.pkl", b"\x80\x02}q\x00.")
    z.writestr("model/version", b"3\n")
expect_error(["run", mlp, "-w", pt, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o],
             pt + " is a PyTorch checkpoint (zip), not safetensors: save it with safetensors.torch.save_file("
             "model.state_dict(), \"" + pt[:-3] + ".safetensors\") (docs/guide.md §3)", "torch.save zip as weights")
expect_error(["run", mlp, "-w", x, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o],
             x + " is a .npy array, not safetensors", ".npy as weights")
npz = os.path.join(tmp, "x.npz")
with zipfile.ZipFile(npz, "w") as z:
    z.writestr("x.npy", open(x, "rb").read())
expect_error(["run", mlp, "-w", w, "-i", npz, "-o", "logits=" + o, "-o", "probs=" + o],
             npz + " is a NumPy .npz archive, not .npy: save one array with numpy.save(\"" + npz[:-4] + ".npy\", a)",
             ".npz as input")
expect_error(["run", mlp, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o], "give the weights with -w", "no weights")

# integer and bool inputs are read exactly (runtime/npy.c): the same bits as their floats
xs = {}
for descr, vals in (("<f4", [i % 9 - 4 for i in range(7 * 64)]), ("<i2", [i % 9 - 4 for i in range(7 * 64)]),
                    ("<i8", [i % 9 - 4 for i in range(7 * 64)]), ("|b1", [i % 3 == 0 for i in range(7 * 64)]),
                    ("<f4 bool", [float(i % 3 == 0) for i in range(7 * 64)])):
    xs[descr] = os.path.join(tmp, "xint-%s.npy" % descr.strip("<|").replace(" ", "-"))
    write_npy(xs[descr], (7, 64), vals, descr.split()[0])
    rc, err = run("run", mlp, "-w", w, "-i", xs[descr], "-o", "logits=" + xs[descr] + ".out", "-o", "probs=" + o)
    check(rc == 0, "%s input: %s" % (descr, err))
if failures == 0:
    same = lambda a, b: open(xs[a] + ".out", "rb").read() == open(xs[b] + ".out", "rb").read()
    check(same("<i2", "<f4") and same("<i8", "<f4"), "integer inputs compute what their floats do")
    check(same("|b1", "<f4 bool"), "a bool input computes what 0.0/1.0 do")
rc, err = run("run", mlp, "-w", w, "-i", xs["<i8"], "-o", "logits=" + o, "-o", "probs=" + o, "--reference")
check(rc == 0, "integer input, --reference: " + err)
xbig = os.path.join(tmp, "xbig.npy")
write_npy(xbig, (7, 64), [0] * 70 + [16777217] + [0] * (7 * 64 - 71), "<i8")
expect_error(["run", mlp, "-w", w, "-i", xbig, "-o", "logits=" + o, "-o", "probs=" + o],
             xbig + ": element 70 (row 1, column 6) is 16777217, beyond 2^24, which f32 cannot hold exactly",
             "integer input beyond 2^24")
expect_error(["run", mlp, "-w"], "option '-w' needs a value", "-w without a value")
expect_error(["run", mlp, "--model", "nosuch", "-w", w, "-i", x], "no model named 'nosuch'", "unknown model")

# a checkpoint saved from a wrapped module: the error points at the prefix
pre = os.path.join(tmp, "prefixed.safetensors")
write_safetensors(pre, {"module." + k: (v[0], v[1]) for k, v in
                        {"fc1.weight": ([128, 64], rand(128 * 64)), "fc1.bias": ([128], rand(128)),
                         "fc2.weight": ([10, 128], rand(1280)), "fc2.bias": ([10], rand(10))}.items()})
expect_error(["run", mlp, "-w", pre, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o],
             "the file has 'module.fc1.weight': use the weights prefix 'module.'", "prefix hint")
rc, err = run("run", mlp, "-w", pre, "--weights-prefix", "module.", "-i", x, "-o", "logits=" + o, "-o", "probs=" + o)
check(rc == 0, "--weights-prefix module.: " + err)
expect_error(["run", mlp, "-w", w, "--weights-prefix", "model.", "-i", x, "-o", "logits=" + o, "-o", "probs=" + o],
             "without the prefix 'model.'", "needless prefix hint")

# --cpu and --features are checked against LLVM's tables (never an LLVM abort)
expect_error(["compile", mlp, "-o", o + ".o", "--cpu", "nonsense"], "unknown CPU 'nonsense' for x86_64", "unknown --cpu")
expect_error(["run", mlp, "-w", w, "-i", x, "--cpu", "znver9"], "did you mean 'znver1'", "--cpu suggestion")
expect_error(["dump", "--asm", mlp, "--cpu", "cortex-a72"], "unknown CPU 'cortex-a72'", "ARM CPU for x86")
expect_error(["compile", mlp, "-o", o + ".o", "--target", "aarch64-linux-gnu", "--cpu", "znver4"],
             "unknown CPU 'znver4' for aarch64", "x86 CPU for aarch64")
expect_error(["compile", mlp, "-o", o + ".o", "--features", "+nonsense"], "unknown CPU feature 'nonsense'",
             "unknown feature")
expect_error(["compile", mlp, "-o", o + ".o", "--features", "avx2"], "must be +NAME or -NAME", "feature without sign")
rc, err = run("compile", mlp, "-o", o + ".o", "--cpu", "native")
check(rc == 0, "--cpu native: " + err)
rc, err = run("compile", mlp, "-o", o + ".o", "--cpu", "x86-64-v3", "--features", "+fma,-avx512f")
check(rc == 0, "--cpu x86-64-v3 --features +fma,-avx512f: " + err)
# an architecture LLVM knows but actc does not generate for: an error, not
# LLVM's abort (riscv64 without float extensions used to end in SIGABRT)
expect_error(["compile", mlp, "-o", o + ".o", "--target", "riscv64-linux-gnu"],
             "unsupported target 'riscv64-unknown-linux-gnu': actc generates code for x86_64 (and i686) and aarch64",
             "--target riscv64")

# ISA variants (docs/aot.md, "Variants"): the default x86-64 list, a --cpu
# list, and the list's errors; --list-variants writes nothing
p = subprocess.run([actc, "compile", "--list-variants", "--target", "x86_64-linux-gnu"], capture_output=True, text=True)
check(p.returncode == 0 and "3 variants" in p.stdout and p.stdout.count("x86-64-v") == 3 and
      "x86-64-v4        16 lanes  needs sse3" in p.stdout and "avx512vl, avx512cd" in p.stdout,
      "--list-variants default: %s%s" % (p.stdout, p.stderr))
p = subprocess.run([actc, "compile", "--list-variants", "--target", "aarch64-linux-gnu"], capture_output=True, text=True)
check(p.returncode == 0 and "1 variant," in p.stdout and "needs nothing beyond the baseline  [another architecture]" in p.stdout,
      "--list-variants aarch64: %s%s" % (p.stdout, p.stderr))
p = subprocess.run([actc, "compile", "--list-variants", "--cpu", "x86-64-v2,haswell"], capture_output=True, text=True)
check(p.returncode == 0 and "2 variants" in p.stdout and "haswell" in p.stdout, "--list-variants --cpu list: %s%s" % (p.stdout, p.stderr))
expect_error(["compile", mlp, "-o", o + ".o", "--cpu", "x86-64-v3,x86-64-v3"], "--cpu: 'x86-64-v3' is listed twice",
             "--cpu duplicate")
expect_error(["compile", mlp, "-o", o + ".o", "--cpu", "x86-64-v2,,x86-64-v3"], "has an empty or overlong name in position 2",
             "--cpu empty name")
expect_error(["compile", mlp, "-o", o + ".o", "--cpu", "x86-64-v2,haswel"], "unknown CPU 'haswel'", "--cpu unknown in list")

# --embed-weights links the embedded runtime, built for x86_64 and aarch64 Linux
# only: another triple is an error naming the supported ones (without
# --embed-weights the same triple compiles)
for triple, norm in (("i686-linux-gnu", "i686-unknown-linux-gnu"), ("x86_64-pc-windows-msvc", "x86_64-pc-windows-msvc")):
    expect_error(["compile", mlp, "-o", o + ".o", "--target", triple, "--embed-weights", w],
                 "no embedded runtime for target '%s'; supported targets: x86_64-unknown-linux-gnu, "
                 "aarch64-unknown-linux-gnu" % norm, "--embed-weights for " + triple)
    rc, err = run("compile", mlp, "-o", o + ".o", "--target", triple)
    check(rc == 0, "--target %s without --embed-weights: %s" % (triple, err))
rc, err = run("compile", mlp, "-o", o + ".o", "--target", "aarch64-linux-gnu", "--embed-weights", w)
check(rc == 0, "--target aarch64-linux-gnu --embed-weights: " + err)
# kernel parameters and tuning profiles (docs/tuning.md): bad arguments are
# errors naming the argument; a bad profile is a warning and the run works
expect_error(["run", mlp, "-w", w, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--kernel-params", "dense=0x3"],
             "kernel parameters 'dense=0x3': dense: tile 0x3 out of range", "--kernel-params out of range")
expect_error(["run", mlp, "-w", w, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--kernel-params", "dense"],
             "expected 'dense=' or 'gated='", "--kernel-params malformed")
expect_error(["tune", "--budget", "0"], "invalid --budget '0'", "--budget 0")
expect_error(["tune", "--budget", "1e9"], "invalid --budget '1e9'", "--budget too large")
expect_error(["tune", "--shapes", "12x"], "--shapes: expected KxN", "--shapes malformed")
expect_error(["tune", "--shapes", "0x8"], "--shapes: expected KxN", "--shapes zero")
expect_error(["tune", "--batches", "8,,9"], "--batches: expected M", "--batches malformed")
expect_error(["tune", mlp], "'tune' takes no FILE", "tune with a file")
expect_error(["tune", "--target", "aarch64-linux-gnu"], "--target is not allowed", "tune for another target")
expect_error(["tune", "--shapes", "16x16", "--batches", "2", "--budget", "1", "--profile",
              os.path.join(tmp, "no", "such", "dir", "p.json")], "cannot write the profile", "tune to an unwritable path")
garbage = os.path.join(tmp, "garbage.json")
with open(garbage, "w") as f:
    f.write("{not json")
rc, err = run("run", mlp, "-w", w, "-i", x, "-o", "logits=" + o, "-o", "probs=" + o, "--profile", garbage)
check(rc == 0 and "warning: tuning profile '%s' is not valid JSON" % garbage in err and "using the" in err,
      "a garbage --profile: %d %r" % (rc, err))
rc, err = run("compile", mlp, "-o", o + ".o", "--header", o + ".h", "--profile", garbage)
check(rc == 0 and err.count("tuning profile") == 1, "compile with a garbage --profile warns once: %d %r" % (rc, err))
prof = os.path.join(tmp, "tuned.json")
rc, err = run("tune", "--shapes", "64x64", "--batches", "4", "--budget", "2", "--profile", prof, "-q")
check(rc == 0 and os.path.exists(prof), "a short tune: %d %r" % (rc, err))
p = subprocess.run([actc, "tune", "--show", "--profile", prof], capture_output=True, text=True)
check(p.returncode == 0 and ("profile " + prof) in p.stdout, "tune --show with the profile: %r %r" % (p.stdout, p.stderr))
hdr = open(o + ".h").read() if os.path.exists(o + ".h") else ""
check(" *     kernels dense=" in hdr, "the header records each variant's kernel parameters")

# --- batchnorm folded at load (runtime/fold.c): the values, and every bad running statistic named ---
bn_src = os.path.join(tmp, "bn.act")
with open(bn_src, "w") as f:
    f.write('model bn(x: f32[batch, 4]) -> f32[batch, 2] {\n'
            '    return dense(batchnorm(x, eps = 0.5, name = "bn"), 2, name = "fc")\n}\n')
bn_t = {"bn.weight": ([4], [1.0, 2.0, -1.0, 0.5]), "bn.bias": ([4], [0.0, 0.25, 1.0, -2.0]),
        "bn.running_mean": ([4], [1.0, -1.0, 0.5, 3.0]), "bn.running_var": ([4], [0.5, 1.5, 3.5, 0.0]),
        "fc.weight": ([2, 4], [0.5, -1.0, 2.0, 0.25, 1.0, 1.0, -0.5, 3.0]), "fc.bias": ([2], [0.125, -4.0])}
bn_x = [2.0, 0.0, -1.0, 4.0, -3.0, 5.0, 1.0, 0.5]
xb_ = os.path.join(tmp, "bn_x.npy")
write_npy(xb_, [2, 4], bn_x)
ws_ = os.path.join(tmp, "bn.safetensors")
write_safetensors(ws_, bn_t)
yb_ = os.path.join(tmp, "bn_y.npy")
rc, err = run("run", bn_src, "-w", ws_, "-i", xb_, "-o", yb_)
check(rc == 0, "batchnorm before dense: %s" % err)
if rc == 0:
    want = []
    for r in range(2):
        z = [(bn_x[r * 4 + k] - bn_t["bn.running_mean"][1][k]) / math.sqrt(bn_t["bn.running_var"][1][k] + 0.5)
             * bn_t["bn.weight"][1][k] + bn_t["bn.bias"][1][k] for k in range(4)]
        want += [sum(z[k] * bn_t["fc.weight"][1][j * 4 + k] for k in range(4)) + bn_t["fc.bias"][1][j] for j in range(2)]
    got = read_npy(yb_)[1]
    check(all(abs(g - w_) <= 1e-5 * (1 + abs(w_)) for g, w_ in zip(got, want)), "batchnorm values: %r vs %r" % (got, want))
for tensor, k, v, needle in (("bn.running_var", 2, -3.5, "element 2 is -3.5, so running_var + eps = -3 is not positive"),
                             ("bn.running_var", 0, -0.5, "running_var + eps = 0 is not positive"),
                             ("bn.weight", 1, float("nan"), "element 1 is nan; a folded layer's tensors must be finite"),
                             ("bn.running_mean", 3, float("inf"), "element 3 is inf")):
    bad = dict(bn_t)
    vals = list(bad[tensor][1])
    vals[k] = v
    bad[tensor] = (bad[tensor][0], vals)
    wb_ = os.path.join(tmp, "bn_bad.safetensors")
    write_safetensors(wb_, bad)
    for more in ([], ["--reference"]):
        rc, err = run("run", bn_src, "-w", wb_, "-i", xb_, "-o", yb_, *more)
        check(rc == 1 and "tensor '%s'" % tensor in err and (needle in err or more), "bad %s %s: %d %r" % (tensor, more, rc, err))
# compile --embed-weights folds at compile time and reports the same error
rc, err = run("compile", bn_src, "-o", os.path.join(tmp, "bn.o"), "--header", os.path.join(tmp, "bn.h"),
              "--embed-weights", wb_)
check(rc == 1 and "tensor 'bn.running_mean'" in err, "compile --embed-weights with a bad running_mean: %d %r" % (rc, err))

# every subcommand answers --help with the usage, exit 0
for cmd in ("run", "compile", "check", "dump", "bench", "tune"):
    p = subprocess.run([actc, cmd, "--help"], capture_output=True, text=True)
    check(p.returncode == 0 and "usage" in p.stdout.lower(), "actc %s --help: %d %r" % (cmd, p.returncode, p.stderr))

print("cli: %s" % ("all passed" if failures == 0 else "%d failures" % failures))
sys.exit(1 if failures else 0)
