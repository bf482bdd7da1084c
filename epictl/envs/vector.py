"""``env.num_envs`` copies of one env stepped together: a Gymnasium vector env.

Each copy is a whole env of its family (its own episode, seed and random streams, so common random
numbers hold copy by copy). A step decides every copy's day in Python, runs all copies' days in one
simulator call (``step_many``: the kernel loops over the copies) and reads each copy's outcome; the days
a reset simulates (a free phase, a warm-up) run the same way. The cluster problems (a day is a few
microseconds, less than handing the copies to one call) and the age-stratified city (a step simulates 100
days with kernels parallel over agents) have no ``step_many``: their copies step one after another, as do
copies behind a wrapper and a single copy.

Two ways in:
- the Gymnasium API (``reset``/``step`` on batches) with its next-step autoreset: a copy whose episode
  ended is reset by the following ``step``, which ignores that copy's action. New episodes take seeds
  ``seed + k`` for the k-th episode started since ``reset(seed=...)``.
- the copy API the epictl runners use (``reset_copies``, ``step_copies``): the caller chooses each
  episode's seed and resets ended copies at once, so no step is spent on an ignored action.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

from epictl.errors import EpictlError


class EpictlVectorEnv(gym.vector.VectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, envs: Sequence[gym.Env]):
        if not envs:
            raise EpictlError("a vector env needs at least one env copy")
        self.envs = list(envs)
        self.num_envs = len(self.envs)
        first = self.envs[0]
        self.single_observation_space, self.single_action_space = first.observation_space, first.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        # The two step halves of a bare env (a wrapper, e.g. an action wrapper, steps as a whole).
        simulator = getattr(first, "simulator", None)
        self._step_many = getattr(simulator, "step_many", None) if all(
            hasattr(env, "decide") and hasattr(env, "outcome") for env in self.envs) else None
        # Gymnasium API state: copies to reset on the next step, the next episode's seed, the reset options.
        self._ended = np.zeros(self.num_envs, dtype=bool)
        self._next_seed: int | None = None
        self._options: dict | None = None

    # -- the copy API ------------------------------------------------------------------------------
    def reset_copies(self, copies: Sequence[int], seeds: Sequence[int], options: dict | None = None) -> list[tuple]:
        """Start the next episode of each copy in ``copies`` from its seed: one (observation, info) per copy. An
        env whose reset simulates days (the city's free phase, the grid's warm-up, the contact city's days before
        interventions open) offers ``reset_days``; those days then run for all the copies in one kernel call a day."""
        if len(copies) < 2 or self._step_many is None or not all(hasattr(self.envs[i], "reset_days") for i in copies):
            return [self.envs[i].reset(seed=int(seed), options=options) for i, seed in zip(copies, seeds)]
        runs = {i: self.envs[i].reset_days(int(seed), options) for i, seed in zip(copies, seeds)}
        days: dict[int, Any] = {}
        results: dict[int, tuple] = {}

        def advance(i: int) -> None:
            try:
                days[i] = next(runs[i])
            except StopIteration as done:
                results[i] = done.value
                days.pop(i, None)

        for i in runs:
            advance(i)
        while days:
            running = list(days)
            self._step_many([self.envs[i].state for i in running], [days[i] for i in running])
            for i in running:
                advance(i)
        return [results[i] for i in copies]

    def step_copies(self, actions: Sequence, copies: Sequence[int] | None = None) -> list[tuple]:
        """One step of each copy in ``copies`` (default all) under its own action, in that order: one
        (observation, reward, terminated, truncated, info) per copy, as each env's ``step`` returns it."""
        copies = range(self.num_envs) if copies is None else copies
        if len(actions) != len(copies):
            raise EpictlError(f"{len(actions)} actions for {len(copies)} env copies")
        envs = [self.envs[i] for i in copies]
        if len(envs) < 2 or self._step_many is None:  # one copy: the env's own step
            return [env.step(action) for env, action in zip(envs, actions)]
        days = [env.decide(action) for env, action in zip(envs, actions)]
        self._step_many([env.state for env in envs], days)
        return [env.outcome(day) for env, day in zip(envs, days)]

    # -- the Gymnasium vector API ------------------------------------------------------------------
    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict | None = None):
        """Every copy's first episode: copy i from ``seed + i`` (or ``seed[i]``); later episodes continue the count."""
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        seeds = [int(seed) + i for i in range(self.num_envs)] if np.isscalar(seed) else [int(s) for s in seed]
        if len(seeds) != self.num_envs:
            raise EpictlError(f"{len(seeds)} seeds for {self.num_envs} env copies")
        self._next_seed, self._options = max(seeds) + 1, options
        self._ended[:] = False
        observations, infos = [], {}
        for i, (observation, info) in enumerate(self.reset_copies(range(self.num_envs), seeds, options)):
            observations.append(observation)
            infos = self._add_info(infos, info, i)
        return self._batch(observations), infos

    def step(self, actions):
        if self._next_seed is None:
            raise EpictlError("call reset() before step()")
        per_copy = list(iterate(self.action_space, actions))
        running = [i for i in range(self.num_envs) if not self._ended[i]]
        results: dict[int, tuple] = dict(zip(running, self.step_copies([per_copy[i] for i in running], running)))
        ended = [int(i) for i in np.flatnonzero(self._ended)]  # next-step autoreset: their actions are ignored
        seeds = range(self._next_seed, self._next_seed + len(ended))
        self._next_seed += len(ended)
        for i, (observation, info) in zip(ended, self.reset_copies(ended, seeds, self._options)):
            results[i] = (observation, 0.0, False, False, info)
        observations, infos = [], {}
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminations = np.zeros(self.num_envs, dtype=bool)
        truncations = np.zeros(self.num_envs, dtype=bool)
        for i in range(self.num_envs):
            observation, rewards[i], terminations[i], truncations[i], info = results[i]
            observations.append(observation)
            infos = self._add_info(infos, info, i)
        self._ended = terminations | truncations
        return self._batch(observations), rewards, terminations, truncations, infos

    def close_extras(self, **kwargs) -> None:
        for env in self.envs:
            env.close()

    def _batch(self, observations: list):
        return concatenate(self.single_observation_space, observations,
                           create_empty_array(self.single_observation_space, self.num_envs))


def simulate_alone(days: Generator, step: Callable[[Any], None]) -> Any:
    """Run one env's ``reset_days`` on its own: ``step`` simulates each day action it yields; returns the
    generator's result (the reset's observation and info)."""
    try:
        day = next(days)
        while True:
            step(day)
            day = next(days)
    except StopIteration as done:
        return done.value
