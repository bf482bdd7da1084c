"""Regenerate KDD'21 Table 3 (perfect information: 3 experiments x 6 methods) or Table 4 (imperfect
information: 3 experiments x 5 methods, the full method on GRU-rebuilt E, Iu, R), 4 metrics, 10 seeds.

    python scripts/kdd21_table.py --table 3   # outputs/table3/<exp>/<agent>/{train-s<k>,eval-s<k>}, outputs/tables/table3.{md,csv}
    python scripts/kdd21_table.py --table 3 --regime fitted   # the cities fitted to the no-medical rows: table3-fitted
    python scripts/kdd21_table.py --table 4   # also outputs/table4/<exp>/rebuild/train (one rebuild model per experiment)
    python scripts/kdd21_table.py --table 3 --smoke   # tiny city, 12 updates, 2 training runs, 2 seeds: minutes
    python scripts/kdd21_table.py --table 3 env.sim.mobility=exact   # extra overrides go to every run
                                                      # (agent.updates=N, validation.*, env.num_envs=N: trainings only)
    python scripts/kdd21_table.py --table 4 --rebuild rebuild.hidden=256   # to the rebuild trainings only
    python scripts/kdd21_table.py --table 3 --agents no_medical expert_seriousness   # some columns only

The cells are conf/experiment/table<N>/<exp>/<agent>.yaml, each one experiment (row) and one method
(column); the script runs every file it finds there. Each learner is trained --train-seeds times (3), each
training run with its own seed and training episodes (TRAINING below: env copies, steps, held-out evaluations)
and evaluated at its best held-out evaluation on the same 10 seeds; the table shows mean ± 95 % CI over
training runs x seeds and tests the full method against the strongest baseline, paired on the seeds.
Resumable: an eval whose metrics.csv holds all seeds (and is newer than its checkpoint) is skipped, a
training whose log reached its target (agent.updates, or rebuild.epochs for the rebuild network) is
skipped, a shorter one with a checkpoint is resumed. The table is rebuilt every time (seconds). Use
another --root for other settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from pipeline import (REPO, SMOKE_REBUILD, composed, console, epictl, evaluate, quoted, rebuild, reporting_failures,
                      train, training_runs)
from rich.markup import escape

from epictl.paths import CONF_DIR

# Table 4: the full method acts on E, Iu, R rebuilt by a GRU network trained first for its experiment.
REBUILT = "hrl"
# --smoke: each experiment's outbreak in the tiny city (12 regions), with tiny's budget, name and short
# phases; exp 2's 40 seed regions become all 12.
SMOKE = ["env/city=tiny", "budget=tiny", "env.name=tiny", "env.scenario.free_days=20",
         "env.scenario.controlled_days=10", "plots=false"]
SMOKE_EXPERIMENT = {"kdd21_exp2": ["env.scenario.initial_regions=12"]}
# How each learner trains: env copies, training steps, and a held-out evaluation of 5 episodes every `every` steps,
# whose best agent is the one evaluated (the code's 150 updates on one copy are 2.5 episodes; each training folder's
# learning_curve.png shows whether the held-out return flattened).
TRAINING = ["env.num_envs=8", "agent.updates=600", "validation.every=100", "validation.episodes=5"]
SMOKE_TRAINING = ["agent.updates=12", "validation.every=6", "validation.episodes=2"]
# --regime fitted: each experiment's city with the unstated properties fitted to its no-medical row (`epictl calibrate
# target=kdd21_<city>_no_medical`, conf/env/<city>_table3.yaml); synthetic: the cities as built from the census.
REGIMES = {"synthetic": {}, "fitted": {"kdd21_exp1": "beijing_table3", "kdd21_exp2": "beijing_table3",
                                       "kdd21_exp3": "shanghai_table3"}}


@dataclass(frozen=True)
class Cell:
    """conf/experiment/table<N>/<experiment>/<agent>.yaml, run as `experiment=<experiment> agent=<agent>` plus
    what the file adds to both (``overrides``, e.g. env.observation=imperfect): the runs keep the
    experiment's name, which keys their metrics and the published tables."""

    experiment: str
    agent: str
    overrides: tuple[str, ...]
    learns: bool


def cells(table: int, experiments: list[str]) -> list[Cell]:
    found = []
    for path in sorted((CONF_DIR / "experiment" / f"table{table}").glob("*/*.yaml")):
        experiment, agent = path.parent.name, path.stem
        if experiment not in experiments:
            continue
        cell = composed("train", [f"experiment=table{table}/{experiment}/{agent}"])
        base = composed("train", [f"experiment={experiment}", f"agent={agent}"])
        learns = getattr(OmegaConf.to_object(cell.agent), "trainable", False)
        found.append(Cell(experiment, agent, tuple(changes(base, cell)), learns))
    return found


