#!/usr/bin/python3
"""bench/gemm/torch_peer.py — the PyTorch (eager, CPU) peer of bench_gemm, in its own process.

Run with /usr/bin/python3 (Debian's python3-torch); bench/gemm/run.sh runs it
right after bench_gemm and merges the two CSVs (merge.py).  Standard library,
torch and numpy only.

Cases: the grid of bench_gemm (its defaults are read from bench_gemm.c, so the
two cannot drift apart), or --quick / --m / --shapes / --acts as there:

  relu, gelu_tanh, gelu (erf), silu   y = act(F.linear(x, W, b))
  swiglu (silu), geglu (gelu, erf)    split:  act(F.linear(x, W)) * F.linear(x, V)
                                      concat: a, g = F.linear(x, WV).chunk(2, -1); act(a) * g
                                              with WV = cat([W, V]) (2N x K), made untimed
  the faster of split and concat is the `torch` row; both are in the CSV.

The data are bench_gemm's, bit for bit: the same splitmix64 stream and seed,
the same fill order (x for the largest M, then W, V, b per shape), f32.

Method, as bench_gemm: one warm-up call per variant, checked against a
float64 reference on up to 4 sampled rows (max |y - ref| / max |ref| <= --tol);
calls per repetition calibrated so that a repetition lasts >= --min-ms (50);
--reps (>= 5) repetitions timed, the variants of a case alternating, the
first rotating; the median time per call.  Everything runs under
torch.inference_mode().

Threads: torch.set_num_threads(T) sets PyTorch's OpenMP pool, but F.linear
goes to OpenBLAS (Debian's pthreads build), which ignores it and would use
every core: this script sets OPENBLAS_NUM_THREADS=T before importing torch
and checks with openblas_get_num_threads() through ctypes.
"""
import argparse
import csv
import math
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ACTS = ["relu", "gelu_tanh", "gelu", "silu", "swiglu", "geglu"]
ENUM = {"ACT_RELU": "relu", "ACT_GELU_TANH": "gelu_tanh", "ACT_GELU": "gelu", "ACT_SILU": "silu",
        "GATE_SWIGLU": "swiglu", "GATE_GEGLU": "geglu"}
# used only if bench_gemm.c cannot be read
FALLBACK = {"full_ms": [1, 8, 64, 256, 1024], "full_shapes": [(512, 2048), (1024, 4096), (4096, 1024), (2048, 2048)],
            "quick_ms": [1, 8, 64], "quick_shapes": [(1024, 4096), (4096, 1024)],
            "quick_acts": ["gelu_tanh", "silu", "swiglu"]}


def harness_grid():
    """The default grids of bench_gemm.c (static const arrays)."""
    try:
        src = open(os.path.join(HERE, "bench_gemm.c")).read()
    except OSError:
        return FALLBACK, "built-in copy (bench_gemm.c not found)"
    g = {}
    try:
        for name in ("full_ms", "quick_ms"):
            body = re.search(r"static const int %s\[\] = \{([^}]*)\};" % name, src).group(1)
            g[name] = [int(v) for v in body.split(",")]
        for name in ("full_shapes", "quick_shapes"):
            body = re.search(r"static const int %s\[\]\[2\] = \{(.*?)\};" % name, src).group(1)
            g[name] = [(int(a), int(b)) for a, b in re.findall(r"\{\s*(\d+)\s*,\s*(\d+)\s*\}", body)]
        body = re.search(r"static const int quick_acts\[\] = \{([^}]*)\};", src).group(1)
        g["quick_acts"] = [ENUM[v.strip()] for v in body.split(",")]
    except (AttributeError, KeyError, ValueError):
        return FALLBACK, "built-in copy (could not parse bench_gemm.c)"
    return g, "bench_gemm.c"


def ints(s):
    return [int(v) for v in s.split(",")]


def shapes(s):
    return [tuple(int(v) for v in p.lower().split("x")) for p in s.split(",")]


def names(s):
    out = s.split(",")
    for a in out:
        if a not in ACTS:
            raise argparse.ArgumentTypeError(f"unknown activation {a!r} (one of {', '.join(ACTS)})")
    return out


ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                             epilog="Options of bench_gemm that do not apply here (--peers, --verbose, --scaling) "
                                    "are accepted and ignored.")
