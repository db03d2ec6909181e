"""The original assessment's pandas steps on a landing directory: read the
loan applications and every statement file, cast the columns (astype, dates),
merge loans with transactions and write the result to CSV.  Prints the
elapsed seconds.  Run with Debian's python3 (python3-pandas)."""
import glob
import os
import sys
import time

import pandas as pd

landing, out = sys.argv[1], sys.argv[2]
start = time.monotonic()
loans = pd.read_csv(os.path.join(landing, "loans", "loan_applications.csv"))
loans = loans.astype({"Application_ID": "string", "Customer_ID": "string", "Loan_Amount": "float64",
                      "Credit_Score": "int64", "Employment_Status": "string", "Annual_Income": "float64"})
loans["Loan_Application_Date"] = pd.to_datetime(loans["Loan_Application_Date"])
files = sorted(glob.glob(os.path.join(landing, "statements", "*.csv*")))
stmts = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
stmts = stmts.astype({"Transaction_ID": "string", "Customer_ID": "string", "Transaction_Amount": "float64",
                      "Narration": "string", "Balance": "float64"})
stmts["Transaction_Date"] = pd.to_datetime(stmts["Transaction_Date"])
merged = loans.merge(stmts, on="Customer_ID", how="inner")
merged.to_csv(out, index=False)
print(f"{time.monotonic() - start:.3f}")
