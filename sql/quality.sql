-- quality.sql: data-quality rules.  Declaring them (every refusal has its
-- message), every row and set kind under every severity on small fixtures,
-- the dry run, the validated load with its rejects and history, re-checking
-- quarantined rows, and the same row rules on a plain table (SQL path).
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data/quality'
\i :abs_srcdir/test/data/regress_session.sql
CREATE SERVER quality_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
\set server quality_files \set employment_format plain
\set loans q_loans \set loans_file loans.csv
\set statements q_statements \set statements_file statements.csv
\i :abs_srcdir/test/data/landing_tables.sql

-- ---- refused definitions ----
SELECT indicina.add_rule('x; DROP TABLE q_loans', 'q_loans', 'not_null', '{credit_score}');
SELECT indicina.add_rule('Bad', 'q_loans', 'not_null', '{credit_score}');
SELECT indicina.add_rule('r', 'q_loans', 'no_such_kind', '{credit_score}');
SELECT indicina.add_rule('r', 'q_loans', 'not_null', '{no_such_column}');
SELECT indicina.add_rule('r', 'q_loans', 'not_null', '{credit_score,loan_amount}');
SELECT indicina.add_rule('r', 'q_loans', 'range', '{credit_score}', '{"min": 850, "max": 300}');
SELECT indicina.add_rule('r', 'q_loans', 'range', '{credit_score}', '{"min": 5, "max": 5, "max_inclusive": false}');
SELECT indicina.add_rule('r', 'q_loans', 'range', '{loan_application_date}', '{"min": "soon"}');
SELECT indicina.add_rule('r', 'q_loans', 'range', '{credit_score}', '{}');
SELECT indicina.add_rule('r', 'q_loans', 'range', '{credit_score}', '{"minimum": 1}');
SELECT indicina.add_rule('r', 'q_loans', 'regex', '{application_id}', '{"pattern": "APP_(["}');
SELECT indicina.add_rule('r', 'q_loans', 'length', '{customer_id}', '{"min": 9, "max": 3}');
SELECT indicina.add_rule('r', 'q_loans', 'not_future', '{credit_score}');
SELECT indicina.add_rule('r', 'q_loans', 'accepted_values', '{employment_status}', '{"domain": "no_such_domain"}');
SELECT indicina.add_rule('r', 'q_loans', 'accepted_values', '{employment_status}', '{"values": []}');
SELECT indicina.add_rule('r', 'q_loans', 'expression', params => '{"sql": "loan_amount + 1"}');
SELECT indicina.add_rule('r', 'q_loans', 'expression', params => '{"sql": "no_such_column > 0"}');
SELECT indicina.add_rule('r', 'q_loans', 'expression', params => '{"sql": "true; DROP TABLE q_loans"}');
SELECT indicina.add_rule('r', 'q_loans', 'expression', params => '{"sql": "true FROM pg_class"}');
SELECT indicina.add_rule('r', 'q_loans', 'expression', params => '{"sql": "loan_amount > (SELECT 1)"}');
SELECT indicina.add_rule('r', 'q_loans', 'row_count', params => '{"min": 1}', severity => 'reject');
SELECT indicina.add_rule('r', 'q_loans', 'row_count', params => '{"min": 10, "max": 1}', severity => 'warn');
SELECT indicina.add_rule('r', 'q_loans', 'row_count', params => '{}', severity => 'warn');
SELECT indicina.add_rule('r', 'q_loans', 'length', '{customer_id}', '{"min": 1.5}');
SELECT indicina.add_rule('r', 'q_loans', 'length', '{customer_id}', '{"max": 99999999999}');
SELECT indicina.add_rule('r', 'q_loans', 'references', '{customer_id}', '{"relation": "no_such_table"}');
SELECT indicina.add_rule('r', 'q_loans', 'balance_continuity');
SELECT indicina.add_rule('r', 'q_loans', 'not_null', '{credit_score}', severity => 'sometimes');
SELECT indicina.add_rule('r', 'q_loans', 'not_null', '{credit_score}', threshold => 'lots');
SELECT indicina.add_rule('r', 'q_loans', 'not_null', '{credit_score}', threshold => '150%');
SELECT count(*) AS rules_after_refusals FROM indicina.quality_rules;

