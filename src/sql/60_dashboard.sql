-- 60_dashboard.sql: indicina.dashboard(), one self-contained HTML page of
-- a warehouse's credit-risk KPIs and of the data quality of its runs
-- (docs/dashboard.md).  The page template is src/ship/dashboard/, installed
-- next to this script and read at call time (dashboard_asset, in C); the
-- data is embedded as aggregated JSON, computed here from the mart views.

CREATE FUNCTION indicina.dashboard_asset(name text) RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_dashboard_asset' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION indicina.dashboard_asset(text) IS
    'one file of the installed dashboard template (indicina_dashboard.html, .css or .js), read now';

-- the 0-based position of value in the dimension dim of dims (NULL for a
-- NULL value or one not listed): how the page's cells name their members
CREATE FUNCTION indicina.dashboard_index(dims jsonb, dim text, value text) RETURNS int
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (a.i - 1)::int FROM jsonb_array_elements_text(dims -> dim) WITH ORDINALITY a(v, i) WHERE a.v = value
$$;

/*
 * One of the dashboard's queries over warehouse target and its mart views:
 * @T and @M in q stand for the two schemas, replaced in one pass (as
 * create_warehouse does), so neither name is searched for the other's mark.
 */
CREATE FUNCTION indicina.dashboard_sql(q text, target name, mart name) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT array_to_string(ARRAY(SELECT replace(p, '@M', quote_ident(mart))
                                   FROM unnest(string_to_array(q, '@T')) WITH ORDINALITY u(p, i) ORDER BY i),
                           quote_ident(target))
$$;

/*
 * Runs such a query ($1 is the dimensions, $2 and $3 extra arguments) and
 * returns its single jsonb value.  STABLE, as every dashboard function:
 * all the queries of one page then read the snapshot of the call.
 */
