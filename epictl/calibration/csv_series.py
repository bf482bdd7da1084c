"""Read a user's daily series of confirmed cases: ``date,new_confirmed`` and an optional ``region``.

Every problem is one :class:`EpictlError` line naming the file, the line and what is wrong, so a
user fixes a 500-row file without a traceback.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from epictl.errors import EpictlError

REQUIRED = ("date", "new_confirmed")
OPTIONAL = ("region",)
FORMAT = "date,new_confirmed[,region]"


@dataclass(frozen=True)
class Series:
    first_date: dt.date
    daily: np.ndarray  # int64 [groups, days]
    groups: tuple[str, ...]  # region labels; () when the file has no region column (one city-wide series)
    lines: dict[str, int]  # first line of each group, for later messages about unknown regions


def read_series(path: Path) -> Series:
    path = Path(path)
    if not path.is_file():
        raise EpictlError(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [(number, row) for number, row in enumerate(csv.reader(handle), start=1) if any(c.strip() for c in row)]
    if not rows:
        raise EpictlError(f"{path}: empty file; expected a header {FORMAT} and one row per day")
    header_line, header = rows[0]
    columns = [c.strip().lower() for c in header]
    for name in columns:
        if name not in REQUIRED + OPTIONAL:
            raise EpictlError(f"{path}, line {header_line}: unknown column {name!r}; expected {FORMAT}")
    for name in REQUIRED:
        if name not in columns:
            raise EpictlError(f"{path}, line {header_line}: missing column {name!r}; expected {FORMAT}")
    if len(set(columns)) < len(columns):
        raise EpictlError(f"{path}, line {header_line}: a column appears twice; expected {FORMAT}")
    if len(rows) == 1:
        raise EpictlError(f"{path}: no data rows after the header")
    by_group: dict[str, list[tuple[dt.date, int]]] = {}
    lines: dict[str, int] = {}
    for number, row in rows[1:]:
        where = f"{path}, line {number}"
        if len(row) != len(columns):
            raise EpictlError(f"{where}: {len(row)} fields, expected {len(columns)} ({', '.join(columns)})")
        record = dict(zip(columns, (c.strip() for c in row)))
        group = record.get("region", "")
        if "region" in record and not group:
            raise EpictlError(f"{where}: empty region")
        day, count = parse_date(record["date"], where), parse_count(record["new_confirmed"], where)
        previous = by_group.setdefault(group, [])
        lines.setdefault(group, number)
        region = f" in region {group}" if group else ""
        if previous and any(day == seen for seen, _ in previous):
            raise EpictlError(f"{where}: duplicate date {day}{region}")
        if previous and day < previous[-1][0]:
            raise EpictlError(f"{where}: date {day} comes after {previous[-1][0]}{region}; sort the rows by date")
        if previous and day != previous[-1][0] + dt.timedelta(days=1):
            raise EpictlError(f"{where}: date {day} skips days after {previous[-1][0]}{region}; give every day (0 cases too)")
        previous.append((day, count))
    return _aligned(path, by_group, lines, "region" in columns)


def parse_date(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise EpictlError(f"{where}: date {text!r} is not a YYYY-MM-DD date") from None


def parse_count(text: str, where: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise EpictlError(f"{where}: new_confirmed {text!r} is not a number") from None
    if not np.isfinite(value) or not value.is_integer():
        raise EpictlError(f"{where}: new_confirmed {text!r} is not a whole number")
    if value < 0:
        raise EpictlError(f"{where}: new_confirmed {text} is negative")
    return int(value)


def _aligned(path: Path, by_group: dict[str, list[tuple[dt.date, int]]], lines: dict[str, int],
             has_region: bool) -> Series:
    """One row per region, all over the same days."""
    spans = {group: (days[0][0], days[-1][0]) for group, days in by_group.items()}
    first_group = next(iter(spans))
    for group, span in spans.items():
        if span != spans[first_group]:
            raise EpictlError(f"{path}: region {group!r} covers {span[0]}..{span[1]} but {first_group!r} covers "
                              f"{spans[first_group][0]}..{spans[first_group][1]}; give every region the same days")
    daily = np.array([[count for _, count in days] for days in by_group.values()], dtype=np.int64)
    groups = tuple(by_group) if has_region else ()
    return Series(spans[first_group][0], daily, groups, lines)
