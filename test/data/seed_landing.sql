-- seed_landing.sql: the setup of the regress files that run the pipeline
-- on the original assessment's files: the regress session, a server over
-- test/data and, through landing_tables.sql, the loans (seed/loan_data.csv)
-- and statements (quality/statements.csv) foreign tables.
-- Set: abs_srcdir, server, loans, statements; optional: what
-- landing_tables.sql takes (file_column and line_column, ...).
\set root :abs_srcdir '/test/data'
\i :abs_srcdir/test/data/regress_session.sql
CREATE SERVER :"server" FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
\set loans_file seed/loan_data.csv
\set statements_file quality/statements.csv
\i :abs_srcdir/test/data/landing_tables.sql
