-- rule_privileges.sql: rules and the roles that scan.  A role granted only
-- SELECT on a foreign table scans it with its rules applied and cannot read
-- the rule catalog; the expression a scan evaluates is the one add_rule
-- checked, whatever the scanning session's search_path; functions that open
-- a relation by OID check SELECT on it first.
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data/quality'
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE SERVER priv_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
\set server priv_files \set employment_format plain \set loans_lineage off
\set loans priv_loans \set loans_file loans.csv
\i :abs_srcdir/test/data/landing_tables.sql

-- an expression rule naming a function by its bare name, found on the
-- search_path of the session that declares it
CREATE SCHEMA regress_priv_fns;
CREATE FUNCTION regress_priv_fns.score_ok(int) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS 'SELECT $1 BETWEEN 300 AND 850';
SET search_path = regress_priv_fns, public;
SELECT indicina.add_rule('score_ok', 'priv_loans', 'expression', params => '{"sql": "score_ok(credit_score)"}') > 0
    AS added;
RESET search_path;
SELECT indicina.add_rule('amount_positive', 'priv_loans', 'range', '{loan_amount}',
                         '{"min": 0, "min_inclusive": false}') > 0 AS added;
-- what was written, and what was checked (and runs)
SELECT name, params->>'sql' AS written, checked_sql FROM indicina.quality_rules
 WHERE relation = 'priv_loans'::regclass ORDER BY name;

-- ---- a role granted SELECT on the foreign table, nothing else ----
CREATE ROLE regress_priv_reader;
GRANT SELECT ON priv_loans TO regress_priv_reader;
-- what a rule calls, the scanning role must be able to call
GRANT USAGE ON SCHEMA regress_priv_fns TO regress_priv_reader;
CREATE SCHEMA regress_priv_evil AUTHORIZATION regress_priv_reader;
SET ROLE regress_priv_reader;
-- the rules apply: APP_2 (amount -500) and APP_3 (score 920) are rejected
SELECT application_id, credit_score FROM priv_loans ORDER BY application_id COLLATE "C";
SELECT count(*) FROM indicina.quality_rules;
-- a function of the same name earlier on the scanning session's path is not the rule's
CREATE FUNCTION regress_priv_evil.score_ok(int) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RAISE NOTICE ''not the checked rule''; RETURN true; END';
SET client_min_messages = notice;
SET search_path = regress_priv_evil, regress_priv_fns, public;
SELECT application_id, credit_score FROM priv_loans ORDER BY application_id COLLATE "C";
SET search_path = regress_priv_evil, public;
SELECT count(*) AS still_eight FROM priv_loans;
-- the catalog is read with its owner's rights: an operator of the caller's
-- ahead of pg_catalog is not what that query runs
CREATE FUNCTION regress_priv_evil.field(jsonb, text) RETURNS text
    LANGUAGE plpgsql AS 'BEGIN RAISE NOTICE ''run as %'', current_user; RETURN $1 OPERATOR(pg_catalog.->>) $2; END';
CREATE OPERATOR regress_priv_evil.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = regress_priv_evil.field);
SET search_path = regress_priv_evil, pg_catalog, public;
SELECT '{"a": "b"}'::jsonb ->> 'a' AS own_operator_in_own_query;
SELECT count(*) AS still_eight FROM priv_loans;
RESET search_path;
SET client_min_messages = warning;
RESET ROLE;

-- ---- functions that open a relation by OID: SELECT on it first ----
CREATE TABLE regress_priv_secret (id int, note text);
CREATE ROLE regress_priv_op IN ROLE indicina_operator;
SET ROLE regress_priv_op;
SELECT indicina.check_rule_expression('regress_priv_secret', 'id > 0');
SELECT indicina.arm_set_rules('regress_priv_secret');
SELECT indicina.check_rule_expression('priv_loans', 'credit_score > 0');
SELECT count(*) FROM indicina.source_files('priv_loans', false);
RESET ROLE;
GRANT SELECT ON priv_loans TO regress_priv_op;
SET ROLE regress_priv_op;
SELECT file, size FROM indicina.source_files('priv_loans', false);
RESET ROLE;
GRANT SELECT ON regress_priv_secret TO regress_priv_op;
SET ROLE regress_priv_op;
SELECT indicina.check_rule_expression('regress_priv_secret', 'id > 0 AND note <> ''x''');
SELECT indicina.arm_set_rules('regress_priv_secret');
RESET ROLE;

DELETE FROM indicina.quality_rules WHERE relation = 'priv_loans'::regclass;
REVOKE ALL ON priv_loans FROM regress_priv_reader, regress_priv_op;
DROP TABLE regress_priv_secret;
DROP FOREIGN TABLE priv_loans;
DROP SCHEMA regress_priv_evil CASCADE;
DROP SCHEMA regress_priv_fns CASCADE;
DROP SERVER priv_files;
DROP ROLE regress_priv_reader, regress_priv_op;
