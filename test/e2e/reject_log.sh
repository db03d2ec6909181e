#!/usr/bin/env bash
# reject_log.sh: the reject log under concurrency and across databases.
#  - two sessions writing while rotations happen: no record lost or doubled;
#  - a scan waiting for the log's lock ends on pg_cancel_backend;
#  - each database (and schema) sees, re-checks and clears only its own rows.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
work=$(scratch_dir)
locker=
cleanup() {
    [ -n "$locker" ] && kill "$locker" 2>/dev/null
    if [ -n "${pgdata:-}" ] && [ -d "$work/saved" ]; then
        rm -f "$log" "$log.1"
        mv "$work/saved"/* "$pgdata/pg_indicina/" 2>/dev/null
        rmdir "$work/saved"
    fi
    psql -qX -c "ALTER SYSTEM RESET indicina.load_errors_max_size" -c "SELECT pg_reload_conf()" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
DROP DATABASE IF EXISTS indicina_rl_a;
DROP DATABASE IF EXISTS indicina_rl_b;
CREATE DATABASE indicina_rl_a;
CREATE DATABASE indicina_rl_b;
SQL
qa() { psql -qX -At -v ON_ERROR_STOP=1 -d indicina_rl_a "$@"; }
qb() { psql -qX -At -v ON_ERROR_STOP=1 -d indicina_rl_b "$@"; }
pgdata=$(qa -c "SHOW data_directory")
log="$pgdata/pg_indicina/load_errors.log"
# the rounds below remove the log: the cluster's is put aside and put back
mkdir -p "$work/saved"
for f in "$log" "$log.1"; do [ -f "$f" ] && mv "$f" "$work/saved/"; done

# ---- fixtures: every bad row names its file, so a record says where it came from
mkdir -p "$work/files"
for f in a1 a2 b1 b2; do
    {
        echo "id,amount"
        for i in 1 2 3; do echo "$i,ok-$f-$i"; echo "$((i + 10)),7"; done
    } >"$work/files/$f.csv"
done
chmod -R a+rX "$work"
for d in a b; do
    psql -qX -v ON_ERROR_STOP=1 -d "indicina_rl_$d" >/dev/null <<SQL
CREATE EXTENSION indicina;
CREATE SERVER files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/files');
CREATE SCHEMA s1;
CREATE SCHEMA s2;
CREATE FOREIGN TABLE s1.t (id int, amount int, f text OPTIONS (source 'file'), l bigint OPTIONS (source 'line'))
    SERVER files OPTIONS (filename '${d}1.csv', on_error 'reject');
CREATE FOREIGN TABLE s2.t (id int, amount int, f text OPTIONS (source 'file'), l bigint OPTIONS (source 'line'))
    SERVER files OPTIONS (filename '${d}2.csv', on_error 'reject');
SQL
done

# ---- 1. rotation with two writers: every record in one of the two generations, once
# The log rotates past 1 MB; each round writes about 1.5 MB (two sessions,
# 2 x 4000 records of about 190 bytes), so exactly one rotation happens and
# everything written is kept.  A writer that locked the renamed file used
# to rotate a second time and drop the first generation.
# (the library is loaded first: ALTER SYSTEM checks the setting exists)
qa -c "SELECT indicina.version()" -c "ALTER SYSTEM SET indicina.load_errors_max_size = '1MB'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
is "$(qa -c "SHOW indicina.load_errors_max_size")" "1MB" "the log rotates past 1MB"
writer() {  # writer ROUND SESSION
    qa -c "SELECT count(indicina.log_reject(NULL, 's1.t', 'rot-$1-$2', i, 'amount', 'ROTATION',
                                            repeat('m', 80), 'v', repeat('r', 40)))
             FROM generate_series(1, 4000) i" >/dev/null
}
rounds=12
bad_rounds=""
for round in $(seq 1 $rounds); do
    qa -c "SELECT indicina.clear_load_errors()" >/dev/null
    rm -f "$log" "$log.1"
    writer "$round" 1 &
    w1=$!
    writer "$round" 2 &
    w2=$!
    wait $w1 $w2
    got=$(qa -c "SELECT count(*), count(DISTINCT (file, line)) FROM indicina.read_load_errors()
                  WHERE file LIKE 'rot-$round-%'")
    [ "$got" = "8000|8000" ] || bad_rounds="$bad_rounds round $round: $got;"
done
is "${bad_rounds:-none}" "none" "$rounds rounds of two writers across a rotation: all 8000 records kept, none twice"
qa -c "ALTER SYSTEM RESET indicina.load_errors_max_size" -c "SELECT pg_reload_conf()" >/dev/null
qa -c "SELECT indicina.clear_load_errors()" >/dev/null

# ---- 2. a scan waiting for the log's lock can be cancelled
# (the log exists, made by the server: the lock is taken on the server's file)
ok $([ -f "$log" ]; echo $?) "the log exists"
cancel_while_locked "$log" indicina_rl_a "SELECT count(amount) FROM s1.t" "a scan with rejects"
qa -c "SELECT indicina.clear_load_errors()" >/dev/null

# ---- 5. each database and schema sees only its own records
for d in a b; do
    for s in s1 s2; do
        psql -qX -At -d "indicina_rl_$d" -c "SELECT count(amount) FROM $s.t" >/dev/null
    done
done
is "$(qa -c "SELECT string_agg(relation::text || ' ' || file || ':' || line, ', ' ORDER BY file, line)
               FROM indicina.load_errors WHERE code <> 'ROTATION'")" \
   "s1.t a1.csv:2, s1.t a1.csv:4, s1.t a1.csv:6, s2.t a2.csv:2, s2.t a2.csv:4, s2.t a2.csv:6" \
   "database a sees only its own records, each with its schema"
is "$(qb -c "SELECT string_agg(relation_name || ' ' || file || ':' || line, ', ' ORDER BY file, line)
               FROM indicina.load_errors")" \
   "s1.t b1.csv:2, s1.t b1.csv:4, s1.t b1.csv:6, s2.t b2.csv:2, s2.t b2.csv:4, s2.t b2.csv:6" \
   "and database b its own"
is "$(qa -c "SELECT string_agg(file || ':' || line || ' ' || loads_now, ', ') FROM indicina.recheck_quarantined('s2.t')")" \
   "a2.csv:2 false, a2.csv:4 false, a2.csv:6 false" \
   "recheck_quarantined of s2.t re-reads only s2.t's rows of this database"

# ---- 3. clear_load_errors clears only what is the caller's
is "$(qa -c "SELECT indicina.clear_load_errors('s1.t')")" 3 "clear_load_errors('s1.t') in a clears its 3 records"
is "$(qa -c "SELECT string_agg(file || ':' || line, ', ' ORDER BY file, line) FROM indicina.load_errors")" \
   "a2.csv:2, a2.csv:4, a2.csv:6" "s2.t's records stay"
is "$(qb -c "SELECT count(*) FROM indicina.load_errors")" 6 "and b's are untouched"
is "$(qa -c "SELECT indicina.clear_load_errors()")" 3 "clear_load_errors() in a clears a's 3 remaining records"
is "$(qb -c "SELECT count(*) FROM indicina.load_errors")" 6 "and leaves b's"
is "$(qb -c "SELECT indicina.clear_load_errors()")" 6 "b clears its own 6"

psql -qX -c "DROP DATABASE indicina_rl_a" -c "DROP DATABASE indicina_rl_b" >/dev/null
done_testing
