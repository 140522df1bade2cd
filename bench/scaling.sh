#!/usr/bin/env bash
# Data-parallel scaling on this machine: the same per-rank work with 1 and 2 ranks.
# --bind-to none: Open MPI binds each rank to one core when there are at most two
# ranks, which would put every OpenMP thread of a rank on that one core.
# Usage: scaling.sh BENCH_SCALING
set -uo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "==== bench_scaling  (load $(cut -d' ' -f1 /proc/loadavg))"
mpirun --bind-to none -np 1 -x OMP_NUM_THREADS=1 "$1" --threads 1
mpirun --bind-to none -np 1 -x OMP_NUM_THREADS=2 "$1" --threads 2
mpirun --bind-to none --oversubscribe -np 2 -x OMP_NUM_THREADS=1 "$1" --threads 1
