-- 30_rules.sql: data-quality rules as rows: the catalog, add_rule and its
-- checks, enabling and dropping rules.

-- ---------------------------------------------------------------------
-- The catalog
-- ---------------------------------------------------------------------

CREATE TABLE indicina.quality_rules (
    rule_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    relation       regclass NOT NULL,
    kind           text NOT NULL CHECK (kind IN (
                       'not_null', 'accepted_values', 'range', 'regex', 'length', 'not_future', 'expression',
                       'unique', 'references', 'row_count', 'freshness', 'duplicate_rows', 'balance_continuity')),
    columns        text[] NOT NULL DEFAULT '{}',
    params         jsonb NOT NULL DEFAULT '{}',
    severity       text NOT NULL CHECK (severity IN ('reject', 'warn', 'fail')),
    fail_threshold numeric NOT NULL DEFAULT 0 CHECK (fail_threshold >= 0),
    fail_threshold_percent boolean NOT NULL DEFAULT false,
    enabled        boolean NOT NULL DEFAULT true,
    shipped        boolean NOT NULL DEFAULT false,
    description    text,
    -- an expression rule as add_rule checked it, every name outside
    -- pg_catalog schema-qualified: what scans evaluate, whatever their search_path
    checked_sql    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (relation, name)
);
COMMENT ON TABLE indicina.quality_rules IS
    'data-quality rules: row rules run inside indicina_csv scans, set rules once per run; add them with indicina.add_rule()';
-- rules are the user's (defaults too, once attached): pg_dump keeps them all
SELECT pg_catalog.pg_extension_config_dump('indicina.quality_rules', '');
SELECT pg_catalog.pg_extension_config_dump('indicina.quality_rules_rule_id_seq', '');

