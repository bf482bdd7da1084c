"""Regenerate the grid-world results of Ohi et al. 2020 (Sci. Rep. 10:22106) beside the paper's statements.

    python scripts/grid_tables.py density            # Table 1 + Fig. 8: no lockdown at 6 densities, 10 seeds,
                                                     # our world and the released code's, against the SEIR-D ODE
    python scripts/grid_tables.py agents             # Table 2 + Fig. 22: M30 trained, 5 schedules, 10 seeds
    python scripts/grid_tables.py agents --memory-variants   # also M7, M15, M45, M60, started from M30's weights
    python scripts/grid_tables.py agents --world grid_released   # in the released code's world (paper Fig. 22)
    python scripts/grid_tables.py density --smoke    # 500 people, 2 densities, 2 seeds: the pipeline in seconds
    python scripts/grid_tables.py agents --smoke     # the test world (grid_tiny), 200 training steps, 2 seeds
    python scripts/grid_tables.py agents --updates 100000 env.sim.p_contact=0.5   # extra overrides go to every run

The cells are conf/experiment/grid_density/<world>/d<density>.yaml and conf/experiment/grid_agents/<world>/
<column>_<agent>.yaml (numbered in the table's column order); the script runs every file it finds there.
Outputs: outputs/tables/grid_density.{md,csv} + plots/grid_ode.png, outputs/tables/grid_agents.{md,csv} +
plots/grid_agents.png (`_grid_released` after `grid_agents` for --world grid_released, `-smoke` at the end for
--smoke). Run folders: outputs/grid_density/<world>/d<density>, outputs/grid_agents/<world>/<agent>/{train,eval}.

Training budget: the paper trained M30 for 7,000 episodes (about 10 days of compute). Here each of
3 training runs (--train-seeds) takes 20,000 training steps on 8 env copies: 160,000 env steps, about 1,230
episodes of 1-20 % initial infections (18 % of the paper's); the whole target took 57 minutes on 2 CPU cores
(measured, the cores shared with a calibration). The paper's epsilon rule (eps <- max(eps - eps / 6000, 0.1) per
episode) is compressed to the budget: applied per env step with a decay constant chosen so that epsilon ends where
the paper's did after 7,000 episodes (0.31). Target sync (every 4 episodes), discount, replay and network are the
paper's. Every 2,000 steps 10 held-out episodes are played and the best agent is the one evaluated (the paper
kept the best of evaluations every 250 episodes).

Resumable like scripts/kdd21_table.py, whose run helpers this script uses: finished evaluations and
trainings are skipped, a shorter training with a checkpoint is resumed. Tables are rebuilt every time.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf
from pipeline import REPO, composed, console, evaluate, quoted, reporting_failures, train, training_runs, write_table

from epictl.paths import CONF_DIR
from epictl.report.grid_agents import active_figure, agents_table, load_paper
from epictl.report.grid_density import density_figure, density_table, mean_curves, ode_summary
from epictl.sim.grid.ode import SeirdOde

CELLS = CONF_DIR / "experiment"
WORLDS = ["grid", "grid_released"]  # our defaults (the paper's text) and the released code's behaviour
M30 = "ddqn_lstm"  # the memory agent the others start from [paper]
UPDATES, SMOKE_UPDATES = 20_000, 200
COPIES, TRAIN_RUNS, SMOKE_TRAIN_RUNS = 8, 3, 2  # env copies per training run; training runs per learner
# A held-out evaluation of 10 episodes every 2,000 training steps (about 125 episodes on 8 copies; the paper: every 250
# episodes), the best one evaluated; smoke: 2 episodes every 50 steps.
VALIDATION = ["validation.every=2000", "validation.episodes=10"]
SMOKE_VALIDATION = ["validation.every=50", "validation.episodes=2"]
PAPER_EPISODES, PAPER_DECAY, PAPER_EPSILON_MIN = 7000, 6000, 0.1  # paper §"The agent network"
ODE_DAYS = 2000  # long enough for the ODE's epidemic to end (about 350 days at the paper's rates)
# --smoke: 2 of the density cells, at 500 people with the cells' share infectious (the grid side follows the density).
SMOKE_DENSITY = {"population": 500, "cells": ["d0.02", "d0.2"]}


@dataclass(frozen=True)
class Cell:
    """conf/experiment/<table>/<world>/<name>.yaml, run as `experiment=<table>/<world>/<name>`."""

    world: str
    name: str
    experiment: str
    config: DictConfig  # as `epictl train` composes it

    @property
    def agent(self) -> str:
        return self.config.agent.name

    @property
    def learns(self) -> bool:
        return getattr(OmegaConf.to_object(self.config.agent), "trainable", False)


def cells(table: str, world: str, names: list[str] | None = None) -> list[Cell]:
    """The world's cells in file-name order (the table's order); only ``names`` if given."""
    found = []
    for path in sorted((CELLS / table / world).glob("*.yaml")):
        if names is None or path.stem in names:
            experiment = f"{table}/{world}/{path.stem}"
            found.append(Cell(world, path.stem, experiment, composed("train", [f"experiment={experiment}"])))
    return found


def paper_final_epsilon() -> float:
    """epsilon after the paper's 7,000 episodes of eps <- max(eps - eps / 6000, 0.1): about 0.311."""
    return max((1.0 - 1.0 / PAPER_DECAY) ** PAPER_EPISODES, PAPER_EPSILON_MIN)


