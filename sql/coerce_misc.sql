--
-- coerce_misc: parse_int, parse_bool, normalize_label, normalize_phone,
-- is_valid_bvn, normalize_id, table-driven; only disagreements are listed.
--
CREATE FUNCTION pg_temp.outcome(call text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text; d text;
BEGIN
    EXECUTE 'SELECT (' || call || ')::text' INTO r;
    RETURN r;
EXCEPTION WHEN invalid_text_representation THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN 'ERROR: ' || d;
END $$;

CREATE TEMP TABLE misc_cases (fn text, arg text, extra text, expected text);
-- integers
INSERT INTO misc_cases (fn, arg, expected)
SELECT 'parse_int', spelling, v::text
  FROM (VALUES (0), (7), (999), (1000), (1234567), (-1234567), (2147483648), (-9223372036854775807)) n(v),
LATERAL (VALUES (v::text), (to_char(v, 'FM9,999,999,999,999,999,999')),
                (replace(to_char(v, 'FM9,999,999,999,999,999,999'), ',', ' ')),
                (replace(to_char(v, 'FM9,999,999,999,999,999,999'), ',', '.')),
                ('  ' || v::text || ' '), (CASE WHEN v >= 0 THEN '+' || v::text ELSE v::text END)) s(spelling)
 WHERE v = 0 OR spelling NOT LIKE '%.%' OR abs(v) >= 1000;
INSERT INTO misc_cases (fn, arg, expected) VALUES
    ('parse_int', '9223372036854775807', '9223372036854775807'),
    ('parse_int', '-9223372036854775808', '-9223372036854775808'),
    ('parse_int', '9223372036854775808', 'ERROR: It is out of range for a bigint.'),
    ('parse_int', '99999999999999999999', 'ERROR: It is out of range for a bigint.'),
    ('parse_int', '12.5', 'ERROR: It has a fractional part.'),
    ('parse_int', '1,234.5', 'ERROR: It has a fractional part.'),
    ('parse_int', '1,23', 'ERROR: Its thousands separators do not split the digits in groups of three.'),
    ('parse_int', '1234,567', 'ERROR: Its thousands separators do not split the digits in groups of three.'),
    ('parse_int', '1,234 567', 'ERROR: Its thousands separators do not split the digits in groups of three.'),
    ('parse_int', '12a', 'ERROR: Unexpected character "a".'),
    ('parse_int', '', 'ERROR: It has no digits.'),
    ('parse_int', '-', 'ERROR: It has no digits.'),
    ('parse_int', '--1', 'ERROR: Unexpected character "-".');
-- booleans
INSERT INTO misc_cases (fn, arg, expected)
SELECT 'parse_bool', s, v::text
  FROM (VALUES ('true', true), ('TRUE', true), ('t', true), ('T', true), ('yes', true), ('Yes', true),
               ('y', true), ('Y', true), ('on', true), ('ON', true), ('1', true), (' yes ', true),
               ('false', false), ('False', false), ('f', false), ('no', false), ('NO', false),
               ('n', false), ('off', false), ('Off', false), ('0', false), (E'\tno\n', false)) b(s, v);
INSERT INTO misc_cases (fn, arg, expected) VALUES
    ('parse_bool', 'maybe', 'ERROR: Expected yes/no, y/n, true/false, t/f, 1/0 or on/off.'),
    ('parse_bool', '', 'ERROR: Expected yes/no, y/n, true/false, t/f, 1/0 or on/off.'),
    ('parse_bool', '2', 'ERROR: Expected yes/no, y/n, true/false, t/f, 1/0 or on/off.'),
    ('parse_bool', 'yess', 'ERROR: Expected yes/no, y/n, true/false, t/f, 1/0 or on/off.'),
    ('parse_bool', 'tru', 'ERROR: Expected yes/no, y/n, true/false, t/f, 1/0 or on/off.');
-- labels: the issue's spellings, the generator's, and the narrations
INSERT INTO misc_cases (fn, arg, extra, expected) VALUES
    ('normalize_label', 'self employed', 'employment_status', 'Self-Employed'),
    ('normalize_label', 'SELF-EMPLOYED', 'employment_status', 'Self-Employed'),
    ('normalize_label', 'Self Employed', 'employment_status', 'Self-Employed'),
    ('normalize_label', ' self-employed ', 'employment_status', 'Self-Employed'),
    ('normalize_label', 'Self-employed', 'employment_status', 'Self-Employed'),
    ('normalize_label', 'employed', 'employment_status', 'Employed'),
    ('normalize_label', 'EMPLOYED', 'employment_status', 'Employed'),
    ('normalize_label', ' Employed ', 'employment_status', 'Employed'),
    ('normalize_label', 'Employed.', 'employment_status', 'Employed'),
    ('normalize_label', 'unemployed ', 'employment_status', 'Unemployed'),
    ('normalize_label', 'Un-employed', 'employment_status', 'Unemployed'),
    ('normalize_label', 'UNEMPLOYED', 'employment_status', 'Unemployed'),
    ('normalize_label', 'Salaried', 'employment_status', 'Employed'),
    ('normalize_label', 'Business Owner', 'employment_status', 'Self-Employed'),
    ('normalize_label', 'not employed', 'employment_status', 'Unemployed'),
    ('normalize_label', 'retired', 'employment_status', 'ERROR: Known labels: Employed, Self-Employed, Unemployed.'),
    ('normalize_label', '', 'employment_status', 'ERROR: Known labels: Employed, Self-Employed, Unemployed.'),
    ('normalize_label', 'self  employed  x', 'employment_status', 'ERROR: Known labels: Employed, Self-Employed, Unemployed.'),
    ('normalize_label', 'monthly income', 'narration', 'Monthly Income'),
    ('normalize_label', 'SALARY', 'narration', 'Monthly Income'),
    ('normalize_label', 'pos', 'narration', 'POS Purchase'),
    ('normalize_label', 'P.O.S Purchase', 'narration', 'POS Purchase'),
    ('normalize_label', 'atm withdrawal', 'narration', 'ATM Withdrawal'),
    ('normalize_label', 'Grocery-Shopping', 'narration', 'Grocery Shopping'),
    ('normalize_label', 'bill pay', 'narration', 'Bill Payment'),
    ('normalize_label', 'Fuel', 'narration', 'Fuel Purchase'),
    ('normalize_label', 'restaurant', 'narration', 'Restaurant Bill'),
    ('normalize_label', 'online trf', 'narration', 'Online Transfer'),
    ('normalize_label', 'Lottery', 'narration', 'ERROR: Known labels: ATM Withdrawal, Bill Payment, Fuel Purchase, Grocery Shopping, Monthly Income, Online Transfer, POS Purchase, Restaurant Bill.');
-- phones
INSERT INTO misc_cases (fn, arg, extra, expected) VALUES
    ('normalize_phone', '08031234567', 'NG', '+2348031234567'),
    ('normalize_phone', '2348031234567', 'NG', '+2348031234567'),
    ('normalize_phone', '+234 803 123 4567', 'NG', '+2348031234567'),
    ('normalize_phone', '+234 (0)803 123 4567', 'NG', 'ERROR: It has 11 digits after the country code; NG numbers have 10.'),
    ('normalize_phone', '00234-803-123-4567', 'NG', '+2348031234567'),
    ('normalize_phone', '0803.123.4567', 'NG', '+2348031234567'),
    ('normalize_phone', '07011112222', 'NG', '+2347011112222'),
    ('normalize_phone', '09051234567', 'NG', '+2349051234567'),
    ('normalize_phone', '0803123456', 'NG', 'ERROR: It has 9 digits after the country code; NG numbers have 10.'),
    ('normalize_phone', '080312345678', 'NG', 'ERROR: It has 11 digits after the country code; NG numbers have 10.'),
    ('normalize_phone', '06031234567', 'NG', 'ERROR: NG numbers do not start with 6 after the country code.'),
    ('normalize_phone', '8031234567', 'NG', 'ERROR: A national number must start with 0 and an international one with +234.'),
    ('normalize_phone', '+44 803 123 4567', 'NG', 'ERROR: It does not start with country code +234 (NG).'),
    ('normalize_phone', '0803-123-456x', 'NG', 'ERROR: It has an unexpected character "x".'),
    ('normalize_phone', '', 'NG', 'ERROR: A national number must start with 0 and an international one with +234.'),
    ('normalize_phone', '024 123 4567', 'GH', '+233241234567'),
    ('normalize_phone', '0712 345678', 'KE', '+254712345678'),
    ('normalize_phone', '07911 123456', 'GB', '+447911123456'),
    ('normalize_phone', '(415) 555-2671', 'US', '+14155552671'),
    ('normalize_phone', '1 415 555 2671', 'US', '+14155552671'),
    ('normalize_phone', '08031234567', 'FR', 'ERROR: Country "FR" is not one of NG, GH, KE, ZA, GB, US.');
-- identifiers
INSERT INTO misc_cases (fn, arg, expected) VALUES
    ('normalize_id', 'cust_0001 ', 'CUST_0001'),
    ('normalize_id', '  Cust_0001', 'CUST_0001'),
    ('normalize_id', 'app  0001', 'APP 0001'),
    ('normalize_id', E'a\t\tb', 'A B'),
    ('normalize_id', 'ÀBC', 'ÀBC'),
    ('normalize_id', '', 'ERROR: The identifier is blank.'),
    ('normalize_id', '   ', 'ERROR: The identifier is blank.');
-- BVN
INSERT INTO misc_cases (fn, arg, expected) VALUES
    ('is_valid_bvn', '22212345678', 'true'),
    ('is_valid_bvn', '00000000000', 'true'),
    ('is_valid_bvn', '2221234567', 'false'),
    ('is_valid_bvn', '222123456789', 'false'),
    ('is_valid_bvn', '2221234567a', 'false'),
    ('is_valid_bvn', ' 22212345678', 'false'),
    ('is_valid_bvn', '', 'false');

-- generated cases, so every parser has hundreds
-- integers: 300 values in five spellings each
INSERT INTO misc_cases (fn, arg, expected)
SELECT 'parse_int', sp, v::text
  FROM (SELECT (i * 7919 % 1000003 - 500000)::bigint * CASE WHEN i % 3 = 0 THEN 1000 ELSE 1 END AS v
          FROM generate_series(1, 300) i) n,
LATERAL (VALUES (v::text), (' ' || v::text || ' '),
                (to_char(v, 'FM999,999,999,999')), (replace(to_char(v, 'FM999,999,999,999'), ',', ' ')),
                (CASE WHEN v >= 0 THEN '+' || v::text ELSE v::text END)) s(sp);
-- booleans: every case spelling of every word, with and without spaces
INSERT INTO misc_cases (fn, arg, expected)
SELECT 'parse_bool', pad || spelled || pad, v::text
  FROM (VALUES ('true', true), ('yes', true), ('on', true), ('false', false), ('no', false), ('off', false)) w(word, v),
LATERAL (SELECT string_agg(CASE WHEN (m >> (k - 1)) & 1 = 1 THEN upper(substr(word, k, 1)) ELSE substr(word, k, 1) END, '' ORDER BY k) AS spelled
           FROM generate_series(0, (1 << length(word)) - 1) m, generate_series(1, length(word)) k GROUP BY m) c,
       (VALUES (''), (' ')) p(pad);
-- labels: every canonical label in eight spellings
INSERT INTO misc_cases (fn, arg, extra, expected)
SELECT 'normalize_label', sp, domain, label
  FROM (SELECT DISTINCT domain, label FROM indicina.label_map WHERE shipped) l,
LATERAL (VALUES (label), (lower(label)), (upper(label)), (' ' || label || ' '), (replace(label, '-', ' ')),
                (replace(label, ' ', '-')), (replace(replace(lower(label), ' ', '_'), '-', '_')),
                (initcap(replace(label, '-', ' ')) || '.')) s(sp);
-- phones: 150 Nigerian numbers in four spellings each
INSERT INTO misc_cases (fn, arg, extra, expected)
SELECT 'normalize_phone', sp, 'NG', '+234' || national
  FROM (SELECT (ARRAY['70','80','81','90','91'])[1 + i % 5] || lpad((i * 7654321 % 100000000)::text, 8, '0') AS national
          FROM generate_series(1, 150) i) n,
LATERAL (VALUES ('0' || national), ('234' || national), ('+234 ' || substr(national, 1, 3) || ' ' || substr(national, 4, 3) || ' ' || substr(national, 7)),
                ('00234-' || national)) s(sp);
-- identifiers: 120 ids with stray case and spaces
INSERT INTO misc_cases (fn, arg, expected)
SELECT 'normalize_id', sp, 'CUST_' || lpad(i::text, 5, '0')
  FROM generate_series(1, 120) i,
LATERAL (VALUES ('cust_' || lpad(i::text, 5, '0') || ' '), ('  Cust_' || lpad(i::text, 5, '0'))) s(sp);

-- BVNs: 11 digits are valid, 10 or 12 digits or a letter are not
INSERT INTO misc_cases (fn, arg, expected)
SELECT 'is_valid_bvn', sp, ok::text
  FROM (SELECT lpad((i::bigint * 982451653 % 100000000000)::text, 11, '0') AS b FROM generate_series(1, 60) i) n,
LATERAL (VALUES (b, true), (substr(b, 2), false), (b || '7', false), (substr(b, 1, 5) || 'x' || substr(b, 7), false)) s(sp, ok);

SELECT fn, count(*) AS cases FROM misc_cases GROUP BY fn ORDER BY fn;
SELECT fn, arg, extra, expected, got
  FROM (SELECT *, pg_temp.outcome(format('indicina.%I(%L%s)', fn, arg,
                                         CASE WHEN extra IS NULL THEN '' ELSE format(', %L', extra) END)) AS got
          FROM misc_cases) c
 WHERE got IS DISTINCT FROM expected;

-- try_ variants: NULL exactly where the function raises
SELECT count(*) AS try_disagreements
  FROM (SELECT *,
               pg_temp.outcome(format('indicina.%I(%L%s)', fn, arg,
                   CASE WHEN extra IS NULL THEN '' ELSE format(', %L', extra) END)) AS got,
               pg_temp.outcome(format('indicina.try_%s(%L%s)', fn, arg,
                   CASE WHEN extra IS NULL THEN '' ELSE format(', %L', extra) END)) AS try_got
          FROM misc_cases WHERE fn <> 'is_valid_bvn') c
 WHERE (got LIKE 'ERROR:%' AND try_got IS NOT NULL) OR (got NOT LIKE 'ERROR:%' AND try_got IS DISTINCT FROM got);

-- full errors
SELECT indicina.parse_int('12.5');
SELECT indicina.normalize_label('retired', 'employment_status');
SELECT indicina.normalize_label('x', 'no_such_domain');
SELECT indicina.normalize_phone('0803123456');
SELECT indicina.normalize_id('  ');

-- users extend a domain; matching ignores case and punctuation
INSERT INTO indicina.label_map (domain, spelling, label) VALUES ('employment_status', 'Retired', 'Unemployed');
SELECT indicina.normalize_label(' RETIRED ', 'employment_status');
INSERT INTO indicina.label_map (domain, spelling, label) VALUES ('employment_status', 're-tired', 'Employed');
DELETE FROM indicina.label_map WHERE NOT shipped;
SELECT indicina.label_key(' Self-Employed '), indicina.label_key('P.O.S.');
