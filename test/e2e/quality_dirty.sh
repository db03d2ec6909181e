#!/usr/bin/env bash
# quality_dirty.sh: the default rules on the generator's dirty drop.  Every
# injected rule defect (out-of-range score, negative loan, future date,
# duplicate, balance break, orphan transaction) is found at the exact file
# and line the generator recorded, with the exact count; rows read = loaded
# + rejected; results keep their history over three runs; a fail rule over
# its threshold leaves the target untouched.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
dirty_landing_db indicina_e2e --customers 3000 --months 3 --files 3 --dirty 0.05 --seed 5
q() { psql -qX -At -v ON_ERROR_STOP=1 -d indicina_e2e "$@"; }
q -c "CREATE TABLE loans_clean (LIKE raw_loan_applications); CREATE TABLE statements_clean (LIKE raw_bank_statements)"

added=$(q -c "SELECT count(*) FROM indicina.attach_default_rules('raw_loan_applications', 'raw_bank_statements')")
is "$added" 11 "attach_default_rules adds the 11 shipped rules"
q -c "SELECT indicina.set_rule_enabled('raw_bank_statements', 'balance_continuity', false)" >/dev/null
again=$(q -c "SELECT count(*) FROM indicina.attach_default_rules('raw_loan_applications', 'raw_bank_statements')")
enabled=$(q -c "SELECT enabled FROM indicina.quality_rules WHERE name = 'balance_continuity'")
is "$again/$enabled" "0/f" "attaching again adds nothing and keeps a default the user disabled"
q -c "SELECT indicina.set_rule_enabled('raw_bank_statements', 'balance_continuity', true)" >/dev/null

# the dry run finds every defect and records nothing
dry=$(q -c "SELECT string_agg(rule || '=' || rows_failed, ' ' ORDER BY rule) FROM indicina.check('raw_loan_applications')")
logged=$(q -c "SELECT count(*) FROM indicina.load_errors")
is "$logged" 0 "check() records nothing ($dry)"

for run in 1 2 3; do
    q -c "SELECT * FROM indicina.load_checked('raw_loan_applications', 'loans_clean')" >/dev/null
    q -c "SELECT * FROM indicina.load_checked('raw_bank_statements', 'statements_clean')" >/dev/null
done
last_loans=$(q -c "SELECT max(run_id) FROM indicina.runs WHERE args->>'relation' = 'public.raw_loan_applications'")
last_stmts=$(q -c "SELECT max(run_id) FROM indicina.runs WHERE args->>'relation' = 'public.raw_bank_statements'")

# each injected rule defect, at its file and line, for the rule that should catch it
check_rule() {  # source kind code relation
    local source=$1 kind=$2 code=$3 rel=$4 expected found missing
    expected=$(q -c "SELECT count(*) FROM defects WHERE source = '$source' AND kind = '$kind'")
    local run=$([ "$rel" = raw_loan_applications ] && echo "$last_loans" || echo "$last_stmts")
    found=$(q -c "SELECT count(*) FROM indicina.read_load_errors() e WHERE e.relation = '$rel' AND e.code = '$code'
                    AND e.logged_at >= (SELECT started_at FROM indicina.runs WHERE run_id = $run)")
    missing=$(q -c "SELECT count(*) FROM defects d WHERE d.source = '$source' AND d.kind = '$kind'
                     AND NOT EXISTS (SELECT 1 FROM indicina.read_load_errors() e
                                      WHERE e.relation = '$rel' AND e.code = '$code' AND e.file = d.file AND e.line = d.line)")
    ok "$([ "$expected" -gt 0 ] && [ "$found" = "$expected" ] && [ "$missing" = 0 ] && echo 0 || echo 1)" \
       "$source $kind: $expected injected, $found caught by $code in the last run, $missing of them missed"
}
check_rule loans score_out_of_range RULE:credit_score_range raw_loan_applications
check_rule loans negative_loan RULE:loan_amount_positive raw_loan_applications
check_rule loans future_date RULE:application_date_not_future raw_loan_applications
check_rule loans duplicate_row RULE:application_id_unique raw_loan_applications
check_rule statements future_date RULE:transaction_date_not_future raw_bank_statements
check_rule statements duplicate_row RULE:transaction_duplicate_rows raw_bank_statements
check_rule statements balance_break WARN:balance_continuity raw_bank_statements
check_rule statements unknown_customer WARN:transaction_customer_known raw_bank_statements

# rows read = loaded + rejected, per run, against the generator's own row counts
for source in loans statements; do
    rel=$([ $source = loans ] && echo raw_loan_applications || echo raw_bank_statements)
    run=$([ $source = loans ] && echo $last_loans || echo $last_stmts)
    in_files=$(/usr/bin/python3 -c "import json; d=json.load(open('$work/landing/defects.json')); print(sum(o['rows'] for o in d['outputs'] if o['source']=='$source'))")
    read_loaded=$(q -c "SELECT (details->>'rows_read') || ' ' || (details->>'rows_loaded') FROM indicina.runs WHERE run_id = $run")
    rejected=$(q -c "SELECT count(DISTINCT (e.file, e.line)) FROM indicina.read_load_errors() e
                      WHERE e.relation = '$rel' AND e.code NOT LIKE 'WARN:%'
                        AND e.logged_at >= (SELECT started_at FROM indicina.runs WHERE run_id = $run)")
    set -- $read_loaded
    is "$1 = $2 + $rejected" "$in_files = $2 + $((in_files - $2))" \
       "$source: rows in the files ($in_files) = read ($1) = loaded ($2) + rejected in the reject log ($rejected)"
done

# history: three runs per rule, never overwritten
runs=$(q -c "SELECT min(n) || '-' || max(n) FROM (SELECT count(DISTINCT run_id) n FROM indicina.quality_results GROUP BY relation, rule) s")
is "$runs" "3-3" "quality_results keeps three runs of every rule"
trend=$(q -c "SELECT failed_last_runs::text || ' ' || trend FROM indicina.quality_summary WHERE rule = 'balance_continuity'")
breaks=$(q -c "SELECT count(*) FROM defects WHERE kind = 'balance_break'")
is "$trend" "{$breaks,$breaks,$breaks} same" "quality_summary shows the trend of the last runs"

# fail over its threshold: the run stops, the target is untouched, the run says why
before=$(q -c "SELECT count(*) FROM loans_clean")
q -c "SELECT indicina.add_rule('credit_score_range', 'raw_loan_applications', 'range', '{credit_score}',
        '{\"min\": 300, \"max\": 850}', severity => 'fail', threshold => '0.01%', replace => true)" >/dev/null
out=$(q -c "SELECT * FROM indicina.load_checked('raw_loan_applications', 'loans_clean')" 2>&1)
after=$(q -c "SELECT count(*) FROM loans_clean")
status=$(q -c "SELECT status FROM indicina.runs ORDER BY run_id DESC LIMIT 1")
like "$out" 'quality rule "credit_score_range" failed on' "a fail rule over its threshold stops the load"
is "$after/$status" "$before/failed" "the target is untouched ($after rows) and the run is recorded as failed"

done_testing
