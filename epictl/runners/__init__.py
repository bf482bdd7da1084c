"""Runners: loops, seeds, checkpoints, logging, progress. One module per CLI command (epictl/app.py TASKS)."""
