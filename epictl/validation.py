"""Semantic checks of a composed run config (types and keys are checked by the schemas).

Everything here runs before a run folder exists and reads no data beyond checking that named files
are there, so a bad value stops with one line naming its key and leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from epictl.agents.registry import agent_kind
from epictl.envs.registry import family
from epictl.errors import EpictlError
from epictl.paths import CHECKPOINT, CHECKPOINTS
from epictl.rebuild.config import ARTIFACT as REBUILD_ARTIFACT
from epictl.sim.metapop.params import MOBILITY_MODES

# Seeds a run derives (seed + episode, plus train_seed_offset in training) stay valid for every RNG in
# the stack (gymnasium, numpy's SeedSequence, torch) and for int64 columns, with room for any episode count.
SEED_LIMIT = 2**32
COUNT_LIMIT = 2**31 - 1  # episodes, days, simulations: far beyond anything that would finish

# Top-level integers of any command and their least value (each is checked where the command has it).
LEAST = {"seed": 0, "train_seed_offset": 0, "seeds": 1, "days": 1, "reference_days": 1, "runs": 1, "beds": 0,
         "seed_regions": 1, "search_points": 1, "max_evaluations": 0, "window_days": 1}
SEED_KEYS = ("seed", "train_seed_offset")  # bounded by SEED_LIMIT through their sum below


def validate_run_config(command: str, cfg: DictConfig) -> None:
    resolve_all(cfg)
    check_top_level_numbers(cfg)
    env = OmegaConf.to_object(cfg.env).validate() if "env" in cfg else None
    if env is not None:
        family(env.family)
        plain_name("env.name", env.name)
    if "budget" in cfg:
        OmegaConf.to_object(cfg.budget).validate()
    if "reward" in cfg:
        OmegaConf.to_object(cfg.reward).validate()
    if command == "bench":  # first: for a grid env it names the grid's own benchmark
        check_bench(cfg, env)
    if "agent" in cfg:
        check_agent(command, cfg, env)
    if cfg.get("rebuild_from"):
        check_rebuild_from(cfg, env)
    if command == "rebuild":
        check_rebuild(cfg, env)
    if command == "calibrate":
        check_calibrate_family(env)
        from epictl.calibration.settings import resolve

        resolve(cfg)
    if command == "table":
        check_table(cfg)
    if command == "train":
        check_validation(cfg)


def resolve_all(cfg: DictConfig) -> None:
    """Every interpolation resolves (Hydra's own node is resolved only inside a run)."""
    for key in cfg:
        if key == "hydra":
            continue
        try:
            node = cfg[key]
            if OmegaConf.is_config(node):
                OmegaConf.to_container(node, resolve=True)
        except OmegaConfBaseException as exc:
            raise EpictlError(f"{exc.full_key or key}: {str(exc).splitlines()[0]}") from None


def check_top_level_numbers(cfg: DictConfig) -> None:
    for key, least in LEAST.items():
        value = cfg.get(key)
        if not isinstance(value, int) or isinstance(value, bool):  # table's runs is a list of folders
            continue
        if value < least:
            raise EpictlError(f"{key}={value} must be >= {least}")
        if key not in SEED_KEYS and value > COUNT_LIMIT:
            raise EpictlError(f"{key}={value} is too large (at most {COUNT_LIMIT})")
    if "seed" in cfg:
        count = cfg.get("seeds") or cfg.get("runs") or 1
        last = cfg.seed + count - 1 + cfg.get("train_seed_offset", 0)
        if last >= SEED_LIMIT:
            offset = " + train_seed_offset" if "train_seed_offset" in cfg else ""
            raise EpictlError(f"seed={cfg.seed}: the run's seeds (seed + episode{offset}) reach {last}; "
                              f"they must stay below {SEED_LIMIT}")


def check_agent(command: str, cfg: DictConfig, env) -> None:
    agent = OmegaConf.to_object(cfg.agent).validate()
    plain_name("agent.name", agent.name)
    actions = agent_kind(agent.kind).actions
    if env is not None and family(env.family).action not in actions:
        raise EpictlError(f"agent {agent.name!r} (agent.kind={agent.kind}) cannot act in env {env.name!r} "
                          f"(family {env.family!r}); pick one of its agents (e.g. {family(env.family).example_agents})")
    trainable = getattr(agent, "trainable", False)
    if command == "train" and not trainable:
        raise EpictlError(f"agent {agent.name!r} is a fixed policy with nothing to train; "
                          f"use `epictl eval agent={agent.name}`")
    if command == "train" and cfg.get("resume"):
        check_run_file("resume", cfg.resume, CHECKPOINT, "checkpoint")
    if command == "eval" and trainable:
        if not cfg.get("checkpoint"):
            raise EpictlError(f"agent {agent.name!r} learns: pass checkpoint=<run folder of `epictl train`>")
        if cfg.checkpoint_pick not in CHECKPOINTS:
            raise EpictlError(f"checkpoint_pick={cfg.checkpoint_pick!r}; choose {' or '.join(CHECKPOINTS)}")
        what = "checkpoint" if cfg.checkpoint_pick == "last" else "best checkpoint (train with validation.every > 0)"
        check_run_file("checkpoint", cfg.checkpoint, CHECKPOINTS[cfg.checkpoint_pick], what)


def check_validation(cfg: DictConfig) -> None:
    """`epictl train`'s held-out evaluations: their count, length and seeds."""
    validation = cfg.validation
    for key, least in (("every", 0), ("episodes", 1), ("seed_offset", 0)):
        if not validation[key] >= least:
            raise EpictlError(f"validation.{key}={validation[key]} must be >= {least}")
    if validation.seed_offset + validation.episodes > SEED_LIMIT:
        raise EpictlError(f"validation.seed_offset={validation.seed_offset}: its seeds must stay below {SEED_LIMIT}")


def check_rebuild_from(cfg: DictConfig, env) -> None:
    if env.family != "metapop":
        raise EpictlError(f"rebuild_from: rebuilding E, Iu, R needs a metapopulation city; env {env.name!r} is "
                          f"family {env.family!r}")
    check_run_file("rebuild_from", cfg.rebuild_from, REBUILD_ARTIFACT, "rebuild model")


def check_rebuild(cfg: DictConfig, env) -> None:
    """`epictl rebuild`: a metapop city, baseline data policies, and the run folders it reads."""
    from epictl.rebuild.policies import load_policy

    if env.family != "metapop":
        raise EpictlError(f"rebuild needs a metapopulation city (env=beijing, shanghai, tiny, ...): "
                          f"env {env.name!r} is family {env.family!r}")
    config = OmegaConf.to_object(cfg.rebuild).validate()
    for key in ("train_policies", "test_policies"):
        for name in getattr(config, key):
            try:
                load_policy(name)
            except EpictlError as exc:
                raise EpictlError(f"rebuild.{key}: {exc}") from None
    if config.dataset and not Path(config.dataset).expanduser().is_file():
        raise EpictlError(f"rebuild.dataset={config.dataset}: no such file (a dataset.npz of an earlier rebuild run)")
    if cfg.resume and cfg.checkpoint:
        raise EpictlError("resume= continues a training, checkpoint= scores a trained network: pass one of them")
    if cfg.resume:
        check_run_file("resume", cfg.resume, CHECKPOINT, "checkpoint")
    if cfg.checkpoint:
        check_run_file("checkpoint", cfg.checkpoint, REBUILD_ARTIFACT, "rebuild model")


def check_run_file(key: str, run_dir: str, name: str, what: str) -> None:
    """The run folder holds the file the run will read (whether it loads is found when the run reads it)."""
    path = Path(run_dir).expanduser() / name
    if not path.is_file():
        raise EpictlError(f"{key}={run_dir}: no {what} at {path} (train first, or check the run folder)")


def check_bench(cfg: DictConfig, env) -> None:
    if env.family != "metapop":
        raise EpictlError(f"bench times the metapopulation city; for env {env.name!r} (family {env.family!r}) "
                          "use scripts/bench_grid.py")
    if not cfg.modes or any(mode not in MOBILITY_MODES for mode in cfg.modes):
        raise EpictlError(f"modes={list(cfg.modes)}; choose from {', '.join(MOBILITY_MODES)}")
    if getattr(OmegaConf.to_object(cfg.agent), "trainable", False):
        raise EpictlError(f"bench times a fixed policy; agent {cfg.agent.name!r} learns (try agent=expert_seriousness)")


def check_calibrate_family(env) -> None:
    if env.family != "metapop":
        raise EpictlError(f"calibrate needs a metapopulation city (env=beijing, shanghai, tiny, ...): "
                          f"env {env.name!r} is family {env.family!r}")


def check_table(cfg: DictConfig) -> None:
    if not cfg.runs:
        raise EpictlError("table needs run folders: epictl table runs='[outputs/2026-11-24/*]'")
    plain_name("name", cfg.name)
    if cfg.get("compare"):
        from epictl.report.published import published_table

        published_table(cfg.compare)


def plain_name(key: str, name: str) -> None:
    """A name that becomes part of a file or folder name: no path separators, nothing that climbs up."""
    if not name or "/" in name or "\\" in name or ".." in name or "\0" in name:
        raise EpictlError(f"{key}={name!r} must be a plain name (no '/', '\\' or '..'): it names files and folders")
