-- warehouse.sql: create_warehouse, run_pipeline on the original assessment's
-- 1,000 loan applications (the dashboard's KPIs must come out as they did:
-- average annual income 51,283.33; employment 686 / 213 / 101), a second run
-- that changes nothing, a failing run that leaves the warehouse untouched,
-- and the clear errors.  File-ledger cases that rewrite files, concurrency,
-- killed backends and pg_cron are in test/e2e/pipeline.sh.
\getenv abs_srcdir PG_ABS_SRCDIR
\set server wh_files \set loans seed_loans \set statements seed_statements
\i :abs_srcdir/test/data/seed_landing.sql
CREATE FOREIGN TABLE no_lineage (transaction_id text) SERVER wh_files OPTIONS (filename 'quality/statements.csv');

-- ---- clear errors ----
SELECT * FROM indicina.run_pipeline('seed_loans', 'seed_statements', 'no_such_warehouse');
SELECT * FROM indicina.run_pipeline('seed_loans', 'no_lineage', 'dw');
SELECT indicina.schedule_pipeline('0 2 * * *', 'seed_loans', 'seed_statements');

-- ---- the warehouse: a call, not part of the extension ----
SELECT indicina.create_warehouse('dw');
SELECT indicina.create_warehouse('dw');
SELECT * FROM indicina.requeue_quarantined('no_lineage', 'dw');
SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('dw', 'mart') AND c.relkind IN ('r', 'p', 'v') ORDER BY n.nspname, c.relname;
SELECT count(*) AS owned_by_extension FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
 JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE d.deptype = 'e' AND n.nspname IN ('dw', 'mart');

-- ---- the first run ----
SELECT step, counts FROM indicina.run_pipeline('seed_loans', 'seed_statements', 'dw') ORDER BY step;
SELECT name, severity FROM indicina.quality_rules WHERE shipped ORDER BY relation::text, name;

-- the original dashboard, reproduced
SELECT avg_annual_income, applications, customers, transactions FROM mart.kpi_overview;
SELECT employment_status, applications, share_pct, avg_annual_income, avg_loan_amount
  FROM mart.kpi_employment_status ORDER BY employment_status;
SELECT band, applications FROM mart.kpi_credit_score_bands ORDER BY band;
SELECT band, applications FROM mart.kpi_loan_to_income_bands ORDER BY band;
SELECT narration, transactions, avg_transaction_amount FROM mart.kpi_narration ORDER BY narration;
SELECT month, inflow, outflow, net FROM mart.kpi_monthly_cash_flow ORDER BY month;
SELECT count(*) AS merged_rows FROM mart.loan_transactions;

-- the model: keys, lineage, the unknown member, SCD2, dates, partitions
SELECT count(*) AS versions, count(*) FILTER (WHERE is_current) AS current,
       count(DISTINCT customer_id) AS customers FROM dw.dim_customer WHERE customer_key <> 0;
SELECT application_id, customer_id, loan_amount, annual_income, loan_to_income, source_file, source_line
  FROM dw.fact_loan_application ORDER BY application_id LIMIT 3;
SELECT transaction_id, customer_key, customer_id, amount, direction, balance, source_line
  FROM dw.fact_bank_transaction ORDER BY source_line;
SELECT min(full_date), max(full_date), count(*) = max(full_date) - min(full_date) + 1 AS no_gaps FROM dw.dim_date;
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'dw.fact_bank_transaction'::regclass;
SELECT customer_id, month, inflow, outflow, net, txn_count, closing_balance, min_balance, salary_credit
  FROM dw.agg_customer_month ORDER BY customer_id, month;
SELECT customer_id, months_observed, avg_monthly_inflow, avg_monthly_outflow, income_regularity, balance_volatility
  FROM dw.customer_risk_features WHERE months_observed > 0 ORDER BY customer_id;

-- per file: read = loaded + rejected
SELECT source, path, status, rows_read, rows_loaded, rows_rejected, rows_warned,
       rows_read = rows_loaded + rows_rejected AS balanced FROM dw.file_ledger ORDER BY source, path;
