#!/usr/bin/env bash
# The pids of the coconut_train writing to run directory DIR (the --out that its
# command.sh gives, runs/<run>), one a line; exits 1 when none is. Used by
# chain.sh (not to start a run twice) and stop.sh.   bash runs/trainer_pids.sh runs/prosqa-cot-grow28
set -uo pipefail
cd "$(dirname "$0")/.."
pgrep -f "coconut_train[^ ]* .*--out $(realpath --relative-to=. "$1")( |\$)"
