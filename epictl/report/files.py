"""Tables and texts written atomically (see `epictl.atomic`): a killed run never leaves half a table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from epictl.atomic import write_atomic


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.6g"))


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
