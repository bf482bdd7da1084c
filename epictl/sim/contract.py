"""The contract every simulator family implements (see epictl/sim/README.md for adding one).

A simulator is built from its family's validated params dataclass and advances a ``State`` (a
struct of numpy arrays plus the random streams that continue from it) one day at a time. It knows
nothing of rewards, budgets, observation models or agents: its env (``epictl/envs/``) turns an
agent's action into the family's day action and the state into observations and rewards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

StateT = TypeVar("StateT", bound="SimState")
ActionT = TypeVar("ActionT", contravariant=True)

# Units a metric may be declared in: a share of the family's population denominator, or a count of days.
SHARE = "share of the population"
DAYS = "days"
PER_PERSON = "person-days per person"  # a count summed over days, divided by the population (e.g. S1/N)


@runtime_checkable
class SimState(Protocol):
    """Everything needed to continue a run exactly: arrays, the day, the random streams."""

    @property
    def day(self) -> int:
        """Days simulated so far (a family's ``reset`` may simulate some itself, e.g. the grid's warm-up)."""

    def copy(self) -> SimState:
        """An independent deep copy (snapshots, cached free phases, checkpoints)."""


@runtime_checkable
class Simulator(Protocol[StateT, ActionT]):
    """One family's model. ``params`` is its validated params dataclass.

    ``metric_units`` declares every key ``metrics`` returns and its unit (``SHARE``, ``DAYS`` or ``PER_PERSON``).
    """

    params: Any
    metric_units: Mapping[str, str]

    def reset(self, seed: int, initial: Any = None) -> StateT:
        """A new run from ``seed``; ``initial`` is the family's initial condition (None: its params' own)."""

    def step(self, state: StateT, action: ActionT) -> None:
        """Advance ``state`` by one day under ``action`` (the family's decoded day action), in place."""

    def observe(self, state: StateT) -> np.ndarray:
        """The family's raw daily observation of ``state`` (an env may show its agent less)."""

    def metrics(self, state: StateT) -> dict[str, float]:
        """Outcome so far, keyed as in ``metric_units``."""
