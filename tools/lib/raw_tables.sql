-- raw_tables.sql: the two landing sources as indicina_csv foreign tables,
-- with the data dictionary's columns, lenient formats and the lineage
-- columns a pipeline run needs.  Shared by the end-to-end tests and the
-- benchmarks.  psql variables: root (the landing directory), loans_files
-- and statements_files (globs under it).
CREATE SERVER landing FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
CREATE FOREIGN TABLE raw_bank_statements (
    transaction_id text NOT NULL, customer_id text NOT NULL,
    transaction_date date OPTIONS (format 'auto'),
    transaction_amount numeric(14,2) OPTIONS (format 'amount'),
    narration text OPTIONS (format 'label:narration'),
    balance numeric(14,2) OPTIONS (format 'amount'),
    source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line')
) SERVER landing OPTIONS (files :'statements_files', on_error 'reject');
CREATE FOREIGN TABLE raw_loan_applications (
    application_id text NOT NULL, customer_id text NOT NULL,
    loan_amount numeric(14,2) OPTIONS (format 'amount'),
    loan_application_date date OPTIONS (format 'auto'),
    credit_score int, employment_status text OPTIONS (format 'label:employment_status'),
    annual_income numeric(14,2) OPTIONS (format 'amount'),
    source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line')
) SERVER landing OPTIONS (files :'loans_files', on_error 'reject');
