#!/usr/bin/env bash
# sqlsmith.sh: random queries from Debian's sqlsmith against a database
# holding indicina's foreign tables (several files, a gzip one, rejects,
# lineage columns, the file column that parameterised scans filter on), the
# warehouse after a pipeline run and the mart views.  They run as an
# ordinary role, a member of indicina_operator with SELECT on the tables,
# which cannot terminate other backends.  Errors are expected; a crash
# ("terminated by signal" in the server log), an assertion failure (TRAP:)
# or a sanitizer report is a failure, with the query that caused it.
#
#   SQLSMITH_QUERIES (default 2500, about a minute here)  SQLSMITH_SEED (1)
#   SQLSMITH_REPLAY=file.sql: also send these queries (a run's crashes.sql;
#   default test/data/sqlsmith/found.sql, the crashes found so far)
#   INDICINA_SERVER_LOG: the server's log file (default: the pg_virtualenv
#   cluster's, found with pg_lsclusters)
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"

if ! command -v sqlsmith >/dev/null; then
    echo "ok 1 # skip sqlsmith is not installed"
    done_testing
    exit
fi
queries=${SQLSMITH_QUERIES:-2500}
seed=${SQLSMITH_SEED:-1}
log=${INDICINA_SERVER_LOG:-$(pg_lsclusters -h 2>/dev/null | awk -v p="${PGPORT:-5432}" '$3 == p { print $7 }')}
generated_landing --customers 300 --months 3 --files 3 --dirty 0.05 --seed 17

db=indicina_fuzz
q() { psql -qX -At -v ON_ERROR_STOP=1 -d $db "$@"; }
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
DROP DATABASE IF EXISTS $db;
DROP ROLE IF EXISTS regress_fuzzer;
CREATE DATABASE $db;
SQL
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS indicina;
SQL
raw_tables $db
q >/dev/null <<'SQL'
SET client_min_messages = warning;
-- more shapes of foreign table: one plain file, the gzip file, text only
-- with a reject limit, skipped rows, and a file column to filter on
CREATE FOREIGN TABLE statements_first (
    transaction_id text, customer_id text, transaction_date date OPTIONS (format 'auto'),
    transaction_amount numeric(14,2) OPTIONS (format 'amount'), narration text, balance numeric,
    file text OPTIONS (source 'file'), line bigint OPTIONS (source 'line')
) SERVER landing OPTIONS (filename 'statements/bank_statements_001.csv', on_error 'skip');
CREATE FOREIGN TABLE statements_gzip (
    transaction_id text, customer_id text, transaction_amount numeric(14,2) OPTIONS (format 'amount'),
    file text OPTIONS (source 'file')
) SERVER landing OPTIONS (files 'statements/*.csv.gz', compression 'gzip', on_error 'reject');
CREATE FOREIGN TABLE statements_text (
    transaction_id text, customer_id text, transaction_date text, transaction_amount text,
    narration text, balance text, file text OPTIONS (source 'file'), line bigint OPTIONS (source 'line')
) SERVER landing OPTIONS (files 'statements/*.csv*', on_error 'reject', reject_limit '50%',
                          fill_missing 'true', blank_as_null 'true');
CREATE FOREIGN TABLE loans_typed (
    application_id text, customer_id text OPTIONS (format 'id'), loan_amount numeric OPTIONS (format 'amount'),
    loan_application_date date OPTIONS (format 'auto'), credit_score int, annual_income float8,
    source_file text OPTIONS (source 'file')
) SERVER landing OPTIONS (files 'loans/*.csv', on_error 'reject', skip_rows '2', header 'false');
CREATE TABLE paths AS SELECT DISTINCT source_file AS p FROM raw_bank_statements;
SELECT indicina.create_warehouse('dw');
SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw');
SQL
rejects=$(q -c "SELECT count(*) FROM indicina.load_errors")
ok "$([ "${rejects:-0}" -gt 0 ]; echo $?)" "the fuzz database has a warehouse after a run and rejected rows ($rejects)"

# the fuzzing role: indicina_operator (made here if the install script does
# not ship it), SELECT on every table, view and foreign table, no more
q >/dev/null <<SQL
SET client_min_messages = warning;
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'indicina_operator') THEN
        CREATE ROLE indicina_operator NOLOGIN;
    END IF;
END \$\$;
CREATE ROLE regress_fuzzer LOGIN PASSWORD 'regress_fuzzer';
GRANT indicina_operator TO regress_fuzzer;
GRANT USAGE ON SCHEMA public, dw, mart, indicina TO regress_fuzzer;
GRANT SELECT ON ALL TABLES IN SCHEMA public, dw, mart, indicina TO regress_fuzzer;
ALTER ROLE regress_fuzzer IN DATABASE $db SET statement_timeout = '1s';
-- every query in the server log, so a crash's query is there whole (the
-- crash report cuts it at track_activity_query_size)
ALTER ROLE regress_fuzzer IN DATABASE $db SET log_statement = 'all';
SQL
is "$(q -c "SELECT rolsuper OR pg_has_role('regress_fuzzer', 'pg_signal_backend', 'MEMBER')
                   OR pg_has_role('regress_fuzzer', 'pg_read_server_files', 'MEMBER')
              FROM pg_roles WHERE rolname = 'regress_fuzzer'")" f \
   "the fuzzer is no superuser and may neither signal backends nor read server files"

