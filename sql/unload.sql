-- unload.sql: indicina.unload() of a small warehouse into a directory
-- server (docs/unload.md): the delivery's layout, manifests and
-- unload.json, parts that read back to the same values, the ledger, the
-- refusals, and the golden Redshift DDL and load SQL.
\getenv abs_srcdir PG_ABS_SRCDIR
\set server unload_files \set loans unload_loans \set statements unload_statements
\set file_column loaded_from \set line_column loaded_line
\i :abs_srcdir/test/data/seed_landing.sql
SELECT indicina.create_warehouse('unload_dw', 'unload_mart');
SELECT count(*) > 0 AS ran FROM indicina.run_pipeline('unload_loans', 'unload_statements', 'unload_dw');
-- a text value with every character the dialect quotes, and an empty one
UPDATE unload_dw.dim_customer SET employment_status = E' a "b", c\nd ' WHERE customer_key = 1;
UPDATE unload_dw.dim_customer SET employment_status = '' WHERE customer_key = 2;

-- the lake: a directory server whose root is the data directory (the
-- delivery goes under its prefix)
SELECT current_setting('data_directory') AS datadir \gset
CREATE SERVER unload_lake FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'datadir');
CREATE TEMP VIEW unload_last AS SELECT max(unload_id) AS id FROM indicina.unloads;

-- a full unload, two slices, small parts: one row per table, in load order
SET client_min_messages = notice;
SELECT table_name, rows, parts, bytes > compressed_bytes AS compressed,
       manifest = format('%s/regress_lake/%s/%s.manifest', :'datadir', unload_id, table_name) AS manifest_here
  FROM indicina.unload('unload_dw', 'unload_lake', prefix => 'regress_lake', mode => 'full', slices => 2,
                       max_part_size => 4096);
SELECT id AS full_id FROM unload_last \gset
SELECT target, server, mode, state, cardinality(runs) AS runs, message FROM indicina.unloads WHERE unload_id = :full_id;

-- every part is where unload.json says, with its size and SHA-256; the
-- manifests list the same parts with their sizes
SELECT pg_read_file(format('regress_lake/%s/unload.json', :full_id))::jsonb AS j \gset
SELECT :'j'::jsonb->'format' AS format, :'j'::jsonb->>'mode' AS mode, :'j'::jsonb->>'target' AS target;
SELECT t->>'name' AS table_name, (t->>'rows')::bigint AS rows, jsonb_array_length(t->'parts') AS parts,
       bool_and((p->>'bytes')::bigint = (pg_stat_file(p->>'url')).size) AS sizes,
       bool_and(p->>'sha256' = encode(sha256(pg_read_binary_file(p->>'url')), 'hex')) AS hashes,
       max((p->>'rows')::bigint) - min((p->>'rows')::bigint) <= 1 + (t->>'rows')::bigint / 3 AS about_equal
  FROM jsonb_array_elements(:'j'::jsonb->'tables') t, jsonb_array_elements(t->'parts') p
 GROUP BY t ORDER BY min(p->>'url');
SELECT t->>'name' AS table_name,
       (SELECT jsonb_agg(e->>'url') FROM jsonb_array_elements(m->'entries') e) = (SELECT jsonb_agg(p->>'url') FROM jsonb_array_elements(t->'parts') p) AS same_parts,
       (SELECT bool_and((e->'mandatory')::boolean AND (e->'meta'->>'content_length')::bigint = (pg_stat_file(e->>'url')).size)
          FROM jsonb_array_elements(m->'entries') e) AS lengths
  FROM jsonb_array_elements(:'j'::jsonb->'tables') t,
       LATERAL (SELECT pg_read_file(format('regress_lake/%s/%s', :full_id, t->>'manifest'))::jsonb AS m) x
 ORDER BY t->>'name';
