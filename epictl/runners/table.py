"""`epictl table`: gather metrics.csv from run folders (sweeps included) into one table.

Cells are mean ± 95 % CI over training runs (column train_seed; a fixed policy is one run) x evaluation
seeds. `compare=table3` (or table4) sets the paper's numbers (conf/published/kdd21_tables.csv) beside
ours, reports the gain of `reference_agent` over the strongest baseline for both (ours with its CI) and
tests the reference against that baseline, paired on the evaluation seeds.
"""

from __future__ import annotations

import glob
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig

from epictl.errors import EpictlError
from epictl.report.files import write_csv, write_text
from epictl.report.published import published_table
from epictl.report.table import long_table, markdown_table
from epictl.report.units import ID_COLUMNS, table_metrics


def find_metrics(patterns: list[str]) -> list[Path]:
    files: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(str(Path(pattern).expanduser())))
        if not matches:
            raise EpictlError(f"runs: nothing matches {pattern!r}")
        for match in map(Path, matches):
            files += [match] if match.name == "metrics.csv" else sorted(match.rglob("metrics.csv"))
    if not files:
        raise EpictlError(f"runs: no metrics.csv under {', '.join(patterns)}")
    return files


def read_metrics(path: Path) -> pd.DataFrame:
    """One run's metrics.csv, or a one-line error saying what is wrong with it."""
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise EpictlError(f"{path}: empty metrics table") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise EpictlError(f"{path}: unreadable metrics table ({str(exc).splitlines()[0]})") from None
    missing = [column for column in ID_COLUMNS if column not in frame.columns]
    if missing:
        raise EpictlError(f"{path}: not an epictl metrics table (no {', '.join(missing)} column)")
    if frame.empty:
        raise EpictlError(f"{path}: no episodes in the metrics table")
    try:
        columns = table_metrics(frame.columns)
    except EpictlError as exc:
        raise EpictlError(f"{path}: {exc}") from None
    textual = [column for column in columns if not pd.api.types.is_numeric_dtype(frame[column])]
    if textual:
        raise EpictlError(f"{path}: column {textual[0]} holds text, not numbers")
    return frame


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    published = published_table(cfg.compare) if cfg.get("compare") else None
    metrics = pd.concat([read_metrics(path) for path in find_metrics(list(cfg.runs))], ignore_index=True)
    output = Path(cfg.output_dir)
    text = markdown_table(metrics, cfg.name, published, cfg.get("compare"), cfg.get("reference_agent", "hrl"))
    try:
        write_csv(output / f"{cfg.name}.csv", long_table(metrics, published))
        write_text(output / f"{cfg.name}.md", text)
    except OSError as exc:
        raise EpictlError(f"output_dir={cfg.output_dir}: cannot write the table ({exc.strerror or exc})") from None
    print(text)
    print(f"wrote {output / cfg.name}.md and .csv")