-- ---- the rules of the two fixtures ----
SELECT indicina.add_rule('score_range', 'q_loans', 'range', '{credit_score}', '{"min": 300, "max": 850}') > 0 AS added;
SELECT indicina.add_rule('score_range', 'q_loans', 'range', '{credit_score}', '{"min": 300, "max": 850}');
SELECT count(*) FROM (VALUES
    (indicina.add_rule('loan_positive', 'q_loans', 'range', '{loan_amount}', '{"min": 0, "min_inclusive": false}')),
    (indicina.add_rule('app_not_future', 'q_loans', 'not_future', '{loan_application_date}')),
    (indicina.add_rule('status_known', 'q_loans', 'accepted_values', '{employment_status}',
                       '{"domain": "employment_status"}', 'warn')),
    (indicina.add_rule('score_present', 'q_loans', 'not_null', '{credit_score}', severity => 'warn')),
    (indicina.add_rule('app_id_shape', 'q_loans', 'regex', '{application_id}', '{"pattern": "^APP_[0-9]+$"}')),
    (indicina.add_rule('customer_id_length', 'q_loans', 'length', '{customer_id}', '{"min": 3, "max": 20}')),
    (indicina.add_rule('loan_within_income', 'q_loans', 'expression',
                       params => '{"sql": "loan_amount <= annual_income * 2"}', severity => 'warn')),
    (indicina.add_rule('app_unique', 'q_loans', 'unique', '{application_id}')),
    (indicina.add_rule('enough_loans', 'q_loans', 'row_count', params => '{"min": 3}', severity => 'fail')),
    (indicina.add_rule('loans_fresh', 'q_loans', 'freshness', '{loan_application_date}', '{"max_age_days": 30}',
                       severity => 'warn')),
    (indicina.add_rule('txn_rows_unique', 'q_statements', 'duplicate_rows')),
    (indicina.add_rule('txn_unique', 'q_statements', 'unique', '{transaction_id}')),
    (indicina.add_rule('txn_customer_known', 'q_statements', 'references', '{customer_id}',
                       '{"relation": "q_loans"}', 'warn')),
    (indicina.add_rule('balance_continuity', 'q_statements', 'balance_continuity', severity => 'warn')),
    (indicina.add_rule('narration_listed', 'q_statements', 'accepted_values', '{narration}',
                       '{"values": ["Monthly Income", "POS Purchase", "Bill Payment"]}', 'warn'))) v(id);
SELECT name, kind, columns, params, severity, fail_threshold, enabled FROM indicina.quality_rules ORDER BY relation::text, name;

-- ---- the dry run: what would fail, nothing recorded ----
SELECT indicina.clear_load_errors() >= 0 AS cleared;
SELECT rule, kind, severity, rows_checked, rows_failed, outcome, samples FROM indicina.check('q_loans');
SELECT rule, kind, severity, rows_checked, rows_failed, outcome, samples FROM indicina.check('q_statements');
SELECT count(*) AS recorded_by_dry_runs FROM indicina.load_errors;

-- ---- a validated load: rejects with their rule, warnings flagged, history ----
CREATE TABLE loans_clean (application_id text, customer_id text, loan_amount numeric, credit_score int, extra text);
SELECT rows_read, rows_loaded, rows_rejected, rows_flagged FROM indicina.load_checked('q_loans', 'loans_clean');
SELECT application_id, customer_id, loan_amount, credit_score FROM loans_clean ORDER BY application_id;
SELECT relation, file, line, column_name, code, message, raw_value FROM indicina.load_errors
 WHERE relation = 'q_loans' ORDER BY line, code;
SELECT file, line, code, message FROM indicina.read_load_errors() WHERE relation = 'q_loans' AND code LIKE 'WARN:%'
 ORDER BY line, code;
