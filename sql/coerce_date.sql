--
-- coerce_date: indicina.parse_date and parse_timestamp, table-driven.  The
-- queries list only the cases whose outcome differs from the expected one.
--
CREATE FUNCTION pg_temp.date_outcome(v text, fmt text DEFAULT 'auto', ord text DEFAULT 'DMY') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
    RETURN indicina.parse_date(v, fmt, ord)::text;
EXCEPTION WHEN invalid_text_representation THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN 'ERROR: ' || d;
END $$;
CREATE FUNCTION pg_temp.ts_outcome(v text, fmt text DEFAULT 'auto') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
    RETURN indicina.parse_timestamp(v, fmt)::text;
EXCEPTION WHEN invalid_text_representation THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN 'ERROR: ' || d;
END $$;
SET datestyle = 'ISO, YMD';
SET lc_time = 'C';

-- 1. every day of 2020-2024 (leap year included) in every spelling "auto"
--    reads, and in patterns: the parsed date must be the day itself
CREATE TEMP TABLE date_cases AS
SELECT d::date AS expected, sp.spelling, sp.fmt, sp.ord
  FROM generate_series('2020-01-01'::date, '2024-12-31', '1 day') d,
LATERAL (VALUES
    (to_char(d, 'YYYY-MM-DD'), 'auto', 'DMY'),
    (to_char(d, 'YYYY-MM-DD'), 'iso', 'DMY'),
    (to_char(d, 'DD/MM/YYYY'), 'auto', 'DMY'),
    (to_char(d, 'MM/DD/YYYY'), 'auto', 'MDY'),
    (to_char(d, 'FMDD.FMMM.YYYY'), 'auto', 'DMY'),
    (to_char(d, 'DD-Mon-YYYY'), 'auto', 'DMY'),
    (to_char(d, 'DD-MON-YYYY'), 'auto', 'DMY'),
    (to_char(d, 'YYYYMMDD'), 'auto', 'DMY'),
    (to_char(d, 'Mon FMDD, YYYY'), 'auto', 'DMY'),
    (to_char(d, 'FMDDth FMMonth YYYY'), 'auto', 'DMY'),
    (to_char(d, 'FMDay, FMDDth "of" FMMonth YYYY'), 'auto', 'DMY'),
    (to_char(d, 'YYYY/MM/DD'), 'auto', 'MDY'),
    (to_char(d, 'YYYY-MM-DD"T"HH24:MI:SS'), 'auto', 'DMY'),
    (to_char(d, 'DD/MM/YYYY'), 'DD/MM/YYYY', 'DMY'),
    (to_char(d, 'MM/DD/YYYY'), 'MM/DD/YYYY', 'DMY'),
    (to_char(d, 'DD-Mon-YYYY'), 'DD-Mon-YYYY', 'DMY'),
    (to_char(d, 'YYYYMMDD'), 'YYYYMMDD', 'DMY'),
    (to_char(d, 'FMDD FMMonth YYYY'), 'DD Month YYYY', 'DMY'),
    ((d::date - '1899-12-30'::date)::text, 'excel', 'DMY')
) sp(spelling, fmt, ord);

SELECT count(*) AS generated_cases FROM date_cases;
SELECT spelling, fmt, ord, expected, pg_temp.date_outcome(spelling, fmt, ord) AS got
  FROM date_cases
 WHERE pg_temp.date_outcome(spelling, fmt, ord) IS DISTINCT FROM expected::text;

-- 2. the day after the last of every month of 2023 and 2024 is refused
SELECT count(*) AS month_end_cases,
       count(*) FILTER (WHERE pg_temp.date_outcome(spelling) <> expected) AS disagreements
  FROM (SELECT to_char(m, 'YYYY-MM-') || (extract(day FROM m + interval '1 month' - interval '1 day')::int + 1) AS spelling,
               'ERROR: Day ' || (extract(day FROM m + interval '1 month' - interval '1 day')::int + 1)
               || ' does not exist in ' || to_char(m, 'FMMonth YYYY') || '.' AS expected
          FROM generate_series('2023-01-01'::date, '2024-12-01', '1 month') m) c;

