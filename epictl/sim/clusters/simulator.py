"""The cluster simulator (the ``Simulator`` contract of epictl/sim/contract.py).

``reset`` draws every cluster of the episode at once (spec §2.2-§2.3): size, index-case transmissiveness,
infections on local day 0, symptoms, onset and symptom days, the infectious window, background symptoms and
the uniform behind each possible test. Actions never change a disease course (no onward spread, spec §2.2), so
two policies on one seed face the same outbreaks and the same test outcomes. ``step`` advances one global day
under the day's tests and quarantines (``ClusterDay``); the kernel books S1, S2, S3 per person.

There is no ``step_many`` (one kernel call over a vector env's copies): a day of the 20-cluster env is 5-12 us of
kernel work per copy (the call itself under 1 us), less than handing a copy's arrays to one batched call costs (a
typed list: about 40 us a copy; a tuple of copies compiles anew for each copy count and measured slower), so the
copies step one after another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epictl.errors import EpictlError
from epictl.sim.clusters import kernels
from epictl.sim.clusters.params import MAX_MEMBERS, ClusterParams
from epictl.sim.contract import DAYS, PER_PERSON, SHARE
from epictl.sim.random_streams import random_streams

# roles of the episode seed's streams: start days, disease courses, background symptoms, test outcomes
ARRIVALS, COURSES, BACKGROUND, TEST_OUTCOMES = range(4)


@dataclass
class ClusterDay:
    """One global day's decisions, per cluster and member: 0/1 int8 arrays [clusters, 39]."""

    tests: np.ndarray
    quarantine: np.ndarray


@dataclass
class ClusterState:
    """Every cluster of one episode. Disease arrays are drawn at reset and never written (shared by copies)."""

    day: int  # global day
    start: np.ndarray  # [K] global day of each cluster's local day 0
    size: np.ndarray  # [K] members N
    infected: np.ndarray  # [K, M] infected on local day 0
    infectious: np.ndarray  # [K, M, D] int8: inf[i, t] (spec §2.3)
    symptoms: np.ndarray  # [K, M, D] int8: disease or background symptom on day t
    test_draw: np.ndarray  # [K, M, D] uniform behind a test of i on day t
    tested: np.ndarray  # [K, M, D] int8
    result: np.ndarray  # [K, M, D] int8: +1 positive, -1 negative, 0 not tested
    history: np.ndarray  # [K, M, D, F] float32: the rows agents see (kernels.py)
    person_cost: np.ndarray  # [K, M, 3] int8: today's S1, S2, S3 contributions
    totals: np.ndarray  # [K, 3] S1, S2, S3 summed over decision days

    def copy(self) -> "ClusterState":
        shared = {"start", "size", "infected", "infectious", "symptoms", "test_draw"}
        return ClusterState(**{key: value if key in shared or not isinstance(value, np.ndarray) else value.copy()
                               for key, value in vars(self).items()})


