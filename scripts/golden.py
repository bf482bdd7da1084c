"""Golden numbers: the metrics of a fixed set of small runs, checked against a committed baseline.

Every simulator family runs a few fixed (non-learning) policies over a few seeds through the public
``epictl eval`` command, and each numeric column of the run's metrics.csv is compared with
tests/golden/golden.csv. Fixed policies on these simulators are deterministic per seed (no torch, whose
results can differ across CPUs), so any difference means the results changed: a change to a kernel, an
env or a config that shifts numbers cannot pass silently. metrics.csv holds 6 significant digits, so each
run's daily curves (curves.parquet) are checked too: per seed and integer-valued column (the
compartment counts), ``curve_<column>`` = sum over days t of (t + 1) x value, which moves with any
change of any day's count. When the change is intended, rewrite the baseline and commit it with the
change: its diff shows what moved.

    python scripts/golden.py                  # check: print each difference, exit 1 if there is one
    python scripts/golden.py --refresh        # rewrite tests/golden/golden.csv (make golden)
    python scripts/golden.py --baseline PATH  # check against (or, with --refresh, write) another file

The runs use the epictl that the running interpreter imports, so another checkout's venv checks that
checkout's code. tests/test_golden.py runs the same check.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import epictl

BASELINE = Path(__file__).resolve().parents[1] / "tests" / "golden" / "golden.csv"
HEADER = ["run", "seed", "metric", "value"]
KEY_COLUMNS = {"agent", "env", "experiment", "seed"}  # metrics.csv columns that name a row, not measure it
RELATIVE_TOLERANCE = 1e-9  # floats: absorbs formatting noise, not a real change
REFRESH_COMMAND = "make golden"
COMMON = ["progress=false", "plots=false"]


@dataclass(frozen=True)
class Run:
    name: str  # the run's id in the baseline file
    overrides: tuple[str, ...]  # `epictl eval` overrides besides COMMON and the run folder


RUNS = (
    # The metapop family on the 12-region test city (20 free + 10 controlled days), seeds 0-2.
    Run("tiny/expert_seriousness", ("env=tiny", "agent=expert_seriousness", "seeds=3")),
    Run("tiny/no_medical", ("env=tiny", "agent=no_medical", "seeds=3")),
    Run("tiny/random", ("env=tiny", "agent=random", "seeds=3")),
    Run("tiny/expert_population/imperfect",
        ("env=tiny", "agent=expert_population", "env.observation=imperfect", "seeds=3")),
    Run("tiny/expert_seriousness/exact_mobility",
        ("env=tiny", "agent=expert_seriousness", "env.sim.mobility=exact", "seeds=2")),
    # The grid family: the test world, and the released code's world shrunk to 500 people at its
    # density 0.02 (grid_side=null: the preset's fixed 708-cell side is for 10,000 people).
    Run("grid_tiny/no_lockdown", ("env=grid_tiny", "agent=no_lockdown", "seeds=3")),
    Run("grid_tiny/n_work_m_lockdown", ("env=grid_tiny", "agent=n_work_m_lockdown", "seeds=3")),
    Run("grid_released/no_lockdown",
        ("env=grid_released", "agent=no_lockdown", "env.sim.population=500", "env.sim.grid_side=null",
         "env.sim.initial_infectious=4", "seeds=2")),
    # The cluster family: heuristics on the 4-cluster test problem, and 20 synchronous clusters with same-day results.
    Run("clusters_tiny/symp_avgrand", ("env=clusters_tiny", "agent=symp_avgrand", "seeds=3")),
    Run("clusters_tiny/cluster_cdc", ("env=clusters_tiny", "agent=cluster_cdc", "seeds=3")),
    Run("clusters/sync/cluster_14day",
        ("env=clusters", "agent=cluster_14day", "env.sim.activation=sync", "env.sim.result_delay_days=0", "seeds=2")),
    # The contact-tracing city: the rules on the 1,000-person test city, and the round-1 preset's sample run.
    Run("papw_tiny/none", ("env=papw_tiny", "agent=none", "seeds=3")),
    Run("papw_tiny/trace_contacts", ("env=papw_tiny", "agent=trace_contacts", "seeds=3")),
    Run("papw_tiny/prob_threshold", ("env=papw_tiny", "agent=prob_threshold", "seeds=2")),
    Run("papw_round1/none", ("env=papw_round1", "agent=none", "seeds=2")),
    # The age-stratified city at 2,000 agents: nothing, and the 30-day lockdown with vaccination (two runs a seed).
    Run("abm_tiny/abm_nothing", ("env=abm_tiny", "agent=abm_nothing", "seeds=2")),
    Run("abm_tiny/abm_partial_lockdown", ("env=abm_tiny", "agent=abm_partial_lockdown", "seeds=2")),
)

Values = dict[tuple[str, int, str], int | float]  # (run, seed, metric) -> value


class GoldenError(Exception):
    """A problem that stops the check, in one line: a missing or malformed file, a failed run in --refresh."""


def parse_number(text: str) -> int | float | None:
    """An int when the text is one (compared exactly), else a float; None for text that is no number."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def format_number(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(value)  # repr: a float reads back exactly


def run_eval(run: Run, run_dir: Path) -> str | None:
    """``epictl eval`` in this process, its output captured; why it failed, in one line (None: it did not)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            from epictl.cli import main

            code = main(["eval", *run.overrides, *COMMON, f"hydra.run.dir={run_dir}"])
        except SystemExit as exc:  # Hydra exits instead of returning
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # a crash is one failed run among the others, not the end of the check
            return f"raised {type(exc).__name__}: {exc}"
    if code == 0:
        return None
    lines = (err.getvalue() or out.getvalue()).strip().splitlines()
    return f"exit {code}: {lines[-1] if lines else 'no output'}"


def read_metrics(run: Run, path: Path) -> Values:
    """Every numeric column of the run's metrics.csv, per seed."""
    values: Values = {}
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            seed = parse_number(row.get("seed") or "")
            if not isinstance(seed, int):
                raise GoldenError(f"run {run.name}: a row of its metrics.csv has no integer seed: {row}")
            for metric, text in row.items():
                value = parse_number(text)
                if metric not in KEY_COLUMNS and value is not None:
                    values[(run.name, seed, metric)] = value
    return values


