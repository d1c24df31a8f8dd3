"""Read models derived from the ledger (see docs/ARCHITECTURE.md)."""
