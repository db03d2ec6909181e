#!/usr/bin/env bash
# cents.sh: what numeric <-> cents conversion costs where it runs per row:
# indicina.month_flow and indicina.risk_features over a plain table of
# generated transactions (numeric(14,2) amounts and balances), and an
# indicina_csv scan of a numeric(12,2) column with a range rule (the
# converter builds a numeric per row).  Built-in peers in the same run:
# sum() of the same columns with the same grouping, and the scan without
# the rule.
#
# With BASE (a git revision), both builds are timed in one cluster, round
# after round: the base is built from `git archive BASE`, and before each
# timing the library the cluster loads is swapped for that build's (every
# timing is a new session, which loads it afresh).  Prints the medians of
# wall and backend CPU time per build.  Never asserts on time.
#
#   bench/cents.sh [BASE]     3M rows (BENCH_ROWS), 100k customers, 5 rounds (BENCH_RUNS)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/tools/lib/common.sh"
BENCH_RUNS=${BENCH_RUNS:-5}
. "$repo/bench/lib.sh"

libdir=$(pg_config --pkglibdir)

if [ "${1:-}" != --inside-cluster ]; then
    base=${1:-}
    ensure_deps
    build_and_stage
    mkdir -p "$server_dir/builds"
    cp "$stage$libdir/indicina.so" "$server_dir/builds/head.so"
    if [ -n "$base" ]; then
        src=$(mktemp -d "${TMPDIR:-/tmp}/indicina-base.XXXXXX")
        # shellcheck disable=SC2064
        trap "rm -rf '$src' '$server_dir'" EXIT
        git -C "$repo" archive "$base" | tar -x -C "$src"
        make -C "$src" -s -j"$(nproc)" indicina.so >/dev/null
        cp "$src/indicina.so" "$server_dir/builds/base.so"
    fi
    with_cluster "$repo/bench/cents.sh" --inside-cluster
    exit $?
fi

rows=${BENCH_ROWS:-3000000}
data=$(scratch_dir)
trap 'rm -rf "$data"' EXIT
builds=$(cd "$server_dir/builds" && ls | sed 's/\.so$//' | sort)
results=()
echo "bench/cents.sh: $rows rows, 100k customers, builds: $(echo $builds), $BENCH_RUNS rounds, medians"

# the library the cluster loads: replaced by rename, so no backend sees half a file
use_build() {
    cp "$server_dir/builds/$1.so" "$stage$libdir/indicina.so.new"
    mv -f "$stage$libdir/indicina.so.new" "$stage$libdir/indicina.so"
}

use_build head
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION IF NOT EXISTS indicina;
DROP TABLE IF EXISTS bench_txn;
CREATE TABLE bench_txn (id bigint, customer text, d date, amount numeric(14,2), balance numeric(14,2));
INSERT INTO bench_txn
SELECT i, 'C' || (i % 100000), date '2023-01-01' + ((i / 100000) * 12 + i % 7)::int,
       ((i * 7919) % 2000001 - 1000000) / 100.0, ((i * 104729) % 100000000) / 100.0
FROM generate_series(1::bigint, $rows) i;
VACUUM ANALYZE bench_txn;
\\copy (SELECT id, amount FROM bench_txn) TO '$data/amounts.csv' WITH (FORMAT csv, HEADER)
\\! chmod a+r '$data/amounts.csv'
DROP SERVER IF EXISTS bench_cents CASCADE;
CREATE SERVER bench_cents FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$data');
CREATE FOREIGN TABLE amounts_plain (id bigint, amount numeric(12,2)) SERVER bench_cents
    OPTIONS (files 'amounts.csv', on_error 'reject');
CREATE FOREIGN TABLE amounts_ruled (id bigint, amount numeric(12,2)) SERVER bench_cents
    OPTIONS (files 'amounts.csv', on_error 'reject');
SELECT indicina.add_rule('bench_amount_range', 'amounts_ruled', 'range', '{amount}',
    '{"min": -100000.00, "max": 100000.00}');
SQL

setup="SET work_mem = '1GB'; SET jit = off; SET max_parallel_workers_per_gather = 0;"
declare -A query
query[month_flow]="SELECT count(*) FROM (SELECT indicina.month_flow(amount, balance, d, 'f', id, false)
    FROM bench_txn GROUP BY customer, indicina.month_start(d)) s;"
query[month_sum]="SELECT count(*) FROM (SELECT sum(amount), sum(balance)
    FROM bench_txn GROUP BY customer, indicina.month_start(d)) s;"
query[risk_features]="SELECT count(*) FROM (SELECT indicina.risk_features(greatest(amount, 0), greatest(-amount, 0),
    false, balance) FROM bench_txn GROUP BY customer) s;"
query[risk_sum]="SELECT count(*) FROM (SELECT sum(greatest(amount, 0)), sum(greatest(-amount, 0)), sum(balance)
    FROM bench_txn GROUP BY customer) s;"
query[scan_rule]="SELECT count(*) FROM amounts_ruled;"
query[scan_plain]="SELECT count(*) FROM amounts_plain WHERE amount IS NOT NULL;"
order="month_flow month_sum risk_features risk_sum scan_rule scan_plain"

# untimed warm-up: page cache, catalogs
psql -qX -c "$setup ${query[month_sum]} ${query[scan_plain]}" >/dev/null
declare -A wall cpu
for ((i = 0; i < BENCH_RUNS; i++)); do
    for b in $builds; do
        use_build "$b"
        for q in $order; do
            read -r w c < <(run_once "$setup ${query[$q]}")
            wall[$b.$q]+="$w "
            cpu[$b.$q]+="$c "
        done
    done
done

printf '%-16s' ""
for b in $builds; do printf '%28s' "$b (wall / cpu ms)"; done
echo
for q in $order; do
    printf '%-16s' "$q"
    for b in $builds; do
        w=$(echo ${wall[$b.$q]} | tr ' ' '\n' | median)
        c=$(echo ${cpu[$b.$q]} | tr ' ' '\n' | median)
        printf '%18.0f / %7.0f' "$w" "$c"
        results+=("$b	$q	$w	$c")
    done
    echo
done
for b in $builds; do
    echo "$b, all runs (wall ms):"
    for q in $order; do echo "  $q: ${wall[$b.$q]}"; done
done
save_results cents
