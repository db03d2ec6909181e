// duckdb_peer.js: the DuckDB peer of bench/unload.sh (npm's @duckdb/node-api,
// installed into build/node by tools/lib/node.sh; two threads).
//
//   node duckdb_peer.js unload SRC OUT TABLE...
//       loads SRC/<table>/*.csv (an uncompressed unload, untimed), then writes
//       every table as gzip CSV into OUT/<table>/ with COPY ... (FORMAT csv,
//       COMPRESSION gzip, PER_THREAD_OUTPUT true); prints "ms <copy time>"
//   node duckdb_peer.js night DROP OUT
//       the night without rules or rejects: reads DROP's clean CSV files,
//       builds the customer dimension (latest application), the transaction
//       fact, the customer-month aggregate, and writes the three as gzip CSV
//       into OUT/; prints "ms <total time>"
'use strict';
const path = require('path');
const { DuckDBInstance } = require(path.join(process.env.NODE_MODULES, '@duckdb/node-api'));

const q = (s) => "'" + s.replace(/'/g, "''") + "'";
const id = (s) => '"' + s.replace(/"/g, '""') + '"';
const gz = (dir) => `(FORMAT csv, COMPRESSION gzip, PER_THREAD_OUTPUT true, HEADER false)`;

async function main() {
    const [mode, src, out, ...tables] = process.argv.slice(2);
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    const con = await instance.connect();
    let t0;
    if (mode === 'unload') {
        for (const t of tables) {
            await con.run(`CREATE TABLE ${id(t)} AS SELECT * FROM read_csv(${q(src + '/' + t + '/*.csv')}, header = false)`);
        }
        t0 = process.hrtime.bigint();
        for (const t of tables) {
            await con.run(`COPY ${id(t)} TO ${q(out + '/' + t)} ${gz()}`);
        }
    } else if (mode === 'night') {
        t0 = process.hrtime.bigint();
        await con.run(`CREATE TABLE loans AS SELECT * FROM read_csv(${q(src + '/loans/*.csv')}, header = true)`);
        await con.run(`CREATE TABLE txns AS SELECT * FROM read_csv(${q(src + '/statements/*.csv')}, header = true)`);
        await con.run(`CREATE TABLE dim_customer AS
            SELECT row_number() OVER (ORDER BY customer_id) AS customer_key, customer_id, employment_status,
                   annual_income, loan_application_date AS valid_from
              FROM (SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY loan_application_date DESC) AS n FROM loans)
             WHERE n = 1`);
        await con.run(`CREATE TABLE fact_bank_transaction AS
            SELECT t.transaction_id, coalesce(c.customer_key, 0) AS customer_key, t.customer_id,
                   CAST(strftime(t.transaction_date, '%Y%m%d') AS INTEGER) AS date_key, t.transaction_amount,
                   t.narration, t.balance
              FROM txns t LEFT JOIN dim_customer c USING (customer_id)`);
        await con.run(`CREATE TABLE agg_customer_month AS
            SELECT customer_key, date_trunc('month', t.transaction_date) AS month, count(*) AS transactions,
                   sum(CASE WHEN t.transaction_amount > 0 THEN t.transaction_amount ELSE 0 END) AS inflow,
                   sum(CASE WHEN t.transaction_amount < 0 THEN -t.transaction_amount ELSE 0 END) AS outflow,
                   min(t.balance) AS min_balance, max(t.balance) AS max_balance
              FROM txns t JOIN dim_customer c USING (customer_id) GROUP BY 1, 2`);
        for (const t of ['dim_customer', 'fact_bank_transaction', 'agg_customer_month']) {
            await con.run(`COPY ${id(t)} TO ${q(out + '/' + t)} ${gz()}`);
        }
    } else {
        throw new Error('usage: duckdb_peer.js unload SRC OUT TABLE... | night DROP OUT');
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`ms ${ms.toFixed(3)}`);
}

main().catch((e) => { console.error(`duckdb_peer.js: ${e.message}`); process.exit(1); });
