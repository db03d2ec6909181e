-- 41_pipeline.sql: the nightly run, step by step, and its file ledger.

-- ---------------------------------------------------------------------
-- The run
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.pipeline_step(steps jsonb, step text, started timestamptz, counts jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'indicina pipeline: % (% ms) %', step,
        round(extract(epoch FROM clock_timestamp() - started) * 1000), CASE WHEN counts = '{}' THEN '' ELSE counts::text END;
    RETURN steps || jsonb_build_array(jsonb_build_object(
        'step', step, 'ms', round(extract(epoch FROM clock_timestamp() - started) * 1000)) || counts);
END;
$$;

/*
 * Which files of a source to load: fingerprints every file the relation
 * reads (hashing only those whose name, size and modification time, and
 * for an S3 object its ETag, the ledger has not seen), then sorts them into new, replaced (same name, new
 * content), duplicate (content already loaded under another name) and
 * unchanged.  Leaves them in temp table indicina_files_<source>.
 */
CREATE FUNCTION indicina.plan_files(target name, source text, relation regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tbl text := 'indicina_files_' || source;
    unseen text[];
BEGIN
    PERFORM indicina.drop_temp(ARRAY[tbl]);
    EXECUTE format('CREATE TEMP TABLE %I ON COMMIT DROP AS
        SELECT f.file, f.size, f.modified, f.etag, l.content_hash AS known_hash, l.status AS ledger_status,
               l.size = f.size AND l.modified = f.modified AND l.etag IS NOT DISTINCT FROM f.etag
               AND l.status <> %L AS unchanged
          FROM indicina.source_files(%L, false) f
          LEFT JOIN %I.file_ledger l ON l.source = %L AND l.path = f.file', tbl, 'requeued', relation, target, source);
    EXECUTE format('SELECT array_agg(file) FROM pg_temp.%I WHERE unchanged IS NOT TRUE', tbl) INTO unseen;
    EXECUTE format('ALTER TABLE pg_temp.%I ADD COLUMN sha256 text, ADD COLUMN action text, ADD COLUMN duplicate_of text', tbl);
    EXECUTE format('UPDATE pg_temp.%I f SET sha256 = coalesce(h.sha256, f.known_hash)
                      FROM (SELECT s.file, s.sha256 FROM indicina.source_files(%L, true, %L) s) h
                     WHERE h.file = f.file', tbl, relation, coalesce(unseen, '{}'));
    -- new content under a known name replaces; content loaded under another name is a re-delivery
    EXECUTE format($q$
        UPDATE pg_temp.%1$I f SET
            duplicate_of = (SELECT l.path FROM %2$I.file_ledger l
                             WHERE l.source = %3$L AND l.content_hash = f.sha256 AND l.path <> f.file
                               AND l.status = 'loaded' LIMIT 1),
            action = CASE
                WHEN f.unchanged THEN 'unchanged'
                WHEN f.known_hash = f.sha256 AND f.ledger_status = 'loaded' THEN 'unchanged'
                WHEN f.ledger_status = 'requeued' THEN 'replace'
                WHEN f.known_hash IS NOT NULL AND f.known_hash <> f.sha256 THEN 'replace'
                ELSE 'new' END$q$, tbl, target, source);
    EXECUTE format($q$
        UPDATE pg_temp.%1$I f SET action = 'duplicate'
         WHERE f.action = 'new' AND f.duplicate_of IS NOT NULL$q$, tbl);
    -- two files of one delivery with the same content: the first by name loads
    EXECUTE format($q$
        UPDATE pg_temp.%1$I f SET action = 'duplicate', duplicate_of = g.file
          FROM pg_temp.%1$I g
         WHERE f.action IN ('new', 'replace') AND g.action IN ('new', 'replace')
           AND g.sha256 = f.sha256 AND g.file < f.file$q$, tbl);
END;
$$;

/*
 * The steps of a run, one function each, in the order run_pipeline calls
 * them (the names it reports are in docs/pipeline.md).  Every step is given
 * the run (a pipeline_run: its id, the warehouse, the two foreign tables and
 * their lineage columns) and, as arguments, what an earlier step found; it
 * returns what a later one needs.  The rows between steps are in the run's
 * temporary tables (dropped at commit), named in each step's comment.  A
 * test may call the steps on their own, in this order, after
 * pipeline_begin.
 */
CREATE TYPE indicina.pipeline_run AS (
    run_id bigint, target name, loans regclass, transactions regclass,
    loan_file name, loan_line name, txn_file name, txn_line name);

/*
 * Records in the warehouse's deleted_rows that run r deleted every row of
 * table whose column equals one of values (an incremental unload ships the
 * deletion; docs/unload.md).
 */
CREATE FUNCTION indicina.record_deleted(r indicina.pipeline_run, table_name text, column_name text, vals text[])
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('INSERT INTO %I.deleted_rows (run_id, table_name, match)
                    SELECT $1, $2, jsonb_build_object($3, v) FROM unnest($4) v', r.target)
        USING r.run_id, table_name, column_name, vals;
END;
$$;

/*
 * Before any step: refuses a run without lineage columns or warehouse, takes
 * the warehouse's run lock (waits, or refuses when another run holds it),
 * opens the run in the journal and creates the run's two collectors:
 * indicina_set_flags (the rows a set rule warned about, for the ledger) and
 * indicina_touched (the customers whose risk features change).
 */
CREATE FUNCTION indicina.pipeline_begin(loans regclass, transactions regclass, target name, wait boolean)
RETURNS indicina.pipeline_run
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r      indicina.pipeline_run;
    v_lock bigint := hashtext('indicina.run_pipeline:' || target);
BEGIN
    r.target := target;
    r.loans := loans;
    r.transactions := transactions;
    r.loan_file := indicina.lineage_column(loans, 'file');
    r.loan_line := indicina.lineage_column(loans, 'line');
    r.txn_file := indicina.lineage_column(transactions, 'file');
    r.txn_line := indicina.lineage_column(transactions, 'line');
    IF r.loan_file IS NULL OR r.loan_line IS NULL OR r.txn_file IS NULL OR r.txn_line IS NULL THEN
        RAISE EXCEPTION 'run_pipeline needs lineage columns on % and %', loans, transactions
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Add columns with OPTIONS (source ''file'') and (source ''line'') to both foreign tables.';
    END IF;
    IF to_regclass(format('%I.file_ledger', target)) IS NULL THEN
        RAISE EXCEPTION 'warehouse % does not exist', target
            USING ERRCODE = 'undefined_object', HINT = format('SELECT indicina.create_warehouse(%L);', target);
    END IF;
    IF to_regclass(format('%I.deleted_rows', target)) IS NULL THEN
        RAISE EXCEPTION 'warehouse % was made by an earlier version of indicina', target
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'It has no change tracking (changed_run, deleted_rows), which every run keeps up.',
                  HINT = format('SELECT indicina.create_warehouse(%L); adds what is missing.', target);
    END IF;
    -- one run per warehouse at a time: the second waits (wait => true) or refuses
    IF wait THEN
        PERFORM pg_advisory_xact_lock(v_lock);
    ELSIF NOT pg_try_advisory_xact_lock(v_lock) THEN
        RAISE EXCEPTION 'another pipeline run into % is in progress', target
            USING ERRCODE = 'lock_not_available',
                  HINT = 'Wait for it (see indicina.pipeline_runs), or pass wait => true to queue behind it.';
    END IF;

    r.run_id := indicina.run_begin('pipeline', jsonb_build_object(
        'loans', loans::text, 'transactions', transactions::text, 'target', target));
    PERFORM indicina.drop_temp('{indicina_touched,indicina_affected,indicina_versions,indicina_loan_scan,indicina_txn_scan,'
                               'indicina_batch_loans,indicina_batch_txns,indicina_known_customers,indicina_set_flags,'
                               'indicina_narrations}');
    CREATE TEMP TABLE indicina_set_flags (relation regclass, file text, line bigint) ON COMMIT DROP;
    -- the customers whose features change, gathered from several steps
    -- (duplicates and all: no index to keep up), once each at the end
    CREATE TEMP TABLE indicina_touched (customer_id text COLLATE "C") ON COMMIT DROP;
    RETURN r;
END;
$$;

/*
 * Step "plan files": attaches the default rules and sorts every file of
 * both sources into new, replace, duplicate and unchanged (plan_files, into
 * indicina_files_loans and indicina_files_transactions).  Returns the files
 * to read of each source, in name order (NULL for none).
 */
CREATE FUNCTION indicina.pipeline_plan_files(r indicina.pipeline_run,
    OUT loan_files text[], OUT txn_files text[], OUT counts jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM count(*) FROM indicina.attach_default_rules(r.loans, r.transactions);
    PERFORM indicina.plan_files(r.target, 'loans', r.loans);
    PERFORM indicina.plan_files(r.target, 'transactions', r.transactions);
    SELECT array_agg(f.file ORDER BY f.file) FILTER (WHERE f.action IN ('new', 'replace')) INTO loan_files
      FROM pg_temp.indicina_files_loans f;
    SELECT array_agg(f.file ORDER BY f.file) FILTER (WHERE f.action IN ('new', 'replace')) INTO txn_files
      FROM pg_temp.indicina_files_transactions f;
    counts := jsonb_build_object(
        'loan_files', coalesce(cardinality(loan_files), 0), 'transaction_files', coalesce(cardinality(txn_files), 0),
        'duplicates', (SELECT count(*) FROM pg_temp.indicina_files_loans WHERE action = 'duplicate')
                    + (SELECT count(*) FROM pg_temp.indicina_files_transactions WHERE action = 'duplicate'));
END;
$$;

/*
 * Step "replace corrected files": deletes the fact rows the earlier version
 * of each replaced file loaded, and records the deletion by lineage (every
 * row of the file) in deleted_rows; the customers of the deleted
 * applications and transactions go to indicina_touched.  Returns the
 * replaced statement files ('{}' when only loans files were replaced, NULL
 * when no file was) and the date span of the transactions deleted.
 */
CREATE FUNCTION indicina.pipeline_replace_corrected_files(r indicina.pipeline_run,
    OUT replaced text[], OUT deleted_from date, OUT deleted_to date)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_loans text[];
BEGIN
    SELECT array_agg(f.file) INTO v_loans FROM pg_temp.indicina_files_loans f WHERE f.action = 'replace';
    IF v_loans IS NOT NULL THEN
        -- their customers' latest application may be gone: their features are recomputed
        EXECUTE format('WITH d AS (DELETE FROM %I.fact_loan_application WHERE source_file = ANY ($1)
                                   RETURNING customer_id)
                        INSERT INTO indicina_touched SELECT DISTINCT customer_id FROM d', r.target) USING v_loans;
        PERFORM indicina.record_deleted(r, 'fact_loan_application', 'source_file', v_loans);
    END IF;
    SELECT array_agg(f.file) INTO replaced FROM pg_temp.indicina_files_transactions f WHERE f.action = 'replace';
    IF replaced IS NULL AND v_loans IS NOT NULL THEN
        replaced := '{}';
    END IF;
    IF replaced IS NOT NULL THEN
        EXECUTE format('WITH d AS (DELETE FROM %I.fact_bank_transaction WHERE source_file = ANY ($1)
                                   RETURNING customer_id, transaction_date),
                             a AS (INSERT INTO indicina_touched SELECT DISTINCT customer_id FROM d)
                        SELECT min(transaction_date), max(transaction_date) FROM d',
                       r.target) USING replaced INTO deleted_from, deleted_to;
        PERFORM indicina.record_deleted(r, 'fact_bank_transaction', 'source_file', replaced);
    END IF;
END;
$$;

/*
 * Step "nothing new", instead of all the others when no file is new or
 * replaced: the ledger remembers the re-deliveries and the new stamps of
 * touched files.  Reads no data.
 */
CREATE FUNCTION indicina.pipeline_nothing_new(r indicina.pipeline_run) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM indicina.record_ledger_stamps(r.target);
    PERFORM indicina.record_ledger(r.target, r.run_id, 'loans', r.loans, NULL, NULL, r.loan_file);
    PERFORM indicina.record_ledger(r.target, r.run_id, 'transactions', r.transactions, NULL, NULL, r.txn_file);
END;
$$;

/*
 * Step "stage loans": the new and replaced loans files through their row
 * and set rules into temp table indicina_batch_loans; the scan's per-file
 * counts into indicina_loan_scan (for the ledger).
 */
CREATE FUNCTION indicina.pipeline_stage_loans(r indicina.pipeline_run, loan_files text[]) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM count(*) FROM indicina.stage(r.run_id, r.loans, 'indicina_batch_loans', false, coalesce(loan_files, '{}'));
    CREATE TEMP TABLE indicina_loan_scan ON COMMIT DROP AS SELECT * FROM indicina.scan_file_stats();
    RETURN jsonb_build_object('rows', (SELECT count(*) FROM indicina_batch_loans));
END;
$$;

/*
 * Step "dimensions", before the transactions load: a first pass over the
 * new statement files (a survey: the date and narration converted, no rule
 * judged, nothing recorded) finds their narrations and date span; then the
 * dates of the span of both sources, the fact's monthly partitions, the new
 * narrations, and the customer versions (pipeline_customer_versions).
 * Returns the date span of the statement files read.
 */
CREATE FUNCTION indicina.pipeline_dimensions(r indicina.pipeline_run, txn_files text[],
    OUT txn_from date, OUT txn_to date, OUT counts jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_min date;
    v_max date;
BEGIN
    PERFORM set_config('indicina.survey', 'on', true);
    EXECUTE format('CREATE TEMP TABLE indicina_narrations ON COMMIT DROP AS
                        SELECT narration, min(transaction_date) AS first, max(transaction_date) AS last
                          FROM %s WHERE %I = ANY (%L::text[]) GROUP BY narration',
                   r.transactions, r.txn_file, coalesce(txn_files, '{}'));
    PERFORM set_config('indicina.survey', 'off', true);
    SELECT min(n.first), max(n.last) INTO txn_from, txn_to FROM indicina_narrations n;
    SELECT least(min(b.loan_application_date), txn_from), greatest(max(b.loan_application_date), txn_to)
      INTO v_min, v_max FROM indicina_batch_loans b;
    IF v_min IS NOT NULL THEN
        EXECUTE format($q$
            INSERT INTO %I.dim_date
            SELECT indicina.date_key(d::date), d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d),
                   to_char(d, 'FMMonth'), extract(isodow FROM d), to_char(d, 'FMDay'), extract(isodow FROM d) >= 6
              FROM generate_series($1::date, $2::date, interval '1 day') g(d)
            ON CONFLICT (date_key) DO NOTHING$q$, r.target) USING v_min, v_max;
    END IF;
    PERFORM indicina.ensure_month_partitions(r.target, txn_from, txn_to);
    EXECUTE format($q$
        INSERT INTO %I.dim_transaction_category (narration, category_group, direction)
        SELECT narration, 'other', 'both' FROM indicina_narrations WHERE narration IS NOT NULL
        ON CONFLICT (narration) DO NOTHING$q$, r.target);
    DROP TABLE indicina_narrations;
    counts := jsonb_build_object('customer_versions', indicina.pipeline_customer_versions(r));
END;
$$;

/*
 * Part of "dimensions": customer versions (SCD type 2) from the staged
 * applications, a new version when employment status or income changes, in
 * application order.  The new versions stay in temp table indicina_versions
 * (loan facts re-points from them).  Returns how many were inserted.
 */
CREATE FUNCTION indicina.pipeline_customer_versions(r indicina.pipeline_run) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_n bigint;
BEGIN
    EXECUTE format($q$
        CREATE TEMP TABLE indicina_versions ON COMMIT DROP AS
        WITH ordered AS (
            SELECT b.customer_id, b.employment_status, b.annual_income, b.loan_application_date AS d,
                   b.%2$I AS source_file, b.%3$I AS source_line,
                   lag(b.employment_status) OVER w AS prev_status, lag(b.annual_income) OVER w AS prev_income,
                   row_number() OVER w AS rn
              FROM indicina_batch_loans b
            WINDOW w AS (PARTITION BY b.customer_id ORDER BY b.loan_application_date, b.%2$I COLLATE "C", b.%3$I))
        SELECT o.* FROM ordered o
          LEFT JOIN %1$I.dim_customer c ON c.customer_id = o.customer_id AND c.is_current
         WHERE (o.rn = 1 AND (c.customer_key IS NULL OR (c.employment_status, c.annual_income)
                              IS DISTINCT FROM (o.employment_status, o.annual_income)))
            OR (o.rn > 1 AND (o.employment_status, o.annual_income) IS DISTINCT FROM (o.prev_status, o.prev_income))$q$,
        r.target, r.loan_file, r.loan_line);
    EXECUTE format($q$
        UPDATE %I.dim_customer c SET is_current = false, changed_run = $1,
               valid_to = greatest(c.valid_from, (SELECT min(v.d) FROM indicina_versions v WHERE v.customer_id = c.customer_id))
         WHERE c.is_current AND c.customer_key <> 0
           AND c.customer_id IN (SELECT customer_id FROM indicina_versions)$q$, r.target) USING r.run_id;
    EXECUTE format($q$
        INSERT INTO %I.dim_customer (customer_id, employment_status, annual_income, valid_from, valid_to, is_current,
                                     run_id, source_file, source_line, changed_run)
        SELECT customer_id, employment_status, annual_income, coalesce(d, '-infinity'),
               lead(d) OVER w, lead(d) OVER w IS NULL AND row_number() OVER w2 = 1, $1, source_file, source_line, $1
          FROM indicina_versions
        WINDOW w AS (PARTITION BY customer_id ORDER BY d, source_file COLLATE "C", source_line),
               w2 AS (PARTITION BY customer_id ORDER BY d DESC, source_file COLLATE "C" DESC, source_line DESC)$q$, r.target)
        USING r.run_id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END;
$$;

/*
 * Between "dimensions" and "loan facts": every version of every customer,
 * armed for this transaction as lookup indicina_customer (src/warehouse/key_lookup.c),
 * so that each application and transaction gets the version valid at its
 * date.  Returns the number of customers.
 */
CREATE FUNCTION indicina.pipeline_arm_customers(r indicina.pipeline_run) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN indicina.arm_key_lookup('indicina_customer', format(
        'SELECT customer_id::text, customer_key, valid_from, valid_to FROM %I.dim_customer WHERE customer_key <> 0',
        r.target));
END;
$$;

/*
 * Step "loan facts" (needs pipeline_arm_customers): the staged applications
 * with lineage, each with the customer version valid at its date; the
 * transactions that waited on the unknown member get their customer; and
 * when a customer known before got new versions (indicina_versions), the
 * transactions already loaded from the first new version's date on (from
 * the beginning when it starts no later than every earlier version, as the
 * dates before it then take it too) point at the version now valid at
 * their date.
 */
CREATE FUNCTION indicina.pipeline_loan_facts(r indicina.pipeline_run) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_counts  jsonb;
    v_n       bigint;
    v_from    date;
BEGIN
    EXECUTE format($q$
        INSERT INTO %1$I.fact_loan_application
        SELECT b.application_id,
               coalesce(indicina.key_lookup_at('indicina_customer', b.customer_id, b.loan_application_date), 0),
               b.customer_id, indicina.date_key(b.loan_application_date),
               b.loan_application_date, b.loan_amount, b.credit_score, b.annual_income, b.employment_status,
               round(b.loan_amount / nullif(b.annual_income, 0), 4), $1, b.%2$I, b.%3$I, $1
          FROM indicina_batch_loans b$q$,
        r.target, r.loan_file, r.loan_line) USING r.run_id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := jsonb_build_object('loans_loaded', v_n);
    EXECUTE format($q$
        UPDATE %1$I.fact_bank_transaction f
           SET customer_key = indicina.key_lookup_at('indicina_customer', f.customer_id, f.transaction_date),
               changed_run = $1
         WHERE f.customer_key = 0 AND f.customer_id IN (SELECT customer_id FROM indicina_batch_loans)
           AND indicina.key_lookup_at('indicina_customer', f.customer_id, f.transaction_date) IS NOT NULL$q$, r.target)
        USING r.run_id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('late_transactions_attached', v_n);
    EXECUTE format($q$
        SELECT min(CASE WHEN v.first <= o.first THEN '-infinity'::date ELSE v.first END)
          FROM (SELECT customer_id, min(coalesce(d, '-infinity')) AS first FROM indicina_versions GROUP BY 1) v
          JOIN (SELECT customer_id, min(valid_from) AS first FROM %I.dim_customer
                 WHERE customer_key <> 0 AND run_id IS DISTINCT FROM $1 GROUP BY 1) o USING (customer_id)$q$, r.target)
        USING r.run_id INTO v_from;
    v_n := 0;
    IF v_from IS NOT NULL THEN
        EXECUTE format($q$
            UPDATE %1$I.fact_bank_transaction f
               SET customer_key = indicina.key_lookup_at('indicina_customer', f.customer_id, f.transaction_date),
                   changed_run = $2
             WHERE f.transaction_date >= $1 AND f.customer_key <> 0
               AND f.customer_id IN (SELECT customer_id FROM indicina_versions)
               AND f.customer_key <> indicina.key_lookup_at('indicina_customer', f.customer_id, f.transaction_date)$q$,
            r.target) USING v_from, r.run_id;
        GET DIAGNOSTICS v_n = ROW_COUNT;
    END IF;
    RETURN v_counts || jsonb_build_object('transactions_repointed', v_n);
END;
$$;

/*
 * Step "transactions" (needs pipeline_arm_customers): the new and replaced
 * statement files through their rules into the fact, straight from the scan
 * when it judges every rule (stage with a load query), through temp table
 * indicina_batch_txns otherwise; the scan's per-file counts into
 * indicina_txn_scan.  Before the load it notes which months of
 * [months_from, months_to] (the months the run changes) already hold
 * transactions, and arms the scan to accumulate the customer-months of the
 * others (arm_month_flows).  Returns those months, whether the scan's
 * customer-months can be used (from_scan), and the batch (NULL: none).
 */
CREATE FUNCTION indicina.pipeline_transactions(r indicina.pipeline_run, txn_files text[], months_from date,
    months_to date, OUT old_months date[], OUT from_scan boolean, OUT batch regclass, OUT counts jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_income_names text[];
    v_n    bigint;
BEGIN
    EXECUTE format('CREATE TEMP VIEW indicina_known_customers AS
                        SELECT %I AS customer_id FROM pg_temp.indicina_batch_loans
                        UNION ALL SELECT customer_id FROM %I.dim_customer WHERE is_current AND customer_key <> 0',
                   'customer_id', r.target);
    IF months_from IS NOT NULL THEN
        EXECUTE format($q$
            SELECT coalesce(array_agg(m::date), '{}') FROM generate_series($1::date, $2::date, interval '1 month') m
             WHERE EXISTS (SELECT 1 FROM %I.fact_bank_transaction f
                            WHERE f.transaction_date >= m AND f.transaction_date < m + interval '1 month')$q$, r.target)
            USING months_from, months_to INTO old_months;
    END IF;
    EXECUTE format('SELECT coalesce(array_agg(narration::text), ''{}'')
                      FROM %I.dim_transaction_category WHERE category_group = ''income''', r.target)
        INTO v_income_names;
    from_scan := txn_files IS NOT NULL AND indicina.arm_month_flows(
        r.transactions, 'customer_id', 'transaction_date', 'transaction_amount', 'balance', 'narration', v_income_names);
    -- each row's customer (the version valid at its date) and category, from
    -- lookups of the two dimensions: a probe per row, not two joins
    PERFORM indicina.arm_key_lookup('indicina_category', format(
        'SELECT narration, category_key::bigint FROM %I.dim_transaction_category', r.target));
    PERFORM count(*) FROM indicina.stage(r.run_id, r.transactions, 'indicina_batch_txns', false,
                                         coalesce(txn_files, '{}'),
                                         jsonb_build_object(r.loans::oid::text, 'pg_temp.indicina_known_customers'),
                                         format($q$
        INSERT INTO %1$I.fact_bank_transaction
        SELECT b.transaction_id,
               coalesce(indicina.key_lookup_at('indicina_customer', b.customer_id, b.transaction_date), 0),
               b.customer_id, b.transaction_date, indicina.date_key(b.transaction_date),
               coalesce(indicina.key_lookup('indicina_category', b.narration), 0), b.transaction_amount,
               CASE WHEN b.transaction_amount < 0 THEN 'debit' ELSE 'credit' END, b.balance, %4$s, b.%2$I, b.%3$I, %4$s
          FROM @SOURCE@ b$q$, r.target, r.txn_file, r.txn_line, r.run_id));
    CREATE TEMP TABLE indicina_txn_scan ON COMMIT DROP AS SELECT * FROM indicina.scan_file_stats();
    DROP VIEW indicina_known_customers;
    batch := to_regclass('pg_temp.indicina_batch_txns');
    -- through a batch, the SQL rules may have removed rows the scan returned
    from_scan := from_scan AND batch IS NULL AND indicina.scan_month_flows_ready();
    IF batch IS NULL THEN
        -- every row the scan returned went into the fact
        SELECT coalesce(sum(s.rows_read - s.rows_rejected), 0) INTO v_n FROM indicina_txn_scan s;
    ELSE
        SELECT count(*) INTO v_n FROM indicina_batch_txns;
    END IF;
    counts := jsonb_build_object('transactions_loaded', v_n,
                                 'through', CASE WHEN batch IS NULL THEN 'scan' ELSE 'batch' END);
END;
$$;

/*
 * Step "aggregates and risk features": the customer-months of the months
 * the run changed (pipeline_customer_months), then the risk features of the
 * customers touched (pipeline_risk_features).
 */
CREATE FUNCTION indicina.pipeline_aggregates(r indicina.pipeline_run, months_from date, months_to date,
                                             old_months date[], from_scan boolean) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_counts jsonb;
BEGIN
    v_counts := indicina.pipeline_customer_months(r, months_from, months_to, old_months, from_scan);
    PERFORM indicina.pipeline_risk_features(r);
    RETURN v_counts;
END;
$$;

/*
 * Part of "aggregates and risk features": agg_customer_month recomputed for
 * every customer of the months [months_from, months_to], and changed only
 * where it changed.  A month not in old_months (new to the warehouse) comes
 * from the customer-months the load's scan accumulated when from_scan (no
 * second pass over the fact); the others, or all without from_scan, from
 * one hash-aggregate pass over their fact partitions.  When the span holds
 * no row yet (a first run, a new month) they are inserted as they come;
 * otherwise they go to temp table indicina_months first and
 * pipeline_merge_customer_months writes the difference, so that rows whose
 * values did not move keep their changed_run and are not shipped again.
 * The customers whose months were written or dropped go to
 * indicina_touched.
 */
CREATE FUNCTION indicina.pipeline_customer_months(r indicina.pipeline_run, months_from date, months_to date,
                                                  old_months date[], from_scan boolean) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_income    int[];
    v_n         bigint := 0;
    v_from_scan bigint := 0;
    v_merge     boolean;
    v_dest      text := format('%I.agg_customer_month', r.target);
BEGIN
    -- one look at the span: nothing there (the usual first run, a new
    -- month) means nothing to compare with and nothing to delete
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.agg_customer_month a WHERE a.month BETWEEN $1 AND $2)', r.target)
        USING months_from, months_to INTO v_merge;
    IF v_merge THEN
        PERFORM indicina.drop_temp('{indicina_months}');
        EXECUTE format('CREATE TEMP TABLE indicina_months (LIKE %I.agg_customer_month) ON COMMIT DROP', r.target);
        v_dest := 'pg_temp.indicina_months';
    END IF;
    IF from_scan THEN
        -- in key order; the customers of the rows inserted come from the
        -- hand-over, each once (not a pass over the rows returned)
        EXECUTE format('INSERT INTO %s SELECT *, $2 FROM indicina.scan_month_flows($1)', v_dest)
            USING old_months, r.run_id;
        GET DIAGNOSTICS v_from_scan = ROW_COUNT;
        IF NOT v_merge THEN
            INSERT INTO indicina_touched SELECT * FROM indicina.scan_month_flow_customers();
        END IF;
    ELSE
        old_months := NULL;   -- every month of the span from the fact
    END IF;
    EXECUTE format('SELECT coalesce(array_agg(category_key), ''{}'')
                      FROM %I.dim_transaction_category WHERE category_group = ''income''', r.target)
        INTO v_income;
    -- one pass of a hash aggregate (indicina.month_flow), not a sort per group
    IF months_from IS NOT NULL AND (old_months IS NULL OR cardinality(old_months) > 0) THEN
        EXECUTE format($q$
            WITH fresh AS (
                INSERT INTO %2$s
                SELECT customer_id, month, (m).inflow, (m).outflow, (m).net, (m).txn_count, (m).closing_balance,
                       (m).min_balance, (m).salary_credit, $5
                  FROM (SELECT f.customer_id, indicina.month_start(f.transaction_date) AS month,
                               indicina.month_flow(f.amount, f.balance, f.transaction_date, f.source_file,
                                                   f.source_line, f.category_key = ANY ($1)) AS m
                          FROM %1$I.fact_bank_transaction f
                         WHERE f.transaction_date >= $2 AND f.transaction_date < $3
                           AND ($4 IS NULL OR indicina.month_start(f.transaction_date) = ANY ($4))
                         GROUP BY 1, 2) s
                %3$s
                RETURNING customer_id),
                 touched AS (INSERT INTO indicina_touched SELECT DISTINCT customer_id FROM fresh WHERE NOT $6)
            SELECT count(*) FROM fresh$q$, r.target, v_dest,
            -- in key order: each insert lands on the index's last page (the
            -- temporary table has no index: pipeline_merge_customer_months sorts)
            CASE WHEN v_merge THEN '' ELSE 'ORDER BY 1, 2' END)
            USING v_income, coalesce((SELECT min(m) FROM unnest(old_months) m), months_from),
                  (coalesce((SELECT max(m) FROM unnest(old_months) m), months_to) + interval '1 month')::date,
                  old_months, r.run_id, v_merge
            INTO v_n;
    END IF;
    IF v_merge THEN
        PERFORM indicina.pipeline_merge_customer_months(r, months_from, months_to);
    END IF;
    RETURN jsonb_build_object('customer_months', v_n + v_from_scan, 'from_scan', v_from_scan);
END;
$$;

/*
 * Part of "aggregates and risk features", after pipeline_customer_months
 * when the span already held rows: the customer-months just computed
 * (temp table indicina_months, every customer-month of [months_from,
 * months_to]) written into agg_customer_month as a difference.  A row of
 * the span no longer computed is deleted and recorded in deleted_rows by
 * its key (customer and month: a load deletes nothing it will not get
 * back); a row whose values differ is updated; a new one inserted; a row
 * equal to its recomputation is left alone, changed_run and all.  The
 * customers of every row written or deleted go to indicina_touched.
 */
CREATE FUNCTION indicina.pipeline_merge_customer_months(r indicina.pipeline_run, months_from date, months_to date)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format($q$
        WITH gone AS (
            DELETE FROM %1$I.agg_customer_month a
             WHERE a.month BETWEEN $1 AND $2
               AND NOT EXISTS (SELECT 1 FROM pg_temp.indicina_months m
                                WHERE m.customer_id = a.customer_id AND m.month = a.month)
            RETURNING a.customer_id, a.month),
             recorded AS (
            INSERT INTO %1$I.deleted_rows (run_id, table_name, match)
            SELECT $3, 'agg_customer_month', jsonb_build_object('customer_id', g.customer_id, 'month', g.month)
              FROM gone g)
        INSERT INTO indicina_touched SELECT customer_id FROM gone$q$, r.target)
        USING months_from, months_to, r.run_id;
    EXECUTE format($q$
        WITH changed AS (
            UPDATE %1$I.agg_customer_month a
               SET inflow = m.inflow, outflow = m.outflow, net = m.net, txn_count = m.txn_count,
                   closing_balance = m.closing_balance, min_balance = m.min_balance,
                   salary_credit = m.salary_credit, changed_run = m.changed_run
              FROM pg_temp.indicina_months m
             WHERE a.customer_id = m.customer_id AND a.month = m.month
               AND (a.inflow, a.outflow, a.net, a.txn_count, a.closing_balance, a.min_balance, a.salary_credit)
                   IS DISTINCT FROM
                   (m.inflow, m.outflow, m.net, m.txn_count, m.closing_balance, m.min_balance, m.salary_credit)
            RETURNING a.customer_id)
        INSERT INTO indicina_touched SELECT customer_id FROM changed$q$, r.target);
    EXECUTE format($q$
        WITH added AS (
            INSERT INTO %1$I.agg_customer_month
            SELECT m.* FROM pg_temp.indicina_months m
             WHERE NOT EXISTS (SELECT 1 FROM %1$I.agg_customer_month a
                                WHERE a.customer_id = m.customer_id AND a.month = m.month)
             ORDER BY m.customer_id, m.month
            RETURNING customer_id)
        INSERT INTO indicina_touched SELECT customer_id FROM added$q$, r.target);
    DROP TABLE pg_temp.indicina_months;
END;
$$;

/*
 * Part of "aggregates and risk features": customer_risk_features recomputed
 * for the customers in indicina_touched and those with a new application.
 * Their months are aggregated first, one row per customer, then joined to
 * each customer's latest application.  A customer's row is written only
 * when a value differs from the one there (or it has none): an unchanged
 * row keeps its run_id and changed_run, and is not shipped again.
 */
CREATE FUNCTION indicina.pipeline_risk_features(r indicina.pipeline_run) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_known boolean;
BEGIN
    INSERT INTO indicina_touched SELECT DISTINCT customer_id FROM indicina_batch_loans;
    CREATE TEMP TABLE indicina_affected ON COMMIT DROP AS SELECT DISTINCT customer_id FROM indicina_touched;
    ANALYZE indicina_affected;
    -- none of them has a row yet (a first load): a plain insert, without
    -- the upsert's check per row
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.customer_risk_features c JOIN indicina_affected x USING (customer_id))',
                   r.target) INTO v_known;
    EXECUTE format($q$
        INSERT INTO %1$I.customer_risk_features AS c
        SELECT x.customer_id, coalesce((a.f).months, 0), (a.f).avg_monthly_inflow, (a.f).avg_monthly_outflow,
               coalesce((a.f).income_regularity, 0), (a.f).balance_volatility, l.loan_to_income, $1, $1
          FROM indicina_affected x
          -- each customer's months, aggregated before the join (a row per
          -- customer meets the applications, not one per customer-month),
          -- by one aggregate of small states (src/warehouse/risk_features.c)
          LEFT JOIN (SELECT a.customer_id,
                            indicina.risk_features(a.inflow, a.outflow, a.salary_credit, a.closing_balance) AS f
                       FROM %1$I.agg_customer_month a
                      WHERE a.customer_id IN (SELECT customer_id FROM indicina_affected)
                      GROUP BY a.customer_id) a ON a.customer_id = x.customer_id
          -- each customer's latest application, in one pass rather than a lookup per customer
          LEFT JOIN (SELECT DISTINCT ON (f.customer_id) f.customer_id, f.loan_to_income
                       FROM %1$I.fact_loan_application f
                      WHERE f.customer_id IN (SELECT customer_id FROM indicina_affected)
                      ORDER BY f.customer_id, f.application_date DESC NULLS LAST, f.application_id DESC) l
            ON l.customer_id = x.customer_id
        %2$s$q$, r.target, CASE WHEN v_known THEN $u$
        -- the values are stored at their columns' scales, so equal values
        -- are equal text in a delivery too
        ON CONFLICT (customer_id) DO UPDATE
           SET months_observed = excluded.months_observed, avg_monthly_inflow = excluded.avg_monthly_inflow,
               avg_monthly_outflow = excluded.avg_monthly_outflow, income_regularity = excluded.income_regularity,
               balance_volatility = excluded.balance_volatility,
               latest_loan_to_income = excluded.latest_loan_to_income, run_id = excluded.run_id,
               changed_run = excluded.changed_run
         WHERE (c.months_observed, c.avg_monthly_inflow, c.avg_monthly_outflow, c.income_regularity,
                c.balance_volatility, c.latest_loan_to_income)
               IS DISTINCT FROM
               (excluded.months_observed, excluded.avg_monthly_inflow, excluded.avg_monthly_outflow,
                excluded.income_regularity, excluded.balance_volatility, excluded.latest_loan_to_income)$u$
        ELSE '' END) USING r.run_id;
END;
$$;

/*
 * Step "ledger": one row per file of each source (record_ledger): read,
 * loaded, rejected, warned, from indicina_loan_scan and indicina_txn_scan,
 * and the batches (txn_batch: the transactions' batch, NULL when they went
 * straight into the fact).  Then the change-tracking indexes the warehouse
 * lacks, which the first run builds from what it loaded
 * (create_change_indexes).
 */
CREATE FUNCTION indicina.pipeline_ledger(r indicina.pipeline_run, txn_batch regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM indicina.record_ledger(r.target, r.run_id, 'loans', r.loans, 'indicina_loan_scan', 'indicina_batch_loans',
                                   r.loan_file);
    PERFORM indicina.record_ledger(r.target, r.run_id, 'transactions', r.transactions, 'indicina_txn_scan', txn_batch,
                                   r.txn_file);
    PERFORM indicina.create_change_indexes(r.target);
END;
$$;

/*
 * One atomic, exactly-once run: new and corrected files of both sources,
 * through their rules, into the warehouse; dimensions, facts, aggregates
 * and risk features; the ledger.  Everything in the caller's transaction:
 * an error anywhere leaves the warehouse as it was, and the journal keeps
 * the failure with the steps done so far.  Calls the steps above in order,
 * times each (pipeline_step) and returns one row per step.
 */
CREATE FUNCTION indicina.run_pipeline(loans regclass, transactions regclass, target name DEFAULT 'dw',
                                      wait boolean DEFAULT false)
RETURNS TABLE (run_id bigint, step text, ms bigint, counts jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
-- a batch job: hash tables and sorts of millions of rows stay in memory,
-- and JIT compilation, which costs more than it saves here, is off
-- (ALTER FUNCTION ... SET changes either)
SET work_mem = '256MB' SET jit = off AS $$
#variable_conflict use_column
DECLARE
    r         indicina.pipeline_run;
    v_steps   jsonb := '[]';
    v_t       timestamptz;
    v_start   timestamptz := clock_timestamp();
    v_msg     text;
    v_state   text;
    v_counts  jsonb;
    v_totals  jsonb;
    v_loan_files text[];
    v_txn_files  text[];
    v_replaced   text[];      -- NULL when no file was replaced
    v_del_from   date;        -- the span of the transactions a corrected file replaced
    v_del_to     date;
    v_txn_from   date;        -- the span of the new transactions
    v_txn_to     date;
    v_months_from date;       -- the months the run changes
    v_months_to   date;
    v_txn        record;      -- what the transactions load leaves for the aggregates and the ledger
BEGIN
    r := indicina.pipeline_begin(loans, transactions, target, wait);
    <<work>>
    BEGIN
        v_t := clock_timestamp();
        SELECT * INTO v_loan_files, v_txn_files, v_counts FROM indicina.pipeline_plan_files(r);
        v_steps := indicina.pipeline_step(v_steps, 'plan files', v_t, v_counts);

        v_t := clock_timestamp();
        SELECT * INTO v_replaced, v_del_from, v_del_to FROM indicina.pipeline_replace_corrected_files(r);
        v_steps := indicina.pipeline_step(v_steps, 'replace corrected files', v_t);

        v_t := clock_timestamp();
        IF v_loan_files IS NULL AND v_txn_files IS NULL AND v_replaced IS NULL THEN
            PERFORM indicina.pipeline_nothing_new(r);   -- the warehouse is as it should be
            v_steps := indicina.pipeline_step(v_steps, 'nothing new', v_t);
            EXIT work;
        END IF;
        v_counts := indicina.pipeline_stage_loans(r, v_loan_files);
        v_steps := indicina.pipeline_step(v_steps, 'stage loans', v_t, v_counts);

        v_t := clock_timestamp();
        SELECT * INTO v_txn_from, v_txn_to, v_counts FROM indicina.pipeline_dimensions(r, v_txn_files);
        v_steps := indicina.pipeline_step(v_steps, 'dimensions', v_t, v_counts);
        PERFORM indicina.pipeline_arm_customers(r);

        v_t := clock_timestamp();
        v_counts := indicina.pipeline_loan_facts(r);
        v_steps := indicina.pipeline_step(v_steps, 'loan facts', v_t, v_counts);

        -- the months this run changes: the span of the new rows and of the
        -- rows a corrected file replaced
        v_t := clock_timestamp();
        v_months_from := indicina.month_start(least(v_txn_from, v_del_from));
        v_months_to := indicina.month_start(greatest(v_txn_to, v_del_to));
        SELECT * INTO v_txn FROM indicina.pipeline_transactions(r, v_txn_files, v_months_from, v_months_to);
        v_steps := indicina.pipeline_step(v_steps, 'transactions', v_t, v_txn.counts);

        v_t := clock_timestamp();
        v_counts := indicina.pipeline_aggregates(r, v_months_from, v_months_to, v_txn.old_months, v_txn.from_scan);
        v_steps := indicina.pipeline_step(v_steps, 'aggregates and risk features', v_t, v_counts);

        v_t := clock_timestamp();
        PERFORM indicina.pipeline_ledger(r, v_txn.batch);
        v_steps := indicina.pipeline_step(v_steps, 'ledger', v_t);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
        PERFORM indicina.journal_failed_run(r.run_id, transactions, v_msg, v_state, jsonb_build_object('steps', v_steps));
        RAISE;
    END work;
    EXECUTE format($q$
        SELECT jsonb_build_object('files', count(*), 'rows_read', coalesce(sum(rows_read), 0),
                                  'rows_loaded', coalesce(sum(rows_loaded), 0), 'rows_rejected',
                                  coalesce(sum(rows_rejected), 0), 'rows_warned', coalesce(sum(rows_warned), 0))
          FROM %I.file_ledger WHERE run_id = $1 AND status = 'loaded'$q$, target) USING r.run_id INTO v_totals;
    v_steps := indicina.pipeline_step(v_steps, 'total', v_start, v_totals);
    PERFORM indicina.run_end(r.run_id, 'finished', v_totals || jsonb_build_object('steps', v_steps));
    RETURN QUERY SELECT r.run_id, s->>'step', (s->>'ms')::bigint, s - '{step,ms}'::text[]
                   FROM jsonb_array_elements(v_steps) s;
END;
$$;
COMMENT ON FUNCTION indicina.run_pipeline(regclass, regclass, name, boolean) IS
    'one atomic, exactly-once run: new and corrected files through their rules into the warehouse';

/*
 * The ledger rows of one source for this run: every file planned, with
 * read (from the scan), loaded (rows of the batch from that file, or with
 * no batch, the rows the scan returned, all of which went into the fact)
 * and rejected = read - loaded, which the parse and rule rejects make up.
 */
CREATE FUNCTION indicina.record_ledger(target name, run_id bigint, source text, relation regclass, scan regclass,
                                       batch regclass, file_col name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF scan IS NULL THEN
        -- nothing was read: only re-deliveries to remember
        EXECUTE format($q$
            INSERT INTO %1$I.file_ledger (source, path, size, modified, etag, content_hash, status, duplicate_of, run_id)
            SELECT %2$L, f.file, f.size, f.modified, f.etag, f.sha256, 'duplicate', f.duplicate_of, $1
              FROM pg_temp.%3$I f WHERE f.action = 'duplicate'
            ON CONFLICT (source, path) DO UPDATE SET size = excluded.size, modified = excluded.modified, etag = excluded.etag,
                content_hash = excluded.content_hash, status = excluded.status, duplicate_of = excluded.duplicate_of,
                run_id = excluded.run_id, loaded_at = now()$q$,
            target, source, 'indicina_files_' || source) USING run_id;
        RETURN;
    END IF;
    EXECUTE format($q$
        INSERT INTO %1$I.file_ledger AS l (source, path, size, modified, etag, content_hash, status, duplicate_of,
                                           rows_read, rows_loaded, rows_rejected, rows_warned, scan_id, run_id, loaded_at)
        SELECT %2$L, f.file, f.size, f.modified, f.etag, f.sha256,
               CASE f.action WHEN 'duplicate' THEN 'duplicate' ELSE 'loaded' END, f.duplicate_of,
               s.rows_read, b.n, s.rows_read - coalesce(b.n, 0), s.rows_warned + coalesce(w.n, 0), s.scan_id, $1, now()
          FROM pg_temp.%3$I f
          LEFT JOIN (SELECT file, sum(rows_read) AS rows_read, sum(rows_warned) AS rows_warned, max(scan_id) AS scan_id
                       FROM %4$s GROUP BY file) s ON s.file = f.file
          LEFT JOIN (%5$s) b ON b.file = f.file
          LEFT JOIN (SELECT x.file, count(DISTINCT x.line) AS n FROM pg_temp.indicina_set_flags x
                      WHERE x.relation = $2 GROUP BY x.file) w ON w.file = f.file
         WHERE f.action IN ('new', 'replace', 'duplicate')
        ON CONFLICT (source, path) DO UPDATE SET
            size = excluded.size, modified = excluded.modified, etag = excluded.etag,
            content_hash = excluded.content_hash, status = excluded.status, duplicate_of = excluded.duplicate_of, rows_read = excluded.rows_read,
            rows_loaded = excluded.rows_loaded, rows_rejected = excluded.rows_rejected,
            rows_warned = excluded.rows_warned, scan_id = excluded.scan_id, run_id = excluded.run_id,
            loaded_at = excluded.loaded_at$q$,
        target, source, 'indicina_files_' || source, scan,
        -- loaded: the batch's rows, or (no batch) every row the scan returned
        CASE WHEN batch IS NULL
             THEN format('SELECT file, sum(rows_read - rows_rejected) AS n FROM %s GROUP BY file', scan)
             ELSE format('SELECT %I AS file, count(*) AS n FROM %s GROUP BY 1', file_col, batch) END)
        USING run_id, relation;
    -- unchanged files whose size or time moved (touched, same bytes): remember the new stamp
    EXECUTE format($q$
        UPDATE %1$I.file_ledger l SET size = f.size, modified = f.modified, etag = f.etag
          FROM pg_temp.%2$I f
         WHERE l.source = %3$L AND l.path = f.file AND f.action = 'unchanged'
           AND (l.size, l.modified, l.etag) IS DISTINCT FROM (f.size, f.modified, f.etag)$q$,
        target, 'indicina_files_' || source, source);
END;
$$;

CREATE FUNCTION indicina.record_ledger_stamps(target name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    src text;
BEGIN
    FOREACH src IN ARRAY '{loans,transactions}'::text[] LOOP
        EXECUTE format($q$
            UPDATE %1$I.file_ledger l SET size = f.size, modified = f.modified, etag = f.etag
              FROM pg_temp.%2$I f
             WHERE l.source = %3$L AND l.path = f.file AND f.action = 'unchanged'
               AND (l.size, l.modified, l.etag) IS DISTINCT FROM (f.size, f.modified, f.etag)$q$,
            target, 'indicina_files_' || src, src);
    END LOOP;
END;
$$;

CREATE VIEW indicina.pipeline_runs AS
SELECT run_id, status, started_at, finished_at, duration, message, sqlstate,
       args->>'target' AS target, args->>'loans' AS loans, args->>'transactions' AS transactions,
       (details->>'files')::bigint AS files, (details->>'rows_read')::bigint AS rows_read,
       (details->>'rows_loaded')::bigint AS rows_loaded, (details->>'rows_rejected')::bigint AS rows_rejected,
       (details->>'rows_warned')::bigint AS rows_warned, details->'steps' AS steps, pid, run_by
  FROM indicina.runs WHERE kind = 'pipeline';
COMMENT ON VIEW indicina.pipeline_runs IS
    'every pipeline run: status, timings per step, files and rows read, loaded, rejected and warned';
