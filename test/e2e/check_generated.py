#!/usr/bin/env python3
"""check_generated.py LANDING_DIR

Re-derives, by its own means (Python's csv module and its own parsing, none
of the generator's code), every defect a generated landing directory holds,
and compares them with the generator's record (defects.csv / defects.json).

Prints TAP-style "name: OK" / "name: MISMATCH ..." lines and a final
"summary ..." line; exits 1 on any mismatch.  Also prints a few statistics
(employment mix, income by status, ranges) for the caller to assert on.
"""
import csv
import datetime
import gzip
import io
import json
import os
import re
import sys
from collections import Counter, defaultdict

TODAY = datetime.date.today()
LOAN_COLS = ["application_id", "customer_id", "loan_amount", "loan_application_date",
             "credit_score", "employment_status", "annual_income"]
STMT_COLS = ["transaction_id", "customer_id", "transaction_date", "transaction_amount",
             "narration", "balance"]
CANON_LOAN_HEADER = ["Application_ID", "Customer_ID", "Loan_Amount", "Loan_Application_Date",
                     "Credit_Score", "Employment_Status", "Annual_Income"]
CANON_STMT_HEADER = ["Transaction_ID", "Customer_ID", "Transaction_Date", "Transaction_Amount",
                     "Narration", "Balance"]
STATUSES = {"Employed", "Self-Employed", "Unemployed"}
MONTHS = {m: i + 1 for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])}
PLAIN_AMOUNT = re.compile(r"^-?\d+\.\d\d$")
PLAIN_INT = re.compile(r"^-?\d+$")


