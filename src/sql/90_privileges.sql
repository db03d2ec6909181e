-- 90_privileges.sql: every grant of the extension, in one place (the
-- privilege model is in docs/operations.md; test/pgtap/privileges.sql lists
-- it function by function).
--
--   PUBLIC             the parsers, normalize_label (and label_map, which it
--                      reads), label_key, version()
--   indicina_operator  a NOLOGIN group role a nightly job's role joins: runs
--                      loads and pipelines, schedules them, reads the rules,
--                      the run log, the quality history and the rejects
--   superuser only     declaring rules, clearing the reject log, the FDW's
--                      handler and validator, the aggregates' support functions
--
-- Naming server files stays with pg_read_server_files (or superuser), at DDL
-- time, checked by the validator (src/fdw/options.c), as file_fdw does; no grant
-- below goes to it.

-- The role is cluster-wide: the first database that installs the extension
-- creates it, later ones find it; DROP EXTENSION leaves it (DROP ROLE it
-- once no database has the extension).  A role of that name that can log in,
-- has attributes or is a member of a role was not made by us: refuse rather
-- than hand it rights (its members would get whatever it is a member of).
DO $$
DECLARE
    r pg_catalog.pg_roles;
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'indicina_operator';
    IF NOT FOUND THEN
        CREATE ROLE indicina_operator NOLOGIN;
        COMMENT ON ROLE indicina_operator IS
            'indicina: runs loads and pipelines, reads the run log and the rejects (GRANT it to the nightly job''s role)';
    ELSIF r.rolcanlogin OR r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls
          OR EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid) THEN
        RAISE EXCEPTION 'role indicina_operator exists but is not a NOLOGIN group role without attributes and memberships'
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Rename or drop that role, or make it NOLOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS and a member of no role, then create the extension.';
    END IF;
END;
$$;

GRANT USAGE ON SCHEMA indicina TO PUBLIC;

-- nothing for PUBLIC but what is listed: functions get EXECUTE for PUBLIC
-- by default, so everything is revoked first (and a function added to an
-- earlier piece is private until it is granted here)
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA indicina FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA indicina FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA indicina FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA indicina FROM PUBLIC;

-- ---- PUBLIC: pure functions of their arguments (and the label vocabularies) ----
GRANT EXECUTE ON FUNCTION
    indicina.version(),
    indicina.parse_amount(text), indicina.parse_amount(text, text),
    indicina.try_parse_amount(text), indicina.try_parse_amount(text, text),
    indicina.parse_int(text), indicina.try_parse_int(text),
    indicina.parse_bool(text), indicina.try_parse_bool(text),
    indicina.parse_date(text), indicina.parse_date(text, text), indicina.parse_date(text, text, text),
    indicina.try_parse_date(text), indicina.try_parse_date(text, text), indicina.try_parse_date(text, text, text),
    indicina.parse_timestamp(text), indicina.parse_timestamp(text, text), indicina.parse_timestamp(text, text, text),
    indicina.try_parse_timestamp(text), indicina.try_parse_timestamp(text, text),
    indicina.try_parse_timestamp(text, text, text),
    indicina.normalize_id(text), indicina.try_normalize_id(text),
    indicina.normalize_phone(text), indicina.normalize_phone(text, text),
    indicina.try_normalize_phone(text), indicina.try_normalize_phone(text, text),
    indicina.is_valid_bvn(text), indicina.label_key(text),
    indicina.normalize_label(text, text), indicina.try_normalize_label(text, text)
    TO PUBLIC;
-- the vocabularies are no secret, and every normalize_label call and label
-- column reads them as the calling role
GRANT SELECT ON indicina.label_map TO PUBLIC;

