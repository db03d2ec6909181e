#!/usr/bin/env bash
# s3_demo.sh: the README demo (tools/demo.sh) with INDICINA_DEMO_S3=1, against
# the test S3, and the same demo on local files: the same delivery summary
# (tables, rows, parts, bytes, compressed bytes), the same part files, the
# round trip read back from S3 with boto3 equal to the warehouse, and the S3
# run really in S3 (s3:// roots, the manifests' s3:// URLs).  A small drop
# (INDICINA_DEMO_CUSTOMERS=400, 6 months) in a database of its own each.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
work=$(scratch_dir)
trap 'rm -rf "$work"' EXIT
fresh_db demo_local demo_s3

demo() {  # NAME [ENV...]: tools/demo.sh in database demo_NAME, output in $work/NAME
    local name=$1
    shift
    mkdir -p "$work/$name/srv"
    chmod -R a+rwX "$work/$name"
    env PGDATABASE="demo_$name" INDICINA_DEMO_OUT="$work/$name/out" INDICINA_SERVER_DIR="$work/$name/srv" \
        INDICINA_DEMO_CUSTOMERS=400 INDICINA_DEMO_MONTHS=6 "$@" \
        "$repo/tools/demo.sh" --inside-cluster >"$work/$name.txt" 2>&1
}
# the unload's rows as the demo prints them, without the manifest column
# (a path in one, an s3:// URL in the other): the last column, whose width
# is the only one the manifest's name changes
summary() {
    sed -n '/^== the unload for Redshift/,/^== the unload ledger/p' "$1" | sed '1d;$d' |
        sed -E 's/ \| [^|]*$//; s/-\+-*$//'
}
# the delivery's part files (relative name and size), manifests, unload.json and redshift/ aside
parts() {
    sed -n '/^== the delivery/,/^$/p' "$1" | sed '1d' |
        awk 'NF == 3 && $1 !~ /(manifest|unload\.json)$/ && $1 !~ /^redshift\// { print $1, $2 }'
}

mkdir -p "$work/local" "$work/s3"
demo local
ok $? "the demo on local files succeeds"
demo s3 INDICINA_DEMO_S3=1
rc=$?
ok $rc "the demo with INDICINA_DEMO_S3=1 succeeds"
[ $rc -eq 0 ] || tail -n 30 "$work/s3.txt" | sed 's/^/# /'

want=$(summary "$work/local.txt")
got=$(summary "$work/s3.txt")
ok $([ "$(echo "$want" | wc -l)" -ge 9 ]; echo $?) "the local demo prints its delivery summary ($(echo "$want" | wc -l) lines)"
is "$got" "$want" "the S3 demo's delivery summary (tables, rows, parts, bytes, compressed bytes) is the local demo's"
want_parts=$(parts "$work/local.txt")
is "$(parts "$work/s3.txt")" "$want_parts" \
   "the part objects listed with boto3 have the local parts' names and sizes ($(echo "$want_parts" | wc -l) parts)"
like "$(cat "$work/s3.txt")" "== the landing objects in s3://landing/drops/ as foreign tables" "the S3 demo reads the landing files from S3"
like "$(cat "$work/s3.txt")" "uploaded with boto3: 7 objects under s3://landing/drops/" \
     "... uploaded there first (the loans, 4 statement files, defects.csv and defects.json)"
like "$(cat "$work/s3.txt")" "== the delivery (objects under s3://lake/dw/" "the S3 demo's delivery is listed from S3"
ok $(grep -q "FROM PROGRAM 'gzip -dc $work/s3/out/lake/dw/" "$work/s3/out/roundtrip_apply.sql"; echo $?) \
   "the round trip loads the parts boto3 downloaded from the manifests' s3:// URLs"
is "$(grep -c 'round trip: every table.s rows and checksum equal the warehouse.s' "$work/s3.txt")" 1 \
   "the S3 demo's round trip: every table's rows and checksum equal the warehouse's"
is "$(cat "$work/s3/out/roundtrip_standin.txt")" "$(cat "$work/local/out/roundtrip_standin.txt")" \
   "the stand-in loaded from S3 holds the rows the stand-in loaded from the directory holds"
is "$(psql -qXAt -d demo_s3 -c "SELECT srvoptions[1] FROM pg_foreign_server WHERE srvname IN ('landing', 'lake') ORDER BY srvname")" \
   "root=s3://lake/
root=s3://landing/drops/" "both of the S3 demo's servers have s3:// roots"
is "$(grep -c "$(psql -qXAt -d demo_s3 -c "SELECT option_value FROM pg_options_to_table((SELECT umoptions FROM pg_user_mapping m JOIN pg_foreign_server s ON s.oid = m.umserver WHERE srvname = 'lake')) WHERE option_name = 'secret_access_key'")" "$work/s3.txt")" 0 \
   "the test S3's secret is not in what the demo printed"
endpoint=$(sed -n 's/^== the test S3 on \(http:[^ ]*\) .*/\1/p' "$work/s3.txt")
like "$endpoint" "http://127.0.0.1:" "the S3 demo names the test S3's endpoint"
ok $(! curl -s -o /dev/null "$endpoint/_front/log"; echo $?) "the demo stopped the test S3 it started"
psql -qX -c "DROP DATABASE demo_local" -c "DROP DATABASE demo_s3" -c "DROP DATABASE IF EXISTS demo_standin" >/dev/null
done_testing
