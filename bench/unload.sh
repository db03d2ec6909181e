#!/usr/bin/env bash
# unload.sh: indicina.unload against its peers, in one run of one throwaway
# cluster, every gzip at level 6 (DuckDB: its own gzip level, not settable).
# The warehouse: a 1%-dirty drop of BENCH_CUSTOMERS (100,000) x BENCH_MONTHS
# (12), filled by run_pipeline.  Then:
#   (1) unload full, gzip (the default)
#   (2) the plain PostgreSQL way: per table COPY (SELECT ...) TO PROGRAM
#       'gzip -6 > part' (the backend formats, one gzip process compresses)
#   (3) unload full with one worker (workers => 1: the backend alone)
#   (4) unload full, zstd: time and size against (1)
#   (5) DuckDB (npm's @duckdb/node-api, two threads) writing the same tables
#       as gzip CSV with PER_THREAD_OUTPUT, from tables loaded (untimed)
#       from an uncompressed unload
#   (6) the backend's peak memory during a full unload: private (RssAnon,
#       sampled every 50 ms) and VmHWM (which counts shared buffers too)
#   (7) an incremental unload after a run of 1% new files, against (1)
#   (8) the night end to end: run_pipeline (raw files to the validated
#       warehouse) + (1), against DuckDB doing the same job without rules
#       or rejects on the clean drop (dimension, fact, aggregate, gzip CSV)
# Prints medians (BENCH_RUNS, default 1) and ratios; never asserts on time.
set -euo pipefail
BENCH_RUNS=${BENCH_RUNS:-1}
. "$(dirname "$0")/lib.sh"
. "$repo/tools/lib/node.sh"
enter_cluster "$@"

ensure_node_packages @duckdb/node-api@1.5.6-r.1
export NODE_MODULES
NODE_MODULES=$(node_modules_dir)
dirty=${BENCH_DIRTY:-0.01}
bench_drop
generate "$data/dirty" 4 3 --dirty "$dirty"
generate "$data/clean" 4 3
# 1% more customers for (7), their ids made distinct from the drop's
BENCH_NEW=$(( customers / 100 > 0 ? customers / 100 : 1 ))
"$repo/tools/indicina-gen" --out "$data/more" --customers "$BENCH_NEW" --months "$months" --files 1 --seed 4 >/dev/null
mkdir -p "$data/lake" "$data/plain" "$data/duck"
chmod -R a+rwX "$data"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$data/lake" "$data/plain"
results=()
echo "bench/unload.sh: $customers customers x $months months (dirty $dirty), $BENCH_RUNS run(s) each"

landing_tables "$data/dirty" 'loans/*.csv'
psql -qX -v ON_ERROR_STOP=1 -c "CREATE SERVER bench_lake FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$data/lake')" >/dev/null

time_sql "    run_pipeline, dirty drop, end to end" \
    "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw');" \
    "SET client_min_messages = warning; DROP SCHEMA IF EXISTS dw CASCADE; DROP SCHEMA IF EXISTS mart CASCADE;
     SELECT indicina.clear_load_errors(); SELECT indicina.create_warehouse('dw');"
pipeline=$last_ms
facts=$(psql -qXAt -c "SELECT count(*) FROM dw.fact_bank_transaction")
tables=$(psql -qXAt -c "SELECT string_agg(table_name, ' ' ORDER BY position) FROM indicina.unload_catalog()")
echo "    warehouse: $facts facts; tables: $tables"
clean_lake="\\! rm -rf $data/lake/dw"
unload_sql() { echo "SELECT count(*) FROM indicina.unload('dw', 'bench_lake', mode => 'full' $1);"; }
delivery_bytes() {  # the compressed size of the last delivery
    du -sb "$(find "$data/lake/dw" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)" | cut -f1
}

# (1) unload, gzip
time_sql "(1) unload full, gzip" "$(unload_sql "")" "$clean_lake"
ours=$last_ms
gzip_bytes=$(delivery_bytes)

# (2) the plain way
plain=""
for t in $tables; do
    plain+="COPY (SELECT * FROM dw.$t) TO PROGRAM 'gzip -6 > $data/plain/$t.csv.gz' (FORMAT csv);"$'\n'
done
time_sql "(2) COPY (SELECT ...) TO PROGRAM 'gzip -6', per table" "$plain" "\\! rm -f $data/plain/*"
plain_ms=$last_ms

# (3) one worker: the backend alone
time_sql "(3) unload full, gzip, one worker" "$(unload_sql ", workers => 1")" "$clean_lake"
one_ms=$last_ms

# (4) zstd
time_sql "(4) unload full, zstd" "$(unload_sql ", compression => 'zstd'")" "$clean_lake"
zstd_ms=$last_ms
zstd_bytes=$(delivery_bytes)

