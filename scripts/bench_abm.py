#!/usr/bin/env python
"""Time the lockdown-and-vaccination city (spec abm-ddpg-lockdown-vaccination.md) side by side in one run.

    taskset -c 0,1 python scripts/bench_abm.py            # the measurements below on 2 cores
    taskset -c 0,1 python scripts/bench_abm.py --quick    # fewer repeats, 10 days at 10,000,000 agents

1. Simulator at the paper's size: one 100-day run of 100,000 agents with no intervention (``run``, the env's fast
   path), medians after a warm-up run (Numba's compile or cache load excluded). Target <= 1 s per run.
2. The NumPy reference (epictl/sim/abm/reference.py) against the kernel at 10,000 agents for 10 days on one seed.
3. 10,000,000 agents in a child process so that its peak resident memory (ru_maxrss) is its own: building the city,
   reset, and a run with every vaccination window open (the lottery's worst case). Target <= 8 GB.
4. Covasim 4 (Kerr et al. 2021, which the paper cites for its tables) at 100,000 agents for 100 days, if the
   optional ``bench`` extra is installed (``pip install -e '.[bench]'``): its run time beside ours.
5. A whole DDPG training cycle as a user runs it: `epictl train experiment=abm/exp1_balanced` (150 iterations x 2
   simulations of 100,000 agents [paper]; --quick: 15 iterations), process start to exit. Target <= 10 min.
Targets are shown as PASS/MISS; a MISS never fails the script. Writes outputs/bench/bench_abm.csv.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bench_rows import report, row
from rich.console import Console

from epictl.sim.abm import reference
from epictl.sim.abm.params import AGE_GROUPS, AbmParams
from epictl.sim.abm.simulator import AbmDay, AbmSimulator

PAPER = AbmParams()  # 100,000 agents, 100 days, 15 % infected at day 0 [paper Exp 1]
REFERENCE_CITY = AbmParams(n_agents=10_000, days=10)
LARGE = 10_000_000
RUN_SECONDS_TARGET, LARGE_GB_TARGET, AGENT_DAYS_TARGET = 1.0, 8.0, 1e7
TRAINING_SECONDS_TARGET = 600.0  # a training cycle: 150 iterations x 2 simulations [paper: 5-8 hours]
PAPER_ITERATIONS = 150  # DDPG training iterations [paper]
OUTPUT = Path("outputs") / "bench" / "bench_abm.csv"



def no_intervention(days: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((days, 2), bool), np.zeros((days, 2, len(AGE_GROUPS)), bool)


def run_seconds(simulator: AbmSimulator, seed: int, lockdown: np.ndarray, vaccinate: np.ndarray) -> float:
    """Seconds to simulate every day of one run (reset excluded)."""
    state = simulator.reset(seed)
    began = time.perf_counter()
    simulator.run(state, lockdown, vaccinate)
    return time.perf_counter() - began


def kernel_rows(repeats: int) -> list[dict]:
    simulator = AbmSimulator(PAPER)
    schedule = no_intervention(PAPER.days)
    run_seconds(simulator, 0, *schedule)  # compile or load the kernels
    seconds = statistics.median(run_seconds(simulator, seed, *schedule) for seed in range(repeats))
    agent_days = PAPER.n_agents * PAPER.days / seconds
    return [row("100,000 agents x 100 days: Numba kernel", seconds, "s/run", f"<= {RUN_SECONDS_TARGET:g} s",
                seconds <= RUN_SECONDS_TARGET),
            row("100,000 agents x 100 days: throughput", agent_days, "agent-days/s", f">= {AGENT_DAYS_TARGET:.0e}",
                agent_days >= AGENT_DAYS_TARGET)]


def reference_rows() -> list[dict]:
    simulator = AbmSimulator(REFERENCE_CITY)
    kernel = run_seconds(simulator, 0, *no_intervention(REFERENCE_CITY.days))
    state = simulator.reset(0)
    began = time.perf_counter()
    while not simulator.finished(state):
        reference.advance_day(simulator, state, AbmDay.nothing())
    slow = time.perf_counter() - began
    return [row("10,000 agents x 10 days: Numba kernel", kernel * 1e3, "ms/run"),
            row("10,000 agents x 10 days: NumPy reference", slow * 1e3, "ms/run"),
            row("reference / kernel", slow / kernel, "x")]


def large_run(days: int) -> tuple[float, float, float, float]:
    """In a child process: seconds to build the city, reset and run ``days`` days with every vaccination window
    open, and the peak resident memory in GB."""
    warm = AbmSimulator(AbmParams(n_agents=1000, days=2))
    run_seconds(warm, 0, np.zeros((2, 2), bool), np.ones((2, 2, len(AGE_GROUPS)), bool))  # compile or load
    began = time.perf_counter()
    simulator = AbmSimulator(AbmParams(n_agents=LARGE, days=days))
    build = time.perf_counter() - began
    began = time.perf_counter()
    state = simulator.reset(0)
    reset = time.perf_counter() - began
    began = time.perf_counter()
    simulator.run(state, np.zeros((days, 2), bool), np.ones((days, 2, len(AGE_GROUPS)), bool))
    run = time.perf_counter() - began
    return build, reset, run, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def large_rows(days: int) -> list[dict]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        build, reset, run, peak_gb = pool.apply(large_run, (days,))
    return [row("10,000,000 agents: build the city", build, "s"),
            row("10,000,000 agents: reset", reset, "s"),
            row(f"10,000,000 agents x {days} days (vaccinating)", run, "s/run"),
            row("10,000,000 agents: peak resident memory", peak_gb, "GB", f"<= {LARGE_GB_TARGET:g} GB",
                peak_gb <= LARGE_GB_TARGET)]


def covasim_rows(kernel_seconds: float) -> list[dict]:
    """Covasim's 100-day run of 100,000 agents (hybrid contact layers), initialisation excluded, beside ours."""
    try:
        import covasim
    except ImportError:
        return [row("Covasim: not installed (optional: pip install -e '.[bench]')", float("nan"), "")]
    simulator = covasim.Sim(pop_size=PAPER.n_agents, n_days=PAPER.days, pop_type="hybrid", verbose=0)
    simulator.initialize()
    began = time.perf_counter()
    simulator.run()
    seconds = time.perf_counter() - began
    return [row(f"Covasim {covasim.__version__} 100,000 agents x 100 days (hybrid)", seconds, "s/run"),
            row("Covasim: throughput", PAPER.n_agents * PAPER.days / seconds, "agent-days/s"),
            row("epictl / Covasim run time", kernel_seconds / seconds, "x")]


