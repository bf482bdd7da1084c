"""The cluster simulator's daily step: one Numba kernel over every cluster (arrays in, arrays out).

History features (the rows an agent sees) are written when a cluster's local day opens, from what is known by
then, so no row ever depends on a later day (spec §5.1 causality)."""

from __future__ import annotations

import numba as nb
import numpy as np

# history features, per person and local day (the observation's last axis)
SYM, TESTED, RESULT, CLUSTER_TESTS, CLUSTER_POSITIVES, CLUSTER_SYMPTOMS, SIZE, DAY = range(8)
FEATURES = 8
SIZE_SCALE = 40.0  # N / 40 [spec R]
# per-person costs of one day: missed infectious day, unnecessary quarantine day, test (spec §4 S1, S2, S3)
S1, S2, S3 = range(3)


@nb.njit(cache=True)
def open_local_day(k, s, size, symptoms, tested, result, visible_after, horizon, history):
    """Write row ``s`` of cluster ``k``: what its members know at the start of their local day ``s``."""
    n = size[k]
    tests = 0.0
    positives = 0.0
    sick = 0.0
    for i in range(n):
        if s >= 1 and tested[k, i, s - 1]:
            tests += 1.0
        if s >= visible_after and result[k, i, s - visible_after] == 1:
            positives += 1.0
        if symptoms[k, i, s]:
            sick += 1.0
    for i in range(n):
        row = history[k, i, s]
        row[SYM] = symptoms[k, i, s]
        if s >= 1:
            row[TESTED] = tested[k, i, s - 1]
        if s >= visible_after:
            row[RESULT] = result[k, i, s - visible_after]
        row[CLUSTER_TESTS] = tests / n
        row[CLUSTER_POSITIVES] = positives / n
        row[CLUSTER_SYMPTOMS] = sick / n
        row[SIZE] = n / SIZE_SCALE
        row[DAY] = s / horizon


@nb.njit(cache=True)
def advance_day(day, start, size, infectious, symptoms, test_draw, tests, quarantine, sensitivity, specificity,
                result_delay, first_decision, last_decision, tested, result, history, person_cost, totals):
    """Global ``day``: test, quarantine and book S1-S3 on every cluster's decision day, then open the next day.

    A test on local day t is positive with probability ``sensitivity`` if the person is infectious that day, else
    with 1 - ``specificity``, from the uniform drawn for (person, day) at creation (common random numbers). Its
    result is visible from day t + max(result_delay, 1); with result_delay 0 a positive person is also quarantined
    the same day (the predecessor's "test, quarantine if positive")."""
    n_clusters, members, horizon = infectious.shape
    visible_after = max(result_delay, 1)
    person_cost[:] = 0
    for k in range(n_clusters):
        t = day - start[k]
        if t < 0 or t >= horizon:
            continue
        if first_decision <= t <= last_decision:
            for i in range(size[k]):
                sick = infectious[k, i, t] == 1
                isolated = quarantine[k, i] != 0
                if tests[k, i] != 0:
                    threshold = sensitivity if sick else 1.0 - specificity
                    positive = test_draw[k, i, t] < threshold
                    tested[k, i, t] = 1
                    result[k, i, t] = 1 if positive else -1
                    person_cost[k, i, S3] = 1
                    if result_delay == 0 and positive:
                        isolated = True
                if sick and not isolated:
                    person_cost[k, i, S1] = 1
                if isolated and not sick:
                    person_cost[k, i, S2] = 1
                for c in range(3):
                    totals[k, c] += person_cost[k, i, c]
        if t + 1 < horizon:
            open_local_day(k, t + 1, size, symptoms, tested, result, visible_after, horizon, history)
    for k in range(n_clusters):
        if start[k] == day + 1:
            open_local_day(k, 0, size, symptoms, tested, result, visible_after, horizon, history)


def open_first_days(day, start, size, symptoms, tested, result, result_delay, history) -> None:
    """Row 0 of the clusters that start on global ``day`` (reset's day 0)."""
    horizon = symptoms.shape[2]
    for k in np.flatnonzero(start == day):
        open_local_day(k, 0, size, symptoms, tested, result, max(result_delay, 1), horizon, history)
