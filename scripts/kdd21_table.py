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
import sys
from pathlib import Path

from pipeline import REPO, console, epictl, evaluate, quoted, reporting_failures, train
from rich.markup import escape

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

    def pipeline() -> None:
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
               f"output_dir={quoted(args.output_dir.resolve())}", f"hydra.run.dir={quoted(root / 'table')}")

    return reporting_failures(pipeline)


if __name__ == "__main__":
    sys.exit(main())
