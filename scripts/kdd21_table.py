"""Regenerate KDD'21 Table 3 (perfect information: 3 experiments x 6 methods) or Table 4 (imperfect
information: 3 experiments x 5 methods, the full method on GRU-rebuilt E, Iu, R), 4 metrics, 10 seeds.

    python scripts/kdd21_table.py --table 3   # outputs/table3/<exp>/<agent>/{train,eval}, outputs/tables/table3.{md,csv}
    python scripts/kdd21_table.py --table 4   # also outputs/table4/<exp>/rebuild/train (one rebuild model per experiment)
    python scripts/kdd21_table.py --table 3 --smoke   # tiny city, 12 updates, 2 seeds: the pipeline in minutes
    python scripts/kdd21_table.py --table 3 env.sim.mobility=exact   # extra overrides go to every run
                                                      # (agent.updates=N to the RL trainings only)
    python scripts/kdd21_table.py --table 4 --rebuild agent.hidden=256   # to the rebuild trainings only

Resumable: an eval whose metrics.csv holds all seeds (and is newer than its checkpoint) is skipped,
a training whose log reached its target (agent.updates, or agent.epochs for the rebuild network) is
skipped, a shorter one with a checkpoint is resumed. The table is rebuilt every time (seconds). Use
another --root for other settings.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = ["kdd21_exp1", "kdd21_exp2", "kdd21_exp3"]
LEARNERS = ["dqn_greedy", "dqn_expert", "hrl"]
# Table 4: expert seriousness needs the case counts it cannot see; everything observes It, Ih, D only.
BASELINES = {3: ["no_medical", "expert_seriousness", "expert_population"], 4: ["no_medical", "expert_population"]}
OBSERVATION = {3: [], 4: ["env.observation=imperfect"]}
# --smoke: the tiny city (12 regions) with its own short phases; exp 2's 40 seed regions become all 12.
SMOKE = ["env=tiny", "env.scenario.free_days=20", "env.scenario.controlled_days=10", "plots=false"]
SMOKE_EXPERIMENT = {"kdd21_exp2": ["env.scenario.initial_regions=12"]}
SMOKE_UPDATES = 12
SMOKE_REBUILD = ["agent.hidden=32", "agent.layers=2", "agent.scale=20", "agent.epochs=10", "agent.train_episodes=6",
                 "agent.validation_episodes=2", "agent.test_episodes=2"]
console = Console(highlight=False)


def quoted(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def epictl(*args: str) -> None:
    command = [sys.executable, "-m", "epictl", *args]
    console.print("$ " + shlex.join(command), markup=False, style="dim", soft_wrap=True)
    subprocess.run(command, check=True, cwd=REPO)


def status(experiment: str, agent: str, step: str, text: str) -> None:
    console.print(f"[bold cyan]{experiment}[/] {agent:<18} {step:<5} {text}")


def training_target(overrides: list[str]) -> int:
    """How long the composed training runs: agent.updates (RL) or agent.epochs (the rebuild network)."""
    from hydra import compose, initialize_config_dir

    from epictl.app import one_line
    from epictl.config import register
    from epictl.paths import CONF_DIR

    register()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="table3"):
            agent = compose(config_name="train", overrides=overrides).agent
            return int(agent.epochs if agent.kind == "rebuild" else agent.updates)
    except Exception as exc:  # a bad override: one line, as epictl would say it
        console.print(f"table3: error: {one_line(exc)}", markup=False)
        raise SystemExit(2) from None


def steps_done(train_dir: Path) -> int:
    """Steps (RL) or epochs (rebuild) in the training log."""
    for log, column in ((train_dir / "train_log.csv", "step"), (train_dir / "rebuild_log.csv", "epoch")):
        if log.is_file():
            break
    try:
        return int(pd.read_csv(log)[column].max()) if log.is_file() else 0
    except (ValueError, KeyError, pd.errors.EmptyDataError):
        return 0


def train(experiment: str, agent: str, train_dir: Path, overrides: list[str]) -> None:
    overrides = [f"experiment={experiment}", f"agent={agent}", *overrides]
    target, done = training_target(overrides), steps_done(train_dir)
    checkpoint = train_dir / "checkpoints" / "last.pt"
    if done >= target and checkpoint.is_file():
        return status(experiment, agent, "train", f"[green]skip[/] ({done}/{target} steps)")
    resume = [f"resume={quoted(train_dir)}"] if checkpoint.is_file() else []
    status(experiment, agent, "train", f"[yellow]{'resume' if resume else 'start'}[/] ({done}/{target} steps)")
    epictl("train", *overrides, *resume, f"hydra.run.dir={quoted(train_dir)}", "progress=false")


def evaluate(experiment: str, agent: str, eval_dir: Path, train_dir: Path | None, seeds: range,
             overrides: list[str]) -> None:
    metrics = eval_dir / "metrics.csv"
    checkpoint = None if train_dir is None else train_dir / "checkpoints" / "last.pt"
    if metrics.is_file():
        have = set(pd.read_csv(metrics)["seed"])
        fresh = checkpoint is None or metrics.stat().st_mtime >= checkpoint.stat().st_mtime
        if set(seeds) <= have and fresh:
            return status(experiment, agent, "eval", f"[green]skip[/] ({len(seeds)} seeds)")
    status(experiment, agent, "eval", f"[yellow]start[/] ({len(seeds)} seeds)")
    extra = [] if train_dir is None else [f"checkpoint={quoted(train_dir)}"]
    epictl("eval", f"experiment={experiment}", f"agent={agent}", f"seeds={len(seeds)}", *extra, *overrides,
           f"hydra.run.dir={quoted(eval_dir)}", "progress=false")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=int, choices=(3, 4), required=True, help="3: perfect, 4: imperfect information")
    parser.add_argument("--smoke", action="store_true", help="tiny city, 12 updates, 2 seeds (pipeline check)")
    parser.add_argument("--rebuild", action="append", default=[], metavar="OVERRIDE",
                        help="an override for the rebuild trainings only (Table 4), e.g. --rebuild agent.hidden=256")
    parser.add_argument("--experiments", nargs="+", choices=EXPERIMENTS, default=EXPERIMENTS, help="a subset of rows")
    parser.add_argument("--root", type=Path, help="run folders (default outputs/tableN, outputs/tableN-smoke)")
    parser.add_argument("--seeds", type=int, help="episodes per cell (default 10; smoke 2)")
    parser.add_argument("--output-dir", type=Path, default=REPO / "outputs" / "tables", help="where the table goes")
    parser.add_argument("overrides", nargs="*", help="extra epictl overrides, e.g. env.sim.mobility=exact")
    args = parser.parse_args(argv)
    name = f"table{args.table}" + ("-smoke" if args.smoke else "")
    root = (args.root or REPO / "outputs" / name).resolve()
    seeds = args.seeds if args.seeds is not None else (2 if args.smoke else 10)
    if seeds < 1:
        parser.error("--seeds must be >= 1")
    first = next((int(o.split("=", 1)[1]) for o in args.overrides if o.startswith("seed=")), 0)
    train_only = [o for o in args.overrides if o.startswith("agent.updates=")]
    common = [o for o in args.overrides if o not in train_only]
    if args.smoke:
        train_only = [f"agent.updates={SMOKE_UPDATES}", *train_only]
    try:
        for experiment in args.experiments:
            shared = [*SMOKE, *SMOKE_EXPERIMENT.get(experiment, [])] if args.smoke else []
            shared += [*OBSERVATION[args.table], *common]
            rebuilt = []
            if args.table == 4:  # the full method acts on E, Iu, R rebuilt by a GRU network trained first
                rebuild_dir = root / experiment / "rebuild" / "train"
                train(experiment, "rebuild", rebuild_dir, [*shared, *(SMOKE_REBUILD if args.smoke else []), *args.rebuild])
                rebuilt = [f"agent.rebuild={quoted(rebuild_dir)}"]
            for agent in LEARNERS:
                extra = rebuilt if agent == "hrl" else []
                train(experiment, agent, root / experiment / agent / "train", [*shared, *extra, *train_only])
            for agent in BASELINES[args.table] + LEARNERS:
                train_dir = root / experiment / agent / "train" if agent in LEARNERS else None
                extra = rebuilt if agent == "hrl" else []
                evaluate(experiment, agent, root / experiment / agent / "eval", train_dir,
                         range(first, first + seeds), [*shared, *extra])
        console.print(f"[bold]table[/] {name} -> {escape(str(args.output_dir.resolve()))}")
        runs = quoted(root / "*" / "*" / "eval")
        epictl("table", f"runs=[{runs}]", f"name={name}", f"compare=table{args.table}",
               f"output_dir={quoted(args.output_dir.resolve())}")
    except subprocess.CalledProcessError as exc:
        console.print(f"[red]failed[/] (exit {exc.returncode}): {escape(shlex.join(map(str, exc.cmd)))}", soft_wrap=True)
        return exc.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
