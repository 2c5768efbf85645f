#!/usr/bin/env bash
# Measures oneDNN's dnnl_sgemm against a simple own GEMM on ConvNet-3's products
# (tools/network-gemm-bench.c), single-threaded and on all cores, in one run.
# Needs libdnnl-dev and a C compiler. Usage: tools/network-gemm-bench.sh
set -euo pipefail
cd "$(dirname "$0")"
work="$(mktemp -d /tmp/distill-gemm.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cc -O3 -march=native network-gemm-bench.c -o "$work/bench" -ldnnl
for threads in 1 "$(nproc)"; do
    echo "OMP_NUM_THREADS=$threads (the own GEMM is single-threaded):"
    OMP_NUM_THREADS=$threads "$work/bench"
done
