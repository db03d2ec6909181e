#!/usr/bin/env bash
# unload_roundtrip.sh: unloads for real, read back by a second, independent
# PostgreSQL cluster standing in for Redshift.  The stand-in reads only the
# deliveries (unload.json and the manifests: tools/lib/roundtrip.py), loads
# every part with plain COPY (FORMAT csv, ...) in the dialect unload.json
# gives, applies incremental deliveries in order with the same delete and
# MERGE as the Redshift load SQL, and after every unload each table's rows
# and order-independent checksum equal the staging warehouse's: after a
# first load, new files, a corrected file, late data and a new customer
# version.  A cancelled, a terminated and a SIGKILLed unload leave no
# manifest and a failed or aborted ledger entry; the next unload delivers
# everything they did not.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
work=$(scratch_dir)
bindir=$(pg_config --bindir)
rs_port=$(free_port)
rs_dir="$work/standin"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    as_pg "$bindir/pg_ctl" -D "$rs_dir/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

"$repo/tools/indicina-gen" --out "$work/landing" --customers 600 --months 3 --files 3 --dirty 0.02 --seed 21 >/dev/null
"$repo/tools/indicina-gen" --out "$work/more" --customers 300 --months 4 --files 1 --seed 22 >/dev/null
# held back for "new files": the last statement file, and a second
# delivery of other customers (their ids made distinct)
mkdir -p "$work/lake" "$rs_dir" "$work/later"
mv "$work/landing/statements/bank_statements_003.csv"* "$work/later/"
sed -E 's/(APP|CUST|TXN)_/\1M_/g' "$work/more/loans/loan_applications.csv" > "$work/later/loans_more.csv"
sed -E 's/(APP|CUST|TXN)_/\1M_/g' "$work/more/statements/bank_statements_001.csv" > "$work/later/statements_more.csv"
chmod -R a+rwX "$work"
[ "$(id -u)" -eq 0 ] && chown postgres "$rs_dir"

# ---- the stand-in: a cluster of its own, on 127.0.0.1 only ----
as_pg "$bindir/initdb" -D "$rs_dir/data" -A trust -U postgres --no-sync >/dev/null
as_pg "$bindir/pg_ctl" -D "$rs_dir/data" -l "$rs_dir/log" -w \
    -o "-p $rs_port -c listen_addresses=127.0.0.1 -k $rs_dir -c fsync=off" start >/dev/null ||
    { cat "$rs_dir/log"; exit 1; }
