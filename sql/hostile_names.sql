-- hostile_names.sql: names with quotes, @, spaces, commas, mixed case and
-- the placeholder text itself reach dynamic SQL only as identifiers: a
-- warehouse target, a foreign table and its columns with a duplicate_rows
-- rule (in the scan and in SQL), and a sources map of stage().
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data/quality'
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE SERVER hostile_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');

-- ---- a warehouse whose names hold the placeholders create_warehouse substitutes ----
SELECT indicina.create_warehouse('Dw "x" @M', 'Mart @T, ''m''') AS created;
SELECT n.nspname, count(*) AS objects FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('Dw "x" @M', 'Mart @T, ''m''') AND c.relkind IN ('r', 'v', 'p') GROUP BY 1 ORDER BY 1;
SELECT applications, customers FROM "Mart @T, 'm'".kpi_overview;
-- the dashboard's queries name both schemas through the same marks
SELECT split_part(split_part(indicina.dashboard('Dw "x" @M', mart => 'Mart @T, ''m'''), 'id="indicina-data">', 2),
                  '</script>', 1)::jsonb->'meta' @> '{"warehouse": "Dw \"x\" @M", "mart": "Mart @T, ''m''"}' AS dashboard_drawn;
SELECT indicina.create_warehouse('Dw "x" @M', 'Mart @T, ''m''') AS again;
DROP SCHEMA "Mart @T, 'm'" CASCADE;
DROP SCHEMA "Dw ""x"" @M" CASCADE;

-- ---- a foreign table and columns named like that, with a duplicate_rows rule ----
CREATE FOREIGN TABLE "Txn @ ""Q"" Mixed" (
    "Txn Id, ""x""" text OPTIONS (column_name 'transaction_id'),
    "Cust, Id" text OPTIONS (column_name 'customer_id'),
    "@T Date" date OPTIONS (column_name 'transaction_date'),
    "Amount @M" numeric(14,2) OPTIONS (column_name 'transaction_amount'),
    "narration" text,
    "Balance ""B""" numeric(14,2) OPTIONS (column_name 'balance'),
    "Src, File" text OPTIONS (source 'file'), "Src ""Line""" bigint OPTIONS (source 'line')
) SERVER hostile_files OPTIONS (filename 'statements.csv', on_error 'reject');
SELECT indicina.add_rule('dup_rows', '"Txn @ ""Q"" Mixed"', 'duplicate_rows') > 0 AS added;
-- an expression rule over such columns is stored and parsed back quoted
SELECT indicina.add_rule('amount_sane', '"Txn @ ""Q"" Mixed"', 'expression',
    params => jsonb_build_object('sql', '"Amount @M" < 1000 AND "Cust, Id" <> ''CUST_2'''), severity => 'warn') > 0 AS added;
SELECT checked_sql FROM indicina.quality_rules WHERE name = 'amount_sane';
-- judged in the scan
SELECT rule, rows_checked, rows_failed, samples FROM indicina.check('"Txn @ ""Q"" Mixed"');
SELECT indicina.drop_rule('"Txn @ ""Q"" Mixed"', 'amount_sane');
-- judged in SQL: the same rows in a plain table (no lineage: T7's two rows are copies)
CREATE TABLE "Plain, @T ""t""" AS
    SELECT "Txn Id, ""x""", "Cust, Id", "@T Date", "Amount @M", narration, "Balance ""B"""
      FROM "Txn @ ""Q"" Mixed";
SELECT indicina.add_rule('dup_rows', '"Plain, @T ""t"""', 'duplicate_rows') > 0 AS added;
SELECT rule, rows_checked, rows_failed, samples FROM indicina.check('"Plain, @T ""t"""');

-- ---- sources: what a references rule reads instead of its relation ----
CREATE TABLE "Known, ""Cust"" @" ("Cust, Id" text);
INSERT INTO "Known, ""Cust"" @" VALUES ('CUST_1'), ('CUST_2');
CREATE TABLE "Ref @T" ("Cust, Id" text);
SELECT indicina.add_rule('cust_known', '"Plain, @T ""t"""', 'references', '{"Cust, Id"}',
                         '{"relation": "\"Ref @T\""}', 'warn') > 0 AS added;
SELECT indicina.add_rule('cust_known', '"Txn @ ""Q"" Mixed"', 'references', '{"Cust, Id"}',
                         '{"relation": "\"Ref @T\""}', 'warn') > 0 AS added;
-- the empty relation of the rule is read instead as the known customers (a
-- relation name, schema-qualified: stage resolves it under pg_catalog): CUST_X fails
SELECT x->>'rule' AS rule, x->>'rows_failed' AS failed, x->'samples'->0->>'value' AS first_value
  FROM indicina.stage(NULL, '"Plain, @T ""t"""', 'hostile_batch', true, NULL,
                      jsonb_build_object('"Ref @T"'::regclass::oid::text, 'public."Known, ""Cust"" @"'), NULL) x
 WHERE x->>'rule' = 'cust_known';
DROP TABLE hostile_batch;
SELECT x->>'rule' AS rule, x->>'rows_failed' AS failed, x->>'phase' AS phase
  FROM indicina.stage(NULL, '"Txn @ ""Q"" Mixed"', 'hostile_batch', true, NULL,
                      jsonb_build_object('"Ref @T"'::regclass::oid::text, 'public."Known, ""Cust"" @"'), NULL) x
 WHERE x->>'rule' = 'cust_known';
DROP TABLE hostile_batch;
-- a value that is not a relation name is refused, not spliced into the query
SELECT count(*) FROM indicina.stage(NULL, '"Plain, @T ""t"""', 'hostile_batch', true, NULL,
                      jsonb_build_object('"Ref @T"'::regclass::oid::text, 'pg_catalog.pg_class WHERE false)--'), NULL);
SELECT count(*) FROM indicina.stage(NULL, '"Txn @ ""Q"" Mixed"', 'hostile_batch', true, NULL,
                      jsonb_build_object('"Ref @T"'::regclass::oid::text, 'pg_catalog.pg_class WHERE false)--'), NULL);

-- a load statement whose target holds the placeholder: only the last @SOURCE@ is replaced
CREATE TABLE "Sink @SOURCE@" ("Txn Id, ""x""" text);
SELECT count(*) FROM indicina.stage(NULL, '"Plain, @T ""t"""', 'hostile_batch', false, NULL, '{}',
    'INSERT INTO public."Sink @SOURCE@" SELECT b."Txn Id, ""x""" FROM @SOURCE@ b');
SELECT "Txn Id, ""x""" FROM "Sink @SOURCE@" ORDER BY 1;
DROP TABLE hostile_batch, "Sink @SOURCE@";

DELETE FROM indicina.quality_rules
 WHERE relation IN ('"Txn @ ""Q"" Mixed"'::regclass, '"Plain, @T ""t"""'::regclass);
DROP TABLE "Plain, @T ""t""", "Known, ""Cust"" @", "Ref @T";
DROP FOREIGN TABLE "Txn @ ""Q"" Mixed";
DROP SERVER hostile_files;
