"""Information rebuilding (KDD'21 §3.2): the GRU network, day-by-day inference, the rebuilding agent,
the accuracy measure, and the train/eval commands under imperfect information."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from fuzz_harness import assert_clean_rejection, run_cli
from test_cli import epictl

from epictl.agents.hrl import HierarchicalAgent
from epictl.agents.hrl_config import HRLAgentConfig
from epictl.agents.rebuild_config import RebuildConfig
from epictl.agents.rebuild_net import AGENT_INPUTS, RebuildNet, Rebuilder, load_artifact, save_artifact
from epictl.agents.rebuilding import RebuildingAgent
from epictl.errors import EpictlError
from epictl.report.rebuild import rebuild_accuracy
from epictl.spaces import ChannelBox

SMALL = RebuildConfig(hidden=16, layers=2, scale=10.0)


@pytest.mark.parametrize("inputs", ["paper", "code"])
@pytest.mark.parametrize("n_regions", [1, 7, 40])
def test_network_shapes_for_any_region_count(inputs, n_regions):
    net = RebuildNet(n_regions, RebuildConfig(hidden=8, layers=3, inputs=inputs))
    estimate, hidden = net(torch.rand(2, 5, n_regions, 3))
    assert estimate.shape == (2, 5, n_regions, 3) and len(hidden) == 3 and hidden[0].shape == (3, 2, 8)


def test_day_by_day_inference_equals_the_whole_sequence():
    torch.manual_seed(0)
    net = RebuildNet(6, SMALL).eval()
    days = np.random.default_rng(0).integers(0, 50, size=(9, 6, 3)).astype(np.float32)
    with torch.no_grad():
        whole = net.counts(net(torch.as_tensor(days)[None])[0])[0].numpy()
    rebuilder = Rebuilder(net, ("It", "Ih", "D"), torch.device("cpu"))
    rebuilder.start(days[:4])
    for t in range(4, 9):
        step = rebuilder.step(days[t])
        np.testing.assert_allclose(step[:, [0, 1, 4]], whole[t], atol=1e-4)
        np.testing.assert_array_equal(step[:, [2, 3, 5]], days[t])  # observed channels pass through


def test_outputs_are_scaled_back_clamped_then_rounded():
    net = RebuildNet(2, SMALL)
    counts = net.counts(torch.tensor([[-0.3, 0.04], [0.26, 1.234]]))
    np.testing.assert_array_equal(counts.numpy(), [[0.0, 0.0], [3.0, 12.0]])


def test_accuracy_is_the_share_of_outputs_within_30_percent():
    truth = np.array([[[10.0, 0.0, 100.0]], [[0.0, 5.0, 50.0]]])  # [T=2, M=1, 3]
    estimate = np.array([[[12.0, 0.2, 69.0]], [[2.0, 5.0, 50.0]]])
    table = rebuild_accuracy(estimate, truth, ("E", "Iu", "R"), 0.3).set_index("compartment")
    # relative errors |e - t| / max(t, 1): E 0.2, 2.0; Iu 0.2, 0; R 0.31, 0
    assert table.at["E", "accuracy"] == 0.5 and table.at["Iu", "accuracy"] == 1.0 and table.at["R", "accuracy"] == 0.5
    assert table.at["all", "accuracy"] == pytest.approx(4 / 6)
    assert table.at["E", "mae"] == pytest.approx(2.0)


def spaces(n_regions: int):
    import gymnasium as gym

    action = gym.spaces.Dict({"principle": gym.spaces.MultiDiscrete([7, 7]),
                              "factor": gym.spaces.Box(np.float32(0.1), np.float32(1.0), (2,), np.float32)})
    return ChannelBox(n_regions, ("It", "Ih", "D")), action


def test_rebuilding_agent_advances_the_grus_once_per_day(tmp_path):
    torch.manual_seed(1)
    net = RebuildNet(13, SMALL)
    save_artifact(tmp_path / "rebuild.pt", net, SMALL, {})
    observation_space, action_space = spaces(13)
    agent = RebuildingAgent(HierarchicalAgent, HRLAgentConfig(rebuild=str(tmp_path), batch_size=2),
                            observation_space, action_space, seed=0)
    assert agent.inner.input_names == list(AGENT_INPUTS)
    days = np.random.default_rng(2).integers(0, 30, size=(8, 13, 3)).astype(np.float32)
    reference = Rebuilder(load_artifact(tmp_path, 13, torch.device("cpu"))[0], ("It", "Ih", "D"), torch.device("cpu"))
    reference.start(days[:3])
    agent.reset(0, {"history": days[:4]})  # the last history day is the current observation
    for t in range(3, 7):
        agent.act(days[t], explore=True)
        expected = reference.step(days[t])
        np.testing.assert_allclose(agent.current, expected)
        agent.observe(days[t], {"principle": np.array([0, 1]), "factor": np.array([1.0, 1.0], np.float32)},
                      1.0, days[t + 1], False, False)
    with pytest.raises(EpictlError, match="12 regions, this city has 13"):
        save_artifact(tmp_path / "other" / "rebuild.pt", RebuildNet(12, SMALL), SMALL, {})
        RebuildingAgent(HierarchicalAgent, HRLAgentConfig(rebuild=str(tmp_path / "other")),
                        observation_space, action_space, seed=0)


def test_imperfect_dqn_uses_only_what_it_observes():
    agent = HierarchicalAgent(HRLAgentConfig(learn_factors=[False, False]), *spaces(20), seed=0)
    assert agent.input_names == ["It", "Ih", "D"]


REBUILD = ["env=tiny", "agent=rebuild", "agent.hidden=24", "agent.layers=2", "agent.scale=20",
           "agent.train_episodes=6", "agent.validation_episodes=2", "agent.test_episodes=2", "progress=false"]


@pytest.mark.smoke  # the whole pipeline: simulate trajectories, train, evaluate, act on rebuilt information
def test_train_eval_and_use_a_rebuild_model(tmp_path):
    result = epictl("train", *REBUILD, "agent.epochs=30", f"hydra.run.dir={tmp_path / 'rebuild'}")
    assert result.returncode == 0, result.stderr
    for name in ("rebuild.pt", "dataset.npz", "rebuild_log.csv", "rebuild_metrics.csv", "summary.md",
                 "plots/rebuild.png", "checkpoints/last.pt"):
        assert (tmp_path / "rebuild" / name).is_file(), name
    log = pd.read_csv(tmp_path / "rebuild" / "rebuild_log.csv")
    assert log["validation_loss"].min() < 0.5 * log["validation_loss"].iloc[0], "training should learn"
    metrics = pd.read_csv(tmp_path / "rebuild" / "rebuild_metrics.csv")
    assert list(metrics["compartment"]) == ["E", "Iu", "R", "all"] and metrics["accuracy"].between(0, 1).all()

    result = epictl("eval", *REBUILD, f"checkpoint={tmp_path / 'rebuild'}", "seeds=2", f"hydra.run.dir={tmp_path / 'e'}")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "e" / "rebuild_metrics.csv").is_file()

    imperfect = ["env=tiny", "env.observation=imperfect", "agent=hrl", f"agent.rebuild={tmp_path / 'rebuild'}",
                 "progress=false", "agent.checkpoint_every=4", "env.scenario.controlled_days=6"]
    assert epictl("train", *imperfect, "agent.updates=14", f"hydra.run.dir={tmp_path / 'whole'}").returncode == 0
    assert epictl("train", *imperfect, "agent.updates=9", f"hydra.run.dir={tmp_path / 'part'}").returncode == 0
    result = epictl("train", *imperfect, "agent.updates=14", f"resume={tmp_path / 'part'}", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.returncode == 0, result.stderr
    whole, resumed = (pd.read_csv(tmp_path / name / "train_log.csv") for name in ("whole", "part"))
    pd.testing.assert_frame_equal(whole, resumed)
    result = epictl("eval", *imperfect, f"checkpoint={tmp_path / 'whole'}", "seeds=1", "plots=false",
                    f"hydra.run.dir={tmp_path / 'ev'}")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("key, value", [
    ("checkpoint_every", 0), ("hidden", 0), ("layers", 0), ("epochs", 0), ("batch_size", -1), ("lr", 0.0),
    ("lr", float("nan")), ("scale", -20.0), ("torch_threads", -1),
])
def test_config_rejects_sizes_and_rates_out_of_range_naming_the_key(key, value):
    with pytest.raises(EpictlError, match=rf"^agent\.{key}="):
        RebuildConfig(**{key: value}).validate()


def test_checkpoint_every_zero_stops_before_the_run(tmp_path):
    result = run_cli("train", *REBUILD, "agent.checkpoint_every=0", f"hydra.run.dir={tmp_path / 'run'}")
    assert_clean_rejection(result, "agent.checkpoint_every=0", tmp_path / "run")
