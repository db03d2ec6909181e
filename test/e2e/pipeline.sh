#!/usr/bin/env bash
# pipeline.sh: run_pipeline for real.  Exactly once (a second run changes
# nothing; a re-delivery under another name is skipped; a corrected file
# replaces the rows of its earlier version), rows read = loaded + rejected
# per file, late transactions attached when their application arrives,
# atomic under a killed backend, two runs at once refused, and a pg_cron job
# that fires and fills the warehouse.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
generated_landing --customers 2000 --months 3 --files 3 --dirty 0.02 --seed 11
"$repo/tools/indicina-gen" --out "$work/big" --customers 40000 --months 6 --files 1 --seed 12 >/dev/null
chmod -R a+rwX "$work"

db=postgres     # pg_cron's database in the test cluster (cron.database_name)
q() { psql -qX -At -v ON_ERROR_STOP=1 -d $db "$@"; }
# pg_cron is preloaded in every cluster of tools/test.sh but the checked
# one's when Debian's source of it cannot be fetched (see docs/operations.md)
cron_db
raw_tables $db -c "SELECT indicina.create_warehouse('dw')"
run() { q -c "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw')" 2>&1; }
# rows of agg_customer_month that differ from a recomputation over the whole
# fact with plain SQL aggregates (either way): 0 when the run's incremental
# month_flow pass left the table exactly right
agg_drift() {
    q -c "WITH fresh AS (
              SELECT f.customer_id, date_trunc('month', f.transaction_date)::date AS month,
                     coalesce(sum(f.amount) FILTER (WHERE f.amount > 0), 0) AS inflow,
                     coalesce(-sum(f.amount) FILTER (WHERE f.amount < 0), 0) AS outflow, sum(f.amount) AS net,
                     count(*)::int AS txn_count,
                     (array_agg(f.balance ORDER BY f.transaction_date DESC, f.source_file COLLATE \"C\" DESC,
                                f.source_line DESC))[1] AS closing_balance,
                     min(f.balance) AS min_balance, bool_or(k.category_group = 'income' AND f.amount > 0) AS salary_credit
                FROM dw.fact_bank_transaction f JOIN dw.dim_transaction_category k USING (category_key) GROUP BY 1, 2),
          kept AS (SELECT customer_id, month, inflow, outflow, net, txn_count, closing_balance, min_balance, salary_credit
                     FROM dw.agg_customer_month)
          SELECT (SELECT count(*) FROM (TABLE fresh EXCEPT ALL TABLE kept) a)
               + (SELECT count(*) FROM (TABLE kept EXCEPT ALL TABLE fresh) b)"
}
# rows of customer_risk_features that differ from a plain-SQL recomputation
# over agg_customer_month and the loan facts, for every customer with months
# or an application: 0 when the run recomputed the features of every
# customer it touched
features_drift() {
    q -c "WITH who AS (SELECT customer_id FROM dw.agg_customer_month UNION SELECT customer_id FROM dw.fact_loan_application),
          fresh AS (
              SELECT w.customer_id, count(a.month)::int AS months_observed, round(avg(a.inflow), 2) AS avg_in,
                     round(avg(a.outflow), 2) AS avg_out, round(avg(CASE WHEN a.salary_credit THEN 1 ELSE 0 END), 4) AS reg,
                     round(stddev_pop(a.closing_balance), 2) AS vol,
                     (SELECT l.loan_to_income FROM dw.fact_loan_application l WHERE l.customer_id = w.customer_id
                       ORDER BY l.application_date DESC NULLS LAST, l.application_id DESC LIMIT 1) AS lti
                FROM who w LEFT JOIN dw.agg_customer_month a ON a.customer_id = w.customer_id GROUP BY w.customer_id),
          kept AS (SELECT customer_id, months_observed, avg_monthly_inflow, avg_monthly_outflow, income_regularity,
                          balance_volatility, latest_loan_to_income FROM dw.customer_risk_features)
          SELECT (SELECT count(*) FROM (TABLE fresh EXCEPT ALL TABLE kept) a)
               + (SELECT count(*) FROM (TABLE kept EXCEPT ALL TABLE fresh) b)"
}
facts() { q -c "SELECT (SELECT count(*) FROM dw.fact_loan_application) || '/' || (SELECT count(*) FROM dw.fact_bank_transaction)"; }

