-- 10_coercion.sql: lenient parsers (src/coerce/coerce.c) as SQL functions, and the
-- label domains they map spellings into.

-- Overloads instead of defaults: the functions are STRICT, and an optional
-- argument left out must mean "the default", not NULL.
CREATE FUNCTION indicina.parse_amount(value text) RETURNS numeric
    AS 'MODULE_PATHNAME', 'indicina_parse_amount' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.parse_amount(value text, decimal_mark text) RETURNS numeric
    AS 'MODULE_PATHNAME', 'indicina_parse_amount' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_parse_amount(value text) RETURNS numeric
    AS 'MODULE_PATHNAME', 'indicina_try_parse_amount' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_parse_amount(value text, decimal_mark text) RETURNS numeric
    AS 'MODULE_PATHNAME', 'indicina_try_parse_amount' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.parse_amount(text) IS 'amount with currency marks, thousands separators, parentheses, trailing minus or CR/DR; decimal mark inferred';
COMMENT ON FUNCTION indicina.parse_amount(text, text) IS 'amount with currency marks, thousands separators, parentheses, trailing minus or CR/DR; decimal mark ".", "," or "auto"';

CREATE FUNCTION indicina.parse_int(value text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'indicina_parse_int' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_parse_int(value text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'indicina_try_parse_int' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.parse_int(text) IS 'integer, thousands separators allowed';

CREATE FUNCTION indicina.parse_bool(value text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'indicina_parse_bool' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_parse_bool(value text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'indicina_try_parse_bool' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.parse_bool(text) IS 'yes/no, y/n, true/false, t/f, 1/0, on/off, any case';

-- Dates read GUCs (indicina.date_order, indicina.two_digit_year_pivot)
-- unless told the order, so they are STABLE, not IMMUTABLE.
CREATE FUNCTION indicina.parse_date(value text) RETURNS date
    AS 'MODULE_PATHNAME', 'indicina_parse_date' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.parse_date(value text, format text) RETURNS date
    AS 'MODULE_PATHNAME', 'indicina_parse_date' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.parse_date(value text, format text, date_order text) RETURNS date
    AS 'MODULE_PATHNAME', 'indicina_parse_date' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_parse_date(value text) RETURNS date
    AS 'MODULE_PATHNAME', 'indicina_try_parse_date' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_parse_date(value text, format text) RETURNS date
    AS 'MODULE_PATHNAME', 'indicina_try_parse_date' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_parse_date(value text, format text, date_order text) RETURNS date
    AS 'MODULE_PATHNAME', 'indicina_try_parse_date' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.parse_date(text) IS 'date in any spelling "auto" knows (ISO, day-first numeric, month names, YYYYMMDD)';
COMMENT ON FUNCTION indicina.parse_date(text, text) IS 'date in a format: auto, iso, excel or a pattern such as DD/MM/YYYY';
COMMENT ON FUNCTION indicina.parse_date(text, text, text) IS 'date in a format, numeric dates read in the given order (DMY, MDY, YMD)';

CREATE FUNCTION indicina.parse_timestamp(value text) RETURNS timestamp
    AS 'MODULE_PATHNAME', 'indicina_parse_timestamp' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.parse_timestamp(value text, format text) RETURNS timestamp
    AS 'MODULE_PATHNAME', 'indicina_parse_timestamp' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.parse_timestamp(value text, format text, date_order text) RETURNS timestamp
    AS 'MODULE_PATHNAME', 'indicina_parse_timestamp' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_parse_timestamp(value text) RETURNS timestamp
    AS 'MODULE_PATHNAME', 'indicina_try_parse_timestamp' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_parse_timestamp(value text, format text) RETURNS timestamp
    AS 'MODULE_PATHNAME', 'indicina_try_parse_timestamp' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_parse_timestamp(value text, format text, date_order text) RETURNS timestamp
    AS 'MODULE_PATHNAME', 'indicina_try_parse_timestamp' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.parse_timestamp(text) IS 'timestamp: a date as parse_date reads it, then an optional HH:MI[:SS[.ffffff]] [AM|PM]';

CREATE FUNCTION indicina.normalize_id(value text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_normalize_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_normalize_id(value text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_try_normalize_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.normalize_id(text) IS 'trimmed, upper-cased identifier with inner white space collapsed';

CREATE FUNCTION indicina.normalize_phone(value text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_normalize_phone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.normalize_phone(value text, country text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_normalize_phone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_normalize_phone(value text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_try_normalize_phone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_normalize_phone(value text, country text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_try_normalize_phone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.normalize_phone(text) IS 'Nigerian phone number in E.164 (+234...)';
COMMENT ON FUNCTION indicina.normalize_phone(text, text) IS 'phone number in E.164 for country NG, GH, KE, ZA, GB or US';

CREATE FUNCTION indicina.is_valid_bvn(value text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'indicina_is_valid_bvn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.is_valid_bvn(text) IS 'true for a Bank Verification Number: exactly 11 digits';

-- Label domains --------------------------------------------------------------

CREATE FUNCTION indicina.label_key(spelling text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_label_key_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.label_key(text) IS 'lookup key of a label spelling: ASCII letters and digits, lower case';

CREATE TABLE indicina.label_map (
    domain   text NOT NULL,
    spelling text NOT NULL,
    label    text NOT NULL,
    key      text GENERATED ALWAYS AS (indicina.label_key(spelling)) STORED,
    shipped  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (domain, key),
    CHECK (key <> '')
);
COMMENT ON TABLE indicina.label_map IS
    'label domains: each spelling (matched case- and punctuation-insensitively) maps to a canonical label; a row whose spelling equals its label defines the label';

-- rows users add are dumped with the database; shipped rows come with the extension
SELECT pg_catalog.pg_extension_config_dump('indicina.label_map', 'WHERE NOT shipped');

CREATE FUNCTION indicina.normalize_label(value text, domain text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_normalize_label' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION indicina.try_normalize_label(value text, domain text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_try_normalize_label' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.normalize_label(text, text) IS 'canonical label of a spelling in a domain of indicina.label_map';

INSERT INTO indicina.label_map (domain, spelling, label, shipped) VALUES
    ('employment_status', 'Employed', 'Employed', true),
    ('employment_status', 'Self-Employed', 'Self-Employed', true),
    ('employment_status', 'Unemployed', 'Unemployed', true),
    ('employment_status', 'Salaried', 'Employed', true),
    ('employment_status', 'Self employed / business owner', 'Self-Employed', true),
    ('employment_status', 'Business owner', 'Self-Employed', true),
    ('employment_status', 'Not employed', 'Unemployed', true),
    ('narration', 'Monthly Income', 'Monthly Income', true),
    ('narration', 'Fuel Purchase', 'Fuel Purchase', true),
    ('narration', 'Restaurant Bill', 'Restaurant Bill', true),
    ('narration', 'Online Transfer', 'Online Transfer', true),
    ('narration', 'POS Purchase', 'POS Purchase', true),
    ('narration', 'Grocery Shopping', 'Grocery Shopping', true),
    ('narration', 'ATM Withdrawal', 'ATM Withdrawal', true),
    ('narration', 'Bill Payment', 'Bill Payment', true),
    ('narration', 'Salary', 'Monthly Income', true),
    ('narration', 'Salary credit', 'Monthly Income', true),
    ('narration', 'Fuel', 'Fuel Purchase', true),
    ('narration', 'Restaurant', 'Restaurant Bill', true),
    ('narration', 'Transfer', 'Online Transfer', true),
    ('narration', 'Online Trf', 'Online Transfer', true),
    ('narration', 'POS', 'POS Purchase', true),
    ('narration', 'Groceries', 'Grocery Shopping', true),
    ('narration', 'ATM', 'ATM Withdrawal', true),
    ('narration', 'ATM Cash Withdrawal', 'ATM Withdrawal', true),
    ('narration', 'Bills', 'Bill Payment', true),
    ('narration', 'Bill Pay', 'Bill Payment', true);
