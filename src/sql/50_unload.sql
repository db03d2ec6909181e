-- 50_unload.sql: the unload of a warehouse into compressed CSV parts with
-- Redshift manifests (docs/unload.md): what ships and its keys, the ledger
-- of unloads, unload() itself.  The parts are written in C
-- (src/ship/unload.c); the Redshift DDL and load SQL are in 51_redshift.sql.

-- ---------------------------------------------------------------------
-- What ships: the warehouse tables in dependency order, with their keys
-- ---------------------------------------------------------------------

/*
 * The tables an unload ships, in the order a load must apply them
 * (dimensions before the facts that point at them), each with the key a
 * load merges on (facts by lineage: transaction_id is not unique across
 * sources), and how Redshift should distribute and sort it.
 */
CREATE FUNCTION indicina.unload_catalog(
    OUT table_name text, OUT "position" int, OUT merge_key text[], OUT diststyle text, OUT distkey text,
    OUT sortkey text)
RETURNS SETOF record LANGUAGE sql IMMUTABLE AS $$
    VALUES ('dim_date', 1, '{date_key}'::text[], 'ALL', NULL, 'date_key'),
           ('dim_transaction_category', 2, '{category_key}', 'ALL', NULL, NULL),
           ('dim_customer', 3, '{customer_key}', 'KEY', 'customer_key', 'customer_key'),
           ('fact_loan_application', 4, '{source_file,source_line}', 'KEY', 'customer_key', 'application_date_key'),
           ('fact_bank_transaction', 5, '{source_file,source_line}', 'KEY', 'customer_key', 'transaction_date_key'),
           ('agg_customer_month', 6, '{customer_id,month}', 'KEY', 'customer_id', 'month'),
           ('customer_risk_features', 7, '{customer_id}', 'KEY', 'customer_id', NULL)
$$;
COMMENT ON FUNCTION indicina.unload_catalog() IS
    'the warehouse tables an unload ships, in load order, with their merge key, distribution and sort key';

-- ---------------------------------------------------------------------
-- The ledger: complete unloads in a table, the others from the journal
-- ---------------------------------------------------------------------

CREATE TABLE indicina.unload_history (
    unload_id     bigint PRIMARY KEY,      -- the unload's run id (indicina.runs, kind 'unload')
    target        name NOT NULL,
    server        name NOT NULL,
    prefix        text NOT NULL,
    mode          text NOT NULL CHECK (mode IN ('full', 'incremental')),
    compression   text NOT NULL,
    url_prefix    text,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL,
    snapshot_at   timestamptz NOT NULL,
    runs          bigint[] NOT NULL,       -- the pipeline runs whose rows the warehouse held
    through_run   bigint,                  -- the baseline it sets: every change by a run up to it is delivered
                                           -- (NULL: the warehouse had no change tracking)
    tables        jsonb NOT NULL,          -- per table: rows, parts, manifest, widths, load, after_run, deletes
    delivery      text NOT NULL);          -- where its unload.json is
SELECT pg_catalog.pg_extension_config_dump('indicina.unload_history', '');
COMMENT ON TABLE indicina.unload_history IS
    'every complete unload (kept by pg_dump); indicina.unloads adds the failed and aborted ones from the journal';

CREATE VIEW indicina.unloads AS
SELECT h.unload_id, h.target, h.server, h.mode, h.started_at, h.finished_at, 'complete'::text AS state, h.runs,
       h.through_run, h.tables, NULL::text AS message, h.delivery
  FROM indicina.unload_history h
UNION ALL
SELECT r.run_id, (r.args->>'target')::name, (r.args->>'server')::name, r.args->>'mode', r.started_at, r.finished_at,
       CASE r.status WHEN 'failed' THEN 'failed' WHEN 'running' THEN 'running'
                     WHEN 'succeeded' THEN CASE WHEN r.details ? 'nothing_to_ship' THEN 'nothing to ship' ELSE 'unknown' END
                     WHEN 'unknown' THEN 'unknown' ELSE 'aborted' END,
       NULL, NULL, NULL, r.message, NULL
  FROM indicina.runs r
 WHERE r.kind = 'unload' AND NOT EXISTS (SELECT 1 FROM indicina.unload_history h WHERE h.unload_id = r.run_id);
