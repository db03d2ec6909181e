--
-- review_fixes_a: a cursor's file across ROLLBACK TO SAVEPOINT, no
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

