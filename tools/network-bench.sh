#!/usr/bin/env bash
# Times one ConvNet-3 evaluation (random real MNIST images, DC's protocol, the whole
# test set) in Distill and in PyTorch on the same machine, one after the other, and
# prints both JSON lines and the ratio of their median seconds per evaluation.
#
# Usage: tools/network-bench.sh [--images-per-class K] [--seeds N] [--epochs E] [--threads T]
# Environment: SCRATCH_PATH (SwiftPM scratch folder, default .build); see
# tools/pytorch-reference.sh for the PyTorch environment.
set -euo pipefail
cd "$(dirname "$0")/.."
per_class=10; seeds=1; epochs=300; threads="$(nproc)"
while [ $# -gt 0 ]; do
    case "$1" in
        --images-per-class) per_class="$2"; shift 2 ;;
        --seeds) seeds="$2"; shift 2 ;;
        --epochs) epochs="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "tools/network-bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
scratch="${SCRATCH_PATH:-.build}"
swift build -c release --scratch-path "$scratch" --product distill-network-bench >/dev/null
ours="$(/usr/bin/time -f '%M' -o /tmp/distill-network-bench.rss "$scratch/release/distill-network-bench" \
        --images-per-class "$per_class" --seeds "$seeds" --epochs "$epochs" --threads "$threads" 2>/dev/null)"
theirs="$(tools/pytorch-reference.sh --images-per-class "$per_class" --seeds "$seeds" --epochs "$epochs" --threads "$threads")"
echo "distill: $ours"
echo "pytorch: $theirs"
python3 - "$ours" "$theirs" <<'PY'
import json, statistics, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
a, b = statistics.median(ours["seconds"]), statistics.median(theirs["seconds"])
print(f"median seconds per evaluation: distill {a:.1f}, pytorch {b:.1f}; pytorch / distill = {b / a:.2f}; "
      f"distill peak memory {ours['peak_rss_mb']:.0f} MB")
print(f"test accuracy: distill {100 * ours['test_accuracy_mean']:.1f} ± {100 * ours['test_accuracy_std']:.1f}%, "
      f"pytorch {100 * theirs['test_accuracy_mean']:.1f} ± {100 * theirs['test_accuracy_std']:.1f}%")
PY
