#!/usr/bin/env python3
"""bench/gemm/merge.py — merged tables from the CSVs of bench_gemm and torch_peer.py (standard library only).

  merge.py torch HARNESS_CSV TORCH_CSV   actc against PyTorch, per case and geometric means per batch M
  merge.py scaling CSV [CSV...]          T-thread / 1-thread speedups of bench_gemm --scaling runs
                                         (one CSV per peer process), per case and per batch M

run.sh calls it; the numbers come from different processes run one after the
other on a shared machine, which the output says.
"""
import csv
import math
import sys


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def key(r):
    return (int(r["M"]), int(r["K"]), int(r["N"]), r["act"])


def gmean(v):
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")


def fmt(v, spec=".1f"):
    return "-" if v is None else format(v, spec)


def torch_mode(hpath, tpath):
    h, t = read(hpath), read(tpath)
    gf = {}
    for r in h:
        gf[(key(r), r["peer"])] = float(r["gflops"])
    variant = {}
    for r in t:
        gf[(key(r), r["peer"])] = float(r["gflops"])
    for r in t:  # which variant is the `torch` row
        if r["peer"].startswith("torch-") and abs(float(r["gflops"]) - gf.get((key(r), "torch"), -1)) < 1e-9:
            variant.setdefault(key(r), r["peer"][6:])
    cases = sorted({key(r) for r in h} & {key(r) for r in t}, key=lambda k: (k[1], k[2], k[3], k[0]))
    if not cases:
        sys.exit("merge.py: no case in both CSVs")
    print("\nactc against PyTorch (torch ran in its own process, after bench_gemm; actc, openblas and dnnl-packed "
          "from bench_gemm's process)")
    print("GF/s; actc/torch > 1: actc faster; torch = the faster of F.linear+act, or for gates of the split "
          "(two F.linear) and concat ([W; V], one F.linear + chunk) variants\n")
    print("|    M |    K |    N | act       |   actc | openblas | dnnl-pk |  torch | torch variant | actc/torch "
          "| torch/openblas |")
    print("|-----:|-----:|-----:|-----------|-------:|---------:|--------:|-------:|---------------|-----------:"
          "|---------------:|")
    per_m = {}
    for k in cases:
        a, ob, pk, tt = (gf.get((k, p)) for p in ("actc", "openblas", "dnnl-packed", "torch"))
        r_at = a / tt if a and tt else None
        r_to = tt / ob if tt and ob else None
        d = per_m.setdefault(k[0], {"at": [], "to": [], "ao": [], "apk": []})
        if r_at:
            d["at"].append(r_at)
        if r_to:
            d["to"].append(r_to)
        if a and ob:
            d["ao"].append(a / ob)
        if a and pk:
            d["apk"].append(a / pk)
        print(f"| {k[0]:4d} | {k[1]:4d} | {k[2]:4d} | {k[3]:<9s} | {fmt(a):>6s} | {fmt(ob):>8s} | {fmt(pk):>7s} "
              f"| {fmt(tt):>6s} | {variant.get(k, '-'):<13s} | {fmt(r_at, '.3f'):>10s} | {fmt(r_to, '.3f'):>14s} |")
    print("\nGeometric means per batch M (actc/openblas and actc/dnnl-packed: same process; the torch columns: "
          "across processes)\n")
    print("|    M | cases | actc/torch | torch/openblas | actc/openblas | actc/dnnl-packed |")
    print("|-----:|------:|-----------:|---------------:|--------------:|-----------------:|")
    for m in sorted(per_m):
        d = per_m[m]
        print(f"| {m:4d} | {len(d['at']):5d} | {gmean(d['at']):10.3f} | {gmean(d['to']):14.3f} "
              f"| {gmean(d['ao']):13.3f} | {gmean(d['apk']):16.3f} |")


def scaling_mode(paths):
    gf, th = {}, set()
    for p in paths:
        rows = read(p)
        real = sorted({r["peer"] for r in rows if r["peer"] != "fma-control"})
        for r in rows:
            t = int(r["threads"])
            th.add(t)
            # the FMA-loop control ran in the same rounds as the peer(s) of its file
            for peer in (real if r["peer"] == "fma-control" else [r["peer"]]):
                name = "fma@" + peer if r["peer"] == "fma-control" else peer
                gf[(key(r), name, t)] = float(r["gflops"])
    tmax = max(th)
    if tmax < 2:
        sys.exit("merge.py: no run with more than one thread")
    peers = [p for p in ("actc", "dnnl-packed", "dnnl", "openblas") if any(k[1] == p for k in gf)]
    cases = sorted({k[0] for k in gf}, key=lambda k: (k[1], k[2], k[3], k[0]))
    print(f"\nThread scaling, {tmax} threads / 1 thread: GF/s (each peer in its own process, 1 and {tmax} threads "
          "alternating within it); FMA loop = peak.c's loop timed in the same rounds, the speedup the machine "
          "gave at that moment\n")
    head = "".join(f" {p} 1 thr | {p} {tmax} thr | {p} speedup | FMA loop |" for p in peers)
    print("|    M |    K |    N | act       |" + head)
    print("|-----:|-----:|-----:|-----------|" + "".join("--:|--:|--:|--:|" for _ in peers))
    per = {}
    for k in cases:
        cells = []
        for p in peers:
            a, b = gf.get((k, p, 1)), gf.get((k, p, tmax))
            c1, c2 = gf.get((k, "fma@" + p, 1)), gf.get((k, "fma@" + p, tmax))
            s = b / a if a and b else None
            c = c2 / c1 if c1 and c2 else None
            if s:
                per.setdefault((k[0], p), []).append(s)
            if c:
                per.setdefault((k[0], "fma@" + p), []).append(c)
            cells += [fmt(a), fmt(b), fmt(s, ".3f"), fmt(c, ".3f")]
        print(f"| {k[0]:4d} | {k[1]:4d} | {k[2]:4d} | {k[3]:<9s} | " + " | ".join(cells) + " |")
    print(f"\nSpeedup {tmax} threads / 1 thread per batch M: geometric mean (min..max); FMA loop: the control "
          "of the same process\n")
    print("|    M |" + "".join(f" {p} | FMA loop ({p} run) |" for p in peers))
    print("|-----:|" + "".join("--:|--:|" for _ in peers))
    for m in sorted({k[0] for k in cases}):
        cells = []
        for p in peers:
            for name in (p, "fma@" + p):
                v = per.get((m, name), [])
                cells.append(f"{gmean(v):.3f} ({min(v):.2f}..{max(v):.2f})" if v else "-")
        print(f"| {m:4d} | " + " | ".join(cells) + " |")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "torch":
        torch_mode(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "scaling":
        scaling_mode(sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