# ---- the first run: every file's rows accounted for ----
run >/dev/null
in_files=$(/usr/bin/python3 -c "import json; d=json.load(open('$work/landing/defects.json')); print(sum(o['rows'] for o in d['outputs']))")
ledger=$(q -c "SELECT count(*) || ' ' || sum(rows_read) || ' ' || bool_and(rows_read = rows_loaded + rows_rejected) FROM dw.file_ledger")
is "$ledger" "4 $in_files true" "ledger: 4 files, rows read = rows in the files ($in_files), read = loaded + rejected for each"
loaded=$(q -c "SELECT sum(rows_loaded) FROM dw.file_ledger")
is "$(( $(facts | tr / +) ))" "$loaded" "the facts hold exactly the rows the ledger says were loaded ($loaded)"
rejected=$(q -c "SELECT sum(rows_rejected) FROM dw.file_ledger")
logged=$(q -c "SELECT count(DISTINCT (relation, file, line)) FROM indicina.load_errors")
is "$logged" "$rejected" "every rejected row is in load_errors ($rejected)"
is "$(agg_drift)" 0 "agg_customer_month equals a plain-SQL recomputation over the fact"
is "$(features_drift)" 0 "customer_risk_features equals a plain-SQL recomputation over the aggregates and loans"

# ---- a second run changes nothing ----
# its time is a figure, not an assertion (speed is benchmarked: bench/pipeline.sh)
before=$(facts)
start=$(date +%s%N); run >/dev/null; ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(facts)" "$before" "a second run changes nothing ($before)"
echo "# a second run with no new files took ${ms} ms (psql included; a figure, not asserted)"

# ---- a re-delivery under another name is skipped ----
cp "$work/landing/statements/bank_statements_001.csv" "$work/landing/statements/resent_001.csv"
run >/dev/null
is "$(facts)/$(q -c "SELECT status || ':' || duplicate_of FROM dw.file_ledger WHERE path = 'statements/resent_001.csv'")" \
   "$before/duplicate:statements/bank_statements_001.csv" "an identical file under another name is recorded as a duplicate and loads nothing"

# ---- a touched file (same bytes, new time) is recognised and not reloaded ----
touch "$work/landing/statements/bank_statements_003.csv"
run >/dev/null
is "$(facts)/$(q -c "SELECT status FROM dw.file_ledger WHERE path = 'statements/bank_statements_003.csv'")" "$before/loaded" \
   "a file touched but not changed is rehashed, recognised and not loaded again"

# ---- a corrected file under the same name replaces its earlier rows ----
f="$work/landing/statements/bank_statements_002.csv"
head -n -40 "$f" > "$f.new" && mv "$f.new" "$f" && chmod a+r "$f"
run >/dev/null
from_file=$(q -c "SELECT count(*) FROM dw.fact_bank_transaction WHERE source_file = 'statements/bank_statements_002.csv'")
ledger_loaded=$(q -c "SELECT rows_loaded || ' ' || (rows_read = rows_loaded + rows_rejected) FROM dw.file_ledger WHERE path = 'statements/bank_statements_002.csv'")
is "$from_file true" "$ledger_loaded" "a corrected file replaces its rows: $from_file in the fact = loaded by the new version"
dups=$(q -c "SELECT count(*) FROM (SELECT source_file, source_line FROM dw.fact_bank_transaction GROUP BY 1, 2 HAVING count(*) > 1) s")
is "$dups" 0 "no source row is in the fact twice"
is "$(agg_drift)" 0 "after the correction, agg_customer_month (recomputed only for the months it touched) is still exact"
is "$(features_drift)" 0 "after the correction, customer_risk_features is still exact"

# ---- a fixed rule: the quarantined rows that now pass are loaded by the next run ----
q -c "SELECT indicina.add_rule('credit_score_range', 'raw_loan_applications', 'range', '{credit_score}',
        '{\"min\": 0, \"max\": 1000}', replace => true)" >/dev/null
expected_scores=$(q -c "SELECT count(*) FROM indicina.load_errors WHERE relation = 'raw_loan_applications' AND code = 'RULE:credit_score_range'")
requeue=$(q -c "SELECT file || ' ' || loads_now || ' ' || requeued FROM indicina.requeue_quarantined('raw_loan_applications', 'dw')")
is "$requeue" "loans/loan_applications.csv $expected_scores true" \
   "requeue_quarantined finds the $expected_scores out-of-range scores that pass the fixed rule and requeues their file"
