#!/usr/bin/env bash
# The accuracy section of docs/inner-models-and-unrolling.md: test accuracy by
# inner model with JAXopt's setting (noise start, free pixels, no pull, one-hot
# labels, fixed L2, constant rate 0.03, 200 steps), at 1 and 10 images per class,
# each row one `distill run` whose options are printed with its result.
#
# Usage: tools/inner-model-accuracy.sh [path/to/distill] [scratch folder]
# Prints a Markdown table: options, images per class, test accuracy, train loss.
set -euo pipefail
cd "$(dirname "$0")/.."
distill=${1:-.build/release/distill}
work=${2:-$(mktemp -d /tmp/distill-inner-accuracy.XXXXXX)}
mkdir -p "$work"
jaxopt="--init noise --pixel-range none --pull 0 --learn-labels off --learn-l2 off --schedule constant --learning-rate 0.03 --steps 200"
rows=(
  "1 --model logistic"
  "10 --model logistic"
  "1 --model logistic --init real"
  "10 --model logistic --init real"
  "1 --model ridge"
  "10 --model ridge"
  "1 --model ridge --init real"
  "10 --model ridge --init real"
  "1 --model ridge --l2 0.001"
  "1 --model kernel-ridge"
  "10 --model kernel-ridge"
  "1 --model kernel-ridge --init real"
  "10 --model kernel-ridge --init real"
  "1 --model kernel-ridge --l2 0.01"
  "1 --model kernel-ridge --l2 0.001"
  "1 --model kernel-ridge --l2 0.0001"
  "1 --model kernel-ridge --l2 0.0001 --init real"
  "10 --model kernel-ridge --l2 0.0001 --init real"
  "1 --model logistic --hypergradient unrolled --unroll-steps 100"
  "1 --model logistic --hypergradient unrolled --unroll-steps 10"
)
echo "| options (with \`$jaxopt\`) | images per class | test accuracy | train loss | seconds per step |"
echo "| --- | ---: | ---: | ---: | ---: |"
i=0
for row in "${rows[@]}"; do
    k=${row%% *}; opts=${row#* }
    out="$work/row-$i"; i=$((i + 1))
    # shellcheck disable=SC2086
    "$distill" run $jaxopt $opts --images-per-class "$k" --out "$out" --replace --quiet > /dev/null
    python3 - "$out/metrics.json" "$opts" "$k" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"| `{sys.argv[2]}` | {sys.argv[3]} | {100 * m['test_accuracy']:.2f}% | {m['train_loss']:.4f} | {m['seconds_per_step']:.3f} |")
PY
done
