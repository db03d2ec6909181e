-- raw_tables.sql: the two landing sources as indicina_csv foreign tables,
-- with the data dictionary's columns, lenient formats and the lineage
-- columns a pipeline run needs (test/data/landing_tables.sql, which the
-- regress files share, with the statements' lenient formats).  Used by the
-- end-to-end tests and the benchmarks.  psql variables: root (the landing
-- directory), loans_files and statements_files (globs under it).
CREATE SERVER landing FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
\set server landing \set lenient_statements on
\set loans raw_loan_applications \set loans_file :loans_files
\set statements raw_bank_statements \set statements_file :statements_files
\ir ../../test/data/landing_tables.sql
