"""Calibration to published table rows: fit what a paper leaves unstated to its blank-control outcomes.

A row target (conf/targets/<name>.yaml with a ``rows:`` list) names rows of a published results table
(conf/published/kdd21_tables.csv: table, experiment, agent, then mean and std of each metric over the paper's
runs). Each row is simulated as its experiment's scenario (the ``env:`` block of conf/experiment/<experiment>.yaml
applied to the calibrated env, as `epictl eval experiment=<experiment>` composes it; an experiment without a yaml
keeps the env's own scenario) under the blank control, so only rows of an agent that allocates nothing
(env.allocation=none, e.g. no_medical) can be fitted.

What is fitted (``table_rows`` in conf/calibrate.yaml), the disease, budgets and scenario values staying the
paper's: one factor on every move share of the synthetic city (mobility intensity) and the gravity model's
distance scale (mobility range), both searched on a log scale, and, by enumeration, the seeds' compartment and
whether the runs share one free phase (scenario.free_phase_seed).

Loss, summed over rows and metrics, in units of the paper's mean so every metric weighs the same:
((ours_mean - paper_mean) / paper_mean)^2 + ((ours_std - paper_std) / paper_mean)^2. The std term makes the
spread over runs count too: a paper std far below ours (e.g. 0.12 % infected) is what tells a shared free phase
from each run's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from epictl.calibration.parameters import ParameterSpec
from epictl.calibration.row_config import MOVE_SHARES, TableRowFit
from epictl.calibration.target import TARGETS_DIR
from epictl.errors import EpictlError
from epictl.paths import CONF_DIR
from epictl.report.published import PAPER_CITY, PUBLISHED_CSV, load_published
from epictl.report.units import METRIC_COLUMNS
from epictl.sim.metapop.compartments import NAMES

CONTINUOUS = ("move_scale", "gravity_scale_km")
BLANK_CONTROL = "none"  # env.allocation of an agent that allocates nothing


@dataclass
class RowSpec:
    table: str = MISSING
    experiment: str = MISSING
    agent: str = MISSING


@dataclass
class RowTargetFile:
    """Schema of a row target, ``conf/targets/<name>.yaml``."""

    description: str = ""
    published: Optional[str] = None  # published results CSV, relative to this file (None: conf/published/kdd21_tables.csv)
    rows: list[RowSpec] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    table: str
    experiment: str
    agent: str
    paper: pd.DataFrame  # index metric (METRIC_COLUMNS order), columns mean, std

    @property
    def label(self) -> str:
        return f"{self.table} {self.experiment} {self.agent}"


@dataclass(frozen=True)
class RowTarget:
    name: str
    description: str
    path: Path
    published: Path
    rows: tuple[Row, ...]


def row_target_path(spec: str) -> Path | None:
    """The yaml of a row target named or given by ``spec``; None for a daily series (named or CSV)."""
    path = Path(spec).expanduser()
    candidate = path if path.suffix.lower() in (".yaml", ".yml") else TARGETS_DIR / f"{spec}.yaml"
    if not candidate.is_file():
        return None
    try:
        node = OmegaConf.load(candidate)
    except (OmegaConfBaseException, OSError, ValueError):
        return None  # not a row target; the daily-series reader reports what is wrong with it
    return candidate if isinstance(node, DictConfig) and "rows" in node else None


def check_target_known(spec: str) -> None:
    """A target that is no file and names none in conf/targets/: one line listing the series and the row targets."""
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".csv" or path.is_file() or (TARGETS_DIR / f"{spec}.yaml").is_file():
        return
    names = sorted(path.stem for path in TARGETS_DIR.glob("*.yaml"))
    rows = [name for name in names if row_target_path(name)]
    series = [name for name in names if name not in rows]
    raise EpictlError(f"target={spec!r}: not a CSV file and not a named target ({', '.join(series) or 'none'}) "
                      f"or table rows ({', '.join(rows) or 'none'})")


def load_row_target(path: Path) -> RowTarget:
    try:
        spec: RowTargetFile = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RowTargetFile),
                                                                  OmegaConf.load(path)))
    except OmegaConfBaseException as exc:
        raise EpictlError(f"{path}: {str(exc).splitlines()[0]}") from None
    if not spec.rows:
        raise EpictlError(f"{path}: rows lists no table rows (e.g. {{table: table3, experiment: kdd21_exp1, "
                          f"agent: no_medical}})")
    published = (path.parent / spec.published).expanduser() if spec.published else PUBLISHED_CSV
    frame = load_published(published)
    rows = tuple(published_row(frame, row, published) for row in spec.rows)
    if len({row.label for row in rows}) < len(rows):
        raise EpictlError(f"{path}: rows lists a row twice")
    return RowTarget(path.stem, spec.description, path, published, rows)


def published_row(frame: pd.DataFrame, spec: RowSpec, published: Path) -> Row:
    """The paper's mean and std of every table metric in one row; a missing row or metric is one line."""
    for key, known in (("table", frame), ("experiment", frame[frame.table == spec.table]),
                       ("agent", frame[(frame.table == spec.table) & (frame.experiment == spec.experiment)])):
        value = getattr(spec, key)
        if value not in set(known[key]):
            raise EpictlError(f"{published}: no row with {key} {value!r} (for {spec.table} {spec.experiment} "
                              f"{spec.agent}); it has {', '.join(sorted(set(known[key]))) or 'none'}")
    cells = frame[(frame.table == spec.table) & (frame.experiment == spec.experiment) & (frame.agent == spec.agent)]
    paper = cells.set_index("metric")[["mean", "std"]]
    missing = [metric for metric in METRIC_COLUMNS if metric not in paper.index]
    if missing:
        raise EpictlError(f"{published}: {spec.table} {spec.experiment} {spec.agent} lacks {', '.join(missing)}")
    paper = paper.loc[METRIC_COLUMNS]
    if (paper["mean"] <= 0).any():
        zero = paper.index[paper["mean"] <= 0][0]
        raise EpictlError(f"{published}: {spec.table} {spec.experiment} {spec.agent} {zero} has mean 0; the loss "
                          "measures errors in units of the paper's mean")
    return Row(spec.table, spec.experiment, spec.agent, paper)


