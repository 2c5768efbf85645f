#!/usr/bin/env bash
# Renders a run's report.html with headless Chromium, to look at it as a
# browser shows it.
#
#   tools/report-screenshot.sh [OUT_FOLDER [SCREENSHOT.png [WIDTHxHEIGHT]]]
#
# Defaults: out/, OUT_FOLDER-report.png (beside the run's folder, not in it:
# the folder holds only what distill writes, so `distill run --replace` has
# nothing of ours to keep or to delete), 1200x1600.
# Needs Chromium (Debian: apt-get install -y chromium).
set -euo pipefail
out="${1:-out}"
shot="${2:-${out%/}-report.png}"
size="${3:-1200x1600}"
report="$(cd "$out" && pwd)/report.html"
[ -f "$report" ] || { echo "error: $report: no report; run distill first" >&2; exit 1; }
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$browser" ] || { echo "error: Chromium not found (Debian: apt-get install -y chromium)" >&2; exit 1; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# --no-sandbox: Chromium's sandbox does not start as root or in most containers.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --window-size="${size/x/,}" --screenshot="$shot" "file://$report" 2>/dev/null
echo "Wrote $shot"