-- ---- indicina_operator: running and reading ----
-- Every function is SECURITY INVOKER: a run reads the foreign tables and
-- writes the warehouse with the operator's own grants.  The steps a run
-- calls are granted with it.  Scans read the row rules they apply with the
-- catalog owner's rights in C (rules.c), so a role granted SELECT on a
-- foreign table needs none of this.
GRANT EXECUTE ON FUNCTION
    -- what a job calls
    indicina.run_pipeline(regclass, regclass, name, boolean),
    indicina.create_warehouse(name, name),
    indicina.upgrade_warehouse(name),
    indicina.create_change_indexes(name),
    indicina.tracked_tables(),
    indicina.schedule_pipeline(text, regclass, regclass, name, text, name),
    indicina.unschedule_pipeline(text),
    indicina.requeue_quarantined(regclass, name),
    indicina.load_checked(regclass, regclass),
    indicina.check(regclass),
    indicina.recheck_quarantined(regclass),
    indicina.attach_default_rules(regclass, regclass),
    indicina.check_rule_expression(regclass, text),
    -- the reject log and the journal: read, and appended to by runs
    indicina.read_load_errors(),
    indicina.journal_read(text),
    indicina.journal_write(text, jsonb),
    indicina.log_reject(bigint, text, text, bigint, text, text, text, text, text),
    -- the steps of a run
    indicina.source_files(regclass, boolean, text[]),
    indicina.stage(bigint, regclass, name, boolean, text[], jsonb, text),
    indicina.stage_read(regclass, name, boolean, text[], jsonb, text, boolean),
    indicina.stage_row_rules(bigint, regclass, regclass, boolean, boolean),
    indicina.stage_set_rules(bigint, regclass, regclass, boolean, boolean, text[], jsonb),
    indicina.recheck_rows(regclass, name),
    indicina.splice_source(text, text),
    indicina.apply_failures(indicina.quality_rules, bigint, regclass, regclass, bigint, boolean, boolean, text),
    indicina.set_rule_failures(indicina.quality_rules, regclass, name, name, jsonb),
    indicina.set_rule_unique_failures(indicina.quality_rules, regclass, name, name),
    indicina.set_rule_duplicate_failures(indicina.quality_rules, regclass, name, name),
    indicina.batch_lineage(name, name, text),
    indicina.row_rule_failures(regclass, regclass),
    indicina.rule_outcome(text, bigint, bigint, numeric, boolean),
    indicina.journal_row_rule_results(bigint),
    indicina.journal_failed_run(bigint, regclass, text, text, jsonb),
    indicina.run_begin(text, jsonb),
    indicina.run_end(bigint, text, jsonb),
    indicina.lineage_column(regclass, text),
    indicina.lineage_columns(regclass),
    indicina.qualified_name(regclass),
    indicina.is_row_rule(text),
    indicina.simple_regex_match(text, text),
    indicina.scan_file_stats(),
    indicina.scan_rule_stats(),
    indicina.reset_scan_stats(),
    indicina.arm_set_rules(regclass, jsonb),
    indicina.date_key(date),
    indicina.month_start(date),
    indicina.month_flow(numeric, numeric, date, text, bigint, boolean),
    indicina.risk_features(numeric, numeric, boolean, numeric),
    indicina.arm_month_flows(regclass, name, name, name, name, name, text[]),
    indicina.scan_month_flows(date[]),
    indicina.scan_month_flow_customers(),
    indicina.scan_month_flows_ready(),
    indicina.arm_key_lookup(text, text),
    indicina.key_lookup(text, text),
    indicina.key_lookup_at(text, text, date),
    indicina.drop_temp(text[]),
    indicina.ensure_month_partitions(name, date, date),
    indicina.pipeline_step(jsonb, text, timestamptz, jsonb),
    indicina.plan_files(name, text, regclass),
    indicina.record_ledger(name, bigint, text, regclass, regclass, regclass, name),
    indicina.record_ledger_stamps(name),
    -- run_pipeline's steps, one function each (41_pipeline.sql)
    indicina.pipeline_begin(regclass, regclass, name, boolean),
    indicina.record_deleted(indicina.pipeline_run, text, text, text[]),
    indicina.pipeline_plan_files(indicina.pipeline_run),
    indicina.pipeline_replace_corrected_files(indicina.pipeline_run),
    indicina.pipeline_nothing_new(indicina.pipeline_run),
    indicina.pipeline_stage_loans(indicina.pipeline_run, text[]),
    indicina.pipeline_dimensions(indicina.pipeline_run, text[]),
    indicina.pipeline_customer_versions(indicina.pipeline_run),
    indicina.pipeline_arm_customers(indicina.pipeline_run),
    indicina.pipeline_loan_facts(indicina.pipeline_run),
    indicina.pipeline_transactions(indicina.pipeline_run, text[], date, date),
    indicina.pipeline_aggregates(indicina.pipeline_run, date, date, date[], boolean),
    indicina.pipeline_customer_months(indicina.pipeline_run, date, date, date[], boolean),
    indicina.pipeline_merge_customer_months(indicina.pipeline_run, date, date),
    indicina.pipeline_risk_features(indicina.pipeline_run),
    indicina.pipeline_ledger(indicina.pipeline_run, regclass),
    -- the unload (50_unload.sql, 51_redshift.sql): writing needs pg_write_server_files too
    indicina.unload(name, name, text, text[], text, text, int, bigint, text, text, int),
    indicina.unload_begin(name, name, text, text, text, int, bigint, text),
    indicina.unload_catalog(),
    indicina.unload_columns(name, text),
    indicina.unload_plan(name, text[]),
    indicina.unload_watermark_sql(name),
    indicina.unload_queries(name, name, text[], text),
    indicina.unload_meta_sql(name),
    indicina.unload_write(name, text, text[], text[], text[], text, int, bigint, text, boolean, text, text[], int),
    indicina.tid_block(tid),
    indicina.unload_check_server(name),
    indicina.unload_write_files(name, text, text, text[], text[]),
    indicina.unload_table_json(name, text, text),
    indicina.unload_widths(text),
    indicina.unload_deliver(indicina.unload_history, text, jsonb, int),
    indicina.unload_json(indicina.unload_history, jsonb),
    indicina.unload_follows(indicina.unload_history),
    indicina.unload_known_width(name, text, text, name),
    indicina.redshift_type(regtype, int, int),
    indicina.redshift_encoding(text),
    indicina.redshift_table_ddl(name, jsonb),
    indicina.redshift_unknown_member(name, jsonb),
    indicina.redshift_ddl_for(name, jsonb),
    indicina.redshift_ddl(name),
    indicina.redshift_copy(name, text, jsonb, text, text),
    indicina.redshift_widen(indicina.unload_history),
    indicina.redshift_deletes(text, jsonb),
    indicina.redshift_table_load(indicina.unload_history, jsonb, text),
    indicina.redshift_load_sql_for(indicina.unload_history, text),
    indicina.redshift_load_sql(bigint, text),
    indicina.check_iam_role(text),
    -- the dashboard (60_dashboard.sql): it reads the whole warehouse, with
    -- the caller's rights, and the mart views create_warehouse adds
    indicina.create_mart_views(name, name),
    indicina.dashboard(name, text, name, boolean, int, int),
    indicina.dashboard_asset(text),
    indicina.dashboard_index(jsonb, text, text),
    indicina.dashboard_query(text, name, name, jsonb, text, text),
    indicina.dashboard_sql(text, name, name),
    indicina.dashboard_cell(bigint),
    indicina.dashboard_profile_cells(name, name, jsonb),
    indicina.dashboard_dims(name, name),
    indicina.dashboard_cells(name, name, jsonb),
    indicina.dashboard_riskiest(name, name, jsonb, int, boolean),
    indicina.dashboard_quality(name, name, int),
    indicina.dashboard_last_unload(name),
    indicina.dashboard_data(name, name, text, boolean, int, int),
    indicina.dashboard_render(text, jsonb),
    indicina.html_escape(text)
    TO indicina_operator;
-- what a job scheduled with unload_to calls (a procedure: it commits between the two)
GRANT EXECUTE ON PROCEDURE indicina.run_and_unload(regclass, regclass, name, name) TO indicina_operator;
GRANT SELECT ON indicina.quality_rules, indicina.load_errors, indicina.runs, indicina.quality_results,
                indicina.quality_summary, indicina.pipeline_runs, indicina.unloads
    TO indicina_operator;
-- an unload records itself in the ledger with the caller's rights
GRANT SELECT, INSERT ON indicina.unload_history TO indicina_operator;
GRANT USAGE ON SEQUENCE indicina.run_id_seq TO indicina_operator;

-- ---- superuser only (no grant) ----
-- add_rule (and its checks: check_rule_columns, check_rule_param_names,
-- check_row_rule_params, check_set_rule_params, check_count_bounds),
-- set_rule_enabled, drop_rule, check_columns_exist and writes to
-- quality_rules and label_map: a rule's expression runs in every scan of
-- its relation, with the scanning role's rights.  clear_load_errors: the
-- reject log is the record of what was not loaded.  csv_handler and
-- csv_validator: the server calls them without an EXECUTE check.  The
-- aggregates' step and final functions: checked against the aggregate's
-- owner.
