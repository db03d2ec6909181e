-- privileges.sql: who may execute, read and use what in schema indicina.
-- Every function of the extension is listed under exactly one of PUBLIC,
-- indicina_operator or superuser only, so a new function fails this test
-- until it is placed (and forgetting its REVOKE shows as a PUBLIC grant).
-- Runs in one transaction that is rolled back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION indicina;
SELECT plan(26);

CREATE TEMP TABLE expected_public (f text);
INSERT INTO expected_public VALUES
    ('indicina.version()'),
    ('indicina.parse_amount(text)'), ('indicina.parse_amount(text,text)'),
    ('indicina.try_parse_amount(text)'), ('indicina.try_parse_amount(text,text)'),
    ('indicina.parse_int(text)'), ('indicina.try_parse_int(text)'),
    ('indicina.parse_bool(text)'), ('indicina.try_parse_bool(text)'),
    ('indicina.parse_date(text)'), ('indicina.parse_date(text,text)'), ('indicina.parse_date(text,text,text)'),
    ('indicina.try_parse_date(text)'), ('indicina.try_parse_date(text,text)'),
    ('indicina.try_parse_date(text,text,text)'),
    ('indicina.parse_timestamp(text)'), ('indicina.parse_timestamp(text,text)'),
    ('indicina.parse_timestamp(text,text,text)'),
    ('indicina.try_parse_timestamp(text)'), ('indicina.try_parse_timestamp(text,text)'),
    ('indicina.try_parse_timestamp(text,text,text)'),
    ('indicina.normalize_id(text)'), ('indicina.try_normalize_id(text)'),
    ('indicina.normalize_phone(text)'), ('indicina.normalize_phone(text,text)'),
    ('indicina.try_normalize_phone(text)'), ('indicina.try_normalize_phone(text,text)'),
    ('indicina.is_valid_bvn(text)'), ('indicina.label_key(text)'),
    ('indicina.normalize_label(text,text)'), ('indicina.try_normalize_label(text,text)');

