"""What an evaluation run leaves in its folder, rewritten after every episode."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from epictl.report.files import write_csv, write_parquet, write_text
from epictl.report.plots import plot_curves
from epictl.report.summary import summary_markdown


class RunFolder:
    """metrics.csv (a row per episode), curves.parquet, curves_regions.parquet, summary.md, plots/."""

    def __init__(self, path: Path, title: str, compartments: list[str], extra_columns: list[str]):
        self.path, self.title = Path(path), title
        self.compartments, self.extra_columns = compartments, extra_columns
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

    def finish(self, first_controlled_day: int | None, plots: bool = True) -> None:
        if not self.rows:
            return
        write_text(self.path / "summary.md", summary_markdown(self.metrics, self.title, self.extra_columns))
        if plots:
            curves = pd.concat(self.curves, ignore_index=True)
            infected = [c for c in self.compartments if c not in ("S", "R", "D")]
            plot_curves(curves, infected, first_controlled_day, f"{self.title}: infected",
                        self.path / "plots" / "infected.png")
            plot_curves(curves, ["R", "D"], first_controlled_day, f"{self.title}: resolved",
                        self.path / "plots" / "resolved.png")