@dataclass(frozen=True)
class Choice:
    """One discrete setting: the seeds' compartment and the shared free phase (None: each run's own)."""

    initial_compartment: str
    free_phase_seed: Optional[int]


@dataclass(frozen=True)
class RowSpace:
    """The continuous parameters: free ones within bounds (log scale), the others fixed."""

    free: tuple[str, ...]
    bounds: dict[str, tuple[float, float]]
    fixed: dict[str, float]

    def values(self, unit: np.ndarray) -> dict[str, float]:
        values = dict(self.fixed)
        for name, u in zip(self.free, np.clip(unit, 0.0, 1.0)):
            low, high = self.bounds[name]
            values[name] = math.exp(math.log(low) + float(u) * math.log(high / low))
        return values

    def at_bound(self, values: dict[str, float], tolerance: float = 1e-3) -> list[str]:
        """Free parameters within ``tolerance`` of a bound on the log scale searched: the rows push past it."""
        hits = []
        for name in self.free:
            low, high = self.bounds[name]
            u = math.log(values[name] / low) / math.log(high / low)
            if min(u, 1.0 - u) <= tolerance:
                hits.append(name)
        return hits


@dataclass(frozen=True)
class RowSettings:
    env: object  # the calibrated env's validated metapop config
    target: RowTarget
    row_envs: tuple[object, ...]  # per row: the env with its experiment's overrides applied
    space: RowSpace
    choices: tuple[Choice, ...]
    fit: TableRowFit
    seeds: tuple[int, ...]


def resolve_rows(cfg: DictConfig, path: Path) -> RowSettings:
    """Check a table-row calibration before anything runs: every problem is one line."""
    env = OmegaConf.to_object(cfg.env).validate()
    if getattr(env, "family", None) != "metapop":
        raise EpictlError(f"calibrate needs a metapopulation env (env.family=metapop), got {getattr(env, 'family', '?')}")
    if env.city.source != "synthetic":
        raise EpictlError(f"calibrating to table rows scales a synthetic city's mobility; env {env.name!r} has "
                          f"city.source={env.city.source}")
    try:
        fit: TableRowFit = OmegaConf.to_object(cfg.table_rows)
    except OmegaConfBaseException as exc:
        raise EpictlError(f"table_rows: {str(exc).splitlines()[0]}") from None
    for key, least in (("search_points", 1), ("max_evaluations", 0)):
        if getattr(fit, key) < least:
            raise EpictlError(f"table_rows.{key}={getattr(fit, key)} must be >= {least}")
    target = load_row_target(path)
    row_envs = tuple(row_env(cfg.env, row, env) for row in target.rows)
    space = build_row_space(fit, env)
    return RowSettings(env, target, row_envs, space, discrete_choices(fit), fit,
                       tuple(range(cfg.seed, cfg.seed + cfg.runs)))


