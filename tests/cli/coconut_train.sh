#!/usr/bin/env bash
# coconut_train's flags beyond plain training, as far as they need no download:
# --export, --start-epoch, --from, --cot-epochs, --evaluate-only, --group-by-length
# --position-init and --prosqa-nodes on a small word-level run, a mini-mixed run and its resumption, and the errors that name a wrong combination of flags.  Usage: coconut_train.sh COCONUT_TRAIN WORK_DIR
set -uo pipefail
train=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

# Epochs 0-2 at one epoch per stage, starting at epoch 2 (stage 2); the best model
# is exported as Hugging Face GPT-2 with the word list beside it.
args=(--task prosqa --config mini --train-size 32 --valid-size 4 --test-limit 4 --methods coconut
      --epochs 3 --epochs-per-stage 1 --batch 16 --max-new-tokens 8 --threads 1 --out "$work/run")
timeout 300 "$train" "${args[@]}" --start-epoch 2 --export "$work/export" --group-by-length \
  --position-init sinusoidal --prosqa-nodes 12 > "$work/run.log" 2>&1 ||
  { cat "$work/run.log"; fail "the run"; }
cat "$work/run.log"
grep -q "starting at epoch 2 (stage 2)" "$work/run.log" || fail "--start-epoch not applied"
grep -q "32 train, 4 valid (generated, graphs of 12 nodes)" "$work/run.log" || fail "--prosqa-nodes not applied"
grep -q "epoch 0 " "$work/run.log" && fail "epoch 0 trained despite --start-epoch 2"
grep -Eq "validation loss [0-9.]+  accuracy [0-9.]+%  choice [0-9.]+%" "$work/run.log" ||
  fail "no validation loss or ProsQA option choice logged"
grep -Eq "lookup [0-9.]+%" "$work/run.log" || fail "no edge lookup logged"
for f in model.safetensors config.json words.txt; do [ -s "$work/export/$f" ] || fail "no $f exported"; done
words=$(wc -l < "$work/export/words.txt")
grep -Eq "\"vocab_size\": $words,?\$" "$work/export/config.json" || fail "config.json's vocab_size is not the $words words"

# A run that starts from another run's best model (--from), with a CoT stage of
# two epochs (--cot-epochs): epoch 2 is then stage 1, not 2.
timeout 300 "$train" "${args[@]}" --out "$work/from" --from "$work/run/coconut.ckpt.best" --cot-epochs 2 \
  --start-epoch 2 > "$work/from.log" 2>&1 || { cat "$work/from.log"; fail "the run with --from"; }
grep -q "starting at epoch 2 (stage 1)" "$work/from.log" || { cat "$work/from.log"; fail "--cot-epochs not applied"; }
[ -s "$work/from/coconut.ckpt.best" ] || fail "no best model from the run with --from"

# --evaluate-only scores the --from model and trains nothing.
timeout 300 "$train" "${args[@]}" --out "$work/eval" --from "$work/from/coconut.ckpt.best" --evaluate-only \
  > "$work/eval.log" 2>&1 || { cat "$work/eval.log"; fail "the run with --evaluate-only"; }
grep -q "without training (--evaluate-only)" "$work/eval.log" || { cat "$work/eval.log"; fail "no --evaluate-only"; }
grep -Eq "^coconut +[0-9.]+%" "$work/eval.log" || { cat "$work/eval.log"; fail "no score from --evaluate-only"; }
grep -q "stage 0  step" "$work/eval.log" && fail "--evaluate-only trained"
grep -Eq "^validation \([0-9]+ samples, generated, graphs of [0-9]+ nodes\): accuracy [0-9.]+%, choice [0-9.]+%" \
  "$work/eval.log" || { cat "$work/eval.log"; fail "no validation score from --evaluate-only"; }
grep -Eq "^method +accuracy +choice +edge steps" "$work/eval.log" || { cat "$work/eval.log"; fail "no edge steps column"; }
grep -Eq "^lookup without looking up: [0-9.]+% naming a node at random, [0-9.]+% by how often" "$work/eval.log" ||
  { cat "$work/eval.log"; fail "no chance of the lookup"; }

# A model with rotary positions and previous-token mixing (--config mini-mixed)
# trains, checkpoints and scores, and a run resumed from its checkpoint goes on.
timeout 300 "$train" "${args[@]}" --config mini-mixed --out "$work/mixed" --epochs 1 > "$work/mixed.log" 2>&1 ||
  { cat "$work/mixed.log"; fail "the mini-mixed run"; }
grep -Eq "^coconut +[0-9.]+%" "$work/mixed.log" || { cat "$work/mixed.log"; fail "no score from mini-mixed"; }
[ -s "$work/mixed/coconut.ckpt.best" ] || fail "no best model from the mini-mixed run"
timeout 300 "$train" "${args[@]}" --config mini-mixed --out "$work/mixed" --epochs 2 --resume > "$work/mixed2.log" 2>&1 ||
  { cat "$work/mixed2.log"; fail "the resumed mini-mixed run"; }
grep -q "epoch 1 " "$work/mixed2.log" || { cat "$work/mixed2.log"; fail "the resumed mini-mixed run trained no epoch 1"; }

# Wrong combinations stop before any work, naming the flag.
expect_error() {  # expect_error MESSAGE ARGS...
  local message=$1; shift
  "$train" "$@" > "$work/error.log" 2>&1 && fail "no error for: $*"
  grep -qF -- "$message" "$work/error.log" || { cat "$work/error.log"; fail "'$message' not in the error for: $*"; }
}
expect_error "add --tokenizer gpt2" --init "$work/export/model.safetensors"
expect_error "--tokenizer gpt2 needs --config gpt2" --tokenizer gpt2 --config small
expect_error "--task gsm8k needs --train" --task gsm8k
expect_error "--tokenizer must be word or gpt2" --tokenizer bytes
expect_error "--position-init must be normal or sinusoidal, not helix" --position-init helix
expect_error "--position-init initialises a model trained from scratch" --position-init sinusoidal \
  --from "$work/run/coconut.ckpt.best"
expect_error "'mini-rotary' has rotary positions" --config mini-rotary --position-init sinusoidal
expect_error "written for model 'mini' (n_layer=2" "${args[@]}" --config mini-mixed --out "$work/bad" --from "$work/run/coconut.ckpt.best"
expect_error "--export writes Hugging Face GPT-2, and 'mini-mixed' is not" --config mini-mixed --export "$work/bad"
expect_error "--prosqa-nodes must be in [6, 40]" --prosqa-nodes 5
expect_error "not 4000000000" --prosqa-nodes 4000000000  # named as given, not wrapped
expect_error "--prosqa-nodes needs --task prosqa" --task prontoqa --prosqa-nodes 28
expect_error "--start-epoch must be in [0, --epochs)" --epochs 3 --start-epoch 3
expect_error "pick one" --init "$work/export/model.safetensors" --from "$work/run/coconut.ckpt.best" --tokenizer gpt2 \
  --config gpt2
expect_error "give it with --from" --evaluate-only
expect_error "is not a coconut checkpoint" "${args[@]}" --out "$work/bad" --from "$work/export/config.json"
echo '[{"question": "1 + 1?", "steps": ["<<1+1=2>>"], "answer": "2"}]' > "$work/gsm.json"
expect_error "no GPT-2 tokenizer there" --task gsm8k --train "$work/gsm.json" --valid "$work/gsm.json" \
  --test "$work/gsm.json" --tokenizer-dir "$work/none" --out "$work/run"
echo "1 passed, 0 failed"
