#!/usr/bin/env bash
# unload_parallel.sh: unloads whose large tables are cut into shares and
# written by parallel workers (src/ship/unload_workers.c), into a directory
# and into the test S3.  The rows are those the backend alone writes, full
# and incremental; the parts are of about equal rows, named after their
# share, and the same bytes whichever process wrote them; the workers read
# under the backend's snapshot; an error in a worker is the backend's error;
# a cancel while a worker writes ends every worker and leaves no manifest,
# no temporary file and no incomplete upload; without workers to start, the
# backend writes everything.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/s3.sh"
work=$(scratch_dir)
trap 's3_stop; rm -rf "$work"' EXIT
"$repo/tools/indicina-gen" --out "$work/landing" --customers 2500 --months 4 --files 2 --seed 41 >/dev/null
"$repo/tools/indicina-gen" --out "$work/more" --customers 100 --months 4 --files 1 --seed 42 >/dev/null
mkdir -p "$work/one" "$work/two" "$work/nowork"
chmod -R a+rwX "$work"
s3_start "$work/s3" || { ok 1 "the test S3 starts"; done_testing; exit 1; }
s3tool mb lake

db=unload_parallel
fresh_db $db
q() { psql -qX -At -v ON_ERROR_STOP=1 -d $db "$@"; }
q -c "CREATE EXTENSION indicina" >/dev/null
raw_tables $db -c "SELECT indicina.create_warehouse('dw')"
q >/dev/null <<SQL
CREATE SERVER one FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/one');
CREATE SERVER two FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/two');
CREATE SERVER nowork FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/nowork');
CREATE SERVER s3 FOREIGN DATA WRAPPER indicina_csv
    OPTIONS (root 's3://lake/deliveries', region '$S3_REGION', endpoint '$S3_ENDPOINT');
CREATE USER MAPPING FOR CURRENT_USER SERVER s3 OPTIONS (access_key_id '$S3_KEY', secret_access_key '$S3_SECRET');
SQL
run() { q -c "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw')" >/dev/null; }
run
facts=$(q -c "SELECT count(*) FROM dw.fact_bank_transaction")
# a table of 20,000 rows or more is cut into shares
unload() {  # SERVER WORKERS [ARGS]
    q -c "SET indicina.unload_worker_rows = 20000; SET indicina.s3_retry_base_delay = '10ms'" \
      -c "SELECT count(*) FROM indicina.unload('dw', '$1', workers => $2, slices => 4 ${3:-})"
}
last_id() { q -c "SELECT max(unload_id) FROM indicina.unload_history"; }
json() { cat "$work/$1/dw/$2/unload.json"; }
# every table's lines, decompressed and sorted, hashed: its rows whatever the parts
rows_of() {  # DELIVERY-DIR
    local t
    for t in $(ls "$1" | grep -v '\.' | grep -v redshift); do
        echo "$t $(cat "$1/$t"/part_* | gzip -dc | sort | sha256sum | cut -c1-16)"
    done
}

# ---- full: the backend alone, then with a worker ----
unload one 1 >/dev/null
one=$(last_id)
unload two 2 >/dev/null
two=$(last_id)
is "$(json one "$one" | jq .workers)/$(json two "$two" | jq .workers)" "1/2" \
   "unload.json says one process wrote the first delivery, two the second (workers => 2)"
is "$(rows_of "$work/two/dw/$two")" "$(rows_of "$work/one/dw/$one")" \
   "every table of the parallel delivery holds the rows of the backend's ($facts facts)"
is "$(json two "$two" | jq -r '.tables[] | select(.name == "fact_bank_transaction") | [.parts[].url | sub(".*/"; "")] | join(" ")')" \
   "part_0000_0000.csv.gz part_0000_0001.csv.gz part_0001_0000.csv.gz part_0001_0001.csv.gz" \
   "the fact table is cut into two shares of two parts each (slices 4), named after their share"
is "$(json one "$one" | jq -r '.tables[] | select(.name == "dim_date") | [.parts[].url | sub(".*/"; "")] | join(" ")')" \
   "$(json two "$two" | jq -r '.tables[] | select(.name == "dim_date") | [.parts[].url | sub(".*/"; "")] | join(" ")')" \
   "a table under indicina.unload_worker_rows is one share, its parts named as the backend names them"
ratio=$(json two "$two" | jq '[.tables[] | select(.name == "fact_bank_transaction") | .parts[].rows] | (max / min * 100 | floor)')
# shares are cut between ranges of 8 blocks: here about a tenth of a share each
ok "$([ "$ratio" -le 125 ]; echo $?)" "the fact table's parts are of about equal rows (largest / smallest: $ratio %)"
is "$(json two "$two" | jq '[.tables[] | .rows] | add')" "$(json one "$one" | jq '[.tables[] | .rows] | add')" \
   "unload.json counts the same rows"
