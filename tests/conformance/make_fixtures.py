#!/usr/bin/python3
"""Build the PyTorch conformance fixtures of tests/conformance/ (README.md).

usage: make_fixtures.py [--out DIR]      write the fixtures (default: fixtures/ next to this script)
       make_fixtures.py --simulate [N]   the tolerance derivation of the glu/block/head classes:
                                          N random f32 summation orders per case (default 1000)
       make_fixtures.py --check [DIR]    regenerate into a temporary directory and compare with
                                          the committed fixtures (default: fixtures/): sources,
                                          weights, inputs and the manifest byte for byte, PyTorch's
                                          outputs within the test's bound (run_conformance.py)

Needs python3-torch and python3-numpy (and mpmath, which python3-torch pulls in through
python3-sympy).  Everything random comes from numpy's legacy RandomState seeded with the case
name, so the weights and inputs do not depend on the torch version or on the order of the cases;
only PyTorch's outputs (NAME.y.npy) may change from one machine or version to another, and
`--check` requires them to stay within the bound the C-side test applies.

Per case NAME (all in one directory, MANIFEST.json lists them):
  NAME.act           the model in actc's language (docs/language.md)
  NAME.safetensors   the module's state_dict, PyTorch's names, F32 (written by hand below)
  NAME.x.npy         the input, f32 [7, features]
  NAME.y.npy         PyTorch's output, f32 (the module run in float32)
  NAME.y64.npy       a float64 reference (see below)

Classes (the tolerance of each is derived in run_conformance.py):
  act    nn.Linear + one builtin activation.  The weights are nn.Linear's default init rounded
         to multiples of 2^-7 and the inputs are rounded to multiples of 2^-6 (|x| <= 64), so
         every partial sum of x W^T + b is a multiple of 2^-13 below 2^11 -- exact in f32 in any
         summation order, with or without FMA.  PyTorch and actc then see bit-identical
         pre-activations (asserted here for PyTorch; the `identity` case checks it for actc) and
         the comparison measures the activation alone.  Rows are scaled from 0.05 to 28 so the
         pre-activations reach about -40..40.  y64 is the true value of PyTorch's definition,
         computed with mpmath at 50 digits from the exact pre-activation (parameters rounded to
         f32, as PyTorch's f32 kernels and docs/accuracy.md do), rounded to f64 -- not PyTorch's
         own float64 kernels, which lose the GELU tails (0.5x(1+erf) cancels: 0 instead of
         -2e-32 at x = -12).
  glu    two-projection FFNs of Shazeer 2020 (bias=False): FFN_act(x) = (act(x W) * x V) W2,
         and the one-operand nn.GLU over a single projection.  Default nn.Linear init, in f32;
         input rows N(0, 1) times 0.001 .. 8 (GLU_ROW_SCALES).
  block  LLaMA MLP (RMSNorm, gate/up/down_proj, SwiGLU, residual) and a GEGLU block with a
         fused gate_up_proj and torch.chunk.
  head   LayerNorm + Linear + softmax / log_softmax.  block and head: input rows N(0, 1) times
         0.001 .. 20 (ROW_SCALES), LayerNorm / RMSNorm gains U(0.5, 1.5) (heads: U(2, 6), so
         that softmax is peaked), LayerNorm biases U(-0.5, 0.5).
  For glu/block/head, y64 is the same module run by PyTorch in float64 on the same (f32) weights
  and inputs.
"""
import argparse
import filecmp
import json
import math
import os
import shutil
import struct
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ next to the fixtures
import run_conformance as rc  # noqa: E402  (the bounds and the comparison, shared with the test)

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from mpmath import mp
except ImportError as e:  # pragma: no cover
    print("make_fixtures.py: needs python3-torch, python3-numpy and python3-mpmath (%s)" % e)
    # 77: ctest's SKIP_RETURN_CODE for the optional regeneration check
    sys.exit(77 if "--check" in sys.argv else 1)

BATCH = 7
# Row scales of the act-class inputs: the pre-activations' standard deviation is about
# 0.58 * scale (nn.Linear's init), so the last rows reach -40..40 and the first ones probe 0.
ACT_ROW_SCALES = [0.05, 0.4, 1.0, 2.5, 6.0, 14.0, 28.0]
# Row scales of the other classes' inputs (x ~ N(0, 1) per row times the scale).
# The first row is tiny so RMSNorm's and LayerNorm's eps matter (mean x^2 ~ 1e-6).
ROW_SCALES = [0.001, 0.1, 0.5, 1.0, 2.0, 5.0, 20.0]
# The GLU FFNs: gate pre-activations up to about +-15 (GELU's tail, where PyTorch's f32 GELU
# has no correct digit), but not x20: products of two x20 projections make the f32
# summation noise of the output projection swamp a GELU-vs-GELU-tanh mix-up (5e-4).
GLU_ROW_SCALES = [0.001, 0.1, 0.5, 1.0, 2.0, 4.0, 8.0]
X_GRID = 2.0 ** -6   # act class: inputs are multiples of X_GRID, |x| <= 64
W_GRID = 2.0 ** -7   # act class: weights and biases ... of W_GRID (biases of 2^-13)
Z_GRID = X_GRID * W_GRID


def f32(v):
    """v rounded to the nearest f32, as a Python float."""
    return float(np.float32(v))


# ---------------------------------------------------------------------------
# safetensors and npy writers

