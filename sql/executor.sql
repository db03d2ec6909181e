--
-- executor: a foreign scan in every plan shape PostgreSQL may run it in
-- (correlated subquery, LATERAL, the inner side of a nested loop, a
-- cursor, a parallel plan) gives the rows, counts and reject records a
-- single pass gives, once.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data/executor'
CREATE SERVER exec_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
CREATE TABLE paths (p text);
INSERT INTO paths VALUES ('ok1.csv'), ('ok2.csv'), (NULL), ('missing.csv'), ('ok1.csv');

-- ---- the file filter's value is a parameter set only when the scan runs ----
CREATE FOREIGN TABLE ft (a int, b text, f text OPTIONS (source 'file'))
    SERVER exec_files OPTIONS (files 'ok*.csv', header 'true');
-- a correlated subquery: one pass per outer row, each with its own file
EXPLAIN (COSTS OFF) SELECT p, (SELECT count(*) FROM ft WHERE ft.f = paths.p) FROM paths;
SELECT p, (SELECT count(*) FROM ft WHERE ft.f = paths.p) AS n FROM paths;
SELECT p, (SELECT string_agg(b, ',' ORDER BY a) FROM ft WHERE ft.f = paths.p) AS bs FROM paths;
-- the array form
SELECT p, (SELECT count(*) FROM ft WHERE ft.f = ANY (ARRAY[paths.p, 'ok2.csv'])) AS n FROM paths;
-- LATERAL
SELECT p, x.n, x.total FROM paths, LATERAL (SELECT count(*) AS n, sum(a) AS total FROM ft WHERE ft.f = paths.p) x;
SELECT p, x.a FROM paths CROSS JOIN LATERAL (SELECT a FROM ft WHERE ft.f = paths.p ORDER BY a DESC LIMIT 2) x
 ORDER BY p, x.a;
-- a parameter from a nested loop's outer side (hash, merge and material off)
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
EXPLAIN (COSTS OFF) SELECT p, a FROM paths JOIN LATERAL (SELECT a FROM ft WHERE ft.f = paths.p OFFSET 0) x ON true;
SELECT p, a FROM paths JOIN LATERAL (SELECT a FROM ft WHERE ft.f = paths.p OFFSET 0) x ON true ORDER BY p, a;
-- a prepared statement: the value is a parameter too
PREPARE by_file(text) AS SELECT count(*) FROM ft WHERE f = $1;
EXECUTE by_file('ok1.csv');
EXECUTE by_file(NULL);
DEALLOCATE by_file;

-- the same as an ordinary role granted SELECT on the table and nothing else
CREATE ROLE regress_exec_reader;
GRANT SELECT ON ft, paths TO regress_exec_reader;
SET ROLE regress_exec_reader;
SELECT p, (SELECT count(*) FROM ft WHERE ft.f = paths.p) AS n FROM paths;
RESET ROLE;

-- ---- a rescanned scan with row rules and a reject limit ----
CREATE FOREIGN TABLE dirty (a int, b text, f text OPTIONS (source 'file'), line bigint OPTIONS (source 'line'))
    SERVER exec_files OPTIONS (files 'dirty*.csv', on_error 'reject', reject_limit '3');
-- a reject rule (quarantines a > 15), a warn rule (flags long b), a fail
-- rule that fails twice per pass and may fail twice
SELECT indicina.add_rule('a_max', 'dirty', 'range', '{a}', '{"max": 15}', 'reject') > 0 AS added;
SELECT indicina.add_rule('b_short', 'dirty', 'length', '{b}', '{"max": 4}', 'warn') > 0 AS added;
SELECT indicina.add_rule('a_min', 'dirty', 'range', '{a}', '{"min": 3}', 'fail', '2') > 0 AS added;
CREATE TABLE outer_rows (k int);
INSERT INTO outer_rows VALUES (1), (2), (3);
ANALYZE outer_rows;
-- every record of a scan, WARN: flags included
CREATE FUNCTION scan_records(scan bigint) RETURNS TABLE (file text, line bigint, code text, n bigint)
LANGUAGE sql AS $$
  SELECT file, line, code, count(*) FROM indicina.read_load_errors() WHERE scan_id = scan
   GROUP BY file, line, code ORDER BY file, line, code $$;
