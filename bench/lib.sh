# lib.sh: timing helpers for the benchmarks.  Sourced (it sources
# tools/lib/common.sh and sets $repo).
# Every figure is the median of $BENCH_RUNS runs (default 3) measured with
# psql's \timing in the same cluster and the same run as its peers.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/lib/common.sh
. "$repo/tools/lib/common.sh"
BENCH_RUNS=${BENCH_RUNS:-3}

# time_sql LABEL SQL [SETUP-SQL]: prints "LABEL<TAB>median_ms" and stores the
# median in the global $last_ms.  SQL may be several statements: a run's time
# is their sum.  SETUP-SQL runs before each run, untimed.
time_sql() {
    local label=$1 sql=$2 setup=${3:-} i ms all=()
    for ((i = 0; i < BENCH_RUNS; i++)); do
        ms=$(psql -qX -v ON_ERROR_STOP=1 <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | awk '{ t += $1 } END { printf "%.3f", t }'
$setup
\\timing on
$sql
SQL
        )
        all+=("$ms")
    done
    last_ms=$(printf '%s\n' "${all[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    printf '%-58s %10.0f ms   (runs: %s)\n' "$label" "$last_ms" "${all[*]}"
    results+=("$label	$last_ms")
}

# run_once SQL: one run of SQL in a fresh session; prints "wall_ms cpu_ms",
# cpu_ms being the backend's own CPU time (user + system, from /proc, 10 ms
# ticks), which a busy neighbour on a shared machine disturbs less than the
# wall clock.
run_once() {
    local stat="\\! awk '{ print \"CPU\", \$14, \$15 }' /proc/\$BENCH_PID/stat"
    psql -qX -v ON_ERROR_STOP=1 <<SQL | awk '/^Time:/ { w += $2 } /^CPU / { c[++n] = $2 + $3 }
                                            END { printf "%.3f %d\n", w, (c[2] - c[1]) * 10 }'
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_PID :pid
$stat
\timing on
\o /dev/null
$1
\o
\timing off
$stat
SQL
}

# median: of the numbers on stdin
median() {
    sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# ratio A B: how many times faster A is than B (B / A), two decimals
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'
}

# enter_cluster [ARGS]: outside a cluster, install what is missing, build,
# and run the calling benchmark again inside a throwaway cluster, then exit
# with its status; inside (--inside-cluster), return and let it go on.
enter_cluster() {
    local script
    script="$repo/bench/$(basename "$0")"
    [ "${1:-}" = --inside-cluster ] && return 0
    ensure_deps
    build_and_stage
    with_cluster "$script" --inside-cluster "$@"
    exit $?
}

# save_results NAME: the medians of this run, as bench/results/NAME-<time>.tsv
save_results() {
    mkdir -p "$repo/bench/results"
    printf '%s\n' "${results[@]}" >"$repo/bench/results/$1-$(date +%Y%m%d-%H%M%S).tsv"
}

# bench_drop: the size of the generated drop, $customers x $months
# (BENCH_CUSTOMERS, default 100,000; BENCH_MONTHS, default 12), and a
# scratch directory $data for it that the server reads, removed when the
# benchmark exits.
bench_drop() {
    customers=${BENCH_CUSTOMERS:-100000}
    months=${BENCH_MONTHS:-12}
    data=$(scratch_dir)
    # shellcheck disable=SC2064
    trap "rm -rf '$data'" EXIT
}

# generate DIR FILES SEED [OPTIONS]: indicina-gen's drop of $customers x
# $months in DIR, FILES files a source, readable by the server
generate() {
    local dir=$1 files=$2 seed=$3
    shift 3
    "$repo/tools/indicina-gen" --out "$dir" --customers "$customers" --months "$months" --files "$files" \
        --seed "$seed" "$@" >/dev/null
    chmod -R a+rX "$dir"
}

# landing_tables ROOT LOANS-GLOB: indicina and tools/lib/raw_tables.sql's two
# foreign tables over the drop in ROOT (the statements: every file)
landing_tables() {
    psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION IF NOT EXISTS indicina;
DROP SERVER IF EXISTS landing CASCADE;
SQL
    psql -qX -v ON_ERROR_STOP=1 -v root="$1" -v loans_files="$2" \
        -v statements_files='statements/*.csv*' -f "$repo/tools/lib/raw_tables.sql" >/dev/null
}
