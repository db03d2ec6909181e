-- cents.sql: numerics as scaled 64-bit integers (src/core/cents.c) through
-- every SQL surface that converts them: the CSV converter at scales 0 to 4
-- and unconstrained, values at the int64 limits; range rules folded to
-- integer bounds (exact, exclusive, past the scale, past int64) against the
-- same rules over a plain table (the SQL path); balance_continuity's
-- amounts and tolerance; the scan's customer-month accumulator on whole
-- units against month_flow; month_flow and risk_features over values only
-- a table can hold (NaN, infinities, digits past the cent, past int64),
-- with the exact errors.
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data/cents'
\i :abs_srcdir/test/data/regress_session.sql
CREATE SERVER cents_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');

-- ---- the converter: one file at scales 0 to 4 and unconstrained ----
-- rounding half away from zero; -0.00 is 0; 99999.9999 rounds up a digit
CREATE FOREIGN TABLE cents_s0 (id int, v numeric(12,0)) SERVER cents_files OPTIONS (filename 'scales.csv', on_error 'reject');
CREATE FOREIGN TABLE cents_s1 (id int, v numeric(12,1)) SERVER cents_files OPTIONS (filename 'scales.csv', on_error 'reject');
CREATE FOREIGN TABLE cents_s2 (id int, v numeric(12,2)) SERVER cents_files OPTIONS (filename 'scales.csv', on_error 'reject');
CREATE FOREIGN TABLE cents_s3 (id int, v numeric(12,3)) SERVER cents_files OPTIONS (filename 'scales.csv', on_error 'reject');
CREATE FOREIGN TABLE cents_s4 (id int, v numeric(12,4)) SERVER cents_files OPTIONS (filename 'scales.csv', on_error 'reject');
CREATE FOREIGN TABLE cents_sx (id int, v numeric) SERVER cents_files OPTIONS (filename 'scales.csv', on_error 'reject');
SELECT id, s0.v AS s0, s1.v AS s1, s2.v AS s2, s3.v AS s3, s4.v AS s4, sx.v AS unconstrained
  FROM cents_s0 s0 JOIN cents_s1 s1 USING (id) JOIN cents_s2 s2 USING (id) JOIN cents_s3 s3 USING (id)
  JOIN cents_s4 s4 USING (id) JOIN cents_sx sx USING (id) ORDER BY id;
-- the display scale is the column's, so the text is what numeric_in gives
SELECT id, s2.v::text = (s2.v::text)::numeric(12,2)::text AS canonical, scale(s2.v) AS scale
  FROM cents_s2 s2 WHERE id IN (1, 2, 3) ORDER BY id;
CREATE TABLE t_s0 AS SELECT * FROM cents_s0;
CREATE TABLE t_s1 AS SELECT * FROM cents_s1;
CREATE TABLE t_s2 AS SELECT * FROM cents_s2;
CREATE TABLE t_s3 AS SELECT * FROM cents_s3;
CREATE TABLE t_s4 AS SELECT * FROM cents_s4;
CREATE TABLE t_sx AS SELECT * FROM cents_sx;

