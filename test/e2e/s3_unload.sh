#!/usr/bin/env bash
# s3_unload.sh: indicina.unload() into a server with an s3:// root, against
# the test S3 (s3rver behind the verifying front, test/e2e/lib/s3.sh), read
# back with boto3: the parts byte-identical to the same unload into a
# directory, small files one PUT and large ones multipart (5 MB parts, each
# with its Content-MD5), s3:// URLs in the manifests and unload.json;
# injected 500s and 503s on every kind of write request, answers lost
# after the write was done, slow answers (waited out, or abandoned after
# indicina.s3_timeout and retried) and connections cut in the middle of a
# request's body (the delivery complete and identical), the retry bound (an
# error with S3's code, the upload aborted, the abort itself retried past
# a 500 and a 503), several multipart objects of several parts each, a
# cancel during a multipart upload (no incomplete upload left, no
# unload.json), a wrong secret (S3's code, the secret nowhere) and the part
# size setting's bounds.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/s3.sh"
s3_script_start
s3tool mb lake

"$repo/tools/indicina-gen" --out "$work/landing" --customers 4000 --months 6 --files 2 --seed 31 >/dev/null
mkdir -p "$work/lake"
chmod -R a+rwX "$work"

db=postgres     # pg_cron's database in the test cluster (cron.database_name)
q() { psql -qX -At -v ON_ERROR_STOP=1 -d $db "$@"; }
qe() { psql -qX -At -v VERBOSITY=verbose -d $db "$@" 2>&1; }
cron_db
raw_tables $db -c "SELECT indicina.create_warehouse('dw')"
q >/dev/null <<SQL
DROP SERVER IF EXISTS s3u_dir CASCADE;
DROP SERVER IF EXISTS s3u_lake CASCADE;
CREATE SERVER s3u_dir FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/lake');
CREATE SERVER s3u_lake FOREIGN DATA WRAPPER indicina_csv
    OPTIONS (root 's3://lake/deliveries', region '$S3_REGION', endpoint '$S3_ENDPOINT');
CREATE USER MAPPING FOR CURRENT_USER SERVER s3u_lake
    OPTIONS (access_key_id '$S3_KEY', secret_access_key '$S3_SECRET');
SQL
q -c "SELECT count(*) FROM indicina.run_pipeline('raw_loan_applications', 'raw_bank_statements', 'dw')" >/dev/null
# uncompressed, one part per table up to 12 MB: the fact table's parts are
# larger than the 5 MB S3 part, so they go multipart
opts="mode => 'full', compression => 'none', slices => 1, max_part_size => 12582912"
unload() {  # SERVER [SETTINGS [OPTIONS]]
    q -c "SET indicina.s3_part_size = '5MB'; SET indicina.s3_retry_base_delay = '10ms'; ${2:-}" \
      -c "SELECT count(*) FROM indicina.unload('dw', '$1', ${3:-$opts})"
}
last_id() { q -c "SELECT max(unload_id) FROM indicina.unload_history"; }
last_attempt() { q -c "SELECT max(unload_id) FROM indicina.unloads"; }   # failed ones included
# the parts of delivery ID in S3 (relative key, size, SHA-256), manifests and unload.json aside
s3_parts() { s3tool sums lake "deliveries/dw/$1/" | awk '$1 !~ /(manifest|unload\.json)$/ {print $1, $2, $3}' | sort; }
uploads_left() { s3tool uploads lake | wc -l; }

# ---- a fault-free unload: the directory's bytes, in S3 ----
unload s3u_dir >/dev/null
dir_id=$(last_id)
want=$(cd "$work/lake/dw/$dir_id" && find . -type f ! -name '*.manifest' ! -name unload.json -printf '%P %s\n' |
       sort | while read -r f s; do echo "$f $s $(sha256sum "$f" | cut -d' ' -f1)"; done)
s3_log_clear
n_tables=$(unload s3u_lake)
ok $? "an unload into an s3:// root succeeds ($n_tables tables)"
id=$(last_id)
got=$(s3_parts "$id")
is "$got" "$want" "every part read back with boto3 is byte-identical to the same unload into a directory ($(echo "$want" | wc -l) parts, $(echo "$want" | awk '{s += $2} END {print s}') bytes)"
sums=$(s3tool sums lake "deliveries/dw/$id/")
log=$(s3_log)
multipart=$(echo "$log" | grep '"method": "POST"' | grep -c '"query": "uploadId=')
single=$(echo "$log" | grep '"method": "PUT"' | grep -c '"query": ""')
ok $([ "$multipart" -ge 1 ] && [ "$single" -ge 1 ]; echo $?) \
   "parts above 5 MB are multipart uploads ($multipart completed), the other files single PUTs ($single)"
