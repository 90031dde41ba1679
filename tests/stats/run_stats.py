#!/usr/bin/env python3
"""The exact oracle of `actc stats` (docs/stats.md), standard library only.

For every model below the expected statistics are computed here from the
kernels' own f32 values: a *probe* model (the same model with its
pre-activations, and for saturating sites its activation outputs y, as
extra named outputs) runs through `actc run`, and the definitions of
docs/stats.md §2-§3 are applied to those values in Python.  Then
`actc stats MODEL --json -` must report exactly that: the sites and their
fields (§1, §4), the dead / never-positive / saturated sets, active
fractions, pre-activation min and max (as f32), the 65-bin histogram with
underflow and overflow, mean and std (f64, within a tolerance), the advice
(§5); the same with --batch 1, 7, 256 and --threads 1, 2 (all of it
bitwise, mean and std within 1e-12); bad inputs exit 1 with a message
naming the culprit; --plot writes well-formed SVGs and an index.html
(rendered with rsvg-convert when it is installed).

Models: examples/dead_units (relu and leaky_relu, with their committed
probes), examples/digits (swiglu and gelu; its probe is made here), and
generated ones covering every builtin activation, every gate, user-defined
activations (relu-like or not) and gates, the layer-naming rules, exact
histogram edges and saturation boundaries, NaN and infinities, two inputs,
a constant batch, and --model.

usage: run_stats.py ACTC SOURCE_DIR [--oracle-only] [--keep]
  --oracle-only  do not run `actc stats`: check the oracle itself (the
                 histogram rule against the edges of §3, each probe against
                 its model) and print the expected statistics
  --keep         keep the temporary directory (kept anyway on failure)
"""
import array, bisect, html.parser, json, math, os, random, re, shutil, struct, subprocess, sys, tempfile
import xml.etree.ElementTree as ET

args = [a for a in sys.argv[1:] if not a.startswith("--")]
flags = {a for a in sys.argv[1:] if a.startswith("--")}
if len(args) != 2 or flags - {"--oracle-only", "--keep"}:
    sys.exit("usage: run_stats.py ACTC SOURCE_DIR [--oracle-only] [--keep]")
actc, src = os.path.abspath(args[0]), os.path.abspath(args[1])
ORACLE_ONLY = "--oracle-only" in flags
tmp = tempfile.mkdtemp(prefix="actc-stats-")
failures = 0
notes = []


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    return cond


def note(what):
    """Not a failure: a choice the doc leaves open, and what actc chose."""
    if what not in notes:
        notes.append(what)
        print("NOTE:", what)


# ---------------------------------------------------------------- file I/O
# (as tests/cli/run_cli.py)

def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, (shape, values) in tensors.items():
        b = array.array("f", values).tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_npy(path, shape, values):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ", ".join(map(str, shape))
    hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + array.array("f", values).tobytes())


def read_npy(path):
    """(shape, values as Python floats (the f32 values exactly), their bits)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", path
    major = data[6]
    n, at = (struct.unpack("<H", data[8:10])[0], 10) if major == 1 else (struct.unpack("<I", data[8:12])[0], 12)
    hdr = data[at:at + n].decode()
    assert "'<f4'" in hdr and "'fortran_order': False" in hdr, (path, hdr)
    shape = tuple(int(x) for x in hdr.split("'shape': (")[1].split(")")[0].split(",") if x.strip())
    vals, bits = array.array("f"), array.array("I")
    vals.frombytes(data[at + n:])
    bits.frombytes(data[at + n:])
    return shape, list(vals), list(bits)


def run(*argv):
    p = subprocess.run([actc, *argv], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


# ---------------------------------------------------------------- f32 helpers

def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def f32_bits(v):
    return struct.unpack("<I", struct.pack("<f", v))[0]


def from_bits(u):
    return struct.unpack("<f", struct.pack("<I", u))[0]


def next_up(v):    # the next f32 toward +inf (v a finite f32)
    u = f32_bits(v)
    if u == 0x80000000:
        u = 0
    return from_bits(u + 1 if u < 0x80000000 else u - 1)


def next_down(v):  # the next f32 toward -inf
    return -next_up(-v)


# ---------------------------------------------------------------- the histogram of §3

# 33 magnitudes 2^-8, 1.5*2^-8, ..., 2^7, 1.5*2^7, 2^8; 66 edges ascending
MAGS = [m for k in range(-8, 8) for m in (2.0 ** k, 1.5 * 2.0 ** k)] + [256.0]
EDGES = [-m for m in reversed(MAGS)] + MAGS
NBINS, CENTRE, UNDER, OVER = 65, 32, "underflow", "overflow"
assert len(MAGS) == 33 and len(EDGES) == 66


def bin_of_bits(u):
    """The kernels' rule: the top bits of |x| (exponent, first mantissa bit)."""
    b = u & 0x7FFFFFFF
    q = (b >> 22) - 238
    if q < 0:
        return CENTRE
    neg = (u >> 31) and b <= 0x7F800000          # a NaN counts as positive: overflow
    if q < 32:
        return 31 - q if neg else 33 + q
    return UNDER if neg else OVER


def bin_of_value(x):
    """The doc's words: edges, [lo, hi) for x > 0, (-hi, -lo] for x < 0."""
    if math.isnan(x) or x >= 256:
        return OVER
    if x <= -256:
        return UNDER
    if -MAGS[0] < x < MAGS[0]:
        return CENTRE
    if x > 0:
        return 33 + bisect.bisect_right(MAGS, x) - 1   # MAGS[i] <= x < MAGS[i+1]
    return 31 - (bisect.bisect_right(MAGS, -x) - 1)     # -MAGS[i+1] < x <= -MAGS[i]


def oracle_self_test():
    """The bit rule against the edges list, at every edge, each edge's f32
    neighbours, zeros, subnormals, infinities, NaNs and random floats.  Both
    rules are step functions of |x| for each sign (finite f32 bits are
    ordered as magnitudes) that can change only at the edges, so agreeing at
    every edge and at the float just before it is agreement on every f32."""
    vals = [0.0, -0.0, 1e-45, -1e-45, 1.1754942e-38, -1.1754942e-38, 1.1754944e-38, 3.4028235e38, -3.4028235e38]
    for e in EDGES:
        vals += [e, next_up(e), next_down(e)]
    rnd = random.Random(1)
    vals += [f32(rnd.choice((-1, 1)) * 2.0 ** rnd.uniform(-12, 12)) for _ in range(20000)]
    bits = [f32_bits(v) for v in vals] + [0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF]
    bad = [(hex(u), from_bits(u), bin_of_bits(u), bin_of_value(from_bits(u))) for u in bits
           if bin_of_bits(u) != bin_of_value(from_bits(u))]
    check(not bad, "oracle: the bit rule and the edges of docs/stats.md §3 disagree on %s" % bad[:5])
    # the bins seen from the edges: bin 0 is (-256, -192], bin 31 (-1.5*2^-8, -2^-8], 32 the centre,
    # bin 33 [2^-8, 1.5*2^-8), bin 64 [192, 256)
    expect = {-256.0: UNDER, next_up(-256.0): 0, -192.0: 0, next_up(-192.0): 1, -2.0 ** -8: 31,
              next_up(-2.0 ** -8): CENTRE, 2.0 ** -8: 33, next_down(2.0 ** -8): CENTRE, next_down(256.0): 64,
              256.0: OVER, 192.0: 64, next_down(192.0): 63, float("inf"): OVER, float("-inf"): UNDER}
    for v, b in expect.items():
        check(bin_of_bits(f32_bits(v)) == b, "oracle: bin of %r is %r, expected %r" % (v, bin_of_bits(f32_bits(v)), b))


# ---------------------------------------------------------------- expected statistics of one site

RELU_LIKE, NEVER_POSITIVE, SATURATING = "relu-like", "never-positive", "saturating"
GATES = {"reglu", "geglu", "geglu_tanh", "swiglu", "glu"}


def sat_bounds(op, params=None):
    if op in ("sigmoid", "hardsigmoid", "glu"):
        return 0.01, 0.99
    if op in ("tanh", "softsign"):
        return -0.98, 0.98
    if op == "hardtanh":
        lo, hi = params or (-1.0, 1.0)
        return lo + 0.01 * (hi - lo), hi - 0.01 * (hi - lo)
    raise ValueError(op)


class Expected:
    pass


