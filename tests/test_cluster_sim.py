"""The cluster simulator and its env (spec multi-cluster-npi.md §2-§6): the sanity ranges of §2.6, the test
model, result timing, causality of every observed row, determinism, and the budget and action checks."""

from __future__ import annotations

import numpy as np
import pytest

from epictl.envs.clusters import ClustersEnv
from epictl.errors import EpictlError
from epictl.rewards.peng2026 import ClusterReward
from epictl.sim.clusters import kernels
from epictl.sim.clusters.params import MAX_MEMBERS, ClusterParams
from epictl.sim.clusters.simulator import ClusterDay, ClusterSimulator

K = 40


def run_rule(simulator: ClusterSimulator, seeds: range, rule: str) -> dict[str, float]:
    """Mean metrics over ``seeds`` with nobody tested and quarantine never / iff a symptom the previous day."""
    none = np.zeros((simulator.params.n_clusters, MAX_MEMBERS), np.int8)
    totals = []
    for seed in seeds:
        state = simulator.reset(seed)
        while not simulator.finished(state):
            quarantine = none
            if rule == "symptom":
                t = simulator.local_days(state)
                yesterday = np.clip(t - 1, 0, simulator.params.horizon_days - 1)
                seen = ((t >= 1) & (t < simulator.params.horizon_days))[:, None]
                quarantine = state.symptoms[np.arange(len(t)), :, yesterday] * seen
            simulator.step(state, ClusterDay(none, quarantine.astype(np.int8)))
        totals.append(simulator.metrics(state))
    return {key: float(np.mean([m[key] for m in totals])) for key in totals[0]}


def test_sanity_ranges_of_spec_2_6():
    """20,000 clusters: attack rate 0.107; S1/N 0.61 without quarantine; 0.28 and S2/N 1.10 with the symptom rule."""
    simulator = ClusterSimulator(ClusterParams(n_clusters=K, activation="sync"))
    never, symptom = run_rule(simulator, range(500), "never"), run_rule(simulator, range(500), "symptom")
    assert never["attack_rate"] == pytest.approx(0.107, abs=0.03)
    assert never["s1"] == pytest.approx(0.61, abs=0.03) and never["s2"] == 0.0
    assert symptom["s1"] == pytest.approx(0.28, abs=0.03)
    assert symptom["s2"] == pytest.approx(1.10, abs=0.03)


def test_disease_courses_follow_spec_2_3():
    simulator = ClusterSimulator(ClusterParams(n_clusters=K, activation="sync"))
    states = [simulator.reset(seed) for seed in range(100)]
    members = np.concatenate([(np.arange(MAX_MEMBERS) < s.size[:, None]).ravel() for s in states])
    infected = np.concatenate([s.infected.ravel() for s in states])
    days = np.concatenate([s.infectious.reshape(-1, 30).sum(axis=1) for s in states])
    assert not infected[~members].any()
    assert days.max() <= 7 and not days[~infected].any()  # the 7-day window onset-2..onset+4, clipped
    sizes = np.concatenate([s.size for s in states])
    assert sizes.min() == 2 and sizes.max() == 39
    symptoms = np.concatenate([s.symptoms.reshape(-1, 30) for s in states])
    uninfected = members & ~infected
    assert symptoms[uninfected].mean() == pytest.approx(0.01, abs=0.002)  # background symptoms only


def test_test_outcomes_follow_sensitivity_and_specificity():
    params = ClusterParams(n_clusters=K, activation="sync", test_sensitivity=0.7, test_specificity=0.9)
    simulator = ClusterSimulator(params)
    everyone = np.ones((K, MAX_MEMBERS), np.int8)
    positives = {True: [], False: []}
    for seed in range(40):
        state = simulator.reset(seed)
        while not simulator.finished(state):
            simulator.step(state, ClusterDay(everyone, np.zeros_like(everyone)))
        done = state.tested == 1
        for sick in (True, False):
            chosen = done & ((state.infectious == 1) == sick)
            positives[sick].append(state.result[chosen] == 1)
    assert np.concatenate(positives[True]).mean() == pytest.approx(0.7, abs=0.03)
    assert np.concatenate(positives[False]).mean() == pytest.approx(0.1, abs=0.01)


def play(env: ClustersEnv, seed: int, policy, keep: list | None = None) -> float:
    observation, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        if keep is not None:
            keep.append(observation)
        observation, reward, done, _, info = env.step(policy(observation))
        assert reward == pytest.approx(float(info["reward_split"].sum()), abs=1e-5)
        total += reward
    return total


def random_tests(budget: int, seed: int = 0):
    rng = np.random.default_rng(seed)

    def policy(observation):
        members = observation["members"].astype(bool)
        tests = np.zeros_like(members)
        chosen = rng.permutation(np.flatnonzero(members))[:budget]
        tests.flat[chosen] = True
        quarantine = observation["history"][..., kernels.SYM].max(axis=2) > 0
        return {"test": tests.astype(np.int8), "quarantine": (quarantine & members).astype(np.int8)}

    return policy


def env(n_clusters: int = 6, budget: int = 12, **sim) -> ClustersEnv:
    return ClustersEnv(ClusterParams(n_clusters=n_clusters, max_start_offset=5, **sim), ClusterReward(), budget)