ok $(echo "$log" | grep -q '"method": "PUT".*partNumber=2&uploadId'; echo $?) "the front saw UploadPart requests (part 2 and on)"
is "$(echo "$log" | grep -c '"note": "aborted"')" 0 "a fault-free unload aborts nothing"
is "$(uploads_left)" 0 "no multipart upload is left in progress (ListMultipartUploads, boto3)"
json=$(s3tool get lake "deliveries/dw/$id/unload.json")
like "$json" "\"s3://lake/deliveries/dw/$id/" "unload.json lists the parts' s3:// URLs"
manifest=$(echo "$sums" | awk '$1 ~ /manifest$/ {print $1; exit}')
like "$(s3tool get lake "deliveries/dw/$id/$manifest")" "\"url\": \"s3://lake/deliveries/dw/$id/" \
   "the manifests ($manifest) name the objects by s3:// URL"
last_key=$(echo "$log" | /usr/bin/python3 -c 'import json, sys; print([json.loads(l) for l in sys.stdin if l.strip()][-1]["key"])')
is "$last_key" "deliveries/dw/$id/unload.json" "unload.json is the last object written"

# ---- injected faults on every kind of write: retried, the same delivery ----
s3_faults '[{"kind": "503", "method": "POST", "query": "uploads", "times": 1},
            {"kind": "500", "method": "PUT", "query": "partNumber=2&", "times": 2},
            {"kind": "503", "method": "PUT", "query": "partNumber=1&", "times": 1},
            {"kind": "500", "method": "POST", "query": "uploadId", "times": 1},
            {"kind": "503", "method": "HEAD", "times": 1},
            {"kind": "500", "method": "PUT", "skip": 3, "times": 1},
            {"kind": "drop", "method": "PUT", "query": "partNumber=3&", "times": 1},
            {"kind": "drop", "method": "POST", "query": "uploadId", "times": 1},
            {"kind": "drop", "method": "PUT", "query": "", "skip": 6, "times": 1}]'
s3_log_clear
unload s3u_lake >/dev/null
ok $? "an unload with 500s and 503s injected on CreateMultipartUpload, UploadPart, CompleteMultipartUpload, PUT and HEAD succeeds"
fid=$(last_id)
is "$(s3_parts "$fid")" "$want" "the delivery despite the faults is complete and byte-identical"
is "$(s3_log | grep -c '"note": "fault')" 10 "all 10 injected faults were hit and retried (3 of them answers lost after the write was done)"
is "$(uploads_left)" 0 "no multipart upload is left after the retried faults"
s3_faults_clear

# ---- slow answers and connections cut mid-body: retried, the same delivery ----
# UploadPart 2 answers after 9 s, past indicina.s3_timeout (1 s; libcurl
# averages the speed over its last 5 s, so the 5 MB just sent keep the
# transfer alive for that long first): abandoned and sent again; UploadPart 1 after 0.5 s, within it: waited out; UploadPart
# 3 and a later PUT lose their connection in the middle of their body, so
# nothing of them reaches s3rver
s3_faults '[{"kind": "slow", "method": "PUT", "query": "partNumber=1&", "delay": 0.5, "times": 1},
            {"kind": "slow", "method": "PUT", "query": "partNumber=2&", "delay": 9, "times": 1},
            {"kind": "cut", "method": "PUT", "query": "partNumber=3&", "after": 65536, "times": 1},
            {"kind": "cut", "method": "PUT", "skip": 4, "after": 100, "times": 1}]'
s3_log_clear
unload s3u_lake "SET indicina.s3_timeout = '1s';" >/dev/null
ok $? "an unload with slow answers and connections cut mid-body succeeds"
sid=$(last_id)
sleep 6   # the abandoned UploadPart reaches s3rver late (and is logged then); the delivery is complete without it
is "$(s3_parts "$sid")" "$want" "the delivery despite slow answers and cut connections is complete and byte-identical"
log=$(s3_log)
is "$(echo "$log" | grep -c '"note": "fault slow')/$(echo "$log" | grep -c '"note": "fault cut')" 2/2 \
   "both slow answers and both cut bodies were hit"