rs() { psql -qX -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$rs_port" -U postgres -d postgres "$@"; }
is "$(rs -c "SELECT count(*) FROM pg_extension WHERE extname = 'indicina'")" 0 \
   "the stand-in is a plain PostgreSQL (no indicina in it) on 127.0.0.1:$rs_port"

db=postgres     # pg_cron's database in the test cluster (cron.database_name)
q() { psql -qX -At -v ON_ERROR_STOP=1 -d $db "$@"; }
cron_db
raw_tables $db -c "SELECT indicina.create_warehouse('dw')"
q -c "DROP SERVER IF EXISTS rt_lake CASCADE" -c "CREATE SERVER rt_lake FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/lake')" >/dev/null
run() { q -c "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw')" >/dev/null ||
        echo "# a pipeline run failed"; }
unload() { q -c "SELECT count(*) FROM indicina.unload('dw', 'rt_lake', slices => 2, max_part_size => 65536 $*)" 2>&1; }
last_unload() { q -c "SELECT max(unload_id) FROM indicina.unload_history"; }

# applies, in id order, every complete delivery (one with unload.json) the
# stand-in has not applied yet; sets applied (the last id) and n_applied
applied=0
apply_new() {
    local d
    n_applied=0
    for d in $(ls "$work/lake/dw" | sort -n); do
        [ -f "$work/lake/dw/$d/unload.json" ] && [ "$d" -gt "$applied" ] || continue
        /usr/bin/python3 "$repo/tools/lib/roundtrip.py" apply "$work/lake/dw/$d" > "$work/apply_$d.sql" || return 1
        rs -f "$work/apply_$d.sql" >/dev/null || return 1
        applied=$d
        n_applied=$((n_applied + 1))
    done
}
checksums() { /usr/bin/python3 "$repo/tools/lib/roundtrip.py" checksums dw > "$work/checksums.sql"; "$@" -f "$work/checksums.sql"; }
# after an unload: the stand-in applies what is new; its tables equal the warehouse's
check_round_trip() {  # WHAT
    apply_new
    ok $? "after $1: the stand-in applied the new delivery from its files alone ($n_applied applied)"
    is "$(checksums rs)" "$(checksums q)" "after $1: every table's rows and checksum in the stand-in equal the warehouse's"
}
mode_of() { q -c "SELECT mode || ' ' || (SELECT string_agg(t->>'name' || ':' || (t->>'rows'), ' ' ORDER BY i)
                                          FROM jsonb_array_elements(tables) WITH ORDINALITY e(t, i))
                    FROM indicina.unload_history WHERE unload_id = $(last_unload)"; }

# ---- a first load, a first (full) unload ----
run
unload >/dev/null
like "$(mode_of)" "full dim_date:" "the first unload to a server is a full one"
check_round_trip "a first load"
full_rows=$(q -c "SELECT sum((t->>'rows')::bigint) FROM indicina.unload_history, jsonb_array_elements(tables) t
                   WHERE unload_id = $(last_unload)")

# ---- nothing new: nothing ships ----
before=$(ls "$work/lake/dw" | wc -l)
like "$(q -c "SET client_min_messages = notice; SELECT count(*) FROM indicina.unload('dw', 'rt_lake')" 2>&1)" \
     "nothing to unload from dw" "an incremental unload with no new run says so in a NOTICE"
is "$(ls "$work/lake/dw" | wc -l)" "$before" "and writes no delivery"

# ---- new files ----
cp "$work/later/bank_statements_003.csv"* "$work/landing/statements/"
cp "$work/later/statements_more.csv" "$work/landing/statements/more.csv"
cp "$work/later/loans_more.csv" "$work/landing/loans/more.csv"
chmod -R a+rX "$work/landing"
run
unload >/dev/null
inc_rows=$(q -c "SELECT sum((t->>'rows')::bigint) FROM indicina.unload_history, jsonb_array_elements(tables) t
                  WHERE unload_id = $(last_unload)")
like "$(mode_of)" "incremental " "an unload after new files is incremental"
echo "# rows shipped: full $full_rows, incremental after new files $inc_rows"
check_round_trip "new files"

# ---- a few new customers in months the warehouse has: only their rows ship ----
printf '%s\n' 'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income' \
    'APP_F1,CUST_F1,5000,2023-01-02,700,Employed,40000' 'APP_F2,CUST_F2,6000,2023-01-03,710,Employed,50000' \
    'APP_F3,CUST_F3,7000,2023-01-04,720,Self-Employed,60000' > "$work/landing/loans/few.csv"
printf '%s\n' 'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance' \
    'TXN_F1A,CUST_F1,2023-01-10,100.00,Monthly Income,100.00' 'TXN_F1B,CUST_F1,2023-02-10,-20.00,POS Purchase,80.00' \
    'TXN_F2A,CUST_F2,2023-01-11,300.00,Monthly Income,300.00' 'TXN_F2B,CUST_F2,2023-03-11,-10.00,ATM Withdrawal,290.00' \
    'TXN_F3A,CUST_F3,2023-02-12,500.00,Monthly Income,500.00' 'TXN_F3B,CUST_F3,2023-03-12,-50.00,Fuel Purchase,450.00' \
    > "$work/landing/statements/few.csv"
chmod a+r "$work/landing/loans/few.csv" "$work/landing/statements/few.csv"
run
unload >/dev/null
few_rows=$(q -c "SELECT sum((t->>'rows')::bigint) FROM indicina.unload_history, jsonb_array_elements(tables) t
                  WHERE unload_id = $(last_unload)")
is "$(mode_of)" "incremental dim_date:$(q -c "SELECT count(*) FROM dw.dim_date") dim_transaction_category:$(q -c "SELECT count(*) FROM dw.dim_transaction_category") dim_customer:3 fact_loan_application:3 fact_bank_transaction:6 agg_customer_month:6 customer_risk_features:3" \
   "after a run of 3 new customers, an incremental unload ships their rows and no other customer's"
is "$(q -c "SELECT sum(jsonb_array_length(t->'deletes')) FROM indicina.unload_history, jsonb_array_elements(tables) t
             WHERE unload_id = $(last_unload)")" 0 "and deletes nothing"
echo "# rows shipped after 3 new customers: $few_rows"
check_round_trip "a few new customers"

# ---- a corrected file ----
f="$work/landing/statements/bank_statements_002.csv"
head -n -40 "$f" > "$f.new" && mv "$f.new" "$f" && chmod a+r "$f"
run
unload >/dev/null
is "$(q -c "SELECT t->'deletes' @> '[{\"source_file\": \"statements/bank_statements_002.csv\"}]'
              FROM indicina.unload_history, jsonb_array_elements(tables) t
             WHERE unload_id = $(last_unload) AND t->>'name' = 'fact_bank_transaction'")" t \
   "the delivery after a corrected file deletes the file's rows by lineage"
check_round_trip "a corrected file"

# ---- late data: a transaction before its application, then the application ----
printf 'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance\nTXN_LATE1,CUST_LATE,2024-02-01,100.00,Monthly Income,100.00\n' \
    > "$work/landing/statements/late.csv"
chmod a+r "$work/landing/statements/late.csv"
run
unload >/dev/null
check_round_trip "a transaction that waits on the unknown customer"
printf 'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income\nAPP_LATE,CUST_LATE,5000,2024-02-02,700,Employed,40000\n' \
    > "$work/landing/loans/late.csv"
chmod a+r "$work/landing/loans/late.csv"
run
unload >/dev/null
check_round_trip "late data"
is "$(rs -c "SELECT c.customer_id FROM dw.fact_bank_transaction f JOIN dw.dim_customer c USING (customer_key) WHERE transaction_id = 'TXN_LATE1'")" \
   CUST_LATE "the stand-in has the late transaction attached to its customer"

# ---- a new customer version (SCD2): old version closed, transactions re-pointed ----
printf 'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income\nAPP_S1,CUST_SCD,5000,2024-01-10,700,Employed,40000\n' \
    > "$work/landing/loans/scd.csv"
printf 'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance\nTXN_S1,CUST_SCD,2024-01-01,100.00,Monthly Income,100.00\nTXN_S3,CUST_SCD,2024-04-01,-20.00,POS Purchase,80.00\n' \
    > "$work/landing/statements/scd.csv"
chmod a+r "$work/landing/loans/scd.csv" "$work/landing/statements/scd.csv"
run
unload >/dev/null
printf 'application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income\nAPP_S2,CUST_SCD,6000,2024-03-10,710,Self-Employed,60000\n' \
    > "$work/landing/loans/scd_b.csv"
chmod a+r "$work/landing/loans/scd_b.csv"
run
unload >/dev/null
check_round_trip "a new customer version"
is "$(rs -c "SELECT string_agg(f.transaction_id || ':' || c.annual_income, ' ' ORDER BY f.transaction_id)
               FROM dw.fact_bank_transaction f JOIN dw.dim_customer c USING (customer_key) WHERE f.customer_id = 'CUST_SCD'")" \
   "TXN_S1:40000.00 TXN_S3:60000.00" "the stand-in's transactions point at the customer version valid at their date"

# ---- applying a delivery twice, or out of order, is refused ----
replay=$(rs -f "$work/apply_$applied.sql" 2>&1)
like "$replay" "is already applied" "applying the last delivery again is refused and changes nothing"

# ---- a cancelled, a terminated and a killed unload ----
# the unload is held at its last table by a lock, then stopped there: the
# parts of the tables before it are written, no manifest is
hold_and_stop() {  # HOW: cancel | terminate | sigkill
    local pid status unloader
    lock_table $db dw.customer_risk_features rt_lock
    PGAPPNAME=rt_unload psql -qX -d $db -c "SELECT count(*) FROM indicina.unload('dw', 'rt_lake', mode => 'full')" >/dev/null 2>&1 &
    unloader=$!
    for _ in $(seq 1 200); do
        pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'rt_unload' AND wait_event_type = 'Lock'")
        [ -n "$pid" ] && break
        sleep 0.1
    done
    case $1 in
        cancel) q -c "SELECT pg_cancel_backend($pid)" >/dev/null ;;
        terminate) q -c "SELECT pg_terminate_backend($pid)" >/dev/null ;;
        sigkill) kill -9 "$pid" ;;
    esac
    wait "$unloader" 2>/dev/null
    if [ "$1" = sigkill ]; then
        # the postmaster restarts every backend: until it has, the killed
        # backend is still listed (and a query may even run before the
        # postmaster has noticed); wait until it is gone from a new server
        for _ in $(seq 1 150); do
            [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid" 2>/dev/null)" = 0 ] && break
            sleep 0.2
        done
    else
        q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rt_lock'" >/dev/null
    fi
    wait "$locker" 2>/dev/null
    status=$(q -c "SELECT u.unload_id || ' ' || u.state FROM indicina.unloads u ORDER BY u.unload_id DESC LIMIT 1")
    echo "$status"
}
for how in cancel terminate sigkill; do
    got=$(hold_and_stop $how)
    id=${got%% *}
    case $how in cancel) want=failed ;; *) want=aborted ;; esac
    is "${got#* }" "$want" "an unload stopped by $how is $want in indicina.unloads"
    manifests=$(find "$work/lake/dw/$id" -name '*.manifest' 2>/dev/null | wc -l)
    parts=$(find "$work/lake/dw/$id" -name 'part_*' 2>/dev/null | wc -l)
    is "$manifests/$([ -f "$work/lake/dw/$id/unload.json" ] && echo json || echo none)" "0/none" \
       "the unload stopped by $how left no manifest and no unload.json ($parts parts of the tables before the held one)"
