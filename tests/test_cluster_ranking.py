"""Global Q-ranking (Algorithm 1) and the global controllers around it: the budget is never exceeded, only
dQ > 0 is tested and the top B are chosen with seeded random ties; Bin-M-QR's bisection finds the smallest
multiplier whose demand fits; the PPO controller keeps m in [1, m_max], learns on a rollout and resumes exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_cli import epictl

from configs import agent_config
from epictl.agents.cluster_dqn import ClusterDqnAgent
from epictl.agents.cluster_ranking import alpha3_active, bisect_multiplier, demand, global_observation, rank_tests
from epictl.agents.advantages import gae
from epictl.agents.hier_ppo import GlobalEncoder, HierPpoAgent, RunningMeanStd, squash
from epictl.agents.q_ranking import QRankingAgent
from epictl.agents.registry import make_agent
from epictl.agents.torch_files import save_checkpoint
from epictl.envs.clusters import ClustersEnv
from epictl.errors import EpictlError
from epictl.rewards.peng2026 import ClusterReward
from epictl.sim.clusters.params import ClusterParams

pytestmark = pytest.mark.usefixtures("one_torch_thread")

K, M = 6, 39


def delta_q_table(seed: int, share_positive: float = 0.3) -> np.ndarray:
    """dQ of K clusters: -inf off the members (random sizes), a share of positive values among them."""
    rng = np.random.default_rng(seed)
    dq = np.full((K, M), -np.inf, np.float32)
    for k, size in enumerate(rng.integers(2, M + 1, K)):
        dq[k, :size] = rng.normal(0.0, 1.0, size) + np.where(rng.random(size) < share_positive, 2.0, -2.0)
    return dq


@pytest.mark.parametrize("budget", [0, 1, 5, 20, 10_000])
@pytest.mark.parametrize("seed", range(5))
def test_only_positive_dq_are_tested_and_the_budget_is_never_exceeded(seed, budget):
    dq = delta_q_table(seed)
    tests = rank_tests(dq, budget, np.random.default_rng(seed))
    assert tests.dtype == np.int8 and tests.shape == dq.shape
    assert np.all(dq[tests == 1] > 0)
    wanted = demand(dq)
    assert tests.sum() == (wanted if budget == 0 else min(budget, wanted))  # B == 0: no cap


@pytest.mark.parametrize("seed", range(5))
def test_the_top_b_by_dq_are_chosen(seed):
    dq = delta_q_table(seed, share_positive=0.6)
    tests = rank_tests(dq, 7, np.random.default_rng(0))
    assert tests.sum() == 7
    assert dq[tests == 1].min() >= dq[(tests == 0) & (dq > 0)].max()


def test_ties_break_at_random_from_the_seeded_stream():
    dq = np.where(np.arange(M) < 20, 1.0, -np.inf).astype(np.float32)[None].repeat(K, axis=0)
    picks = [rank_tests(dq, 5, np.random.default_rng(seed)) for seed in (3, 3, 4)]
    np.testing.assert_array_equal(picks[0], picks[1])
    assert not np.array_equal(picks[0], picks[2])
    chosen = np.zeros_like(dq)
    for seed in range(400):  # every tied candidate is drawn sometimes
        chosen += rank_tests(dq, 5, np.random.default_rng(seed))
    assert np.all(chosen[dq > 0] > 0)


def test_age_tie_break_prefers_older_clusters_then_dq():
    dq = np.full((3, M), -np.inf, np.float32)
    dq[:, :4] = 1.0
    dq[0, 0] = 5.0  # the largest dQ still goes first
    tests = rank_tests(dq, 5, np.random.default_rng(0), priority=np.array([3.0, 20.0, 10.0]))
    assert tests[0, 0] == 1 and tests[1, :4].sum() == 4 and tests.sum() == 5


class Demand:
    """A monotone demand that falls as m rises, recording the probes."""

    def __init__(self, total: int = 300):
        self.total, self.probes = total, []

    def __call__(self, m: float) -> int:
        self.probes.append(m)
        return int(self.total / m ** 2)


@pytest.mark.parametrize("budget", [2, 20, 150, 299])
def test_bisection_returns_the_smallest_probed_m_whose_demand_fits(budget):
    demand_at = Demand()
    m = bisect_multiplier(demand_at, budget, m_max=16.0, probes=10)
    assert len(demand_at.probes) == 11 and demand_at.probes[0] == 1.0  # demand(1), then K = 10 probes
    fitting = [p for p in demand_at.probes if demand_at.total / p ** 2 < budget + 1]
    assert m == min(fitting) and demand_at(m) <= budget
    assert m - 15.0 / 2 ** 10 <= (demand_at.total / (budget + 1)) ** 0.5 <= m  # within one bisection step


def test_bisection_keeps_the_true_cost_when_demand_fits_or_there_is_no_cap():
    for budget in (300, 0):  # demand(1) = 300 fits; B == 0: no cap, nothing to search
        demand_at = Demand()
        assert bisect_multiplier(demand_at, budget, m_max=16.0, probes=10) == 1.0
        assert len(demand_at.probes) == (1 if budget else 0)


def test_bisection_stops_at_m_max_when_nothing_fits():
    assert bisect_multiplier(lambda m: 1_000, 10, m_max=16.0, probes=10) == 16.0


@pytest.mark.parametrize("kind", ["sigmoid", "lognormal"])
def test_multiplier_stays_in_one_to_m_max(kind):
    ms = [squash(z, 16.0, kind) for z in np.linspace(-1e4, 1e4, 2001)]
    assert min(ms) >= 1.0 and max(ms) <= 16.0
    assert squash(0.0, 16.0, "sigmoid") == 8.5 and squash(0.0, 16.0, "lognormal") == 2.0


def test_gae_follows_its_recursion_and_stops_at_episode_ends():
    reward = np.array([1.0, 0.0, 2.0, 1.0], np.float32)
    value = np.array([0.5, 0.2, 0.1, 0.3], np.float32)
    terminated = np.array([False, True, False, False])
    bootstrap = np.array([0.0, 0.0, 0.0, 0.7], np.float32)  # the rollout ends mid-episode: V(next) = 0.7
    g, lam = 0.9, 0.8
    a1 = 0.0 - 0.2  # terminal: no next value
    a0 = (1.0 + g * 0.2 - 0.5) + g * lam * a1
    a3 = 1.0 + g * 0.7 - 0.3
    a2 = (2.0 + g * 0.3 - 0.1) + g * lam * a3
    np.testing.assert_allclose(gae(reward, value, terminated, terminated, bootstrap, g, lam), [a0, a1, a2, a3],
                               rtol=1e-6)


def test_running_advantage_statistics_match_the_whole_sample():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size) for size in (100, 7, 2048)]
    stats = RunningMeanStd()
    for batch in batches:
        stats.update(batch)
    everything = np.concatenate(batches)
    assert stats.mean == pytest.approx(everything.mean(), rel=1e-5)
    assert stats.var == pytest.approx(everything.var(), rel=1e-4)


def test_deepsets_pooling_ignores_order_and_inactive_clusters():
    torch.manual_seed(0)
    encoder = GlobalEncoder(K, "deepsets", [16, 8])
    clusters, scalars = torch.rand(2, K, 11), torch.rand(2, 5)
    active = torch.tensor([[1, 1, 0, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    out = encoder(clusters, active, scalars)
    order = torch.randperm(K)
    assert torch.allclose(out, encoder(clusters[:, order], active[:, order], scalars), atol=1e-6)
    changed = clusters.clone()
    changed[0, 2] = 99.0  # an inactive row
    assert torch.allclose(out[0], encoder(changed, active, scalars)[0])
    assert out.shape == (2, encoder.width) == (2, 2 * 8 + 5)


def test_global_observation_adds_demand_over_budget_and_the_previous_multiplier():
    observation = {"active": np.array([1, 0, 1], np.int8), "budget": np.array([8], np.int32),
                   "globals": np.array([0.1, 0.5, 0.2], np.float32), "clusters": np.ones((3, 11), np.float32)}
    features = global_observation(observation, demand_at_one=20, previous_m=4.0, m_max=16.0)
    np.testing.assert_allclose(features["scalars"], [0.1, 0.5, 0.2, 2.5, 0.2])
    assert features["clusters"][1].sum() == 0 and features["clusters"][[0, 2]].sum() == 22


# -- the agents over a small real local policy (untrained: its dQ and beliefs are arbitrary but real) ----------
SMALL_DQN = {"encoder_hidden": 8, "d_model": 16, "heads": 2, "feedforward": 32, "head_hidden": 16}
# torch_threads=0 leaves the process-wide thread count of the test session alone
CPU = {"torch_threads": 0, "device": "cpu"}


def tiny_env() -> ClustersEnv:
    """env=clusters_tiny: 4 clusters starting on global days 0..3, 8 tests a day."""
    return ClustersEnv(ClusterParams(n_clusters=4, max_start_offset=3), ClusterReward(), 8)


@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory) -> str:
    """The run folder of a (freshly initialised) cluster_dqn: what `dqn_from` names."""
    single = ClustersEnv(ClusterParams(n_clusters=1, activation="sync"), ClusterReward(), 0, [0.003, 0.5])
    agent = ClusterDqnAgent(agent_config("cluster_dqn", **SMALL_DQN, **CPU), single.observation_space,
                            single.action_space, seed=0)
    run = tmp_path_factory.mktemp("dqn")
    save_checkpoint(run, {"agent": agent.state_dict()})
    return str(run)


def build(name: str, dqn_from: str | None, env: ClustersEnv, seed: int = 0, **overrides):
    return make_agent(agent_config(name, dqn_from=dqn_from, **CPU, **overrides), env.observation_space,
                      env.action_space, seed)


@pytest.mark.parametrize("name", ["fixed_m_qr", "bin_m_qr", "hier_ppo"])
def test_agents_need_a_trained_local_policy(name):
    needed = r"^agent.dqn_from=<run folder of `epictl train agent=cluster_dqn`> is needed$"
    with pytest.raises(EpictlError, match=needed):
        build(name, None, tiny_env())


def play(agent, env: ClustersEnv, seed: int, explore: bool = False, check=None) -> list[float]:
    """One episode (the env refuses tests off active members or over B); the multiplier of each day."""
    observation, info = env.reset(seed=seed)
    agent.reset(seed, info)
    multipliers, done = [], False
    while not done:
        action = agent.act(observation, explore=explore)
        if check:
            check(observation, action, agent.last_multiplier)
        multipliers.append(agent.last_multiplier)
        observation, _, done, _, _ = env.step(action)
    return multipliers


def test_q_ranking_tests_the_top_dq_at_its_multiplier_within_the_budget(dqn_run):
    env = tiny_env()
    fixed, bisect = build("fixed_m_qr", dqn_run, env), build("bin_m_qr", dqn_run, env, m_max=4.0)
    assert isinstance(fixed, QRankingAgent) and isinstance(bisect, QRankingAgent)

    def check(agent):
        def day(observation, action, m):
            dq = agent.policy.delta_q(observation, alpha3_active(observation, m))
            budget = int(observation["budget"][0])
            assert action["test"].sum() == min(budget, demand(dq)) and np.all(dq[action["test"] == 1] > 0)
            if agent is bisect:  # the smallest probed m that fits, or m_max
                assert m == 1.0 or demand(dq) <= budget or m == 4.0
                assert m == 1.0 or demand(agent.policy.delta_q(observation, alpha3_active(observation, 1.0))) > budget
        return day

    assert set(play(fixed, env, 1, check=check(fixed))) == {1.0}
    assert all(1.0 <= m <= 4.0 for m in play(bisect, env, 1, check=check(bisect)))


def test_hier_ppo_multiplier_stays_in_range_and_is_the_mean_when_evaluating(dqn_run):
    env = tiny_env()
    agent = build("hier_ppo", dqn_run, env, m_max=6.0)
    assert isinstance(agent, HierPpoAgent)
    sampled = play(agent, env, 2, explore=True)
    assert all(1.0 <= m <= 6.0 for m in sampled) and len(set(sampled)) > 1
    observation, _ = env.reset(seed=2)
    agent.reset(2, None)
    first = agent.act(observation)
    agent.reset(2, None)
    np.testing.assert_array_equal(first["test"], agent.act(observation)["test"])
    agent.reset(2, None)  # m_{t-1} back to 1, as the act() above saw it
    features, _ = agent.features(observation, agent.policy.beliefs(observation))
    with torch.no_grad():
        mean = agent.actor(*agent.batch({key: value[None] for key, value in features.items()}))
    assert agent.last_multiplier == squash(float(mean), 6.0, "sigmoid")


def fill_rollout(agent: HierPpoAgent, rng: np.random.Generator, reward_of_z=lambda z: 0.0, days: int = 7) -> None:
    """A synthetic rollout: random cluster tables, z drawn from the current policy, episodes of ``days`` days."""
    for day in range(agent.rollout.size):
        features = {"clusters": rng.random((agent.capacity, 11), dtype=np.float32),
                    "active": rng.random(agent.capacity) < 0.6, "scalars": rng.random(5, dtype=np.float32)}
        with torch.no_grad():
            inputs = agent.batch({key: value[None] for key, value in features.items()})
            mean, value = agent.actor(*inputs), agent.critic(*inputs)
            z = mean + agent.log_std.exp() * float(rng.standard_normal())
            log_prob = torch.distributions.Normal(mean, agent.log_std.exp()).log_prob(z)
        ends = day % days == days - 1
        agent.rollout.add(**features, z=float(z), log_prob=float(log_prob), value=float(value),
                          reward=reward_of_z(float(z)), terminated=ends, ended=ends, bootstrap=0.0)


def test_ppo_update_runs_on_a_rollout_and_its_state_round_trips(dqn_run):
    env = tiny_env()
    agent = build("hier_ppo", dqn_run, env, rollout=64, minibatches=4, epochs=2)
    fill_rollout(agent, np.random.default_rng(0), reward_of_z=lambda z: -abs(z))
    copy = build("hier_ppo", dqn_run, env, seed=9, rollout=64, minibatches=4, epochs=2)
    copy.load_state_dict(agent.state_dict(), "test")  # mid-rollout: buffer, optimizer, statistics, streams
    losses, again = agent.update(), copy.update()
    assert losses == again and all(np.isfinite(value) for value in losses.values())
    for a, b in zip(agent.state_dict()["actor"].values(), copy.state_dict()["actor"].values()):
        assert torch.equal(a, b)
    with pytest.raises(EpictlError, match=r"trained as"):
        build("hier_ppo", dqn_run, env, hidden=[32]).load_state_dict(agent.state_dict(), "test")


def test_a_controller_is_refused_over_another_local_dqn(dqn_run, tmp_path):
    single = ClustersEnv(ClusterParams(n_clusters=1, activation="sync"), ClusterReward(), 0, [0.003, 0.5])
    other = ClusterDqnAgent(agent_config("cluster_dqn", **SMALL_DQN, **CPU), single.observation_space,
                            single.action_space, seed=1)
    save_checkpoint(tmp_path, {"agent": other.state_dict()})
    env = tiny_env()
    state = build("hier_ppo", dqn_run, env).state_dict()
    with pytest.raises(EpictlError, match="trained over another local DQN"):
        build("hier_ppo", str(tmp_path), env).load_state_dict(state, "test")


def test_ppo_moves_the_multiplier_toward_what_paid(dqn_run):
    """One-day episodes with reward z: the mean of z must rise (a larger multiplier paid)."""
    env = tiny_env()
    agent = build("hier_ppo", dqn_run, env, rollout=256, minibatches=4, epochs=4, lr=1e-2)
    rng = np.random.default_rng(1)
    probe = agent.batch({"clusters": np.zeros((1, 4, 11), np.float32), "active": np.ones((1, 4), bool),
                         "scalars": np.zeros((1, 5), np.float32)})
    with torch.no_grad():
        before = float(agent.actor(*probe))
        for _ in range(3):
            fill_rollout(agent, rng, reward_of_z=lambda z: z, days=1)
            with torch.enable_grad():
                agent.update()
            agent.rollout.filled = 0
        assert float(agent.actor(*probe)) > before + 0.5


@pytest.mark.smoke  # a cluster_dqn run is needed: six processes (about 30 s)
def test_train_hier_ppo_resume_exactly_and_evaluate_every_controller(dqn_run, tmp_path):
    common = ["env=clusters_tiny", "progress=false", "plots=false", f"agent.dqn_from={dqn_run}", "agent.device=cpu",
              "agent.torch_threads=1"]
    ppo = [*common, "agent=hier_ppo", "agent.rollout=64", "agent.checkpoint_every=25"]
    assert epictl("train", *ppo, "agent.updates=150", f"hydra.run.dir={tmp_path / 'whole'}").returncode == 0
    assert epictl("train", *ppo, "agent.updates=90", f"hydra.run.dir={tmp_path / 'split'}").returncode == 0
    assert epictl("train", *ppo, "agent.updates=150", f"resume={tmp_path / 'split'}",
                  f"hydra.run.dir={tmp_path / 'unused'}").returncode == 0
    assert (tmp_path / "whole/train_log.csv").read_bytes() == (tmp_path / "split/train_log.csv").read_bytes()
    for agent, extra in (("fixed_m_qr", []), ("bin_m_qr", []), ("hier_ppo", [f"checkpoint={tmp_path / 'whole'}"])):
        result = epictl("eval", *common, f"agent={agent}", *extra, "seeds=2", f"hydra.run.dir={tmp_path / agent}")
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("key,value", [("m_max", 0.5), ("fixed_m", 20.0), ("probes", 0), ("multiplier", "grid"),
                                       ("tie_break", "size")])
def test_q_ranking_config_rejects_values_naming_the_key(key, value):
    with pytest.raises(EpictlError, match=rf"^agent\.{key}="):
        agent_config("bin_m_qr", **{key: value}).validate()


@pytest.mark.parametrize("key,value", [("minibatches", 4096), ("clip_coef", 0.0), ("gamma", 1.5), ("hidden", []),
                                       ("pooling", "transformer"), ("squash", "tanh"), ("rollout", 0)])
def test_hier_ppo_config_rejects_values_naming_the_key(key, value):
    with pytest.raises(EpictlError, match=rf"^agent(\.{key}=|: gamma)"):
        agent_config("hier_ppo", **{key: value}).validate()
