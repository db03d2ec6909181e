#!/usr/bin/env bash
# pipeline.sh: the nightly run against its peers, in one run of one
# throwaway cluster.  (1) indicina.run_pipeline end to end, raw files to
# aggregates and risk features, on a dirty drop (rules, rejects, ledger
# included); (2) the plain-SQL way: COPY into text staging tables, then
# INSERT ... SELECT with casts into the same model (dimensions, facts,
# aggregates, features; no rules); (3) the original pandas steps (read_csv,
# astype, merge, to_csv) with Debian's python3-pandas, skipped with a note
# if it is missing.  PostgreSQL 15's COPY stops at the first bad row, so (2)
# and (3) read the clean drop of the same seed: the peers get the easier
# input.  Then a second run_pipeline with no new files.  Prints medians and
# ratios; never asserts on time.  (4) the floor: the statement files
# straight into the fact, the aggregate and the features, with no checks,
# dimensions or ledger, its aggregate read back from the fact: a reference
# for what writing the model costs here.  (5) the model's writes alone: the
# rows (1) wrote, copied back into an empty warehouse, nothing checked;
# (6) of those the fact's alone, for the bound of a parallel producer.
#
#   bench/pipeline.sh     100k customers x 12 months, dirty 1% (BENCH_CUSTOMERS, BENCH_MONTHS, BENCH_DIRTY),
#                         BENCH_RUNS runs each (default 1: a run loads ~5M rows)
set -euo pipefail
BENCH_RUNS=${BENCH_RUNS:-1}
. "$(dirname "$0")/lib.sh"

# as root, the pandas peer's package is installed with the rest (a fresh
# machine has none); another user without it gets the peer skipped
if [ "$(id -u)" -eq 0 ]; then
    export INDICINA_EXTRA_PACKAGES="${INDICINA_EXTRA_PACKAGES:-} python3-pandas"
fi
enter_cluster "$@"

dirty=${BENCH_DIRTY:-0.01}
bench_drop
generate "$data/dirty" 4 3 --dirty "$dirty"
generate "$data/clean" 4 3
chmod -R a+rwX "$data"
rows=$(/usr/bin/python3 -c "import json; d=json.load(open('$data/dirty/defects.json')); print(sum(o['rows'] for o in d['outputs']))")
results=()
echo "bench/pipeline.sh: $customers customers x $months months, $rows rows (dirty $dirty), $BENCH_RUNS run(s) each"

landing_tables "$data/dirty" 'loans/loan_applications.csv'

# (1) run_pipeline, into a fresh warehouse each time
time_sql "(1) run_pipeline, dirty drop, end to end" \
    "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw');" \
    "SET client_min_messages = warning; DROP SCHEMA IF EXISTS dw CASCADE; DROP SCHEMA IF EXISTS mart CASCADE;
     SELECT indicina.clear_load_errors(); SELECT indicina.create_warehouse('dw');"
ours=$last_ms
time_sql "    second run_pipeline, no new files" \
    "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw');" \
    "SET client_min_messages = warning;"
second=$last_ms

