"""`epictl train`: one environment step of every env copy and one learning step per training step (KDD'21
Algorithm 1 with `env.num_envs` = 1; more copies give a learner more transitions per update).

Everything needed to continue lives in `checkpoints/last.pt` (agent with its replay and random
states, every copy's episode in progress), written atomically every `checkpoint_every` steps and on Ctrl-C,
so `epictl train ... resume=<run dir>` carries on exactly where the run stopped. Ctrl-C takes effect
between two steps: a step (act, env step, learning update, counters) is never saved half done.

With `validation.every` > 0 the agent is also evaluated on held-out seeds every that many steps
(runners/held_out.py): `checkpoints/best.pt` keeps the best, `validation_log.csv` every evaluation, and
`learning_curve.png` shows them against the training episodes' returns.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from epictl.agents.base import Transition
from epictl.agents.torch_files import checkpoint_path, load_checkpoint, require_keys, save_checkpoint
from epictl.errors import EpictlError, reason
from epictl.paths import CHECKPOINT
from epictl.report.files import write_csv
from epictl.report.learning_curve import plot_learning_curve
from epictl.runners.build import build_agent, build_vector_env
from epictl.runners.checkpoint import check_resumable, load_agent_state
from epictl.runners.held_out import HeldOut
from epictl.runners.interrupt import CHECKPOINT_NOTICE, StopBetweenSteps
from epictl.runners.progress import progress_bar

PROGRESS_KEYS = ("step", "episode", "started", "copies", "log")
VALIDATION_LOG = "validation_log.csv"


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    agent_config = OmegaConf.to_object(cfg.agent)
    if not getattr(agent_config, "trainable", False):
        raise EpictlError(f"agent {cfg.agent.name!r} is a fixed policy with nothing to train; use `epictl eval agent={cfg.agent.name}`")
    run_dir = Path(cfg.resume).expanduser() if cfg.resume else out_dir
    envs, agent = build_training(cfg, agent_config)
    progress, observations = new_progress(envs.num_envs)
    if cfg.resume:
        progress, observations = resume(run_dir, cfg, agent, agent_config, envs)
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=progress["step"])
    if progress["step"] == 0:
        log_hyperparameters(writer, cfg)
    held_out = HeldOut(cfg)
    try:
        with progress_bar(cfg.progress) as bar, StopBetweenSteps(CHECKPOINT_NOTICE) as stop:
            task = bar.add_task(f"training {agent_config.name} on {cfg.env.name}", total=agent_config.updates,
                                completed=progress["step"])
            while progress["step"] < agent_config.updates:
                records = training_step(cfg, envs, agent, progress, observations)
                # TensorBoard: copy 0's day and the step's losses, and every episode that ended.
                for key, value in records[0].items():
                    if key not in ("step", "copy", "episode"):
                        writer.add_scalar(f"train/{key}", value, progress["step"])
                for record in records[1:]:
                    if "episode_return" in record:
                        writer.add_scalar("train/episode_return", record["episode_return"], progress["step"])
                bar.advance(task)
                if held_out.due(progress["step"]):
                    record = held_out.evaluate(agent, progress, run_dir)
                    writer.add_scalar("validation/mean_return", record["mean_return"], progress["step"])
                periodic = progress["step"] % agent_config.checkpoint_every == 0
                if periodic or stop.requested or progress["step"] == agent_config.updates:
                    save(run_dir, cfg, agent, envs, progress, observations)
                if stop.requested and progress["step"] < agent_config.updates:
                    raise KeyboardInterrupt
    finally:
        writer.close()
        if cfg.plots and progress["validation"]:
            plot_learning_curve(pd.DataFrame(progress["log"]), pd.DataFrame(progress["validation"]),
                                run_dir / "learning_curve.png", f"{agent_config.name} on {cfg.env.name}")
    print(f"trained {progress['step']} steps ({progress['episode']} finished episodes); checkpoint {run_dir / CHECKPOINT}")


def build_training(cfg: DictConfig, agent_config):
    """The run's ``env.num_envs`` env copies and its learner, which must be batched to train on several."""
    envs = build_vector_env(cfg)
    agent = build_agent(cfg, agent_config, envs.envs[0])
    if envs.num_envs > 1 and not agent.batched:
        raise EpictlError(f"agent {cfg.agent.name!r} trains on one env copy; use env.num_envs=1 (agents that train on "
                          f"several: {', '.join(batched_kinds())})")
    return envs, agent


def new_progress(num_envs: int) -> tuple[dict, list]:
    """A run's counters before its first step, and every copy's observation (None: no episode under way).
    Per copy: its episode (index, return) and, in a checkpoint, its env (snapshot, observation or None): the
    env is saved between episodes too, since some carry state from one episode to the next (the contact
    city's worst reward, the scale of its extreme-experience stop)."""
    progress = {"step": 0, "episode": 0, "started": 0, "log": [], "validation": [],
                "copies": [{"episode": None, "return": 0.0, "env": None} for _ in range(num_envs)]}
    return progress, [None] * num_envs


