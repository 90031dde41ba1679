#!/usr/bin/env bash
# Golden-file runner (style.md §9).
#   run_golden.sh errors   ACTC DIR   each DIR/*.act must fail `actc check` with exit 1
#                                     and stderr equal to DIR/NAME.err
#   run_golden.sh parse    ACTC DIR   `actc dump --ast NAME.act` equals DIR/NAME.ast
#   run_golden.sh dump     ACTC DIR   the first line of each DIR/NAME.act is "# dump: ARGS";
#                                     `actc dump ARGS NAME.act` must exit 0 and print DIR/NAME.out
#   run_golden.sh examples ACTC DIR   every DIR/**/*.act (but DIR/errors/) checks cleanly:
#                                     exit 0 and no diagnostics at all
# ACTC_UPDATE_GOLDEN=1 rewrites the expected files instead of comparing.
set -u
mode=$1 dir=$3
actc=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")  # absolute: we cd below
update=${ACTC_UPDATE_GOLDEN:-0}
fail=0 n=0
cd "$dir" || exit 1

compare() { # expected-file actual-text label
  if [ "$update" = 1 ]; then printf '%s' "$2" > "$1"; return 0; fi
  if [ ! -f "$1" ]; then echo "FAIL $3: missing expected file $1"; return 1; fi
  if [ "$(cat "$1")" != "$2" ]; then
    echo "FAIL $3: output differs from $1"
    diff -u "$1" <(printf '%s' "$2") | head -40
    return 1
  fi
}

case $mode in
errors)
  for f in *.act; do
    n=$((n+1))
    out=$(timeout 20 "$actc" check "$f" 2>&1 >/dev/null); rc=$?
    if [ $rc -ne 1 ]; then echo "FAIL $f: exit status $rc, expected 1"; fail=$((fail+1)); continue; fi
    compare "${f%.act}.err" "$out" "$f" || fail=$((fail+1))
  done ;;
parse)
  for f in *.act; do
    n=$((n+1))
    out=$(timeout 20 "$actc" dump --ast "$f" 2>&1); rc=$?
    if [ $rc -ne 0 ]; then echo "FAIL $f: exit status $rc"; echo "$out"; fail=$((fail+1)); continue; fi
    compare "${f%.act}.ast" "$out" "$f" || fail=$((fail+1))
  done ;;
dump)
  for f in *.act; do
    n=$((n+1))
    args=$(head -n1 "$f" | sed -n 's/^# dump: //p')
    if [ -z "$args" ]; then echo "FAIL $f: first line must be '# dump: ARGS'"; fail=$((fail+1)); continue; fi
    # shellcheck disable=SC2086
    out=$(timeout 20 "$actc" dump $args "$f" 2>&1); rc=$?
    if [ $rc -ne 0 ]; then echo "FAIL $f: exit status $rc"; echo "$out"; fail=$((fail+1)); continue; fi
    compare "${f%.act}.out" "$out" "$f" || fail=$((fail+1))
  done ;;
examples)
  while IFS= read -r f; do
    n=$((n+1))
    out=$(timeout 20 "$actc" check "$f" 2>&1); rc=$?
    if [ $rc -ne 0 ] || [ -n "$out" ]; then
      echo "FAIL $f: exit status $rc"; echo "$out"; fail=$((fail+1))
    fi
  done < <(find . -name '*.act' -not -path './errors/*' | sort) ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
echo "$mode: $((n-fail))/$n passed"
[ $n -gt 0 ] && [ $fail -eq 0 ]
