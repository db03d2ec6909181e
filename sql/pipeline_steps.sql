-- pipeline_steps.sql: the steps of run_pipeline called one by one, as a
-- test or a reader may: what each leaves behind, and that the steps called
-- in run_pipeline's order give the warehouse run_pipeline gives.
\getenv abs_srcdir PG_ABS_SRCDIR
\set server steps_files \set loans steps_loans \set statements steps_statements
\set file_column loaded_from \set line_column loaded_line
\i :abs_srcdir/test/data/seed_landing.sql
SELECT indicina.create_warehouse('steps_dw', 'steps_mart');

-- what the warehouse holds, keys aside (identities drawn in a rolled-back
-- transaction are not given back) and run ids aside
CREATE TEMP VIEW steps_digest AS
SELECT (SELECT md5(string_agg(ROW(f.application_id, f.customer_key = 0, f.customer_id, f.application_date_key,
                                  f.loan_amount, f.credit_score, f.annual_income, f.employment_status,
                                  f.loan_to_income, f.source_file, f.source_line)::text, ',' ORDER BY f.application_id))
          FROM steps_dw.fact_loan_application f) AS loans,
       (SELECT md5(string_agg(ROW(c.customer_id, c.employment_status, c.annual_income, c.valid_from, c.valid_to,
                                  c.is_current, c.source_file, c.source_line)::text, ','
                              ORDER BY c.customer_id, c.valid_from, c.source_line))
          FROM steps_dw.dim_customer c) AS customers,
       (SELECT md5(string_agg(ROW(t.transaction_id, c.customer_id, c.valid_from, t.transaction_date,
                                  t.transaction_date_key, k.narration, t.amount, t.direction, t.balance,
                                  t.source_file, t.source_line)::text, ',' ORDER BY t.source_file, t.source_line))
          FROM steps_dw.fact_bank_transaction t JOIN steps_dw.dim_customer c USING (customer_key)
          JOIN steps_dw.dim_transaction_category k USING (category_key)) AS transactions,
       (SELECT md5(string_agg(ROW(a.customer_id, a.month, a.inflow, a.outflow, a.net, a.txn_count, a.closing_balance,
                                  a.min_balance, a.salary_credit)::text, ',' ORDER BY a.customer_id, a.month))
          FROM steps_dw.agg_customer_month a) AS months,
       (SELECT md5(string_agg(ROW(r.customer_id, r.months_observed, r.avg_monthly_inflow, r.avg_monthly_outflow,
                                  r.income_regularity, r.balance_volatility, r.latest_loan_to_income)::text, ','
                              ORDER BY r.customer_id))
          FROM steps_dw.customer_risk_features r) AS features,
       (SELECT md5(string_agg(ROW(l.source, l.path, l.size, l.content_hash, l.status, l.rows_read, l.rows_loaded,
                                  l.rows_rejected, l.rows_warned)::text, ',' ORDER BY l.source, l.path))
          FROM steps_dw.file_ledger l) AS ledger,
       (SELECT count(*) FROM steps_dw.dim_date) AS dates;

-- ---- one step at a time, in run_pipeline's order ----
BEGIN;
SELECT indicina.pipeline_begin('steps_loans', 'steps_statements', 'steps_dw', false) AS r \gset
-- the run: the warehouse, the two tables and their lineage columns
SELECT (x).target, (x).loans, (x).transactions, (x).loan_file, (x).loan_line, (x).txn_file, (x).txn_line,
       (x).run_id IS NOT NULL AS has_run_id
  FROM (SELECT :'r'::indicina.pipeline_run AS x) s;
-- the run's collectors are there, empty
SELECT (SELECT count(*) FROM pg_temp.indicina_set_flags) AS set_flags,
       (SELECT count(*) FROM pg_temp.indicina_touched) AS touched;

-- plan files: each source's one file is new
SELECT loan_files, txn_files, counts FROM indicina.pipeline_plan_files(:'r') \gset
SELECT :'loan_files'::text[] AS loan_files, :'txn_files'::text[] AS txn_files, :'counts'::jsonb AS counts;
SELECT 'loans' AS source, file, action, sha256 IS NOT NULL AS hashed FROM pg_temp.indicina_files_loans
UNION ALL
SELECT 'transactions', file, action, sha256 IS NOT NULL FROM pg_temp.indicina_files_transactions ORDER BY 1;

-- replace corrected files: nothing was loaded before, nothing replaced
SELECT * FROM indicina.pipeline_replace_corrected_files(:'r');

-- stage loans: the applications in the batch, none in the warehouse yet
SELECT indicina.pipeline_stage_loans(:'r', :'loan_files') AS counts;
SELECT count(*) AS staged, count(DISTINCT source_file) AS files FROM pg_temp.indicina_batch_loans;
SELECT file, rows_read, rows_rejected FROM pg_temp.indicina_loan_scan;
SELECT count(*) AS loans_in_warehouse FROM steps_dw.fact_loan_application;

