#!/usr/bin/env bash
# One step of a model grown one graph size at a time (mini-mixed): train METHOD on
# generated NODES-node ProsQA graphs (validation on them too) for the epochs up to
# EPOCHS, in runs/prosqa-METHOD-growNODES/, starting from the best model of the
# run FROM as it is when this run is first started (copied to start.ckpt there).
# Coconut trains from epoch 11 as runs/prosqa-coconut-final does there: at stage 6
# and on (every step a thought; the stage number goes on rising every 2 epochs, the
# layout stays that of stage 6 = M, and the optimizer is re-created at each new
# stage), with stage mixing 0.3 and batches grouped by length; pause as thought
# exactly so, w/o curriculum at its one stage (every step a thought) from epoch 11.
# Each growN/command.sh calls this with its own arguments; runs/chain.sh runs them
# in order.
# Resumable: run it again to continue from the last checkpoint.
#   bash runs/grow.sh coconut 20 runs/prosqa-coconut-grow16 14
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: grow.sh METHOD NODES FROM EPOCHS [more coconut_train flags]" >&2; exit 1; }
method=$1 nodes=$2 from=$3 epochs=$4
shift 4
cd "$(dirname "$0")/.."
dir=runs/prosqa-$method-grow$nodes
mkdir -p "$dir"
bash runs/restore.sh "$dir"
if [ ! -e "$dir/start.ckpt" ]; then
  [ -e "$from/$method.ckpt.best" ] || { echo "grow.sh: $from/$method.ckpt.best is missing: run $from first" >&2; exit 1; }
  cp "$from/$method.ckpt.best" "$dir/start.ckpt"
fi
case $method in
  coconut | pause-as-thought)
    layout=(--cot-epochs 1 --start-epoch 11 --epochs-per-stage 2 --max-stage 6 --uniform-prob 0.3 --group-by-length) ;;
  no-curriculum) layout=(--start-epoch 11 --max-stage 6 --group-by-length) ;;  # every epoch at the last stage
  cot | no-cot) layout=() ;;
  *) echo "grow.sh: no layout for method $method" >&2; exit 1 ;;
esac
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes "$nodes" --config mini-mixed \
  --methods "$method" --from "$dir/start.ckpt" "${layout[@]}" --epochs "$epochs" --lr 1e-3 --warmup 200 \
  --grad-clip 1 --batch 32 --seed 0 --out "$dir" --checkpoint-minutes 5 --threads 1 --resume "$@"
