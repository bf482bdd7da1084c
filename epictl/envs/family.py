"""What a simulator family declares, in one place beside its env (``envs/<family>_family.py``).

The runners, the config schemas, validation and the report read everything family-specific from
here, so adding a family never touches them (epictl/sim/README.md lists the steps). Its config defaults
(default reward and budget, the env settings its envs share) are yaml: `conf/env/family/<family>.yaml`,
which every env of the family merges in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from epictl.errors import EpictlError


class Metric(NamedTuple):
    """How one metric of a family's episode report appears in metrics.csv and the tables."""

    column: str  # column name in metrics.csv
    label: str  # heading in tables and plots, with the paper's unit
    factor: float  # table value = factor x the env's value (e.g. 1e2 for a share in percent)


@dataclass
class EnvCopies:
    """The setting every env config shares (its first field): how many copies of the env a run steps together."""

    num_envs: int = 1  # a Gymnasium vector env of this many copies (envs/vector.py); 1: the env itself

    def check_copies(self) -> None:
        if not (isinstance(self.num_envs, int) and self.num_envs >= 1):
            raise EpictlError(f"env.num_envs={self.num_envs} must be a whole number >= 1")


def require_reward(config, reward, reward_type: type, wanted: str) -> None:
    """A family's env scores with one reward type; ``wanted`` names its conf/reward/ file and source."""
    if not isinstance(reward, reward_type):
        raise EpictlError(f"env {config.name} needs reward={wanted}, got reward={getattr(reward, 'name', reward)}")


def require_no_budget(config, budget, why: str) -> None:
    """A family's env that allocates no beds, masks or tests refuses a budget, saying ``why``."""
    if any(getattr(budget, key, 0) for key in ("beds", "masks_per_day", "tests_per_day")):
        raise EpictlError(f"env {config.name} {why}; use budget=none")


@dataclass(frozen=True)
class Family:
    name: str  # env.family in the yaml
    config: type  # the env config dataclass: the schema of conf/env/<env>.yaml files of this family
    build: Callable[[Any, Any, Any], Any]  # (env config, budget, reward) -> the Gymnasium env
    action: str  # the shape of its actions; agent kinds declare the shapes they produce
    metrics: dict[str, Metric]  # episode-report key -> table column, label, factor
    table_metrics: tuple[str, ...]  # the headline columns of its paper tables, in table order
    example_agents: str  # named when an agent of another family is picked for one of its envs