CREATE FUNCTION indicina.dashboard_query(q text, target name, mart name, dims jsonb DEFAULT NULL,
                                         arg2 text DEFAULT NULL, arg3 text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    result jsonb;
BEGIN
    EXECUTE indicina.dashboard_sql(q, target, mart) INTO result USING dims, arg2, arg3;
    RETURN result;
END;
$$;

/*
 * The members of each dimension the page filters and groups by, in the
 * order it shows them: employment statuses and application months as the
 * applications have them, the fixed bands of the mart views, the
 * narrations and statement months of the transactions.
 */
CREATE FUNCTION indicina.dashboard_dims(target name, mart name) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT indicina.dashboard_query($q$
SELECT jsonb_build_object(
  'status', (SELECT coalesce(jsonb_agg(s ORDER BY s), '[]') FROM (SELECT DISTINCT employment_status s
               FROM @M.application_bands WHERE employment_status IS NOT NULL) x),
  'month', (SELECT coalesce(jsonb_agg(m ORDER BY m), '[]') FROM (SELECT DISTINCT to_char(application_month, 'YYYY-MM') m
               FROM @M.application_bands WHERE application_month IS NOT NULL) x),
  'score_band', '["300-579 poor", "580-669 fair", "670-739 good", "740-799 very good", "800-850 exceptional"]'::jsonb,
  'lti_band', '["< 0.25", "0.25-0.5", "0.5-1", "1-2", ">= 2", "no income"]'::jsonb,
  'narration', (SELECT coalesce(jsonb_agg(narration ORDER BY narration), '[]') FROM @T.dim_transaction_category),
  'flow_month', (SELECT coalesce(jsonb_agg(m ORDER BY m), '[]') FROM (SELECT DISTINCT to_char(month, 'YYYY-MM') m
               FROM @T.agg_customer_month) x),
  'regularity_band', '["< 0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1", "every month"]'::jsonb,
  'volatility_band', '["< 100", "100-500", "500-1k", "1k-5k", "5k-10k", ">= 10k"]'::jsonb)
$q$, target, mart);
$$;

-- a packed profile cell (see dashboard_profile_cells) as [status, month, band]
CREATE FUNCTION indicina.dashboard_cell(cell bigint) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_array(nullif(cell / 1000000 - 1, -1), nullif(cell / 1000 % 1000 - 1, -1), nullif(cell % 1000 - 1, -1))
$$;

/*
 * The cells of the transactions (by narration) and of the customer-months
 * (by month), per profile cell of their customer.  Each customer's cell is
 * packed in a bigint, (status + 1) * 10^6 + (month + 1) * 10^3 + (band + 1)
 * with 0 for none, and found with key_lookup as the facts are scanned: a
 * function call per row instead of a join the planner would build its hash
 * table of five million facts for.
 */
CREATE FUNCTION indicina.dashboard_profile_cells(target name, mart name, dims jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    PERFORM indicina.arm_key_lookup('indicina_dashboard_profile', indicina.dashboard_sql(format($q$
SELECT p.customer_id::text, coalesce(s.i, 0) * 1000000 + coalesce(m.i, 0) * 1000 + coalesce(b.i, 0)
  FROM @M.customer_profile p
  LEFT JOIN jsonb_array_elements_text(%1$L::jsonb -> 'status') WITH ORDINALITY s(v, i) ON s.v = p.employment_status
  LEFT JOIN jsonb_array_elements_text(%1$L::jsonb -> 'month') WITH ORDINALITY m(v, i)
         ON m.v = to_char(p.application_month, 'YYYY-MM')
  LEFT JOIN jsonb_array_elements_text(%1$L::jsonb -> 'score_band') WITH ORDINALITY b(v, i) ON b.v = p.credit_score_band
$q$, dims), target, mart));
    RETURN jsonb_build_object(
    'narration', indicina.dashboard_query($q$
SELECT coalesce(jsonb_agg(indicina.dashboard_cell(x.cell) || jsonb_build_array(indicina.dashboard_index($1, 'narration', c.narration), n,
                                                 (s * 100)::bigint)), '[]')
  FROM (SELECT coalesce(indicina.key_lookup('indicina_dashboard_profile', t.customer_id), 0) AS cell, t.category_key,
               count(*) AS n, sum(t.amount) AS s
          FROM @T.fact_bank_transaction t GROUP BY 1, 2) x
  JOIN @T.dim_transaction_category c USING (category_key)
$q$, target, mart, dims),
    'flows', indicina.dashboard_query($q$
SELECT coalesce(jsonb_agg(indicina.dashboard_cell(x.cell) || jsonb_build_array(indicina.dashboard_index($1, 'flow_month', to_char(x.month, 'YYYY-MM')),
                                                 (inflow * 100)::bigint, (outflow * 100)::bigint, (net * 100)::bigint,
                                                 transactions, customers)), '[]')
  FROM (SELECT coalesce(indicina.key_lookup('indicina_dashboard_profile', a.customer_id), 0) AS cell, a.month,
               sum(a.inflow) AS inflow, sum(a.outflow) AS outflow, sum(a.net) AS net, sum(a.txn_count) AS transactions,
               count(*) AS customers
          FROM @T.agg_customer_month a GROUP BY 1, 2) x
$q$, target, mart, dims));
END;
$$;

/*
 * The credit-risk and risk panels' cells: sums and counts (amounts in
 * cents, loan-to-income in ten-thousandths, so the page's averages round
 * exactly as the mart views' round(avg(...))) per combination of the
 * filters' members.  Applications by their own status, month and
 * credit-score band (and loan-to-income band); customers, transactions,
 * months and features by the customer's profile (its latest application).
 */
CREATE FUNCTION indicina.dashboard_cells(target name, mart name, dims jsonb) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object(
    'loans', indicina.dashboard_query($q$
SELECT coalesce(jsonb_agg(r), '[]') FROM (
  SELECT jsonb_build_array(indicina.dashboard_index($1, 'status', employment_status),
         indicina.dashboard_index($1, 'month', to_char(application_month, 'YYYY-MM')),
         indicina.dashboard_index($1, 'score_band', credit_score_band),
         indicina.dashboard_index($1, 'lti_band', loan_to_income_band),
         count(*), count(annual_income), (sum(annual_income) * 100)::bigint, count(loan_amount),
         (sum(loan_amount) * 100)::bigint, count(credit_score), sum(credit_score), count(loan_to_income),
         (sum(loan_to_income) * 10000)::bigint) r
    FROM @M.application_bands
   GROUP BY employment_status, application_month, credit_score_band, loan_to_income_band) s
$q$, target, mart, dims),
    'customers', indicina.dashboard_query($q$
SELECT coalesce(jsonb_agg(r), '[]') FROM (
  SELECT jsonb_build_array(indicina.dashboard_index($1, 'status', employment_status),
         indicina.dashboard_index($1, 'month', to_char(application_month, 'YYYY-MM')),
         indicina.dashboard_index($1, 'score_band', credit_score_band),
         (application_id IS NOT NULL)::int,
         indicina.dashboard_index($1, 'regularity_band', income_regularity_band),
         indicina.dashboard_index($1, 'volatility_band', balance_volatility_band),
         count(*), count(*) FILTER (WHERE months_observed > 0)) r
    FROM @M.customer_profile
   GROUP BY employment_status, application_month, credit_score_band, application_id IS NOT NULL,
            income_regularity_band, balance_volatility_band) s
$q$, target, mart, dims)) || indicina.dashboard_profile_cells(target, mart, dims);
$$;

/*
 * The riskiest customers of each profile cell (the first n of each, in
 * mart.riskiest_customers' order), so that the page's table is exact for
 * any filter: the first n of a union of cells are among their first n.
 * With mask, ids are replaced by a pseudonym drawn for this page only.
 */
CREATE FUNCTION indicina.dashboard_riskiest(target name, mart name, dims jsonb, n int, mask boolean) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT indicina.dashboard_query($q$
SELECT coalesce(jsonb_agg(r ORDER BY risk_rank), '[]') FROM (
  SELECT risk_rank, jsonb_build_array(indicina.dashboard_index($1, 'status', employment_status),
         indicina.dashboard_index($1, 'month', to_char(application_month, 'YYYY-MM')),
         indicina.dashboard_index($1, 'score_band', credit_score_band), risk_rank,
         CASE WHEN $3 IS NOT NULL THEN '#' || left(encode(sha256(convert_to($3 || customer_id, 'UTF8')), 'hex'), 10)
              ELSE customer_id END,
         application_date, credit_score, annual_income, loan_amount, loan_to_income,
         months_observed, income_regularity, balance_volatility, avg_monthly_inflow, avg_monthly_outflow) r
    FROM (SELECT *, row_number() OVER (PARTITION BY employment_status, application_month, credit_score_band
                                       ORDER BY risk_rank) AS k
            FROM @M.riskiest_customers) x
   WHERE k <= $2::int) s
$q$, target, mart, dims, n::text, CASE WHEN mask THEN gen_random_uuid()::text END);
$$;

/*
 * The data-quality panel: the target's pipeline runs (the last n), its
 * file ledger, the reject log's records of the relations those runs read
 * (rejects by code, rule failures by rule, rejected or warned: as far as
 * the log still holds them), each rule's results over the last runs, the
 * transactions waiting on the unknown customer, the last unload.
 */
CREATE FUNCTION indicina.dashboard_quality(target name, mart name, n int) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rels oid[];
    run_ids bigint[];
    result jsonb;
BEGIN
    SELECT array_agg(DISTINCT to_regclass(x)::oid) FILTER (WHERE to_regclass(x) IS NOT NULL) INTO rels
      FROM indicina.pipeline_runs r, unnest(ARRAY[r.loans, r.transactions]) x WHERE r.target = dashboard_quality.target;
    SELECT array_agg(r.run_id) INTO run_ids
      FROM indicina.pipeline_runs r WHERE r.target = dashboard_quality.target;
    WITH runs AS (
        SELECT * FROM indicina.pipeline_runs r WHERE r.target = dashboard_quality.target ORDER BY r.run_id DESC LIMIT n),
    log AS (
        SELECT e.relation, e.code, count(*) AS rows FROM indicina.read_load_errors() e
         WHERE e.relation_id = ANY (rels) GROUP BY e.relation, e.code),
    results AS (
        SELECT q.*, row_number() OVER (PARTITION BY q.relation, q.rule ORDER BY q.run_id DESC) AS age
          FROM indicina.quality_results q WHERE q.run_id = ANY (run_ids))
    SELECT jsonb_build_object(
        'runs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                     'run_id', run_id, 'status', status, 'started_at', started_at,
                     'seconds', round(extract(epoch FROM duration), 3), 'files', files, 'rows_read', rows_read,
                     'rows_loaded', rows_loaded, 'rows_rejected', rows_rejected, 'rows_warned', rows_warned,
                     'message', message) ORDER BY run_id), '[]') FROM runs),
        'rejects', (SELECT coalesce(jsonb_agg(jsonb_build_array(relation, code, rows) ORDER BY relation, code), '[]')
                      FROM log WHERE code NOT LIKE 'WARN:%'),
        'rules', (SELECT coalesce(jsonb_agg(jsonb_build_array(relation, substr(code, 6),
                                                              CASE WHEN code LIKE 'WARN:%' THEN 'warn' ELSE 'reject' END, rows)
                                            ORDER BY relation, code), '[]')
                    FROM log WHERE code LIKE 'RULE:%' OR code LIKE 'WARN:%'),
        'rule_trend', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'relation', relation, 'rule', rule, 'severity', severity, 'runs', runs)
                           ORDER BY relation, rule), '[]')
                         FROM (SELECT relation, rule, (array_agg(severity ORDER BY run_id DESC))[1] AS severity,
                                      jsonb_agg(jsonb_build_array(run_id, rows_checked, rows_failed, outcome)
                                                ORDER BY run_id) AS runs
                                 FROM results WHERE age <= 10 GROUP BY relation, rule) t),
        'reject_log_held', (SELECT coalesce(sum(rows), 0) FROM log))
      INTO result;
    RETURN result || indicina.dashboard_query($q$
SELECT jsonb_build_object(
  'files', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'source', source, 'path', path, 'status', status, 'duplicate_of', duplicate_of,
                'rows_read', rows_read, 'rows_loaded', rows_loaded, 'rows_rejected', rows_rejected,
                'rows_warned', rows_warned, 'run_id', run_id, 'loaded_at', loaded_at) ORDER BY source, path), '[]')
              FROM @T.file_ledger),
  'unknown_member', (SELECT jsonb_build_object('transactions', count(*), 'customers', count(DISTINCT customer_id))
                       FROM @T.fact_bank_transaction WHERE customer_key = 0))
