#!/usr/bin/env bash
# Two versions of the fused NNGP/NTK pass timed in one process, alternately
# (tools/nk-pass-ab.c): the median of new / base per repetition, and each one's
# ratio to the peak-FMA loop measured in the same repetition, at m = 10, 100, 500;
# first their outputs (with and without the gradient) compared bit for bit.
# Needs clang and MNIST's training set.
# Usage: tools/nk-pass-ab.sh BASE_DIR [NEW_DIR, default Sources/CDistillKernels] [repetitions, default 15]
#   mkdir /tmp/main && git archive main Sources/CDistillKernels | tar -x -C /tmp/main
#   tools/nk-pass-ab.sh /tmp/main/Sources/CDistillKernels
# NK_COUNTS="10 500" times only those support set sizes; rows: 30000 (m = 10), 20000 (else).
# NK_BASE_CFLAGS / NK_NEW_CFLAGS: extra compiler flags for either version (e.g. -DNK_SUPER_BLOCKS=3).
# NK_INPUT=random: uniformly random bytes instead of MNIST's images (a dense input);
#   NK_INPUT=random40: random bytes, 40% of them nonzero (any percentage 1 to 99).
# NK_DEPTH (default 3), NK_KIND=ntk|nngp (default ntk), NK_LOSS=mse|ce (default mse): the problem.
# Each version is given the image set's row statistics where it has distill_nk_row_statistics
#   (the chunk bits: distill_outer_chunk_masks; NK_NEW_ROWS=off: the new version not).
# NK_NEW_SPARSE=off|on: the new version (which must have distill_nk_rows_with) never / always
#   skips zero pixels (default: its automatic choice).
# NK_NEW_PRODUCTS=fma: the new version's products on the FMA loops, never on AMX tiles
#   (default auto: AMX-INT8 tiles where it has them and the CPU allows, for m <= 16).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && [ -f "$1/neural_kernel_pass.c" ] || { echo "nk-pass-ab.sh: expected a folder with neural_kernel_pass.c, got '${1:-}'" >&2; exit 1; }
base="$(realpath "$1")"; new="$(realpath "${2:-Sources/CDistillKernels}")"; reps="${3:-15}"
work="$(mktemp -d /tmp/distill-nk-ab.XXXXXX)"
trap 'rm -rf "$work"' EXIT
source tools/mnist-training-files.sh
mnist_training_files nk-pass-ab.sh "" "$work"
input="${NK_INPUT:-mnist}"
case "$input" in mnist|random|random[1-9]|random[1-9][0-9]) ;; *) echo "nk-pass-ab.sh: NK_INPUT: expected mnist, random or randomNN, got '$input'" >&2; exit 1;; esac
sparse_flag=""
case "${NK_NEW_SPARSE:-}" in "") ;; off) sparse_flag="-DNEW_SPARSE=1";; on) sparse_flag="-DNEW_SPARSE=2";;
    *) echo "nk-pass-ab.sh: NK_NEW_SPARSE: expected off or on, got '$NK_NEW_SPARSE'" >&2; exit 1;; esac
# A version's AMX products (neural_kernel_amx.c, where it has them), renamed like its pass.
amx_names() { for f in usable scratch_bytes begin end forward backward; do printf -- '-Ddistill_amx_%s=%s_amx_%s ' "$f" "$1" "$f"; done; }
compile_version() {   # name dir extra-flags
    local name="$1" dir="$2" flags="$3" objects="$work/$1-pass.o"
    clang -O2 -c $flags $(amx_names "$name") -Ddistill_nk_rows=${name}_nk_rows -Ddistill_nk_rows_with=${name}_nk_rows_with \
        $([ "$name" = base ] && echo -Ddistill_nk_ldm=base_nk_ldm) -Ddistill_peak_fma=${name}_peak_fma -Ddistill_nk_row_statistics=${name}_nk_row_statistics -Ddistill_nk_exp_log=${name}_nk_exp_log \
        -I"$dir/include" -I"$dir" "$dir/neural_kernel_pass.c" -o "$work/$name-pass.o"
    if [ -f "$dir/neural_kernel_amx.c" ]; then
        clang -O2 -c $flags $(amx_names "$name") -I"$dir/include" -I"$dir" "$dir/neural_kernel_amx.c" -o "$work/$name-amx.o"
        objects="$objects $work/$name-amx.o"
    fi
    ld -r $objects -o "$work/$name.o"
}
compile_version base "$base" "${NK_BASE_CFLAGS:-}"
compile_version new "$new" "${NK_NEW_CFLAGS:-}"
rows_flag=""
case "${NK_NEW_ROWS:-}" in ""|on) ;; off) rows_flag="-DNEW_NO_ROW_STATISTICS";;
    *) echo "nk-pass-ab.sh: NK_NEW_ROWS: expected on or off, got '$NK_NEW_ROWS'" >&2; exit 1;; esac
products_flag=""
case "${NK_NEW_PRODUCTS:-}" in ""|auto) ;; fma) products_flag="-DNEW_PRODUCTS=1";;
    *) echo "nk-pass-ab.sh: NK_NEW_PRODUCTS: expected auto or fma, got '$NK_NEW_PRODUCTS'" >&2; exit 1;; esac
clang -O2 $sparse_flag $rows_flag $products_flag -I"$new/include" tools/nk-pass-ab.c "$work/base.o" "$work/new.o" "$new/outer_pass.c" -lm -o "$work/ab"
echo "base: $base"; echo "new: $new${NK_NEW_SPARSE:+ (sparse $NK_NEW_SPARSE)}${NK_NEW_PRODUCTS:+ (products $NK_NEW_PRODUCTS)}"; echo "input: $input"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in ${NK_COUNTS:-10 100 500}; do
    rows=20000; [ "$m" -le 16 ] && rows=30000
    "$work/ab" "$work/images" "$work/labels" "$m" "$rows" "$reps" "${NK_DEPTH:-3}" "$input" "${NK_KIND:-ntk}" "${NK_LOSS:-mse}"
done