-- what a nightly job's role needs beyond PUBLIC: running loads and
-- pipelines (and every step they call with the caller's rights), reading
-- the run log, the quality history and the rejects
CREATE TEMP TABLE expected_operator (f text);
INSERT INTO expected_operator VALUES
    ('indicina.run_pipeline(regclass,regclass,name,boolean)'),
    ('indicina.create_warehouse(name,name)'),
    ('indicina.upgrade_warehouse(name)'),
    ('indicina.create_change_indexes(name)'),
    ('indicina.tracked_tables()'),
    ('indicina.schedule_pipeline(text,regclass,regclass,name,text,name)'),
    ('indicina.run_and_unload(regclass,regclass,name,name)'),
    ('indicina.unschedule_pipeline(text)'),
    ('indicina.requeue_quarantined(regclass,name)'),
    ('indicina.load_checked(regclass,regclass)'),
    ('indicina."check"(regclass)'),
    ('indicina.recheck_quarantined(regclass)'),
    ('indicina.attach_default_rules(regclass,regclass)'),
    ('indicina.check_rule_expression(regclass,text)'),
    ('indicina.read_load_errors()'),
    ('indicina.journal_read(text)'),
    ('indicina.journal_write(text,jsonb)'),
    ('indicina.log_reject(bigint,text,text,bigint,text,text,text,text,text)'),
    ('indicina.source_files(regclass,boolean,text[])'),
    ('indicina.stage(bigint,regclass,name,boolean,text[],jsonb,text)'),
    ('indicina.stage_read(regclass,name,boolean,text[],jsonb,text,boolean)'),
    ('indicina.stage_row_rules(bigint,regclass,regclass,boolean,boolean)'),
    ('indicina.stage_set_rules(bigint,regclass,regclass,boolean,boolean,text[],jsonb)'),
    ('indicina.recheck_rows(regclass,name)'),
    ('indicina.splice_source(text,text)'),
    ('indicina.apply_failures(indicina.quality_rules,bigint,regclass,regclass,bigint,boolean,boolean,text)'),
    ('indicina.set_rule_failures(indicina.quality_rules,regclass,name,name,jsonb)'),
    ('indicina.set_rule_unique_failures(indicina.quality_rules,regclass,name,name)'),
    ('indicina.set_rule_duplicate_failures(indicina.quality_rules,regclass,name,name)'),
    ('indicina.batch_lineage(name,name,text)'),
    ('indicina.row_rule_failures(regclass,regclass)'),
    ('indicina.rule_outcome(text,bigint,bigint,numeric,boolean)'),
    ('indicina.journal_row_rule_results(bigint)'),
    ('indicina.journal_failed_run(bigint,regclass,text,text,jsonb)'),
    ('indicina.run_begin(text,jsonb)'),
    ('indicina.run_end(bigint,text,jsonb)'),
    ('indicina.lineage_column(regclass,text)'),
    ('indicina.lineage_columns(regclass)'),
    ('indicina.qualified_name(regclass)'),
    ('indicina.is_row_rule(text)'),
    ('indicina.simple_regex_match(text,text)'),
    ('indicina.scan_file_stats()'),
    ('indicina.scan_rule_stats()'),
    ('indicina.reset_scan_stats()'),
    ('indicina.arm_set_rules(regclass,jsonb)'),
    ('indicina.date_key(date)'),
    ('indicina.month_start(date)'),
    ('indicina.month_flow(numeric,numeric,date,text,bigint,boolean)'),
    ('indicina.risk_features(numeric,numeric,boolean,numeric)'),
    ('indicina.arm_month_flows(regclass,name,name,name,name,name,text[])'),
    ('indicina.scan_month_flows(date[])'),
    ('indicina.scan_month_flow_customers()'),
    ('indicina.scan_month_flows_ready()'),
    ('indicina.arm_key_lookup(text,text)'),
    ('indicina.key_lookup(text,text)'),
    ('indicina.key_lookup_at(text,text,date)'),
    ('indicina.drop_temp(text[])'),
    ('indicina.ensure_month_partitions(name,date,date)'),
    ('indicina.pipeline_step(jsonb,text,timestamp with time zone,jsonb)'),
    ('indicina.plan_files(name,text,regclass)'),
    ('indicina.record_ledger(name,bigint,text,regclass,regclass,regclass,name)'),
    ('indicina.record_ledger_stamps(name)'),
    ('indicina.pipeline_begin(regclass,regclass,name,boolean)'),
    ('indicina.record_deleted(indicina.pipeline_run,text,text,text[])'),
    ('indicina.pipeline_plan_files(indicina.pipeline_run)'),
    ('indicina.pipeline_replace_corrected_files(indicina.pipeline_run)'),
    ('indicina.pipeline_nothing_new(indicina.pipeline_run)'),
    ('indicina.pipeline_stage_loans(indicina.pipeline_run,text[])'),
    ('indicina.pipeline_dimensions(indicina.pipeline_run,text[])'),
    ('indicina.pipeline_customer_versions(indicina.pipeline_run)'),
    ('indicina.pipeline_arm_customers(indicina.pipeline_run)'),
    ('indicina.pipeline_loan_facts(indicina.pipeline_run)'),
    ('indicina.pipeline_transactions(indicina.pipeline_run,text[],date,date)'),
    ('indicina.pipeline_aggregates(indicina.pipeline_run,date,date,date[],boolean)'),
    ('indicina.pipeline_customer_months(indicina.pipeline_run,date,date,date[],boolean)'),
    ('indicina.pipeline_merge_customer_months(indicina.pipeline_run,date,date)'),
    ('indicina.pipeline_risk_features(indicina.pipeline_run)'),
    ('indicina.pipeline_ledger(indicina.pipeline_run,regclass)'),
    ('indicina.unload(name,name,text,text[],text,text,integer,bigint,text,text,integer)'),
    ('indicina.unload_begin(name,name,text,text,text,integer,bigint,text)'),
    ('indicina.unload_catalog()'),
    ('indicina.unload_columns(name,text)'),
    ('indicina.unload_plan(name,text[])'),
    ('indicina.unload_watermark_sql(name)'),
    ('indicina.unload_queries(name,name,text[],text)'),
    ('indicina.unload_meta_sql(name)'),
    ('indicina.unload_write(name,text,text[],text[],text[],text,integer,bigint,text,boolean,text,text[],integer)'),
    ('indicina.tid_block(tid)'),
    ('indicina.unload_check_server(name)'),
    ('indicina.unload_write_files(name,text,text,text[],text[])'),
    ('indicina.unload_table_json(name,text,text)'),
    ('indicina.unload_widths(text)'),
    ('indicina.unload_deliver(indicina.unload_history,text,jsonb,integer)'),
    ('indicina.unload_json(indicina.unload_history,jsonb)'),
    ('indicina.unload_follows(indicina.unload_history)'),
    ('indicina.unload_known_width(name,text,text,name)'),
    ('indicina.redshift_type(regtype,integer,integer)'),
    ('indicina.redshift_encoding(text)'),
    ('indicina.redshift_table_ddl(name,jsonb)'),
    ('indicina.redshift_unknown_member(name,jsonb)'),
    ('indicina.redshift_ddl_for(name,jsonb)'),
    ('indicina.redshift_ddl(name)'),
    ('indicina.redshift_copy(name,text,jsonb,text,text)'),
    ('indicina.redshift_widen(indicina.unload_history)'),
    ('indicina.redshift_deletes(text,jsonb)'),
    ('indicina.redshift_table_load(indicina.unload_history,jsonb,text)'),
    ('indicina.redshift_load_sql_for(indicina.unload_history,text)'),
    ('indicina.redshift_load_sql(bigint,text)'),
    ('indicina.check_iam_role(text)'),
    -- the dashboard and the mart views it reads
    ('indicina.create_mart_views(name,name)'),
    ('indicina.dashboard(name,text,name,boolean,integer,integer)'),
    ('indicina.dashboard_asset(text)'),
    ('indicina.dashboard_index(jsonb,text,text)'),
    ('indicina.dashboard_query(text,name,name,jsonb,text,text)'),
    ('indicina.dashboard_sql(text,name,name)'),
    ('indicina.dashboard_cell(bigint)'),
    ('indicina.dashboard_profile_cells(name,name,jsonb)'),
    ('indicina.dashboard_dims(name,name)'),
    ('indicina.dashboard_cells(name,name,jsonb)'),
    ('indicina.dashboard_riskiest(name,name,jsonb,integer,boolean)'),
    ('indicina.dashboard_quality(name,name,integer)'),
    ('indicina.dashboard_last_unload(name)'),
    ('indicina.dashboard_data(name,name,text,boolean,integer,integer)'),
    ('indicina.dashboard_render(text,jsonb)'),
    ('indicina.html_escape(text)');

-- superuser only: the FDW's handler and validator (the server calls them
-- without an EXECUTE check), declaring and changing rules (their
-- expressions run in every scan), emptying the reject log, the
-- aggregates' support functions (checked against the aggregate's owner)
CREATE TEMP TABLE expected_superuser (f text);
INSERT INTO expected_superuser VALUES
    ('indicina.csv_handler()'), ('indicina.csv_validator(text[],oid)'),
    ('indicina.add_rule(text,regclass,text,text[],jsonb,text,text,boolean,text,boolean)'),
    ('indicina.check_columns_exist(text,regclass,text[])'),
    ('indicina.check_rule_columns(text,regclass,text,text[])'),
    ('indicina.check_rule_param_names(text,jsonb)'),
    ('indicina.check_row_rule_params(text,regclass,text,text[],jsonb,regtype)'),
    ('indicina.check_set_rule_params(text,regclass,text,text[],jsonb)'),
    ('indicina.check_count_bounds(text,text,jsonb,regtype)'),
    ('indicina.set_rule_enabled(regclass,text,boolean)'),
    ('indicina.drop_rule(regclass,text)'),
    ('indicina.clear_load_errors()'), ('indicina.clear_load_errors(regclass)'),
    ('indicina.month_flow_step(internal,numeric,numeric,date,text,bigint,boolean)'),
    ('indicina.month_flow_final(internal)'),
    ('indicina.risk_features_step(internal,numeric,numeric,boolean,numeric)'),
    ('indicina.risk_features_final(internal)');

