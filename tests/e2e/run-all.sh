#!/usr/bin/env bash
# Runs every tests/e2e/*.test.sh (or the ones named as arguments) and sums up their
# `N passed, M failed` lines. Exits non-zero if any check failed or any script did not finish.
#
#   cargo build -p airlock
#   AWS=/tmp/airlock-venv/bin/aws tests/e2e/run-all.sh
#   AWS=/tmp/airlock-venv/bin/aws tests/e2e/run-all.sh tests/e2e/errors.test.sh
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)

if [[ $# -gt 0 ]]; then
    scripts=("$@")
else
    scripts=("$dir"/*.test.sh)
fi

total_pass=0
total_fail=0
broken=()
for script in "${scripts[@]}"; do
    name=$(basename "$script")
    echo "# $name"
    log=$(mktemp "${TMPDIR:-/tmp}/airlock-e2e-run.XXXXXX")
    start=$SECONDS
    set +e
    bash "$script" 2>&1 | tee "$log" | sed 's/^/    /'
    rc=${PIPESTATUS[0]}
    set -e
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
    rm -f "$log"
    if [[ -z $summary ]]; then
        echo "not ok - $name did not finish (exit $rc)"
        broken+=("$name")
        total_fail=$((total_fail + 1))
        continue
    fi
    read -r p _ f _ <<<"$summary"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    if [[ $rc -ne 0 && $f -eq 0 ]]; then
        echo "not ok - $name exited $rc"
        broken+=("$name")
        total_fail=$((total_fail + 1))
    fi
    echo "# $name: $summary ($((SECONDS - start)) s)"
done

[[ ${#broken[@]} -eq 0 ]] || echo "# broken scripts: ${broken[*]}"
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