bad=0
while read -r url sum; do
    [ "$(sha256sum "$url" | cut -d' ' -f1)" = "$sum" ] || bad=$((bad + 1))
done < <(json two "$two" | jq -r '.tables[].parts[] | "\(.url) \(.sha256)"')
is "$bad" 0 "every part a worker or the backend wrote has the SHA-256 unload.json lists"
unload two 2 ", mode => 'full'" >/dev/null
again=$(last_id)
is "$(cd "$work/two/dw/$again" && find . -name 'part_*' -exec sha256sum {} + | sort -k2)" \
   "$(cd "$work/two/dw/$two" && find . -name 'part_*' -exec sha256sum {} + | sort -k2)" \
   "a second parallel unload of the same warehouse writes the same files, byte for byte"

# ---- a worker may open the delivery before the backend has written its
# first file (the directory comes with it): every unload still succeeds ----
failures=0
for i in $(seq 1 8); do
    unload two 2 ", mode => 'full', compression => 'none'" >/dev/null 2>"$work/race.err" ||
        { failures=$((failures + 1)); sed 's/^/# /' "$work/race.err" | head -1; }
done
is "$failures" 0 "eight parallel unloads, the worker racing the backend to the new delivery directory, all succeed"

# ---- no worker can start: the backend writes every share ----
q -c "SET max_parallel_workers = 0; SET indicina.unload_worker_rows = 20000" \
  -c "SELECT count(*) FROM indicina.unload('dw', 'nowork', workers => 2, slices => 4)" >/dev/null
nowork=$(last_id)
is "$(json nowork "$nowork" | jq .workers)" 1 "with max_parallel_workers = 0 the backend alone writes the delivery"
is "$(cd "$work/nowork/dw/$nowork" && find . -name 'part_*' -exec sha256sum {} + | sort -k2)" \
   "$(cd "$work/two/dw/$two" && find . -name 'part_*' -exec sha256sum {} + | sort -k2)" \
   "and its files are those the backend and a worker wrote together"

# ---- incremental: new customers and files, a corrected file ----
sed -E 's/(APP|CUST|TXN)_/\1N_/g' "$work/more/loans/loan_applications.csv" > "$work/landing/loans/new.csv"
sed -E 's/(APP|CUST|TXN)_/\1N_/g' "$work/more/statements/bank_statements_001.csv" > "$work/landing/statements/new.csv"
f="$work/landing/statements/bank_statements_002.csv"
head -n -100 "$f" > "$f.new" && mv "$f.new" "$f"
chmod -R a+rX "$work/landing"
run
q -c "SET indicina.unload_worker_rows = 1000" -c "SELECT count(*) FROM indicina.unload('dw', 'one', workers => 1)" >/dev/null
one_inc=$(last_id)
q -c "SET indicina.unload_worker_rows = 1000" -c "SELECT count(*) FROM indicina.unload('dw', 'two', workers => 2)" >/dev/null
two_inc=$(last_id)
is "$(json two "$two_inc" | jq -r .mode)" incremental "the unload after a run is incremental"
is "$(rows_of "$work/two/dw/$two_inc")" "$(rows_of "$work/one/dw/$one_inc")" \
   "the parallel incremental delivery holds the rows of the backend's"
is "$(json two "$two_inc" | jq -c '[.tables[] | {name, deletes}]')" "$(json one "$one_inc" | jq -c '[.tables[] | {name, deletes}]')" \
   "and the same deletions"

# ---- into S3: the directory's bytes ----
unload s3 2 ", mode => 'full'" >/dev/null
s3id=$(last_id)
unload two 2 ", mode => 'full'" >/dev/null
dirid=$(last_id)
is "$(s3tool sums lake "deliveries/dw/$s3id/" | awk '$1 ~ /part_/ {print $3, $1}' | sort -k2)" \
   "$(cd "$work/two/dw/$dirid" && find . -name 'part_*' -exec sha256sum {} + | sed 's|  \./| |' | sort -k2)" \
   "a parallel unload into S3 (the worker signs with the user mapping's keys) writes the directory's parts"

# ---- an error in a worker's share is the backend's error ----
q -c "UPDATE dw.fact_bank_transaction SET direction = repeat('x', 70000)
       WHERE (source_file, source_line) = (SELECT source_file, source_line FROM dw.fact_bank_transaction
                                           ORDER BY transaction_date DESC, source_line DESC LIMIT 1)" >/dev/null
err() { q -c "SET indicina.unload_worker_rows = 20000" -c "SELECT count(*) FROM indicina.unload('dw', '$1', workers => $2, mode => 'full')" 2>&1 |
        grep -E '^(ERROR|DETAIL)'; }
