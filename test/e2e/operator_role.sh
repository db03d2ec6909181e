#!/usr/bin/env bash
# operator_role.sh: the indicina_operator group role.  A nightly job's role
# that joins it (and is not a member of pg_read_server_files) runs a
# pipeline over foreign tables a superuser created, reads the run log and
# the rejects, schedules the run with pg_cron as itself, and may not clear
# the reject log or declare rules.  The role is cluster-wide: a second
# database's CREATE EXTENSION finds it, DROP EXTENSION leaves it, and a
# role of that name that can log in or is a member of a role is refused.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
generated_landing --customers 200 --months 2 --files 2 --dirty 0.02 --seed 5
chmod -R a+rwX "$work"

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
q() { local db=$1; shift; psql -qX -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
# as the nightly role: SET ROLE in a superuser session (the checks are the role's)
qn() { local db=$1; shift; q "$db" -c "SET ROLE regress_nightly" "$@"; }

fresh_db indicina_op1 indicina_op2 indicina_op3
q indicina_op1 -c "CREATE EXTENSION indicina" >/dev/null
is "$(q indicina_op1 -c "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'indicina_operator'")" "f|f" \
   "CREATE EXTENSION creates the NOLOGIN role indicina_operator"

q indicina_op1 >/dev/null <<SQL
DROP ROLE IF EXISTS regress_nightly;
CREATE ROLE regress_nightly LOGIN IN ROLE indicina_operator;
GRANT CREATE ON DATABASE indicina_op1 TO regress_nightly;
SQL
raw_tables indicina_op1 -c "GRANT SELECT ON raw_loan_applications, raw_bank_statements TO regress_nightly"
is "$(q indicina_op1 -c "SELECT pg_has_role('regress_nightly', 'pg_read_server_files', 'USAGE')")" "f" \
   "the nightly role has no privileges of pg_read_server_files"

is "$(qn indicina_op1 -c "SELECT indicina.create_warehouse('dw')")" "dw" "the nightly role creates its warehouse"
out=$(qn indicina_op1 -c "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements')" 2>&1)
like "$out" "the default rules of public.raw_loan_applications are not attached, and this role may not attach them" \
     "without the default rules, the nightly role is told to have them attached"
like "$out" "As a superuser, run SELECT indicina.attach_default_rules('public.raw_loan_applications', 'public.raw_bank_statements') once." \
     "... and how"
q indicina_op1 -c "SELECT count(*) FROM indicina.attach_default_rules('raw_loan_applications', 'raw_bank_statements')" \
  >/dev/null
out=$(qn indicina_op1 -c "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements')" 2>&1)
ok $? "the nightly role runs the pipeline${out:+: }$(echo "$out" | grep -m1 ERROR)"
is "$(qn indicina_op1 -c "SELECT string_agg(concat_ws('|', status, rows_read = rows_loaded + rows_rejected, rows_rejected > 0), ',' ORDER BY run_id) FROM indicina.pipeline_runs")" \
   "failed,succeeded|t|t" "it reads both its runs in pipeline_runs (the refused one failed; read = loaded + rejected, some rejected)"
is "$(qn indicina_op1 -c "SELECT count(*) > 0 FROM indicina.load_errors")" "t" "it reads the rejects"
is "$(qn indicina_op1 -c "SELECT count(*) > 0 FROM indicina.quality_summary")" "t" "it reads the quality history"
is "$(qn indicina_op1 -c "SELECT count(*) > 0 FROM dw.fact_loan_application")|$(qn indicina_op1 -c "SELECT count(*) > 0 FROM dw.fact_bank_transaction")" \
   "t|t" "applications and transactions are in the warehouse"
like "$(qn indicina_op1 -c "SELECT indicina.clear_load_errors()" 2>&1)" \
     "permission denied for function clear_load_errors" "it may not clear the reject log"
like "$(qn indicina_op1 -c "SELECT indicina.drop_rule('raw_loan_applications', 'credit_score_range')" 2>&1)" \
     "permission denied for function drop_rule" "it may not drop a rule"
like "$(qn indicina_op1 -c "UPDATE indicina.quality_rules SET enabled = false" 2>&1)" \
     "permission denied for table quality_rules" "it may not change a rule"
q indicina_op1 -c "GRANT USAGE ON FOREIGN SERVER landing TO regress_nightly" >/dev/null
like "$(qn indicina_op1 -c "CREATE FOREIGN TABLE dw.x (a int) SERVER landing OPTIONS (filename 'loans/loan_applications.csv')" 2>&1)" \
     "only superuser or a role with privileges of the pg_read_server_files role may specify the filename option" \
     "it may not name server files, even with USAGE on the server"

# pg_cron: the job runs as the role that scheduled it (pg_cron is preloaded
# in every cluster of tools/test.sh, but the checked server has none)
cron=$(q postgres -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_cron'")
if [ "$cron" != 1 ]; then
    echo "# pg_cron is not installed in this server: its 3 tests are skipped"
else
    q postgres >/dev/null <<SQL
DROP EXTENSION IF EXISTS indicina CASCADE;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION indicina;
SET client_min_messages = warning;
CREATE TABLE regress_op_loans (customer_id text);
CREATE TABLE regress_op_txns (customer_id text);
GRANT USAGE ON SCHEMA cron TO regress_nightly;
SQL
    out=$(qn postgres -c "SELECT indicina.schedule_pipeline('0 3 * * *', 'regress_op_loans', 'regress_op_txns', 'dw', 'regress_op_job') > 0" 2>&1)
    is "$out" "t" "the nightly role schedules the run"
    is "$(q postgres -c "SELECT username FROM cron.job WHERE jobname = 'regress_op_job'")" "regress_nightly" \
       "the job runs as the nightly role, not as a superuser"
    is "$(qn postgres -c "SELECT indicina.unschedule_pipeline('regress_op_job')" 2>&1)" "t" "the nightly role unschedules it"
    q postgres >/dev/null <<SQL
DROP TABLE regress_op_loans, regress_op_txns;
REVOKE USAGE ON SCHEMA cron FROM regress_nightly;
DROP EXTENSION indicina;
SQL
fi

# the role is the cluster's
q indicina_op2 -c "CREATE EXTENSION indicina" >/dev/null
ok $? "a second database's CREATE EXTENSION finds the role and goes on"
is "$(q indicina_op2 -c "SELECT count(*) FROM pg_roles WHERE rolname = 'indicina_operator'")" "1" "... one role"
q indicina_op1 -c "DROP EXTENSION indicina CASCADE" >/dev/null 2>&1
is "$(q indicina_op2 -c "SELECT count(*) FROM pg_roles WHERE rolname = 'indicina_operator'")" "1" \
   "DROP EXTENSION leaves the role"
is "$(q indicina_op2 -c "SELECT has_function_privilege('regress_nightly', 'indicina.run_pipeline(regclass, regclass, name, boolean)', 'EXECUTE')")" \
   "t" "the other database's grants to it stand"
q indicina_op2 -c "ALTER ROLE indicina_operator LOGIN" >/dev/null
like "$(q indicina_op3 -c "CREATE EXTENSION indicina" 2>&1)" \
     "role indicina_operator exists but is not a NOLOGIN group role without attributes" \
     "a role of that name that can log in is refused"
q indicina_op2 -c "ALTER ROLE indicina_operator NOLOGIN" -c "GRANT pg_read_server_files TO indicina_operator" >/dev/null
like "$(q indicina_op3 -c "CREATE EXTENSION indicina" 2>&1)" \
     "role indicina_operator exists but is not a NOLOGIN group role without attributes and memberships" \
     "a role of that name that is a member of another role is refused"
q indicina_op2 -c "REVOKE pg_read_server_files FROM indicina_operator" >/dev/null

psql -qX -c "DROP DATABASE indicina_op1" -c "DROP DATABASE indicina_op2" -c "DROP DATABASE indicina_op3" >/dev/null
psql -qX -c "DROP ROLE regress_nightly" >/dev/null
ok $? "the nightly role drops once its databases are gone"
done_testing
