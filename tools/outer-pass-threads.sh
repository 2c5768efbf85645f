#!/usr/bin/env bash
# The fused linear outer pass in C on one thread and on two, each against the peak-FMA
# loop on as many threads measured in the same repetition (tools/outer-pass-threads.c):
# what the kernel reaches without the Swift layer that `distill bench` also times.
# Needs clang, an AVX-512 CPU and MNIST's training set.
# Usage: tools/outer-pass-threads.sh [repetitions, default 21]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-21}"
work="$(mktemp -d /tmp/distill-outer-threads.XXXXXX)"
trap 'rm -rf "$work"' EXIT
source tools/mnist-training-files.sh
mnist_training_files outer-pass-threads.sh "" "$work"
src=Sources/CDistillKernels
clang -O2 -I"$src/include" -I"$src" -Itools tools/outer-pass-threads.c "$src/outer_pass.c" "$src/neural_kernel_pass.c" -lm -lpthread -o "$work/threads"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/threads" "$work/images" "$work/labels" "$reps"
