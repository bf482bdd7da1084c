"""What a calibration fits: a daily series of confirmed cases, named (conf/targets/) or from a CSV.

A named target carries its data with a one-line citation and the context the data imply (how many
days the published validation used, where the outbreak started); a CSV target is a user's own
series (csv_series.py) and gets those from the calibrate config.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from epictl.calibration.csv_series import check_fittable, read_series
from epictl.errors import EpictlError
from epictl.paths import CONF_DIR
from epictl.sim.metapop.city import City

TARGETS_DIR = CONF_DIR / "targets"
CITY_WIDE = "all"


@dataclass
class NamedTarget:
    """Schema of ``conf/targets/<name>.yaml``."""

    description: str = ""
    source: str = ""  # one-line citation of the numbers
    first_date: str = ""  # YYYY-MM-DD of the first count
    new_confirmed: list[int] = field(default_factory=list)  # one count per day, city-wide
    window_days: Optional[int] = None  # days the published validation fitted; the rest are out of sample
    seed_district: Optional[str] = None  # district where the outbreak started


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    source: str
    first_date: dt.date
    daily: np.ndarray  # int64 [groups, days]: new confirmed cases per day
    groups: tuple[str, ...]  # ("all",) for a city-wide series, else region labels (district names or indices)
    window_days: Optional[int] = None
    seed_district: Optional[str] = None
    group_lines: dict[str, int] = field(default_factory=dict)  # CSV line where each group first appears

    @property
    def days(self) -> int:
        return self.daily.shape[1]

    def date(self, day: int) -> dt.date:
        return self.first_date + dt.timedelta(days=day)

    def group_matrix(self, city: City) -> np.ndarray:
        """[groups, M] 0/1: which regions of ``city`` each group of the series covers."""
        if self.groups == (CITY_WIDE,):
            return np.ones((1, city.n_regions))
        matrix = np.zeros((len(self.groups), city.n_regions))
        for g, label in enumerate(self.groups):
            if label in city.district_names:
                matrix[g] = city.district == city.district_names.index(label)
            elif label.isdigit() and int(label) < city.n_regions:
                matrix[g, int(label)] = 1.0
            else:
                districts = ", ".join(city.district_names) or "none"
                where = f"{self.source}, line {self.group_lines[label]}" if label in self.group_lines else self.source
                raise EpictlError(f"{where}: region {label!r} is neither a district of {city.name} "
                                  f"({districts}) nor a region index 0..{city.n_regions - 1}")
        if np.any(matrix.sum(axis=0) > 1):
            raise EpictlError(f"target {self.name}: its regions overlap (a district and one of its regions?)")
        return matrix


def load_target(spec: str) -> Target:
    """``spec`` is a CSV path, or the name of a file in conf/targets/."""
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".csv" or path.is_file():
        series = read_series(path)
        return Target(path.stem, "daily new confirmed cases", str(path), series.first_date, series.daily,
                      series.groups or (CITY_WIDE,), group_lines=series.lines)
    named = TARGETS_DIR / f"{spec}.yaml"
    if not named.is_file():
        known = ", ".join(sorted(p.stem for p in TARGETS_DIR.glob("*.yaml"))) or "none"
        raise EpictlError(f"target={spec!r}: not a CSV file and not a named target ({known})")
    return _named(spec, named)


def _named(name: str, path: Path) -> Target:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        spec: NamedTarget = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(NamedTarget), OmegaConf.load(path)))
    except OmegaConfBaseException as exc:
        raise EpictlError(f"{path}: {str(exc).splitlines()[0]}") from None
    try:
        first = dt.date.fromisoformat(spec.first_date)
    except ValueError:
        raise EpictlError(f"{path}: first_date {spec.first_date!r} is not a YYYY-MM-DD date") from None
    if spec.window_days is not None and spec.window_days < 1:
        raise EpictlError(f"{path}: window_days={spec.window_days} must be >= 1 (leave it out to fit every day)")
    daily = np.asarray(spec.new_confirmed, dtype=np.int64).reshape(1, -1)
    if daily.size == 0 or daily.min() < 0:
        raise EpictlError(f"{path}: new_confirmed needs one count >= 0 per day")
    check_fittable(daily, first, str(path))
    return Target(name, spec.description, spec.source, first, daily, (CITY_WIDE,), spec.window_days, spec.seed_district)
