-- 40_ddl.sql: the warehouse (created by a call, never owned by the
-- extension): its tables, KPI views, the aggregates and lookups the run uses.

CREATE FUNCTION indicina.source_files(relation regclass, hashes boolean DEFAULT true, only_files text[] DEFAULT NULL,
    OUT file text, OUT size bigint, OUT modified timestamptz, OUT sha256 text, OUT etag text)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'indicina_source_files' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION indicina.source_files(regclass, boolean, text[]) IS
    'the files an indicina_csv table reads now: size, modification time, ETag (S3 objects) and (for only_files, or all) SHA-256';

-- ---------------------------------------------------------------------
-- What the run computes per row, in C (src/warehouse/warehouse.c)
-- ---------------------------------------------------------------------

CREATE FUNCTION indicina.date_key(date) RETURNS int
    AS 'MODULE_PATHNAME', 'indicina_date_key' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.date_key(date) IS 'the yyyymmdd key of dim_date (NULL for infinity)';
CREATE FUNCTION indicina.month_start(date) RETURNS date
    AS 'MODULE_PATHNAME', 'indicina_month_start' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.month_start(date) IS 'the first day of the date''s month';
CREATE TYPE indicina.month_flow_result AS (
    inflow numeric, outflow numeric, net numeric, txn_count int, closing_balance numeric, min_balance numeric,
    salary_credit boolean);
CREATE FUNCTION indicina.month_flow_step(internal, numeric, numeric, date, text, bigint, boolean) RETURNS internal
    AS 'MODULE_PATHNAME', 'indicina_month_flow_step' LANGUAGE C CALLED ON NULL INPUT;
CREATE FUNCTION indicina.month_flow_final(internal) RETURNS indicina.month_flow_result
    AS 'MODULE_PATHNAME', 'indicina_month_flow_final' LANGUAGE C CALLED ON NULL INPUT;
/*
 * One customer-month of transactions (amounts with at most 2 decimals):
 * inflow, outflow, net, count, the closing balance (of the last
 * transaction by date, then file in byte order, then line), the minimum
 * balance, and whether a salary-like credit (salary_like and amount > 0)
 * came in.
 */
CREATE AGGREGATE indicina.month_flow(amount numeric, balance numeric, transaction_date date, source_file text,
                                     source_line bigint, salary_like boolean) (
    SFUNC = indicina.month_flow_step, STYPE = internal, SSPACE = 72, FINALFUNC = indicina.month_flow_final);
CREATE TYPE indicina.risk_features_result AS (
    months int, avg_monthly_inflow numeric, avg_monthly_outflow numeric, income_regularity numeric,
    balance_volatility numeric);
CREATE FUNCTION indicina.risk_features_step(internal, numeric, numeric, boolean, numeric) RETURNS internal
    AS 'MODULE_PATHNAME', 'indicina_risk_features_step' LANGUAGE C CALLED ON NULL INPUT;
CREATE FUNCTION indicina.risk_features_final(internal) RETURNS indicina.risk_features_result
    AS 'MODULE_PATHNAME', 'indicina_risk_features_final' LANGUAGE C CALLED ON NULL INPUT;
/*
 * A customer's risk features over their customer-months (amounts and
 * balances with at most 2 decimals), what count(*), round(avg(inflow), 2),
 * round(avg(outflow), 2), round(avg(salary_credit as 0/1), 4) and
 * round(stddev_pop(closing_balance), 2) give, from sums of cents.
 */
CREATE AGGREGATE indicina.risk_features(inflow numeric, outflow numeric, salary_credit boolean,
                                        closing_balance numeric) (
    SFUNC = indicina.risk_features_step, STYPE = internal, SSPACE = 72, FINALFUNC = indicina.risk_features_final);
/*
 * The same customer-months accumulated inside the scan that loads the
 * transactions (src/warehouse/month_flows.c): arm_month_flows prepares the
 * relation's next scan in this transaction (false when a column is missing
 * or its type would let the fact change a value: amounts must be
 * numeric(p,s) with s <= 2); scan_month_flows returns what that scan
 * returned, per customer and month, in key order, once; _ready says
 * whether it can (the scan gives up past hash_mem); scan_month_flow_customers
 * the customers of the rows it returned, once each.
 */
