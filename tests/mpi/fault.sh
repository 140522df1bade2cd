#!/usr/bin/env bash
# A rank that fails takes the job down with a message naming it (no hang), the
# last checkpoint stays intact, and the run resumes from it with another number
# of ranks (here: alone).  Usage: fault.sh COCONUT_TRAIN WORK_DIR
set -uo pipefail
train=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
args=(--task prontoqa --config mini --train-size 48 --valid-size 8 --test-limit 8 --methods coconut
      --max-stage 1 --epochs-per-stage 1 --epochs 2 --batch 4 --lr 1e-3 --max-new-tokens 8
      --threads 1 --checkpoint-minutes 0 --out "$work/run")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

timeout 300 mpirun -np 2 "$train" "${args[@]}" --fail-at-step 4 --fail-rank 1 > "$work/fail.log" 2>&1
status=$?
cat "$work/fail.log"
[ $status -ne 0 ] && [ $status -ne 124 ] || { echo "FAIL: the job should have stopped with an error (status $status)"; exit 1; }
grep -q "rank 1 of 2 failed: failing on purpose after step 4" "$work/fail.log" || { echo "FAIL: no message naming rank 1"; exit 1; }
[ -f "$work/run/coconut.ckpt" ] || { echo "FAIL: no checkpoint left"; exit 1; }

timeout 300 "$train" "${args[@]}" --resume > "$work/resume.log" 2>&1 || { cat "$work/resume.log"; echo "FAIL: resume"; exit 1; }
cat "$work/resume.log"
grep -q "resumed from" "$work/resume.log" || { echo "FAIL: did not resume"; exit 1; }
grep -q "checkpoint steps were 8 rows, now 4" "$work/resume.log" || { echo "FAIL: K change not noticed"; exit 1; }
echo "1 passed, 0 failed"
