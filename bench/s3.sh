#!/usr/bin/env bash
# s3.sh: indicina over S3 against itself over local disk and against boto3,
# in one run of one throwaway cluster.  The test S3 of the end-to-end tests
# (test/e2e/lib/s3.sh) on loopback, every request straight to s3rver
# (its own SigV4 check, key S3RVER), not through the verifying front,
# which is for correctness.  A clean drop of BENCH_CUSTOMERS (100,000) x
# BENCH_MONTHS (12), its statements in 4 files (one gzipped), is on local
# disk and uploaded (untimed) to s3://landing/drops/.  Then:
#   (1) count(*) of the statements from the local directory
#   (2) the same from s3://landing/drops/ (listing, ranged GETs, parsing)
#   (3) boto3 reading the same objects to the end (no parsing), one stream
#   (4) a full unload (gzip, the defaults) of the warehouse into a directory
#   (5) the same unload into s3://lake/bench/ (PUTs, multipart above
#       indicina.s3_part_size)
#   (6) boto3 uploading the files of a delivery of (4) (the same parts,
#       manifests and unload.json), one stream, the same part size
# Prints medians (BENCH_RUNS, default 3) and ratios; never asserts on time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# shellcheck source=test/e2e/lib/s3.sh
. "$repo/test/e2e/lib/s3.sh"
enter_cluster "$@"

bench_drop
# set +e: s3_stop's wait reports the killed servers' status
trap 'set +e; s3_stop; rm -rf "$data"' EXIT
generate "$data/landing" 4 3
mkdir -p "$data/lake"
chmod -R a+rwX "$data"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$data/lake"
s3_start "$data/s3"
# straight to s3rver, with its own key pair
peer() {
    S3_ENDPOINT="http://127.0.0.1:$S3_UPSTREAM_PORT" S3_KEY=S3RVER S3_SECRET=S3RVER /usr/bin/python3 "$@"
}
peer "$repo/test/e2e/lib/s3tool.py" mb landing
peer "$repo/test/e2e/lib/s3tool.py" mb lake
peer "$repo/test/e2e/lib/s3tool.py" mb peer
peer "$repo/test/e2e/lib/s3tool.py" put-dir landing drops/ "$data/landing"
part_size=$(psql -qXAt -c "LOAD 'indicina'" -c "SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'indicina.s3_part_size'")
results=()
echo "bench/s3.sh: $customers customers x $months months, $BENCH_RUNS run(s) each;" \
     "statements $(du -cb "$data"/landing/statements/* | tail -n1 | cut -f1) bytes in 4 files"

landing_tables "$data/landing" 'loans/*.csv'
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE SERVER landing_s3 FOREIGN DATA WRAPPER indicina_csv OPTIONS (root 's3://landing/drops/',
    region '$S3_REGION', endpoint 'http://127.0.0.1:$S3_UPSTREAM_PORT');
CREATE USER MAPPING FOR CURRENT_USER SERVER landing_s3 OPTIONS (access_key_id 'S3RVER', secret_access_key 'S3RVER');
CREATE SERVER bench_lake FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$data/lake');
CREATE SERVER lake_s3 FOREIGN DATA WRAPPER indicina_csv OPTIONS (root 's3://lake/bench/',
    region '$S3_REGION', endpoint 'http://127.0.0.1:$S3_UPSTREAM_PORT');
CREATE USER MAPPING FOR CURRENT_USER SERVER lake_s3 OPTIONS (access_key_id 'S3RVER', secret_access_key 'S3RVER');
SQL
psql -qX -v ON_ERROR_STOP=1 -v server=landing_s3 -v statements=raw_bank_statements_s3 \
    -v statements_file='statements/*.csv*' -v lenient_statements=on \
    -f "$repo/test/data/landing_tables.sql" >/dev/null
rows=$(psql -qXAt -c "SELECT count(*) FROM raw_bank_statements")
rows_s3=$(psql -qXAt -c "SELECT count(*) FROM raw_bank_statements_s3")
[ "$rows" = "$rows_s3" ] || { echo "bench/s3.sh: $rows rows on disk, $rows_s3 in S3" >&2; exit 1; }

# ---- reading ----
time_sql "(1) count(*) of the statements, local directory ($rows rows)" "SELECT count(*) FROM raw_bank_statements;"
local_read=$last_ms
time_sql "(2) count(*) of the statements, s3://" "SELECT count(*) FROM raw_bank_statements_s3;"
s3_read=$last_ms
all=()
for ((i = 0; i < BENCH_RUNS; i++)); do
    all+=("$(peer "$repo/bench/s3_peer.py" get landing drops/statements/ | sed -n 's/^ms //p')")
done
boto_get=$(printf '%s\n' "${all[@]}" | median)
printf '%-58s %10.0f ms   (runs: %s)\n' "(3) boto3 reading the same objects" "$boto_get" "${all[*]}"
results+=("(3) boto3 get	$boto_get")

# ---- unloading ----
psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "SELECT indicina.create_warehouse('dw')" \
    -c "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw')" >/dev/null
unload_sql() { echo "SELECT count(*) FROM indicina.unload('dw', '$1', mode => 'full');"; }
time_sql "(4) unload full, into a directory" "$(unload_sql bench_lake)" "\\! rm -rf $data/lake/dw"
dir_unload=$last_ms
delivery=$(find "$data/lake/dw" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)
bytes=$(du -sb "$delivery" | cut -f1)
time_sql "(5) unload full, into s3://" "$(unload_sql lake_s3)"
s3_unload=$last_ms
all=()
for ((i = 0; i < BENCH_RUNS; i++)); do
    all+=("$(peer "$repo/bench/s3_peer.py" put peer "run$i/" "$delivery" "$part_size" | sed -n 's/^ms //p')")
done
boto_put=$(printf '%s\n' "${all[@]}" | median)
printf '%-58s %10.0f ms   (runs: %s)\n' "(6) boto3 uploading the delivery's files ($bytes bytes)" "$boto_put" "${all[*]}"
results+=("(6) boto3 put	$boto_put")

echo
echo "ratios:"
echo "  (2) / (1) reading, S3 over local disk:    $(awk -v a="$s3_read" -v b="$local_read" 'BEGIN { printf "%.2f", a / b }')x the time   (target <= 1.3)"
echo "  (5) / (4) unloading, S3 over a directory: $(awk -v a="$s3_unload" -v b="$dir_unload" 'BEGIN { printf "%.2f", a / b }')x the time   (target <= 1.3)"
echo "  (2) vs (3) boto3 reading (faster if > 1): $(ratio "$s3_read" "$boto_get")x   (indicina also parses every row)"
echo "  (5) vs (6) boto3 writing (faster if > 1): $(ratio "$s3_unload" "$boto_put")x   (indicina also queries and compresses)"
echo "  (5) - (4), what S3 adds to an unload:     $(awk -v a="$s3_unload" -v b="$dir_unload" 'BEGIN { printf "%.0f", a - b }') ms, against (6) boto3's whole upload, $(printf '%.0f' "$boto_put") ms"
save_results s3