COMMENT ON VIEW indicina.unloads IS
    'the unload ledger: complete unloads, and from the journal those that failed, were cancelled or killed (aborted), or had nothing to ship';

-- ---------------------------------------------------------------------
-- Planning an unload
-- ---------------------------------------------------------------------

-- the columns of a warehouse table, in order (what every part holds)
CREATE FUNCTION indicina.unload_columns(target name, table_name text,
    OUT name text, OUT type regtype, OUT typmod int)
RETURNS SETOF record LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.attname::text, a.atttypid::regtype, a.atttypmod
      FROM pg_attribute a
     WHERE a.attrelid = format('%I.%I', target, table_name)::regclass AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum
$$;

/*
 * The tables of an unload of target, in load order: all of unload_catalog,
 * or those named (each checked to be one of them and to exist); a numeric
 * column without precision is refused (Redshift's DECIMAL needs one).
 */
CREATE FUNCTION indicina.unload_plan(target name, tables text[])
RETURNS TABLE (table_name text, query text, merge_key text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    t text;
    c record;
BEGIN
    IF to_regclass(format('%I.file_ledger', target)) IS NULL THEN
        RAISE EXCEPTION 'warehouse % does not exist', target
            USING ERRCODE = 'undefined_object', HINT = format('SELECT indicina.create_warehouse(%L);', target);
    END IF;
    FOREACH t IN ARRAY coalesce(tables, '{}') LOOP
        IF NOT EXISTS (SELECT 1 FROM indicina.unload_catalog() k WHERE k.table_name = t) THEN
            RAISE EXCEPTION 'table "%" is not a warehouse table an unload ships', t
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name tables of: ' || (SELECT string_agg(k.table_name, ', ' ORDER BY k.position)
                                                      FROM indicina.unload_catalog() k) || '.';
        END IF;
    END LOOP;
    FOR t IN SELECT k.table_name FROM indicina.unload_catalog() k
              WHERE tables IS NULL OR k.table_name = ANY (tables) ORDER BY k.position LOOP
        IF to_regclass(format('%I.%I', target, t)) IS NULL THEN
            RAISE EXCEPTION 'table %.% does not exist', target, t USING ERRCODE = 'undefined_table';
        END IF;
        FOR c IN SELECT * FROM indicina.unload_columns(target, t) u WHERE u.type = 'numeric'::regtype AND u.typmod < 0 LOOP
            RAISE EXCEPTION 'column "%" of table "%" is numeric without a precision', c.name, t
                USING ERRCODE = 'feature_not_supported',
                      HINT = 'Redshift''s DECIMAL needs one: ALTER the column to numeric(p,s) with p <= 38.';
        END LOOP;
    END LOOP;
    RETURN QUERY
    SELECT k.table_name,
           format('SELECT %s FROM %I.%I', (SELECT string_agg(quote_ident(u.name), ', ')
                                             FROM indicina.unload_columns(target, k.table_name) u),
                  target, k.table_name),
           k.merge_key
      FROM indicina.unload_catalog() k
     WHERE tables IS NULL OR k.table_name = ANY (tables)
     ORDER BY k.position;
END;
$$;

-- the change-tracking watermark of target, as SQL: the last run whose rows the warehouse holds
CREATE FUNCTION indicina.unload_watermark_sql(target name) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('SELECT coalesce(max(run_id), 0) FROM %I.file_ledger', target)
$$;

/*
 * What each table of an unload of target to server ships (docs/unload.md,
 * Incremental), in load order.  In a full unload, or for a table no
 * complete unload to server with change tracking shipped yet: every row,
 * load 'replace'.  In an incremental one, a tracked table (it has
 * changed_run) ships the rows changed after its baseline (after_run, the
 * watermark of the last complete unload that shipped it), load 'merge';
 * a table without changed_run (dim_date, dim_transaction_category) ships
 * whole when a run came since, load 'replace'.  The conditions are in the
 * queries, so they are judged under the unload's snapshot.
 */
