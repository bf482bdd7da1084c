"""Metrics tables, summaries and figures; knows nothing of how the numbers were produced."""
