#!/usr/bin/env bash
# clone_anywhere.sh: the README's test command works from a clone in a
# directory only its owner may enter (root's 0700 home on Debian), though
# the throwaway server runs as postgres: a fresh clone of this checkout's
# HEAD runs pg_regress's csv_fdw file (after extension, which creates it)
# through tools/test.sh.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"

if ! git -C "$repo" rev-parse --verify -q HEAD >/dev/null; then
    echo "ok 1 # skip not a git checkout"
    done_testing
    exit
fi
if [ -n "${INDICINA_CHECKED:-}" ]; then
    # its own run would be on Debian's server, not the checked one
    echo "ok 1 # skip under tools/test.sh checked"
    done_testing
    exit
fi
home=$(mktemp -d "${TMPDIR:-/tmp}/indicina-home.XXXXXX")
trap 'rm -rf "$home"' EXIT
chmod 700 "$home"
git clone -q "$repo" "$home/indicina"

# a run of its own: none of this cluster's variables or server directory
out=$(cd "$home/indicina" && env -u INDICINA_SERVER_DIR -u PGHOST -u PGPORT -u PGDATABASE \
      -u PGUSER -u PGPASSWORD REGRESS="extension csv_fdw" tools/test.sh regress 2>&1)
rc=$?
is "$rc" 0 "tools/test.sh regress from a clone in a 0700 directory exits 0"
is "$(grep -E "^[0-9]+ passed, [0-9]+ failed$" <<<"$out")" "2 passed, 0 failed" "only the extension and csv_fdw regress files ran, and passed"
[ "$rc" -eq 0 ] || sed 's/^/#   /' <<<"$out" | tail -25
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$home/indicina/regression.diffs" 2>/dev/null | head -20
done_testing
