#!/usr/bin/env python3
"""roundtrip.py: applies indicina unload deliveries to a plain PostgreSQL
database standing in for Redshift, reading nothing but the delivery.

    roundtrip.py apply DELIVERY_DIR     a psql script that applies it
    roundtrip.py apply s3://BUCKET/PREFIX/ DIR
                                        the same for a delivery in S3: unload.json,
                                        the manifests and the parts read with boto3
                                        (Debian's python3-boto3; S3_ENDPOINT,
                                        S3_REGION, S3_KEY, S3_SECRET), as Redshift's
                                        COPY reads the manifests' s3:// URLs, each
                                        part downloaded into DIR/KEY and checked there
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


class LocalDelivery:
    """A delivery in a directory: its parts' URLs are their paths."""

    def __init__(self, top):
        self.top = top

    def json(self, name):
        with open(os.path.join(self.top, name)) as f:
            return json.load(f)

    def local_path(self, url):
        return url


class S3Delivery:
    """A delivery under s3://BUCKET/PREFIX/, read with boto3.  The parts are
    downloaded before they are loaded: psql's \\copy reads a local program's
    output, and the checks below are then made on the bytes S3 gave."""

    def __init__(self, url, into):
        import boto3
        from botocore.config import Config
        self.bucket, _, self.prefix = url[len("s3://"):].partition("/")
        self.into = into
        self.s3 = boto3.client("s3", endpoint_url=os.environ.get("S3_ENDPOINT"), region_name=os.environ["S3_REGION"],
                               aws_access_key_id=os.environ["S3_KEY"], aws_secret_access_key=os.environ["S3_SECRET"],
                               config=Config(s3={"addressing_style": "path"}))

    def json(self, name):
        return json.loads(self.s3.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read())

    def local_path(self, url):
        head = f"s3://{self.bucket}/"
        if not url.startswith(head):
            fail(f"a part outside the delivery's bucket: {url}")
        path = os.path.join(self.into, url[len(head):])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.s3.download_file(self.bucket, url[len(head):], path)
        return path


def checked_parts(delivery, table):
    """The parts of a table as its manifest lists them, each checked against unload.json and the disk."""
    if not table["parts"]:
        if table.get("manifest"):
            fail(f"{table['name']}: a manifest without parts")
        return []
    entries = delivery.json(table["manifest"])["entries"]
    if [e["url"] for e in entries] != [p["url"] for p in table["parts"]]:
        fail(f"{table['name']}: the manifest and unload.json list different parts")
    paths = []
    for e, p in zip(entries, table["parts"]):
        path = delivery.local_path(e["url"])
        if not SAFE_PATH.match(path):
            fail(f"{table['name']}: a part URL this loader cannot read: {path}")
        size = os.path.getsize(path)
        if not (e["mandatory"] and e["meta"]["content_length"] == size == p["bytes"]):
            fail(f"{path}: size {size} is not what the manifest and unload.json say")
        if sha256_of(path) != p["sha256"]:
            fail(f"{path}: SHA-256 differs from unload.json")
        paths.append(path)
    return paths


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
    j = delivery.json("unload.json")
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
    args = sys.argv[1:]
    if args[:1] == ["apply"] and len(args) == 3 and args[1].startswith("s3://"):
        sys.stdout.write(apply_sql(S3Delivery(args[1], args[2])))
    elif args[:1] == ["apply"] and len(args) == 2 and not args[1].startswith("s3://"):
        sys.stdout.write(apply_sql(LocalDelivery(args[1])))
    elif args[:1] == ["checksums"] and len(args) == 2:
        sys.stdout.write(checksums_sql(args[1]))
    else:
        fail("usage: roundtrip.py apply DELIVERY_DIR | apply s3://BUCKET/PREFIX/ DIR | checksums SCHEMA")


if __name__ == "__main__":
    main()
