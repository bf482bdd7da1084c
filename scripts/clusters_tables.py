"""Regenerate the multi-cluster results of Peng & Perrault (Hier-PPO, arXiv:2603.19397) beside the paper's.

    python scripts/clusters_tables.py table2          # Table 2: 6 cells x 6 methods, 5 training seeds x 100 episodes
    python scripts/clusters_tables.py table1          # Table 1: the alpha3-conditioned DQN vs DQNs trained at fixed costs
    python scripts/clusters_tables.py latency         # Table A.3: Bin-M-QR vs Hier-PPO ms per global day, one run
    python scripts/clusters_tables.py figa1           # Fig. A.1: testing rate against alpha3, with and without the penalty
    python scripts/clusters_tables.py table2 --smoke  # the same pipeline at tiny sizes, in minutes
    python scripts/clusters_tables.py table2 --paper-budget   # the paper's 5e6 DQN steps (many hours on a CPU)
    python scripts/clusters_tables.py table2 reward.alpha2=0.2  # extra overrides go to every run

Every target first trains, per training seed, the chain the paper describes (spec §7-§8): the SL belief encoder on
random-testing rollouts (`epictl train env=cluster_single agent=sl_encoder`), then the generalized DQN from it over
alpha3 ~ LogUniform[0.003, 0.5] (`agent=cluster_dqn`), then for Table 2 one PPO controller per cell over the frozen
DQN (`agent=hier_ppo`). The Thres-* baselines use the fine-tuned encoder of the same seed, Fixed-M-QR and Bin-M-QR
its DQN. Every method is evaluated on the same episodes (seeds 0..N-1). The cells are
conf/experiment/clusters_table2/*.yaml; the paper's numbers conf/published/peng2026.csv.

Outputs: outputs/tables/clusters_{table2,table1,latency,figa1}[-smoke].{md,csv} (+ plots/clusters_figa1.png). Run
folders: outputs/clusters[-smoke]/train/seed<s>/<agent>, outputs/clusters[-smoke]/<cell>/seed<s>/<agent>.
Resumable like the other table scripts: finished trainings and evaluations are skipped, interrupted ones resumed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf
from pipeline import REPO, composed, console, evaluate, in_parallel, quoted, reporting_failures, train, write_table

from epictl.paths import CONF_DIR
from epictl.report import clusters as report

CELLS = CONF_DIR / "experiment" / "clusters_table2"
SINGLE = ["env=cluster_single"]
PAPER_DQN_STEPS = 5_000_000  # [paper §8]
METHODS = report.TABLE2_METHODS
TABLE1_ALPHAS = [0.01, 0.03, 0.1, 0.3]
FIGA1_ALPHAS = [0.003, 0.01, 0.02, 0.03, 0.06, 0.1, 0.2, 0.5]
LATENCY_CELLS = ["clusters_latency_c10_b20", "clusters_table2/c40_b80_async"]
# --smoke: a few hundred steps per learner on 4-cluster cells (seconds each), 2 seeds, 3 episodes.
SMOKE_ENCODER = ["agent.updates=120", "agent.batch_size=4", "agent.dataset_clusters=8", "agent.train_every=24",
                 "agent.checkpoint_every=60"]
SMOKE_DQN = ["agent.updates=200", "agent.learning_starts=48", "agent.batch_size=16", "agent.sl_batch_size=4", "agent.replay_capacity=500",
             "agent.lr_warmup_steps=5", "agent.checkpoint_every=100"]
SMOKE_PPO = ["agent.updates=64", "agent.rollout=32", "agent.minibatches=2", "agent.epochs=2", "agent.checkpoint_every=32"]
SMOKE_CELL = ["env.sim.n_clusters=4", "env.sim.max_start_offset=3", "budget.tests_per_day=8"]


def learner_chain(args, seed: int) -> tuple[Path, Path]:
    """The encoder and the generalized DQN of training seed ``seed`` (trained, resumed or skipped)."""
    base = args.root / "train" / f"seed{seed}"
    encoder, dqn = base / "sl_encoder", base / "cluster_dqn"
    smoke_encoder, smoke_dqn = (SMOKE_ENCODER, SMOKE_DQN) if args.smoke else ([], [])
    train(None, "sl_encoder", encoder, [*SINGLE, f"seed={seed}", *smoke_encoder, *args.common])
    train(None, "cluster_dqn", dqn, [*SINGLE, f"seed={seed}", f"agent.encoder_from={quoted(encoder)}",
                                     *smoke_dqn, *args.dqn_budget, *args.common])
    return encoder, dqn


def method_overrides(method: str, dqn: Path) -> list[str]:
    """What each method borrows from its seed's learners: the DQN's encoder or the DQN itself."""
    if method.startswith("thres_"):
        return [f"agent.encoder_from={quoted(dqn)}"]
    if method in ("fixed_m_qr", "bin_m_qr", "hier_ppo"):
        return [f"agent.dqn_from={quoted(dqn)}"]
    return []


def cell_label(experiment: str, extra: list[str]) -> str:
    cfg = composed("eval", [f"experiment={experiment}", *extra])
    return report.cell_name(cfg.env.sim.n_clusters, cfg.budget.tests_per_day, cfg.env.sim.activation)


def metrics_of(folder: Path, **tags) -> pd.DataFrame:
    return pd.read_csv(folder / "metrics.csv").assign(**tags)


def table2(args) -> None:
    cells = sorted(path.stem for path in CELLS.glob("*.yaml"))
    if args.smoke:
        cells = ["c20_b40_async", "c20_b40_sync"]
    unknown = sorted(set(args.cells or ()) - set(cells))
    if unknown:
        console.print(f"clusters_tables.py: error: no cell {', '.join(unknown)}; choose from {', '.join(cells)}", markup=False)
        raise SystemExit(2)
    cells = [cell for cell in cells if args.cells is None or cell in args.cells]
    size = SMOKE_CELL if args.smoke else []
    shared = [*size, "plots=false", *args.common]
    chains = {}
    in_parallel([lambda seed=seed: chains.__setitem__(seed, learner_chain(args, seed)) for seed in args.train_seeds],
                args.jobs)
    folders = {(cell, seed): args.root / cell / f"seed{seed}" for cell in cells for seed in args.train_seeds}
    in_parallel([lambda cell=cell, seed=seed: train(
        f"clusters_table2/{cell}", "hier_ppo", folders[cell, seed] / "hier_ppo" / "train",
        [f"seed={seed}", *method_overrides("hier_ppo", chains[seed][1]), *(SMOKE_PPO if args.smoke else []), *shared])
        for cell, seed in folders], args.jobs)
    runs = []
    for (cell, seed), folder in folders.items():
        for method in METHODS:
            if method == "symp_avgrand" and seed != args.train_seeds[0]:
                continue  # learns nothing: evaluated once per cell, its s.e. over episodes
            runs.append((cell, seed, method, folder / method))
    in_parallel([lambda cell=cell, seed=seed, method=method, run=run: evaluate(
        f"clusters_table2/{cell}", method, run, folders[cell, seed] / "hier_ppo" / "train" if method == "hier_ppo"
        else None, args.episodes, [*method_overrides(method, chains[seed][1]), *shared])
        for cell, seed, method, run in runs], args.jobs)
    labels = {cell: cell_label(f"clusters_table2/{cell}", size) for cell in cells}
    frames = [metrics_of(run, cell=labels[cell], train_seed=seed, agent=method) for cell, seed, method, run in runs]
    notes = [f"{len(args.train_seeds)} training seed(s) x {len(args.episodes)} evaluation episodes per cell "
             f"(the paper: 5 x 100); Symp-AvgRand learns nothing and is evaluated once (s.e. over episodes).",
             *args.budget_notes]
    long, text = report.table2(pd.concat(frames, ignore_index=True), report.load_paper(), notes)
    write_table(args.output_dir, args.name, long, text)


def table1(args) -> None:
    frames = []
    for seed in args.train_seeds:
        encoder, dqn = learner_chain(args, seed)
        for alpha3 in args.alphas:
            fixed = args.root / "train" / f"seed{seed}" / f"cluster_dqn_alpha3_{alpha3:g}"
            train(None, "cluster_dqn", fixed, [*SINGLE, f"seed={seed}", f"agent.encoder_from={quoted(encoder)}",
                                               f"env.alpha3_train_range=[{alpha3},{alpha3}]",
                                               *(SMOKE_DQN if args.smoke else []), *args.dqn_budget, *args.common])
            for policy, learner in (("generalized", dqn), ("fixed", fixed)):
                run = args.root / "table1" / f"seed{seed}" / f"alpha3_{alpha3:g}" / policy
                evaluate(None, "cluster_dqn", run, learner, args.episodes,
                         [*SINGLE, f"reward.alpha3={alpha3}", "plots=false", *args.common])
                frames.append(metrics_of(run, alpha3=alpha3, policy=policy, train_seed=seed))
    notes = [f"alpha3 in {args.alphas}; {len(args.train_seeds)} training seed(s) x {len(args.episodes)} episodes. "
             "The fixed-cost DQNs train with alpha3_train_range=[alpha3, alpha3] and the same budget and encoder.",
             *args.budget_notes]
    long, text = report.table1(pd.concat(frames, ignore_index=True), notes)
    write_table(args.output_dir, args.name, long, text)


def figa1(args) -> None:
    rows = []
    for seed in args.train_seeds:
        encoder, dqn = learner_chain(args, seed)
        plain = args.root / "train" / f"seed{seed}" / "cluster_dqn_no_penalty"
        train(None, "cluster_dqn", plain, [*SINGLE, f"seed={seed}", f"agent.encoder_from={quoted(encoder)}",
                                           "agent.gradient_penalty=0", *(SMOKE_DQN if args.smoke else []),
                                           *args.dqn_budget, *args.common])
        for variant, learner in (("with penalty", dqn), ("without penalty", plain)):
            for alpha3 in args.alphas:
                run = args.root / "figa1" / f"seed{seed}" / variant.replace(" ", "_") / f"alpha3_{alpha3:g}"
                evaluate(None, "cluster_dqn", run, learner, args.episodes,
                         [*SINGLE, f"reward.alpha3={alpha3}", "plots=false", *args.common])
                days = composed("eval", SINGLE).env.sim
                metrics = pd.read_csv(run / "metrics.csv")
                rate = metrics["s3_per_person"] / (days.last_decision_day - days.first_decision_day + 1)
                rows += [{"variant": variant, "alpha3": alpha3, "train_seed": seed, "seed": s, "rate": r}
                         for s, r in zip(metrics["seed"], rate)]
    frame = pd.DataFrame(rows)
    violations = report.monotone_violations(frame)
    lines = ["# Testing rate against alpha3 (Hier-PPO Fig. A.1)", "",
             f"Tests per contact and decision day on single clusters, {len(args.train_seeds)} training seed(s) x "
             f"{len(args.episodes)} episodes per point; plot: plots/{args.name}.png.", *args.budget_notes, "",
             "| alpha3 | " + " | ".join(dict.fromkeys(frame["variant"])) + " |", "|---|" + "---|" * frame["variant"].nunique()]
    means = frame.groupby(["alpha3", "variant"], sort=False)["rate"].mean().unstack()
    for alpha3, row in means.iterrows():
        lines.append(f"| {alpha3:g} | " + " | ".join(f"{v:.4f}" for v in row.values) + " |")
    lines += ["", "Rises of the mean testing rate from one alpha3 to the next (the paper's claim with the penalty: "
              "none):", ""] + [f"- {v}: {r} of {s}" for v, s, r in violations.itertuples(index=False)]
    write_table(args.output_dir, args.name, frame, "\n".join(lines) + "\n")
    report.testing_rate_figure(frame, args.output_dir / "plots" / f"{args.name}.png")


def decision_latency(env, agent, seeds: range) -> list[float]:
    """Milliseconds of ``agent.act`` per global day over the episodes ``seeds`` (the env's own time excluded)."""
    times = []
    for seed in seeds:
        observation, info = env.reset(seed=seed)
        agent.reset(seed, info)
        done = False
        while not done:
            start = time.perf_counter()
            action = agent.act(observation)
            times.append(1e3 * (time.perf_counter() - start))
            observation, _, done, _, _ = env.step(action)
    return times


def latency_agents(experiment: str, dqn: Path, extra: list[str]):
    """The env and both agents of one cell. Hier-PPO's controller keeps its initial weights: its cost per day is
    the network's, whatever the weights; Bin-M-QR runs the trained DQN, whose demand decides how many probes run."""
    from epictl.runners.build import build_agent, build_env

    agents = {}
    for method in ("bin_m_qr", "hier_ppo"):
        cfg = composed("eval", [f"experiment={experiment}", f"agent={method}", f"agent.dqn_from={quoted(dqn)}",
                                *extra])
        env = build_env(cfg)
        agents[method] = build_agent(cfg, OmegaConf.to_object(cfg.agent), env)
    return env, agents


def latency(args) -> None:
    _, dqn = learner_chain(args, args.train_seeds[0])
    rows = []
    for experiment in LATENCY_CELLS:
        label = cell_label(experiment, args.common).rsplit("/", 1)[0] + "/async"
        env, agents = latency_agents(experiment, dqn, args.common)
        for method, agent in agents.items():  # one warm-up episode each: first calls load and compile
            decision_latency(env, agent, range(1))
        for seed in args.episodes:  # alternate, so that both see the same machine load
            for method, agent in agents.items():
                rows += [{"cell": label, "agent": method, "seed": seed, "latency_ms": ms}
                         for ms in decision_latency(env, agent, range(seed, seed + 1))]
    notes = [f"{len(args.episodes)} episodes per cell and method on this machine, alternating; torch threads as in "
             "conf/agent/*.yaml (1). The paper's hardware is not stated in the text we have."]
    long, text = report.latency_table(pd.DataFrame(rows), report.load_paper(), notes)
    write_table(args.output_dir, args.name, long, text)


TARGETS = {"table2": table2, "table1": table1, "latency": latency, "figa1": figa1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 2 training seeds, 3 episodes")
    parser.add_argument("--train-seeds", type=int, help="training seeds (default 5 for table2, else 1; smoke 2)")
    parser.add_argument("--episodes", type=int, help="evaluation episodes per run (default 100; latency 20; smoke 3)")
    parser.add_argument("--jobs", type=int, default=2, help="epictl processes at a time (default 2: one per core)")
    parser.add_argument("--cells", nargs="+", help="table2: only these cells (file names in conf/experiment/clusters_table2/)")
    parser.add_argument("--paper-budget", action="store_true", help=f"train the DQN for {PAPER_DQN_STEPS:,} steps [paper]")
    parser.add_argument("--root", type=Path, help="run folders (default outputs/clusters[-smoke])")
    parser.add_argument("--output-dir", type=Path, default=REPO / "outputs" / "tables", help="where the tables go")
    parser.add_argument("overrides", nargs="*", help="extra epictl overrides for every run, e.g. reward.alpha2=0.2")
    args = parser.parse_args(argv)
    smoke = "-smoke" if args.smoke else ""
    args.name = f"clusters_{args.target}{smoke}"
    args.root = (args.root or REPO / "outputs" / f"clusters{smoke}").resolve()
    args.output_dir = args.output_dir.resolve()
    seeds = args.train_seeds or (2 if args.smoke else 5 if args.target == "table2" else 1)
    episodes = args.episodes or (3 if args.smoke else 20 if args.target == "latency" else 100)
    if seeds < 1 or episodes < 1 or args.jobs < 1:
        parser.error("--train-seeds, --episodes and --jobs must be >= 1")
    args.train_seeds, args.episodes = list(range(seeds)), range(episodes)
    args.alphas = TABLE1_ALPHAS if args.target == "table1" else FIGA1_ALPHAS
    if args.smoke:
        args.alphas = args.alphas[:2]
    args.common = list(args.overrides)
    args.dqn_budget = [f"agent.updates={PAPER_DQN_STEPS}"] if args.paper_budget else []
    dqn = composed("train", [*SINGLE, "agent=cluster_dqn", *(SMOKE_DQN if args.smoke else []), *args.dqn_budget])
    args.budget_notes = [f"DQN: {dqn.agent.updates:,} cluster-days of training per network; the paper's "
                         f"{PAPER_DQN_STEPS:,} is `--paper-budget`."]
    return reporting_failures(lambda: TARGETS[args.target](args))


if __name__ == "__main__":
    sys.exit(main())
