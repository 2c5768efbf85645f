#!/usr/bin/env bash
# Two versions of the fused linear (logistic) outer pass timed in one process,
# alternately (tools/outer-pass-ab.c): their outputs compared bit for bit, then the
# median of new / base per repetition and each one's ratio to the peak-FMA loop
# measured in the same repetition. Needs clang and MNIST's training set.
# Usage: tools/outer-pass-ab.sh BASE_DIR [NEW_DIR, default Sources/CDistillKernels] [repetitions, default 15] [rows, default 30000]
# Environment: OUTER_INPUT=mnist (default; MNIST's training bytes), random (uniform
#   random bytes: dense) or mixed (MNIST with every 5th row all zero, every 7th row
#   random bytes and every 3rd row's pixels 256..<512 zero);
#   OUTER_NEW_ZEROS=auto|dense|skipped: the new version's treatment of zero chunks
#   (default auto); OUTER_NEW_MASKS=given|found: the new version is given the image
#   set's chunk masks, found once before timing as OuterPass does (default, when the new
#   version has distill_outer_chunk_masks), or finds them in each pass;
#   OUTER_NEW_CFLAGS: extra flags for the new version's compile (e.g. -DOUTER_SPARSE_PAIRED=0).
#   A base version that has distill_outer_chunk_masks is run the same way as the new one
#   (zero chunks, masks), so that two variants of the sparse pass can be compared.
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
rename="-Ddistill_outer_ldw=XX_outer_ldw -Ddistill_outer_scratch_count=XX_outer_scratch_count -Ddistill_outer_has_avx512=XX_outer_has_avx512 -Ddistill_outer_rows=XX_outer_rows -Ddistill_outer_rows_with=XX_outer_rows_with -Ddistill_outer_chunk_masks=XX_outer_chunk_masks -Ddistill_outer_mask_words=XX_outer_mask_words"
zeros="${OUTER_NEW_ZEROS:-auto}"
case "$zeros" in auto) zdef=-DNEW_ZEROS=0 ;; dense) zdef=-DNEW_ZEROS=1 ;; skipped) zdef=-DNEW_ZEROS=2 ;;
    *) echo "outer-pass-ab.sh: OUTER_NEW_ZEROS: expected auto, dense or skipped, got '$zeros'" >&2; exit 1 ;; esac
masks="${OUTER_NEW_MASKS:-given}"
case "$masks" in given) mdef=-DNEW_MASKS=1 ;; found) mdef=-DNEW_MASKS=0 ;;
    *) echo "outer-pass-ab.sh: OUTER_NEW_MASKS: expected given or found, got '$masks'" >&2; exit 1 ;; esac
if ! grep -q distill_outer_chunk_masks "$new/outer_pass.c"; then   # an older new version: distill_outer_rows
    [ "$zeros" = auto ] && [ "$masks" = given ] || { echo "outer-pass-ab.sh: $new has no distill_outer_rows_with" >&2; exit 1; }
    zdef=-DNEW_ZEROS=-1; masks="none"
fi
input="${OUTER_INPUT:-mnist}"
case "$input" in mnist) idef=0 ;; random) idef=1 ;; mixed) idef=2 ;;
    *) echo "outer-pass-ab.sh: OUTER_INPUT: expected mnist, random or mixed, got '$input'" >&2; exit 1 ;; esac
bdef=-DBASE_WITH=0
grep -q distill_outer_chunk_masks "$base/outer_pass.c" && [ "$masks" != none ] && bdef=-DBASE_WITH=1
clang -O2 -c ${rename//XX/base} -I"$base/include" -I"$base" "$base/outer_pass.c" -o "$work/base.o"
clang -O2 -c ${OUTER_NEW_CFLAGS:-} ${rename//XX/new} -I"$new/include" -I"$new" "$new/outer_pass.c" -o "$work/new.o"
# distill_peak_fma and distill_outer_ldw (the same in both) from the new version, unrenamed.
clang -O2 -c -I"$new/include" -I"$new" "$new/neural_kernel_pass.c" -o "$work/peak.o"
clang -O2 -c -I"$new/include" -I"$new" "$new/outer_pass.c" -o "$work/outer.o"
clang -O2 $zdef $mdef $bdef -DINPUT=$idef -I"$new/include" tools/outer-pass-ab.c "$work/base.o" "$work/new.o" "$work/peak.o" "$work/outer.o" -lm -o "$work/ab"
echo "base: $base"; echo "new: $new ${OUTER_NEW_CFLAGS:-}, zero chunks $zeros, masks $masks; input $input"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/ab" "$work/images" "$work/labels" "$rows" "$reps"
