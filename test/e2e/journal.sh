#!/usr/bin/env bash
# journal.sh: a torn last line (a crash mid-write) in the run journal and
# in the reject log: reads skip it with a WARNING naming file, line and
# offset; the next write ends it first, so the next record is whole.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
psql -qX -c "DROP DATABASE IF EXISTS indicina_journal" -c "CREATE DATABASE indicina_journal" >/dev/null
q() { psql -qX -At -v ON_ERROR_STOP=1 -d indicina_journal "$@"; }
q -c "CREATE EXTENSION indicina"
pgdata=$(q -c "SHOW data_directory")
journal="$pgdata/pg_indicina/journal.log"
# the cluster's journal is put aside and put back at the end, so the torn
# line made here stays out of the other tests' journal
saved=$(mktemp -u "$pgdata/pg_indicina/journal.saved.XXXXXX")
[ -f "$journal" ] && mv "$journal" "$saved"
trap '[ -f "$saved" ] && mv -f "$saved" "$journal"' EXIT

run_once() { q -c "SELECT indicina.run_end(indicina.run_begin('journal_test', '{\"n\": $1}'), 'finished', '{\"rows\": $1}')"; }
run_once 1 >/dev/null
run_once 2 >/dev/null
# the last line loses its end, as if the server had died mid-write
lines=$(wc -l <"$journal")
offset=$(head -n $((lines - 1)) "$journal" | wc -c)
truncate -s -7 "$journal"
torn=$(tail -n 1 "$journal")
expected="WARNING:  skipped 1 damaged line of \"pg_indicina/journal.log\"
DETAIL:  Not a whole record: line $lines (byte offset $offset)."

got=$(q -c "SELECT count(*) FROM indicina.runs WHERE kind = 'journal_test'" 2>&1)
is "$got" "$expected
2" "a torn last line: skipped, with a WARNING naming the file, line and offset"
is "$(q -c "SELECT status FROM indicina.runs WHERE kind = 'journal_test' ORDER BY run_id" 2>/dev/null | paste -sd,)" \
   "succeeded,unknown" "the run whose end was torn shows as unknown"

run_once 3 >/dev/null
for view in runs quality_results quality_summary; do
    got=$(q -c "SELECT count(*) >= 0 FROM indicina.$view" 2>&1)
    is "$got" "$expected
t" "after the next write indicina.$view reads, with the same WARNING"
done
is "$(q -c "SELECT string_agg(status || ':' || coalesce(details->>'rows', '-'), ',' ORDER BY run_id)
              FROM indicina.runs WHERE kind = 'journal_test'" 2>/dev/null)" \
   "succeeded:1,unknown:-,succeeded:3" "the record written after the torn line is whole"
is "$(tail -n 3 "$journal" | head -n 1)" "$torn" "the torn line was ended with a newline of its own"
# a fresh session (no cache) reads the same
is "$(q -c "SELECT count(*) FROM indicina.runs WHERE kind = 'journal_test'" 2>&1)" "$expected
3" "a new session reads the same, with the same WARNING"

# ---- waits for the journal's lock end on pg_cancel_backend
locker=
trap '[ -n "$locker" ] && kill "$locker" 2>/dev/null; [ -f "$saved" ] && mv -f "$saved" "$journal"' EXIT
cancel_while_locked "$journal" indicina_journal "SELECT indicina.run_begin('journal_lock_test')" "a journal write"
cancel_while_locked "$journal" indicina_journal "SELECT count(*) FROM indicina.runs" "a read of indicina.runs"

# ---- the reject log: the same for a torn record
log="$pgdata/pg_indicina/load_errors.log"
# put aside as the journal is: the torn line made here survives
# clear_load_errors(), and must not reach the other tests' reads
saved_log=$(mktemp -u "$pgdata/pg_indicina/load_errors.saved.XXXXXX")
[ -f "$log" ] && mv "$log" "$saved_log"
trap '[ -f "$saved" ] && mv -f "$saved" "$journal"; rm -f "$log"; [ -f "$saved_log" ] && mv -f "$saved_log" "$log"' EXIT
q -c "SELECT indicina.log_reject(NULL, 'pg_class', 'torn.csv', 1, NULL, 'TORN', 'first', NULL, 'a')" >/dev/null
lines=$(wc -l <"$log")
offset=$(head -n $((lines - 1)) "$log" | wc -c)
truncate -s -3 "$log"
q -c "SELECT indicina.log_reject(NULL, 'pg_class', 'torn.csv', 2, NULL, 'TORN', 'second', NULL, 'b')" >/dev/null
is "$(q -c "SELECT string_agg(line || ' ' || message || ' ' || raw_line, ',') FROM indicina.load_errors WHERE code = 'TORN'" 2>&1)" \
   "WARNING:  skipped 1 damaged line of \"pg_indicina/load_errors.log\"
DETAIL:  Not a whole record: line $lines (byte offset $offset).
2 second b" "a torn reject record is skipped with a WARNING; the next record is whole"
is "$(q -c "SELECT indicina.clear_load_errors()" 2>&1)" 1 "clear_load_errors() removes this database's record"
is "$(q -c "SELECT count(*) FROM indicina.load_errors" 2>&1)" \
   "WARNING:  skipped 1 damaged line of \"pg_indicina/load_errors.log\"
DETAIL:  Not a whole record: line 1 (byte offset 0).
0" "the damaged line stays: it belongs to no known database"
is "$(grep -c 'torn.csv' "$log")" 1 "it is still in the file, the only line left"

psql -qX -c "DROP DATABASE indicina_journal" >/dev/null
done_testing
