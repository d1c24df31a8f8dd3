"""Named queries: what the CLI, the HTTP API, the web pages and the exports read.

Each query takes the ledger (and/or a read store) and typed parameters and returns
typed rows (frozen dataclasses); a row's `as_dict()` is the flat row the outputs
print (JSON, CSV, tables, HTTP bodies). The callers keep only parsing and
rendering. docs/ARCHITECTURE.md ("Queries") lists them.
"""
