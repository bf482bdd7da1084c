#!/usr/bin/env python
"""Time training of the hierarchical agent: seconds per step (one simulated day + one gradient
update) and per full training run, on this machine's CPU (or CUDA with agent.device=cuda).

    python scripts/bench_train.py                                  # KDD'21 exp 1, Beijing, 150 steps
    python scripts/bench_train.py env=tiny agent.updates=20        # a quick smoke run
Paper: 8.26 s per step on a laptop, under 15 min for 100 steps; target here: <= 1 s per step on 2 cores.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from rich.console import Console
from rich.table import Table

from epictl.agents.registry import make_agent
from epictl.config import register
from epictl.paths import CONF_DIR
from epictl.report.files import write_csv
from epictl.runners.build import build_env

TARGET_SECONDS_PER_STEP = 1.0
OUTPUT = Path("outputs") / "bench" / "bench_train.csv"


def main(overrides: list[str]) -> None:
    import pandas as pd
    import torch

    if any(argument.startswith("-") for argument in overrides):  # --help and other flags: it takes overrides only
        print(__doc__)
        raise SystemExit(0 if set(overrides) <= {"-h", "--help"} else 2)
    register()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name="train", overrides=overrides)
    except Exception as exc:  # a bad override: one line, as epictl would say it
        from epictl.app import one_line

        print(f"bench_train.py: error: {one_line(exc)}", file=sys.stderr)
        raise SystemExit(2) from None
    agent_config = OmegaConf.to_object(cfg.agent)
    began = time.perf_counter()
    env = build_env(cfg)
    setup = time.perf_counter() - began
    agent = make_agent(agent_config, env.observation_space, env.action_space, seed=cfg.seed)
    began = time.perf_counter()
    observation, info = env.reset(seed=cfg.train_seed_offset)
    agent.reset(cfg.train_seed_offset, info)
    free_phase = time.perf_counter() - began
    simulate, update, steps, resets = [], [], 0, 0
    run_began = time.perf_counter()
    while steps < agent_config.updates:
        t0 = time.perf_counter()
        action = agent.act(observation, explore=True)
        next_observation, reward, terminated, truncated, info = env.step(action)
        t1 = time.perf_counter()
        agent.observe(observation, info["action"], reward, next_observation, terminated, truncated, info)
        t2 = time.perf_counter()
        simulate.append(t1 - t0)
        update.append(t2 - t1)
        steps += 1
        observation = next_observation
        if terminated or truncated:  # a new episode re-runs (or replays from cache) the free phase
            resets += 1
            observation, info = env.reset(seed=cfg.train_seed_offset + resets)
            agent.reset(cfg.train_seed_offset + resets, info)
    total = time.perf_counter() - run_began
    rows = [
        ("city + env set-up", setup, "s"), ("free phase (first episode)", free_phase, "s"),
        ("act + simulate one day", float(np.mean(simulate)), "s/step"), ("gradient update", float(np.mean(update)), "s/step"),
        ("training step", total / steps, "s/step"), (f"training run ({steps} steps)", total, "s"),
    ]
    title = (f"bench_train: {agent_config.name} on {cfg.env.name} ({env.city.n_regions} regions), device "
             f"{agent.device}, torch threads {torch.get_num_threads()}")
    table = Table(title=title, caption=f"target: <= {TARGET_SECONDS_PER_STEP:g} s per step; paper: 8.26 s per step")
    for column in ("measure", "value", "unit"):
        table.add_column(column)
    for measure, value, unit in rows:
        table.add_row(measure, f"{value:.4g}", unit)
    Console().print(table)
    verdict = "PASS" if total / steps <= TARGET_SECONDS_PER_STEP else "MISS"
    print(f"seconds per training step {total / steps:.3f} vs target {TARGET_SECONDS_PER_STEP:g}: {verdict}")
    write_csv(OUTPUT, pd.DataFrame(rows, columns=["measure", "value", "unit"]).assign(city=cfg.env.name, agent=agent_config.name))


if __name__ == "__main__":
    main(sys.argv[1:])
