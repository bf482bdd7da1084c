"""Play one episode and turn the env's day records into a metrics row and curve tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from epictl.agents.base import Agent
from epictl.envs.metapop import MetapopEnv
from epictl.report.units import in_paper_units
from epictl.sim.metapop.compartments import IH, NAMES
from epictl.sim.metapop.metrics import epidemic_metrics

ALLOCATION_COLUMNS = ["masks_total", "bed_days", "saturated_days", "episode_return"]


@dataclass
class EpisodeResult:
    row: dict
    curves: pd.DataFrame
    region_curves: pd.DataFrame | None


def play_episode(env: MetapopEnv, agent: Agent, seed: int, explore: bool = False,
                 on_day: Callable[[], None] | None = None) -> float:
    """Reset with ``seed``, act until the horizon; returns the summed reward."""
    observation, _ = env.reset(seed=seed)
    agent.reset(seed)
    total, done = 0.0, False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(agent.act(observation, explore=explore))
        total += reward
        done = terminated or truncated
        if on_day:
            on_day()
    return total


def episode_result(env: MetapopEnv, seed: int, episode_return: float, window_start: int) -> EpisodeResult:
    history = env.history
    totals = np.stack([record.totals for record in history])
    controlled = np.array([record.controlled for record in history])
    row = {"seed": seed, **in_paper_units(epidemic_metrics(totals, env.city.total_population, window_start))}
    row.update({
        "masks_total": int(sum(record.masks for record in history)),
        "bed_days": int(totals[controlled, IH].sum()),
        "saturated_days": int(sum(record.saturated_ticks > 0 for record in history if record.controlled)),
        "episode_return": float(episode_return),
    })
    curves = pd.DataFrame(totals, columns=list(NAMES))
    curves.insert(0, "controlled", controlled)
    curves.insert(0, "day", np.arange(len(history)))
    curves.insert(0, "seed", seed)
    region_curves = None
    if history[0].regions is not None:
        stacked = np.stack([record.regions for record in history])  # [days + 1, M, 8]
        days, regions = np.meshgrid(np.arange(stacked.shape[0]), np.arange(stacked.shape[1]), indexing="ij")
        region_curves = pd.DataFrame(stacked.reshape(-1, len(NAMES)), columns=list(NAMES))
        region_curves.insert(0, "region", regions.reshape(-1))
        region_curves.insert(0, "day", days.reshape(-1))
        region_curves.insert(0, "seed", seed)
    return EpisodeResult(row, curves, region_curves)