# (2) the plain-SQL way into the same model
copies=""
for f in "$data"/clean/statements/*.csv; do
    copies+="COPY stage_txns FROM '$f' (FORMAT csv, HEADER true);"$'\n'
done
plain_sql=$(cat <<SQL
CREATE UNLOGGED TABLE stage_loans (application_id text, customer_id text, loan_amount text,
    loan_application_date text, credit_score text, employment_status text, annual_income text);
CREATE UNLOGGED TABLE stage_txns (transaction_id text, customer_id text, transaction_date text,
    transaction_amount text, narration text, balance text);
COPY stage_loans FROM '$data/clean/loans/loan_applications.csv' (FORMAT csv, HEADER true);
$copies
INSERT INTO dwp.dim_date
SELECT to_char(d, 'YYYYMMDD')::int, d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d),
       to_char(d, 'FMMonth'), extract(isodow FROM d), to_char(d, 'FMDay'), extract(isodow FROM d) >= 6
  FROM generate_series((SELECT least(min(loan_application_date::date), (SELECT min(transaction_date::date) FROM stage_txns)) FROM stage_loans),
                       (SELECT greatest(max(loan_application_date::date), (SELECT max(transaction_date::date) FROM stage_txns)) FROM stage_loans),
                       interval '1 day') g(d);
SELECT indicina.ensure_month_partitions('dwp', min(transaction_date::date), max(transaction_date::date)) FROM stage_txns;
INSERT INTO dwp.dim_customer (customer_id, employment_status, annual_income, valid_from, is_current)
SELECT DISTINCT ON (customer_id) customer_id, employment_status, annual_income::numeric, loan_application_date::date, true
  FROM stage_loans ORDER BY customer_id, loan_application_date::date DESC;
INSERT INTO dwp.fact_loan_application
SELECT l.application_id, c.customer_key, l.customer_id, to_char(l.loan_application_date::date, 'YYYYMMDD')::int,
       l.loan_application_date::date, l.loan_amount::numeric, l.credit_score::int, l.annual_income::numeric,
       l.employment_status, round(l.loan_amount::numeric / nullif(l.annual_income::numeric, 0), 4), 1, 'loans', 0
  FROM stage_loans l JOIN dwp.dim_customer c ON c.customer_id = l.customer_id AND c.is_current;
INSERT INTO dwp.fact_bank_transaction
SELECT t.transaction_id, coalesce(c.customer_key, 0), t.customer_id, t.transaction_date::date,
       to_char(t.transaction_date::date, 'YYYYMMDD')::int, coalesce(k.category_key, 0), t.transaction_amount::numeric,
       CASE WHEN t.transaction_amount::numeric < 0 THEN 'debit' ELSE 'credit' END, t.balance::numeric, 1, 'statements', 0
  FROM stage_txns t
  LEFT JOIN dwp.dim_customer c ON c.customer_id = t.customer_id AND c.is_current
  LEFT JOIN dwp.dim_transaction_category k ON k.narration = t.narration;
INSERT INTO dwp.agg_customer_month
SELECT f.customer_id, date_trunc('month', f.transaction_date)::date,
       coalesce(sum(f.amount) FILTER (WHERE f.amount > 0), 0), coalesce(-sum(f.amount) FILTER (WHERE f.amount < 0), 0),
       sum(f.amount), count(*),
       (array_agg(f.balance ORDER BY f.transaction_date DESC, f.source_file DESC, f.source_line DESC))[1], min(f.balance),
       bool_or(k.category_group = 'income' AND f.amount > 0)
  FROM dwp.fact_bank_transaction f JOIN dwp.dim_transaction_category k ON k.category_key = f.category_key
 GROUP BY 1, 2;
INSERT INTO dwp.customer_risk_features
SELECT a.customer_id, count(*), round(avg(a.inflow), 2), round(avg(a.outflow), 2),
       round(avg(CASE WHEN a.salary_credit THEN 1 ELSE 0 END), 4), round(stddev_pop(a.closing_balance), 2),
       (SELECT l.loan_to_income FROM dwp.fact_loan_application l WHERE l.customer_id = a.customer_id
         ORDER BY l.application_date DESC LIMIT 1), 1
  FROM dwp.agg_customer_month a GROUP BY a.customer_id;
SQL
)
time_sql "(2) plain SQL: COPY to text staging + INSERT ... SELECT with casts" "$plain_sql" \
    "SET client_min_messages = warning; DROP TABLE IF EXISTS stage_loans, stage_txns;
     DROP SCHEMA IF EXISTS dwp CASCADE; DROP SCHEMA IF EXISTS martp CASCADE; SELECT indicina.create_warehouse('dwp', 'martp');"
plain=$last_ms

# (3) the original pandas steps
pandas_ms=
if /usr/bin/python3 -c "import pandas" 2>/dev/null; then
    all=()
    for ((i = 0; i < BENCH_RUNS; i++)); do
        s=$(/usr/bin/python3 "$repo/bench/pandas_etl.py" "$data/clean" "$data/merged.csv")
        all+=("$(awk -v s="$s" 'BEGIN { printf "%.0f", s * 1000 }')")
        rm -f "$data/merged.csv"
    done
    pandas_ms=$(printf '%s\n' "${all[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    printf '%-58s %10.0f ms   (runs: %s)\n' "(3) pandas: read_csv, astype, merge, to_csv" "$pandas_ms" "${all[*]}"
    results+=("(3) pandas	$pandas_ms")
else
    echo "(3) pandas: skipped, python3-pandas is not installed (apt-get install python3-pandas)"
fi

# (4) the floor: the least any pipeline into this model does, with indicina's
# own scan and aggregate, on the clean drop the peers read: the statement
# files straight into the fact (no rules, no batch, no dimensions, no
# ledger), the monthly aggregate and the risk features.  Not a peer: it
# shows how much of every way of doing this is writing rows, which no
# design avoids, and so how fast any run_pipeline could be here.
floor_sql=$(cat <<SQL
INSERT INTO dwf.fact_bank_transaction
SELECT transaction_id, 0, customer_id, transaction_date, indicina.date_key(transaction_date), 0, transaction_amount,
       CASE WHEN transaction_amount < 0 THEN 'debit' ELSE 'credit' END, balance, 1, source_file, source_line
  FROM floor_stmts;
INSERT INTO dwf.agg_customer_month
SELECT customer_id, month, (m).inflow, (m).outflow, (m).net, (m).txn_count, (m).closing_balance, (m).min_balance,
       (m).salary_credit
  FROM (SELECT customer_id, indicina.month_start(transaction_date) AS month,
               indicina.month_flow(amount, balance, transaction_date, source_file, source_line, false) AS m
          FROM dwf.fact_bank_transaction GROUP BY 1, 2) s
 ORDER BY 1, 2;
INSERT INTO dwf.customer_risk_features
SELECT customer_id, count(*), round(avg(inflow), 2), round(avg(outflow), 2),
       round(avg(CASE WHEN salary_credit THEN 1 ELSE 0 END), 4), round(stddev_pop(closing_balance), 2), NULL, 1
  FROM dwf.agg_customer_month GROUP BY customer_id;
SQL
)
time_sql "(4) floor: scan into the fact, aggregate, features (no checks)" \
    "SET work_mem = '256MB'; SET jit = off; BEGIN; $floor_sql COMMIT;" \
    "SET client_min_messages = warning; DROP SCHEMA IF EXISTS dwf CASCADE; DROP SCHEMA IF EXISTS martf CASCADE;
     SELECT indicina.create_warehouse('dwf', 'martf');
     DROP SERVER IF EXISTS floor_files CASCADE;
     CREATE SERVER floor_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$data/clean');
     CREATE FOREIGN TABLE floor_stmts (transaction_id text NOT NULL, customer_id text NOT NULL,
         transaction_date date OPTIONS (format 'auto'), transaction_amount numeric(14,2) OPTIONS (format 'amount'),
         narration text OPTIONS (format 'label:narration'), balance numeric(14,2) OPTIONS (format 'amount'),
         source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line'))
         SERVER floor_files OPTIONS (files 'statements/*.csv');
     SELECT indicina.ensure_month_partitions('dwf', min(transaction_date), max(transaction_date)) FROM floor_stmts;"
floor=$last_ms

# (5) the model's writes alone: the rows run (1) wrote, copied back from
# unlogged tables into an empty warehouse in one transaction, in the order
# the run wrote them.  Nothing is read from a file, converted, checked,
# looked up or computed: the time PostgreSQL 15's one write path takes for
# this model here, which bounds any design that writes it in one
# transaction (no INSERT runs in parallel), so the most any run could be
# faster than pandas is pandas / (5).
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS w_date, w_customer, w_category, w_loan, w_fact, w_agg, w_features, w_ledger;
CREATE UNLOGGED TABLE w_date AS TABLE dw.dim_date;
CREATE UNLOGGED TABLE w_customer AS SELECT * FROM dw.dim_customer WHERE customer_key <> 0 ORDER BY customer_key;
CREATE UNLOGGED TABLE w_category AS TABLE dw.dim_transaction_category;
CREATE UNLOGGED TABLE w_loan AS TABLE dw.fact_loan_application;
CREATE UNLOGGED TABLE w_fact AS SELECT * FROM dw.fact_bank_transaction ORDER BY source_file, source_line;
CREATE UNLOGGED TABLE w_agg AS SELECT * FROM dw.agg_customer_month ORDER BY customer_id, month;
CREATE UNLOGGED TABLE w_features AS TABLE dw.customer_risk_features;
CREATE UNLOGGED TABLE w_ledger AS TABLE dw.file_ledger;
SQL
writes_sql=$(cat <<SQL
INSERT INTO dww.dim_date SELECT * FROM w_date;
INSERT INTO dww.dim_customer SELECT * FROM w_customer;
INSERT INTO dww.dim_transaction_category SELECT * FROM w_category ON CONFLICT DO NOTHING;   -- create_warehouse seeds some
INSERT INTO dww.fact_loan_application SELECT * FROM w_loan;
INSERT INTO dww.fact_bank_transaction SELECT * FROM w_fact;
INSERT INTO dww.agg_customer_month SELECT * FROM w_agg;
INSERT INTO dww.customer_risk_features SELECT * FROM w_features;
INSERT INTO dww.file_ledger SELECT * FROM w_ledger;
SQL
)
time_sql "(5) the model's writes alone (rows copied, nothing checked)" "BEGIN; $writes_sql COMMIT;" \
    "SET client_min_messages = warning; DROP SCHEMA IF EXISTS dww CASCADE; DROP SCHEMA IF EXISTS martw CASCADE;
     SELECT indicina.create_warehouse('dww', 'martw');
     SELECT indicina.ensure_month_partitions('dww', min(transaction_date), max(transaction_date)) FROM w_fact;
     CHECKPOINT;"
writes=$last_ms
# (6) of (5), the fact's rows alone: what the transactions step would still
# cost if another core parsed, converted, judged and looked up every row for
# free (an ideal parallel producer feeding the one backend PostgreSQL 15 lets
# write the run's transaction).  run_pipeline with that producer would take
# (1) - (1)'s transactions step + (6): the most that design could reach.
time_sql "(6) of (5): the fact's rows alone" \
    "BEGIN; INSERT INTO dww.fact_bank_transaction SELECT * FROM w_fact; COMMIT;" \
    "SET client_min_messages = warning; DROP SCHEMA IF EXISTS dww CASCADE; DROP SCHEMA IF EXISTS martw CASCADE;
     SELECT indicina.create_warehouse('dww', 'martw');
     SELECT indicina.ensure_month_partitions('dww', min(transaction_date), max(transaction_date)) FROM w_fact;
     CHECKPOINT;"
fact_writes=$last_ms
txn_step=$(psql -qX -At -c "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY (s->>'ms')::numeric)
                              FROM (SELECT steps FROM indicina.pipeline_runs WHERE files > 0
                                     ORDER BY run_id DESC LIMIT $BENCH_RUNS) r, jsonb_array_elements(r.steps) s
                             WHERE s->>'step' = 'transactions'")
producer=$(awk -v a="$ours" -v t="$txn_step" -v f="$fact_writes" 'BEGIN { printf "%.0f", a - t + f }')
psql -qX -c "DROP TABLE w_date, w_customer, w_category, w_loan, w_fact, w_agg, w_features, w_ledger" >/dev/null

echo
echo "run_pipeline vs plain SQL: $(ratio "$ours" "$plain")x (target >= 1.5x)"
[ -n "$pandas_ms" ] && echo "run_pipeline vs pandas:    $(ratio "$ours" "$pandas_ms")x (target >= 2x)"
echo "second run, nothing new:   ${second} ms (target < 1000 ms)"
echo "the floor vs plain SQL:     $(ratio "$floor" "$plain")x (writing the model with no checks, the aggregate read back from the fact)"
[ -n "$pandas_ms" ] && echo "the floor vs pandas:        $(ratio "$floor" "$pandas_ms")x"
echo "the model's writes alone:   $(printf %.0f "$writes") ms; run_pipeline takes $(ratio "$writes" "$ours")x as long"
[ -n "$pandas_ms" ] && echo "the writes alone vs pandas: $(ratio "$writes" "$pandas_ms")x (the most any run writing this model could beat pandas by)"
echo "with an ideal producer:     ${producer} ms ((1) $(printf %.0f "$ours") - its transactions step ${txn_step} + (6) $(printf %.0f "$fact_writes"))"
[ -n "$pandas_ms" ] && echo "the ideal producer vs pandas: $(ratio "$producer" "$pandas_ms")x (the most a parallel producer could reach)"
psql -qX -At -c "SELECT 'rows read ' || rows_read || ' = loaded ' || rows_loaded || ' + rejected ' || rows_rejected
                 FROM indicina.pipeline_runs WHERE files > 0 ORDER BY run_id DESC LIMIT 1"
echo "run_pipeline's steps (ms):"
psql -qX -At -F ' ' -c "SELECT '  ' || rpad(s->>'step', 30), s->>'ms' FROM indicina.pipeline_runs, jsonb_array_elements(steps) s
                        WHERE run_id = (SELECT max(run_id) FROM indicina.pipeline_runs WHERE files > 0)"
save_results pipeline
