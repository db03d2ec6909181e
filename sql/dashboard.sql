-- dashboard: indicina.dashboard() on the original applications and a few
-- statements (test/data/dashboard): the page is one document with its
-- template inlined and marks filled, its embedded cells add up to the mart
-- views, masking, the views create_warehouse adds to an older warehouse,
-- and every error.  The page in a browser: test/e2e/dashboard.sh.
\getenv abs_srcdir PG_ABS_SRCDIR
\set root :abs_srcdir '/test/data'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS indicina;
\set SHOW_CONTEXT never
CREATE SERVER dash_files FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
CREATE FOREIGN TABLE dash_loans (
    application_id text NOT NULL, customer_id text NOT NULL,
    loan_amount numeric(14,2) OPTIONS (format 'amount'), loan_application_date date OPTIONS (format 'auto'),
    credit_score int, employment_status text OPTIONS (format 'label:employment_status'),
    annual_income numeric(14,2) OPTIONS (format 'amount'),
    source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line')
) SERVER dash_files OPTIONS (filename 'seed/loan_data.csv', on_error 'reject');
CREATE FOREIGN TABLE dash_statements (
    transaction_id text NOT NULL, customer_id text NOT NULL,
    transaction_date date, transaction_amount numeric(14,2) OPTIONS (format 'amount'), narration text,
    balance numeric(14,2), source_file text OPTIONS (source 'file'), source_line bigint OPTIONS (source 'line')
) SERVER dash_files OPTIONS (filename 'dashboard/statements.csv', on_error 'reject');

-- ---- errors ----
SELECT indicina.dashboard('dash_dw');
SELECT indicina.dashboard('dash_dw', title => NULL);
SELECT indicina.dashboard('dash_dw', riskiest => 0);
SELECT indicina.dashboard('dash_dw', riskiest => 26);
SELECT indicina.dashboard('dash_dw', runs => 1001);
SELECT indicina.dashboard_asset('../../postgresql.conf');
SELECT indicina.create_warehouse('dash_dw', 'dash_mart');
SELECT indicina.dashboard('dash_dw', mart => 'dash_no_mart');
SELECT count(*) FROM indicina.run_pipeline('dash_loans', 'dash_statements', 'dash_dw');

-- ---- the mart views the risk panel reads; an older warehouse gets them ----
SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'dash_mart'::regnamespace ORDER BY 1;
DROP VIEW dash_mart.riskiest_customers, dash_mart.kpi_income_regularity, dash_mart.kpi_balance_volatility;
SELECT indicina.create_warehouse('dash_dw', 'dash_mart');
SELECT count(*) AS risk_views FROM pg_class c WHERE c.relnamespace = 'dash_mart'::regnamespace
   AND c.relname IN ('application_bands', 'customer_profile', 'kpi_income_regularity', 'kpi_balance_volatility', 'riskiest_customers');
SELECT * FROM dash_mart.kpi_income_regularity ORDER BY band;
SELECT * FROM dash_mart.kpi_balance_volatility ORDER BY band;
SELECT risk_rank, customer_id, employment_status, credit_score, loan_to_income, income_regularity
  FROM dash_mart.riskiest_customers ORDER BY risk_rank LIMIT 5;

-- ---- the page: one document, the template's files inlined, the marks filled ----
CREATE TEMP TABLE page AS
SELECT indicina.dashboard('dash_dw', title => '<b>"Risk" & co''s</b>', mart => 'dash_mart') AS html;
SELECT left(html, 15) AS starts, right(html, 8) AS ends,
       position('{{' IN html) = 0 AS marks_filled,
       position('<link' IN html) = 0 AS no_link,
       (length(html) - length(replace(html, '<script', ''))) / 7 AS script_elements,
       position('<script src' IN html) = 0 AS script_inlined,
       position('<style>' IN html) > 0 AS style_inlined,
       position('<title>&lt;b&gt;&quot;Risk&quot; &amp; co&#39;s&lt;/b&gt;</title>' IN html) > 0 AS title_escaped
  FROM page;
CREATE TEMP TABLE d AS
SELECT split_part(split_part(html, '<script type="application/json" id="indicina-data">', 2), '</script>', 1)::jsonb AS j
  FROM page;
