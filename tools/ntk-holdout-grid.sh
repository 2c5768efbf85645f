#!/usr/bin/env bash
# Runs `distill run` on the held-out split (tools/make-holdout-split.py: accuracy on
# the last 10,000 TRAINING images, never the test split) once per line of a
# settings file, appending one row per run to a results file:
#   ipc <tab> settings <tab> held-out accuracy % <tab> readability <tab> wall s <tab> learned l2
# Usage: tools/ntk-holdout-grid.sh SETTINGS_FILE RESULTS_FILE
#   each SETTINGS_FILE line: <images per class> <distill run options...>
set -euo pipefail
settings=$1 results=$2
data=${HOLDOUT:-/tmp/mnist-holdout}
bin=${DISTILL:-.build/release/distill}
[ -f "$data/t10k-images-idx3-ubyte" ] || python3 tools/make-holdout-split.py data/mnist "$data"
while read -r ipc opts; do
    [ -z "$ipc" ] && continue
    case "$ipc" in \#*) continue;; esac
    out=$(mktemp -d /tmp/ntk-holdout.XXXXXX)
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$bin" run --data "$data" --images-per-class "$ipc" $opts --out "$out" > "$out/log.txt" 2>&1 || { echo "failed: $ipc $opts (see $out/log.txt)" >&2; continue; }
    end=$(date +%s.%N)
    python3 - "$out/metrics.json" "$ipc" "$opts" "$start" "$end" >> "$results" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
r = m.get("readability") or {}
corr = (r.get("class_mean_correlation") or {}).get("mean", float("nan"))
print(f"{sys.argv[2]}\t{sys.argv[3]}\t{100 * m['test_accuracy']:.2f}\t{corr:.3f}\t{float(sys.argv[5]) - float(sys.argv[4]):.0f}\t{m.get('learned_l2', float('nan'))}")
PY
    tail -1 "$results"
    rm -rf "$out"
done < "$settings"
