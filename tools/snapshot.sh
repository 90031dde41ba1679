#!/usr/bin/env bash
# tools/snapshot.sh ACTC OUTDIR — every observable output of the front end and
# code generator for every shipped model, one file per (model, dump), so that a
# restructuring can be checked byte for byte:  tools/snapshot.sh build/actc /tmp/a;
# (change); tools/snapshot.sh build/actc /tmp/b; diff -r /tmp/a /tmp/b.
# Covers examples/, tests/conformance/fixtures/, tests/golden/*/ and the
# erroneous programs of tests/errors/ (diagnostics text and JSON, exit status).
set -u
actc=$1 out=$2
mkdir -p "$out"
models=$(ls examples/*.act examples/*/*.act tests/conformance/fixtures/*.act tests/golden/*/*.act 2>/dev/null)
for f in $models; do
    key=$(echo "$f" | tr '/' '_')
    names=$(grep -o '^model [A-Za-z_0-9]*' "$f" | awk '{print $2}')
    "$actc" check "$f" > "$out/$key.check" 2>&1; echo "rc=$?" >> "$out/$key.check"
    for m in $names; do
        for d in --graph --graph=lowered --graph=inline --fused --dot --llvm --asm; do
            "$actc" dump $d --model "$m" "$f" > "$out/$key.$m$d" 2>&1
            echo "rc=$?" >> "$out/$key.$m$d"
        done
        "$actc" dump --llvm --fast-math --model "$m" "$f" > "$out/$key.$m.fast.ll" 2>&1
        "$actc" dump --asm --cpu haswell --model "$m" "$f" > "$out/$key.$m.hsw.s" 2>&1
        "$actc" dump --asm --target aarch64-linux-gnu --model "$m" "$f" > "$out/$key.$m.a64.s" 2>&1
    done
done
for f in tests/errors/*.act examples/errors/*.act; do
    key=$(echo "$f" | tr '/' '_')
    "$actc" check "$f" > "$out/$key.err" 2>&1; echo "rc=$?" >> "$out/$key.err"
    "$actc" check --diagnostics=json "$f" > "$out/$key.json" 2>&1; echo "rc=$?" >> "$out/$key.json"
done
"$actc" dump --ast examples/ffn.act > "$out/ast.ffn" 2>&1
