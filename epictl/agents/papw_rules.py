"""Rule-based policies of the contact-tracing city (spec papw-contact-tracing.md §12): no intervention, lockdown,
tracing a new case's acquaintance groups, and thresholds on the estimated infection probability (§11.1).

Every rule also sends each symptomatic or critical person who is not in hospital yet to hospital (§7, §12), unless
``hospitalise`` is off (with env.sim.hospitalise_symptomatic=false too, `none` then leaves the epidemic untouched).
Only people who are neither in hospital nor recovered, symptomatic or critical get levels 1..3. The values are in
conf/agent/none.yaml, lockdown.yaml, trace_contacts.yaml and prob_threshold.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import gymnasium as gym
import numpy as np
from omegaconf import MISSING

from epictl.agents.base import Agent, require_at_least
from epictl.agents.contact_risk import (HOSPITAL_LEVEL, RECOVERED_CODE, SYMPTOMATIC_CODES, check_estimator,
                                        infection_probability)
from epictl.errors import EpictlError

RULES = ("none", "lockdown", "trace_contacts", "prob_threshold")
CONFINE, QUARANTINE, ISOLATE = 1, 2, 3  # epictl levels (spec §7); agents do not import sims
THRESHOLD_LEVELS = (("confine_above", CONFINE), ("quarantine_above", QUARANTINE), ("isolate_above", ISOLATE))
MAX_DAYS = int(np.iinfo(np.int16).max)  # the action's days are int16


@dataclass
class PapwRuleConfig:
    """The values are in conf/agent/<name>.yaml."""

    name: str = MISSING
    kind: str = MISSING  # papw_rule
    rule: str = MISSING  # one of RULES
    hospitalise: bool = MISSING  # send symptomatic and critical people to hospital (every baseline does, §12)
    lockdown_level: int = MISSING  # lockdown: 1 confine | 2 quarantine | 3 isolate, ordered for 1 day every day
    trace_days: int = MISSING  # trace_contacts: D, days a new case's group members are isolated
    second_degree: bool = MISSING  # trace_contacts: also confine the acquaintances of those members
    second_degree_days: int = MISSING  # for this many days
    p_acquaintance: float = MISSING  # prob_threshold estimator (§11.1): p_c
    p_stranger: float = MISSING  # p_s
    terms: str = MISSING  # idr: acquaintance factor where they met, stranger factor elsewhere | stranger only
    history_days: int = MISSING  # days of the visit history the estimate reads
    confine_above: Optional[float] = MISSING  # c1: confine when p_inf > c1; null: never
    quarantine_above: Optional[float] = MISSING  # c2
    isolate_above: Optional[float] = MISSING  # c3
    threshold_days: int = MISSING  # D: each prob_threshold order lasts this many days

    def validate(self) -> "PapwRuleConfig":
        if self.kind != "papw_rule":
            raise EpictlError(f"agent.kind={self.kind!r}; a PapwRuleConfig builds only kind papw_rule")
        if self.rule not in RULES:
            raise EpictlError(f"agent.rule={self.rule!r}; choose one of {', '.join(RULES)}")
        if self.lockdown_level not in (CONFINE, QUARANTINE, ISOLATE):
            raise EpictlError(f"agent.lockdown_level={self.lockdown_level}; choose 1 (confine), 2 (quarantine) "
                              "or 3 (isolate)")
        require_at_least(self, 1, "trace_days", "second_degree_days", "threshold_days")
        for name in ("trace_days", "second_degree_days", "threshold_days"):
            if getattr(self, name) > MAX_DAYS:
                raise EpictlError(f"agent.{name}={getattr(self, name)} must be <= {MAX_DAYS}")
        check_estimator(self.p_acquaintance, self.p_stranger, self.terms, self.history_days)
        thresholds = self.thresholds()
        for name, _, value in thresholds:
            if not 0.0 <= value <= 1.0:
                raise EpictlError(f"agent.{name}={value} must be a probability in [0, 1] or null (level unused)")
        values = [value for _, _, value in thresholds]
        if values != sorted(values):
            raise EpictlError("agent: the thresholds set must grow with the level: confine_above <= "
                              "quarantine_above <= isolate_above")
        if self.rule == "prob_threshold" and not thresholds:
            raise EpictlError("agent.rule=prob_threshold needs at least one of agent.confine_above, "
                              "agent.quarantine_above, agent.isolate_above")
        return self

    def thresholds(self) -> list[tuple[str, int, float]]:
        """(field, level, threshold) of each threshold set, in level order."""
        return [(name, level, getattr(self, name)) for name, level in THRESHOLD_LEVELS
                if getattr(self, name) is not None]


class PapwRule(Agent):
    """Orders {"level": int8[N], "days": int16[N]} by rule; trace_contacts remembers yesterday's codes."""

    def __init__(self, config: PapwRuleConfig, observation_space: gym.Space, action_space: gym.Space, seed: int = 0):
        if not isinstance(action_space, gym.spaces.Dict) or set(action_space.spaces) != {"level", "days"}:
            raise EpictlError(f"agent {config.name}: needs the contact-tracing city's per-person level/days action "
                              f"(env=papw), got {action_space}")
        self.config = config
        self.n_people = observation_space["code"].shape[0]
        self.previous_codes: np.ndarray | None = None  # None: no observation yet this episode

    def reset(self, seed: int, info: dict | None = None) -> None:
        self.previous_codes = None

    def act(self, observation, explore: bool = False):
        code, standing = observation["code"], observation["level"]
        if code.shape != (self.n_people,):
            raise EpictlError(f"agent {self.config.name}: observation of {code.shape} people, built for {self.n_people}")
        symptomatic = np.isin(code, SYMPTOMATIC_CODES)
        in_hospital = standing == HOSPITAL_LEVEL
        free_to_order = ~(symptomatic | in_hospital | (code == RECOVERED_CODE))  # levels 1..3 only for them
        level = np.zeros(self.n_people, np.int8)
        days = np.ones(self.n_people, np.int16)  # >= 1 everywhere; the env reads it only where level is 1..3
        rule = self.config.rule
        if rule == "lockdown":
            level[free_to_order] = self.config.lockdown_level
        elif rule == "trace_contacts":
            self._trace(observation, symptomatic, free_to_order, level, days)
        elif rule == "prob_threshold":
            self._threshold(observation, free_to_order, level, days)
        if self.config.hospitalise:
            level[symptomatic & ~in_hospital] = HOSPITAL_LEVEL
        self.previous_codes = code.copy()
        return {"level": level, "days": days}

    def _trace(self, observation, symptomatic: np.ndarray, free_to_order: np.ndarray, level: np.ndarray,
               days: np.ndarray) -> None:
        """Isolate the group members of each person symptomatic since the last observation (after a reset:
        everyone symptomatic now) for D days; optionally confine their own acquaintances too (§12)."""
        new = symptomatic.copy()
        if self.previous_codes is not None:
            new &= ~np.isin(self.previous_codes, SYMPTOMATIC_CODES)
        home, work = observation["home_group"], observation["work_group"]
        contacts = (np.isin(home, home[new]) | np.isin(work, work[new])) & free_to_order
        if self.config.second_degree:
            second = (np.isin(home, home[contacts]) | np.isin(work, work[contacts])) & free_to_order & ~contacts
            level[second] = CONFINE
            days[second] = self.config.second_degree_days
        level[contacts] = ISOLATE
        days[contacts] = self.config.trace_days

    def _threshold(self, observation, free_to_order: np.ndarray, level: np.ndarray, days: np.ndarray) -> None:
        """The highest level whose threshold p_inf exceeds [kit: strictly], ordered for D days to those not
        already under that level or a higher one ([kit] orders only people under no intervention)."""
        c = self.config
        risk = infection_probability(observation, c.p_acquaintance, c.p_stranger, c.terms, c.history_days)
        target = np.zeros(self.n_people, np.int8)
        for _, threshold_level, threshold in c.thresholds():  # in level order: a higher level overwrites a lower
            target[risk > threshold] = threshold_level
        ordered = free_to_order & (target > observation["level"])
        level[ordered] = target[ordered]
        days[ordered] = c.threshold_days