def norm(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def parse_date(text):
    """Returns (date, spelling) with spelling 'iso' or 'other', or (None, 'bad')."""
    t = text.strip()
    forms = [
        (r"^(\d{4})-(\d{2})-(\d{2})$", lambda m: (int(m[1]), int(m[2]), int(m[3])), "iso"),
        (r"^(\d{2})/(\d{2})/(\d{4})$", lambda m: (int(m[3]), int(m[2]), int(m[1])), "other"),
        (r"^(\d{2})-([A-Z][a-z]{2})-(\d{4})$", lambda m: (int(m[3]), MONTHS.get(m[2], 0), int(m[1])), "other"),
        (r"^(\d{4})(\d{2})(\d{2})$", lambda m: (int(m[1]), int(m[2]), int(m[3])), "other"),
        (r"^([A-Z][a-z]{2}) (\d{1,2}), (\d{4})$", lambda m: (int(m[3]), MONTHS.get(m[1], 0), int(m[2])), "other"),
    ]
    for rx, get, spelling in forms:
        m = re.match(rx, t)
        if m:
            try:
                return datetime.date(*get(m)), spelling
            except ValueError:
                return None, "bad"
    return None, "bad"


def parse_amount(text):
    """Cents of a dirty amount spelling, by a parser independent of the C one."""
    t = text.strip()
    neg = False
    if t.startswith("(") and t.endswith(")"):
        neg, t = True, t[1:-1]
    for suffix, sign in ((" DR", True), (" CR", False)):
        if t.endswith(suffix):
            neg, t = sign, t[: -len(suffix)]
    if t.endswith("-"):
        neg, t = True, t[:-1]
    if t.startswith("-"):
        neg, t = True, t[1:]
    for prefix in ("NGN ", "\u20a6", "$", "+"):
        if t.startswith(prefix):
            t = t[len(prefix):]
    if t.startswith("-"):
        neg, t = True, t[1:]
    t = t.replace(",", "")
    if not re.match(r"^\d+(\.\d\d)?$", t):
        raise ValueError(text)
    whole, _, frac = t.partition(".")
    cents = int(whole) * 100 + int(frac or 0)
    return -cents if neg else cents


def read_file(path):
    raw = open(path, "rb").read()
    gz = raw[:2] == b"\x1f\x8b"
    if gz:
        raw = gzip.decompress(raw)
    bom = raw.startswith(b"\xef\xbb\xbf")
    if bom:
        raw = raw[3:]
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    crlf = all(l.endswith(b"\r") for l in lines) and len(lines) > 0
    return raw, lines, gz, bom, crlf


def main():
    root = sys.argv[1]
    summary = json.load(open(os.path.join(root, "defects.json")))
    recorded = set()
    with open(os.path.join(root, "defects.csv"), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            recorded.add((r["source"], r["kind"], r["file"], r["line"]))

    found = set()
    stats = {}

    def add(source, kind, rel, line):
        found.add((source, kind, rel, "" if line is None else str(line)))

    def scan(rel, source, canon_header, cols):
        raw, lines, gz, bom, crlf = read_file(os.path.join(root, rel))
        if gz:
            add(source, "gzip", rel, None)
        if bom:
            add(source, "bom", rel, 1)
        if crlf:
            add(source, "crlf", rel, None)
        rows = []
        for lineno, line in enumerate(lines, start=1):
            text = line.rstrip(b"\r").decode("utf-8", errors="surrogateescape")
            fields = next(csv.reader(io.StringIO(text)))
            rows.append((lineno, line.rstrip(b"\r"), fields))
        header = rows[0][2]
        if header != canon_header:
            if [norm(h) for h in header] == [norm(h) for h in canon_header]:
                add(source, "header_variant", rel, 1)
            elif sorted(norm(h) for h in header) == sorted(norm(h) for h in canon_header):
                add(source, "column_order", rel, 1)
                if header != [canon_header[[norm(c) for c in canon_header].index(norm(h))] for h in header]:
                    add(source, "header_variant", rel, 1)
            else:
                raise SystemExit(f"{rel}: unexpected header {header}")
        pos = [[norm(h) for h in header].index(norm(c)) for c in canon_header]
        out = []
        prev = None
        for lineno, rawline, fields in rows[1:]:
            if prev is not None and rawline == prev:
                add(source, "duplicate_row", rel, lineno)
                prev = rawline
                continue
            prev = rawline
            if len(fields) < len(cols):
                add(source, "missing_fields", rel, lineno)
                continue
            if len(fields) > len(cols):
                add(source, "extra_fields", rel, lineno)
                continue
            try:
                rawline.decode("utf-8")
            except UnicodeDecodeError:
                add(source, "invalid_utf8", rel, lineno)
                continue
            rec = {c: fields[p] for c, p in zip(cols, pos)}
            out.append((rel, lineno, rec))
        return out

    def ids_and_date(source, rel, lineno, r, id_col, date_col):
        """Records the row's blank_id, impossible_date, future_date or
        date_format defect; returns its date, or None when a blank id or an
        impossible date ends its checks."""
        if r[id_col] == "" or r["customer_id"] == "":
            add(source, "blank_id", rel, lineno)
            return None
        d, spelling = parse_date(r[date_col])
        if d is None:
            add(source, "impossible_date", rel, lineno)
        elif d > TODAY:
            add(source, "future_date", rel, lineno)
        elif spelling != "iso":
            add(source, "date_format", rel, lineno)
        return d

    # ---- loans
    loan_customers = set()
    status_count = Counter()
    income_by_status = defaultdict(list)
    scores = []
    for o in summary["outputs"]:
        if o["source"] != "loans":
            continue
        rel = o["file"]
        for rel, lineno, r in scan(rel, "loans", CANON_LOAN_HEADER, LOAN_COLS):
            d = ids_and_date("loans", rel, lineno, r, "application_id", "loan_application_date")
            if d is None or d > TODAY:
                continue
            if not PLAIN_INT.match(r["loan_amount"]) or not PLAIN_INT.match(r["annual_income"]):
                add("loans", "amount_format", rel, lineno)
            elif int(r["loan_amount"]) < 0:
                add("loans", "negative_loan", rel, lineno)
                continue
            status = r["employment_status"]
            if status not in STATUSES:
                add("loans", "status_spelling", rel, lineno)
                status = {norm(s): s for s in STATUSES}.get(norm(status.replace("Un-", "Un")))
            score = int(r["credit_score"])
            if not 300 <= score <= 850:
                add("loans", "score_out_of_range", rel, lineno)
                continue
            loan_customers.add(r["customer_id"])
            status_count[status] += 1
            income_by_status[status].append(parse_amount(r["annual_income"]) / 100)
            scores.append(score)

    # ---- statements
    chains = defaultdict(list)
    txn_rows = 0
    for fileno, o in enumerate(summary["outputs"]):
        if o["source"] != "statements":
            continue
        for rel, lineno, r in scan(o["file"], "statements", CANON_STMT_HEADER, STMT_COLS):
            d = ids_and_date("statements", rel, lineno, r, "transaction_id", "transaction_date")
            if d is None:
                continue
            if not PLAIN_AMOUNT.match(r["transaction_amount"]) or not PLAIN_AMOUNT.match(r["balance"]):
                add("statements", "amount_format", rel, lineno)
            if r["customer_id"] not in loan_customers:
                add("statements", "unknown_customer", rel, lineno)
            txn_rows += 1
            chains[r["customer_id"]].append(
                (d, fileno, lineno, rel, parse_amount(r["transaction_amount"]), parse_amount(r["balance"])))
    for cust, chain in chains.items():
        chain.sort()
        for prev, cur in zip(chain, chain[1:]):
            if prev[5] + cur[4] != cur[5]:
                add("statements", "balance_break", cur[3], cur[2])

    # ---- compare locations and counts
    failures = 0
    missing = sorted(recorded - found)
    extra = sorted(found - recorded)
    if missing or extra:
        failures += 1
        print(f"locations: MISMATCH recorded-not-found={missing[:5]} found-not-recorded={extra[:5]}"
              f" ({len(missing)} and {len(extra)})")
    else:
        print(f"locations: OK {len(recorded)} defects at identical file:line")
    counted = Counter((s, k) for s, k, _, _ in found)
    for source, kinds in summary["defects"].items():
        for kind, n in kinds.items():
            if counted[(source, kind)] != n:
                failures += 1
                print(f"count {source}.{kind}: MISMATCH json={n} found={counted[(source, kind)]}")
    print(f"counts: {'OK' if failures == 0 else 'MISMATCH'} {sum(counted.values())} defects")

    total = sum(status_count.values())
    mean = {s: sum(v) / len(v) for s, v in income_by_status.items() if v}
    print("share " + " ".join(f"{s}={status_count[s] / total:.3f}" for s in sorted(STATUSES)))
    print("income_order " + ("OK" if mean.get("Self-Employed", 0) > mean.get("Employed", 0) > mean.get("Unemployed", 0)
                             else f"BAD {mean}"))
    print(f"score_range {min(scores)} {max(scores)}")
    print(f"transactions {txn_rows}")
    print(f"summary failures={failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