SELECT c->>'name' AS name, c->>'type' AS type, c->>'redshift_type' AS redshift_type
  FROM jsonb_array_elements(:'j'::jsonb->'tables') t, jsonb_array_elements(t->'columns') c
 WHERE t->>'name' = 'dim_customer';

-- the parts read back with PostgreSQL's COPY (FORMAT csv, NULL '\N'),
-- gzip through gzip -dc: the same rows, the sentinels aside
CREATE SCHEMA unload_back;
SELECT format('CREATE TABLE unload_back.%I (LIKE unload_dw.%I)', t->>'name', t->>'name')
  FROM jsonb_array_elements(:'j'::jsonb->'tables') t \gexec
-- (the server runs COPY's program in the data directory: paths relative to it)
\set ECHO none
SELECT format('COPY unload_back.%I FROM PROGRAM %L (FORMAT csv, NULL %L)', t->>'name',
              'gzip -dc ' || replace(p->>'url', :'datadir' || '/', ''), '\N')
  FROM jsonb_array_elements(:'j'::jsonb->'tables') t, jsonb_array_elements(t->'parts') p \gexec
\set ECHO all
UPDATE unload_back.dim_customer SET valid_from = '-infinity' WHERE valid_from = '0001-01-01';
SELECT format($$SELECT %L AS table_name, (SELECT count(*) FROM unload_back.%I) AS rows,
                     (SELECT count(*) FROM (SELECT * FROM unload_dw.%I EXCEPT ALL SELECT * FROM unload_back.%I) x) AS missing,
                     (SELECT count(*) FROM (SELECT * FROM unload_back.%I EXCEPT ALL SELECT * FROM unload_dw.%I) x) AS extra$$,
              t->>'name', t->>'name', t->>'name', t->>'name', t->>'name', t->>'name')
  FROM jsonb_array_elements(:'j'::jsonb->'tables') t \gexec
SELECT employment_status, employment_status IS NULL AS is_null FROM unload_back.dim_customer
 WHERE customer_key IN (0, 1, 2) ORDER BY customer_key;

-- zstd and none: the same rows
SELECT table_name, rows, parts FROM indicina.unload('unload_dw', 'unload_lake', prefix => 'regress_lake', mode => 'full',
                                                    compression => 'zstd', tables => '{dim_customer}', slices => 3);
SELECT id AS zstd_id FROM unload_last \gset
CREATE TABLE unload_back.zstd (LIKE unload_dw.dim_customer);
\set ECHO none
SELECT format('COPY unload_back.zstd FROM PROGRAM %L (FORMAT csv, NULL %L)',
              'zstd -dcq ' || replace(p->>'url', :'datadir' || '/', ''), '\N')
  FROM jsonb_array_elements(pg_read_file(format('regress_lake/%s/unload.json', :zstd_id))::jsonb->'tables') t,
       jsonb_array_elements(t->'parts') p \gexec
\set ECHO all
SELECT count(*) AS rows, count(*) FILTER (WHERE valid_from = '0001-01-01') AS sentinels FROM unload_back.zstd;
SELECT table_name, rows, parts, bytes = compressed_bytes AS uncompressed
  FROM indicina.unload('unload_dw', 'unload_lake', prefix => 'regress_lake', mode => 'full',
                       compression => 'none', tables => '{agg_customer_month}', slices => 1);
SELECT pg_ls_dir(format('regress_lake/%s/agg_customer_month', (SELECT id FROM unload_last))) AS part;

-- the golden Redshift DDL
SELECT indicina.redshift_ddl('unload_dw');

-- the golden load SQL of an unload synced to S3 (ids and paths replaced)
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', prefix => 'regress_lake', mode => 'full',
                                     tables => '{dim_date,fact_bank_transaction}', url_prefix => 's3://lake-bucket/root/',
                                     iam_role => 'arn:aws:iam::123456789012:role/load');
SELECT id AS s3_id FROM unload_last \gset
SELECT regexp_replace(pg_read_file(format('regress_lake/%s/redshift/load.sql', :s3_id)), '\m' || :s3_id || '\M', '<id>', 'g')
    AS load_sql;
