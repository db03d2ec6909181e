#!/usr/bin/env bash
# csv_fdw_progress.sh: another session can watch a long scan in
# pg_stat_progress_copy (bytes done / total, rows read, rows rejected), and
# a cancel (pg_cancel_backend) stops it.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
work=$(scratch_dir)
trap 'rm -rf "$work"' EXIT
"$repo/tools/indicina-gen" --out "$work/landing" --customers 2000 --months 12 --seed 5
chmod -R a+rX "$work"
q() { psql -qX -At -v ON_ERROR_STOP=1 -d indicina_progress "$@"; }
psql -qX -c "DROP DATABASE IF EXISTS indicina_progress" -c "CREATE DATABASE indicina_progress" >/dev/null
q <<SQL
CREATE EXTENSION indicina;
CREATE SERVER landing FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/landing');
CREATE FOREIGN TABLE statements (transaction_id text, transaction_amount text)
    SERVER landing OPTIONS (filename 'statements/bank_statements_001.csv', on_error 'skip');
SQL
total=$(stat -c %s "$work/landing/statements/bank_statements_001.csv")

# a scan slowed down by a sleep per row, in the background
q -c "SELECT count(*) FROM statements WHERE pg_sleep(0.0002) IS NOT NULL" >"$work/scan.out" 2>&1 &
scan_pid=$!
sample=""
for _ in $(seq 1 50); do
    sleep 0.2
    sample=$(q -c "SELECT pid, bytes_total, bytes_processed, tuples_processed, tuples_excluded
                     FROM pg_stat_progress_copy p JOIN pg_class c ON c.oid = p.relid
                    WHERE c.relname = 'statements' AND tuples_processed > 0")
    [ -n "$sample" ] && break
done
IFS='|' read -r pid bytes_total bytes_done rows rejected <<<"$sample"
ok $([ -n "$sample" ]; echo $?) "a running scan shows in pg_stat_progress_copy ($sample)"
is "$bytes_total" "$total" "bytes_total is the file's size"
ok $([ "${bytes_done:-0}" -gt 0 ] && [ "${bytes_done:-0}" -le "$total" ]; echo $?) "0 < bytes_processed ($bytes_done) <= bytes_total"
ok $([ "${rows:-0}" -gt 0 ]; echo $?) "tuples_processed counts rows read ($rows)"

# cancel it: the backend stops with the usual error (an ignored cancel lets
# the scan finish without it).  The latency is a figure; the only bound is
# one that a hang alone fails.
cancel_and_wait "$pid" "$scan_pid" 60
ok $cancel_ended "the cancelled scan ends within 60 s"
is "$(grep -o 'canceling statement due to user request' "$work/scan.out")" "canceling statement due to user request" \
   "pg_cancel_backend stops the scan with the usual error"
echo "# the scan ended ${elapsed_ms} ms after pg_cancel_backend (a figure, not asserted)"
is "$(q -c "SELECT count(*) FROM pg_stat_progress_copy")" 0 "no progress row is left behind"
done_testing
