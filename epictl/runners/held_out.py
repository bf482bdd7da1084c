"""Held-out evaluation during `epictl train` (validation.every > 0), as the grid paper does every 250 episodes:
greedy episodes on the same held-out seeds each time (common random numbers, so evaluations compare), played
by a copy of the agent so training continues exactly as without them. The best evaluation's agent is kept in
checkpoints/best.pt beside checkpoints/last.pt; every evaluation is a row of validation_log.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from epictl.agents.rollout import play_episodes
from epictl.agents.torch_files import save_checkpoint
from epictl.runners.build import build_vector_env


class HeldOut:
    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        self.every = cfg.validation.every
        self.seeds = range(cfg.validation.seed_offset, cfg.validation.seed_offset + cfg.validation.episodes)
        self.envs = None  # built at the first evaluation: a run without any builds nothing

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0

    def evaluate(self, agent, progress: dict, run_dir: Path) -> dict:
        """One evaluation after ``progress['step']`` training steps, appended to ``progress['validation']``; a new
        best mean return also replaces checkpoints/best.pt."""
        if self.envs is None:
            self.envs = build_vector_env(self.cfg)
        actor = agent.evaluation_copy()
        returns = {seed: total for _, seed, total in play_episodes(self.envs, actor, self.seeds)}
        values = np.array([returns[seed] for seed in self.seeds])
        earlier = [record["mean_return"] for record in progress["validation"]]
        record = {"step": progress["step"], "episode": progress["episode"], "mean_return": float(values.mean()),
                  "std_return": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                  "best": not earlier or values.mean() > max(earlier)}
        progress["validation"].append(record)
        if record["best"]:
            save_checkpoint(run_dir, {"agent": agent.state_dict(), "validation": record,
                                      "config": OmegaConf.to_container(self.cfg, resolve=True)}, pick="best")
        return record