class ClusterSimulator:
    metric_units = {
        "days": DAYS,
        "attack_rate": SHARE,  # infected contacts / contacts
        "s1": PER_PERSON,  # missed infectious days over decision days, per contact (spec §2.6 S1/N)
        "s2": PER_PERSON,  # unnecessary quarantine days per contact
        "s3": PER_PERSON,  # tests per contact
    }

    def __init__(self, params: ClusterParams):
        self.params = params.validate()

    @property
    def horizon(self) -> int:
        """Global days in an episode: the last cluster's start plus its lifetime."""
        p = self.params
        return (p.max_start_offset if p.activation == "async" else 0) + p.horizon_days

    def reset(self, seed: int, initial=None) -> ClusterState:
        if initial is not None:
            raise EpictlError("the cluster simulator draws its own clusters; it takes no initial condition")
        p = self.params
        streams = random_streams(seed)
        k, m, d = p.n_clusters, MAX_MEMBERS, p.horizon_days
        if p.activation == "async":
            start = streams[ARRIVALS].integers(0, p.max_start_offset + 1, k)
        else:
            start = np.zeros(k, dtype=np.int64)
        courses = streams[COURSES]
        size = courses.integers(p.size_min, p.size_max + 1, k)
        members = np.arange(m) < size[:, None]
        high = courses.random(k) < p.p_high_transmission
        p_infect = np.where(high, p.p_infection * p.high_transmission_factor, p.p_infection)
        infected = (courses.random((k, m)) < p_infect[:, None]) & members
        symptomatic = courses.random((k, m)) < p.p_symptomatic
        onset = np.floor(np.exp(courses.normal(p.onset_log_mean, p.onset_log_sd, (k, m))))
        symptom_days = np.floor(np.exp(courses.normal(p.symptom_log_mean, p.symptom_log_sd, (k, m))))
        if p.infectious_window == "seven_day":
            first, last = onset - p.infectious_before_onset, onset + p.infectious_after_onset
        else:  # the predecessor's lognormal period, from the same pre-onset start (spec §2.3: regression only)
            first = onset - p.infectious_before_onset
            last = first + np.floor(np.exp(courses.normal(p.predecessor_log_mean, p.predecessor_log_sd, (k, m)))) - 1
        days = np.arange(d)
        infectious = infected[..., None] & (first[..., None] <= days) & (days <= last[..., None])
        sick = (infected & symptomatic)[..., None] & (onset[..., None] <= days) & (days < (onset + symptom_days)[..., None])
        background = streams[BACKGROUND].random((k, m, d)) < p.background_symptom_p
        symptoms = (sick | background) & members[..., None]
        state = ClusterState(
            day=0, start=start.astype(np.int64), size=size.astype(np.int64), infected=infected,
            infectious=infectious.astype(np.int8), symptoms=symptoms.astype(np.int8),
            test_draw=streams[TEST_OUTCOMES].random((k, m, d)),
            tested=np.zeros((k, m, d), np.int8), result=np.zeros((k, m, d), np.int8),
            history=np.zeros((k, m, d, kernels.FEATURES), np.float32),
            person_cost=np.zeros((k, m, 3), np.int8), totals=np.zeros((k, 3), np.float64))
        for name in ("start", "size", "infected", "infectious", "symptoms", "test_draw"):
            getattr(state, name).flags.writeable = False
        kernels.open_first_days(0, state.start, state.size, state.symptoms, state.tested, state.result,
                                p.result_delay_days, state.history)
        return state

    def step(self, state: ClusterState, action: ClusterDay) -> None:
        p = self.params
        kernels.advance_day(state.day, state.start, state.size, state.infectious, state.symptoms, state.test_draw,
                            action.tests, action.quarantine, p.test_sensitivity, p.test_specificity,
                            p.result_delay_days, p.first_decision_day, p.last_decision_day, state.tested,
                            state.result, state.history, state.person_cost, state.totals)
        state.day += 1

    def local_days(self, state: ClusterState) -> np.ndarray:
        return state.day - state.start

    def active(self, state: ClusterState) -> np.ndarray:
        """Clusters on a decision day today (spec §3 [R])."""
        t = self.local_days(state)
        return (self.params.first_decision_day <= t) & (t <= self.params.last_decision_day)

    def finished(self, state: ClusterState) -> bool:
        """No cluster has a decision day left."""
        return bool(np.all(self.local_days(state) > self.params.last_decision_day))

    def observe(self, state: ClusterState) -> np.ndarray:
        """The history rows written so far [K, 39, 30, 8] (rows after each cluster's local day are 0)."""
        return state.history

    def metrics(self, state: ClusterState) -> dict[str, float]:
        contacts = float(state.size.sum())
        s1, s2, s3 = state.totals.sum(axis=0) / contacts
        return {"days": float(state.day), "attack_rate": float(state.infected.sum()) / contacts,
                "s1": float(s1), "s2": float(s2), "s3": float(s3)}
