#!/usr/bin/env bash
# csv_fdw_dirty.sh: the generator's dirty drop through indicina_csv.  Every
# injected structural defect is in indicina.load_errors with the right code
# at the exact file and line, no coercible spelling is rejected, and rows
# read = rows returned + rows rejected, exactly.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
dirty_landing_db indicina_e2e --customers 600 --months 6 --files 4 --dirty 0.04 --seed 21
q() { psql -qX -At -v ON_ERROR_STOP=1 -d indicina_e2e "$@"; }

for source in statements loans; do
    table=$([ $source = statements ] && echo raw_bank_statements || echo raw_loan_applications)
    rows_in_files=$("/usr/bin/python3" -c "import json; d=json.load(open('$work/landing/defects.json')); print(sum(o['rows'] for o in d['outputs'] if o['source']=='$source'))")
    out=$(q <<SQL
CREATE TABLE loaded_$source AS SELECT * FROM $table;
SELECT currval('indicina.scan_id_seq');
SQL
)
    scan=$(tail -n1 <<<"$out")
    returned=$(q -c "SELECT count(*) FROM loaded_$source")
    rejected=$(q -c "SELECT count(*) FROM indicina.load_errors WHERE scan_id = $scan")
    is "$((returned + rejected))" "$rows_in_files" \
       "$source: rows read ($rows_in_files) = rows returned ($returned) + rows rejected ($rejected)"

    # every structural defect, at its file and line, with its code
    mismatches=$(q <<SQL
WITH expected AS (
    SELECT file, line, CASE kind WHEN 'missing_fields' THEN 'MISSING_COLUMNS'
                                 WHEN 'extra_fields' THEN 'EXTRA_COLUMNS'
                                 WHEN 'invalid_utf8' THEN 'INVALID_UTF8'
                                 WHEN 'impossible_date' THEN 'INVALID_DATE'
                                 WHEN 'blank_id' THEN 'NULL_VALUE' END AS code
      FROM defects
     WHERE source = '$source'
       AND kind IN ('missing_fields', 'extra_fields', 'invalid_utf8', 'impossible_date', 'blank_id')),
got AS (SELECT file, line, code FROM indicina.load_errors WHERE scan_id = $scan)
SELECT count(*) FROM ((SELECT * FROM expected EXCEPT ALL SELECT * FROM got)
                      UNION ALL (SELECT * FROM got EXCEPT ALL SELECT * FROM expected)) d;
SQL
)
    is "$mismatches" 0 "$source: rejects = the injected structural defects, same file, line and code"
    if [ "$mismatches" != 0 ]; then
        q -c "SELECT '# got ' || file || ':' || line || ' ' || code || ' ' || coalesce(column_name, '') || ' ' || message FROM indicina.load_errors e WHERE scan_id = $scan AND NOT EXISTS (SELECT 1 FROM defects d WHERE d.file = e.file AND d.line = e.line AND d.kind IN ('missing_fields', 'extra_fields', 'invalid_utf8', 'impossible_date', 'blank_id')) LIMIT 5"
        q -c "SELECT '# missed ' || file || ':' || line || ' ' || kind FROM defects d WHERE source = '$source' AND kind IN ('missing_fields', 'extra_fields', 'invalid_utf8', 'impossible_date', 'blank_id') AND NOT EXISTS (SELECT 1 FROM indicina.load_errors e WHERE e.scan_id = $scan AND d.file = e.file AND d.line = e.line) LIMIT 5"
    fi
    expected_n=$(q -c "SELECT count(*) FROM defects WHERE source = '$source' AND kind IN ('missing_fields', 'extra_fields', 'invalid_utf8', 'impossible_date', 'blank_id')")
    ok $([ "$expected_n" -gt 0 ]; echo $?) "$source: the drop has $expected_n structural defects to find"

    # coercible spellings load, with the clean value
    coerced=$(q -c "SELECT count(*) FROM defects d WHERE source = '$source' AND kind IN ('amount_format', 'date_format', 'status_spelling') AND NOT EXISTS (SELECT 1 FROM indicina.load_errors e WHERE e.scan_id = $scan AND e.file = d.file AND e.line = d.line)")
    total=$(q -c "SELECT count(*) FROM defects WHERE source = '$source' AND kind IN ('amount_format', 'date_format', 'status_spelling')")
    is "$coerced" "$total" "$source: all $total coercible spellings (amounts, dates, labels) load"
done

# the balance chain holds across coerced amounts: only the injected breaks break it
breaks=$(q <<SQL
WITH t AS (SELECT *, lag(balance) OVER (PARTITION BY customer_id ORDER BY transaction_date, source_file, source_line) AS prev
             FROM loaded_statements)
SELECT count(*) FROM t WHERE prev IS NOT NULL AND prev + transaction_amount <> balance;
SQL
)
injected=$(q -c "SELECT count(*) + (SELECT count(*) FROM defects WHERE kind = 'duplicate_row' AND source = 'statements') FROM defects WHERE kind = 'balance_break'")
is "$breaks" "$injected" "balance continuity breaks after coercion = injected breaks + duplicate rows"

# labels were normalised
is "$(q -c "SELECT string_agg(DISTINCT employment_status, ',' ORDER BY employment_status) FROM loaded_loans")" \
   "Employed,Self-Employed,Unemployed" "employment status spellings are normalised to the three labels"
done_testing
