#!/usr/bin/env bash
# load.sh: loading a bank-statement drop, indicina against its peers, in one
# run of one throwaway cluster.  Prints medians and ratios; never asserts.
#
#   bench/load.sh                     100k customers x 12 months (about 5M rows)
#   BENCH_CUSTOMERS=10000 bench/load.sh   a quicker, smaller run
#
# Peers measured now: PostgreSQL's COPY into an unlogged table, and file_fdw
# (count(*), a filter touching all six typed columns, INSERT ... SELECT).
# indicina_csv on the same file: the same three queries, plus its peak
# backend memory.  See docs/benchmarks.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
enter_cluster "$@"

bench_drop
generate "$data" 1 1
file="$data/statements/bank_statements_001.csv"
rows=$(($(wc -l <"$file") - 1))
echo "bench/load.sh: $rows statement rows, $(du -m "$file" | cut -f1) MB, $BENCH_RUNS runs each, medians"
results=()

psql -qX -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION IF NOT EXISTS file_fdw;
CREATE SERVER IF NOT EXISTS bench_files FOREIGN DATA WRAPPER file_fdw;
DROP FOREIGN TABLE IF EXISTS ff_statements;
CREATE FOREIGN TABLE ff_statements (
    transaction_id text, customer_id text, transaction_date date,
    transaction_amount numeric(14,2), narration text, balance numeric(14,2)
) SERVER bench_files OPTIONS (filename '$file', format 'csv', header 'true');
CREATE EXTENSION IF NOT EXISTS indicina;
CREATE SERVER IF NOT EXISTS bench_landing FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$data');
DROP FOREIGN TABLE IF EXISTS ic_statements;
CREATE FOREIGN TABLE ic_statements (
    transaction_id text, customer_id text, transaction_date date,
    transaction_amount numeric(14,2), narration text, balance numeric(14,2)
) SERVER bench_landing OPTIONS (filename 'statements/bank_statements_001.csv', on_error 'reject');
DROP TABLE IF EXISTS t_statements;
CREATE UNLOGGED TABLE t_statements (
    transaction_id text, customer_id text, transaction_date date,
    transaction_amount numeric(14,2), narration text, balance numeric(14,2)
);
SQL

all_columns_filter="SELECT count(*) FROM %s WHERE transaction_id <> '' AND customer_id <> ''
  AND transaction_date >= '2000-01-01' AND transaction_amount > -1e12 AND narration <> '' AND balance > -1e12;"

time_sql "file_fdw: count(*)" "SELECT count(*) FROM ff_statements;"
ff_count=$last_ms
time_sql "file_fdw: filter on all 6 typed columns" "$(printf "$all_columns_filter" ff_statements)"
ff_filter=$last_ms
time_sql "file_fdw: INSERT INTO t SELECT * FROM ft" "INSERT INTO t_statements SELECT * FROM ff_statements;" \
    "TRUNCATE t_statements;"
ff_insert=$last_ms
time_sql "COPY t FROM file (csv, header)" "COPY t_statements FROM '$file' (FORMAT csv, HEADER true);" \
    "TRUNCATE t_statements;"
copy_ms=$last_ms
time_sql "heap table: filter on all 6 typed columns (executor cost)" "$(printf "$all_columns_filter" t_statements)"
time_sql "indicina_csv: count(*)" "SELECT count(*) FROM ic_statements;"
ic_count=$last_ms
time_sql "indicina_csv: filter on all 6 typed columns" "$(printf "$all_columns_filter" ic_statements)"
ic_filter=$last_ms
time_sql "indicina_csv: INSERT INTO t SELECT * FROM ft" "INSERT INTO t_statements SELECT * FROM ic_statements;" \
    "TRUNCATE t_statements;"
ic_insert=$last_ms

# peak memory of one backend doing the full scan (VmHWM of the backend itself, kB)
peak_kb=$(psql -qX -At <<SQL | tail -n1
SELECT count(*) FROM (SELECT * FROM ic_statements) s;
SELECT substring(pg_read_file('/proc/self/status') from 'VmHWM:\s+(\d+)');
SQL
)

echo
echo "ratios (higher = the first is faster):"
echo "  indicina_csv vs file_fdw, count(*):               $(ratio "$ic_count" "$ff_count")x   (target >= 3)"
echo "  indicina_csv vs file_fdw, filter on 6 columns:    $(ratio "$ic_filter" "$ff_filter")x   (target >= 1.5)"
echo "  indicina_csv vs file_fdw, INSERT ... SELECT:      $(ratio "$ic_insert" "$ff_insert")x   (target > 1)"
echo "  COPY time / indicina_csv INSERT ... SELECT time:  $(ratio "$ic_insert" "$copy_ms")x   (target >= 1/1.3 = 0.77)"
echo "  peak backend memory during a full scan: $((peak_kb / 1024)) MB (VmHWM; target < 100 MB)"
save_results load
