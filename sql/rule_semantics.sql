-- rule_semantics.sql: one meaning per rule.  Every rule kind runs through
-- both paths on the same rows and the test shows ANY difference in which
-- rows fail which rule (each item counted on both paths, the differing
-- rows printed; every "differences" query below must return no row):
--   scan:  an indicina_csv table; row rules and the set rules the scan can
--          judge (duplicate_rows, unique, references, balance_continuity)
--          inside the scan, in C;
--   batch: the same files and rules plus a unique rule with "against",
--          which leaves every set rule to the SQL over the batch (with the
--          table's lineage columns);
--   plain: the same rows in a plain table (data columns only): row rules
--          by row_rule_failures (the scan's C code over a table), set rules
--          by the SQL.
-- Two files whose order differs between byte order and a linguistic one
-- (Sem_b.csv before sem_a.csv), mixed-case and hostile names, a column
-- under a non-C collation (non-ASCII names, case-sensitive patterns),
-- char(n) blanks, multibyte lengths, NULLs in keys and in expressions,
-- exclusive bounds and a bound finer than the column's scale, exact
-- copies that differ only in their lineage columns (byte offset too), a
-- balance break at the tolerance and one past it.  Round 1: every rule
-- warns (each sees every row); round 2: some reject (quarantine once,
-- later rules see what is left).  Then each row kind against its
-- documented meaning written as plain SQL (docs/quality-rules.md).
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data/quality/semantics'
SET datestyle = 'ISO, YMD';
SET timezone = 'UTC';
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE SERVER sem_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
-- the scan's table, the batch's (same files and columns) and the raw rows
-- (on_error stop): one column list
SELECT format('CREATE FOREIGN TABLE %s (%s) SERVER sem_files OPTIONS (files %L, on_error %L)', t, $columns$
    "Txn ""Id""" text OPTIONS (column_name 'txn_id'),
    "Cust, Id" text OPTIONS (column_name 'cust_id'),
    "Tx Date" date OPTIONS (column_name 'tx_date'),
    "Amount" numeric(12,2) OPTIONS (column_name 'amount'),
    "Bal 'B'" numeric(12,2) OPTIONS (column_name 'balance'),
    "Label" text OPTIONS (column_name 'label'),
    status text,
    "Name" text OPTIONS (column_name 'name') COLLATE "und-x-icu",
    code char(5),
    "Score" int OPTIONS (column_name 'score'),
    "At" timestamptz OPTIONS (column_name 'at'),
    "Src ""File""" text OPTIONS (source 'file'),
    "Src Line" bigint OPTIONS (source 'line'),
    "Byte @ Off" bigint OPTIONS (source 'byte_offset')
$columns$, 'sem_a.csv, Sem_b.csv', on_error)
  FROM (VALUES ('"Sem ""Scan"" T"', 'reject'), ('"Sem ""Batch"" T"', 'reject'), ('sem_raw', 'stop')) v(t, on_error)
\gexec
-- the rows, numbered in the scan's order (files by name in byte order, lines)
CREATE TABLE sem_rows AS
SELECT row_number() OVER (ORDER BY "Src ""File""" COLLATE "C", "Src Line") AS k, "Src ""File""" AS file,
       "Src Line" AS line,
       ROW("Txn ""Id""", "Cust, Id", "Tx Date", "Amount", "Bal 'B'", "Label", status, "Name", code, "Score",
           "At")::text AS row_text
  FROM sem_raw;
SELECT k, file, line, row_text FROM sem_rows ORDER BY k;
CREATE TABLE "Sem ""Plain"" t" AS
SELECT "Txn ""Id""", "Cust, Id", "Tx Date", "Amount", "Bal 'B'", "Label", status, "Name", code, "Score", "At"
  FROM sem_raw ORDER BY "Src ""File""" COLLATE "C", "Src Line";
CREATE TABLE sem_known ("Cust, Id" text);
INSERT INTO sem_known VALUES ('C1'), ('C2'), ('C4');
CREATE TABLE sem_known_v ("Cust, Id" varchar(10));
INSERT INTO sem_known_v VALUES ('C1'), ('C2'), (NULL);
CREATE TABLE sem_loaded ("Txn ""Id""" text);
INSERT INTO sem_loaded VALUES ('T4'), ('T1');

-- ---- every kind, declared once on the scanned table ----
SELECT count(*) AS rules FROM (VALUES
    (indicina.add_rule('nn_name', '"Sem ""Scan"" T"', 'not_null', '{Name}', severity => 'warn')),
    (indicina.add_rule('av_status', '"Sem ""Scan"" T"', 'accepted_values', '{status}',
                       '{"values": ["open", "closed"]}', 'warn')),
    (indicina.add_rule('av_label', '"Sem ""Scan"" T"', 'accepted_values', '{Label}',
                       '{"domain": "employment_status"}', 'warn')),
    (indicina.add_rule('av_code', '"Sem ""Scan"" T"', 'accepted_values', '{code}', '{"values": ["AB", "ABC"]}',
                       'warn')),
    (indicina.add_rule('rng_amount', '"Sem ""Scan"" T"', 'range', '{Amount}',
                       '{"min": 0, "min_inclusive": false, "max": 100.005}', 'warn')),
    (indicina.add_rule('rng_score', '"Sem ""Scan"" T"', 'range', '{Score}',
                       '{"min": 300, "max": 850, "max_inclusive": false}', 'warn')),
    (indicina.add_rule('rng_date', '"Sem ""Scan"" T"', 'range', '{Tx Date}',
                       '{"min": "2023-01-01", "max": "2023-12-31"}', 'warn')),
    (indicina.add_rule('rx_cap', '"Sem ""Scan"" T"', 'regex', '{Name}', '{"pattern": "^[A-Z][a-z]+$"}', 'warn')),
    (indicina.add_rule('rx_word', '"Sem ""Scan"" T"', 'regex', '{Name}', '{"pattern": "^\\w+$"}', 'warn')),
    (indicina.add_rule('rx_code', '"Sem ""Scan"" T"', 'regex', '{code}', '{"pattern": "^[A-Z]{2}$"}', 'warn')),
    (indicina.add_rule('len_name', '"Sem ""Scan"" T"', 'length', '{Name}', '{"min": 2, "max": 6}', 'warn')),
    (indicina.add_rule('len_code', '"Sem ""Scan"" T"', 'length', '{code}', '{"min": 2, "max": 3}', 'warn')),
    (indicina.add_rule('nf_date', '"Sem ""Scan"" T"', 'not_future', '{Tx Date}', severity => 'warn')),
    (indicina.add_rule('nf_at', '"Sem ""Scan"" T"', 'not_future', '{At}', '{"tolerance_days": 1}', 'warn')),
    (indicina.add_rule('expr_score', '"Sem ""Scan"" T"', 'expression',
                       params => '{"sql": "\"Score\" >= 300 AND \"Cust, Id\" <> ''C3''"}', severity => 'warn')),
    (indicina.add_rule('dup_rows', '"Sem ""Scan"" T"', 'duplicate_rows', severity => 'warn')),
    (indicina.add_rule('uq_txn', '"Sem ""Scan"" T"', 'unique', '{"Txn \"Id\""}', severity => 'warn')),
    (indicina.add_rule('uq_pair', '"Sem ""Scan"" T"', 'unique', '{"Cust, Id","Tx Date"}', severity => 'warn')),
    (indicina.add_rule('ref_cust', '"Sem ""Scan"" T"', 'references', '{"Cust, Id"}', '{"relation": "sem_known"}',
                       'warn')),
    (indicina.add_rule('ref_cust_v', '"Sem ""Scan"" T"', 'references', '{"Cust, Id"}',
                       '{"relation": "sem_known_v"}', 'warn')),
    (indicina.add_rule('rc', '"Sem ""Scan"" T"', 'row_count', params => '{"min": 1, "max": 5}', severity => 'warn')),
    (indicina.add_rule('fresh', '"Sem ""Scan"" T"', 'freshness', '{Tx Date}', '{"max_age_days": 30}', 'warn')),
    (indicina.add_rule('bal', '"Sem ""Scan"" T"', 'balance_continuity', '{}',
                       '{"customer": "Cust, Id", "date": "Tx Date", "amount": "Amount", "balance": "Bal ''B''",
                         "tolerance": 0.01}', 'warn'))) v(id);
-- the same rules on the other two, and on the batch path a unique rule with
-- "against" (T4 and T1 are loaded already: T1's copies are both repeated and
-- loaded, and fail once), which the scan cannot judge
INSERT INTO indicina.quality_rules (name, relation, kind, columns, params, severity, checked_sql)
SELECT name, t.rel, kind, columns, params, severity, checked_sql
  FROM indicina.quality_rules, (VALUES ('"Sem ""Batch"" T"'::regclass), ('"Sem ""Plain"" t"'::regclass)) t(rel)
 WHERE relation = '"Sem ""Scan"" T"'::regclass;
SELECT indicina.add_rule('uq_against', '"Sem ""Batch"" T"', 'unique', '{"Txn \"Id\""}',
                         '{"against": "sem_loaded"}', 'warn') > 0 AS added;
SELECT indicina.add_rule('uq_against', '"Sem ""Plain"" t"', 'unique', '{"Txn \"Id\""}',
                         '{"against": "sem_loaded"}', 'warn') > 0 AS added;
-- which set rules each table's scan judges
BEGIN;
SELECT indicina.arm_set_rules('"Sem ""Scan"" T"') AS scan_judges;
SELECT indicina.arm_set_rules('"Sem ""Batch"" T"') AS batch_scan_judges;
ROLLBACK;

-- ---- each path, as a non-dry stage(): results and the records it writes ----
CREATE TABLE sem_results (round int, path text, rule text, rows_checked bigint, rows_failed bigint);
CREATE TABLE sem_records (round int, path text, code text, k bigint, row_text text, value text, detail text);
CREATE FUNCTION sem_run(round int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT * FROM (VALUES ('scan', '"Sem ""Scan"" T"'::regclass), ('batch', '"Sem ""Batch"" T"'::regclass),
                                   ('plain', '"Sem ""Plain"" t"'::regclass)) v(path, rel) LOOP
        PERFORM indicina.clear_load_errors(p.rel);
        INSERT INTO sem_results
        SELECT round, p.path, x->>'rule', (x->>'rows_checked')::bigint, (x->>'rows_failed')::bigint
          FROM indicina.stage(NULL, p.rel, 'sem_batch') x;
        DROP TABLE pg_temp.sem_batch;
        -- a record names its row by file and line (foreign tables) or carries the row (plain)
        INSERT INTO sem_records
        SELECT round, p.path, e.code, s.k, coalesce(s.row_text, e.raw_line), e.raw_value, e.message
          FROM indicina.read_load_errors() e LEFT JOIN sem_rows s ON s.file = e.file AND s.line = e.line
         WHERE e.relation_id = p.rel;
    END LOOP;
END;
$$;
-- every difference between two paths: rule results, and records by row
CREATE VIEW sem_differences AS
WITH r AS (SELECT * FROM sem_results WHERE rule <> 'uq_against' OR path <> 'scan'),
     c AS (SELECT * FROM sem_records WHERE code NOT LIKE '%:uq_against' OR path <> 'scan'),
     pairs(a, b) AS (VALUES ('scan', 'batch'), ('scan', 'plain'), ('batch', 'plain')),
     -- what either path of a pair gave, as the two are compared
     items AS (
         SELECT a, b, path, round, 'result' AS what, rule, rows_checked::text AS k, rows_failed::text AS detail
           FROM pairs JOIN r ON path IN (a, b) AND (a <> 'scan' OR rule <> 'uq_against')
         UNION ALL
         -- the two foreign tables name rows by file and line; the plain table by content
         SELECT a, b, path, round, 'record', code, CASE WHEN b = 'plain' THEN row_text ELSE k::text END, detail
           FROM pairs JOIN c ON path IN (a, b) AND (a <> 'scan' OR code NOT LIKE '%:uq_against')),
     -- how many more times path a gave each item than path b (a multiset difference both ways)
     counted AS (
         SELECT a, b, round, what, rule, k, detail, count(*) FILTER (WHERE path = a) - count(*) FILTER (WHERE path = b) AS n
           FROM items GROUP BY a, b, round, what, rule, k, detail)
SELECT round, CASE WHEN n > 0 THEN a ELSE b END || ' only' AS side, what, rule, k, detail
  FROM counted, generate_series(1, abs(n))
 WHERE n <> 0;

-- ---- round 1: every rule warns, so each sees every row ----
SELECT sem_run(1);
SELECT * FROM sem_differences WHERE round = 1 ORDER BY 2, 3, 4, 5, 6;
-- what failed (the scan's verdicts; the other two paths are the same)
SELECT code, array_agg(k ORDER BY k) AS rows, count(*) AS records
  FROM sem_records WHERE round = 1 AND path = 'batch' GROUP BY code ORDER BY code;
SELECT rule, rows_checked, rows_failed FROM sem_results WHERE round = 1 AND path = 'batch' ORDER BY rule;
SELECT k, code, value, detail FROM sem_records WHERE round = 1 AND path = 'scan'
   AND code IN ('WARN:bal', 'WARN:rng_amount', 'WARN:len_name', 'WARN:rx_word', 'WARN:expr_score') ORDER BY code, k;

-- ---- round 2: some rules reject ----
UPDATE indicina.quality_rules SET severity = 'reject'
 WHERE name IN ('av_status', 'rng_score', 'nf_date', 'dup_rows', 'uq_txn')
   AND relation IN ('"Sem ""Scan"" T"'::regclass, '"Sem ""Batch"" T"'::regclass, '"Sem ""Plain"" t"'::regclass);
SELECT sem_run(2);
SELECT * FROM sem_differences WHERE round = 2 ORDER BY 2, 3, 4, 5, 6;
SELECT code, array_agg(k ORDER BY k) AS rows, count(*) AS records
  FROM sem_records WHERE round = 2 AND path = 'batch' GROUP BY code ORDER BY code;
SELECT rule, rows_checked, rows_failed FROM sem_results WHERE round = 2 AND path = 'batch' ORDER BY rule;

-- ---- each row kind against its documented meaning, in plain SQL ----
-- "fails when" of docs/quality-rules.md, over the plain table: a NULL
-- passes every kind but not_null; a value's text is its cast to text (a
-- char(n) without its trailing blanks); a regex is PostgreSQL's ~ under the
-- column's collation; a length counts characters; range bounds are
-- compared exactly as given, not rounded to the column's scale.
CREATE VIEW sem_meaning AS
SELECT t.ctid AS row_ctid, m.rule FROM "Sem ""Plain"" t" t, LATERAL (VALUES
    ('nn_name', t."Name" IS NULL),
    ('av_status', NOT (t.status::text = ANY ('{open,closed}'))),
    ('av_label', indicina.try_normalize_label(t."Label", 'employment_status') IS NULL),
    ('av_code', NOT (t.code::text = ANY ('{AB,ABC}'))),
    ('rng_amount', t."Amount" <= 0 OR t."Amount" > 100.005),
    ('rng_score', t."Score" < 300 OR t."Score" >= 850),
    ('rng_date', t."Tx Date" < '2023-01-01' OR t."Tx Date" > '2023-12-31'),
    ('rx_cap', NOT (t."Name" ~ '^[A-Z][a-z]+$')),
    ('rx_word', NOT (t."Name" ~ '^\w+$')),
    ('rx_code', NOT (t.code::text ~ '^[A-Z]{2}$')),
    ('len_name', char_length(t."Name") NOT BETWEEN 2 AND 6),
    ('len_code', char_length(t.code::text) NOT BETWEEN 2 AND 3),
    ('nf_date', t."Tx Date" > current_date),
    ('nf_at', t."At" >= current_date + 2),
    ('expr_score', NOT coalesce(t."Score" >= 300 AND t."Cust, Id" <> 'C3', true))) m(rule, fails)
 WHERE m.fails;
SELECT 'meaning only' AS side, rule, row_ctid FROM
    (SELECT rule, row_ctid FROM sem_meaning
     EXCEPT ALL SELECT rule, row_ctid FROM indicina.row_rule_failures('"Sem ""Plain"" t"')) x
UNION ALL
SELECT 'judged only', rule, row_ctid FROM
    (SELECT rule, row_ctid FROM indicina.row_rule_failures('"Sem ""Plain"" t"')
     EXCEPT ALL SELECT rule, row_ctid FROM sem_meaning) y
ORDER BY 1, 2, 3;
-- the C collation would give \w no non-ASCII letter: the column's collation decides
SELECT count(*) FILTER (WHERE "Name" ~ '^\w+$') AS word_names,
       count(*) FILTER (WHERE "Name" COLLATE "C" ~ '^\w+$') AS word_names_under_c
  FROM "Sem ""Plain"" t";

-- ---- row_rule_failures refuses what it cannot judge ----
SELECT * FROM indicina.row_rule_failures('"Sem ""Scan"" T"');
CREATE TABLE sem_narrow ("Name" text);
SELECT * FROM indicina.row_rule_failures('"Sem ""Plain"" t"', 'sem_narrow');
CREATE TABLE sem_retyped AS SELECT "Txn ""Id""", "Cust, Id", "Tx Date", "Amount", "Bal 'B'", "Label", status,
       "Name"::varchar AS "Name", code, "Score", "At" FROM "Sem ""Plain"" t";
SELECT * FROM indicina.row_rule_failures('"Sem ""Plain"" t"', 'sem_retyped');
SELECT count(*) AS no_rules_no_failures FROM indicina.row_rule_failures('sem_known');

DROP VIEW sem_meaning, sem_differences;
DROP FUNCTION sem_run(int);
DROP TABLE sem_results, sem_records, sem_rows, sem_narrow, sem_retyped;
SELECT count(*) FROM (SELECT indicina.drop_rule(relation, name) FROM indicina.quality_rules
                       WHERE relation IN ('"Sem ""Scan"" T"'::regclass, '"Sem ""Batch"" T"'::regclass,
                                          '"Sem ""Plain"" t"'::regclass)) d;
SELECT count(*) >= 0 AS cleared FROM (SELECT indicina.clear_load_errors(r) FROM (VALUES ('"Sem ""Scan"" T"'::regclass),
    ('"Sem ""Batch"" T"'::regclass), ('"Sem ""Plain"" t"'::regclass)) v(r)) c;
DROP TABLE "Sem ""Plain"" t", sem_known, sem_known_v, sem_loaded;
DROP SERVER sem_files CASCADE;
