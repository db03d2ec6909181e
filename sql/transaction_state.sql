--
-- transaction_state: what one call arms for a later one (set rules for the
-- next scan, the customer-month accumulator and what its scan hands over,
-- key lookups) lives in core/txn_state.c and dies with the transaction or
-- the savepoint that armed it: the next scan ignores a stale arming, and
-- the functions that read one refuse with a clear error.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data/warehouse'
CREATE SERVER ts_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
CREATE FOREIGN TABLE ts_flows (
    transaction_id text NOT NULL, customer_id text NOT NULL,
    transaction_date date, transaction_amount numeric(14,2), narration text, balance numeric(14,2),
    source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line')
) SERVER ts_files OPTIONS (files 'flows_*.csv', on_error 'reject');
-- a set rule that fails whenever it is judged: customers occur more than once
SELECT indicina.add_rule('one_row_per_customer', 'ts_flows', 'unique', '{customer_id}', severity => 'warn') > 0
       AS added;
CREATE FUNCTION set_rules_judged() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(rows_checked), 0) FROM indicina.scan_rule_stats() WHERE phase = 'set'
$$;

-- set rules armed in a savepoint that is rolled back: the next scan ignores them
BEGIN;
SAVEPOINT s;
SELECT indicina.arm_set_rules('ts_flows') AS armed;
ROLLBACK TO SAVEPOINT s;
SELECT indicina.reset_scan_stats();
SELECT count(*) FROM ts_flows;
SELECT set_rules_judged() AS judged_after_rollback_to_savepoint;
COMMIT;
-- ... armed in a savepoint that is released: the next scan takes them
BEGIN;
SAVEPOINT s;
SELECT indicina.arm_set_rules('ts_flows') AS armed;
RELEASE SAVEPOINT s;
SELECT indicina.reset_scan_stats();
SELECT count(*) FROM ts_flows;
SELECT set_rules_judged() > 0 AS judged_after_release;
COMMIT;
-- ... armed in a transaction that aborts: the next transaction's scan ignores them
BEGIN;
SELECT indicina.arm_set_rules('ts_flows') AS armed;
ROLLBACK;
SELECT indicina.reset_scan_stats();
SELECT count(*) FROM ts_flows;
SELECT set_rules_judged() AS judged_after_rollback;
-- ... re-armed in an exception block that fails: the block's arming dies
-- with it and the one it replaced comes back
BEGIN;
SELECT indicina.arm_set_rules('ts_flows') AS armed;
DO $$
BEGIN
    PERFORM indicina.arm_set_rules('ts_flows');
    RAISE EXCEPTION 'rolled back';
EXCEPTION WHEN raise_exception THEN NULL;
END $$;
SELECT indicina.reset_scan_stats();
SELECT count(*) FROM ts_flows;
SELECT set_rules_judged() > 0 AS outer_arming_judged;
COMMIT;

CREATE FUNCTION arm_flows() RETURNS boolean LANGUAGE sql AS $$
    SELECT indicina.arm_month_flows('ts_flows', 'customer_id', 'transaction_date', 'transaction_amount', 'balance',
                                    'narration', '{Monthly Income}')
$$;
-- customer-months: a scan inside a rolled-back savepoint hands nothing over
BEGIN;
SAVEPOINT s;
SELECT arm_flows() AS armed;
SELECT count(*) FROM ts_flows;
SELECT indicina.scan_month_flows_ready() AS ready_in_savepoint;
ROLLBACK TO SAVEPOINT s;
SELECT indicina.scan_month_flows_ready() AS ready_after_rollback_to_savepoint;
SELECT count(*) FROM indicina.scan_month_flows(NULL);
ROLLBACK;
-- armed, then rolled back to before the scan: the scan accumulates nothing
BEGIN;
SAVEPOINT s;
SELECT arm_flows() AS armed;
ROLLBACK TO SAVEPOINT s;
SELECT count(*) FROM ts_flows;
SELECT indicina.scan_month_flows_ready() AS ready;
-- the handed-over customers die with their savepoint too
SELECT arm_flows() AS armed;
SELECT count(*) FROM ts_flows;
SAVEPOINT t;
SELECT count(*) AS customer_months FROM indicina.scan_month_flows(NULL);
ROLLBACK TO SAVEPOINT t;
SELECT * FROM indicina.scan_month_flow_customers();
ROLLBACK;

-- key lookups: armed in a rolled-back savepoint, or an aborted transaction, are gone
BEGIN;
SELECT indicina.arm_key_lookup('outer', $$SELECT 'a'::text, 1::bigint$$) AS keys;
SAVEPOINT s;
SELECT indicina.arm_key_lookup('inner', $$SELECT 'b'::text, 2::bigint$$) AS keys;
SELECT indicina.key_lookup('inner', 'b') AS inner_in_savepoint;
ROLLBACK TO SAVEPOINT s;
SELECT indicina.key_lookup('outer', 'a') AS outer_kept;
SELECT indicina.key_lookup('inner', 'b');
ROLLBACK;
BEGIN;
SELECT indicina.arm_key_lookup('outer', $$SELECT 'a'::text, 1::bigint$$) AS keys;
-- re-armed in a savepoint that rolls back: the earlier arming comes back
SAVEPOINT s;
SELECT indicina.arm_key_lookup('outer', $$SELECT 'a'::text, 3::bigint$$) AS keys;
SELECT indicina.key_lookup('outer', 'a') AS rearmed;
ROLLBACK TO SAVEPOINT s;
SELECT indicina.key_lookup('outer', 'a') AS restored;
-- re-armed in a savepoint that is released: the new arming stands
SAVEPOINT s;
SELECT indicina.arm_key_lookup('outer', $$SELECT 'a'::text, 4::bigint$$) AS keys;
RELEASE SAVEPOINT s;
SELECT indicina.key_lookup('outer', 'a') AS after_release;
ROLLBACK;
SELECT indicina.key_lookup('outer', 'a');
-- a cached call site sees an arming change within its transaction
BEGIN;
SELECT indicina.arm_key_lookup('k', $$SELECT 'a'::text, 1::bigint$$) AS keys;
PREPARE probe AS SELECT indicina.key_lookup('k', 'a');
EXECUTE probe;
SELECT indicina.arm_key_lookup('k', $$SELECT 'a'::text, 5::bigint$$) AS keys;
EXECUTE probe;
COMMIT;
EXECUTE probe;
DEALLOCATE probe;
DROP FUNCTION set_rules_judged();
DROP FUNCTION arm_flows();
SELECT indicina.drop_rule('ts_flows', 'one_row_per_customer');
