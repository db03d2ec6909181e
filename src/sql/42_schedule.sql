-- 42_schedule.sql: the nightly run on a pg_cron schedule, and quarantined
-- rows sent back through it.

-- ---------------------------------------------------------------------
-- Scheduling with pg_cron
-- ---------------------------------------------------------------------

/*
 * Registers (or updates) the pg_cron job job_name: the pipeline on a cron
 * schedule and, with unload_to (a server of the wrapper), an incremental
 * unload after the run has committed (run_and_unload).
 */
CREATE FUNCTION indicina.schedule_pipeline(schedule text, loans regclass, transactions regclass,
                                           target name DEFAULT 'dw', job_name text DEFAULT 'indicina_pipeline',
                                           unload_to name DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_job bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database'
            USING ERRCODE = 'undefined_object',
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, '
                      || 'restart, then CREATE EXTENSION pg_cron.';
    END IF;
    IF unload_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_foreign_server s WHERE s.srvname = unload_to) THEN
        RAISE EXCEPTION 'server "%" does not exist', unload_to USING ERRCODE = 'undefined_object',
            HINT = 'Unloads go to the root of an indicina_csv server: CREATE SERVER lake FOREIGN DATA WRAPPER indicina_csv OPTIONS (root ''/srv/lake'').';
    END IF;
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO v_job USING job_name, schedule,
        CASE WHEN unload_to IS NULL
             THEN format('SELECT count(*) FROM indicina.run_pipeline(%L, %L, %L, wait => true)',
                         indicina.qualified_name(loans), indicina.qualified_name(transactions), target)
             ELSE format('CALL indicina.run_and_unload(%L, %L, %L, %L)',
                         indicina.qualified_name(loans), indicina.qualified_name(transactions), target, unload_to) END;
    RETURN v_job;
END;
$$;
COMMENT ON FUNCTION indicina.schedule_pipeline(text, regclass, regclass, name, text, name) IS
    'registers (or updates) a named pg_cron job that runs the pipeline on a cron schedule, and then unloads (unload_to)';

/*
 * What a job scheduled with unload_to runs: the pipeline (waiting for
 * another run), COMMIT, then an incremental unload of target to unload_to
 * in a transaction of its own.  A failed unload fails the job and leaves
 * the load committed; it sets no baseline, so the next incremental unload
 * ships what it missed.  A procedure, for the COMMIT: so it takes no SET
 * clause and names everything with its schema.
 */
CREATE PROCEDURE indicina.run_and_unload(loans regclass, transactions regclass, target name, unload_to name)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.count(*) FROM indicina.run_pipeline(loans, transactions, target, wait => true);
    COMMIT;
    PERFORM pg_catalog.count(*) FROM indicina.unload(target, unload_to);
END;
$$;
COMMENT ON PROCEDURE indicina.run_and_unload(regclass, regclass, name, name) IS
    'the pipeline, committed, then an incremental unload in its own transaction (what schedule_pipeline(..., unload_to) runs)';

CREATE FUNCTION indicina.unschedule_pipeline(job_name text DEFAULT 'indicina_pipeline') RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_done boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE 'SELECT cron.unschedule($1)' INTO v_done USING job_name;
    RETURN v_done;
END;
$$;

/*
 * After a rule or a label mapping is fixed: re-checks (dry run, today's
 * rules) the rows the warehouse's last load of each file of relation
 * quarantined, and marks every file with a row that would now load as
 * 'requeued' in the ledger, so the next run reloads it (replacing what its
 * earlier load put in the facts).  Returns, per file, how many rows were
 * quarantined and how many would load now.
 */
CREATE FUNCTION indicina.requeue_quarantined(relation regclass, target name DEFAULT 'dw')
RETURNS TABLE (file text, quarantined bigint, loads_now bigint, requeued boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    PERFORM indicina.drop_temp('{indicina_requeue}');
    -- what the last load of each file turned away
    EXECUTE format($q$
        CREATE TEMP TABLE indicina_requeue ON COMMIT DROP AS
        SELECT DISTINCT e.file, e.line, l.source, NULL::boolean AS loads_now
          FROM %I.file_ledger l
          JOIN indicina.load_errors e ON e.relation_id = $1 AND e.file = l.path AND e.logged_at >= l.loaded_at
         WHERE l.status = 'loaded' AND l.path IN (SELECT s.file FROM indicina.source_files($2, false) s)$q$, target)
        USING relation, relation;
    PERFORM indicina.recheck_rows(relation, 'indicina_requeue');
    CREATE TEMP TABLE indicina_requeue_verdict ON COMMIT DROP AS
        SELECT q.file, count(*) AS quarantined, count(*) FILTER (WHERE q.loads_now) AS loads_now
          FROM indicina_requeue q GROUP BY q.file;
    EXECUTE format($q$
        UPDATE %I.file_ledger l SET status = 'requeued'
          FROM indicina_requeue_verdict v WHERE l.path = v.file AND v.loads_now > 0$q$, target);
    RETURN QUERY SELECT v.file, v.quarantined, v.loads_now, v.loads_now > 0 FROM indicina_requeue_verdict v ORDER BY v.file;
    DROP TABLE indicina_requeue_verdict;
END;
$$;
COMMENT ON FUNCTION indicina.requeue_quarantined(regclass, name) IS
    'after a fix: re-checks the quarantined rows of the last loads and requeues the files with rows that would now load';
