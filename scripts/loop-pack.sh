#!/usr/bin/env bash
# The zero-flake loop: run the full scenario pack N times in a row (default 20) against the
# embedded environment, stop at the first failure and show its output, then print the pass
# count and the per-run wall times (min / median / max).
#
#   scripts/loop-pack.sh            # 20 runs of `harness run scenarios`
#   scripts/loop-pack.sh 5 -k delivery
#
# Arguments after N go to `harness run` (paths, -k, ...). Exit 0 only if every run passed.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-20}"
shift || true
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/loop-pack.sh [N] [harness run arguments...]  (N a positive integer)" >&2
    exit 2
fi
harness=".venv/bin/harness"
if [[ ! -x "$harness" ]]; then
    echo "loop-pack: $harness not found; run 'make test' or 'make run' once to create .venv" >&2
    exit 2
fi
args=("$@")
if [[ ${#args[@]} -eq 0 ]]; then
    args=(scenarios)
fi

# Each run's report goes to a scratch folder, removed when the run passes (a report is
# ~15 MB); a failing run's report is kept and its path printed.
work="$(mktemp -d -t loop-pack.XXXXXX)"
log="$work/output.txt"
keep=""
trap 'if [[ -z "$keep" ]]; then rm -rf "$work"; else rm -f "$log"; fi' EXIT
times=()
passed=0

summary() {
    if [[ ${#times[@]} -eq 0 ]]; then
        return
    fi
    printf '%s\n' "${times[@]}" | sort -g | awk -v passed="$passed" -v total="$runs" '
        { t[NR] = $1 }
        END {
            median = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
            printf "%d of %d runs passed; wall time per run: min %.2f s, median %.2f s, max %.2f s\n",
                passed, total, t[1], median, t[NR]
        }'
}

for ((i = 1; i <= runs; i++)); do
    start=$(date +%s.%N)
    if "$harness" run "${args[@]}" --report "$work/report-$i" >"$log" 2>&1; then
        status=0
    else
        status=$?
    fi
    end=$(date +%s.%N)
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    times+=("$wall")
    if [[ $status -ne 0 ]]; then
        echo "run $i/$runs FAILED (exit $status) after $wall s; its output:"
        cat "$log"
        keep=1
        echo "its report: $work/report-$i/index.html"
        summary
        exit 1
    fi
    passed=$((passed + 1))
    rm -rf "$work/report-$i"
    echo "run $i/$runs passed in $wall s ($(tail -n 1 "$log"))"
done
summary
