#!/usr/bin/env bash
# Fuzzes the PNG decoder (PNGDecoder.decode: libpng's row API in Sources/CPNGRead)
# with libFuzzer and AddressSanitizer for a bounded time, from the seeds in
# Tests/Fuzz/png-corpus (small PNGs of several colour types and depths).
#
#   tools/fuzz-png.sh [seconds]        # default 60
#
# Same conventions as tools/fuzz.sh: builds .build-fuzz/fuzz-png, new inputs go to
# .build-fuzz/png-corpus, a failing input is saved as .build-fuzz/crash-* (or leak-*, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build=.build-fuzz
mkdir -p "$build/png-corpus"
clang -O1 -g -fsanitize=fuzzer-no-link,address -I Sources/CPNGRead/include $(pkg-config --cflags libpng) \
    -c Sources/CPNGRead/png_read.c -o "$build/png_read.o"
# DistillIO imports DistillImages (the labelled-image type): built first as its own module.
swiftc -O -g -parse-as-library -sanitize=address -wmo -module-name DistillImages \
    -emit-module -emit-module-path "$build/DistillImages.swiftmodule" -c Sources/DistillImages/*.swift -o "$build/DistillImages.o"
swiftc -O -g -parse-as-library -sanitize=fuzzer,address -use-ld=lld -module-name DistillIO -I "$build" \
    -I Sources/CZlib -I Sources/CPNG -I Sources/CPNGRead/include \
    $(pkg-config --cflags-only-I libpng | sed 's/-I/-Xcc -I/g') \
    Sources/DistillIO/*.swift Tests/Fuzz/FuzzPNG.swift "$build/png_read.o" "$build/DistillImages.o" -o "$build/fuzz-png"
status=0
SWIFT_BACKTRACE=enable=no "$build/fuzz-png" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/" "$build/png-corpus" Tests/Fuzz/png-corpus \
    >"$build/fuzz-png.log" 2>&1 || status=$?
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-png.log" | tail -1)
if [ "$status" -ne 0 ]; then
    tail -n 40 "$build/fuzz-png.log"
    echo "fuzz-png: FAILED (libFuzzer exit status $status) after ${executions:-?} executions; see $build/fuzz-png.log" >&2
    exit 1
fi
echo "fuzz-png: ${executions:-?} executions in $seconds s, no crash"