def write_safetensors(path, state):
    """state: ordered {name: tensor}.  8-byte little-endian header length, the JSON header
    (padded with spaces to a multiple of 8, as the safetensors library does), the data."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in state.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def save_npy(path, a, dtype):
    np.save(path, np.ascontiguousarray(a, dtype=dtype), allow_pickle=False)


# ---------------------------------------------------------------------------
# Random data (numpy's legacy RandomState: its streams are frozen by numpy's policy)

def rng_for(name):
    return np.random.RandomState(zlib.crc32(name.encode()) & 0x7FFFFFFF)


def linear_init(rng, lin, grid=None):
    """nn.Linear's default init, U(-1/sqrt(in), 1/sqrt(in)) for weight and bias, from rng;
    with grid, weights rounded to multiples of grid and biases to multiples of Z_GRID."""
    fan_in = lin.weight.shape[1]
    bound = 1.0 / math.sqrt(fan_in)
    w = rng.uniform(-bound, bound, size=tuple(lin.weight.shape))
    if grid:
        w = np.round(w / grid) * grid
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w.astype(np.float32)))
        if lin.bias is not None:
            b = rng.uniform(-bound, bound, size=tuple(lin.bias.shape))
            if grid:
                b = np.round(b / Z_GRID) * Z_GRID
            lin.bias.copy_(torch.from_numpy(b.astype(np.float32)))


def init_module(rng, module, grid=None):
    """Every nn.Linear, in registration order."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            linear_init(rng, m, grid)


def rows(rng, n, scales):
    x = rng.standard_normal(size=(len(scales), n)) * np.array(scales)[:, None]
    return x


# ---------------------------------------------------------------------------
# The act class: nn.Linear + one activation

SELU_ALPHA = mp.mpf("1.6732632423543772848170429916717")
SELU_SCALE = mp.mpf("1.0507009873554804934193349852946")


def mp_sigmoid(t):
    return 1 / (1 + mp.exp(-t))


class QuickGELU(nn.Module):
    """Hugging Face's QuickGELUActivation (CLIP)."""

    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Swish(nn.Module):
    """x * sigmoid(beta * x); nn.SiLU for beta = 1."""

    def __init__(self, beta):
        super().__init__()
        self.beta = beta

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


class ActNet(nn.Module):
    def __init__(self, k, n, act):
        super().__init__()
        self.fc = nn.Linear(k, n)
        self.act = act

    def forward(self, x):
        return self.act(self.fc(x))


# (case name, builtin call in .act (ARG is the dense layer), PyTorch module factory(n),
#  torch description, mpmath reference ref(z, j) with j the feature index)
# Parameters are the f32-rounded values (PyTorch's f32 kernels use them; docs/accuracy.md §1).
P = {"leaky": f32(0.2), "elu": f32(0.7), "celu": f32(1.3), "sp_beta": 2.0, "sp_th": 3.0,
     "swish": f32(0.6), "ht_lo": -2.0, "ht_hi": 3.0, "shrink": f32(0.3)}

ACTIVATIONS = [
    ("relu", "relu(ARG)", lambda n: nn.ReLU(), "nn.ReLU()",
     lambda z, j: max(z, 0)),
    ("relu6", "relu6(ARG)", lambda n: nn.ReLU6(), "nn.ReLU6()",
     lambda z, j: min(max(z, 0), 6)),
    ("leaky_relu", "leaky_relu(ARG, negative_slope = 0.2)", lambda n: nn.LeakyReLU(0.2),
     "nn.LeakyReLU(negative_slope=0.2)",
     lambda z, j: z if z > 0 else mp.mpf(P["leaky"]) * z),
    ("prelu", "prelu(ARG, num_parameters = N, name = \"act\")", lambda n: nn.PReLU(n),
     "nn.PReLU(num_parameters=N), slopes U(0.05, 0.5)",
     None),  # filled per case (learned slopes)
    ("elu", "elu(ARG, alpha = 0.7)", lambda n: nn.ELU(alpha=0.7), "nn.ELU(alpha=0.7)",
     lambda z, j: z if z > 0 else mp.mpf(P["elu"]) * mp.expm1(z)),
    ("selu", "selu(ARG)", lambda n: nn.SELU(), "nn.SELU()",
     lambda z, j: SELU_SCALE * (z if z > 0 else SELU_ALPHA * mp.expm1(z))),
    ("celu", "celu(ARG, alpha = 1.3)", lambda n: nn.CELU(alpha=1.3), "nn.CELU(alpha=1.3)",
     lambda z, j: z if z > 0 else mp.mpf(P["celu"]) * mp.expm1(z / mp.mpf(P["celu"]))),
    ("gelu", "gelu(ARG)", lambda n: nn.GELU(), "nn.GELU() (erf)",
     lambda z, j: z / 2 * mp.erfc(-z / mp.sqrt(2))),
    ("gelu_tanh", "gelu_tanh(ARG)", lambda n: nn.GELU(approximate="tanh"),
     "nn.GELU(approximate='tanh'), actc builtin gelu_tanh",
     lambda z, j: z * mp_sigmoid(2 * mp.sqrt(2 / mp.pi) * (z + mp.mpf("0.044715") * z ** 3))),
    ("gelu_approx_tanh", "gelu(ARG, approximate = \"tanh\")", lambda n: nn.GELU(approximate="tanh"),
     "nn.GELU(approximate='tanh'), actc gelu(approximate=\"tanh\")",
     lambda z, j: z * mp_sigmoid(2 * mp.sqrt(2 / mp.pi) * (z + mp.mpf("0.044715") * z ** 3))),
    ("quick_gelu", "quick_gelu(ARG)", lambda n: QuickGELU(), "x * torch.sigmoid(1.702 * x) (HF QuickGELU)",
     lambda z, j: z * mp_sigmoid(mp.mpf("1.702") * z)),
    ("silu", "silu(ARG)", lambda n: nn.SiLU(), "nn.SiLU()",
     lambda z, j: z * mp_sigmoid(z)),
    ("swish", "swish(ARG, beta = 0.6)", lambda n: Swish(0.6), "x * torch.sigmoid(0.6 * x)",
     lambda z, j: z * mp_sigmoid(mp.mpf(P["swish"]) * z)),
    ("mish", "mish(ARG)", lambda n: nn.Mish(), "nn.Mish()",
     lambda z, j: z * mp.tanh(mp.log1p(mp.exp(z)))),
    ("softplus", "softplus(ARG, beta = 2.0, threshold = 3.0)", lambda n: nn.Softplus(beta=2, threshold=3),
     "nn.Softplus(beta=2, threshold=3)",
     lambda z, j: z if 2 * z > 3 else mp.log1p(mp.exp(2 * z)) / 2),
    ("softsign", "softsign(ARG)", lambda n: nn.Softsign(), "nn.Softsign()",
     lambda z, j: z / (1 + abs(z))),
    ("sigmoid", "sigmoid(ARG)", lambda n: nn.Sigmoid(), "nn.Sigmoid()",
     lambda z, j: mp_sigmoid(z)),
    ("hardsigmoid", "hardsigmoid(ARG)", lambda n: nn.Hardsigmoid(), "nn.Hardsigmoid()",
     lambda z, j: min(max(z + 3, 0), 6) / 6),
    ("hardswish", "hardswish(ARG)", lambda n: nn.Hardswish(), "nn.Hardswish()",
     lambda z, j: z * min(max(z + 3, 0), 6) / 6),
    ("hardtanh", "hardtanh(ARG, min_val = -2.0, max_val = 3.0)", lambda n: nn.Hardtanh(-2.0, 3.0),
     "nn.Hardtanh(min_val=-2, max_val=3)",
     lambda z, j: min(max(z, -2), 3)),
    ("tanh", "tanh(ARG)", lambda n: nn.Tanh(), "nn.Tanh()",
     lambda z, j: mp.tanh(z)),
    ("logsigmoid", "logsigmoid(ARG)", lambda n: nn.LogSigmoid(), "nn.LogSigmoid()",
     lambda z, j: -mp.log1p(mp.exp(-z))),
    ("tanhshrink", "tanhshrink(ARG)", lambda n: nn.Tanhshrink(), "nn.Tanhshrink()",
     lambda z, j: z - mp.tanh(z)),
    ("softshrink", "softshrink(ARG, lambd = 0.3)", lambda n: nn.Softshrink(0.3), "nn.Softshrink(lambd=0.3)",
     lambda z, j: z - mp.mpf(P["shrink"]) if z > mp.mpf(P["shrink"])
     else (z + mp.mpf(P["shrink"]) if z < -mp.mpf(P["shrink"]) else mp.mpf(0))),
    ("hardshrink", "hardshrink(ARG, lambd = 0.3)", lambda n: nn.Hardshrink(0.3), "nn.Hardshrink(lambd=0.3)",
     lambda z, j: mp.mpf(0) if abs(z) <= mp.mpf(P["shrink"]) else z),
    ("identity", "identity(ARG)", lambda n: nn.Identity(), "nn.Identity() (a plain nn.Linear)",
     lambda z, j: z),
]