$q$, target, mart) || jsonb_build_object('last_unload', indicina.dashboard_last_unload(target));
END;
$$;

/*
 * The latest unload of target in indicina.unloads, as a JSON object of its
 * columns; NULL when that ledger does not exist (an older install) or
 * holds none.  Read by name, so whatever columns the ledger has show.
 */
CREATE FUNCTION indicina.dashboard_last_unload(target name) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object('unload_id', u.unload_id, 'state', u.state, 'mode', u.mode, 'server', u.server,
                              'started_at', u.started_at, 'finished_at', u.finished_at,
                              'tables', jsonb_array_length(coalesce(u.tables, '[]')), 'message', u.message)
      FROM indicina.unloads u
     WHERE u.target = dashboard_last_unload.target
     ORDER BY coalesce(u.finished_at, u.started_at) DESC NULLS LAST, u.unload_id DESC
     LIMIT 1
$$;

/*
 * The page's data: what it was drawn from (warehouse, mart, the last
 * succeeded run, the snapshot time), the dimensions, the cells of the
 * credit-risk and risk panels, the riskiest customers, the data quality.
 */
CREATE FUNCTION indicina.dashboard_data(target name, mart name, title text, mask boolean, riskiest int, runs int)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    dims jsonb := indicina.dashboard_dims(target, mart);
BEGIN
    RETURN jsonb_build_object(
        'format', 1,
        'meta', jsonb_build_object(
            'title', title, 'warehouse', target, 'mart', mart, 'snapshot', now(),
            'run_id', (SELECT max(r.run_id) FROM indicina.pipeline_runs r
                        WHERE r.target = dashboard_data.target AND r.status = 'succeeded'),
            'extension', (SELECT extversion FROM pg_extension WHERE extname = 'indicina'),
            'database', current_database(), 'masked', mask, 'riskiest', riskiest),
        'dims', dims,
        'cells', indicina.dashboard_cells(target, mart, dims),
        'riskiest', indicina.dashboard_riskiest(target, mart, dims, riskiest, mask),
        'quality', indicina.dashboard_quality(target, mart, runs));
