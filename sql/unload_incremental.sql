-- unload_incremental.sql: incremental unloads (docs/unload.md,
-- Incremental).  Every step of a run that changes warehouse rows sets
-- changed_run (a row recomputed to the values it had keeps its own) and
-- records what it deletes, by lineage or key; an incremental unload ships
-- those rows and deletions, and nothing when no run came; full resets the
-- baseline; the golden load SQL of an incremental delivery;
-- create_warehouse on a warehouse made by the previous code adds the
-- change tracking; a run of a few new customers ships their rows alone; a
-- corrected loans file recomputes the features of the customers it drops
-- an application of.  The landing files are written by the server, under
-- its data directory.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/test/data/regress_session.sql
SELECT current_setting('data_directory') AS datadir \gset
-- run ids (and so unload ids) from here on as when this file runs alone
SELECT setval('indicina.run_id_seq', greatest(100000, (SELECT last_value FROM indicina.run_id_seq))) >= 100000 AS ids_set;
COPY (SELECT 1) TO PROGRAM 'rm -rf regress_inc && mkdir -p regress_inc/loans regress_inc/statements && cat >/dev/null';
-- writes a landing file (lines of text) under regress_inc/
CREATE FUNCTION inc_write(path text, lines text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (SELECT unnest(%L::text[])) TO PROGRAM %L', lines, 'cat > regress_inc/' || path);
END;
$$;
CREATE SERVER inc_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'datadir');
\set server inc_files
\set loans inc_loans \set loans_file regress_inc/loans/*.csv
\set statements inc_statements \set statements_file regress_inc/statements/*.csv
\i :abs_srcdir/test/data/landing_tables.sql
CREATE SERVER inc_lake FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'datadir');
SELECT indicina.create_warehouse('inc_dw', 'inc_mart');
CREATE FUNCTION inc_run() RETURNS bigint LANGUAGE sql AS $$
    SELECT max(run_id) FROM indicina.run_pipeline('inc_loans', 'inc_statements', 'inc_dw')
$$;
-- an unload's tables: load, rows, parts, what it deletes
CREATE FUNCTION inc_shipped(id bigint) RETURNS TABLE (table_name text, load text, rows bigint, parts int, deletes jsonb)
LANGUAGE sql AS $$
    SELECT t->>'name', t->>'load', (t->>'rows')::bigint, (t->>'parts')::int, t->'deletes'
      FROM indicina.unload_history h, jsonb_array_elements(h.tables) t WHERE h.unload_id = id
$$;
CREATE VIEW inc_last AS SELECT max(unload_id) AS id FROM indicina.unloads;
-- the tracked tables of a warehouse, and the fact's partitions, that have no
-- index led by changed_run (what an incremental unload's queries read)
CREATE FUNCTION inc_unindexed(target name) RETURNS SETOF regclass LANGUAGE sql AS $$
    SELECT c.oid::regclass
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = target AND c.relkind IN ('r', 'p')
       AND (c.relname = ANY (indicina.tracked_tables()) OR c.relispartition)
       AND NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                        WHERE i.indrelid = c.oid AND a.attname = 'changed_run')
     ORDER BY 1
$$;

-- ---- the first run, and a first (full) unload ----
SELECT inc_write('loans/l1.csv', ARRAY[
    'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income',
    'A1,C1,5000,2024-01-05,700,Employed,40000', 'A2,C2,6000,2024-01-06,710,Employed,50000']);
SELECT inc_write('statements/s1.csv', ARRAY[
    'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance',
    'T1,C1,2024-01-10,100.00,Monthly Income,100.00', 'T2,C1,2024-02-10,-20.00,POS Purchase,80.00',
    'T3,C2,2024-01-11,300.00,Monthly Income,300.00', 'T4,C9,2024-01-12,50.00,Online Transfer,50.00']);
-- a new warehouse has no change-tracking index yet: its first run builds them from what it loaded
SELECT * FROM inc_unindexed('inc_dw');
-- a role that does not own the warehouse builds none (CREATE INDEX needs the owner) and is not refused
CREATE ROLE regress_inc_not_owner IN ROLE indicina_operator;
GRANT USAGE ON SCHEMA inc_dw TO regress_inc_not_owner;
SET ROLE regress_inc_not_owner;
SELECT indicina.create_change_indexes('inc_dw') AS built_by_another_role;
RESET ROLE;
DROP OWNED BY regress_inc_not_owner;
DROP ROLE regress_inc_not_owner;
SELECT inc_run() AS run_a \gset
SELECT count(*) AS partitions, (SELECT count(*) FROM inc_unindexed('inc_dw')) AS unindexed
  FROM pg_inherits WHERE inhparent = 'inc_dw.fact_bank_transaction'::regclass;
SELECT table_name, rows, parts FROM indicina.unload('inc_dw', 'inc_lake', prefix => 'regress_inc_lake', slices => 1);
SELECT id AS u1 FROM inc_last \gset
SELECT mode, through_run = :run_a AS baseline_is_the_run FROM indicina.unload_history WHERE unload_id = :u1;

-- ---- no run since: nothing ships, no delivery, a NOTICE ----
SET client_min_messages = notice;
SELECT count(*) FROM indicina.unload('inc_dw', 'inc_lake', prefix => 'regress_inc_lake', slices => 1);
SET client_min_messages = warning;
SELECT state FROM indicina.unloads WHERE unload_id = (SELECT max(run_id) FROM indicina.runs WHERE kind = 'unload');
SELECT count(*) AS deliveries FROM pg_ls_dir('regress_inc_lake') d WHERE d::bigint > :u1;

-- ---- a run with new files, a corrected file, late data and a new
-- customer version: every step marks what it changes ----
SELECT inc_write('loans/l2.csv', ARRAY[
    'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income',
    'A3,C9,4000,2024-01-02,690,Employed,30000',          -- T4 (late) gets its customer
    'A4,C1,7000,2024-02-01,720,Self-Employed,60000']);   -- a new version of C1: T2 re-pointed
SELECT inc_write('statements/s1.csv', ARRAY[            -- corrected: T3 is gone
    'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance',
    'T1,C1,2024-01-10,100.00,Monthly Income,100.00', 'T2,C1,2024-02-10,-20.00,POS Purchase,80.00',
    'T4,C9,2024-01-12,50.00,Online Transfer,50.00']);
SELECT inc_write('statements/s2.csv', ARRAY[
    'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance',
    'T5,C2,2024-03-01,-10.00,ATM Withdrawal,290.00']);
SELECT inc_run() AS run_b \gset
SELECT 'dim_customer' AS t, customer_id, valid_from, valid_to, is_current, changed_run = :run_b AS changed_by_b
  FROM inc_dw.dim_customer WHERE customer_key <> 0 ORDER BY customer_id, valid_from;
SELECT transaction_id, customer_key <> 0 AS has_customer, changed_run = :run_b AS changed_by_b
  FROM inc_dw.fact_bank_transaction ORDER BY transaction_id;
SELECT customer_id, month, changed_run = :run_b AS changed_by_b FROM inc_dw.agg_customer_month ORDER BY 1, 2;
SELECT customer_id, changed_run = :run_b AS changed_by_b FROM inc_dw.customer_risk_features ORDER BY 1;
SELECT table_name, match, run_id = :run_b AS by_b FROM inc_dw.deleted_rows ORDER BY table_name, match::text;

-- ---- the incremental unload ships exactly what run B changed, and its deletions ----
SELECT table_name, rows, parts FROM indicina.unload('inc_dw', 'inc_lake', prefix => 'regress_inc_lake', slices => 1,
                                                    url_prefix => 's3://lake-bucket/root/',
                                                    iam_role => 'arn:aws:iam::123456789012:role/load');
SELECT id AS u3 FROM inc_last \gset
SELECT * FROM inc_shipped(:u3);
SELECT format($$SELECT %L AS table_name, (SELECT count(*) FROM inc_dw.%I WHERE changed_run > %s) AS changed$$,
              t, t, :run_a)
  FROM unnest(indicina.tracked_tables()) t \gexec
SELECT pg_read_file(format('regress_inc_lake/%s/unload.json', :u3))::jsonb AS j \gset
SELECT :'j'::jsonb->>'mode' AS mode, (:'j'::jsonb->>'follows')::bigint = :u1 AS follows_u1,
       (:'j'::jsonb->>'through_run')::bigint = :run_b AS through_b;
SELECT t->>'name' AS table_name, t->>'load' AS load, (t->>'after_run')::bigint = :run_a AS after_a, t->'key' AS key
  FROM jsonb_array_elements(:'j'::jsonb->'tables') t;
-- the golden load SQL of an incremental delivery (ids replaced)
SELECT regexp_replace(regexp_replace(pg_read_file(format('regress_inc_lake/%s/redshift/load.sql', :u3)),
                                     '\m' || :u3 || '\M', '<id>', 'g'), '\m' || :u1 || '\M', '<previous>', 'g') AS load_sql;
SELECT pg_read_file(format('regress_inc_lake/%s/redshift/load.sql', :u3))
     = indicina.redshift_load_sql(:u3, 'arn:aws:iam::123456789012:role/load') AS same_as_function;
-- each MERGE has the shape of Redshift's synopsis (r_MERGE: MERGE INTO
-- target USING source [AS] alias ON match_condition WHEN MATCHED THEN
-- UPDATE SET col = expr, ... WHEN NOT MATCHED THEN INSERT (col, ...)
-- VALUES (expr, ...)): no alias on the target, equalities only in ON,
-- target columns named without their table; the staging table is LIKE
-- its target (r_CREATE_TABLE_NEW: LIKE parent_table)
WITH stmt AS (
    SELECT c FROM regexp_split_to_table(indicina.redshift_load_sql(:u3, 'arn:aws:iam::123456789012:role/load'), E';\n') c
     WHERE c ~ '^(MERGE|CREATE TEMP)'),
m AS (SELECT regexp_match(c, '^MERGE INTO (\S+) USING (\S+) s\nON (.+)\nWHEN MATCHED THEN UPDATE SET (.+)\n'
                                || 'WHEN NOT MATCHED THEN INSERT \((.+)\)\nVALUES \((.+)\)$') AS p
        FROM stmt WHERE c ~ '^MERGE')
SELECT (SELECT count(*) FROM stmt WHERE c ~ '^CREATE TEMP TABLE \S+ \(LIKE \S+\)$') AS staging_tables,
       count(*) AS merges, count(p) AS of_the_synopsis,
       bool_and(p[3] ~ '^\S+ = s\.\S+( AND \S+ = s\.\S+)*$') AS on_equalities,
       bool_and(p[4] !~ '\.\S+ =') AS set_unqualified
  FROM m;

-- ---- a table asked for alone keeps its own baseline; full resets it ----
SELECT inc_write('statements/s3.csv', ARRAY[
    'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance',
    'T6,C2,2024-03-02,-5.00,ATM Withdrawal,285.00']);
SELECT inc_run() AS run_c \gset
SELECT table_name, rows FROM indicina.unload('inc_dw', 'inc_lake', prefix => 'regress_inc_lake', slices => 1,
                                             tables => '{fact_bank_transaction}');
SELECT count(*) FROM indicina.unload('inc_dw', 'inc_lake', prefix => 'regress_inc_lake', slices => 1,
                                     tables => '{dim_date,fact_bank_transaction,agg_customer_month}');
SELECT table_name, load, rows, deletes FROM inc_shipped((SELECT id FROM inc_last));
SELECT table_name, rows FROM indicina.unload('inc_dw', 'inc_lake', prefix => 'regress_inc_lake', slices => 1,
                                             mode => 'full');
SET client_min_messages = notice;
SELECT count(*) FROM indicina.unload('inc_dw', 'inc_lake', prefix => 'regress_inc_lake', slices => 1);
SET client_min_messages = warning;

-- ---- a warehouse made by the previous code (no change tracking):
-- a run refuses it; create_warehouse adds what is missing ----
SELECT indicina.create_warehouse('inc_old', 'inc_old_mart');
SELECT format('ALTER TABLE inc_old.%I DROP COLUMN changed_run', t) FROM unnest(indicina.tracked_tables()) t \gexec
DROP TABLE inc_old.deleted_rows;
SELECT * FROM inc_unindexed('inc_old');
SELECT count(*) FROM indicina.run_pipeline('inc_loans', 'inc_statements', 'inc_old');
-- its unload ships every table whole (no baseline can be known)
SELECT table_name, rows FROM indicina.unload('inc_old', 'inc_lake', prefix => 'regress_inc_old', slices => 1,
                                             tables => '{dim_customer}');
SET client_min_messages = notice;
SELECT indicina.create_warehouse('inc_old', 'inc_old_mart');
SELECT indicina.create_warehouse('inc_old', 'inc_old_mart');
SET client_min_messages = warning;
SELECT table_name, count(*) FILTER (WHERE a.attname = 'changed_run') AS changed_run
  FROM unnest(indicina.tracked_tables()) table_name
  JOIN pg_attribute a ON a.attrelid = format('inc_old.%I', table_name)::regclass AND NOT a.attisdropped
 GROUP BY table_name ORDER BY table_name;
SELECT count(*) > 0 AS ran FROM indicina.run_pipeline('inc_loans', 'inc_statements', 'inc_old');
SELECT count(*) AS partitions, (SELECT count(*) FROM inc_unindexed('inc_old')) AS unindexed
  FROM pg_inherits WHERE inhparent = 'inc_old.fact_bank_transaction'::regclass;
SELECT count(*) FILTER (WHERE changed_run IS NOT NULL) AS tracked, count(*) AS rows FROM inc_old.fact_bank_transaction;
-- the first unload after the upgrade sets a baseline; the next ships nothing
SELECT count(*) FROM indicina.unload('inc_old', 'inc_lake', prefix => 'regress_inc_old', slices => 1,
                                     tables => '{dim_customer,fact_bank_transaction}');
SELECT table_name, load, rows FROM inc_shipped((SELECT id FROM inc_last));
SET client_min_messages = notice;
SELECT count(*) FROM indicina.unload('inc_old', 'inc_lake', prefix => 'regress_inc_old', slices => 1,
                                     tables => '{dim_customer,fact_bank_transaction}');
SET client_min_messages = warning;

-- ---- a run of a few new customers, in months the warehouse has: their
-- rows are all that changed, and all that the incremental unload ships
-- (the other customers' months and features, recomputed equal, keep
-- their changed_run; nothing is deleted) ----
SELECT inc_write('loans/l3.csv', ARRAY[
    'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income',
    'A5,C5,3000,2024-01-03,650,Employed,20000', 'A6,C6,8000,2024-01-04,760,Self-Employed,90000']);
SELECT inc_write('statements/s4.csv', ARRAY[
    'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance',
    'T7,C5,2024-01-15,200.00,Monthly Income,200.00', 'T8,C5,2024-02-15,-30.00,POS Purchase,170.00',
    'T9,C6,2024-01-16,900.00,Monthly Income,900.00', 'T10,C6,2024-03-16,-50.00,Fuel Purchase,850.00']);
SELECT inc_run() AS run_d \gset
SELECT table_name, rows FROM indicina.unload('inc_dw', 'inc_lake', prefix => 'regress_inc_lake', slices => 1);
SELECT table_name, load, rows, deletes FROM inc_shipped((SELECT id FROM inc_last));
SELECT 'agg_customer_month' AS table_name, string_agg(customer_id || ' ' || month, ', ' ORDER BY customer_id, month) AS changed_by_d
  FROM inc_dw.agg_customer_month WHERE changed_run = :run_d
UNION ALL
SELECT 'customer_risk_features', string_agg(customer_id, ', ' ORDER BY customer_id)
  FROM inc_dw.customer_risk_features WHERE changed_run = :run_d
UNION ALL
SELECT 'deleted_rows', count(*)::text FROM inc_dw.deleted_rows WHERE run_id = :run_d;

-- ---- a corrected loans file without an application: its customer's
-- features follow the latest application left ----
SELECT customer_id, latest_loan_to_income FROM inc_dw.customer_risk_features WHERE customer_id = 'C1';
SELECT inc_write('loans/l2.csv', ARRAY[
    'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income',
    'A3,C9,4000,2024-01-02,690,Employed,30000']);
SELECT inc_run() AS run_e \gset
SELECT customer_id, latest_loan_to_income, changed_run = :run_e AS changed_by_e
  FROM inc_dw.customer_risk_features ORDER BY customer_id;
SELECT count(*) FROM indicina.unload('inc_dw', 'inc_lake', prefix => 'regress_inc_lake', slices => 1);
SELECT table_name, load, rows, deletes FROM inc_shipped((SELECT id FROM inc_last))
 WHERE table_name NOT IN ('dim_date', 'dim_transaction_category');

DROP SCHEMA inc_dw CASCADE;
DROP SCHEMA inc_mart CASCADE;
DROP SCHEMA inc_old CASCADE;
DROP SCHEMA inc_old_mart CASCADE;
COPY (SELECT 1) TO PROGRAM 'rm -rf regress_inc regress_inc_lake regress_inc_old && cat >/dev/null';
