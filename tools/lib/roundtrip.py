#!/usr/bin/env python3
"""roundtrip.py: applies indicina unload deliveries to a plain PostgreSQL
database standing in for Redshift, reading nothing but the delivery.

    roundtrip.py apply DELIVERY_DIR     a psql script that applies it
    roundtrip.py checksums SCHEMA       a query: per shipped table, rows and
                                        an order-independent checksum

The apply script does what redshift_load_sql does (docs/unload.md), in
PostgreSQL's words: one transaction; the same check (refuse an unload
applied already or out of order, kept in <target>.indicina_unloads); per
table in the order of unload.json, the parts listed by the manifest (each
checked against unload.json: same URLs, content_length = size on disk =
bytes, SHA-256) loaded with plain COPY (FORMAT csv, ...) in the dialect of
unload.json's "format" into a temporary staging table LIKE the target, the
row count checked, the sentinel dates mapped back; then a "replace" table
is emptied and filled, a "merge" table loses the rows the delivery deletes
and MERGEs the staging rows on the table's key.  Tables are created from
unload.json's columns (name and PostgreSQL type) when missing.

The checksum of a table is the sum of the first 60 bits of the MD5 of each
row's text: equal on both sides when both hold the same rows, in any order.
"""
import hashlib
import json
import os
import re
import sys

TABLES = ["dim_date", "dim_transaction_category", "dim_customer", "fact_loan_application",
          "fact_bank_transaction", "agg_customer_month", "customer_risk_features"]
PROGRAMS = {"gzip": "gzip -dc", "zstd": "zstd -dcq", "none": "cat"}
SAFE_PATH = re.compile(r"^/[A-Za-z0-9_./+-]+$")


def fail(msg):
    sys.exit(f"roundtrip.py: {msg}")


def qi(name):
    return '"' + name.replace('"', '""') + '"'


def ql(text):
    return "'" + text.replace("'", "''") + "'"


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checked_parts(delivery, table):
    """The parts of a table as its manifest lists them, each checked against unload.json and the disk."""
    if not table["parts"]:
        if table.get("manifest"):
            fail(f"{table['name']}: a manifest without parts")
        return []
    with open(os.path.join(delivery, table["manifest"])) as f:
        entries = json.load(f)["entries"]
    if [e["url"] for e in entries] != [p["url"] for p in table["parts"]]:
        fail(f"{table['name']}: the manifest and unload.json list different parts")
    for e, p in zip(entries, table["parts"]):
        path = e["url"]
        if not SAFE_PATH.match(path):
            fail(f"{table['name']}: a part URL this loader cannot read: {path}")
        size = os.path.getsize(path)
        if not (e["mandatory"] and e["meta"]["content_length"] == size == p["bytes"]):
            fail(f"{path}: size {size} is not what the manifest and unload.json say")
        if sha256_of(path) != p["sha256"]:
            fail(f"{path}: SHA-256 differs from unload.json")
    return [e["url"] for e in entries]


def copy_options(fmt):
    if fmt["type"] != "csv" or fmt["encoding"] != "UTF8":
        fail(f"a format this loader does not read: {fmt['type']} {fmt['encoding']}")
    return (f"FORMAT csv, DELIMITER {ql(fmt['delimiter'])}, QUOTE {ql(fmt['quote'])}, "
            f"ESCAPE {ql(fmt['escape'])}, NULL {ql(fmt['null'])}, HEADER {str(fmt['header']).lower()}, "
            f"ENCODING 'UTF8'")


