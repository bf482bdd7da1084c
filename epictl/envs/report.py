"""What an environment hands the runners at the end of an episode: plain numbers, no tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class EpisodeReport:
    """Outcome metrics, day-indexed curves and how to plot them, for one finished episode."""

    family: str  # the simulator family, which decides the metrics' table units (report/units.py)
    metrics: dict[str, float]  # metric key -> value
    curves: dict[str, np.ndarray]  # column -> one value per recorded day (day 0 first)
    plots: dict[str, list[str]] = field(default_factory=dict)  # plot name -> curve columns drawn together
    first_controlled_day: int | None = None  # a dashed line where decisions start
    region_columns: tuple[str, ...] = ()  # names of the last axis of region_curves
    region_curves: np.ndarray | None = None  # [days, regions, columns], when the env records them