CREATE FUNCTION indicina.unload_queries(target name, server name, tables text[], mode text)
RETURNS TABLE (table_name text, query text, merge_key text[], load text, after_run bigint, blocks_query text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.table_name,
           format('%s WHERE %s', p.query, w.cond),
           p.merge_key,
           CASE WHEN b.after_run IS NOT NULL AND c.tracked THEN 'merge' ELSE 'replace' END,
           b.after_run,
           -- the rows by range of 8 blocks (64 kB), to cut the table into shares for workers
           format('SELECT indicina.tid_block(ctid) / 8 * 8, count(*) FROM %I.%I WHERE %s GROUP BY 1 ORDER BY 1',
                  target, p.table_name, w.cond)
      FROM indicina.unload_plan($1, $3) p
      CROSS JOIN LATERAL (
          SELECT max(h.through_run) AS after_run
            FROM indicina.unload_history h, jsonb_array_elements(h.tables) x
           WHERE $4 = 'incremental' AND h.target = $1 AND h.server = $2 AND x->>'name' = p.table_name) b
      CROSS JOIN LATERAL (
          SELECT EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = format('%I.%I', target, p.table_name)::regclass
                            AND a.attname = 'changed_run' AND NOT a.attisdropped)
             AND to_regclass(format('%I.deleted_rows', target)) IS NOT NULL AS tracked) c
      CROSS JOIN LATERAL (
          SELECT CASE WHEN b.after_run IS NULL THEN 'true'
                      WHEN c.tracked THEN format('changed_run > %s', b.after_run)
                      ELSE format('(%s) > %s', indicina.unload_watermark_sql(target), b.after_run) END AS cond) w
$$;

CREATE FUNCTION indicina.unload_check_server(server name) RETURNS void
AS 'MODULE_PATHNAME', 'indicina_unload_check_server' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION indicina.unload_check_server(name) IS
    'refuses a server the caller may not unload into (USAGE; pg_write_server_files but for S3 with its own user mapping)';

