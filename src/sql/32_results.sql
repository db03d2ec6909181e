-- 32_results.sql: rule results with history, quarantined rows re-checked,
-- the default rules of the two landing tables.

-- ---------------------------------------------------------------------
-- Results with history
-- ---------------------------------------------------------------------

CREATE VIEW indicina.quality_results AS
SELECT (j->>'run_id')::bigint AS run_id,
       (j->>'at')::timestamptz AS checked_at,
       j->>'relation' AS relation,
       j->>'rule' AS rule,
       j->>'kind' AS kind,
       j->>'severity' AS severity,
       (j->>'rows_checked')::bigint AS rows_checked,
       (j->>'rows_failed')::bigint AS rows_failed,
       j->>'outcome' AS outcome,
       j->'samples' AS samples,
       r.status AS run_status
  FROM indicina.journal_read('quality') j
  LEFT JOIN indicina.runs r ON r.run_id = (j->>'run_id')::bigint;
COMMENT ON VIEW indicina.quality_results IS
    'every rule''s result in every run: rows checked and failed, outcome, sample failing rows; never overwritten';

CREATE VIEW indicina.quality_summary AS
WITH ranked AS (
    SELECT q.*, row_number() OVER (PARTITION BY relation, rule ORDER BY run_id DESC) AS age
      FROM indicina.quality_results q)
SELECT relation, rule,
       max(kind) AS kind,
       max(severity) FILTER (WHERE age = 1) AS severity,
       max(run_id) AS last_run_id,
       max(checked_at) AS last_checked_at,
       max(rows_checked) FILTER (WHERE age = 1) AS rows_checked,
       max(rows_failed) FILTER (WHERE age = 1) AS rows_failed,
       max(outcome) FILTER (WHERE age = 1) AS outcome,
       round(100.0 * max(rows_failed) FILTER (WHERE age = 1) / nullif(max(rows_checked) FILTER (WHERE age = 1), 0), 3)
           AS failed_pct,
       array_agg(rows_failed ORDER BY run_id) FILTER (WHERE age <= 5) AS failed_last_runs,
       CASE WHEN count(*) FILTER (WHERE age <= 2) < 2 THEN 'new'
            WHEN max(rows_failed) FILTER (WHERE age = 1) > max(rows_failed) FILTER (WHERE age = 2) THEN 'worse'
            WHEN max(rows_failed) FILTER (WHERE age = 1) < max(rows_failed) FILTER (WHERE age = 2) THEN 'better'
            ELSE 'same' END AS trend
  FROM ranked
 GROUP BY relation, rule;
COMMENT ON VIEW indicina.quality_summary IS
    'the latest result per relation and rule, with failures over its last five runs and the trend since the previous one';

/*
 * The re-check behind recheck_quarantined and requeue_quarantined: the
 * files of the rows listed in the temporary table rows_table (file, line,
 * loads_now) are re-read in a dry run under today's rules and mappings,
 * and each row's loads_now says whether it would load now.
 */