def read_curves(run: Run, path: Path) -> Values:
    """``curve_<column>`` per seed: the day-weighted sum of each integer column of curves.parquet."""
    import pandas as pd

    curves = pd.read_parquet(path)
    counted = [column for column in curves.columns
               if column not in KEY_COLUMNS | {"day"} and pd.api.types.is_integer_dtype(curves[column])]
    values: Values = {}
    for seed, days in curves.groupby("seed"):
        weights = days["day"].to_numpy() + 1
        for column in counted:
            values[(run.name, int(seed), f"curve_{column}")] = int((days[column].to_numpy() * weights).sum())
    return values


def compute() -> tuple[Values, dict[str, str]]:
    """The metrics of every run that succeeded, and why each other run failed (run name -> one line)."""
    values: Values = {}
    failures = {}
    with tempfile.TemporaryDirectory(prefix="golden-") as scratch:
        for index, run in enumerate(RUNS):
            run_dir = Path(scratch) / f"run{index}"
            metrics = run_dir / "metrics.csv"
            failure = run_eval(run, run_dir) or (None if metrics.is_file() else "it wrote no metrics.csv")
            if failure is None:
                values |= read_metrics(run, metrics) | read_curves(run, run_dir / "curves.parquet")
            else:
                failures[run.name] = (f"run failed ({failure}); "
                                      f"rerun: epictl eval {' '.join(run.overrides)} {' '.join(COMMON)}")
    return values, failures


def read_baseline(path: Path) -> Values:
    if not path.is_file():
        raise GoldenError(f"baseline {path} not found; write it with `{REFRESH_COMMAND}`")
    try:
        with path.open(newline="") as file:
            rows = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GoldenError(f"baseline {path}: cannot read it ({exc})") from None
    if not rows or rows[0] != HEADER:
        raise GoldenError(f"baseline {path}: the first line must be {','.join(HEADER)}")
    values: Values = {}
    for line_number, row in enumerate(rows[1:], start=2):
        seed = parse_number(row[1]) if len(row) == len(HEADER) else None
        value = parse_number(row[3]) if len(row) == len(HEADER) else None
        if not isinstance(seed, int) or value is None:
            raise GoldenError(f"baseline {path} line {line_number}: expected run,seed,metric,value "
                              f"with an integer seed and a numeric value, got {','.join(row)!r}")
        values[(row[0], seed, row[2])] = value
    return values


def write_baseline(path: Path, values: Values) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    run_order = {run.name: index for index, run in enumerate(RUNS)}
    # Runs as RUNS lists them, seeds in order, metrics in metrics.csv's column order (the sort is stable).
    keys = sorted(values, key=lambda key: (run_order[key[0]], key[1]))
    with path.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows([*key, format_number(values[key])] for key in keys)


def same(expected: int | float, got: int | float) -> bool:
    if isinstance(expected, int) and isinstance(got, int):
        return expected == got
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    return math.isclose(expected, got, rel_tol=RELATIVE_TOLERANCE, abs_tol=0.0)


def differences(expected: Values, got: Values) -> list[str]:
    """One line per run, seed and metric that differs, is missing, or is new."""
    lines = []
    for run, seed, metric in sorted(expected.keys() | got.keys()):
        key = (run, seed, metric)
        where = f"{run} seed {seed} {metric}"
        if key not in got:
            lines.append(f"{where}: expected {format_number(expected[key])}, got nothing (missing)")
        elif key not in expected:
            lines.append(f"{where}: not in the baseline, got {format_number(got[key])}")
        elif not same(expected[key], got[key]):
            lines.append(f"{where}: expected {format_number(expected[key])}, got {format_number(got[key])}")
    return lines


def check(baseline: Path) -> list[str]:
    """One line per failed run, then one per difference of the other runs from the baseline (empty: none)."""
    expected = read_baseline(baseline)  # before the runs: a bad file fails at once
    values, failures = compute()
    comparable = {key: value for key, value in expected.items() if key[0] not in failures}
    return [f"{name}: {failure}" for name, failure in failures.items()] + differences(comparable, values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true", help="rewrite the baseline from fresh runs")
    parser.add_argument("--baseline", type=Path, default=BASELINE, help=f"baseline file (default {BASELINE})")
    args = parser.parse_args(argv)
    print(f"golden: {len(RUNS)} runs with epictl from {Path(epictl.__file__).parent}")
    try:
        if args.refresh:
            values, failures = compute()
            if failures:  # a partial baseline would pass runs that no longer run
                name, failure = next(iter(failures.items()))
                raise GoldenError(f"nothing written: {len(failures)} runs failed, the first {name}: {failure}")
            write_baseline(args.baseline, values)
            print(f"golden: wrote {len(values)} values to {args.baseline}")
            return 0
        found = check(args.baseline)
    except GoldenError as exc:
        print(f"golden: error: {exc}", file=sys.stderr)
        return 2
    for line in found:
        print(f"  {line}")
    if found:
        print(f"golden: {len(found)} problems against {args.baseline}; if a change is intended, "
              f"refresh it with `{REFRESH_COMMAND}` and commit it")
        return 1
    print(f"golden: no differences from {args.baseline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
