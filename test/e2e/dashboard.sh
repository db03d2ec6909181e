#!/usr/bin/env bash
# dashboard.sh: indicina.dashboard() in a real browser (Debian's chromium,
# headless, driven by npm's playwright-core from test/e2e/dashboard.js).
# On the original 1,000 applications (with generated statements for their
# customers): the page loads from file:// with no network request and no
# console error, the tiles read the original dashboard's figures, the
# "Self-Employed" filter gives what SQL computes, every chart has a title,
# a text alternative, a table view and a CSV download (a blob: URL); on a
# dirty run the data-quality panel shows the rejects by code of
# indicina.load_errors; screenshots at 1280x900 and 390x844 go to the test
# logs, and the narrow page has no horizontal scroll.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
# shellcheck source=tools/lib/node.sh
. "$repo/tools/lib/node.sh"
# the release whose Chromium is Debian's (156)
ensure_node_packages playwright-core@1.64.1 || { echo "not ok 1 - playwright-core installs"; exit 1; }
logs="$repo/build/test-logs"
mkdir -p "$logs"
work=$(scratch_dir)
trap 'rm -rf "$work"; psql -qX -c "DROP DATABASE IF EXISTS indicina_dashboard" -c "DROP ROLE IF EXISTS regress_dash_operator" >/dev/null 2>&1' EXIT

# the seed: the original applications, and 12 months of statements for their customers
mkdir -p "$work/seed/loans" "$work/seed/statements"
cp "$repo/test/data/seed/loan_data.csv" "$work/seed/loans/"
"$repo/tools/indicina-gen" --out "$work/gen" --customers 1000 --months 12 --files 2 --seed 20 >/dev/null
cp "$work/gen/statements/"*.csv "$work/seed/statements/"
# a dirty drop for the data-quality panel
"$repo/tools/indicina-gen" --out "$work/dirty" --customers 1500 --months 3 --files 2 --dirty 0.03 --seed 21 >/dev/null
chmod -R a+rX "$work"

db=indicina_dashboard
q() { psql -qX -At -v ON_ERROR_STOP=1 -d $db "$@"; }
psql -qX -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q >/dev/null <<SQL
CREATE EXTENSION indicina;
SELECT indicina.clear_load_errors();
CREATE SERVER seed FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/seed');
SQL
# the seed tables: the data dictionary's columns with lenient formats and lineage
q -v server=seed -v lenient_statements=on -v loans=seed_loans -v loans_file='loans/*.csv' \
  -v statements=seed_statements -v statements_file='statements/*.csv' \
  -f "$repo/test/data/landing_tables.sql" >/dev/null
q >/dev/null <<SQL
SELECT indicina.create_warehouse('dw');
SET client_min_messages = warning;
SELECT count(*) FROM indicina.run_pipeline('seed_loans', 'seed_statements', 'dw');
SQL
q -v root="$work/dirty" -v loans_files='loans/*.csv' -v statements_files='statements/*.csv*' \
  -f "$repo/tools/lib/raw_tables.sql" >/dev/null
q >/dev/null <<SQL
SELECT indicina.create_warehouse('dw_dirty', 'mart_dirty');
SET client_min_messages = warning;
SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw_dirty');
SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw_dirty');
SQL

# the pages, as the README says to write them (the dashboard is the operator's)
q -c "DROP ROLE IF EXISTS regress_dash_operator" -c "CREATE ROLE regress_dash_operator IN ROLE indicina_operator;
      GRANT USAGE ON SCHEMA dw, mart TO regress_dash_operator;
      GRANT SELECT ON ALL TABLES IN SCHEMA dw, mart TO regress_dash_operator" >/dev/null
psql -XAtq -d $db -c "SET ROLE regress_dash_operator" -c "SELECT indicina.dashboard('dw', title => 'Seed <credit> & risk')" > "$work/seed.html"
ok $? "an operator writes the page with psql -XAtq -c \"SELECT indicina.dashboard('dw', title => ...)\""
# the dirty warehouse is unloaded once, so its last-unload tile has one to show
mkdir -p "$work/lake" && chmod 777 "$work/lake"
q -c "CREATE SERVER dash_lake FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/lake')" \
  -c "SELECT count(*) FROM indicina.unload('dw_dirty', 'dash_lake', mode => 'full')" >/dev/null
q -c "SELECT indicina.dashboard('dw_dirty', mart => 'mart_dirty')" > "$work/dirty.html"
size=$(stat -c %s "$work/seed.html")
ok "$([ "$size" -gt 20000 ] && [ "$size" -lt 2000000 ] && echo 0 || echo 1)" "the seed page is one document of $size bytes"
ok "$(grep -Eqi '(src|href)=["'\'']?(https?:)?//' "$work/seed.html" "$work/dirty.html"; [ $? -ne 0 ] && echo 0 || echo 1)" \
   "no element of either page names a URL elsewhere (no src= or href= to http: or //)"