SELECT j->'meta'->>'title' AS title, j->'meta'->>'warehouse' AS warehouse, j->'meta'->>'mart' AS mart,
       (j->'meta'->>'run_id')::bigint = (SELECT max(run_id) FROM indicina.pipeline_runs WHERE target = 'dash_dw') AS run_id,
       (j->'meta'->>'snapshot')::timestamptz BETWEEN now() - interval '1 hour' AND now() AS snapshot, j->'meta'->'masked' AS masked
  FROM d;
SELECT j->'dims'->'status' AS status, j->'dims'->'narration' AS narration, j->'dims'->'flow_month' AS flow_months,
       jsonb_array_length(j->'dims'->'month') AS application_months FROM d;
SELECT position('\u003cb\u003e' IN html) > 0 AS json_escaped FROM page;

-- every cell set adds up to its mart view
CREATE TEMP VIEW loans AS SELECT r FROM d, jsonb_array_elements(j->'cells'->'loans') r;
CREATE TEMP VIEW customers AS SELECT r FROM d, jsonb_array_elements(j->'cells'->'customers') r;
CREATE TEMP VIEW narr AS SELECT r FROM d, jsonb_array_elements(j->'cells'->'narration') r;
CREATE TEMP VIEW flows AS SELECT r FROM d, jsonb_array_elements(j->'cells'->'flows') r;
CREATE TEMP VIEW dim AS SELECT k AS dim, (i - 1)::int AS idx, v AS value
  FROM d, jsonb_each(j->'dims') e(k, a), jsonb_array_elements_text(a) WITH ORDINALITY x(v, i);
SELECT (SELECT round(sum((r->>6)::numeric) / 100 / sum((r->>5)::numeric), 2) FROM loans) AS avg_annual_income,
       (SELECT sum((r->>4)::bigint) FROM loans) AS applications,
       (SELECT sum((r->>6)::bigint) FROM customers WHERE (r->>3)::int = 1) AS customers,
       (SELECT round(sum((r->>4)::numeric) / (SELECT sum((r->>7)::numeric) FROM customers), 2) FROM narr) AS avg_txn_per_customer;
SELECT avg_annual_income, applications, customers, avg_transactions_per_customer FROM dash_mart.kpi_overview;
SELECT count(*) AS status_rows_differing FROM (
    SELECT dim.value, sum((r->>4)::bigint), round(100.0 * sum((r->>4)::bigint) / (SELECT sum((r->>4)::bigint) FROM loans), 2),
           round(sum((r->>6)::numeric) / 100 / sum((r->>5)::numeric), 2), round(sum((r->>8)::numeric) / 100 / sum((r->>7)::numeric), 2)
      FROM loans LEFT JOIN dim ON dim.dim = 'status' AND dim.idx = (r->>0)::int GROUP BY dim.value
    EXCEPT SELECT employment_status, applications, share_pct, avg_annual_income, avg_loan_amount FROM dash_mart.kpi_employment_status) x;
SELECT count(*) AS narration_rows_differing FROM (
    SELECT dim.value, sum((r->>4)::bigint), round(sum((r->>5)::numeric) / 100 / sum((r->>4)::numeric), 2)
      FROM narr JOIN dim ON dim.dim = 'narration' AND dim.idx = (r->>3)::int GROUP BY dim.value
    EXCEPT SELECT narration, transactions, avg_transaction_amount FROM dash_mart.kpi_narration) x;
SELECT count(*) AS lti_rows_differing FROM (
    SELECT dim.value, sum((r->>4)::bigint), round(sum((r->>10)::numeric) / nullif(sum((r->>9)::numeric), 0), 1)
      FROM loans JOIN dim ON dim.dim = 'lti_band' AND dim.idx = (r->>3)::int GROUP BY dim.value
    EXCEPT SELECT band, applications, avg_credit_score FROM dash_mart.kpi_loan_to_income_bands) x;
