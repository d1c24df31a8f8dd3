"""Rendering for people and programs: tables, JSON, CSV, XLSX and the audit dossier."""