SELECT status, files, rows_read, rows_loaded, rows_rejected FROM indicina.pipeline_runs ORDER BY run_id DESC LIMIT 1;

-- ---- a second run changes nothing ----
SELECT step, counts FROM indicina.run_pipeline('seed_loans', 'seed_statements', 'dw') ORDER BY step;
SELECT count(*) FROM dw.fact_loan_application;
SELECT status, files FROM indicina.pipeline_runs ORDER BY run_id DESC LIMIT 1;

-- ---- a failing run leaves its warehouse exactly as it was ----
SELECT indicina.create_warehouse('dw_b', 'mart_b');
SELECT indicina.add_rule('too_few', 'seed_statements', 'row_count', params => '{"min": 1000}', severity => 'fail') > 0 AS added;
SELECT step FROM indicina.run_pipeline('seed_loans', 'seed_statements', 'dw_b');
SELECT (SELECT count(*) FROM dw_b.fact_loan_application) AS loans, (SELECT count(*) FROM dw_b.file_ledger) AS ledger,
       (SELECT count(*) FROM dw_b.dim_customer) AS customers_incl_unknown;
SELECT status, message, steps IS NOT NULL AS has_steps FROM indicina.pipeline_runs ORDER BY run_id DESC LIMIT 1;
SELECT rule, outcome, run_status FROM indicina.quality_results
 WHERE run_id = (SELECT max(run_id) FROM indicina.pipeline_runs) AND rule = 'too_few';

-- ---- a rule the scan cannot judge (row_count) sends the transactions
-- through a batch: the same warehouse as the run straight from the scan ----
SELECT indicina.drop_rule('seed_statements', 'too_few');
SELECT indicina.add_rule('enough_rows', 'seed_statements', 'row_count', params => '{"min": 1}', severity => 'fail') > 0 AS added;
SELECT indicina.create_warehouse('dw_c', 'mart_c');
SELECT step, counts FROM indicina.run_pipeline('seed_loans', 'seed_statements', 'dw_c') WHERE step IN ('transactions', 'total');
SELECT (SELECT count(*) FROM (SELECT transaction_id, customer_id, transaction_date, transaction_date_key, category_key, amount,
                                     direction, balance, source_file, source_line, customer_key <> 0 FROM dw.fact_bank_transaction
                              EXCEPT ALL
                              SELECT transaction_id, customer_id, transaction_date, transaction_date_key, category_key, amount,
                                     direction, balance, source_file, source_line, customer_key <> 0 FROM dw_c.fact_bank_transaction) a)
     + (SELECT count(*) FROM dw_c.fact_bank_transaction) - (SELECT count(*) FROM dw.fact_bank_transaction) AS fact_rows_differing,
       (SELECT count(*) FROM (SELECT customer_id, month, inflow, outflow, net, txn_count, closing_balance, min_balance, salary_credit FROM dw.agg_customer_month
                              EXCEPT ALL SELECT customer_id, month, inflow, outflow, net, txn_count, closing_balance, min_balance, salary_credit FROM dw_c.agg_customer_month) a)
     + (SELECT count(*) FROM dw_c.agg_customer_month) - (SELECT count(*) FROM dw.agg_customer_month) AS agg_rows_differing,
       (SELECT count(*) FROM (SELECT source, path, rows_read, rows_loaded, rows_rejected, rows_warned FROM dw.file_ledger
                              EXCEPT ALL
                              SELECT source, path, rows_read, rows_loaded, rows_rejected, rows_warned FROM dw_c.file_ledger) a)
       AS ledger_rows_differing;
SELECT indicina.drop_rule('seed_statements', 'enough_rows');

-- ---- agg_customer_month from the load's scan equals month_flow over the
-- fact: ties on a date across files (the later file's row closes the
-- month) and within a file, a NULL closing balance, a zero and a negative
-- income, more decimals than cents, ids in byte order, a leap day ----
CREATE FOREIGN TABLE flow_statements (
    transaction_id text NOT NULL, customer_id text NOT NULL,
    transaction_date date, transaction_amount numeric(14,2), narration text, balance numeric(14,2),
    source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line')
) SERVER wh_files OPTIONS (files 'warehouse/flows_*.csv', on_error 'reject');
SELECT indicina.create_warehouse('dw_f', 'mart_f');
SELECT step, counts FROM indicina.run_pipeline('seed_loans', 'flow_statements', 'dw_f')
 WHERE step IN ('transactions', 'aggregates and risk features');