ap.add_argument("--quick", action="store_true")
ap.add_argument("--m", type=ints)
ap.add_argument("--shapes", type=shapes)
ap.add_argument("--acts", type=names)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--reps", type=int, default=5)
ap.add_argument("--min-ms", type=float, default=50.0)
ap.add_argument("--tol", type=float, default=1e-3)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--csv")
ap.add_argument("--peers")
ap.add_argument("--scaling")
ap.add_argument("--verbose", "-v", action="store_true")
ap.add_argument("--fast-math", action="store_true", help="an actc option (bench_gemm); no effect here")
a = ap.parse_args()
if a.threads < 1:
    sys.exit("torch_peer: --threads must be >= 1")

# before torch loads OpenBLAS and OpenMP
os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
os.environ["OMP_NUM_THREADS"] = str(a.threads)
try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    sys.exit(f"torch_peer: {e}: scripts/install-bench-deps.sh installs python3-torch; run with /usr/bin/python3")


def openblas_info():
    """(core, threads) of the OpenBLAS this process loaded, or None."""
    import ctypes
    path = None
    with open("/proc/self/maps") as f:
        for line in f:
            if "libopenblas" in line:
                path = line.split()[-1]
                break
    if not path:
        return None
    lib = ctypes.CDLL(path)
    lib.openblas_get_corename.restype = ctypes.c_char_p
    lib.openblas_set_num_threads(a.threads)
    return lib.openblas_get_corename().decode(), lib.openblas_get_num_threads(), path


# ---- bench_gemm's data: splitmix64, fill_uniform(p, n, a) = a * (float)(u53 * 2^-52 - 1)
MASK = (1 << 64) - 1
GOLDEN = 0x9e3779b97f4a7c15


class Rng:
    def __init__(self, state):
        self.state = state & MASK

    def uniform(self, n, amp):
        idx = np.arange(1, n + 1, dtype=np.uint64)
        z = np.uint64(self.state) + idx * np.uint64(GOLDEN)
        self.state = (self.state + n * GOLDEN) & MASK
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xbf58476d1ce4e5b9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94d049bb133111eb)
        z = z ^ (z >> np.uint64(31))
        u = ((z >> np.uint64(11)).astype(np.float64) * (2.0 / 9007199254740992.0) - 1.0).astype(np.float32)
        return u * np.float32(amp)


def act64(act, v):
    if act == "relu":
        return torch.clamp(v, min=0)
    if act == "gelu_tanh":
        return 0.5 * v * (1 + torch.tanh(0.7978845608028654 * (v + 0.044715 * v ** 3)))
    if act in ("gelu", "geglu"):
        return 0.5 * v * (1 + torch.erf(v * 0.7071067811865476))
    return v * torch.sigmoid(v)  # silu, swiglu


def calibrate(f, x, first_s, min_s):
    est = first_s
    if est < min_s:
        k = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(k):
                f(x)
            t = time.perf_counter() - t0
            if t >= min_s / 4 or k >= 1 << 24:
                est = t / k
                break
            k *= 2
    return max(1, math.ceil(min_s / est))