-- ---- range rules: the same verdicts in the scan (integer bounds at the
-- column's scale, or numeric comparisons when a bound does not fold) and
-- in SQL over the plain tables ----
SELECT count(*) AS added FROM (VALUES
    (indicina.add_rule('within_1_5', 'cents_s0', 'range', '{v}', '{"min": -1.5, "max": 1.5}', 'warn')),
    (indicina.add_rule('within_1_5', 'cents_s1', 'range', '{v}', '{"min": -1.5, "max": 1.5}', 'warn')),
    (indicina.add_rule('within_1_5', 'cents_s2', 'range', '{v}', '{"min": -1.5, "max": 1.5}', 'warn')),
    (indicina.add_rule('within_1_5', 'cents_s3', 'range', '{v}', '{"min": -1.5, "max": 1.5}', 'warn')),
    (indicina.add_rule('within_1_5', 'cents_s4', 'range', '{v}', '{"min": -1.5, "max": 1.5}', 'warn')),
    (indicina.add_rule('within_1_5', 'cents_sx', 'range', '{v}', '{"min": -1.5, "max": 1.5}', 'warn')),
    (indicina.add_rule('inside_1_5', 'cents_s1', 'range', '{v}',
                       '{"min": -1.5, "max": 1.5, "min_inclusive": false, "max_inclusive": false}', 'warn')),
    (indicina.add_rule('inside_1_5', 'cents_s2', 'range', '{v}',
                       '{"min": -1.5, "max": 1.5, "min_inclusive": false, "max_inclusive": false}', 'warn')),
    (indicina.add_rule('at_least_half_cent', 'cents_s2', 'range', '{v}', '{"min": 0.005}', 'warn')),
    (indicina.add_rule('below_half_cent', 'cents_s2', 'range', '{v}', '{"max": 0.005, "max_inclusive": false}', 'warn')),
    (indicina.add_rule('at_least_zero', 'cents_s4', 'range', '{v}', '{"min": -0.0000}', 'warn'))) r(id);
INSERT INTO indicina.quality_rules (name, relation, kind, columns, params, severity)
SELECT name, ('t_' || substr(relation::text, 7))::regclass, kind, columns, params, severity
  FROM indicina.quality_rules WHERE relation::text LIKE 'cents_s_';
-- each rule's failures as check() finds them scanning each foreign table and
-- over the plain table at the same place of the second list, and whether
-- both name the same failing values
CREATE FUNCTION both_ways(scanned regclass[], plain regclass[])
RETURNS TABLE (relation text, rule text, failed_in_scan bigint, failed_in_sql bigint, samples jsonb, same_values boolean)
LANGUAGE sql AS $$
SELECT f.relation, f.rule, f.rows_failed, t.rows_failed, f.samples,
       (SELECT array_agg(x->>'value' ORDER BY x->>'value') FROM jsonb_array_elements(f.samples) x)
       IS NOT DISTINCT FROM
       (SELECT array_agg(x->>'value' ORDER BY x->>'value') FROM jsonb_array_elements(t.samples) x)
  FROM unnest(scanned, plain) p(s, pt),
       LATERAL (SELECT p.s::text AS relation, c.* FROM indicina.check(p.s) c) f
  JOIN LATERAL indicina.check(p.pt) t ON t.rule = f.rule
$$;
SELECT relation, rule, failed_in_scan, failed_in_sql,
       (SELECT array_agg((x->>'value')::numeric ORDER BY (x->>'value')::numeric) FROM jsonb_array_elements(samples) x)
           AS failing_values, same_values
  FROM both_ways('{cents_s0,cents_s1,cents_s2,cents_s3,cents_s4,cents_sx}', '{t_s0,t_s1,t_s2,t_s3,t_s4,t_sx}')
 ORDER BY relation, rule;
-- and as reject rules (but the one no row of s2 passes with the others), the rows a scan returns
SELECT indicina.drop_rule('cents_s2', 'below_half_cent');
UPDATE indicina.quality_rules SET severity = 'reject' WHERE relation::text LIKE 'cents_s_';
SELECT 's1' AS t, array_agg(id ORDER BY id) FROM cents_s1
UNION ALL SELECT 's2', array_agg(id ORDER BY id) FROM cents_s2
UNION ALL SELECT 's4', array_agg(id ORDER BY id) FROM cents_s4;

-- ---- the int64 limits: a numeric(20,2) column around -92233720368547758.08
-- and 92233720368547758.07 cents; 19 digits and more have no integer form
-- in the converter and go through numeric comparisons ----
CREATE FOREIGN TABLE cents_big (id int, v numeric(20,2)) SERVER cents_files OPTIONS (filename 'limits.csv', on_error 'reject');
CREATE FOREIGN TABLE cents_bigx (id int, v numeric) SERVER cents_files OPTIONS (filename 'limits.csv', on_error 'reject');
SELECT id, b.v, x.v AS unconstrained, b.v = x.v AS same FROM cents_big b JOIN cents_bigx x USING (id) ORDER BY id;
CREATE TABLE t_big AS SELECT * FROM cents_big;
SELECT count(*) AS added FROM (VALUES
    (indicina.add_rule('int64_cents', 'cents_big', 'range', '{v}',
                       '{"min": -92233720368547758.08, "max": 92233720368547758.07}', 'warn')),
    (indicina.add_rule('int64_cents_inside', 'cents_big', 'range', '{v}',
                       '{"min": -92233720368547758.08, "max": 92233720368547758.07, "min_inclusive": false, "max_inclusive": false}',
                       'warn')),
    (indicina.add_rule('past_int64_cents', 'cents_big', 'range', '{v}',
                       '{"min": -92233720368547758.09, "max": 92233720368547758.08}', 'warn')),
    (indicina.add_rule('past_the_cent', 'cents_big', 'range', '{v}', '{"min": -92233720368547758.075}', 'warn'))) r(id);
INSERT INTO indicina.quality_rules (name, relation, kind, columns, params, severity)
SELECT name, 't_big'::regclass, kind, columns, params, severity
  FROM indicina.quality_rules WHERE relation = 'cents_big'::regclass;
SELECT f.rule, f.rows_failed AS failed_in_scan, t.rows_failed AS failed_in_sql,
       (SELECT array_agg((x->>'value')::numeric ORDER BY (x->>'value')::numeric) FROM jsonb_array_elements(f.samples) x)
           AS failing_values,
       (SELECT array_agg(x->>'value' ORDER BY x->>'value') FROM jsonb_array_elements(f.samples) x)
       IS NOT DISTINCT FROM
       (SELECT array_agg(x->>'value' ORDER BY x->>'value') FROM jsonb_array_elements(t.samples) x) AS same_values
  FROM indicina.check('cents_big') f JOIN indicina.check('t_big') t USING (rule) ORDER BY rule;

-- ---- balance_continuity at scale 3: the gaps (4, 4 and 5 thousandths)
-- against tolerances that floor to 3, 4 and 4 units, the default 0.005
-- (5 units) and one past int64 units (no limit) ----
CREATE FOREIGN TABLE cont_0035 (customer_id text, transaction_date date, transaction_amount numeric(14,3),
    balance numeric(14,3)) SERVER cents_files OPTIONS (filename 'continuity.csv', on_error 'reject');
CREATE FOREIGN TABLE cont_004 (customer_id text, transaction_date date, transaction_amount numeric(14,3),
    balance numeric(14,3)) SERVER cents_files OPTIONS (filename 'continuity.csv', on_error 'reject');
CREATE FOREIGN TABLE cont_0049 (customer_id text, transaction_date date, transaction_amount numeric(14,3),
    balance numeric(14,3)) SERVER cents_files OPTIONS (filename 'continuity.csv', on_error 'reject');
CREATE FOREIGN TABLE cont_default (customer_id text, transaction_date date, transaction_amount numeric(14,3),
    balance numeric(14,3)) SERVER cents_files OPTIONS (filename 'continuity.csv', on_error 'reject');
CREATE FOREIGN TABLE cont_huge (customer_id text, transaction_date date, transaction_amount numeric(14,3),
    balance numeric(14,3)) SERVER cents_files OPTIONS (filename 'continuity.csv', on_error 'reject');
CREATE TABLE t_cont_0035 AS SELECT * FROM cont_0035;
CREATE TABLE t_cont_004 AS TABLE t_cont_0035;
CREATE TABLE t_cont_0049 AS TABLE t_cont_0035;
CREATE TABLE t_cont_default AS TABLE t_cont_0035;
CREATE TABLE t_cont_huge AS TABLE t_cont_0035;
SELECT count(*) AS added FROM (VALUES
    (indicina.add_rule('cont', 'cont_0035', 'balance_continuity', '{}', '{"tolerance": 0.0035}', 'warn')),
    (indicina.add_rule('cont', 'cont_004', 'balance_continuity', '{}', '{"tolerance": 0.004}', 'warn')),
    (indicina.add_rule('cont', 'cont_0049', 'balance_continuity', '{}', '{"tolerance": 0.0049}', 'warn')),
    (indicina.add_rule('cont', 'cont_default', 'balance_continuity', severity => 'warn')),
    (indicina.add_rule('cont', 'cont_huge', 'balance_continuity', '{}', '{"tolerance": 100000000000000000000}',
                       'warn'))) r(id);
INSERT INTO indicina.quality_rules (name, relation, kind, columns, params, severity)
SELECT name, ('t_' || relation::text)::regclass, kind, columns, params, severity
  FROM indicina.quality_rules WHERE relation::text LIKE 'cont_%';
SELECT relation, rule, failed_in_scan, failed_in_sql, same_values
  FROM both_ways('{cont_0035,cont_004,cont_0049,cont_default,cont_huge}',
                 '{t_cont_0035,t_cont_004,t_cont_0049,t_cont_default,t_cont_huge}')
 ORDER BY relation, rule;
-- the gaps as the scan words them, in thousandths
SELECT c.rule, x - 'file' AS sample
  FROM indicina.check('cont_0035') c, jsonb_array_elements(c.samples) x ORDER BY (x->>'line')::int;

-- ---- the scan's accumulator on whole units (numeric(14,0), 5 is 500
-- cents) equals month_flow over the same rows ----
CREATE FOREIGN TABLE flow_whole (customer_id text, transaction_date date, transaction_amount numeric(14,0),
    narration text, balance numeric(14,0), source_file text OPTIONS (source 'file'),
    source_line bigint OPTIONS (source 'line')) SERVER cents_files OPTIONS (filename 'whole.csv');