def changes(base: DictConfig, cell: DictConfig, prefix: str = "") -> list[str]:
    """`key=value` overrides that turn ``base`` into ``cell`` (both composed from the same schemas)."""
    overrides = []
    for key, value in cell.items():
        if isinstance(value, DictConfig):
            overrides += changes(base[key], value, f"{prefix}{key}.")
        elif value != base[key]:
            plain = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
            text = plain if isinstance(plain, str) and plain.isidentifier() else json.dumps(plain)
            overrides.append(f"{prefix}{key}={text}")
    return overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=int, choices=(3, 4), required=True, help="3: perfect, 4: imperfect information")
    parser.add_argument("--smoke", action="store_true", help="tiny city, 12 updates, 2 seeds (pipeline check)")
    parser.add_argument("--regime", choices=REGIMES, default="synthetic",
                        help="synthetic: the census-built cities; fitted: their unstated properties fitted to the "
                             "no-medical rows (conf/env/*_table3.yaml)")
    parser.add_argument("--train-seeds", type=int, help="training runs per learner (default 3; smoke 2)")
    parser.add_argument("--rebuild", action="append", default=[], metavar="OVERRIDE",
                        help="an override for the rebuild trainings only (Table 4), e.g. --rebuild rebuild.hidden=256")
    parser.add_argument("--agents", nargs="+", metavar="AGENT",
                        help="a subset of columns (e.g. the fixed baselines: no training)")
    parser.add_argument("--experiments", nargs="+", metavar="EXPERIMENT",
                        help="a subset of rows (folders of conf/experiment/tableN/)")
    parser.add_argument("--root", type=Path, help="run folders (default outputs/tableN, outputs/tableN-smoke)")
    parser.add_argument("--seeds", type=int, help="episodes per cell (default 10; smoke 2)")
    parser.add_argument("--output-dir", type=Path, default=REPO / "outputs" / "tables", help="where the table goes")
    parser.add_argument("overrides", nargs="*", help="extra epictl overrides, e.g. env.sim.mobility=exact")
    args = parser.parse_args(argv)
    rows = sorted(path.name for path in (CONF_DIR / "experiment" / f"table{args.table}").iterdir() if path.is_dir())
    experiments = args.experiments or rows
    if set(experiments) - set(rows):
        parser.error(f"--experiments: choose from {', '.join(rows)}")
    columns = {path.stem for path in (CONF_DIR / "experiment" / f"table{args.table}").glob("*/*.yaml")}
    if args.agents and set(args.agents) - columns:
        parser.error(f"--agents: choose from {', '.join(sorted(columns))}")
    name = f"table{args.table}" + ("-fitted" if args.regime == "fitted" else "") + ("-smoke" if args.smoke else "")
    root = (args.root or REPO / "outputs" / name).resolve()
    seeds = args.seeds if args.seeds is not None else (2 if args.smoke else 10)
    train_seeds = args.train_seeds if args.train_seeds is not None else (2 if args.smoke else 3)
    if seeds < 1 or train_seeds < 1:
        parser.error("--seeds and --train-seeds must be >= 1")
    first = next((int(o.split("=", 1)[1]) for o in args.overrides if o.startswith("seed=")), 0)
    train_only = [o for o in args.overrides if o.startswith(("agent.updates=", "validation.", "env.num_envs="))]
    common = [o for o in args.overrides if o not in train_only and not o.startswith("seed=")]
    eval_only = [f"seed={first}"]
    train_only = [*(SMOKE_TRAINING if args.smoke else TRAINING), *train_only]

    def run_dir(cell: Cell, step: str) -> Path:
        return root / cell.experiment / cell.agent / step

    def pipeline() -> None:
        table_cells = [cell for cell in cells(args.table, experiments) if not args.agents or cell.agent in args.agents]
        for experiment in experiments:
            row = [cell for cell in table_cells if cell.experiment == experiment]
            smoke = [*SMOKE, *SMOKE_EXPERIMENT.get(experiment, [])] if args.smoke else []
            city = [f"env={REGIMES[args.regime][experiment]}"] if experiment in REGIMES[args.regime] else []
            extra = {cell.agent: [*city, *smoke, *cell.overrides, *common] for cell in row}
            if args.table == 4 and REBUILT in extra:
                rebuild_dir = root / experiment / "rebuild" / "train"
                smoke_rebuild = SMOKE_REBUILD if args.smoke else []
                rebuild(experiment, rebuild_dir, [*extra[REBUILT], *smoke_rebuild, *args.rebuild])
                extra[REBUILT].append(f"rebuild_from={quoted(rebuild_dir)}")
            for cell in row:
                for k, own_seeds in training_runs(train_seeds) if cell.learns else []:
                    train(experiment, cell.agent, run_dir(cell, f"train-s{k}"), [*extra[cell.agent], *train_only,
                                                                                 *own_seeds])
            for cell in row:
                evaluations = [(f"eval-s{k}", f"train-s{k}") for k in range(train_seeds)] if cell.learns else [("eval", None)]
                for eval_name, train_name in evaluations:
                    evaluate(experiment, cell.agent, run_dir(cell, eval_name), train_name and run_dir(cell, train_name),
                             range(first, first + seeds), [*extra[cell.agent], *eval_only])
        console.print(f"[bold]table[/] {name} -> {escape(str(args.output_dir.resolve()))}")
        runs = quoted(root / "*" / "*" / "eval*")
        epictl("table", f"runs=[{runs}]", f"name={name}", f"compare=table{args.table}",
               f"output_dir={quoted(args.output_dir.resolve())}", f"hydra.run.dir={quoted(root / 'table')}")

    return reporting_failures(pipeline)


if __name__ == "__main__":
    sys.exit(main())
