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
#
# Options (environment): INDICINA_DEMO_CUSTOMERS (default 2000),
# INDICINA_DEMO_MONTHS (12), INDICINA_DEMO_DIRTY (0.01), INDICINA_DEMO_SEED (42).
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

psql -qX -v ON_ERROR_STOP=1 -v landing="$landing" -v out="$out" -f "$repo/tools/demo.sql"

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