CREATE TEMP VIEW indicina_functions AS
    SELECT p.oid, p.oid::regprocedure::text AS f FROM pg_proc p WHERE p.pronamespace = 'indicina'::regnamespace;

SELECT is_empty(
    $$SELECT f FROM (SELECT f FROM expected_public UNION ALL SELECT f FROM expected_operator
                     UNION ALL SELECT f FROM expected_superuser) e GROUP BY f HAVING count(*) > 1$$,
    'no function is listed twice');
SELECT set_eq(
    'SELECT f FROM indicina_functions',
    'SELECT f FROM expected_public UNION SELECT f FROM expected_operator UNION SELECT f FROM expected_superuser',
    'every function of schema indicina is placed under PUBLIC, indicina_operator or superuser only');
SELECT set_eq(
    $$SELECT f FROM indicina_functions WHERE has_function_privilege('public', oid, 'EXECUTE')$$,
    'SELECT f FROM expected_public',
    'PUBLIC may execute the parsers, normalize_label, label_key and version(), nothing else');
SELECT set_eq(
    $$SELECT f FROM indicina_functions WHERE has_function_privilege('indicina_operator', oid, 'EXECUTE')$$,
    'SELECT f FROM expected_public UNION SELECT f FROM expected_operator',
    'indicina_operator may execute the parsers and what runs and reads a load or a pipeline');
