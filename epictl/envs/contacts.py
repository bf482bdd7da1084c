"""Gymnasium env over the contact-tracing city: one decision a day, an intervention level for every person.

The observation is what the challenge API exposed (spec §8) and nothing more: API infection codes (susceptible
and pre-symptomatic merged), standing levels, home and work areas, acquaintance groups, the past five days of
hourly visits, area categories, discovered people per area and the level counts. Who is infected, and when, the
simulator knows for rewards and metrics only. Layout: ``observation_space`` and the interface of spec §8.

The action is a dict of int8 ``level`` (0 none, 1 confine, 2 quarantine, 3 isolate, 4 hospitalise) and int16
``days`` (duration of levels 1-3) per person. Interventions open ``intervention_start`` days after the first
symptomatic case is seen (IDRLECA's t_start); until then the env steps the days itself under the hospital rule
alone, so an agent only ever decides on open days.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from epictl.envs.report import EpisodeReport
from epictl.envs.vector import simulate_alone
from epictl.errors import EpictlError
from epictl.rewards.feng2021 import ContactReward
from epictl.sim.contacts.params import HISTORY_DAYS, HOSPITAL, HOURS, LEVELS, ContactParams
from epictl.sim.contacts.simulator import ContactDay, ContactSimulator, ContactState

DISCOVERED_CODES = (3, 4)  # API codes of symptomatic and critical people: the only ones a hospital admits
MAX_ORDER_DAYS = int(np.iinfo(np.int16).max)  # the action's days are int16
STOP_OPTIONS = ("stop_new_infections", "stop_penalty_factor")  # the extreme-experience rule (spec §11.5)


def score_of_log(log: dict[str, np.ndarray], settings) -> tuple[float, float, float]:
    """(Score, I, Q) of a daily log (spec §9): I = cumulative infected on its last day, Q = the sum of the days'
    weighted intervention person-days (each day's ``cost`` column)."""
    infected = float(log["infected"][-1]) if len(log["infected"]) else 0.0
    cost = float(np.sum(log["cost"]))
    return settings.of(infected, cost), infected, cost


class ContactsEnv(gym.Env):
    metadata = {"render_modes": []}
    family = "contacts"

    def __init__(self, params: ContactParams, reward: ContactReward, score, intervention_start: int | None):
        self.simulator = ContactSimulator(params)
        self.params, self.reward_fn, self.score = self.simulator.params, reward.validate(), score.validate()
        self.intervention_start = intervention_start
        people, areas = params.n_people, params.n_areas
        person_ids = gym.spaces.Box(0, np.iinfo(np.int32).max, (people,), np.int32)
        self.observation_space = gym.spaces.Dict({
            "day": gym.spaces.Box(0, params.days, (1,), np.int32),
            "code": gym.spaces.Box(1, 5, (people,), np.int8),
            "level": gym.spaces.Box(0, LEVELS - 1, (people,), np.int8),
            "home": gym.spaces.Box(0, areas - 1, (people,), np.int32),
            "work": gym.spaces.Box(0, areas - 1, (people,), np.int32),
            "home_group": person_ids,
            "work_group": person_ids,
            "visits": gym.spaces.Box(-2, areas - 1, (people, HISTORY_DAYS * HOURS), np.int16),
            "area_category": gym.spaces.Box(0, 2, (areas,), np.int8),
            "area_discovered": gym.spaces.Box(0, people, (areas,), np.int32),
            "level_counts": gym.spaces.Box(0, people, (LEVELS,), np.int32),
        })
        self.action_space = gym.spaces.Dict({
            "level": gym.spaces.Box(0, LEVELS - 1, (people,), np.int8),
            "days": gym.spaces.Box(1, MAX_ORDER_DAYS, (people,), np.int16),
        })
        self.state: ContactState | None = None
        self.stop_new_infections: int | None = None  # this episode's extreme-experience rule, when training
        self.stop_penalty_factor = 0.0
        self.worst_reward = 0.0  # the worst daily reward this env has paid (the stop's penalty scale)
        self.rewards: list[float] = []  # one per decided day
        self.first_decision_day: int | None = None

    # -- Gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """``options``: ``training`` with ``stop_new_infections`` and ``stop_penalty_factor`` applies the
        extreme-experience rule (a training episode stops on a day with more new infections, spec §11.5)."""
        return simulate_alone(self.reset_days(seed, options), lambda orders: self.simulator.step(self.state, orders))

    def reset_days(self, seed: int | None = None, options: dict | None = None):
        """``reset`` as a generator: yields the orders of the days before interventions open for the caller to
        simulate on ``self.state`` (a vector env runs its copies' days together); returns (observation, info)."""
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"training", *STOP_OPTIONS}
        if unknown:
            raise EpictlError(f"unknown reset option(s) {sorted(unknown)} for env family contacts")
        episode_seed = int(seed if seed is not None else self.np_random.integers(2**31))
        self.stop_new_infections, self.stop_penalty_factor = None, 0.0
        if options.get("training") and options.get("stop_new_infections") is not None:
            self.stop_new_infections = int(options["stop_new_infections"])
            self.stop_penalty_factor = float(options.get("stop_penalty_factor", 0.0))
            if self.stop_new_infections < 0 or not 0.0 <= self.stop_penalty_factor < math.inf:
                raise EpictlError("the extreme-experience rule needs stop_new_infections >= 0 and a finite "
                                  "stop_penalty_factor >= 0")
        self.state = self.simulator.reset(episode_seed)
        self.rewards, self.first_decision_day = [], None
        # Days before interventions open pass under the hospital rule alone; the last day is always the agent's.
        people = self.params.n_people
        no_orders = ContactDay(np.zeros(people, np.int8), np.ones(people, np.int16))
        while self.state.day < self.params.days - 1 and not self.interventions_open():
            yield no_orders
        self.first_decision_day = self.state.day
        return self._observe(), {"day": self.state.day}

    def step(self, action):
        orders = self.decide(action)
        self.simulator.step(self.state, orders)
        return self.outcome(orders)

    # -- the two halves of a step (the vector env steps many copies' simulators between them) ---------
    def decide(self, action) -> ContactDay:
        """The day's orders of ``action``."""
        if self.state is None:
            raise EpictlError("call reset() before step()")
        if self.simulator.finished(self.state):
            raise EpictlError("the episode has ended; call reset()")
        return ContactDay(*self.executed_action(action))

    def outcome(self, orders: ContactDay):
        """The step's (observation, reward, terminated, truncated, info) once the simulator has run the day."""
        levels, days = orders.level, orders.days
        log = self._last_log()
        new_infected = log["new_infections"] if self.reward_fn.new_infected == "infections" else log["onsets"]
        reward = self.reward_fn.daily(new_infected, log["cost"])
        self.worst_reward = min(self.worst_reward, reward)
        terminated = self.simulator.finished(self.state)
        if self.stop_new_infections is not None and log["new_infections"] > self.stop_new_infections:
            reward, terminated = self.stop_penalty_factor * self.worst_reward, True
        self.rewards.append(reward)
        info = {"day": self.state.day, "action": {"level": levels, "days": days}, "log": log}
        return self._observe(), reward, terminated, False, info

    def executed_action(self, action) -> tuple[np.ndarray, np.ndarray]:
        """The day's orders as int8 levels and int16 durations; anything the challenge API refuses is an error."""
        if not isinstance(action, dict) or set(action) != {"level", "days"}:
            raise EpictlError(f"a contact-city action is a dict with 'level' and 'days', got {type(action).__name__}")
        shape = self.action_space["level"].shape
        levels, days = np.asarray(action["level"]), np.asarray(action["days"])
        for key, value in (("level", levels), ("days", days)):
            if value.shape != shape or not np.issubdtype(value.dtype, np.integer):
                raise EpictlError(f"action[{key!r}] must be integers of shape {shape}, got {value.dtype} {value.shape}")
        if levels.min(initial=0) < 0 or levels.max(initial=0) >= LEVELS:
            raise EpictlError(f"action['level'] must lie in 0..{LEVELS - 1}")
        ordered = (levels >= 1) & (levels < HOSPITAL)
        if np.any(days[ordered] < 1) or np.any(days[ordered] > MAX_ORDER_DAYS):
            raise EpictlError(f"action['days'] must lie in 1..{MAX_ORDER_DAYS} wherever a level 1-3 is ordered")
        undiscovered = (levels == HOSPITAL) & ~np.isin(self.simulator.api_codes(self.state), DISCOVERED_CODES)
        if undiscovered.any():
            raise EpictlError(f"{int(undiscovered.sum())} hospitalisation(s) of people who are not symptomatic or "
                              "critical (API code 3 or 4)")
        return levels.astype(np.int8), np.where(ordered, days, 1).astype(np.int16)

    # -- episode outcome and snapshots ---------------------------------------------------------
    def episode_report(self) -> EpisodeReport:
        """The Score of the days simulated so far (spec §9) with its parts, and the daily log."""
        outcome = self.simulator.metrics(self.state)
        log = self.simulator.log_frame(self.state)
        score, infected, cost = score_of_log(log, self.score)
        curves = {key: values for key, values in log.items() if key != "day"}  # the report numbers the days
        metrics = {
            "score": score, "infected": infected, "cost": cost,
            "mobility_retained": outcome["mobility_retained"],
            "peak_hospitalised": float(np.max(log["hospitalised"], initial=0)),
            "infected_share": outcome["infected"],
            "decided_days": float(len(self.rewards)),
        }
        plots = {"health": ["infected", "susceptible", "symptomatic", "critical", "recovered"],
                 "interventions": ["hospitalised", "isolated", "quarantined", "confined"],
                 "infections": ["new_infections", "acquaintance_infections", "stranger_infections"]}
        return EpisodeReport(self.family, metrics, curves, plots, first_controlled_day=self.first_decision_day)

    def snapshot(self):
        return (self.state.copy(), list(self.rewards), self.first_decision_day, self.worst_reward,
                self.stop_new_infections, self.stop_penalty_factor)

    def restore(self, snapshot) -> None:
        state, rewards, first, worst, stop, factor = snapshot
        self.state, self.rewards, self.first_decision_day = state.copy(), list(rewards), first
        self.worst_reward, self.stop_new_infections, self.stop_penalty_factor = float(worst), stop, float(factor)

    # -- days and observations -----------------------------------------------------------------
    def interventions_open(self) -> bool:
        """Open from day 0 without t_start; else t_start days after the first day a symptomatic case is seen."""
        if self.intervention_start is None:
            return True
        seen = np.flatnonzero(self.simulator.log_frame(self.state)["cumulative_symptomatic"] > 0)
        return bool(len(seen)) and self.state.day >= int(seen[0]) + 1 + self.intervention_start

    def _last_log(self) -> dict[str, float]:
        return {key: float(values[-1]) for key, values in self.simulator.log_frame(self.state).items()}

    def _observe(self) -> dict:
        state, sim = self.state, self.simulator
        levels = sim.standing_levels(state)
        return {
            "day": np.array([state.day], np.int32),
            "code": sim.api_codes(state).astype(np.int8),
            "level": levels.astype(np.int8),
            "home": read_only(state.home), "work": read_only(state.work),
            "home_group": read_only(state.home_group), "work_group": read_only(state.work_group),
            "visits": sim.visit_history(state),
            "area_category": read_only(state.area_category),
            "area_discovered": sim.area_discovered(state).astype(np.int32),
            "level_counts": np.bincount(levels, minlength=LEVELS).astype(np.int32),
        }


def read_only(array: np.ndarray) -> np.ndarray:
    """A view the agent cannot write through: the city's fixed arrays are the simulator's own, shared by every
    observation of the episode (no copy of 10,000 entries a day)."""
    view = array.view()
    view.flags.writeable = False
    return view