CREATE FUNCTION indicina.recheck_rows(relation regclass, rows_table name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_file name := indicina.lineage_column(relation, 'file');
    v_line name := indicina.lineage_column(relation, 'line');
    v_files text[];
BEGIN
    IF v_file IS NULL OR v_line IS NULL THEN
        RAISE EXCEPTION '% has no lineage columns', relation
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Re-checking needs columns with OPTIONS (source ''file'') and (source ''line'').';
    END IF;
    EXECUTE format('SELECT array_agg(DISTINCT q.file) FROM pg_temp.%I q', rows_table) INTO v_files;
    IF v_files IS NULL THEN
        RETURN;
    END IF;
    PERFORM indicina.drop_temp('{indicina_recheck_batch}');
    PERFORM count(*) FROM indicina.stage(NULL, relation, 'indicina_recheck_batch', true, v_files);
    EXECUTE format(
        'UPDATE pg_temp.%I q
            SET loads_now = EXISTS (SELECT 1 FROM pg_temp.indicina_recheck_batch b WHERE b.%I = q.file AND b.%I = q.line)',
        rows_table, v_file, v_line);
    DROP TABLE pg_temp.indicina_recheck_batch;
END;
$$;

/*
 * Quarantined rows that would load now: after a rule or a label mapping is
 * fixed, re-reads the files that hold rows the latest loads of relation
 * quarantined (dry run, all rules) and says, per row, whether it passes.
 */
CREATE FUNCTION indicina.recheck_quarantined(relation regclass)
RETURNS TABLE (file text, line bigint, code text, message text, loads_now boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    CREATE TEMP TABLE indicina_quarantined ON COMMIT DROP AS
        SELECT DISTINCT ON (e.file, e.line) e.file, e.line, e.code, e.message, NULL::boolean AS loads_now
          FROM indicina.load_errors e
         WHERE e.relation_id = recheck_quarantined.relation AND e.code NOT LIKE 'WARN:%'
           AND e.scan_id = (SELECT max(e2.scan_id) FROM indicina.load_errors e2
                             WHERE e2.relation_id = recheck_quarantined.relation AND e2.file = e.file AND e2.scan_id IS NOT NULL)
         ORDER BY e.file, e.line;
    PERFORM indicina.recheck_rows(relation, 'indicina_quarantined');
    RETURN QUERY SELECT q.file, q.line, q.code, q.message, q.loads_now FROM indicina_quarantined q ORDER BY q.file, q.line;
    DROP TABLE indicina_quarantined;
END;
$$;
COMMENT ON FUNCTION indicina.recheck_quarantined(regclass) IS
    'quarantined rows of the latest loads of relation, and whether each would load under today''s rules and mappings';

-- ---------------------------------------------------------------------
-- The default rules of the two sources
-- ---------------------------------------------------------------------

/*
 * Attaches the shipped domain rules to a loan-application and a
 * bank-statement relation (columns named as in the data dictionary).  A
 * rule that already exists under the same name is left as it is, so a
 * default the user disabled or changed stays that way.  Returns the rules
 * added.  run_pipeline calls it for the relations it is given.
 */
CREATE FUNCTION indicina.attach_default_rules(loans regclass, transactions regclass)
RETURNS SETOF text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d record;
BEGIN
    FOR d IN
        SELECT * FROM (VALUES
            (loans, 'credit_score_range', 'range', '{credit_score}'::text[], '{"min": 300, "max": 850}'::jsonb, 'reject',
             'credit scores lie between 300 and 850'),
            (loans, 'loan_amount_positive', 'range', '{loan_amount}', '{"min": 0, "min_inclusive": false}', 'reject',
             'a loan is for a positive amount'),
            (loans, 'annual_income_non_negative', 'range', '{annual_income}', '{"min": 0}', 'reject',
             'income is never negative'),
            (loans, 'application_date_not_future', 'not_future', '{loan_application_date}', '{}', 'reject',
             'no application is dated after today'),
            (loans, 'employment_status_known', 'accepted_values', '{employment_status}',
             '{"domain": "employment_status"}', 'reject', 'employment status is a label of its domain'),
            (loans, 'application_id_unique', 'unique', '{application_id}', '{}', 'reject',
             'one row per application'),
            (transactions, 'transaction_date_not_future', 'not_future', '{transaction_date}', '{}', 'reject',
             'no transaction is dated after today'),
            (transactions, 'transaction_duplicate_rows', 'duplicate_rows', '{}', '{}', 'reject',
             'an exact copy of a row is delivered once'),
            (transactions, 'transaction_id_unique', 'unique', '{transaction_id}', '{}', 'reject',
             'one row per transaction id'),
            (transactions, 'transaction_customer_known', 'references', '{customer_id}',
             jsonb_build_object('relation', loans::text, 'column', 'customer_id'), 'warn',
             'every transaction''s customer has an application (late ones are loaded and attached later)'),
            (transactions, 'balance_continuity', 'balance_continuity', '{}', '{}', 'warn',
             'per customer, previous balance + amount = balance')
        ) v(relation, name, kind, columns, params, severity, description)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM indicina.quality_rules q WHERE q.relation = d.relation AND q.name = d.name) THEN
            -- a nightly role runs with the rules in place; declaring them is the owner's
            IF NOT (has_table_privilege('indicina.quality_rules', 'INSERT')
                    AND has_table_privilege('indicina.quality_rules', 'UPDATE')) THEN
                RAISE EXCEPTION 'the default rules of % are not attached, and this role may not attach them', d.relation
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = format('As a superuser, run SELECT indicina.attach_default_rules(%L, %L) once.',
                                        loans::text, transactions::text);
            END IF;
            PERFORM indicina.add_rule(d.name, d.relation, d.kind, d.columns, d.params, d.severity,
                                      description => d.description);
            UPDATE indicina.quality_rules q SET shipped = true WHERE q.relation = d.relation AND q.name = d.name;
            RETURN NEXT d.name;
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION indicina.attach_default_rules(regclass, regclass) IS
    'attaches the shipped rules for loan applications and bank statements; existing rules of the same name are kept';