CREATE FUNCTION indicina.arm_month_flows(relation regclass, customer_column name, date_column name,
                                         amount_column name, balance_column name, narration_column name,
                                         income_narrations text[]) RETURNS boolean
    AS 'MODULE_PATHNAME', 'indicina_arm_month_flows' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION indicina.scan_month_flows(except_months date[] DEFAULT '{}',
    OUT customer_id text, OUT month date, OUT inflow numeric, OUT outflow numeric, OUT net numeric,
    OUT txn_count int, OUT closing_balance numeric, OUT min_balance numeric, OUT salary_credit boolean)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'indicina_scan_month_flows' LANGUAGE C VOLATILE;
CREATE FUNCTION indicina.scan_month_flow_customers() RETURNS SETOF text
    AS 'MODULE_PATHNAME', 'indicina_scan_month_flow_customers' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION indicina.scan_month_flow_customers() IS
    'the customers of the rows the last scan_month_flows() of this transaction returned, each once; once';
CREATE FUNCTION indicina.scan_month_flows_ready() RETURNS boolean
    AS 'MODULE_PATHNAME', 'indicina_scan_month_flows_ready' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION indicina.scan_month_flows_ready() IS
    'whether scan_month_flows() has the complete customer-months of an armed scan (false when they outgrew hash_mem)';
COMMENT ON FUNCTION indicina.arm_month_flows(regclass, name, name, name, name, name, text[]) IS
    'prepares the next scan of relation in this transaction to accumulate agg_customer_month (what run_pipeline uses)';
COMMENT ON FUNCTION indicina.scan_month_flows(date[]) IS
    'the customer-months the armed scan accumulated, in key order, but for those of except_months; once';

/*
 * A dimension lookup cache for the transaction (src/warehouse/key_lookup.c):
 * arm_key_lookup(name, query) loads the (text key, bigint value) rows of
 * query; key_lookup(name, key) is the value of key, or NULL: what a LEFT
 * JOIN on a unique key gives, in a function call instead of a hash join.
 * Rows of (text, bigint, date valid_from, date valid_to) arm the versions of
 * a type 2 dimension; key_lookup_at(name, key, at) is the version valid at.
 */