loans_before=$(q -c "SELECT count(*) FROM dw.fact_loan_application")
run >/dev/null
is "$(q -c "SELECT count(*) FROM dw.fact_loan_application")" "$((loans_before + expected_scores))" \
   "the next run reloads the file: the $expected_scores rows are in the fact, nothing twice"

# ---- late data: a transaction before its application, attached when it arrives ----
printf 'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance\nTXN_LATE1,CUST_LATE,2024-02-01,100.00,Monthly Income,100.00\n' \
    > "$work/landing/statements/late.csv"
chmod a+r "$work/landing/statements/late.csv"
run >/dev/null
is "$(q -c "SELECT customer_key FROM dw.fact_bank_transaction WHERE transaction_id = 'TXN_LATE1'")" 0 \
   "a transaction whose customer has no application yet waits on the unknown member (key 0)"
printf 'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income\nAPP_LATE,CUST_LATE,5000,2024-02-02,700,Employed,40000\n' \
    > "$work/landing/loans/late.csv"
chmod a+r "$work/landing/loans/late.csv"
run >/dev/null
is "$(q -c "SELECT c.customer_id FROM dw.fact_bank_transaction f JOIN dw.dim_customer c USING (customer_key) WHERE transaction_id = 'TXN_LATE1'")" \
   CUST_LATE "it is attached to its customer once the application arrives"

# ---- SCD type 2: a transaction points at the customer version valid at its date ----
printf 'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income\nAPP_S1,CUST_SCD,5000,2024-01-10,700,Employed,40000\nAPP_S2,CUST_SCD,6000,2024-03-10,710,Self-Employed,60000\n' \
    > "$work/landing/loans/scd.csv"
printf 'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance\nTXN_S1,CUST_SCD,2024-01-01,100.00,Monthly Income,100.00\nTXN_S2,CUST_SCD,2024-02-01,50.00,Online Transfer,150.00\nTXN_S3,CUST_SCD,2024-04-01,-20.00,POS Purchase,130.00\n' \
    > "$work/landing/statements/scd.csv"
chmod a+r "$work/landing/loans/scd.csv" "$work/landing/statements/scd.csv"
run >/dev/null
versions_of_scd() {
    q -c "SELECT string_agg(f.transaction_id || ':' || c.annual_income, ' ' ORDER BY f.transaction_id)
            FROM dw.fact_bank_transaction f JOIN dw.dim_customer c USING (customer_key) WHERE f.customer_id = 'CUST_SCD'"
}
is "$(versions_of_scd)" "TXN_S1:40000.00 TXN_S2:40000.00 TXN_S3:60000.00" \
   "each transaction gets the version valid at its date (before the first application: the version of its day)"
printf 'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income\nAPP_S3,CUST_SCD,7000,2024-03-20,720,Employed,30000\n' \
    > "$work/landing/loans/scd_b.csv"
chmod a+r "$work/landing/loans/scd_b.csv"
touch -d @1700000000.1 "$work/landing/loans/scd_b.csv"
run >/dev/null
is "$(versions_of_scd)" "TXN_S1:40000.00 TXN_S2:40000.00 TXN_S3:30000.00" \
   "a later version re-points the transactions loaded before from its date on"
is "$(q -c "SELECT s->>'transactions_repointed' FROM indicina.pipeline_runs, jsonb_array_elements(steps) s
             WHERE run_id = (SELECT max(run_id) FROM indicina.pipeline_runs) AND s->>'step' = 'loan facts'")" 1 \
   "the run counts the one transaction it re-pointed"
printf 'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income\nAPP_S3,CUST_SCD,7000,2024-03-20,720,Employed,35000\n' \
    > "$work/landing/loans/scd_b.csv"
touch -d @1700000000.6 "$work/landing/loans/scd_b.csv"   # the same size, within the same second
run >/dev/null
is "$(versions_of_scd)" "TXN_S1:40000.00 TXN_S2:40000.00 TXN_S3:35000.00" \
   "a corrected loans file (same size, same second) is reloaded and its version takes the transactions of its dates"