SELECT kind, status, details FROM indicina.runs ORDER BY run_id DESC LIMIT 1;
SELECT rule, rows_checked, rows_failed, outcome, run_status FROM indicina.quality_results
 WHERE run_id = (SELECT max(run_id) FROM indicina.runs) ORDER BY rule;

-- ---- fail: the run stops, the target is untouched, the failure is recorded ----
SELECT indicina.add_rule('enough_loans', 'q_loans', 'row_count', params => '{"min": 50}', severity => 'fail',
                         replace => true) > 0 AS replaced;
SELECT rows_loaded FROM indicina.load_checked('q_loans', 'loans_clean');
SELECT count(*) AS still_loaded FROM loans_clean;
SELECT kind, status, message FROM indicina.runs ORDER BY run_id DESC LIMIT 1;
-- a fail row rule over its threshold (count) stops the scan itself
SELECT indicina.set_rule_enabled('q_loans', 'enough_loans', false);
SELECT indicina.add_rule('score_range', 'q_loans', 'range', '{credit_score}', '{"min": 300, "max": 850}',
                         severity => 'fail', threshold => '0', replace => true) > 0 AS replaced;
SELECT rows_loaded FROM indicina.load_checked('q_loans', 'loans_clean');
SELECT status, message FROM indicina.runs ORDER BY run_id DESC LIMIT 1;
SELECT rule, rows_failed, outcome, run_status FROM indicina.quality_results
 WHERE run_id = (SELECT max(run_id) FROM indicina.runs) ORDER BY rule;
-- under a percentage threshold it is tolerated: 1 of 10 rows is 10%
SELECT indicina.add_rule('score_range', 'q_loans', 'range', '{credit_score}', '{"min": 300, "max": 850}',
                         severity => 'fail', threshold => '20%', replace => true) > 0 AS replaced;
SELECT rows_read, rows_loaded, rows_rejected FROM indicina.load_checked('q_loans', 'loans_clean');
SELECT rule, rows_checked, rows_failed, outcome FROM indicina.quality_results
 WHERE run_id = (SELECT max(run_id) FROM indicina.runs) AND rule = 'score_range';

-- ---- history: the summary keeps the trend ----
SELECT rule, rows_failed, failed_last_runs, trend FROM indicina.quality_summary
 WHERE relation = 'public.q_loans' ORDER BY rule;

-- ---- a rolled-back run is shown as such ----
BEGIN;
SELECT rows_loaded FROM indicina.load_checked('q_loans', 'loans_clean');
ROLLBACK;
SELECT status FROM indicina.runs ORDER BY run_id DESC LIMIT 1;

-- ---- statements: set rules in order, each on what the one before left ----
CREATE TABLE statements_clean (LIKE q_statements);
SELECT rows_read, rows_loaded, rows_rejected, rows_flagged FROM indicina.load_checked('q_statements', 'statements_clean');
SELECT transaction_id, customer_id, balance FROM statements_clean ORDER BY source_line;
SELECT line, code, message, raw_value FROM indicina.load_errors WHERE relation = 'q_statements' ORDER BY line;
SELECT line, code, message, raw_value FROM indicina.read_load_errors() WHERE relation = 'q_statements'
   AND code LIKE 'WARN:%' ORDER BY line, code;

-- ---- re-checking quarantined rows after a rule is fixed ----
SELECT line, code, loads_now FROM indicina.recheck_quarantined('q_loans') ORDER BY line;
SELECT indicina.add_rule('app_id_shape', 'q_loans', 'regex', '{application_id}', '{"pattern": "^APP[_-][0-9]+$"}',
                         replace => true) > 0 AS fixed;
SELECT line, code, loads_now FROM indicina.recheck_quarantined('q_loans') ORDER BY line;

