# tap.sh: a few TAP helpers for the end-to-end scripts.  Sourced.
# Each script prints "ok N - what" / "not ok N - what" lines and exits
# non-zero if any failed; tools/test.sh counts them.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
. "$repo/tools/lib/common.sh"
tap_n=0
tap_failed=0

ok() {  # ok CONDITION-EXIT-CODE DESCRIPTION
    tap_n=$((tap_n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $tap_n - $2"
    else
        echo "not ok $tap_n - $2"
        tap_failed=$((tap_failed + 1))
    fi
}

is() {  # is GOT EXPECTED DESCRIPTION
    tap_n=$((tap_n + 1))
    if [ "$1" == "$2" ]; then
        echo "ok $tap_n - $3"
    else
        echo "not ok $tap_n - $3"
        echo "#   got:      '$1'"
        echo "#   expected: '$2'"
        tap_failed=$((tap_failed + 1))
    fi
}

like() {  # like GOT SUBSTRING DESCRIPTION
    tap_n=$((tap_n + 1))
    if [[ "$1" == *"$2"* ]]; then
        echo "ok $tap_n - $3"
    else
        echo "not ok $tap_n - $3"
        echo "#   got:      '$1'"
        echo "#   expected to contain: '$2'"
        tap_failed=$((tap_failed + 1))
    fi
}

done_testing() {
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}

# ---- setup shared by the scripts ----

# generated_landing GEN-OPTIONS...: $work, a scratch directory removed when
# the script exits, holding indicina-gen's drop (GEN-OPTIONS) in
# $work/landing, readable by the server
generated_landing() {
    work=$(scratch_dir)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    "$repo/tools/indicina-gen" --out "$work/landing" "$@" >/dev/null
    chmod -R a+rX "$work"
}

# fresh_db DB...: each database dropped if it exists and created empty
fresh_db() {
    local db drops=() creates=()
    for db in "$@"; do
        drops+=(-c "DROP DATABASE IF EXISTS $db")
        creates+=(-c "CREATE DATABASE $db")
    done
    psql -qX "${drops[@]}" "${creates[@]}" >/dev/null
}

# cron_db: the postgres database (pg_cron's in the test cluster) with a
# fresh indicina, pg_cron when the server has it, an empty reject log and
# no warehouse dw; sets $cron (1 when pg_cron is there)
cron_db() {
    cron=$(psql -qX -At -d postgres -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_cron'")
    psql -qX -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
DROP SCHEMA IF EXISTS dw CASCADE; DROP SCHEMA IF EXISTS mart CASCADE;
DROP EXTENSION IF EXISTS indicina CASCADE;
$([ "$cron" = 1 ] && echo "CREATE EXTENSION IF NOT EXISTS pg_cron;")
CREATE EXTENSION indicina;
SELECT indicina.clear_load_errors();
SQL
}

# cancel_and_wait PID SCAN-PID SECONDS: pg_cancel_backend(PID), then waits
# up to SECONDS for the background job SCAN-PID to end; sets $cancel_ended
# (0 when it ended) and $elapsed_ms (from the cancel to its end)
cancel_and_wait() {
    local pid=$1 job=$2 seconds=$3 start
    start=$(date +%s%N)
    psql -qX -At -c "SELECT pg_cancel_backend($pid)" >/dev/null
    for _ in $(seq 1 $((seconds * 10))); do
        kill -0 "$job" 2>/dev/null || break
        sleep 0.1
    done
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    ! kill -0 "$job" 2>/dev/null
    cancel_ended=$?
    kill "$job" 2>/dev/null
    wait "$job"
}

# raw_tables DB [PSQL-OPTIONS]: tools/lib/raw_tables.sql's foreign tables in
# DB over every loans and statements file of $work/landing; PSQL-OPTIONS
# (such as -c) run after them in the same session
raw_tables() {
    local db=$1
    shift
    psql -qX -At -v ON_ERROR_STOP=1 -d "$db" -v root="$work/landing" -v loans_files='loans/*.csv' \
        -v statements_files='statements/*.csv*' -f "$repo/tools/lib/raw_tables.sql" "$@" >/dev/null
}

# load_defects DB: the drop's defects.csv (what the generator injected, and
# where) as table defects in DB
load_defects() {
    psql -qX -v ON_ERROR_STOP=1 -d "$1" >/dev/null \
        -c "CREATE TABLE defects (source text, kind text, file text, line bigint, detail text)" \
        -c "\\copy defects FROM '$work/landing/defects.csv' (FORMAT csv, HEADER true)"
}

# dirty_landing_db DB GEN-OPTIONS...: generated_landing GEN-OPTIONS, and DB
# made afresh with the extension, the reject log cleared, raw_tables over
# the drop and load_defects: what the scripts over a dirty drop start from
dirty_landing_db() {
    local db=$1
    shift
    generated_landing "$@"
    fresh_db "$db"
    psql -qX -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION indicina" -c "SELECT indicina.clear_load_errors()" \
        >/dev/null
    raw_tables "$db"
    load_defects "$db"
}

# lock_table DB TABLE NAME: a session named NAME (application_name) takes
# an ACCESS EXCLUSIVE lock on TABLE in DB and holds it for up to 120 s, until
# terminated; returns once the lock is granted, the session's psql in $locker
lock_table() {
    local db=$1 table=$2 name=$3
    PGAPPNAME=$name psql -qX -d "$db" -c "BEGIN; LOCK TABLE $table IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120)" \
        >/dev/null 2>&1 &
    locker=$!
    for _ in $(seq 1 100); do
        [ "$(psql -qX -At -d "$db" -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                                      WHERE a.application_name = '$name' AND l.mode = 'AccessExclusiveLock'
                                        AND l.granted")" -gt 0 ] && break
        sleep 0.1
    done
}

# cancel_while_locked FILE DB SQL WHAT: while FILE is locked (flock), SQL
# run in DB waits; pg_cancel_backend ends the wait well before the lock is
# let go, with the usual error.  Three TAP lines.  The locking process is in
# $locker while it runs, for the caller's exit trap.
cancel_while_locked() {
    local file=$1 db=$2 sql=$3 what=$4 out session pid="" ended=1
    out=$(mktemp)
    flock -x "$file" sleep 60 &
    locker=$!
    sleep 0.3
    psql -qX -At -d "$db" -c "$sql" >"$out" 2>&1 &
    session=$!
    for _ in $(seq 1 50); do
        sleep 0.2
        pid=$(psql -qX -At -d "$db" -c "SELECT pid FROM pg_stat_activity
                                         WHERE query = \$\$$sql\$\$ AND pid <> pg_backend_pid()")
        [ -n "$pid" ] && break
    done
    sleep 0.5
    ok $([ -n "$pid" ] && kill -0 $session 2>/dev/null; echo $?) "$what waits while $(basename "$file") is locked"
    psql -qX -d "$db" -c "SELECT pg_cancel_backend($pid)" >/dev/null
    # only a hang fails: it must end well before the lock is let go
    for _ in $(seq 1 100); do
        kill -0 $session 2>/dev/null || { ended=0; break; }
        sleep 0.2
    done
    ok $ended "pg_cancel_backend ends the wait of $what"
    like "$(cat "$out")" "canceling statement due to user request" "with the usual error"
    kill "$locker" 2>/dev/null
    wait "$locker" 2>/dev/null
    locker=
    wait $session 2>/dev/null
    rm -f "$out"
}
