"""The smoke twin of `make figure5`: calibrate the 12-region test city to a series the model made itself.

    python scripts/figure5_smoke.py                      # outputs/figures/figure5-smoke/{target.csv,fit/}
    python scripts/figure5_smoke.py --out DIR runs=20    # extra overrides go to `epictl calibrate`

Simulates confirmed cases from known parameters (TRUTH) on run seeds the fit never uses, writes them
as DIR/target.csv, runs `epictl calibrate env=tiny target=DIR/target.csv` into DIR/fit, and checks
every fitted parameter against the truth: exit status 1 if one misses its tolerance.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
TRUTH = {"R0": 4.0, "test_delay": 1.0, "seed_cases": 40.0, "seed_day": 2.0}
# Relative tolerance, except seed_day (days). Loose enough for the noise of 10 runs of a 20,000-person city.
TOLERANCE = {"R0": 0.15, "test_delay": 0.3, "seed_cases": 0.25, "seed_day": 1.0}
FIRST_DATE, DAYS, WINDOW = dt.date(2021, 3, 1), 21, 14
SERIES_RUNS, SERIES_FIRST_SEED = 40, 10_000  # the series' runs: many, and never the fit's seeds 0..runs-1
SMOKE = ["env=tiny", "seed_district=Northtown", "seed_regions=2", f"window_days={WINDOW}",
         "parameters.seed_cases.high=400", "search_points=12", "max_evaluations=60", "progress=false"]


def make_series(path: Path) -> None:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from epictl.calibration.ensemble import ConfirmedEnsemble, Seeding, choose_seed_regions
    from epictl.calibration.synthetic import synthetic_daily, write_series
    from epictl.config import register
    from epictl.paths import CONF_DIR
    from epictl.sim.metapop.compartments import E
    from epictl.sim.metapop.sources import load_city

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="figure5_smoke"):
        cfg = compose(config_name="calibrate", overrides=["env=tiny"])
    env = OmegaConf.to_object(cfg.env)
    city = load_city(env.city)
    # The same draw as the fit's (seed 0), so truth and fit seed the same regions.
    seeding = Seeding(choose_seed_regions(city, "Northtown", 2, np.random.default_rng(0)), E)
    ensemble = ConfirmedEnsemble(city, env.disease, env.sim, seeding, np.ones((1, city.n_regions)), cfg.beds,
                                 SERIES_RUNS, SERIES_FIRST_SEED)
    write_series(path, FIRST_DATE, synthetic_daily(ensemble, TRUTH, DAYS)[0])


def misses(fitted: dict[str, float]) -> list[str]:
    out = []
    for name, truth in TRUTH.items():
        error = abs(fitted[name] - truth) if name == "seed_day" else abs(fitted[name] / truth - 1.0)
        if error > TOLERANCE[name]:
            out.append(name)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "figures" / "figure5-smoke")
    args, overrides = parser.parse_known_args()
    out = args.out.resolve()
    make_series(out / "target.csv")
    command = [sys.executable, "-m", "epictl", "calibrate", *SMOKE, f"target={out / 'target.csv'}",
               f"hydra.run.dir={out / 'fit'}", *overrides]
    subprocess.run(command, check=True, cwd=REPO)
    fitted = yaml.safe_load((out / "fit" / "fit.yaml").read_text())["fitted"]
    missed = misses(fitted)
    table = Table(title="figure5-smoke: fitted vs known parameters")
    for column in ("parameter", "truth", "fitted", "tolerance", "status"):
        table.add_column(column)
    for name, truth in TRUTH.items():
        tolerance = f"± {TOLERANCE[name]:g} d" if name == "seed_day" else f"± {TOLERANCE[name]:.0%}"
        table.add_row(name, f"{truth:g}", f"{fitted[name]:.4g}", tolerance, "MISS" if name in missed else "ok")
    Console().print(table)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
