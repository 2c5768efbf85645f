#!/usr/bin/env bash
# The network-evaluation table of docs/network-evaluation.md: trains MLPs and
# ConvNet-3s from scratch (DC's protocol, `distill eval --network`) on random real
# images, the class means, k-means centroids and Distill's distilled sets (logistic
# and NTK models, with their defaults), at 1, 10 and 50 images per class, 5 seeds each,
# and prints the table as Markdown with the mean ± population std of the test accuracy
# and the median seconds per network.
#
# Usage: tools/network-table.sh [--networks "mlp convnet"] [--sizes "1 10 50"] [--seeds N]
#                               [--work DIR] [--augment]
# Every cell is one `distill eval ... --json` command; the commands and their JSON are
# kept in DIR/results.jsonl (default /tmp/distill-network-table), so an interrupted
# table resumes where it stopped. The distilled sets are DIR/sets/<model>-<K>, made by
# `distill run [--model ntk] --images-per-class K` with every other option at its default.
# Environment: DISTILL (the binary; default .build/release/distill, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
networks="mlp convnet"; sizes="1 10 50"; seeds=5; work=/tmp/distill-network-table; augment=""
while [ $# -gt 0 ]; do
    case "$1" in
        --networks) networks="$2"; shift 2 ;;
        --sizes) sizes="$2"; shift 2 ;;
        --seeds) seeds="$2"; shift 2 ;;
        --work) work="$2"; shift 2 ;;
        --augment) augment="--augment"; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "tools/network-table.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
bin="${DISTILL:-.build/release/distill}"
[ -x "$bin" ] || swift build -c release --product distill >/dev/null
mkdir -p "$work/sets"
results="$work/results.jsonl"
touch "$results"

# One cell: name, then the eval options. Skipped when its name is already in results.
cell() {
    local name="$1"; shift
    grep -q "\"cell\":\"$name\"" "$results" && return 0
    local json
    json="$("$bin" eval "$@" $augment --seeds "$seeds" --json)" || { echo "failed: $name: distill eval $*" >&2; return 0; }
    printf '{"cell":"%s","command":"distill eval %s %s --seeds %s --json","result":%s}\n' \
        "$name" "$*" "$augment" "$seeds" "$json" >> "$results"
    echo "done: $name" >&2
}

for k in $sizes; do
    for model in logistic ntk; do
        set_dir="$work/sets/$model-$k"
        [ -f "$set_dir/metrics.json" ] || "$bin" run --model "$model" --images-per-class "$k" --out "$set_dir" --replace --quiet >/dev/null
    done
done
for net in $networks; do
    for k in $sizes; do
        cell "$net/random-real/$k" --baseline random-real --images-per-class "$k" --network "$net"
        if [ "$k" = 1 ]; then
            cell "$net/class-means/1" --baseline class-means --network "$net"
        else
            cell "$net/kmeans/$k" --baseline kmeans --images-per-class "$k" --network "$net"
        fi
        cell "$net/logistic/$k" --distilled "$work/sets/logistic-$k" --network "$net"
        cell "$net/logistic-hard/$k" --distilled "$work/sets/logistic-$k" --network "$net" --labels hard
        cell "$net/ntk/$k" --distilled "$work/sets/ntk-$k" --network "$net"
    done
done

python3 - "$results" "$networks" "$sizes" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    rows[d["cell"]] = d["result"]
networks, sizes = sys.argv[2].split(), sys.argv[3].split()
sets = [("random-real", "random real"), ("class-means", "class means (1 per class)"), ("kmeans", "k-means centroids"),
        ("logistic", "Distill, logistic model (learned labels)"), ("logistic-hard", "the same, class ids (--labels hard)"),
        ("ntk", "Distill, NTK model (learned labels)")]
head = "| training set | " + " | ".join(f"{n} {k}/class" for n in networks for k in sizes) + " |"
print(head)
print("|---|" + "---:|" * (len(networks) * len(sizes)))
for key, title in sets:
    cells = []
    for n in networks:
        for k in sizes:
            r = rows.get(f"{n}/{key}/{k}")
            if r is None:
                cells.append("–")
                continue
            diverged = sum(1 for x in r.get("diverged", []) if x) if isinstance(r.get("diverged"), list) else 0
            mean = r["test_accuracy_mean"]
            text = "nan" if mean != mean else f"{100 * mean:.2f} ± {100 * r['test_accuracy_std']:.2f}"
            if diverged: text += f" ({diverged}/{len(r['seeds'])} diverged, left out)"
            cells.append(text)
    print(f"| {title} | " + " | ".join(cells) + " |")
print()
print("median seconds per network: " + ", ".join(
    f"{name}: {statistics.median(r['seconds']):.1f}" for name, r in sorted(rows.items())))
PY