-- ---- a plain table: the same row rules, evaluated in SQL, agree ----
\set loans q_loans_unruled \unset statements
\i :abs_srcdir/test/data/landing_tables.sql
CREATE TABLE t_loans AS SELECT * FROM q_loans_unruled;
-- a plain table has no lineage columns to re-check its rows by
SELECT * FROM indicina.recheck_quarantined('t_loans');
INSERT INTO indicina.quality_rules (name, relation, kind, columns, params, severity, fail_threshold,
                                    fail_threshold_percent, enabled)
SELECT name, 't_loans'::regclass, kind, columns, params, severity, fail_threshold, fail_threshold_percent, enabled
  FROM indicina.quality_rules WHERE relation = 'q_loans'::regclass AND indicina.is_row_rule(kind);
SELECT f.rule, f.rows_failed AS in_scan, t.rows_failed AS in_sql
  FROM indicina.check('q_loans') f JOIN indicina.check('t_loans') t USING (rule) ORDER BY rule;

-- ---- set rules judged inside the scan agree with the SQL over a batch ----
-- q_statements' references rule reads a foreign table, so its set rules all
-- run as SQL after the scan (all or none); here they read a plain table and
-- the scan judges them.  The same rules on a plain copy go through the SQL.
-- statements_more.csv repeats a row whose key came with other content
-- before (T5), and has a copy of a row with a NULL in a unique key (T10).
SELECT indicina.arm_set_rules('q_statements') AS armed_when_references_read_a_foreign_table;
CREATE TABLE t_known AS SELECT DISTINCT customer_id FROM q_loans_unruled;
\unset loans \set statements q_statements_scan \set statements_file 'statements.csv, statements_more.csv'
\i :abs_srcdir/test/data/landing_tables.sql
-- (without the lineage columns: on a plain table they would be data)
CREATE TABLE t_statements AS
SELECT transaction_id, customer_id, transaction_date, transaction_amount, narration, balance FROM q_statements_scan;
SELECT count(*) FROM (VALUES
    (indicina.add_rule('txn_rows_unique', 'q_statements_scan', 'duplicate_rows', severity => 'warn')),
    (indicina.add_rule('txn_unique', 'q_statements_scan', 'unique', '{transaction_id}')),
    (indicina.add_rule('txn_day_unique', 'q_statements_scan', 'unique', '{customer_id,transaction_date}',
                       severity => 'warn')),
    (indicina.add_rule('txn_customer_known', 'q_statements_scan', 'references', '{customer_id}',
                       '{"relation": "t_known"}', 'warn')),
    (indicina.add_rule('balance_continuity', 'q_statements_scan', 'balance_continuity', '{}', '{"tolerance": 40}',
                       'warn'))) v(id);
INSERT INTO indicina.quality_rules (name, relation, kind, columns, params, severity)
SELECT name, 't_statements'::regclass, kind, columns, params, severity
  FROM indicina.quality_rules WHERE relation = 'q_statements_scan'::regclass;
BEGIN;
SELECT indicina.arm_set_rules('q_statements_scan') AS armed;
ROLLBACK;
SELECT f.rule, f.rows_checked AS checked_in_scan, t.rows_checked AS checked_in_sql,
       f.rows_failed AS failed_in_scan, t.rows_failed AS failed_in_sql,
       -- a plain table has no lineage: compare what failed and why, not where
       (SELECT jsonb_agg(y ORDER BY y::text) FROM jsonb_array_elements(f.samples) x, LATERAL (SELECT x - '{file,line}'::text[]) z(y))
       IS NOT DISTINCT FROM
       (SELECT jsonb_agg(y ORDER BY y::text) FROM jsonb_array_elements(t.samples) x, LATERAL (SELECT x - '{file,line}'::text[]) z(y))
           AS same_samples
  FROM indicina.check('q_statements_scan') f JOIN indicina.check('t_statements') t USING (rule) ORDER BY rule;
SELECT samples FROM indicina.check('q_statements_scan') WHERE rule IN ('balance_continuity', 'txn_day_unique')
 ORDER BY rule;
