-- 51_redshift.sql: the Redshift side of an unload (docs/unload.md): the
-- type mapping, CREATE TABLE from the catalog (redshift_ddl), and the SQL
-- that loads a delivery exactly once (redshift_load_sql).

/*
 * A column's Redshift type: text types VARCHAR(n), n the longest value in
 * bytes rounded up to a power of two (at least 16, at most 65535);
 * numeric(p,s) DECIMAL(p,s); integers, floats, boolean, date, timestamps
 * by name.
 */
CREATE FUNCTION indicina.redshift_type(type regtype, typmod int, width int) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN type IN ('text'::regtype, 'character varying'::regtype, 'character'::regtype) THEN
            format('VARCHAR(%s)', least(65535, greatest(16, (2 ^ ceil(log(2, greatest(coalesce(width, 1), 1)::numeric)))::int)))
        WHEN type = 'numeric'::regtype AND typmod >= 4 THEN
            format('DECIMAL(%s,%s)', ((typmod - 4) >> 16) & 65535, (typmod - 4) & 65535)
        WHEN type = 'smallint'::regtype THEN 'SMALLINT'
        WHEN type = 'integer'::regtype THEN 'INTEGER'
        WHEN type = 'bigint'::regtype THEN 'BIGINT'
        WHEN type = 'real'::regtype THEN 'REAL'
        WHEN type = 'double precision'::regtype THEN 'DOUBLE PRECISION'
        WHEN type = 'boolean'::regtype THEN 'BOOLEAN'
        WHEN type = 'date'::regtype THEN 'DATE'
        WHEN type = 'timestamp without time zone'::regtype THEN 'TIMESTAMP'
        WHEN type = 'timestamp with time zone'::regtype THEN 'TIMESTAMPTZ'
    END
$$;