SELECT pg_read_file(format('regress_lake/%s/redshift/load.sql', :s3_id))
     = indicina.redshift_load_sql(:s3_id, 'arn:aws:iam::123456789012:role/load') AS same_as_function;
-- (a gzip part's size depends on the machine's zlib: checked against the file instead)
SELECT regexp_replace(regexp_replace(m, '\m' || :s3_id || '\M', '<id>', 'g'),
                      '"content_length": [0-9]+', '"content_length": <size of the part>', 'g') AS manifest
  FROM pg_read_file(format('regress_lake/%s/fact_bank_transaction.manifest', :s3_id)) m;
SELECT count(*) AS entries,
       count(*) FILTER (WHERE (e->'meta'->>'content_length')::bigint
                              = (pg_stat_file(regexp_replace(e->>'url', '^s3://lake-bucket/root/', ''))).size) AS sized_as_the_file
  FROM jsonb_array_elements(pg_read_file(format('regress_lake/%s/fact_bank_transaction.manifest', :s3_id))::jsonb->'entries') e;

-- each clause of the COPY is a parameter of Redshift's COPY (its
-- documentation's alphabetical parameter list, r_COPY-alphabetical-parm-list),
-- and none it forbids with CSV (CSV cannot be used with FIXEDWIDTH,
-- REMOVEQUOTES or ESCAPE, copy-parameters-data-format)
WITH copy AS (
    SELECT regexp_replace(substring(c FROM 'IAM_ROLE ''[^'']*''(.*)$'), '''[^'']*''', '', 'g') AS opts
      FROM regexp_split_to_table(indicina.redshift_load_sql(:s3_id, 'arn:aws:iam::123456789012:role/load'), E';\n') c
     WHERE c ~ '^COPY '),
words AS (SELECT DISTINCT w FROM copy, regexp_split_to_table(trim(opts), '\s+') w WHERE w <> '')
SELECT w, w IN ('MANIFEST', 'FORMAT', 'AS', 'CSV', 'QUOTE', 'DELIMITER', 'GZIP', 'ZSTD', 'NULL', 'ENCODING', 'UTF8',
                'DATEFORMAT', 'TIMEFORMAT', 'MAXERROR', '0', 'COMPUPDATE', 'OFF') AS documented,
       w NOT IN ('FIXEDWIDTH', 'REMOVEQUOTES', 'ESCAPE', 'EMPTYASNULL') AS allowed_with_csv
  FROM words ORDER BY w;

-- the ledger keeps each complete unload, with the widths the DDL uses
SELECT t->>'name' AS table_name, t->'widths' AS widths
  FROM indicina.unload_history h, jsonb_array_elements(h.tables) t
 WHERE h.unload_id = :full_id AND t->>'name' IN ('dim_date', 'dim_transaction_category');

-- a first incremental unload to a server ships everything (a full one);
-- an incremental one after it ships the tables that one left out whole,
-- and dim_date not at all (no run since; sql/unload_incremental.sql)
CREATE SERVER unload_lake2 FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'datadir');
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake2', prefix => 'regress_other', tables => '{dim_date}',
                                     slices => 1);
SELECT mode FROM indicina.unload_history WHERE unload_id = (SELECT id FROM unload_last);
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake2', prefix => 'regress_other');

-- values Redshift cannot hold are refused, naming table, column and row key;
-- the failed unload is in the ledger and left no manifest
SELECT narration AS narration3 FROM unload_dw.dim_transaction_category WHERE category_key = 3 \gset
UPDATE unload_dw.dim_transaction_category SET narration = repeat('x', 70000) WHERE category_key = 3;
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', prefix => 'regress_lake', mode => 'full');
SELECT state, message FROM indicina.unloads WHERE unload_id = (SELECT max(run_id) FROM indicina.runs WHERE kind = 'unload');
SELECT count(*) AS manifests FROM pg_ls_dir('regress_lake') d,
       LATERAL pg_ls_dir('regress_lake/' || d) f
 WHERE d::bigint = (SELECT max(run_id) FROM indicina.runs WHERE kind = 'unload') AND f LIKE '%.manifest';
