#!/usr/bin/env bash
# Exact match (and option choice) of a trained model on generated validation
# questions (300, seed 0's) of each graph size, by coconut_train --evaluate-only:
# how far what a model learned on one size carries to others.
#   bash runs/by_size.sh mini-mixed coconut runs/prosqa-coconut-nodes12-mixed/coconut.ckpt.best [12 16 20 24 28]
# The model is scored at its method's last stage with c = 1 and M = 6 (the
# trainer's defaults, those of every run in runs/).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: by_size.sh CONFIG METHOD CHECKPOINT [NODES...]" >&2; exit 1; }
[ -e "$3" ] || { echo "by_size.sh: no checkpoint $3" >&2; exit 1; }
config=$1 method=$2 model=$(realpath "$3")
cd "$(dirname "$0")/.."
shift 3
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(12 16 20 24 28)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "| nodes | exact match | chose the target |"
echo "|---|---|---|"
for n in "${sizes[@]}"; do
  line=$(build/examples/coconut_train --task prosqa --prosqa-nodes "$n" --config "$config" --methods "$method" \
         --from "$model" --evaluate-only --test-limit 1 --threads 1 --out "$out" 2>&1 | grep -a "^validation (" || true)
  [[ $line =~ accuracy\ ([0-9.]+%),\ choice\ ([0-9.]+%) ]] ||
    { echo "by_size.sh: no validation score for $n nodes (rerun the command above to see why)" >&2; exit 1; }
  echo "| $n | ${BASH_REMATCH[1]} | ${BASH_REMATCH[2]} |"
done