-- the column compression Redshift is told: AZ64 for numbers, dates and timestamps, ZSTD for the rest
CREATE FUNCTION indicina.redshift_encoding(redshift_type text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN redshift_type ~ '^(SMALLINT|INTEGER|BIGINT|DECIMAL|DATE|TIMESTAMP)' THEN 'AZ64' ELSE 'ZSTD' END
$$;

/*
 * CREATE TABLE IF NOT EXISTS for one table of a delivery's JSON (its
 * columns with their Redshift types): NOT NULL, primary and foreign keys
 * as the staging model declares them, DISTSTYLE, DISTKEY and SORTKEY from
 * unload_catalog.
 */
CREATE FUNCTION indicina.redshift_table_ddl(target name, t jsonb) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format(E'CREATE TABLE IF NOT EXISTS %I.%I (\n%s\n)\nDISTSTYLE %s%s%s;\n', target, t->>'name',
        (SELECT string_agg(x, E',\n' ORDER BY o) FROM (
            SELECT format('    %I %s%s ENCODE %s', c->>'name', c->>'redshift_type',
                          CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                          indicina.redshift_encoding(c->>'redshift_type')), i
              FROM jsonb_array_elements(t->'columns') WITH ORDINALITY e(c, i)
              JOIN pg_attribute a ON a.attrelid = format('%I.%I', target, t->>'name')::regclass
                                 AND a.attname = c->>'name'
            UNION ALL
            -- search_path is pg_catalog: the referenced table comes schema-qualified
            SELECT '    ' || pg_get_constraintdef(k.oid), 1000 + row_number() OVER (ORDER BY k.contype DESC, k.conname)
              FROM pg_constraint k
             WHERE k.conrelid = format('%I.%I', target, t->>'name')::regclass AND k.contype IN ('p', 'f')
        ) l(x, o)),
        k.diststyle, CASE WHEN k.distkey IS NOT NULL THEN format(' DISTKEY (%I)', k.distkey) ELSE '' END,
        CASE WHEN k.sortkey IS NOT NULL THEN format(E'\nSORTKEY (%I)', k.sortkey) ELSE '' END)
      FROM indicina.unload_catalog() k WHERE k.table_name = t->>'name'
$$;

/*
 * The unknown members (key 0) of a dimension, as an INSERT that adds them
 * when missing: the rows the facts point at before their dimension row
 * arrives.  Values as the parts write them (sentinels for infinite dates).
 */
CREATE FUNCTION indicina.redshift_unknown_member(target name, t jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_key text := (SELECT k.merge_key[1] FROM indicina.unload_catalog() k WHERE k.table_name = t->>'name');
    v_row jsonb;
BEGIN
    EXECUTE format('SELECT to_jsonb(d) FROM %I.%I d WHERE %I = 0', target, t->>'name', v_key) INTO v_row;
    IF v_row IS NULL THEN
        RETURN '';
    END IF;
    RETURN format(E'INSERT INTO %1$I.%2$I (%3$s)\nSELECT %4$s\nWHERE NOT EXISTS (SELECT 1 FROM %1$I.%2$I WHERE %5$I = 0);\n',
        target, t->>'name',
        (SELECT string_agg(quote_ident(c->>'name'), ', ' ORDER BY i) FROM jsonb_array_elements(t->'columns') WITH ORDINALITY e(c, i)),
        (SELECT string_agg(CASE WHEN v IS NULL THEN 'NULL' ELSE quote_literal(CASE v WHEN '-infinity' THEN '0001-01-01'
                                                                             WHEN 'infinity' THEN '9999-12-31' ELSE v END) END
                           || '::' || (c->>'redshift_type'), ', ' ORDER BY i)
           FROM jsonb_array_elements(t->'columns') WITH ORDINALITY e(c, i), LATERAL (SELECT v_row->>(c->>'name') AS v) x),
        v_key);
END;
$$;

-- the DDL of the tables of a delivery's JSON (their columns with Redshift types)
CREATE FUNCTION indicina.redshift_ddl_for(target name, tables jsonb) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format(E'-- Redshift DDL of warehouse %s, written by indicina %s (docs/unload.md)\nCREATE SCHEMA IF NOT EXISTS %I;\n\n',
                  target, indicina.version(), target)
        || string_agg(indicina.redshift_table_ddl(target, t), E'\n' ORDER BY i)
        || E'\n' || string_agg(CASE WHEN t->>'name' IN ('dim_customer', 'dim_transaction_category')
                                    THEN indicina.redshift_unknown_member(target, t) ELSE '' END, '' ORDER BY i)
      FROM jsonb_array_elements(tables) WITH ORDINALITY e(t, i)
$$;

/*
 * The Redshift DDL of warehouse target, from its catalog: every table an
 * unload ships, VARCHAR widths from the longest values the complete
 * unloads recorded (or, for a column none recorded, its values now).
 */
CREATE FUNCTION indicina.redshift_ddl(target name DEFAULT 'dw') RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_tables jsonb := '[]';
    p record;
    v_cols jsonb;
BEGIN
    FOR p IN SELECT * FROM indicina.unload_plan(target, NULL) LOOP
        EXECUTE format('SELECT jsonb_agg(jsonb_build_object(''name'', u.name, ''redshift_type'', indicina.redshift_type(
                            u.type, u.typmod, CASE WHEN u.type IN (''text''::regtype, ''varchar''::regtype, ''bpchar''::regtype)
                            THEN coalesce(indicina.unload_known_width(%L, %L, u.name),
                                          (SELECT max(octet_length(x.v)) FROM (SELECT (to_jsonb(d)->>u.name) AS v FROM %I.%I d) x)) END))
                            ORDER BY u.i)
                          FROM indicina.unload_columns(%1$L, %2$L) WITH ORDINALITY u(name, type, typmod, i)',
                       target, p.table_name, target, p.table_name) INTO v_cols;
        v_tables := v_tables || jsonb_build_array(jsonb_build_object('name', p.table_name, 'columns', v_cols));
    END LOOP;
    RETURN indicina.redshift_ddl_for(target, v_tables);
END;
$$;
COMMENT ON FUNCTION indicina.redshift_ddl(name) IS
    'CREATE TABLE IF NOT EXISTS ... DISTSTYLE/DISTKEY/SORTKEY/ENCODE for Redshift, from the warehouse''s catalog';

/*
 * The COPY of one table of a delivery, from its manifest: the dialect of
 * the parts (csv_format.c) in Redshift's terms, MAXERROR 0 so that one bad
 * row fails the load.
 */
CREATE FUNCTION indicina.redshift_copy(target name, relation text, t jsonb, compression text, iam_role text)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format(E'COPY %s (%s)\nFROM %L\nIAM_ROLE %L\nMANIFEST FORMAT AS CSV QUOTE AS %L DELIMITER AS %L%s\n'
                  -- \N as Redshift's documentation writes its default null string
                  'NULL AS ''\\N'' ENCODING UTF8 DATEFORMAT AS %L TIMEFORMAT AS %L\nMAXERROR AS 0 COMPUPDATE OFF;\n',
                  relation,
                  (SELECT string_agg(quote_ident(c.name), ', ') FROM indicina.unload_columns(target, t->>'name') c),
                  t->>'manifest', iam_role, '"', ',',
                  CASE compression WHEN 'gzip' THEN ' GZIP' WHEN 'zstd' THEN ' ZSTD' ELSE '' END,
                  'YYYY-MM-DD', 'auto')
