#!/usr/bin/env python3
"""int8 weights on the PyTorch conformance fixtures (docs/accuracy.md §7):
every output of every fixture, run with `actc run --weights int8`, must lie
within a bound of the true output of the f32-weight model, computed per
output by propagating error radii through the model.  Standard library only
(the fixture readers are run_conformance.py's).

usage: run_int8.py ACTC [--fixtures DIR] [-k SUBSTRING] [-j N] [--cpu NAME]

Per case, with a = actc's int8 output and y64 the fixture's float64
reference of the f32-weight model (mpmath for the act class, PyTorch's
float64 run otherwise):

  1. |a - y64| <= R, R the output's radius below;
  2. the evaluator here, run on the f32 weights in float64, reproduces y64
     (|mid - y64| <= 1e-9 (1 + |y64|)): the radii are taken around the
     right values;
  3. against `actc run --weights int8 --reference` (the dequantised model
     in float64, written as f32: half an ulp more), the same propagation
     without the quantisation term bounds |a - ref|: the kernels' own error,
     told apart from the quantisation's (the evaluator on w~ reproduces ref
     within 2^-23 (1 + |ref|), the f32 rounding of the file).

The radius of a value v is a bound on |v_actc - v_true|, carried forward
(u = 2^-24, K the reduction length, s_{j,g} the scale of unit j's group g of
32 consecutive K indices, q the quantised weight, w~ = fl(q s)):

  dense      y_j = sum_k x_k w_jk + b_j:
             R_j = sum_k |w~_jk| r_k                       (the input's error)
                 + sum_g (s_jg / 2) sum_{k in g} (|x_k| + r_k)   (|w~ - w| <= s/2)
                 + 1.001 (K + 1) u (sum_k (|x_k| + r_k) |w~_jk| + |b_j|)
                                                            (the f32 sum, gamma_{K+1})
  activation R' = L R + B ulp(|f| + L R), L the activation's Lipschitz
             constant (LIPSCHITZ: sup |f'|, measured on a 1e-4 grid over
             [-40, 40] and rounded up), B its ulp bound (docs/accuracy.md
             §1); plus the jump where the activation is discontinuous and the
             interval [z - R, z + R] holds the discontinuity (hardshrink at
             +-lambda, softplus at beta z = threshold)
  gate       act(a) b: R = |act(a)| r_b + |b| r_a' + r_a' r_b + u |act(a) b|
  add        R = r_x + r_y + u (|x + y| + r_x + r_y)
  rmsnorm    R_i = (D + 10) u |n_i|  (the mean of D squares, a square root,
             three products: at most (D/2 + 5) u relative, doubled)
  layernorm  R_i = (D + 10) u (|n_i - b_i| + |w_i| mean|x| / sigma) + u |n_i|
             (the mean's absolute error u sum|x| relative to sigma, and the
             variance's, doubled)
  softmax    R_i = p_i (exp(2 max_j r_j) - 1) + (C + 4) u p_i;
  log_softmax R_i = 2 max_j r_j + (C + 4) u (|l_i| + 1)

The norms' inputs are the model inputs (exact), so their radii are only f32
rounding and are 10^3 times below the quantisation's in every case here.

Exit status: 0 if every check passes, 1 otherwise (2: bad usage).
"""
import re, json
import math
import os
import struct
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_conformance as rc  # noqa: E402  (read_npy, ulp32, TOL, ulp_bound)

U = 2.0 ** -24
GROUP = 32  # ACTRT_I8_GROUP, the contract of docs/language.md §7.2.1

