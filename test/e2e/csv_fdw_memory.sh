#!/usr/bin/env bash
# csv_fdw_memory.sh: a scan's memory does not grow with the file.  A file
# whose lines end in a lone CR, and a file with one line of hundreds of
# megabytes, are read with the backend's peak resident memory (VmHWM of
# /proc/<pid>/status, read by the backend itself after the scan) under a
# bound that does not depend on the file's size.
#
#   INDICINA_MEMORY_CR_MB    size of the CR-only file in MB (default 200)
#   INDICINA_MEMORY_LINE_MB  size of the one line in MB (default 200)
# (docs/operations.md gives the figures for 1200 and 500)
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
cr_mb=${INDICINA_MEMORY_CR_MB:-200}
line_mb=${INDICINA_MEMORY_LINE_MB:-200}
bound_kb=$((100 * 1024))   # far above a scan's own memory, far below the files
# Under ASan (tools/test.sh checked) freed memory sits in the sanitizer's
# quarantine (256 MB by default), so resident memory says nothing about the
# scan's: there the scans still run (for the sanitizer) and the peaks are
# printed, not judged.
bounded() {  # bounded PEAK_KB DESCRIPTION
    if [ "${INDICINA_CHECKED:-}" = 1 ]; then
        tap_n=$((tap_n + 1))
        echo "ok $tap_n - $2 # SKIP peak RSS is not the scan's under ASan"
    else
        ok $([ "${1:-999999999}" -lt "$bound_kb" ]; echo $?) "$2"
    fi
}
work=$(scratch_dir)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/landing"

# CR-only: "id,name" then rows "<n>,customer name <n>" with lone CRs, ~$cr_mb MB
# (its row count and the sum of the names' lengths into cr_only.sum)
awk -v mb="$cr_mb" -v sums="$work/cr_only.sum" 'BEGIN { ORS = "\r"; print "id,name"; n = 0; size = 8; names = 0;
    while (size < mb * 1048576) { n++; name = "customer name " n; print n "," name;
                                  size += length(n) + length(name) + 2; names += length(name) }
    printf "%d %d\n", n, names > sums }' >"$work/landing/cr_only.csv"
read -r cr_rows cr_names <"$work/cr_only.sum"
# one line of $line_mb MB between two short ones
{ printf 'id,name\n1,before\n2,'; head -c "$((line_mb * 1048576))" /dev/zero | tr '\0' 'x'; printf '\n3,after\n'; } \
    >"$work/landing/one_line.csv"
chmod -R a+rX "$work"

db=indicina_memory
# JIT would add LLVM's own 50-60 MB to the peak of a scan this size
export PGOPTIONS="${PGOPTIONS:-} -c jit=off"
psql -qX -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q() { psql -qX -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
q <<SQL
CREATE EXTENSION indicina;
CREATE SERVER landing FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$work/landing');
CREATE FOREIGN TABLE cr_only (id int, name text, line bigint OPTIONS (source 'line'))
    SERVER landing OPTIONS (filename 'cr_only.csv', on_error 'reject');
CREATE FOREIGN TABLE one_line (id int, name text, line bigint OPTIONS (source 'line'))
    SERVER landing OPTIONS (filename 'one_line.csv', on_error 'reject');
CREATE FUNCTION peak_kb() RETURNS bigint LANGUAGE sql AS
  \$\$ SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+) kB'))[1]::bigint \$\$;
SQL

# each scan in a fresh backend, its peak read after it (a backend that
# scanned nothing: about the same)
base=$(q -c "SELECT peak_kb()")
echo "# a fresh backend: VmHWM ${base} kB"
out=$(q -c "SELECT count(*), max(line), sum(length(name)) FROM cr_only" -c "SELECT peak_kb()" 2>&1)
counts=$(sed -n 1p <<<"$out"); peak=$(sed -n 2p <<<"$out")
is "$counts" "$cr_rows|$((cr_rows + 1))|$cr_names" \
   "a ${cr_mb} MB CR-only file: every row, each on its own line (the last is line $((cr_rows + 1)))"
bounded "$peak" "and the backend's peak RSS stays bounded (VmHWM ${peak} kB)"
echo "# cr_only ${cr_mb} MB: VmHWM ${peak} kB"

out=$(q -c "SELECT string_agg(id || ':' || name || '@' || line, ' ' ORDER BY line) FROM one_line" \
        -c "SELECT peak_kb()" \
        -c "SELECT line, code, length(raw_line) FROM indicina.load_errors
             WHERE scan_id = currval('indicina.scan_id_seq')" 2>&1)
rows=$(sed -n 1p <<<"$out"); peak=$(sed -n 2p <<<"$out"); reject=$(sed -n 3p <<<"$out")
is "$rows" "1:before@2 3:after@4" "a ${line_mb} MB line: the lines around it are read"
is "$reject" "3|ROW_TOO_LONG|1024" "the line is one ROW_TOO_LONG reject with its first 1 kB as raw text"
bounded "$peak" "and the backend's peak RSS stays bounded (VmHWM ${peak} kB)"
echo "# one_line ${line_mb} MB: VmHWM ${peak} kB"

# a set rule on the CR-only file with a small hash_mem: it stops at the
# limit with the error naming the settings, having pre-sized nothing past it
q -c "SELECT indicina.add_rule('cr_id_unique', 'cr_only', 'unique', '{id}')" >/dev/null
out=$(psql -qX -At -d "$db" 2>&1 <<'SQL'
SET work_mem = '1MB';
SET hash_mem_multiplier = 2;
SELECT rows_failed FROM indicina.check('cr_only') WHERE rule = 'cr_id_unique';
SELECT peak_kb();
SQL
)
peak=$(grep -E '^[0-9]+$' <<<"$out" | tail -1)
like "$out" 'ERROR:  set rule "cr_id_unique" of "cr_only" needs more memory than work_mem x hash_mem_multiplier (2048 kB)' \
   "a unique rule over ${cr_rows} rows with hash_mem 2 MB stops with the error naming the settings"
bounded "$peak" "with the backend's peak RSS bounded (VmHWM ${peak} kB)"
echo "# unique rule, hash_mem 2 MB, ${cr_mb} MB file: VmHWM ${peak} kB"

psql -qX -c "DROP DATABASE $db" >/dev/null
done_testing