def step_decay(updates: int) -> float:
    """The per-step decay constant that brings epsilon from 1 to the paper's final value in ``updates`` steps."""
    return 1.0 / (1.0 - paper_final_epsilon() ** (1.0 / updates))


def collect(runs: dict[tuple, Path], keys: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """metrics.csv and curves.parquet of each run folder, tagged with its key columns."""
    metrics, curves = [], []
    for key, folder in runs.items():
        tags = dict(zip(keys, key))
        metrics.append(pd.read_csv(folder / "metrics.csv").assign(**tags))
        curves.append(pd.read_parquet(folder / "curves.parquet").assign(**tags))
    return pd.concat(metrics, ignore_index=True), pd.concat(curves, ignore_index=True)


def density(args, seeds: range, common: list[str]) -> None:
    names = SMOKE_DENSITY["cells"] if args.smoke else None
    table = [cell for world in WORLDS for cell in cells("grid_density", world, names)]
    sizes = {(cell.config.env.sim.population, cell.config.env.sim.initial_infectious) for cell in table}
    if len(sizes) != 1:  # the ODE beside them is one curve
        console.print(f"grid_tables.py: error: the density cells differ in world size {sorted(sizes)}", markup=False)
        raise SystemExit(2)
    ((population, cases),) = sizes
    size = []
    if args.smoke:
        population, cases = SMOKE_DENSITY["population"], round(cases * SMOKE_DENSITY["population"] / population)
        size = [f"env.sim.population={population}", f"env.sim.initial_infectious={cases}", "env.sim.grid_side=null"]
    runs = {}
    for cell in table:
        folder = args.root / cell.world / cell.name
        evaluate(cell.experiment, cell.agent, folder, None, seeds, [*size, "plots=false", *common])
        runs[(cell.world, cell.config.env.sim.density)] = folder
    metrics, curves = collect(runs, ("world", "density"))
    ode = SeirdOde(population=population, initial_infectious=cases).solve(ODE_DAYS)
    days = max(int(curves["day"].max()), int(ode_summary(ode, population)["days"]))  # until both are over
    ode = {name: values[:days + 1] for name, values in ode.items()}
    means = mean_curves(curves, days)
    long, text = density_table(metrics, means, ode, population,
                               f"{population:,} people, {cases} infectious at the start, seeds "
                               f"{seeds.start}-{seeds.stop - 1}; ODE: beta 0.12, alpha 1, gamma 1/27, mu 0.009",
                               load_paper())
    write_table(args.output_dir, args.name, long, text)
    density_figure(means, ode, population, args.output_dir / "plots" / f"{args.name.replace('density', 'ode')}.png")


def agents(args, seeds: range, common: list[str]) -> None:
    world = args.world
    shared = [*(["env=grid_tiny"] if args.smoke else []), "plots=false", *common]
    updates = args.updates or (SMOKE_UPDATES if args.smoke else UPDATES)
    copies = 1 if args.smoke else COPIES
    env_steps = updates * copies  # epsilon decays per env step: all copies' steps count
    schedule = [f"agent.updates={updates}", f"env.num_envs={copies}", "agent.epsilon_decay_per=step",
                f"agent.epsilon_decay={step_decay(env_steps):.1f}", *(SMOKE_VALIDATION if args.smoke else VALIDATION)]
    train_runs = args.train_seeds or (SMOKE_TRAIN_RUNS if args.smoke else TRAIN_RUNS)
    # The memory variants (M7-M60) only with --memory-variants; M30 trains first, the others start from it.
    table = [cell for cell in cells("grid_agents", world)
             if not cell.learns or cell.agent == M30 or args.memory_variants]
    base = args.root / world
    for cell in sorted((cell for cell in table if cell.learns), key=lambda cell: cell.agent != M30):
        for k, own_seeds in training_runs(train_runs):
            # [paper] the others start from M30's weights: training run k from M30's run k
            warm = [f"agent.init_from={quoted(base / M30 / f'train-s{k}')}"] if cell.agent != M30 else []
            own = [o for o in shared if not o.startswith("seed=") and (args.smoke or o != "plots=false")]  # curves
            train(cell.experiment, cell.agent, base / cell.agent / f"train-s{k}", [*own, *schedule, *warm, *own_seeds])
    runs = {}
    for cell in table:
        for k in range(train_runs) if cell.learns else [None]:
            name = "eval" if k is None else f"eval-s{k}"
            train_dir = None if k is None else base / cell.agent / f"train-s{k}"
            evaluate(cell.experiment, cell.agent, base / cell.agent / name, train_dir, seeds, shared)
            runs[(cell.agent, name)] = base / cell.agent / name
    metrics, curves = collect(runs, ("agent", "run"))
    curves["seed"] = curves["run"] + "/" + curves["seed"].astype(str)  # one curve per training run and seed
    population = int(curves.loc[curves["day"] == 0, ["S", "E", "I", "R", "D"]].sum(axis=1).iloc[0])
    notes = [f"World `{'grid_tiny' if args.smoke else world}`, evaluation seeds {seeds.start}-{seeds.stop - 1} "
             "(the same epidemics for every agent until their actions differ).",
             f"Learning agents: {train_runs} training runs each of {updates:,} training steps on {copies} env copies "
             f"({env_steps:,} env steps; the paper: 7,000 episodes for M30, up to 3,000 more for the others, started "
             f"from M30's weights), each evaluated at its best held-out evaluation; epsilon per env step, decay "
             f"constant {step_decay(env_steps):,.0f}, ending at {paper_final_epsilon():.2f} like the paper's after "
             "7,000 episodes."]
    long, text = agents_table(metrics, load_paper(), "Memory agents and lockdown schedules (Ohi et al. 2020, "
                              "Table 2, Figs. 16-22)", notes)
    write_table(args.output_dir, args.name, long, text)
    active_figure(curves, population, args.output_dir / "plots" / f"{args.name}.png",
                  "Active cases by policy (paper Fig. 22)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=("density", "agents"))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 2 seeds (pipeline check)")
    parser.add_argument("--seeds", type=int, help="episodes per cell (default 10; smoke 2)")
    parser.add_argument("--world", choices=WORLDS, default="grid", help="agents: the world they are trained and evaluated in")
    parser.add_argument("--updates", type=int, help=f"agents: training steps per learning agent (default {UPDATES:,})")
    parser.add_argument("--memory-variants", action="store_true", help="agents: also train M7, M15, M45, M60 from M30")
    parser.add_argument("--train-seeds", type=int, help=f"agents: training runs per learner (default {TRAIN_RUNS}; smoke "
                                                        f"{SMOKE_TRAIN_RUNS})")
    parser.add_argument("--root", type=Path, help="run folders (default outputs/grid_<table>[-smoke])")
    parser.add_argument("--output-dir", type=Path, default=REPO / "outputs" / "tables", help="where the tables go")
    parser.add_argument("overrides", nargs="*", help="extra epictl overrides for every run, e.g. env.sim.p_contact=0.5")
    args = parser.parse_args(argv)
    smoke = "-smoke" if args.smoke else ""
    world = f"_{args.world}" if args.table == "agents" and args.world != "grid" else ""
    args.name = f"grid_{args.table}{world}{smoke}"
    args.root = (args.root or REPO / "outputs" / f"grid_{args.table}{smoke}").resolve()  # worlds in subfolders
    args.output_dir = args.output_dir.resolve()
    seeds = args.seeds if args.seeds is not None else (2 if args.smoke else 10)
    if seeds < 1 or (args.updates is not None and args.updates < 1) or (args.train_seeds is not None
                                                                        and args.train_seeds < 1):
        parser.error("--seeds, --updates and --train-seeds must be >= 1")
    first = next((int(o.split("=", 1)[1]) for o in args.overrides if o.startswith("seed=")), 0)
    table = density if args.table == "density" else agents
    return reporting_failures(lambda: table(args, range(first, first + seeds), list(args.overrides)))


if __name__ == "__main__":
    sys.exit(main())