# sup |f'| over the reals (measured on a 1e-4 grid over [-40, 40], rounded up;
# the parameters are the fixtures')
LIPSCHITZ = {
    "relu": 1, "relu6": 1, "leaky_relu": 1, "prelu": 1, "hardtanh": 1, "identity": 1,
    "softshrink": 1, "hardshrink": 1, "elu": 1, "celu": 1, "softplus": 1, "softsign": 1,
    "tanh": 1, "logsigmoid": 1, "tanhshrink": 1,
    "selu": 1.7581, "gelu": 1.1290, "gelu_tanh": 1.1290, "gelu_approx_tanh": 1.1290,
    "silu": 1.0999, "swish": 1.0999, "quick_gelu": 1.0999, "mish": 1.0885,
    "sigmoid": 0.25, "hardsigmoid": 1 / 6, "hardswish": 1.5,
}


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def read_safetensors(path):
    """-> {name: (shape, list of floats)} (F32 only: the fixtures')"""
    with open(path, "rb") as f:
        d = f.read()
    n = struct.unpack("<Q", d[:8])[0]
    hdr = json.loads(d[8:8 + n])
    out = {}
    for name, t in hdr.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise ValueError("%s: %s is %s" % (path, name, t["dtype"]))
        a, b = t["data_offsets"]
        out[name] = (tuple(t["shape"]), list(struct.unpack("<%df" % ((b - a) // 4), d[8 + n + a:8 + n + b])))
    return out


class DenseLayer:
    """an nn.Linear's weight [N, K] with its int8 scales and dequantised values w~; the mid is
    x w + b and the radius includes the quantisation, or (dequantised) the mid is x w~ + b and
    the radius is the f32 arithmetic's alone"""

    def __init__(self, shape, w, bias=None, dequantised=False, stored=None):
        """stored: the f32 weights the runtime quantises when they differ from w (a folded weight:
        w exact, stored = w rounded to f32; the radius adds U |w| per weight for it)"""
        self.n, self.k = shape
        self.dq = dequantised
        self.w = [w[j * self.k:(j + 1) * self.k] for j in range(self.n)]
        self.b = bias
        self.extra = stored is not None
        self.s, self.wq = [], []
        for row in ([stored[j * self.k:(j + 1) * self.k] for j in range(self.n)] if stored else self.w):
            sc, wq = [], []
            for g in range(0, self.k, GROUP):
                m = max(abs(v) for v in row[g:g + GROUP])
                s = max(f32(m / 127), 2.0 ** -149) if m > 0 else 1.0
                sc.append(s)
                for v in row[g:g + GROUP]:
                    q = max(-127.0, min(127.0, float(round(v / s))))  # round(): nearest, ties to even
                    wq.append(f32(q * s))
            self.s.append(sc)
            self.wq.append(wq)

    def __call__(self, x, r):
        """one row: (mid, radius) -> (mid, radius)"""
        mid, rad = [], []
        for j in range(self.n):
            w, wq, sc = self.w[j], self.wq[j], self.s[j]
            b = self.b[j] if self.b else 0.0
            mid.append(math.fsum(xk * wk for xk, wk in zip(x, wq if self.dq else w)) + b)
            prop = sum(abs(wq[k]) * r[k] for k in range(self.k))
            quant = 0.0 if self.dq else sum((sc[k // GROUP] / 2 + (U * abs(w[k]) if self.extra else 0.0))
                                            * (abs(x[k]) + r[k]) for k in range(self.k))
            mag = sum((abs(x[k]) + r[k]) * abs(wq[k]) for k in range(self.k)) + abs(b)
            rad.append(prop + quant + 1.001 * (self.k + 1) * U * mag)
        return mid, rad


def sigmoid(t):
    return 1 / (1 + math.exp(-t)) if t > -700 else 0.0


FUNCS = {
    "sigmoid": sigmoid,
    "relu": lambda t: max(t, 0.0),
    "identity": lambda t: t,
    "gelu": lambda t: 0.5 * t * (1 + math.erf(t / math.sqrt(2))),
    "gelu_tanh": lambda t: 0.5 * t * (1 + math.tanh(math.sqrt(2 / math.pi) * (t + 0.044715 * t ** 3))),
    "silu": lambda t: t * sigmoid(t),
}


def activate(name, zrf, jumps=()):
    """the radii through an activation: zrf = (pre-activation, its radius, the output's mid) per unit;
    jumps = (|z| of a discontinuity, its height)"""
    L = LIPSCHITZ[name]
    B = rc.ulp_bound(name)
    out = []
    for zi, ri, fi in zrf:
        R = L * ri + B * rc.ulp32(abs(fi) + L * ri)
        for at, jump in jumps:
            if abs(abs(zi) - at) <= ri:
                R += jump
        out.append(R)
    return out


def gate(act, a, ra, b, rb):
    f = FUNCS[act]
    mid, rad = [], []
    for ai, rai, bi, rbi in zip(a, ra, b, rb):
        fa = f(ai)
        raf = LIPSCHITZ[act] * rai + rc.ulp_bound(act) * rc.ulp32(abs(fa) + LIPSCHITZ[act] * rai)
        mid.append(fa * bi)
        rad.append(abs(fa) * rbi + abs(bi) * raf + raf * rbi + U * abs(fa * bi))
    return mid, rad


def add(x, rx, y, ry):
    return ([a + b for a, b in zip(x, y)],
            [p + q + U * (abs(a + b) + p + q) for a, b, p, q in zip(x, y, rx, ry)])


def rmsnorm(x, w, eps, rx=None):
    """the norm's f32 rounding, plus (rx: the input's radii) the first-order propagation
    |dn_i| <= |g_i| / s (r_i + |x_i| sum_j |x_j| r_j / (d s^2)), doubled for the second order"""
    d = len(x)
    inv = 1 / math.sqrt(math.fsum(v * v for v in x) / d + eps)
    n = [v * inv * g for v, g in zip(x, w)]
    r = [(d + 10) * U * abs(v) for v in n]
    if rx:
        c = math.fsum(abs(v) * q for v, q in zip(x, rx)) * inv * inv / d
        r = [ri + 2 * abs(g) * inv * (q + abs(v) * c) for ri, v, g, q in zip(r, x, w, rx)]
    return n, r


def layernorm(x, w, b, eps, rx=None):
    """as rmsnorm, on x - mean: |dn_i| <= |g_i| / sig (r_i + rbar + |x_i - mu| sum_j |x_j - mu| (r_j + rbar)
    / (d sig^2)), doubled for the second order"""
    d = len(x)
    mu = math.fsum(x) / d
    var = math.fsum((v - mu) ** 2 for v in x) / d
    sig = math.sqrt(var + eps)
    n = [(v - mu) / sig * g + c for v, g, c in zip(x, w, b)]
    ma = math.fsum(abs(v) for v in x) / d
    r = [(d + 10) * U * (abs(v - c) + abs(g) * ma / sig) + U * abs(v) for v, g, c in zip(n, w, b)]
    if rx:
        rbar = math.fsum(rx) / d
        c = math.fsum(abs(v - mu) * (q + rbar) for v, q in zip(x, rx)) / (d * sig * sig)
        r = [ri + 2 * abs(g) / sig * (q + rbar + abs(v - mu) * c) for ri, v, g, q in zip(r, x, w, rx)]
    return n, r


def softmax(z, r, log):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = math.fsum(e)
    R = max(r)
    c = len(z)
    if log:
        ls = [v - m - math.log(s) for v in z]
        return ls, [2 * R + (c + 4) * U * (abs(v) + 1) for v in ls]
    p = [v / s for v in e]
    return p, [v * math.expm1(2 * R) + (c + 4) * U * v for v in p]


# ---------------------------------------------------------------------------
# the fixtures' models, one row at a time: row -> (mid, radius)

def act_params(src):
    """the activation's name and keyword arguments in an act-class fixture's return line"""
    line = next(ln for ln in src.splitlines() if ln.strip().startswith("return"))
    name = line.split("return", 1)[1].strip().split("(", 1)[0]
    kw = {}
    for part in line.split(")", 1)[1].split(","):
        if "=" in part:
            k, v = part.split("=")
            try:
                kw[k.strip()] = float(v.strip().rstrip(")"))
            except ValueError:
                pass
    return name, kw


def per_feature(t, kind, name, eps):
    """(s, t) of an affine or batchnorm layer, in float64"""
    w, b = t[name + ".weight"][1], t[name + ".bias"][1]
    if kind == "affine":
        return list(w), list(b)
    mean, var = t[name + ".running_mean"][1], t[name + ".running_var"][1]
    s = [wi / math.sqrt(vi + eps) for wi, vi in zip(w, var)]
    return s, [bi - mi * si for bi, mi, si in zip(b, mean, s)]


def tabular_model(t, src):
    """a chain of dense / relu / swiglu pairs / affine / batchnorm (the preprocessing fixtures),
    with each affine folded as pass_fold_affine folds it: into the dense layer before it (not yet
    folded), else the one(s) after it, else kept as x * s + t; folded weights computed in float64
    and rounded to f32 once, as the runtime does (runtime/fold.c)"""
    steps = []
    for line in src.splitlines():
        m = re.match(r"\s+h\d+ = (\w+)\((.*)\)$", line)
        if not m:
            continue
        op, args = m.groups()
        names = re.findall(r'name = "([^"]+)"', args)
        eps = re.search(r"eps = ([0-9.e+-]+)", args)
        steps.append({"op": op, "names": names, "eps": float(eps.group(1)) if eps else 1e-5,
                      "bias": "bias = false" not in args})
    layers = []  # [op, dense names]: dense: [w, b] lists per projection, mutable for folding
    for st in steps:
        if st["op"] in ("dense", "swiglu"):
            ps = st["names"]
            layers.append({"op": st["op"], "w": [list(t[n + ".weight"][1]) for n in ps],
                           "shape": [t[n + ".weight"][0] for n in ps],
                           "b": [list(t[n + ".bias"][1]) if n + ".bias" in t else None for n in ps], "folded": False})
        elif st["op"] in ("affine", "batchnorm"):
            layers.append({"op": "affine", "st": per_feature(t, st["op"], st["names"][0], st["eps"])})
        else:
            layers.append({"op": st["op"]})
    out = []
    for i, L in enumerate(layers):
        if L["op"] != "affine":
            out.append(L)
            continue
        s, sh = L["st"]
        prev = out[-1] if out else None
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if prev and prev["op"] == "dense" and not prev["folded"]:
            (n, k), W, b = prev["shape"][0], prev["w"][0], prev["b"][0]
            prev["w"][0] = [s[j] * W[j * k + c] for j in range(n) for c in range(k)]
            prev["b"][0] = [s[j] * (b[j] if b else 0.0) + sh[j] for j in range(n)]
            prev["folded"] = True
        elif nxt and nxt["op"] in ("dense", "swiglu") and not nxt["folded"]:
            for p in range(len(nxt["w"])):
                (n, k), W, b = nxt["shape"][p], nxt["w"][p], nxt["b"][p]
                nxt["b"][p] = [math.fsum([b[j] if b else 0.0] + [W[j * k + c] * sh[c] for c in range(k)])
                               for j in range(n)]
                nxt["w"][p] = [W[j * k + c] * s[c] for j in range(n) for c in range(k)]
            nxt["folded"] = True
        else:
            out.append({"op": "keep", "s": s, "t": sh})
    for L in out:  # the runtime stores a folded weight rounded to f32 once, then quantises it
        if "w" in L:
            L["dense"] = [DenseLayer(sh_, w, b, False, [f32(v) for v in w] if L["folded"] else None)
                          for sh_, w, b in zip(L["shape"], L["w"], L["b"])]

    def run(x, _):
        h, r = list(x), [0.0] * len(x)
        for L in out:
            if L["op"] == "dense":
                h, r = L["dense"][0](h, r)
            elif L["op"] == "swiglu":
                a, ra = L["dense"][0](h, r)
                b, rb = L["dense"][1](h, r)
                h, r = gate("silu", a, ra, b, rb)
            elif L["op"] == "relu":
                r = activate("relu", zip(h, r, [max(v, 0.0) for v in h]))
                h = [max(v, 0.0) for v in h]
            else:  # x * s + t in f32: s, t rounded once each, two roundings (or one fma)
                y = [v * si + ti for v, si, ti in zip(h, L["s"], L["t"])]
                r = [abs(si) * ri + 3 * U * (abs(v * si) + abs(ti) + abs(si) * ri)
                     for v, si, ti, ri in zip(h, L["s"], L["t"], r)]
                h = y
        return h, r
    return run


def model_for(case, t, src, dq):
    """-> run(x row, reference row) -> (mid, radius); dq: the dequantised model (Dense)"""
    name, cls = case["name"], case["class"]

    def Dense(shape, w, bias=None):
        return DenseLayer(shape, w, bias, dq)
    if cls == "act":
        fc = Dense(t["fc.weight"][0], t["fc.weight"][1], t["fc.bias"][1])
        act, kw = act_params(src)
        jumps = []
        if act == "hardshrink":
            jumps.append((kw["lambd"], kw["lambd"]))
        if act == "softplus":
            beta, th = kw["beta"], kw["threshold"]
            # linear above beta z = threshold (PyTorch's); |z| near it also covers z < 0: conservative
            jumps.append((th / beta, abs(math.log1p(math.exp(th)) / beta - th / beta)))

        def run(x, refrow):
            z, r = fc(x, [0.0] * len(x))
            # the reference row is f(z) (y64: the fixtures' pre-activations are exact in f32, and
            # f is mpmath's; dequantised: actc's float64 reference interpreter on x w~ + b)
            return refrow, activate(act, zip(z, r, refrow), jumps)
        return run
    if cls == "glu" and name != "glu_split":
        w, v, w2 = (Dense(*t[k]) for k in ("w.weight", "v.weight", "w2.weight"))
        act = {"ffn_glu": "sigmoid", "ffn_bilinear": "identity", "ffn_reglu": "relu", "ffn_geglu": "gelu",
               "ffn_geglu_tanh": "gelu_tanh", "ffn_swiglu": "silu"}[name]

        def run(x, _):
            zero = [0.0] * len(x)
            a, ra = w(x, zero)
            b, rb = v(x, zero)
            return w2(*gate(act, a, ra, b, rb))
        return run
    if name == "glu_split":
        proj = Dense(t["proj.weight"][0], t["proj.weight"][1], t["proj.bias"][1])
        out = Dense(t["out.weight"][0], t["out.weight"][1], t["out.bias"][1])

        def run(x, _):
            z, r = proj(x, [0.0] * len(x))
            h = len(z) // 2
            # nn.GLU: a * sigmoid(b), a the first half: the gate is sigmoid(b) * a
            return out(*gate("sigmoid", z[h:], r[h:], z[:h], r[:h]))
        return run
    if name == "llama_mlp":
        p = "layers.0."
        g, u_, d = (Dense(*t[p + "mlp.%s_proj.weight" % k]) for k in ("gate", "up", "down"))
        nw = t[p + "post_attention_layernorm.weight"][1]

        def run(x, _):
            n, rn = rmsnorm(x, nw, 1e-6)
            a, ra = g(n, rn)
            b, rb = u_(n, rn)
            y, ry = d(*gate("silu", a, ra, b, rb))
            return add(x, [0.0] * len(x), y, ry)
        return run
    if name.startswith("llama_stack") or name.startswith("llama_blocks"):
        layers = int(name.lstrip("abcdefghijklmnopqrstuvwxyz_"))
        per = []
        for i in range(layers):
            p = "model.layers.%d." % i
            per.append(([Dense(*t[p + "mlp.%s_proj.weight" % k]) for k in ("gate", "up", "down")],
                        t[p + "post_attention_layernorm.weight"][1]))
        fw = t["model.norm.weight"][1]

        def run(x, _):
            h, rh = x, [0.0] * len(x)
            for (g, u_, d), nw in per:
                n, rn = rmsnorm(h, nw, 1e-6, rh)
                a, ra = g(n, rn)
                b, rb = u_(n, rn)
                y, ry = d(*gate("silu", a, ra, b, rb))
                h, rh = add(h, rh, y, ry)
            return rmsnorm(h, fw, 1e-6, rh)
        return run
    if name.startswith("bert_ffn_stack"):
        layers = int(name[len("bert_ffn_stack"):])
        per = []
        for i in range(layers):
            p = "encoder.layer.%d." % i
            per.append((Dense(t[p + "intermediate.dense.weight"][0], t[p + "intermediate.dense.weight"][1],
                              t[p + "intermediate.dense.bias"][1]),
                        Dense(t[p + "output.dense.weight"][0], t[p + "output.dense.weight"][1],
                              t[p + "output.dense.bias"][1]),
                        t[p + "output.LayerNorm.weight"][1], t[p + "output.LayerNorm.bias"][1]))

        def run(x, _):
            h, rh = x, [0.0] * len(x)
            for up, down, lw, lb in per:
                z, rz = up(h, rh)
                a = [FUNCS["gelu"](v) for v in z]
                ra = activate("gelu", zip(z, rz, a))
                y, ry = down(a, ra)
                s_, rs = add(h, rh, y, ry)
                h, rh = layernorm(s_, lw, lb, 1e-12, rs)
            return h, rh
        return run
    if name == "geglu_fused":
        gu, d = Dense(*t["mlp.gate_up_proj.weight"]), Dense(*t["mlp.down_proj.weight"])
        nw, nb = t["norm.weight"][1], t["norm.bias"][1]

        def run(x, _):
            n, rn = layernorm(x, nw, nb, 1e-5)
            z, r = gu(n, rn)
            h = len(z) // 2
            y, ry = d(*gate("gelu", z[:h], r[:h], z[h:], r[h:]))
            return add(x, [0.0] * len(x), y, ry)
        return run
    if cls == "head":
        hd = Dense(t["head.weight"][0], t["head.weight"][1], t["head.bias"][1])
        nw, nb = t["norm.weight"][1], t["norm.bias"][1]

        def run(x, _):
            n, rn = layernorm(x, nw, nb, 1e-5)
            return softmax(*hd(n, rn), log=name == "head_log_softmax")
        return run
    if name == "tied_layers":  # enc twice, mix in every step: one quantised copy of each
        enc, mix, hd = (Dense(t[k + ".weight"][0], t[k + ".weight"][1], t[k + ".bias"][1])
                        for k in ("enc", "mix", "head"))
        steps = int(re.search(r"for i in 0 \.\. (\d+)", src).group(1))

        def act(f, z, r):
            a = [FUNCS[f](v) for v in z]
            return a, activate(f, zip(z, r, a))

        def run(x, _):
            h, rh = act("relu", *enc(x, [0.0] * len(x)))
            h, rh = act("gelu", *enc(h, rh))
            for _ in range(steps):
                h, rh = add(h, rh, *act("silu", *mix(h, rh)))
            return hd(h, rh)
        return run
    if re.search(r"\b(batchnorm|affine)\(", src):
        # dequantised: `actc run --reference --weights int8` dequantises the checkpoint's matrices
        # before folding, while the kernels quantise the folded ones: no f32-only bound between them
        return None if dq else tabular_model(t, src)
    raise KeyError("no int8 bound model for case '%s'" % name)


def run_case(case, actc, fx, tmp, cpu):
    name = case["name"]
    base = os.path.join(fx, name)
    res = {"name": name, "class": case["class"], "fail": []}
    try:
        xshape, x = rc.read_npy(base + ".x.npy")
        _, y64 = rc.read_npy(base + ".y64.npy")
        t = read_safetensors(base + ".safetensors")
        with open(base + ".act") as f:
            src = f.read()
        run, run_dq = model_for(case, t, src, False), model_for(case, t, src, True)
        if run_dq is None:
            res["skipped_ref"] = True
    except (OSError, ValueError, KeyError, StopIteration) as e:
        res["fail"].append("fixture: %s" % e)
        return res
    extra = ["--cpu", cpu] if cpu else []
    outs = {}
    for tag, more in (("int8", []), ("ref", ["--reference"])):
        path = os.path.join(tmp, "%s.%s.npy" % (name, tag))
        p = subprocess.run([actc, "run", base + ".act", "-w", base + ".safetensors", "-i", base + ".x.npy",
                            "-o", path, "--weights", "int8", *more, *extra], capture_output=True, text=True)
        if p.returncode != 0:
            res["fail"].append("actc run --weights int8 %s exited %d:\n%s" % (" ".join(more), p.returncode,
                                                                           p.stdout + p.stderr))
            return res
        outs[tag] = rc.read_npy(path)[1]
    a, ref = outs["int8"], outs["ref"]
    rows, k = xshape
    n = len(y64) // rows
    for tag, model, truth in (("y64", run, y64), ("ref", run_dq, ref)):
        if model is None:  # no bound against the reference (tabular_model)
            res[tag] = (0.0, 0.0, 0.0)
            continue
        worst, worst_mid, err_max = 0.0, 0.0, 0.0
        for i in range(rows):
            mid, rad = model(x[i * k:(i + 1) * k], truth[i * n:(i + 1) * n])
            for j in range(n):
                t_, got = truth[i * n + j], a[i * n + j]
                worst_mid = max(worst_mid, abs(mid[j] - t_) / (1 + abs(t_)))
                e = abs(got - t_)
                err_max = max(err_max, e)
                # the references' own error: float64 (y64), or float64 rounded to the f32 of the
                # output file (ref: `actc run` writes f32)
                R = rad[j] + (1e-12 * abs(t_) if tag == "y64" else 0.5 * rc.ulp32(t_))
                if not e <= R:  # NaN fails
                    if len(res["fail"]) < 5:
                        res["fail"].append("row %d col %d: |int8 - %s| = %.3g > bound %.3g (actc %.9g, %s %.17g)"
                                           % (i, j, tag, e, R, got, tag, t_))
                else:
                    worst = max(worst, e / R if R > 0 else 0.0)
        if worst_mid > (1e-9 if tag == "y64" else 2 ** -23):
            res["fail"].append("the bound's evaluator disagrees with %s by %.3g: its radii are not around it"
                               % (tag, worst_mid))
        res[tag] = (err_max, worst, worst_mid)
    return res


def main(argv):
    opts = {"fixtures": os.path.join(HERE, "fixtures"), "k": "", "j": os.cpu_count() or 2, "cpu": None}
    args = []
    it = iter(argv)
    for a in it:
        if a in ("--fixtures", "-k", "-j", "--cpu"):
            opts[a.lstrip("-")] = next(it, None)
        elif a.startswith("-"):
            print(__doc__)
            return 2
        else:
            args.append(a)
    if len(args) != 1 or opts["fixtures"] is None or opts["k"] is None or opts["j"] is None:
        print(__doc__)
        return 2
    actc = args[0]
    fx = opts["fixtures"]
    with open(os.path.join(fx, "MANIFEST.json")) as f:
        cases = [c for c in json.load(f)["cases"] if opts["k"] in c["name"]]
    tmp = tempfile.mkdtemp(prefix="actc-int8-")
    with ThreadPoolExecutor(max_workers=max(1, int(opts["j"]))) as ex:
        results = list(ex.map(lambda c: run_case(c, actc, fx, tmp, opts["cpu"]), cases))
    print("%-18s %-5s %11s %9s %10s %11s %9s %10s" % ("case", "class", "|a-y64|", "/bound", "eval", "|a-ref|",
                                                       "/bound", "eval"))
    failures = 0
    for r in results:
        if "ref" in r and r.get("skipped_ref"):
            print("%-18s %-5s %11.3g %9.3f %10.2g %32s" % (r["name"], r["class"], *r["y64"],
                                                           "(folded: no bound vs --reference)"))
        elif "ref" in r:
            print("%-18s %-5s %11.3g %9.3f %10.2g %11.3g %9.3f %10.2g" % (r["name"], r["class"], *r["y64"],
                                                                         *r["ref"]))
        for m in r["fail"]:
            print("FAIL: %s: %s" % (r["name"], m))
        failures += len(r["fail"]) > 0
    if not results:
        failures += 1
        print("FAIL: no case selected")
    print("int8 conformance: %d cases, %s" % (len(results), "all passed" if not failures else "%d failed" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