SELECT customer_id, month, inflow, outflow, net, txn_count, closing_balance, min_balance, salary_credit,
       changed_run = (SELECT max(run_id) FROM dw_f.file_ledger) AS changed_by_the_run
  FROM dw_f.agg_customer_month ORDER BY customer_id, month;
WITH fresh AS (
    SELECT f.customer_id, date_trunc('month', f.transaction_date)::date AS month,
           coalesce(sum(f.amount) FILTER (WHERE f.amount > 0), 0) AS inflow,
           coalesce(-sum(f.amount) FILTER (WHERE f.amount <= 0), 0) AS outflow, sum(f.amount) AS net,
           count(*)::int AS txn_count,
           (array_agg(f.balance ORDER BY f.transaction_date DESC, f.source_file COLLATE "C" DESC,
                      f.source_line DESC))[1] AS closing_balance,
           min(f.balance) AS min_balance, bool_or(k.category_group = 'income' AND f.amount > 0) AS salary_credit
      FROM dw_f.fact_bank_transaction f JOIN dw_f.dim_transaction_category k USING (category_key) GROUP BY 1, 2)
SELECT (SELECT count(*) FROM (TABLE fresh EXCEPT ALL
                              SELECT customer_id, month, inflow, outflow, net, txn_count, closing_balance, min_balance,
                                     salary_credit FROM dw_f.agg_customer_month) a)
     + (SELECT count(*) FROM (SELECT customer_id, month, inflow, outflow, net, txn_count, closing_balance, min_balance,
                                     salary_credit FROM dw_f.agg_customer_month EXCEPT ALL TABLE fresh) b) AS rows_differing;
-- nothing armed, nothing to hand over
SELECT * FROM indicina.scan_month_flows();
-- a column the fact would round is not accumulated in the scan
CREATE FOREIGN TABLE flow_loose (customer_id text, transaction_date date, transaction_amount numeric,
    narration text, balance numeric(14,2)) SERVER wh_files OPTIONS (files 'warehouse/flows_*.csv');
SELECT indicina.arm_month_flows('flow_loose', 'customer_id', 'transaction_date', 'transaction_amount', 'balance',
                                'narration', '{Monthly Income}') AS armed_loose,
       indicina.arm_month_flows('flow_statements', 'customer_id', 'transaction_date', 'transaction_amount', 'balance',
                                'narration', '{Monthly Income}') AS armed;
-- the accumulator by hand: ready after a full scan; given up past hash_mem
BEGIN;
SELECT indicina.arm_month_flows('flow_statements', 'customer_id', 'transaction_date', 'transaction_amount', 'balance',
                                'narration', '{Monthly Income}') AS armed;
SELECT count(*) FROM flow_statements;
SELECT indicina.scan_month_flows_ready() AS ready;
SELECT customer_id, month, txn_count, closing_balance FROM indicina.scan_month_flows(NULL);   -- leaves out nothing
SELECT indicina.scan_month_flows_ready() AS ready_after_handing_over;
-- the customers of the rows handed over, each once, in order
SELECT * FROM indicina.scan_month_flow_customers();
-- months left out are not handed over, nor are customers only they had
SELECT indicina.arm_month_flows('flow_statements', 'customer_id', 'transaction_date', 'transaction_amount', 'balance',
                                'narration', '{Monthly Income}') AS armed;
SELECT count(*) FROM flow_statements;
SELECT customer_id, month, txn_count FROM indicina.scan_month_flows('{2024-01-01,NULL}');
SELECT * FROM indicina.scan_month_flow_customers();
-- once
SAVEPOINT handed;
SELECT * FROM indicina.scan_month_flow_customers();
ROLLBACK TO handed;
SET LOCAL work_mem = '64kB';
SET LOCAL hash_mem_multiplier = 1;
SELECT indicina.arm_month_flows('flow_statements', 'customer_id', 'transaction_date', 'transaction_amount', 'balance',
                                'narration', '{Monthly Income}') AS armed;