def test_every_observed_row_is_built_from_days_up_to_today():
    """Row s of the history never changes once written, and rows after each cluster's day are empty: the
    day-t observation is the final history cut at t (the predecessor leaked future onsets, spec §5.1)."""
    environment, seen = env(), []
    play(environment, 3, random_tests(12), seen)
    final = environment.state.history
    for observation in seen:
        history, day = observation["history"], observation["day"]
        started = environment.state.start <= environment.state.day  # every cluster has begun by the end
        for k in np.flatnonzero(started & (observation["size"] > 0)):
            t = day[k]
            if observation["active"][k]:
                np.testing.assert_array_equal(history[k, :, : t + 1], final[k, :, : t + 1])
                assert not history[k, :, t + 1:].any()


def test_same_seed_same_episode():
    first, second = env(), env()
    assert play(first, 5, random_tests(12, 1)) == play(second, 5, random_tests(12, 1))
    np.testing.assert_array_equal(first.state.history, second.state.history)
    assert first.episode_report().metrics == second.episode_report().metrics


def test_return_is_the_mean_over_clusters_of_their_summed_rewards():
    environment = env()
    total = play(environment, 2, random_tests(12))
    assert environment.episode_report().metrics["return"] == pytest.approx(total / 6, rel=1e-5)


def test_results_are_visible_after_the_delay_and_same_day_quarantine_without_it():
    for delay in (0, 1, 2):
        simulator = ClusterSimulator(ClusterParams(n_clusters=1, activation="sync", result_delay_days=delay,
                                                   test_sensitivity=1.0, test_specificity=1.0))
        state = simulator.reset(11)
        everyone, none = np.ones((1, MAX_MEMBERS), np.int8), np.zeros((1, MAX_MEMBERS), np.int8)
        while simulator.local_days(state)[0] < 10:
            simulator.step(state, ClusterDay(everyone if state.day == 5 else none, none))
        n = state.size[0]
        shown = state.history[0, :n, 5 + max(delay, 1), kernels.RESULT]
        np.testing.assert_array_equal(shown, np.where(state.infectious[0, :n, 5] == 1, 1, -1))
        assert not state.history[0, :n, 5 + max(delay, 1) - 1, kernels.RESULT].any()
        if delay == 0:  # positives were quarantined on the test day: no missed infectious day then
            assert state.totals[0, 0] == state.infectious[0, :n, 3:5].sum()


def test_the_budget_and_the_active_members_bound_every_test():
    environment = env(budget=3)
    observation, _ = environment.reset(seed=0)
    members = observation["members"].astype(bool)
    too_many = np.zeros_like(members)
    too_many.flat[np.flatnonzero(members)[:4]] = True
    none = np.zeros_like(members, dtype=np.int8)
    with pytest.raises(EpictlError, match="exceed the daily budget B=3"):
        environment.step({"test": too_many.astype(np.int8), "quarantine": none})
    outside = np.zeros_like(members)
    outside.flat[np.flatnonzero(~members)[0]] = True
    with pytest.raises(EpictlError, match="outside the members of active clusters"):
        environment.step({"test": outside.astype(np.int8), "quarantine": none})
    with pytest.raises(EpictlError, match="must be 0/1 of shape"):
        environment.step({"test": none[:1], "quarantine": none})


def test_async_clusters_start_within_the_offsets_and_sync_ones_together():
    asynchronous = ClusterSimulator(ClusterParams(n_clusters=K, max_start_offset=14)).reset(0)
    assert asynchronous.start.min() >= 0 and asynchronous.start.max() <= 14 and len(set(asynchronous.start)) > 1
    assert not ClusterSimulator(ClusterParams(n_clusters=K, activation="sync")).reset(0).start.any()


def test_training_episodes_draw_alpha3_within_the_range():
    environment = ClustersEnv(ClusterParams(n_clusters=1, activation="sync"), ClusterReward(alpha3=0.03), 0,
                              [0.003, 0.5])
    drawn = [environment.reset(seed=s, options={"training": True})[0]["alpha3"][0] for s in range(50)]
    assert 0.003 <= min(drawn) and max(drawn) <= 0.5 and len(set(drawn)) == 50
    assert environment.reset(seed=0)[0]["alpha3"][0] == pytest.approx(0.03)


def test_kernel_matches_the_numpy_reference():
    """Random tests and quarantines every day, result delays 0-2: identical history, results and costs."""
    from epictl.sim.clusters import reference

    for delay in (0, 1, 2):
        params = ClusterParams(n_clusters=7, max_start_offset=6, result_delay_days=delay)
        simulator, rng = ClusterSimulator(params), np.random.default_rng(delay)
        fast = simulator.reset(21 + delay)
        slow = fast.copy()
        while not simulator.finished(fast):
            action = ClusterDay(*(rng.integers(0, 2, (7, MAX_MEMBERS)).astype(np.int8) for _ in range(2)))
            simulator.step(fast, action)
            reference.advance_day(params, slow, action)
            np.testing.assert_array_equal(fast.person_cost, slow.person_cost)
        for name in ("history", "tested", "result", "totals"):
            np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)


def test_per_person_day_return_divides_by_the_decision_days():
    per_cluster, per_day = env(), ClustersEnv(ClusterParams(n_clusters=6, max_start_offset=5), ClusterReward(), 12,
                                              None, "per_person_day")
    play(per_cluster, 4, random_tests(12))
    play(per_day, 4, random_tests(12))
    assert per_day.episode_report().metrics["return"] == pytest.approx(
        per_cluster.episode_report().metrics["return"] / 24)
