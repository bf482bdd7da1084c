"""Any agent acting on rebuilt information (KDD'21 §3.2, a run's `rebuild_from=<run folder>`): a frozen,
pre-trained rebuild network turns each day's observed It, Ih, D into (E, Iu, It, Ih, R, D), and the
inner agent sees only that, in training as at test time (spec §15.7).

Protocol with the training loop: ``act`` rebuilds the day it is given; ``observe`` rebuilds the next
day for the transition and keeps it, so the following ``act`` does not advance the GRUs twice.
"""

from __future__ import annotations

import numpy as np

from epictl.agents.base import Agent
from epictl.agents.registry import make_agent
from epictl.agents.torch_device import resolve_device
from epictl.errors import EpictlError
from epictl.rebuild.network import AGENT_INPUTS, Rebuilder, load_artifact
from epictl.spaces import ChannelBox


class RebuildingAgent(Agent):
    """The agent of ``agent_config``, built for the rebuilt inputs, behind the network of ``rebuild_from``."""

    def __init__(self, rebuild_from: str, agent_config, observation_space, action_space, seed: int):
        device = resolve_device(getattr(agent_config, "device", "auto"))  # the GRUs run beside the agent's networks
        channels = tuple(getattr(observation_space, "channels", ()))
        n_regions = observation_space.shape[0]
        net, self.fingerprint = load_artifact(rebuild_from, n_regions, device)
        self.rebuilder = Rebuilder(net, channels, device)
        self.inner = make_agent(agent_config, ChannelBox(n_regions, AGENT_INPUTS), action_space, seed)
        self.trainable = self.inner.trainable
        self.current: np.ndarray | None = None  # the rebuilt day the last act() decided on
        self.pending: np.ndarray | None = None  # the rebuilt next day, already computed by observe()

    def reset(self, seed: int, info: dict | None = None) -> None:
        history = (info or {}).get("history")
        self.rebuilder.start(None if history is None else history[:-1])  # the last day comes with act()
        self.current = self.pending = None
        self.inner.reset(seed, info)

    def act(self, observation, explore: bool = False):
        if self.pending is not None:
            self.current, self.pending = self.pending, None
        else:
            self.current = self.rebuilder.step(observation)
        return self.inner.act(self.current, explore=explore)

    def observe(self, observation, action, reward, next_observation, terminated, truncated,
                info: dict | None = None) -> dict[str, float]:
        if self.current is None:
            raise EpictlError("observe() before act(): the rebuilt state of this day is unknown")
        self.pending = self.rebuilder.step(next_observation)
        return self.inner.observe(self.current, action, reward, self.pending, terminated, truncated, info)

    def state_dict(self) -> dict:
        return {"inner": self.inner.state_dict(), "rebuilder": self.rebuilder.state_dict(),
                "fingerprint": self.fingerprint, "current": self.current, "pending": self.pending}

    def load_state_dict(self, state: dict, source: str) -> None:
        if state.get("fingerprint") != self.fingerprint:
            raise EpictlError(f"{source}: trained with another rebuild model than rebuild_from points to now")
        self.inner.load_state_dict(state["inner"], source)
        self.rebuilder.load_state_dict(state["rebuilder"])
        self.current, self.pending = state["current"], state["pending"]