# (5) DuckDB, from an uncompressed unload (untimed) loaded into its tables (untimed)
psql -qX -v ON_ERROR_STOP=1 -c "$clean_lake" -c "$(unload_sql ", compression => 'none'")" >/dev/null
raw=$(find "$data/lake/dw" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)
duck_all=()
for ((i = 0; i < BENCH_RUNS; i++)); do
    rm -rf "${data:?}/duck/"*
    duck_all+=("$(node "$repo/bench/duckdb_peer.js" unload "$raw" "$data/duck" $tables | sed -n 's/^ms //p')")
done
duck_ms=$(printf '%s\n' "${duck_all[@]}" | median)
printf '%-58s %10.0f ms   (runs: %s)\n' "(5) DuckDB COPY ... (COMPRESSION gzip, PER_THREAD_OUTPUT), 2 threads" "$duck_ms" "${duck_all[*]}"
results+=("(5) duckdb gzip unload	$duck_ms")
duck_bytes=$(du -sb "$data/duck" | cut -f1)

# (6) the backend's peak memory during a full unload: VmHWM counts the
# shared buffers it touched too, so its private memory (RssAnon) is sampled
psql -qX -v ON_ERROR_STOP=1 -c "$clean_lake" >/dev/null
rm -f "$data/pid"
psql -qXAt -v ON_ERROR_STOP=1 > "$data/hwm" <<SQL &
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_PID :pid
\! echo \$BENCH_PID > $data/pid
\o /dev/null
$(unload_sql "")
\o
\! awk '/^VmHWM/ { print \$2 }' /proc/\$BENCH_PID/status
SQL
job=$!
anon=0
while kill -0 "$job" 2>/dev/null; do
    if [ -s "$data/pid" ]; then
        v=$(awk '/^RssAnon/ { print $2 }' "/proc/$(cat "$data/pid")/status" 2>/dev/null || true)
        [ -n "$v" ] && [ "$v" -gt "$anon" ] && anon=$v
    fi
    sleep 0.05
done
wait "$job"
hwm=$(cat "$data/hwm")
echo "(6) backend peak memory during a full unload: private (RssAnon, sampled) ${anon} kB, VmHWM ${hwm} kB ($facts facts)"
results+=("(6) backend VmHWM kB	$hwm")
results+=("(6) backend peak RssAnon kB	$anon")

# (7) incremental after 1% new files
sed -E 's/(APP|CUST|TXN)_/\1N_/g' "$data/more/loans/loan_applications.csv" > "$data/dirty/loans/new.csv"
sed -E 's/(APP|CUST|TXN)_/\1N_/g' "$data/more/statements/bank_statements_001.csv" > "$data/dirty/statements/new.csv"
chmod a+r "$data/dirty/loans/new.csv" "$data/dirty/statements/new.csv"
psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
    -c "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw')" >/dev/null
BENCH_RUNS_SAVED=$BENCH_RUNS BENCH_RUNS=1
time_sql "(7) unload incremental after 1% new files ($BENCH_NEW customers)" \
    "SELECT count(*) FROM indicina.unload('dw', 'bench_lake');"
BENCH_RUNS=$BENCH_RUNS_SAVED
inc_ms=$last_ms

# (8) DuckDB's night on the clean drop
night_all=()
for ((i = 0; i < BENCH_RUNS; i++)); do
    rm -rf "${data:?}/duck/"*
    night_all+=("$(node "$repo/bench/duckdb_peer.js" night "$data/clean" "$data/duck" | sed -n 's/^ms //p')")
done
night_ms=$(printf '%s\n' "${night_all[@]}" | median)
printf '%-58s %10.0f ms   (runs: %s)\n' "(8) DuckDB night: clean CSV -> model -> gzip CSV, 2 threads" "$night_ms" "${night_all[*]}"
results+=("(8) duckdb night	$night_ms")
ours_night=$(awk -v a="$pipeline" -v b="$ours" 'BEGIN { printf "%.3f", a + b }')

echo
echo "ratios (how many times faster indicina is; > 1 is faster):"
echo "  (1) vs (2) the plain way:              $(ratio "$ours" "$plain_ms")x   (target >= 1.4)"
[ -n "$one_ms" ] && echo "  (1) vs (3) one worker:                 $(ratio "$ours" "$one_ms")x"
echo "  (1) vs (5) DuckDB gzip unload:         $(ratio "$ours" "$duck_ms")x   (target > 1)"
echo "  (4) zstd vs (1) gzip, speed:           $(ratio "$zstd_ms" "$ours")x   (target >= 2)"
echo "  (4) zstd vs (1) gzip, size:            $zstd_bytes / $gzip_bytes bytes = $(awk -v a="$zstd_bytes" -v b="$gzip_bytes" 'BEGIN { printf "%.2f", a / b }')   (target <= 1; DuckDB's gzip: $duck_bytes bytes)"
echo "  (7) incremental / (1) full, time:      $(awk -v a="$inc_ms" -v b="$ours" 'BEGIN { printf "%.1f%%", 100 * a / b }')   (target <= 5%)"
echo "  night, ours (pipeline + (1)) vs (8):   $(ratio "$ours_night" "$night_ms")x   (${ours_night} ms vs ${night_ms} ms)"
save_results unload
