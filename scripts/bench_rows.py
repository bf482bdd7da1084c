"""What the family benchmarks (scripts/bench_*.py) share: a measurement row and the table they print and write.

Targets show as PASS/MISS; a MISS never fails a benchmark: timings are measurements, not tests.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from epictl.report.files import write_csv

COLUMNS = ["measure", "value", "unit", "target", "status"]


def row(measure: str, value: float, unit: str, target: str = "", passed: bool | None = None) -> dict:
    status = "" if passed is None else ("PASS" if passed else "MISS")
    return dict(zip(COLUMNS, (measure, value, unit, target, status)))


def report(console: Console, rows: list[dict], title: str, output: Path) -> None:
    """Print ``rows`` as one table and write them to ``output`` (csv)."""
    table = Table(title=title, caption="Timings are measurements, not tests: a MISS never fails the script.")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column == "value" else "left")
    colours = {"PASS": "green", "MISS": "red"}
    for item in rows:
        status = f"[{colours[item['status']]}]{item['status']}[/]" if item["status"] else ""
        table.add_row(item["measure"], f"{item['value']:.4g}", item["unit"], item["target"], status)
    console.print(table)
    write_csv(output, pd.DataFrame(rows, columns=COLUMNS))
    console.print(f"wrote {output}")
