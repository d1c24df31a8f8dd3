"""The grants ledger's domain: aggregates, events, rules. No I/O here."""
