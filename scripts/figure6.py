"""Regenerate KDD'21 Figure 6: rebuild accuracy and training time against the number of GRU layers
(1-6), for Beijing (experiment 1) and Shanghai (experiment 3).

    python scripts/figure6.py                       # outputs/figure6/<city>/layers_<k>, outputs/figures/figure6.{png,csv,md}
    python scripts/figure6.py --smoke               # the tiny city, small networks, layers 1-3: minutes
    python scripts/figure6.py rebuild.epochs=30     # extra overrides go to every training

Every layer count of a city trains on the same trajectories (the first run's dataset.npz), so only
the network differs. Resumable: finished runs are skipped, interrupted ones resumed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from kdd21_table import SMOKE
from epictl.report.figure6 import write_figure6
from pipeline import REPO, SMOKE_REBUILD, console, quoted, rebuild, reporting_failures

CITIES = {"beijing": "kdd21_exp1", "shanghai": "kdd21_exp3"}
LAYERS = range(1, 7)
SMOKE_LAYERS = range(1, 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny city, small networks, layers 1-3")
    parser.add_argument("--root", type=Path, help="run folders (default outputs/figure6, outputs/figure6-smoke)")
    parser.add_argument("--output-dir", type=Path, default=REPO / "outputs" / "figures", help="where the figure goes")
    parser.add_argument("overrides", nargs="*", help="extra epictl overrides for every training")
    args = parser.parse_args(argv)
    name = "figure6-smoke" if args.smoke else "figure6"
    root = (args.root or REPO / "outputs" / name).resolve()
    layers = SMOKE_LAYERS if args.smoke else LAYERS
    rows = []

    def pipeline() -> None:
        for city, experiment in CITIES.items():
            shared = [*SMOKE, *SMOKE_REBUILD] if args.smoke else []
            shared += args.overrides
            dataset = root / city / f"layers_{layers[0]}" / "dataset.npz"
            for k in layers:
                run_dir = root / city / f"layers_{k}"
                reuse = [f"rebuild.dataset={quoted(dataset)}"] if k != layers[0] else []
                rebuild(experiment, run_dir, [*shared, f"rebuild.layers={k}", *reuse])
                metrics = pd.read_csv(run_dir / "rebuild_metrics.csv").set_index("compartment")
                rows.append({"city": f"{metrics['env'].iloc[0]} ({experiment})", "layers": k,
                             "accuracy": metrics.at["all", "accuracy"],
                             **{f"accuracy_{c}": metrics.at[c, "accuracy"] for c in ("E", "Iu", "R")},
                             "training_seconds": metrics.at["all", "training_seconds"]})
        frame = pd.DataFrame(rows)
        write_figure6(frame, args.output_dir.resolve() / name)
        console.print(frame.to_string(index=False), markup=False)
        console.print(f"wrote {args.output_dir.resolve() / name}.png, .csv and .md", markup=False)

    return reporting_failures(pipeline)


if __name__ == "__main__":
    sys.exit(main())