SELECT count(*) FROM flow_statements;
SELECT indicina.scan_month_flows_ready() AS ready_past_hash_mem;
ROLLBACK;

-- ---- indicina.survey: the first pass of a run converts only what it reads,
-- skips rows its row rules reject, records nothing ----
SELECT indicina.add_rule('no_debits', 'flow_statements', 'range', '{transaction_amount}', '{"min": 0}',
                         'reject') > 0 AS added;
SELECT count(*) AS records_before FROM indicina.load_errors \gset
SET indicina.survey = on;
SELECT count(*) AS rows, min(transaction_date), max(transaction_date), count(DISTINCT narration) AS narrations
  FROM flow_statements;
-- a survey of several files may be read by parallel workers, a whole file
-- each at a time: the same rows, rules included (costs at zero, so that the
-- planner picks a parallel plan for two small files)
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
EXPLAIN (COSTS OFF)
SELECT narration, count(*), min(transaction_date), max(transaction_date) FROM flow_statements GROUP BY narration;
CREATE TEMP TABLE survey_parallel AS
SELECT narration, count(*) AS n, min(transaction_date) AS first, max(transaction_date) AS last
  FROM flow_statements GROUP BY narration;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE survey_serial AS
SELECT narration, count(*) AS n, min(transaction_date) AS first, max(transaction_date) AS last
  FROM flow_statements GROUP BY narration;
RESET max_parallel_workers_per_gather;
SELECT (SELECT count(*) FROM survey_serial) AS narrations,
       (SELECT count(*) FROM (TABLE survey_parallel EXCEPT TABLE survey_serial) d)
     + (SELECT count(*) FROM (TABLE survey_serial EXCEPT TABLE survey_parallel) d) AS rows_that_differ;
-- EXPLAIN ANALYZE counts the rows of every process: here the worker reads
-- every file (the leader takes none), and the counts are the serial scan's
CREATE FUNCTION pg_temp.explain_counts(query text) RETURNS TABLE (workers jsonb, rows_read jsonb, rows_rejected jsonb)
LANGUAGE plpgsql AS $$
DECLARE plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
    RETURN QUERY SELECT coalesce(jsonb_path_query_first(plan, 'strict $.**."Workers Launched"'), '0'),
                        jsonb_path_query_first(plan, 'strict $.**."Rows Read"'),
                        jsonb_path_query_first(plan, 'strict $.**."Rows Rejected"');
END $$;
SET parallel_leader_participation = off;
SELECT * FROM pg_temp.explain_counts('SELECT narration, count(*) FROM flow_statements GROUP BY narration');
RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
SELECT * FROM pg_temp.explain_counts('SELECT narration, count(*) FROM flow_statements GROUP BY narration');
RESET max_parallel_workers_per_gather;
-- an expression rule (any SQL) keeps the scan in one process
SELECT indicina.add_rule('amount_small', 'flow_statements', 'expression', params => '{"sql": "transaction_amount < 1000000"}')
       > 0 AS added;
EXPLAIN (COSTS OFF) SELECT count(*) FROM flow_statements;
SELECT indicina.drop_rule('flow_statements', 'amount_small');
-- a parallel plan made for a survey never runs as a load
SET plan_cache_mode = force_generic_plan;
PREPARE surveyed AS SELECT count(*) FROM flow_statements;
EXECUTE surveyed;
RESET indicina.survey;
EXECUTE surveyed;
DEALLOCATE surveyed;
RESET plan_cache_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
DROP TABLE survey_parallel, survey_serial;
SELECT count(*) - :records_before AS records_added FROM indicina.load_errors;
SELECT count(*) AS rows_of_a_scan FROM flow_statements;
SELECT count(*) - :records_before AS records_added FROM indicina.load_errors;
SELECT indicina.drop_rule('flow_statements', 'no_debits');
-- NaN fits a numeric(14,2) column but is no number of cents: the scan's
-- converter refuses it (with on_error stop, an error naming file, line and
-- column) before the accumulator or month_flow could see it
CREATE FOREIGN TABLE flow_nan (customer_id text, transaction_date date, transaction_amount numeric(14,2),
    narration text, balance numeric(14,2)) SERVER wh_files OPTIONS (filename 'warehouse/nan_amount.csv');
