#!/usr/bin/env python
"""Training throughput of `epictl train`'s own loop (runners/train.py): environment steps and gradient
updates per second with one env copy and with n (env.num_envs), measured side by side in one run.

    python scripts/bench_train.py                                  # both cases, 1 and 16 copies, 60 s each
    python scripts/bench_train.py --cases m30 --copies 8 --seconds 20
    python scripts/bench_train.py agent.device=cpu                 # extra overrides for every run

Cases and their targets on 2 CPU cores (issue 15):
    hrl  KDD'21 HRL on Beijing: environment steps per second with n copies >= 10x one copy's.
    m30  Ohi et al.'s M30 (ddqn_lstm) on the 10,000-person grid: the paper's 7,000 training episodes in
         <= 1 hour, projected from the episodes finished per second.
The agent's device follows agent.device (auto: CUDA when present), so on a GPU machine the same command
reports the GPU figures. Each run first trains until its first gradient update (Numba compiles, the
replay fills, the first free phases run), then is timed for --seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rows import report, row  # noqa: E402

from epictl.config import register  # noqa: E402
from epictl.paths import CONF_DIR  # noqa: E402
from epictl.runners.train import build_training, new_progress, training_step  # noqa: E402

CASES = {"hrl": ("beijing", "hrl"), "m30": ("grid", "ddqn_lstm")}
HRL_SPEEDUP_TARGET = 10.0
M30_EPISODES, M30_HOURS_TARGET = 7000, 1.0  # the paper's training budget; the wall-time target
OUTPUT = Path("outputs") / "bench" / "bench_train.csv"


def compose_run(env: str, agent: str, copies: int, overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=[f"env={env}", f"agent={agent}", f"env.num_envs={copies}",
                                                       *overrides])


def measure(cfg, seconds: float) -> dict:
    """Train until the first gradient update, then time training steps for ``seconds``."""
    envs, agent = build_training(cfg, OmegaConf.to_object(cfg.agent))
    progress, observations = new_progress(envs.num_envs)
    began = time.perf_counter()
    while not any(key.endswith("_loss") for key in training_step(cfg, envs, agent, progress, observations)[0]):
        pass
    warmup = time.perf_counter() - began
    steps = updates = 0
    episodes_before = progress["episode"]
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        records = training_step(cfg, envs, agent, progress, observations)
        steps += 1
        updates += any(key.endswith("_loss") for key in records[0])
    elapsed = time.perf_counter() - began
    return {"warmup": warmup, "env_steps": steps * envs.num_envs / elapsed, "updates": updates / elapsed,
            "episodes": (progress["episode"] - episodes_before) / elapsed, "device": str(agent.device)}


def city_kernel_days(cfg, days: int = 20) -> float:
    """Copy-days per second of the city's kernel alone (``step_many`` on every copy, no resources), from the
    states after the free phase: the ceiling of the HRL case's environment steps, whose episodes each simulate
    ``scenario.free_days`` free days too."""
    from epictl.runners.build import build_vector_env
    from epictl.sim.metapop.simulator import DayPlan

    envs = build_vector_env(cfg)
    envs.reset_copies(range(envs.num_envs), range(envs.num_envs))
    states = [env.state for env in envs.envs]
    blank = [DayPlan.no_resources(envs.envs[0].city.n_regions)] * envs.num_envs
    simulator = envs.envs[0].simulator
    simulator.step_many(states, blank)  # loads the kernel
    began = time.perf_counter()
    for _ in range(days):
        simulator.step_many(states, blank)
    return envs.num_envs * days / (time.perf_counter() - began)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=sorted(CASES))
    parser.add_argument("--copies", type=int, default=16, help="env copies of the vectorised runs (default 16)")
    parser.add_argument("--seconds", type=float, default=60.0, help="timed seconds per run (default 60)")
    parser.add_argument("overrides", nargs="*", help="config overrides for every run (agent.device=cpu, ...)")
    args = parser.parse_args()
    if args.copies < 2 or args.seconds <= 0:
        parser.error("--copies must be >= 2 and --seconds > 0")
    register()
    console, rows, devices = Console(), [], set()
    for case in args.cases:
        env, agent = CASES[case]
        try:
            runs = {n: compose_run(env, agent, n, args.overrides) for n in (1, args.copies)}
        except Exception as exc:  # a bad override: one line, as epictl would say it
            from epictl.app import one_line

            parser.exit(2, f"bench_train.py: error: {one_line(exc)}\n")
        results = {}
        for n, cfg in runs.items():
            console.print(f"{case}: {agent} on {env}, {n} env copies, {args.seconds:g} s ...")
            results[n] = result = measure(cfg, args.seconds)
            label = f"{case} x{n}"
            rows += [row(f"{label}: warm-up to the first update", result["warmup"], "s"),
                     row(f"{label}: environment steps", result["env_steps"], "steps/s"),
                     row(f"{label}: gradient updates", result["updates"], "updates/s"),
                     row(f"{label}: finished episodes", result["episodes"], "episodes/s")]
            devices.add(result["device"])
        speedup = results[args.copies]["env_steps"] / results[1]["env_steps"]
        if case == "hrl":
            rows.append(row(f"hrl: environment steps/s, x{args.copies} / x1", speedup, "x",
                            f">= {HRL_SPEEDUP_TARGET:g}", speedup >= HRL_SPEEDUP_TARGET))
            rows.append(row(f"hrl x{args.copies}: the city's kernel alone", city_kernel_days(runs[args.copies]),
                            "copy-days/s"))
        else:
            rows.append(row(f"m30: environment steps/s, x{args.copies} / x1", speedup, "x"))
            for n, result in results.items():
                hours = M30_EPISODES / result["episodes"] / 3600 if result["episodes"] else float("inf")
                rows.append(row(f"m30 x{n}: the paper's {M30_EPISODES:,} training episodes",
                                hours, "hours (projected)", f"<= {M30_HOURS_TARGET:g}", hours <= M30_HOURS_TARGET))
    cases = ", ".join(f"{case} = {CASES[case][1]} on {CASES[case][0]}" for case in args.cases)
    title = (f"bench_train: {cases}; xN: N env copies; device {', '.join(sorted(devices))}, torch threads "
             f"{torch.get_num_threads()}, {args.seconds:g} s per run")
    report(console, rows, title, OUTPUT)


if __name__ == "__main__":
    main()