def table_sql(delivery, j, t):
    """The statements that apply one table of delivery j."""
    rel = f"{qi(j['target'])}.{qi(t['name'])}"
    stage = qi("indicina_stage_" + t["name"])
    cols = [c["name"] for c in t["columns"]]
    collist = ", ".join(qi(c) for c in cols)
    out = [f"CREATE TABLE IF NOT EXISTS {rel} ("
           + ", ".join(f"{qi(c['name'])} {c['type']}" for c in t["columns"]) + ");",
           f"CREATE TEMP TABLE {stage} (LIKE {rel});"]
    program = PROGRAMS[j["format"]["compression"]]
    for path in checked_parts(delivery, t):
        # a psql meta-command: one line, run by psql, read by the server from STDIN
        out.append(f"\\copy {stage} ({collist}) FROM PROGRAM '{program} {path}' WITH ({copy_options(j['format'])})")
    out.append(f"DO $check$ BEGIN IF (SELECT count(*) FROM {stage}) <> {int(t['rows'])} THEN "
               f"RAISE EXCEPTION 'table {t['name']}: not the {int(t['rows'])} rows unload.json says'; END IF; END $check$;")
    for c in t["columns"]:
        if c["type"] == "date" or c["type"].startswith("timestamp"):
            for value, sentinel in j["format"]["sentinels"].items():
                out.append(f"UPDATE {stage} SET {qi(c['name'])} = {ql(value)} "
                           f"WHERE {qi(c['name'])} = {ql(sentinel)};")
    if t["load"] == "replace":
        out += [f"DELETE FROM {rel};", f"INSERT INTO {rel} ({collist}) SELECT {collist} FROM {stage};"]
    else:
        if t["deletes"]:
            out.append(f"DELETE FROM {rel} WHERE "
                       + " OR ".join("(" + " AND ".join(f"{qi(k)} = {ql(str(v))}" for k, v in sorted(d.items())) + ")"
                                     for d in t["deletes"]) + ";")
        key = t["key"]
        on = " AND ".join(f"{qi(t['name'])}.{qi(k)} = s.{qi(k)}" for k in key)
        sets = ", ".join(f"{qi(c)} = s.{qi(c)}" for c in cols if c not in key)
        out.append(f"MERGE INTO {rel} USING {stage} s ON {on} WHEN MATCHED THEN UPDATE SET {sets} "
                   f"WHEN NOT MATCHED THEN INSERT ({collist}) VALUES ({', '.join('s.' + qi(c) for c in cols)});")
    out.append(f"DROP TABLE {stage};")
    return out


def apply_sql(delivery):
    with open(os.path.join(delivery, "unload.json")) as f:
        j = json.load(f)
    schema = qi(j["target"])
    uid = int(j["unload_id"])
    follows = "NULL" if j.get("follows") is None else str(int(j["follows"]))
    out = ["\\set ON_ERROR_STOP 1", "SET datestyle = 'ISO, YMD';", "SET timezone = 'UTC';", "BEGIN;",
           f"CREATE SCHEMA IF NOT EXISTS {schema};",
           f"CREATE TABLE IF NOT EXISTS {schema}.indicina_unloads (unload_id bigint NOT NULL, mode text NOT NULL);",
           f"DO $check$ DECLARE v_last bigint := (SELECT max(unload_id) FROM {schema}.indicina_unloads); BEGIN "
           f"IF v_last >= {uid} THEN RAISE EXCEPTION 'unload {uid} is already applied (the last is %)', v_last; END IF; "
           f"IF {follows} IS NOT NULL AND v_last IS DISTINCT FROM {follows} THEN "
           f"RAISE EXCEPTION 'unload {uid} follows unload {follows}, which is not the last applied'; END IF; END $check$;"]
    for t in j["tables"]:
        out += table_sql(delivery, j, t)
    out += [f"INSERT INTO {schema}.indicina_unloads VALUES ({uid}, {ql(j['mode'])});", "COMMIT;"]
    return "\n".join(out) + "\n"


def checksums_sql(schema):
    parts = [f"SELECT {ql(t)} AS table_name, count(*) AS rows, "
             f"coalesce(sum(('x' || substr(md5(r::text), 1, 15))::bit(60)::bigint), 0) AS checksum "
             f"FROM {qi(schema)}.{qi(t)} r" for t in TABLES]
    return "SET datestyle = 'ISO, YMD';\nSET timezone = 'UTC';\n" + "\nUNION ALL\n".join(parts) + "\nORDER BY 1;\n"


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("apply", "checksums"):
        fail("usage: roundtrip.py apply DELIVERY_DIR | checksums SCHEMA")
    sys.stdout.write(apply_sql(sys.argv[2]) if sys.argv[1] == "apply" else checksums_sql(sys.argv[2]))


if __name__ == "__main__":
    main()