def expected_stats(label, pre, pre_bits, n, units, kind, y=None, bounds=None):
    """docs/stats.md §2-§3 over n samples x units (row-major f32 values)."""
    e = Expected()
    e.samples, e.units = n, units
    active = [0] * units
    sat_d, sat_f = [0] * units, [0] * units      # threshold as a double / rounded to f32
    hist, under, over = [0] * NBINS, 0, 0
    lo = hi = None
    vals, nan = [], False
    if kind == SATURATING:
        tlo, thi = bounds
        flo, fhi = f32(tlo), f32(thi)
    for i in range(n):
        row = i * units
        for j in range(units):
            v, u = pre[row + j], pre_bits[row + j]
            if v > 0:
                active[j] += 1
            b = bin_of_bits(u)
            if b == UNDER:
                under += 1
            elif b == OVER:
                over += 1
            else:
                hist[b] += 1
            if v != v:
                nan = True
            else:
                vals.append(v)
                lo = v if lo is None or v < lo else lo
                hi = v if hi is None or v > hi else hi
            if kind == SATURATING:
                w = y[row + j]
                sat_d[j] += w <= tlo or w >= thi
                sat_f[j] += w <= flo or w >= fhi
    e.active = active
    e.silent = [j for j in range(units) if active[j] == 0]          # dead / never positive
    e.mean_active_fraction = sum(active) / (n * units)
    e.min, e.max = lo, hi
    e.hist, e.under, e.over = hist, under, over
    if kind == SATURATING:
        sets = {}
        for how, cnt in (("double", sat_d), ("f32", sat_f)):
            sets[how + ", count*100 >= 99*n"] = [j for j in range(units) if cnt[j] * 100 >= 99 * n]
            sets[how + ", count >= 0.99*n"] = [j for j in range(units) if cnt[j] >= 0.99 * n]
        first = sets["double, count*100 >= 99*n"]
        e.saturated_alt = [s for s in sets.values() if s != first]
        if e.saturated_alt:
            note("%s: the saturated set depends on how the threshold or the 99%% is computed: %s" % (label, sets))
        e.saturated = first
        e.sat_counts = sat_d
    # mean and std (population) over every non-NaN value; NaN makes them NaN
    fin = [v for v in vals if not math.isinf(v)]
    if nan or len(fin) != len(vals):
        e.mean = float("nan") if nan else sum(vals) / len(vals)   # +-inf, or NaN for inf - inf
        e.std = float("nan")
        e.rms = max((abs(v) for v in fin), default=1.0)
    else:
        m = math.fsum(vals) / len(vals)
        e.mean = m
        e.std = math.sqrt(math.fsum((v - m) ** 2 for v in vals) / len(vals))
        e.rms = math.sqrt(math.fsum(v * v for v in vals) / len(vals))
    return e


# ---------------------------------------------------------------- cases

class Site:
    """The expected fields of one site.  line / call_lines are substrings
    whose (first) line in the model source is the expected line; op and
    layer may be a tuple of acceptable values (the first is the doc's
    reading, the others what actc may reasonably pick: a NOTE)."""

    def __init__(self, op, kind, line, layer, units, pre, call_lines=(), y=None, params=None):
        self.op, self.kind, self.line_at, self.layer, self.units = op, kind, line, layer, units
        self.pre, self.call_at, self.y, self.params = pre, list(call_lines), y, params


class Case:
    def __init__(self, name, model_src, probe_src, model, sites, weights, inputs, model_outputs,
                 extra=(), batch_variants=True):
        self.name, self.model_src, self.probe_src, self.model = name, model_src, probe_src, model
        self.sites, self.weights, self.inputs, self.model_outputs = sites, weights, inputs, model_outputs
        self.extra, self.batch_variants = list(extra), batch_variants


def line_of(text, needle, after=0):
    for i, l in enumerate(text.split("\n")):
        if i + 1 > after and needle in l and not l.lstrip().startswith("#"):
            return i + 1
    raise ValueError("%r not in the source" % needle)


rnd = random.Random(2026)


def dense_params(units, n, design, bias=True):
    """Weights [units, n] and bias [units] (f32) for one dense layer.
    design 'mixed': every unit a purpose (always negative, always positive,
    exactly 0, exact histogram edges as constants, huge, tiny, rarely or
    mostly positive), the rest random; 'mostly_dead': two thirds of the units
    always negative; 'identity': W = I (preact = x exactly), no bias;
    'random': U(-0.5, 0.5) weights and biases."""
    W, b = [], []
    specials = [("w", 1.0, -1000.0), ("w", 1.0, 1000.0), ("z", 0.0), ("z", 2.0 ** -8), ("z", -2.0 ** -8),
                ("z", -192.0), ("z", next_down(256.0)), ("z", 256.0), ("z", -256.0), ("z", 1e-40),
                ("z", next_down(1.5 * 2.0 ** -8)), ("w", 1000.0, 0.0), ("w", 1e-4, 0.0), ("w", 1.0, -1.5),
                ("w", 1.0, 1.5), ("z", -0.0)]
    for j in range(units):
        if design == "identity":
            W += [1.0 if k == j else 0.0 for k in range(n)]
            continue
        if design == "mixed" and j < len(specials):
            s = specials[j]
        elif design == "mostly_dead" and j % 3 != 2:
            s = ("w", 1.0, -1000.0)
        else:
            s = ("w", 1.0, rnd.uniform(-0.5, 0.5))
        if s[0] == "z":
            W += [0.0] * n
            b.append(s[1])
        else:
            W += [rnd.uniform(-s[1], s[1]) * 0.5 for _ in range(n)]
            b.append(s[2])
    t = {".weight": ([units, n], W)}
    if bias and design != "identity":
        t[".bias"] = ([units], b)
    return t


def layers(spec):
    """{'fc0': (units, n, design), ...} -> safetensors tensors."""
    out = {}
    for name, (units, n, design) in spec.items():
        for suf, v in dense_params(units, n, design).items():
            out[name + suf] = v
    return out


def rand_rows(rows, width, zero_rows=2):
    v = [rnd.uniform(-1, 1) for _ in range(rows * width)]
    for r in range(zero_rows):
        v[r * width:(r + 1) * width] = [0.0] * width
    return v


# One site per builtin activation, each on its own dense layer of the mixed design.
BUILTINS = [  # (op, kind, call template, params for saturation, acceptable ops)
    ("relu", RELU_LIKE, "relu({})", None, None),
    ("relu6", RELU_LIKE, "relu6({})", None, None),
    ("leaky_relu", NEVER_POSITIVE, "leaky_relu({}, negative_slope = 0.2)", None, None),
    ("prelu", NEVER_POSITIVE, 'prelu({}, num_parameters = 24, name = "pw")', None, None),
    ("elu", NEVER_POSITIVE, "elu({}, alpha = 0.5)", None, None),
    ("selu", NEVER_POSITIVE, "selu({})", None, None),
    ("celu", NEVER_POSITIVE, "celu({}, alpha = 2.0)", None, None),
    ("gelu", NEVER_POSITIVE, "gelu({})", None, None),
    ("gelu_tanh", NEVER_POSITIVE, "gelu_tanh({})", None, None),
    ("gelu", NEVER_POSITIVE, 'gelu({}, approximate = "tanh")', None, ("gelu", "gelu_tanh")),
    ("quick_gelu", NEVER_POSITIVE, "quick_gelu({})", None, None),
    ("silu", NEVER_POSITIVE, "silu({})", None, None),
    ("swish", NEVER_POSITIVE, "swish({}, beta = 2.0)", None, None),
    ("mish", NEVER_POSITIVE, "mish({})", None, None),
    ("softplus", NEVER_POSITIVE, "softplus({}, beta = 2.0, threshold = 10.0)", None, None),
    ("hardswish", NEVER_POSITIVE, "hardswish({})", None, None),
    ("logsigmoid", NEVER_POSITIVE, "logsigmoid({})", None, None),
    ("tanhshrink", NEVER_POSITIVE, "tanhshrink({})", None, None),
    ("softshrink", NEVER_POSITIVE, "softshrink({}, lambd = 0.25)", None, None),
    ("hardshrink", NEVER_POSITIVE, "hardshrink({})", None, None),
    ("sigmoid", SATURATING, "sigmoid({})", None, None),
    ("hardsigmoid", SATURATING, "hardsigmoid({})", None, None),
    ("tanh", SATURATING, "tanh({})", None, None),
    ("softsign", SATURATING, "softsign({})", None, None),
    ("hardtanh", SATURATING, "hardtanh({})", (-1.0, 1.0), None),
    ("hardtanh", SATURATING, "hardtanh({}, min_val = -2.0, max_val = 3.0)", (-2.0, 3.0), None),
]


