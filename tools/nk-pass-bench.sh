#!/usr/bin/env bash
# The fused NNGP/NTK pass's time against the peak-FMA loop in the same run
# (tools/nk-pass-bench.c), at 1, 10 and 50 images per class (m = 10, 100, 500): one thread on its CPU
# clock (steadier on a shared machine), then both threads on the wall clock.
# Needs clang (the compiler SwiftPM uses) and MNIST's training set.
# Usage: tools/nk-pass-bench.sh [MNIST folder, default data/mnist or ../shared/data/mnist] [repetitions, default 9]
# NK_COUNTS="10 500" times only those support set sizes.
# NK_PROFILE=1: one thread only, with the shares of the pass's phases (rdtsc around each;
#   "bytes, lists": the conversion and, for sparse byte images, the lists of nonzero pixels).
# NK_PARTS=1: one thread only, what each phase costs in place: the pass built nine times
#   (whole, and with each of the eight phases left out: NK_SKIP in the kernel, timing only),
#   the nine run in turn, one repetition each, `repetitions` rounds; medians per version
#   (the lists of nonzero pixels are never left out: the sparse products need them).
# NK_SOURCE=dir times another version of Sources/CDistillKernels, e.g. main's:
#   mkdir /tmp/main && git archive main Sources/CDistillKernels | tar -x -C /tmp/main
#   NK_SOURCE=/tmp/main/Sources/CDistillKernels tools/nk-pass-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${2:-9}"
work="$(mktemp -d /tmp/distill-nk-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
source tools/mnist-training-files.sh
mnist_training_files nk-pass-bench.sh "${1:-}" "$work"
src="$(realpath "${NK_SOURCE:-Sources/CDistillKernels}")"
echo "kernels: $src"
# The AMX products, where this version has them.
amx_source=""; [ -f "$src/neural_kernel_amx.c" ] && amx_source="$src/neural_kernel_amx.c"
clang -O2 ${NK_PROFILE:+-DNK_PROFILE} -DNK_PASS_SOURCE="\"$src/neural_kernel_pass.c\"" -I"$src/include" -I"$src" tools/nk-pass-bench.c "$src/outer_pass.c" $amx_source -lm -lpthread -o "$work/bench"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${NK_PARTS:-}" ]; then
    names=("bytes to Float32" "X S^T" "recursion" "predictions" "loss" "d alpha" "reverse sweep" "D^T X")
    cp "$work/bench" "$work/parts-all"
    for v in 0 1 2 3 4 5 6 7; do
        clang -O2 -DNK_SKIP=$((1 << v)) -DNK_PASS_SOURCE="\"$src/neural_kernel_pass.c\"" -I"$src/include" -I"$src" tools/nk-pass-bench.c "$src/outer_pass.c" $amx_source -lm -lpthread -o "$work/parts-$v"
    done
    median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
    for m in ${NK_COUNTS:-10 100 500}; do
        : > "$work/times"
        for _ in $(seq "$reps"); do
            for v in all 0 1 2 3 4 5 6 7; do
                "$work/parts-$v" "$work/images" "$work/labels" "$m" 1 1 30000 | sed -n "s/.* pass \([0-9.]*\) ms.*/$v \1/p" >> "$work/times"
            done
        done
        whole=$(awk '$1 == "all" {print $2}' "$work/times" | median)
        echo "m $m, 30000 rows, 1 thread (thread CPU time), medians of $reps rounds: the whole pass $whole ms; each phase left out:"
        for v in 0 1 2 3 4 5 6 7; do
            without=$(awk -v v="$v" '$1 == v {print $2}' "$work/times" | median)
            awk -v n="${names[$v]}" -v w="$whole" -v o="$without" 'BEGIN {printf "  %-17s %8.2f ms without it: costs %7.2f ms (%5.1f%%)\n", n, o, w - o, 100 * (w - o) / w}'
        done
    done
    exit 0
fi
for m in ${NK_COUNTS:-10 100 500}; do
    "$work/bench" "$work/images" "$work/labels" "$m" 1 "$reps" 30000
    [ -n "${NK_PROFILE:-}" ] || "$work/bench" "$work/images" "$work/labels" "$m" 2 "$reps"
done