done
is "$(q -c "SELECT count(*) FROM indicina.unload_history WHERE unload_id > $applied")" 0 \
   "none of them advanced the ledger"

# ---- the next unload delivers everything they did not ----
printf 'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance\nTXN_AFTER,CUST_SCD,2024-04-02,-5.00,ATM Withdrawal,75.00\n' \
    > "$work/landing/statements/after.csv"
chmod a+r "$work/landing/statements/after.csv"
run
unload >/dev/null
like "$(mode_of)" "incremental " "the next unload is incremental from the last complete one"
check_round_trip "the failed unloads"

# ---- scheduled by pg_cron with unload_to: the unload after the committed run ----
if [ "$cron" != 1 ]; then
    echo "# pg_cron is not installed in this server: its 9 tests are skipped"
    done_testing
    exit
fi
# a second lake that already had a complete unload, then made unwritable:
# its scheduled unload fails after the run committed
mkdir -p "$work/jam" && chmod a+rwx "$work/jam"
q -c "DROP SERVER IF EXISTS rt_jam CASCADE" -c "CREATE SERVER rt_jam FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/jam')" \
  -c "SELECT count(*) FROM indicina.unload('dw', 'rt_jam')" >/dev/null
chmod a-w "$work/jam/dw"
like "$(q -c "SELECT indicina.schedule_pipeline('* * * * *', 'raw_loan_applications', 'raw_bank_statements', 'dw', 'rt_x',
                                               unload_to => 'no_such_lake')" 2>&1)" 'server "no_such_lake" does not exist' \
     "scheduling an unload to a server that does not exist is refused"
