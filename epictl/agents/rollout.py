"""Play episodes of any Gymnasium-style env with an agent (the envs are only duck-typed)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator

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


def play_episodes(envs, agent: Agent, seeds: Iterable[int], explore: bool = False) -> Iterator[tuple[int, int, float]]:
    """One episode per seed on the copies of a vector env (envs/vector.py), each copy taking the next seed
    when it is free; yields (copy, seed, summed reward) as each episode ends, before that copy starts another,
    so the caller can read the copy's episode report. A batched agent acts for all copies in one call; any
    other agent is cloned per copy, each clone keeping its own episode memory."""
    seeds = iter(seeds)
    actors = [agent] + [copy.deepcopy(agent) for _ in range(envs.num_envs - 1)] if not agent.batched else None
    running: dict[int, list] = {}  # copy -> [seed, observation, summed reward]

    def start(free: list[int]) -> None:
        """The next seeds on the free copies (their reset days run together)."""
        pairs = list(zip(free, seeds))  # zip takes no seed once the free copies run out
        copies, next_seeds = [c for c, _ in pairs], [seed for _, seed in pairs]
        for env_copy, seed, (observation, info) in zip(copies, next_seeds, envs.reset_copies(copies, next_seeds)):
            if actors is None:
                agent.reset_copy(env_copy, seed, info)
            else:
                actors[env_copy].reset(seed, info)
            running[env_copy] = [seed, observation, 0.0]

    start(list(range(envs.num_envs)))
    while running:
        copies = sorted(running)
        observations = [running[c][1] for c in copies]
        if actors is None:
            actions = agent.act_batch(observations, explore, copies)
        else:
            actions = [actors[c].act(observation, explore) for c, observation in zip(copies, observations)]
        ended = []
        for env_copy, (observation, reward, terminated, truncated, _) in zip(copies, envs.step_copies(actions, copies)):
            running[env_copy][1] = observation
            running[env_copy][2] += reward
            if terminated or truncated:
                seed, _, total = running.pop(env_copy)
                yield env_copy, seed, total
                ended.append(env_copy)
        start(ended)