END;
$$;

-- text with the five characters HTML gives a meaning escaped
CREATE FUNCTION indicina.html_escape(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT replace(replace(replace(replace(replace(s, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'),
                   '''', '&#39;')
$$;

/*
 * The page: the installed template with its stylesheet and script inlined,
 * the title and the data in their places.  Each mark is replaced where the
 * template has it, last first, so nothing put in is searched again.  JSON
 * goes in a script element of type application/json with <, > and & as
 * \u escapes: no value can end the element.
 */
CREATE FUNCTION indicina.dashboard_render(title text, data jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    page text := indicina.dashboard_asset('indicina_dashboard.html');
    css text := indicina.dashboard_asset('indicina_dashboard.css');
    js text := indicina.dashboard_asset('indicina_dashboard.js');
    m record;
BEGIN
    IF css ~* '</style' OR js ~* '</script' THEN
        RAISE EXCEPTION 'the dashboard template''s stylesheet or script contains its own end tag'
            USING ERRCODE = 'data_corrupted', HINT = 'Write it as <\/style> or <\/script> in the template.';
    END IF;
    FOR m IN
        SELECT v.mark, v.value, position(v.mark IN page) AS at
          FROM (VALUES ('<link rel="stylesheet" href="indicina_dashboard.css">', '<style>' || css || '</style>'),
                       ('<script src="indicina_dashboard.js"></script>', '<script>' || js || '</script>'),
                       ('{{title}}', indicina.html_escape(title)),
                       ('{{data}}', replace(replace(replace(data::text, '&', '\u0026'), '<', '\u003c'), '>', '\u003e'))
               ) v(mark, value)
         ORDER BY 3 DESC
    LOOP
        IF m.at = 0 THEN
            RAISE EXCEPTION 'the dashboard template has no mark %', m.mark
                USING ERRCODE = 'data_corrupted', HINT = 'Reinstall the extension''s files (make install).';
        END IF;
        page := overlay(page PLACING m.value FROM m.at FOR length(m.mark));
    END LOOP;
    RETURN page;
END;
$$;

/*
 * indicina.dashboard(): one self-contained HTML document of warehouse
 * target (and its mart views in schema mart): the credit-risk KPIs, the
 * risk panel, the data quality of its runs, with filters, tooltips, CSV and
 * table views, drawn by the page's own script from aggregated JSON.  Reads
 * with the caller's rights (operator role or superuser).
 */
CREATE FUNCTION indicina.dashboard(target name DEFAULT 'dw', title text DEFAULT 'indicina: credit-risk warehouse',
                                   mart name DEFAULT 'mart', mask_customer_ids boolean DEFAULT false,
                                   riskiest int DEFAULT 10, runs int DEFAULT 30) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF target IS NULL OR title IS NULL OR mart IS NULL OR mask_customer_ids IS NULL OR riskiest IS NULL OR runs IS NULL THEN
        RAISE EXCEPTION 'dashboard arguments must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- the page carries the first riskiest customers of every profile cell:
    -- 25 keeps it under 2 MB at 100,000 customers x 12 months
    IF riskiest NOT BETWEEN 1 AND 25 THEN
        RAISE EXCEPTION 'riskiest must be between 1 and 25, not %', riskiest USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF runs NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'runs must be between 1 and 1000, not %', runs USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_regclass(format('%I.file_ledger', target)) IS NULL THEN
        RAISE EXCEPTION 'warehouse % does not exist', target
            USING ERRCODE = 'undefined_object', HINT = format('SELECT indicina.create_warehouse(%L);', target);
    END IF;
    IF to_regclass(format('%I.riskiest_customers', mart)) IS NULL OR to_regclass(format('%I.kpi_overview', mart)) IS NULL THEN
        RAISE EXCEPTION 'the mart views of warehouse % are missing from schema %', target, mart
            USING ERRCODE = 'undefined_object',
                  HINT = format('SELECT indicina.create_warehouse(%L, %L); adds them to an existing warehouse.', target, mart);
    END IF;
    RETURN indicina.dashboard_render(title,
        indicina.dashboard_data(target, mart, title, mask_customer_ids, riskiest, runs));
END;
$$;
COMMENT ON FUNCTION indicina.dashboard(name, text, name, boolean, int, int) IS
    'one self-contained HTML page of the warehouse''s credit-risk KPIs and the data quality of its runs (docs/dashboard.md)';
