"""What an evaluation run leaves in its folder, rewritten after every episode."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from epictl.report.files import write_csv, write_parquet, write_text
from epictl.report.plots import plot_curves
from epictl.report.summary import summary_markdown


class RunFolder:
    """metrics.csv (a row per episode), curves.parquet, curves_regions.parquet, summary.md, plots/."""

    def __init__(self, path: Path, title: str):
        self.path, self.title = Path(path), title
        self.rows: list[dict] = []
        self.curves: list[pd.DataFrame] = []
        self.region_curves: list[pd.DataFrame] = []

    def add_episode(self, row: dict, curves: pd.DataFrame, region_curves: pd.DataFrame | None) -> None:
        """Record one finished episode; metrics.csv always holds every finished episode."""
        self.rows.append(row)
        self.curves.append(curves)
        write_csv(self.path / "metrics.csv", self.metrics)
        write_parquet(self.path / "curves.parquet", pd.concat(self.curves, ignore_index=True))
        if region_curves is not None:
            self.region_curves.append(region_curves)
            write_parquet(self.path / "curves_regions.parquet", pd.concat(self.region_curves, ignore_index=True))

    @property
    def metrics(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def finish(self, plots: dict[str, list[str]], first_controlled_day: int | None, draw: bool = True) -> None:
        """summary.md, and one plot per entry of ``plots`` (name -> curve columns drawn together)."""
        if not self.rows:
            return
        write_text(self.path / "summary.md", summary_markdown(self.metrics, self.title))
        if draw:
            curves = pd.concat(self.curves, ignore_index=True)
            for name, columns in plots.items():
                plot_curves(curves, columns, first_controlled_day, f"{self.title}: {name}",
                            self.path / "plots" / f"{name}.png")
