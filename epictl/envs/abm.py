"""Gymnasium env over the age-stratified city in the paper's formulation (spec §9): one decision fixes a whole run.

The action is eight numbers in days, the start and the duration of the lockdown and of each age group's vaccination
window (`abm_schedule.INTERVENTIONS`): [lockdown start, lockdown days, 0-17 start, 0-17 days, 18-59 start, ...]. End =
start + duration, capped at the horizon; a duration of 0 means never. Both are rounded to whole 12-hour ticks.
One step runs the schedule ``repeats`` times (seeds ``episode seed x 1000 + r``, so that two schedules on one seed
meet the same epidemics until they differ) and pays the mean TRew divided by N; the episode then ends, so each
step is a one-step episode of a contextual bandit.

The observation is the paper's unstated state read as a constant context [epictl, spec §9]: the initial infected
share, each vaccine's effectiveness and availability (doses over the horizon as a share of N), kappa and the day-0
compartment shares.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from epictl.envs.abm_schedule import INTERVENTIONS, MAX_REPEATS
from epictl.envs.report import EpisodeReport
from epictl.errors import EpictlError
from epictl.rewards.deshkar2023 import ScheduleReward
from epictl.sim.abm.params import COMPARTMENTS, AbmParams
from epictl.sim.abm.simulator import AbmSimulator

TICKS_PER_DAY = 2  # [paper]
HARMED = ("mild", "hospitalised")  # H_t = InfectedMild + Hospitalized [paper §3.2]


class AbmEnv(gym.Env):
    metadata = {"render_modes": []}
    family = "abm"

    def __init__(self, params: AbmParams, reward: ScheduleReward, repeats: int):
        self.simulator = AbmSimulator(params)
        self.params, self.reward_fn, self.repeats = self.simulator.params, reward.validate(), repeats
        self.horizon_ticks = TICKS_PER_DAY * self.params.days
        self.context = self._context()
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, self.context.shape, np.float32)
        self.action_space = gym.spaces.Box(0.0, float(self.params.days), (2 * len(INTERVENTIONS),), np.float32)
        self.seed_of_episode: int | None = None
        self.runs: list[dict[str, np.ndarray]] = []  # the last schedule's daily logs, one per repeat
        self.parts: list[tuple[float, float, float]] = []  # their (TRew, HRew, ERew)
        self.schedule_ticks: np.ndarray | None = None  # [interventions, (start, end)] of the last schedule

    def _context(self) -> np.ndarray:
        params, n = self.params, self.params.n_agents
        day0 = self.simulator.log_frame(self.simulator.reset(0))
        shares = [float(day0[name][0]) / n for name in COMPARTMENTS]
        vaccines = [value for vaccine in params.vaccines
                    for value in (vaccine.effectiveness, vaccine.doses_per_day * params.days / n)]
        return np.array([params.initial_infected, *vaccines, self.reward_fn.kappa, *shares], np.float32)

    # -- Gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        unknown = set(options or {}) - {"training"}
        if unknown:
            raise EpictlError(f"unknown reset option(s) {sorted(unknown)} for env family abm")
        self.seed_of_episode = int(seed if seed is not None else self.np_random.integers(2**31 // MAX_REPEATS))
        self.runs, self.parts, self.schedule_ticks = [], [], None
        return self.context.copy(), {}

    def step(self, action):
        if self.seed_of_episode is None:
            raise EpictlError("call reset() before step()")
        if self.runs:
            raise EpictlError("the episode has ended (one schedule per episode); call reset()")
        self.schedule_ticks = self.ticks_of(action)
        lockdown, vaccinate = self.windows(self.schedule_ticks)
        for repeat in range(self.repeats):
            state = self.simulator.reset(self.seed_of_episode * MAX_REPEATS + repeat)
            self.simulator.run(state, lockdown, vaccinate)
            log = self.simulator.log_frame(state)
            self.runs.append(log)
            controlled = slice(1, None)  # the end of days 1..horizon, once a day [epictl]
            harmed = sum(log[name][controlled] for name in HARMED)
            self.parts.append(self.reward_fn.parts(harmed, log["below_poverty"][controlled]))
        total, health, economy = np.mean(self.parts, axis=0)
        start, end = self.schedule_ticks.T
        executed = np.stack([start, end - start], axis=1) / TICKS_PER_DAY  # in the action's (start, days) form
        info = {"action": executed.reshape(-1).astype(np.float32),
                "log": {"total_reward": total, "health_reward": health, "economy_reward": economy}}
        return self.context.copy(), float(total) / self.params.n_agents, True, False, info

    def ticks_of(self, action) -> np.ndarray:
        """[interventions, (start tick, end tick)] of an action in days (clipped to the horizon, rounded to ticks)."""
        values = np.asarray(action, dtype=np.float64)
        if values.shape != self.action_space.shape or not np.all(np.isfinite(values)):
            raise EpictlError(f"an ABM action is {self.action_space.shape[0]} finite numbers of days "
                              f"({', '.join(f'{name} start and days' for name in INTERVENTIONS)}), got {values.shape}")
        ticks = np.rint(np.clip(values, 0.0, self.params.days) * TICKS_PER_DAY).astype(np.int64).reshape(-1, 2)
        start = ticks[:, 0]
        return np.stack([start, np.minimum(start + ticks[:, 1], self.horizon_ticks)], axis=1)

    def windows(self, schedule_ticks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sim's per-tick switches: lockdown bool[days, 2] and vaccination bool[days, 2, groups]."""
        tick = np.arange(self.horizon_ticks)
        open_ = (schedule_ticks[:, :1] <= tick) & (tick < schedule_ticks[:, 1:])  # [interventions, ticks]
        per_day = open_.reshape(len(INTERVENTIONS), self.params.days, TICKS_PER_DAY)
        return per_day[0].copy(), np.ascontiguousarray(per_day[1:].transpose(1, 2, 0))

    # -- episode outcome and snapshots ---------------------------------------------------------
    def episode_report(self) -> EpisodeReport:
        """Outcomes and daily curves averaged over the schedule's repeats (rewards unscaled, in agents), and the
        schedule itself (start and end day of each intervention; end = start: never)."""
        if not self.runs:
            raise EpictlError("no schedule has run in this episode yet")
        n = self.params.n_agents
        curves = {key: np.mean([log[key] for log in self.runs], axis=0) for key in self.runs[0] if key != "day"}
        total, health, economy = np.mean(self.parts, axis=0)
        metrics = {
            "below_poverty": curves["below_poverty"][-1] / n,
            "deceased": curves["deceased"][-1] / n,
            "hospitalised": curves["cumulative_hospitalised"][-1] / n,
            "infected": curves["cumulative_infected"][-1] / n,
            "vaccinated": curves["vaccinated"][-1] / n,
            "total_reward": total, "health_reward": health, "economy_reward": economy,
        }
        for name, (start, end) in zip(INTERVENTIONS, self.schedule_ticks / TICKS_PER_DAY):
            metrics[f"{name}_start"], metrics[f"{name}_end"] = float(start), float(end)
        plots = {"health": ["mild", "hospitalised", "deceased", "cumulative_infected"],
                 "economy": ["below_poverty", "locked_down"],
                 "vaccination": ["vaccinated"]}
        return EpisodeReport(self.family, metrics, curves, plots, first_controlled_day=0)

    def snapshot(self):
        return (self.seed_of_episode, [dict(log) for log in self.runs], list(self.parts),
                None if self.schedule_ticks is None else self.schedule_ticks.copy())

    def restore(self, snapshot) -> None:
        seed, runs, parts, ticks = snapshot
        self.seed_of_episode, self.runs, self.parts = seed, [dict(log) for log in runs], list(parts)
        self.schedule_ticks = None if ticks is None else np.array(ticks)

