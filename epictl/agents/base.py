"""The agent interface every policy, learned or not, implements."""

from __future__ import annotations

from typing import Any


class Agent:
    """``act(obs, explore) -> action``; learning agents also implement ``update`` and the state dicts."""

    trainable = False

    def reset(self, seed: int) -> None:
        """Start an episode; agents with their own randomness reseed it here."""

    def act(self, observation, explore: bool = False) -> Any:
        raise NotImplementedError

    def update(self, batch) -> dict[str, float]:
        """One learning step on a batch of transitions; fixed policies learn nothing."""
        return {}

    def state_dict(self) -> dict:
        """Everything needed to restore the agent (parameters, optimisers, random state)."""
        return {}

    def load_state_dict(self, state: dict, source: str) -> None:
        """Restore from ``state_dict()``; ``source`` names the file in error messages."""
