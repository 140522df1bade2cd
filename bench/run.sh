#!/usr/bin/env bash
# Runs the benchmark programs given as arguments and prints the table.
# Called by the `bench` target (`make bench`); extra options for every program
# can be passed in BENCH_ARGS (e.g. BENCH_ARGS="--steps 30").
#
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset here, for these commands only:
# set, they force OpenBLAS (PyTorch's BLAS, and the matmul benchmark's) onto its
# older kernels at about half speed. Tests and CI keep the machine's environment.
# The *_cblas variants (our kernels with OpenBLAS's sgemm inside) run without the
# reference; their ratio is taken against the PyTorch time of the plain program.
set -uo pipefail
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for program in "$@"; do
  name=$(basename "$program")
  extra=""
  [[ $name == *_cblas ]] && extra="--no-reference"
  echo "==== $name  (load $(cut -d' ' -f1 /proc/loadavg))"
  # shellcheck disable=SC2086
  "$program" $extra ${BENCH_ARGS:-} | tee -a "$log" || echo "$name failed" >&2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| workload | ours | PyTorch (OpenBLAS for matmul) | unit | speedup | RSS ours MB | RSS PyTorch MB | PyTorch best threads |"
echo "|---|---|---|---|---|---|---|---|"
awk '
  $1 == "row" { name[NR] = $2; ours[NR] = $3; theirs[$2] = $4; unit[NR] = $5; ratio[NR] = $6; rss[NR] = $7;
                rss_t[$2] = $8; thr[$2] = $9; order[++n] = NR }
  END {
    for (i = 1; i <= n; ++i) {
      r = order[i]; nm = name[r]; base = nm; sub(/\+cblas$/, "", base)
      t = theirs[base]; q = ratio[r]
      if (nm != base && t != "nan") q = (unit[r] == "tokens/s") ? ours[r] / t : t / ours[r]
      printf "| %s | %.1f | %s | %s | %s | %s | %s | %s |\n", nm, ours[r], (t == "nan" ? "-" : sprintf("%.1f", t)),
             unit[r], (q == "nan" ? "-" : sprintf("%.2f", q)), rss[r], (rss_t[base] == "nan" ? "-" : rss_t[base]),
             thr[base]
    }
  }' "$log"