def case_builtins():
    IN, U, N = 16, 24, 300
    body, pbody, pouts, prets, sites, spec = [], [], [], [], [], {}
    for k, (op, kind, tmpl, params, alts) in enumerate(BUILTINS):
        layer = "fc%d" % k
        spec[layer] = (U, IN, "mixed")
        call = tmpl.replace('name = "pw"', 'name = "pw%d"' % k)
        body.append("    a%d = %s" % (k, call.format('dense(x, %d, name = "%s")' % (U, layer))))
        pbody += ["    p%d = dense(x, %d, name = \"%s\")" % (k, U, layer), "    a%d = %s" % (k, call.format("p%d" % k))]
        pouts.append("p%d: f32[batch, %d]" % (k, U))
        prets.append("p%d" % k)
        y = None
        if kind == SATURATING:
            pouts.append("y%d: f32[batch, %d]" % (k, U))
            prets.append("a%d" % k)
            y = ("y%d" % k, 0, U)
        sites.append(Site(alts or op, kind, "    a%d = " % k, layer, U, ("p%d" % k, 0, U), y=y, params=params))
    # identity is not a site
    body.append('    i0 = identity(dense(x, %d, name = "plain"))' % U)
    pbody.append('    i0 = identity(dense(x, %d, name = "plain"))' % U)
    spec["plain"] = (U, IN, "random")
    total = " + ".join("a%d" % k for k in range(len(BUILTINS))) + " + i0"
    model = "model builtins(x: f32[batch, %d]) -> f32[batch, %d] {\n%s\n    return %s\n}\n" % (IN, U, "\n".join(body), total)
    probe = "model builtins(x: f32[batch, %d]) -> (out: f32[batch, %d], %s) {\n%s\n    return %s, %s\n}\n" % (
        IN, U, ", ".join(pouts), "\n".join(pbody), total, ", ".join(prets))
    w = layers(spec)
    for k, b in enumerate(BUILTINS):
        if b[0] == "prelu":   # slopes: negative, zero, positive, > 1
            w["pw%d.weight" % k] = ([U], [rnd.choice((-0.5, 0.0, 0.25, 1.5)) for _ in range(U)])
    return Case("builtins", model, probe, "builtins", sites, w, {"x": (N, IN, rand_rows(N, IN))}, [("output", "out")])


def case_gates():
    IN, U, N = 16, 24, 300
    model = """model gates(x: f32[batch, 16]) -> f32[batch, 24] {
    g0 = reglu(dense(x, 24, name = "r.a"), dense(x, 24, name = "r.b"))
    g1 = geglu(dense(x, 24, name = "ge.a"), dense(x, 24, name = "ge.b"))
    g2 = geglu_tanh(dense(x, 24, name = "gt.a"), dense(x, 24, name = "gt.b"))
    g3 = swiglu(dense(x, 24, name = "sw.a"), dense(x, 24, name = "sw.b"))
    g4 = glu(dense(x, 24, name = "gl.a"), dense(x, 24, name = "gl.b"))
    g5 = glu(dense(x, 48, name = "gl1"))
    g6 = bilinear(dense(x, 24, name = "bi.a"), dense(x, 24, name = "bi.b"))
    g7 = glu(dense(x, 24, name = "gm.a"), dense(x, 24, name = "gm.b"))
    g8 = reglu(dense(x, 24, name = "rm.a"), dense(x, 24, name = "rm.b"))
    return g0 + g1 + g2 + g3 + g4 + g5 + g6 + g7 + g8
}
"""
    probe = """model gates(x: f32[batch, 16]) -> (out: f32[batch, 24], p0: f32[batch, 24], p1: f32[batch, 24], p2: f32[batch, 24], p3: f32[batch, 24], p4: f32[batch, 24], y4: f32[batch, 24], p5: f32[batch, 48], y5: f32[batch, 24], p7: f32[batch, 24], y7: f32[batch, 24], p8: f32[batch, 24]) {
    p0 = dense(x, 24, name = "r.a")
    g0 = reglu(p0, dense(x, 24, name = "r.b"))
    p1 = dense(x, 24, name = "ge.a")
    g1 = geglu(p1, dense(x, 24, name = "ge.b"))
    p2 = dense(x, 24, name = "gt.a")
    g2 = geglu_tanh(p2, dense(x, 24, name = "gt.b"))
    p3 = dense(x, 24, name = "sw.a")
    g3 = swiglu(p3, dense(x, 24, name = "sw.b"))
    p4 = dense(x, 24, name = "gl.a")
    g4 = glu(p4, dense(x, 24, name = "gl.b"))
    p5 = dense(x, 48, name = "gl1")
    g5 = glu(p5)
    h5a, h5b = split(p5, 2)
    g6 = bilinear(dense(x, 24, name = "bi.a"), dense(x, 24, name = "bi.b"))
    p7 = dense(x, 24, name = "gm.a")
    g7 = glu(p7, dense(x, 24, name = "gm.b"))
    p8 = dense(x, 24, name = "rm.a")
    g8 = reglu(p8, dense(x, 24, name = "rm.b"))
    return g0 + g1 + g2 + g3 + g4 + g5 + g6 + g7 + g8, p0, p1, p2, p3, p4, sigmoid(p4), p5, sigmoid(h5b), p7, sigmoid(p7), p8
}
"""
    spec = {"r.a": (U, IN, "mixed"), "r.b": (U, IN, "random"), "ge.a": (U, IN, "mixed"), "ge.b": (U, IN, "random"),
            "gt.a": (U, IN, "mixed"), "gt.b": (U, IN, "random"), "sw.a": (U, IN, "mostly_dead"),
            "sw.b": (U, IN, "random"), "gl.a": (U, IN, "mixed"), "gl.b": (U, IN, "random"),
            "bi.a": (U, IN, "random"), "bi.b": (U, IN, "random"), "gm.a": (U, IN, "mostly_dead"),
            "gm.b": (U, IN, "random"), "rm.a": (U, IN, "mostly_dead"), "rm.b": (U, IN, "random")}
    w = layers(spec)
    # glu(t) activates the second half of t: the mixed design there
    first, second = dense_params(U, IN, "random"), dense_params(U, IN, "mixed")
    w["gl1.weight"] = ([2 * U, IN], first[".weight"][1] + second[".weight"][1])
    w["gl1.bias"] = ([2 * U], first[".bias"][1] + second[".bias"][1])
    sites = [Site("reglu", RELU_LIKE, "g0 = ", "r.a", U, ("p0", 0, U)),
             Site("geglu", NEVER_POSITIVE, "g1 = ", "ge.a", U, ("p1", 0, U)),
             Site("geglu_tanh", NEVER_POSITIVE, "g2 = ", "gt.a", U, ("p2", 0, U)),
             Site("swiglu", NEVER_POSITIVE, "g3 = ", "sw.a", U, ("p3", 0, U)),
             Site("glu", SATURATING, "g4 = ", "gl.a", U, ("p4", 0, U), y=("y4", 0, U)),
             Site("glu", SATURATING, "g5 = ", "gl1", U, ("p5", U, 2 * U), y=("y5", 0, U)),
             # two thirds never positive: the gate rule of §5 ("a gate whose activated
             # operand is never positive on more than half of its units"), also for
             # glu (saturating) and reglu (relu-like: dead as well)
             Site("glu", SATURATING, "g7 = ", "gm.a", U, ("p7", 0, U), y=("y7", 0, U)),
             Site("reglu", RELU_LIKE, "g8 = ", "rm.a", U, ("p8", 0, U))]
    return Case("gates", model, probe, "gates", sites, w, {"x": (N, IN, rand_rows(N, IN))}, [("output", "out")])


def case_user():
    IN, U, N = 16, 24, 300
    decls = """activation relu2x(x) = max(x, 0.0) * 2.0
activation scaled_relu(x) = relu(x) * 3.0
activation my_swish(x, beta = 1.0) = x * sigmoid(beta * x)
activation floor1(x) = max(x, -1.0)
gate my_reglu(a, b) = relu(a) * b
gate my_gate2(a, b) = relu2x(a) * b
gate outer(a, b) = my_reglu(a, b) + b
"""
    model = decls + """
model user(x: f32[batch, 16]) -> f32[batch, 24] {
    u0 = relu2x(dense(x, 24, name = "fc0"))
    u1 = scaled_relu(dense(x, 24, name = "fc1"))
    u2 = my_swish(dense(x, 24, name = "fc2"), beta = 1.702)
    u3 = floor1(dense(x, 24, name = "fc3"))
    u4 = my_reglu(dense(x, 24, name = "fc4"), dense(x, 24, name = "fc4b"))
    u5 = my_gate2(dense(x, 24, name = "fc5"), dense(x, 24, name = "fc5b"))
    u6 = outer(dense(x, 24, name = "fc6"), dense(x, 24, name = "fc6b"))
    return u0 + u1 + u2 + u3 + u4 + u5 + u6
}
"""
    probe = decls + """
model user(x: f32[batch, 16]) -> (out: f32[batch, 24], p0: f32[batch, 24], p1: f32[batch, 24], p2: f32[batch, 24], p3: f32[batch, 24], p4: f32[batch, 24], p5: f32[batch, 24], p6: f32[batch, 24]) {
    p0 = dense(x, 24, name = "fc0")
    p1 = dense(x, 24, name = "fc1")
    p2 = dense(x, 24, name = "fc2")
    p3 = dense(x, 24, name = "fc3")
    p4 = dense(x, 24, name = "fc4")
    p5 = dense(x, 24, name = "fc5")
    p6 = dense(x, 24, name = "fc6")
    u0 = relu2x(p0)
    u1 = scaled_relu(p1)
    u2 = my_swish(p2, beta = 1.702)
    u3 = floor1(p3)
    u4 = my_reglu(p4, dense(x, 24, name = "fc4b"))
    u5 = my_gate2(p5, dense(x, 24, name = "fc5b"))
    u6 = outer(p6, dense(x, 24, name = "fc6b"))
    return u0 + u1 + u2 + u3 + u4 + u5 + u6, p0, p1, p2, p3, p4, p5, p6
}
"""
    spec = {"fc%d" % k: (U, IN, "mixed") for k in range(7)}
    spec.update({"fc%db" % k: (U, IN, "random") for k in (4, 5, 6)})
    # Sites inside a user gate's body (docs/stats.md §1: only an activation's
    # body hides its builtins): the line of the application in the body, the
    # model's call in call_lines (outermost first).
    sites = [Site("relu2x", RELU_LIKE, "u0 = ", "fc0", U, ("p0", 0, U)),
             Site("scaled_relu", RELU_LIKE, "u1 = ", "fc1", U, ("p1", 0, U)),
             Site("my_swish", NEVER_POSITIVE, "u2 = ", "fc2", U, ("p2", 0, U)),
             Site("floor1", NEVER_POSITIVE, "u3 = ", "fc3", U, ("p3", 0, U)),
             Site("relu", RELU_LIKE, "gate my_reglu", "fc4", U, ("p4", 0, U), call_lines=["u4 = "]),
             Site("relu2x", RELU_LIKE, "gate my_gate2", "fc5", U, ("p5", 0, U), call_lines=["u5 = "]),
             Site("relu", RELU_LIKE, "gate my_reglu", "fc6", U, ("p6", 0, U), call_lines=["u6 = ", "gate outer"])]
    return Case("user", model, probe, "user", sites, layers(spec), {"x": (N, IN, rand_rows(N, IN))},
                [("output", "out")])


