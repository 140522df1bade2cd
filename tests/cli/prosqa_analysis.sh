#!/usr/bin/env bash
# prosqa_analysis on the shipped Coconut model and the first 30 official validation
# questions: it writes its four reports, the thought table has a row per thought
# with shares in [0, 1], the accuracy table a row per number of thoughts k = 0..M,
# and bad input is refused with the file named.
#   Usage: prosqa_analysis.sh PROSQA_ANALYSIS SOURCE_DIR WORK_DIR
set -uo pipefail
analysis=$1 source=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
model=$source/examples/models/prosqa-coconut.ckpt
valid=$source/../shared/data/prosqa_valid.json

timeout 300 "$analysis" --model "$model" --test "$valid" --limit 30 --out "$work/out" --threads 1 \
  > "$work/run.log" 2>&1 || { cat "$work/run.log"; fail "the analysis"; }
for f in thoughts.md thoughts.svg accuracy_by_thoughts.md accuracy_by_thoughts.svg; do
  [ -s "$work/out/$f" ] || fail "no $f written"
done
for f in thoughts.svg accuracy_by_thoughts.svg; do
  head -c 4 "$work/out/$f" | grep -q "<svg" || fail "$f is not SVG"
  tail -c 8 "$work/out/$f" | grep -q "</svg>" || fail "$f is not a whole SVG"
done
grep -q "30 samples of $valid" "$work/out/thoughts.md" || fail "thoughts.md does not name the samples"

# The first table: thought, step, samples, then 6 shares (the groups and 'no node').
max_stage=$(grep -Eo "M = [0-9]+" "$work/out/thoughts.md" | head -1 | grep -Eo "[0-9]+")
[ -n "$max_stage" ] || fail "thoughts.md does not give M"
awk -F'|' -v m="$max_stage" '
  /^## Probability mass/ { t = 1; next }
  /^## / { t = 0 }
  t && /^\| [0-9]/ {
    rows++
    if (NF != 11) { print "row with " NF - 2 " cells: " $0; bad = 1 }
    for (i = 5; i <= 10; i++) if ($i + 0 < 0 || $i + 0 > 1) { print "share out of [0, 1]: " $0; bad = 1 }
  }
  END { if (rows != m) { print rows " thought rows, M = " m; bad = 1 } exit bad }' "$work/out/thoughts.md" ||
  fail "the thought table"
grep -q "| thought | step | samples | frontier | frontier before | other reachable | unreachable |" \
  "$work/out/thoughts.md" || fail "the thought table's columns"

# The accuracy table: k = 0..M, accuracies in [0, 100].
awk -F'|' -v m="$max_stage" '
  /^\| [0-9]/ { if ($2 + 0 != rows) { print "k " $2 " in row " rows; bad = 1 } rows++
                if ($4 + 0 < 0 || $4 + 0 > 100) { print "accuracy out of range: " $0; bad = 1 } }
  END { if (rows != m + 1) { print rows " rows of k, M = " m; bad = 1 } exit bad }' \
  "$work/out/accuracy_by_thoughts.md" || fail "the accuracy table"

# Bad input: a missing model, and a model without continuous thoughts.
"$analysis" --model "$work/none.ckpt" --out "$work/bad" > "$work/bad.log" 2>&1 && fail "a missing model was accepted"
grep -q "$work/none.ckpt" "$work/bad.log" || { cat "$work/bad.log"; fail "the missing model is not named"; }
"$analysis" --model "$source/examples/models/prosqa-no-cot.ckpt" --out "$work/bad" > "$work/bad.log" 2>&1 &&
  fail "a No-CoT model was accepted"
grep -q "no continuous thoughts" "$work/bad.log" || { cat "$work/bad.log"; fail "no reason given for the No-CoT model"; }
echo "1 passed, 0 failed"
