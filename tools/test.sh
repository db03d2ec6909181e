#!/usr/bin/env bash
# test.sh: runs every indicina test against throwaway clusters and prints a
# closing line "N passed, N failed"; exits non-zero if anything failed.
#
#   tools/test.sh            everything: pg_regress, pgTAP, end-to-end
#   tools/test.sh regress    only one suite (regress | tap | e2e)
#   REGRESS="csv_fdw quality" tools/test.sh regress   only these pg_regress files
#   E2E=sqlsmith tools/test.sh e2e   only the end-to-end scripts matching test/e2e/$E2E.sh
#   tools/test.sh checked [SUITE]   the same against a checking server built from
#                            Debian's source (cassert, ASan, UBSan); see
#                            docs/operations.md.  Not part of the default run.
#
# Installs missing Debian packages first when run as root; otherwise prints
# the apt-get line to run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/lib/common.sh
. "$repo/tools/lib/common.sh"

suites=${1:-all}
[ "$suites" = --inside-cluster ] && suites=${2:-all}

if [ "${1:-}" = checked ]; then
    # shellcheck source=tools/lib/checked.sh
    . "$repo/tools/lib/checked.sh"
    ensure_deps
    build_and_stage
    checked_run "${2:-all}"
    exit $?
fi

if [ "${1:-}" != --inside-cluster ]; then
    ensure_deps
    build_and_stage
    with_cluster "$repo/tools/test.sh" --inside-cluster "$suites"
    exit $?
fi

# ---- inside the throwaway cluster from here on ----
cd "$repo"
log_dir="$repo/build/test-logs"
rm -rf "$log_dir"
mkdir -p "$log_dir"
chmod 755 "$log_dir"
passed=0
failed=0

run_regress() {
    local out="$log_dir/regress.log" rc=0 ok bad
    echo "== pg_regress (sql/, expected/)"
    # the fixtures are read by the server: from the world-readable copy
    make -s installcheck ${server_dir:+REGRESS_INPUTDIR="$server_dir/regress"} \
        ${REGRESS:+REGRESS="$REGRESS"} >"$out" 2>&1 || rc=$?
    grep -E '^(test| ) *[a-z_0-9]+ +\.\.\. ' "$out" || true
    ok=$(grep -cE '\.\.\. ok' "$out" || true)
    bad=$(grep -cE '\.\.\. FAILED' "$out" || true)
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        bad=1
        tail -20 "$out"
    fi
    [ -f regression.diffs ] && cp regression.diffs "$log_dir/" && head -60 regression.diffs
    passed=$((passed + ok)); failed=$((failed + bad))
}

# counts TAP lines of a finished run; a non-zero exit with no "not ok" line
# counts as one failure (a script that died, a plan that did not match)
count_tap() {
    local out=$1 rc=$2 ok bad
    ok=$(grep -cE '^ *ok [0-9]+' "$out" || true)
    bad=$(grep -cE '^ *not ok [0-9]+' "$out" || true)
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        bad=1
    fi
    passed=$((passed + ok)); failed=$((failed + bad))
}

run_tap() {
    local out="$log_dir/pgtap.log" rc=0
    echo "== pgTAP (test/pgtap/*.sql via pg_prove)"
    psql -qX -c "DROP DATABASE IF EXISTS indicina_tap" -c "CREATE DATABASE indicina_tap" >/dev/null
    pg_prove --verbose --failures -d indicina_tap test/pgtap/*.sql >"$out" 2>&1 || rc=$?
    grep -E '^(not ok|test/|Result|Files=)' "$out" || true
    count_tap "$out" "$rc"
}

run_e2e() {
    local t out rc
    echo "== end-to-end (test/e2e/*.sh)"
    for t in test/e2e/${E2E:-*}.sh; do
        out="$log_dir/e2e-$(basename "$t" .sh).log"
        rc=0
        bash "$t" >"$out" 2>&1 || rc=$?
        grep -E '^(not ok|# )' "$out" || true
        echo "$t: $(grep -cE '^ok ' "$out" || true) ok, $(grep -cE '^not ok ' "$out" || true) not ok, exit $rc"
        count_tap "$out" "$rc"
    done
}

case "$suites" in
    all) run_regress; run_tap; run_e2e ;;
    regress) run_regress ;;
    tap) run_tap ;;
    e2e) run_e2e ;;
    *) echo "usage: tools/test.sh [checked] [all|regress|tap|e2e]" >&2; exit 2 ;;
esac

echo "logs: $log_dir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
