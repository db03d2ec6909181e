--
-- coerce_amount: indicina.parse_amount, table-driven.  Every case has the
-- exact expected value or error detail; the queries list only the cases
-- that disagree, so the expected output is "0 rows" plus the counts.
--
CREATE FUNCTION pg_temp.amount_outcome(v text, mark text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
    IF mark IS NULL THEN
        RETURN indicina.parse_amount(v)::text;
    END IF;
    RETURN indicina.parse_amount(v, mark)::text;
EXCEPTION WHEN invalid_text_representation THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN 'ERROR: ' || d;
END $$;

-- 1. generated spellings of known values: every spelling must give the value
CREATE TEMP TABLE amount_values (cents bigint);
INSERT INTO amount_values VALUES (0), (1), (5), (99), (100), (1050), (123456), (100000),
    (99999), (1234567), (120000), (1250000), (123456789), (100000000000), (98765432112);
CREATE TEMP TABLE amount_cases AS
WITH v AS (
    SELECT cents, sign,
           (sign * cents / 100.0)::numeric(20,2) AS expected,
           to_char(cents / 100.0, 'FM999999999990.00') AS plain,
           replace(to_char(cents / 100.0, 'FM999,999,999,990.00'), ' ', '') AS grouped,
           replace(replace(replace(to_char(cents / 100.0, 'FM999,999,999,990.00'), ',', '_'), '.', ','), '_', '.') AS euro
      FROM amount_values, (VALUES (1), (-1)) s(sign)
)
SELECT expected, spelling, NULL::text AS mark FROM v,
LATERAL (VALUES
    (CASE WHEN sign < 0 THEN '-' ELSE '' END || plain),
    (CASE WHEN sign < 0 THEN '-' ELSE '+' END || grouped),
    (CASE WHEN sign < 0 THEN '(' || grouped || ')' ELSE grouped END),
    (grouped || CASE WHEN sign < 0 THEN ' DR' ELSE ' CR' END),
    (grouped || CASE WHEN sign < 0 THEN 'dr' ELSE 'cr' END),
    (grouped || CASE WHEN sign < 0 THEN '-' ELSE '' END),
    ('₦' || CASE WHEN sign < 0 THEN '-' ELSE '' END || grouped),
    (CASE WHEN sign < 0 THEN '-' ELSE '' END || '₦' || grouped),
    ('NGN ' || CASE WHEN sign < 0 THEN '-' ELSE '' END || grouped),
    (CASE WHEN sign < 0 THEN '-' ELSE '' END || grouped || ' NGN'),
    (' $' || CASE WHEN sign < 0 THEN '-' ELSE '' END || grouped || ' '),
    ('USD ' || CASE WHEN sign < 0 THEN '(' || grouped || ')' ELSE grouped END),
    ('£' || grouped || CASE WHEN sign < 0 THEN ' DR' ELSE '' END),
    ('€' || CASE WHEN sign < 0 THEN '-' ELSE '' END || plain),
    ('GBP' || CASE WHEN sign < 0 THEN '-' ELSE '' END || plain),
    (CASE WHEN sign < 0 THEN '-' ELSE '' END || plain || ' EUR'),
    ('N' || CASE WHEN sign < 0 THEN '-' ELSE '' END || grouped),
    (E'\t' || CASE WHEN sign < 0 THEN '-' ELSE '' END || grouped || E' \n'),
    ('  ' || CASE WHEN sign < 0 THEN '-' ELSE '' END || replace(grouped, ',', ' ') || '  ')
) sp(spelling)
WHERE sign > 0 OR cents > 0
UNION ALL
SELECT expected, CASE WHEN sign < 0 THEN '-' ELSE '' END || euro, ',' FROM v WHERE sign > 0 OR cents > 0
UNION ALL
SELECT expected, CASE WHEN sign < 0 THEN '-' ELSE '' END || grouped, '.' FROM v WHERE sign > 0 OR cents > 0
UNION ALL
SELECT expected, CASE WHEN sign < 0 THEN '-' ELSE '' END || euro, 'auto' FROM v
 WHERE (sign > 0 OR cents > 0) AND cents >= 100000;

SELECT count(*) AS generated_cases FROM amount_cases;
SELECT spelling, mark, expected, pg_temp.amount_outcome(spelling, mark) AS got
  FROM amount_cases
 WHERE pg_temp.amount_outcome(spelling, mark) IS DISTINCT FROM expected::text;

-- 2. hand-written cases: boundaries and refusals, with the exact outcome
CREATE TEMP TABLE amount_fixed (spelling text, mark text, expected text);
INSERT INTO amount_fixed VALUES
    ('0', NULL, '0'),
    ('007', NULL, '7'),
    ('0.005', NULL, '0.005'),
    ('-0', NULL, '0'),
    ('.5', NULL, '0.5'),
    ('5.', NULL, '5'),
    ('12,50', NULL, '12.50'),
    ('12,5', NULL, '12.5'),
    ('1,234', NULL, '1234'),
    ('1.234', NULL, '1.234'),
    ('1,234.567', NULL, '1234.567'),
    ('1.234,56', NULL, '1234.56'),
    ('1 234 567,89', NULL, '1234567.89'),
    ('1.234.567', NULL, 'ERROR: It has two decimal marks (".").'),
    ('1.234.567', ',', '1234567'),
    ('1,234', ',', '1.234'),
    ('1,234', '.', '1234'),
    ('12,50', '.', 'ERROR: Its thousands separators do not split the digits in groups of three.'),
    ('123456789012345678901234567890.12', NULL, '123456789012345678901234567890.12'),
    ('1' || repeat('0', 59), NULL, '1' || repeat('0', 59)),
    ('1' || repeat('0', 60), NULL, 'ERROR: It has more than 60 significant digits.'),
    ('0.' || repeat('0', 99) || '1', NULL, '0.' || repeat('0', 99) || '1'),
    ('0.' || repeat('0', 100) || '1', NULL, 'ERROR: It has more than 100 digits after the decimal mark.'),
    ('1234567890123456789.' || repeat('1', 41), NULL, '1234567890123456789.' || repeat('1', 41)),
    ('1.2.3', NULL, 'ERROR: It has two decimal marks (".").'),
    ('1,2,3', ',', 'ERROR: It has two decimal marks (",").'),
    ('12a4', NULL, 'ERROR: It has a letter ("a") among the digits.'),
    ('12 34x', NULL, 'ERROR: It has a letter ("x") among the digits.'),
    ('1_000', NULL, 'ERROR: It has an unexpected character "_".'),
    ('', NULL, 'ERROR: It is empty.'),
    ('   ', NULL, 'ERROR: It is empty.'),
    ('$', NULL, 'ERROR: It has no digits.'),
    ('NGN', NULL, 'ERROR: It has no digits.'),
    ('()', NULL, 'ERROR: It has no digits.'),
    ('-', NULL, 'ERROR: It has no digits.'),
    ('.', NULL, 'ERROR: It has no digits.'),
    ('1,23,456', NULL, 'ERROR: Its thousands separators do not split the digits in groups of three.'),
    ('12,3456', NULL, 'ERROR: Its thousands separators do not split the digits in groups of three.'),
    ('1234,567.00', NULL, 'ERROR: Its thousands separators do not split the digits in groups of three.'),
    (',123', NULL, 'ERROR: Its thousands separators do not split the digits in groups of three.'),
    ('1,234 567', NULL, 'ERROR: It mixes thousands separators.'),
    ('1.50,00', NULL, 'ERROR: Its thousands separators do not split the digits in groups of three.'),
    ('1,234.5,6', NULL, 'ERROR: It has two decimal marks (",").'),
    ('--5', NULL, 'ERROR: It has more than one sign.'),
    ('-5-', NULL, 'ERROR: It has more than one sign.'),
    ('(5) DR', NULL, 'ERROR: It has both parentheses and a CR/DR suffix.'),
    ('(5 DR)', NULL, 'ERROR: It has both parentheses and a CR/DR suffix.'),
    ('(-5)', NULL, 'ERROR: It has more than one sign.'),
    ('5 DR-', NULL, 'ERROR: It has more than one sign.'),
    ('USD (5)', NULL, '-5'),
    ('(5) USD', NULL, '-5'),
    ('(₦5)', NULL, '-5'),
    ('1e3', NULL, 'ERROR: It has a letter ("e") among the digits.'),
    ('NGNX 5', NULL, 'ERROR: It has a letter ("N") among the digits.'),
    ('n500', NULL, 'ERROR: It has a letter ("n") among the digits.'),
    ('5 naira', NULL, 'ERROR: It has a letter ("n") among the digits.'),
    ('₦ 1,200', NULL, '1200'),
    ('1,200 ₦', NULL, '1200'),
    ('+₦1', NULL, '1'),
    ('₦+1', NULL, '1'),
    ('usd 5', NULL, '5'),
    ('5CR', NULL, '5'),
    ('5 Dr', NULL, '-5'),
    ('(1,000)', NULL, '-1000'),
    (E'\u00a0500\u00a0', NULL, '500'),
    ('1 000', NULL, '1000'),
    ('1000.', NULL, '1000'),
    ('9223372036854775807', NULL, '9223372036854775807'),
    ('-9223372036854775808.99', NULL, '-9223372036854775808.99');

SELECT count(*) AS fixed_cases FROM amount_fixed;
SELECT spelling, mark, expected, pg_temp.amount_outcome(spelling, mark) AS got
  FROM amount_fixed
 WHERE pg_temp.amount_outcome(spelling, mark) IS DISTINCT FROM expected;

-- 3. try_parse_amount is NULL exactly where parse_amount raises, and equal elsewhere
SELECT count(*) AS try_disagreements
  FROM (SELECT spelling, mark FROM amount_cases UNION ALL SELECT spelling, mark FROM amount_fixed) c
 WHERE (CASE WHEN mark IS NULL THEN indicina.try_parse_amount(spelling)
             ELSE indicina.try_parse_amount(spelling, mark) END)::text
       IS DISTINCT FROM nullif(pg_temp.amount_outcome(spelling, mark), '') 
   AND NOT (pg_temp.amount_outcome(spelling, mark) LIKE 'ERROR:%'
            AND (CASE WHEN mark IS NULL THEN indicina.try_parse_amount(spelling)
                      ELSE indicina.try_parse_amount(spelling, mark) END) IS NULL);

-- 4. the full error, once, and a bad decimal mark argument
SELECT indicina.parse_amount('1.2.3');
SELECT indicina.parse_amount('12a4');
SELECT indicina.parse_amount('5', ';');
SELECT indicina.parse_amount(NULL) IS NULL AS strict;

-- 5. a parsed amount is the very numeric numeric_in makes (the same digits,
-- weight, sign and scale, as numeric_send shows them): zero at any scale,
-- digit groups of zeros inside and at the ends, the largest short-form
-- scales and one past them, the int64 bounds, and seven thousand pseudo-random values at scales 0 to 8
SELECT count(*) AS spellings,
       count(*) FILTER (WHERE numeric_send(indicina.parse_amount(s)) <> numeric_send(s::numeric)) AS differ
  FROM (SELECT unnest(ARRAY['0', '0.00', '-0.00', '0.0000000000', '1', '-1', '0.01', '-0.01', '0.10', '1.00',
                            '10000', '100000000', '0.0001', '0.00001', '10000.0001', '9999.9999', '-123456789012.34',
                            '100000000.00000001', '0.000000000000000001', '1' || repeat('0', 17),
                            '9223372036854775807', '-9223372036854775807', '0.' || repeat('0', 62) || '1',
                            '1.' || repeat('0', 58), '0.' || repeat('0', 64) || '5']) AS s
        UNION ALL
        SELECT trim_scale(((i * 7919 + i * i * 104729) % 2000000001 - 1000000000)::numeric
                          / (10::numeric ^ (i % 9)))::text
          FROM generate_series(1::bigint, 7000) i) v;