SELECT is_empty(
    $$SELECT f FROM indicina_functions p JOIN pg_proc q USING (oid)
       WHERE q.prosecdef AND NOT EXISTS (SELECT 1 FROM unnest(q.proconfig) c WHERE c LIKE 'search_path=%')$$,
    'every SECURITY DEFINER function sets its search_path');
SELECT is_empty(
    $$SELECT f FROM indicina_functions p JOIN pg_proc q USING (oid) WHERE q.prosecdef$$,
    'no function runs with its owner''s rights (rules are read by the scan itself, see rules.c)');

-- relations, sequences and the schema
SELECT set_eq(
    $$SELECT c.relname::text, p.priv FROM pg_class c,
             unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) p(priv)
       WHERE c.relnamespace = 'indicina'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
         AND has_table_privilege('public', c.oid, p.priv)$$,
    $$VALUES ('label_map', 'SELECT')$$,
    'PUBLIC may only read label_map (every normalize_label call and label column reads it)');
SELECT set_eq(
    $$SELECT c.relname::text, p.priv FROM pg_class c,
             unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) p(priv)
       WHERE c.relnamespace = 'indicina'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
         AND has_table_privilege('indicina_operator', c.oid, p.priv)$$,
    $$VALUES ('label_map', 'SELECT'), ('quality_rules', 'SELECT'), ('load_errors', 'SELECT'), ('runs', 'SELECT'),
             ('quality_results', 'SELECT'), ('quality_summary', 'SELECT'), ('pipeline_runs', 'SELECT'),
             ('unloads', 'SELECT'), ('unload_history', 'SELECT'), ('unload_history', 'INSERT')$$,
    'indicina_operator may read the rules, the rejects, the runs, the quality history and the unloads; write only the unload ledger');
SELECT is_empty(
    $$SELECT c.relname::text, p.priv FROM pg_class c, unnest('{USAGE,SELECT,UPDATE}'::text[]) p(priv)
       WHERE c.relnamespace = 'indicina'::regnamespace AND c.relkind = 'S'
         AND has_sequence_privilege('public', c.oid, p.priv)$$,
    'PUBLIC may use no sequence (a scan takes its id without a privilege check)');