# ---- the browser ----
out=$(NODE_PATH="$(node_modules_dir)" node "$repo/test/e2e/dashboard.js" "$work/seed.html" "$work/dirty.html" "$logs" 2>"$work/node.err")
rc=$?
ok $rc "Chromium loaded the pages (node exited $rc)"
if [ $rc -ne 0 ]; then
    sed 's/^/# /' "$work/node.err"
    done_testing
    exit
fi
echo "$out" > "$logs/dashboard-browser.json"
js() { /usr/bin/python3 -c "import json, sys; r = json.load(open('$logs/dashboard-browser.json')); print($1)"; }

is "$(js "len(r['seen']['requests']) + len(r['seen']['network'])")" 0 \
   "zero network requests ($(js "r['seen']['requests'] + r['seen']['network']"))"
is "$(js "len(r['seen']['console'])")" 0 "zero console errors ($(js "r['seen']['console'][:3]"))"
is "$(js "r['title']")" "Seed <credit> & risk" "the title is the one asked for, escaped in the page and shown as written"
is "$(js "r['tiles']['tile-avg-income']")" "51,283.33" "the average-annual-income tile reads 51,283.33"
is "$(js "' / '.join(row[1] for row in r['mix'])")" "686 / 213 / 101" "the employment mix is 686 / 213 / 101"
is "$(js "' '.join(row[0] for row in r['mix'])")" "Employed Self-Employed Unemployed" "in the order Employed, Self-Employed, Unemployed"

# every tile, unfiltered and for Self-Employed, against SQL
# the four tiles by SQL for a WHERE clause on a (an application, for the
# application tiles; the customer's profile, its latest application, for
# the customer and transaction tiles: docs/dashboard.md, Filters)
sql_tiles() {
    q -c "SELECT concat_ws(' ',
            (SELECT to_char(round(avg(annual_income), 2), 'FM999,999,999,990.00') FROM mart.application_bands a WHERE $1),
            (SELECT to_char(round(count(*)::numeric / nullif(count(DISTINCT t.customer_id), 0), 2), 'FM999,999,990.00')
               FROM dw.fact_bank_transaction t LEFT JOIN mart.customer_profile a USING (customer_id) WHERE $1),
            (SELECT to_char(count(*), 'FM999,999,999') FROM mart.customer_profile a WHERE a.application_id IS NOT NULL AND $1),
            (SELECT to_char(count(*), 'FM999,999,999') FROM mart.application_bands a WHERE $1))"
}
riskiest_sql() { q -c "SELECT string_agg(customer_id, ' ' ORDER BY risk_rank) FROM (SELECT * FROM mart.riskiest_customers a WHERE $1 ORDER BY risk_rank LIMIT 10) s"; }
page_tiles() { js "' '.join(r['$1'][k] for k in ['tile-avg-income', 'tile-avg-txn', 'tile-customers', 'tile-applications'])"; }
overview=$(q -c "SELECT concat_ws(' ', to_char(avg_annual_income, 'FM999,999,999,990.00'),
                   to_char(avg_transactions_per_customer, 'FM999,999,990.00'), to_char(customers, 'FM999,999,999'),
                   to_char(applications, 'FM999,999,999')) FROM mart.kpi_overview")
is "$(page_tiles tiles)" "$overview" "unfiltered, the four tiles equal mart.kpi_overview ($overview)"
is "$(page_tiles tiles)" "$(sql_tiles true)" "and the same SQL the filtered check runs"
expected=$(sql_tiles "a.employment_status = 'Self-Employed'")
is "$(page_tiles selfEmployed)" "$expected" "choosing Self-Employed changes the tiles to what SQL computes for it ($expected)"
is "$(js "[row[:2] for row in r['selfEmployedMix']]")" "[['Self-Employed', '213']]" "and the employment mix to Self-Employed alone"
like "$(js "r['summary']")" "employment status Self-Employed" "the filter summary says what is shown"
is "$(js "' '.join(r['selfEmployedRiskiest'])")" "$(riskiest_sql "a.employment_status = 'Self-Employed'")" \
   "and the riskiest customers to mart.riskiest_customers' first 10 Self-Employed"
where="a.credit_score_band = '300-579 poor' AND a.application_month BETWEEN '2022-01-01' AND '2022-12-01'"
expected=$(sql_tiles "$where")
is "$(page_tiles bandMonths)" "$expected" "credit score 300-579 and applications of 2022: the tiles are what SQL computes ($expected)"
is "$(js "' '.join(r['bandMonthsRiskiest'])")" "$(riskiest_sql "$where")" "and so are the riskiest customers"
is "$(js "[row[:2] for row in r['bandMonthsScore']]")" \
   "[['300-579 poor', '$(q -c "SELECT count(*) FROM mart.application_bands a WHERE $where")']]" \
   "and the credit-score chart holds that band alone"
