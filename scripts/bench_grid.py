#!/usr/bin/env python
"""Time the grid simulator (Ohi et al. 2020): seconds per simulated day, side by side in one run.

    python scripts/bench_grid.py              # N = 10,000 and 1,000,000 at density 0.02, seed 0
    python scripts/bench_grid.py --quick      # fewer repeats, no million-person run

The Numba kernel is timed after a warm-up day (Numba compile or cache load excluded), as the median
over repeats of several days at level 0 from the same start state; the pure-Python reference
(one object per person) runs a few days from the same seed. Targets from issue 5 are shown as
PASS/MISS; a MISS never fails the script. Writes outputs/bench/bench_grid.csv.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from epictl.report.files import write_csv
from epictl.sim.grid.params import GridParams
from epictl.sim.grid.reference import ReferenceGrid
from epictl.sim.grid.simulator import GridSimulator, GridState

DENSITY = 0.02  # [paper]
INITIAL_SHARE = 0.007  # 70 of 10,000 infectious, the paper's evaluation scenario (Fig. 15)
TARGET_SECONDS = {10_000: 1e-3, 1_000_000: 0.15}  # seconds per simulated day on 2 cores
SPEEDUP_TARGET = 300.0  # reference seconds per day / kernel seconds per day at N = 10,000
REFERENCE_LIMIT = 10_000  # the pure-Python reference is only run up to this population
OUTPUT = Path("outputs") / "bench" / "bench_grid.csv"
COLUMNS = ["measure", "population", "value", "unit", "target", "status"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, only N = 10,000")
    args = parser.parse_args()
    console = Console()
    populations = [10_000] if args.quick else [10_000, 1_000_000]
    rows = []
    for n in populations:
        params = GridParams(population=n, density=DENSITY, initial_infectious=round(INITIAL_SHARE * n))
        simulator = GridSimulator(params)
        console.print(f"N = {n:,}: {params.side}² grid, {params.initial_infectious} infectious, seed {args.seed} ...")
        began = time.perf_counter()
        start = simulator.reset(args.seed)  # placement and the warm-up day (compiles or loads the kernels)
        rows.append(row("reset: placement + warm-up day (not timed below)", n, time.perf_counter() - began, "s"))
        simulator.step(start, 0)  # one more untimed day: caches and page tables warm
        days, repeats = (20, 3 if args.quick else 9) if n <= REFERENCE_LIMIT else (3, 3)
        seconds = kernel_seconds_per_day(simulator, start, days, repeats)
        target = TARGET_SECONDS[n]
        rows.append(row(f"numba kernel, median of {repeats} × {days} days", n, 1e3 * seconds, "ms/day",
                        f"≤ {1e3 * target:g} ms/day", seconds <= target))
        if n <= REFERENCE_LIMIT:
            reference_days = 2 if args.quick else 3
            console.print(f"  pure-Python reference, {reference_days} days ...")
            reference = ReferenceGrid(params, args.seed)
            reference.step_day(0)
            began = time.perf_counter()
            for _ in range(reference_days):
                reference.step_day(0)
            reference_seconds = (time.perf_counter() - began) / reference_days
            ratio = reference_seconds / seconds
            rows.append(row(f"pure-Python reference, {reference_days} days", n, 1e3 * reference_seconds, "ms/day"))
            rows.append(row("reference / kernel", n, ratio, "x", f"≥ {SPEEDUP_TARGET:g} x", ratio >= SPEEDUP_TARGET))
    print_table(console, f"bench_grid: density {DENSITY}, level 0 (15 moves per day), seed {args.seed}", rows)
    write_csv(OUTPUT, pd.DataFrame(rows, columns=COLUMNS))
    console.print(f"wrote {OUTPUT}")


def kernel_seconds_per_day(simulator: GridSimulator, start: GridState, days: int, repeats: int) -> float:
    """Median over ``repeats`` runs of ``days`` days at level 0, each from a fresh copy of ``start``."""
    runs = []
    for _ in range(repeats):
        state = start.copy()
        began = time.perf_counter()
        for _ in range(days):
            simulator.step(state, 0)
        runs.append((time.perf_counter() - began) / days)
    return float(np.median(runs))


def row(measure: str, population: int, value: float, unit: str, target: str = "", passed: bool | None = None) -> dict:
    status = "" if passed is None else ("PASS" if passed else "MISS")
    return {"measure": measure, "population": population, "value": value, "unit": unit, "target": target,
            "status": status}


def print_table(console: Console, title: str, rows: list[dict]) -> None:
    table = Table(title=title, caption="Timings are measurements, not tests: a MISS never fails the script.")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in ("population", "value") else "left")
    colours = {"PASS": "green", "MISS": "red"}
    for r in rows:
        status = f"[{colours[r['status']]}]{r['status']}[/]" if r["status"] else ""
        value = f"{r['value']:,.1f}" if r["value"] >= 100 else f"{r['value']:.4g}"
        table.add_row(r["measure"], f"{r['population']:,}", value, r["unit"], r["target"], status)
    console.print(table)


if __name__ == "__main__":
    main()