-- the load: rejects and flags recorded by the scan, each with its file and line
CREATE TABLE statements_scan_clean (LIKE q_statements_scan);
SELECT rows_read, rows_loaded, rows_rejected, rows_flagged
  FROM indicina.load_checked('q_statements_scan', 'statements_scan_clean');
SELECT file, line, code, column_name, message, raw_value, raw_line IS NOT NULL AS has_raw_line
  FROM indicina.read_load_errors() WHERE relation = 'q_statements_scan' ORDER BY file, line, code;
-- a reject balance_continuity cannot be judged before its rows are returned: SQL for all
UPDATE indicina.quality_rules SET severity = 'reject'
 WHERE relation = 'q_statements_scan'::regclass AND name = 'balance_continuity';
SELECT indicina.arm_set_rules('q_statements_scan') AS armed_with_reject_continuity;
SELECT rule, rows_failed FROM indicina.check('q_statements_scan') ORDER BY rule;
-- back in the scan, every rule warn: one row flagged by six set rules at once
UPDATE indicina.quality_rules SET severity = 'warn' WHERE relation = 'q_statements_scan'::regclass;
SELECT count(*) FROM (VALUES
    (indicina.add_rule('txn_customer_unique', 'q_statements_scan', 'unique', '{customer_id}', severity => 'warn')),
    (indicina.add_rule('txn_amount_unique', 'q_statements_scan', 'unique', '{transaction_amount}', severity => 'warn'))
    ) v(id);
SELECT indicina.clear_load_errors() >= 0 AS cleared;
SELECT rows_read, rows_loaded, rows_rejected, rows_flagged
  FROM indicina.load_checked('q_statements_scan', 'statements_scan_clean');
SELECT string_agg(code, ', ' ORDER BY code) AS flags_of_line_9
  FROM indicina.read_load_errors() WHERE relation = 'q_statements_scan' AND file = 'statements.csv' AND line = 9;
-- a fail rule past its threshold stops the scan, with the same error as a row rule's
UPDATE indicina.quality_rules SET severity = 'fail', fail_threshold = 1
 WHERE relation = 'q_statements_scan'::regclass AND name = 'txn_unique';
SELECT rows_loaded FROM indicina.load_checked('q_statements_scan', 'statements_scan_clean');
SELECT count(*) AS rows_kept_after_the_failed_load FROM statements_scan_clean;

-- ---- unique with against: a key already in another table fails too ----
-- T2 and T9 were loaded before (a NULL there matches nothing).  The against
-- table is read by SQL, so this relation's set rules run over a batch.
CREATE TABLE t_loaded_before (transaction_id text);
INSERT INTO t_loaded_before VALUES ('T2'), ('T9'), (NULL);
\set statements q_statements_again
\i :abs_srcdir/test/data/landing_tables.sql
SELECT indicina.add_rule('txn_unique_everywhere', 'q_statements_again', 'unique', '{transaction_id}',
                         '{"against": "t_loaded_before"}') IS NOT NULL AS added;
SELECT indicina.arm_set_rules('q_statements_again') AS judged_in_scan;
SELECT rule, rows_checked, rows_failed, samples FROM indicina.check('q_statements_again');
CREATE TABLE again_clean (LIKE q_statements_again);
SELECT rows_read, rows_loaded, rows_rejected, rows_flagged
  FROM indicina.load_checked('q_statements_again', 'again_clean');
SELECT string_agg(transaction_id, ' ' ORDER BY source_file, source_line) AS loaded FROM again_clean;
SELECT file, line, code, message, raw_value
  FROM indicina.read_load_errors() WHERE relation = 'q_statements_again' ORDER BY file, line;
-- the against table needs the key columns
SELECT indicina.add_rule('txn_unique_elsewhere', 'q_statements_again', 'unique', '{transaction_id}',
                         '{"against": "t_known"}');

