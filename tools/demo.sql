-- demo.sql: run by tools/demo.sh inside the throwaway cluster.
-- :landing is the generated landing directory, :out where result files go.
-- With :s3 on (INDICINA_DEMO_S3=1) the landing files are read from, and the
-- unload written to, the test S3 at :endpoint (:region, :key, :secret).
\pset footer off
\echo == installing the extension
CREATE EXTENSION IF NOT EXISTS indicina;
SELECT extname AS extension, extversion AS version, indicina.version() AS library
  FROM pg_extension WHERE extname = 'indicina';
SELECT indicina.clear_load_errors() AS old_rejects_cleared \gset

\echo
\if :s3
\echo == the landing objects in s3://landing/drops/ as foreign tables (indicina_csv)
CREATE SERVER landing FOREIGN DATA WRAPPER indicina_csv
    OPTIONS (root 's3://landing/drops/', region :'region', endpoint :'endpoint');
CREATE USER MAPPING FOR CURRENT_USER SERVER landing OPTIONS (access_key_id :'key', secret_access_key :'secret');
\else
\echo == the landing directory as foreign tables (indicina_csv)
CREATE SERVER landing FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'landing');
\endif
CREATE FOREIGN TABLE raw_loan_applications (
    application_id text NOT NULL, customer_id text OPTIONS (format 'id') NOT NULL,
    loan_amount numeric(14,2) OPTIONS (format 'amount'),
    loan_application_date date OPTIONS (format 'auto'),
    credit_score int,
    employment_status text OPTIONS (format 'label:employment_status'),
    annual_income numeric(14,2) OPTIONS (format 'amount'),
    source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line')
) SERVER landing OPTIONS (filename 'loans/loan_applications.csv', on_error 'reject', reject_limit '5%');
CREATE FOREIGN TABLE raw_bank_statements (
    transaction_id text NOT NULL, customer_id text OPTIONS (format 'id') NOT NULL,
    transaction_date date OPTIONS (format 'auto'),
    transaction_amount numeric(14,2) OPTIONS (format 'amount'),
    narration text OPTIONS (format 'label:narration'),
    balance numeric(14,2) OPTIONS (format 'amount'),
    source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line')
) SERVER landing OPTIONS (files 'statements/*.csv*', on_error 'reject', reject_limit '5%');

\echo
\echo == the nightly run: rules, warehouse, aggregates (indicina.run_pipeline)
SELECT indicina.create_warehouse('dw');
SET client_min_messages = warning;
SELECT step, ms, counts FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw');
\echo == a second run: nothing new, nothing changes
SELECT step, ms FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw') WHERE step = 'total';
RESET client_min_messages;

\echo
\echo == every row read is loaded or rejected, per file (the file ledger)
SELECT source, path, rows_read, rows_loaded, rows_rejected, rows_warned,
       rows_read = rows_loaded + rows_rejected AS balanced
  FROM dw.file_ledger ORDER BY source, path;

\echo
\echo == quality summary (indicina.quality_summary)
SELECT relation, rule, severity, rows_checked, rows_failed, outcome, failed_pct
  FROM indicina.quality_summary ORDER BY relation, rows_failed DESC, rule;

\echo
\echo == rejects by reason (indicina.load_errors)
SELECT relation, code, count(*) AS rows_rejected
  FROM indicina.load_errors GROUP BY 1, 2 ORDER BY 1, 3 DESC;
\echo
\echo == a few of them, with where they are and what they said
SELECT file, line, code, column_name, left(coalesce(raw_value, raw_line), 50) AS what_it_said
  FROM indicina.load_errors ORDER BY relation, file, line LIMIT 8;

\echo
\echo == the original dashboard KPIs, from the mart views
SELECT * FROM mart.kpi_overview;
SELECT employment_status, applications, share_pct, avg_annual_income, avg_loan_amount
  FROM mart.kpi_employment_status ORDER BY applications DESC;
SELECT narration, transactions, avg_transaction_amount FROM mart.kpi_narration ORDER BY transactions DESC;
\echo == risk KPIs
SELECT * FROM mart.kpi_credit_score_bands ORDER BY band;
SELECT * FROM mart.kpi_loan_to_income_bands ORDER BY band;
SELECT * FROM mart.kpi_monthly_cash_flow ORDER BY month;
SELECT count(*) AS customers, round(avg(income_regularity), 3) AS avg_income_regularity,
       round(avg(balance_volatility), 2) AS avg_balance_volatility
  FROM dw.customer_risk_features WHERE months_observed > 0;

-- results for whoever reads demo-output/
\copy (SELECT * FROM indicina.load_errors ORDER BY relation, file, line) TO PROGRAM 'cat > "$INDICINA_DEMO_OUT/load_errors.csv"' (FORMAT csv, HEADER true)
\copy (SELECT * FROM mart.kpi_employment_status ORDER BY 1) TO PROGRAM 'cat > "$INDICINA_DEMO_OUT/kpi_employment_status.csv"' (FORMAT csv, HEADER true)
\copy (SELECT * FROM indicina.quality_summary ORDER BY 1, 2) TO PROGRAM 'cat > "$INDICINA_DEMO_OUT/quality_summary.csv"' (FORMAT csv, HEADER true)
\copy (SELECT * FROM dw.file_ledger ORDER BY 1, 2) TO PROGRAM 'cat > "$INDICINA_DEMO_OUT/file_ledger.csv"' (FORMAT csv, HEADER true)

\echo
\echo == the unload for Redshift (indicina.unload) into :lake
\if :s3
CREATE SERVER lake FOREIGN DATA WRAPPER indicina_csv
    OPTIONS (root 's3://lake/', region :'region', endpoint :'endpoint');
CREATE USER MAPPING FOR CURRENT_USER SERVER lake OPTIONS (access_key_id :'key', secret_access_key :'secret');
\else
CREATE SERVER lake FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'lake');
\endif
SELECT table_name, rows, parts, bytes, compressed_bytes, manifest
  FROM indicina.unload(target => 'dw', server => 'lake', mode => 'full',
                       iam_role => 'arn:aws:iam::123456789012:role/demo-load');
\echo == the unload ledger (indicina.unloads)
SELECT unload_id, target, server, mode, state, runs,
       (SELECT sum((t->>'rows')::bigint) FROM jsonb_array_elements(tables) t) AS rows
  FROM indicina.unloads ORDER BY unload_id;