$$;

/*
 * The ALTERs a delivery needs first: a text column whose Redshift width
 * (rounded up) grew past what the earlier complete unloads to the same
 * server gave it.  Outside the transaction: Redshift runs ALTER COLUMN
 * only outside a transaction block.
 */
CREATE FUNCTION indicina.redshift_widen(u indicina.unload_history) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(string_agg(format(E'ALTER TABLE %I.%I ALTER COLUMN %I TYPE %s;\n', u.target, t->>'name', w.key,
                                      indicina.redshift_type('text', -1, w.value::int)), ''), '')
      FROM jsonb_array_elements(u.tables) t, jsonb_each_text(t->'widths') w,
           LATERAL (SELECT max((h.t->'widths'->>w.key)::int) AS before
                      FROM (SELECT jsonb_array_elements(h.tables) AS t FROM indicina.unload_history h
                             WHERE h.target = u.target AND h.server = u.server AND h.unload_id < u.unload_id) h
                     WHERE h.t->>'name' = t->>'name') b
     WHERE b.before IS NOT NULL AND w.value::int > b.before
       AND indicina.redshift_type('text', -1, w.value::int) <> indicina.redshift_type('text', -1, b.before)
$$;

/*
 * The rows a delivery deletes from a table (its JSON's deletes: objects
 * of column and value, every row equal to one of them), as one DELETE, or
 * '' for none.
 */