CREATE FUNCTION indicina.arm_key_lookup(name text, query text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'indicina_arm_key_lookup' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION indicina.arm_key_lookup(text, text) IS
    'loads the (text key, bigint value) or (text key, bigint value, date valid_from, date valid_to) rows of query as lookup name for this transaction; returns the number of keys';
CREATE FUNCTION indicina.key_lookup(name text, key text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'indicina_key_lookup' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION indicina.key_lookup(text, text) IS
    'the value of key in the lookup armed under name in this transaction, or NULL; of a versioned lookup, the version still valid';
CREATE FUNCTION indicina.key_lookup_at(name text, key text, at date) RETURNS bigint
    AS 'MODULE_PATHNAME', 'indicina_key_lookup_at' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION indicina.key_lookup_at(text, text, date) IS
    'the value of the version of key valid at date at (before every version: the one valid when the first begins; NULL at: the version still valid), or NULL';

-- ---------------------------------------------------------------------
-- The warehouse
-- ---------------------------------------------------------------------

/*
 * Creates schema target with the star schema, the file ledger, and schema
 * mart with the KPI views.  Objects are the caller's, not the extension's:
 * DROP EXTENSION never drops a warehouse's data.  Idempotent: an existing
 * warehouse is left as it is.  Longer than a screen on purpose: one DDL
 * script, a CREATE per table and view, read top to bottom.
 */
CREATE FUNCTION indicina.create_warehouse(target name DEFAULT 'dw', mart name DEFAULT 'mart') RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text := quote_ident(target);
    m text := quote_ident(mart);
    ddl text;
BEGIN
    IF to_regclass(format('%s.file_ledger', t)) IS NOT NULL THEN
        RAISE NOTICE 'warehouse % already exists', target;
        -- what a warehouse made by an earlier version lacks
        PERFORM indicina.upgrade_warehouse(target);
        PERFORM indicina.create_mart_views(target, mart);
        RETURN target;
    END IF;
    ddl := $ddl$
CREATE SCHEMA IF NOT EXISTS @T;
CREATE TABLE @T.dim_date (
    date_key     int PRIMARY KEY,            -- yyyymmdd
    full_date    date NOT NULL UNIQUE,
    year         int NOT NULL,
    quarter      int NOT NULL,
    month        int NOT NULL,
    month_name   text NOT NULL,
    day_of_week  int NOT NULL,               -- ISO: 1 = Monday
    day_name     text NOT NULL,
    is_weekend   boolean NOT NULL);
-- identifiers compare as bytes (COLLATE "C"): the same order on every
-- server whatever its locale, and btree inserts and joins on them skip strcoll
CREATE TABLE @T.dim_customer (
    customer_key      bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 1) PRIMARY KEY,
    customer_id       text COLLATE "C" NOT NULL,
    employment_status text,
    annual_income     numeric(14,2),
    valid_from        date NOT NULL,
    valid_to          date,                  -- exclusive; NULL while current
    is_current        boolean NOT NULL,
    run_id            bigint,
    source_file       text,
    source_line       bigint,
    changed_run       bigint);               -- the run of the row's last change (docs/unload.md)
CREATE UNIQUE INDEX ON @T.dim_customer (customer_id) WHERE is_current;
CREATE INDEX ON @T.dim_customer (customer_id, valid_from);
-- the unknown member: transactions whose customer has no application yet
INSERT INTO @T.dim_customer (customer_key, customer_id, valid_from, is_current)
VALUES (0, '(unknown)', '-infinity', true);
CREATE TABLE @T.dim_transaction_category (
    category_key   int GENERATED BY DEFAULT AS IDENTITY (START WITH 1) PRIMARY KEY,
    narration      text NOT NULL UNIQUE,
    category_group text NOT NULL,
    direction      text NOT NULL CHECK (direction IN ('credit', 'debit', 'both')));
INSERT INTO @T.dim_transaction_category (category_key, narration, category_group, direction) VALUES
    (0, '(none)', 'other', 'both');
INSERT INTO @T.dim_transaction_category (narration, category_group, direction) VALUES
    ('Monthly Income', 'income', 'credit'), ('Online Transfer', 'transfer', 'both'),
    ('Fuel Purchase', 'transport', 'debit'), ('Restaurant Bill', 'food', 'debit'),
    ('Grocery Shopping', 'food', 'debit'), ('POS Purchase', 'shopping', 'debit'),
    ('ATM Withdrawal', 'cash', 'debit'), ('Bill Payment', 'bills', 'debit');
CREATE TABLE @T.fact_loan_application (
    application_id       text COLLATE "C" PRIMARY KEY,
    customer_key         bigint NOT NULL REFERENCES @T.dim_customer,
    customer_id          text COLLATE "C" NOT NULL,
    application_date_key int REFERENCES @T.dim_date,
    application_date     date,
    loan_amount          numeric(14,2),
    credit_score         int,
    annual_income        numeric(14,2),
    employment_status    text,
    loan_to_income       numeric(14,4),
    run_id               bigint NOT NULL,
    source_file          text NOT NULL,
    source_line          bigint NOT NULL,
    changed_run          bigint);
CREATE INDEX ON @T.fact_loan_application (customer_id);
CREATE INDEX ON @T.fact_loan_application (source_file);
CREATE TABLE @T.fact_bank_transaction (
    transaction_id       text COLLATE "C" NOT NULL,
    customer_key         bigint NOT NULL,
    customer_id          text COLLATE "C" NOT NULL,
    transaction_date     date NOT NULL,
    transaction_date_key int NOT NULL,
    category_key         int NOT NULL,
    amount               numeric(14,2) NOT NULL,
    direction            text NOT NULL,
    balance              numeric(14,2),
    run_id               bigint NOT NULL,
    source_file          text NOT NULL,
    source_line          bigint NOT NULL,
    changed_run          bigint
) PARTITION BY RANGE (transaction_date);
-- only what a run looks up: transactions waiting on the unknown customer.  No
-- index on customer_id or source_file: aggregates recompute over whole
-- partitions anyway and a corrected file is rare; each index would cost a
-- third more per loaded row.
CREATE INDEX ON @T.fact_bank_transaction (customer_id) WHERE customer_key = 0;
CREATE TABLE @T.agg_customer_month (
    customer_id     text COLLATE "C" NOT NULL,
    month           date NOT NULL,
    inflow          numeric(16,2) NOT NULL,
    outflow         numeric(16,2) NOT NULL,
    net             numeric(16,2) NOT NULL,
    txn_count       int NOT NULL,
    closing_balance numeric(14,2),
    min_balance     numeric(14,2),
    salary_credit   boolean NOT NULL,
    changed_run     bigint,
    PRIMARY KEY (customer_id, month));
CREATE TABLE @T.customer_risk_features (
    customer_id           text COLLATE "C" PRIMARY KEY,
    months_observed       int NOT NULL,
    avg_monthly_inflow    numeric(16,2),
    avg_monthly_outflow   numeric(16,2),
    income_regularity     numeric(6,4),
    balance_volatility    numeric(16,2),
    latest_loan_to_income numeric(14,4),
    run_id                bigint NOT NULL,
    changed_run           bigint);
-- what runs deleted, by lineage or key: every row of table_name whose
-- columns equal match's values (an incremental unload ships them)
CREATE TABLE @T.deleted_rows (
    run_id     bigint NOT NULL,
    table_name text NOT NULL,
    match      jsonb NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE @T.file_ledger (
    source        text NOT NULL,             -- loans | transactions
    path          text NOT NULL,
    size          bigint NOT NULL,
    modified      timestamptz NOT NULL,
    etag          text,                      -- an S3 object's, with its key and size its identity
    content_hash  text NOT NULL,
    status        text NOT NULL CHECK (status IN ('loaded', 'duplicate', 'requeued')),
    duplicate_of  text,
    rows_read     bigint,
    rows_loaded   bigint,
    rows_rejected bigint,
    rows_warned   bigint,
    scan_id       bigint,
    run_id        bigint NOT NULL,
    loaded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, path));
CREATE INDEX ON @T.file_ledger (content_hash);

CREATE SCHEMA IF NOT EXISTS @M;
CREATE VIEW @M.loan_transactions AS
SELECT l.application_id, l.customer_id, l.loan_amount, l.application_date AS loan_application_date, l.credit_score,
       l.employment_status, l.annual_income, t.transaction_id, t.transaction_date, t.amount AS transaction_amount,
       c.narration, t.balance
  FROM @T.fact_loan_application l
  JOIN @T.fact_bank_transaction t ON t.customer_id = l.customer_id
  JOIN @T.dim_transaction_category c ON c.category_key = t.category_key;
CREATE VIEW @M.kpi_overview AS
SELECT (SELECT round(avg(annual_income), 2) FROM @T.fact_loan_application) AS avg_annual_income,
       (SELECT count(*) FROM @T.fact_loan_application) AS applications,
       (SELECT count(*) FROM @T.dim_customer WHERE is_current AND customer_key <> 0) AS customers,
       (SELECT count(*) FROM @T.fact_bank_transaction) AS transactions,
       (SELECT round(count(*)::numeric / nullif(count(DISTINCT customer_id), 0), 2) FROM @T.fact_bank_transaction)
           AS avg_transactions_per_customer;
CREATE VIEW @M.kpi_employment_status AS
SELECT employment_status, count(*) AS applications,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS share_pct,
       round(avg(annual_income), 2) AS avg_annual_income,
       round(avg(loan_amount), 2) AS avg_loan_amount
  FROM @T.fact_loan_application GROUP BY employment_status;
CREATE VIEW @M.kpi_narration AS
SELECT c.narration, c.category_group, count(*) AS transactions, round(avg(t.amount), 2) AS avg_transaction_amount
  FROM @T.fact_bank_transaction t JOIN @T.dim_transaction_category c USING (category_key)
 GROUP BY c.narration, c.category_group;
CREATE VIEW @M.kpi_loan_to_income_bands AS
SELECT CASE WHEN loan_to_income IS NULL THEN 'no income'
            WHEN loan_to_income < 0.25 THEN '< 0.25' WHEN loan_to_income < 0.5 THEN '0.25-0.5'
            WHEN loan_to_income < 1 THEN '0.5-1' WHEN loan_to_income < 2 THEN '1-2' ELSE '>= 2' END AS band,
       count(*) AS applications, round(avg(credit_score), 1) AS avg_credit_score
  FROM @T.fact_loan_application GROUP BY 1;
CREATE VIEW @M.kpi_credit_score_bands AS
SELECT CASE WHEN credit_score < 580 THEN '300-579 poor' WHEN credit_score < 670 THEN '580-669 fair'
            WHEN credit_score < 740 THEN '670-739 good' WHEN credit_score < 800 THEN '740-799 very good'
            ELSE '800-850 exceptional' END AS band,
       count(*) AS applications, round(avg(loan_amount), 2) AS avg_loan_amount,
       round(avg(loan_to_income), 4) AS avg_loan_to_income
  FROM @T.fact_loan_application WHERE credit_score IS NOT NULL GROUP BY 1;
CREATE VIEW @M.kpi_monthly_cash_flow AS
SELECT month, sum(inflow) AS inflow, sum(outflow) AS outflow, sum(net) AS net, sum(txn_count) AS transactions,
       count(*) AS customers
  FROM @T.agg_customer_month GROUP BY month;
$ddl$;
    -- one pass: the pieces between the @T marks get @M, then t joins them, so
    -- neither name is searched for the other's mark
    EXECUTE array_to_string(ARRAY(SELECT replace(p, '@M', m)
                                    FROM unnest(string_to_array(ddl, '@T')) WITH ORDINALITY u(p, i) ORDER BY i), t);
    PERFORM indicina.create_mart_views(target, mart);
    RETURN target;
END;
$$;
COMMENT ON FUNCTION indicina.create_warehouse(name, name) IS
    'creates the star schema, file ledger and KPI views (not owned by the extension); idempotent, and on a warehouse made by an earlier version adds what is missing';

-- the tables whose rows carry changed_run, the run of their last change
CREATE FUNCTION indicina.tracked_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT '{dim_customer,fact_loan_application,fact_bank_transaction,agg_customer_month,customer_risk_features}'::text[]
$$;

/*
 * The index on changed_run of each tracked table of target that lacks it,
 * created; returns the tables it indexed.  An incremental unload reads only
 * the rows changed after its baseline: a few in a large table, found by the
 * index instead of a scan of every row (docs/unload.md, Incremental).  A
 * run calls it when it is done (pipeline_ledger): the first run of a
 * warehouse builds each index from the rows it loaded, in one sort, which
 * costs less than keeping it up row by row through a first bulk load.  On
 * the partitioned fact the index is the parent's: every partition has it,
 * and a partition made later gets it at once.  Tables the caller does not
 * own (CREATE INDEX needs the owner) are left for the owner's next run.
 */
CREATE FUNCTION indicina.create_change_indexes(target name) RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- only the caller's own tables: a run by a role that does not own the
    -- warehouse leaves the indexes to the owner's next run
    missing text[] := ARRAY(SELECT u.t FROM unnest(indicina.tracked_tables()) u(t)
                              JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', target, u.t))
                             WHERE pg_has_role(c.relowner, 'USAGE')
                               AND to_regclass(format('%I.%I', target, u.t || '_changed_run_idx')) IS NULL);
    t       text;
BEGIN
    FOREACH t IN ARRAY missing LOOP
        EXECUTE format('CREATE INDEX %I ON %I.%I (changed_run)', t || '_changed_run_idx', target, t);
    END LOOP;
    RETURN missing;
END;
$$;
COMMENT ON FUNCTION indicina.create_change_indexes(name) IS
    'creates the index on changed_run of each tracked table that lacks it (what an incremental unload reads); returns the tables it indexed';

/*
 * What an existing warehouse made by an earlier version lacks, added: the
 * changed_run column of every tracked table and table deleted_rows (the
 * change tracking an incremental unload reads; the next run indexes it).
 * Rows already there keep changed_run NULL: no run changed them since (an
 * incremental unload ships a table whole until a complete unload recorded
 * its baseline).  Returns what it added, and says so in a NOTICE.
 */
CREATE FUNCTION indicina.upgrade_warehouse(target name) RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t     text;
    added text[] := '{}';
BEGIN
    FOREACH t IN ARRAY indicina.tracked_tables() LOOP
        IF to_regclass(format('%I.%I', target, t)) IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM pg_attribute a
                WHERE a.attrelid = format('%I.%I', target, t)::regclass AND a.attname = 'changed_run'
                  AND NOT a.attisdropped) THEN
            EXECUTE format('ALTER TABLE %I.%I ADD COLUMN changed_run bigint', target, t);
            added := added || format('%s.changed_run', t);
        END IF;
    END LOOP;
    -- the file ledger's S3 object identity
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = format('%I.file_ledger', target)::regclass AND a.attname = 'etag'
                      AND NOT a.attisdropped) THEN
        EXECUTE format('ALTER TABLE %I.file_ledger ADD COLUMN etag text', target);
        added := added || 'file_ledger.etag'::text;
    END IF;
    IF to_regclass(format('%I.deleted_rows', target)) IS NULL THEN
        EXECUTE format('CREATE TABLE %I.deleted_rows (run_id bigint NOT NULL, table_name text NOT NULL,
                            match jsonb NOT NULL, deleted_at timestamptz NOT NULL DEFAULT now())', target);
        added := added || 'deleted_rows'::text;
    END IF;
    IF cardinality(added) > 0 THEN
        RAISE NOTICE 'warehouse % was made by an earlier version: added %', target, array_to_string(added, ', ');
    END IF;
    RETURN added;
