#!/usr/bin/python3
"""bench/gemm/bench_torch.py — the PyTorch (eager, CPU) peer of bench_gemm.

Run in its own process (bench/gemm/run.sh --torch): PyTorch brings its own
OpenMP and BLAS threads.  Same cases and method as bench_gemm: medians of
--reps repetitions, each >= --min-ms.  Options bench_gemm takes but this
script does not use (--peers, --csv, --tol, --seed, --verbose) are ignored.

  y = act(F.linear(x, W, b))                    relu, gelu_tanh, gelu, silu
  y = act(F.linear(x, W)) * F.linear(x, V)      swiglu (silu), geglu (gelu)
"""
import argparse
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("bench_torch: no torch module: scripts/install-bench-deps.sh installs python3-torch "
             "(run with /usr/bin/python3)")

FULL_M = [1, 8, 64, 256, 1024]
FULL_SHAPES = [(512, 2048), (1024, 4096), (4096, 1024), (2048, 2048)]
QUICK_M = [1, 8, 64]
QUICK_SHAPES = [(1024, 4096), (4096, 1024)]
QUICK_ACTS = ["gelu_tanh", "silu", "swiglu"]
ACTS = ["relu", "gelu_tanh", "gelu", "silu", "swiglu", "geglu"]


def ints(s):
    return [int(v) for v in s.split(",")]


def shapes(s):
    return [tuple(int(v) for v in p.lower().split("x")) for p in s.split(",")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--m", type=ints)
    ap.add_argument("--shapes", type=shapes)
    ap.add_argument("--acts", type=lambda s: s.split(","))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-ms", type=float, default=50.0)
    for ignored in ("--peers", "--csv", "--tol", "--seed"):
        ap.add_argument(ignored)
    ap.add_argument("--verbose", "-v", action="store_true")
    a = ap.parse_args()
    ms = a.m or (QUICK_M if a.quick else FULL_M)
    shp = a.shapes or (QUICK_SHAPES if a.quick else FULL_SHAPES)
    acts = a.acts or (QUICK_ACTS if a.quick else ACTS)
    for act in acts:
        if act not in ACTS:
            sys.exit(f"bench_torch: unknown activation {act!r}")
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    print(f"# bench_torch — PyTorch {torch.__version__} eager, {torch.get_num_threads()} thread(s), "
          f"medians of {a.reps} repetitions, each >= {a.min_ms:.0f} ms")
    print("\n|    M |    K |    N | act       | torch GF/s |")
    print("|-----:|-----:|-----:|-----------|-----------:|")
    min_s = a.min_ms * 1e-3
    fns = {
        "relu": F.relu,
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "gelu": F.gelu,
        "silu": F.silu,
    }
    with torch.inference_mode():
        for (K, N) in shp:
            s = 3.0 / K ** 0.5
            W = (torch.rand(N, K) * 2 - 1) * s
            V = (torch.rand(N, K) * 2 - 1) * s
            b = torch.rand(N) - 0.5
            for act in acts:
                if act == "swiglu":
                    def f(x):
                        return F.silu(F.linear(x, W)) * F.linear(x, V)
                elif act == "geglu":
                    def f(x):
                        return F.gelu(F.linear(x, W)) * F.linear(x, V)
                else:
                    g = fns[act]

                    def f(x, g=g):
                        return g(F.linear(x, W, b))
                nproj = 2 if act in ("swiglu", "geglu") else 1
                for M in ms:
                    x = torch.rand(M, K) * 2 - 1
                    t0 = time.perf_counter()
                    f(x)
                    est = time.perf_counter() - t0
                    k = 1
                    while est < min_s:
                        t0 = time.perf_counter()
                        for _ in range(k):
                            f(x)
                        t = time.perf_counter() - t0
                        if t >= min_s / 4:
                            est = t / k
                            break
                        k *= 2
                    calls = max(1, int(min_s / est + 0.999))
                    times = []
                    for _ in range(a.reps):
                        done = 0
                        t0 = time.perf_counter()
                        while done < calls or time.perf_counter() - t0 < min_s:
                            f(x)
                            done += 1
                        times.append((time.perf_counter() - t0) / done)
                    med = statistics.median(times)
                    gf = 2.0 * M * N * K * nproj / med * 1e-9
                    print(f"| {M:4d} | {K:4d} | {N:4d} | {act:<9s} | {gf:10.1f} |", flush=True)


if __name__ == "__main__":
    main()