-- a single pass: its rows, counts and records
SELECT indicina.reset_scan_stats();
SELECT f, line, a, b FROM dirty ORDER BY f, line;
SELECT currval('indicina.scan_id_seq') AS single_scan \gset
SELECT * FROM scan_records(:single_scan);
SELECT file, rows_read, rows_rejected, rows_quarantined, rows_warned FROM indicina.scan_file_stats() ORDER BY file;
SELECT rule, rows_checked, rows_failed FROM indicina.scan_rule_stats() ORDER BY rule;
-- the inner side of a nested loop (a LATERAL reference keeps it there):
-- three passes, each the single pass
CREATE VIEW joined AS
SELECT k, d.f, d.line, d.a FROM outer_rows CROSS JOIN LATERAL (SELECT * FROM dirty WHERE a > k - 100 OFFSET 0) d;
EXPLAIN (COSTS OFF) SELECT * FROM joined;
SELECT indicina.reset_scan_stats();
SELECT k, count(*), count(DISTINCT (f, line)), sum(a) FROM joined GROUP BY k ORDER BY k;
SELECT currval('indicina.scan_id_seq') AS joined_scan \gset
-- every record once, the same as the single pass's
SELECT * FROM scan_records(:joined_scan);
SELECT (SELECT array_agg(r) FROM scan_records(:joined_scan) r) = (SELECT array_agg(r) FROM scan_records(:single_scan) r)
       AS same_records;
SELECT file, rows_read, rows_rejected, rows_quarantined, rows_warned FROM indicina.scan_file_stats() ORDER BY file;
SELECT rule, rows_checked, rows_failed FROM indicina.scan_rule_stats() ORDER BY rule;
-- EXPLAIN ANALYZE: Rows Read and Rows Rejected per loop, as PostgreSQL's own figures
CREATE FUNCTION explain_counts(query text) RETURNS TABLE (loops jsonb, rows_read jsonb, rows_rejected jsonb)
LANGUAGE plpgsql AS $$
DECLARE plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
    RETURN QUERY SELECT jsonb_path_query_first(plan, 'strict $.**?(@."Node Type" == "Foreign Scan")."Actual Loops"'),
                        jsonb_path_query_first(plan, 'strict $.**."Rows Read"'),
                        jsonb_path_query_first(plan, 'strict $.**."Rows Rejected"');
END $$;
SELECT * FROM explain_counts('SELECT * FROM dirty');
SELECT * FROM explain_counts('SELECT * FROM joined');
-- set rules armed for the scan (as stage() arms them): judged per pass too
SELECT indicina.add_rule('one_per_file', 'dirty', 'unique', '{f}', severity => 'warn') > 0 AS added;
BEGIN;
SELECT indicina.arm_set_rules('dirty');
SELECT indicina.reset_scan_stats();
SELECT f, line, a FROM dirty ORDER BY f, line;
SELECT currval('indicina.scan_id_seq') AS single_set_scan \gset
SELECT rule, phase, rows_checked, rows_failed FROM indicina.scan_rule_stats() ORDER BY phase, rule;
COMMIT;
BEGIN;
SELECT indicina.arm_set_rules('dirty');
SELECT indicina.reset_scan_stats();
SELECT k, count(*), sum(a) FROM joined GROUP BY k ORDER BY k;
SELECT currval('indicina.scan_id_seq') AS joined_set_scan \gset
SELECT rule, phase, rows_checked, rows_failed FROM indicina.scan_rule_stats() ORDER BY phase, rule;
COMMIT;
SELECT * FROM scan_records(:joined_set_scan);
SELECT (SELECT array_agg(r) FROM scan_records(:joined_set_scan) r)
     = (SELECT array_agg(r) FROM scan_records(:single_set_scan) r) AS same_records;
SELECT indicina.drop_rule('dirty', 'one_per_file');
-- balance_continuity, judged when a pass reaches its end: recorded once,
-- also when the only pass that read its row was stopped by a LIMIT
CREATE FOREIGN TABLE cont (customer_id text, transaction_date date, transaction_amount numeric(14,2),
                           balance numeric(14,2))
    SERVER exec_files OPTIONS (filename 'continuity.csv', on_error 'reject');
