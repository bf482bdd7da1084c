"""Regenerate Deshkar et al. 2023's study: DDPG lockdown and vaccination schedules in the age-stratified city.

    python scripts/abm_tables.py                 # 4 experiments x 3 kappa scenarios, 100,000 agents, 10 seeds
    python scripts/abm_tables.py --smoke         # the same pipeline on 2,000 agents and a few DDPG steps, in minutes
    python scripts/abm_tables.py --experiments 1 2 env.repeats=3   # extra overrides: every run
    python scripts/abm_tables.py --tune          # DDPG settings on the sanity case of spec §9, 5 seeds each

Two stages, `--jobs` processes at a time: DDPG is trained for every experiment and scenario (`epictl train
experiment=abm/exp<e>_<scenario>`: 150 iterations x 2 simulations [paper]); then every policy is evaluated on the
same seeds 0..N-1, one simulation per seed (env.repeats=1). The fixed policies simulate the same runs whatever kappa
is, so each is evaluated once per experiment and its TRew recomputed for the other two scenarios from its HRew and
ERew (TRew = HRew + kappa ERew, exactly).

`--tune` instead trains DDPG with the paper's settings (and sfujim/TD3's where the paper is silent) and with ours on
the sanity case (experiment=abm/sanity: free lockdown, perfect vaccines), each on 5 training seeds, and sets their
greedy schedules beside fixed ones: outputs/tables/abm_ddpg_tuning.{md,csv}, run folders under outputs/abm-tune/.

Outputs: outputs/tables/abm_table[-smoke].{md,csv} and outputs/tables/plots/abm_curves[-smoke].{png,csv}. Run
folders: outputs/abm[-smoke]/exp<e>_<scenario>/{train/ddpg,ddpg}, outputs/abm[-smoke]/exp<e>/<policy>. Resumable
like the other table scripts: finished trainings and evaluations are skipped, interrupted ones resumed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from pipeline import REPO, composed, evaluate, in_parallel, reporting_failures, train, write_table

from epictl.report import abm as report
from epictl.report.files import write_csv

EXPERIMENTS = [1, 2, 3, 4]  # [paper Table 3]
SMOKE_EXPERIMENTS = [1, 2]  # 15 % and 1 % initially infected
SMOKE_CITY = ["env.sim.n_agents=2000"]
SMOKE_LEARNER = ["agent.updates=12", "agent.burn_in=4", "agent.checkpoint_every=6"]
SANITY = "abm/sanity"
# DDPG settings compared on the sanity case: the paper's (sfujim/TD3's where it is silent) and conf/agent/ddpg.yaml's
TUNING = {"paper": ["agent.actor_lr=3e-4", "agent.critic_lr=3e-4", "agent.updates_per_step=1", "agent.reward_scale=1"],
          "epictl": [], "epictl, burn-in 30": ["agent.burn_in=30"]}
TUNING_SEEDS = range(5)
SANITY_REFERENCES = ["abm_full_lockdown", "abm_paper_schedule", "abm_vaccinate", "abm_nothing"]


def experiment(number: int, scenario: str) -> str:
    return f"abm/exp{number}_{scenario}"


def episodes(run: Path, **labels) -> pd.DataFrame:
    return pd.read_csv(run / "metrics.csv").assign(**labels)


def run_everything(args) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train, evaluate; returns the evaluation episodes (every policy in every cell) and the figure's curves."""
    cells = [(number, scenario) for number in args.experiments for scenario in report.SCENARIOS]
    trained = {cell: args.root / f"exp{cell[0]}_{cell[1]}" / "train" / report.LEARNER for cell in cells}
    in_parallel([lambda cell=cell: train(experiment(*cell), report.LEARNER, trained[cell], [*args.city, *args.learner,
                                                                                             *args.common])
                 for cell in cells], args.jobs)
    evaluation = [*args.city, "env.repeats=1", "plots=false", *args.common]
    learned = {cell: args.root / f"exp{cell[0]}_{cell[1]}" / report.LEARNER for cell in cells}
    fixed = {(number, policy): args.root / f"exp{number}" / policy
             for number in args.experiments for policy in report.POLICIES if policy != report.LEARNER}
    in_parallel([lambda cell=cell: evaluate(experiment(*cell), report.LEARNER, learned[cell], trained[cell],
                                            args.episodes, evaluation) for cell in cells]
                + [lambda number=number, policy=policy: evaluate(experiment(number, "balanced"), policy,
                                                                 fixed[number, policy], None, args.episodes, evaluation)
                   for number, policy in fixed], args.jobs)
    kappa = {scenario: float(composed("eval", [f"experiment={experiment(1, scenario)}", *args.common]).reward.kappa)
             for scenario in report.SCENARIOS}
    frames = [episodes(learned[cell], experiment=f"exp{cell[0]}", scenario=cell[1], agent=report.LEARNER) for cell in cells]
    for (number, policy), run in fixed.items():
        runs = episodes(run, experiment=f"exp{number}", agent=policy)
        frames += [runs.assign(scenario=scenario, total_reward=runs["health_reward"] + k * runs["economy_reward"])
                   for scenario, k in kappa.items()]
    curves = [pd.read_parquet(run / "curves.parquet").assign(experiment=f"exp{number}", agent=report.LABELS[policy])
              for (number, policy), run in fixed.items()]
    curves += [pd.read_parquet(learned[cell] / "curves.parquet").assign(
        experiment=f"exp{cell[0]}", agent=f"DDPG {report.SCENARIOS[cell[1]]}") for cell in cells]
    return pd.concat(frames, ignore_index=True), pd.concat(curves, ignore_index=True)