# sqlsmith connects over the same socket or host as psql
conn="host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=$db user=regress_fuzzer password=regress_fuzzer"
offset=$( [ -f "$log" ] && stat -c %s "$log" || echo 0)
start=$(date +%s)
sqlsmith --target="$conn" --seed="$seed" --max-queries="$queries" --exclude-catalog --verbose \
    >"$work/sqlsmith.out" 2>"$work/sqlsmith.err"
rc=$?
# SQLSMITH_REPLAY=file.sql: queries of an earlier run (its crashes.sql) sent
# again as the fuzzer, in the same window, e.g. on the checking server
SQLSMITH_REPLAY=${SQLSMITH_REPLAY:-$repo/test/data/sqlsmith/found.sql}
if [ -n "$SQLSMITH_REPLAY" ]; then
    PGUSER=regress_fuzzer PGPASSWORD=regress_fuzzer psql -X -d $db -f "$SQLSMITH_REPLAY" >"$work/replay.out" 2>&1
    echo "# replayed $SQLSMITH_REPLAY: $(grep -c 'server closed the connection' "$work/replay.out") lost connections"
fi
secs=$(($(date +%s) - start))
sleep 1
if [ -f "$log" ]; then
    tail -c +$((offset + 1)) "$log" >"$work/server.log"
else
    : >"$work/server.log"
fi
crashes=$(grep -c 'terminated by signal' "$work/server.log")
traps=$(grep -c 'TRAP:' "$work/server.log")
sanitizer=$(grep -cE 'ERROR: AddressSanitizer|runtime error:' "$work/server.log")
# sqlsmith's closing report: "queries: N", then "COUNT<TAB>ERROR: ..." per kind
tac "$work/sqlsmith.err" | sed '/^queries: /q' | tac >"$work/report"
ran=$(sed -n 's/^queries: //p' "$work/report")
errors=$(grep -E '^[0-9]+'$'\t' "$work/report" | awk '{ n += $1 } END { print n + 0 }')
echo "# sqlsmith: ${ran:-0} queries run (seed $seed, $secs s), $errors errors, statement_timeout 1s; exit $rc"
echo "# the most frequent errors (count, start of message):"
grep -E '^[0-9]+'$'\t' "$work/report" | sort -rn | head -6 | sed 's/^/#   /'
# kept for a look at what ran: sqlsmith's report (and below, on a failure,
# the server log's part)
[ -d "$repo/build/test-logs" ] && cp "$work/sqlsmith.err" "$repo/build/test-logs/sqlsmith-report.log"
ok "$([ -s "$log" ]; echo $?)" "the server log is read ($log)"
is "$crashes" 0 "no query crashed a backend (terminated by signal)"
is "$traps" 0 "no assertion failed (TRAP:)"
is "$sanitizer" 0 "no sanitizer report"
if [ "$crashes" -gt 0 ] || [ "$traps" -gt 0 ] || [ "$sanitizer" -gt 0 ]; then
    grep -E -A3 'terminated by signal|TRAP:|AddressSanitizer|runtime error:' "$work/server.log" \
        | cut -c1-300 | head -40 | sed 's/^/#   /'
    # the whole query of each crashed backend: its last logged statement
    for pid in $(sed -n 's/.*server process (PID \([0-9]*\)) was terminated by signal.*/\1/p' "$work/server.log"); do
        echo "-- backend $pid"
        awk -v pid="[$pid] " 'index($0, pid) && index($0, "LOG:  statement: ") {
                                  q = substr($0, index($0, "LOG:  statement: ") + 17); inq = 1; next }
                              inq && /^\t/ { q = q "\n" substr($0, 2); next }
                              { inq = 0 }
                              END { print q }' "$work/server.log"
        echo ";"
    done >"$work/crashes.sql"
    echo "# the crashing queries (also in build/test-logs/sqlsmith-crashes.sql):"
    head -c 20000 "$work/crashes.sql" | sed 's/^/#   /'
    if [ -d "$repo/build/test-logs" ]; then
        cp "$work/crashes.sql" "$repo/build/test-logs/sqlsmith-crashes.sql"
        cp "$work/server.log" "$repo/build/test-logs/sqlsmith-server.log"
    fi
fi
is "$rc/${ran:-0}" "0/$queries" "sqlsmith ran its $queries queries to the end"
[ "$rc" -eq 0 ] || tail -5 "$work/sqlsmith.err" | sed 's/^/#   /'
done_testing
