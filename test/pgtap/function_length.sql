-- function_length.sql: no function of the extension written in SQL or
-- PL/pgSQL is longer than 80 lines (what a reader takes in on one screen),
-- but the one listed here with the reason.  A longer function fails this
-- test until it is split or listed.  Runs in one transaction that is
-- rolled back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION indicina;
SELECT plan(2);

CREATE TEMP TABLE long_allowed (f text, why text);
INSERT INTO long_allowed VALUES
    ('indicina.create_warehouse(name,name)',
     'a DDL script: one CREATE per table and view of the warehouse, read top to bottom');
-- (name, lines) of every function of the extension in SQL or PL/pgSQL
CREATE TEMP VIEW function_lines AS
    SELECT p.oid::regprocedure::text AS f, array_length(string_to_array(btrim(p.prosrc, E'\n'), E'\n'), 1) AS lines
      FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
     WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'indicina')
       AND p.prolang IN (SELECT oid FROM pg_language WHERE lanname IN ('sql', 'plpgsql'));

SELECT is_empty(
    $$SELECT f || ': ' || lines || ' lines' FROM function_lines
       WHERE lines > 80 AND f NOT IN (SELECT f FROM long_allowed) ORDER BY lines DESC$$,
    'no function of the extension is over 80 lines but those allowed');
SELECT is_empty(
    $$SELECT a.f FROM long_allowed a LEFT JOIN function_lines l USING (f) WHERE l.lines IS NULL OR l.lines <= 80$$,
    'every function allowed to be long still is (the list has no stale entry)');

SELECT * FROM finish();
ROLLBACK;
