#!/usr/bin/env bash
# Two versions of the fused linear (logistic) outer pass timed in one process,
# alternately (tools/outer-pass-ab.c): their outputs compared bit for bit, then the
# median of new / base per repetition and each one's ratio to the peak-FMA loop
# measured in the same repetition. Needs clang and MNIST's training set.
# Usage: tools/outer-pass-ab.sh BASE_DIR [NEW_DIR, default Sources/CDistillKernels] [repetitions, default 15] [rows, default 30000]
#   mkdir /tmp/main && git archive main Sources/CDistillKernels | tar -x -C /tmp/main
#   tools/outer-pass-ab.sh /tmp/main/Sources/CDistillKernels
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && [ -f "$1/outer_pass.c" ] || { echo "outer-pass-ab.sh: expected a folder with outer_pass.c, got '${1:-}'" >&2; exit 1; }
base="$(realpath "$1")"; new="$(realpath "${2:-Sources/CDistillKernels}")"; reps="${3:-15}"; rows="${4:-30000}"
work="$(mktemp -d /tmp/distill-outer-ab.XXXXXX)"
trap 'rm -rf "$work"' EXIT
source tools/mnist-training-files.sh
mnist_training_files outer-pass-ab.sh "" "$work"
rename="-Ddistill_outer_ldw=XX_outer_ldw -Ddistill_outer_scratch_count=XX_outer_scratch_count -Ddistill_outer_has_avx512=XX_outer_has_avx512 -Ddistill_outer_rows=XX_outer_rows"
clang -O2 -c ${rename//XX/base} -I"$base/include" -I"$base" "$base/outer_pass.c" -o "$work/base.o"
clang -O2 -c ${rename//XX/new} -I"$new/include" -I"$new" "$new/outer_pass.c" -o "$work/new.o"
# distill_peak_fma and distill_outer_ldw (the same in both) from the new version, unrenamed.
clang -O2 -c -I"$new/include" -I"$new" "$new/neural_kernel_pass.c" -o "$work/peak.o"
clang -O2 -c -I"$new/include" -I"$new" "$new/outer_pass.c" -o "$work/outer.o"
clang -O2 -I"$new/include" tools/outer-pass-ab.c "$work/base.o" "$work/new.o" "$work/peak.o" "$work/outer.o" -lm -o "$work/ab"
echo "base: $base"; echo "new: $new"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/ab" "$work/images" "$work/labels" "$rows" "$reps"