-- ---- a disabled rule is not checked; dropping one ----
SELECT indicina.set_rule_enabled('q_statements', 'balance_continuity', false);
SELECT rule FROM indicina.check('q_statements') ORDER BY rule;
SELECT indicina.drop_rule('q_statements', 'balance_continuity');
SELECT indicina.drop_rule('q_statements', 'balance_continuity');

-- ---- file pruning: a filter on the file column opens only those files ----
SELECT indicina.reset_scan_stats();
SELECT count(*) FROM q_statements WHERE source_file = ANY ('{other.csv}');
SELECT count(*) FROM q_statements WHERE source_file = 'statements.csv';
SELECT relation, file, rows_read, rows_rejected, rows_quarantined, rows_warned FROM indicina.scan_file_stats();

-- ---- the fast matcher of regex rules agrees with PostgreSQL's engine ----
CREATE TEMP TABLE rx_patterns (p text);
INSERT INTO rx_patterns VALUES ('^TXN_[0-9]+$'), ('^APP[_-][0-9]+$'), ('^[A-Z]{3}-\d{4,6}$'), ('[0-9]'),
    ('^CUST_\d{4}$'), ('^.+@.+\..+$'), ('^[^0-9]*$'), ('\s'), ('^\w+$'), ('ab?c*d+'), ('^a{2,}$'), ('^$'),
    ('x{0,2}y'), ('^[-a-c]+$'), ('^\.?[0-9]+\.[0-9]{2}$'), ('^N/?A$'), ('(ab)+'), ('a|b'), ('^[[:alpha:]]+$'),
    ('a+?'), ('^caf.$'),
    -- past 63 positions: matched with position sets instead of the automaton
    ('^a{2,70}$'), ('x{64}y*'), ('^[0-9a]{10,80}$');
CREATE TEMP TABLE rx_values AS
SELECT unnest(ARRAY['TXN_1', 'TXN_', 'TXN_12a', 'xTXN_1', 'APP-9', 'APP_10', 'ABC-1234', 'ABC-123', 'abc-1234',
                    'CUST_0001', 'CUST_001', 'a@b.c', 'a@b', '', ' ', 'tab	x', 'word_1', 'acd', 'abccdd', 'ad',
                    'aa', 'a', 'aaa', 'y', 'xxy', 'xxxy', '-abc', 'abd', '.50', '1.50', '1.5', 'NA', 'N/A', 'N//A',
                    'café', 'cafe', 'caf€', E'line\nbreak', 'ab', 'abab', 'b',
                    repeat('a', 70), repeat('a', 71), repeat('x', 64) || 'yy', repeat('x', 63) || 'y',
                    repeat('0a', 40), repeat('0a', 41), 'TXN_1é', 'ABC-1234567', 'CUST_00012', 'ABÇ-1234']) AS v;
-- and 3,000 random strings over the characters the patterns name
SELECT setseed(0.42);
INSERT INTO rx_values
SELECT string_agg(substr('aAbcdxyCNTX_0159-.@/ ', 1 + floor(random() * 21)::int, 1), '')
  FROM generate_series(1, 3000) g, LATERAL generate_series(0, floor(random() * 9)::int + g * 0) k
 GROUP BY g;
SELECT count(*) > 50000 AS many_decided, count(*) FILTER (WHERE indicina.simple_regex_match(v, p) <> (v ~ p)) AS disagreements
  FROM rx_patterns, rx_values WHERE indicina.simple_regex_match(v, p) IS NOT NULL;
SELECT count(*) AS non_ascii_values_left_to_the_engine FROM rx_values
 WHERE v ~ '[^\x01-\x7f]' AND indicina.simple_regex_match(v, '^\w+$') IS NULL;
SELECT p FROM rx_patterns WHERE indicina.simple_regex_match('x', p) IS NULL ORDER BY p;

-- ---- the row rules' fast paths on awkward bytes ----
-- length counts characters, not bytes (ΩmegaÆØÅx: 9 characters, 13 bytes);
-- a label that shares its cache slot with an accepted one (same length,
-- first, middle and last byte) differs in its first or last eight bytes;
-- the regex byte tables send a non-ASCII byte to the engine
CREATE FOREIGN TABLE q_bytes (code text, label text, source_line bigint OPTIONS (source 'line'))
    SERVER quality_files OPTIONS (filename 'bytes.csv', on_error 'reject');