END;
$$;
COMMENT ON FUNCTION indicina.upgrade_warehouse(name) IS
    'adds what a warehouse made by an earlier version lacks (change tracking, the ledger''s etag); returns what it added';

/*
 * The mart views of the risk panel (and of any BI tool: the dashboard reads
 * these): per application its bands, per customer the profile of the
 * latest application with the risk features, the distributions of income
 * regularity and balance volatility, the riskiest customers.  Made by
 * create_warehouse, and added by it to a warehouse made before they
 * existed (all or nothing: when one is missing, all are created or
 * replaced).  The bands are those of kpi_credit_score_bands and
 * kpi_loan_to_income_bands; the riskiest ordering is in docs/dashboard.md.
 */
CREATE FUNCTION indicina.create_mart_views(target name, mart name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ddl text;
BEGIN
    IF (SELECT bool_and(to_regclass(format('%I.%I', mart, v)) IS NOT NULL)
          FROM unnest('{application_bands,customer_profile,kpi_income_regularity,kpi_balance_volatility,riskiest_customers}'::text[]) v) THEN
        RETURN;
    END IF;
    ddl := $ddl$
CREATE SCHEMA IF NOT EXISTS @M;
CREATE OR REPLACE VIEW @M.application_bands AS
SELECT application_id, customer_id, employment_status, application_date,
       date_trunc('month', application_date)::date AS application_month, credit_score,
       CASE WHEN credit_score IS NULL THEN NULL WHEN credit_score < 580 THEN '300-579 poor'
            WHEN credit_score < 670 THEN '580-669 fair' WHEN credit_score < 740 THEN '670-739 good'
            WHEN credit_score < 800 THEN '740-799 very good' ELSE '800-850 exceptional' END AS credit_score_band,
       loan_amount, annual_income, loan_to_income,
       CASE WHEN loan_to_income IS NULL THEN 'no income'
            WHEN loan_to_income < 0.25 THEN '< 0.25' WHEN loan_to_income < 0.5 THEN '0.25-0.5'
            WHEN loan_to_income < 1 THEN '0.5-1' WHEN loan_to_income < 2 THEN '1-2' ELSE '>= 2' END AS loan_to_income_band,
       row_number() OVER (PARTITION BY customer_id ORDER BY application_date DESC NULLS LAST, application_id DESC) = 1
           AS is_latest
  FROM @T.fact_loan_application;
CREATE OR REPLACE VIEW @M.customer_profile AS
SELECT coalesce(a.customer_id, f.customer_id) AS customer_id, a.application_id, a.employment_status,
       a.application_date, a.application_month, a.credit_score, a.credit_score_band, a.loan_amount, a.annual_income,
       a.loan_to_income, a.loan_to_income_band, coalesce(f.months_observed, 0) AS months_observed,
       f.avg_monthly_inflow, f.avg_monthly_outflow, f.income_regularity, f.balance_volatility,
       CASE WHEN coalesce(f.months_observed, 0) = 0 THEN NULL WHEN f.income_regularity < 0.2 THEN '< 0.2'
            WHEN f.income_regularity < 0.4 THEN '0.2-0.4' WHEN f.income_regularity < 0.6 THEN '0.4-0.6'
            WHEN f.income_regularity < 0.8 THEN '0.6-0.8' WHEN f.income_regularity < 1 THEN '0.8-1'
            ELSE 'every month' END AS income_regularity_band,
       CASE WHEN coalesce(f.months_observed, 0) = 0 OR f.balance_volatility IS NULL THEN NULL
            WHEN f.balance_volatility < 100 THEN '< 100' WHEN f.balance_volatility < 500 THEN '100-500'
            WHEN f.balance_volatility < 1000 THEN '500-1k' WHEN f.balance_volatility < 5000 THEN '1k-5k'
            WHEN f.balance_volatility < 10000 THEN '5k-10k' ELSE '>= 10k' END AS balance_volatility_band
  FROM (SELECT * FROM @M.application_bands WHERE is_latest) a
  FULL JOIN @T.customer_risk_features f ON f.customer_id = a.customer_id;
CREATE OR REPLACE VIEW @M.kpi_income_regularity AS
SELECT income_regularity_band AS band, count(*) AS customers, round(avg(income_regularity), 4) AS avg_income_regularity
  FROM @M.customer_profile WHERE income_regularity_band IS NOT NULL GROUP BY 1;
CREATE OR REPLACE VIEW @M.kpi_balance_volatility AS
SELECT balance_volatility_band AS band, count(*) AS customers, round(avg(balance_volatility), 2) AS avg_balance_volatility
  FROM @M.customer_profile WHERE balance_volatility_band IS NOT NULL GROUP BY 1;
CREATE OR REPLACE VIEW @M.riskiest_customers AS
SELECT row_number() OVER (ORDER BY loan_to_income DESC NULLS FIRST, income_regularity ASC NULLS FIRST,
                                   credit_score ASC NULLS FIRST, customer_id) AS risk_rank, *
  FROM @M.customer_profile WHERE application_id IS NOT NULL;
$ddl$;
    EXECUTE array_to_string(ARRAY(SELECT replace(p, '@M', quote_ident(mart))
                                    FROM unnest(string_to_array(ddl, '@T')) WITH ORDINALITY u(p, i) ORDER BY i),
                            quote_ident(target));
END;
$$;
COMMENT ON FUNCTION indicina.create_mart_views(name, name) IS
    'creates the mart views of the risk panel (application_bands, customer_profile, kpi_income_regularity, kpi_balance_volatility, riskiest_customers) when one is missing';

-- drops the temporary tables (or views) named, those that exist
CREATE FUNCTION indicina.drop_temp(names text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n text;
    k "char";
BEGIN
    FOREACH n IN ARRAY names LOOP
        SELECT c.relkind INTO k FROM pg_class c WHERE c.oid = to_regclass(format('pg_temp.%I', n));
        IF k = 'v' THEN
            EXECUTE format('DROP VIEW pg_temp.%I', n);
        ELSIF k IS NOT NULL THEN
            EXECUTE format('DROP TABLE pg_temp.%I', n);
        END IF;
        k := NULL;
    END LOOP;
END;
$$;

-- monthly partitions of the transaction fact covering [first, last]
CREATE FUNCTION indicina.ensure_month_partitions(target name, first date, last date) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m date := date_trunc('month', first)::date;
    n int := 0;
    part text;
BEGIN
    IF first IS NULL THEN
        RETURN 0;
    END IF;
    WHILE m <= last LOOP
        part := format('fact_bank_transaction_%s', to_char(m, 'YYYYMM'));
        IF to_regclass(format('%I.%I', target, part)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.fact_bank_transaction FOR VALUES FROM (%L) TO (%L)',
                           target, part, target, m, (m + interval '1 month')::date);
            n := n + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN n;
END;
$$;
