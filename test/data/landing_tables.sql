-- landing_tables.sql: the loans and statements landing sources as
-- indicina_csv foreign tables (the data dictionary's columns, lineage).
-- Set: server; loans and loans_file, statements and statements_file (a
-- table is made when its name is set; file: a list of globs under root).
-- Optional: employment_format, loans_lineage, lenient_statements (their
-- lenient formats), file_column and line_column (the statements' lineage).
\if :{?employment_format} \else \set employment_format label:employment_status \endif
\if :{?loans_lineage} \else \set loans_lineage on \endif
\if :{?lenient_statements} \else \set lenient_statements off \endif
\if :{?file_column} \else \set file_column source_file \endif
\if :{?line_column} \else \set line_column source_line \endif
\if :{?loans}
CREATE FOREIGN TABLE :"loans" (
    application_id text NOT NULL, customer_id text NOT NULL,
    loan_amount numeric(14,2) OPTIONS (format 'amount'),
    loan_application_date date OPTIONS (format 'auto'),
    credit_score int, employment_status text OPTIONS (format :'employment_format'),
    annual_income numeric(14,2) OPTIONS (format 'amount')
\if :loans_lineage
    , source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line')
\endif
) SERVER :"server" OPTIONS (files :'loans_file', on_error 'reject');
\endif
\if :{?statements}
CREATE FOREIGN TABLE :"statements" (
    transaction_id text NOT NULL, customer_id text NOT NULL,
\if :lenient_statements
    transaction_date date OPTIONS (format 'auto'), transaction_amount numeric(14,2) OPTIONS (format 'amount'),
    narration text OPTIONS (format 'label:narration'), balance numeric(14,2) OPTIONS (format 'amount'),
\else
    transaction_date date, transaction_amount numeric(14,2), narration text, balance numeric(14,2),
\endif
    :"file_column" text OPTIONS (source 'file'), :"line_column" bigint OPTIONS (source 'line')
) SERVER :"server" OPTIONS (files :'statements_file', on_error 'reject');
\endif
