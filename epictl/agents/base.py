"""The agent interface every policy, learned or not, implements."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Agent:
    """``act(obs, explore) -> action``; learning agents also implement ``update``, ``save``, ``load``."""

    trainable = False

    def reset(self, seed: int) -> None:
        """Start an episode; agents with their own randomness reseed it here."""

    def act(self, observation, explore: bool = False) -> Any:
        raise NotImplementedError

    def update(self, batch) -> dict[str, float]:
        return {}

    def save(self, path: Path) -> None:
        """Heuristic agents have no parameters to save."""

    def load(self, path: Path) -> None:
        """Heuristic agents have no parameters to load."""