is "$(page_tiles afterReset)" "$overview" "Reset brings the unfiltered figures back"

# charts: titles, text alternatives, table views, CSV
is "$(js "[f['id'] for f in r['figures'] if not (f['title'] and f['table'] and f['csv'] and f['svgLabelled'])]")" "[]" \
   "every one of the $(js "len(r['figures'])") charts has a title, a table view, a CSV button and a labelled SVG (role img, title, desc)"
like "$(js "r['tooltip']")" "$(q -c "SELECT employment_status || ': ' || to_char(avg_annual_income, 'FM999,999,990.00') FROM mart.kpi_employment_status ORDER BY employment_status LIMIT 1")" \
   "a bar's tooltip gives the exact value"
like "$(js "r['csvUrl']")" "blob:" "the CSV download is a blob: URL, not a request"
is "$(js "r['csvName'] + ' ' + r['csv'].replace(chr(13), '').replace(chr(10), '|')")" \
   "employment.csv employment_status,applications,share_pct|Employed,686,68.60|Self-Employed,213,21.30|Unemployed,101,10.10|" \
   "the employment mix's CSV holds its table ($(q -c "SELECT string_agg(share_pct::text, '/' ORDER BY employment_status) FROM mart.kpi_employment_status") %)"

# the narrow page
is "$(js "r['narrow']['scrollWidth'] <= r['narrow']['clientWidth'] and r['narrow']['bodyScrollWidth'] <= r['narrow']['clientWidth']")" True \
   "at 390 px the page has no horizontal scroll ($(js "r['narrow']"))"
ok "$([ -s "$logs/dashboard-1280x900.png" ] && [ -s "$logs/dashboard-390x844.png" ] && echo 0 || echo 1)" \
   "screenshots at 1280x900 and 390x844 are in build/test-logs"

# the dirty run's data-quality panel
rejects=$(q -c "SELECT coalesce(string_agg(code || '=' || n, ' ' ORDER BY code), '') FROM (
                  SELECT code, count(*) n FROM indicina.load_errors
                   WHERE relation_id IN ('raw_loan_applications'::regclass, 'raw_bank_statements'::regclass) GROUP BY code) s")
is "$(js "' '.join(row[0] + '=' + row[1] for row in r['dirtyRejects'])")" "$rejects" \
   "the dirty run's rejects by code are those of indicina.load_errors ($(echo "$rejects" | wc -w) codes)"
ok "$([ "$(echo "$rejects" | wc -w)" -ge 3 ] && echo 0 || echo 1)" "the dirty drop gave several codes to compare"
ledger=$(q -c "SELECT string_agg(path || ':' || rows_read || '=' || rows_loaded || '+' || rows_rejected, ' ' ORDER BY source, path) FROM dw_dirty.file_ledger")
is "$(js "' '.join(row[1] + ':' + row[3] + '=' + row[4] + '+' + row[5] for row in r['dirtyFiles'])")" "$ledger" \
   "the file ledger table shows every file with read = loaded + rejected"
is "$(js "len(r['dirtyRuns'])")" "$(q -c "SELECT count(*) FROM indicina.pipeline_runs WHERE target = 'dw_dirty'")" \
   "the runs table lists the warehouse's runs, not the other warehouse's"
rules=$(q -c "SELECT string_agg(split_part(code, ':', 2) || '=' || n, ' ' ORDER BY split_part(code, ':', 1), split_part(code, ':', 2)) FROM (
               SELECT code, count(*) n FROM indicina.read_load_errors()
                WHERE relation_id IN ('raw_loan_applications'::regclass, 'raw_bank_statements'::regclass)
                  AND (code LIKE 'RULE:%' OR code LIKE 'WARN:%') GROUP BY code) s")
is "$(js "' '.join(row[1] + '=' + row[3] for row in sorted(r['dirtyRules'], key=lambda x: ('RULE' if x[2] == 'reject' else 'WARN', x[1])))")" "$rules" \
   "rule failures by rule (rejected and warned) are those of the reject log"
is "$(js "len(set((row[0], row[1]) for row in r['dirtyTrend']))")" \
   "$(q -c "SELECT count(DISTINCT (relation, rule)) FROM indicina.quality_results WHERE run_id IN (SELECT run_id FROM indicina.pipeline_runs WHERE target = 'dw_dirty')")" \
   "the rule trend has every rule the runs judged"
is "$(js "r['dirtyUnload']")" "$(q -c "SELECT state FROM indicina.unloads WHERE target = 'dw_dirty' ORDER BY unload_id DESC LIMIT 1")" \
   "the last-unload tile shows the state of the warehouse's last unload in indicina.unloads (complete)"
is "$(js "r['seedUnload']")" "no unload yet" "a warehouse never unloaded: the tile says no unload yet"

done_testing
