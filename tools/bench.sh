#!/usr/bin/env bash
# Benchmarks the release build against the issue's goals, all in one run:
#   - `distill bench --json` at 1 and 10 synthetic images per class (medians of
#     the outer pass, warm inner solve, CG, hypergradient, whole step, loading);
#   - the numpy two-GEMM reference (tools/bench-reference.py) on the same data;
#   - the default `distill run` under /usr/bin/time (wall time and peak memory).
# and prints a table: ratio numpy / fused, the pass against the compute bound
# measured in the same run (`distill bench`'s peak FMA loop on the same threads,
# just before each pass: the median of pass / bound), step / pass ratios, run
# time and memory against their targets.
#
# Usage: tools/bench.sh [--repetitions N] [--threads T]
# Environment: SCRATCH_PATH (SwiftPM scratch folder, default .build),
#              PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

repetitions=30
threads=2
while [ $# -gt 0 ]; do
    case "$1" in
        --repetitions) repetitions="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "tools/bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
scratch="${SCRATCH_PATH:-.build}"
python="${PYTHON:-python3}"
work="$(mktemp -d /tmp/distill-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "Building (release, scratch path $scratch)..." >&2
swift build -c release --scratch-path "$scratch" >&2
distill="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/distill"

echo "distill bench, 1 and 10 images per class..." >&2
"$distill" bench --json --images-per-class 1 --repetitions "$repetitions" --threads "$threads" > "$work/bench-1.json"
"$distill" bench --json --images-per-class 10 --repetitions "$repetitions" --threads "$threads" > "$work/bench-10.json"

echo "numpy reference..." >&2
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" tools/bench-reference.py --json \
    --repetitions "$repetitions" > "$work/numpy.json"

echo "default distill run under /usr/bin/time..." >&2
/usr/bin/time -v "$distill" run --out "$work/out" --quiet > "$work/run.txt" 2> "$work/time.txt"

"$python" - "$work" <<'PY'
import json, re, sys

work = sys.argv[1]
one = json.load(open(f"{work}/bench-1.json"))
ten = json.load(open(f"{work}/bench-10.json"))
numpy = json.load(open(f"{work}/numpy.json"))
timing = open(f"{work}/time.txt").read()

def field(pattern):
    match = re.search(pattern, timing)
    if not match:
        sys.exit(f"tools/bench.sh: /usr/bin/time gave no '{pattern}'")
    return match.group(1)

wall = field(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
seconds = sum(float(part) * 60 ** i for i, part in enumerate(reversed(wall.split(":"))))
peak_mb = int(field(r"Maximum resident set size \(kbytes\): (\d+)")) * 1024 / 1e6
summary = open(f"{work}/run.txt").read().strip().splitlines()

fused = one["outer_pass_ms"]
rows = [
    ("outer pass (fused), 1 / 10 per class", f"{one['outer_pass_ms']:.2f} / {ten['outer_pass_ms']:.2f} ms", "<= 12 ms"),
    ("outer pass GFLOP/s, GB/s", f"{one['outer_pass_gflops']:.1f}, {one['outer_pass_gbps']:.2f}", ""),
    ("numpy two-GEMM pass", f"{numpy['numpy_outer_pass_ms']:.2f} ms", ""),
    ("numpy one-pass (row blocks) pass", f"{numpy['numpy_blocked_outer_pass_ms']:.2f} ms", ""),
    ("ratio numpy / fused", f"{numpy['numpy_outer_pass_ms'] / fused:.2f}x", ">= 4x"),
]
for name, b in (("1 per class", one), ("10 per class", ten)):
    rows += [(f"{name}: pass / compute bound (peak FMA loop {b['peak_gflops']:.0f} GFLOP/s, same run)",
              f"{b['outer_pass_to_bound_ratio']:.2f}x", "<= 1.3x")]
for name, b in (("1 per class", one), ("10 per class", ten)):
    rows += [
        (f"{name}: inner solve / linear solve / hypergradient", f"{b['inner_solve_ms']:.2f} / {b['linear_solve_ms']:.2f} / {b['hypergradient_ms']:.2f} ms", ""),
        (f"{name}: whole step", f"{b['step_ms']:.2f} ms", ""),
        (f"{name}: step / pass, paired (of medians)",
         f"{b['step_to_pass_ratio']:.2f}x ({b['step_ms'] / b['outer_pass_ms']:.2f}x)", "<= 1.3x"),
    ]
rows += [
    ("data loading", f"{one['load_ms']:.1f} ms", ""),
    ("bench peak RSS, 1 / 10 per class", f"{one['peak_rss_bytes'] / 1e6:.1f} / {ten['peak_rss_bytes'] / 1e6:.1f} MB", ""),
    ("threads", f"{one['threads']}", ""),
    ("default `distill run`: wall time", f"{seconds:.2f} s", "< 10 s"),
    ("default `distill run`: peak memory", f"{peak_mb:.1f} MB", "< 200 MB"),
]
width = max(len(r[0]) for r in rows)
vwidth = max(len(r[1]) for r in rows)
print(f"{'':{width}}  {'measured':{vwidth}}  goal")
for name, value, goal in rows:
    print(f"{name:{width}}  {value:{vwidth}}  {goal}".rstrip())
print("default run:", summary[-2] if len(summary) >= 2 else "")
print("\nraw: distill bench (1 per class):", json.dumps(one, sort_keys=True))
print("raw: distill bench (10 per class):", json.dumps(ten, sort_keys=True))
print("raw: numpy:", json.dumps(numpy, sort_keys=True))
PY