def case_naming():
    IN, U, N = 24, 24, 200
    model = """model naming(x: f32[batch, 24]) -> f32[batch, 24] {
    v  = dense(x, 24)
    n0 = relu(v)
    n1 = relu(v)
    n2 = sigmoid(v)
    w  = dense(x, 24, name = "layers.0.mlp.fc")
    n3 = tanh(
        w)
    p  = x * 0.5 + 0.25
    n4 = relu(p)
    n5 = silu(x * 2.0)
    n6 = elu(x)
    g, u = split(dense(x, 48, name = "gu"), 2)
    n7 = swiglu(g, u)
    n8 = relu(dense(x, 24, name = "ra") + dense(x, 24, name = "rb"))
    n9 = identity(v)
    n10 = relu6(dense(x, 24, bias = false, name = "nb"))
    return n0 + n1 + n2 + n3 + n4 + n5 + n6 + n7 + n8 + n9 + n10
}
"""
    probe = """model naming(x: f32[batch, 24]) -> (out: f32[batch, 24], pv: f32[batch, 24], y2: f32[batch, 24], pw: f32[batch, 24], y3: f32[batch, 24], pp: f32[batch, 24], p5: f32[batch, 24], pg: f32[batch, 24], p8: f32[batch, 24], p10: f32[batch, 24]) {
    v  = dense(x, 24)
    n0 = relu(v)
    n1 = relu(v)
    n2 = sigmoid(v)
    w  = dense(x, 24, name = "layers.0.mlp.fc")
    n3 = tanh(w)
    p  = x * 0.5 + 0.25
    n4 = relu(p)
    q5 = x * 2.0
    n5 = silu(q5)
    n6 = elu(x)
    g, u = split(dense(x, 48, name = "gu"), 2)
    n7 = swiglu(g, u)
    s8 = dense(x, 24, name = "ra") + dense(x, 24, name = "rb")
    n8 = relu(s8)
    n9 = identity(v)
    p10 = dense(x, 24, bias = false, name = "nb")
    n10 = relu6(p10)
    return n0 + n1 + n2 + n3 + n4 + n5 + n6 + n7 + n8 + n9 + n10, v, n2, w, n3, p, q5, g, s8, p10
}
"""
    spec = {"v": (U, IN, "mixed"), "layers.0.mlp.fc": (U, IN, "mixed"), "ra": (U, IN, "mixed"),
            "rb": (U, IN, "random")}
    w = layers(spec)
    gu = dense_params(2 * U, IN, "mixed")
    w["gu.weight"], w["gu.bias"] = gu[".weight"], gu[".bias"]
    w["nb.weight"] = dense_params(U, IN, "mixed")[".weight"]
    sites = [Site("relu", RELU_LIKE, "n0 = ", "v", U, ("pv", 0, U)),
             Site("relu", RELU_LIKE, "n1 = ", "v", U, ("pv", 0, U)),           # CSE: n0's counts
             Site("sigmoid", SATURATING, "n2 = ", "v", U, ("pv", 0, U), y=("y2", 0, U)),
             Site("tanh", SATURATING, "n3 = tanh(", "layers.0.mlp.fc", U, ("pw", 0, U), y=("y3", 0, U)),
             Site("relu", RELU_LIKE, "n4 = ", "p", U, ("pp", 0, U)),
             Site("silu", NEVER_POSITIVE, "n5 = ", "n5", U, ("p5", 0, U)),
             Site("elu", NEVER_POSITIVE, "n6 = ", ("x", "n6"), U, ("input:x", 0, U)),   # an input: a variable?
             Site("swiglu", NEVER_POSITIVE, "n7 = ", ("gu", "g"), U, ("pg", 0, U)),
             Site("relu", RELU_LIKE, "n8 = ", "n8", U, ("p8", 0, U)),
             Site("relu6", RELU_LIKE, "n10 = ", "nb", U, ("p10", 0, U))]
    return Case("naming", model, probe, "naming", sites, w, {"x": (N, IN, rand_rows(N, IN))}, [("output", "out")])


def case_edges():
    """Exact boundaries: 99% saturation with 200 samples (198 is, 197 is
    not), the hardtanh thresholds' f32 neighbours, every histogram edge and
    its neighbours as exact pre-activations (identity layers, no bias)."""
    N, C = 200, 14
    cols = [[0.0] * N for _ in range(C)]
    cols[0] = [50.0] * N
    cols[1] = [50.0] * 198 + [0.0] * 2
    cols[2] = [50.0] * 197 + [0.0] * 3
    cols[3] = [-50.0] * 198 + [0.0] * 2
    cols[4] = [50.0] * 100 + [-50.0] * 98 + [0.0] * 2
    cols[5] = [f32(0.98)] * N
    cols[6] = [next_down(f32(0.98))] * N
    cols[7] = [f32(2.95)] * 100 + [f32(-1.95)] * 100
    cols[8] = [next_down(f32(2.95))] * 100 + [next_up(f32(-1.95))] * 100
    cols[9] = [0.0] * 199 + [1e-45]
    cols[10] = [-0.0] * N
    cols[11] = [-1.0] * 199 + [2.0 ** -8]
    ev = []
    for e in EDGES:
        ev += [e, next_up(e), next_down(e)]
    ev += [0.0] * (2 * N - len(ev))
    cols[12], cols[13] = ev[0::2], ev[1::2]
    x = [cols[j][i] for i in range(N) for j in range(C)]
    acts = [("sigmoid", SATURATING, "sigmoid({})", None), ("tanh", SATURATING, "tanh({})", None),
            ("softsign", SATURATING, "softsign({})", None), ("hardtanh", SATURATING, "hardtanh({})", (-1.0, 1.0)),
            ("hardtanh", SATURATING, "hardtanh({}, min_val = -2.0, max_val = 3.0)", (-2.0, 3.0)),
            ("hardsigmoid", SATURATING, "hardsigmoid({})", None),
            ("glu", SATURATING, 'glu({}, dense(x, 14, name = "gb"))', None),
            ("relu", RELU_LIKE, "relu({})", None), ("relu6", RELU_LIKE, "relu6({})", None),
            ("reglu", RELU_LIKE, 'reglu({}, dense(x, 14, name = "rb"))', None),
            ("gelu", NEVER_POSITIVE, "gelu({})", None)]
    body, pbody, pouts, prets, sites, w = [], [], [], [], [], {}
    ident = dense_params(C, C, "identity")
    for k, (op, kind, tmpl, params) in enumerate(acts):
        layer = "id%d" % k
        w[layer + ".weight"] = ident[".weight"]
        d = 'dense(x, %d, bias = false, name = "%s")' % (C, layer)
        body.append("    e%d = %s" % (k, tmpl.format(d)))
        pbody += ["    p%d = %s" % (k, d), "    e%d = %s" % (k, tmpl.format("p%d" % k))]
        pouts.append("p%d: f32[batch, %d]" % (k, C))
        prets.append("p%d" % k)
        y = None
        if kind == SATURATING:
            pouts.append("y%d: f32[batch, %d]" % (k, C))
            prets.append("sigmoid(p%d)" % k if op == "glu" else "e%d" % k)
            y = ("y%d" % k, 0, C)
        sites.append(Site(op, kind, "    e%d = " % k, layer, C, ("p%d" % k, 0, C), y=y, params=params))
    for name in ("gb", "rb"):
        t = dense_params(C, C, "random")
        w[name + ".weight"], w[name + ".bias"] = t[".weight"], t[".bias"]
    total = " + ".join("e%d" % k for k in range(len(acts)))
    model = "model edges(x: f32[batch, %d]) -> f32[batch, %d] {\n%s\n    return %s\n}\n" % (C, C, "\n".join(body), total)
    probe = "model edges(x: f32[batch, %d]) -> (out: f32[batch, %d], %s) {\n%s\n    return %s, %s\n}\n" % (
        C, C, ", ".join(pouts), "\n".join(pbody), total, ", ".join(prets))
    return Case("edges", model, probe, "edges", sites, w, {"x": (N, C, x)}, [("output", "out")])