-- 3. hand-written cases: boundaries and refusals
CREATE TEMP TABLE date_fixed (spelling text, fmt text, ord text, expected text);
INSERT INTO date_fixed VALUES
    ('2024-02-29', 'auto', 'DMY', '2024-02-29'),
    ('2023-02-29', 'auto', 'DMY', 'ERROR: Day 29 does not exist in February 2023.'),
    ('2000-02-29', 'auto', 'DMY', '2000-02-29'),
    ('1900-02-29', 'auto', 'DMY', 'ERROR: Day 29 does not exist in February 1900.'),
    ('2023-02-30', 'auto', 'DMY', 'ERROR: Day 30 does not exist in February 2023.'),
    ('31/04/2023', 'auto', 'DMY', 'ERROR: Day 31 does not exist in April 2023.'),
    ('2023-13-01', 'auto', 'DMY', 'ERROR: Month 13 does not exist.'),
    ('2022-00-10', 'auto', 'DMY', 'ERROR: Month 0 does not exist.'),
    ('2023-01-00', 'auto', 'DMY', 'ERROR: Day 0 does not exist in January 2023.'),
    ('0000-01-01', 'auto', 'DMY', 'ERROR: Year 0 is outside 1 to 9999.'),
    ('N/A', 'auto', 'DMY', 'ERROR: "N" is not a month name.'),
    ('not a date', 'auto', 'DMY', 'ERROR: "not" is not a month name.'),
    ('', 'auto', 'DMY', 'ERROR: It is empty.'),
    ('  ', 'auto', 'DMY', 'ERROR: It is empty.'),
    ('13/01/2023', 'auto', 'DMY', '2023-01-13'),
    ('01/13/2023', 'auto', 'DMY', 'ERROR: It is not a valid day-first date (it would be one as month-first: set the date order).'),
    ('13/01/2023', 'auto', 'MDY', 'ERROR: It is not a valid month-first date (it would be one as day-first: set the date order).'),
    ('05/01/2023', 'auto', 'DMY', '2023-01-05'),
    ('05/01/2023', 'auto', 'MDY', '2023-05-01'),
    ('5/1/2023', 'auto', 'DMY', '2023-01-05'),
    ('05/01/23', 'auto', 'DMY', 'ERROR: It has a two-digit year; set indicina.two_digit_year_pivot to accept those.'),
    ('5 Jan 23', 'auto', 'DMY', 'ERROR: It has a two-digit year; set indicina.two_digit_year_pivot to accept those.'),
    ('05/01/123', 'auto', 'DMY', 'ERROR: It is not a date this parser recognises.'),
    ('2023-01', 'auto', 'DMY', 'ERROR: It is not a date this parser recognises.'),
    ('1/2/3/4', 'auto', 'DMY', 'ERROR: It is not a date this parser recognises.'),
    ('2023-01-05 25:00', 'auto', 'DMY', 'ERROR: Time 25:00:00 does not exist.'),
    ('2023-01-05 10:30 +01', 'auto', 'DMY', 'ERROR: It has a time zone; use timestamptz for such values.'),
    ('Jan 32, 2023', 'auto', 'DMY', 'ERROR: Day 32 does not exist in January 2023.'),
    ('Janvier 5 2023', 'auto', 'DMY', 'ERROR: "Janvier" is not a month name.'),
    ('Jan Feb 2023', 'auto', 'DMY', 'ERROR: "Feb" is not a month name.'),
    ('Sept 5, 2023', 'auto', 'DMY', '2023-09-05'),
    ('5TH JAN 2023', 'auto', 'DMY', '2023-01-05'),
    ('2023 Jan 5', 'auto', 'DMY', '2023-01-05'),
    ('2023-01-05#', 'auto', 'DMY', 'ERROR: Unexpected character "#".'),
    ('20231301', 'auto', 'DMY', 'ERROR: Month 13 does not exist.'),
    ('2023-01-05', 'iso', 'DMY', '2023-01-05'),
    ('05/01/2023', 'iso', 'DMY', 'ERROR: It is not an ISO date (YYYY-MM-DD).'),
    ('2023-1-5', 'iso', 'DMY', 'ERROR: It is not an ISO date (YYYY-MM-DD).'),
    ('05/01/2023', 'DD-MM-YYYY', 'DMY', 'ERROR: It does not match the format "DD-MM-YYYY".'),
    ('2023-01-05', 'YYYYMMDD', 'DMY', 'ERROR: It does not match the format "YYYYMMDD".'),
    ('2023015', 'YYYYMMDD', 'DMY', 'ERROR: It does not match the format "YYYYMMDD".'),
    ('5-Foo-2023', 'DD-Mon-YYYY', 'DMY', 'ERROR: It does not match the format "DD-Mon-YYYY".'),
    ('31/02/2023', 'DD/MM/YYYY', 'DMY', 'ERROR: Day 31 does not exist in February 2023.'),
    ('1', 'excel', 'DMY', '1900-01-01'),
    ('59', 'excel', 'DMY', '1900-02-28'),
    ('60', 'excel', 'DMY', 'ERROR: Excel serial 60 is 1900-02-29, a day that does not exist.'),
    ('61', 'excel', 'DMY', '1900-03-01'),
    ('45000', 'excel', 'DMY', '2023-03-15'),
    ('45000.75', 'excel', 'DMY', '2023-03-15'),
    ('2958465', 'excel', 'DMY', '9999-12-31'),
    ('2958466', 'excel', 'DMY', 'ERROR: Excel serial 2958466 is outside 1 (1900-01-01) to 2958465 (9999-12-31).'),
    ('0', 'excel', 'DMY', 'ERROR: Excel serial 0 is outside 1 (1900-01-01) to 2958465 (9999-12-31).'),
    ('-5', 'excel', 'DMY', 'ERROR: It is not an Excel serial day number.'),
    ('45000', 'auto', 'DMY', 'ERROR: It is not a date this parser recognises.');