BEGIN;
SELECT indicina.arm_month_flows('flow_nan', 'customer_id', 'transaction_date', 'transaction_amount', 'balance',
                                'narration', '{Monthly Income}') AS armed;
SELECT count(*) FROM flow_nan;
ROLLBACK;
-- over a table, where NaN can be stored, month_flow says what it cannot sum
SELECT (indicina.month_flow(a, b, '2024-01-01', 'f', 1, false)).inflow
  FROM (VALUES ('NaN'::numeric, 1.00::numeric)) v(a, b);
SELECT (indicina.month_flow(a, b, '2024-01-01', 'f', 1, false)).inflow
  FROM (VALUES (1.005::numeric, 1.00::numeric)) v(a, b);

-- ---- key lookups: what a LEFT JOIN on a unique key gives, for the transaction ----
SELECT indicina.key_lookup('nothing', 'CUST_1');
BEGIN;
SELECT indicina.arm_key_lookup('k', $$SELECT * FROM (VALUES ('a', 1::bigint), ('b', 2), (NULL, 3), ('Ω', 4)) v$$) AS keys;
SELECT v, indicina.key_lookup('k', v) FROM (VALUES ('a'), ('b'), ('c'), ('Ω'), ('A'), (NULL)) x(v);
-- armed again under the same name: the new rows
SELECT indicina.arm_key_lookup('k', $$SELECT 'a', 10::bigint$$) AS keys;
SELECT indicina.key_lookup('k', 'a') AS a, indicina.key_lookup('k', 'b') AS b;
-- a name that varies row by row is looked up on every call
SELECT indicina.arm_key_lookup('j', $$SELECT 'a', 20::bigint$$) AS keys;
SELECT n, indicina.key_lookup(n, 'a') FROM (VALUES ('k'), ('j'), ('k')) v(n);
-- a failed arming leaves what was armed
SAVEPOINT s;
SELECT indicina.arm_key_lookup('k', $$SELECT * FROM (VALUES ('b', 1::bigint), ('b', 2)) v$$);
ROLLBACK TO s;
SELECT indicina.key_lookup('k', 'a') AS a, indicina.key_lookup('k', 'b') AS b;
COMMIT;
-- only in the transaction that armed it
SELECT indicina.key_lookup('k', 'a');
SELECT indicina.arm_key_lookup('k', $$SELECT * FROM (VALUES ('a', 1::bigint), ('a', 2)) v$$);
SELECT indicina.arm_key_lookup('k', $$SELECT 'a', NULL::bigint$$);
SELECT indicina.arm_key_lookup('k', $$SELECT 1, 2$$);
SELECT indicina.arm_key_lookup('k', $$CREATE TABLE nope (a int)$$);
SELECT indicina.arm_key_lookup('k', $$SELECT 'a', 1::bigint, '2024-01-01'::date, 2$$);
-- versions of a type 2 dimension: the version valid at a date.  c1 changed
-- in February and March; c2 has one version; c3 has a stale version whose
-- range is empty (an application older than its current one) and another
-- made twice on one day, the later key winning, also before its first day;
-- c4's versions leave a gap
BEGIN;
SELECT indicina.arm_key_lookup('v', $$SELECT * FROM (VALUES
    ('c1', 1::bigint, '2024-01-10'::date, '2024-02-15'::date), ('c1', 5, '2024-02-15', '2024-03-01'),
    ('c1', 7, '2024-03-01', NULL), ('c2', 2, '2024-01-05', NULL),
    ('c3', 3, '2024-05-01', '2024-05-01'), ('c3', 8, '2024-03-01', NULL), ('c3', 9, '2024-03-01', NULL),
    ('c4', 4, '2024-01-01', '2024-02-01'), ('c4', 6, '2024-03-01', NULL), ('c5', 10, NULL, NULL)) v$$) AS keys;
