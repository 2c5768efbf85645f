#!/usr/bin/env bash
# Fuzzes the IDX reader (IDX.decode, raw and gzip) with libFuzzer and AddressSanitizer
# for a bounded time, starting from the seed corpus in Tests/Fuzz/corpus.
#
#   tools/fuzz.sh [seconds]        # default 60
#
# Builds .build-fuzz/fuzz-idx from the DistillIO sources and Tests/Fuzz/FuzzIDX.swift
# with swiftc (no SwiftPM: the sanitizers stay out of the rest of the package), runs
# it, and prints the number of executions. Exits non-zero on any crash, trap, leak,
# timeout (10 s on one input) or out-of-memory; the input that caused it is saved as
# .build-fuzz/crash-* (or leak-*, timeout-*, oom-*) and can be replayed with
# `.build-fuzz/fuzz-idx <file>`. New inputs found go to .build-fuzz/corpus, not the seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build=.build-fuzz
mkdir -p "$build/corpus"

started=$(date +%s)
clang -O2 -g -fsanitize=fuzzer-no-link,address -I Sources/CPNGRead/include $(pkg-config --cflags libpng) \
    -c Sources/CPNGRead/png_read.c -o "$build/png_read.o"
# DistillIO imports DistillImages (the labelled-image type): built first as its own module.
swiftc -O -g -parse-as-library -sanitize=address -wmo -module-name DistillImages \
    -emit-module -emit-module-path "$build/DistillImages.swiftmodule" -c Sources/DistillImages/*.swift -o "$build/DistillImages.o"
swiftc -O -g -parse-as-library -sanitize=fuzzer,address -use-ld=lld -module-name DistillIO -I "$build" \
    -I Sources/CZlib -I Sources/CPNG -I Sources/CPNGRead/include \
    $(pkg-config --cflags-only-I libpng | sed 's/-I/-Xcc -I/g') \
    Sources/DistillIO/*.swift Tests/Fuzz/FuzzIDX.swift "$build/png_read.o" "$build/DistillImages.o" -o "$build/fuzz-idx"
echo "fuzz: built $build/fuzz-idx in $(( $(date +%s) - started )) s; fuzzing for $seconds s"

status=0
# Swift's own crash backtracer trips AddressSanitizer; libFuzzer reports crashes itself.
SWIFT_BACKTRACE=enable=no "$build/fuzz-idx" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/" "$build/corpus" Tests/Fuzz/corpus \
    >"$build/fuzz.log" 2>&1 || status=$?
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz.log" | tail -1)
if [ "$status" -ne 0 ]; then
    tail -n 40 "$build/fuzz.log"
    echo "fuzz: FAILED (libFuzzer exit status $status) after ${executions:-?} executions; see $build/fuzz.log" >&2
    exit 1
fi
echo "fuzz: ${executions:-?} executions in $seconds s, no crash ($(ls "$build/corpus" | wc -l) inputs in $build/corpus)"
