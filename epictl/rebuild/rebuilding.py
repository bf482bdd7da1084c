"""Any agent acting on rebuilt information (KDD'21 §3.2, a run's `rebuild_from=<run folder>`): a frozen,
pre-trained rebuild network turns each day's observed It, Ih, D into (E, Iu, It, Ih, R, D), and the
inner agent sees only that, in training as at test time (spec §15.7).

Protocol with the training loop: ``act`` rebuilds the day it is given; ``observe`` rebuilds the next
day for the transition and keeps it, so the following ``act`` does not advance the GRUs twice. Each env
copy has its own GRU state; the inner agent acts on all copies' rebuilt days at once when it is batched.
"""

from __future__ import annotations

import numpy as np

from epictl.agents.base import Agent, Transition
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
        self.inner = make_agent(agent_config, ChannelBox(n_regions, AGENT_INPUTS), action_space, seed)
        self.trainable, self.batched = self.inner.trainable, self.inner.batched
        self.net, self.channels, self.device = net, channels, device
        # Per env copy: its GRU state, the rebuilt day its last act() decided on, and the rebuilt next day
        # observe() already computed.
        self.rebuilders = [Rebuilder(net, channels, device)]  # copy 0's, built here to check the channels
        self.current: list[np.ndarray | None] = [None]
        self.pending: list[np.ndarray | None] = [None]

    def reset(self, seed: int, info: dict | None = None) -> None:
        self.reset_copy(0, seed, info)

    def reset_copy(self, env_copy: int, seed: int, info: dict | None = None) -> None:
        while len(self.rebuilders) <= env_copy:
            self.rebuilders.append(Rebuilder(self.net, self.channels, self.device))
            self.current.append(None)
            self.pending.append(None)
        history = (info or {}).get("history")
        self.rebuilders[env_copy].start(None if history is None else history[:-1])  # the last day comes with act()
        self.current[env_copy] = self.pending[env_copy] = None
        self.inner.reset_copy(env_copy, seed, info)

    def act(self, observation, explore: bool = False):
        return self.act_batch([observation], explore)[0]

    def act_batch(self, observations: list, explore: bool = False, copies: list[int] | None = None) -> list:
        copies = list(range(len(observations))) if copies is None else copies
        for env_copy, observation in zip(copies, observations):
            if self.pending[env_copy] is not None:
                self.current[env_copy], self.pending[env_copy] = self.pending[env_copy], None
            else:
                self.current[env_copy] = self.rebuilders[env_copy].step(observation)
        return self.inner.act_batch([self.current[env_copy] for env_copy in copies], explore, copies)

    def observe(self, observation, action, reward, next_observation, terminated, truncated,
                info: dict | None = None) -> dict[str, float]:
        return self.observe_batch([Transition(observation, action, reward, next_observation, terminated, truncated,
                                              info)])

    def observe_batch(self, transitions: list[Transition]) -> dict[str, float]:
        rebuilt = []
        for env_copy, t in enumerate(transitions):
            if env_copy >= len(self.current) or self.current[env_copy] is None:
                raise EpictlError("observe() before act(): the rebuilt state of this day is unknown")
            self.pending[env_copy] = self.rebuilders[env_copy].step(t.next_observation)
            rebuilt.append(t._replace(observation=self.current[env_copy], next_observation=self.pending[env_copy]))
        return self.inner.observe_batch(rebuilt)

    def state_dict(self) -> dict:
        return {"inner": self.inner.state_dict(), "rebuilders": [r.state_dict() for r in self.rebuilders],
                "fingerprint": self.fingerprint, "current": self.current, "pending": self.pending}

    def load_state_dict(self, state: dict, source: str) -> None:
        if state.get("fingerprint") != self.fingerprint:
            raise EpictlError(f"{source}: trained with another rebuild model than rebuild_from points to now")
        self.inner.load_state_dict(state["inner"], source)
        self.rebuilders = [Rebuilder(self.net, self.channels, self.device) for _ in state["rebuilders"]]
        for rebuilder, saved in zip(self.rebuilders, state["rebuilders"]):
            rebuilder.load_state_dict(saved)
        self.current, self.pending = list(state["current"]), list(state["pending"])