SELECT indicina.add_rule('cont', 'cont', 'balance_continuity', severity => 'warn') > 0 AS added;
BEGIN;
SELECT indicina.arm_set_rules('cont');
SELECT indicina.reset_scan_stats();
SELECT k, count(*) FROM outer_rows CROSS JOIN LATERAL (SELECT * FROM cont WHERE balance > k - 100 OFFSET 0) c
 GROUP BY k ORDER BY k;
SELECT rule, phase, rows_checked, rows_failed FROM indicina.scan_rule_stats();
COMMIT;
SELECT * FROM scan_records(currval('indicina.scan_id_seq'));
BEGIN;
SELECT indicina.arm_set_rules('cont');
SELECT k, x.balance FROM (VALUES (2), (10)) o(k) CROSS JOIN LATERAL (SELECT balance FROM cont LIMIT k) x ORDER BY k, 2;
COMMIT;
SELECT * FROM scan_records(currval('indicina.scan_id_seq'));
-- passes that stop early (a LIMIT per outer row), then a whole one: every
-- record still once
SELECT k, x.a FROM (VALUES (1), (2), (10)) o(k) CROSS JOIN LATERAL (SELECT a FROM dirty LIMIT k) x ORDER BY k, x.a;
SELECT currval('indicina.scan_id_seq') AS limited_scan \gset
SELECT * FROM scan_records(:limited_scan);
-- passes over different files: each file's records once
CREATE TABLE dirty_paths (p text);
INSERT INTO dirty_paths VALUES ('dirty2.csv'), ('dirty1.csv'), ('dirty2.csv'), (NULL);
SELECT p, (SELECT count(*) FROM dirty WHERE dirty.f = dirty_paths.p) AS n FROM dirty_paths;
SELECT currval('indicina.scan_id_seq') AS by_file_scan \gset
SELECT * FROM scan_records(:by_file_scan);
-- a pass past a fail rule's threshold still stops the scan
SELECT indicina.add_rule('a_min', 'dirty', 'range', '{a}', '{"min": 3}', 'fail', '1', replace => true) > 0 AS replaced;
\set VERBOSITY terse
SELECT count(*) FROM joined;
\set VERBOSITY default
SELECT indicina.drop_rule('dirty', 'a_min');
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- ---- cursors: the scan only goes forward ----
BEGIN;
DECLARE c_scroll SCROLL CURSOR FOR SELECT a, b FROM ft WHERE f = 'ok1.csv';
EXPLAIN (COSTS OFF) DECLARE c_plan SCROLL CURSOR FOR SELECT a, b FROM ft WHERE f = 'ok1.csv';
FETCH LAST c_scroll;
FETCH BACKWARD 2 c_scroll;
FETCH ABSOLUTE 1 c_scroll;
MOVE BACKWARD ALL IN c_scroll;
FETCH ALL c_scroll;
DECLARE c_forward NO SCROLL CURSOR FOR SELECT a, b FROM ft WHERE f = 'ok1.csv';
FETCH 2 c_forward;
FETCH BACKWARD 1 c_forward;
ROLLBACK;
BEGIN;
DECLARE c_default CURSOR FOR SELECT a, b FROM ft WHERE f = 'ok1.csv';
FETCH 2 c_default;
MOVE BACKWARD 1 IN c_default;
ROLLBACK;
BEGIN;
DECLARE c_default CURSOR FOR SELECT a, b FROM ft WHERE f = 'ok1.csv';
FETCH 1 c_default;
FETCH ABSOLUTE 1 c_default;
ROLLBACK;
-- a cursor over a scan with rejects records them once
BEGIN;
DECLARE c_dirty SCROLL CURSOR FOR SELECT a FROM dirty ORDER BY f, line;
FETCH 2 c_dirty;
FETCH LAST c_dirty;
FETCH FIRST c_dirty;
COMMIT;
SELECT * FROM scan_records(currval('indicina.scan_id_seq'));

-- ---- per-row memory: 200,000 rejected rows in one call grow nothing ----
CREATE FOREIGN TABLE all_bad (a int, b text) SERVER exec_files OPTIONS (filename 'all_bad.csv.gz', on_error 'skip');
-- the scan's per-tuple context, read once every row has been read
SELECT count(*) AS rows_returned,
       (SELECT max(total_bytes) FROM pg_backend_memory_contexts WHERE name = 'ExprContext') < 256 * 1024
       AS per_tuple_memory_bounded
  FROM all_bad;