# (in_features, out_features), cycled over the act cases: widths 16..64, odd ones included.
ACT_SHAPES = [(32, 32), (48, 24), (16, 40), (64, 17)]


def act_case(idx, name, call, make_act, desc, ref):
    k, n = ACT_SHAPES[idx % len(ACT_SHAPES)]
    rng = rng_for(name)
    torch.manual_seed(0)  # nn.Linear's own init is overwritten below; keep it quiet anyway
    net = ActNet(k, n, make_act(n))
    linear_init(rng, net.fc, grid=W_GRID)
    if name == "prelu":
        slopes = rng.uniform(0.05, 0.5, size=n).astype(np.float32)
        with torch.no_grad():
            net.act.weight.copy_(torch.from_numpy(slopes))
        ref = lambda z, j: z if z > 0 else mp.mpf(float(slopes[j])) * z  # noqa: E731
    x = rows(rng, k, ACT_ROW_SCALES)
    x = np.clip(np.round(x / X_GRID) * X_GRID, -64.0, 64.0).astype(np.float32)
    # exactness of the dense layer: every partial sum is a multiple of Z_GRID below 2^11
    W = net.fc.weight.detach().numpy().astype(np.float64)
    b = net.fc.bias.detach().numpy().astype(np.float64)
    bound = (np.abs(x.astype(np.float64)) @ np.abs(W).T + np.abs(b)).max()
    assert bound < 2.0 ** 24 * Z_GRID, (name, bound)
    z64 = x.astype(np.float64) @ W.T + b
    with torch.no_grad():
        z32 = net.fc(torch.from_numpy(x)).numpy()
        y = net(torch.from_numpy(x)).numpy()
    assert np.array_equal(z32.astype(np.float64), z64), name + ": PyTorch's f32 nn.Linear is not exact"
    mp.dps = 50
    y64 = np.array([[float(ref(mp.mpf(float(z64[i, j])), j)) for j in range(n)] for i in range(BATCH)])
    body = call.replace("ARG", 'dense(x, N, name = "fc")')
    src = ("# %s: nn.Linear(%d, %d) (fc) then %s.\n"
           "# Generated by tests/conformance/make_fixtures.py; PyTorch: y = act(fc(x)).\n"
           "const K = %d\nconst N = %d\n\n"
           "model %s(x: f32[batch, K]) -> f32[batch, N] {\n    return %s\n}\n"
           % (name, k, n, desc.replace("=N", "=%d" % n), k, n, name, body))
    info = {"torch": desc.replace("=N", "=%d" % n), "in": k, "out": n,
            "z_min": float(z64.min()), "z_max": float(z64.max())}
    return net, src, x, y, y64, info


# ---------------------------------------------------------------------------
# GLU variants (Shazeer 2020, "GLU Variants Improve Transformer"), bias=False

