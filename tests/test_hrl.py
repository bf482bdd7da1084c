"""The hierarchical agent: network shapes, learning on a toy city, checkpoints and exact resume, config
checks and torch threads."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch
from fuzz_harness import assert_clean_rejection, run_cli
from test_cli import epictl

from configs import agent_config
from epictl.agents.hrl import HierarchicalAgent
from epictl.agents.networks import Actor, Critic, QNet
from epictl.errors import EpictlError
from epictl.sim.metapop.city import City, mobility_from_dense, save_npz
from epictl.sim.metapop.compartments import NAMES, SLOTS_PER_WEEK
from epictl.spaces import ChannelBox


@pytest.mark.parametrize("n_regions", [3, 13, 50, 673])
def test_networks_work_for_any_region_count(n_regions):
    state = torch.rand(4, 6, n_regions)
    assert QNet(6, n_regions, 7, 128, 0.2)(state).shape == (4, 7)
    factor = Actor(6, n_regions, 128, 0.2, delta=0.3)(state)
    assert factor.shape == (4, 1) and bool(((factor >= 0.3) & (factor <= 1.0)).all())
    assert Critic(6, n_regions, 128, 0.2)(state, torch.rand(4)).shape == (4,)


def test_parameter_counts_match_the_paper_at_673_regions():
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(QNet(6, 673, 7, 128, 0.2)) == 92_011
    assert count(Actor(6, 673, 128, 0.2, 0.1)) == 93_189
    assert count(Critic(6, 673, 128, 0.2)) == 299_510


def spaces(n_regions: int):
    observation = ChannelBox(n_regions, NAMES)
    action = gym.spaces.Dict({"principle": gym.spaces.MultiDiscrete([7, 7]),
                              "factor": gym.spaces.Box(np.float32(0.1), np.float32(1.0), (2,), np.float32)})
    return observation, action


def test_state_dict_round_trip_gives_the_same_policy():
    observation_space, action_space = spaces(20)
    trained = HierarchicalAgent(agent_config("hrl"), observation_space, action_space, seed=1)
    fresh = HierarchicalAgent(agent_config("hrl"), observation_space, action_space, seed=2)
    observation = np.random.default_rng(0).integers(0, 500, size=(20, 8)).astype(np.float32)
    fresh.load_state_dict(trained.state_dict(), "test")
    for a, b in ((trained.act(observation), fresh.act(observation)),):
        np.testing.assert_array_equal(a["principle"], b["principle"])
        np.testing.assert_allclose(a["factor"], b["factor"])
    with pytest.raises(Exception, match="trained for 20 regions"):
        HierarchicalAgent(agent_config("hrl"), *spaces(21), seed=0).load_state_dict(trained.state_dict(), "test")


def toy_city(path) -> None:
    """Six infected regions of low flow and density beside six empty ones that rank first by flow
    and density: masks help only if the principle puts infections first (0, 3, 4 or 6)."""
    m = 12
    dense = np.zeros((SLOTS_PER_WEEK, m, m + 1))
    dense[:, :, m] = 1.0  # nobody travels: groups stay apart
    low_high = np.array([0.1] * 6 + [1.9] * 6)
    save_npz(City("toy", np.full(m, 5000, np.int64), low_high, low_high, mobility_from_dense(dense, "toy")), path)


@pytest.mark.smoke  # a learning run (about 20 s): `make test-smoke`
def test_training_beats_random_on_a_toy_city_where_the_best_principle_is_known(tmp_path):
    toy_city(tmp_path / "toy.npz")
    common = ["env=tiny", "env.city.source=npz", f"env.city.path={tmp_path / 'toy.npz'}",
              "env.scenario.regions=[0,1,2,3,4,5]", "env.scenario.initial_cases=600", "env.scenario.free_days=4",
              "env.scenario.controlled_days=10", "budget=none", "budget.masks_per_day=30000", "progress=false"]
    result = epictl("train", *common, "agent=dqn_greedy", "agent.updates=120", f"hydra.run.dir={tmp_path / 'train'}")
    assert result.returncode == 0, result.stderr
    returns = {}
    for agent, extra in (("dqn_greedy", [f"checkpoint={tmp_path / 'train'}"]), ("random", [])):
        result = epictl("eval", *common, f"agent={agent}", *extra, "seeds=4", "plots=false",
                        f"hydra.run.dir={tmp_path / agent}")
        assert result.returncode == 0, result.stderr
        returns[agent] = pd.read_csv(tmp_path / agent / "metrics.csv")["episode_return"].mean()
    assert returns["dqn_greedy"] > returns["random"] + 1.0, returns


@pytest.mark.smoke  # three training runs (about 30 s): `make test-smoke`, beside tests/test_resume_exact.py
def test_resume_continues_the_step_counter_and_reproduces_the_run(tmp_path):
    common = ["env=tiny", "progress=false", "agent.checkpoint_every=5", "env.scenario.controlled_days=8"]
    assert epictl("train", *common, "agent.updates=20", f"hydra.run.dir={tmp_path / 'whole'}").returncode == 0
    assert epictl("train", *common, "agent.updates=11", f"hydra.run.dir={tmp_path / 'part'}").returncode == 0
    result = epictl("train", *common, "agent.updates=20", f"resume={tmp_path / 'part'}", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.returncode == 0, result.stderr
    whole, resumed = (pd.read_csv(tmp_path / name / "train_log.csv") for name in ("whole", "part"))
    assert list(resumed["step"]) == list(range(1, 21))
    pd.testing.assert_frame_equal(whole, resumed)
    mismatch = epictl("train", *common, "agent.updates=20", "agent.lr_q=0.5", f"resume={tmp_path / 'part'}",
                      f"hydra.run.dir={tmp_path / 'r2'}")
    assert mismatch.returncode == 2 and "different agent config" in mismatch.stderr


def test_eval_of_a_learning_agent_needs_a_matching_checkpoint(tmp_path):
    result = epictl("eval", "env=tiny", "agent=hrl", f"hydra.run.dir={tmp_path / 'e'}")
    assert result.returncode == 2 and "checkpoint=" in result.stderr
    result = epictl("eval", "env=tiny", "agent=hrl", f"checkpoint={tmp_path}", f"hydra.run.dir={tmp_path / 'e'}")
    assert result.returncode == 2 and "no checkpoint" in result.stderr


def test_the_default_config_runs_torch_on_one_thread():
    """Small networks on many threads oversubscribe the cores (486 s against 19.8 s on 2 shared cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        HierarchicalAgent(agent_config("hrl"), *spaces(20), seed=0)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("key, value", [
    ("checkpoint_every", 0), ("checkpoint_every", -3), ("hidden", 0), ("batch_size", 0), ("updates", 0),
    ("lr_q", 0.0), ("lr_q", float("nan")), ("lr_actor", -1e-3), ("lr_critic", float("inf")), ("torch_threads", -1),
    ("actor_noise", float("nan")), ("input_scale", {"It": 0.0}),
])
def test_config_rejects_sizes_and_rates_out_of_range_naming_the_key(key, value):
    with pytest.raises(EpictlError, match=rf"^agent\.{key}[.=]"):
        agent_config("hrl", **{key: value}).validate()


@pytest.mark.parametrize("agent", ["hrl", "dqn_greedy", "dqn_expert"])
def test_checkpoint_every_zero_stops_before_the_run(agent, tmp_path):
    result = run_cli("train", "env=tiny", f"agent={agent}", "agent.checkpoint_every=0", "progress=false",
                     f"hydra.run.dir={tmp_path / 'run'}")
    assert_clean_rejection(result, "agent.checkpoint_every=0", tmp_path / "run")