CREATE FUNCTION indicina.redshift_deletes(relation text, t jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((
        SELECT format(E'DELETE FROM %s\nWHERE %s;\n', relation,
                      string_agg((SELECT '(' || string_agg(format('%I = %L', m.key, m.value), ' AND ' ORDER BY m.key) || ')'
                                    FROM jsonb_each_text(d) m), E'\n   OR ' ORDER BY i))
          FROM jsonb_array_elements(coalesce(t->'deletes', '[]')) WITH ORDINALITY e(d, i)
        HAVING count(*) > 0), '')
$$;

/*
 * The load of one table of an incremental delivery u: a table loaded by
 * 'replace' is emptied and copied; one loaded by 'merge' is copied into a
 * temporary staging table LIKE it, the rows the delivery deletes are
 * deleted, and the staging rows merged on the table's key (unload_catalog:
 * facts by lineage, dimensions by surrogate key, agg_customer_month by
 * customer and month, customer_risk_features by customer).  A table with
 * no part (deletions only) is not copied.
 */
CREATE FUNCTION indicina.redshift_table_load(u indicina.unload_history, t jsonb, iam_role text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN t->>'load' = 'replace' THEN
            format(E'DELETE FROM %s;\n', rel)
            || CASE WHEN has_parts THEN indicina.redshift_copy(u.target, rel, t, u.compression, iam_role) ELSE '' END
        WHEN NOT has_parts THEN indicina.redshift_deletes(rel, t)
        ELSE format(E'CREATE TEMP TABLE %I (LIKE %s);\n', stage, rel)
             || indicina.redshift_copy(u.target, quote_ident(stage), t, u.compression, iam_role)
             || indicina.redshift_deletes(rel, t)
             || format(E'MERGE INTO %1$s USING %2$I s\nON %3$s\nWHEN MATCHED THEN UPDATE SET %4$s\n'
                       'WHEN NOT MATCHED THEN INSERT (%5$s)\nVALUES (%6$s);\nDROP TABLE %2$I;\n',
                       rel, stage,
                       (SELECT string_agg(format('%1$I.%2$I = s.%2$I', t->>'name', k), ' AND ' ORDER BY i)
                          FROM unnest(key) WITH ORDINALITY x(k, i)),
                       (SELECT string_agg(format('%1$I = s.%1$I', c.name), ', ')
                          FROM indicina.unload_columns(u.target, t->>'name') c WHERE NOT (c.name = ANY (key))),
                       (SELECT string_agg(quote_ident(c.name), ', ') FROM indicina.unload_columns(u.target, t->>'name') c),
                       (SELECT string_agg('s.' || quote_ident(c.name), ', ')
                          FROM indicina.unload_columns(u.target, t->>'name') c))
        END
      FROM (SELECT format('%I.%I', u.target, t->>'name') AS rel, 'indicina_stage_' || (t->>'name') AS stage,
                   (t->>'parts')::int > 0 AS has_parts,
                   (SELECT k.merge_key FROM indicina.unload_catalog() k WHERE k.table_name = t->>'name') AS key) x
$$;

/*
 * The load script of delivery u: applied in one transaction, after a
 * check (a procedure on the Redshift side) that refuses an unload already
 * applied, or out of order; the unload id recorded in
 * <target>.indicina_unloads.  A full delivery replaces every table it
 * ships (DELETE, not TRUNCATE: Redshift's TRUNCATE commits); an
 * incremental one loads each table by redshift_table_load.
 */
CREATE FUNCTION indicina.redshift_load_sql_for(u indicina.unload_history, iam_role text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format(E'-- Load of indicina unload %1$s (%2$s) of warehouse %3$s into Redshift (docs/unload.md).\n'
                  '-- Run with psql -v ON_ERROR_STOP=1; running it again is refused, and harmless.\n'
                  'CREATE SCHEMA IF NOT EXISTS %3$I;\n'
                  'CREATE TABLE IF NOT EXISTS %3$I.indicina_unloads (\n'
                  '    unload_id BIGINT NOT NULL, mode VARCHAR(16) NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT GETDATE());\n'
                  'CREATE OR REPLACE PROCEDURE %3$I.indicina_check_unload(p_id BIGINT, p_after BIGINT) AS $check$\n'
                  'DECLARE\n    v_last BIGINT;\nBEGIN\n'
                  '    SELECT INTO v_last MAX(unload_id) FROM %3$I.indicina_unloads;\n'
                  '    IF v_last IS NOT NULL AND v_last >= p_id THEN\n'
                  '        RAISE EXCEPTION ''indicina unload %% is already applied (the last applied is %%)'', p_id, v_last;\n'
                  '    END IF;\n'
                  '    IF p_after IS NOT NULL AND (v_last IS NULL OR v_last <> p_after) THEN\n'
                  '        RAISE EXCEPTION ''indicina unload %% follows unload %%, which is not the last applied'', p_id, p_after;\n'
                  '    END IF;\nEND;\n$check$ LANGUAGE plpgsql;\n%4$s'
                  'BEGIN;\nCALL %3$I.indicina_check_unload(%1$s, %5$s);\n%6$s'
                  'INSERT INTO %3$I.indicina_unloads (unload_id, mode) VALUES (%1$s, %2$L);\nEND;\n',
                  u.unload_id, u.mode, u.target, indicina.redshift_widen(u),
                  CASE WHEN u.mode = 'full' THEN 'NULL' ELSE coalesce(indicina.unload_follows(u)::text, 'NULL') END,
                  CASE WHEN u.mode = 'full' THEN
                      (SELECT string_agg(format(E'DELETE FROM %I.%I;\n', u.target, t->>'name'), '' ORDER BY i DESC)
                         FROM jsonb_array_elements(u.tables) WITH ORDINALITY e(t, i))
                      || (SELECT string_agg(indicina.redshift_copy(u.target, format('%I.%I', u.target, t->>'name'), t,
                                                                   u.compression, iam_role), '' ORDER BY i)
                            FROM jsonb_array_elements(u.tables) WITH ORDINALITY e(t, i))
                  ELSE (SELECT string_agg(indicina.redshift_table_load(u, t, iam_role), '' ORDER BY i)
                          FROM jsonb_array_elements(u.tables) WITH ORDINALITY e(t, i)) END)
$$;

CREATE FUNCTION indicina.redshift_load_sql(unload_id bigint, iam_role text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u indicina.unload_history;
BEGIN
    SELECT * INTO u FROM indicina.unload_history h WHERE h.unload_id = redshift_load_sql.unload_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unload % is not a complete unload', unload_id USING ERRCODE = 'undefined_object',
            HINT = 'See indicina.unloads: only unloads in state complete can be loaded.';
    END IF;
    PERFORM indicina.check_iam_role(coalesce(iam_role, ''));
    RETURN indicina.redshift_load_sql_for(u, iam_role);
END;
$$;
COMMENT ON FUNCTION indicina.redshift_load_sql(bigint, text) IS
    'the SQL that loads a complete unload into Redshift exactly once (COPY from the manifests, in one transaction)';

-- refuses what is not the ARN of an IAM role (it is written into the load SQL as a literal)
CREATE FUNCTION indicina.check_iam_role(iam_role text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF iam_role !~ '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$' THEN
        RAISE EXCEPTION 'invalid iam_role "%"', iam_role USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the ARN of the role Redshift assumes to read the delivery, such as arn:aws:iam::123456789012:role/load.';
    END IF;
END;
$$;