SELECT count(*) FROM (VALUES
    (indicina.add_rule('code_length', 'q_bytes', 'length', '{code}', '{"min": 4, "max": 9}', 'warn')),
    (indicina.add_rule('code_shape', 'q_bytes', 'regex', '{code}', '{"pattern": "^ID_[A-Z]{2,4}$"}', 'warn')),
    (indicina.add_rule('label_listed', 'q_bytes', 'accepted_values', '{label}', '{"values": ["Monthly Income"]}',
                       'warn'))) v(id);
SELECT rule, rows_checked, rows_failed, samples FROM indicina.check('q_bytes') ORDER BY rule;

-- balance_continuity in the scan on rows out of date order: each customer's
-- rows are put in date, file, line order before they are compared (CUST_A
-- holds; CUST_B breaks at lines 9 and 2), the same verdict as the SQL's
CREATE FOREIGN TABLE q_shuffled (transaction_id text, customer_id text, transaction_date date,
    transaction_amount numeric(14,2), narration text, balance numeric(14,2),
    source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line'))
    SERVER quality_files OPTIONS (filename 'statements_shuffled.csv', on_error 'reject');
CREATE TABLE t_shuffled AS
SELECT transaction_id, customer_id, transaction_date, transaction_amount, narration, balance FROM q_shuffled;
SELECT indicina.add_rule('balance_continuity', 'q_shuffled', 'balance_continuity', severity => 'warn') > 0 AS added;
SELECT indicina.add_rule('balance_continuity', 't_shuffled', 'balance_continuity', severity => 'warn') > 0 AS added;
SELECT rule, rows_checked, rows_failed, samples FROM indicina.check('q_shuffled');
SELECT rows_failed, (SELECT jsonb_agg(x - 'line' ORDER BY x->>'detail') FROM jsonb_array_elements(samples) x) AS samples
  FROM indicina.check('t_shuffled');

-- ---- privileges: loading and reading results is for indicina_operator; rules are the owner's ----
CREATE ROLE regress_q_loader IN ROLE indicina_operator;
CREATE ROLE regress_q_nobody;
GRANT SELECT ON q_loans TO regress_q_loader;
GRANT INSERT ON loans_clean TO regress_q_loader;
SET ROLE regress_q_loader;
SELECT rows_read, rows_loaded, rows_rejected FROM indicina.load_checked('q_loans', 'loans_clean');
SELECT status FROM indicina.runs ORDER BY run_id DESC LIMIT 1;
SELECT indicina.add_rule('by_loader', 'q_loans', 'not_null', '{credit_score}');
RESET ROLE;
SET ROLE regress_q_nobody;
SELECT count(*) FROM indicina.quality_results;
SELECT count(*) FROM indicina.load_errors;
SELECT count(*) > 0 AS rules_are_private FROM indicina.quality_rules;
SELECT indicina.normalize_label('self employed', 'employment_status') AS labels_are_for_everyone;
RESET ROLE;
DROP OWNED BY regress_q_loader, regress_q_nobody;
DROP ROLE regress_q_loader, regress_q_nobody;

-- ---- re-creating the extension goes on from the ids in the reject log and the journal ----
SELECT max(run_id) AS last_run FROM indicina.runs \gset
SELECT max(scan_id) AS last_scan FROM indicina.read_load_errors() \gset
SELECT count(*) > 0 AS set_rule_records_have_no_scan FROM indicina.read_load_errors() WHERE scan_id IS NULL;
DROP EXTENSION indicina CASCADE;
CREATE EXTENSION indicina;
SELECT nextval('indicina.run_id_seq') > :last_run AS run_ids_continue,
       nextval('indicina.scan_id_seq') > :last_scan AS scan_ids_continue;
