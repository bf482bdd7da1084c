"""What an evaluation run leaves in its folder, kept up to date after every episode at a cost that does not
grow with the episodes already written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from epictl.atomic import append_line
from epictl.report.files import write_csv, write_parquet, write_text
from epictl.report.plots import plot_curves
from epictl.report.summary import summary_markdown

PARTS = ".episodes"  # per-episode curve files until finish() joins them


class RunFolder:
    """metrics.csv (a row per episode), curves.parquet, curves_regions.parquet, summary.md, plots/.

    After each episode its curves go to a file of their own and then its row is appended to metrics.csv
    (one complete line per write, so a killed run never leaves half a row); finish() writes the whole
    tables, the summary and the plots.
    """

    def __init__(self, path: Path, title: str):
        self.path, self.title = Path(path), title
        self.parts = self.path / PARTS
        self.rows: list[dict] = []
        self.regions = False

    def add_episode(self, row: dict, curves: pd.DataFrame, region_curves: pd.DataFrame | None) -> None:
        """Record one finished episode; metrics.csv always holds every finished episode."""
        episode = len(self.rows)
        if episode == 0:  # a rerun into the same folder starts its tables afresh
            shutil.rmtree(self.parts, ignore_errors=True)
            for name in ("metrics.csv", "curves.parquet", "curves_regions.parquet"):
                (self.path / name).unlink(missing_ok=True)
        write_parquet(self.parts / f"curves-{episode:09d}.parquet", curves)
        if region_curves is not None:
            self.regions = True
            write_parquet(self.parts / f"regions-{episode:09d}.parquet", region_curves)
        line = pd.DataFrame([row]).to_csv(index=False, header=episode == 0, float_format="%.6g")
        append_line(self.path / "metrics.csv", line)
        self.rows.append(row)

    @property
    def metrics(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def finish(self, plots: dict[str, list[str]], first_controlled_day: int | None, draw: bool = True) -> None:
        """The whole tables, summary.md, and one plot per entry of ``plots`` (name -> curve columns drawn together)."""
        if not self.rows:
            return
        write_csv(self.path / "metrics.csv", self.metrics)
        curves = self.joined("curves")
        write_parquet(self.path / "curves.parquet", curves)
        if self.regions:
            write_parquet(self.path / "curves_regions.parquet", self.joined("regions"))
        shutil.rmtree(self.parts, ignore_errors=True)
        write_text(self.path / "summary.md", summary_markdown(self.metrics, self.title))
        if draw:
            for name, columns in plots.items():
                plot_curves(curves, columns, first_controlled_day, f"{self.title}: {name}",
                            self.path / "plots" / f"{name}.png")

    def joined(self, kind: str) -> pd.DataFrame:
        """The curves of every recorded episode (a part written after the last row is not one of them)."""
        frames = [pd.read_parquet(self.parts / f"{kind}-{episode:09d}.parquet") for episode in range(len(self.rows))]
        return pd.concat(frames, ignore_index=True)