GLU_VARIANTS = [
    ("ffn_glu", "glu", lambda a: torch.sigmoid(a), "FFN_GLU(x) = (sigmoid(xW) * xV) W2"),
    ("ffn_bilinear", "bilinear", lambda a: a, "FFN_Bilinear(x) = (xW * xV) W2"),
    ("ffn_reglu", "reglu", F.relu, "FFN_ReGLU(x) = (relu(xW) * xV) W2"),
    ("ffn_geglu", "geglu", F.gelu, "FFN_GEGLU(x) = (GELU(xW) * xV) W2"),
    ("ffn_geglu_tanh", "geglu_tanh", lambda a: F.gelu(a, approximate="tanh"),
     "FFN_GEGLU with GELU(approximate='tanh') (Gemma's gelu_pytorch_tanh)"),
    ("ffn_swiglu", "swiglu", F.silu, "FFN_SwiGLU(x) = (Swish_1(xW) * xV) W2"),
]


class GluFFN(nn.Module):
    def __init__(self, d, h, act):
        super().__init__()
        self.w = nn.Linear(d, h, bias=False)
        self.v = nn.Linear(d, h, bias=False)
        self.w2 = nn.Linear(h, d, bias=False)
        self.act = act

    def forward(self, x):
        return self.w2(self.act(self.w(x)) * self.v(x))


class GluOneOperand(nn.Module):
    """nn.GLU over one projection: first half * sigmoid(second half)."""

    def __init__(self, d, h):
        super().__init__()
        self.proj = nn.Linear(d, 2 * h)
        self.glu = nn.GLU(dim=-1)
        self.out = nn.Linear(h, d)

    def forward(self, x):
        return self.out(self.glu(self.proj(x)))


