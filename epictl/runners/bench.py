"""`epictl bench`: simulator speed on one city, every measurement side by side in one process.

Times a cached city load, a full episode per mobility mode (free phase, then Expert seriousness),
and seconds per simulated day of fast, exact and the plain NumPy reference from the same
mid-epidemic state. Targets from the issue are shown as PASS/MISS; a miss never fails the command.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from epictl.agents.registry import make_agent
from epictl.envs.metapop import MetapopEnv
from epictl.report.files import write_csv, write_text
from epictl.sim.metapop.city import City
from epictl.sim.metapop.compartments import TICKS_PER_DAY
from epictl.sim.metapop.params import MOBILITY_MODES
from epictl.sim.metapop.reference import ReferenceSimulator
from epictl.sim.metapop.simulator import DayPlan, MetapopSimulator, State, outbreak_counts
from epictl.sim.metapop.sources import CityConfig, load_city, synthetic_cache_path

EPISODE_TARGETS = {"fast": 5.0, "exact": 90.0}  # seconds for a 120-day Beijing episode
SPEEDUP_TARGET = 100.0  # reference seconds per day / fast seconds per day
RSS_TARGET_MB = 1.5 * 1024
LOAD_TARGET_S = 2.0
FAST_REPEATS = 5  # one Numba day takes milliseconds: repeat it so the ratio is not one noisy sample
COLUMNS = ["measure", "mode", "value", "unit", "target", "status"]
SHOWN = ["measure", "value", "unit", "target", "status"]  # printed tables fold the mode into the measure
NOTE = "* target for a 120-day Beijing episode. Timings are measurements, not tests: a MISS never fails the command."


def run(cfg: DictConfig, out_dir: Path, choices: dict) -> None:
    env_config = OmegaConf.to_object(cfg.env).validate()
    console = Console()

    city, first_load, cached_load, cache_state = timed_city_load(env_config.city)
    rows = [
        row(f"city load, first (cache {cache_state})", "", first_load, "s"),
        row("city load, cached", "", cached_load, "s", f"≤ {LOAD_TARGET_S:g} s", cached_load <= LOAD_TARGET_S),
        row("numba warm-up, 1 day (not timed below)", "", warm_up(city, env_config), "s"),
    ]
    episode_rows, start, plan = time_episodes(cfg, env_config, city, console)
    rss = peak_rss_mb()  # before the reference's dense matrices inflate it
    rows += episode_rows + time_days_from(start, plan, cfg.reference_days, env_config, city, console)
    rows.append(row("peak RSS (epictl, before the reference)", "", rss, "MB", f"≤ {RSS_TARGET_MB:g} MB",
                    rss <= RSS_TARGET_MB))

    title = f"epictl bench: {city.name}, {city.n_regions} regions, {city.total_population:,} people, seed {cfg.seed}"
    print_table(console, title, rows)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.insert(0, "city", city.name)
    write_csv(out_dir / "bench.csv", frame)
    write_text(out_dir / "bench.md", markdown(title, rows))
    console.print(f"wrote {out_dir / 'bench.md'} and bench.csv")


def time_episodes(cfg: DictConfig, env_config, city, console: Console) -> tuple[list[dict], State, DayPlan]:
    """A full episode per mode; returns the rows and the first episode's first controlled state and plan."""
    free = min(env_config.scenario.free_days, cfg.days - 1)
    scenario = replace(env_config.scenario, free_days=free, controlled_days=cfg.days - free)
    budget, reward = OmegaConf.to_object(cfg.budget).validate(), OmegaConf.to_object(cfg.reward)
    target_applies = env_config.name == "beijing" and cfg.days == 120
    rows, start, plan = [], None, None
    for mode in cfg.modes:
        console.print(f"timing a {cfg.days}-day episode with {mode} mobility ...")
        simulator = MetapopSimulator(city, env_config.disease, replace(env_config.sim, mobility=mode))
        env = MetapopEnv(city, simulator, scenario, budget, reward, env_config.observation, tuple(env_config.delta))
        seconds, episode_start, episode_plan = timed_episode(env, OmegaConf.to_object(cfg.agent), cfg.seed)
        start, plan = (start, plan) if start is not None else (episode_start, episode_plan)
        passed = seconds <= EPISODE_TARGETS[mode] if target_applies else None
        rows.append(row(f"episode {cfg.days} d", mode, seconds, "s", f"≤ {EPISODE_TARGETS[mode]:g} s *", passed))
        rows.append(row("episode per day", mode, seconds / cfg.days, "s/day"))
    return rows, start, plan