-- ---- the generic input path: data errors become rejects, nothing else ----
CREATE FUNCTION regress_exec_check(v text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF v = 'b' THEN
        RETURN 1 / 0 = 1;            -- class 22: the row is rejected
    ELSIF v = 'c' THEN
        RAISE EXCEPTION 'not a data error: %', v USING ERRCODE = 'P0001';
    END IF;
    RETURN true;
END $$;
CREATE DOMAIN checked_text AS text CHECK (regress_exec_check(VALUE) AND VALUE <> 'a');
CREATE FOREIGN TABLE slow (id int, v checked_text) SERVER exec_files OPTIONS (filename 'slow.csv', on_error 'reject');
SELECT * FROM slow;
SELECT line, column_name, code, message FROM indicina.load_errors
 WHERE scan_id = currval('indicina.scan_id_seq') ORDER BY line;
CREATE FOREIGN TABLE raising (id int, v checked_text) SERVER exec_files OPTIONS (filename 'raise.csv', on_error 'reject');
SELECT * FROM raising;
ALTER FOREIGN TABLE raising OPTIONS (SET on_error 'skip');
SELECT * FROM raising;
-- a statement timeout inside an input function stops the scan
CREATE FUNCTION regress_exec_sleep(v text) RETURNS boolean LANGUAGE sql AS $$ SELECT pg_sleep(2) IS NOT NULL $$;
CREATE DOMAIN sleepy_text AS text CHECK (regress_exec_sleep(VALUE));
CREATE FOREIGN TABLE sleepy (id int, v sleepy_text) SERVER exec_files OPTIONS (filename 'slow.csv', on_error 'reject');
SET statement_timeout = '400ms';
SELECT * FROM sleepy;
RESET statement_timeout;

-- ---- a parallel survey over a column with no fast parser ----
CREATE FOREIGN TABLE gen (id int, addr inet) SERVER exec_files OPTIONS (files 'gen*.csv', on_error 'reject');
SET indicina.survey = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
-- the inet column keeps the scan in one process (its input function needs a subtransaction)
EXPLAIN (COSTS OFF) SELECT count(addr) FROM gen;
SELECT count(addr), count(*) FROM gen;
-- without it the survey may run in parallel
EXPLAIN (COSTS OFF) SELECT count(id) FROM gen;
SELECT count(id) FROM gen;
-- a rescanned Gather (below a nested loop): each pass reads every row once
EXPLAIN (COSTS OFF) SELECT k, c FROM outer_rows CROSS JOIN LATERAL (SELECT count(id) + k * 0 AS c FROM gen) g;
SELECT k, c FROM outer_rows CROSS JOIN LATERAL (SELECT count(id) + k * 0 AS c FROM gen) g ORDER BY k;
SELECT rows_read, rows_rejected
  FROM explain_counts('SELECT k, c FROM outer_rows CROSS JOIN LATERAL (SELECT count(id) + k * 0 AS c FROM gen) g');
RESET indicina.survey;
-- a load beside a parallel plan: the query runs in parallel mode, where a
-- subtransaction cannot start, so a bad value is an error, not a reject
CREATE TABLE many AS SELECT g AS id FROM generate_series(1, 1000) g;
ANALYZE many;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT g.id, g.addr, (SELECT count(*) FROM many) FROM gen g;
SELECT g.id, g.addr, (SELECT count(*) FROM many) FROM gen g;
SET max_parallel_workers_per_gather = 0;
SELECT g.id, g.addr, (SELECT count(*) FROM many) FROM gen g;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;

SELECT indicina.drop_rule('dirty', 'a_max'), indicina.drop_rule('dirty', 'b_short'), indicina.drop_rule('cont', 'cont');
DROP VIEW joined;
DROP TABLE many, paths, dirty_paths, outer_rows;
DROP FUNCTION scan_records(bigint), explain_counts(text);
DROP SERVER exec_files CASCADE;
DROP DOMAIN checked_text, sleepy_text;
DROP FUNCTION regress_exec_check(text), regress_exec_sleep(text);
DROP OWNED BY regress_exec_reader;
DROP ROLE regress_exec_reader;