class RMSNorm(nn.Module):
    """LLaMA's RMSNorm: x * rsqrt(mean(x^2) + eps) * weight."""

    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class LlamaMLP(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.gate_proj = nn.Linear(d, h, bias=False)
        self.up_proj = nn.Linear(d, h, bias=False)
        self.down_proj = nn.Linear(h, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaLayer(nn.Module):
    """The MLP half of a LLaMA decoder layer: h = x + mlp(post_attention_layernorm(x))."""

    def __init__(self, d, h):
        super().__init__()
        self.post_attention_layernorm = RMSNorm(d, eps=1e-6)
        self.mlp = LlamaMLP(d, h)

    def forward(self, x):
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaStack(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.layers = nn.ModuleList([LlamaLayer(d, h)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class LlamaMLPStack(nn.Module):
    """n LLaMA MLP layers and the final norm, with Hugging Face's module tree:
    model.layers.{i}.post_attention_layernorm, model.layers.{i}.mlp.{gate,up,down}_proj, model.norm."""

    def __init__(self, d, h, n):
        super().__init__()
        self.model = nn.Module()
        self.model.layers = nn.ModuleList([LlamaLayer(d, h) for _ in range(n)])
        self.model.norm = RMSNorm(d, eps=1e-6)

    def forward(self, x):
        for layer in self.model.layers:
            x = layer(x)
        return self.model.norm(x)


class BertFFNLayer(nn.Module):
    """The feed-forward half of a BERT encoder layer (post-norm), Hugging Face's module tree:
    intermediate.dense, output.dense, output.LayerNorm (eps 1e-12)."""

    def __init__(self, d, h):
        super().__init__()
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(d, h)
        self.output = nn.Module()
        self.output.dense = nn.Linear(h, d)
        self.output.LayerNorm = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x):
        a = F.gelu(self.intermediate.dense(x))
        return self.output.LayerNorm(self.output.dense(a) + x)


class BertFFNStack(nn.Module):
    def __init__(self, d, h, n):
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([BertFFNLayer(d, h) for _ in range(n)])

    def forward(self, x):
        for layer in self.encoder.layer:
            x = layer(x)
        return x


class GegluFusedMLP(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.gate_up_proj = nn.Linear(d, 2 * h, bias=False)
        self.down_proj = nn.Linear(h, d, bias=False)

    def forward(self, x):
        gate, up = torch.chunk(self.gate_up_proj(x), 2, dim=-1)
        return self.down_proj(F.gelu(gate) * up)


class GegluBlock(nn.Module):
    """Pre-LayerNorm, fused gate_up_proj + torch.chunk, GEGLU, residual."""

    def __init__(self, d, h):
        super().__init__()
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.mlp = GegluFusedMLP(d, h)

    def forward(self, x):
        return x + self.mlp(self.norm(x))


class Head(nn.Module):
    def __init__(self, d, c, log):
        super().__init__()
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, c)
        self.log = log

    def forward(self, x):
        z = self.head(self.norm(x))
        return F.log_softmax(z, dim=-1) if self.log else F.softmax(z, dim=-1)


class Affine(nn.Module):
    """x * weight + bias per feature: a fitted StandardScaler exported as
    weight = 1 / scale_, bias = -mean_ / scale_ (docs/guide.md, "Preprocessing")."""

    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))

    def forward(self, x):
        return x * self.weight + self.bias


class Tabular(nn.Module):
    """The preprocessing cases: `order` lists the layers, PyTorch modules named as in the .act."""

    def __init__(self, d, h, c, order):
        super().__init__()
        self.order = order
        width = d
        for kind, name in order:
            if kind == "affine":
                setattr(self, name, Affine(width))
            elif kind in ("bn", "bn_eps"):
                setattr(self, name, nn.BatchNorm1d(width, eps=1e-3 if name == "bn_eps" else 1e-5))
            elif kind in ("dense", "dense_nobias"):
                out = c if name == "head" else h
                setattr(self, name, nn.Linear(width, out, bias=kind == "dense"))
                width = out
            elif kind == "gate":  # swiglu over two projections of the same input
                setattr(self, name + "_gate", nn.Linear(width, h, bias=False))
                setattr(self, name + "_up", nn.Linear(width, h, bias=False))
                width = h

    def forward(self, x):
        for kind, name in self.order:
            if kind == "relu":
                x = F.relu(x)
            elif kind == "gate":
                x = F.silu(getattr(self, name + "_gate")(x)) * getattr(self, name + "_up")(x)
            else:
                x = getattr(self, name)(x)
        return x


class Tied(nn.Module):
    """One nn.Linear called twice, and one called in every step of a loop
    (ALBERT-style): the .act says shared = true (language.md §7.5)."""

    def __init__(self, d, c, steps):
        super().__init__()
        self.enc = nn.Linear(d, d)
        self.mix = nn.Linear(d, d)
        self.head = nn.Linear(d, c)
        self.steps = steps

    def forward(self, x):
        h = F.gelu(self.enc(F.relu(self.enc(x))))
        for _ in range(self.steps):
            h = h + F.silu(self.mix(h))
        return self.head(h)


def tabular_act(name, order, d, h, c):
    """The .act source of a Tabular case."""
    lines, v = [], "x"
    for i, (kind, lname) in enumerate(order):
        nv = "h%d" % i
        if kind == "affine":
            e = "affine(%s, name = \"%s\")" % (v, lname)
        elif kind in ("bn", "bn_eps"):
            e = "batchnorm(%s, %sname = \"%s\")" % (v, "eps = 1e-3, " if lname == "bn_eps" else "", lname)
        elif kind == "dense":
            e = "dense(%s, %s, name = \"%s\")" % (v, "C" if lname == "head" else "H", lname)
        elif kind == "dense_nobias":
            e = "dense(%s, H, bias = false, name = \"%s\")" % (v, lname)
        elif kind == "relu":
            e = "relu(%s)" % v
        else:
            e = "swiglu(dense(%s, H, bias = false, name = \"%s_gate\"), dense(%s, H, bias = false, name = \"%s_up\"))" % (
                v, lname, v, lname)
        lines.append("    %s = %s\n" % (nv, e))
        v = nv
    out_w = "C" if any(n == "head" for _, n in order) else ("H" if any(k in ("dense", "dense_nobias", "gate") for k, _ in order) else "D")
    return ("# %s: %s (PyTorch eval mode).\n"
            "# Generated by tests/conformance/make_fixtures.py.\n"
            "const D = %d\nconst H = %d\nconst C = %d\n\n"
            "model %s(x: f32[batch, D]) -> f32[batch, %s] {\n%s    return %s\n}\n"
            % (name, " -> ".join(k for k, _ in order), d, h, c, name, out_w, "".join(lines), v))


TABULAR = [
    ("bn_alone", [("bn", "bn")]),
    ("bn_after_dense", [("dense", "fc1"), ("bn", "bn1"), ("relu", ""), ("dense", "head")]),
    ("bn_before_dense", [("bn_eps", "bn_eps"), ("dense_nobias", "fc1"), ("relu", ""), ("dense", "head")]),
    ("bn_gated", [("bn", "bn"), ("gate", "mlp"), ("dense", "head")]),
    ("affine_scaler", [("affine", "scaler"), ("dense", "fc1"), ("relu", ""), ("dense", "head")]),
    ("bn_both_sides", [("dense", "fc1"), ("bn", "bn1"), ("dense", "fc2"), ("bn", "bn2"), ("relu", ""),
                       ("dense", "head")]),
]


def set_param(p, a):
    with torch.no_grad():
        p.copy_(torch.from_numpy(np.asarray(a, dtype=np.float32)))


def dense_cases():
    """(name, class, module, .act source, d_in, d_out, torch description)"""
    out = []
    D, H = 32, 64
    for name, gate, act, desc in GLU_VARIANTS:
        m = GluFFN(D, H, act)
        src = ("# %s: %s, bias=False (Shazeer 2020).\n"
               "# Generated by tests/conformance/make_fixtures.py.\n"
               "const D = %d\nconst H = %d\n\n"
               "model %s(x: f32[batch, D]) -> f32[batch, D] {\n"
               "    h = %s(dense(x, H, bias = false, name = \"w\"), dense(x, H, bias = false, name = \"v\"))\n"
               "    return dense(h, D, bias = false, name = \"w2\")\n}\n" % (name, desc, D, H, name, gate))
        out.append((name, "glu", m, src, D, D, desc))
    m = GluOneOperand(D, 48)
    src = ("# glu_split: nn.Linear(%d, 96) (proj), nn.GLU(dim=-1), nn.Linear(48, %d) (out).\n"
           "# Generated by tests/conformance/make_fixtures.py.\n"
           "const D = %d\nconst H = 48\n\n"
           "model glu_split(x: f32[batch, D]) -> f32[batch, D] {\n"
           "    h = glu(dense(x, 2 * H, name = \"proj\"))\n"
           "    return dense(h, D, name = \"out\")\n}\n" % (D, D, D))
    out.append(("glu_split", "glu", m, src, D, D, "out(nn.GLU(dim=-1)(proj(x)))"))

    D, H = 48, 128
    m = LlamaStack(D, H)
    src = ("# llama_mlp: the MLP half of a LLaMA decoder layer, Hugging Face names:\n"
           "# x + down_proj(silu(gate_proj(n)) * up_proj(n)), n = RMSNorm(x, eps=1e-6).\n"
           "# Generated by tests/conformance/make_fixtures.py.\n"
           "const D = %d\nconst H = %d\n\n"
           "model llama_mlp(x: f32[batch, D]) -> f32[batch, D] {\n"
           "    n    = rmsnorm(x, eps = 1e-6, name = \"layers.0.post_attention_layernorm\")\n"
           "    gate = dense(n, H, bias = false, name = \"layers.0.mlp.gate_proj\")\n"
           "    up   = dense(n, H, bias = false, name = \"layers.0.mlp.up_proj\")\n"
           "    h    = swiglu(gate, up)\n"
           "    return x + dense(h, D, bias = false, name = \"layers.0.mlp.down_proj\")\n}\n" % (D, H))
    out.append(("llama_mlp", "block", m, src, D, D,
                "x + down_proj(silu(gate_proj(rms(x))) * up_proj(rms(x))), RMSNorm eps=1e-6"))

    # stacks written with a loop (docs/language.md §3.6), at two depths each
    D, H = 48, 128
    for n in (1, 3):
        name = "llama_stack%d" % n
        m = LlamaMLPStack(D, H, n)
        src = ("# %s: %d LLaMA MLP layers (RMSNorm, SwiGLU, residual) and the final RMSNorm,\n"
               "# Hugging Face names, written with a loop.\n"
               "# Generated by tests/conformance/make_fixtures.py.\n"
               "const D = %d\nconst H = %d\nconst LAYERS = %d\n\n"
               "model %s(x: f32[batch, D]) -> f32[batch, D] {\n"
               "    h = x\n"
               "    for i in 0 .. LAYERS {\n"
               "        n = rmsnorm(h, eps = 1e-6, name = \"model.layers.{i}.post_attention_layernorm\")\n"
               "        g = dense(n, H, bias = false, name = \"model.layers.{i}.mlp.gate_proj\")\n"
               "        u = dense(n, H, bias = false, name = \"model.layers.{i}.mlp.up_proj\")\n"
               "        h = h + dense(swiglu(g, u), D, bias = false, name = \"model.layers.{i}.mlp.down_proj\")\n"
               "    }\n"
               "    return rmsnorm(h, eps = 1e-6, name = \"model.norm\")\n}\n" % (name, n, D, H, n, name))
        out.append((name, "block", m, src, D, D, "model.norm(layers(x)), %d LlamaLayer" % n))
    # the same stack written with a block called in a loop (docs/language.md §3.7)
    n = 2
    name = "llama_blocks%d" % n
    m = LlamaMLPStack(D, H, n)
    src = ("# %s: %d LLaMA MLP layers and the final RMSNorm, Hugging Face names, a block called in a loop.\n"
           "# Generated by tests/conformance/make_fixtures.py.\n"
           "const D = %d\nconst H = %d\n\n"
           "block swiglu_mlp(x: f32[batch, D], hidden = 64) -> f32[batch, D] {\n"
           "    gate = dense(x, hidden, bias = false, name = \"gate_proj\")\n"
           "    up   = dense(x, hidden, bias = false, name = \"up_proj\")\n"
           "    return dense(swiglu(gate, up), D, bias = false, name = \"down_proj\")\n}\n\n"
           "block llama_layer(x: f32[batch, D]) -> f32[batch, D] {\n"
           "    n = rmsnorm(x, eps = 1e-6, name = \"post_attention_layernorm\")\n"
           "    return x + swiglu_mlp(n, hidden = H, name = \"mlp\")\n}\n\n"
           "model %s(x: f32[batch, D]) -> f32[batch, D] {\n"
           "    h = x\n"
           "    for i in 0 .. %d {\n"
           "        h = llama_layer(h, name = \"model.layers.{i}\")\n"
           "    }\n"
           "    return rmsnorm(h, eps = 1e-6, name = \"model.norm\")\n}\n" % (name, n, D, H, name, n))
    out.append((name, "block", m, src, D, D, "model.norm(layers(x)), %d LlamaLayer" % n))
    D, H = 32, 96
    for n in (2, 4):
        name = "bert_ffn_stack%d" % n
        m = BertFFNStack(D, H, n)
        src = ("# %s: the feed-forward halves of %d BERT encoder layers (post-norm):\n"
               "# h = LayerNorm(h + output.dense(gelu(intermediate.dense(h)))), Hugging Face names, a loop.\n"
               "# Generated by tests/conformance/make_fixtures.py.\n"
               "const D = %d\nconst H = %d\nconst LAYERS = %d\n\n"
               "model %s(x: f32[batch, D]) -> f32[batch, D] {\n"
               "    h = x\n"
               "    for i in 0 .. LAYERS {\n"
               "        a = gelu(dense(h, H, name = \"encoder.layer.{i}.intermediate.dense\"))\n"
               "        h = layernorm(h + dense(a, D, name = \"encoder.layer.{i}.output.dense\"), eps = 1e-12,\n"
               "                      name = \"encoder.layer.{i}.output.LayerNorm\")\n"
               "    }\n"
               "    return h\n}\n" % (name, n, D, H, n, name))
        out.append((name, "block", m, src, D, D, "encoder.layer[0..%d] FFN halves" % n))

    D, H = 40, 64
    m = GegluBlock(D, H)
    src = ("# geglu_fused: x + down_proj(gelu(g) * u), g, u = torch.chunk(gate_up_proj(LayerNorm(x)), 2, -1).\n"
           "# Generated by tests/conformance/make_fixtures.py.\n"
           "const D = %d\nconst H = %d\n\n"
           "model geglu_fused(x: f32[batch, D]) -> f32[batch, D] {\n"
           "    n    = layernorm(x, eps = 1e-5, name = \"norm\")\n"
           "    g, u = split(dense(n, 2 * H, bias = false, name = \"mlp.gate_up_proj\"), 2)\n"
           "    return x + dense(geglu(g, u), D, bias = false, name = \"mlp.down_proj\")\n}\n" % (D, H))
    out.append(("geglu_fused", "block", m, src, D, D,
                "x + mlp.down_proj(gelu(g) * u), g, u = chunk(mlp.gate_up_proj(norm(x)), 2)"))

    D, C = 64, 16
    for name, log, fn in [("head_softmax", False, "softmax"), ("head_log_softmax", True, "log_softmax")]:
        m = Head(D, C, log)
        src = ("# %s: nn.LayerNorm(%d) (norm), nn.Linear(%d, %d) (head), F.%s(dim=-1).\n"
               "# Generated by tests/conformance/make_fixtures.py.\n"
               "const D = %d\nconst C = %d\n\n"
               "model %s(x: f32[batch, D]) -> f32[batch, C] {\n"
               "    n = layernorm(x, eps = 1e-5, name = \"norm\")\n"
               "    return %s(dense(n, C, name = \"head\"))\n}\n" % (name, D, D, C, fn, D, C, name, fn))
        out.append((name, "head", m, src, D, C, "F.%s(head(norm(x)), dim=-1)" % fn))
    D, C, STEPS = 32, 8, 3
    src = ("# tied_layers: head(h), h = h + silu(mix(h)) %d times, h = gelu(enc(relu(enc(x)))).\n"
           "# Generated by tests/conformance/make_fixtures.py.\n"
           "const D = %d\nconst C = %d\n\n"
           "model tied_layers(x: f32[batch, D]) -> f32[batch, C] {\n"
           "    a = relu(dense(x, D, name = \"enc\"))\n"
           "    h = gelu(dense(a, D, name = \"enc\", shared = true))\n"
           "    for i in 0 .. %d {\n"
           "        h = h + silu(dense(h, D, name = \"mix\", shared = true))\n"
           "    }\n"
           "    return dense(h, C, name = \"head\")\n}\n" % (STEPS, D, C, STEPS))
    out.append(("tied_layers", "block", Tied(D, C, STEPS), src, D, C,
                "head(h), h = h + silu(mix(h)) x%d, h = gelu(enc(relu(enc(x)))): enc and mix tied" % STEPS))
    D, H, C = 13, 24, 3  # the wine classifier's widths
    for name, order in TABULAR:
        m = Tabular(D, H, C, order)
        width = C if any(n == "head" for _, n in order) else H if any(k != "bn" for k, _ in order) else D
        out.append((name, "block", m, tabular_act(name, order, D, H, C), D, width,
                    " -> ".join(k for k, _ in order) + " (eval mode)"))
    return out


def init_dense_case(name, m, d_in):
    rng = rng_for(name)
    init_module(rng, m)
    for pname, p in m.named_parameters():
        if pname.endswith("post_attention_layernorm.weight"):
            set_param(p, rng.uniform(0.5, 1.5, size=p.shape))
        elif pname == "norm.weight":  # LayerNorm gains: large in the heads, so softmax is peaked
            lo, hi = (2.0, 6.0) if isinstance(m, Head) else (0.5, 1.5)
            set_param(p, rng.uniform(lo, hi, size=p.shape))
        elif pname == "norm.bias":
            set_param(p, rng.uniform(-0.5, 0.5, size=p.shape))
        elif pname.endswith("LayerNorm.weight") or pname == "model.norm.weight":
            set_param(p, rng.uniform(0.5, 1.5, size=p.shape))
        elif pname.endswith("LayerNorm.bias"):
            set_param(p, rng.uniform(-0.5, 0.5, size=p.shape))
    if isinstance(m, Tabular):  # a scaler's and the running statistics' values, as after training
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm1d):
                n = mod.num_features
                mod.running_mean.copy_(torch.from_numpy(rng.uniform(-2, 2, n).astype(np.float32)))
                mod.running_var.copy_(torch.from_numpy(rng.uniform(0.2, 3, n).astype(np.float32)))
                set_param(mod.weight, rng.uniform(0.5, 1.5, n))
                set_param(mod.bias, rng.uniform(-0.5, 0.5, n))
                mod.num_batches_tracked.fill_(100)
            elif isinstance(mod, Affine):
                set_param(mod.weight, 1 / rng.uniform(0.5, 20, mod.weight.shape[0]))
                set_param(mod.bias, rng.uniform(-3, 3, mod.weight.shape[0]))
        m.eval()
        return (rows(rng, d_in, ROW_SCALES) * 4 + 1).astype(np.float32)
    scales = GLU_ROW_SCALES if isinstance(m, (GluFFN, GluOneOperand)) else ROW_SCALES
    return rows(rng, d_in, scales).astype(np.float32)


# ---------------------------------------------------------------------------

def build(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    manifest = {"generator": "tests/conformance/make_fixtures.py", "batch": BATCH, "cases": []}
    keep = {"MANIFEST.json"}

    def emit(name, cls, module, src, x, y, y64, info):
        base = os.path.join(out_dir, name)
        with open(base + ".act", "w") as f:
            f.write(src)
        write_safetensors(base + ".safetensors", module.state_dict())
        save_npy(base + ".x.npy", x, "<f4")
        save_npy(base + ".y.npy", y, "<f4")
        save_npy(base + ".y64.npy", y64, "<f8")
        for ext in (".act", ".safetensors", ".x.npy", ".y.npy", ".y64.npy"):
            keep.add(name + ext)
        entry = {"name": name, "class": cls, "model": name, "input": "x", "in": x.shape[1],
                 "out": y.shape[1], "tensors": {k: list(v.shape) for k, v in module.state_dict().items()}}
        entry.update(info)
        manifest["cases"].append(entry)
        # PyTorch's own f32 error against the float64 reference, for the summary
        ulp = max_ulp(y, y64)
        tol = rc.TOL[cls]
        norm = float((np.abs(y.astype(np.float64) - y64) / (1 + np.abs(y64))).max())
        print("%-18s %-5s torch f32 vs y64: %9.3g normalized (tol %.0e)%s"
              % (name, cls, norm, tol, ", %.4g ulp" % ulp if cls == "act" else ""))

    for i, (name, call, make_act, desc, ref) in enumerate(ACTIVATIONS):
        net, src, x, y, y64, info = act_case(i, name, call, make_act, desc, ref)
        emit(name, "act", net, src, x, y, y64, info)

    for name, cls, m, src, d_in, d_out, desc in dense_cases():
        x = init_dense_case(name, m, d_in)
        with torch.no_grad():
            y = m(torch.from_numpy(x)).numpy()
            y64 = m.double()(torch.from_numpy(x).double()).numpy()
        m.float()
        emit(name, cls, m, src, x, y, y64, {"torch": desc})

    with open(os.path.join(out_dir, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    stale = sorted(set(os.listdir(out_dir)) - keep)
    for s in stale:
        print("removing stale", s)
        os.remove(os.path.join(out_dir, s))
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print("%d cases, %d files, %d bytes in %s" % (len(manifest["cases"]), len(keep), total, out_dir))


def max_ulp(y, y64):
    a = y.astype(np.float64)
    r = np.abs(y64)
    e = np.floor(np.log2(np.maximum(r, 2.0 ** -126)))
    ulp = 2.0 ** (e - 23)
    return float((np.abs(a - y64) / ulp).max())


def check(ref_dir):
    """Regenerate and compare with the committed fixtures in ref_dir."""
    tmp = tempfile.mkdtemp(prefix="actc-conformance-")
    try:
        build(tmp)
        bad = 0
        names = sorted(set(os.listdir(tmp)) | set(os.listdir(ref_dir)))
        for f in names:
            a, b = os.path.join(tmp, f), os.path.join(ref_dir, f)
            if not (os.path.exists(a) and os.path.exists(b)):
                print("FAIL: %s only in %s" % (f, tmp if os.path.exists(a) else ref_dir))
                bad += 1
                continue
            if f.endswith(".y.npy") or f.endswith(".y64.npy"):
                cls = next(c["class"] for c in json.load(open(os.path.join(ref_dir, "MANIFEST.json")))["cases"]
                           if f.startswith(c["name"] + "."))
                new, old = np.load(a).astype(np.float64), np.load(b).astype(np.float64)
                if f.endswith(".y.npy"):
                    # PyTorch's f32 outputs: within the test's bound of each other
                    ok, worst = rc.within(old.ravel().tolist(), new.ravel().tolist(), rc.TOL[cls])
                elif cls == "act":
                    # mpmath: deterministic, and the ulp check needs it exactly
                    worst = float(np.abs(new - old).max())
                    ok = worst == 0
                else:
                    # PyTorch in float64: its summation order may differ from machine to machine
                    ok, worst = rc.within(old.ravel().tolist(), new.ravel().tolist(), 1e-12)
                print("%-28s %s (max %.3g)" % (f, "ok" if ok else "FAIL", worst))
                bad += not ok
            elif not filecmp.cmp(a, b, shallow=False):
                print("FAIL: %s differs" % f)
                bad += 1
        print("check: %s" % ("fixtures reproduced" if not bad else "%d differences" % bad))
        return 1 if bad else 0
    finally:
        shutil.rmtree(tmp)


def simulate(trials):
    """The tolerance derivation of the glu, block and head classes (run_conformance.py): run
    each module in float64 but replace every nn.Linear by an f32 evaluation that sums its
    K products in a random order, sequentially (one rounding per product and per addition, no
    FMA -- the least accurate common order), and report the distribution over `trials` orders
    of max |y_sim - y64| / (1 + |y64|).  Two f32 implementations differ by at most the sum of
    their errors, so twice the maximum is the estimate the tolerance must cover."""
    rng = np.random.RandomState(1)

    def f32_linear(mod, inp, out):
        x = inp[0].numpy().astype(np.float32)
        w = mod.weight.detach().numpy().astype(np.float32)
        acc = np.zeros((x.shape[0], w.shape[0]), np.float32)
        for k in rng.permutation(x.shape[1]):
            acc = acc + x[:, k:k + 1] * w[None, :, k]
        if mod.bias is not None:
            acc = acc + mod.bias.detach().numpy().astype(np.float32)
        return torch.from_numpy(acc.astype(np.float64))

    worst = {}
    for name, cls, m, src, d_in, d_out, desc in dense_cases():
        x = torch.from_numpy(init_dense_case(name, m, d_in)).double()
        m = m.double()
        with torch.no_grad():
            y64 = m(x).numpy()
            for lin in (mm for mm in m.modules() if isinstance(mm, nn.Linear)):
                lin.register_forward_hook(f32_linear)
            e = np.array([(np.abs(m(x).numpy() - y64) / (1 + np.abs(y64))).max() for _ in range(trials)])
        worst[cls] = max(worst.get(cls, 0.0), e.max())
        print("%-18s %-5s random-order f32 vs y64: median %.3g, max %.3g over %d orders; 2*max %.3g, tol %.0e"
              % (name, cls, np.median(e), e.max(), trials, 2 * e.max(), rc.TOL[cls]))
    for cls, w in sorted(worst.items()):
        print("class %-5s 2 * worst = %.3g, tol = %.0e (%.1fx)" % (cls, 2 * w, rc.TOL[cls], rc.TOL[cls] / (2 * w)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures"))
    ap.add_argument("--check", nargs="?", const=os.path.join(HERE, "fixtures"), metavar="DIR")
    ap.add_argument("--simulate", nargs="?", type=int, const=1000, metavar="TRIALS")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.simulate:
        return simulate(a.simulate)
    if a.check:
        sys.exit(check(a.check))
    build(a.out)


if __name__ == "__main__":
    main()
