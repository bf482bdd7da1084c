"""The memory DQN of Ohi et al. 2020: network shape, the double-DQN target, episode-bound windows,
schedules, learning on the test world, and exact resume."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch
from fuzz_harness import assert_clean_rejection, run_cli
from test_cli import epictl
from torch import nn

from configs import agent_config
from epictl.agents.day_window import DayWindow
from epictl.agents.ddqn_lstm import BiLstmQNet, DdqnLstmAgent, bootstrap_values
from epictl.agents.ddqn_lstm_config import DdqnLstmConfig
from epictl.errors import EpictlError

OBSERVATION = gym.spaces.Box(0.0, np.inf, (7,), np.float32)
ACTIONS = gym.spaces.Discrete(3)
# The test world's agent: M7 with step-based schedules, so that 1,000 steps (about 40 episodes) suffice.
QUICK = ["agent=ddqn_lstm_m7", "agent.epsilon_decay_per=step", "agent.epsilon_decay=300",
         "agent.target_sync_per=step", "agent.target_sync_every=10"]


def small_config(**overrides) -> DdqnLstmConfig:
    # torch_threads=0 leaves the process-wide thread count of the test session alone
    return agent_config("ddqn_lstm", **{"memory": 4, "lstm_units": [8, 4], "dense_units": [8], "batch_size": 4,
                                        "torch_threads": 0, **overrides})


@pytest.mark.parametrize("memory", [7, 30, 60])
def test_paper_network_maps_windows_to_three_q_values(memory):
    net = BiLstmQNet(7, 3, [128, 64, 64], [128, 64, 32], 0.1).eval()
    assert net(torch.rand(5, memory, 7)).shape == (5, 3)
    assert [lstm.hidden_size for lstm in net.lstms] == [128, 64, 64] and all(l.bidirectional for l in net.lstms)
    assert [m.out_features for m in net.head if isinstance(m, nn.Linear)] == [128, 64, 32, 3]


class Fixed(nn.Module):
    """A crafted network: the same Q-values for every window."""

    def __init__(self, values):
        super().__init__()
        self.values = torch.tensor([values], dtype=torch.float32)

    def forward(self, windows):
        return self.values.expand(len(windows), -1)


def test_double_target_takes_the_online_argmax_and_the_target_value():
    online, target = Fixed([0.0, 5.0, 1.0]), Fixed([10.0, 2.0, 7.0])
    windows = torch.zeros(2, 3, 7)
    assert bootstrap_values(online, target, windows, "double").tolist() == [2.0, 2.0]  # target's Q at online argmax 1
    assert bootstrap_values(online, target, windows, "dqn").tolist() == [10.0, 10.0]  # the target's own max


def test_window_pads_with_the_first_day_and_slides():
    window = DayWindow(4, 2)
    window.start(np.array([[1, 1], [2, 2]]))
    np.testing.assert_array_equal(window.window([3, 3]), [[1, 1], [1, 1], [2, 2], [3, 3]])
    window.push([3, 3])
    window.push([4, 4])
    np.testing.assert_array_equal(window.window([5, 5]), [[2, 2], [3, 3], [4, 4], [5, 5]])
    window.start(None)
    np.testing.assert_array_equal(window.window([9, 9]), [[9, 9]] * 4)


def test_replay_windows_never_cross_an_episode_start():
    """Every stored window (and next window) holds days of one episode only: the day's first value
    marks the episode, the second counts its days."""
    agent = DdqnLstmAgent(small_config(memory=5, replay_capacity=64), OBSERVATION, ACTIONS, seed=0)
    for episode, length in enumerate([3, 8, 2, 6], start=1):
        day = lambda t: np.array([episode, t, 0, 0, 0, 0, 0], np.float32)  # noqa: E731
        agent.reset(0, {"history": np.stack([day(0)])})
        for t in range(length):
            action = agent.act(day(t), explore=True)
            agent.observe(day(t), action, 0.0, day(t + 1), t == length - 1, False)
    stored = np.concatenate([agent.replay.data[k][: len(agent.replay)] for k in ("window", "next_window")])
    assert len(stored) == 2 * (3 + 8 + 2 + 6)
    for window in stored:
        assert len(set(window[:, 0])) == 1, window
        steps = np.diff(window[:, 1])
        assert np.all(np.isin(steps, [0, 1])) and np.all(window[:-1, 1][steps == 0] == 0), window  # pads repeat day 0


def test_epsilon_and_target_sync_follow_their_units():
    per_episode = DdqnLstmAgent(small_config(epsilon_decay=10, target_sync_every=2), OBSERVATION, ACTIONS, seed=0)
    per_step = DdqnLstmAgent(small_config(epsilon_decay=10, epsilon_decay_per="step", target_sync_per="step",
                                          target_sync_every=3), OBSERVATION, ACTIONS, seed=0)
    for agent in (per_episode, per_step):
        agent.reset(0, None)
        day = np.zeros(7, np.float32)
        for t in range(6):
            agent.act(day, explore=True)
            agent.observe(day, 0, -1.0, day, t in (2, 5), False)  # two episodes of 3 steps
    assert per_episode.epsilon == pytest.approx(0.9**2)  # eps <- eps - eps / 10 once per episode [paper]
    assert per_step.epsilon == pytest.approx(0.9**6)
    for agent in (per_episode, per_step):  # both synced last after their 6th step
        for a, b in zip(agent.online.parameters(), agent.target.parameters()):
            assert torch.equal(a, b)


def test_state_dict_round_trip_and_shape_check():
    trained = DdqnLstmAgent(small_config(), OBSERVATION, ACTIONS, seed=1)
    fresh = DdqnLstmAgent(small_config(), OBSERVATION, ACTIONS, seed=2)
    fresh.load_state_dict(trained.state_dict(), "test")
    days = np.random.default_rng(0).random((10, 7)).astype(np.float32)
    for agent in (trained, fresh):
        agent.reset(0, None)
    assert [trained.act(d) for d in days] == [fresh.act(d) for d in days]
    with pytest.raises(EpictlError, match="trained as"):
        DdqnLstmAgent(small_config(memory=9), OBSERVATION, ACTIONS, seed=0).load_state_dict(trained.state_dict(), "x")


@pytest.mark.smoke  # a real training run (about 30 s): with the pipelines, keeping `make test` within 5 minutes
def test_training_on_the_test_world_beats_no_lockdown(tmp_path):
    """Lockdown clearly pays in grid_tiny (about -0.5 against -49); 1,000 steps must find most of that."""
    common = ["env=grid_tiny", "progress=false", "plots=false"]
    result = epictl("train", *common, *QUICK, "agent.updates=1000", "agent.checkpoint_every=1000",
                    f"hydra.run.dir={tmp_path / 'train'}")
    assert result.returncode == 0, result.stderr
    returns = {}
    for agent, extra in (("ddqn_lstm_m7", [f"checkpoint={tmp_path / 'train'}"]), ("no_lockdown", [])):
        result = epictl("eval", *common, f"agent={agent}", *extra, "seeds=8", f"hydra.run.dir={tmp_path / agent}")
        assert result.returncode == 0, result.stderr
        returns[agent] = pd.read_csv(tmp_path / agent / "metrics.csv")["episode_return"].mean()
    assert returns["ddqn_lstm_m7"] > returns["no_lockdown"] + 20.0, returns


@pytest.mark.smoke  # three training processes; the fast suite resumes hrl (tests/test_hrl.py)
def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    common = ["env=grid_tiny", "progress=false", *QUICK, "agent.lstm_units=[16,8,8]",
              "agent.dense_units=[16,8]", "agent.checkpoint_every=7"]
    assert epictl("train", *common, "agent.updates=40", f"hydra.run.dir={tmp_path / 'whole'}").returncode == 0
    assert epictl("train", *common, "agent.updates=23", f"hydra.run.dir={tmp_path / 'part'}").returncode == 0
    result = epictl("train", *common, "agent.updates=40", f"resume={tmp_path / 'part'}", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.returncode == 0, result.stderr
    whole, resumed = (pd.read_csv(tmp_path / name / "train_log.csv") for name in ("whole", "part"))
    assert list(resumed["step"]) == list(range(1, 41)) and whole["episode_return"].notna().sum() >= 1
    pd.testing.assert_frame_equal(whole, resumed)


def test_init_from_copies_the_network_of_another_run_whatever_its_memory(tmp_path):
    """[paper] M7-M60 start from M30's weights: only the network comes over, not replay or schedules."""
    from epictl.agents.torch_files import save_checkpoint

    m30 = DdqnLstmAgent(small_config(memory=30), OBSERVATION, ACTIONS, seed=1)
    m30.epsilon = 0.5
    save_checkpoint(tmp_path, {"agent": m30.state_dict()})
    m7 = DdqnLstmAgent(small_config(memory=7, init_from=str(tmp_path)), OBSERVATION, ACTIONS, seed=2)
    for a, b, c in zip(m30.online.parameters(), m7.online.parameters(), m7.target.parameters()):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert m7.epsilon == 1.0 and len(m7.replay) == 0
    with pytest.raises(EpictlError, match="no matching ddqn_lstm network"):
        DdqnLstmAgent(small_config(lstm_units=[8, 8], init_from=str(tmp_path)), OBSERVATION, ACTIONS, seed=0)


@pytest.mark.parametrize("key, value", [
    ("checkpoint_every", 0), ("checkpoint_every", -1), ("lstm_units", [8, 0]), ("lstm_units", []),
    ("dense_units", [0]), ("batch_size", 0), ("lr", 0.0), ("lr", float("nan")), ("epsilon_decay", float("nan")),
])
def test_config_rejects_sizes_and_rates_out_of_range_naming_the_key(key, value):
    with pytest.raises(EpictlError, match=rf"^agent\.{key}="):
        small_config(**{key: value}).validate()


def test_checkpoint_every_zero_stops_before_the_run(tmp_path):
    result = run_cli("train", "env=grid_tiny", "agent=ddqn_lstm", "agent.checkpoint_every=0", "progress=false",
                     f"hydra.run.dir={tmp_path / 'run'}")
    assert_clean_rejection(result, "agent.checkpoint_every=0", tmp_path / "run")