err1=$(err one 1)
err2=$(err two 2)
like "$err1" 'a value of 70000 bytes in column "direction" of table "fact_bank_transaction" cannot be unloaded to Redshift' \
     "a value too long for Redshift is refused by the backend alone"
is "$err2" "$err1" "and with a worker, with the same error and row key"
is "$(q -c "SELECT state FROM indicina.unloads ORDER BY unload_id DESC LIMIT 1")" failed "the failed parallel unload is failed in indicina.unloads"
latest=$(ls "$work/two/dw" | sort -n | tail -1)
is "$(find "$work/two/dw/$latest" \( -name '*.manifest' -o -name unload.json -o -name '.*.tmp' \) | wc -l)" 0 \
   "it left no manifest, no unload.json and no temporary file"
q -c "UPDATE dw.fact_bank_transaction SET direction = 'debit' WHERE length(direction) > 100" >/dev/null

# ---- a cancel in the middle of a parallel unload into S3 ----
# the uploads of the fact table's two shares hang: the backend and the worker each wait in one
next_id=$(q -c "SELECT last_value + 1 FROM indicina.run_id_seq")
s3_faults "[{\"kind\": \"slow\", \"method\": \"PUT\", \"delay\": 20,
             \"key\": \"deliveries/dw/$next_id/fact_bank_transaction/part_0000_0000.csv.gz\"},
            {\"kind\": \"slow\", \"method\": \"PUT\", \"delay\": 20,
             \"key\": \"deliveries/dw/$next_id/fact_bank_transaction/part_0001_0000.csv.gz\"}]"
PGAPPNAME=par_unload psql -qX -d $db -c "SET indicina.unload_worker_rows = 20000" \
    -c "SELECT count(*) FROM indicina.unload('dw', 's3', workers => 2, slices => 4, mode => 'full')" >/dev/null 2>&1 &
job=$!
pid=""
for _ in $(seq 1 300); do
    pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'par_unload' AND backend_type = 'client backend'")
    [ -n "$pid" ] && [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE leader_pid = $pid AND backend_type = 'parallel worker'")" -gt 0 ] &&
        break
    sleep 0.1
done
sleep 2
workers_then=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE leader_pid = $pid AND backend_type = 'parallel worker'")
cancel_and_wait "$pid" "$job" 20
is "$cancel_ended" 0 "a cancel while the backend and a worker each wait on an upload ends the unload (in $elapsed_ms ms)"
is "$workers_then/$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'")" 1/0 \
   "the worker was at work when the cancel came, and no parallel worker is left"
is "$(q -c "SELECT state FROM indicina.unloads ORDER BY unload_id DESC LIMIT 1")" failed "the cancelled unload is failed in indicina.unloads"
cancelled=$(q -c "SELECT max(unload_id) FROM indicina.unloads")

is "$(s3tool ls lake "deliveries/dw/$cancelled/" | grep -c -E 'manifest|unload\.json')" 0 "it left no manifest and no unload.json in S3"
is "$(s3tool uploads lake | wc -l)" 0 "and no incomplete multipart upload"
s3_faults_clear

# ---- the workers read under the backend's snapshot ----
# the unload is held at its last table's lock before it writes; rows
# deleted and committed meanwhile are still in the delivery
before=$(q -c "SELECT count(*) FROM dw.fact_bank_transaction")
lock_table $db dw.customer_risk_features snap_lock
PGAPPNAME=snap_unload psql -qX -d $db -c "SET indicina.unload_worker_rows = 20000" \
    -c "SELECT count(*) FROM indicina.unload('dw', 'two', workers => 2, mode => 'full')" >/dev/null 2>&1 &
unloader=$!
for _ in $(seq 1 100); do
    [ -n "$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'snap_unload' AND wait_event_type = 'Lock'")" ] && break
    sleep 0.1
done
deleted=$(q -c "WITH d AS (DELETE FROM dw.fact_bank_transaction WHERE transaction_date < (SELECT min(transaction_date) + 20 FROM dw.fact_bank_transaction) RETURNING 1) SELECT count(*) FROM d")
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'snap_lock'" >/dev/null
wait "$unloader"
wait "$locker" 2>/dev/null
snap=$(last_id)
is "$(json two "$snap" | jq '.tables[] | select(.name == "fact_bank_transaction") | .rows')" "$before" \
   "rows deleted after the unload began ($deleted) are still in its delivery: the workers read the backend's snapshot"
is "$(cat "$work/two/dw/$snap/fact_bank_transaction"/part_* | gzip -dc | wc -l)" "$before" "and in its parts"

done_testing