printf 'transaction_id,customer_id,transaction_date,transaction_amount,narration,balance\nTXN_CRON,CUST_SCD,2024-04-03,-1.00,ATM Withdrawal,74.00\n' \
    > "$work/landing/statements/cron.csv"
chmod a+r "$work/landing/statements/cron.csv"
good=$(q -c "SELECT indicina.schedule_pipeline('* * * * *', 'raw_loan_applications', 'raw_bank_statements', 'dw', 'rt_nightly',
                                               unload_to => 'rt_lake')")
jammed=$(q -c "SELECT indicina.schedule_pipeline('* * * * *', 'raw_loan_applications', 'raw_bank_statements', 'dw', 'rt_jammed',
                                                 unload_to => 'rt_jam')")
like "$(q -c "SELECT command FROM cron.job WHERE jobid = $good")" "CALL indicina.run_and_unload(" \
     "the job calls run_and_unload (the run, COMMIT, the unload)"
done_jobs=0
for _ in $(seq 1 130); do
    done_jobs=$(q -c "SELECT count(DISTINCT jobid) FROM cron.job_run_details
                       WHERE jobid IN ($good, $jammed) AND status IN ('succeeded', 'failed')")
    [ "$done_jobs" = 2 ] && break
    sleep 1
done
q -c "SELECT indicina.unschedule_pipeline('rt_nightly')" -c "SELECT indicina.unschedule_pipeline('rt_jammed')" >/dev/null
job_status() { q -c "SELECT status || ': ' || coalesce(return_message, '') FROM cron.job_run_details WHERE jobid = $1 ORDER BY runid LIMIT 1"; }
like "$(job_status "$good")" "succeeded" "the job with unload_to => rt_lake fired and succeeded"
like "$(job_status "$jammed")" "failed: ERROR: could not create directory" \
     "the job whose unload could not write fails, with the unload's error"
is "$(q -c "SELECT count(*) FROM dw.fact_bank_transaction WHERE transaction_id = 'TXN_CRON'")" 1 \
   "the failed unload did not undo the load: the run's rows are in the warehouse"
is "$(q -c "SELECT state FROM indicina.unloads WHERE server = 'rt_jam' ORDER BY unload_id DESC LIMIT 1")" failed \
   "and the unload is failed in indicina.unloads"
check_round_trip "a scheduled run and unload"
chmod u+w "$work/jam/dw"
q -c "SELECT count(*) FROM indicina.unload('dw', 'rt_jam')" >/dev/null
is "$(q -c "SELECT h.mode || ' ' || (SELECT (t->>'rows')::int > 0 FROM jsonb_array_elements(h.tables) t
                                      WHERE t->>'name' = 'fact_bank_transaction')
              FROM indicina.unload_history h WHERE h.server = 'rt_jam' ORDER BY h.unload_id DESC LIMIT 1")" "incremental true" \
   "the next incremental unload to that server ships what the failed one missed"

done_testing