SELECT set_eq(
    $$SELECT c.relname::text, p.priv FROM pg_class c, unnest('{USAGE,SELECT,UPDATE}'::text[]) p(priv)
       WHERE c.relnamespace = 'indicina'::regnamespace AND c.relkind = 'S'
         AND has_sequence_privilege('indicina_operator', c.oid, p.priv)$$,
    $$VALUES ('run_id_seq', 'USAGE')$$,
    'indicina_operator may draw run ids');
SELECT ok(has_schema_privilege('public', 'indicina', 'USAGE') AND NOT has_schema_privilege('public', 'indicina', 'CREATE'),
          'PUBLIC has USAGE on schema indicina, not CREATE');
SELECT is((SELECT count(*)::int FROM pg_default_acl d WHERE d.defaclnamespace = 'indicina'::regnamespace), 0,
          'no default privileges hand later objects out');

-- the role itself
SELECT ok((SELECT NOT rolcanlogin AND NOT rolsuper AND NOT rolcreaterole AND NOT rolcreatedb AND NOT rolbypassrls
             FROM pg_roles WHERE rolname = 'indicina_operator'),
          'indicina_operator is a NOLOGIN group role without attributes');
SELECT ok(NOT pg_has_role('indicina_operator', 'pg_read_server_files', 'MEMBER'),
          'indicina_operator is not a member of pg_read_server_files');
SELECT is((SELECT count(*)::int FROM pg_auth_members m WHERE m.member = 'indicina_operator'::regrole), 0,
          'indicina_operator is a member of no role');

-- an ordinary role: the parsers, and nothing else
CREATE ROLE regress_tap_nobody;
SET ROLE regress_tap_nobody;
SELECT is(indicina.parse_amount('1,200.50 DR'), -1200.50, 'an ordinary role can use the parsers');
SELECT is(indicina.normalize_label('self employed', 'employment_status'), 'Self-Employed',
          'an ordinary role can normalize labels');
SELECT throws_ok('SELECT count(*) FROM indicina.quality_rules', '42501',
                 'permission denied for table quality_rules', 'an ordinary role cannot read the rules');
SELECT throws_ok('SELECT count(*) FROM indicina.runs', '42501', 'permission denied for view runs',
                 'an ordinary role cannot read the runs');
SELECT throws_ok('SELECT count(*) FROM indicina.load_errors', '42501', 'permission denied for view load_errors',
                 'an ordinary role cannot read the rejects');
SELECT throws_ok($$SELECT indicina.create_warehouse('regress_tap_dw')$$, '42501',
                 'permission denied for function create_warehouse', 'an ordinary role cannot create a warehouse');
SELECT throws_ok($$SELECT indicina.dashboard('regress_tap_dw')$$, '42501',
                 'permission denied for function dashboard', 'an ordinary role cannot draw the dashboard');
SELECT throws_ok($$SELECT indicina.arm_key_lookup('x', 'SELECT ''a''::text, 1::bigint')$$, '42501',
                 'permission denied for function arm_key_lookup', 'an ordinary role cannot arm pipeline state');
RESET ROLE;

-- a member of indicina_operator reads the run log and rejects, writes no rule
CREATE ROLE regress_tap_nightly IN ROLE indicina_operator;
SET ROLE regress_tap_nightly;
SELECT lives_ok('SELECT count(*) FROM indicina.runs, indicina.load_errors', 'an operator reads runs and rejects');
SELECT throws_ok($$SELECT indicina.dashboard('regress_tap_dw')$$, '42704', 'warehouse regress_tap_dw does not exist',
                 'an operator may call the dashboard (which names a missing warehouse)');
SELECT throws_ok($$SELECT indicina.add_rule('r', 'indicina.label_map', 'not_null', '{label}')$$, '42501',
                 'permission denied for function add_rule', 'an operator does not declare rules');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
