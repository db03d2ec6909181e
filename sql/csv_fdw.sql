--
-- csv_fdw: the indicina_csv foreign-data wrapper, option by option, and
-- every reject code with the exact record it produces.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set server csv_files
\i :abs_srcdir/test/data/csv_session.sql

-- the rejects of the last scan of this session
CREATE FUNCTION last_rejects() RETURNS TABLE (file text, line bigint, byte_offset bigint, column_name text,
                                              code text, message text, raw_value text, raw_line text)
LANGUAGE sql AS $$
  SELECT file, line, byte_offset, column_name, code, message, raw_value, raw_line
    FROM indicina.load_errors WHERE scan_id = currval('indicina.scan_id_seq') ORDER BY line $$;

-- 1. header mapping by name, quoted delimiters and newlines, NULL vs ""
CREATE FOREIGN TABLE basic (
    id int, full_name text, amount numeric(10,2), day date, flag boolean,
    src text OPTIONS (source 'file'), line bigint OPTIONS (source 'line'), off bigint OPTIONS (source 'byte_offset')
) SERVER csv_files OPTIONS (filename 'basic.csv');
SELECT id, full_name, full_name IS NULL AS is_null, amount, day, flag, src, line, off FROM basic ORDER BY id;
SELECT count(*) FROM basic;
EXPLAIN (COSTS OFF) SELECT * FROM basic;

-- 2. BOM and CRLF; gzip by magic bytes; compression gzip / none
CREATE FOREIGN TABLE bom_crlf (id int, name text) SERVER csv_files OPTIONS (filename 'bom_crlf.csv');
SELECT id, name, length(name) FROM bom_crlf;
CREATE FOREIGN TABLE gz (id int, name text) SERVER csv_files OPTIONS (filename 'gz.csv.gz');
SELECT * FROM gz;
ALTER FOREIGN TABLE gz OPTIONS (ADD compression 'gzip');
SELECT count(*) FROM gz;
CREATE FOREIGN TABLE notgz (id int, name text) SERVER csv_files OPTIONS (filename 'notgz.csv', compression 'gzip');
SELECT * FROM notgz;
ALTER FOREIGN TABLE gz OPTIONS (SET compression 'none', ADD on_error 'reject');
SELECT count(*) FROM gz;
SELECT code, line, message FROM last_rejects();

-- 3. files of one glob with headers in other orders and spellings
CREATE FOREIGN TABLE reordered (transaction_id text, customer_id text, amount numeric,
                                src text OPTIONS (source 'file'))
    SERVER csv_files OPTIONS (files 'reorder/[ab].csv');
SELECT * FROM reordered ORDER BY transaction_id;
ALTER FOREIGN TABLE reordered OPTIONS (SET files 'reorder/*.csv');
SELECT * FROM reordered ORDER BY transaction_id;
SELECT count(*) FROM reordered;
ALTER FOREIGN TABLE reordered OPTIONS (ADD missing_columns 'null');
SELECT * FROM reordered ORDER BY transaction_id;
ALTER FOREIGN TABLE reordered OPTIONS (SET files 'reorder/a.csv, reorder/b.csv, reorder/a.csv');
SELECT count(*) FROM reordered;
CREATE FOREIGN TABLE matched (transaction_id text, amount numeric, customer_id text)
    SERVER csv_files OPTIONS (filename 'reorder/a.csv', header 'match');
SELECT * FROM matched;
CREATE FOREIGN TABLE mismatched (customer_id text, transaction_id text, amount numeric)
    SERVER csv_files OPTIONS (filename 'reorder/a.csv', header 'match');
SELECT * FROM mismatched;
CREATE FOREIGN TABLE renamed (tid text OPTIONS (column_name 'Transaction ID'), cid text OPTIONS (column_name 'customer id'))
    SERVER csv_files OPTIONS (filename 'reorder/a.csv');
SELECT * FROM renamed;
CREATE FOREIGN TABLE no_header (a text, b text, c text) SERVER csv_files OPTIONS (filename 'reorder/b.csv', header 'false');
SELECT * FROM no_header;