def row_env(env_node: DictConfig, row: Row, env):
    """The env config of ``row``: its experiment's ``env:`` overrides on the calibrated env, a blank-control agent."""
    agent_path = CONF_DIR / "agent" / f"{row.agent}.yaml"
    agent = OmegaConf.load(agent_path) if agent_path.is_file() else None
    if agent is None or OmegaConf.select(agent, "env.allocation") != BLANK_CONTROL:
        raise EpictlError(f"row {row.label}: calibrate simulates the blank control, so it fits only rows of an agent "
                          f"that allocates nothing (env.allocation={BLANK_CONTROL} in conf/agent/<agent>.yaml, e.g. "
                          "no_medical)")
    city = env.city.synthetic.name
    if PAPER_CITY.get(row.experiment, city) != city:
        raise EpictlError(f"row {row.label}: the paper ran {row.experiment} on {PAPER_CITY[row.experiment]}; "
                          f"env {env.name!r} simulates {city}")
    experiment = CONF_DIR / "experiment" / f"{row.experiment}.yaml"
    overrides = OmegaConf.load(experiment).get("env") if experiment.is_file() else None
    if overrides is None:
        return env
    try:
        config = OmegaConf.to_object(OmegaConf.merge(env_node, overrides))
        return config.validate()
    except OmegaConfBaseException as exc:
        raise EpictlError(f"{experiment}: {str(exc).splitlines()[0]}") from None
    except EpictlError as exc:
        raise EpictlError(f"row {row.label} ({experiment.name} on env {env.name!r}): {exc}") from None


def build_row_space(fit: TableRowFit, env) -> RowSpace:
    spec = env.city.synthetic
    own = {"move_scale": 1.0, "gravity_scale_km": spec.gravity_scale_km}
    free, bounds, fixed = [], {}, {}
    for name in CONTINUOUS:
        parameter: ParameterSpec = getattr(fit, name)
        low, high = float(parameter.low), float(parameter.high)
        if parameter.free:
            if not (0 < low < high < math.inf):
                raise EpictlError(f"table_rows.{name}: bounds [{low:g}, {high:g}] need 0 < low < high, both finite")
            free.append(name)
            bounds[name] = (low, high)
        else:
            value = own[name] if parameter.value is None else float(parameter.value)
            if not 0 < value < math.inf:
                raise EpictlError(f"table_rows.{name} is fixed at {value:g}; it needs a finite value > 0")
            fixed[name] = value
    largest = bounds["move_scale"][1] if "move_scale" in bounds else fixed["move_scale"]
    share = max(MOVE_SHARES, key=lambda name: getattr(spec, name))
    if largest * getattr(spec, share) > 1:
        raise EpictlError(f"table_rows.move_scale: {largest:g} x env.city.synthetic.{share}={getattr(spec, share):g} "
                          "exceeds 1 (a share of people); lower its bound")
    return RowSpace(tuple(free), bounds, fixed)


def discrete_choices(fit: TableRowFit) -> tuple[Choice, ...]:
    if not fit.initial_compartments or not fit.free_phase_seeds:
        raise EpictlError("table_rows.initial_compartments and table_rows.free_phase_seeds each need at least one value")
    for compartment in fit.initial_compartments:
        if compartment not in NAMES:
            raise EpictlError(f"table_rows.initial_compartments: {compartment!r}; choose from {', '.join(NAMES)}")
    for seed in fit.free_phase_seeds:
        if seed is not None and seed < 0:
            raise EpictlError(f"table_rows.free_phase_seeds: {seed} must be >= 0 (null: each run's own free phase)")
    if len(set(fit.initial_compartments)) < len(fit.initial_compartments) or \
            len(set(fit.free_phase_seeds)) < len(fit.free_phase_seeds):
        raise EpictlError("table_rows.initial_compartments and table_rows.free_phase_seeds must not repeat a value")
    return tuple(Choice(c, s) for c in fit.initial_compartments for s in fit.free_phase_seeds)