def table(args) -> None:
    frame, curves = run_everything(args)
    trained = composed("train", [f"experiment={experiment(args.experiments[0], 'balanced')}", *args.city,
                                 *args.learner, *args.common])
    notes = [f"{trained.env.sim.n_agents:,} agents over {trained.env.sim.days} days. DDPG: one training seed per "
             f"experiment and scenario, {trained.agent.updates} iterations x {trained.env.repeats} simulations "
             f"[paper: 150 x 2]; evaluation: {len(args.episodes)} seeds per policy, one simulation each.",
             "The paper reports these outcomes only as figures; its schedule finding is set beside ours, and its "
             "schedule is also evaluated as a fixed policy ('Paper's DDPG schedule').",
             *(["SMOKE RUN: 2,000 agents and a few DDPG steps; the numbers mean nothing."] if args.smoke else [])]
    long, text = report.abm_table(frame, notes)
    write_table(args.output_dir, args.name, long, text)
    figure = args.output_dir / "plots" / args.name.replace("table", "curves")
    write_csv(figure.with_suffix(".csv"), report.mean_curves(curves))
    report.curves_figure(curves, figure.with_suffix(".png"), "Daily outcomes, mean over evaluation seeds "
                         "(fixed policies and DDPG of each scenario)")
    print(f"wrote {figure}.png and .csv")


def tune(args) -> None:
    """DDPG variants x training seeds on the sanity case, evaluated greedily on the same seeds as fixed schedules."""
    runs = {(variant, seed): args.root / variant.replace(", ", "_").replace(" ", "_") / f"seed{seed}"
            for variant in TUNING for seed in TUNING_SEEDS}
    evaluation = ["env.repeats=1", "plots=false", *args.common]
    in_parallel([lambda key=key: train(SANITY, report.LEARNER, runs[key] / "train", [f"seed={key[1]}", *TUNING[key[0]],
                                                                                      *args.common])
                 for key in runs], args.jobs)
    in_parallel([lambda key=key: evaluate(SANITY, report.LEARNER, runs[key] / "eval", runs[key] / "train", args.episodes,
                                          [*TUNING[key[0]], *evaluation]) for key in runs]
                + [lambda policy=policy: evaluate(SANITY, policy, args.root / policy, None, args.episodes, evaluation)
                   for policy in SANITY_REFERENCES], args.jobs)
    frames = [episodes(runs[variant, seed] / "eval", variant=variant, training_seed=seed)
              for variant, seed in runs] + [episodes(args.root / policy, variant=report.LABELS[policy], training_seed=-1)
                                            for policy in SANITY_REFERENCES]
    long, text = report.tuning_table(pd.concat(frames, ignore_index=True), [
        f"experiment={SANITY}: kappa = 0 and vaccines of effectiveness 1 on the 2,000-agent test city; DDPG trained "
        f"150 steps x 2 simulations per training seed, its greedy schedule evaluated on {len(args.episodes)} seeds "
        "(one simulation each), as the fixed schedules are.",
        *(f"- {variant}: {' '.join(overrides) or 'conf/agent/ddpg.yaml as it is'}" for variant, overrides in TUNING.items())])
    write_table(args.output_dir, "abm_ddpg_tuning", long, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2,000 agents, 12 DDPG steps, 3 seeds, experiments 1-2")
    parser.add_argument("--tune", action="store_true", help="DDPG settings on the sanity case instead of the table")
    parser.add_argument("--experiments", nargs="+", type=int, choices=EXPERIMENTS, help="only these (default: all four)")
    parser.add_argument("--episodes", type=int, help="evaluation seeds per policy (default 10; smoke 3)")
    parser.add_argument("--jobs", type=int, default=1, help="epictl processes at a time (default 1: the simulator "
                        "already uses both cores)")
    parser.add_argument("--root", type=Path, help="run folders (default outputs/abm[-smoke])")
    parser.add_argument("--output-dir", type=Path, default=REPO / "outputs" / "tables", help="where the tables go")
    parser.add_argument("overrides", nargs="*", help="extra epictl overrides for every run, e.g. env.repeats=3")
    args = parser.parse_args(argv)
    smoke = "-smoke" if args.smoke else ""
    args.name = f"abm_table{smoke}"
    args.root = (args.root or REPO / "outputs" / ("abm-tune" if args.tune else f"abm{smoke}")).resolve()
    args.output_dir = args.output_dir.resolve()
    episodes = args.episodes or (3 if args.smoke else 10)
    if episodes < 1 or args.jobs < 1:
        parser.error("--episodes and --jobs must be >= 1")
    args.episodes = range(episodes)
    args.experiments = args.experiments or (SMOKE_EXPERIMENTS if args.smoke else EXPERIMENTS)
    args.city = SMOKE_CITY if args.smoke else []
    args.learner = SMOKE_LEARNER if args.smoke else []
    args.common = list(args.overrides)
    return reporting_failures(lambda: tune(args) if args.tune else table(args))


if __name__ == "__main__":
    sys.exit(main())
