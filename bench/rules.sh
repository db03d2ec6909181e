#!/usr/bin/env bash
# rules.sh: what row rules cost inside an indicina_csv scan.  The same
# statement drop (generated, ~5M rows) is scanned with every column
# converted, first with no rules, then with ten row rules (no expression
# rule), then with one expression rule (which runs through the executor).
# Prints medians and the overhead; never asserts on time.
#
#   bench/rules.sh            100k customers x 12 months (BENCH_CUSTOMERS, BENCH_MONTHS), 3 runs (BENCH_RUNS)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/tools/lib/common.sh"
. "$repo/bench/lib.sh"

enter_cluster "$repo/bench/rules.sh" "$@"

customers=${BENCH_CUSTOMERS:-100000}
months=${BENCH_MONTHS:-12}
data=$(scratch_dir)
trap 'rm -rf "$data"' EXIT
"$repo/tools/indicina-gen" --out "$data" --customers "$customers" --months "$months" --files 4 --seed 7 >/dev/null
chmod -R a+rX "$data"
rows=$(cat "$data"/statements/*.csv | wc -l)
results=()
echo "bench/rules.sh: $customers customers x $months months ($rows statement lines), $BENCH_RUNS runs each, medians"

psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION IF NOT EXISTS indicina;
DROP SERVER IF EXISTS bench_files CASCADE;
CREATE SERVER bench_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$data');
CREATE FOREIGN TABLE stmts (
    transaction_id text NOT NULL, customer_id text NOT NULL,
    transaction_date date OPTIONS (format 'auto'),
    transaction_amount numeric(14,2) OPTIONS (format 'amount'),
    narration text, balance numeric(14,2) OPTIONS (format 'amount')
) SERVER bench_files OPTIONS (files 'statements/*.csv', on_error 'reject');
SQL

# a whole-row reference converts every column, with or without rules
scan="SELECT count(*) FROM stmts s WHERE s IS NOT NULL;"
# untimed warm-up: the first scan of a fresh cluster pays for the page cache and catalogs
psql -qX -c "$scan" >/dev/null
time_sql "scan, all columns converted, no rules" "$scan"
base=$last_ms

psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT indicina.add_rule('r01_date_not_future', 'stmts', 'not_future', '{transaction_date}');
SELECT indicina.add_rule('r02_date_since_2000', 'stmts', 'range', '{transaction_date}', '{"min": "2000-01-01"}');
SELECT indicina.add_rule('r03_amount_range', 'stmts', 'range', '{transaction_amount}', '{"min": -10000000, "max": 10000000}');
SELECT indicina.add_rule('r04_balance_range', 'stmts', 'range', '{balance}', '{"min": -10000000, "max": 100000000}');
SELECT indicina.add_rule('r05_narration_known', 'stmts', 'accepted_values', '{narration}', '{"domain": "narration"}');
SELECT indicina.add_rule('r06_txn_id_shape', 'stmts', 'regex', '{transaction_id}', '{"pattern": "^TXN_[0-9]+$"}');
SELECT indicina.add_rule('r07_customer_id_length', 'stmts', 'length', '{customer_id}', '{"min": 5, "max": 20}');
SELECT indicina.add_rule('r08_amount_present', 'stmts', 'not_null', '{transaction_amount}');
SELECT indicina.add_rule('r09_balance_present', 'stmts', 'not_null', '{balance}');
SELECT indicina.add_rule('r10_narration_listed', 'stmts', 'accepted_values', '{narration}',
    '{"values": ["Monthly Income", "Fuel Purchase", "Restaurant Bill", "Online Transfer", "POS Purchase",
                 "Grocery Shopping", "ATM Withdrawal", "Bill Payment"]}');
SQL
time_sql "scan, all columns converted, ten row rules" "$scan"
ten=$last_ms

psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DELETE FROM indicina.quality_rules WHERE relation = 'stmts'::regclass;
SELECT indicina.add_rule('e01_balance_sane', 'stmts', 'expression',
    params => '{"sql": "balance > -100000000 AND transaction_amount <> 0"}');
SQL
time_sql "scan, all columns converted, one expression rule" "$scan"
expr=$last_ms

echo
echo "ten row rules cost $(awk -v a="$base" -v b="$ten" 'BEGIN { printf "%.1f", 100 * (b - a) / a }')% of the scan (target <= 15%)"
echo "one expression rule costs $(awk -v a="$base" -v b="$expr" 'BEGIN { printf "%.1f", 100 * (b - a) / a }')%"
save_results rules
