#!/usr/bin/env python
"""Time the multi-cluster family side by side in one run: the simulator, DQN training, decision latency.

    python scripts/bench_clusters.py                       # full run (a few minutes)
    python scripts/bench_clusters.py --quick               # fewer episodes and steps
    python scripts/bench_clusters.py --dqn-from outputs/clusters/train/seed0/cluster_dqn   # a trained local DQN

1. Simulator: cluster-days per second of the Numba kernel against the NumPy reference (epictl/sim/clusters/
   reference.py) on 40 asynchronous clusters with random tests and quarantines.
2. DQN training: environment steps (cluster-days) per second of `agent=cluster_dqn` on env=cluster_single after
   learning starts, and the hours the paper's 5,000,000 steps would take at that rate (target: <= 1 hour).
3. Decision latency per global day at (#C, #B) = (40, 80): Hier-PPO against Bin-M-QR on the same episodes,
   alternating (targets: Hier-PPO <= 2.64 ms, the paper's figure on its hardware, and >= 5x faster than Bin-M-QR);
   then at #B = 4, where the demand of a trained DQN exceeds the budget and Bin-M-QR bisects every day.
   Without --dqn-from, the local DQN is the trained one of `make clusters-table2` when it exists, else a throwaway
   one trained for a few steps (its demand, hence Bin-M-QR's probe count, is then not a trained policy's).
Targets are shown as PASS/MISS; a MISS never fails the script. Writes outputs/bench/bench_clusters.csv.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from clusters_tables import decision_latency, latency_agents
from omegaconf import OmegaConf
from bench_rows import report, row
from pipeline import REPO, composed, quoted
from rich.console import Console

from epictl.sim.clusters import reference
from epictl.sim.clusters.params import MAX_MEMBERS, ClusterParams
from epictl.sim.clusters.simulator import ClusterDay, ClusterSimulator

PAPER_DQN_STEPS = 5_000_000
DQN_HOURS_TARGET = 1.0
LATENCY_TARGET_MS, SPEEDUP_TARGET = 2.64, 5.0
# A budget the trained DQN's demand at m = 1 exceeds, so that Bin-M-QR bisects (at #B = 80 it rarely needs to).
BINDING_BUDGET = 4
TRAINED_DQN = REPO / "outputs" / "clusters" / "train" / "seed0" / "cluster_dqn"
OUTPUT = Path("outputs") / "bench" / "bench_clusters.csv"



def cluster_days_per_second(episodes: int, use_reference: bool) -> float:
    """Active cluster-days per second over ``episodes`` of 40 async clusters under random decisions."""
    params = ClusterParams(n_clusters=40)
    simulator, rng = ClusterSimulator(params), np.random.default_rng(0)
    actions = [ClusterDay(*(rng.integers(0, 2, (40, MAX_MEMBERS)).astype(np.int8) for _ in range(2))) for _ in range(8)]
    simulator.step(simulator.reset(0), actions[0])  # compile or load the kernel
    cluster_days, seconds = 0, 0.0
    for seed in range(episodes):
        state = simulator.reset(seed)
        while not simulator.finished(state):
            cluster_days += int(simulator.active(state).sum())
            began = time.perf_counter()
            if use_reference:
                reference.advance_day(params, state, actions[state.day % 8])
            else:
                simulator.step(state, actions[state.day % 8])
            seconds += time.perf_counter() - began
    return cluster_days / seconds


def dqn_steps_per_second(steps: int) -> tuple[float, str]:
    """Training steps per second of the default cluster_dqn after learning starts (replay sampling included)."""
    from epictl.agents.registry import make_agent
    from epictl.runners.build import build_env

    cfg = composed("train", ["env=cluster_single", "agent=cluster_dqn"])
    config = OmegaConf.to_object(cfg.agent)
    env = build_env(cfg)
    agent = make_agent(config, env.observation_space, env.action_space, seed=0)
    warm = config.learning_starts + 10 * config.train_every
    observation, info, episode, done_steps, began = None, None, 0, 0, None
    while done_steps < warm + steps:
        if observation is None:
            observation, info = env.reset(seed=100_000 + episode, options={"training": True})
            agent.reset(100_000 + episode, info)
            episode += 1
        if done_steps == warm:
            began = time.perf_counter()
        action = agent.act(observation, explore=True)
        following, reward, terminated, truncated, info = env.step(action)
        agent.observe(observation, info["action"], reward, following, terminated, truncated, info)
        observation = None if terminated or truncated else following
        done_steps += 1
    return steps / (time.perf_counter() - began), f"train_every {config.train_every}, batch {config.batch_size}"


def latency_pair(dqn: Path, budget: int, episodes: int) -> tuple[float, float]:
    """Mean ms per global day of Bin-M-QR and Hier-PPO on the same 40-cluster episodes, alternating."""
    env, agents = latency_agents("clusters_table2/c40_b80_async", dqn, [f"budget.tests_per_day={budget}"])
    for agent in agents.values():
        decision_latency(env, agent, range(1))  # warm-up
    times = {method: [] for method in agents}
    for seed in range(episodes):
        for method, agent in agents.items():
            times[method] += decision_latency(env, agent, range(seed, seed + 1))
    return float(np.mean(times["bin_m_qr"])), float(np.mean(times["hier_ppo"]))


def local_dqn(arg: Path | None, scratch: Path) -> Path:
    if arg is not None:
        return arg
    if (TRAINED_DQN / "checkpoints" / "last.pt").is_file():
        return TRAINED_DQN
    run = scratch / "cluster_dqn"
    subprocess.run([sys.executable, "-m", "epictl", "train", "env=cluster_single", "agent=cluster_dqn",
                    "agent.updates=64", "agent.learning_starts=32", "agent.batch_size=8", "progress=false",
                    f"hydra.run.dir={quoted(run)}"], check=True, cwd=REPO, capture_output=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer episodes and steps")
    parser.add_argument("--dqn-from", type=Path, help="run folder of a trained cluster_dqn (latency)")
    args = parser.parse_args()
    console = Console()
    rows = []
    episodes = 5 if args.quick else 40
    console.print(f"simulator: {episodes} episodes of 40 async clusters, kernel and NumPy reference ...")
    fast, slow = cluster_days_per_second(episodes, False), cluster_days_per_second(max(1, episodes // 5), True)
    rows += [row("simulator kernel", fast, "cluster-days/s"), row("NumPy reference", slow, "cluster-days/s"),
             row("kernel / reference", fast / slow, "x")]
    steps = 300 if args.quick else 2000
    console.print(f"DQN training: {steps} steps after learning starts ...")
    rate, detail = dqn_steps_per_second(steps)
    hours = PAPER_DQN_STEPS / rate / 3600
    rows += [row(f"cluster_dqn training ({detail})", rate, "steps/s"),
             row("paper's 5e6 DQN steps at that rate", hours, "h", f"<= {DQN_HOURS_TARGET:g} h", hours <= DQN_HOURS_TARGET)]
    with tempfile.TemporaryDirectory() as scratch:
        dqn = local_dqn(args.dqn_from, Path(scratch))
        for budget in (80, BINDING_BUDGET):
            console.print(f"decision latency at (40, {budget}), local DQN {dqn} ...")
            bin_ms, ppo_ms = latency_pair(dqn, budget, 3 if args.quick else 10)
            where = f"(40, {budget})"
            targets = budget == 80  # the paper's cell
            rows += [row(f"Bin-M-QR decision {where}", bin_ms, "ms/global day", "paper 16.21 ms" if targets else ""),
                     row(f"Hier-PPO decision {where}", ppo_ms, "ms/global day", f"<= {LATENCY_TARGET_MS} ms" if targets
                         else "", ppo_ms <= LATENCY_TARGET_MS if targets else None),
                     row(f"Bin-M-QR / Hier-PPO {where}", bin_ms / ppo_ms, "x", f">= {SPEEDUP_TARGET:g} x" if targets
                         else "", bin_ms / ppo_ms >= SPEEDUP_TARGET if targets else None)]
    report(console, rows, "bench_clusters: multi-cluster family on this machine", OUTPUT)


if __name__ == "__main__":
    main()