def case_special():
    """NaN and infinities in the inputs: NaN pre-activations are out of min
    and max, counted in overflow, and make mean and std NaN; -inf is
    underflow, +inf overflow."""
    IN, U, N = 16, 24, 40
    x = rand_rows(N, IN)
    x[5 * IN + 0] = float("nan")
    x[6 * IN + 1] = float("inf")
    x[7 * IN + 2] = float("-inf")
    x[8 * IN + 3] = 3e38
    model = """model special(x: f32[batch, 16]) -> f32[batch, 24] {
    s0 = relu(dense(x, 24, name = "fc0"))
    s1 = sigmoid(dense(x, 24, name = "fc1"))
    s2 = tanh(dense(x, 24, name = "fc2"))
    return s0 + s1 + s2
}
"""
    probe = """model special(x: f32[batch, 16]) -> (out: f32[batch, 24], p0: f32[batch, 24], p1: f32[batch, 24], y1: f32[batch, 24], p2: f32[batch, 24], y2: f32[batch, 24]) {
    p0 = dense(x, 24, name = "fc0")
    p1 = dense(x, 24, name = "fc1")
    p2 = dense(x, 24, name = "fc2")
    s0 = relu(p0)
    s1 = sigmoid(p1)
    s2 = tanh(p2)
    return s0 + s1 + s2, p0, p1, s1, p2, s2
}
"""
    sites = [Site("relu", RELU_LIKE, "s0 = ", "fc0", U, ("p0", 0, U)),
             Site("sigmoid", SATURATING, "s1 = ", "fc1", U, ("p1", 0, U), y=("y1", 0, U)),
             Site("tanh", SATURATING, "s2 = ", "fc2", U, ("p2", 0, U), y=("y2", 0, U))]
    spec = {"fc%d" % k: (U, IN, "mixed") for k in range(3)}
    return Case("special", model, probe, "special", sites, layers(spec), {"x": (N, IN, x)}, [("output", "out")])


def case_two_inputs():
    N = 77
    model = """model two(x: f32[batch, 16], z: f32[batch, 8]) -> f32[batch, 24] {
    h = relu(dense(x, 24, name = "a") + dense(z, 24, name = "b"))
    return softsign(dense(h, 24, name = "c"))
}
"""
    probe = """model two(x: f32[batch, 16], z: f32[batch, 8]) -> (out: f32[batch, 24], s: f32[batch, 24], pc: f32[batch, 24]) {
    s = dense(x, 24, name = "a") + dense(z, 24, name = "b")
    pc = dense(relu(s), 24, name = "c")
    return softsign(pc), s, pc
}
"""
    sites = [Site("relu", RELU_LIKE, "h = ", "h", 24, ("s", 0, 24)),
             Site("softsign", SATURATING, "return softsign", "c", 24, ("pc", 0, 24), y=("out", 0, 24))]
    w = layers({"a": (24, 16, "mixed"), "b": (24, 8, "random"), "c": (24, 24, "random")})
    w["c.weight"] = ([24, 24], [v * 8 for v in w["c.weight"][1]])
    return Case("two", model, probe, "two", sites, w, {"x": (N, 16, rand_rows(N, 16)), "z": (N, 8, rand_rows(N, 8, 0))},
                [("output", "out")])


def case_const_batch():
    model = """model cb(x: f32[8, 16]) -> f32[8, 24] {
    return relu(dense(x, 24, name = "fc"))
}
"""
    probe = """model cb(x: f32[8, 16]) -> (out: f32[8, 24], p: f32[8, 24]) {
    p = dense(x, 24, name = "fc")
    return relu(p), p
}
"""
    sites = [Site("relu", RELU_LIKE, "return relu", "fc", 24, ("p", 0, 24))]
    return Case("constbatch", model, probe, "cb", sites, layers({"fc": (24, 16, "mixed")}),
                {"x": (8, 16, rand_rows(8, 16, 1))}, [("output", "out")], batch_variants=False)


def case_select():
    """A file of two models: --model picks one; its sites are numbered from 0."""
    model = """model first(x: f32[batch, 16]) -> f32[batch, 24] {
    return relu(dense(x, 24, name = "fa"))
}

model second(x: f32[batch, 16]) -> f32[batch, 24] {
    h = gelu(dense(x, 24, name = "fb0"))
    return tanh(dense(h, 24, name = "fb"))
}
"""
    probe = """model second(x: f32[batch, 16]) -> (out: f32[batch, 24], p0: f32[batch, 24], pb: f32[batch, 24]) {
    p0 = dense(x, 24, name = "fb0")
    pb = dense(gelu(p0), 24, name = "fb")
    return tanh(pb), p0, pb
}
"""
    sites = [Site("gelu", NEVER_POSITIVE, "h = gelu", "fb0", 24, ("p0", 0, 24)),
             Site("tanh", SATURATING, "return tanh", "fb", 24, ("pb", 0, 24), y=("out", 0, 24))]
    w = layers({"fa": (24, 16, "mixed"), "fb0": (24, 16, "mixed"), "fb": (24, 24, "random")})
    return Case("select", model, probe, "second", sites, w, {"x": (50, 16, rand_rows(50, 16))}, [("output", "out")],
                extra=["--model", "second"])


def case_dead_units(variant):
    d = os.path.join(src, "examples", "dead_units")
    act = "relu" if variant == "relu" else "leaky_relu"
    model_path = os.path.join(d, "mlp_%s.act" % variant)
    text = open(model_path).read()
    kind = RELU_LIKE if variant == "relu" else NEVER_POSITIVE
    l1 = line_of(text, "%s(dense(x" % act)
    sites = [Site(act, kind, "%s(dense(x" % act, "fc1", 64, ("pre1", 0, 64)),
             Site(act, kind, "%s(dense(h1" % act, "fc2", 64, ("pre2", 0, 64))]
    assert line_of(text, "%s(dense(h1" % act) == l1 + 1
    c = Case("dead_units/" + variant, text, open(os.path.join(d, "probe_%s.act" % variant)).read(), "mlp", sites,
             os.path.join(d, "mlp_%s.safetensors" % variant), {"x": os.path.join(d, "data.npy")}, [("output", "y")])
    c.model_path = model_path
    return c


def case_digits():
    d = os.path.join(src, "examples", "digits")
    model_path = os.path.join(d, "digits.act")
    text = open(model_path).read()
    # the probe: digits.act with both pre-activations bound and returned
    g, f = 'dense(x, HIDDEN, name = "gate_proj")', 'dense(h, PIXELS, name = "fc2")'
    head = "-> (logits: f32[batch, CLASSES], probs: f32[batch, CLASSES])"
    ret = "return logits, probs"
    if not all(s in text for s in (g, f, head, ret, "swiglu(", "gelu(")):
        check(False, "examples/digits/digits.act changed: update case_digits in tests/stats/run_stats.py")
        return None
    probe = (text.replace(g, "pg").replace(f, "pf")
             .replace(head, head[:-1] + ", pg: f32[batch, HIDDEN], pf: f32[batch, PIXELS])")
             .replace(ret, ret + ", pg, pf"))
    lines = probe.split("\n")
    i = line_of(probe, "swiglu(") - 1
    lines.insert(i, "    pg = " + g)
    i = line_of("\n".join(lines), "gelu(pf") - 1
    lines.insert(i, "    pf = " + f)
    sites = [Site("swiglu", NEVER_POSITIVE, "swiglu(", "gate_proj", 96, ("pg", 0, 96)),
             Site("gelu", NEVER_POSITIVE, "gelu(", "fc2", 64, ("pf", 0, 64))]
    c = Case("digits", text, "\n".join(lines), "digits", sites, os.path.join(d, "digits.safetensors"),
             {"x": os.path.join(d, "test_x.npy")}, [("logits", "logits"), ("probs", "probs")])
    c.model_path = model_path
    return c


