"""A plain NumPy version of the cluster kernel's day, written from spec §2.4-§5 without Numba, to check the
kernel against (tests/test_cluster_sim.py) and to time it beside (scripts/bench_clusters.py)."""

from __future__ import annotations

import numpy as np

from epictl.sim.clusters import kernels
from epictl.sim.clusters.params import ClusterParams
from epictl.sim.clusters.simulator import ClusterDay, ClusterState


def open_day(state: ClusterState, k: int, s: int, visible_after: int, horizon: int) -> None:
    n = state.size[k]
    tested_yesterday = state.tested[k, :n, s - 1] if s >= 1 else np.zeros(n, np.int8)
    shown = state.result[k, :n, s - visible_after] if s >= visible_after else np.zeros(n, np.int8)
    rows = state.history[k, :n, s]
    rows[:, kernels.SYM] = state.symptoms[k, :n, s]
    rows[:, kernels.TESTED] = tested_yesterday
    rows[:, kernels.RESULT] = shown
    rows[:, kernels.CLUSTER_TESTS] = tested_yesterday.sum() / n
    rows[:, kernels.CLUSTER_POSITIVES] = (shown == 1).sum() / n
    rows[:, kernels.CLUSTER_SYMPTOMS] = state.symptoms[k, :n, s].sum() / n
    rows[:, kernels.SIZE] = n / kernels.SIZE_SCALE
    rows[:, kernels.DAY] = s / horizon


def advance_day(params: ClusterParams, state: ClusterState, action: ClusterDay) -> None:
    """The same day as ``kernels.advance_day``, one cluster at a time with array operations over members."""
    horizon = params.horizon_days
    visible_after = max(params.result_delay_days, 1)
    state.person_cost[:] = 0
    for k in range(len(state.size)):
        t = state.day - state.start[k]
        if not 0 <= t < horizon:
            continue
        n = state.size[k]
        if params.first_decision_day <= t <= params.last_decision_day:
            sick = state.infectious[k, :n, t] == 1
            isolated = action.quarantine[k, :n] != 0
            tests = action.tests[k, :n] != 0
            threshold = np.where(sick, params.test_sensitivity, 1.0 - params.test_specificity)
            positive = tests & (state.test_draw[k, :n, t] < threshold)
            state.tested[k, :n, t] = np.where(tests, 1, state.tested[k, :n, t])
            state.result[k, :n, t] = np.where(tests, np.where(positive, 1, -1), state.result[k, :n, t])
            if params.result_delay_days == 0:
                isolated = isolated | positive
            cost = np.stack([sick & ~isolated, isolated & ~sick, tests], axis=1).astype(np.int8)
            state.person_cost[k, :n] = cost
            state.totals[k] += cost.sum(axis=0)
        if t + 1 < horizon:
            open_day(state, k, t + 1, visible_after, horizon)
    for k in np.flatnonzero(state.start == state.day + 1):
        open_day(state, k, 0, visible_after, horizon)
    state.day += 1
