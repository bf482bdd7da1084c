"""Read a user's daily series of confirmed cases: ``date,new_confirmed`` and an optional ``region``.

Every problem is one :class:`EpictlError` line naming the file, the line and what is wrong, so a
user fixes a 500-row file without a traceback.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from epictl.errors import EpictlError

REQUIRED = ("date", "new_confirmed")
OPTIONAL = ("region",)
FORMAT = "date,new_confirmed[,region]"
# More than everyone on Earth in one day: a unit or export mistake (and sums stay exact in int64).
MAX_DAILY_CASES = 10**10


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
    rows = _rows(path, _read_text(path))
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
    seen_days: dict[str, set[dt.date]] = {}
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
        seen = seen_days.setdefault(group, set())
        lines.setdefault(group, number)
        region = f" in region {group}" if group else ""
        if day in seen:
            raise EpictlError(f"{where}: duplicate date {day}{region}")
        if previous and day < previous[-1][0]:
            raise EpictlError(f"{where}: date {day} comes after {previous[-1][0]}{region}; sort the rows by date")
        if previous and day != previous[-1][0] + dt.timedelta(days=1):
            raise EpictlError(f"{where}: date {day} skips days after {previous[-1][0]}{region}; give every day (0 cases too)")
        previous.append((day, count))
        seen.add(day)
    series = _aligned(path, by_group, lines, "region" in columns)
    check_fittable(series.daily, series.first_date, str(path))
    return series


def _read_text(path: Path) -> str:
    """The file as text; a byte-order mark and any line endings are fine, binary data is not."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EpictlError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise EpictlError(f"{path}, line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8 text; "
                          "save the file as UTF-8 CSV (is it a binary file?)") from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise EpictlError(f"{path}, line {line}: a NUL character; expected CSV text (is it a binary file?)")
    return text


def _rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-blank row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            if any(c.strip() for c in row):
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise EpictlError(f"{path}, line {reader.line_num}: not a readable CSV row ({exc})") from None
    return rows


def parse_date(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise EpictlError(f"{where}: date {text!r} is not a YYYY-MM-DD date") from None


def parse_count(text: str, where: str) -> int:
    try:
        value = int(text)  # exact, however long
    except ValueError:
        try:
            number = float(text)  # 12.0 or 1e3 are whole numbers too
        except ValueError:
            raise EpictlError(f"{where}: new_confirmed {text!r} is not a number") from None
        if not math.isfinite(number):
            raise EpictlError(f"{where}: new_confirmed {text!r} is not a finite number") from None
        if not number.is_integer():
            raise EpictlError(f"{where}: new_confirmed {text!r} is not a whole number") from None
        value = int(number)
    if value < 0:
        raise EpictlError(f"{where}: new_confirmed {text} is negative")
    if value > MAX_DAILY_CASES:
        raise EpictlError(f"{where}: new_confirmed {text} is too large (more than {MAX_DAILY_CASES:.0e} cases in a day)")
    return value


def check_fittable(daily: np.ndarray, first_date: dt.date, source: str) -> None:
    """A series with one day or no case at all leaves nothing to fit (R² would be undefined)."""
    if daily.shape[1] < 2:
        raise EpictlError(f"{source}: only one day ({first_date}); a fit needs a series of at least 2 days")
    if not daily.any():
        raise EpictlError(f"{source}: every new_confirmed count is 0; there is no outbreak to fit")


def _aligned(path: Path, by_group: dict[str, list[tuple[dt.date, int]]], lines: dict[str, int],
             has_region: bool) -> Series:
    """One row per region, all over the same days."""
    spans = {group: (days[0][0], days[-1][0]) for group, days in by_group.items()}
    first_group = next(iter(spans))
    for group, span in spans.items():
        if span != spans[first_group]:
            raise EpictlError(f"{path}, line {lines[group]}: region {group!r} covers {span[0]}..{span[1]} but "
                              f"{first_group!r} covers {spans[first_group][0]}..{spans[first_group][1]}; "
                              "give every region the same days")
    daily = np.array([[count for _, count in days] for days in by_group.values()], dtype=np.int64)
    groups = tuple(by_group) if has_region else ()
    return Series(spans[first_group][0], daily, groups, lines)
