-- 30_quality.sql: data-quality rules as rows, the run journal, results
-- with history, the dry run (check) and the validated load (load_checked).

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
    v_col     text;
    v_type    regtype;
    v_ncols   int := coalesce(cardinality(columns), 0);
BEGIN
    FOREACH v_col IN ARRAY coalesce(columns, '{}') LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                       WHERE attrelid = relation AND attname = v_col AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION 'rule "%": relation % has no column %', name, relation, quote_literal(v_col)
                USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
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
        IF v_min IS NULL AND v_max IS NULL OR v_min !~ '^\d+$' OR v_max !~ '^\d+$' THEN
            RAISE EXCEPTION 'a length rule needs "min", "max" or both, as whole numbers' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF v_min::int > v_max::int THEN
            RAISE EXCEPTION 'rule "%": min % is above max %', name, v_min, v_max USING ERRCODE = 'invalid_parameter_value';
        END IF;
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
DECLARE
    v_min     text := params->>'min';
    v_max     text := params->>'max';
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
        IF v_min IS NULL AND v_max IS NULL OR v_min !~ '^\d+$' OR v_max !~ '^\d+$' THEN
            RAISE EXCEPTION 'a row_count rule needs "min", "max" or both, as whole numbers' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF v_min::bigint > v_max::bigint THEN
            RAISE EXCEPTION 'rule "%": min % is above max %', name, v_min, v_max USING ERRCODE = 'invalid_parameter_value';
        END IF;
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

-- ---------------------------------------------------------------------
-- Reading back what scans counted, and writing records out of transaction
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.scan_file_stats(
    OUT scan_id bigint, OUT relation regclass, OUT file text,
    OUT rows_read bigint, OUT rows_rejected bigint, OUT rows_quarantined bigint, OUT rows_warned bigint)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'indicina_scan_file_stats' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION indicina.scan_rule_stats(
    OUT scan_id bigint, OUT relation regclass, OUT rule text, OUT kind text, OUT severity text,
    OUT rows_checked bigint, OUT rows_failed bigint, OUT samples jsonb, OUT phase text)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'indicina_scan_rule_stats' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION indicina.reset_scan_stats() RETURNS void
    AS 'MODULE_PATHNAME', 'indicina_reset_scan_stats' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION indicina.scan_file_stats() IS
    'per file, what the indicina_csv scans of this session read, rejected (rows_quarantined of them by reject rules) and flagged, since reset_scan_stats()';
COMMENT ON FUNCTION indicina.scan_rule_stats() IS
    'per rule judged in a scan (row rules, and set rules stage() armed), what the indicina_csv scans of this session checked and failed (since reset_scan_stats)';
CREATE FUNCTION indicina.arm_set_rules(relation regclass, sources jsonb DEFAULT '{}') RETURNS text[]
    AS 'MODULE_PATHNAME', 'indicina_arm_set_rules' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION indicina.arm_set_rules(regclass, jsonb) IS
    'prepares the set rules of relation to be judged inside its next scan in this transaction (all or none); returns their names';

CREATE FUNCTION indicina.log_reject(scan_id bigint, relation text, file text, line bigint, column_name text,
                                    code text, message text, raw_value text, raw_line text) RETURNS void
    AS 'MODULE_PATHNAME', 'indicina_log_reject' LANGUAGE C VOLATILE;
