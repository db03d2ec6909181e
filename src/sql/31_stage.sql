-- 31_stage.sql: what a scan counted and the records written out of
-- transaction, rules judged over a batch, the run journal, stage() and the
-- two ways in: check() (the dry run) and load_checked() (the validated load).

-- ---------------------------------------------------------------------
-- Reading back what scans counted, and writing records out of transaction
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.scan_file_stats(
    OUT scan_id bigint, OUT relation regclass, OUT file text,
    OUT rows_read bigint, OUT rows_rejected bigint, OUT rows_quarantined bigint, OUT rows_warned bigint)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'indicina_scan_file_stats' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION indicina.scan_rule_stats(
    OUT scan_id bigint, OUT relation regclass, OUT rule text, OUT kind text, OUT severity text,
    OUT rows_checked bigint, OUT rows_failed bigint, OUT samples jsonb, OUT phase text)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'indicina_scan_rule_stats' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION indicina.reset_scan_stats() RETURNS void
    AS 'MODULE_PATHNAME', 'indicina_reset_scan_stats' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION indicina.scan_file_stats() IS
    'per file, what the indicina_csv scans of this session read, rejected (rows_quarantined of them by reject rules) and flagged, since reset_scan_stats()';
COMMENT ON FUNCTION indicina.scan_rule_stats() IS
    'per rule judged in a scan (row rules, and set rules stage() armed), what the indicina_csv scans of this session checked and failed (since reset_scan_stats)';
CREATE FUNCTION indicina.arm_set_rules(relation regclass, sources jsonb DEFAULT '{}') RETURNS text[]
    AS 'MODULE_PATHNAME', 'indicina_arm_set_rules' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION indicina.arm_set_rules(regclass, jsonb) IS
    'prepares the set rules of relation to be judged inside its next scan in this transaction (all or none); returns their names';

CREATE FUNCTION indicina.log_reject(scan_id bigint, relation text, file text, line bigint, column_name text,
                                    code text, message text, raw_value text, raw_line text) RETURNS void
    AS 'MODULE_PATHNAME', 'indicina_log_reject' LANGUAGE C VOLATILE;
