--
-- scan_edge_cases: a cursor's file across ROLLBACK TO SAVEPOINT, no
-- parallel partial path under LATERAL, max_row_size for count-only scans.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data/executor'
\set csvroot :abs_srcdir '/test/data/csv'
CREATE SERVER rfa_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
CREATE SERVER rfa_csv FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'csvroot');

-- 1. a file opened inside a savepoint is closed by ROLLBACK TO: the
-- cursor's next fetch is an error, and CLOSE and COMMIT close nothing twice
CREATE FOREIGN TABLE rfa_ok (a int, b text, f text OPTIONS (source 'file'))
    SERVER rfa_files OPTIONS (files 'ok*.csv', header 'true');
BEGIN;
DECLARE c CURSOR FOR SELECT a, b, f FROM rfa_ok;
FETCH 1 FROM c;
SAVEPOINT s;
FETCH 3 FROM c;
ROLLBACK TO s;
FETCH FROM c;
ROLLBACK;
-- closing the cursor then closes nothing (the file is gone already)
BEGIN;
DECLARE c CURSOR FOR SELECT a, b, f FROM rfa_ok;
FETCH 1 FROM c;
SAVEPOINT s;
FETCH 3 FROM c;
ROLLBACK TO s;
CLOSE c;
COMMIT;
-- the file opened before the savepoint stays open; CLOSE and COMMIT warn of nothing
BEGIN;
DECLARE c CURSOR FOR SELECT a, b, f FROM rfa_ok;
FETCH 1 FROM c;
SAVEPOINT s;
FETCH 1 FROM c;
ROLLBACK TO s;
FETCH 1 FROM c;
CLOSE c;
COMMIT;
-- a file opened in a released savepoint belongs to the outer transaction
BEGIN;
DECLARE c CURSOR FOR SELECT a, b, f FROM rfa_ok;
FETCH 1 FROM c;
SAVEPOINT s;
FETCH 3 FROM c;
RELEASE s;
SAVEPOINT t;
ROLLBACK TO t;
FETCH ALL FROM c;
CLOSE c;
COMMIT;
-- the error's state
BEGIN;
DECLARE c CURSOR FOR SELECT a FROM rfa_ok;
FETCH 1 FROM c;
SAVEPOINT s;
FETCH 3 FROM c;
ROLLBACK TO s;
\set VERBOSITY sqlstate
FETCH FROM c;
\set VERBOSITY default
ROLLBACK;

-- 2. a parallel survey under LATERAL: the parameterized side has no
-- partial path, and each file's count is its own
CREATE FOREIGN TABLE rfa_gen (id int, addr inet, f text OPTIONS (source 'file'))
    SERVER rfa_files OPTIONS (files 'gen*.csv', on_error 'reject');
SET indicina.survey = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT o.name, x.n FROM (VALUES ('gen1.csv'), ('gen2.csv')) o(name),
       LATERAL (SELECT count(id) AS n FROM rfa_gen WHERE rfa_gen.f = o.name) x;
SELECT o.name, x.n FROM (VALUES ('gen1.csv'), ('gen2.csv')) o(name),
       LATERAL (SELECT count(id) AS n FROM rfa_gen WHERE rfa_gen.f = o.name) x ORDER BY 1;
-- an outer reference in a LATERAL subquery's output below an outer join
-- is evaluated at the scan: the scan itself is parameterized
EXPLAIN (COSTS OFF)
SELECT o.name, x.oname, count(x.id) FROM (VALUES ('gen1.csv'), ('gen2.csv')) o(name)
  LEFT JOIN LATERAL (SELECT rfa_gen.id, o.name AS oname FROM rfa_gen WHERE rfa_gen.f = o.name) x ON true
 GROUP BY 1, 2;
SELECT o.name, x.oname, count(x.id) FROM (VALUES ('gen1.csv'), ('gen2.csv')) o(name)
  LEFT JOIN LATERAL (SELECT rfa_gen.id, o.name AS oname FROM rfa_gen WHERE rfa_gen.f = o.name) x ON true
 GROUP BY 1, 2 ORDER BY 1;
SELECT f, count(id) FROM rfa_gen GROUP BY f ORDER BY f;
RESET indicina.survey;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- 3. a quote never closed, then lines of "," (each a field of its own):
-- a count-only scan gives the row up at max_row_size as others do
CREATE FOREIGN TABLE rfa_commas (id int, name text) SERVER rfa_csv
    OPTIONS (filename 'open_quote_commas.csv', on_error 'reject');
CREATE FUNCTION rfa_rejects() RETURNS TABLE (code text, n bigint, first_line bigint, last_line bigint)
LANGUAGE sql AS $$
  SELECT code, count(*), min(line), max(line)
    FROM indicina.load_errors WHERE scan_id = currval('indicina.scan_id_seq') GROUP BY code ORDER BY code $$;
SET indicina.max_row_size = '1kB';
SELECT count(*) FROM rfa_commas;
SELECT * FROM rfa_rejects();
SELECT count(*) FROM rfa_commas WHERE name IS NULL OR name IS NOT NULL;
SELECT * FROM rfa_rejects();
SELECT id, name FROM rfa_commas;
RESET indicina.max_row_size;