SELECT k, at, indicina.key_lookup_at('v', k, at)
  FROM (VALUES ('c1', '2023-12-31'::date), ('c1', '2024-01-10'), ('c1', '2024-02-14'), ('c1', '2024-02-15'),
               ('c1', '2024-03-01'), ('c1', 'infinity'), ('c1', NULL), ('c2', '2020-01-01'), ('c2', '2025-01-01'),
               ('c3', '2024-02-01'), ('c3', '2024-06-01'), ('c4', '2024-02-10'), ('c4', '2024-03-02'),
               ('c5', '-infinity'), ('nobody', '2024-01-01'), (NULL, '2024-01-01')) x(k, at);
-- the version still valid, for key_lookup as for a NULL date
SELECT indicina.key_lookup('v', 'c1') AS c1, indicina.key_lookup('v', 'c3') AS c3;
-- a lookup armed without versions has one for every date
SELECT indicina.arm_key_lookup('k', $$SELECT 'a', 1::bigint$$) AS keys;
SELECT indicina.key_lookup_at('k', 'a', '2024-01-01') AS a, indicina.key_lookup_at('k', 'b', NULL) AS b;
COMMIT;

-- ---- risk_features gives what the SQL aggregates give, rounding included ----
-- halves (0.015, -0.015, a volatility of exactly 0.005), NULL balances and
-- salaries, one month, no balance at all, the largest balances
CREATE TEMP TABLE months_in (g int, inflow numeric(16,2), outflow numeric(16,2), salary boolean,
                             closing numeric(14,2));
INSERT INTO months_in VALUES
    (1, 0.01, 0.00, true, 0.00), (1, 0.02, 0.01, false, 0.01),
    (2, -0.01, 5.00, NULL, NULL), (2, -0.02, 5.00, true, 100.00), (2, 0.00, 5.01, true, -250.55),
    (3, 1234.56, 99.99, true, 1000000.00),
    (4, 10.00, 10.00, false, NULL), (4, 20.00, 20.00, false, NULL),
    (5, -0.01, 0.01, false, 5.00), (5, -0.02, 0.02, false, 5.00),
    (6, 0, 0, false, 999999999999.99), (6, 0, 0, false, -999999999999.99), (6, 0, 0, false, 123456789012.34);
-- and two thousand customers of pseudo-random months
INSERT INTO months_in
SELECT 10 + i % 2000, ((i * 7919) % 200001 - 100000) / 100.0, ((i * 104729) % 300007) / 100.0,
       (i * 31) % 3 = 0, CASE WHEN i % 17 = 0 THEN NULL ELSE ((i * 15485863) % 2000000003 - 1000000000) / 100.0 END
  FROM generate_series(1::bigint, 24000) i;
CREATE TEMP VIEW features_both AS
SELECT g, indicina.risk_features(inflow, outflow, salary, closing) AS f,
       ROW(count(*)::int, round(avg(inflow), 2), round(avg(outflow), 2),
           round(avg(CASE WHEN salary THEN 1 ELSE 0 END), 4), round(stddev_pop(closing), 2))::indicina.risk_features_result
           AS in_sql
  FROM months_in GROUP BY g;
SELECT g, (f).* FROM features_both WHERE g < 10 ORDER BY g;
SELECT count(*) AS customers, count(*) FILTER (WHERE f IS DISTINCT FROM in_sql) AS differ FROM features_both;
SELECT indicina.risk_features(1.005, 0, false, 0);
DROP VIEW features_both;
DROP TABLE months_in;
-- a warehouse made before the ledger kept S3 ETags gets the column from create_warehouse
ALTER TABLE dw_f.file_ledger DROP COLUMN etag;
SELECT indicina.create_warehouse('dw_f', 'mart_f');
SELECT count(*) AS etag_columns FROM pg_attribute WHERE attrelid = 'dw_f.file_ledger'::regclass AND attname = 'etag';
