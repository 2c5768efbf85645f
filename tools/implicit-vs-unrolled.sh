#!/usr/bin/env bash
# Implicit versus unrolled hypergradients on MNIST: time, peak memory and
# agreement, for 1 and 10 images per class and N = 10, 100, 500.
#
# Each configuration runs in its own process (`distill check --measure`), so
# that its peak resident memory (VmHWM, reset after loading the data) is its
# own. Prints a Markdown table.
#
# Usage: tools/implicit-vs-unrolled.sh [path/to/distill] [extra check options...]
set -euo pipefail
distill=${1:-.build/release/distill}
shift || true
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for k in 1 10; do
    "$distill" check --measure implicit --images-per-class "$k" --json "$@" >> "$results"
    for n in 10 100 500; do
        "$distill" check --measure unrolled --unroll-steps "$n" --images-per-class "$k" --json "$@" >> "$results"
    done
done
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print("| images | method | ms per hypergradient | of which outer pass | peak RSS (MiB) | above baseline (MiB) | stored iterates (MiB) | rel. error vs implicit (tight) |")
print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    name = "implicit" if r["method"] == "implicit" else f"unrolled N = {r['unroll_steps']}"
    mib = lambda b: f"{b / 1048576:.1f}"
    print(f"| {r['images']} | {name} | {1000 * r['seconds']:.1f} | {1000 * r['outer_pass_seconds']:.1f} | {mib(r['peak_bytes'])} | "
          f"{mib(r['peak_bytes'] - r['baseline_bytes'])} | {r['stored_iterate_bytes'] / 1048576:.2f} | {r['error_versus_implicit']:.2e} |")
PY
