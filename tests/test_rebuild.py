"""Information rebuilding (KDD'21 §3.2): the GRU network, day-by-day inference, the rebuilding agent,
the accuracy measure, the data policies, `epictl rebuild` and `rebuild_from=` under imperfect information."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from fuzz_harness import assert_clean_rejection, run_cli
from omegaconf import OmegaConf
from test_cli import epictl

from configs import agent_config
from epictl.agents.hrl import HierarchicalAgent
from epictl.errors import EpictlError
from epictl.paths import CONF_DIR
from epictl.rebuild.config import RebuildConfig
from epictl.rebuild.network import AGENT_INPUTS, RebuildNet, Rebuilder, load_artifact, save_artifact
from epictl.rebuild.policies import load_policy
from epictl.rebuild.rebuilding import RebuildingAgent
from epictl.report.rebuild import rebuild_accuracy
from epictl.spaces import ChannelBox


def rebuild_config(**overrides) -> RebuildConfig:
    """conf/rebuild/gru.yaml as a RebuildConfig, each of ``overrides`` replacing a field."""
    node = OmegaConf.load(CONF_DIR / "rebuild" / "gru.yaml")
    node.pop("defaults")
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RebuildConfig), node, overrides))


SMALL = rebuild_config(hidden=16, layers=2, scale=10.0)


@pytest.mark.parametrize("inputs", ["paper", "code"])
@pytest.mark.parametrize("n_regions", [1, 7, 40])
def test_network_shapes_for_any_region_count(inputs, n_regions):
    net = RebuildNet(n_regions, rebuild_config(hidden=8, layers=3, inputs=inputs))
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
    agent = RebuildingAgent(str(tmp_path), agent_config("hrl", batch_size=2), observation_space, action_space, seed=0)
    assert agent.inner.input_names == list(AGENT_INPUTS)
    days = np.random.default_rng(2).integers(0, 30, size=(8, 13, 3)).astype(np.float32)
    reference = Rebuilder(load_artifact(tmp_path, 13, torch.device("cpu"))[0], ("It", "Ih", "D"), torch.device("cpu"))
    reference.start(days[:3])
    agent.reset(0, {"history": days[:4]})  # the last history day is the current observation
    for t in range(3, 7):
        agent.act(days[t], explore=True)
        expected = reference.step(days[t])
        np.testing.assert_allclose(agent.current[0], expected)
        agent.observe(days[t], {"principle": np.array([0, 1]), "factor": np.array([1.0, 1.0], np.float32)},
                      1.0, days[t + 1], False, False)
    with pytest.raises(EpictlError, match="12 regions, this city has 13"):
        save_artifact(tmp_path / "other" / "rebuild.pt", RebuildNet(12, SMALL), SMALL, {})
        RebuildingAgent(str(tmp_path / "other"), agent_config("hrl"), observation_space, action_space, seed=0)


def test_imperfect_dqn_uses_only_what_it_observes():
    agent = HierarchicalAgent(agent_config("hrl", learn_factors=[False, False]), *spaces(20), seed=0)
    assert agent.input_names == ["It", "Ih", "D"]


REBUILD = ["env=tiny", "rebuild.hidden=24", "rebuild.layers=2", "rebuild.scale=20", "rebuild.train_episodes=6",
           "rebuild.validation_episodes=2", "rebuild.test_episodes=2", "progress=false"]


@pytest.mark.smoke  # the whole pipeline: simulate trajectories, train, score, act on rebuilt information
def test_train_score_and_use_a_rebuild_model(tmp_path):
    result = epictl("rebuild", *REBUILD, "rebuild.epochs=30", f"hydra.run.dir={tmp_path / 'rebuild'}")
    assert result.returncode == 0, result.stderr
    for name in ("rebuild.pt", "dataset.npz", "rebuild_log.csv", "rebuild_metrics.csv", "summary.md",
                 "plots/rebuild.png", "checkpoints/last.pt"):
        assert (tmp_path / "rebuild" / name).is_file(), name
    log = pd.read_csv(tmp_path / "rebuild" / "rebuild_log.csv")
    assert log["validation_loss"].min() < 0.5 * log["validation_loss"].iloc[0], "training should learn"
    metrics = pd.read_csv(tmp_path / "rebuild" / "rebuild_metrics.csv")
    assert list(metrics["compartment"]) == ["E", "Iu", "R", "all"] and metrics["accuracy"].between(0, 1).all()

    result = epictl("rebuild", *REBUILD, f"checkpoint={tmp_path / 'rebuild'}", "seeds=2", f"hydra.run.dir={tmp_path / 'e'}")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "e" / "rebuild_metrics.csv").is_file()
    other = run_cli("rebuild", *REBUILD, "rebuild.epochs=31", "rebuild.hidden=16", f"resume={tmp_path / 'rebuild'}",
                    f"hydra.run.dir={tmp_path / 'other'}")
    assert_clean_rejection(other, "trained with a different rebuild config (only rebuild.epochs may change)",
                           tmp_path / "other")

    imperfect = ["env=tiny", "env.observation=imperfect", "agent=hrl", f"rebuild_from={tmp_path / 'rebuild'}",
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
    with pytest.raises(EpictlError, match=rf"^rebuild\.{key}="):
        rebuild_config(**{key: value}).validate()


def test_checkpoint_every_zero_stops_before_the_run(tmp_path):
    result = run_cli("rebuild", *REBUILD, "rebuild.checkpoint_every=0", f"hydra.run.dir={tmp_path / 'run'}")
    assert_clean_rejection(result, "rebuild.checkpoint_every=0", tmp_path / "run")


def test_data_policies_are_baselines_with_their_own_allocation():
    blank = load_policy("no_medical")  # a `# @package _global_` file: agent and env.allocation
    assert blank.agent.name == "no_medical" and blank.allocation == "none"
    assert load_policy("proportional").allocation == "proportional"
    plain = load_policy("expert_population")  # the agent node itself: the run's env decides
    assert plain.agent.principles == [2, 2] and plain.allocation is None
    with pytest.raises(EpictlError, match="'hrl' is not a baseline"):
        load_policy("hrl")
    with pytest.raises(EpictlError, match="no conf/agent/nope.yaml"):
        load_policy("nope")


@pytest.mark.parametrize("command, args, expected", [
    ("rebuild", ["env=grid_tiny"], "rebuild needs a metapopulation city"),
    ("rebuild", ["rebuild.train_policies=[no_medical,hrl]"], "rebuild.train_policies: policy 'hrl' is not a baseline"),
    ("rebuild", ["rebuild.test_policies=[nope]"], "rebuild.test_policies: policy 'nope'"),
    ("rebuild", ["rebuild.dataset=/no/such/dataset.npz"], "rebuild.dataset=/no/such/dataset.npz"),
    ("rebuild", ["checkpoint=/no/such/run"], "checkpoint=/no/such/run: no rebuild model"),
    ("rebuild", ["resume=/no/such/run"], "resume=/no/such/run: no checkpoint"),
    ("rebuild", ["resume=/a", "checkpoint=/b"], "pass one of them"),
    ("rebuild", ["agent=hrl"], "agent"),  # the command has no agent
    ("train", ["env.observation=imperfect", "agent=hrl", "rebuild_from=/no/such/run"], "rebuild_from=/no/such/run"),
    ("eval", ["env=grid_tiny", "agent=no_lockdown", "rebuild_from=/no/such/run"], "rebuild_from: rebuilding"),
])
def test_bad_rebuild_settings_stop_before_the_run(command, args, expected, tmp_path):
    result = run_cli(command, *REBUILD[:1], *args, f"hydra.run.dir={tmp_path / 'run'}")
    assert_clean_rejection(result, expected, tmp_path / "run")