SELECT count(*) AS fixed_cases FROM date_fixed;
SELECT spelling, fmt, ord, expected, pg_temp.date_outcome(spelling, fmt, ord) AS got
  FROM date_fixed
 WHERE pg_temp.date_outcome(spelling, fmt, ord) IS DISTINCT FROM expected;

-- 4. two-digit years through the pivot; YMD order
SET indicina.two_digit_year_pivot = 50;
SELECT indicina.parse_date('05/01/23') AS dmy_23, indicina.parse_date('05/01/75') AS dmy_75,
       indicina.parse_date('5 Jan 49') AS named_49, indicina.parse_date('23/01/05', 'auto', 'YMD') AS ymd,
       indicina.parse_date('05-01-23', 'DD-MM-YY') AS pattern_yy;
RESET indicina.two_digit_year_pivot;
SET indicina.date_order = 'MDY';
SELECT indicina.parse_date('05/01/2023') AS guc_mdy;
RESET indicina.date_order;

-- 5. timestamps
CREATE TEMP TABLE ts_fixed (spelling text, fmt text, expected text);
INSERT INTO ts_fixed VALUES
    ('2023-01-05 14:30:00', 'auto', '2023-01-05 14:30:00'),
    ('2023-01-05T14:30', 'auto', '2023-01-05 14:30:00'),
    ('2023-01-05', 'auto', '2023-01-05 00:00:00'),
    ('2023-01-05 14:30:00.123456', 'auto', '2023-01-05 14:30:00.123456'),
    ('2023-01-05 14:30:00.1234567', 'auto', '2023-01-05 14:30:00.123456'),
    ('05/01/2023 2:30 PM', 'auto', '2023-01-05 14:30:00'),
    ('05/01/2023 12:00 AM', 'auto', '2023-01-05 00:00:00'),
    ('05/01/2023 12:00 pm', 'auto', '2023-01-05 12:00:00'),
    ('5th January 2023 09:15:00', 'auto', '2023-01-05 09:15:00'),
    ('2023-01-05 13:00 PM', 'auto', 'ERROR: Hour 13 does not exist on a 12-hour clock.'),
    ('2023-01-05 14:60', 'auto', 'ERROR: Time 14:60:00 does not exist.'),
    ('2023-01-05 14:30:5', 'auto', 'ERROR: The seconds are not two digits.'),
    ('2023-01-05 14:30:00.', 'auto', 'ERROR: The fraction of a second has no digits.'),
    ('2023-01-05 14:30Z', 'auto', 'ERROR: It has a time zone; use timestamptz for such values.'),
    ('2023-01-05 14:30 later', 'auto', 'ERROR: Unexpected text after the time.'),
    ('2023-02-30 10:00', 'auto', 'ERROR: Day 30 does not exist in February 2023.'),
    ('05/01/2023 14:30:00', 'DD/MM/YYYY HH24:MI:SS', '2023-01-05 14:30:00'),
    ('05/01/2023 02:30 PM', 'DD/MM/YYYY HH12:MI AM', '2023-01-05 14:30:00'),
    ('20230105143000', 'YYYYMMDDHH24MISS', '2023-01-05 14:30:00'),
    ('2023-01-05 14:30:00.5', 'YYYY-MM-DD HH24:MI:SS.FF', '2023-01-05 14:30:00.5'),
    ('45000.75', 'excel', '2023-03-15 18:00:00');
SELECT count(*) AS timestamp_cases FROM ts_fixed;
SELECT spelling, fmt, expected, pg_temp.ts_outcome(spelling, fmt) AS got
  FROM ts_fixed
 WHERE pg_temp.ts_outcome(spelling, fmt) IS DISTINCT FROM expected;

-- 6. try_ variants are NULL exactly where the function raises
SELECT count(*) AS try_disagreements
  FROM (SELECT spelling, fmt, ord FROM date_fixed UNION ALL SELECT spelling, fmt, ord FROM date_cases) c
 WHERE (indicina.try_parse_date(spelling, fmt, ord) IS NULL)
       <> (pg_temp.date_outcome(spelling, fmt, ord) LIKE 'ERROR:%');

-- 7. full errors, bad formats and orders
SELECT indicina.parse_date('2023-02-30');
SELECT indicina.parse_date('05/01/2023', 'DD/MM/YYYY hh');
SELECT indicina.parse_date('05/01/2023', 'DD/MM');
SELECT indicina.parse_date('05/01/2023', 'auto', 'DYM');
SELECT indicina.parse_timestamp('2023-01-05 14:30Z');
