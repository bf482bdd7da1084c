"""Malformed checkpoints and rebuild models: `epictl eval ... checkpoint=<run>`, `epictl train ...
resume=<run>`, `epictl rebuild resume=<run>` or `checkpoint=<run>` and `rebuild_from=<run>` must refuse
each with one line naming the file (exit 2), never a traceback, and leave no run folder behind."""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from fuzz_harness import assert_clean_rejection, run_cli
from test_rebuild import rebuild_config

from epictl.rebuild.config import ARTIFACT
from epictl.rebuild.network import RebuildNet, save_artifact

CHECKPOINT = Path("checkpoints") / "last.pt"
HRL_TRAIN = ["env=tiny", "agent=hrl", "agent.updates=2", "agent.checkpoint_every=1", "agent.batch_size=1"]
DDQN_TRAIN = ["env=grid_tiny", "agent=ddqn_lstm", "agent.memory=4", "agent.lstm_units=[8,4]", "agent.dense_units=[8]",
              "agent.batch_size=1", "agent.updates=2", "agent.checkpoint_every=1"]
REBUILD_SMALL = ["rebuild.hidden=4", "rebuild.layers=1"]


@dataclass
class Trained:
    """Real runs to take apart: an hrl and a ddqn_lstm training checkpoint, a rebuild model, the city cache."""

    root: Path
    hrl: Path
    ddqn: Path
    rebuild: Path

    @property
    def cache(self) -> str:
        return f"env.city.cache_dir={self.root / 'cache'}"

    def hrl_state(self) -> dict:
        return torch.load(self.hrl / CHECKPOINT, map_location="cpu", weights_only=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Trained:
    root = tmp_path_factory.mktemp("fuzz_checkpoints")
    runs = Trained(root, root / "hrl", root / "ddqn", root / "rebuild")
    for args, run_dir in (([*HRL_TRAIN, runs.cache], runs.hrl), (DDQN_TRAIN, runs.ddqn)):
        result = run_cli("train", *args, "progress=false", f"hydra.run.dir={run_dir}")
        assert result.code == 0, result.stderr
    small = rebuild_config(hidden=4, layers=1)
    save_artifact(runs.rebuild / ARTIFACT, RebuildNet(12, small), small, {})
    return runs


def write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def torch_file(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(value, path)


def zip_of_text(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a checkpoint")


GARBAGE = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()

# How to spoil a file: (name, make(path, trained), expected reason after "<path>: ").
SPOILED: list[tuple[str, Callable[[Path, Trained], None], str]] = [
    ("garbage", lambda p, t: write(p, GARBAGE), "unreadable"),
    ("empty", lambda p, t: write(p, b""), "unreadable"),
    ("truncated", lambda p, t: write(p, (t.hrl / CHECKPOINT).read_bytes()[:3000]), "unreadable"),
    ("text", lambda p, t: write(p, b"epictl checkpoint\n"), "unreadable"),
    ("zip-of-text", lambda p, t: zip_of_text(p), "unreadable"),
    ("plain-pickle-list", lambda p, t: write(p, pickle.dumps([1, 2, 3])), "unreadable"),
    ("torch-list", lambda p, t: torch_file(p, [1, 2, 3]), "not an epictl training checkpoint (a list)"),
    ("torch-tensor", lambda p, t: torch_file(p, torch.zeros(3)), "not an epictl training checkpoint (a Tensor)"),
    ("dict-without-keys", lambda p, t: torch_file(p, {"weights": 1}), "not an epictl training checkpoint (a dict without"),
    ("directory", lambda p, t: p.mkdir(parents=True), "no checkpoint"),
]
# Spoilt states of a real hrl checkpoint, for eval (the agent part) and resume (the progress part).
EVAL_STATES: list[tuple[str, Callable[[dict], dict], str]] = [
    ("agent-none", lambda s: {**s, "agent": None}, "does not fit agent=hrl"),
    ("agent-without-q_nets", lambda s: {**s, "agent": {k: v for k, v in s["agent"].items() if k != "q_nets"}},
     "does not fit agent=hrl"),
    ("agent-with-bad-replay", lambda s: {**s, "agent": {**s["agent"], "replay": "full"}}, "does not fit agent=hrl"),
]
RESUME_STATES: list[tuple[str, Callable[[dict], dict], str]] = [
    ("without-progress", lambda s: {k: v for k, v in s.items() if k != "progress"},
     "not an epictl training checkpoint (a dict without progress)"),
    ("progress-list", lambda s: {**s, "progress": [1, 2]}, "not an epictl checkpoint's training progress (a list)"),
    ("config-none", lambda s: {**s, "config": None}, "not a checkpoint of this command (no agent config)"),
    ("episode-garbage", lambda s: {**s, "progress": {**s["progress"], "copies": [{"env": 7}]}},
     "its saved env copies do not fit"),
    ("copies-garbage", lambda s: {**s, "progress": {**s["progress"], "copies": 7}}, "its saved env copies do not fit"),
]


def common(tmp_path: Path) -> list[str]:
    return ["progress=false", "plots=false", f"hydra.run.dir={tmp_path / 'run'}"]


def assert_refused(result, path: Path, reason: str, tmp_path: Path) -> None:
    """A clean one-line rejection that names ``path`` and says ``reason``."""
    assert_clean_rejection(result, reason, tmp_path / "run")
    assert str(path) in result.stderr, result.stderr


def eval_hrl(trained: Trained, tmp_path: Path, folder: Path):
    return run_cli("eval", "env=tiny", "agent=hrl", "seeds=1", trained.cache, f"checkpoint={folder}", *common(tmp_path))


def resume_hrl(trained: Trained, tmp_path: Path, folder: Path):
    return run_cli("train", *HRL_TRAIN, "agent.updates=3", trained.cache, f"resume={folder}", *common(tmp_path))


# eval and resume read a checkpoint file through one loader: `make test` spoils it for eval, test-smoke for both.
@pytest.mark.parametrize("command", ["eval", pytest.param("resume", marks=pytest.mark.smoke)])
@pytest.mark.parametrize("name, spoil, reason", SPOILED, ids=[case[0] for case in SPOILED])
def test_a_spoilt_checkpoint_file_is_refused_in_one_line(command, name, spoil, reason, trained, tmp_path):
    folder = tmp_path / "spoilt"
    spoil(folder / CHECKPOINT, trained)
    result = (eval_hrl if command == "eval" else resume_hrl)(trained, tmp_path, folder)
    assert_refused(result, folder / CHECKPOINT, reason, tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
@pytest.mark.parametrize("command", ["eval", "resume"])
def test_an_unreadable_checkpoint_is_refused(command, trained, tmp_path):
    folder = tmp_path / "locked"
    write(folder / CHECKPOINT, (trained.hrl / CHECKPOINT).read_bytes())
    (folder / CHECKPOINT).chmod(0)
    result = (eval_hrl if command == "eval" else resume_hrl)(trained, tmp_path, folder)
    assert_refused(result, folder / CHECKPOINT, "unreadable checkpoint", tmp_path)


@pytest.mark.parametrize("command", ["eval", "resume"])
def test_a_missing_run_folder_is_refused(command, trained, tmp_path):
    folder = tmp_path / "never-trained"
    result = (eval_hrl if command == "eval" else resume_hrl)(trained, tmp_path, folder)
    assert_refused(result, folder / CHECKPOINT, "no checkpoint", tmp_path)


@pytest.mark.parametrize("name, spoil, reason", EVAL_STATES, ids=[case[0] for case in EVAL_STATES])
def test_eval_refuses_agent_state_that_does_not_fit(name, spoil, reason, trained, tmp_path):
    folder = tmp_path / "spoilt"
    torch_file(folder / CHECKPOINT, spoil(trained.hrl_state()))
    assert_refused(eval_hrl(trained, tmp_path, folder), folder / CHECKPOINT, reason, tmp_path)


@pytest.mark.parametrize("name, spoil, reason", RESUME_STATES, ids=[case[0] for case in RESUME_STATES])
def test_resume_refuses_progress_that_does_not_fit(name, spoil, reason, trained, tmp_path):
    folder = tmp_path / "spoilt"
    torch_file(folder / CHECKPOINT, spoil(trained.hrl_state()))
    assert_refused(resume_hrl(trained, tmp_path, folder), folder / CHECKPOINT, reason, tmp_path)


# Checkpoints of another agent kind, network shape or city: (id, command line, run that trained it, reason).
MISMATCHES = [
    ("eval-ddqn-as-hrl", ["eval", "env=tiny", "agent=hrl", "seeds=1"], "ddqn", "trained as agent.kind=ddqn_lstm"),
    ("eval-hrl-as-ddqn", ["eval", "env=grid_tiny", "agent=ddqn_lstm", "seeds=1"], "hrl", "trained as agent.kind=hrl"),
    ("eval-hrl-as-dqn_greedy", ["eval", "env=tiny", "agent=dqn_greedy", "seeds=1"], "hrl", "learned factors"),
    ("eval-hrl-other-hidden", ["eval", "env=tiny", "agent=hrl", "agent.hidden=16", "seeds=1"], "hrl",
     "does not fit agent=hrl (Error(s) in loading state_dict"),
    ("eval-hrl-13-regions", ["eval", "env=tiny", "agent=hrl", "env.city.synthetic.n_regions=13", "seeds=1"], "hrl",
     "trained for 12 regions"),
    ("eval-hrl-imperfect", ["eval", "env=tiny", "agent=hrl", "env.observation=imperfect", "seeds=1"], "hrl",
     "trained on inputs"),
    ("eval-ddqn-other-layers", ["eval", "env=grid_tiny", "agent=ddqn_lstm", "agent.lstm_units=[8,8]", "seeds=1"],
     "ddqn", "trained as"),
    ("eval-ddqn-other-memory", ["eval", "env=grid_tiny", "agent=ddqn_lstm", "agent.memory=5", "seeds=1"], "ddqn",
     "trained as"),
    ("resume-other-env", ["train", *HRL_TRAIN, "env.scenario.controlled_days=9"], "hrl",
     "trained with a different 'env'"),
    ("resume-other-seed", ["train", *HRL_TRAIN, "seed=4"], "hrl", "trained with a different 'seed'"),
    ("resume-hrl-as-dqn_greedy", ["train", *HRL_TRAIN, "agent=dqn_greedy"], "hrl", "trained with a different agent config"),
    ("resume-hrl-other-hidden", ["train", *HRL_TRAIN, "agent.hidden=16"], "hrl", "trained with a different agent config"),
    ("resume-hrl-as-ddqn", ["train", *DDQN_TRAIN], "hrl", "trained with a different 'env'"),
    ("resume-ddqn-other-layers", ["train", *DDQN_TRAIN, "agent.lstm_units=[8,8]"], "ddqn",
     "trained with a different agent config"),
    ("resume-hrl-as-rebuild", ["rebuild", "env=tiny", *REBUILD_SMALL], "hrl",
     "not an epictl training checkpoint (a dict without net, optimizer, rng, torch_rng)"),
]


@pytest.mark.parametrize("args, run, reason", [case[1:] for case in MISMATCHES], ids=[case[0] for case in MISMATCHES])
def test_a_checkpoint_of_another_agent_or_env_is_refused(args, run, reason, trained, tmp_path):
    folder = getattr(trained, run)
    key = "checkpoint" if args[0] == "eval" else "resume"
    city = [trained.cache] if "env=grid_tiny" not in args else []
    result = run_cli(*args, *city, f"{key}={folder}", *common(tmp_path))
    assert_refused(result, folder / CHECKPOINT, reason, tmp_path)


@pytest.mark.parametrize("name, spoil, reason", SPOILED[:3], ids=[case[0] for case in SPOILED[:3]])
def test_rebuild_and_ddqn_resume_refuse_spoilt_files(name, spoil, reason, trained, tmp_path):
    folder = tmp_path / "spoilt"
    spoil(folder / CHECKPOINT, trained)
    for command, args in (("rebuild", ["env=tiny", *REBUILD_SMALL, trained.cache]), ("train", DDQN_TRAIN)):
        result = run_cli(command, *args, f"resume={folder}", *common(tmp_path))
        assert_refused(result, folder / CHECKPOINT, reason, tmp_path)


def spoilt_model(path: Path, how: str) -> None:
    small = rebuild_config(hidden=4, layers=1)
    if how == "garbage":
        write(path, GARBAGE)
    elif how == "empty":
        write(path, b"")
    elif how == "dict-without-keys":
        torch_file(path, {"weights": {}})
    elif how == "13-regions":
        save_artifact(path, RebuildNet(13, small), small, {})
    elif how == "other-weights":  # a config of 4 units beside the weights of 6
        torch_file(path, {"config": vars(small).copy(), "n_regions": 12,
                          "weights": RebuildNet(12, rebuild_config(hidden=6, layers=1)).state_dict()})
    elif how == "unknown-config-key":
        torch_file(path, {"config": {"hidden": 4, "colour": "red"}, "n_regions": 12, "weights": {}})


MODELS = [("garbage", "unreadable rebuild model"), ("empty", "unreadable rebuild model"),
          ("dict-without-keys", "not a rebuild model"), ("13-regions", "trained for a city of 13 regions"),
          ("other-weights", "not a rebuild model of this layout"),
          ("unknown-config-key", "not a rebuild model of this layout"), ("missing", "no rebuild model")]


@pytest.mark.parametrize("how, reason", MODELS, ids=[case[0] for case in MODELS])
def test_a_spoilt_rebuild_model_is_refused(how, reason, trained, tmp_path):
    folder = tmp_path / "model"
    spoilt_model(folder / ARTIFACT, how)
    torch_file(folder / CHECKPOINT, {"net": {}})  # a rebuild run folder holds its training checkpoint too
    score = run_cli("rebuild", "env=tiny", *REBUILD_SMALL, "seeds=1", trained.cache, f"checkpoint={folder}",
                    *common(tmp_path))
    assert_refused(score, folder / ARTIFACT, reason, tmp_path)
    use = run_cli("train", "env=tiny", "env.observation=imperfect", "agent=hrl", f"rebuild_from={folder}",
                  "agent.updates=2", trained.cache, *common(tmp_path))
    assert_refused(use, folder / ARTIFACT, reason, tmp_path)
