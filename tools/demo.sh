#!/usr/bin/env bash
# demo.sh: the whole product on a generated landing directory, in a
# throwaway cluster.  Prints what a data engineer wants to see and leaves the
# results in demo-output/ (or $INDICINA_DEMO_OUT):
#
#   landing/       the generated CSV drop (with defects.csv / defects.json)
#   summary.txt    what this script printed
#   *.csv          the result sets, one file per query (see demo.sql)
#   dashboard.html the page of indicina.dashboard('dw'), and dashboard.png,
#                  its screenshot (headless Chromium)
#   lake/          the unload for Redshift (indicina.unload, mode full):
#                  dw/<unload_id>/ with parts, manifests, unload.json, redshift/
#   roundtrip_*    the round trip: the script that loads the delivery into a
#                  plain database, and both sides' rows and checksums
#
# Options (environment): INDICINA_DEMO_CUSTOMERS (default 2000),
# INDICINA_DEMO_MONTHS (12), INDICINA_DEMO_DIRTY (0.01), INDICINA_DEMO_SEED (42).
# INDICINA_DEMO_S3=1: the same against the test S3 of the end-to-end tests
# (test/e2e/lib/s3.sh, on 127.0.0.1, stopped at the end): the landing files
# uploaded to s3://landing/drops/ and read from there, the unload written
# to s3://lake/, listed and round-tripped with boto3 (lake/ is then the
# delivery as boto3 downloaded it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/lib/common.sh
. "$repo/tools/lib/common.sh"

out=${INDICINA_DEMO_OUT:-$repo/demo-output}

if [ "${1:-}" != --inside-cluster ]; then
    ensure_deps
    build_and_stage
    if [ "$(id -u)" -eq 0 ]; then
        # installed for real too, so CREATE EXTENSION works in the user's own clusters
        make -C "$repo" -s install >/dev/null
    fi
    rm -rf "$out"
    mkdir -p "$out"
    chmod 755 "$out"
    export INDICINA_DEMO_OUT="$out"
    with_cluster "$repo/tools/demo.sh" --inside-cluster 2>&1 | tee "$out/summary.txt"
    rc=${PIPESTATUS[0]}
    echo "demo output: $out"
    exit "$rc"
fi

# ---- inside the throwaway cluster from here on ----
customers=${INDICINA_DEMO_CUSTOMERS:-2000}
months=${INDICINA_DEMO_MONTHS:-12}
dirty=${INDICINA_DEMO_DIRTY:-0.01}
seed=${INDICINA_DEMO_SEED:-42}

echo "== generating a landing directory: $customers customers x $months months, dirty rate $dirty"
# generated where the server (user postgres when we are root) can read it,
# and copied into the output at the end: the checkout may be in a 0700 home
landing="${INDICINA_SERVER_DIR:-$out}/landing"
"$repo/tools/indicina-gen" --out "$landing" --customers "$customers" --months "$months" \
    --files 4 --dirty "$dirty" --seed "$seed"
chmod -R a+rX "$landing"
/usr/bin/python3 - "$landing/defects.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for o in d["outputs"]:
    print(f"  {o['file']:45} {o['rows']:>9} rows")