-- the heap block of a row (unload_queries' blocks_query)
CREATE FUNCTION indicina.tid_block(tid) RETURNS bigint
AS 'MODULE_PATHNAME', 'indicina_tid_block' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

/*
 * The query unload_write runs first, under the snapshot of the parts: the
 * runs the warehouse holds, its watermark (NULL without change tracking),
 * and per table loaded by 'merge' the deletions after its baseline, each
 * once: {"runs": [...], "through_run": n, "deletes": {"table": [match, ...]}}.
 */
CREATE FUNCTION indicina.unload_meta_sql(target name) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format($q$SELECT jsonb_build_object(
        'runs', (SELECT coalesce(jsonb_agg(DISTINCT run_id ORDER BY run_id), '[]') FROM %1$I.file_ledger),
        'through_run', %2$s,
        'deletes', %3$s)::text$q$,
        target,
        CASE WHEN to_regclass(format('%I.deleted_rows', target)) IS NULL THEN 'NULL'
             ELSE format('(%s)', indicina.unload_watermark_sql(target)) END,
        coalesce((SELECT format($m$(SELECT coalesce(jsonb_object_agg(d.table_name, d.matches), '{}')
                                     FROM (SELECT x.table_name, jsonb_agg(DISTINCT x.match ORDER BY x.match) AS matches
                                             FROM %I.deleted_rows x
                                            WHERE %s GROUP BY x.table_name) d)$m$,
                                 target,
                                 string_agg(format('(x.table_name = %L AND x.run_id > %s)', p.table_name, p.after_run),
                                            ' OR '))
                    FROM pg_temp.indicina_unload_plan p WHERE p.load = 'merge' HAVING count(*) > 0), '''{}''::jsonb'))
$$;

-- ---------------------------------------------------------------------
-- Writing the delivery
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.unload_write(server name, base text, tables text[], queries text[], keys text[],
    compression text, slices int, max_part_size bigint, url_prefix text, ship_empty boolean, meta_query text,
    blocks_queries text[], workers int,
    OUT table_name text, OUT part int, OUT url text, OUT path text, OUT rows bigint, OUT bytes bigint,
    OUT raw_bytes bigint, OUT sha256 text, OUT widths int[], OUT seconds float8)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'indicina_unload_write' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION indicina.unload_write(name, text, text[], text[], text[], text, int, bigint, text, boolean, text, text[], int) IS
    'writes the parts of each query under <root>/<base>/<table>/ from one snapshot (what unload() calls)';
CREATE FUNCTION indicina.unload_write_files(server name, base text, url_prefix text, paths text[], contents text[])
RETURNS text[] AS 'MODULE_PATHNAME', 'indicina_unload_write_files' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION indicina.unload_write_files(name, text, text, text[], text[]) IS
    'writes each file whole (temporary name, fsync, rename) under an existing delivery, in order; returns their URLs';

-- the JSON of one table of unload.json, from its parts (in temp table indicina_unload_parts)
CREATE FUNCTION indicina.unload_table_json(target name, table_name text, manifest text) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object(
        'name', table_name,
        'rows', (SELECT coalesce(sum(p.rows), 0) FROM pg_temp.indicina_unload_parts p WHERE p.table_name = $2),
        'columns', (SELECT jsonb_agg(jsonb_build_object('name', u.name, 'type', format_type(u.type, u.typmod),
                                                        'redshift_type', indicina.redshift_type(u.type, u.typmod,
                                                            greatest(w.width, indicina.unload_known_width(target, table_name, u.name))),
                                                        'width', w.width) ORDER BY u.i)
                      FROM indicina.unload_columns(target, table_name) WITH ORDINALITY u(name, type, typmod, i)
                      LEFT JOIN indicina.unload_widths(table_name) w ON w.i = u.i),
        'manifest', manifest,
        'key', (SELECT to_jsonb(k.merge_key) FROM indicina.unload_catalog() k WHERE k.table_name = $2),
        'parts', (SELECT coalesce(jsonb_agg(jsonb_build_object('url', p.url, 'rows', p.rows, 'bytes', p.bytes,
                                                               'sha256', p.sha256) ORDER BY p.part), '[]')
                    FROM pg_temp.indicina_unload_parts p WHERE p.table_name = $2))
$$;

-- the longest value in bytes of each text column of a table's parts, by column position
CREATE FUNCTION indicina.unload_widths(table_name text, OUT i bigint, OUT width int)
RETURNS SETOF record LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT w.i, max(w.width)
      FROM pg_temp.indicina_unload_parts p, unnest(p.widths) WITH ORDINALITY w(width, i)
     WHERE p.table_name = $1 AND p.part IS NOT NULL
     GROUP BY w.i
$$;

/*
 * After the parts: each table's manifest (entries url, mandatory,
 * meta.content_length), redshift/ddl.sql (and load.sql with an IAM role),
 * and unload.json last, all through unload_write_files.  The tables are
 * those with parts (in temp table indicina_unload_parts) and those loaded
 * by 'merge' with deletions only (deletes: per table, what it deletes; no
 * part and no manifest); workers: the processes that wrote the parts.
 * Returns u with its tables (per table rows, parts, manifest URL, widths,
 * load, after_run, deletes) and delivery.
 */
CREATE FUNCTION indicina.unload_deliver(u indicina.unload_history, iam_role text, deletes jsonb, workers int)
RETURNS indicina.unload_history
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_base   text := u.prefix || '/' || u.unload_id;
    v_tables text[];
    v_paths  text[];
    v_docs   text[];
    v_urls   text[];
    v_json   jsonb;
BEGIN
    SELECT array_agg(p.table_name ORDER BY p.position) INTO v_tables
      FROM pg_temp.indicina_unload_plan p
     WHERE p.table_name IN (SELECT x.table_name FROM pg_temp.indicina_unload_parts x) OR deletes ? p.table_name;
    -- every small file is written at the end, in one call: manifests, DDL, load SQL, unload.json last
    SELECT array_agg(t || '.manifest' ORDER BY i),
           array_agg(jsonb_pretty(jsonb_build_object('entries', (
               SELECT jsonb_agg(jsonb_build_object('url', p.url, 'mandatory', true,
                                                   'meta', jsonb_build_object('content_length', p.bytes)) ORDER BY p.part)
                 FROM pg_temp.indicina_unload_parts p WHERE p.table_name = t))) ORDER BY i)
      INTO v_paths, v_docs
      FROM unnest(v_tables) WITH ORDINALITY x(t, i)
     WHERE t IN (SELECT p.table_name FROM pg_temp.indicina_unload_parts p);
    -- a manifest's location: its parts' directory's, as the destination names it
    SELECT array_agg((SELECT regexp_replace(min(p.url), '/[^/]+/[^/]+$', '/' || t || '.manifest')
                        FROM pg_temp.indicina_unload_parts p WHERE p.table_name = t) ORDER BY i)
      INTO v_urls FROM unnest(v_tables) WITH ORDINALITY x(t, i);
    SELECT jsonb_agg(indicina.unload_table_json(u.target, t, CASE WHEN v_urls[i] IS NOT NULL THEN t || '.manifest' END)
                     || jsonb_build_object('manifest_url', v_urls[i], 'load', p.load, 'after_run', p.after_run,
                                           'deletes', coalesce(deletes->t, '[]'))
                     ORDER BY i) INTO v_json
      FROM unnest(v_tables) WITH ORDINALITY x(t, i) JOIN pg_temp.indicina_unload_plan p ON p.table_name = t;
    u.tables := (SELECT jsonb_agg(jsonb_build_object(
                     'name', t->>'name', 'rows', (t->>'rows')::bigint, 'parts', jsonb_array_length(t->'parts'),
                     'manifest', t->>'manifest_url', 'load', t->'load', 'after_run', t->'after_run',
                     'deletes', t->'deletes',
                     'widths', (SELECT coalesce(jsonb_object_agg(c->>'name', (c->>'width')::int)
                                                  FILTER (WHERE c->>'width' IS NOT NULL), '{}')
                                  FROM jsonb_array_elements(t->'columns') c)) ORDER BY i)
                   FROM jsonb_array_elements(v_json) WITH ORDINALITY e(t, i));
    v_paths := coalesce(v_paths, '{}') || '{redshift/ddl.sql}'::text[];
    v_docs := coalesce(v_docs, '{}') || indicina.redshift_ddl_for(u.target, v_json);
    IF iam_role IS NOT NULL THEN
        v_paths := v_paths || '{redshift/load.sql}'::text[];
        v_docs := v_docs || indicina.redshift_load_sql_for(u, iam_role);
    END IF;
    v_paths := v_paths || '{unload.json}'::text[];
    v_docs := v_docs || jsonb_pretty(indicina.unload_json(u, v_json) || jsonb_build_object('workers', workers));
    v_urls := indicina.unload_write_files(u.server, v_base, u.url_prefix, v_paths, v_docs);
    u.delivery := v_urls[cardinality(v_urls)];
    RETURN u;
END;
$$;

-- the unload.json of delivery u, whose tables' JSON is tables (docs/unload.md)
CREATE FUNCTION indicina.unload_json(u indicina.unload_history, tables jsonb) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object(
        'unload_id', u.unload_id, 'target', u.target, 'mode', u.mode,
        'snapshot_at', to_char(u.snapshot_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'runs', to_jsonb(u.runs),
        'through_run', u.through_run,
        -- the unload an incremental delivery applies after (the last complete one to the same server)
        'follows', CASE WHEN u.mode = 'incremental' THEN indicina.unload_follows(u) END,
        'format', jsonb_build_object('type', 'csv', 'delimiter', ',', 'quote', '"', 'escape', '"', 'null', '\N',
                                     'empty_string', '""', 'header', false, 'encoding', 'UTF8',
                                     'compression', u.compression,
                                     'sentinels', jsonb_build_object('-infinity', '0001-01-01', 'infinity', '9999-12-31')),
        'tables', tables)
$$;

-- the last complete unload of u's target to u's server before u (NULL: none)
CREATE FUNCTION indicina.unload_follows(u indicina.unload_history) RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT max(h.unload_id) FROM indicina.unload_history h
     WHERE h.target = u.target AND h.server = u.server AND h.unload_id < u.unload_id
$$;

-- the longest value of a text column any complete unload of target recorded (NULL: none)
CREATE FUNCTION indicina.unload_known_width(target name, table_name text, column_name text, server name DEFAULT NULL)
RETURNS int LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT max((t->'widths'->>column_name)::int)
      FROM indicina.unload_history h, jsonb_array_elements(h.tables) t
     WHERE h.target = $1 AND (server IS NULL OR h.server = server) AND t->>'name' = table_name
$$;

/*
 * Unloads warehouse target into a delivery under the root of server
 * (docs/unload.md): every table from one snapshot, into parts of about
 * equal size, their manifests, redshift/ddl.sql (and load.sql with an IAM
 * role), unload.json last; the ledger.  A failure leaves a failed (or, for
 * a killed backend, aborted) entry in indicina.unloads and no manifest
 * pointing at a partial part.  Returns one row per table shipped.
 */
CREATE FUNCTION indicina.unload(target name, server name, prefix text DEFAULT NULL, tables text[] DEFAULT NULL,
                                mode text DEFAULT 'incremental', compression text DEFAULT 'gzip',
                                slices int DEFAULT NULL, max_part_size bigint DEFAULT 268435456,
                                url_prefix text DEFAULT NULL, iam_role text DEFAULT NULL, workers int DEFAULT NULL)
RETURNS TABLE (table_name text, unload_id bigint, rows bigint, parts int, bytes bigint, compressed_bytes bigint,
               manifest text, seconds numeric)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
-- the text of dates, timestamps and floats both loaders read back (csv_format.c)
SET DateStyle = 'ISO, YMD' SET TimeZone = 'UTC' SET extra_float_digits = 1 AS $$
#variable_conflict use_column
DECLARE
    u       indicina.unload_history;
    v_meta  jsonb;
    v_msg   text;
    v_state text;
BEGIN
    u := indicina.unload_begin(target, server, prefix, mode, compression, slices, max_part_size, url_prefix);
    IF workers < 1 OR workers > 64 THEN
        RAISE EXCEPTION 'workers must be between 1 and 64' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'It counts the processes that write the parts, the backend included.';
    END IF;
    IF iam_role IS NOT NULL THEN
        PERFORM indicina.check_iam_role(iam_role);
    END IF;
    -- a first incremental unload to a server ships everything: a full one
    IF NOT EXISTS (SELECT 1 FROM indicina.unload_history h WHERE h.target = u.target AND h.server = u.server) THEN
        u.mode := 'full';
    END IF;
    PERFORM indicina.drop_temp('{indicina_unload_plan,indicina_unload_parts}');
    CREATE TEMP TABLE indicina_unload_plan ON COMMIT DROP AS
    SELECT q.*, k.position
      FROM indicina.unload_queries(u.target, u.server, tables, u.mode) q JOIN indicina.unload_catalog() k USING (table_name);
    u.unload_id := indicina.run_begin('unload', jsonb_build_object(
        'target', target, 'server', server, 'prefix', u.prefix, 'mode', u.mode, 'compression', compression));
    BEGIN
        u.snapshot_at := clock_timestamp();
        CREATE TEMP TABLE indicina_unload_parts ON COMMIT DROP AS
        SELECT * FROM indicina.unload_write(u.server, u.prefix || '/' || u.unload_id,
            ARRAY(SELECT p.table_name FROM indicina_unload_plan p ORDER BY p.position),
            ARRAY(SELECT p.query FROM indicina_unload_plan p ORDER BY p.position),
            ARRAY(SELECT array_to_string(p.merge_key, ',') FROM indicina_unload_plan p ORDER BY p.position),
            u.compression, coalesce(slices, current_setting('indicina.redshift_slices')::int), max_part_size,
            u.url_prefix, u.mode = 'full', indicina.unload_meta_sql(target),
            ARRAY(SELECT p.blocks_query FROM indicina_unload_plan p ORDER BY p.position),
            coalesce(workers, current_setting('indicina.unload_workers')::int));
        v_meta := (SELECT p.url::jsonb || jsonb_build_object('workers', p.part)
                     FROM indicina_unload_parts p WHERE p.table_name IS NULL);
        u.runs := ARRAY(SELECT jsonb_array_elements_text(v_meta->'runs')::bigint);
        u.through_run := (v_meta->>'through_run')::bigint;
        DELETE FROM indicina_unload_parts p WHERE p.table_name IS NULL;
        IF NOT EXISTS (SELECT 1 FROM indicina_unload_parts p WHERE p.rows > 0) AND v_meta->'deletes' = '{}' THEN
            RAISE NOTICE 'nothing to unload from %: no row is new, changed or deleted since unload %', target,
                (SELECT max(h.unload_id) FROM indicina.unload_history h WHERE h.target = u.target AND h.server = u.server);
            PERFORM indicina.run_end(u.unload_id, 'finished', '{"nothing_to_ship": true}');
            RETURN;
        END IF;
        u := indicina.unload_deliver(u, iam_role, v_meta->'deletes', (v_meta->>'workers')::int);
        u.finished_at := clock_timestamp();
        INSERT INTO indicina.unload_history SELECT u.*;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
        PERFORM indicina.run_end(u.unload_id, 'failed', jsonb_build_object('message', v_msg, 'sqlstate', v_state));
        RAISE;
    END;
    PERFORM indicina.run_end(u.unload_id, 'finished', jsonb_build_object('delivery', u.delivery));
    RETURN QUERY
    SELECT t->>'name', u.unload_id, (t->>'rows')::bigint, (t->>'parts')::int, coalesce(sum(p.raw_bytes), 0)::bigint,
           coalesce(sum(p.bytes), 0)::bigint, t->>'manifest', round(coalesce(max(p.seconds), 0)::numeric, 3)
      FROM jsonb_array_elements(u.tables) WITH ORDINALITY e(t, i)
      LEFT JOIN indicina_unload_parts p ON p.table_name = t->>'name'
     GROUP BY t, i ORDER BY i;
END;
$$;
COMMENT ON FUNCTION indicina.unload(name, name, text, text[], text, text, int, bigint, text, text, int) IS
    'unloads a warehouse into compressed CSV parts with Redshift manifests, from one snapshot; one row per table shipped';

/*
 * The checks of unload()'s arguments, before anything is recorded, and the
 * ledger row it starts from.
 */
CREATE FUNCTION indicina.unload_begin(target name, server name, prefix text, mode text, compression text,
                                      slices int, max_part_size bigint, url_prefix text)
RETURNS indicina.unload_history
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u indicina.unload_history;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_foreign_server s WHERE s.srvname = server) THEN
        RAISE EXCEPTION 'server "%" does not exist', server USING ERRCODE = 'undefined_object',
            HINT = 'Unloads go to the root of an indicina_csv server: CREATE SERVER lake FOREIGN DATA WRAPPER indicina_csv OPTIONS (root ''/srv/lake'').';
    END IF;
    -- USAGE, and pg_write_server_files but for S3 with the role's own keys
    PERFORM indicina.unload_check_server(server);
    IF mode IS NULL OR mode NOT IN ('full', 'incremental') THEN
        RAISE EXCEPTION 'invalid mode "%"', mode USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Valid values are incremental and full.';
    END IF;
    IF compression IS NULL OR compression NOT IN ('gzip', 'zstd', 'none') THEN
        RAISE EXCEPTION 'invalid compression "%"', compression USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Valid values are gzip, zstd and none.';
    END IF;
    IF slices < 1 OR max_part_size IS NULL OR max_part_size < 1024 THEN
        RAISE EXCEPTION 'slices must be at least 1 and max_part_size at least 1024 bytes'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF coalesce(prefix, target) !~ '^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$' THEN
        RAISE EXCEPTION 'invalid prefix "%"', coalesce(prefix, target) USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'Names under the server''s root are letters, digits, ''_'', ''-'' and ''.'', not starting with ''.'', separated by ''/''.';
    END IF;
    IF url_prefix IS NOT NULL AND url_prefix !~ '^s3://[a-z0-9][a-z0-9.-]*(/|$)' THEN
        RAISE EXCEPTION 'invalid url_prefix "%"', url_prefix USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the S3 location the root will be synced to, such as s3://bucket/prefix/.';
    END IF;
    u.target := target;
    u.server := server;
    u.prefix := coalesce(prefix, target);
    u.mode := mode;
    u.compression := compression;
    u.url_prefix := url_prefix;
    u.started_at := clock_timestamp();
    RETURN u;
END;
$$;