-- dimensions: the statements' span (from the survey), dates for both
-- sources' span, the partitions of that span, a version per customer
SELECT txn_from, txn_to, counts FROM indicina.pipeline_dimensions(:'r', :'txn_files') \gset
SELECT :'txn_from'::date AS txn_from, :'txn_to'::date AS txn_to, :'counts'::jsonb AS counts;
SELECT indicina.month_start(:'txn_from') AS months_from, indicina.month_start(:'txn_to') AS months_to \gset
SELECT min(full_date), max(full_date), count(*) = max(full_date) - min(full_date) + 1 AS every_day
  FROM steps_dw.dim_date;
SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'steps_dw'::regnamespace
   AND c.relname LIKE 'fact_bank_transaction_%' AND c.relkind = 'r' ORDER BY 1;
SELECT count(*) AS versions, count(*) FILTER (WHERE is_current) AS current, count(*) = count(DISTINCT customer_id) AS one_each
  FROM steps_dw.dim_customer WHERE customer_key <> 0;
SELECT count(*) AS new_versions FROM pg_temp.indicina_versions;
SELECT to_regclass('pg_temp.indicina_narrations') AS survey_left;

-- loan facts: every application with its customer's version
SELECT indicina.pipeline_arm_customers(:'r') AS customers_armed;
SELECT indicina.pipeline_loan_facts(:'r') AS counts;
SELECT count(*) AS loans, count(*) FILTER (WHERE f.customer_key = 0) AS unknown,
       count(*) FILTER (WHERE c.customer_id IS DISTINCT FROM f.customer_id) AS wrong_customer
  FROM steps_dw.fact_loan_application f LEFT JOIN steps_dw.dim_customer c USING (customer_key);

-- transactions: straight from the scan into the fact; the months the run
-- changes held nothing before, so all of them come from the scan
SELECT old_months, from_scan, coalesce(batch::text, 'none') AS batch, counts
  FROM indicina.pipeline_transactions(:'r', :'txn_files', :'months_from', :'months_to') \gset
SELECT :'old_months'::date[] AS old_months, :'from_scan'::boolean AS from_scan,
       :'batch' AS batch, :'counts'::jsonb AS counts;
SELECT count(*) AS transactions, count(*) FILTER (WHERE customer_key = 0) AS unknown,
       count(*) FILTER (WHERE category_key = 0) AS uncategorised
  FROM steps_dw.fact_bank_transaction;
SELECT count(*) AS months_yet FROM steps_dw.agg_customer_month;

-- aggregates and risk features, then the ledger
SELECT indicina.pipeline_aggregates(:'r', :'months_from', :'months_to', :'old_months', :'from_scan') AS counts;
SELECT customer_id, month, inflow, outflow, net, txn_count, closing_balance FROM steps_dw.agg_customer_month
 ORDER BY 1, 2;
SELECT count(*) AS features, count(*) FILTER (WHERE months_observed > 0) AS with_months
  FROM steps_dw.customer_risk_features;
SELECT indicina.pipeline_ledger(:'r', NULL);
SELECT source, path, status, rows_read, rows_loaded, rows_rejected, rows_warned FROM steps_dw.file_ledger ORDER BY 1;
SELECT * FROM steps_digest \gset by_steps_
ROLLBACK;

-- ---- run_pipeline gives the same warehouse ----
SELECT count(*) AS loans_left FROM steps_dw.fact_loan_application;
SELECT step FROM indicina.run_pipeline('steps_loans', 'steps_statements', 'steps_dw');
SELECT loans = :'by_steps_loans' AS loans, customers = :'by_steps_customers' AS customers,
       transactions = :'by_steps_transactions' AS transactions, months = :'by_steps_months' AS months,
       features = :'by_steps_features' AS features, ledger = :'by_steps_ledger' AS ledger,
       dates = :by_steps_dates AS dates
  FROM steps_digest;

-- a second run: plan files finds nothing new, and the nothing-new step
-- only stamps the ledger
BEGIN;
SELECT indicina.pipeline_begin('steps_loans', 'steps_statements', 'steps_dw', false) AS r \gset
SELECT * FROM indicina.pipeline_plan_files(:'r');
SELECT * FROM indicina.pipeline_replace_corrected_files(:'r');
SELECT indicina.pipeline_nothing_new(:'r');
SELECT * FROM steps_digest \gset again_
SELECT :'again_ledger' = :'by_steps_ledger' AS ledger_unchanged;
ROLLBACK;

DROP VIEW steps_digest;
DROP SCHEMA steps_dw CASCADE;
DROP SCHEMA steps_mart CASCADE;
DROP SERVER steps_files CASCADE;