CREATE FUNCTION indicina.journal_write(kind text, entry jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'indicina_journal_write' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION indicina.journal_read(kind text) RETURNS SETOF jsonb
    AS 'MODULE_PATHNAME', 'indicina_journal_read' LANGUAGE C STRICT VOLATILE;

CREATE SEQUENCE indicina.run_id_seq;
-- the journal outlives the extension: a re-created extension goes on from its last run
SELECT setval('indicina.run_id_seq', max((j->>'run_id')::bigint))
  FROM indicina.journal_read('run') j HAVING max((j->>'run_id')::bigint) > 0;

-- ---------------------------------------------------------------------
-- Evaluating rules over a batch
-- ---------------------------------------------------------------------

-- the column of a foreign table that carries source 'file' (or 'line')
CREATE FUNCTION indicina.lineage_column(relation regclass, source text) RETURNS name
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.attname FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = relation AND a.attnum > 0 AND NOT a.attisdropped
       AND ('source=' || source) = ANY (a.attfdwoptions)
     ORDER BY a.attnum LIMIT 1
$$;

-- a SQL predicate that is true when a row fails a row rule (for plain tables)
CREATE FUNCTION indicina.row_rule_failing_sql(r indicina.quality_rules) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c text := quote_ident(r.columns[1]);
    t text;
BEGIN
    IF r.kind <> 'expression' THEN
        SELECT format_type(atttypid, atttypmod) INTO t FROM pg_catalog.pg_attribute
         WHERE attrelid = r.relation AND attname = r.columns[1];
    END IF;
    RETURN CASE r.kind
        WHEN 'not_null' THEN format('%s IS NULL', c)
        WHEN 'accepted_values' THEN
            CASE WHEN r.params ? 'values'
                 THEN format('NOT (%s::text = ANY (%L::text[]))', c,
                             ARRAY(SELECT jsonb_array_elements_text(r.params->'values')))
                 ELSE format('indicina.try_normalize_label(%s::text, %L) IS NULL', c, r.params->>'domain') END
        WHEN 'range' THEN concat_ws(' OR ',
            CASE WHEN r.params ? 'min' THEN format('%s %s %L::%s', c,
                CASE WHEN coalesce((r.params->>'min_inclusive')::bool, true) THEN '<' ELSE '<=' END, r.params->>'min', t) END,
            CASE WHEN r.params ? 'max' THEN format('%s %s %L::%s', c,
                CASE WHEN coalesce((r.params->>'max_inclusive')::bool, true) THEN '>' ELSE '>=' END, r.params->>'max', t) END)
        WHEN 'regex' THEN format('NOT (%s::text ~ %L)', c, r.params->>'pattern')
        WHEN 'length' THEN concat_ws(' OR ',
            CASE WHEN r.params ? 'min' THEN format('char_length(%s::text) < %s', c, (r.params->>'min')::int) END,
            CASE WHEN r.params ? 'max' THEN format('char_length(%s::text) > %s', c, (r.params->>'max')::int) END)
        WHEN 'not_future' THEN format('%s >= current_date + %s + 1', c, coalesce((r.params->>'tolerance_days')::int, 0))
        WHEN 'expression' THEN format('NOT coalesce((%s), true)', coalesce(r.checked_sql, r.params->>'sql'))
    END;
END;
$$;

/*
 * set_rule_failures of a unique rule: every row of the batch whose key an
 * earlier row (files in byte order, then line) already has, and with
 * "against", every row whose key is already in that relation.
 */
CREATE FUNCTION indicina.set_rule_unique_failures(r indicina.quality_rules, batch regclass, file_col name,
                                                  line_col name)
RETURNS TABLE (row_ctid tid, file text, line bigint, value text, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- files in byte order, as the scan reads them
    ord text := concat_ws(', ', quote_ident(file_col) || ' COLLATE "C"', quote_ident(line_col), 'ctid');
    bf text := CASE WHEN file_col IS NULL THEN 'NULL::text' ELSE 'b.' || quote_ident(file_col) END;
    bl text := CASE WHEN line_col IS NULL THEN 'NULL::bigint' ELSE 'b.' || quote_ident(line_col) END;
    keys text := (SELECT string_agg(quote_ident(c), ', ') FROM unnest(r.columns) c);
BEGIN
    -- hash the keys first; only keys seen twice are sorted to find the first
    RETURN QUERY EXECUTE format(
        'WITH dup AS (SELECT %4$s FROM %6$s WHERE (%4$s) IS NOT NULL GROUP BY %4$s HAVING count(*) > 1)
         SELECT ctid, f, l, k, %1$L FROM (
             SELECT b.ctid, %2$s AS f, %3$s AS l, concat_ws('', '', %7$s) AS k,
                    row_number() OVER (PARTITION BY %7$s ORDER BY %8$s) AS rn
               FROM %6$s b JOIN dup USING (%4$s)) s
          WHERE rn > 1',
        'duplicate of an earlier row of this batch', bf, bl, keys, ord, batch,
        (SELECT string_agg('b.' || quote_ident(c), ', ') FROM unnest(r.columns) c),
        concat_ws(', ', 'b.' || quote_ident(file_col) || ' COLLATE "C"', 'b.' || quote_ident(line_col), 'b.ctid'));
    IF r.params ? 'against' THEN
        RETURN QUERY EXECUTE format(
            'SELECT b.ctid, %1$s, %2$s, concat_ws(%4$L, %3$s), %5$L FROM %6$s b
              WHERE EXISTS (SELECT 1 FROM %7$s t WHERE (%8$s) = (%9$s))',
            bf, bl, (SELECT string_agg('b.' || quote_ident(c), ', ') FROM unnest(r.columns) c), ', ',
            'already in ' || (r.params->>'against'), batch, (r.params->>'against')::regclass,
            (SELECT string_agg('t.' || quote_ident(c), ', ') FROM unnest(r.columns) c),
            (SELECT string_agg('b.' || quote_ident(c), ', ') FROM unnest(r.columns) c));
    END IF;
END;
$$;

/*
 * set_rule_failures of a duplicate_rows rule: every row of the batch that
 * repeats an earlier row in every column but the lineage columns.
 */
CREATE FUNCTION indicina.set_rule_duplicate_failures(batch regclass, file_col name, line_col name)
RETURNS TABLE (row_ctid tid, file text, line bigint, value text, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- files in byte order, as the scan reads them
    ord text := concat_ws(', ', quote_ident(file_col) || ' COLLATE "C"', quote_ident(line_col), 'ctid');
    bf text := CASE WHEN file_col IS NULL THEN 'NULL::text' ELSE 'b.' || quote_ident(file_col) END;
    bl text := CASE WHEN line_col IS NULL THEN 'NULL::bigint' ELSE 'b.' || quote_ident(line_col) END;
    data_cols text;
    data_list text[];
BEGIN
    -- the columns as a list of names, never a quoted string split again
    data_list := ARRAY(SELECT quote_ident(attname) FROM pg_catalog.pg_attribute
                        WHERE attrelid = batch AND attnum > 0 AND NOT attisdropped
                          AND attname IS DISTINCT FROM file_col AND attname IS DISTINCT FROM line_col
                          AND attname <> 'source_offset' ORDER BY attnum);
    data_cols := array_to_string(data_list, ', ');
    -- hash whole rows first; only rows seen twice are sorted
    RETURN QUERY EXECUTE format(
        'WITH dup AS (SELECT %4$s FROM %6$s GROUP BY %4$s HAVING count(*) > 1)
         SELECT ctid, f, l, NULL::text, %1$L FROM (
             SELECT b.ctid, %2$s AS f, %3$s AS l,
                    row_number() OVER (PARTITION BY %7$s ORDER BY %8$s) AS rn
               FROM %6$s b JOIN dup ON (ROW(%7$s))::text = (ROW(%9$s))::text) s
          WHERE rn > 1',
        'exact copy of an earlier row of this batch', bf, bl, data_cols, ord, batch,
        (SELECT string_agg('b.' || c, ', ') FROM unnest(data_list) c),
        concat_ws(', ', 'b.' || quote_ident(file_col) || ' COLLATE "C"', 'b.' || quote_ident(line_col), 'b.ctid'),
        (SELECT string_agg('dup.' || c, ', ') FROM unnest(data_list) c));
END;
$$;

/*
 * The rows of a batch that fail a set rule: their ctid, file, line, the
 * offending value and why.  Batches are temporary tables holding the
 * relation's columns; file and line name its lineage columns (or NULL).
 * sources maps a relation (regclass as text) to what a references rule
 * should read instead (the pipeline points raw loans at the known
 * customers).
 */
CREATE FUNCTION indicina.set_rule_failures(r indicina.quality_rules, batch regclass, file_col name, line_col name,
                                           sources jsonb DEFAULT '{}')
RETURNS TABLE (row_ctid tid, file text, line bigint, value text, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f text := coalesce(quote_ident(file_col), 'NULL::text');
    l text := coalesce(quote_ident(line_col), 'NULL::bigint');
    -- files in byte order, as the scan reads them
    ord text := concat_ws(', ', quote_ident(file_col) || ' COLLATE "C"', quote_ident(line_col), 'ctid');
    bf text := CASE WHEN file_col IS NULL THEN 'NULL::text' ELSE 'b.' || quote_ident(file_col) END;
    bl text := CASE WHEN line_col IS NULL THEN 'NULL::bigint' ELSE 'b.' || quote_ident(line_col) END;
    ref text;
    refcol text;
    n bigint;
    newest text;
BEGIN
    CASE r.kind
    WHEN 'unique' THEN
        RETURN QUERY SELECT * FROM indicina.set_rule_unique_failures(r, batch, file_col, line_col);
    WHEN 'duplicate_rows' THEN
        RETURN QUERY SELECT * FROM indicina.set_rule_duplicate_failures(batch, file_col, line_col);
    WHEN 'references' THEN
        ref := coalesce(r.params->>'relation', '');
        -- a relation name (regclass), never SQL spliced in
        ref := coalesce((sources->>((ref)::regclass::oid::text))::regclass::text, (ref)::regclass::text);
        refcol := quote_ident(coalesce(r.params->>'column', r.columns[1]));
        -- a foreign table read here is a lookup: it records no rejects of its own
        PERFORM set_config('indicina.dry_run', 'on', true);
        RETURN QUERY EXECUTE format(
            'SELECT b.ctid, %1$s, %2$s, b.%3$s::text, %4$L FROM %5$s b
              WHERE b.%3$s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %6$s t WHERE t.%7$s = b.%3$s)',
            bf, bl, quote_ident(r.columns[1]),
            'no matching ' || refcol || ' in ' || (r.params->>'relation'), batch, ref, refcol);
        PERFORM set_config('indicina.dry_run', 'off', true);
    WHEN 'balance_continuity' THEN
        RETURN QUERY EXECUTE format(
            'SELECT ctid, f, l, c::text, format(%1$L, prev, amt, bal, bal - (prev + amt)) FROM (
                 SELECT ctid, %2$s AS f, %3$s AS l, %4$I AS c, %6$I AS amt, %7$I AS bal,
                        lag(%7$I) OVER (PARTITION BY %4$I ORDER BY %5$I, %8$s) AS prev
                   FROM %9$s) s
              WHERE prev IS NOT NULL AND amt IS NOT NULL AND bal IS NOT NULL AND abs(bal - (prev + amt)) > %10$s',
            'previous balance %s + amount %s <> balance %s (gap %s)',
            f, l,
            coalesce(r.params->>'customer', 'customer_id'), coalesce(r.params->>'date', 'transaction_date'),
            coalesce(r.params->>'amount', 'transaction_amount'), coalesce(r.params->>'balance', 'balance'),
            ord, batch, coalesce((r.params->>'tolerance')::numeric, 0.005));
    WHEN 'row_count' THEN
        EXECUTE format('SELECT count(*) FROM %s', batch) INTO n;
        IF n < coalesce((r.params->>'min')::bigint, 0) OR n > coalesce((r.params->>'max')::bigint, n) THEN
            RETURN QUERY SELECT NULL::tid, NULL::text, NULL::bigint, n::text,
                format('the batch has %s rows, outside [%s, %s]', n, coalesce(r.params->>'min', '0'),
                       coalesce(r.params->>'max', 'any'));
        END IF;
    WHEN 'freshness' THEN
        EXECUTE format('SELECT max(%I)::text FROM %s', r.columns[1], batch) INTO newest;
        IF newest IS NULL OR newest::date < current_date - (r.params->>'max_age_days')::int THEN
            RETURN QUERY SELECT NULL::tid, NULL::text, NULL::bigint, newest,
                format('newest %s is %s, older than %s days', r.columns[1], coalesce(newest, 'missing'),
                       r.params->>'max_age_days');
        END IF;
    END CASE;
END;
$$;

-- ---------------------------------------------------------------------
-- Runs: started / finished / failed events in the journal
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.run_begin(kind text, args jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run bigint := nextval('indicina.run_id_seq');
BEGIN
    PERFORM indicina.journal_write('run', jsonb_build_object(
        'run_id', v_run, 'event', 'started', 'kind', kind, 'at', clock_timestamp(),
        'xid', pg_current_xact_id()::text, 'pid', pg_backend_pid(), 'user', session_user, 'args', args));
    RETURN v_run;
END;
$$;

CREATE FUNCTION indicina.run_end(run_id bigint, event text, details jsonb DEFAULT '{}') RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT indicina.journal_write('run', jsonb_build_object(
        'run_id', run_id, 'event', event, 'at', clock_timestamp()) || details)
$$;

CREATE VIEW indicina.runs AS
WITH ev AS (SELECT (j->>'run_id')::bigint AS run_id, j FROM indicina.journal_read('run') j),
started AS (SELECT run_id, j FROM ev WHERE j->>'event' = 'started'),
ended AS (SELECT DISTINCT ON (run_id) run_id, j FROM ev WHERE j->>'event' IN ('finished', 'failed')
          ORDER BY run_id)
SELECT s.run_id,
       s.j->>'kind' AS kind,
       CASE WHEN e.j->>'event' = 'failed' THEN 'failed'
            ELSE CASE pg_xact_status((s.j->>'xid')::xid8)
                 WHEN 'committed' THEN CASE WHEN e.j IS NULL THEN 'unknown' ELSE 'succeeded' END
                 WHEN 'in progress' THEN 'running'
                 WHEN 'aborted' THEN CASE WHEN e.j IS NULL THEN 'aborted' ELSE 'rolled back' END
                 ELSE CASE WHEN e.j IS NULL THEN 'unknown' ELSE 'succeeded' END END
       END AS status,
       (s.j->>'at')::timestamptz AS started_at,
       (e.j->>'at')::timestamptz AS finished_at,
       (e.j->>'at')::timestamptz - (s.j->>'at')::timestamptz AS duration,
       e.j->>'message' AS message,
       e.j->>'sqlstate' AS sqlstate,
       s.j->'args' AS args,
       e.j - '{run_id,event,at,message,sqlstate}'::text[] AS details,
       (s.j->>'pid')::int AS pid,
       s.j->>'user' AS run_by
  FROM started s LEFT JOIN ended e USING (run_id);
COMMENT ON VIEW indicina.runs IS
    'every run (validated loads and pipeline runs) from the journal: failed runs keep their message; '
    'a run whose transaction aborted without one (a killed backend) shows as aborted';

-- ---------------------------------------------------------------------
-- Staging a relation: scan (row rules) + set rules over the batch
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.rule_outcome(severity text, failed bigint, checked bigint, threshold numeric, pct boolean)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN failed = 0 THEN 'pass'
                WHEN severity = 'reject' THEN 'quarantined'
                WHEN severity = 'warn' THEN 'flagged'
                WHEN (pct AND 100.0 * failed / greatest(checked, 1) > threshold) OR (NOT pct AND failed > threshold)
                     THEN 'failed'
                ELSE 'tolerated' END
$$;

-- journals what the scans of this session counted per row rule, then forgets it
CREATE FUNCTION indicina.journal_row_rule_results(run_id bigint) RETURNS SETOF jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    res jsonb;
BEGIN
    FOR res IN
        SELECT jsonb_build_object('run_id', run_id, 'at', clock_timestamp(), 'relation', s.relation::text,
                   'rule', s.rule, 'kind', s.kind, 'severity', s.severity, 'phase', s.phase,
                   'rows_checked', sum(s.rows_checked), 'rows_failed', sum(s.rows_failed),
                   'outcome', indicina.rule_outcome(s.severity, sum(s.rows_failed)::bigint, sum(s.rows_checked)::bigint,
                                                    q.fail_threshold, q.fail_threshold_percent),
                   'samples', (SELECT coalesce(jsonb_agg(x), '[]') FROM (
                                   SELECT x FROM indicina.scan_rule_stats() t, jsonb_array_elements(t.samples) x
                                    WHERE t.relation = s.relation AND t.rule = s.rule LIMIT 5) y))
          FROM indicina.scan_rule_stats() s
          LEFT JOIN indicina.quality_rules q ON q.relation = s.relation AND q.name = s.rule
         GROUP BY s.relation, s.rule, s.kind, s.severity, s.phase, q.fail_threshold, q.fail_threshold_percent
         -- row rules by name, then set rules in the order stage() applies them
         ORDER BY s.relation::text, s.phase,
                  array_position('{duplicate_rows,unique,references,balance_continuity}'::text[], s.kind), s.rule
    LOOP
        IF run_id IS NOT NULL THEN
            PERFORM indicina.journal_write('quality', res);
        END IF;
        RETURN NEXT res;
    END LOOP;
END;
$$;

-- sql with its last @SOURCE@ replaced by source
CREATE FUNCTION indicina.splice_source(sql text, source text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN p = 0 THEN sql
                ELSE left(sql, length(sql) - p - 7) || source || right(sql, p - 1) END
      FROM (SELECT position(reverse('@SOURCE@') IN reverse(sql)) AS p) x
$$;

/*
 * Reads relation (only the given files, when the relation has a file
 * column) into temporary table batch, with its row rules applied by the
 * scan, then applies its set rules to the batch: rows a reject rule
 * fails are recorded in the reject log and deleted from the batch, rows a
 * warn rule fails are flagged, a fail rule past its threshold raises.
 * Each rule's result is returned and, for a run (run_id not NULL and not a
 * dry run), journaled first.
 *
 * load_sql, when given, is a statement that reads "@SOURCE@ b" (an INSERT
 * into the warehouse): it runs over what the rules let through.  Only its
 * last @SOURCE@ is the placeholder, so identifiers quoted before it may
 * hold that text.  When the
 * scan of an indicina_csv table judges every rule of the relation, that is
 * the scan itself and no batch is made; otherwise it reads the batch.  A
 * dry run never runs it.
 */
CREATE FUNCTION indicina.stage(run_id bigint, relation regclass, batch name, dry_run boolean DEFAULT false,
                               files text[] DEFAULT NULL, sources jsonb DEFAULT '{}', load_sql text DEFAULT NULL)
RETURNS SETOF jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- an indicina_csv table judges its rules in the scan; any other relation (file_fdw too) in SQL
    v_foreign  boolean := EXISTS (SELECT 1 FROM pg_foreign_table t
                                    JOIN pg_foreign_server s ON s.oid = t.ftserver
                                    JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                                   WHERE t.ftrelid = relation AND w.fdwname = 'indicina_csv');
    v_file     name := indicina.lineage_column(relation, 'file');
    v_line     name := indicina.lineage_column(relation, 'line');
    v_was_dry  text := coalesce(current_setting('indicina.dry_run', true), 'off');
    v_batch    regclass;
    v_journal  boolean := run_id IS NOT NULL AND NOT dry_run;
    r          indicina.quality_rules;
    res        jsonb;
    v_checked  bigint;
    v_failed   bigint;
    v_outcome  text;
    v_code     text;
    v_samples  jsonb;
    v_pred     text;
    v_in_scan  text[] := '{}';
    v_source   text;
    v_direct   boolean;
BEGIN
    -- set rules the scan can judge as the rows stream past (all or none);
    -- a references rule's relation is read now, as a lookup with no rejects
    IF v_foreign THEN
        PERFORM set_config('indicina.dry_run', 'on', true);
        v_in_scan := indicina.arm_set_rules(relation, sources);
    END IF;
    -- a load whose every rule the scan judges reads the files straight into
    -- its target: no batch is written and read back
    v_direct := load_sql IS NOT NULL AND v_foreign AND NOT dry_run AND NOT EXISTS (
        SELECT 1 FROM indicina.quality_rules q
         WHERE q.relation = stage.relation AND q.enabled AND NOT indicina.is_row_rule(q.kind)
           AND q.name <> ALL (v_in_scan));
    PERFORM indicina.reset_scan_stats();
    IF to_regclass(format('pg_temp.%I', batch)) IS NOT NULL THEN
        EXECUTE format('DROP TABLE pg_temp.%I', batch);
    END IF;
    v_source := format('(SELECT * FROM %s %s)', relation,
                       CASE WHEN files IS NOT NULL AND v_file IS NOT NULL
                            THEN format('WHERE %I = ANY (%L::text[])', v_file, files) ELSE '' END);
    PERFORM set_config('indicina.dry_run', CASE WHEN dry_run THEN 'on' ELSE 'off' END, true);
    IF v_direct THEN
        EXECUTE indicina.splice_source(load_sql, v_source);
    ELSE
        EXECUTE format('CREATE TEMP TABLE %I AS SELECT * FROM %s b', batch, v_source);
    END IF;
    PERFORM set_config('indicina.dry_run', v_was_dry, true);

    -- row rules (and armed set rules): counted by the scan of a foreign table, evaluated here for a table
    IF v_foreign THEN
        RETURN QUERY SELECT * FROM indicina.journal_row_rule_results(CASE WHEN v_journal THEN run_id END);
        IF v_direct THEN
            RETURN;
        END IF;
    END IF;
    v_batch := format('pg_temp.%I', batch)::regclass;
    IF NOT v_foreign THEN
        FOR r IN SELECT * FROM indicina.quality_rules q
                  WHERE q.relation = stage.relation AND q.enabled AND indicina.is_row_rule(q.kind)
                  ORDER BY q.name LOOP
            v_pred := indicina.row_rule_failing_sql(r);
            EXECUTE format('SELECT count(*) FROM %s', v_batch) INTO v_checked;
            EXECUTE format('CREATE TEMP TABLE indicina_fails ON COMMIT DROP AS
                                SELECT ctid AS row_ctid, NULL::text AS file, NULL::bigint AS line,
                                       %s::text AS value, %L AS detail FROM %s WHERE %s',
                           coalesce(quote_ident(r.columns[1]), 'NULL'), 'fails ' || r.kind || ' rule ' || r.name,
                           v_batch, v_pred);
            res := indicina.apply_failures(r, run_id, relation, v_batch, v_checked, dry_run, v_journal, 'row');
            RETURN NEXT res;
        END LOOP;
    END IF;

    -- set rules, in an order where each sees the batch the earlier ones left
    EXECUTE format('SELECT count(*) FROM %s', v_batch) INTO v_checked;
    FOR r IN SELECT * FROM indicina.quality_rules q
              WHERE q.relation = stage.relation AND q.enabled AND NOT indicina.is_row_rule(q.kind)
                AND q.name <> ALL (v_in_scan)
              ORDER BY array_position('{duplicate_rows,unique,references,balance_continuity,row_count,freshness}'::text[],
                                      q.kind), q.name LOOP
        CREATE TEMP TABLE indicina_fails ON COMMIT DROP AS
            SELECT * FROM indicina.set_rule_failures(r, v_batch, v_file, v_line, sources);
        res := indicina.apply_failures(r, run_id, relation, v_batch, v_checked, dry_run, v_journal, 'set');
        IF r.severity = 'reject' THEN
            v_checked := v_checked - (res->>'rows_failed')::bigint;   -- what the next rule sees
        END IF;
        RETURN NEXT res;
    END LOOP;
    -- what the rules left, into the load's target (a dry run loads nothing)
    IF load_sql IS NOT NULL AND NOT dry_run THEN
        EXECUTE indicina.splice_source(load_sql, v_batch::text);
    END IF;
END;
$$;

/*
 * Acts on the failures of one rule (in temp table indicina_fails): records
 * them, deletes rejected rows from the batch, journals the result, raises
 * for a fail rule past its threshold.  Returns the result.
 */
CREATE FUNCTION indicina.apply_failures(r indicina.quality_rules, run_id bigint, relation regclass, batch regclass,
                                        checked bigint, dry_run boolean, journal boolean, phase text)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_failed  bigint;
    v_outcome text;
    v_samples jsonb;
    v_code    text := CASE WHEN r.severity = 'reject' THEN 'RULE:' ELSE 'WARN:' END || r.name;
    res       jsonb;
BEGIN
    SELECT count(*), coalesce(jsonb_agg(jsonb_build_object('file', file, 'line', line, 'value', value, 'detail', detail))
                              FILTER (WHERE n <= 5), '[]')
      INTO v_failed, v_samples
      FROM (SELECT f.*, row_number() OVER (ORDER BY file COLLATE "C", line) AS n FROM indicina_fails f) s;
    v_outcome := indicina.rule_outcome(r.severity, v_failed, checked, r.fail_threshold, r.fail_threshold_percent);
    IF v_failed > 0 AND NOT dry_run THEN
        EXECUTE format('SELECT count(indicina.log_reject(NULL, %L, f.file, f.line, %L, %L, f.detail, f.value, b::text))
                          FROM indicina_fails f LEFT JOIN %s b ON b.ctid = f.row_ctid',
                       relation::oid, r.columns[1], v_code, batch);
    END IF;
    IF v_failed > 0 AND r.severity = 'reject' THEN
        EXECUTE format('DELETE FROM %s WHERE ctid IN (SELECT row_ctid FROM indicina_fails)', batch);
    ELSIF v_failed > 0 AND phase = 'set' THEN
        -- rows a set rule flagged, for the per-file count of flagged rows
        IF to_regclass('pg_temp.indicina_set_flags') IS NULL THEN
            CREATE TEMP TABLE indicina_set_flags (relation regclass, file text, line bigint) ON COMMIT DROP;
        END IF;
        INSERT INTO indicina_set_flags SELECT relation, f.file, f.line FROM indicina_fails f WHERE f.line IS NOT NULL;
    END IF;
    DROP TABLE indicina_fails;
    res := jsonb_build_object('run_id', run_id, 'at', clock_timestamp(), 'relation', relation::text, 'rule', r.name,
                              'kind', r.kind, 'severity', r.severity, 'phase', phase, 'rows_checked', checked,
                              'rows_failed', v_failed, 'outcome', v_outcome, 'samples', v_samples);
    IF journal THEN
        PERFORM indicina.journal_write('quality', res);
    END IF;
    IF v_outcome = 'failed' AND NOT dry_run AND r.kind IN ('row_count', 'freshness') THEN
        RAISE EXCEPTION 'quality rule "%" failed on %: %', r.name, relation, v_samples->0->>'detail'
            USING ERRCODE = 'check_violation',
                  HINT = 'Rules of severity fail stop the run; fix the data or change the rule.';
    ELSIF v_outcome = 'failed' AND NOT dry_run THEN
        RAISE EXCEPTION 'quality rule "%" failed on % of % rows of %, above its threshold %',
                        r.name, v_failed, checked, relation,
                        r.fail_threshold::text || CASE WHEN r.fail_threshold_percent THEN '%' ELSE '' END
            USING ERRCODE = 'check_violation',
                  -- the rows' values stay out of the server log unless asked for
                  DETAIL = 'Failing rows: ' || CASE WHEN current_setting('indicina.log_raw_rows', true) = 'on'
                      THEN v_samples
                      ELSE (SELECT coalesce(jsonb_agg(s - '{value,detail}'::text[]), '[]') FROM jsonb_array_elements(v_samples) s)
                      END::text,
                  HINT = 'Rules of severity fail stop the run; fix the data or change the rule''s threshold.';
    END IF;
    RETURN res;
END;
$$;

-- ---------------------------------------------------------------------
-- The dry run, the validated load, re-checking quarantined rows
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.check(relation regclass)
RETURNS TABLE (rule text, kind text, severity text, rows_checked bigint, rows_failed bigint, outcome text, samples jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_read bigint;
    v_parse bigint;
    res jsonb;
    v_results jsonb[] := '{}';
BEGIN
    FOR res IN SELECT * FROM indicina.stage(NULL, relation, 'indicina_check_batch', true) LOOP
        v_results := v_results || res;
    END LOOP;
    DROP TABLE pg_temp.indicina_check_batch;
    -- a foreign table: first, what the parser would turn away
    SELECT sum(s.rows_read), sum(s.rows_rejected - s.rows_quarantined) INTO v_read, v_parse
      FROM indicina.scan_file_stats() s WHERE s.relation = $1;
    IF v_read IS NOT NULL THEN
        RETURN QUERY SELECT '(parse)'::text, 'parse'::text, 'reject'::text, v_read, v_parse,
                            CASE WHEN v_parse = 0 THEN 'pass' ELSE 'quarantined' END, '[]'::jsonb;
    END IF;
    RETURN QUERY SELECT x->>'rule', x->>'kind', x->>'severity', (x->>'rows_checked')::bigint,
                        (x->>'rows_failed')::bigint, x->>'outcome', x->'samples'
                   FROM unnest(v_results) x;
END;
$$;
COMMENT ON FUNCTION indicina.check(regclass) IS
    'dry run: every rule of relation over its current data, what would fail; loads and records nothing';

/*
 * A validated load outside the warehouse: reads relation with all its
 * rules and appends the rows that pass to target (columns matched by
 * name), as one run with its results in the history.
 */
CREATE FUNCTION indicina.load_checked(relation regclass, target regclass)
RETURNS TABLE (run_id bigint, rows_read bigint, rows_loaded bigint, rows_rejected bigint, rows_flagged bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run bigint;
    v_cols text;
    v_read bigint;
    v_loaded bigint;
    v_flagged bigint;
    v_msg text;
    v_state text;
    v_rel regclass := relation;
BEGIN
    v_run := indicina.run_begin('load', jsonb_build_object('relation', relation::text, 'target', target::text));
    BEGIN
        PERFORM count(*) FROM indicina.stage(v_run, relation, 'indicina_load_batch');
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_cols
          FROM pg_attribute a
         WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
           AND EXISTS (SELECT 1 FROM pg_attribute b WHERE b.attrelid = 'pg_temp.indicina_load_batch'::regclass
                          AND b.attname = a.attname AND NOT b.attisdropped);
        EXECUTE format('INSERT INTO %s (%s) SELECT %2$s FROM pg_temp.indicina_load_batch', target, v_cols);
        GET DIAGNOSTICS v_loaded = ROW_COUNT;
        DROP TABLE pg_temp.indicina_load_batch;
        SELECT sum(s.rows_read), sum(s.rows_warned) INTO v_read, v_flagged
          FROM indicina.scan_file_stats() s WHERE s.relation = v_rel;
        IF v_read IS NULL THEN      -- a table: every row was read
            EXECUTE format('SELECT count(*) FROM %s', relation) INTO v_read;
        END IF;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
        PERFORM indicina.journal_failed_run(v_run, v_rel, v_msg, v_state);
        RAISE;
    END;
    PERFORM indicina.run_end(v_run, 'finished', jsonb_build_object(
        'rows_read', v_read, 'rows_loaded', v_loaded, 'rows_rejected', v_read - v_loaded));
    RETURN QUERY SELECT v_run, v_read, v_loaded, v_read - v_loaded, coalesce(v_flagged, 0);
END;
$$;
COMMENT ON FUNCTION indicina.load_checked(regclass, regclass) IS
    'validated load: the rows of relation that pass its rules, appended to target, as a run with quality results';

-- a failed run: the row-rule counts its scan left, then the failure itself
CREATE FUNCTION indicina.journal_failed_run(run_id bigint, relation regclass, message text, sqlstate text,
                                            details jsonb DEFAULT '{}')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM indicina.journal_read('quality') j
                    WHERE (j->>'run_id')::bigint = run_id AND j->>'phase' = 'row'
                      AND j->>'relation' = relation::text) THEN
        PERFORM count(*) FROM indicina.journal_row_rule_results(run_id);
    END IF;
    PERFORM indicina.run_end(run_id, 'failed', details || jsonb_build_object('message', message, 'sqlstate', sqlstate));
END;
$$;

-- ---------------------------------------------------------------------
-- Results with history
-- ---------------------------------------------------------------------

CREATE VIEW indicina.quality_results AS
SELECT (j->>'run_id')::bigint AS run_id,
       (j->>'at')::timestamptz AS checked_at,
       j->>'relation' AS relation,
       j->>'rule' AS rule,
       j->>'kind' AS kind,
       j->>'severity' AS severity,
       (j->>'rows_checked')::bigint AS rows_checked,
       (j->>'rows_failed')::bigint AS rows_failed,
       j->>'outcome' AS outcome,
       j->'samples' AS samples,
       r.status AS run_status
  FROM indicina.journal_read('quality') j
  LEFT JOIN indicina.runs r ON r.run_id = (j->>'run_id')::bigint;
COMMENT ON VIEW indicina.quality_results IS
    'every rule''s result in every run: rows checked and failed, outcome, sample failing rows; never overwritten';

CREATE VIEW indicina.quality_summary AS
WITH ranked AS (
    SELECT q.*, row_number() OVER (PARTITION BY relation, rule ORDER BY run_id DESC) AS age
      FROM indicina.quality_results q)
SELECT relation, rule,
       max(kind) AS kind,
       max(severity) FILTER (WHERE age = 1) AS severity,
       max(run_id) AS last_run_id,
       max(checked_at) AS last_checked_at,
       max(rows_checked) FILTER (WHERE age = 1) AS rows_checked,
       max(rows_failed) FILTER (WHERE age = 1) AS rows_failed,
       max(outcome) FILTER (WHERE age = 1) AS outcome,
       round(100.0 * max(rows_failed) FILTER (WHERE age = 1) / nullif(max(rows_checked) FILTER (WHERE age = 1), 0), 3)
           AS failed_pct,
       array_agg(rows_failed ORDER BY run_id) FILTER (WHERE age <= 5) AS failed_last_runs,
       CASE WHEN count(*) FILTER (WHERE age <= 2) < 2 THEN 'new'
            WHEN max(rows_failed) FILTER (WHERE age = 1) > max(rows_failed) FILTER (WHERE age = 2) THEN 'worse'
            WHEN max(rows_failed) FILTER (WHERE age = 1) < max(rows_failed) FILTER (WHERE age = 2) THEN 'better'
            ELSE 'same' END AS trend
  FROM ranked
 GROUP BY relation, rule;
COMMENT ON VIEW indicina.quality_summary IS
    'the latest result per relation and rule, with failures over its last five runs and the trend since the previous one';

/*
 * Quarantined rows that would load now: after a rule or a label mapping is
 * fixed, re-reads the files that hold rows the latest loads of relation
 * quarantined (dry run, all rules) and says, per row, whether it passes.
 */
CREATE FUNCTION indicina.recheck_quarantined(relation regclass)
RETURNS TABLE (file text, line bigint, code text, message text, loads_now boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_file name := indicina.lineage_column(relation, 'file');
    v_line name := indicina.lineage_column(relation, 'line');
    v_files text[];
BEGIN
    IF v_file IS NULL OR v_line IS NULL THEN
        RAISE EXCEPTION '% has no lineage columns', relation
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Re-checking needs columns with OPTIONS (source ''file'') and (source ''line'').';
    END IF;
    CREATE TEMP TABLE indicina_quarantined ON COMMIT DROP AS
        SELECT DISTINCT ON (e.file, e.line) e.file, e.line, e.code, e.message
          FROM indicina.load_errors e
         WHERE e.relation_id = recheck_quarantined.relation AND e.code NOT LIKE 'WARN:%'
           AND e.scan_id = (SELECT max(e2.scan_id) FROM indicina.load_errors e2
                             WHERE e2.relation_id = recheck_quarantined.relation AND e2.file = e.file AND e2.scan_id IS NOT NULL)
         ORDER BY e.file, e.line;
    SELECT array_agg(DISTINCT q.file) INTO v_files FROM indicina_quarantined q;
    IF v_files IS NULL THEN
        DROP TABLE indicina_quarantined;
        RETURN;
    END IF;
    PERFORM count(*) FROM indicina.stage(NULL, relation, 'indicina_recheck_batch', true, v_files);
    RETURN QUERY EXECUTE format(
        'SELECT q.file, q.line, q.code, q.message,
                EXISTS (SELECT 1 FROM pg_temp.indicina_recheck_batch b WHERE b.%I = q.file AND b.%I = q.line)
           FROM indicina_quarantined q ORDER BY q.file, q.line', v_file, v_line);
    DROP TABLE pg_temp.indicina_recheck_batch;
    DROP TABLE indicina_quarantined;
END;
$$;
COMMENT ON FUNCTION indicina.recheck_quarantined(regclass) IS
    'quarantined rows of the latest loads of relation, and whether each would load under today''s rules and mappings';

-- ---------------------------------------------------------------------
-- The default rules of the two sources
-- ---------------------------------------------------------------------

/*
 * Attaches the shipped domain rules to a loan-application and a
 * bank-statement relation (columns named as in the data dictionary).  A
 * rule that already exists under the same name is left as it is, so a
 * default the user disabled or changed stays that way.  Returns the rules
 * added.  run_pipeline calls it for the relations it is given.
 */
CREATE FUNCTION indicina.attach_default_rules(loans regclass, transactions regclass)
RETURNS SETOF text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d record;
BEGIN
    FOR d IN
        SELECT * FROM (VALUES
            (loans, 'credit_score_range', 'range', '{credit_score}'::text[], '{"min": 300, "max": 850}'::jsonb, 'reject',
             'credit scores lie between 300 and 850'),
            (loans, 'loan_amount_positive', 'range', '{loan_amount}', '{"min": 0, "min_inclusive": false}', 'reject',
             'a loan is for a positive amount'),
            (loans, 'annual_income_non_negative', 'range', '{annual_income}', '{"min": 0}', 'reject',
             'income is never negative'),
            (loans, 'application_date_not_future', 'not_future', '{loan_application_date}', '{}', 'reject',
             'no application is dated after today'),
            (loans, 'employment_status_known', 'accepted_values', '{employment_status}',
             '{"domain": "employment_status"}', 'reject', 'employment status is a label of its domain'),
            (loans, 'application_id_unique', 'unique', '{application_id}', '{}', 'reject',
             'one row per application'),
            (transactions, 'transaction_date_not_future', 'not_future', '{transaction_date}', '{}', 'reject',
             'no transaction is dated after today'),
            (transactions, 'transaction_duplicate_rows', 'duplicate_rows', '{}', '{}', 'reject',
             'an exact copy of a row is delivered once'),
            (transactions, 'transaction_id_unique', 'unique', '{transaction_id}', '{}', 'reject',
             'one row per transaction id'),
            (transactions, 'transaction_customer_known', 'references', '{customer_id}',
             jsonb_build_object('relation', loans::text, 'column', 'customer_id'), 'warn',
             'every transaction''s customer has an application (late ones are loaded and attached later)'),
            (transactions, 'balance_continuity', 'balance_continuity', '{}', '{}', 'warn',
             'per customer, previous balance + amount = balance')
        ) v(relation, name, kind, columns, params, severity, description)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM indicina.quality_rules q WHERE q.relation = d.relation AND q.name = d.name) THEN
            -- a nightly role runs with the rules in place; declaring them is the owner's
            IF NOT (has_table_privilege('indicina.quality_rules', 'INSERT')
                    AND has_table_privilege('indicina.quality_rules', 'UPDATE')) THEN
                RAISE EXCEPTION 'the default rules of % are not attached, and this role may not attach them', d.relation
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = format('As a superuser, run SELECT indicina.attach_default_rules(%L, %L) once.',
                                        loans::text, transactions::text);
            END IF;
            PERFORM indicina.add_rule(d.name, d.relation, d.kind, d.columns, d.params, d.severity,
                                      description => d.description);
            UPDATE indicina.quality_rules q SET shipped = true WHERE q.relation = d.relation AND q.name = d.name;
            RETURN NEXT d.name;
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION indicina.attach_default_rules(regclass, regclass) IS
    'attaches the shipped rules for loan applications and bank statements; existing rules of the same name are kept';