# an older application that changes nothing (the same as the current version)
# makes no version and predates them all: it still gets its customer
printf 'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income\nAPP_S0,CUST_SCD,4000,2024-01-05,690,Employed,35000\n' \
    > "$work/landing/loans/scd_c.csv"
chmod a+r "$work/landing/loans/scd_c.csv"
run >/dev/null
is "$(q -c "SELECT c.customer_id || ':' || c.annual_income FROM dw.fact_loan_application f JOIN dw.dim_customer c USING (customer_key)
             WHERE f.application_id = 'APP_S0'")" "CUST_SCD:40000.00" \
   "an application older than every version of its customer gets the first version, not the unknown member"

# ---- two runs at once: the second refuses clearly ----
cp "$work/big/statements/"*.csv "$work/landing/statements/big.csv" && chmod a+r "$work/landing/statements/big.csv"
before=$(facts)
q -c "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw')" >/dev/null 2>&1 &
runner=$!
for _ in $(seq 1 100); do
    [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%run_pipeline%' AND pid <> pg_backend_pid() AND state = 'active'")" = 1 ] && break
    sleep 0.1
done
sleep 0.5
second=$(run)
like "$second" "another pipeline run into dw is in progress" "a second run at the same time refuses with a clear error"

# ---- a killed backend leaves the warehouse exactly as it was ----
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%run_pipeline%' AND pid <> pg_backend_pid()" >/dev/null
wait $runner
is "$(facts)" "$before" "the killed run changed nothing ($before)"
is "$(q -c "SELECT status FROM indicina.pipeline_runs ORDER BY run_id DESC LIMIT 1")" aborted \
   "the killed run shows as aborted in pipeline_runs"
run >/dev/null
big=$(q -c "SELECT rows_loaded FROM dw.file_ledger WHERE path = 'statements/big.csv'")
ok "$([ "${big:-0}" -gt 100000 ] && echo 0 || echo 1)" "the next run loads the file the killed one did not ($big rows)"
is "$(agg_drift)" 0 "after late data and a big new file, agg_customer_month is still exact"
is "$(features_drift)" 0 "after late data and a big new file, customer_risk_features is still exact"

# ---- scheduled by pg_cron: a job that fires, succeeds and fills the warehouse ----
if [ "$cron" != 1 ]; then
    echo "# pg_cron is not installed in this server: its 5 tests are skipped"
    done_testing
    exit
fi
q >/dev/null <<SQL
DROP SCHEMA dw CASCADE; DROP SCHEMA mart CASCADE;
SELECT indicina.create_warehouse('dw');
SQL
job=$(q -c "SELECT indicina.schedule_pipeline('* * * * *', 'raw_loan_applications', 'raw_bank_statements', 'dw', 'nightly')")
broken=$(q -c "SELECT indicina.schedule_pipeline('* * * * *', 'raw_loan_applications', 'raw_bank_statements', 'no_such_dw', 'broken')")
again=$(q -c "SELECT indicina.schedule_pipeline('* * * * *', 'raw_loan_applications', 'raw_bank_statements', 'dw', 'nightly')")
is "$again" "$job" "scheduling the same name again updates the job"
status=
for _ in $(seq 1 90); do
    status=$(q -c "SELECT status FROM cron.job_run_details WHERE jobid = $job AND status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1")
    [ -n "$status" ] && break
    sleep 1
done
is "$status" succeeded "the pg_cron job fired and cron.job_run_details says succeeded"
failed=$(q -c "SELECT status || ': ' || return_message FROM cron.job_run_details WHERE jobid = $broken ORDER BY runid LIMIT 1")
like "$failed" "failed: ERROR: warehouse no_such_dw does not exist" "a job whose run fails shows failed, with the error, in cron.job_run_details"
q -c "SELECT indicina.unschedule_pipeline('broken')" >/dev/null
is "$(q -c "SELECT (SELECT count(*) > 0 FROM dw.fact_bank_transaction) AND (SELECT status = 'succeeded' FROM indicina.pipeline_runs ORDER BY run_id DESC LIMIT 1)")" t \
   "the job filled the warehouse and its run succeeded"
is "$(q -c "SELECT indicina.unschedule_pipeline('nightly')")/$(q -c "SELECT count(*) FROM cron.job WHERE jobname = 'nightly'")" "t/0" \
   "unschedule_pipeline removes the job"

done_testing