def main():
    grid, grid_from = harness_grid()
    ms = a.m or (grid["quick_ms"] if a.quick else grid["full_ms"])
    shp = a.shapes or (grid["quick_shapes"] if a.quick else grid["full_shapes"])
    acts = a.acts or (grid["quick_acts"] if a.quick else ACTS)
    torch.set_num_threads(a.threads)
    ob = openblas_info()
    with open("/proc/loadavg") as f:
        load = f.read().strip()
    print(f"# torch_peer — PyTorch {torch.__version__} eager CPU, its own process "
          f"(medians of {a.reps} repetitions, each >= {a.min_ms:.0f} ms)")
    print(f"date:      {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"load:      {load} (/proc/loadavg at the start)")
    print(f"command:   {' '.join([sys.executable] + sys.argv)}")
    print(f"grid:      defaults from {grid_from}")
    print(f"threads:   torch.get_num_threads() = {torch.get_num_threads()}, "
          + (f"OpenBLAS {ob[1]} thread(s), core {ob[0]} ({ob[2]})" if ob else "no OpenBLAS loaded"))
    if ob and ob[0].lower() == "haswell":
        print("WARNING:   OpenBLAS runs its Haswell (AVX2) kernels: OPENBLAS_CORETYPE set? run through run.sh")
    for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(v):
            print(f"WARNING:   {v}={os.environ[v]} in the environment (run.sh unsets it)")
    print("flops:     2*M*N*K per projection (gates: 2 projections); epilogue not counted")
    if a.reps < 5:
        print(f"note:      --reps {a.reps} < 5, medians are less robust", file=sys.stderr)

    fns = {"relu": F.relu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "gelu": F.gelu,
           "silu": F.silu, "swiglu": F.silu, "geglu": F.gelu}
    rows_out = []
    bad = 0
    min_s = a.min_ms * 1e-3
    mmax = max(ms)
    print("\n|    M |    K |    N | act       | torch GF/s | variant | split GF/s | concat GF/s | rel err f64 |")
    print("|-----:|-----:|-----:|-----------|-----------:|---------|-----------:|------------:|------------:|")
    with torch.inference_mode():
        for si, (K, N) in enumerate(shp):
            rng = Rng(a.seed * 0x100000001b3 + si)
            X = torch.from_numpy(rng.uniform(mmax * K, 1.0).reshape(mmax, K))
            amp = np.float32(3.0) / np.sqrt(np.float32(K))
            W = torch.from_numpy(rng.uniform(N * K, amp).reshape(N, K))
            V = torch.from_numpy(rng.uniform(N * K, amp).reshape(N, K))
            b = torch.from_numpy(rng.uniform(N, 0.5))
            WV = None
            for act in acts:
                g = fns[act]
                gate = act in ("swiglu", "geglu")
                if gate:
                    if WV is None:
                        WV = torch.cat([W, V]).contiguous()

                    def split(x, g=g):
                        return g(F.linear(x, W)) * F.linear(x, V)

                    def concat(x, g=g):
                        h, v = F.linear(x, WV).chunk(2, dim=-1)
                        return g(h) * v
                    variants = [("split", split), ("concat", concat)]
                else:
                    variants = [("linear", lambda x, g=g: g(F.linear(x, W, b)))]
                for M in ms:
                    x = X[:M].contiguous()
                    flops = 2.0 * M * N * K * (2 if gate else 1)
                    rows = sorted(set([0, M // 3, (2 * M) // 3, M - 1]))
                    xr = x[rows].double()
                    if gate:
                        ref = act64(act, xr @ W.double().T) * (xr @ V.double().T)
                    else:
                        ref = act64(act, xr @ W.double().T + b.double())
                    den = ref.abs().max().item()
                    calls, errs = [], []
                    for _, f in variants:
                        t0 = time.perf_counter()
                        y = f(x)
                        first = time.perf_counter() - t0
                        e = (y[rows].double() - ref).abs().max().item() / (den if den > 0 else 1.0)
                        errs.append(e)
                        if not e <= a.tol:
                            bad += 1
                            print(f"torch_peer: MISMATCH M={M} K={K} N={N} {act}: rel err {e:.3e} > {a.tol:.1e}",
                                  file=sys.stderr)
                        calls.append(calibrate(f, x, first, min_s))
                    times = [[] for _ in variants]
                    for rep in range(a.reps):
                        for i in range(len(variants)):
                            v = (i + rep) % len(variants)
                            f = variants[v][1]
                            t0 = time.perf_counter()
                            for _ in range(calls[v]):
                                f(x)
                            done = calls[v]
                            t = time.perf_counter() - t0
                            while t < min_s:
                                f(x)
                                done += 1
                                t = time.perf_counter() - t0
                            times[v].append(t / done)
                    meds = [statistics.median(t) for t in times]
                    best = min(range(len(variants)), key=lambda i: meds[i])
                    gf = [flops / m * 1e-9 for m in meds]
                    for i, (vname, _) in enumerate(variants):
                        rows_out.append([M, K, N, act, "torch-" + vname, a.threads, f"{meds[i]:.9g}", f"{gf[i]:.4f}",
                                         calls[i], a.reps, f"{errs[i]:.3e}"])
                    rows_out.append([M, K, N, act, "torch", a.threads, f"{meds[best]:.9g}", f"{gf[best]:.4f}",
                                     calls[best], a.reps, f"{errs[best]:.3e}"])
                    sp = f"{gf[0]:.1f}" if gate else "-"
                    cc = f"{gf[1]:.1f}" if gate else "-"
                    print(f"| {M:4d} | {K:4d} | {N:4d} | {act:<9s} | {gf[best]:10.1f} | {variants[best][0]:<7s} "
                          f"| {sp:>10s} | {cc:>11s} | {max(errs):11.1e} |", flush=True)
    with open("/proc/loadavg") as f:
        print(f"\nload at the end: {f.read().strip()}")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["M", "K", "N", "act", "peer", "threads", "median_s", "gflops", "calls_per_rep", "reps",
                        "rel_err_vs_f64"])
            w.writerows(rows_out)
    if bad:
        print(f"torch_peer: {bad} check(s) failed: errors beyond --tol {a.tol:.1e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