UPDATE unload_dw.dim_transaction_category SET narration = :'narration3' WHERE category_key = 3;
UPDATE unload_dw.dim_customer SET employment_status = '\N' WHERE customer_key = 2;
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', prefix => 'regress_lake', mode => 'full',
                                     tables => '{dim_customer}');
UPDATE unload_dw.dim_customer SET employment_status = NULL WHERE customer_key = 2;
-- (the mart views that read the column go while its type changes)
DROP VIEW unload_mart.customer_profile CASCADE;
ALTER TABLE unload_dw.customer_risk_features ALTER COLUMN balance_volatility TYPE numeric(60,2);
UPDATE unload_dw.customer_risk_features SET balance_volatility = 1e45
 WHERE customer_id = (SELECT min(customer_id) FROM unload_dw.customer_risk_features);
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', prefix => 'regress_lake', mode => 'full',
                                     tables => '{customer_risk_features}');
ALTER TABLE unload_dw.customer_risk_features ALTER COLUMN balance_volatility TYPE numeric;
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', prefix => 'regress_lake', mode => 'full',
                                     tables => '{customer_risk_features}');
UPDATE unload_dw.customer_risk_features SET balance_volatility = NULL WHERE balance_volatility = 1e45;
ALTER TABLE unload_dw.customer_risk_features ALTER COLUMN balance_volatility TYPE numeric(16,2);
SELECT indicina.create_mart_views('unload_dw', 'unload_mart');

-- bad arguments: refused before anything is recorded
SELECT count(*) AS unloads_before FROM indicina.runs WHERE kind = 'unload' \gset
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', mode => 'fast');
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', compression => 'lz4');
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', prefix => '../escape');
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', tables => '{file_ledger}');
SELECT count(*) FROM indicina.unload('unload_dw', 'no_such_lake');
SELECT count(*) FROM indicina.unload('no_such_dw', 'unload_lake');
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', slices => 0);
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', workers => 0);
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', workers => 65);
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', url_prefix => 'http://example/');
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', iam_role => 'load');
SELECT count(*) - :unloads_before AS recorded FROM indicina.runs WHERE kind = 'unload';
SELECT indicina.redshift_load_sql(-1, 'arn:aws:iam::123456789012:role/load');
SELECT indicina.redshift_load_sql(:s3_id, 'arn:aws:iam::123456789012:role/x'' ; DROP TABLE t; --');

-- writing files needs superuser or pg_write_server_files
CREATE ROLE regress_unload_nobody;
GRANT indicina_operator TO regress_unload_nobody;
GRANT USAGE ON FOREIGN SERVER unload_lake TO regress_unload_nobody;
SET ROLE regress_unload_nobody;
SELECT count(*) FROM indicina.unload('unload_dw', 'unload_lake', mode => 'full');
RESET ROLE;
SET client_min_messages = warning;
DROP OWNED BY regress_unload_nobody;
DROP ROLE regress_unload_nobody;
DROP SCHEMA unload_back CASCADE;

-- a run whose backend was killed before its WAL reached the disk: recovery
-- set the transaction counter back, so the xid the journal recorded is "in
-- the future"; the run is aborted (before: every read of the view failed)
SELECT indicina.journal_write('run', jsonb_build_object(
    'run_id', -1, 'event', 'started', 'kind', 'regress_killed', 'at', now(), 'pid', 0, 'user', 'regress', 'args', '{}',
    'xid', (pg_snapshot_xmax(pg_current_snapshot())::text::bigint + 100000)::text));
SELECT kind, status FROM indicina.runs WHERE run_id = -1;