for source, kinds in d["defects"].items():
    print(f"  injected into {source}: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
PY

s3=off
s3_args=()
if [ "${INDICINA_DEMO_S3:-0}" = 1 ]; then
    s3=on
    # shellcheck source=test/e2e/lib/s3.sh
    . "$repo/test/e2e/lib/s3.sh"
    s3_work=$(scratch_dir)
    # set +e: s3_stop's wait reports the stopped servers' status
    trap 'set +e; s3_stop; rm -rf "$s3_work"' EXIT
    s3_start "$s3_work" || exit 1
    echo
    echo "== the test S3 on $S3_ENDPOINT (s3rver $S3RVER_VERSION behind the verifying front)"
    s3tool mb landing
    s3tool mb lake
    s3tool put-dir landing drops/ "$landing"
    echo "  uploaded with boto3: $(s3tool count landing drops/) objects under s3://landing/drops/"
    s3_args=(-v endpoint="$S3_ENDPOINT" -v region="$S3_REGION" -v key="$S3_KEY" -v secret="$S3_SECRET")
fi

# the unload goes straight into $out/lake when the server can write there,
# else next to the landing directory and is copied at the end (its
# manifests then list the parts where they were written)
lake="$out/lake"
mkdir -p "$lake"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$lake"
    runuser -u postgres -- test -w "$lake" || lake="${INDICINA_SERVER_DIR:-$out}/lake"
fi
mkdir -p "$lake"
[ "$(id -u)" -eq 0 ] && chown postgres "$lake"

if [ $s3 = on ]; then
    lake="$out/lake"
    psql -qX -v ON_ERROR_STOP=1 -v landing="$landing" -v out="$out" -v lake=s3://lake/ -v s3=on "${s3_args[@]}" \
        -f "$repo/tools/demo.sql"
    id=$(psql -qXAt -v ON_ERROR_STOP=1 -c "SELECT max(unload_id) FROM indicina.unload_history")
    echo
    echo "== the delivery (objects under s3://lake/dw/$id/, listed with boto3)"
    s3tool sums lake "dw/$id/" | sort -V -k1,1 | awk '{ printf "  %-48s %10d bytes\n", $1, $2 }'
    delivery="$lake/dw/$id"
else
    psql -qX -v ON_ERROR_STOP=1 -v landing="$landing" -v out="$out" -v lake="$lake" -v s3=off -f "$repo/tools/demo.sql"
    echo
    echo "== the delivery (files under $lake)"
    delivery=$(find "$lake/dw" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)
    (cd "$delivery" && find . -type f -printf '%P\t%s\n' | sort -V |
        awk -F'\t' '{ printf "  %-48s %10d bytes\n", $1, $2 }')
fi

echo
if [ $s3 = on ]; then
    echo "== the round trip: a plain database (no indicina) loads the delivery from S3 alone (boto3)"
else
    echo "== the round trip: a plain database (no indicina) loads the delivery from its files alone"
fi
# tools/lib/roundtrip.py reads unload.json and the manifests, checks every
# part's size and SHA-256, and loads it with plain COPY (FORMAT csv) in the
# dialect unload.json gives, as Redshift's COPY would (docs/unload.md)
psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS demo_standin" -c "CREATE DATABASE demo_standin"
if [ $s3 = on ]; then
    # unload.json, the manifests and the parts read with boto3 from the s3:// URLs they give
    /usr/bin/python3 "$repo/tools/lib/roundtrip.py" apply "s3://lake/dw/$id/" "$lake" > "$out/roundtrip_apply.sql"
else
    /usr/bin/python3 "$repo/tools/lib/roundtrip.py" apply "$delivery" > "$out/roundtrip_apply.sql"
fi
psql -qX -v ON_ERROR_STOP=1 -d demo_standin -f "$out/roundtrip_apply.sql" >/dev/null
/usr/bin/python3 "$repo/tools/lib/roundtrip.py" checksums dw > "$out/roundtrip_checksums.sql"
psql -qXAt -F ' ' -v ON_ERROR_STOP=1 -f "$out/roundtrip_checksums.sql" > "$out/roundtrip_warehouse.txt"
psql -qXAt -F ' ' -v ON_ERROR_STOP=1 -d demo_standin -f "$out/roundtrip_checksums.sql" > "$out/roundtrip_standin.txt"
printf '  %-26s %10s %10s  %s\n' table rows standin checksum
awk 'NR == FNR { rows[$1] = $2; sum[$1] = $3; next }
     { printf "  %-26s %10d %10d  %s\n", $1, $2, rows[$1], ($2 == rows[$1] && $3 == sum[$1]) ? "equal" : "DIFFERENT" }' \
    "$out/roundtrip_standin.txt" "$out/roundtrip_warehouse.txt"
if cmp -s "$out/roundtrip_warehouse.txt" "$out/roundtrip_standin.txt"; then
    echo "  round trip: every table's rows and checksum equal the warehouse's"
else
    echo "  round trip: FAILED (the stand-in differs from the warehouse)"
    exit 1
fi

echo
echo "== the dashboard (indicina.dashboard)"
psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT indicina.dashboard('dw', title => 'indicina demo: credit-risk warehouse')" \
    > "$out/dashboard.html"
# a screenshot of its top, from file:// with nothing else fetched
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-sync \
    --disable-component-update --no-first-run --hide-scrollbars --window-size=1280,1800 \
    --virtual-time-budget=5000 --screenshot="$out/dashboard.png" "file://$out/dashboard.html" >/dev/null 2>&1 ||
    echo "  (no screenshot: chromium could not run)"
echo "  page:       $out/dashboard.html ($(stat -c %s "$out/dashboard.html") bytes; open it in a browser)"
if [ -s "$out/dashboard.png" ]; then echo "  screenshot: $out/dashboard.png"; fi
if [ "$landing" != "$out/landing" ]; then
    cp -R "$landing" "$out/landing"
fi
if [ "$lake" != "$out/lake" ]; then
    rm -rf "$out/lake"
    cp -R "$lake" "$out/lake"
fi