def time_days_from(start: State, plan: DayPlan, days: int, env_config, city, console: Console) -> list[dict]:
    """Seconds per day of fast, exact and the reference over the same days from the same state."""
    measure = f"from day {start.day} ({days} d)"
    console.print(f"timing fast, exact and the NumPy reference {measure} ...")
    per_day = {}
    for mode in MOBILITY_MODES:
        simulator = MetapopSimulator(city, env_config.disease, replace(env_config.sim, mobility=mode))
        per_day[mode] = seconds_per_day(simulator, start, plan, days, FAST_REPEATS)
    reference = ReferenceSimulator(city, env_config.disease, env_config.sim)
    for tick in range(start.tick, start.tick + days * TICKS_PER_DAY):
        reference.slot_matrix(tick)  # the original kept its dense matrices in memory: build them before timing
    per_day["reference"] = seconds_per_day(reference, start, plan, days)
    fast, exact = (per_day["reference"] / max(per_day[mode], 1e-12) for mode in MOBILITY_MODES)
    rows = [row(measure, mode, seconds, "s/day") for mode, seconds in per_day.items()]
    return rows + [
        row("reference / fast", "", fast, "x", f"≥ {SPEEDUP_TARGET:g} x", fast >= SPEEDUP_TARGET),
        row("reference / exact", "", exact, "x"),
    ]


def timed_city_load(city_config: CityConfig) -> tuple[City, float, float, str]:
    """Load twice: the first load may build the city, the second reads the cache."""
    cache_state = "n/a"
    if city_config.source == "synthetic":
        cached = synthetic_cache_path(city_config.synthetic, Path(city_config.cache_dir).expanduser()).is_file()
        cache_state = "warm" if cached else "cold"
    began = time.perf_counter()
    load_city(city_config)
    first = time.perf_counter() - began
    began = time.perf_counter()
    city = load_city(city_config)
    return city, first, time.perf_counter() - began, cache_state


def warm_up(city, env_config) -> float:
    """One simulated day so the Numba compile (or its on-disk cache load) stays out of the timings."""
    simulator = MetapopSimulator(city, env_config.disease, env_config.sim)
    counts = outbreak_counts(city, 1, 1, np.random.default_rng(0))
    began = time.perf_counter()
    simulator.step(simulator.reset(seed=0, initial=counts), DayPlan.no_resources(city.n_regions))
    return time.perf_counter() - began


def timed_episode(env: MetapopEnv, agent_config, seed: int) -> tuple[float, State, DayPlan]:
    """Seconds for the whole episode; also the first controlled day's state and the policy's plan for it."""
    policy = make_agent(agent_config, env.observation_space, env.action_space, seed)
    began = time.perf_counter()
    observation, _ = env.reset(seed=seed)  # runs the free phase
    seconds = time.perf_counter() - began
    start, plan = env.state.copy(), env.decode(*env.executed_action(policy.act(observation)))
    began, done = time.perf_counter(), False
    while not done:
        observation, _, done, truncated, _ = env.step(policy.act(observation))
        done = done or truncated
    return seconds + time.perf_counter() - began, start, plan


def seconds_per_day(simulator, start: State, plan: DayPlan, days: int, repeats: int = 1) -> float:
    """Median over ``repeats`` runs of the same days from a fresh copy of ``start``."""
    runs = []
    for _ in range(repeats):
        state = start.copy()
        began = time.perf_counter()
        for _ in range(days):
            simulator.step(state, plan)
        runs.append((time.perf_counter() - began) / days)
    return float(np.median(runs))


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def row(measure: str, mode: str, value: float, unit: str, target: str = "", passed: bool | None = None) -> dict:
    status = "" if not target else ("n/a" if passed is None else ("PASS" if passed else "MISS"))
    return {"measure": measure, "mode": mode, "value": value, "unit": unit, "target": target, "status": status}


def formatted(value: float) -> str:
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"


def shown(r: dict) -> list[str]:
    measure = f"{r['measure']}, {r['mode']}" if r["mode"] else r["measure"]
    return [measure, formatted(r["value"]), r["unit"], r["target"], r["status"]]


def print_table(console: Console, title: str, rows: list[dict]) -> None:
    table = Table(title=title, caption=NOTE)
    for column in SHOWN:
        table.add_column(column, justify="right" if column == "value" else "left")
    colours = {"PASS": "green", "MISS": "red"}
    for r in rows:
        cells = shown(r)
        cells[-1] = f"[{colours[r['status']]}]{r['status']}[/]" if r["status"] in colours else r["status"]
        table.add_row(*cells)
    console.print(table)


def markdown(title: str, rows: list[dict]) -> str:
    lines = [f"# {title}", "", "| " + " | ".join(SHOWN) + " |", "|---|---:|---|---|---|"]
    lines += ["| " + " | ".join(shown(r)) + " |" for r in rows]
    return "\n".join(lines + ["", NOTE, ""])