# ---------------------------------------------------------------- preparing a case: files, probe, expected values

def prepare(case):
    """Write the files, run the probe (and the model, to check the probe),
    compute every site's expected statistics.  False if the oracle failed."""
    d = os.path.join(tmp, case.name.replace("/", "_"))
    os.makedirs(d, exist_ok=True)
    case.dir = d
    if not hasattr(case, "model_path"):
        case.model_path = os.path.join(d, "model.act")
        with open(case.model_path, "w") as f:
            f.write(case.model_src)
    case.probe_path = os.path.join(d, "probe.act")
    with open(case.probe_path, "w") as f:
        f.write(case.probe_src)
    if isinstance(case.weights, str):
        case.weights_path = case.weights
    else:
        case.weights_path = os.path.join(d, "weights.safetensors")
        write_safetensors(case.weights_path, case.weights)
    case.input_paths = {}
    for name, v in case.inputs.items():
        if isinstance(v, str):
            case.input_paths[name] = v
        else:
            rows, width, vals = v
            case.input_paths[name] = os.path.join(d, "in_%s.npy" % name)
            write_npy(case.input_paths[name], (rows, width), vals)
    case.iargs = []
    for name, p in case.input_paths.items():
        case.iargs += ["-i", "%s=%s" % (name, p) if len(case.input_paths) > 1 else p]
    # the probe: every output
    outs = re.search(r"->\s*\((.*?)\)\s*\{", case.probe_src, re.S).group(1)
    names = [o.split(":")[0].strip() for o in re.split(r",\s*(?=\w+\s*:)", outs)]
    oargs, probe_out = [], {}
    for n in names:
        probe_out[n] = os.path.join(d, "probe_%s.npy" % n)
        oargs += ["-o", "%s=%s" % (n, probe_out[n])]
    rc, _, err = run("run", case.probe_path, "-w", case.weights_path, *case.iargs, *oargs)
    if not check(rc == 0, "%s: the probe does not run: %s" % (case.name, err.strip())):
        return False
    arrays = {n: read_npy(p) for n, p in probe_out.items()}
    for name, p in case.input_paths.items():
        arrays["input:" + name] = read_npy(p)
    # the model itself: its outputs must be bitwise the probe's (else the
    # probe's values need not be the ones the model's kernels compute)
    moargs, mo = [], {}
    for mname, pname in case.model_outputs:
        mo[mname] = os.path.join(d, "model_%s.npy" % mname)
        moargs += ["-o", "%s=%s" % (mname, mo[mname]) if len(case.model_outputs) > 1 else mo[mname]]
    rc, _, err = run("run", case.model_path, "-w", case.weights_path, *case.iargs, *moargs, *case.extra)
    if not check(rc == 0, "%s: the model does not run: %s" % (case.name, err.strip())):
        return False
    for mname, pname in case.model_outputs:
        a, b = read_npy(mo[mname]), arrays[pname]
        check(a[0] == b[0] and a[2] == b[2], "%s: oracle: output '%s' of the probe is not bitwise the model's "
              "(the probe may not see the model's own f32 values)" % (case.name, mname))
    case.samples = next(iter(arrays.values()))[0][0]
    # sites' fields from the model source, statistics from the probe's arrays
    text = open(case.model_path).read()
    for s in case.sites:
        s.line = line_of(text, s.line_at)
        s.call_lines = [line_of(text, c) for c in s.call_at]
        s.sat = sat_bounds(s.op if isinstance(s.op, str) else s.op[0], s.params) if s.kind == SATURATING else None

        def cols(ref):
            name, c0, c1 = ref
            shape, vals, bits = arrays[name]
            w = shape[1]
            if (c0, c1) == (0, w):
                return vals, bits
            idx = [i * w + j for i in range(shape[0]) for j in range(c0, c1)]
            return [vals[i] for i in idx], [bits[i] for i in idx]

        pre, pre_bits = cols(s.pre)
        check(len(pre) == case.samples * s.units, "%s: oracle: pre-activation %s has %d values, expected %d x %d"
              % (case.name, s.pre, len(pre), case.samples, s.units))
        y = cols(s.y)[0] if s.y else None
        s.exp = expected_stats("%s site at line %d" % (case.name, s.line), pre, pre_bits, case.samples, s.units,
                               s.kind, y, s.sat)
    return True


def describe(case):
    print("expected for %s (%s, %d samples):" % (case.name, os.path.relpath(case.model_path, tmp)
                                                 if case.model_path.startswith(tmp) else case.model_path, case.samples))
    for i, s in enumerate(case.sites):
        e = s.exp
        what = {RELU_LIKE: "dead", NEVER_POSITIVE: "never_positive", SATURATING: "saturated"}[s.kind]
        units = e.saturated if s.kind == SATURATING else e.silent
        print("  site %d %-12s line %-3d calls %-8s layer %-16s units %-3d %s %d %s  active %.4f  "
              "min %.9g max %.9g mean %.6g std %.6g  under %d over %d" % (
                  i, s.op if isinstance(s.op, str) else s.op[0], s.line, s.call_lines,
                  s.layer if isinstance(s.layer, str) else s.layer[0], s.units, what, len(units),
                  units if len(units) <= 12 else str(units[:12])[:-1] + ", ...]", e.mean_active_fraction,
                  e.min if e.min is not None else float("nan"), e.max if e.max is not None else float("nan"),
                  e.mean, e.std, e.under, e.over))


# ---------------------------------------------------------------- comparing a report with the expected values