ok $([ "$(echo "$log" | grep '"method": "PUT"' | grep -c 'partNumber=2&')" -ge 2 ]; echo $?) \
   "the UploadPart answered after indicina.s3_timeout was sent again"
is "$(uploads_left)" 0 "no multipart upload is left after slow answers and cut connections"
s3_faults_clear

# ---- the retry bound: a part that always fails, its abort failing twice ----
s3_faults '[{"kind": "500", "method": "PUT", "query": "partNumber=2&", "times": 100},
            {"kind": "503", "method": "DELETE", "query": "uploadId=", "times": 1},
            {"kind": "500", "method": "DELETE", "query": "uploadId=", "times": 1}]'
s3_log_clear
err=$(unload s3u_lake "SET indicina.s3_max_retries = 2;" 2>&1)
like "$err" "could not write part 2 of s3://lake/deliveries/dw/" "a part failing every time fails the unload"
like "$err" "S3 answered 500 InternalError after 3 attempts" "... with S3's code, after indicina.s3_max_retries + 1 attempts"
ok $(s3_log | grep -q '"note": "aborted"'; echo $?) "the failed upload was aborted (AbortMultipartUpload)"
is "$(s3_log | grep '"method": "DELETE"' | grep -o '"note": "[^"]*"' | tr '\n' ' ')" \
   '"note": "fault 503" "note": "fault 500" "note": "aborted" ' \
   "the AbortMultipartUpload answered 503 and 500 was retried until done"
is "$(uploads_left)" 0 "no multipart upload is left after the failure (ListMultipartUploads, boto3)"
s3_faults_clear
bad_id=$(last_attempt)
is "$(s3tool count lake "deliveries/dw/$bad_id/unload.json")" 0 "the failed delivery has no unload.json"

# ---- several multipart objects, of several parts each ----
# parts of at most 5.5 MB: the fact table's first two parts are multipart
# uploads of two S3 parts each (5 MB and the rest)
opts_small="mode => 'full', compression => 'none', slices => 1, max_part_size => 5767168"
unload s3u_dir "" "$opts_small" >/dev/null
small_id=$(last_id)
want_small=$(cd "$work/lake/dw/$small_id" && find . -type f ! -name '*.manifest' ! -name unload.json -printf '%P %s\n' |
       sort | while read -r f s; do echo "$f $s $(sha256sum "$f" | cut -d' ' -f1)"; done)
s3_log_clear
unload s3u_lake "" "$opts_small" >/dev/null
ok $? "an unload with parts of at most 5.5 MB into S3 succeeds"
mid=$(last_id)
is "$(s3_parts "$mid")" "$want_small" "... byte-identical to the same unload into a directory"
# s3rver's ETag of a completed upload is the MD5 of its bytes, not S3's "-N":
# the parts are counted in the front's log, per completed upload
multi=$(s3_log | /usr/bin/python3 -c '
import json, re, sys
log = [json.loads(l) for l in sys.stdin if l.strip()]
for e in log:
    if e["method"] == "POST" and "uploadId=" in e["query"] and e["status"] == 200:
        parts = {re.search(r"partNumber=(\d+)", p["query"]).group(1) for p in log
                 if p["method"] == "PUT" and p["key"] == e["key"] and "partNumber=" in p["query"] and p["status"] == 200}
        print(e["key"].rsplit("/", 2)[-2] + "/" + e["key"].rsplit("/", 1)[-1] + ":" + str(len(parts)))
')
ok $([ "$(echo "$multi" | grep -c ':[2-9]$')" -ge 2 ]; echo $?) \
   "several objects are multipart uploads of two parts or more ($(echo $multi))"
is "$(uploads_left)" 0 "no multipart upload is left"

# ---- a cancel during a multipart upload ----
s3_faults '[{"kind": "slow", "method": "PUT", "query": "partNumber=2&", "delay": 4, "times": 1}]'
s3_log_clear
unload s3u_lake "SET application_name = 's3u_cancel';" >"$work/cancel.out" 2>&1 &
job=$!
for _ in $(seq 1 100); do
    s3_log | grep -q 'partNumber=1&' && break
    sleep 0.1
done
sleep 0.5
pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 's3u_cancel'")
cancel_and_wait "$pid" "$job" 20
is "$cancel_ended" 0 "a cancel during a multipart upload ends the unload (in ${elapsed_ms} ms)"
like "$(cat "$work/cancel.out")" "canceling statement due to user request" "... as a cancel"
sleep 4   # the slowed part reaches s3rver after the abort; it cannot revive the upload
is "$(uploads_left)" 0 "no multipart upload is left after the cancel (ListMultipartUploads, boto3)"
ok $(s3_log | grep -q '"note": "aborted"'; echo $?) "the cancelled upload was aborted"
s3_faults_clear
cid=$(last_attempt)
is "$(s3tool count lake "deliveries/dw/$cid/unload.json")" 0 "the cancelled delivery has no unload.json"

# ---- privileges: S3 with a role's own keys needs no pg_write_server_files ----
q >/dev/null <<SQL
DROP ROLE IF EXISTS s3u_writer;
CREATE ROLE s3u_writer IN ROLE indicina_operator;
GRANT USAGE ON SCHEMA dw TO s3u_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA dw TO s3u_writer;
GRANT USAGE ON FOREIGN SERVER s3u_lake, s3u_dir TO s3u_writer;
CREATE USER MAPPING FOR s3u_writer SERVER s3u_lake
    OPTIONS (access_key_id '$S3_KEY', secret_access_key '$S3_SECRET');
CREATE SERVER s3u_env FOREIGN DATA WRAPPER indicina_csv
    OPTIONS (root 's3://lake/env', region '$S3_REGION', endpoint '$S3_ENDPOINT', credentials 'environment');
GRANT USAGE ON FOREIGN SERVER s3u_env TO s3u_writer;
SQL
as_writer() { psql -qX -At -d $db -c "SET ROLE s3u_writer" -c "SELECT count(*) FROM indicina.unload('dw', '$1', $opts)" 2>&1 |
              grep -E '^(ERROR|DETAIL|[0-9]+$)'; }
is "$(q -c "SELECT pg_has_role('s3u_writer', 'pg_write_server_files', 'USAGE')")/$(as_writer s3u_lake)" "f/7" \
   "a role outside pg_write_server_files unloads into S3 with its own user mapping's keys"
is "$(as_writer s3u_dir)" 'ERROR:  permission denied to unload into server "s3u_dir"
DETAIL:  Only superusers and roles with privileges of the pg_write_server_files role may write files on the server.' \
   "it cannot unload into a directory on the server"
is "$(as_writer s3u_env)" 'ERROR:  permission denied to unload into server "s3u_env"
DETAIL:  The server signs with the server process'"'"'s own keys (credentials '"'"'environment'"'"'): only superusers and roles with privileges of the pg_write_server_files role may write with them.' \
   "nor into S3 with the server process's own keys"
q >/dev/null <<SQL
DROP SERVER s3u_env CASCADE;
DROP USER MAPPING FOR s3u_writer SERVER s3u_lake;
REVOKE ALL ON ALL TABLES IN SCHEMA dw FROM s3u_writer;
REVOKE ALL ON SCHEMA dw FROM s3u_writer;
REVOKE ALL ON FOREIGN SERVER s3u_lake, s3u_dir FROM s3u_writer;
DROP ROLE s3u_writer;
SQL

# ---- a wrong secret ----
q -c "ALTER USER MAPPING FOR CURRENT_USER SERVER s3u_lake OPTIONS (SET secret_access_key 'wrong-$S3_SECRET')"
err=$(psql -qX -At -v VERBOSITY=verbose -d $db -c "SELECT count(*) FROM indicina.unload('dw', 's3u_lake', $opts)" 2>&1)
like "$err" "S3 answered 403 SignatureDoesNotMatch" "a wrong secret fails the unload with S3's code"
is "$(echo "$err" | grep -c -- "$S3_SECRET")" 0 "the secret is nowhere in the error"
q -c "ALTER USER MAPPING FOR CURRENT_USER SERVER s3u_lake OPTIONS (SET secret_access_key '$S3_SECRET')"

# ---- the part size setting ----
like "$(qe -c "LOAD 'indicina'" -c "SET indicina.s3_part_size = '4MB'")" \
     "4096 kB is outside the valid range for parameter \"indicina.s3_part_size\" (5120 .. 5242880)" \
     "indicina.s3_part_size below S3's 5 MB minimum is refused"

q -c "DROP SERVER s3u_lake CASCADE" -c "DROP SERVER s3u_dir CASCADE" >/dev/null
done_testing