def training_rows(iterations: int) -> list[dict]:
    """`epictl train experiment=abm/exp1_balanced` for ``iterations`` DDPG steps, timed from process start to exit."""
    with tempfile.TemporaryDirectory() as run_dir:
        command = [sys.executable, "-m", "epictl", "train", "experiment=abm/exp1_balanced", f"agent.updates={iterations}",
                   "progress=false", f"hydra.run.dir={run_dir}"]
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - began
    full = iterations == PAPER_ITERATIONS
    return [row(f"DDPG training, {iterations} iterations x 2 runs of 100,000 agents", seconds, "s",
                f"<= {TRAINING_SECONDS_TARGET:g} s" if full else "", seconds <= TRAINING_SECONDS_TARGET if full else None)]


def sections(args: argparse.Namespace) -> list[tuple[str, Callable[[list[dict]], list[dict]]]]:
    """(what it measures, rows from the rows so far): the bench's sections in order."""
    repeats = 3 if args.quick else 10
    large_days = 10 if args.quick else PAPER.days
    iterations = 15 if args.quick else PAPER_ITERATIONS
    return [
        (f"100,000 agents: {repeats} kernel runs ...", lambda rows: kernel_rows(repeats)),
        ("NumPy reference beside the kernel ...", lambda rows: reference_rows()),
        (f"10,000,000 agents x {large_days} days in a child process ...", lambda rows: large_rows(large_days)),
        ("Covasim at 100,000 agents ...", lambda rows: covasim_rows(rows[0]["value"])),
        ("a DDPG training cycle (epictl train) ...", lambda rows: training_rows(iterations)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 10 days at 10,000,000 agents")
    args = parser.parse_args()
    console = Console()
    rows: list[dict] = []
    for message, section in sections(args):
        console.print(message)
        rows += section(rows)
    report(console, rows, "bench_abm: lockdown-and-vaccination city on this machine", OUTPUT)


if __name__ == "__main__":
    main()
