"""The rule-based cluster policies (spec §9): budget shares, the symptom, 14-day and CDC-style rules, and each
Table 2 heuristic through `epictl eval`."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configs import agent_config
from fuzz_harness import assert_clean_rejection, run_cli
from epictl.agents.cluster_rules import ClusterRule
from epictl.cli import main
from epictl.envs.clusters import ClustersEnv
from epictl.rewards.peng2026 import ClusterReward
from epictl.sim.clusters.params import ClusterParams


def rule(name: str, **overrides) -> tuple[ClusterRule, ClustersEnv]:
    env = ClustersEnv(ClusterParams(n_clusters=5, max_start_offset=4), ClusterReward(), 12)
    return ClusterRule(agent_config(name, **overrides), env.observation_space, env.action_space, 0), env


@functools.cache
def share_rule() -> ClusterRule:
    return rule("symp_avgrand")[0]


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 39), min_size=1, max_size=40), budget=st.integers(1, 500),
       testing=st.sampled_from(["even", "size"]))
def test_shares_spend_the_budget_within_each_cluster(sizes, budget, testing):
    agent = share_rule()
    sizes = np.array(sizes)
    shares = agent._shares(sizes, budget, testing)
    assert shares.sum() == min(budget, sizes.sum())
    assert (shares >= 0).all() and (shares <= sizes).all()
    if testing == "even" and budget <= sizes.sum():  # even split: shares differ by at most one, unless capped
        uncapped = shares < sizes
        if uncapped.any():
            assert shares.max() <= shares[uncapped].min() + 1


def test_size_shares_follow_cluster_size():
    agent, _ = rule("symp_avgrand")
    np.testing.assert_array_equal(agent._shares(np.array([10, 30, 20]), 6, "size"), [1, 3, 2])
    np.testing.assert_array_equal(agent._shares(np.array([10, 30, 20]), 6, "even"), [2, 2, 2])


def episode(agent: ClusterRule, env: ClustersEnv, seed: int):
    observation, info = env.reset(seed=seed)
    agent.reset(seed, info)
    done = False
    while not done:
        action = agent.act(observation)
        yield observation, action
        observation, _, done, _, _ = env.step(action)


def test_symptom_rule_quarantines_the_day_after_a_symptom_and_avgrand_spends_b():
    agent, env = rule("symp_avgrand")
    for observation, action in episode(agent, env, 1):
        members = observation["members"].astype(bool)
        t = observation["day"]
        yesterday = observation["history"][np.arange(5), :, t - 1, 0] > 0
        np.testing.assert_array_equal(action["quarantine"].astype(bool), yesterday & members)
        assert action["test"].sum() == min(12, members.sum())
        assert not (action["test"].astype(bool) & ~members).any()


def test_fourteen_day_and_cdc_rules():
    agent, env = rule("cluster_14day")
    for observation, action in episode(agent, env, 2):
        early = observation["day"] < 14
        members = observation["members"].astype(bool)
        assert action["quarantine"][early].astype(bool).sum() == members[early].sum()
    agent, env = rule("cluster_cdc")
    for observation, action in episode(agent, env, 3):
        members, t = observation["members"].astype(bool), observation["day"]
        quarantined = action["quarantine"].astype(bool)
        assert quarantined[t < 8].sum() == members[t < 8].sum()  # everyone in before day 8
        assert not quarantined[t >= 15].any()  # everyone out from day 15
        assert not action["test"][t != 5].any()  # tests only on day 5


@pytest.mark.parametrize("name", ["symp_avgrand", "cluster_never", "cluster_always", "cluster_symptom",
                                  "cluster_14day", "cluster_cdc"])
def test_rules_run_through_epictl_eval(tmp_path, name):
    out = tmp_path / name
    assert main(["eval", "env=clusters_tiny", f"agent={name}", "seeds=2", "progress=false", "plots=false",
                 f"hydra.run.dir={out}"]) == 0
    metrics = pd.read_csv(out / "metrics.csv")
    assert len(metrics) == 2 and metrics["return"].notna().all() and (metrics["return"] <= 0).all()


def test_never_and_always_bracket_the_costs(tmp_path):
    """Never quarantining misses every infectious day; always quarantining misses none but isolates everyone."""
    results = {}
    for name in ("cluster_never", "cluster_always"):
        out = tmp_path / name
        main(["eval", "env=clusters_tiny", f"agent={name}", "seeds=3", "progress=false", "plots=false",
              f"hydra.run.dir={out}"])
        results[name] = pd.read_csv(out / "metrics.csv")
    assert (results["cluster_always"]["s1_per_person"] == 0).all()
    assert (results["cluster_never"]["s2_per_person"] == 0).all()
    assert (results["cluster_always"]["s2_per_person"] > 20).all()  # 24 decision days, minus the infectious ones


@pytest.mark.parametrize("overrides, message", [
    (["agent=thres_avgrand"], "the threshold rule needs beliefs: agent.encoder_from="),
    (["agent=symp_avgrand", "agent.testing=lots"], "agent.testing='lots'"),
    (["agent=symp_avgrand", "env.sim.n_clusters=41"], "env.sim.n_clusters=41 must lie in 1..40"),
    (["agent=symp_avgrand", "budget.tests_per_day=0"], "share a daily test budget"),
    (["agent=symp_avgrand", "reward.alpha2=-1"], "reward.alpha2=-1.0 must be a finite number >= 0"),
    (["agent=symp_avgrand", "env.sim.activation=later"], "env.sim.activation='later'"),
    (["agent=symp_avgrand", "env.alpha3_train_range=[0.5,0.1]"], "env.alpha3_train_range=[0.5, 0.1]"),
    (["agent=symp_avgrand", "env.sim.bogus=1"], "Key 'bogus' not in 'ClusterParams'"),
    (["agent=symp_avgrand", "env.return_normalization=per_week"], "env.return_normalization='per_week'"),
    (["agent=expert_seriousness"], "cannot act in env 'clusters_tiny'"),
])
def test_bad_cluster_input_is_one_line_and_exit_code_2(tmp_path, overrides, message):
    run = tmp_path / "run"
    assert_clean_rejection(run_cli("eval", "env=clusters_tiny", *overrides, f"hydra.run.dir={run}", "progress=false"),
                           message, run)
