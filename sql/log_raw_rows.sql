--
-- log_raw_rows: messages about rejected rows and failed rules keep the
-- rows' values (BVNs, phone numbers) out of the server log unless
-- indicina.log_raw_rows is on.  What the client sees is what the server logs.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data/csv'
-- the message and detail of the error a statement raises
CREATE FUNCTION raw_error(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m text;
    d text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
    RETURN m || E'\n' || d;
END;
$$;
CREATE SERVER raw_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
CREATE FOREIGN TABLE raw_rows (id int, bvn text, phone text, amount numeric)
    SERVER raw_files OPTIONS (filename 'raw_rows.csv', on_error 'stop');
SELECT indicina.add_rule('bvn_length', 'raw_rows', 'length', '{bvn}', '{"min": 11, "max": 11}') > 0 AS added;
SHOW indicina.log_raw_rows;

-- off (the default): no value in the message
SELECT raw_error('SELECT * FROM raw_rows');                                  -- a reject rule under on_error 'stop'
ALTER FOREIGN TABLE raw_rows OPTIONS (SET on_error 'reject', SET filename 'raw_rows_two.csv', ADD reject_limit '1');
SELECT raw_error('SELECT * FROM raw_rows');                                  -- reject_limit exceeded
ALTER FOREIGN TABLE raw_rows OPTIONS (SET filename 'raw_rows.csv', SET reject_limit '10%');
UPDATE indicina.quality_rules SET severity = 'fail' WHERE name = 'bvn_length';
SELECT raw_error('SELECT * FROM raw_rows');                                  -- a fail rule past its threshold
-- a set rule judged in SQL over a table
CREATE TABLE raw_plain (id int, bvn text);
INSERT INTO raw_plain VALUES (1, '22212345678'), (2, '22212345678');
CREATE TABLE raw_target (LIKE raw_plain);
SELECT indicina.add_rule('bvn_unique', 'raw_plain', 'unique', '{bvn}', severity => 'fail') > 0 AS added;
SELECT raw_error($$SELECT * FROM indicina.load_checked('raw_plain', 'raw_target')$$);

-- the reject log keeps the values
SELECT file, line, code, message, raw_value, raw_line FROM indicina.load_errors
 WHERE relation = 'raw_rows' AND scan_id IS NOT NULL ORDER BY scan_id DESC LIMIT 1;

-- only a superuser may turn it on
CREATE ROLE regress_raw_reader;
SET ROLE regress_raw_reader;
SET indicina.log_raw_rows = on;
RESET ROLE;
DROP ROLE regress_raw_reader;

-- on: the values are shown
SET indicina.log_raw_rows = on;
UPDATE indicina.quality_rules SET severity = 'reject' WHERE name = 'bvn_length';
ALTER FOREIGN TABLE raw_rows OPTIONS (SET on_error 'stop', DROP reject_limit);
SELECT raw_error('SELECT * FROM raw_rows');
ALTER FOREIGN TABLE raw_rows OPTIONS (SET on_error 'reject', SET filename 'raw_rows_two.csv', ADD reject_limit '1');
SELECT raw_error('SELECT * FROM raw_rows');
ALTER FOREIGN TABLE raw_rows OPTIONS (SET filename 'raw_rows.csv', SET reject_limit '10%');
UPDATE indicina.quality_rules SET severity = 'fail' WHERE name = 'bvn_length';
SELECT raw_error('SELECT * FROM raw_rows');
SELECT raw_error($$SELECT * FROM indicina.load_checked('raw_plain', 'raw_target')$$);
RESET indicina.log_raw_rows;

SELECT indicina.clear_load_errors('raw_rows') AS cleared;
DROP FUNCTION raw_error(text);
DROP TABLE raw_plain, raw_target;
DROP FOREIGN TABLE raw_rows;
DROP SERVER raw_files;
