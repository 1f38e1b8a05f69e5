"""Indicators and reports: what the events of a term add up to (DESIGN.md §2)."""