def training_step(cfg: DictConfig, envs, agent, progress: dict, observations: list) -> list[dict]:
    """One training step: start the episodes of copies without one, act on every copy at once, step every copy,
    learn from all their transitions. Returns each copy's train-log row."""
    start_episodes(cfg, envs, agent, progress, observations)
    actions = agent.act_batch(observations, explore=True)
    results = envs.step_copies(actions)
    losses = agent.observe_batch([Transition(observation, info["action"], reward, next_observation, terminated,
                                             truncated, info)
                                  for observation, (next_observation, reward, terminated, truncated, info)
                                  in zip(observations, results)])
    progress["step"] += 1
    records = []
    for copy, (next_observation, reward, terminated, truncated, info) in enumerate(results):
        records.append(record_step(progress, copy, reward, terminated or truncated, losses, info))
        observations[copy] = None if terminated or truncated else next_observation
    return records


def batched_kinds() -> list[str]:
    from epictl.agents.registry import KINDS

    return [kind for kind, spec in KINDS.items() if spec.agent_class().batched]


def start_episodes(cfg: DictConfig, envs, agent, progress: dict, observations: list) -> None:
    """Every copy without an episode starts the next one (their reset days run together): seeds count episodes
    started, in copy order."""
    copies = [copy for copy, observation in enumerate(observations) if observation is None]
    if not copies:
        return
    seeds = [cfg.train_seed_offset + cfg.seed + progress["started"] + k for k in range(len(copies))]
    # Envs may draw training episodes from a wider scenario range (the grid: 1-20 % infectious),
    # and an agent may ask for training-only rules (IDRLECA's extreme-experience stop).
    options = {"training": True, **agent.training_options()}
    for copy, seed, (observation, info) in zip(copies, seeds, envs.reset_copies(copies, seeds, options)):
        observations[copy] = observation
        agent.reset_copy(copy, seed, info)
        progress["copies"][copy].update(episode=progress["started"], **{"return": 0.0})
        progress["started"] += 1


def record_step(progress: dict, copy: int, reward: float, ended: bool, losses: dict, info: dict) -> dict:
    """The train-log row of one copy's step (the step's losses on every copy's row)."""
    episode = progress["copies"][copy]
    episode["return"] += reward
    record = {"step": progress["step"], "copy": copy, "episode": episode["episode"], "reward": reward, **losses,
              **info.get("log", {})}
    if ended:
        record["episode_return"] = episode["return"]
        progress["episode"] += 1
    progress["log"].append(record)
    return record


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


def save(run_dir: Path, cfg: DictConfig, agent, envs, progress: dict, observations: list) -> None:
    for copy, (env, observation) in enumerate(zip(envs.envs, observations)):
        progress["copies"][copy]["env"] = (env.snapshot(), observation)
    save_checkpoint(run_dir, {"progress": progress, "agent": agent.state_dict(),
                              "config": OmegaConf.to_container(cfg, resolve=True)})
    write_csv(run_dir / "train_log.csv", pd.DataFrame(progress["log"]))
    if progress["validation"]:
        write_csv(run_dir / VALIDATION_LOG, pd.DataFrame(progress["validation"]))


def resume(run_dir: Path, cfg: DictConfig, agent, agent_config, envs) -> tuple[dict, list]:
    """The saved progress, with the agent and every copy's env restored (the observations of the episodes under
    way, None where a copy is between episodes)."""
    path = checkpoint_path(run_dir)
    state = load_checkpoint(run_dir, required=("progress", "agent", "config"))
    check_resumable(state, OmegaConf.to_container(cfg, resolve=True), path, group="agent", length_key="updates")
    load_agent_state(agent, agent_config, state["agent"], path)
    progress = require_keys(state["progress"], PROGRESS_KEYS, path, "an epictl checkpoint's training progress")
    progress.setdefault("validation", [])  # checkpoints written before held-out evaluations existed
    observations = [None] * envs.num_envs
    try:
        if len(progress["copies"]) != envs.num_envs:
            raise ValueError(f"{len(progress['copies'])} env copies, this run has {envs.num_envs}")
        for copy, saved in enumerate(progress["copies"]):
            snapshot, observations[copy] = saved["env"]
            envs.envs[copy].restore(snapshot)
    except Exception as exc:  # a hand-made or foreign file: the env's own snapshot has this form
        raise EpictlError(f"{path}: its saved env copies do not fit env={cfg.env.name} ({reason(exc)})") from None
    return progress, observations
