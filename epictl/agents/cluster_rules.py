"""Rule-based cluster policies (spec §9): the Table 2 heuristics (Symp-AvgRand, Thres-AvgRand, Thres-SizeRand) and
the predecessor's single-cluster rules (never, always, symptom, 14-day, threshold, CDC-style).

A rule is a quarantine rule plus a test allocation. The threshold rule needs beliefs, from the encoder of an
`sl_encoder` or `cluster_dqn` training run (``encoder_from``); the others read only the observed history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import gymnasium as gym
import numpy as np
from omegaconf import MISSING

from epictl.agents.base import Agent, require_at_least, require_device
from epictl.errors import EpictlError

QUARANTINE_RULES = ("never", "always", "symptom", "fourteen_day", "threshold", "cdc")
TEST_RULES = ("none", "even", "size", "cdc")
SYMPTOM_DAYS = ("previous", "today")
SYM, TESTED, RESULT = 0, 1, 2  # history features (epictl/sim/clusters/kernels.py); agents do not import sims


@dataclass
class ClusterRuleConfig:
    """The values are in conf/agent/<name>.yaml."""

    name: str = MISSING
    kind: str = MISSING  # cluster_rule
    quarantine: str = MISSING  # one of QUARANTINE_RULES
    symptom_day: str = MISSING  # the symptom and 14-day rules look at symptoms of the previous day [pred] | today
    isolation_days: int = MISSING  # 14-day rule: everyone quarantined on local days 0..isolation_days-1 [pred]
    testing: str = MISSING  # none | even: AvgRand | size: SizeRand | cdc (with quarantine=cdc)
    cdc_test_day: int = MISSING  # CDC-style: test on this local day if asymptomatic so far
    cdc_release_negative: int = MISSING  # released from this day after a negative test
    cdc_release_untested: int = MISSING  # released from this day when untested
    cdc_release_positive: int = MISSING  # positives stay quarantined through the day before this one
    encoder_from: Optional[str] = MISSING  # run folder whose belief encoder the threshold rule uses
    device: str = MISSING  # of the belief encoder
    torch_threads: int = MISSING

    def validate(self) -> "ClusterRuleConfig":
        for key, choices in (("quarantine", QUARANTINE_RULES), ("testing", TEST_RULES), ("symptom_day", SYMPTOM_DAYS)):
            if getattr(self, key) not in choices:
                raise EpictlError(f"agent.{key}={getattr(self, key)!r}; choose one of {', '.join(choices)}")
        if (self.quarantine == "cdc") != (self.testing == "cdc"):
            raise EpictlError("the CDC-style rule tests and quarantines: set agent.quarantine=cdc and agent.testing=cdc together")
        require_at_least(self, 0, "isolation_days", "cdc_test_day", "torch_threads")
        require_device(self)
        if not self.cdc_test_day < self.cdc_release_negative <= self.cdc_release_untested <= self.cdc_release_positive:
            raise EpictlError("agent: CDC days must satisfy cdc_test_day < cdc_release_negative <= "
                              "cdc_release_untested <= cdc_release_positive")
        return self


class ClusterRule(Agent):
    """Quarantine and test by rule; random test draws come from the agent's own seeded stream."""

    def __init__(self, config: ClusterRuleConfig, observation_space: gym.Space, action_space: gym.Space, seed: int = 0):
        if not isinstance(action_space, gym.spaces.Dict) or set(action_space.spaces) != {"test", "quarantine"}:
            raise EpictlError(f"agent {config.name}: needs a cluster env's test/quarantine action, got {action_space}")
        self.config = config
        self.rng = np.random.default_rng(seed)
        self.beliefs = None
        if config.quarantine == "threshold":
            if not config.encoder_from:
                raise EpictlError(f"agent {config.name}: the threshold rule needs beliefs: agent.encoder_from=<run "
                                  "folder of `epictl train agent=sl_encoder` or agent=cluster_dqn>")
            from epictl.agents.cluster_nets import load_beliefs  # torch: only for the threshold rule
            from epictl.agents.torch_device import use_torch_threads

            use_torch_threads(config.torch_threads)
            self.beliefs = load_beliefs(config.encoder_from, config.device)

    def reset(self, seed: int, info: dict | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, observation, explore: bool = False):
        members = observation["members"].astype(bool)
        quarantine = self._quarantine(observation, members)
        tests = self._tests(observation, members)
        return {"test": tests.astype(np.int8), "quarantine": (quarantine & members).astype(np.int8)}

    # -- quarantine ------------------------------------------------------------------------------
    def _quarantine(self, observation, members: np.ndarray) -> np.ndarray:
        rule, history, day = self.config.quarantine, observation["history"], observation["day"]
        if rule == "never":
            return np.zeros_like(members)
        if rule == "always":
            return members.copy()
        if rule == "threshold":
            from epictl.agents.cluster_features import threshold_quarantine

            today = self.beliefs.beliefs(observation)[..., 2]
            return threshold_quarantine(today, members, float(observation["alpha2"][0])).astype(bool)
        if rule == "cdc":
            return self._cdc_quarantine(history, day, members)
        symptoms = self._symptoms(history, day)
        if rule == "symptom":
            return symptoms
        return symptoms | (day < self.config.isolation_days)[:, None]  # fourteen_day

    def _symptoms(self, history: np.ndarray, day: np.ndarray) -> np.ndarray:
        """[K, M]: a symptom on the previous day [pred] or today, from the observed rows."""
        row = day - 1 if self.config.symptom_day == "previous" else day
        slots = np.arange(len(day))
        return (history[slots, :, np.clip(row, 0, None), SYM] > 0) & (row >= 0)[:, None]

    def _cdc_quarantine(self, history: np.ndarray, day: np.ndarray, members: np.ndarray) -> np.ndarray:
        """Quarantine from exposure; release from day 8 after a negative day-5 test, from day 11 when untested;
        keep positives through day 14 (spec §9 [R]: the day-5 result is carried forward)."""
        c = self.config
        upto = np.arange(history.shape[2]) <= day[:, None]  # rows seen so far
        results = history[..., RESULT] * upto[:, None, :]
        positive = (results > 0).any(axis=2)
        negative = (results < 0).any(axis=2) & ~positive
        tested = ((history[..., TESTED] > 0) & upto[:, None, :]).any(axis=2)
        t = day[:, None]
        release = np.where(positive, c.cdc_release_positive,
                           np.where(negative, c.cdc_release_negative,
                                    np.where(tested, c.cdc_release_positive, c.cdc_release_untested)))
        return members & (t < release)  # a test whose result is still pending keeps the person in

    # -- tests -------------------------------------------------------------------------------------
    def _tests(self, observation, members: np.ndarray) -> np.ndarray:
        testing = self.config.testing
        tests = np.zeros_like(members)
        if testing == "none":
            return tests
        day, history = observation["day"], observation["history"]
        if testing == "cdc":
            seen = np.arange(history.shape[2]) <= day[:, None]
            symptomatic = ((history[..., SYM] > 0) & seen[:, None, :]).any(axis=2)
            due = np.flatnonzero(members & ~symptomatic & (day == self.config.cdc_test_day)[:, None])
            budget = int(observation["budget"][0])
            if budget and len(due) > budget:  # a shared budget: a random B of them; the rest count as untested
                due = self.rng.choice(due, size=budget, replace=False)
            tests.flat[due] = True
            return tests
        shares = self._shares(members.sum(axis=1), int(observation["budget"][0]), testing)
        for k in np.flatnonzero(shares):
            chosen = self.rng.choice(np.flatnonzero(members[k]), size=shares[k], replace=False)
            tests[k, chosen] = True
        return tests

    def _shares(self, sizes: np.ndarray, budget: int, testing: str) -> np.ndarray:
        """Tests per cluster (spec §9 [R]). even: B / |A| each, capped at the size, the surplus shared again, a
        last remainder to random clusters; size: largest-remainder split in proportion to size (never above it).
        No budget (B = 0): everyone."""
        if budget == 0:
            return sizes.copy()
        left = min(budget, int(sizes.sum()))
        if testing == "size":
            quota = left * sizes / max(int(sizes.sum()), 1)
            shares = np.floor(quota).astype(sizes.dtype)
            fraction = quota - shares
            order = np.lexsort((self.rng.random(len(sizes)), -fraction))  # largest remainder, random among ties
            shares[order[: left - int(shares.sum())]] += 1
            return shares
        shares = np.zeros_like(sizes)
        while left > 0:
            open_ = np.flatnonzero(shares < sizes)
            each = left // len(open_)
            if each == 0:
                shares[self.rng.choice(open_, size=left, replace=False)] += 1
                break
            granted = np.minimum(each, sizes[open_] - shares[open_])
            shares[open_] += granted
            left -= int(granted.sum())
        return shares
