--
-- reject_visibility: what the reject log shows a role that is not a superuser,
-- and what a stop error on a type's own input function shows.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data/csv'
SET client_min_messages = warning;

-- ---- load_errors: only the records of relations the caller may SELECT from ----
CREATE SERVER rfb_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
CREATE FOREIGN TABLE rfb_seen (id int, addr inet, span interval) SERVER rfb_files
    OPTIONS (filename 'generic.csv', on_error 'reject');
CREATE FOREIGN TABLE rfb_hidden (id int, addr inet, span interval) SERVER rfb_files
    OPTIONS (filename 'generic.csv', on_error 'reject');
CREATE TABLE rfb_gone (id int);
SELECT * FROM rfb_seen ORDER BY id;
SELECT * FROM rfb_hidden ORDER BY id;
SELECT indicina.log_reject(NULL, 'rfb_gone', 'gone.csv', 1, NULL, 'RFB_GONE', 'of a relation since dropped', 'g', 'g,1');
SELECT indicina.log_reject(NULL, NULL, 'none.csv', 1, NULL, 'RFB_NONE', 'of no relation', 'n', 'n,1');
DROP TABLE rfb_gone;
CREATE ROLE regress_rfb_op IN ROLE indicina_operator;
GRANT SELECT ON rfb_seen TO regress_rfb_op;
-- the superuser: all four kinds
SELECT relation_name, file, line, code, raw_value FROM indicina.read_load_errors()
 WHERE relation_name LIKE '%rfb%' OR code LIKE 'RFB%' ORDER BY relation_name, line;
SET ROLE regress_rfb_op;
-- the operator: only rfb_seen's, through the view and the function
SELECT relation, file, line, column_name, code, raw_value, raw_line FROM indicina.load_errors
 WHERE relation_name LIKE '%rfb%' OR code LIKE 'RFB%' ORDER BY line;
SELECT count(*) FROM indicina.read_load_errors() WHERE relation_name NOT LIKE '%rfb_seen';
SELECT indicina.clear_load_errors();                 -- still the superuser's
RESET ROLE;
GRANT SELECT ON rfb_hidden TO regress_rfb_op;
SET ROLE regress_rfb_op;
SELECT relation, count(*) FROM indicina.load_errors WHERE relation_name LIKE '%rfb%' GROUP BY 1 ORDER BY 1;
RESET ROLE;
-- a table the operator may read through a column grant only: not the relation's SELECT
REVOKE SELECT ON rfb_hidden FROM regress_rfb_op;
GRANT SELECT (id) ON rfb_hidden TO regress_rfb_op;
SET ROLE regress_rfb_op;
SELECT relation, count(*) FROM indicina.load_errors WHERE relation_name LIKE '%rfb%' GROUP BY 1 ORDER BY 1;
RESET ROLE;
SELECT indicina.clear_load_errors('rfb_seen') + indicina.clear_load_errors('rfb_hidden') AS cleared;
SELECT count(*) AS left_over FROM indicina.read_load_errors() WHERE code LIKE 'RFB%';
SELECT indicina.clear_load_errors() >= 2 AS cleared_rest;

-- ---- on_error 'stop' on a type without a fast parser: the value is not quoted ----
ALTER FOREIGN TABLE rfb_seen OPTIONS (SET on_error 'stop');
SHOW indicina.log_raw_rows;
SELECT * FROM rfb_seen;
SET indicina.log_raw_rows = on;
SELECT * FROM rfb_seen;
RESET indicina.log_raw_rows;

DROP FOREIGN TABLE rfb_seen, rfb_hidden;
DROP SERVER rfb_files;
DROP ROLE regress_rfb_op;
