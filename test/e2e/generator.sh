#!/usr/bin/env bash
# generator.sh: tools/indicina-gen is deterministic, realistic, documents its
# options, refuses bad ones clearly, and its defect record matches the files,
# checked by independent means (python's csv module, awk, grep).
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
gen="$repo/tools/indicina-gen"
py=/usr/bin/python3
work=$(scratch_dir)
trap 'rm -rf "$work"' EXIT

# --- a small dirty set: every recorded defect is where the record says
"$gen" --out "$work/dirty" --customers 400 --months 6 --files 4 --dirty 0.05 --seed 11
ok $? "generates a dirty landing directory"
"$py" "$repo/test/e2e/check_generated.py" "$work/dirty" >"$work/check.txt"
ok $? "defects.csv locations and defects.json counts match an independent re-derivation"
sed 's/^/# /' "$work/check.txt"

# --- the same facts by awk and grep, file by file
json="$work/dirty/defects.json"
jcount() {  # jcount SOURCE KIND -> recorded count (0 when absent)
    "$py" -c "import json,sys; d=json.load(open('$json')); print(d['defects']['$1'].get('$2',0))"
}
jlines() {  # jlines FILE -> recorded physical lines
    "$py" -c "import json; d=json.load(open('$json')); print([o['lines'] for o in d['outputs'] if o['file']=='$1'][0])"
}
cat_file() { case "$1" in *.gz) zcat "$1" ;; *) cat "$1" ;; esac; }

all_lines_match=0
for f in loans/loan_applications.csv statements/bank_statements_00{1,2,3}.csv statements/bank_statements_004.csv.gz; do
    [ "$(cat_file "$work/dirty/$f" | wc -l)" -eq "$(jlines "$f")" ] || all_lines_match=1
done
ok $all_lines_match "line counts per file (wc -l) match defects.json"

is "$(head -c2 "$work/dirty/statements/bank_statements_004.csv.gz" | od -An -tx1 | tr -d ' ')" "1f8b" \
    "the last statement file is gzip-compressed"
is "$(head -c3 "$work/dirty/statements/bank_statements_001.csv" | od -An -tx1 | tr -d ' ')" "efbbbf" \
    "the first statement file starts with a UTF-8 BOM"
f2="$work/dirty/statements/bank_statements_002.csv"
is "$(grep -c $'\r$' "$f2")" "$(wc -l <"$f2")" "every line of the CRLF file ends in CRLF"

# over_statements CMD...: the sum, over the dirty set's statement files, of
# the count CMD prints reading one of them
over_statements() {
    local f n total=0
    for f in statements/bank_statements_00{1,2,3}.csv statements/bank_statements_004.csv.gz; do
        n=$(cat_file "$work/dirty/$f" | "$@")
        total=$((total + n))
    done
    echo "$total"
}

dups=$(over_statements awk 'NR > 1 && $0 == prev { n++ } { prev = $0 } END { print n + 0 }')
is "$dups" "$(jcount statements duplicate_row)" "exact duplicate lines (awk) = recorded duplicate_row"

bad_utf8=$(LC_ALL=C.UTF-8 over_statements grep -axvc '.*')
# each invalid narration line is also duplicated when the duplicate defect hits it: never, since
# invalid_utf8 rows are extra rows that get no second defect
is "$bad_utf8" "$(jcount statements invalid_utf8)" "lines that are not valid UTF-8 (grep -ax) = recorded invalid_utf8"

future=$(over_statements grep -c ',20[89][0-9]-[01][0-9]-[0-3][0-9],')
is "$future" "$(jcount statements future_date)" "rows dated 2080 or later (grep) = recorded future_date"

unknown=$(over_statements grep -cE 'CUST_U[0-9]+')
is "$unknown" "$(jcount statements unknown_customer)" "rows of customers without application (grep) = recorded unknown_customer"

# --- realistic when clean: mix, income order, score range, consistent balances
"$gen" --out "$work/clean" --customers 5000 --months 3 --seed 5 >/dev/null
"$py" "$repo/test/e2e/check_generated.py" "$work/clean" >"$work/clean.txt"
ok $? "a clean set has no defect at all, and every balance chain is consistent"
sed 's/^/# /' "$work/clean.txt"
share=$(grep '^share' "$work/clean.txt")
"$py" - "$share" <<'PY'
import sys
share = dict(kv.split("=") for kv in sys.argv[1].split()[1:])
want = {"Employed": 0.69, "Self-Employed": 0.21, "Unemployed": 0.10}
sys.exit(0 if all(abs(float(share[k]) - v) < 0.03 for k, v in want.items()) else 1)
PY
ok $? "employment mix within 3 points of 69/21/10 ($share)"
is "$(grep '^income_order' "$work/clean.txt")" "income_order OK" "self-employed earn most, unemployed least"
read -r _ lo hi < <(grep '^score_range' "$work/clean.txt")
ok $([ "$lo" -ge 300 ] && [ "$hi" -le 850 ]; echo $?) "credit scores within 300-850 ($lo-$hi)"

# --- deterministic for a seed
"$gen" --out "$work/a" --customers 300 --months 4 --files 3 --dirty 0.02 --seed 99
"$gen" --out "$work/b" --customers 300 --months 4 --files 3 --dirty 0.02 --seed 99
"$gen" --out "$work/c" --customers 300 --months 4 --files 3 --dirty 0.02 --seed 100
sums() { (cd "$1" && find . -type f | sort | xargs cat | md5sum); }
is "$(sums "$work/a")" "$(sums "$work/b")" "the same seed gives the same bytes"
ok $([ "$(sums "$work/a")" != "$(sums "$work/c")" ]; echo $?) "another seed gives other data"

# --- --help documents every option the parser accepts
help=$("$gen" --help)
ok $? "--help exits 0"
missing=""
for opt in $(grep -o '{"[a-z-]*", [a-z_]*_argument' "$repo/tools/gen/indicina_gen.c" | cut -d'"' -f2); do
    grep -q -- "--$opt" <<<"$help" || missing="$missing --$opt"
done
is "$missing" "" "--help names every option of the parser"

# --- bad options are refused with the exact message
is "$("$gen" --customers 10 2>&1)" "indicina-gen: --out DIR is required (see --help)" "--out is required"
is "$("$gen" --out "$work/x" --dirty 2 2>&1)" \
   'indicina-gen: invalid value for --dirty: "2" (expected a fraction from 0 to 1)' "--dirty out of range is refused"
is "$("$gen" --out "$work/x" --start 2023-13 2>&1)" \
   'indicina-gen: invalid value for --start: "2023-13" (expected YYYY-MM)' "--start with month 13 is refused"
is "$("$gen" --out "$work/x" --customers abc 2>&1)" \
   'indicina-gen: invalid value for --customers: "abc" (expected an integer from 1 to 100000000)' \
   "--customers must be a number"

done_testing