CREATE FUNCTION indicina.journal_write(kind text, entry jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'indicina_journal_write' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION indicina.journal_read(kind text) RETURNS SETOF jsonb
    AS 'MODULE_PATHNAME', 'indicina_journal_read' LANGUAGE C STRICT VOLATILE;

CREATE SEQUENCE indicina.run_id_seq;
-- the journal outlives the extension: a re-created extension goes on from its last run
SELECT setval('indicina.run_id_seq', max((j->>'run_id')::bigint))
  FROM indicina.journal_read('run') j HAVING max((j->>'run_id')::bigint) > 0;

-- ---------------------------------------------------------------------
-- Evaluating rules over a batch
-- ---------------------------------------------------------------------

-- the column of a foreign table that carries source 'file' (or 'line')
CREATE FUNCTION indicina.lineage_column(relation regclass, source text) RETURNS name
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.attname FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = relation AND a.attnum > 0 AND NOT a.attisdropped
       AND ('source=' || source) = ANY (a.attfdwoptions)
     ORDER BY a.attnum LIMIT 1
$$;

-- every column of a foreign table that carries lineage (source 'file', 'line' or
-- 'byte_offset'): not data, so no part of what duplicate_rows compares
CREATE FUNCTION indicina.lineage_columns(relation regclass) RETURNS name[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(a.attname ORDER BY a.attnum), '{}') FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = relation AND a.attnum > 0 AND NOT a.attisdropped
       AND EXISTS (SELECT 1 FROM unnest(a.attfdwoptions) o WHERE o LIKE 'source=%')
$$;

/*
 * The rows of a table (batch, or relation itself) that fail the row rules
 * of relation, judged by the C code the indicina_csv scan runs
 * (src/quality/rule_verdicts.c): one row per failing row and rule, and
 * whether the scan would record it (a row is quarantined once, under its
 * first reject rule by name, and not also flagged).
 */
CREATE FUNCTION indicina.row_rule_failures(relation regclass, batch regclass DEFAULT NULL)
RETURNS TABLE (row_ctid tid, rule text, value text, detail text, recorded boolean)
    AS 'MODULE_PATHNAME', 'indicina_row_rule_failures' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION indicina.row_rule_failures(regclass, regclass) IS
    'the rows of batch (default: relation) failing the row rules of relation, judged as its indicina_csv scan judges them';

/*
 * What the set-rule queries over a batch build on, for lineage columns
 * file_col and line_col (either may be NULL): the SQL of a row's file and
 * line (a NULL of the type when there is no such column) and of the order
 * the scan reads rows in (files in byte order, then line, then ctid), each
 * qualified with alias (NULL: not qualified).
 */
CREATE FUNCTION indicina.batch_lineage(file_col name, line_col name, alias text,
                                       OUT file_sql text, OUT line_sql text, OUT order_sql text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(q || quote_ident(file_col), 'NULL::text'), coalesce(q || quote_ident(line_col), 'NULL::bigint'),
           concat_ws(', ', q || quote_ident(file_col) || ' COLLATE "C"', q || quote_ident(line_col), q || 'ctid')
      FROM (SELECT coalesce(alias || '.', '') AS q) s
$$;

/*
 * set_rule_failures of a unique rule: every row of the batch whose key an
 * earlier row (files in byte order, then line) already has, and with
 * "against", every row whose key is already in that relation.
 */
CREATE FUNCTION indicina.set_rule_unique_failures(r indicina.quality_rules, batch regclass, file_col name,
                                                  line_col name)
RETURNS TABLE (row_ctid tid, file text, line bigint, value text, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lin record := indicina.batch_lineage(file_col, line_col, 'b');
    keys text := (SELECT string_agg(quote_ident(c), ', ') FROM unnest(r.columns) c);
    b_keys text := (SELECT string_agg('b.' || quote_ident(c), ', ') FROM unnest(r.columns) c);
BEGIN
    -- hash the keys first; only keys seen twice are sorted to find the first
    RETURN QUERY EXECUTE format(
        'WITH dup AS (SELECT %4$s FROM %5$s WHERE (%4$s) IS NOT NULL GROUP BY %4$s HAVING count(*) > 1)
         SELECT ctid, f, l, k, %1$L FROM (
             SELECT b.ctid, %2$s AS f, %3$s AS l, concat_ws('', '', %6$s) AS k,
                    row_number() OVER (PARTITION BY %6$s ORDER BY %7$s) AS rn
               FROM %5$s b JOIN dup USING (%4$s)) s
          WHERE rn > 1',
        'duplicate of an earlier row of this batch', lin.file_sql, lin.line_sql, keys, batch, b_keys, lin.order_sql);
    IF r.params ? 'against' THEN
        RETURN QUERY EXECUTE format(
            'SELECT b.ctid, %1$s, %2$s, concat_ws(%4$L, %3$s), %5$L FROM %6$s b
              WHERE EXISTS (SELECT 1 FROM %7$s t WHERE (%8$s) = (%3$s))',
            lin.file_sql, lin.line_sql, b_keys, ', ',
            'already in ' || (r.params->>'against'), batch, (r.params->>'against')::regclass,
            (SELECT string_agg('t.' || quote_ident(c), ', ') FROM unnest(r.columns) c));
    END IF;
END;
$$;

/*
 * set_rule_failures of a duplicate_rows rule: every row of the batch that
 * repeats an earlier row in every data column, i.e. every column but the
 * lineage columns of the rule's relation (those with a source option, as
 * the scan leaves them out), whatever their names.
 */
CREATE FUNCTION indicina.set_rule_duplicate_failures(r indicina.quality_rules, batch regclass, file_col name,
                                                     line_col name)
RETURNS TABLE (row_ctid tid, file text, line bigint, value text, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lin record := indicina.batch_lineage(file_col, line_col, 'b');
    data_cols text;
    data_list text[];
BEGIN
    -- the columns as a list of names, never a quoted string split again
    data_list := ARRAY(SELECT quote_ident(attname) FROM pg_catalog.pg_attribute
                        WHERE attrelid = batch AND attnum > 0 AND NOT attisdropped
                          AND attname <> ALL (indicina.lineage_columns(r.relation)) ORDER BY attnum);
    data_cols := array_to_string(data_list, ', ');
    -- hash whole rows first; only rows seen twice are sorted
    RETURN QUERY EXECUTE format(
        'WITH dup AS (SELECT %4$s FROM %5$s GROUP BY %4$s HAVING count(*) > 1)
         SELECT ctid, f, l, NULL::text, %1$L FROM (
             SELECT b.ctid, %2$s AS f, %3$s AS l,
                    row_number() OVER (PARTITION BY %6$s ORDER BY %7$s) AS rn
               FROM %5$s b JOIN dup ON (ROW(%6$s))::text = (ROW(%8$s))::text) s
          WHERE rn > 1',
        'exact copy of an earlier row of this batch', lin.file_sql, lin.line_sql, data_cols, batch,
        (SELECT string_agg('b.' || c, ', ') FROM unnest(data_list) c), lin.order_sql,
        (SELECT string_agg('dup.' || c, ', ') FROM unnest(data_list) c));
END;
$$;

/*
 * The rows of a batch that fail a set rule: their ctid, file, line, the
 * offending value and why.  Batches are temporary tables holding the
 * relation's columns; file and line name its lineage columns (or NULL).
 * sources maps a relation (regclass as text) to what a references rule
 * should read instead (the pipeline points raw loans at the known
 * customers).
 */
CREATE FUNCTION indicina.set_rule_failures(r indicina.quality_rules, batch regclass, file_col name, line_col name,
                                           sources jsonb DEFAULT '{}')
RETURNS TABLE (row_ctid tid, file text, line bigint, value text, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lin record := indicina.batch_lineage(file_col, line_col, NULL);
    lin_b record := indicina.batch_lineage(file_col, line_col, 'b');
    ref text;
    refcol text;
    n bigint;
    newest text;
BEGIN
    CASE r.kind
    WHEN 'unique' THEN
        -- a row fails once, even when its key is both repeated and in "against"
        RETURN QUERY SELECT DISTINCT ON (u.row_ctid) u.*
                       FROM indicina.set_rule_unique_failures(r, batch, file_col, line_col) u ORDER BY u.row_ctid;
    WHEN 'duplicate_rows' THEN
        RETURN QUERY SELECT * FROM indicina.set_rule_duplicate_failures(r, batch, file_col, line_col);
    WHEN 'references' THEN
        ref := coalesce(r.params->>'relation', '');
        -- a relation name (regclass), never SQL spliced in
        ref := coalesce((sources->>((ref)::regclass::oid::text))::regclass::text, (ref)::regclass::text);
        refcol := quote_ident(coalesce(r.params->>'column', r.columns[1]));
        -- a foreign table read here is a lookup: it records no rejects of its own
        PERFORM set_config('indicina.dry_run', 'on', true);
        RETURN QUERY EXECUTE format(
            'SELECT b.ctid, %1$s, %2$s, b.%3$s::text, %4$L FROM %5$s b
              WHERE b.%3$s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %6$s t WHERE t.%7$s = b.%3$s)',
            lin_b.file_sql, lin_b.line_sql, quote_ident(r.columns[1]),
            'no matching ' || refcol || ' in ' || (r.params->>'relation'), batch, ref, refcol);
        PERFORM set_config('indicina.dry_run', 'off', true);
    WHEN 'balance_continuity' THEN
        RETURN QUERY EXECUTE format(
            'SELECT ctid, f, l, c::text, format(%1$L, prev, amt, bal, bal - (prev + amt)) FROM (
                 SELECT ctid, %2$s AS f, %3$s AS l, %4$I AS c, %6$I AS amt, %7$I AS bal,
                        lag(%7$I) OVER (PARTITION BY %4$I ORDER BY %5$I, %8$s) AS prev
                   FROM %9$s) s
              WHERE prev IS NOT NULL AND amt IS NOT NULL AND bal IS NOT NULL AND abs(bal - (prev + amt)) > %10$s',
            'previous balance %s + amount %s <> balance %s (gap %s)',
            lin.file_sql, lin.line_sql,
            coalesce(r.params->>'customer', 'customer_id'), coalesce(r.params->>'date', 'transaction_date'),
            coalesce(r.params->>'amount', 'transaction_amount'), coalesce(r.params->>'balance', 'balance'),
            lin.order_sql, batch, coalesce((r.params->>'tolerance')::numeric, 0.005));
    WHEN 'row_count' THEN
        EXECUTE format('SELECT count(*) FROM %s', batch) INTO n;
        IF n < coalesce((r.params->>'min')::bigint, 0) OR n > coalesce((r.params->>'max')::bigint, n) THEN
            RETURN QUERY SELECT NULL::tid, NULL::text, NULL::bigint, n::text,
                format('the batch has %s rows, outside [%s, %s]', n, coalesce(r.params->>'min', '0'),
                       coalesce(r.params->>'max', 'any'));
        END IF;
    WHEN 'freshness' THEN
        EXECUTE format('SELECT max(%I)::text FROM %s', r.columns[1], batch) INTO newest;
        IF newest IS NULL OR newest::date < current_date - (r.params->>'max_age_days')::int THEN
            RETURN QUERY SELECT NULL::tid, NULL::text, NULL::bigint, newest,
                format('newest %s is %s, older than %s days', r.columns[1], coalesce(newest, 'missing'),
                       r.params->>'max_age_days');
        END IF;
    END CASE;
END;
$$;

-- ---------------------------------------------------------------------
-- Runs: started / finished / failed events in the journal
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.run_begin(kind text, args jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run bigint := nextval('indicina.run_id_seq');
BEGIN
    PERFORM indicina.journal_write('run', jsonb_build_object(
        'run_id', v_run, 'event', 'started', 'kind', kind, 'at', clock_timestamp(),
        'xid', pg_current_xact_id()::text, 'pid', pg_backend_pid(), 'user', session_user, 'args', args));
    RETURN v_run;
END;
$$;

CREATE FUNCTION indicina.run_end(run_id bigint, event text, details jsonb DEFAULT '{}') RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT indicina.journal_write('run', jsonb_build_object(
        'run_id', run_id, 'event', event, 'at', clock_timestamp()) || details)
$$;

CREATE VIEW indicina.runs AS
WITH ev AS (SELECT (j->>'run_id')::bigint AS run_id, j FROM indicina.journal_read('run') j),
started AS (SELECT run_id, j FROM ev WHERE j->>'event' = 'started'),
ended AS (SELECT DISTINCT ON (run_id) run_id, j FROM ev WHERE j->>'event' IN ('finished', 'failed')
          ORDER BY run_id)
SELECT s.run_id,
       s.j->>'kind' AS kind,
       CASE WHEN e.j->>'event' = 'failed' THEN 'failed'
            -- an xid past the next one to be assigned: its backend was killed
            -- before its WAL was flushed, and recovery set the counter back
            -- (pg_xact_status would refuse it as "in the future")
            ELSE CASE CASE WHEN (s.j->>'xid')::xid8 >= pg_snapshot_xmax(pg_current_snapshot()) THEN 'aborted'
                           ELSE pg_xact_status((s.j->>'xid')::xid8) END
                 WHEN 'committed' THEN CASE WHEN e.j IS NULL THEN 'unknown' ELSE 'succeeded' END
                 WHEN 'in progress' THEN 'running'
                 WHEN 'aborted' THEN CASE WHEN e.j IS NULL THEN 'aborted' ELSE 'rolled back' END
                 ELSE CASE WHEN e.j IS NULL THEN 'unknown' ELSE 'succeeded' END END
       END AS status,
       (s.j->>'at')::timestamptz AS started_at,
       (e.j->>'at')::timestamptz AS finished_at,
       (e.j->>'at')::timestamptz - (s.j->>'at')::timestamptz AS duration,
       e.j->>'message' AS message,
       e.j->>'sqlstate' AS sqlstate,
       s.j->'args' AS args,
       e.j - '{run_id,event,at,message,sqlstate}'::text[] AS details,
       (s.j->>'pid')::int AS pid,
       s.j->>'user' AS run_by
  FROM started s LEFT JOIN ended e USING (run_id);
COMMENT ON VIEW indicina.runs IS
    'every run (validated loads and pipeline runs) from the journal: failed runs keep their message; '
    'a run whose transaction aborted without one (a killed backend) shows as aborted';

-- ---------------------------------------------------------------------
-- Staging a relation: scan (row rules) + set rules over the batch
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.rule_outcome(severity text, failed bigint, checked bigint, threshold numeric, pct boolean)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN failed = 0 THEN 'pass'
                WHEN severity = 'reject' THEN 'quarantined'
                WHEN severity = 'warn' THEN 'flagged'
                WHEN (pct AND 100.0 * failed / greatest(checked, 1) > threshold) OR (NOT pct AND failed > threshold)
                     THEN 'failed'
                ELSE 'tolerated' END
$$;

-- journals what the scans of this session counted per row rule, then forgets it
CREATE FUNCTION indicina.journal_row_rule_results(run_id bigint) RETURNS SETOF jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    res jsonb;
BEGIN
    FOR res IN
        SELECT jsonb_build_object('run_id', run_id, 'at', clock_timestamp(), 'relation', s.relation::text,
                   'rule', s.rule, 'kind', s.kind, 'severity', s.severity, 'phase', s.phase,
                   'rows_checked', sum(s.rows_checked), 'rows_failed', sum(s.rows_failed),
                   'outcome', indicina.rule_outcome(s.severity, sum(s.rows_failed)::bigint, sum(s.rows_checked)::bigint,
                                                    q.fail_threshold, q.fail_threshold_percent),
                   'samples', (SELECT coalesce(jsonb_agg(x), '[]') FROM (
                                   SELECT x FROM indicina.scan_rule_stats() t, jsonb_array_elements(t.samples) x
                                    WHERE t.relation = s.relation AND t.rule = s.rule LIMIT 5) y))
          FROM indicina.scan_rule_stats() s
          LEFT JOIN indicina.quality_rules q ON q.relation = s.relation AND q.name = s.rule
         GROUP BY s.relation, s.rule, s.kind, s.severity, s.phase, q.fail_threshold, q.fail_threshold_percent
         -- row rules by name, then set rules in the order stage() applies them
         ORDER BY s.relation::text, s.phase,
                  array_position('{duplicate_rows,unique,references,balance_continuity}'::text[], s.kind), s.rule
    LOOP
        IF run_id IS NOT NULL THEN
            PERFORM indicina.journal_write('quality', res);
        END IF;
        RETURN NEXT res;
    END LOOP;
END;
$$;

-- sql with its last @SOURCE@ replaced by source
CREATE FUNCTION indicina.splice_source(sql text, source text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN p = 0 THEN sql
                ELSE left(sql, length(sql) - p - 7) || source || right(sql, p - 1) END
      FROM (SELECT position(reverse('@SOURCE@') IN reverse(sql)) AS p) x
$$;

/*
 * Reads relation (only the given files, when the relation has a file
 * column) into temporary table batch, with its row rules applied by the
 * scan, then applies its set rules to the batch: rows a reject rule
 * fails are recorded in the reject log and deleted from the batch, rows a
 * warn rule fails are flagged, a fail rule past its threshold raises.
 * Each rule's result is returned and, for a run (run_id not NULL and not a
 * dry run), journaled first.
 *
 * load_sql, when given, is a statement that reads "@SOURCE@ b" (an INSERT
 * into the warehouse): it runs over what the rules let through.  Only its
 * last @SOURCE@ is the placeholder, so identifiers quoted before it may
 * hold that text.  When the
 * scan of an indicina_csv table judges every rule of the relation, that is
 * the scan itself and no batch is made; otherwise it reads the batch.  A
 * dry run never runs it.
 */
CREATE FUNCTION indicina.stage(run_id bigint, relation regclass, batch name, dry_run boolean DEFAULT false,
                               files text[] DEFAULT NULL, sources jsonb DEFAULT '{}', load_sql text DEFAULT NULL)
RETURNS SETOF jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- an indicina_csv table judges its rules in the scan; any other relation (file_fdw too) in SQL
    v_foreign  boolean := EXISTS (SELECT 1 FROM pg_foreign_table t
                                    JOIN pg_foreign_server s ON s.oid = t.ftserver
                                    JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                                   WHERE t.ftrelid = relation AND w.fdwname = 'indicina_csv');
    v_journal  boolean := run_id IS NOT NULL AND NOT dry_run;
    v_read     record;
    v_batch    regclass;
BEGIN
    SELECT * INTO v_read FROM indicina.stage_read(relation, batch, dry_run, files, sources, load_sql, v_foreign);
    -- row rules (and armed set rules): counted by the scan of a foreign table, evaluated here for a table
    IF v_foreign THEN
        RETURN QUERY SELECT * FROM indicina.journal_row_rule_results(CASE WHEN v_journal THEN run_id END);
        IF v_read.direct THEN
            RETURN;
        END IF;
    END IF;
    v_batch := format('pg_temp.%I', batch)::regclass;
    IF NOT v_foreign THEN
        RETURN QUERY SELECT * FROM indicina.stage_row_rules(run_id, relation, v_batch, dry_run, v_journal);
    END IF;
    RETURN QUERY SELECT * FROM indicina.stage_set_rules(run_id, relation, v_batch, dry_run, v_journal,
                                                        v_read.in_scan, sources);
    -- what the rules left, into the load's target (a dry run loads nothing)
    IF load_sql IS NOT NULL AND NOT dry_run THEN
        EXECUTE indicina.splice_source(load_sql, v_batch::text);
    END IF;
END;
$$;

/*
 * stage's first step: arms the set rules the scan can judge as the rows
 * stream past (all or none; a references rule's relation is read now, as
 * a lookup with no rejects), then reads the relation once: into the batch,
 * or, when the scan judges every rule, straight into the load (direct).
 */
CREATE FUNCTION indicina.stage_read(relation regclass, batch name, dry_run boolean, files text[], sources jsonb,
                                    load_sql text, foreign_table boolean, OUT in_scan text[], OUT direct boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_file     name := indicina.lineage_column(relation, 'file');
    v_was_dry  text := coalesce(current_setting('indicina.dry_run', true), 'off');
    v_source   text;
BEGIN
    in_scan := '{}';
    IF foreign_table THEN
        PERFORM set_config('indicina.dry_run', 'on', true);
        in_scan := indicina.arm_set_rules(relation, sources);
    END IF;
    direct := load_sql IS NOT NULL AND foreign_table AND NOT dry_run AND NOT EXISTS (
        SELECT 1 FROM indicina.quality_rules q
         WHERE q.relation = stage_read.relation AND q.enabled AND NOT indicina.is_row_rule(q.kind)
           AND q.name <> ALL (in_scan));
    PERFORM indicina.reset_scan_stats();
    IF to_regclass(format('pg_temp.%I', batch)) IS NOT NULL THEN
        EXECUTE format('DROP TABLE pg_temp.%I', batch);
    END IF;
    v_source := format('(SELECT * FROM %s %s)', relation,
                       CASE WHEN files IS NOT NULL AND v_file IS NOT NULL
                            THEN format('WHERE %I = ANY (%L::text[])', v_file, files) ELSE '' END);
    PERFORM set_config('indicina.dry_run', CASE WHEN dry_run THEN 'on' ELSE 'off' END, true);
    IF direct THEN
        EXECUTE indicina.splice_source(load_sql, v_source);
    ELSE
        EXECUTE format('CREATE TEMP TABLE %I AS SELECT * FROM %s b', batch, v_source);
    END IF;
    PERFORM set_config('indicina.dry_run', v_was_dry, true);
END;
$$;

-- the row rules of a relation that is not an indicina_csv table, over its
-- batch: judged by the scan's own code, every rule over every row
CREATE FUNCTION indicina.stage_row_rules(run_id bigint, relation regclass, batch regclass, dry_run boolean,
                                         journal boolean)
RETURNS SETOF jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r          indicina.quality_rules;
    v_checked  bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', batch) INTO v_checked;
    CREATE TEMP TABLE indicina_row_fails ON COMMIT DROP AS
        SELECT * FROM indicina.row_rule_failures(relation, batch);
    FOR r IN SELECT * FROM indicina.quality_rules q
              WHERE q.relation = stage_row_rules.relation AND q.enabled AND indicina.is_row_rule(q.kind)
              ORDER BY q.name LOOP
        CREATE TEMP TABLE indicina_fails ON COMMIT DROP AS
            SELECT f.row_ctid, NULL::text AS file, NULL::bigint AS line, f.value, f.detail, f.recorded
              FROM indicina_row_fails f WHERE f.rule = r.name;
        RETURN NEXT indicina.apply_failures(r, run_id, relation, batch, v_checked, dry_run, journal, 'row');
    END LOOP;
    DROP TABLE indicina_row_fails;
END;
$$;

-- the set rules the scan did not judge, over the batch, in an order where
-- each sees the batch the earlier ones left
CREATE FUNCTION indicina.stage_set_rules(run_id bigint, relation regclass, batch regclass, dry_run boolean,
                                         journal boolean, in_scan text[], sources jsonb)
RETURNS SETOF jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_file     name := indicina.lineage_column(relation, 'file');
    v_line     name := indicina.lineage_column(relation, 'line');
    r          indicina.quality_rules;
    res        jsonb;
    v_checked  bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', batch) INTO v_checked;
    FOR r IN SELECT * FROM indicina.quality_rules q
              WHERE q.relation = stage_set_rules.relation AND q.enabled AND NOT indicina.is_row_rule(q.kind)
                AND q.name <> ALL (in_scan)
              ORDER BY array_position('{duplicate_rows,unique,references,balance_continuity,row_count,freshness}'::text[],
                                      q.kind), q.name LOOP
        CREATE TEMP TABLE indicina_fails ON COMMIT DROP AS
            SELECT *, true AS recorded FROM indicina.set_rule_failures(r, batch, v_file, v_line, sources);
        res := indicina.apply_failures(r, run_id, relation, batch, v_checked, dry_run, journal, 'set');
        IF r.severity = 'reject' THEN
            v_checked := v_checked - (res->>'rows_failed')::bigint;   -- what the next rule sees
        END IF;
        RETURN NEXT res;
    END LOOP;
END;
$$;

/*
 * Acts on the failures of one rule (in temp table indicina_fails): counts
 * them all, records those marked recorded (a row that a row rule judged
 * is recorded once, as in the scan), deletes rejected rows from the batch,
 * journals the result, raises for a fail rule past its threshold.  Returns
 * the result.
 */
CREATE FUNCTION indicina.apply_failures(r indicina.quality_rules, run_id bigint, relation regclass, batch regclass,
                                        checked bigint, dry_run boolean, journal boolean, phase text)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_failed  bigint;
    v_outcome text;
    v_samples jsonb;
    v_code    text := CASE WHEN r.severity = 'reject' THEN 'RULE:' ELSE 'WARN:' END || r.name;
    res       jsonb;
BEGIN
    SELECT count(*), coalesce(jsonb_agg(jsonb_build_object('file', file, 'line', line, 'value', value, 'detail', detail))
                              FILTER (WHERE n <= 5), '[]')
      INTO v_failed, v_samples
      FROM (SELECT f.*, row_number() OVER (ORDER BY file COLLATE "C", line, row_ctid) AS n FROM indicina_fails f) s;
    v_outcome := indicina.rule_outcome(r.severity, v_failed, checked, r.fail_threshold, r.fail_threshold_percent);
    IF v_failed > 0 AND NOT dry_run THEN
        EXECUTE format('SELECT count(indicina.log_reject(NULL, %L, f.file, f.line, %L, %L, f.detail, f.value, b::text))
                          FROM indicina_fails f LEFT JOIN %s b ON b.ctid = f.row_ctid WHERE f.recorded',
                       relation::oid, r.columns[1], v_code, batch);
    END IF;
    IF v_failed > 0 AND r.severity = 'reject' THEN
        EXECUTE format('DELETE FROM %s WHERE ctid IN (SELECT row_ctid FROM indicina_fails)', batch);
    ELSIF v_failed > 0 AND phase = 'set' THEN
        -- rows a set rule flagged, for the per-file count of flagged rows
        IF to_regclass('pg_temp.indicina_set_flags') IS NULL THEN
            CREATE TEMP TABLE indicina_set_flags (relation regclass, file text, line bigint) ON COMMIT DROP;
        END IF;
        INSERT INTO indicina_set_flags SELECT relation, f.file, f.line FROM indicina_fails f WHERE f.line IS NOT NULL;
    END IF;
    DROP TABLE indicina_fails;
    res := jsonb_build_object('run_id', run_id, 'at', clock_timestamp(), 'relation', relation::text, 'rule', r.name,
                              'kind', r.kind, 'severity', r.severity, 'phase', phase, 'rows_checked', checked,
                              'rows_failed', v_failed, 'outcome', v_outcome, 'samples', v_samples);
    IF journal THEN
        PERFORM indicina.journal_write('quality', res);
    END IF;
    IF v_outcome = 'failed' AND NOT dry_run AND r.kind IN ('row_count', 'freshness') THEN
        RAISE EXCEPTION 'quality rule "%" failed on %: %', r.name, relation, v_samples->0->>'detail'
            USING ERRCODE = 'check_violation',
                  HINT = 'Rules of severity fail stop the run; fix the data or change the rule.';
    ELSIF v_outcome = 'failed' AND NOT dry_run THEN
        RAISE EXCEPTION 'quality rule "%" failed on % of % rows of %, above its threshold %',
                        r.name, v_failed, checked, relation,
                        r.fail_threshold::text || CASE WHEN r.fail_threshold_percent THEN '%' ELSE '' END
            USING ERRCODE = 'check_violation',
                  -- the rows' values stay out of the server log unless asked for
                  DETAIL = 'Failing rows: ' || CASE WHEN current_setting('indicina.log_raw_rows', true) = 'on'
                      THEN v_samples
                      ELSE (SELECT coalesce(jsonb_agg(s - '{value,detail}'::text[]), '[]') FROM jsonb_array_elements(v_samples) s)
                      END::text,
                  HINT = 'Rules of severity fail stop the run; fix the data or change the rule''s threshold.';
    END IF;
    RETURN res;
END;
$$;

-- ---------------------------------------------------------------------
-- The dry run, the validated load, re-checking quarantined rows
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.check(relation regclass)
RETURNS TABLE (rule text, kind text, severity text, rows_checked bigint, rows_failed bigint, outcome text, samples jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_read bigint;
    v_parse bigint;
    res jsonb;
    v_results jsonb[] := '{}';
BEGIN
    FOR res IN SELECT * FROM indicina.stage(NULL, relation, 'indicina_check_batch', true) LOOP
        v_results := v_results || res;
    END LOOP;
    DROP TABLE pg_temp.indicina_check_batch;
    -- a foreign table: first, what the parser would turn away
    SELECT sum(s.rows_read), sum(s.rows_rejected - s.rows_quarantined) INTO v_read, v_parse
      FROM indicina.scan_file_stats() s WHERE s.relation = $1;
    IF v_read IS NOT NULL THEN
        RETURN QUERY SELECT '(parse)'::text, 'parse'::text, 'reject'::text, v_read, v_parse,
                            CASE WHEN v_parse = 0 THEN 'pass' ELSE 'quarantined' END, '[]'::jsonb;
    END IF;
    RETURN QUERY SELECT x->>'rule', x->>'kind', x->>'severity', (x->>'rows_checked')::bigint,
                        (x->>'rows_failed')::bigint, x->>'outcome', x->'samples'
                   FROM unnest(v_results) x;
END;
$$;
COMMENT ON FUNCTION indicina.check(regclass) IS
    'dry run: every rule of relation over its current data, what would fail; loads and records nothing';

/*
 * A validated load outside the warehouse: reads relation with all its
 * rules and appends the rows that pass to target (columns matched by
 * name), as one run with its results in the history.
 */
CREATE FUNCTION indicina.load_checked(relation regclass, target regclass)
RETURNS TABLE (run_id bigint, rows_read bigint, rows_loaded bigint, rows_rejected bigint, rows_flagged bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run bigint;
    v_cols text;
    v_read bigint;
    v_loaded bigint;
    v_flagged bigint;
    v_msg text;
    v_state text;
    v_rel regclass := relation;
BEGIN
    v_run := indicina.run_begin('load', jsonb_build_object('relation', relation::text, 'target', target::text));
    BEGIN
        PERFORM count(*) FROM indicina.stage(v_run, relation, 'indicina_load_batch');
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_cols
          FROM pg_attribute a
         WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
           AND EXISTS (SELECT 1 FROM pg_attribute b WHERE b.attrelid = 'pg_temp.indicina_load_batch'::regclass
                          AND b.attname = a.attname AND NOT b.attisdropped);
        EXECUTE format('INSERT INTO %s (%s) SELECT %2$s FROM pg_temp.indicina_load_batch', target, v_cols);
        GET DIAGNOSTICS v_loaded = ROW_COUNT;
        DROP TABLE pg_temp.indicina_load_batch;
        SELECT sum(s.rows_read), sum(s.rows_warned) INTO v_read, v_flagged
          FROM indicina.scan_file_stats() s WHERE s.relation = v_rel;
        IF v_read IS NULL THEN      -- a table: every row was read
            EXECUTE format('SELECT count(*) FROM %s', relation) INTO v_read;
        END IF;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
        PERFORM indicina.journal_failed_run(v_run, v_rel, v_msg, v_state);
        RAISE;
    END;
    PERFORM indicina.run_end(v_run, 'finished', jsonb_build_object(
        'rows_read', v_read, 'rows_loaded', v_loaded, 'rows_rejected', v_read - v_loaded));
    RETURN QUERY SELECT v_run, v_read, v_loaded, v_read - v_loaded, coalesce(v_flagged, 0);
END;
$$;
COMMENT ON FUNCTION indicina.load_checked(regclass, regclass) IS
    'validated load: the rows of relation that pass its rules, appended to target, as a run with quality results';

-- a failed run: the row-rule counts its scan left, then the failure itself
CREATE FUNCTION indicina.journal_failed_run(run_id bigint, relation regclass, message text, sqlstate text,
                                            details jsonb DEFAULT '{}')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM indicina.journal_read('quality') j
                    WHERE (j->>'run_id')::bigint = run_id AND j->>'phase' = 'row'
                      AND j->>'relation' = relation::text) THEN
        PERFORM count(*) FROM indicina.journal_row_rule_results(run_id);
    END IF;
    PERFORM indicina.run_end(run_id, 'failed', details || jsonb_build_object('message', message, 'sqlstate', sqlstate));
END;
$$;
