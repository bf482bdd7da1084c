"""The agent interface every policy, learned or not, implements."""

from __future__ import annotations

from typing import Any


class Agent:
    """``act(obs, explore) -> action``; learning agents also learn from ``observe`` and keep state dicts."""

    trainable = False

    def reset(self, seed: int, info: dict | None = None) -> None:
        """Start an episode; ``info`` is the env's reset info (e.g. the observations so far)."""

    def act(self, observation, explore: bool = False) -> Any:
        raise NotImplementedError

    def observe(self, observation, action, reward: float, next_observation, terminated: bool,
                truncated: bool) -> dict[str, float]:
        """Learn from one executed transition (store it, update when ready); returns the losses."""
        return {}

    def state_dict(self) -> dict:
        """Everything needed to restore the agent (parameters, optimisers, replay, random state)."""
        return {}

    def load_state_dict(self, state: dict, source: str) -> None:
        """Restore from ``state_dict()``; ``source`` names the file in error messages."""