BEGIN;
SELECT indicina.arm_month_flows('flow_whole', 'customer_id', 'transaction_date', 'transaction_amount', 'balance',
                                'narration', '{Monthly Income}') AS armed;
SELECT count(*) FROM flow_whole;
CREATE TEMP TABLE from_scan AS SELECT * FROM indicina.scan_month_flows();
COMMIT;
SELECT * FROM from_scan ORDER BY customer_id, month;
CREATE TEMP TABLE from_month_flow AS
SELECT customer_id, month, (f).* FROM (
    SELECT customer_id, indicina.month_start(transaction_date) AS month,
           indicina.month_flow(transaction_amount, balance, transaction_date, source_file, source_line,
                               narration = 'Monthly Income') AS f
      FROM flow_whole GROUP BY 1, 2) s;
SELECT (SELECT count(*) FROM (TABLE from_scan EXCEPT ALL TABLE from_month_flow) a)
     + (SELECT count(*) FROM (TABLE from_month_flow EXCEPT ALL TABLE from_scan) b) AS rows_differing;
-- columns whose values are not whole cents are not accumulated: three
-- decimals, and a negative scale
CREATE FOREIGN TABLE flow_milli (customer_id text, transaction_date date, transaction_amount numeric(14,3),
    narration text, balance numeric(14,2)) SERVER cents_files OPTIONS (filename 'whole.csv');
