"""Play one episode of any Gymnasium-style env with an agent (the env is only duck-typed)."""

from __future__ import annotations

from collections.abc import Callable

from epictl.agents.base import Agent


def play_episode(env, agent: Agent, seed: int, explore: bool = False,
                 on_day: Callable[[], None] | None = None) -> float:
    """Reset with ``seed``, act until the episode ends; returns the summed reward."""
    observation, info = env.reset(seed=seed)
    agent.reset(seed, info)
    total, done = 0.0, False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(agent.act(observation, explore=explore))
        total += reward
        done = terminated or truncated
        if on_day:
            on_day()
    return total
