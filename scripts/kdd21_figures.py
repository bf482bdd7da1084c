"""Draw KDD'21 Figure 7 (damage relative to DQN expert) or Figure 8 (where beds and masks went, experiment 1).

    python scripts/kdd21_figures.py figure7                 # from outputs/tables/table3-fitted.csv (make table3)
    python scripts/kdd21_figures.py figure7 --table outputs/tables/table4.csv --output outputs/figures/figure7-4.png
    python scripts/kdd21_figures.py figure8                 # evaluates the trained HRL of make table3 (fitted) for one seed
    python scripts/kdd21_figures.py figure8 --regime synthetic   # ... the one trained in the census-built city
    python scripts/kdd21_figures.py figure8 --smoke         # the tiny city (make table3-smoke's HRL if any): seconds

Figure 7 writes <output>.png and the ratios as <output>.csv. Figure 8 runs `epictl eval ... seeds=1
env.record_regions=true` into outputs/figures/figure8/eval and maps that episode's beds and masks per region on
controlled days 10 and 30 (5 and 10 for --smoke, whose runs have 10): outputs/figures/figure8.{png,csv}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from kdd21_table import REGIMES, SMOKE
from epictl.errors import EpictlError
from epictl.report.files import write_csv
from epictl.report.kdd21_figures import (BASELINE, FIGURE8_DAYS, draw_figure7, draw_figure8, figure7_ratios,
                                         figure8_values)
from pipeline import REPO, console, epictl, quoted, reporting_failures

EXPERIMENT = "kdd21_exp1"  # the paper maps experiment 1
SMOKE_DAYS = (5, 10)
SMOKE_AGENT = "expert_seriousness"  # when make table3-smoke has trained no HRL


def figure7(args) -> int:
    table = args.table.resolve()
    if not table.is_file():
        raise EpictlError(f"{table}: no such table; `make table3` writes outputs/tables/table3-fitted.csv")
    try:
        long = pd.read_csv(table)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' parser and empty-file errors are ValueErrors
        raise EpictlError(f"{table}: not a readable csv ({' '.join(str(exc).split())})") from None
    # A partial table (some rows' learners not trained yet) draws the experiments DQN expert was run in.
    with_baseline = set(long.loc[long["agent"] == BASELINE, "experiment"]) if {"agent", "experiment"} <= set(long) else set()
    left_out = sorted(set(long.get("experiment", [])) - with_baseline)
    if with_baseline and left_out:
        console.print(f"figure7: left out {', '.join(left_out)} (no {BASELINE} there)", markup=False)
        long = long[long["experiment"].isin(with_baseline)]
    ratios = figure7_ratios(long)
    output = args.output.resolve()
    draw_figure7(ratios, f"KDD'21 Figure 7: damage relative to DQN expert ({table.stem})", output)
    write_csv(output.with_suffix(".csv"), ratios)
    console.print(ratios.to_string(index=False, float_format="%.3f"), markup=False)
    console.print(f"wrote {output} and {output.with_suffix('.csv').name}", markup=False)
    return 0


def trained_hrl(root: Path) -> list[str]:
    """The checkpoint overrides of the newest `train*` run folder of the table pipeline's HRL: its best held-out
    agent when training kept one (checkpoints/best.pt), else where training stopped; none without a checkpoint."""
    folders = [path for path in (root / EXPERIMENT / "hrl").glob("train*")
               if (path / "checkpoints" / "last.pt").is_file()]
    if not folders:
        return []
    newest = max(folders, key=lambda path: (path / "checkpoints" / "last.pt").stat().st_mtime)
    best = ["checkpoint_pick=best"] if (newest / "checkpoints" / "best.pt").is_file() else []
    return [f"checkpoint={quoted(newest)}", *best]


def figure8(args) -> int:
    name = "figure8-smoke" if args.smoke else "figure8"
    table = "table3" + ("-fitted" if args.regime == "fitted" else "") + ("-smoke" if args.smoke else "")
    root = (args.root or REPO / "outputs" / table).resolve()
    checkpoint = trained_hrl(root)
    if not checkpoint and not args.smoke:
        console.print(f"figure8: no trained HRL in {root / EXPERIMENT / 'hrl'}/train*/checkpoints/; run `make table3` "
                      f"(or python scripts/kdd21_table.py --table 3 --regime {args.regime} --experiments {EXPERIMENT}) "
                      "first", markup=False, soft_wrap=True)
        return 2
    agent = "hrl" if checkpoint else SMOKE_AGENT
    output = args.output_dir.resolve()
    eval_dir = output / name / "eval"

    def pipeline() -> None:
        smoke = SMOKE if args.smoke else []
        city = [f"env={REGIMES[args.regime][EXPERIMENT]}"] if EXPERIMENT in REGIMES[args.regime] else []
        epictl("eval", f"experiment={EXPERIMENT}", *city, f"agent={agent}", *checkpoint, "seeds=1", *smoke,
               "env.record_regions=true", "progress=false", f"hydra.run.dir={quoted(eval_dir)}")
        config = OmegaConf.load(eval_dir / ".hydra" / "config.yaml")
        values = figure8_values(pd.read_parquet(eval_dir / "curves_regions.parquet"), region_centres_of(config.env),
                                int(config.env.scenario.free_days), SMOKE_DAYS if args.smoke else FIGURE8_DAYS)
        title = f"KDD'21 Figure 8: {config.agent.name} on {config.env.name}, seed {values['seed'].iloc[0]}"
        draw_figure8(values, title, output / f"{name}.png")
        write_csv(output / f"{name}.csv", values)
        console.print(f"wrote {output / name}.png and .csv", markup=False)

    return reporting_failures(pipeline)


def region_centres_of(env) -> np.ndarray:
    """Region centres [M, 2] in km of the city of an evaluation's env config."""
    from epictl.sim.metapop.sources import as_city_config
    from epictl.sim.metapop.synthetic import region_centres

    city = as_city_config(env.city)
    if city.source != "synthetic":
        raise EpictlError(f"figure 8 places regions at the centres a synthetic city draws; {env.name} is "
                          f"city.source={city.source} and has no region coordinates")
    return region_centres(city.synthetic)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    figures = parser.add_subparsers(dest="figure", required=True)
    seven = figures.add_parser("figure7", help="bars of damage relative to DQN expert, from a table's long csv")
    seven.add_argument("--table", type=Path, default=REPO / "outputs" / "tables" / "table3-fitted.csv",
                       help="long csv of epictl table (experiment, env, agent, metric, mean, ..., paper_mean)")
    seven.add_argument("--output", type=Path, default=REPO / "outputs" / "figures" / "figure7.png",
                       help="the png; the ratios go beside it as .csv")
    eight = figures.add_parser("figure8", help="map of beds and masks per region on two controlled days")
    eight.add_argument("--smoke", action="store_true", help="the tiny city, controlled days 5 and 10: seconds")
    eight.add_argument("--regime", choices=REGIMES, default="fitted",
                       help="the city the HRL was trained in (scripts/kdd21_table.py --regime; default fitted)")
    eight.add_argument("--root", type=Path, help="the table pipeline's run folders (default outputs/table3[-fitted]"
                       "[-smoke]), where the trained HRL is looked for")
    eight.add_argument("--output-dir", type=Path, default=REPO / "outputs" / "figures",
                       help="where the figure and its eval run go")
    args = parser.parse_args(argv)
    try:
        return figure7(args) if args.figure == "figure7" else figure8(args)
    except EpictlError as exc:
        console.print(f"kdd21_figures.py: error: {exc}", markup=False, soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