-- row kinds are judged one row at a time (in the scan); set kinds need the whole batch
CREATE FUNCTION indicina.is_row_rule(kind text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN kind IN ('not_null', 'accepted_values', 'range', 'regex', 'length', 'not_future', 'expression');

CREATE FUNCTION indicina.simple_regex_match(value text, pattern text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'indicina_simple_regex_match' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.simple_regex_match(text, text) IS
    'the fast matcher regex rules use for simple patterns; NULL where it defers to PostgreSQL''s engine (for tests)';

CREATE FUNCTION indicina.check_rule_expression(relation regclass, expression text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_check_rule_expression' LANGUAGE C STRICT;
COMMENT ON FUNCTION indicina.check_rule_expression(regclass, text) IS
    'raises unless expression is one boolean SQL expression over the columns of relation; returns it with every name outside pg_catalog schema-qualified';

-- ---------------------------------------------------------------------
-- Declaring rules: everything is checked here, not at 2 a.m.
-- ---------------------------------------------------------------------

/*
 * add_rule's checks of a rule's columns: each exists, and the kind guards
 * exactly one (or, unique, at least one; or names what it needs in params
 * and takes none).  Returns the type of the one column, or NULL.
 */
CREATE FUNCTION indicina.check_rule_columns(name text, relation regclass, kind text, columns text[]) RETURNS regtype
LANGUAGE plpgsql
-- no SET search_path, as add_rule
AS $$
DECLARE
    v_type    regtype;
    v_ncols   int := coalesce(cardinality(columns), 0);
BEGIN
    PERFORM indicina.check_columns_exist(name, relation, coalesce(columns, '{}'));
    IF kind IN ('not_null', 'accepted_values', 'range', 'regex', 'length', 'not_future', 'freshness', 'references')
       AND v_ncols <> 1 THEN
        RAISE EXCEPTION 'a % rule guards exactly one column; rule "%" names %', kind, name, v_ncols
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF kind = 'unique' AND v_ncols < 1 THEN
        RAISE EXCEPTION 'a unique rule needs at least one column' USING ERRCODE = 'invalid_parameter_value';
    ELSIF kind IN ('expression', 'row_count', 'duplicate_rows', 'balance_continuity') AND v_ncols > 0 THEN
        RAISE EXCEPTION 'a % rule takes no columns (it names what it needs in params)', kind
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_ncols = 1 THEN
        SELECT atttypid::regtype INTO v_type FROM pg_catalog.pg_attribute WHERE attrelid = relation AND attname = columns[1];
    END IF;
    RETURN v_type;
END;
$$;

-- add_rule's check that params holds only the parameters the kind knows
CREATE FUNCTION indicina.check_rule_param_names(kind text, params jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_key     text;
    v_allowed text[];
BEGIN
    v_allowed := CASE kind
        WHEN 'accepted_values' THEN '{values,domain}'
        WHEN 'range' THEN '{min,max,min_inclusive,max_inclusive}'
        WHEN 'regex' THEN '{pattern}'
        WHEN 'length' THEN '{min,max}'
        WHEN 'not_future' THEN '{tolerance_days}'
        WHEN 'expression' THEN '{sql}'
        WHEN 'unique' THEN '{against}'
        WHEN 'references' THEN '{relation,column}'
        WHEN 'row_count' THEN '{min,max}'
        WHEN 'freshness' THEN '{max_age_days}'
        WHEN 'balance_continuity' THEN '{customer,date,amount,balance,tolerance}'
        ELSE '{}' END;
    FOR v_key IN SELECT jsonb_object_keys(params) LOOP
        IF NOT v_key = ANY (v_allowed) THEN
            RAISE EXCEPTION 'a % rule has no parameter %', kind, quote_literal(v_key)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = CASE WHEN cardinality(v_allowed) = 0 THEN 'It takes none.'
                                  ELSE 'It takes: ' || array_to_string(v_allowed, ', ') || '.' END;
        END IF;
    END LOOP;
END;
$$;

/*
 * add_rule's check of the "min" and "max" of a length or row_count rule:
 * at least one of them, whole numbers of type bound_type (int or bigint),
 * min not above max.
 */
CREATE FUNCTION indicina.check_count_bounds(name text, kind text, params jsonb, bound_type regtype) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_min   text := params->>'min';
    v_max   text := params->>'max';
BEGIN
    IF v_min IS NULL AND v_max IS NULL OR v_min !~ '^\d+$' OR v_max !~ '^\d+$' THEN
        RAISE EXCEPTION 'a % rule needs "min", "max" or both, as whole numbers', kind
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (CASE bound_type WHEN 'bigint'::regtype THEN v_min::bigint > v_max::bigint ELSE v_min::int > v_max::int END) THEN
        RAISE EXCEPTION 'rule "%": min % is above max %', name, v_min, v_max USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

/*
 * add_rule's checks of the parameters of a row rule kind (and of
 * freshness, which shares not_future's): raises on a wrong definition.
 * Returns the checked expression of an expression rule, or NULL.
 */
CREATE FUNCTION indicina.check_row_rule_params(name text, relation regclass, kind text, columns text[], params jsonb,
                                               column_type regtype) RETURNS text
LANGUAGE plpgsql
-- no SET search_path, as add_rule
AS $$
DECLARE
    v_checked text;
    v_limit   numeric;
    v_min     text := params->>'min';
    v_max     text := params->>'max';
BEGIN
    CASE kind
    WHEN 'accepted_values' THEN
        IF (params ? 'values') = (params ? 'domain') THEN
            RAISE EXCEPTION 'an accepted_values rule takes either "values" (a list) or "domain" (a label domain)'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF params ? 'values' AND (jsonb_typeof(params->'values') <> 'array' OR jsonb_array_length(params->'values') = 0) THEN
            RAISE EXCEPTION '"values" must be a non-empty JSON array' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF params ? 'domain' AND NOT EXISTS (SELECT 1 FROM indicina.label_map WHERE domain = params->>'domain') THEN
            RAISE EXCEPTION 'label domain % does not exist', quote_literal(params->>'domain')
                USING ERRCODE = 'undefined_object', HINT = 'Label domains are the "domain" values of indicina.label_map.';
        END IF;
    WHEN 'range' THEN
        IF v_min IS NULL AND v_max IS NULL THEN
            RAISE EXCEPTION 'a range rule needs "min", "max" or both' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- the bounds must be values of the column's type, in order
        BEGIN
            EXECUTE format('SELECT CASE WHEN %1$L::%2$s %3$s %4$L::%2$s THEN 1 END',
                           v_min, column_type,
                           CASE WHEN coalesce((params->>'min_inclusive')::bool, true)
                                 AND coalesce((params->>'max_inclusive')::bool, true) THEN '>' ELSE '>=' END,
                           v_max)
                INTO v_limit;
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION 'range bounds of rule "%" are not values of type %: %', name, column_type, SQLERRM
                USING ERRCODE = 'invalid_parameter_value';
        END;
        IF v_limit = 1 THEN
            RAISE EXCEPTION 'rule "%": no value lies between min % and max %', name, v_min, v_max
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    WHEN 'regex' THEN
        IF params->>'pattern' IS NULL THEN
            RAISE EXCEPTION 'a regex rule needs "pattern"' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        BEGIN
            PERFORM '' ~ (params->>'pattern');
        EXCEPTION WHEN invalid_regular_expression THEN
            RAISE EXCEPTION 'rule "%": invalid regular expression %: %', name, quote_literal(params->>'pattern'), SQLERRM
                USING ERRCODE = 'invalid_regular_expression';
        END;
    WHEN 'length' THEN
        PERFORM indicina.check_count_bounds(name, kind, params, 'int');
    WHEN 'not_future', 'freshness' THEN
        IF column_type NOT IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) THEN
            RAISE EXCEPTION 'a % rule needs a date or timestamp column; % is %', kind, columns[1], column_type
                USING ERRCODE = 'datatype_mismatch';
        END IF;
        IF kind = 'freshness' AND coalesce(params->>'max_age_days', '') !~ '^\d+$' THEN
            RAISE EXCEPTION 'a freshness rule needs "max_age_days", a whole number' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF kind = 'not_future' AND params ? 'tolerance_days' AND params->>'tolerance_days' !~ '^\d+$' THEN
            RAISE EXCEPTION '"tolerance_days" must be a whole number' USING ERRCODE = 'invalid_parameter_value';
        END IF;
    WHEN 'expression' THEN
        IF params->>'sql' IS NULL THEN
            RAISE EXCEPTION 'an expression rule needs "sql"' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- a statement, not RETURN: an error's QUERY line names the call
        SELECT indicina.check_rule_expression(relation, params->>'sql') INTO v_checked;
        RETURN v_checked;
    ELSE
        NULL;
    END CASE;
    RETURN NULL;
END;
$$;

/*
 * add_rule's checks of the parameters of a set rule kind: raises on a
 * wrong definition.  Returns params with the relations they name
 * schema-qualified (as the caller's search_path resolves them now).
 */
CREATE FUNCTION indicina.check_set_rule_params(name text, relation regclass, kind text, columns text[], params jsonb)
RETURNS jsonb
LANGUAGE plpgsql
-- no SET search_path: relation names in params resolve as the caller sees them
AS $$
BEGIN
    CASE kind
    WHEN 'unique' THEN
        IF params ? 'against' THEN
            PERFORM indicina.check_columns_exist(name, (params->>'against')::regclass, columns);
            params := params || jsonb_build_object('against', indicina.qualified_name((params->>'against')::regclass));
        END IF;
    WHEN 'references' THEN
        IF params->>'relation' IS NULL THEN
            RAISE EXCEPTION 'a references rule needs "relation" (and "column" if it differs)'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM indicina.check_columns_exist(name, (params->>'relation')::regclass,
                                             ARRAY[coalesce(params->>'column', columns[1])]);
        params := params || jsonb_build_object('relation', indicina.qualified_name((params->>'relation')::regclass));
    WHEN 'row_count' THEN
        PERFORM indicina.check_count_bounds(name, kind, params, 'bigint');
    WHEN 'balance_continuity' THEN
        PERFORM indicina.check_columns_exist(name, relation, ARRAY[
            coalesce(params->>'customer', 'customer_id'), coalesce(params->>'date', 'transaction_date'),
            coalesce(params->>'amount', 'transaction_amount'), coalesce(params->>'balance', 'balance')]);
        IF params ? 'tolerance' AND (params->>'tolerance') !~ '^\d+(\.\d+)?$' THEN
            RAISE EXCEPTION '"tolerance" must be a non-negative number' USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSE
        NULL;
    END CASE;
    RETURN params;
END;
$$;

CREATE FUNCTION indicina.add_rule(
    name        text,
    relation    regclass,
    kind        text,
    columns     text[] DEFAULT '{}',
    params      jsonb DEFAULT '{}',
    severity    text DEFAULT 'reject',
    threshold   text DEFAULT '0',
    enabled     boolean DEFAULT true,
    description text DEFAULT NULL,
    replace     boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql
-- no SET search_path: relation names in params resolve as the caller sees them
AS $$
DECLARE
    column_type regtype;    -- of the one column a rule guards
    v_id      bigint;
    v_pct     boolean := false;
    v_limit   numeric;
    v_checked text;
BEGIN
    IF name IS NULL OR name !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid rule name %', coalesce(quote_literal(name), 'NULL')
            USING ERRCODE = 'invalid_name',
                  HINT = 'A rule name is a lower-case letter followed by up to 62 lower-case letters, digits or underscores.';
    END IF;
    IF relation IS NULL THEN
        RAISE EXCEPTION 'rule "%" needs a relation', name USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF kind IS NULL OR kind NOT IN ('not_null', 'accepted_values', 'range', 'regex', 'length', 'not_future',
            'expression', 'unique', 'references', 'row_count', 'freshness', 'duplicate_rows', 'balance_continuity') THEN
        RAISE EXCEPTION 'unknown rule kind %', coalesce(quote_literal(kind), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Row kinds: not_null, accepted_values, range, regex, length, not_future, expression. '
                      || 'Set kinds: unique, references, row_count, freshness, duplicate_rows, balance_continuity.';
    END IF;
    IF severity IS NULL OR severity NOT IN ('reject', 'warn', 'fail') THEN
        RAISE EXCEPTION 'unknown severity %', coalesce(quote_literal(severity), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Severities: reject, warn, fail.';
    END IF;
    IF severity = 'reject' AND kind IN ('row_count', 'freshness') THEN
        RAISE EXCEPTION 'a % rule judges the whole batch and cannot reject rows', kind
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use severity warn or fail.';
    END IF;
    IF params IS NULL OR jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION 'params of rule "%" must be a JSON object', name USING ERRCODE = 'invalid_parameter_value';
    END IF;

    column_type := indicina.check_rule_columns(name, relation, kind, columns);
    PERFORM indicina.check_rule_param_names(kind, params);

    v_checked := indicina.check_row_rule_params(name, relation, kind, columns, params, column_type);
    params := indicina.check_set_rule_params(name, relation, kind, columns, params);

    -- the fail threshold: a count ('10') or a percentage ('1.5%')
    IF threshold IS NULL OR threshold !~ '^\s*\d+(\.\d+)?\s*%?\s*$' THEN
        RAISE EXCEPTION 'invalid threshold %', coalesce(quote_literal(threshold), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A threshold is a row count (''10'') or a percentage of the rows checked (''1.5%'').';
    END IF;
    v_pct := threshold LIKE '%\%%';
    v_limit := btrim(replace(threshold, '%', ''))::numeric;
    IF v_pct AND v_limit > 100 THEN
        RAISE EXCEPTION 'threshold % is above 100%%', threshold USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF replace THEN
        DELETE FROM indicina.quality_rules r WHERE r.relation = add_rule.relation AND r.name = add_rule.name;
    ELSIF EXISTS (SELECT 1 FROM indicina.quality_rules r WHERE r.relation = add_rule.relation AND r.name = add_rule.name) THEN
        RAISE EXCEPTION 'rule "%" already exists for %', name, relation
            USING ERRCODE = 'duplicate_object', HINT = 'Pass replace => true to redefine it.';
    END IF;
    INSERT INTO indicina.quality_rules (name, relation, kind, columns, params, severity,
                                        fail_threshold, fail_threshold_percent, enabled, description, checked_sql)
    VALUES (name, relation, kind, coalesce(columns, '{}'), params, severity, v_limit, v_pct, enabled, description,
            v_checked)
    RETURNING rule_id INTO v_id;
    RETURN v_id;
END;
$$;
COMMENT ON FUNCTION indicina.add_rule(text, regclass, text, text[], jsonb, text, text, boolean, text, boolean) IS
    'declares a data-quality rule, refusing a wrong definition with a clear message';

-- schema.name, quoted as needed: the same relation whatever the search_path
CREATE FUNCTION indicina.qualified_name(relation regclass) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = relation
$$;

CREATE FUNCTION indicina.check_columns_exist(rule text, relation regclass, columns text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_col text;
BEGIN
    FOREACH v_col IN ARRAY columns LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                       WHERE attrelid = relation AND attname = v_col AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION 'rule "%": relation % has no column %', rule, relation, quote_literal(v_col)
                USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
END;
$$;

CREATE FUNCTION indicina.set_rule_enabled(relation regclass, name text, enabled boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE indicina.quality_rules r SET enabled = set_rule_enabled.enabled
     WHERE r.relation = set_rule_enabled.relation AND r.name = set_rule_enabled.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no rule "%" for %', name, relation USING ERRCODE = 'undefined_object';
    END IF;
END;
$$;

CREATE FUNCTION indicina.drop_rule(relation regclass, name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM indicina.quality_rules r WHERE r.relation = drop_rule.relation AND r.name = drop_rule.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no rule "%" for %', name, relation USING ERRCODE = 'undefined_object';
    END IF;
END;
$$;
