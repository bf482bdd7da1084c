"""Held-out evaluation during training (runners/held_out.py): it leaves training untouched, and
checkpoints/best.pt holds the agent of the best evaluation."""

from __future__ import annotations

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from epictl.agents.torch_files import load_checkpoint
from epictl.config import register
from epictl.paths import CONF_DIR
from epictl.runners.build import build_agent
from epictl.runners.held_out import HeldOut
from epictl.runners.train import build_training, new_progress, training_step

SMALL_M7 = ["env=grid_tiny", "agent=ddqn_lstm_m7", "agent.lstm_units=[8,4]", "agent.dense_units=[8]",
            "agent.batch_size=4", "agent.updates=45", "validation.every=15", "validation.episodes=2"]


@pytest.fixture(scope="module")
def cfg():
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=SMALL_M7)


def trained(cfg, run_dir, evaluate: bool) -> dict:
    envs, agent = build_training(cfg, OmegaConf.to_object(cfg.agent))
    progress, observations = new_progress(envs.num_envs)
    held_out = HeldOut(cfg)
    while progress["step"] < cfg.agent.updates:
        training_step(cfg, envs, agent, progress, observations)
        if evaluate and held_out.due(progress["step"]):
            held_out.evaluate(agent, progress, run_dir)
    return progress


def test_held_out_evaluations_leave_training_untouched_and_keep_the_best(cfg, tmp_path):
    progress = trained(cfg, tmp_path, evaluate=True)
    pd.testing.assert_frame_equal(pd.DataFrame(progress["log"]), pd.DataFrame(trained(cfg, None, False)["log"]))

    records = progress["validation"]
    assert [record["step"] for record in records] == [15, 30, 45]
    means = [record["mean_return"] for record in records]
    assert [record["best"] for record in records] == [k == 0 or means[k] > max(means[:k]) for k in range(3)]
    best = max(records, key=lambda record: (record["mean_return"], -record["step"]))  # the first of equal bests
    saved = load_checkpoint(tmp_path, required=("agent", "validation"), pick="best")
    assert saved["validation"] == best

    # The saved agent plays the held-out seeds to the recorded mean return.
    agent = build_agent(cfg, OmegaConf.to_object(cfg.agent), build_training(cfg, OmegaConf.to_object(cfg.agent))[0].envs[0])
    agent.load_state_dict(saved["agent"], "best.pt")
    again = HeldOut(cfg).evaluate(agent, {"step": 0, "episode": 0, "validation": []}, tmp_path / "again")
    assert again["mean_return"] == pytest.approx(best["mean_return"])


@pytest.mark.parametrize(("command", "override", "message"), [
    ("train", "validation.episodes=0", "validation.episodes=0 must be >= 1"),
    ("train", "validation.every=-1", "validation.every=-1 must be >= 0"),
    ("eval", "checkpoint_pick=first", "checkpoint_pick='first'; choose last or best"),
])
def test_validation_settings_are_checked_in_one_line(tmp_path, command, override, message):
    from epictl.errors import EpictlError
    from epictl.validation import validate_run_config

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name=command, overrides=["env=grid_tiny", "agent=ddqn_lstm", f"checkpoint={tmp_path}",
                                                      override])
    with pytest.raises(EpictlError, match=f"^{message}$".replace("(", r"\(")):
        validate_run_config(command, cfg)


@pytest.mark.smoke  # three training processes
def test_a_resumed_run_repeats_the_held_out_evaluations_of_the_uninterrupted_one(tmp_path):
    from test_cli import epictl

    common = [*SMALL_M7[:-3], "agent.checkpoint_every=7", "validation.every=10", "validation.episodes=2",
              "progress=false", "plots=false"]
    for name, updates, extra in (("whole", 40, []), ("part", 23, []), ("resumed", 40, [f"resume={tmp_path / 'part'}"])):
        result = epictl("train", *common, f"agent.updates={updates}", *extra, f"hydra.run.dir={tmp_path / name}")
        assert result.returncode == 0, result.stderr
    for log in ("train_log.csv", "validation_log.csv"):
        assert (tmp_path / "whole" / log).read_bytes() == (tmp_path / "part" / log).read_bytes()
    assert list(pd.read_csv(tmp_path / "part" / "validation_log.csv")["step"]) == [10, 20, 30, 40]
