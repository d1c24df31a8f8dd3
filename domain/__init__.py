"""The grants ledger's domain: aggregates, events, rules. No I/O here."""

__version__ = "0.1.0"
"""Recorded in every allocation run (its receipt), so a replay knows the code."""