-- 4. delimiter, quote, null, skip_rows, trim, blank_as_null
CREATE FOREIGN TABLE semi (id int, name text, amount int) SERVER csv_files
    OPTIONS (filename 'semicolon.csv', delimiter ';', quote '''', null 'NA', skip_rows '2');
SELECT id, '[' || name || ']' AS name, amount FROM semi;
ALTER FOREIGN TABLE semi OPTIONS (ADD trim 'true');
SELECT id, '[' || name || ']' AS name, amount FROM semi;
ALTER FOREIGN TABLE semi OPTIONS (DROP trim, ADD blank_as_null 'true');
SELECT id, '[' || name || ']' AS name, amount FROM semi;

-- 5. escape, fill_missing
CREATE FOREIGN TABLE esc (id int, name text) SERVER csv_files OPTIONS (filename 'escape.csv', escape '\');
SELECT * FROM esc;
CREATE FOREIGN TABLE short (id int, name text, amount int) SERVER csv_files OPTIONS (filename 'short.csv');
SELECT * FROM short;
ALTER FOREIGN TABLE short OPTIONS (ADD fill_missing 'true');
SELECT * FROM short;

-- 6. encodings
CREATE FOREIGN TABLE latin (id int, name text) SERVER csv_files OPTIONS (filename 'latin1.csv', encoding 'LATIN1');
SELECT * FROM latin;
CREATE FOREIGN TABLE win (id int, name text) SERVER csv_files OPTIONS (filename 'win1252.csv', encoding 'WIN1252');
SELECT * FROM win;
CREATE FOREIGN TABLE latin_as_utf8 (id int, name text) SERVER csv_files OPTIONS (filename 'latin1.csv', on_error 'reject');
SELECT * FROM latin_as_utf8;
SELECT line, code, message, raw_line FROM last_rejects();
ALTER FOREIGN TABLE latin_as_utf8 OPTIONS (ADD invalid_utf8 'replace');
SELECT * FROM latin_as_utf8;

-- 6b. column formats: the lenient parsers of the coercion functions, per column
CREATE FOREIGN TABLE formats (
    customer text OPTIONS (format 'id'), phone text OPTIONS (format 'phone'),
    status text OPTIONS (format 'label:employment_status'), amount numeric(12,2) OPTIONS (format 'amount'),
    day date OPTIONS (format 'DD/MM/YYYY'), stamp timestamp OPTIONS (format 'auto')
) SERVER csv_files OPTIONS (filename 'formats.csv', on_error 'reject');
SELECT * FROM formats;
SELECT line, column_name, code, message, raw_value FROM last_rejects();
-- each column alone: the first failing column is the one reported
SELECT phone FROM formats;
SELECT line, column_name, code, message FROM last_rejects();
SELECT amount, day FROM formats;
SELECT line, column_name, code, message FROM last_rejects();
SELECT status FROM formats;
SELECT line, column_name, code, message FROM last_rejects();
SELECT day FROM formats;
SELECT line, column_name, code, message FROM last_rejects();

-- 6c. other types go through their input function; a failure is INVALID_VALUE
CREATE FOREIGN TABLE generic (id int, addr inet, span interval) SERVER csv_files
    OPTIONS (filename 'generic.csv', on_error 'reject');
SELECT * FROM generic;
SELECT line, column_name, code, message, raw_value FROM last_rejects();
ALTER FOREIGN TABLE generic OPTIONS (SET on_error 'stop');
SELECT * FROM generic;

-- 7. every reject code, with its exact record
CREATE FOREIGN TABLE bad (id int NOT NULL, name text, amount numeric(8,2), day date, flag boolean, code varchar(4))
    SERVER csv_files OPTIONS (filename 'bad.csv', on_error 'reject');
SELECT * FROM bad;
SELECT * FROM last_rejects();
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM bad;
-- only referenced columns are converted: count(*) sees only structural defects and NOT NULL
SELECT count(*) FROM bad;
SELECT code, count(*) FROM last_rejects() GROUP BY 1 ORDER BY 1;

-- 7b. a quote never closed: past indicina.max_row_size the row is given up
-- and the scan starts afresh at the next line, so memory stays bounded
CREATE FOREIGN TABLE open_quote (id int, name text) SERVER csv_files
    OPTIONS (filename 'open_quote.csv', on_error 'reject');
SET indicina.max_row_size = '1kB';
SELECT count(*) AS rows_after_the_cap, min(id), max(id) FROM open_quote;
SELECT line, code, message, left(raw_line, 30) AS raw_line FROM last_rejects();
RESET indicina.max_row_size;
SELECT count(*) FROM open_quote;
SELECT line, code, message FROM last_rejects();

-- 8. on_error stop and skip, reject_limit as count and percent
ALTER FOREIGN TABLE bad OPTIONS (SET on_error 'stop');
SELECT * FROM bad;
ALTER FOREIGN TABLE bad OPTIONS (SET on_error 'skip');
SELECT count(*) AS before FROM indicina.load_errors \gset
SELECT * FROM bad;
SELECT count(*) - :before AS recorded_by_skip FROM indicina.load_errors;
ALTER FOREIGN TABLE bad OPTIONS (SET on_error 'reject', ADD reject_limit '3');
SELECT * FROM bad;
SELECT line, code FROM last_rejects();
-- with every column read, 10 of 12 rows read are rejected: 83.3%
ALTER FOREIGN TABLE bad OPTIONS (SET reject_limit '90%');
SELECT * FROM bad;
ALTER FOREIGN TABLE bad OPTIONS (SET reject_limit '50%');
SELECT * FROM bad;

-- 9. rejects survive the rollback of the transaction that made them
ALTER FOREIGN TABLE bad OPTIONS (DROP reject_limit);
BEGIN;
CREATE TABLE loaded AS SELECT * FROM bad;
SELECT currval('indicina.scan_id_seq') AS scan \gset
ROLLBACK;
SELECT count(*) AS rejects_after_rollback FROM indicina.load_errors WHERE scan_id = :scan;

-- 10. option validation
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', delimitter ';');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', on_error 'ignore');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', reject_limit '5');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', on_error 'skip', reject_limit '150%');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', on_error 'skip', reject_limit 'lots');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', files '*.csv');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (header 'true');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename '../secret.csv');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', delimiter ';;');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', quote ',');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', encoding 'EBCDIC');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', compression 'zstd');
CREATE FOREIGN TABLE t_err (a text) SERVER csv_files OPTIONS (filename 'basic.csv', skip_rows '-1');
CREATE FOREIGN TABLE t_err (a text OPTIONS (source 'row')) SERVER csv_files OPTIONS (filename 'basic.csv');
CREATE FOREIGN TABLE t_err (a text OPTIONS (source 'file', format 'id')) SERVER csv_files OPTIONS (filename 'basic.csv');
CREATE FOREIGN TABLE t_err (a text OPTIONS (colum_name 'x')) SERVER csv_files OPTIONS (filename 'basic.csv');
CREATE SERVER s_err FOREIGN DATA WRAPPER indicina_csv;
CREATE SERVER s_err FOREIGN DATA WRAPPER indicina_csv OPTIONS (root 'relative/dir');
CREATE SERVER s_err FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '/tmp', filename 'x');
-- errors found when the scan starts
CREATE FOREIGN TABLE t_link (a text) SERVER csv_files OPTIONS (filename 'outside_link.csv');
SELECT * FROM t_link;
CREATE FOREIGN TABLE t_none (a text) SERVER csv_files OPTIONS (files 'nothing/*.csv');
SELECT * FROM t_none;
CREATE FOREIGN TABLE t_fmt (a date OPTIONS (format 'DD/MM/YYYY hh')) SERVER csv_files OPTIONS (filename 'basic.csv');
SELECT * FROM t_fmt;
CREATE FOREIGN TABLE t_fmt2 (a int OPTIONS (format 'auto')) SERVER csv_files OPTIONS (filename 'basic.csv');
SELECT * FROM t_fmt2;
CREATE FOREIGN TABLE t_lbl (a text OPTIONS (format 'label:no_such_domain')) SERVER csv_files OPTIONS (filename 'basic.csv');
SELECT * FROM t_lbl;

-- 11. privileges, as file_fdw: paths need pg_read_server_files; SELECT can be granted
CREATE ROLE regress_csv_reader;
CREATE ROLE regress_csv_loader IN ROLE pg_read_server_files;
CREATE SCHEMA regress_csv_priv;
GRANT USAGE, CREATE ON SCHEMA regress_csv_priv TO regress_csv_reader, regress_csv_loader;
GRANT USAGE ON FOREIGN SERVER csv_files TO regress_csv_reader, regress_csv_loader;
GRANT SELECT ON basic TO regress_csv_reader;
SET ROLE regress_csv_reader;
SET search_path = regress_csv_priv, public;
SELECT count(*) FROM basic;
CREATE FOREIGN TABLE t_priv (id int) SERVER csv_files OPTIONS (filename 'basic.csv');
ALTER FOREIGN TABLE basic OPTIONS (SET filename 'bad.csv');
SELECT indicina.parse_amount('1,200.00 DR') AS parsers_are_public;
SELECT count(*) FROM indicina.load_errors;
SELECT indicina.clear_load_errors();
RESET ROLE;
SET ROLE regress_csv_loader;
SET search_path = regress_csv_priv, public;
CREATE FOREIGN TABLE t_priv (id int) SERVER csv_files OPTIONS (filename 'basic.csv');
SELECT count(*) FROM t_priv;
DROP FOREIGN TABLE t_priv;
RESET ROLE;
RESET search_path;
DROP SCHEMA regress_csv_priv;
REVOKE ALL ON basic FROM regress_csv_reader;
REVOKE ALL ON FOREIGN SERVER csv_files FROM regress_csv_reader, regress_csv_loader;
DROP ROLE regress_csv_reader, regress_csv_loader;

-- 12. cancel: statement_timeout stops a scan (the join keeps it busy long enough)
SET statement_timeout = '50ms';
SELECT count(*) FROM basic a, basic b, basic c, basic d, basic e, basic f, basic g, basic h;
RESET statement_timeout;

-- 13. ANALYZE samples the rows; the estimate follows
ANALYZE basic;
SELECT reltuples FROM pg_class WHERE relname = 'basic';
