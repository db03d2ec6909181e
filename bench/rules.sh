#!/usr/bin/env bash
# rules.sh: what row rules cost inside an indicina_csv scan.  The same
# statement drop (generated, ~5M rows) is scanned with every column
# converted through three foreign tables over the same files: one with no
# rules, one with ten row rules (no expression rule), one with a single
# expression rule (which runs through the executor).  The three are timed
# in turn, round after round, so a noisy neighbour hits them alike; prints
# the medians of wall time and of the backend's CPU time, and the overhead.
# Never asserts on time.
#
#   bench/rules.sh            100k customers x 12 months (BENCH_CUSTOMERS, BENCH_MONTHS), 5 rounds (BENCH_RUNS)
set -euo pipefail
BENCH_RUNS=${BENCH_RUNS:-5}
. "$(dirname "$0")/lib.sh"
enter_cluster "$@"

bench_drop
generate "$data" 4 7
rows=$(cat "$data"/statements/*.csv | wc -l)
results=()
echo "bench/rules.sh: $customers customers x $months months ($rows statement lines), $BENCH_RUNS rounds, medians"

columns="transaction_id text NOT NULL, customer_id text NOT NULL,
    transaction_date date OPTIONS (format 'auto'),
    transaction_amount numeric(14,2) OPTIONS (format 'amount'),
    narration text, balance numeric(14,2) OPTIONS (format 'amount')"
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION IF NOT EXISTS indicina;
DROP SERVER IF EXISTS bench_files CASCADE;
CREATE SERVER bench_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$data');
CREATE FOREIGN TABLE stmts_plain ($columns) SERVER bench_files OPTIONS (files 'statements/*.csv', on_error 'reject');
CREATE FOREIGN TABLE stmts_ten ($columns) SERVER bench_files OPTIONS (files 'statements/*.csv', on_error 'reject');
CREATE FOREIGN TABLE stmts_expr ($columns) SERVER bench_files OPTIONS (files 'statements/*.csv', on_error 'reject');
SELECT indicina.add_rule('r01_date_not_future', 'stmts_ten', 'not_future', '{transaction_date}');
SELECT indicina.add_rule('r02_date_since_2000', 'stmts_ten', 'range', '{transaction_date}', '{"min": "2000-01-01"}');
SELECT indicina.add_rule('r03_amount_range', 'stmts_ten', 'range', '{transaction_amount}', '{"min": -10000000, "max": 10000000}');
SELECT indicina.add_rule('r04_balance_range', 'stmts_ten', 'range', '{balance}', '{"min": -10000000, "max": 100000000}');
SELECT indicina.add_rule('r05_narration_known', 'stmts_ten', 'accepted_values', '{narration}', '{"domain": "narration"}');
SELECT indicina.add_rule('r06_txn_id_shape', 'stmts_ten', 'regex', '{transaction_id}', '{"pattern": "^TXN_[0-9]+$"}');
SELECT indicina.add_rule('r07_customer_id_length', 'stmts_ten', 'length', '{customer_id}', '{"min": 5, "max": 20}');
SELECT indicina.add_rule('r08_amount_present', 'stmts_ten', 'not_null', '{transaction_amount}');
SELECT indicina.add_rule('r09_balance_present', 'stmts_ten', 'not_null', '{balance}');
SELECT indicina.add_rule('r10_narration_listed', 'stmts_ten', 'accepted_values', '{narration}',
    '{"values": ["Monthly Income", "Fuel Purchase", "Restaurant Bill", "Online Transfer", "POS Purchase",
                 "Grocery Shopping", "ATM Withdrawal", "Bill Payment"]}');
SELECT indicina.add_rule('e01_balance_sane', 'stmts_expr', 'expression',
    params => '{"sql": "balance > -100000000 AND transaction_amount <> 0"}');
SQL

# a whole-row reference converts every column, with or without rules
scan() { echo "SELECT count(*) FROM $1 s WHERE s IS NOT NULL;"; }
# untimed warm-up: the first scan of a fresh cluster pays for the page cache and catalogs
psql -qX -c "$(scan stmts_plain)" >/dev/null
declare -A wall cpu
for ((i = 0; i < BENCH_RUNS; i++)); do
    for t in stmts_plain stmts_ten stmts_expr; do
        read -r w c < <(run_once "$(scan $t)")
        wall[$t]+="$w "
        cpu[$t]+="$c "
    done
done
report() {
    local t=$1 label=$2 w c
    w=$(echo ${wall[$t]} | tr ' ' '\n' | median)
    c=$(echo ${cpu[$t]} | tr ' ' '\n' | median)
    printf '%-48s %7.0f ms wall %7.0f ms cpu   (wall runs: %s)\n' "$label" "$w" "$c" "${wall[$t]% }"
    results+=("$label	$w	$c")
    eval "${t}_wall=$w ${t}_cpu=$c"
}
report stmts_plain "scan, all columns converted, no rules"
report stmts_ten "scan, all columns converted, ten row rules"
report stmts_expr "scan, all columns converted, one expression rule"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", 100 * (b - a) / a }'; }
echo
echo "ten row rules cost $(pct "$stmts_plain_wall" "$stmts_ten_wall") wall, $(pct "$stmts_plain_cpu" "$stmts_ten_cpu") cpu (target <= 15%)"
echo "one expression rule costs $(pct "$stmts_plain_wall" "$stmts_expr_wall") wall, $(pct "$stmts_plain_cpu" "$stmts_expr_cpu") cpu"
# the same, round by round: each round's configurations ran back to back, so
# the median of the per-round ratios is the least disturbed by a neighbour
# whose load comes and goes between rounds
paired() {
    paste <(echo ${cpu[stmts_plain]} | tr ' ' '\n') <(echo ${cpu[$1]} | tr ' ' '\n') |
        awk '{ printf "%.4f\n", ($2 - $1) / $1 }' | median | awk '{ printf "%+.1f%%", 100 * $1 }'
}
echo "per round (CPU, median of the rounds' ratios): ten row rules $(paired stmts_ten), one expression rule $(paired stmts_expr)"
results+=("ten row rules, median of per-round CPU ratios	$(paired stmts_ten)")
save_results rules
