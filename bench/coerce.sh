#!/usr/bin/env bash
# coerce.sh: indicina's lenient parsers against the best plain-SQL
# equivalents, over the same generated dirty values, in one run of one
# throwaway cluster.  Prints medians and ratios and checks that both give
# identical results on every value.  Never asserts on time.
#
#   bench/coerce.sh                 5M values (BENCH_VALUES), 3 runs each (BENCH_RUNS)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
enter_cluster "$@"

n=${BENCH_VALUES:-5000000}
results=()
echo "bench/coerce.sh: $n dirty values per parser, $BENCH_RUNS runs each, medians"
psql -qX -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION IF NOT EXISTS indicina;
SET lc_time = 'C';
-- amounts: the spellings a drop has (currency marks, separators, parentheses, DR/CR, trailing minus)
DROP TABLE IF EXISTS amounts;
CREATE UNLOGGED TABLE amounts AS
SELECT CASE i % 8
         WHEN 0 THEN to_char(c / 100.0, 'FM999999990.00')
         WHEN 1 THEN '₦' || to_char(c / 100.0, 'FM999,999,990.00')
         WHEN 2 THEN 'NGN ' || to_char(c / 100.0, 'FM999,999,990.00')
         WHEN 3 THEN '(' || to_char(c / 100.0, 'FM999,999,990.00') || ')'
         WHEN 4 THEN to_char(c / 100.0, 'FM999,999,990.00') || ' DR'
         WHEN 5 THEN to_char(c / 100.0, 'FM999,999,990.00') || ' CR'
         WHEN 6 THEN to_char(c / 100.0, 'FM999,999,990.00') || '-'
         ELSE ' \$' || to_char(c / 100.0, 'FM999,999,990.00') || ' '
       END AS v
  FROM (SELECT i, (i::bigint * 7919 % 100000000) AS c FROM generate_series(1, $n) i) s;
-- dates: ISO, day-first numeric, DD-Mon-YYYY, YYYYMMDD, Mon D, YYYY
DROP TABLE IF EXISTS dates;
CREATE UNLOGGED TABLE dates AS
SELECT CASE i % 5
         WHEN 0 THEN to_char(d, 'YYYY-MM-DD')
         WHEN 1 THEN to_char(d, 'DD/MM/YYYY')
         WHEN 2 THEN to_char(d, 'DD-Mon-YYYY')
         WHEN 3 THEN to_char(d, 'YYYYMMDD')
         ELSE to_char(d, 'Mon FMDD, YYYY')
       END AS v
  FROM (SELECT i, '2015-01-01'::date + (i::bigint * 37 % 4000)::int AS d FROM generate_series(1, $n) i) s;
VACUUM ANALYZE amounts, dates;
CREATE FUNCTION sql_amount(v text) RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS \$\$
  SELECT (CASE WHEN v ~* '(^\s*-|\(|DR\s*$|-\s*$)' THEN -1 ELSE 1 END)
         * nullif(regexp_replace(v, '[^0-9.]', '', 'g'), '')::numeric \$\$;
CREATE FUNCTION sql_date(v text) RETURNS date LANGUAGE sql STABLE PARALLEL SAFE AS \$\$
  SELECT CASE
    WHEN v ~ '^\d{4}-\d{2}-\d{2}$' THEN to_date(v, 'YYYY-MM-DD')
    WHEN v ~ '^\d{2}/\d{2}/\d{4}$' THEN to_date(v, 'DD/MM/YYYY')
    WHEN v ~ '^\d{2}-[A-Za-z]{3}-\d{4}$' THEN to_date(v, 'DD-Mon-YYYY')
    WHEN v ~ '^\d{8}$' THEN to_date(v, 'YYYYMMDD')
    WHEN v ~ '^[A-Za-z]{3} \d{1,2}, \d{4}$' THEN to_date(v, 'Mon DD, YYYY')
  END \$\$;
SQL

set_sql="SET lc_time = 'C'; SET max_parallel_workers_per_gather = 0;"
time_sql "indicina.parse_amount(v)" "SELECT sum(indicina.parse_amount(v)) FROM amounts;" "$set_sql"
ind_amount=$last_ms
time_sql "plain SQL: sign CASE + regexp_replace + ::numeric" "SELECT sum(sql_amount(v)) FROM amounts;" "$set_sql"
sql_amount=$last_ms
time_sql "indicina.parse_date(v, 'auto')" "SELECT max(indicina.parse_date(v, 'auto')) FROM dates;" "$set_sql"
ind_date=$last_ms
time_sql "plain SQL: CASE over regex tests and to_date patterns" "SELECT max(sql_date(v)) FROM dates;" "$set_sql"
sql_date=$last_ms

echo
echo "ratios (plain SQL time / indicina time; target >= 5x):"
echo "  parse_amount:       $(ratio "$ind_amount" "$sql_amount")x"
echo "  parse_date(auto):   $(ratio "$ind_date" "$sql_date")x"
echo
echo "identical results where both accept (must be 0 and 0):"
psql -qX -At -c "SET lc_time = 'C';" \
  -c "SELECT 'amount disagreements: ' || count(*) FROM amounts WHERE indicina.parse_amount(v) IS DISTINCT FROM sql_amount(v);" \
  -c "SELECT 'date disagreements: ' || count(*) FROM dates WHERE indicina.parse_date(v, 'auto') IS DISTINCT FROM sql_date(v);"
save_results coerce
