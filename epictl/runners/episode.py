"""Turn the env's episode report into a metrics row and curve tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from epictl.envs.report import EpisodeReport
from epictl.report.units import in_table_units


@dataclass
class EpisodeResult:
    row: dict
    curves: pd.DataFrame
    region_curves: pd.DataFrame | None


def episode_result(report: EpisodeReport, seed: int, episode_return: float) -> EpisodeResult:
    row = {"seed": seed, **in_table_units(report.family, report.metrics), "episode_return": float(episode_return)}
    curves = pd.DataFrame(report.curves)
    curves.insert(0, "day", np.arange(len(curves)))
    curves.insert(0, "seed", seed)
    region_curves = None
    if report.region_curves is not None:
        stacked = report.region_curves  # [days, regions, columns]
        days, regions = np.meshgrid(np.arange(stacked.shape[0]), np.arange(stacked.shape[1]), indexing="ij")
        region_curves = pd.DataFrame(stacked.reshape(-1, stacked.shape[2]), columns=list(report.region_columns))
        region_curves.insert(0, "region", regions.reshape(-1))
        region_curves.insert(0, "day", days.reshape(-1))
        region_curves.insert(0, "seed", seed)
    return EpisodeResult(row, curves, region_curves)