def num(v):
    """A JSON number, or the spellings of non-finite values actc might use."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str) and v.lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        note("non-finite numbers are written as strings (%r)" % v)
        return float(v)
    return None


def close(got, exp, scale, rel):
    if exp != exp:
        return got is not None and got != got
    if got is None or got != got:
        return False
    if math.isinf(exp):
        return got == exp
    return abs(got - exp) <= rel * max(abs(exp), scale)


def compare_report(case, rep, label):
    """rep: the parsed JSON.  Returns the sites matched (for the variants)."""
    where = "%s [%s]" % (case.name, label)
    if not check(isinstance(rep, dict), "%s: the report is not a JSON object" % where):
        return
    check(rep.get("model") == case.model, "%s: model %r, expected %r" % (where, rep.get("model"), case.model))
    check(rep.get("samples") == case.samples, "%s: samples %r, expected %d" % (where, rep.get("samples"), case.samples))
    got_sites = rep.get("sites")
    if not check(isinstance(got_sites, list), "%s: no 'sites' array" % where):
        return
    check(len(got_sites) == len(case.sites), "%s: %d sites, expected %d: got %s" % (
        where, len(got_sites), len(case.sites),
        [(g.get("op"), g.get("line"), g.get("call_lines")) for g in got_sites if isinstance(g, dict)]))
    for i, g in enumerate(got_sites):
        check(isinstance(g, dict) and g.get("site") == i, "%s: sites[%d] has site %r, expected %d (0, 1, ... in order)"
              % (where, i, g.get("site") if isinstance(g, dict) else g, i))
    # match by where the site is (line, call_lines), then the order
    used, order = set(), []
    for k, s in enumerate(case.sites):
        cands = [i for i, g in enumerate(got_sites) if isinstance(g, dict) and i not in used
                 and g.get("line") == s.line and g.get("call_lines") == s.call_lines]
        if not check(cands, "%s: expected site %d (%s at line %d, call_lines %s) is not in the report" % (
                where, k, s.op, s.line, s.call_lines)):
            continue
        i = cands[0]
        used.add(i)
        order.append(i)
        compare_site(where, k, s, got_sites[i], case)
    check(order == sorted(order), "%s: the sites are in another order than expected: expected sites at report "
          "positions %s (expected order: the model body's, a site in a gate's body at its call)" % (where, order))
    compare_advice(where, case, rep.get("advice"), got_sites)


def compare_site(where, k, s, g, case):
    e = s.exp
    at = "%s: site %d (%s, line %d)" % (where, k, s.op if isinstance(s.op, str) else s.op[0], s.line)
    ops = (s.op,) if isinstance(s.op, str) else s.op
    check(g.get("op") in ops, "%s: op %r, expected %r" % (at, g.get("op"), ops[0]))
    if g.get("op") in ops[1:]:
        note("%s: op is %r (the doc's reading: %r)" % (at, g.get("op"), ops[0]))
    layers = (s.layer,) if isinstance(s.layer, str) else s.layer
    check(g.get("layer") in layers, "%s: layer %r, expected %r" % (at, g.get("layer"), layers[0]))
    if g.get("layer") in layers[1:]:
        note("%s: layer is %r (the doc's first reading: %r)" % (at, g.get("layer"), layers[0]))
    check(g.get("units") == s.units, "%s: units %r, expected %d" % (at, g.get("units"), s.units))
    # fields per kind (§4): present for the kind, absent otherwise
    fields = {RELU_LIKE: ("dead", "dead_fraction"), NEVER_POSITIVE: ("never_positive", "never_positive_fraction"),
              SATURATING: ("saturated", "saturated_fraction")}
    for kind, (lst, frac) in fields.items():
        if kind == s.kind:
            continue
        for f in (lst, frac):
            check(f not in g, "%s: field '%s' present for a %s site" % (at, f, s.kind))
    lst, frac = fields[s.kind]
    units = e.saturated if s.kind == SATURATING else e.silent
    got = g.get(lst)
    ok = got == units or (s.kind == SATURATING and got in e.saturated_alt)
    if not ok and isinstance(got, list):
        miss, extra = sorted(set(units) - set(got)), sorted(set(got) - set(units))
        detail = "missing %s, extra %s" % (miss, extra)
        if s.kind == SATURATING:
            detail += " (per-unit saturated samples of %d: %s)" % (
                e.samples, {j: e.sat_counts[j] for j in miss + extra if j < len(e.sat_counts)})
        else:
            detail += " (active samples: %s)" % {j: e.active[j] for j in miss + extra if j < len(e.active)}
        check(False, "%s: %s %s, expected %s: %s" % (at, lst, got, units, detail))
    else:
        check(ok, "%s: %s %r, expected %s" % (at, lst, got, units))
    fv = num(g.get(frac))
    check(fv is not None and close(fv, len(units) / s.units, 0, 1e-9),
          "%s: %s %r, expected %r" % (at, frac, g.get(frac), len(units) / s.units))
    mv = num(g.get("mean_active_fraction"))
    check(mv is not None and close(mv, e.mean_active_fraction, 0, 1e-9),
          "%s: mean_active_fraction %r, expected %r (= %d / (%d x %d))" % (
              at, g.get("mean_active_fraction"), e.mean_active_fraction, sum(e.active), e.samples, s.units))
    # pre-activation distribution
    p = g.get("preact")
    if check(isinstance(p, dict), "%s: no 'preact' object" % at):
        for f, ev in (("min", e.min), ("max", e.max)):
            gv = num(p.get(f))
            if p.get(f) is None and ev is not None and math.isinf(ev):
                check(False, "%s: preact.%s is null, expected %r (an f32 value: JSON has no infinity; the doc "
                      "does not say how it is written)" % (at, f, ev))
                continue
            check(gv is not None and f32(gv) == ev, "%s: preact.%s %r, expected the f32 %r" % (at, f, p.get(f), ev))
            if gv is not None and f32(gv) == ev and gv != ev:
                note("preact min/max are printed as decimals that round to the f32, not its exact value "
                     "(e.g. %r for %r)" % (p.get(f), ev))
        for f, ev in (("mean", e.mean), ("std", e.std)):
            raw = p.get(f)
            if ev != ev and raw is None:
                note("%s: preact.%s NaN is written as null" % (where, f))
                continue
            gv = num(raw)
            check(close(gv, ev, e.rms, 1e-9), "%s: preact.%s %r, expected %r (tolerance 1e-9 x max(|expected|, "
                  "rms %.6g))" % (at, f, raw, ev, e.rms))
    h = g.get("histogram")
    if check(isinstance(h, dict), "%s: no 'histogram' object" % at):
        edges = h.get("edges")
        check(isinstance(edges, list) and [num(x) for x in edges] == EDGES,
              "%s: histogram.edges %s, expected the 66 edges of §3 %s" % (at, edges, EDGES))
        counts = h.get("counts")
        if check(isinstance(counts, list) and len(counts) == NBINS, "%s: histogram.counts is not a list of 65: %r"
                 % (at, counts)):
            diff = [(b, counts[b], e.hist[b]) for b in range(NBINS) if counts[b] != e.hist[b]]
            check(not diff, "%s: histogram counts differ (bin, got, expected; bin b covers %s): %s" % (
                at, "bin 0 = (-256, -192], 32 = (-2^-8, 2^-8), 64 = [192, 256)", diff))
        check(h.get("underflow") == e.under, "%s: histogram.underflow %r, expected %d" % (at, h.get("underflow"), e.under))
        check(h.get("overflow") == e.over, "%s: histogram.overflow %r, expected %d" % (at, h.get("overflow"), e.over))


def compare_advice(where, case, advice, got_sites):
    if not check(isinstance(advice, list), "%s: no 'advice' array" % where):
        return
    for k, s in enumerate(case.sites):
        num_ = next((g.get("site") for g in got_sites if isinstance(g, dict) and g.get("line") == s.line
                     and g.get("call_lines") == s.call_lines), None)
        if num_ is None:
            continue
        mine = [a for a in advice if isinstance(a, dict) and a.get("site") == num_]
        e, rules = s.exp, []   # (rule, figure, words in the message, required)
        if s.kind == RELU_LIKE and len(e.silent) / s.units > 0.10:
            rules.append(("dead > 10%", len(e.silent) / s.units, ("leaky_relu", "prelu"), True))
        if s.kind == SATURATING and len(e.saturated) / s.units > 0.10:
            rules.append(("saturated > 10%", len(e.saturated) / s.units, (), True))
        op0 = s.op if isinstance(s.op, str) else s.op[0]
        if op0 in GATES and len(e.silent) / s.units > 0.5:
            # the doc says "a gate": for reglu (dead already) and glu (saturating) it may
            # be meant for the never-positive gates only: a NOTE, not a failure
            rules.append(("gate never positive > 50%", len(e.silent) / s.units, (), op0 not in ("reglu", "glu")))
        at = "%s: advice for site %d (%s, line %d)" % (where, num_, op0, s.line)
        free = list(mine)   # each rule its own entry (two rules may have the same figure)
        for rule, fig, words, required in rules:
            hit = [a for a in free if num(a.get("figure")) is not None and close(num(a.get("figure")), fig, 0, 1e-9)
                   and "fine" not in str(a.get("rule", "")).lower()]
            if words:
                hit = [a for a in hit if any(w in str(a.get("message", "")) for w in words)] or hit
            if not hit and not required:
                note("%s: no separate advice for the rule '%s' (figure %.4g): the doc's 'a gate whose activated "
                     "operand is never positive on more than half of its units' is read as never-positive gates "
                     "only" % (at, rule, fig))
                continue
            check(hit, "%s: expected the rule '%s' with figure %r, got %s" % (at, rule, fig, mine))
            for a in hit[:1]:
                free.remove(a)
                check(isinstance(a.get("rule"), str) and isinstance(a.get("message"), str) and a["message"],
                      "%s: advice without a rule or a message: %s" % (at, a))
                if words:
                    check(any(w in a.get("message", "") for w in words), "%s: the message %r names none of %s"
                          % (at, a.get("message"), words))
        rules = [r for r in rules if r[3]] or rules
        fine = [a for a in mine if "fine" in (str(a.get("rule", "")) + str(a.get("message", ""))).lower()]
        if rules:
            check(not fine, "%s: 'fine' although %s applies: %s" % (at, [r[0] for r in rules], mine))
        else:
            check(fine, "%s: no rule applies, expected 'fine', got %s" % (at, mine))


def strip_moments(rep):
    """The report without mean and std (compared separately)."""
    r = json.loads(json.dumps(rep))
    for g in r.get("sites", []):
        if isinstance(g, dict) and isinstance(g.get("preact"), dict):
            g["preact"].pop("mean", None)
            g["preact"].pop("std", None)
    return r


def first_diff(a, b, path="$"):
    if type(a) != type(b):
        return "%s: %r vs %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s: only in %s" % (path, k, "the first" if k in a else "the second")
            d = first_diff(a[k], b[k], path + "." + k)
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d elements" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if isinstance(a, float) and a != a and b != b:
        return None
    return None if a == b else "%s: %r vs %r" % (path, a, b)


def stats_json(case, *more):
    rc, out, err = run("stats", case.model_path, "-w", case.weights_path, *case.iargs, *case.extra, "--json", "-", *more)
    if not check(rc == 0, "%s: actc stats %s: exit status %d: %s" % (case.name, " ".join(more), rc, err.strip())):
        return None
    try:
        return json.loads(out)
    except ValueError as ex:
        check(False, "%s: actc stats %s --json -: stdout is not JSON (%s): %r" % (case.name, " ".join(more), ex, out[:300]))
        return None


def test_case(case):
    base = stats_json(case)
    if base is None:
        return None
    compare_report(case, base, "default")
    variants = [("--threads", "1"), ("--threads", "2")]
    if case.batch_variants:
        variants += [("--batch", "1"), ("--batch", "7"), ("--batch", "256"), ("--batch", "7", "--threads", "2")]
    scale = {s.line: s.exp.rms for s in case.sites}
    for v in variants:
        rep = stats_json(case, *v)
        if rep is None:
            continue
        d = first_diff(strip_moments(base), strip_moments(rep))
        check(d is None, "%s %s: the report differs from the default run's (beyond mean and std): %s"
              % (case.name, " ".join(v), d))
        for g0, g1 in zip(base.get("sites", []), rep.get("sites", [])):
            try:
                for f in ("mean", "std"):
                    a, b = num(g0["preact"][f]), num(g1["preact"][f])
                    sc = scale.get(g0.get("line"), 0.0)
                    check((a is None and b is None) or (a != a and b != b) or (a is not None and b is not None and
                                                  abs(a - b) <= 1e-12 * max(abs(a), abs(b), sc)),
                          "%s %s: site %s preact.%s %r, default run %r (tolerance 1e-12 x max(|v|, rms %.6g))"
                          % (case.name, " ".join(v), g0.get("site"), f, b, a, sc))
            except (KeyError, TypeError):
                pass
    if case.name == "builtins":   # --json FILE writes the same as --json -
        jf = os.path.join(case.dir, "report.json")
        rc, out, err = run("stats", case.model_path, "-w", case.weights_path, *case.iargs, "--json", jf)
        if check(rc == 0 and os.path.exists(jf), "%s: --json FILE: %d %s" % (case.name, rc, err.strip())):
            try:
                d = first_diff(strip_moments(base), strip_moments(json.load(open(jf))))
                check(d is None, "%s: --json FILE differs from --json -: %s" % (case.name, d))
            except ValueError as ex:
                check(False, "%s: --json FILE is not JSON: %s" % (case.name, ex))
        rc, out, err = run("stats", case.model_path, "-w", case.weights_path, *case.iargs)
        check(rc == 0 and out.strip(), "%s: actc stats without --json prints a report: %d %r" % (case.name, rc, err))
    return base


# ---------------------------------------------------------------- --plot

class HtmlScan(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.svgs = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs).get("src"))
        elif tag == "svg":
            self.svgs += 1


def test_plot(case, nsites):
    d = os.path.join(case.dir, "plots")
    rc, out, err = run("stats", case.model_path, "-w", case.weights_path, *case.iargs, "--plot", d)
    if not check(rc == 0, "%s: --plot %s: exit status %d: %s" % (case.name, d, rc, err.strip())):
        return
    svgs = sorted(f for f in os.listdir(d) if f.endswith(".svg"))
    check(len(svgs) >= nsites, "%s: --plot wrote %d SVG files for %d sites: %s" % (case.name, len(svgs), nsites, svgs))
    rsvg = shutil.which("rsvg-convert")
    if not rsvg:
        print("note: rsvg-convert (Debian package librsvg2-bin) not found: SVGs are parsed, not rendered")
    for f in svgs:
        path = os.path.join(d, f)
        try:
            root = ET.parse(path).getroot()
            check(root.tag in ("svg", "{http://www.w3.org/2000/svg}svg"), "%s: %s: root element %s" % (case.name, f, root.tag))
            check(root.get("viewBox") or (root.get("width") and root.get("height")),
                  "%s: %s: no viewBox and no width/height" % (case.name, f))
        except ET.ParseError as ex:
            check(False, "%s: %s is not well-formed XML: %s" % (case.name, f, ex))
            continue
        if rsvg:
            png = os.path.join(d, f[:-4] + ".png")
            p = subprocess.run([rsvg, "-o", png, path], capture_output=True, text=True)
            ok = p.returncode == 0 and os.path.exists(png) and os.path.getsize(png) > 0
            if ok:
                with open(png, "rb") as fp:
                    ok = fp.read(8) == b"\x89PNG\r\n\x1a\n"
            check(ok, "%s: rsvg-convert %s: %d %s" % (case.name, f, p.returncode, p.stderr.strip()))
    index = os.path.join(d, "index.html")
    if not check(os.path.exists(index), "%s: --plot wrote no index.html" % case.name):
        return
    text = open(index, encoding="utf-8").read()
    scan = HtmlScan()
    scan.feed(text)
    check(len(scan.imgs) + scan.svgs >= nsites, "%s: index.html shows %d images and %d inline SVGs for %d sites"
          % (case.name, len(scan.imgs), scan.svgs, nsites))
    for s in scan.imgs:
        check(s and not re.match(r"^[a-z]+:", s) and os.path.exists(os.path.join(d, s)),
              "%s: index.html: <img src=%r> is not a file of the directory" % (case.name, s))
    for m in re.finditer(r"<svg\b.*?</svg>", text, re.S):
        try:
            ET.fromstring(m.group(0))
        except ET.ParseError as ex:
            check(False, "%s: index.html: an inline <svg> is not well-formed: %s" % (case.name, ex))
    try:
        ET.fromstring(text)
    except ET.ParseError:
        pass   # HTML need not be XML; its SVGs must


# ---------------------------------------------------------------- bad inputs

def test_errors(cases):
    def expect_error(argv, needles, what):
        rc, out, err = run(*argv)
        check(rc == 1, "%s: exit status %d, expected 1 (%s)" % (what, rc, err.strip()))
        check(any(n in err for n in needles), "%s: expected one of %r in %r" % (what, needles, err))

    d = os.path.join(tmp, "errors")
    os.makedirs(d, exist_ok=True)
    b, two, cb = cases["builtins"], cases["two"], cases["constbatch"]
    x15 = os.path.join(d, "x15.npy")
    write_npy(x15, (5, 15), [0.5] * 75)
    expect_error(["stats", b.model_path, "-w", b.weights_path, "-i", x15], ["input 'x'"], "stats: -i of the wrong width")
    x5, z4 = os.path.join(d, "x5.npy"), os.path.join(d, "z4.npy")
    write_npy(x5, (5, 16), [0.5] * 80)
    write_npy(z4, (4, 8), [0.5] * 32)
    expect_error(["stats", two.model_path, "-w", two.weights_path, "-i", "x=" + x5, "-i", "z=" + z4],
                 ["'z'", "'x'"], "stats: inputs with different row counts")
    x0 = os.path.join(d, "x0.npy")
    write_npy(x0, (0, 16), [])
    expect_error(["stats", b.model_path, "-w", b.weights_path, "-i", x0], ["'x'", "rows", "no samples"],
                 "stats: an input with zero rows")
    expect_error(["stats", cb.model_path, "-w", cb.weights_path, *cb.iargs, "--batch", "4"], ["--batch"],
                 "stats: --batch with a model of constant batch")
    # as for bench: the value is named (--threads 0 is the default: OpenMP's choice)
    expect_error(["stats", b.model_path, "-w", b.weights_path, *b.iargs, "--batch", "0"], ["--batch", "'0'"],
                 "stats: --batch 0")
    expect_error(["stats", b.model_path, "-w", b.weights_path, *b.iargs, "--threads", "-1"], ["--threads", "'-1'"],
                 "stats: --threads -1")
    regular = os.path.join(d, "a-file")
    open(regular, "w").close()
    expect_error(["stats", b.model_path, "-w", b.weights_path, *b.iargs, "--plot", os.path.join(regular, "plots")],
                 [os.path.join(regular, "plots"), regular], "stats: --plot under a regular file")
    expect_error(["stats", b.model_path, "-w", b.weights_path, *b.iargs, "--json", os.path.join(regular, "r.json")],
                 [os.path.join(regular, "r.json")], "stats: --json under a regular file")
    expect_error(["stats", b.model_path, "-w", b.weights_path], ["-i", "input"], "stats: no input")
    p = subprocess.run([actc, "stats", "--help"], capture_output=True, text=True)
    check(p.returncode == 0 and "usage" in p.stdout.lower() and "stats" in p.stdout,
          "actc stats --help: %d %r" % (p.returncode, p.stderr))


# ---------------------------------------------------------------- main

def main():
    oracle_self_test()
    cases = [case_dead_units("relu"), case_dead_units("leaky"), case_digits(), case_builtins(), case_gates(),
             case_user(), case_naming(), case_edges(), case_special(), case_two_inputs(), case_const_batch(),
             case_select()]
    cases = [c for c in cases if c is not None]
    ready = [c for c in cases if prepare(c)]
    if ORACLE_ONLY:
        for c in ready:
            describe(c)
    else:
        p = subprocess.run([actc, "--help"], capture_output=True, text=True)
        if not check(re.search(r"^\s+stats FILE", p.stdout, re.M), "actc stats is not available (not in actc --help)"):
            for c in ready:
                describe(c)
        else:
            reports = {}
            for c in ready:
                before = failures
                base = test_case(c)
                if isinstance(base, dict):
                    reports[c.name] = base
                if base is None or failures > before:
                    describe(c)
            by = {c.name: c for c in ready}
            if all(n in by for n in ("builtins", "two", "constbatch")):
                test_errors(by)
            for n in ("dead_units/relu", "builtins", "user"):
                if n in by and n in reports:
                    test_plot(by[n], len(reports[n].get("sites", [])))
    keep = failures or "--keep" in flags
    if keep:
        print("files in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("stats: %s%s" % ("all passed" if failures == 0 else "%d failures" % failures,
                           " (oracle only)" if ORACLE_ONLY else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