SELECT count(*) AS score_rows_differing FROM (
    SELECT dim.value, sum((r->>4)::bigint), round(sum((r->>8)::numeric) / 100 / sum((r->>7)::numeric), 2),
           round(sum((r->>12)::numeric) / 10000 / sum((r->>11)::numeric), 4)
      FROM loans JOIN dim ON dim.dim = 'score_band' AND dim.idx = (r->>2)::int GROUP BY dim.value
    EXCEPT SELECT band, applications, avg_loan_amount, avg_loan_to_income FROM dash_mart.kpi_credit_score_bands) x;
SELECT count(*) AS month_rows_differing FROM (
    SELECT (dim.value || '-01')::date, sum((r->>4)::numeric) / 100, sum((r->>5)::numeric) / 100, sum((r->>6)::numeric) / 100,
           sum((r->>7)::bigint), sum((r->>8)::bigint)
      FROM flows JOIN dim ON dim.dim = 'flow_month' AND dim.idx = (r->>3)::int GROUP BY dim.value
    EXCEPT SELECT month, inflow, outflow, net, transactions, customers FROM dash_mart.kpi_monthly_cash_flow) x;
SELECT (SELECT jsonb_object_agg(dim.value, n) FROM (SELECT (r->>4)::int AS b, sum((r->>6)::int) AS n FROM customers
                                                     WHERE r->>4 IS NOT NULL GROUP BY 1) s
          JOIN dim ON dim.dim = 'regularity_band' AND dim.idx = s.b)
     = (SELECT jsonb_object_agg(band, customers) FROM dash_mart.kpi_income_regularity) AS regularity_equal,
       (SELECT jsonb_object_agg(dim.value, n) FROM (SELECT (r->>5)::int AS b, sum((r->>6)::int) AS n FROM customers
                                                     WHERE r->>5 IS NOT NULL GROUP BY 1) s
          JOIN dim ON dim.dim = 'volatility_band' AND dim.idx = s.b)
     = (SELECT jsonb_object_agg(band, customers) FROM dash_mart.kpi_balance_volatility) AS volatility_equal;
-- the riskiest: the first n of every cell, so the first 10 of all are mart.riskiest_customers' first 10
SELECT (SELECT array_agg(r->>4 ORDER BY (r->>3)::int) FROM (SELECT r FROM d, jsonb_array_elements(j->'riskiest') r
                                                             ORDER BY (r->>3)::int LIMIT 10) s)
     = (SELECT array_agg(customer_id ORDER BY risk_rank) FROM dash_mart.riskiest_customers WHERE risk_rank <= 10)
       AS riskiest_first_ten,
       (SELECT count(*) FROM d, jsonb_array_elements(j->'riskiest') r) <= 10 * (SELECT count(*) FROM (
           SELECT DISTINCT employment_status, application_month, credit_score_band FROM dash_mart.customer_profile) c)
       AS at_most_ten_a_cell;

-- the data-quality panel
SELECT j->'quality'->'unknown_member' AS unknown_member, j->'quality'->'rejects' AS rejects,
       j->'quality'->'rules' AS rules, jsonb_array_length(j->'quality'->'runs') AS runs,
       (SELECT jsonb_agg(f->>'path') FROM jsonb_array_elements(j->'quality'->'files') f) AS files,
       (SELECT jsonb_agg(DISTINCT t->>'rule') FROM jsonb_array_elements(j->'quality'->'rule_trend') t) AS trend_rules,
       j->'quality'->'last_unload' AS last_unload
  FROM d;

-- masked ids: a pseudonym per page, never the id
CREATE TEMP TABLE masked AS
SELECT r->>4 AS id FROM jsonb_array_elements((SELECT split_part(split_part(
    indicina.dashboard('dash_dw', mart => 'dash_mart', mask_customer_ids => true, riskiest => 5),
    'id="indicina-data">', 2), '</script>', 1)::jsonb->'riskiest')) r;
SELECT count(*) AS ids, count(DISTINCT id) AS distinct_ids, bool_and(id ~ '^#[0-9a-f]{10}$') AS pseudonyms,
       bool_and(id NOT IN (SELECT customer_id FROM dash_mart.customer_profile)) AS none_real
  FROM masked;

DROP SCHEMA dash_dw CASCADE;
DROP SCHEMA dash_mart CASCADE;
DROP FOREIGN TABLE dash_loans, dash_statements;
DROP SERVER dash_files;
RESET client_min_messages;
