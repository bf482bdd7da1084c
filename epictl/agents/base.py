"""The agent interface every policy, learned or not, implements, and the range checks their configs share."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from omegaconf import MISSING

from epictl.errors import EpictlError


class Transition(NamedTuple):
    """One executed env step of one env copy, as a learner stores it."""

    observation: Any
    action: Any  # as executed (the env's info["action"])
    reward: float
    next_observation: Any
    terminated: bool
    truncated: bool
    info: dict | None = None


class Agent:
    """``act(obs, explore) -> action``; learning agents also learn from ``observe`` and keep state dicts.

    The runners drive every agent through the batch methods (``reset_copy``, ``act_batch``,
    ``observe_batch``: one entry per env copy). Their defaults serve one copy through the single-copy
    methods; a ``batched`` agent keeps an episode memory per copy, acts on all copies in one network
    call and learns from all their transitions, so it trains on ``env.num_envs`` copies.
    """

    trainable = False
    batched = False
    # Attributes only learning reads (replay, rollouts): evaluation_copy shares them instead of copying them.
    learning_memory: tuple[str, ...] = ()

    def reset(self, seed: int, info: dict | None = None) -> None:
        """Start an episode; ``info`` is the env's reset info (e.g. the observations so far)."""

    def act(self, observation, explore: bool = False) -> Any:
        raise NotImplementedError

    def training_options(self) -> dict:
        """Settings a training episode asks of its env at reset (e.g. IDRLECA's extreme-experience stop)."""
        return {}

    def observe(self, observation, action, reward: float, next_observation, terminated: bool,
                truncated: bool, info: dict | None = None) -> dict[str, float]:
        """Learn from one executed transition (store it, update when ready); returns the losses. ``info`` is the
        env step's info (e.g. per-person rewards, or training labels an agent must never act on)."""
        return {}

    # -- env copies (see the class docstring) ---------------------------------------------------
    def reset_copy(self, env_copy: int, seed: int, info: dict | None = None) -> None:
        """Start an episode in env copy ``env_copy``."""
        self.reset(seed, info)

    def act_batch(self, observations: list, explore: bool = False, copies: list[int] | None = None) -> list:
        """One action per observation, ``observations[i]`` from env copy ``copies[i]`` (default: copy i)."""
        return [self.act(observation, explore) for observation in observations]

    def observe_batch(self, transitions: list[Transition]) -> dict[str, float]:
        """Learn from one step of every copy (``transitions[i]`` from copy i); returns the losses."""
        (transition,) = transitions
        return self.observe(*transition)

    def evaluation_copy(self) -> "Agent":
        """An agent acting exactly as this one does now, with its own episode memory and random streams, for
        held-out evaluation during training: playing it leaves this agent untouched. It must not learn."""
        return copy.deepcopy(self, memo={id(memory): memory for memory in self._learning_memory()})

    def _learning_memory(self) -> list:
        found = [getattr(self, name) for name in self.learning_memory]
        for value in vars(self).values():  # a wrapped agent (RebuildingAgent's inner learner)
            if isinstance(value, Agent):
                found += value._learning_memory()
        return found

    def state_dict(self) -> dict:
        """Everything needed to restore the agent (parameters, optimisers, replay, random state)."""
        return {}

    def load_state_dict(self, state: dict, source: str) -> None:
        """Restore from ``state_dict()``; ``source`` names the file in error messages."""


def require_at_least(config, minimum: int, *names: str) -> None:
    """Count settings of an agent config (layer sizes, epochs, steps): each >= ``minimum``, named as agent.<key>."""
    for name in names:
        value = getattr(config, name)
        if not value >= minimum:
            raise EpictlError(f"agent.{name}={value} must be >= {minimum}")


def require_positive(config, *names: str) -> None:
    """Real settings (learning rates, scales): finite and > 0, so NaN and inf fail too."""
    for name in names:
        value = getattr(config, name)
        if not 0.0 < value < math.inf:
            raise EpictlError(f"agent.{name}={value} must be a finite number > 0")


def require_device(config) -> None:
    """agent.device: where torch runs (agents/torch_device.py resolves auto)."""
    if config.device not in ("auto", "cpu", "cuda"):
        raise EpictlError(f"agent.device={config.device!r}; choose auto, cpu or cuda")


@dataclass
class LearnerConfig:
    """What every learning agent's config shares: how long it trains, how often it saves, where torch runs.
    Its fields come first in the schema; each learner's yaml writes them with its own sources."""

    updates: int = MISSING  # training steps (one env step each; the learner's yaml says what a step is)
    checkpoint_every: int = MISSING  # training steps between checkpoints
    device: str = MISSING  # auto | cpu | cuda
    torch_threads: int = MISSING  # CPU threads for torch (process-wide); 0 keeps torch's default

    @property
    def trainable(self) -> bool:
        return True

    def check_training(self) -> None:
        require_at_least(self, 1, "updates", "checkpoint_every")
        require_at_least(self, 0, "torch_threads")
        require_device(self)
