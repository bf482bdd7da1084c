#!/usr/bin/env python
"""Time the contact-tracing city (spec papw-contact-tracing.md) side by side in one run.

    taskset -c 0,1 python scripts/bench_contacts.py            # the measurements below on 2 cores
    taskset -c 0,1 python scripts/bench_contacts.py --quick    # fewer repeats

1. Simulator at the challenge's size: one 60-day episode of 10,000 people on the 11-area map with no intervention
   (no orders, no hospital rule: the epidemic runs its whole course), the Numba kernel against the NumPy reference
   (epictl/sim/contacts/reference.py) on the same seeds; medians after a warm-up episode (Numba's compile or cache
   load excluded). Targets: kernel <= 50 ms per episode, reference / kernel >= 8x.
2. Simulator at a million people on a generated 50-area map, in a child process so that its peak resident memory
   (ru_maxrss) is its own. Targets: <= 10 s per episode, <= 4 GB.
3. IDRLECA's GNN forward pass for 10,000 people on one torch thread (``agent_rows``). Target <= 20 ms.
Targets are shown as PASS/MISS; a MISS never fails the script. Writes outputs/bench/bench_contacts.csv.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import time
from pathlib import Path

from bench_rows import report, row
from rich.console import Console

from epictl.sim.contacts import reference
from epictl.sim.contacts.params import ContactParams
from epictl.sim.contacts.simulator import ContactDay, ContactSimulator

CITY = ContactParams(hospitalise_symptomatic=False)  # 10,000 people, 11 areas, 60 days [doc]
MILLION = ContactParams(n_people=1_000_000, n_areas=50, hospitalise_symptomatic=False)
KERNEL_MS_TARGET, SPEEDUP_TARGET = 50.0, 8.0
MILLION_SECONDS_TARGET, MILLION_GB_TARGET = 10.0, 4.0
GNN_MS_TARGET = 20.0
OUTPUT = Path("outputs") / "bench" / "bench_contacts.csv"



def episode_seconds(simulator: ContactSimulator, seed: int, use_reference: bool) -> float:
    """Seconds to simulate one whole episode with no orders (reset excluded)."""
    state = simulator.reset(seed)
    none = ContactDay.no_orders(simulator.params.n_people)
    began = time.perf_counter()
    while not simulator.finished(state):
        if use_reference:
            reference.advance_day(simulator, state, none)
        else:
            simulator.step(state, none)
    return time.perf_counter() - began


def city_rows(repeats: int) -> list[dict]:
    simulator = ContactSimulator(CITY)
    episode_seconds(simulator, 0, use_reference=False)  # compile or load the kernels
    kernel = statistics.median(episode_seconds(simulator, seed, False) for seed in range(repeats)) * 1e3
    slow = statistics.median(episode_seconds(simulator, seed, True) for seed in range(max(1, repeats // 4))) * 1e3
    ratio = slow / kernel
    return [row("10,000 people: Numba kernel", kernel, "ms/episode", f"<= {KERNEL_MS_TARGET:g} ms",
                kernel <= KERNEL_MS_TARGET),
            row("10,000 people: NumPy reference", slow, "ms/episode"),
            row("reference / kernel", ratio, "x", f">= {SPEEDUP_TARGET:g} x", ratio >= SPEEDUP_TARGET)]


def million_episode() -> tuple[float, float, float]:
    """In a child process: seconds of reset and of one episode, and the peak resident memory in GB."""
    warm = ContactSimulator(ContactParams(n_people=100, n_areas=MILLION.n_areas))
    episode_seconds(warm, 0, use_reference=False)  # compile or load the kernels
    simulator = ContactSimulator(MILLION)
    began = time.perf_counter()
    simulator.reset(0)
    reset = time.perf_counter() - began
    episode = episode_seconds(simulator, 0, use_reference=False)
    return reset, episode, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def million_rows() -> list[dict]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        reset, episode, peak_gb = pool.apply(million_episode)
    return [row("1,000,000 people, 50 areas: reset", reset, "s"),
            row("1,000,000 people, 50 areas: episode", episode, "s/episode", f"<= {MILLION_SECONDS_TARGET:g} s",
                episode <= MILLION_SECONDS_TARGET),
            row("1,000,000 people: peak resident memory", peak_gb, "GB", f"<= {MILLION_GB_TARGET:g} GB",
                peak_gb <= MILLION_GB_TARGET)]


def agent_rows(repeats: int) -> list[dict]:
    """IDRLECA's Individual Contact GNN for 10,000 people: one day's edges, softmax weights, actor and critic pass,
    on one torch thread as conf/agent/idrleca.yaml runs it. Target <= 20 ms."""
    from epictl.agents.contact_gnn import forward_seconds
    from epictl.agents.torch_device import use_torch_threads

    use_torch_threads(1)
    milliseconds = forward_seconds(people=CITY.n_people, areas=CITY.n_areas, repeats=repeats) * 1e3
    return [row("10,000 people: IDRLECA GNN forward (1 thread)", milliseconds, "ms/day",
                f"<= {GNN_MS_TARGET:g} ms", milliseconds <= GNN_MS_TARGET)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    console = Console()
    repeats = 4 if args.quick else 12
    console.print(f"10,000 people: {repeats} kernel episodes, {max(1, repeats // 4)} reference episodes ...")
    rows = city_rows(repeats)
    console.print("1,000,000 people: one episode in a child process ...")
    rows += million_rows()
    console.print("IDRLECA's GNN forward pass ...")
    rows += agent_rows(5 * repeats)
    report(console, rows, "bench_contacts: contact-tracing city on this machine", OUTPUT)


if __name__ == "__main__":
    main()
