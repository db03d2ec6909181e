-- demo.sql: run by tools/demo.sh inside the throwaway cluster.
-- :landing is the generated landing directory, :out where result files go.
\pset footer off
\echo == installing the extension
CREATE EXTENSION IF NOT EXISTS indicina;
SELECT extname AS extension, extversion AS version, indicina.version() AS library
  FROM pg_extension WHERE extname = 'indicina';
SELECT indicina.clear_load_errors() AS old_rejects_cleared \gset

\echo
\echo == the landing directory as foreign tables (indicina_csv)
CREATE SERVER landing FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'landing');
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

\timing on
CREATE TABLE loan_applications AS SELECT * FROM raw_loan_applications;
CREATE TABLE bank_statements AS SELECT * FROM raw_bank_statements;
\timing off

\echo
\echo == rows loaded per file
SELECT source_file AS file, count(*) AS rows_loaded FROM loan_applications GROUP BY 1
UNION ALL
SELECT source_file, count(*) FROM bank_statements GROUP BY 1 ORDER BY 1;

\echo
\echo == every row read is loaded or rejected
SELECT relation, loaded, rejected, loaded + rejected AS read
  FROM (SELECT 'raw_loan_applications' AS relation, (SELECT count(*) FROM loan_applications) AS loaded
        UNION ALL SELECT 'raw_bank_statements', (SELECT count(*) FROM bank_statements)) l
  JOIN (SELECT relation, count(*) AS rejected FROM indicina.load_errors GROUP BY 1) r USING (relation)
 ORDER BY 1;

\echo
\echo == rejects by reason (indicina.load_errors)
SELECT relation, code, count(*) AS rows_rejected
  FROM indicina.load_errors GROUP BY 1, 2 ORDER BY 1, 3 DESC;
\echo
\echo == a few of them, with where they are and what they said
SELECT file, line, code, column_name, left(coalesce(raw_value, raw_line), 50) AS what_it_said
  FROM indicina.load_errors ORDER BY relation, file, line LIMIT 8;

\echo
\echo == headline figures: the original dashboard KPIs, on the loaded rows
SELECT round(avg(annual_income), 2) AS avg_annual_income,
       count(*) AS applications,
       round(avg(loan_amount), 2) AS avg_loan_amount
  FROM loan_applications;
SELECT employment_status, count(*) AS applications, round(avg(annual_income), 2) AS avg_income,
       round(avg(loan_amount), 2) AS avg_loan
  FROM loan_applications GROUP BY 1 ORDER BY 2 DESC;
SELECT round(count(*)::numeric / count(DISTINCT customer_id), 1) AS avg_transactions_per_customer
  FROM bank_statements;
SELECT narration, count(*) AS transactions, round(avg(transaction_amount), 2) AS avg_amount
  FROM bank_statements GROUP BY 1 ORDER BY 2 DESC;

-- results for whoever reads demo-output/
\copy (SELECT * FROM indicina.load_errors ORDER BY relation, file, line) TO PROGRAM 'cat > "$INDICINA_DEMO_OUT/load_errors.csv"' (FORMAT csv, HEADER true)
\copy (SELECT employment_status, count(*), round(avg(annual_income), 2) AS avg_income FROM loan_applications GROUP BY 1 ORDER BY 1) TO PROGRAM 'cat > "$INDICINA_DEMO_OUT/kpi_employment_status.csv"' (FORMAT csv, HEADER true)
