#!/usr/bin/env bash
# Times loading all 70,000 MNIST images as a class-per-folder PNG tree
# (ImageFolderTree.loadTrainTest: parallel libpng decoding) against loading the
# gzip IDX files they come from, in the same run, and checks both give the same arrays.
#
#   tools/png-tree-bench.sh [repetitions]     # default 5
#
# Builds .build-bench/png-tree-bench from the DistillIO sources and
# tools/PNGTreeBench.swift with swiftc -O (release optimisation, no SwiftPM),
# writes the tree under a temporary folder in /tmp (removed at the end), loads it.
set -euo pipefail
cd "$(dirname "$0")/.."
repetitions="${1:-5}"
build=.build-bench
mkdir -p "$build"
clang -O2 -I Sources/CPNGRead/include $(pkg-config --cflags libpng) \
    -c Sources/CPNGRead/png_read.c -o "$build/png_read.o"
swiftc -O -parse-as-library -module-name DistillIO \
    -I Sources/CZlib -I Sources/CPNG -I Sources/CPNGRead/include \
    $(pkg-config --cflags-only-I libpng | sed 's/-I/-Xcc -I/g') \
    Sources/DistillIO/*.swift tools/PNGTreeBench.swift "$build/png_read.o" -o "$build/png-tree-bench"
work="$(mktemp -d /tmp/distill-png-tree.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$build/png-tree-bench" make "$work"
echo "tree size: $(du -sh "$work" | cut -f1), $(find "$work" -name '*.png' | wc -l) files"
"$build/png-tree-bench" load "$work" "$repetitions"