CREATE FOREIGN TABLE flow_tens (customer_id text, transaction_date date, transaction_amount numeric(14,2),
    narration text, balance numeric(5,-1)) SERVER cents_files OPTIONS (filename 'whole.csv');
BEGIN;
SELECT indicina.arm_month_flows('flow_milli', 'customer_id', 'transaction_date', 'transaction_amount', 'balance',
                                'narration', '{}') AS armed_milli,
       indicina.arm_month_flows('flow_tens', 'customer_id', 'transaction_date', 'transaction_amount', 'balance',
                                'narration', '{}') AS armed_tens;
ROLLBACK;

-- ---- month_flow and risk_features over a table: scales 0 to 4 and zeros
-- past the cent are cents; the sums at the int64 limits ----
SELECT (indicina.month_flow(a, NULL, '2024-01-01', 'f', n, false)).*
  FROM (VALUES (1, 1::numeric), (2, 1.5), (3, 1.50), (4, 1.500), (5, 1.5000), (6, -0.00), (7, -2.25000)) v(n, a);
SELECT (indicina.month_flow(a, a, '2024-01-01', 'f', 1, false)).*
  FROM (VALUES (92233720368547758.07)) v(a);
SELECT (indicina.month_flow(NULL, b, '2024-01-01', 'f', 1, false)).*
  FROM (VALUES (-92233720368547758.08)) v(b);
SELECT (indicina.month_flow(a, NULL, '2024-01-01', 'f', n, false)).inflow
  FROM (VALUES (1, 92233720368547758.07), (2, 0.01)) v(n, a);
SELECT (indicina.month_flow(a, NULL, '2024-01-01', 'f', 1, false)).outflow
  FROM (VALUES (-92233720368547758.08)) v(a);
-- what is no number of cents, each with its error
SELECT (indicina.month_flow(a, 0, '2024-01-01', 'f', 1, false)).inflow FROM (VALUES (92233720368547758.08)) v(a);
SELECT (indicina.month_flow(0, b, '2024-01-01', 'f', 1, false)).inflow FROM (VALUES (-92233720368547758.09)) v(b);
SELECT (indicina.month_flow(a, 0, '2024-01-01', 'f', 1, false)).inflow FROM (VALUES (1e20)) v(a);
SELECT (indicina.month_flow(a, 0, '2024-01-01', 'f', 1, false)).inflow FROM (VALUES (0.001)) v(a);
SELECT (indicina.month_flow(a, 0, '2024-01-01', 'f', 1, false)).inflow FROM (VALUES (-12.3456)) v(a);
SELECT (indicina.month_flow(0, b, '2024-01-01', 'f', 1, false)).inflow FROM (VALUES ('Infinity'::numeric)) v(b);
SELECT (indicina.month_flow(a, 0, '2024-01-01', 'f', 1, false)).inflow FROM (VALUES ('-Infinity'::numeric)) v(a);
SELECT (indicina.month_flow(a, 0, '2024-01-01', 'f', 1, false)).inflow FROM (VALUES ('NaN'::numeric)) v(a);
-- risk_features: the share of salaried months to four decimals, averages
-- rounded half away from zero at the cent, balances at the int64 limits
SELECT (indicina.risk_features(i, o, s, b)).*
  FROM (VALUES (0.01, 0.00, true, -92233720368547758.08), (0.02, 0.01, false, NULL),
               (0.00, 0.02, false, NULL)) v(i, o, s, b);
SELECT (indicina.risk_features(0, 0, false, b)).*
  FROM (VALUES (-92233720368547758.08), (92233720368547758.07)) v(b);
SELECT (indicina.risk_features(i, 0, false, 0)).* FROM (VALUES (92233720368547758.07), (0.01)) v(i);
SELECT (indicina.risk_features(0, o, false, 0)).* FROM (VALUES (92233720368547758.08)) v(o);
SELECT (indicina.risk_features(0, 0, false, b)).* FROM (VALUES ('NaN'::numeric)) v(b);
SELECT (indicina.risk_features(i, 0, false, 0)).* FROM (VALUES (0.125)) v(i);
