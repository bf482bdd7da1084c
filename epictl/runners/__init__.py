"""Runners: loops, seeds, checkpoints, logging, progress. One module per CLI command."""

from importlib import import_module

MODULES = {"train": "train", "eval": "evaluate", "table": "table", "bench": "bench", "calibrate": "calibrate"}


def runner(command: str):
    """The `run(cfg, out_dir, choices)` of a command, imported only when that command runs."""
    return import_module(f"epictl.runners.{MODULES[command]}").run
