"""`epictl train`: one environment step and one learning step per training step (KDD'21 Algorithm 1).

Everything needed to continue lives in `checkpoints/last.pt` (agent with its replay and random
states, the episode in progress), written atomically every `checkpoint_every` steps and on Ctrl-C,
so `epictl train ... resume=<run dir>` carries on exactly where the run stopped. Ctrl-C takes effect
between two steps: a step (act, env step, learning update, counters) is never saved half done.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from epictl.agents.torch_files import checkpoint_path, load_checkpoint, require_keys, save_checkpoint
from epictl.errors import EpictlError, reason
from epictl.paths import CHECKPOINT
from epictl.report.files import write_csv
from epictl.runners.build import build_agent, build_env
from epictl.runners.checkpoint import check_resumable, load_agent_state
from epictl.runners.interrupt import CHECKPOINT_NOTICE, StopBetweenSteps
from epictl.runners.progress import progress_bar

PROGRESS_KEYS = ("step", "episode", "episode_return", "episode_in_progress", "log")


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    agent_config = OmegaConf.to_object(cfg.agent)
    if not getattr(agent_config, "trainable", False):
        raise EpictlError(f"agent {cfg.agent.name!r} is a fixed policy with nothing to train; use `epictl eval agent={cfg.agent.name}`")
    run_dir = Path(cfg.resume).expanduser() if cfg.resume else out_dir
    env = build_env(cfg)
    agent = build_agent(cfg, agent_config, env)
    # `episode_in_progress` holds (env snapshot, observation) when a checkpoint falls mid-episode.
    progress = {"step": 0, "episode": 0, "episode_return": 0.0, "episode_in_progress": None, "log": []}
    observation = None
    if cfg.resume:
        progress, observation = resume(run_dir, cfg, agent, agent_config, env)
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=progress["step"])
    if progress["step"] == 0:
        log_hyperparameters(writer, cfg)
    try:
        with progress_bar(cfg.progress) as bar, StopBetweenSteps(CHECKPOINT_NOTICE) as stop:
            task = bar.add_task(f"training {agent_config.name} on {cfg.env.name}", total=agent_config.updates,
                                completed=progress["step"])
            while progress["step"] < agent_config.updates:
                if observation is None:
                    episode_seed = cfg.train_seed_offset + cfg.seed + progress["episode"]
                    # Envs may draw training episodes from a wider scenario range (the grid: 1-20 % infectious),
                    # and an agent may ask for training-only rules (IDRLECA's extreme-experience stop).
                    options = {"training": True, **agent.training_options()}
                    observation, info = env.reset(seed=episode_seed, options=options)
                    agent.reset(episode_seed, info)
                    progress["episode_return"] = 0.0
                action = agent.act(observation, explore=True)
                next_observation, reward, terminated, truncated, info = env.step(action)
                losses = agent.observe(observation, info["action"], reward, next_observation, terminated, truncated,
                                       info)
                progress["step"] += 1
                progress["episode_return"] += reward
                record = {"step": progress["step"], "episode": progress["episode"], "reward": reward, **losses,
                          **info.get("log", {})}
                if terminated or truncated:
                    record["episode_return"] = progress["episode_return"]
                    progress["episode"] += 1
                observation = None if terminated or truncated else next_observation
                progress["log"].append(record)
                for key, value in record.items():
                    if key not in ("step", "episode"):
                        writer.add_scalar(f"train/{key}", value, progress["step"])
                bar.advance(task)
                periodic = progress["step"] % agent_config.checkpoint_every == 0
                if periodic or stop.requested or progress["step"] == agent_config.updates:
                    save(run_dir, cfg, agent, env, progress, observation)
                if stop.requested and progress["step"] < agent_config.updates:
                    raise KeyboardInterrupt
    finally:
        writer.close()
    print(f"trained {progress['step']} steps ({progress['episode']} finished episodes); checkpoint {run_dir / CHECKPOINT}")


def log_hyperparameters(writer, cfg: DictConfig) -> None:
    """The run's settings in TensorBoard's HParams tab, in this run's own event file (``add_hparams`` would
    start another run folder), so runs can be filtered and compared by any agent, env, budget or reward value."""
    from torch.utils.tensorboard.summary import hparams

    settings = {}
    for group in ("agent", "env", "budget", "reward"):
        flat = pd.json_normalize(OmegaConf.to_container(cfg[group], resolve=True), sep=".").iloc[0].to_dict()
        settings.update({f"{group}.{key}": value if isinstance(value, (bool, int, float, str)) else str(value)
                         for key, value in flat.items()})
    settings.update(seed=cfg.seed, train_seed_offset=cfg.train_seed_offset)
    for summary in hparams(settings, metric_dict={}):
        writer.file_writer.add_summary(summary)


def save(run_dir: Path, cfg: DictConfig, agent, env, progress: dict, observation) -> None:
    progress["episode_in_progress"] = None if observation is None else (env.snapshot(), observation)
    save_checkpoint(run_dir, {"progress": progress, "agent": agent.state_dict(),
                              "config": OmegaConf.to_container(cfg, resolve=True)})
    write_csv(run_dir / "train_log.csv", pd.DataFrame(progress["log"]))


def resume(run_dir: Path, cfg: DictConfig, agent, agent_config, env) -> tuple[dict, object]:
    """The saved progress, with the agent and the episode in progress restored (its observation, else None)."""
    path = checkpoint_path(run_dir)
    state = load_checkpoint(run_dir, required=("progress", "agent", "config"))
    check_resumable(state, OmegaConf.to_container(cfg, resolve=True), path, group="agent", length_key="updates")
    load_agent_state(agent, agent_config, state["agent"], path)
    progress = require_keys(state["progress"], PROGRESS_KEYS, path, "an epictl checkpoint's training progress")
    if not progress["episode_in_progress"]:
        return progress, None
    try:
        snapshot, observation = progress["episode_in_progress"]
        env.restore(snapshot)
    except Exception as exc:  # a hand-made or foreign file: the env's own snapshot has this form
        raise EpictlError(f"{path}: its episode in progress does not fit env={cfg.env.name} ({reason(exc)})") from None
    return progress, observation
