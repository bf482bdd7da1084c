"""Regenerate KDD'21 Table 3 (perfect information): 3 experiments x 6 methods x 4 metrics, 10 seeds.

    python scripts/table3.py                 # outputs/table3/<exp>/<agent>/{train,eval}, outputs/tables/table3.{md,csv}
    python scripts/table3.py --smoke         # tiny city, 12 updates, 2 seeds: the pipeline in minutes
    python scripts/table3.py env.sim.mobility=exact   # extra overrides go to every train and eval
                                                      # (agent.updates=N to training only)

Resumable: an eval whose metrics.csv holds all seeds (and is newer than its checkpoint) is skipped,
a training whose train_log.csv reached agent.updates is skipped, a shorter one with a checkpoint
is resumed. The table is rebuilt every time (seconds). Use another --root for other settings.
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
BASELINES = ["no_medical", "expert_seriousness", "expert_population"]
LEARNERS = ["dqn_greedy", "dqn_expert", "hrl"]
# --smoke: the tiny city (12 regions) with its own short phases; exp 2's 40 seed regions become all 12.
SMOKE = ["env=tiny", "env.scenario.free_days=20", "env.scenario.controlled_days=10", "plots=false"]
SMOKE_EXPERIMENT = {"kdd21_exp2": ["env.scenario.initial_regions=12"]}
SMOKE_UPDATES = 12
console = Console(highlight=False)


def quoted(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def epictl(*args: str) -> None:
    command = [sys.executable, "-m", "epictl", *args]
    console.print("$ " + shlex.join(command), markup=False, style="dim", soft_wrap=True)
    subprocess.run(command, check=True, cwd=REPO)


def status(experiment: str, agent: str, step: str, text: str) -> None:
    console.print(f"[bold cyan]{experiment}[/] {agent:<18} {step:<5} {text}")


def target_updates(overrides: list[str]) -> int:
    """agent.updates of the composed training config (the agent's yaml, schema default, overrides)."""
    from hydra import compose, initialize_config_dir

    from epictl.app import one_line
    from epictl.config import register
    from epictl.paths import CONF_DIR

    register()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="table3"):
            return int(compose(config_name="train", overrides=overrides).agent.updates)
    except Exception as exc:  # a bad override: one line, as epictl would say it
        console.print(f"table3: error: {one_line(exc)}", markup=False)
        raise SystemExit(2) from None


def steps_done(train_dir: Path) -> int:
    log = train_dir / "train_log.csv"
    try:
        return int(pd.read_csv(log)["step"].max()) if log.is_file() else 0
    except (ValueError, KeyError, pd.errors.EmptyDataError):
        return 0


def train(experiment: str, agent: str, train_dir: Path, overrides: list[str]) -> None:
    overrides = [f"experiment={experiment}", f"agent={agent}", *overrides]
    target, done = target_updates(overrides), steps_done(train_dir)
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
    parser.add_argument("--smoke", action="store_true", help="tiny city, 12 updates, 2 seeds (pipeline check)")
    parser.add_argument("--root", type=Path, help="run folders (default outputs/table3, outputs/table3-smoke)")
    parser.add_argument("--seeds", type=int, help="episodes per cell (default 10; smoke 2)")
    parser.add_argument("--output-dir", type=Path, default=REPO / "outputs" / "tables", help="where the table goes")
    parser.add_argument("overrides", nargs="*", help="extra epictl overrides, e.g. env.sim.mobility=exact")
    args = parser.parse_args(argv)
    name = "table3-smoke" if args.smoke else "table3"
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
        for experiment in EXPERIMENTS:
            shared = [*SMOKE, *SMOKE_EXPERIMENT.get(experiment, [])] if args.smoke else []
            shared += common
            for agent in LEARNERS:
                train(experiment, agent, root / experiment / agent / "train", [*shared, *train_only])
            for agent in BASELINES + LEARNERS:
                train_dir = root / experiment / agent / "train" if agent in LEARNERS else None
                evaluate(experiment, agent, root / experiment / agent / "eval", train_dir,
                         range(first, first + seeds), shared)
        console.print(f"[bold]table[/] {name} -> {escape(str(args.output_dir.resolve()))}")
        runs = quoted(root / "*" / "*" / "eval")
        epictl("table", f"runs=[{runs}]", f"name={name}", "compare=table3",
               f"output_dir={quoted(args.output_dir.resolve())}")
    except subprocess.CalledProcessError as exc:
        console.print(f"[red]failed[/] (exit {exc.returncode}): {escape(shlex.join(map(str, exc.cmd)))}", soft_wrap=True)
        return exc.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
