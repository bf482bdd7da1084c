"""`epictl table`: gather metrics.csv from run folders (sweeps included) into one table.

`compare=table3` (or table4) sets the paper's numbers (conf/published/kdd21_tables.csv) beside ours
and reports the gain of `reference_agent` over the strongest baseline for both.
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


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    published = published_table(cfg.compare) if cfg.get("compare") else None
    frames = []
    for path in find_metrics(list(cfg.runs)):
        try:
            frames.append(pd.read_csv(path))
        except (OSError, pd.errors.ParserError) as exc:
            raise EpictlError(f"{path}: unreadable metrics table ({exc})") from None
    metrics = pd.concat(frames, ignore_index=True)
    output = Path(cfg.output_dir)
    write_csv(output / f"{cfg.name}.csv", long_table(metrics, published))
    text = markdown_table(metrics, cfg.name, published, cfg.get("compare"), cfg.get("reference_agent", "hrl"))
    write_text(output / f"{cfg.name}.md", text)
    print(text)
    print(f"wrote {output / cfg.name}.md and .csv")
